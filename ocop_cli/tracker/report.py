"""Reports offices send upward, built as plain data: an overview of every agency, one agency's
tasks in the office's table, a period (month, quarter, half, year), the per-place breakdown,
the timeline and the agency list.

`build` makes the report document (the JSON the README documents); `sections` turns it into
titled tables of rows that every output format draws. Nothing here knows of the terminal.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from heapq import merge
from typing import Any

from ocop_cli.core.directory import Directory
from ocop_cli.core.errors import UsageError
from ocop_cli.core.i18n import N_, _, format_date, format_number, language, ngettext
from ocop_cli.core.model import Agency, Entry, Plan, Task
from ocop_cli.core.query import (
    Filters,
    figures,
    role_label,
    select,
    shown_states,
    tally,
    tally_lines,
    target_json,
    task_json,
    urgency,
    whole_note,
)
from ocop_cli.core.query import (
    status_label as status_label,  # documents (export.py) draw statuses with it
)
from ocop_cli.core.state import (
    HISTORY_ORDER,
    NOT_KNOWN,
    OPEN,
    TaskState,
    effective,
    for_unit,
    month_index,
    share_of,
)
from ocop_cli.core.text import sort_key
from ocop_cli.output.render import Column
from ocop_cli.store.storage import Loaded
from ocop_cli.tracker import views

# The office's report form; in Vietnamese its headers are the form's own (TT, Nội dung, ĐVT,
# Kế hoạch, Thực hiện, Tỷ lệ %, Chủ trì / Phối hợp, Thời gian, Tình trạng, Ghi chú).
OFFICE_HEADERS = (N_("No."), N_("Content"), N_("Unit"), N_("Planned"), N_("Achieved"),
                  N_("Rate %"), N_("Lead / Partners"), N_("Time frame"), N_("Status"),
                  N_("Remarks"))


def office_headers() -> tuple[str, ...]:
    return tuple(_(h) for h in OFFICE_HEADERS)  # i18n: marked above with N_
# In a narrow terminal, text longer than this is cut on purpose (the exports keep it whole).
NARROW_CUT = {"content": 140, "agencies": 90, "remark": 70}


# --- periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date
    end: dt.date

    def months(self, plan: Plan) -> range:
        """The period's months counted from January of the plan year (as windows are)."""
        return range(month_index(plan, self.start), month_index(plan, self.end) + 1)

    def holds(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


_PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{1,2})|([qQ])(\d)|([hH])(\d)))?$")


def parse_period(text: str) -> Period:
    """`2019-07`, `2019-Q3`, `2019-H2` or `2019`; UsageError saying what is wrong otherwise."""
    cleaned = text.strip()
    match = _PERIOD.match(cleaned)
    if match is None:
        raise UsageError(_("--period: {text!r} is not a period; expected a month 2019-07, a "
                           "quarter 2019-Q3, a half 2019-H2 or a year 2019").format(text=text))
    year = int(match.group(1))
    if year < 1:
        raise UsageError(_("--period: year {year} is not a year of the calendar (1 to 9999)"
                           ).format(year=match.group(1)))
    if match.group(2):
        month = int(match.group(2))
        if not 1 <= month <= 12:
            raise UsageError(_("--period: month {month} is not between 1 and 12").format(
                month=month))
        return month_period(year, month)
    if match.group(3):
        quarter = int(match.group(4))
        if not 1 <= quarter <= 4:
            raise UsageError(_("--period: quarter {n} is not between 1 and 4").format(
                n=quarter))
        return _span(f"{year:04d}-Q{quarter}", year, 3 * quarter - 2, 3 * quarter)
    if match.group(5):
        half = int(match.group(6))
        if half not in (1, 2):
            raise UsageError(_("--period: half {n} is not 1 or 2").format(n=half))
        return _span(f"{year:04d}-H{half}", year, 6 * half - 5, 6 * half)
    return _span(f"{year:04d}", year, 1, 12)


def month_period(year: int, month: int) -> Period:
    return _span(f"{year:04d}-{month:02d}", year, month, month)


def _span(label: str, year: int, first: int, last: int) -> Period:
    end = dt.date(year, 12, 31) if last == 12 else dt.date(year, last + 1, 1) - dt.timedelta(1)
    return Period(label, dt.date(year, first, 1), end)


# --- who takes part in what -----------------------------------------------------------------


class Roles:
    """Which agencies lead and which partner each task, as `query.role_of` decides it (a
    member of a group named in a cell takes part through it), computed once per cell.
    `through_groups=False` keeps only the agencies the cells name."""

    def __init__(self, directory: Directory, through_groups: bool = True) -> None:
        self.directory = directory
        self.through_groups = through_groups
        self._memo: dict[tuple[str | None, tuple[str, ...]],
                         tuple[frozenset[str], frozenset[str]]] = {}

    def _expand(self, ref: str | None) -> set[str]:
        if ref is None:
            return set()
        group = self.directory.by_id.get(ref) if self.through_groups else None
        return {ref, *(group.members if group else ())}

    def of(self, task: Task) -> tuple[frozenset[str], frozenset[str]]:
        key = (task.lead, task.partners)
        if key not in self._memo:
            leads = self._expand(task.lead)
            partners = set().union(*(self._expand(p) for p in task.partners)) - leads
            self._memo[key] = (frozenset(leads), frozenset(partners))
        return self._memo[key]

    def role(self, task: Task, agency_id: str) -> str | None:
        leads, partners = self.of(task)
        return "lead" if agency_id in leads else "partner" if agency_id in partners else None


# --- the report document ---------------------------------------------------------------------


def head(kind: str, plan: Plan, as_of: dt.date, agency: Agency | None = None,
         period: Period | None = None) -> dict[str, Any]:
    """The keys every report starts with: which report, plan, as-of date, agency, period."""
    return {
        "report": kind,
        "plan": {"number": plan.number, "year": plan.year, "years": plan.years,
                 "title": plan.title},
        "as_of": as_of.isoformat(),
        "agency": ({"id": agency.id, "short": agency.short, "name": agency.name}
                   if agency else None),
        "period": ({"label": period.label, "start": period.start.isoformat(),
                    "end": period.end.isoformat()} if period else None),
    }


