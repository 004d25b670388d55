"""A cell as a person reads it in the report's documents and tables (numbers and dates as
the language writes them), and how wide a column's text is: what the workbook, the DOCX
document and the text formats share.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ocop_cli.core.i18n import format_number
from ocop_cli.core.windows import readable
from ocop_cli.output import render
from ocop_cli.output.sections import Section
from ocop_cli.output.words import shown_day

DATE_KEYS = {"last"}  # columns holding an ISO date
PERCENT = "percent"  # a column with this key holds a percentage (41.7 means 41.7 %)


def shown(value: Any, key: str = "") -> str:
    """A cell as a person reads it: numbers and dates as the language writes them (41,7 and
    15/09/2019 in Vietnamese)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value)
    if key == "target" and isinstance(value, str):  # a range or a qualified target
        return readable(value)
    if key in DATE_KEYS and isinstance(value, str):
        with contextlib.suppress(ValueError):
            return shown_day(value)
    return render.cell(value)


def for_people(rows: Iterable[dict[str, Any]], columns: Sequence[render.Column]
               ) -> Iterator[dict[str, Any]]:
    """Each row with its cells as people read them, as the rows are read."""
    keys = {c.key for c in columns}
    return ({k: shown(v, k) if k in keys and v is not None else v for k, v in row.items()}
            for row in rows)


def text_widths(section: Section) -> tuple[list[int], list[int]]:
    """Each column's longest line (at most 60 characters) and its longest word, header's or
    cell's (at most 12), the narrowest it may get: "1.2" or "Phần" is never split."""
    floor = [max((len(w) for w in c.header.split()), default=2) for c in section.columns]
    widths = list(floor)
    for row in section.rows:
        for j, column in enumerate(section.columns):
            shown_text = shown(row.get(column.key), column.key)
            widths[j] = max(widths[j], *(len(x) for x in shown_text.split("\n")))
            floor[j] = max(floor[j], min(12, max(map(len, shown_text.split()), default=0)))
    return [min(w, 60) for w in widths], floor


def fit(widths: list[int], floor: list[int], total: int) -> list[int]:
    """Widths that add up to at most `total`: what each column has above its `floor`
    narrowed in the same proportion, so a long text stays the widest."""
    floor = [min(f, w) for f, w in zip(floor, widths, strict=True)]
    room = sum(widths) - sum(floor)
    if sum(widths) <= total or room <= 0:
        return list(widths)
    keep = max(0.0, (total - sum(floor)) / room)
    return [f + int((w - f) * keep) for w, f in zip(widths, floor, strict=True)]


def lines_in(text: str, width: float) -> int:
    """How many lines a text wraps to in a column `width` characters wide."""
    room = max(int(width) - 1, 1)
    return sum(max(1, -(-len(line) // room)) for line in text.split("\n"))


BALANCED_ROWS = 500  # weighed in about a second; a longer table keeps the widths of `fit`


def balanced(section: Section, total: int) -> list[int] | None:
    """Column widths, in characters, that add up to `total` and make the table as short as
    it can be: each column starts at its longest word (a header's word is never split, a
    cell's from 12 characters on may be), then each character of room goes to the column
    where it saves the most lines, until every column holds its longest line. None for a
    table too long to weigh row by row (its rows made as read once more here, if short)."""
    if len(section.rows) > BALANCED_ROWS:
        return None
    rows = list(section.rows)
    texts = [[c.header for c in section.columns]]
    texts += [[shown(row.get(c.key), c.key) for c in section.columns] for row in rows]
    # A character more than the longest word: a bold "hoạch" or a "phẩm" fills its 5 widths.
    floor = [max((len(w) for w in c.header.split()), default=2) + 1 for c in section.columns]
    longest = list(floor)
    for cells in texts[1:]:
        for j, text in enumerate(cells):
            floor[j] = max(floor[j], min(12, max(map(len, text.split()), default=0)) + 1)
            longest[j] = max(longest[j], *(len(x) + 1 for x in text.split("\n")))
    widths = list(floor)
    lines = [[wrapped(cells[j], widths[j]) for j in range(len(widths))] for cells in texts]
    step = max(1, (total - sum(widths)) // 80)
    while sum(widths) + step <= total:
        best, saved = None, (0, 0)
        heights = [max(row) for row in lines]
        for j in range(len(widths)):
            if widths[j] >= longest[j]:
                continue
            # the lines it saves the table (only a row it makes the tallest can lose one);
            # where none does yet, the column of most lines
            gain = (sum(height - max(*row[:j], wrapped(cells[j], widths[j] + step),
                                     *row[j + 1:])
                        for row, cells, height in zip(lines, texts, heights, strict=True)
                        if row[j] == height),
                    sum(row[j] for row in lines))
            if best is None or gain > saved:
                best, saved = j, gain
        if best is None:  # every column holds its longest line
            break
        widths[best] += step
        for row, cells in zip(lines, texts, strict=True):
            row[best] = wrapped(cells[best], widths[best])
    return widths


def wrapped(text: str, width: int) -> int:
    """How many lines a text takes in a column `width` characters wide, wrapped between
    words as a word processor wraps it (a word longer than the line split)."""
    count = 0
    for line in text.split("\n"):
        count += 1
        used = 0
        for word in line.split():
            if used and used + 1 + len(word) <= width:
                used += 1 + len(word)
                continue
            if used:
                count += 1
            count += (len(word) - 1) // max(width, 1)
            used = (len(word) - 1) % max(width, 1) + 1
    return count
