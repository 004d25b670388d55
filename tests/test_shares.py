"""Numbers an office can sign: each district unit its own share of a shared task, counts that
partition, roll-ups that never add different units, recording that says the truth, finding
by parent titles and by the district offices' names, and the plan's order."""

from __future__ import annotations

import datetime as dt
from typing import Any

from helpers import recorded
from hypothesis import given
from hypothesis import strategies as st
from test_properties import histories, plan, undo_of

from ocop_cli.core.directory import Directory
from ocop_cli.core.model import Entry
from ocop_cli.core.query import COUNTED, tally
from ocop_cli.core.state import NOT_KNOWN, state_as_of
from ocop_cli.store.documents import read_agencies
from ocop_cli.store.storage import bundled_dir
from ocop_cli.tracker.report import Roles, _involved
from ocop_cli.tracker.report import counts as roll_up

AS_OF = {"OCOP_AS_OF": "2019-09-15"}
UNITS = ["tp-hai-duong", "tp-chi-linh", "binh-giang", "cam-giang", "gia-loc", "kim-thanh",
         "kinh-mon", "nam-sach", "ninh-giang", "thanh-ha", "thanh-mien", "tu-ky"]


def gia_loc_case(ocop: Any) -> None:
    """The case of the issue: Gia Lộc held its conference, Tứ Kỳ too, and 4 more were
    reported without saying where."""
    for args in (("1.2", "1", "--place", "Gia Lộc"), ("1.2", "4"),
                 ("1.2", "1", "--place", "Tứ Kỳ")):
        assert ocop("progress", *args, env=AS_OF).exit_code == 0


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in rows}


# --- each unit its own share -----------------------------------------------------------------


def test_a_district_report_gives_its_own_share_with_the_whole_beside_it(ocop: Any) -> None:
    gia_loc_case(ocop)
    doc = ocop("report", "--agency", "Gia Lộc", "--format", "json", env=AS_OF).json()
    row = by_id(doc["tasks"])["1.2"]
    assert {k: row[k] for k in ("achieved", "percent", "status", "timing")} == {
        "achieved": 1, "percent": 100.0, "status": "done", "timing": None}
    assert (row["target"]["min"], row["target"]["max"], row["target"]["shown"]) == (1, 1, "1")
    assert row["target_text"] == "1" and row["place"] == "Gia Lộc"
    whole = row["whole"]
    assert (whole["target"]["min"], whole["target"]["shown"], whole["target_text"]) == (
        12, "12", "12")
    assert {k: whole[k] for k in ("achieved", "percent", "status", "timing", "unassigned")} == {
        "achieved": 6, "percent": 50.0, "status": "in_progress", "timing": "overdue",
        "unassigned": 4}
    # the same figures in `ocop tasks --place`, and in the report's table
    listed = by_id(ocop("tasks", "--place", "Gia Lộc", "--format", "json", env=AS_OF).json())
    assert listed["1.2"]["achieved"] == 1 and listed["1.2"]["status"] == "done"
    assert listed["1.2"]["whole"]["achieved"] == 6
    table = ocop("report", "--agency", "Gia Lộc", "--format", "md", env=AS_OF).stdout
    line = next(x for x in table.splitlines() if x.startswith("| 1.2 "))
    assert "| 1 | 1 | 100 |" in line.replace(".0 |", " |")
    # recorded on 15/09, after the window (T6,7): done 46 days late
    assert "done, 46 days late (whole: 6/12, in progress, overdue)" in line


def test_show_gives_each_unit_its_timing_as_a_listing_of_the_unit_does(ocop: Any) -> None:
    gia_loc_case(ocop)

    def units(lang: str) -> dict[str, str]:
        shown = ocop("show", "1.2", "--lang", lang, env=AS_OF).stdout
        rows = [[cell.strip() for cell in line.split("│")[1:-1]]
                for line in shown.splitlines() if line.startswith("│")]
        return {row[0]: row[2] for row in rows if len(row) == 3}  # the table "By district"

    assert {unit: units("en")[unit] for unit in ("Gia Lộc", "Tứ Kỳ", "Thanh Hà")} == {
        "Gia Lộc": "done, 46 days late", "Tứ Kỳ": "done, 46 days late",
        "Thanh Hà": "not started, overdue, 46 days late"}
    assert units("vi")["Thanh Hà"] == "chưa bắt đầu, quá hạn, muộn 46 ngày"
    listed = by_id(ocop("tasks", "--place", "Thanh Hà", "--format", "json", env=AS_OF).json())
    assert (listed["1.2"]["status"], listed["1.2"]["timing"]) == ("not_started", "overdue")


