"""The state of every task on an as-of date: the replay of the history up to that day.

Nothing here is stored: status, achieved quantity and timing are computed each time from the
plan and the entries, so they can never disagree with the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from operator import attrgetter
from sys import intern
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
    `unit_notes` holds each unit's latest note and proof."""

    __slots__ = ("achieved", "entries", "note", "places", "ref", "status", "task", "timing",
                 "unassigned", "unit_notes", "units")

    def __init__(self, task: Task, status: str = "not_started", timing: str | None = None,
                 achieved: int = 0, places: dict[str, int] | None = None,
                 note: str | None = None, ref: str | None = None,
                 entries: list[Entry] | None = None, units: dict[str, str] | None = None,
                 unassigned: int = 0,
                 unit_notes: dict[str, tuple[str | None, str | None]] | None = None) -> None:
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
                     note, ref, [e for e in state.entries if e.place == unit])


def effective(entries: Iterable[Entry], as_of: dt.date) -> list[Entry]:
    """The entries that count on `as_of`, in the order they happened.

    An undo takes its entry out whatever the dates: it corrects the record, it is not an event.
    """
    entries = list(entries)
    undone = {e.undoes for e in entries if e.action == "undo"}
    kept = [e for e in entries if e.action != "undo" and e.id not in undone and e.date <= as_of]
    kept.sort(key=HISTORY_ORDER)
    return kept


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
        if state is None:
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
    for task_id, state in states.items():
        if plan.is_leaf(task_id):
            _leaf_status(state, marked.get(task_id), task_id in reopened,
                         by_unit.get(task_id, {}))
    return states


