"""The report as the document an office files: the DOCX laid out as Nghị định 30/2020/NĐ-CP
(letterhead from office.yaml, Times New Roman on A4, the table with its header repeated),
print-ready XLSX, CSV files for Excel, one language per file, and the DOCX and HTML printed
to PDF by LibreOffice and Chromium: A4, the table within the page."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

AS_OF = {"OCOP_AS_OF": "2019-09-15"}
OFFICE_VI = ["TT", "Nội dung", "ĐVT", "Kế hoạch", "Thực hiện", "Tỷ lệ %",
             "Chủ trì / Phối hợp", "Thời gian", "Tình trạng", "Ghi chú"]
OFFICE_EN = ["No.", "Content", "Unit", "Planned", "Achieved", "Rate %", "Lead / Partners",
             "Time frame", "Status", "Remarks"]
MM = 36000  # EMU in a millimetre


@pytest.fixture
def recorded(ocop: Any) -> Any:
    assert ocop("done", "2", env=AS_OF).exit_code == 0
    assert ocop("progress", "1.2", "5", "--place", "Gia Lộc", "--note",
                "đã có 5 huyện tổ chức", "--ref", "45/BC-UBND", env=AS_OF).exit_code == 0
    return ocop


def _docx(ocop: Any, path: Path, *args: str) -> Any:
    from docx import Document

    result = ocop("report", "--output", str(path), *args, env=AS_OF)
    assert result.exit_code == 0, result.stderr
    return Document(str(path))


def _texts(cell: Any) -> list[str]:
    return [p.text for p in cell.paragraphs if p.text]


def test_docx_has_the_letterhead_body_tables_and_signature(recorded: Any, ws: Path,
                                                           tmp_path: Path) -> None:
    ocop = recorded
    doc = ocop("report", "--format", "json", env=AS_OF).json()
    book = _docx(ocop, tmp_path / "bao-cao.docx", "--lang", "vi", "--number", "45",
                 "--dated", "30/09/2019", "--signer", "Nguyễn Văn A")
    first, appendix = book.sections

    def mm(*lengths: int) -> tuple[int, ...]:
        return tuple(round(length / MM) for length in lengths)

    assert mm(first.page_width, first.page_height) == (210, 297)  # A4 upright
    assert mm(first.top_margin, first.bottom_margin, first.left_margin,
              first.right_margin) == (20, 20, 30, 15)
    assert mm(appendix.page_width, appendix.page_height) == (297, 210)
    header, closing, tasks, late, units = book.tables
    # the follow-up section: tasks open late, the most days late first
    assert [c.text for c in late.rows[0].cells][2:4] == ["Hạn hoàn thành", "Số ngày quá hạn"]
    days = [int(row.cells[3].text) for row in late.rows[1:]]
    assert days and days == sorted(days, reverse=True)
    left, right = header.rows[0].cells
    assert _texts(left) == ["UBND TỈNH HẢI DƯƠNG", "SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN",
                            "Số: 45/BC-SNN"]
    assert _texts(right) == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                             "Độc lập - Tự do - Hạnh phúc",
                             "Hải Dương, ngày 30 tháng 9 năm 2019"]
    paragraphs = [p.text for p in book.paragraphs if p.text]
    kind = paragraphs.index("BÁO CÁO")
    assert paragraphs[kind + 1] == ("Kết quả thực hiện Kế hoạch số 1819/KH-UBND ngày 07/06/2019 "
                                    "của UBND tỉnh, tính đến ngày 15/09/2019")
    counts = doc["counts"]
    assert paragraphs[kind + 2] == (
        f"Tính đến ngày 15/09/2019, Kế hoạch có {counts['tasks']} nhiệm vụ: "
        f"{counts['done']} hoàn thành, {counts['in_progress']} đang thực hiện, "
        f"{counts['not_started']} chưa bắt đầu.")
    overdue = next(p for p in paragraphs if p.startswith("Các nhiệm vụ quá hạn: "))
    assert all(f"{t['id']} " in overdue for t in doc["overdue"])
    recipients, signer = closing.rows[0].cells
    assert _texts(recipients)[0] == "Nơi nhận:"
    assert "- Lưu: VT, CCPTNT." in _texts(recipients)
    assert _texts(signer) == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Nguyễn Văn A"]
    # the table: the form's headers, repeated on every page; every task in plan order, totals
    head = tasks.rows[0]
    assert [c.text for c in head.cells] == OFFICE_VI
    assert head._tr.trPr.xpath("./w:tblHeader")
    every = ocop("tasks", "--format", "json", env=AS_OF).json()
    leaves = [t["id"] for t in every if t["leaf"]]
    # as the signed plan's table: each parent's row (TT 1) above its sub-rows (1.1, 1.2)
    assert [r.cells[0].text for r in tasks.rows[1:-1]] == [t["id"] for t in every]
    by_id = {r.cells[0].text: [c.text for c in r.cells] for r in tasks.rows[1:-1]}
    assert by_id["1"][1:6] == ["Hội nghị triển khai Đề án", "", "", "", ""]  # no quantity
    assert by_id["1"][8] == "đang thực hiện, quá hạn, muộn 46 ngày"  # from its sub-rows
    assert by_id["1.2"][1] == "Hội nghị cấp huyện"
    assert all(r.runs[0].font.bold for r in tasks.rows[1].cells[1].paragraphs)
    assert by_id["1.2"][3:6] == ["12", "5", "41,7"]  # decimal comma
    assert by_id["1.2"][9] == "đã có 5 huyện tổ chức; 45/BC-UBND"
    assert tasks.rows[-1].cells[1].text.startswith(f"Tổng cộng: {len(leaves)} nhiệm vụ (")
    assert "không cộng số lượng khác đơn vị tính" in tasks.rows[-1].cells[1].text
    assert tasks.rows[-1].cells[3].text == ""  # conferences, classes... never added up
    # the tasks the district units share: 3.2 is each unit's own steering committee
    assert [r.cells[0].text for r in units.rows[1:]] == ["1.2", "3.2", "5.2", "6"]
    assert "Gia Lộc" in units.rows[1].cells[4].text  # after its share (1), its units done
    # Times New Roman, 11 to 14 pt, everywhere
    runs = [r for p in book.paragraphs for r in p.runs]
    runs += [r for t in book.tables for row in t.rows for c in row.cells
             for p in c.paragraphs for r in p.runs]
    assert runs and all(r.font.name == "Times New Roman" for r in runs)
    assert {r.font.size.pt for r in runs if r.text} <= {11, 12, 13, 14}
    assert book.styles["Normal"].font.name == "Times New Roman"


def test_missing_office_fields_leave_visible_blanks(recorded: Any, ws: Path,
                                                   tmp_path: Path) -> None:
    (ws / "office.yaml").unlink()
    book = _docx(recorded, tmp_path / "r.docx", "--lang", "vi")
    left, right = book.tables[0].rows[0].cells
    assert _texts(left) == ["…", "…", "Số: …/BC-…"]
    assert _texts(right)[-1] == "…, ngày … tháng … năm …"
    assert _texts(book.tables[1].rows[0].cells[1]) == ["…", "…"]


def test_office_yaml_with_only_some_fields(recorded: Any, ws: Path, tmp_path: Path) -> None:
    (ws / "office.yaml").write_text("issuer: Phòng Nông nghiệp và PTNT huyện Gia Lộc\n"
                                    "symbol: BC-PNN\nsigner: Trần Thị B\n", encoding="utf-8")
    book = _docx(recorded, tmp_path / "r.docx", "--lang", "vi", "--number", "12/BC-PNN",
                 "--dated", "5/2/2020")
    left = _texts(book.tables[0].rows[0].cells[0])
    assert left == ["…", "PHÒNG NÔNG NGHIỆP VÀ PTNT HUYỆN GIA LỘC", "Số: 12/BC-PNN"]
    # a day under 10 and the months 1 and 2 take a leading zero; no place, a blank
    assert _texts(book.tables[0].rows[0].cells[1])[-1] == "…, ngày 05 tháng 02 năm 2020"
    assert _texts(book.tables[1].rows[0].cells[1]) == ["…", "Trần Thị B"]


def _user_letterheads(text: str) -> Path:
    """The user's own letterheads.yaml, in the config folder of the test's home."""
    folder = Path(os.environ["HOME"]) / ".config" / "ocop"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "letterheads.yaml").write_text(text, encoding="utf-8")
    return folder / "letterheads.yaml"


def test_a_district_report_is_issued_under_the_district_letterhead(
        recorded: Any, ws: Path, tmp_path: Path) -> None:
    office_yaml = (ws / "office.yaml").read_bytes()
    book = _docx(recorded, tmp_path / "gialoc.docx", "--agency", "Gia Lộc", "--lang", "vi")
    left, right = book.tables[0].rows[0].cells
    assert _texts(left) == ["UBND HUYỆN GIA LỘC", "PHÒNG NÔNG NGHIỆP VÀ PTNT", "Số: …/BC-PNN"]
    assert _texts(right)[-1] == "Gia Lộc, ngày … tháng … năm …"
    assert _texts(book.tables[1].rows[0].cells[1]) == ["TRƯỞNG PHÒNG", "…"]
    assert "- UBND huyện Gia Lộc (để b/c);" in _texts(book.tables[1].rows[0].cells[0])
    subject = next(p.text for p in book.paragraphs if p.text.startswith("Kết quả"))
    assert "đối với các nhiệm vụ của Gia Lộc" in subject
    # a department's report under its own; the whole plan's under office.yaml
    book = _docx(recorded, tmp_path / "stc.docx", "--agency", "so tai chinh", "--lang", "vi")
    assert _texts(book.tables[0].rows[0].cells[0])[1:] == ["SỞ TÀI CHÍNH", "Số: …/BC-STC"]
    book = _docx(recorded, tmp_path / "all.docx", "--lang", "vi")
    assert _texts(book.tables[0].rows[0].cells[0])[1] == "SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN"
    assert (ws / "office.yaml").read_bytes() == office_yaml  # nothing for sync to commit


def test_issuer_chooses_the_letterhead_as_agency_names_are_read(recorded: Any,
                                                                tmp_path: Path) -> None:
    book = _docx(recorded, tmp_path / "r.docx", "--agency", "Gia Lộc", "--issuer",
                 "Chi cuc PTNT", "--lang", "vi")
    assert _texts(book.tables[0].rows[0].cells[0]) == [
        "SỞ NÔNG NGHIỆP VÀ PTNT HẢI DƯƠNG", "CHI CỤC PHÁT TRIỂN NÔNG THÔN", "Số: …/BC-CCPTNT"]
    # an agency without a letterhead of its own issues under its name, the rest blank
    book = _docx(recorded, tmp_path / "r2.docx", "--issuer", "Hội Nông dân tỉnh", "--lang",
                 "vi")
    assert _texts(book.tables[0].rows[0].cells[0]) == ["…", "HỘI NÔNG DÂN TỈNH HẢI DƯƠNG",
                                                       "Số: …/BC-…"]
    out = tmp_path / "r3.docx"
    wrong = recorded("report", "--issuer", "Sở", "-o", str(out), env=AS_OF)
    assert wrong.exit_code == 1 and "fits several agencies" in wrong.stderr
    assert not out.exists()



def test_the_product_report_is_issued_under_the_issuer_asked_for(recorded: Any,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "sp.docx"
    done = recorded("product", "report", "--issuer", "Gia Lộc", "--lang", "vi", "-o", str(out),
                    env=AS_OF)
    assert done.exit_code == 0, done.stderr
    from docx import Document

    left = Document(str(out)).tables[0].rows[0].cells[0]
    assert _texts(left)[:2] == ["UBND HUYỆN GIA LỘC", "PHÒNG NÔNG NGHIỆP VÀ PTNT"]

def test_this_clone_signs_in_the_user_config_folder(recorded: Any, ws: Path,
                                                    tmp_path: Path) -> None:
    _user_letterheads("office:\n  signer: Nguyễn Văn A\nagencies:\n  gia loc:\n"
                      "    authority: KT. TRƯỞNG PHÒNG\n    title: PHÓ TRƯỞNG PHÒNG\n"
                      "    signer: Trần Thị B\n")
    book = _docx(recorded, tmp_path / "g.docx", "--agency", "Gia Lộc", "--lang", "vi")
    signature = _texts(book.tables[1].rows[0].cells[1])
    assert signature == ["KT. TRƯỞNG PHÒNG", "PHÓ TRƯỞNG PHÒNG", "Trần Thị B"]
    assert _texts(book.tables[0].rows[0].cells[0])[0] == "UBND HUYỆN GIA LỘC"  # the rest kept
    book = _docx(recorded, tmp_path / "all.docx", "--lang", "vi")
    assert _texts(book.tables[1].rows[0].cells[1])[-1] == "Nguyễn Văn A"
    # the options still have the last word
    book = _docx(recorded, tmp_path / "o.docx", "--lang", "vi", "--signer", "Lê C")
    assert _texts(book.tables[1].rows[0].cells[1])[-1] == "Lê C"


@pytest.mark.parametrize(("text", "said"), [
    ("office:\n  signer: [a]\n", ":2:3: office.signer: expected one line of text"),
    ("agencies:\n  Gia Lo:\n    signer: A\n", ":2:3: agencies.Gia Lo: 'Gia Lo' fits several"),
    ("agencies:\n  Gia Lộc:\n    signr: A\n", ":3:5: agencies.Gia Lộc.signr: unknown field"),
    ("offices:\n  signer: A\n", ":1:1: offices: unknown key; the keys are office and agencies"),
    ("- a\n- b\n", ":1:1: expected office: and agencies:"),
    ("office: [\n", "letterheads.yaml:"),
    ("office:\n  signer: '" + "x" * 2**20 + "'\n", "over the limit"),
])
def test_a_bad_user_letterheads_file_is_named_and_nothing_is_written(
        recorded: Any, tmp_path: Path, text: str, said: str) -> None:
    path = _user_letterheads(text)
    out = tmp_path / "r.docx"
    result = recorded("report", "-o", str(out), env=AS_OF)
    assert result.exit_code == 3, result.stderr
    assert f"{path}{said}" in result.stderr or said in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_english_document_is_english_throughout(recorded: Any, tmp_path: Path) -> None:
    book = _docx(recorded, tmp_path / "r.docx", "--lang", "en", "--period", "2019-Q3")
    right = _texts(book.tables[0].rows[0].cells[1])
    assert right == ["SOCIALIST REPUBLIC OF VIET NAM", "Independence - Freedom - Happiness",
                     "Hải Dương, … 2019"]  # the day left blank, as drafts leave it
    assert [c.text for c in book.tables[2].rows[0].cells] == OFFICE_EN
    text = "\n".join(p.text for p in book.paragraphs)
    assert "REPORT" in text and "quarter III of 2019" in text and "2019-09-15" in text
    for word in ("Nội dung", "Tình trạng", "quá hạn", "BÁO CÁO", "Nơi nhận"):
        assert word not in text
        assert all(word not in c.text for t in book.tables for r in t.rows for c in r.cells)


def test_an_english_date_line_reads_as_english_writes_it(recorded: Any,
                                                         tmp_path: Path) -> None:
    book = _docx(recorded, tmp_path / "r.docx", "--lang", "en", "--dated", "7/12/2026")
    assert _texts(book.tables[0].rows[0].cells[1])[-1] == "Hải Dương, 7 December 2026"
    book = _docx(recorded, tmp_path / "g.docx", "--lang", "en", "--agency", "Gia Lộc")
    assert _texts(book.tables[0].rows[0].cells[1])[-1] == "Gia Lộc, … 2019"


@pytest.mark.parametrize(("lang", "month"), [("en", "July 2019"), ("vi", "tháng 7 năm 2019")])
def test_a_month_is_named_as_people_write_it(recorded: Any, tmp_path: Path, lang: str,
                                             month: str) -> None:
    book = _docx(recorded, tmp_path / "r.docx", "--lang", lang, "--month", "7")
    text = "\n".join(p.text for p in book.paragraphs)
    assert month in text and "7/2019" not in text


def test_agency_document_carries_its_duties_in_section_v(recorded: Any, ws: Path,
                                                         tmp_path: Path) -> None:
    doc = recorded("report", "--agency", "Gia Lộc", "--format", "json", env=AS_OF).json()
    book = _docx(recorded, tmp_path / "r.docx", "--lang", "vi", "--agency", "Gia Lộc")
    duties = next(t for t in book.tables if t.rows[0].cells[1].text.startswith("Nhiệm vụ được"))
    assert [c.text for c in duties.rows[0].cells] == ["TT", "Nhiệm vụ được giao (mục V)",
                                                      "Với tư cách thành viên của"]
    assert [r.cells[1].text for r in duties.rows[1:]] == [d["text"] for d in doc["duties"]]
    assert len(doc["duties"]) == 5


def test_xlsx_ends_its_first_sheet_with_recipients_and_signer(recorded: Any, ws: Path,
                                                              tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "r.xlsx"
    assert recorded("report", "--agency", "so nn va ptnt", "--lang", "vi", "--signer",
                    "Nguyễn Văn A", "-o", str(path), env=AS_OF).exit_code == 0
    first, *others = load_workbook(path).worksheets
    cells = [[c.value for c in row] for row in first.iter_rows()]
    total = next(i for i, r in enumerate(cells) if str(r[1]).startswith("Tổng cộng:"))
    below = [[v for v in r if v] for r in cells[total + 1:]]
    assert below[0] == [] and below[1] == ["Nơi nhận:", "KT. GIÁM ĐỐC"]
    assert below[2] == ["- UBND tỉnh (để b/c);", "PHÓ GIÁM ĐỐC"]
    assert below[-1] == ["Nguyễn Văn A"] and len(below) == 8  # four rows to sign and seal
    assert first.cell(total + 3, 1).font.italic and first.cell(total + 3, 1).font.bold
    # the breakdowns that follow are the appendix: signed once, on the report's own table
    assert all("Nơi nhận:" not in [c.value for r in s.iter_rows() for c in r] for s in others)


def test_bad_office_yaml_is_named_and_nothing_is_written(recorded: Any, ws: Path,
                                                         tmp_path: Path) -> None:
    (ws / "office.yaml").write_text("issuer: Sở NN\nsigner: [a, b]\nsignr: x\n",
                                    encoding="utf-8")
    check = recorded("check")
    assert check.exit_code == 3
    assert "office.yaml:2:1: signer: expected one line of text" in check.stderr
    assert "office.yaml:3:1: signr: unknown field" in check.stderr
    out = tmp_path / "r.docx"
    result = recorded("report", "-o", str(out), env=AS_OF)
    assert result.exit_code == 3 and "office.yaml:2" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    # the table formats do not need a letterhead
    assert recorded("report", "--format", "json", env=AS_OF).exit_code == 0


def test_init_writes_a_commented_office_yaml_that_checks(ocop: Any, tmp_path: Path) -> None:
    assert ocop("init", str(tmp_path / "new")).exit_code == 0
    text = (tmp_path / "new" / "office.yaml").read_text(encoding="utf-8")
    assert text.startswith("# ") and "Nghị định 30/2020/NĐ-CP" in text
    assert ocop("check", "--data", str(tmp_path / "new")).exit_code == 0


def test_xlsx_is_ready_to_print(recorded: Any, tmp_path: Path) -> None:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    path = tmp_path / "r.xlsx"
    result = recorded("report", "--period", "2019-Q3", "--lang", "vi", "-o", str(path),
                      env=AS_OF)
    assert result.exit_code == 0, result.stderr
    book = load_workbook(path)
    for sheet in book.worksheets:
        setup = sheet.page_setup
        assert (setup.orientation, setup.paperSize) == ("landscape", 9)  # 9: A4
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        top = int(sheet.print_title_rows.split(":")[0].lstrip("$"))
        assert sheet.freeze_panes == f"A{top + 1}"
        values = [c.value for c in sheet[1]] + [c.value for c in sheet[2]]
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in values
        assert "SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN" in values
        header = sheet[top]
        assert all(c.border.left.style == "thin" and c.font.bold for c in header if c.value)
        # (a cell merged into the one before it prints in that one's font)
        assert all(c.font.name == "Times New Roman" for c in header
                   if type(c).__name__ != "MergedCell")
        widths = [sheet.column_dimensions[get_column_letter(c.column)].width for c in header]
        assert sum(widths) <= 160
    tasks = book["Đến hạn"]
    top = int(tasks.print_title_rows.split(":")[0].lstrip("$"))
    rows = list(tasks.iter_rows(min_row=top + 1))
    rows = rows[: 1 + next(i for i, r in enumerate(rows)
                           if str(r[1].value).startswith("Tổng cộng:"))]  # then who signs
    assert all(c.alignment.wrap_text and c.border.bottom.style == "thin" for r in rows for c in r)
    achieved = book["Thực hiện"]
    top = int(achieved.print_title_rows.split(":")[0].lstrip("$"))
    last = [c.value for c in achieved[top]].index("Lần ghi nhận cuối") + 1
    assert achieved.cell(top + 1, 1).value == "1"  # a parent's row, bold, before 1.2
    assert achieved.cell(top + 1, 1).font.bold and achieved.cell(top + 1, last).value is None
    day = achieved.cell(top + 2, last)
    assert day.value == dt.datetime(2019, 9, 15) and day.number_format == "dd/mm/yyyy"


def test_csv_file_has_a_bom_and_standard_output_does_not(recorded: Any,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    assert recorded("report", "-o", str(path), "--lang", "vi", env=AS_OF).exit_code == 0
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "Nội dung".encode() in raw
    out = recorded("report", "--format", "csv", env=AS_OF).stdout
    assert not out.startswith("\ufeff")


def test_vietnamese_numbers_and_dates(recorded: Any) -> None:
    recorded("progress", "10", "1234", env=AS_OF)
    out = recorded("report", "--agency", "so nn va ptnt", "--lang", "vi", "--as-of",
                   "15/09/2019", env={"COLUMNS": "220"}).stdout
    assert "Tính đến ngày: 15/09/2019" in out
    assert "41,7" in out and "41.7" not in out
    assert "1.234" in out and "6.170" in out  # 1234 of 20 cooperatives: 6170 %
    english = recorded("report", "--agency", "so nn va ptnt", "--lang", "en",
                       env={**AS_OF, "COLUMNS": "220"}).stdout
    assert "As of: 2019-09-15" in english and "41.7" in english and "1,234" in english
    levels = recorded("agencies", "--lang", "vi").stdout
    assert "tỉnh" in levels and "province" not in levels


def test_a_date_typed_as_vietnamese_write_it(recorded: Any) -> None:
    iso = recorded("tasks", "--format", "json", "--as-of", "2019-07-15").json()
    typed = recorded("tasks", "--format", "json", "--as-of", "15/7/2019").json()
    assert typed == iso
    assert recorded("note", "1.2", "x", "--date", "16/09/2019", env=AS_OF).exit_code == 0
    history = recorded("history", "1.2", "--format", "json").json()
    assert history[-1]["date"] == "2019-09-16"
    wrong = recorded("tasks", "--as-of", "32/01/2019")
    assert wrong.exit_code == 2 and "YYYY-MM-DD or DD/MM/YYYY" in wrong.stderr


# --- printed: LibreOffice and Chromium ---------------------------------------------------------


def _pdf_words(pdf: Path) -> list[tuple[int, float, float, float, float]]:
    """Every word's page and box, from poppler's pdftotext."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    words, page = [], 0
    for line in out.splitlines():
        if "<page " in line:
            page += 1
        found = re.search(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"',
                          line)
        if found and "<word" in line:
            words.append((page, *map(float, found.groups())))
    return words