def build(loaded: Loaded, states: dict[str, TaskState], as_of: dt.date,
          agency: Agency | None = None, period: Period | None = None,
          sort: str = "plan", every_task: bool = False) -> dict[str, Any]:
    """The report as plain data: an overview without filters, one agency's tasks with
    `agency`, what a period brought with `period` (narrowed to `agency` when both).
    `every_task` adds every task of the report in plan order (`all`), for documents.

    Tasks come in the plan's order (TT); `sort="urgency"` puts overdue first, then due.
    When `agency` is a district unit, or part of one, a shared task's figures are the unit's
    own share, with the whole task's under `whole`."""
    plan, directory = loaded.plan, loaded.directory
    roles = Roles(directory)
    leaves = plan.leaves()
    if agency is not None:
        leaves = [t for t in leaves if roles.role(t, agency.id)]
    unit = directory.unit_of(agency.id) if agency else None
    listed = {t.id for t in leaves}
    above = {p for t in leaves for p in _ancestors(plan, t)}
    wanted = listed | above
    shown = shown_states(plan, states, [t for t in plan.tasks if t.id in wanted], unit, as_of)
    doc = head("period" if period else "agency" if agency else "overview", plan, as_of,
               agency, period)
    doc["sort"] = sort
    doc["counts"] = _counts([shown[t.id] for t in leaves])
    doc["source"] = {k: str(plan.facts[k]) if plan.facts.get(k) is not None else None
                     for k in ("issuer", "dated")}
    # The rows a table in plan order shows above their sub-rows: no quantity of their own
    # (their sub-rows' may be in different units), status and timing from the sub-rows.
    doc["parents"] = [task_row(plan, t, shown[t.id], directory) | {
        "achieved": None, "percent": None} for t in plan.tasks if t.id in above]

    def row(t: Task) -> dict[str, Any]:
        share = unit if unit in t.shared_by else None
        return task_row(plan, t, shown[t.id], directory,
                        roles.role(t, agency.id) if agency else None,
                        states[t.id] if share else None, share)

    def rows(tasks: list[Task]) -> Rows:
        if sort == "urgency":  # a stable sort, by the figures each row shows
            tasks = sorted(tasks, key=lambda t: urgency(figures(shown[t.id])))
        return Rows(tasks, row)

    overdue = [t for t in leaves if shown[t.id].timing == "overdue"]
    if sort == "urgency":
        overdue.sort(key=_oldest)
    if every_task:
        doc["all"] = rows(leaves)
    if period is not None:
        months = period.months(plan)
        doc["due"] = rows([t for t in leaves if t.window and t.window.last in months])
        doc["achieved"] = achieved_in(plan, shown, leaves, period, directory,
                                      in_force(loaded, as_of, period), unit)
        doc["late"] = rows(overdue)
        near = [t for t in leaves if t.window and set(t.window.months) & set(months)]
        doc["places"] = places(loaded, states, near)
    elif agency is not None:
        doc["tasks"] = rows(leaves)
        doc["duties"] = duties(directory, agency)
        doc["places"] = places(loaded, states, leaves)
    else:
        # Named as the table names them: the 12 district units would each repeat the row of
        # the district group they belong to (`--agency` shows one unit's share).
        named = Roles(directory, through_groups=False)
        doc["agencies"] = agency_summary(plan, states, directory, named)
        doc["matrix"] = matrix(plan, states, directory, named, as_of)
        doc["overdue"] = rows(overdue)
        doc["places"] = places(loaded, states, leaves)
        from ocop_cli.tracker.product_views import overview

        found = overview(loaded, as_of)
        if found is not None:
            doc["products"] = found
    return doc


class Rows(views.Rows):
    """A report's rows, each made from its item when it is read (as a listing's are): a
    report of tens of thousands of rows is then written without holding them all (each read
    makes it again, the same)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (list, Rows)) and list(self) == list(other)

    def map(self, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Rows:
        """Each row changed by `change`, as it is read."""
        make = self.make
        return Rows(self.items, lambda item: change(make(item)))

    def with_parents(self, parents: dict[str, dict[str, Any]] | None) -> Rows:
        """`with_parents` of these rows, still made as read (each made once here, to find
        its parent, and let go)."""
        if parents is None:
            return self
        items: list[tuple[bool, Any]] = []
        for item, (_row, above) in zip(self.items, _parents_before(self, parents),
                                       strict=True):
            items += [(False, row) for row in above]
            items.append((True, item))
        make = self.make
        return Rows(items, lambda pair: make(pair[1]) if pair[0] else pair[1])

    def sorted(self, key: Callable[[dict[str, Any]], Any]) -> Rows:
        """The rows in the order `sorted(rows, key=key)` gives them, still made as read:
        only each row's key is held while they are sorted."""
        keys = [key(row) for row in self]
        order = sorted(range(len(keys)), key=keys.__getitem__)
        return Rows([self.items[at] for at in order], self.make)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(list(self))


def task_row(plan: Plan, task: Task, state: TaskState, directory: Directory,
             role: str | None = None, whole: TaskState | None = None,
             place: str | None = None) -> dict[str, Any]:
    """A task as `ocop tasks --format json` gives it, with what the report form adds."""
    row = task_json(plan, task, state, directory, role, whole, place)
    parent = plan.task(task.parent) if task.parent else None
    row["parent_title"] = parent.title if parent else None
    target = state.task.target
    row["target_text"] = target.text if target else None
    row["percent"] = state.percent
    row["note"] = state.note
    row["ref"] = state.ref
    if whole is not None:
        row["whole"]["target_text"] = task.target.text if task.target else None
    return row


def _ancestors(plan: Plan, task: Task) -> list[str]:
    found = []
    while task.parent is not None and task.parent in plan.index:  # check reports a stray one
        found.append(task.parent)
        task = plan.index[task.parent]
    return found


def _oldest(task: Task) -> tuple[int, int]:
    window = task.window
    return (window.last, window.first) if window else (99, 99)


