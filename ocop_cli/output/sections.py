"""A titled table every output format draws (`Section`), and the office's report form: its
headers and columns, a task row as its cells (wide, or folded for narrow terminals), the
totals row by the plan's counting rules, parent rows above their sub-rows, flagged cells.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ocop_cli.core.i18n import N_, _, format_number, ngettext
from ocop_cli.core.query import role_label, state_cell
from ocop_cli.core.report import Rows, TaskRow
from ocop_cli.output.render import Column

# The office's report form; in Vietnamese its headers are the form's own (TT, Nội dung, ĐVT,
# Kế hoạch, Thực hiện, Tỷ lệ %, Chủ trì / Phối hợp, Thời gian, Tình trạng, Ghi chú).
OFFICE_HEADERS = (N_("No."), N_("Content"), N_("Unit"), N_("Planned"), N_("Achieved"),
                  N_("Rate %"), N_("Lead / Partners"), N_("Time frame"), N_("Status"),
                  N_("Remarks"))


def office_headers() -> tuple[str, ...]:
    return tuple(_(h) for h in OFFICE_HEADERS)  # i18n: marked above with N_
# In a narrow terminal, text longer than this is cut on purpose (the exports keep it whole).
NARROW_CUT = {"content": 140, "agencies": 90, "remark": 70}


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: Sequence[dict[str, Any]]  # a list, or `Rows` made as they are read
    grid: bool = False  # many short cells (the agency × month matrix): drawn compactly
    marks: dict[int, set[str]] = field(default_factory=dict)  # row index -> keys to flag


def marked_rows(section: Section, flag: str = "!") -> Sequence[dict[str, Any]]:
    """Rows with flagged cells written with `flag` after them, for formats without colour."""
    if not section.marks:
        return section.rows
    rows = []
    for i, row in enumerate(section.rows):
        keys = section.marks.get(i, set())
        rows.append({k: f"{v}{flag}" if k in keys else v for k, v in row.items()})
    return rows


def content(title: str, parent_title: str | None, nested: bool = False) -> str:
    """A task's text in a table: its own title under its parent's row (`nested`), else
    read with its parent's ("Tập huấn cán bộ …: Cấp huyện")."""
    return f"{parent_title}: {title}" if parent_title and not nested else title


def cut(text: str | None, limit: int) -> str:
    if not text:
        return ""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def style(status: str | None, timing: str | None) -> str:
    """How a task's row is drawn: by its timing when overdue or due, else by its status."""
    return str(timing if timing in ("overdue", "due") else status)


def with_parents(rows: Iterable[Any], parents: dict[str, TaskRow] | None) -> Iterator[Any]:
    """Rows in plan order with each parent row (TT 1) before its first sub-row (1.1), as
    the signed plan's table has them; `rows` unchanged without `parents`. Given as they are
    read, so that rows made as they are read (`Rows`) are let go once used."""
    if parents is None:
        yield from rows
        return
    for row, above in _parents_before(rows, parents):
        yield from above
        yield row


def rows_with_parents(rows: Rows[Any], parents: dict[str, TaskRow] | None) -> Rows[Any]:
    """`with_parents` of rows made as read, still made as read (each made once here, to find
    its parent, and let go)."""
    if parents is None:
        return rows
    items: list[tuple[bool, Any]] = []
    for item, (_row, above) in zip(rows.items, _parents_before(rows, parents), strict=True):
        items += [(False, row) for row in above]
        items.append((True, item))
    make = rows.make
    return Rows(items, lambda pair: make(pair[1]) if pair[0] else pair[1])


def _parents_before(rows: Iterable[Any], parents: dict[str, TaskRow]
                    ) -> Iterator[tuple[Any, list[TaskRow]]]:
    """Each row with the parent rows that go just before it (outermost first)."""
    placed: set[str] = set()
    for row in rows:
        chain = []
        parent = row["parent"] if isinstance(row, dict) else row.parent
        while parent in parents and parent not in placed:
            chain.append(parents[parent])
            placed.add(parent)
            parent = parents[parent].get("parent")
        yield row, chain[::-1]


# --- the office form -------------------------------------------------------------------------


def office_columns() -> list[Column]:
    keys = ("id", "content", "unit", "target", "achieved", "percent", "agencies", "window",
            "state", "remark")
    widths = (None, None, 14, None, None, None, 26, None, 16, 26)
    numeric = {"target", "achieved", "percent"}
    return [Column(k, h, max_width=w, numeric=k in numeric)
            for k, h, w in zip(keys, office_headers(), widths, strict=True)]


def target_value(target: dict[str, Any] | None) -> int | str | None:
    """A target in a cell: a plain count as a number, any other as written ("15-20")."""
    if target is None:
        return None
    plain = target["min"] == target["max"] and not target["qualifier"] and target["kind"] == "count"
    return int(target["min"]) if plain else str(target["shown"])


