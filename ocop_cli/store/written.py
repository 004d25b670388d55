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
# text with space around it, an escape, a time written another way are left to the format).
_KINDS = {
    "text": rf'"([^{_NOT_TEXT}\s](?:[^{_NOT_TEXT}]*[^{_NOT_TEXT}\s])?)"',
    "note": rf'"([^{_NOT_TEXT}]*)"',
    "moment": rf'"([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T{_HOURS}:[0-5][0-9](?:\.[0-9]{{6}})?'
              rf'(?:[+-]{_HOURS})?)"',
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
# The fields of an entry from the groups of `_LINE`, and those that are not text.
_IN_ORDER = itemgetter(*(LINE_KEYS.index(key) for key in Entry._fields[:-1]))
_BY_KIND = {name: [at for at, key in enumerate(Entry._fields[:-1])
                   if kinds_of(Entry)[key].name == name] for name in ("day", "moment")}
_NUMBERS = [at for at, key in enumerate(Entry._fields[:-1])
            if kinds_of(Entry)[key].name in ("count", "year")]


class Reader:
    """Lines as `append` writes them, each day read once."""

    def __init__(self) -> None:
        self.days: dict[str, dt.date | None] = {}

    def values(self, body: str) -> tuple[Any, ...] | None:
        """An entry's fields but its source, from a line's JSON text written as `append`
        writes it; None for any other, or a value this copy is not sure of."""
        found = _LINE.fullmatch(body)
        if found is None:
            return None
        values = list(_IN_ORDER(found.groups()))
        for at in _BY_KIND["moment"]:
            if values[at].endswith("-00:00") or self.day(values[at][:10]) is None:
                return None  # the format writes it otherwise
        for at in _BY_KIND["day"]:
            day = values[at] = self.day(values[at])
            if day is None:
                return None
        for at in _NUMBERS:
            if values[at] is not None:
                values[at] = int(values[at])
        return tuple(values)

    def day(self, text: str) -> dt.date | None:
        """The day `text` names, None when there is none."""
        if text in self.days:
            return self.days[text]
        try:
            found: dt.date | None = dt.date.fromisoformat(text)
        except ValueError:
            found = None
        self.days[text] = found
        return found
