"""A report as titled tables, in the order every format draws them: the title rows, then by
kind of report the agencies, the month matrix, the office tables of tasks, an agency's
duties, what a period achieved, the breakdown by district unit; and the tables of the
administrative document, every task in plan order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from ocop_cli.core.followup import CLASSES, classes_words
from ocop_cli.core.i18n import _, format_date, format_number
from ocop_cli.core.query import role_label, status_label, tally_lines, target_json
from ocop_cli.core.report import (
    AchievedRow,
    AgencyReport,
    Counts,
    LateRow,
    Overview,
    PeriodReport,
    PlaceRow,
    ProductReport,
    Report,
    Reporting,
    Rows,
    TaskReport,
    TaskRow,
    UnitShare,
)
from ocop_cli.output.product_tables import register_sections
from ocop_cli.output.render import Column
from ocop_cli.output.sections import (
    NARROW_CUT,
    Section,
    content,
    cut,
    narrow_office,
    office_headers,
    office_section,
    rows_with_parents,
    style,
    target_value,
)
from ocop_cli.output.words import period_name, period_title


def heading(doc: Report, iso: bool = False) -> list[tuple[str, str]]:
    """The title rows every format starts with: plan, period, as-of date, agency; dates as
    the language writes them, or ISO with `iso` (CSV)."""
    plan = doc.plan
    day: Callable[[Any], str] = (lambda d: d.isoformat()) if iso else format_date
    facts = [(_("Plan"), f"{plan.number} ({plan.years}): {plan.title}")]
    if doc.period:  # the days it covers, as the workspace cuts its periods
        period = doc.period
        days = _("from {start} to {end}").format(start=day(period.start), end=day(period.end))
        if period.cut != "dates":
            days = f"{period.label if iso else period_title(period.label)}, {days}"
        facts.append((_("Period"), days))
    facts.append((_("As of"), day(doc.as_of)))
    if doc.agency:
        facts.append((_("Agency"), f"{doc.agency.short} ({doc.agency.name})"))
    return facts


def parents_of(doc: TaskReport) -> dict[str, TaskRow] | None:
    """The parent rows a report's tables show above their sub-rows, by id; None when its
    tasks are listed by urgency (a parent row then heads nothing)."""
    if doc.sort == "urgency":
        return None
    return {row["id"]: row for row in doc.parents}


def sections(doc: Report, narrow: bool = False) -> list[Section]:
    """The document's tables in order; `narrow` folds the office table into fewer columns
    (each header still the form's own) and cuts very long text, for small terminals."""
    if not isinstance(doc, TaskReport):
        assert isinstance(doc, ProductReport)
        return register_sections(doc.products) if doc.products else []
    found: list[Section] = []
    above = parents_of(doc)

    def office(key: str, title: str, rows: Iterable[TaskRow]) -> Section:
        return (narrow_office if narrow else office_section)(key, title, rows, above)

    if isinstance(doc, Overview):
        found.append(agencies_narrow(doc) if narrow else agencies_section(doc))
        found.append(matrix_section(doc))
        found.append(office("overdue", _("Overdue tasks, oldest window first"), doc.overdue))
        found.append(late_section(doc.late))
    elif isinstance(doc, AgencyReport):
        assert doc.agency is not None
        status, timing = tally_lines(doc.counts.tally())
        classes = class_line(doc.counts)
        found.append(office("tasks", _("Tasks of {agency} as lead and as partner").format(
            agency=doc.agency.short) + f" ({status}; {timing}" + (f"; {classes})" if classes
                                                                  else ")"), doc.tasks))
        found.append(duties_section(doc))
        found.append(late_section(doc.late))
    else:
        assert isinstance(doc, PeriodReport) and doc.period is not None
        label = period_name(doc.period)
        found.append(office("due", _("Due in {period}").format(period=label), doc.due))
        found.append(achieved_section(doc, narrow, above))
        late = _("Late as of {date}").format(date=format_date(doc.as_of))
        found.append(office("late", late, doc.late))
        if doc.reporting and doc.reporting.expected:
            found.append(reporting_section(doc.reporting))
    found.append(places_section(doc))
    if isinstance(doc, Overview) and doc.products:
        found += register_sections(doc.products)
    return found


def plan_order(row: TaskRow) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in str(row["id"]).split("."))


