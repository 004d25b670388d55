"""Importing assignment tables and progress sheets (TSV, CSV, XLSX) and exporting the plan's
table: the 2019 appendix reproduces the bundled plan, round trips keep every cell, and bad
input is refused row by row with nothing written."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from helpers import recorded
from hypothesis import given
from hypothesis import strategies as st

from ocop_cli.core.errors import EXIT_INVALID, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE
from ocop_cli.core.model import Plan
from ocop_cli.core.text import nfc
from ocop_cli.imports import agencies, planfile
from ocop_cli.store.documents import read_agencies, read_plan

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "tests" / "fixtures" / "table_2019.tsv"
PROGRESS = ROOT / "tests" / "fixtures" / "progress_2019.csv"
BUNDLED = ROOT / "data"
HEADER = ["TT", "Nội dung thực hiện", "ĐVT", "Số lượng", "Cơ quan chủ trì", "Cơ quan phối hợp",
          "Thời gian thực hiện"]
PROGRESS_HEADER = ["date", "task", "action", "quantity", "place", "by", "ref", "note"]


# --- helpers -----------------------------------------------------------------------------


def plan_of(folder: Path, year: int) -> Plan:
    directory, problems = read_agencies(folder / "agencies.yaml")
    assert directory is not None, problems
    plan, problems = read_plan(folder / f"plan_{year}.yaml", directory)
    assert plan is not None, problems
    return plan


def tasks_of(plan: Plan) -> list[tuple[Any, ...]]:
    """What the table says of each task: id, title, unit, target, lead and partners (agency
    ids), window. Sections and notes are not in the table."""
    return [(t.id, t.title, t.unit, t.target.text if t.target else None, t.lead, t.partners,
             t.window.text if t.window else None) for t in plan.tasks]


def as_written(plan: Plan) -> list[tuple[Any, ...]]:
    return [(t.id, t.lead_text, t.partners_text) for t in plan.tasks]


def table_rows() -> list[list[str]]:
    return [line.split("\t") for line in TABLE.read_text(encoding="utf-8").splitlines()]


def write_xlsx(path: Path, rows: list[list[Any]], merged: tuple[str, ...] = ()) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    for cells in merged:
        sheet.merge_cells(cells)
    book.save(path)
    return path


def write_tsv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def digest(folder: Path) -> dict[str, str]:
    """Every file of a workspace but the lock and index, by content."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".ocop" not in p.parts}


def import_plan(ocop: Any, path: Path, *more: str, year: str = "2020") -> Any:
    return ocop("import", "plan", str(path), "--year", year, "--number", "15/KH-UBND", *more)




@pytest.fixture
def bundled() -> list[tuple[Any, ...]]:
    return tasks_of(plan_of(BUNDLED, 2019))


# --- the 2019 appendix reproduces the bundled plan ----------------------------------------


def test_the_2019_table_reproduces_the_tasks_of_the_bundled_plan(ocop, ws, bundled):
    result = import_plan(ocop, TABLE, "--dated", "2020-03-02")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "18 tasks" in result.stdout
    assert tasks_of(plan_of(ws, 2020)) == bundled
    text = (ws / "plan_2020.yaml").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=schema/plan.schema.json"
    assert "\ndated: 2020-03-02\n" in text
    assert ocop("check").exit_code == EXIT_OK
    listed = ocop("tasks", "--plan", "2020", "--format", "json")
    assert {t["id"] for t in listed.json()} == {t[0] for t in bundled}


def test_the_partners_cells_keep_their_spellings(ws, ocop):
    assert import_plan(ocop, TABLE).exit_code == EXIT_OK
    assert as_written(plan_of(ws, 2020)) == as_written(plan_of(BUNDLED, 2019))


def test_the_same_table_as_xlsx_with_number_cells_and_a_title_above(ocop, ws, tmp_path,
                                                                   bundled):
    rows: list[list[Any]] = [["KẾ HOẠCH NĂM 2020", None, None], [None], HEADER]
    for cells in table_rows()[1:]:
        # Typed into a spreadsheet, plain numbers become number cells; "01" is kept as text.
        rows.append([int(c) if c.isdigit() and not c.startswith("0") else (c or None)
                     for c in cells])
    path = write_xlsx(tmp_path / "bang.xlsx", rows, merged=("A1:G1",))
    result = import_plan(ocop, path)
    assert result.exit_code == EXIT_OK, result.stderr
    assert tasks_of(plan_of(ws, 2020)) == bundled


