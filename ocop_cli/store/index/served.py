"""What a load from the index answers (`storage.History`), reading only what it is asked for:
the entries about some tasks, every entry in the order `ocop history` lists them as they are
used, and the state of each task on a day.

A task's own state (`state.replay` of its own entries) on a day on or after its last entry is
the same on every later day: it is kept once computed (`states`, with the date of that last
entry). A task with entries after the day has its state of that day kept for the DAYS days
asked for last (`on_day`). Kept states are forgotten when the task's entries change
(`update`), and kept only while the entries they were computed from are those of the index
(its generation). A task that counts products is replayed with them on every run.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from itertools import islice
from pathlib import Path
from typing import Any

from ocop_cli.core.directory import Directory
from ocop_cli.core.errors import InvalidData
from ocop_cli.core.model import Entry, Plan, Task
from ocop_cli.core.state import PACKED, TaskState, replay
from ocop_cli.store.history import entry_problems
from ocop_cli.store.index.database import ENTRY_COLUMNS
from ocop_cli.store.index.update import Held, chunks
from ocop_cli.store.index.values import state_of, state_row

DAYS = 8  # as-of days whose states are kept for the tasks with entries after them
# Tasks replayed at once, when more are to be: what a part reads is let go before the next
# (at 50,000 tasks and 1,000,000 entries, a new day held every entry at once: 700 MB).
CHUNK = 2000
_COLUMNS = ", ".join(f'"{name}"' for name in ENTRY_COLUMNS)
_UNDO_COLUMNS = ", ".join(f'u."{name}"' for name in ENTRY_COLUMNS)  # of an undo, as `u`
_DATE = ENTRY_COLUMNS.index("date")
_TASK, _UNDOES, _PLACE = (Entry._fields.index(key) for key in ("task", "undoes", "place"))
PACKED_COLUMNS = ", ".join(PACKED)


class Served:
    """The history of one plan (the entries of `years`, each id once) as the index `db`
    holds it; `held`, the entries this run read them all from (a new index), by task."""

    def __init__(self, db: sqlite3.Connection, plan: Plan, key: str, years: frozenset[int],
                 held: Held | None) -> None:
        self.db, self.plan, self.key = db, plan, key
        self.years = tuple(sorted(years))
        self.held = held
        self.generation = self._generation()
        self._days: dict[int, dt.date] = {}
        self._in = f"year IN ({', '.join('?' * len(self.years))})"

    # --- the entries ---

    def _entry(self, row: tuple[Any, ...]) -> Entry:
        """An entry from its row (file, line, fields...), one date object for each day."""
        values = list(row[2:])
        day = self._days.get(values[_DATE])
        if day is None:
            day = self._days[values[_DATE]] = dt.date.fromordinal(values[_DATE])
        values[_DATE] = day
        values.append(f"{row[0]}:{row[1]}")
        return Entry._make(values)

    def _select(self, where: str = "", args: tuple[Any, ...] = (),
                order: str = "file, line") -> Iterator[Entry]:
        """The entries that count for the plan, chosen by `where`, in `order`."""
        for row in self.db.execute(
                f"SELECT file, line, {_COLUMNS} FROM entries WHERE kept AND {self._in} {where} "
                f"ORDER BY {order}", (*self.years, *args)):
            yield self._entry(row)

    def entries(self) -> list[Entry]:
        return list(self._select())

    def in_file_order(self) -> Iterator[Entry]:
        """Every entry that counts, in file order, read as it is used."""
        return self._select()

    def entries_about(self, task_id: str) -> list[Entry]:
        # A range of ids, as the index on task reads it (an OR would read every row).
        return list(self._select("AND task >= ? AND task < ? AND (task = ? OR task > ?)",
                                 (task_id, task_id + "/", task_id, task_id + ".")))

    def entries_of(self, task_ids: list[str]) -> dict[str, list[Entry]]:
        """What the replay of each task alone reads: its entries, and the undoing of any of
        them (recorded under whichever task), a few hundred tasks at a time."""
        if self.held is not None:
            return self._held_of(self.held, task_ids)
        found: dict[str, list[Entry]] = {task: [] for task in task_ids}
        for chunk, marks in chunks(sorted(set(task_ids))):
            for entry in self._select(f"AND task IN ({marks})", tuple(chunk)):
                found[entry.task].append(entry)
            for row in self.db.execute(
                    f"SELECT e.task, u.file, u.line, {_UNDO_COLUMNS} "
                    f"FROM entries u JOIN entries e ON e.id = u.undoes AND e.kept AND e.{self._in} "
                    f"WHERE u.kept AND u.{self._in} AND u.undoes IS NOT NULL AND e.task IN "
                    f"({marks}) ORDER BY u.file, u.line", (*self.years, *self.years, *chunk)):
                found[row[0]].append(self._entry(row[1:]))
        return found

    def _held_of(self, held: Held, task_ids: list[str]) -> dict[str, list[Entry]]:
        """`entries_of`, from the entries this run read."""
        years, wanted = self.years, set(task_ids)
        found: dict[str, list[Entry]] = {task: [] for task in task_ids}
        whose: dict[str, str] = {}
        undos: list[Entry] = []
        for name, line, values in held.counted():
            if values[_TASK] in wanted or values[_UNDOES] is not None:
                entry = Entry._make((*values, f"{name}:{line}"))
                if entry.plan_year not in years:
                    continue
                if entry.task in wanted:
                    found[entry.task].append(entry)
                    whose[entry.id] = entry.task
                if entry.undoes is not None:
                    undos.append(entry)
        for entry in undos:
            if entry.undoes in whose:
                found[whose[entry.undoes]].append(entry)
        return found

    def ordered(self, start: dt.date | None = None, end: dt.date | None = None
                ) -> Iterator[Entry]:
        """The entries (dated from `start` to `end` if given) in the order `ocop history`
        lists them: by date, time recorded and id, then file order; read as they are used."""
        where = "".join((" AND date >= ?" if start else "", " AND date <= ?" if end else ""))
        days = tuple(d.toordinal() for d in (start, end) if d)
        return self._select(where, days, "date, at, id, file, line")

    def history(self) -> Sequence[Entry]:
        """Every entry in the order `ocop history` lists them, read again at each pass over
        them (a table measures its rows, then draws them)."""
        return _Ordered(self)

    def count(self) -> int:
        return int(self.db.execute(f"SELECT count(*) FROM entries WHERE kept AND {self._in}",
                                   self.years).fetchone()[0])

    def undone(self) -> set[str]:
        """The ids the undos among the entries take out: of their own file only, as
        `state.undone_by` says."""
        return {u for (u,) in self.db.execute(
            f"SELECT u.undoes FROM entries u JOIN entries e ON e.id = u.undoes AND e.kept AND "
            f"e.file = u.file AND e.action != 'undo' AND e.{self._in} WHERE u.kept AND "
            f"u.{self._in} AND u.action = 'undo'", (*self.years, *self.years))}

    def check_places(self, folder: Path, directory: Directory) -> None:
        """InvalidData, as reading the files says it, when an entry that counts names a
        place the agencies do not know. Each place is found once: among the entries this
        run read, or by a walk along the index on place (a few steps, not every row)."""
        places = {values[_PLACE] for _name, _line, values in self.held.counted()} \
            if self.held is not None else {place for (place,) in self.db.execute(
                "WITH RECURSIVE p(place) AS (SELECT min(place) FROM entries WHERE place IS "
                "NOT NULL UNION ALL SELECT (SELECT min(place) FROM entries WHERE place IS NOT "
                "NULL AND place > p.place) FROM p WHERE place IS NOT NULL) SELECT place FROM p")}
        unknown = sorted(place for place in places if place and place not in directory.by_id)
        if not unknown:
            return

        problems = []
        for chunk, marks in chunks(unknown):
            for entry in self._select(f"AND place IN ({marks})", tuple(chunk)):
                problems += entry_problems(folder / entry.source.rpartition(":")[0], entry,
                                           None, directory)
        if problems:
            raise InvalidData(problems)

    # --- the states ---

    def states(self, as_of: dt.date, tasks: list[Task], counted: list[Entry]
               ) -> dict[str, TaskState]:
        """The own states of `tasks` on `as_of`: kept ones where they hold for that day, the
        others replayed from their own entries (and kept)."""
        day = as_of.toordinal()
        kept = {row[0]: row[1:] for row in self.db.execute(
            f"SELECT task, {PACKED_COLUMNS} FROM on_day WHERE plan=? AND day=?", (self.key, day))}
        for row in self._final([t.id for t in tasks if t.id not in kept]):
            if row[1] is None or row[1] <= day:
                kept[row[0]] = row[2:]
        found: dict[str, TaskState] = {}
        need: list[Task] = []
        for task in tasks:
            values = kept.get(task.id)
            if values is None or task.products_at:
                need.append(task)
            else:
                found[task.id] = state_of(task, values)
        del kept
        if not need:
            return found
        if self.held is not None or len(need) <= CHUNK:
            found.update(self._replayed(need, as_of, counted))
        else:  # many: a part at a time, each state as a kept one is (its entries let go)
            for start in range(0, len(need), CHUNK):
                part = need[start:start + CHUNK]
                replayed = self._replayed(part, as_of, counted)
                found.update((t.id, replayed[t.id] if t.products_at else
                              state_of(t, state_row(replayed[t.id]))) for t in part)
        return {task.id: found[task.id] for task in tasks}  # in the plan's order

    def _final(self, task_ids: list[str]) -> Iterator[tuple[Any, ...]]:
        """(task, date of its last entry, own state after all its entries) of those of
        `task_ids` that have it kept: every row of the plan when they are many."""
        if len(task_ids) > len(self.plan.tasks) // 4:
            yield from self.db.execute(f"SELECT task, last, {PACKED_COLUMNS} FROM states "
                                       "WHERE plan=?", (self.key,))
            return
        for chunk, marks in chunks(task_ids):
            yield from self.db.execute(f"SELECT task, last, {PACKED_COLUMNS} FROM states "
                                       f"WHERE plan=? AND task IN ({marks})", (self.key, *chunk))

    def _replayed(self, tasks: list[Task], as_of: dt.date, counted: list[Entry]
                  ) -> dict[str, TaskState]:
        """The own states of `tasks` on `as_of` replayed, and kept: after its last entry as
        the task's state, else as its state of the day."""
        own = self.entries_of([t.id for t in tasks])
        extra = [e for e in counted if e.task in own]
        states = replay(self.plan, [e for t in tasks for e in own[t.id]] + extra, as_of, tasks)
        day = as_of.toordinal()
        final, on_day = [], []
        for task in tasks:
            if task.products_at:
                continue  # its counted products are not the index's
            dates = [e.date for e in own[task.id] if e.task == task.id and e.action != "undo"]
            last = max(dates).toordinal() if dates else None
            row = state_row(states[task.id])
            if last is None or last <= day:
                final.append((self.key, task.id, last, *row))
            else:
                on_day.append((self.key, day, task.id, *row))
        self._keep(final, on_day, day)
        return states

    def _keep(self, final: list[tuple[Any, ...]], on_day: list[tuple[Any, ...]], day: int
              ) -> None:
        """Keep states just computed, unless the entries changed meanwhile (another run
        updated the index) or another run holds it (they are computed again next time)."""
        if not final and not on_day:
            return
        db = self.db
        with suppress(sqlite3.OperationalError):  # busy: kept another time
            db.execute("BEGIN IMMEDIATE")
            try:
                if self._generation() == self.generation:
                    self._follow_plan()
                    marks = ", ".join("?" * (3 + len(PACKED)))
                    db.executemany(f"INSERT OR REPLACE INTO states VALUES ({marks})", final)
                    db.executemany(f"INSERT OR REPLACE INTO on_day VALUES ({marks})", on_day)
                    if on_day:
                        self._keep_day(day)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _keep_day(self, day: int) -> None:
        """The day among the DAYS whose states are kept (the others forgotten)."""
        db, key = self.db, self.key
        db.execute("INSERT OR REPLACE INTO days VALUES (?, ?, ?)", (key, day, time.time_ns()))
        kept = "SELECT day FROM days WHERE plan=? ORDER BY used DESC LIMIT ?"
        db.execute(f"DELETE FROM on_day WHERE plan=? AND day NOT IN ({kept})", (key, key, DAYS))
        db.execute(f"DELETE FROM days WHERE plan=? AND day NOT IN ({kept})", (key, key, DAYS))

    def _follow_plan(self) -> None:
        """The states kept for an earlier version of the plan (its file or the years it
        counts) forgotten."""
        name = self.key.partition("|")[0]
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (f"plan {name}",)).fetchone()
        if row is not None and row[0] == self.key:
            return
        for table in ("states", "on_day", "days"):
            self.db.execute(f"DELETE FROM {table} WHERE plan > ? AND plan < ? AND plan != ?",
                            (name + "|", name + "}", self.key))
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"plan {name}", self.key))

    def _generation(self) -> int:
        return int(self.db.execute("SELECT value FROM meta WHERE key='generation'"
                                   ).fetchone()[0])


class _Ordered(Sequence[Entry]):
    """A load's entries in the order `ocop history` lists them, read again at each pass."""

    def __init__(self, served: Served) -> None:
        self.served = served

    def __len__(self) -> int:
        return self.served.count()

    def __iter__(self) -> Iterator[Entry]:
        return self.served.ordered()

    def __getitem__(self, at: Any) -> Any:
        if isinstance(at, slice):
            return list(self)[at]
        if at < 0:
            at += len(self)
        found = next(islice(self, at, None), None) if at >= 0 else None
        if found is None:
            raise IndexError(at)
        return found


def keyed(name: str, source_hash: str, years: Iterable[int]) -> str:
    """What a plan's kept states are kept by: its file, its content, the years it counts."""
    return f"{name}|{source_hash}|{','.join(map(str, sorted(years)))}"
