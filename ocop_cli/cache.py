"""A cache of the loaded workspace: an unchanged workspace is not parsed again, and a history
file that only grew is read from where the cache left it.

What it keeps, for one plan file: the agency directory and the plan (valid ones only), and
every entry of every history file up to a byte offset with a CRC of those bytes. The entries
are kept in buckets by top-level task, so that a recording about task 5 rebuilds the entries
about task 5 only, not a history of 100,000.

Where and how: `.ocop/cache/<plan>.<python>.bin` in the workspace, beside the lock and outside
the data files. Sections, each `marshal` of plain values (text, numbers, tuples, dicts) and
read only when needed, are followed by a head: what the cache was made from and where each
section lies. Loading marshal cannot run code, unlike pickle, and is several times faster. The
head comes last so that the sections can be written one by one as they are made. The head and
every section carry a CRC, so garbage or a cut-short file is a miss, not a wrong answer. A new
cache is written to a temporary file in the same folder and renamed over the old one: a
reader sees the old cache or the new one, never half of one.

When a file counts as unchanged: its device, inode, size, modification and change times are
those recorded when it was read. Timestamps have a granularity (a few milliseconds on Linux,
2 s on FAT), so a same-size edit in the same tick as the read keeps every one of them; a file
modified less than RACY_NS before it was read is therefore checked against its CRC instead.

Appending never rewrites: a history file that kept its inode and grew is reused up to the
recorded offset when the CRC of those bytes still matches, and only the new lines are parsed.
The cache is written again only when something was read whole, or when the lines added since
it was written pass TAIL_BYTES; until then each run parses those few lines again.

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
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, compress
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ocop_cli.errors import OcopError

if TYPE_CHECKING:
    from ocop_cli.directory import Directory
    from ocop_cli.errors import Problem
    from ocop_cli.model import Entry, Plan
    from ocop_cli.storage import Loaded, Workspace

FORMAT = 6
# Older than this when read, a file cannot be changed later without its timestamps changing,
# on any file system whose clock is within this much of ours (FAT keeps 2 s steps).
RACY_NS = 3_000_000_000
# Lines appended since the cache was written are parsed on every run until they pass this
# size; then the cache is written again (about 1,300 entries: 20 ms to parse).
TAIL_BYTES = 256 * 1024
BUCKETS = 256  # entries by top-level task, ids by id: a few hundred each at 100,000 entries
_MAGIC = b"ocop cache\n"
_HEADER = struct.Struct("<QI")  # head length, head CRC: the file's last bytes

Stat = tuple[int, int, int, int, int]  # device, inode, size, mtime_ns, ctime_ns
# A file as it was read: its stat taken before reading, CRC of its bytes, when it was read.
Seen = tuple[Stat, int, int]
# A history file's part in the cache: bytes covered, their CRC, the line number that follows,
# how many entries they hold, and the problems (warnings) found in them.
Meta = tuple[int, int, int, int, list[Any]]


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
    the values kept, which plan is loaded and the years of the plans that start after it
    (which years' entries the plan counts depends on them). (A working copy whose reading
    code changed without a new version keeps its cache: delete `.ocop/cache/` or set
    OCOP_NO_CACHE=1.)"""
    from ocop_cli import __version__
    from ocop_cli.errors import Problem
    from ocop_cli.model import Agency, Entry, Task
    from ocop_cli.storage import Workspace
    from ocop_cli.windows import Target, Window

    shapes = tuple(tuple(_names(cls)) for cls in (Agency, Task, Entry, Problem, Target, Window))
    later = Workspace(plan_path.parent).plan_spans(after=int(plan_path.stem.rpartition("_")[2]))
    return (FORMAT, __version__, sys.version, shapes, str(plan_path), BUCKETS,
            tuple(later.items()))


