"""`ocop product …`: the OCOP product register, on the `product` group of `app`.

A line is recorded by the `Tracker`, under the workspace lock like an entry; what may be
recorded is decided in `products`, what is shown in `product_views`.

What only some commands need is imported inside them: a help page, a completion or the run
of another command does not pay for it.
"""

import datetime as dt
import io
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ocop_cli.commands.common import (
    ByOpt,
    DatedOpt,
    DateOpt,
    IssuerOpt,
    NoteOpt,
    NumberOpt,
    RefOpt,
    ReportFormat,
    Session,
    SignerOpt,
    app,
    command,
    letter_of,
    told,
)
from ocop_cli.commands.helptext import LocalGroup
from ocop_cli.core.errors import UsageError
from ocop_cli.core.i18n import _, format_date, ngettext
from ocop_cli.output import export, formats, render
from ocop_cli.output.render import Column
from ocop_cli.tracker.scoring import typed_sheets

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
    renewed = "renewed"
    upgraded = "upgraded"
    revoked = "revoked"


class Standing(StrEnum):
    in_force = "in_force"
    expired = "expired"
    revoked = "revoked"


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    md = "md"
    xlsx = "xlsx"


def _product_ids(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Every product id with its name and district, for the shell's Tab (see `complete`)."""
    # start-up: tracker.products, 18 ms, only for completing a product id (store.index with it)
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
    told(s.tracker.add_product(name, district, commune, entity, kind.value, group, new, by=by,
                               date=date, ref=ref, note=note))


@command("stage", group=product_app)
def stage(s: Session, product: ProductArg,
          to: Annotated[Stage, typer.Argument(metavar="STAGE", help="chosen, rejected (say why "
                                              "with --note), sent, recognised (--ref: the "
                                              "decision), not_recognised; after a new score "
                                              "renewed or upgraded (--ref); revoked (--ref "
                                              "and --note: why)")],
          by: ByOpt = None, ref: RefOpt = None, note: NoteOpt = None,
          date: DateOpt = None) -> None:
    """Move a product on to its next stage.

    Example: ocop product stage sp-3fa9 sent --ref 45/TTr-UBND --date 2019-09-20
    """
    if to in (Stage.registered, Stage.scored):
        raise UsageError(_("register with `ocop product add`, score with `ocop product score`"))
    told(s.tracker.advance_product(product, to.value, by=by, date=date, ref=ref, note=note))


@command("score", group=product_app)
def score(s: Session, product: ProductArg,
          points: Annotated[int | None, typer.Argument(
              metavar="POINTS", min=0, max=100, help="The council's points, 0 to 100; or "
              "give each member's sheet")] = None,
          council: Annotated[Council, typer.Option("--council", help="huyen (the district's "
                                                   "council) or tinh (the province's)")
                             ] = Council.tinh,
          member: Annotated[list[str] | None, typer.Option(
              "--member", metavar="NAME", help="A council member whose sheet follows "
              "(repeatable, each with --a, --b and --c)")] = None,
          part_a: Annotated[list[int] | None, typer.Option(
              "--a", min=0, max=100, help="The member's points for part A")] = None,
          part_b: Annotated[list[int] | None, typer.Option(
              "--b", min=0, max=100, help="The member's points for part B")] = None,
          part_c: Annotated[list[int] | None, typer.Option(
              "--c", min=0, max=100, help="The member's points for part C")] = None,
          sheet: Annotated[str | None, typer.Option(
              "--sheet", metavar="FILE", help="The members' sheets: CSV, TSV or XLSX, one row "
              "per member, columns member (thành viên), A, B, C")] = None,
          failed: Annotated[str | None, typer.Option(
              "--failed", metavar="TEXT", help="A mandatory criterion the product failed: "
              "not passed, whatever its points")] = None,
          by: ByOpt = None, ref: RefOpt = None, note: NoteOpt = None,
          date: DateOpt = None) -> None:
    """Record a council's score: one total, or each member's sheet (the points are their
    average); the stars follow from the decision in force on its date.

    Example: ocop product score sp-3fa9 --member "Ông A" --a 30 --b 20 --c 30 --member "Bà B"
    --a 28 --b 21 --c 33 --date 2023-11-20
    """

    sheets = typed_sheets(member or [], part_a or [], part_b or [], part_c or [])
    given = [x for x in (points is not None, bool(sheets), sheet is not None) if x]
    if len(given) != 1:
        raise UsageError(_("give one of: the council's POINTS, --member sheets, --sheet FILE"))
    told(s.tracker.score_product(product, points, council.value, sheets=sheets,
                                 sheet_file=sheet, failed=failed, by=by, date=date, ref=ref,
                                 note=note))


@command("undo", group=product_app)
def undo(s: Session, product: Annotated[str | None, typer.Argument(
        metavar="ID", help="Only this product's latest line")] = None,
         by: ByOpt = None) -> None:
    """Take back the latest line of the register still in force (of one product, with ID);
    nothing is deleted: a line that undoes it is appended.

    Example: ocop product undo sp-3fa9
    """
    told(s.tracker.undo_product(product, by))


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
    certificate: Annotated[Standing | None, typer.Option(
        "--certificate", help="Whose certificate is in_force, expired or revoked on the as-of "
        "date")] = None,
    fmt: Annotated[ListFormat | None, typer.Option("--format", "-f", help="table, json, csv, md or "
                                            "xlsx (with --output); default: the output "
                                            "file's suffix, else table")] = None,
    output: OutputOpt = None, force: ForceOpt = False,
) -> None:
    """The products of the register at their stage as of the as-of date, filtered.

    Example: ocop product list --district "Gia Lộc" --stage sent --format json
    """
    # start-up: tracker.product_views, 178 ms, only for product list (and its table)
    from ocop_cli.output.product_tables import list_section
    from ocop_cli.tracker import product_views, products

    shape = _list_shape(fmt, output)
    loaded, lines, rules = s.tracker.register()
    chosen = product_views.select(
        products.products_as_of(lines, rules, s.as_of).values(), loaded.directory,
        district=s.tracker.district(loaded, district) if district else None, commune=commune,
        stages={x.value for x in at or ()}, stars=stars, kind=kind.value if kind else None,
        group=rules.group(group).id if group else None, year=year,
        certificate=certificate.value if certificate else None, as_of=s.as_of)
    rows = [product_views.product_row(p, loaded.directory, rules, s.as_of) for p in chosen]
    _listing(s, loaded, list_section(rows), rows, shape, output, force,
             ngettext("{n} product as of {date}", "{n} products as of {date}",
                      len(rows)).format(n=len(rows), date=format_date(s.as_of)))


