"""Agencies and administrative units over time: names that resolve on a date, a spelling that
two units share at different times, the end of the district level on 1 July 2025, a plan shared
among the communes in force on its date, and `ocop import units`.

The communes here are made up: the project bundles only the 12 district-level units of 2019."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ocop_cli.core.directory import Directory, Ended
from ocop_cli.store.documents import read_agencies

BEFORE, AFTER = dt.date(2025, 6, 30), dt.date(2025, 7, 1)

# Three made-up communes from 1 July 2025: "Xã Gia Lộc" takes the district's short name,
# "Xã Hồng Hưng" ended on 31/12/2025 and was merged into "Xã Gia Lộc".
COMMUNES = """
  - id: xa-gia-loc
    short: Gia Lộc
    name: Xã Gia Lộc
    level: commune
    kind: locality
    code: "99901"
    from: 2025-07-01
  - id: xa-yet-kieu
    short: Yết Kiêu
    name: Xã Yết Kiêu
    level: commune
    kind: locality
    from: 2025-07-01
  - id: xa-hong-hung
    short: Hồng Hưng
    name: Xã Hồng Hưng
    level: commune
    kind: locality
    from: 2025-07-01
    until: 2025-12-31
    successors: [xa-gia-loc]
"""

PLAN_2026 = """\
number: 7/KH-UBND
year: 2026
title: Kế hoạch OCOP năm 2026
dated: 2026-02-01
tasks:
  - id: "1"
    title: Hội nghị cấp xã
    unit: Hội nghị
    target: "2"
    lead: Gia Lộc
    window: T3-6
    per_unit: commune
