"""A council's scoring sheets as a file: CSV, TSV or XLSX with one row per member and the
columns member (thành viên), A, B and C, read by `imports.sheets` within its limits."""

from __future__ import annotations

from ocop_cli.core.i18n import _
from ocop_cli.core.text import fold
from ocop_cli.imports import tables
from ocop_cli.imports.sheets import Sheet
from ocop_cli.tracker.product_rules import Decision
from ocop_cli.tracker.scoring import MAX_MEMBERS, PARTS, MemberSheet, sheet_fault

# The columns of a file of sheets, and how offices write their headers.
SHEET_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("member", "member", ("member", "thanh vien", "ho ten", "ho va ten", "thanh vien hoi dong")),
    ("a", "A", ("a", "phan a", "diem a")),
    ("b", "B", ("b", "phan b", "diem b")),
    ("c", "C", ("c", "phan c", "diem c")),
)


def read_score_sheet(sheet: Sheet, decision: Decision | None
                     ) -> tuple[list[MemberSheet], list[tables.RowProblem]]:
    """The members' sheets of a file, one row per member, and what is wrong with each row
    that is not right (a name twice, a part not a whole number or over its maximum)."""
    notices: list[str] = []
    _found, body, problems = tables.table_body(sheet, SHEET_COLUMNS, ("member", *PARTS),
                                               notices)
    if len(body) > MAX_MEMBERS:
        return [], [tables.RowProblem(None, _("more than {n} members' sheets").format(
            n=MAX_MEMBERS))]
    sheets: list[MemberSheet] = []
    seen: dict[str, int] = {}
    for number, cells in body:
        try:
            member = tables.cell_text(cells.get("member"), "member")
        except tables.CellError as error:
            problems.append(tables.RowProblem(number, error.message, "member"))
            continue
        points: list[int] = []
        for part in PARTS:
            try:
                points.append(tables.read_quantity(cells.get(part)))
            except ValueError as error:
                problems.append(tables.RowProblem(number, str(error), part.upper()))
        if not member:
            problems.append(tables.RowProblem(number, _("empty"), "member"))
            continue
        if fold(member) in seen:
            problems.append(tables.RowProblem(number, _("{name} has a sheet already (row "
                                                        "{row})").format(
                name=member, row=seen[fold(member)]), "member"))
            continue
        seen[fold(member)] = number
        if len(points) < len(PARTS):
            continue
        found = MemberSheet(member, *points)
        fault = sheet_fault(found, decision)
        if fault is not None:
            problems.append(tables.RowProblem(number, fault[1], fault[0].upper()))
            continue
        sheets.append(found)
    if not body and not problems:
        problems.append(tables.RowProblem(None, _("no member's sheet under the header")))
    return sheets, problems
