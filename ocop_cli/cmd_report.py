"""`ocop report`, `ocop timeline` and `ocop agencies`: what offices send upward and read.

The commands register themselves on `app` when cli.py imports this module.
"""

import datetime as dt
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

import typer

from ocop_cli.cli import (
    Format,
    FormatOpt,
    Session,
    Sort,
    SortOpt,
    agency_named,
    command,
    month_shape,
    parse_date,
    plan_month,
)
from ocop_cli.errors import UsageError
from ocop_cli.i18n import _, format_date


class ReportFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"
    xlsx = "xlsx"
    html = "html"
    docx = "docx"


# Who signs the document, and its number and date: the same for every report that is one.
NumberOpt = Annotated[str | None, typer.Option(
    "--number", metavar="TEXT", help="The document's number, e.g. 45 or 45/BC-SNN (default: a "
    "blank to fill in)")]
DatedOpt = Annotated[str | None, typer.Option(
    "--dated", metavar="DATE", help="The day it is signed (default: a blank to fill in)")]
SignerOpt = Annotated[str | None, typer.Option(
    "--signer", metavar="NAME", help="Who signs it (default: office.yaml's signer)")]


def letter_of(s: Session, doc: dict[str, Any], number: str | None = None,
              dated: str | None = None, signer: str | None = None) -> Callable[[], Any]:
    """The document's letterhead from office.yaml and the options, made when a document asks
    for it (a wrong --dated is refused before anything is written)."""
    day = parse_date(dated, "--dated") if dated else None

    def letter() -> Any:
        from ocop_cli import office

        found = office.read(s.workspace.root)
        return office.letter(doc, office.with_options(found, number, day, signer))

    return letter


AgencyOpt = Annotated[str | None, typer.Option("--agency", "-a",
                                               help="Only this agency's tasks, as lead or "
                                               "partner (accents optional)")]


@command("report")
def report(
    s: Session,
    agency: AgencyOpt = None,
    month: Annotated[str | None, typer.Option(
        "--month", "-m", metavar="MONTH", callback=month_shape,
        help="A month of the plan: 7, or 2023-07")] = None,
    period: Annotated[str | None, typer.Option("--period", "-p", metavar="PERIOD",
                                               help="2019-07, 2019-Q3, 2019-H2 or 2019")
                      ] = None,
    fmt: Annotated[ReportFormat | None, typer.Option(
        "--format", "-f", help="table, md, csv, json, xlsx, html or docx (default: from the "
        "--output name, else table)")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE",
                                               help="Write to FILE instead of the screen")
                      ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists")] = False,
    sort: SortOpt = Sort.plan,
    number: NumberOpt = None,
    dated: DatedOpt = None,
    signer: SignerOpt = None,
) -> None:
    """The report offices send upward, as of a date: by agency, for one agency (the office's
    table), or for a period; with the per-district breakdown. As docx, the administrative
    document with the letterhead of office.yaml.

    Example: ocop report --agency "so nn va ptnt" --period 2019-Q3 --output bao-cao.docx
    """
    from ocop_cli import export
    from ocop_cli import report as core

    if month is not None and period is not None:
        raise UsageError(_("give --month or --period, not both"))
    chosen = core.parse_period(period) if period else None
    shape = export.choose_format(fmt.value if fmt else None, output)
    loaded = s.load()
    index = plan_month(loaded.plan, month)
    if index is not None:
        chosen = core.month_period(*loaded.plan.calendar_month(index))
    states = s.states(loaded, summary=chosen is None)  # a period reads the entries in it
    who = agency_named(loaded, agency, "--agency") if agency else None
    doc = core.build(loaded, states, s.as_of, who, chosen, sort.value,
                     every_task=shape == "docx")
    export.deliver(doc, shape, output, force, s.no_color,
                   timeline=lambda: core.timeline(loaded, states, s.as_of, who),
                   letter=letter_of(s, doc, number, dated, signer))


@command("timeline")
def timeline(s: Session, agency: AgencyOpt = None) -> None:
    """A Gantt chart of the plan year: one row per task, each window a bar coloured by status
    and timing, the as-of month marked.

    Example: ocop timeline --agency "Gia Lộc"
    """
    from ocop_cli import report as core

    loaded = s.load(summary=True)
    who = agency_named(loaded, agency, "--agency") if agency else None
    draw_timeline(core.timeline(loaded, s.states(loaded, summary=True), s.as_of, who),
                  s.no_color)