class Fold:
    """What `replay` gives for every task of a plan as of a date (without each state's
    entries), from the entries given one at a time, none of them kept: a listing of a long
    history then holds only the tasks' figures.

    `replay` reads the entries that count in the order they happened, by (date, at, id) and
    then the order given. What it finds depends on that order only through each task's last
    done, cancel or reopen, its last start or progress after it, and the latest note and proof
    (of the task, and of each of its units); sums and the first entry of each place (the order
    of its places) are kept as they come. An undo takes an entry out wherever it stands, so
    the entries an undo may name (`undoable`, from a look at the files first) are held back
    until every entry has been given, and folded then if none did."""

    def __init__(self, plan: Plan, as_of: dt.date, undoable: Iterable[str] = (),
                 only: set[str] | None = None) -> None:
        self.plan, self.as_of, self.only = plan, as_of, only
        self.undoable = frozenset(undoable)
        self.undone: set[str | None] = set()
        self.held: list[tuple[Any, ...]] = []  # `fold`'s values of each entry held back
        self.seq = 0
        # The tasks whose states are asked for (`only`, or all), and their units.
        self.tasks = {task.id: task.shared_by for task in plan.tasks
                      if only is None or task.id in only}
        self.folds: dict[str, _TaskFold] = {}
        self.days: dict[dt.date, str] = {}  # each day as it starts an order key

    def restart(self, undoable: Iterable[str]) -> Fold:
        """The fold emptied, to be given every entry again."""
        self.__init__(self.plan, self.as_of, undoable, self.only)  # type: ignore[misc]
        return self

    def next(self) -> int:
        """The place in `replay`'s order of the entry given next (or given later with it)."""
        seq = self.seq
        self.seq = seq + 1
        return seq

    def add(self, entry: Entry, seq: int | None = None) -> None:
        """One entry, in the order `replay` would be given it, or with its place in it."""
        if seq is None:
            seq = self.seq
            self.seq = seq + 1
        self.take(seq, entry.id, entry.at, entry.date, entry.task, entry.action, entry.qty,
                  entry.place, entry.ref, entry.note, entry.undoes)

    def take(self, seq: int, ident: str, at: str, date: dt.date, task: str, action: str,
             qty: int | None, place: str | None, ref: str | None, note: str | None,
             undoes: str | None) -> None:
        """What `add` does with an entry, given by its values (`Entry`'s, `ident` its id)
        and its place `seq` in the order: an entry an undo may name is held back as them."""
        if action == "undo":
            self.undone.add(undoes)
        elif date > self.as_of or task not in self.tasks:
            return  # does not count on the day, or not asked for
        elif ident in self.undoable:
            self.held.append((seq, ident, at, date, task, action, qty, place, ref, note))
        else:
            self.fold(seq, ident, at, date, task, action, qty, place, ref, note)

    def fold(self, seq: int, ident: str, at: str, date: dt.date, task: str, action: str,
             qty: int | None, place: str | None, ref: str | None, note: str | None) -> None:
        """One entry that counts, given by its values (`Entry`'s, `ident` its id), with its
        place `seq` in the order: what `add` does with one that is no undo, may not be undone
        and counts on the day (a reader folds the lines it reads without making entries).

        Where the entry stands in `replay`'s order, (date, at, id, seq), is kept as one text
        that sorts the same (a tuple of its own with its texts would take twice the memory),
        its date as an ordinal in 7 digits: `at` is a time as ISO writes it, without NUL, and
        NUL in an id is spelled so that it sorts as before."""
        fold = self.folds.get(task)
        if fold is None:
            fold = self.folds[task] = _TaskFold()
        day = self.days.get(date)
        if day is None:
            day = self.days[date] = f"{date.toordinal():07d}"
        if "\0" in ident:
            ident = ident.replace("\0", "\0\1")
        key = f"{day}{at}\0\0{ident}\0\0{seq:012d}"
        if note and (fold.note_key is None or key > fold.note_key):
            fold.note_key, fold.note = key, note
        if ref and (fold.ref_key is None or key > fold.ref_key):
            fold.ref_key, fold.ref = key, ref
        if qty and action in ("progress", "done"):
            fold.achieved += qty
            if place:
                if fold.places is None:
                    fold.places = [place, key, qty]
                else:
                    _first_and_sum(fold.places, place, key, qty)
        if place and place in self.tasks[task]:
            if note or ref:
                if fold.unit_notes is None:
                    fold.unit_notes = {}
                latest = fold.unit_notes.get(place)
                if latest is None:
                    latest = fold.unit_notes[place] = [key, None, None, None, None]
                elif key < latest[0]:
                    latest[0] = key
                if note and (latest[1] is None or key > latest[1]):
                    latest[1:3] = key, note
                if ref and (latest[3] is None or key > latest[3]):
                    latest[3:5] = key, ref
            if action in ("start", "progress", "done"):
                if fold.units is None:
                    fold.units = {}
                if fold.units.get(place) != "done":
                    fold.units[place] = "done" if action == "done" else "start"
                action = "progress"  # a unit's done is its share's, not the whole task's
        if action in ("done", "cancel", "reopen"):
            if fold.mark_key is None or key > fold.mark_key:
                fold.mark_key, fold.mark = key, action
        elif action in ("start", "progress"):
            if fold.moved is None or key > fold.moved:
                fold.moved = key
            if action == "progress" and (fold.progressed is None or key > fold.progressed):
                fold.progressed = key

    def states(self) -> dict[str, TaskState]:
        """Each task's state as `replay` gives it, but for its entries (of the tasks of
        `only` when given). Once: each task's figures are let go as its state is made, so
        that both are never held whole."""
        for held in self.held:
            if held[1] not in self.undone:
                self.fold(*held)
        self.held = []
        plan = self.plan
        states = {}
        for task in plan.tasks:
            if task.id not in self.tasks:
                continue
            # Empty dicts shared, as in a state read back from the index (`unpack`).
            state = states[task.id] = TaskState(
                task, places=_NONE, entries=_NO_ENTRIES, units={} if task.shared_by else _NONE,
                unit_notes=_NONE)
            fold = self.folds.pop(task.id, None)
            if fold is None:
                if plan.is_leaf(task.id):
                    _leaf_status(state, None, False, {})
                continue
            state.achieved = fold.achieved
            state.note, state.ref = fold.note, fold.ref
            if fold.places:
                flat = fold.places  # each place's first key is its own entry's: no two alike
                state.places = {place: total for _first, place, total in sorted(
                    zip(flat[1::3], flat[0::3], flat[2::3], strict=True))}
            if fold.unit_notes:
                state.unit_notes = {place: (latest[2], latest[4]) for place, latest in sorted(
                    fold.unit_notes.items(), key=lambda item: item[1][0])}
            if plan.is_leaf(task.id):
                mark, reopened = None, False
                if fold.mark_key is not None:
                    key, action = fold.mark_key, fold.mark
                    if action != "reopen":
                        mark = action
                    else:
                        mark = "start" if fold.moved is not None and fold.moved > key else None
                        reopened = fold.progressed is None or fold.progressed < key
                elif fold.moved is not None:
                    mark = "start"
                _leaf_status(state, mark, reopened, fold.units or {})
        return states


