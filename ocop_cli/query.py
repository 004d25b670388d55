"""Which tasks a listing shows, and each task as a row of the documented JSON contract."""

from __future__ import annotations

from typing import Any, NamedTuple

from ocop_cli.directory import Directory
from ocop_cli.model import Plan, Task
from ocop_cli.state import TaskState, months_of_task
from ocop_cli.text import fold
from ocop_cli.windows import Target

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


def role_of(task: Task, agency_id: str, directory: Directory) -> str | None:
    """`lead` or `partner` when the agency leads or partners the task itself or through a
    group it belongs to (Gia Lộc is a partner where "BCĐ các huyện, TP" is)."""
    def involves(ref: str | None) -> bool:
        if ref is None:
            return False
        if ref == agency_id:
            return True
        group = directory.by_id.get(ref)
        return group is not None and agency_id in group.members

    if involves(task.lead):
        return "lead"
    if any(involves(p) for p in task.partners):
        return "partner"
    return None


def _matches(task: Task, state: TaskState, plan: Plan, directory: Directory, f: Filters) -> bool:
    if f.month is not None and f.month not in months_of_task(plan, task):
        return False
    if f.agency is not None:
        role = role_of(task, f.agency, directory)
        if role is None or (f.role != "any" and role != f.role):
            return False
    if f.statuses and state.status not in f.statuses:
        return False
    wanted_timing = {t for t, on in (("overdue", f.overdue), ("due", f.due)) if on}
    if wanted_timing and state.timing not in wanted_timing:
        return False
    if f.place is not None:
        unit = directory.by_id.get(f.place)
        counted_there = task.per_district and unit is not None and unit.kind == "locality"
        if not counted_there and f.place not in state.places:
            return False
    if f.grep:
        return fold(f.grep) in fold(" ".join([task.id, task.title, task.unit or "", *task.notes]))
    return True


def select(plan: Plan, states: dict[str, TaskState], directory: Directory,
           f: Filters) -> list[Task]:
    """Leaf tasks that pass every filter, each preceded by its parents for context."""
    chosen = {t.id for t in plan.leaves() if _matches(t, states[t.id], plan, directory, f)}
    for task_id in list(chosen):
        parent = plan.index[task_id].parent
        while parent is not None and parent in plan.index:  # check reports a missing parent
            chosen.add(parent)
            parent = plan.index[parent].parent
    return [t for t in plan.tasks if t.id in chosen]


def task_json(plan: Plan, task: Task, state: TaskState, directory: Directory,
              role: str | None = None) -> dict[str, Any]:
    """One task in the JSON contract the README documents; keys are never removed."""
    row: dict[str, Any] = {
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
        "status": state.status,
        "timing": state.timing,
        "achieved": state.achieved,
    }
    if role is not None:
        row["role"] = role
    return row


def target_json(target: Target | None) -> dict[str, Any] | None:
    """A target in the JSON contract: its minimum and maximum, its qualifier (at_least,
    about, more or null), its kind (count or share, in percent) and how it is shown."""
    if target is None:
        return None
    return {"min": target.min, "max": target.max, "qualifier": target.qualifier or None,
            "kind": target.kind, "shown": target.shown}
