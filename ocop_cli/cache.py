"""A cache of the loaded workspace, so that an unchanged workspace is not parsed again.

Keyed by the identity of every source file (path, size, modification and change times,
inode) and the ocop version; kept in `.ocop/cache/`, outside the data files; written by
atomic rename, so concurrent writers never leave half a cache. It is an optimisation only:
a missing, stale, corrupt or unwritable cache just means the files are read.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocop_cli.storage import Loaded, Workspace

_FILE = "load.pickle"


def key(ws: Workspace, plan_path: Path) -> tuple[Any, ...]:
    from ocop_cli import __version__

    parts: list[Any] = [__version__, str(plan_path)]
    for path in ws.source_files():
        try:
            st = path.stat()
        except OSError:
            parts.append((str(path), None))
            continue
        parts.append((str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return tuple(parts)


def _path(ws: Workspace) -> Path:
    return ws.state_dir / "cache" / _FILE


def enabled() -> bool:
    return os.environ.get("OCOP_NO_CACHE", "") in ("", "0")


def get(ws: Workspace, wanted: tuple[Any, ...]) -> Loaded | None:
    if not enabled():
        return None
    try:
        with _path(ws).open("rb") as handle:
            stored_key, loaded = pickle.load(handle)
    except Exception:  # a missing or corrupt cache is only a miss
        return None
    if stored_key != wanted:
        return None
    loaded.workspace = ws
    return loaded  # type: ignore[no-any-return]


def put(ws: Workspace, stored_key: tuple[Any, ...], loaded: Loaded) -> None:
    if not enabled():
        return
    target = _path(ws)
    tmp = target.with_name(f"{_FILE}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as handle:
            pickle.dump((stored_key, loaded), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)
    except Exception:  # read-only workspace, full disk: run without a cache
        with contextlib.suppress(OSError):
            tmp.unlink()
