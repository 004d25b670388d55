"""The report as one self-contained HTML page, print-ready on A4 landscape, with the timeline
drawn as SVG.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

from ocop_cli.core.i18n import _, format_date, language
from ocop_cli.core.query import status_label
from ocop_cli.core.report import Report
from ocop_cli.core.text import visible
from ocop_cli.output import render
from ocop_cli.output.cells import for_people
from ocop_cli.output.office import Letter
from ocop_cli.output.report_tables import heading
from ocop_cli.output.sections import Section, marked_rows, office_total
from ocop_cli.output.words import shown_day

STYLE = """
@page { size: A4 landscape; margin: 15mm 15mm 15mm 20mm; }
body { font-family: "Times New Roman", "Liberation Serif", "Noto Serif", serif;
       font-size: 12pt; color: #111; margin: 1.5em; line-height: 1.3; }
table.letterhead, table.closing { width: 100%; border: none; margin: 0 0 1em; }
table.letterhead td, table.closing td { border: none; text-align: center; vertical-align: top;
                                        padding: 0; }
table.letterhead td:first-child { width: 40%; }
table.letterhead { font-size: 12pt; }
h1 + hr.short { margin: 6px auto 10px; }
table.closing { margin-top: 1.5em; break-inside: avoid; }
table.closing td.recipients { text-align: left; width: 45%; font-size: 11pt; }
table.closing td.recipients p { margin: 0; font-size: 12pt; }
div.sign { height: 5em; }
hr.short, hr.motto { border: none; border-top: 1px solid #000; margin: 2px auto 8px; }
hr.short { width: 7em; }
hr.motto { width: 15em; }
h1 { font-size: 14pt; text-align: center; margin: .8em 0 .2em; }
p.body { text-align: justify; text-indent: 1cm; margin: 0 0 6pt; font-size: 13pt; }
h2 { font-size: 13pt; margin: 1.2em 0 .4em; page-break-after: avoid; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; margin: 0; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; }
table.data th, table.data td { border: 1px solid #444; padding: 2px 5px; vertical-align: top;
                               text-align: left; }
table.data th { background: #e6e6e6; text-align: center; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
table.data td.num { text-align: right; white-space: nowrap; }
tr.total td, tr.parent td { font-weight: bold; }
td.flag { background: #f4c7c3; font-weight: bold; }
tr.overdue td { color: #a00000; }
tr.due td { background: #fff5d1; }
tr.done td, tr.cancelled td { color: #666; }
tr.cancelled td { text-decoration: line-through; }
p.none { font-style: italic; }
svg.timeline, svg.legend { display: block; width: 100%; max-width: 1100px; height: auto;
                           font-family: inherit; break-inside: avoid; }
@media print { body { margin: 0; font-size: 11pt; } table.data { font-size: 10pt; } }
"""

BAR_COLOURS = {"done": "#4c9a4c", "cancelled": "#bbbbbb", "overdue": "#c62828",
               "due": "#e0a800", "upcoming": "#6a8fc7", "open": "#999999"}


def page(doc: Report, parts: Sequence[Section], timeline: dict[str, Any],
         letter: Letter) -> Iterator[str]:
    """The report as one HTML page that needs nothing else: no script, font or image from
    anywhere, print-ready on A4 landscape, with the document's header block above and the
    recipients and signer below. Every text from the data is escaped. Made in parts as they
    are written: a page of 50,000 tasks is never one string."""
    e = _h
    out = [f'<!DOCTYPE html>\n<html lang="{language()}">\n<head>\n<meta charset="utf-8">\n',
           '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
           f"<title>{e(letter.kind.capitalize())} {e(doc.plan.number)} – "
           f"{e(format_date(doc.as_of))}</title>\n",
           f"<style>{STYLE}</style>\n</head>\n<body>\n",
           '<table class="letterhead"><tr><td>',
           f"<div>{e(letter.parent)}</div><div><b>{e(letter.issuer)}</b></div>"
           '<hr class="short">',
           f"<div>{e(letter.number)}</div></td><td>",
           f"<div><b>{e(letter.motto[0])}</b></div><div><b>{e(letter.motto[1])}</b></div>"
           '<hr class="motto">',
           f"<div><i>{e(letter.date_line)}</i></div></td></tr></table>\n",
           f"<h1>{e(letter.kind)}<br>{e(letter.subject)}</h1>\n<hr class=\"short\">\n"]
    out += [f'<p class="body">{e(sentence)}</p>\n' for sentence in letter.sentences]
    out.append('<dl class="facts">\n')
    out += [f"<dt>{e(label)}</dt><dd>{e(value)}</dd>\n" for label, value in heading(doc)]
    out.append("</dl>\n")
    yield from out
    out = []
    if timeline["rows"]:  # a report on the product register has no tasks to draw
        yield f"<h2>{e(_('Timeline'))}</h2>\n"
        yield from timeline_svg(timeline)
    for section in parts:
        yield f"<h2>{e(section.title)}</h2>\n"
        if section.rows:
            yield from _html_table(section)
        else:
            yield f'<p class="none">{e(_("none"))}</p>\n'
    out.append('<table class="closing"><tr><td class="recipients">'
               f"<p><b><i>{e(letter.recipients_title)}</i></b></p>")
    out += [f"<div>- {e(r)}</div>" for r in letter.recipients]
    out.append('</td><td class="signer">')
    if letter.authority:
        out.append(f"<div><b>{e(letter.authority)}</b></div>")
    out.append(f'<div><b>{e(letter.title)}</b></div><div class="sign"></div>'
               f"<div><b>{e(letter.signer)}</b></div></td></tr></table>\n")
    out.append("</body>\n</html>\n")
    yield from out


def _h(value: Any) -> str:
    return html.escape(visible(render.cell(value)), quote=True).replace("\n", "<br>")


def _html_table(section: Section) -> Iterator[str]:
    """The table in parts: its head, then each row as it is made."""
    yield "".join(['<table class="data">\n<thead><tr>',
                   *(f"<th>{_h(c.header)}</th>" for c in section.columns),
                   "</tr></thead>\n<tbody>\n"])
    total = office_total(section)
    rows = chain(marked_rows(section), [total] if total else [])  # made as they are read
    for i, row in enumerate(for_people(rows, section.columns)):
        style = " ".join(x for x in (row.get("_style"), row.get("_parent") and "parent") if x)
        out = [f'<tr class="{_h(style)}">' if style else "<tr>"]
        flagged = section.marks.get(i, set())
        for column in section.columns:
            classes = " ".join(x for x in ("num" if column.numeric else "",
                                           "flag" if column.key in flagged else "") if x)
            attr = f' class="{classes}"' if classes else ""
            out.append(f"<td{attr}>{_h(row.get(column.key))}</td>")
        out.append("</tr>\n")
        yield "".join(out)
    yield "</tbody>\n</table>\n"


def timeline_svg(data: dict[str, Any], per_chart: int = 20) -> Iterator[str]:
    """A Gantt chart: one row per task, the plan year's months as columns, each window a bar
    coloured by status and timing, a line at the as-of date. Drawn as charts of `per_chart`
    rows, each with its months, so that a printed page breaks between two of them; made a
    chart at a time."""
    rows = data["rows"]
    for i in range(0, len(rows), per_chart):
        yield _chart(data, rows[i:i + per_chart])
    yield _legend(data)


LABEL_W, MONTH_W, ROW_H, TOP = 360, 52, 18, 34


def _chart(data: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    months = data["months"]
    width = LABEL_W + MONTH_W * len(months) + 10
    height = TOP + ROW_H * len(rows) + 8
    out = [f'<svg class="timeline" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{_h(_("Timeline"))}">\n']
    for i, label in enumerate(data["labels"]):
        x = LABEL_W + i * MONTH_W
        out.append(f'<rect x="{x}" y="{TOP - 4}" width="{MONTH_W}" '
                   f'height="{ROW_H * len(rows) + 8}" fill="{"#f4f4f4" if i % 2 else "#fff"}"/>'
                   f'<text x="{x + MONTH_W // 2}" y="{TOP - 10}" text-anchor="middle" '
                   f'font-size="{12 if len(label) < 5 else 10}">{label}</text>\n')
    for i, row in enumerate(rows):
        y = TOP + i * ROW_H
        title = f"{row['id']}  {row['title']}"
        room = 58 - 3 * row["depth"]
        shown = title if len(title) <= room else title[:room - 1] + "…"
        weight = ' font-weight="bold"' if not row["leaf"] else ""
        out.append(f'<text x="{4 + 14 * row["depth"]}" y="{y + 13}" font-size="11"{weight}>'
                   f"{_h(shown)}<title>{_h(title)}</title></text>")
        shown_months = [m for m in row["months"] if m in months]
        colour = BAR_COLOURS[_bar_kind(row)]
        for first, last in _runs(shown_months):
            x = LABEL_W + months.index(first) * MONTH_W + 2
            w = (last - first + 1) * MONTH_W - 4
            out.append(f'<rect x="{x}" y="{y + 3}" width="{w}" height="{ROW_H - 6}" rx="3" '
                       f'fill="{colour}"><title>{_h(row["window"])}: '
                       f'{_h(status_label(row["status"], row["timing"]))}</title></rect>')
        out.append("\n")
    as_of = data["as_of_month"]
    if as_of in months:
        day = int(data["as_of"][8:10])
        x = LABEL_W + months.index(as_of) * MONTH_W + MONTH_W * min(day, 30) / 31
        out.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" '
                   f'y2="{TOP + ROW_H * len(rows) + 4}" stroke="#c62828" stroke-width="1.5" '
                   f'stroke-dasharray="4 3"/>\n')
    out.append("</svg>\n")
    return "".join(out)


def _legend(data: dict[str, Any]) -> str:
    out = ['<svg class="legend" viewBox="0 0 734 20" width="734" height="20">']
    x = 4
    for kind, label in (("done", _("done")), ("overdue", _("overdue")), ("due", _("due")),
                        ("upcoming", _("upcoming")), ("cancelled", _("cancelled"))):
        out.append(f'<rect x="{x}" y="5" width="14" height="10" fill="{BAR_COLOURS[kind]}"/>'
                   f'<text x="{x + 18}" y="14" font-size="11">{_h(label)}</text>')
        x += 30 + 7 * len(label)
    out.append(f'<text x="{x}" y="14" font-size="11" fill="#c62828">┆ '
               f'{_h(_("as of {date}").format(date=shown_day(data["as_of"])))}</text></svg>\n')
    return "".join(out)


def _bar_kind(row: dict[str, Any]) -> str:
    if row["status"] in ("done", "cancelled"):
        return str(row["status"])
    return str(row["timing"] or "open")


def _runs(months: list[int]) -> list[tuple[int, int]]:
    """[6, 7, 9, 10, 11] -> [(6, 7), (9, 11)]: a window with a gap is two bars."""
    runs: list[tuple[int, int]] = []
    for month in months:
        if runs and runs[-1][1] == month - 1:
            runs[-1] = (runs[-1][0], month)
        else:
            runs.append((month, month))
    return runs
