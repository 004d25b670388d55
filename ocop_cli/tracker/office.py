"""Who this copy of the workspace records as: its office, and the office's own files.

- In a signed team (`offices/allowed_signers`), the office is the one whose key there is the
  key this copy signs its commits with (`ocop sync --setup`).
- Otherwise the office named by `OCOP_OFFICE`, else by git's `ocop.office` (set here by
  `ocop sync --setup --office`, or by `git config ocop.office gia-loc`).
- Otherwise, in a workspace nobody set up for a team, the recorder's name, as it always was.

Every recording appends to the office's own files only, `history/<office>.yaml` and
`products/<office>.yaml`; `--by` names the person inside the office, kept in each entry, and
never chooses the file once an office is known. Recording (`Tracker.record`), `undo` and the
product register all ask this module, so there is one answer to "whose file is this".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from ocop_cli.core.errors import InvalidData, NotFound
from ocop_cli.store.storage import PRODUCTS, Workspace
from ocop_cli.store.write import recorder_file
from ocop_cli.store.yamlio import decode, read_bytes
from ocop_cli.sync.git import config
from ocop_cli.sync.signers import ALLOWED, office_of, parse
from ocop_cli.tracker.record import recorder

ENV = "OCOP_OFFICE"
CONFIG = "ocop.office"  # git's setting, in this copy's own .git/config: never sent


class Office(NamedTuple):
    """Who records here: the office (its id, or the recorder's name where none is set up),
    how that was found, the person (`by` of each entry) and the office's two files."""

    name: str
    found_by: str  # "signed", "configured" or "recorder"
    by: str
    history: Path
    products: Path

    def file(self, book: str) -> Path:
        """The office's file of `book` ("history" or "products")."""
        return self.products if book == PRODUCTS else self.history


def this_office(ws: Workspace, by: str | None = None) -> Office:
    """The office this copy records as, and `by` (else the recorder's name) as the person."""
    person = recorder(by)
    name, found_by = _signed(ws), "signed"
    if name is None:
        name, found_by = _configured(ws), "configured"
    if name is None:
        name, found_by = person, "recorder"
    history = recorder_file(ws, name)
    return Office(name, found_by, person, history, ws.root / PRODUCTS / history.name)


def _signed(ws: Workspace) -> str | None:
    """The office whose key in `offices/allowed_signers` this copy signs with, if any."""
    path = ws.root / ALLOWED
    if not path.is_file() or path.is_symlink():
        return None
    try:
        team = parse(decode(path, read_bytes(path, 1024 * 1024)))
        return office_of(ws.root, team)
    except (InvalidData, NotFound, OSError):  # no git, an unreadable file: not signed here
        return None


def _configured(ws: Workspace) -> str | None:
    """`OCOP_OFFICE`, else git's `ocop.office` here."""
    named = os.environ.get(ENV, "").strip()
    if named:
        return named
    try:
        return config(ws.root, CONFIG)
    except (NotFound, OSError):  # git is not installed: nothing is configured in it
        return None
