"""The workspace: where it is, making a new one, and loading it (`Loaded`: its plan, agencies
and history, read by `documents` and `history`). Writes go through `write`, the one door.

A workspace is a folder holding `agencies.yaml`, one or more `plan_YYYY.yaml` and `history/`,
one file per recorder, one entry per line, so that offices appending at the same time merge
with git without conflicts.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from platformdirs import user_data_path

from ocop_cli.core.errors import (
    InvalidData,
    NotFound,
    OcopError,
    Problem,
    Refused,
)
from ocop_cli.core.i18n import _
from ocop_cli.core.model import Entry, Plan, Task, within
from ocop_cli.core.state import own_entries, replay, settle
from ocop_cli.store import write
from ocop_cli.store.documents import read_agencies, read_plan
from ocop_cli.store.history import read_history
from ocop_cli.store.yamlio import read_bytes

if TYPE_CHECKING:
    from ocop_cli.core.directory import Directory
    from ocop_cli.core.state import TaskState

AGENCIES = "agencies.yaml"
HISTORY = "history"
PRODUCTS = "products"  # the product register (see `products`), kept like the history
RULES = "ocop_rules.yaml"  # the OCOP product rules (see `product_rules`)
STATE = ".ocop"
SCHEMA = "schema"
HELD = "held.json"  # in STATE: history files a sync holds back at their last good lines
_PLAN_NAME = re.compile(r"^plan_(\d{4})\.yaml$")
_LAST_YEAR = re.compile(rb"^last_year:[ \t]*[\"']?(\d{4})[\"']?[ \t]*(?:#.*)?\r?$", re.M)
GITIGNORE = "/.ocop\n"  # a link named .ocop too, which `.ocop/` would not match
GITATTRIBUTES = "history/*.yaml merge=union\nproducts/*.yaml merge=union\n"
OFFICE = "office.yaml"  # the letterhead of the office's reports (see `office`)
# The office.yaml `ocop init` leaves, for the office to change.
OFFICE_TEMPLATE = """\
# The letterhead of the reports this office sends (ocop report --format docx|xlsx|html),
# laid out as Nghị định 30/2020/NĐ-CP, Phụ lục I. Change it to your office's; ocop never
# rewrites this file. An empty field leaves a visible blank on the page ("Số: …/BC-…") to
# fill in by hand. A report's options override it: --number 45, --dated 30/09/2019,
# --signer "Nguyễn Văn A".

parent: UBND TỈNH HẢI DƯƠNG             # cơ quan chủ quản (above the issuing body)
issuer: SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN   # cơ quan ban hành
symbol: BC-SNN                          # ký hiệu: "Số: 45/BC-SNN"
place: Hải Dương                        # địa danh: "Hải Dương, ngày … tháng … năm …"
authority: KT. GIÁM ĐỐC                 # quyền hạn ký (TM., KT., Q., TL., TUQ.); may be empty
title: PHÓ GIÁM ĐỐC                     # chức vụ người ký
signer: ""                              # họ và tên người ký
recipients:                             # nơi nhận, one per line
  - "UBND tỉnh (để b/c);"
  - "BCĐ các Chương trình MTQG tỉnh (để b/c);"
  - "Lưu: VT, CCPTNT."
"""


def bundled_dir() -> Path:
    """The 2019 plan and agencies shipped with ocop (inside the package once installed)."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "data", package.parent / "data"):
        if (candidate / AGENCIES).is_file():
            return candidate
    raise NotFound(_("the bundled data is missing from the installation"))  # pragma: no cover