def test_the_same_table_as_csv(ocop, ws, tmp_path, bundled):
    path = write_csv(tmp_path / "bang.csv", table_rows())
    assert import_plan(ocop, path).exit_code == EXIT_OK
    assert tasks_of(plan_of(ws, 2020)) == bundled


def test_a_table_pasted_on_standard_input(ws, monkeypatch, bundled):
    from typer.testing import CliRunner

    from ocop_cli.commands.app import app

    monkeypatch.setenv("OCOP_DATA", str(ws))
    result = CliRunner().invoke(app, ["import", "plan", "-", "--year", "2021", "--number", "7/KH"],
                                input=TABLE.read_bytes())
    assert result.exit_code == EXIT_OK, result.stderr
    assert tasks_of(plan_of(ws, 2021)) == bundled


def test_never_overwrites_a_plan_without_force(ocop, ws):
    before = digest(ws)
    result = import_plan(ocop, TABLE, year="2019")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "plan_2019.yaml exists" in result.stderr and "--force" in result.stderr
    assert digest(ws) == before
    result = import_plan(ocop, TABLE, "--force", year="2019")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "Replaced plan_2019.yaml" in result.stdout
    assert plan_of(ws, 2019).number == "15/KH-UBND"


# --- agencies ----------------------------------------------------------------------------


def new_agency_table(tmp_path: Path) -> Path:
    return write_tsv(tmp_path / "moi.tsv", [
        HEADER,
        ["1", "Hội nghị tổng kết", "Hội nghị", "1", "Sở Xây dựng",
         "Sở Giao thông vận tải, Sở Tài chính; Chi cục PTNT", "T12"],
        ["2", "Tập huấn HTX", "Lớp", "2", "Sở NN và PTNT", "Các hợp tác xã nông nghiệp", "T9"],
    ])


def test_unknown_agencies_are_listed_with_their_rows_and_nothing_is_written(ocop, ws, tmp_path):
    before = digest(ws)
    result = import_plan(ocop, new_agency_table(tmp_path))
    assert result.exit_code == EXIT_INVALID
    assert "unknown agency 'Sở Xây dựng' (row 2)" in result.stderr
    assert "unknown agency 'Sở Giao thông vận tải' (row 2)" in result.stderr
    assert "unknown agency 'Các hợp tác xã nông nghiệp' (row 3)" in result.stderr
    assert "unknown agency 'Sở Tài chính'" not in result.stderr
    assert "--add-agencies" in result.stderr
    assert digest(ws) == before


def test_add_agencies_appends_them_and_leaves_the_file_as_it_was_above(ocop, ws, tmp_path):
    old = (ws / "agencies.yaml").read_bytes()
    result = import_plan(ocop, new_agency_table(tmp_path), "--add-agencies")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "guessed from the name" in result.stdout
    new = (ws / "agencies.yaml").read_bytes()
    assert new.startswith(old) and len(new) > len(old)
    directory, problems = read_agencies(ws / "agencies.yaml")
    assert directory is not None, problems
    old_ids = set(read_agencies(BUNDLED / "agencies.yaml")[0].by_id)  # type: ignore[union-attr]
    added = {a.id: (a.short, a.level, a.kind) for a in directory.agencies if a.id not in old_ids}
    assert added == {
        "so-xay-dung": ("Sở Xây dựng", "province", "department"),
        "so-giao-thong-van-tai": ("Sở Giao thông vận tải", "province", "department"),
        "cac-hop-tac-xa-nong-nghiep": ("Các hợp tác xã nông nghiệp", "province", "group"),
    }
    plan = plan_of(ws, 2020)
    assert plan.tasks[0].lead == "so-xay-dung"
    assert plan.tasks[0].partners == ("so-giao-thong-van-tai", "so-tai-chinh", "chi-cuc-ptnt")
    assert ocop("check").exit_code == EXIT_OK