def _printed(pdf: Path, pages: tuple[int, int]) -> tuple[list[tuple[int, int]], str]:
    """The sizes of the pages (A4, either way up, their number within `pages`) and their
    text; every word at least 5 mm inside the page's edges."""
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    assert pages[0] <= len(reader.pages) <= pages[1], len(reader.pages)
    sizes = [(round(float(p.mediabox.width)), round(float(p.mediabox.height)))
             for p in reader.pages]
    assert set(sizes) <= {(595, 842), (842, 595)}, sizes
    edge = 5 * 72 / 25.4
    words = _pdf_words(pdf)
    assert words
    for page, x0, y0, x1, y1 in words:
        width, height = sizes[page - 1]
        assert edge <= x0 and x1 <= width - edge and edge <= y0 and y1 <= height - edge, \
            (page, x0, y0, x1, y1)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    return sizes, text


def _poppler() -> None:
    if not shutil.which("pdftotext"):
        pytest.skip("poppler's pdftotext is not installed (Debian: poppler-utils)")


def _libreoffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        pytest.skip("LibreOffice is not installed (Debian: libreoffice-writer-nogui)")
    return found


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("Chromium is not installed (Debian: chromium)")
    return found


def docx_to_pdf(docx: Path) -> Path:
    profile = tempfile.mkdtemp(prefix="lo-")
    try:
        subprocess.run([_libreoffice(), f"-env:UserInstallation=file://{profile}",
                        "--headless", "--convert-to", "pdf", "--outdir", str(docx.parent),
                        str(docx)], capture_output=True, check=True, timeout=240,
                       env={**os.environ, "HOME": profile})
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return docx.with_suffix(".pdf")


