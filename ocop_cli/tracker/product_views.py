"""What the product commands show and read: a product as a row, the listing and the report's
figures and tables, and the product lists the districts send (read with the other imports'
sheet reader).

The register itself, its replay and its recording are in `products`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from ocop_cli.core.errors import UsageError
from ocop_cli.core.i18n import _, format_date, ngettext
from ocop_cli.store.storage import Loaded, owned_years
from ocop_cli.tracker.products import (
    FUNNEL,
    KINDS,
    Line,
    Product,
    Rules,
    Stamp,
    advance,
    council_label,
    counted_entries,
    kind_label,
    load_register,
    months_later,
    products_as_of,
    register,
    register_files,
    stage_label,
    twin_of,
)

# --- rows and figures ------------------------------------------------------------------------


def ordered(products: Iterable[Product], directory: Any) -> list[Product]:
    from ocop_cli.core.text import sort_key

    units = {a.id: i for i, a in enumerate(district_units(directory))}
    return sorted(products, key=lambda p: (units.get(p.district, len(units)),
                                           sort_key(p.commune), sort_key(p.name), p.id))


def select(products: Iterable[Product], directory: Any, district: str | None = None,
           commune: str | None = None, stages: set[str] | frozenset[str] = frozenset(),
           stars: int | None = None, kind: str | None = None, group: str | None = None,
           year: int | None = None) -> list[Product]:
    """The products that pass every filter given, in the order of the listing: by district
    unit, commune and name. `commune` matches accents aside; `year` is the registration's."""
    from ocop_cli.core.text import fold

    return [p for p in ordered(products, directory)
            if (district is None or p.district == district)
            and (commune is None or fold(p.commune) == fold(commune))
            and (not stages or p.stage in stages)
            and (stars is None or (p.stars or 0) == stars)
            and (kind is None or p.kind == kind)
            and (group is None or p.group == group)
            and (year is None or p.registered.year == year)]


def district_units(directory: Any) -> list[Any]:
    from ocop_cli.tracker.report import district_units as units

    return units(directory)


def product_row(product: Product, directory: Any, rules: Rules) -> dict[str, Any]:
    """One product as `ocop product list --format json` gives it; keys are never removed."""
    return {
        "id": product.id, "name": product.name,
        "district": directory.short(product.district), "district_id": product.district,
        "commune": product.commune, "entity": product.entity, "kind": product.kind,
        "group": product.group, "group_name": rules.group_name(product.group),
        "new": product.new, "registered": product.registered.isoformat(),
        "stage": product.stage, "stage_date": product.stage_date.isoformat(),
        "council": product.council, "points": product.points, "stars": product.stars,
        "reason": product.reason, "decision": product.decision,
        "recognised": product.recognised.isoformat() if product.recognised else None,
        "expires": product.expires.isoformat() if product.expires else None,
    }


def _star_counts(products: Sequence[Product], as_of: dt.date) -> dict[str, int]:
    counts = {f"stars{n}": 0 for n in (3, 4, 5)}
    for product in products:
        if product.in_force(as_of) and product.stars in (3, 4, 5):
            counts[f"stars{product.stars}"] += 1
    return counts


