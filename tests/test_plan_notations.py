"""Plans as later plans write them: the quantities and windows of a one-year plan in the
notation of 2024 plans, and of a plan for 2023-2025; what each means on the days either side
of its boundaries; the cells that are refused, named as written."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_imports import digest, plan_of, write_tsv

from ocop_cli.core.errors import EXIT_INVALID, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from ocop_cli.core.model import Entry, Plan
from ocop_cli.core.state import state_as_of
from ocop_cli.core.windows import parse_target, parse_window

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ONE_YEAR = FIXTURES / "table_2024.tsv"
SEVERAL = FIXTURES / "table_2023_2025.tsv"
HEADER = ["TT", "Nội dung thực hiện", "ĐVT", "Số lượng", "Cơ quan chủ trì", "Cơ quan phối hợp",
          "Thời gian thực hiện"]


def imported(ocop: Any, ws: Path, path: Path, years: str) -> Plan:
    result = ocop("import", "plan", str(path), "--year", years, "--number", "55/KH-UBND",
                  "--dated", f"{years[:4]}-02-01")
    assert result.exit_code == EXIT_OK, result.stderr
    return plan_of(ws, int(years[:4]))


def timing(plan: Plan, task: str, day: str, entries: list[Entry] | None = None) -> str | None:
    return state_as_of(plan, entries or [], dt.date.fromisoformat(day))[task].timing


def target(plan: Plan, task: str) -> tuple[Any, ...]:
    found = plan.index[task].target
    assert found is not None
    return found.min, found.max, found.qualifier, found.kind, plan.index[task].unit, found.shown


# --- a one-year plan (2024) -------------------------------------------------------------------


def test_every_target_of_the_2024_table(ocop: Any, ws: Path) -> None:
    plan = imported(ocop, ws, ONE_YEAR, "2024")
    assert {t.id: target(plan, t.id) for t in plan.tasks} == {
        "1": (1, 1, "", "count", "Quyết định", "1"),
        "2": (4, 4, "", "count", "lớp tập huấn", "4"),  # the unit written in the cell
        "3": (800, 1000, "", "count", "Hồ sơ", "800-1000"),  # từ 800 đến 1.000
        "4": (10000, 10000, "", "count", "Tờ", "10000"),  # the dot groups thousands
        "5": (1, 2, "", "count", "Sản phẩm", "1-2"),
        "6": (25, 25, "about", "share", "Tỷ lệ", "~25%"),
        "7": (2, 2, "at_least", "count", "Cuộc", "≥ 2"),
        "8": (8, 10, "", "count", "Lượt", "8-10"),
        "9": (30, 30, "more", "count", "Sản phẩm", "+30"),
        "10": (1, 1, "", "count", "Báo cáo", "1"),
    }
    # the cells stay as written
    assert [t.target.text for t in plan.tasks if t.target][:3] == [
        "01", "04 lớp tập huấn", "từ 800 đến 1.000"]


def test_every_window_of_the_2024_table(ocop: Any, ws: Path) -> None:
    plan = imported(ocop, ws, ONE_YEAR, "2024")
    windows = {t.id: (t.window.text, t.window.months, t.window.day) for t in plan.tasks
               if t.window}
    assert windows == {
        "1": ("Quý I", (1, 2, 3), None),
        "2": ("Tháng 3-4", (3, 4), None),
        "3": ("6 tháng đầu năm", (1, 2, 3, 4, 5, 6), None),
        "4": ("Cả năm", tuple(range(1, 13)), None),
        "5": ("Trước 30/6", (1, 2, 3, 4, 5, 6), 30),
        "6": ("Tháng 10 - 12", (10, 11, 12), None),
        "7": ("Thường xuyên", tuple(range(1, 13)), None),
        "8": ("Quý II, III", (4, 5, 6, 7, 8, 9), None),
        "9": ("Tháng 6/2024", (6,), None),
        "10": ("trước ngày 15/12/2024", tuple(range(1, 13)), 15),
    }


@pytest.mark.parametrize(("years", "task", "before", "first", "last", "after"), [
    ("2024", "1", None, "2024-01-01", "2024-03-31", "2024-04-01"),  # Quý I: a quarter's end
    ("2024", "2", "2024-02-29", "2024-03-01", "2024-04-30", "2024-05-01"),
    ("2024", "3", None, "2024-01-01", "2024-06-30", "2024-07-01"),
    ("2024", "4", None, "2024-01-01", "2024-12-31", "2025-01-01"),
    ("2024", "5", None, "2024-01-01", "2024-06-30", "2024-07-01"),  # Trước 30/6
    ("2024", "6", "2024-09-30", "2024-10-01", "2024-12-31", "2025-01-01"),
    ("2024", "8", "2024-03-31", "2024-04-01", "2024-09-30", "2024-10-01"),
    ("2024", "9", "2024-05-31", "2024-06-01", "2024-06-30", "2024-07-01"),
    ("2024", "10", None, "2024-01-01", "2024-12-15", "2024-12-16"),  # the day after the deadline
    ("2023-2025", "1.2", "2023-03-31", "2023-04-01", "2023-06-30", "2023-07-01"),
    ("2023-2025", "2", None, "2023-01-01", "2024-12-31", "2025-01-01"),  # the turn of a year
    ("2023-2025", "5", "2023-12-31", "2024-01-01", "2024-12-31", "2025-01-01"),
    ("2023-2025", "6", "2024-11-30", "2024-12-01", "2025-06-30", "2025-07-01"),
    ("2023-2025", "7", None, "2023-01-01", "2025-09-30", "2025-10-01"),
    ("2023-2025", "8", "2025-09-30", "2025-10-01", "2025-12-31", "2026-01-01"),
    ("2023-2025", "1.1", None, "2023-01-01", "2025-12-31", "2026-01-01"),
])
def test_timing_either_side_of_each_boundary(ocop: Any, ws: Path, years: str, task: str,
                                             before: str | None, first: str, last: str,
                                             after: str) -> None:
    plan = imported(ocop, ws, ONE_YEAR if years == "2024" else SEVERAL, years)
    if before is not None:
        assert timing(plan, task, before) == "upcoming"
    assert timing(plan, task, first) == "due"
    assert timing(plan, task, last) == "due"
    assert timing(plan, task, after) == "overdue"


def test_a_day_deadline_is_overdue_from_the_next_day_not_the_next_month(ocop: Any, ws: Path
                                                                        ) -> None:
    imported(ocop, ws, ONE_YEAR, "2024")
    on_day = ocop("tasks", "--overdue", "--as-of", "2024-12-15", "-f", "json").json()
    next_day = ocop("tasks", "--overdue", "--as-of", "2024-12-16", "-f", "json").json()
    assert "10" not in [t["id"] for t in on_day]
    assert "10" in [t["id"] for t in next_day]
    shown = ocop("tasks", "--grep", "Báo cáo kết quả", "-f", "json").json()
    assert shown[0]["deadline"] == "2024-12-15"
    assert shown[0]["months"] == list(range(1, 13))


def test_month_keeps_its_meaning_for_every_kind_of_window(ocop: Any, ws: Path) -> None:
    imported(ocop, ws, ONE_YEAR, "2024")
    ids = [t["id"] for t in ocop("tasks", "--month", "6", "-f", "json").json()]
    assert ids == ["3", "4", "5", "7", "8", "9", "10"]
    assert ids == [t["id"] for t in ocop("tasks", "--month", "2024-06", "-f", "json").json()]
    wrong = ocop("tasks", "--month", "2025-01")
    assert wrong.exit_code == EXIT_USAGE
    assert "'2025-01' is outside the plan's years (2024)" in wrong.stderr


@pytest.mark.parametrize(("task", "qty", "status"), [
    ("7", 2, "done"),  # ít nhất 02: met at 2
    ("7", 1, "in_progress"),
    ("6", 24, "in_progress"),  # khoảng 25%: met at 25 points, no tolerance is invented
    ("6", 25, "done"),
    ("9", 30, "done"),  # thêm 30: met when 30 more are recorded
    ("3", 800, "done"),  # a range is met at its minimum
])
def test_what_met_means_for_each_qualifier(ocop: Any, ws: Path, task: str, qty: int,
                                           status: str) -> None:
    plan = imported(ocop, ws, ONE_YEAR, "2024")
    entry = Entry("e1", "2024-05-01T08:00:00", dt.date(2024, 5, 1), task, "progress", "Tester",
                  qty=qty, plan=2024)
    assert state_as_of(plan, [entry], dt.date(2024, 5, 2))[task].status == status


def test_the_list_shows_the_qualifier_and_show_the_cell_as_written(ocop: Any, ws: Path
                                                                   ) -> None:
    imported(ocop, ws, ONE_YEAR, "2024")
    listed = ocop("tasks", "-f", "csv", "--as-of", "2024-05-01").stdout
    assert ",≥ 2," in listed and ",~25%," in listed and ",+30," in listed
    shown = ocop("show", "10", "--as-of", "2024-05-01")
    assert "trước ngày 15/12/2024 → [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], by 2024-12-15" \
        in shown.stdout
    assert "khoảng 25% (~25%)" in ocop("show", "6").stdout


def test_show_gives_a_target_once_and_how_it_is_read_only_when_that_says_more(
        ocop: Any, ws: Path) -> None:
    for task, line in (("8", "12"), ("2", "15-20"), ("9", "1-2"), ("11", "01")):
        assert f"Target    │ {line} " in ocop("show", task, "--as-of", "2019-09-15").stdout
    imported(ocop, ws, ONE_YEAR, "2024")

    def target(task: str, lang: str = "en") -> str:
        shown = ocop("show", task, "--as-of", "2024-05-01", "-f", "csv", "--lang", lang).stdout
        return next(line for line in shown.splitlines() if line.startswith(("Target,", "Chỉ")))

    assert target("4") == "Target,10.000"
    assert target("8") == "Target,08 - 10"
    assert target("7") == "Target,ít nhất 02 (≥ 2)"
    assert target("3") == 'Target,"từ 800 đến 1.000 (800–1,000)"'
    assert target("3", "vi") == "Chỉ tiêu,từ 800 đến 1.000 (800–1.000)"
    assert target("9") == "Target,thêm 30 (+30)"


def test_a_target_on_a_screen_writes_its_numbers_as_the_language_does(ocop: Any, ws: Path
                                                                       ) -> None:
    imported(ocop, ws, ONE_YEAR, "2024")

    def targets(lang: str, fmt: str) -> dict[str, str]:
        listed = ocop("tasks", "--as-of", "2024-05-01", "--format", fmt, "--lang", lang).stdout
        if fmt == "csv":
            rows = list(csv.reader(listed.splitlines()))[1:]
            return {row[0]: row[3] for row in rows if row[0] in ("3", "4", "5")}
        cells = [line.split(" | ") for line in listed.splitlines()[2:]]
        return {row[0].strip("| "): row[3] for row in cells if row[0].strip("| ") in "345"}

    assert targets("vi", "md") == {"3": "800–1.000", "4": "10.000", "5": "1–2"}
    assert targets("en", "md") == {"3": "800–1,000", "4": "10,000", "5": "1–2"}
    # The data rows of CSV are the same in both languages: the short form JSON carries.
    assert targets("vi", "csv") == targets("en", "csv") == {"3": "800-1000", "4": "10000",
                                                              "5": "1-2"}
    report = ocop("report", "--agency", "Hội đồng đánh giá SP tỉnh", "--as-of", "2024-05-01",
                  "--format", "md", "--lang", "vi").stdout
    assert "| 5 | Hoàn thành đánh giá, công nhận sản phẩm đợt I | Sản phẩm | 1–2 |" in report


# --- a plan for 2023-2025 ---------------------------------------------------------------------


def test_a_plan_over_several_years(ocop: Any, ws: Path) -> None:
    plan = imported(ocop, ws, SEVERAL, "2023-2025")
    assert (plan.year, plan.last_year, plan.years) == (2023, 2025, "2023-2025")
    assert "last_year: 2025" in (ws / "plan_2023.yaml").read_text(encoding="utf-8")
    windows = {t.id: (t.window.first, t.window.last, t.window.day) for t in plan.tasks
               if t.window}
    assert windows == {
        "1.1": (1, 36, None),  # Hằng năm: every year of the plan
        "1.2": (4, 6, None),  # Quý II/2023
        "2": (1, 24, None),  # 2023-2024
        "3": (1, 36, None),  # Giai đoạn 2023-2025
        "4": (19, 24, None),  # 6 tháng cuối năm 2024
        "5": (13, 24, None),  # Năm 2024
        "6": (24, 30, None),  # Tháng 12/2024 - 6/2025
        "7": (1, 33, 30),  # trước ngày 30/9/2025
        "8": (34, 36, None),  # Quý IV/2025
    }
    assert target(plan, "2") == (8, 10, "", "count", "lớp", "8-10")
    assert target(plan, "7") == (100, 100, "", "share", "%", "100%")
    assert plan.index["7"].target.unit == "chủ thể"  # type: ignore[union-attr]


def test_a_plan_over_several_years_lists_alike_through_the_index(
        ocop: Any, ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Months counted from the plan's first year, deadlines, as-of dates in each year: the
    JSON listing whose states the index gives is the one read from the files."""
    from ocop_cli.store import index

    imported(ocop, ws, SEVERAL, "2023-2025")
    served: list[bool] = []
    real = index.Served.states
    monkeypatch.setattr(index.Served, "states", lambda self, *a: served.append(True)
                        or real(self, *a))
    for month in ("2023-05", "2024-12", "2025-09"):
        for as_of in ("2023-05-15", "2024-12-20", "2025-10-01"):
            args = ["tasks", "--month", month, "-f", "json", "--as-of", as_of]
            through_index, plain = ocop(*args), ocop(*args, env={"OCOP_NO_INDEX": "1"})
            assert through_index.exit_code == plain.exit_code == 0, through_index.stderr
            assert through_index.stdout == plain.stdout, (month, as_of)
            assert through_index.json()
    assert len(served) == 9


