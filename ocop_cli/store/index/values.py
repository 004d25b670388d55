"""The values the index keeps, as JSON text: the agencies and each plan as read (`model`
values), and each task's own state (`state.pack`). A value is rebuilt as its type's fields say
(their annotations, read once): the index holds plain data only, and what it gives back is
ocop's own value types, never anything a stored value names.

A stored value that is not JSON of the expected shape is damage, as a malformed page is:
`sqlite3.DatabaseError`, so that the index is made again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from ocop_cli.core.directory import Directory
from ocop_cli.core.model import Agency, Plan, Task
from ocop_cli.core.state import TaskState, pack, unpack


def encode(value: Any) -> str:
    """Plain data (named tuples as lists) as JSON text."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def decode(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError, RecursionError):
        raise sqlite3.DatabaseError("a value of the index is not JSON") from None


def plan_value(plan: Plan) -> str:
    return encode([plan.number, plan.year, plan.title, plan.facts, _rows(Task, plan.tasks)])


def plan_of(text: str) -> Plan:
    number, year, title, facts, tasks = _shaped(text, 5)
    return Plan(number, year, title, _items(Task, tasks), facts)


def directory_value(directory: Directory) -> str:
    return encode(_rows(Agency, directory.agencies))


def directory_of(text: str) -> Directory:
    return Directory(_items(Agency, _shaped(text, 2)))


# The values of a packed state that are mappings (places, units, their notes): JSON, NULL
# when empty; the others are plain columns.
_MAPPINGS = [place for place, value in enumerate(pack(TaskState(Task("", ""))))
             if type(value) is dict]


def state_row(state: TaskState) -> list[Any]:
    """A task's own state as the columns the index keeps it in."""
    row = list(pack(state))
    for place in _MAPPINGS:
        row[place] = encode(row[place]) if row[place] else None
    return row


def state_of(task: Task, row: Sequence[Any]) -> TaskState:
    """A task's own state from its columns (`state_row`)."""
    values = list(row)
    for place in _MAPPINGS:
        if values[place] is not None:
            values[place] = decode(values[place])
    return unpack(task, values)


def _shaped(text: str, length: int) -> list[Any]:
    value = decode(text)
    if type(value) is not list or len(value) != length:
        raise sqlite3.DatabaseError("a value of the index of another shape")
    return value


def _rows(cls: type, items: Sequence[Any]) -> list[Any]:
    """Named tuples of type `cls` as rows: the values of their fields that hold a tuple or
    another named tuple (a target, a window, the partners), which repeat from row to row,
    each kept once in a table of its field, and given in the row by their place in it."""
    at = [place for place, _step in _steps(cls)]
    tables: list[dict[Any, int]] = [{} for _place in at]
    rows = []
    for item in items:
        row = list(item)
        for table, place in zip(tables, at, strict=True):
            if row[place] is not None:
                row[place] = table.setdefault(row[place], len(table))
        rows.append(row)
    return [[list(table) for table in tables], rows]


def _items(cls: type, value: Any) -> tuple[Any, ...]:
    """The named tuples of `_rows`."""
    if type(value) is not list or len(value) != 2:
        raise sqlite3.DatabaseError("a value of the index of another shape")
    tables, rows = value
    steps = _steps(cls)
    if type(tables) is not list or len(tables) != len(steps) or type(rows) is not list:
        raise sqlite3.DatabaseError("a value of the index of another shape")
    built = [(place, [step(v) for v in table]) for (place, step), table in zip(
        steps, tables, strict=True)]
    size = len(cls._fields)  # type: ignore[attr-defined]
    try:
        for row in rows:
            for place, table in built:
                if row[place] is not None:
                    row[place] = table[row[place]]
            if len(row) != size:
                raise IndexError(place)
    except (TypeError, IndexError, KeyError):
        raise sqlite3.DatabaseError("a value of the index of another shape") from None
    new = tuple.__new__
    return tuple(new(cls, row) for row in rows)


_STEPS: dict[type, list[tuple[int, Callable[[Any], Any]]]] = {}


def _steps(cls: type) -> list[tuple[int, Callable[[Any], Any]]]:
    """The fields of named tuple type `cls` that hold a tuple or another named tuple (by
    their annotations, read once), each with how its value is rebuilt from JSON."""
    found = _STEPS.get(cls)
    if found is None:
        hints = get_type_hints(cls)
        fields: tuple[str, ...] = cls._fields  # type: ignore[attr-defined]
        found = _STEPS[cls] = [(place, step) for place, name in enumerate(fields)
                               if (step := _step(hints[name])) is not None]
    return found


def _step(hint: Any) -> Callable[[Any], Any] | None:
    origin = get_origin(hint)
    if origin in (Union, UnionType):
        kinds = [arg for arg in get_args(hint) if arg is not type(None)]
        return _step(kinds[0]) if len(kinds) == 1 else None
    if origin is tuple:
        return tuple
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        return lambda row: _item(hint, row)
    return None


def _item(cls: type, row: Any) -> Any:
    """One named tuple of type `cls` from its JSON list."""
    if type(row) is not list or len(row) != len(cls._fields):  # type: ignore[attr-defined]
        raise sqlite3.DatabaseError("a value of the index of another shape")
    for place, step in _steps(cls):
        if row[place] is not None:
            row[place] = step(row[place])
    return tuple.__new__(cls, row)