@command("due", group=product_app)
def due(
    s: Session,
    within: Annotated[int, typer.Option("--within", min=0, max=3650, metavar="DAYS",
                                        help="Certificates that expire within this many "
                                        "days")] = 30,
    district: Annotated[str | None, typer.Option("--district", "-d", metavar="NAME",
                                                 help="Of this district-level unit")] = None,
    fmt: Annotated[ListFormat | None, typer.Option("--format", "-f", help="table, json, csv, "
                                                   "md or xlsx (with --output)")] = None,
    output: OutputOpt = None, force: ForceOpt = False,
) -> None:
    """The certificates that expire within DAYS of the as-of date, by place and producer,
    with the day the holder must be told by (the rules' notice before expiry).

    Example: ocop product due --within 30
    """
    # start-up: tracker.product_views, 178 ms, only for product due (and its table)
    from ocop_cli.output.product_tables import due_section
    from ocop_cli.tracker import product_views, products

    shape = _list_shape(fmt, output)
    loaded, lines, rules = s.tracker.register()
    unit = s.tracker.district(loaded, district) if district else None
    found = [p for p in products.products_as_of(lines, rules, s.as_of).values()
             if unit is None or p.district == unit]
    rows = product_views.due(found, loaded.directory, rules, s.as_of, within)
    _listing(s, loaded, due_section(rows, within), rows, shape, output, force,
             ngettext("{n} certificate as of {date}", "{n} certificates as of {date}",
                      len(rows)).format(n=len(rows), date=format_date(s.as_of)))