def test_january_of_the_second_year_is_month_13_not_month_1(ocop: Any, ws: Path) -> None:
    plan = imported(ocop, ws, SEVERAL, "2023-2025")
    assert timing(plan, "5", "2023-01-31") == "upcoming"  # Năm 2024
    assert timing(plan, "5", "2024-01-31") == "due"
    assert timing(plan, "1.2", "2024-05-15") == "overdue"  # Quý II/2023, not Quý II of 2024


def test_month_takes_the_year_in_a_plan_over_several_years(ocop: Any, ws: Path) -> None:
    imported(ocop, ws, SEVERAL, "2023-2025")
    listed = ocop("tasks", "--month", "2024-12", "-f", "json").json()
    assert [t["id"] for t in listed if t["leaf"]] == ["1.1", "2", "3", "4", "5", "6", "7"]
    assert listed[-1]["months"][:2] == [1, 2]  # task 7 runs from the plan's start
    bare = ocop("tasks", "--month", "12")
    assert bare.exit_code == EXIT_USAGE
    assert "the plan runs over 2023-2025; name the year too, e.g. 2023-12" in bare.stderr
    report = ocop("report", "--month", "2024-12", "--as-of", "2024-12-20", "-f", "json").json()
    assert report["period"]["start"] == "2024-12-01"
    assert [r["id"] for r in report["due"]] == ["2", "4", "5"]
    assert report["plan"]["years"] == "2023-2025"


