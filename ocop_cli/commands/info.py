"""`ocop info`: which workspace, plan, as-of date and language a command run here would use."""

import os
from pathlib import Path
from typing import Any

import typer

from ocop_cli import __version__
from ocop_cli.commands.common import Format, FormatOpt, Session, command
from ocop_cli.core.errors import EXIT_INVALID, InvalidData
from ocop_cli.core.i18n import _, format_date, language
from ocop_cli.output import formats, render
from ocop_cli.store.storage import user_workspace_dir

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}


def _found_by(s: Session, root: Path) -> str:
    if s.data:
        return "OCOP_DATA" if os.environ.get("OCOP_DATA") == s.data else "--data"
    if root == user_workspace_dir().resolve():
        return _("your per-user folder")
    return _("the nearest workspace upward from {here}").format(here=Path.cwd())


@command("info")
def info(s: Session, fmt: FormatOpt = Format.table) -> None:
    """Say which workspace, plan, as-of date and language are in use.

    Example: ocop info --format json
    """
    # start-up: sync.signers, 5 ms, only for info (sync.git with it; --help loads this module)
    from ocop_cli.sync.signers import trust

    data, leaves = _facts(s)
    if fmt == Format.json:
        render.write_json(data)
    else:
        rows = [
            (_("Workspace"), data["workspace"]),
            (_("Found by"), data["found_by"]),
            (_("Plan"), data["plan"]),
            (_("Plan file"), data["plan_file"]),
            (_("Plans here"), ", ".join(str(y) for y in data["plans"])),
            (_("Tasks"), _tasks(leaves, data["tasks"])),
            (_("Entries"), data["entries"]),
            (_("As of"), format_date(s.as_of)),
            (_("Language"), f"{LANGUAGE_NAMES[data['language']]} ({data['language']})"),
            (_("Office"), _office_line(data)),
            (_("Recording as"), data["recorder"]),
            (_("Team"), trust(s.workspace.root)),
            (_("Per-user folder"), data["user_workspace"]),
            (_("Problems"), _("{n}; see 'ocop check'").format(n=data["problems"])
             if data["problems"] else None),
            (_("Version"), data["version"]),
        ]
        columns = [render.Column("k", ""), render.Column("v", "")]
        shown = [{"k": k, "v": v} for k, v in rows if v is not None and v != ""]
        if fmt == Format.table:
            render.table(columns, shown, title=_("ocop in use here"), no_color=s.no_color)
        else:
            formats.emit(fmt.value, columns, shown, None)
    if data["problems"]:
        raise typer.Exit(EXIT_INVALID)


def _office_line(data: dict[str, Any]) -> str:
    """Which office this copy records as, how that is known, and its file."""
    how = {"signed": _("the key this copy signs with"),
           "configured": _("OCOP_OFFICE or git config ocop.office"),
           "recorder": _("no office set up: the recorder's own file")}[data["office_found_by"]]
    return f"{data['office'] or ''} ({how}; {data['office_file']})".lstrip()


def _tasks(tasks: int | None, rows: int | None) -> str | None:
    """The tasks as every listing counts them (the rows without sub-rows), and the rows of the
    plan's table when its parent rows make them more (the JSON's `tasks`)."""
    if tasks is None or rows is None:
        return None
    if tasks == rows:
        return str(tasks)
    return _("{n} ({rows} rows of the table)").format(n=tasks, rows=rows)


def _facts(s: Session) -> tuple[dict[str, Any], int | None]:
    """What `info` says, as its JSON gives it, and how many tasks the listings count."""
    ws = s.workspace
    here = s.tracker.office()
    data: dict[str, Any] = {
        "version": __version__,
        "workspace": str(ws.root),
        "found_by": _found_by(s, ws.root),
        "created": ws.created,
        "user_workspace": str(user_workspace_dir()),
        "plans": list(ws.plan_files()),
        "plan": None,
        "plan_file": None,
        "tasks": None,
        "entries": None,
        "as_of": s.as_of.isoformat(),
        "language": language(),
        "office": here.name if here.found_by != "recorder" else None,
        "office_found_by": here.found_by,
        "office_file": str(here.history.relative_to(ws.root)),
        "recorder": here.by,
        "problems": 0,
    }
    try:
        loaded = s.load()
    except InvalidData as exc:
        data["problems"] = len(exc.problems)
        return data, None
    plan = loaded.plan
    data.update(plan=f"{plan.number} ({plan.years})", plan_file=str(ws.plan_path(s.year)),
                tasks=len(plan.tasks), entries=loaded.index.count()
                if loaded.index is not None else len(loaded.entries))
    return data, len(plan.leaves())
