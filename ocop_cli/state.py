"""The state of every task on an as-of date: the replay of the history up to that day.

Nothing here is stored: status, achieved quantity and timing are computed each time from the
plan and the entries, so they can never disagree with the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

from ocop_cli.model import Entry, Plan, Task, within

OPEN = ("not_started", "in_progress")


class TaskState:
    """A task's state, filled in by `state_as_of` (a plain class: see `model`)."""

    __slots__ = ("achieved", "entries", "note", "places", "ref", "status", "task", "timing")

    def __init__(self, task: Task, status: str = "not_started", timing: str | None = None,
                 achieved: int = 0, places: dict[str, int] | None = None,
                 note: str | None = None, ref: str | None = None,
                 entries: list[Entry] | None = None) -> None:
        self.task = task
        self.status = status
        self.timing = timing
        self.achieved = achieved
        self.places: dict[str, int] = {} if places is None else places  # agency id -> qty
        self.note = note  # the latest note
        self.ref = ref  # the latest proof
        self.entries: list[Entry] = [] if entries is None else entries

    def __repr__(self) -> str:
        return f"TaskState({self.task.id!r}, {self.status!r}, {self.timing!r}, {self.achieved})"

    @property
    def percent(self) -> float | None:
        target = self.task.target
        if target is None or target.min == 0:
            return None
        return round(100 * self.achieved / target.min, 1)

    @property
    def missing(self) -> int:
        """How much is still needed to reach the minimum target."""
        target = self.task.target
        return max(0, target.min - self.achieved) if target else 0


def effective(entries: Iterable[Entry], as_of: dt.date) -> list[Entry]:
    """The entries that count on `as_of`, in the order they happened.

    An undo takes its entry out whatever the dates: it corrects the record, it is not an event.
    """
    entries = list(entries)
    undone = {e.undoes for e in entries if e.action == "undo"}
    kept = [e for e in entries if e.action != "undo" and e.id not in undone and e.date <= as_of]
    kept.sort(key=attrgetter("date", "at", "id"))
    return kept


def month_index(plan: Plan, as_of: dt.date) -> int:
    """The as-of month counted from January of the plan's (first) year (1), as windows are:
    13 is January of the next year."""
    return (as_of.year - plan.year) * 12 + as_of.month


def state_as_of(plan: Plan, entries: Iterable[Entry], as_of: dt.date,
                under: str | None = None) -> dict[str, TaskState]:
    """Every task's state; with `under`, only that task's and its sub-rows' (what a recording
    about it looks at), from the entries about them."""
    tasks = plan.tasks if under is None else [t for t in plan.tasks if within(t.id, under)]
    states = {task.id: TaskState(task) for task in tasks}
    reopened: set[str] = set()
    marked: dict[str, str] = {}
    for entry in effective(entries, as_of):
        state = states.get(entry.task)
        if state is None:
            continue
        state.entries.append(entry)
        if entry.note:
            state.note = entry.note
        if entry.ref:
            state.ref = entry.ref
        if entry.qty and entry.action in ("progress", "done"):
            state.achieved += entry.qty
            if entry.place:
                state.places[entry.place] = state.places.get(entry.place, 0) + entry.qty
        if entry.action in ("done", "cancel"):
            marked[entry.task] = entry.action
            reopened.discard(entry.task)
        elif entry.action == "reopen":
            marked.pop(entry.task, None)
            reopened.add(entry.task)
        elif entry.action in ("start", "progress"):
            marked[entry.task] = marked.get(entry.task, "start")
            if entry.action == "progress":
                reopened.discard(entry.task)
    month = month_index(plan, as_of)
    for task in tasks:
        if plan.is_leaf(task.id):
            _settle_leaf(states[task.id], marked.get(task.id), task.id in reopened, month,
                         as_of.day)
    for task in reversed(tasks):  # children come after their parents in a plan
        if not plan.is_leaf(task.id):
            _settle_parent(states[task.id], [states[c.id] for c in plan.children(task.id)])
    return states


def _settle_leaf(state: TaskState, mark: str | None, reopened: bool, month: int, day: int
                 ) -> None:
    target = state.task.target
    met = target is not None and state.achieved >= target.min
    if mark == "cancel":
        state.status = "cancelled"
    elif mark == "done" or (met and not reopened):
        state.status = "done"
    elif mark == "start" or reopened or state.achieved > 0:
        state.status = "in_progress"
    window = state.task.window
    if state.status in ("done", "cancelled") or window is None:
        state.timing = None
    else:
        state.timing = window.timing(month, day)


def _settle_parent(state: TaskState, children: list[TaskState]) -> None:
    statuses = {c.status for c in children}
    if statuses <= {"cancelled"}:
        state.status = "cancelled"
    elif statuses <= {"done", "cancelled"}:
        state.status = "done"
    elif statuses & {"done", "in_progress"}:
        state.status = "in_progress"
    timings = {c.timing for c in children}
    state.timing = next((t for t in ("overdue", "due", "upcoming") if t in timings), None)
    state.achieved = sum(c.achieved for c in children)
    for child in children:
        for place, qty in child.places.items():
            state.places[place] = state.places.get(place, 0) + qty


def months_of_task(plan: Plan, task: Task) -> tuple[int, ...]:
    """A task's months; a parent's are its children's."""
    if task.window is not None:
        return task.window.months
    months = {m for leaf in plan.leaves_under(task.id) if leaf.window for m in leaf.window.months}
    return tuple(sorted(months))


def pack_states(plan: Plan, states: dict[str, TaskState]) -> list[tuple[Any, ...]]:
    """States as plain values, in plan order, without their entries (for the cache)."""
    return [(s.status, s.timing, s.achieved, s.places, s.note, s.ref)
            for s in (states[t.id] for t in plan.tasks)]


def unpack_states(plan: Plan, packed: list[tuple[Any, ...]]) -> dict[str, TaskState]:
    if len(packed) != len(plan.tasks):
        raise ValueError("states of another plan")
    return {task.id: TaskState(task, *row) for task, row in zip(plan.tasks, packed, strict=True)}
