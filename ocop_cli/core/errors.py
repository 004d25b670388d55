"""Errors a user can meet, each with the exit code the README documents.

The command boundary turns any of them into one message on stderr and exits with its code.
"""

from __future__ import annotations

from typing import NamedTuple

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_INVALID = 3
EXIT_BUSY = 4
EXIT_NOT_SENT = 1  # `ocop remind --send`: a mail the server refused or could not take


class Problem(NamedTuple):
    """One thing wrong with a data file, located as precisely as it can be."""

    file: str
    message: str
    line: int | None = None
    column: int | None = None
    task: str | None = None
    field: str | None = None
    warning: bool = False  # reported by `ocop check`, but does not stop other commands

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        about = []
        if self.task is not None:
            about.append(f"task {self.task}")
        if self.field is not None:
            about.append(self.field)
        prefix = f"{where}: " + (f"{', '.join(about)}: " if about else "")
        return prefix + self.message


class OcopError(Exception):
    """Base of every error meant for a user; `exit_code` is what the process exits with."""

    exit_code = EXIT_NOT_FOUND

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotFound(OcopError):
    """A task, agency, workspace or file that is not there."""

    exit_code = EXIT_NOT_FOUND


class Refused(OcopError):
    """A request that was understood and declined (overwriting a file, nothing to undo...)."""

    exit_code = EXIT_NOT_FOUND


class UsageError(OcopError):
    """Arguments that cannot be right: a month of 13, a negative quantity, a bad date."""

    exit_code = EXIT_USAGE


class InvalidData(OcopError):
    """A data file that does not load or does not validate; carries every problem found."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: list[Problem], message: str | None = None) -> None:
        self.problems = problems
        super().__init__(message or "\n".join(str(p) for p in problems))


class Busy(OcopError):
    """Another writer holds the workspace lock for longer than we are willing to wait."""

    exit_code = EXIT_BUSY
