"""Windows and targets as plans write them.

Windows: months (`T6`, `T6,7`, `T 7-12`, `Tháng 10 - 12`, `Tháng 6/2020`), quarters
(`Quý II`, `Quý III/2020`), halves (`6 tháng đầu năm`), whole years (`Cả năm`, `Năm 2023`,
`2021-2022`, `Thường xuyên`, `Hằng năm`) and day deadlines (`Trước 30/6`,
`trước ngày 15/10/2020`), each also with a word before it as officials write them
(`Trong tháng 8/2020`, `Vào tháng 9`, `Dự kiến quý III`). Months are counted from January of
the plan's first year: in a plan for 2021-2025, 13 is January 2022.

Targets: `12`, `04`, `15-20`, `từ 800 đến 1.000`, `ít nhất 04`, `khoảng 220`, `thêm 30`,
`04 lớp tập huấn`, `100% chủ thể`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from functools import lru_cache
from typing import NamedTuple

from ocop_cli.core.i18n import _, format_number
from ocop_cli.core.text import clean, fold

WINDOW_EXAMPLE = "T6, T7-9, Quý II, 6 tháng đầu năm, Cả năm, Trước 30/6"  # any one year
TARGET_EXAMPLE = "12, 15-20, ít nhất 04, khoảng 220, thêm 30, 04 lớp, 100%"
QUALIFIERS = ("", "at_least", "about", "more")
MOST_YEARS = 10  # a plan over more years than a ten-year strategy is a typing slip
KINDS = ("count", "share")


class Window(NamedTuple):
    """When a task is to be carried out, with the text it was written as: months counted from
    January of the plan's first year and, for a deadline, its day in the last month."""

    text: str
    months: tuple[int, ...]
    day: int | None = None

    @property
    def first(self) -> int:
        return self.months[0]

    @property
    def last(self) -> int:
        return self.months[-1]

    def deadline(self, year: int) -> str | None:
        """The deadline day of a plan whose first year is `year`, as 2020-06-30, or None."""
        if self.day is None:
            return None
        years, month = divmod(self.last - 1, 12)
        return f"{year + years:04d}-{month + 1:02d}-{self.day:02d}"

    def timing(self, month: int, day: int) -> str:
        """`upcoming`, `due` or `overdue` on day `day` of month `month` (counted as the
        months are): overdue from the month after the window, or from the day after a
        deadline."""
        if month < self.first:
            return "upcoming"
        if month > self.last or (month == self.last and self.day is not None and day > self.day):
            return "overdue"
        return "due"


class Target(NamedTuple):
    """A quantity to reach, as written and as read: one number or a range (met at its
    minimum), with its qualifier (at least, about, more), its kind (a count, or a share in
    percent of a population) and the unit or population written in the cell."""

    text: str
    min: int
    max: int
    qualifier: str = ""
    kind: str = "count"
    unit: str | None = None

    @property
    def measure(self) -> str | None:
        """What it counts in when ĐVT is empty: `04 lớp` counts lớp, `100% chủ thể` is in %."""
        return "%" if self.kind == "share" else self.unit

    def unit_problem(self, unit: str) -> str | None:
        """Why the unit written in the cell cannot go with ĐVT `unit`, if it cannot (a
        share's words name its population, not a unit)."""
        if self.kind == "count" and self.unit and fold(self.unit) != fold(unit):
            return _("{text!r} names the unit {unit!r} but ĐVT says {dvt!r}; keep one of "
                     "them").format(text=self.text, unit=self.unit, dvt=unit)
        return None

    @property
    def shown(self) -> str:
        """`12`, `15-20`, `≥ 4`, `~220`, `+30`, `100%`: what the plan asks, in short."""
        number = str(self.min) if self.min == self.max else f"{self.min}-{self.max}"
        prefix = {"at_least": "≥ ", "about": "~", "more": "+"}.get(self.qualifier, "")
        return prefix + number + ("%" if self.kind == "share" else "")


_DIGITS = re.compile(r"\d+")


def readable(shown: str) -> str:
    """A target's short form (`Target.shown`, as JSON and CSV carry it) as people read it:
    numbers as the language writes them, an en dash between a range's ends (`800–1.000` in
    Vietnamese, `800–1,000` in English)."""
    return _DIGITS.sub(lambda m: format_number(int(m.group())), shown).replace("-", "–")


