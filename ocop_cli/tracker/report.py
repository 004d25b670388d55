"""Reports offices send upward, built as typed data (`core.report`): an overview of every
agency, one agency's tasks, a period (month, quarter, half, year), the per-place breakdown;
and the timeline and the agency list. How each is drawn is `output`'s.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from heapq import merge
from pathlib import Path
from typing import Any

from ocop_cli.core.directory import Directory
from ocop_cli.core.errors import UsageError
from ocop_cli.core.followup import (
    class_counts,
    due_date,
    follow_up,
    last_entry,
    on_time_percent,
)
from ocop_cli.core.i18n import _
from ocop_cli.core.model import Agency, Entry, Plan, Task
from ocop_cli.core.query import (
    Filters,
    figures,
    select,
    shown_states,
    tally,
    urgency,
)
from ocop_cli.core.report import (
    AchievedRow,
    AgencyCounts,
    AgencyRef,
    AgencyReport,
    Counts,
    Duty,
    LateRow,
    Matrix,
    MatrixRow,
    MonthCell,
    Overview,
    Period,
    PeriodReport,
    PlaceRow,
    ProductReport,
    ProductSummary,
    Reporting,
    Rows,
    Share,
    Source,
    TaskReport,
    TaskRow,
    UnitReported,
    UnitShare,
    cut_as,
    dates_period,
    parse_period,
    plan_ref,
    task_row,
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
from ocop_cli.output import office
from ocop_cli.store.storage import Loaded
from ocop_cli.tracker.product_views import overview as product_overview

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


# --- the report ------------------------------------------------------------------------------


def build(loaded: Loaded, states: dict[str, TaskState], as_of: dt.date,
          agency: Agency | None = None, period: Period | None = None,
          sort: str = "plan", every_task: bool = False) -> TaskReport:
    """The report: an overview without filters, one agency's tasks with `agency`, what a
    period brought with `period` (narrowed to `agency` when both). `every_task` adds every
    task of the report in plan order (`all`), for documents.

    Tasks come in the plan's order (TT); `sort="urgency"` puts overdue first, then due.
    When `agency` is a district unit, or part of one, a shared task's figures are the unit's
    own share, with the whole task's under `whole`."""
    plan, directory = loaded.plan, loaded.directory
    roles = Roles(directory)
    leaves = plan.leaves()
    if agency is not None:
        leaves = [t for t in leaves if roles.role(t, agency.id)]
    unit = directory.unit_of(agency.id) if agency else None
    above = {p for t in leaves for p in _ancestors(plan, t)}
    wanted = {t.id for t in leaves} | above
    shown = shown_states(plan, states, [t for t in plan.tasks if t.id in wanted], unit, as_of)

    def row(t: Task) -> TaskRow:
        share = unit if unit in t.shared_by else None
        return task_row(plan, t, shown[t.id], directory,
                        roles.role(t, agency.id) if agency else None,
                        states[t.id] if share else None, share, as_of=as_of)

    def rows(tasks: list[Task]) -> Rows[TaskRow]:
        if sort == "urgency":  # a stable sort, by the figures each row shows
            tasks = sorted(tasks, key=lambda t: urgency(figures(shown[t.id])))
        return Rows(tasks, row)

    overdue = [t for t in leaves if shown[t.id].timing == "overdue"]
    if sort == "urgency":
        overdue.sort(key=_oldest)
    head = _head(plan, as_of, agency, period, sort, [shown[t.id] for t in leaves])
    # The rows a table in plan order shows above their sub-rows: no quantity of their own
    # (their sub-rows' may be in different units), status and timing from theirs.
    head["parents"] = [task_row(plan, t, shown[t.id], directory, as_of=as_of) | {
        "achieved": None, "percent": None} for t in plan.tasks if t.id in above]
    head["all"] = rows(leaves) if every_task else None
    if period is not None:
        near = [t for t in leaves if t.window and set(t.window.months) & set(period.months(plan))]
        return PeriodReport(
            **head, due=rows([t for t in leaves if _due_in(plan, t, period)]),
            achieved=achieved_in(plan, shown, leaves, period, directory,
                                 in_force(loaded, as_of, period), unit),
            late=rows(overdue), places=places(loaded, states, near, as_of),
            reporting=reporting(loaded, near, in_force(loaded, as_of, period), unit))
    late = late_rows(loaded, shown, leaves, as_of, unit)
    if agency is not None:
        return AgencyReport(**head, tasks=rows(leaves), duties=duties(directory, agency),
                            places=places(loaded, states, leaves, as_of), late=late)
    # Named as the table names them: the 12 district units would each repeat the row of the
    # district group they belong to (`--agency` shows one unit's share).
    named = Roles(directory, through_groups=False)
    return Overview(**head, agencies=agency_summary(plan, states, directory, named, as_of),
                    matrix=matrix(plan, states, directory, named, as_of),
                    overdue=rows(overdue), places=places(loaded, states, leaves, as_of),
                    products=product_overview(loaded, as_of), late=late)