def test_the_timeline_shows_the_years(ocop: Any, ws: Path) -> None:
    imported(ocop, ws, SEVERAL, "2023-2025")
    drawn = ocop("timeline", "--as-of", "2024-12-15").stdout.splitlines()
    years = drawn[0].split()
    assert years == ["2023", "2024", "2025"]
    assert drawn[0].index("2024") - drawn[0].index("2023") == drawn[0].index("2025") - \
        drawn[0].index("2024")  # twelve months apart
    html = ocop("report", "--as-of", "2024-12-15", "-f", "html").stdout
    assert ">T12/2024</text>" in html and ">T1/2025</text>" in html


def test_export_imports_back_to_the_same_tasks(ocop: Any, ws: Path, tmp_path: Path) -> None:
    for table, years in ((SEVERAL, "2023-2025"), (ONE_YEAR, "2024")):
        plan = imported(ocop, ws, table, years)
        out = tmp_path / f"out_{years}.csv"
        assert ocop("export", "plan", "--plan", years[:4], "-o", str(out)).exit_code == EXIT_OK
        (ws / f"plan_{years[:4]}.yaml").unlink()
        again = imported(ocop, ws, out, years)
        assert again.tasks == plan.tasks


# --- what is refused, named as written ----------------------------------------------------------


def test_cells_that_cannot_be_read_with_confidence_are_refused(ocop: Any, ws: Path,
                                                                tmp_path: Path) -> None:
    good = ["Sở NN và PTNT", "", "Năm 2024"]
    rows = [HEADER,
            ["1", "A", "Sản phẩm", "1 sản phẩm 5 sao, 3 sản phẩm 4 sao, 20 sản phẩm 3 sao",
             *good],
            ["2", "B", "ha", "1,5", *good],
            ["3", "C", "Cuộc", "trên 20", *good],
            ["4", "D", "Lớp", "khoảng 15-20", *good],
            ["5", "E", "Lớp", "02", "Sở NN và PTNT", "", "Quý II"],
            ["6", "F", "Lớp", "02", "Sở NN và PTNT", "", "Năm 2027"],
            ["7", "G", "Lớp", "02", "Sở NN và PTNT", "", "Trước 31/6/2024"],
            ["8", "H", "Lớp", "02", "Sở NN và PTNT", "", "Cả năm"],
            ["9", "I", "%", "120%", *good],
            ["10", "K", "Lớp", "02", "Sở NN và PTNT", "", "2025-2023"]]
    before = digest(ws)
    result = ocop("import", "plan", str(write_tsv(tmp_path / "t.tsv", rows)), "--year",
                  "2023-2025", "--number", "1/KH")
    assert result.exit_code == EXIT_INVALID
    assert digest(ws) == before
    for expected in [
        "row 2 (task 1), Số lượng: '1 sản phẩm 5 sao, 3 sản phẩm 4 sao, 20 sản phẩm 3 sao' "
        "holds 3 targets; give each its own sub-row (a row with - in TT, its quantity and "
        "unit) under this task, or write one total",
        "row 3 (task 2), Số lượng: '1,5': a target is a whole number",
        "row 4 (task 3), Số lượng: cannot read 'trên 20' as a quantity; write e.g. 12, 15-20, "
        "ít nhất 04",
        "row 5 (task 4), Số lượng: 'khoảng 15-20': a range is its own minimum and maximum",
        "row 6 (task 5), Thời gian thực hiện: 'Quý II' does not say which year of a plan for "
        "2023-2025; write the year in it (e.g. Quý II/2023",
        "row 7 (task 6), Thời gian thực hiện: 'Năm 2027': 2027 is outside the plan's years "
        "(2023-2025)",
        "row 8 (task 7), Thời gian thực hiện: 'Trước 31/6/2024': 31/6 is not a day of the year",
        "row 9 (task 8), Thời gian thực hiện: 'Cả năm' does not say which year",
        "row 10 (task 9), Số lượng: '120%': a share is a percentage of a population, at most "
        "100%",
        "row 11 (task 10), Thời gian thực hiện: '2025-2023' runs backwards",
    ]:
        assert expected in result.stderr, expected


