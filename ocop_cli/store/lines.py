"""Files appended one record to a line (the history, the product register): each record a
line `- {...}` holding one JSON object, exactly as `append` writes it, with blank lines and
comments (`#`) between. This is the one way such a file is read.

A line cut short (the machine stopped while it was written: a `{` without its `}`) is left
out with a warning (an error to `ocop check`, wherever it is in the file); any other line that
is not one JSON object is an error, naming the file, line and column, and the file's later
lines are not read. A record its format refuses (`Refused`, from the reader of each line) is
an error too, and the other lines are read on, so that every such error of the file is said.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from ocop_cli.core.errors import InvalidData, NotFound, Problem
from ocop_cli.core.i18n import _
from ocop_cli.store.yamlio import conflict_at, decode, read_bytes

Record = tuple[int, Any]  # (line number, what the line's reader made of its object)


class Refused(ValueError):
    """A line that is one JSON object, of which its format refuses some values: (message,
    field) for each."""

    def __init__(self, faults: list[tuple[str, str | None]]) -> None:
        super().__init__(faults)
        self.faults = faults


def read_lines(path: Path, limit: int, read: Callable[[str], Any] | None = None
               ) -> tuple[list[Record], list[Problem]]:
    """Every record of a file (within `limit` bytes) and the warnings of its lines cut short;
    InvalidData when a line is neither. `read` makes a record of a line's JSON text (the
    object itself by default: `json_object`)."""
    return parse_lines(path, decode(path, read_bytes(path, limit)), 1, read)


def parse_lines(path: Path, text: str, first: int = 1, read: Callable[[str], Any] | None = None
                ) -> tuple[list[Record], list[Problem]]:
    """`read_lines` of `text`, its first line numbered `first` (a piece of a file that
    grew)."""
    conflict = conflict_at(text)
    if conflict is not None:
        raise _wrong(path, _("merge conflict markers: resolve the merge first"),
                     first + conflict - 1, 1)
    read = read or json_object
    records: list[Record] = []
    problems: list[Problem] = []
    refused: list[Problem] = []
    for number, line in enumerate(text.split("\n"), first):
        if line[:3] == "- {":
            body = line[2:]
            try:
                records.append((number, read(body)))
                continue
            except Refused as refusal:
                refused += [Problem(str(path), message, number, None, _task(body), key)
                            for message, key in refusal.faults]
                continue
            except (ValueError, RecursionError) as error:
                if _cut_short(line, error):
                    problems.append(Problem(str(path), cut_short(), number, 1, warning=True))
                    continue
                raise _damaged(path, line, number, error) from None
        body = line.strip()
        if body and body[0] != "#":
            raise _wrong(path, _("not a line as ocop writes it: expected - {…}, one JSON "
                                 "object on one line"), number, len(line) - len(line.lstrip()) + 1)
    if refused:
        raise InvalidData(refused)
    return records, problems


def cut_short() -> str:
    """What is said of a line cut short: a warning to a command that reads past it, an error
    to `ocop check` (`damaged`)."""
    return _("half-written or damaged entry, ignored (was the machine stopped while "
             "recording?)")


def damaged(problem: Problem) -> bool:
    """Whether `problem` is a line cut short or damaged (`cut_short`)."""
    return problem.message == cut_short()


def json_object(body: str) -> Any:
    """A line's JSON text read, each key of its object once."""
    record = json.loads(body)
    keys_once(body, record)
    return record


def keys_once(body: str, record: Any) -> None:
    """_Twice (a ValueError) when the object of `body` (read as `record`) has a key twice."""
    if not _surely_once(body, record):
        _DECODER.decode(body)


def syntax(body: str) -> None:
    """Raise what is wrong with a line's JSON text as the JSON reader says it (for a reader
    of lines whose own parser said only that it is not JSON)."""
    _DECODER.decode(body)


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different (json would keep the last of two alike)."""
    record = dict(pairs)
    if len(record) != len(pairs):
        raise _Twice(next(key for n, (key, _value) in enumerate(pairs)
                          if any(key == other for other, _v in pairs[:n])))
    return record


_DECODER = json.JSONDecoder(object_pairs_hook=_once)


def _surely_once(body: str, record: Any) -> bool:
    """True when the object of `body` surely has each of its keys once (`_once` says so of
    the others, more slowly: the same rule, read faster where a line allows it). With no
    whitespace before a colon, each key is followed by `":`, and a text holds `":` only
    after an escaped quote: a key written twice makes more `":` than the object has keys."""
    if type(record) is not dict or " :" in body or "\t" in body or "\r" in body:
        return False
    return body.count('":') == len(record)


class _Twice(ValueError):
    """A key written twice in one object."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _cut_short(line: str, error: Exception) -> bool:
    """Whether a line that is no JSON object is one cut short: an object begun and never
    closed, or nested deeper than any record (damage, not something a person wrote)."""
    return isinstance(error, RecursionError) or (
        not isinstance(error, _Twice) and not line.rstrip().endswith("}"))


def _damaged(path: Path, line: str, number: int, error: Exception) -> InvalidData:
    if isinstance(error, _Twice):
        column = line.find(f'"{error.key}"', line.find(f'"{error.key}"') + 1) + 1
        return _wrong(path, _("duplicate key {key!r} (first at line {first})").format(
            key=error.key, first=number), number, column or None)
    if isinstance(error, json.JSONDecodeError):
        return _wrong(path, _("not a line as ocop writes it: {error}").format(
            error=error.msg), number, error.colno + 2)
    return _wrong(path, _("not a line as ocop writes it: {error}").format(error=error),
                  number, None)


def _task(body: str) -> str | None:
    """The task a refused line is about, when it says one."""
    try:
        task = json.loads(body).get("task")
    except (ValueError, RecursionError, AttributeError):
        return None
    return str(task) if task else None


def _wrong(path: Path, message: str, line: int, column: int | None) -> InvalidData:
    return InvalidData([Problem(str(path), message, line, column)])


T = TypeVar("T")


def read_each(paths: Iterable[Path], read: Callable[[Path], tuple[list[T], list[Problem]]],
              problems: list[Problem]) -> Iterator[tuple[Path, list[T]]]:
    """Each file with what `read` gives of it; the problems of every file go into `problems`,
    and a file that cannot be read at all is passed over, so that one broken file (a conflict
    left by a merge) hides none of the others' problems."""
    for path in paths:
        try:
            got, found = read(path)
        except InvalidData as exc:
            problems += exc.problems
            continue
        except NotFound as exc:
            problems.append(Problem(str(path), exc.message))
            continue
        problems += found
        yield path, got
