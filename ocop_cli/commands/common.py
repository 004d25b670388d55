"""What every command module shares: the root `app` they register on, the `Session` (the
options every command takes, and the `Tracker` they open), the `command` decorator that adds
those options and turns any `OcopError` into one message on stderr and its exit code, the
options several areas take, and how messages and outcomes are said.

A help page, a usage error or a shell completion never needs the workspace, so `storage`
and the office's letterhead are imported where they are used (each import says what it
saves); the cheap rest is imported here.
"""

import contextlib
import datetime as dt
import functools
import inspect
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ocop_cli.commands import complete
from ocop_cli.commands.helptext import LocalCommand, LocalGroup, error_lines
from ocop_cli.core.errors import OcopError, Refused
from ocop_cli.core.i18n import _, set_language
from ocop_cli.core.text import visible
from ocop_cli.core.windows import read_month
from ocop_cli.output.render import stderr, stdout
from ocop_cli.tracker.tracker import Tracker, parse_date, plan_month
from ocop_cli.tracker.tracker import agency_named as _agency_named

if TYPE_CHECKING:
    from ocop_cli.core.model import Agency
    from ocop_cli.core.report import Report
    from ocop_cli.store.storage import Loaded
    from ocop_cli.tracker.record import Outcome

# The commands read every date and month through the library's readers.
__all__ = ["parse_date", "plan_month"]

app = typer.Typer(
    name="ocop",
    cls=LocalGroup,
    help="Track the OCOP implementation plan of Hải Dương (Kế hoạch 1819/KH-UBND) from plain "
    "YAML files.",
    epilog="Run 'ocop COMMAND -h' for the options of a command and an example. Examples: "
    "ocop tasks --month 7; ocop done 5 --ref 123/BC-SNN; ocop info",
    add_completion=True,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"


class Sort(StrEnum):
    plan = "plan"
    urgency = "urgency"


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"
    xlsx = "xlsx"
    html = "html"
    docx = "docx"
    pdf = "pdf"


class Session:
    """The options every command shares, and the tracker they open on the workspace (found
    the first time a command asks for it)."""

    def __init__(self, data: str | None, plan: int | None, as_of: str | None,
                 no_color: bool) -> None:
        self.data = data
        self.year = plan
        self.as_of = parse_date(as_of, "--as-of") if as_of else dt.date.today()
        self.no_color = no_color
        self._workspace: Any = None
        self._tracker: Tracker | None = None

    @property
    def workspace(self) -> Any:
        # start-up: store.storage, 3 ms, only for a command that opens its workspace
        from ocop_cli.store import storage

        if self._workspace is None:
            self._workspace = storage.locate(self.data)
            if self._workspace.created:
                say(_("Created your workspace in {root} from the bundled 2019 plan.").format(
                    root=self._workspace.root), err=True)
        return self._workspace

    @property
    def tracker(self) -> Tracker:
        if self._tracker is None:
            self._tracker = Tracker(self.workspace, self.year, self.as_of, tell=aside)
        return self._tracker

    def load(self) -> Any:
        """See `Tracker.load`."""
        return self.tracker.load()

    def states(self, loaded: Any, under: str | None = None) -> Any:
        """See `Tracker.states`."""
        return self.tracker.states(loaded, under)


def agency_named(loaded: "Loaded", name: str, option: str,
                 as_of: dt.date | None = None) -> "Agency":
    """The agency a name means (said on stderr when taken as another: see the library's)."""
    return _agency_named(loaded, name, option, aside, as_of)


def month_shape(text: str | None) -> str | None:
    """`--month` is 7 or 2023-07 (which year fits is known once the plan is loaded)."""
    if text is not None:
        try:
            read_month(text)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None
    return text


def say(message: str, err: bool = False) -> None:
    stream = stderr() if err else stdout()
    stream.write(visible(message) + "\n")


def aside(message: str) -> None:
    """What the library notices on the way (a name taken as another), said on stderr."""
    say(message, err=True)


def told(outcome: "Outcome[Any]") -> None:
    """A recording's outcome: what it did on stdout, its warnings on stderr."""
    for message in outcome.messages:
        say(message)
    for warning in outcome.warnings:
        say(_("warning: {message}").format(message=warning), err=True)


def fail(error: OcopError) -> None:
    stderr().write(error_lines(error.message, error.hint))
    raise typer.Exit(error.exit_code)


# --- options ---------------------------------------------------------------------------------

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, json, csv or md")]
SortOpt = Annotated[Sort, typer.Option("--sort", help="plan: the plan's order (TT); urgency: "
                                       "overdue first, then due")]
ByOpt = Annotated[str | None, typer.Option("--by", metavar="NAME", help="Who reports it "
                                           "(default: OCOP_USER, git user.name, login)")]
RefOpt = Annotated[str | None, typer.Option("--ref", metavar="TEXT",
                                            help="Proof: a document number")]
NoteOpt = Annotated[str | None, typer.Option("--note", metavar="TEXT", help="A remark")]
DateOpt = Annotated[str | None, typer.Option("--date", metavar="DATE",
                                             help="When it took effect, YYYY-MM-DD or "
                                             "DD/MM/YYYY (default: the as-of date)")]
TaskArg = Annotated[str, typer.Argument(metavar="ID", autocompletion=complete.task_ids,
                                        help="Task id, e.g. 5 or 1.2")]

# Who signs the document, and its number and date: the same for every report that is one.
NumberOpt = Annotated[str | None, typer.Option(
    "--number", metavar="TEXT", help="The document's number, e.g. 45 or 45/BC-SNN (default: a "
    "blank to fill in)")]
DatedOpt = Annotated[str | None, typer.Option(
    "--dated", metavar="DATE", help="The day it is signed (default: a blank to fill in)")]
SignerOpt = Annotated[str | None, typer.Option(
    "--signer", metavar="NAME", help="Who signs it (default: office.yaml's signer)")]


def letter_of(s: Session, doc: "Report", number: str | None = None,
              dated: str | None = None, signer: str | None = None,
              issuer: str | None = None) -> Callable[[], Any]:
    """The document's letterhead, made when a document asks for it (a wrong --dated is
    refused before anything is written): `issuer`'s (--issuer, named as --agency names), else
    that of the agency the report is for, else office.yaml's; this clone's own fields over
    them; the options over all."""
    day = parse_date(dated, "--dated") if dated else None
    # A wrong --issuer is refused before anything is written, as a wrong --dated is.
    by = agency_named(s.load(), issuer, "--issuer") if issuer else None

    def letter() -> Any:
        # start-up: output.letterheads, 17 ms, only for a report with a letter
        from ocop_cli.output import office
        from ocop_cli.output.letterheads import letterhead

        directory = s.load().directory
        chosen = by or (directory.get(doc.agency.id) if doc.agency else None)
        found = letterhead(s.workspace.root, directory, chosen, chosen=by is not None)
        return office.letter(doc, office.with_options(found, number, day, signer))

    return letter


IssuerOpt = Annotated[str | None, typer.Option(
    "--issuer", metavar="AGENCY", help="Issue the document under this agency's letterhead "
    "(default: the agency the report is for, else office.yaml's)")]


_COMMON = [
    inspect.Parameter("data", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        str | None, typer.Option("--data", envvar="OCOP_DATA", metavar="DIR",
                                 help="Workspace folder (default: the nearest one upward from "
                                 "here, else your per-user one)",
                                 show_envvar=True)]),
    inspect.Parameter("plan", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        int | None, typer.Option("--plan", metavar="YEAR",
                                 help="Which plan of the workspace, e.g. 2019 (default: the "
                                 "latest)")]),
    inspect.Parameter("as_of", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        str | None, typer.Option("--as-of", envvar="OCOP_AS_OF", metavar="DATE",
                                 help="The day the state is computed for, YYYY-MM-DD or "
                                 "DD/MM/YYYY (default: today)")]),
    inspect.Parameter("lang", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[
        str | None, typer.Option("--lang", envvar="OCOP_LANG", metavar="vi|en",
                                 help="Language of messages and help (default: from the "
                                 "locale)")]),
    inspect.Parameter("no_color", inspect.Parameter.KEYWORD_ONLY, default=False,
                      annotation=Annotated[bool, typer.Option(
                          "--no-color", help="No colours (also when NO_COLOR is set)")]),
]