def test_a_window_out_of_the_plan_file_is_named_by_check(ocop: Any, ws: Path) -> None:
    imported(ocop, ws, SEVERAL, "2023-2025")
    path = ws / "plan_2023.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("window: Quý II/2023", "window: Quý II"), encoding="utf-8")
    result = ocop("check")
    assert result.exit_code == EXIT_INVALID
    line = next(n for n, s in enumerate(path.read_text().splitlines(), 1) if "Quý II" in s)
    assert f"plan_2023.yaml:{line}" in result.stderr + result.stdout
    assert "'Quý II' does not say which year" in result.stderr + result.stdout
    path.write_text(text.replace("last_year: 2025", "last_year: 2022"), encoding="utf-8")
    result = ocop("check")
    assert result.exit_code == EXIT_INVALID
    assert "last_year: 2022 comes before the plan's year 2023" in result.stderr + result.stdout


def test_a_year_option_that_is_not_years_in_order(ocop: Any, ws: Path) -> None:
    result = ocop("import", "plan", str(ONE_YEAR), "--year", "2025-2023", "--number", "1/KH")
    assert result.exit_code == EXIT_USAGE
    assert "'2025-2023' is not a year (2020) or years in order (2021-2025)" in result.stderr


@pytest.mark.parametrize(("text", "months", "day"), [
    ("T6", (6,), None), ("T 7-12", tuple(range(7, 13)), None), ("tháng 3-4", (3, 4), None),
    ("Quý III/2020", (7, 8, 9), None), ("6 tháng cuối năm", tuple(range(7, 13)), None),
    ("Liên tục trong năm", tuple(range(1, 13)), None), ("Hằng năm", tuple(range(1, 13)), None),
    ("Năm 2020", tuple(range(1, 13)), None), ("Từ tháng 3 đến tháng 5", (3, 4, 5), None),
    ("trước ngày 29/2/2020", (1, 2), 29), ("Quý I, T7", (1, 2, 3, 7), None),
    ("6 tháng đầu năm và T9", (1, 2, 3, 4, 5, 6, 9), None),
    # With the word officials often put before a window.
    ("Trong tháng 8/2020", (8,), None), ("Trong quý III", (7, 8, 9), None),
    ("Vào tháng 9", (9,), None), ("Dự kiến tháng 10/2020", (10,), None),
    ("Trong năm 2020", tuple(range(1, 13)), None), ("Dự kiến trong quý II", (4, 5, 6), None),
    ("Vào trước 30/6", tuple(range(1, 7)), 30), ("Diễn ra trong tháng 5", (5,), None),
])
def test_windows_of_a_one_year_plan(text: str, months: tuple[int, ...], day: int | None) -> None:
    window = parse_window(text, 2020)
    assert (window.text, window.months, window.day) == (text, months, day)


