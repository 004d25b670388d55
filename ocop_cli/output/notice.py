"""Reminders (`ocop remind`): the listing of who is reminded of what, the reminder letter
(công văn đôn đốc) to each agency and the notice to each producer whose OCOP certificates
expire soon, each as a DOCX page and as the text of an e-mail (one letter form for both)."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any, NamedTuple

from ocop_cli.core.followup import CertificateDue, Notice, ProducerNotice, Reminder
from ocop_cli.core.i18n import _, format_date, ngettext
from ocop_cli.core.labels import stars_label
from ocop_cli.core.model import Plan
from ocop_cli.core.report import ProductReport, plan_ref
from ocop_cli.core.text import fold, visible
from ocop_cli.output.document import (
    BODY_PT,
    LEFT_CM,
    RIGHT_CM,
    _body,
    _borderless,
    _centred,
    _closing_block,
    _fonts,
    _lines_in,
    _lines_in_more,
    _page,
    _page_number,
    _rule,
)
from ocop_cli.output.office import BLANK, Letter, Office, letter
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


def certificate_line(item: CertificateDue) -> str:
    """A certificate as a notice names it: the product, its stars, the decision and date."""
    return _("{name} ({stars}): certificate No. {ref} of {date}").format(
        name=item.name, stars=stars_label(item.stars), ref=item.certificate,
        date=format_date(item.issued))


def expiry_line(item: CertificateDue) -> str:
    """When it expires, and the day the holder was to be told by."""
    return ngettext("expires on {date}, in {n} day (notice by {by})",
                    "expires on {date}, in {n} days (notice by {by})", item.days_left).format(
        date=format_date(item.expires), n=item.days_left, by=format_date(item.notice_by))


def remind_section(notices: list[Notice], as_of: dt.date,
                   producers: list[ProducerNotice] | None = None) -> Section:
    """One row per reminder: the agency, the task, how late or how soon, the addresses; then
    one per certificate whose holder must be told it expires: the producer (and its unit),
    the product, the expiry, the unit's addresses the notice goes to."""
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
    for producer in producers or ():
        for cert in producer.items:
            rows.append({
                "agency": producer.key, "task": certificate_line(cert),
                "when": expiry_line(cert), "last": "", "partners": "",
                "email": ", ".join(producer.email) or _("no address"),
                "_style": "overdue" if cert.notice_by < as_of else "due"})
    title = _("Reminders as of {date}").format(date=format_date(as_of))
    return Section("remind", title, columns, rows)


def remind_json(notices: list[Notice], as_of: dt.date,
                producers: list[ProducerNotice] | None = None) -> dict[str, Any]:
    return {"as_of": as_of.isoformat(), "agencies": [notice.json() for notice in notices],
            "producers": [producer.json() for producer in producers or ()]}


# --- the reminder letter (công văn đôn đốc) --------------------------------------------------


class NoticeText(NamedTuple):
    """What a reminder letter says, in the order the page says it (Nghị định 30/2020/NĐ-CP,
    Phụ lục I, the công văn): the letterhead and number, "V/v …" under the number, "Kính
    gửi:", the body, the tasks, what is asked and by when, "Nơi nhận:" and the signer."""

    letter: Letter
    about: str
    to: str
    opening: str
    items: list[str]
    asked: str


def notice_letter(office: Office, plan: Plan, as_of: dt.date) -> Letter:
    """The letterhead and signer's block of the office's reminders: the office's own
    (`office.yaml` and the options), numbered as a công văn is, with the symbol of the body
    only (45/SNN, never the report's 45/BC-SNN); "Như trên" first among the recipients."""
    head = letter(ProductReport(plan=plan_ref(plan), as_of=as_of), office)
    symbol = office.symbol.removeprefix("BC-")
    number = office.number if "/" in office.number else \
        f"{office.number or BLANK}/{symbol or BLANK}"
    return head._replace(number=_("No. {number}").format(number=number), kind="",
                         subject="", sentences=[],
                         recipients=(_("As above;"), *office.recipients))


def notice_text(notice: Notice, plan: Plan, head: Letter, as_of: dt.date,
                reply_by: dt.date) -> NoticeText:
    """The letter to one agency: each task with its deadline, how late, its last report."""
    about = _("Re: urging the tasks of Plan No. {number}").format(number=plan.number)
    opening = _("Under Plan No. {number} of {years} ({title}), as of {date} the following "
                "tasks that {agency} answers for are not yet done or fall due soon:").format(
        number=plan.number, years=plan.years, title=plan.title, date=format_date(as_of),
        agency=notice.name)
    items = [f"{n}. {task_line(item)}: {when_line(item)}; {last_line(item)}."
             for n, item in enumerate(notice.items, 1)]
    asked = _("{agency} is asked to carry them out without delay and to report the results "
              "by {date}.").format(agency=notice.name, date=format_date(reply_by))
    return NoticeText(head, about, _("To: {agency}").format(agency=notice.name), opening,
                      items, asked)


