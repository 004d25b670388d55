"""A certificate's life: recognised with its decision, date and expiry (36 months, from the
rules), in force up to the day before and expired on the day, renewed before or after that day,
upgraded to more stars, revoked; the stars of any date are those in force that day."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from ocop_cli.core.errors import Refused, UsageError
from ocop_cli.store.storage import Workspace
from ocop_cli.tracker import products
from ocop_cli.tracker.tracker import Tracker


def on(ws: Path, day: str = "2030-01-01") -> Tracker:
    return Tracker(Workspace(ws), as_of=dt.date.fromisoformat(day))


def recognised(ws: Path, day: str = "2019-12-10", points: int = 76) -> str:
    """A product scored `points` by the province and recognised on `day`."""
    t = on(ws)
    product = t.add_product("Bánh gai", "Ninh Giang", "Hồng Phúc", "HTX Hồng Phúc", "htx",
                            "thuc-pham", date="2019-07-10").entries[0].product
    if day < "2025-07-01":  # since then a commune sends it to the province itself
        t.advance_product(product, "chosen", date=day)
    t.advance_product(product, "sent", date=day, ref="12/TTr-UBND")
    t.score_product(product, points, "tinh", date=day)
    t.advance_product(product, "recognised", date=day, ref="2345/QĐ-UBND")
    return product


def rescored(ws: Path, product: str, day: str, points: int, stage: str, ref: str) -> None:
    on(ws).score_product(product, points, "tinh", date=day)
    on(ws).advance_product(product, stage, date=day, ref=ref)


def state(ws: Path, product: str, day: str) -> tuple[str | None, int | None, str | None]:
    """The certificate's standing, the stars in force and the expiry on `day`."""
    _loaded, lines, rules = on(ws, day).register()
    found = products.products_as_of(lines, rules, dt.date.fromisoformat(day))[product]
    when = dt.date.fromisoformat(day)
    return (found.certificate_status(when), found.stars_on(when),
            found.expires.isoformat() if found.expires else None)


def test_a_certificate_holds_36_months_and_has_expired_on_the_day_they_end(ws):
    product = recognised(ws)
    assert state(ws, product, "2019-12-10") == ("in_force", 4, "2022-12-10")
    assert state(ws, product, "2022-12-09") == ("in_force", 4, "2022-12-10")
    assert state(ws, product, "2022-12-10") == ("expired", None, "2022-12-10")
    assert state(ws, product, "2022-12-11") == ("expired", None, "2022-12-10")
    assert state(ws, product, "2019-12-09")[0] is None  # not yet recognised


def test_expiry_is_derived_never_typed(ws, ocop):
    product = recognised(ws)
    typed = ocop("product", "stage", product, "expired", "--date", "2022-12-10")
    assert typed.exit_code != 0
    shown = ocop("product", "show", product, "--as-of", "2022-12-10")
    assert "expired on 10/12/2022" in shown.stdout or "expired on 2022-12-10" in shown.stdout
    shown = ocop("product", "show", product, "--as-of", "2022-12-09")
    assert re.search(r"in force until (09/12/2022|2022-12-09)", shown.stdout)


def test_a_renewal_before_expiry_keeps_the_record_continuous(ws):
    product = recognised(ws)
    rescored(ws, product, "2022-11-20", 72, "renewed", "100/QĐ-UBND")
    assert state(ws, product, "2022-11-19") == ("in_force", 4, "2022-12-10")
    for day in ("2022-11-20", "2022-12-10", "2025-11-19"):
        assert state(ws, product, day) == ("in_force", 4, "2025-11-20")
    assert state(ws, product, "2025-11-20") == ("expired", None, "2025-11-20")


def test_a_renewal_after_expiry_leaves_the_days_between_expired(ws):
    product = recognised(ws)
    rescored(ws, product, "2023-01-15", 71, "renewed", "7/QĐ-UBND")
    assert state(ws, product, "2022-12-20") == ("expired", None, "2022-12-10")
    assert state(ws, product, "2023-01-15") == ("in_force", 4, "2026-01-15")


def test_an_upgrade_takes_more_stars_and_a_renewal_no_more(ws):
    product = recognised(ws)
    on(ws).score_product(product, 91, "tinh", date="2021-03-01")
    with pytest.raises(Refused, match="record it as upgraded"):
        on(ws).advance_product(product, "renewed", date="2021-03-05", ref="1/QĐ")
    # The new score is the centre's to decide on; the certificate's 4 stars hold meanwhile.
    assert state(ws, product, "2021-03-02") == ("in_force", 4, "2022-12-10")
    on(ws).advance_product(product, "upgraded", date="2021-04-01", ref="9/QĐ-BNN")
    assert state(ws, product, "2021-04-01") == ("in_force", 5, "2024-04-01")
    on(ws).score_product(product, 93, "tinh", date="2024-03-01")
    with pytest.raises(Refused, match="an upgrade needs more stars"):
        on(ws).advance_product(product, "upgraded", date="2024-03-05", ref="2/QĐ")


