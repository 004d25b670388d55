"""`ocop product …` and `ocop import products`: the OCOP product register.

The commands register themselves on `app` (and `import products` on the `import` group) when
cli.py imports this module. What they decide is in `products`; a line is appended under the
workspace lock, like an entry.
"""

import datetime as dt
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

import typer

from ocop_cli.commands.app import (
    ByOpt,
    DateOpt,
    NoteOpt,
    RefOpt,
    Session,
    app,
    command,
    parse_date,
    say,
)
from ocop_cli.commands.helptext import LocalGroup
from ocop_cli.commands.imports import DryRunOpt, FileArg, SheetOpt, import_app, record_sheet
from ocop_cli.commands.report import DatedOpt, NumberOpt, ReportFormat, SignerOpt, letter_of
from ocop_cli.core.errors import UsageError
from ocop_cli.core.i18n import _, format_date, ngettext

product_app = typer.Typer(help="The OCOP product register: products from registration to "
                          "their stars.", cls=LocalGroup, no_args_is_help=True,
                          rich_markup_mode=None,
                          context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(product_app, name="product")


class Kind(StrEnum):
    htx = "htx"
    dn = "dn"
    tht = "tht"
    ho = "ho"


class Council(StrEnum):
    huyen = "huyen"
    tinh = "tinh"


class Stage(StrEnum):
    registered = "registered"
    chosen = "chosen"
    rejected = "rejected"
    sent = "sent"
    scored = "scored"
    recognised = "recognised"
    not_recognised = "not_recognised"


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"
    xlsx = "xlsx"


def _product_ids(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Every product id with its name and district, for the shell's Tab (see `complete`)."""
    from ocop_cli.store import index, storage
    from ocop_cli.tracker import products

    try:
        ws = storage.find(ctx.params.get("data"))
        if ws is None:
            return []
        directory = index.load(ws, ctx.params.get("plan")).directory
        lines, rules, _warnings = products.load_register(ws, directory)
    except Exception:  # whatever is wrong, `ocop check` will say it; Tab just offers nothing
        return []
    return [(p.id, f"{p.name} ({directory.short(p.district)})")
            for p in products.products_as_of(lines, rules, dt.date.max).values()]


ProductArg = Annotated[str, typer.Argument(metavar="ID", autocompletion=_product_ids,
                                           help="A product id, e.g. sp-3fa9c1 (its first "
                                           "letters are enough)")]
OutputOpt = Annotated[str | None, typer.Option("--output", "-o", metavar="FILE",
                                               help="Write to FILE instead of the screen")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace FILE if it exists")]


def _record(s: Session, by: str | None, decide: Callable[..., Any]) -> None:
    """Under the lock: read the register, decide the lines, append them to the recorder's own
    register file."""
    from ocop_cli.store import index, write
    from ocop_cli.tracker import products, record

    ws = s.workspace
    who = record.recorder(by)
    with write.locked(ws):
        loaded = index.load(ws, s.year)
        lines, rules, _warnings = products.load_register(ws, loaded.directory)
        new, messages = decide(loaded, lines, rules, who)
        if new:
            write.append(products.register_file(ws, who), new, inside=ws.root,
                         header=products.HEADER)
    for message in messages:
        say(message)


def _stamp(s: Session, who: str, date: str | None, ref: str | None, note: str | None) -> Any:
    from ocop_cli.tracker.products import Stamp

    return Stamp(parse_date(date, "--date") if date else s.as_of, who, ref, note)


def _district(loaded: Any, name: str) -> str:
    from ocop_cli.tracker.product_views import district_units

    unit = loaded.directory.resolve(name)
    if unit.id not in {a.id for a in district_units(loaded.directory)}:
        raise UsageError(_("--district: {name} is not a district-level unit").format(
            name=unit.short))
    return str(unit.id)


@command("add", group=product_app)
def add(
    s: Session,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The product's name")],
    district: Annotated[str, typer.Option("--district", "-d", metavar="NAME",
                                          help="Its district-level unit (accents optional)")],
    commune: Annotated[str, typer.Option("--commune", "-c", metavar="NAME",
                                         help="Its commune, ward or town")],
    entity: Annotated[str, typer.Option("--entity", "-e", metavar="NAME",
                                        help="Who makes it: the cooperative, enterprise, group "
                                        "or household")],
    kind: Annotated[Kind, typer.Option("--kind", "-k", help="htx cooperative, dn enterprise, "
                                       "tht cooperative group, ho household")],
    group: Annotated[str, typer.Option("--group", "-g", metavar="GROUP",
                                       help="The OCOP product group: an id or name of "
                                       "ocop_rules.yaml, e.g. thuc-pham")],
    new: Annotated[bool, typer.Option("--new", help="A new product (default: one that "
                                      "exists already)")] = False,
    by: ByOpt = None, ref: RefOpt = None, note: NoteOpt = None, date: DateOpt = None,
) -> None:
    """Register a product idea; prints its new id.

    Example: ocop product add "Bánh gai" -d "Ninh Giang" -c "Hồng Phúc" -e "HTX" -k htx -g thuc-pham
    """
    from ocop_cli.tracker import products

    def decide(loaded: Any, lines: Any, rules: Any, who: str) -> Any:
        line = products.register(lines, rules, _stamp(s, who, date, ref, note), name,
                                 _district(loaded, district), commune, entity, kind.value,
                                 group, new)
        return [line], [_("{id}  registered: {name} ({district})").format(
            id=line.product, name=line.name, district=loaded.directory.short(line.district))]

    _record(s, by, decide)


@command("stage", group=product_app)
def stage(s: Session, product: ProductArg,
          to: Annotated[Stage, typer.Argument(metavar="STAGE", help="chosen, rejected (say why "
                                              "with --note), sent, recognised (--ref: the "
                                              "decision), not_recognised")],
          by: ByOpt = None, ref: RefOpt = None, note: NoteOpt = None,
          date: DateOpt = None) -> None:
    """Move a product on to its next stage.

    Example: ocop product stage sp-3fa9 sent --ref 45/TTr-UBND --date 2019-09-20
    """
    from ocop_cli.tracker import products

    if to in (Stage.registered, Stage.scored):
        raise UsageError(_("register with `ocop product add`, score with `ocop product score`"))

    def decide(loaded: Any, lines: Any, rules: Any, who: str) -> Any:
        found = products.find(lines, product)
        line = products.advance(lines, rules, found, to.value, _stamp(s, who, date, ref, note))
        return [line], [_("{id}: {stage} on {date}").format(
            id=found, stage=products.stage_label(to.value), date=format_date(line.date))]

    _record(s, by, decide)


@command("score", group=product_app)
def score(s: Session, product: ProductArg,
          points: Annotated[int, typer.Argument(metavar="POINTS", min=0, max=100,
                                                help="The council's points, 0 to 100")],
          council: Annotated[Council, typer.Option("--council", help="huyen (the district's "
                                                   "council) or tinh (the province's)")],
          by: ByOpt = None, ref: RefOpt = None, note: NoteOpt = None,
          date: DateOpt = None) -> None:
    """Record a council's score; the stars follow from the decision in force on its date.

    Example: ocop product score sp-3fa9 76 --council tinh --date 2019-11-20
    """
    from ocop_cli.tracker import products

    def decide(loaded: Any, lines: Any, rules: Any, who: str) -> Any:
        found = products.find(lines, product)
        line = products.advance(lines, rules, found, "scored", _stamp(s, who, date, ref, note),
                                council.value, points)
        decision = rules.decision_on(line.date)
        return [line], [_("{id}: {points} points from the {council}: {stars} stars ({decision})"
                          ).format(id=found, points=points,
                                   council=products.council_label(council.value),
                                   stars=rules.stars(points, line.date),
                                   decision=decision.decision)]

    _record(s, by, decide)


@command("undo", group=product_app)
def undo(s: Session, product: Annotated[str | None, typer.Argument(
        metavar="ID", help="Only this product's latest line")] = None,
         by: ByOpt = None) -> None:
    """Take back the latest line of the register still in force (of one product, with ID);
    nothing is deleted: a line that undoes it is appended.

    Example: ocop product undo sp-3fa9
    """
    from ocop_cli.tracker import products

    def decide(loaded: Any, lines: Any, rules: Any, who: str) -> Any:
        found = products.find(lines, product) if product else None
        line = products.take_back(lines, _stamp(s, who, None, None, None), found)
        undone = next(x for x in lines if x.id == line.undoes)
        return [line], [_("undid {stage} of {id} on {date} ({line})").format(
            stage=products.stage_label(undone.action), id=undone.product,
            date=format_date(undone.date), line=undone.id)]

    _record(s, by, decide)


@command("list", group=product_app)
def list_products(
    s: Session,
    district: Annotated[str | None, typer.Option("--district", "-d", metavar="NAME",
                                                 help="Of this district-level unit")] = None,
    commune: Annotated[str | None, typer.Option("--commune", "-c", metavar="NAME",
                                                help="Of this commune (accents optional)")
                       ] = None,
    at: Annotated[list[Stage] | None, typer.Option("--stage", metavar="STAGE",
                                                   help="At this stage (repeatable)")] = None,
    stars: Annotated[int | None, typer.Option("--stars", min=0, max=5,
                                              help="With this many stars")] = None,
    kind: Annotated[Kind | None, typer.Option("--kind", "-k", help="htx, dn, tht or ho")
                    ] = None,
    group: Annotated[str | None, typer.Option("--group", "-g", metavar="GROUP",
                                              help="Of this product group")] = None,
    year: Annotated[int | None, typer.Option("--year", min=1900, max=2200,
                                             help="Registered in this year")] = None,
    fmt: Annotated[ListFormat | None, typer.Option("--format", "-f", help="table, json, csv, md or "
                                            "xlsx (with --output); default: the output "
                                            "file's suffix, else table")] = None,
    output: OutputOpt = None, force: ForceOpt = False,
) -> None:
    """The products of the register at their stage as of the as-of date, filtered.

    Example: ocop product list --district "Gia Lộc" --stage sent --format json
    """
    from ocop_cli.output import export, render
    from ocop_cli.tracker import product_views, products

    shape = export.choose_format(fmt.value if fmt else None, output)
    if shape not in ListFormat.__members__:
        raise UsageError(_("a product list is written as table, json, csv, md or xlsx; "
                           "`ocop product report` writes {fmt}").format(fmt=shape))
    loaded, lines, rules = _read(s)
    chosen = product_views.select(
        products.products_as_of(lines, rules, s.as_of).values(), loaded.directory,
        district=_district(loaded, district) if district else None, commune=commune,
        stages={x.value for x in at or ()}, stars=stars, kind=kind.value if kind else None,
        group=rules.group(group).id if group else None, year=year)
    rows = [product_views.product_row(p, loaded.directory, rules) for p in chosen]
    section = product_views.list_section(rows, shape)
    if shape == "xlsx" or output:
        _to_file(s, loaded, [section], shape, output, force, rows)
        return
    render.emit(shape, section.columns, section.rows, rows, title=section.title,
                footer=ngettext("{n} product as of {date}", "{n} products as of {date}",
                                len(rows)).format(n=len(rows), date=format_date(s.as_of)),
                no_color=s.no_color)


@command("show", group=product_app)
def show(s: Session, product: ProductArg,
         fmt: Annotated[ListFormat, typer.Option("--format", "-f", help="table, json, csv or "
                                                 "md")] = ListFormat.table) -> None:
    """One product: its facts, its stage as of the as-of date, and every line about it.

    Example: ocop product show sp-3fa9
    """
    from ocop_cli.output import render
    from ocop_cli.output.render import Column
    from ocop_cli.tracker import product_views, products

    loaded, lines, rules = _read(s)
    found = products.find(lines, product)
    current = products.products_as_of(lines, rules, s.as_of).get(found)
    if current is None:
        raise UsageError(_("product {id} is registered after {date}").format(
            id=found, date=format_date(s.as_of)))
    data = product_views.product_row(current, loaded.directory, rules)
    history = product_views.line_rows(lines, found)
    if fmt is ListFormat.json:
        render.write_json({**data, "as_of": s.as_of.isoformat(), "lines": history})
        return
    if fmt is ListFormat.xlsx:
        raise UsageError(_("--format xlsx goes with `ocop product list` and `ocop product "
                           "report`"))
    facts = product_views.facts(current, loaded.directory, rules)
    columns = [Column("k", ""), Column("v", "")]
    if fmt.value in ("csv", "md"):
        render.emit(fmt.value, columns, [{"k": k, "v": v} for k, v in facts], None)
        return
    render.table(columns, [{"k": k, "v": v} for k, v in facts],
                 title=_("Product {id} as of {date}").format(id=found,
                                                              date=format_date(s.as_of)),
                 no_color=s.no_color)
    part = product_views.lines_section(history)
    render.table(part.columns, part.rows, title=part.title, no_color=s.no_color)


@command("report", group=product_app)
def report(
    s: Session,
    months: Annotated[int, typer.Option("--months", min=1, max=120,
                                        help="Recognitions that run out within this many "
                                        "months")] = 6,
    fmt: Annotated[ReportFormat | None, typer.Option(
        "--format", "-f", help="table, md, csv, json, xlsx, html or docx (default: from the "
        "--output name, else table)")] = None,
    output: OutputOpt = None, force: ForceOpt = False,
    number: NumberOpt = None, dated: DatedOpt = None, signer: SignerOpt = None,
) -> None:
    """How many products, how many stars, from where: the funnel and the stars by district
    unit, the stars by kind of entity and by product group, the recognitions that run out.

    Example: ocop product report --months 6 --output san-pham.xlsx
    """
    from ocop_cli.output import export
    from ocop_cli.tracker import product_views, products

    loaded, lines, rules = _read(s)
    doc = _doc(loaded, s)
    doc["products"] = product_views.summary(
        list(products.products_as_of(lines, rules, s.as_of).values()), loaded.directory, rules,
        s.as_of, months)
    export.deliver(doc, export.choose_format(fmt.value if fmt else None, output), output, force,
                   s.no_color, timeline=lambda: {"months": [], "rows": [], "as_of_month": 0,
                                                 "as_of": s.as_of.isoformat()},
                   letter=letter_of(s, doc, number, dated, signer), workspace=s.workspace.root)


@command("products", group=import_app)
def import_products(
    s: Session,
    file: FileArg,
    sheet: SheetOpt = None,
    by: ByOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Record a list of products a district sends (name, district, commune, entity, kind,
    group; optional new, stage, date, ref, note): all rows, or none if one row is wrong.

    Example: ocop import products danh_sach_gia_loc.xlsx
    """
    from ocop_cli.commands.imports import _sheet
    from ocop_cli.tracker import product_views, products

    source = _sheet(file, sheet)

    def decide(loaded: Any, rows: Any, who: str) -> Any:
        lines, rules, _warnings = products.load_register(loaded.workspace, loaded.directory)
        new, messages, found = product_views.decide_import(loaded.directory, lines, rules, rows,
                                                           who)
        return new, messages, found, products.register_file(loaded.workspace, who), \
            products.HEADER

    read = product_views.read_product_sheet(source, s.as_of)
    record_sheet(s, by, dry_run, source, read, decide)


# --- helpers -----------------------------------------------------------------------------


def _read(s: Session) -> tuple[Any, Any, Any]:
    from ocop_cli.tracker import products

    loaded = s.load()
    lines, rules, _warnings = products.load_register(loaded.workspace, loaded.directory)
    return loaded, lines, rules


def _doc(loaded: Any, s: Session) -> dict[str, Any]:
    from ocop_cli.tracker import report

    return report.head("products", loaded.plan, s.as_of)


def _to_file(s: Session, loaded: Any, parts: list[Any], fmt: str, output: str | None,
             force: bool, rows: list[dict[str, Any]]) -> None:
    """A listing into a file: xlsx through the report's workbook, the others as printed."""
    import io
    from pathlib import Path

    from ocop_cli.output import export, render

    if fmt == "xlsx":
        if not output or output == "-":
            raise UsageError(_("--format xlsx writes a file: add --output FILE.xlsx"))
        doc = _doc(loaded, s)
        export.save(Path(output), force,
                    lambda path: export.write_xlsx(path, doc, parts, letter_of(s, doc)()),
                    s.workspace.root)
        return
    assert output is not None
    buffer = io.StringIO()
    if fmt == "json":
        render.write_json(rows, buffer)
    elif fmt == "csv":
        render.write_csv(parts[0].columns, parts[0].rows, buffer)
    elif fmt == "md":
        buffer.write(render.markdown(parts[0].columns, parts[0].rows))
    else:
        render.table(parts[0].columns, parts[0].rows, title=parts[0].title, no_color=True,
                     file=buffer)
    export.save_text(Path(output), force, fmt, buffer.getvalue(), workspace=s.workspace.root)
