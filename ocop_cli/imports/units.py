"""A list of administrative units, as the resolutions on rearranging units publish them, read
from a sheet (code, name, level, parent, from, until, successors), and what it changes in
agencies.yaml: units to append, the end and successors of a unit already there, and every
conflict with what is there, by its row. Nothing here writes: `ocop import units` does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ocop_cli.core.directory import Directory
from ocop_cli.core.i18n import _
from ocop_cli.core.model import Agency
from ocop_cli.core.text import clean, fold
from ocop_cli.imports.planfile import yaml_str
from ocop_cli.imports.sheets import Sheet  # read within limits there
from ocop_cli.imports.tables import (
    CellError,
    RowProblem,
    cell_text,
    header_of,
    read_date,
    read_level,
    table_body,
)
from ocop_cli.store.documents import agencies_problems

# Each column: its key, its header in Vietnamese, and the folded headers read as it (English
# words too).
UNIT_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("code", "Mã", ("ma", "ma so", "ma don vi", "ma dvhc", "ma don vi hanh chinh", "code")),
    ("name", "Tên", ("ten", "ten don vi", "ten dvhc", "ten don vi hanh chinh", "name")),
    ("level", "Cấp", ("cap", "cap hanh chinh", "level")),
    ("parent", "Trực thuộc", ("truc thuoc", "thuoc", "don vi cap tren", "parent")),
    ("start", "Từ ngày", ("tu ngay", "hieu luc tu", "ngay hieu luc", "from")),
    ("until", "Đến ngày", ("den ngay", "het hieu luc", "until")),
    ("successors", "Đơn vị kế thừa", ("don vi ke thua", "ke thua", "sap nhap vao",
                                      "successors")),
)

_PREFIX = re.compile(r"^(xã|phường|thị trấn|đặc khu|huyện|quận|thị xã|thành phố|tỉnh)\s+",
                     re.IGNORECASE)
# Words a successors cell puts before the names: "Sáp nhập vào xã X", "Nhập vào X và Y".
_LEAD_IN = re.compile(r"^(sáp nhập vào|sáp nhập với|nhập vào|hợp nhất vào|hợp nhất thành|"
                      r"hợp nhất với|merged into|merged with)\s+", re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:[;,/\n]|\bvà\b|\band\b)\s*", re.IGNORECASE)
MAX_NAME = 200  # characters of a unit's name
MAX_SUCCESSORS = 50


@dataclass(frozen=True)
class UnitRow:
    """One unit of the list, its cells read."""

    row: int
    name: str
    level: str
    code: str | None = None
    parent: str | None = None
    start: dt.date | None = None
    until: dt.date | None = None
    successors: tuple[str, ...] = ()


def read_units(sheet: Sheet) -> tuple[list[UnitRow], list[RowProblem], list[str]]:
    """The units of a list, the problems of its rows, and what was noticed (a totals row)."""
    notices: list[str] = []
    _found, body, problems = table_body(sheet, UNIT_COLUMNS, ("name", "level"), notices)
    rows = []
    for number, cells in body:
        try:
            rows.append(_unit_row(number, cells))
        except CellError as error:
            problems.append(RowProblem(number, error.message, error.column))
    return rows, problems, notices


def _header(key: str) -> str:
    return header_of(key, UNIT_COLUMNS)


def _text(cells: dict[str, Any], key: str) -> str | None:
    text = cell_text(cells.get(key), _header(key))
    if len(text) > MAX_NAME:
        raise CellError(_header(key), _("{n} characters: a unit's name or code has {most} at "
                                        "most").format(n=len(text), most=MAX_NAME))
    if not text.isprintable():
        raise CellError(_header(key), _("the cell holds a control character"))
    return text or None


def _date(cells: dict[str, Any], key: str) -> dt.date | None:
    value = cells.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return read_date(value)
    except ValueError as error:
        raise CellError(_header(key), str(error)) from None


def _unit_row(number: int, cells: dict[str, Any]) -> UnitRow:
    name = _text(cells, "name")
    if name is None:
        raise CellError(_header("name"), _("the name is empty"))
    written = _text(cells, "level") or ""
    level = read_level(written)
    if level is None:
        raise CellError(_header("level"), _("{text!r} is not a level: write xã, phường, "
                                            "huyện, tỉnh (or commune, district, province)")
                        .format(text=written))
    code = _text(cells, "code")
    if code is not None and not re.fullmatch(r"[0-9]{1,6}", code):
        raise CellError(_header("code"), _("{text!r} is not a code of digits (e.g. 10531)")
                        .format(text=code))
    start, until = _date(cells, "start"), _date(cells, "until")
    if start and until and until < start:
        raise CellError(_header("until"), _("it ends ({until}) before it begins ({start})")
                        .format(until=until.isoformat(), start=start.isoformat()))
    heirs = split_successors(_text_long(cells, "successors"))
    if len(heirs) > MAX_SUCCESSORS:
        raise CellError(_header("successors"), _("more than {n} successors").format(
            n=MAX_SUCCESSORS))
    if heirs and until is None:
        raise CellError(_header("until"), _("a unit with successors needs the day it ended"))
    return UnitRow(number, name, level, code, _text(cells, "parent"), start, until, heirs)


def _text_long(cells: dict[str, Any], key: str) -> str:
    """A cell that may name several units (each checked as a name afterwards)."""
    text = cell_text(cells.get(key), _header(key))
    if not text.isprintable():
        raise CellError(_header(key), _("the cell holds a control character"))
    return text


def split_successors(text: str) -> tuple[str, ...]:
    """The names a successors cell gives: "Sáp nhập vào xã Gia Lộc" is xã Gia Lộc; "A, B và
    C" are three."""
    names = []
    for part in _SPLIT.split(clean(text)):
        part = _LEAD_IN.sub("", part).strip()
        if part:
            names.append(part)
    return tuple(dict.fromkeys(names))


