"""`ocop sync`: send what was recorded here to the shared git repository and fetch the rest."""

from __future__ import annotations

import sys

from ocop_cli.commands.common import Session, command, say
from ocop_cli.core.errors import InvalidData, Problem
from ocop_cli.core.i18n import _
from ocop_cli.core.text import visible


@command("sync")
def sync(s: Session) -> None:
    """Share progress through git: commit what was recorded here, pull the others' work
    (rebase), check every file, push. Never forces.

    Example: ocop sync
    """
    try:
        done = s.tracker.sync()
    except InvalidData as exc:
        _report(exc.problems)
        raise
    _report(done.warnings)
    said = {".gitattributes": _("Wrote the merge rules into {name}, so that history files and "
                                "the product register merge cleanly."),
            ".gitignore": _("Added {name} to the workspace, so that the derived .ocop/ folder "
                            "is never committed.")}
    for name in done.written:
        say(said[name].format(name=name))
    if done.received:
        say(_("Received {n} new entries from {shared}.").format(n=done.received,
                                                                shared=done.shared))
    if done.pushed and done.sent:
        say(_("Sent {n} new entries to {shared}.").format(n=done.sent, shared=done.shared))
    elif done.pushed:
        say(_("Sent your commits to {shared}.").format(shared=done.shared))
    else:
        say(_("Nothing new to send; up to date with {shared}.").format(shared=done.shared))


def _report(problems: list[Problem]) -> None:
    for problem in problems:
        label = _("warning") if problem.warning else _("error")
        sys.stderr.write(f"{label}: {visible(str(problem))}\n")
