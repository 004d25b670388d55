"""The index: a SQLite database of the workspace's files' data, so that a command neither
parses nor replays a long history. It holds the agencies and each plan as read and validated,
every history entry, each file's fingerprint, and the states of tasks computed from the
entries (`served`); never anything made for showing.

It is a cache: `.ocop/` (or, where that cannot be written, the user's cache folder) can be
deleted at any time, and OCOP_NO_INDEX=1 reads the files instead. A missing, damaged or
other-version index is made again (`database`); the files are read through the same readers
either way (`update`), so an error in a file is said the same. Where the index cannot be used
at all (a database error twice, a folder that cannot be written), the files are read.
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from pathlib import Path

from ocop_cli.core.errors import InvalidData
from ocop_cli.store.index.database import (
    Stat,
    created,
    enabled,
    opened,
    path_of,
    publish,
    remove,
    stat_of,
)
from ocop_cli.store.index.served import Served, keyed
from ocop_cli.store.index.update import Update
from ocop_cli.store.storage import Loaded, Workspace, owned_years
from ocop_cli.store.storage import load as load_files

__all__ = ["Served", "Stat", "enabled", "load", "path_of", "snapshot", "stat_of"]


def load(ws: Workspace, year: int | None = None) -> Loaded:
    """What `storage.load` gives, from the index brought up to date with the files (made
    first when there is none)."""
    plan_path = ws.plan_path(year)
    if enabled():
        for attempt in (1, 2):
            try:
                return _load(ws, plan_path)
            except InvalidData:
                load_files(ws, year)  # every error, as reading the files says them
                raise
            except sqlite3.ProgrammingError:
                raise  # a mistake in the index's own SQL, never damage
            except sqlite3.DatabaseError:
                if attempt == 1:
                    with suppress(OSError):
                        remove(path_of(ws))  # damaged: made again, once
            except OSError:
                break  # no place to keep it
    return load_files(ws, year)


def _load(ws: Workspace, plan_path: Path) -> Loaded:
    path = path_of(ws)
    db = opened(path, ws.root)
    building = None
    if db is None:
        db, building = created(path, ws.root)
    try:
        update = Update(db, ws, fresh=building is not None)
        files = _history_files(ws)
        stale = files is None or update.stale([ws.agencies_path, plan_path], files)
        transaction = stale
        if transaction:  # a new index too: its rows are written at once
            db.execute("BEGIN" if building is not None else "BEGIN IMMEDIATE")
        try:
            agencies, directory = update.directory(ws.agencies_path)
            found, plan = update.plan(plan_path, directory, agencies)
            if stale:
                update.history(ws.history_files())
            if transaction:
                db.execute("COMMIT")
        except BaseException:
            if transaction:
                db.execute("ROLLBACK")
            raise
        if building is not None:
            db = publish(db, building, path)
            building = None
    except BaseException:
        db.close()
        if building is not None:
            remove(building)
        raise
    years = owned_years(ws, plan)
    served = Served(db, plan, keyed(plan_path.name, found, years), years,
                    update.held if update.fresh else None)
    served.check_places(ws.history_dir, directory)
    loaded = Loaded(ws, plan, directory, served)
    loaded.index = served
    return loaded


def _history_files(ws: Workspace) -> list[Path] | None:
    """The history files; None where the folder is wrong (reading it then says how)."""
    try:
        return ws.history_files()
    except InvalidData:
        return None


def snapshot(ws: Workspace) -> list[tuple[str, Stat | None]]:
    """Every data file (YAML in the workspace and its folders) by its stat: a change to any
    of them, as an entry appended, changes it."""
    found = [*ws.root.glob("*.yaml"), *ws.root.glob("*/*.yaml")]
    return [(str(p), stat_of(p)) for p in sorted(found) if not p.parent.name.startswith(".")]
