"""The OCOP product register: each product from the idea a commune registers to its star class.

The register lives in the workspace as `products/<who>.yaml`, kept like the history: one line
per record, appended by ocop only, one file per recorder, so that offices merge with git
without conflicts. A product's first line registers it (name, entity, commune, district unit,
group); each later line is a stage: chosen or rejected by the district, sent to the province,
scored by a council, recognised or not. A wrong line is taken back by an `undo` line.

A product's stage on a day is the replay of its lines up to that day, never stored. The stars
of a score come from the point bands of `ocop_rules.yaml` in force on the day it was given.

A plan task may count the products that reached a stage within the plan's years
(`products_at` in the plan file): each such product becomes one derived entry (quantity 1,
place its district unit, dated the day of the stage) in the replay of the tasks.

What the product commands show (rows, tables, the report) is in `product_views`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ocop_cli.core.errors import InvalidData, NotFound, Problem, Refused, UsageError
from ocop_cli.core.i18n import _, format_date
from ocop_cli.core.labels import stage_label, step_label
from ocop_cli.core.model import COUNCILS, PRODUCT_STAGES
from ocop_cli.core.model import ENTITY_KINDS as KINDS
from ocop_cli.core.model import PRODUCT_ACTIONS as ACTIONS
from ocop_cli.store.lines import read_each
from ocop_cli.store.storage import PRODUCTS, Workspace

REGISTER = PRODUCTS
RULES = "ocop_rules.yaml"
# A province registers a few hundred products a year; far above that, and a huge file is
# refused before it is read.
REGISTER_MAX_BYTES = 16 * 1024 * 1024
HEADER = (
    "# yaml-language-server: $schema=../schema/products.schema.json\n"
    "# ocop product register: one line per record, appended by ocop and never rewritten.\n"
    "# Undo with `ocop product undo`, which appends a line that takes the last one back.\n"
)

STAGES = PRODUCT_STAGES
# What may follow a product's stage; a score names its council ("scored:huyen").
NEXT = {
    "registered": ("chosen", "rejected"),
    "chosen": ("scored:huyen", "sent", "rejected"),
    "scored:huyen": ("scored:huyen", "sent", "rejected"),
    "sent": ("scored:tinh",),
    "scored:tinh": ("scored:tinh", "recognised", "not_recognised"),
    "rejected": (),
    "recognised": ("sent",),  # a new round, when a recognition runs out
    "not_recognised": ("sent",),
}
# The funnel: how many products reached each of these, whatever came after.
FUNNEL = ("registered", "chosen", "rejected", "sent", "scored")

_TEXT_KEYS = ("name", "district", "commune", "entity", "kind", "group", "council", "ref",
              "undoes")
_KEYS = frozenset(("id", "at", "date", "product", "action", "by", "note", "new", "points",
                   *_TEXT_KEYS))
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

    def to_record(self) -> dict[str, Any]:
        """The line as written: only the keys that carry something."""
        record: dict[str, Any] = {"id": self.id, "at": self.at, "date": self.date.isoformat(),
                                  "product": self.product, "action": self.action}
        for key in ("by", *_REGISTRATION, "new", "council", "points", "ref", "note", "undoes"):
            value = getattr(self, key)
            if value is not None:
                record[key] = value
        return record


# --- the rules -------------------------------------------------------------------------------


class Decision(NamedTuple):
    decision: str
    start: dt.date
    valid_years: int
    recognised_from: int
    bands: tuple[tuple[int, int], ...]  # (stars, minimum points), most stars first


class Group(NamedTuple):
    id: str
    name: str
    aliases: tuple[str, ...] = ()


class Rules(NamedTuple):
    decisions: tuple[Decision, ...]  # oldest first
    groups: tuple[Group, ...]

    def decision_on(self, day: dt.date) -> Decision:
        """The decision in force on `day`: the latest that started by then, else the first."""
        found = self.decisions[0]
        for decision in self.decisions:
            if decision.start <= day:
                found = decision
        return found

    def stars(self, points: int, day: dt.date) -> int:
        """The stars `points` earn under the decision in force on `day` (0: below every band)."""
        return next((stars for stars, low in self.decision_on(day).bands if points >= low), 0)

    def group(self, text: str) -> Group:
        from ocop_cli.core.text import fold

        key = fold(text)
        for group in self.groups:
            if key in {group.id, fold(group.name), *(fold(a) for a in group.aliases)}:
                return group
        raise NotFound(_("no OCOP product group is called {name!r}").format(name=text),
                       hint=_("Groups: {ids}").format(ids=", ".join(g.id for g in self.groups)))

    def group_name(self, group_id: str | None) -> str | None:
        return next((g.name for g in self.groups if g.id == group_id), group_id)


def rules_path(ws: Workspace) -> Path:
    """The workspace's own rules when it has them (a later decision added there), else the
    rules shipped with ocop."""
    from ocop_cli.store.storage import bundled_dir

    own = ws.root / RULES
    return own if own.exists() else bundled_dir() / RULES


def read_rules(path: Path) -> Rules:
    """The rules file, validated; every fault named by its line."""
    from ocop_cli.store.documents import read_validated
    from ocop_cli.store.schema import RulesDoc

    doc, parsed, problems = read_validated(path, RulesDoc, "decisions")
    if parsed is not None:
        for i, item in enumerate(parsed.decisions):
            lows = [band.min for band in item.bands]
            stars = [band.stars for band in item.bands]
            if lows != sorted(lows, reverse=True) or stars != sorted(set(stars), reverse=True):
                line, col = doc.where(("decisions", i, "bands"))
                problems.append(Problem(str(path), _(
                    "bands go from the most stars down, each with fewer points than the one "
                    "before"), line, col, field="bands"))
        starts = [item.start for item in parsed.decisions]
        if starts != sorted(starts):
            line, col = doc.where(("decisions",))
            problems.append(Problem(str(path), _("decisions go oldest first"), line, col,
                                    field="decisions"))
    if problems or parsed is None:
        raise InvalidData(problems)
    return Rules(
        tuple(Decision(d.decision, d.start, d.valid_years, d.recognised_from,
                       tuple((b.stars, b.min) for b in d.bands)) for d in parsed.decisions),
        tuple(Group(g.id, g.name, tuple(g.aliases)) for g in parsed.groups))


# --- reading the register --------------------------------------------------------------------


def register_files(ws: Workspace) -> list[Path]:
    folder = ws.root / REGISTER
    if not folder.is_dir():
        if folder.exists():
            raise InvalidData([Problem(str(folder), _("is a file, expected the product "
                                                      "register's folder"))])
        return []
    return sorted(folder.glob("*.yaml"))


def register_file(ws: Workspace, who: str) -> Path:
    from ocop_cli.store.write import recorder_file

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


def load_register(ws: Workspace, directory: Any) -> tuple[list[Line], Rules, list[Problem]]:
    """The register and the rules; InvalidData when either has an error (warnings returned)."""
    rules = read_rules(rules_path(ws))
    lines, problems = read_register(ws, directory, rules)
    errors = [p for p in problems if not p.warning]
    if errors:
        raise InvalidData(errors)
    return lines, rules, problems


def _line_no(line: Line) -> int | None:
    number = line.source.rpartition(":")[2]
    return int(number) if number.isdigit() else None


def _read_file(path: Path, directory: Any, rules: Rules | None
               ) -> tuple[list[Line], list[Problem]]:
    from ocop_cli.store.lines import read_lines

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
              "recognised": ("ref",), "rejected": ("note",), "undo": ("undoes",)}
    for key in wanted.get(action, ()):
        if record.get(key) is None:
            return None, _("a {action} line needs {key}").format(action=action, key=key), key
    if action == "registered":
        district = record["district"]
        if not directory.is_unit(district):
            return None, _("{value!r} is not an administrative unit (district or commune) of "
                           "agencies.yaml").format(value=district), "district"
        if record["kind"] not in KINDS:
            return None, _("expected one of: {choices}").format(choices=", ".join(KINDS)), "kind"
        if rules is not None and record["group"] not in {g.id for g in rules.groups}:
            return None, _("expected a group id of {file}").format(file=RULES), "group"
    if record.get("council") is not None and record["council"] not in COUNCILS:
        return None, _("expected one of: {choices}").format(choices=", ".join(COUNCILS)), \
            "council"
    values: dict[str, Any] = {key: record.get(key) for key in Line._fields if key in record}
    values.update(date=date, source=source, new=new, points=points)
    return Line(**values), "", None


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


# --- products as of a date -------------------------------------------------------------------


class Product:
    """A product's facts and its stage on an as-of date (a plain class: see `model`)."""

    __slots__ = ("by", "commune", "council", "decision", "district", "entity", "expires",
                 "group", "id", "kind", "lines", "name", "new", "points", "reason",
                 "recognised", "registered", "scored", "stage", "stage_date", "stars")

    def __init__(self, first: Line) -> None:
        self.id = first.product
        self.name, self.district, self.commune = first.name or "", first.district or "", \
            first.commune or ""
        self.entity, self.kind, self.group = first.entity or "", first.kind or "", \
            first.group or ""
        self.new = bool(first.new)
        self.registered, self.by = first.date, first.by
        self.lines: list[Line] = [first]
        self.stage, self.stage_date = "registered", first.date
        self.points: int | None = None
        self.stars: int | None = None
        self.council: str | None = None
        self.scored: dt.date | None = None
        self.reason: str | None = None
        self.recognised: dt.date | None = None
        self.decision: str | None = None
        self.expires: dt.date | None = None

    @property
    def position(self) -> str:
        """The stage as `NEXT` names it: a score says by which council."""
        return f"scored:{self.council}" if self.stage == "scored" else self.stage

    def reached(self, stage: str) -> bool:
        return any(line.action == stage for line in self.lines)

    def in_force(self, as_of: dt.date) -> bool:
        """Recognised, and the recognition has not run out on `as_of`."""
        return self.stage == "recognised" and self.expires is not None and as_of < self.expires