def _counts(states: list[TaskState]) -> dict[str, Any]:
    """One agency's roll-up: it counts tasks and never adds quantities (conferences, classes
    and cooperatives do not add up). A cancelled task is counted as such and leaves every
    other figure: `percent` is tasks done of those not cancelled."""
    counts: dict[str, Any] = tally(states)
    live = [s for s in states if s.status != "cancelled"]
    quantity = [s for s in live if s.task.target is not None]
    units = {s.task.unit for s in quantity}
    # The sum of quantities means something only for counts of one unit (percentages of
    # different populations do not add up either).
    one_unit = len(units) == 1 and all(s.task.target and s.task.target.kind == "count"
                                       for s in quantity)
    counts.update({
        "counted": len(live),
        "quantity_tasks": len(quantity),
        "quantity_met": sum(1 for s in quantity if s.missing == 0),
        "unit": units.pop() if one_unit else None,
        "achieved": sum(s.achieved for s in quantity) if one_unit else None,
        "target": sum(s.task.target.min for s in quantity if s.task.target)
        if one_unit else None,
        "percent": round(100 * counts["done"] / len(live), 1) if live else None,
    })
    return counts


def _involved(plan: Plan, states: dict[str, TaskState], roles: Roles
              ) -> dict[str, tuple[list[TaskState], list[TaskState]]]:
    """For each agency taking part in any leaf task: its states as lead and as partner."""
    found: dict[str, tuple[list[TaskState], list[TaskState]]] = {}
    for task in plan.leaves():
        leads, partners = roles.of(task)
        for agency_id in leads:
            found.setdefault(agency_id, ([], []))[0].append(states[task.id])
        for agency_id in partners:
            found.setdefault(agency_id, ([], []))[1].append(states[task.id])
    return found


def _ordered(directory: Directory, ids: Any) -> list[str]:
    return sorted(ids, key=lambda i: sort_key(directory.short(i) or i))


def agency_summary(plan: Plan, states: dict[str, TaskState], directory: Directory,
                   roles: Roles) -> list[dict[str, Any]]:
    involved = _involved(plan, states, roles)
    return [{"id": agency_id, "agency": directory.short(agency_id),
             "lead": _counts(involved[agency_id][0]),
             "partner": _counts(involved[agency_id][1])}
            for agency_id in _ordered(directory, involved)]


def plan_months(plan: Plan) -> list[int]:
    """The months of the plan's years that some window covers, first to last."""
    months = [m for t in plan.leaves() if t.window for m in t.window.months]
    if not months:
        return list(range(1, plan.span + 1))
    return list(range(min(months), max(months) + 1))


def matrix(plan: Plan, states: dict[str, TaskState], directory: Directory, roles: Roles,
           as_of: dt.date) -> dict[str, Any]:
    """Agency × month: how many of its tasks are open in each month, and how many of those
    are overdue. In a plan over several years, the months of the as-of date's year."""
    months = plan_months(plan)
    year = None
    if plan.span > 12:
        year = min(max(as_of.year, plan.year), plan.last_year)
        months = [m + 12 * (year - plan.year) for m in range(1, 13)]
    # Tasks sharing the same agencies, months and lateness are counted together first: a
    # large plan repeats a few dozen such combinations thousands of times.
    combos: Counter[tuple[frozenset[str], tuple[int, ...], bool]] = Counter()
    taking_part: set[str] = set()
    for task in plan.leaves():
        leads, partners = roles.of(task)
        taking_part |= leads | partners
        state = states[task.id]
        if task.window and state.status in OPEN:
            combos[(leads | partners, task.window.months, state.timing == "overdue")] += 1
    cells: dict[str, dict[int, list[int]]] = {}
    for (agencies, task_months, late), n in combos.items():
        for agency_id in agencies:
            row = cells.setdefault(agency_id, {})
            for month in task_months:
                cell = row.setdefault(month, [0, 0])
                cell[0] += n
                cell[1] += n if late else 0
    rows = []
    for agency_id in _ordered(directory, taking_part):
        row = cells.get(agency_id, {})
        rows.append({"id": agency_id, "agency": directory.short(agency_id), "cells": [
            {"month": m, "open": row.get(m, [0, 0])[0], "overdue": row.get(m, [0, 0])[1]}
            for m in months]})
    return {"months": months, "year": year,
            "labels": [f"T{plan.calendar_month(m)[1]}" for m in months],
            "as_of_month": month_index(plan, as_of), "rows": rows}


def in_force(loaded: Loaded, as_of: dt.date, period: Period) -> Iterable[Entry]:
    """The entries in force on `as_of` dated inside `period`, in the order they happened
    (each task's as its replay reads them): from the index, read as they are used."""
    end = min(period.end, as_of)
    if loaded.index is None:
        return [e for e in effective(loaded.replay(), end) if e.date >= period.start]
    undone = loaded.index.undone()
    counted = [e for e in effective(loaded.counted, end)
               if e.date >= period.start and e.id not in undone]
    history = (e for e in loaded.index.ordered(period.start, end)
               if e.action != "undo" and e.id not in undone)
    return merge(history, counted, key=HISTORY_ORDER) if counted else history


def achieved_in(plan: Plan, states: dict[str, TaskState], tasks: list[Task], period: Period,
                directory: Directory, entries: Iterable[Entry], unit: str | None = None
                ) -> Rows:
    """Per task: what its `entries` (those in force dated inside the period, in order)
    recorded; a shared task's in a unit's report, those at the unit."""
    wanted = {t.id: t.id for t in tasks}  # each task's id, kept once
    # Per task: entries, qty, last date, actions and places in the order first seen (tuples,
    # one for each combination: tens of thousands of tasks share a few hundred).
    inside: dict[str, list[Any]] = {}
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
    for e in entries:
        if e.task not in wanted or e.action == "note":
            continue
        if unit and unit in plan.index[e.task].shared_by and e.place != unit:
            continue
        held = inside.get(e.task)
        if held is None:
            held = inside[wanted[e.task]] = [0, 0, None, (), ()]
        held[0] += 1
        held[1] += (e.qty or 0) if e.action in ("progress", "done") else 0
        held[2] = e.date
        if e.action not in held[3]:
            actions = (*held[3], e.action)
            held[3] = shared.setdefault(actions, actions)
        if e.place:
            place = directory.short(e.place)
            if place not in held[4]:
                places = (*held[4], place)
                held[4] = shared.setdefault(places, places)

    def row(task: Task) -> dict[str, Any]:
        count, qty, last, actions, places = inside[task.id]
        state = states[task.id]
        target = state.task.target  # a unit's share when the report is a unit's
        return {
            "id": task.id, "parent": task.parent, "title": task.title,
            "parent_title": _parent_title(plan, task), "unit": task.unit,
            "target": target_json(target),
            "target_text": target.text if target else None,
            "achieved": state.achieved, "status": state.status, "timing": state.timing,
            "qty": qty, "entries": count, "last": last.isoformat(),
            "actions": list(actions), "places": list(places),
        }
    return Rows([task for task in tasks if task.id in inside], row)