def test_a_revocation_ends_the_stars_on_its_day_with_its_decision_and_reason(ws, ocop):
    product = recognised(ws)
    with pytest.raises(UsageError, match="--note"):
        on(ws).advance_product(product, "revoked", date="2021-06-01", ref="50/QĐ-UBND")
    with pytest.raises(UsageError, match="--ref"):
        on(ws).advance_product(product, "revoked", date="2021-06-01", note="vi phạm ATTP")
    on(ws).advance_product(product, "revoked", date="2021-06-01", ref="50/QĐ-UBND",
                           note="vi phạm ATTP")
    assert state(ws, product, "2021-05-31") == ("in_force", 4, "2022-12-10")
    assert state(ws, product, "2021-06-01")[:2] == ("revoked", None)
    with pytest.raises(Refused):
        rescored(ws, product, "2021-07-01", 80, "renewed", "3/QĐ")
    shown = ocop("product", "show", product, "--as-of", "2021-06-02", "--lang", "vi")
    assert "thu hồi ngày 01/06/2021 theo 50/QĐ-UBND: vi phạm ATTP" in shown.stdout


def test_an_expired_certificate_cannot_be_revoked(ws):
    product = recognised(ws)
    with pytest.raises(Refused, match="nothing to revoke"):
        on(ws).advance_product(product, "revoked", date="2023-01-01", ref="5/QĐ",
                               note="hết hạn")


def test_a_recognition_whose_expiry_leaves_the_calendar_is_refused(ws):
    """36 months from 01/06/9998 fall after 31/12/9999: the certificate is refused in one
    line rather than recorded without an end (tests/test_hostile_office.py has the line
    written by hand)."""
    with pytest.raises(Refused, match="past the calendar"):
        recognised(ws, "9998-06-01")
    _loaded, lines, _rules = on(ws, "9999-12-31").register()
    assert [line.action for line in lines][-1] == "scored"  # nothing of the refusal written


def test_a_dry_run_shows_the_ids_the_import_then_records(ocop, tmp_path):
    sheet = tmp_path / "gia_loc.csv"
    sheet.write_text("tên sản phẩm,huyện,xã,chủ thể,loại chủ thể,nhóm,ngày\n"
                     "Bánh gai,Gia Lộc,Gia Tân,HTX A,hợp tác xã,thực phẩm,15/9/2019\n"
                     "Chè,Gia Lộc,Gia Hòa,Hộ B,hộ,đồ uống,15/9/2019\n", encoding="utf-8")
    dry = ocop("import", "products", str(sheet), "--dry-run", "--by", "Phòng NN Gia Lộc")
    done = ocop("import", "products", str(sheet), "--by", "Phòng NN Gia Lộc")
    assert dry.exit_code == done.exit_code == 0
    ids = re.findall(r"sp-[0-9a-f]{6}", dry.stdout)
    assert len(ids) == 2 and ids == re.findall(r"sp-[0-9a-f]{6}", done.stdout)
    listed = ocop("product", "list", "--format", "json").json()
    assert sorted(row["id"] for row in listed) == sorted(ids)


def other(ws: Path, name: str, district: str, entity: str, day: str) -> str:
    t = on(ws)
    product = t.add_product(name, district, "Xã B", entity, "dn", "do-uong",
                            date="2019-07-10").entries[0].product
    t.advance_product(product, "chosen", date=day)
    t.advance_product(product, "sent", date=day, ref="12/TTr-UBND")
    t.score_product(product, 80, "tinh", date=day)
    t.advance_product(product, "recognised", date=day, ref="88/QĐ-UBND")
    return product


