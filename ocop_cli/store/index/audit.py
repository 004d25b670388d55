"""`ocop check`'s look at the index: what it holds against what the files say.

An index not sealed for this user and workspace (`trust`: copied or pulled from elsewhere) is
never read; `check` names it and removes it. An index of ours is brought up to date with the
files as any command does, then compared with them: the plan and agencies it keeps, every
entry that counts, and every state it keeps against a replay of the files. A difference (an
index edited in place, or a bug) is an error; the index is removed, so that the next command
makes it again from the files.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

from ocop_cli.core.errors import InvalidData, NotFound, Problem
from ocop_cli.core.i18n import _, format_date
from ocop_cli.core.model import Entry
from ocop_cli.core.state import PACKED, pack, replay
from ocop_cli.store.index import load
from ocop_cli.store.index.database import connect, enabled, path_of, remove, sealed
from ocop_cli.store.index.served import Served
from ocop_cli.store.index.values import state_of
from ocop_cli.store.storage import Loaded, Workspace
from ocop_cli.store.storage import load as load_files

SHOWN = 20  # differences named one by one; the others are counted


def differences(ws: Workspace) -> list[Problem]:
    """What the workspace's index holds that the files do not say (errors), or that it was
    not made here (a warning); either way it is removed. Nothing when there is no index, or
    when a file does not load (`check` says why)."""
    if not enabled():
        return []
    try:
        path = path_of(ws)
        if not path.is_file():
            return []
        with closing(connect(path)) as db:
            ours = sealed(db, path, ws.root)
    except (OSError, sqlite3.DatabaseError, InvalidData):
        return []  # no index to read (`check` says why where it is wrong): none to compare
    if not ours:
        remove(path)
        return [Problem(str(path), _(
            "was not made by this user for this workspace (copied or received from "
            "elsewhere): it is never read; removed, the next command makes it again from the "
            "files"), warning=True)]
    problems: list[Problem] = []
    try:
        for year in ws.plan_files():
            problems += _compared(path, load_files(ws, year), load(ws, year))
    except (InvalidData, NotFound):
        return []
    if problems:
        remove(path)
        problems = problems[:SHOWN] + ([Problem(str(path), _(
            "{n} more differences with the files").format(n=len(problems) - SHOWN))]
            if len(problems) > SHOWN else [])
        problems.append(Problem(str(path), _(
            "differs from the files (edited outside ocop?); removed, the next command makes "
            "it again from the files")))
    return problems


def _compared(path: Path, files: Loaded, indexed: Loaded) -> list[Problem]:
    """The differences between a load from the files and one from the index."""
    served = indexed.history
    if not isinstance(served, Served):
        return []  # the index could not be used: the files were read
    name = str(path)
    if indexed.plan != files.plan:
        return [Problem(name, _("holds another plan than the files"))]
    if indexed.directory.agencies != files.directory.agencies:
        return [Problem(name, _("holds other agencies than agencies.yaml"))]
    problems = _entries(files, served)
    return problems + _states(name, files, served)


def _entries(files: Loaded, served: Served) -> list[Problem]:
    """A problem for each history line whose entry the index holds otherwise (or not at
    all, or holds where the file has none). The index's entries are read one by one, beside
    those of the files in the same order: never all held twice."""
    theirs = iter(sorted(files.entries, key=_line_of))
    mine = served.in_file_order()
    problems = []
    a, b = next(mine, None), next(theirs, None)
    while a is not None or b is not None:
        if a is not None and b is not None and a == b:
            a, b = next(mine, None), next(theirs, None)
            continue
        first = min((e for e in (a, b) if e is not None), key=_line_of)
        file, line = _line_of(first)
        problems.append(Problem(str(files.workspace.history_dir / file), _(
            "the index holds another entry for this line than the file"), line=line))
        if a is not None and _line_of(a) == (file, line):
            a = next(mine, None)
        if b is not None and _line_of(b) == (file, line):
            b = next(theirs, None)
    return problems


def _line_of(entry: Entry) -> tuple[str, int]:
    file, _sep, line = entry.source.rpartition(":")
    return file, int(line)


def _states(name: str, files: Loaded, served: Served) -> list[Problem]:
    """A problem for each task whose state the index keeps otherwise than a replay of the
    files gives it: its state after all its entries, and its states of the days kept."""
    columns = ", ".join(PACKED)
    db, key = served.db, served.key
    final = db.execute(f"SELECT NULL, task, {columns} FROM states WHERE plan=?", (key,))
    days = db.execute(f"SELECT day, task, {columns} FROM on_day WHERE plan=? ORDER BY day",
                      (key,))
    last = max((e.date for e in files.entries), default=dt.date(files.plan.year, 1, 1))
    by_day: dict[dt.date, list[tuple[str, tuple[object, ...]]]] = {}
    for day, task, *values in [*final.fetchall(), *days.fetchall()]:
        when = last if day is None else dt.date.fromordinal(day)  # after all its entries
        by_day.setdefault(when, []).append((task, tuple(values)))
    problems = []
    for day, rows in sorted(by_day.items()):
        for task_id in _differing(files, day, rows):
            problems.append(Problem(name, _(
                "keeps a state of this task on {day} that the files do not give").format(
                day=format_date(day)), task=task_id))
    return problems


def _differing(files: Loaded, day: dt.date, rows: Iterable[tuple[str, tuple[object, ...]]]
               ) -> list[str]:
    """The tasks of `rows` (task, kept state) whose own state on `day` replayed from the files
    is another."""
    plan = files.plan
    kept = [(task_id, plan.task(task_id), values) for task_id, values in rows]
    replayed = replay(plan, files.entries, day, [t for _i, t, _v in kept if t is not None])
    return [task_id for task_id, task, values in kept
            if task is None or pack(state_of(task, values)) != pack(replayed[task_id])]
