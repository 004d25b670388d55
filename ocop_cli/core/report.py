"""A report as typed data: what every report holds (which report, the plan, the as-of date,
the agency, the period), and by kind its counts, rows and tables of figures; the period a
report covers; and `report_json`, the one way a report becomes the JSON the README documents.

`tracker.report` builds reports, `output` draws them. A task's row is the row of
`ocop tasks --format json` (`query.task_json`) with what the report form adds (`task_row`):
the JSON contract, kept as it is printed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, overload

from ocop_cli.core.directory import Directory
from ocop_cli.core.errors import UsageError
from ocop_cli.core.i18n import _
from ocop_cli.core.model import Plan, Task
from ocop_cli.core.query import target_json, task_json
from ocop_cli.core.state import TaskState, month_index
from ocop_cli.core.windows import Target

TaskRow = dict[str, Any]  # `task_row`: a JSON object of the documented contract
T = TypeVar("T")
U = TypeVar("U")

# --- periods ---------------------------------------------------------------------------------


# How a workspace cuts its report periods (`report_periods` in office.yaml): by the calendar,
# or as Decree 09/2019/NĐ-CP fixes (a month from the 15th of the month before to the 14th).
CUTS = ("calendar", "nd09")


@dataclass(frozen=True)
class Period:
    """A report period: its label (2019-Q3; two dates for one given by `--from` and `--to`),
    its first and last day, and how it was cut (`CUTS`, or "dates")."""

    label: str
    start: dt.date
    end: dt.date
    cut: str = "calendar"

    def months(self, plan: Plan) -> range:
        """The period's months counted from January of the plan year (as windows are)."""
        return range(month_index(plan, self.start), month_index(plan, self.end) + 1)

    def holds(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


_PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{1,2})|([qQ])(\d)|([hH])(\d)))?$")


def parse_period(text: str) -> Period:
    """`2019-07`, `2019-Q3`, `2019-H2` or `2019`; UsageError saying what is wrong otherwise."""
    cleaned = text.strip()
    match = _PERIOD.match(cleaned)
    if match is None:
        raise UsageError(_("--period: {text!r} is not a period; expected a month 2019-07, a "
                           "quarter 2019-Q3, a half 2019-H2 or a year 2019").format(text=text))
    year = int(match.group(1))
    if year < 1:
        raise UsageError(_("--period: year {year} is not a year of the calendar (1 to 9999)"
                           ).format(year=match.group(1)))
    if match.group(2):
        month = int(match.group(2))
        if not 1 <= month <= 12:
            raise UsageError(_("--period: month {month} is not between 1 and 12").format(
                month=month))
        return month_period(year, month)
    if match.group(3):
        quarter = int(match.group(4))
        if not 1 <= quarter <= 4:
            raise UsageError(_("--period: quarter {n} is not between 1 and 4").format(
                n=quarter))
        return _span(f"{year:04d}-Q{quarter}", year, 3 * quarter - 2, 3 * quarter)
    if match.group(5):
        half = int(match.group(6))
        if half not in (1, 2):
            raise UsageError(_("--period: half {n} is not 1 or 2").format(n=half))
        return _span(f"{year:04d}-H{half}", year, 6 * half - 5, 6 * half)
    return _span(f"{year:04d}", year, 1, 12)


def cut_as(period: Period, cut: str) -> Period:
    """A calendar period cut as the workspace says: with "nd09", from the 15th of the month
    before its first to the 14th of its last (2019-Q3: 15/06/2019 to 14/09/2019; the year
    2019: 15/12/2018 to 14/12/2019)."""
    if cut != "nd09" or period.cut != "calendar":
        return period
    before = period.start - dt.timedelta(days=1)
    return Period(period.label, before.replace(day=15), period.end.replace(day=14), "nd09")


def dates_period(start: dt.date, end: dt.date) -> Period:
    """A period given by its first and last day (`--from`, `--to`)."""
    if end < start:
        raise UsageError(_("--to {end} comes before --from {start}").format(
            end=end.isoformat(), start=start.isoformat()))
    return Period(f"{start.isoformat()}..{end.isoformat()}", start, end, "dates")