def test_the_count_line_of_a_units_listing_and_its_note_are_two_lines(ocop: Any) -> None:
    gia_loc_case(ocop)
    for lang, count, note in (
            ("en", "(as of 2019-09-15)", "Shared tasks show the share of Gia Lộc; the whole task "
             "in brackets."),
            ("vi", "(tính đến 15/09/2019)", "Nhiệm vụ chia theo đơn vị ghi phần của Gia Lộc; "
             "toàn tỉnh trong ngoặc.")):
        lines = ocop("tasks", "--place", "Gia Lộc", "--lang", lang, env=AS_OF).stdout.splitlines()
        at = next(i for i, line in enumerate(lines) if line.endswith(count))
        assert lines[at + 1] == note


def test_a_units_share_carries_its_own_proof_and_its_office_finds_it(ocop: Any) -> None:
    ocop("progress", "1.2", "1", "--place", "Gia Lộc", "--ref", "45/BC-UBND", env=AS_OF)
    ocop("progress", "1.2", "1", "--place", "Tứ Kỳ", "--ref", "77/BC-UBND", env=AS_OF)
    for who in ("Gia Lộc", "Phòng NN Gia Lộc"):
        rows = by_id(ocop("tasks", "--place", who, "--format", "json", env=AS_OF).json())
        assert rows["1.2"]["place"] == "Gia Lộc" and rows["1.2"]["achieved"] == 1, who
    doc = ocop("report", "--agency", "Gia Lộc", "--format", "json", env=AS_OF).json()
    assert by_id(doc["tasks"])["1.2"]["ref"] == "45/BC-UBND"  # not Tứ Kỳ's, the latest


def test_a_unit_nobody_named_is_not_known_when_the_whole_is_done(ocop: Any) -> None:
    result = ocop("done", "5", env=AS_OF)
    assert "5.2: 12 units have no record and will read \"not known\"" in result.stdout
    doc = ocop("report", "--format", "json", env=AS_OF).json()
    place = by_id(doc["places"])["5.2"]
    assert place["not_by_unit"] == 12 and place["units_not_known"] == 12
    assert all(u["done"] is None and u["status"] is None and u["qty"] is None
               for u in place["units"])
    mine = by_id(ocop("report", "--agency", "Gia Lộc", "--format", "json", env=AS_OF)
                 .json()["tasks"])["5.2"]
    assert mine["status"] is None and mine["achieved"] is None and mine["percent"] is None
    assert mine["whole"]["status"] == "done"
    table = ocop("report", "--format", "md", env=AS_OF).stdout
    row = next(x for x in table.splitlines() if x.startswith("| 5.2 ") and "Gia Lộc" in x)
    cells = [c.strip() for c in row.split("|")]
    assert cells[6] == "" and "Gia Lộc" in cells[7]  # not under "Not yet": under "Not known"
    shown = ocop("show", "5.2", "--format", "json", env=AS_OF).json()
    assert shown["unassigned"] == 12
    assert {p["place"]: p["qty"] for p in shown["places"]}["Gia Lộc"] is None


def test_done_without_a_place_names_the_units_without_a_record(ocop: Any, ws: Any) -> None:
    for unit in ("Gia Lộc", "Tứ Kỳ", "Nam Sách", "Kim Thành", "Thanh Hà"):
        ocop("progress", "1.2", "1", "--place", unit, env=AS_OF)
    result = ocop("done", "1.2", env=AS_OF)
    assert "recorded the 7 still missing" in result.stdout
    assert "the 7 recorded now name no unit" in result.stdout
    assert ("7 units have no record and will read \"not known\": TP Hải Dương, TP Chí Linh, "
            "Bình Giang, Cẩm Giàng, Kinh Môn, Ninh Giang, Thanh Miện") in result.stdout
    last = recorded(ws)[-1]
    assert last["action"] == "done" and last["qty"] == 7 and "place" not in last


def test_done_with_a_place_records_that_units_share(ocop: Any, ws: Any) -> None:
    result = ocop("done", "1.2", "--place", "Phòng NN Gia Lộc", env=AS_OF)
    assert result.exit_code == 0, result.stderr
    assert "1.2 done in Gia Lộc" in result.stdout
    assert "Gia Lộc 1 / 1 Hội nghị, done; whole 1 / 12 Hội nghị, in progress" in result.stdout
    last = recorded(ws)[-1]
    assert (last["qty"], last["place"]) == (1, "gia-loc")  # the office records its unit
    again = ocop("done", "1.2", "--place", "Gia Lộc", env=AS_OF)
    assert "already done" in again.stdout and len(recorded(ws)) == 1
    doc = ocop("show", "1.2", "--format", "json", env=AS_OF).json()
    assert doc["status"] == "in_progress" and doc["achieved"] == 1