class Workspace:
    """A workspace folder (a plain class: see `model`)."""

    __slots__ = ("created", "root")

    def __init__(self, root: Path, created: bool = False) -> None:
        self.root = root
        self.created = created  # made just now, on first use

    def __eq__(self, other: object) -> bool:
        return (self.root, self.created) == (other.root, other.created) \
            if isinstance(other, Workspace) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.root)

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    @property
    def agencies_path(self) -> Path:
        return self.root / AGENCIES

    @property
    def history_dir(self) -> Path:
        return self.root / HISTORY

    @property
    def state_dir(self) -> Path:
        return self.root / STATE

    def plan_files(self) -> dict[int, Path]:
        found = {}
        for path in self.root.glob("plan_*.yaml"):
            match = _PLAN_NAME.match(path.name)
            if match:
                found[int(match.group(1))] = path
        return dict(sorted(found.items()))

    def plan_path(self, year: int | None = None) -> Path:
        plans = self.plan_files()
        if not plans:
            raise NotFound(_("{root}: no plan_YYYY.yaml in this workspace").format(root=self.root))
        if year is None:
            return plans[max(plans)]
        first = year if year in plans else owner(self.plan_spans(), year)
        if first is None:
            years = ", ".join(str(y) for y in plans)
            raise NotFound(
                _("no plan for {year} in {root}").format(year=year, root=self.root),
                hint=_("Plans here: {years}").format(years=years),
            )
        return plans[first]

    def plan_spans(self, after: int = 0) -> dict[int, int]:
        """Each plan's first year and last year (`last_year:` at the top level of its file,
        as `ocop import plan` writes it; a plan without one is of its first year only); only
        the plans that start after `after`, when given."""

        spans = {}
        for first, path in self.plan_files().items():
            if first <= after:
                continue
            try:
                found = _LAST_YEAR.search(read_bytes(path))
            except OcopError:
                found = None  # reading the plan itself says what is wrong with it
            spans[first] = max(first, int(found.group(1))) if found else first
        return spans


    def history_files(self) -> list[Path]:
        """Every history file; a folder or device among them too, so that reading it says
        what is wrong instead of leaving its entries out without a word."""
        if self.history_dir.is_symlink():
            raise InvalidData([Problem(str(self.history_dir), _(
                "is a symbolic link; ocop reads and writes only regular files inside the "
                "workspace: put the history folder itself here"))])
        if not self.history_dir.is_dir():
            if self.history_dir.exists():
                raise InvalidData([Problem(str(self.history_dir),
                                           _("is a file, expected the history folder"))])
            return []
        return sorted(self.history_dir.glob("*.yaml"))

    def source_files(self) -> list[Path]:
        """Every file whose content the state depends on."""
        return [self.agencies_path, *self.plan_files().values(), *self.history_files()]


def owner(spans: dict[int, int], year: int) -> int | None:
    """The first year of the plan whose years include `year`: of two that do, the one that
    starts latest (a year's own plan before the plan over several years around it)."""
    return max((first for first, last in spans.items() if first <= year <= last), default=None)


def owned_years(ws: Workspace, plan: Plan) -> frozenset[int]:
    """The years whose entries `plan` counts. An entry's year is its `plan` key, else the
    year of its date (a line written by hand); it counts under the plan whose years include
    it (`owner`): a plan over several years counts each of its years that no plan starting
    later takes."""
    if plan.last_year == plan.year:
        return frozenset((plan.year,))
    spans = {**ws.plan_spans(after=plan.year), plan.year: plan.last_year}
    return frozenset(year for year in range(plan.year, plan.last_year + 1)
                     if owner(spans, year) == plan.year)


def is_workspace(path: Path) -> bool:
    # `lexists`, not `is_file`: a folder or link in its place is a broken workspace, reported
    # as such.
    return os.path.lexists(path / AGENCIES) and any(
        _PLAN_NAME.match(p.name) for p in path.glob("plan_*.yaml")
    )


def user_workspace_dir() -> Path:

    return user_data_path("ocop", appauthor=False)


def locate(data: str | None = None) -> Workspace:
    """`--data`, else OCOP_DATA, else the nearest workspace upward from here, else the
    per-user one (made from the bundled plan on first use)."""
    found = find(data)
    if found is not None:
        return found
    root = user_workspace_dir()
    init_workspace(root)
    return Workspace(root, created=True)


def find(data: str | None = None) -> Workspace | None:
    """The workspace `locate` would use, or None when it would have to create it."""
    explicit = data or os.environ.get("OCOP_DATA")
    if explicit:
        root = Path(explicit).expanduser()
        _refuse_half_made(root)
        if not is_workspace(root):
            what = _("does not exist") if not root.exists() else _("is not an ocop workspace")
            raise NotFound(
                _("workspace {root} {what}").format(root=root, what=what),
                hint=_("Create it with: ocop init {root}").format(root=root),
            )
        return Workspace(root.resolve())
    here = Path.cwd().resolve()
    _refuse_half_made(here)
    for folder in (here, *here.parents):
        if is_workspace(folder):
            return Workspace(folder)
    root = user_workspace_dir()
    return Workspace(root) if is_workspace(root) else None


