"""What each reading command shows: rows and headers handed to `render`."""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from ocop_cli.core.errors import EXIT_INVALID, EXIT_OK
from ocop_cli.core.followup import (
    class_counts,
    class_label,
    class_note,
    classes_words,
    follow_up,
    on_time_percent,
)
from ocop_cli.core.i18n import _, format_date, format_number, language, ngettext
from ocop_cli.core.labels import stage_label
from ocop_cli.core.model import Entry, Plan, Task
from ocop_cli.core.query import (
    Filters,
    figures,
    role_label,
    role_of,
    select,
    select_without_states,
    shown_states,
    state_cell,
    status_label,
    subject_unit,
    tally,
    tally_lines,
    task_json,
    urgency,
)
from ocop_cli.core.state import (
    HISTORY_ORDER,
    MIXED,
    NOT_KNOWN,
    TaskState,
    for_unit,
    undone_by,
    unit_of,
)
from ocop_cli.core.text import visible
from ocop_cli.core.windows import Target, Window, readable
from ocop_cli.output import formats, render
from ocop_cli.output.render import Column
from ocop_cli.store import write
from ocop_cli.store.storage import Loaded, Workspace


def _day(iso: str, fmt: str) -> str:
    """A date for a person to read (dd/mm/yyyy in Vietnamese); CSV keeps ISO, which every
    spreadsheet reads whatever its locale."""
    return iso if fmt == "csv" else format_date(dt.date.fromisoformat(iso))


def task_columns(with_role: bool) -> list[Column]:
    columns = [
        Column("id", _("ID")), Column("title", _("Task"), max_width=40),
        Column("unit", _("Unit"), max_width=14, drop=6),
        Column("target", _("Target"), numeric=True, drop=3),
        Column("achieved", _("Done"), numeric=True, drop=4),
        Column("lead", _("Lead"), max_width=18, drop=1),
        Column("partners", _("Partners"), max_width=30, drop=5),
        Column("window", _("Window"), drop=2), Column("state", _("Status")),
    ]
    if with_role:
        columns.insert(1, Column("role", _("Role")))
    return columns


def listed_states(loaded: Loaded, filters: Filters, as_of: dt.date
                  ) -> tuple[dict[str, TaskState], list[Task] | None]:
    """The states of `as_of` a listing with `filters` shows, and the tasks it shows when the
    filters choose them without looking at states (then only theirs are computed); None when
    they look at states (then every task's state is computed, and `select` chooses)."""
    chosen = select_without_states(loaded.plan, loaded.directory, filters)
    return loaded.states(as_of, chosen), chosen


def _listing(loaded: Loaded, states: dict[str, TaskState], filters: Filters, as_of: dt.date,
             sort: str, chosen: list[Task] | None
             ) -> tuple[list[Task], dict[str, TaskState], Callable[[Task], dict[str, Any]]]:
    """The tasks a listing shows in its order (those that pass `filters`, or `chosen` when
    already selected: in the plan's order, each under its parent's row; with
    `sort="urgency"` overdue first, then due, plan order within each, without parent rows),
    the state each shows, and how its JSON object is made (when it is read: 50,000 rows are
    never all held as objects)."""
    plan, directory = loaded.plan, loaded.directory
    if chosen is None:
        chosen = select(plan, states, directory, filters)
    unit = subject_unit(directory, filters)
    shown = shown_states(plan, states, chosen, unit, as_of)

    def made(task: Task) -> dict[str, Any]:
        role = role_of(task, filters.agency, directory) if filters.agency else None
        share = unit if unit in task.shared_by and plan.is_leaf(task.id) else None
        return task_json(plan, task, shown[task.id], directory, role,
                         states[task.id] if share else None, share, as_of=as_of)

    if sort == "urgency":  # a stable sort: plan order within a rank
        leaves = [task for task in chosen if plan.is_leaf(task.id)]
        ranks = [urgency(figures(shown[task.id])) for task in leaves]  # as each row shows
        chosen = [leaves[at] for at in sorted(range(len(leaves)), key=ranks.__getitem__)]
    return chosen, shown, made


def task_json_lines(loaded: Loaded, states: dict[str, TaskState], filters: Filters,
                    as_of: dt.date, sort: str = "plan", chosen: list[Task] | None = None
                    ) -> Iterator[str]:
    """What `ocop tasks --format json` prints, a row a line, each encoded as it is read."""
    listed, _shown, made = _listing(loaded, states, filters, as_of, sort, chosen)
    return map(render.json_encoder(), map(made, listed))


