"""`ocop report`, `ocop timeline`, `ocop agencies`: figures checked against the plan's own
data, periods, the per-district breakdown, and a 1,000-task plan in an 80-column terminal."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ocop_cli.core.errors import EXIT_NOT_FOUND, EXIT_USAGE, UsageError
from ocop_cli.core.report import parse_period
from ocop_cli.core.text import fold

ROOT = Path(__file__).resolve().parent.parent
AS_OF = {"OCOP_AS_OF": "2019-09-15"}
SO_NN = "Sở NN và PTNT"


def plan_data(ws: Path) -> dict[str, Any]:
    return yaml.safe_load((ws / "plan_2019.yaml").read_text(encoding="utf-8"))


def spellings_of(ws: Path, agency_id: str) -> set[str]:
    agencies = yaml.safe_load((ws / "agencies.yaml").read_text(encoding="utf-8"))["agencies"]
    found = next(a for a in agencies if a["id"] == agency_id)
    return {fold(s) for s in (found["short"], found["name"], *found.get("aliases", []))}


def leaves(plan: dict[str, Any]) -> list[dict[str, Any]]:
    ids = {t["id"] for t in plan["tasks"]}
    return [t for t in plan["tasks"] if not any(i.startswith(t["id"] + ".") for i in ids)]


def window_span(text: str) -> tuple[int, int]:
    months = [int(n) for n in re.findall(r"\d+", text)]
    return min(months), max(months)


def target_of(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    low, _, high = str(text).partition("-")
    return int(low), int(high or low)


def test_agency_report_gives_every_figure_of_its_tasks(ocop: Any, ws: Path) -> None:
    """The done-when of the issue: after `done 5` and `progress 1.2 5`, every task where Sở NN
    và PTNT leads or partners, with status, achieved, target and percentage as the plan and
    those two commands make them."""
    assert ocop("done", "5", env=AS_OF).exit_code == 0
    assert ocop("progress", "1.2", "5", env=AS_OF).exit_code == 0
    result = ocop("report", "--agency", SO_NN, "--format", "json", env=AS_OF)
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    assert doc["report"] == "agency" and doc["as_of"] == "2019-09-15"
    assert doc["agency"]["short"] == SO_NN

    names = spellings_of(ws, "so-nn-ptnt")
    expected: dict[str, dict[str, Any]] = {}
    for task in leaves(plan_data(ws)):
        lead = fold(task.get("lead") or "") in names
        partner = any(fold(p) in names for p in task.get("partners", []))
        if not (lead or partner):
            continue
        target = target_of(task.get("target"))
        if task["id"].startswith("5."):
            achieved, status = target[0] if target else 0, "done"
        elif task["id"] == "1.2":
            achieved, status = 5, "in_progress"
        else:
            achieved, status = 0, "not_started"
        first, last = window_span(task["window"])
        timing = (None if status == "done" else "overdue" if last < 9 else
                  "upcoming" if first > 9 else "due")
        expected[task["id"]] = {
            "role": "lead" if lead else "partner", "status": status, "timing": timing,
            "achieved": achieved,
            "target": {"min": target[0], "max": target[1], "qualifier": None, "kind": "count",
                       "shown": f"{target[0]}-{target[1]}" if target[0] != target[1]
                       else str(target[0])} if target else None,
            "percent": round(100 * achieved / target[0], 1) if target else None,
        }
    got = {row["id"]: row for row in doc["tasks"]}
    assert set(got) == set(expected)
    assert len(expected) >= 10  # the agency takes part in most of the plan
    for task_id, want in expected.items():
        row = got[task_id]
        assert {k: row[k] for k in want} == want, task_id
    assert got["1.2"]["percent"] == pytest.approx(41.7)
    # in the plan's order (TT), as an office files them
    plan_order = [t["id"] for t in ocop("tasks", "--format", "json", env=AS_OF).json()
                  if t["leaf"]]
    ids = [r["id"] for r in doc["tasks"]]
    assert ids == [i for i in plan_order if i in ids]
    # --sort urgency: overdue first, then due, then the rest; done ones last
    urgent = ocop("report", "--agency", SO_NN, "--sort", "urgency", "--format", "json",
                  env=AS_OF).json()
    order = [(r["timing"], r["status"]) for r in urgent["tasks"]]
    rank = [0 if t == "overdue" else 1 if t == "due" else 3 if s == "done" else 2
            for t, s in order]
    assert rank == sorted(rank) and rank != [0 if t == "overdue" else 1 if t == "due" else
                                             3 if s == "done" else 2 for t, s in
                                             ((r["timing"], r["status"]) for r in doc["tasks"])]
    assert doc["duties"] and all(d["agency"] == SO_NN for d in doc["duties"])


def test_agency_report_counts_a_district_through_its_group(ocop: Any) -> None:
    result = ocop("report", "--agency", "gia loc", "--format", "json", env=AS_OF)
    assert result.exit_code == 0, result.stderr
    doc = result.json()
    roles = {row["id"]: row["role"] for row in doc["tasks"]}
    assert roles["1.2"] == "partner"  # "BCĐ các huyện, TP" partners the district conferences
    assert roles["3.2"] == "lead"  # "BCĐ cấp huyện" leads it
    assert any(d["agency"] == "UBND các huyện, thành phố" for d in doc["duties"])


def test_unknown_agency_is_named_in_the_error(ocop: Any) -> None:
    result = ocop("report", "--agency", "Sở Không Có", env=AS_OF)
    assert result.exit_code == EXIT_NOT_FOUND
    assert "Sở Không Có" in result.stderr and "Traceback" not in result.stderr


def test_overview_counts_agree_with_the_task_listing(ocop: Any) -> None:
    ocop("progress", "1.2", "5", env=AS_OF)
    doc = ocop("report", "--format", "json", env=AS_OF).json()
    assert doc["report"] == "overview"
    listed = ocop("tasks", "--agency", SO_NN, "--format", "json", env=AS_OF).json()
    mine = [t for t in listed if t["leaf"]]
    row = next(a for a in doc["agencies"] if a["agency"] == SO_NN)
    assert row["lead"]["tasks"] + row["partner"]["tasks"] == len(mine)
    for key in ("overdue", "due", "upcoming"):
        both = row["lead"][key] + row["partner"][key]
        assert both == sum(1 for t in mine if t["timing"] == key), key
    assert row["lead"]["in_progress"] == 1
    # the matrix counts, month by month, the open tasks `ocop tasks --month` lists
    cells = next(r for r in doc["matrix"]["rows"] if r["agency"] == SO_NN)["cells"]
    for cell in cells:
        month_list = ocop("tasks", "--agency", SO_NN, "--month", str(cell["month"]),
                          "--format", "json", env=AS_OF).json()
        open_tasks = [t for t in month_list if t["leaf"] and t["status"] in
                      ("not_started", "in_progress")]
        assert cell["open"] == len(open_tasks), cell
        assert cell["overdue"] == sum(1 for t in open_tasks if t["timing"] == "overdue")
    # overdue tasks: in the plan's order; with --sort urgency, the oldest window first
    assert all(t["timing"] == "overdue" for t in doc["overdue"])
    ids = [t["id"] for t in doc["overdue"]]
    every = ocop("tasks", "--format", "json", env=AS_OF).json()
    assert ids == [t["id"] for t in every if t["id"] in ids and t["leaf"]]
    urgent = ocop("report", "--sort", "urgency", "--format", "json", env=AS_OF).json()
    ends = [max(t["months"]) for t in urgent["overdue"]]
    assert ends == sorted(ends) and ends != [max(t["months"]) for t in doc["overdue"]]


def test_overview_lists_agencies_as_the_table_names_them(ocop: Any) -> None:
    doc = ocop("report", "--format", "json", env=AS_OF).json()
    named = {a["agency"] for a in doc["agencies"]}
    assert {"BCĐ huyện, TP", SO_NN, "UBND tỉnh"} <= named
    assert "Gia Lộc" not in named  # a member of the district group: see --agency "Gia Lộc"


def test_period_report_counts_only_entries_dated_inside(ocop: Any) -> None:
    ocop("progress", "1.2", "3", "--date", "2019-07-10", "--place", "Gia Lộc", env=AS_OF)
    ocop("progress", "1.2", "2", "--date", "2019-09-02", env=AS_OF)
    ocop("progress", "6", "4", "--date", "2019-07-20", env=AS_OF)
    ocop("undo", env=AS_OF)  # takes the task 6 entry out
    july = ocop("report", "--period", "2019-07", "--format", "json", env=AS_OF).json()
    assert july["period"] == {"label": "2019-07", "start": "2019-07-01", "end": "2019-07-31",
                              "cut": "calendar"}
    achieved = {row["id"]: row for row in july["achieved"]}
    assert set(achieved) == {"1.2"}
    assert achieved["1.2"]["qty"] == 3 and achieved["1.2"]["achieved"] == 5
    assert achieved["1.2"]["places"] == ["Gia Lộc"]
    # due in July: the windows that end in July (T6,7)
    assert [row["id"] for row in july["due"]] == ["1.2"]
    assert {row["id"] for row in july["late"]} >= {"1.1", "1.2", "4"}
    assert ocop("report", "--month", "7", "--format", "json", env=AS_OF).json() == july
    q3 = ocop("report", "--period", "2019-Q3", "--format", "json", env=AS_OF).json()
    assert {row["id"]: row["qty"] for row in q3["achieved"]} == {"1.2": 5}
    due_q3 = {row["id"] for row in q3["due"]}
    assert {"1.2", "4", "5.1", "5.2", "6"} <= due_q3 and "2" not in due_q3


def test_period_report_rows_made_as_read_are_those_sorted_at_once(ocop: Any) -> None:
    def by_id(row: dict[str, Any]) -> str:
        return str(row["id"])

    # In plan order the rows are made as the JSON reads them; by urgency, all at once.
    ocop("progress", "1.2", "3", "--date", "2019-07-10", "--place", "Gia Lộc", env=AS_OF)
    ocop("done", "4", "--date", "2019-08-01", env=AS_OF)
    lazy = ocop("report", "--period", "2019-Q3", "--format", "json", env=AS_OF).json()
    eager = ocop("report", "--period", "2019-Q3", "--format", "json", "--sort", "urgency",
                 env=AS_OF).json()
    for key in ("due", "late"):  # the same rows, in another order
        assert lazy[key] and sorted(lazy[key], key=by_id) == sorted(eager[key], key=by_id)
    assert [row["id"] for row in lazy["achieved"]] == ["1.2", "4"]
    assert lazy["achieved"] == eager["achieved"]
    # A period with nothing recorded: an empty list, as before.
    quiet = ocop("report", "--period", "2019-Q1", "--format", "json", env=AS_OF)
    assert '"achieved": []' in quiet.stdout and quiet.json()["achieved"] == []


def test_period_report_narrowed_to_an_agency(ocop: Any) -> None:
    doc = ocop("report", "--period", "2019-H2", "--agency", "UBND tỉnh", "--format", "json",
               env=AS_OF).json()
    assert doc["report"] == "period" and doc["agency"]["short"] == "UBND tỉnh"
    assert [row["id"] for row in doc["late"]] == ["1.1"]


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2019-07", "2019-07-01", "2019-07-31"), ("2019-7", "2019-07-01", "2019-07-31"),
    ("2019-Q3", "2019-07-01", "2019-09-30"), ("2019-q1", "2019-01-01", "2019-03-31"),
    ("2019-H2", "2019-07-01", "2019-12-31"), ("2019-h1", "2019-01-01", "2019-06-30"),
    ("2019", "2019-01-01", "2019-12-31"), (" 2020-02 ", "2020-02-01", "2020-02-29"),
])
def test_periods(text: str, start: str, end: str) -> None:
    period = parse_period(text)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


@pytest.mark.parametrize(("text", "says"), [
    ("2019-13", "month 13"), ("2019-00", "month 0"), ("2019-Q5", "quarter 5"),
    ("2019-Q0", "quarter 0"), ("2019-H3", "half 3"), ("July", "2019-Q3"), ("", "2019-07"),
    ("19-07", "2019-H2"), ("2019-07-01", "is not a period"),
])
def test_bad_periods_say_what_is_expected(text: str, says: str) -> None:
    with pytest.raises(UsageError, match=re.escape(says)):
        parse_period(text)


@pytest.mark.parametrize(("period", "vi", "en"), [
    ("2019-07", "Tháng 7/2019, từ 01/07/2019 đến 31/07/2019",
     "2019-07, from 2019-07-01 to 2019-07-31"),
    ("2019-Q3", "Quý III/2019, từ 01/07/2019 đến 30/09/2019",
     "2019-Q3, from 2019-07-01 to 2019-09-30"),
    ("2019-h1", "6 tháng đầu năm 2019, từ 01/01/2019 đến 30/06/2019",
     "2019-H1, from 2019-01-01 to 2019-06-30"),
    ("2019-H2", "6 tháng cuối năm 2019, từ 01/07/2019 đến 31/12/2019",
     "2019-H2, from 2019-07-01 to 2019-12-31"),
    ("2019", "Năm 2019, từ 01/01/2019 đến 31/12/2019", "2019, from 2019-01-01 to 2019-12-31"),
])
def test_a_vietnamese_page_names_the_period_as_officials_write_it(
        ocop: Any, period: str, vi: str, en: str) -> None:
    def line(lang: str, *fmt: str) -> str:
        shown = ocop("report", "--period", period, "--lang", lang, *fmt, env=AS_OF).stdout
        return next(text for text in shown.splitlines() if text.startswith(("Kỳ", "Period")))

    assert line("vi") == f"Kỳ báo cáo: {vi}"
    assert line("en") == f"Period: {en}"
    label = parse_period(period).label  # CSV carries it as typed, in either language
    assert line("vi", "--format", "csv").startswith(f"Kỳ báo cáo,\"{label}, từ ")


def test_bad_period_and_conflicting_options_exit_with_usage(ocop: Any) -> None:
    result = ocop("report", "--period", "2019-Q5", env=AS_OF)
    assert result.exit_code == EXIT_USAGE and "--period" in result.stderr
    result = ocop("report", "--period", "2019-07", "--month", "7", env=AS_OF)
    assert result.exit_code == EXIT_USAGE and "--month" in result.stderr


def test_places_show_which_units_are_done(ocop: Any) -> None:
    ocop("progress", "1.2", "1", "--place", "Gia Lộc", env=AS_OF)
    ocop("progress", "1.2", "1", "--place", "tu ky", env=AS_OF)
    ocop("progress", "1.2", "1", env=AS_OF)  # reported without saying where
    doc = ocop("report", "--format", "json", env=AS_OF).json()
    places = {p["id"]: p for p in doc["places"]}
    # the tasks counted per district unit, and 3.2: each unit's own steering committee
    assert set(places) == {"1.2", "3.2", "5.2", "6"}
    conference = places["1.2"]
    assert conference["units_total"] == 12 and len(conference["units"]) == 12
    assert conference["units_done"] == 2
    assert {u["place"] for u in conference["units"] if u["done"]} == {"Gia Lộc", "Tứ Kỳ"}
    assert conference["not_by_unit"] == 1
    table = ocop("report", env={**AS_OF, "COLUMNS": "200"}).stdout
    assert "By district unit" in table and "Gia Lộc, Tứ Kỳ" in table


def test_report_table_speaks_one_language(ocop: Any) -> None:
    """The office form's headers are Vietnamese in Vietnamese and English in English: never
    Vietnamese headers over English values."""
    vietnamese = ("TT", "Nội dung", "ĐVT", "Kế hoạch", "Thực hiện", "Tỷ lệ %",
                  "Chủ trì / Phối hợp", "Thời gian", "Tình trạng", "Ghi chú")
    english = ("No.", "Content", "Unit", "Planned", "Achieved", "Rate %", "Lead / Partners",
               "Time frame", "Status", "Remarks")
    for lang, headers, values, foreign in (
            ("en", english, ("not started", "overdue"), ("Nội dung", "Tình trạng", "quá hạn")),
            ("vi", vietnamese, ("chưa bắt đầu", "quá hạn"), ("Content", "Remarks", "overdue"))):
        out = ocop("report", "--agency", SO_NN, "--lang", lang,
                   env={**AS_OF, "COLUMNS": "220"}).stdout
        for text in (*headers, *values):
            assert text in out, (lang, text)
        for text in foreign:
            assert text not in out, (lang, text)
        md = ocop("report", "--agency", SO_NN, "--format", "md", "--lang", lang,
                  env=AS_OF).stdout
        assert "| " + " | ".join(headers) + " |" in md


def test_markdown_and_csv_hold_every_section(ocop: Any) -> None:
    import csv
    import io

    md = ocop("report", "--format", "md", env=AS_OF).stdout
    assert md.startswith("# ") and md.count("\n## ") == 5  # the follow-up section too
    assert "1819/KH-UBND" in md
    rows = list(csv.reader(io.StringIO(ocop("report", "--format", "csv", env=AS_OF).stdout)))
    assert rows[0][0] == "Plan" and "1819/KH-UBND" in rows[0][1]
    assert ["As of", "2019-09-15"] in rows
    assert any(r[:3] == ["No.", "Content", "Unit"] for r in rows)


def test_office_table_shows_each_parent_row_above_its_sub_rows(ocop: Any) -> None:
    """As in the signed plan: TT 1 with its title, status from its sub-rows and no quantity,
    then 1.1 and 1.2 with their own titles; the counts stay over tasks (the sub-rows)."""
    import csv
    import io

    for place, qty in (("Gia Lộc", "1"), (None, "4")):
        assert ocop("progress", "1.2", qty, *(("--place", place) if place else ()),
                    env=AS_OF).exit_code == 0
    doc = ocop("report", "--agency", "Gia Lộc", "--format", "json", env=AS_OF).json()
    assert [t["id"] for t in doc["tasks"]] == ["1.2", "3.2", "5.2", "6", "7", "8", "9", "10"]
    assert [(p["id"], p["leaf"], p["achieved"], p["status"], p["timing"])
            for p in doc["parents"]] == [("1", False, None, "done", None),
                                         ("3", False, None, "not_started", "overdue"),
                                         ("5", False, None, "not_started", "overdue")]
    assert doc["counts"]["tasks"] == 8
    rows = list(csv.reader(io.StringIO(ocop("report", "--agency", "Gia Lộc", "--format",
                                            "csv", env=AS_OF).stdout)))
    top = next(i for i, r in enumerate(rows) if r[:3] == ["No.", "Content", "Unit"])
    table = rows[top + 1: rows.index([], top)]
    assert [r[0] for r in table] == ["1", "1.2", "3", "3.2", "5", "5.2", "6", "7", "8", "9",
                                     "10"]
    assert table[0][1:6] == ["Hội nghị triển khai Đề án", "", "", "", ""]
    assert table[0][8] == "done, 46 days late" and table[1][1] == "Hội nghị cấp huyện"
    md = ocop("report", "--agency", "Gia Lộc", "--format", "md", env=AS_OF).stdout
    assert "| 1 | Hội nghị triển khai Đề án |" in md
    assert "| 1.2 | Hội nghị cấp huyện | Hội nghị | 1 | 1 |" in md
    # by urgency, a parent row would head nothing: each task reads with its parent's title
    urgent = ocop("report", "--agency", "Gia Lộc", "--sort", "urgency", "--format", "md",
                  env=AS_OF).stdout
    assert "| 1 | Hội nghị triển khai Đề án |" not in urgent
    assert "| 1.2 | Hội nghị triển khai Đề án: Hội nghị cấp huyện |" in urgent


def test_output_file_is_never_overwritten_without_force(ocop: Any, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "bao-cao.md"
    first = ocop("report", "--output", str(target), env=AS_OF)
    assert first.exit_code == 0, first.stderr
    written = target.read_text(encoding="utf-8")
    assert written.startswith("# ")  # the format follows the file's name
    target.write_text("a report someone edited", encoding="utf-8")
    again = ocop("report", "--output", str(target), env=AS_OF)
    assert again.exit_code == EXIT_NOT_FOUND and "--force" in again.stderr
    assert target.read_text(encoding="utf-8") == "a report someone edited"
    forced = ocop("report", "--output", str(target), "--force", env=AS_OF)
    assert forced.exit_code == 0 and target.read_text(encoding="utf-8") == written
    assert [p.name for p in target.parent.iterdir()] == ["bao-cao.md"]  # no temp file left


def test_output_into_a_missing_folder_is_refused_cleanly(ocop: Any, tmp_path: Path) -> None:
    result = ocop("report", "--output", str(tmp_path / "none" / "r.json"), env=AS_OF)
    assert result.exit_code == EXIT_NOT_FOUND
    assert "Traceback" not in result.stderr and str(tmp_path / "none") in result.stderr


def test_xlsx_needs_an_output_file(ocop: Any) -> None:
    result = ocop("report", "--format", "xlsx", env=AS_OF)
    assert result.exit_code == EXIT_USAGE and "--output" in result.stderr


def test_text_from_data_is_shown_literally(ocop: Any) -> None:
    ocop("note", "1.2", "[bold red]xin chào[/] \x1b[31m", env=AS_OF)
    out = ocop("report", "--agency", SO_NN, env={**AS_OF, "COLUMNS": "220"}).stdout
    assert "[bold red]xin chào[/]" in out and "\x1b" not in out and "\\x1b" in out


# --- agencies and timeline --------------------------------------------------------------------


def test_agencies_lists_every_agency_with_its_counts(ocop: Any, ws: Path) -> None:
    items = ocop("agencies", "--format", "json", env=AS_OF).json()
    agencies = yaml.safe_load((ws / "agencies.yaml").read_text(encoding="utf-8"))["agencies"]
    assert {i["id"] for i in items} == {a["id"] for a in agencies}
    names = spellings_of(ws, "so-nn-ptnt")
    plan_leaves = leaves(plan_data(ws))
    so_nn = next(i for i in items if i["id"] == "so-nn-ptnt")
    assert so_nn["lead"] == sum(1 for t in plan_leaves if fold(t.get("lead", "")) in names)
    assert so_nn["partner"] == sum(
        1 for t in plan_leaves if fold(t.get("lead", "")) not in names
        and any(fold(p) in names for p in t.get("partners", [])))
    gia_loc = next(i for i in items if i["id"] == "gia-loc")
    assert gia_loc["lead"] + gia_loc["partner"] > 0  # through the district groups
    table = ocop("agencies", env=AS_OF)
    assert table.exit_code == 0 and "Sở NN và PTNT" in table.stdout


def test_timeline_draws_windows_and_marks_the_as_of_month(ocop: Any) -> None:
    ocop("done", "5", env=AS_OF)
    out = ocop("timeline", "--no-color", env={**AS_OF, "COLUMNS": "80"}).stdout
    lines = out.splitlines()
    header, marker = lines[0], lines[1]
    months = {m: header.index(f"T{m}") for m in range(6, 13)}
    assert marker.index("▼") in range(months[9], months[9] + 3)
    rows = {line.split()[0]: line for line in lines[2:] if line[:1].isdigit()}
    assert "█" in rows["5.1"] and "▓" in rows["1.1"] and "▒" in rows["2"]
    # task 1.1 runs in June only: its bar starts under T6 and stops before T7
    bar = rows["1.1"]
    assert bar.index("▓") in range(months[6] - 1, months[6] + 1)
    assert bar.rindex("▓") < months[7]
    assert "as of 2019-09-15" in lines[-1]
    narrowed = ocop("timeline", "--agency", "UBND tỉnh", env={**AS_OF, "COLUMNS": "80"}).stdout
    ids = [line.split()[0] for line in narrowed.splitlines()[2:-1]]
    assert ids == ["1", "1.1"]


PARTS = st.lists(st.tuples(st.text(st.sampled_from(list("ab ░█│▼Tổ…")), max_size=6),
                           st.sampled_from(["", "green", "dim", "red", "cyan", "yellow"])),
                 min_size=1, max_size=8)


@given(PARTS, st.sampled_from(["", "bold", "bold red"]), st.booleans())
@settings(max_examples=200)
def test_a_timeline_line_is_written_as_rich_prints_it(parts, style, colour) -> None:
    """Each line of the timeline, written without Rich where it fits, has the bytes Rich
    prints for the same text: each part in its own style over the line's, colour or not."""
    import io

    from rich.text import Text

    from ocop_cli.commands.report import _Lines
    from ocop_cli.output import render

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return colour

    written, printed = Terminal(), Terminal()
    draw = _Lines(render.console(written))
    draw(parts, style)
    draw.flush()
    line = Text(style=style, no_wrap=True, overflow="ellipsis")
    for part, own in parts:
        line.append(part, style=own)
    render.console(printed).print(line)
    assert written.getvalue() == printed.getvalue()
    assert ("\x1b[" in written.getvalue()) == (colour and bool(style or any(
        own and part for part, own in parts)) and bool(line.plain))