def district_units(directory: Directory) -> list[Agency]:
    return list(directory.units)


def places(loaded: Loaded, states: dict[str, TaskState], tasks: list[Task]) -> Rows:
    """For each task shared by district units: each unit's share, quantity and status, and
    what was recorded without naming a unit. A unit's `done` is null when it is not known
    (the whole was met, or marked done, without saying where)."""
    directory = loaded.directory

    def row(task: Task) -> dict[str, Any]:
        state = states[task.id]
        share = share_of(task)
        per_unit = []
        for unit in task.shared_by:
            status = state.units.get(unit, "not_started")
            per_unit.append({
                "id": unit, "place": directory.short(unit),
                "qty": state.places.get(unit, 0) if status != NOT_KNOWN else None,
                "done": None if status == NOT_KNOWN else status == "done",
                "status": None if status == NOT_KNOWN else status})
        return {
            "id": task.id, "title": task.title,
            "parent_title": _parent_title(loaded.plan, task),
            "status": state.status, "timing": state.timing, "achieved": state.achieved,
            "target": target_json(task.target),
            "per_unit": share.min if share else None,
            "share": {"min": share.min, "max": share.max} if share else None,
            "units": per_unit,
            "units_done": sum(1 for u in per_unit if u["done"]),
            "units_not_known": sum(1 for u in per_unit if u["done"] is None),
            "units_total": len(per_unit),
            "not_by_unit": state.unassigned,
        }
    return Rows([task for task in tasks if task.shared_by], row)


def _parent_title(plan: Plan, task: Task) -> str | None:
    parent = plan.task(task.parent) if task.parent else None
    return parent.title if parent else None


def duties(directory: Directory, agency: Agency) -> list[dict[str, Any]]:
    """Section V: the agency's own duties, then those of each group it belongs to."""
    found = [{"n": i, "text": d, "agency": agency.short}
             for i, d in enumerate(agency.duties, 1)]
    for group in directory.agencies:
        if agency.id in group.members:
            found += [{"n": len(found) + i, "text": d, "agency": group.short}
                      for i, d in enumerate(group.duties, 1)]
    return found


# --- `ocop agencies` and `ocop timeline` ---------------------------------------------------


def agency_list(loaded: Loaded, states: dict[str, TaskState], as_of: dt.date
                ) -> list[dict[str, Any]]:
    """Every agency of the directory with how many leaf tasks it leads and partners; a
    district unit's (and its office's) open and overdue count its own shares."""
    directory = loaded.directory
    involved = _involved(loaded.plan, states, Roles(directory))
    found = []
    for agency_id in _ordered(directory, directory.by_id):
        agency = directory.by_id[agency_id]
        lead, partner = involved.get(agency_id, ([], []))
        unit = directory.unit_of(agency_id)
        if unit is not None:
            lead = [for_unit(loaded.plan, st, unit, as_of) for st in lead]
            partner = [for_unit(loaded.plan, st, unit, as_of) for st in partner]
        found.append({
            "id": agency.id, "short": agency.short, "name": agency.name,
            "level": agency.level, "kind": agency.kind, "aliases": list(agency.aliases),
            "members": list(agency.members), "lead": len(lead), "partner": len(partner),
            "open": sum(1 for s in (*lead, *partner) if s.status in OPEN),
            "overdue": sum(1 for s in (*lead, *partner) if s.timing == "overdue"),
        })
    return found


def timeline(loaded: Loaded, states: dict[str, TaskState], as_of: dt.date,
             agency: Agency | None = None) -> dict[str, Any]:
    """One row per task (a parent before its sub-rows), with its months, status and timing,
    over the months the plan's windows span."""
    plan = loaded.plan
    roles = Roles(loaded.directory)
    if agency is None:
        tasks = list(plan.tasks)
    else:
        mine = [t for t in plan.leaves() if roles.role(t, agency.id)]
        tasks = select(plan, states, loaded.directory, Filters(), within=mine)
    unit = loaded.directory.unit_of(agency.id) if agency else None
    shown = shown_states(plan, states, tasks, unit, as_of)

    def row(t: Task) -> dict[str, Any]:
        return {"id": t.id, "title": t.title, "depth": t.id.count("."),
                "leaf": plan.is_leaf(t.id), "window": t.window.text if t.window else None,
                "months": list(t.window.months) if t.window else [],
                "status": None if shown[t.id].status == NOT_KNOWN else shown[t.id].status,
                "timing": shown[t.id].timing}
    rows = Rows(tasks, row)
    months = plan_months(plan)
    at = month_index(plan, as_of)
    if 1 <= at <= plan.span and at not in months:
        months = list(range(min(months[0], at), max(months[-1], at) + 1))  # show the as-of date
    return {"months": months, "labels": [plan.month_label(m) for m in months], "as_of_month": at,
            "as_of": as_of.isoformat(), "rows": rows}


# --- sections: the document as titled tables -------------------------------------------------


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: Sequence[dict[str, Any]]  # a list, or `Rows` made as they are read
    grid: bool = False  # many short cells (the agency × month matrix): drawn compactly
    marks: dict[int, set[str]] = field(default_factory=dict)  # row index -> keys to flag


