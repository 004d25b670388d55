"""The product register's lines as they are read: `products/<who>.yaml`, one line per record,
each checked (keys, dates, the district and group ids, a score's sheets) and named by its
file and line when it is wrong; and which lines are in force once undos are taken out.

What the lines mean (a product's stage on a day) is in `products`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ocop_cli.core.errors import InvalidData, Problem
from ocop_cli.core.i18n import _
from ocop_cli.core.model import COUNCILS
from ocop_cli.core.model import ENTITY_KINDS as KINDS
from ocop_cli.core.model import PRODUCT_ACTIONS as ACTIONS
from ocop_cli.store.lines import read_each, read_lines
from ocop_cli.store.storage import PRODUCTS, RULES, Workspace
from ocop_cli.store.write import recorder_file
from ocop_cli.tracker.scoring import MAX_MEMBERS, MemberSheet, average, sheet_fault

if TYPE_CHECKING:  # the rules' module is the recording's; a listing reads lines only
    from ocop_cli.tracker.product_rules import Rules

REGISTER = PRODUCTS
# A province registers a few hundred products a year; far above that, and a huge file is
# refused before it is read.
REGISTER_MAX_BYTES = 16 * 1024 * 1024

_TEXT_KEYS = ("name", "district", "commune", "entity", "kind", "group", "council", "ref",
              "undoes", "failed")
_KEYS = frozenset(("id", "at", "date", "product", "action", "by", "note", "new", "points",
                   "sheets", *_TEXT_KEYS))
_REGISTRATION = ("name", "district", "commune", "entity", "kind", "group")


class Line(NamedTuple):
    """One line of the register: a registration (`action` registered, with the product's
    facts), a stage, or an undo."""

    id: str
    at: str
    date: dt.date
    product: str
    action: str
    by: str
    ref: str | None = None
    note: str | None = None
    name: str | None = None
    district: str | None = None  # agency id of a district-level unit
    commune: str | None = None
    entity: str | None = None
    kind: str | None = None
    group: str | None = None  # a group id of the rules
    new: bool | None = None
    council: str | None = None
    points: int | None = None
    undoes: str | None = None
    source: str = ""  # file:line it was read from
    sheets: tuple[MemberSheet, ...] | None = None  # each council member's sheet of a score
    failed: str | None = None  # the mandatory criterion a scored product failed: not passed

    def to_record(self) -> dict[str, Any]:
        """The line as written: only the keys that carry something."""
        record: dict[str, Any] = {"id": self.id, "at": self.at, "date": self.date.isoformat(),
                                  "product": self.product, "action": self.action}
        for key in ("by", *_REGISTRATION, "new", "council", "points", "failed", "ref", "note",
                    "undoes"):
            value = getattr(self, key)
            if value is not None:
                record[key] = value
        if self.sheets is not None:
            record["sheets"] = [sheet.to_record() for sheet in self.sheets]
        return record


# --- reading the register --------------------------------------------------------------------


def register_files(ws: Workspace) -> list[Path]:
    folder = ws.root / REGISTER
    if folder.is_symlink():  # as `Workspace.history_files` refuses the history folder's
        raise InvalidData([Problem(str(folder), _(
            "is a symbolic link; ocop reads and writes only regular files inside the "
            "workspace: put the product register's folder itself here"))])
    if not folder.is_dir():
        if folder.exists():
            raise InvalidData([Problem(str(folder), _("is a file, expected the product "
                                                      "register's folder"))])
        return []
    return sorted(folder.glob("*.yaml"))


def register_file(ws: Workspace, who: str) -> Path:
    return ws.root / REGISTER / recorder_file(ws, who).name


def read_register(ws: Workspace, directory: Any, rules: Rules | None
                  ) -> tuple[list[Line], list[Problem]]:
    """Every line of every register file, checked (a product's group against `rules` when
    given); problems that stop nothing (a torn last line, a line merged in twice) are
    warnings, the rest errors."""
    lines: list[Line] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    def read(path: Path) -> tuple[list[Line], list[Problem]]:
        return _read_file(path, directory, rules)

    for path, got in read_each(register_files(ws), read, problems):
        for line in got:
            if line.id in seen:
                problems.append(Problem(str(path), _("line {id} appears twice (also at {first}); "
                                                     "counted once").format(
                    id=line.id, first=seen[line.id]), _line_no(line), warning=True))
                continue
            seen[line.id] = line.source
            lines.append(line)
    problems += _unlinked(ws, lines)
    return lines, problems


def _line_no(line: Line) -> int | None:
    number = line.source.rpartition(":")[2]
    return int(number) if number.isdigit() else None


def _read_file(path: Path, directory: Any, rules: Rules | None
               ) -> tuple[list[Line], list[Problem]]:
    records, problems = read_lines(path, REGISTER_MAX_BYTES)
    lines = []
    for number, record in records:
        line, message, key = _checked(record, f"{path.parent.name}/{path.name}:{number}",
                                      directory, rules)
        if line is None:
            problems.append(Problem(str(path), message, number, None, None, key))
        else:
            lines.append(line)
    return lines, problems


def _checked(record: Any, source: str, directory: Any, rules: Rules | None
             ) -> tuple[Line | None, str, str | None]:
    """A record as a Line, or what is wrong with it and in which key."""
    if not isinstance(record, dict):
        return None, _("expected a mapping of keys to values"), None
    unknown = sorted(str(k) for k in record if k not in _KEYS)
    if unknown:
        return None, _("unknown key"), unknown[0]
    for key in ("id", "at", "date", "product", "action", "by"):
        value = record.get(key)
        if not isinstance(value, str) or not value.strip() or value != value.strip():
            return None, _("expected text, not empty"), key
    for key in (*_TEXT_KEYS, "note"):
        value = record.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            return None, _("expected text, not empty"), key
    action = record["action"]
    if action not in ACTIONS:
        return None, _("expected one of: {choices}").format(choices=", ".join(ACTIONS)), "action"
    try:
        date = dt.date.fromisoformat(record["date"])
    except ValueError:
        return None, _("expected a date YYYY-MM-DD"), "date"
    try:
        dt.datetime.fromisoformat(record["at"])
    except ValueError:
        return None, _("expected a date and time"), "at"
    new, points = record.get("new"), record.get("points")
    # A line written by hand may give them as text: "76", "true".
    if isinstance(points, str) and points.isdigit():
        points = int(points)
    if new in ("true", "false"):
        new = new == "true"
    if new is not None and not isinstance(new, bool):
        return None, _("expected true or false"), "new"
    if points is not None and (type(points) is not int or not 0 <= points <= 100):
        return None, _("expected a whole number from {low} to {high}").format(low=0, high=100), \
            "points"
    wanted = {"registered": _REGISTRATION, "scored": ("council", "points"),
              "recognised": ("ref",), "rejected": ("note",), "undo": ("undoes",),
              "notified": ("ref",)}
    for key in wanted.get(action, ()):
        if record.get(key) is None:
            return None, _("a {action} line needs {key}").format(action=action, key=key), key
    fault = _registration_fault(record, directory, rules) if action == "registered" else None
    if fault is not None:
        return None, *fault
    if record.get("council") is not None and record["council"] not in COUNCILS:
        return None, _("expected one of: {choices}").format(choices=", ".join(COUNCILS)), \
            "council"
    sheets, message = _sheets(record.get("sheets"), points, date, rules)
    if message:
        return None, message, "sheets"
    values: dict[str, Any] = {key: record.get(key) for key in Line._fields if key in record}
    values.update(date=date, source=source, new=new, points=points, sheets=sheets)
    return Line(**values), "", None


def _registration_fault(record: dict[str, Any], directory: Any, rules: Rules | None
                        ) -> tuple[str, str] | None:
    """What is wrong with a registration's district, kind or group, and in which key."""
    district = record["district"]
    if not directory.is_unit(district):
        return _("{value!r} is not an administrative unit (district or commune) of "
                 "agencies.yaml").format(
            value=district), "district"
    if record["kind"] not in KINDS:
        return _("expected one of: {choices}").format(choices=", ".join(KINDS)), "kind"
    if rules is not None and record["group"] not in {g.id for g in rules.groups}:
        return _("expected a group id of {file}").format(file=RULES), "group"
    return None