def _bucket(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % BUCKETS


def _root(task: str) -> str:
    return task.partition(".")[0]


# --- the file --------------------------------------------------------------------------------


class Miss(Exception):
    """The cache cannot give what was asked: read the files instead."""


class CacheFile:
    """A cache file opened for reading: its head, and its sections read when asked for."""

    def __init__(self, path: Path, head: dict[str, Any], base: int, identity: Stat) -> None:
        self.path, self.head, self.base, self.identity = path, head, base, identity
        self._kept: dict[str, Any] = {}

    def has(self, name: str) -> bool:
        return name in self.head["sections"]

    def section(self, name: str) -> Any:
        if name not in self._kept:
            self._kept[name] = self.sections([name])[0]
        return self._kept[name]

    def sections(self, names: Iterable[str]) -> list[Any]:
        """The values of sections, read in one opening of the file. Miss when the file was
        replaced since its head was read, or a section is damaged."""
        table = self.head["sections"]
        found = []
        try:
            with self.path.open("rb") as handle:
                st = os.fstat(handle.fileno())
                if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) \
                        != self.identity:
                    raise Miss
                for name in names:
                    start, length, crc = table[name]
                    handle.seek(self.base + start)
                    blob = handle.read(length)
                    if len(blob) != length or zlib.crc32(blob) != crc:
                        raise Miss
                    found.append(marshal.loads(blob))
        except (OSError, KeyError, ValueError, EOFError, TypeError) as exc:
            raise Miss from exc
        return found

    def refresh(self, files: dict[str, Seen]) -> None:
        """Write the cache again with `files` as the record of the source files, its
        sections copied byte for byte."""
        size = max((start + length for start, length, _crc in self.head["sections"].values()),
                   default=0)
        try:
            with self.path.open("rb") as handle:
                st = os.fstat(handle.fileno())
                if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) \
                        != self.identity:
                    return  # replaced meanwhile by a newer cache
                handle.seek(self.base)
                body = handle.read(size)
        except OSError:
            return
        _put(self.path, {**self.head, "files": files}, self.head["sections"], [body])
        again = _read(self.path, self.head["key"])
        if again is not None and again.head["sections"] == self.head["sections"]:
            self.head, self.identity = again.head, again.identity


def _read(path: Path, key: tuple[Any, ...]) -> CacheFile | None:
    """The cache at `path` when it was made for `key`; None for a missing, foreign or
    damaged one."""
    try:
        handle = path.open("rb")
    except OSError:
        return None
    with handle:
        try:
            if handle.read(len(_MAGIC)) != _MAGIC:
                return None
            handle.seek(-_HEADER.size, os.SEEK_END)
            head_len, head_crc = _HEADER.unpack(handle.read(_HEADER.size))
            handle.seek(-(_HEADER.size + head_len), os.SEEK_END)
            blob = handle.read(head_len)
            if len(blob) != head_len or zlib.crc32(blob) != head_crc:
                return None
            head = marshal.loads(blob)
            if (not isinstance(head, dict) or head.get("key") != key
                    or not isinstance(head.get("sections"), dict)):
                return None
            st = os.fstat(handle.fileno())
            identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            return CacheFile(path, head, len(_MAGIC), identity)
        except (OSError, ValueError, EOFError, TypeError, struct.error):
            return None


def _write(path: Path, head: dict[str, Any], sections: Iterable[tuple[str, Any]]) -> None:
    """A cache of `sections` (name, value), each made, marshalled and written in turn: a
    cache of 100,000 entries is never held whole in memory beside them."""
    table: dict[str, tuple[int, int, int]] = {}

    def blobs() -> Iterator[bytes]:
        offset = 0
        for name, value in sections:
            blob = marshal.dumps(value)
            table[name] = (offset, len(blob), zlib.crc32(blob))
            offset += len(blob)
            yield blob

    _put(path, head, table, blobs())


def _put(path: Path, head: dict[str, Any], table: dict[str, tuple[int, int, int]],
         blobs: Iterable[bytes]) -> None:
    """Write the file: the magic line, the sections, then the head (with `table`, filled in
    by the time the sections are written) and its length and CRC, read first."""
    # Not `.tmp`: `ocop check` reports those as left by an interrupted write of data.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{time.time_ns() % 10**9}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as handle:
            handle.write(_MAGIC)
            for blob in blobs:
                handle.write(blob)
            head_blob = marshal.dumps({**head, "sections": table})
            handle.write(head_blob + _HEADER.pack(len(head_blob), zlib.crc32(head_blob)))
        os.replace(tmp, path)
    except (OSError, ValueError):  # read-only, disk full, a value marshal cannot hold
        with contextlib.suppress(OSError):
            tmp.unlink()
        return
    # Left by a writer that was killed; an hour is far longer than any write takes.
    for stale in path.parent.glob("*.part"):
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < time.time() - 3600:
                stale.unlink()


