"""A report in each output format, to the terminal or into a file: the table, Markdown, CSV
and JSON through `render`, an Excel workbook (openpyxl) and one self-contained HTML page with
the timeline as SVG.

Files are written whole into a temporary file beside the destination, then renamed over it,
so a reader never sees half a report; an existing file is replaced only with `--force`.
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ocop_cli import render
from ocop_cli.errors import Refused, UsageError
from ocop_cli.i18n import _
from ocop_cli.report import Section, heading, marked_rows, sections, status_label
from ocop_cli.text import visible

FORMATS = ("table", "json", "csv", "md", "xlsx", "html")
SUFFIXES = {".txt": "table", ".json": "json", ".csv": "csv", ".md": "md", ".xlsx": "xlsx",
            ".html": "html", ".htm": "html"}
NARROW_BELOW = 140  # terminal columns under which the office table is folded
PERCENT = "percent"  # a column with this key holds a percentage (41.7 means 41.7 %)


def choose_format(fmt: str | None, output: str | None) -> str:
    """The format asked for, else the one the output file's name says, else the table."""
    if fmt:
        return fmt
    if output:
        return SUFFIXES.get(Path(output).suffix.lower(), "table")
    return "table"


def deliver(doc: dict[str, Any], fmt: str, output: str | None, force: bool, no_color: bool,
            timeline: Callable[[], dict[str, Any]]) -> None:
    """Write the report `doc` as `fmt` to stdout, or into `output` (never over a file unless
    `force`; `-` is stdout). `timeline` is asked for only by the HTML page."""
    if output == "-":
        output = None
    if fmt == "xlsx":
        if not output:
            raise UsageError(_("--format xlsx writes a file: add --output FILE.xlsx"))
        save(Path(output), force, lambda path: write_xlsx(path, doc, sections(doc)))
        return
    if output is None:
        if fmt == "html":
            render.stdout().write(page(doc, sections(doc), timeline()))
        else:
            write_text(doc, fmt, render.stdout(), no_color)
        return
    buffer = io.StringIO()
    if fmt == "html":
        buffer.write(page(doc, sections(doc), timeline()))
    else:
        write_text(doc, fmt, buffer, no_color=True)
    text = buffer.getvalue()
    save(Path(output), force, lambda path: path.write_text(text, encoding="utf-8"))


def write_text(doc: dict[str, Any], fmt: str, stream: TextIO, no_color: bool) -> None:
    """Table, Markdown, CSV or JSON: the sections one after another under the title rows."""
    if fmt == "json":
        render.write_json(doc, stream)
        return
    facts = heading(doc)
    if fmt == "md":
        stream.write(f"# {_md(_('Report'))}\n\n")
        stream.writelines(f"- **{_md(label)}:** {_md(value)}\n" for label, value in facts)
        for section in sections(doc):
            stream.write(f"\n## {_md(section.title)}\n\n")
            rows = marked_rows(section)
            stream.write(render.markdown(section.columns, rows) if rows else
                         f"_{_md(_('none'))}_\n")
        return
    if fmt == "csv":
        lines = render.CsvWriter(stream)
        lines.writerows([visible(label), visible(value)] for label, value in facts)
        for section in sections(doc):
            stream.write("\n")
            lines.writerow([visible(section.title)])
            render.write_csv(section.columns, marked_rows(section), stream)
        return
    from rich.text import Text

    con = render.console(stream, no_color=no_color)
    narrow = con.width < NARROW_BELOW
    for label, value in facts:
        con.print(Text(visible(f"{label}: {value}")))
    for section in sections(doc, narrow=narrow):
        con.print()
        if not section.rows:
            con.print(Text(visible(f"{section.title}: {_('none')}")))
            continue
        rows = marked_rows(section)
        if section.grid:  # a zero is noise in a grid of counts
            rows = [{**{k: "·" if v == 0 else v for k, v in row.items()},
                     "_cells": dict.fromkeys(section.marks.get(i, ()), "overdue")}
                    for i, row in enumerate(rows)]
        render.table(section.columns, rows, title=section.title, no_color=no_color,
                     compact=section.grid, file=stream)


def _md(text: str) -> str:
    return render.md_text(visible(text)).replace("*", "\\*").replace("_", "\\_")


# --- files -----------------------------------------------------------------------------------


