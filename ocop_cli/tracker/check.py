"""`ocop check`: every problem of every file of the workspace, not only the first: the
agencies, each plan, the history, the product register and its rules, the letterhead, git's
attributes, and what an interrupted write or sync left behind."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ocop_cli.core.errors import InvalidData, NotFound, Problem
from ocop_cli.core.i18n import _, format_date
from ocop_cli.core.labels import stage_label, step_label
from ocop_cli.core.model import Entry, Plan
from ocop_cli.core.state import file_of, foreign_undos
from ocop_cli.output import office
from ocop_cli.store.documents import read_agencies, read_plan
from ocop_cli.store.history import line_of, read_history, task_gone
from ocop_cli.store.index.audit import differences
from ocop_cli.store.lines import damaged
from ocop_cli.store.storage import Workspace, owner, stale_lock, temporary_files
from ocop_cli.sync.checks import attribute_problems, held_problems
from ocop_cli.tracker import products


def validate(ws: Workspace) -> list[Problem]:
    """Every problem in every file of the workspace, warnings included."""
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
        entries, found = read_history(ws.history_files(), None, frozenset(), directory)
        problems += found
        spans = {year: plan.last_year for year, plan in read.items()}
        for entry in entries:
            problems += task_gone(ws.history_dir / file_of(entry), entry,
                                  read.get(owner(spans, entry.plan_year) or entry.plan_year))
        problems += undos_of_others(ws, entries)
    if directory is not None:
        problems += register_checked(ws, directory)
    problems += office.check(ws.root)[1]
    problems += attribute_problems(ws.root)
    problems += differences(ws)  # the index against the files it was made from
    problems = [p._replace(warning=False) if p.warning and damaged(p) else p for p in problems]
    return problems + temporary_files(ws) + held_problems(ws.root) + stale_lock(ws)


def undos_of_others(ws: Workspace, entries: list[Entry]) -> list[Problem]:
    """A warning for each undo that names another file's entry: it takes nothing back."""
    return [Problem(str(ws.history_dir / file_of(undo)), _(
        "undo {id} names entry {undone} of history/{other}, another office's file: an undo "
        "takes back only an entry of its own file, so it counts for nothing").format(
            id=undo.id, undone=undo.undoes, other=other), *line_of(undo), task=undo.task,
        warning=True) for undo, other in foreign_undos(entries)]


def register_checked(ws: Workspace, directory: Any) -> list[Problem]:
    """The product register's problems, and, when it reads, each product's stages in the
    order the process of its date allows (a line written by hand may skip one)."""
    problems = products.register_problems(ws, directory)
    if any(not p.warning for p in problems):
        return problems
    try:
        lines, rules, _warnings = products.load_register(ws, directory)
        products.products_as_of(lines, rules, dt.date.max)  # an expiry past the calendar
    except (InvalidData, NotFound) as error:
        return problems + (getattr(error, "problems", None) or [Problem(str(ws.root),
                                                                        error.message)])
    return problems + stage_order(ws, lines, rules)


def stage_order(ws: Workspace, lines: list[products.Line], rules: products.Rules
                ) -> list[Problem]:
    """A problem for each stage that does not follow from the one before it, as the
    lines in force have it, under the process in force on each line's date (`Rules.process_on`):
    a `recognised` with no score, a `sent` before `chosen`."""
    found = []
    where: dict[str, str] = {}
    for line in products.live(lines):
        following = rules.process_on(line.date).next
        if line.action == "registered":
            where.setdefault(line.product, "registered")
            continue
        if line.action == "notified":  # a notice of expiry is no stage
            continue
        position = where.get(line.product)
        if position is None:
            continue  # a stage of no registered product: `register_problems` says so
        step = f"scored:{line.council}" if line.action == "scored" else line.action
        if step not in following.get(position, ()):
            file, _colon, number = line.source.rpartition(":")
            allowed = ", ".join(map(step_label, following.get(position, ()))) or _("nothing")
            found.append(Problem(str(ws.root / file), _(
                "product {id}: {stage} on {date} skips a stage: after {before} comes only "
                "{allowed}").format(id=line.product, stage=stage_label(line.action),
                                    date=format_date(line.date),
                                    before=step_label(position), allowed=allowed),
                int(number) if number.isdigit() else None))
        where[line.product] = step
    return found