# --- values to plain data and back -----------------------------------------------------------


def _names(cls: Any) -> list[str]:
    return list(cls._fields)


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


def _build(cls: Any, names: list[str], columns: list[list[Any]],
           convert: dict[str, Callable[[Any], Any]]) -> list[Any]:
    """Named tuples of `cls` from its columns, without a call of its `__new__` for each."""
    if len(names) != len(columns) or len({len(c) for c in columns}) > 1 \
            or list(cls._fields) != names:
        raise ValueError("columns do not fit")
    columns = [_converted(c, convert[n]) if n in convert else c
               for n, c in zip(names, columns, strict=True)]
    new = tuple.__new__
    return [new(cls, row) for row in zip(*columns, strict=False)]


def _converted(column: list[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """Each distinct value converted once (a few hundred dates for 100,000 entries)."""
    done = {value: convert(value) for value in set(column) if value is not None}
    done[None] = None
    return [done[v] for v in column]


def _task_codec() -> tuple[dict[str, Callable[[Any], Any]], dict[str, Callable[[Any], Any]]]:
    from ocop_cli.windows import Target, Window

    out: dict[str, Callable[[Any], Any]] = {"target": tuple, "window": tuple}
    back = {"target": lambda t: Target(*t),
            "window": lambda w: Window(w[0], tuple(w[1]), *w[2:])}
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


class _Tail(NamedTuple):
    """The lines appended to a history file since the cache was written."""

    entries: list[Entry]
    size: int  # bytes
    meta: Meta  # the file's part in a cache that would hold them
    seen: Seen


class Store:
    """One load's dealings with the cache: `storage.load` asks for the whole workspace, then
    part by part, and hands back what it had to read."""

    def __init__(self, ws: Workspace, plan_path: Path) -> None:
        self.ws, self.plan_path = ws, plan_path
        self.on = enabled()
        self.path = cache_path(ws, plan_path)
        self.key: tuple[Any, ...] = ()
        self.file: CacheFile | None = None
        self.meta: dict[str, Meta] = {}  # each history file's part in the cache, in order
        self._all: tuple[list[Entry], list[bool]] | None = None
        self.now: dict[str, Stat | None] = {}
        # Files the cache had to check by content (changed close to when they were read),
        # found unchanged, and old enough now for their times alone to tell from now on.
        self.confirmed: dict[str, Seen] = {}
        # What this load ends up with, to be written back.
        self.seen: dict[str, Seen] = {}
        self.parts: dict[str, Any] = {}
        self.history: dict[str, Meta] = {}
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
        self.file = _read(self.path, self.key)
        if self.file is not None:
            meta = self.file.head.get("history")
            self.meta = meta if isinstance(meta, dict) else {}

    def _same(self, path: Path) -> bool:
        if self.file is None:
            return False
        name = str(path)
        seen = self.file.head.get("files", {}).get(name)
        try:
            if seen is None or not _unchanged(seen, path, self.now.get(name)):
                return False
            stat, crc, read_ns = seen
        except (TypeError, ValueError, IndexError):  # a cache of another shape: only a miss
            return False
        if read_ns - RACY_NS <= stat[3] < self.started - RACY_NS:
            self.confirmed[name] = (stat, crc, self.started)
        return True

    def _seen(self, name: str) -> Seen:
        """A file's record as the cache now vouches for it."""
        assert self.file is not None
        return self.confirmed.get(name) or self.file.head["files"][name]

    def _history(self) -> list[str]:
        """The history files now, in the order they are read."""
        data = {str(self.ws.agencies_path), str(self.plan_path)}
        return [name for name in self.now if name not in data]

    def _spans(self) -> list[tuple[str, int, int]]:
        """Each cached history file with the position of its first entry and their count."""
        spans, start = [], 0
        for name, meta in self.meta.items():
            spans.append((name, start, meta[3]))
            start += meta[3]
        return spans

    def _cached_entries(self) -> tuple[list[Entry], list[bool]]:
        """Every cached entry, in the order the files hold them, and whether the load kept
        it (an entry of another plan, or one seen before, is not kept)."""
        if self._all is None:
            assert self.file is not None
            total = sum(meta[3] for meta in self.meta.values())
            entries: list[Any] = [None] * total
            kept = [False] * total
            names = [n for n in self.file.head["sections"] if n.startswith("e")]
            placed = 0
            for positions, keep, *columns in self.file.sections(names):
                for at, entry, flag in zip(positions, _unpack_entries(columns), keep,
                                           strict=True):
                    entries[at], kept[at] = entry, flag
                placed += len(positions)
            if placed != total or not all(entries):  # an entry is true, a gap is None
                raise Miss
            self._all = entries, kept
        return self._all

    # --- the whole workspace ---

    def loaded(self) -> Loaded | None:
        """The workspace from the cache, when every file is unchanged or only had lines
        appended (a few, and none that the whole load would have had something to say of)."""
        if self.file is None:
            return None
        try:
            return self._loaded(self.file)
        except Exception:  # a cache of another shape: only a miss
            return None

    def _loaded(self, file: CacheFile) -> Loaded | None:
        from ocop_cli.storage import Loaded

        cached = set(file.head["files"])
        if not cached <= set(self.now) or not set(self.now) - cached <= set(self._history()):
            return None  # a file went away, or the agencies or the plan are not cached
        tails: dict[str, _Tail] = {}
        for name in self.now:
            if name in cached and self._same(Path(name)):
                continue
            tail = self._tail(Path(name))
            if tail is None:
                return None
            tails[name] = tail
        if sum(tail.size for tail in tails.values()) > TAIL_BYTES:
            return None
        plan = _unpack_plan(file.section("plan"))
        directory = _unpack_directory(file.section("agencies"))
        added = self._check(tails, plan, directory)
        if added is None:
            return None
        files = {**file.head["files"], **self.confirmed}
        if self.confirmed:  # checked by content once: the next runs need not
            file.refresh(files)
        files.update({n: t.seen for n, t in tails.items()})
        loaded = Loaded(self.ws, plan, directory, lambda: self._entries(loaded, added),
                        _unpack_problems(file.section("problems")),
                        _fingerprint(self.key, files))
        loaded.about = lambda task: self._about(loaded, task, added)
        return loaded

    def _check(self, tails: dict[str, _Tail], plan: Plan, directory: Directory
               ) -> dict[str, list[Entry]] | None:
        """The appended entries the load keeps, as `storage.read_history` would decide; None
        when it would have a problem to report (a duplicate, an unknown task or place): the
        whole load then reports it."""
        fresh: set[str] = set()
        added: dict[str, list[Entry]] = {}
        from ocop_cli.storage import owned_years

        years = owned_years(self.ws, plan)
        for name, tail in tails.items():
            kept = added.setdefault(name, [])
            for entry in tail.entries:
                if entry.id in fresh or entry.id in self._ids(_bucket(entry.id)):
                    return None
                fresh.add(entry.id)
                if entry.plan_year not in years:
                    continue
                if entry.task not in plan.index or (entry.place
                                                    and entry.place not in directory.by_id):
                    return None
                kept.append(entry)
        return added

    def _ids(self, bucket: int) -> frozenset[str]:
        assert self.file is not None
        name = f"i{bucket}"
        return frozenset(self.file.section(name)) if self.file.has(name) else frozenset()

    def _entries(self, loaded: Loaded, added: dict[str, list[Entry]]) -> list[Entry]:
        """Every entry the load keeps: the cached ones, then each file's appended ones."""
        try:
            entries, kept = self._cached_entries()
            spans = {name: (start, count) for name, start, count in self._spans()}
            out: list[Entry] = []
            for name in self._history():
                start, count = spans.get(name, (0, 0))
                out += compress(entries[start:start + count], kept[start:start + count])
                out += added.get(name, ())
            return out
        except Exception:  # damaged or replaced since its head was read: read the files
            from ocop_cli.storage import read_history

            return read_history(self.ws, loaded.plan, loaded.directory)[0]

    def _about(self, loaded: Loaded, task: str, added: dict[str, list[Entry]]) -> list[Entry]:
        """The entries kept about tasks under the same top-level task as `task`, in order:
        the one bucket that holds them, not the whole history."""
        try:
            return self._bucket_entries(task, added)
        except Exception:  # damaged or replaced since its head was read
            return self._entries(loaded, added)

    def _bucket_entries(self, task: str, added: dict[str, list[Entry]]) -> list[Entry]:
        assert self.file is not None
        root = _root(task)
        name = f"e{_bucket(root)}"
        spans = self._spans()
        starts = [start for _name, start, _count in spans]
        order = {name: number for number, name in enumerate(self._history())}
        found: list[tuple[tuple[int, int], Entry]] = []
        if self.file.has(name):
            positions, keep, *columns = self.file.section(name)
            found = [((order[spans[bisect_right(starts, at) - 1][0]], at), entry)
                     for at, entry, flag in zip(positions, _unpack_entries(columns), keep,
                                                strict=True)
                     if flag and _root(entry.task) == root]
        after = sum(count for _name, _start, count in spans)  # past every cached position
        found += [((order[name], after + i), entry) for name, entries in added.items()
                  for i, entry in enumerate(entries) if _root(entry.task) == root]
        found.sort(key=lambda pair: pair[0])
        return [entry for _where, entry in found]

    def _tail(self, path: Path) -> _Tail | None:
        """The lines appended to a cached history file that was otherwise left as it was;
        None for any other change, or lines that are not whole entries as `append` writes
        them."""
        name = str(path)
        seen = self.file.head["files"].get(name) if self.file is not None else None
        now = self.now.get(name)
        # A history file new since the cache was written: lines added to an empty one.
        old = self.meta.get(name) if seen is not None else (0, 0, 1, 0, [])
        if old is None or now is None:
            return None
        offset, prefix_crc, next_line, count, problems = old
        if problems or (seen is not None and now[:2] != tuple(seen[0][:2])):
            return None
        raw = _bytes(path)
        if raw is None or len(raw) < offset or zlib.crc32(raw[:offset]) != prefix_crc:
            return None
        added = _new_entries(path, raw[offset:], next_line)
        if added is None:
            return None
        new, line_count = added
        crc = zlib.crc32(raw[offset:], prefix_crc)
        return _Tail(new, len(raw) - offset,
                     (len(raw), crc, next_line + line_count, count + len(new), []),
                     (now, crc, self.started))

    # --- part by part ---

    def agencies(self, read: Callable[[Path], tuple[Directory | None, list[Problem]]]
                 ) -> tuple[Directory | None, list[Problem]]:
        path = self.ws.agencies_path
        directory, problems, self.agencies_reused = self._part(
            "agencies", path, True, _unpack_directory, _pack_directory, lambda: read(path))
        return directory, problems

    def plan(self, read: Callable[[Path, Directory], tuple[Plan | None, list[Problem]]],
             directory: Directory) -> tuple[Plan | None, list[Problem]]:
        """The plan; cached only together with the agencies it refers to."""
        path = self.plan_path
        plan, problems, _reused = self._part("plan", path, self.agencies_reused, _unpack_plan,
                                             _pack_plan, lambda: read(path, directory))
        return plan, problems

    def _part(self, name: str, path: Path, reusable: bool, unpack: Callable[[Any], Any],
              pack: Callable[[Any], Any], read: Callable[[], Any]) -> tuple[Any, list[Any], bool]:
        """The agencies or the plan: from the cache when its file is unchanged (and
        `reusable`), else read through storage; whether it came from the cache."""
        if self.on and reusable and self._same(path):
            with contextlib.suppress(Exception):
                assert self.file is not None
                packed = self.file.section(name)
                value = unpack(packed)
                self.seen[str(path)] = self._seen(str(path))
                self.parts[name] = packed
                return value, [], True
        value, problems = self._fresh(path, read)
        if value is not None and str(path) in self.seen:
            self.parts[name] = pack(value)
        return value, problems, False

    def history_file(self, path: Path) -> tuple[list[Entry], list[Problem]]:
        """What `storage.read_history_file(path)` returns, from the cache where it can be."""
        from ocop_cli.storage import read_history_file

        name = str(path)
        if not self.on:
            return read_history_file(path)
        with contextlib.suppress(Exception):  # a cache of another shape: read the file
            got = self._reuse_history(path) if name in self.meta else None
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
            self.history[name] = (offset, zlib.crc32(before[:offset]), lines + 1, len(entries),
                                  _pack_problems(problems))
        self.given[name] = entries
        return entries, problems

    def _reuse_history(self, path: Path) -> tuple[list[Entry], list[Problem]] | None:
        assert self.file is not None
        name = str(path)
        old = self.meta[name]
        start = next(start for n, start, _count in self._spans() if n == name)
        if self._same(path):
            entries = self._cached_entries()[0][start:start + old[3]]
            self.seen[name], self.history[name] = self._seen(name), old
            self.given[name] = entries
            return entries, _unpack_problems(old[4])
        tail = self._tail(path)
        if tail is None:
            return None
        self.read_something = True
        entries = self._cached_entries()[0][start:start + old[3]] + tail.entries
        self.seen[name], self.history[name], self.given[name] = tail.seen, tail.meta, entries
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
        handed = [e for name in self.history for e in self.given[name]]
        kept = {id(e) for e in loaded.entries}
        flags = [id(e) in kept for e in handed]
        if sum(flags) != len(loaded.entries):
            return  # entries storage made itself: the whole cannot be replayed
        parts = [("agencies", self.parts["agencies"]), ("plan", self.parts["plan"]),
                 ("problems", _pack_problems(loaded.problems))]
        loaded.fingerprint = _fingerprint(self.key, self.seen)
        _write(self.path, {"key": self.key, "files": self.seen, "history": self.history},
               chain(parts, _entry_buckets(handed, flags), _id_buckets(handed)))


def _entry_buckets(entries: list[Entry], kept: list[bool]) -> Iterator[tuple[str, Any]]:
    """Sections `e<n>`: the entries whose top-level task falls in bucket n, each with its
    position in the whole and whether the load kept it."""
    buckets: dict[str, int] = {}
    positions: dict[int, list[int]] = {}
    for at, entry in enumerate(entries):
        root = _root(entry.task)
        number = buckets.get(root)
        if number is None:
            number = buckets[root] = _bucket(root)
        positions.setdefault(number, []).append(at)
    for number, where in sorted(positions.items()):
        yield f"e{number}", [where, [kept[at] for at in where],
                             *_pack_entries([entries[at] for at in where])]


def _id_buckets(entries: list[Entry]) -> Iterator[tuple[str, Any]]:
    """Sections `i<n>`: the ids in bucket n, so that an appended entry is checked against
    the ids already read without loading them all."""
    ids: dict[int, set[str]] = {}
    for entry in entries:
        ids.setdefault(_bucket(entry.id), set()).add(entry.id)
    for number, found in sorted(ids.items()):
        yield f"i{number}", list(found)


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
    """The entries in lines appended to a history file, read as `storage` reads any, when
    every one is a whole entry with nothing to report; None sends the file back to a full
    read, which reports what there is."""
    from ocop_cli.errors import InvalidData
    from ocop_cli.storage import BY_HAND, _entries, flow_records

    if not added.endswith(b"\n"):
        return ([], 0) if not added else None
    try:
        lines = added.decode("utf-8").splitlines()
        problems: list[Problem] = []
        records = list(flow_records(path, lines, problems, first_line))
        if problems or any(record is BY_HAND for _number, record in records):
            return None
        entries, found = _entries(path, records, problems)
    except (UnicodeDecodeError, InvalidData):
        return None
    return (entries, len(lines)) if not found else None


def _fingerprint(key: tuple[Any, ...], files: dict[str, Seen]) -> bytes:
    """The files as read, by their stat and CRC (not when they were read, which changes
    when a file is confirmed): compared whole, it cannot collide as a hash could. As text,
    since equal values can marshal to different bytes (marshal notes which objects are
    shared)."""
    files_now = sorted((name, tuple(seen[0]), seen[1]) for name, seen in files.items())
    return repr((key, files_now)).encode()


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
    name = str(as_of.toordinal())
    if found is not None and found.has(name):
        try:
            return unpack_states(loaded.plan, found.section(name))
        except Exception:  # a cache of another shape: only a miss
            pass
    kept: dict[str, Any] = {}
    if found is not None:
        others = [n for n in found.head["sections"] if n != name][-(_STATE_DATES - 1):]
        with contextlib.suppress(Miss):
            kept = dict(zip(others, found.sections(others), strict=True))
    states = compute()
    kept[name] = pack_states(loaded.plan, states)
    _write(path, {"key": key}, kept.items())
    return states