def _sheets(value: Any, points: int | None, date: dt.date, rules: Rules | None
            ) -> tuple[tuple[MemberSheet, ...] | None, str]:
    """A score's members' sheets as written, or what is wrong with them: each a mapping of
    member, a, b and c within the maxima of the decision of `date`, their average the line's
    points."""
    if value is None:
        return None, ""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_MEMBERS:
        return None, _("expected a list of 1 to {n} members' sheets").format(n=MAX_MEMBERS)
    sheets = []
    decision = rules.decision_on(date) if rules is not None else None
    for item in value:
        if not isinstance(item, dict) or set(item) != {"member", "a", "b", "c"} \
                or not isinstance(item["member"], str) or not item["member"].strip() \
                or any(type(item[k]) is not int for k in "abc"):
            return None, _("each sheet names its member and gives whole numbers for a, b "
                           "and c")
        sheet = MemberSheet(item["member"], item["a"], item["b"], item["c"])
        fault = sheet_fault(sheet, decision)
        if fault is not None:
            return None, _("{name}'s sheet: {fault}").format(name=sheet.member, fault=fault[1])
        sheets.append(sheet)
    if points != average(sheets):
        return None, _("the points ({points}) are not the average of the sheets ({average})"
                       ).format(points=points, average=average(sheets))
    return tuple(sheets), ""


def _unlinked(ws: Workspace, lines: list[Line]) -> list[Problem]:
    """Stages of a product no line registers (a file not yet received, a line by hand), and
    a product registered twice (the first registration counts)."""
    problems = []
    first: dict[str, Line] = {}
    registered = {line.product for line in lines if line.action == "registered"}
    for line in sorted(lines, key=lambda line: (line.date, line.at, line.id)):
        if line.action == "registered" and first.setdefault(line.product, line) is not line:
            message = _("line {id}: product {product} is registered already (at {first}); "
                        "the line is left out").format(id=line.id, product=line.product,
                                                       first=first[line.product].source)
        elif line.action not in ("registered", "undo") and line.product not in registered:
            message = _("line {id}: product {product} is not registered; the line is left "
                        "out").format(id=line.id, product=line.product)
        else:
            continue
        problems.append(Problem(str(ws.root / line.source.rpartition(":")[0]), message,
                                _line_no(line), warning=True))
    return problems


def live(lines: Iterable[Line]) -> list[Line]:
    """The lines not taken back by an undo, in the order they happened (an undo counts
    whatever its date: it corrects the record)."""
    lines = list(lines)
    undone = {line.undoes for line in lines if line.action == "undo"}
    kept = [line for line in lines if line.action != "undo" and line.id not in undone]
    kept.sort(key=lambda line: (line.date, line.at, line.id))
    return kept
