"""Report files: the Excel workbook holds the JSON's figures with Vietnamese text intact, the
HTML page needs nothing from anywhere and shows data only as text."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from ocop_cli.core.errors import Refused
from ocop_cli.output.export import save

AS_OF = {"OCOP_AS_OF": "2019-09-15"}
SO_NN = "Sở NN và PTNT"
OFFICE = ["TT", "Nội dung", "ĐVT", "Kế hoạch", "Thực hiện", "Tỷ lệ %", "Chủ trì / Phối hợp",
          "Thời gian", "Tình trạng", "Ghi chú"]


def _sheet_rows(sheet: Any) -> tuple[int, list[list[Any]]]:
    """The header's row number and the table's rows under it down to its totals row, as
    values (who signs comes after)."""
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    top = next(i for i, r in enumerate(rows) if r[: len(OFFICE)] == OFFICE)
    end = next((i for i, r in enumerate(rows) if str(r[1]).startswith(("Tổng cộng:", "Total:"))),
               len(rows) - 1)
    return top + 1, rows[top + 1: end + 1]


@pytest.fixture
def recorded(ocop: Any) -> Any:
    assert ocop("done", "5", env=AS_OF).exit_code == 0
    assert ocop("progress", "1.2", "5", "--note", "đã có 5 huyện tổ chức", "--ref",
                "123/BC-SNN", env=AS_OF).exit_code == 0
    return ocop


def test_xlsx_holds_the_same_figures_as_the_json(recorded: Any, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    ocop = recorded
    doc = ocop("report", "--agency", SO_NN, "--format", "json", env=AS_OF).json()
    path = tmp_path / "bao-cao.xlsx"
    result = ocop("report", "--agency", "so nn va ptnt", "--output", str(path), "--lang", "vi",
                  env=AS_OF)
    assert result.exit_code == 0, result.stderr
    book = load_workbook(path)
    sheet = book.worksheets[0]
    header_row, rows = _sheet_rows(sheet)
    # title rows: plan number, as-of date (a date cell), agency
    titles = [c for r in sheet.iter_rows(max_row=header_row - 1, values_only=True) for c in r
              if c]
    assert any("1819/KH-UBND" in str(c) for c in titles)
    assert dt.datetime(2019, 9, 15) in titles
    assert any(SO_NN in str(c) and "Sở Nông nghiệp và Phát triển nông thôn" in str(c)
               for c in titles)
    assert all(sheet.cell(header_row, j).font.bold for j in range(1, len(OFFICE) + 1))
    assert sheet.freeze_panes == f"A{header_row + 1}"
    # each parent's row (no quantity, not counted) before its sub-rows, as the signed plan
    parents = {p["id"]: p for p in doc["parents"]}
    assert set(parents) == {t["parent"] for t in doc["tasks"] if t["parent"]}
    assert len(rows) == len(doc["tasks"]) + len(parents) + 1  # and the totals row
    assert str(rows[-1][1]).startswith(f"Tổng cộng: {len(doc['tasks'])} nhiệm vụ")
    for row in rows:
        if row[0] in parents:
            assert row[1] == parents.pop(row[0])["title"] and row[2:6] == [None] * 4
    assert not parents
    leaf_rows = [r for r in rows[:-1] if r[0] in {t["id"] for t in doc["tasks"]}]
    for row, task in zip(leaf_rows, doc["tasks"], strict=True):
        cells = dict(zip(OFFICE, row, strict=False))
        assert cells["TT"] == task["id"]
        assert cells["Nội dung"] == task["title"]  # Vietnamese text intact
        assert cells["ĐVT"] == task["unit"]
        target = task["target"]
        if target is None:
            assert cells["Kế hoạch"] is None
        elif target["min"] == target["max"]:
            assert cells["Kế hoạch"] == target["min"] and isinstance(cells["Kế hoạch"], int)
        else:
            assert cells["Kế hoạch"] == f"{target['min']}-{target['max']}"
        if target is not None:
            assert cells["Thực hiện"] == task["achieved"]
            assert isinstance(cells["Thực hiện"], int)
        if task["percent"] is None:
            assert cells["Tỷ lệ %"] is None
        else:
            assert cells["Tỷ lệ %"] == pytest.approx(task["percent"] / 100)
        assert cells["Chủ trì / Phối hợp"].startswith(task["lead"])
        assert cells["Thời gian"] == task["window"]
    by_id = {row[0]: row for row in rows}
    assert by_id["1.2"][9] == "đã có 5 huyện tổ chức; 123/BC-SNN"
    percent_cell = sheet.cell(header_row + 1 + [r[0] for r in rows].index("1.2"), 6)
    assert percent_cell.number_format == "0.0%"
    # one sheet per section
    assert len(book.worksheets) == 4  # the follow-up section (tasks open late) too
    for sheet in book.worksheets:
        widths = [sheet.column_dimensions[c].width for c in "AB"]
        assert all(w and w >= 4 for w in widths)


def test_xlsx_rows_written_in_order_keep_the_printed_layout(recorded: Any,
                                                            tmp_path: Path) -> None:
    # The sheet is written a row at a time: the letterhead's merged lines, each row's height,
    # the borders, the frozen header and the signature under the table all still there.
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    path = tmp_path / "bao-cao.xlsx"
    assert recorded("report", "--agency", "so nn va ptnt", "--output", str(path), "--lang",
                    "vi", env=AS_OF).exit_code == 0
    sheet = load_workbook(path).worksheets[0]
    header_row, rows = _sheet_rows(sheet)
    last = get_column_letter(len(OFFICE))
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {f"A5:{last}5", f"A6:{last}6", f"A7:{last}7"} <= merged  # kind, subject, title
    assert sheet.cell(5, 1).font.bold and sheet.cell(5, 1).font.name == "Times New Roman"
    for row in range(header_row, header_row + len(rows) + 1):
        assert (sheet.row_dimensions[row].height or 0) >= 15
        assert sheet.cell(row, 1).border.left.style == "thin"
    by_id = {r[0]: i for i, r in enumerate(rows, header_row + 1)}
    assert sheet.row_dimensions[by_id["1.2"]].height >= 30  # its note wraps to two lines
    assert sheet.print_title_rows == f"$${header_row}:$${header_row}".replace("$$", "$")
    below = [c for r in sheet.iter_rows(min_row=header_row + len(rows) + 1, values_only=True)
             for c in r if c]
    assert any("Nơi nhận" in str(c) for c in below)


def test_xlsx_of_the_overview_has_a_sheet_per_section(ocop: Any, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "tong-hop.xlsx"
    assert ocop("report", "--format", "xlsx", "--output", str(path), env=AS_OF).exit_code == 0
    book = load_workbook(path)
    assert len(book.sheetnames) == 5  # the follow-up section too
    matrix = book.worksheets[1]
    values = [c for r in matrix.iter_rows(values_only=True) for c in r]
    assert "T6" in values and "T12" in values
    counts = [v for v in values if isinstance(v, int)]
    assert counts and max(counts) > 0  # counts stored as numbers, not "3!"
    flagged = [c for r in matrix.iter_rows() for c in r if c.fill.fgColor.rgb == "00F4C7C3"]
    assert flagged  # overdue cells are marked


def test_xlsx_keeps_a_formula_looking_note_as_text(ocop: Any, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    ocop("note", "1.2", "=HYPERLINK(\"x\",\"y\")", env=AS_OF)
    path = tmp_path / "r.xlsx"
    assert ocop("report", "-a", SO_NN, "-o", str(path), env=AS_OF).exit_code == 0
    sheet = load_workbook(path).worksheets[0]
    cell = next(c for r in sheet.iter_rows() for c in r if str(c.value).startswith("=HYPER"))
    assert cell.data_type == "s"


def _hostile_workspace(ws: Path) -> None:
    plan = ws / "plan_2019.yaml"
    text = plan.read_text(encoding="utf-8")
    text = text.replace("title: Hội nghị cấp tỉnh",
                        "title: 'Hội nghị <script>alert(1)</script> [bold]cấp tỉnh[/bold] & co'")
    plan.write_text(text, encoding="utf-8")


def test_html_is_self_contained_printable_and_escaped(ocop: Any, ws: Path,
                                                      tmp_path: Path) -> None:
    _hostile_workspace(ws)
    ocop("note", "1.1", "<img src=x onerror=alert(2)> \"quoted\"", env=AS_OF)
    path = tmp_path / "bao-cao.html"
    result = ocop("report", "--output", str(path), env=AS_OF)
    assert result.exit_code == 0, result.stderr
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert not re.search(r"https?://", page)
    assert not re.search(r"<[^>]*\s(src|href)\s*=", page)  # no tag fetches anything
    assert "@page" in page and "A4 landscape" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; [bold]cấp tỉnh[/bold] &amp; co" in page
    assert "&lt;img src=x onerror=alert(2)&gt; &quot;quoted&quot;" in page
    assert "<svg" in page and "</svg>" in page
    assert page.count('<table class="data">') == 5  # the follow-up section too
    for header in ("Content", "Lead / Partners", "Status"):
        assert header in page


def test_html_timeline_draws_a_bar_per_window(ocop: Any) -> None:
    ocop("done", "5", env=AS_OF)
    page = ocop("report", "--agency", SO_NN, "--format", "html", env=AS_OF).stdout
    svg = page[page.index("<svg"): page.index("</svg>")]
    bars = re.findall(r'<rect [^>]*rx="3" fill="(#[0-9a-f]{6})"', svg)
    doc = ocop("report", "--agency", SO_NN, "--format", "json", env=AS_OF).json()
    assert len(bars) == len(doc["tasks"])  # every window of these tasks is one run of months
    assert bars.count("#4c9a4c") == 2  # 5.1 and 5.2 done
    assert "stroke-dasharray" in svg  # the as-of line


def test_save_replaces_only_with_force(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"
    save(path, False, lambda p: p.write_text("một", encoding="utf-8"))
    with pytest.raises(Refused, match="--force"):
        save(path, False, lambda p: p.write_text("hai", encoding="utf-8"))
    assert path.read_text(encoding="utf-8") == "một"
    save(path, True, lambda p: p.write_text("ba", encoding="utf-8"))
    assert path.read_text(encoding="utf-8") == "ba"
    assert [p.name for p in tmp_path.iterdir()] == ["r.txt"]


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "r.txt"

    def broken(p: Path) -> None:
        p.write_text("half", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(Refused, match="No space left"):
        save(path, False, broken)
    assert list(tmp_path.iterdir()) == []


def test_every_format_a_report_offers_is_drawn_by_a_formatter() -> None:
    from ocop_cli.commands.report import ReportFormat
    from ocop_cli.output.formats import FORMATTERS, SUFFIXES, choose_format

    assert set(FORMATTERS) == {f.value for f in ReportFormat}
    assert set(SUFFIXES.values()) <= set(FORMATTERS)
    assert choose_format(None, "bao-cao.DOCX") == "docx"
    assert choose_format(None, "bao-cao") == "table"
    assert choose_format("md", "bao-cao.docx") == "md"


@pytest.mark.parametrize("name", ["bao-cao.doc", "bao-cao.xls", "bao-cao.odt", "BAO.DOCX.bak"])
def test_a_file_type_ocop_does_not_write_is_refused(recorded: Any, tmp_path: Path,
                                                    name: str) -> None:
    from ocop_cli.core.errors import EXIT_USAGE

    out = tmp_path / "out"
    out.mkdir()
    for args in ((), ("--format", "md"), ("--lang", "vi")):
        result = recorded("report", "-o", str(out / name), *args, env=AS_OF)
        assert result.exit_code == EXIT_USAGE
        assert ".docx .pdf" in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) <= 2  # the error, and a hint at most
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("name", ["plan.doc", "plan.xls", "plan.ods"])
def test_the_plan_table_is_not_written_under_a_type_it_is_not(recorded: Any, tmp_path: Path,
                                                              name: str) -> None:
    from ocop_cli.core.errors import EXIT_USAGE

    out = tmp_path / "out"
    out.mkdir()
    result = recorded("export", "plan", "-o", str(out / name))
    assert result.exit_code == EXIT_USAGE
    assert ".csv .xlsx" in result.stderr and "Traceback" not in result.stderr
    assert list(out.iterdir()) == []


def _programs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """Only a `soffice` that runs `script` on the PATH."""
    folder = tmp_path / "bin"
    folder.mkdir()
    program = folder / "soffice"
    program.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))


def test_a_pdf_without_a_program_to_print_it_names_the_packages(
        recorded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    out = tmp_path / "bao-cao.pdf"
    result = recorded("report", "-o", str(out), env=AS_OF)
    assert result.exit_code == 1
    assert "libreoffice-writer-nogui" in result.stderr and "chromium" in result.stderr
    assert not out.exists()


def test_a_printer_that_fails_or_hangs_is_one_line_and_writes_nothing(
        recorded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ocop_cli.output import printed

    out = tmp_path / "bao-cao.pdf"
    sleep = shutil.which("sleep")
    _programs(tmp_path, monkeypatch, "echo 'Error: source file could not be loaded' >&2\nexit 1")
    result = recorded("report", "-o", str(out), env=AS_OF)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "ocop: error: soffice could not print the PDF (exit 1): Error: source file could not "
        "be loaded"]
    assert not out.exists()
    (tmp_path / "bin" / "soffice").unlink()
    (tmp_path / "bin").rmdir()
    _programs(tmp_path, monkeypatch, f"exec {sleep} 30")
    monkeypatch.setattr(printed, "TIMEOUT_S", 1)
    result = recorded("report", "-o", str(out), env=AS_OF)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "ocop: error: soffice did not print the PDF within 1 seconds"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "ws"]