def summary(products: Sequence[Product], directory: Any, rules: Rules, as_of: dt.date,
            months: int) -> dict[str, Any]:
    """The register as the province reports it on `as_of`: the funnel and the stars in force
    by district unit, the stars by kind of entity and by product group, and the recognitions
    that run out within `months`."""

    def funnel(subset: list[Product]) -> dict[str, int]:
        row = {stage: sum(1 for p in subset if p.reached(stage) or stage == "registered")
               for stage in FUNNEL}
        row["recognised"] = sum(1 for p in subset if p.in_force(as_of))
        return {**row, **_star_counts(subset, as_of)}

    by_district = []
    units = district_units(directory)
    for unit in units:
        subset = [p for p in products if p.district == unit.id]
        by_district.append({"id": unit.id, "district": unit.short, **funnel(list(subset))})
    total = {"id": None, "district": None, **funnel(list(products))}
    by_kind = [{"kind": kind, "registered": sum(1 for p in products if p.kind == kind),
                **_star_counts([p for p in products if p.kind == kind], as_of)}
               for kind in KINDS]
    by_group = [{"group": g.id, "name": g.name,
                 "registered": sum(1 for p in products if p.group == g.id),
                 **_star_counts([p for p in products if p.group == g.id], as_of)}
                for g in rules.groups]
    until = months_later(as_of, months)
    expiring = [product_row(p, directory, rules) for p in products
                if p.in_force(as_of) and p.expires is not None and p.expires <= until]
    expiring.sort(key=lambda row: (row["expires"], row["id"]))
    return {"as_of": as_of.isoformat(), "by_district": by_district, "total": total,
            "by_kind": by_kind, "by_group": by_group,
            "expiring": {"months": months, "until": until.isoformat(), "products": expiring}}


def counted_products(loaded: Loaded, task_id: str, as_of: dt.date) -> list[dict[str, Any]]:
    """The products a task counts as of `as_of`, as rows of `ocop product list`."""
    task = loaded.plan.task(task_id)
    if task is None or not task.products_at:
        return []
    lines, rules, _warnings = load_register(loaded.workspace, loaded.directory)
    years = owned_years(loaded.workspace, loaded.plan)
    ids = {e.id.rpartition(":")[0] for e in counted_entries(loaded.plan, lines, years)
           if e.task == task.id and e.date <= as_of}
    chosen = {line.product for line in lines if line.id in ids}
    products = products_as_of(lines, rules, as_of)
    return [product_row(p, loaded.directory, rules) for p in ordered(products.values(),
                                                                      loaded.directory)
            if p.id in chosen]


# --- tables ----------------------------------------------------------------------------------


def stars_text(stars: int | None) -> str | None:
    return None if stars is None else "★" * stars if stars else "0"


def list_section(rows: list[dict[str, Any]], fmt: str) -> Any:
    """The listing as a titled table (rows as `product_row` gives them)."""
    from ocop_cli.output.render import Column
    from ocop_cli.tracker.report import Section

    columns = [Column("id", _("Product ID")), Column("name", _("Product"), max_width=30),
               Column("district", _("District")), Column("commune", _("Commune"), drop=4),
               Column("entity", _("Entity"), max_width=24, drop=3),
               Column("kind", _("Kind"), drop=5), Column("group", _("Group"), drop=6),
               Column("stage", _("Stage")), Column("date", _("Since"), drop=2),
               Column("points", _("Points"), numeric=True, drop=1),
               Column("stars", _("Stars"), drop=1)]
    shown = [{**row, "kind": kind_label(row["kind"]), "group": row["group_name"],
              "stage": stage_label(row["stage"]), "date": _day(row["stage_date"], fmt),
              "stars": row["stars"] if fmt in ("csv", "xlsx") else stars_text(row["stars"]),
              "_style": {"rejected": "cancelled", "recognised": "done",
                         "not_recognised": "overdue"}.get(row["stage"])}
             for row in rows]
    return Section("products", _("Products"), columns, shown)


def _day(iso: str | None, fmt: str) -> str | None:
    if iso is None or fmt in ("csv", "json", "xlsx"):
        return iso
    return format_date(dt.date.fromisoformat(iso))


def line_rows(lines: Sequence[Line], product: str) -> list[dict[str, Any]]:
    """Every line about a product, oldest first; undone ones marked."""
    undone = {line.undoes for line in lines if line.action == "undo"}
    mine = [line for line in lines if line.product == product]
    mine.sort(key=lambda line: (line.date, line.at, line.id))
    return [{"id": line.id, "date": line.date.isoformat(), "recorded": line.at,
             "action": line.action, "council": line.council, "points": line.points,
             "by": line.by, "ref": line.ref, "note": line.note, "undoes": line.undoes,
             "undone": line.id in undone} for line in mine]


