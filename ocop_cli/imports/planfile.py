"""The text an import writes: a plan table as a plan file, new agencies as an addition to
agencies.yaml; and a plan laid back out as its table (CSV or XLSX, as the appendix has it).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ocop_cli.core.text import CsvWriter, xlsx_text

if TYPE_CHECKING:
    from ocop_cli.core.model import Plan
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ocop_cli.imports.agencies import NewAgency, Resolved
from ocop_cli.imports.tables import PLAN_COLUMNS

SCHEMA_LINE = "# yaml-language-server: $schema=schema/plan.schema.json"

_PLAIN = re.compile(r"^[^\s\-?:,\[\]{}#&*!|>'\"%@`][^\n\r\t\"]*$")
_NUMBER_LIKE = re.compile(r"^[-+.\d:eE_]+$")
_WORDS_YAML_READS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"}


def yaml_str(text: str) -> str:
    """`text` as a YAML scalar that every YAML reader takes as that same text: plain where it
    is safe, otherwise double-quoted (a JSON string is valid YAML)."""
    plain = (
        _PLAIN.match(text) is not None
        and text == text.strip()
        and ": " not in text
        and " #" not in text
        and not text.endswith(":")
        and _NUMBER_LIKE.match(text) is None
        and text.lower() not in _WORDS_YAML_READS
        and all(c.isprintable() for c in text)
    )
    if plain:
        return text
    # YAML allows no raw control or other unprintable characters even between quotes.
    return "".join(c if c.isprintable() or c == " " else
                   (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
                   for c in json.dumps(text, ensure_ascii=False))


def plan_data(resolved: Resolved, number: str, year: int, title: str, dated: dt.date,
              last_year: int | None = None) -> dict[str, Any]:
    """The plan document as plain data, as `yamlio.read_yaml` would read its file."""
    tasks = []
    for row, lead, partners in resolved.tasks:
        task: dict[str, Any] = {"id": row.id, "title": row.title}
        for key in ("unit", "target"):
            if getattr(row, key) is not None:
                task[key] = getattr(row, key)
        if lead is not None:
            task["lead"] = lead.text
        if partners:
            task["partners"] = [ref.text for ref in partners]
        if row.window is not None:
            task["window"] = row.window
        if row.per_unit is not None:
            task["per_unit"] = row.per_unit
        tasks.append(task)
    years = {"year": str(year)}
    if last_year is not None and last_year != year:
        years["last_year"] = str(last_year)
    return {"number": number, **years, "title": title, "dated": dated.isoformat(),
            "tasks": tasks}


def plan_yaml(data: dict[str, Any], source: str, today: dt.date) -> str:
    """The text of a plan file: the schema line, a comment on where it came from, the data."""
    years = "-".join(data[key] for key in ("year", "last_year") if key in data)
    lines = [
        SCHEMA_LINE,
        f"# {data['number']} ({years}): {data['title']}".replace("\n", " "),
        f"# Imported by `ocop import plan` from {Path(source).name} on {today.isoformat()}: "
        "the rows of its",
        "# assignment table, cell for cell. Sections, notes and per_district are not in the "
        "table;",
        "# add them here by hand. Lead and partners are spellings from agencies.yaml.",
        "",
        f"number: {yaml_str(data['number'])}",
        f"year: {data['year']}",
        *([f"last_year: {data['last_year']}"] if "last_year" in data else []),
        f"title: {yaml_str(data['title'])}",
        f"dated: {data['dated']}",
        "",
        "tasks:",
    ]
    for task in data["tasks"]:
        if "." not in task["id"] and task is not data["tasks"][0]:
            lines.append("")
        lines.append(f"  - id: {yaml_str(task['id'])}")
        for key in ("title", "unit", "target", "lead"):
            if key in task:
                lines.append(f"    {key}: {yaml_str(task[key])}")
        if "partners" in task:
            lines.append("    partners:")
            lines += [f"      - {yaml_str(p)}" for p in task["partners"]]
        if "window" in task:
            lines.append(f"    window: {yaml_str(task['window'])}")
        if "per_unit" in task:
            lines.append(f"    per_unit: {task['per_unit']}")
    return "\n".join(lines) + "\n"


def agencies_addition(existing: str, added: Sequence[NewAgency], note: str) -> str:
    """Text to append to agencies.yaml for `added`, indented like the file's own list."""
    match = re.search(r"^( *)- id:", existing, re.MULTILINE)
    indent = match.group(1) if match else "  "
    inner = indent + "  "
    lines = ["", f"{indent}# --- {note}"]
    for agency in added:
        lines += ["", f"{indent}- id: {agency.id}",
                  f"{inner}short: {yaml_str(agency.short)}",
                  f"{inner}name: {yaml_str(agency.short)}"]
        if agency.aliases:
            lines.append(f"{inner}aliases:")
            lines += [f"{inner}  - {yaml_str(a)}" for a in agency.aliases]
        lines += [f"{inner}level: {agency.level}", f"{inner}kind: {agency.kind}",
                  f"{inner}notes:", f"{inner}  - {yaml_str(note)}"]
    text = "\n".join(lines) + "\n"
    if existing and not existing.endswith("\n"):
        text = "\n" + text
    if "\r\n" in existing:
        text = text.replace("\n", "\r\n")
    return text


# --- the plan back out as its table -------------------------------------------------------


def plan_table(plan: Plan) -> list[list[str]]:
    """The plan as the appendix lays it out: the header, then a row per task; a sub-row has
    `-` in TT, a deeper one its full id."""
    rows = [[header for _name, header, _spellings in PLAN_COLUMNS]]
    for task in plan.tasks:
        depth = task.id.count(".")
        tt = task.id if depth != 1 else "-"
        rows.append([
            tt, task.title, task.unit or "", task.target.text if task.target else "",
            task.lead_text or "", "; ".join(task.partners_text),
            task.window.text if task.window else "",
        ])
    return rows


def table_csv(rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    CsvWriter(buffer).writerows(rows)
    return buffer.getvalue()


def table_xlsx(rows: Sequence[Sequence[str]], sheet_title: str) -> bytes:
    """An XLSX workbook of one sheet: the header bold and frozen, every cell text (so that
    "01" stays 01 and "1-2" never becomes a date), long cells wrapped."""
    # openpyxl takes 0.1-0.5 s to import (measured with -X importtime): only an XLSX export
    # pays for it, not a CSV export or an import of a text table.

    # Written a row at a time (a write-only workbook): 50,000 tasks are never held as cells.
    book = Workbook(write_only=True)
    ws = book.create_sheet(re.sub(r"[\[\]:*?/\\]", "-", sheet_title)[:31] or "plan")
    widths = (5, 60, 14, 10, 24, 48, 12)
    for column, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = "A2"
    wrap, bold = Alignment(wrap_text=True, vertical="top"), Font(bold=True)
    for number, values in enumerate(rows, 1):
        cells = []
        for value in values:
            cell = WriteOnlyCell(ws, xlsx_text(value))
            cell.number_format = "@"
            cell.alignment = wrap
            if number == 1:
                cell.font = bold
            cells.append(cell)
        ws.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