def heading(doc: dict[str, Any], iso: bool = False) -> list[tuple[str, str]]:
    """The title rows every format starts with: plan, period, as-of date, agency; dates as
    the language writes them, or ISO with `iso` (CSV)."""
    plan = doc["plan"]
    day = (lambda text: text) if iso else shown_day
    facts = [(_("Plan"), f"{plan['number']} ({plan['years']}): {plan['title']}")]
    if doc["period"]:
        period = doc["period"]
        label = period["label"] if iso else period_title(period["label"])
        facts.append((_("Period"), f"{label} ({day(period['start'])} – {day(period['end'])})"))
    facts.append((_("As of"), day(doc["as_of"])))
    if doc["agency"]:
        facts.append((_("Agency"), f"{doc['agency']['short']} ({doc['agency']['name']})"))
    return facts


def sections(doc: dict[str, Any], narrow: bool = False) -> list[Section]:
    """The document's tables in order; `narrow` folds the office table into fewer columns
    (each header still the form's own) and cuts very long text, for small terminals."""
    found: list[Section] = []
    kind = doc["report"]
    above = parents_of(doc)

    def office(key: str, title: str, rows: Iterable[dict[str, Any]]) -> Section:
        return (narrow_office if narrow else office_section)(key, title, rows, above)

    if kind == "products":
        from ocop_cli.tracker.product_views import sections as product_sections

        return product_sections(doc["products"])
    if kind == "overview":
        found.append(agencies_narrow(doc) if narrow else agencies_section(doc))
        found.append(matrix_section(doc))
        found.append(office("overdue", _("Overdue tasks, oldest window first"), doc["overdue"]))
    elif kind == "agency":
        status, timing = tally_lines(doc["counts"])
        found.append(office("tasks", _("Tasks of {agency} as lead and as partner").format(
            agency=doc["agency"]["short"]) + f" ({status}; {timing})", doc["tasks"]))
        found.append(duties_section(doc))
    else:
        label = period_name(doc["period"])
        found.append(office("due", _("Due in {period}").format(period=label), doc["due"]))
        found.append(achieved_section(doc, narrow, above))
        late = _("Late as of {date}").format(date=shown_day(doc["as_of"]))
        found.append(office("late", late, doc["late"]))
    found.append(places_section(doc))
    if doc.get("products"):
        from ocop_cli.tracker.product_views import sections as product_sections

        found += product_sections(doc["products"])
    return found


def _content(row: dict[str, Any], nested: bool = False) -> str:
    """A task's text in a table: its own title under its parent's row (`nested`), else
    read with its parent's ("Tập huấn cán bộ …: Cấp huyện")."""
    parent = row.get("parent_title")
    return f"{parent}: {row['title']}" if parent and not nested else row["title"]


