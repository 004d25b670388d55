"""The YAML documents people edit (the agencies, the plans, the product rules): read strictly
(`yamlio`), validated by their model (`schema`), and turned into `model` values, with every
problem at its line and column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ocop_cli.core.directory import Directory
from ocop_cli.core.errors import InvalidData, NotFound, Problem
from ocop_cli.core.i18n import _, format_date
from ocop_cli.core.model import Agency, Plan, Task
from ocop_cli.core.text import fold
from ocop_cli.core.windows import Target, Window, parse_target, parse_window
from ocop_cli.store.yamlio import YamlDoc, read_yaml


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
    # start-up: pydantic, 71 ms, only for a file read without the index
    from pydantic import ValidationError

    doc, problems = _guarded(path, lambda: read_yaml(path))
    if doc is None:
        return None, None, problems
    try:
        return doc, model.model_validate(doc.data), problems
    except ValidationError as exc:
        return doc, None, _validation_problems(doc, exc, label)


def read_agencies(path: Path) -> tuple[Directory | None, list[Problem]]:
    # start-up: store.schema, 216 ms, only for a file read without the index
    from ocop_cli.store.schema import AgenciesDoc

    doc, parsed, problems = read_validated(path, AgenciesDoc, "agencies")
    if parsed is None:
        return None, problems
    agencies = [
        Agency(id=a.id, short=a.short, name=a.name, level=a.level, kind=a.kind,
               aliases=tuple(a.aliases), part_of=a.part_of, members=tuple(a.members),
               duties=tuple(a.duties), notes=tuple(a.notes),
               start=a.start.isoformat() if a.start else None,
               until=a.until.isoformat() if a.until else None,
               successors=tuple(a.successors), code=a.code, email=tuple(a.email))
        for a in parsed.agencies
    ]
    problems += agencies_problems(str(path), agencies, doc.where)
    return (None if problems else Directory(agencies)), problems


def agencies_problems(source: str, agencies: list[Agency], where: Callable[..., Any]
                      ) -> list[Problem]:
    """What the model of one agency cannot see: ids used twice, a spelling that means two
    agencies on the same day, references to ids that are not there. `where` locates a key
    path (("agencies", i, key)) as (line, column)."""
    problems: list[Problem] = []
    ids: dict[str, int] = {}
    owners: dict[str, list[Agency]] = {}
    for i, item in enumerate(agencies):
        if item.id in ids:
            problems.append(Problem(source, _("agency id {id!r} is used twice").format(
                id=item.id), *where(("agencies", i))))
        ids[item.id] = i
        for spelling in {fold(s) for s in item.spellings}:
            others = owners.setdefault(spelling, [])
            other = next((o for o in others if o.id != item.id and _overlap(o, item)), None)
            if other is not None:
                problems.append(Problem(source, _(
                    "{a} and {b} share the spelling {s!r}: a name must mean one agency"
                ).format(a=other.id, b=item.id, s=spelling), *where(("agencies", i))))
            others.append(item)
    for i, item in enumerate(agencies):
        for key, refs in (("members", item.members), ("part_of", [item.part_of]),
                          ("successors", item.successors)):
            for ref in refs:
                if ref is not None and ref not in ids:
                    line, col = where(("agencies", i, key))
                    problems.append(Problem(source, _("unknown agency id {ref!r}").format(
                        ref=ref), line, col, field=key))
    return problems


def _overlap(a: Agency, b: Agency) -> bool:
    """Whether two agencies were in force on a same day (ISO dates order as text)."""
    return (a.start or "") <= (b.until or "9999") and (b.start or "") <= (a.until or "9999")


def read_plan(path: Path, directory: Directory) -> tuple[Plan | None, list[Problem]]:
    doc, problems = _guarded(path, lambda: read_yaml(path))
    if doc is None:
        return None, problems
    parts = _plan_parts(doc)
    if parts is not None:
        try:
            return _plan(path, directory, doc, *parts)
        except _Refused:
            pass  # read again whole, for the model to say everything that is wrong, where
    # start-up: store.schema, 216 ms, only for a file read without the index
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
    _Refused from the tasks on the first problem; None when the rest of the document has one."""
    # start-up: store.schema, 216 ms, only for a file read without the index (pydantic with it)
    from pydantic import TypeAdapter, ValidationError

    from ocop_cli.store.schema import PlanDoc, TaskDoc

    data = doc.data
    items = data.get("tasks") if type(data) is dict else None
    if type(items) is not list:
        return None
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
    reader = _TaskReader(path, directory, doc, parsed)
    if parsed.issuer:
        reader.refer(parsed.issuer, ("issuer",), None)
    tasks = []
    seen: set[str] = set()
    windowed: set[int] = set()  # the tasks that give a window, read or not
    for i, item in enumerate(items):
        if item.id in seen:
            reader.tell(_("task id {id} is used twice").format(id=item.id), ("tasks", i),
                        item.id, "id")
        seen.add(item.id)
        if item.window:
            windowed.add(i)
        tasks.append(reader.task(item, i))
    plan = Plan(number=parsed.number, year=parsed.year, title=parsed.title, tasks=tuple(tasks),
                facts=facts)
    for i, task in enumerate(plan.tasks):
        for message, field_name in _tree_faults(plan, task, i in windowed):
            reader.tell(message, ("tasks", i), task.id, field_name)  # located only when told
    return (None if reader.problems else plan), reader.problems


