"""Reading the history: each file's lines (`lines`) validated as entries (`schema.EntryDoc`,
made from `model.Entry`; its fast copy `written`), and the history of a workspace as one
list, each entry once, with the warnings a reader should know (a copy of an entry, an entry
for a task the plan lacks) and the errors (an entry at a place the agencies do not know).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocop_cli.core.errors import Problem
from ocop_cli.core.i18n import _
from ocop_cli.core.model import Entry, Plan
from ocop_cli.store.lines import (
    Record,
    Refused,
    json_object,
    keys_once,
    read_each,
    read_lines,
    syntax,
)

if TYPE_CHECKING:
    from ocop_cli.core.directory import Directory

# Far above a plan year of entries, and low enough that a huge file is refused, not read.
HISTORY_MAX_BYTES = 64 * 1024 * 1024

def read_history_file(path: Path) -> tuple[list[Entry], list[Problem]]:
    """The entries of one history file and its warnings (lines cut short); InvalidData when
    a line is not an entry."""
    records, problems = read_lines(path, HISTORY_MAX_BYTES, entry_reader())
    return entries_of(path, records), problems


def entry_reader() -> Callable[[str], tuple[Any, ...]]:
    """How a history line's JSON text is read: an entry's fields but its source. A line as
    `append` writes it is read by the format's fast copy (`written`); any other is parsed
    and validated as one by the format itself (`schema.EntryDoc`), which raises `Refused`
    with what it refuses, and for text that is not JSON, what the JSON reader says of it."""
    # start-up: store.written, 6 ms, only for a history file read (it compiles its pattern)
    from ocop_cli.store.written import Reader

    fast = Reader().values

    def read(body: str) -> tuple[Any, ...]:
        found = fast(body)
        return found if found is not None else _validated(body)

    return read


def entries_of(path: Path, records: list[Record]) -> list[Entry]:
    """The entries of a history file's records (`entry_reader`'s)."""
    name = path.name
    return [Entry._make((*values, f"{name}:{line}")) for line, values in records]


_FIELDS = Entry._fields[:-1]  # what a line holds: all but where it was read
_VALIDATOR: list[Callable[[str], tuple[Any, ...]]] = []  # the format, made when first needed


def _validated(body: str) -> tuple[Any, ...]:
    if not _VALIDATOR:
        _VALIDATOR.append(_validator())
    return _VALIDATOR[0](body)


def _validator() -> Callable[[str], tuple[Any, ...]]:
    # start-up: store.schema, 216 ms, only for a line ocop did not write (pydantic with it)
    from pydantic import TypeAdapter, ValidationError

    from ocop_cli.store.schema import EntryDoc

    adapter = TypeAdapter(EntryDoc)
    validate_json, validate = adapter.validate_json, adapter.validate_python

    def read(body: str) -> tuple[Any, ...]:
        try:
            doc: dict[str, Any] = validate_json(body)
        except ValidationError as exc:
            errors = exc.errors()
            if not any(item["type"] == "json_invalid" for item in errors):
                json_object(body)  # a key twice, said first
                raise _refused(errors) from None
            syntax(body)  # as the JSON reader says it; where it reads the text, so does
            try:  # the model, from what it read
                doc = validate(json.loads(body))
            except ValidationError as exc:
                raise _refused(exc.errors()) from None
        keys_once(body, doc)
        doc["at"] = _moment(doc["at"], body)
        return tuple(doc.get(key) for key in _FIELDS)

    return read


def _refused(errors: list[Any]) -> Refused:
    return Refused([(item["msg"].removeprefix("Value error, "),
                     ".".join(str(x) for x in item["loc"]) or None) for item in errors])


def _moment(moment: dt.datetime, body: str) -> str:
    """When an entry was typed, as text: as the line writes it when it writes it as ISO does
    (to the microsecond, as `append` does, or without a fraction), else as ISO writes it."""
    iso = moment.isoformat()
    if moment.microsecond:  # then ISO writes the fraction, as `append` does
        return iso
    written = json.loads(body).get("at")
    return str(written) if written == moment.isoformat(timespec="microseconds") else iso


def read_history(files: Iterable[Path], plan: Plan | None, years: frozenset[int],
                 directory: Directory | None) -> tuple[list[Entry], list[Problem]]:
    """Every entry of every history file (of the `years` `plan` counts, with a plan), each
    id once; the problems of each file, a file at a time, each at its line."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    read = list(read_each(files, read_history_file, problems))
    counted = _counted_copies(read)
    for path, got in read:
        for entry in got:
            source = counted.get(entry.id, entry.source)
            if source != entry.source:
                problems.append(duplicate(path, entry, source))
                continue
            if plan is not None and entry.plan_year not in years:
                continue  # another plan's entry
            problems += entry_problems(path, entry, plan, directory)
            entries.append(entry)
    return entries, problems


