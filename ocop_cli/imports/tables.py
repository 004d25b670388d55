"""Plan tables and progress sheets in and out: TSV (as pasted from a document), CSV and XLSX.

Everything here is conversion, with no terminal and no writing: read a sheet into numbered
rows; check each row and say what is wrong with it by its row number in the spreadsheet;
split agency cells into references the directory knows; turn a plan table into the text of a
plan file and new agencies into text to append to agencies.yaml; decide the entries a progress
sheet records; and lay a plan back out as its table. The command layer (`cmd_imports`) reads
the files, holds the lock and writes.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocop_cli.core.errors import InvalidData, OcopError, Problem
from ocop_cli.core.i18n import _, ngettext
from ocop_cli.core.text import CsvWriter, clean, fold, xlsx_text
from ocop_cli.imports.sheets import Sheet  # read within limits there

if TYPE_CHECKING:
    from ocop_cli.core.directory import Directory
    from ocop_cli.core.model import Entry, Plan
    from ocop_cli.store.storage import Loaded

SCHEMA_LINE = "# yaml-language-server: $schema=schema/plan.schema.json"
HEADER_SCAN = 20  # title lines a document may have above the table's header row

# Each column: its key, its header as the 2019 appendix writes it, and the folded headers read
# as the same column.
PLAN_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("tt", "TT", ("tt", "stt", "so tt")),
    ("title", "Nội dung thực hiện", ("noi dung thuc hien", "noi dung", "nhiem vu")),
    ("unit", "ĐVT", ("dvt", "don vi tinh", "don vi")),
    ("target", "Số lượng", ("so luong", "khoi luong", "chi tieu")),
    ("lead", "Cơ quan chủ trì", ("co quan chu tri", "chu tri", "don vi chu tri")),
    ("partners", "Cơ quan phối hợp", ("co quan phoi hop", "phoi hop", "don vi phoi hop")),
    ("window", "Thời gian thực hiện", ("thoi gian thuc hien", "thoi gian",
                                       "thoi gian hoan thanh")),
)

PROGRESS_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("date", "date", ("date", "ngay")),
    ("task", "task", ("task", "nhiem vu", "tt", "ma nhiem vu")),
    ("action", "action", ("action", "viec", "cong viec")),
    ("qty", "quantity", ("quantity", "qty", "so luong")),
    ("place", "place", ("place", "dia ban", "noi", "dia phuong")),
    ("by", "by", ("by", "nguoi bao cao", "nguoi ghi")),
    ("ref", "ref", ("ref", "van ban", "so van ban", "so hieu")),
    ("note", "note", ("note", "ghi chu")),
)
PROGRESS_REQUIRED = ("date", "task", "action")

# What a progress sheet may ask for, in English or in Vietnamese (folded).
ACTION_WORDS = {
    "start": "start", "bat dau": "start",
    "progress": "progress", "tien do": "progress",
    "done": "done", "hoan thanh": "done", "xong": "done",
    "reopen": "reopen", "mo lai": "reopen",
    "cancel": "cancel", "huy": "cancel", "huy bo": "cancel",
    "note": "note", "ghi chu": "note",
}

_DASHES = ("-", "–", "—")
_SUB_TITLE = re.compile(r"^[-–—]\s*")
_TOP_TT = re.compile(r"^0*([1-9]\d*)\.?$")
_DOTTED_TT = re.compile(r"^\d+(?:\.\d+)+$")
_TOTALS = ("tong cong", "tong so", "tong", "cong", "total")
_NUMBERING = re.compile(r"^\(?\s*(\d+|[a-z])\s*\)?$")


# --- problems ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowProblem:
    """What is wrong with one row, by its number in the spreadsheet (1 = the first line)."""

    row: int | None
    message: str
    column: str | None = None
    task: str | None = None

    def __str__(self) -> str:
        where = _("row {row}").format(row=self.row) if self.row is not None else ""
        if self.task:
            where += f" ({_('task {id}').format(id=self.task)})"
        if self.column:
            where += f", {self.column}" if where else self.column
        return f"{where}: {self.message}" if where else self.message


def rejected(source: str, problems: Sequence[RowProblem]) -> InvalidData:
    """Every problem of a file as one error, row by row; nothing was written."""
    ordered = sorted(problems, key=lambda p: (p.row is None, p.row or 0))
    rows = {p.row for p in ordered if p.row is not None}
    if rows:
        head = ngettext("{source}: {n} row at fault; nothing was imported",
                        "{source}: {n} rows at fault; nothing was imported", len(rows)).format(
            source=source, n=len(rows))
    else:
        head = _("{source}: nothing was imported").format(source=source)
    lines = [head, *(f"  {p}" for p in ordered)]
    return InvalidData(
        [Problem(source, p.message, p.row, None, p.task, p.column) for p in ordered],
        "\n".join(lines),
    )


class _CellError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


# --- cells -------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: Any, column: str) -> str:
    """A cell as text, cleaned; a number as it reads (12.0 is 12); a date cell in a text
    column is Excel having read something like `1-2` as a date, which would lose it."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        raise _CellError(column, _("the cell holds a date ({date}): the spreadsheet read what "
                                   "was typed as a date; format the column as text and type "
                                   "it again").format(date=value.isoformat()[:10]))
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean(str(value))


