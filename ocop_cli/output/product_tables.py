"""The product register as titled tables: the listing of `ocop product list`, one product's
history, and the register's part of a report (the funnel and the stars by district unit, by
kind of entity and by product group, the recognitions that run out).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ocop_cli.core.i18n import _, format_date
from ocop_cli.core.labels import kind_label, stage_label
from ocop_cli.core.report import ProductSummary, to_json
from ocop_cli.output.cells import PERCENT
from ocop_cli.output.render import Column
from ocop_cli.output.sections import Section

# How products are named in tables; the register's rules themselves are the tracker's.
STAGE_STYLE = {"rejected": "cancelled", "recognised": "done", "not_recognised": "overdue"}


def stars_text(stars: int | None) -> str | None:
    return None if stars is None else "★" * stars if stars else "0"


def _day(iso: str) -> str:
    return format_date(dt.date.fromisoformat(iso))


def list_section(rows: list[dict[str, Any]]) -> Section:
    """The listing as a titled table (rows as `product_views.product_row` gives them): the
    stars and the date as people read them in a table, as they are in a spreadsheet."""
    columns = [Column("id", _("Product ID")), Column("name", _("Product"), max_width=30),
               Column("district", _("District")), Column("commune", _("Commune"), drop=4),
               Column("entity", _("Entity"), max_width=24, drop=3),
               Column("kind", _("Kind"), drop=5), Column("group", _("Group"), drop=6),
               Column("stage", _("Stage")), Column("date", _("Since"), drop=2, people=_day),
               Column("points", _("Points"), numeric=True, drop=1),
               Column("stars", _("Stars"), drop=1, people=stars_text)]
    shown = [{**row, "kind": kind_label(row["kind"]), "group": row["group_name"],
              "stage": stage_label(row["stage"]), "date": row["stage_date"],
              "_style": STAGE_STYLE.get(row["stage"])}
             for row in rows]
    return Section("products", _("Products"), columns, shown)


def due_section(rows: list[dict[str, Any]], within: int) -> Section:
    """The certificates that expire soon (rows as `product_views.due` gives them), by place
    and producer, with the day the holder must be told by."""
    columns = [Column("district", _("District")), Column("commune", _("Commune")),
               Column("entity", _("Producer"), max_width=28),
               Column("name", _("Product"), max_width=28), Column("id", _("Product ID"), drop=3),
               Column("stars", _("Stars"), drop=2, people=stars_text),
               Column("decision", _("Decision"), drop=1),
               Column("expires", _("Expires"), people=_day),
               Column("notice_by", _("Tell the holder by"), people=_day)]
    shown = [{**row, "stars": row["stars_in_force"],
              "_style": "overdue" if row["notice_late"] else "due"} for row in rows]
    return Section("product_due", _("Certificates that expire within {n} days").format(
        n=within), columns, shown)


def lines_section(rows: list[dict[str, Any]]) -> Section:
    """Every line about a product (rows as `product_views.line_rows` gives them)."""
    columns = [Column("date", _("Date")), Column("action", _("Stage")),
               Column("points", _("Points"), numeric=True), Column("by", _("By"), drop=2),
               Column("ref", _("Proof"), drop=3), Column("note", _("Note"), drop=1)]
    shown = [{**row, "date": _day(row["date"]),
              "action": stage_label(row["action"]) + (" " + _("(undone)") if row["undone"]
                                                       else ""),
              "_style": "cancelled" if row["undone"] else None} for row in rows]
    return Section("lines", _("History"), columns, shown)


def _capital(text: str) -> str:
    """A label as a table's cell starts it: "Hợp tác xã"."""
    return text[:1].upper() + text[1:]


def register_sections(summary: ProductSummary) -> list[Section]:
    """The register's part of a report as titled tables."""
    data = to_json(summary)

    def stars_columns() -> list[Column]:
        return [Column(f"stars{n}", _("{n} stars").format(n=n), numeric=True) for n in (3, 4, 5)]

    total = {**data["total"], "district": _("Total"), "_style": "total"}
    # The stages of the process in force on the report's date (no district's choice since
    # July 2025).
    stages = [Column("registered", _("Registered"), numeric=True),
              Column("chosen", _("Chosen"), numeric=True),
              Column("rejected", _("Rejected"), numeric=True),
              Column("sent", _("Sent to the province"), numeric=True),
              Column("scored", _("Scored"), numeric=True)]
    funnel = [Column("district", _("District unit")),
              *(c for c in stages if c.key in summary.funnel),
              Column("recognised", _("Recognised, in force"), numeric=True), *stars_columns()]
    kinds = [{**row, "kind": _capital(kind_label(row["kind"]))} for row in data["by_kind"]]
    expiring = data["expiring"]
    years = [Section("product_years", _("Certificates by year: issued, expired, revoked, and "
                                        "the expired ones renewed"),
                     [Column("year", _("Year")),
                      Column("recognised", _("Recognised"), numeric=True),
                      Column("renewed", _("Renewed"), numeric=True),
                      Column("upgraded", _("Upgraded"), numeric=True),
                      Column("expired", _("Expired"), numeric=True),
                      Column("expired_renewed", _("Expired, renewed later"), numeric=True),
                      Column(PERCENT, _("Expired renewed (%)"), numeric=True),
                      Column("revoked", _("Revoked"), numeric=True)],
                     [{**row, "year": str(row["year"]) if row["year"] else _("Total"),
                       "_style": None if row["year"] else "total"}
                      for row in data.get("by_year", [])])] if data.get("by_year") else []
    return [
        Section("product_funnel", _("Products by district unit: how far they went, and the "
                                    "stars in force"), funnel, [*data["by_district"], total]),
        Section("product_kinds", _("Stars in force by kind of entity"),
                [Column("kind", _("Kind")), Column("registered", _("Registered"), numeric=True),
                 *stars_columns()], kinds),
        Section("product_groups", _("Stars in force by product group"),
                [Column("name", _("Group")), Column("registered", _("Registered"), numeric=True),
                 *stars_columns()], data["by_group"]),
        Section("product_expiring", _("Recognitions that run out by {date} (within {n} months)"
                                      ).format(date=format_date(dt.date.fromisoformat(
                                          expiring["until"])), n=expiring["months"]),
                [Column("id", _("Product ID")), Column("name", _("Product"), max_width=30),
                 Column("district", _("District")), Column("stars", _("Stars"), numeric=True),
                 Column("decision", _("Decision")), Column("recognised", _("Recognised")),
                 Column("expires", _("Valid until"))], expiring["products"]),
        *years,
    ]
