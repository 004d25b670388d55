"""Every file ocop reads: where the workspace is, making a new one, loading and validating it.
Writes go through `write`, the one door.

A workspace is a folder holding `agencies.yaml`, one or more `plan_YYYY.yaml` and `history/`,
one file per recorder, one entry per line, so that offices appending at the same time merge
with git without conflicts.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from functools import cached_property
from itertools import compress
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocop_cli.core.errors import (
    InvalidData,
    NotFound,
    OcopError,
    Problem,
    Refused,
)
from ocop_cli.core.i18n import _
from ocop_cli.core.model import ACTIONS, Entry, Plan, Task, within
from ocop_cli.store import write

if TYPE_CHECKING:
    from ocop_cli.core.directory import Directory
    from ocop_cli.core.state import Fold, TaskState
    from ocop_cli.core.windows import Window
    from ocop_cli.store.yamlio import YamlDoc

AGENCIES = "agencies.yaml"
HISTORY = "history"
PRODUCTS = "products"  # the product register (see `products`), kept like the history
STATE = ".ocop"
SCHEMA = "schema"
HELD = "held.json"  # in STATE: history files a sync holds back at their last good lines
_PLAN_NAME = re.compile(r"^plan_(\d{4})\.yaml$")
_LAST_YEAR = re.compile(rb"^last_year:[ \t]*[\"']?(\d{4})[\"']?[ \t]*(?:#.*)?\r?$", re.M)
# Far above a plan year of entries, and low enough that a huge file is refused, not read.
HISTORY_MAX_BYTES = 64 * 1024 * 1024
GITIGNORE = "/.ocop\n"  # a link named .ocop too, which `.ocop/` would not match
GITATTRIBUTES = "history/*.yaml merge=union\nproducts/*.yaml merge=union\n"


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
        from ocop_cli.store.yamlio import read_bytes

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
    from platformdirs import user_data_path

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
    import shutil
    import tempfile

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
        for name, text in ((".gitignore", GITIGNORE), (".gitattributes", GITATTRIBUTES)):
            write.replace(build / name, text.encode("utf-8"), inside=build)
        from ocop_cli.output import office

        office.write_template(build)
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


class Loaded:
    """What a workspace holds, validated; `problems` are faults that do not stop reading
    (a half-written last entry, an entry for a task that is gone), for `ocop check`."""

    def __init__(self, workspace: Workspace, plan: Plan, directory: Directory,
                 history: list[Entry] | Callable[[], list[Entry]],
                 problems: list[Problem] | None = None) -> None:
        self.workspace, self.plan, self.directory = workspace, plan, directory
        self.history = history  # the entries, or how to get them
        self.problems: list[Problem] = problems or []
        # Set by the index (`index.load`): task states and a task's entries without the whole.
        self.index: Any = None
        # Entries derived from the product register for the tasks that count products
        # (`products.count_into`): replayed with the history's, never written or undone.
        self.counted: list[Entry] = []
        # The day the history was folded for as it was read (`load`), and the states.
        self.folded: tuple[dt.date, dict[str, TaskState]] | None = None

    def states(self, as_of: dt.date) -> dict[str, TaskState] | None:
        """Every task's state on `as_of` (of the tasks `load` was asked for), without its
        entries, when the history was folded for that day as it was read, the first time it
        is asked; else None."""
        from ocop_cli.core.state import settle

        if self.folded is None or self.folded[0] != as_of:
            return None
        states, self.folded = self.folded[1], None  # settled once, in place
        return settle(self.plan, states, as_of)

    @cached_property
    def entries(self) -> list[Entry]:
        """Built on first use: a listing served from the index never needs them."""
        return self.history() if callable(self.history) else self.history

    def entries_about(self, task_id: str) -> list[Entry]:
        """The entries about a task and its sub-rows, in the order of `entries`."""
        if self.index is not None and "entries" not in vars(self):
            return list(self.index.entries_about(task_id))
        return [e for e in self.entries if within(e.task, task_id)]

    def entries_of(self, task_ids: Iterable[str]) -> dict[str, list[Entry]]:
        """What the replay of each of `task_ids` alone reads (`state.own_entries`), the
        entries counted from the product register included."""
        from ocop_cli.core.state import own_entries

        task_ids = list(task_ids)
        if self.index is not None and "entries" not in vars(self):
            found: dict[str, list[Entry]] = self.index.entries_of(task_ids)
            found = {task: [] for task in task_ids} | found
        else:
            found = own_entries(self.entries, task_ids)
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


def load(ws: Workspace, year: int | None = None, as_of: dt.date | None = None,
         shown: Callable[[Loaded], Iterable[Task] | None] | None = None) -> Loaded:
    """The plan of `year` (the latest by default), the agencies and the history, read from
    the files (`index.load` serves the same from the index); InvalidData when a file is
    broken.

    With `as_of`, for a command that needs the task states of that day and not the entries,
    the history is folded into them as it is read (`Loaded.states`), and `entries` reads it
    again if asked. `shown`, asked once the plan and agencies are read, may name the only
    tasks whose states are wanted (a listing's): the entries of the others are then checked
    but not folded. A long history is folded for a share of the tasks at a time (`_shares`),
    read again for each, so that what the fold holds stays within bounds."""
    directory, problems = read_agencies(ws.agencies_path)
    plan, plan_problems = read_plan(ws.plan_path(year), directory) if directory else (None, [])
    problems += plan_problems
    if plan is None or directory is None:
        raise InvalidData(problems)
    loaded = Loaded(ws, plan, directory, [])
    shares: list[set[str] | None] = []
    if as_of is not None:
        from ocop_cli.core.state import Fold

        tasks = shown(loaded) if shown is not None and not problems else None
        shares = _shares(ws, plan, None if tasks is None else {t.id for t in tasks})
        fold = Fold(plan, as_of, only=shares[0])
        found = fold_history(ws, plan, directory, fold)
        loaded.history = lambda: read_history(ws, plan, directory)[0]
    else:
        loaded.history, found = read_history(ws, plan, directory)
    problems += [p for p in found if not p.warning]
    if problems:
        raise InvalidData(problems)
    loaded.problems = [p for p in found if p.warning]
    from ocop_cli.tracker.products import count_into

    count_into(loaded)
    if as_of is not None:
        states: dict[str, TaskState] = {}
        for n, share in enumerate(shares):
            if n:  # the files say the same again: their problems are known
                fold = Fold(plan, as_of, only=share)
                fold_history(ws, plan, directory, fold)
            for entry in loaded.counted:
                fold.add(entry)
            states.update(fold.states())
            del fold  # let go before the next share is folded
        if len(shares) > 1:  # in the plan's order, as one fold gives them
            states = {t.id: states[t.id] for t in plan.tasks if t.id in states}
        loaded.folded = as_of, states
    return loaded


_FOLDED_BYTES = 64 << 20  # bytes of history whose entries a fold holds the figures of at once


def _shares(ws: Workspace, plan: Plan, only: set[str] | None) -> list[set[str] | None]:
    """The tasks to fold the history for (`only`, or all: None), in as few shares as keep
    the entries folded at once, by the size of their files, within `_FOLDED_BYTES`."""
    size = sum(_size(path) for path in ws.history_files())
    wanted = [t.id for t in plan.tasks if only is None or t.id in only]
    count = -(-size * len(wanted) // max(len(plan.tasks), 1) // _FOLDED_BYTES)
    if count <= 1:
        return [only]
    return [set(wanted[n::count]) for n in range(count)]


def validate(ws: Workspace) -> list[Problem]:
    """Every problem in every file of the workspace, not only the first."""
    directory, problems = read_agencies(ws.agencies_path)
    plans = ws.plan_files()
    if not plans:
        problems.append(Problem(str(ws.root), _("no plan_YYYY.yaml in this workspace")))
    read: dict[int, Plan] = {}
    for year, path in plans.items():
        if directory is None:
            break
        plan, plan_problems = read_plan(path, directory)
        problems += plan_problems
        if plan is not None:
            read[year] = plan
    if directory is not None and len(read) == len(plans):
        entries, found = read_history(ws, None, directory)
        problems += found
        spans = {year: plan.last_year for year, plan in read.items()}
        for entry in entries:
            problems += _task_gone(ws.history_dir / entry.source.rpartition(":")[0], entry,
                                   read.get(owner(spans, entry.plan_year) or entry.plan_year))
    return problems + other_problems(ws, directory)


def other_problems(ws: Workspace, directory: Directory | None) -> list[Problem]:
    """What `validate` finds besides the plans and the history: in the product register,
    the letterhead, git's attributes and files left over."""
    problems: list[Problem] = []
    if directory is not None:
        from ocop_cli.tracker.products import register_problems

        problems += register_problems(ws, directory)
    from ocop_cli.output import office

    problems += office.check(ws.root)[1]
    from ocop_cli.sync.checks import attribute_problems

    problems += attribute_problems(ws.root)
    problems += leftovers(ws)
    return problems


def _guarded(path: Path, read: Any) -> tuple[Any, list[Problem]]:
    try:
        return read(), []
    except InvalidData as exc:
        return None, exc.problems
    except NotFound as exc:
        return None, [Problem(str(path), exc.message)]


def _validation_problems(doc: YamlDoc, error: Any, label: str = "tasks") -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        line, col = doc.where(loc)
        task = None
        if len(loc) >= 2 and loc[0] == label and isinstance(loc[1], int):
            try:
                task = str(doc.data[label][loc[1]].get("id"))
            except (AttributeError, IndexError, KeyError, TypeError):
                task = None
        where = ".".join(str(x) for x in (loc[2:] if task else loc))
        message = item["msg"].removeprefix("Value error, ")
        problems.append(Problem(str(doc.path), message, line, col, task, where or None))
    return problems


def read_validated(path: Path, model: Any, label: str) -> tuple[Any, Any, list[Problem]]:
    """A YAML file read strictly and validated against its pydantic model: (doc, parsed,
    problems), each problem at its line and column, `label` naming the list whose items
    they are in; parsed is None when there is any."""
    from pydantic import ValidationError

    from ocop_cli.store.yamlio import read_yaml

    doc, problems = _guarded(path, lambda: read_yaml(path))
    if doc is None:
        return None, None, problems
    try:
        return doc, model.model_validate(doc.data), problems
    except ValidationError as exc:
        return doc, None, _validation_problems(doc, exc, label)


def read_agencies(path: Path) -> tuple[Directory | None, list[Problem]]:
    from ocop_cli.core.directory import Directory
    from ocop_cli.core.model import Agency
    from ocop_cli.core.text import fold
    from ocop_cli.store import plainschema
    from ocop_cli.store.yamlio import read_yaml

    doc, problems = _guarded(path, lambda: read_yaml(path))
    parsed = plainschema.agencies(doc.data) if doc is not None else None
    if parsed is None and doc is not None:
        from ocop_cli.store.schema import AgenciesDoc

        doc, parsed, problems = read_validated(path, AgenciesDoc, "agencies")
    if parsed is None:
        return None, problems
    ids: dict[str, int] = {}
    owners: dict[str, str] = {}
    for i, item in enumerate(parsed.agencies):
        if item.id in ids:
            problems.append(Problem(str(path), _("agency id {id!r} is used twice").format(
                id=item.id), *doc.where(("agencies", i))))
        ids[item.id] = i
        for spelling in {fold(s) for s in (item.short, item.name, *item.aliases)}:
            other = owners.setdefault(spelling, item.id)
            if other != item.id:
                problems.append(Problem(str(path), _(
                    "{a} and {b} share the spelling {s!r}: a name must mean one agency"
                ).format(a=other, b=item.id, s=spelling), *doc.where(("agencies", i))))
    for i, item in enumerate(parsed.agencies):
        for key, refs in (("members", item.members), ("part_of", [item.part_of])):
            for ref in refs:
                if ref is not None and ref not in ids:
                    line, col = doc.where(("agencies", i, key))
                    problems.append(Problem(str(path), _("unknown agency id {ref!r}").format(
                        ref=ref), line, col, field=key))
    agencies = [
        Agency(id=a.id, short=a.short, name=a.name, level=a.level, kind=a.kind,
               aliases=tuple(a.aliases), part_of=a.part_of, members=tuple(a.members),
               duties=tuple(a.duties), notes=tuple(a.notes))
        for a in parsed.agencies
    ]
    return (None if problems else Directory(agencies)), problems


def read_plan(path: Path, directory: Directory) -> tuple[Plan | None, list[Problem]]:
    from ocop_cli.store.yamlio import read_yaml

    doc, problems = _guarded(path, lambda: read_yaml(path))
    if doc is None:
        return None, problems
    parts = _plan_parts(doc)
    if parts is not None:
        try:
            return _plan(path, directory, doc, *parts)
        except _Refused:
            pass  # read again whole, for pydantic to say everything that is wrong, where
    from ocop_cli.store.schema import PlanDoc

    doc, parsed, problems = read_validated(path, PlanDoc, "tasks")
    if parsed is None:
        return None, problems
    return _plan(path, directory, doc, parsed, iter(parsed.tasks),
                 parsed.model_dump(mode="json", exclude={"tasks"}))


class _Refused(Exception):
    """A task the model refuses, found while the plan's tasks are read a few at a time."""


_TASKS_AT_ONCE = 1000


def _plan_parts(doc: YamlDoc) -> tuple[Any, Iterator[Any], dict[str, Any]] | None:
    """A plan document validated but for its tasks, its tasks validated a few at a time as
    they are asked for, each task's data let go once validated (the plan's data and its models
    are never all held at once: a plan of 50,000 tasks would take 200 MB), and its facts.
    _Refused from the tasks on the first problem; None when the rest of the document has one.
    A document in its regular form is checked without pydantic (`plainschema`)."""
    from ocop_cli.store import plainschema

    data = doc.data
    items = data.get("tasks") if type(data) is dict else None
    if type(items) is not list:
        return None
    plain = plainschema.plan_head(data)
    if plain is not None:
        def checked(tasks: list[Any]) -> Iterator[Any]:
            adapter = None
            for i, item in enumerate(tasks):
                try:
                    found = plainschema.task(item)
                except plainschema.Refused:  # pydantic decides, and says what is wrong
                    from pydantic import TypeAdapter, ValidationError

                    from ocop_cli.store.schema import TaskDoc

                    adapter = adapter or TypeAdapter(TaskDoc)
                    try:
                        found = adapter.validate_python(item)
                    except ValidationError:
                        raise _Refused from None
                tasks[i] = None
                yield found

        return plain[0], checked(items), plain[1]

    from pydantic import TypeAdapter, ValidationError

    from ocop_cli.store.schema import PlanDoc, TaskDoc

    try:
        head = PlanDoc.model_validate({**data, "tasks": []})
    except ValidationError:
        return None

    def tasks() -> Iterator[Any]:
        adapter = TypeAdapter(list[TaskDoc])
        for start in range(0, len(items), _TASKS_AT_ONCE):
            end = start + _TASKS_AT_ONCE
            try:
                found = adapter.validate_python(items[start:end])
            except ValidationError:
                raise _Refused from None
            items[start:end] = [None] * len(found)
            yield from found

    return head, tasks(), head.model_dump(mode="json", exclude={"tasks"})


def _plan(path: Path, directory: Directory, doc: YamlDoc, parsed: Any, items: Iterator[Any],
          facts: dict[str, Any]) -> tuple[Plan | None, list[Problem]]:
    """The plan from its validated document (`items`: its tasks; `facts`: the rest as plain
    data), with the problems of what the model cannot see: agencies, windows, ids, sub-rows."""
    from ocop_cli.core.model import Agency
    from ocop_cli.core.windows import Target, parse_target, parse_window

    problems: list[Problem] = []
    known: dict[str, list[Agency]] = {}  # a plan names the same few agencies thousands of times

    def refer(text: str, loc: tuple[Any, ...], task: str | None) -> str:
        found = known.get(text)
        if found is None:
            found = known[text] = directory.candidates(text, exact=True)
        if len(found) == 1:
            return found[0].id
        line, col = doc.where(loc)
        if found:
            names = ", ".join(a.short for a in found)
            message = _("{text!r} fits several agencies: {names}").format(text=text, names=names)
        else:
            message = _("unknown agency {text!r}").format(text=text)
            hint = directory.suggest(text)
            message += f" ({hint})" if hint else ""
        problems.append(Problem(str(path), message, line, col, task, str(loc[2 if task else 0])))
        return text

    if parsed.issuer:
        refer(parsed.issuer, ("issuer",), None)

    windows: dict[str, Window] = {}  # the same few texts, read once
    targets: dict[str, Target] = {}

    def window(item: Any, i: int) -> Window | None:
        if not item.window:
            return None
        found = windows.get(item.window)
        if found is not None:
            return found
        try:
            found = windows[item.window] = parse_window(item.window, parsed.year,
                                                         parsed.last_year)
            return found
        except ValueError as error:
            line, col = doc.where(("tasks", i, "window"))
            problems.append(Problem(str(path), str(error), line, col, item.id, "window"))
            return None

    tasks = []
    seen: set[str] = set()
    windowed: set[int] = set()  # the tasks that give a window, read or not
    for i, item in enumerate(items):
        if item.id in seen:
            line, col = doc.where(("tasks", i))
            problems.append(Problem(str(path), _("task id {id} is used twice").format(id=item.id),
                                    line, col, item.id, "id"))
        seen.add(item.id)
        if item.window:
            windowed.add(i)
        target = None
        if item.target:
            target = targets.get(item.target)
            if target is None:
                target = targets[item.target] = parse_target(item.target)
        if target is not None and item.unit and (clash := target.unit_problem(item.unit)):
            at, col = doc.where(("tasks", i, "target"))
            problems.append(Problem(str(path), clash, at, col, item.id, "target"))
        task = Task(
            id=item.id, title=item.title, unit=item.unit or (target and target.measure),
            target=target,
            lead=refer(item.lead, ("tasks", i, "lead"), item.id) if item.lead else None,
            partners=tuple(refer(p, ("tasks", i, "partners", j), item.id)
                           for j, p in enumerate(item.partners)),
            window=window(item, i),
            section=item.section, per_district=item.per_district, **_notes(item.notes),
            lead_text=item.lead, partners_text=tuple(item.partners),
            products_at=item.products_at,
        )
        task = task._replace(shared_by=directory.sharing(task))
        tasks.append(task)
    plan = Plan(number=parsed.number, year=parsed.year, title=parsed.title, tasks=tuple(tasks),
                facts=facts)
    for i, task in enumerate(plan.tasks):
        faults = []
        if task.parent is not None and plan.task(task.parent) is None:
            faults.append((_("task {id} has no parent task {parent}").format(
                id=task.id, parent=task.parent), "id"))
        if plan.is_leaf(task.id):
            if task.lead is None:
                faults.append((_("a task without sub-rows needs a lead"), "lead"))
            if task.window is None and i not in windowed:  # a bad one is told
                faults.append((_("a task without sub-rows needs a window"), "window"))
        for message, field_name in faults:  # located only when there is one: that takes time
            line, col = doc.where(("tasks", i))
            problems.append(Problem(str(path), message, line, col, task.id, field_name))
    return (None if problems else plan), problems


def _notes(notes: list[Any]) -> dict[str, tuple[str, ...]]:
    """A task's notes as `Task` keeps them: a note in both languages ({en, vi}) gives its
    English to `notes` and its Vietnamese to `notes_vi`; a plain one is the same in both."""
    if all(isinstance(note, str) for note in notes):
        return {"notes": tuple(notes)}
    return {"notes": tuple(note if isinstance(note, str) else note.en for note in notes),
            "notes_vi": tuple(note if isinstance(note, str) else note.vi for note in notes)}


# --- history ---------------------------------------------------------------------------------


def read_history(ws: Workspace, plan: Plan | None, directory: Directory | None
                 ) -> tuple[list[Entry], list[Problem]]:
    """Every entry of every history file; a torn last line is reported and left out."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    years = owned_years(ws, plan) if plan is not None else frozenset()
    for path in ws.history_files():
        # One broken file (a conflict left by a merge) must not hide the others' problems.
        read, failed = _guarded(path, lambda path=path: read_history_file(path))
        got, found = read or ([], [])
        problems += failed + found
        for entry in got:
            if entry.id in seen:
                problems.append(duplicate(path, entry, seen[entry.id]))
                continue
            seen[entry.id] = entry.source
            if _counts(path, entry, plan, years, directory, problems):
                entries.append(entry)
    return entries, problems


def _counts(path: Path, entry: Entry, plan: Plan | None, years: frozenset[int],
            directory: Directory | None, problems: list[Problem]) -> bool:
    """Whether an entry read for the first time counts for `plan` (not another plan's), with
    the warnings it calls for (an unknown task or place) added to `problems`."""
    if plan is not None:
        if entry.plan_year not in years:
            return False  # another plan's entry
        if entry.task not in plan.index:
            problems += _task_gone(path, entry, plan)
    if directory is not None and entry.place and entry.place not in directory.by_id:
        problems.append(Problem(str(path), _("entry {id}: unknown place {place!r}").format(
            id=entry.id, place=entry.place), *_line_of(entry), task=entry.task))
    return True


def fold_history(ws: Workspace, plan: Plan, directory: Directory, fold: Fold
                 ) -> list[Problem]:
    """`read_history`'s problems, its entries given to `fold` as they are read instead of
    kept: memory stays flat however long the history. A file is streamed a piece at a time
    while its lines are as `append` writes them; one that turns out otherwise is read whole
    (`read_history_file`) and everything is read again, as a fold cannot give entries back.

    Ids are kept as hashes (a million ids as text would take 200 MB): an entry whose id's
    hash was seen is decided at the end, against the first entry with its id (`_firsts`)."""
    files = ws.history_files()
    whole: set[Path] = set()
    while True:
        try:
            return _fold_history(ws, plan, directory, fold.restart(_undoable(files, whole)),
                                 files, whole)
        except _Whole as odd:
            whole.add(odd.path)


def _fold_history(ws: Workspace, plan: Plan, directory: Directory, fold: Fold,
                  files: list[Path], whole: set[Path]) -> list[Problem]:
    years = owned_years(ws, plan)
    # An entry's line is 160 bytes or more; a table for more than 4 million grows as it fills.
    hashes = _Hashes(min(sum(_size(path) for path in files) // 160, 1 << 22))
    # Problems in order, and in their place each entry whose id's hash was seen before,
    # with its place in the fold's order.
    slots: list[Problem | _Later] = []
    new, add, tasks, places = hashes.add, fold.add, plan.index, directory.by_id
    kept = {place: place for place in places}  # one text for each place the fold keeps

    def counts(path: Path, entry: Entry) -> bool:
        found: list[Problem] = []
        kept = _counts(path, entry, plan, years, directory, found)
        slots.extend(found)
        return kept

    for path in files:
        for found, entries, lines in _streamed(path, whole, rows=True):
            slots += found
            if lines is not None:  # what the loop below does, without making entries
                _fold_written(fold, lines, path, hashes, years, tasks, kept, slots, counts)
            for entry in entries:
                if not new(entry.id):
                    slots.append(_Later(path, entry, fold.next()))
                elif ((entry.plan or entry.date.year) in years and entry.task in tasks
                      and (not entry.place or entry.place in places)):
                    add(entry)  # what `_counts` says of it, at a glance
                elif counts(path, entry):
                    add(entry)
    del hashes
    later = {slot.entry.id for slot in slots if isinstance(slot, _Later)}
    firsts = _firsts(files, whole, later) if later else {}
    problems: list[Problem] = []
    for slot in slots:
        if not isinstance(slot, _Later):
            problems.append(slot)
        elif firsts[slot.entry.id] != slot.entry.source:
            problems.append(duplicate(slot.path, slot.entry, firsts[slot.entry.id]))
        elif _counts(slot.path, slot.entry, plan, years, directory, problems):
            fold.add(slot.entry, slot.order)
    return problems


def _fold_written(fold: Fold, lines: Written, path: Path, hashes: _Hashes,
                  years: frozenset[int], tasks: dict[str, Any], places: dict[str, Any],
                  slots: list[Problem | _Later], counts: Callable[[Path, Entry], bool]
                  ) -> None:
    """What `_fold_history` does with the entries of `lines`, an entry made only where one is
    kept, or where `counts` is asked whether it counts and says its problems. `places` maps
    each known place to one text for it, and actions are the model's texts: a fold of a
    million entries keeps a place or an action thousands of times.

    A piece whose ids are all new and whose entries all count (as most are) is checked as a
    whole, and only its rows about the tasks the fold wants, and its undos, are looked at."""
    name, days, rows = path.name, lines.days, lines.rows
    shared: dict[Any, Any] = {}
    add, take, fold_one, new = fold.add, fold.take, fold.fold, hashes.add
    as_of, undoable, wanted = fold.as_of, fold.undoable, fold.tasks
    checked = hashes.add_all(list(map(itemgetter(0), rows))) and _all_count(lines, years, tasks,
                                                                           places)
    if checked and fold.only is not None:
        if '"undo"' in lines.text:
            rows = [row for row in rows if row[5] in wanted or row[6] == "undo"]
        else:
            rows = list(compress(rows, map(wanted.__contains__, map(itemgetter(5), rows))))
    for k, (ident, at, _at_day, _offset, date, task, action, qty, place, _by, ref, note,
            undoes, year) in enumerate(rows):
        day = days[date]
        if not checked:
            if not new(ident):
                slots.append(_Later(path, lines.entry(name, k, shared), fold.next()))
                continue
            if not ((int(year) if year else day.year) in years and task in tasks
                    and (not place or place in places)):
                entry = lines.entry(name, k, shared)
                if counts(path, entry):
                    add(entry)
                continue
        if action != "undo" and ident not in undoable:
            if day <= as_of and task in wanted:
                fold_one(fold.next(), ident, at, day, task, _ACTIONS[action],
                         int(qty) if qty else None, places[place] if place else None,
                         ref or None, note[1:-1] if note else None)
        else:
            take(fold.next(), ident, at, day, task, _ACTIONS[action], int(qty) if qty else None,
                 places[place] if place else None, ref or None, note[1:-1] if note else None,
                 undoes or None)


def _all_count(lines: Written, years: frozenset[int], tasks: dict[str, Any],
               places: dict[str, Any]) -> bool:
    """Whether every entry of `lines` counts as `_fold_written` checks one: of a year the plan
    counts, a task it has and a known place or none (found for the texts they share)."""
    rows, days = lines.rows, lines.days
    named, at = set(map(itemgetter(5), rows)), set(map(itemgetter(8), rows))
    at.discard("")
    if named.difference(tasks) or at.difference(places):  # by looking up each in the dict
        return False
    if set(map(itemgetter(13), rows)) == {""}:  # no `plan` key: each date's year
        return all(days[date].year in years for date in lines.dates)
    return all((int(year) if year else days[date].year) in years
               for year, date in set(map(itemgetter(13, 4), rows)))


_FEW = 1 << 18  # ids whose hashes `_Hashes` keeps in a set


class _Hashes:
    """A set of the hashes of texts: a Python set while there are few (a piece's are checked
    at once), then an array at most two thirds full: 12 bytes a text where a set takes some
    seventy."""

    def __init__(self, expected: int = 0) -> None:
        self.expected = expected
        self.few: set[int] | None = set()
        self.table: Any = None  # an array of the hashes, once past the few
        self.count = 0

    def add(self, text: str) -> bool:
        """Whether the hash of `text` is new (then added)."""
        few = self.few
        if few is not None:
            found = hash(text)
            if found in few:
                return False
            few.add(found)
            if len(few) > _FEW:
                self._spread()
            return True
        table = self.table
        mask = len(table) - 1
        found = hash(text) or 1  # 0 marks a free slot
        at = found & mask
        while (there := table[at]) != found:
            if not there:
                table[at] = found
                self.count += 1
                if self.count * 3 > mask * 2:
                    self._grow()
                return True
            at = (at + 1) & mask
        return False

    def add_all(self, texts: list[str]) -> bool:
        """Whether the hashes of `texts` are all new and none twice (then all added); else
        none is added. Always False past the few (each is then added with `add`)."""
        few = self.few
        if few is None:
            return False
        found = set(map(hash, texts))
        if len(found) != len(texts) or not few.isdisjoint(found):
            return False
        few |= found
        if len(few) > _FEW:
            self._spread()
        return True

    def _spread(self) -> None:
        """From the set to the array, sized for the texts expected."""
        few, self.few = self.few or set(), None
        self.count = len(few)
        self._fill(max(self.expected, 2 * len(few)), (found or 1 for found in few))

    def _grow(self) -> None:
        old = self.table
        self._fill(len(old), (found for found in old if found))

    def _fill(self, expected: int, hashes: Iterable[int]) -> None:
        """A new table for `expected` texts, holding `hashes`."""
        from array import array

        table = self.table = array("q", bytes(8 << max(10, (3 * expected // 2).bit_length())))
        mask = len(table) - 1
        for found in hashes:
            at = found & mask
            while table[at]:
                at = (at + 1) & mask
            table[at] = found


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


class _Later:
    """An entry whose id's hash was seen before, decided once the first of its id is known."""

    __slots__ = ("entry", "order", "path")

    def __init__(self, path: Path, entry: Entry, order: int) -> None:
        self.path, self.entry, self.order = path, entry, order


def _firsts(files: list[Path], whole: set[Path], ids: set[str]) -> dict[str, str]:
    """Where each of `ids` is first read."""
    firsts: dict[str, str] = {}
    for path in files:
        for _found, entries, _rows in _streamed(path, whole):
            for entry in entries:
                if entry.id in ids:
                    firsts.setdefault(entry.id, entry.source)
    return firsts


class _Whole(Exception):
    """A history file that is not all lines as `append` writes them: it is read whole."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


_PIECE = 1 << 18  # bytes of a history file decoded and read at a time


def _streamed(path: Path, whole: set[Path], rows: bool = False
              ) -> Iterator[tuple[list[Problem], list[Entry], Written | None]]:
    """(problems, entries, None) of a history file as `read_history_file` reads it (no
    entries when it cannot be read), a piece at a time; _Whole for a file not in `whole` found
    to have a line `append` would not have written, or bytes that are not plain UTF-8. With
    `rows`, a piece `written` reads is given as that, and no entries: ([], [], written)."""
    if path in whole:
        read, failed = _guarded(path, lambda: read_history_file(path))
        got, found = read or ([], [])
        yield failed + found, got, None
        return
    opened, failed = _guarded(path, lambda: _pieces(path))
    if opened is None:
        yield failed, [], None
        return
    number = 1
    for piece in opened:
        if (piece[:2] in (b"\xff\xfe", b"\xfe\xff") and number == 1) or b"\x00" in piece:
            raise _Whole(path)  # UTF-16, or not text: said as a whole read says it
        try:
            text = piece.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise _Whole(path) from None
        found = written(text, number)
        if found is not None:
            yield ([], [], found) if rows else ([], found.entries(path.name), None)
            number += text.count("\n") + (text[-1:] not in ("", "\n"))  # its lines
            continue
        lines = text.splitlines()
        entries = _json_entries(path, lines, number)
        if entries is None:
            raise _Whole(path)
        yield [], entries, None
        number += len(lines)


def _pieces(path: Path) -> Iterator[bytes]:
    """A history file's bytes, opened and checked as `read_bytes` does, a piece of whole
    lines at a time; _Whole for a file that changes size while read."""
    from ocop_cli.store.yamlio import open_checked

    handle, size = open_checked(path, HISTORY_MAX_BYTES)

    def pieces() -> Iterator[bytes]:
        with handle:
            left, rest = size, b""
            while left > 0:
                piece = handle.read(min(_PIECE, left))
                if not piece:
                    raise _Whole(path)
                left -= len(piece)
                end = piece.rfind(b"\n") + 1 if left else len(piece)
                if end:
                    yield rest + piece[:end]
                    rest = piece[end:]
                else:
                    rest += piece
            if rest:
                yield rest
            if handle.read(1):
                raise _Whole(path)  # it grew: read whole, as `read_bytes` reads it

    return pieces()


def _undoable(files: list[Path], whole: set[Path]) -> set[str]:
    """Every id an undo in `files` may name: more than that at times, never fewer. An undo's
    line holds `undo`, or a backslash if it spells it with an escape; such a line that is not
    a whole JSON object as `append` writes it has its file read whole."""
    import json

    found: set[str] = set()
    for path in files:
        try:
            pieces = None if path in whole else _guarded(path, lambda path=path: _pieces(path))[0]
            if pieces is None:
                raise ValueError("read whole")
            lines = (line for piece in pieces if b"undo" in piece or b"\\" in piece
                     for line in _lines_with(piece.removeprefix(b"\xef\xbb\xbf"),
                                             (b"undo", b"\\")))
            for line in lines:
                text = line.decode("utf-8")
                if len(text.splitlines()) > 1:
                    raise ValueError("a line break other than a newline")
                if not text.startswith("- {"):
                    if text.strip() and not text.lstrip().startswith("#"):
                        raise ValueError("not as written by ocop")
                    continue  # a comment
                record = json.loads(text[2:])
                undoes = record.get("undoes") if type(record) is dict else ()
                if undoes is None:
                    continue
                if type(undoes) is not str:
                    raise ValueError("not as written by ocop")
                found.add(undoes)
        except (ValueError, RecursionError, _Whole):  # UnicodeDecodeError, JSON's errors too
            for _problems, entries, _rows in _streamed(path, whole | {path}):
                found.update(e.undoes for e in entries if e.action == "undo" and e.undoes)
    return found


def _lines_with(raw: bytes, words: tuple[bytes, ...]) -> Iterator[bytes]:
    """The lines of `raw` (ended by a newline) that hold any of `words`, each once."""
    last = -1
    for at in sorted({at for word in words for at in _finds(raw, word)}):
        if at <= last:
            continue  # in the line given last
        begin = raw.rfind(b"\n", 0, at) + 1
        end = raw.find(b"\n", at)
        last = len(raw) if end < 0 else end
        yield raw[begin:last]


def _finds(raw: bytes, word: bytes) -> Iterator[int]:
    at = raw.find(word)
    while at >= 0:
        yield at
        at = raw.find(word, at + 1)


def duplicate(path: Path, entry: Entry, first: str) -> Problem:
    return Problem(str(path), _("entry {id} appears twice (also at {first}); counted once").format(
        id=entry.id, first=first), *_line_of(entry), warning=True)


def _task_gone(path: Path | str, entry: Entry, plan: Plan | None) -> list[Problem]:
    if plan is None:
        message = _("entry {id} is for plan {year}, which this workspace does not have").format(
            id=entry.id, year=entry.plan_year)
    elif plan.task(entry.task) is None:
        message = _("entry {id} is for task {task}, which the plan does not have").format(
            id=entry.id, task=entry.task)
    else:
        return []
    return [Problem(str(path), message, *_line_of(entry), task=entry.task, warning=True)]


def _line_of(entry: Entry) -> tuple[int | None, None]:
    line = entry.source.rpartition(":")[2]
    return (int(line) if line.isdigit() else None), None


def read_history_file(path: Path) -> tuple[list[Entry], list[Problem]]:
    from ocop_cli.store.yamlio import decode, read_bytes

    text = decode(path, read_bytes(path, HISTORY_MAX_BYTES))
    lines = text.splitlines()
    quick = plain_entries(path, lines)
    if quick is not None:
        return quick, []
    problems: list[Problem] = []
    entries: list[Entry] = []
    shared: dict[Any, Any] = {}
    # Line by line, keeping only the entries: a file of 12,000 entries held as parsed
    # records too would take 60 MB at its peak.
    for number, record in flow_records(path, lines, problems):
        entry = None if record is BY_HAND else _plain_entry(record, f"{path.name}:{number}",
                                                              shared)
        if entry is None:
            return _checked_entries(path, text, lines)
        entries.append(entry)
    return entries, problems


BY_HAND = object()
_CHUNK = 2000  # lines parsed at a time by `plain_entries`: its records never pile up


def plain_entries(path: Path, lines: list[str], first: int = 1) -> list[Entry] | None:
    """The entries of `lines` (starting at line `first`) when every line is blank, a comment
    or an entry exactly as `append` writes it; None when any is not, and the lines are then
    read one by one (`flow_records`), which says what is wrong with them.

    What it gives is what `flow_records` and `_plain_entry` give line by line, read faster:
    the entry lines of a chunk are parsed as one JSON array. That array holds one flat object
    per line exactly when each line is one (a value in a line cannot reach into the next, nor
    two objects share a line, without some object holding a list or another object, which no
    entry does), and a key written twice or otherwise than `"key":` sends the lines back."""
    found = written("\n".join(lines), first)
    if found is not None:
        return found.entries(path.name)
    return _json_entries(path, lines, first)


def _json_entries(path: Path, lines: list[str], first: int) -> list[Entry] | None:
    """`plain_entries` for lines the regular expression does not read whole: as JSON."""
    import json

    shared: dict[Any, Any] = {}
    name = path.name
    numbers = [number for number, line in enumerate(lines, first) if line.startswith("- {")]
    if len(numbers) != len(lines) and any(
            line.strip() and not line.lstrip().startswith("#")
            for line in lines if not line.startswith("- {")):
        return None
    body = [line[2:] for line in lines if line.startswith("- {")]
    entries: list[Entry] = []
    for start in range(0, len(body), _CHUNK):
        chunk = body[start:start + _CHUNK]
        text = "[" + ",".join(chunk) + "]"
        try:
            records = json.loads(text, object_pairs_hook=_once)
        except (ValueError, RecursionError):
            return None
        if len(records) != len(chunk) or not _keys_as_written(text, records):
            return None
        found = [_plain_entry(record, f"{name}:{number}", shared)
                 for record, number in zip(records, numbers[start:start + _CHUNK], strict=True)]
        if None in found:
            return None
        entries += found  # type: ignore[arg-type]
    return entries


# A line exactly as `append` writes it (keys in `Entry.to_record`'s order), whose values
# `_plain_entry` takes: texts without escapes or control characters (JSON's text is then the
# value), not empty and without space around where it wants that; a time as ISO writes it,
# within its ranges. `written` checks the rest: the days exist, no offset is "-00:00". Every
# group that may be left out matches something when it is there (the note with its quotes).
_STRING = r'"[^"\\\x00-\x1f]*"'
_TEXT = r'"([^"\\\x00-\x1f\s](?:[^"\\\x00-\x1f]*[^"\\\x00-\x1f\s])?)"'
_HOURS = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
_WRITTEN = re.compile(
    r'^- \{"id": ' + _TEXT + r', "at": "(([0-9]{4}-[0-9]{2}-[0-9]{2})T' + _HOURS +
    r':[0-5][0-9](?:\.[0-9]{6})?([+-]' + _HOURS + r')?)"'
    r', "date": "([0-9]{4}-[0-9]{2}-[0-9]{2})", "task": ' + _TEXT +
    r', "action": "(' + "|".join(ACTIONS) + r')"'
    r'(?:, "qty": (0|[1-9][0-9]{0,17}))?(?:, "place": ' + _TEXT + r')?, "by": ' + _TEXT +
    r'(?:, "ref": ' + _TEXT + r')?(?:, "note": (' + _STRING + r'))?(?:, "undoes": ' + _TEXT +
    r')?(?:, "plan": (19[0-9]{2}|2[01][0-9]{2}|2200))?\}$', re.M)
# Line breaks other than a newline (`str.splitlines` breaks at them), and a line that is not
# plainly blank, a comment or an entry: where either is, the lines are read one by one.
_OTHER_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_OTHER_LINE = re.compile(r"\n(?!- \{|[ \t]*(?:#|\n|$))")  # in a text after a newline


class Written:
    """The entry lines of a text read by `_WRITTEN` alone (`written`): each line's groups
    (`rows`: "" for a group left out), the days they name (the texts of their dates:
    `dates`), and their line numbers."""

    __slots__ = ("_numbers", "dates", "days", "first", "rows", "text")

    def __init__(self, text: str, first: int, rows: list[tuple[str, ...]],
                 days: dict[str, dt.date], dates: set[str]) -> None:
        self.text, self.first, self.rows, self.days = text, first, rows, days
        self.dates = dates
        self._numbers: list[int] | None = None

    def number(self, k: int) -> int:
        """The line number of `rows[k]` (found when first asked: seldom needed)."""
        if self._numbers is None:
            self._numbers = [n for n, line in enumerate(self.text.split("\n"), self.first)
                             if line.startswith("- {")]
        return self._numbers[k]

    def entries(self, name: str) -> list[Entry]:
        """The entry of every row, of the file called `name`."""
        shared: dict[Any, Any] = {}
        return [self.entry(name, k, shared) for k in range(len(self.rows))]

    def entry(self, name: str, k: int, shared: dict[Any, Any]) -> Entry:
        """The entry of `rows[k]`, its texts that repeat one object (`shared`)."""
        key, at, _at_day, _offset, date, task, action, qty, place, by, ref, note, undoes, \
            plan = self.rows[k]
        one = shared.setdefault
        return Entry(key, at, self.days[date], one(task, task), _ACTIONS[action], one(by, by),
                     int(qty) if qty else None, one(place, place) if place else None,
                     ref or None, note[1:-1] if note else None, undoes or None,
                     int(plan) if plan else None, f"{name}:{self.number(k)}")


def written(text: str, first: int = 1) -> Written | None:
    """The entry lines of `text` (starting at line `first`) read by one scan of `_WRITTEN`
    when every line is blank, a comment or matches it (as every line `append` writes does);
    None when any line may be otherwise, and the lines are then read one by one."""
    if any(other in text for other in _OTHER_BREAKS) or _OTHER_LINE.search("\n" + text):
        return None
    rows: list[tuple[str, ...]] = _WRITTEN.findall(text)
    # Each match is a whole line starting "- {": so is every such line when they are as many.
    if len(rows) != text.count("\n- {") + text.startswith("- {"):
        return None
    days: dict[str, dt.date] = {}
    dates = set(map(itemgetter(4), rows))
    for text_day in dates.union(map(itemgetter(2), rows)):
        try:
            days[text_day] = dt.date.fromisoformat(text_day)
        except ValueError:
            return None  # read as JSON, which says no the same way
    if '-00:00"' in text and any(row[3] == "-00:00" for row in rows):
        return None
    return Written(text, first, rows, days, dates)


_SPACED_KEY = re.compile(r'"[ \t]+:')


def _keys_as_written(text: str, records: list[Any]) -> bool:
    """Whether every key of the flat objects `records` (all different, as `_once` sees to)
    is written in `text` as `"key":`, as `_keys_once` wants of each line. Without a
    backslash every quote ends or starts a string: each `":` then ends a key, or starts a
    string that begins with a colon (counted too many: read line by line), and a key spaced
    otherwise is found as such."""
    if any(type(record) is not dict for record in records):
        return False
    written = sum(map(len, records))
    if "\\" not in text:
        return text.count('":') == written and _SPACED_KEY.search(text) is None
    return sum(text.count(key) for key in _KEY_TEXT.values()) == written


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different (json would keep the last of two alike)."""
    record = dict(pairs)
    if len(record) != len(pairs):
        raise ValueError("a key twice")
    return record


def flow_records(path: Path, lines: list[str], problems: list[Problem], first: int = 1
                 ) -> Iterator[tuple[int, Any]]:
    """(line number, record) for each entry written as `append` writes it, one to a line,
    `lines` starting at line `first`; a half-written line is reported in `problems`;
    (0, BY_HAND) for a line in any other form, and nothing after it."""
    import json

    for number, line in enumerate(lines, first):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith("- {"):
            yield 0, BY_HAND
            return
        try:
            record = json.loads(line[2:])
            if type(record) is dict and not _keys_once(line, record):
                raise ValueError("a key twice, or written otherwise")  # YAML says which
        except (ValueError, RecursionError):  # RecursionError: nested too deeply for json
            record = _flow_line(path, line, number)
            if record is None:
                problems.append(Problem(str(path), _(
                    "half-written or damaged entry, ignored (was the machine stopped while "
                    "recording?)"), number, 1, warning=True))
                continue
        yield number, record


def _checked_entries(path: Path, text: str, lines: list[str]
                     ) -> tuple[list[Entry], list[Problem]]:
    """The entries of a file with a line `append` would not have written, read the thorough
    way: as YAML when edited by hand, through pydantic, which says what is wrong."""
    records, problems = line_records(path, text, lines)
    return _entries(path, records, problems)


def line_records(path: Path, text: str, lines: list[str], not_a_list: str | None = None
                 ) -> tuple[list[tuple[int, Any]], list[Problem]]:
    """(line number, record) for each record of a file appended one record to a line (a
    history file, the product register), and the warnings found; a file written or edited
    by hand is read whole as YAML, with its line numbers."""
    from ocop_cli.store.yamlio import read_yaml

    problems: list[Problem] = []
    records = list(flow_records(path, lines, problems))
    if any(record is BY_HAND for _number, record in records):
        doc = read_yaml(path, text)
        if not isinstance(doc.data, list):
            raise InvalidData([Problem(str(path), not_a_list or _(
                "a history file is a list of entries"), 1, 1)])
        records = [(doc.where((i,))[0] or 0, item) for i, item in enumerate(doc.data)]
        problems = []
    return records, problems


def _keys_once(line: str, record: dict[str, Any]) -> bool:
    """Whether each key of a line json read appears in it once (json keeps the last of two
    alike without a word). `"qty":` in a line can only be a key, as a quote inside a JSON
    string is escaped; a key spaced otherwise says no, and the line is then read as YAML,
    which names what is wrong."""
    return sum(line.count(_KEY_TEXT.get(key) or f'"{key}":') for key in record) == len(record)


def _flow_line(path: Path, line: str, number: int) -> Any:
    """One hand-written flow mapping, or None when the line is not a whole entry.

    A line cut short is left out (the caller warns); a whole line that breaks a rule
    (a duplicate key, a tag, an anchor) is an error, as it would be anywhere else."""
    import yaml

    from ocop_cli.store.yamlio import read_yaml

    try:  # blank lines in front, so that every line number in a message is the file's
        data = read_yaml(path, "\n" * (number - 1) + line).data
    except InvalidData:
        try:  # the C parser where there is one: the Python one is slow on deep nesting
            for _event in yaml.parse(line, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
                pass
        except yaml.YAMLError:
            return None  # not even well-formed: cut short
        raise
    return data[0] if isinstance(data, list) and len(data) == 1 else None


_KEYS = frozenset(("id", "at", "date", "task", "action", "by", "qty", "place", "ref", "note",
                   "undoes", "plan"))
_KEY_TEXT = {key: f'"{key}":' for key in _KEYS}


def _plain_entry(record: Any, source: str, shared: dict[Any, Any] | None = None
                 ) -> Entry | None:
    """A line exactly as `append` writes it, checked without pydantic, which takes longer to
    import than a recording takes; None for anything else, and pydantic (`EntryDoc`, the
    authority) then reads the file and says precisely what is wrong.

    `shared` holds one object for each value that repeats (a task id, a recorder, a date)
    across the entries of a file: 100,000 entries then take half the memory."""
    if type(record) is not dict or not record.keys() <= _KEYS:
        return None
    get: Callable[[str], Any] = record.get
    key, at, date, task, by, place, action = (get("id"), get("at"), get("date"), get("task"),
                                              get("by"), get("place"), get("action"))
    if type(key) is not str or not key or key != key.strip() or type(at) is not str:
        return None
    shared = {} if shared is None else shared
    # Text that repeats is checked once: `shared` maps each text found good to itself.
    task, by = _text(task, shared), _text(by, shared)
    if task is None or by is None or type(action) is not str or action not in _ACTIONS:
        return None
    if place is not None and (place := _text(place, shared)) is None:
        return None
    ref, undoes, qty, plan, note = get("ref"), get("undoes"), get("qty"), get("plan"), get("note")
    for value in (ref, undoes):
        if value is not None and (type(value) is not str or not value
                                  or value != value.strip()):
            return None
    if (not (note is None or type(note) is str)
            or not (qty is None or (type(qty) is int and qty >= 0))
            or not (plan is None or (type(plan) is int and 1900 <= plan <= 2200))):
        return None
    try:
        day = shared.get((date,)) if type(date) is str else None
        if day is None:
            if _text(date, {}) is None or len(date) != 10:
                return None
            day = shared[(date,)] = dt.date.fromisoformat(date)
        moment = dt.datetime.fromisoformat(at)
        # As `append` writes it (to the microsecond, .000000 too) or without a fraction.
        if at != moment.isoformat(timespec="microseconds") and at != moment.isoformat():
            return None
    except ValueError:
        return None
    return Entry(key, at, day, task, _ACTIONS[action], by, qty, place, ref, note, undoes, plan,
                 source)


_ACTIONS = {action: action for action in ACTIONS}


def _text(value: Any, shared: dict[Any, Any]) -> str | None:
    """`value` when it is text, not empty, without space around (the one object `shared` has
    for it); else None."""
    if type(value) is not str:
        return None
    found: str | None = shared.get(value)
    if found is None:
        if not value or value != value.strip():
            return None
        found = shared[value] = value
    return found


def _entries(path: Path, records: list[tuple[int, Any]], problems: list[Problem]
             ) -> tuple[list[Entry], list[Problem]]:
    shared: dict[Any, Any] = {}
    quick = [_plain_entry(record, f"{path.name}:{line}", shared) for line, record in records]
    if None not in quick:
        return quick, problems  # type: ignore[return-value]
    from pydantic import TypeAdapter, ValidationError

    from ocop_cli.store.schema import EntryDoc

    adapter = TypeAdapter(list[EntryDoc])
    try:
        docs = adapter.validate_python([r for _, r in records])
    except ValidationError as exc:
        for item in exc.errors():
            loc = item["loc"]
            index = loc[0] if loc and isinstance(loc[0], int) else None
            line = records[index][0] if index is not None else None
            field_name = ".".join(str(x) for x in loc[1:]) or None
            raw = records[index][1] if index is not None else None
            task = str(raw.get("task")) if isinstance(raw, dict) and raw.get("task") else None
            message = item["msg"].removeprefix("Value error, ")
            problems.append(Problem(str(path), message, line, None, task, field_name))
        raise InvalidData(problems) from None
    entries = [
        Entry(id=d.id, at=d.at.isoformat(), date=d.date, task=d.task, action=d.action, by=d.by,
              qty=d.qty, place=d.place, ref=d.ref, note=d.note, undoes=d.undoes, plan=d.plan,
              source=f"{path.name}:{line}")
        for (line, _), d in zip(records, docs, strict=True)
    ]
    return entries, problems


def leftovers(ws: Workspace) -> list[Problem]:
    """Temporary files left by an interrupted write, and a lock whose holder stopped without
    releasing it. Warnings: the data is whole, these are only clutter."""
    problems = []
    for path in sorted(ws.root.rglob("*.tmp")):
        if write.being_written(path):
            continue
        problems.append(Problem(str(path), _("temporary file left by an interrupted write; "
                                             "it can be deleted"), warning=True))
    problems += _held_back(ws)
    owner = ws.state_dir / write.OWNER
    if owner.is_file() and write.lock_is_free(ws):
        try:
            holder = owner.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            holder = _("unknown")
        problems.append(Problem(str(owner), _(
            "lock left by an ocop that stopped while recording ({holder}); the lock is free "
            "again and this file can be deleted").format(holder=holder), warning=True))
    return problems


def _held_back(ws: Workspace) -> list[Problem]:
    """Files `ocop sync` holds back, and why (see `sync.held`)."""
    from ocop_cli.sync.checks import held_problems

    return held_problems(ws.root)