def _counted_copies(read: list[tuple[Path, list[Entry]]]) -> dict[str, str]:
    """For each id read more than once, the source of the copy that counts
    (`counted_copy`); nothing more is asked when no id is."""
    first: dict[str, str] = {}
    copied: dict[str, list[str]] = {}
    for _path, got in read:
        for entry in got:
            if first.setdefault(entry.id, entry.source) != entry.source:
                copied.setdefault(entry.id, [first[entry.id]]).append(entry.source)
    if not copied:
        return {}
    folder = read[0][0].parent
    return {entry_id: counted_copy(folder, entry_id, sources)
            for entry_id, sources in copied.items()}


def counted_copy(folder: Path, entry_id: str, sources: list[str]) -> str:
    """Which of the lines holding one entry id counts (`sources`, `file:line` in file
    order), for the replay and the index alike: the one of the file that first had the id in
    git's history (issue 24: an office cannot take over another's entry by copying its id
    into a file that sorts first), else, outside a repository or for lines never committed,
    the first in file order; within one file, its first line."""
    files = list(dict.fromkeys(source.rpartition(":")[0] for source in sources))
    if len(files) > 1:
        added = _first_added(folder, entry_id, files)
        never = max(added.values(), default=0) + 1
        files.sort(key=lambda name: added.get(name, never))  # stable: file order
    return next(source for source in sources if source.rpartition(":")[0] == files[0])


def _first_added(folder: Path, entry_id: str, files: list[str]) -> dict[str, int]:
    """For each of `files` (history files of `folder`) the commit, counted from the oldest,
    that first added `entry_id` to it: those that never had it in a commit are missing.
    Asked only for an id found in two files, so that reading a history without copies runs
    no git."""
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotePath=false", "log", "--reverse", "--format=%x00",
             "--name-only", "--no-renames", f"-S{entry_id}", "--", *files],
            cwd=folder, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.SubprocessError):  # no git: file order decides
        return {}
    if done.returncode != 0:  # not a repository: file order decides
        return {}
    order: dict[str, int] = {}
    commit = -1
    for line in done.stdout.splitlines():
        if line.startswith("\x00"):
            commit += 1
        elif line.rpartition("/")[2] in files:
            order.setdefault(line.rpartition("/")[2], commit)
    return order


def entry_problems(path: Path | str, entry: Entry, plan: Plan | None,
                   directory: Directory | None) -> list[Problem]:
    """What an entry that counts says to a reader: a warning for a task its plan lacks, an
    error for a place the agencies do not know."""
    found = task_gone(path, entry, plan) if plan is not None else []
    if directory is not None and entry.place and entry.place not in directory.by_id:
        found.append(Problem(str(path), _("entry {id}: unknown place {place!r}").format(
            id=entry.id, place=entry.place), *line_of(entry), task=entry.task))
    return found


def duplicate(path: Path | str, entry: Entry, first: str) -> Problem:
    return Problem(str(path), _("entry {id} appears twice (also at {first}); counted once").format(
        id=entry.id, first=first), *line_of(entry), warning=True)


def task_gone(path: Path | str, entry: Entry, plan: Plan | None) -> list[Problem]:
    """A warning for an entry about a task `plan` lacks, or for a plan the workspace lacks
    (`plan` None)."""
    if plan is None:
        message = _("entry {id} is for plan {year}, which this workspace does not have").format(
            id=entry.id, year=entry.plan_year)
    elif plan.task(entry.task) is None:
        message = _("entry {id} is for task {task}, which the plan does not have").format(
            id=entry.id, task=entry.task)
    else:
        return []
    return [Problem(str(path), message, *line_of(entry), task=entry.task, warning=True)]


def line_of(entry: Entry) -> tuple[int | None, None]:
    line = entry.source.rpartition(":")[2]
    return (int(line) if line.isdigit() else None), None
