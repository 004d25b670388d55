"""The one door for writes: every file ocop writes, it writes through this module.

- `append`: whole lines added to a history or product-register file under the workspace's
  lock (`locked`), flushed and synced; a failed write is cut back, so no half line stays.
- `replace`: a whole file put in place at once: written into a temporary file in its own
  folder, flushed and synced, renamed over the old one, then the folder synced. `stage` is
  its first half, for a caller that reads the new file back before it goes in place;
  `output` is `replace` for a file the user named (`-o`).

Both write only where they are asked to: a path that leaves the folder `inside`, or passes a
symbolic link at or below it, is refused, and so is anything at the destination's place that
is not a regular file (a link, a device such as /dev/null, a folder), `--force` or not. The
workspace's `.ocop` must be a real folder (`state_folder`). A failed write leaves the old file
as it was and no temporary file, and becomes one `OcopError` naming the file.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

from ocop_cli.core.errors import Busy, InvalidData, OcopError, Problem, Refused, UsageError
from ocop_cli.core.i18n import _
from ocop_cli.core.text import fold

LOCK = "lock"  # in the state folder: the workspace's write lock
OWNER = "lock.owner"  # beside the lock: who holds it
RECORDER_NAME_MAX = 80  # characters of a history file's name taken from the recorder's
HISTORY_HEADER = (
    "# yaml-language-server: $schema=../schema/history.schema.json\n"
    "# ocop history: one entry per line, appended by ocop and never rewritten.\n"
    "# Undo with `ocop undo`, which appends entries reversing this office's last command.\n"
)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # a link at a file's place is not followed
# A temporary file of a write: `.NAME.PID.N.tmp`, so that `being_written` can tell a write
# under way from one that was interrupted.
_TEMPORARY = re.compile(r"\.(\d+)(?:\.\d+)?\.tmp$")

Writer = Callable[[Path], object]  # fills the temporary file it is given (a streaming writer)


class WriteFailed(Refused):
    """A write the system refused (a full disk, no permission, a name too long); `reason` is
    the system's words, for a caller that says what failed in its own."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class Recorded(Protocol):
    """What `append` writes: anything that gives the record of its line."""

    def to_record(self) -> dict[str, Any]: ...


class Place(Protocol):
    """A workspace as the door sees it (`storage.Workspace`, which imports this module)."""

    @property
    def state_dir(self) -> Path: ...

    @property
    def history_dir(self) -> Path: ...


# --- where a write may go --------------------------------------------------------------------


def checked(path: Path, inside: Path) -> Path:
    """`path` as an absolute path, refused when its folder is not `inside` or below it, or
    is reached through a symbolic link at or below `inside` (links above it are the way the
    user chose to it). What is at the place of the file itself is for the caller to judge."""
    whole = path.absolute()
    guard = Path(os.path.realpath(inside))
    real = Path(whole.anchor)
    for i, part in enumerate(whole.parts[1:-1], start=2):
        if part == "..":
            real = real.parent
            continue
        step = real / part
        if os.path.islink(step):
            if _within(real, guard):
                raise InvalidData([Problem(str(Path(*whole.parts[:i])), _(
                    "is a symbolic link; ocop reads and writes only regular files inside the "
                    "workspace: put the folder itself here"))])
            step = Path(os.path.realpath(step))
        real = step
    if not _within(real, guard):
        raise InvalidData([Problem(str(path), _("is outside {folder}; ocop writes only inside "
                                                "it").format(folder=inside))])
    return whole


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def state_folder(ws: Place) -> Path:
    """The workspace's `.ocop` (lock, index, notes), made when missing. Refused when it is a
    symbolic link or anything but a folder: what ocop keeps there would land elsewhere.
    OSError when it cannot be made (each caller says what that means for it)."""
    folder = ws.state_dir
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        folder.mkdir(exist_ok=True)
        info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode):
        raise InvalidData([Problem(str(folder), _(
            "is a symbolic link: ocop keeps its lock and index only in a real folder here; "
            "remove the link and run the command again (ocop makes the folder anew)"))])
    if not stat.S_ISDIR(info.st_mode):
        raise InvalidData([Problem(str(folder), _(
            "is not a folder: ocop keeps its lock and index in a folder here; move it away "
            "and run the command again (ocop makes the folder anew)"))])
    return folder