def document_sections(doc: Report) -> list[Section]:
    """The tables of the administrative document: the office table of every task of the
    report in plan order, what a period achieved, an agency's duties in section V, and the
    table by district unit; for the product register, its own tables."""
    if not isinstance(doc, TaskReport):
        return sections(doc)
    rows: Rows[TaskRow]
    if isinstance(doc, PeriodReport):
        assert doc.period is not None
        rows = _first_of_each(doc.due, doc.late)
        title = _("Tasks due in {period} or late as of {date}").format(
            period=period_name(doc.period), date=format_date(doc.as_of))
    else:
        rows = doc.all or (doc.tasks if isinstance(doc, AgencyReport) else None) or Rows([], dict)
        title = _("Tasks of the plan") if isinstance(doc, Overview) else \
            _("Tasks of {agency} as lead and as partner").format(
                agency=doc.agency.short if doc.agency else "")
    above = {row["id"]: row for row in doc.parents}
    found = [office_section("tasks", title, rows.sorted(plan_order), above)]
    if isinstance(doc, PeriodReport):
        found.append(achieved_section(doc, parents=above))
        if doc.reporting and doc.reporting.expected:
            found.append(reporting_section(doc.reporting))
    elif isinstance(doc, (Overview, AgencyReport)) and doc.late:
        found.append(late_section(doc.late))
    if isinstance(doc, AgencyReport) and doc.duties:  # section V's asks, beside its tasks
        found.append(duties_section(doc))
    if places_of(doc):
        found.append(places_section(doc))
    return found


def _first_of_each(*parts: Rows[TaskRow]) -> Rows[TaskRow]:
    """The rows of `parts` (each made from a task, as `build` makes them), one after the
    other, each task's first row only; still made as read."""
    seen: set[str] = set()
    items: list[tuple[Callable[[Any], TaskRow], Any]] = []
    for part in parts:
        for task in part.items:
            if task.id not in seen:
                seen.add(task.id)
                items.append((part.make, task))
    return Rows(items, lambda pair: pair[0](pair[1]))


# --- the tables of each kind of report -------------------------------------------------------


_COUNT_KEYS = ("tasks", "done", "in_progress", "not_started", "cancelled", "overdue", "due",
               "upcoming", "quantity_met", "percent", *CLASSES, "on_time_percent")


def agencies_section(doc: Overview) -> Section:
    headers = (_("Tasks"), _("Done"), _("In progress"), _("Not started"), _("Cancelled"),
               _("Overdue"), _("Due"), _("Upcoming"), _("Targets met"), _("% done"),
               _("Done on time"), _("Done late"), _("Open within time"), _("Open late"),
               _("% on time"))
    columns = [Column("agency", _("Agency"), max_width=30), Column("role", _("Role"))]
    columns += [Column(k, h, numeric=True) for k, h in zip(_COUNT_KEYS, headers, strict=True)]
    rows = []
    for item in doc.agencies:
        for role, counts in (("lead", item.lead), ("partner", item.partner)):
            if counts.tasks:
                met = (f"{counts.quantity_met}/{counts.quantity_tasks}"
                       if counts.quantity_tasks else None)
                rows.append({"agency": item.agency, "role": role_label(role),
                             **{k: getattr(counts, k) for k in _COUNT_KEYS}, "quantity_met": met,
                             "_style": "overdue" if counts.overdue else None})
    return Section("agencies", _("Agencies as lead and as partner (tasks counted; done of "
                                 "those not cancelled)"), columns, rows)


def late_section(rows: list[LateRow]) -> Section:
    """The follow-up section: tasks open late, the most days late first."""
    columns = [Column("id", _("ID")), Column("content", _("Task"), max_width=40),
               Column("due", _("Due date")), Column("days", _("Days late"), numeric=True),
               Column("lead", _("Lead"), max_width=18),
               Column("partners", _("Partners"), max_width=28, drop=2),
               Column("last", _("Last report"), max_width=22, drop=1)]
    shown = [{"id": r.id, "content": content(r.title, r.parent_title)
              + (" " + _("(the share of {unit})").format(unit=r.place) if r.place else ""),
              "due": format_date(r.due_date), "days": r.days_late, "lead": r.lead,
              "partners": ", ".join(p for p in r.partners if p),
              "last": format_date(r.last_entry) if r.last_entry else _("no report yet"),
              "_style": "overdue"} for r in rows]
    return Section("late", _("Follow-up: tasks open late, the most days late first"), columns,
                   shown)


