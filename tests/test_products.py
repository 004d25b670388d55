"""The OCOP product register: recording stages, as-of dates, stars by decision, undo, the
task that counts products, imports and every output format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocop_cli.core.errors import EXIT_INVALID, EXIT_NOT_FOUND, EXIT_USAGE


def _add(ocop, name: str, district: str, date: str, kind: str = "htx",
         group: str = "thuc-pham") -> str:
    result = ocop("product", "add", name, "--district", district, "--commune", "Xã A",
                  "--entity", f"Chủ thể {name}", "--kind", kind, "--group", group,
                  "--date", date)
    assert result.exit_code == 0, result.stderr
    return result.stdout.split()[0]


def _to_province(ocop, product: str, sent: str, points: int | None = None,
                 recognised: str | None = None) -> None:
    # Since July 2025 a commune sends its products to the province with no district's choice.
    chosen = [("stage", product, "chosen", "--date", sent)] if sent < "2025-07-01" else []
    steps = [*chosen, ("stage", product, "sent", "--date", sent, "--ref", "12/TTr-UBND")]
    if points is not None:
        steps.append(("score", product, str(points), "--council", "tinh", "--date", sent))
    if recognised:
        steps.append(("stage", product, "recognised", "--ref", "99/QĐ-UBND", "--date",
                      recognised))
    for args in steps:
        result = ocop("product", *args)
        assert result.exit_code == 0, result.stderr


def _listed(ocop, *args: str) -> dict[str, dict]:
    result = ocop("product", "list", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return {row["id"]: row for row in result.json()}


def test_a_product_goes_through_its_stages_as_of_each_date(ocop):
    banh = _add(ocop, "Bánh gai", "Ninh Giang", "2019-07-10")
    _to_province(ocop, banh, "2019-09-01", 76, "2019-12-10")
    stages = {day: _listed(ocop, "--as-of", day)[banh]["stage"]
              for day in ("2019-07-10", "2019-09-01", "2019-12-09", "2019-12-10")}
    assert stages == {"2019-07-10": "registered", "2019-09-01": "scored",
                      "2019-12-09": "scored", "2019-12-10": "recognised"}
    assert _listed(ocop, "--as-of", "2019-07-09") == {}
    row = _listed(ocop, "--as-of", "2020-01-01")[banh]
    assert (row["points"], row["stars"], row["district"], row["kind"]) == (76, 4, "Ninh Giang",
                                                                          "htx")
    assert row["expires"] == "2022-12-10"


def test_the_stars_come_from_the_decision_in_force_on_the_day_of_the_score(ocop):
    old = _add(ocop, "Chè", "Gia Lộc", "2022-01-10")
    new = _add(ocop, "Vải", "Thanh Hà", "2023-03-01")
    for product, day in ((old, "2022-02-01"), (new, "2023-04-01")):
        _to_province(ocop, product, day, 40)
    rows = _listed(ocop, "--as-of", "2023-05-01")
    # 40 points: two stars under 1048/QĐ-TTg, below every band of 148/QĐ-TTg: not ranked.
    assert (rows[old]["stars"], rows[new]["stars"]) == (2, None)
    assert (rows[old]["scored_under"], rows[new]["scored_under"]) == (
        "1048/QĐ-TTg (sửa đổi, bổ sung bởi 781/QĐ-TTg)", "148/QĐ-TTg")


def test_stages_follow_their_order_and_ask_for_what_they_need(ocop):
    product = _add(ocop, "Gà", "Gia Lộc", "2019-07-10")
    refused = ocop("product", "stage", product, "sent", "--date", "2019-07-11")
    assert refused.exit_code == EXIT_NOT_FOUND and "chosen" in refused.stderr
    no_reason = ocop("product", "stage", product, "rejected", "--date", "2019-07-11")
    assert no_reason.exit_code == EXIT_USAGE and "--note" in no_reason.stderr
    before = ocop("product", "stage", product, "chosen", "--date", "2019-07-01")
    assert before.exit_code == EXIT_NOT_FOUND
    _to_province(ocop, product, "2019-08-01", 45)
    too_few = ocop("product", "stage", product, "recognised", "--ref", "1/QĐ",
                   "--date", "2019-09-01")
    assert too_few.exit_code == EXIT_NOT_FOUND and "3" in too_few.stderr


def test_what_may_follow_a_stage_is_said_in_words_with_the_council_named(ocop):
    product = _add(ocop, "Gà", "Gia Lộc", "2019-07-10")
    for step in (("chosen",), ("sent", "--ref", "12/TTr-UBND")):
        assert ocop("product", "stage", product, *step, "--date", "2019-08-01").exit_code == 0
    args = ("product", "stage", product, "recognised", "--ref", "1/QĐ", "--date", "2019-09-01")
    assert ocop(*args).stderr == (f"ocop: error: product {product} is sent to the province; "
                                  "what may follow on 2019-09-01: scored (province council)\n")
    assert ocop(*args, "--lang", "vi").stderr == (
        f"ocop: lỗi: sản phẩm {product} đang ở bước đã gửi tỉnh; ngày 01/09/2019 bước tiếp theo "
        "có thể là: đã chấm điểm (hội đồng cấp tỉnh)\n")


def test_undo_takes_back_the_latest_line_whatever_its_date(ocop, ws):
    product = _add(ocop, "Nem", "Tứ Kỳ", "2019-07-10")
    _to_province(ocop, product, "2019-08-01")
    result = ocop("product", "undo")
    assert result.exit_code == 0, result.stderr
    assert _listed(ocop, "--as-of", "2019-12-31")[product]["stage"] == "chosen"
    ocop("product", "undo", product)
    assert _listed(ocop, "--as-of", "2019-12-31")[product]["stage"] == "registered"
    lines = (ws / "products" / "tester.yaml").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line[2:]) for line in lines if line.startswith("- {")]
    assert [r["action"] for r in records] == ["registered", "chosen", "sent", "undo", "undo"]


def test_task_8_counts_the_products_sent_in_the_plan_year_by_district(ocop):
    first = _add(ocop, "Bánh đa", "Kinh Môn", "2019-07-01")
    second = _add(ocop, "Rượu", "Kinh Môn", "2019-07-02")
    third = _add(ocop, "Mật ong", "Cẩm Giàng", "2019-07-03")
    late = _add(ocop, "Cà rốt", "Cẩm Giàng", "2019-07-04")
    _to_province(ocop, first, "2019-08-15")
    _to_province(ocop, second, "2019-10-01")
    _to_province(ocop, third, "2019-10-02")
    _to_province(ocop, late, "2020-01-05")  # another year: not this plan's
    shown = ocop("show", "8", "--format", "json", "--as-of", "2019-09-30").json()
    assert shown["achieved"] == 1
    assert {p["id"] for p in shown["products"]} == {first}
    shown = ocop("show", "8", "--format", "json", "--as-of", "2020-03-01").json()
    assert shown["achieved"] == 3
    assert {p["place"]: p["qty"] for p in shown["places"]} == {"Kinh Môn": 2, "Cẩm Giàng": 1}
    assert {p["id"] for p in shown["products"]} == {first, second, third}
    tasks = {t["id"]: t for t in ocop("tasks", "--format", "json",
                                      "--as-of", "2019-12-31").json()}
    assert (tasks["8"]["achieved"], tasks["8"]["status"]) == (3, "in_progress")
    quarter = ocop("report", "--period", "2019-Q4", "--format", "json",
                   "--as-of", "2019-12-31").json()
    assert [(a["id"], a["qty"], a["places"]) for a in quarter["achieved"]] == [
        ("8", 2, ["Kinh Môn", "Cẩm Giàng"])]
    ocop("product", "undo", third)  # the score, then the sending
    ocop("product", "undo", third)
    assert ocop("show", "8", "--format", "json", "--as-of", "2019-12-31").json()[
        "achieved"] == 2


def test_a_counted_task_takes_no_quantity_by_hand(ocop):
    result = ocop("progress", "8", "3")
    assert result.exit_code == EXIT_NOT_FOUND and "ocop product" in result.stderr


def test_the_report_counts_the_funnel_and_the_stars_in_force(ocop):
    a = _add(ocop, "A", "Gia Lộc", "2019-07-01", kind="htx")
    b = _add(ocop, "B", "Gia Lộc", "2019-07-01", kind="dn", group="do-uong")
    c = _add(ocop, "C", "Thanh Hà", "2019-07-01", kind="ho")
    _to_province(ocop, a, "2019-09-01", 92, "2019-12-01")
    _to_province(ocop, b, "2019-09-01", 55, "2019-12-01")
    ocop("product", "stage", c, "rejected", "--note", "trùng", "--date", "2019-08-01")
    data = ocop("product", "report", "--format", "json", "--as-of", "2022-07-01",
                "--months", "6").json()["products"]
    gia_loc = next(r for r in data["by_district"] if r["id"] == "gia-loc")
    assert {k: gia_loc[k] for k in ("registered", "chosen", "rejected", "sent", "scored",
                                    "recognised", "stars3", "stars4", "stars5")} == {
        "registered": 2, "chosen": 2, "rejected": 0, "sent": 2, "scored": 2, "recognised": 2,
        "stars3": 1, "stars4": 0, "stars5": 1}
    total = data["total"]
    assert (total["registered"], total["chosen"], total["rejected"]) == (3, 2, 1)
    kinds = {r["kind"]: (r["registered"], r["stars3"], r["stars5"]) for r in data["by_kind"]}
    assert kinds["htx"] == (1, 0, 1) and kinds["dn"] == (1, 1, 0) and kinds["ho"] == (1, 0, 0)
    assert [p["id"] for p in data["expiring"]["products"]] == sorted([a, b])
    # Three years after, the recognitions have run out: no stars in force.
    later = ocop("product", "report", "--format", "json", "--as-of", "2022-12-01").json()
    assert later["products"]["total"]["stars5"] == 0
    overview = ocop("report", "--format", "json", "--as-of", "2020-01-01").json()
    assert overview["products"]["total"]["stars5"] == 1


@pytest.mark.parametrize("fmt", ["table", "md", "csv", "json", "html"])
def test_each_format_of_the_list_and_the_report(ocop, fmt):
    product = _add(ocop, "Bánh <b>=1+1</b>", "Gia Lộc", "2019-07-01")
    _to_province(ocop, product, "2019-09-01", 72)
    if fmt != "html":
        listing = ocop("product", "list", "--format", fmt, "--as-of", "2019-12-31")
        assert listing.exit_code == 0, listing.stderr
        assert product in listing.stdout and "Gia Lộc" in listing.stdout
    report = ocop("product", "report", "--format", fmt, "--as-of", "2019-12-31")
    assert report.exit_code == 0, report.stderr
    if fmt == "html":
        assert "<b>=1+1</b>" not in report.stdout and "Gia Lộc" in report.stdout
    elif fmt == "json":
        assert report.json()["products"]["total"]["sent"] == 1
    else:
        assert "Gia Lộc" in report.stdout


def test_the_product_report_is_a_document_an_office_can_sign(ocop, tmp_path):
    from docx import Document

    a = _add(ocop, "Bánh gai", "Ninh Giang", "2019-07-10")
    b = _add(ocop, "Vải thiều", "Thanh Hà", "2019-07-12", kind="dn")
    _add(ocop, "Rượu", "Cẩm Giàng", "2019-07-20", kind="ho", group="do-uong")
    _to_province(ocop, a, "2019-09-01", 76, "2019-12-10")
    _to_province(ocop, b, "2019-09-02", 91, "2019-12-10")
    path = tmp_path / "san-pham.docx"
    result = ocop("product", "report", "--lang", "vi", "--as-of", "2019-12-20", "--number",
                  "12", "--dated", "22/12/2019", "--signer", "Nguyễn Văn A", "-o", str(path))
    assert result.exit_code == 0, result.stderr
    book = Document(str(path))
    header, closing, funnel, *rest = book.tables
    left, right = (" / ".join(p.text for p in c.paragraphs if p.text)
                   for c in header.rows[0].cells)
    assert "Số: 12/BC-" in left
    assert right.startswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM / Độc lập - Tự do - Hạnh phúc")
    assert "ngày 22 tháng 12 năm 2019" in right
    body = [p.text for p in book.paragraphs if p.text]
    assert "BÁO CÁO" in body
    assert any(t.startswith("Kết quả đăng ký, đánh giá và phân hạng sản phẩm OCOP theo Kế "
                            "hoạch số 1819/KH-UBND") for t in body)
    assert ("Tính đến ngày 20/12/2019, sổ đăng ký có 3 sản phẩm: cấp huyện đã chọn 2, loại 0; "
            "2 sản phẩm đã gửi lên tỉnh, 2 sản phẩm đã được chấm điểm.") in body
    # only the star classes there are: no "0 sản phẩm 3 sao"
    assert ("Sản phẩm đang còn hiệu lực công nhận: 2, trong đó 1 sản phẩm 4 sao, 1 sản phẩm "
            "5 sao.") in body
    assert "Không có sản phẩm nào hết hiệu lực công nhận đến ngày 20/06/2020." in body
    assert "Nguyễn Văn A" in closing.rows[0].cells[1].text
    assert "Nơi nhận:" in closing.rows[0].cells[0].text
    # the funnel by district unit, its header repeated on each page, its total row in bold
    assert [c.text for c in funnel.rows[0].cells][:3] == ["Đơn vị cấp huyện", "Đăng ký",
                                                         "Được chọn"]
    assert funnel.rows[0]._tr.trPr.xpath("./w:tblHeader")
    rows = {r.cells[0].text: [c.text for c in r.cells[1:]] for r in funnel.rows[1:]}
    assert len(rows) == 13 and rows["Ninh Giang"][:5] == ["1", "1", "0", "1", "1"]
    assert rows["Tổng"] == ["3", "2", "0", "2", "2", "2", "0", "1", "1"]
    assert all(r.font.bold for r in funnel.rows[-1].cells[0].paragraphs[0].runs)
    assert [r.cells[0].text for r in rest[0].rows[1:3]] == ["Hợp tác xã", "Doanh nghiệp"]


def test_xlsx_needs_a_file_and_keeps_text_as_text(ocop, tmp_path):
    from openpyxl import load_workbook

    _add(ocop, "=SUM(A1)", "Gia Lộc", "2019-07-01")
    assert ocop("product", "list", "--format", "xlsx").exit_code == EXIT_USAGE
    path = tmp_path / "sp.xlsx"
    assert ocop("product", "list", "--format", "xlsx", "-o", str(path)).exit_code == 0
    cells = [c.value for row in load_workbook(path).active.iter_rows() for c in row]
    assert "=SUM(A1)" in cells
    report = tmp_path / "bao-cao.xlsx"
    assert ocop("product", "report", "-o", str(report), "--lang", "vi").exit_code == 0
    book = load_workbook(report)
    assert len(book.sheetnames) == 4
    # a narrow table is widened to hold the issuer's name and the motto side by side, as
    # on the first sheet: the name on one line, its row one line high
    kinds = book.worksheets[1]
    assert kinds.cell(2, 1).value == "SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN"
    widths = [d.width for d in kinds.column_dimensions.values() if d.width]
    assert sum(widths) >= 110 and 12 <= (kinds.row_dimensions[2].height or 0) < 2 * 12


def test_a_list_written_as_a_csv_file_opens_in_excel_as_utf8(ocop, tmp_path):
    _add(ocop, "Vải thiều", "Thanh Hà", "2019-07-01")
    path = tmp_path / "san-pham.csv"
    assert ocop("product", "list", "-o", str(path)).exit_code == 0
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read Vietnamese
    assert "Vải thiều" in raw.decode("utf-8-sig")
    assert not ocop("product", "list", "--format", "csv").stdout.startswith("\ufeff")


def test_vietnamese_screens_read_in_vietnamese(ocop):
    product = _add(ocop, "Bánh gai", "Ninh Giang", "2019-07-10")
    shown = ocop("product", "show", product, "--lang", "vi", "--as-of", "2019-08-01")
    assert "đã đăng ký (10/07/2019)" in shown.stdout
    undo = ocop("product", "undo", product, "--lang", "vi")
    assert undo.stdout.startswith("đã hoàn tác bước đã đăng ký của ")


def test_an_import_registers_and_moves_on_all_rows_or_none(ocop, tmp_path):
    sheet = tmp_path / "gia_loc.csv"
    sheet.write_text("tên sản phẩm,huyện,xã,chủ thể,loại chủ thể,nhóm,mới,bước,ngày\n"
                     "Bánh gai,Gia Lộc,Gia Tân,HTX A,hợp tác xã,thực phẩm,x,gửi tỉnh,15/9/2019\n"
                     "Chè,gia loc,Gia Hòa,Hộ B,hộ,đồ uống,,,2019-09-15\n", encoding="utf-8")
    result = ocop("import", "products", str(sheet))
    assert result.exit_code == 0, result.stderr
    rows = {r["name"]: r for r in _listed(ocop, "--as-of", "2019-12-31").values()}
    assert (rows["Bánh gai"]["stage"], rows["Bánh gai"]["new"]) == ("sent", True)
    assert (rows["Chè"]["stage"], rows["Chè"]["group"]) == ("registered", "do-uong")
    che = next(i for i, r in _listed(ocop, "--as-of", "2019-12-31").items() if r["name"] == "Chè")
    ocop("product", "stage", che, "chosen", "--date", "2019-09-20")
    ocop("product", "score", che, "55", "--council", "huyen", "--date", "2019-09-25")
    # The district's later list moves Chè on, and leaves Bánh gai where it is.
    sheet.write_text("tên sản phẩm,huyện,xã,chủ thể,loại chủ thể,nhóm,bước,ngày\n"
                     "Chè,Gia Lộc,Gia Hòa,Hộ B,hộ,đồ uống,gửi tỉnh,1/10/2019\n"
                     "Bánh gai,Gia Lộc,Gia Tân,HTX A,htx,thực phẩm,gửi tỉnh,1/10/2019\n",
                     encoding="utf-8")
    assert ocop("import", "products", str(sheet)).exit_code == 0
    rows = {r["name"]: r for r in _listed(ocop, "--as-of", "2019-12-31").values()}
    assert rows["Chè"]["stage"] == "sent" and len(rows) == 2


def test_a_hostile_import_names_each_bad_row_and_records_nothing(ocop, ws, tmp_path):
    sheet = tmp_path / "bad.csv"
    sheet.write_text("name,district,commune,entity,kind,group,date\n"
                     "Good,Gia Lộc,X,E,htx,thuc-pham,2019-09-01\n"
                     "\x1b[31mRed,Sở Tài chính,X,E,htx,thuc-pham,2019-09-01\n"
                     "Bad kind,Gia Lộc,X,E,company,thuc-pham,2019-09-01\n"
                     "Bad group,Gia Lộc,X,E,htx,vũ khí,2019-09-01\n"
                     "Bad date,Gia Lộc,X,E,htx,thuc-pham,31/2/2019\n", encoding="utf-8")
    result = ocop("import", "products", str(sheet))
    assert result.exit_code == EXIT_INVALID
    for row in ("row 3", "row 4", "row 5", "row 6"):
        assert row in result.stderr
    assert "\x1b" not in result.stderr
    assert not (ws / "products").exists()


def test_a_broken_register_line_is_named_and_check_reports_it(ocop, ws):
    _add(ocop, "Bánh", "Gia Lộc", "2019-07-01")
    path = ws / "products" / "tester.yaml"
    with path.open("a", encoding="utf-8") as handle:
        handle.write('- {"id": "x1", "at": "2019-07-02T00:00:00+00:00", "date": "2019-07-02", '
                     '"product": "sp-000000", "action": "registered", "by": "A", "name": "N", '
                     '"district": "so-tai-chinh", "commune": "C", "entity": "E", "kind": "htx", '
                     '"group": "thuc-pham"}\n')
    result = ocop("product", "list")
    assert result.exit_code == EXIT_INVALID
    # line 5: the schema pointer and two comments, the registration, then this line
    assert "tester.yaml:5" in result.stderr and "district" in result.stderr
    assert ocop("check").exit_code == EXIT_INVALID
    assert ocop("tasks").exit_code == EXIT_INVALID  # task 8 counts from the register


def test_a_torn_last_line_is_left_out_with_a_warning(ocop, ws):
    product = _add(ocop, "Bánh", "Gia Lộc", "2019-07-01")
    path = ws / "products" / "tester.yaml"
    with path.open("a", encoding="utf-8") as handle:
        handle.write('- {"id": "x2", "at": "2019-07-02T00:0')
    assert list(_listed(ocop, "--as-of", "2019-12-31")) == [product]
    check = ocop("check")
    assert check.exit_code == 3 and "error:" in check.stderr and "half-written" in check.stderr


def test_the_rules_of_the_workspace_decide_and_are_checked(ocop, ws):
    rules = Path(ws / "ocop_rules.yaml")
    rules.write_text(rules.read_text(encoding="utf-8").replace("{stars: 5, min: 90}",
                                                               "{stars: 5, min: 95}", 1),
                     encoding="utf-8")
    product = _add(ocop, "Bánh", "Gia Lộc", "2019-07-01")
    _to_province(ocop, product, "2019-09-01", 92)
    assert _listed(ocop, "--as-of", "2019-12-31")[product]["stars"] == 4
    rules.write_text(rules.read_text(encoding="utf-8").replace("min: 70", "min: 99", 1),
                     encoding="utf-8")
    broken = ocop("product", "list")
    assert broken.exit_code == EXIT_INVALID and "ocop_rules.yaml" in broken.stderr


@pytest.mark.skipif(__import__("shutil").which("git") is None, reason="git is not installed")
def test_sync_sends_the_register_and_two_offices_count_each_others_products(
        tmp_path, monkeypatch):
    import subprocess

    from typer.testing import CliRunner

    from ocop_cli.commands.app import app
    from tests.test_team import Team, identify

    for var, value in {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(tmp_path / "none"),
                       "GIT_CEILING_DIRECTORIES": str(tmp_path),
                       "GIT_TERMINAL_PROMPT": "0"}.items():
        monkeypatch.setenv(var, value)
    team = Team(tmp_path / "team")
    offices = {"Gia Lộc": team.clone("gia-loc"), "Thanh Hà": team.clone("thanh-ha")}

    def run(root: Path, user: str, *args: str) -> str:
        result = CliRunner().invoke(app, list(args), env={
            "OCOP_DATA": str(root), "OCOP_USER": user, "OCOP_AS_OF": "2019-12-31"},
            catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return result.stdout

    for user, root in offices.items():
        identify(root, user)
        product = run(root, user, "product", "add", f"Sản phẩm {user}", "-d", user, "-c", "Xã",
                      "-e", "HTX", "-k", "htx", "-g", "thuc-pham", "--date", "2019-08-01"
                      ).split()[0]
        run(root, user, "product", "stage", product, "chosen", "--date", "2019-09-01")
        run(root, user, "product", "stage", product, "sent", "--date", "2019-09-02")
        run(root, user, "sync")
    run(offices["Gia Lộc"], "Gia Lộc", "sync")
    for user, root in offices.items():
        shown = json.loads(run(root, user, "show", "8", "--format", "json"))
        assert (shown["achieved"], len(shown["products"])) == (2, 2), user
    log = subprocess.run(["git", "log", "--name-only", "--format="], cwd=offices["Gia Lộc"],
                         capture_output=True, text=True, check=True).stdout
    assert "products/gia-loc.yaml" in log and "products/thanh-ha.yaml" in log


def test_a_register_file_written_by_hand_is_read(ocop, ws):
    folder = ws / "products"
    folder.mkdir()
    (folder / "so-nn.yaml").write_text(
        "# written by hand, one line a record\n"
        '- {"id": "a1", "at": "2019-07-01T08:00:00+00:00", "date": "2019-07-01", '
        '"product": "sp-aaaaaa", "action": "registered", "by": "Sở NN", "name": "Vải thiều", '
        '"district": "thanh-ha", "commune": "Thanh Sơn", "entity": "HTX Thanh Sơn", '
        '"kind": "htx", "group": "thuc-pham", "new": "true"}\n\n'
        '- {"id": "a2", "at": "2019-08-01T08:00:00+00:00", "date": "2019-08-01", '
        '"product": "sp-aaaaaa", "action": "chosen", "by": "Sở NN"}\n', encoding="utf-8")
    row = _listed(ocop, "--as-of", "2019-12-31")["sp-aaaaaa"]
    assert (row["stage"], row["new"], row["district"]) == ("chosen", True, "Thanh Hà")


def test_a_product_registered_twice_by_hand_counts_once_with_a_warning(ocop, ws):
    product = _add(ocop, "Bánh", "Gia Lộc", "2019-07-01")
    path = ws / "products" / "tester.yaml"
    line = next(x for x in path.read_text(encoding="utf-8").splitlines() if x.startswith("- {"))
    record = json.loads(line[2:])
    record.update(id="copy", at="2019-07-05T00:00:00+00:00", date="2019-07-05",
                  district="thanh-ha")
    (ws / "products" / "other.yaml").write_text("- " + json.dumps(record) + "\n",
                                                encoding="utf-8")
    rows = _listed(ocop, "--as-of", "2019-12-31")
    assert list(rows) == [product] and rows[product]["district"] == "Gia Lộc"
    check = ocop("check")
    assert check.exit_code == 0 and "registered already" in check.stderr


def test_the_list_and_the_report_in_csv_exactly(ocop):
    first = _add(ocop, "Bánh gai", "Ninh Giang", "2019-07-10")
    second = _add(ocop, "Gà", "Gia Lộc", "2019-07-11", kind="ho")
    _to_province(ocop, first, "2019-09-01", 76, "2019-12-10")
    listing = ocop("product", "list", "--format", "csv", "--as-of", "2019-12-31").stdout
    assert listing.splitlines() == [
        "Product ID,Product,District,Commune,Entity,Kind,Group,Stage,Since,Points,Stars",
        f"{second},Gà,Gia Lộc,Xã A,Chủ thể Gà,household,Thực phẩm,registered,2019-07-11,,",
        f"{first},Bánh gai,Ninh Giang,Xã A,Chủ thể Bánh gai,cooperative,Thực phẩm,recognised,"
        "2019-12-10,76,4"]
    report = ocop("product", "report", "--format", "csv", "--as-of", "2019-12-31").stdout
    assert "\nNinh Giang,1,1,0,1,1,1,0,1,0\nThanh Hà,0,0,0,0,0,0,0,0,0\n" in report
    assert "\nTotal,2,1,0,1,1,1,0,1,0\n" in report
    assert ("Stars in force by kind of entity\nKind,Registered,3 stars,4 stars,5 stars\n"
            "Cooperative,1,0,1,0\nEnterprise,0,0,0,0\nCooperative group,0,0,0,0\n"
            "Household,1,0,0,0\n") in report


def test_zsh_completes_product_ids_with_their_names(ocop, ws, proc):
    product = _add(ocop, "Bánh gai", "Ninh Giang", "2019-07-10")
    result = proc(env={"_OCOP_COMPLETE": "complete_zsh", "OCOP_DATA": str(ws),
                       "_TYPER_COMPLETE_ARGS": "ocop product show sp"})
    assert result.returncode == 0, result.stderr
    assert f'"{product}":"Bánh gai (Ninh Giang)"' in result.stdout


def test_the_list_filters_combine(ocop):
    a = _add(ocop, "Chè búp", "Gia Lộc", "2019-07-01", kind="htx", group="do-uong")
    b = _add(ocop, "Chè xanh", "Gia Lộc", "2020-03-01", kind="ho", group="do-uong")
    c = _add(ocop, "Vải", "Thanh Hà", "2019-07-01", kind="htx")
    _to_province(ocop, a, "2019-09-01", 72)
    as_of = ("--as-of", "2020-12-31")
    assert set(_listed(ocop, *as_of, "--district", "gia loc")) == {a, b}
    assert set(_listed(ocop, *as_of, "--group", "đồ uống", "--kind", "htx")) == {a}
    assert set(_listed(ocop, *as_of, "--year", "2019")) == {a, c}
    assert set(_listed(ocop, *as_of, "--stars", "4")) == {a}
    assert set(_listed(ocop, *as_of, "--stage", "registered", "--stage", "scored")) == {a, b, c}
    assert set(_listed(ocop, *as_of, "--commune", "xa a", "--stage", "scored")) == {a}
    unknown = ocop("product", "list", "--group", "vũ khí")
    assert unknown.exit_code == EXIT_NOT_FOUND and "thuc-pham" in unknown.stderr


def test_a_plan_over_several_years_counts_the_products_of_all_its_years(ocop, ws):
    table = Path(__file__).resolve().parent / "fixtures" / "table_2023_2025.tsv"
    assert ocop("import", "plan", str(table), "--year", "2023-2025", "--number", "1/KH",
                "--dated", "2023-02-01").exit_code == 0
    path = ws / "plan_2023.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('- id: "3"\n', '- id: "3"\n    products_at: sent\n', 1),
                    encoding="utf-8")
    for name, sent in (("Vải", "2023-05-01"), ("Chè", "2024-05-01"), ("Gà", "2025-05-01"),
                       ("Nem", "2026-01-05")):  # the last after the plan's years
        _to_province(ocop, _add(ocop, name, "Thanh Hà", sent), sent)
    shown = ocop("show", "3", "--format", "json", "--as-of", "2026-03-01").json()
    assert shown["achieved"] == 3
    one_year = table.with_name("table_2024.tsv")  # 2024 gets its own plan: its year is that one's
    assert ocop("import", "plan", str(one_year), "--year", "2024", "--number", "2/KH",
                "--dated", "2024-02-01").exit_code == 0
    shown = ocop("show", "3", "--plan", "2023", "--format", "json", "--as-of", "2026-03-01")
    assert shown.json()["achieved"] == 2
    assert {p["name"] for p in shown.json()["products"]} == {"Vải", "Gà"}


def test_editors_validate_the_register_against_its_schema(ocop, ws):
    from pydantic import ValidationError

    from ocop_cli.store.schema import ProductLineDoc

    product = _add(ocop, "Bánh gai", "Ninh Giang", "2019-07-10")
    _to_province(ocop, product, "2019-09-01", 76, "2019-12-10")
    text = (ws / "products" / "tester.yaml").read_text(encoding="utf-8")
    pointer = text.splitlines()[0].removeprefix("# yaml-language-server: $schema=")
    schema = json.loads((ws / "products" / pointer).read_text(encoding="utf-8"))
    assert schema["items"]["$ref"].endswith("ProductLineDoc")
    records = [json.loads(line[2:]) for line in text.splitlines() if line.startswith("- {")]
    assert [ProductLineDoc.model_validate(r).action for r in records] == [
        "registered", "chosen", "sent", "scored", "recognised"]
    for wrong in ({"kind": "co-op"}, {"points": 101}, {"stars": 4}):
        with pytest.raises(ValidationError):
            ProductLineDoc.model_validate({**records[0], **wrong})


@pytest.mark.parametrize("hidden", ["\u200b", "\u200d", "\u2060", "\ufeff", "\u202e"])
def test_a_name_that_differs_only_by_an_invisible_character_is_the_same_product(ocop, hidden):
    first = _add(ocop, "Bánh gai", "Ninh Giang", "2019-07-10")
    result = ocop("product", "add", f"Bánh{hidden} gai", "--district", "Ninh Giang",
                  "--commune", "Xã A", "--entity", f"Chủ thể Bánh{hidden} gai", "--kind", "htx",
                  "--group", "thuc-pham", "--date", "2019-07-11")
    assert result.exit_code == EXIT_NOT_FOUND  # refused: registered already
    assert first in result.stderr
    assert list(_listed(ocop)) == [first]


def test_an_invisible_character_is_never_stored_in_a_name(ocop, ws):
    product = _add(ocop, "Gối\u200b thêu", "Gia Lộc", "2019-07-10")
    assert _listed(ocop)[product]["name"] == "Gối thêu"
    register = "".join(p.read_text(encoding="utf-8") for p in (ws / "products").glob("*.yaml"))
    assert "\u200b" not in register


def test_a_list_for_people_shows_stars_and_dates_as_read_and_csv_keeps_the_data(
        ocop, tmp_path):
    from ocop_cli.core.i18n import set_language

    product = _add(ocop, "Bánh gai", "Ninh Giang", "2019-07-10")
    _to_province(ocop, product, "2019-09-01", 76, "2019-12-10")
    args = ("product", "list", "--lang", "vi", "--as-of", "2019-12-31")
    try:
        table = ocop(*args, "--format", "table").stdout
        assert "10/12/2019" in table and "★★★★" in table and "2019-12-10" not in table
        for written in ("list.md", "list.txt"):  # into a file, as on the screen
            assert ocop(*args, "--output", str(tmp_path / written)).exit_code == 0
            text = (tmp_path / written).read_text(encoding="utf-8")
            assert "10/12/2019" in text and "★★★★" in text
        row = next(line for line in ocop(*args, "--format", "md").stdout.splitlines()
                   if product in line)
        assert row.endswith("| 10/12/2019 | 76 | ★★★★ |")
        row = next(line for line in ocop(*args, "--format", "csv").stdout.splitlines()
                   if product in line)
        assert row.endswith(",2019-12-10,76,4")
    finally:
        set_language("en")  # the tests after it call the library in English


@pytest.mark.parametrize("typed", ["", "  "])
def test_an_empty_product_id_names_no_product_even_the_only_one(ocop, ws, typed):
    product = _add(ocop, "Bánh gai", "Ninh Giang", "2019-07-10")
    before = {p: p.read_bytes() for p in (ws / "products").glob("*.yaml")}
    result = ocop("product", "stage", typed, "chosen", "--date", "2019-07-11")
    assert result.exit_code == EXIT_USAGE
    assert "id is empty" in result.stderr
    assert {p: p.read_bytes() for p in (ws / "products").glob("*.yaml")} == before
    assert _listed(ocop)[product]["stage"] == "registered"
