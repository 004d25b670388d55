"""The YAML documents people edit (the agencies, the plans, the product rules): read strictly
(`yamlio`), validated by their model (`schema`), and turned into `model` values, with every
problem at its line and column.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocop_cli.core.errors import InvalidData, NotFound, Problem
from ocop_cli.core.i18n import _
from ocop_cli.core.model import Plan, Task

if TYPE_CHECKING:
    from ocop_cli.core.directory import Directory
    from ocop_cli.core.windows import Window
    from ocop_cli.store.yamlio import YamlDoc


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
               duties=tuple(a.duties), notes=tuple(a.notes), email=tuple(a.email))
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
            pass  # read again whole, for the model to say everything that is wrong, where
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
