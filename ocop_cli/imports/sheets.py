"""Tables from files anyone may send: TSV, CSV and XLSX (a file or standard input), within
limits. `read_sheet` is the one way in.

Every size is checked before what it sizes is allocated: the file's bytes, then for a text
table its lines and cells before they are split, and for a workbook what `xlsx` checks (the
zip, each part as it streams, the sheet's rows, columns and cells, the shared strings). A
file over a limit is refused with one message naming the limit instead of filling the memory.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

from ocop_cli.core.errors import InvalidData, UsageError
from ocop_cli.core.i18n import _
from ocop_cli.core.text import FORMULA_START, nfc
from ocop_cli.imports.bounds import (
    MAX_BYTES,
    MAX_CELLS,
    MAX_ROWS,
    Sheet,
    TooBig,
    refuse,
    too_many_cells,
    too_many_rows,
)
from ocop_cli.imports.xlsx import read_workbook
from ocop_cli.store.yamlio import decode, read_bytes

__all__ = ["MAX_BYTES", "Sheet", "read_sheet", "read_stdin"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CHUNK = 64 * 1024


def read_sheet(file: str | Path, sheet: str | None = None) -> Sheet:
    """The rows of an XLSX, CSV or TSV file, or of standard input when `file` is "-" (TSV
    when its first line holds a tab, else CSV), read within the limits above."""
    if str(file) == "-":
        if sheet is not None:
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
            raise refuse("<stdin>", _("more than {limit} MB on standard input, over the limit"
                                       ).format(limit=limit // 2**20))


# --- text -----------------------------------------------------------------------------------


def _lines(source: str, text: str) -> list[str]:
    for breaks, _match in enumerate(_LINE_BREAK.finditer(text), 1):
        if breaks > MAX_ROWS:
            raise refuse(source, too_many_rows())
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _text_sheet(source: str, text: str, delimiter: str | None, csv_file: bool = False
                ) -> Sheet:
    text = nfc(text)
    lines = _lines(source, text)
    first = next((line for line in lines if line.strip()), "")
    if delimiter is None and not csv_file and "\t" in first:
        delimiter = "\t"
    if delimiter == "\t" and not csv_file:
        # Pasted from a document: cells are split at tabs and nothing else, so that quotes
        # in a title stay as written.
        if text.count("\t") + len(lines) > MAX_CELLS:
            raise refuse(source, too_many_cells())
        return Sheet(source, [(n, line.split("\t")) for n, line in enumerate(lines, 1)])
    if delimiter is None:
        counts = {d: first.count(d) for d in (",", ";", "\t")}
        delimiter = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    if text.count(delimiter) + len(lines) > MAX_CELLS:
        raise refuse(source, too_many_cells())
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
    if rows and _quote_left_open("\n".join(lines[rows[-1][0] - 1:]), delimiter):
        error = InvalidData([], _("{source}, line {line}: a quote (\") opens a cell and never "
                                  "closes, so every line after it would be read into that "
                                  "cell; nothing was imported").format(
            source=source, line=rows[-1][0]))
        error.hint = _("Close the quote, or remove it.")
        raise error
    return Sheet(source, rows)


def _quote_left_open(last_row: str, delimiter: str) -> bool:
    """Whether a quoted cell of a CSV's last row runs to the end of the file: the lenient
    reader takes the rest of the file into that cell, where the strict one stops at the end
    of the data (an unclosed quote can only be in the last row: it swallows what follows)."""
    reader = csv.reader(io.StringIO(last_row, newline=""), delimiter=delimiter, strict=True)
    try:
        for _cells in reader:
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)  # the reader's words for it
    return False


def _unguarded(text: str) -> str:
    """A CSV cell as it was before ocop (or a spreadsheet) guarded it against formulas."""
    return text[1:] if text[:1] == "'" and text[1:].startswith(FORMULA_START) else text


# --- XLSX ---------------------------------------------------------------------------------------


def _xlsx_sheet(path: Path, raw: bytes, name: str | None) -> Sheet:
    try:
        return read_workbook(path, raw, name)
    except TooBig as exc:
        raise refuse(path, str(exc)) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
            KeyError, IndexError) as exc:
        raise InvalidData([], _("{path}: not a readable XLSX workbook ({error}); nothing was "
                                "imported").format(path=path, error=exc)) from None