def test_a_district_duty_without_quantity_is_each_units_own(ocop: Any) -> None:
    ocop("done", "3.2", "--place", "Gia Lộc", env=AS_OF)
    mine = by_id(ocop("tasks", "--place", "Gia Lộc", "--format", "json", env=AS_OF).json())
    assert mine["3.2"]["status"] == "done" and mine["3.2"]["whole"]["status"] == "in_progress"
    theirs = by_id(ocop("tasks", "--place", "Tứ Kỳ", "--format", "json", env=AS_OF).json())
    assert theirs["3.2"]["status"] == "not_started" and theirs["3.2"]["timing"] == "overdue"
    for unit in UNITS:
        ocop("done", "3.2", "--place", unit, env=AS_OF)
    whole = ocop("show", "3.2", "--format", "json", env=AS_OF).json()
    assert whole["status"] == "done"  # every unit done: the whole is done


def test_a_done_for_the_whole_duty_leaves_the_silent_units_not_known(ocop: Any) -> None:
    ocop("done", "3.2", "--place", "Gia Lộc", env=AS_OF)
    ocop("done", "3.2", env=AS_OF)
    units = by_id(ocop("report", "--format", "json", env=AS_OF).json()["places"])["3.2"]["units"]
    status = {u["id"]: u["done"] for u in units}
    assert status["gia-loc"] is True
    assert [u for u, done in status.items() if done is None] == [u for u in UNITS
                                                                   if u != "gia-loc"]


# --- totals that add up ----------------------------------------------------------------------


def test_count_lines_partition_and_name_cancelled_tasks(ocop: Any) -> None:
    ocop("done", "5", env=AS_OF)
    ocop("progress", "1.2", "5", env=AS_OF)
    ocop("cancel", "9", "--note", "không bố trí được kinh phí", env=AS_OF)
    result = ocop("tasks", env={**AS_OF, "COLUMNS": "200"})
    footer = result.stdout.strip().splitlines()[-1]
    assert footer.startswith("15 tasks: 2 done, 1 in progress, 11 not started, 1 cancelled; "
                             "12 open: 6 overdue, 6 due")


def test_a_parent_agrees_with_the_rows_listed_under_it(ocop: Any) -> None:
    ocop("progress", "1.2", "1", "--place", "Gia Lộc", env=AS_OF)
    rows = by_id(ocop("tasks", "--place", "Gia Lộc", "--format", "json", env=AS_OF).json())
    # 1.1 (overdue) is not Gia Lộc's: parent 1 reads as its listed sub-row, 1.2, done
    assert rows["1"]["status"] == "done" and rows["1"]["timing"] is None


def test_roll_ups_count_tasks_and_leave_cancelled_ones_out(ocop: Any) -> None:
    ocop("done", "1.1", env=AS_OF)
    ocop("cancel", "9", "--note", "không bố trí được kinh phí", env=AS_OF)
    doc = ocop("report", "--format", "json", env=AS_OF).json()
    bcd = next(a for a in doc["agencies"] if a["agency"] == "BCĐ tỉnh")["lead"]
    assert bcd["cancelled"] == 1 and bcd["counted"] == bcd["tasks"] - 1
    assert bcd["quantity_tasks"] == 1  # task 8 only: 9 is cancelled
    assert bcd["target"] == 12 and bcd["unit"] == "Sản phẩm"
    so_nn = next(a for a in doc["agencies"] if a["agency"] == "Sở NN và PTNT")["lead"]
    assert so_nn["achieved"] is None and so_nn["target"] is None  # conferences, classes, HTX…
    assert so_nn["percent"] == round(100 * so_nn["done"] / so_nn["counted"], 1)
    for counts in (bcd, so_nn):
        assert sum(counts[k] for k in COUNTED) == counts["tasks"]
        assert counts["overdue"] + counts["due"] + counts["upcoming"] == counts["open"]


# --- recording says the truth ----------------------------------------------------------------