def _refuse_half_made(root: Path) -> None:
    if half_made(root):
        raise NotFound(_("{root} is not an ocop workspace: it holds agencies.yaml but no "
                         "plan_YYYY.yaml, as an `ocop init` that stopped half-way leaves it"
                         ).format(root=root), hint=_half_made_hint(root))


def init_workspace(root: Path) -> Workspace:
    """A new workspace from the bundled files; refuses to overwrite one that exists.

    Built whole in a temporary folder first, so that a full disk or an interruption leaves
    nothing that looks like a workspace: the folder is renamed to `root` when `root` does not
    exist yet; else its files are moved in one by one, agencies.yaml last (it is what makes a
    folder a workspace), and a failure takes back what was moved."""
    if is_workspace(root):
        raise Refused(_("{root} is already an ocop workspace").format(root=root))

    if half_made(root):
        raise Refused(_("{root} already holds agencies.yaml; not overwriting").format(
            root=root), hint=_half_made_hint(root))
    source = bundled_dir()
    exists = root.exists()
    whole = root.absolute()
    # The first folder above `root` that is made here: taken away again on failure.
    made = next((p for p in (*reversed(whole.parents), whole) if not p.exists()), whole)
    moved: list[Path] = [] if made == whole else [made]
    build: Path | None = None
    try:
        if not exists:
            whole.parent.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=f".{whole.name}.init.", suffix=".tmp",
                                      dir=root if exists else whole.parent))
        for path in sorted(source.glob("*.yaml")):
            write.replace(build / path.name, path.read_bytes(), inside=build)
        if (source / SCHEMA).is_dir():
            (build / SCHEMA).mkdir()
            for path in sorted((source / SCHEMA).iterdir()):
                write.replace(build / SCHEMA / path.name, path.read_bytes(), inside=build)
        (build / HISTORY).mkdir()
        for name, text in ((".gitignore", GITIGNORE), (".gitattributes", GITATTRIBUTES),
                           (OFFICE, OFFICE_TEMPLATE)):
            write.replace(build / name, text.encode("utf-8"), inside=build)
        if not exists:
            os.rename(build, root)
            build = None
        else:
            items = sorted(build.iterdir(), key=lambda p: (p.name == AGENCIES, p.name))
            for item in items:
                if not os.path.lexists(root / item.name):  # a clone's own .gitignore stays
                    os.rename(item, root / item.name)
                    moved.append(root / item.name)
    except (OSError, write.WriteFailed) as exc:
        for path in reversed(moved):
            with suppress(OSError):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        raise Refused(_("cannot create the workspace in {root}: {error}; nothing was "
                        "left behind").format(root=root, error=write.write_failure(exc))
                      ) from None
    finally:
        if build is not None:
            shutil.rmtree(build, ignore_errors=True)
    return Workspace(root.resolve(), created=True)


def half_made(root: Path) -> bool:
    """agencies.yaml and no plan: what an `ocop init` of an older version left when it
    stopped half-way (a full disk), which is no workspace and blocks a new `ocop init`."""
    return os.path.lexists(root / AGENCIES) and not is_workspace(root)


def _half_made_hint(root: Path) -> str:
    return _("If nothing was recorded in it, remove agencies.yaml and run: ocop init {root}"
             ).format(root=root)


# --- loading ---------------------------------------------------------------------------------


class History(Protocol):
    """Where a load's entries come from: the files (`Files`), or the index, which answers
    without reading every entry."""

    def entries(self) -> list[Entry]:
        """Every entry that counts, in file order."""

    def entries_about(self, task_id: str) -> list[Entry]:
        """The entries about a task and its sub-rows, in file order."""

    def entries_of(self, task_ids: list[str]) -> dict[str, list[Entry]]:
        """What the replay of each task alone reads (`state.own_entries`)."""

    def states(self, as_of: dt.date, tasks: list[Task], counted: list[Entry]
               ) -> dict[str, TaskState]:
        """The own states of `tasks` on `as_of` (`state.replay`), `counted` replayed with
        the entries of the tasks they are about."""


class Files:
    """A load's entries as read from the files, held."""

    def __init__(self, plan: Plan, entries: list[Entry]) -> None:
        self.plan, self.held = plan, entries

    def entries(self) -> list[Entry]:
        return self.held

    def entries_about(self, task_id: str) -> list[Entry]:
        return [e for e in self.held if within(e.task, task_id)]

    def entries_of(self, task_ids: list[str]) -> dict[str, list[Entry]]:

        return own_entries(self.held, task_ids)

    def states(self, as_of: dt.date, tasks: list[Task], counted: list[Entry]
               ) -> dict[str, TaskState]:

        return replay(self.plan, [*self.held, *counted] if counted else self.held, as_of, tasks)