def test_a_shortening_or_a_name_of_several_agencies_is_refused_even_with_add(ocop, ws, tmp_path):
    path = write_tsv(tmp_path / "ngan.tsv", [
        HEADER,
        ["1", "A", "Lớp", "1", "Sở NN", "Chi cục PTNT", "T6"],
        ["2", "B", "Lớp", "1", "Sở NN và PTNT", "Sở", "T6"],
        ["3", "C", "Lớp", "1", "Sở NN và PTNT; Chi cục PTNT", "", "T6"],
    ])
    before = digest(ws)
    result = import_plan(ocop, path, "--add-agencies")
    assert result.exit_code == EXIT_INVALID
    assert "row 2 (task 1), Cơ quan chủ trì: 'Sở NN' is not a spelling" in result.stderr
    assert "Sở NN và PTNT" in result.stderr
    assert "row 3 (task 2), Cơ quan phối hợp: 'Sở' fits several agencies" in result.stderr
    assert "row 4 (task 3), Cơ quan chủ trì: one lead agency per task" in result.stderr
    assert digest(ws) == before


def test_partner_cells_split_where_the_directory_knows_the_names():
    directory, _ = read_agencies(BUNDLED / "agencies.yaml")
    assert directory is not None

    def split(cell: str) -> list[tuple[str, str | None]]:
        return [(r.text, r.agency) for r in agencies.split_agencies(cell, directory)]

    assert split("Đài PTTH tỉnh Báo Hải Dương, các phương tiện thông tin đại chúng") == [
        ("Đài PTTH tỉnh", "dai-ptth-tinh"), ("Báo Hải Dương", "bao-hai-duong"),
        ("các phương tiện thông tin đại chúng", "cac-phuong-tien-thong-tin")]
    assert split("Sở NN và PTNT") == [("Sở NN và PTNT", "so-nn-ptnt")]
    assert split("BCĐ các huyện, TP;") == [("BCĐ các huyện, TP", "bcd-huyen")]
    assert split("Chi cục PTNT, các đơn vị tư vấn và các đơn vị liên quan") == [
        ("Chi cục PTNT", "chi-cuc-ptnt"), ("các đơn vị tư vấn", "cac-don-vi-tu-van"),
        ("các đơn vị liên quan", "cac-don-vi-lien-quan")]
    assert split("Sở Xây dựng, Sở Giao thông vận tải; Các phòng, ban chuyên môn") == [
        ("Sở Xây dựng", None), ("Sở Giao thông vận tải", None),
        ("Các phòng, ban chuyên môn", None)]
    assert split("Phòng Văn hóa TP Chí Linh") == [("Phòng Văn hóa TP Chí Linh", None)]
    assert split("Phòng Kinh tế TP Chí Linh") == [("Phòng Kinh tế TP Chí Linh",
                                                 "phong-kinh-te-tp-chi-linh")]


@pytest.mark.parametrize(("name", "level", "kind"), [
    ("Sở Xây dựng", "province", "department"),
    ("UBND huyện Gia Lộc", "district", "government"),
    ("Phòng Kinh tế TP Chí Linh", "district", "office"),
    ("Bộ Công Thương", "central", "ministry"),
    ("Các hợp tác xã", "province", "group"),
    ("BCĐ xã Hồng Lạc", "commune", "committee"),
    ("Hội Liên hiệp Phụ nữ tỉnh", "province", "organisation"),
])
def test_a_new_agency_gets_a_level_and_kind_from_its_name(name, level, kind):
    assert agencies.guess_level_kind(name) == (level, kind)


# --- bad plan tables ---------------------------------------------------------------------


def refused(result: Any, ws: Path, before: dict[str, str]) -> str:
    assert result.exit_code == EXIT_INVALID, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert digest(ws) == before
    return str(result.stderr)


def test_a_missing_column_is_named(ocop, ws, tmp_path):
    rows = [[c for i, c in enumerate(r) if i != 2] for r in table_rows()]  # no ĐVT
    before = digest(ws)
    stderr = refused(import_plan(ocop, write_tsv(tmp_path / "t.tsv", rows)), ws, before)
    assert "row 1: the header lacks the column(s) ĐVT" in stderr


def test_merged_cells_are_named_by_range_and_rows(ocop, ws, tmp_path):
    rows: list[list[Any]] = [HEADER,
                             ["1", "A", "Lớp", "12", "Sở NN và PTNT", "Chi cục PTNT", "T6"],
                             ["2", "B", "Lớp", "12", None, "Chi cục PTNT", "T7"]]
    path = write_xlsx(tmp_path / "gop.xlsx", rows, merged=("E2:E3",))
    before = digest(ws)
    stderr = refused(import_plan(ocop, path), ws, before)
    assert "row 2: cells E2:E3 are merged (rows 2-3)" in stderr


