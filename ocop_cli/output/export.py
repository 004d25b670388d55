"""A report in each output format, to the terminal or into a file: the table, Markdown, CSV
and JSON through `render`, an Excel workbook (openpyxl) and one self-contained HTML page with
the timeline as SVG.

Files are written whole into a temporary file beside the destination, then renamed over it,
so a reader never sees half a report; an existing file is replaced only with `--force`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Any, TextIO

from ocop_cli.core.errors import Refused, UsageError
from ocop_cli.core.i18n import _, format_number, language
from ocop_cli.core.text import visible
from ocop_cli.core.windows import readable
from ocop_cli.output import render
from ocop_cli.output.office import Letter
from ocop_cli.tracker.report import (
    Section,
    heading,
    marked_rows,
    office_total,
    sections,
    shown_day,
    status_label,
)

FORMATS = ("table", "json", "csv", "md", "xlsx", "html", "docx")
SUFFIXES = {".txt": "table", ".json": "json", ".csv": "csv", ".md": "md", ".xlsx": "xlsx",
            ".html": "html", ".htm": "html", ".docx": "docx"}
DATE_KEYS = {"last"}  # columns holding an ISO date
NARROW_BELOW = 140  # terminal columns under which the office table is folded
PERCENT = "percent"  # a column with this key holds a percentage (41.7 means 41.7 %)


def choose_format(fmt: str | None, output: str | None) -> str:
    """The format asked for, else the one the output file's name says, else the table."""
    if fmt:
        return fmt
    if output:
        return SUFFIXES.get(Path(output).suffix.lower(), "table")
    return "table"


def deliver(doc: dict[str, Any], fmt: str, output: str | None, force: bool, no_color: bool,
            timeline: Callable[[], dict[str, Any]], letter: Callable[[], Letter]) -> None:
    """Write the report `doc` as `fmt` to stdout, or into `output` (never over a file unless
    `force`; `-` is stdout). `timeline` is asked for only by the HTML page, `letter` (the
    header and signature blocks) only by the documents: DOCX, XLSX and HTML."""
    if output == "-":
        output = None
    if fmt in ("xlsx", "docx"):
        if not output:
            raise UsageError(_("--format {fmt} writes a file: add --output FILE.{fmt}").format(
                fmt=fmt))
        if fmt == "docx":
            from ocop_cli.output.document import write_docx
            from ocop_cli.tracker.report import document_sections

            save(Path(output), force,
                 lambda path: write_docx(path, letter(), document_sections(doc)))
        else:
            save(Path(output), force,
                 lambda path: write_xlsx(path, doc, sections(doc), letter()))
        return
    if fmt == "html":
        parts = page(doc, sections(doc), timeline(), letter())  # made as they are written
        if output is None:
            render.write_parts(render.stdout(), parts)
        else:
            save(Path(output), force, lambda temp: _write_parts_to(temp, parts))
        return
    if output is None:
        write_text(doc, fmt, render.stdout(), no_color)
        return
    buffer = io.StringIO()
    write_text(doc, fmt, buffer, no_color=True)
    save_text(Path(output), force, fmt, buffer.getvalue())


def _write_parts_to(path: Path, parts: Iterable[str]) -> None:
    with path.open("w", encoding="utf-8") as stream:
        render.write_parts(stream, parts)


def save_text(path: Path, force: bool, fmt: str, text: str) -> None:
    """`save` for an output drawn as text. A CSV file starts with a byte-order mark, which
    tells Excel it is UTF-8 (else it reads Vietnamese as mojibake); standard output stays
    plain UTF-8 for other programs."""
    encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
    save(path, force, lambda temp: temp.write_text(text, encoding=encoding))