# --- what the list changes --------------------------------------------------------------


@dataclass
class UnitChanges:
    """What a list changes in agencies.yaml: units appended, units already there given their
    end and successors ((before, after)), rows that change nothing, and the problems."""

    added: list[Agency] = field(default_factory=list)
    ended: list[tuple[Agency, Agency]] = field(default_factory=list)
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # agency id -> its row


def short_of(name: str) -> str:
    """The name without its kind (Xã Gia Lộc is Gia Lộc); a numbered ward keeps it (Phường 1)."""
    bare = _PREFIX.sub("", name)
    return name if not bare or bare.isdigit() else bare


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")


def unit_changes(rows: Iterable[UnitRow], directory: Directory) -> UnitChanges:
    """Each row matched with a unit of the directory (by code, else by its name, level and
    start) or made a new one; then parents and successors found, and every conflict told."""
    changes = UnitChanges()
    rows = list(rows)
    made: dict[int, Agency] = {}  # row -> the unit it adds or ends
    taken = set(directory.by_id)
    for row in rows:
        existing = _existing(row, directory)
        if existing is None:
            made[row.row] = _new(row, taken, changes)
        else:
            made[row.row] = existing
            changes.rows.setdefault(existing.id, row.row)
    find = _finder(rows, made, directory)
    for row in rows:
        _linked(row, made, find, directory, changes)
    _conflicts(directory, changes)
    return changes


def _existing(row: UnitRow, directory: Directory) -> Agency | None:
    if row.code is not None:
        found = [a for a in directory.agencies if a.code == row.code]
        if found:
            return found[0]
    start = row.start.isoformat() if row.start else None
    return next((a for a in directory.candidates(row.name, exact=True)
                 if a.kind == "locality" and a.level == row.level and a.start == start
                 and fold(a.name) == fold(row.name)), None)


def _new(row: UnitRow, taken: set[str], changes: UnitChanges) -> Agency:
    base = slug(row.name) or "unit"
    agency_id = base if base not in taken else f"{base}-{row.code or row.row}"
    if agency_id in taken:
        changes.problems.append(RowProblem(row.row, _("another unit is called {name!r}: give "
                                                      "each its code").format(name=row.name)))
    taken.add(agency_id)
    changes.rows[agency_id] = row.row
    short = short_of(row.name)
    return Agency(id=agency_id, short=short, name=row.name, level=row.level, kind="locality",
                  start=row.start.isoformat() if row.start else None,
                  until=row.until.isoformat() if row.until else None, code=row.code)


def _finder(rows: list[UnitRow], made: dict[int, Agency], directory: Directory
            ) -> Callable[[str, dt.date | None], list[str]]:
    """How a parent or successor cell's name is found: a code, or a name of the list or of
    the directory, among the units in force on the day it matters."""
    listed = [made[r.row] for r in rows]

    def find(text: str, on: dt.date | None) -> list[str]:
        coded = [a.id for a in (*listed, *directory.agencies) if a.code == text]
        if coded:
            return coded[:1]
        key = fold(_PREFIX.sub("", text))
        fits = [a.id for a in listed if key in (fold(a.short), fold(a.name))
                and (on is None or a.in_force(on))]
        if not fits:
            fits = [a.id for a in directory.candidates(text, exact=True, on=on)
                    if a.kind == "locality"]
        return list(dict.fromkeys(fits))
    return find