"""


def with_communes(ws: Path) -> Path:
    """The workspace's agencies with the made-up communes, and the Gia Lộc district's end
    linked to the commune that took its name."""
    path = ws / "agencies.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("    code: \"297\"\n    until: 2025-06-30\n",
                        "    code: \"297\"\n    until: 2025-06-30\n"
                        "    successors: [xa-gia-loc, xa-yet-kieu]\n", 1)
    path.write_text(text.rstrip("\n") + "\n" + COMMUNES, encoding="utf-8")
    return path


def directory_of(path: Path) -> Directory:
    found, problems = read_agencies(path)
    assert found is not None, problems
    return found


# --- names on either side of a change ----------------------------------------------------------


def test_one_spelling_means_the_district_before_and_the_commune_after(ws: Path) -> None:
    directory = directory_of(with_communes(ws))
    assert directory.resolve("Gia Lộc", BEFORE).id == "gia-loc"
    assert directory.resolve("gia loc", AFTER).id == "xa-gia-loc"
    assert directory.resolve("Phòng NN Gia Lộc", BEFORE).part_of == "gia-loc"


def test_an_ended_name_says_when_it_ended_and_what_took_over(ws: Path) -> None:
    directory = directory_of(with_communes(ws))
    with pytest.raises(Ended) as caught:
        directory.resolve("Huyện Gia Lộc", AFTER)
    assert caught.value.message == (
        "Huyện Gia Lộc ended on 2025-06-30; now part of: Gia Lộc, Yết Kiêu")
    with pytest.raises(Ended) as caught:
        directory.resolve("Hồng Hưng", BEFORE)
    assert "from 2025-07-01" in caught.value.message
    assert directory.resolve("Hồng Hưng", dt.date(2025, 12, 31)).id == "xa-hong-hung"
    assert directory.successors_on("xa-hong-hung", dt.date(2026, 1, 1)) == ("xa-gia-loc",)
    assert directory.successors_on("gia-loc", dt.date(2026, 1, 1)) == ("xa-gia-loc",
                                                                        "xa-yet-kieu")


def test_a_spelling_two_units_hold_at_the_same_time_is_refused(ws: Path) -> None:
    path = with_communes(ws)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    code: \"99901\"\n    from: 2025-07-01\n",
                                 "    code: \"99901\"\n    from: 2025-06-01\n"),
                    encoding="utf-8")
    found, problems = read_agencies(path)
    assert found is None
    assert any("gia-loc and xa-gia-loc share the spelling 'gia loc'" in p.message
               for p in problems)


@pytest.mark.parametrize("change, message", [
    ("    successors: [xa-gia-loc]\n", "unknown agency id 'xa-khong-co'"),
    ("    until: 2025-12-31\n", "it ends (2025-06-01) before it begins (2025-07-01)"),
])
def test_bad_dates_and_successors_are_told_at_their_line(ws: Path, change: str,
                                                         message: str) -> None:
    path = with_communes(ws)
    text = path.read_text(encoding="utf-8")
    bad = {"    successors: [xa-gia-loc]\n": "    successors: [xa-khong-co]\n",
           "    until: 2025-12-31\n": "    until: 2025-06-01\n"}[change]
    path.write_text(text.replace(change, bad), encoding="utf-8")
    found, problems = read_agencies(path)
    assert found is None
    assert any(message in p.message and p.line is not None for p in problems), problems


def test_the_2019_plan_reads_its_names_as_signed_after_the_change(ocop: Any, ws: Path) -> None:
    with_communes(ws)
    result = ocop("tasks", "--plan", "2019", "--place", "Gia Lộc", "--format", "json",
                  "--as-of", "2026-03-01")
    assert result.exit_code == 0 and result.stderr == ""
    assert {row["id"]: row["lead"] for row in result.json()}["1.2"] == "Sở NN và PTNT"


def test_a_filter_may_name_a_unit_that_has_ended_and_is_told_so(ocop: Any, ws: Path) -> None:
    with_communes(ws)
    (ws / "plan_2026.yaml").write_text(PLAN_2026, encoding="utf-8")
    result = ocop("tasks", "--plan", "2026", "--place", "Phòng NN Gia Lộc", "--format", "json",
                  "--as-of", "2026-03-01")
    assert result.exit_code == 0
    assert result.stderr.strip() == "Phòng Nông nghiệp và Phát triển nông thôn huyện " \
        "Gia Lộc ended on 2025-06-30"


# --- shares among the units in force on the plan's date ----------------------------------------


def test_a_plan_after_july_2025_shares_a_task_among_the_communes_of_its_date(ws: Path) -> None:
    from ocop_cli.store.documents import read_plan

    directory = directory_of(with_communes(ws))
    (ws / "plan_2026.yaml").write_text(PLAN_2026, encoding="utf-8")
    plan, problems = read_plan(ws / "plan_2026.yaml", directory)
    assert plan is not None, problems
    task = plan.index["1"]
    # Hồng Hưng is in force on 1/2/2026? No: it ended on 31/12/2025.
    assert task.shared_by == ("xa-gia-loc", "xa-yet-kieu")
    assert task.lead == "xa-gia-loc" and task.per_unit == "commune" and not task.per_district


def test_per_district_reads_as_per_unit_district(ws: Path) -> None:
    from ocop_cli.store.documents import read_plan

    directory = directory_of(ws / "agencies.yaml")
    plan, problems = read_plan(ws / "plan_2019.yaml", directory)
    assert plan is not None, problems
    marked = [t for t in plan.tasks if t.per_district]
    assert marked and all(t.per_unit == "district" and len(t.shared_by) == 12 for t in marked)
    text = (ws / "plan_2019.yaml").read_text(encoding="utf-8")
    (ws / "plan_2019.yaml").write_text(text.replace("per_district: true", "per_unit: district"),
                                       encoding="utf-8")
    again, problems = read_plan(ws / "plan_2019.yaml", directory)
    assert again is not None, problems
    assert again.tasks == plan.tasks


def test_a_plan_shared_among_communes_nobody_imported_is_refused(ws: Path) -> None:
    from ocop_cli.store.documents import read_plan

    (ws / "plan_2026.yaml").write_text(PLAN_2026.replace("lead: Gia Lộc", "lead: Sở NN và PTNT"),
                                       encoding="utf-8")
    plan, problems = read_plan(ws / "plan_2026.yaml", directory_of(ws / "agencies.yaml"))
    assert plan is None
    assert [p.message for p in problems] == [
        "per_unit: no commune-level unit is in force on 2026-02-01; add the units to "
        "agencies.yaml (ocop import units)"]


def test_a_plan_of_2026_cannot_name_a_district_that_ended(ws: Path) -> None:
    from ocop_cli.store.documents import read_plan

    directory = directory_of(with_communes(ws))
    (ws / "plan_2026.yaml").write_text(PLAN_2026.replace("lead: Gia Lộc", "lead: Thanh Hà"),
                                       encoding="utf-8")
    plan, problems = read_plan(ws / "plan_2026.yaml", directory)
    assert plan is None
    assert [(p.task, p.message) for p in problems] == [("1", "Huyện Thanh Hà ended on 2025-06-30")]


def test_each_commune_has_its_share_and_the_whole_partitions(ocop: Any, ws: Path) -> None:
    with_communes(ws)
    (ws / "plan_2026.yaml").write_text(PLAN_2026, encoding="utf-8")
    env = {"OCOP_AS_OF": "2026-04-15"}
    for args in (("1", "1", "--place", "Yết Kiêu"), ("1", "1")):
        result = ocop("progress", "--plan", "2026", *args, env=env)
        assert result.exit_code == 0, result.stderr
    whole = ocop("show", "1", "--plan", "2026", "--format", "json", env=env).json()
    assert (whole["achieved"], whole["unassigned"]) == (2, 1)
    own = {row["id"]: row for row in ocop("tasks", "--plan", "2026", "--place", "Yết Kiêu",
                                          "--format", "json", env=env).json()}
    assert own["1"]["achieved"] == 1 and own["1"]["status"] == "done"
    other = {row["id"]: row for row in ocop("tasks", "--plan", "2026", "--place", "Gia Lộc",
                                            "--format", "json", env=env).json()}
    # Gia Lộc's share is not known: the whole is met, one of the two without a place.
    assert other["1"]["status"] is None and other["1"]["whole"]["status"] == "done"


# --- `ocop import units` -------------------------------------------------------------------

LIST = (
    "Mã\tTên\tCấp\tTrực thuộc\tTừ ngày\tĐến ngày\tĐơn vị kế thừa\n"
    "297\tHuyện Gia Lộc\thuyện\t\t\t30/6/2025\tXã Gia Lộc, Xã Yết Kiêu\n"
    "99901\tXã Gia Lộc\txã\t\t1/7/2025\t\t\n"
    "99902\tXã Yết Kiêu\txã\t\t1/7/2025\t\t\n"
    "99903\tXã Hồng Hưng\txã\t\t1/7/2025\t31/12/2025\tSáp nhập vào xã Gia Lộc\n"
)


def test_a_list_of_units_is_imported_and_a_2026_plan_shares_among_them(ocop: Any, ws: Path,
                                                                       tmp_path: Path) -> None:
    from ocop_cli.core.errors import EXIT_OK

    listed = tmp_path / "xa_2025.tsv"
    listed.write_text(LIST, encoding="utf-8")
    before = (ws / "agencies.yaml").read_bytes()
    dry = ocop("import", "units", str(listed), "--dry-run")
    assert dry.exit_code == EXIT_OK, dry.stderr
    assert (ws / "agencies.yaml").read_bytes() == before
    assert dry.stdout.splitlines()[-1] == ("Dry run: 3 units would be added, 1 ended, "
                                           "0 unchanged; agencies.yaml is as it was.")
    done = ocop("import", "units", str(listed))
    assert done.exit_code == EXIT_OK, done.stderr
    after = (ws / "agencies.yaml").read_text(encoding="utf-8")
    assert after.startswith(before.decode("utf-8").split("  - id: kim-thanh")[0].replace(
        '    code: "297"\n    until: 2025-06-30\n',
        '    code: "297"\n    until: 2025-06-30\n    successors: [xa-gia-loc, xa-yet-kieu]\n'))
    directory = directory_of(ws / "agencies.yaml")
    assert directory.by_id["xa-hong-hung"].successors == ("xa-gia-loc",)
    assert directory.resolve("Gia Lộc", AFTER).code == "99901"
    (ws / "plan_2026.yaml").write_text(PLAN_2026, encoding="utf-8")
    shown = ocop("show", "1", "--plan", "2026", "--format", "json", "--as-of", "2026-03-01")
    assert shown.exit_code == EXIT_OK, shown.stderr
    again = ocop("import", "units", str(listed))
    assert again.stdout.splitlines()[-1] == "agencies.yaml: 0 units added, 0 ended, 4 unchanged."
    assert ocop("check").exit_code == EXIT_OK


def test_english_headers_in_a_csv_read_the_same(ocop: Any, ws: Path, tmp_path: Path) -> None:
    listed = tmp_path / "units.csv"
    listed.write_text("code,name,level,parent,from,until,successors\n"
                      "99901,Xã Gia Lộc,commune,,2025-07-01,,\n"
                      "99902,Phường 1,xã,99901,2025-07-01,,\n", encoding="utf-8")
    result = ocop("import", "units", str(listed))
    assert result.exit_code == 0, result.stderr
    directory = directory_of(ws / "agencies.yaml")
    ward = directory.resolve("Phường 1", AFTER)
    assert (ward.short, ward.part_of, ward.level) == ("Phường 1", "xa-gia-loc", "commune")


def test_a_row_that_conflicts_with_agencies_yaml_appends_nothing(ocop: Any, ws: Path,
                                                                 tmp_path: Path) -> None:
    from ocop_cli.core.errors import EXIT_INVALID

    listed = tmp_path / "xa.tsv"
    listed.write_text(LIST.replace("\t\t\t30/6/2025\t", "\t\t\t31/12/2024\t")
                      .replace("99902\tXã Yết Kiêu\txã\t\t1/7/2025",
                               "99902\tXã Thanh Hà\txã\t\t1/7/2024"), encoding="utf-8")
    before = (ws / "agencies.yaml").read_bytes()
    result = ocop("import", "units", str(listed))
    assert result.exit_code == EXIT_INVALID
    assert (ws / "agencies.yaml").read_bytes() == before
    lines = result.stderr.splitlines()
    assert "2 rows at fault (rows 2, 4); nothing was imported" in lines[0]
    assert "row 2: gia-loc is in agencies.yaml with another end date" in result.stderr
    assert "row 4: thanh-ha and xa-thanh-ha share the spelling 'thanh ha'" in result.stderr


def test_a_hostile_units_file_is_refused_row_by_row_and_nothing_changes(
        ocop: Any, ws: Path, tmp_path: Path) -> None:
    from ocop_cli.core.errors import EXIT_INVALID

    listed = tmp_path / "hostile.csv"
    rows = [
        "code,name,level,parent,from,until,successors",
        "12ab,Xã A,xã,,2025-07-01,,",  # a code that is not digits
        "99901,\"Xã \x1b[31mB\",xã,,2025-07-01,,",  # a control sequence in a name
        "99902," + "X" * 5000 + ",xã,,2025-07-01,,",  # a name of 5,000 characters
        "99903,Xã C,vùng,,2025-07-01,,",  # no such level
        "99904,Xã D,xã,,32/13/2025,,",  # no such day
        "99905,Xã E,xã,,2025-07-01,2025-01-01,",  # ends before it begins
        "99906,Xã F,xã,,2025-07-01,2025-12-31,Xã Không Có",  # a successor nobody knows
        "99907,Xã G,xã,,2025-07-01,,Xã A",  # successors without the day it ended
        "99908,=HYPERLINK(\"http://x\"),xã,Tỉnh Nào Đó,2025-07-01,,",  # an unknown parent
    ]
    listed.write_text("\n".join(rows) + "\n", encoding="utf-8")
    before = (ws / "agencies.yaml").read_bytes()
    result = ocop("import", "units", str(listed))
    assert result.exit_code == EXIT_INVALID
    assert "Traceback" not in result.stderr and "\x1b" not in result.stderr
    assert (ws / "agencies.yaml").read_bytes() == before
    told = result.stderr
    assert "9 rows at fault (rows 2-10); nothing was imported" in told
    for row, words in ((2, "is not a code of digits"), (3, "control character"),
                       (4, "5000 characters"), (5, "is not a level"), (6, "is not a date"),
                       (7, "it ends (2025-01-01) before it begins (2025-07-01)"),
                       (8, "no unit 'Xã Không Có'"), (9, "needs the day it ended"),
                       (10, "no unit 'Tỉnh Nào Đó'")):
        assert any(line.strip().startswith(f"row {row}") and words in line
                   for line in told.splitlines()), (row, words, told)


TABLE_2026 = (
    "TT\tNội dung thực hiện\tĐVT\tSố lượng\tCơ quan chủ trì\tCơ quan phối hợp\t"
    "Thời gian thực hiện\tChia theo đơn vị\n"
    "1\tHội nghị cấp xã\tHội nghị\t02\tGia Lộc\tSở NN và PTNT\tT3-6\txã\n"
    "2\tKiểm tra\tLần\t01\tSở NN và PTNT\t\tT9\t\n"
)


def test_an_imported_table_gives_a_task_per_commune_and_names_on_its_date(
        ocop: Any, ws: Path, tmp_path: Path) -> None:
    listed = tmp_path / "xa.tsv"
    listed.write_text(LIST, encoding="utf-8")
    assert ocop("import", "units", str(listed)).exit_code == 0
    table = tmp_path / "bang_2026.tsv"
    table.write_text(TABLE_2026, encoding="utf-8")
    result = ocop("import", "plan", str(table), "--year", "2026", "--number", "7/KH",
                  "--dated", "2026-02-01")
    assert result.exit_code == 0, result.stderr
    assert "    per_unit: commune\n" in (ws / "plan_2026.yaml").read_text(encoding="utf-8")
    shown = ocop("show", "1", "--plan", "2026", "--format", "json", "--as-of", "2026-03-01")
    assert shown.json()["lead"] == "Gia Lộc"
    listed_tasks = ocop("tasks", "--plan", "2026", "--place", "Yết Kiêu", "--format", "json",
                        "--as-of", "2026-03-01").json()
    assert [row["id"] for row in listed_tasks if row.get("shared")] == ["1"]
    # the same table dated before the change names the district, which is shared per huyện
    before = ocop("import", "plan", str(table), "--year", "2025", "--number", "7/KH",
                  "--dated", "2025-02-01")
    assert before.exit_code != 0
    assert "per_unit: no commune-level unit is in force on 2025-02-01" in before.stderr


def test_a_table_of_2026_that_names_an_ended_district_is_told_why(
        ocop: Any, ws: Path, tmp_path: Path) -> None:
    from ocop_cli.core.errors import EXIT_INVALID

    table = tmp_path / "bang_2026.tsv"
    table.write_text(TABLE_2026.replace("\tGia Lộc\t", "\tThanh Hà\t").replace("\txã\n", "\t\n"),
                     encoding="utf-8")
    result = ocop("import", "plan", str(table), "--year", "2026", "--number", "7/KH",
                  "--dated", "2026-02-01", "--add-agencies")
    assert result.exit_code == EXIT_INVALID
    assert "row 2 (task 1), Cơ quan chủ trì: Huyện Thanh Hà ended on 2025-06-30" in result.stderr
    assert not (ws / "plan_2026.yaml").exists()


# --- reports across a change ------------------------------------------------------------------

PLAN_2025 = PLAN_2026.replace("year: 2026", "year: 2025").replace(
    "dated: 2026-02-01", "dated: 2025-08-01").replace("T3-6", "T8-12").replace(
    'target: "2"', 'target: "3"')


def test_a_report_after_a_merger_names_the_ended_unit_and_can_count_it_under_its_successor(
        ocop: Any, ws: Path) -> None:
    with_communes(ws)
    (ws / "plan_2025.yaml").write_text(PLAN_2025, encoding="utf-8")
    for place, day in (("Hồng Hưng", "2025-09-10"), ("Gia Lộc", "2025-10-01")):
        result = ocop("progress", "--plan", "2025", "1", "1", "--place", place, "--date", day,
                      "--as-of", day)
        assert result.exit_code == 0, result.stderr

    def units(*extra: str) -> dict[str, tuple[int | None, str | None]]:
        doc = ocop("report", "--plan", "2025", "--format", "json", "--as-of", "2026-01-15",
                   *extra).json()
        (row,) = doc["places"]
        return {u["id"]: (u["qty"], u["ended"]) for u in row["units"]}

    assert units() == {"xa-gia-loc": (1, None), "xa-yet-kieu": (0, None),
                       "xa-hong-hung": (1, "2025-12-31")}
    assert units("--by-successor") == {"xa-gia-loc": (2, None), "xa-yet-kieu": (0, None),
                                       "xa-hong-hung": (0, "2025-12-31")}
    # before the merger, nothing has ended
    doc = ocop("report", "--plan", "2025", "--format", "json", "--as-of", "2025-11-01").json()
    assert all(u["ended"] is None for u in doc["places"][0]["units"])
    table = ocop("report", "--plan", "2025", "--as-of", "2026-01-15", "--format", "md").stdout
    assert "Hồng Hưng (ended 2025-12-31)" in table
    assert "By commune (tasks each commune holds a share of)" in table
    vi = ocop("report", "--plan", "2025", "--as-of", "2026-01-15", "--format", "md",
              "--lang", "vi").stdout
    assert "Hồng Hưng (kết thúc 31/12/2025)" in vi
    found = ocop("tasks", "--plan", "2025", "--place", "Hồng Hưng", "--format", "json",
                 "--as-of", "2026-01-15")
    assert found.exit_code == 0 and found.stderr == "" and found.json()[0]["achieved"] == 1


# --- the product register's places ------------------------------------------------------------


def test_a_product_of_a_merged_commune_keeps_its_place_and_is_found_under_the_successor(
        ocop: Any, ws: Path) -> None:
    with_communes(ws)
    (ws / "plan_2026.yaml").write_text(PLAN_2026, encoding="utf-8")
    added = ocop("product", "add", "Gạo nếp", "--district", "Hồng Hưng", "--commune",
                 "Xã Hồng Hưng", "--entity", "HTX Hồng Hưng", "--kind", "htx", "--group",
                 "thuc-pham", "--date", "2025-09-01", "--as-of", "2025-09-01")
    assert added.exit_code == 0, added.stderr
    product = added.stdout.split()[0]

    def listed(*args: str) -> list[dict[str, Any]]:
        result = ocop("product", "list", "--format", "json", "--as-of", "2026-03-01", *args)
        assert result.exit_code == 0, result.stderr
        return list(result.json())

    (row,) = listed("--district", "Gia Lộc")  # the commune that took Hồng Hưng over
    assert (row["id"], row["district"], row["district_id"]) == (product, "Hồng Hưng",
                                                                "xa-hong-hung")
    assert listed("--district", "Yết Kiêu") == []
    report = ocop("product", "report", "--format", "json", "--as-of", "2026-03-01").json()
    units, total = report["products"]["by_district"], report["products"]["total"]
    assert sum(u["registered"] for u in units) == total["registered"] == 1
    assert [u["id"] for u in units if u["registered"]] == ["xa-hong-hung"]


def test_a_place_is_recorded_among_the_units_in_force_on_the_entry_s_date(
        ocop: Any, ws: Path, tmp_path: Path) -> None:
    from ocop_cli.core.errors import EXIT_INVALID, EXIT_NOT_FOUND

    with_communes(ws)
    (ws / "plan_2025.yaml").write_text(PLAN_2025.replace(
        "year: 2025", "year: 2025\nlast_year: 2026").replace("T8-12", "Tháng 8/2025 - 3/2026"),
        encoding="utf-8")
    ok = ocop("progress", "--plan", "2025", "1", "1", "--place", "Hồng Hưng",
              "--date", "2025-12-31", "--as-of", "2026-02-01")
    assert ok.exit_code == 0, ok.stderr
    late = ocop("progress", "--plan", "2025", "1", "1", "--place", "Hồng Hưng",
                "--date", "2026-01-05", "--as-of", "2026-02-01")
    assert late.exit_code == EXIT_NOT_FOUND
    assert "Xã Hồng Hưng ended on 2025-12-31; now part of: Gia Lộc" in late.stderr
    sheet = tmp_path / "tien_do.csv"
    sheet.write_text("date,task,action,quantity,place\n2026-01-05,1,progress,1,Hồng Hưng\n",
                     encoding="utf-8")
    rows = ocop("import", "progress", str(sheet), "--plan", "2025", "--as-of", "2026-02-01")
    assert rows.exit_code == EXIT_INVALID
    assert "Xã Hồng Hưng ended on 2025-12-31" in rows.stderr
    shown = ocop("show", "1", "--plan", "2025", "--format", "json", "--as-of", "2026-02-01")
    assert shown.json()["achieved"] == 1


def test_a_plan_that_arrives_with_its_tasks_shared_otherwise_says_so(ws: Path) -> None:
    from ocop_cli.core.model import Plan, Task
    from ocop_cli.sync.arrived import _plan_changes

    before = Plan("7/KH", 2026, "KH", (Task("1", "Hội nghị", per_unit="district"),))
    after = Plan("7/KH", 2026, "KH", (Task("1", "Hội nghị", per_unit="commune"),))
    assert _plan_changes(before, after) == ["1 shared per unit district → commune"]


# --- a unit made in the middle of a plan ------------------------------------------------------

NEW_COMMUNE = """
  - id: xa-tan-hung
    short: Tân Hưng
    name: Xã Tân Hưng
    level: commune
    kind: locality
    from: 2026-03-01
