"""The `ocop` command: parse arguments, ask the core, render. Each command is a few lines.

Options every command shares (`--data`, `--plan`, `--as-of`, `--lang`, `--no-color`) are added
by `command`, which also turns any `OcopError` into one message on stderr and its exit code.
"""


import contextlib
import datetime as dt
import functools
import gc
import inspect
import os
import sys
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ocop_cli.commands import complete
from ocop_cli.commands.helptext import LocalCommand, LocalGroup
from ocop_cli.core.errors import OcopError, Refused, UsageError
from ocop_cli.core.i18n import _, set_language

if TYPE_CHECKING:
    from ocop_cli.core.model import Plan

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


class Role(StrEnum):
    lead = "lead"
    partner = "partner"
    any = "any"


class Sort(StrEnum):
    plan = "plan"
    urgency = "urgency"


class Status(StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    done = "done"
    cancelled = "cancelled"


class Session:
    """The options every command shares, and the workspace they point to (found lazily)."""

    def __init__(self, data: str | None, plan: int | None, as_of: str | None,
                 no_color: bool) -> None:
        self.data = data
        self.year = plan
        self.as_of = parse_date(as_of, "--as-of") if as_of else dt.date.today()
        self.no_color = no_color
        self._workspace: Any = None

    @property
    def workspace(self) -> Any:
        from ocop_cli.store import storage

        if self._workspace is None:
            self._workspace = storage.locate(self.data)
            if self._workspace.created:
                say(_("Created your workspace in {root} from the bundled 2019 plan.").format(
                    root=self._workspace.root), err=True)
        return self._workspace

    def load(self, summary: bool = False, shown: Callable[[Any], Any] | None = None) -> Any:
        """The workspace's plan, agencies and history; for a command that needs only the
        `summary` states, the history without the index is read into them, not kept (those
        of the tasks `shown` names, when it names some: see `storage.load`)."""
        from ocop_cli.store import index

        return index.load(self.workspace, self.year, self.as_of if summary else None, shown)

    def states(self, loaded: Any, summary: bool = False, only: set[str] | None = None,
               under: str | None = None) -> Any:
        """Every task's state as of the as-of date; `summary` ones carry no entries and
        come from the index where there is one, which may then give only those of `only`.
        With `under`, only the states of that task and its sub-rows, each replayed from its
        own entries: all a command about one task looks at."""
        from ocop_cli.core.state import state_as_of, subtree

        if under is not None:
            tasks = [t.id for t in subtree(loaded.plan, under)]
            own = loaded.entries_of(tasks)
            return state_as_of(loaded.plan, [e for t in tasks for e in own[t]], self.as_of,
                               under)
        if summary and loaded.index is not None:
            return loaded.index.states(self.as_of, only)
        if summary and (folded := loaded.states(self.as_of)) is not None:
            return folded
        return state_as_of(loaded.plan, loaded.replay(), self.as_of)

    def record(self, decide: Callable[..., Any], by: str | None, task: str | None = None
               ) -> Any:
        """Under the lock: load, decide the entries from the current state, append them.

        With `task`, only the states of that task and its sub-rows are computed: they are all
        a recording about it looks at, and replaying a long history for every task is not.
        Without, none (`undo` looks at the entries only)."""
        from ocop_cli.store import index, write
        from ocop_cli.tracker import record

        ws = self.workspace
        who = record.recorder(by)
        with write.locked(ws):
            loaded = index.load(ws, self.year)
            states = {} if task is None else self.states(loaded, under=task.strip())
            outcome = decide(loaded, states, who)
            if outcome.entries:
                write.append(write.recorder_file(ws, who), outcome.entries, inside=ws.root)
        for message in outcome.messages:
            say(message)
        for warning in outcome.warnings:
            say(_("warning: {message}").format(message=warning), err=True)
        return outcome


def parse_date(text: str, option: str) -> dt.date:
    from ocop_cli.core.i18n import parse_day

    try:
        return parse_day(text)
    except ValueError:
        raise UsageError(_("{option}: {text!r} is not a date; expected YYYY-MM-DD or "
                           "DD/MM/YYYY, e.g. 2019-09-15 or 15/09/2019").format(
                               option=option, text=text)) from None


def agency_named(loaded: Any, name: str, option: str) -> Any:
    """The agency a name means; said on stderr when the name is not one of its spellings, so
    that "Sở Tài Chín" never silently becomes Sở Tài chính."""
    agency = loaded.directory.resolve(name)
    if not loaded.directory.exactly(name, agency):
        say(_("{option} {name!r}: taken as {agency} ({full})").format(
            option=option, name=name, agency=agency.short, full=agency.name), err=True)
    return agency


def month_shape(text: str | None) -> str | None:
    """`--month` is 7 or 2023-07 (which year fits is known once the plan is loaded)."""
    from ocop_cli.core.windows import read_month

    if text is not None:
        try:
            read_month(text)
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None
    return text


def plan_month(plan: "Plan", text: str | None) -> int | None:
    """`--month` as the plan's windows count months (13 is January of its second year)."""
    from ocop_cli.core.windows import month_option

    try:
        return None if text is None else month_option(text, plan.year, plan.last_year)
    except ValueError as error:
        raise UsageError(str(error)) from None


def say(message: str, err: bool = False) -> None:
    from ocop_cli.core.text import visible
    from ocop_cli.output.render import stderr, stdout

    stream = stderr() if err else stdout()
    stream.write(visible(message) + "\n")


def fail(error: OcopError) -> None:
    from ocop_cli.core.text import visible

    lines = [_("error: {message}").format(message=error.message)]
    if error.hint:
        lines.append(error.hint)
    from ocop_cli.output.render import stderr

    stderr().write("".join(f"ocop: {visible(line)}\n" for line in lines))
    raise typer.Exit(error.exit_code)


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


def main() -> None:
    from ocop_cli.output.render import stderr, stdout

    # Before anything is written, help pages and usage errors included: UTF-8 into files and
    # pipes whatever the platform's code page.
    stdout()
    stderr()
    sys.unraisablehook = _quiet_clean_up
    # A run builds tens of thousands of objects that live until it ends and makes few
    # cycles: the collector's default pace (every 700 objects) would look at them again and
    # again, a tenth of a listing's time. Collected less often, as mypy does.
    gc.freeze()
    gc.set_threshold(100_000, 20, 20)
    sys.argv[1:] = [_as_typed(arg) for arg in sys.argv[1:]]
    _only_what_runs(sys.argv[1:])
    try:
        # The same name however it is started (`python -m ocop_cli` too): in usage lines, and
        # in the _OCOP_COMPLETE variable the shell completion scripts set.
        app(prog_name="ocop")
    except OcopError as error:  # pragma: no cover - raised outside a command
        try:
            fail(error)
        except typer.Exit as done:
            sys.exit(done.exit_code)


def _quiet_clean_up(unraisable: Any) -> None:
    """A library's clean-up failing on the same full disk after the error was reported (as
    openpyxl's half-written sheet) adds a traceback and nothing else: leave it out."""
    from ocop_cli.store.write import write_errors

    if not isinstance(unraisable.exc_value, write_errors()):
        sys.__unraisablehook__(unraisable)


def _as_typed(arg: str) -> str:
    """An argument as the person typed it. Under an ASCII locale Python decodes the bytes of
    "Sở" as escapes; terminals send UTF-8, so read them as UTF-8 (bytes that are not UTF-8
    stay escapes and are refused where they are used)."""
    try:
        return os.fsencode(arg).decode("utf-8", "surrogateescape")
    except UnicodeError:
        return arg


def _command_named(args: list[str]) -> str | None:
    """The command a command line runs, or None when it asks the root for help or completion."""
    words = iter(args)
    for word in words:
        if word == "--lang":
            next(words, None)
        elif not word.startswith("--lang="):
            return None if word.startswith("-") else word
    return None


def _only_what_runs(args: list[str]) -> None:
    """Import and build only the command the command line runs.

    Typer turns every registered command into a click command on each run (about 45 ms for
    twenty), and the commands of each area live in a module of their own. Help at the root,
    shell completion and a name that is no command (a typo, for its "did you mean") get all."""
    name = _command_named(args)
    if name is None or any(var.startswith("_OCOP_COMPLETE") for var in os.environ):
        import_commands()
        return
    if name in MODULES:
        import_commands(name)
    elif name not in {c.name for c in app.registered_commands}:
        import_commands()
        return
    app.registered_commands = [c for c in app.registered_commands if c.name == name]
    app.registered_groups = [g for g in app.registered_groups if g.name == name]


@app.callback()
def root(lang: Annotated[str | None, typer.Option(
        "--lang", metavar="vi|en", help="Language of messages and help (default: OCOP_LANG, "
        "else the locale)")] = None) -> None:
    # Read before parsing already (see helptext.LocalGroup.main); here only to be checked.
    try:
        if lang:
            set_language(lang)
    except OcopError as error:
        fail(error)


# --- listing -------------------------------------------------------------------------------

FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, json, csv or md")]
SortOpt = Annotated[Sort, typer.Option("--sort", help="plan: the plan's order (TT); urgency: "
                                       "overdue first, then due")]


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
    from ocop_cli.tracker import views

    raise typer.Exit(views.check(s.workspace))


@command("init")
def init(
    s: Session,
    folder: Annotated[str | None, typer.Argument(help="Where (default: this folder)")] = None,
) -> None:
    """Create a workspace from the bundled 2019 plan.

    Example: ocop init ./ocop-data
    """
    from pathlib import Path

    from ocop_cli.store.storage import init_workspace

    ws = init_workspace(Path(folder or "."))
    say(_("Workspace ready in {root}").format(root=ws.root))


# --- recording -----------------------------------------------------------------------------

ByOpt = Annotated[str | None, typer.Option("--by", metavar="NAME", help="Who reports it "
                                           "(default: OCOP_USER, git user.name, login)")]
RefOpt = Annotated[str | None, typer.Option("--ref", metavar="TEXT",
                                            help="Proof: a document number")]
NoteOpt = Annotated[str | None, typer.Option("--note", metavar="TEXT", help="A remark")]
DateOpt = Annotated[str | None, typer.Option("--date", metavar="DATE",
                                             help="When it took effect, YYYY-MM-DD or "
                                             "DD/MM/YYYY (default: the as-of date)")]
PlaceOpt = Annotated[str | None, typer.Option("--place", "-p", metavar="NAME",
                                              autocompletion=complete.agencies,
                                              help="District unit or agency where it happened")]
TaskArg = Annotated[str, typer.Argument(metavar="ID", autocompletion=complete.task_ids,
                                        help="Task id, e.g. 5 or 1.2")]


def _stamp(s: Session, loaded: Any, who: str, date: str | None, ref: str | None,
           note: str | None) -> Any:
    from ocop_cli.tracker.record import Stamp

    return Stamp(date=parse_date(date, "--date") if date else s.as_of, by=who, ref=ref,
                 note=note, plan=loaded.plan.year, as_of=s.as_of)


def _place(loaded: Any, place: str | None) -> str | None:
    return agency_named(loaded, place, "--place").id if place else None


@command("done")
def done(s: Session, task_id: TaskArg,
         qty: Annotated[int | None, typer.Option("--qty", min=0, metavar="QTY",
                                                 help="Quantity achieved")] = None,
         place: PlaceOpt = None, by: ByOpt = None, ref: RefOpt = None, note: NoteOpt = None,
         date: DateOpt = None) -> None:
    """Mark a task done (a parent: all its open sub-rows).

    Example: ocop done 5 --ref 123/BC-SNN
    """
    from ocop_cli.tracker import record

    s.record(lambda loaded, states, who: record.done(
        loaded, states, task_id, _stamp(s, loaded, who, date, ref, note), qty,
        _place(loaded, place)), by, task_id)


@command("progress")
def progress(s: Session, task_id: TaskArg,
             qty: Annotated[int, typer.Argument(metavar="QTY", min=1, help="How many more")],
             place: PlaceOpt = None, by: ByOpt = None, ref: RefOpt = None, note: NoteOpt = None,
             date: DateOpt = None) -> None:
    """Record part of a task's quantity.

    Example: ocop progress 1.2 5 --place "Gia Lộc"
    """
    from ocop_cli.tracker import record

    s.record(lambda loaded, states, who: record.progress(
        loaded, states, task_id, qty, _stamp(s, loaded, who, date, ref, note),
        _place(loaded, place)), by, task_id)


@command("start")
def start(s: Session, task_id: TaskArg, by: ByOpt = None, ref: RefOpt = None,
          note: NoteOpt = None, date: DateOpt = None) -> None:
    """Mark a task started.

    Example: ocop start 2
    """
    from ocop_cli.tracker import record

    s.record(lambda loaded, states, who: record.start(
        loaded, states, task_id, _stamp(s, loaded, who, date, ref, note)), by, task_id)


@command("reopen")
def reopen(s: Session, task_id: TaskArg, by: ByOpt = None, ref: RefOpt = None,
           note: NoteOpt = None, date: DateOpt = None) -> None:
    """Reopen a task that was done or cancelled.

    Example: ocop reopen 4 --note "thiếu bản in"
    """
    from ocop_cli.tracker import record

    s.record(lambda loaded, states, who: record.reopen(
        loaded, states, task_id, _stamp(s, loaded, who, date, ref, note)), by, task_id)


@command("cancel")
def cancel(s: Session, task_id: TaskArg,
           note: Annotated[str, typer.Option("--note", metavar="TEXT", help="Why (required)")],
           by: ByOpt = None, ref: RefOpt = None, date: DateOpt = None) -> None:
    """Cancel a task, saying why.

    Example: ocop cancel 9 --note "không bố trí được kinh phí"
    """
    from ocop_cli.tracker import record

    s.record(lambda loaded, states, who: record.cancel(
        loaded, states, task_id, _stamp(s, loaded, who, date, ref, note)), by, task_id)


@command("note")
def note(s: Session, task_id: TaskArg,
         text: Annotated[str, typer.Argument(metavar="TEXT", help="The note")],
         by: ByOpt = None, ref: RefOpt = None, date: DateOpt = None) -> None:
    """Attach a note to a task.

    Example: ocop note 10 "đã có 4 HTX nộp hồ sơ"
    """
    from ocop_cli.tracker import record

    s.record(lambda loaded, states, who: record.note(
        loaded, task_id, _stamp(s, loaded, who, date, ref, text)), by, task_id)


@command("undo")
def undo(s: Session, by: ByOpt = None) -> None:
    """Undo the latest entry. Nothing is deleted: an entry reversing it is appended; repeat to
    walk back further.

    Example: ocop undo
    """
    from ocop_cli.tracker import record

    s.record(lambda loaded, states, who: record.undo(
        loaded, _stamp(s, loaded, who, None, None, None)), by)


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


# Commands that live in modules of their own register themselves when their module is
# imported; a run imports only the module of the command it runs (a test keeps this up to date).
MODULES = {
    "report": "report", "timeline": "report", "agencies": "report",
    "import": "imports", "export": "imports", "sync": "sync", "info": "info",
    "product": "products",
}


def import_commands(name: str | None = None) -> None:
    """Import the module of command `name`, or of every command's without a name."""
    import importlib

    for module in sorted({MODULES[name]} if name else set(MODULES.values())):
        importlib.import_module(f"ocop_cli.commands.{module}")
