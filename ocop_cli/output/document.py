"""The report as an administrative document (DOCX, python-docx), laid out as Nghị định
30/2020/NĐ-CP, Phụ lục I: the issuing body under its parent top left with the number, the
national motto top right with the place and date, the kind and subject, the body in
sentences, "Nơi nhận:" beside the signer's block; then the tables in a landscape appendix,
each header row repeated on every page.

Times New Roman on A4; margins top and bottom 20 mm, left 30 mm, right 15 mm; page numbers
at the top centre from the second page. Text from data files is written as text (python-docx
escapes it), control characters made visible.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Sequence
from copy import deepcopy
from itertools import chain
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import nsmap, qn
from docx.shared import Cm, Mm, Pt
from lxml.etree import Comment, tostring  # type: ignore[import-untyped]

from ocop_cli.core.i18n import _
from ocop_cli.core.text import visible
from ocop_cli.output.cells import balanced, fit, shown, text_widths
from ocop_cli.output.office import Letter
from ocop_cli.output.render import Column
from ocop_cli.output.sections import Section, marked_rows, office_columns, office_total

FONT = "Times New Roman"
BODY_PT, TABLE_PT, SMALL_PT = 14, 12, 11
# Column widths of the office table in the landscape appendix, in cm (25.2 cm of text).
OFFICE_CM = (1.1, 5.8, 2.1, 1.6, 1.6, 1.5, 4.2, 1.7, 2.5, 3.1)
TEXT_CM = {"portrait": 16.5, "landscape": 25.2}


def write_docx(path: Path, letter: Letter, parts: Sequence[Section]) -> None:
    book = Document()
    rows: list[tuple[bytes, Iterator[bytes]]] = []  # each table's marker and rows
    _fonts(book)
    first = book.sections[0]
    _page(first, Mm(210), Mm(297))
    first.orientation = WD_ORIENT.PORTRAIT
    first.different_first_page_header_footer = True
    _page_number(first.header.paragraphs[0])
    _header_block(book, letter)
    _title(book, letter)
    for sentence in [*letter.sentences, *([letter.to_appendix] if parts else [])]:
        _body(book, sentence)
    _closing_block(book, letter)
    if parts:
        wide = book.add_section(WD_SECTION.NEW_PAGE)
        wide.orientation = WD_ORIENT.LANDSCAPE
        wide.different_first_page_header_footer = False  # numbered from its first page
        _page(wide, Mm(297), Mm(210))
        _centred(book, letter.appendix, bold=True, size=BODY_PT)
        _centred(book, letter.appendix_note, italic=True, size=BODY_PT - 1, after=6)
        for section in parts:
            _centred(book, section.title, bold=True, size=TABLE_PT + 1, after=4, before=8,
                     keep=True)
            if section.rows:
                rows.append(_table(book, section, f"ocop-rows-{len(rows)}"))
            else:
                _centred(book, _("none"), italic=True, size=TABLE_PT)
    _save(book, path, rows)


def _save(book: Any, path: Path, rows: list[tuple[bytes, Iterator[bytes]]]) -> None:
    """The document saved by python-docx, each table's rows then written into its text as
    they are made, in the place of the comment left for them: a report of 50,000 tasks as
    a tree of elements took gigabytes."""
    saved = io.BytesIO()
    book.save(saved)
    with zipfile.ZipFile(saved) as made, zipfile.ZipFile(path, "w") as out:
        for info in made.infolist():
            if info.filename != "word/document.xml":
                out.writestr(info, made.read(info))
                continue
            rest = made.read(info)
            with out.open(info, "w") as text:
                for marker, xml in rows:
                    before, _marker, rest = rest.partition(b"<!--" + marker + b"-->")
                    text.write(before)
                    for chunk in xml:
                        text.write(chunk)
                text.write(rest)


# --- page and fonts --------------------------------------------------------------------------


def _page(section: Any, width: Any, height: Any) -> None:
    section.page_width, section.page_height = width, height
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.header_distance = Mm(10)


def _fonts(book: Any) -> None:
    normal = book.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    for name in ("Header", "Table Grid"):
        if name in [s.name for s in book.styles]:
            book.styles[name].font.name = FONT


def _page_number(paragraph: Any) -> None:
    """A PAGE field, centred: from the second page on (the first page has none)."""
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = paragraph.add_run()
    run.font.size = Pt(BODY_PT - 1)
    for kind, text in (("begin", None), (None, "PAGE"), ("separate", None), (None, "1"),
                       ("end", None)):
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        elif text == "PAGE":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = " PAGE "
        else:
            element = OxmlElement("w:t")
            element.text = text
        run._r.append(element)


# --- paragraphs ------------------------------------------------------------------------------


def _run(paragraph: Any, text: str, bold: bool = False, italic: bool = False,
         size: float = BODY_PT) -> Any:
    run = paragraph.add_run(visible(text))
    run.bold, run.italic = bold, italic
    run.font.size = Pt(size)
    run.font.name = FONT
    return run


def _centred(container: Any, text: str, bold: bool = False, italic: bool = False,
             size: float = BODY_PT, after: float = 0, before: float = 0,
             keep: bool = False) -> Any:
    paragraph = container.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(after)
    paragraph.paragraph_format.space_before = Pt(before)
    paragraph.paragraph_format.keep_with_next = keep
    _run(paragraph, text, bold, italic, size)
    return paragraph


def _rule(container: Any, width_cm: float, length_cm: float) -> None:
    """A short solid line under a centred heading: a paragraph's bottom border, narrowed by
    its indents to `length_cm` in a column `width_cm` wide."""
    paragraph = container.add_paragraph()
    side = max(0.0, (width_cm - length_cm) / 2)
    fmt = paragraph.paragraph_format
    fmt.left_indent = fmt.right_indent = Cm(side)
    fmt.space_after = Pt(2)
    fmt.line_spacing = Pt(2)
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"),
                       ("w:color", "auto")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().append(borders)


def _body(book: Any, text: str) -> None:
    paragraph = book.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt = paragraph.paragraph_format
    fmt.first_line_indent = Cm(1)
    fmt.space_after = Pt(6)
    fmt.line_spacing = 1.15
    _run(paragraph, text)


def _borderless(book: Any, widths_cm: Sequence[float]) -> Any:
    table = book.add_table(rows=1, cols=len(widths_cm))
    table.autofit = False
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)
    for cell, width in zip(table.rows[0].cells, widths_cm, strict=True):
        cell.width = Cm(width)
        cell.paragraphs[0].paragraph_format.space_after = 0
    return table


def _lines_in(cell: Any, lines: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Centred lines into a cell: its first (empty) paragraph, then new ones."""
    for i, (text, style) in enumerate(lines):
        paragraph = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(paragraph, text, **style)


