"""Each output format as a formatter, chosen once by its name (`FORMATTERS`): how it draws a
listing (rows under columns) and a report, and whether it goes to the screen or only into a
file. A listing or a report is delivered here to standard output or into a file.

What draws a report is imported in the methods that draw one (each such import says what
it saves): a listing, the most common command, starts without it. This is the one place
that chooses a format, so the format modules (`xlsx`, `document`, `html`) import their
libraries at their top.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TextIO

from ocop_cli.core.errors import UsageError
from ocop_cli.core.i18n import _
from ocop_cli.core.text import CsvWriter, visible
from ocop_cli.output import render
from ocop_cli.output.export import save
from ocop_cli.output.printed import print_pdf

if TYPE_CHECKING:
    from ocop_cli.core.report import Report
    from ocop_cli.output.office import Letter

NARROW_BELOW = 140  # terminal columns under which the office table is folded


class Listing(NamedTuple):
    """Rows under columns, as every listing command has them; `json_rows` what JSON prints."""

    columns: Sequence[render.Column]
    rows: Sequence[dict[str, Any]]
    json_rows: Any
    title: str | None = None
    footer: str | None = None
    no_color: bool = False


class Extras(NamedTuple):
    """What only some formats ask for, made when asked: the timeline (the HTML page) and
    the letterhead and signature blocks (the documents)."""

    timeline: Callable[[], dict[str, Any]]
    letter: Callable[[], Letter]


class Formatter:
    """One output format. A text format draws to a stream (standard output, or a file in
    its `encoding`); a `binary` one writes only into a file."""

    name: ClassVar[str]
    binary: ClassVar[bool] = False
    encoding: ClassVar[str] = "utf-8"

    def listing(self, listing: Listing, stream: TextIO) -> None:
        raise UsageError(_("a listing is written as table, json, csv or md"))

    def report(self, doc: Report, stream: TextIO, no_color: bool, extras: Extras) -> None:
        raise NotImplementedError  # every text format draws reports

    def report_file(self, doc: Report, path: Path, extras: Extras) -> None:
        """The report into `path` (a temporary file that `save` puts in place)."""
        with path.open("w", encoding=self.encoding) as stream:
            self.report(doc, stream, True, extras)


class Table(Formatter):
    name = "table"

    def listing(self, listing: Listing, stream: TextIO) -> None:
        render.table(listing.columns, listing.rows, title=listing.title, footer=listing.footer,
                     no_color=listing.no_color, file=stream)

    def report(self, doc: Report, stream: TextIO, no_color: bool, extras: Extras) -> None:
        # start-up: rich.text, 23 ms, only for a report on screen
        from rich.text import Text

        # start-up: output.report_tables, 54 ms, only for a report (core.report comes with it)
        from ocop_cli.output.cells import for_people
        from ocop_cli.output.report_tables import heading, sections
        from ocop_cli.output.sections import marked_rows

        con = render.console(stream, no_color=no_color)
        for label, value in heading(doc):
            con.print(Text(visible(f"{label}: {value}")))
        for section in sections(doc, narrow=con.width < NARROW_BELOW):
            con.print()
            if not section.rows:
                con.print(Text(visible(f"{section.title}: {_('none')}")))
                continue
            rows = list(marked_rows(section))
            if section.grid:  # a zero is noise in a grid of counts
                rows = [{**{k: "·" if v == 0 else v for k, v in row.items()},
                         "_cells": dict.fromkeys(section.marks.get(i, ()), "overdue")}
                        for i, row in enumerate(rows)]
            rows = list(for_people(rows, section.columns))
            render.table(section.columns, rows, title=section.title, no_color=no_color,
                         compact=section.grid, file=stream)


class Json(Formatter):
    name = "json"

    def listing(self, listing: Listing, stream: TextIO) -> None:
        render.write_json(listing.json_rows, stream)

    def report(self, doc: Report, stream: TextIO, no_color: bool, extras: Extras) -> None:
        # start-up: core.report, 54 ms, only for a report
        from ocop_cli.core.report import report_json

        render.write_json(report_json(doc), stream)


class Csv(Formatter):
    name = "csv"
    # A CSV file starts with a byte-order mark, which tells Excel it is UTF-8 (else it reads
    # Vietnamese as mojibake); standard output stays plain UTF-8 for other programs.
    encoding = "utf-8-sig"

    def listing(self, listing: Listing, stream: TextIO) -> None:
        render.write_csv(listing.columns, listing.rows, stream)

    def report(self, doc: Report, stream: TextIO, no_color: bool, extras: Extras) -> None:
        # start-up: output.report_tables, 54 ms, only for a report (core.report comes with it)
        from ocop_cli.output.report_tables import heading, sections
        from ocop_cli.output.sections import marked_rows

        lines = CsvWriter(stream)
        lines.writerows([visible(label), visible(value)] for label, value in heading(doc, True))
        for section in sections(doc):
            stream.write("\n")
            lines.writerow([visible(section.title)])
            render.write_csv(section.columns, marked_rows(section), stream)


class Markdown(Formatter):
    name = "md"

    def listing(self, listing: Listing, stream: TextIO) -> None:
        render.write_parts(stream, render.markdown_lines(listing.columns, listing.rows))

    def report(self, doc: Report, stream: TextIO, no_color: bool, extras: Extras) -> None:
        # start-up: output.report_tables, 54 ms, only for a report (core.report comes with it)
        from ocop_cli.output.cells import for_people
        from ocop_cli.output.report_tables import heading, sections
        from ocop_cli.output.sections import marked_rows

        stream.write(f"# {_md(_('Report'))}\n\n")
        stream.writelines(f"- **{_md(label)}:** {_md(value)}\n" for label, value in heading(doc))
        for section in sections(doc):
            stream.write(f"\n## {_md(section.title)}\n\n")
            rows = marked_rows(section)
            if rows:  # a line at a time as the rows are made
                render.write_parts(stream, render.markdown_lines(
                    section.columns, for_people(rows, section.columns)))
            else:
                stream.write(f"_{_md(_('none'))}_\n")


def _md(text: str) -> str:
    return render.md_text(visible(text)).replace("*", "\\*").replace("_", "\\_")


class Html(Formatter):
    name = "html"

    def report(self, doc: Report, stream: TextIO, no_color: bool, extras: Extras) -> None:
        # start-up: output.html, 71 ms, only for an HTML report (core.report comes with it)
        from ocop_cli.output.html import page
        from ocop_cli.output.report_tables import sections

        # made as they are written
        render.write_parts(stream, page(doc, sections(doc), extras.timeline(), extras.letter()))


class Xlsx(Formatter):
    name = "xlsx"
    binary = True

    def report_file(self, doc: Report, path: Path, extras: Extras) -> None:
        # start-up: output.xlsx, 330 ms, only for an XLSX report (openpyxl comes with it)
        from ocop_cli.output.report_tables import sections
        from ocop_cli.output.xlsx import write_xlsx

        write_xlsx(path, doc, sections(doc), extras.letter())


class Docx(Formatter):
    name = "docx"
    binary = True

    def report_file(self, doc: Report, path: Path, extras: Extras) -> None:
        # start-up: output.document, 240 ms, only for a DOCX report (python-docx comes with it)
        from ocop_cli.output.document import write_docx
        from ocop_cli.output.report_tables import document_sections

        write_docx(path, extras.letter(), document_sections(doc))


class Pdf(Formatter):
    """The DOCX printed by LibreOffice, else the HTML page printed by Chromium."""

    name = "pdf"
    binary = True

    def report_file(self, doc: Report, path: Path, extras: Extras) -> None:
        path.write_bytes(print_pdf({
            "docx": lambda source: FORMATTERS["docx"].report_file(doc, source, extras),
            "html": lambda source: FORMATTERS["html"].report_file(doc, source, extras)}))


FORMATTERS: dict[str, Formatter] = {f.name: f for f in (
    Table(), Json(), Csv(), Markdown(), Xlsx(), Html(), Docx(), Pdf())}
SUFFIXES = {".txt": "table", ".json": "json", ".csv": "csv", ".md": "md", ".xlsx": "xlsx",
            ".html": "html", ".htm": "html", ".docx": "docx", ".pdf": "pdf"}


def choose_format(fmt: str | None, output: str | None) -> str:
    """The format asked for, else the one the output file's name says, else the table. A
    file whose suffix ocop does not write (.doc, .xls, .odt) is refused, whatever the format:
    a table under such a name would open as a broken document."""
    suffix = Path(output).suffix.lower() if output and output != "-" else ""
    if suffix and suffix not in SUFFIXES:
        raise UsageError(_("ocop does not write {suffix} files; it writes {suffixes}").format(
            suffix=visible(suffix), suffixes=" ".join(SUFFIXES)))
    return fmt or SUFFIXES.get(suffix, "table")


def emit(fmt: str, columns: Sequence[render.Column], rows: Sequence[dict[str, Any]],
         json_rows: Any, *, title: str | None = None, footer: str | None = None,
         no_color: bool = False) -> None:
    """One listing in the format asked for, to standard output."""
    FORMATTERS[fmt].listing(Listing(columns, rows, json_rows, title, footer, no_color),
                            render.stdout())


def deliver(doc: Report, fmt: str, output: str | None, force: bool, no_color: bool,
            timeline: Callable[[], dict[str, Any]], letter: Callable[[], Letter], *,
            workspace: Path) -> None:
    """Write the report `doc` as `fmt` to stdout, or into `output` (never over a file unless
    `force`; `-` is stdout; no link inside `workspace` followed). `timeline` is asked for only
    by the HTML page, `letter` (the header and signature blocks) only by the documents: DOCX,
    XLSX and HTML."""
    shape = FORMATTERS[fmt]
    extras = Extras(timeline, letter)
    if output == "-":
        output = None
    if output is None and shape.binary:
        raise UsageError(_("--format {fmt} writes a file: add --output FILE.{fmt}").format(
            fmt=fmt))
    if output is None:
        shape.report(doc, render.stdout(), no_color, extras)
    else:
        save(Path(output), force, lambda path: shape.report_file(doc, path, extras), workspace)


def save_text(path: Path, force: bool, fmt: str, text: str, *, workspace: Path) -> None:
    """`save` for an output drawn as text, in the encoding of its format's files."""
    save(path, force, text.encode(FORMATTERS[fmt].encoding), workspace)
