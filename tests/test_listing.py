"""`ocop tasks` on the shipped 2019 plan: what a user sees in each format."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "table_2019.tsv"


def table_leaves() -> dict[str, dict[str, str]]:
    """The leaf rows of the signed table, read straight from the source text."""
    rows: dict[str, dict[str, str]] = {}
    parent, sub = "", 0
    for line in FIXTURE.read_text(encoding="utf-8").splitlines()[1:]:
        if not line.strip():
            continue
        cells = line.strip("\t").split("\t") if line.startswith("\t") else line.split("\t")
        first = cells[0].strip()
        if first.startswith("-"):
            sub += 1
            title = [] if first == "-" else [first[1:].strip()]
            cells = [f"{parent}.{sub}", *title, *cells[1:]]
        else:
            parent, sub = first, 0
        rows[cells[0]] = dict(zip(["id", "title", "unit", "qty", "lead", "partners", "time"],
                                  [c.strip() for c in cells], strict=False))
    parents = {i.rpartition(".")[0] for i in rows if "." in i}
    return {i: r for i, r in rows.items() if i not in parents}


def months(time: str) -> set[int]:
    """An independent reading of the time cells, enough for this table."""
    numbers = [int(n) for n in re.findall(r"\d+", time)]
    if "-" in time:
        return set(range(numbers[0], numbers[-1] + 1))
    return set(numbers)


def test_month_7_lists_exactly_the_leaf_tasks_active_in_july(ocop):
    result = ocop("tasks", "--month", "7", "--format", "json")
    assert result.exit_code == 0, result.stderr
    listed = result.json()
    leaves = {t["id"]: t for t in listed if t["leaf"]}
    expected = {i: r for i, r in table_leaves().items() if 7 in months(r["time"])}
    assert set(leaves) == set(expected)
    for task_id, row in expected.items():
        task = leaves[task_id]
        assert set(task["months"]) == months(row["time"])
        assert task["window"] == row["time"]
        low, _, high = row["qty"].partition("-")
        assert task["target"] == {"min": int(low), "max": int(high or low), "qualifier": None,
                                  "kind": "count", "shown": row["qty"].lstrip("0")}
    # parents are listed only as the context of a listed child
    for task in listed:
        if not task["leaf"]:
            assert any(t["parent"] == task["id"] for t in listed)


def test_json_contract_keys_and_types(ocop):
    tasks = ocop("tasks", "--format", "json").json()
    assert len([t for t in tasks if t["leaf"]]) == 15
    for task in tasks:
        assert isinstance(task["id"], str)
        assert task["parent"] is None or isinstance(task["parent"], str)
        assert isinstance(task["partners"], list)
        assert all(isinstance(m, int) for m in task["months"])
        assert task["status"] in ("not_started", "in_progress", "done", "cancelled")
        assert task["timing"] in (None, "upcoming", "due", "overdue")
    by_id = {t["id"]: t for t in tasks}
    assert by_id["1.1"]["lead"] == "UBND tỉnh"
    assert by_id["1.2"]["parent"] == "1"
    assert by_id["2"]["target"] == {"min": 15, "max": 20, "qualifier": None, "kind": "count",
                                    "shown": "15-20"}
    assert by_id["11"]["target"] == {"min": 1, "max": 1, "qualifier": None, "kind": "count",
                                     "shown": "1"}
    assert all(t["deadline"] is None for t in tasks)  # the 2019 plan names months only
    assert by_id["3"]["target"] is None and by_id["3"]["window"] is None


@pytest.mark.parametrize("month", ["0", "13", "-1", "July"])
def test_month_outside_1_to_12_is_a_usage_error(ocop, month):
    result = ocop("tasks", "--month", month)
    assert result.exit_code == 2


def test_csv_and_markdown_carry_the_same_tasks(ocop):
    as_json = ocop("tasks", "--month", "8", "--format", "json").json()
    rows = list(csv.DictReader(io.StringIO(ocop("tasks", "--month", "8", "-f", "csv").stdout)))
    assert [r["ID"] for r in rows] == [t["id"] for t in as_json]
    md = ocop("tasks", "--month", "8", "--format", "md").stdout.splitlines()
    assert md[0].startswith("| ID |") and len(md) == len(as_json) + 2
    assert any("Tập huấn cho lãnh đạo doanh nghiệp" in line for line in md)


def test_table_shows_titles_and_a_footer_with_counts(ocop):
    result = ocop("tasks", "--as-of", "2019-09-15")
    assert result.exit_code == 0
    assert "Biên soạn tài liệu hướng dẫn" in result.stdout
    assert "15 tasks: 15 not started; 15 open: 8 overdue, 7 due" in result.stdout


def test_filters_combine(ocop):
    def ids(*args: str) -> list[str]:
        result = ocop("tasks", "--as-of", "2019-09-15", "-f", "json", *args)
        assert result.exit_code == 0, result.stderr
        return [t["id"] for t in result.json() if t["leaf"]]

    assert ids("--agency", "ban chi dao tinh", "--role", "lead") == ["3.1", "8", "9"]
    assert set(ids("--agency", "Chi cục PTNT", "--role", "partner")) == {
        "4", "5.1", "5.2", "6", "7", "10", "11"}
    assert ids("--agency", "chi cuc ptnt", "--role", "lead") == []
    assert ids("--due", "--agency", "Sở Công Thương") == ["6"]
    assert ids("--grep", "hoi cho") == ["11"]
    assert ids("--overdue", "--month", "8") == ["4", "5.1", "5.2"]
    partner = ocop("tasks", "-f", "json", "--agency", "so cong thuong").json()
    assert [t["role"] for t in partner if t["leaf"]] == ["partner"]


def test_sort_urgency_lists_overdue_then_due_without_parent_rows(ocop):
    assert ocop("done", "2", "--as-of", "2019-09-15").exit_code == 0
    plan = ocop("tasks", "--as-of", "2019-09-15", "-f", "json").json()
    assert [t["id"] for t in plan][:3] == ["1", "1.1", "1.2"]  # the plan's order by default
    urgent = ocop("tasks", "--as-of", "2019-09-15", "-f", "json", "--sort", "urgency").json()
    timings = [t["timing"] for t in urgent]
    assert timings == sorted(timings, key=["overdue", "due", None].index)
    assert [t["id"] for t in urgent if t["timing"] == "overdue"] == [
        "1.1", "1.2", "3.1", "3.2", "3.3", "4", "5.1", "5.2"]  # the plan's order within each
    assert urgent[-1]["id"] == "2" and urgent[-1]["status"] == "done"
    assert all(t["leaf"] for t in urgent) and len(urgent) == len([t for t in plan if t["leaf"]])
    rows = list(csv.reader(io.StringIO(ocop("tasks", "--as-of", "2019-09-15", "-f", "csv",
                                            "--sort", "urgency").stdout)))
    assert rows[1][:2] == ["1.1", "Hội nghị triển khai Đề án: Hội nghị cấp tỉnh"]


def test_roles_are_named_in_the_screen_language(ocop):
    table = ocop("tasks", "--agency", "so cong thuong", "--lang", "vi").stdout
    assert "phối hợp" in table and "partner" not in table


def test_unknown_agency_suggests_the_closest(ocop):
    result = ocop("tasks", "--agency", "Sở Tài chánh")
    assert result.exit_code == 1
    assert "Sở Tài chính" in result.stderr
    assert "Traceback" not in result.stderr


def test_ambiguous_agency_lists_candidates(ocop):
    result = ocop("tasks", "--agency", "BCĐ")
    assert result.exit_code == 1
    assert "BCĐ tỉnh" in result.stderr and "BCĐ xã" in result.stderr


def test_ambiguous_agency_names_each_candidate_once(ocop):
    for option in (("tasks", "--agency"), ("report", "--agency"), ("report", "--issuer")):
        result = ocop(*option, "Sở", "--lang", "vi", "--format", "json")
        assert result.exit_code == 1
        error = result.stderr.splitlines()[0]
        names = error.split(": ", 2)[-1].split("; ")
        assert "Sở Tài chính" in names and len(names) == len(set(names)), error


def test_info_counts_tasks_as_every_other_screen_does(ocop):
    listed = ocop("tasks", "--format", "json").json()  # the table's rows, parents too
    footer = re.search(r"^(\d+) tasks:", ocop("tasks").stdout, re.M)
    info = ocop("info").stdout
    tasks = next(line for line in info.splitlines() if "Tasks" in line)
    assert footer and footer.group(1) == "15" and len(listed) == 18
    assert "15 (18 rows of the table)" in tasks


def test_check_is_clean_on_the_shipped_data(ocop):
    result = ocop("check")
    assert result.exit_code == 0, result.stderr
    assert "valid" in result.stdout