# --- a large plan in a small terminal -----------------------------------------------------------

LONG = ("Tổ chức tập huấn, bồi dưỡng kiến thức về xây dựng, quản lý và phát triển sản phẩm "
        "OCOP cho cán bộ quản lý, chủ thể sản xuất, hợp tác xã và hộ kinh doanh tại các huyện, "
        "thị xã, thành phố, gắn với quảng bá, xúc tiến thương mại và truy xuất nguồn gốc")
WINDOWS = ["T6", "T6,7", "T7,8", "T6-8", "T7-9", "T7 - T12", "T 7-12", "T6-T12", "T9",
           "T10-12", "T1-3", "T2"]
LEADS = ["Sở NN và PTNT", "Chi cục PTNT", "UBND tỉnh", "BCĐ tỉnh", "BCĐ cấp huyện"]


def big_plan(count: int) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = []
    n = 0
    while len(tasks) < count:
        n += 1
        title = LONG if n % 3 == 0 else f"Nhiệm vụ số {n}: {LONG[: 20 + n % 90]}"
        if n % 5 == 0 and len(tasks) + 3 <= count:
            tasks.append({"id": str(n), "title": title})
            for k in (1, 2):
                tasks.append(_big_task(f"{n}.{k}", f"Cấp {'tỉnh' if k == 1 else 'huyện'}",
                                       len(tasks)))
        else:
            tasks.append(_big_task(str(n), title, len(tasks)))
    return {"number": "99/KH-UBND", "year": 2019, "title": "Kế hoạch thử " + LONG,
            "dated": "2019-06-07", "tasks": tasks}


