"""A council's scoring sheets: each member's points for parts A, B and C, checked against the
maxima of the decision in force, and the product's points as their average.

The sheets come typed (`--member NAME --a 30 --b 20 --c 30`, repeatable) or from a file
(`score_sheet`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ocop_cli.core.errors import UsageError
from ocop_cli.core.i18n import _
from ocop_cli.core.text import clean, fold

if TYPE_CHECKING:
    from ocop_cli.tracker.product_rules import Decision

PARTS = ("a", "b", "c")  # the three parts of a member's scoring sheet
MAX_MEMBERS = 50  # a council has a dozen members; far more is not a council's sheet


class MemberSheet(NamedTuple):
    """One council member's scoring sheet: the points of parts A, B and C."""

    member: str
    a: int
    b: int
    c: int

    @property
    def total(self) -> int:
        return self.a + self.b + self.c

    def to_record(self) -> dict[str, Any]:
        return {"member": self.member, "a": self.a, "b": self.b, "c": self.c}


def average(sheets: Sequence[MemberSheet]) -> int:
    """The product's points: the average of the members' totals, rounded half up to a whole
    point (89.5 is 90), as points are written in the register."""
    total, n = sum(s.total for s in sheets), len(sheets)
    return (2 * total + n) // (2 * n)  # total / n, half up, in whole numbers


def sheet_fault(sheet: MemberSheet, decision: Decision | None) -> tuple[str, str] | None:
    """What is wrong with a member's sheet under `decision` (and in which part), else None.
    Before any decision, a part may give up to 100 points and the sheet 100 in all."""
    maxima = decision.parts if decision and decision.parts else (100, 100, 100)
    for part, value, most in zip(PARTS, (sheet.a, sheet.b, sheet.c), maxima, strict=True):
        if not 0 <= value <= most:
            name = decision.decision if decision else _("no decision")
            return part, _("part {part} gives 0 to {most} points under {decision}, not "
                           "{value}").format(part=part.upper(), most=most, decision=name,
                                             value=value)
    if sheet.total > 100:
        return "c", _("the sheet adds up to {total}, over 100").format(total=sheet.total)
    return None


def checked(sheets: Sequence[MemberSheet], decision: Decision | None) -> list[MemberSheet]:
    """The typed sheets, each member named once and within the maxima of `decision`."""
    if not sheets:
        raise UsageError(_("give the council's points, or its members' sheets"))
    if len(sheets) > MAX_MEMBERS:
        raise UsageError(_("more than {n} members' sheets").format(n=MAX_MEMBERS))
    seen: set[str] = set()
    for sheet in sheets:
        if not sheet.member:
            raise UsageError(_("a member's name is empty"))
        if fold(sheet.member) in seen:
            raise UsageError(_("member {name} has two sheets").format(name=sheet.member))
        seen.add(fold(sheet.member))
        fault = sheet_fault(sheet, decision)
        if fault is not None:
            raise UsageError(_("{name}'s sheet: {fault}").format(name=sheet.member,
                                                                 fault=fault[1]))
    return list(sheets)


def typed_sheets(members: Sequence[str], a: Sequence[int], b: Sequence[int],
                 c: Sequence[int]) -> list[MemberSheet]:
    """The sheets typed as `--member NAME --a N --b N --c N`, repeated once per member."""
    if not len(members) == len(a) == len(b) == len(c):
        raise UsageError(_("each --member needs its --a, --b and --c ({m} members, {a} A, {b} "
                           "B, {c} C)").format(m=len(members), a=len(a), b=len(b), c=len(c)))
    return [MemberSheet(clean(m), *points) for m, *points in zip(members, a, b, c, strict=True)]