def save(path: Path, force: bool, write: Callable[[Path], Any]) -> None:
    """Have `write` fill a temporary file in the destination's folder, then put it in place:
    over an existing file only with `force`."""
    if path.is_dir():
        raise Refused(_("{path} is a folder; give a file name").format(path=path))
    if path.exists() and not force:
        raise Refused(_("{path} already exists; add --force to replace it").format(path=path))
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise Refused(_("cannot write in {folder}: {error}").format(
            folder=folder, error=exc.strerror or exc)) from None
    os.close(fd)
    temp = Path(name)
    try:
        os.chmod(temp, 0o666 & ~_umask())  # as an ordinary new file, not the temp file's 0600
        write(temp)
        with open(temp, "rb+") as done:
            os.fsync(done.fileno())
        if force:
            os.replace(temp, path)
        else:
            _place_new(temp, path)
    except OSError as exc:
        raise Refused(_("cannot write {path}: {error}").format(
            path=path, error=exc.strerror or exc)) from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _place_new(temp: Path, path: Path) -> None:
    """Rename without replacing: a file that appeared since the check is kept."""
    try:
        os.link(temp, path)  # fails when `path` exists, unlike a rename
    except FileExistsError:
        raise Refused(_("{path} already exists; add --force to replace it").format(
            path=path)) from None
    except OSError:  # a file system without hard links
        if path.exists():
            raise Refused(_("{path} already exists; add --force to replace it").format(
                path=path)) from None
        os.replace(temp, path)


# --- Excel -----------------------------------------------------------------------------------


def sheet_names() -> dict[str, str]:
    return {"agencies": _("Agencies"), "matrix": _("By month"), "overdue": _("Overdue"),
            "tasks": _("Tasks"), "duties": _("Duties"), "due": _("Due"),
            "achieved": _("Achieved"), "late": _("Late"), "places": _("By district unit"),
            "products": _("Products"), "product_funnel": _("Products by district"),
            "product_kinds": _("Stars by kind"), "product_groups": _("Stars by group"),
            "product_expiring": _("Running out")}

_NOT_IN_SHEET_NAMES = str.maketrans({c: " " for c in "[]:*?/\\"})


def write_xlsx(path: Path, doc: dict[str, Any], parts: Sequence[Section]) -> None:
    """One sheet per section: the title rows, a bold frozen header, then the rows, numbers as
    numbers and percentages as percentages."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDDDDD")
    late_fill = PatternFill("solid", fgColor="F4C7C3")
    wrap = Alignment(wrap_text=True, vertical="top")
    facts = heading(doc)
    used: set[str] = set()
    names = sheet_names()
    for section in parts:
        sheet = book.create_sheet(_sheet_name(names.get(section.key, section.key), used))
        sheet.cell(1, 1, _text(section.title)).font = Font(bold=True, size=13)
        for i, (label, fact) in enumerate(facts, 2):
            sheet.cell(i, 1, _text(label)).font = bold
            sheet.cell(i, 2, _text(fact))
        top = len(facts) + 3
        for j, column in enumerate(section.columns, 1):
            head = sheet.cell(top, j, _text(column.header))
            head.font, head.fill, head.alignment = bold, header_fill, wrap
        sheet.freeze_panes = sheet.cell(top + 1, 1)
        widths = [max((len(w) for w in c.header.split()), default=4) for c in section.columns]
        for i, row in enumerate(section.rows, top + 1):
            late = section.marks.get(i - top - 1, set())
            for j, column in enumerate(section.columns, 1):
                value = row.get(column.key)
                cell = sheet.cell(i, j)
                _put(cell, value, column.key == PERCENT)
                cell.alignment = wrap
                if column.key in late:
                    cell.fill = late_fill
                shown = render.cell(value)
                widths[j - 1] = max(widths[j - 1], *(len(line) for line in shown.split("\n")))
        for j, width in enumerate(widths, 1):
            # Excel counts widths in digits; accented letters are about as wide.
            sheet.column_dimensions[get_column_letter(j)].width = min(max(width, 4), 60) + 2
    if not parts:
        book.create_sheet(_("Report"))
    book.save(path)


def _sheet_name(title: str, used: set[str]) -> str:
    base = title.translate(_NOT_IN_SHEET_NAMES).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.casefold() in used:
        name = f"{base[:28]} {n}"
        n += 1
    used.add(name.casefold())
    return name


def _text(value: str) -> Any:
    return render.xlsx_text(visible(value))


def _put(cell: Any, value: Any, percent: bool) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        cell.value = value
    elif isinstance(value, (int, float)):
        cell.value = value / 100 if percent else value
        cell.number_format = "0.0%" if percent else ("0" if isinstance(value, int) else "0.0")
    else:
        cell.value = _text(render.cell(value))


# --- HTML ------------------------------------------------------------------------------------


STYLE = """
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "Times New Roman", "Noto Serif", "DejaVu Serif", serif; font-size: 11pt;
       color: #111; margin: 1.5em; line-height: 1.3; }