def html_to_pdf(page: Path) -> Path:
    pdf = page.with_suffix(".pdf")
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                        f"--user-data-dir={profile}",
                        "--no-pdf-header-footer", f"--print-to-pdf={pdf}",
                        page.resolve().as_uri()], capture_output=True, check=True,
                       timeout=240)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return pdf


def test_docx_printed_by_libreoffice_is_a4_with_the_table_inside(recorded: Any,
                                                                 tmp_path: Path) -> None:
    _libreoffice()
    _poppler()
    path = tmp_path / "bao-cao.docx"
    assert recorded("report", "--lang", "vi", "-o", str(path), env=AS_OF).exit_code == 0
    sizes, text = _printed(docx_to_pdf(path), (2, 6))
    assert sizes[0] == (595, 842) and sizes[-1] == (842, 595)  # letter upright, table wide
    for line in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "BÁO CÁO", "Nơi nhận:", "PHỤ LỤC",
                 "Ghi chú", "Tổng cộng:"):
        assert line in text
    # the table's header row on every page the table spans, the letter's pages upright
    pages = text.split("\f")
    spanned = [i for i, s in enumerate(sizes) if s == (842, 595)]
    spanned = spanned[: 1 + next(i for i in spanned if "Tổng cộng:" in pages[i]) - spanned[0]]
    assert [i for i, page in enumerate(pages) if "Chủ trì / Phối hợp" in page] == spanned