def month_period(year: int, month: int) -> Period:
    return _span(f"{year:04d}-{month:02d}", year, month, month)


def _span(label: str, year: int, first: int, last: int) -> Period:
    end = dt.date(year, 12, 31) if last == 12 else dt.date(year, last + 1, 1) - dt.timedelta(1)
    return Period(label, dt.date(year, first, 1), end)


# --- rows made as they are read ----------------------------------------------------------------


class Rows(Sequence[T], Generic[T]):
    """A report's rows, each made from its item when it is read: a report of tens of
    thousands of rows is then written without holding them all (each read makes it again,
    the same)."""

    def __init__(self, items: Sequence[Any], make: Callable[[Any], T]) -> None:
        self.items, self.make = items, make

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self.make(item) for item in self.items[index]]
        return self.make(self.items[index])

    def __iter__(self) -> Iterator[T]:
        return map(self.make, self.items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (list, Rows)) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))

    def map(self, change: Callable[[T], U]) -> Rows[U]:
        """Each row changed by `change`, as it is read."""
        make = self.make
        return Rows(self.items, lambda item: change(make(item)))

    def sorted(self, key: Callable[[T], Any]) -> Rows[T]:
        """The rows in the order `sorted(rows, key=key)` gives them, still made as read:
        only each row's key is held while they are sorted."""
        keys = [key(row) for row in self]
        order = sorted(range(len(keys)), key=keys.__getitem__)
        return Rows([self.items[at] for at in order], self.make)


# --- the parts of a report -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanRef:
    number: str
    year: int
    years: str
    title: str


@dataclass(frozen=True, slots=True)
class AgencyRef:
    id: str
    short: str
    name: str


@dataclass(frozen=True, slots=True)
class Source:
    """Who signed the plan and when, as its file says."""

    issuer: str | None
    dated: str | None


@dataclass(frozen=True, slots=True)
class Counts:
    """Tasks counted by status and, the open ones, by timing (they partition); quantities
    added only for counts of one unit; `percent` is tasks done of those not cancelled. The
    four follow-up classes (`followup`) partition the tasks not cancelled whose status is
    known; `on_time_percent` is those done on time of them."""

    tasks: int
    done: int
    in_progress: int
    not_started: int
    cancelled: int
    not_known: int
    open: int
    overdue: int
    due: int
    upcoming: int
    counted: int
    quantity_tasks: int
    quantity_met: int
    unit: str | None
    achieved: int | None
    target: int | None
    percent: float | None
    done_on_time: int = 0
    done_late: int = 0
    open_in_time: int = 0
    open_late: int = 0
    on_time_percent: float | None = None

    def tally(self) -> dict[str, int]:
        """The counts by status and timing, as `query.tally` gives them (the first fields,
        in its order)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)[:10]}


@dataclass(frozen=True, slots=True)
class AgencyCounts:
    id: str
    agency: str | None
    lead: Counts
    partner: Counts


@dataclass(frozen=True, slots=True)
class MonthCell:
    month: int
    open: int
    overdue: int


@dataclass(frozen=True, slots=True)
class MatrixRow:
    id: str
    agency: str | None
    cells: list[MonthCell]


@dataclass(frozen=True, slots=True)
class Matrix:
    """Agency × month: its open tasks in each month, and how many of those are overdue."""

    months: list[int]
    year: int | None
    labels: list[str]
    as_of_month: int
    rows: list[MatrixRow]


@dataclass(frozen=True, slots=True)
class Duty:
    n: int
    text: str
    agency: str


_OMITTED = {"omit_none": True}  # a key the JSON leaves out when it holds nothing


@dataclass(frozen=True, slots=True)
class UnitShare:
    """One unit's part of a shared task; None where it is not known. `ended`: the unit's last
    day when it had ended by the as-of date (a merger, the end of the district level).
    `since`: for a unit that began after the plan's date (a commune made mid-plan), its first
    day; it holds none of the plan's shares, only what was recorded there."""

    id: str
    place: str | None
    qty: int | None
    done: bool | None
    status: str | None
    ended: str | None = None
    since: str | None = field(default=None, metadata=_OMITTED)


