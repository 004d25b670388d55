"""The state of every task on an as-of date: the replay of the history up to that day.

Nothing here is stored: status, achieved quantity and timing are computed each time from the
plan and the entries, so they can never disagree with the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import Any

from ocop_cli.core.model import Entry, Plan, Task, within
from ocop_cli.core.windows import Target

OPEN = ("not_started", "in_progress")
# A unit's share is "not known" when the whole is done but nobody said which units did it.
NOT_KNOWN = "not_known"


class TaskState:
    """A task's state, filled in by `state_as_of` (a plain class: see `model`).

    For a task shared by district units (`Task.shared_by`), `units` holds each unit's status
    and `places` its achieved quantity; `unassigned` is what was recorded without naming one
    of the units, so that the units' quantities plus `unassigned` are `achieved`;
    `unit_notes` holds each unit's latest note and proof. `completed` is the date (ISO) of
    the entry that made the task done, and `unit_completed` each unit's share's."""

    __slots__ = ("achieved", "completed", "entries", "note", "places", "ref", "status", "task",
                 "timing", "unassigned", "unit_completed", "unit_notes", "units")

    def __init__(self, task: Task, status: str = "not_started", timing: str | None = None,
                 achieved: int = 0, places: dict[str, int] | None = None,
                 note: str | None = None, ref: str | None = None,
                 entries: list[Entry] | None = None, units: dict[str, str] | None = None,
                 unassigned: int = 0,
                 unit_notes: dict[str, tuple[str | None, str | None]] | None = None,
                 completed: str | None = None, unit_completed: dict[str, str] | None = None
                 ) -> None:
        self.task = task
        self.status = status
        self.timing = timing
        self.achieved = achieved
        self.places: dict[str, int] = {} if places is None else places  # agency id -> qty
        self.note = note  # the latest note
        self.ref = ref  # the latest proof
        self.entries: list[Entry] = [] if entries is None else entries
        self.units: dict[str, str] = {} if units is None else units  # unit id -> status
        self.unassigned = unassigned
        self.unit_notes: dict[str, tuple[str | None, str | None]] = \
            {} if unit_notes is None else unit_notes  # unit id -> (note, ref)
        self.completed = completed
        self.unit_completed: dict[str, str] = \
            {} if unit_completed is None else unit_completed  # unit id -> ISO date

    def __repr__(self) -> str:
        return f"TaskState({self.task.id!r}, {self.status!r}, {self.timing!r}, {self.achieved})"

    @property
    def percent(self) -> float | None:
        target = self.task.target
        if target is None or target.min == 0 or self.status == NOT_KNOWN:
            return None
        return round(100 * self.achieved / target.min, 1)

    @property
    def missing(self) -> int:
        """How much is still needed to reach the minimum target."""
        target = self.task.target
        return max(0, target.min - self.achieved) if target else 0


def share_of(task: Task) -> Target | None:
    """One unit's share of a shared task's target: a count divided among the units, rounded
    up (12 conferences among 12 units: 1 each); a share in percent is each unit's own."""
    target, n = task.target, len(task.shared_by)
    if target is None or n == 0 or target.kind != "count":
        return target
    low, high = -(-target.min // n), -(-target.max // n)
    return target._replace(text=str(low) if low == high else f"{low}-{high}", min=low, max=high)


def timing_of(task: Task, status: str, month: int, day: int) -> str | None:
    """Upcoming, due or overdue for an open task on `day` of the as-of `month` (see
    `month_index`); none for one done, cancelled or not known."""
    window = task.window
    if status not in OPEN or window is None:
        return None
    return window.timing(month, day)


def for_unit(plan: Plan, state: TaskState, unit: str, as_of: dt.date) -> TaskState:
    """One unit's own part of a shared task: its share as the target, its quantity, its
    status and timing. A task the unit does not share is returned as it is."""
    if unit not in state.task.shared_by:
        return state
    task = state.task._replace(target=share_of(state.task))
    status = state.units.get(unit, "not_started")
    note, ref = state.unit_notes.get(unit, (None, None))
    return TaskState(task, status, timing_of(task, status, month_index(plan, as_of), as_of.day),
                     state.places.get(unit, 0), {unit: state.places.get(unit, 0)},
                     note, ref, [e for e in state.entries if e.place == unit],
                     completed=state.unit_completed.get(unit))


def effective(entries: Iterable[Entry], as_of: dt.date) -> list[Entry]:
    """The entries that count on `as_of`, in the order they happened.

    An undo takes its entry out whatever the dates: it corrects the record, it is not an event.
    """
    entries = list(entries)
    undone = undone_by(entries)
    kept = [e for e in entries if e.action != "undo" and e.id not in undone and e.date <= as_of]
    kept.sort(key=HISTORY_ORDER)
    return kept


def file_of(entry: Entry) -> str:
    """The name of the file an entry was read from (its `source` is `name:line`)."""
    return entry.source.rpartition(":")[0]


def undone_by(entries: Iterable[Entry]) -> set[str]:
    """The ids the undos among `entries` take out. An undo counts only for an entry of its
    own file: history files are per office, and no office takes back what another recorded
    (`foreign_undos` names the others). `entries` holds each undo with what it names."""
    return {str(undo.undoes) for undo, named in _undos(entries) if named == file_of(undo)}


def foreign_undos(entries: Iterable[Entry]) -> list[tuple[Entry, str]]:
    """Each undo among `entries` that names an entry of another file, with that file: it
    takes nothing out (`undone_by`)."""
    return [(undo, named) for undo, named in _undos(entries)
            if named is not None and named != file_of(undo)]


def _undos(entries: Iterable[Entry]) -> list[tuple[Entry, str | None]]:
    """Each undo with the file of the entry it names (None when none of `entries` is it)."""
    entries = list(entries)
    undos = [e for e in entries if e.action == "undo" and e.undoes is not None]
    if not undos:  # the common case: no entry's file is looked at
        return []
    named = {str(undo.undoes) for undo in undos}
    files = {e.id: file_of(e) for e in entries if e.id in named and e.action != "undo"}
    return [(undo, files.get(str(undo.undoes))) for undo in undos]


def month_index(plan: Plan, as_of: dt.date) -> int:
    """The as-of month counted from January of the plan's (first) year (1), as windows are:
    13 is January of the next year."""
    return (as_of.year - plan.year) * 12 + as_of.month


def own_entries(entries: Iterable[Entry], task_ids: Iterable[str]) -> dict[str, list[Entry]]:
    """What the replay of each of `task_ids` alone reads: its entries, and the undoing of any
    of them (recorded under whichever task)."""
    entries = list(entries)
    found: dict[str, list[Entry]] = {task: [] for task in task_ids}
    whose: dict[str, str] = {}
    for entry in entries:
        if entry.task in found:
            found[entry.task].append(entry)
            whose[entry.id] = entry.task
    for entry in entries:
        if entry.undoes in whose:
            found[whose[entry.undoes]].append(entry)
    return found


def state_as_of(plan: Plan, entries: Iterable[Entry], as_of: dt.date,
                under: str | None = None) -> dict[str, TaskState]:
    """Every task's state; with `under`, only that task's and its sub-rows' (what a recording
    about it looks at), from the entries about them."""
    tasks = plan.tasks if under is None else subtree(plan, under)
    return settle(plan, replay(plan, entries, as_of, tasks), as_of, tasks)


def subtree(plan: Plan, task_id: str) -> list[Task]:
    """A task and every task under it, a parent before its sub-rows, found through the
    parents rather than by reading every task of the plan."""
    task = plan.task(task_id)
    if task is None:
        return [t for t in plan.tasks if within(t.id, task_id)]
    found = [task]
    for child in plan.children(task_id):
        found += subtree(plan, child.id)
    return found


def replay(plan: Plan, entries: Iterable[Entry], as_of: dt.date, tasks: Iterable[Task]
           ) -> dict[str, TaskState]:
    """Each of `tasks`' own state from the entries that count on `as_of`: a leaf's status and
    its units', what was achieved and where, the latest note and proof; no timing, and a
    parent not yet settled from its children (`settle` does both).

    A task's own state depends only on its entries up to `as_of`: once its last entry is
    older, it is the same on every later day (the index keeps it)."""
    states = {task.id: TaskState(task) for task in tasks}
    reopened: set[str] = set()
    marked: dict[str, str] = {}
    by_unit: dict[str, dict[str, str]] = {}  # task -> unit -> "done" or "start"
    for entry in effective(entries, as_of):
        state = states.get(entry.task)
        if state is None or entry.action == "remind":  # a reminder changes nothing of it
            continue
        state.entries.append(entry)
        if entry.note:
            state.note = entry.note
        if entry.ref:
            state.ref = entry.ref
        action = entry.action
        if entry.qty and action in ("progress", "done"):
            state.achieved += entry.qty
            if entry.place:
                state.places[entry.place] = state.places.get(entry.place, 0) + entry.qty
        if entry.place in state.task.shared_by and (entry.note or entry.ref):
            note, ref = state.unit_notes.get(entry.place, (None, None))
            state.unit_notes[entry.place] = (entry.note or note, entry.ref or ref)
        if entry.place in state.task.shared_by and action in ("start", "progress", "done"):
            marks = by_unit.setdefault(entry.task, {})
            marks[entry.place] = "done" if "done" in (action, marks.get(entry.place)) else "start"
            action = "progress"  # a unit's done is its share's, not the whole task's
        if action in ("done", "cancel"):
            marked[entry.task] = action
            reopened.discard(entry.task)
        elif action == "reopen":
            marked.pop(entry.task, None)
            reopened.add(entry.task)
        elif action in ("start", "progress"):
            marked[entry.task] = marked.get(entry.task, "start")
            if action == "progress":
                reopened.discard(entry.task)
        if action != "note" and plan.is_leaf(entry.task):
            _leaf_status(state, marked.get(entry.task), entry.task in reopened,
                         by_unit.get(entry.task, {}))
            _completion(state, entry.date.isoformat())
    for task_id, state in states.items():
        if plan.is_leaf(task_id):
            _leaf_status(state, marked.get(task_id), task_id in reopened,
                         by_unit.get(task_id, {}))
    return states


def _completion(state: TaskState, day: str) -> None:
    """After an entry of `day`: the task, and each unit's share, done since the first entry
    that made it so (kept while it stays done, forgotten when it is reopened or undone)."""
    if state.status != "done":
        state.completed = None
    elif state.completed is None:
        state.completed = day
    for unit, status in state.units.items():
        if status != "done":
            state.unit_completed.pop(unit, None)
        elif unit not in state.unit_completed:
            state.unit_completed[unit] = day


def settle(plan: Plan, states: dict[str, TaskState], as_of: dt.date,
           tasks: Sequence[Task] | None = None) -> dict[str, TaskState]:
    """The replayed states (`replay`) of `tasks` (all by default; a parent before its
    sub-rows) made whole for `as_of`: each leaf's timing, and each parent's status, timing,
    quantity and places from its children's states (those in `states`, which may hold only
    the tasks a listing shows). Changes `states`."""
    month = month_index(plan, as_of)
    tasks = plan.tasks if tasks is None else tasks
    for task in tasks:
        state = states.get(task.id)
        if state is not None and plan.is_leaf(task.id):
            state.timing = timing_of(task, state.status, month, as_of.day)
    for task in reversed(tasks):  # children come after their parents
        state = states.get(task.id)
        if state is not None and not plan.is_leaf(task.id):
            children = [states[c.id] for c in plan.children(task.id) if c.id in states]
            if children:  # a listing shows a parent above one of its sub-rows at least
                settle_parent(state, children)
    return states


def _leaf_status(state: TaskState, mark: str | None, reopened: bool,
                 unit_marks: dict[str, str]) -> None:
    task = state.task
    target = task.target
    met = target is not None and state.achieved >= target.min
    share = share_of(task)
    for unit in task.shared_by:
        if mark == "cancel":
            state.units[unit] = "cancelled"
        elif unit_marks.get(unit) == "done" or (
                share is not None and unit in unit_marks
                and state.places.get(unit, 0) >= share.min):
            state.units[unit] = "done"
        else:
            state.units[unit] = "in_progress" if unit in unit_marks else "not_started"
    every_unit = bool(task.shared_by) and all(s == "done" for s in state.units.values())
    if mark == "cancel":
        state.status = "cancelled"
    elif mark == "done" or ((met or every_unit) and not reopened):
        state.status = "done"
    elif mark == "start" or reopened or state.achieved > 0:
        state.status = "in_progress"
    if state.status == "done":  # done as a whole: a unit nobody named may or may not have
        for unit, status in state.units.items():
            if status == "not_started":
                state.units[unit] = NOT_KNOWN
    if task.shared_by:
        state.unassigned = state.achieved - sum(state.places.get(u, 0) for u in task.shared_by)


def settle_parent(state: TaskState, children: list[TaskState]) -> None:
    """A parent's status, timing and quantity from its sub-rows' (those listed, in a view)."""
    statuses = {c.status for c in children}
    if statuses <= {"cancelled"}:
        state.status = "cancelled"
    elif statuses <= {"done", "cancelled"}:
        state.status = "done"
    elif statuses <= {"done", "cancelled", NOT_KNOWN}:
        state.status = NOT_KNOWN
    elif statuses & {"done", "in_progress", NOT_KNOWN}:
        state.status = "in_progress"
    else:
        state.status = "not_started"
    done = [c.completed for c in children if c.status == "done"]
    days = [day for day in done if day is not None]
    state.completed = max(days) if state.status == "done" and len(days) == len(done) else None
    timings = {c.timing for c in children}
    state.timing = next((t for t in ("overdue", "due", "upcoming") if t in timings), None)
    state.achieved = sum(c.achieved for c in children)
    state.places = {}
    for child in children:
        for place, qty in child.places.items():
            state.places[place] = state.places.get(place, 0) + qty


MIXED = "\x00mixed"  # the unit of a parent whose sub-rows count in several


def unit_of(plan: Plan, task: Task) -> str | None:
    """The unit a task's quantity counts in: a leaf's own, a parent's sub-rows' one unit, or
    MIXED when they count in several (its sum, `achieved`, is then shown nowhere)."""
    if plan.is_leaf(task.id):
        return task.unit
    units = {unit_of(plan, child) for child in plan.children(task.id)}
    return units.pop() if len(units) == 1 else MIXED


def months_of_task(plan: Plan, task: Task) -> tuple[int, ...]:
    """A task's months; a parent's are its children's."""
    if task.window is not None:
        return task.window.months
    months = {m for leaf in plan.leaves_under(task.id) if leaf.window for m in leaf.window.months}
    return tuple(sorted(months))


# What a state holds besides its task, timing and entries: the values `pack` gives.
PACKED = ("status", "achieved", "places", "note", "ref", "units", "unassigned", "unit_notes",
          "completed", "unit_completed")
_get_kept = attrgetter(*PACKED)


def pack(state: TaskState) -> tuple[Any, ...]:
    """A task's own state (`replay`'s, before `settle`) as plain values, for the index."""
    return _get_kept(state)


# What a state read back holds when it has no places, units or notes: one empty dict shared
# by all of them (tens of thousands of states: MBs); `settle` gives a parent dicts of its own.
_NONE: dict[str, Any] = {}
_NO_ENTRIES: list[Entry] = []


def unpack(task: Task, values: Sequence[Any]) -> TaskState:
    """A state from `pack`'s values (its notes by unit as lists, as JSON gives them back)."""
    (status, achieved, places, note, ref, units, unassigned, unit_notes, completed,
     unit_completed) = values
    return TaskState(task, status, None, achieved, places or _NONE, note, ref, _NO_ENTRIES,
                     units or _NONE, unassigned,
                     {unit: (pair[0], pair[1]) for unit, pair in unit_notes.items()}
                     if unit_notes else _NONE, completed, unit_completed or _NONE)


HISTORY_ORDER = attrgetter("date", "at", "id")  # the order entries happened in, as listed


def last_command(entries: Iterable[Entry], in_force: Callable[[set[str]], set[str]]
                 ) -> list[Entry]:
    """The entries of the latest command among `entries` (one office's) that is still in
    force, in the order written: what `ocop undo` takes back. The latest is the entry
    recorded last (by time recorded, then id), whatever its date; its command is every entry
    sharing its command id (an entry without one is a command alone). `in_force` says which
    of some ids still count (an undo elsewhere, a copy of another's entry, do not). A
    reminder sent is no progress to take back."""
    entries = list(entries)
    undone = undone_by(entries)
    left = sorted((e for e in entries if e.action not in ("undo", "remind") and e.id not in undone),
                  key=attrgetter("at", "id"), reverse=True)
    while left:
        last = left[0]
        same = [e for e in left if e is last or (last.command and e.command == last.command)]
        counts = in_force({e.id for e in same})
        taken = [e for e in same if e.id in counts]
        if taken:
            return sorted(taken, key=attrgetter("at", "id"))
        tried = {e.id for e in same}
        left = [e for e in left if e.id not in tried]
    return []