def test_html_printed_by_chromium_is_a4_landscape_with_the_tables_inside(
        recorded: Any, tmp_path: Path) -> None:
    _chromium()
    _poppler()
    path = tmp_path / "bao-cao.html"
    assert recorded("report", "--lang", "vi", "-o", str(path), env=AS_OF).exit_code == 0
    sizes, text = _printed(html_to_pdf(path), (2, 8))
    assert set(sizes) == {(842, 595)}
    for line in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "BÁO CÁO", "Nơi nhận:", "Ghi chú"):
        assert line in text


def test_totals_add_quantities_only_in_one_unit(recorded: Any) -> None:
    from ocop_cli.core.i18n import set_language
    from ocop_cli.output.sections import office_section, office_total

    set_language("en")
    assert recorded("progress", "6", "4", env=AS_OF).exit_code == 0
    tasks = recorded("report", "--agency", "so nn va ptnt", "--format", "json",
                     env=AS_OF).json()["tasks"]
    classes = [t for t in tasks if t["unit"] == "Lớp"]
    assert len(classes) >= 2
    total = office_total(office_section("x", "x", classes))
    assert total is not None
    target = sum(t["target"]["min"] for t in classes)
    achieved = sum(t["achieved"] for t in classes)
    assert (total["unit"], total["target"], total["achieved"], total["percent"]) == \
        ("Lớp", target, achieved, round(100 * achieved / target, 1))
    assert total["content"].startswith(f"Total: {len(classes)} tasks (")
    total = office_total(office_section("x", "x", tasks))
    assert total is not None and "target" not in total and "achieved" not in total
    assert total["content"].startswith(f"Total: {len(tasks)} tasks (")
    assert total["content"].endswith("; quantities in different units are not added)")
    # the statuses partition the tasks
    counted = re.findall(r"(\d+) (?:done|overdue|due|other open|cancelled)", total["content"])
    assert sum(map(int, counted)) == len(tasks)


