"""Progress sheets: the rows an office fills in (date, task, action, quantity, place, who,
proof), each checked and read; deciding what they record is the tracker's (`progress_sheet`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ocop_cli.core.i18n import _
from ocop_cli.core.text import fold
from ocop_cli.imports.sheets import Sheet  # read within limits there

if TYPE_CHECKING:
    pass
from ocop_cli.imports.tables import (
    CellError,
    RowProblem,
    blank,
    cell_text,
    read_date,
    read_quantity,
    table_body,
)

PROGRESS_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("date", "date", ("date", "ngay")),
    ("task", "task", ("task", "nhiem vu", "tt", "ma nhiem vu")),
    ("action", "action", ("action", "viec", "cong viec")),
    ("qty", "quantity", ("quantity", "qty", "so luong")),
    ("place", "place", ("place", "dia ban", "noi", "dia phuong")),
    ("by", "by", ("by", "nguoi bao cao", "nguoi ghi")),
    ("ref", "ref", ("ref", "van ban", "so van ban", "so hieu")),
    ("note", "note", ("note", "ghi chu")),
)
PROGRESS_REQUIRED = ("date", "task", "action")

# What a progress sheet may ask for, in English or in Vietnamese (folded).
ACTION_WORDS = {
    "start": "start", "bat dau": "start",
    "progress": "progress", "tien do": "progress",
    "done": "done", "hoan thanh": "done", "xong": "done",
    "reopen": "reopen", "mo lai": "reopen",
    "cancel": "cancel", "huy": "cancel", "huy bo": "cancel",
    "note": "note", "ghi chu": "note",
}




@dataclass(frozen=True)
class ProgressRow:
    row: int
    date: dt.date
    task: str
    action: str
    qty: int | None = None
    place: str | None = None
    by: str | None = None
    ref: str | None = None
    note: str | None = None


def _progress_header(key: str) -> str:
    return next(header for name, header, _spellings in PROGRESS_COLUMNS if name == key)


def _complainer(problems: list[RowProblem], row: int) -> Callable[..., None]:
    def bad(key: str, message: str, task: str | None = None) -> None:
        problems.append(RowProblem(row, message, _progress_header(key), task))

    return bad


def read_progress(sheet: Sheet) -> tuple[list[ProgressRow], list[RowProblem], list[str]]:
    """The rows of a progress sheet, and what is wrong with each row that is not right."""
    notices: list[str] = []
    _found, body, problems = table_body(sheet, PROGRESS_COLUMNS, PROGRESS_REQUIRED, notices)
    rows: list[ProgressRow] = []
    for number, cells in body:
        before = len(problems)
        task = action = ""
        date: dt.date | None = None
        values: dict[str, Any] = {}
        bad = _complainer(problems, number)
        try:
            task = cell_text(cells.get("task"), _progress_header("task")).removeprefix("'")
            action_text = cell_text(cells.get("action"), _progress_header("action"))
            for key in ("place", "by", "ref", "note"):
                text = cell_text(cells.get(key), _progress_header(key))
                values[key] = text or None
        except CellError as error:
            problems.append(RowProblem(number, error.message, error.column))
            continue
        if not task:
            bad("task", _("no task id"))
        if blank(cells.get("date")):
            bad("date", _("no date"), task or None)
        else:
            try:
                date = read_date(cells["date"])
            except ValueError as error:
                bad("date", str(error), task or None)
        action = ACTION_WORDS.get(fold(action_text), "")
        if not action:
            choices = "start, progress, done, reopen, cancel, note"
            message = (_("no action; one of: {choices}") if not action_text else
                       _("{text!r} is not an action; one of: {choices}")).format(
                text=action_text, choices=choices)
            if fold(action_text) == "undo":
                message = _("an undo cannot come from a sheet; use `ocop undo`")
            bad("action", message, task or None)
        if not blank(cells.get("qty")):
            try:
                values["qty"] = read_quantity(cells["qty"])
            except ValueError as error:
                bad("qty", str(error), task or None)
        qty = values.get("qty")
        if action == "progress" and (qty is None or qty < 1) and "qty" not in [
                p.column for p in problems[before:]]:
            bad("qty", _("progress needs a quantity of at least 1"), task or None)
        if action in ("start", "reopen", "cancel", "note"):
            for key in ("qty", "place"):
                if values.get(key) is not None:
                    bad(key, _("{column} goes with progress or done, not {action}").format(
                        column=_progress_header(key), action=action), task or None)
        if action == "cancel" and not values.get("note"):
            bad("note", _("a cancel says why in the note column"), task or None)
        if action == "note" and not values.get("note"):
            bad("note", _("the note is empty"), task or None)
        if len(problems) == before and date is not None:
            rows.append(ProgressRow(number, date, task, action, qty, values["place"],
                                    values["by"], values["ref"], values["note"]))
    return rows, problems, notices