def task_list(loaded: Loaded, states: dict[str, TaskState], filters: Filters, fmt: str,
              as_of: dt.date, no_color: bool, sort: str = "plan",
              chosen: list[Task] | None = None) -> None:
    """The task listing (`_listing`) in the format asked for; a table's sub-row title reads
    after its parent's when sorted by urgency. Each row is made as it is read (a table reads
    its rows twice: to measure them, then to draw them)."""
    if fmt == "json":
        render.write_json_lines(task_json_lines(loaded, states, filters, as_of, sort, chosen))
        return
    plan, directory = loaded.plan, loaded.directory
    listed, shown, made = _listing(loaded, states, filters, as_of, sort, chosen)

    def row(task: Task) -> dict[str, Any]:
        obj, state = made(task), shown[task.id]
        indent = "  " * task.id.count(".")
        parent = plan.task(task.parent) if task.parent else None
        title = (f"{parent.title}: {task.title}" if parent else task.title) \
            if sort == "urgency" else indent + task.title
        target = state.task.target
        return {
            **obj, "title": title, "role": role_label(obj.get("role")),
            "target": (target.shown if fmt == "csv" else readable(target.shown))
            if target else None,
            "achieved": obj["achieved"] if target else None,
            "state": state_cell(obj),
            "_style": state.timing if state.timing in ("overdue", "due") else state.status,
        }

    leaves = [shown[task.id] for task in listed if plan.is_leaf(task.id)]
    status, timing = tally_lines(tally(leaves))
    footer = _("{status}; {timing} (as of {date})").format(status=status, timing=timing,
                                                         date=format_date(as_of))
    classes = class_counts([follow_up(plan, state, as_of) for state in leaves])
    if any(classes.values()):  # the follow-up classes, on the line above the counts
        footer = _("Follow-up: {classes}").format(classes=classes_words(
            classes, on_time_percent(classes))) + "\n" + footer
    unit = subject_unit(directory, filters)
    if unit:
        footer += "\n" + _("Shared tasks show the share of {unit}; the whole task in "
                           "brackets.").format(unit=directory.short(unit))
    title = f"{plan.number} ({plan.years})"
    formats.emit(fmt, task_columns(filters.agency is not None), Rows(listed, row), None,
                title=title, footer=footer, no_color=no_color)


def target_line(target: Target) -> str:
    """A target as written, with how ocop reads it when that says more: "ít nhất 02 (≥ 2)",
    "từ 800 đến 1.000 (800–1.000)"; "12", "01" and "10.000" once."""
    def plain(text: str) -> str:  # without spaces, thousands dots and leading zeros
        return re.sub(r"(?<!\d)0+(?=\d)", "", text.replace(" ", "").replace(".", ""))

    if plain(target.text) == plain(target.shown):
        return target.text
    return f"{target.text} ({readable(target.shown)})"


def check(ws: Workspace) -> int:
    # start-up: tracker.check, 25 ms, only for check
    from ocop_cli.tracker.check import validate

    write.state_folder(ws)  # where its lock is looked at: a real folder, or one error
    problems = validate(ws)
    for problem in problems:
        label = _("warning") if problem.warning else _("error")
        print(f"{label}: {visible(str(problem))}", file=sys.stderr)
    errors = [p for p in problems if not p.warning]
    if errors:
        print(_("{n} problems in {root}").format(n=len(errors), root=ws.root), file=sys.stderr)
        return EXIT_INVALID
    render.stdout().write(_("{root}: all files valid").format(root=ws.root) + "\n")
    return EXIT_OK