def test_office_text_is_shown_literally(recorded: Any, ws: Path, tmp_path: Path) -> None:
    (ws / "office.yaml").write_text(
        'issuer: "<b>Sở</b> [bold]x[/bold] \\x1b[31m"\nsigner: "=cmd|x"\n', encoding="utf-8")
    page = tmp_path / "r.html"
    assert recorded("report", "-o", str(page), env=AS_OF).exit_code == 0
    text = page.read_text(encoding="utf-8")
    assert "&lt;B&gt;SỞ&lt;/B&gt; [BOLD]X[/BOLD] \\x1b[31M" in text and "\x1b" not in text
    book = load_xlsx(recorded, tmp_path / "r.xlsx")
    assert "<B>SỞ</B> [BOLD]X[/BOLD] \\x1b[31M" in [c.value for c in book.worksheets[0][2]]
    docx = _docx(recorded, tmp_path / "r.docx")
    assert _texts(docx.tables[1].rows[0].cells[1])[-1] == "=cmd|x"


def test_an_office_yaml_that_is_not_a_file_is_named(ocop: Any, ws: Path) -> None:
    (ws / "office.yaml").unlink()
    (ws / "office.yaml").mkdir()
    check = ocop("check")
    assert check.exit_code == 3 and "office.yaml: is a folder" in check.stderr
    (ws / "office.yaml").rmdir()
    (ws / "office.yaml").symlink_to("/etc/passwd")
    check = ocop("check")
    assert check.exit_code == 3 and "office.yaml: is a link" in check.stderr