def lines_section(rows: list[dict[str, Any]]) -> Any:
    from ocop_cli.output.render import Column
    from ocop_cli.tracker.report import Section

    columns = [Column("date", _("Date")), Column("action", _("Stage")),
               Column("points", _("Points"), numeric=True), Column("by", _("By"), drop=2),
               Column("ref", _("Proof"), drop=3), Column("note", _("Note"), drop=1)]
    shown = [{**row, "date": _day(row["date"], "table"),
              "action": stage_label(row["action"]) + (" " + _("(undone)") if row["undone"]
                                                       else ""),
              "_style": "cancelled" if row["undone"] else None} for row in rows]
    return Section("lines", _("History"), columns, shown)


def facts(product: Product, directory: Any, rules: Rules) -> list[tuple[str, str]]:
    """What `ocop product show` prints above the product's lines."""
    found = [
        (_("Product"), f"{product.id}  {product.name}"),
        (_("Entity"), f"{product.entity} ({kind_label(product.kind)})"),
        (_("Commune"), product.commune), (_("District"), directory.short(product.district)),
        (_("Group"), rules.group_name(product.group) or ""),
        (_("New product"), _("yes") if product.new else _("no")),
        (_("Registered"), format_date(product.registered)),
        (_("Stage"), f"{stage_label(product.stage)} ({format_date(product.stage_date)})"),
    ]
    if product.points is not None and product.council and product.scored:
        found.append((_("Score"), _("{points} points, {stars} stars ({council}, {date})").format(
            points=product.points, stars=product.stars, council=council_label(product.council),
            date=format_date(product.scored))))
    if product.reason:
        found.append((_("Reason"), product.reason))
    if product.recognised:
        found.append((_("Recognised"), _("{decision} of {date}, valid until {until}").format(
            decision=product.decision, date=format_date(product.recognised),
            until=format_date(product.expires))))
    return found


def _capital(text: str) -> str:
    """A label as a table's cell starts it: "Hợp tác xã"."""
    return text[:1].upper() + text[1:]


def sections(data: dict[str, Any]) -> list[Any]:
    """The register's part of a report (`summary`) as titled tables."""
    from ocop_cli.output.render import Column
    from ocop_cli.tracker.report import Section

    def stars_columns() -> list[Column]:
        return [Column(f"stars{n}", _("{n} stars").format(n=n), numeric=True) for n in (3, 4, 5)]

    total = {**data["total"], "district": _("Total"), "_style": "total"}
    funnel = [Column("district", _("District unit")),
              Column("registered", _("Registered"), numeric=True),
              Column("chosen", _("Chosen"), numeric=True),
              Column("rejected", _("Rejected"), numeric=True),
              Column("sent", _("Sent to the province"), numeric=True),
              Column("scored", _("Scored"), numeric=True),
              Column("recognised", _("Recognised, in force"), numeric=True), *stars_columns()]
    kinds = [{**row, "kind": _capital(kind_label(row["kind"]))} for row in data["by_kind"]]
    expiring = data["expiring"]
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
    ]


# --- lists from the districts ----------------------------------------------------------------

SHEET_COLUMNS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("name", "name", ("name", "ten san pham", "san pham", "ten")),
    ("district", "district", ("district", "huyen", "huyen, tp", "huyen/tp", "don vi")),
    ("commune", "commune", ("commune", "xa", "xa, phuong, thi tran", "xa/phuong")),
    ("entity", "entity", ("entity", "chu the", "ten chu the")),
    ("kind", "kind", ("kind", "loai chu the", "loai hinh")),
    ("group", "group", ("group", "nhom", "nhom san pham")),
    ("new", "new", ("new", "moi", "san pham moi")),
    ("stage", "stage", ("stage", "buoc", "giai doan")),
    ("date", "date", ("date", "ngay")),
    ("ref", "ref", ("ref", "van ban", "so van ban")),
    ("note", "note", ("note", "ghi chu")),
)
SHEET_REQUIRED = ("name", "district", "commune", "entity", "kind", "group")
KIND_WORDS = {"htx": "htx", "hop tac xa": "htx", "cooperative": "htx",
              "dn": "dn", "doanh nghiep": "dn", "cong ty": "dn", "enterprise": "dn",
              "tht": "tht", "to hop tac": "tht", "cooperative group": "tht",
              "ho": "ho", "ho gia dinh": "ho", "ho kinh doanh": "ho", "household": "ho"}
