"""Vietnamese text: normal form, folded keys for matching, alphabetical order, safe display;
and text in spreadsheet cells (CSV and XLSX) that stays text, for the files ocop writes and
reads back alike."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from typing import Any, TextIO

_SPACES = re.compile(r"\s+")
# C0 and C1 controls and DEL, except tab and newline; bidi overrides and isolates too, since
# they reorder what a reader sees.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_ALPHABET = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}  # huyền hỏi ngã sắc nặng
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}  # breve, circumflex, horn: part of the letter


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _invisible(text: str) -> str:
    """`text` without format characters (Unicode category Cf: zero-width spaces and joiners,
    word joiners, byte-order marks, bidirectional controls): they print as nothing, so two
    names that differ only by them would look the same and count as two."""
    if text.isascii():
        return text
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def fold(text: str) -> str:
    """The key two spellings share when a person means the same name.

    NFC or NFD, with or without accents, đ typed as d, any case, any spacing: all fold alike.
    """
    decomposed = unicodedata.normalize("NFD", _invisible(text))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    stripped = stripped.replace("đ", "d").replace("Đ", "D")
    return _SPACES.sub(" ", stripped.casefold()).strip()


def clean(text: str) -> str:
    """NFC without invisible format characters, runs of white space made one space: what every
    name from a person goes through before it is stored or compared."""
    return _SPACES.sub(" ", nfc(_invisible(text))).strip()


def visible(text: str) -> str:
    """Text from data made safe to print: control characters shown as escapes, never obeyed."""
    if text.isprintable():  # no control character can be in it: the common case, quickly
        return text
    return CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    # `\x202e` would read as \x20 then "2e": wider characters get the \u form.
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def sort_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    """Order of the Vietnamese alphabet: a ă â b c d đ e ê …, then tones, then the raw text."""
    letters: list[int] = []
    tones: list[int] = []
    for char in unicodedata.normalize("NFD", text.casefold()):
        if char in _TONES:
            if tones:
                tones[-1] = _TONES[char]
            continue
        if char in _LETTER_MARKS and letters:
            base = _ALPHABET[letters[-1]] if letters[-1] < len(_ALPHABET) else ""
            combined = unicodedata.normalize("NFC", base + char)
            if combined in _ALPHABET:
                letters[-1] = _ALPHABET.index(combined)
            continue
        index = _ALPHABET.find(char)
        letters.append(index if index >= 0 else len(_ALPHABET) + ord(char))
        tones.append(0)
    return tuple(letters), tuple(tones), text


# --- spreadsheet cells -----------------------------------------------------------------------


# What a spreadsheet opening a CSV runs as a formula when a cell starts with it (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[-+](?:\d+(?:\.\d+)?)?\Z")  # -3, or a lone dash: nothing to run


def csv_text(text: str) -> str:
    """Text as a CSV cell holds it: a leading apostrophe before a start that a spreadsheet
    would run as a formula, so that it shows the text instead."""
    bare = text.lstrip(" ")  # an indented title as well: spreadsheets may trim the spaces
    if bare.startswith(FORMULA_START) and not _SIGNED_NUMBER.match(bare):
        return "'" + text
    return text


class CsvWriter:
    """`csv.writer` whose text cells are neutralised by `csv_text`."""

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")

    def writerow(self, cells: Iterable[Any]) -> None:
        self._writer.writerow([csv_text(c) if isinstance(c, str) else c for c in cells])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for cells in rows:
            self.writerow(cells)


def xlsx_text(text: str) -> Any:
    """Text for an XLSX cell that stays text: openpyxl stores a string that starts with "="
    as a formula and "#N/A" as an error, but never rich text."""
    # start-up: openpyxl, 180 ms, only for XLSX cells
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.cell.rich_text import CellRichText

    if text.startswith("=") or text in ERROR_CODES:
        return CellRichText(text)
    return text