def _agencies_cell(row: TaskRow) -> str:
    partners = "; ".join(p for p in row["partners"] if p)
    return f"{row['lead'] or ''} / {partners}" if partners else row["lead"] or ""


def office_rows(rows: Iterable[TaskRow], nested: bool = False) -> list[dict[str, Any]]:
    """The office table's cells; `nested` when the rows hold their parents' rows (a parent
    row, `_parent`, is no task of the counts and totals)."""
    return [office_row(row, nested) for row in rows]


def office_row(row: TaskRow, nested: bool = False) -> dict[str, Any]:
    has_quantity = row["target"] is not None or row["achieved"]
    return {
        "id": row["id"], "content": content(row["title"], row.get("parent_title"), nested),
        "unit": row["unit"], "target": target_value(row["target"]),
        "achieved": row["achieved"] if has_quantity else None,
        "percent": row["percent"], "agencies": _agencies_cell(row),
        "window": row["window"],
        "state": state_cell(row),
        "remark": "; ".join(x for x in (row["note"], row["ref"]) if x) or None,
        "role": role_label(row.get("role")), "_style": style(row["status"], row["timing"]),
        "_parent": row.get("leaf") is False,
    }


def office_section(key: str, title: str, rows: Iterable[TaskRow],
                   parents: dict[str, TaskRow] | None = None) -> Section:
    nested = parents is not None
    if isinstance(rows, Rows):  # still made as they are read
        return Section(key, title, office_columns(), rows_with_parents(rows, parents).map(
            lambda row: office_row(row, nested)))
    return Section(key, title, office_columns(), office_rows(with_parents(rows, parents), nested))


def narrow_office(key: str, title: str, rows: Iterable[TaskRow],
                  parents: dict[str, TaskRow] | None = None) -> Section:
    """The office table in five columns: the form's headers stacked, its cells with them."""
    rows = list(with_parents(rows, parents))
    h = office_headers()
    columns = [
        Column("id", h[0]),
        Column("content", f"{h[1]}\n» {h[6]}"),
        Column("amount", f"{h[4]} / {h[3]}\n{h[2]}\n{h[5]}", max_width=14),
        Column("when", f"{h[7]}\n{h[8]}", max_width=13),
        Column("remark", h[9], max_width=16),
    ]
    shown = []
    for row, full in zip(rows, office_rows(rows, parents is not None), strict=True):
        amount = []
        if full["target"] is not None or full["achieved"] is not None:
            done = "–" if row["status"] is None else full["achieved"] or 0  # not known
            amount.append(f"{done} / {full['target'] or '–'}")
        if row["unit"]:
            amount.append(cut(row["unit"], 40))
        if row["percent"] is not None:
            amount.append(f"{format_number(row['percent'])}%")
        agencies = full["agencies"] and "\n» " + cut(full["agencies"], NARROW_CUT["agencies"])
        shown.append({
            "id": row["id"],
            "content": cut(full["content"], NARROW_CUT["content"]) + agencies,
            "amount": "\n".join(amount),
            "when": "\n".join(x for x in (row["window"], full["state"]) if x),
            "remark": cut(full["remark"], NARROW_CUT["remark"]), "_style": full["_style"],
            "_parent": full["_parent"],
        })
    return Section(key, title, columns, shown)


def office_total(section: Section) -> dict[str, Any] | None:
    """The totals row of an office table, by the plan's counting rules: tasks counted by
    status; quantities added only when every task counts in the same unit (ĐVT)."""
    if section.columns != office_columns() or not section.rows:
        return None
    # One pass over the rows, which may be made as they are read.
    counts: Counter[str] = Counter()
    tasks = target = achieved = 0
    units: set[str | None] = set()
    numbers = True
    for r in section.rows:
        if r.get("_parent"):
            continue
        tasks += 1
        counts[r["_style"]] += 1
        if r["target"] is not None or r["achieved"] is not None:
            units.add(r["unit"])
        if r["target"] is not None:
            if isinstance(r["target"], int):
                target += r["target"]
            else:
                numbers = False
        if isinstance(r["achieved"], int):
            achieved += r["achieved"]
    label = ngettext("Total: {n} task", "Total: {n} tasks", tasks).format(n=tasks)
    states = [(counts["done"], _("{n} done")), (counts["overdue"], _("{n} overdue")),
              (counts["due"], _("{n} due")),
              (sum(counts[k] for k in ("in_progress", "not_started")), _("{n} other open")),
              (counts["cancelled"], _("{n} cancelled")),
              (counts.get("not_known", 0), _("{n} not known"))]
    parts = ", ".join(text.format(n=n) for n, text in states if n)
    total: dict[str, Any] = {"_style": "total"}
    if len(units) == 1 and None not in units and numbers:
        total.update(unit=units.pop(), target=target, achieved=achieved,
                     percent=round(100 * achieved / target, 1) if target else None)
    elif units:
        parts += "; " + _("quantities in different units are not added")
    total["content"] = f"{label} ({parts})"
    return total
