"""The `ocop` entry point: `main`, and the registry of which module holds each command.

Each module registers its commands on the root `app` of `common` when it is imported. The
commands about the plan's tasks (listing and recording) come with `app` itself, as a script
that imports it expects; those of the other areas, only when a run needs them (see
`_only_what_runs`).
"""

import gc
import importlib
import os
import sys
from typing import Annotated, Any

import typer

from ocop_cli.commands import record, tasks  # noqa: F401 - their commands come with `app`
from ocop_cli.commands.common import app, fail
from ocop_cli.core.errors import OcopError
from ocop_cli.core.i18n import set_language
from ocop_cli.output.render import stderr, stdout
from ocop_cli.store.write import write_errors

__all__ = ["MODULES", "app", "import_commands", "main"]

# Every command, in the order `ocop --help` lists them, and the module it lives in (a test
# keeps this up to date).
MODULES = {
    "tasks": "tasks", "check": "tasks", "init": "record", "done": "record",
    "progress": "record", "start": "record", "reopen": "record", "cancel": "record",
    "note": "record", "undo": "record", "history": "tasks", "show": "tasks",
    "report": "report", "timeline": "report", "agencies": "report", "remind": "remind",
    "info": "info",
    "sync": "sync", "import": "imports", "export": "imports", "product": "products",
}


# Modules that add a sub-command to a group another module holds (`ocop import units`).
JOINING = {"imports": ("units",)}


def import_commands(name: str | None = None) -> None:
    """Import the module of command `name`, or of every command's without a name."""
    for module in sorted({MODULES[name]} if name else set(MODULES.values())):
        for each in (module, *JOINING.get(module, ())):
            importlib.import_module(f"ocop_cli.commands.{each}")
    _in_help_order()


def _in_help_order() -> None:
    order = list(MODULES)
    app.registered_commands.sort(key=lambda c: order.index(c.name or ""))
    app.registered_groups.sort(key=lambda g: order.index(g.name or ""))


_in_help_order()


def main() -> None:
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
    if name not in MODULES:
        import_commands()
        return
    import_commands(name)
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


