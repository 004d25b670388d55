"""`ocop report`, `ocop timeline` and `ocop agencies`: what offices send upward and read.

The library (and Rich, for the timeline) is imported inside each command: a help page, a
completion or the run of another command never pays for it.
"""

import datetime as dt
from typing import Annotated, Any

import typer

from ocop_cli.commands.common import (
    DatedOpt,
    Format,
    FormatOpt,
    IssuerOpt,
    NumberOpt,
    ReportFormat,
    Session,
    SignerOpt,
    Sort,
    SortOpt,
    command,
    letter_of,
    month_shape,
    parse_date,
)
from ocop_cli.core.errors import UsageError
from ocop_cli.core.i18n import _, format_date
from ocop_cli.core.text import visible
from ocop_cli.output import formats, render
from ocop_cli.output.render import cells

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
        "--format", "-f", help="table, md, csv, json, xlsx, html, docx or pdf (default: from "
        "the --output name, else table)")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE",
                                               help="Write to FILE instead of the screen")
                      ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists")] = False,
    sort: SortOpt = Sort.plan,
    number: NumberOpt = None,
    dated: DatedOpt = None,
    signer: SignerOpt = None,
    issuer: IssuerOpt = None,
    start: Annotated[str | None, typer.Option("--from", metavar="DATE",
                                              help="With --to: the period's first day")] = None,
    end: Annotated[str | None, typer.Option("--to", metavar="DATE",
                                            help="With --from: the period's last day")] = None,
    by_successor: Annotated[bool, typer.Option(
        "--by-successor", help="Count what was recorded at a unit that has ended under the "
        "unit that took it over")] = False,
) -> None:
    """The report offices send upward, as of a date: by agency, for one agency (the office's
    table), or for a period; with the per-district breakdown. As docx, the administrative
    document under the letterhead of the agency it is for (--issuer for another), else of
    office.yaml.

    Example: ocop report --agency "so nn va ptnt" --period 2019-Q3 --output bao-cao.docx
    """
    # start-up: tracker.report, 34 ms, only for report (core.report comes with it)
    from ocop_cli.tracker.report import chosen_period, refuse_month_cut_otherwise

    if month is not None and (period is not None or start or end):
        raise UsageError(_("give --month or --period, not both"))
    refuse_month_cut_otherwise(s.workspace.root, month)
    chosen = chosen_period(s.workspace.root, period, parse_date(start, "--from") if start
                           else None, parse_date(end, "--to") if end else None)
    shape = formats.choose_format(fmt.value if fmt else None, output)
    doc, timeline = s.tracker.report(agency, month, chosen, sort.value,
                                     every_task=shape == "docx", by_successor=by_successor)
    formats.deliver(doc, shape, output, force, s.no_color, timeline=timeline,
                    letter=letter_of(s, doc, number, dated, signer, issuer),
                    workspace=s.workspace.root)


@command("timeline")
def timeline(s: Session, agency: AgencyOpt = None) -> None:
    """A Gantt chart of the plan year: one row per task, each window a bar coloured by status
    and timing, the as-of month marked.

    Example: ocop timeline --agency "Gia Lộc"
    """
    draw_timeline(s.tracker.timeline(agency), s.no_color)


@command("agencies")
def agencies(s: Session, fmt: FormatOpt = Format.table,
             every: Annotated[bool, typer.Option(
                 "--all", help="Every agency and unit, also those that ended (or began) "
                 "outside the as-of date and that the plan does not name")] = False) -> None:
    """The agencies in force on the as-of date or named by the plan, with how many tasks
    each leads and partners, and their dates: an ended one says when, and what took it over.

    Example: ocop agencies --as-of 2026-01-15 --all
    """
    # start-up: output.report_tables, 60 ms, only for agencies
    from ocop_cli.output.report_tables import agency_list_section

    items = s.tracker.agencies(every)
    part = agency_list_section(items)
    # The dates line is for people, in the screen's language; JSON has the dates themselves.
    formats.emit(fmt.value, part.columns, part.rows,
                 [{k: v for k, v in item.items() if k != "dates"} for item in items],
                 title=part.title, no_color=s.no_color)


# --- the timeline in a terminal --------------------------------------------------------------

BARS = {"done": ("█", "green"), "cancelled": ("─", "dim"), "overdue": ("▓", "red"),
        "due": ("▒", "yellow"), "upcoming": ("░", "cyan"), "open": ("▒", "")}


