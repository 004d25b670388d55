"""The entries a progress sheet records, decided row after row exactly as the typed commands
decide them (`record`); the sheet itself is read in `imports.progress`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ocop_cli.core.errors import OcopError
from ocop_cli.core.i18n import _

if TYPE_CHECKING:
    from ocop_cli.core.model import Entry
    from ocop_cli.store.storage import Loaded
from ocop_cli.core.state import replay, settle, subtree
from ocop_cli.imports.progress import ProgressRow
from ocop_cli.imports.tables import RowProblem
from ocop_cli.tracker import record


def decide_progress(loaded: Loaded, rows: Sequence[ProgressRow], who: str, as_of: dt.date
                    ) -> tuple[list[Entry], list[str], list[RowProblem]]:
    """The entries the rows record, decided one row after another exactly as the typed
    commands decide them (each row sees the rows above it); the rows that cannot be recorded.

    After a row, only the states of the tasks it recorded about and of the tasks above them
    are computed again, each from its own entries: the cost of a row does not grow with
    the rows before it or with the history."""
    plan = loaded.plan
    horizon = max([as_of, *(r.date for r in rows)])
    entries: list[Entry] = []
    messages: list[str] = []
    problems: list[RowProblem] = []
    states = loaded.states(horizon)
    own: dict[str, list[Entry]] = {}  # a task's own entries, once a row is about it

    def refresh(task_ids: Iterable[str], added: Sequence[Entry] = ()) -> None:
        """The states of these tasks and of those above them replayed from their own
        entries (so that they carry them), with `added`; nothing else is computed again."""
        touched = {up for task_id in task_ids for up in _and_above(task_id)}
        own.update(loaded.entries_of(t for t in touched if t not in own))
        for entry in added:
            own[entry.task].append(entry)
        tasks = sorted((plan.index[t] for t in touched), key=lambda t: t.id.count("."))
        states.update(replay(plan, [e for t in tasks for e in own[t.id]], horizon, tasks))
        settle(plan, states, horizon, tasks)

    for row in rows:
        stamp = record.Stamp(date=row.date, by=row.by or who, ref=row.ref, note=row.note,
                             plan=plan.year)
        if row.task in plan.index:
            refresh(t.id for t in subtree(plan, row.task) if t.id not in own)
        try:
            outcome = _decide(loaded, states, row, stamp)
        except OcopError as error:
            message = error.message + (f" ({error.hint})" if error.hint else "")
            problems.append(RowProblem(row.row, message, None, row.task))
            continue
        messages += [_("row {row}: {message}").format(row=row.row, message=m)
                     for m in outcome.messages + [_("warning: {message}").format(message=w)
                                                  for w in outcome.warnings]]
        if outcome.entries:
            entries += outcome.entries
            refresh({e.task for e in outcome.entries}, outcome.entries)
    return entries, messages, problems


def _and_above(task_id: str) -> Iterator[str]:
    """A task id and those of the tasks above it (5.2.1, 5.2, 5)."""
    while task_id:
        yield task_id
        task_id = task_id.rpartition(".")[0]


def _decide(loaded: Loaded, states: dict[str, Any], row: ProgressRow, stamp: Any) -> Any:
    """One row, through the function its typed command uses."""
    place = loaded.directory.resolve(row.place, loaded.plan.naming_day(row.date)).id \
        if row.place else None
    if row.action == "done":
        return record.done(loaded, states, row.task, stamp, row.qty, place)
    if row.action == "progress":
        return record.progress(loaded, states, row.task, row.qty or 0, stamp, place)
    if row.action == "note":
        return record.note(loaded, row.task, stamp)
    act = {"start": record.start, "reopen": record.reopen, "cancel": record.cancel}[row.action]
    return act(loaded, states, row.task, stamp)
