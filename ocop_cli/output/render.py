"""Rows drawn as a table, JSON, CSV or Markdown: the drawing every format uses (`formats`
chooses which).

Text from data files is shown literally: Rich gets `Text` objects (never markup) and control
characters are made visible. A table is drawn line by line here, in Rich's box characters;
Rich itself (imported only when a table is drawn) finds the terminal and draws compact grids.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple, TextIO

from ocop_cli.core.i18n import _
from ocop_cli.core.text import CONTROL, CsvWriter, visible


class Column(NamedTuple):
    key: str
    header: str
    max_width: int | None = None
    numeric: bool = False
    # On a terminal too narrow to show every column without chopping words, the columns with
    # the highest `drop` are left out first; 0 is never left out.
    drop: int = 0
    # How people read a value of this column (stars, a date as the language writes it): the
    # table and Markdown show it so; CSV, XLSX and JSON keep the value for other programs.
    people: Callable[[Any], Any] | None = None


def for_people(columns: Sequence[Column], rows: Iterable[dict[str, Any]]
               ) -> Iterable[dict[str, Any]]:
    """The rows with each value of a column that has a `people` form in that form."""
    shown = [c for c in columns if c.people is not None]
    if not shown:
        return rows
    return ({**row, **{c.key: c.people(row[c.key]) for c in shown  # type: ignore[misc]
                       if row.get(c.key) is not None}} for row in rows)


# The narrowest a column of text may get before words are cut mid-way to keep it.
READABLE = 14


def measured(columns: Sequence[Column], rows: Iterable[dict[str, Any]]
             ) -> dict[Column, tuple[int, int]]:
    """Each column's widest line and longest word, in cells, header included: one pass over
    the rows, none of them kept."""
    sizes = {column: _measure(column.header) for column in columns}
    for row in rows:
        for column in columns:
            line, word = _measure(cell(row.get(column.key)))
            widest, longest = sizes[column]
            if line > widest or word > longest:
                sizes[column] = (max(line, widest), max(word, longest))
    return sizes


def fitting(columns: Sequence[Column], sizes: dict[Column, tuple[int, int]],
            width: int) -> list[Column]:
    """The columns a table `width` cells wide shows with every column readable."""

    def wanted(column: Column) -> int:
        natural, longest_word = sizes[column]
        comfortable = min(natural, max(longest_word, READABLE), column.max_width or natural)
        return comfortable + 3  # padding either side and a rule

    need = {column: wanted(column) for column in columns}
    shown = list(columns)
    while sum(need[c] for c in shown) + 1 > width and any(c.drop for c in shown):
        shown.remove(max(shown, key=lambda c: c.drop))
    return shown


def _utf8(stream: TextIO, errors: str) -> TextIO:
    if hasattr(stream, "reconfigure"):
        try:
            if stream.isatty():
                stream.reconfigure(errors="replace")
            else:
                stream.reconfigure(encoding="utf-8", errors=errors)
        except (OSError, ValueError):  # pragma: no cover - a stream that cannot change
            pass
    return stream


def stdout() -> TextIO:
    """Standard output that can print Vietnamese: UTF-8 into files and pipes whatever the
    platform's code page; a terminal that cannot show a character gets a replacement."""
    return _utf8(sys.stdout, "strict")


def stderr() -> TextIO:
    """Standard error, made able to print Vietnamese as `stdout` is; a file name that is not
    valid text is escaped rather than lost."""
    return _utf8(sys.stderr, "backslashreplace")


def color_wanted(no_color: bool = False) -> bool:
    """Colour unless `--no-color`, or NO_COLOR is set to anything but empty (no-color.org)."""
    return not no_color and not os.environ.get("NO_COLOR")


