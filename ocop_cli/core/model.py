"""The plan, its tasks, the agencies and the history entries, as plain immutable values.

These are what every command works with. They are built from files by `schema` (pydantic,
which validates) and are cheap to import, to cache and to rebuild from a cache.

Named tuples, not dataclasses: a dataclass costs about 1.5 ms to create at import, which
every run pays, and a named tuple a tenth of that; they are also built faster from a cache.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Annotated, Any, NamedTuple, get_type_hints

from ocop_cli.core.windows import Target, Window

STATUSES = ("not_started", "in_progress", "done", "cancelled")
TIMINGS = ("upcoming", "due", "overdue")
# `remind`: a reminder sent to an agency about the task (`ocop remind --send`): `place` the
# agency, `note` the addresses, `ref` the message id; it changes nothing of the task's state.
ACTIONS = ("start", "progress", "done", "reopen", "cancel", "note", "undo", "remind")
# The stages of a product in the register (see `products`); a certificate's expiry is derived
# from its date, never a stage.
PRODUCT_STAGES = ("registered", "chosen", "rejected", "sent", "scored", "recognised",
                  "not_recognised", "renewed", "upgraded", "revoked")
# The product register's actions (its stages, `notified` and `undo`), the kinds of entity that
# make a product (cooperative, enterprise, cooperative group, household) and the councils that
# score. `notified`: the holder was told its certificate expires (`ocop remind --send`: `ref`
# the message id, `note` the addresses); like a reminder, it changes nothing of the product.
PRODUCT_ACTIONS = (*PRODUCT_STAGES, "notified", "undo")
ENTITY_KINDS = ("htx", "dn", "tht", "ho")
COUNCILS = ("huyen", "tinh")
LEVELS = ("central", "province", "district", "commune")
# The levels of administrative unit a task may be shared among (`Task.per_unit`).
UNIT_LEVELS = ("district", "commune")
KINDS = (
    "government", "party", "council", "ministry", "department", "office", "committee",
    "media", "organisation", "locality", "group",
)


def within(task_id: str, ancestor: str) -> bool:
    """Whether `task_id` is `ancestor` or one of its sub-rows (5.1 is within 5)."""
    return task_id == ancestor or task_id.startswith(ancestor + ".")


class Agency(NamedTuple):
    id: str
    short: str
    name: str
    level: str
    kind: str
    aliases: tuple[str, ...] = ()
    part_of: str | None = None
    members: tuple[str, ...] = ()
    duties: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    email: tuple[str, ...] = ()  # where its reminders are sent
    # The dates it was in force, both days included, as ISO text (YYYY-MM-DD: the index keeps
    # plain JSON, and ISO text orders as the dates do); None: since always, until now.
    start: str | None = None
    until: str | None = None
    # The agencies or units that took over when it ended (ids): a merger, a rename.
    successors: tuple[str, ...] = ()
    code: str | None = None  # the statistics office's code of an administrative unit

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.short, self.name, *self.aliases)

    def in_force(self, day: dt.date | None) -> bool:
        """Whether it existed on `day` (None: on any day)."""
        if day is None:
            return True
        iso = day.isoformat()
        return (self.start is None or self.start <= iso) and \
            (self.until is None or iso <= self.until)


class Task(NamedTuple):
    id: str
    title: str
    unit: str | None = None
    target: Target | None = None
    lead: str | None = None  # agency id
    partners: tuple[str, ...] = ()  # agency ids
    window: Window | None = None
    section: str | None = None
    per_district: bool = False
    notes: tuple[str, ...] = ()  # in English where the plan gives both languages
    # The notes in Vietnamese, one for each of `notes`, where the plan gives them in both.
    notes_vi: tuple[str, ...] = ()
    lead_text: str | None = None  # the cell as the plan wrote it
    partners_text: tuple[str, ...] = ()
    # The achieved quantity is the number of products of the register that reached this
    # stage within the plan's years (a task that counts the products sent to the province).
    products_at: str | None = None
    # The district-level units that each hold a share of the task (agency ids), decided when
    # the plan is read: `per_district` tasks, and duties without a quantity that a group of
    # the units leads (3.2, "BCĐ cấp huyện"). Empty for a task of one subject.
    shared_by: tuple[str, ...] = ()
    # The level of administrative unit whose units each hold a share (UNIT_LEVELS), those in
    # force on the plan's date; `per_district` is the same as "district".
    per_unit: str | None = None

    @property
    def parent(self) -> str | None:
        head, dot, _ = self.id.rpartition(".")
        return head if dot else None

    def notes_in(self, language: str) -> tuple[str, ...]:
        """The notes a screen in `language` shows."""
        return self.notes_vi if language == "vi" and self.notes_vi else self.notes


class Plan:
    """A plan: its number, year and title, its tasks in the table's order, and the facts
    `show` and the reports quote (dates, signer, sections)."""

    def __init__(self, number: str, year: int, title: str, tasks: tuple[Task, ...],
                 facts: dict[str, Any] | None = None) -> None:
        self.number, self.year, self.title, self.tasks = number, year, title, tasks
        self.facts: dict[str, Any] = facts if facts is not None else {}

    def _values(self) -> tuple[Any, ...]:
        return (self.number, self.year, self.title, self.tasks, self.facts)

    def __eq__(self, other: object) -> bool:
        return self._values() == other._values() if isinstance(other, Plan) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # it holds a dict

    def __repr__(self) -> str:
        return f"Plan({self.number!r}, {self.year}, {len(self.tasks)} tasks)"

    @property
    def last_year(self) -> int:
        """The last year of a plan over several years (2021-2025); else its year."""
        return int(self.facts.get("last_year") or self.year)

    @property
    def years(self) -> str:
        """2019, or 2021-2025 for a plan over several years."""
        return f"{self.year}-{self.last_year}" if self.last_year > self.year else str(self.year)

    def naming_day(self, day: dt.date) -> dt.date:
        """The day a name typed or recorded about this plan resolves on: `day`, or the plan's
        last day when `day` is later (the 2019 plan's districts are looked at as they were,
        also after the district level ended)."""
        return min(day, dt.date(self.last_year, 12, 31))

    @property
    def span(self) -> int:
        """How many months the plan's years hold (12 a year)."""
        return 12 * (self.last_year - self.year + 1)

    def calendar_month(self, month: int) -> tuple[int, int]:
        """A month counted from January of the plan's first year as (year, month)."""
        years, index = divmod(month - 1, 12)
        return self.year + years, index + 1

    def month_label(self, month: int) -> str:
        """A month counted from January of the plan's first year, as people write it: T6,
        or T6/2023 in a plan over several years."""
        year, index = self.calendar_month(month)
        if self.last_year > self.year or year != self.year:
            return f"T{index}/{year}"
        return f"T{index}"

    def task(self, task_id: str) -> Task | None:
        return self.index.get(task_id)

    @cached_property
    def index(self) -> dict[str, Task]:
        return {t.id: t for t in self.tasks}

    @cached_property
    def _children(self) -> dict[str, list[Task]]:
        children: dict[str, list[Task]] = {}
        for task in self.tasks:
            parent, dot, _ = task.id.rpartition(".")  # Task.parent, without a call per task
            if dot:
                children.setdefault(parent, []).append(task)
        return children

    def children(self, task_id: str) -> list[Task]:
        return self._children.get(task_id, [])

    def is_leaf(self, task_id: str) -> bool:
        return task_id not in self._children

    def leaves(self) -> list[Task]:
        return [t for t in self.tasks if t.id not in self._children]

    def leaves_under(self, task_id: str) -> list[Task]:
        """The task itself when it is a leaf, else every leaf below it."""
        kids = self.children(task_id)
        if not kids:
            task = self.task(task_id)
            return [task] if task else []
        return [leaf for kid in kids for leaf in self.leaves_under(kid.id)]


