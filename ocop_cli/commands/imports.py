"""`ocop import plan`, `ocop import progress`, `ocop import products` and `ocop export plan`:
tables in and out, on the `import` and `export` groups of `app`.

Reading and checking the tables is in `imports`; the rows of a progress sheet or a product
list are recorded by the `Tracker`. What is here is the writing of a plan: under the
workspace lock, each new file is written beside its destination (`store.write.stage`), loaded
back and validated, and only then renamed into place, so a failure leaves every file as it was.

The library is imported inside each command: a help page, a completion or the run of another
command never pays for it.
"""

import datetime as dt
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ocop_cli.commands.common import ByOpt, Session, app, command, parse_date, say, told
from ocop_cli.commands.helptext import LocalGroup
from ocop_cli.core.errors import InvalidData, Problem, Refused, UsageError
from ocop_cli.core.i18n import _
from ocop_cli.core.text import visible
from ocop_cli.core.windows import MOST_YEARS
from ocop_cli.output.render import stdout
from ocop_cli.store import documents, write
from ocop_cli.store.yamlio import read_yaml

_HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}
import_app = typer.Typer(help="Read a plan's assignment table or a progress sheet (TSV, CSV, "
                         "XLSX).", cls=LocalGroup, no_args_is_help=True, rich_markup_mode=None,
                         context_settings=_HELP_OPTIONS)
export_app = typer.Typer(help="Write the plan's table out (CSV, XLSX).", cls=LocalGroup,
                         no_args_is_help=True, rich_markup_mode=None,
                         context_settings=_HELP_OPTIONS)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")


class TableFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


FileArg = Annotated[str, typer.Argument(metavar="FILE", help="An .xlsx, .csv or .tsv file; - "
                                        "reads a table pasted on standard input")]
SheetOpt = Annotated[str | None, typer.Option("--sheet", metavar="NAME",
                                              help="The sheet of an .xlsx (default: the "
                                              "active one)")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace the file if it exists")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Check every row and say what "
                                         "would be recorded; record nothing")]


@command("plan", group=import_app)
def import_plan(
    s: Session,
    file: FileArg,
    year: Annotated[str, typer.Option("--year", metavar="YEAR", help="The plan's year, or "
                                      "its years for a plan over several: 2021-2025")],
    number: Annotated[str, typer.Option("--number", help='Its number, e.g. "1819/KH-UBND"')],
    title: Annotated[str | None, typer.Option("--title", help="Its title (default: Kế hoạch "
                                              "NUMBER)")] = None,
    dated: Annotated[str | None, typer.Option("--dated", metavar="DATE",
                                              help="The day it was signed (default: the "
                                              "as-of date)")] = None,
    sheet: SheetOpt = None,
    add_agencies: Annotated[bool, typer.Option("--add-agencies", help="Append the agencies "
                                               "agencies.yaml does not know to it")] = False,
    force: ForceOpt = False,
) -> None:
    """Read a task-assignment table (TT, Nội dung thực hiện, ĐVT, Số lượng, Cơ quan chủ trì,
    Cơ quan phối hợp, Thời gian thực hiện) into plan_YEAR.yaml.

    Example: ocop import plan bang_2020.xlsx --year 2020 --number "1234/KH-UBND"
    """
    # start-up: imports.tables, 100 ms, only for an import, openpyxl with it
    from ocop_cli.imports import tables as imports

    if not number.strip():
        raise UsageError(_("--number is empty"))
    if title is not None and not title.strip():
        raise UsageError(_("--title is empty"))
    first, last = _years(year)
    table = imports.read_plan_table(_sheet(file, sheet), first, last)
    day = parse_date(dated, "--dated") if dated else s.as_of
    for line in _write_plan(s.workspace, table, (first, last), number.strip(),
                            (title or f"Kế hoạch {number}").strip(), day, add_agencies, force):
        say(line)
    if dated is None:
        say(_("Dated {date} (the as-of date): give --dated for the day it was signed.").format(
            date=day.isoformat()))


def _years(text: str) -> tuple[int, int]:
    """`2020` or `2021-2025`: the first and last year of a plan."""
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?", text)
    first, last = (int(match.group(1)), int(match.group(2) or match.group(1))) if match else (0, 0)

    if not 1900 <= first <= last <= 2200:
        raise UsageError(_("--year: {text!r} is not a year (2020) or years in order "
                           "(2021-2025)").format(text=text))
    if last - first >= MOST_YEARS:
        raise UsageError(_("--year: a plan runs over {n} years at most").format(n=MOST_YEARS))
    return first, last