@pytest.mark.parametrize("text", ["Trong", "Vào", "Dự kiến", "Trong tháng", "Trong năm 2021"])
def test_a_leading_word_alone_or_before_nothing_readable_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=text):
        parse_window(text, 2020)


def test_a_leading_word_does_not_drop_the_year_a_plan_over_years_needs() -> None:
    with pytest.raises(ValueError, match="does not say which year"):
        parse_window("Trong quý III", 2021, 2025)
    assert parse_window("Trong quý III/2023", 2021, 2025).months == (31, 32, 33)


def test_the_29th_of_february_only_in_a_leap_year() -> None:
    with pytest.raises(ValueError, match="29/2 is not a day of the year"):
        parse_window("Trước 29/2", 2021)


@pytest.mark.parametrize(("text", "shown"), [
    ("≥ 4", "≥ 4"), ("~220", "~220"), ("+30", "+30"), ("tối thiểu 05", "≥ 5"),
    ("tăng thêm 12", "+12"), ("1.000.000", "1000000"), ("100 %", "100%"),
])
def test_targets_in_short_forms(text: str, shown: str) -> None:
    assert parse_target(text).shown == shown


@pytest.mark.parametrize("text", ["9999999999", "99999999999", "1.000.000.001"])
def test_a_number_no_plan_counts_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=text):
        parse_target(text)


