"""Tables read from sheets: what is wrong with a row, by its number in the spreadsheet; cells
read as text, dates and quantities; a table's header row found among title lines; and the
plan table (the appendix of a signed plan) read into numbered rows.

Everything under `imports/` is conversion, with no terminal and no writing: the commands read
the files, hold the lock and write. Agencies named in cells are in `agencies`, the plan file
and the plan's table written back out in `planfile`, progress sheets in `progress`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ocop_cli.core.errors import InvalidData, Problem
from ocop_cli.core.i18n import _, ngettext
from ocop_cli.core.text import clean, fold
from ocop_cli.core.windows import parse_target, parse_window
from ocop_cli.imports.sheets import Sheet  # read within limits there

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

# Columns a plan table may have besides those: the level of unit a task is shared among.
PLAN_EXTRA_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("per_unit", "Chia theo đơn vị", ("chia theo don vi", "chia theo", "moi don vi",
                                      "per unit", "per_unit")),
)

# A level of administrative unit as lists and tables write it (folded), or as ocop names it.
LEVEL_WORDS = {
    "commune": ("xa", "phuong", "thi tran", "dac khu", "cap xa", "moi xa", "commune"),
    "district": ("huyen", "quan", "thi xa", "thanh pho thuoc tinh", "cap huyen", "moi huyen",
                 "district"),
    "province": ("tinh", "thanh pho truc thuoc trung uong", "cap tinh", "province"),
}


def read_level(text: str) -> str | None:
    """The level a cell names (xã is commune, huyện district, tỉnh province); None if none."""
    key = fold(text)
    return next((level for level, words in LEVEL_WORDS.items() if key in words), None)


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
    rows: tuple[int, ...] = ()  # the rows a problem of several rows names (an unknown agency)

    def at(self) -> tuple[int, ...]:
        """Every row this problem is about."""
        return (self.row, *self.rows) if self.row is not None else self.rows

    def __str__(self) -> str:
        where = _("row {row}").format(row=self.row) if self.row is not None else ""
        if self.task:
            where += f" ({_('task {id}').format(id=self.task)})"
        if self.column:
            where += f", {self.column}" if where else self.column
        return f"{where}: {self.message}" if where else self.message


def rejected(source: str, problems: Sequence[RowProblem]) -> InvalidData:
    """Every problem of a file as one error, row by row; nothing was written."""
    ordered = sorted(problems, key=lambda p: (not p.at(), min(p.at(), default=0)))
    rows = sorted({row for p in ordered for row in p.at()})
    if rows:
        head = ngettext("{source}: {n} row at fault (row {rows}); nothing was imported",
                        "{source}: {n} rows at fault (rows {rows}); nothing was imported",
                        len(rows)).format(source=source, n=len(rows), rows=row_list(rows))
    else:
        head = _("{source}: nothing was imported").format(source=source)
    lines = [head, *(f"  {p}" for p in ordered)]
    return InvalidData(
        [Problem(source, p.message, p.row, None, p.task, p.column) for p in ordered],
        "\n".join(lines),
    )


def row_list(rows: Sequence[int], most: int = 12) -> str:
    """Row numbers (in order, each once), runs written as ranges: `2, 3, 4, 7` is `2-4, 7`;
    after `most` pieces, how many rows more."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    text = ", ".join(str(a) if a == b else f"{a}, {b}" if b == a + 1 else f"{a}-{b}"
                     for a, b in runs[:most])
    rest = sum(b - a + 1 for a, b in runs[most:])
    return text + " " + _("and {n} more").format(n=rest) if rest else text


