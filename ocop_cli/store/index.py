"""The index: a SQLite database under `.ocop/`, derived from the workspace's files and kept up
to date incrementally, so that a listing neither parses nor replays a long history.

It holds the agencies and each plan (as read and validated by `storage`), every history entry
(one row each, indexed by task, date, place and recorder), each history file's byte offset and
fingerprint, and each task's own state after all of its entries with the date of its last one.

- A file counts as unchanged when its device, inode, size and times are those recorded; one
  changed less than RACY_NS before it was read is checked by content (a same-size edit within
  one timestamp tick keeps every time).
- A history file whose bytes up to the recorded offset are unchanged (by CRC) is read from
  that offset, whether it grew in place or was replaced by a longer copy (as `git pull` leaves
  an office's file). Any other change is compared line by line: lines found among the file's
  rows are kept, only the others are read.
- A plan edit re-reads the plan; the states of the tasks whose row changed are computed again.
- A state as of a date on or after a task's last entry is its kept state (only the timing
  depends on the month); a task with entries after the as-of date is replayed from its own.
- A JSON listing whose filters look at no state reads rows kept for it when the plan is read,
  without loading the plan; any JSON listing (`Listing`) prints again the text it printed
  last for the same day, filters and order while nothing changed.

The YAML files are the only truth: `.ocop/` can be deleted at any time, and OCOP_NO_INDEX=1
reads the files instead. A missing, corrupt, stale or other-version index is made again; where
it cannot be written, or a file has something to say (an error), the files are read as
`storage.load` reads them, and that is what is shown.
"""

from __future__ import annotations

import datetime as dt
import io
import marshal
import os
import pickle
import sqlite3
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from functools import cached_property
from itertools import islice
from pathlib import Path
from stat import S_ISREG
from typing import Any, ClassVar, TextIO

from ocop_cli.core import state
from ocop_cli.core.errors import OcopError, Problem
from ocop_cli.core.model import Agency, Entry, Plan, Task
from ocop_cli.core.state import HISTORY_ORDER, latest
from ocop_cli.store import storage, write
from ocop_cli.store.storage import Loaded, Workspace

FORMAT = 5
NAME = "index.sqlite"
# Older than this when read, a file cannot be changed later without its times changing, on any
# file system whose clock is within this much of ours (FAT keeps 2 s steps).
RACY_NS = 3_000_000_000
BATCH = 5000  # rows inserted at a time: memory stays flat however long a file is
CHUNK = 1 << 20  # bytes of a history file read at a time
MANY = 20_000  # rows changed beyond which every row's count and every state is redone
FIELDS = tuple(f for f in Entry._fields if f != "source")  # an entry's columns
_DATE = FIELDS.index("date")


def _chunks(values: list[Any], size: int = 500) -> Iterator[tuple[list[Any], str]]:
    """`values` a few hundred at a time, each with its `?` marks for an IN (...)."""
    for start in range(0, len(values), size):
        chunk = values[start:start + size]
        yield chunk, ",".join("?" * len(chunk))


def _cols(alias: str = "") -> str:
    """The entry columns, quoted (`by` is an SQL word), of the table `alias` if given."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{f}"' for f in FIELDS)


_INSERT = f"INSERT INTO entries VALUES ({', '.join('?' * (5 + len(FIELDS)))})"

SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value);
CREATE TABLE sources (name TEXT PRIMARY KEY, stat TEXT, crc INTEGER, read_ns INTEGER,
                      depends INTEGER, value BLOB);
CREATE TABLE files (name TEXT PRIMARY KEY, stat TEXT, read_ns INTEGER, offset INTEGER,
                    crc INTEGER, next_line INTEGER, whole INTEGER);
CREATE TABLE problems (file TEXT, seq INTEGER, value BLOB);
CREATE INDEX problems_file ON problems (file);
CREATE TABLE entries (file TEXT, line INTEGER, h INTEGER, kept INTEGER, plan_year INTEGER,
                      {_cols()});
CREATE INDEX entries_file ON entries (file, line);
CREATE INDEX entries_id ON entries (id, kept);
CREATE INDEX entries_task ON entries (task, plan_year, kept);
CREATE INDEX entries_date ON entries (date);
CREATE INDEX entries_place ON entries (place, plan_year, kept);
CREATE INDEX entries_by ON entries ("by");
CREATE INDEX entries_undoes ON entries (undoes) WHERE undoes IS NOT NULL;
CREATE INDEX entries_copies ON entries (id) WHERE NOT kept;
CREATE TABLE states (plan TEXT, task TEXT, generation INTEGER, sig BLOB, last INTEGER,
                     value BLOB, status TEXT, achieved INTEGER, unassigned INTEGER,
                     PRIMARY KEY (plan, task)) WITHOUT ROWID;
CREATE INDEX states_task ON states (task);
CREATE TABLE days (plan TEXT, as_of INTEGER, generation INTEGER, plan_crc INTEGER, own BLOB,
                   settled BLOB, written INTEGER, PRIMARY KEY (plan, as_of)) WITHOUT ROWID;
CREATE TABLE checks (plan TEXT PRIMARY KEY, key BLOB, value BLOB);
CREATE TABLE plans (name TEXT PRIMARY KEY, head BLOB, listed INTEGER, counts INTEGER);
CREATE TABLE rows (plan TEXT, pos INTEGER, task TEXT, leaf INTEGER, up TEXT, first INTEGER,
                   last INTEGER, day INTEGER, who BLOB, head TEXT, shared INTEGER, value BLOB,
                   mixed INTEGER,
                   PRIMARY KEY (plan, pos)) WITHOUT ROWID;
CREATE TABLE months (plan TEXT, month INTEGER, pos INTEGER,
                     PRIMARY KEY (plan, month, pos)) WITHOUT ROWID;
CREATE TABLE listings (plan TEXT, key TEXT, written INTEGER, value BLOB,
                       PRIMARY KEY (plan, key)) WITHOUT ROWID;
CREATE TABLE on_day (plan TEXT, as_of INTEGER, task TEXT, generation INTEGER, status TEXT,
                     achieved INTEGER, unassigned INTEGER, written INTEGER, value BLOB,
                     PRIMARY KEY (plan, as_of, task)) WITHOUT ROWID;
"""

Stat = tuple[int, int, int, int, int]  # device, inode, size, mtime_ns, ctime_ns


class Fallback(Exception):
    """The index cannot answer (a file has an error to report): read the files instead."""


def enabled() -> bool:
    return os.environ.get("OCOP_NO_INDEX", "") in ("", "0")


def path_of(ws: Workspace) -> Path:
    return ws.state_dir / NAME


def load(ws: Workspace, year: int | None = None, as_of: dt.date | None = None,
         shown: Callable[[Loaded], Iterable[Task] | None] | None = None) -> Loaded:
    """What `storage.load` gives, from the index where it can (brought up to date first);
    `as_of` and `shown` are for the files when the index cannot answer (see
    `storage.load`)."""
    from ocop_cli.tracker.products import count_into

    plan_path = ws.plan_path(year)
    for _attempt in range(2 if enabled() else 0):
        try:
            found = Index.open(ws)
            try:
                loaded = found.load(plan_path)
            finally:
                found.close()
        except (Fallback, sqlite3.OperationalError, OSError):
            break  # an error in a file to report, or an index that cannot be written
        except DAMAGE:
            remove(ws)  # nonsense inside: made again
        else:
            count_into(loaded)  # the product register is read as without the index
            return loaded
    return storage.load(ws, year, as_of, shown)


def listing(ws: Workspace, year: int | None = None) -> Listing | None:
    """What `ocop tasks --format json` reads from the index without the plan's tasks (brought
    up to date first); None where it reads as any command does (`load`): no index, a plan
    that counts products from a product register, an index that cannot be read or written."""
    if not enabled():
        return None
    found: Index | None = None
    try:
        found = Index.open(ws)
        served = found.listing(ws.plan_path(year))
    except (Fallback, sqlite3.OperationalError, OSError, *DAMAGE):
        served = None  # `load` says why, or reads the files, or makes the index again
    if served is None and found is not None:
        found.close()
    return served


def check(ws: Workspace) -> list[Problem] | None:
    """What `storage.validate` finds, from the index (brought up to date for each plan);
    None when the files are to be read instead: without the index, or where it cannot
    answer (a file with an error, an entry at an unknown place)."""
    plans = ws.plan_files()
    if not enabled() or not plans:
        return None
    try:
        found = Index.open(ws)
        try:
            return found.check(plans)
        finally:
            found.close()
    except (Fallback, sqlite3.OperationalError, OSError):
        return None
    except DAMAGE:
        remove(ws)
        return None


# What reading a damaged index can raise (values of another shape, a malformed database).
DAMAGE = (sqlite3.DatabaseError, pickle.UnpicklingError, zlib.error, ValueError, TypeError,
          KeyError, IndexError, EOFError, AttributeError)


def remove(ws: Workspace) -> None:
    for suffix in ("", "-wal", "-shm"):
        with suppress(OSError):
            os.unlink(f"{path_of(ws)}{suffix}")


