"""The index's SQLite database: where it lives, its tables, opening it (made again when it is
missing, damaged or of another version), and the fingerprints that say whether a file
changed since it was read.

It lives in the workspace's `.ocop/` where that folder can be written, else (a read-only
share) in the user's cache folder, under a name made from the workspace's resolved path. It is
read only when it bears this user's seal for this workspace (`trust`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import sys
from contextlib import suppress
from pathlib import Path

from ocop_cli import __version__
from ocop_cli.core.model import Agency, Entry, Task
from ocop_cli.core.state import PACKED
from ocop_cli.core.windows import Target, Window
from ocop_cli.store.index import trust
from ocop_cli.store.storage import Workspace
from ocop_cli.store.write import lock_timeout, state_folder

FORMAT = 7
NAME = "index.sqlite"
# Older than this when read, a file cannot be changed later without its times changing, on any
# file system whose clock is within this much of ours (FAT keeps 2 s steps).
RACY_NS = 3_000_000_000

# Each history entry: its file and line, whether it counts (the first of its id in file order:
# `kept`), its plan's year, and its fields (`model.Entry`, the date as an ordinal).
ENTRY_COLUMNS = Entry._fields[:-1]
_QUOTED = ", ".join(f'"{name}"' for name in ENTRY_COLUMNS)  # `by` is an SQL word
# A task's own state (`state.pack`): a value that is a mapping is JSON, NULL when empty.
_STATE = ", ".join(PACKED)

TABLES = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE sources (name TEXT PRIMARY KEY, stat TEXT, hash TEXT, depends TEXT,
                      read_ns INTEGER, value TEXT);
CREATE TABLE files (name TEXT PRIMARY KEY, stat TEXT, read_ns INTEGER, size INTEGER,
                    hash TEXT, next_line INTEGER);
CREATE TABLE entries (file TEXT, line INTEGER, kept INTEGER, year INTEGER, {_QUOTED});
CREATE TABLE states (plan TEXT, task TEXT, last INTEGER, {_STATE},
                     PRIMARY KEY (plan, task)) WITHOUT ROWID;
CREATE TABLE on_day (plan TEXT, day INTEGER, task TEXT, {_STATE},
                     PRIMARY KEY (plan, day, task)) WITHOUT ROWID;
CREATE TABLE days (plan TEXT, day INTEGER, used INTEGER, PRIMARY KEY (plan, day));
"""
# Made by the run after the one that made the index (`indexed`): the first run reads no
# entry back, and an index is made faster on the rows than kept up row by row.
INDEXES = (
    "CREATE INDEX IF NOT EXISTS entries_file ON entries (file, line)",
    "CREATE INDEX IF NOT EXISTS entries_id ON entries (id)",
    "CREATE INDEX IF NOT EXISTS entries_task ON entries (task)",
    "CREATE INDEX IF NOT EXISTS entries_undoes ON entries (undoes) WHERE undoes IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS entries_place ON entries (place) WHERE place IS NOT NULL",
)

Stat = tuple[int, int, int, int, int]  # device, inode, size, mtime_ns, ctime_ns


def enabled() -> bool:
    return os.environ.get("OCOP_NO_INDEX", "") in ("", "0")


def version() -> str:
    """What the index's content depends on besides the files: its tables, the shapes of the
    values kept, and the versions of ocop and Python. Another one means another index."""

    shapes = [c._fields for c in (Agency, Task, Target, Window)]
    return repr((FORMAT, __version__, sys.version, shapes, TABLES))


def path_of(ws: Workspace) -> Path:
    """Where the workspace's index is: in its `.ocop/` where this user can write there, else
    (a read-only share) in the user's cache folder. InvalidData when `.ocop` is a link or
    not a folder (`write.state_folder`)."""
    try:
        folder: Path | None = state_folder(ws)
    except OSError:
        folder = None  # it cannot be made here
    if folder is not None and writable(folder):
        return folder / NAME

    key = hashlib.blake2b(str(ws.root.resolve()).encode("utf-8", "surrogateescape"),
                          digest_size=12).hexdigest()
    cache = trust.cache_folder() / "index"
    cache.mkdir(exist_ok=True)
    return cache / f"{key}.sqlite"


def writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with suppress(OSError):
            os.unlink(f"{path}{suffix}")


def connect(path: Path) -> sqlite3.Connection:
    """A connection that waits for another writer as long as for the workspace lock. In WAL
    mode, NORMAL syncs at checkpoints, not at every commit: a crash can lose the last
    changes kept, never the data (the index is made again from the files)."""
    db = sqlite3.connect(path, timeout=lock_timeout(), isolation_level=None,
                         check_same_thread=False)
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def opened(path: Path, root: Path) -> sqlite3.Connection | None:
    """The index at `path` of the workspace at `root`, in WAL mode; None when there is none,
    or it is of another version or not sealed by this user for this workspace (it is then
    removed). sqlite3.DatabaseError when it is damaged; OSError when the seal cannot be
    made."""
    if not path.is_file():
        return None
    db = connect(path)
    try:
        if sealed(db, path, root):
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            indexed(db)
            return db
    except BaseException:
        db.close()
        raise
    db.close()
    remove(path)
    return None


def sealed(db: sqlite3.Connection, path: Path, root: Path) -> bool:
    """Whether the index `db` at `path` is of this version, and was made by this user for the
    workspace at `root` (`trust`)."""
    found = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('version', 'seal')"))
    return found.get("version") == version() and found.get("seal") == trust.seal(root, path)


def created(path: Path, root: Path) -> tuple[sqlite3.Connection, Path]:
    """A new, empty index for the workspace at `root` written beside `path` (renamed into
    place with `publish`, which keeps its seal), without a journal or syncing: it is a cache,
    and half of one is never read."""
    building = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    remove(building)
    db = sqlite3.connect(building, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.executescript(TABLES)
        db.execute("INSERT INTO meta VALUES ('version', ?), ('generation', 0), ('seal', ?)",
                   (version(), trust.seal(root, building)))
    except BaseException:
        db.close()
        remove(building)
        raise
    return db, building


def indexed(db: sqlite3.Connection) -> None:
    """The entries indexed (by file, id, task, undone id and place), unless they are."""
    if db.execute("SELECT 1 FROM meta WHERE key='indexed'").fetchone() is not None:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in INDEXES:
            db.execute(statement)
        db.execute("INSERT OR REPLACE INTO meta VALUES ('indexed', 1)")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def publish(db: sqlite3.Connection, building: Path, path: Path) -> sqlite3.Connection:
    """The index built at `building` in its place, opened again there, in WAL mode."""
    db.close()
    # The write-ahead log of an index deleted by hand would be replayed into the new one:
    # its pages over the new pages, rows of files that have changed since.
    for stale in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    os.replace(building, path)
    db = connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    return db


def stat_of(path: Path) -> Stat | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def digest(data: bytes | memoryview) -> str:
    """A file's content hash: what tells an edit that kept every time and the size."""

    return hashlib.blake2b(data, digest_size=16).hexdigest()