def test_due_lists_what_expires_within_the_days_by_place_with_the_notice_date(ws, ocop):
    banh = recognised(ws)  # Ninh Giang, expires 2022-12-10
    che = other(ws, "Chè", "Gia Lộc", "Công ty Chè", "2019-12-20")  # expires 2022-12-20
    other(ws, "Vải", "Thanh Hà", "HTX Vải", "2020-03-01")  # expires 2023-03-01: not soon
    rows = ocop("product", "due", "--as-of", "2022-11-25", "--format", "json").json()
    # Gia Lộc comes before Ninh Giang in the province's order of its units.
    assert [(r["id"], r["notice_by"], r["notice_late"], r["days_left"]) for r in rows] == [
        (che, "2022-11-20", True, 25), (banh, "2022-11-10", True, 15)]
    assert [r["id"] for r in ocop("product", "due", "--within", "20", "--as-of", "2022-11-25",
                                  "--format", "json").json()] == [banh]
    assert [r["id"] for r in ocop("product", "due", "--district", "ninh giang", "--as-of",
                                  "2022-11-25", "--format", "json").json()] == [banh]
    # The day before it expires it is due; on the day it has expired and is not.
    assert [r["days_left"] for r in ocop("product", "due", "--as-of", "2022-12-09",
                                         "--format", "json").json()][-1] == 1
    assert banh not in [r["id"] for r in ocop("product", "due", "--as-of", "2022-12-10",
                                              "--format", "json").json()]


def test_due_as_csv_keeps_the_data_under_vietnamese_headers(ws, ocop):
    banh = recognised(ws)
    result = ocop("product", "due", "--as-of", "2022-11-25", "--format", "csv", "--lang", "vi")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Huyện,Xã,Chủ thể,Sản phẩm,Mã sản phẩm,Sao,Quyết định,Hết hạn,Thông báo chủ thể trước",
        f"Ninh Giang,Hồng Phúc,HTX Hồng Phúc,Bánh gai,{banh},4,2345/QĐ-UBND,2022-12-10,"
        "2022-11-10"]


def test_the_report_counts_certificates_by_year_and_the_rate_of_expired_ones_renewed(ws, ocop):
    back = recognised(ws)  # expires 2022-12-10, renewed after that
    rescored(ws, back, "2023-01-15", 71, "renewed", "7/QĐ-UBND")
    other(ws, "Chè", "Gia Lộc", "Công ty Chè", "2019-12-20")  # expires 2022-12-20, never back
    kept = other(ws, "Vải", "Thanh Hà", "HTX Vải", "2020-03-01")
    rescored(ws, kept, "2023-02-01", 75, "renewed", "9/QĐ-UBND")  # before its expiry
    gone = other(ws, "Gà", "Tứ Kỳ", "HTX Gà", "2020-05-01")
    on(ws).advance_product(gone, "revoked", date="2021-06-01", ref="50/QĐ", note="vi phạm")
    report = ocop("product", "report", "--format", "json", "--as-of", "2023-06-30").json()
    years = {row["year"]: row for row in report["products"]["by_year"]}
    assert years[2019]["recognised"] == 2 and years[2020]["recognised"] == 2
    assert (years[2021]["revoked"], years[2021]["expired"]) == (1, 0)
    assert (years[2022]["expired"], years[2022]["expired_renewed"],
            years[2022]["percent"]) == (2, 1, 50.0)
    assert (years[2023]["renewed"], years[2023]["expired"]) == (2, 0)
    assert years[None] == {"year": None, "recognised": 4, "renewed": 2, "upgraded": 0,
                           "expired": 2, "expired_renewed": 1, "revoked": 1, "percent": 50.0}
    # As of a day before the renewal, the expired one has not come back yet.
    earlier = ocop("product", "report", "--format", "json", "--as-of", "2023-01-01").json()
    years = {row["year"]: row for row in earlier["products"]["by_year"]}
    assert (years[2022]["expired"], years[2022]["expired_renewed"]) == (2, 0)
    table = ocop("product", "report", "--as-of", "2023-06-30", "--format", "csv").stdout
    assert "Total,4,2,0,2,1,50" in table


def test_the_list_filters_by_the_standing_of_the_certificate_on_the_day(ws, ocop):
    banh = recognised(ws)  # expires 2022-12-10
    gone = other(ws, "Gà", "Tứ Kỳ", "HTX Gà", "2020-05-01")
    on(ws).advance_product(gone, "revoked", date="2021-06-01", ref="50/QĐ", note="vi phạm")

    def listed(standing: str, day: str) -> list[str]:
        return [r["id"] for r in ocop("product", "list", "--certificate", standing, "--as-of",
                                      day, "--format", "json").json()]

    assert set(listed("in_force", "2021-01-01")) == {banh, gone}
    assert listed("revoked", "2021-01-01") == []
    assert (listed("in_force", "2022-12-09"), listed("revoked", "2022-12-09")) == ([banh], [gone])
    assert (listed("in_force", "2022-12-10"), listed("expired", "2022-12-10")) == ([], [banh])