@command("agencies")
def agencies(s: Session, fmt: FormatOpt = Format.table) -> None:
    """Every agency with how many tasks it leads and partners.

    Example: ocop agencies --format csv
    """
    from ocop_cli import render
    from ocop_cli import report as core

    loaded = s.load(summary=True)
    items = core.agency_list(loaded, s.states(loaded, summary=True), s.as_of)
    part = core.agency_list_section(items)
    render.emit(fmt.value, part.columns, part.rows, items, title=part.title,
                no_color=s.no_color)


# --- the timeline in a terminal --------------------------------------------------------------

BARS = {"done": ("█", "green"), "cancelled": ("─", "dim"), "overdue": ("▓", "red"),
        "due": ("▒", "yellow"), "upcoming": ("░", "cyan"), "open": ("▒", "")}


def draw_timeline(data: dict[str, Any], no_color: bool) -> None:
    """Each row: the id, the title cut to fit, then one cell of `cell` columns per month."""
    from rich.text import Text

    from ocop_cli import render
    from ocop_cli.text import visible

    con = render.console(no_color=no_color)
    if not data["rows"]:
        con.print(Text(_("No tasks to draw.")))
        return
    months, as_of = data["months"], data["as_of_month"]
    id_width = max((len(r["id"]) for r in data["rows"]), default=2)
    cell = next((c for c in (4, 3, 2) if con.width - id_width - 2 - c * len(months) >= 16), 1)
    label = max(8, con.width - id_width - 2 - cell * len(months))
    lines = [Text(" " * (id_width + 1 + label + 1) + line, style="bold")
             for line in _month_axis(data["labels"], cell)]
    mark = cell // 2  # where in its month the as-of marker stands
    if as_of in months:
        at = id_width + 1 + label + 1 + months.index(as_of) * cell + mark
        lines.append(Text(" " * at + "▼", style="bold red"))
    for row in data["rows"]:
        title = visible("  " * row["depth"] + row["title"])
        title = title if len(title) <= label else title[:label - 1] + "…"
        line = Text(f"{row['id']:<{id_width}} ", style="bold" if not row["leaf"] else "")
        line.append(title.ljust(label) + " ", style="bold" if not row["leaf"] else "")
        kind = _bar_kind(row)
        glyph, colour = BARS[kind]
        for month in months:
            if month in row["months"]:
                line.append(glyph * cell, style=colour)
            elif month == as_of:
                line.append(" " * mark + "│" + " " * (cell - mark - 1), style="dim")
            else:
                line.append(" " * cell)
        lines.append(line)
    legend = Text()
    for kind, name in (("done", _("done")), ("overdue", _("overdue")), ("due", _("due")),
                       ("upcoming", _("upcoming")), ("cancelled", _("cancelled"))):
        glyph, colour = BARS[kind]
        legend.append(glyph * 2, style=colour)
        legend.append(f" {name}  ")
    legend.append("▼ " + _("as of {date}").format(date=format_date(
        dt.date.fromisoformat(data["as_of"]))), style="red")
    lines.append(legend)
    for line in lines:
        line.no_wrap = True
        line.overflow = "ellipsis"
        con.print(line)


def _month_axis(labels: list[str], cell: int) -> list[str]:
    """The month numbers, `cell` wide each (T6 where it fits); over several years, a line of
    years above them, each at its first month."""
    months, years = [], []
    for label in labels:
        month, _slash, year = label.removeprefix("T").partition("/")
        months.append(month)
        years.append(year)
    if cell > 2 or not any(years):
        axis = ["".join((f"T{m}" if cell > 2 else m if cell > 1 else "").center(cell)
                        for m in months)]
    else:  # too narrow for every month of several years: the first of each quarter
        axis = [_placed([m if m in ("1", "4", "7", "10") else "" for m in months], cell)]
    if any(years):
        axis.insert(0, _placed([y if i == 0 or years[i - 1] != y else ""
                                for i, y in enumerate(years)], cell))
    return [line for line in axis if line.strip()]


def _placed(marks: list[str], cell: int) -> str:
    """Each mark at the start of its month's cell, where the one before leaves room."""
    line = ""
    for i, mark in enumerate(marks):
        if mark and len(line) <= i * cell:
            line = line.ljust(i * cell) + mark
    return line


def _bar_kind(row: dict[str, Any]) -> str:
    if row["status"] in ("done", "cancelled"):
        return str(row["status"])
    return str(row["timing"] or "open")