# --- windows ---------------------------------------------------------------------------------

_DASH = re.compile(r"\s*(?:[-–—]|\bden\b)\s*")
_YEAR = r"(?:\s*(?:/|nam)?\s*(\d{4}))?"
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_Q = r"(iv|iii|ii|i|[1-4])"
_DEADLINE = re.compile(r"^(?:hoan thanh )?truoc (?:ngay )?(\d{1,2})\s*/\s*(\d{1,2})"
                       r"(?:\s*/\s*(\d{4}))?$")
_ALL_PLAN = ("thuong xuyen", "hang nam", "thuong xuyen hang nam", "hang nam thuong xuyen")
_ONE_YEAR = ("ca nam", "trong nam", "lien tuc trong nam", "thuong xuyen trong nam")
_YEARS = re.compile(r"^(?:ca nam|trong nam|nam|giai doan)?\s*(\d{4})(?:-(\d{4}))?$")
_QUARTER = re.compile(rf"^(?:quy\s*)?{_Q}(?:-(?:quy\s*)?{_Q})?{_YEAR}$")
_HALF = re.compile(rf"^6 thang (dau|cuoi) nam{_YEAR}$")
_MONTH = r"(?:thang|t)?\s*\.?\s*(\d{1,2})(?:\s*(?:/|nam)\s*(\d{4}))?"
_MONTHS = re.compile(rf"^(?:tu\s+)?{_MONTH}(?:-{_MONTH})?$")
# Words put before a window that change nothing of its months: "Trong tháng 8/2020" is
# August 2020, "Dự kiến quý III" the third quarter. "Trong năm" alone is a window of its own.
_LEADING = re.compile(r"^(?:du kien|dien ra|vao|trong)\s+(?=\S)")


class _Years:
    """The years a plan covers, to turn (year, month) into a month counted from the first."""

    def __init__(self, text: str, first: int | None, last: int | None) -> None:
        self.text, self.first = text, first
        self.last = last if last is not None else first
        self.several = first is not None and self.last is not None and self.last > first

    def month(self, month: int, year: int | None) -> int:
        if not 1 <= month <= 12:
            raise ValueError(_("{text!r}: month {month} is not between 1 and 12").format(
                text=self.text, month=month))
        return 12 * (self.year(year) - (self.first or 0)) + month

    def year(self, year: int | None) -> int:
        if year is None:
            if self.several:
                raise ValueError(_(
                    "{text!r} does not say which year of a plan for {first}-{last}; write the "
                    "year in it (e.g. Quý II/{first}, Tháng 6/{first}, Năm {first}), or Hằng "
                    "năm for every year").format(text=self.text, first=self.first,
                                                 last=self.last))
            return self.first or 0
        if self.first is None:
            raise ValueError(_("{text!r} names a year, which needs the plan's year").format(
                text=self.text))
        if not self.first <= year <= (self.last or self.first):
            span = (str(self.first) if not self.several else f"{self.first}-{self.last}")
            raise ValueError(_("{text!r}: {year} is outside the plan's years ({span}); a plan "
                               "over several years says so with last_year").format(
                text=self.text, year=year, span=span))
        return year

    def span(self, start: int, end: int) -> range:
        if end < start:
            raise ValueError(_("{text!r} runs backwards").format(text=self.text))
        return range(start, end + 1)