"""


def test_a_commune_made_after_the_plan_is_listed_from_its_start_without_a_share(
        ocop: Any, ws: Path) -> None:
    path = with_communes(ws)
    path.write_text(path.read_text(encoding="utf-8") + NEW_COMMUNE, encoding="utf-8")
    (ws / "plan_2026.yaml").write_text(PLAN_2026.replace('target: "2"', 'target: "3"'),
                                       encoding="utf-8")
    for place, day in (("Tân Hưng", "2026-03-10"), ("Yết Kiêu", "2026-03-12")):
        result = ocop("progress", "--plan", "2026", "1", "1", "--place", place, "--date", day,
                      "--as-of", day)
        assert result.exit_code == 0, result.stderr

    def row(as_of: str) -> dict[str, Any]:
        (found,) = ocop("report", "--plan", "2026", "--format", "json", "--as-of",
                        as_of).json()["places"]
        return dict(found)

    before = row("2026-02-20")  # the commune did not exist yet: the report reads as before
    assert "new_units" not in before and [u["id"] for u in before["units"]] == [
        "xa-gia-loc", "xa-yet-kieu"]
    after = row("2026-04-15")
    # The plan's two shares stay with the communes of its date; the new one holds none, and
    # what it recorded is its own, apart from what no unit was named for.
    assert {u["id"]: u["qty"] for u in after["units"]} == {"xa-gia-loc": 0, "xa-yet-kieu": 1}
    assert after["new_units"] == [{"id": "xa-tan-hung", "place": "Tân Hưng", "qty": 1,
                                   "done": None, "status": None, "ended": None,
                                   "since": "2026-03-01"}]
    assert after["achieved"] == 2 and after["not_by_unit"] == 0
    assert "since" not in after["units"][0]
    table = ocop("report", "--plan", "2026", "--as-of", "2026-04-15", "--format", "md").stdout
    assert "Tân Hưng (new since 2026-03-01): 1" in table
    vi = ocop("report", "--plan", "2026", "--as-of", "2026-04-15", "--format", "md",
              "--lang", "vi").stdout
    assert "Tân Hưng (mới từ 01/03/2026): 1" in vi


# --- `ocop agencies` with dates -----------------------------------------------------------------


def test_agencies_shows_dates_and_marks_what_had_ended_on_the_as_of_date(
        ocop: Any, ws: Path) -> None:
    bundled = [a["id"] for a in ocop("agencies", "--format", "json", "--as-of",
                                     "2019-06-15").json()]
    with_communes(ws)
    (ws / "plan_2026.yaml").write_text(PLAN_2026, encoding="utf-8")

    def listed(*args: str) -> dict[str, dict[str, Any]]:
        result = ocop("agencies", "--format", "json", *args)
        assert result.exit_code == 0, result.stderr
        return {a["id"]: a for a in result.json()}

    # As of 2019 the communes to come are not listed: the same rows as before they existed.
    assert list(listed("--plan", "2019", "--as-of", "2019-06-15")) == bundled
    # The 2019 plan as of 2026: the district it names is listed, ended, with what took over;
    # a commune that ended and that the plan does not name is listed only with --all.
    old = listed("--plan", "2019", "--as-of", "2026-01-15")
    assert {k: old["gia-loc"][k] for k in ("from", "until", "successors", "code", "ended")} \
        == {"from": None, "until": "2025-06-30", "successors": ["xa-gia-loc", "xa-yet-kieu"],
            "code": "297", "ended": True}
    assert old["xa-gia-loc"]["ended"] is False and old["xa-gia-loc"]["from"] == "2025-07-01"
    assert "xa-hong-hung" not in old
    every = listed("--plan", "2019", "--as-of", "2026-01-15", "--all")
    assert every["xa-hong-hung"]["ended"] is True and set(old) < set(every)
    # The 2026 plan names no district: as of its date only what is in force is listed.
    new = listed("--plan", "2026", "--as-of", "2026-04-15")
    assert "gia-loc" not in new and new["xa-gia-loc"]["lead"] == 1
    table = ocop("agencies", "--plan", "2019", "--as-of", "2026-01-15", "--format", "md",
                 "--lang", "vi").stdout
    assert "kết thúc 30/06/2025; nay thuộc: Gia Lộc, Yết Kiêu" in table
    assert "từ 01/07/2025" in table
    english = ocop("agencies", "--plan", "2019", "--as-of", "2026-01-15", "--format", "md")
    assert "ended 2025-06-30; now part of: Gia Lộc, Yết Kiêu" in english.stdout


# --- a product's place, on the product's own date -------------------------------------------------


def test_a_product_is_registered_in_the_unit_in_force_on_its_own_date(
        ocop: Any, ws: Path, tmp_path: Path) -> None:
    from ocop_cli.core.errors import EXIT_INVALID, EXIT_NOT_FOUND

    with_communes(ws)
    (ws / "plan_2026.yaml").write_text(PLAN_2026, encoding="utf-8")
    product = ("product", "add", "Gạo nếp", "--commune", "Xã Hồng Hưng", "--entity",
               "HTX Hồng Hưng", "--kind", "htx", "--group", "thuc-pham", "--as-of",
               "2026-03-01")
    # "Gia Lộc" on 01/06/2025 was the district, whatever it means on the as-of date.
    old = ocop(*product, "--district", "Gia Lộc", "--date", "2025-06-01")
    assert old.exit_code == 0, old.stderr
    (row,) = ocop("product", "list", "--format", "json", "--as-of", "2026-03-01").json()
    assert row["district_id"] == "gia-loc"
    # Hồng Hưng had ended by 05/01/2026: refused, naming what took it over; nothing written.
    late = ocop(*product, "--district", "Hồng Hưng", "--date", "2026-01-05")
    assert late.exit_code == EXIT_NOT_FOUND
    assert "Xã Hồng Hưng ended on 2025-12-31; now part of: Gia Lộc" in late.stderr
    sheet = tmp_path / "hong_hung.csv"
    sheet.write_text("tên sản phẩm,huyện,xã,chủ thể,loại chủ thể,nhóm,ngày\n"
                     "Chè,Hồng Hưng,Hồng Hưng,Hộ B,hộ,đồ uống,5/1/2026\n", encoding="utf-8")
    rows = ocop("import", "products", str(sheet), "--as-of", "2026-03-01")
    assert rows.exit_code == EXIT_INVALID
    assert "Xã Hồng Hưng ended on 2025-12-31" in rows.stderr
    assert len(ocop("product", "list", "--format", "json", "--as-of", "2026-03-01").json()) == 1
    # On a day it was in force it is taken, also when the as-of date is after its end.
    ok = ocop(*product, "--district", "Hồng Hưng", "--date", "2025-09-01")
    assert ok.exit_code == 0 and ok.stderr == "", ok.stderr
    # A district whose communes nobody imported has nothing in force to pass to: still taken,
    # and told.
    alone = ocop(*product, "--district", "Thanh Hà", "--date", "2026-01-05")
    assert alone.exit_code == 0 and "Huyện Thanh Hà ended on 2025-06-30" in alone.stderr
