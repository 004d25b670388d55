"""Which tasks a listing shows, and each task as a row of the documented JSON contract."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, NamedTuple

from ocop_cli.core.directory import Directory
from ocop_cli.core.followup import class_note, follow_up
from ocop_cli.core.i18n import _, ngettext
from ocop_cli.core.model import Plan, Task
from ocop_cli.core.state import (
    MIXED,
    NOT_KNOWN,
    OPEN,
    TaskState,
    for_unit,
    months_of_task,
    settle_parent,
    unit_of,
)
from ocop_cli.core.text import fold
from ocop_cli.core.windows import Target

ROLES = ("lead", "partner", "any")


class Filters(NamedTuple):
    month: int | None = None
    agency: str | None = None  # agency id
    role: str = "any"
    statuses: tuple[str, ...] = ()
    overdue: bool = False
    due: bool = False
    place: str | None = None  # agency id
    grep: str | None = None

    def by_plan(self) -> bool:
        """Whether these filters look at the plan only (month, agency), at no task's state."""
        return not (self.statuses or self.overdue or self.due or self.place is not None
                    or self.grep)


def role_of(task: Task, agency_id: str, directory: Directory) -> str | None:
    """`lead` or `partner` when the agency leads or partners the task itself or through a
    group it belongs to (Gia Lộc is a partner where "BCĐ các huyện, TP" is)."""
    return role_in(task.lead, task.partners, agency_id, directory)


def role_in(lead: str | None, partners: Iterable[str], agency_id: str, directory: Directory
            ) -> str | None:
    """`role_of` a task led by `lead` with `partners`."""
    def involves(ref: str | None) -> bool:
        if ref is None:
            return False
        if ref == agency_id:
            return True
        group = directory.by_id.get(ref)
        return group is not None and agency_id in group.members

    if involves(lead):
        return "lead"
    if any(involves(p) for p in partners):
        return "partner"
    return None


def _plan_matches(task: Task, plan: Plan, directory: Directory, f: Filters) -> bool:
    """Whether the task passes the filters that look at the plan only (month, agency)."""
    if f.month is not None and f.month not in months_of_task(plan, task):
        return False
    if f.agency is not None:
        role = role_of(task, f.agency, directory)
        if role is None or (f.role != "any" and role != f.role):
            return False
    return True


def _matches(task: Task, state: TaskState, plan: Plan, directory: Directory, f: Filters) -> bool:
    """Whether a task that passes `_plan_matches` passes the filters on its state."""
    if f.statuses and state.status not in f.statuses:
        return False
    wanted_timing = {t for t, on in (("overdue", f.overdue), ("due", f.due)) if on}
    if wanted_timing and state.timing not in wanted_timing:
        return False
    if f.place is not None and f.place not in state.places \
            and directory.unit_of(f.place) not in task.shared_by:
        return False
    if f.grep:
        return fold(f.grep) in fold(" ".join(_searched(plan, task, state)))
    return True


def _searched(plan: Plan, task: Task, state: TaskState) -> list[str]:
    """The text `--grep` looks in: the task's and its parents' titles and notes (in either
    language), the latest note recorded (a sub-row matches when its parent does)."""
    words = [task.id, task.unit or "", state.note or ""]
    row: Task | None = task
    while row is not None:
        words += [row.title, *row.notes, *row.notes_vi]
        row = plan.task(row.parent) if row.parent else None
    return words


def subject_unit(directory: Directory, f: Filters) -> str | None:
    """The district unit whose own figures a listing shows: the place, else the agency, when
    it is a unit or part of one (Phòng NN Gia Lộc reads Gia Lộc's shares)."""
    return directory.unit_of(f.place) or directory.unit_of(f.agency)


