"""Following a task up as government task supervision counts it: its due date, when it was
completed, and which of the four classes it is in on an as-of date.

- `due_date`: the last day of the task's window (the day itself for a day deadline such as
  `Trước 30/6`); a parent's is its sub-rows' latest.
- `class`: `done_on_time` (completed on or before the due date), `done_late` (after it),
  `open_in_time` (not done, the as-of date on or before the due date), `open_late` (not done
  after it); none for a cancelled task or a unit's share nobody reported.
- `days_late`: the days from the due date to the completion (done late) or to the as-of date
  (open late); 0 in time, none without a class.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any, NamedTuple

from ocop_cli.core.i18n import _, format_number, ngettext
from ocop_cli.core.model import Entry, Plan, Task
from ocop_cli.core.state import OPEN, TaskState, effective, months_of_task

CLASSES = ("done_on_time", "done_late", "open_in_time", "open_late")
# The keys every task row carries for it, in this order.
KEYS = ("due_date", "completed", "class", "days_late")


class FollowUp(NamedTuple):
    due_date: dt.date | None
    completed: dt.date | None
    cls: str | None
    days_late: int | None

    def json(self) -> dict[str, Any]:
        """The keys of `KEYS` as a task row carries them (dates as ISO)."""
        return {"due_date": self.due_date.isoformat() if self.due_date else None,
                "completed": self.completed.isoformat() if self.completed else None,
                "class": self.cls, "days_late": self.days_late}


def due_date(plan: Plan, task: Task) -> dt.date | None:
    """The last day of the task's window, or of its sub-rows' months for a parent."""
    window = task.window
    if window is not None and window.day is not None:
        return dt.date.fromisoformat(window.deadline(plan.year) or "")
    months = months_of_task(plan, task)
    if not months:
        return None
    year, month = plan.calendar_month(months[-1])
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def follow_up(plan: Plan, state: TaskState, as_of: dt.date) -> FollowUp:
    """The task's (or a unit's share's: `state.for_unit`) class on `as_of`."""
    due = due_date(plan, state.task)
    completed = dt.date.fromisoformat(state.completed) if state.completed else None
    if due is None or not (state.status == "done" or state.status in OPEN):
        return FollowUp(due, completed, None, None)
    if state.status == "done":
        if completed is None:  # done, but by no entry that says when: not classed
            return FollowUp(due, None, None, None)
        late = (completed - due).days
        return FollowUp(due, completed, "done_late" if late > 0 else "done_on_time",
                        max(late, 0))
    late = (as_of - due).days
    return FollowUp(due, None, "open_late" if late > 0 else "open_in_time", max(late, 0))


def class_counts(followups: list[FollowUp]) -> dict[str, int]:
    """How many are in each class: they partition the tasks not cancelled (a unit's share
    not known is in none)."""
    counts = dict.fromkeys(CLASSES, 0)
    for item in followups:
        if item.cls is not None:
            counts[item.cls] += 1
    return counts


def on_time_percent(counts: dict[str, int]) -> float | None:
    """Of the tasks classed, the percent done on time (one decimal)."""
    total = sum(counts.values())
    return round(100 * counts["done_on_time"] / total, 1) if total else None


def class_label(cls: str | None) -> str:
    """A class in words, as a column or a count names it."""
    return {"done_on_time": _("done on time"), "done_late": _("done late"),
            "open_in_time": _("open within time"), "open_late": _("open late")}.get(cls or "", "")


def classes_words(classes: dict[str, int], on_time: float | None) -> str:
    """The follow-up classes in words (zeros left out), with the percent done on time."""
    names = {"done_on_time": _("{n} done on time"), "done_late": _("{n} done late"),
             "open_in_time": _("{n} open within time"), "open_late": _("{n} open late")}
    parts = [names[c].format(n=classes[c]) for c in CLASSES if classes[c]]
    if on_time is not None:
        parts.append(_("{percent}% on time").format(percent=format_number(on_time)))
    return ", ".join(parts)


def class_note(cls: str | None, days_late: int | None) -> str:
    """What a status cell adds after the status: ", on time" for one done on time, ", 36 days
    late" for one done or open late; nothing for one open within time."""
    if cls == "done_on_time":
        return ", " + _("on time")
    if cls in ("done_late", "open_late") and days_late:
        return ", " + ngettext("{n} day late", "{n} days late", days_late).format(n=days_late)
    return ""


# --- reminders -------------------------------------------------------------------------------