def _empty(text: str) -> bool:
    return text in ("", *_DASHES)


def _is_totals(values: Iterable[Any]) -> bool:
    """A "Tổng cộng" row: the word in one of its first two filled cells."""
    filled = [v for v in values if not _blank(v)][:2]
    for value in filled:
        if isinstance(value, str):
            key = fold(value).strip(" :.")
            if key in _TOTALS or key.startswith(("tong cong", "tong so ")):
                return True
    return False


def _is_numbering(values: list[Any]) -> bool:
    """The row of column numbers some documents put under the header: (1) (2) (3) or 1 2 3."""
    filled = [(i, v) for i, v in enumerate(values) if not _blank(v)]
    if len(filled) < 3:
        return False
    for index, value in filled:
        try:
            text = fold(cell_text(value, ""))
        except _CellError:
            return False
        match = _NUMBERING.match(text)
        if match is None:
            return False
        token = match.group(1)
        expected = str(index + 1) if token.isdigit() else chr(ord("a") + index)
        if token != expected:
            return False
    return True


def _header(sheet: Sheet, columns: tuple[tuple[str, str, tuple[str, ...]], ...],
            required: Sequence[str]) -> tuple[int, dict[str, int]]:
    """The header row's position in `sheet.rows` and the column index of each known key."""
    best: tuple[int, dict[str, int], list[RowProblem]] | None = None
    seen = 0
    for position, (number, values) in enumerate(sheet.rows):
        if all(_blank(v) for v in values):
            continue
        seen += 1
        if seen > HEADER_SCAN:
            break
        found: dict[str, int] = {}
        twice: list[RowProblem] = []
        for index, value in enumerate(values):
            if not isinstance(value, str):
                continue
            key = fold(value).strip(" :.")
            for name, header, spellings in columns:
                if key in spellings:
                    if name in found:
                        twice.append(RowProblem(number, _("column {name!r} appears twice")
                                                .format(name=header)))
                    found[name] = index
        if len(found) >= 2 and (best is None or len(found) > len(best[1])):
            best = (position, found, twice)
    headers = ", ".join(header for name, header, _spellings in columns if name in required)
    if best is None:
        error = rejected(sheet.source, [RowProblem(None, _(
            "no header row: expected the columns {headers} in one row near the top").format(
            headers=headers))])
        if len(sheet.sheets) > 1:
            error.hint = _("The workbook's sheets: {names}; name one with --sheet.").format(
                names=", ".join(sheet.sheets))
        raise error
    position, found, twice = best
    missing = [header for name, header, _spellings in columns
               if name in required and name not in found]
    problems = list(twice)
    if missing:
        problems.append(RowProblem(sheet.rows[position][0], _(
            "the header lacks the column(s) {missing}; expected {headers}").format(
            missing=", ".join(missing), headers=headers)))
    if problems:
        raise rejected(sheet.source, problems)
    return position, found


def _merged_problems(sheet: Sheet, header_row: int) -> list[RowProblem]:
    problems = []
    for coord, first, last in sheet.merged:
        if last < header_row:
            continue  # a title above the table
        rows = str(first) if first == last else f"{first}-{last}"
        problems.append(RowProblem(first, _(
            "cells {range} are merged (rows {rows}): unmerge them and repeat the value in each "
            "row").format(range=coord, rows=rows)))
    return problems


def _body(sheet: Sheet, columns: tuple[tuple[str, str, tuple[str, ...]], ...],
          required: Sequence[str], notices: list[str]
          ) -> tuple[dict[str, int], list[tuple[int, dict[str, Any]]], list[RowProblem]]:
    """The rows under the header as {column key: value}, blank, numbering and totals rows left
    out; cells beyond the last header column that hold something are problems."""
    position, found = _header(sheet, columns, required)
    header_row = sheet.rows[position][0]
    problems = _merged_problems(sheet, header_row)
    if problems:
        return found, [], problems  # the other faults of those rows would only echo these
    width = max(found.values()) + 1
    header_values = sheet.rows[position][1]
    width = max(width, max((i + 1 for i, v in enumerate(header_values) if not _blank(v)),
                           default=0))
    body: list[tuple[int, dict[str, Any]]] = []
    first = True
    for number, values in sheet.rows[position + 1:]:
        if all(_blank(v) for v in values):
            continue
        if first and _is_numbering(values):
            continue
        first = False
        if _is_totals(values):
            notices.append(_("{source}, row {row}: a totals row, skipped").format(
                source=sheet.source, row=number))
            continue
        extra = [i for i, v in enumerate(values) if i >= width and not _blank(v)]
        if extra:
            problems.append(RowProblem(number, _(
                "{n} cell(s) beyond the last column of the header (a separator too many?)")
                .format(n=len(extra))))
            continue
        body.append((number, {key: values[i] if i < len(values) else None
                              for key, i in found.items()}))
    return found, body, problems