def producer_text(notice: ProducerNotice, head: Letter, as_of: dt.date) -> NoticeText:
    """The notice to one producer that OCOP certificates it holds expire: each product with
    its stars, certificate and expiry, and what to do to keep the stars (a new dossier for
    re-evaluation before the expiry)."""
    about = _("Re: notice that OCOP product certificates expire soon")
    opening = _("As of {date}, the following OCOP product certificates that {producer} "
                "holds expire soon. A product keeps its OCOP stars only by being evaluated "
                "again before its certificate expires:").format(
        date=format_date(as_of), producer=notice.producer)
    items = [f"{n}. {certificate_line(item)}; {expiry_line(item)}."
             for n, item in enumerate(notice.items, 1)]
    first = min(item.expires for item in notice.items)
    where = notice.unit_name or _("the OCOP office")
    asked = _("{producer} is asked to send a new dossier for re-evaluation to {unit} before "
              "{date}; a product not re-evaluated loses its OCOP certificate and stars on "
              "the day its certificate expires.").format(
        producer=notice.producer, unit=where, date=format_date(first))
    return NoticeText(head, about, _("To: {agency}").format(agency=notice.producer), opening,
                      items, asked)


def notice_docx(text: NoticeText) -> bytes:
    """The letter as a DOCX page: A4 portrait, Times New Roman, the decree's margins."""
    # start-up: docx, 122 ms, only for a letter as DOCX
    from docx import Document
    from docx.shared import Mm

    book = Document()
    _fonts(book)
    first = book.sections[0]
    _page(first, Mm(210), Mm(297))
    first.different_first_page_header_footer = True
    _page_number(first.header.paragraphs[0])
    _notice_head(book, text)
    _centred(book, text.to, size=BODY_PT, before=12, after=12)
    _body(book, text.opening)
    for item in text.items:
        _body(book, item)
    _body(book, text.asked)
    _closing_block(book, text.letter)
    saved = io.BytesIO()
    book.save(saved)
    return saved.getvalue()


def _notice_head(book: Any, text: NoticeText) -> None:
    """Top left: parent, issuing body, a rule, the number and under it "V/v …"; top right:
    the motto, a rule, the place and date."""
    table = _borderless(book, (LEFT_CM, RIGHT_CM))
    left, right = table.rows[0].cells
    head = text.letter
    _lines_in(left, [(head.parent, {"size": 12}), (head.issuer, {"bold": True, "size": 12})])
    _rule(left, LEFT_CM, 2.5)
    _lines_in_more(left, [(head.number, {"size": 13}), (text.about, {"size": 12})])
    _lines_in(right, [(head.motto[0], {"bold": True, "size": 12}),
                      (head.motto[1], {"bold": True, "size": 14})])
    _rule(right, RIGHT_CM, 6.0)
    _lines_in_more(right, [(head.date_line, {"italic": True, "size": 14})])


def notice_mail_body(text: NoticeText) -> str:
    """The letter as the text of an e-mail (the DOCX attached is the letter itself)."""
    parts = [text.to, "", text.opening, *text.items, "", text.asked, "",
             f"{text.letter.issuer}", f"{text.letter.title} {text.letter.signer}".strip()]
    return "\n".join(visible(part) for part in parts) + "\n"


def notice_file(notice: Notice) -> str:
    """The letter's file name: `cong-van-don-doc-so-nn-ptnt.docx` (the agency id)."""
    return f"cong-van-don-doc-{notice.agency}.docx"


def producer_file(notice: ProducerNotice) -> str:
    """The notice's file name: `thong-bao-het-han-gia-loc-htx-nong-nghiep-a.docx` (the unit
    id, then the producer's name folded to plain letters, cut to a length any disk takes)."""
    name = re.sub(r"[^a-z0-9]+", "-", fold(notice.producer)).strip("-")[:60].strip("-")
    unit = re.sub(r"[^a-z0-9]+", "-", fold(notice.unit or "")).strip("-")
    return "thong-bao-het-han-" + "-".join(part for part in (unit, name or "chu-the")
                                           if part) + ".docx"