def parents_of(doc: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """The parent rows a report's tables show above their sub-rows, by id; None when its
    tasks are listed by urgency (a parent row then heads nothing)."""
    if doc.get("sort") == "urgency" or "parents" not in doc:
        return None
    return {row["id"]: row for row in doc["parents"]}


def with_parents(rows: Iterable[dict[str, Any]], parents: dict[str, dict[str, Any]] | None
                 ) -> Iterator[dict[str, Any]]:
    """Rows in plan order with each parent row (TT 1) before its first sub-row (1.1), as
    the signed plan's table has them; `rows` unchanged without `parents`. Given as they are
    read, so that rows made as they are read (`Rows`) are let go once used."""
    if parents is None:
        yield from rows
        return
    for row, above in _parents_before(rows, parents):
        yield from above
        yield row


def _parents_before(rows: Iterable[dict[str, Any]], parents: dict[str, dict[str, Any]]
                    ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each row with the parent rows that go just before it (outermost first)."""
    placed: set[str] = set()
    for row in rows:
        chain = []
        parent = row.get("parent")
        while parent in parents and parent not in placed:
            chain.append(parents[parent])
            placed.add(parent)
            parent = parents[parent].get("parent")
        yield row, chain[::-1]


def _agencies_cell(row: dict[str, Any]) -> str:
    partners = "; ".join(p for p in row["partners"] if p)
    return f"{row['lead'] or ''} / {partners}" if partners else row["lead"] or ""


def _target_value(row: dict[str, Any]) -> int | str | None:
    target = row["target"]
    if target is None:
        return None
    plain = target["min"] == target["max"] and not target["qualifier"] and target["kind"] == "count"
    return int(target["min"]) if plain else str(target["shown"])


def _style(row: dict[str, Any]) -> str:
    return str(row["timing"] if row["timing"] in ("overdue", "due") else row["status"])


def office_columns() -> list[Column]:
    keys = ("id", "content", "unit", "target", "achieved", "percent", "agencies", "window",
            "state", "remark")
    widths = (None, None, 14, None, None, None, 26, None, 16, 26)
    numeric = {"target", "achieved", "percent"}
    return [Column(k, h, max_width=w, numeric=k in numeric)
            for k, h, w in zip(keys, office_headers(), widths, strict=True)]


def office_rows(rows: Iterable[dict[str, Any]], nested: bool = False) -> list[dict[str, Any]]:
    """The office table's cells; `nested` when the rows hold their parents' rows (a parent
    row, `_parent`, is no task of the counts and totals)."""
    return [office_row(row, nested) for row in rows]


def office_row(row: dict[str, Any], nested: bool = False) -> dict[str, Any]:
    has_quantity = row["target"] is not None or row["achieved"]
    return {
        "id": row["id"], "content": _content(row, nested), "unit": row["unit"],
        "target": _target_value(row),
        "achieved": row["achieved"] if has_quantity else None,
        "percent": row["percent"], "agencies": _agencies_cell(row),
        "window": row["window"],
        "state": status_label(row["status"], row["timing"]) + whole_note(row),
        "remark": "; ".join(x for x in (row["note"], row["ref"]) if x) or None,
        "role": role_label(row.get("role")), "_style": _style(row),
        "_parent": row.get("leaf") is False,
    }


def office_section(key: str, title: str, rows: Iterable[dict[str, Any]],
                   parents: dict[str, dict[str, Any]] | None = None) -> Section:
    nested = parents is not None
    if isinstance(rows, Rows):  # still made as they are read
        return Section(key, title, office_columns(), rows.with_parents(parents).map(
            lambda row: office_row(row, nested)))
    return Section(key, title, office_columns(), office_rows(with_parents(rows, parents), nested))


def _cut(text: str | None, limit: int) -> str:
    if not text:
        return ""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def narrow_office(key: str, title: str, rows: Iterable[dict[str, Any]],
                  parents: dict[str, dict[str, Any]] | None = None) -> Section:
    """The office table in five columns: the form's headers stacked, its cells with them."""
    rows = list(with_parents(rows, parents))
    h = office_headers()
    columns = [
        Column("id", h[0]),
        Column("content", f"{h[1]}\n» {h[6]}"),
        Column("amount", f"{h[4]} / {h[3]}\n{h[2]}\n{h[5]}", max_width=14),
        Column("when", f"{h[7]}\n{h[8]}", max_width=13),
        Column("remark", h[9], max_width=16),
    ]
    shown = []
    for row, full in zip(rows, office_rows(rows, parents is not None), strict=True):
        amount = []
        if full["target"] is not None or full["achieved"] is not None:
            done = "–" if row["status"] is None else full["achieved"] or 0  # not known
            amount.append(f"{done} / {full['target'] or '–'}")
        if row["unit"]:
            amount.append(_cut(row["unit"], 40))
        if row["percent"] is not None:
            amount.append(f"{format_number(row['percent'])}%")
        agencies = full["agencies"] and "\n» " + _cut(full["agencies"], NARROW_CUT["agencies"])
        shown.append({
            "id": row["id"],
            "content": _cut(full["content"], NARROW_CUT["content"]) + agencies,
            "amount": "\n".join(amount),
            "when": "\n".join(x for x in (row["window"], full["state"]) if x),
            "remark": _cut(full["remark"], NARROW_CUT["remark"]), "_style": full["_style"],
            "_parent": full["_parent"],
        })
    return Section(key, title, columns, shown)


_COUNT_KEYS = ("tasks", "done", "in_progress", "not_started", "cancelled", "overdue", "due",
               "upcoming", "quantity_met", "percent")


def agencies_section(doc: dict[str, Any]) -> Section:
    headers = (_("Tasks"), _("Done"), _("In progress"), _("Not started"), _("Cancelled"),
               _("Overdue"), _("Due"), _("Upcoming"), _("Targets met"), _("% done"))
    columns = [Column("agency", _("Agency"), max_width=30), Column("role", _("Role"))]
    columns += [Column(k, h, numeric=True) for k, h in zip(_COUNT_KEYS, headers, strict=True)]
    rows = []
    for item in doc["agencies"]:
        for role in ("lead", "partner"):
            counts = item[role]
            if counts["tasks"]:
                met = (f"{counts['quantity_met']}/{counts['quantity_tasks']}"
                       if counts["quantity_tasks"] else None)
                rows.append({"agency": item["agency"], "role": role_label(role),
                             **{k: counts[k] for k in _COUNT_KEYS}, "quantity_met": met,
                             "_style": "overdue" if counts["overdue"] else None})
    return Section("agencies", _("Agencies as lead and as partner (tasks counted; done of "
                                 "those not cancelled)"), columns, rows)


def summary(counts: dict[str, Any]) -> str:
    """One agency's counts in words, for narrow terminals: by status, then the open ones by
    timing, then tasks done of those not cancelled."""
    if not counts["tasks"]:
        return ""
    status, timing = tally_lines(counts)
    text = status + ("; " + timing if counts["open"] else "")
    if counts["percent"] is not None:
        text += "; " + _("{percent}% done").format(percent=format_number(counts["percent"]))
    return text


def agencies_narrow(doc: dict[str, Any]) -> Section:
    columns = [Column("agency", _("Agency"), max_width=24), Column("lead", _("As lead")),
               Column("partner", _("As partner"))]
    rows = [{"agency": item["agency"], "lead": summary(item["lead"]),
             "partner": summary(item["partner"]),
             "_style": "overdue" if item["lead"]["overdue"] + item["partner"]["overdue"]
             else None} for item in doc["agencies"]]
    return Section("agencies", _("Agencies as lead and as partner"), columns, rows)


def matrix_section(doc: dict[str, Any]) -> Section:
    grid = doc["matrix"]
    columns = [Column("agency", _("Agency"), max_width=28)]
    columns += [Column(f"m{m}", label, numeric=True)
                for m, label in zip(grid["months"], grid["labels"], strict=True)]
    rows, marks = [], {}
    for i, item in enumerate(grid["rows"]):
        row: dict[str, Any] = {"agency": item["agency"]}
        for cell in item["cells"]:
            row[f"m{cell['month']}"] = cell["open"]
        late = {f"m{c['month']}" for c in item["cells"] if c["overdue"]}
        if late:
            marks[i] = late
        rows.append(row)
    title = _("Open tasks by month (! = some overdue)")
    if grid.get("year"):
        title = _("Open tasks by month of {year} (! = some overdue)").format(year=grid["year"])
    return Section("matrix", title, columns, rows, grid=True, marks=marks)


def marked_rows(section: Section, flag: str = "!") -> Sequence[dict[str, Any]]:
    """Rows with flagged cells written with `flag` after them, for formats without colour."""
    if not section.marks:
        return section.rows
    rows = []
    for i, row in enumerate(section.rows):
        keys = section.marks.get(i, set())
        rows.append({k: f"{v}{flag}" if k in keys else v for k, v in row.items()})
    return rows


def duties_section(doc: dict[str, Any]) -> Section:
    columns = [Column("n", office_headers()[0], numeric=True),
               Column("text", _("Duty (section V)"))]
    if any(d["agency"] != doc["agency"]["short"] for d in doc["duties"]):
        columns.append(Column("agency", _("As member of"), max_width=24))
    return Section("duties", _("Duties of {agency} in section V of the plan").format(
        agency=doc["agency"]["short"]), columns, list(doc["duties"]))


def achieved_section(doc: dict[str, Any], narrow: bool = False,
                     parents: dict[str, dict[str, Any]] | None = None) -> Section:
    h = office_headers()
    columns = [Column("id", h[0]), Column("content", h[1]),
               Column("qty", _("In the period"), numeric=True),
               Column("achieved", h[4], numeric=True),
               Column("target", h[3], numeric=True),
               Column("state", h[8], max_width=16),
               Column("last", _("Last entry"))]
    if not narrow:
        columns.insert(2, Column("unit", h[2], max_width=14))
        columns.append(Column("places", _("Places"), max_width=24))
    nested = parents is not None

    def content(r: dict[str, Any]) -> str:
        return _cut(_content(r, nested), NARROW_CUT["content"]) if narrow else _content(r, nested)

    def cells(r: dict[str, Any]) -> dict[str, Any]:
        if r.get("leaf") is False:
            return {"id": r["id"], "content": content(r),
                    "state": status_label(r["status"], r["timing"]), "_style": _style(r),
                    "_parent": True}
        return {"id": r["id"], "content": content(r),
                "unit": r["unit"], "qty": r["qty"], "achieved": r["achieved"],
                "target": _target_value(r), "state": status_label(r["status"], r["timing"]),
                "last": r["last"], "places": r["places"], "_style": _style(r)}

    rows = doc["achieved"].with_parents(parents).map(cells)  # made as read
    return Section("achieved", _("Achieved in {period} (entries dated inside it)").format(
        period=period_name(doc["period"])), columns, rows)


def places_section(doc: dict[str, Any]) -> Section:
    total = doc["places"][0]["units_total"] if doc["places"] else 12
    h = office_headers()
    columns = [Column("id", h[0]), Column("content", h[1], max_width=30),
               Column("share", _("Share"), numeric=True),
               Column("units_done", _("Units done (of {n})").format(n=total), numeric=True),
               Column("done_in", _("Done"), max_width=30),
               Column("not_yet", _("Not yet"), max_width=30),
               Column("not_known", _("Not known"), max_width=30),
               Column("not_by_unit", _("Not assigned to a unit"), numeric=True)]

    def named(p: dict[str, Any], *statuses: str | None) -> str:
        return ", ".join(u["place"] for u in p["units"] if u["status"] in statuses)

    rows = [{"id": p["id"], "content": _content(p), "share": p["per_unit"],
             "units_done": p["units_done"],
             "done_in": named(p, "done"),
             "not_yet": named(p, "not_started", "in_progress"),
             "not_known": named(p, None),
             "not_by_unit": p["not_by_unit"] or None,
             "_style": "done" if p["units_done"] == p["units_total"] else None}
            for p in doc["places"]]
    return Section("places", _("By district unit (tasks each unit holds a share of)"), columns,
                   rows)


def agency_list_section(items: list[dict[str, Any]]) -> Section:
    columns = [Column("short", _("Agency"), max_width=28), Column("name", _("Name"),
                                                                  max_width=40),
               Column("level", _("Level")), Column("lead", _("Lead"), numeric=True),
               Column("partner", _("Partner"), numeric=True),
               Column("open", _("Open"), numeric=True),
               Column("overdue", _("Overdue"), numeric=True)]
    levels = {"central": _("central"), "province": _("province"), "district": _("district"),
              "commune": _("commune")}
    rows = [{**item, "level": levels.get(item["level"], item["level"]),
             "_style": "overdue" if item["overdue"] else None} for item in items]
    return Section("agencies", _("Agencies"), columns, rows)


# --- the administrative document: subject, summary, tables in plan order ----------------------


def shown_day(iso: str | None) -> str:
    """An ISO date as the language writes it (15/09/2019 in Vietnamese)."""
    return format_date(dt.date.fromisoformat(iso)) if iso else ""


def period_name(period: dict[str, Any]) -> str:
    """`2019-Q3` as a sentence says it: "quý III năm 2019", "the third quarter of 2019"."""
    label = period["label"]
    year, _dash, part = label.partition("-")
    if not part:
        return _("the year {year}").format(year=year)
    if part[0] in "Qq":
        return _("quarter {n} of {year}").format(n=("I", "II", "III", "IV")[int(part[1]) - 1],
                                                 year=year)
    if part[0] in "Hh":
        return (_("the first half of {year}") if part[1] == "1"
                else _("the second half of {year}")).format(year=year)
    from babel.dates import get_month_names

    # "July 2019"; "tháng 7 năm 2019", as officials write a month in a report's subject
    month = get_month_names("wide", locale=language())[int(part)]
    return _("{month} {year}").format(month=month, year=year)


def period_title(label: str) -> str:
    """A period as a heading names it: in Vietnamese as officials write it ("Tháng 7/2019",
    "Quý III/2019", "6 tháng đầu năm 2019", "Năm 2019"), in English as typed (2019-Q3), as
    `format_date` writes a date in each language."""
    if language() != "vi":
        return label
    year, _dash, part = label.partition("-")
    if not part:
        return f"Năm {year}"
    if part[0] in "Qq":
        return f"Quý {('I', 'II', 'III', 'IV')[int(part[1]) - 1]}/{year}"
    if part[0] in "Hh":
        return f"6 tháng {'đầu' if part[1] == '1' else 'cuối'} năm {year}"
    return f"Tháng {int(part)}/{year}"


def subject(doc: dict[str, Any]) -> str:
    """The line under the kind of document (trích yếu): what the report is about."""
    plan, source = doc["plan"], doc.get("source") or {}
    if doc["report"] == "products":
        text = _("OCOP products registered and ranked under Plan No. {number}").format(
            number=plan["number"])
        return text + _(", as of {date}").format(date=shown_day(doc["as_of"]))
    text = _("Results of implementing Plan No. {number}").format(number=plan["number"])
    if source.get("dated"):
        text += " " + _("dated {date}").format(date=shown_day(source["dated"]))
    if source.get("issuer"):
        text += " " + _("of {issuer}").format(issuer=source["issuer"])
    if doc["agency"]:
        text += " " + _("for the tasks of {agency}").format(agency=doc["agency"]["short"])
    if doc["period"]:
        text += " " + _("in {period}").format(period=period_name(doc["period"]))
    return text + _(", as of {date}").format(date=shown_day(doc["as_of"]))


def _tally(counts: dict[str, Any]) -> str:
    """`2 done, 1 in progress, 14 not started`: the statuses, which partition the tasks."""
    parts = [(counts["done"], _("{n} done")), (counts["in_progress"], _("{n} in progress")),
             (counts["not_started"], _("{n} not started")),
             (counts["cancelled"], _("{n} cancelled")),
             (counts.get("not_known", 0), _("{n} not known"))]
    return ", ".join(label.format(n=n) for n, label in parts if n) or _("none")


def _late_part(counts: dict[str, Any]) -> str:
    parts = [(counts["overdue"], _("{n} overdue")), (counts["due"], _("{n} due this month"))]
    return ", ".join(label.format(n=n) for n, label in parts if n)


def sentences(doc: dict[str, Any], named: int = 15) -> list[str]:
    """The body of the document in full sentences: how many tasks are done, in progress, not
    started, overdue; by lead agency; the overdue ones by name (the first `named`)."""
    if doc["report"] == "products":
        from ocop_cli.tracker.product_views import sentences as about_products

        return about_products(doc)
    counts, day = doc["counts"], shown_day(doc["as_of"])
    found = []
    tasks = ngettext("{n} task", "{n} tasks", counts["tasks"]).format(n=counts["tasks"])
    if doc["agency"]:
        opening = _("As of {date}, {agency} takes part in {tasks} of the plan, as lead or as "
                    "partner: {tally}.")
    else:
        opening = _("As of {date}, the plan has {tasks}: {tally}.")
    found.append(opening.format(date=day, agency=(doc["agency"] or {}).get("short"),
                                tasks=tasks, tally=_tally(counts)))
    late = _late_part(counts)
    if late:
        found.append(_("Of the open tasks, {late}.").format(late=late))
    if doc["report"] == "overview":
        leads = [f"{item['agency']} ({_tally(item['lead'])})" for item in doc["agencies"]
                 if item["lead"]["tasks"]]
        if leads:
            found.append(_("By lead agency: {list}.").format(list="; ".join(leads)))
    if doc["period"]:
        found.append(_("In {period}, {due} fell due and entries were recorded for {done}.")
                     .format(period=period_name(doc["period"]),
                             due=ngettext("{n} task", "{n} tasks", len(doc["due"])).format(
                                 n=len(doc["due"])),
                             done=ngettext("{n} task", "{n} tasks", len(doc["achieved"]))
                             .format(n=len(doc["achieved"]))))
    overdue = doc.get("overdue", doc.get("late")) or [
        r for r in doc.get("tasks", []) if r["timing"] == "overdue"]
    if overdue:
        names = [f"{r['id']} {_content(r)} ({r['window']}, {r['lead'] or ''})".replace(", )", ")")
                 for r in overdue[:named]]
        more = len(overdue) - len(names)
        text = _("Overdue: {list}").format(list="; ".join(names))
        if more:
            text += "; " + ngettext("and {n} more", "and {n} more", more).format(n=more)
        found.append(text + ".")
    else:
        found.append(_("No task is overdue."))
    return found


def plan_order(row: dict[str, Any]) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in str(row["id"]).split("."))


def document_sections(doc: dict[str, Any]) -> list[Section]:
    """The tables of the administrative document: the office table of every task of the
    report in plan order, what a period achieved, an agency's duties in section V, and the
    table by district unit; for the product register, its own tables."""
    if doc["report"] == "products":
        return sections(doc)
    if doc["report"] == "period":
        rows = _first_of_each(doc["due"], doc["late"])
        title = _("Tasks due in {period} or late as of {date}").format(
            period=period_name(doc["period"]), date=shown_day(doc["as_of"]))
    else:
        rows = doc.get("all") or doc.get("tasks") or Rows([], dict)
        title = _("Tasks of the plan") if doc["report"] == "overview" else \
            _("Tasks of {agency} as lead and as partner").format(agency=doc["agency"]["short"])
    above = {row["id"]: row for row in doc.get("parents", [])}
    ordered = rows.sorted(plan_order)
    found = [office_section("tasks", title, ordered, above)]
    if doc["report"] == "period":
        found.append(achieved_section(doc, parents=above))
    if doc.get("duties"):  # what section V of the plan asks of the agency, beside its tasks
        found.append(duties_section(doc))
    if doc["places"]:
        found.append(places_section(doc))
    return found


def _first_of_each(*parts: Rows) -> Rows:
    """The rows of `parts` (each made from a task, as `build` makes them), one after the
    other, each task's first row only; still made as read."""
    seen: set[str] = set()
    items: list[tuple[Callable[[Any], dict[str, Any]], Task]] = []
    for part in parts:
        for task in part.items:
            if task.id not in seen:
                seen.add(task.id)
                items.append((part.make, task))
    return Rows(items, lambda pair: pair[0](pair[1]))


def office_total(section: Section) -> dict[str, Any] | None:
    """The totals row of an office table, by the plan's counting rules: tasks counted by
    status; quantities added only when every task counts in the same unit (ĐVT)."""
    if section.columns != office_columns() or not section.rows:
        return None
    # One pass over the rows, which may be made as they are read.
    counts: Counter[str] = Counter()
    tasks = target = achieved = 0
    units: set[str | None] = set()
    numbers = True
    for r in section.rows:
        if r.get("_parent"):
            continue
        tasks += 1
        counts[r["_style"]] += 1
        if r["target"] is not None or r["achieved"] is not None:
            units.add(r["unit"])
        if r["target"] is not None:
            if isinstance(r["target"], int):
                target += r["target"]
            else:
                numbers = False
        if isinstance(r["achieved"], int):
            achieved += r["achieved"]
    label = ngettext("Total: {n} task", "Total: {n} tasks", tasks).format(n=tasks)
    states = [(counts["done"], _("{n} done")), (counts["overdue"], _("{n} overdue")),
              (counts["due"], _("{n} due")),
              (sum(counts[k] for k in ("in_progress", "not_started")), _("{n} other open")),
              (counts["cancelled"], _("{n} cancelled")),
             (counts.get("not_known", 0), _("{n} not known"))]
    parts = ", ".join(text.format(n=n) for n, text in states if n)
    total: dict[str, Any] = {"_style": "total"}
    if len(units) == 1 and None not in units and numbers:
        total.update(unit=units.pop(), target=target, achieved=achieved,
                     percent=round(100 * achieved / target, 1) if target else None)
    elif units:
        parts += "; " + _("quantities in different units are not added")
    total["content"] = f"{label} ({parts})"
    return total