# --- the plan table ----------------------------------------------------------------------


def _header_of(key: str) -> str:
    return next(header for name, header, _spellings in PLAN_COLUMNS if name == key)


@dataclass(frozen=True)
class TableRow:
    """One row or sub-row of an assignment table, its cells as written ("-" is nothing)."""

    row: int
    id: str
    title: str
    unit: str | None = None
    target: str | None = None
    lead: str | None = None
    partners: str | None = None
    window: str | None = None


@dataclass
class PlanTable:
    source: str
    rows: list[TableRow]
    problems: list[RowProblem]
    notices: list[str]


def read_plan_table(sheet: Sheet, year: int | None = None, last_year: int | None = None
                    ) -> PlanTable:
    """The tasks of an assignment table: rows numbered in TT, sub-rows marked `-` (in TT, or
    at the start of the content cell) numbered N.1, N.2 under the row above them. Quantities
    and windows are read as the plan for `year` (to `last_year`) means them."""
    from ocop_cli.core.windows import parse_target, parse_window

    def window(text: str) -> None:
        parse_window(text, year, last_year)

    notices: list[str] = []
    _found, body, problems = _body(sheet, PLAN_COLUMNS, [c[0] for c in PLAN_COLUMNS], notices)
    rows: list[TableRow] = []
    first_row: dict[str, int] = {}
    children: dict[str, int] = {}
    top: str | None = None
    for number, cells in body:
        try:
            tt = cell_text(cells["tt"], "TT")
            title = cell_text(cells["title"], _header_of("title"))
        except _CellError as error:
            problems.append(RowProblem(number, error.message, error.column))
            continue
        sub_marked = tt in _DASHES or (tt == "" and _SUB_TITLE.match(title) is not None
                                       and len(title) > 1)
        task_id: str | None = None
        if sub_marked:
            title = _SUB_TITLE.sub("", title)
            if top is None:
                problems.append(RowProblem(number, _(
                    "a sub-row (marked -) before any numbered row"), "TT"))
                continue
            children[top] = children.get(top, 0) + 1
            task_id = f"{top}.{children[top]}"
        elif (match := _TOP_TT.match(tt)) is not None:
            task_id = match.group(1)
            top = task_id
        elif _DOTTED_TT.match(tt):
            task_id = ".".join(str(int(part)) for part in tt.split("."))
            parent = task_id.rpartition(".")[0]
            if "0" in task_id.split("."):
                problems.append(RowProblem(number, _(
                    "TT {tt!r} is not a task number (expected 1, 2 … or - for a sub-row)").format(
                    tt=tt), "TT"))
                continue
            if parent not in first_row:
                problems.append(RowProblem(number, _(
                    "TT {tt} comes before its parent row {parent}").format(tt=tt, parent=parent),
                    "TT"))
                continue
            children[parent] = max(children.get(parent, 0), int(task_id.rpartition(".")[2]))
        elif tt == "":
            problems.append(RowProblem(number, _(
                "no TT: a row needs a number, and a sub-row a - (in TT or before its content)"),
                "TT"))
            continue
        else:
            problems.append(RowProblem(number, _(
                "TT {tt!r} is not a task number (expected 1, 2 … or - for a sub-row)").format(
                tt=tt), "TT"))
            continue
        if task_id in first_row:
            problems.append(RowProblem(number, _("task {id} already appears in row {row}").format(
                id=task_id, row=first_row[task_id]), "TT", task_id))
            continue
        first_row[task_id] = number
        if not title:
            problems.append(RowProblem(number, _("the content cell is empty"),
                                       _header_of("title"), task_id))
        values: dict[str, str | None] = {}
        for key, check in (("unit", None), ("target", parse_target), ("lead", None),
                           ("partners", None), ("window", window)):
            column = _header_of(key)
            try:
                raw = cells[key]
                if key in ("lead", "partners") and isinstance(raw, str):
                    raw = re.sub(r"\s*[\r\n]+\s*", "; ", raw.strip())  # one agency per line
                text = cell_text(raw, column)
                if check is not None and not _empty(text):
                    check(text)
            except _CellError as error:
                problems.append(RowProblem(number, error.message, error.column, task_id))
                continue
            except ValueError as error:
                problems.append(RowProblem(number, str(error), column, task_id))
                continue
            values[key] = None if _empty(text) else text
        if values.get("target") and values.get("unit"):
            clash = parse_target(str(values["target"])).unit_problem(str(values["unit"]))
            if clash:
                problems.append(RowProblem(number, clash, _header_of("target"), task_id))
                continue
        rows.append(TableRow(number, task_id, title, **values))
    parents = {r.id.rpartition(".")[0] for r in rows if "." in r.id}
    for row in rows:
        if row.id in parents:
            continue
        for key, what in (("lead", _("a task without sub-rows needs a lead agency")),
                          ("window", _("a task without sub-rows needs a window (months)"))):
            if getattr(row, key) is None and not any(
                    p.row == row.row and p.column == _header_of(key) for p in problems):
                problems.append(RowProblem(row.row, what, _header_of(key), row.id))
    return PlanTable(sheet.source, rows, problems, notices)