class Rows(Sequence[dict[str, Any]]):
    """Rows made as they are read: 100,000 entries are never held as 100,000 dicts too."""

    def __init__(self, items: Sequence[Any], make: Callable[[Any], dict[str, Any]]) -> None:
        self.items, self.make = items, make

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self.make(item) for item in self.items[index]]
        return self.make(self.items[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(self.make, self.items)


def history_rows(loaded: Loaded, task_id: str | None) -> Rows:
    """The entries, oldest first, as rows of the documented JSON; about a task and its
    sub-rows only with `task_id` (then only their entries are read)."""
    # start-up: tracker.record, 7 ms, only for the history
    from ocop_cli.tracker.record import find_task

    ordered: Sequence[Entry]
    if not task_id and loaded.index is not None:
        # Every entry: read from the index in order as the rows are written, never held.
        ordered, undone = loaded.index.history(), loaded.index.undone()
    else:
        entries = (loaded.entries_about(find_task(loaded.plan, task_id).id) if task_id
                   else loaded.entries)
        ordered = sorted(entries, key=HISTORY_ORDER)
        undone = undone_by(entries)
    short = loaded.directory.short

    def row(e: Entry) -> dict[str, Any]:
        return {
            "id": e.id, "date": e.date.isoformat(), "recorded": e.at, "task": e.task,
            "action": e.action, "qty": e.qty, "place": short(e.place), "by": e.by,
            "ref": e.ref, "note": e.note, "undoes": e.undoes, "undone": e.id in undone,
        }

    return Rows(ordered, row)


def history(loaded: Loaded, task_id: str | None, fmt: str, no_color: bool) -> None:
    rows = history_rows(loaded, task_id)
    columns = [Column("date", _("Date")), Column("task", _("Task")), Column("action", _("Action")),
               Column("qty", _("Qty"), numeric=True, drop=2), Column("place", _("Place"), drop=3),
               Column("by", _("By"), drop=4), Column("ref", _("Proof"), drop=5),
               Column("note", _("Note"), drop=1), Column("id", _("Entry"), drop=6)]

    # start-up: tracker.record, 7 ms, only for the history
    from ocop_cli.tracker.record import action_label

    def shown(r: dict[str, Any]) -> dict[str, Any]:
        action = r["action"] if fmt == "csv" else action_label(r["action"])
        return {**r, "date": _day(r["date"], fmt),
                "action": action + (" " + _("(undone)") if r["undone"] else ""),
                "_style": "cancelled" if r["undone"] else None}

    formats.emit(fmt, columns, Rows(rows, shown), rows, title=_("History"), no_color=no_color)


def show(loaded: Loaded, states: dict[str, TaskState], task_id: str, fmt: str, as_of: dt.date,
         no_color: bool) -> None:
    # start-up: tracker.record, 7 ms, only for a task's page
    from ocop_cli.tracker.record import find_task

    plan = loaded.plan
    task = find_task(plan, task_id)
    state = states[task.id]
    data = show_data(loaded, task, state, as_of)
    if fmt == "json":
        render.write_json(data)
        return
    rows = [{"k": k, "v": v} for k, v in _show_facts(plan, task, state, data) if v]
    columns = [Column("k", ""), Column("v", "")]
    if fmt in ("csv", "md"):
        formats.emit(fmt, columns, rows, None)
        return
    render.table(columns, rows, title=_("Task {id} as of {date}").format(
        id=task.id, date=format_date(as_of)), no_color=no_color)
    if data["places"]:
        _by_district(plan, state, data["places"], as_of, no_color)
    if task.products_at and data.get("products"):
        # start-up: output.product_tables, 39 ms, only for a task that counts products
        from ocop_cli.output.product_tables import list_section

        part = list_section(data["products"])
        render.table(part.columns, part.rows, title=_("Products counted ({stage})").format(
            stage=stage_label(task.products_at)), no_color=no_color)
    if data["history"]:
        history(loaded, task.id, fmt, no_color)


def show_data(loaded: Loaded, task: Task, state: TaskState, as_of: dt.date) -> dict[str, Any]:
    """What `ocop show --format json` prints: the task's row and what its page adds."""
    plan, directory = loaded.plan, loaded.directory
    data = task_json(plan, task, state, directory, as_of=as_of)
    unit = unit_of(plan, task)
    section = next((s for s in plan.facts.get("sections", []) if s["id"] == task.section), None)
    data.update({
        "target_text": task.target.text if task.target else None,
        "percent": state.percent,
        "lead_name": directory.get(task.lead).name if task.lead else None,
        "section": task.section,
        "section_title": section["title"] if section else None,
        "notes": list(task.notes),
        "per_district": task.per_district,
        # A parent over several units: no quantity, so no breakdown of one.
        "places": [] if unit == MIXED else place_breakdown(loaded, task, state, as_of),
        "shared_by": [directory.short(u) for u in task.shared_by],
        "unassigned": state.unassigned,
        "history": list(history_rows(loaded, task.id)),
        "as_of": as_of.isoformat(),
    })
    if task.products_at:
        # start-up: tracker.product_views, 540 ms, only for a task that counts products
        from ocop_cli.tracker.product_views import counted_products

        data["products"] = counted_products(loaded, task.id, as_of)
    return data


def _show_facts(plan: Plan, task: Task, state: TaskState, data: dict[str, Any]
                ) -> list[tuple[str, Any]]:
    """`show`'s lines for people: what the task is, where it stands, its follow-up."""
    unit = unit_of(plan, task)
    return [
        (_("Task"), f"{task.id}  {task.title}"),
        # A parent's quantity is its sub-rows' (when of one unit): their unit is its own.
        (_("Unit"), None if unit == MIXED else unit),
        (_("Target"), target_line(task.target) if task.target else None),
        (_("Achieved"), None if data["achieved"] is None else format_number(
            data["achieved"]) + (f" ({format_number(state.percent)}%)"
                                 if state.percent is not None else "")),
        (_("Status"), status_label(state.status, state.timing)),
        (_("Due date"), _day(data["due_date"], "table") if data["due_date"] else None),
        (_("Completed"), _day(data["completed"], "table") if data["completed"] else None),
        (_("Follow-up"), class_label(data["class"]) + (" (" + ngettext(
            "{n} day", "{n} days", data["days_late"]).format(n=data["days_late"]) + ")"
            if data["days_late"] else "") if data["class"] else None),
        (_("Lead"), data["lead_name"]), (_("Partners"), data["partners"]),
        (_("Window"), window_line(plan, task.window) if task.window else None),
        (_("Section"), f"{task.section} {data['section_title'] or ''}".strip()
         if task.section else None),
        (_("Notes"), "\n".join(task.notes_in(language())) or None),
        (_("Latest note"), state.note), (_("Proof"), state.ref),
    ]


def _by_district(plan: Plan, state: TaskState, places: list[dict[str, Any]], as_of: dt.date,
                 no_color: bool) -> None:
    """`show`'s table of where the quantity was recorded; a unit's share with its status and
    timing, as a listing of the unit says them."""
    units = state.task.shared_by
    columns = [Column("place", _("Place")), Column("qty", _("Done"), numeric=True)]
    if units:
        columns.append(Column("state", _("Status")))
    rows = []
    for i, place in enumerate(places):  # the units first, in `units`' order
        timing = for_unit(plan, state, units[i], as_of).timing if i < len(units) else None
        status = place.get("status", "done" if place["qty"] else None)
        rows.append({"place": place["place"] or _("not assigned to a unit"), "qty": place["qty"],
                     "state": status_label(place["status"], timing)
                     + class_note(place["class"], place["days_late"]) if "status" in place
                     else None,
                     "_style": timing if timing in ("overdue", "due") else
                     "done" if status == "done" else None})
    render.table(columns, rows, title=_("By district"), no_color=no_color)


def window_line(plan: Plan, window: Window) -> str:
    """A window as written and the months it means: `T6-8 → [6, 7, 8]`; over several years
    `Năm 2023 → T1/2023–T12/2023`; a deadline with its day."""
    months = window.months
    if plan.last_year > plan.year:
        meant = f"{plan.month_label(months[0])}–{plan.month_label(months[-1])}"
    else:
        meant = str(list(months))
    deadline = window.deadline(plan.year)
    if deadline is not None:
        meant += ", " + _("by {date}").format(date=format_date(dt.date.fromisoformat(deadline)))
    return f"{window.text} → {meant}"


def place_breakdown(loaded: Loaded, task: Any, state: TaskState, as_of: dt.date
                    ) -> list[dict[str, Any]]:
    """Where the quantity was recorded; for a shared task, each unit first with its status
    (null when not known) and its share's follow-up, then other places, then what names no
    unit (`place` null)."""
    short = loaded.directory.short
    units = task.shared_by
    rows: list[dict[str, Any]] = []
    for unit in units:
        status = state.units.get(unit, "not_started")
        known = status != NOT_KNOWN
        share = for_unit(loaded.plan, state, unit, as_of)
        rows.append({"place": short(unit), "qty": state.places.get(unit, 0) if known else None,
                     "status": status if known else None}
                    | follow_up(loaded.plan, share, as_of).json())
    rows += [{"place": short(p), "qty": q} for p, q in state.places.items() if p not in units]
    if units and state.unassigned:
        rows.append({"place": None, "qty": state.unassigned})
    return rows