NEW_WORDS = {"": False, "x": True, "co": True, "moi": True, "san pham moi": True, "yes": True,
             "true": True, "1": True, "khong": False, "san co": False, "no": False,
             "false": False, "0": False}
# The stages a district's list may bring a product to, and the stages on the way.
SHEET_STAGES = {"registered": "registered", "dang ky": "registered",
                "chosen": "chosen", "lua chon": "chosen", "chon": "chosen",
                "sent": "sent", "gui tinh": "sent", "da gui": "sent", "gui": "sent"}
PATH = ("registered", "chosen", "sent")


class SheetRow(NamedTuple):
    row: int
    name: str
    district: str  # as written; resolved against the agencies when decided
    commune: str
    entity: str
    kind: str
    group: str
    new: bool
    stage: str
    date: dt.date
    ref: str | None
    note: str | None


def read_product_sheet(sheet: Any, as_of: dt.date) -> tuple[list[SheetRow], list[Any], list[str]]:
    """The rows of a district's product list, and what is wrong with each row that is not
    right; a row without a date is dated the as-of date."""
    from ocop_cli.core.text import fold
    from ocop_cli.imports import tables as imports

    notices: list[str] = []
    _found, body, problems = imports.table_body(sheet, SHEET_COLUMNS, SHEET_REQUIRED, notices)
    rows: list[SheetRow] = []
    for number, cells in body:
        before = len(problems)
        values: dict[str, str] = {}
        try:
            for key, _label, _spellings in SHEET_COLUMNS:
                if key != "date":
                    values[key] = imports.cell_text(cells.get(key), key)
        except imports.CellError as error:
            problems.append(imports.RowProblem(number, error.message, error.column))
            continue

        def bad(key: str, message: str, number: int = number) -> None:
            problems.append(imports.RowProblem(number, message, key))

        for key in SHEET_REQUIRED:
            if not values[key]:
                bad(key, _("empty"))
        kind = KIND_WORDS.get(fold(values["kind"]))
        if values["kind"] and kind is None:
            bad("kind", _("{text!r} is not a kind of entity; one of: htx, dn, tht, ho").format(
                text=values["kind"]))
        new = NEW_WORDS.get(fold(values["new"]))
        if new is None:
            bad("new", _("{text!r}: write x (or mới) for a new product, nothing for one that "
                         "exists").format(text=values["new"]))
        stage = SHEET_STAGES.get(fold(values["stage"]) or "registered")
        if stage is None:
            bad("stage", _("{text!r}: a list brings a product to registered, chosen or sent"
                           ).format(text=values["stage"]))
        date = as_of
        if cells.get("date") not in (None, ""):
            try:
                date = imports.read_date(cells["date"])
            except ValueError as error:
                bad("date", str(error))
        if len(problems) == before:
            rows.append(SheetRow(number, values["name"], values["district"], values["commune"],
                                 values["entity"], kind or "", values["group"], bool(new),
                                 stage or "registered", date, values["ref"] or None,
                                 values["note"] or None))
    return rows, problems, notices