def shown(value: Any, key: str = "") -> str:
    """A cell as a person reads it: numbers and dates as the language writes them (41,7 and
    15/09/2019 in Vietnamese)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value)
    if key == "target" and isinstance(value, str):  # a range or a qualified target
        return readable(value)
    if key in DATE_KEYS and isinstance(value, str):
        with contextlib.suppress(ValueError):
            return shown_day(value)
    return render.cell(value)


def _for_people(rows: Iterable[dict[str, Any]], columns: Sequence[render.Column]
                ) -> Iterator[dict[str, Any]]:
    """Each row with its cells as people read them, as the rows are read."""
    keys = {c.key for c in columns}
    return ({k: shown(v, k) if k in keys and v is not None else v for k, v in row.items()}
            for row in rows)


def write_text(doc: dict[str, Any], fmt: str, stream: TextIO, no_color: bool) -> None:
    """Table, Markdown, CSV or JSON: the sections one after another under the title rows."""
    if fmt == "json":
        render.write_json(doc, stream)
        return
    facts = heading(doc)
    if fmt == "md":
        stream.write(f"# {_md(_('Report'))}\n\n")
        stream.writelines(f"- **{_md(label)}:** {_md(value)}\n" for label, value in facts)
        for section in sections(doc):
            stream.write(f"\n## {_md(section.title)}\n\n")
            rows = marked_rows(section)
            if rows:  # a line at a time as the rows are made
                render.write_parts(stream, render.markdown_lines(
                    section.columns, _for_people(rows, section.columns)))
            else:
                stream.write(f"_{_md(_('none'))}_\n")
        return
    if fmt == "csv":
        lines = render.CsvWriter(stream)
        lines.writerows([visible(label), visible(value)] for label, value in heading(doc, True))
        for section in sections(doc):
            stream.write("\n")
            lines.writerow([visible(section.title)])
            render.write_csv(section.columns, marked_rows(section), stream)
        return
    from rich.text import Text

    con = render.console(stream, no_color=no_color)
    narrow = con.width < NARROW_BELOW
    for label, value in facts:
        con.print(Text(visible(f"{label}: {value}")))
    for section in sections(doc, narrow=narrow):
        con.print()
        if not section.rows:
            con.print(Text(visible(f"{section.title}: {_('none')}")))
            continue
        rows = list(marked_rows(section))
        if section.grid:  # a zero is noise in a grid of counts
            rows = [{**{k: "·" if v == 0 else v for k, v in row.items()},
                     "_cells": dict.fromkeys(section.marks.get(i, ()), "overdue")}
                    for i, row in enumerate(rows)]
        rows = list(_for_people(rows, section.columns))
        render.table(section.columns, rows, title=section.title, no_color=no_color,
                     compact=section.grid, file=stream)


def _md(text: str) -> str:
    return render.md_text(visible(text)).replace("*", "\\*").replace("_", "\\_")


# --- files -----------------------------------------------------------------------------------


def save(path: Path, force: bool, write: Callable[[Path], Any]) -> None:
    """Have `write` fill a temporary file in the destination's folder, then put it in place:
    over an existing file only with `force`."""
    if path.is_dir():
        raise Refused(_("{path} is a folder; give a file name").format(path=path))
    if path.exists() and not force:
        raise Refused(_("{path} already exists; add --force to replace it").format(path=path))
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise Refused(_("cannot write in {folder}: {error}").format(
            folder=folder, error=exc.strerror or exc)) from None
    os.close(fd)
    temp = Path(name)
    try:
        os.chmod(temp, 0o666 & ~_umask())  # as an ordinary new file, not the temp file's 0600
        write(temp)
        with open(temp, "rb+") as done:
            os.fsync(done.fileno())
        if force:
            os.replace(temp, path)
        else:
            _place_new(temp, path)
    except write_errors() as exc:
        raise Refused(_("cannot write {path}: {error}").format(
            path=path, error=write_failure(exc))) from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def write_errors() -> tuple[type[Exception], ...]:
    """What writing a document raises on a full disk: OSError, or lxml's own error when
    openpyxl or python-docx write through lxml."""
    try:
        from lxml.etree import SerialisationError  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - lxml comes with python-docx
        return (OSError,)
    return (OSError, SerialisationError)


def write_failure(exc: Exception) -> str:
    """The system's words for a failed write, also when lxml reports it (`IO_ENOSPC`)."""
    import errno

    text = getattr(exc, "strerror", None) or str(exc)
    code = getattr(errno, text.removeprefix("IO_"), None) if text.startswith("IO_E") else None
    return os.strerror(code) if isinstance(code, int) else text


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _place_new(temp: Path, path: Path) -> None:
    """Rename without replacing: a file that appeared since the check is kept."""
    try:
        os.link(temp, path)  # fails when `path` exists, unlike a rename
    except FileExistsError:
        raise Refused(_("{path} already exists; add --force to replace it").format(
            path=path)) from None
    except OSError:  # a file system without hard links
        if path.exists():
            raise Refused(_("{path} already exists; add --force to replace it").format(
                path=path)) from None
        os.replace(temp, path)