def test_blank_lines_and_totals_rows_are_skipped_and_said(ocop, ws, tmp_path):
    rows: list[list[Any]] = [HEADER, [None], ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)"],
                             ["1", "A", "Lớp", 12, "Sở NN và PTNT", "Chi cục PTNT", "T6"],
                             [None, None, None, None],
                             ["", "Tổng cộng", "", 12, "", "", ""]]
    result = import_plan(ocop, write_xlsx(tmp_path / "tong.xlsx", rows))
    assert result.exit_code == EXIT_OK, result.stderr
    assert "row 6: a totals row, skipped" in result.stdout
    assert tasks_of(plan_of(ws, 2020)) == [
        ("1", "A", "Lớp", "12", "so-nn-ptnt", ("chi-cuc-ptnt",), "T6")]


def test_bad_cells_are_all_named_row_by_row_and_nothing_is_written(ocop, ws, tmp_path):
    good = ["Lớp", "1", "Sở NN và PTNT", "", "T6"]
    rows: list[list[Any]] = [
        HEADER,
        ["-", "Z", *good],  # row 2
        ["1", "A", "Lớp", "mười hai", "Sở NN và PTNT", "", "T6"],
        ["2", "B", "Lớp", "12 hội nghị", "Sở NN và PTNT", "", "T13"],
        ["3", "C", "Lớp", dt.datetime(2020, 2, 1), "Sở NN và PTNT", "", "Quý 5"],
        ["4", "D", "Lớp", "15-20", "", "", "T9-7"],  # row 6
        ["5", "E", *good],
        ["-", "F", *good],  # 5.1, good
        ["4", "G", *good],
        ["", "H", *good],  # row 10
        ["II", "I", "", "", "", "", ""],
        ["6", "K", *good, "", "thừa"],
    ]
    before = digest(ws)
    stderr = refused(import_plan(ocop, write_xlsx(tmp_path / "sai.xlsx", rows)), ws, before)
    for expected in [
        "row 2, TT: a sub-row (marked -) before any numbered row",
        "row 3 (task 1), Số lượng: cannot read 'mười hai' as a quantity",
        "row 4 (task 2), Số lượng: '12 hội nghị' names the unit 'hội nghị' but ĐVT says 'Lớp'",
        "row 4 (task 2), Thời gian thực hiện: 'T13': month 13 is not between 1 and 12",
        "row 5 (task 3), Số lượng: the cell holds a date (2020-02-01)",
        "row 5 (task 3), Thời gian thực hiện: cannot read 'Quý 5' as a window; write e.g. T6",
        "row 6 (task 4), Thời gian thực hiện: 'T9-7' runs backwards",
        "row 6 (task 4), Cơ quan chủ trì: a task without sub-rows needs a lead agency",
        "row 9 (task 4), TT: task 4 already appears in row 6",
        "row 10, TT: no TT",
        "row 11, TT: TT 'II' is not a task number",
        "row 12: 1 cell(s) beyond the last column",
    ]:
        assert expected in stderr, expected
    assert "row 7" not in stderr and "row 8" not in stderr
    assert "9 rows at fault" in stderr


# --- messages that add up ---------------------------------------------------------------


def test_every_row_at_fault_is_counted_and_named_whatever_found_it(ws, tmp_path):
    """A cell that cannot be read (row 2) and an agency nobody knows (rows 3 and 5): three
    rows at fault, though the agency is one problem naming two rows."""
    from ocop_cli.imports import tables
    from ocop_cli.imports.sheets import read_sheet

    path = write_tsv(tmp_path / "sai.tsv", [
        HEADER,
        ["1", "A", "Lớp", "abc", "Sở NN và PTNT", "", "T6"],
        ["2", "B", "Lớp", "1", "Sở NN và PTNT", "Người lạ", "T7"],
        ["3", "C", "Lớp", "1", "Sở NN và PTNT", "", "T8"],
        ["4", "D", "Lớp", "1", "Người lạ", "", "T9"],
    ])
    table = tables.read_plan_table(read_sheet(path), 2020)
    directory, _problems = read_agencies(ws / "agencies.yaml")
    assert directory is not None
    resolved = agencies.resolve_agencies(table, directory)
    error = tables.rejected(table.source, [
        *table.problems, *resolved.problems, *agencies.unknown_problems(resolved, directory)])
    lines = str(error).splitlines()
    assert lines[0] == f"{path}: 3 rows at fault (rows 2, 3, 5); nothing was imported"
    assert lines[1].startswith("  row 2 (task 1), Số lượng: cannot read 'abc' as a quantity")
    assert lines[2].startswith("  unknown agency 'Người lạ' (rows 3, 5)")
    assert len(lines) == 3


