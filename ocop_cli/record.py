"""What each recording command appends: the entries, decided from the state under the lock."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from dataclasses import dataclass, field

from ocop_cli.errors import NotFound, Refused, UsageError
from ocop_cli.i18n import _, format_date
from ocop_cli.model import Entry, Plan, Task
from ocop_cli.state import OPEN, TaskState, effective
from ocop_cli.storage import Loaded


@dataclass
class Outcome:
    entries: list[Entry] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Stamp:
    """What every entry of one command shares: effective date, recorder, proof, note."""

    date: dt.date
    by: str
    ref: str | None = None
    note: str | None = None
    plan: int | None = None  # the year of the plan the entries are decided against

    def entry(self, task: str, action: str, **fields: object) -> Entry:
        base = Entry(id=new_id(), at=now(), date=self.date, task=task, action=action, by=self.by,
                     ref=self.ref, note=self.note, plan=self.plan)
        return base._replace(**fields)  # type: ignore[arg-type]


def new_id() -> str:
    """Unique, and ordered by time: 12 hex digits of milliseconds, 8 random."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(4)}"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def recorder(by: str | None) -> str:
    """`--by`, else OCOP_USER, else git's user.name, else the login name."""
    if by and by.strip():
        return by.strip()
    if os.environ.get("OCOP_USER", "").strip():
        return os.environ["OCOP_USER"].strip()
    import subprocess

    try:
        name = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True,
                              timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        name = ""
    if name:
        return name
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return "ocop"


def find_task(plan: Plan, task_id: str) -> Task:
    task = plan.task(task_id.strip())
    if task is not None:
        return task
    import difflib

    ids = [t.id for t in plan.tasks]
    close = difflib.get_close_matches(task_id.strip(), ids, n=3, cutoff=0.3)
    hint = _("Closest ids: {ids}").format(ids=", ".join(close)) if close else None
    raise NotFound(_("plan {number} has no task {id!r}").format(number=plan.number, id=task_id),
                   hint=hint)


def _open_leaves(loaded: Loaded, states: dict[str, TaskState], task: Task) -> list[Task]:
    return [leaf for leaf in loaded.plan.leaves_under(task.id) if states[leaf.id].status in OPEN]


def done(loaded: Loaded, states: dict[str, TaskState], task_id: str, stamp: Stamp,
         qty: int | None = None, place: str | None = None) -> Outcome:
    task = find_task(loaded.plan, task_id)
    out = Outcome()
    leaves = loaded.plan.leaves_under(task.id)
    if len(leaves) > 1 or leaves[0] is not task:
        if qty is not None:
            raise UsageError(_("--qty goes with a sub-row: {ids}").format(
                ids=", ".join(t.id for t in leaves)))
        targets = _open_leaves(loaded, states, task)
        if targets:
            out.messages.append(_("{id}: marking its open sub-rows done: {ids}").format(
                id=task.id, ids=", ".join(t.id for t in targets)))
    else:
        targets = [task]
        if qty is not None:
            _not_counted(task)
        if states[task.id].status == "cancelled":
            raise Refused(_("task {id} is cancelled; reopen it first").format(id=task.id))
    if not targets or states[targets[0].id].status == "done":
        out.messages.append(_("task {id} is already done; nothing recorded").format(id=task.id))
        return out
    for leaf in targets:
        amount = qty
        state = states[leaf.id]
        if amount is None and state.missing and not leaf.products_at:
            amount = state.missing
            out.messages.append(_("{id}: recorded the {qty} still missing to reach the target "
                                  "{target} ({unit})").format(
                id=leaf.id, qty=amount, target=leaf.target.text if leaf.target else "",
                unit=leaf.unit or ""))
        out.entries.append(stamp.entry(leaf.id, "done", qty=amount, place=place))
        out.messages.append(_("{id} done: {title}").format(id=leaf.id, title=leaf.title))
    return out


