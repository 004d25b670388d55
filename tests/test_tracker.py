"""The library the commands call, used in-process without the command line: every recording
through `Tracker` comes back as one `Outcome` that says what was appended, and only that was."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from helpers import recorded

from ocop_cli.core.errors import InvalidData, Refused, UsageError
from ocop_cli.imports.progress import read_progress
from ocop_cli.imports.sheets import read_sheet
from ocop_cli.store.storage import Workspace
from ocop_cli.store.write import append, recorder_file
from ocop_cli.tracker.product_views import read_product_sheet
from ocop_cli.tracker.tracker import Tracker

ROOT = Path(__file__).resolve().parent.parent
PROGRESS = ROOT / "tests" / "fixtures" / "progress_2019.csv"
SEPT = dt.date(2019, 9, 15)


@pytest.fixture
def tracker(ws: Path) -> Tracker:
    return Tracker(Workspace(ws), as_of=SEPT)


def files(ws: Path) -> dict[str, bytes]:
    """Every data file of the workspace by its bytes (not `.ocop/`, the lock and index)."""
    return {str(p.relative_to(ws)): p.read_bytes() for p in sorted(ws.rglob("*"))
            if p.is_file() and ".ocop" not in p.parts}


def ids(outcome: Any) -> list[str]:
    return [e.id for e in outcome.entries]


def test_done_appends_what_its_outcome_says_to_the_recorders_own_file(tracker, ws):
    outcome = tracker.done("5", by="Phòng NN Gia Lộc", ref="12/BC")
    assert [(e.task, e.action, e.qty, e.by, e.ref) for e in outcome.entries] == [
        ("5.1", "done", 1, "Phòng NN Gia Lộc", "12/BC"), ("5.2", "done", 12, "Phòng NN Gia Lộc",
                                                         "12/BC")]
    assert outcome.file == ws / "history" / "phong-nn-gia-loc.yaml"
    assert [e["id"] for e in recorded(ws)] == ids(outcome)
    assert any("5.1, 5.2" in m for m in outcome.messages)
    again = tracker.done("5")
    assert again.entries == [] and "already done" in again.messages[-1]
    assert len(recorded(ws)) == 2


def test_progress_in_a_unit_counts_there_and_warns_past_its_share(tracker, ws):
    said: list[str] = []
    tracker.tell = said.append
    first = tracker.progress("1.2", 1, "gia loc", date="2019-07-05")
    assert [(e.task, e.qty, e.place, e.date) for e in first.entries] == [
        ("1.2", 1, "gia-loc", dt.date(2019, 7, 5))]
    assert said == ["--place 'gia loc': taken as Gia Lộc (Huyện Gia Lộc)"]
    assert first.warnings == []
    second = tracker.progress("1.2", 1, "Gia Lộc", date=dt.date(2019, 7, 6))
    assert second.warnings == ["1.2: 2 is more than the share of Gia Lộc, 1 (Hội nghị)"]
    state = tracker.states(tracker.load(), under="1.2")["1.2"]
    assert (state.achieved, state.places["gia-loc"]) == (2, 2)


def test_undo_appends_an_entry_that_reverses_the_latest(tracker, ws):
    done = tracker.progress("1.2", 5)
    undone = tracker.undo()
    assert [(e.action, e.undoes, e.task) for e in undone.entries] == [
        ("undo", done.entries[0].id, "1.2")]
    assert [e["id"] for e in recorded(ws)] == ids(done) + ids(undone)
    state = tracker.states(tracker.load(), under="1.2")["1.2"]
    assert (state.achieved, state.status) == (0, "not_started")


@pytest.mark.parametrize(("decide", "error"), [
    (lambda t: t.progress("9", 1), Refused),  # cancelled first, below
    (lambda t: t.progress("1", 1), UsageError),  # a parent: record on a sub-row
    (lambda t: t.done("4", date="31/09/2019"), UsageError),  # no such day
    (lambda t: t.note("4", "  "), UsageError),
    (lambda t: t.done("42"), Exception),  # no such task
])
def test_a_refused_decision_appends_nothing(tracker, ws, decide, error):
    tracker.change("cancel", "9", note="không bố trí được kinh phí")
    before = files(ws)
    with pytest.raises(error):
        decide(tracker)
    assert files(ws) == before


def test_undo_with_nothing_to_undo_is_refused_and_writes_nothing(tracker, ws):
    before = files(ws)
    with pytest.raises(Refused, match="nothing to undo"):
        tracker.undo()
    assert files(ws) == before


def test_import_progress_appends_every_row_or_on_a_dry_run_nothing(tracker, ws):
    sheet = read_sheet(PROGRESS)
    before = files(ws)
    dry = tracker.import_progress(sheet, read_progress(sheet), dry_run=True)
    assert len(dry.entries) == 6 and files(ws) == before
    assert dry.messages[-1] == ("Dry run: 6 entries from 6 rows would be recorded; nothing "
                                "was.")
    real = tracker.import_progress(sheet, read_progress(sheet), by="Chi cục PTNT")
    assert [(e.task, e.action) for e in real.entries] == [
        ("1.1", "done"), ("1.2", "progress"), ("1.2", "progress"), ("2", "start"),
        ("9", "cancel"), ("4", "done")]
    assert real.file == ws / "history" / "chi-cuc-ptnt.yaml"
    assert [e["id"] for e in recorded(ws)] == ids(real)
    assert real.messages[-1].startswith("Recorded 6 entries from 6 rows of ")


def test_a_sheet_with_a_wrong_row_records_none_of_its_rows(tracker, ws, tmp_path):
    bad = tmp_path / "bad.csv"
    text = PROGRESS.read_text(encoding="utf-8")
    bad.write_text(text.replace("2019-07-12,1.2", "2019-07-12,77"), encoding="utf-8")
    before = files(ws)
    sheet = read_sheet(bad)
    with pytest.raises(InvalidData, match="1 row at fault"):
        tracker.import_progress(sheet, read_progress(sheet))
    assert files(ws) == before


def test_a_sheet_decided_ahead_is_decided_again_when_someone_recorded_meanwhile(tracker, ws):
    """An office records while the sheet is decided without the lock: the rows are decided
    again under it, and both the office's entry and the sheet's are kept."""
    from ocop_cli.tracker import record

    calls = []

    def decide(loaded, who):
        calls.append(len(loaded.entries))
        if len(calls) == 1:  # another ocop appends between the decision and the lock
            office = record.Stamp(date=SEPT, by="Văn phòng", plan=2019)
            append(recorder_file(tracker.workspace, "Văn phòng"), [office.entry("4", "done")],
                   inside=tracker.workspace.root)
        stamp = record.Stamp(date=SEPT, by=who, plan=2019, as_of=SEPT)
        return record.done(loaded, tracker.states(loaded, under="4"), "4", stamp)

    outcome = tracker.record(decide, ahead=True)
    assert calls == [0, 1]
    assert outcome.entries == [] and "already done" in outcome.messages[0]
    assert [e["by"] for e in recorded(ws)] == ["Văn phòng"]


def test_products_are_registered_moved_on_and_taken_back(tracker, ws):
    added = tracker.add_product("Bánh gai", "Ninh Giang", "Hồng Phúc", "HTX Bánh gai", "htx",
                                "thuc-pham", date="2019-07-01")
    (line,) = added.entries
    assert (line.action, line.name, line.district) == ("registered", "Bánh gai", "ninh-giang")
    assert added.messages == [f"{line.product}  registered: Bánh gai (Ninh Giang)"]
    chosen = tracker.advance_product(line.product[3:], "chosen", date="2019-07-10")
    assert [(x.product, x.action) for x in chosen.entries] == [(line.product, "chosen")]
    undone = tracker.undo_product(line.product)
    assert [(x.action, x.undoes) for x in undone.entries] == [("undo", chosen.entries[0].id)]
    written = [json.loads(text[2:]) for text in added.file.read_text(encoding="utf-8")
               .splitlines() if text.startswith("- {")]
    assert [x["id"] for x in written] == [line.id, chosen.entries[0].id, undone.entries[0].id]
    assert added.file == chosen.file == ws / "products" / "tester.yaml"
    with pytest.raises(Refused):  # registered already, and not rejected
        tracker.add_product("Bánh Gai", "Ninh Giang", "Hồng Phúc", "HTX Bánh Gai", "htx",
                            "thuc-pham")
    assert [x["id"] for x in written] == [x["id"] for x in (
        json.loads(t[2:]) for t in added.file.read_text(encoding="utf-8").splitlines()
        if t.startswith("- {"))]


def test_a_product_list_is_imported_through_the_same_door(tracker, ws, tmp_path):
    sheet_file = tmp_path / "gia_loc.csv"
    sheet_file.write_text("name,district,commune,entity,kind,group\n"
                          "Bánh đa,Gia Lộc,Xã A,HTX A,htx,thuc-pham\n"
                          "Chè lam,Gia Lộc,Xã B,HTX B,htx,thuc-pham\n", encoding="utf-8")
    sheet = read_sheet(sheet_file)
    outcome = tracker.import_products(sheet, read_product_sheet(sheet, SEPT), by="Gia Lộc")
    assert [(x.action, x.name) for x in outcome.entries] == [
        ("registered", "Bánh đa"), ("registered", "Chè lam")]
    assert outcome.file == ws / "products" / "gia-loc.yaml"
    assert outcome.messages[-1].startswith("Recorded 2 entries from 2 rows of ")
