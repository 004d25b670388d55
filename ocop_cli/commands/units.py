"""`ocop import units`: a list of administrative units (code, name, level, parent, from, until,
successors) into agencies.yaml, on the `import` group.

Reading the list and deciding what it changes is `imports.units`; what is here is the writing:
under the workspace lock, the new agencies.yaml is written beside it, read back and validated,
and only then renamed into place through the one door, so a failure leaves it as it was.
"""

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from ocop_cli.commands.common import Session, command, say
from ocop_cli.commands.imports import DryRunOpt, FileArg, SheetOpt, _as, _sheet, import_app
from ocop_cli.core.errors import InvalidData
from ocop_cli.core.i18n import _, format_date
from ocop_cli.store import documents, write
from ocop_cli.store.yamlio import read_yaml

if TYPE_CHECKING:
    from ocop_cli.imports.units import UnitChanges


@command("units", group=import_app)
def import_units(s: Session, file: FileArg, sheet: SheetOpt = None,
                 dry_run: DryRunOpt = False) -> None:
    """Read a list of administrative units, as the resolutions on rearranging units publish
    it (Mã, Tên, Cấp, Trực thuộc, Từ ngày, Đến ngày, Đơn vị kế thừa; or code, name, level,
    parent, from, until, successors), into agencies.yaml: new units appended, the end and
    successors of units already there written in; nothing if one row conflicts.

    Example: ocop import units danh_sach_xa_2025.xlsx --dry-run
    """
    # start-up: imports.units, 124 ms, only for import units (imports.tables with it)
    from ocop_cli.imports import tables, units

    source = _sheet(file, sheet)
    rows, problems, notices = units.read_units(source)
    ws = s.workspace
    with write.locked(ws):
        directory, faults = documents.read_agencies(ws.agencies_path)
        if directory is None:
            raise InvalidData(faults)
        changes = units.unit_changes(rows, directory)
        if problems or changes.problems:
            raise tables.rejected(source.source, [*problems, *changes.problems])
        if not dry_run and (changes.added or changes.ended):
            raw = ws.agencies_path.read_bytes()
            doc = read_yaml(ws.agencies_path)
            starts = {a.id: doc.where(("agencies", i))[0] or 1
                      for i, a in enumerate(directory.agencies)}
            note = _("Added by `ocop import units` from {source}").format(
                source=Path(source.source).name)
            text = units.changed_text(raw.decode("utf-8-sig"), starts, changes, note)
            staged = write.stage(ws.agencies_path, text.encode("utf-8"), inside=ws.root,
                                 force=True)
            try:
                again, faults = documents.read_agencies(staged.temp)
                if again is None:
                    raise InvalidData(_as(faults, staged.temp, ws.agencies_path))
                staged.put()
            finally:
                staged.discard()
    for line in (*notices, *_told(changes, dry_run)):
        say(line)


def _told(changes: "UnitChanges", dry_run: bool) -> list[str]:
    """What the list changes, one line a unit, and the count."""
    lines = [_("  + {id}: {name} ({level})").format(id=a.id, name=a.name, level=a.level)
             for a in changes.added]
    lines += [_("  ~ {id}: {name} ends {until}{heirs}").format(
        id=after.id, name=after.name, until=format_date(dt.date.fromisoformat(after.until or "")),
        heirs=f" -> {', '.join(after.successors)}" if after.successors else "")
        for _before, after in changes.ended]
    head = (_("Dry run: {added} units would be added, {ended} ended, {same} unchanged; "
              "agencies.yaml is as it was.") if dry_run else
            _("agencies.yaml: {added} units added, {ended} ended, {same} unchanged."))
    return [*lines, head.format(added=len(changes.added), ended=len(changes.ended),
                                same=changes.unchanged)]
