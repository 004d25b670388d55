"""Files sync holds back, and every write sync makes in the working copy.

A file is held when the version git has will not do here: a history file that arrived broken
(its lines from before stay in use), one whose lines from a refused commit do not count, one
that keeps lines the shared copy dropped until their office sends them again, or a plan
changed by a refused commit. The working copy keeps the version in use, out of git's sight
(`git update-index --skip-worktree`), and `.ocop/held.json` notes it; before each pull the
file goes back to git's version (`release`), and after it, sync decides again.

Sync writes through `write` and `append` only, which go through the one door for writes
(`store.write`): regular files inside the workspace, never through a symbolic link.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ocop_cli.core.errors import OcopError, Problem
from ocop_cli.core.i18n import _
from ocop_cli.store import storage
from ocop_cli.store import write as door
from ocop_cli.store.history import HISTORY_MAX_BYTES
from ocop_cli.store.yamlio import read_bytes
from ocop_cli.sync.git import Repo, git
from ocop_cli.sync.layout import appended, holds

BROKEN, KEPT, REFUSED = "broken", "kept", "refused"  # why a file is held
_MAX_BYTES = 4 * HISTORY_MAX_BYTES  # the note holds the text in use of each file


def _place(root: Path, path: str) -> Path:
    """`root/path`, refused when it leaves the workspace or passes a symbolic link, as the
    one door for writes decides."""
    return door.checked(root / path, root)


def write(root: Path, path: str, text: str) -> None:
    """Replace the workspace file `path` with `text`, whole or not at all, through the one
    door for writes (a link, a device or a folder in its place is refused)."""
    door.replace(_place(root, path), text.encode("utf-8"), inside=root, force=True)


def append(root: Path, path: str, text: str) -> None:
    """Add `text` to the end of the workspace file `path`, on a line of its own, through
    the one door for writes."""
    door.append(_place(root, path), text, inside=root, header="")


def _note(root: Path) -> Path:
    return root / storage.STATE / storage.HELD


def _text(path: Path) -> str | None:
    """The text of a regular file, never through a link, a device or a pipe; None when
    there is none to read."""
    try:
        return read_bytes(path, _MAX_BYTES).decode("utf-8", errors="replace")
    except (OcopError, OSError):
        return None


def read(root: Path) -> dict[str, dict[str, Any]]:
    """The files held back, as `.ocop/held.json` says; only files a workspace holds, each
    with the text in use."""
    try:
        found = json.loads(_text(_note(root)) or "{}")
    except (ValueError, RecursionError):  # RecursionError: nested too deeply for json
        return {}
    if not isinstance(found, dict):
        return {}
    return {path: info for path, info in found.items()
            if isinstance(path, str) and holds(path) and isinstance(info, dict)
            and isinstance(info.get("good"), str)}


def problems(root: Path) -> list[Problem]:
    """A warning for each file held back, for `ocop check`: why, and who sent what."""
    found = []
    for path, info in sorted(read(root).items()):
        values = {"sender": info.get("sender"), "commit": info.get("commit"),
                  "n": info.get("lines"), "office": info.get("office")}
        why = info.get("why", BROKEN)
        if why == KEPT:
            message = _("keeps lines the shared copy dropped (commit {commit} by {sender}), "
                        "in use here until {office} sends them again")
        elif why == REFUSED:
            message = _("lines that do not count are left out of it here (commit {commit} by "
                        "{sender})")
        else:
            message = _("arrived broken from {sender} (commit {commit}); its first {n} lines "
                        "are in use until a mended version arrives")
        found.append(Problem(path, message.format(**values), warning=True))
    return found


def release(repo: Repo) -> dict[str, dict[str, Any]]:
    """Put each held file back as git has it, so that git can pull; lines recorded here
    while it was held are kept after it, and with the text in use. A plan (or another file
    of the province's) edited here while held is let go as edited, for a person to commit.
    Returns what stays held."""
    held = read(repo.workspace)
    for path, info in list(held.items()):
        here = _place(repo.workspace, path)
        now = _text(here) or ""
        good = info["good"]
        git(repo.workspace, "update-index", "--no-skip-worktree", "--", path, check=False)
        if not appended(path) and now != good:
            del held[path]
            continue
        added = now[len(good):] if appended(path) and now.startswith(good) else ""
        if git(repo.workspace, "--literal-pathspecs", "checkout", "--", path,
               check=False).returncode != 0:
            here.unlink(missing_ok=True)  # git has no version of it: its text is in `good`
        if added:  # recorded here while held: kept, and in use while it stays held
            append(repo.workspace, path, added)
            info["good"] = good + added
            info["lines"] = len(info["good"].splitlines())
    return held


def hold(repo: Repo, held: dict[str, dict[str, Any]]) -> None:
    """Keep each file of `held` at the text in use, out of git's sight, and note them in
    `.ocop/held.json`; the note goes when nothing is held."""
    for path, info in held.items():
        if _text(_place(repo.workspace, path)) != info["good"]:
            write(repo.workspace, path, info["good"])
        git(repo.workspace, "update-index", "--skip-worktree", "--", path, check=False)
    note = _note(repo.workspace)
    if held:
        write(repo.workspace, f"{storage.STATE}/{storage.HELD}",
              json.dumps(held, ensure_ascii=False))
    else:
        note.unlink(missing_ok=True)