class _TaskFold:
    """One task's part of a `Fold`: sums, and the latest of each kind with its order key
    (`Fold.fold`)."""

    __slots__ = ("achieved", "mark", "mark_key", "moved", "note", "note_key", "places",
                 "progressed", "ref", "ref_key", "unit_notes", "units")

    def __init__(self) -> None:
        self.achieved = 0
        self.note: str | None = None
        self.note_key: str | None = None
        self.ref: str | None = None
        self.ref_key: str | None = None
        # Each place, the key of its first entry and its sum, one after the other: a list of
        # its own for each place would take three times the memory (a task has a dozen).
        self.places: list[Any] | None = None
        # unit -> [first key, note key, note, ref key, ref]
        self.unit_notes: dict[str, list[Any]] | None = None
        self.units: dict[str, str] | None = None  # unit -> "done" or "start"
        self.mark: str | None = None  # the last done, cancel or reopen
        self.mark_key: str | None = None
        self.moved: str | None = None  # the key of the last start or progress
        self.progressed: str | None = None  # the key of the last progress


def _first_and_sum(places: list[Any], place: str, key: str, qty: int) -> None:
    """Add to a place's sum in `_TaskFold.places`, keeping the key of its first entry."""
    at = 0
    while True:
        try:
            at = places.index(place, at)
        except ValueError:
            places += (place, key, qty)
            return
        if at % 3 == 0:
            break
        at += 1  # a key or a sum equal to the place's text
    places[at + 2] += qty
    if key < places[at + 1]:
        places[at + 1] = key


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


# What a state holds besides its task and entries: the parameters of its constructor.
_PARAMS = TaskState.__init__.__code__.co_varnames[2:TaskState.__init__.__code__.co_argcount]
_KEPT = tuple(name for name in _PARAMS if name != "entries")
_ENTRIES = _PARAMS.index("entries")
_get_kept = attrgetter(*_KEPT)


_BY_UNIT = tuple(_KEPT.index(name) for name in ("places", "units", "unit_notes"))


def pack(state: TaskState) -> tuple[Any, ...]:
    """A state as plain values, without its task and entries (the index keeps these). The
    names of places are interned, which marshal keeps: read back, tens of thousands of states
    then share a dozen names instead of each holding its own copies."""
    values = _get_kept(state)
    if not any(values[at] for at in _BY_UNIT):
        return values
    kept = list(values)
    for at in _BY_UNIT:
        if kept[at]:
            kept[at] = {intern(place): value for place, value in kept[at].items()}
    return tuple(kept)


# What a state read back or folded holds when it has no places, units or entries: one empty
# dict or list shared by all of them (tens of thousands of states: MBs). Only `replay` and
# `Fold` fill these in, each in dicts of its own; a state read back is never added to.
_NONE: dict[str, Any] = {}
_NO_ENTRIES: list[Entry] = []


def unpack(task: Task, values: tuple[Any, ...]) -> TaskState:
    """A state from `pack`'s values, in one call."""
    state = TaskState(task, *values[:_ENTRIES], _NO_ENTRIES,  # type: ignore[call-arg]
                      *values[_ENTRIES:])
    if not state.places:
        state.places = _NONE
    if not state.units:
        state.units = _NONE
    if not state.unit_notes:
        state.unit_notes = _NONE
    return state


HISTORY_ORDER = attrgetter("date", "at", "id")  # the order entries happened in, as listed


def latest(entries: Iterable[Entry]) -> Entry | None:
    """The entry in force recorded last (by time recorded, then id), whatever its date: what
    `ocop undo` takes out."""
    return max(effective(entries, dt.date.max), key=attrgetter("at", "id"), default=None)
