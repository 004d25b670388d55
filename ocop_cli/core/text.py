"""Vietnamese text: normal form, folded keys for matching, alphabetical order, safe display."""

from __future__ import annotations

import re
import unicodedata

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