def shown_states(plan: Plan, states: dict[str, TaskState], tasks: list[Task],
                 unit: str | None, as_of: dt.date) -> dict[str, TaskState]:
    """The states a listing of `tasks` shows: a shared task's as `unit`'s own share when a
    unit is the subject, and each parent's from its listed sub-rows, so that a parent and
    the counts under the listing never disagree."""
    listed = {t.id for t in tasks}
    shown = {t.id: for_unit(plan, states[t.id], unit, as_of) if unit else states[t.id]
             for t in tasks if plan.is_leaf(t.id)}
    for task in reversed(tasks):
        if task.id not in shown:
            parent = shown[task.id] = TaskState(task, note=states[task.id].note,
                                                ref=states[task.id].ref)
            kids = [shown[c.id] for c in plan.children(task.id) if c.id in listed]
            settle_parent(parent, kids or [states[c.id] for c in plan.children(task.id)])
    return shown


def select(plan: Plan, states: dict[str, TaskState], directory: Directory,
           f: Filters, within: list[Task] | None = None) -> list[Task]:
    """Leaf tasks (of `within`, else of the plan) that pass every filter, each preceded by its
    parents for context, in the plan's order."""
    leaves = plan.leaves() if within is None else within
    chosen = {t.id for t in leaves if _plan_matches(t, plan, directory, f)
              and _matches(t, states[t.id], plan, directory, f)}
    return _with_parents(plan, chosen)


def select_without_states(plan: Plan, directory: Directory, f: Filters) -> list[Task] | None:
    """What `select` chooses, when no filter looks at a state (then only the states of these
    tasks are needed); None when one does."""
    if not f.by_plan():
        return None
    return _with_parents(plan, {t.id for t in plan.leaves()
                                if _plan_matches(t, plan, directory, f)})


def _with_parents(plan: Plan, chosen: set[str]) -> list[Task]:
    """The tasks of `chosen`, each preceded by its parents for context, in the plan's order."""
    for task_id in list(chosen):
        parent = plan.index[task_id].parent
        while parent is not None and parent in plan.index:  # check reports a missing parent
            chosen.add(parent)
            parent = plan.index[parent].parent
    return [t for t in plan.tasks if t.id in chosen]


def urgency(row: dict[str, Any]) -> int:
    """A task row's rank when listed by urgency: overdue first, then due, other open tasks,
    done (or not known), cancelled."""
    if row["timing"] in ("overdue", "due"):
        return 0 if row["timing"] == "overdue" else 1
    return {"done": 3, None: 3, "cancelled": 4}.get(row["status"], 2)


def figures(state: TaskState) -> dict[str, Any]:
    """Target, achieved, percent, status and timing: whose they are is the caller's to say.
    A unit's share that is not known has null status and quantity."""
    target = state.task.target
    known = state.status != NOT_KNOWN
    return {
        "target": target_json(target),
        "achieved": state.achieved if known else None,
        "percent": state.percent,
        "status": state.status if known else None,
        "timing": state.timing,
    }


def task_json(plan: Plan, task: Task, state: TaskState, directory: Directory,
              role: str | None = None, whole: TaskState | None = None,
              place: str | None = None, *, as_of: dt.date) -> dict[str, Any]:
    """One task in the JSON contract the README documents; keys are never removed.

    With `whole`, `state` is the share of unit `place` (see `state.for_unit`): the row
    carries the unit's figures, and the whole task's under `whole`. Last, the follow-up
    on `as_of` (`followup.KEYS`)."""
    own = figures(state)
    row = task_head(plan, task, directory)
    row["target"] = own["target"]  # a unit's share's, in its place
    # A parent's sum only when its sub-rows count in one unit: never units added.
    row.update(status=own["status"], timing=own["timing"],
               achieved=None if unit_of(plan, task) == MIXED else own["achieved"],
               shared=bool(task.shared_by))
    if task.shared_by and whole is None:
        row["unassigned"] = state.unassigned
    if whole is not None:
        row["place"] = directory.short(place)
        row["whole"] = figures(whole) | {"unassigned": whole.unassigned} \
            | follow_up(plan, whole, as_of).json()
    if role is not None:
        row["role"] = role
    row.update(follow_up(plan, state, as_of).json())
    return row


