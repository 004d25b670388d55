"""The fast copy of a history line's format (`schema.EntryDoc`, the authority): a line exactly
as `append` writes it, read by one regular expression made from `model.Entry`'s fields (their
`Kind`, in the order `model.LINE_KEYS` writes them), without pydantic. Any other line, and
any value this copy is not sure of, is left to the format itself (`history.entry_reader`).

Why it exists (bench/run.py, 10,000 tasks and 100,000 entries): importing pydantic and
building the format takes 0.13 s of CPU, more than the first listing after a write may take
in all (1.3× `task overdue` with it, against the 1.0× budget); and the regular expression
reads 100,000 lines in half the time pydantic takes, which the first command in a fresh clone
needs (5× budget). `tests/test_history_format.py` checks that whatever this copy reads,
the format reads alike.
"""

from __future__ import annotations

import datetime as dt
import re
from operator import itemgetter
from typing import Any

from ocop_cli.core.model import ACTIONS, LINE_KEYS, Entry, kinds_of

_HOURS = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
_NOT_TEXT = r'"\\\x00-\x1f'  # a quote, an escape or a control character: JSON escapes them
# What each kind of field takes, as `append` writes it: a copy of `schema._KINDS`, stricter (a
# text with space around it, an escape, a time written another way are left to the format,
# and so is an offset of -00:00, which ISO writes +00:00).
_KINDS = {
    "text": rf'"([^{_NOT_TEXT}\s](?:[^{_NOT_TEXT}]*[^{_NOT_TEXT}\s])?)"',
    "note": rf'"([^{_NOT_TEXT}]*)"',
    "moment": rf'"([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T{_HOURS}:[0-5][0-9](?:\.[0-9]{{6}})?'
              rf'(?:\+{_HOURS}|-(?!00:00){_HOURS})?)"',
    "day": r'"([0-9]{4}-[0-9]{2}-[0-9]{2})"',
    "action": '"(' + "|".join(ACTIONS) + ')"',
    "count": r"(0|[1-9][0-9]{0,17})",
    "year": r"(19[0-9]{2}|2[01][0-9]{2}|2200)",
}


def _line() -> re.Pattern[str]:
    """A line's JSON object as `append` writes it: every key in its place, those with a
    default left out when they have nothing."""
    kinds = kinds_of(Entry)
    parts = []
    for n, key in enumerate(LINE_KEYS):
        part = ("" if n == 0 else ", ") + f'"{key}": ' + _KINDS[kinds[key].name]
        parts.append(f"(?:{part})?" if key in Entry._field_defaults else part)
    return re.compile(r"\{" + "".join(parts) + r"\}")


_LINE = _line()
# The fields of an entry (all but its source) from the groups of `_LINE`.
_FIELDS = Entry._fields[:-1]
_IN_ORDER = itemgetter(*(LINE_KEYS.index(key) for key in _FIELDS))


def _at(*kinds: str) -> list[int]:
    """Where the fields of these kinds are, among an entry's."""
    found = kinds_of(Entry)
    return [at for at, key in enumerate(_FIELDS) if found[key].name in kinds]


# The moments and days are checked (a day that exists), days read; numbers read; the texts
# that repeat from line to line (all but the entry's own id) kept once each.
_MOMENTS, _DAYS, _NUMBERS = _at("moment"), _at("day"), _at("count", "year")
_SHARED = [at for at in _at("text", "action") if at != 0]


class Reader:
    """Lines as `append` writes them, each day read once, each text that repeats kept once."""

    def __init__(self) -> None:
        self.days: dict[str, dt.date | None] = {}
        self.shared: dict[str, str] = {}

    def values(self, body: str) -> tuple[Any, ...] | None:
        """An entry's fields but its source, from a line's JSON text written as `append`
        writes it; None for any other, or a value this copy is not sure of."""
        found = _LINE.fullmatch(body)
        if found is None:
            return None
        values = list(_IN_ORDER(found.groups()))
        days, day = self.days, self.day
        for at in _MOMENTS:
            if (days.get(values[at][:10]) or day(values[at][:10])) is None:
                return None
        for at in _DAYS:
            values[at] = days.get(values[at]) or day(values[at])
            if values[at] is None:
                return None
        for at in _NUMBERS:
            if values[at] is not None:
                values[at] = int(values[at])
        share = self.shared.setdefault
        for at in _SHARED:
            if values[at] is not None:
                values[at] = share(values[at], values[at])
        return tuple(values)

    def day(self, text: str) -> dt.date | None:
        """The day `text` names, None when there is none."""
        try:
            found: dt.date | None = dt.date.fromisoformat(text)
        except ValueError:
            found = None
        self.days[text] = found
        return found
