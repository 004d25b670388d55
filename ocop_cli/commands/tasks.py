"""`ocop tasks`, `show`, `history` and `check`: what the plan's tasks are, and how they stand.

The library is imported inside each command: a help page, a completion or the run of another
command never pays for it.
"""

from enum import StrEnum
from typing import Annotated

import typer

from ocop_cli.commands import complete
from ocop_cli.commands.common import (
    Format,
    FormatOpt,
    Session,
    Sort,
    SortOpt,
    TaskArg,
    agency_named,
    command,
    month_shape,
    plan_month,
)
from ocop_cli.core.query import Filters


class Role(StrEnum):
    lead = "lead"
    partner = "partner"
    any = "any"


class Status(StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    done = "done"
    cancelled = "cancelled"


@command("tasks")
def tasks(
    s: Session,
    month: Annotated[str | None, typer.Option(
        "--month", "-m", metavar="MONTH", callback=month_shape,
        help="Active in this month of the plan: 7, or 2023-07 (a plan over several years "
        "needs the year)")] = None,
    agency: Annotated[str | None, typer.Option(
        "--agency", "-a", metavar="NAME", autocompletion=complete.agencies,
        help="Lead or partner: a name as typed (accents optional) or an id")] = None,
    role: Annotated[Role, typer.Option("--role", help="With --agency: lead, partner or any")
                    ] = Role.any,
    status: Annotated[list[Status] | None, typer.Option(
        "--status", "-s", metavar="STATUS",
        help="Only these (repeatable): not_started, in_progress, done, cancelled")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue tasks")] = False,
    due: Annotated[bool, typer.Option("--due", help="Only tasks due this month")] = False,
    place: Annotated[str | None, typer.Option("--place", metavar="NAME",
                                              autocompletion=complete.agencies,
                                              help="A district unit or agency")] = None,
    grep: Annotated[str | None, typer.Option("--grep", metavar="TEXT", help="Text in the title "
                                             "(accents optional)")] = None,
    fmt: FormatOpt = Format.table,
    sort: SortOpt = Sort.plan,
) -> None:
    """List the plan's tasks with their state, filtered.

    Example: ocop tasks --month 7 --agency "so nn va ptnt" --format json
    """
    from ocop_cli.tracker import views  # start-up: tracker.views, 7 ms, only for listings

    loaded = s.load()
    filters = Filters(
        month=plan_month(loaded.plan, month), role=role.value,
        statuses=tuple(x.value for x in status or ()), overdue=overdue, due=due, grep=grep,
        agency=agency_named(loaded, agency, "--agency", s.as_of).id if agency else None,
        place=agency_named(loaded, place, "--place", s.as_of).id if place else None)
    states, chosen = views.listed_states(loaded, filters, s.as_of)
    views.task_list(loaded, states, filters, fmt.value, s.as_of, s.no_color, sort.value,
                    chosen)


@command("check")
def check(s: Session) -> None:
    """Validate every file of the workspace; list every problem. Exit 0 when clean, 3 if not.

    Example: ocop check --data ./ocop-data
    """
    raise typer.Exit(s.tracker.check())


@command("history")
def history(s: Session,
            task_id: Annotated[str | None, typer.Argument(
                metavar="ID", autocompletion=complete.task_ids,
                help="Only this task and its sub-rows")] = None,
            fmt: FormatOpt = Format.table) -> None:
    """The recorded entries, oldest first; undone ones marked.

    Example: ocop history 1.2 --format csv
    """
    from ocop_cli.tracker import views  # start-up: tracker.views, 7 ms, only for listings

    views.history(s.load(), task_id, fmt.value, s.no_color)


@command("show")
def show(s: Session, task_id: TaskArg, fmt: FormatOpt = Format.table) -> None:
    """Everything about one task. Plan data, state, per-place breakdown and history.

    Example: ocop show 1.2
    """
    from ocop_cli.tracker import views  # start-up: tracker.views, 7 ms, only for listings
    from ocop_cli.tracker.record import find_task  # start-up: tracker.record, 10 ms, only for show

    loaded = s.load()
    task = find_task(loaded.plan, task_id)
    views.show(loaded, s.states(loaded, under=task.id), task.id, fmt.value, s.as_of,
               s.no_color)
