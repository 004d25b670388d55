"""Files ocop writes whole: into a temporary file beside the destination, then renamed over
it, so a reader never sees half a file; an existing file is replaced only with `--force`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ocop_cli.core.errors import Refused
from ocop_cli.core.i18n import _


def save(path: Path, force: bool, write: Callable[[Path], Any]) -> None:
    """Have `write` fill a temporary file in the destination's folder, then put it in place:
    over an existing file only with `force`."""
    if path.is_dir():
        raise Refused(_("{path} is a folder; give a file name").format(path=path))
    if path.exists() and not force:
        raise Refused(_("{path} already exists; add --force to replace it").format(path=path))
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise Refused(_("cannot write in {folder}: {error}").format(
            folder=folder, error=exc.strerror or exc)) from None
    os.close(fd)
    temp = Path(name)
    try:
        os.chmod(temp, 0o666 & ~_umask())  # as an ordinary new file, not the temp file's 0600
        write(temp)
        with open(temp, "rb+") as done:
            os.fsync(done.fileno())
        if force:
            os.replace(temp, path)
        else:
            _place_new(temp, path)
    except write_errors() as exc:
        raise Refused(_("cannot write {path}: {error}").format(
            path=path, error=write_failure(exc))) from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def write_errors() -> tuple[type[Exception], ...]:
    """What writing a document raises on a full disk: OSError, or lxml's own error when
    openpyxl or python-docx write through lxml."""
    try:
        from lxml.etree import SerialisationError  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - lxml comes with python-docx
        return (OSError,)
    return (OSError, SerialisationError)


def write_failure(exc: Exception) -> str:
    """The system's words for a failed write, also when lxml reports it (`IO_ENOSPC`)."""
    import errno

    text = getattr(exc, "strerror", None) or str(exc)
    code = getattr(errno, text.removeprefix("IO_"), None) if text.startswith("IO_E") else None
    return os.strerror(code) if isinstance(code, int) else text


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _place_new(temp: Path, path: Path) -> None:
    """Rename without replacing: a file that appeared since the check is kept."""
    try:
        os.link(temp, path)  # fails when `path` exists, unlike a rename
    except FileExistsError:
        raise Refused(_("{path} already exists; add --force to replace it").format(
            path=path)) from None
    except OSError:  # a file system without hard links
        if path.exists():
            raise Refused(_("{path} already exists; add --force to replace it").format(
                path=path)) from None
        os.replace(temp, path)
