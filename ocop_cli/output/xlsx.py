"""The report as an Excel workbook (openpyxl): one sheet per table, each ready to print, with
the document's header lines above and the signature block under the first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange
from openpyxl.worksheet.worksheet import Worksheet

from ocop_cli.core.i18n import _, language
from ocop_cli.core.report import Report
from ocop_cli.core.text import visible, xlsx_text
from ocop_cli.output import render
from ocop_cli.output.cells import DATE_KEYS, PERCENT, fit, lines_in, shown, text_widths
from ocop_cli.output.office import Letter
from ocop_cli.output.report_tables import heading
from ocop_cli.output.sections import Section, office_total


def sheet_names() -> dict[str, str]:
    return {"agencies": _("Agencies"), "matrix": _("By month"), "overdue": _("Overdue"),
            "tasks": _("Tasks"), "duties": _("Duties"), "due": _("Due"),
            "achieved": _("Achieved"), "late": _("Late"), "places": _("By district unit"),
            "products": _("Products"), "product_funnel": _("Products by district"),
            "product_kinds": _("Stars by kind"), "product_groups": _("Stars by group"),
            "product_expiring": _("Running out"), "product_years": _("Certificates by year")}

_NOT_IN_SHEET_NAMES = str.maketrans({c: " " for c in "[]:*?/\\"})


def write_xlsx(path: Path, doc: Report, parts: Sequence[Section], letter: Letter) -> None:
    """One sheet per section, each ready to print: the document's header lines and the title
    rows, then the table with borders, wrapped text in widths that fit one A4 landscape page
    wide, the header row repeated on every printed page and frozen on screen, a totals row
    by the plan's counting rules; numbers as numbers, percentages as percentages, dates as
    date cells."""
    # Written a row at a time (openpyxl's write-only workbook): a sheet of 50,000 tasks is
    # never held as cells.
    book = Workbook(write_only=True)
    bold = Font(name=DOC_FONT, size=11, bold=True)
    header_fill = PatternFill("solid", fgColor="DDDDDD")
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    line = Side(style="thin", color="000000")
    box = Border(left=line, right=line, top=line, bottom=line)
    facts = heading(doc)
    used: set[str] = set()
    names = sheet_names()
    for section in parts:
        sheet = _InOrder(book.create_sheet(_sheet_name(names.get(section.key, section.key),
                                                       used)))
        widths = _xlsx_widths(section)
        grid = Grid(widths)
        for j, width in enumerate(grid.widths, 1):
            sheet.column_dimensions[get_column_letter(j)].width = width
        top = _xlsx_letterhead(sheet, letter, section.title, facts, grid.widths,
                               doc.as_of.isoformat())
        for j, column in enumerate(section.columns):
            grid.cell(sheet, top, j, _text(column.header), font=bold, fill=header_fill,
                      alignment=centre, border=box)
        _xlsx_height(sheet, top, [c.header for c in section.columns], widths)
        sheet.freeze_panes = f"A{top + 1}"
        _xlsx_page(sheet, top)  # all before the first row is written
        _xlsx_rows(sheet, section, top, grid, box, bold)
        if section is parts[0]:  # the report's own table, the page that is signed
            _xlsx_closing(sheet, letter, sheet.max_row + 2, grid.widths)
        sheet.write()
    if not parts:
        book.create_sheet(_("Report"))
    book.save(path)


class Grid:
    """The sheet's columns for a table's: the same, except that a table column so wide that
    no edge between columns lies between three and five tenths of the width (the wide
    text of three columns) is cut in two at two fifths, its cells merged across both: the
    letterhead's two blocks, the recipients and the signer then stand beside each other as
    on the first sheet."""

    def __init__(self, widths: list[float]) -> None:
        self.widths, self.starts, self.cut = list(widths), list(range(1, len(widths) + 1)), -1
        total, edge = sum(widths), 0.0
        for j, width in enumerate(widths):
            if edge < total * 0.3 and edge + width > total * 0.5:
                left = round(total * 0.4 - edge, 1)
                self.widths[j:j + 1] = [left, width - left]
                self.starts = [k + 1 + (k > j) for k in range(len(widths))]
                self.cut = j
                break
            edge += width

    def cell(self, sheet: Any, row: int, j: int, value: Any = None, **style: Any) -> Any:
        """The cell of table column `j` (from 0) in `row`, with its `style` (border, font...);
        a cut column's two cells merged, both in that style."""
        cell = sheet.cell(row, self.starts[j], value)
        for name, setting in style.items():
            setattr(cell, name, setting)
        if j == self.cut:
            other = sheet.cell(row, self.starts[j] + 1)
            for name, setting in style.items():
                setattr(other, name, setting)
            sheet.merge_cells(start_row=row, start_column=self.starts[j], end_row=row,
                              end_column=self.starts[j] + 1)
        return cell