def reporting_section(found: Reporting) -> Section:
    """Which district units expected to report in the period did, and the rate."""
    columns = [Column("unit", _("District unit"), max_width=24),
               Column("reported", _("Reported")), Column("entries", _("Entries"), numeric=True),
               Column("last", _("Last entry"))]
    rows = [{"unit": u.unit, "reported": _("reported") if u.reported else _("not reported"),
             "entries": u.entries, "last": format_date(u.last) if u.last else "",
             "_style": None if u.reported else "overdue"} for u in found.units]
    title = _("Reporting by district unit: {reported} of {expected} reported ({rate}%)").format(
        reported=found.reported, expected=found.expected,
        rate=format_number(found.rate or 0))
    return Section("reporting", title, columns, rows)


def summary(counts: Counts) -> str:
    """One agency's counts in words, for narrow terminals: by status, then the open ones by
    timing, then tasks done of those not cancelled."""
    if not counts.tasks:
        return ""
    status, timing = tally_lines(counts.tally())
    text = status + ("; " + timing if counts.open else "")
    if counts.percent is not None:
        text += "; " + _("{percent}% done").format(percent=format_number(counts.percent))
    return text + ("; " + class_line(counts) if class_line(counts) else "")


def class_line(counts: Counts) -> str:
    """The follow-up classes of an agency's roll-up in words (`classes_words`)."""
    return classes_words({c: getattr(counts, c) for c in CLASSES}, counts.on_time_percent)


def agencies_narrow(doc: Overview) -> Section:
    columns = [Column("agency", _("Agency"), max_width=24), Column("lead", _("As lead")),
               Column("partner", _("As partner"))]
    rows = [{"agency": item.agency, "lead": summary(item.lead),
             "partner": summary(item.partner),
             "_style": "overdue" if item.lead.overdue + item.partner.overdue else None}
            for item in doc.agencies]
    return Section("agencies", _("Agencies as lead and as partner"), columns, rows)


def matrix_section(doc: Overview) -> Section:
    grid = doc.matrix
    columns = [Column("agency", _("Agency"), max_width=28)]
    columns += [Column(f"m{m}", label, numeric=True)
                for m, label in zip(grid.months, grid.labels, strict=True)]
    rows, marks = [], {}
    for i, item in enumerate(grid.rows):
        row: dict[str, Any] = {"agency": item.agency}
        for cell in item.cells:
            row[f"m{cell.month}"] = cell.open
        late = {f"m{c.month}" for c in item.cells if c.overdue}
        if late:
            marks[i] = late
        rows.append(row)
    title = _("Open tasks by month (! = some overdue)")
    if grid.year:
        title = _("Open tasks by month of {year} (! = some overdue)").format(year=grid.year)
    return Section("matrix", title, columns, rows, grid=True, marks=marks)


def duties_section(doc: AgencyReport) -> Section:
    assert doc.agency is not None
    columns = [Column("n", office_headers()[0], numeric=True),
               Column("text", _("Duty (section V)"))]
    if any(d.agency != doc.agency.short for d in doc.duties):
        columns.append(Column("agency", _("As member of"), max_width=24))
    return Section("duties", _("Duties of {agency} in section V of the plan").format(
        agency=doc.agency.short), columns,
        [{"n": d.n, "text": d.text, "agency": d.agency} for d in doc.duties])


