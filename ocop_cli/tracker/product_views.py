"""What the product commands show and read: a product as a row, the listing, the report's
figures (`core.report.ProductSummary`; drawn by `output.product_tables`), and the product
lists the districts send (read with the other imports' sheet reader).

The register itself, its replay and its recording are in `products`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from ocop_cli.core.errors import OcopError, UsageError
from ocop_cli.core.i18n import _, format_date
from ocop_cli.core.labels import council_label, kind_label, stage_label, stars_label
from ocop_cli.core.model import ENTITY_KINDS as KINDS
from ocop_cli.core.report import (
    Expiring,
    FunnelRow,
    GroupStars,
    KindStars,
    ProductSummary,
    Stars,
)
from ocop_cli.core.text import fold, sort_key
from ocop_cli.core.windows import months_later
from ocop_cli.imports import tables
from ocop_cli.imports.sheets import read_sheet
from ocop_cli.store.storage import Loaded, owned_years
from ocop_cli.tracker.certificates import certificate_years, notice_by
from ocop_cli.tracker.counted import counted_entries
from ocop_cli.tracker.products import (
    Line,
    Product,
    Rules,
    Stamp,
    advance,
    load_register,
    products_as_of,
    register,
    register_files,
    twin_of,
)
from ocop_cli.tracker.score_sheet import read_score_sheet
from ocop_cli.tracker.scoring import MemberSheet

# --- rows and figures ------------------------------------------------------------------------


def ordered(products: Iterable[Product], directory: Any) -> list[Product]:
    products = list(products)
    units = {a.id: i for i, a in enumerate(places_of(products, directory))}
    return sorted(products, key=lambda p: (units.get(p.district, len(units)),
                                           sort_key(p.commune), sort_key(p.name), p.id))


def select(products: Iterable[Product], directory: Any, district: str | None = None,
           commune: str | None = None, stages: set[str] | frozenset[str] = frozenset(),
           stars: int | None = None, kind: str | None = None, group: str | None = None,
           year: int | None = None, certificate: str | None = None,
           as_of: dt.date = dt.date.max) -> list[Product]:
    """The products that pass every filter given, in the order of the listing: by district
    unit, commune and name. `commune` matches accents aside; `year` is the registration's;
    `certificate` is the standing of its certificate on `as_of` (in_force, expired, revoked)."""
    return [p for p in ordered(products, directory)
            if (district is None or p.district == district
                or district in directory.heirs(p.district))
            and (commune is None or fold(p.commune) == fold(commune))
            and (not stages or p.stage in stages)
            and (stars is None or (p.stars or 0) == stars)
            and (kind is None or p.kind == kind)
            and (group is None or p.group == group)
            and (year is None or p.registered.year == year)
            and (certificate is None or p.certificate_status(as_of) == certificate)]


def product_row(product: Product, directory: Any, rules: Rules, as_of: dt.date
                ) -> dict[str, Any]:
    """One product as `ocop product list --format json` gives it on `as_of`; keys are never
    removed. `stars` are the latest score's (null: not ranked, not passed, or scored before
    any decision); `stars_in_force` the certificate's while it holds; `certificate` says
    whether it is in force, expired or revoked."""
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
        "scored_under": product.rules_decision, "not_passed": product.failed,
        "potential_five_star": potential_five(product),
        "sheets": [sheet.to_record() for sheet in product.sheets] if product.sheets else None,
        "certificate": product.certificate_status(as_of),
        "stars_in_force": product.stars_on(as_of),
    }


def potential_five(product: Product) -> bool:
    """Scored five stars and not yet decided on: the centre's to recognise."""
    return product.stage == "scored" and product.stars == 5


def _star_counts(products: Sequence[Product], as_of: dt.date) -> Stars:
    counts = dict.fromkeys((3, 4, 5), 0)
    for product in products:
        stars = product.stars_on(as_of)
        if stars in (3, 4, 5):
            counts[stars] += 1
    return Stars(counts[3], counts[4], counts[5])


def places_of(products: Iterable[Product], directory: Any) -> list[Any]:
    """The units a register is counted by, in the file's order: every district-level unit,
    and each commune that holds a product (registered after the district level ended)."""
    held = {p.district for p in products}
    return [a for a in directory.agencies if directory.is_unit(a.id)
            and (a.level == "district" or a.id in held)]


