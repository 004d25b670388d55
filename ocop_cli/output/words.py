"""A report in words, as the administrative document writes it: its subject (trích yếu), the
body in full sentences, periods and dates as the language says them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ocop_cli.core.i18n import _, format_date, language, ngettext
from ocop_cli.core.report import (
    AgencyReport,
    Counts,
    Overview,
    Period,
    PeriodReport,
    ProductReport,
    Report,
    TaskReport,
    TaskRow,
)
from ocop_cli.output.sections import content


def shown_day(iso: str | None) -> str:
    """An ISO date as the language writes it (15/09/2019 in Vietnamese)."""
    return format_date(dt.date.fromisoformat(iso)) if iso else ""


def period_name(period: Period) -> str:
    """`2019-Q3` as a sentence says it: "quý III năm 2019", "the third quarter of 2019"; a
    period of two dates (`--from`, `--to`) by its days."""
    if period.cut == "dates":
        return _("the days from {start} to {end}").format(start=format_date(period.start),
                                                         end=format_date(period.end))
    year, _dash, part = period.label.partition("-")
    if not part:
        return _("the year {year}").format(year=year)
    if part[0] in "Qq":
        return _("quarter {n} of {year}").format(n=("I", "II", "III", "IV")[int(part[1]) - 1],
                                                 year=year)
    if part[0] in "Hh":
        return (_("the first half of {year}") if part[1] == "1"
                else _("the second half of {year}")).format(year=year)
    # start-up: babel.dates, 29 ms, only for a month's name
    from babel.dates import get_month_names

    # "July 2019"; "tháng 7 năm 2019", as officials write a month in a report's subject
    month = get_month_names("wide", locale=language())[int(part)]
    return _("{month} {year}").format(month=month, year=year)


def subject(doc: Report) -> str:
    """The line under the kind of document (trích yếu): what the report is about."""
    if isinstance(doc, ProductReport):
        text = _("OCOP products registered and ranked under Plan No. {number}").format(
            number=doc.plan.number)
        return text + _(", as of {date}").format(date=format_date(doc.as_of))
    text = _("Results of implementing Plan No. {number}").format(number=doc.plan.number)
    source = doc.source if isinstance(doc, TaskReport) else None
    if source and source.dated:
        text += " " + _("dated {date}").format(date=shown_day(source.dated))
    if source and source.issuer:
        text += " " + _("of {issuer}").format(issuer=source.issuer)
    if doc.agency:
        text += " " + _("for the tasks of {agency}").format(agency=doc.agency.short)
    if doc.period:
        text += " " + _("in {period}").format(period=period_name(doc.period))
    return text + _(", as of {date}").format(date=format_date(doc.as_of))


def _tally(counts: Counts) -> str:
    """`2 done, 1 in progress, 14 not started`: the statuses, which partition the tasks."""
    parts = [(counts.done, _("{n} done")), (counts.in_progress, _("{n} in progress")),
             (counts.not_started, _("{n} not started")),
             (counts.cancelled, _("{n} cancelled")), (counts.not_known, _("{n} not known"))]
    return ", ".join(label.format(n=n) for n, label in parts if n) or _("none")


def _late_part(counts: Counts) -> str:
    parts = [(counts.overdue, _("{n} overdue")), (counts.due, _("{n} due this month"))]
    return ", ".join(label.format(n=n) for n, label in parts if n)


def sentences(doc: Report, named: int = 15) -> list[str]:
    """The body of the document in full sentences: how many tasks are done, in progress, not
    started, overdue; by lead agency; the overdue ones by name (the first `named`)."""
    if not isinstance(doc, TaskReport):
        return product_sentences(doc) if isinstance(doc, ProductReport) else []
    counts, day = doc.counts, format_date(doc.as_of)
    found = []
    tasks = ngettext("{n} task", "{n} tasks", counts.tasks).format(n=counts.tasks)
    if doc.agency:
        opening = _("As of {date}, {agency} takes part in {tasks} of the plan, as lead or as "
                    "partner: {tally}.")
    else:
        opening = _("As of {date}, the plan has {tasks}: {tally}.")
    found.append(opening.format(date=day, agency=doc.agency.short if doc.agency else None,
                                tasks=tasks, tally=_tally(counts)))
    late = _late_part(counts)
    if late:
        found.append(_("Of the open tasks, {late}.").format(late=late))
    if isinstance(doc, Overview):
        leads = [f"{item.agency} ({_tally(item.lead)})" for item in doc.agencies
                 if item.lead.tasks]
        if leads:
            found.append(_("By lead agency: {list}.").format(list="; ".join(leads)))
    if isinstance(doc, PeriodReport) and doc.period:
        found.append(_("In {period}, {due} fell due and entries were recorded for {done}.")
                     .format(period=period_name(doc.period),
                             due=ngettext("{n} task", "{n} tasks", len(doc.due)).format(
                                 n=len(doc.due)),
                             done=ngettext("{n} task", "{n} tasks", len(doc.achieved))
                             .format(n=len(doc.achieved))))
    found.append(_overdue_sentence(_overdue(doc), named))
    return found


def _overdue(doc: TaskReport) -> Sequence[TaskRow]:
    if isinstance(doc, Overview):
        return doc.overdue
    if isinstance(doc, PeriodReport):
        return doc.late
    assert isinstance(doc, AgencyReport)
    return [r for r in doc.tasks if r["timing"] == "overdue"]


def _overdue_sentence(overdue: Sequence[TaskRow], named: int) -> str:
    if not overdue:
        return _("No task is overdue.")
    names = [f"{r['id']} {content(r['title'], r.get('parent_title'))} ({r['window']}, "
             f"{r['lead'] or ''})".replace(", )", ")") for r in overdue[:named]]
    more = len(overdue) - len(names)
    text = _("Overdue: {list}").format(list="; ".join(names))
    if more:
        text += "; " + ngettext("and {n} more", "and {n} more", more).format(n=more)
    return text + "."


def product_sentences(doc: ProductReport) -> list[str]:
    """The body of a document about the register, in full sentences: how far the products
    went, the stars in force and the recognitions that run out soon."""
    if doc.products is None:  # a list of products says what it is in its title rows
        return []
    found, total = doc.products, doc.products.total
    registered = ngettext("{n} product", "{n} products", total.registered).format(
        n=total.registered)
    said = [_("As of {date}, the register holds {registered}: {chosen} chosen and {rejected} "
              "rejected by the districts, {sent} sent to the province, {scored} scored.").format(
        date=format_date(doc.as_of), registered=registered, chosen=total.chosen,
        rejected=total.rejected, sent=total.sent, scored=total.scored)]
    # A sentence names the star classes there are; "0 products with 3 stars" says nothing.
    held = {3: total.stars.stars3, 4: total.stars.stars4, 5: total.stars.stars5}
    stars = [ngettext("{n} with {stars} stars", "{n} with {stars} stars", n).format(
        n=n, stars=s) for s, n in held.items() if n]
    if not total.recognised:
        said.append(_("No product holds a recognition in force."))
    elif stars:
        said.append(_("Recognitions in force: {n}, of which {stars}.").format(
            n=total.recognised, stars=", ".join(stars)))
    else:
        said.append(_("Recognitions in force: {n}.").format(n=total.recognised))
    ending = len(found.expiring.products)
    until = format_date(found.expiring.until)
    said.append(ngettext("{n} recognition runs out by {date}.",
                         "{n} recognitions run out by {date}.", ending).format(
        n=ending, date=until) if ending else
        _("No recognition runs out by {date}.").format(date=until))
    return said


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
