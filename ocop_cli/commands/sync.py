"""`ocop sync`: send what was recorded here to the shared git repository and fetch the rest;
`ocop sync --setup`: sign what this copy sends, for a team that checks who sent what."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ocop_cli.commands.common import Session, command, say
from ocop_cli.core.errors import EXIT_INVALID, InvalidData, Problem, UsageError
from ocop_cli.core.i18n import _
from ocop_cli.core.text import visible


@command("sync")
def sync(s: Session,
         setup: Annotated[bool, typer.Option(
             "--setup", help="Sign what this copy sends with the SSH key --key, and print "
             "the line of offices/allowed_signers that names this office")] = False,
         key: Annotated[str | None, typer.Option(
             "--key", metavar="FILE", help="With --setup: the SSH key made with ssh-keygen "
             "(its private file, or its .pub)")] = None,
         office: Annotated[str | None, typer.Option(
             "--office", metavar="ID", help="With --setup: the office id (default: the "
             "key's comment)")] = None) -> None:
    """Share progress through git: commit what was recorded here, pull the others' work
    (rebase), check what arrived, push. Never forces.

    Example: ocop sync
    """
    if setup:
        _setup(s, key, office)
        return
    try:
        done = s.tracker.sync()
    except InvalidData as exc:
        _report(exc.problems)
        raise
    _report(done.refused + done.restored + done.warnings)
    said = {".gitattributes": _("Wrote the merge rules into {name}, so that history files and "
                                "the product register merge cleanly."),
            ".gitignore": _("Wrote the rule /.ocop into {name}, so that the derived .ocop "
                            "folder is never committed.")}
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
    if done.refused or done.restored:
        raise typer.Exit(EXIT_INVALID)


def _setup(s: Session, key: str | None, office: str | None) -> None:
    # start-up: sync.signers, 5 ms, only for sync --setup (sync.git with it)
    from ocop_cli.sync.signers import ALLOWED, setup

    if not key:
        raise UsageError(_("--setup needs --key FILE: the SSH key this copy signs with"),
                         hint=_('Make one with: ssh-keygen -t ed25519 -f ~/.ssh/ocop_office '
                                '-C "office-id"'))
    line = setup(s.workspace.root, key, office)
    say(_("This copy now signs every commit it sends. Send this line to the province, to be "
          "added to {file}:").format(file=ALLOWED))
    say(line)
    say(_("It records as {office}, into {file}; --by names the person.").format(
        office=line.split()[0], file=f"history/{line.split()[0]}.yaml"))


def _report(problems: list[Problem]) -> None:
    for problem in problems:
        label = _("warning") if problem.warning else _("error")
        sys.stderr.write(f"{label}: {visible(str(problem))}\n")