def task_head(plan: Plan, task: Task, directory: Directory) -> dict[str, Any]:
    """The keys of a task's row that its state does not change, up to its deadline."""
    return {
        "id": task.id,
        "parent": task.parent,
        "leaf": plan.is_leaf(task.id),
        "title": task.title,
        "unit": task.unit,
        "target": target_json(task.target),
        "lead": directory.short(task.lead),
        "partners": [directory.short(p) for p in task.partners],
        "window": task.window.text if task.window else None,
        "months": list(months_of_task(plan, task)),
        "deadline": task.window.deadline(plan.year) if task.window else None,
    }


def target_json(target: Target | None) -> dict[str, Any] | None:
    """A target in the JSON contract: its minimum and maximum, its qualifier (at_least,
    about, more or null), its kind (count or share, in percent) and how it is shown."""
    if target is None:
        return None
    return {"min": target.min, "max": target.max, "qualifier": target.qualifier or None,
            "kind": target.kind, "shown": target.shown}


COUNTED = ("done", "in_progress", "not_started", "cancelled", NOT_KNOWN)


def tally(states: Iterable[TaskState]) -> dict[str, int]:
    """Counts that partition: every task in exactly one status, and every open task in exactly
    one timing (a leaf always has a window)."""
    counts = dict.fromkeys(("tasks", *COUNTED, "open", "overdue", "due", "upcoming"), 0)
    for state in states:
        counts["tasks"] += 1
        counts[state.status] += 1
        if state.status in OPEN:
            counts["open"] += 1
        if state.timing:
            counts[state.timing] += 1
    return counts


def tally_lines(counts: dict[str, int]) -> tuple[str, str]:
    """The counts in two sentences: by status (summing to the tasks), by timing (summing to
    the open ones). Zeros are left out, cancelled tasks named."""
    names = {"done": _("{n} done"), "in_progress": _("{n} in progress"),
             "not_started": _("{n} not started"), "cancelled": _("{n} cancelled"),
             NOT_KNOWN: _("{n} not known"), "overdue": _("{n} overdue"), "due": _("{n} due"),
             "upcoming": _("{n} upcoming")}

    def parts(keys: tuple[str, ...]) -> str:
        return ", ".join(names[k].format(n=counts[k]) for k in keys if counts[k])

    status = ngettext("{n} task", "{n} tasks", counts["tasks"]).format(n=counts["tasks"])
    if counts["tasks"]:
        status += ": " + parts(COUNTED)
    timing = ngettext("{n} open", "{n} open", counts["open"]).format(n=counts["open"])
    if counts["open"]:
        timing += ": " + parts(("overdue", "due", "upcoming"))
    return status, timing


def status_label(status: str | None, timing: str | None) -> str:
    """A status and timing in words; a unit's share nobody reported (status null in JSON) is
    "not known", never "not done"."""
    labels = {"not_started": _("not started"), "in_progress": _("in progress"),
              "done": _("done"), "cancelled": _("cancelled"), NOT_KNOWN: _("not known"),
              None: _("not known")}
    timings = {"upcoming": _("upcoming"), "due": _("due"), "overdue": _("overdue")}
    text = labels[status]
    return f"{text}, {timings[timing]}" if timing else text


def state_cell(row: dict[str, Any]) -> str:
    """A task row's status cell: its status and timing, its follow-up class when it says
    more ("done, 36 days late"), and, for a unit's share, the whole task's figures."""
    return (status_label(row["status"], row["timing"])
            + class_note(row.get("class"), row.get("days_late")) + whole_note(row))


def role_label(role: str | None) -> str:
    return {"lead": _("lead"), "partner": _("partner")}.get(role or "", "")


def whole_note(row: dict[str, Any]) -> str:
    """After a unit's share's status: the whole task's figures beside its own."""
    whole = row.get("whole")
    if not whole:
        return ""
    amount = f"{whole['achieved']}/{whole['target']['shown']}, " if whole["target"] else ""
    return " (" + _("whole: {figures}").format(
        figures=amount + status_label(whole["status"], whole["timing"])) + ")"