def _xlsx_rows(sheet: _InOrder, section: Section, top: int, grid: Grid, box: Any,
               bold: Any) -> None:
    """The table's rows under its header row `top`, and the totals row, a row at a time."""
    font = Font(name=DOC_FONT, size=11)
    late_fill = PatternFill("solid", fgColor="F4C7C3")
    wrap = Alignment(wrap_text=True, vertical="top")
    total = office_total(section)
    widths = [sum(grid.widths[a - 1:b - 1]) for a, b in
              zip(grid.starts, [*grid.starts[1:], len(grid.widths) + 1], strict=True)]
    for i, row in enumerate(chain(section.rows, [total] if total else []), top + 1):
        # Set by hand: spreadsheets do not grow a row for wrapped text written by a program.
        _xlsx_height(sheet, i, [shown(row.get(c.key), c.key) for c in section.columns],
                     widths)
        late = section.marks.get(i - top - 1, set())
        for j, column in enumerate(section.columns):
            value = row.get(column.key)
            cell = grid.cell(sheet, i, j, border=box, alignment=wrap)
            if column.key in DATE_KEYS and isinstance(value, str):
                _put_date(cell, value)
            else:
                _put(cell, value, column.key == PERCENT)
            cell.font = bold if row is total or row.get("_parent") or \
                row.get("_style") == "total" else font
            if column.key in late:
                cell.fill = late_fill
        sheet.write()


DOC_FONT = "Times New Roman"
PAGE_WIDTH = 150  # characters of column width that print legibly on one A4 landscape page
LETTERHEAD_WIDTH = 110  # the least that holds the issuing body and the motto side by side


def _xlsx_widths(section: Section) -> list[float]:
    """Each column as wide as its text, narrowed to fit one A4 landscape page wide; a narrow
    table widened in proportion to hold the letterhead's two blocks side by side."""
    widths, floor = text_widths(section)
    fitted = fit([max(w, 4) + 2 for w in widths], [max(f + 2, 6) for f in floor], PAGE_WIDTH)
    wider = max(1.0, LETTERHEAD_WIDTH / sum(fitted))
    return [round(w * wider, 1) for w in fitted]


def _xlsx_letterhead(sheet: Any, letter: Letter, title: str, facts: list[tuple[str, str]],
                     widths: list[float], as_of: str) -> int:
    """The header lines of the document above a table: issuing body and number left, motto
    and date right, the kind and subject, the section's title and the title rows. Returns
    the row of the table's header."""
    last, split, right = _halves(widths)
    put = _merged_line(sheet)
    put(1, 1, split, letter.parent)
    put(1, right, last, letter.motto[0], bold=True)
    put(2, 1, split, letter.issuer, bold=True)
    put(2, right, last, letter.motto[1], bold=True, underline="single")
    put(3, 1, split, letter.number)
    put(3, right, last, letter.date_line, italic=True)
    put(5, 1, last, letter.kind, bold=True, size=14)
    put(6, 1, last, letter.subject, bold=True, size=13)
    put(7, 1, last, title, bold=True)
    # Spreadsheets do not grow a row for wrapped text written by a program: a long issuer's
    # name over a narrow table's columns would run into the number under it.
    left, whole = sum(widths[:split]), sum(widths)
    for row, texts, size in ((1, [(letter.parent, left), (letter.motto[0], whole - left)], 12),
                             (2, [(letter.issuer, left), (letter.motto[1], whole - left)], 12),
                             (3, [(letter.number, left), (letter.date_line, whole - left)], 12),
                             (6, [(letter.subject, whole)], 13), (7, [(title, whole)], 12)):
        # a width counts characters of 11 pt; these are larger, and bold
        lines = max(lines_in(text, width * 11 / (size * 1.3)) for text, width in texts)
        sheet.row_dimensions[row].height = round(lines * size * 1.4)
    label_end = 2 if last > 2 else 1  # the label over two columns: the first is narrow
    for i, (label, fact) in enumerate(facts, 8):
        name = sheet.cell(i, 1, _text(label))
        name.font = Font(name=DOC_FONT, size=11, bold=True)
        name.alignment = Alignment(vertical="top")
        if label_end > 1:
            sheet.merge_cells(start_row=i, start_column=1, end_row=i, end_column=label_end)
        value = sheet.cell(i, label_end + 1)
        if label == _("As of"):
            _put_date(value, as_of)
        else:
            value.value = _text(fact)
        value.font = Font(name=DOC_FONT, size=11)
        value.alignment = Alignment(horizontal="left", wrap_text=True, vertical="top")
        if last > label_end + 1:
            sheet.merge_cells(start_row=i, start_column=label_end + 1, end_row=i,
                              end_column=last)
        sheet.row_dimensions[i].height = 15 * lines_in(
            visible(fact), sum(widths[label_end:]) or widths[-1])
    return 8 + len(facts) + 1