def _big_task(task_id: str, title: str, n: int) -> dict[str, Any]:
    return {"id": task_id, "title": title, "unit": "Lớp, hội nghị, chuyên đề" if n % 4 else "Lớp",
            "target": ["12", "1", "15-20", "3"][n % 4], "lead": LEADS[n % len(LEADS)],
            "partners": ["BCĐ huyện, TP", "các đơn vị tư vấn", "Chi cục PTNT"][: 1 + n % 3],
            "window": WINDOWS[n % len(WINDOWS)], "per_district": n % 50 == 0}


def _visible_width(line: str) -> int:
    from rich.cells import cell_len

    return cell_len(line)


def _write_big_plan(ws: Path) -> dict[str, Any]:
    plan = big_plan(1000)
    assert len(plan["tasks"]) == 1000
    (ws / "plan_2019.yaml").write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False),
                                       encoding="utf-8")
    return plan


def _fits_80_columns(name: str, result: Any) -> list[str]:
    assert result.exit_code == 0, (name, result.stderr)
    lines: list[str] = result.stdout.splitlines()
    assert len(lines) > 20, name
    too_wide = [line for line in lines if _visible_width(line) > 80]
    assert not too_wide, (name, too_wide[:3])
    return lines


@pytest.mark.stress
def test_a_thousand_task_report_fits_an_80_column_terminal(ocop: Any, ws: Path) -> None:
    plan = _write_big_plan(ws)
    assert ocop("progress", "1", "5", "--note", LONG, "--ref", "123/BC-SNN", env=AS_OF
                ).exit_code == 0
    narrow = {**AS_OF, "COLUMNS": "80"}
    _fits_80_columns("overview", ocop("report", env=narrow))
    agency = "\n".join(_fits_80_columns("agency", ocop("report", "--agency", SO_NN, env=narrow)))
    assert "Planned" in agency and "Remarks" in agency
    assert LONG not in agency.replace("\n", " ")  # cut on purpose, with a mark where it was cut
    assert "…" in agency
    tasks_part = agency[: agency.index("Duties of")]
    shown = [m.group(1) for line in tasks_part.splitlines()
             if (m := re.match(r"^│ ?(\d+(?:\.\d+)?) ", line))]
    led = [t["id"] for t in plan["tasks"] if t.get("lead") == SO_NN]
    parents = sorted({i.split(".")[0] for i in led if "." in i}, key=int)
    assert len(led) > 150 and parents  # each sub-row under its parent's row, in plan order
    assert sorted(shown, key=lambda i: [int(p) for p in i.split(".")]) == shown
    assert set(shown) == {*led, *parents} and len(shown) == len(led) + len(parents)
    timeline = _fits_80_columns("timeline", ocop("timeline", env=narrow))
    assert len(timeline) == 1000 + 3  # header, as-of marker, one line a task, legend