# --- agencies ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """One agency named in a cell: the text as written, and the agency it means if known."""

    text: str
    agency: str | None


class _Index:
    """Folded spelling -> agency id, for spellings that mean exactly one agency."""

    def __init__(self, directory: Directory) -> None:
        owners: dict[str, set[str]] = {}
        for agency in directory.agencies:
            for spelling in (*agency.spellings, agency.id):
                owners.setdefault(fold(spelling), set()).add(agency.id)
        self.ids = {key: next(iter(ids)) for key, ids in owners.items() if len(ids) == 1}


_TOKEN = re.compile(r",|[^\s,]+")


def split_agencies(cell: str, directory: Directory, index: _Index | None = None) -> list[Ref]:
    """The agencies a partners cell names, in order.

    References are separated by `;`, and by `,`, "và" or a lost separator (a plain space)
    wherever the directory knows the names on both sides: "Chi cục PTNT, các đơn vị tư vấn và
    các đơn vị liên quan" is three references, "BCĐ các huyện, TP" and "Sở NN và PTNT" one
    each. A name the directory does not know runs to the next `;`, or to a comma followed by a
    capitalised name of two words or more ("Sở Xây dựng, Sở Giao thông")."""
    index = index or _Index(directory)
    refs: list[Ref] = []
    for chunk in clean(cell).split(";"):
        chunk = chunk.strip(" ,")
        if chunk:
            refs += _split_chunk(chunk, directory, index)
    return refs


def _split_chunk(chunk: str, directory: Directory, index: _Index) -> list[Ref]:
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(chunk)]
    count = len(tokens)
    memo: dict[tuple[int, bool], tuple[tuple[int, int], list[tuple[int, int, bool]]] | None] = {}

    def solve(i: int, after_space: bool
              ) -> tuple[tuple[int, int], list[tuple[int, int, bool]]] | None:
        """Cheapest cover of tokens[i:] as pieces (first token, end token, known): fewest
        words in unknown pieces, then fewest pieces. A piece next to a lost separator (a
        plain space) must be known on both sides."""
        while i < count and tokens[i][2] == ",":
            i, after_space = i + 1, False
        if i == count:
            return (0, 0), []
        if (i, after_space) in memo:
            return memo[(i, after_space)]
        best: tuple[tuple[int, int], list[tuple[int, int, bool]]] | None = None
        for j in range(count, i, -1):  # on a tie, the longest name first
            if tokens[j - 1][2] == ",":
                continue
            text = chunk[tokens[i][0]:tokens[j - 1][1]]
            known = fold(text) in index.ids
            if after_space and not known:
                continue
            words = sum(1 for t in tokens[i:j] if t[2] != ",")
            # What follows: a comma, "và", or (between two known names) nothing but a space.
            options: list[tuple[int, bool]] = []
            if j == count or tokens[j][2] == ",":
                options.append((j, False))
            else:
                if fold(tokens[j][2]) == "va":
                    options.append((j + 1, False))
                if known:
                    options.append((j, True))
            for k, space in options:
                rest = solve(k, space)
                if rest is None:
                    continue
                cost = (rest[0][0] + (0 if known else words), rest[0][1] + 1)
                if best is None or cost < best[0]:
                    best = (cost, [(i, j, known), *rest[1]])
        memo[(i, after_space)] = best
        return best

    found = solve(0, False)
    assert found is not None  # the whole chunk as one piece is always a cover
    refs: list[Ref] = []
    for i, j, known in found[1]:
        text = chunk[tokens[i][0]:tokens[j - 1][1]]
        if known:
            refs.append(Ref(text, index.ids[fold(text)]))
        else:
            refs += [Ref(part, None) for part in _split_unknown(text)]
    return refs


def _split_unknown(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",")]
    names = [parts[0]]
    for part in parts[1:]:
        if part and part[0].isupper() and len(part.split()) >= 2:
            names.append(part)
        else:
            names[-1] = f"{names[-1]}, {part}"
    return [n.strip(" ,") for n in names if n.strip(" ,")]