@command("progress", group=import_app)
def import_progress(
    s: Session,
    file: FileArg,
    sheet: SheetOpt = None,
    by: ByOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Record the rows of a progress sheet (date, task, action, quantity, place, by, ref,
    note) as entries: all of them, or none if one row is wrong.

    Example: ocop import progress bao_cao_thang_7.xlsx
    """
    # start-up: imports.progress, 100 ms, only for an import, openpyxl with it
    from ocop_cli.imports.progress import read_progress

    source = _sheet(file, sheet)
    read = read_progress(source)
    told(s.tracker.import_progress(source, read, by, dry_run))


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
    # start-up: tracker.product_views, 33 ms, only for importing products
    from ocop_cli.tracker import product_views

    source = _sheet(file, sheet)
    read = product_views.read_product_sheet(source, s.as_of)
    told(s.tracker.import_products(source, read, by, dry_run))


@command("plan", group=export_app)
def export_plan(
    s: Session,
    fmt: Annotated[TableFormat | None, typer.Option("--format", "-f", help="csv or xlsx "
                                                    "(default: from --output, else csv)")
                   ] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE",
                                               help="Write here (default for csv: standard "
                                               "output)")] = None,
    force: ForceOpt = False,
) -> None:
    """The plan's task table, shaped like the signed appendix; `ocop import plan` reads it
    back.

    Example: ocop export plan --format xlsx -o ke_hoach_2019.xlsx
    """
    # start-up: imports.planfile, 150 ms, only for a plan's import or export, openpyxl with it
    from ocop_cli.imports import planfile

    suffix = Path(output).suffix.lower() if output and output != "-" else ""
    if suffix not in ("", ".csv", ".xlsx"):  # a CSV under .doc or .xls opens as a broken file
        raise UsageError(_("ocop export plan does not write {suffix} files; it writes .csv "
                           ".xlsx").format(suffix=visible(suffix)))
    if fmt is None:
        fmt = TableFormat.xlsx if suffix == ".xlsx" else TableFormat.csv
    plan = s.load().plan
    rows = planfile.plan_table(plan)
    if output in (None, "-"):
        if fmt is TableFormat.xlsx:
            raise UsageError(_("an xlsx table goes to a file: give --output FILE.xlsx"))
        stdout().write(planfile.table_csv(rows))
        return
    assert output is not None
    target = Path(output)

    try:  # openpyxl writes each sheet to a temporary file first: a full disk fails there
        data = (planfile.table_xlsx(rows, f"plan_{plan.year}") if fmt is TableFormat.xlsx
                else planfile.table_csv(rows).encode("utf-8-sig"))  # the BOM tells Excel: UTF-8
    except write.write_errors() as exc:
        raise Refused(_("{path}: cannot write here ({error}); nothing was written").format(
            path=target, error=write.write_failure(exc))) from None
    write.output(target, data, workspace=s.workspace.root, force=force)
    say(_("Wrote {path}: {n} tasks of plan {number}.").format(
        path=target, n=len(rows) - 1, number=plan.number))


# --- helpers -----------------------------------------------------------------------------


def _sheet(file: str, sheet: str | None) -> Any:
    # start-up: imports.sheets, 100 ms, only for an import, openpyxl with it
    from ocop_cli.imports.sheets import read_sheet

    return read_sheet(file, sheet)


def _as(problems: list[Problem], tmp: Path, target: Path) -> list[Problem]:
    """Problems found in a temporary file, told about the file they are meant for."""

    return [p._replace(file=p.file.replace(str(tmp), str(target))) for p in problems]


def _write_plan(ws: Any, table: Any, years: tuple[int, int], number: str, title: str,
                dated: dt.date, add_agencies: bool, force: bool) -> list[str]:
    """Check the table against the agencies, then write plan_YEAR.yaml (and the agencies it
    adds) all at once. Returns what to tell the user."""
    # start-up: imports.tables, 100 ms, only for an import, openpyxl with it
    from ocop_cli.imports import agencies
    from ocop_cli.imports import tables as imports

    target = ws.root / f"plan_{years[0]}.yaml"
    write.refuse_overwrite(target, force)
    temps: list[write.Staged] = []
    with write.locked(ws):
        try:
            write.refuse_overwrite(target, force)
            directory, resolved = _checked_table(ws, table, add_agencies, dated)
            told: list[str] = []
            if resolved.unknown:
                directory, told = _add_agencies(ws, table, resolved, directory, number, temps)
                resolved = agencies.resolve_agencies(table, directory, dated)
                if resolved.problems or resolved.unknown:  # pragma: no cover - just added
                    raise imports.rejected(table.source, resolved.problems)
            temps.append(_staged_plan(ws, target, resolved, directory,
                                      (number, years, title, dated), table.source, force))
            existed = target.exists()
            for staged in temps:  # the agencies first: the plan names them
                staged.put()
        finally:
            for staged in temps:
                staged.discard()
    return _plan_written(target, table, years, number, existed, told)


def _checked_table(ws: Any, table: Any, add_agencies: bool, dated: dt.date
                   ) -> tuple[Any, Any]:
    """The agencies, and the table's agencies resolved against those in force on `dated`;
    InvalidData naming every problem of the table (an unknown agency is one unless
    `add_agencies`)."""
    # start-up: imports.tables, 100 ms, only for an import, openpyxl with it
    from ocop_cli.imports import agencies
    from ocop_cli.imports import tables as imports

    directory, problems = documents.read_agencies(ws.agencies_path)
    if directory is None:
        raise InvalidData(problems)
    resolved = agencies.resolve_agencies(table, directory, dated)
    found = [*table.problems, *resolved.problems]
    stranger = bool(resolved.unknown) and not add_agencies
    if stranger:
        found += agencies.unknown_problems(resolved, directory)
    if found:
        error = imports.rejected(table.source, found)
        if stranger:
            error.hint = _("Give --add-agencies to append the unknown agencies to "
                           "agencies.yaml, or add each spelling as an alias of the "
                           "agency it means.")
        raise error
    if not table.rows:
        raise InvalidData([], _("{source}: the table has no rows").format(
            source=table.source))
    return directory, resolved


def _staged_plan(ws: Any, target: Path, resolved: Any, directory: Any,
                 heading: tuple[str, tuple[int, int], str, dt.date], source: str,
                 force: bool) -> Any:
    """The plan file written beside `target` (`write.stage`), read back: it must load and say
    what the table says. `heading`: the plan's number, years, title and date."""
    # start-up: imports.planfile, 150 ms, only for a plan's import or export, openpyxl with it
    from ocop_cli.imports import planfile

    number, years, title, dated = heading
    data = planfile.plan_data(resolved, number, years[0], title, dated, years[1])
    text = planfile.plan_yaml(data, source, dt.date.today())
    new = write.stage(target, text.encode("utf-8"), inside=ws.root, force=force)
    try:
        plan, problems = documents.read_plan(new.temp, directory)
        if plan is None or read_yaml(new.temp).data != data:
            raise InvalidData(_as(problems, new.temp, target) or [Problem(
                str(target), _("the file written does not read back as the table"))])
    except BaseException:
        new.discard()
        raise
    return new


def _plan_written(target: Path, table: Any, years: tuple[int, int], number: str,
                  existed: bool, told: list[str]) -> list[str]:
    """What to tell the user of a plan written."""
    subs = sum(1 for row in table.rows if "." in row.id)
    done = (_("Replaced {name}") if existed else _("Wrote {name}")).format(name=target.name)
    return [
        done + _(": plan {number} of {year}, {n} tasks from {source} (sub-rows: {subs}).").format(
            number=number, year="-".join(str(y) for y in sorted(set(years))),
            n=len(table.rows), subs=subs, source=table.source),
        *told, *table.notices,
        _("Sections, notes and per_district are not in a table: add them to {name} by hand if "
          "wanted.").format(name=target.name),
    ]


def _add_agencies(ws: Any, table: Any, resolved: Any, directory: Any, number: str,
                  temps: list[Any]) -> tuple[Any, list[str]]:
    """agencies.yaml with the new agencies appended (its text before them untouched), in a
    temporary file that is validated; the directory it gives and what to tell the user."""
    # start-up: imports.planfile, 150 ms, only for an import of a plan, openpyxl with it
    from ocop_cli.imports import agencies, planfile

    added = agencies.new_agencies(resolved.unknown, directory)
    raw = ws.agencies_path.read_bytes()
    note = _("Added by `ocop import plan` from {source} (plan {number}); level and kind are "
             "guessed from the name: check them.").format(source=Path(table.source).name,
                                                         number=number)
    addition = planfile.agencies_addition(raw.decode("utf-8-sig"), added, note)
    temps.append(new := write.stage(ws.agencies_path, raw + addition.encode("utf-8"),
                                    inside=ws.root, force=True))
    new_directory, problems = documents.read_agencies(new.temp)
    if new_directory is None:
        raise InvalidData(_as(problems, new.temp, ws.agencies_path), _(
            "the new agencies cannot be appended to {path} (is its agencies list the last thing "
            "in it?); add them by hand: {names}").format(
            path=ws.agencies_path, names="; ".join(a.short for a in added)))
    told = [_("Added {n} agencies to agencies.yaml; their level and kind are guessed from the "
              "name, check them:").format(n=len(added))]
    told += [f"  {a.id}: {a.short} ({a.level}, {a.kind})" for a in added]
    return new_directory, told
