"""The plan and agencies formats of `schema`, checked without pydantic for documents in their
regular form: importing pydantic and building its models takes longer than reading a plan of
10,000 tasks this way.

Each check takes only what the pydantic model takes, giving what it gives: texts without
space around them, four-digit years, ISO dates, `true`/`false`, the literal values. Anything
else (a value written otherwise, a problem, a part of the format not handled here) gives None,
and the caller validates with pydantic (`schema`), which says what is wrong, where. The data
is as `yamlio` reads it: dicts, lists, texts and None.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from ocop_cli.core.model import KINDS, LEVELS, PRODUCT_STAGES
from ocop_cli.core.windows import MOST_YEARS, parse_target


class Refused(Exception):
    """A value this module does not take: pydantic decides."""


class Fields:
    """A validated document or item: its fields as attributes, as the model's would be."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _text(value: Any) -> str:
    """`schema.Text`: text, not empty, without space around it (pydantic would strip it)."""
    if type(value) is not str or not value or value[0].isspace() or value[-1].isspace():
        raise Refused
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate, from an escape
            raise Refused from None
    return value


def _maybe_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _texts(value: Any) -> list[str]:
    if type(value) is not list:
        raise Refused
    return [_text(item) for item in value]


_YEAR = re.compile(r"[0-9]{4}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _year(value: Any) -> int:
    """`schema.Year`, written as four digits."""
    if type(value) is not str or not _YEAR.fullmatch(value) or not 1900 <= int(value) <= 2200:
        raise Refused
    return int(value)


def _date(value: Any) -> dt.date:
    if type(value) is not str or not _DATE.fullmatch(value):
        raise Refused
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Refused from None


def _maybe(check: Any) -> Any:
    return lambda value: None if value is None else check(value)


def _one_of(values: tuple[str, ...]) -> Any:
    def check(value: Any) -> str:
        if type(value) is not str or value not in values:
            raise Refused
        return value
    return check


def _pattern(pattern: str) -> Any:
    match = re.compile(pattern).fullmatch

    def check(value: Any) -> str:
        if type(value) is not str or not match(value):
            raise Refused
        return value
    return check


def _target(value: Any) -> str:
    text = _text(value)
    try:
        parse_target(text)
    except ValueError:
        raise Refused from None
    return text


def _flag(value: Any) -> bool:
    if value == "true" and type(value) is str:
        return True
    if value == "false" and type(value) is str:
        return False
    raise Refused


_EMPTY: list[Any] = []
_NOTHING = object()  # a field that must be left out or empty: pydantic reads it
Check = tuple[tuple[str, Any, Any], ...]
# Each model's fields in the model's order: (name, check, default when left out; `Refused`
# when it may not be). `tests/test_plainschema.py` holds them to the models.
TASK: Check = (
    ("id", _pattern(r"[1-9][0-9]*(?:\.[1-9][0-9]*)*"), Refused),
    ("title", _text, Refused),
    ("unit", _maybe_text, None),
    ("target", _maybe(_target), None),
    ("lead", _maybe_text, None),
    ("partners", _texts, _EMPTY),
    ("window", _maybe_text, None),
    ("section", _maybe_text, None),
    ("per_district", _flag, False),
    ("notes", _texts, _EMPTY),
    ("products_at", _maybe(_one_of(PRODUCT_STAGES)), None),
)


def _none(value: Any) -> None:
    if value is not None:
        raise Refused


def _no_items(value: Any) -> list[Any]:
    if value != [] or type(value) is not list:
        raise Refused
    return []


PLAN: Check = (
    ("number", _text, Refused),
    ("year", _year, Refused),
    ("last_year", _maybe(_year), None),
    ("title", _text, Refused),
    ("kind", _maybe_text, None),
    ("issuer", _maybe_text, None),
    ("place", _maybe_text, None),
    ("dated", _date, Refused),
    ("appendix_dated", _maybe(_date), None),
    ("signed_by", _none, None),  # documents and signers are read by pydantic
    ("implements", _none, None),
    ("funding", _none, None),
    ("received", _none, None),
    ("purposes", _texts, _EMPTY),
    ("sections", _no_items, _EMPTY),
    ("notes", _texts, _EMPTY),
    ("tasks", lambda value: value, Refused),  # checked one by one: `tasks`
)

AGENCY: Check = (
    ("id", _pattern(r"[a-z0-9]+(?:-[a-z0-9]+)*"), Refused),
    ("short", _text, Refused),
    ("name", _text, Refused),
    ("aliases", _texts, _EMPTY),
    ("level", _one_of(LEVELS), Refused),
    ("kind", _one_of(KINDS), Refused),
    ("part_of", _maybe_text, None),
    ("members", _texts, _EMPTY),
    ("duties", _texts, _EMPTY),
    ("notes", _texts, _EMPTY),
)


def _fields(data: Any, fields: Check) -> dict[str, Any]:
    if type(data) is not dict or not data.keys() <= {name for name, _c, _d in fields}:
        raise Refused
    values = {}
    for name, check, default in fields:
        value = data.get(name, _NOTHING)
        if value is _NOTHING:
            if default is Refused:
                raise Refused
            value = [] if default is _EMPTY else default
        else:
            value = check(value)
        values[name] = value
    return values


def plan_head(data: Any) -> tuple[Any, dict[str, Any]] | None:
    """A plan document but for its tasks (left as they are), and its facts as
    `model_dump(mode="json", exclude={"tasks"})` gives them; None for pydantic to read."""
    try:
        values = _fields(data, PLAN)
        if type(values["tasks"]) is not list:
            raise Refused
        last, year = values["last_year"], values["year"]
        if last is not None and not 0 <= last - year < MOST_YEARS:
            raise Refused  # the model says what is wrong with it
    except Refused:
        return None
    facts = {name: value.isoformat() if isinstance(value, dt.date) else value
             for name, value in values.items() if name != "tasks"}
    return Fields(values), facts


def task(item: Any) -> Any:
    """One task of a plan; Refused when the model may not take it as it is."""
    return Fields(_fields(item, TASK))


def agencies(data: Any) -> Any:
    """The agencies document, or None for pydantic to read."""
    try:
        values = _fields(data, (("agencies", lambda value: value, Refused),))
        found = values["agencies"]
        if type(found) is not list:
            raise Refused
        return Fields({"agencies": [Fields(_fields(item, AGENCY)) for item in found]})
    except Refused:
        return None