# --- Excel -----------------------------------------------------------------------------------


def sheet_names() -> dict[str, str]:
    return {"agencies": _("Agencies"), "matrix": _("By month"), "overdue": _("Overdue"),
            "tasks": _("Tasks"), "duties": _("Duties"), "due": _("Due"),
            "achieved": _("Achieved"), "late": _("Late"), "places": _("By district unit"),
            "products": _("Products"), "product_funnel": _("Products by district"),
            "product_kinds": _("Stars by kind"), "product_groups": _("Stars by group"),
            "product_expiring": _("Running out")}

_NOT_IN_SHEET_NAMES = str.maketrans({c: " " for c in "[]:*?/\\"})


def write_xlsx(path: Path, doc: dict[str, Any], parts: Sequence[Section],
               letter: Letter) -> None:
    """One sheet per section, each ready to print: the document's header lines and the title
    rows, then the table with borders, wrapped text in widths that fit one A4 landscape page
    wide, the header row repeated on every printed page and frozen on screen, a totals row
    by the plan's counting rules; numbers as numbers, percentages as percentages, dates as
    date cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    # Written a row at a time (openpyxl's write-only workbook): a sheet of 50,000 tasks is
    # never held as cells.
    book = Workbook(write_only=True)
    font = Font(name=DOC_FONT, size=11)
    bold = Font(name=DOC_FONT, size=11, bold=True)
    header_fill = PatternFill("solid", fgColor="DDDDDD")
    late_fill = PatternFill("solid", fgColor="F4C7C3")
    wrap = Alignment(wrap_text=True, vertical="top")
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
        for j, width in enumerate(widths, 1):
            sheet.column_dimensions[get_column_letter(j)].width = width
        top = _xlsx_letterhead(sheet, letter, section.title, facts, widths, doc["as_of"])
        for j, column in enumerate(section.columns, 1):
            head = sheet.cell(top, j, _text(column.header))
            head.font, head.fill, head.alignment, head.border = bold, header_fill, centre, box
        _xlsx_height(sheet, top, [c.header for c in section.columns], widths)
        sheet.freeze_panes = f"A{top + 1}"
        _xlsx_page(sheet, top)  # all before the first row is written
        total = office_total(section)
        for i, row in enumerate(chain(section.rows, [total] if total else []), top + 1):
            # Set by hand: spreadsheets do not grow a row for wrapped text written by a program.
            _xlsx_height(sheet, i, [shown(row.get(c.key), c.key) for c in section.columns],
                         widths)
            late = section.marks.get(i - top - 1, set())
            for j, column in enumerate(section.columns, 1):
                value = row.get(column.key)
                cell = sheet.cell(i, j)
                if column.key in DATE_KEYS and isinstance(value, str):
                    _put_date(cell, value)
                else:
                    _put(cell, value, column.key == PERCENT)
                cell.alignment, cell.border = wrap, box
                cell.font = bold if row is total or row.get("_parent") or \
                    row.get("_style") == "total" else font
                if column.key in late:
                    cell.fill = late_fill
            sheet.write()
        if section is parts[0]:  # the report's own table, the page that is signed
            _xlsx_closing(sheet, letter, sheet.max_row + 2, widths)
        sheet.write()
    if not parts:
        book.create_sheet(_("Report"))
    book.save(path)


DOC_FONT = "Times New Roman"
PAGE_WIDTH = 150  # characters of column width that print legibly on one A4 landscape page


def text_widths(section: Section) -> tuple[list[int], list[int]]:
    """Each column's longest line (at most 60 characters) and its longest word, header's or
    cell's (at most 12), the narrowest it may get: "1.2" or "Phần" is never split."""
    floor = [max((len(w) for w in c.header.split()), default=2) for c in section.columns]
    widths = list(floor)
    for row in section.rows:
        for j, column in enumerate(section.columns):
            shown_text = shown(row.get(column.key), column.key)
            widths[j] = max(widths[j], *(len(x) for x in shown_text.split("\n")))
            floor[j] = max(floor[j], min(12, max(map(len, shown_text.split()), default=0)))
    return [min(w, 60) for w in widths], floor