def _halves(widths: list[float]) -> tuple[int, int, int]:
    """The last column, the last of the left block (about two fifths of the width: issuer,
    recipients) and the first of the right block (motto, signer)."""
    last = len(widths)
    split = next((j for j in range(1, last) if sum(widths[:j]) >= sum(widths) * 0.4), 1)
    return last, split, min(split + 1, last)


def _merged_line(sheet: Any) -> Callable[..., None]:
    """A writer of one line of the letterhead or the signature block: a text over merged
    columns, Times New Roman, centred unless `align` says otherwise."""
    def put(row: int, first: int, end: int, text: str, align: str = "center",
            **style: Any) -> None:
        cell = sheet.cell(row, first, _text(text))
        cell.font = Font(name=DOC_FONT, size=style.pop("size", 12), **style)
        cell.alignment = Alignment(horizontal=align, vertical="center", wrap_text=True)
        if end > first:
            sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=end)

    return put


def _xlsx_closing(sheet: Any, letter: Letter, top: int, widths: list[float]) -> None:
    """Under the table from row `top`: "Nơi nhận:" and the recipients left, the signer's
    authority and title right, four rows to sign and seal, the name."""
    last, split, right = _halves(widths)
    put = _merged_line(sheet)
    put(top, 1, split, letter.recipients_title, align="left", bold=True, italic=True)
    for i, recipient in enumerate(letter.recipients, top + 1):
        put(i, 1, split, f"- {recipient}", align="left", size=11)
        sheet.row_dimensions[i].height = 15 * lines_in(f"- {recipient}", sum(widths[:split]))
    signer = [letter.authority] if letter.authority else []
    signer += [letter.title, "", "", "", "", letter.signer]
    for i, text in enumerate(signer, top):
        if text:
            put(i, right, last, text, bold=True, size=13)


class _InOrder:
    """A write-only sheet given cells by row and column, as a sheet in memory is (`cell`,
    `merge_cells`), and writing them out a row at a time, in order, on `write`: each row is
    let go once written, with its height."""

    def __init__(self, sheet: Any) -> None:
        self.sheet = sheet
        self.rows: dict[int, dict[int, Any]] = {}
        self.max_row = 0  # the last row given a cell
        self.written = 0

    def __getattr__(self, name: str) -> Any:  # widths, page setup, print titles
        return getattr(self.sheet, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("sheet", "rows", "max_row", "written"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.sheet, name, value)

    def cell(self, row: int, column: int, value: Any = None) -> Any:
        cells = self.rows.setdefault(row, {})
        if column not in cells:
            cells[column] = WriteOnlyCell(self.sheet)
        if value is not None:
            cells[column].value = value
        self.max_row = max(self.max_row, row)
        return cells[column]

    def merge_cells(self, start_row: int, start_column: int, end_row: int,
                    end_column: int) -> None:
        self.sheet.merged_cells.add(CellRange(min_col=start_column, min_row=start_row,
                                              max_col=end_column, max_row=end_row))

    def write(self) -> None:
        """Every row given so far, and the rows between them, written."""
        heights = self.sheet.row_dimensions
        for row in range(self.written + 1, self.max_row + 1):
            cells = self.rows.pop(row, {})
            self.sheet.append([cells.get(j) for j in range(1, max(cells, default=0) + 1)])
            heights.pop(row, None)
        self.written = self.max_row


def _xlsx_height(sheet: Any, row: int, texts: list[str], widths: list[float]) -> None:
    lines = max((lines_in(t, w) for t, w in zip(texts, widths, strict=True)), default=1)
    sheet.row_dimensions[row].height = 15 * lines


def _put_date(cell: Any, iso: str) -> None:
    """An ISO date as a date cell, shown dd/mm/yyyy in Vietnamese and yyyy-mm-dd in English."""
    try:
        cell.value = dt.date.fromisoformat(iso)
    except ValueError:
        _put(cell, iso, False)
        return
    cell.number_format = "dd/mm/yyyy" if language() == "vi" else "yyyy-mm-dd"


def _xlsx_page(sheet: Any, top: int) -> None:
    """A4 landscape, one page wide (as many tall as it takes), the header row on each page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{top}:{top}"
    sheet.print_options.horizontalCentered = True
    margins = sheet.page_margins
    margins.left, margins.right, margins.top, margins.bottom = 0.6, 0.4, 0.6, 0.6


def _sheet_name(title: str, used: set[str]) -> str:
    base = title.translate(_NOT_IN_SHEET_NAMES).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.casefold() in used:
        name = f"{base[:28]} {n}"
        n += 1
    used.add(name.casefold())
    return name


def _text(value: str) -> Any:
    return xlsx_text(visible(value))


def _put(cell: Any, value: Any, percent: bool) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        cell.value = value
    elif isinstance(value, (int, float)):
        cell.value = value / 100 if percent else value
        cell.number_format = "0.0%" if percent else ("0" if isinstance(value, int) else "0.0")
    else:
        cell.value = _text(render.cell(value))