@dataclass
class Resolved:
    """A table with its agency cells resolved: per task the lead and partner references;
    names the directory does not know (folded name -> spellings and rows); problems."""

    tasks: list[tuple[TableRow, Ref | None, list[Ref]]]
    unknown: dict[str, tuple[list[str], list[int]]]
    problems: list[RowProblem]


def resolve_agencies(table: PlanTable, directory: Directory) -> Resolved:
    index = _Index(directory)
    result = Resolved([], {}, [])

    def unknown(ref: Ref, row: TableRow, column: str) -> None:
        # A plan file names agencies by whole spellings; a shortening a person may type
        # ("Sở NN") is not one, and adding it as a new agency would make a double.
        found = directory.candidates(ref.text)
        if len(found) == 1:
            result.problems.append(RowProblem(row.row, _(
                "{text!r} is not a spelling in agencies.yaml; if it means {name}, write that or "
                "add {text!r} to its aliases").format(text=ref.text, name=found[0].short),
                column, row.id))
            return
        if found:
            names = ", ".join(a.short for a in found)
            result.problems.append(RowProblem(row.row, _(
                "{text!r} fits several agencies: {names}; write the whole name").format(
                text=ref.text, names=names), column, row.id))
            return
        spellings, rows = result.unknown.setdefault(fold(ref.text), ([], []))
        if ref.text not in spellings:
            spellings.append(ref.text)
        if row.row not in rows:
            rows.append(row.row)

    for row in table.rows:
        lead: Ref | None = None
        if row.lead is not None:
            found = directory.candidates(row.lead, exact=True)
            if len(found) == 1:
                lead = Ref(row.lead, found[0].id)
            else:
                parts = split_agencies(row.lead, directory, index) if not found else []
                if len(parts) > 1:
                    result.problems.append(RowProblem(row.row, _(
                        "one lead agency per task, but the cell names {n}: {names}; move the "
                        "others to {partners}").format(
                        n=len(parts), names="; ".join(p.text for p in parts),
                        partners=_header_of("partners")), _header_of("lead"), row.id))
                else:
                    lead = Ref(row.lead, None)
                    unknown(lead, row, _header_of("lead"))
        partners = split_agencies(row.partners, directory, index) if row.partners else []
        for ref in partners:
            if ref.agency is None:
                unknown(ref, row, _header_of("partners"))
        result.tasks.append((row, lead, partners))
    return result


def unknown_problems(resolved: Resolved, directory: Directory) -> list[RowProblem]:
    problems = []
    for spellings, rows in resolved.unknown.values():
        hint = directory.suggest(spellings[0])
        where = ngettext("row {rows}", "rows {rows}", len(rows)).format(
            rows=", ".join(str(r) for r in rows))
        message = _("unknown agency {name!r} ({where})").format(
            name=" / ".join(spellings), where=where)
        problems.append(RowProblem(None, message + (f"; {hint}" if hint else "")))
    return problems


_LEVEL_WORDS = (
    ("commune", ("xa", "phuong", "thi tran")),
    ("district", ("huyen", "tp", "thanh pho", "thi xa", "quan")),
    ("central", ("bo", "trung uong", "chinh phu", "tw")),
)
_KIND_WORDS = (
    ("group", ("cac", "nhung")),
    ("department", ("so",)),
    ("ministry", ("bo",)),
    ("government", ("ubnd", "uy ban nhan dan")),
    ("committee", ("bcd", "ban chi dao", "ban", "hoi dong", "to")),
    ("office", ("phong", "chi cuc", "van phong", "trung tam", "cuc")),
    ("media", ("bao", "dai")),
    ("party", ("tinh uy", "huyen uy", "dang uy")),
)


def guess_level_kind(name: str) -> tuple[str, str]:
    """A new agency's level and kind, guessed from the words of its name; the province and an
    organisation when nothing says otherwise."""
    words = fold(name).split()
    text = (" " + " ".join(words) + " ").replace(" hop tac xa ", " htx ")  # not a commune
    level = next((lvl for lvl, keys in _LEVEL_WORDS
                  if any(f" {k} " in text for k in keys)), "province")
    kind = next((knd for knd, keys in _KIND_WORDS
                 if any(text.startswith(f" {k} ") for k in keys)), "organisation")
    if level == "central" and kind == "department":
        level = "province"
    return level, kind


@dataclass(frozen=True)
class NewAgency:
    id: str
    short: str
    aliases: tuple[str, ...]
    level: str
    kind: str


def new_agencies(unknown: dict[str, tuple[list[str], list[int]]], directory: Directory
                 ) -> list[NewAgency]:
    taken = set(directory.by_id)
    added = []
    for spellings, _rows in unknown.values():
        base = re.sub(r"[^a-z0-9]+", "-", fold(spellings[0])).strip("-") or "agency"
        agency_id, n = base, 1
        while agency_id in taken:
            n += 1
            agency_id = f"{base}-{n}"
        taken.add(agency_id)
        level, kind = guess_level_kind(spellings[0])
        added.append(NewAgency(agency_id, spellings[0], tuple(spellings[1:]), level, kind))
    return added