def to_remind(item: FollowUp, as_of: dt.date, within: int, at: tuple[int, ...] = ()) -> bool:
    """Whether a task (or a unit's share) in this state is one to remind of on `as_of`: open
    late always; open within time when its due date is at most `within` days away, or, with
    `at` (a schedule run daily: 7, 3, 1), exactly one of those many days away."""
    if item.cls == "open_late":
        return True
    if item.cls != "open_in_time" or item.due_date is None:
        return False
    left = (item.due_date - as_of).days
    return left in at if at else 0 <= left <= within


@dataclasses.dataclass(frozen=True, slots=True)
class Reminder:
    """One task (or one unit's share of it) an agency is reminded of."""

    task: str
    title: str
    parent_title: str | None
    place: str | None  # the district unit whose share it is, else None (the whole task)
    lead: str | None
    partners: list[str]
    window: str | None
    due_date: dt.date
    cls: str
    days_late: int
    days_left: int  # 0 when late
    status: str
    achieved: int
    target: str | None  # as shown
    last_entry: dt.date | None  # the latest entry on it (at the unit, for a share)

    def json(self) -> dict[str, Any]:
        return {"task": self.task, "title": self.title, "parent_title": self.parent_title,
                "place": self.place, "lead": self.lead, "partners": self.partners,
                "window": self.window, "due_date": self.due_date.isoformat(),
                "class": self.cls, "days_late": self.days_late, "days_left": self.days_left,
                "status": self.status, "achieved": self.achieved, "target": self.target,
                "last_entry": self.last_entry.isoformat() if self.last_entry else None}


@dataclasses.dataclass(frozen=True, slots=True)
class Notice:
    """What one agency is reminded of: overdue first (oldest first), then due soon."""

    agency: str  # id
    short: str
    name: str
    email: tuple[str, ...]
    items: list[Reminder]

    def json(self) -> dict[str, Any]:
        return {"id": self.agency, "agency": self.short, "name": self.name,
                "email": list(self.email), "tasks": [item.json() for item in self.items]}


@dataclasses.dataclass(frozen=True, slots=True)
class CertificateDue:
    """One OCOP certificate whose holder must be told it expires (the rules' `notice_days`
    before its expiry), with what the holder needs to be re-evaluated in time."""

    product: str  # id
    name: str
    stars: int | None
    certificate: str  # the decision that issued it (number and symbol)
    issued: dt.date
    expires: dt.date
    notice_by: dt.date
    days_left: int  # to the expiry
    notified: dt.date | None  # the day the register says the holder was told of it

    def json(self) -> dict[str, Any]:
        return {"product": self.product, "name": self.name, "stars": self.stars,
                "certificate": self.certificate, "issued": self.issued.isoformat(),
                "expires": self.expires.isoformat(), "notice_by": self.notice_by.isoformat(),
                "days_left": self.days_left,
                "notified": self.notified.isoformat() if self.notified else None}


@dataclasses.dataclass(frozen=True, slots=True)
class ProducerNotice:
    """What one producer (chủ thể) is told: its certificates that expire soon, nearest first.
    The register holds no address of a producer: the notice goes through the unit (district
    or commune) the products are registered in, to that unit's `email` in agencies.yaml."""

    producer: str
    unit: str | None  # the unit's id
    place: str | None  # the unit's short name
    unit_name: str | None  # its full name, as a letter names it
    email: tuple[str, ...]  # the unit's addresses
    items: list[CertificateDue]

    @property
    def key(self) -> str:
        """Who the notice is for, as listings and the register name it: "producer (unit)"."""
        return f"{self.producer} ({self.place})" if self.place else self.producer

    def json(self) -> dict[str, Any]:
        return {"producer": self.producer, "unit_id": self.unit, "unit": self.place,
                "email": list(self.email),
                "certificates": [item.json() for item in self.items]}


def reminder_order(item: Reminder) -> tuple[int, int, dt.date]:
    """Late first, the most days late first; then the nearest due date."""
    return (0 if item.days_late else 1, -item.days_late, item.due_date)


def last_entry(entries: Iterable[Entry], as_of: dt.date, place: str | None = None
               ) -> dt.date | None:
    """The date of the latest entry in force on `as_of` among a task's `entries` (at `place`
    only, for a unit's share): when anyone last reported on it. A reminder sent is none."""
    return max((e.date for e in effective(entries, as_of)
                if e.action != "remind" and (place is None or e.place == place)), default=None)
