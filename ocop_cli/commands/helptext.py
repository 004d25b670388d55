"""Help pages and usage errors in the user's language, and the two lines every error is said
in on stderr (`error_lines`: the message, then the hint).

The help texts of the commands (`help=` strings and docstrings) are English source strings
that `tools/i18n.py` puts in the catalogue with every other message. Typer builds its commands
from them as they are; the classes here translate them only when a help page, a completion
description or a usage error is about to be shown, so a run that shows none pays nothing.
`LocalGroup.main` picks the language from the raw arguments first, because `--help` is acted
on before any other option is read.

A usage error reads as any other error: one line, then where to find help. A negative number
is read as a value (`ocop progress 1.2 -3`), never as an option.

Every command must be made with `cls=LocalCommand` (the `command` decorator of `common` does it).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import IO, Any

from typer import _click as click
from typer._click import exceptions as errors
from typer._click.parser import _OptionParser, _ParsingState
from typer.core import TyperCommand, TyperGroup

from ocop_cli.core.i18n import N_, _, language_in, set_language
from ocop_cli.core.text import visible

# Help texts of options that typer and click add themselves, and the usage line's words.
FRAMEWORK_HELP = (
    N_("[OPTIONS]"),
    N_("COMMAND [ARGS]..."),
    N_("Show this message and exit."),
    N_("Install completion for the current shell."),
    N_("Show completion for the current shell, to copy it or customize the installation."),
)

# What click and typer say about a bad value, and how we say it. Matched on their English text,
# which is all they give; a message not listed here is shown as it comes.
_VALUE_PROBLEMS = (  # compiled on first use, not at start-up
    (r"(?P<value>\S+) is not in the range (?P<low>-?\d+)<=x<=(?P<high>-?\d+)\.?",
     N_("{value} is not between {low} and {high}")),
    (r"(?P<value>\S+) is not in the range x>=(?P<limit>-?\d+)\.?",
     N_("{value} is less than {limit}")),
    (r"(?P<value>\S+) is not in the range x<=(?P<limit>-?\d+)\.?",
     N_("{value} is more than {limit}")),
    (r"(?P<value>'.*') is not a valid int(?:eger)?(?: range)?\.?",
     N_("{value} is not a whole number")),
    (r"(?P<value>'.*') is not a valid float(?: range)?\.?", N_("{value} is not a number")),
    (r"(?:Value error, )?(?P<value>'.*') is not one of (?P<choices>.+?)\.?",
     N_("{value} is not one of {choices}")),
    (r"(?:Value error, )?(?P<value>'.*') is not (?P<choices>'[^']*')\.?",
     N_("{value} is not {choices}")),
)
_USAGE_PROBLEMS = (
    (r"Option (?P<name>'.*') requires an argument\.",
     N_("option {name} needs a value")),
    (r"Option (?P<name>'.*') does not take a value\.",
     N_("option {name} does not take a value")),
    (r"Got unexpected extra argument(?:s|\(s\))? \((?P<args>.*)\)",
     N_("unexpected extra arguments: {args}")),
    (r"No such command (?P<name>'.*')\. Did you mean (?P<close>.*)\?",
     N_("no such command {name}; did you mean {close}?")),
    (r"No such command (?P<name>'.*')\.", N_("no such command {name}")),
    (r"Missing command\.", N_("missing command")),
)


def _reword(text: str, table: Sequence[tuple[str, str]]) -> str:
    for pattern, message in table:
        match = re.fullmatch(pattern, text.strip())
        if match:
            return _(message).format(**match.groupdict())  # i18n: marked above with N_
    return text


def _extras(text: str) -> str:
    """The `[default: x; env var: Y; required]` typer appends to an option's help."""
    head, sep, tail = text.rpartition("  [")
    if not sep or not tail.endswith("]"):
        if text.startswith("[") and text.endswith("]"):
            head, sep, tail = "", "[", text[1:]
        else:
            return text
    parts = []
    for part in tail[:-1].split("; "):
        if part.startswith("default: "):
            part = _("default: {default}").format(default=part.removeprefix("default: "))
        elif part.startswith("env var: "):
            part = _("env var: {var}").format(var=part.removeprefix("env var: "))
        elif part == "required":
            part = _("required")
        parts.append(part)
    return f"{head}  [{'; '.join(parts)}]" if head else f"[{'; '.join(parts)}]"


def summary(text: str, limit: int) -> str:
    """A command's line in `ocop --help`: its first sentence; a long one up to its first colon
    or semicolon, so that the list reads as a table of contents and no line ends cut off."""
    first = " ".join(text.split("\n\n")[0].split())
    match = re.match(r"(.+?[.!?])(?:\s|$)", first)
    sentence = match.group(1) if match else first
    if len(sentence) <= limit:
        return sentence
    for mark in (": ", "; ", " (", ", "):
        head = sentence.split(mark)[0]
        if 10 <= len(head) <= limit:
            return head
    return sentence[: limit - 1].rsplit(" ", 1)[0] + "…"


def localise(command: click.Command, ctx: click.Context | None = None) -> None:
    """Put the help texts of a command and its parameters in the current language. The
    English originals are kept on the objects, so switching back and forth is exact."""
    english: dict[str, Any] = command.__dict__.setdefault("_ocop_english", {
        "help": command.help, "short_help": command.short_help, "epilog": command.epilog,
        "options_metavar": command.options_metavar,
        **({"subcommand_metavar": command.subcommand_metavar}
           if isinstance(command, TyperGroup) else {})})
    for attr, text in english.items():
        setattr(command, attr, _(text) if text else text)  # i18n: help texts, extracted
    params = command.get_params(ctx) if ctx is not None else command.params
    for param in params:
        source = param.__dict__.setdefault("_ocop_english", {
            "help": getattr(param, "help", None), "metavar": param.metavar})
        for attr, text in source.items():
            setattr(param, attr, _(text) if text else text)  # i18n: help texts, extracted