def agencies_addition(existing: str, added: Sequence[NewAgency], note: str) -> str:
    """Text to append to agencies.yaml for `added`, indented like the file's own list."""
    match = re.search(r"^( *)- id:", existing, re.MULTILINE)
    indent = match.group(1) if match else "  "
    inner = indent + "  "
    lines = ["", f"{indent}# --- {note}"]
    for agency in added:
        lines += ["", f"{indent}- id: {agency.id}",
                  f"{inner}short: {yaml_str(agency.short)}",
                  f"{inner}name: {yaml_str(agency.short)}"]
        if agency.aliases:
            lines.append(f"{inner}aliases:")
            lines += [f"{inner}  - {yaml_str(a)}" for a in agency.aliases]
        lines += [f"{inner}level: {agency.level}", f"{inner}kind: {agency.kind}",
                  f"{inner}notes:", f"{inner}  - {yaml_str(note)}"]
    text = "\n".join(lines) + "\n"
    if existing and not existing.endswith("\n"):
        text = "\n" + text
    if "\r\n" in existing:
        text = text.replace("\n", "\r\n")
    return text


# --- writing a plan file ------------------------------------------------------------------


_PLAIN = re.compile(r"^[^\s\-?:,\[\]{}#&*!|>'\"%@`][^\n\r\t\"]*$")
_NUMBER_LIKE = re.compile(r"^[-+.\d:eE_]+$")
_WORDS_YAML_READS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"}