@lru_cache(maxsize=1024)  # a plan repeats a few dozen windows thousands of times
def parse_window(text: str, year: int | None = None, last_year: int | None = None) -> Window:
    """The window `text` means in a plan for `year` (to `last_year`); ValueError naming the
    cell as written, with examples, when it cannot be read with confidence."""
    written = clean(text)
    folded = _DASH.sub("-", fold(written).replace("–", "-").replace("—", "-"))
    while folded not in _ONE_YEAR and _LEADING.match(folded):
        folded = _LEADING.sub("", folded, count=1)
    if not folded:
        raise ValueError(_("empty window"))
    years = _Years(written, year, last_year)
    deadline = _DEADLINE.match(folded)
    if deadline is not None:
        day, month = int(deadline.group(1)), int(deadline.group(2))
        when = years.year(int(deadline.group(3)) if deadline.group(3) else None)
        if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(when or 2000, month)[1]:
            raise ValueError(_("{text!r}: {day}/{month} is not a day of the year").format(
                text=written, day=day, month=month))
        last = month + 12 * (when - year) if year is not None else month
        return Window(text, tuple(range(1, last + 1)), day)
    months: set[int] = set()
    kind = ""
    for part in re.split(r"\s*(?:[,;+&]|\bva\b)\s*", folded):
        if not part:
            raise ValueError(_cannot(years))
        kind = _part(part, kind, years, months)
    return Window(text, tuple(sorted(months)))


def _part(part: str, kind: str, years: _Years, months: set[int]) -> str:
    """Add the months one comma-separated part means; its kind, which a bare number after it
    continues (`Quý II, III`, `T6,7`)."""
    def year_of(group: str | None) -> int | None:
        return int(group) if group else None

    if part in _ALL_PLAN:
        span = 12 * ((years.last or 0) - (years.first or 0) + 1)
        months.update(range(1, span + 1))
        return "plan"
    if part in _ONE_YEAR:
        first = years.month(1, None)
        months.update(range(first, first + 12))
        return "year"
    match = _YEARS.match(part)
    if match is not None:
        start = years.month(1, int(match.group(1)))
        end = years.month(12, int(match.group(2) or match.group(1)))
        months.update(years.span(start, end))
        return "year"
    match = _QUARTER.match(part)
    if match is not None and (part.startswith("quy") or kind == "quarter"):
        when = year_of(match.group(3))
        first = _ROMAN[match.group(1)]
        last = _ROMAN[match.group(2)] if match.group(2) else first
        months.update(years.span(years.month(3 * first - 2, when), years.month(3 * last, when)))
        return "quarter"
    match = _HALF.match(part)
    if match is not None:
        when = year_of(match.group(2))
        start = 1 if match.group(1) == "dau" else 7
        months.update(range(years.month(start, when), years.month(start + 5, when) + 1))
        return "half"
    match = _MONTHS.match(part)
    if match is not None and (kind in ("", "month") or part.startswith("t")):
        end_year = year_of(match.group(4)) or year_of(match.group(2))
        start = years.month(int(match.group(1)), year_of(match.group(2)) or end_year)
        end = years.month(int(match.group(3)), end_year) if match.group(3) else start
        months.update(years.span(start, end))
        return "month"
    raise ValueError(_cannot(years))


def window_examples(first: int | None = None, last: int | None = None) -> str:
    """Windows that a plan for `first` (to `last`) reads, to offer where a cell cannot be
    read: a plan over several years refuses a window that does not say its year."""
    if first is None:
        return WINDOW_EXAMPLE
    if last is None or last <= first:
        return f"{WINDOW_EXAMPLE}, Tháng 6/{first}"
    return (f"Quý II/{first}, Tháng 6/{first}, 6 tháng đầu năm {first}, Năm {first}, "
            f"{first}-{last}, Trước 30/6/{first}, Hằng năm")


def _cannot(years: _Years) -> str:
    return _("cannot read {text!r} as a window; write e.g. {examples}").format(
        text=years.text, examples=window_examples(years.first, years.last))


def months_of(text: str) -> tuple[int, ...]:
    """The months of the plan year a window of a one-year plan means, in order."""
    return parse_window(text).months


# --- targets ---------------------------------------------------------------------------------

_NUMBER = r"(\d{1,3}(?:\.\d{3}){1,3}|\d{1,10})"
LARGEST = 1_000_000_000  # no plan counts beyond this; a longer number is a typing slip
_QUALIFIER_WORDS = (("it nhat", "at_least"), ("toi thieu", "at_least"), ("≥", "at_least"),
                    (">=", "at_least"), ("khoang", "about"), ("~", "about"),
                    ("tang them", "more"), ("them", "more"), ("+", "more"))