def load_xlsx(ocop: Any, path: Path) -> Any:
    from openpyxl import load_workbook

    assert ocop("report", "-o", str(path), env=AS_OF).exit_code == 0
    return load_workbook(path)


def test_table_rows_are_written_as_python_docx_writes_them(tmp_path: Path) -> None:
    """Each row of a table is a copy of one python-docx made, its texts added, written into
    the saved document as it is made: the XML is what python-docx's own calls give, tabs,
    line breaks, spaces at the ends, empty cells, bold rows and marked cells included (a
    long table then takes seconds, not minutes, and never is a tree of elements whole)."""
    import zipfile

    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    from ocop_cli.output import document
    from ocop_cli.output.cells import shown
    from ocop_cli.output.render import Column
    from ocop_cli.output.sections import Section, marked_rows

    columns = [Column("id", "TT"), Column("title", "Nội dung"),
               Column("qty", "Số lượng", numeric=True), Column("note", "Ghi chú")]
    rows = [{"id": "1", "title": "Hội nghị\tcấp huyện", "qty": 12, "_parent": True},
            {"id": "1.1", "title": " ở đầu và cuối ", "qty": None, "note": "a\nb\r\nc"},
            {"id": "1.2", "title": "=cmd|x", "qty": 3.5, "note": ""},
            {"id": "2", "title": "Tổng", "qty": 0, "_style": "total", "note": "\x1b[31m"}]
    section = Section("tasks", "Bảng", columns, rows, marks={2: {"qty"}})
    book = Document()
    path = tmp_path / "t.docx"
    document._save(book, path, [document._table(book, section, "ocop-rows-0")])
    written = [tr.xml for tr in Document(str(path)).tables[0]._tbl.tr_lst[1:]]
    text = zipfile.ZipFile(path).read("word/document.xml")
    assert text.count(b"xmlns:w=") == 1 and b"ocop-rows" not in text
    table = book.tables[0]
    tbl = table._tbl
    tbl.remove(tbl[-1])  # the comment that stood for the rows
    widths = document.widths_for(section, document.TEXT_CM["landscape"])
    for i, row in enumerate(marked_rows(section)):
        cells = table.add_row()
        document._cant_split(cells)
        bold = row.get("_style") == "total" or bool(row.get("_parent"))
        # a parent row, and the two before the last, kept with the row after them
        keep = bool(row.get("_parent")) or i in (1, 2)
        for cell, column, width in zip(cells.cells, columns, widths, strict=True):
            cell.width = Cm(width)
            if column.numeric or column.key == "id":
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
            cell.paragraphs[0].paragraph_format.keep_with_next = keep or None
            document._run(cell.paragraphs[0], shown(row.get(column.key), column.key),
                          bold=bold, size=document.TABLE_PT)
    assert [tr.xml for tr in tbl.tr_lst[1:]] == written
    assert len(written) == 4 and "<w:tab/>" in written[0] and "<w:br/>" in written[1]


