"""`Tracker`, the one object the commands open on a workspace and call.

It loads the workspace (plan, agencies, history), gives the task states as of its as-of date,
resolves the names people type, and records. Every recording (a typed command, a sheet, a
line of the product register) goes through `Tracker.record`: lock, load, decide, append, and
comes back as one `Outcome`. What a decision is lives in `record` and `products`; what is
shown, reported and imported, in the modules beside this one and below.

A listing, the run whose start-up time matters most, loads none of what only recordings,
reports and the product register need: the methods that use those import them, each saying
what that saves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ocop_cli.core.errors import UsageError
from ocop_cli.core.i18n import _, format_date, parse_day
from ocop_cli.core.labels import council_label, stage_label
from ocop_cli.core.model import Entry
from ocop_cli.core.state import state_as_of, subtree
from ocop_cli.core.windows import month_option
from ocop_cli.store import write

if TYPE_CHECKING:
    from ocop_cli.core.model import Agency, Plan
    from ocop_cli.core.report import Period, TaskReport
    from ocop_cli.core.state import TaskState
    from ocop_cli.imports.progress import ProgressRow
    from ocop_cli.imports.sheets import Sheet
    from ocop_cli.imports.tables import RowProblem
    from ocop_cli.store.storage import Loaded, Workspace
    from ocop_cli.store.write import Recorded
    from ocop_cli.sync.sync import Synced
    from ocop_cli.tracker import products
    from ocop_cli.tracker.office import Office
    from ocop_cli.tracker.product_views import SheetRow
    from ocop_cli.tracker.record import Outcome, Stamp
    from ocop_cli.tracker.scoring import MemberSheet

R = TypeVar("R", bound="Recorded")
Decide = Callable[["Loaded", str], "Outcome[R]"]
Book = Literal["history", "products"]  # which of an office's files a recording appends to
Day = dt.date | str | None  # a date, or one as typed (read when the decision is made)


def parse_date(text: str, option: str) -> dt.date:
    """A date as typed for `option`: YYYY-MM-DD or DD/MM/YYYY."""
    try:
        return parse_day(text)
    except ValueError:
        raise UsageError(_("{option}: {text!r} is not a date; expected YYYY-MM-DD or "
                           "DD/MM/YYYY, e.g. 2019-09-15 or 15/09/2019").format(
                               option=option, text=text)) from None


def agency_named(loaded: Loaded, name: str, option: str, tell: Callable[[str], None],
                 as_of: dt.date | None = None, strict: bool = False) -> Agency:
    """The agency a name means among those in force on the as-of date (`Plan.naming_day`;
    without one, on any day); told when the name is not one of its spellings, so that "Sở Tài
    Chín" never silently becomes Sở Tài chính. `strict` (a place recorded on that date)
    refuses an agency that was not in force then, naming what took it over."""
    on = None if as_of is None else loaded.plan.naming_day(as_of)
    agency = loaded.directory.resolve(name, on) if strict else in_force_or_told(
        loaded, name, on, tell)
    if not loaded.directory.exactly(name, agency):
        tell(_("{option} {name!r}: taken as {agency} ({full})").format(
            option=option, name=name, agency=agency.short, full=agency.name))
    return agency


def in_force_or_told(loaded: Loaded, name: str, on: dt.date | None,
                     tell: Callable[[str], None]) -> Agency:
    """The agency a name means on `on`; a name of an agency that had ended (or not begun) by
    then still finds it when it is the only one so named, and the line that says when it ended
    and what took it over is told: a filter may look back at a unit that is gone."""
    agency, ended = loaded.directory.looked_back(name, on)
    if ended is not None:
        tell(ended)
    return agency


def plan_month(plan: Plan, text: str | None) -> int | None:
    """`--month` as the plan's windows count months (13 is January of its second year)."""
    try:
        return None if text is None else month_option(text, plan.year, plan.last_year)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _silent(message: str) -> None:
    """Where a tracker opened without `tell` says what it notices on the way: nowhere."""


