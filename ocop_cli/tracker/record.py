"""What each recording command appends: the entries, decided from the state under the lock."""

from __future__ import annotations

import datetime as dt
import difflib
import getpass
import os
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from ocop_cli.core.errors import NotFound, Refused, UsageError
from ocop_cli.core.i18n import _, format_date
from ocop_cli.core.model import Entry, Plan, Task
from ocop_cli.core.query import status_label
from ocop_cli.core.state import (
    OPEN,
    TaskState,
    file_of,
    for_unit,
    last_command,
    share_of,
    state_as_of,
    undone_by,
)
from ocop_cli.store.storage import Loaded
from ocop_cli.store.write import Recorded

R = TypeVar("R", bound=Recorded)


@dataclass
class Outcome(Generic[R]):
    """What a recording did: the entries (or the product register's lines) it appended, what
    to tell the user, and the warnings about what was recorded all the same."""

    entries: list[R] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # recorded all the same; said on stderr
    file: Path | None = None  # where the entries were appended (a dry run: would be)


@dataclass(frozen=True)
class Stamp:
    """What every entry of one command shares: effective date, recorder, proof, note."""

    date: dt.date
    by: str
    ref: str | None = None
    note: str | None = None
    plan: int | None = None  # the year of the plan the entries are decided against
    as_of: dt.date | None = None  # the day the states are computed for (default: `date`)

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

    try:
        name = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True,
                              timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        name = ""
    if name:
        return name

    try:
        return getpass.getuser()
    except Exception:  # no login name (a container without a passwd entry)
        return "ocop"


def find_task(plan: Plan, task_id: str) -> Task:
    task = plan.task(task_id.strip())
    if task is not None:
        return task

    ids = [t.id for t in plan.tasks]
    close = difflib.get_close_matches(task_id.strip(), ids, n=3, cutoff=0.3)
    hint = _("Closest ids: {ids}").format(ids=", ".join(close)) if close else None
    raise NotFound(_("plan {number} has no task {id!r}").format(number=plan.number, id=task_id),
                   hint=hint)


def _open_leaves(loaded: Loaded, states: dict[str, TaskState], task: Task) -> list[Task]:
    return [leaf for leaf in loaded.plan.leaves_under(task.id) if states[leaf.id].status in OPEN]


def date_warnings(plan: Plan, stamp: Stamp) -> list[str]:
    """Which of the plan's bounds an entry's date falls outside: the as-of date, the day the
    plan was signed, the plan's year."""
    day = format_date(stamp.date)
    found = []
    if stamp.as_of is not None and stamp.date > stamp.as_of:
        found.append(_("the entry is dated {date}, after the as-of date {as_of}: it does not "
                       "count in the state as of {as_of}").format(
            date=day, as_of=format_date(stamp.as_of)))
    signed = plan.facts.get("dated")
    if signed and stamp.date < dt.date.fromisoformat(str(signed)):
        found.append(_("the entry is dated {date}, before the plan was signed ({signed})")
                     .format(date=day, signed=format_date(dt.date.fromisoformat(str(signed)))))
    if not plan.year <= stamp.date.year <= plan.last_year:
        found.append(_("the entry is dated {date}, outside the plan's year {year}").format(
            date=day, year=plan.years))
    return found


def _over_target(loaded: Loaded, state: TaskState, task: Task, qty: int,
                 place: str | None) -> list[str]:
    """Warnings for a quantity that takes the task, or a unit's share, past its maximum (a
    target written "at least", "about" or "more" has none)."""
    found: list[str] = []
    target = task.target
    if target is None or target.qualifier:
        return found
    if state.achieved + qty > target.max:
        found.append(_("{id}: {total} is more than the target {target} ({unit})").format(
            id=task.id, total=state.achieved + qty, target=target.text, unit=task.unit or ""))
    share = share_of(task)
    if place in task.shared_by and share is not None \
            and state.places.get(place, 0) + qty > share.max:
        found.append(_("{id}: {total} is more than the share of {place}, {share} ({unit})")
                     .format(id=task.id, total=state.places.get(place, 0) + qty,
                             place=loaded.directory.short(place), share=share.text,
                             unit=task.unit or ""))
    return found


def _now_reads(loaded: Loaded, states: dict[str, TaskState], stamp: Stamp,
               entries: list[Entry], task: Task) -> str:
    """The task's figures on the as-of date once `entries` are added: the unit's own and the
    whole's for a shared task."""
    as_of = stamp.as_of or stamp.date
    plan = loaded.plan
    after = state_as_of(plan, [*states[task.id].entries, *entries], as_of, task.id)[task.id]
    text = _figures(after)
    place = next((e.place for e in entries if e.place in task.shared_by), None)
    if place is not None:
        unit = for_unit(plan, after, place, as_of)
        text = _("{place} {figures}; whole {whole}").format(
            place=loaded.directory.short(place), figures=_figures(unit), whole=text)
    return _("as of {date}: {figures}").format(date=format_date(as_of), figures=text)