def test_recording_shows_the_state_on_the_as_of_date_and_warns(ocop: Any) -> None:
    gia_loc_case(ocop)
    result = ocop("progress", "1.2", "100", "--place", "Gia Lộc", "--date", "2020-01-05",
                  env=AS_OF)
    assert result.exit_code == 0
    assert "as of 2019-09-15: Gia Lộc 1 / 1 Hội nghị, done; whole 6 / 12 Hội nghị" \
        in result.stdout
    warnings = result.stderr.splitlines()
    assert warnings == [
        "warning: the entry is dated 2020-01-05, after the as-of date 2019-09-15: it does not "
        "count in the state as of 2019-09-15",
        "warning: the entry is dated 2020-01-05, outside the plan's year 2019",
        "warning: 1.2: 106 is more than the target 12 (Hội nghị)",
        "warning: 1.2: 101 is more than the share of Gia Lộc, 1 (Hội nghị)"]
    early = ocop("progress", "4", "1", "--date", "2019-06-01", env=AS_OF)
    assert early.stderr == ("warning: the entry is dated 2019-06-01, before the plan was "
                            "signed (2019-06-07)\n")
    calm = ocop("progress", "6", "1", "--place", "Gia Lộc", env=AS_OF)
    assert calm.stderr == ""


# --- finding ---------------------------------------------------------------------------------


def test_grep_matches_parent_titles_and_notes(ocop: Any) -> None:
    def found(text: str) -> list[str]:
        return [t["id"] for t in ocop("tasks", "--grep", text, "--format", "json",
                                      env=AS_OF).json() if t["leaf"]]

    assert found("tap huan") == ["5.1", "5.2", "6"]
    assert found("hoi nghi trien khai") == ["1.1", "1.2"]
    assert found("kiem toan") == ["3.1", "3.2", "3.3"]
    ocop("note", "7", "đã có 3 lớp ở Thanh Hà", env=AS_OF)
    assert found("3 lop o thanh ha") == ["7"]


def test_a_name_not_typed_exactly_says_which_agency_it_took(ocop: Any) -> None:
    result = ocop("tasks", "--agency", "Sở Tài Chín", "--format", "json", env=AS_OF)
    assert result.exit_code == 0
    assert result.stderr == "--agency 'Sở Tài Chín': taken as Sở Tài chính (Sở Tài chính)\n"
    assert ocop("tasks", "--agency", "Sở Tài chính", env=AS_OF).stderr == ""


def test_a_name_that_fits_several_agencies_lists_them_once(ocop: Any) -> None:
    result = ocop("tasks", "--agency", "Sở", env=AS_OF)
    assert result.exit_code == 1
    message, hint = result.stderr.splitlines()
    assert message == (
        "ocop: error: 'Sở' fits several agencies: Các sở, ban, ngành liên quan, các tổ chức "
        "chính trị - xã hội; Các sở, ngành, đoàn thể tỉnh; Các sở, ngành, đoàn thể trong BCĐ "
        "tỉnh; Sở Công Thương; Sở KH và CN; Sở KH và ĐT; Sở NN và PTNT; Sở Tài chính; Sở TT và "
        "TT; Sở VHTTDL; Sở Y tế")
    assert hint == "ocop: Give more of the name."
    assert ocop("tasks", "--agency", "Sở", "--lang", "vi", env=AS_OF).stderr.splitlines()[1] \
        == "ocop: Hãy ghi đầy đủ tên hơn."


def test_the_district_offices_are_agencies_of_their_unit() -> None:
    directory, problems = read_agencies(bundled_dir() / "agencies.yaml")
    assert directory is not None, problems
    group = directory.get("phong-nn-ptnt-huyen")
    assert len(group.members) == 12
    assert sorted(directory.unit_of(m) or "" for m in group.members) == sorted(UNITS)
    assert directory.resolve("Phòng NN Gia Lộc").id == "phong-nn-ptnt-gia-loc"
    assert directory.resolve("Phòng Kinh tế TP Chí Linh").part_of == "tp-chi-linh"


def test_a_district_office_reads_its_groups_tasks(ocop: Any) -> None:
    doc = ocop("report", "--agency", "Phòng NN Gia Lộc", "--format", "json", env=AS_OF).json()
    assert doc["agency"]["short"] == "Phòng NN và PTNT Gia Lộc"
    assert [(t["id"], t["role"]) for t in doc["tasks"]] == [("8", "partner")]


# --- properties --------------------------------------------------------------------------------


def directory() -> Directory:
    found, problems = read_agencies(bundled_dir() / "agencies.yaml")
    assert found is not None, problems
    return found


def with_undos(entries: list[Entry], picks: list[int]) -> list[Entry]:
    return entries + [undo_of(entries[i % len(entries)], n)
                      for n, i in enumerate(picks)] if entries else entries


@given(histories(), st.lists(st.integers(0, 100), max_size=4),
       st.dates(dt.date(2019, 6, 1), dt.date(2020, 3, 1)), st.data())