def yaml_str(text: str) -> str:
    """`text` as a YAML scalar that every YAML reader takes as that same text: plain where it
    is safe, otherwise double-quoted (a JSON string is valid YAML)."""
    plain = (
        _PLAIN.match(text) is not None
        and text == text.strip()
        and ": " not in text
        and " #" not in text
        and not text.endswith(":")
        and _NUMBER_LIKE.match(text) is None
        and text.lower() not in _WORDS_YAML_READS
        and all(c.isprintable() for c in text)
    )
    if plain:
        return text
    # YAML allows no raw control or other unprintable characters even between quotes.
    return "".join(c if c.isprintable() or c == " " else
                   (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
                   for c in json.dumps(text, ensure_ascii=False))


def plan_data(resolved: Resolved, number: str, year: int, title: str, dated: dt.date,
              last_year: int | None = None) -> dict[str, Any]:
    """The plan document as plain data, as `yamlio.read_yaml` would read its file."""
    tasks = []
    for row, lead, partners in resolved.tasks:
        task: dict[str, Any] = {"id": row.id, "title": row.title}
        for key in ("unit", "target"):
            if getattr(row, key) is not None:
                task[key] = getattr(row, key)
        if lead is not None:
            task["lead"] = lead.text
        if partners:
            task["partners"] = [ref.text for ref in partners]
        if row.window is not None:
            task["window"] = row.window
        tasks.append(task)
    years = {"year": str(year)}
    if last_year is not None and last_year != year:
        years["last_year"] = str(last_year)
    return {"number": number, **years, "title": title, "dated": dated.isoformat(),
            "tasks": tasks}


def plan_yaml(data: dict[str, Any], source: str, today: dt.date) -> str:
    """The text of a plan file: the schema line, a comment on where it came from, the data."""
    years = "-".join(data[key] for key in ("year", "last_year") if key in data)
    lines = [
        SCHEMA_LINE,
        f"# {data['number']} ({years}): {data['title']}".replace("\n", " "),
        f"# Imported by `ocop import plan` from {Path(source).name} on {today.isoformat()}: "
        "the rows of its",
        "# assignment table, cell for cell. Sections, notes and per_district are not in the "
        "table;",
        "# add them here by hand. Lead and partners are spellings from agencies.yaml.",
        "",
        f"number: {yaml_str(data['number'])}",
        f"year: {data['year']}",
        *([f"last_year: {data['last_year']}"] if "last_year" in data else []),
        f"title: {yaml_str(data['title'])}",
        f"dated: {data['dated']}",
        "",
        "tasks:",
    ]
    for task in data["tasks"]:
        if "." not in task["id"] and task is not data["tasks"][0]:
            lines.append("")
        lines.append(f"  - id: {yaml_str(task['id'])}")
        for key in ("title", "unit", "target", "lead"):
            if key in task:
                lines.append(f"    {key}: {yaml_str(task[key])}")
        if "partners" in task:
            lines.append("    partners:")
            lines += [f"      - {yaml_str(p)}" for p in task["partners"]]
        if "window" in task:
            lines.append(f"    window: {yaml_str(task['window'])}")
    return "\n".join(lines) + "\n"


# --- progress sheets ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressRow:
    row: int
    date: dt.date
    task: str
    action: str
    qty: int | None = None
    place: str | None = None
    by: str | None = None
    ref: str | None = None
    note: str | None = None


def _progress_header(key: str) -> str:
    return next(header for name, header, _spellings in PROGRESS_COLUMNS if name == key)


def read_date(value: Any) -> dt.date:
    """A date cell: a real date, or text as 2019-07-15 or 15/7/2019 (day first)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(_("{value} is a number, not a date: format the cell as a date or "
                           "write 2019-07-15").format(value=cell_text(value, "")))
    text = clean(str(value))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    if match:
        try:
            return dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        except ValueError:
            pass
    raise ValueError(_("{text!r} is not a date (expected 2019-07-15 or 15/7/2019)").format(
        text=text))


def read_quantity(value: Any) -> int:
    """A whole number of at least 0: a number cell, or digits typed as text."""
    if isinstance(value, bool):
        raise ValueError(_("{value} is not a quantity").format(value=value))
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = cell_text(value, "")
        if not re.fullmatch(r"\d+", text):
            raise ValueError(_("{text!r} is not a whole number; write the quantity in digits, "
                               "e.g. 12").format(text=text))
        number = int(text)
    if number < 0:
        raise ValueError(_("{n} is below zero").format(n=number))
    return number


def _complainer(problems: list[RowProblem], row: int) -> Callable[..., None]:
    def bad(key: str, message: str, task: str | None = None) -> None:
        problems.append(RowProblem(row, message, _progress_header(key), task))

    return bad


def read_progress(sheet: Sheet) -> tuple[list[ProgressRow], list[RowProblem], list[str]]:
    """The rows of a progress sheet, and what is wrong with each row that is not right."""
    notices: list[str] = []
    _found, body, problems = _body(sheet, PROGRESS_COLUMNS, PROGRESS_REQUIRED, notices)
    rows: list[ProgressRow] = []
    for number, cells in body:
        before = len(problems)
        task = action = ""
        date: dt.date | None = None
        values: dict[str, Any] = {}
        bad = _complainer(problems, number)
        try:
            task = cell_text(cells.get("task"), _progress_header("task")).removeprefix("'")
            action_text = cell_text(cells.get("action"), _progress_header("action"))
            for key in ("place", "by", "ref", "note"):
                text = cell_text(cells.get(key), _progress_header(key))
                values[key] = text or None
        except _CellError as error:
            problems.append(RowProblem(number, error.message, error.column))
            continue
        if not task:
            bad("task", _("no task id"))
        if _blank(cells.get("date")):
            bad("date", _("no date"), task or None)
        else:
            try:
                date = read_date(cells["date"])
            except ValueError as error:
                bad("date", str(error), task or None)
        action = ACTION_WORDS.get(fold(action_text), "")
        if not action:
            choices = "start, progress, done, reopen, cancel, note"
            message = (_("no action; one of: {choices}") if not action_text else
                       _("{text!r} is not an action; one of: {choices}")).format(
                text=action_text, choices=choices)
            if fold(action_text) == "undo":
                message = _("an undo cannot come from a sheet; use `ocop undo`")
            bad("action", message, task or None)
        if not _blank(cells.get("qty")):
            try:
                values["qty"] = read_quantity(cells["qty"])
            except ValueError as error:
                bad("qty", str(error), task or None)
        qty = values.get("qty")
        if action == "progress" and (qty is None or qty < 1) and "qty" not in [
                p.column for p in problems[before:]]:
            bad("qty", _("progress needs a quantity of at least 1"), task or None)
        if action in ("start", "reopen", "cancel", "note"):
            for key in ("qty", "place"):
                if values.get(key) is not None:
                    bad(key, _("{column} goes with progress or done, not {action}").format(
                        column=_progress_header(key), action=action), task or None)
        if action == "cancel" and not values.get("note"):
            bad("note", _("a cancel says why in the note column"), task or None)
        if action == "note" and not values.get("note"):
            bad("note", _("the note is empty"), task or None)
        if len(problems) == before and date is not None:
            rows.append(ProgressRow(number, date, task, action, qty, values["place"],
                                    values["by"], values["ref"], values["note"]))
    return rows, problems, notices


def decide_progress(loaded: Loaded, rows: Sequence[ProgressRow], who: str, as_of: dt.date
                    ) -> tuple[list[Entry], list[str], list[RowProblem]]:
    """The entries the rows record, decided one row after another exactly as the typed
    commands decide them (each row sees the rows above it); the rows that cannot be recorded.

    After a row, only the states of the tasks it recorded about and of the tasks above them
    are computed again, each from its own entries: the cost of a row does not grow with
    the rows before it or with the history."""
    from ocop_cli.core.state import replay, settle, state_as_of, subtree
    from ocop_cli.tracker import record

    plan = loaded.plan
    horizon = max([as_of, *(r.date for r in rows)])
    entries: list[Entry] = []
    messages: list[str] = []
    problems: list[RowProblem] = []
    # From the index, only the states the rows read: 50,000 tasks' would take 50 MB.
    read = {t for row in rows if row.task in plan.index for t in _around(plan, row.task)}
    states = (loaded.index.states(horizon, read) if loaded.index is not None
              else state_as_of(plan, loaded.replay(), horizon))
    own: dict[str, list[Entry]] = {}  # a task's own entries, once a row is about it

    def refresh(task_ids: Iterable[str], added: Sequence[Entry] = ()) -> None:
        """The states of these tasks and of those above them replayed from their own
        entries (so that they carry them), with `added`; nothing else is computed again."""
        touched = {up for task_id in task_ids for up in _and_above(task_id)}
        own.update(loaded.entries_of(t for t in touched if t not in own))
        for entry in added:
            own[entry.task].append(entry)
        tasks = sorted((plan.index[t] for t in touched), key=lambda t: t.id.count("."))
        states.update(replay(plan, [e for t in tasks for e in own[t.id]], horizon, tasks))
        settle(plan, states, horizon, tasks)

    for row in rows:
        stamp = record.Stamp(date=row.date, by=row.by or who, ref=row.ref, note=row.note,
                             plan=plan.year)
        if row.task in plan.index:
            refresh(t.id for t in subtree(plan, row.task) if t.id not in own)
        try:
            outcome = _decide(loaded, states, row, stamp)
        except OcopError as error:
            message = error.message + (f" ({error.hint})" if error.hint else "")
            problems.append(RowProblem(row.row, message, None, row.task))
            continue
        messages += [_("row {row}: {message}").format(row=row.row, message=m)
                     for m in outcome.messages + [_("warning: {message}").format(message=w)
                                                  for w in outcome.warnings]]
        if outcome.entries:
            entries += outcome.entries
            refresh({e.task for e in outcome.entries}, outcome.entries)
    return entries, messages, problems


def _around(plan: Plan, task_id: str) -> Iterator[str]:
    """The tasks whose states deciding a row about `task_id` reads: it and those under it,
    those above it, and their sub-rows (a parent is settled from them)."""
    from ocop_cli.core.state import subtree

    yield from (t.id for t in subtree(plan, task_id))
    for up in _and_above(task_id):
        yield up
        yield from (t.id for t in plan.children(up))


def _and_above(task_id: str) -> Iterator[str]:
    """A task id and those of the tasks above it (5.2.1, 5.2, 5)."""
    while task_id:
        yield task_id
        task_id = task_id.rpartition(".")[0]


def _decide(loaded: Loaded, states: dict[str, Any], row: ProgressRow, stamp: Any) -> Any:
    """One row, through the function its typed command uses."""
    from ocop_cli.tracker import record

    place = loaded.directory.resolve(row.place).id if row.place else None
    if row.action == "done":
        return record.done(loaded, states, row.task, stamp, row.qty, place)
    if row.action == "progress":
        return record.progress(loaded, states, row.task, row.qty or 0, stamp, place)
    if row.action == "note":
        return record.note(loaded, row.task, stamp)
    act = {"start": record.start, "reopen": record.reopen, "cancel": record.cancel}[row.action]
    return act(loaded, states, row.task, stamp)


# --- the plan back out as its table -------------------------------------------------------


def plan_table(plan: Plan) -> list[list[str]]:
    """The plan as the appendix lays it out: the header, then a row per task; a sub-row has
    `-` in TT, a deeper one its full id."""
    rows = [[header for _name, header, _spellings in PLAN_COLUMNS]]
    for task in plan.tasks:
        depth = task.id.count(".")
        tt = task.id if depth != 1 else "-"
        rows.append([
            tt, task.title, task.unit or "", task.target.text if task.target else "",
            task.lead_text or "", "; ".join(task.partners_text),
            task.window.text if task.window else "",
        ])
    return rows


def table_csv(rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    CsvWriter(buffer).writerows(rows)
    return buffer.getvalue()


def table_xlsx(rows: Sequence[Sequence[str]], sheet_title: str) -> bytes:
    """An XLSX workbook of one sheet: the header bold and frozen, every cell text (so that
    "01" stays 01 and "1-2" never becomes a date), long cells wrapped."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    # Written a row at a time (a write-only workbook): 50,000 tasks are never held as cells.
    book = Workbook(write_only=True)
    ws = book.create_sheet(re.sub(r"[\[\]:*?/\\]", "-", sheet_title)[:31] or "plan")
    widths = (5, 60, 14, 10, 24, 48, 12)
    for column, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = "A2"
    wrap, bold = Alignment(wrap_text=True, vertical="top"), Font(bold=True)
    for number, values in enumerate(rows, 1):
        cells = []
        for value in values:
            cell = WriteOnlyCell(ws, xlsx_text(value))
            cell.number_format = "@"
            cell.alignment = wrap
            if number == 1:
                cell.font = bold
            cells.append(cell)
        ws.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
