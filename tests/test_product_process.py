"""The process as data, by date: who proposes, scores and recognises is the rules file's, for
the period of each step's date; since July 2025 a commune sends its products to the province
with no district stage, and a product of 2019 follows the 2019 process."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ocop_cli.core.errors import Refused
from ocop_cli.store.storage import Workspace
from ocop_cli.tracker import products
from ocop_cli.tracker.tracker import Tracker


def on(ws: Path, day: str = "2030-01-01") -> Tracker:
    return Tracker(Workspace(ws), as_of=dt.date.fromisoformat(day))


def added(ws: Path, day: str, name: str = "Bánh gai") -> str:
    return on(ws).add_product(name, "Ninh Giang", "Hồng Phúc", f"HTX {name}", "htx",
                              "thuc-pham", date=day).entries[0].product


def test_in_2019_the_district_chooses_before_the_province_is_sent_anything(ws):
    product = added(ws, "2019-07-10")
    with pytest.raises(Refused, match="what may follow on 2019-08-01: chosen, rejected"):
        on(ws).advance_product(product, "sent", date="2019-08-01", ref="1/TTr")
    on(ws).advance_product(product, "chosen", date="2019-08-01")
    on(ws).score_product(product, 62, "huyen", date="2019-09-01")
    with pytest.raises(Refused, match="what may follow"):  # the province recognises
        on(ws).advance_product(product, "recognised", date="2019-09-02", ref="1/QĐ")


def test_since_july_2025_the_commune_proposes_to_the_province_with_no_district_stage(ws):
    product = added(ws, "2025-08-01")
    with pytest.raises(Refused, match="sent to the province, rejected"):
        on(ws).advance_product(product, "chosen", date="2025-08-02")
    on(ws).advance_product(product, "sent", date="2025-08-02", ref="5/TTr-UBND")
    with pytest.raises(Refused):
        on(ws).score_product(product, 70, "huyen", date="2025-09-01")
    on(ws).score_product(product, 72, "tinh", date="2025-09-01")
    on(ws).advance_product(product, "recognised", date="2025-10-01", ref="9/QĐ-UBND")
    _loaded, lines, rules = on(ws).register()
    assert products.products_as_of(lines, rules, dt.date(2025, 10, 1))[product].stars_on(
        dt.date(2025, 10, 1)) == 4


def test_a_product_chosen_before_july_2025_goes_on_to_the_province_after_it(ws):
    product = added(ws, "2025-05-01")
    on(ws).advance_product(product, "chosen", date="2025-06-01")
    on(ws).advance_product(product, "sent", date="2025-08-01", ref="5/TTr")
    assert on(ws).register()[1][-1].action == "sent"


def test_under_148_the_district_recognises_three_stars_and_the_province_four(ws):
    three, four = added(ws, "2023-05-01", "Chè"), added(ws, "2023-05-01", "Vải")
    for product, points in ((three, 60), (four, 75)):
        on(ws).advance_product(product, "chosen", date="2023-05-02")
        on(ws).score_product(product, points, "huyen", date="2023-06-01")
    on(ws).advance_product(three, "recognised", date="2023-06-10", ref="3/QĐ-UBND huyện")
    with pytest.raises(Refused, match="4 stars are recognised by the province"):
        on(ws).advance_product(four, "recognised", date="2023-06-10", ref="4/QĐ")


def test_ninety_points_or_more_is_potential_five_star_until_the_centre_decides(ws, ocop):
    product = added(ws, "2021-01-05")
    on(ws).advance_product(product, "chosen", date="2021-02-01")
    on(ws).advance_product(product, "sent", date="2021-02-02", ref="1/TTr")
    on(ws).score_product(product, 92, "tinh", date="2021-03-01")
    row = ocop("product", "list", "--format", "json", "--as-of", "2021-03-02").json()[0]
    assert (row["stars"], row["potential_five_star"]) == (5, True)
    assert "potential 5-star" in ocop("product", "show", product, "--as-of",
                                      "2021-03-02").stdout
    on(ws).advance_product(product, "recognised", date="2021-06-01", ref="781/QĐ-BNN")
    row = ocop("product", "list", "--format", "json", "--as-of", "2021-06-02").json()[0]
    assert (row["stars_in_force"], row["potential_five_star"]) == (5, False)


def test_the_report_counts_the_stages_of_the_process_of_its_date(ws, ocop):
    added(ws, "2019-07-10")
    old = ocop("product", "report", "--format", "csv", "--as-of", "2019-12-31").stdout
    new = ocop("product", "report", "--format", "csv", "--as-of", "2026-03-01").stdout
    funnel_2019 = next(line for line in old.splitlines() if line.startswith("District unit"))
    funnel_2026 = next(line for line in new.splitlines() if line.startswith("District unit"))
    assert "Chosen" in funnel_2019
    assert "Chosen" not in funnel_2026 and "Sent to the province" in funnel_2026


def test_a_list_of_2026_sends_products_to_the_province_with_no_choice_on_the_way(ocop,
                                                                                 tmp_path):
    sheet = tmp_path / "list.csv"
    sheet.write_text("tên sản phẩm,huyện,xã,chủ thể,loại chủ thể,nhóm,bước,ngày\n"
                     "Bánh gai,Gia Lộc,Gia Tân,HTX A,htx,thực phẩm,gửi tỉnh,15/1/2026\n",
                     encoding="utf-8")
    result = ocop("import", "products", str(sheet))
    assert result.exit_code == 0, result.stderr
    assert "registered, sent to the province" in result.stdout
    sheet.write_text("tên sản phẩm,huyện,xã,chủ thể,loại chủ thể,nhóm,bước,ngày\n"
                     "Chè,Gia Lộc,Gia Tân,HTX B,htx,thực phẩm,lựa chọn,15/1/2026\n",
                     encoding="utf-8")
    refused = ocop("import", "products", str(sheet))
    assert refused.exit_code != 0 and "no stage chosen in the process" in refused.stderr