def error_lines(message: str, hint: str | None = None) -> str:
    """An error as every command says it on stderr: one line, and the hint on a second."""
    lines = [_("error: {message}").format(message=message)]
    if hint:
        lines.append(hint)
    return "".join(f"ocop: {visible(line)}\n" for line in lines)


class UsageProblem(errors.UsageError):
    """A usage error of click or typer, reworded in the user's language."""

    def __init__(self, message: str, ctx: click.Context | None) -> None:
        super().__init__(message, ctx)

    def show(self, file: IO[Any] | None = None) -> None:
        ctx = self.ctx
        hint = None
        if ctx is not None and ctx.command.get_help_option(ctx) is not None:
            hint = _("Try '{command} {option}' for help.").format(
                command=ctx.command_path, option=ctx.help_option_names[0])
        click.echo(error_lines(self.format_message(), hint), file=file, nl=False, err=True,
                   color=False)


def _translated(error: errors.UsageError, ctx: click.Context) -> errors.UsageError:
    if isinstance(error, (UsageProblem, errors.NoArgsIsHelpError)):
        return error
    ctx = error.ctx or ctx  # the parser's own errors come without one
    if ctx is not None:
        localise(ctx.command, ctx)  # the names of arguments (metavars) in the user's language
    if isinstance(error, errors.NoSuchOption):
        message = _("no such option: {name}").format(name=error.option_name)
        if error.possibilities:
            message += " " + _("(possible options: {options})").format(
                options=", ".join(sorted(error.possibilities)))
    elif isinstance(error, errors.MissingParameter):
        param = error.param
        name = param.get_error_hint(ctx) if param is not None and ctx else ""
        if param is not None and param.param_type_name == "argument":
            message = _("missing argument {name}").format(name=name)
        else:
            message = _("missing option {name}").format(name=name)
    elif isinstance(error, errors.BadParameter):
        param = error.param
        hint = error.param_hint
        if hint is None and param is not None and ctx is not None:
            hint = param.get_error_hint(ctx)
        if not isinstance(hint, str) and hint is not None:
            hint = " / ".join(repr(x) for x in hint)
        problem = _reword(error.message, _VALUE_PROBLEMS)
        message = (_("invalid value for {name}: {problem}").format(name=hint, problem=problem)
                   if hint else _("invalid value: {problem}").format(problem=problem))
    else:
        message = _reword(error.message, _USAGE_PROBLEMS)
    return UsageProblem(message, ctx)


class _Localised(click.Command):
    """What a command and a group share: translated help pages and usage errors."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        localise(self, ctx)
        self.format_usage(ctx, formatter)
        self.format_help_text(ctx, formatter)
        self.format_options(ctx, formatter)
        self.format_epilog(ctx, formatter)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        localise(self, ctx)
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)),
                              prefix=_("Usage: "))

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            name, text = record
            row = (name, _extras(text))
            (arguments if param.param_type_name == "argument" else options).append(row)
        if arguments:
            with formatter.section(_("Arguments")):
                formatter.write_dl(arguments)
        if options:
            with formatter.section(_("Options")):
                formatter.write_dl(options)

    def get_short_help_str(self, limit: int = 45) -> str:
        localise(self)
        if self.short_help or not self.help:
            return super().get_short_help_str(limit)
        return summary(self.help, limit)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except errors.UsageError as error:
            raise _translated(error, ctx) from None


class _Parser(_OptionParser):
    """Click's parser, but a negative number is a value, as argparse reads it: in `ocop
    progress 1.2 -3` the quantity is refused as a quantity, not as an unknown option -3 (no
    option of ocop is a digit)."""

    def _process_opts(self, arg: str, state: _ParsingState) -> None:
        if re.fullmatch(r"-\d+(?:[.,]\d+)?", arg):
            state.largs.append(arg)
        else:
            super()._process_opts(arg, state)


def _without_lang(args: list[str]) -> list[str]:
    """The arguments before the name of the command, less any `--lang X`."""
    kept: list[str] = []
    rest = list(args)
    while rest and rest[0].startswith("-"):
        arg = rest.pop(0)
        if arg == "--lang" and rest:
            rest.pop(0)
        elif not arg.startswith("--lang="):
            kept.append(arg)
    return kept + rest


class LocalCommand(_Localised, TyperCommand):
    """A command whose help and usage errors follow the language in use."""

    def make_parser(self, ctx: click.Context) -> _OptionParser:
        parser = _Parser(ctx)
        for param in self.get_params(ctx):
            param.add_to_parser(parser, ctx)
        return parser

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _Localised.format_options(self, ctx, formatter)


class LocalGroup(_Localised, TyperGroup):
    """The `ocop` command itself: its help lists the commands in the language in use."""

    def main(self, args: Sequence[str] | None = None, *rest: Any, **extra: Any) -> Any:
        set_language(language_in(sys.argv[1:] if args is None else args), strict=False)
        return super().main(args, *rest, **extra)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _Localised.format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not any("--lang" in getattr(p, "opts", ()) for p in self.params):
            # `ocop import --lang vi -h`: the language was taken from the arguments before
            # parsing (see `main`); a group without the option of its own lets it pass.
            args = _without_lang(args)
        return super().parse_args(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        shown = [(name, cmd) for name, cmd in commands if cmd is not None and not cmd.hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _cmd in shown)
        for name, cmd in shown:
            assert cmd is not None
            localise(cmd)
            rows.append((name, cmd.get_short_help_str(limit)))
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except errors.UsageError as error:
            raise _translated(error, ctx) from None