class Loaded:
    """What a workspace holds, validated: the plan of one year, the agencies and the history
    (`History`: from the files, or from the index)."""

    def __init__(self, workspace: Workspace, plan: Plan, directory: Directory,
                 history: History) -> None:
        self.workspace, self.plan, self.directory = workspace, plan, directory
        self.history = history
        # The index's answers, when loaded from it (`index.Served`): the entries in the order
        # `ocop history` lists them, the latest in force, their count, without holding them.
        self.index: Any = None
        # Entries derived from the product register for the tasks that count products
        # (`tracker.counted.count_into`): replayed with the history's, never written or undone.
        self.counted: list[Entry] = []

    @cached_property
    def entries(self) -> list[Entry]:
        """Every entry that counts for the plan, in file order (read when first asked for,
        from the index: a listing never needs them)."""
        return self.history.entries()

    def entries_about(self, task_id: str) -> list[Entry]:
        """The entries about a task and its sub-rows, in the order of `entries`."""
        if "entries" in vars(self):
            return [e for e in self.entries if within(e.task, task_id)]
        return self.history.entries_about(task_id)

    def entries_of(self, task_ids: Iterable[str]) -> dict[str, list[Entry]]:
        """What the replay of each of `task_ids` alone reads (`state.own_entries`), the
        entries counted from the product register included."""
        task_ids = list(task_ids)
        found: dict[str, list[Entry]] = {task: [] for task in task_ids}
        found.update(self.history.entries_of(task_ids))
        for entry in self.counted:
            if entry.task in found:
                found[entry.task].append(entry)
        return found

    def replay(self, under: str | None = None) -> list[Entry]:
        """The entries a replay of the tasks reads (about `under` and its sub-rows only, when
        given): the history's, and those counted from the product register."""
        entries = self.entries if under is None else self.entries_about(under)
        counted = [e for e in self.counted if under is None or within(e.task, under)]
        return [*entries, *counted] if counted else entries

    def states(self, as_of: dt.date, only: Iterable[Task] | None = None
               ) -> dict[str, TaskState]:
        """The state of each task on `as_of`: of every task, or of those of `only` (a parent
        before its sub-rows, as the plan lists them), a parent settled from those of its
        sub-rows among them. The one way a command gets the states of a day."""

        tasks = list(self.plan.tasks if only is None else only)
        return settle(self.plan, self.history.states(as_of, tasks, self.counted), as_of, tasks)


def load(ws: Workspace, year: int | None = None) -> Loaded:
    """The plan of `year` (the latest by default), the agencies and the history, read from
    the files (`index.load` serves the same from the index); InvalidData with every error
    when a file is broken."""

    directory, problems = read_agencies(ws.agencies_path)
    plan, plan_problems = read_plan(ws.plan_path(year), directory) if directory else (None, [])
    problems += plan_problems
    if plan is None or directory is None:
        raise InvalidData(problems)
    entries, found = read_history(ws.history_files(), plan, owned_years(ws, plan), directory)
    errors = [p for p in found if not p.warning]
    if errors:
        raise InvalidData(errors)
    return Loaded(ws, plan, directory, Files(plan, entries))


def temporary_files(ws: Workspace) -> list[Problem]:
    """Temporary files left by an interrupted write. Warnings: the data is whole, these are
    only clutter."""
    problems = []
    for path in sorted(ws.root.rglob("*.tmp")):
        if write.being_written(path):
            continue
        problems.append(Problem(str(path), _("temporary file left by an interrupted write; "
                                             "it can be deleted"), warning=True))
    return problems


def stale_lock(ws: Workspace) -> list[Problem]:
    """A warning for a lock whose holder stopped without releasing it."""
    owner = ws.state_dir / write.OWNER
    if not owner.is_file() or not write.lock_is_free(ws):
        return []
    try:
        holder = owner.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        holder = _("unknown")
    return [Problem(str(owner), _(
        "lock left by an ocop that stopped while recording ({holder}); the lock is free "
        "again and this file can be deleted").format(holder=holder), warning=True)]
