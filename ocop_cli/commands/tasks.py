"""`ocop tasks`, `show`, `history` and `check`: what the plan's tasks are, and how they stand.

The library is imported inside each command: a help page, a completion or the run of another
command never pays for it.
"""

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

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
    from ocop_cli.core.query import Filters, select_without_states
    from ocop_cli.store import index

    filters: Filters | None = None
    chose: tuple[Any, Any] = (None, None)  # a plan, and the tasks the filters chose in it

    def filters_of(loaded: Any) -> Filters:
        """The filters, reading the plan's years and the agencies the first time."""
        nonlocal filters
        if filters is None:
            filters = Filters(
                month=plan_month(loaded.plan, month), role=role.value,
                statuses=tuple(x.value for x in status or ()), overdue=overdue, due=due,
                grep=grep, agency=agency_named(loaded, agency, "--agency").id if agency else None,
                place=agency_named(loaded, place, "--place").id if place else None)
        return filters

    def shown(loaded: Any) -> Any:
        """The tasks of `loaded`'s plan the filters choose without looking at states (None
        when they look)."""
        nonlocal chose
        if chose[0] is not loaded.plan:
            chose = loaded.plan, select_without_states(loaded.plan, loaded.directory,
                                                       filters_of(loaded))
        return chose[1]

    def listed() -> tuple[Any, Any, Any]:
        """A load, the states the listing shows and the tasks chosen without states."""
        # Without the index, only the chosen tasks' states are made from the history.
        loaded = s.load(summary=True, shown=shown)
        chosen = shown(loaded)
        only = None if chosen is None else {t.id for t in chosen}
        return loaded, s.states(loaded, summary=True, only=only), chosen

    # JSON: printed again as the index keeps it for the same filters and day, or made and kept.
    listing = index.listing(s.workspace, s.year) if fmt is Format.json else None
    if listing is not None:
        from ocop_cli.output.render import stdout

        def made() -> Iterable[str]:  # the rows, as without the text kept
            from ocop_cli.tracker import views

            loaded, states, chosen = listed()
            return views.task_json_lines(loaded, states, filters_of(loaded), s.as_of,
                                         sort.value, chosen)

        if listing.print_json(filters_of(listing), sort.value, s.as_of, made, stdout()):
            return
    from ocop_cli.tracker import views

    loaded, states, chosen = listed()
    views.task_list(loaded, states, filters_of(loaded), fmt.value, s.as_of, s.no_color,
                    sort.value, chosen)


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
    from ocop_cli.tracker import views

    views.history(s.load(), task_id, fmt.value, s.no_color)


@command("show")
def show(s: Session, task_id: TaskArg, fmt: FormatOpt = Format.table) -> None:
    """Everything about one task. Plan data, state, per-place breakdown and history.

    Example: ocop show 1.2
    """
    from ocop_cli.tracker import views
    from ocop_cli.tracker.record import find_task

    loaded = s.load()
    task = find_task(loaded.plan, task_id)
    views.show(loaded, s.states(loaded, under=task.id), task.id, fmt.value, s.as_of,
               s.no_color)