def _figures(state: TaskState) -> str:
    target = state.task.target
    amount = f"{state.achieved} / {target.text} {state.task.unit or ''}".rstrip() + ", " \
        if target else ""
    return amount + status_label(state.status, state.timing)


def _where(loaded: Loaded, task: Task, place: str | None) -> str | None:
    """The place an entry names: for a task the units share, an office's unit (Phòng NN và
    PTNT Gia Lộc records Gia Lộc's share)."""
    unit = loaded.directory.unit_of(place)
    return unit if unit is not None and unit in task.shared_by else place


def _unit(loaded: Loaded, task: Task, place: str | None) -> str | None:
    """The unit whose share of `task` a place names, if any."""
    where = _where(loaded, task, place)
    return where if where is not None and where in task.shared_by else None


def done(loaded: Loaded, states: dict[str, TaskState], task_id: str, stamp: Stamp,
         qty: int | None = None, place: str | None = None) -> Outcome[Entry]:
    task = find_task(loaded.plan, task_id)
    out: Outcome[Entry] = Outcome()
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
        unit = _unit(loaded, task, place)
        if unit is not None:
            return _unit_done(loaded, states[task.id], stamp, qty, unit)
    if not targets or states[targets[0].id].status == "done":
        out.messages.append(_("task {id} is already done; nothing recorded").format(id=task.id))
        return out
    for leaf in targets:
        unit = _unit(loaded, leaf, place)
        if unit is not None:  # a sub-row the units share: the unit's share of it
            share = _unit_done(loaded, states[leaf.id], stamp, None, unit)
            out.entries += share.entries
            out.messages += share.messages
            continue
        amount = qty
        state = states[leaf.id]
        if amount is None and state.missing and not leaf.products_at:
            amount = state.missing
            out.messages.append(_("{id}: recorded the {qty} still missing to reach the target "
                                  "{target} ({unit})").format(
                id=leaf.id, qty=amount, target=leaf.target.text if leaf.target else "",
                unit=leaf.unit or ""))
        if leaf.shared_by and place is None:
            out.messages += _whole_done(loaded, state, amount)
        out.warnings += _over_target(loaded, state, leaf, amount or 0, place)
        entry = stamp.entry(leaf.id, "done", qty=amount, place=place)
        out.entries.append(entry)
        out.messages.append(_("{id} done: {title}; {now}").format(
            id=leaf.id, title=leaf.title, now=_now_reads(loaded, states, stamp, [entry], leaf)))
    out.warnings = date_warnings(loaded.plan, stamp) + out.warnings
    return out


def _whole_done(loaded: Loaded, state: TaskState, amount: int | None) -> list[str]:
    """What a done without a place says of a shared task: the quantity it records names no
    unit, and which units have no record (they will read "not known")."""
    short = loaded.directory.short
    silent = [short(u) or u for u, s in state.units.items() if s == "not_started"]
    said = []
    if amount:
        said.append(_("{id}: the {qty} recorded now name no unit (not assigned to a unit)")
                    .format(id=state.task.id, qty=amount))
    if silent:
        said.append(_("{id}: {n} units have no record and will read \"not known\": {units}")
                    .format(id=state.task.id, n=len(silent), units=", ".join(silent)))
    return said


def _unit_done(loaded: Loaded, state: TaskState, stamp: Stamp, qty: int | None,
               place: str) -> Outcome[Entry]:
    """A unit's share done: what it still misses of its share, with its place."""
    task = state.task
    name = loaded.directory.short(place)
    if state.units.get(place) == "done":
        return Outcome([], [_("{id}: the share of {place} is already done; nothing recorded")
                            .format(id=task.id, place=name)])
    out: Outcome[Entry] = Outcome()
    share = share_of(task)
    amount = qty
    if amount is None and share is not None:
        amount = max(0, share.min - state.places.get(place, 0)) or None
        if amount:
            out.messages.append(_("{id}: recorded the {qty} still missing to reach the share "
                                  "of {place}, {share} ({unit})").format(
                id=task.id, qty=amount, place=name, share=share.text, unit=task.unit or ""))
    out.warnings = date_warnings(loaded.plan, stamp) + _over_target(
        loaded, state, task, amount or 0, place)
    out.entries.append(stamp.entry(task.id, "done", qty=amount, place=place))
    out.messages.append(_("{id} done in {place}: {title}; {now}").format(
        id=task.id, place=name, title=task.title,
        now=_now_reads(loaded, {task.id: state}, stamp, out.entries, task)))
    return out