def test_a_plan_over_more_than_ten_years_is_refused(ocop: Any, ws: Path) -> None:
    result = ocop("import", "plan", str(ONE_YEAR), "--year", "2021-2031", "--number", "1/KH")
    assert result.exit_code == EXIT_USAGE
    assert "a plan runs over 10 years at most" in result.stderr


def test_the_month_grid_of_a_plan_over_several_years_is_the_as_of_year(ocop: Any, ws: Path
                                                                       ) -> None:
    imported(ocop, ws, SEVERAL, "2023-2025")
    grid = ocop("report", "--as-of", "2024-06-01", "-f", "json").json()["matrix"]
    assert (grid["year"], grid["months"][0], grid["months"][-1]) == (2024, 13, 24)
    by_agency = {row["agency"]: [c["open"] for c in row["cells"]] for row in grid["rows"]}
    # Hội đồng đánh giá SP tỉnh: 6 tháng cuối năm 2024 only
    assert by_agency["Hội đồng đánh giá SP tỉnh"] == [0] * 6 + [1] * 6
    assert "Open tasks by month of 2024" in ocop("report", "--as-of", "2024-06-01").stdout


def test_check_names_a_unit_in_the_quantity_that_is_not_the_dvt(ocop: Any, ws: Path) -> None:
    imported(ocop, ws, ONE_YEAR, "2024")
    path = ws / "plan_2024.yaml"
    text = path.read_text(encoding="utf-8")
    assert "    target: 04 lớp tập huấn\n" in text
    path.write_text(text.replace("    target: 04 lớp tập huấn\n",
                                 "    unit: Hội nghị\n    target: 04 lớp tập huấn\n"),
                    encoding="utf-8")
    result = ocop("check")
    assert result.exit_code == EXIT_INVALID
    assert ("task 2, target: '04 lớp tập huấn' names the unit 'lớp tập huấn' but ĐVT says "
            "'Hội nghị'; keep one of them") in result.stderr + result.stdout