class Tracker:
    """A workspace, which of its plans (`year`, default the latest), the as-of date (default
    today), and `tell`, where to say what is noticed on the way (a name taken as another)."""
    def __init__(self, workspace: Workspace, year: int | None = None,
                 as_of: dt.date | None = None, tell: Callable[[str], None] = _silent) -> None:
        self.workspace = workspace
        self.year = year
        self.as_of = as_of or dt.date.today()
        self.tell = tell
        self._offices: dict[str | None, Office] = {}

    # --- reading -----------------------------------------------------------------------------

    def load(self) -> Loaded:
        """The workspace's plan, agencies and history (from the index where it can be), and
        the products the plan counts from the register."""
        # start-up: tracker.loading, 4 ms, only for a run that reads the workspace (not help)
        from ocop_cli.tracker.loading import load
        return load(self.workspace, self.year)

    def states(self, loaded: Loaded, under: str | None = None, by_successor: bool = False
               ) -> dict[str, TaskState]:
        """Every task's state as of the as-of date; with `under`, only the states of that task
        and its sub-rows, each replayed from its own entries: all a command about one task
        looks at. `by_successor`: what was recorded at a unit that has ended counts under the
        unit that took it over (continuity across a merger, where the user asks for it)."""
        if by_successor:
            moved = loaded.directory.carried(loaded.replay(under), self.as_of)
            return state_as_of(loaded.plan, moved, self.as_of, under)
        if under is None:
            return loaded.states(self.as_of)
        tasks = [t.id for t in subtree(loaded.plan, under)]
        own = loaded.entries_of(tasks)
        return state_as_of(loaded.plan, [e for t in tasks for e in own[t]], self.as_of, under)

    def agency(self, loaded: Loaded, name: str, option: str) -> Agency:
        return agency_named(loaded, name, option, self.tell, self.as_of)

    def place(self, loaded: Loaded, name: str | None, on: dt.date | None = None
              ) -> str | None:
        """The agency id `--place` names, if it names one; with `on` (the date of the entry
        it is recorded in), among the agencies in force that day only."""
        if not name:
            return None
        return agency_named(loaded, name, "--place", self.tell, on or self.as_of,
                            strict=on is not None).id

    def district(self, loaded: Loaded, name: str, on: dt.date | None = None) -> str:
        """The id of the administrative unit `--district` names, found as `--agency` finds
        one (a unit that has ended is found, and told); with `on` (the day a product is
        registered there), on that day: one that had ended is refused, naming what took it
        over, when a unit in force then took it over (`Directory.holding`)."""
        if on is None:
            unit = in_force_or_told(loaded, name, loaded.plan.naming_day(self.as_of), self.tell)
        else:
            unit, ended = loaded.directory.holding(name, on)
            if ended is not None:
                self.tell(ended)
        if not loaded.directory.is_unit(unit.id):
            raise UsageError(_("--district: {name} is not an administrative unit (district or "
                               "commune)").format(
                name=unit.short))
        return str(unit.id)

    def register(self) -> tuple[Loaded, list[products.Line], products.Rules]:
        """The workspace loaded, the product register's lines and the rules in force."""
        # start-up: tracker.products, 25 ms, only for the product register
        from ocop_cli.tracker import products

        loaded = self.load()
        lines, rules, _warnings = products.load_register(loaded.workspace, loaded.directory)
        return loaded, lines, rules

    def check(self) -> int:
        """Every file of the workspace validated and its problems listed; the exit code."""
        # start-up: tracker.views, 5 ms, only for a run that reads the workspace (not help)
        from ocop_cli.tracker import views
        return views.check(self.workspace)

    def sync(self) -> Synced:
        """What was recorded here sent to the shared git repository, and the rest fetched."""
        # start-up: sync.sync, 37 ms, only for sync (tracker.check comes with it)
        from ocop_cli.sync.sync import sync
        from ocop_cli.tracker.check import validate

        return sync(self.workspace, validate)

    # --- reports -----------------------------------------------------------------------------

    def report(self, agency: str | None = None, month: str | None = None,
               period: Period | None = None, sort: str = "plan", every_task: bool = False,
               by_successor: bool = False) -> tuple[TaskReport, Callable[[], dict[str, Any]]]:
        """The report as of the as-of date (of one agency; of a month or a period) and how to
        make its timeline."""
        # start-up: tracker.report, 377 ms, only for a report (core.report comes with it)
        from ocop_cli.core.report import month_period
        from ocop_cli.tracker import report as core

        loaded = self.load()
        index = plan_month(loaded.plan, month)
        if index is not None:
            period = month_period(*loaded.plan.calendar_month(index))
        states = self.states(loaded, by_successor=by_successor)  # a period reads its own
        who = self.agency(loaded, agency, "--agency") if agency else None
        doc = core.build(loaded, states, self.as_of, who, period, sort, every_task=every_task)
        return doc, lambda: core.timeline(loaded, states, self.as_of, who)

    def timeline(self, agency: str | None = None) -> dict[str, Any]:
        """The Gantt chart's rows (of one agency's tasks)."""
        # start-up: tracker.report, 377 ms, only for a report
        from ocop_cli.tracker import report as core

        loaded = self.load()
        who = self.agency(loaded, agency, "--agency") if agency else None
        return core.timeline(loaded, self.states(loaded), self.as_of, who)

    def agencies(self, every: bool = False) -> list[dict[str, Any]]:
        """The agencies in force on the as-of date or named by the plan (`every`: all), with
        how many tasks each leads and partners, and their dates."""
        # start-up: tracker.report, 377 ms, only for a report
        from ocop_cli.tracker import report as core

        loaded = self.load()
        return core.agency_list(loaded, self.states(loaded), self.as_of, every)

    # --- recording ---------------------------------------------------------------------------

    def record(self, decide: Decide[R], by: str | None = None, *, book: Book = "history",
               ahead: bool = False, dry_run: bool = False) -> Outcome[R]:
        """Lock, load, decide, append: `decide(loaded, recorder)` gives what to append to the
        file of `book` of the office this copy records as (`office`; `by` names the person),
        decided from the workspace as it is under the lock; the entries of one recording are
        one command (`undo` takes them back together).

        With `ahead` (a sheet of many rows), the decision is made before the lock is taken,
        which is then held only to check that nothing was recorded meanwhile (else to decide
        again) and to append; a `dry_run` decides so and appends nothing."""
        # start-up: store.index, 4 ms, only for a run that reads the workspace (not help)
        from ocop_cli.store import index

        # start-up: tracker.products, 25 ms, only for a recording (the register's header)
        from ocop_cli.tracker import products

        # start-up: tracker.loading, 4 ms, only for a run that reads the workspace (not help)
        from ocop_cli.tracker.loading import load

        ws = self.workspace
        here = self.office(by)
        who, file = here.by, here.file(book)
        header = products.HEADER if book == "products" else write.HISTORY_HEADER
        outcome: Outcome[R] | None = None
        if ahead or dry_run:
            seen = index.snapshot(ws)
            outcome = self._one_command(decide(load(ws, self.year), who))
            if dry_run or not outcome.entries:
                outcome.file = file
                return outcome
        with write.locked(ws):
            if outcome is None or index.snapshot(ws) != seen:
                outcome = self._one_command(decide(load(ws, self.year), who))
            if outcome.entries:
                write.append(file, outcome.entries, inside=ws.root, header=header)
        outcome.file = file
        return outcome

    def office(self, by: str | None = None) -> Office:
        """Who this copy records as (see `office`): asked once per tracker and `by`."""
        # start-up: tracker.office, 22 ms, only for a recording
        from ocop_cli.tracker.office import this_office

        if by not in self._offices:
            self._offices[by] = this_office(self.workspace, by)
        return self._offices[by]

    @staticmethod
    def _one_command(outcome: Outcome[R]) -> Outcome[R]:
        """The history entries of one recording marked as one command (`undo` takes them back
        together); the product register's lines are left as they are."""
        # start-up: tracker.record, 7 ms, only for a recording
        from ocop_cli.tracker.record import one_command

        entries: list[Any] = outcome.entries
        if entries and all(isinstance(e, Entry) for e in entries):
            entries[:] = one_command(entries)
        return outcome

    def _stamp(self, loaded: Loaded, who: str, date: Day, ref: str | None,
               note: str | None) -> Stamp:
        """What the entries of one recording share."""
        # start-up: tracker.record, 7 ms, only for a recording
        from ocop_cli.tracker.record import Stamp

        return Stamp(date=self._day(date), by=who, ref=ref, note=note, plan=loaded.plan.year,
                     as_of=self.as_of)

    def _day(self, date: Day) -> dt.date:
        """The date an entry takes effect: the one given, else the as-of date."""
        if isinstance(date, str):
            return parse_date(date, "--date") if date else self.as_of
        return date or self.as_of

    def _on_task(self, task_id: str, by: str | None,
                 decide: Callable[[Loaded, dict[str, Any], str], Outcome[Entry]]
                 ) -> Outcome[Entry]:
        """A recording about one task, decided from the states of that task and its sub-rows
        only: all it looks at (replaying a long history for every task is not)."""
        return self.record(lambda loaded, who: decide(
            loaded, self.states(loaded, under=task_id.strip()), who), by)

    def done(self, task_id: str, qty: int | None = None, place: str | None = None, *,
             by: str | None = None, date: Day = None, ref: str | None = None,
             note: str | None = None) -> Outcome[Entry]:
        """A task done (a parent: all its open sub-rows; with `place`, a unit's share)."""
        # start-up: tracker.record, 7 ms, only for a recording
        from ocop_cli.tracker import record

        return self._on_task(task_id, by, lambda loaded, states, who: record.done(
            loaded, states, task_id, self._stamp(loaded, who, date, ref, note), qty,
            self.place(loaded, place, self._day(date))))

    def progress(self, task_id: str, qty: int, place: str | None = None, *,
                 by: str | None = None, date: Day = None, ref: str | None = None,
                 note: str | None = None) -> Outcome[Entry]:
        """Part of a task's quantity achieved (in `place`)."""
        # start-up: tracker.record, 7 ms, only for a recording
        from ocop_cli.tracker import record

        return self._on_task(task_id, by, lambda loaded, states, who: record.progress(
            loaded, states, task_id, qty, self._stamp(loaded, who, date, ref, note),
            self.place(loaded, place, self._day(date))))

    def change(self, action: Literal["start", "reopen", "cancel"], task_id: str, *,
               by: str | None = None, date: Day = None, ref: str | None = None,
               note: str | None = None) -> Outcome[Entry]:
        """A task (or each of its sub-rows) started, reopened or cancelled (`note` says why)."""
        # start-up: tracker.record, 7 ms, only for a recording
        from ocop_cli.tracker import record

        decision = {"start": record.start, "reopen": record.reopen,
                    "cancel": record.cancel}[action]
        return self._on_task(task_id, by, lambda loaded, states, who: decision(
            loaded, states, task_id, self._stamp(loaded, who, date, ref, note)))

    def note(self, task_id: str, text: str, *, by: str | None = None, date: Day = None,
             ref: str | None = None) -> Outcome[Entry]:
        """A note attached to a task."""
        # start-up: tracker.record, 7 ms, only for a recording
        from ocop_cli.tracker import record

        return self._on_task(task_id, by, lambda loaded, states, who: record.note(
            loaded, task_id, self._stamp(loaded, who, date, ref, text)))

    def undo(self, by: str | None = None) -> Outcome[Entry]:
        """The latest command of this office still in force taken back: an entry appended
        after each entry it wrote, reversing it."""
        # start-up: tracker.record, 7 ms, only for a recording (store.history with it)
        from ocop_cli.store.history import read_history_file
        from ocop_cli.tracker import record

        file = self.office(by).history

        def decide(loaded: Loaded, who: str) -> Outcome[Entry]:
            own = read_history_file(file)[0] if file.exists() else []
            return record.undo(loaded, self._stamp(loaded, who, None, None, None), own,
                               file.name)

        return self.record(decide, by)

    def import_progress(self, sheet: Sheet,
                        read: tuple[list[ProgressRow], list[RowProblem], list[str]],
                        by: str | None = None, dry_run: bool = False) -> Outcome[Entry]:
        """The rows `read` from a progress sheet recorded, all or none (see `_sheet`)."""
        # start-up: tracker.progress_sheet, 380 ms, only for a progress sheet
        from ocop_cli.tracker.progress_sheet import decide_progress

        rows = read[0]
        return self._sheet(sheet, read, lambda loaded, who: decide_progress(
            loaded, rows, who, self.as_of), by, "history", dry_run)

    def import_products(self, sheet: Sheet,
                        read: tuple[list[SheetRow], list[Any], list[str]],
                        by: str | None = None, dry_run: bool = False
                        ) -> Outcome[products.Line]:
        """The rows `read` from a district's product list recorded, all or none."""
        # start-up: tracker.product_views, 540 ms, only for a product sheet or score
        from ocop_cli.tracker import product_views, products

        def decide(loaded: Loaded, who: str) -> tuple[list[products.Line], list[str], list[Any]]:
            lines, rules, _warnings = products.load_register(loaded.workspace, loaded.directory)
            return product_views.decide_import(loaded.directory, lines, rules, read[0], who)

        return self._sheet(sheet, read, decide, by, "products", dry_run)

    def _sheet(self, sheet: Sheet, read: tuple[list[Any], list[Any], list[str]],
               decide: Callable[[Loaded, str], tuple[list[R], list[str], list[Any]]],
               by: str | None, book: Book, dry_run: bool) -> Outcome[R]:
        """A sheet's rows decided without the lock; refused, naming every row at fault, when
        one is wrong; what the sheet noticed, then what each row records, then the count."""
        # start-up: imports.tables, 415 ms, only for a sheet (tracker.record comes with it)
        from ocop_cli.imports import tables as imports
        from ocop_cli.tracker.record import Outcome

        rows, problems, notices = read

        def decided(loaded: Loaded, who: str) -> Outcome[R]:
            entries, messages, found = decide(loaded, who)
            if problems or found:
                raise imports.rejected(sheet.source, [*problems, *found])
            return Outcome(entries, messages)

        outcome = self.record(decided, by, book=book, ahead=True, dry_run=dry_run)
        outcome.messages[:0] = notices
        if dry_run:
            outcome.messages.append(_("Dry run: {n} entries from {rows} rows would be recorded; "
                                      "nothing was.").format(n=len(outcome.entries),
                                                             rows=len(rows)))
        else:
            outcome.messages.append(_("Recorded {n} entries from {rows} rows of {source} in "
                                      "{path}.").format(n=len(outcome.entries), rows=len(rows),
                                                        source=sheet.source, path=outcome.file))
        return outcome

    # --- the product register ----------------------------------------------------------------

    def _product_stamp(self, who: str, date: Day, ref: str | None, note: str | None
                       ) -> products.Stamp:
        # start-up: tracker.products, 25 ms, only for the product register
        from ocop_cli.tracker.products import Stamp

        return Stamp(self._day(date), who, ref, note)

    def _on_register(self, by: str | None, decide: Callable[
            [Loaded, list[products.Line], products.Rules, str],
            tuple[products.Line, list[str]]]) -> Outcome[products.Line]:
        """A line of the product register decided from the register as it is under the lock."""
        # start-up: tracker.products, 25 ms, only for the product register (tracker.record with it)
        from ocop_cli.tracker import products
        from ocop_cli.tracker.record import Outcome

        def decided(loaded: Loaded, who: str) -> Outcome[products.Line]:
            lines, rules, _warnings = products.load_register(loaded.workspace, loaded.directory)
            line, messages = decide(loaded, lines, rules, who)
            return Outcome([line], messages)

        return self.record(decided, by, book="products")

    def add_product(self, name: str, district: str, commune: str, entity: str, kind: str,
                    group: str, new: bool = False, *, by: str | None = None, date: Day = None,
                    ref: str | None = None, note: str | None = None) -> Outcome[products.Line]:
        """A product idea registered under a new id."""
        # start-up: tracker.products, 25 ms, only for the product register
        from ocop_cli.tracker import products

        def decide(loaded: Loaded, lines: list[products.Line], rules: products.Rules,
                   who: str) -> tuple[products.Line, list[str]]:
            line = products.register(lines, rules, self._product_stamp(who, date, ref, note),
                                     name, self.district(loaded, district, self._day(date)),
                                     commune, entity, kind, group, new)
            return line, [_("{id}  registered: {name} ({district})").format(
                id=line.product, name=line.name, district=loaded.directory.short(line.district))]

        return self._on_register(by, decide)

    def advance_product(self, product: str, stage: str, *, by: str | None = None,
                        date: Day = None, ref: str | None = None, note: str | None = None
                        ) -> Outcome[products.Line]:
        """A product moved on to its next stage."""
        # start-up: tracker.products, 25 ms, only for the product register
        from ocop_cli.tracker import products

        def decide(loaded: Loaded, lines: list[products.Line], rules: products.Rules,
                   who: str) -> tuple[products.Line, list[str]]:
            found = products.find(lines, product)
            line = products.advance(lines, rules, found, stage,
                                    self._product_stamp(who, date, ref, note))
            return line, [_("{id}: {stage} on {date}").format(
                id=found, stage=stage_label(stage), date=format_date(line.date))]

        return self._on_register(by, decide)

    def score_product(self, product: str, points: int | None, council: str, *,
                      sheets: Sequence[MemberSheet] = (), sheet_file: str | None = None,
                      failed: str | None = None, by: str | None = None, date: Day = None,
                      ref: str | None = None, note: str | None = None
                      ) -> Outcome[products.Line]:
        """A council's score, one total or each member's sheet (typed, or a file's rows); the
        stars follow from the decision in force on its date."""
        # start-up: tracker.product_views, 540 ms, only for a product sheet or score
        from ocop_cli.tracker import product_views, products

        def decide(loaded: Loaded, lines: list[products.Line], rules: products.Rules,
                   who: str) -> tuple[products.Line, list[str]]:
            found = products.find(lines, product)
            stamp = self._product_stamp(who, date, ref, note)
            members = product_views.score_sheets(sheet_file, rules, stamp.date) \
                if sheet_file else sheets
            line = products.score(lines, rules, found, stamp, council, points, members, failed)
            scored = products.products_as_of([*lines, line], rules, line.date)[found]
            return line, [_("{id}: {points} points from the {council}: {result}").format(
                id=found, points=line.points, council=council_label(council),
                result=product_views.score_words(scored))]

        return self._on_register(by, decide)

    def undo_product(self, product: str | None = None, by: str | None = None
                     ) -> Outcome[products.Line]:
        """The latest line of this office's own register file still in force (of one
        product) taken back."""
        # start-up: tracker.products, 25 ms, only for the product register
        from ocop_cli.tracker import products

        def decide(loaded: Loaded, lines: list[products.Line], rules: products.Rules,
                   who: str) -> tuple[products.Line, list[str]]:
            found = products.find(lines, product) if product else None
            own = self.office(by).products
            line = products.take_back(lines, self._product_stamp(who, None, None, None), found,
                                      f"{own.parent.name}/{own.name}")
            undone = next(x for x in lines if x.id == line.undoes)
            return line, [_("undid {stage} of {id} on {date} ({line})").format(
                stage=stage_label(undone.action), id=undone.product,
                date=format_date(undone.date), line=undone.id)]

        return self._on_register(by, decide)