def summary(products: Sequence[Product], directory: Any, rules: Rules, as_of: dt.date,
            months: int) -> ProductSummary:
    """The register as the province reports it on `as_of`: the funnel and the stars in force
    by district unit, the stars by kind of entity and by product group, and the recognitions
    that run out within `months`."""

    def funnel(unit: str | None, name: str | None, subset: list[Product]) -> FunnelRow:
        reached = {stage: sum(1 for p in subset if p.reached(stage) or stage == "registered")
                   for stage in ("registered", "chosen", "rejected", "sent", "scored")}
        return FunnelRow(unit, name, reached["registered"], reached["chosen"],
                         reached["rejected"], reached["sent"], reached["scored"],
                         sum(1 for p in subset if p.in_force(as_of)), _star_counts(subset, as_of))

    by_district = [funnel(unit.id, unit.short, [p for p in products if p.district == unit.id])
                   for unit in places_of(products, directory)]
    total = funnel(None, None, list(products))
    by_kind = [KindStars(kind, sum(1 for p in products if p.kind == kind),
                         _star_counts([p for p in products if p.kind == kind], as_of))
               for kind in KINDS]
    by_group = [GroupStars(g.id, g.name, sum(1 for p in products if p.group == g.id),
                           _star_counts([p for p in products if p.group == g.id], as_of))
                for g in rules.groups]
    until = months_later(as_of, months) or dt.date.max
    expiring = [product_row(p, directory, rules, as_of) for p in products
                if p.in_force(as_of) and p.expires is not None and p.expires <= until]
    expiring.sort(key=lambda row: (row["expires"], row["id"]))
    return ProductSummary(as_of, by_district, total, by_kind, by_group,
                          Expiring(months, until, expiring),
                          rules.process_on(as_of).funnel, certificate_years(products, as_of))


def due(products: Iterable[Product], directory: Any, rules: Rules, as_of: dt.date,
        within: int) -> list[dict[str, Any]]:
    """The certificates in force on `as_of` that expire within `within` days, by place
    (district unit, commune) and producer: each product's row with the day its holder must be
    told by (the expiry less the rules' notice days), whether that day has passed, and the
    days left."""
    units = {a.id: i for i, a in enumerate(directory.units)}
    rows = []
    for product in sorted(products, key=lambda p: (
            units.get(p.district, len(units)), sort_key(p.commune), sort_key(p.entity),
            sort_key(p.name), p.id)):
        if not product.in_force(as_of) or product.expires is None \
                or (product.expires - as_of).days > within or product.certificate is None:
            continue
        tell_by = notice_by(product, rules)
        rows.append({**product_row(product, directory, rules, as_of),
                     "notice_by": tell_by.isoformat(), "notice_late": tell_by < as_of,
                     "days_left": (product.expires - as_of).days})
    return rows


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
    return [product_row(p, loaded.directory, rules, as_of) for p in ordered(products.values(),
                                                                      loaded.directory)
            if p.id in chosen]


def line_rows(lines: Sequence[Line], product: str) -> list[dict[str, Any]]:
    """Every line about a product, oldest first; undone ones marked."""
    undone = {line.undoes for line in lines if line.action == "undo"}
    mine = [line for line in lines if line.product == product]
    mine.sort(key=lambda line: (line.date, line.at, line.id))
    return [{"id": line.id, "date": line.date.isoformat(), "recorded": line.at,
             "action": line.action, "council": line.council, "points": line.points,
             "by": line.by, "ref": line.ref, "note": line.note, "undoes": line.undoes,
             "undone": line.id in undone} for line in mine]


def facts(product: Product, directory: Any, rules: Rules, as_of: dt.date
          ) -> list[tuple[str, str]]:
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
        found.append((_("Score"), _("{points} points, {stars} ({council}, {date})").format(
            points=product.points, stars=score_words(product),
            council=council_label(product.council), date=format_date(product.scored))))
    for sheet in product.sheets or ():
        found.append((_("Sheet of {member}").format(member=sheet.member),
                      _("A {a} + B {b} + C {c} = {total}").format(
                          a=sheet.a, b=sheet.b, c=sheet.c, total=sheet.total)))
    if product.sheets:
        found.append((_("Average"), _("{points} points from {n} sheets (rounded half up)")
                      .format(points=product.points, n=len(product.sheets))))
    if product.reason:
        found.append((_("Reason"), product.reason))
    held = product.certificate
    if held is not None:
        found.append((_("Certificate"), _("{stage} by {decision} of {date}: {stars}").format(
            stage=stage_label(held.action), decision=held.ref, date=format_date(held.date),
            stars=stars_label(held.stars))))
        found.append((_("Expires"), _certificate_words(product, as_of)))
    return found


def score_words(product: Product) -> str:
    """A score's result in words: its stars and decision, not passed, or why it has none."""
    if product.failed:
        return _("not passed: {criterion}").format(criterion=product.failed)
    if product.rules_decision is None:
        return _("no stars: no decision was in force yet")
    words = f"{stars_label(product.stars)}, {product.rules_decision}"
    return words + (", " + _("potential 5-star") if potential_five(product) else "")