class Kind(NamedTuple):
    """What a field of a line in a file holds: the file's format (`schema`, and the JSON
    Schema editors use) is made from the fields that carry one."""

    name: str  # text, moment, day, action, count, year or note
    description: str | None = None


TEXT = Kind("text")  # text, not empty, without space around it
MOMENT = Kind("moment")  # a date and time as ISO writes it
DAY = Kind("day")  # a date, YYYY-MM-DD
ACTION = Kind("action")  # one of ACTIONS
COUNT = Kind("count")  # a whole number, 0 or more
NOTE = Kind("note")  # any text


class Entry(NamedTuple):
    """One recorded fact about progress: one line of a history file, its fields as the file
    spells them. `date` is when it takes effect, `at` when it was typed."""

    id: Annotated[str, TEXT]
    at: Annotated[str, MOMENT]
    date: Annotated[dt.date, DAY]
    task: Annotated[str, TEXT]
    action: Annotated[str, ACTION]
    by: Annotated[str, TEXT]
    qty: Annotated[int | None, COUNT] = None
    place: Annotated[str | None, TEXT] = None  # agency id
    ref: Annotated[str | None, TEXT] = None
    note: Annotated[str | None, NOTE] = None
    undoes: Annotated[str | None, TEXT] = None
    # The plan's year; without it, the year of `date`.
    plan: Annotated[int | None, Kind("year", "The year of the plan the entry belongs to "
                                             "(default: its date's year)")] = None
    # What the entries one command wrote share (the id of the command's first entry): `undo`
    # takes them back together. Entries written before it have none and go back one by one.
    command: Annotated[str | None, TEXT] = None
    source: str = ""  # file:line it was read from (not in the file)

    @property
    def plan_year(self) -> int:
        return self.plan if self.plan is not None else self.date.year

    def to_record(self) -> dict[str, Any]:
        """The entry as written to a history file: only the keys that carry something."""
        record = {key: getattr(self, key) for key in LINE_KEYS}
        record["date"] = self.date.isoformat()
        return {key: value for key, value in record.items() if value is not None}


# A history line's keys in the order lines have always been written: the entry's fields but
# its source, `by` after `place`.
LINE_KEYS = (*(key for key in Entry._fields[:8] if key != "by"), "by", *Entry._fields[8:-1])


def kinds_of(fields: type[Any]) -> dict[str, Kind]:
    """What each field of a line holds, of a named tuple whose fields say it (`Kind`): the
    fields of its file's lines."""
    hints = get_type_hints(fields, include_extras=True)
    return {key: kind for key in fields._fields
            for kind in getattr(hints[key], "__metadata__", ()) if isinstance(kind, Kind)}