@dataclass(frozen=True, slots=True)
class Share:
    min: float
    max: float


@dataclass(frozen=True, slots=True)
class PlaceRow:
    id: str
    title: str
    parent_title: str | None
    status: str
    timing: str | None
    achieved: int
    target: Target | None
    per_unit: float | None
    share: Share | None
    units: list[UnitShare]
    units_done: int
    units_not_known: int
    units_total: int
    not_by_unit: int
    level: str = "district"  # of the units that hold the shares (district, commune)
    # The units of that level that began after the plan's date, by the as-of date: no share,
    # their quantity apart from the shares' and from `not_by_unit` (the three partition it).
    new_units: list[UnitShare] | None = field(default=None, metadata=_OMITTED)


@dataclass(frozen=True, slots=True)
class LateRow:
    """A task open late (`followup`), as the follow-up section lists it: by days late, with
    who answers for it and when anyone last recorded anything on it (at the unit, for a
    unit's share)."""

    id: str
    title: str
    parent_title: str | None
    place: str | None  # the district unit whose share it is, in that unit's report
    lead: str | None
    partners: list[str]
    due_date: dt.date
    days_late: int
    last_entry: dt.date | None


@dataclass(frozen=True, slots=True)
class UnitReported:
    """Whether a district unit recorded anything in the period (as DHIS2's reporting rate
    counts a unit that was expected to report)."""

    id: str
    unit: str | None
    reported: bool
    entries: int
    last: dt.date | None


@dataclass(frozen=True, slots=True)
class Reporting:
    """The district units expected to report in a period (each shares a task whose window
    meets it), how many did, and the rate (reported of expected, in percent)."""

    expected: int
    reported: int
    rate: float | None
    units: list[UnitReported]


@dataclass(frozen=True, slots=True)
class AchievedRow:
    """What a task's entries dated inside a period recorded."""

    id: str
    parent: str | None
    title: str
    parent_title: str | None
    unit: str | None
    target: Target | None  # a unit's share when the report is a unit's
    achieved: int
    status: str
    timing: str | None
    qty: int
    entries: int
    last: dt.date
    actions: tuple[str, ...]
    places: tuple[str | None, ...]


# --- the product register's part -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stars:
    """Recognitions in force by star class."""

    stars3: int
    stars4: int
    stars5: int


@dataclass(frozen=True, slots=True)
class FunnelRow:
    """How far a district unit's products went (None: the whole province), and its stars."""

    id: str | None
    district: str | None
    registered: int
    chosen: int
    rejected: int
    sent: int
    scored: int
    recognised: int
    stars: Stars


@dataclass(frozen=True, slots=True)
class KindStars:
    kind: str
    registered: int
    stars: Stars


@dataclass(frozen=True, slots=True)
class GroupStars:
    group: str
    name: str
    registered: int
    stars: Stars


@dataclass(frozen=True, slots=True)
class Expiring:
    months: int
    until: dt.date
    products: list[dict[str, Any]]  # rows of `ocop product list --format json`


@dataclass(frozen=True, slots=True)
class CertificateYear:
    """What happened to certificates in one year: issued (a first recognition, a renewal, an
    upgrade), expired (reached their day with no renewal before it), and revoked; of those
    expired, how many were renewed later (by the report's date), and that as a percentage."""

    year: int | None  # None: every year together
    recognised: int
    renewed: int
    upgraded: int
    expired: int
    expired_renewed: int
    revoked: int
    percent: float | None  # expired_renewed of expired; None when none expired


@dataclass(frozen=True, slots=True)
class ProductSummary:
    as_of: dt.date
    by_district: list[FunnelRow]
    total: FunnelRow
    by_kind: list[KindStars]
    by_group: list[GroupStars]
    expiring: Expiring
    funnel: tuple[str, ...] = ("registered", "chosen", "rejected", "sent", "scored")  # shown
    by_year: tuple[CertificateYear, ...] = ()  # the years with something, then their total