@pytest.mark.parametrize(("rows", "shown"), [
    ([7], "7"), ([2, 3], "2, 3"), ([2, 3, 4, 7], "2-4, 7"), ([2, 4, 5, 6, 9, 10], "2, 4-6, 9, 10"),
    (list(range(2, 60, 2)), "2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24 and 17 more"),
])
def test_rows_at_fault_are_listed_as_ranges(rows, shown):
    from ocop_cli.imports.tables import row_list

    assert row_list(rows) == shown


def test_the_rows_at_fault_add_up_on_the_command_line_in_vietnamese(ocop, ws, tmp_path):
    path = write_tsv(tmp_path / "sai.tsv", [
        HEADER,
        ["1", "A", "Lớp", "abc", "Sở NN và PTNT", "", "T6"],
        ["2", "B", "Lớp", "1", "Sở NN và PTNT", "Người lạ", "T7"],
    ])
    before = digest(ws)
    stderr = refused(import_plan(ocop, path, "--lang", "vi"), ws, before)
    assert stderr.splitlines()[0] == (f"ocop: lỗi: {path}: có 2 dòng bị lỗi (dòng 2, 3); "
                                      "chưa nhập gì")


def test_title_numbering_and_totals_rows_skipped_are_each_named(ws, tmp_path):
    from ocop_cli.imports import tables
    from ocop_cli.imports.sheets import read_sheet

    path = write_xlsx(tmp_path / "bang.xlsx", [
        ["UBND TỈNH HẢI DƯƠNG"], ["PHỤ LỤC"], [None], HEADER,
        ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)"],
        ["1", "A", "Lớp", 12, "Sở NN và PTNT", "Chi cục PTNT", "T6"],
        ["", "Tổng cộng", "", 12, "", "", ""]])
    table = tables.read_plan_table(read_sheet(path), 2020)
    assert [row.id for row in table.rows] == ["1"]
    assert table.notices == [
        f"{path}, rows 1, 2: title lines above the header, skipped",
        f"{path}, row 5: the columns' numbering (1) (2) …, skipped",
        f"{path}, row 7: a totals row, skipped",
    ]


def test_the_skipped_rows_are_said_when_a_plan_is_written(ocop, ws, tmp_path):
    path = write_xlsx(tmp_path / "bang.xlsx", [
        ["KẾ HOẠCH"], HEADER, ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)"],
        ["1", "A", "Lớp", 12, "Sở NN và PTNT", "Chi cục PTNT", "T6"]])
    result = import_plan(ocop, path, "--lang", "vi")
    assert result.exit_code == EXIT_OK, result.stderr
    assert f"{path}, dòng 1: dòng tiêu đề phía trên hàng tên cột, bỏ qua" in result.stdout
    assert f"{path}, dòng 3: dòng đánh số cột (1) (2) …, bỏ qua" in result.stdout


@pytest.mark.parametrize(("first", "last"), [(None, None), (2019, 2019), (2020, 2020),
                                             (2021, 2025), (2023, 2024)])
def test_the_windows_offered_in_an_error_are_ones_the_plan_reads(first, last):
    """A plan over several years refuses "Quý II" (which year?): an error there offers
    windows that say their year; a one-year plan is offered its own year."""
    from ocop_cli.core.windows import parse_window, window_examples

    offered = window_examples(first, last)
    for example in offered.split(", "):
        parse_window(example, first, last)  # raises if the plan refuses it
    with pytest.raises(ValueError) as error:
        parse_window("Quý X", first, last)
    assert str(error.value) == f"cannot read 'Quý X' as a window; write e.g. {offered}"
    if first is not None and last != first:
        assert "Quý II/" in offered
        with pytest.raises(ValueError):
            parse_window("Quý II", first, last)
    elif first is not None:
        assert f"Tháng 6/{first}" in offered


