"""What `ocop check` says about working as a team: the merge rules of git the workspace lacks,
and the files `ocop sync` holds back (see `held`)."""

from __future__ import annotations

from pathlib import Path

from ocop_cli.core.errors import InvalidData, Problem
from ocop_cli.core.i18n import _
from ocop_cli.store import storage
from ocop_cli.store.yamlio import decode, read_bytes
from ocop_cli.sync import held


def held_problems(root: Path) -> list[Problem]:
    """A warning for each file sync holds back, and why."""
    return held.problems(root)


def attribute_problems(root: Path) -> list[Problem]:
    """A warning for each `merge=union` rule of `ocop init` that the workspace's
    `.gitattributes` lacks: without it, two offices appending to one file conflict in a git
    merge. Read from the file, without git; a workspace without the file is not in git."""
    path = root / ".gitattributes"
    if not path.exists():
        return []
    try:
        have = {" ".join(line.split()) for line in decode(path, read_bytes(path)).splitlines()}
    except InvalidData as exc:
        return exc.problems or [Problem(str(path), str(exc))]
    return [Problem(str(path), _("no rule {rule!r}: two offices' lines in the same file would "
                                 "conflict in a git merge; `ocop sync` adds it").format(
        rule=rule), warning=True)
        for rule in storage.GITATTRIBUTES.splitlines() if rule not in have]
