"""`ocop remind`: who must be reminded of what on the as-of date (`notices`), and the
reminders already sent (`already_sent`), from the history's `remind` entries.

The lead agency is reminded of the whole task; for a task shared by the district units, each
unit whose own share is late or due soon is reminded of its share (a group of the units that
leads such a task is reached through them). Nothing is reminded of a task done, cancelled, or
whose whole is done.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from email.message import EmailMessage
from functools import partial
from typing import NamedTuple

from ocop_cli.core.directory import Directory
from ocop_cli.core.followup import (
    Notice,
    ProducerNotice,
    Reminder,
    due_date,
    follow_up,
    last_entry,
    reminder_order,
    to_remind,
)
from ocop_cli.core.i18n import _
from ocop_cli.core.model import Agency, Entry, Plan, Task
from ocop_cli.core.state import TaskState, for_unit
from ocop_cli.core.text import sort_key
from ocop_cli.output.notice import (
    NoticeText,
    notice_docx,
    notice_file,
    notice_letter,
    notice_mail_body,
    notice_text,
    producer_file,
    producer_text,
)
from ocop_cli.output.office import Office
from ocop_cli.store.storage import Loaded
from ocop_cli.tracker.certificates import producer_notices
from ocop_cli.tracker.mail import Server, message, send_all
from ocop_cli.tracker.product_lines import Line
from ocop_cli.tracker.products import Stamp as ProductStamp
from ocop_cli.tracker.products import load_register, products_as_of
from ocop_cli.tracker.record import Outcome, Stamp
from ocop_cli.tracker.tracker import Tracker


class Selection:
    """Which reminders `notices` gives: `within` days ahead, or exactly `at` days ahead."""

    def __init__(self, within: int = 7, at: tuple[int, ...] = (),
                 agency: Agency | None = None) -> None:
        self.within, self.at, self.agency = within, at, agency


def notices(loaded: Loaded, states: dict[str, TaskState], as_of: dt.date,
            selection: Selection) -> list[Notice]:
    """Each agency with what it is to be reminded of, agencies in alphabet order."""
    plan, directory = loaded.plan, loaded.directory
    found: dict[str, list[tuple[Task, str | None, TaskState]]] = {}
    for task in plan.leaves():
        for who, place, state in _subjects(plan, directory, states[task.id], as_of):
            if to_remind(follow_up(plan, state, as_of), as_of, selection.within, selection.at):
                found.setdefault(who, []).append((task, place, state))
    if selection.agency is not None:
        wanted = {selection.agency.id, directory.unit_of(selection.agency.id)}
        found = {who: items for who, items in found.items() if who in wanted}
    own = loaded.entries_of({task.id for items in found.values() for task, _p, _s in items})
    result = []
    for who in sorted(found, key=lambda i: sort_key(directory.short(i) or i)):
        agency = directory.get(who)
        items = sorted((_reminder(plan, directory, task, place, state, as_of,
                                  last_entry(own[task.id], as_of, place))
                        for task, place, state in found[who]), key=reminder_order)
        result.append(Notice(who, agency.short, agency.name, agency.email, items))
    return result


def certificates_due(loaded: Loaded, as_of: dt.date, selection: Selection
                     ) -> list[ProducerNotice]:
    """Each producer to be told that certificates it holds expire (`producer_notices`), from
    the product register as of `as_of`; `--agency` narrows to one unit's producers."""
    lines, rules, _warnings = load_register(loaded.workspace, loaded.directory)
    products = products_as_of(lines, rules, as_of).values()
    found = producer_notices(products, loaded.directory, rules, as_of, selection.within,
                             selection.at)
    if selection.agency is not None:
        wanted = {selection.agency.id, loaded.directory.unit_of(selection.agency.id)}
        found = [notice for notice in found if notice.unit in wanted]
    return found


