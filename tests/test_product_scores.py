"""A council's score: the decision in force on its date (and no later one), stars not ranked
under the lowest band, each member's sheet within the maxima of its decision, the average
as the product's points, not passed, and a hostile file of sheets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ocop_cli.core.errors import EXIT_INVALID, InvalidData, Refused, UsageError
from ocop_cli.store.storage import Workspace
from ocop_cli.tracker import products
from ocop_cli.tracker.scoring import MemberSheet
from ocop_cli.tracker.tracker import Tracker

AMENDED = "1048/QĐ-TTg (sửa đổi, bổ sung bởi 781/QĐ-TTg)"


def on(ws: Path, day: str = "2030-01-01") -> Tracker:
    return Tracker(Workspace(ws), as_of=dt.date.fromisoformat(day))


def sent(ws: Path, day: str, name: str = "Bánh gai") -> str:
    """A product registered, chosen and sent to the province on `day`."""
    t = on(ws)
    product = t.add_product(name, "Ninh Giang", "Hồng Phúc", f"HTX {name}", "htx", "thuc-pham",
                            date=day).entries[0].product
    t.advance_product(product, "chosen", date=day)
    t.advance_product(product, "sent", date=day, ref="12/TTr-UBND")
    return product


def product_on(ws: Path, product: str, day: str = "2030-01-01") -> products.Product:
    _loaded, lines, rules = on(ws, day).register()
    return products.products_as_of(lines, rules, dt.date.fromisoformat(day))[product]


@pytest.mark.parametrize(("day", "points", "stars", "decision"), [
    ("2019-08-10", 76, None, None),  # before 1048/QĐ-TTg took effect (21/8/2019)
    ("2019-08-21", 76, 4, "1048/QĐ-TTg"),  # the day it took effect
    ("2019-11-20", 76, 4, "1048/QĐ-TTg"),  # before its amendment (781/QĐ-TTg, 08/6/2020)
    ("2020-06-08", 76, 4, AMENDED),
    ("2023-02-23", 40, 2, AMENDED),  # 148/QĐ-TTg is in force the next day
    ("2023-02-24", 40, None, "148/QĐ-TTg"),  # under its lowest band: not ranked
    ("2023-02-24", 50, 3, "148/QĐ-TTg"),
])
def test_a_score_takes_the_decision_in_force_on_its_date_and_no_later_one(
        ws, day, points, stars, decision):
    product = sent(ws, day)
    on(ws).score_product(product, points, "tinh", date=day)
    scored = product_on(ws, product)
    assert (scored.points, scored.stars, scored.rules_decision) == (points, stars, decision)


def test_the_screen_says_not_ranked_and_no_decision_never_zero_stars(ws, ocop):
    early, late = sent(ws, "2019-08-10", "Chè"), sent(ws, "2023-04-01", "Vải")
    before = ocop("product", "score", early, "76", "--council", "tinh", "--date", "2019-08-10")
    assert "no stars: no decision was in force yet" in before.stdout
    under = ocop("product", "score", late, "40", "--date", "2023-04-01", "--lang", "vi")
    assert "không đạt hạng, 148/QĐ-TTg" in under.stdout and "0 sao" not in under.stdout
    row = {r["id"]: r for r in ocop("product", "list", "--format", "json", "--as-of",
                                    "2023-05-01").json()}
    assert (row[early]["stars"], row[early]["scored_under"]) == (None, None)
    assert (row[late]["stars"], row[late]["scored_under"]) == (None, "148/QĐ-TTg")
    refused = ocop("product", "stage", late, "recognised", "--ref", "1/QĐ", "--date",
                   "2023-04-02")
    assert refused.exit_code != 0 and "not ranked" in refused.stderr


# --- the sheets ---------------------------------------------------------------------------


def sheets(*parts: tuple[int, int, int]) -> list[MemberSheet]:
    return [MemberSheet(f"Thành viên {i}", *p) for i, p in enumerate(parts, 1)]


@pytest.mark.parametrize(("day", "parts", "points"), [
    # 80, 82, 76: 79.33 is 79
    ("2021-05-01", [(30, 20, 30), (28, 21, 33), (25, 20, 31)], 79),
    # 80 and 81: 80.5 is rounded half up to 81
    ("2021-05-01", [(30, 20, 30), (30, 20, 31)], 81),
    # the maxima of 1048/QĐ-TTg: A 35, B 25, C 40
    ("2021-05-01", [(35, 25, 40), (35, 25, 38)], 99),
    # the maxima of 148/QĐ-TTg: A 40, B 25, C 35
    ("2023-06-01", [(40, 25, 35), (38, 24, 30)], 96),
])
def test_the_points_are_the_average_of_the_members_sheets(ws, day, parts, points):
    product = sent(ws, day)
    on(ws).score_product(product, None, "tinh", sheets=sheets(*parts), date=day)
    scored = product_on(ws, product)
    assert scored.points == points
    assert [s.total for s in scored.sheets] == [sum(p) for p in parts]


@pytest.mark.parametrize(("day", "parts", "fault"), [
    ("2021-05-01", (36, 20, 30), "part A gives 0 to 35 points under " + AMENDED),
    ("2021-05-01", (30, 26, 30), "part B gives 0 to 25 points"),
    ("2023-06-01", (30, 20, 36), "part C gives 0 to 35 points under 148/QĐ-TTg"),
    ("2023-06-01", (41, 20, 30), "part A gives 0 to 40 points"),
])
def test_a_sheet_over_the_maxima_of_its_decision_is_refused(ws, day, parts, fault):
    product = sent(ws, day)
    with pytest.raises(UsageError) as error:
        on(ws).score_product(product, None, "tinh", sheets=sheets((30, 20, 30), parts),
                             date=day)
    assert fault in error.value.message and "Thành viên 2" in error.value.message
    assert product_on(ws, product).stage == "sent"


def test_a_member_named_twice_and_points_with_sheets_are_refused(ws):
    product = sent(ws, "2021-05-01")
    twice = [MemberSheet("Ông A", 30, 20, 30), MemberSheet("ông a", 30, 20, 30)]
    with pytest.raises(UsageError, match="two sheets"):
        on(ws).score_product(product, None, "tinh", sheets=twice, date="2021-05-01")
    with pytest.raises(UsageError, match="not both"):
        on(ws).score_product(product, 80, "tinh", sheets=sheets((30, 20, 30)),
                             date="2021-05-01")


def test_a_failed_mandatory_criterion_is_not_passed_whatever_the_points(ws, ocop):
    product = sent(ws, "2021-05-01")
    on(ws).score_product(product, 85, "tinh", failed="không có giấy chứng nhận ATTP",
                         date="2021-05-01")
    scored = product_on(ws, product)
    assert (scored.points, scored.stars, scored.failed) == (85, None,
                                                            "không có giấy chứng nhận ATTP")
    with pytest.raises(Refused, match="did not pass"):
        on(ws).advance_product(product, "recognised", ref="5/QĐ-UBND", date="2021-05-02")
    row = ocop("product", "list", "--format", "json").json()[0]
    assert (row["not_passed"], row["stars"]) == ("không có giấy chứng nhận ATTP", None)


def test_the_members_sheets_are_kept_and_shown_with_their_average(ws, ocop):
    product = sent(ws, "2021-05-01")
    typed = ocop("product", "score", product, "--member", "Ông A", "--a", "30", "--b", "20",
                 "--c", "30", "--member", "Bà B", "--a", "30", "--b", "20", "--c", "31",
                 "--date", "2021-05-01")
    assert typed.exit_code == 0, typed.stderr
    assert "81 points from the province council: 4 stars" in typed.stdout
    shown = ocop("product", "show", product, "--as-of", "2021-06-01")
    assert "A 30 + B 20 + C 31 = 81" in shown.stdout and "Sheet of Bà B" in shown.stdout
    assert "81 points from 2 sheets (rounded half up)" in shown.stdout
    data = ocop("product", "show", product, "--format", "json").json()
    assert data["sheets"] == [{"member": "Ông A", "a": 30, "b": 20, "c": 30},
                              {"member": "Bà B", "a": 30, "b": 20, "c": 31}]
    assert data["lines"][-1]["action"] == "scored"


def test_sheets_are_read_from_a_csv_file(ws, ocop, tmp_path):
    product = sent(ws, "2023-06-01")
    sheet = tmp_path / "phieu.csv"
    sheet.write_text("Thành viên,A,B,C\nÔng A,38,22,30\nBà B,36,20,28\n", encoding="utf-8")
    result = ocop("product", "score", product, "--sheet", str(sheet), "--date", "2023-06-01")
    assert result.exit_code == 0, result.stderr
    assert [s.member for s in product_on(ws, product).sheets] == ["Ông A", "Bà B"]
    assert product_on(ws, product).points == 87


def test_a_hostile_file_of_sheets_is_refused_row_by_row_and_nothing_is_recorded(
        ws, ocop, tmp_path):
    product = sent(ws, "2023-06-01")
    register = sorted((ws / "products").glob("*.yaml"))
    before = [p.read_bytes() for p in register]
    sheet = tmp_path / "phieu.csv"
    sheet.write_text("Thành viên,A,B,C\n"
                     "=HYPERLINK(\"http://x\"),30,20,30\n"  # a formula is a name, kept as text
                     "Ông A,abc,20,30\n"
                     "Ông A,30,20,30\n"
                     "Bà B,41,20,30\n"
                     "Bà C,30,20,30,99\n", encoding="utf-8")
    result = ocop("product", "score", product, "--sheet", str(sheet), "--date", "2023-06-01")
    assert result.exit_code == EXIT_INVALID
    lines = result.stderr.splitlines()
    assert "4 rows at fault (rows 3-6); nothing was imported" in lines[0]
    assert any("row 3, A:" in line and "'abc'" in line for line in lines)
    assert any("row 4, member:" in line and "row 3" in line for line in lines)
    assert any("row 5, A:" in line and "0 to 40" in line for line in lines)
    assert any("row 6:" in line and "beyond the last column" in line for line in lines)
    assert "Traceback" not in result.stderr
    assert [p.read_bytes() for p in register] == before


def test_a_file_of_sheets_too_big_or_with_no_member_is_refused(ws, tmp_path):
    product = sent(ws, "2023-06-01")
    empty = tmp_path / "empty.csv"
    empty.write_text("Thành viên,A,B,C\n", encoding="utf-8")
    with pytest.raises(InvalidData, match="no member's sheet"):
        on(ws).score_product(product, None, "tinh", sheet_file=str(empty), date="2023-06-01")
    many = tmp_path / "many.csv"
    many.write_text("Thành viên,A,B,C\n" + "".join(f"TV {i},30,20,30\n" for i in range(60)),
                    encoding="utf-8")
    with pytest.raises(InvalidData, match="more than 50 members"):
        on(ws).score_product(product, None, "tinh", sheet_file=str(many), date="2023-06-01")


def test_a_register_line_whose_points_are_not_its_sheets_average_is_named(ws, ocop):
    product = sent(ws, "2021-05-01")
    on(ws).score_product(product, None, "tinh", sheets=sheets((30, 20, 30)), date="2021-05-01")
    file = next((ws / "products").glob("*.yaml"))
    text = file.read_text(encoding="utf-8")
    file.write_text(text.replace('"points": 80', '"points": 95'), encoding="utf-8")
    result = ocop("check")
    assert result.exit_code == EXIT_INVALID
    assert "not the average of the sheets (80)" in result.stdout + result.stderr


def test_a_hostile_xlsx_of_sheets_names_each_cell_and_records_nothing(ws, ocop, tmp_path):
    import openpyxl

    product = sent(ws, "2023-06-01")
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["Biên bản chấm điểm"], [], ["Thành viên", "A", "B", "C"],
                [dt.datetime(2023, 6, 1), 30, 20, 30],  # a date where a name belongs
                ["Ông A", 30.5, 20, 30],  # half a point in a part
                ["Bà B", 30, -2, 30],
                ["Ông C", 30, 20, "ba mươi"]):  # a number in words
        sheet.append(row)
    path = tmp_path / "phieu.xlsx"
    book.save(path)
    result = ocop("product", "score", product, "--sheet", str(path), "--date", "2023-06-01")
    assert result.exit_code == EXIT_INVALID, result.stdout
    assert "4 rows at fault (rows 4-7); nothing was imported" in result.stderr
    for where in ("row 4, member:", "row 5, A:", "row 6, B:", "row 7, C:"):
        assert where in result.stderr
    assert "Traceback" not in result.stderr
    assert product_on(ws, product).stage == "sent"
