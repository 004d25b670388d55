"""The bounded XLSX reader: a workbook's chosen sheet as rows of values, every part read as a
stream.

Every size is checked before what it sizes is allocated: the zip's directory, each part's size
once decompressed, the elements a part holds and how deep they nest, the sheet's declared
dimension, its rows, columns and cells, and the shared strings. Each part is parsed as it is
decompressed; an element is read at its end, then cleared and dropped from its parent, so that
memory holds the path to the element being read and what was taken from the elements before
it, never the part's tree. XML is parsed without entities (`defusedxml` guards the prolog).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree.ElementTree import Element, ParseError, XMLPullParser
from xml.sax import SAXException
from xml.sax.handler import ContentHandler

from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils import datetime as excel
from openpyxl.utils.cell import column_index_from_string, range_boundaries

from ocop_cli.core.errors import InvalidData, NotFound
from ocop_cli.core.i18n import _, format_number
from ocop_cli.imports.bounds import (
    MAX_CELL_CHARS,
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_ROWS,
    Sheet,
    TooBig,
    cell_text,
    cell_too_long,
    too_many_cells,
    too_many_rows,
)

MAX_PART_BYTES = 64 * 2**20  # one XML part, decompressed
MAX_ZIP_DIRECTORY = 2**20  # bytes of the zip's central directory (a few thousand parts)
MAX_SHARED_STRINGS = 250_000  # as many as the cells of a sheet
MAX_SHARED_CHARS = 16 * 2**20
# Elements one part may hold. A sheet at the cell limit has about three a cell (the cell, its
# value or inline string and its text) and one a row; a shared string two (the item, its
# text), more when it has runs of formatting. Excel keeps at most 64,000 cell formats, a few
# elements each; a workbook lists its sheets and names, a relationships part one line per
# part. A part with more is not a real one, and reading it would take the time of its
# elements even when each is dropped at once.
MAX_ELEMENTS_LARGE = 1_000_000  # a sheet, the shared strings
MAX_ELEMENTS_STYLES = 500_000
MAX_ELEMENTS = 100_000  # the workbook, relationships
MAX_DEPTH = 64  # SpreadsheetML nests a dozen levels deep
# Bytes of a part in which no element starts or ends: a cell's longest text (32,767
# characters, escaped) is a few hundred KB. The parser reads a name or an attribute again
# from its start with each chunk that adds to it, so one of 60 MB would take a minute.
MAX_QUIET_BYTES = 2 * 2**20

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL = f"{_MAIN}c"
_CELL_XFS = f"{_MAIN}cellXfs"
_DIMENSION = f"{_MAIN}dimension"
_INLINE = f"{_MAIN}is"
_MERGE_CELL = f"{_MAIN}mergeCell"
_NUM_FMT = f"{_MAIN}numFmt"
_PKG_RELATIONSHIP = f"{_PKG_REL}Relationship"
_RUN = f"{_MAIN}r"
_REL_ID = f"{_REL}id"
_ROW = f"{_MAIN}row"
_SHEET = f"{_MAIN}sheet"
_STRING = f"{_MAIN}si"
_PIECE = f"{_MAIN}t"
_VALUE = f"{_MAIN}v"
_WORKBOOK_PR = f"{_MAIN}workbookPr"
_WORKBOOK_VIEW = f"{_MAIN}workbookView"
_XF = f"{_MAIN}xf"
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d{1,7})$")
_CHUNK = 64 * 1024
_TEXT_HOLDERS = (_STRING, _INLINE, _RUN)  # a `t` in rPh is a phonetic guide


def read_workbook(path: Path, raw: bytes, name: str | None) -> Sheet:
    """The rows of the sheet `name` (default: the active one) of the XLSX `raw`."""
    return _Workbook(path, raw).sheet(name)


def check_zip_directory(raw: bytes) -> None:
    """The zip's central directory is read whole by `zipfile`: bound it before it is."""
    end = raw.rfind(b"PK\x05\x06", max(0, len(raw) - 65_557))
    if end < 0 or end + 22 > len(raw):
        raise zipfile.BadZipFile(_("not a zip archive"))
    size = int.from_bytes(raw[end + 12:end + 16], "little")
    if size > MAX_ZIP_DIRECTORY:
        raise TooBig(_("its zip directory is {size} KB, over the limit of {limit} KB").format(
            size=size // 1024, limit=MAX_ZIP_DIRECTORY // 1024))


def _elements_over(part: str, limit: int) -> TooBig:
    return TooBig(_("its part {part} holds more than {n} XML elements, over the limit").format(
        part=part, n=format_number(limit)))


class _Workbook:
    def __init__(self, path: Path, raw: bytes) -> None:
        check_zip_directory(raw)
        self.path = path
        self.zip = zipfile.ZipFile(io.BytesIO(raw))
        self.names = set(self.zip.namelist())
        for info in self.zip.infolist():
            if info.file_size > MAX_PART_BYTES:
                raise TooBig(_("its part {part} is {size} MB once decompressed, over the limit "
                               "of {limit} MB").format(part=info.filename,
                                                       size=info.file_size // 2**20,
                                                       limit=MAX_PART_BYTES // 2**20))
        self.strings: list[str] = []
        self.dates: set[int] = set()
        self.percents: dict[int, int] = {}
        self.date1904 = False

    def _events(self, part: str) -> Iterator[tuple[str, Element]]:
        """Parse events of one XML part, fed in chunks: no entity is expanded, and a part
        that is cut short or malformed is one error naming it and where.

        `defusedxml` reads the prolog, the only place where a DTD and entities can be
        declared, and refuses them; the rest is parsed by the C parser, which stops at any
        entity that was not declared: the pure-Python parser `defusedxml` needs to watch a
        whole part would take ten times as long on a large sheet."""
        parser: XMLPullParser[Element] = XMLPullParser(("start", "end"))
        guard: Any = _prolog_guard()
        read = quiet = 0  # bytes of the part, and since the parser last gave an event
        try:
            with self.zip.open(part) as handle:
                while chunk := handle.read(_CHUNK):
                    read += len(chunk)
                    if read > MAX_PART_BYTES:  # the zip's size may lie
                        raise TooBig(_("its part {part} is over {limit} MB once decompressed"
                                       ).format(part=part, limit=MAX_PART_BYTES // 2**20))
                    guard = guard and _guarded(guard, chunk)
                    parser.feed(chunk)
                    quiet += len(chunk)
                    for event in parser.read_events():
                        quiet = 0
                        yield event  # type: ignore[misc]
                    if quiet > MAX_QUIET_BYTES:
                        raise TooBig(_("its part {part} runs more than {n} MB without an "
                                       "element starting or ending (a text, a name or an "
                                       "attribute far too long), over the limit").format(
                            part=part, n=MAX_QUIET_BYTES // 2**20))
            parser.close()
            yield from parser.read_events()  # type: ignore[misc]
        except ParseError as exc:
            line, column = exc.position
            raise InvalidData([], _("{path}: the part {part} is not well-formed XML (line {line}, "
                                    "column {column}): the file is damaged or cut short; "
                                    "nothing was imported").format(
                path=self.path, part=part, line=line, column=column)) from None
        except _Entities:
            raise InvalidData([], _("{path}: the part {part} declares a DTD or XML entities, "
                                    "which a workbook never needs; nothing was imported").format(
                path=self.path, part=part)) from None

    def _walk(self, part: str, limit: int | None = None) -> Iterator[tuple[Element, str]]:
        """Each element of a part at its end, with its parent's tag, as the part streams by.
        Once handled, an element is cleared and dropped from its parent: the caller takes
        what it needs then and keeps nothing of the tree. More than `limit` elements, or
        nesting deeper than MAX_DEPTH, is refused."""
        limit = MAX_ELEMENTS if limit is None else limit
        path: list[Element] = []
        count = 0
        for event, elem in self._events(part):
            if event == "start":
                count += 1
                if count > limit:
                    raise _elements_over(part, limit)
                if len(path) >= MAX_DEPTH:
                    raise TooBig(_("its part {part} nests elements more than {n} deep, over "
                                   "the limit").format(part=part, n=MAX_DEPTH))
                path.append(elem)
                continue
            path.pop()
            yield elem, path[-1].tag if path else ""
            elem.clear()
            if path:
                del path[-1][:]  # earlier siblings went at their own ends

    def _relations(self, part: str) -> dict[str, tuple[str, str]]:
        """rId -> (type, part name) of a part's relationships."""
        folder = PurePosixPath(part).parent
        rels = str(folder / "_rels" / (PurePosixPath(part).name + ".rels"))
        found = {}
        if rels in self.names:
            for elem, _parent in self._walk(rels):
                if elem.tag != _PKG_RELATIONSHIP:
                    continue
                target = elem.get("Target", "")
                if target.startswith("/"):
                    full = target.lstrip("/")
                else:
                    parts: list[str] = []
                    for piece in (*folder.parts, *PurePosixPath(target).parts):
                        if piece == "..":
                            if parts:
                                parts.pop()
                        elif piece != ".":
                            parts.append(piece)
                    full = "/".join(parts)
                found[elem.get("Id", "")] = (elem.get("Type", ""), full)
        return found

    def _book(self) -> tuple[str, list[tuple[str, str]], int]:
        """The workbook part's name, its sheets (name, relationship id) and the active one."""
        book = "xl/workbook.xml"
        for elem, _parent in self._walk("_rels/.rels"):
            if elem.tag == _PKG_RELATIONSHIP and elem.get(
                    "Type", "").endswith("/officeDocument"):
                book = elem.get("Target", book).lstrip("/")
        sheets: list[tuple[str, str]] = []
        active = 0
        for elem, _parent in self._walk(book):
            if elem.tag == _SHEET:
                sheets.append((elem.get("name", ""), elem.get(_REL_ID, "")))
            elif elem.tag == _WORKBOOK_VIEW:
                active = int(elem.get("activeTab", "0") or 0)
            elif elem.tag == _WORKBOOK_PR:
                self.date1904 = elem.get("date1904", "0") in ("1", "true")
        return book, sheets, active

    def sheet(self, name: str | None) -> Sheet:
        book, sheets, active = self._book()
        relations = self._relations(book)
        names = tuple(n for n, _rid in sheets)
        if not sheets:
            raise ValueError(_("no sheet"))
        if name is not None and name not in names:
            raise NotFound(_("{path} has no sheet {name!r}").format(path=self.path, name=name),
                           hint=_("Sheets: {names}").format(names=", ".join(names)))
        title, rid = sheets[names.index(name) if name is not None
                            else min(max(active, 0), len(sheets) - 1)]
        kind, part = relations.get(rid, ("", ""))
        if not kind.endswith("/worksheet"):
            raise InvalidData([], _("{path}: the sheet is a chart, not a table; name the sheet "
                                    "with --sheet").format(path=self.path))
        types = {kind: target for kind, target in relations.values()}
        strings_part = next((t for k, t in types.items() if k.endswith("/sharedStrings")), None)
        styles_part = next((t for k, t in types.items() if k.endswith("/styles")), None)
        if strings_part in self.names:
            self._shared_strings(str(strings_part))
        if styles_part in self.names:
            self._styles(str(styles_part))
        cells = _Cells(self)
        for elem, parent in self._walk(part, MAX_ELEMENTS_LARGE):
            cells.end(elem, parent)
        rows = cells.rows()
        source = f"{self.path} [{title}]" if len(names) > 1 else str(self.path)
        return Sheet(source, rows, sorted(cells.merged, key=lambda m: (m[1], m[0])), names)

    def _shared_strings(self, part: str) -> None:
        text = _Text()
        chars = 0
        for elem, parent in self._walk(part, MAX_ELEMENTS_LARGE):
            if elem.tag == _PIECE and parent in _TEXT_HOLDERS:
                text.add(elem.text)
            elif elem.tag == _STRING:
                value = text.take()
                chars += len(value)
                if len(self.strings) >= MAX_SHARED_STRINGS:
                    raise TooBig(_("more than {n} shared strings, over the limit").format(
                        n=format_number(MAX_SHARED_STRINGS)))
                if chars > MAX_SHARED_CHARS:
                    raise TooBig(_("its shared strings hold more than {n} million characters, "
                                   "over the limit").format(n=MAX_SHARED_CHARS // 10**6))
                self.strings.append(value)

    def _styles(self, part: str) -> None:
        """The cell styles (by index) whose number format shows a date, and those that show
        a percentage (with how many decimals). Of the number formats only what they show is
        kept: a date, or a percentage's decimals."""
        shows: dict[int, int | None] = {}  # format id -> -1 a date, n a percentage, None else
        index = 0
        for elem, parent in self._walk(part, MAX_ELEMENTS_STYLES):
            if elem.tag == _NUM_FMT:
                code = elem.get("numFmtId", "")
                if code.isdigit() and len(code) < 10:
                    shows[int(code)] = _shown(elem.get("formatCode", "")[:256])
            elif elem.tag == _XF and parent == _CELL_XFS:
                code = elem.get("numFmtId", "0")
                number = int(code) if code.isdigit() and len(code) < 10 else -1
                shown = shows[number] if number in shows else _shown(
                    BUILTIN_FORMATS.get(number, ""))
                if shown == -1:
                    self.dates.add(index)
                elif shown is not None:
                    self.percents[index] = shown
                index += 1

    def value(self, kind: str, style: str, raw: str | None, inline: str | None) -> Any:
        """A cell's value from its type, style, `v` text and inline string."""
        if kind == "inlineStr":
            return inline
        if raw is None:
            return None
        if kind == "s":
            if not raw.strip().isdigit():  # -1 would be the last string
                raise ValueError(_("bad shared string index {raw!r}").format(raw=raw[:20]))
            return self.strings[int(raw)]
        if kind in ("str", "e"):
            return cell_text(raw)
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "d":
            return dt.datetime.fromisoformat(raw.strip())
        styled = int(style) if style.isdigit() and len(style) < 10 else -1
        if styled in self.percents:
            return _percent(raw, self.percents[styled])
        number: float = int(raw) if raw.isdigit() else float(raw) if any(
            c in raw for c in ".eE") else int(raw)
        if styled in self.dates:
            epoch = excel.CALENDAR_MAC_1904 if self.date1904 else excel.CALENDAR_WINDOWS_1900
            return excel.from_excel(number, epoch)
        return number


class _Text:
    """The `t` pieces of a shared or inline string as they stream by, refused as soon as
    they pass a cell's limit."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.size = 0

    def add(self, text: str | None) -> None:
        if text:
            self.size += len(text)
            if self.size > MAX_CELL_CHARS:
                raise cell_too_long()
            self.pieces.append(text)

    def take(self) -> str:
        value = "".join(self.pieces)
        self.pieces, self.size = [], 0
        return value


class _Cells:
    """The rows of a sheet as its elements stream by: a cell is read at its end (its value
    and inline string ended before it), a row placed at its end. The cells of the row being
    read are counted as they come."""

    def __init__(self, book: _Workbook) -> None:
        self.book = book
        self.filled: dict[int, list[tuple[int, Any]]] = {}
        self.merged: list[tuple[str, int, int]] = []
        self.pending: list[tuple[int, Any]] = []  # (column, value) of the row being read
        self.count = self.in_row = self.rows_read = self.last_row = self.last_column = 0
        self.row = self.column = 0
        self.raw: str | None = None  # the `v` of the cell being read
        self.text = _Text()  # the pieces of its inline string
        self.inline = False  # whether it has one

    def end(self, elem: Element, parent: str) -> None:
        tag = elem.tag
        if tag == _VALUE and parent == _CELL:
            self.raw = elem.text or ""
        elif tag == _PIECE and parent in _TEXT_HOLDERS:
            self.text.add(elem.text)
        elif tag == _INLINE and parent == _CELL:
            self.inline = True
        elif tag == _CELL:
            self._cell(elem)
        elif tag == _ROW:
            self.rows_read += 1
            if self.rows_read > MAX_ROWS:
                raise TooBig(too_many_rows())
            self.row = _number(elem.get("r"), self.row + 1)
            if self.pending:
                self.filled.setdefault(self.row, []).extend(self.pending)
                self.last_row = max(self.last_row, self.row)
                self.pending = []
            self.column = self.in_row = 0
        elif tag == _DIMENSION:
            _check_dimension(elem.get("ref", ""))
        elif tag == _MERGE_CELL:
            ref = elem.get("ref", "")
            if len(self.merged) < MAX_ROWS and ":" in ref:
                _c1, first, _c2, last = range_boundaries(ref)
                self.merged.append((ref, int(first or 0), int(last or 0)))

    def _cell(self, elem: Element) -> None:
        self.count += 1
        self.in_row += 1  # a row's cells stay in memory until its end: bounded here
        if self.count > MAX_CELLS or self.in_row > MAX_COLUMNS:
            raise TooBig(too_many_cells() if self.count > MAX_CELLS else
                         _("a row of more than {max} cells, over the limit").format(
                             max=format_number(MAX_COLUMNS)))
        self.column = _column(elem.get("r"), self.column + 1)
        text = self.text.take()
        inline = text if self.inline else None
        value = self.book.value(elem.get("t", "n"), elem.get("s", "0"), self.raw, inline)
        self.raw, self.inline = None, False
        if value is not None:
            self.pending.append((self.column, value))
            self.last_column = max(self.last_column, self.column)

    def rows(self) -> list[tuple[int, list[Any]]]:
        if self.last_row * self.last_column > MAX_CELLS:
            raise TooBig(_("its table spans {rows} rows by {columns} columns, more than "
                           "{n} cells, over the limit").format(
                rows=format_number(self.last_row), columns=format_number(self.last_column),
                n=format_number(MAX_CELLS)))
        rows = []
        for number in range(1, self.last_row + 1):
            values: list[Any] = [None] * self.last_column
            for column, value in self.filled.pop(number, ()):
                values[column - 1] = value
            rows.append((number, values))
        return rows


def _check_dimension(ref: str) -> None:
    last = ref.rpartition(":")[2].replace("$", "")
    match = _CELL_REF.match(last)
    if match is None:
        return  # no dimension or a wrong one: the cells are counted as they come
    rows, columns = int(match.group(2)), column_index_from_string(match.group(1))
    if rows > MAX_ROWS or columns > MAX_COLUMNS:
        raise TooBig(_("it declares a sheet of {rows} rows by {columns} columns (up to "
                       "{cell}), over the limit of {max_rows} rows and {max_columns} "
                       "columns").format(rows=format_number(rows), columns=format_number(columns),
                                         cell=last, max_rows=format_number(MAX_ROWS),
                                         max_columns=format_number(MAX_COLUMNS)))


def _column(ref: str | None, default: int) -> int:
    if ref is None:
        column = default
    else:
        match = _CELL_REF.match(ref)
        if match is None:
            raise ValueError(_("bad cell reference {ref!r}").format(ref=ref[:20]))
        column = column_index_from_string(match.group(1))
    if column > MAX_COLUMNS:
        raise TooBig(_("a cell in column {n}, over the limit of {max} columns").format(
            n=format_number(column), max=format_number(MAX_COLUMNS)))
    return column


def _number(text: str | None, default: int) -> int:
    if text is None:
        value = default
    elif not text.isdigit():
        raise ValueError(_("bad row number {text!r}").format(text=text[:20]))
    else:
        value = int(text)
    if value > MAX_ROWS:
        raise TooBig(too_many_rows())
    return value


def _shown(code: str) -> int | None:
    """What a number format shows: -1 a date, n a percentage with n decimals, None else."""
    if is_date_format(code):
        return -1
    return _percent_decimals(code)


def _percent_decimals(code: str) -> int | None:
    """How many decimals a number format shows a percentage with (`0%` 0, `0.0%` 1); None
    when it shows no percentage. Only the first section (positive numbers) counts; text in
    quotes or after a backslash is not the format's."""
    first = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code.split(";")[0])
    if "%" not in first:
        return None
    head = first.split("%")[0]
    digits = head.rpartition(".")[2] if "." in head else ""
    return len(digits) - len(digits.lstrip("0#?"))


def _percent(raw: str, decimals: int) -> str:
    """A number cell formatted as a percentage, as the spreadsheet shows it: 1 as `100%`,
    0.255 with one decimal as `25.5%`. Computed in decimal, so 0.29 is 29%, not 28.999…%."""
    try:
        value = (Decimal(raw.strip()) * 100).quantize(Decimal(1).scaleb(-min(decimals, 10)),
                                                      rounding=ROUND_HALF_UP)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise ValueError(_("bad number {raw!r}").format(raw=raw[:20]))
    return f"{value}%"


class _Entities(Exception):
    """A part declares a DTD or entities."""


class _RootSeen(Exception):
    """The prolog is over: no DTD or entity can be declared after it."""


class _PrologHandler(ContentHandler):
    def startElement(self, name: str, attrs: Any) -> None:
        raise _RootSeen


def _prolog_guard() -> Any:
    guard = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    guard.setContentHandler(_PrologHandler())
    return guard


def _guarded(guard: Any, chunk: bytes) -> Any:
    """Feed `chunk` to the prolog guard; the guard while the prolog goes on, else None."""
    try:
        guard.feed(chunk)
    except _RootSeen:
        return None
    except DefusedXmlException:
        raise _Entities from None
    except SAXException:
        return None  # malformed: the parser proper says where
    return guard