def progress(loaded: Loaded, states: dict[str, TaskState], task_id: str, qty: int,
             stamp: Stamp, place: str | None = None) -> Outcome[Entry]:
    task = _leaf(loaded.plan, task_id)
    _not_counted(task)
    place = _where(loaded, task, place)
    if qty < 1:
        raise UsageError(_("the quantity must be a positive number"))
    state = states[task.id]
    if state.status == "cancelled":
        raise Refused(_("task {id} is cancelled; reopen it first").format(id=task.id))
    entry = stamp.entry(task.id, "progress", qty=qty, place=place)
    where = f" ({loaded.directory.short(place)})" if place else ""
    message = _("{id}: +{qty}{where}; {now}").format(
        id=task.id, qty=qty, where=where,
        now=_now_reads(loaded, states, stamp, [entry], task))
    warnings = date_warnings(loaded.plan, stamp) + _over_target(loaded, state, task, qty, place)
    return Outcome([entry], [message], warnings)


def start(loaded: Loaded, states: dict[str, TaskState], task_id: str, stamp: Stamp
          ) -> Outcome[Entry]:
    return _each_leaf(loaded, states, task_id, stamp, "start", ("not_started",),
                      _("task {id} has already started; nothing recorded"),
                      _("{id} started: {title}"))


def reopen(loaded: Loaded, states: dict[str, TaskState], task_id: str, stamp: Stamp
           ) -> Outcome[Entry]:
    return _each_leaf(loaded, states, task_id, stamp, "reopen", ("done", "cancelled"),
                      _("task {id} is not done or cancelled; nothing recorded"),
                      _("{id} reopened: {title}"))


def cancel(loaded: Loaded, states: dict[str, TaskState], task_id: str, stamp: Stamp
           ) -> Outcome[Entry]:
    if not (stamp.note or "").strip():
        raise UsageError(_("say why with --note"))
    return _each_leaf(loaded, states, task_id, stamp, "cancel", OPEN,
                      _("task {id} is already done or cancelled; nothing recorded"),
                      _("{id} cancelled: {title}"))


def _each_leaf(loaded: Loaded, states: dict[str, TaskState], task_id: str, stamp: Stamp,
               action: str, statuses: tuple[str, ...], nothing: str, said: str
               ) -> Outcome[Entry]:
    """One entry for the task, or for each of its sub-rows, that is in one of `statuses`."""
    task = find_task(loaded.plan, task_id)
    leaves = [t for t in loaded.plan.leaves_under(task.id) if states[t.id].status in statuses]
    if not leaves:
        return Outcome([], [nothing.format(id=task.id)])
    return Outcome([stamp.entry(t.id, action) for t in leaves],
                   [said.format(id=t.id, title=t.title) for t in leaves])


def note(loaded: Loaded, task_id: str, stamp: Stamp) -> Outcome[Entry]:
    task = find_task(loaded.plan, task_id)
    if not (stamp.note or "").strip():
        raise UsageError(_("the note is empty"))
    return Outcome([stamp.entry(task.id, "note")], [_("{id}: note recorded").format(id=task.id)])


def one_command(entries: list[Entry]) -> list[Entry]:
    """The entries one command writes, each carrying the id of the first as the command's
    (`undo` takes them back together); an entry alone needs none."""
    if len(entries) < 2:
        return entries
    return [e._replace(command=entries[0].id) for e in entries]


def undo(loaded: Loaded, stamp: Stamp, own: list[Entry], file: str) -> Outcome[Entry]:
    """Take back the latest command of this office still in force, whatever its date: an
    undo appended for each entry it wrote. `own` are the entries of the office's file
    `file`; another office's entries, and copies of them, are never taken back."""
    taken = last_command(own, lambda ids: _in_force(loaded, own, ids, file))
    if not taken:
        raise Refused(_("nothing to undo in history/{file}, this office's own file").format(
            file=file))
    entries = [stamp.entry(e.task, "undo", undoes=e.id, ref=None, note=None) for e in taken]
    if len(taken) == 1:
        last = taken[0]
        return Outcome(entries, [_("undid {action} on {id} of {date} ({entry})").format(
            action=action_label(last.action), id=last.task, date=format_date(last.date),
            entry=last.id)])
    return Outcome(entries, [_("undid one command of {n} entries: {entries}").format(
        n=len(taken), entries=", ".join(f"{action_label(e.action)} {e.task}" for e in taken))])


def _in_force(loaded: Loaded, own: list[Entry], ids: set[str], file: str) -> set[str]:
    """Which of `ids` (entries of the office's file) count now, as this file's: of a plan the
    workspace reads, the first of their id, and not undone (by an undo of their own file)."""
    tasks = {e.task for e in own if e.id in ids}
    counted = [e for found in loaded.entries_of(tasks).values() for e in found]
    undone = undone_by(counted)
    return {e.id for e in counted if e.id in ids and e.id not in undone and file_of(e) == file}


def action_label(action: str) -> str:
    """An entry's action as the language says it (the words `ocop import progress` reads)."""
    return {"start": _("start"), "progress": _("progress"), "done": _("done"),
            "reopen": _("reopen"), "cancel": _("cancel"), "note": _("note"),
            "undo": _("undo"), "remind": _("reminded")}.get(action, action)


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
