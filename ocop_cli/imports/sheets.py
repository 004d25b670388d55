"""Tables from files anyone may send: TSV, CSV and XLSX (a file or standard input), within limits.

Every size is checked before what it sizes is allocated: the file's bytes, the zip's
directory, each part's size once decompressed, the sheet's declared dimension, its rows,
columns and cells, and the shared strings. XML is parsed without entities (`defusedxml`),
streamed cell by cell, so that a sheet declaring a cell at XFD1048576 or a table of shared
strings that expands to gigabytes is refused with one message naming the limit instead of
filling the memory. `read_sheet` is the one way in.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ocop_cli.core.errors import InvalidData, NotFound
from ocop_cli.core.i18n import _
from ocop_cli.core.text import FORMULA_START

MAX_BYTES = 16 * 2**20  # a file, or standard input
# Far above any plan table or progress sheet (a year of a province's progress is a few
# thousand rows), and low enough that reading stays within 200 MB and a few seconds.
MAX_ROWS = 50_000
MAX_COLUMNS = 1_024
MAX_CELLS = 250_000  # rows x columns of the table as read
MAX_CELL_CHARS = 32_767  # Excel's own limit for a cell
MAX_PART_BYTES = 64 * 2**20  # one XML part, decompressed
MAX_ZIP_DIRECTORY = 2**20  # bytes of the zip's central directory (a few thousand parts)
MAX_SHARED_STRINGS = 1_000_000
MAX_SHARED_CHARS = 16 * 2**20

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d{1,7})$")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CHUNK = 64 * 1024


@dataclass
class Sheet:
    """A sheet's rows as cell values, each with its row number as the spreadsheet shows it."""

    source: str
    rows: list[tuple[int, list[Any]]]
    merged: list[tuple[str, int, int]] = field(default_factory=list)  # range, first, last row
    sheets: tuple[str, ...] = ()  # every sheet of the workbook it comes from


class _TooBig(Exception):
    """A limit was reached: the message names it."""


def _refuse(source: object, message: str) -> InvalidData:
    return InvalidData([], f"{source}: {message}; " + _("nothing was imported"))


def read_sheet(file: str | Path, sheet: str | None = None) -> Sheet:
    """The rows of an XLSX, CSV or TSV file, or of standard input when `file` is "-" (TSV
    when its first line holds a tab, else CSV), read within the limits above."""
    from ocop_cli.store.yamlio import decode, read_bytes

    if str(file) == "-":
        if sheet is not None:
            from ocop_cli.core.errors import UsageError

            raise UsageError(_("--sheet goes with an .xlsx file"))
        source = Path("<stdin>")
        return _text_sheet(str(source), decode(source, read_stdin()), None)
    path = Path(file)
    suffix = path.suffix.lower()
    if suffix in (".xls", ".ods", ".doc", ".docx"):
        raise InvalidData([], _("{path}: {kind} files cannot be read; save the table as .xlsx, "
                                ".csv or .tsv").format(path=path, kind=suffix))
    raw = read_bytes(path, MAX_BYTES, follow=True)  # a file the user names
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_sheet(path, raw, sheet)
    if sheet is not None:
        raise InvalidData([], _("--sheet goes with an .xlsx file"))
    delimiter = {".csv": None, ".tsv": "\t", ".tab": "\t"}.get(suffix)
    return _text_sheet(str(path), decode(path, raw), delimiter, csv_file=suffix == ".csv")