def test_a_plan_over_several_years_is_offered_windows_with_their_year(ocop, ws, tmp_path):
    path = write_tsv(tmp_path / "nhieu_nam.tsv", [
        HEADER, ["1", "A", "Lớp", "1", "Sở NN và PTNT", "", "Quý X"]])
    before = digest(ws)
    stderr = refused(import_plan(ocop, path, year="2021-2025"), ws, before)
    assert stderr.splitlines() == [
        f"ocop: error: {path}: 1 row at fault (row 2); nothing was imported",
        "  row 2 (task 1), Thời gian thực hiện: cannot read 'Quý X' as a window; write e.g. "
        "Quý II/2021, Tháng 6/2021, 6 tháng đầu năm 2021, Năm 2021, 2021-2025, "
        "Trước 30/6/2021, Hằng năm"]


def test_the_table_may_be_on_another_sheet(ocop, ws, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    notes = book.active
    assert notes is not None
    notes.title = "Ghi chú"
    notes.append(["Bảng phân công ở trang sau"])
    table = book.create_sheet("Phụ lục")
    table.append(HEADER)
    table.append([1, "A", "Lớp", 2, "Sở NN và PTNT", "Chi cục PTNT", "T6"])
    path = tmp_path / "hai_trang.xlsx"
    book.save(path)
    before = digest(ws)
    stderr = refused(import_plan(ocop, path), ws, before)
    assert "no header row" in stderr and "Ghi chú, Phụ lục; name one with --sheet" in stderr
    result = import_plan(ocop, path, "--sheet", "Bảng")
    assert result.exit_code == EXIT_NOT_FOUND and "Sheets: Ghi chú, Phụ lục" in result.stderr
    assert import_plan(ocop, path, "--sheet", "Phụ lục").exit_code == EXIT_OK
    assert tasks_of(plan_of(ws, 2020)) == [
        ("1", "A", "Lớp", "2", "so-nn-ptnt", ("chi-cuc-ptnt",), "T6")]


def test_a_file_that_is_no_table_says_so(ocop, ws, tmp_path):
    before = digest(ws)
    path = tmp_path / "ghi_chu.txt"
    path.write_text("Kế hoạch năm 2020\nchưa có bảng\n", encoding="utf-8")
    assert "no header row" in refused(import_plan(ocop, path), ws, before)
    broken = tmp_path / "hong.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really")
    assert "not a readable XLSX workbook" in refused(import_plan(ocop, broken), ws, before)


@given(st.text())
def test_any_text_is_written_so_that_yaml_reads_it_back(text):
    from ocop_cli.store.yamlio import read_yaml

    text = nfc(text)
    doc = read_yaml(Path("t.yaml"), f"value: {planfile.yaml_str(text)}\n")
    assert doc.data["value"] == text


# --- progress sheets ---------------------------------------------------------------------


@pytest.fixture
def sept(monkeypatch):
    monkeypatch.setenv("OCOP_AS_OF", "2019-09-15")


def task_state(ocop: Any, task_id: str) -> dict[str, Any]:
    result = ocop("tasks", "--format", "json")
    assert result.exit_code == EXIT_OK, result.stderr
    return next(t for t in result.json() if t["id"] == task_id)


def test_a_progress_sheet_is_recorded_in_one_batch(ocop, ws, sept):
    result = ocop("import", "progress", str(PROGRESS))
    assert result.exit_code == EXIT_OK, result.stderr
    assert "Recorded 6 entries from 6 rows" in result.stdout
    assert [p.name for p in (ws / "history").glob("*.yaml")] == ["tester.yaml"]
    found = recorded(ws)
    assert [(e["task"], e["action"], e.get("qty"), e.get("place")) for e in found] == [
        ("1.1", "done", 1, None), ("1.2", "progress", 5, "gia-loc"),
        ("1.2", "progress", 4, "tu-ky"), ("2", "start", None, None),
        ("9", "cancel", None, None), ("4", "done", 1, None)]
    assert found[0]["by"] == "Chi cục PTNT" and found[1]["by"] == "Tester"
    assert found[0]["ref"] == "45/BC-CCPTNT" and found[3]["date"] == "2019-07-15"
    assert task_state(ocop, "1.2")["achieved"] == 9
    assert task_state(ocop, "9")["status"] == "cancelled"
    assert task_state(ocop, "2")["status"] == "in_progress"