def console(file: TextIO | None = None, no_color: bool = False) -> Any:
    # start-up: rich.console, 22 ms, only for output to a terminal (JSON needs none)
    from rich.console import Console

    stream = file or stdout()
    width = None
    if not stream.isatty():
        width = int(os.environ.get("COLUMNS", "0") or 0) or 100
    return Console(
        file=stream, markup=False, emoji=False, highlight=False, width=width,
        no_color=not color_wanted(no_color), color_system="auto" if stream.isatty() else None,
        soft_wrap=False,
    )


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(cell(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return visible(str(value))


def escaped(text: str) -> str:
    """JSON text with DEL, C1 controls and bidi overrides escaped (JSON leaves them raw):
    they cannot act on a terminal, and the text read back is the same."""
    return CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_encoder() -> Callable[[Any], str]:
    """Compact JSON, text as it is: with `indent` Python falls back from its C encoder to a
    pure-Python one, several times slower on 10,000 tasks."""
    return json.JSONEncoder(ensure_ascii=False).encode


def write_json(data: Any, stream: TextIO | None = None) -> None:
    """JSON with one element of a list, or one key of an object, per line, each encoded
    compactly (`json_encoder`); written a thousand pieces at a time, so a large report is
    never held twice in memory (nor a list inside an object whole)."""
    out = stream or stdout()
    plain = json_encoder()
    if isinstance(data, dict):
        # A key at a time, a list in it a thousand elements at a time: a report's tens of
        # thousands of rows are never one string.
        out.write("{" if data else "{}\n")
        for n, (key, value) in enumerate(data.items()):
            out.write(escaped((",\n  " if n else "\n  ") + f"{plain(str(key))}: "))
            if isinstance(value, Sequence) and not isinstance(value, str):
                # A report's rows may be made as they are read (`core.report.Rows`).
                for start in range(0, len(value), 1000):
                    part = ", ".join(map(plain, value[start:start + 1000]))
                    out.write(escaped(("[" if start == 0 else ", ") + part))
                out.write("]" if value else "[]")
            else:
                out.write(escaped(plain(value)))
        if data:
            out.write("\n}\n")
    elif isinstance(data, (list, Sequence)) and not isinstance(data, str):
        write_json_lines(map(plain, data), out)
    else:
        out.write(escaped(plain(data)) + "\n")


def write_json_lines(pieces: Iterable[str], stream: TextIO | None = None,
                     kept: Callable[[str], Any] | None = None) -> None:
    """A list of encoded elements, one a line: written a thousand at a time (one write and one
    scan for control characters each); each text also handed to `kept` as it is before it is
    `escaped` (the index keeps a listing's text), so that it is never held whole."""
    out = stream or stdout()

    def write(text: str) -> None:
        if kept is not None:
            kept(text)
        out.write(escaped(text))

    write("[")
    batch: list[str] = []
    written = False
    for piece in pieces:
        batch.append(piece)
        if len(batch) == 1000:  # a thousand pieces a write: few calls, little held at once
            write((",\n  " if written else "\n  ") + ",\n  ".join(batch))
            batch, written = [], True
    if batch:
        write((",\n  " if written else "\n  ") + ",\n  ".join(batch))
    write(("\n" if written or batch else "") + "]\n")


def write_csv(columns: Sequence[Column], rows: Sequence[dict[str, Any]],
              stream: TextIO | None = None) -> None:
    writer = CsvWriter(stream or stdout())
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([cell(row.get(c.key)) for c in columns])


def md_text(text: str) -> str:
    """Text inside a Markdown table cell: no column break, no line break, no raw HTML."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") \
        .replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> str:
    return "".join(markdown_lines(columns, rows))


def markdown_lines(columns: Sequence[Column], rows: Iterable[dict[str, Any]]
                   ) -> Iterator[str]:
    """A Markdown table, a line at a time as the rows are read."""
    yield "| " + " | ".join(md_text(c.header) for c in columns) + " |\n"
    yield "|" + "|".join("---:" if c.numeric else "---" for c in columns) + "|\n"
    for row in for_people(columns, rows):
        yield "| " + " | ".join(md_text(cell(row.get(c.key))) for c in columns) + " |\n"


def write_parts(stream: TextIO, parts: Iterable[str]) -> None:
    """Text made in many small parts, written a thousand parts at a time."""
    held: list[str] = []
    for part in parts:
        held.append(part)
        if len(held) == 1000:
            stream.write("".join(held))
            held.clear()
    stream.write("".join(held))


STYLES = {"overdue": "red", "due": "yellow", "done": "dim", "cancelled": "dim strike",
          "ended": "dim"}


def table(columns: Sequence[Column], rows: Sequence[dict[str, Any]], *, title: str | None = None,
          footer: str | None = None, no_color: bool = False, style_key: str = "_style",
          compact: bool = False, file: TextIO | None = None) -> None:
    """`compact` draws a grid of short cells with one space between columns and no rules
    (Rich); a row's `_cells` ({key: style name}) styles single cells there; `file` instead of
    stdout. Any other table is drawn line by line here, whatever its length: Rich lays out
    every cell (about 1.5 ms a row, and 30 ms to import its table), which made a table of a
    few rows as slow as one of a thousand."""
    # start-up: rich.text, 23 ms, only for a table on screen (JSON needs none)
    from rich.text import Text

    con = console(file, no_color=no_color)
    if any(c.people for c in columns):
        rows = list(for_people(columns, rows))
    hidden = [c.header for c in columns]
    sizes = measured(columns, rows)
    columns = fitting(columns, sizes, con.width)
    hidden = [h for h in hidden if h not in {c.header for c in columns}]
    if compact:
        _grid(con, columns, rows, title, style_key)
    else:
        _lines(con, columns, rows, title, style_key, sizes)
    if footer:
        con.print(Text(visible(footer)))
    if hidden:
        con.print(Text(_("Not shown, for lack of width: {columns} (a wider window or --format "
                         "md shows them)").format(columns=", ".join(hidden)), style="dim"))


def _grid(con: Any, columns: Sequence[Column], rows: Sequence[dict[str, Any]],
          title: str | None, style_key: str) -> None:
    # start-up: rich.table, 35 ms, only for the compact grid
    from rich import box
    from rich.table import Table
    from rich.text import Text

    grid = Table(title=Text(visible(title)) if title else None, show_lines=False,
                 header_style="bold", expand=False, pad_edge=False, box=box.SIMPLE_HEAD,
                 show_edge=False, padding=(0, 0))
    for column in columns:
        grid.add_column(Text(column.header), max_width=column.max_width,
                        justify="right" if column.numeric else "left", overflow="fold")
    for row in rows:
        style = STYLES.get(row.get(style_key) or "", "")
        styled = row.get("_cells") or {}
        grid.add_row(*(Text(cell(row.get(c.key)), style=STYLES.get(styled.get(c.key, ""), ""))
                       for c in columns), style=style or None)
    con.print(grid)


# Latin letters, Vietnamese ones included, "…" and the box and bar characters take one cell
# each: no need to ask Rich.
_ONE_CELL_EACH = re.compile("[\x20-\x7e\xa0-\u02ff\u1e00-\u1eff\u2026\u2500-\u25fc]*")
_SGR = {"red": "31", "yellow": "33", "dim": "2", "dim strike": "2;9", "bold": "1"}


def cells(text: str) -> int:
    """How many terminal cells a text takes."""
    if _ONE_CELL_EACH.fullmatch(text):
        return len(text)
    from rich.cells import cell_len  # start-up: rich.cells, 2 ms, only for wide characters

    return cell_len(text)


def _measure(text: str) -> tuple[int, int]:
    """The cells of a text's widest line and of its longest word."""
    if _ONE_CELL_EACH.fullmatch(text):  # one line, one cell a character: no need to count
        if " " not in text:
            return len(text), len(text)
        return len(text), max(map(len, text.split()), default=0)
    return (max(map(cells, text.splitlines() or [""])),
            max(map(cells, text.split()), default=0))


def _lines(con: Any, columns: Sequence[Column], rows: Sequence[dict[str, Any]],
           title: str | None, style_key: str, sizes: dict[Column, tuple[int, int]]) -> None:
    """The table as Rich draws it (its box characters, no padding at the edges), fitted to
    the width, and written line by line as it is drawn."""
    cell_len = cells
    widths = [max(1, min(sizes[c][0], c.max_width or sizes[c][0])) for c in columns]
    floor = [min(w, 4) for w in widths]
    while sum(widths) + 3 * len(widths) - 1 > con.width and widths != floor:
        widest = max(range(len(widths)), key=lambda i: widths[i] - floor[i])
        widths[widest] -= 1
    colour = not con.no_color and con.color_system is not None

    def paint(line: str, style: str) -> str:
        code = _SGR.get(style)
        return f"\x1b[{code}m{line}\x1b[0m" if colour and code else line

    def rule(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths)[1:-1] + right

    def sized(text: str, width: int) -> list[tuple[str, int]]:
        """The lines of a cell, each with the cells it takes."""
        if len(text) <= width and _ONE_CELL_EACH.fullmatch(text):
            return [(text, len(text))]
        return [(line, cell_len(line)) for line in _wrap(text, width)]

    def lines(cells: list[str], edge: str, style: str) -> str:
        wrapped = [sized(text, w) for text, w in zip(cells, widths, strict=True)]
        out = []
        for n in range(max(len(w) for w in wrapped)):
            parts = []
            for column, width, chunk in zip(columns, widths, wrapped, strict=True):
                text, size = chunk[n] if n < len(chunk) else ("", 0)
                pad = " " * (width - size)
                parts.append(f" {pad}{text} " if column.numeric else f" {text}{pad} ")
            parts[0], parts[-1] = parts[0][1:], parts[-1][:-1]  # no padding at the edges
            out.append(paint(edge + edge.join(parts) + edge, style) + "\n")
        return "".join(out)

    width = sum(widths) + 3 * len(widths) - 1
    write = con.file.write
    if title:  # wrapped and centred, as Rich draws a title
        for label in _wrap(visible(title), min(width, con.width)):
            write(" " * max(0, (width - cell_len(label)) // 2) + label + "\n")
    write(rule("┏", "┳", "┓", "━") + "\n")
    write(lines([c.header for c in columns], "┃", "bold"))
    write(rule("┡", "╇", "┩", "━") + "\n")
    for row in rows:
        write(lines([cell(row.get(c.key)) for c in columns], "│",
                    STYLES.get(row.get(style_key) or "", "")))
    write(rule("└", "┴", "┘", "─") + "\n")


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` cells, broken between words where it can be."""
    cell_len = cells
    out: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line, used = "", 0
        for word in paragraph.split(" "):
            size = cell_len(word)
            if size > width:  # longer than the column: folded, character by character
                if line:
                    out.append(line)
                    line, used = "", 0
                for char in word:
                    wide = cell_len(char)
                    if used + wide > width:
                        out.append(line)
                        line, used = "", 0
                    line, used = line + char, used + wide
                continue
            if line and used + 1 + size <= width:
                line, used = f"{line} {word}", used + 1 + size
            elif not line:
                line, used = word, size
            else:
                out.append(line)
                line, used = word, size
        out.append(line)
    return out