h1 { font-size: 16pt; margin: 0 0 .3em; }
h2 { font-size: 13pt; margin: 1.2em 0 .4em; page-break-after: avoid; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; margin: 0; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #888; padding: 2px 5px; vertical-align: top; text-align: left; }
th { background: #e6e6e6; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
td.num { text-align: right; white-space: nowrap; }
td.flag { background: #f4c7c3; font-weight: bold; }
tr.overdue td { color: #a00000; }
tr.due td { background: #fff5d1; }
tr.done td, tr.cancelled td { color: #666; }
tr.cancelled td { text-decoration: line-through; }
p.none { font-style: italic; }
svg.timeline, svg.legend { display: block; width: 100%; max-width: 1100px; height: auto;
                           font-family: inherit; break-inside: avoid; }
@media print { body { margin: 0; font-size: 9pt; } }
"""

BAR_COLOURS = {"done": "#4c9a4c", "cancelled": "#bbbbbb", "overdue": "#c62828",
               "due": "#e0a800", "upcoming": "#6a8fc7", "open": "#999999"}


def page(doc: dict[str, Any], parts: Sequence[Section], timeline: dict[str, Any]) -> str:
    """The report as one HTML page that needs nothing else: no script, font or image from
    anywhere, print-ready on A4 landscape. Every text from the data is escaped."""
    e = _h
    out = ['<!DOCTYPE html>\n<html lang="vi">\n<head>\n<meta charset="utf-8">\n',
           '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
           f"<title>{e(_('Report'))} {e(doc['plan']['number'])} – {e(doc['as_of'])}</title>\n",
           f"<style>{STYLE}</style>\n</head>\n<body>\n", f"<h1>{e(_('Report'))}</h1>\n",
           '<dl class="facts">\n']
    out += [f"<dt>{e(label)}</dt><dd>{e(value)}</dd>\n" for label, value in heading(doc)]
    out.append("</dl>\n")
    if timeline["rows"]:  # a report on the product register has no tasks to draw
        out.append(f"<h2>{e(_('Timeline'))}</h2>\n")
        out.append(timeline_svg(timeline))
    for section in parts:
        out.append(f"<h2>{e(section.title)}</h2>\n")
        out.append(_html_table(section) if section.rows else
                   f'<p class="none">{e(_("none"))}</p>\n')
    out.append("</body>\n</html>\n")
    return "".join(out)


def _h(value: Any) -> str:
    return html.escape(visible(render.cell(value)), quote=True).replace("\n", "<br>")


def _html_table(section: Section) -> str:
    out = ["<table>\n<thead><tr>"]
    out += [f"<th>{_h(c.header)}</th>" for c in section.columns]
    out.append("</tr></thead>\n<tbody>\n")
    for i, row in enumerate(marked_rows(section)):
        style = row.get("_style")
        out.append(f'<tr class="{_h(style)}">' if style else "<tr>")
        flagged = section.marks.get(i, set())
        for column in section.columns:
            classes = " ".join(x for x in ("num" if column.numeric else "",
                                           "flag" if column.key in flagged else "") if x)
            attr = f' class="{classes}"' if classes else ""
            out.append(f"<td{attr}>{_h(row.get(column.key))}</td>")
        out.append("</tr>\n")
    out.append("</tbody>\n</table>\n")
    return "".join(out)


def timeline_svg(data: dict[str, Any], per_chart: int = 20) -> str:
    """A Gantt chart: one row per task, the plan year's months as columns, each window a bar
    coloured by status and timing, a line at the as-of date. Drawn as charts of `per_chart`
    rows, each with its months, so that a printed page breaks between two of them."""
    rows = data["rows"]
    charts = [_chart(data, rows[i:i + per_chart]) for i in range(0, len(rows), per_chart)]
    return "".join(charts) + _legend(data)


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
               f'{_h(_("as of {date}").format(date=data["as_of"]))}</text></svg>\n')
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