def late_rows(loaded: Loaded, shown: dict[str, TaskState], leaves: list[Task],
              as_of: dt.date, unit: str | None) -> list[LateRow]:
    """The follow-up section: the tasks open late (a unit's share, in its report), the most
    days late first, with the lead, the partners and the date of the last entry on each."""
    plan, short = loaded.plan, loaded.directory.short
    late = [(t, follow_up(plan, shown[t.id], as_of)) for t in leaves]
    late = [(t, item) for t, item in late if item.cls == "open_late"]
    own = loaded.entries_of(t.id for t, _item in late)
    found = []
    for task, item in late:
        place = unit if unit in task.shared_by else None
        assert item.due_date is not None and item.days_late is not None  # as it is late
        found.append(LateRow(task.id, task.title, _parent_title(plan, task), short(place),
                             short(task.lead), [short(p) or p for p in task.partners],
                             item.due_date, item.days_late,
                             last_entry(own[task.id], as_of, place)))
    return sorted(found, key=lambda row: -row.days_late)


def reporting(loaded: Loaded, near: list[Task], entries: Iterable[Entry], unit: str | None
              ) -> Reporting:
    """Each district unit expected to report in the period (it shares a task whose window
    meets the period; in a unit's report, that unit only): whether it recorded anything in
    it (an entry in force dated inside, at the unit or its office), and the rate."""
    directory = loaded.directory
    expected = {u for task in near for u in task.shared_by}
    if unit is not None:
        expected &= {unit}
    counted: dict[str, list[dt.date]] = {u: [] for u in expected}
    for entry in entries:
        at = directory.unit_of(entry.place) if entry.place else None
        if at in counted and entry.action != "remind":
            counted[at].append(entry.date)
    units = [UnitReported(u, directory.short(u), bool(counted[u]), len(counted[u]),
                          max(counted[u], default=None))
             for u in _ordered(directory, expected)]
    reported = sum(1 for u in units if u.reported)
    return Reporting(len(units), reported,
                     round(100 * reported / len(units), 1) if units else None, units)


def chosen_period(root: Path, text: str | None, start: dt.date | None, end: dt.date | None
                  ) -> Period | None:
    """The period a report covers: `--period` cut as the workspace's office.yaml says
    (`report_periods`: calendar, or nd09), or the days `--from` and `--to` give."""
    if start is not None or end is not None:
        if text:
            raise UsageError(_("give --period or --from and --to, not both"))
        if start is None or end is None:
            raise UsageError(_("--from and --to go together"))
        return dates_period(start, end)
    if not text:
        return None
    return cut_as(parse_period(text), office.read(root).report_periods)


def refuse_month_cut_otherwise(root: Path, month: str | None) -> None:
    """`--month` is a calendar month of the plan; a workspace that cuts its reports by
    Decree 09 (`report_periods: nd09`, the 15th to the 14th) would get a month its own
    reports never cover, so it is refused there with the `--period` to give instead."""
    if month is None or office.read(root).report_periods != "nd09":
        return
    example = month if "-" in month else f"YYYY-{int(month):02d}"
    raise UsageError(_("--month: this workspace cuts its reports as Decree 09 does (from the "
                       "15th to the 14th, report_periods: nd09); give --period {period} "
                       "instead").format(period=example))


def _due_in(plan: Plan, task: Task, period: Period) -> bool:
    """Whether the task's due date falls in the period (as the period is cut)."""
    day = due_date(plan, task)
    return day is not None and period.holds(day)