@pytest.mark.full
def test_every_report_of_a_thousand_tasks_fits_80_columns(ocop: Any, ws: Path) -> None:
    _write_big_plan(ws)
    narrow = {**AS_OF, "COLUMNS": "80"}
    _fits_80_columns("period", ocop("report", "--period", "2019-Q3", env=narrow))
    _fits_80_columns("year", ocop("report", "--period", "2019", env=narrow))
    _fits_80_columns("agencies", ocop("agencies", env=narrow))


@pytest.mark.parametrize("args", [(), ("--agency", "gia loc"), ("--period", "2019-Q3"),
                                  ("--month", "6", "--agency", SO_NN)])
@pytest.mark.parametrize("columns", ["80", "60"])
def test_every_report_fits_a_narrow_terminal(ocop: Any, args: tuple[str, ...],
                                             columns: str) -> None:
    ocop("progress", "1.2", "5", "--place", "Gia Lộc", "--note", LONG, env=AS_OF)
    result = ocop("report", *args, env={**AS_OF, "COLUMNS": columns})
    assert result.exit_code == 0, result.stderr
    assert max(_visible_width(line) for line in result.stdout.splitlines()) <= int(columns)


def test_a_real_process_prints_vietnamese_into_a_pipe(proc: Any, ws: Path) -> None:
    done = proc("report", "--agency", "so nn va ptnt", "--format", "csv",
                env={"OCOP_DATA": str(ws), **AS_OF, "PYTHONIOENCODING": "ascii",
                     "OCOP_LANG": "vi"})
    assert done.returncode == 0, done.stderr
    assert "TT,Nội dung,ĐVT,Kế hoạch" in done.stdout