ROMAN = ("I", "II", "III", "IV")


def month_of(first_year: int, day: dt.date) -> int:
    return 12 * (day.year - first_year) + day.month


@given(st.integers(2021, 2025), st.integers(1, 4))
def test_any_quarter_of_a_plan_over_several_years(year: int, quarter: int) -> None:
    window = parse_window(f"Quý {ROMAN[quarter - 1]}/{year}", 2021, 2025)
    end = dt.date(year, 3 * quarter, 1) + dt.timedelta(days=31)
    last_day = end.replace(day=1) - dt.timedelta(days=1)
    for day, expected in ((last_day, "due"), (last_day + dt.timedelta(days=1), "overdue")):
        assert window.timing(month_of(2021, day), day.day) == expected


@given(st.dates(dt.date(2021, 1, 1), dt.date(2025, 12, 30)))
def test_any_day_deadline_is_due_on_its_day_and_overdue_the_next(deadline: dt.date) -> None:
    window = parse_window(f"trước ngày {deadline.day}/{deadline.month}/{deadline.year}",
                          2021, 2025)
    after = deadline + dt.timedelta(days=1)
    assert window.deadline(2021) == deadline.isoformat()
    assert window.timing(month_of(2021, deadline), deadline.day) == "due"
    assert window.timing(month_of(2021, after), after.day) == "overdue"


