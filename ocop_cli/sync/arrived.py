"""What a pull brought, looked at file by file: whether it loads, which entries arrived in a
second file, and what changed in the plan, the agencies and the rules, task by task.

Only what arrived is read, so that the time between a pull and its push stays as short with
a hundred offices as with a dozen. A history file is read alone; a change to anything else
(the plan, agencies, rules, the product register) is rare, and the whole workspace is then
checked as `ocop check` does, since those files are read together.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ocop_cli.core.errors import InvalidData, NotFound, Problem
from ocop_cli.core.i18n import _
from ocop_cli.core.model import Plan, Task
from ocop_cli.store import storage
from ocop_cli.store.documents import read_agencies, read_plan
from ocop_cli.store.history import read_history_file
from ocop_cli.sync.git import APPEND_ONLY, Repo, git, short
from ocop_cli.sync.layout import RULES
from ocop_cli.sync.lines import entry_id


def problems(ws: storage.Workspace, paths: Iterable[str],
             check: Callable[[storage.Workspace], list[Problem]]) -> list[Problem]:
    """What is wrong with the workspace files `paths` that arrived, as they are now: the
    history files' own problems, or, when anything else arrived, every problem of the
    workspace as `check` finds them."""
    paths = sorted(set(paths))
    if any(not path.startswith(storage.HISTORY + "/") for path in paths):
        return check(ws)
    found: list[Problem] = []
    for path in paths:
        if (ws.root / path).exists():
            found += _guarded(lambda p=ws.root / path: read_history_file(p)[1])
    return found


def _guarded(read: Any) -> list[Problem]:
    try:
        return list(read())
    except InvalidData as exc:
        return exc.problems
    except NotFound as exc:
        return [Problem("", exc.message)]


Arrival = tuple[int, str, str, str]  # (rank of its commit, path, line, commit)


def copies(repo: Repo, counted: dict[str, dict[str, str]], order: list[str]
           ) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """The lines that arrived (`counted`: path -> line -> commit) holding an entry id another
    file had first in git's history, with a warning naming each: the file whose line was
    here before the pull comes first, then the one whose commit came first (`order`, oldest
    first), then the first in file order. A copy does not count (path -> line -> commit)."""
    rank = {commit: n for n, commit in enumerate(order)}
    came: dict[str, list[Arrival]] = {}
    for path, got in counted.items():
        for line, commit in got.items():
            key = entry_id(line)
            if key:
                came.setdefault(key, []).append((rank.get(commit, -1), path, line, commit))
    where = _holders(repo, came)
    found: dict[str, dict[str, str]] = {}
    told: list[Problem] = []
    for key, arrivals in sorted(came.items()):
        paths = {path for _rank, path, _line, _commit in arrivals}
        first = min([(r, path) for r, path, _line, _commit in arrivals]
                    + [(-1, path) for path in where.get(key, set()) - paths])[1]
        for _rank, path, line, commit in arrivals:
            if path == first:
                continue
            found.setdefault(path, {})[line] = commit
            told.append(Problem(path, _(
                "entry {id} (commit {commit}) is also in {first}, which had it first; it "
                "counts once, from there, and this copy is left out").format(
                id=key, commit=short(commit), first=first), warning=True))
    return found, told


def foreign_undos(repo: Repo, counted: dict[str, dict[str, str]]
                  ) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """The undo entries that arrived in a history file (`counted`: path -> line -> commit)
    naming an entry of another file, with a warning naming each: an office takes back only
    its own entries, so such an undo does not count (path -> line -> commit)."""
    undos: dict[str, list[tuple[str, str, str]]] = {}  # undone id -> (path, line, commit)
    for path, got in counted.items():
        if not path.startswith(storage.HISTORY + "/"):
            continue
        for line, commit in got.items():
            undone = _undoes(line)
            if undone:
                undos.setdefault(undone, []).append((path, line, commit))
    where = _holders(repo, undos)
    found: dict[str, dict[str, str]] = {}
    told: list[Problem] = []
    for undone, arrivals in sorted(undos.items()):
        for path, line, commit in arrivals:
            owners = where.get(undone, set())
            if not owners or path in owners:
                continue
            found.setdefault(path, {})[line] = commit
            told.append(Problem(path, _(
                "entry {id} (commit {commit}) undoes entry {undone} of {other}: an office "
                "takes back only its own entries; it does not count").format(
                id=entry_id(line), commit=short(commit), undone=undone,
                other=", ".join(sorted(owners))), warning=True))
    return found, told


def _undoes(line: str) -> str | None:
    """The entry an undo line (`- {...}`) takes back, else None."""
    try:
        record = json.loads(line[2:])
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("action") != "undo":
        return None
    undone = record.get("undoes")
    return undone if isinstance(undone, str) and undone else None


def _holders(repo: Repo, ids: Iterable[str]) -> dict[str, set[str]]:
    """The history and product files of the working copy that hold each of `ids`."""
    patterns = [a for key in sorted(ids) for a in ("-e", f'"id": "{key}"')]
    if not patterns:
        return {}
    out = git(repo.workspace, "grep", "-z", "-o", "-F", "--untracked", *patterns, "--",
              *APPEND_ONLY, check=False).stdout
    where: dict[str, set[str]] = {}
    for row in out.split("\n"):
        path, _nul, match = row.partition("\0")
        if match:
            where.setdefault(match[len('"id": "'):-1], set()).add(path)
    return where


# --- the plan, the agencies and the rules: what changed ---------------------------------------


def changes(old: dict[str, str | None], new: dict[str, str | None], why: str) -> list[Problem]:
    """What changed from the files `old` to the files `new` (workspace path -> text, None
    where there is no such file): each plan task by task ("1.2 target 12 → 1"), the agencies
    one by one, the rules as a whole; `why` says which commit brought it."""
    try:
        return _changes(old, new, why)
    except OSError:  # no room for the scratch copies: say what changed, if not how
        return [Problem(path, f"{_('changed')} ({why})", warning=True)
                for path in sorted(set(old) | set(new)) if old.get(path) != new.get(path)]


def _changes(old: dict[str, str | None], new: dict[str, str | None], why: str
             ) -> list[Problem]:
    found: list[Problem] = []
    # The versions are read as the plan reader reads a workspace: from files, in a scratch
    # folder of their own, outside the workspace.
    with tempfile.TemporaryDirectory(prefix="ocop-sync-") as scratch:
        before = _directory(Path(scratch) / "old", old)
        after = _directory(Path(scratch) / "new", new)
        for path in sorted(set(old) | set(new)):
            if old.get(path) == new.get(path):
                continue
            if path == storage.AGENCIES:
                lines = _agency_changes(before, after)
            elif path.startswith("plan_"):
                lines = _plan_changes(_plan(Path(scratch) / "old", path, old, before),
                                      _plan(Path(scratch) / "new", path, new, after))
            else:
                lines = [_("changed") if path == RULES or new.get(path) is not None
                         else _("removed")]
            found += [Problem(path, f"{line} ({why})", warning=True) for line in lines]
    return found


def _directory(folder: Path, files: dict[str, str | None]) -> Any:
    folder.mkdir()
    for path, text in files.items():
        if text is not None and "/" not in path:
            (folder / path).write_text(text, encoding="utf-8")
    if not (folder / storage.AGENCIES).exists():
        return None
    return read_agencies(folder / storage.AGENCIES)[0]


def _plan(folder: Path, path: str, files: dict[str, str | None], directory: Any) -> Plan | None:
    if files.get(path) is None or directory is None:
        return None
    return read_plan(folder / path, directory)[0]


def _agency_changes(old: Any, new: Any) -> list[str]:
    if old is None or new is None:
        return [_("changed")]
    lines = []
    for key in sorted(set(old.by_id) | set(new.by_id)):
        if key not in new.by_id:
            lines.append(_("agency {id} removed").format(id=key))
        elif key not in old.by_id:
            lines.append(_("agency {id} added").format(id=key))
        elif old.by_id[key] != new.by_id[key]:
            lines.append(_("agency {id} changed").format(id=key))
    return lines


def _value(task: Task, field: str) -> str:
    value: Any = getattr(task, field)
    if field in ("target", "window"):
        value = value.text if value is not None else None
    if isinstance(value, tuple):
        value = ", ".join(value)
    return "—" if value in (None, "") else str(value)


_FIELDS = ("title", "unit", "target", "window", "lead", "partners", "per_district", "per_unit")


def _plan_changes(old: Plan | None, new: Plan | None) -> list[str]:
    if old is None or new is None:
        return [_("changed") if new is not None else _("removed or no longer readable")]
    labels = {"title": _("title"), "unit": _("unit"), "target": _("target"),
              "window": _("window"), "lead": _("lead"), "partners": _("partners"),
              "per_district": _("per district"), "per_unit": _("shared per unit")}
    lines = []
    for task in old.tasks:
        after = new.task(task.id)
        if after is None:
            lines.append(_("task {task} removed").format(task=task.id))
            continue
        for field in _FIELDS:
            was, now = _value(task, field), _value(after, field)
            if was != now:
                lines.append(f"{task.id} {labels[field]} {was} → {now}")
    lines += [_("task {task} added").format(task=task.id) for task in new.tasks
              if old.task(task.id) is None]
    if not lines and old != new:
        lines.append(_("changed"))
    return lines