def _head(plan: Plan, as_of: dt.date, agency: Agency | None, period: Period | None, sort: str,
          leaves: list[TaskState]) -> dict[str, Any]:
    """What every report on tasks starts with, and its counts (of the `leaves` it lists)."""
    return {
        "plan": plan_ref(plan), "as_of": as_of, "period": period, "sort": sort,
        "agency": AgencyRef(agency.id, agency.short, agency.name) if agency else None,
        "counts": counts(leaves, plan, as_of),
        "source": Source(*(str(plan.facts[k]) if plan.facts.get(k) is not None else None
                           for k in ("issuer", "dated"))),
    }


def product_report(plan: Plan, as_of: dt.date, summary: ProductSummary | None = None
                   ) -> ProductReport:
    """The register's report (`summary`), or the head of a list of products without one."""
    return ProductReport(plan=plan_ref(plan), as_of=as_of, products=summary)

def _ancestors(plan: Plan, task: Task) -> list[str]:
    found = []
    while task.parent is not None and task.parent in plan.index:  # check reports a stray one
        found.append(task.parent)
        task = plan.index[task.parent]
    return found


def _oldest(task: Task) -> tuple[int, int]:
    window = task.window
    return (window.last, window.first) if window else (99, 99)


def counts(states: list[TaskState], plan: Plan, as_of: dt.date) -> Counts:
    """One agency's roll-up: it counts tasks and never adds quantities (conferences, classes
    and cooperatives do not add up). A cancelled task is counted as such and leaves every
    other figure: `percent` is tasks done of those not cancelled; beside it the follow-up
    classes on `as_of`."""
    tallied = tally(states)
    classes = class_counts([follow_up(plan, s, as_of) for s in states])
    live = [s for s in states if s.status != "cancelled"]
    quantity = [s for s in live if s.task.target is not None]
    units = {s.task.unit for s in quantity}
    # The sum of quantities means something only for counts of one unit (percentages of
    # different populations do not add up either).
    one_unit = len(units) == 1 and all(s.task.target and s.task.target.kind == "count"
                                       for s in quantity)
    return Counts(
        **tallied,
        counted=len(live),
        quantity_tasks=len(quantity),
        quantity_met=sum(1 for s in quantity if s.missing == 0),
        unit=units.pop() if one_unit else None,
        achieved=sum(s.achieved for s in quantity) if one_unit else None,
        target=sum(s.task.target.min for s in quantity if s.task.target) if one_unit else None,
        percent=round(100 * tallied["done"] / len(live), 1) if live else None,
        **classes, on_time_percent=on_time_percent(classes),
    )


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
                   roles: Roles, as_of: dt.date) -> list[AgencyCounts]:
    involved = _involved(plan, states, roles)
    return [AgencyCounts(agency_id, directory.short(agency_id),
                         counts(involved[agency_id][0], plan, as_of),
                         counts(involved[agency_id][1], plan, as_of))
            for agency_id in _ordered(directory, involved)]


def plan_months(plan: Plan) -> list[int]:
    """The months of the plan's years that some window covers, first to last."""
    months = [m for t in plan.leaves() if t.window for m in t.window.months]
    if not months:
        return list(range(1, plan.span + 1))
    return list(range(min(months), max(months) + 1))


def matrix(plan: Plan, states: dict[str, TaskState], directory: Directory, roles: Roles,
           as_of: dt.date) -> Matrix:
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
        rows.append(MatrixRow(agency_id, directory.short(agency_id), [
            MonthCell(m, *row.get(m, (0, 0))) for m in months]))
    return Matrix(months, year, [f"T{plan.calendar_month(m)[1]}" for m in months],
                  month_index(plan, as_of), rows)


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
                ) -> Rows[AchievedRow]:
    """Per task: what its `entries` (those in force dated inside the period, in order)
    recorded; a shared task's in a unit's report, those at the unit."""
    wanted = {t.id: t.id for t in tasks}  # each task's id, kept once
    # Per task: entries, qty, last date, actions and places in the order first seen (tuples,
    # one for each combination: tens of thousands of tasks share a few hundred).
    inside: dict[str, list[Any]] = {}
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
    for e in entries:
        if e.task not in wanted or e.action in ("note", "remind"):
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

    def row(task: Task) -> AchievedRow:
        count, qty, last, actions, places = inside[task.id]
        state = states[task.id]
        return AchievedRow(task.id, task.parent, task.title, _parent_title(plan, task),
                           task.unit, state.task.target, state.achieved, state.status,
                           state.timing, qty, count, last, actions, places)
    return Rows([task for task in tasks if task.id in inside], row)