def test_plan_year_chooses_the_plan_whose_years_include_it(ocop: Any, ws: Path) -> None:
    imported(ocop, ws, SEVERAL, "2023-2025")

    def chosen(year: str) -> str:
        result = ocop("info", "--plan", year, "--format", "json")
        assert result.exit_code == EXIT_OK, result.stderr
        return Path(result.json()["plan_file"]).name

    assert [chosen(y) for y in ("2023", "2024", "2025")] == ["plan_2023.yaml"] * 3
    assert ocop("tasks", "--plan", "2024", "--month", "2024-12", "-f", "json").exit_code == 0
    missing = ocop("tasks", "--plan", "2026")
    assert missing.exit_code == EXIT_NOT_FOUND and "2019, 2023" in missing.stderr
    imported(ocop, ws, ONE_YEAR, "2024")  # a year's own plan inside the plan over 2023-2025
    assert [chosen(y) for y in ("2023", "2024", "2025")] == [
        "plan_2023.yaml", "plan_2024.yaml", "plan_2023.yaml"]


def test_percent_and_number_cells_of_a_workbook_read_as_they_show(ocop: Any, ws: Path,
                                                                   tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    rows = [("1", "Chủ thể được tập huấn", "", 1, "0%"),  # 100%
            ("2", "Sản phẩm có truy xuất nguồn gốc", "Tỷ lệ", 0.29, "0%"),  # 29%, not 28.99…
            ("3", "Lớp tập huấn", "Lớp", 4, "General"),  # a number cell: 4
            ("4", "Hội nghị", "Hội nghị", "04", "@"),  # text keeps its zero
            ("5", "Tờ rơi", "Tờ", 10000, "#,##0"),
            ("6", "Chủ thể bán hàng trực tuyến", "", 0.255, "0.0%")]  # shows 25.5%
    for number, title, unit, quantity, shown in rows:
        sheet.append([number, title, unit, quantity, "Sở NN và PTNT", "", "Năm 2024"])
        sheet.cell(row=sheet.max_row, column=4).number_format = shown
    book.save(tmp_path / "bang.xlsx")
    result = ocop("import", "plan", str(tmp_path / "bang.xlsx"), "--year", "2024", "--number",
                  "2/KH")
    assert result.exit_code == EXIT_INVALID  # 25.5%: a target is a whole number
    assert "row 7" in result.stderr and "'25.5%'" in result.stderr
    sheet.delete_rows(7)
    book.save(tmp_path / "bang.xlsx")
    result = ocop("import", "plan", str(tmp_path / "bang.xlsx"), "--year", "2024", "--number",
                  "2/KH")
    assert result.exit_code == EXIT_OK, result.stderr
    plan = plan_of(ws, 2024)
    assert {t.id: (t.target.text, t.target.min, t.target.kind)  # type: ignore[union-attr]
            for t in plan.tasks} == {"1": ("100%", 100, "share"), "2": ("29%", 29, "share"),
                                     "3": ("4", 4, "count"), "4": ("04", 4, "count"),
                                     "5": ("10000", 10000, "count")}


def test_a_hand_written_entry_counts_under_the_plan_whose_years_include_its_date(
        ocop: Any, ws: Path) -> None:
    imported(ocop, ws, SEVERAL, "2023-2025")
    (ws / "history").mkdir(exist_ok=True)
    (ws / "history" / "tay.yaml").write_text("".join(
        f'- {{"id": "tay-{day}", "at": "{day}T08:00:00+07:00", "date": "{day}", "task": "5", '
        f'"action": "progress", "qty": 10, "by": "Phòng NN Thanh Hà"}}\n'
        for day in ("2023-09-01", "2024-09-01", "2025-03-01")), encoding="utf-8")

    def achieved(plan: str) -> int:
        tasks = ocop("tasks", "--plan", plan, "-f", "json", "--as-of", "2025-12-31").json()
        return int({t["id"]: t for t in tasks}["5"]["achieved"])

    assert achieved("2023") == achieved("2023") == 30  # the second from the cache
    checked = ocop("check")
    assert checked.exit_code == EXIT_OK and "tay.yaml" not in checked.stderr
    imported(ocop, ws, ONE_YEAR, "2024")  # 2024 now has its own plan: its entries go there
    assert (achieved("2023"), achieved("2024")) == (20, 10)
    assert ocop("check").exit_code == EXIT_OK