def test_every_department_and_district_unit_of_2019_has_its_letterhead() -> None:
    from ocop_cli.output.letterheads import bundled
    from ocop_cli.store.documents import read_agencies
    from ocop_cli.store.storage import bundled_dir

    directory, problems = read_agencies(bundled_dir() / "agencies.yaml")
    assert directory is not None and not problems
    agencies = {a.id: a for a in directory.agencies}
    heads = bundled()
    assert set(heads) <= set(agencies)
    wanted = [a for a in agencies.values()
              if (a.level, a.kind) in (("province", "department"), ("district", "locality"))]
    assert len([a for a in wanted if a.kind == "locality"]) == 12
    assert {a.id for a in wanted} <= set(heads)
    for agency in wanted:
        head = heads[agency.id]
        assert head.parent and head.issuer and head.symbol.startswith("BC-") and head.place
        assert not head.signer  # a name is this clone's own
    assert heads["gia-loc"] == heads["phong-nn-ptnt-gia-loc"]


def _xlsx_to_pdf(book: Path) -> Path:
    """The workbook printed by LibreOffice Calc (skipped, saying why, where Calc is not
    installed: Writer alone cannot load a workbook)."""
    try:
        return docx_to_pdf(book)
    except subprocess.CalledProcessError:
        pytest.skip("LibreOffice Calc is not installed (Debian: libreoffice-calc-nogui)")
    finally:
        if not book.with_suffix(".pdf").exists():
            pytest.skip("LibreOffice Calc is not installed (Debian: libreoffice-calc-nogui)")