def places(loaded: Loaded, states: dict[str, TaskState], tasks: list[Task],
           as_of: dt.date) -> Rows[PlaceRow]:
    """For each task shared by units: each unit's share, quantity and status (and its last
    day, when it had ended by `as_of`), the units of its level that began after the plan's
    date (no share: what was recorded there), and what was recorded without naming a unit. A
    unit's `done` is null when it is not known (the whole was met, or marked done, without
    saying where)."""
    directory = loaded.directory
    today = as_of.isoformat()
    dated = loaded.plan.facts.get("dated")
    signed = dt.date.fromisoformat(str(dated)) if dated else None

    def ended(unit: str) -> str | None:
        until = directory.by_id[unit].until if unit in directory.by_id else None
        return until if until is not None and until < today else None

    def row(task: Task) -> PlaceRow:
        state = states[task.id]
        share = share_of(task)
        per_unit = []
        for unit in task.shared_by:
            status = state.units.get(unit, "not_started")
            known = status != NOT_KNOWN
            per_unit.append(UnitShare(unit, directory.short(unit),
                                      state.places.get(unit, 0) if known else None,
                                      status == "done" if known else None,
                                      status if known else None, ended(unit)))
        begun = directory.begun(task.per_unit, signed, as_of) \
            if task.per_unit and signed else ()
        new = [UnitShare(a.id, a.short, state.places.get(a.id, 0), None, None, ended(a.id),
                         since=a.start) for a in begun if a.id not in task.shared_by]
        return PlaceRow(
            task.id, task.title, _parent_title(loaded.plan, task), state.status, state.timing,
            state.achieved, task.target, share.min if share else None,
            Share(share.min, share.max) if share else None, per_unit,
            units_done=sum(1 for u in per_unit if u.done),
            units_not_known=sum(1 for u in per_unit if u.done is None),
            units_total=len(per_unit),
            not_by_unit=state.unassigned - sum(u.qty or 0 for u in new),
            level=task.per_unit or directory.by_id[task.shared_by[0]].level,
            new_units=new or None)
    return Rows([task for task in tasks if task.shared_by], row)


def _parent_title(plan: Plan, task: Task) -> str | None:
    parent = plan.task(task.parent) if task.parent else None
    return parent.title if parent else None


def duties(directory: Directory, agency: Agency) -> list[Duty]:
    """Section V: the agency's own duties, then those of each group it belongs to."""
    found = [Duty(i, d, agency.short) for i, d in enumerate(agency.duties, 1)]
    for group in directory.agencies:
        if agency.id in group.members:
            found += [Duty(len(found) + i, d, group.short) for i, d in enumerate(group.duties, 1)]
    return found


# --- `ocop agencies` and `ocop timeline` ---------------------------------------------------


def agency_list(loaded: Loaded, states: dict[str, TaskState], as_of: dt.date,
                every: bool = False) -> list[dict[str, Any]]:
    """The agencies in force on `as_of` or named by the plan (`every`: all of the directory,
    whatever their dates), each with how many leaf tasks it leads and partners (a district
    unit's, and its office's, open and overdue count its own shares) and its dates."""
    directory = loaded.directory
    involved = _involved(loaded.plan, states, Roles(directory))
    named = {*involved, *(i for t in loaded.plan.tasks
                          for i in (t.lead, *t.partners, *t.shared_by) if i)}
    found = []
    for agency_id in _ordered(directory, directory.by_id):
        agency = directory.by_id[agency_id]
        if not (every or agency.in_force(as_of) or agency_id in named):
            continue
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
            "from": agency.start, "until": agency.until, "successors": list(agency.successors),
            "code": agency.code,
            "ended": agency.until is not None and agency.until < as_of.isoformat(),
            "dates": directory.dates(agency, as_of),
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