def snapshot(ws: Workspace) -> list[tuple[str, Stat | None]]:
    """Every data file (YAML in the workspace and its folders) by its stat: a change to any
    of them, as an entry appended, changes it."""
    found = [*ws.root.glob("*.yaml"), *ws.root.glob("*/*.yaml")]
    return [(str(p), stat_of(p)) for p in sorted(found) if not p.parent.name.startswith(".")]


def version() -> str:
    """What the index's content depends on besides the files: the shapes of the values kept,
    and the versions of ocop and Python. Another one means another index."""
    from ocop_cli import __version__
    from ocop_cli.core.windows import Target, Window

    shapes = [c._fields for c in (Agency, Task, Entry, Problem, Target, Window)]
    return repr((FORMAT, __version__, sys.version, shapes, state._KEPT))


def stat_of(path: Path) -> Stat | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


# --- values in and out ----------------------------------------------------------------------


class _Values(pickle.Unpickler):
    """Unpickles plain data and ocop's own value types only: loading the index runs no code
    but theirs (named tuples) and a date's."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("datetime", "date"):
            return dt.date
        if (module, name) == (__name__, "tuple_new"):
            return tuple_new
        if module in ("ocop_cli.core.model", "ocop_cli.core.windows", "ocop_cli.core.errors"):
            found = getattr(sys.modules[module], name, None)
            if isinstance(found, type) and issubclass(found, tuple) and hasattr(found, "_fields"):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not a value")


tuple_new = tuple.__new__


class _Pickler(pickle.Pickler):
    """Named tuples as `tuple.__new__(cls, values)`: read back without a Python-level call
    each (10,000 tasks load in a tenth of the time)."""

    def reducer_override(self, obj: Any) -> Any:
        if obj is tuple_new:
            return "tuple_new"  # by its name here (it is a method of `tuple` elsewhere)
        cls = type(obj)
        if cls is not tuple and isinstance(obj, tuple) and hasattr(cls, "_fields"):
            return tuple_new, (cls, tuple(obj))
        return NotImplemented


def dumps(value: Any) -> bytes:
    out = io.BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return out.getvalue()


def loads(blob: bytes) -> Any:
    import ocop_cli.core.windows  # noqa: F401  # the value types, looked up by `_Values`

    return _Values(io.BytesIO(blob)).load()


def _line_hash(line: str) -> int:
    from hashlib import blake2b  # only when a file is read: 2 ms to import

    digest = blake2b(line.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _entry_row(name: str, line: int, h: int | None, entry: Entry) -> tuple[Any, ...]:
    values = list(entry[:len(FIELDS)])
    values[_DATE] = entry.date.toordinal()
    return (name, line, h, 1, entry.plan_year, *values)


class _Rows:
    """Entries from rows (file, line, fields...), sharing one date object per day."""

    def __init__(self) -> None:
        self.days: dict[int, dt.date] = {}

    def entry(self, row: tuple[Any, ...]) -> Entry:
        values = list(row[2:])
        day = self.days.get(values[_DATE])
        if day is None:
            day = self.days[values[_DATE]] = dt.date.fromordinal(values[_DATE])
        values[_DATE] = day
        values.append(f"{row[0]}:{row[1]}")
        return Entry._make(values)


# --- the database ----------------------------------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    """A connection that waits for another writer as long as for the workspace lock. In WAL
    mode, NORMAL syncs at checkpoints, not at every commit: a crash can lose the last
    states kept, never the data (the index is made again from the files)."""
    db = sqlite3.connect(path, timeout=write.lock_timeout(), isolation_level=None,
                         check_same_thread=False)
    db.execute("PRAGMA synchronous=NORMAL")
    return db


class Index:
    """One open index of one workspace."""

    def __init__(self, ws: Workspace, db: sqlite3.Connection | None) -> None:
        self.ws, self._db = ws, db
        self.started = time.time_ns()
        # By the years a plan counts: task -> the rows of the undos of its entries.
        self._undone: dict[Years, dict[str, list[int]]] = {}

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, opened again after `close` (a load closes it when done, and a later
        use opens it again)."""
        if self._db is None:
            self._db = _connect(path_of(self.ws))
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @classmethod
    def open(cls, ws: Workspace) -> Index:
        """The workspace's index, made (again) when missing, damaged or of another version."""
        write.state_folder(ws)
        path = path_of(ws)
        for attempt in (1, 2):
            db = _connect(path)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                found = db.execute("SELECT name FROM sqlite_master WHERE name='meta'").fetchone()
                if found is None:
                    db.execute("BEGIN IMMEDIATE")
                    if db.execute("SELECT name FROM sqlite_master WHERE name='meta'"
                                  ).fetchone() is None:
                        for statement in SCHEMA.split(";"):
                            db.execute(statement)
                        db.execute("INSERT INTO meta VALUES ('version', ?), ('generation', 0)",
                                   (version(),))
                    db.execute("COMMIT")
                row = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
                if row is not None and row[0] == version():
                    return cls(ws, db)
            except sqlite3.DatabaseError:
                if attempt == 2:
                    raise
            db.close()
            remove(ws)  # damaged or another version: made again
        raise Fallback  # pragma: no cover - a second attempt either returns or raises

    # --- bringing it up to date ---

    def load(self, plan_path: Path) -> Loaded:
        try:
            return self._loaded(plan_path, self._fresh(plan_path))
        except OcopError:
            raise Fallback from None

    def listing(self, plan_path: Path) -> Listing | None:
        """What a JSON listing reads (see `listing`), from the index brought up to date."""
        try:
            self._fresh(plan_path)
            row = self.db.execute("SELECT head, listed, counts FROM plans WHERE name=?",
                                  (plan_path.name,)).fetchone()
            if row is None or (row[2] and self._register()):
                return None
            plan = Plan(*loads(row[0]))
            directory = self._directory()
            years = tuple(sorted(storage.owned_years(self.ws, plan)))
            self._places_known(years, directory)  # its only error: the warnings are not shown
        except OcopError:
            raise Fallback from None
        return Listing(_Served(self, None, plan_path.name, years), plan, directory, bool(row[1]))

    def _register(self) -> bool:
        """Whether the workspace has a product register (`products.register_files`), or
        something in its place: a plan that counts products from it is then read as `load`
        reads it; without one, a task counting products counts its own entries only, as any
        other. (Without importing `products`: this is on the path of every listing.)"""
        folder = self.ws.root / storage.PRODUCTS
        return folder.exists() and (not folder.is_dir() or any(folder.glob("*.yaml")))

    def _fresh(self, plan_path: Path) -> list[Path]:
        """Brought up to date with the files; the history files."""
        try:
            history = self.ws.history_files()
        except OcopError:
            raise Fallback from None
        if self._stale(plan_path, history):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self._update(plan_path, history)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return history

    def _stale(self, plan_path: Path, history: list[Path]) -> bool:
        """Whether any file may have changed since it was indexed."""
        records = {name: (stat, read_ns) for name, stat, read_ns in self.db.execute(
            "SELECT name, stat, read_ns FROM sources UNION ALL "
            "SELECT name, stat, read_ns FROM files")}
        indexed = {name for (name,) in self.db.execute("SELECT name FROM files")}
        if indexed != {p.name for p in history}:
            return True
        for path in (self.ws.agencies_path, plan_path, *history):
            record = records.get(path.name)
            now = stat_of(path)
            if record is None or now is None or record[0] != repr(now) \
                    or now[3] >= record[1] - RACY_NS:
                return True
        return False

    def _update(self, plan_path: Path, history: list[Path]) -> None:
        agencies_crc = self._source(self.ws.agencies_path, 0, self._read_agencies)
        self._source(plan_path, agencies_crc, self._read_plan)
        names = {p.name for p in history}
        gone = [n for (n,) in self.db.execute("SELECT name FROM files") if n not in names]
        changes = _Changes()
        for name in gone:
            self._forget(name, changes)
        for path in history:
            self._history_file(path, changes)
        if changes.ids or changes.everything:
            self._recount(changes)
        elif changes.moved:  # lines renumbered only
            self.db.execute("UPDATE meta SET value = value + 1 WHERE key='generation'")

    def _source(self, path: Path, depends: int, read: Any) -> int:
        """The agencies or a plan: kept as read unless the file (or, for a plan, the
        agencies it refers to) changed. Its CRC."""
        row = self.db.execute("SELECT stat, crc, read_ns, depends FROM sources WHERE name=?",
                              (path.name,)).fetchone()
        now = stat_of(path)
        if row is not None and now is not None and row[0] == repr(now) and row[3] == depends:
            if now[3] < row[2] - RACY_NS:
                return int(row[1])
            raw = _read(path)
            if zlib.crc32(raw) == row[1]:
                self.db.execute("UPDATE sources SET read_ns=? WHERE name=?",
                                (self.started, path.name))
                return int(row[1])
        crc = zlib.crc32(_read(path))  # its bytes not held while it is read (12 MB a plan
        value = read(path)  # of 50,000 tasks)
        if zlib.crc32(_read(path)) != crc or stat_of(path) != now:
            raise Fallback  # changed while read: read the files this time
        self.db.execute("INSERT OR REPLACE INTO sources VALUES (?, ?, ?, ?, ?, ?)",
                        (path.name, repr(now), crc, self.started, depends, dumps(value)))
        return crc

    def _read_agencies(self, path: Path) -> Any:
        directory, problems = storage.read_agencies(path)
        if directory is None or problems:
            raise Fallback
        return tuple(directory.agencies)

    def _read_plan(self, path: Path) -> Any:
        directory = self._directory()
        plan, problems = storage.read_plan(path, directory)
        if plan is None or problems:
            raise Fallback
        self._keep_rows(path.name, plan, directory)
        return (plan.number, plan.year, plan.title, plan.tasks, plan.facts)

    def _keep_rows(self, name: str, plan: Plan, directory: Any) -> None:
        """What a JSON listing shows of each task whatever its state (`query.task_head`,
        encoded, without its closing brace), with what chooses it (the months a month filter
        finds it and the tasks above it by, its lead and partners) and its window's months."""
        from ocop_cli.core.query import task_head
        from ocop_cli.core.state import MIXED, months_of_task, unit_of
        from ocop_cli.output.render import json_encoder

        encode = json_encoder()
        at = {t.id: pos for pos, t in enumerate(plan.tasks)}
        for table, key in (("rows", "plan"), ("months", "plan"), ("plans", "name")):
            self.db.execute(f"DELETE FROM {table} WHERE {key}=?", (name,))
        listed = not any(t.window and not t.window.months for t in plan.tasks)
        counts = any(t.products_at for t in plan.tasks)
        self.db.execute("INSERT INTO plans VALUES (?, ?, ?, ?)", (name, dumps(
            (plan.number, plan.year, plan.title, (), plan.facts)), int(listed), int(counts)))

        def ups(task: Task) -> list[int]:  # the tasks above it, as `query.select` adds them
            found = []
            parent = task.parent
            while parent is not None and parent in at:
                found.append(at[parent])
                parent = plan.index[parent].parent
            return found

        def rows() -> Iterator[tuple[Any, ...]]:
            for pos, task in enumerate(plan.tasks):
                window = task.window
                first, last, day = (window.first, window.last, window.day) \
                    if window and window.months else (None, None, None)
                yield (name, pos, task.id, plan.is_leaf(task.id), ",".join(map(str, ups(task))),
                       first, last, day, marshal.dumps((task.lead, task.partners)),
                       encode(task_head(plan, task, directory))[:-1] + ", ",
                       bool(task.shared_by), dumps(task), unit_of(plan, task) == MIXED)

        def months() -> Iterator[tuple[str, int, int]]:
            for pos, task in enumerate(plan.tasks):
                if plan.is_leaf(task.id):
                    listed = (pos, *ups(task))
                    for month in months_of_task(plan, task):
                        yield from ((name, month, p) for p in listed)

        self.db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            rows())
        self.db.executemany("INSERT OR IGNORE INTO months VALUES (?, ?, ?)", months())

    def _directory(self) -> Any:
        """The agencies as read."""
        from ocop_cli.core.directory import Directory

        return Directory(list(loads(self._value(self.ws.agencies_path))))

    def _forget(self, name: str, changes: _Changes) -> None:
        changes.removed(self.db.execute(
            "SELECT id, task, action, undoes FROM entries WHERE file=?", (name,)))
        self.db.execute("DELETE FROM entries WHERE file=?", (name,))
        self.db.execute("DELETE FROM problems WHERE file=?", (name,))
        self.db.execute("DELETE FROM files WHERE name=?", (name,))

    def _history_file(self, path: Path, changes: _Changes) -> None:
        """Bring one history file's rows up to date: nothing when unchanged, the lines after
        the recorded offset when its bytes up to there are those read (it grew, or it was
        replaced by a longer copy, as a pull leaves it), else the lines not already held.
        The file is read a piece at a time: memory does not grow with it."""
        name = path.name
        row = self.db.execute("SELECT stat, read_ns, offset, crc, next_line, whole FROM files "
                              "WHERE name=?", (name,)).fetchone()
        now = stat_of(path)
        if row is not None and now is not None and row[0] == repr(now) \
                and now[3] < row[1] - RACY_NS:
            return
        with _File(path) as file:
            same = row is not None and row[0] == repr(now)
            kept = row is not None and now is not None and (row[5] == 0 or same) \
                and row[2] <= file.size and file.skip(row[2]) == row[3]
            if kept and same and file.size == row[2]:
                # Checked by content: unchanged.
                self.db.execute("UPDATE files SET read_ns=? WHERE name=?", (self.started, name))
                return
            if kept and row[5] == 0:
                whole, next_line = self._grown(path, file, row[4], changes)
            else:
                if row is not None and row[5]:
                    self._forget(name, changes)
                file.rewind()
                whole, next_line = self._replaced(path, file, changes)
        if stat_of(path) != now:
            raise Fallback  # changed while read
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (name, repr(now), self.started, file.offset, file.crc, next_line,
                         int(whole)))

    def _grown(self, path: Path, file: _File, next_line: int, changes: _Changes
               ) -> tuple[bool, int]:
        """The lines from the recorded offset on (a last line without its newline, read last
        time, is read again with what follows it)."""
        name = path.name
        changes.removed(self.db.execute(
            "SELECT id, task, action, undoes FROM entries WHERE file=? AND line>=?",
            (name, next_line)))
        self.db.execute("DELETE FROM entries WHERE file=? AND line>=?", (name, next_line))
        self.db.execute("DELETE FROM problems WHERE file=? AND seq>=?", (name, next_line))
        return self._insert(path, file, next_line, changes)

    def _replaced(self, path: Path, file: _File, changes: _Changes) -> tuple[bool, int]:
        """The file compared line by line with the rows it had: rows whose line is still
        there are kept (renumbered if it moved), the other lines are read."""
        name = path.name
        held = _Held(self.db.execute(
            "SELECT rowid, line, h FROM entries WHERE file=? AND h IS NOT NULL", (name,)))
        self.db.execute("DELETE FROM problems WHERE file=?", (name,))

        def fresh(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
            """The lines not held; those held keep their rows, renumbered if they moved."""
            left, moved = [], []
            for number, line in lines:
                if held and line.startswith("- {"):
                    found = held.pop(_line_hash(line))
                    if found is not None:
                        if found[1] != number:
                            moved.append((number, found[0]))
                        continue
                left.append((number, line))
            self.db.executemany("UPDATE entries SET line=? WHERE rowid=?", moved)
            # A line moved may now come before or after a copy of it: which one counts is
            # decided again. An entry without a copy counts as before, and no state depends
            # on its line: only what names lines (the warnings) is made again.
            changes.moved = changes.moved or bool(moved)
            for chunk, marks in _chunks([rowid for _number, rowid in moved]):
                changes.removed(self.db.execute(
                    f"SELECT id, task, action, undoes FROM entries WHERE rowid IN ({marks}) "
                    "AND EXISTS (SELECT 1 FROM entries c WHERE c.id = entries.id AND "
                    "c.rowid <> entries.rowid)", chunk))
            return left

        whole, next_line = self._insert(path, file, 1, changes, fresh)
        if not whole:  # (read whole, the file's rows were all made again)
            for chunk, marks in _chunks(held.rest()):
                changes.removed(self.db.execute(
                    f"SELECT id, task, action, undoes FROM entries WHERE rowid IN ({marks})",
                    chunk))
                self.db.execute(f"DELETE FROM entries WHERE rowid IN ({marks})", chunk)
        return whole, next_line

    def _insert(self, path: Path, file: _File, first: int, changes: _Changes,
                fresh: Any = None) -> tuple[bool, int]:
        """Rows for the entries of the lines `file` gives from where it is, the first one
        numbered `first` (with `fresh`, of the lines `fresh(lines)` keeps), read as
        `storage` reads a history file, a piece at a time; a file with any line in another
        form is read whole by `storage` (then True). And the number of the line after the
        last one ended by a newline."""
        name = path.name
        number = first
        whole = False
        for text, ended in file.pieces():
            lines = list(enumerate(text.splitlines(), number))
            if ended:
                number += len(lines)
            if whole:
                continue  # read only to the end, for its offset and CRC
            problems: list[Problem] = []
            try:
                self._insert_rows(_quick_rows(path, fresh(lines) if fresh else lines,
                                              problems), changes)
            except _Whole:
                whole = True
                self._forget(name, changes)
                entries, problems = storage.read_history_file(path)
                self._insert_rows((_entry_row(name, int(e.source.rpartition(":")[2]), None, e)
                                   for e in entries), changes)
            self.db.executemany("INSERT INTO problems VALUES (?, ?, ?)",
                                [(name, p.line or 0, dumps(p)) for p in problems])
        return whole, number

    def _insert_rows(self, rows: Iterable[tuple[Any, ...]], changes: _Changes) -> None:
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                self.db.executemany(_INSERT, batch)
                changes.added(batch)
                batch = []
        self.db.executemany(_INSERT, batch)
        changes.added(batch)

    def _recount(self, changes: _Changes) -> None:
        """Which row of each id counts (the first in file order), and the kept states of
        every task whose entries changed forgotten."""
        if changes.everything:
            self.db.execute("UPDATE entries SET kept = 1 WHERE NOT kept")
            self.db.execute(
                "UPDATE entries SET kept = 0 WHERE rowid IN (SELECT rowid FROM (SELECT rowid, "
                "row_number() OVER (PARTITION BY id ORDER BY file, line) AS n FROM entries "
                "WHERE id IN (SELECT id FROM entries GROUP BY id HAVING count(*) > 1)) "
                "WHERE n > 1)")
            self.db.execute("DELETE FROM states")
            self.db.execute("UPDATE meta SET value = value + 1 WHERE key='generation'")
            return
        ids = list(changes.ids)
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS changed (id TEXT PRIMARY KEY)")
        self.db.execute("DELETE FROM changed")
        self.db.executemany("INSERT OR IGNORE INTO changed VALUES (?)", ((i,) for i in ids))
        self.db.execute(
            "UPDATE entries SET kept = (rowid = (SELECT e.rowid FROM entries e "
            "WHERE e.id = entries.id ORDER BY e.file, e.line LIMIT 1)) "
            "WHERE id IN (SELECT id FROM changed)")
        tasks = changes.tasks
        tasks.update(t for (t,) in self.db.execute(
            "SELECT DISTINCT task FROM entries WHERE id IN (SELECT id FROM changed)"))
        for chunk, marks in _chunks(list(changes.undone)):
            tasks.update(t for (t,) in self.db.execute(
                f"SELECT task FROM entries WHERE id IN ({marks})", chunk))
        known = self.db.execute("SELECT count(*) FROM states").fetchone()[0]
        if len(tasks) * 4 > known:
            self.db.execute("DELETE FROM states")
        else:
            self.db.executemany("DELETE FROM states WHERE task=?", ((t,) for t in tasks))
        self.db.execute("UPDATE meta SET value = value + 1 WHERE key='generation'")

    # --- what the load gives ---

    def _loaded(self, plan_path: Path, history: list[Path]) -> Loaded:
        plan = self.plan(plan_path.name)
        directory = self._directory()
        years = tuple(sorted(storage.owned_years(self.ws, plan)))
        problems = self._problems(plan, years, directory, plan_path,
                                  [p.name for p in history])
        served = _Served(self, plan, plan_path.name, years)
        loaded = Loaded(self.ws, plan, directory, served.entries, problems)
        loaded.index, served.loaded = served, loaded
        return loaded

    def _value(self, path: Path) -> bytes:
        row = self.db.execute("SELECT value FROM sources WHERE name=?", (path.name,)).fetchone()
        if row is None:
            raise Fallback
        return bytes(row[0])

    def plan(self, name: str) -> Plan:
        """The plan of the file `name`, as read."""
        return Plan(*loads(self._value(self.ws.root / name)))

    def _problems(self, plan: Plan, years: Years, directory: Any, plan_path: Path,
                  names: list[str]) -> list[Problem]:
        """The warnings a load without the index gives, in its order: each file's own, then
        its entries' (a copy of an entry read before, an entry for a task the plan lacks).
        An entry with an unknown place is an error: the files are then read."""
        generation = self._generation()
        crcs = tuple(self.db.execute("SELECT crc FROM sources WHERE name IN (?, ?) ORDER BY name",
                                     (plan_path.name, self.ws.agencies_path.name)))
        key = repr((generation, crcs, years))
        row = self.db.execute("SELECT key, value FROM checks WHERE plan=?",
                              (plan_path.name,)).fetchone()
        if row is not None and row[0] == key:
            return list(loads(row[1]))
        self._places_known(years, directory)
        found: dict[str, list[tuple[int, Problem]]] = {}
        rows = _Rows()
        for values in self.db.execute(
                f"SELECT e.file, e.line, {_cols('e')}, (SELECT k.file || ':' || k.line FROM "
                "entries k WHERE k.id = e.id AND k.kept) FROM entries e WHERE NOT e.kept"):
            entry = rows.entry(values[:-1])
            found.setdefault(entry.source.rpartition(":")[0], []).append(
                (values[1], storage.duplicate(self.ws.history_dir / values[0], entry,
                                              values[-1])))
        tasks = [t for (t,) in self.db.execute(
            f"SELECT DISTINCT task FROM entries WHERE {_in(years)} AND kept", years)
            if t not in plan.index]
        for task in tasks:
            for values in self.db.execute(f"SELECT file, line, {_cols()} FROM entries "
                                          f"WHERE task=? AND {_in(years)} AND kept",
                                          (task, *years)):
                entry = rows.entry(values)
                found.setdefault(values[0], []).extend(
                    (values[1], p) for p in storage._task_gone(
                        self.ws.history_dir / values[0], entry, plan))
        problems: list[Problem] = []
        for name in names:
            problems += [loads(v) for (v,) in self.db.execute(
                "SELECT value FROM problems WHERE file=? ORDER BY seq, rowid", (name,))]
            problems += [p for _line, p in sorted(found.get(name, []), key=lambda f: f[0])]
        with suppress(sqlite3.Error):
            self.db.execute("INSERT OR REPLACE INTO checks VALUES (?, ?, ?)",
                            (plan_path.name, key, dumps(problems)))
        return problems

    def _places_known(self, years: Years, directory: Any) -> None:
        """Fallback when an entry the plan counts names a place the agencies lack (an error
        the files are read to report). Each place is found once, by a walk along the index on
        place: a few steps, not a read of every row."""
        for (place,) in self.db.execute(
                "WITH RECURSIVE p(place) AS (SELECT min(place) FROM entries UNION ALL SELECT "
                "(SELECT min(place) FROM entries WHERE place > p.place) FROM p WHERE place IS "
                "NOT NULL) SELECT place FROM p WHERE place IS NOT NULL").fetchall():
            if place not in directory.by_id and self.db.execute(
                    f"SELECT 1 FROM entries WHERE place=? AND kept AND {_in(years)}",
                    (place, *years)).fetchone():
                raise Fallback

    def _crc(self, path: Path) -> int | None:
        """The CRC of the agencies or a plan as last read."""
        row = self.db.execute("SELECT crc FROM sources WHERE name=?", (path.name,)).fetchone()
        return None if row is None else int(row[0])

    def check(self, paths: dict[int, Path]) -> list[Problem]:
        """`check`: every plan loaded (none with a problem, or Fallback), then the history's
        problems in the order `storage.validate` gives them: each file's own and its copies
        of entries read before, then the entries for a task or plan the workspace lacks."""
        try:  # each plan brought up to date and read (what `load` does, but its problems)
            plans: dict[int, Plan] = {}
            for year, path in paths.items():
                history = self._fresh(path)
                plans[year] = self.plan(path.name)
        except OcopError:
            raise Fallback from None
        directory = self._directory()
        places = {p for (p,) in self.db.execute(
            "SELECT DISTINCT place FROM entries WHERE place IS NOT NULL AND kept")}
        if places - set(directory.by_id):
            raise Fallback  # an error: the files say where
        problems: list[Problem] = []
        for path in history:
            problems += [loads(v) for (v,) in self.db.execute(
                "SELECT value FROM problems WHERE file=? ORDER BY seq, rowid", (path.name,))]
            rows = _Rows()
            problems += [storage.duplicate(path, rows.entry(values[:-1]), values[-1])
                         for values in self.db.execute(
                f"SELECT e.file, e.line, {_cols('e')}, (SELECT k.file || ':' || k.line FROM "
                "entries k WHERE k.id = e.id AND k.kept) FROM entries e WHERE NOT e.kept AND "
                "e.file=? ORDER BY e.line", (path.name,))]
        spans = {year: plan.last_year for year, plan in plans.items()}
        gone: list[tuple[int, int, Problem]] = []
        at = {path.name: n for n, path in enumerate(history)}
        for year, task in self.db.execute(
                "SELECT DISTINCT plan_year, task FROM entries WHERE kept").fetchall():
            owner = plans.get(storage.owner(spans, year) or year)
            if owner is not None and task in owner.index:
                continue
            rows = _Rows()
            for values in self.db.execute(f"SELECT file, line, {_cols()} FROM entries WHERE "
                                          "kept AND plan_year=? AND task=?", (year, task)):
                gone += [(at[values[0]], values[1], p) for p in storage._task_gone(
                    self.ws.history_dir / values[0], rows.entry(values), owner)]
        problems += [p for _file, _line, p in sorted(gone, key=lambda g: g[:2])]
        return problems + storage.other_problems(self.ws, directory)

    def _generation(self) -> int:
        return int(self.db.execute("SELECT value FROM meta WHERE key='generation'"
                                   ).fetchone()[0])

    def entries(self, years: Years, where: str = "", args: tuple[Any, ...] = ()
                ) -> list[Entry]:
        """The entries a load keeps (those of the years the plan counts, each id once), in
        file order."""
        rows = _Rows()
        return [rows.entry(r) for r in self.db.execute(
            f"SELECT file, line, {_cols()} FROM entries WHERE kept AND {_in(years)} {where} "
            "ORDER BY file, line", (*years, *args))]

    def entries_of(self, years: Years, tasks: Iterable[str]
                   ) -> Iterator[tuple[str, list[Entry]]]:
        """(task, the entries its own state is replayed from) for each of `tasks` that has
        any: its entries, and the undoing of any of them recorded under another task. Read a
        few hundred tasks at a time, the undos of their entries first: what is held does not
        grow with the history (for many tasks, the undos are found by the task of the entry
        they undo, held as row numbers)."""
        rows = _Rows()
        wanted = sorted(set(tasks))
        undone = self._undone.get(years)
        if undone is None and len(wanted) > 100:
            undone = self._undone[years] = {}
            for rowid, task in self.db.execute(
                    f"SELECT u.rowid, e.task FROM entries u JOIN entries e ON e.id = u.undoes "
                    f"AND e.kept AND e.{_in(years)} WHERE u.kept AND u.{_in(years)} AND "
                    "u.undoes IS NOT NULL", (*years, *years)):
                undone.setdefault(task, []).append(rowid)
        for chunk, marks in _chunks(wanted):
            undos: dict[str | None, list[Entry]] = {}
            if undone is None:
                found = self.db.execute(
                    f"SELECT file, line, {_cols()} FROM entries WHERE kept AND {_in(years)} AND "
                    f"undoes IN (SELECT id FROM entries WHERE kept AND {_in(years)} AND task IN "
                    f"({marks}))", (*years, *years, *chunk)).fetchall()
            else:
                found = []
                for part, some in _chunks([r for t in chunk for r in undone.get(t, ())]):
                    found += self.db.execute(f"SELECT file, line, {_cols()} FROM entries "
                                             f"WHERE rowid IN ({some})", part).fetchall()
            for values in found:
                entry = rows.entry(values)
                undos.setdefault(entry.undoes, []).append(entry)
            current: str | None = None
            group: list[Entry] = []
            for values in self.db.execute(
                    f"SELECT file, line, {_cols()} FROM entries WHERE kept AND {_in(years)} "
                    f"AND task IN ({marks}) ORDER BY task", (*years, *chunk)):
                entry = rows.entry(values)
                if entry.task != current:
                    if current is not None:
                        yield current, group + [u for e in group for u in undos.get(e.id, ())]
                    current, group = entry.task, []
                group.append(entry)
            if current is not None:
                yield current, group + [u for e in group for u in undos.get(e.id, ())]

    def ordered(self, years: Years, start: dt.date | None = None, end: dt.date | None = None
                ) -> Iterator[Entry]:
        """The entries a load keeps (dated from `start` to `end` if given), in the order
        `ocop history` lists them: by date, time recorded and id, then file order. Read as
        they are used: a million entries are never held at once."""
        where = "".join((" AND date >= ?" if start else "", " AND date <= ?" if end else ""))
        days = tuple(d.toordinal() for d in (start, end) if d)
        rows = _Rows()
        for values in self.db.execute(
                f"SELECT file, line, {_cols()} FROM entries WHERE kept AND {_in(years)}{where} "
                "ORDER BY date, at, id, file, line", (*years, *days)):
            yield rows.entry(values)

    def count(self, years: Years) -> int:
        """How many entries a load keeps."""
        return int(self.db.execute(f"SELECT count(*) FROM entries WHERE kept AND {_in(years)}",
                                   years).fetchone()[0])

    def undone(self, years: Years) -> set[str]:
        """The ids the undos among the entries a load keeps take out."""
        return {u for (u,) in self.db.execute(
            f"SELECT undoes FROM entries WHERE kept AND {_in(years)} AND action = 'undo' AND "
            "undoes IS NOT NULL", years)}

    def latest(self, years: Years) -> Entry | None:
        """The entry in force recorded last (by time recorded, then id), whatever its date:
        what `ocop undo` takes out."""
        found = self.db.execute(
            f"SELECT file, line, {_cols()} FROM entries WHERE kept AND {_in(years)} AND "
            "action != 'undo' AND id NOT IN (SELECT undoes FROM entries WHERE kept AND "
            f"{_in(years)} AND action = 'undo' AND undoes IS NOT NULL) "
            "ORDER BY at DESC, id DESC, date, file, line LIMIT 1", (*years, *years)).fetchone()
        return None if found is None else _Rows().entry(found)



class _Changes:
    """What an update changed: the ids and tasks of rows added or removed, and the ids that
    undo entries added or removed pointed at."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.tasks: set[str] = set()
        self.undone: set[str] = set()
        # Past MANY rows (a first build, a file read whole), everything is counted again
        # instead: memory does not grow with the history.
        self.everything = False
        self.moved = False  # rows renumbered (a pull inserted lines before them)

    def removed(self, rows: Iterable[tuple[str, str, str, str | None]]) -> None:
        if self.everything:
            return
        for entry_id, task, _action, undoes in rows:
            self.ids.add(entry_id)
            self.tasks.add(task)
            if undoes:
                self.undone.add(undoes)
        if len(self.ids) > MANY:
            self.everything = True
            self.ids, self.tasks, self.undone = set(), set(), set()

    def added(self, rows: list[tuple[Any, ...]]) -> None:
        at = {f: 5 + i for i, f in enumerate(FIELDS)}
        self.removed((r[at["id"]], r[at["task"]], r[at["action"]], r[at["undoes"]])
                     for r in rows)


class _Whole(Exception):
    """A line `append` would not have written: the file is read whole by `storage`."""


def _quick_rows(path: Path, lines: list[tuple[int, str]], problems: list[Problem]
                ) -> Iterator[tuple[Any, ...]]:
    """Rows for lines as `append` writes them, read as `storage` reads them (each run of
    consecutive lines at once); _Whole for a line in any other form."""
    shared: dict[Any, Any] = {}
    name = path.name
    start = 0
    while start < len(lines):
        end = start + 1
        while end < len(lines) and lines[end][0] == lines[end - 1][0] + 1:
            end += 1
        run = [line for _number, line in lines[start:end]]
        first = lines[start][0]
        quick = storage.plain_entries(path, run, first)  # as `storage` reads a history
        if quick is not None:
            for read in quick:
                at = int(read.source.rpartition(":")[2])
                yield _entry_row(name, at, _line_hash(run[at - first]), read)
            start = end
            continue
        for at, record in storage.flow_records(path, run, problems, first):
            if record is storage.BY_HAND:
                raise _Whole
            entry = storage._plain_entry(record, f"{name}:{at}", shared)
            if entry is None:
                raise _Whole
            yield _entry_row(name, at, _line_hash(run[at - first]), entry)
        start = end


def _read(path: Path) -> bytes:
    from ocop_cli.store.yamlio import read_bytes

    return read_bytes(path, storage.HISTORY_MAX_BYTES)


class _File:
    """A history file read a piece at a time (CHUNK bytes or so, of whole lines), opened as
    `read_bytes` opens one: a regular file within the size limit, no link followed; anything
    else is a Fallback (reading the files then says what is wrong)."""

    def __init__(self, path: Path) -> None:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) \
            | getattr(os, "O_BINARY", 0)
        try:
            if path.is_symlink():  # where O_NOFOLLOW does not exist
                raise Fallback
            self.handle = os.fdopen(os.open(path, flags), "rb", buffering=0)
            info = os.fstat(self.handle.fileno())
        except OSError:
            raise Fallback from None
        self.size = info.st_size
        if not S_ISREG(info.st_mode) or self.size > storage.HISTORY_MAX_BYTES:
            self.handle.close()
            raise Fallback
        self.at = 0  # bytes read
        self.offset = 0  # just after the last newline given
        self.crc = 0  # of the bytes before `offset`

    def __enter__(self) -> _File:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()

    def skip(self, size: int) -> int | None:
        """The CRC of the first `size` bytes (a newline's end), read and let go; None when
        the file is shorter. The pieces start after them."""
        while self.at < size:
            block = self.handle.read(min(CHUNK, size - self.at))
            if not block:
                return None
            self.crc = zlib.crc32(block, self.crc)
            self.at += len(block)
        self.offset = size
        return self.crc

    def rewind(self) -> None:
        self.handle.seek(0)
        self.at = self.offset = self.crc = 0

    def pieces(self) -> Iterator[tuple[str, bool]]:
        """(text, whether it ends with a newline) from where the file was left to its end:
        whole lines (a line longer than CHUNK is a piece of its own), then any last line
        without its newline. Decoded as the whole file would be: a BOM only at its start;
        a byte that is not UTF-8, or a NUL, is a Fallback."""
        carry = b""
        while True:
            block = self.handle.read(CHUNK)
            self.at += len(block)
            if self.at > storage.HISTORY_MAX_BYTES:
                raise Fallback
            data = carry + block if carry else block
            end = data.rfind(b"\n") + 1 if block else len(data)
            if end == 0 and block:
                carry = data
                continue
            piece, carry = data[:end], data[end:]
            if piece:
                if b"\x00" in piece:
                    raise Fallback
                try:
                    text = piece.decode("utf-8-sig" if self.offset == 0 else "utf-8")
                except UnicodeDecodeError:
                    raise Fallback from None
                ended = piece.endswith(b"\n")
                if ended:
                    self.crc = zlib.crc32(piece, self.crc)
                    self.offset += len(piece)
                yield text, ended
            if not block:
                return


class _Held:
    """The rows a file had, by the hash of their line, each (rowid, line) packed in one
    integer (a copy of a line adds a list): a file of 100,000 lines takes a few MB."""

    def __init__(self, rows: Iterable[tuple[int, int, int]]) -> None:
        self.rows: dict[int, int | list[int]] = {}
        for rowid, line, h in rows:
            packed = rowid << 32 | line
            found = self.rows.setdefault(h, packed)
            if found != packed:
                if isinstance(found, int):
                    self.rows[h] = found = [found]
                found.append(packed)

    def __bool__(self) -> bool:
        return bool(self.rows)

    def pop(self, h: int) -> tuple[int, int] | None:
        """(rowid, line) of the first row not taken yet whose line has hash `h`."""
        found = self.rows.get(h)
        if found is None:
            return None
        if isinstance(found, int):
            del self.rows[h]
        else:
            packed = found.pop(0)
            if len(found) == 1:
                self.rows[h] = found[0]
            found = packed
        return found >> 32, found & 0xFFFFFFFF

    def rest(self) -> list[int]:
        """The rowids of the rows not taken."""
        return [p >> 32 for found in self.rows.values()
                for p in (found if isinstance(found, list) else [found])]


# --- task states -----------------------------------------------------------------------------


class _Ordered(Sequence[Entry]):
    """A load's entries in the order `ocop history` lists them, read again at each pass."""

    def __init__(self, served: _Served) -> None:
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


class _Served:
    """What a load from the index offers beyond the plain load: task states without a replay
    of the history, and the entries about a task without building the others."""

    def __init__(self, index: Index, plan: Plan | None, plan_name: str, years: Years) -> None:
        self.index, self.plan_name = index, plan_name
        if plan is not None:  # else read when first used
            self.plan = plan
        self.years = years  # whose entries the plan counts (`storage.owned_years`)
        self.loaded: Loaded | None = None  # the load it serves (its counted products)
        self._files: Loaded | None = None

    @cached_property
    def plan(self) -> Plan:
        return self.index.plan(self.plan_name)

    def files(self) -> Loaded:
        """The load without the index, for an index damaged since it was opened."""
        if self._files is None:
            self._files = storage.load(self.index.ws, self.plan.year)
        return self._files

    def entries(self) -> list[Entry]:
        try:
            return self.index.entries(self.years)
        except DAMAGE:
            return self.files().entries

    def entries_about(self, task_id: str) -> list[Entry]:
        try:
            # A range of ids, as the index on task reads it (an OR would read every row).
            return self.index.entries(self.years, "AND task>=? AND task<? AND (task=? OR "
                                      "task>?)", (task_id, task_id + "/", task_id,
                                                  task_id + "."))
        except DAMAGE:
            return self.files().entries_about(task_id)

    def entries_of(self, task_ids: Iterable[str]) -> dict[str, list[Entry]]:
        task_ids = list(task_ids)
        try:
            return dict(self.index.entries_of(self.years, task_ids))
        except DAMAGE:
            return self.files().entries_of(task_ids)

    def count(self) -> int:
        try:
            return self.index.count(self.years)
        except DAMAGE:
            return len(self.files().entries)

    def ordered(self, start: dt.date | None = None, end: dt.date | None = None
                ) -> Iterator[Entry]:
        """`Index.ordered`: for an index found damaged on the way, the rest from the files
        (in the same order)."""
        done = 0
        try:
            for entry in self.index.ordered(self.years, start, end):
                yield entry
                done += 1
            return
        except DAMAGE:
            pass
        found = [e for e in self.files().entries
                 if (start is None or e.date >= start) and (end is None or e.date <= end)]
        yield from sorted(found, key=HISTORY_ORDER)[done:]

    def history(self) -> Sequence[Entry]:
        """Every entry the load keeps, in the order `ocop history` lists them, read from the
        index at each pass over them (a table measures its rows, then draws them)."""
        return _Ordered(self)

    def undone(self) -> set[str]:
        try:
            return self.index.undone(self.years)
        except DAMAGE:
            return {e.undoes or "" for e in self.files().entries if e.action == "undo"}

    def latest(self) -> Entry | None:
        try:
            return self.index.latest(self.years)
        except DAMAGE:
            return latest(self.files().entries)

    def states(self, as_of: dt.date, only: set[str] | None = None
               ) -> dict[str, state.TaskState]:
        """Every task's state as of `as_of`; with `only`, those tasks' at least."""
        try:
            return self._states(as_of, only)
        except DAMAGE:
            return state.state_as_of(self.plan, self.files().entries, as_of)

    def _states(self, as_of: dt.date, only: set[str] | None) -> dict[str, state.TaskState]:
        """The states settled for `as_of` when asked before and nothing changed since (of
        `only` if given); else each task's own state as of that day (kept for the day, or
        kept after all its entries, or replayed from its entries), then settled."""
        plan, db, name = self.plan, self.index.db, self.plan_name
        day = as_of.toordinal()
        self._follow_plan()
        generation, crc = self.index._generation(), self.plan_crc()
        row = db.execute("SELECT generation, plan_crc, own, settled FROM days WHERE plan=? AND "
                         "as_of=?", (name, day)).fetchone()
        # Tasks that count products from the register are replayed on every run with the
        # entries counted from it, which the index does not hold.
        counted = self.loaded.counted if self.loaded is not None else []
        products = [t for t in plan.tasks if t.products_at]
        if row is not None and tuple(row[:2]) == (generation, crc) and not products:
            # Each task's settled state is packed on its own: only those asked for are read,
            # and each packed value is let go as it is read (50,000 of them are 10 MB).
            packed = _unpack(row[3])
            del row
            if len(packed) != len(plan.tasks):
                raise ValueError("a day's states for another plan")
            packed.reverse()
            read: dict[str, state.TaskState] = {}
            for t in plan.tasks:
                values = packed.pop()
                if only is None or t.id in only:
                    read[t.id] = state.unpack(t, _unpack(values))
            return read
        kept = {task: changed for task, changed in db.execute(
            "SELECT task, generation FROM states WHERE plan=?", (name,))}
        # Own states by task, each packed on its own (as the kept ones are).
        if row is not None and row[1] == crc:  # the day's own states, but some have changed
            own = dict(zip((t.id for t in plan.tasks), _unpack(row[2]), strict=True))
            since = row[0]
            changed = {t.id for t in plan.tasks if kept.get(t.id, since + 1) > since}
        else:
            own, changed = {}, set()
        fresh, on_day = self._replayed(
            [t for t in plan.tasks if t.id not in kept or t.id in changed], as_of)
        final = {task: (last, value) for task, _sig, last, value in fresh}
        # The tasks whose own state may differ from the day's settled one (None: all).
        touched: set[str] | None = set(final) if own and not products else None
        if not own:  # a new day: the kept states of tasks with no entry after it
            final.update((task, (last, value)) for task, last, value in db.execute(
                "SELECT task, last, value FROM states WHERE plan=?", (name,))
                if task not in final)
            done = {task for task, _sig, _last, _value in fresh}
            later = [t for t in plan.tasks if (final[t.id][0] or 0) > day and t.id not in done]
            # Those a listing replayed for this day, unless their entries changed since.
            known = {task: value for task, at, value in db.execute(
                "SELECT task, generation, value FROM on_day WHERE plan=? AND as_of=?",
                (name, day)) if task in kept and at >= kept[task]}
            on_day += [(t.id, b"", None, known[t.id]) for t in later if t.id in known]
            on_day += self._replayed([t for t in later if t.id not in known], as_of,
                                     final=False)[1]
        own.update((task, value) for task, (_last, value) in final.items())
        own.update((task, value) for task, _sig, _last, value in on_day)
        if touched is not None:
            touched.update(task for task, _sig, _last, _value in on_day)
        if products:
            found: dict[str, list[Entry]] = {t.id: [] for t in products}
            found.update(self.entries_of(t.id for t in products))
            for entry in counted:
                if entry.task in found:
                    found[entry.task].append(entry)
            replayed = state.replay(plan, [e for t in products for e in found[t.id]], as_of,
                                    products)
            own.update((task, _pack(state.pack(s))) for task, s in replayed.items())
        blob = _pack([own[t.id] for t in plan.tasks])
        del kept, final  # held no longer: 50,000 tasks' values are tens of MB
        if touched is None:
            # Each own value let go once unpacked, for the same reason.
            states = state.settle(plan, {t.id: state.unpack(t, _unpack(own.pop(t.id)))
                                         for t in plan.tasks}, as_of)
            settled = [_pack(state.pack(states[t.id])) for t in plan.tasks]
        else:
            assert row is not None
            settled = self._settled_again(list(_unpack(row[3])), own, touched, as_of)
            states = {t.id: state.unpack(t, _unpack(value))
                      for t, value in zip(plan.tasks, settled, strict=True)
                      if only is None or t.id in only}
        self._keep(generation, [(name, task, generation, sig, last, value)
                                for task, sig, last, value in fresh],
                   (name, day, generation, crc, blob, _pack(settled)))
        return states

    def listing_key(self, generation: int, f: Any, sort: str, as_of: dt.date) -> str:
        """What a JSON listing's text is kept by: everything it depends on (the index's
        `generation`, the plan and the agencies, the day, the filters `f` and `sort`)."""
        return repr((generation, self.plan_crc(), self.index._crc(self.index.ws.agencies_path),
                     as_of.toordinal(), tuple(f), sort))

    def kept_listing(self, key: str) -> str | None:
        """The text kept by `key`, escaped as it is printed (as everything read from the
        index)."""
        from ocop_cli.output.render import escaped

        row = self.index.db.execute("SELECT value FROM listings WHERE plan=? AND key=?",
                                    (self.plan_name, key)).fetchone()
        return None if row is None else escaped(zlib.decompress(row[0]).decode("utf-8"))

    def keep_listing(self, generation: int, key: str, blob: bytes, f: Any, sort: str,
                     as_of: dt.date) -> None:
        """Keep a listing's text (compressed) by `key`, unless the index, the plan or the
        agencies changed since the key was made (a listing made from a load reads them again);
        the DAYS kept last stay."""
        db, name = self.index.db, self.plan_name

        def write() -> None:
            if self.listing_key(generation, f, sort, as_of) != key:
                return
            db.execute("INSERT OR REPLACE INTO listings VALUES (?, ?, ?, ?)", (
                name, key, time.time_ns(), blob))
            db.execute("DELETE FROM listings WHERE plan=? AND key NOT IN (SELECT key FROM "
                       "listings WHERE plan=? ORDER BY written DESC LIMIT ?)", (name, name, DAYS))

        self._write(generation, write)

    def json_rows(self, f: Any, head: Plan, directory: Any, as_of: dt.date, generation: int
                  ) -> list[str] | None:
        """The rows `ocop tasks --format json` prints for filters `f` that look at no state,
        encoded, for the index's `generation`; None where a unit's own shares would be shown.

        Read from the index without the plan: each task's row as far as its state does not
        change it, kept encoded; a leaf's figures from its own kept state (replayed when
        there is none, or it has entries after `as_of`), its timing from the month; a
        parent's from its listed sub-rows, as `query.shown_states` makes them."""
        from ocop_cli.core.query import role_in, subject_unit
        from ocop_cli.core.state import NOT_KNOWN, OPEN, month_index, settle_parent
        from ocop_cli.core.windows import Window
        from ocop_cli.output.render import json_encoder

        if subject_unit(directory, f) is not None:
            return None
        db, name, day = self.index.db, self.plan_name, as_of.toordinal()
        # A leaf's own figures: kept after all its entries; if it has entries after `as_of`,
        # kept for that day unless its entries changed since (its kept state is newer).
        # `need`: 1 when it has no kept state, 2 when it is to be replayed as of `as_of`.
        kept = ("CASE WHEN s.last IS NULL OR s.last <= :day THEN s.{0} ELSE d.{0} END"
                .format)
        columns = ("r.pos, r.task, r.leaf, r.up, r.shared, r.first, r.last, r.day, "
                   "CASE WHEN s.status IS NULL THEN 1 WHEN s.last IS NULL OR s.last <= :day "
                   "OR d.generation >= s.generation THEN 0 ELSE 2 END, "
                   f"{kept('status')}, {kept('achieved')}, {kept('unassigned')}, r.who, "
                   "r.mixed")
        states = ("LEFT JOIN states s ON r.leaf AND s.plan = r.plan AND s.task = r.task "
                  "LEFT JOIN on_day d ON s.last > :day AND d.plan = r.plan AND d.as_of = :day "
                  "AND d.task = r.task")
        args = {"day": day, "plan": name, "month": f.month}
        if f.month is None:
            where = "FROM rows r {} WHERE r.plan = :plan ORDER BY r.pos"
        else:  # the leaves of the month and the tasks above them
            where = ("FROM months m JOIN rows r ON r.plan = m.plan AND r.pos = m.pos {} WHERE "
                     "m.plan = :plan AND m.month = :month ORDER BY m.pos")
        found = db.execute(f"SELECT {columns} {where.format(states)}", args).fetchall()

        def role(who: bytes) -> str | None:
            lead, partners = marshal.loads(who)
            return role_in(lead, partners, f.agency, directory)

        listed = found  # with no agency: the leaves of the month (or all) and those above
        if f.agency is not None:
            # Leaves that pass the filters, each with the tasks above it (`query.select`).
            chosen: set[int] = set()
            for pos, _task, leaf, up, *_rest, who, _mixed in found:
                found_role = role(who) if leaf else None
                if found_role is not None and f.role in ("any", found_role):
                    chosen.add(pos)
                    if up:
                        chosen.update(map(int, up.split(",")))
            listed = [row for row in found if row[0] in chosen]
        own = self._replayed_figures({row[1]: row[0] for row in listed if row[2] and row[8] == 1},
                                     {row[1]: row[0] for row in listed if row[2] and row[8] == 2},
                                     head, as_of, generation)
        month = month_index(head, as_of)
        shown: dict[int, Any] = {}
        kids: dict[int, list[Any]] = {}
        figures: Any  # `_Figures`: what `settle_parent` reads and sets of a `TaskState`
        for pos, task, leaf, up, _shared, first, last, end, need, *kept in reversed(listed):
            if leaf:
                status, achieved, unassigned = own[task] if need else kept[:3]
                timing = Window("", (first, last), end).timing(month, as_of.day) \
                    if status in OPEN and first is not None else None
                figures = shown[pos] = _Figures(status, timing, achieved, unassigned)
            else:
                children = kids.pop(pos, None)
                if not children:
                    return None  # as `query.shown_states` would not find them
                figures = shown[pos] = _Figures()
                settle_parent(figures, children)
            if up:
                kids.setdefault(int(up.partition(",")[0]), []).append(figures)
        encode = json_encoder()
        words: dict[str, str] = {}

        def scalar(value: Any) -> str:  # as `encode` gives it, a string once each
            if value is None or type(value) is int:
                return "null" if value is None else str(value)
            if value not in words:
                words[value] = encode(value)
            return words[value]

        ends: dict[tuple[Any, ...], str] = {}  # the same figures end many rows alike

        def ending(*values: Any) -> str:
            text = ends.get(values)
            if text is None:
                status, timing, achieved, shared, unassigned, found_role = values
                text = (f'"status": {scalar(status)}, "timing": {scalar(timing)}, '
                        f'"achieved": {scalar(achieved)}, "shared": '
                        f'{"true" if shared else "false"}')
                if shared:
                    text += f', "unassigned": {scalar(unassigned)}'
                if found_role is not None:
                    text += f', "role": {scalar(found_role)}'
                text = ends[values] = text + "}"
            return text

        # Each row's start read as the rows are written: 50,000 of them are never all held.
        lines = []
        rows = iter(listed)
        row = next(rows, None)
        for at, start in db.execute(f"SELECT r.pos, r.head {where.format('')}", args):
            if row is None:
                break
            if at != row[0]:
                continue  # a task the agency filter left out
            pos, _task, _leaf, _up, shared, *_rest, who, mixed = row
            figures = shown[pos]
            known = figures.status != NOT_KNOWN
            lines.append(start + ending(
                figures.status if known else None, figures.timing,
                # A parent's sum only when its sub-rows count in one unit (`state.unit_of`).
                figures.achieved if known and not mixed else None, shared,
                figures.unassigned if shared else None,
                role(who) if f.agency is not None else None))
            row = next(rows, None)
        if row is not None:
            raise ValueError("the plan's rows changed while read")  # as damage: read again
        return lines

    def _replayed_figures(self, absent: dict[str, int], later: dict[str, int], head: Plan,
                          as_of: dt.date, generation: int) -> dict[str, tuple[str, int, int]]:
        """The figures (status, achieved, unassigned) of listed leaves replayed (by task, with
        its row's position): `absent` without a kept state (replayed and kept), `later` with
        entries after `as_of` and no figures kept for that day (kept for it)."""
        db, name, day = self.index.db, self.plan_name, as_of.toordinal()
        if not absent and not later:
            return {}
        missing = db.execute(  # tasks without a kept state, listed or not
            "SELECT (SELECT max(pos) + 1 FROM rows WHERE plan=?) - "
            "(SELECT count(*) FROM states WHERE plan=?)", (name, name)).fetchone()[0]
        if absent and missing > len(absent):
            # As after the index is made: every task is replayed and kept, as `states` does,
            # so that the commands after this one find them all.
            part, index = self, self.plan.index
            held = {t for (t,) in db.execute("SELECT task FROM states WHERE plan=?", (name,))}
            absent = {t.id: 0 for t in self.plan.tasks if t.id not in held}
        else:  # in a plan of those leaves only: a leaf's own state reads no other row
            index = {t: loads(v) for chunk, marks in _chunks([*absent.values(), *later.values()])
                     for t, v in db.execute(f"SELECT task, value FROM rows WHERE plan=? AND "
                                            f"pos IN ({marks})", (name, *chunk))}
            part = _Served(self.index, Plan(head.number, head.year, head.title,
                                            tuple(index.values()), head.facts), name, self.years)
        fresh, on_day = part._replayed([index[t] for t in absent], as_of)
        on_day += part._replayed([index[t] for t in later], as_of, final=False)[1]
        own = {task: _figures(value) for task, _sig, _last, value in fresh}
        days = [(name, day, task, generation, *_figures(value), time.time_ns(), value)
                for task, _sig, _last, value in on_day]
        own.update((row[2], row[4:7]) for row in days)
        self._keep(generation, ((name, task, generation, sig, last, value)
                                for task, sig, last, value in fresh), later=days)
        return own

    def _settled_again(self, settled: list[bytes], own: dict[str, bytes], touched: set[str],
                       as_of: dt.date) -> list[bytes]:
        """The day's settled states (one packed value per task, in the plan's order) after the
        own states of `touched` changed: those tasks and the rows above them are settled
        again, from the others' settled states."""
        plan = self.plan
        again: set[str] = set()
        for task_id in touched:
            up: str | None = task_id
            while up is not None and up not in again and up in plan.index:
                again.add(up)
                up = plan.index[up].parent
        at = {t.id: i for i, t in enumerate(plan.tasks)}
        tasks = [t for t in plan.tasks if t.id in again]  # a parent before its sub-rows
        states = {t.id: state.unpack(t, _unpack(own[t.id])) for t in tasks}
        for task in tasks:
            for child in plan.children(task.id):
                if child.id not in states:
                    states[child.id] = state.unpack(child, _unpack(settled[at[child.id]]))
        state.settle(plan, states, as_of, tasks)
        for task in tasks:
            settled[at[task.id]] = _pack(state.pack(states[task.id]))
        return settled

    def plan_crc(self) -> int:
        """The plan file's CRC, and the years it counts (a plan starting later takes some)."""
        row = self.index.db.execute("SELECT crc FROM sources WHERE name=?",
                                    (self.plan_name,)).fetchone()
        return zlib.crc32(repr(self.years).encode(), int(row[0]))

    def _follow_plan(self) -> None:
        """After a plan edit, forget the kept states of the tasks whose row changed (or that
        gained or lost sub-rows) and of those no longer in the plan."""
        db, name = self.index.db, self.plan_name
        crc = self.plan_crc()
        row = db.execute("SELECT value FROM meta WHERE key=?", (f"plan {name}",)).fetchone()
        if row is not None and row[0] == crc:
            return
        sigs = {t.id: _signature(self.plan, t, self.years) for t in self.plan.tasks}
        stale = [(name, task) for task, sig in db.execute(
            "SELECT task, sig FROM states WHERE plan=?", (name,)) if sigs.get(task) != sig]

        def forget() -> None:
            db.executemany("DELETE FROM states WHERE plan=? AND task=?", stale)
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"plan {name}", crc))
            db.execute("UPDATE meta SET value = value + 1 WHERE key='generation'")

        self._write(self.index._generation(), forget)

    def _replayed(self, tasks: list[Task], as_of: dt.date, final: bool = True
                  ) -> tuple[list[StateRow], list[StateRow]]:
        """Rows (task, signature, date of its last entry, own state) for `tasks`: after all
        their entries (with `final`), and as of `as_of` for those with entries after it;
        the entries are read a few hundred tasks at a time, once."""
        plan, day = self.plan, as_of.toordinal()
        done: list[StateRow] = []
        on_day: list[StateRow] = []

        def replay(task: Task, entries: list[Entry]) -> None:
            dates = [e.date.toordinal() for e in entries if e.action != "undo"]
            last = max(dates) if dates else None
            if final:
                own = state.replay(plan, entries, dt.date.max, [task])[task.id]
                done.append((task.id, _signature(plan, task, self.years), last,
                             _pack(state.pack(own))))
            if last is not None and last > day:
                own = state.replay(plan, entries, as_of, [task])[task.id]
                on_day.append((task.id, b"", None, _pack(state.pack(own))))

        left = dict.fromkeys(t.id for t in tasks)
        if left:
            for task_id, entries in self.index.entries_of(self.years, left):
                replay(plan.index[task_id], entries)
                left.pop(task_id)
        for task_id in left:
            replay(plan.index[task_id], [])
        return done, on_day

    def _keep(self, generation: int, rows: Iterable[tuple[Any, ...]],
              day: tuple[Any, ...] | None = None, later: Sequence[tuple[Any, ...]] = ()
              ) -> None:
        """Store states just computed (with the figures a listing reads, `_figures`), unless
        the entries changed meanwhile; the states of the DAYS as-of dates computed last are
        kept, and a listing's figures of tasks with entries after the day (`later`)."""
        db, name = self.index.db, self.plan_name

        def write() -> None:
            db.executemany("INSERT OR REPLACE INTO states VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (row + _figures(row[5]) for row in rows))
            if later:
                db.executemany("INSERT OR REPLACE INTO on_day VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               later)
                db.execute("DELETE FROM on_day WHERE plan=? AND as_of NOT IN (SELECT as_of "
                           "FROM on_day WHERE plan=? GROUP BY as_of ORDER BY max(written) "
                           "DESC LIMIT ?)", (name, name, DAYS))
            if day is not None:
                db.execute("INSERT OR REPLACE INTO days VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (*day, time.time_ns()))
                db.execute("DELETE FROM days WHERE plan=? AND as_of NOT IN (SELECT as_of FROM "
                           "days WHERE plan=? ORDER BY written DESC LIMIT ?)", (name, name, DAYS))

        self._write(generation, write)

    def _write(self, generation: int, write: Any) -> None:
        db = self.index.db
        with suppress(sqlite3.Error):
            db.execute("BEGIN IMMEDIATE")
            try:
                if self.index._generation() == generation:
                    write()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise


class _Figures:
    """A row's figures in a listing: what `state.settle_parent` reads of a sub-row and sets
    on a parent (a `TaskState` without the rest)."""

    __slots__ = ("achieved", "places", "status", "timing", "unassigned")
    NO_PLACES: ClassVar[dict[str, int]] = {}  # a leaf's, never changed (a parent's is new)

    def __init__(self, status: str = "not_started", timing: str | None = None,
                 achieved: int = 0, unassigned: int = 0) -> None:
        self.status, self.timing, self.achieved = status, timing, achieved
        self.unassigned, self.places = unassigned, self.NO_PLACES


class Listing:
    """What `ocop tasks --format json` needs from the index: the plan's number, years and
    facts (`plan`, without its tasks), the agencies, and the listing (`print_json`)."""

    def __init__(self, served: _Served, plan: Plan, directory: Any, rows: bool) -> None:
        self.served, self.plan, self.directory = served, plan, directory
        self.rows = rows  # whether the index keeps the rows of its tasks (`json_rows`)

    def print_json(self, f: Any, sort: str, as_of: dt.date, make: Callable[[], Iterable[str]],
                   out: TextIO) -> bool:
        """Print what `ocop tasks --format json` prints for filters `f` and `sort`: as kept
        for the same ones and day when nothing changed since, else made and kept: from the
        rows the index keeps (`json_rows`) where the filters look at no state and the plan's
        order is kept, else by `make` (the rows encoded, from a load and its states). The
        text is kept as it is printed, never held whole. False where the index was damaged
        meanwhile (nothing printed). Closes the index."""
        from ocop_cli.output.render import write_json_lines

        served = self.served
        try:
            try:
                served._follow_plan()
                generation = served.index._generation()
                key = served.listing_key(generation, f, sort, as_of)
                text = served.kept_listing(key)
                lines: Iterable[str] | None = served.json_rows(
                    f, self.plan, self.directory, as_of, generation) \
                    if text is None and self.rows and sort == "plan" and f.by_plan() else None
            except (sqlite3.OperationalError, *DAMAGE):
                return False
            if text is not None:
                out.write(text)
                return True
            if lines is None:
                lines = make()
            packer = zlib.compressobj(1)
            parts: list[bytes] = []
            write_json_lines(lines, out, lambda part: parts.append(
                packer.compress(part.encode("utf-8"))))
            del lines
            parts.append(packer.flush())
            served.keep_listing(generation, key, b"".join(parts), f, sort, as_of)
            return True
        finally:
            served.index.close()


DAYS = 8  # as-of dates whose states are kept
Years = tuple[int, ...]  # the years whose entries a plan counts, in order


def _in(years: Years) -> str:
    return f"plan_year IN ({', '.join('?' * len(years))})"
StateRow = tuple[str, bytes, Any, bytes]  # task, signature, last entry's day, own state


def _pack(value: Any) -> bytes:
    """Plain values by marshal (fast), anything else by pickle (read back by `loads`); a
    large one compressed (a day's states: a fifth of the pages to write)."""
    try:
        kind, blob = b"m", marshal.dumps(value)
    except ValueError:
        kind, blob = b"p", dumps(value)
    if len(blob) < 65536:
        return kind + blob
    packer = zlib.compressobj(1)  # fed in two parts: a large blob is not copied whole
    return b"z" + packer.compress(kind) + packer.compress(blob) + packer.flush()


def _unpack(blob: bytes) -> Any:
    if blob[:1] == b"z":
        blob = zlib.decompress(blob[1:])
    return marshal.loads(blob[1:]) if blob[:1] == b"m" else loads(blob[1:])


_AT = {name: state._KEPT.index(name) for name in ("status", "achieved", "unassigned")}


def _figures(own: bytes) -> tuple[str, int, int]:
    """The status, achieved quantity and unassigned part of a packed own state."""
    values = _unpack(own)
    return values[_AT["status"]], values[_AT["achieved"]], values[_AT["unassigned"]]


def _signature(plan: Plan, task: Task, years: Years) -> bytes:
    """What a task's own state depends on besides its entries: its row, its plan's year, the
    years whose entries it counts and whether it has sub-rows (the text of plain values,
    hashed)."""
    text = repr((plan.year, years, plan.is_leaf(task.id), task)).encode("utf-8",
                                                                        "surrogatepass")
    from hashlib import blake2b

    return blake2b(text, digest_size=16).digest()