def draw_timeline(data: dict[str, Any], no_color: bool) -> None:
    """Each row: the id, the title cut to fit, then one cell of `cell` columns per month."""
    # start-up: rich.text, 28 ms, only for a timeline on screen (not JSON)
    from rich.text import Text

    con = render.console(no_color=no_color)
    if not data["rows"]:
        con.print(Text(_("No tasks to draw.")))
        return
    months, as_of = data["months"], data["as_of_month"]
    id_width = max((len(r["id"]) for r in data["rows"]), default=2)
    cell = next((c for c in (4, 3, 2) if con.width - id_width - 2 - c * len(months) >= 16), 1)
    label = max(8, con.width - id_width - 2 - cell * len(months))
    draw = _Lines(con)
    for line in _month_axis(data["labels"], cell):
        draw([(" " * (id_width + 1 + label + 1) + line, "")], "bold")
    mark = cell // 2  # where in its month the as-of marker stands
    if as_of in months:
        at = id_width + 1 + label + 1 + months.index(as_of) * cell + mark
        draw([(" " * at + "▼", "")], "bold red")
    for row in data["rows"]:
        title = visible("  " * row["depth"] + row["title"])
        title = title if len(title) <= label else title[:label - 1] + "…"
        weight = "bold" if not row["leaf"] else ""
        parts = [(f"{row['id']:<{id_width}} ", ""), (title.ljust(label) + " ", weight)]
        kind = _bar_kind(row)
        glyph, colour = BARS[kind]
        for month in months:
            if month in row["months"]:
                parts.append((glyph * cell, colour))
            elif month == as_of:
                parts.append((" " * mark + "│" + " " * (cell - mark - 1), "dim"))
            else:
                parts.append((" " * cell, ""))
        draw(parts, weight)
    legend = []
    for kind, name in (("done", _("done")), ("overdue", _("overdue")), ("due", _("due")),
                       ("upcoming", _("upcoming")), ("cancelled", _("cancelled"))):
        glyph, colour = BARS[kind]
        legend += [(glyph * 2, colour), (f" {name}  ", "")]
    legend.append(("▼ " + _("as of {date}").format(date=format_date(
        dt.date.fromisoformat(data["as_of"]))), "red"))
    draw(legend, "")
    draw.flush()


class _Lines:
    """Lines of parts, each as Rich prints a Text of them (not wrapped, cut with an ellipsis;
    on a colour terminal, a part with a style of its own in it over the line's, the parts
    between in the line's): a line that fits the width is written here as Rich writes it
    (Rich takes a millisecond a line, and a plan of 50,000 tasks has as many); any other is
    printed by Rich."""

    def __init__(self, con: Any) -> None:
        self.con = con
        self.colour = not con.no_color and con.color_system is not None
        self.width = con.width
        self.held: list[str] = []  # lines not yet written (a thousand a write)

    def __call__(self, parts: list[tuple[str, str]], style: str) -> None:
        text = "".join(part for part, _style in parts)
        if len(text) > self.width or cells(text) > self.width:
            # start-up: rich.text, 28 ms, only for a line wider than the screen
            from rich.text import Text

            line = Text(style=style, no_wrap=True, overflow="ellipsis")
            for part, own in parts:
                line.append(part, style=own)
            self.flush()
            self.con.print(line)
            return
        if self.colour:
            out, plain = [], ""
            for part, own in parts:
                if own and part:
                    out += [_styled(plain, style), _styled(part, style, own)]
                    plain = ""
                else:
                    plain += part
            text = "".join([*out, _styled(plain, style)])
        self.held.append(text + "\n")
        if len(self.held) == 1000:
            self.flush()

    def flush(self) -> None:
        self.con.file.write("".join(self.held))
        self.held.clear()


# The styles a timeline draws with, as Rich writes them: attributes, then the colour.
_ATTRIBUTES = {"bold": "1", "dim": "2"}
_COLOURS = {"red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def _styled(text: str, style: str, own: str = "") -> str:
    """`text` in `own` style over `style`: the attributes of both, the colour of `own` if it
    has one."""
    words = {*style.split(), *own.split()}
    codes = [code for name, code in _ATTRIBUTES.items() if name in words]
    colour = [w for w in own.split() if w in _COLOURS] or [w for w in style.split()
                                                          if w in _COLOURS]
    codes += [_COLOURS[colour[0]]] if colour else []
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if codes and text else text


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
