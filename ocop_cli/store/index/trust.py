"""Whose index: an index is read only by the user who built it, on this machine, for the
workspace it was built for. Anything else at its place (an index copied from another clone,
committed with `git add -f` and pulled, or made by someone else) is made again, never read.

The proof is a seal kept in the index (`meta`, key `seal`): a keyed hash (BLAKE2b) of the
workspace's resolved path and the index file's inode, under a random key of this user kept
outside every workspace, in the user's cache folder (`index.key`, readable by this user only).
Another machine or user has another key; another clone has another path; a file put at the
index's place (a checkout, a copy) is another inode. Deleting the key only makes every index
again once.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_path

from ocop_cli.core.errors import OcopError
from ocop_cli.store import write

try:  # the built-in BLAKE2, without the OpenSSL that hashlib loads first: 9 ms on every run
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

KEY = "index.key"
KEY_BYTES = 32


def cache_folder() -> Path:
    """The user's cache folder for ocop (made when missing): the key, and the indexes of
    workspaces whose `.ocop/` cannot be written."""

    folder = user_cache_path("ocop", appauthor=False)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def key() -> bytes:
    """This user's key, made on first use, and made again when it is not one (every index is
    then made again once). OSError when it cannot be read or made (the files are then read
    instead of any index)."""
    folder = cache_folder()
    path = folder / KEY
    for _attempt in (1, 2):
        try:
            with path.open("rb") as handle:
                found = handle.read(KEY_BYTES + 1)  # whatever its size
        except FileNotFoundError:
            found = None
        if found is not None and len(found) == KEY_BYTES:
            return found
        _make_key(path, folder, damaged=found is not None)
    raise OSError(f"{path}: cannot be read")


def _make_key(path: Path, folder: Path, damaged: bool) -> None:
    """A new key at `path`, readable by this user only from its first byte; where another run
    made one first (and this one is not replacing a damaged key), that one stays."""
    mask = os.umask(0o077)
    try:
        write.replace(path, os.urandom(KEY_BYTES), inside=folder, force=damaged)
    except OcopError as exc:
        if damaged or not path.is_file():
            raise OSError(str(exc)) from None
    finally:
        os.umask(mask)


def seal(root: Path, index: Path) -> str:
    """The seal of the index file at `index` (its inode: a rename keeps it) for the workspace
    at `root`. OSError when the key or the file cannot be read."""
    made = os.stat(index)
    what = f"{root.resolve()}\0{made.st_ino}".encode("utf-8", "surrogateescape")
    return blake2b(what, key=key(), digest_size=16).hexdigest()