def _subjects(plan: Plan, directory: Directory, state: TaskState, as_of: dt.date
              ) -> Iterable[tuple[str, str | None, TaskState]]:
    """Who answers for the task: its lead for the whole (unless the lead is a group of the
    very units that share it), and each unit for its share while the whole is open."""
    task = state.task
    lead = directory.by_id.get(task.lead or "")
    if lead is not None and not (task.shared_by and set(lead.members) >= set(task.shared_by)):
        yield lead.id, None, state
    if state.status in ("not_started", "in_progress"):
        for unit in task.shared_by:
            yield unit, unit, for_unit(plan, state, unit, as_of)


def _reminder(plan: Plan, directory: Directory, task: Task, place: str | None,
              state: TaskState, as_of: dt.date, last: dt.date | None) -> Reminder:
    item = follow_up(plan, state, as_of)
    assert item.due_date is not None and item.cls is not None  # as `to_remind` chose it
    parent = plan.task(task.parent) if task.parent else None
    target = state.task.target
    return Reminder(
        task.id, task.title, parent.title if parent else None, directory.short(place),
        directory.short(task.lead), [directory.short(p) or p for p in task.partners],
        task.window.text if task.window else None, item.due_date, item.cls,
        item.days_late or 0, max(0, (item.due_date - as_of).days), state.status,
        state.achieved, target.shown if target else None, last)


def reminder_key(agency: str, item: Reminder, scheduled: bool) -> tuple[str, str, str]:
    """What makes a reminder the same as one sent before: the agency, the task and the phase:
    "late" once the due date has passed; before it, the days left when run on a schedule
    (`--at 7,3,1` sends three), else "due". A daily run sends each once."""
    if item.days_late:
        return agency, item.task, "late"
    return agency, item.task, str(item.days_left) if scheduled else "due"


def already_sent(plan: Plan, entries: Iterable[Entry]) -> set[tuple[str, str, str]]:
    """The keys (`reminder_key`) of the reminders the history says were sent: a `remind`
    entry names the agency (`place`) and the task, and its date says the phase."""
    keys = set()
    for e in entries:
        task = plan.task(e.task)
        if e.action != "remind" or e.place is None or task is None:
            continue
        due = due_date(plan, task)
        if due is None or e.date > due:
            keys.add((e.place, e.task, "late"))
        else:
            keys |= {(e.place, e.task, "due"), (e.place, e.task, str((due - e.date).days))}
    return keys


# --- letters and mail ------------------------------------------------------------------------


class Letter(NamedTuple):
    """One letter to send: to whom (as listed), the addresses, how many items it names, what
    it says, its DOCX and file name, and how it is recorded once the server took it."""

    who: str
    to: tuple[str, ...]
    size: int  # how many tasks or certificates it names
    text: NoticeText
    docx: bytes
    file: str
    record: Callable[[Tracker, str, dt.date], None]  # (tracker, message id, as-of date)


def letters(loaded: Loaded, notices: list[Notice], office: Office, as_of: dt.date,
            reply_by: dt.date) -> list[Letter]:
    """The reminder letter (công văn đôn đốc) to each agency, from the office's letterhead."""
    head = notice_letter(office, loaded.plan, as_of)
    found = []
    for notice in notices:
        text = notice_text(notice, loaded.plan, head, as_of, reply_by)
        found.append(Letter(notice.short, notice.email, len(notice.items), text,
                            notice_docx(text), notice_file(notice),
                            partial(_record, notice=notice, year=loaded.plan.year)))
    return found


def producer_letters(loaded: Loaded, producers: list[ProducerNotice], office: Office,
                     as_of: dt.date) -> list[Letter]:
    """The notice to each producer, on the same letterhead and page as the reminders, to the
    addresses of its unit."""
    head = notice_letter(office, loaded.plan, as_of)
    found = []
    for notice in producers:
        text = producer_text(notice, head, as_of)
        found.append(Letter(notice.key, notice.email, len(notice.items), text,
                            notice_docx(text), producer_file(notice),
                            partial(_record_notice, notice=notice)))
    return found


