"""`ocop remind`: who must be reminded of what on the as-of date, as a listing, as one
reminder letter (công văn đôn đốc) per agency, or sent by e-mail.

The library is imported inside the command: a help page or another command never pays for it.
"""

from typing import Annotated

import typer

from ocop_cli.commands.common import (
    Format,
    FormatOpt,
    Session,
    agency_named,
    command,
)
from ocop_cli.core.errors import UsageError
from ocop_cli.core.i18n import _, ngettext


def at_days(text: str | None) -> tuple[int, ...]:
    """`--at 7,3,1`: days before the due date, each a whole number from 0 to 366."""
    if not text:
        return ()
    try:
        days = tuple(int(part) for part in text.split(","))
    except ValueError:
        days = (-1,)
    if any(not 0 <= day <= 366 for day in days):
        raise UsageError(_("--at: {text!r} is not a list of days such as 7,3,1").format(
            text=text))
    return days


@command("remind")
def remind(
    s: Session,
    within: Annotated[int, typer.Option("--within", min=0, max=366, metavar="N",
                                        help="Tasks due within N days (default 7)")] = 7,
    at: Annotated[str | None, typer.Option("--at", metavar="DAYS",
                                           help="Tasks due exactly so many days ahead, "
                                           "e.g. 7,3,1 (for a schedule run daily)")] = None,
    agency: Annotated[str | None, typer.Option("--agency", "-a",
                                               help="Only the reminders to this agency")
                      ] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Who must be reminded of what, as of the as-of date: tasks overdue (oldest first, with
    the days late and the last report) and tasks due soon, grouped by the agency that answers
    for them (the lead; each district unit for its share).

    Example: ocop remind --within 7 --agency "Sở NN và PTNT"
    """
    from ocop_cli.output import formats
    from ocop_cli.output.notice import remind_json, remind_section
    from ocop_cli.tracker.remind import Selection, notices

    days = at_days(at)
    loaded = s.load()
    who = agency_named(loaded, agency, "--agency") if agency else None
    found = notices(loaded, s.states(loaded), s.as_of, Selection(within, days, who))
    part = remind_section(found, s.as_of)
    footer = ngettext("{n} agency to remind", "{n} agencies to remind", len(found)).format(
        n=len(found)) if found else _("Nothing to remind of.")
    formats.emit(fmt.value, part.columns, part.rows, remind_json(found, s.as_of),
                 title=part.title, footer=footer, no_color=s.no_color)
