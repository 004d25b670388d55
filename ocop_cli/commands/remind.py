"""`ocop remind`: who must be reminded of what on the as-of date, as a listing, as one
reminder letter (công văn đôn đốc) per agency, or sent by e-mail.

What only the command needs is imported inside it: a help page or another command does not
pay for it.
"""

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from ocop_cli.commands.common import (
    DatedOpt,
    Format,
    FormatOpt,
    NumberOpt,
    Session,
    SignerOpt,
    agency_named,
    aside,
    command,
    parse_date,
    say,
)
from ocop_cli.core.errors import EXIT_NOT_SENT, EXIT_OK, UsageError
from ocop_cli.core.i18n import _, ngettext
from ocop_cli.core.text import visible
from ocop_cli.output import formats
from ocop_cli.output.export import save


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
    output: Annotated[str | None, typer.Option(
        "--output", "-o", metavar="DIR", help="Write one reminder letter (DOCX) per agency "
        "into DIR")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace letters already in DIR")
                     ] = False,
    send: Annotated[bool, typer.Option("--send", help="E-mail each agency its reminder "
                                       "(once: the history keeps what was sent)")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="With --send: say what would "
                                          "be sent, send nothing")] = False,
    reply_by: Annotated[str | None, typer.Option(
        "--reply-by", metavar="DATE", help="The day the letter asks for a report by "
        "(default: 7 days after the as-of date)")] = None,
    number: NumberOpt = None,
    dated: DatedOpt = None,
    signer: SignerOpt = None,
    tasks_only: Annotated[bool, typer.Option("--tasks-only", help="Only the reminders of "
                                             "tasks, no certificate notices")] = False,
    products_only: Annotated[bool, typer.Option(
        "--products-only", help="Only the notices to producers whose OCOP certificates "
        "expire")] = False,
) -> None:
    """Who must be reminded of what, as of the as-of date: tasks overdue (oldest first, with
    the days late and the last report) and tasks due soon, grouped by the agency that answers
    for them (the lead; each district unit for its share); then each producer to be told that
    its OCOP certificates expire (the notice is due, or due within the days asked).

    Example: ocop remind --within 7 --agency "Sở NN và PTNT"
    """
    # start-up: tracker.remind, 106 ms, only for remind (output.notice with it)
    from ocop_cli.output.notice import remind_json, remind_section
    from ocop_cli.tracker.remind import Selection, certificates_due, notices

    days = at_days(at)
    if dry_run and not send:
        raise UsageError(_("--dry-run goes with --send"))
    if tasks_only and products_only:
        raise UsageError(_("give --tasks-only or --products-only, not both"))
    loaded = s.load()
    who = agency_named(loaded, agency, "--agency") if agency else None
    chosen = Selection(within, days, who)
    found = [] if products_only else notices(loaded, s.states(loaded), s.as_of, chosen)
    producers = [] if tasks_only else certificates_due(loaded, s.as_of, chosen)
    letter = _letterhead(s, number, dated, signer, reply_by)
    if output:  # with --send too: the letters are written, then sent
        _write_letters(s, loaded, (found, producers), letter, Path(output), force)
    if send:
        raise typer.Exit(_send(s, loaded, (found, producers), letter, bool(days), dry_run))
    if output:
        return
    part = remind_section(found, s.as_of, producers)
    formats.emit(fmt.value, part.columns, part.rows, remind_json(found, s.as_of, producers),
                 title=part.title, footer=_footer(found, producers), no_color=s.no_color)


def _footer(found: list[Any], producers: list[Any]) -> str:
    """How many agencies are reminded and how many producers told; or that none is."""
    parts = []
    if found:
        parts.append(ngettext("{n} agency to remind", "{n} agencies to remind",
                              len(found)).format(n=len(found)))
    if producers:
        parts.append(ngettext("{n} producer to tell that certificates expire",
                              "{n} producers to tell that certificates expire",
                              len(producers)).format(n=len(producers)))
    return "; ".join(parts) if parts else _("Nothing to remind of.")


Letterhead = tuple[Any, dt.date]  # the office as the options make it, the reply-by day


def _letterhead(s: Session, number: str | None, dated: str | None, signer: str | None,
                reply_by: str | None) -> Letterhead:
    """The office's letterhead as the options make it, and the day a report is asked by;
    a wrong date is refused before anything is written or sent."""
    # start-up: output.office, 22 ms, only for letters
    from ocop_cli.output import office

    day = parse_date(dated, "--dated") if dated else None
    reply = parse_date(reply_by, "--reply-by") if reply_by else \
        s.as_of + dt.timedelta(days=7)
    return office.with_options(office.read(s.workspace.root), number, day, signer), reply


def _write_letters(s: Session, loaded: Any, found: tuple[list[Any], list[Any]],
                   head: Letterhead, folder: Path, force: bool) -> None:
    """One công văn đôn đốc per agency, then one notice per producer, into `folder`."""
    # start-up: tracker.remind, 106 ms, only for remind (output.notice with it)
    from ocop_cli.tracker.remind import letters, producer_letters

    if folder.exists() and not folder.is_dir():
        raise UsageError(_("--output: {path} is not a folder").format(path=folder))
    folder.mkdir(parents=True, exist_ok=True)
    written = letters(loaded, found[0], head[0], s.as_of, head[1]) + \
        producer_letters(loaded, found[1], head[0], s.as_of)
    for letter in written:
        save(folder / letter.file, force, letter.docx, s.workspace.root)
        say(_("{agency}: {path}").format(agency=letter.who, path=folder / letter.file))
    if not written:
        say(_("Nothing to remind of."))


def _send(s: Session, loaded: Any, found: tuple[list[Any], list[Any]], head: Letterhead,
          scheduled: bool, dry_run: bool) -> int:
    """Send (or, dry, say) each agency's reminder and each producer's notice not sent before;
    one line per letter; 1 when a message could not be sent."""
    # start-up: tracker.mail, 26 ms, only for mail (tracker.remind with it)
    from ocop_cli.tracker import mail
    from ocop_cli.tracker.remind import letters, producer_letters, send, unnotified, unsent

    server = None if dry_run else mail.server()
    todo = letters(loaded, unsent(loaded, found[0], scheduled), head[0], s.as_of, head[1]) + \
        producer_letters(loaded, unnotified(found[1]), head[0], s.as_of)
    results = send(s.tracker, todo, server, s.as_of)
    for result in results:
        to, n = ", ".join(result.to), result.tasks
        if result.problem == "no address":
            aside(ngettext("{agency}: no e-mail address in agencies.yaml; {n} reminder not sent",
                           "{agency}: no e-mail address in agencies.yaml; {n} reminders not "
                           "sent", n).format(agency=result.agency, n=n))
        elif result.problem:
            aside(_("{agency}: not sent to {to}: {reason}").format(
                agency=result.agency, to=to, reason=visible(result.problem)))
        elif dry_run:
            say(ngettext("{agency}: would send {n} reminder to {to}",
                         "{agency}: would send {n} reminders to {to}", n).format(
                agency=result.agency, n=n, to=to))
        else:
            say(ngettext("{agency}: sent {n} reminder to {to}",
                         "{agency}: sent {n} reminders to {to}", n).format(
                agency=result.agency, n=n, to=to))
    if all(r.problem == "no address" for r in results):
        say(_("Nothing new to send."))
    failed = [r for r in results if r.problem and r.problem != "no address"]
    return EXIT_NOT_SENT if failed else EXIT_OK