_AMOUNT = re.compile(rf"^(?:tu\s+)?{_NUMBER}(?:\s*(?:-|\bden\b)\s*{_NUMBER})?\s*(%)?(?=\s|$)")
_STARTS_WITH_NUMBER = re.compile(r"^\s*(?:(?:it nhat|toi thieu|khoang|them|tu)\s+)?\d")


@lru_cache(maxsize=1024)
def parse_target(text: str) -> Target:
    """The target `text` means; ValueError naming the cell as written, with examples, when
    it cannot be read with confidence (several targets in one cell among them)."""
    written = clean(text)
    folded = fold(written).replace("–", "-").replace("—", "-")
    if re.search(r"\d,\d", folded):
        raise ValueError(_("{text!r}: a target is a whole number and the comma marks "
                           "decimals; write thousands as 1000 or 1.000").format(text=written))
    parts = [p for p in re.split(r"\s*(?:[,;+]|\bva\b)\s*", folded) if p]
    if len(parts) > 1 and all(_STARTS_WITH_NUMBER.match(p) for p in parts):
        raise ValueError(_(
            "{text!r} holds {n} targets; give each its own sub-row (a row with - in TT, its "
            "quantity and unit) under this task, or write one total").format(
            text=written, n=len(parts)))
    qualifier, rest = "", folded
    for words, meaning in _QUALIFIER_WORDS:
        if rest.startswith(words) and (not words[-1].isalpha() or rest[len(words):][:1] == " "):
            qualifier, rest = meaning, rest[len(words):].lstrip()
            break
    match = _AMOUNT.match(rest)
    if match is None:
        raise ValueError(_("cannot read {text!r} as a quantity; write e.g. {examples}").format(
            text=written, examples=TARGET_EXAMPLE))
    low = int(match.group(1).replace(".", ""))
    high = int(match.group(2).replace(".", "")) if match.group(2) else low
    share = match.group(3) is not None
    if qualifier and match.group(2):
        raise ValueError(_("{text!r}: a range is its own minimum and maximum; write {low}-{high} "
                           "without a qualifier").format(text=written, low=low, high=high))
    if low > high:
        raise ValueError(_("range {text!r} has its minimum above its maximum").format(
            text=written))
    if high > LARGEST:
        raise ValueError(_("{text!r} is more than a plan counts ({largest})").format(
            text=written, largest=LARGEST))
    if share and (high > 100 or qualifier == "more"):
        raise ValueError(_("{text!r}: a share is a percentage of a population, at most 100%")
                         .format(text=written))
    count = len(rest[match.end():].split())
    unit = " ".join(written.split()[-count:]) if count else None
    return Target(text, low, high, qualifier, "share" if share else "count", unit)


def read_month(text: str) -> tuple[int | None, int]:
    """`--month` as typed: `7` or `2023-07`, as (year or None, month); ValueError otherwise."""
    match = re.fullmatch(r"\s*(?:(\d{4})-)?(\d{1,2})\s*", text)
    if match is None:
        raise ValueError(_("{text!r} is not a month; write 7 or 2023-07").format(text=text))
    month = int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(_("{value} is not between {low} and {high}").format(
            value=month, low=1, high=12))
    return (int(match.group(1)) if match.group(1) else None), month


def month_option(text: str, year: int, last_year: int) -> int:
    """`--month` (`7`, or `2023-07`) counted as windows count months; ValueError saying what
    to write when the plan's years make it wrong."""
    when, month = read_month(text)
    if when is None:
        if last_year > year:
            raise ValueError(_("--month: the plan runs over {first}-{last}; name the year too, "
                               "e.g. {first}-{month:02d}").format(
                first=year, last=last_year, month=month))
        return month
    if not year <= when <= last_year:
        span = str(year) if last_year == year else f"{year}-{last_year}"
        raise ValueError(_("--month: {text!r} is outside the plan's years ({span})").format(
            text=text.strip(), span=span))
    return 12 * (when - year) + month


def months_later(day: dt.date, months: int) -> dt.date | None:
    """The same day `months` later (the month's last day where that month is shorter: 29
    February a year on is 28 February); None when it would fall after 31/12/9999, the last
    day the calendar here holds. Every date derived from another by months or years (an
    expiry, the end of a look ahead) is reckoned here."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    if year > dt.MAXYEAR:
        return None
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