def _tree_faults(plan: Plan, task: Task, windowed: bool) -> list[tuple[str, str]]:
    """What is wrong with a task's place in the plan: a sub-row without its parent, a leaf
    without a lead or a window (a window given but not read is told already)."""
    faults = []
    if task.parent is not None and plan.task(task.parent) is None:
        faults.append((_("task {id} has no parent task {parent}").format(
            id=task.id, parent=task.parent), "id"))
    if plan.is_leaf(task.id):
        if task.lead is None:
            faults.append((_("a task without sub-rows needs a lead"), "lead"))
        if task.window is None and not windowed:
            faults.append((_("a task without sub-rows needs a window"), "window"))
    return faults


class _TaskReader:
    """The tasks of one plan read into `Task`s: agency names resolved among those in force on
    the plan's date, the same few windows and targets read once, the shares decided, and the
    problems found on the way, each at its line."""

    def __init__(self, path: Path, directory: Directory, doc: YamlDoc, parsed: Any) -> None:
        self.path, self.directory, self.doc, self.parsed = path, directory, doc, parsed
        self.on: dt.date = parsed.dated
        self.problems: list[Problem] = []
        self.known: dict[str, str] = {}  # a plan names the same few agencies thousands of times
        self.windows: dict[str, Window] = {}
        self.targets: dict[str, Target] = {}
        self.levels: set[str] = set()  # the levels a task is shared among, checked once

    def tell(self, message: str, loc: tuple[Any, ...], task: str | None, field: str) -> None:
        line, col = self.doc.where(loc)
        self.problems.append(Problem(str(self.path), message, line, col, task, field))

    def refer(self, text: str, loc: tuple[Any, ...], task: str | None) -> str:
        """The id of the agency `text` names on the plan's date; told when none or several."""
        found = self.known.get(text)
        if found is not None:
            return found
        fits = self.directory.candidates(text, exact=True, on=self.on)
        if len(fits) == 1:
            self.known[text] = fits[0].id
            return fits[0].id
        if fits:
            names = ", ".join(a.short for a in fits)
            message = _("{text!r} fits several agencies: {names}").format(text=text, names=names)
        elif (other := self.directory.candidates(text, exact=True)):
            message = "; ".join(self.directory.ended(a, self.on) for a in other)
        else:
            message = _("unknown agency {text!r}").format(text=text)
            hint = self.directory.suggest(text)
            message += f" ({hint})" if hint else ""
        self.tell(message, loc, task, str(loc[2 if task else 0]))
        return text

    def window(self, item: Any, i: int) -> Window | None:
        if not item.window:
            return None
        found = self.windows.get(item.window)
        if found is None:
            try:
                found = self.windows[item.window] = parse_window(
                    item.window, self.parsed.year, self.parsed.last_year)
            except ValueError as error:
                self.tell(str(error), ("tasks", i, "window"), item.id, "window")
        return found

    def target(self, item: Any, i: int) -> Target | None:
        if not item.target:
            return None
        target = self.targets.get(item.target)
        if target is None:
            target = self.targets[item.target] = parse_target(item.target)
        if item.unit and (clash := target.unit_problem(item.unit)):
            self.tell(clash, ("tasks", i, "target"), item.id, "target")
        return target

    def per_unit(self, item: Any, i: int) -> str | None:
        """The level a task is shared among: `per_unit`, or district for `per_district`;
        told when no unit of that level is in force on the plan's date."""
        level: str | None = item.per_unit or ("district" if item.per_district else None)
        if level is not None and level not in self.levels:
            if not self.directory.units_of(level, self.on):
                none = {"district": _("per_unit: no district-level unit is in force on "
                                      "{date}"),
                        "commune": _("per_unit: no commune-level unit is in force on {date}")}
                self.tell(none[level].format(date=format_date(self.on)) + "; " + _(
                    "add the units to agencies.yaml (ocop import units)"),
                    ("tasks", i, "per_unit" if item.per_unit else "per_district"),
                    item.id, "per_unit")
            self.levels.add(level)
        return level

    def task(self, item: Any, i: int) -> Task:
        target = self.target(item, i)
        level = self.per_unit(item, i)
        task = Task(
            id=item.id, title=item.title, unit=item.unit or (target and target.measure),
            target=target,
            lead=self.refer(item.lead, ("tasks", i, "lead"), item.id) if item.lead else None,
            partners=tuple(self.refer(p, ("tasks", i, "partners", j), item.id)
                           for j, p in enumerate(item.partners)),
            window=self.window(item, i),
            section=item.section, per_district=level == "district", **_notes(item.notes),
            lead_text=item.lead, partners_text=tuple(item.partners),
            products_at=item.products_at, per_unit=level,
        )
        return task._replace(shared_by=self.directory.sharing(task, self.on))


def _notes(notes: list[Any]) -> dict[str, tuple[str, ...]]:
    """A task's notes as `Task` keeps them: a note in both languages ({en, vi}) gives its
    English to `notes` and its Vietnamese to `notes_vi`; a plain one is the same in both."""
    if all(isinstance(note, str) for note in notes):
        return {"notes": tuple(notes)}
    return {"notes": tuple(note if isinstance(note, str) else note.en for note in notes),
            "notes_vi": tuple(note if isinstance(note, str) else note.vi for note in notes)}