def test_the_same_sheet_as_xlsx_with_dates_and_numbers_as_cells(ocop, ws, sept, tmp_path):
    rows: list[list[Any]] = [["BÁO CÁO TIẾN ĐỘ THÁNG 7"], [], PROGRESS_HEADER]
    rows += [[dt.datetime(2019, 7, 5), "1.2", "progress", 5, "Gia Lộc", None, None, None],
             [dt.datetime(2019, 7, 6), 4, "hoàn thành", None, None, None, "9/BC", None],
             ["2019-07-07", "1.2", "Tiến độ", "3", "Tứ Kỳ", None, None, None]]
    path = write_xlsx(tmp_path / "tien_do.xlsx", rows, merged=("A1:H1",))
    result = ocop("import", "progress", str(path))
    assert result.exit_code == EXIT_OK, result.stderr
    assert [(e["task"], e["action"], e.get("qty")) for e in recorded(ws)] == [
        ("1.2", "progress", 5), ("4", "done", 1), ("1.2", "progress", 3)]


def test_one_bad_row_rejects_the_sheet_naming_every_bad_row(ocop, ws, sept, tmp_path):
    rows = [PROGRESS_HEADER,
            ["2019-07-05", "1.2", "progress", "5", "Gia Lộc", "", "", ""],  # good
            ["2019-13-01", "1.2", "progress", "1", "", "", "", ""],
            ["2019-07-06", "99", "done", "", "", "", "", ""],
            ["2019-07-07", "1.2", "progress", "năm", "", "", "", ""],
            ["2019-07-08", "1", "progress", "2", "", "", "", ""],
            ["2019-07-09", "1.2", "finish", "", "", "", "", ""],
            ["2019-07-10", "1.2", "progress", "1", "Hà Nội", "", "", ""],
            ["", "", "", "", "", "", "", ""],
            ["Tổng cộng", "", "", "8", "", "", "", ""],
            ["2019-07-11", "4", "cancel", "", "", "", "", ""],
            ["2019-07-12", "4", "start", "2", "", "", "", ""],
            ["", "5.1", "done", "", "", "", "", ""]]
    before = digest(ws)
    stderr = refused(ocop("import", "progress", str(write_csv(tmp_path / "p.csv", rows))),
                     ws, before)
    for expected in [
        "row 3 (task 1.2), date: '2019-13-01' is not a date",
        "row 4 (task 99): plan 1819/KH-UBND has no task '99'",
        "row 5 (task 1.2), quantity: 'năm' is not a whole number",
        "row 6 (task 1): task 1 has sub-rows; record progress on one of them: 1.1, 1.2",
        "row 7 (task 1.2), action: 'finish' is not an action",
        "row 8 (task 1.2): no agency is called 'Hà Nội'",
        "row 11 (task 4), note: a cancel says why in the note column",
        "row 12 (task 4), quantity: quantity goes with progress or done, not start",
        "row 13 (task 5.1), date: no date",
    ]:
        assert expected in stderr, expected
    assert "row 2 " not in stderr and "row 9" not in stderr and "row 10" not in stderr
    assert "9 rows at fault" in stderr
    assert recorded(ws) == []


def test_each_row_sees_the_rows_above_it(ocop, ws, sept, tmp_path):
    cancel = ["2019-07-01", "9", "cancel", "", "", "", "", "không có kinh phí"]
    more = ["2019-07-02", "9", "progress", "1", "", "", "", ""]
    before = digest(ws)
    path = write_csv(tmp_path / "a.csv", [PROGRESS_HEADER, cancel, more])
    stderr = refused(ocop("import", "progress", str(path)), ws, before)
    assert "row 3 (task 9): task 9 is cancelled; reopen it first" in stderr
    reopen = ["2019-07-02", "9", "reopen", "", "", "", "", ""]
    path = write_csv(tmp_path / "b.csv", [PROGRESS_HEADER, cancel, reopen, more])
    assert ocop("import", "progress", str(path)).exit_code == EXIT_OK
    assert task_state(ocop, "9")["achieved"] == 1