def _certificate_words(product: Product, as_of: dt.date) -> str:
    if product.revoked is not None:
        return _("revoked on {date} by {ref}: {reason}").format(
            date=format_date(product.revoked.date), ref=product.revoked.ref,
            reason=product.revoked.note)
    if product.expires is None:
        return _("never: it would end past the calendar's last day")
    if product.in_force(as_of):
        return _("on {date}; in force until {last}").format(
            date=format_date(product.expires),
            last=format_date(product.expires - dt.timedelta(days=1)))
    return _("expired on {date}").format(date=format_date(product.expires))


def score_sheets(file: str, rules: Rules, day: dt.date) -> list[MemberSheet]:
    """The members' sheets of a CSV, TSV or XLSX file, checked against the maxima of the
    decision in force on `day`; refused, naming every row at fault, when one is wrong."""
    sheet = read_sheet(file)
    members, problems = read_score_sheet(sheet, rules.decision_on(day))
    if problems:
        raise tables.rejected(sheet.source, problems)
    return members


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
    notices: list[str] = []
    _found, body, problems = tables.table_body(sheet, SHEET_COLUMNS, SHEET_REQUIRED, notices)
    rows: list[SheetRow] = []
    for number, cells in body:
        before = len(problems)
        values: dict[str, str] = {}
        try:
            for key, _label, _spellings in SHEET_COLUMNS:
                if key != "date":
                    values[key] = tables.cell_text(cells.get(key), key)
        except tables.CellError as error:
            problems.append(tables.RowProblem(number, error.message, error.column))
            continue

        def bad(key: str, message: str, number: int = number) -> None:
            problems.append(tables.RowProblem(number, message, key))

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
                date = tables.read_date(cells["date"])
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
    new: list[Line] = []
    messages: list[str] = []
    problems: list[Any] = []
    for row in rows:
        stamp = Stamp(row.date, who, row.ref, row.note)
        try:
            unit, ended = directory.looked_back(row.district, row.date)
            if not directory.is_unit(unit.id):
                raise UsageError(_("{name} is not an administrative unit (district or "
                                   "commune)").format(name=unit.short))
            group = rules.group(row.group).id
            seen = [*lines, *new]
            twin = twin_of(products_as_of(seen, rules, dt.date.max), row.name, row.entity,
                           unit.id)
            made: list[Line] = []
            if twin is None and ended is not None:  # registered where it is that day
                directory.holding(row.district, row.date)  # refused when taken over
            if twin is None:
                made.append(register(seen, rules, stamp._replace(note=None), row.name,
                                     unit.id, row.commune, row.entity, row.kind, group,
                                     row.new))
                product, stage = made[0].product, "registered"
            else:
                # A district's score comes between its choice and the sending.
                product = twin.id
                stage = "chosen" if twin.position == "scored:huyen" else twin.stage
            # The stages on the way that the process of the row's date has (since July 2025 a
            # commune sends its products to the province with no district's choice).
            path = [s for s in PATH if s in rules.process_on(row.date).funnel]
            if row.stage not in path:
                raise UsageError(_("no stage {stage} in the process of {date}: {process}")
                                 .format(stage=stage_label(row.stage),
                                         date=format_date(row.date),
                                         process=rules.process_on(row.date).name))
            if stage in path:
                for step in path[path.index(stage) + 1:path.index(row.stage) + 1]:
                    made.append(advance([*seen, *made], rules, product, step, stamp))
            if not made:
                messages.append(_("row {row}: {id} ({name}) is {stage} already; nothing "
                                  "recorded").format(row=row.row, id=product, name=row.name,
                                                     stage=stage_label(stage)))
                continue
        except OcopError as error:
            message = error.message + (f" ({error.hint})" if error.hint else "")
            problems.append(tables.RowProblem(row.row, message))
            continue
        new += made
        messages.append(_("row {row}: {id} ({name}): {stages}").format(
            row=row.row, id=product, name=row.name,
            stages=", ".join(stage_label(line.action) for line in made)))
    return new, messages, problems


def overview(loaded: Loaded, as_of: dt.date, months: int = 6) -> ProductSummary | None:
    """The register's part of the overview report, or None when it holds no product yet."""
    if not register_files(loaded.workspace):
        return None
    lines, rules, _warnings = load_register(loaded.workspace, loaded.directory)
    products = list(products_as_of(lines, rules, as_of).values())
    return summary(products, loaded.directory, rules, as_of, months) if products else None
