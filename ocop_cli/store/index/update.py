"""Bringing the index up to date with the files, each read by the same readers as without the
index (`documents`, `lines`, `history`): nothing is read again that did not change.

- A file is unchanged when its device, inode, size and times are those recorded; one changed
  less than RACY_NS before it was read is checked by its content hash (a same-size edit within
  one timestamp tick keeps every time).
- A history file whose bytes up to the end of the last whole line read are unchanged (by
  hash) is read from there, whether it grew in place or was replaced by a longer copy of
  itself (as `git pull` leaves an office's file); any other history file is read whole.
- Of the entries with the same id, the first in file order counts (`kept`); the kept states of
  the tasks whose entries changed are forgotten (`served` computes them again when asked).
- The agencies and a plan are kept as read and validated; a plan is read again when the
  agencies it was checked against change.

A file with an error is never kept: the error is raised as reading the files raises it.
The readers are imported when a file is read: a run that finds nothing changed needs none.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocop_cli.core.directory import Directory
from ocop_cli.core.errors import InvalidData, NotFound, Problem
from ocop_cli.core.model import Entry, Plan
from ocop_cli.store.documents import read_agencies, read_plan
from ocop_cli.store.history import HISTORY_MAX_BYTES, counted_copy, entry_reader
from ocop_cli.store.index.database import (
    ENTRY_COLUMNS,
    INDEXES,
    RACY_NS,
    Stat,
    digest,
    stat_of,
)
from ocop_cli.store.index.values import (
    directory_of,
    directory_value,
    plan_of,
    plan_value,
)
from ocop_cli.store.lines import parse_lines
from ocop_cli.store.storage import Workspace
from ocop_cli.store.yamlio import decode, read_bytes

if TYPE_CHECKING:
    from ocop_cli.store.lines import Record

# An entry's row: its file and line, whether it counts, its plan's year, then its fields.
INSERT = f"INSERT INTO entries VALUES ({', '.join('?' * (4 + len(ENTRY_COLUMNS)))})"
MANY = 5000  # tasks whose kept states are forgotten one by one; past that, all of them
# Entries a new index keeps in memory for its first command. Past that, it lets them go,
# decides which copy of an id counts in SQLite and indexes its rows at once (a million
# entries held took 750 MB).
HELD_MAX = 200_000
HELD_MAX_BYTES = HELD_MAX * 200  # a history this large is never held (200 bytes an entry)


def rows_of(name: str, records: list[Record], kept: bool = True) -> Iterator[tuple[Any, ...]]:
    """The rows of the entries read from lines of the file `name` (`history.entry_reader`'s
    fields but their source), made as SQLite takes them (never a second list of them)."""
    return ((name, line, kept, values[_PLAN] or values[_DATE].year, *values[:_DATE],
             values[_DATE].toordinal(), *values[_DATE + 1:]) for line, values in records)


_DATE, _PLAN = Entry._fields.index("date"), Entry._fields.index("plan")


def chunks(values: list[Any], size: int = 500) -> Iterator[tuple[list[Any], str]]:
    """`values` a few hundred at a time, each with its `?` marks for an IN (...)."""
    for start in range(0, len(values), size):
        chunk = values[start:start + size]
        yield chunk, ",".join("?" * len(chunk))


class Held:
    """The entries a new index is made from, as they were read (every year's): each file's
    records, and the lines of the copies of an entry read before (which do not count)."""

    def __init__(self) -> None:
        self.files: list[tuple[str, list[Record]]] = []
        self.copies: set[tuple[str, int]] = set()

    def counted(self) -> Iterator[tuple[str, int, tuple[Any, ...]]]:
        """(file, line, fields but the source) of each entry that counts, in file order."""
        copies = self.copies
        for name, records in self.files:
            for line, values in records:
                if not copies or (name, line) not in copies:
                    yield name, line, values


class Update:
    """One bringing up to date of the index `db` with the files of `ws`. `fresh`: the index
    is new and empty, every file is read and each entry's `kept` decided as it is read."""

    def __init__(self, db: sqlite3.Connection, ws: Workspace, fresh: bool) -> None:
        self.db, self.ws, self.fresh = db, ws, fresh
        self.started = time.time_ns()
        self.changed: set[str] = set()  # ids whose rows were added or removed
        self.tasks: set[str] = set()  # tasks of rows removed, whose states change
        self.seen: set[str] = set()  # (fresh) the ids read so far, in file order
        # (fresh) the entries read that count: a first command reads none back from the index;
        # None past HELD_MAX entries (then which copy counts is decided once all are in)
        self.held: Held | None = Held()
        self.kept_in_memory = 0

    # --- whether anything changed ---

    def stale(self, paths: list[Path], history: list[Path]) -> bool:
        """Whether any of the files may have changed since it was indexed."""
        if self.fresh:
            return True
        records = {name: (stat, read_ns) for name, stat, read_ns in self.db.execute(
            "SELECT name, stat, read_ns FROM sources UNION ALL "
            "SELECT name, stat, read_ns FROM files")}
        names = {name for (name,) in self.db.execute("SELECT name FROM files")}
        if names != {path.name for path in history}:
            return True
        for path in (*paths, *history):
            record = records.get(path.name)
            now = stat_of(path)
            if record is None or now is None or not _unchanged(record[0], record[1], now):
                return True
        return False

    # --- the agencies and the plans ---

    def directory(self, path: Path) -> tuple[str, Directory]:
        """The agencies, and the hash of their file; InvalidData as reading them says."""
        def read() -> str:

            directory, problems = read_agencies(path)
            if directory is None:
                raise InvalidData(problems)
            return directory_value(directory)

        found, text = self.source(path, "", read)
        return found, directory_of(text)

    def plan(self, path: Path, directory: Directory, depends: str) -> tuple[str, Plan]:
        """The plan of the file at `path` checked against the agencies whose file's hash is
        `depends`, and the hash of its file; InvalidData as reading it says. A plan read
        now is given as read (made again from its JSON it is the same, 40-70 ms later)."""
        read_now: list[Plan] = []

        def read() -> str:

            plan, problems = read_plan(path, directory)
            if plan is None:
                raise InvalidData(problems)
            read_now.append(plan)
            return plan_value(plan)

        found, text = self.source(path, depends, read)
        return found, read_now[0] if read_now else plan_of(text)

    def source(self, path: Path, depends: str, read: Callable[[], str]) -> tuple[str, str]:
        """The value kept for the file at `path` (and the hash of its content), read again
        when the file, or what it was checked against (`depends`), changed."""
        row = self.db.execute("SELECT stat, hash, depends, read_ns, value FROM sources WHERE "
                              "name=?", (path.name,)).fetchone()
        now = stat_of(path)
        if row is not None and now is not None and row[2] == depends \
                and _unchanged(row[0], row[3], now, by_times_only=False) \
                and (now[3] < row[3] - RACY_NS or digest(_bytes(path)) == row[1]):
            self._seen_at("sources", path.name, now)
            return row[1], row[4]
        found = digest(_bytes(path))
        value = read()
        unchanged = stat_of(path) == now and digest(_bytes(path)) == found
        self.db.execute("INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, ?)", (
            path.name, repr(now) if unchanged else None, found, depends, self.started, value))
        return found, value

    # --- the history ---

    def history(self, files: list[Path]) -> None:
        """Every history file brought up to date (a file gone, its rows removed); then which
        rows count, and the states of the tasks whose entries changed forgotten. InvalidData
        with the problems of every file that has one, in the order of the files."""
        if self.fresh and sum(stat[2] for stat in map(stat_of, files) if stat) > HELD_MAX_BYTES:
            self.held = None  # as it would be past HELD_MAX entries, without holding them first
        names = {path.name for path in files}
        for (name,) in self.db.execute("SELECT name FROM files").fetchall():
            if name not in names:
                self._forget(name)
        problems: list[Problem] = []
        for path in files:
            try:
                self._file(path)
            except InvalidData as exc:
                problems += exc.problems
            except NotFound as exc:
                problems.append(Problem(str(path), exc.message))
        if problems:
            raise InvalidData(problems)
        if not self.fresh and self.changed:
            self._recount()
        if self.fresh and self.held is None:
            self._count_many()
        if self.fresh or self.changed:
            self._counted_copies()

    def _counted_copies(self) -> None:
        """Of each id in two files (among those read or changed), the copy that counts as
        the files' reader says (`history.counted_copy`: git's history first), the rows
        counted in file order above corrected."""
        # A new index: every row, once; else only the ids that changed, along the index on id.
        query = "SELECT DISTINCT id FROM entries WHERE NOT kept" if self.fresh else \
            "SELECT DISTINCT e.id FROM changed c JOIN entries e ON e.id = c.id WHERE NOT e.kept"
        copied = [i for (i,) in self.db.execute(query).fetchall()]
        for entry_id in copied:
            rows = self.db.execute("SELECT file, line FROM entries WHERE id=? ORDER BY file, "
                                   "line", (entry_id,)).fetchall()
            file, _colon, line = counted_copy(self.ws.history_dir, entry_id,
                                              [f"{f}:{n}" for f, n in rows]).rpartition(":")
            self.db.execute("UPDATE entries SET kept = (file=? AND line=?) WHERE id=?",
                            (file, int(line), entry_id))
            if self.held is not None:
                self.held.copies.difference_update(rows)
                self.held.copies.update(row for row in rows if row != (file, int(line)))

    def _file(self, path: Path) -> None:
        """One history file's rows brought up to date."""

        name = path.name
        row = self.db.execute("SELECT stat, read_ns, size, hash, next_line FROM files WHERE "
                              "name=?", (name,)).fetchone()
        now = stat_of(path)
        if row is not None and now is not None and _unchanged(row[0], row[1], now):
            return
        raw = read_bytes(path, HISTORY_MAX_BYTES)
        size, first = (row[2], row[4]) if row is not None else (0, 1)
        grown = row is not None and len(raw) >= size and digest(memoryview(raw)[:size]) == row[3]
        if grown and len(raw) == size:  # checked by its content: unchanged
            self._seen_at("files", name, now)
            return
        text = _tail(raw, size) if grown else None
        if text is None:  # read whole
            self._forget(name, keep_file=True)
            text, first = decode(path, raw), 1
        else:
            self._remove(name, first)  # a last line without its newline, read again
        records, _warnings = parse_lines(path, text, first, entry_reader())
        self._insert(name, records)
        end = raw.rfind(b"\n") + 1  # a last line without its newline is read again
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", (
            name, repr(now) if stat_of(path) == now else None, self.started, end,
            digest(memoryview(raw)[:end]), raw.count(b"\n", 0, end) + 1))

    def _insert(self, name: str, records: list[Record]) -> None:
        """Rows for the entries read from lines of the file `name`."""
        if not self.fresh:
            self.changed.update(values[0] for _line, values in records)
            self.db.executemany(INSERT, rows_of(name, records))
            return
        self.db.executemany(INSERT, rows_of(name, records))
        held = self.held
        if held is None:
            return  # which copy counts: `_count_many`, once every file is in
        seen, before = self.seen, len(self.seen)
        seen.update(values[0] for _line, values in records)
        if len(seen) - before != len(records):  # a copy of an entry read before: the first counts
            copies = self._copies(held, name, records)
            held.copies.update(copies)
            self.db.executemany("UPDATE entries SET kept = 0 WHERE file=? AND line=?", copies)
        held.files.append((name, records))
        self.kept_in_memory += len(records)
        if self.kept_in_memory > HELD_MAX:
            self.held, self.seen = None, set()

    def _count_many(self) -> None:
        """Of a new index's entries with the same id, the first in file order counts: the
        first row written (files are read in order, each from its first line). The rows are
        indexed at once: its first command reads them back."""
        for statement in INDEXES:
            self.db.execute(statement)
        self.db.execute("UPDATE entries SET kept = (rowid IN (SELECT min(rowid) FROM entries "
                        "GROUP BY id))")
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('indexed', 1)")

    def _copies(self, held: Held, name: str, records: list[Record]) -> list[tuple[str, int]]:
        """The lines of `records` that copy an entry read before them (in the files before,
        or above them)."""
        found = {values[0] for _name, kept in held.files for _line, values in kept}
        copies = []
        for line, values in records:
            if values[0] in found:
                copies.append((name, line))
            found.add(values[0])
        return copies

    def _remove(self, name: str, first: int) -> None:
        """The rows of a file from line `first` on."""
        for entry_id, task in self.db.execute(
                "SELECT id, task FROM entries WHERE file=? AND line>=?", (name, first)):
            self.changed.add(entry_id)
            self.tasks.add(task)
        self.db.execute("DELETE FROM entries WHERE file=? AND line>=?", (name, first))

    def _forget(self, name: str, keep_file: bool = False) -> None:
        self._remove(name, 0)
        if not keep_file:
            self.db.execute("DELETE FROM files WHERE name=?", (name,))

    def _recount(self) -> None:
        """Which row of each changed id counts (the first in file order), and the kept states
        of the tasks whose entries changed forgotten: the tasks of the rows of those ids
        (and of rows removed), and of the entries their undos name."""
        db = self.db
        db.execute("CREATE TEMP TABLE IF NOT EXISTS changed (id TEXT PRIMARY KEY)")
        db.execute("DELETE FROM changed")
        db.executemany("INSERT OR IGNORE INTO changed VALUES (?)", ((i,) for i in self.changed))
        db.execute("UPDATE entries SET kept = (rowid = (SELECT e.rowid FROM entries e WHERE "
                   "e.id = entries.id ORDER BY e.file, e.line LIMIT 1)) "
                   "WHERE id IN (SELECT id FROM changed)")
        tasks = self.tasks
        tasks.update(t for (t,) in db.execute(
            "SELECT task FROM entries WHERE id IN (SELECT id FROM changed) UNION "
            "SELECT e.task FROM entries e JOIN entries u ON u.undoes = e.id "
            "WHERE u.id IN (SELECT id FROM changed)"))
        if len(tasks) > MANY:
            db.execute("DELETE FROM states")
            db.execute("DELETE FROM on_day")
        else:
            for chunk, marks in chunks(sorted(tasks)):
                db.execute(f"DELETE FROM states WHERE task IN ({marks})", chunk)
                db.execute(f"DELETE FROM on_day WHERE task IN ({marks})", chunk)
        db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")

    def _seen_at(self, table: str, name: str, now: Stat | None) -> None:
        """A file found unchanged by its content: known by its times from now on."""
        self.db.execute(f"UPDATE {table} SET stat=?, read_ns=? WHERE name=?",
                        (repr(now), self.started, name))


def _unchanged(recorded: str | None, read_ns: int, now: Stat, by_times_only: bool = True
               ) -> bool:
    """Whether a file whose stat is `now` is as recorded (`recorded`, when it was read at
    `read_ns`): the same stat, and (with `by_times_only`) old enough then that an edit
    since would have changed its times."""
    return recorded == repr(now) and (not by_times_only or now[3] < read_ns - RACY_NS)


def _bytes(path: Path) -> bytes:

    return read_bytes(path, HISTORY_MAX_BYTES)


def _tail(raw: bytes, size: int) -> str | None:
    """The text after the first `size` bytes of a history file (the lines added since it was
    read), or None where the file is to be read whole, as its own reader says what is wrong
    (bytes that are not UTF-8, NUL, a file that was empty)."""
    if size == 0:
        return None
    tail = raw[size:]
    if b"\x00" in tail:
        return None
    try:
        return tail.decode("utf-8")
    except UnicodeDecodeError:
        return None