def test_progress_sheet_faults_in_xlsx_are_named_by_sheet_row(ocop, ws, sept, tmp_path):
    before = digest(ws)
    rows: list[list[Any]] = [["Báo cáo"], PROGRESS_HEADER,
                             [dt.datetime(2019, 7, 5), "1.2", "progress", 5],
                             [43651, "1.2", "progress", 1],
                             [dt.datetime(2019, 7, 7), "1.2", "progress", 2]]
    path = write_xlsx(tmp_path / "gop.xlsx", rows, merged=("B5:B6",))
    assert "row 5: cells B5:B6 are merged (rows 5-6)" in refused(
        ocop("import", "progress", str(path)), ws, before)
    path = write_xlsx(tmp_path / "so.xlsx", rows)
    assert "row 4 (task 1.2), date: 43651 is a number, not a date" in refused(
        ocop("import", "progress", str(path)), ws, before)
    path = write_csv(tmp_path / "thieu.csv", [["date", "task", "quantity"], ["2019-07-01", "2"]])
    assert "the header lacks the column(s) action" in refused(
        ocop("import", "progress", str(path)), ws, before)


def test_a_sheet_waits_for_the_workspace_lock_and_gives_up_busy(ws, sept, proc):
    from ocop_cli.core.errors import EXIT_BUSY
    from ocop_cli.store.storage import Workspace
    from ocop_cli.store.write import locked

    with locked(Workspace(ws)):
        result = proc("import", "progress", str(PROGRESS), "--data", str(ws),
                      env={"OCOP_LOCK_TIMEOUT": "0.2"})
    assert result.returncode == EXIT_BUSY, result.stderr
    assert "busy" in result.stderr
    assert recorded(ws) == []


def test_dry_run_checks_and_records_nothing(ocop, ws, sept):
    before = digest(ws)
    result = ocop("import", "progress", str(PROGRESS), "--dry-run")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "6 entries from 6 rows would be recorded" in result.stdout
    assert digest(ws) == before


# --- export ------------------------------------------------------------------------------


def test_export_csv_is_the_appendix_shape(ocop):
    result = ocop("export", "plan")
    assert result.exit_code == EXIT_OK, result.stderr
    rows = list(csv.reader(result.stdout.splitlines()))
    assert rows[0] == HEADER
    assert rows[1] == ["1", "Hội nghị triển khai Đề án", "", "", "", "", ""]
    assert rows[2] == ["-", "Hội nghị cấp tỉnh", "Hội nghị", "1", "UBND tỉnh", "Sở NN và PTNT",
                       "T6"]
    assert rows[-1] == ["11", "Tham dự hội chợ OCOP", "Cuộc", "01", "Sở NN và PTNT",
                        "Chi cục PTNT; các đơn vị tham gia hội chợ", "T 6-12"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_gives_the_same_tasks(ocop, ws, tmp_path, bundled, fmt):
    path = tmp_path / f"ke_hoach.{fmt}"
    result = ocop("export", "plan", "--format", fmt, "--output", str(path))
    assert result.exit_code == EXIT_OK, result.stderr
    assert import_plan(ocop, path).exit_code == EXIT_OK
    again = plan_of(ws, 2020)
    assert tasks_of(again) == bundled
    assert as_written(again) == as_written(plan_of(BUNDLED, 2019))


def test_export_xlsx_keeps_quantities_and_windows_as_text(ocop, tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "k.xlsx"
    assert ocop("export", "plan", "-o", str(path)).exit_code == EXIT_OK
    sheet = load_workbook(path).active
    assert sheet is not None
    values = {row[1].value: (row[3].value, row[6].value) for row in sheet.iter_rows(min_row=2)}
    assert values["Tham dự hội chợ OCOP"] == ("01", "T 6-12")
    assert values["Học tập kinh nghiệm tại tỉnh ngoài (cấp tỉnh)"] == ("1-2", "T6-T12")


def test_export_refuses_to_overwrite_and_xlsx_needs_a_file(ocop, tmp_path):
    path = tmp_path / "k.csv"
    path.write_text("giữ nguyên\n", encoding="utf-8")
    result = ocop("export", "plan", "-o", str(path))
    assert result.exit_code == EXIT_NOT_FOUND and "--force" in result.stderr
    assert path.read_text(encoding="utf-8") == "giữ nguyên\n"
    assert ocop("export", "plan", "-o", str(path), "--force").exit_code == EXIT_OK
    assert path.read_text(encoding="utf-8-sig").startswith("TT,Nội dung thực hiện,")
    assert ocop("export", "plan", "--format", "xlsx").exit_code == EXIT_USAGE