class CellError(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


# --- cells -------------------------------------------------------------------------------


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: Any, column: str) -> str:
    """A cell as text, cleaned; a number as it reads (12.0 is 12); a date cell in a text
    column is Excel having read something like `1-2` as a date, which would lose it."""
    if value is None:
        return ""
    if isinstance(value, dt.date):
        raise CellError(column, _("the cell holds a date ({date}): the spreadsheet read what "
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
    filled = [v for v in values if not blank(v)][:2]
    for value in filled:
        if isinstance(value, str):
            key = fold(value).strip(" :.")
            if key in _TOTALS or key.startswith(("tong cong", "tong so ")):
                return True
    return False


def _is_numbering(values: list[Any]) -> bool:
    """The row of column numbers some documents put under the header: (1) (2) (3) or 1 2 3."""
    filled = [(i, v) for i, v in enumerate(values) if not blank(v)]
    if len(filled) < 3:
        return False
    for index, value in filled:
        try:
            text = fold(cell_text(value, ""))
        except CellError:
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
        if all(blank(v) for v in values):
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


def table_body(sheet: Sheet, columns: tuple[tuple[str, str, tuple[str, ...]], ...],
          required: Sequence[str], notices: list[str]
          ) -> tuple[dict[str, int], list[tuple[int, dict[str, Any]]], list[RowProblem]]:
    """The rows under the header as {column key: value}, blank, numbering and totals rows left
    out; cells beyond the last header column that hold something are problems."""
    position, found = _header(sheet, columns, required)
    header_row = sheet.rows[position][0]
    titles = [number for number, values in sheet.rows[:position]
              if not all(blank(v) for v in values)]
    if titles:
        notices.append(ngettext("{source}, row {rows}: a title line above the header, skipped",
                                "{source}, rows {rows}: title lines above the header, skipped",
                                len(titles)).format(source=sheet.source, rows=row_list(titles)))
    problems = _merged_problems(sheet, header_row)
    if problems:
        return found, [], problems  # the other faults of those rows would only echo these
    width = max(found.values()) + 1
    header_values = sheet.rows[position][1]
    width = max(width, max((i + 1 for i, v in enumerate(header_values) if not blank(v)),
                           default=0))
    body: list[tuple[int, dict[str, Any]]] = []
    first = True
    for number, values in sheet.rows[position + 1:]:
        if all(blank(v) for v in values):
            continue
        if first and _is_numbering(values):
            notices.append(_("{source}, row {row}: the columns' numbering (1) (2) …, skipped"
                             ).format(source=sheet.source, row=number))
            continue
        first = False
        if _is_totals(values):
            notices.append(_("{source}, row {row}: a totals row, skipped").format(
                source=sheet.source, row=number))
            continue
        extra = [i for i, v in enumerate(values) if i >= width and not blank(v)]
        if extra:
            problems.append(RowProblem(number, _(
                "{n} cell(s) beyond the last column of the header (a separator too many?)")
                .format(n=len(extra))))
            continue
        body.append((number, {key: values[i] if i < len(values) else None
                              for key, i in found.items()}))
    return found, body, problems


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



# --- the plan table ----------------------------------------------------------------------


def header_of(key: str, columns: tuple[tuple[str, str, tuple[str, ...]], ...] = PLAN_COLUMNS
              ) -> str:
    """The header of a column of a table (by default, of the plan table)."""
    return next(header for name, header, _spellings in columns if name == key)


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
    per_unit: str | None = None  # the level of unit it is shared among (district, commune)


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
    notices: list[str] = []
    _found, body, problems = table_body(sheet, PLAN_COLUMNS + PLAN_EXTRA_COLUMNS,
                                        [c[0] for c in PLAN_COLUMNS], notices)
    rows: list[TableRow] = []
    numbering = _Numbering()
    for number, cells in body:
        try:
            tt = cell_text(cells["tt"], "TT")
            title = cell_text(cells["title"], header_of("title"))
        except CellError as error:
            problems.append(RowProblem(number, error.message, error.column))
            continue
        numbered = numbering.number(tt, title, number, problems)
        if numbered is None:
            continue
        task_id, title = numbered
        if not title:
            problems.append(RowProblem(number, _("the content cell is empty"),
                                       header_of("title"), task_id))
        values = _plan_values(cells, number, task_id, year, last_year, problems)
        if values is not None:
            rows.append(TableRow(number, task_id, title, **values))
    parents = {r.id.rpartition(".")[0] for r in rows if "." in r.id}
    for row in rows:
        if row.id in parents:
            continue
        for key, what in (("lead", _("a task without sub-rows needs a lead agency")),
                          ("window", _("a task without sub-rows needs a window (months)"))):
            if getattr(row, key) is None and not any(
                    p.row == row.row and p.column == header_of(key) for p in problems):
                problems.append(RowProblem(row.row, what, header_of(key), row.id))
    return PlanTable(sheet.source, rows, problems, notices)


class _Numbering:
    """The task ids of a table's rows, given one row after another: a numbered row, a
    sub-row (`-`) under the numbered row above it, or a dotted number under its parent."""

    def __init__(self) -> None:
        self.first_row: dict[str, int] = {}  # task id -> the row it first appears in
        self.children: dict[str, int] = {}  # task id -> its last sub-row's number
        self.top: str | None = None  # the last numbered row

    def number(self, tt: str, title: str, row: int, problems: list[RowProblem]
               ) -> tuple[str, str] | None:
        """The row's task id and its title (a sub-row's without its `-`); None, with the
        problem added, when the row has no id of its own."""
        sub_marked = tt in _DASHES or (tt == "" and _SUB_TITLE.match(title) is not None
                                       and len(title) > 1)
        not_a_number = _("TT {tt!r} is not a task number (expected 1, 2 … or - for a sub-row)")
        if sub_marked:
            title = _SUB_TITLE.sub("", title)
            if self.top is None:
                problems.append(RowProblem(row, _(
                    "a sub-row (marked -) before any numbered row"), "TT"))
                return None
            self.children[self.top] = self.children.get(self.top, 0) + 1
            task_id = f"{self.top}.{self.children[self.top]}"
        elif (match := _TOP_TT.match(tt)) is not None:
            task_id = self.top = match.group(1)
        elif _DOTTED_TT.match(tt):
            task_id = ".".join(str(int(part)) for part in tt.split("."))
            parent = task_id.rpartition(".")[0]
            if "0" in task_id.split("."):
                problems.append(RowProblem(row, not_a_number.format(tt=tt), "TT"))
                return None
            if parent not in self.first_row:
                problems.append(RowProblem(row, _(
                    "TT {tt} comes before its parent row {parent}").format(tt=tt, parent=parent),
                    "TT"))
                return None
            self.children[parent] = max(self.children.get(parent, 0),
                                        int(task_id.rpartition(".")[2]))
        elif tt == "":
            problems.append(RowProblem(row, _(
                "no TT: a row needs a number, and a sub-row a - (in TT or before its content)"),
                "TT"))
            return None
        else:
            problems.append(RowProblem(row, not_a_number.format(tt=tt), "TT"))
            return None
        if task_id in self.first_row:
            problems.append(RowProblem(row, _("task {id} already appears in row {row}").format(
                id=task_id, row=self.first_row[task_id]), "TT", task_id))
            return None
        self.first_row[task_id] = row
        return task_id, title


def _plan_values(cells: dict[str, Any], number: int, task_id: str, year: int | None,
                 last_year: int | None, problems: list[RowProblem]
                 ) -> dict[str, str | None] | None:
    """A task row's unit, target, agencies and window, each checked; None when its target
    and unit disagree."""
    def window(text: str) -> None:
        parse_window(text, year, last_year)

    values: dict[str, str | None] = {}
    for key, check in (("unit", None), ("target", parse_target), ("lead", None),
                       ("partners", None), ("window", window)):
        column = header_of(key)
        try:
            raw = cells[key]
            if key in ("lead", "partners") and isinstance(raw, str):
                raw = re.sub(r"\s*[\r\n]+\s*", "; ", raw.strip())  # one agency per line
            text = cell_text(raw, column)
            if check is not None and not _empty(text):
                check(text)
        except CellError as error:
            problems.append(RowProblem(number, error.message, error.column, task_id))
            continue
        except ValueError as error:
            problems.append(RowProblem(number, str(error), column, task_id))
            continue
        values[key] = None if _empty(text) else text
    column = PLAN_EXTRA_COLUMNS[0][1]
    try:
        shared = cell_text(cells.get("per_unit"), column)
    except CellError as error:
        problems.append(RowProblem(number, error.message, column, task_id))
        return None
    if not _empty(shared):
        values["per_unit"] = read_level(shared)
        if values["per_unit"] not in ("district", "commune"):
            problems.append(RowProblem(number, _("{text!r}: a task is shared per xã or per "
                                                 "huyện (commune, district)").format(
                text=shared), column, task_id))
            return None
    if values.get("target") and values.get("unit"):
        clash = parse_target(str(values["target"])).unit_problem(str(values["unit"]))
        if clash:
            problems.append(RowProblem(number, clash, header_of("target"), task_id))
            return None
    return values