# --- the reports -----------------------------------------------------------------------------


@dataclass(kw_only=True)
class Report:
    """What every report starts with: which report, plan, as-of date, agency, period."""

    kind: ClassVar[str]
    plan: PlanRef
    as_of: dt.date
    agency: AgencyRef | None = None
    period: Period | None = None


@dataclass(kw_only=True)
class TaskReport(Report):
    """A report on the plan's tasks: in the plan's order (`sort` "plan") or by urgency;
    `parents` the rows shown above their sub-rows; `all` every task of the report in plan
    order, for documents."""

    sort: str
    counts: Counts
    source: Source
    parents: list[TaskRow]
    all: Rows[TaskRow] | None = field(default=None, metadata=_OMITTED)


@dataclass(kw_only=True)
class Overview(TaskReport):
    kind: ClassVar[str] = "overview"
    agencies: list[AgencyCounts]
    matrix: Matrix
    overdue: Rows[TaskRow]
    places: Rows[PlaceRow]
    products: ProductSummary | None = field(default=None, metadata=_OMITTED)
    late: list[LateRow] = field(default_factory=list)


@dataclass(kw_only=True)
class AgencyReport(TaskReport):
    kind: ClassVar[str] = "agency"
    tasks: Rows[TaskRow]
    duties: list[Duty]
    places: Rows[PlaceRow]
    late: list[LateRow] = field(default_factory=list)


@dataclass(kw_only=True)
class PeriodReport(TaskReport):
    kind: ClassVar[str] = "period"
    due: Rows[TaskRow]
    achieved: Rows[AchievedRow]
    late: Rows[TaskRow]
    places: Rows[PlaceRow]
    reporting: Reporting | None = None


@dataclass(kw_only=True)
class ProductReport(Report):
    """The product register as the province reports it; a list of products has none."""

    kind: ClassVar[str] = "products"
    products: ProductSummary | None = field(default=None, metadata=_OMITTED)


def plan_ref(plan: Plan) -> PlanRef:
    return PlanRef(plan.number, plan.year, plan.years, plan.title)


def task_row(plan: Plan, task: Task, state: TaskState, directory: Directory,
             role: str | None = None, whole: TaskState | None = None,
             place: str | None = None, *, as_of: dt.date) -> TaskRow:
    """A task as `ocop tasks --format json` gives it, with what the report form adds: its
    parent's title, the target as written, the percent, the latest note and proof."""
    row = task_json(plan, task, state, directory, role, whole, place, as_of=as_of)
    parent = plan.task(task.parent) if task.parent else None
    row["parent_title"] = parent.title if parent else None
    target = state.task.target
    row["target_text"] = target.text if target else None
    row["percent"] = state.percent
    row["note"] = state.note
    row["ref"] = state.ref
    if whole is not None:
        row["whole"]["target_text"] = task.target.text if task.target else None
    return row


# --- the JSON --------------------------------------------------------------------------------


def report_json(report: Report) -> dict[str, Any]:
    """The report as the README documents its JSON: keys in the order of the fields, rows
    still made as they are read."""
    return {"report": report.kind, **_fields(report)}


def _fields(value: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for f in _FIELDS.get(type(value)) or _FIELDS.setdefault(type(value),
                                                           dataclasses.fields(value)):
        item = getattr(value, f.name)
        if item is None and f.metadata.get("omit_none"):
            continue
        if isinstance(item, Stars):  # its classes stand beside the other figures
            found.update(_fields(item))
        elif f.name == "target" and isinstance(value, (PlaceRow, AchievedRow)):
            found["target"] = target_json(item)
            if isinstance(value, AchievedRow):  # as written, for the office form
                found["target_text"] = item.text if item else None
        else:
            found[f.name] = to_json(item)
    return found


_FIELDS: dict[type, tuple[dataclasses.Field[Any], ...]] = {}


def to_json(value: Any) -> Any:
    """A part of a report as its JSON: objects, lists and text; rows made as they are read."""
    if isinstance(value, Rows):
        return value.map(to_json)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _fields(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    return value
