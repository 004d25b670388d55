"""`ocop init` and the recording commands: `done`, `progress`, `start`, `reopen`, `cancel`,
`note`, `undo`. Each hands what was typed to the `Tracker` and says its `Outcome`.
"""

from pathlib import Path
from typing import Annotated

import typer

from ocop_cli.commands import complete
from ocop_cli.commands.common import (
    ByOpt,
    DateOpt,
    NoteOpt,
    RefOpt,
    Session,
    TaskArg,
    command,
    say,
    told,
)
from ocop_cli.core.i18n import _
from ocop_cli.store.storage import init_workspace

PlaceOpt = Annotated[str | None, typer.Option("--place", "-p", metavar="NAME",
                                              autocompletion=complete.agencies,
                                              help="District unit or agency where it happened")]


@command("init")
def init(
    s: Session,
    folder: Annotated[str | None, typer.Argument(help="Where (default: this folder)")] = None,
) -> None:
    """Create a workspace from the bundled 2019 plan.

    Example: ocop init ./ocop-data
    """
    ws = init_workspace(Path(folder or "."))
    say(_("Workspace ready in {root}").format(root=ws.root))


@command("done")
def done(s: Session, task_id: TaskArg,
         qty: Annotated[int | None, typer.Option("--qty", min=0, metavar="QTY",
                                                 help="Quantity achieved")] = None,
         place: PlaceOpt = None, by: ByOpt = None, ref: RefOpt = None, note: NoteOpt = None,
         date: DateOpt = None) -> None:
    """Mark a task done (a parent: all its open sub-rows).

    Example: ocop done 5 --ref 123/BC-SNN
    """
    told(s.tracker.done(task_id, qty, place, by=by, date=date, ref=ref, note=note))


@command("progress")
def progress(s: Session, task_id: TaskArg,
             # The library refuses a quantity below 1, as from any caller.
             qty: Annotated[int, typer.Argument(metavar="QTY", help="How many more")],
             place: PlaceOpt = None, by: ByOpt = None, ref: RefOpt = None, note: NoteOpt = None,
             date: DateOpt = None) -> None:
    """Record part of a task's quantity.

    Example: ocop progress 1.2 5 --place "Gia Lộc"
    """
    told(s.tracker.progress(task_id, qty, place, by=by, date=date, ref=ref, note=note))


@command("start")
def start(s: Session, task_id: TaskArg, by: ByOpt = None, ref: RefOpt = None,
          note: NoteOpt = None, date: DateOpt = None) -> None:
    """Mark a task started.

    Example: ocop start 2
    """
    told(s.tracker.change("start", task_id, by=by, date=date, ref=ref, note=note))


@command("reopen")
def reopen(s: Session, task_id: TaskArg, by: ByOpt = None, ref: RefOpt = None,
           note: NoteOpt = None, date: DateOpt = None) -> None:
    """Reopen a task that was done or cancelled.

    Example: ocop reopen 4 --note "thiếu bản in"
    """
    told(s.tracker.change("reopen", task_id, by=by, date=date, ref=ref, note=note))


@command("cancel")
def cancel(s: Session, task_id: TaskArg,
           note: Annotated[str, typer.Option("--note", metavar="TEXT", help="Why (required)")],
           by: ByOpt = None, ref: RefOpt = None, date: DateOpt = None) -> None:
    """Cancel a task, saying why.

    Example: ocop cancel 9 --note "không bố trí được kinh phí"
    """
    told(s.tracker.change("cancel", task_id, by=by, date=date, ref=ref, note=note))


@command("note")
def note(s: Session, task_id: TaskArg,
         text: Annotated[str, typer.Argument(metavar="TEXT", help="The note")],
         by: ByOpt = None, ref: RefOpt = None, date: DateOpt = None) -> None:
    """Attach a note to a task.

    Example: ocop note 10 "đã có 4 HTX nộp hồ sơ"
    """
    told(s.tracker.note(task_id, text, by=by, date=date, ref=ref))


@command("undo")
def undo(s: Session, by: ByOpt = None) -> None:
    """Undo this office's latest command: every entry it wrote. Nothing is deleted: an entry
    reversing each is appended; repeat to walk back further.

    Example: ocop undo
    """
    told(s.tracker.undo(by))