def live(lines: Iterable[Line]) -> list[Line]:
    """The lines not taken back by an undo, in the order they happened (an undo counts
    whatever its date: it corrects the record)."""
    lines = list(lines)
    undone = {line.undoes for line in lines if line.action == "undo"}
    kept = [line for line in lines if line.action != "undo" and line.id not in undone]
    kept.sort(key=lambda line: (line.date, line.at, line.id))
    return kept


def products_as_of(lines: Iterable[Line], rules: Rules, as_of: dt.date) -> dict[str, Product]:
    """Every product registered by `as_of`, at its stage on that day."""
    found: dict[str, Product] = {}
    for line in live(lines):
        if line.date > as_of:
            break
        if line.action == "registered":
            if line.product not in found:
                found[line.product] = Product(line)
            continue
        product = found.get(line.product)
        if product is None:
            continue  # an orphan, reported by `check`
        product.lines.append(line)
        product.stage, product.stage_date = line.action, line.date
        if line.action == "scored":
            product.points, product.council, product.scored = line.points, line.council, \
                line.date
            product.stars = rules.stars(line.points or 0, line.date)
        elif line.action == "rejected":
            product.reason = line.note
        elif line.action == "recognised":
            years = rules.decision_on(line.date).valid_years
            product.recognised, product.decision = line.date, line.ref
            product.expires = _years_later(line.date, years)
    return found


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def months_later(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    import calendar

    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --- recording -------------------------------------------------------------------------------


def new_product_id(taken: Iterable[str]) -> str:
    import secrets

    used = set(taken)
    while True:
        candidate = f"sp-{secrets.token_hex(3)}"
        if candidate not in used:
            return candidate


def find(lines: Sequence[Line], text: str) -> str:
    """A product id as typed: whole, or a prefix of one (`3fa9` or `sp-3fa9`)."""
    key = text.strip().lower()
    if not key:  # an empty prefix would fit every product, and pick the only one there is
        raise UsageError(_("the product's id is empty; give it as `ocop product list` shows it"))
    ids = {line.product for line in lines if line.action == "registered"}
    if key in ids:
        return key
    found = sorted(i for i in ids if i.startswith(key) or i.startswith(f"sp-{key}"))
    if len(found) == 1:
        return found[0]
    if found:
        raise UsageError(_("{text!r} fits several products: {ids}").format(
            text=text, ids=", ".join(found[:10])))
    raise NotFound(_("no product {text!r} in the register").format(text=text),
                   hint=_("List them with: ocop product list"))


class Stamp(NamedTuple):
    date: dt.date
    by: str
    ref: str | None = None
    note: str | None = None

    def line(self, product: str, action: str, **fields: Any) -> Line:
        from ocop_cli.tracker.record import new_id, now

        base = Line(new_id(), now(), self.date, product, action, self.by, self.ref, self.note)
        return base._replace(**fields)


def twin_of(products: dict[str, Product], name: str, entity: str, district: str
            ) -> Product | None:
    """The product of that name and entity in that district (accents aside), not rejected."""
    from ocop_cli.core.text import fold

    wanted = (fold(name), fold(entity), district)
    return next((p for p in products.values() if p.stage != "rejected"
                 and (fold(p.name), fold(p.entity), p.district) == wanted), None)


def register(lines: Sequence[Line], rules: Rules, stamp: Stamp, name: str, district: str,
             commune: str, entity: str, kind: str, group: str, new: bool) -> Line:
    """The line that registers a product; refused when the same product (name, entity and
    district, accents aside) is registered already and not rejected."""
    from ocop_cli.core.text import clean

    values = {"name": clean(name), "commune": clean(commune), "entity": clean(entity)}
    empty = {"name": _("the product's name is empty"), "commune": _("--commune is empty"),
             "entity": _("--entity is empty")}
    for key, value in values.items():
        if not value:
            raise UsageError(empty[key])
    if kind not in KINDS:
        raise UsageError(_("--kind: expected one of: {choices}").format(
            choices=", ".join(KINDS)))
    twin = twin_of(products_as_of(lines, rules, dt.date.max), values["name"], values["entity"],
                   district)
    if twin is not None:
        raise Refused(_("{name} of {entity} is registered already as {id}").format(
            name=values["name"], entity=values["entity"], id=twin.id))
    product = new_product_id(line.product for line in lines)
    return stamp.line(product, "registered", district=district, kind=kind,
                      group=rules.group(group).id, new=new, **values)


def advance(lines: Sequence[Line], rules: Rules, product_id: str, stage: str, stamp: Stamp,
            council: str | None = None, points: int | None = None) -> Line:
    """The line that moves a product on to `stage`, refused when the product cannot go there
    from where it stands on the line's date."""
    if stage not in STAGES or stage == "registered":
        raise UsageError(_("a stage is one of: {choices}").format(
            choices=", ".join(s for s in STAGES if s != "registered")))
    products = products_as_of(lines, rules, dt.date.max)
    latest = products.get(product_id)
    if latest is None:
        raise NotFound(_("no product {text!r} in the register").format(text=product_id))
    if stamp.date < latest.stage_date:
        raise Refused(_("product {id} was {stage} on {date}; a stage cannot come before it "
                        "(undo the later one first)").format(
            id=product_id, stage=stage_label(latest.stage), date=format_date(latest.stage_date)))
    step = f"scored:{council}" if stage == "scored" else stage
    if step not in NEXT[latest.position]:
        allowed = ", ".join(map(step_label, NEXT[latest.position])) or \
            _("nothing (undo a line to correct it)")
        raise Refused(_("product {id} is {stage}; what may follow: {allowed}").format(
            id=product_id, stage=stage_label(latest.stage), allowed=allowed))
    if stage == "rejected" and not (stamp.note or "").strip():
        raise UsageError(_("say why it is rejected with --note"))
    if stage == "recognised":
        if not (stamp.ref or "").strip():
            raise UsageError(_("give the decision's number with --ref"))
        least = rules.decision_on(stamp.date).recognised_from
        if (latest.stars or 0) < least:
            raise Refused(_("product {id} has {stars} stars; a province recognises {least} "
                            "stars or more").format(id=product_id, stars=latest.stars or 0,
                                                    least=least))
    if stage == "scored" and (points is None or not 0 <= points <= 100):
        raise UsageError(_("points are a whole number from 0 to 100"))
    return stamp.line(product_id, stage, council=council, points=points)


def take_back(lines: Sequence[Line], stamp: Stamp, product_id: str | None) -> Line:
    """The undo of the latest line still in force (of one product, with `product_id`)."""
    kept = [line for line in live(lines) if product_id is None or line.product == product_id]
    if not kept:
        raise Refused(_("nothing to undo"))
    last = max(kept, key=lambda line: (line.at, line.id))
    return stamp.line(last.product, "undo", undoes=last.id, ref=None, note=None)


def register_problems(ws: Workspace, directory: Any) -> list[Problem]:
    """Every problem of the register and of the rules, for `ocop check`."""
    try:
        rules = read_rules(rules_path(ws))
    except (InvalidData, NotFound) as error:
        return getattr(error, "problems", None) or [Problem(str(rules_path(ws)), error.message)]
    try:
        return read_register(ws, directory, rules)[1]
    except InvalidData as error:
        return error.problems
