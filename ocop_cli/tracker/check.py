"""`ocop check`: every problem of every file of the workspace, not only the first: the
agencies, each plan, the history, the product register and its rules, the letterhead, git's
attributes, and what an interrupted write or sync left behind."""

from __future__ import annotations

from ocop_cli.core.errors import Problem
from ocop_cli.core.i18n import _
from ocop_cli.core.model import Plan
from ocop_cli.store.documents import read_agencies, read_plan
from ocop_cli.store.history import read_history, task_gone
from ocop_cli.store.index.audit import differences
from ocop_cli.store.storage import Workspace, owner, stale_lock, temporary_files


def validate(ws: Workspace) -> list[Problem]:
    """Every problem in every file of the workspace, warnings included."""
    from ocop_cli.output import office
    from ocop_cli.sync.checks import attribute_problems, held_problems
    from ocop_cli.tracker.products import register_problems

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
            problems += task_gone(ws.history_dir / entry.source.rpartition(":")[0], entry,
                                  read.get(owner(spans, entry.plan_year) or entry.plan_year))
    if directory is not None:
        problems += register_problems(ws, directory)
    problems += office.check(ws.root)[1]
    problems += attribute_problems(ws.root)
    problems += differences(ws)  # the index against the files it was made from
    return problems + temporary_files(ws) + held_problems(ws.root) + stale_lock(ws)

