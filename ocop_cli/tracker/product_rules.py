"""The OCOP rules as data (`ocop_rules.yaml`): the Prime Minister's decisions, each from its
date (the parts of the scoring sheet and their maxima, the point bands of the stars, how long a
certificate holds), and the product groups.

A score takes the decision in force on the day it was given and no later one; a score before
the first decision of the file has points and no stars. Points under the lowest band are not
ranked (`None`), never "0 stars".
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import NamedTuple

from ocop_cli.core.errors import InvalidData, NotFound, Problem
from ocop_cli.core.i18n import _
from ocop_cli.core.text import fold
from ocop_cli.core.windows import months_later
from ocop_cli.store.documents import read_validated
from ocop_cli.store.storage import RULES, Workspace, bundled_dir

__all__ = ["RULES", "Decision", "Group", "Process", "Rules", "months_later", "read_rules",
           "rules_path"]


class Decision(NamedTuple):
    decision: str
    start: dt.date
    valid_months: int
    notice_days: int  # how long before expiry the holder must be told
    recognised_from: int
    bands: tuple[tuple[int, int], ...]  # (stars, minimum points), most stars first
    parts: tuple[int, int, int] | None  # the maxima of parts A, B and C, when the file has them

    def stars(self, points: int) -> int | None:
        """The stars `points` earn under this decision; None under the lowest band."""
        return next((stars for stars, low in self.bands if points >= low), None)


class Process(NamedTuple):
    """Who proposes, scores and recognises, from `start`: the steps that may follow each
    stage (a score named by its council, "scored:tinh"), which level recognises how many
    stars, and the stages the report counts."""

    start: dt.date
    name: str
    next: dict[str, tuple[str, ...]]
    recognised_by: dict[int, str]
    funnel: tuple[str, ...]


class Group(NamedTuple):
    id: str
    name: str
    aliases: tuple[str, ...] = ()


class Rules(NamedTuple):
    decisions: tuple[Decision, ...]  # oldest first
    groups: tuple[Group, ...]
    processes: tuple[Process, ...]  # oldest first

    def process_on(self, day: dt.date) -> Process:
        """The process in force on `day`: the latest that started by then, else the first."""
        found = self.processes[0]
        for process in self.processes:
            if process.start <= day:
                found = process
        return found

    def decision_on(self, day: dt.date) -> Decision | None:
        """The decision in force on `day`: the latest that started by then; None before the
        first."""
        found = None
        for decision in self.decisions:
            if decision.start <= day:
                found = decision
        return found

    def stars(self, points: int, day: dt.date) -> int | None:
        """The stars `points` earn under the decision in force on `day`; None when they are
        under every band or no decision was in force yet."""
        decision = self.decision_on(day)
        return None if decision is None else decision.stars(points)

    def group(self, text: str) -> Group:
        key = fold(text)
        for group in self.groups:
            if key in {group.id, fold(group.name), *(fold(a) for a in group.aliases)}:
                return group
        raise NotFound(_("no OCOP product group is called {name!r}").format(name=text),
                       hint=_("Groups: {ids}").format(ids=", ".join(g.id for g in self.groups)))

    def group_name(self, group_id: str | None) -> str | None:
        return next((g.name for g in self.groups if g.id == group_id), group_id)


def rules_path(ws: Workspace) -> Path:
    """The workspace's own rules when it has them (a later decision added there), else the
    rules shipped with ocop."""
    own = ws.root / RULES
    return own if own.exists() else bundled_dir() / RULES


def read_rules(path: Path) -> Rules:
    """The rules file, validated; every fault named by its line."""
    # A listing that counts products from the register reads the register, never the rules.
    # start-up: store.schema, 216 ms, only for the rules file (pydantic comes with it)
    from ocop_cli.store.schema import RulesDoc

    doc, parsed, problems = read_validated(path, RulesDoc, "decisions")
    if parsed is not None:
        for i, item in enumerate(parsed.decisions):
            lows = [band.min for band in item.bands]
            stars = [band.stars for band in item.bands]
            if lows != sorted(lows, reverse=True) or stars != sorted(set(stars), reverse=True):
                line, col = doc.where(("decisions", i, "bands"))
                problems.append(Problem(str(path), _(
                    "bands go from the most stars down, each with fewer points than the one "
                    "before"), line, col, field="bands"))
            if item.parts is not None and item.parts.a + item.parts.b + item.parts.c != 100:
                line, col = doc.where(("decisions", i, "parts"))
                problems.append(Problem(str(path), _("the maxima of parts A, B and C add up to "
                                                     "100"), line, col, field="parts"))
        for key in ("decisions", "processes"):
            starts = [item.start for item in getattr(parsed, key) or ()]
            if starts != sorted(starts):
                line, col = doc.where((key,))
                problems.append(Problem(str(path), _("{key} go oldest first").format(key=key),
                                        line, col, field=key))
    if problems or parsed is None:
        raise InvalidData(problems)
    if parsed.processes is None and path != bundled_dir() / RULES:
        processes = read_rules(bundled_dir() / RULES).processes  # an older file of its own
    else:
        processes = tuple(Process(p.start, p.name, {k: tuple(v) for k, v in p.next.items()},
                                  dict(p.recognised_by), tuple(p.funnel))
                          for p in parsed.processes or ())
    return Rules(
        tuple(Decision(d.decision, d.start, d.months, d.notice_days, d.recognised_from,
                       tuple((b.stars, b.min) for b in d.bands),
                       (d.parts.a, d.parts.b, d.parts.c) if d.parts else None)
              for d in parsed.decisions),
        tuple(Group(g.id, g.name, tuple(g.aliases)) for g in parsed.groups),
        processes)
