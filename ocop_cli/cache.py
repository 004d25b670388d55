"""A cache of the loaded workspace: an unchanged workspace is not parsed again, and a history
file that only grew is read from where the cache left it.

What it keeps, for one plan file: the agency directory and the plan (valid ones only), each
history file's entries up to a byte offset with a CRC of those bytes, and the order in which
the entries were combined. `storage.load` asks it for each part and reads the files itself
for whatever the cache cannot vouch for.

Where and how: `.ocop/cache/<plan>.<python>.bin` in the workspace, beside the lock and outside
the data files. The content is `marshal` of plain values (text, numbers, tuples, dicts):
loading it cannot run code, unlike pickle, and is several times faster. A header carries CRCs,
so garbage or a cut-short file is a miss, not a wrong answer. A new cache is written to a
temporary file in the same folder and renamed over the old one: a reader sees the old cache
or the new one, never half of one.

When a file counts as unchanged: its device, inode, size, modification and change times are
those recorded when it was read. Timestamps have a granularity (a few milliseconds on Linux,
2 s on FAT), so a same-size edit in the same tick as the read keeps every one of them; a file
modified less than RACY_NS before it was read is therefore checked against its CRC instead.
A history file that kept its inode and grew is reused up to the recorded offset when the CRC
of those bytes still matches; only the new lines are parsed.

It is an optimisation only: a missing, stale, corrupt or unwritable cache means the files
are read, as with OCOP_NO_CACHE=1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import marshal
import os
import struct
import sys
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocop_cli.errors import OcopError

if TYPE_CHECKING:
    from ocop_cli.directory import Directory
    from ocop_cli.errors import Problem
    from ocop_cli.model import Entry, Plan
    from ocop_cli.storage import Loaded, Workspace

FORMAT = 3
# Older than this when read, a file cannot be changed later without its timestamps changing,
# on any file system whose clock is within this much of ours (FAT keeps 2 s steps).
RACY_NS = 3_000_000_000
_MAGIC = b"ocop cache\n"
_HEADER = struct.Struct("<QQII")  # head length, body length, head CRC, body CRC

Stat = tuple[int, int, int, int, int]  # device, inode, size, mtime_ns, ctime_ns
# A file as it was read: its stat taken before reading, CRC of its bytes, when it was read.
Seen = tuple[Stat, int, int]


def enabled() -> bool:
    return os.environ.get("OCOP_NO_CACHE", "") in ("", "0")


def cache_path(ws: Workspace, plan_path: Path) -> Path:
    return ws.state_dir / "cache" / f"{plan_path.stem}.{sys.implementation.cache_tag}.bin"


def stat_of(path: Path) -> Stat | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _crc(path: Path) -> int | None:
    data = _bytes(path)
    return None if data is None else zlib.crc32(data)


def _unchanged(seen: Seen, path: Path, now: Stat | None) -> bool:
    stat, crc, read_ns = seen
    if now is None or tuple(stat) != now:
        return False
    if stat[3] >= read_ns - RACY_NS:
        return _crc(path) == crc
    return True


def _key(plan_path: Path) -> tuple[Any, ...]:
    """What else the content depends on: the version of ocop and of Python, the shape of
    the values kept, and which plan is loaded. (A working copy whose reading code changed
    without a new version keeps its cache: delete `.ocop/cache/` or set OCOP_NO_CACHE=1.)"""
    from ocop_cli import __version__
    from ocop_cli.errors import Problem
    from ocop_cli.model import Agency, Entry, Task
    from ocop_cli.windows import Target, Window

    shapes = tuple(tuple(_names(cls)) for cls in (Agency, Task, Entry, Problem, Target, Window))
    return (FORMAT, __version__, sys.version, shapes, str(plan_path))


# --- the file --------------------------------------------------------------------------------


def _read(path: Path, key: tuple[Any, ...]) -> tuple[dict[str, Any], Callable[[], Any]] | None:
    """The head of the cache at `path` when it was made for `key`, and a way to read its body;
    None for a missing, foreign or damaged cache."""
    try:
        handle = path.open("rb")
    except OSError:
        return None
    with handle:
        try:
            if handle.read(len(_MAGIC)) != _MAGIC:
                return None
            head_len, body_len, head_crc, body_crc = _HEADER.unpack(handle.read(_HEADER.size))
            blob = handle.read(head_len)
            if len(blob) != head_len or zlib.crc32(blob) != head_crc:
                return None
            head = marshal.loads(blob)
            if not isinstance(head, dict) or head.get("key") != key:
                return None
            start = handle.tell()
        except (OSError, ValueError, EOFError, TypeError, struct.error):
            return None

    def body() -> Any:
        try:
            with path.open("rb") as again:
                again.seek(start)
                blob = again.read(body_len + 1)
        except OSError:
            return None
        # The file may have been replaced since the head was read: then the CRC fails.
        if len(blob) != body_len or zlib.crc32(blob) != body_crc:
            return None
        try:
            return marshal.loads(blob)
        except (ValueError, EOFError, TypeError):
            return None

    return head, body


def _write(path: Path, head: dict[str, Any], body: dict[str, Any]) -> None:
    try:
        head_blob, body_blob = marshal.dumps(head), marshal.dumps(body)
    except ValueError:  # a value marshal cannot hold: a model changed shape; go without
        return
    header = _HEADER.pack(len(head_blob), len(body_blob), zlib.crc32(head_blob),
                          zlib.crc32(body_blob))
    # Not `.tmp`: `ocop check` reports those as left by an interrupted write of data.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{time.time_ns() % 10**9}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as handle:
            handle.write(_MAGIC + header + head_blob + body_blob)
        os.replace(tmp, path)
    except OSError:  # read-only workspace, full disk: run without a cache
        with contextlib.suppress(OSError):
            tmp.unlink()
        return
    # Left by a writer that was killed; an hour is far longer than any write takes.
    for stale in path.parent.glob("*.part"):
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < time.time() - 3600:
                stale.unlink()


# --- values to plain data and back -----------------------------------------------------------


def _names(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


_UNIQUE = {"id", "at", "source", "title", "undoes"}  # columns whose values rarely repeat


def _columns(objects: Sequence[Any], names: list[str],
             convert: dict[str, Callable[[Any], Any]]) -> list[list[Any]]:
    """One list per field. Repeated values become one object: marshal then writes them once
    and the rebuilt entries share them (a task id, an agency, a recorder's name)."""
    from operator import attrgetter

    columns = []
    for name in names:
        column = list(map(attrgetter(name), objects))
        if name in convert:
            column = [None if v is None else convert[name](v) for v in column]
        if name not in _UNIQUE:
            shared: dict[Any, Any] = {}
            column = [shared.setdefault(v, v) for v in column]
        columns.append(column)
    return columns


def _build(cls: type, names: list[str], columns: list[list[Any]],
           convert: dict[str, Callable[[Any], Any]]) -> list[Any]:
    """Objects of a slotted dataclass from its columns.

    A frozen dataclass's __init__ sets each field through object.__setattr__, which costs
    about 3 µs an entry; setting the slots column by column costs a third of that, and a
    history of 100,000 entries is rebuilt on every run."""
    if len(names) != len(columns) or len({len(c) for c in columns}) > 1:
        raise ValueError("columns do not fit")
    columns = [_converted(c, convert[n]) if n in convert else c
               for n, c in zip(names, columns, strict=True)]
    if "__post_init__" in dir(cls) or not hasattr(cls, "__slots__"):
        return list(map(cls, *columns)) if columns else []
    count = len(columns[0]) if columns else 0
    objects: list[Any] = list(map(object.__new__, repeat(cls, count)))
    for name, column in zip(names, columns, strict=True):
        deque(map(getattr(cls, name).__set__, objects, column), maxlen=0)
    return objects


def _converted(column: list[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """Each distinct value converted once (a few hundred dates for 100,000 entries)."""
    done = {value: convert(value) for value in set(column) if value is not None}
    done[None] = None
    return [done[v] for v in column]


def _task_codec() -> tuple[dict[str, Callable[[Any], Any]], dict[str, Callable[[Any], Any]]]:
    from ocop_cli.windows import Target, Window

    out = {"target": lambda t: (t.text, t.min, t.max), "window": lambda w: (w.text, w.months)}
    back = {"target": lambda t: Target(*t), "window": lambda w: Window(w[0], tuple(w[1]))}
    return out, back


_DATE_OUT: dict[str, Callable[[Any], Any]] = {"date": dt.date.toordinal}
_DATE_BACK: dict[str, Callable[[Any], Any]] = {"date": dt.date.fromordinal}


def _pack_entries(entries: Sequence[Entry]) -> list[list[Any]]:
    from ocop_cli.model import Entry

    return _columns(entries, _names(Entry), _DATE_OUT)


def _unpack_entries(columns: list[list[Any]]) -> list[Entry]:
    from ocop_cli.model import Entry

    return _build(Entry, _names(Entry), columns, _DATE_BACK)


def _pack_problems(problems: Iterable[Problem]) -> list[tuple[Any, ...]]:
    from ocop_cli.errors import Problem

    names = _names(Problem)
    return [tuple(getattr(p, n) for n in names) for p in problems]


def _unpack_problems(rows: Iterable[Sequence[Any]]) -> list[Problem]:
    from ocop_cli.errors import Problem

    return [Problem(*row) for row in rows]


def _pack_directory(directory: Directory) -> list[list[Any]]:
    from ocop_cli.model import Agency

    return _columns(directory.agencies, _names(Agency), {})


def _unpack_directory(columns: list[list[Any]]) -> Directory:
    from ocop_cli.directory import Directory
    from ocop_cli.model import Agency

    return Directory(_build(Agency, _names(Agency), columns, {}))


def _pack_plan(plan: Plan) -> tuple[Any, ...]:
    from ocop_cli.model import Task

    out, _back = _task_codec()
    return (plan.number, plan.year, plan.title, plan.facts,
            _columns(plan.tasks, _names(Task), out))


def _unpack_plan(packed: Sequence[Any]) -> Plan:
    from ocop_cli.model import Plan, Task

    number, year, title, facts, columns = packed
    _out, back = _task_codec()
    return Plan(number=number, year=year, title=title,
                tasks=tuple(_build(Task, _names(Task), columns, back)), facts=facts)


# --- the store -------------------------------------------------------------------------------


class Store:
    """One load's dealings with the cache: `storage.load` asks for the whole workspace, then
    part by part, and hands back what it had to read."""

    def __init__(self, ws: Workspace, plan_path: Path) -> None:
        self.ws, self.plan_path = ws, plan_path
        self.on = enabled()
        self.path = cache_path(ws, plan_path)
        self.key: tuple[Any, ...] = ()
        self.head: dict[str, Any] = {}
        self._body: Callable[[], Any] | None = None
        self._body_value: dict[str, Any] | None = None
        self._history_value: dict[str, Any] | None = None
        self.now: dict[str, Stat | None] = {}
        # What this load ends up with, to be written back.
        self.seen: dict[str, Seen] = {}
        self.parts: dict[str, Any] = {}
        self.history: dict[str, Any] = {}
        self.given: dict[str, list[Entry]] = {}  # the entries handed to storage, by file
        self.read_something = False
        self.agencies_reused = False
        if not self.on:
            return
        # The clock, then the files, before anything is read: a change made while reading
        # shows as a difference next time, never as a match.
        self.started = time.time_ns()
        try:
            tracked = [ws.agencies_path, plan_path, *ws.history_files()]
        except OcopError:  # a broken workspace: reading it says what is wrong, in order
            self.on = False
            return
        self.now = {str(p): stat_of(p) for p in tracked}
        self.key = _key(plan_path)
        found = _read(self.path, self.key)
        if found is not None:
            self.head, self._body = found

    def body(self) -> dict[str, Any]:
        if self._body_value is None:
            value = self._body() if self._body is not None else None
            self._body_value = value if isinstance(value, dict) else {}
        return self._body_value

    def history_part(self) -> dict[str, Any]:
        """The entries' part of the body, kept as bytes inside it: a listing served from the
        states cache never parses the entries."""
        if self._history_value is None:
            value = marshal.loads(self.body()["entries"])
            self._history_value = value if isinstance(value, dict) else {}
        return self._history_value

    def _same(self, path: Path) -> bool:
        seen = self.head.get("files", {}).get(str(path))
        return seen is not None and _unchanged(seen, path, self.now.get(str(path)))

    # --- the whole workspace ---

    def loaded(self) -> Loaded | None:
        """The workspace as cached, when not one tracked file changed."""
        if not self.head or set(self.head.get("files", ())) != set(self.now):
            return None
        if not all(self._same(Path(p)) for p in self.now):
            return None
        try:
            from ocop_cli.storage import Loaded

            body = self.body()

            def entries() -> list[Entry]:
                part = self.history_part()
                handed: list[Entry] = []
                for name in part["history_order"]:
                    handed += _unpack_entries(part["history"][name][3])
                return [handed[i] for i in part["order"]]

            return Loaded(self.ws, _unpack_plan(body["plan"]),
                          _unpack_directory(body["agencies"]), entries,
                          _unpack_problems(body["problems"]),
                          _fingerprint(self.key, self.head["files"]))
        except Exception:  # a cache of another shape: only a miss
            return None

    # --- part by part ---

    def agencies(self, read: Callable[[Path], tuple[Directory | None, list[Problem]]]
                 ) -> tuple[Directory | None, list[Problem]]:
        path = self.ws.agencies_path
        if self.on and self._same(path):
            with contextlib.suppress(Exception):
                packed = self.body()["agencies"]
                directory = _unpack_directory(packed)
                self.seen[str(path)] = self.head["files"][str(path)]
                self.parts["agencies"] = packed
                self.agencies_reused = True
                return directory, []
        directory, problems = self._fresh(path, lambda: read(path))
        if directory is not None and str(path) in self.seen:
            self.parts["agencies"] = _pack_directory(directory)
        return directory, problems

    def plan(self, read: Callable[[Path, Directory], tuple[Plan | None, list[Problem]]],
             directory: Directory) -> tuple[Plan | None, list[Problem]]:
        """The plan; cached only together with the agencies it refers to."""
        path = self.plan_path
        if self.on and self.agencies_reused and self._same(path):
            with contextlib.suppress(Exception):
                packed = self.body()["plan"]
                plan = _unpack_plan(packed)
                self.seen[str(path)] = self.head["files"][str(path)]
                self.parts["plan"] = packed
                return plan, []
        plan, problems = self._fresh(path, lambda: read(path, directory))
        if plan is not None and str(path) in self.seen:
            self.parts["plan"] = _pack_plan(plan)
        return plan, problems

    def history_file(self, path: Path) -> tuple[list[Entry], list[Problem]]:
        """What `storage.read_history_file(path)` returns, from the cache where it can be."""
        from ocop_cli.storage import read_history_file

        name = str(path)
        if not self.on:
            return read_history_file(path)
        with contextlib.suppress(Exception):  # a cache of another shape: read the file
            old = self.history_part()["history"][name] if self.head else None
            got = self._reuse_history(path, old) if old is not None else None
            if got is not None:
                return got
        self.read_something = True
        before = _bytes(path)
        entries, problems = read_history_file(path)
        now = self.now.get(name)
        if before is not None and now is not None and before == _bytes(path):
            offset = before.rfind(b"\n") + 1
            lines = len(before[:offset].decode("utf-8-sig", errors="replace").splitlines())
            self.seen[name] = (now, zlib.crc32(before), self.started)
            self.history[name] = (offset, zlib.crc32(before[:offset]), lines + 1,
                                  _pack_entries(entries), _pack_problems(problems))
        self.given[name] = entries
        return entries, problems

    def _reuse_history(self, path: Path, old: Sequence[Any]
                       ) -> tuple[list[Entry], list[Problem]] | None:
        name = str(path)
        offset, prefix_crc, next_line, columns, problems = old
        seen, now = self.head["files"].get(name), self.now.get(name)
        if seen is not None and _unchanged(seen, path, now):
            entries, found = _unpack_entries(columns), _unpack_problems(problems)
            self.seen[name], self.history[name], self.given[name] = seen, old, entries
            return entries, found
        # Grown in place: the same file, its cached bytes unchanged, whole lines added.
        if problems or seen is None or now is None or now[:2] != tuple(seen[0][:2]):
            return None
        raw = _bytes(path)
        if raw is None or len(raw) < offset or zlib.crc32(raw[:offset]) != prefix_crc:
            return None
        added = _new_entries(path, raw[offset:], next_line)
        if added is None:
            return None
        new, line_count = added
        self.read_something = True
        entries = _unpack_entries(columns) + new
        if new:
            columns = [a + b for a, b in zip(columns, _pack_entries(new), strict=True)]
        self.seen[name] = (now, zlib.crc32(raw), self.started)
        self.history[name] = (len(raw), zlib.crc32(raw), next_line + line_count, columns, [])
        self.given[name] = entries
        return entries, []

    def _fresh(self, path: Path, read: Callable[[], Any]) -> Any:
        """Read a file through storage; keep it only when its bytes did not change meanwhile."""
        self.read_something = True
        if not self.on:
            return read()
        before = _crc(path)
        result = read()
        now = self.now.get(str(path))
        if before is not None and now is not None and _crc(path) == before:
            self.seen[str(path)] = (now, before, self.started)
        return result

    def save(self, loaded: Loaded) -> None:
        """Write the cache back when anything had to be read and every part can be kept."""
        if not self.on or not self.read_something:
            return
        if set(self.seen) != set(self.now) or not {"agencies", "plan"} <= set(self.parts):
            return  # a file changed while it was read: the next run reads it again
        # The entries in the order the cache will hand them out, each file's in turn.
        handed = [e for name in self.history for e in self.given[name]]
        position = {id(e): i for i, e in enumerate(handed)}
        try:
            order = [position[id(e)] for e in loaded.entries]
        except KeyError:  # entries storage made itself: the whole cannot be replayed
            return
        head = {"key": self.key, "files": self.seen}
        loaded.fingerprint = _fingerprint(self.key, self.seen)
        body = {
            "agencies": self.parts["agencies"], "plan": self.parts["plan"],
            "problems": _pack_problems(loaded.problems),
            "entries": marshal.dumps({"history": self.history,
                                      "history_order": list(self.history), "order": order}),
        }
        _write(self.path, head, body)


def _bytes(path: Path) -> bytes | None:
    """A source file's bytes, or None for anything storage would refuse to read (a device, a
    file over the size limit): then storage reads it and says what is wrong."""
    from ocop_cli.storage import HISTORY_MAX_BYTES
    from ocop_cli.yamlio import read_bytes

    try:
        return read_bytes(path, HISTORY_MAX_BYTES)
    except (OSError, OcopError):
        return None


def _new_entries(path: Path, added: bytes, first_line: int) -> tuple[list[Entry], int] | None:
    """The entries in lines appended to a history file, when every one of them is a whole
    entry in the form `storage.append` writes; None sends the file back to a full read."""
    import json

    from ocop_cli.errors import InvalidData
    from ocop_cli.storage import _entries

    if not added:
        return [], 0
    if not added.endswith(b"\n"):
        return None
    try:
        text = added.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.splitlines()
    records = []
    for number, line in enumerate(lines, first_line):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith("- {"):
            return None
        try:
            pairs = json.loads(line[2:], object_pairs_hook=list)
        except (ValueError, RecursionError):
            return None
        if not isinstance(pairs, list) or len({k for k, _ in pairs}) != len(pairs):
            return None
        records.append((number, dict(pairs)))
    if not records:
        return [], len(lines)
    try:
        entries, problems = _entries(path, records, [])
    except InvalidData:
        return None
    return (entries, len(lines)) if not problems else None


def _fingerprint(key: tuple[Any, ...], files: dict[str, Seen]) -> bytes:
    """The files as read, whole: compared byte for byte, it cannot collide as a hash could."""
    return marshal.dumps((key, sorted(files.items())))


# --- the states of the tasks, by as-of date --------------------------------------------------

_STATE_DATES = 8  # as-of dates kept for one version of the files


def summary_states(loaded: Loaded, as_of: dt.date, compute: Callable[[], dict[str, Any]]
                   ) -> dict[str, Any]:
    """The task states as of a date, without their entries, from `.ocop/cache/states.bin`
    when the files are those the states were computed from; else computed and kept.

    A listing of 10,000 tasks then neither rebuilds nor replays 100,000 entries."""
    from ocop_cli.state import pack_states, unpack_states

    if not enabled() or loaded.fingerprint is None:
        return compute()
    path = loaded.workspace.state_dir / "cache" / "states.bin"
    key = (FORMAT, loaded.fingerprint)
    found = _read(path, key)
    kept = found[1]() if found is not None else None
    kept = kept if isinstance(kept, dict) else {}
    packed = kept.get(as_of.toordinal())
    if packed is not None:
        try:
            return unpack_states(loaded.plan, packed)
        except Exception:  # a cache of another shape: only a miss
            pass
    states = compute()
    kept = dict(list(kept.items())[-(_STATE_DATES - 1):])
    kept[as_of.toordinal()] = pack_states(loaded.plan, states)
    _write(path, {"key": key}, kept)
    return states