def test_the_district_report_prints_under_its_letterhead_with_a_balanced_table(
        recorded: Any, tmp_path: Path) -> None:
    _libreoffice()
    _poppler()
    letterhead = ("UBND HUYỆN GIA LỘC", "PHÒNG NÔNG NGHIỆP VÀ PTNT", "Số: …/BC-PNN",
                  "Gia Lộc, ngày … tháng … năm …")
    path = tmp_path / "gialoc.docx"
    assert recorded("report", "--agency", "Gia Lộc", "--lang", "vi", "-o", str(path),
                    env=AS_OF).exit_code == 0
    _sizes, text = _printed(docx_to_pdf(path), (2, 6))
    lines = text.splitlines()
    joined = " ".join(text.split())  # the issuing body may wrap in its narrow block
    assert all(line in joined for line in letterhead) and "TRƯỞNG PHÒNG" in lines
    # the status takes a few lines beside the remarks, not a word a line
    assert any(line.startswith("chưa bắt đầu, quá") for line in lines), lines
    # the last page of the table holds the last two tasks with the totals row
    pages = text.split("\f")
    last = next(page for page in pages if "Tổng cộng:" in page)
    assert "Học tập kinh nghiệm" in last and "phát triển Hợp tác xã" in last
    # a parent row is kept with its first sub-row; every row is kept whole on its page
    from docx import Document
    from docx.oxml.ns import qn

    table = Document(str(path)).tables[2]
    for row in table.rows[1:]:
        assert row._tr.trPr.find(qn("w:cantSplit")) is not None
        keeps = {p.paragraph_format.keep_with_next for c in row.cells for p in c.paragraphs}
        if row.cells[0].text in ("1", "3", "5"):
            assert keeps == {True}
    grid = [c.width for c in table.columns]
    assert grid[8] > grid[9]  # Tình trạng wider than the short Ghi chú


def test_the_district_report_as_pdf_and_its_workbook_print_their_letterhead(
        recorded: Any, tmp_path: Path) -> None:
    _libreoffice()
    _poppler()
    pdf = tmp_path / "gialoc.pdf"
    assert recorded("report", "--agency", "Gia Lộc", "--lang", "vi", "-o", str(pdf),
                    env=AS_OF).exit_code == 0
    _sizes, text = _printed(pdf, (2, 6))
    assert "UBND HUYỆN GIA LỘC" in text and "Nhiệm vụ của Gia Lộc" in text
    book = tmp_path / "book" / "gialoc.xlsx"
    book.parent.mkdir()
    assert recorded("report", "--agency", "Gia Lộc", "--lang", "vi", "-o", str(book),
                    env=AS_OF).exit_code == 0
    import openpyxl

    sheets = len(openpyxl.load_workbook(book, read_only=True).sheetnames)
    assert sheets >= 3
    _sizes, text = _printed(_xlsx_to_pdf(book), (sheets, 10))
    lines = text.splitlines()
    # every sheet (the tasks, section V's duties, the units, the tasks late) under the whole
    # letterhead, its motto on one line beside the issuing body, its labels whole
    for line in ("UBND HUYỆN GIA LỘC", "PHÒNG NÔNG NGHIỆP VÀ PTNT", "Số: …/BC-PNN"):
        assert lines.count(line) == sheets, (line, lines)
    assert lines.count("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") == sheets
    assert lines.count("Tính đến ngày") == sheets and lines.count("Kế hoạch") >= 3
    assert "Nhiệm vụ được giao (mục V)" in lines and "Tổng cộng: 8 nhiệm vụ (1" in text


def test_english_headers_print_whole_words(recorded: Any, tmp_path: Path) -> None:
    _libreoffice()
    _poppler()
    path = tmp_path / "report.docx"
    assert recorded("report", "--lang", "en", "-o", str(path), env=AS_OF).exit_code == 0
    _sizes, text = _printed(docx_to_pdf(path), (2, 6))
    words = text.split()
    for header in ("Planned", "Achieved", "Remarks", "Content", "Status"):
        assert header in words, header


def test_where_only_chromium_is_installed_the_pdf_is_its_print_of_the_page(
        recorded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = _chromium()
    _poppler()
    only = tmp_path / "bin"
    only.mkdir()
    (only / "chromium").symlink_to(found)
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(only))
    pdf = tmp_path / "gialoc.pdf"
    assert recorded("report", "--agency", "Gia Lộc", "--lang", "vi", "-o", str(pdf),
                    env=AS_OF).exit_code == 0
    monkeypatch.setenv("PATH", path)  # poppler's own programs again
    sizes, text = _printed(pdf, (2, 8))
    assert set(sizes) == {(842, 595)}  # the page's A4 landscape, not the DOCX's upright letter
    assert "UBND HUYỆN GIA LỘC" in text and "Số: …/BC-PNN" in text