def achieved_section(doc: PeriodReport, narrow: bool = False,
                     parents: dict[str, TaskRow] | None = None) -> Section:
    assert doc.period is not None
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

    def text(title: str, parent_title: str | None) -> str:
        shown = content(title, parent_title, nested)
        return cut(shown, NARROW_CUT["content"]) if narrow else shown

    def cells(r: AchievedRow | TaskRow) -> dict[str, Any]:
        if isinstance(r, dict):  # a parent's row, above its sub-rows
            return {"id": r["id"], "content": text(r["title"], r.get("parent_title")),
                    "state": status_label(r["status"], r["timing"]),
                    "_style": style(r["status"], r["timing"]), "_parent": True}
        return {"id": r.id, "content": text(r.title, r.parent_title),
                "unit": r.unit, "qty": r.qty, "achieved": r.achieved,
                "target": target_value(target_json(r.target)),
                "state": status_label(r.status, r.timing), "last": r.last.isoformat(),
                "places": list(r.places), "_style": style(r.status, r.timing)}

    rows = rows_with_parents(doc.achieved, parents).map(cells)  # made as read
    return Section("achieved", _("Achieved in {period} (entries dated inside it)").format(
        period=period_name(doc.period)), columns, rows)


def places_of(doc: TaskReport) -> Rows[PlaceRow]:
    """The breakdown by district unit, which every report on tasks has."""
    assert isinstance(doc, (Overview, AgencyReport, PeriodReport))
    return doc.places


def places_section(doc: TaskReport) -> Section:
    places = places_of(doc)
    total = places[0].units_total if places else 12
    h = office_headers()
    columns = [Column("id", h[0]), Column("content", h[1], max_width=30),
               Column("share", _("Share"), numeric=True),
               Column("units_done", _("Units done (of {n})").format(n=total), numeric=True),
               Column("done_in", _("Done"), max_width=30),
               Column("not_yet", _("Not yet"), max_width=30),
               Column("not_known", _("Not known"), max_width=30),
               Column("not_by_unit", _("Not assigned to a unit"), numeric=True)]
    if any(p.new_units for p in places):  # a unit made after the plan's date: no share
        columns.append(Column("new", _("New since the plan (no share)"), max_width=30))

    def named(p: PlaceRow, *statuses: str | None) -> str:
        return ", ".join(ended_name(u) for u in p.units if u.status in statuses)

    def new(p: PlaceRow) -> str | None:
        return "; ".join(new_name(u) for u in p.new_units) if p.new_units else None

    rows = [{"id": p.id, "content": content(p.title, p.parent_title), "share": p.per_unit,
             "units_done": p.units_done,
             "done_in": named(p, "done"),
             "not_yet": named(p, "not_started", "in_progress"),
             "not_known": named(p, None),
             "not_by_unit": p.not_by_unit or None, "new": new(p),
             "_style": "done" if p.units_done == p.units_total else None}
            for p in places]
    levels = {p.level for p in places}
    title = (_("By commune (tasks each commune holds a share of)") if levels == {"commune"}
             else _("By district unit (tasks each unit holds a share of)")
             if levels <= {"district"} else _("By unit (tasks each unit holds a share of)"))
    return Section("places", title, columns, rows)


def ended_name(unit: UnitShare) -> str:
    """A unit as a report names it: Hồng Hưng (ended 31/12/2025) when it has ended."""
    if unit.ended is None:
        return unit.place or ""
    day = format_date(dt.date.fromisoformat(unit.ended))
    return _("{name} (ended {date})").format(name=unit.place or unit.id, date=day)


def new_name(unit: UnitShare) -> str:
    """A unit that began after the plan's date, with what was recorded there: Tân Hưng (new
    since 01/03/2026): 1."""
    day = format_date(dt.date.fromisoformat(unit.since)) if unit.since else ""
    return _("{name} (new since {date}): {qty}").format(name=ended_name(unit), date=day,
                                                        qty=format_number(unit.qty or 0))


def agency_list_section(items: list[dict[str, Any]]) -> Section:
    columns = [Column("short", _("Agency"), max_width=28), Column("name", _("Name"),
                                                                  max_width=40),
               Column("level", _("Level")), Column("lead", _("Lead"), numeric=True),
               Column("partner", _("Partner"), numeric=True),
               Column("open", _("Open"), numeric=True),
               Column("overdue", _("Overdue"), numeric=True)]
    if any(item["dates"] for item in items):  # only when some agency has dates
        columns.append(Column("dates", _("In force"), max_width=40))
    levels = {"central": _("central"), "province": _("province"), "district": _("district"),
              "commune": _("commune")}
    rows = [{**item, "level": levels.get(item["level"], item["level"]),
             "_style": "ended" if item["ended"] else "overdue" if item["overdue"] else None}
            for item in items]
    return Section("agencies", _("Agencies"), columns, rows)