def read_stdin(limit: int = MAX_BYTES) -> bytes:
    """Standard input's bytes, refused once they pass `limit` (read a chunk at a time)."""
    chunks: list[bytes] = []
    size = 0
    stream = sys.stdin.buffer
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise _refuse("<stdin>", _("more than {limit} MB on standard input, over the limit"
                                       ).format(limit=limit // 2**20))


# --- text -----------------------------------------------------------------------------------


def _lines(source: str, text: str) -> list[str]:
    for breaks, _match in enumerate(_LINE_BREAK.finditer(text), 1):
        if breaks > MAX_ROWS:
            raise _refuse(source, _too_many_rows())
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _n(count: int) -> str:
    """A count as the language writes it: 100,000 in English, 100.000 in Vietnamese."""
    from ocop_cli.core.i18n import language

    return f"{count:,}".replace(",", "." if language() == "vi" else ",")


def _too_many_rows() -> str:
    return _("more than {n} rows, over the limit").format(n=_n(MAX_ROWS))


def _too_many_cells() -> str:
    return _("more than {n} cells, over the limit").format(n=_n(MAX_CELLS))


def _text_sheet(source: str, text: str, delimiter: str | None, csv_file: bool = False
                ) -> Sheet:
    from ocop_cli.core.text import nfc

    text = nfc(text)
    lines = _lines(source, text)
    first = next((line for line in lines if line.strip()), "")
    if delimiter is None and not csv_file and "\t" in first:
        delimiter = "\t"
    if delimiter == "\t" and not csv_file:
        # Pasted from a document: cells are split at tabs and nothing else, so that quotes
        # in a title stay as written.
        if text.count("\t") + len(lines) > MAX_CELLS:
            raise _refuse(source, _too_many_cells())
        return Sheet(source, [(n, line.split("\t")) for n, line in enumerate(lines, 1)])
    if delimiter is None:
        counts = {d: first.count(d) for d in (",", ";", "\t")}
        delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    if text.count(delimiter) + len(lines) > MAX_CELLS:
        raise _refuse(source, _too_many_cells())
    rows: list[tuple[int, list[Any]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            rows.append((start, [_unguarded(c) for c in cells]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InvalidData([], _("{source}, line {line}: cannot read the CSV: {error}").format(
            source=source, line=reader.line_num, error=exc)) from None
    return Sheet(source, rows)


def _unguarded(text: str) -> str:
    """A CSV cell as it was before ocop (or a spreadsheet) guarded it against formulas."""
    return text[1:] if text[:1] == "'" and text[1:].startswith(FORMULA_START) else text


# --- XLSX -----------------------------------------------------------------------------------


def _xlsx_sheet(path: Path, raw: bytes, name: str | None) -> Sheet:
    try:
        return _Workbook(path, raw).sheet(name)
    except _TooBig as exc:
        raise _refuse(path, str(exc)) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
            KeyError, IndexError) as exc:
        raise InvalidData([], _("{path}: not a readable XLSX workbook ({error}); nothing was "
                                "imported").format(path=path, error=exc)) from None


def _check_zip_directory(raw: bytes) -> None:
    """The zip's central directory is read whole by `zipfile`: bound it before it is."""
    end = raw.rfind(b"PK\x05\x06", max(0, len(raw) - 65_557))
    if end < 0 or end + 22 > len(raw):
        raise zipfile.BadZipFile(_("not a zip archive"))
    size = int.from_bytes(raw[end + 12:end + 16], "little")
    if size > MAX_ZIP_DIRECTORY:
        raise _TooBig(_("its zip directory is {size} KB, over the limit of {limit} KB").format(
            size=size // 1024, limit=MAX_ZIP_DIRECTORY // 1024))


class _Workbook:
    def __init__(self, path: Path, raw: bytes) -> None:
        _check_zip_directory(raw)
        self.path = path
        self.zip = zipfile.ZipFile(io.BytesIO(raw))
        self.names = set(self.zip.namelist())
        for info in self.zip.infolist():
            if info.file_size > MAX_PART_BYTES:
                raise _TooBig(_("its part {part} is {size} MB once decompressed, over the limit "
                                "of {limit} MB").format(part=info.filename,
                                                        size=info.file_size // 2**20,
                                                        limit=MAX_PART_BYTES // 2**20))

    def _events(self, part: str, events: Any = ("end",)) -> Iterator[Any]:
        """Parse events of one XML part, fed in chunks: no entity is expanded, and a part
        that is cut short or malformed is one error naming it and where.

        `defusedxml` reads the prolog, the only place where a DTD and entities can be
        declared, and refuses them; the rest is parsed by the C parser, which stops at any
        entity that was not declared: the pure-Python parser `defusedxml` needs to watch a
        whole part would take ten times as long on a large sheet."""
        from xml.etree.ElementTree import ParseError, XMLPullParser

        parser: Any = XMLPullParser(events)
        guard: Any = _prolog_guard()
        read = 0
        try:
            with self.zip.open(part) as handle:
                while chunk := handle.read(_CHUNK):
                    read += len(chunk)
                    if read > MAX_PART_BYTES:  # the zip's size may lie
                        raise _TooBig(_("its part {part} is over {limit} MB once decompressed"
                                        ).format(part=part, limit=MAX_PART_BYTES // 2**20))
                    guard = guard and _guarded(guard, chunk)
                    parser.feed(chunk)
                    yield from parser.read_events()
            parser.close()
            yield from parser.read_events()
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

    def _root_children(self, part: str, tag: str) -> Iterator[Any]:
        for _event, elem in self._events(part):
            if elem.tag == tag:
                yield elem

    def _relations(self, part: str) -> dict[str, tuple[str, str]]:
        """rId -> (type, part name) of a part's relationships."""
        folder = PurePosixPath(part).parent
        rels = str(folder / "_rels" / (PurePosixPath(part).name + ".rels"))
        found = {}
        if rels in self.names:
            for elem in self._root_children(rels, f"{_PKG_REL}Relationship"):
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

    def sheet(self, name: str | None) -> Sheet:
        book = "xl/workbook.xml"
        for elem in self._root_children("_rels/.rels", f"{_PKG_REL}Relationship"):
            if elem.get("Type", "").endswith("/officeDocument"):
                book = elem.get("Target", book).lstrip("/")
        relations = self._relations(book)
        sheets: list[tuple[str, str]] = []
        active = 0
        self.date1904 = False
        for elem in self._root_children(book, f"{_MAIN}workbook"):
            for child in elem.iter():
                if child.tag == f"{_MAIN}sheet":
                    sheets.append((child.get("name", ""), child.get(f"{_REL}id", "")))
                elif child.tag == f"{_MAIN}workbookView":
                    active = int(child.get("activeTab", "0") or 0)
                elif child.tag == f"{_MAIN}workbookPr":
                    self.date1904 = child.get("date1904", "0") in ("1", "true")
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
        self.strings = self._shared_strings(strings_part) if strings_part in self.names else []
        self.dates: set[int] = set()
        self.percents: dict[int, int] = {}
        if styles_part in self.names:
            self._styles(styles_part)
        rows, merged = self._cells(part)
        source = f"{self.path} [{title}]" if len(names) > 1 else str(self.path)
        return Sheet(source, rows, sorted(merged, key=lambda m: (m[1], m[0])), names)

    def _shared_strings(self, part: str) -> list[str]:
        strings: list[str] = []
        chars = 0
        for _event, elem in self._events(part):
            if elem.tag != f"{_MAIN}si":
                continue
            text = _text_of(elem)
            elem.clear()
            chars += len(text)
            if len(strings) >= MAX_SHARED_STRINGS:
                raise _TooBig(_("more than {n} shared strings, over the limit").format(
                    n=_n(MAX_SHARED_STRINGS)))
            if chars > MAX_SHARED_CHARS:
                raise _TooBig(_("its shared strings hold more than {n} million characters, "
                                "over the limit").format(n=MAX_SHARED_CHARS // 10**6))
            strings.append(text)
        return strings

    def _styles(self, part: str) -> None:
        """The cell styles (by index) whose number format shows a date, and those that show
        a percentage (with how many decimals)."""
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

        formats: dict[int, str] = dict(BUILTIN_FORMATS)
        in_xfs = False
        index = 0
        for event, elem in self._events(part, ("start", "end")):
            if elem.tag == f"{_MAIN}numFmt" and event == "end":
                code = elem.get("numFmtId", "")
                if code.isdigit():
                    formats[int(code)] = elem.get("formatCode", "")[:256]
            elif elem.tag == f"{_MAIN}cellXfs":
                in_xfs = event == "start"
            elif elem.tag == f"{_MAIN}xf" and in_xfs and event == "end":
                code = elem.get("numFmtId", "0")
                shown = formats.get(int(code), "") if code.isdigit() else ""
                if is_date_format(shown):
                    self.dates.add(index)
                elif (decimals := _percent_decimals(shown)) is not None:
                    self.percents[index] = decimals
                index += 1

    def _cells(self, part: str) -> tuple[list[tuple[int, list[Any]]], list[tuple[str, int, int]]]:
        """The rows as lists of values, from the sheet's cells as they stream by (end events
        only: a cell is read and dropped at its end, a row is placed at its end)."""
        from openpyxl.utils.cell import range_boundaries

        filled: dict[int, list[tuple[int, Any]]] = {}
        merged: list[tuple[str, int, int]] = []
        pending: list[tuple[int, Any]] = []  # (column, value) of the row being read
        count = in_row = rows_read = last_row = last_column = row = column = 0
        cell, row_tag = f"{_MAIN}c", f"{_MAIN}row"
        for _event, elem in self._events(part):
            tag = elem.tag
            if tag == cell:
                count += 1
                in_row += 1  # a row's cells stay in memory until its end: bounded here
                if count > MAX_CELLS or in_row > MAX_COLUMNS:
                    raise _TooBig(_too_many_cells() if count > MAX_CELLS else
                                  _("a row of more than {max} cells, over the limit").format(
                                      max=_n(MAX_COLUMNS)))
                column = self._column(elem.get("r"), column + 1)
                value = self._value(elem)
                if value is not None:
                    pending.append((column, value))
                    last_column = max(last_column, column)
                elem.clear()
            elif tag == row_tag:
                rows_read += 1
                if rows_read > MAX_ROWS:
                    raise _TooBig(_too_many_rows())
                row = _number(elem.get("r"), row + 1, MAX_ROWS, _too_many_rows)
                if pending:
                    filled.setdefault(row, []).extend(pending)
                    last_row = max(last_row, row)
                    pending = []
                column = in_row = 0
                elem.clear()  # its cells go with it
            elif tag == f"{_MAIN}dimension":
                self._check_dimension(elem.get("ref", ""))
            elif tag == f"{_MAIN}mergeCell":
                ref = elem.get("ref", "")
                if len(merged) < MAX_ROWS and ":" in ref:
                    _c1, first, _c2, last = range_boundaries(ref)
                    merged.append((ref, int(first or 0), int(last or 0)))
        if last_row * last_column > MAX_CELLS:
            raise _TooBig(_("its table spans {rows} rows by {columns} columns, more than "
                            "{n} cells, over the limit").format(
                rows=_n(last_row), columns=_n(last_column), n=_n(MAX_CELLS)))
        rows = []
        for number in range(1, last_row + 1):
            values: list[Any] = [None] * last_column
            for column, value in filled.pop(number, ()):
                values[column - 1] = value
            rows.append((number, values))
        return rows, merged

    def _check_dimension(self, ref: str) -> None:
        last = ref.rpartition(":")[2].replace("$", "")
        match = _CELL_REF.match(last)
        if match is None:
            return  # no dimension or a wrong one: the cells are counted as they come
        from openpyxl.utils.cell import column_index_from_string

        rows, columns = int(match.group(2)), column_index_from_string(match.group(1))
        if rows > MAX_ROWS or columns > MAX_COLUMNS:
            raise _TooBig(_("it declares a sheet of {rows} rows by {columns} columns (up to "
                            "{cell}), over the limit of {max_rows} rows and {max_columns} "
                            "columns").format(rows=_n(rows), columns=_n(columns),
                                              cell=last, max_rows=_n(MAX_ROWS),
                                              max_columns=_n(MAX_COLUMNS)))

    def _column(self, ref: str | None, default: int) -> int:
        if ref is None:
            column = default
        else:
            match = _CELL_REF.match(ref)
            if match is None:
                raise ValueError(_("bad cell reference {ref!r}").format(ref=ref[:20]))
            from openpyxl.utils.cell import column_index_from_string

            column = column_index_from_string(match.group(1))
        if column > MAX_COLUMNS:
            raise _TooBig(_("a cell in column {n}, over the limit of {max} columns").format(
                n=_n(column), max=_n(MAX_COLUMNS)))
        return column

    def _value(self, elem: Any) -> Any:
        kind = elem.get("t", "n")
        if kind == "inlineStr":
            found = elem.find(f"{_MAIN}is")
            return _cell_text(_text_of(found)) if found is not None else None
        raw = elem.findtext(f"{_MAIN}v")
        if raw is None:
            return None
        if kind == "s":
            return self.strings[int(raw)]
        if kind in ("str", "e"):
            return _cell_text(raw)
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "d":
            import datetime as dt

            return dt.datetime.fromisoformat(raw.strip())
        style = elem.get("s", "0")
        if style.isdigit() and int(style) in self.percents:
            return _percent(raw, self.percents[int(style)])
        number: float = int(raw) if raw.isdigit() else float(raw) if any(
            c in raw for c in ".eE") else int(raw)
        if style.isdigit() and int(style) in self.dates:
            from openpyxl.utils import datetime as excel

            epoch = excel.CALENDAR_MAC_1904 if self.date1904 else excel.CALENDAR_WINDOWS_1900
            return excel.from_excel(number, epoch)
        return number


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
    from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

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


def _prolog_guard() -> Any:
    from xml.sax.handler import ContentHandler

    from defusedxml.expatreader import DefusedExpatParser

    class Handler(ContentHandler):
        def startElement(self, name: str, attrs: Any) -> None:
            raise _RootSeen

    guard = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    guard.setContentHandler(Handler())
    return guard


def _guarded(guard: Any, chunk: bytes) -> Any:
    """Feed `chunk` to the prolog guard; the guard while the prolog goes on, else None."""
    from xml.sax import SAXException

    from defusedxml import DefusedXmlException

    try:
        guard.feed(chunk)
    except _RootSeen:
        return None
    except DefusedXmlException:
        raise _Entities from None
    except SAXException:
        return None  # malformed: the parser proper says where
    return guard


def _number(text: str | None, default: int, limit: int, message: Any) -> int:
    if text is None:
        value = default
    elif not text.isdigit():
        raise ValueError(_("bad row number {text!r}").format(text=text[:20]))
    else:
        value = int(text)
    if value > limit:
        raise _TooBig(message())
    return value


def _text_of(elem: Any) -> str:
    """A shared or inline string: its `t` pieces, without phonetic guides (`rPh`)."""
    pieces = []
    for child in elem:
        if child.tag == f"{_MAIN}t":
            pieces.append(child.text or "")
        elif child.tag == f"{_MAIN}r":
            pieces.append(child.findtext(f"{_MAIN}t") or "")
    return _cell_text("".join(pieces))


def _cell_text(text: str) -> str:
    if len(text) > MAX_CELL_CHARS:
        raise _TooBig(_("a cell holds more than {n} characters, over the limit").format(
            n=_n(MAX_CELL_CHARS)))
    return text