@command("show", group=product_app)
def show(s: Session, product: ProductArg,
         fmt: Annotated[ListFormat, typer.Option("--format", "-f", help="table, json, csv or "
                                                 "md")] = ListFormat.table) -> None:
    """One product: its facts, its stage as of the as-of date, and every line about it.

    Example: ocop product show sp-3fa9
    """
    # start-up: tracker.product_views, 178 ms, only for product show (and its table)
    from ocop_cli.output.product_tables import lines_section
    from ocop_cli.tracker import product_views, products

    loaded, lines, rules = s.tracker.register()
    found = products.find(lines, product)
    current = products.products_as_of(lines, rules, s.as_of).get(found)
    if current is None:
        raise UsageError(_("product {id} is registered after {date}").format(
            id=found, date=format_date(s.as_of)))
    data = product_views.product_row(current, loaded.directory, rules, s.as_of)
    history = product_views.line_rows(lines, found)
    if fmt is ListFormat.json:
        render.write_json({**data, "as_of": s.as_of.isoformat(), "lines": history})
        return
    if fmt is ListFormat.xlsx:
        raise UsageError(_("--format xlsx goes with `ocop product list` and `ocop product "
                           "report`"))
    facts = product_views.facts(current, loaded.directory, rules, s.as_of)
    columns = [Column("k", ""), Column("v", "")]
    if fmt.value in ("csv", "md"):
        formats.emit(fmt.value, columns, [{"k": k, "v": v} for k, v in facts], None)
        return
    render.table(columns, [{"k": k, "v": v} for k, v in facts],
                 title=_("Product {id} as of {date}").format(id=found,
                                                              date=format_date(s.as_of)),
                 no_color=s.no_color)
    part = lines_section(history)
    render.table(part.columns, part.rows, title=part.title, no_color=s.no_color)


@command("report", group=product_app)
def report(
    s: Session,
    months: Annotated[int, typer.Option("--months", min=1, max=120,
                                        help="Recognitions that run out within this many "
                                        "months")] = 6,
    fmt: Annotated[ReportFormat | None, typer.Option(
        "--format", "-f", help="table, md, csv, json, xlsx, html, docx or pdf (default: from "
        "the --output name, else table)")] = None,
    output: OutputOpt = None, force: ForceOpt = False,
    number: NumberOpt = None, dated: DatedOpt = None, signer: SignerOpt = None,
    issuer: IssuerOpt = None,
) -> None:
    """How many products, how many stars, from where: the funnel and the stars by district
    unit, the stars by kind of entity and by product group, the recognitions that run out.

    Example: ocop product report --months 6 --output san-pham.xlsx
    """
    # start-up: tracker.report, 156 ms, only for product report (product_views with it)
    from ocop_cli.tracker import product_views, products
    from ocop_cli.tracker.report import product_report

    loaded, lines, rules = s.tracker.register()
    doc = product_report(loaded.plan, s.as_of, product_views.summary(
        list(products.products_as_of(lines, rules, s.as_of).values()), loaded.directory, rules,
        s.as_of, months))
    formats.deliver(doc, formats.choose_format(fmt.value if fmt else None, output), output,
                    force, s.no_color, timeline=lambda: {"months": [], "rows": [],
                                                         "as_of_month": 0,
                                                         "as_of": s.as_of.isoformat()},
                    letter=letter_of(s, doc, number, dated, signer, issuer),
                    workspace=s.workspace.root)


# --- helpers -----------------------------------------------------------------------------


def _list_shape(fmt: ListFormat | None, output: str | None) -> str:
    """The format of a listing: the one asked for, else the output file's suffix."""

    shape = formats.choose_format(fmt.value if fmt else None, output)
    if shape not in ListFormat.__members__:
        raise UsageError(_("a product list is written as table, json, csv, md or xlsx; "
                           "`ocop product report` writes {fmt}").format(fmt=shape))
    return shape


def _listing(s: Session, loaded: Any, section: Any, rows: list[dict[str, Any]], shape: str,
             output: str | None, force: bool, footer: str) -> None:
    """A listing on the screen, or into a file."""

    if shape == "xlsx" or output:
        _to_file(s, loaded, [section], shape, output, force, rows)
        return
    formats.emit(shape, section.columns, section.rows, rows, title=section.title,
                 footer=footer, no_color=s.no_color)


def _doc(loaded: Any, s: Session) -> Any:
    # start-up: tracker.report, 156 ms, only for a product report
    from ocop_cli.tracker.report import product_report

    return product_report(loaded.plan, s.as_of)


def _to_file(s: Session, loaded: Any, parts: list[Any], fmt: str, output: str | None,
             force: bool, rows: list[dict[str, Any]]) -> None:
    """A listing into a file: xlsx through the report's workbook, the others as printed."""
    # start-up: output.xlsx, 184 ms, only for a list written as XLSX
    from ocop_cli.output.xlsx import write_xlsx

    if fmt == "xlsx":
        if not output or output == "-":
            raise UsageError(_("--format xlsx writes a file: add --output FILE.xlsx"))
        doc = _doc(loaded, s)
        export.save(Path(output), force,
                    lambda path: write_xlsx(path, doc, parts, letter_of(s, doc)()),
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
    formats.save_text(Path(output), force, fmt, buffer.getvalue(), workspace=s.workspace.root)
