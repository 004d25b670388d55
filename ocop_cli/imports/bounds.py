"""The limits of a table read from a file anyone may send, the table it gives (`Sheet`), and
the refusal when a limit is passed: shared by the text reader (`sheets`) and the XLSX reader
(`xlsx`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ocop_cli.core.errors import InvalidData
from ocop_cli.core.i18n import _, format_number

MAX_BYTES = 16 * 2**20  # a file, or standard input
# Far above any plan table or progress sheet (a year of a province's progress is a few
# thousand rows), and low enough that reading stays within 200 MB and a few seconds.
MAX_ROWS = 50_000
MAX_COLUMNS = 1_024
MAX_CELLS = 250_000  # rows x columns of the table as read
MAX_CELL_CHARS = 32_767  # Excel's own limit for a cell


@dataclass
class Sheet:
    """A sheet's rows as cell values, each with its row number as the spreadsheet shows it."""

    source: str
    rows: list[tuple[int, list[Any]]]
    merged: list[tuple[str, int, int]] = field(default_factory=list)  # range, first, last row
    sheets: tuple[str, ...] = ()  # every sheet of the workbook it comes from


class TooBig(Exception):
    """A limit was reached: the message names it."""


def refuse(source: object, message: str) -> InvalidData:
    """The one error for a file over a limit or unreadable: nothing was imported."""
    return InvalidData([], f"{source}: {message}; " + _("nothing was imported"))


def too_many_rows() -> str:
    return _("more than {n} rows, over the limit").format(n=format_number(MAX_ROWS))


def too_many_cells() -> str:
    return _("more than {n} cells, over the limit").format(n=format_number(MAX_CELLS))


def cell_too_long() -> TooBig:
    return TooBig(_("a cell holds more than {n} characters, over the limit").format(
        n=format_number(MAX_CELL_CHARS)))


def cell_text(text: str) -> str:
    """A cell's text, refused over Excel's own limit for a cell."""
    if len(text) > MAX_CELL_CHARS:
        raise cell_too_long()
    return text