def fit(widths: list[int], floor: list[int], total: int) -> list[int]:
    """Widths that add up to at most `total`: what each column has above its `floor`
    narrowed in the same proportion, so a long text stays the widest."""
    floor = [min(f, w) for f, w in zip(floor, widths, strict=True)]
    room = sum(widths) - sum(floor)
    if sum(widths) <= total or room <= 0:
        return list(widths)
    keep = max(0.0, (total - sum(floor)) / room)
    return [f + int((w - f) * keep) for w, f in zip(widths, floor, strict=True)]


def lines_in(text: str, width: float) -> int:
    """How many lines a text wraps to in a column `width` characters wide."""
    room = max(int(width) - 1, 1)
    return sum(max(1, -(-len(line) // room)) for line in text.split("\n"))


def _xlsx_widths(section: Section) -> list[float]:
    """Each column as wide as its text, narrowed to fit one A4 landscape page wide."""
    widths, floor = text_widths(section)
    fitted = fit([max(w, 4) + 2 for w in widths], [max(f + 2, 6) for f in floor], PAGE_WIDTH)
    return [float(w) for w in fitted]


def _xlsx_letterhead(sheet: Any, letter: Letter, title: str, facts: list[tuple[str, str]],
                     widths: list[float], as_of: str) -> int:
    """The header lines of the document above a table: issuing body and number left, motto
    and date right, the kind and subject, the section's title and the title rows. Returns
    the row of the table's header."""
    from openpyxl.styles import Alignment, Font

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
    from openpyxl.styles import Alignment, Font

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
        from openpyxl.cell import WriteOnlyCell

        cells = self.rows.setdefault(row, {})
        if column not in cells:
            cells[column] = WriteOnlyCell(self.sheet)
        if value is not None:
            cells[column].value = value
        self.max_row = max(self.max_row, row)
        return cells[column]

    def merge_cells(self, start_row: int, start_column: int, end_row: int,
                    end_column: int) -> None:
        from openpyxl.worksheet.cell_range import CellRange

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
    from openpyxl.worksheet.worksheet import Worksheet

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
    return render.xlsx_text(visible(value))


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


# --- HTML ------------------------------------------------------------------------------------


STYLE = """
@page { size: A4 landscape; margin: 15mm 15mm 15mm 20mm; }
body { font-family: "Times New Roman", "Liberation Serif", "Noto Serif", serif;
       font-size: 12pt; color: #111; margin: 1.5em; line-height: 1.3; }
table.letterhead, table.closing { width: 100%; border: none; margin: 0 0 1em; }
table.letterhead td, table.closing td { border: none; text-align: center; vertical-align: top;
                                        padding: 0; }
table.letterhead td:first-child { width: 40%; }
table.letterhead { font-size: 12pt; }
h1 + hr.short { margin: 6px auto 10px; }
table.closing { margin-top: 1.5em; break-inside: avoid; }
table.closing td.recipients { text-align: left; width: 45%; font-size: 11pt; }
table.closing td.recipients p { margin: 0; font-size: 12pt; }
div.sign { height: 5em; }
hr.short, hr.motto { border: none; border-top: 1px solid #000; margin: 2px auto 8px; }
hr.short { width: 7em; }
hr.motto { width: 15em; }
h1 { font-size: 14pt; text-align: center; margin: .8em 0 .2em; }
p.body { text-align: justify; text-indent: 1cm; margin: 0 0 6pt; font-size: 13pt; }
h2 { font-size: 13pt; margin: 1.2em 0 .4em; page-break-after: avoid; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; margin: 0; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; }
table.data th, table.data td { border: 1px solid #444; padding: 2px 5px; vertical-align: top;
                               text-align: left; }
table.data th { background: #e6e6e6; text-align: center; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
table.data td.num { text-align: right; white-space: nowrap; }
tr.total td, tr.parent td { font-weight: bold; }
td.flag { background: #f4c7c3; font-weight: bold; }
tr.overdue td { color: #a00000; }
tr.due td { background: #fff5d1; }
tr.done td, tr.cancelled td { color: #666; }
tr.cancelled td { text-decoration: line-through; }
p.none { font-style: italic; }
svg.timeline, svg.legend { display: block; width: 100%; max-width: 1100px; height: auto;
                           font-family: inherit; break-inside: avoid; }
@media print { body { margin: 0; font-size: 11pt; } table.data { font-size: 10pt; } }
"""

BAR_COLOURS = {"done": "#4c9a4c", "cancelled": "#bbbbbb", "overdue": "#c62828",
               "due": "#e0a800", "upcoming": "#6a8fc7", "open": "#999999"}


def page(doc: dict[str, Any], parts: Sequence[Section], timeline: dict[str, Any],
         letter: Letter) -> Iterator[str]:
    """The report as one HTML page that needs nothing else: no script, font or image from
    anywhere, print-ready on A4 landscape, with the document's header block above and the
    recipients and signer below. Every text from the data is escaped. Made in parts as they
    are written: a page of 50,000 tasks is never one string."""
    e = _h
    out = [f'<!DOCTYPE html>\n<html lang="{language()}">\n<head>\n<meta charset="utf-8">\n',
           '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
           f"<title>{e(letter.kind.capitalize())} {e(doc['plan']['number'])} – "
           f"{e(shown_day(doc['as_of']))}</title>\n",
           f"<style>{STYLE}</style>\n</head>\n<body>\n",
           '<table class="letterhead"><tr><td>',
           f"<div>{e(letter.parent)}</div><div><b>{e(letter.issuer)}</b></div>"
           '<hr class="short">',
           f"<div>{e(letter.number)}</div></td><td>",
           f"<div><b>{e(letter.motto[0])}</b></div><div><b>{e(letter.motto[1])}</b></div>"
           '<hr class="motto">',
           f"<div><i>{e(letter.date_line)}</i></div></td></tr></table>\n",
           f"<h1>{e(letter.kind)}<br>{e(letter.subject)}</h1>\n<hr class=\"short\">\n"]
    out += [f'<p class="body">{e(sentence)}</p>\n' for sentence in letter.sentences]
    out.append('<dl class="facts">\n')
    out += [f"<dt>{e(label)}</dt><dd>{e(value)}</dd>\n" for label, value in heading(doc)]
    out.append("</dl>\n")
    yield from out
    out = []
    if timeline["rows"]:  # a report on the product register has no tasks to draw
        yield f"<h2>{e(_('Timeline'))}</h2>\n"
        yield from timeline_svg(timeline)
    for section in parts:
        yield f"<h2>{e(section.title)}</h2>\n"
        if section.rows:
            yield from _html_table(section)
        else:
            yield f'<p class="none">{e(_("none"))}</p>\n'
    out.append('<table class="closing"><tr><td class="recipients">'
               f"<p><b><i>{e(letter.recipients_title)}</i></b></p>")
    out += [f"<div>- {e(r)}</div>" for r in letter.recipients]
    out.append('</td><td class="signer">')
    if letter.authority:
        out.append(f"<div><b>{e(letter.authority)}</b></div>")
    out.append(f'<div><b>{e(letter.title)}</b></div><div class="sign"></div>'
               f"<div><b>{e(letter.signer)}</b></div></td></tr></table>\n")
    out.append("</body>\n</html>\n")
    yield from out


def _h(value: Any) -> str:
    return html.escape(visible(render.cell(value)), quote=True).replace("\n", "<br>")


def _html_table(section: Section) -> Iterator[str]:
    """The table in parts: its head, then each row as it is made."""
    yield "".join(['<table class="data">\n<thead><tr>',
                   *(f"<th>{_h(c.header)}</th>" for c in section.columns),
                   "</tr></thead>\n<tbody>\n"])
    total = office_total(section)
    rows = chain(marked_rows(section), [total] if total else [])  # made as they are read
    for i, row in enumerate(_for_people(rows, section.columns)):
        style = " ".join(x for x in (row.get("_style"), row.get("_parent") and "parent") if x)
        out = [f'<tr class="{_h(style)}">' if style else "<tr>"]
        flagged = section.marks.get(i, set())
        for column in section.columns:
            classes = " ".join(x for x in ("num" if column.numeric else "",
                                           "flag" if column.key in flagged else "") if x)
            attr = f' class="{classes}"' if classes else ""
            out.append(f"<td{attr}>{_h(row.get(column.key))}</td>")
        out.append("</tr>\n")
        yield "".join(out)
    yield "</tbody>\n</table>\n"


def timeline_svg(data: dict[str, Any], per_chart: int = 20) -> Iterator[str]:
    """A Gantt chart: one row per task, the plan year's months as columns, each window a bar
    coloured by status and timing, a line at the as-of date. Drawn as charts of `per_chart`
    rows, each with its months, so that a printed page breaks between two of them; made a
    chart at a time."""
    rows = data["rows"]
    for i in range(0, len(rows), per_chart):
        yield _chart(data, rows[i:i + per_chart])
    yield _legend(data)


LABEL_W, MONTH_W, ROW_H, TOP = 360, 52, 18, 34


def _chart(data: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    months = data["months"]
    width = LABEL_W + MONTH_W * len(months) + 10
    height = TOP + ROW_H * len(rows) + 8
    out = [f'<svg class="timeline" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{_h(_("Timeline"))}">\n']
    for i, label in enumerate(data["labels"]):
        x = LABEL_W + i * MONTH_W
        out.append(f'<rect x="{x}" y="{TOP - 4}" width="{MONTH_W}" '
                   f'height="{ROW_H * len(rows) + 8}" fill="{"#f4f4f4" if i % 2 else "#fff"}"/>'
                   f'<text x="{x + MONTH_W // 2}" y="{TOP - 10}" text-anchor="middle" '
                   f'font-size="{12 if len(label) < 5 else 10}">{label}</text>\n')
    for i, row in enumerate(rows):
        y = TOP + i * ROW_H
        title = f"{row['id']}  {row['title']}"
        room = 58 - 3 * row["depth"]
        shown = title if len(title) <= room else title[:room - 1] + "…"
        weight = ' font-weight="bold"' if not row["leaf"] else ""
        out.append(f'<text x="{4 + 14 * row["depth"]}" y="{y + 13}" font-size="11"{weight}>'
                   f"{_h(shown)}<title>{_h(title)}</title></text>")
        shown_months = [m for m in row["months"] if m in months]
        colour = BAR_COLOURS[_bar_kind(row)]
        for first, last in _runs(shown_months):
            x = LABEL_W + months.index(first) * MONTH_W + 2
            w = (last - first + 1) * MONTH_W - 4
            out.append(f'<rect x="{x}" y="{y + 3}" width="{w}" height="{ROW_H - 6}" rx="3" '
                       f'fill="{colour}"><title>{_h(row["window"])}: '
                       f'{_h(status_label(row["status"], row["timing"]))}</title></rect>')
        out.append("\n")
    as_of = data["as_of_month"]
    if as_of in months:
        day = int(data["as_of"][8:10])
        x = LABEL_W + months.index(as_of) * MONTH_W + MONTH_W * min(day, 30) / 31
        out.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" '
                   f'y2="{TOP + ROW_H * len(rows) + 4}" stroke="#c62828" stroke-width="1.5" '
                   f'stroke-dasharray="4 3"/>\n')
    out.append("</svg>\n")
    return "".join(out)


def _legend(data: dict[str, Any]) -> str:
    out = ['<svg class="legend" viewBox="0 0 734 20" width="734" height="20">']
    x = 4
    for kind, label in (("done", _("done")), ("overdue", _("overdue")), ("due", _("due")),
                        ("upcoming", _("upcoming")), ("cancelled", _("cancelled"))):
        out.append(f'<rect x="{x}" y="5" width="14" height="10" fill="{BAR_COLOURS[kind]}"/>'
                   f'<text x="{x + 18}" y="14" font-size="11">{_h(label)}</text>')
        x += 30 + 7 * len(label)
    out.append(f'<text x="{x}" y="14" font-size="11" fill="#c62828">┆ '
               f'{_h(_("as of {date}").format(date=shown_day(data["as_of"])))}</text></svg>\n')
    return "".join(out)


def _bar_kind(row: dict[str, Any]) -> str:
    if row["status"] in ("done", "cancelled"):
        return str(row["status"])
    return str(row["timing"] or "open")


def _runs(months: list[int]) -> list[tuple[int, int]]:
    """[6, 7, 9, 10, 11] -> [(6, 7), (9, 11)]: a window with a gap is two bars."""
    runs: list[tuple[int, int]] = []
    for month in months:
        if runs and runs[-1][1] == month - 1:
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return runs