def progress(loaded: Loaded, states: dict[str, TaskState], task_id: str, qty: int,
             stamp: Stamp, place: str | None = None) -> Outcome:
    task = _leaf(loaded.plan, task_id)
    _not_counted(task)
    if qty < 1:
        raise UsageError(_("the quantity must be a whole number of at least 1"))
    state = states[task.id]
    if state.status == "cancelled":
        raise Refused(_("task {id} is cancelled; reopen it first").format(id=task.id))
    entry = stamp.entry(task.id, "progress", qty=qty, place=place)
    total = state.achieved + qty
    target = f" / {task.target.text}" if task.target else ""
    where = f" ({loaded.directory.short(place)})" if place else ""
    message = _("{id}: +{qty}{where}, {total}{target} {unit}").format(
        id=task.id, qty=qty, where=where, total=total, target=target, unit=task.unit or "")
    return Outcome([entry], [message.rstrip()])


def start(loaded: Loaded, states: dict[str, TaskState], task_id: str, stamp: Stamp) -> Outcome:
    return _each_leaf(loaded, states, task_id, stamp, "start", ("not_started",),
                      _("task {id} has already started; nothing recorded"),
                      _("{id} started: {title}"))


def reopen(loaded: Loaded, states: dict[str, TaskState], task_id: str, stamp: Stamp) -> Outcome:
    return _each_leaf(loaded, states, task_id, stamp, "reopen", ("done", "cancelled"),
                      _("task {id} is not done or cancelled; nothing recorded"),
                      _("{id} reopened: {title}"))


def cancel(loaded: Loaded, states: dict[str, TaskState], task_id: str, stamp: Stamp) -> Outcome:
    if not (stamp.note or "").strip():
        raise UsageError(_("say why with --note"))
    return _each_leaf(loaded, states, task_id, stamp, "cancel", OPEN,
                      _("task {id} is already done or cancelled; nothing recorded"),
                      _("{id} cancelled: {title}"))


def _each_leaf(loaded: Loaded, states: dict[str, TaskState], task_id: str, stamp: Stamp,
               action: str, statuses: tuple[str, ...], nothing: str, said: str) -> Outcome:
    """One entry for the task, or for each of its sub-rows, that is in one of `statuses`."""
    task = find_task(loaded.plan, task_id)
    leaves = [t for t in loaded.plan.leaves_under(task.id) if states[t.id].status in statuses]
    if not leaves:
        return Outcome([], [nothing.format(id=task.id)])
    return Outcome([stamp.entry(t.id, action) for t in leaves],
                   [said.format(id=t.id, title=t.title) for t in leaves])


def note(loaded: Loaded, task_id: str, stamp: Stamp) -> Outcome:
    task = find_task(loaded.plan, task_id)
    if not (stamp.note or "").strip():
        raise UsageError(_("the note is empty"))
    return Outcome([stamp.entry(task.id, "note")], [_("{id}: note recorded").format(id=task.id)])


def undo(loaded: Loaded, stamp: Stamp) -> Outcome:
    """Reverse the latest entry still in force, whatever its date, by appending an undo."""
    live = effective(loaded.entries, dt.date.max)
    if not live:
        raise Refused(_("nothing to undo"))
    last = max(live, key=lambda e: (e.at, e.id))
    entry = stamp.entry(last.task, "undo", undoes=last.id, ref=None, note=None)
    return Outcome([entry], [_("undid {action} on {id} of {date} ({entry})").format(
        action=last.action, id=last.task, date=format_date(last.date), entry=last.id)])


def _not_counted(task: Task) -> None:
    if task.products_at:
        raise Refused(_("task {id} counts the products of the register that reached the stage "
                        "{stage}; record the products with `ocop product`").format(
            id=task.id, stage=task.products_at))


def _leaf(plan: Plan, task_id: str) -> Task:
    task = find_task(plan, task_id)
    if not plan.is_leaf(task.id):
        ids = ", ".join(t.id for t in plan.leaves_under(task.id))
        raise UsageError(_("task {id} has sub-rows; record progress on one of them: {ids}")
                         .format(id=task.id, ids=ids))
    return task