def recorder_file(ws: Place, recorder: str) -> Path:
    # Cut to a length every file system takes; the entries keep the whole name.
    slug = re.sub(r"[^a-z0-9]+", "-", fold(recorder))[:RECORDER_NAME_MAX].strip("-") or "ocop"
    return ws.history_dir / f"{slug}.yaml"


# --- the lock ----------------------------------------------------------------------------------


def lock_timeout() -> float:
    """Seconds to wait for the lock: OCOP_LOCK_TIMEOUT, else 10; never "forever"."""
    try:
        seconds = float(os.environ.get("OCOP_LOCK_TIMEOUT", "10"))
    except ValueError:
        return 10.0
    return min(max(seconds, 0.0), 3600.0) if seconds == seconds else 10.0


@contextmanager
def locked(ws: Place) -> Iterator[None]:
    """Hold the workspace's write lock across read, check and append.

    The lock is an OS lock on `.ocop/lock`: the system frees it when its holder dies, so a
    killed writer never leaves the workspace locked. Who holds it is written beside it, and
    removed on release: one left behind tells `ocop check` that a writer was stopped."""
    # start-up: filelock, 90 ms, only for a run that writes
    from filelock import FileLock, Timeout

    try:
        path = _not_a_link(state_folder(ws) / LOCK)
    except OSError as exc:
        raise _write_error(ws.state_dir, exc) from None
    lock = FileLock(str(path), timeout=lock_timeout())
    owner = path.with_name(OWNER)
    try:
        lock.acquire()
    except Timeout:
        try:
            holder = owner.read_text(encoding="utf-8").strip() or _("unknown")
        except (OSError, UnicodeDecodeError):
            holder = _("unknown")
        raise Busy(_("the workspace is busy: another ocop is recording ({holder}); try again"
                     ).format(holder=holder)) from None
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with suppress(OSError):
            fd = os.open(owner, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW, 0o644)
            try:
                _write_all(fd, f"pid {os.getpid()} on {os.uname().nodename}, since "
                               f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            finally:
                os.close(fd)
        yield
    finally:
        with suppress(OSError):
            owner.unlink()
        lock.release()


def lock_is_free(ws: Place) -> bool:
    """No ocop holds the workspace's lock now."""
    # start-up: filelock, 90 ms, only for a look at the lock
    from filelock import FileLock, Timeout

    try:
        lock = FileLock(str(_not_a_link(state_folder(ws) / LOCK)), timeout=0)
        lock.acquire()
    except (Timeout, OSError):
        return False
    lock.release()
    return True


def being_written(path: Path) -> bool:
    """`path` is the temporary file of a write still under way (its writer is alive)."""
    found = _TEMPORARY.search(path.name)
    return found is not None and _alive(int(found.group(1)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _not_a_link(path: Path) -> Path:
    """`path`, or ELOOP when a symbolic link stands there (as O_NOFOLLOW would say)."""
    if os.path.islink(path):
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
    return path


# --- appending -------------------------------------------------------------------------------


def append(path: Path, records: Sequence[Recorded] | str, *, inside: Path,
           header: str = HISTORY_HEADER) -> None:
    """Append records (history entries, or the product register's lines) as whole lines, or
    `records` as written when text, flushed and synced before returning; a new file starts
    with `header`. `path` must be a regular file (or none yet) in `inside`, the workspace.

    A failed write is cut back to the file's old length, so it never leaves half an entry,
    and a file it created is removed again."""
    payload = _lines(records)
    checked(path, inside)
    new = not os.path.lexists(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW, 0o644)
    except OSError as exc:
        raise _write_error(path, exc) from None
    start = 0
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidData([Problem(str(path), _(
                "is not a regular file (a device, pipe or socket); nothing was recorded"))])
        start = info.st_size
        head = header if start == 0 else ""
        if start and not _ends_with_newline(path, start):
            head = "\n"  # a torn last line stays apart from what follows
        _write_all(fd, head.encode("utf-8") + payload)
        os.fsync(fd)
    except OSError as exc:
        with suppress(OSError):  # not every file can be cut (a device): report all the same
            os.ftruncate(fd, start)
        if new:
            with suppress(OSError):
                path.unlink()
        raise _write_error(path, exc) from None
    finally:
        os.close(fd)
    if new:
        _sync_dir(path.parent)


def _lines(records: Sequence[Recorded] | str) -> bytes:
    lines = records if isinstance(records, str) else "".join(
        "- " + json.dumps(e.to_record(), ensure_ascii=False, separators=(", ", ": ")) + "\n"
        for e in records
    )
    try:
        return lines.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: arguments decoded under a non-UTF-8 locale
        raise UsageError(_("some of the text given is not valid Unicode (was it typed under a "
                           "locale that is not UTF-8? try LANG=C.UTF-8); nothing was recorded")
                         ) from None


def _ends_with_newline(path: Path, size: int) -> bool:
    with path.open("rb") as handle:
        handle.seek(size - 1)
        return handle.read(1) == b"\n"


# --- replacing -------------------------------------------------------------------------------


class Staged:
    """A new version of `path`, written whole and synced in `temp` beside it, not yet in
    place: `put` renames it over the file (only over a file that was not there, unless
    `force`), `discard` removes it when it was not put."""

    def __init__(self, path: Path, temp: Path, force: bool) -> None:
        self.path, self.temp, self.force = path, temp, force

    def put(self) -> None:
        """The new version in place, its folder synced."""
        try:
            if self.force:
                os.replace(self.temp, self.path)
            else:
                _place_new(self.temp, self.path)
        except OSError as exc:
            raise _write_error(self.path, exc, recorded=False) from None
        _sync_dir(self.path.parent)

    def discard(self) -> None:
        """Remove the temporary file (after `put`, the name it may still have)."""
        with suppress(OSError):
            self.temp.unlink()


def replace(path: Path, data: bytes | Writer, *, inside: Path, force: bool = False) -> None:
    """Put `data` (bytes, or a writer that fills the temporary file it is given) at `path`
    in `inside` at once: a reader sees the old file or the new one, never a part. An
    existing file is replaced only with `force`, and only when it is a regular file."""
    staged = stage(path, data, inside=inside, force=force)
    try:
        staged.put()
    finally:
        staged.discard()


def output(path: Path, data: bytes | Writer, *, workspace: Path | None, force: bool) -> None:
    """`replace` for a file the user named (`-o FILE`): written in the folder named, or, when
    that lies in the workspace, with no symbolic link inside the workspace followed."""
    inside = path.parent
    if workspace is not None and _within(_plain(path), _plain(workspace)):
        inside = workspace
    replace(path, data, inside=inside, force=force)


def _plain(path: Path) -> Path:
    return Path(os.path.normpath(path.absolute()))


def stage(path: Path, data: bytes | Writer, *, inside: Path, force: bool = False) -> Staged:
    """`data` written and synced in a temporary file beside `path` (see `replace`), which the
    caller may read back before it `put`s it; the caller discards it in any case."""
    checked(path, inside)
    old = _replaceable(path, force)
    try:
        temp, fd = _temporary(path)
    except OSError as exc:
        raise _write_error(path, exc, recorded=False) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(data, bytes):
                handle.write(data)
        if not isinstance(data, bytes):
            data(temp)
        if old is not None:  # the new version keeps who may read and write it
            os.chmod(temp, stat.S_IMODE(old.st_mode))
        _sync_file(temp)
    except BaseException as exc:
        with suppress(OSError):
            temp.unlink()
        if isinstance(exc, write_errors()):
            raise _write_error(path, exc, recorded=False) from None
        raise
    return Staged(path, temp, force)


def refuse_overwrite(path: Path, force: bool) -> None:
    """An existing file is replaced only with `--force`."""
    if os.path.lexists(path) and not force:
        raise Refused(_("{path} exists; add --force to replace it").format(path=path))


def _replaceable(path: Path, force: bool) -> os.stat_result | None:
    """What stands at `path` now (None: nothing), refused unless a regular file."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:  # a name too long, a folder that cannot be read
        raise _write_error(path, exc, recorded=False) from None
    if stat.S_ISLNK(info.st_mode):
        raise Refused(_("{path} is a symbolic link; ocop does not write through links: give "
                        "the file's own path").format(path=path))
    if stat.S_ISDIR(info.st_mode):
        raise Refused(_("{path} is a folder; give a file name").format(path=path))
    if not stat.S_ISREG(info.st_mode):
        raise Refused(_("{path} is not a regular file (a device, pipe or socket); ocop "
                        "replaces only regular files").format(path=path))
    refuse_overwrite(path, force)
    return info


def _place_new(temp: Path, path: Path) -> None:
    """Rename without replacing: a file that appeared since the check is kept."""
    try:
        os.link(temp, path)  # fails when `path` exists, unlike a rename
    except FileExistsError:
        refuse_overwrite(path, False)
        raise
    except OSError:  # a file system without hard links
        refuse_overwrite(path, False)
        os.replace(temp, path)


def _temporary(path: Path) -> tuple[Path, int]:
    """A new file beside `path`, open for writing, named as `being_written` reads it."""
    n = 0
    while True:
        temp = path.with_name(f".{path.name}.{os.getpid()}.{n}.tmp")
        try:
            return temp, os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666)
        except FileExistsError:  # left by an interrupted write of a process of the same id
            n += 1


def _sync_file(path: Path) -> None:
    """The file's bytes on disk, opened anew: a streaming writer closed its own handle."""
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- errors and the system -----------------------------------------------------------------


def write_errors() -> tuple[type[Exception], ...]:
    """What writing a document raises on a full disk: OSError, or lxml's own error when
    openpyxl or python-docx write through lxml."""
    try:
        # start-up: lxml.etree, 10 ms, only for a write that failed
        from lxml.etree import SerialisationError  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - lxml comes with python-docx
        return (OSError,)
    return (OSError, SerialisationError)


def write_failure(exc: BaseException) -> str:
    """The system's words for a failed write, also when lxml reports it (`IO_ENOSPC`)."""
    if isinstance(exc, WriteFailed):
        return exc.reason
    text = getattr(exc, "strerror", None) or str(exc)
    code = getattr(errno, text.removeprefix("IO_"), None) if text.startswith("IO_E") else None
    return os.strerror(code) if isinstance(code, int) else text


def _write_error(path: Path, exc: BaseException, recorded: bool = True) -> OcopError:
    """One message for a write the system refused, naming the file: nothing was recorded
    (an append) or written (a replace)."""
    code = getattr(exc, "errno", None)
    if code == errno.ELOOP and recorded:
        where = Path(getattr(exc, "filename", None) or path)
        return InvalidData([Problem(str(where), _(
            "is a symbolic link; ocop reads and writes only regular files inside the workspace: "
            "put the file itself here; nothing was recorded"))])
    reason = write_failure(exc)
    if not recorded:
        message = _("{path}: cannot write here ({error}); nothing was written")
    elif code == errno.ENOSPC:
        message = _("{path}: the disk is full; nothing was recorded")
    elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
        message = _("{path}: cannot write here (read-only or no permission); nothing was "
                    "recorded")
    else:
        message = _("{path}: {error}; nothing was recorded")
    return WriteFailed(message.format(path=path, error=reason), reason)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _sync_dir(folder: Path) -> None:
    """The folder's entry of a new file on disk. A folder that cannot be synced (Windows,
    some network file systems) is left to the system: the file itself already is."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open folders
        return
    try:
        with suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