def test_units_and_the_unassigned_quantity_add_up_to_the_whole(
        entries: list[Entry], picks: list[int], as_of: dt.date, data: st.DataObject) -> None:
    """For any entries with and without places, undos and cancels: the units' quantities plus
    what names no unit are the whole's; every count line sums to its total; no roll-up adds
    quantities of different units."""
    the_plan = plan()
    places = st.sampled_from([None, "gia-loc", "tu-ky", "phong-nn-ptnt-huyen"])
    entries = [e._replace(place=data.draw(places)) if e.action in ("done", "start") else e
               for e in entries]  # a unit's done or start without a quantity too
    states = state_as_of(the_plan, with_undos(entries, picks), as_of)
    for task in the_plan.leaves():
        state = states[task.id]
        if task.shared_by:
            assert sum(state.places.get(u, 0) for u in task.shared_by) + state.unassigned \
                == state.achieved
            assert set(state.units) == set(task.shared_by)
            if NOT_KNOWN in state.units.values():
                assert state.status == "done"
            if state.status == "cancelled":
                assert set(state.units.values()) == {"cancelled"}
    leaves = [states[t.id] for t in the_plan.leaves()]
    counts = tally(leaves)
    assert sum(counts[k] for k in COUNTED) == counts["tasks"] == len(leaves)
    assert counts["overdue"] + counts["due"] + counts["upcoming"] == counts["open"]
    for lead, partner in _involved(the_plan, states, Roles(directory())).values():
        for group in (lead, partner):
            roll = roll_up(group, the_plan, as_of)
            assert sum(getattr(roll, k) for k in COUNTED) == roll.tasks
            live = [s for s in group if s.status != "cancelled" and s.task.target]
            if len({s.task.unit for s in live}) > 1:
                assert roll.achieved is None and roll.target is None
            elif live:
                assert roll.target == sum(s.task.target.min for s in live if s.task.target)


def test_a_progress_sheet_row_past_a_units_share_is_recorded_with_a_warning(
        ocop: Any, ws: Any, tmp_path: Any) -> None:
    sheet = tmp_path / "tien_do.csv"
    sheet.write_text("date,task,action,quantity,place,by,ref,note\n"
                     "2019-07-05,1.2,progress,2,Gia Lộc,,,\n", encoding="utf-8")
    result = ocop("import", "progress", str(sheet), env=AS_OF)
    assert result.exit_code == 0, result.stderr
    assert "row 2: warning: 1.2: 2 is more than the share of Gia Lộc, 1 (Hội nghị)" \
        in result.stdout
    assert [(e["qty"], e["place"]) for e in recorded(ws)] == [(2, "gia-loc")]


def test_a_units_period_report_and_agency_counts_are_its_own(ocop: Any) -> None:
    gia_loc_case(ocop)
    doc = ocop("report", "--agency", "Gia Lộc", "--period", "2019-Q3", "--format", "json",
               env=AS_OF).json()
    row = by_id(doc["achieved"])["1.2"]
    assert (row["qty"], row["achieved"], row["status"], row["places"]) == (
        1, 1, "done", ["Gia Lộc"])  # its own entry, not Tứ Kỳ's or the unassigned 4
    agencies = {a["id"]: a for a in ocop("agencies", "--format", "json", env=AS_OF).json()}
    # 1.2 is done for Gia Lộc and overdue for Thanh Hà, which has not held its conference
    assert agencies["thanh-ha"]["overdue"] == agencies["gia-loc"]["overdue"] + 1
    assert agencies["phong-nn-ptnt-gia-loc"]["partner"] == 1


def test_a_parent_adds_quantities_only_of_one_unit(ocop: Any, ws: Any) -> None:
    """Task 1's sub-rows both count conferences: task 1 shows their sum. Once one of them
    counts classes, task 1 has no quantity of its own, in the listing and in `show`."""
    assert ocop("progress", "1.1", "1").exit_code == 0
    assert ocop("progress", "1.2", "3").exit_code == 0

    def parent() -> tuple[Any, Any]:
        row = next(t for t in ocop("tasks", "--format", "json").json() if t["id"] == "1")
        return row["achieved"], ocop("show", "1", "--format", "json").json()

    achieved, shown = parent()
    assert achieved == shown["achieved"] == 4
    plan = ws / "plan_2019.yaml"
    text = plan.read_text(encoding="utf-8")
    first = text.index('id: "1.2"')
    plan.write_text(text[:first] + text[first:].replace("unit: Hội nghị", "unit: Lớp", 1),
                    encoding="utf-8")
    achieved, shown = parent()
    assert achieved is None and shown["achieved"] is None
    assert shown["places"] == []
    assert "Achieved" not in ocop("show", "1").stdout
