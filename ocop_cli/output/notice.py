"""Reminders (`ocop remind`): the listing of who is reminded of what, and the words of each
task's line as the reminder letter and the mail say them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ocop_cli.core.followup import Notice, Reminder
from ocop_cli.core.i18n import _, format_date, ngettext
from ocop_cli.output.render import Column
from ocop_cli.output.sections import Section, content


def when_line(item: Reminder) -> str:
    """How late, or how soon: "46 days late (due 31/07/2019)", "due in 3 days (…)"."""
    due = format_date(item.due_date)
    if item.days_late:
        return ngettext("{n} day late (due {date})", "{n} days late (due {date})",
                        item.days_late).format(n=item.days_late, date=due)
    if item.days_left == 0:
        return _("due today ({date})").format(date=due)
    return ngettext("due in {n} day ({date})", "due in {n} days ({date})",
                    item.days_left).format(n=item.days_left, date=due)


def last_line(item: Reminder) -> str:
    """When the agency last reported on it: "no report since 12/08/2019", "no report yet"."""
    if item.last_entry is None:
        return _("no report yet")
    return _("no report since {date}").format(date=format_date(item.last_entry))


def task_line(item: Reminder) -> str:
    """The task as a reminder names it: id, content, and whose share."""
    text = f"{item.task}. {content(item.title, item.parent_title)}"
    if item.place:
        text += " " + _("(the share of {unit})").format(unit=item.place)
    return text


def remind_section(notices: list[Notice], as_of: dt.date) -> Section:
    """One row per reminder: the agency, the task, how late or how soon, the addresses."""
    columns = [Column("agency", _("Agency"), max_width=22), Column("task", _("Task"),
                                                                  max_width=44),
               Column("when", _("Deadline"), max_width=30),
               Column("last", _("Last report"), max_width=26, drop=2),
               Column("partners", _("Partners"), max_width=30, drop=3),
               Column("email", _("E-mail"), max_width=30, drop=1)]
    rows: list[dict[str, Any]] = []
    for notice in notices:
        for item in notice.items:
            rows.append({
                "agency": notice.short, "task": task_line(item),
                "when": when_line(item), "last": last_line(item),
                "partners": ", ".join(p for p in item.partners if p),
                "email": ", ".join(notice.email) or _("no address"),
                "_style": "overdue" if item.days_late else "due"})
    title = _("Reminders as of {date}").format(date=format_date(as_of))
    return Section("remind", title, columns, rows)


def remind_json(notices: list[Notice], as_of: dt.date) -> dict[str, Any]:
    return {"as_of": as_of.isoformat(), "agencies": [notice.json() for notice in notices]}
