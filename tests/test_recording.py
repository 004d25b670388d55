"""Recording progress and reading the state back, as an office would over a plan year."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from helpers import recorded


@pytest.fixture
def sept(monkeypatch):
    monkeypatch.setenv("OCOP_AS_OF", "2019-09-15")


def overdue_leaves(ocop) -> dict[str, dict]:
    result = ocop("tasks", "--overdue", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return {t["id"]: t for t in result.json() if t["leaf"]}


def test_the_issue_scenario(ocop, sept):
    before = overdue_leaves(ocop)
    ended_before_september = {"1.1", "1.2", "3.1", "3.2", "3.3", "4", "5.1", "5.2"}
    assert set(before) == ended_before_september
    assert ocop("done", "5").exit_code == 0
    assert set(overdue_leaves(ocop)) == ended_before_september - {"5.1", "5.2"}
    result = ocop("progress", "1.2", "5", "--place", "Gia Lộc")
    assert result.exit_code == 0, result.stderr
    task = overdue_leaves(ocop)["1.2"]
    assert (task["achieved"], task["target"]["min"]) == (5, 12)
    assert (task["status"], task["timing"]) == ("in_progress", "overdue")
    assert ocop("undo").exit_code == 0
    task = overdue_leaves(ocop)["1.2"]
    assert (task["achieved"], task["status"]) == (0, "not_started")


def test_done_on_a_parent_says_which_sub_rows_and_fills_missing_quantities(ocop, sept):
    result = ocop("done", "5")
    assert "5.1, 5.2" in result.stdout
    assert "12 still missing" in result.stdout
    found = recorded(_ws(ocop))
    assert [(e["task"], e["action"], e["qty"]) for e in found] == [
        ("5.1", "done", 1), ("5.2", "done", 12)]


def _ws(ocop) -> Path:
    import os

    return Path(os.environ["OCOP_DATA"])


def test_done_twice_records_nothing_the_second_time(ocop, sept):
    assert ocop("done", "4").exit_code == 0
    again = ocop("done", "4")
    assert again.exit_code == 0
    assert "already done" in again.stdout
    assert len(recorded(_ws(ocop))) == 1


def test_entry_holds_who_when_what_and_proof(ocop, sept, ws):
    ocop("progress", "6", "3", "--place", "tu ky", "--ref", "45/BC-UBND", "--note", "đợt 1",
         "--date", "2019-09-10", "--by", "Phòng NN Tứ Kỳ")
    (entry,) = recorded(ws)
    assert entry["task"] == "6" and entry["action"] == "progress" and entry["qty"] == 3
    assert entry["place"] == "tu-ky" and entry["ref"] == "45/BC-UBND"
    assert entry["note"] == "đợt 1" and entry["date"] == "2019-09-10"
    assert entry["by"] == "Phòng NN Tứ Kỳ" and entry["id"] and entry["at"]


def test_recorder_defaults_to_ocop_user(ocop, sept, ws):
    ocop("start", "2")
    assert recorded(ws)[0]["by"] == "Tester"


def test_entries_after_the_as_of_date_do_not_count(ocop, sept):
    ocop("done", "4", "--date", "2019-10-01")
    assert overdue_leaves(ocop)["4"]["status"] == "not_started"
    later = ocop("tasks", "--as-of", "2019-10-02", "-f", "json").json()
    assert {t["id"]: t for t in later}["4"]["status"] == "done"


def test_range_target_is_met_at_its_minimum(ocop, sept):
    ocop("progress", "2", "14")
    assert {t["id"]: t for t in ocop("tasks", "-f", "json").json()}["2"]["status"] == "in_progress"
    ocop("progress", "2", "1")
    assert {t["id"]: t for t in ocop("tasks", "-f", "json").json()}["2"]["status"] == "done"


def test_task_without_target_is_done_only_when_marked(ocop, sept):
    ocop("start", "3.1")
    state = {t["id"]: t for t in ocop("tasks", "-f", "json").json()}
    assert state["3.1"]["status"] == "in_progress" and state["3"]["status"] == "in_progress"
    ocop("done", "3")
    state = {t["id"]: t for t in ocop("tasks", "-f", "json").json()}
    assert all(state[i]["status"] == "done" for i in ("3", "3.1", "3.2", "3.3"))
    assert state["3"]["timing"] is None


def test_cancel_reopen_and_note(ocop, sept):
    assert ocop("cancel", "9").exit_code == 2  # --note is required
    assert ocop("cancel", "9", "--note", "không bố trí được kinh phí").exit_code == 0
    state = {t["id"]: t for t in ocop("tasks", "-f", "json").json()}
    assert (state["9"]["status"], state["9"]["timing"]) == ("cancelled", None)
    assert ocop("progress", "9", "1").exit_code == 1
    assert ocop("reopen", "9").exit_code == 0
    assert ocop("note", "9", "bổ sung kinh phí").exit_code == 0
    shown = ocop("show", "9", "-f", "json").json()
    assert shown["status"] == "in_progress"
    assert [h["action"] for h in shown["history"]] == ["cancel", "reopen", "note"]


def test_undo_walks_back_and_stops_when_nothing_is_left(ocop, sept):
    ocop("progress", "7", "2")
    ocop("progress", "7", "3")
    assert ocop("undo").exit_code == 0
    assert {t["id"]: t for t in ocop("tasks", "-f", "json").json()}["7"]["achieved"] == 2
    assert ocop("undo").exit_code == 0
    assert {t["id"]: t for t in ocop("tasks", "-f", "json").json()}["7"]["achieved"] == 0
    result = ocop("undo")
    assert result.exit_code == 1 and "nothing to undo" in result.stderr


def test_undo_takes_back_every_entry_of_one_command_and_names_each(ocop, sept, ws):
    ocop("progress", "7", "2")
    assert ocop("done", "5").exit_code == 0
    assert len({e["command"] for e in recorded(ws) if e["task"] in ("5.1", "5.2")}) == 1
    result = ocop("undo", "--lang", "vi")
    assert result.exit_code == 0, result.stderr
    assert "hoàn thành 5.1, hoàn thành 5.2" in result.stdout
    state = {t["id"]: t for t in ocop("tasks", "-f", "json").json()}
    assert [state[i]["status"] for i in ("5.1", "5.2", "7")] == [
        "not_started", "not_started", "in_progress"]
    assert ocop("undo").exit_code == 0  # the command before it: alone
    assert {t["id"]: t for t in ocop("tasks", "-f", "json").json()}["7"]["achieved"] == 0
    assert "nothing to undo" in ocop("undo").stderr


def test_entries_without_a_command_id_undo_one_by_one(ocop, sept, ws):
    """Lines written before commands had ids: each is a command of its own."""
    from ocop_cli.core.model import Entry
    from ocop_cli.store.storage import Workspace
    from ocop_cli.store.write import append, recorder_file

    old = [Entry(id=f"0{n}", at=f"2019-09-0{n}T08:00:00.000000+00:00",
                 date=dt.date(2019, 9, n), task=task, action="done", by="Tester", qty=q)
           for n, task, q in ((1, "5.1", 1), (2, "5.2", 12))]
    append(recorder_file(Workspace(ws), "Tester"), old, inside=ws)
    assert "undid done on 5.2" in ocop("undo").stdout
    state = {t["id"]: t for t in ocop("tasks", "-f", "json").json()}
    assert (state["5.1"]["status"], state["5.2"]["status"]) == ("done", "not_started")


def test_history_says_undo_for_an_undo_entry_in_the_screens_language(ocop, sept):
    ocop("cancel", "9", "--note", "không tổ chức")
    ocop("undo")
    shown = ocop("history", "9", "--lang", "vi", "--format", "md").stdout
    assert [row.split(" | ")[2] for row in shown.splitlines()[2:]] == [
        "hủy (đã hoàn tác)", "hoàn tác"]


def test_an_office_records_in_its_own_file_whatever_by_names(ocop, sept, ws, monkeypatch):
    monkeypatch.setenv("OCOP_OFFICE", "tu-ky")
    result = ocop("progress", "5.2", "12", "--by", "Phòng NN Gia Lộc")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (ws / "history").iterdir()) == ["tu-ky.yaml"]
    assert [(e["task"], e["by"]) for e in recorded(ws)] == [("5.2", "Phòng NN Gia Lộc")]
    added = ocop("product", "add", "Gà", "--district", "Tứ Kỳ", "--commune", "Xã A",
                 "--entity", "HTX A", "--kind", "htx", "--group", "thuc-pham", "--by",
                 "Phòng NN Gia Lộc", "--date", "2019-07-10")
    assert added.exit_code == 0, added.stderr
    assert sorted(p.name for p in (ws / "products").iterdir()) == ["tu-ky.yaml"]
    info = ocop("info", "--format", "json").json()
    assert (info["office"], info["office_found_by"], info["office_file"]) == (
        "tu-ky", "configured", "history/tu-ky.yaml")


def test_undo_takes_back_only_this_offices_entries(ocop, sept, ws, monkeypatch):
    monkeypatch.setenv("OCOP_OFFICE", "tu-ky")
    ocop("progress", "6", "1", "--place", "Tứ Kỳ")
    monkeypatch.setenv("OCOP_OFFICE", "gia-loc")
    ocop("progress", "6", "1", "--place", "Gia Lộc")  # the latest in the workspace
    monkeypatch.setenv("OCOP_OFFICE", "tu-ky")
    assert "undid progress on 6" in ocop("undo").stdout
    places = ocop("show", "6", "-f", "json").json()["places"]
    assert {p["place"]: p["qty"] for p in places if p["qty"]} == {"Gia Lộc": 1}
    result = ocop("undo")
    assert result.exit_code == 1
    assert "nothing to undo in history/tu-ky.yaml" in result.stderr


@pytest.mark.parametrize("args, code", [
    (("done", "12"), 1), (("progress", "1.9", "2"), 1), (("progress", "6", "-3"), 2),
    (("progress", "6", "ba"), 2), (("progress", "6", "0"), 2), (("progress", "1", "2"), 2),
    (("done", "6", "--date", "31/09/2019"), 2), (("done", "6", "--place", "Hà Nội"), 1),
])
def test_bad_requests_change_nothing(ocop, sept, ws, args, code):
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in ws.rglob("*") if p.is_file()
              and ".ocop" not in p.parts}
    result = ocop(*args)
    assert result.exit_code == code
    assert "Traceback" not in result.stderr and result.stderr.strip()
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in ws.rglob("*") if p.is_file()
             and ".ocop" not in p.parts}
    assert before == after


def test_unknown_id_names_the_closest(ocop, sept):
    result = ocop("done", "1.3")
    assert result.exit_code == 1
    assert "1.2" in result.stderr


def test_plan_file_is_never_rewritten(ocop, sept, ws):
    plan = (ws / "plan_2019.yaml").read_bytes()
    for args in (("done", "5"), ("progress", "1.2", "4"), ("undo",), ("cancel", "9", "--note",
                 "x"), ("reopen", "9"), ("note", "2", "y"), ("start", "7")):
        assert ocop(*args).exit_code == 0
    assert (ws / "plan_2019.yaml").read_bytes() == plan


def test_show_gives_plan_data_state_places_and_history(ocop, sept):
    ocop("progress", "1.2", "5", "--place", "Gia Lộc")
    ocop("progress", "1.2", "1", "--place", "TP Hải Dương")
    shown = ocop("show", "1.2", "-f", "json").json()
    assert shown["achieved"] == 6 and shown["percent"] == 50.0
    places = {p["place"]: p["qty"] for p in shown["places"]}
    assert len(places) == 12 and places["Gia Lộc"] == 5 and places["Nam Sách"] == 0
    assert shown["section"] == "II.1" and len(shown["history"]) == 2
    table = ocop("show", "1.2")
    assert "Gia Lộc" in table.stdout and "Hội nghị cấp huyện" in table.stdout


def test_history_lists_entries_and_marks_undone(ocop, sept):
    ocop("progress", "6", "1")
    ocop("undo")
    rows = ocop("history", "6", "-f", "json").json()
    assert [(r["action"], r["undone"]) for r in rows] == [("progress", True), ("undo", False)]


def test_the_history_of_a_task_is_the_whole_history_narrowed(ocop, sept):
    """`history 5` reads only the entries under task 5; it lists what the whole history
    lists about 5, 5.1 and 5.2, in every format, undone marks included."""
    for args in (("progress", "5.2", "3"), ("progress", "1.2", "2"), ("note", "5",
                 "họp"), ("undo",), ("done", "5.1"), ("progress", "6", "1"),
                 ("progress", "5.2", "1", "--by", "Phòng NN Gia Lộc")):
        assert ocop(*args).exit_code == 0
    whole = ocop("history", "-f", "json").json()
    about = ocop("history", "5", "-f", "json").json()
    assert about == [r for r in whole if r["task"].split(".")[0] == "5"]
    assert [r["action"] for r in about] == ["progress", "note", "undo", "done", "progress"]
    for fmt in ("csv", "md", "table"):
        lines = ocop("history", "5", "-f", fmt).stdout.splitlines()
        assert sum("5.2" in line for line in lines) == 2, fmt


def test_place_filter(ocop, sept):
    ocop("progress", "7", "2", "--place", "Nam Sách")
    ids = [t["id"] for t in ocop("tasks", "--place", "nam sach", "-f", "json").json() if t["leaf"]]
    assert ids == ["1.2", "3.2", "5.2", "6", "7"]  # 3.2: each unit's own steering committee


def test_missing_workspace_says_how_to_create_it(ocop, tmp_path):
    result = ocop("tasks", "--data", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert "ocop init" in result.stderr


def test_half_written_last_entry_is_reported_and_ignored(ocop, sept, ws):
    ocop("progress", "6", "2")
    (path,) = (ws / "history").glob("*.yaml")
    with path.open("a", encoding="utf-8") as handle:
        handle.write('- {"id": "x", "at": "2019-09-15T00:00:00+00:00", "da')
    assert {t["id"]: t for t in ocop("tasks", "-f", "json").json()}["6"]["achieved"] == 2
    check = ocop("check")  # the file is damaged: an error there, whatever the others do
    assert check.exit_code == 3
    assert f"error: {path}:" in check.stderr and "half-written" in check.stderr
    assert ocop("progress", "6", "1").exit_code == 0
    assert {t["id"]: t for t in ocop("tasks", "-f", "json").json()}["6"]["achieved"] == 3


@pytest.mark.stress
def test_twenty_processes_on_one_task_leave_twenty_entries(ws, proc, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("OCOP_DATA", str(ws))
    monkeypatch.setenv("OCOP_AS_OF", "2019-09-15")
    monkeypatch.setenv("OCOP_LOCK_TIMEOUT", "120")  # a loaded CI machine must not turn into "busy"
    import os

    procs = [subprocess.Popen([sys.executable, "-m", "ocop_cli", "progress", "7", "1",
                               "--by", f"writer {i % 3}"], env=dict(os.environ),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for i in range(20)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 20, errors
    assert len(recorded(ws)) == 20
    result = proc("tasks", "-f", "json")
    assert {t["id"]: t for t in json.loads(result.stdout)}["7"]["achieved"] == 20
    assert {t["id"]: t for t in json.loads(result.stdout)}["7"]["status"] == "done"