def decide_import(directory: Any, lines: Sequence[Line], rules: Rules, rows: Sequence[SheetRow],
                  who: str) -> tuple[list[Line], list[str], list[Any]]:
    """The lines the rows record, each row seeing the rows above it: a product not in the
    register is registered, and moved on to the row's stage (the stages on the way dated the
    row's date); a product already there is only moved on."""
    from ocop_cli.core.errors import OcopError
    from ocop_cli.imports import tables as imports

    units = {a.id for a in district_units(directory)}
    new: list[Line] = []
    messages: list[str] = []
    problems: list[Any] = []
    for row in rows:
        stamp = Stamp(row.date, who, row.ref, row.note)
        try:
            unit = directory.resolve(row.district)
            if unit.id not in units:
                raise UsageError(_("{name} is not a district-level unit").format(
                    name=unit.short))
            group = rules.group(row.group).id
            seen = [*lines, *new]
            twin = twin_of(products_as_of(seen, rules, dt.date.max), row.name, row.entity,
                           unit.id)
            made: list[Line] = []
            if twin is None:
                made.append(register(seen, rules, stamp._replace(note=None), row.name,
                                     unit.id, row.commune, row.entity, row.kind, group,
                                     row.new))
                product, stage = made[0].product, "registered"
            else:
                # A district's score comes between its choice and the sending.
                product = twin.id
                stage = "chosen" if twin.position == "scored:huyen" else twin.stage
            if stage in PATH:
                for step in PATH[PATH.index(stage) + 1:PATH.index(row.stage) + 1]:
                    made.append(advance([*seen, *made], rules, product, step, stamp))
            if not made:
                messages.append(_("row {row}: {id} ({name}) is {stage} already; nothing "
                                  "recorded").format(row=row.row, id=product, name=row.name,
                                                     stage=stage_label(stage)))
                continue
        except OcopError as error:
            message = error.message + (f" ({error.hint})" if error.hint else "")
            problems.append(imports.RowProblem(row.row, message))
            continue
        new += made
        messages.append(_("row {row}: {id} ({name}): {stages}").format(
            row=row.row, id=product, name=row.name,
            stages=", ".join(stage_label(line.action) for line in made)))
    return new, messages, problems


def overview(loaded: Loaded, as_of: dt.date, months: int = 6) -> dict[str, Any] | None:
    """The register's part of the overview report, or None when it holds no product yet."""
    if not register_files(loaded.workspace):
        return None
    lines, rules, _warnings = load_register(loaded.workspace, loaded.directory)
    products = list(products_as_of(lines, rules, as_of).values())
    return summary(products, loaded.directory, rules, as_of, months) if products else None


def sentences(doc: dict[str, Any]) -> list[str]:
    """The body of a document about the register, in full sentences: how far the products
    went, the stars in force and the recognitions that run out soon."""
    from ocop_cli.tracker.report import shown_day

    if "products" not in doc:  # a list of products says what it is in its title rows
        return []
    found, total = doc["products"], doc["products"]["total"]
    registered = ngettext("{n} product", "{n} products", total["registered"]).format(
        n=total["registered"])
    said = [_("As of {date}, the register holds {registered}: {chosen} chosen and {rejected} "
              "rejected by the districts, {sent} sent to the province, {scored} scored.").format(
        date=shown_day(doc["as_of"]), registered=registered, chosen=total["chosen"],
        rejected=total["rejected"], sent=total["sent"], scored=total["scored"])]
    # A sentence names the star classes there are; "0 products with 3 stars" says nothing.
    stars = [ngettext("{n} with {stars} stars", "{n} with {stars} stars", total[f"stars{s}"])
             .format(n=total[f"stars{s}"], stars=s) for s in (3, 4, 5) if total[f"stars{s}"]]
    if not total["recognised"]:
        said.append(_("No product holds a recognition in force."))
    elif stars:
        said.append(_("Recognitions in force: {n}, of which {stars}.").format(
            n=total["recognised"], stars=", ".join(stars)))
    else:
        said.append(_("Recognitions in force: {n}.").format(n=total["recognised"]))
    ending = len(found["expiring"]["products"])
    until = shown_day(found["expiring"]["until"])
    said.append(ngettext("{n} recognition runs out by {date}.",
                         "{n} recognitions run out by {date}.", ending).format(
        n=ending, date=until) if ending else
        _("No recognition runs out by {date}.").format(date=until))
    return said