def _linked(row: UnitRow, made: dict[int, Agency], find: Callable[[str, dt.date | None],
            list[str]], directory: Directory, changes: UnitChanges) -> None:
    """The row's unit with its parent and successors found; a unit already there gets the
    end and successors it lacks, or a conflict when it has others."""
    agency = made[row.row]
    parent = _one(row, "parent", row.parent, row.start, find, changes)
    after = row.until + dt.timedelta(days=1) if row.until else None
    heirs = tuple(h for name in row.successors
                  if (h := _one(row, "successors", name, after, find, changes)))
    if agency.id not in directory.by_id:
        changes.added.append(agency._replace(part_of=parent, successors=heirs))
        return
    until = row.until.isoformat() if row.until else None
    clash = [key for key, old, new in ((_("end date"), agency.until, until),
                                       (_("successors"), agency.successors, heirs),
                                       (_("parent unit"), agency.part_of, parent))
             if old and new and old != new]
    if clash:
        changes.problems.append(RowProblem(row.row, _(
            "{id} is in agencies.yaml with another {keys}: change it there by hand if the "
            "list is right").format(id=agency.id, keys=", ".join(clash))))
    elif (until and not agency.until) or (heirs and not agency.successors):
        changes.ended.append((agency, agency._replace(until=agency.until or until,
                                                      successors=agency.successors or heirs)))
    else:
        changes.unchanged += 1


def _one(row: UnitRow, key: str, text: str | None, on: dt.date | None,
         find: Callable[[str, dt.date | None], list[str]], changes: UnitChanges) -> str | None:
    if text is None:
        return None
    found = find(text, on)
    if len(found) == 1:
        return found[0]
    message = (_("{name!r} fits several units: give its code").format(name=text) if found
               else _("no unit {name!r} in the list or in agencies.yaml").format(name=text))
    changes.problems.append(RowProblem(row.row, message, _header(key)))
    return None


def _conflicts(directory: Directory, changes: UnitChanges) -> None:
    """What agencies.yaml would hold checked as it is when read (a spelling two units hold on
    the same day, an unknown id), each problem told at the row that brings it."""
    updated = {after.id: after for _before, after in changes.ended}
    merged = [updated.get(a.id, a) for a in directory.agencies] + changes.added
    first_new = len(directory.agencies)

    def where(loc: tuple[Any, ...]) -> tuple[int | None, None]:
        return (loc[1], None)  # the agency's place in `merged`, for its row below

    for problem in agencies_problems("agencies.yaml", merged, where):
        place = problem.line if problem.line is not None else -1
        agency = merged[place] if place >= 0 else None
        if agency is not None and (place >= first_new or agency.id in updated):
            changes.problems.append(RowProblem(changes.rows.get(agency.id), problem.message))


# --- the text of agencies.yaml -------------------------------------------------------------


def unit_lines(agency: Agency, indent: str) -> list[str]:
    """An added unit as agencies.yaml writes an agency."""
    inner = indent + "  "
    lines = [f"{indent}- id: {agency.id}", f"{inner}short: {yaml_str(agency.short)}",
             f"{inner}name: {yaml_str(agency.name)}", f"{inner}level: {agency.level}",
             f"{inner}kind: {agency.kind}"]
    if agency.code:
        lines.append(f'{inner}code: "{agency.code}"')
    if agency.part_of:
        lines.append(f"{inner}part_of: {agency.part_of}")
    return lines + _dated_lines(agency, inner, start=True)


def _dated_lines(agency: Agency, inner: str, start: bool = False) -> list[str]:
    lines = [f"{inner}from: {agency.start}"] if start and agency.start else []
    if agency.until:
        lines.append(f"{inner}until: {agency.until}")
    if agency.successors:
        lines.append(f"{inner}successors: [{', '.join(agency.successors)}]")
    return lines


def changed_text(text: str, starts: dict[str, int], changes: UnitChanges, note: str) -> str:
    """agencies.yaml's text with the ends written into the units already there (`starts`:
    the line where each agency of the file begins) and the new units appended; every other
    line as it was."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    match = re.search(r"^( *)- id:", text, re.MULTILINE)
    inner = (match.group(1) if match else "  ") + "  "
    firsts = sorted(starts.values())
    for before, after in sorted(changes.ended, key=lambda pair: -starts[pair[0].id]):
        at = _block_end(lines, starts[before.id], firsts)
        had = _dated_lines(before, inner)
        lines[at:at] = [line for line in _dated_lines(after, inner) if line not in had]
    if changes.added:
        lines += ["", f"{inner[:-2]}# --- {note}"]
        for agency in changes.added:
            lines += ["", *unit_lines(agency, inner[:-2])]
    return newline.join(lines) + newline


def _block_end(lines: list[str], first: int, firsts: list[int]) -> int:
    """The place after the last line of the agency that begins on line `first` (the blank
    lines and comments above the next agency stay after it)."""
    following = [line for line in firsts if line > first]
    end = following[0] - 1 if following else len(lines)
    while end > first and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end
