"""Month windows (`T6`, `T6,7`, `T 7-12`, `T7 - T12` …) and targets (`12`, `01`, `15-20`)."""

from __future__ import annotations

import re
from typing import NamedTuple

from ocop_cli.i18n import _
from ocop_cli.text import fold

_MONTH = r"(?:thang|t)?\s*\.?\s*(\d{1,2})"
_PART = re.compile(rf"^{_MONTH}(?:\s*[-–—]\s*{_MONTH})?$")
_TARGET = re.compile(r"^(\d+)(?:\s*[-–—]\s*(\d+))?$")


class Window(NamedTuple):
    """A window of months of the plan year, with the text it was written as."""

    text: str
    months: tuple[int, ...]

    @property
    def first(self) -> int:
        return self.months[0]

    @property
    def last(self) -> int:
        return self.months[-1]


class Target(NamedTuple):
    """A quantity to reach: one number, or a range met at its minimum."""

    text: str
    min: int
    max: int


def months_of(text: str) -> tuple[int, ...]:
    """The months a window means, in order; ValueError with the reason when it means none."""
    folded = fold(text)
    if not folded:
        raise ValueError(_("empty window"))
    months: set[int] = set()
    for part in folded.split(","):
        match = _PART.match(part.strip())
        if match is None:
            raise ValueError(_("cannot read {part!r} as months (expected e.g. T6, T6,7, T7-9)")
                             .format(part=part.strip()))
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) else start
        for month in (start, end):
            if not 1 <= month <= 12:
                raise ValueError(_("month {month} is not between 1 and 12").format(month=month))
        if end < start:
            raise ValueError(_("window runs backwards: T{start} to T{end}").format(
                start=start, end=end))
        months.update(range(start, end + 1))
    return tuple(sorted(months))


def parse_window(text: str) -> Window:
    return Window(text=text, months=months_of(text))


def parse_target(text: str) -> Target:
    """`12`, `01` (= 1) or a range `15-20`; ValueError when min > max or it is not a quantity."""
    match = _TARGET.match(text.strip())
    if match is None:
        raise ValueError(_("cannot read {text!r} as a quantity (expected e.g. 12 or 15-20)")
                         .format(text=text))
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) else low
    if low > high:
        raise ValueError(_("range {text!r} has its minimum above its maximum").format(text=text))
    return Target(text=text, min=low, max=high)