def command(name: str | None = None, *, group: typer.Typer | None = None,
            **settings: Any) -> Callable[[Callable[..., Any]], Any]:
    """Register a command that takes a `Session` first, plus the shared options, on `app` or
    on a sub-command `group` (as `ocop import plan`)."""

    def register(fn: Callable[..., Any]) -> Any:
        # Resolved here, in the command's own module: typer would look the names of a module
        # using `from __future__ import annotations` up in this one, and lose their options.
        signature = inspect.signature(fn, eval_str=True)
        own = list(signature.parameters.values())[1:]

        @functools.wraps(fn)
        def run(**kwargs: Any) -> Any:
            common = {p.name: kwargs.pop(p.name) for p in _COMMON}
            try:
                lang = common.pop("lang")
                if lang:  # else the language read from the arguments before parsing stands
                    set_language(lang)
                session = Session(**common)
                done = fn(session, **kwargs)
                sys.stdout.flush()  # here, where a failure is one message, not at the exit
                return done
            except OcopError as error:
                fail(error)
            except BrokenPipeError:
                sys.stderr.close()
                raise typer.Exit(0) from None
            except OSError as error:  # standard output that takes no more (a full disk)
                if error.filename is not None:  # a file's error that no message names: a bug
                    raise
                with contextlib.suppress(OSError, ValueError):  # what is left goes nowhere
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                fail(Refused(_("cannot write the output: {error}").format(
                    error=error.strerror or error)))
            except KeyboardInterrupt:
                raise typer.Exit(130) from None

        run.__signature__ = signature.replace(parameters=own + _COMMON)  # type: ignore[attr-defined]
        del run.__wrapped__
        settings.setdefault("cls", LocalCommand)
        return (group or app).command(name, **settings)(run)

    return register