LEFT_CM, RIGHT_CM = 6.5, 10.0


def _header_block(book: Any, letter: Letter) -> None:
    """Top left: parent, issuing body (bold), a rule, the number; top right: the motto
    (bold), a rule under its second line, the place and date (italic)."""
    table = _borderless(book, (LEFT_CM, RIGHT_CM))
    left, right = table.rows[0].cells
    _lines_in(left, [(letter.parent, {"size": 12}),
                     (letter.issuer, {"bold": True, "size": 12})])
    _rule(left, LEFT_CM, 2.5)
    _lines_in_more(left, [(letter.number, {"size": 13})])
    _lines_in(right, [(letter.motto[0], {"bold": True, "size": 12}),
                      (letter.motto[1], {"bold": True, "size": 14})])
    _rule(right, RIGHT_CM, 6.0)
    _lines_in_more(right, [(letter.date_line, {"italic": True, "size": 14})])
    spacer = book.add_paragraph()
    spacer.paragraph_format.space_after = 0


def _lines_in_more(cell: Any, lines: Sequence[tuple[str, dict[str, Any]]]) -> None:
    for text, style in lines:
        paragraph = cell.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_before = Pt(4)
        _run(paragraph, text, **style)


def _title(book: Any, letter: Letter) -> None:
    _centred(book, letter.kind, bold=True, size=14, before=12, keep=True)
    _centred(book, letter.subject, bold=True, size=14, keep=True)
    _rule(book, TEXT_CM["portrait"], 4.0)
    book.add_paragraph().paragraph_format.space_after = 0


def _closing_block(book: Any, letter: Letter) -> None:
    """Bottom left "Nơi nhận:" and its list (12 and 11 pt); bottom right the signer's
    authority and title (bold capitals), room to sign and seal, the name (bold)."""
    book.add_paragraph()
    table = _borderless(book, (7.0, 9.5))
    left, right = table.rows[0].cells
    left.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.LEFT
    _run(left.paragraphs[0], letter.recipients_title, bold=True, italic=True, size=12)
    for recipient in letter.recipients:
        _run(left.add_paragraph(), f"- {recipient}", size=SMALL_PT)
    lines: list[tuple[str, dict[str, Any]]] = []
    if letter.authority:
        lines.append((letter.authority, {"bold": True, "size": 14}))
    lines.append((letter.title, {"bold": True, "size": 14}))
    lines += [("", {})] * 4 + [(letter.signer, {"bold": True, "size": 14})]
    _lines_in(right, lines)
    _cant_split(table.rows[0])  # the block stays on one page


# --- tables ----------------------------------------------------------------------------------