def unnotified(producers: list[ProducerNotice]) -> list[ProducerNotice]:
    """The notices with only the certificates the register does not say their holder was
    told of; those left with none are dropped."""
    found = []
    for notice in producers:
        items = [item for item in notice.items if item.notified is None]
        if items:
            found.append(dataclasses.replace(notice, items=items))
    return found


def unsent(loaded: Loaded, notices: list[Notice], scheduled: bool) -> list[Notice]:
    """The notices with only the reminders the history does not say were sent; those left
    with none are dropped."""
    sent = already_sent(loaded.plan, loaded.entries)
    found = []
    for notice in notices:
        items = [item for item in notice.items
                 if reminder_key(notice.agency, item, scheduled) not in sent]
        if items:
            found.append(Notice(notice.agency, notice.short, notice.name, notice.email,
                                items))
    return found


class Sent(NamedTuple):
    """What `send` did for one agency: sent (with the message id), or why not."""

    agency: str
    to: tuple[str, ...]
    tasks: int
    message_id: str | None
    problem: str | None  # "no address", or the server's reason


def send(tracker: Tracker, found: list[Letter], server: Server | None, as_of: dt.date
         ) -> list[Sent]:
    """Each letter by e-mail to its addresses, the DOCX attached and the text in the body;
    each one sent recorded at once (`Letter.record`: a reminder in the history, a notice in
    the product register). With no `server` (a dry run), nothing is sent or recorded: what
    would be sent is said."""
    results: list[Sent] = []
    mails: dict[str, tuple[Letter, EmailMessage]] = {}
    for letter in found:
        if not letter.to:
            results.append(Sent(letter.who, (), letter.size, None, "no address"))
            continue
        mail = message(server or _DRY, letter.to, letter.text.about,
                       notice_mail_body(letter.text), letter.docx, letter.file)
        mails[mail["Message-ID"]] = (letter, mail)
    if server is None:
        return results + [Sent(letter.who, letter.to, letter.size, None, None)
                          for letter, _mail in mails.values()]

    def sent(mail: EmailMessage) -> None:
        letter = mails[mail["Message-ID"]][0]
        letter.record(tracker, mail["Message-ID"], as_of)
        results.append(Sent(letter.who, letter.to, letter.size, mail["Message-ID"], None))

    def failed(mail: EmailMessage, reason: str) -> None:
        letter = mails[mail["Message-ID"]][0]
        results.append(Sent(letter.who, letter.to, letter.size, None, reason))

    send_all(server, [mail for _letter, mail in mails.values()], sent, failed)
    return results


_DRY = Server("", 0, None, None, "ocop@localhost", "none")


def _record(tracker: Tracker, message_id: str, as_of: dt.date, notice: Notice,
            year: int) -> None:
    """The reminders of one mail sent, as `remind` entries of the office's history."""
    def decide(_loaded: Loaded, who: str) -> Outcome[Entry]:
        stamp = Stamp(date=as_of, by=who, ref=message_id,
                      note=_("sent to {to}").format(to=", ".join(notice.email)), plan=year)
        return Outcome(entries=[stamp.entry(item.task, "remind", place=notice.agency)
                                for item in notice.items])

    tracker.record(decide)


def _record_notice(tracker: Tracker, message_id: str, as_of: dt.date,
                   notice: ProducerNotice) -> None:
    """The certificates of one notice sent, as `notified` lines of the office's product
    register (the message id as `ref`, the addresses as `note`)."""
    def decide(_loaded: Loaded, who: str) -> Outcome[Line]:
        stamp = ProductStamp(as_of, who, message_id,
                             _("sent to {to}").format(to=", ".join(notice.email)))
        return Outcome(entries=[stamp.line(item.product, "notified") for item in notice.items])

    tracker.record(decide, book="products")