def _cant_split(row: Any) -> None:
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def _repeat_header(row: Any) -> None:
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(element)


def widths_for(section: Section, total_cm: float) -> list[float]:
    """Column widths that add up to `total_cm`, sized to the table's text: as short a table
    as the widths can make (`balanced`: a header word never split); for a table too long to
    weigh, the office form's own widths, else each column as wide as its text, the widest
    narrowed to fit. Any room left is shared in proportion."""
    text_cm = total_cm - CELL_PADDING_CM * len(section.columns)
    fitted = balanced(section, int(text_cm / CM_A_CHARACTER))
    if fitted is None and section.columns == office_columns():
        return list(OFFICE_CM)
    if fitted is None:
        widths, floor = text_widths(section)
        fitted = fit([max(w, 2) + 1 for w in widths], [max(f, 2) + 1 for f in floor],
                     int(text_cm / CM_A_CHARACTER))
    scale = text_cm / sum(fitted)
    return [CELL_PADDING_CM + w * scale for w in fitted]


# Times New Roman at 12 pt, bold (a header's words), and the padding every cell has whatever
# its width (0.19 cm each side): a narrow column needs it as much as a wide one.
CM_A_CHARACTER = 0.22
CELL_PADDING_CM = 0.4
KEPT_AT_END = 2  # the rows kept with the last one, so that the last page holds three


def _table(book: Any, section: Section, marker: str) -> tuple[bytes, Iterator[bytes]]:
    """The table with its header row, and a comment `marker` where its rows go: those rows,
    made as they are written (`_save`)."""
    columns = section.columns
    rows = marked_rows(section)
    total = office_total(section)
    widths = widths_for(section, TEXT_CM["landscape"])
    table = book.add_table(rows=1, cols=len(columns))
    table.style = book.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for grid_column, width in zip(table.columns, widths, strict=True):
        grid_column.width = Cm(width)  # the grid, which LibreOffice reads
    head = table.rows[0]
    _repeat_header(head)
    _cant_split(head)
    for cell, column, width in zip(head.cells, columns, widths, strict=True):
        cell.width = Cm(width)
        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(cell.paragraphs[0], column.header, bold=True, size=TABLE_PT)
    empty = {(bold, keep): _empty_row(table, columns, widths, bold, keep)
             for bold in (False, True) for keep in (False, True)}
    # The last rows are kept with the rows after them: no last page holds a single row.
    last = len(rows) + (1 if total else 0) - 1
    kept_from = last - KEPT_AT_END
    table._tbl.append(Comment(marker))
    # Each row as it stands in the document: without the namespace the document declares.
    declared = f' xmlns:w="{nsmap["w"]}"'

    def made() -> Iterator[bytes]:
        out = []
        every = chain(rows, [total] if total else [])  # rows may be made as read
        for i, row in enumerate(every):
            parent = bool(row.get("_parent"))  # kept with its first sub-row
            keep = parent or kept_from <= i < last
            tr = deepcopy(empty[row.get("_style") == "total" or parent, keep])
            for run, column in zip(tr.iter(qn("w:r")), columns, strict=True):
                _text(run, visible(shown(row.get(column.key), column.key)))
            out.append(tostring(tr, encoding="unicode").replace(declared, "", 1))
            if len(out) == 200:  # some 600 KB of XML at a time
                yield "".join(out).encode()
                out.clear()
        yield "".join(out).encode()

    return marker.encode(), made()


def _empty_row(table: Any, columns: Sequence[Column], widths: Sequence[float], bold: bool,
               keep: bool = False) -> Any:
    """A row of `table` with a run of the table's text in each cell and no text yet, taken
    out again: each row is a copy of it, its texts added. python-docx's own `add_row` looks
    for the table's grid past every row before it: 50,000 rows took minutes. `keep`: its
    paragraphs are kept with the next, which keeps the row on the page of the next row."""
    row = table.add_row()
    _cant_split(row)
    for cell, column, width in zip(row.cells, columns, widths, strict=True):
        cell.width = Cm(width)
        paragraph = cell.paragraphs[0]
        if column.numeric or column.key == "id":
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.keep_with_next = keep or None
        _run(paragraph, "", bold=bold, size=TABLE_PT)
    table._tbl.remove(row._tr)
    return row._tr


def _text(run: Any, text: str) -> None:
    """`text` into an empty run, as python-docx writes it (a tab or a line break is an
    element of its own; spaces at either end are kept)."""
    if any(c in text for c in "\t\r\n"):
        run.text = text
    elif text:
        element = run.makeelement(qn("w:t"), {})
        element.text = text
        run.append(element)
        if len(text.strip()) < len(text):
            element.set(qn("xml:space"), "preserve")
