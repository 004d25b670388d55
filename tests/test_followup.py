"""Following up as government task supervision counts: the due date, the day a task was
completed, and the four classes (done on time, done late, open within time, open late) at
the day boundaries, for a whole task and for each district unit's share."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from test_properties import plan

from ocop_cli.core.followup import CLASSES, class_counts, due_date, follow_up
from ocop_cli.core.model import Entry, Plan, Task
from ocop_cli.core.state import for_unit, state_as_of
from ocop_cli.core.windows import parse_target, parse_window

D = dt.date


def entry(n: int, day: dt.date, task: str, action: str, qty: int | None = None,
          place: str | None = None, undoes: str | None = None) -> Entry:
    return Entry(id=f"{n:020x}", at=f"2019-12-31T00:00:{n:02d}.000000+00:00", date=day,
                 task=task, action=action, by="Tester", qty=qty, place=place, undoes=undoes)


def classed(entries: list[Entry], task: str, as_of: dt.date, p: Plan | None = None
            ) -> tuple[str | None, str | None, int | None]:
    p = p or plan()
    state = state_as_of(p, entries, as_of)[task]
    found = follow_up(p, state, as_of)
    return (found.completed.isoformat() if found.completed else None, found.cls,
            found.days_late)


# --- the due date ----------------------------------------------------------------------------


def test_the_due_date_is_the_last_day_of_the_window() -> None:
    p = plan()
    assert due_date(p, p.index["4"]) == D(2019, 8, 31)  # T6-8
    assert due_date(p, p.index["1.1"]) == D(2019, 6, 30)  # T6
    assert due_date(p, p.index["1"]) == D(2019, 7, 31)  # a parent: its sub-rows' last


def day_plan() -> Plan:
    """A plan with a day deadline, as later plans write them."""
    task = Task("1", "Báo cáo sơ kết", "Báo cáo", parse_target("01"), "so-nn",
                window=parse_window("Trước 15/10", 2020))
    return Plan("1/KH-UBND", 2020, "Kế hoạch", (task,))


def test_a_day_deadline_is_that_day() -> None:
    p = day_plan()
    assert due_date(p, p.index["1"]) == D(2020, 10, 15)
    assert classed([entry(1, D(2020, 10, 15), "1", "done")], "1", D(2020, 12, 1), p) == \
        ("2020-10-15", "done_on_time", 0)
    assert classed([entry(1, D(2020, 10, 16), "1", "done")], "1", D(2020, 12, 1), p) == \
        ("2020-10-16", "done_late", 1)
    assert classed([], "1", D(2020, 10, 15), p) == (None, "open_in_time", 0)
    assert classed([], "1", D(2020, 10, 16), p) == (None, "open_late", 1)


# --- the four classes at the day boundaries --------------------------------------------------


def test_done_on_the_due_date_is_on_time_and_the_day_after_is_late() -> None:
    # Task 4 (T6-8) is due 31 August 2019.
    assert classed([entry(1, D(2019, 8, 31), "4", "done")], "4", D(2019, 12, 31)) == \
        ("2019-08-31", "done_on_time", 0)
    assert classed([entry(1, D(2019, 9, 1), "4", "done")], "4", D(2019, 12, 31)) == \
        ("2019-09-01", "done_late", 1)
    # the case: done on 5 October reads done 35 days late, not just "done"
    assert classed([entry(1, D(2019, 10, 5), "4", "done")], "4", D(2019, 12, 31)) == \
        ("2019-10-05", "done_late", 35)


def test_open_on_the_due_date_is_within_time_and_the_day_after_is_late() -> None:
    started = [entry(1, D(2019, 7, 1), "4", "start")]
    assert classed(started, "4", D(2019, 8, 31)) == (None, "open_in_time", 0)
    assert classed(started, "4", D(2019, 9, 1)) == (None, "open_late", 1)
    assert classed([], "4", D(2019, 9, 30)) == (None, "open_late", 30)


def test_completed_is_the_day_the_minimum_target_was_reached() -> None:
    # Task 2 targets 15-20 items from T7 to T12: met at 15, on the second entry.
    entries = [entry(1, D(2019, 8, 1), "2", "progress", 10),
               entry(2, D(2019, 9, 10), "2", "progress", 5),
               entry(3, D(2019, 10, 1), "2", "progress", 3)]
    assert classed(entries, "2", D(2019, 12, 31)) == ("2019-09-10", "done_on_time", 0)
    # before that day the task is open; the as-of date only sees entries up to it
    assert classed(entries, "2", D(2019, 9, 9)) == (None, "open_in_time", 0)


def test_reopening_forgets_the_completion_and_done_again_counts_from_then() -> None:
    entries = [entry(1, D(2019, 8, 1), "4", "done"), entry(2, D(2019, 8, 20), "4", "reopen")]
    assert classed(entries, "4", D(2019, 9, 10)) == (None, "open_late", 10)
    entries.append(entry(3, D(2019, 9, 5), "4", "done"))
    assert classed(entries, "4", D(2019, 9, 10)) == ("2019-09-05", "done_late", 5)
    # and an undo takes the late done out again: the first done is the completion
    entries[1:] = [entry(4, D(2019, 12, 1), "4", "undo", undoes=entries[1].id)]
    assert classed(entries, "4", D(2019, 12, 31)) == ("2019-08-01", "done_on_time", 0)


def test_a_cancelled_task_is_in_no_class() -> None:
    assert classed([entry(1, D(2019, 7, 1), "4", "cancel")], "4", D(2019, 12, 31)) == \
        (None, None, None)


def test_each_district_unit_has_its_own_completion_and_class() -> None:
    # 1.2: one conference per unit, T6,7 (due 31 July). Gia Lộc held its own in time,
    # Tứ Kỳ after the deadline; Nam Sách has not.
    p, as_of = plan(), D(2019, 9, 15)
    entries = [entry(1, D(2019, 7, 20), "1.2", "progress", 1, "gia-loc"),
               entry(2, D(2019, 8, 3), "1.2", "progress", 1, "tu-ky")]
    state = state_as_of(p, entries, as_of)["1.2"]

    def unit(u: str) -> tuple[Any, ...]:
        found = follow_up(p, for_unit(p, state, u, as_of), as_of)
        return found.completed, found.cls, found.days_late

    assert unit("gia-loc") == (D(2019, 7, 20), "done_on_time", 0)
    assert unit("tu-ky") == (D(2019, 8, 3), "done_late", 3)
    assert unit("nam-sach") == (None, "open_late", 46)
    whole = follow_up(p, state, as_of)
    assert (whole.completed, whole.cls, whole.days_late) == (None, "open_late", 46)


def test_the_classes_partition_the_tasks_not_cancelled() -> None:
    p, as_of = plan(), D(2019, 10, 1)
    entries = [entry(1, D(2019, 6, 20), "1.1", "done"), entry(2, D(2019, 9, 2), "4", "done"),
               entry(3, D(2019, 7, 1), "9", "cancel"), entry(4, D(2019, 7, 1), "7", "start")]
    states = state_as_of(p, entries, as_of)
    leaves = [states[t.id] for t in p.leaves()]
    counts = class_counts([follow_up(p, s, as_of) for s in leaves])
    assert set(counts) == set(CLASSES)
    assert sum(counts.values()) == sum(1 for s in leaves if s.status != "cancelled")
    assert counts["done_on_time"] == 1 and counts["done_late"] == 1


# --- what a user sees ------------------------------------------------------------------------


def test_every_task_row_carries_the_follow_up_and_the_table_says_it(ocop: Any) -> None:
    assert ocop("done", "4", "--date", "2019-10-05", env={"OCOP_AS_OF": "2019-12-31"}
                ).exit_code == 0
    env = {"OCOP_AS_OF": "2019-12-31"}
    rows = {r["id"]: r for r in ocop("tasks", "--format", "json", env=env).json()}
    assert all({"due_date", "completed", "class", "days_late"} <= set(r) for r in rows.values())
    assert (rows["4"]["due_date"], rows["4"]["completed"], rows["4"]["class"],
            rows["4"]["days_late"]) == ("2019-08-31", "2019-10-05", "done_late", 35)
    table = ocop("tasks", "--status", "done", env=env | {"COLUMNS": "200"}).stdout
    assert "done, 35 days late" in table
    vi = ocop("tasks", "--status", "done", "--lang", "vi", env=env | {"COLUMNS": "200"}).stdout
    assert "hoàn thành, muộn 35 ngày" in vi
    shown = ocop("show", "4", env=env | {"COLUMNS": "200"}).stdout
    assert "2019-08-31" in shown and "2019-10-05" in shown
    assert "done late (35 days)" in shown


def test_a_report_counts_the_classes_per_agency_beside_the_percent_done(ocop: Any) -> None:
    env = {"OCOP_AS_OF": "2019-12-31"}
    assert ocop("done", "4", "--date", "2019-10-05", env=env).exit_code == 0
    assert ocop("done", "1.1", "--date", "2019-06-20", env=env).exit_code == 0
    doc = ocop("report", "--format", "json", env=env).json()
    counts = doc["counts"]
    classes = [counts[c] for c in CLASSES]
    assert sum(classes) == counts["counted"] - counts["not_known"]
    assert counts["done_on_time"] == 1 and counts["done_late"] == 1
    assert counts["on_time_percent"] == round(100 / sum(classes), 1)
    lead = next(a for a in doc["agencies"] if a["agency"] == "Sở NN và PTNT")["lead"]
    assert sum(lead[c] for c in CLASSES) == lead["counted"] - lead["not_known"]


# --- periods as the rules cut them -----------------------------------------------------------


def test_decree_09_cuts_each_period_from_the_15th_to_the_14th() -> None:
    from ocop_cli.core.report import cut_as, parse_period

    def nd09(text: str) -> tuple[dt.date, dt.date]:
        period = cut_as(parse_period(text), "nd09")
        return period.start, period.end

    assert nd09("2019-07") == (D(2019, 6, 15), D(2019, 7, 14))
    assert nd09("2019-01") == (D(2018, 12, 15), D(2019, 1, 14))
    assert nd09("2019-Q3") == (D(2019, 6, 15), D(2019, 9, 14))
    assert nd09("2019-H1") == (D(2018, 12, 15), D(2019, 6, 14))
    assert nd09("2019") == (D(2018, 12, 15), D(2019, 12, 14))
    calendar = cut_as(parse_period("2019-Q3"), "calendar")
    assert (calendar.start, calendar.end) == (D(2019, 7, 1), D(2019, 9, 30))


def test_a_workspace_on_decree_09_reports_by_its_dates(ocop: Any, ws: Path) -> None:
    with (ws / "office.yaml").open("a", encoding="utf-8") as office:
        office.write("report_periods: nd09\n")
    env = {"OCOP_AS_OF": "2019-12-31"}
    doc = ocop("report", "--period", "2019-07", "--format", "json", env=env).json()
    assert doc["period"] == {"label": "2019-07", "start": "2019-06-15", "end": "2019-07-14",
                             "cut": "nd09"}
    # due in it: the tasks whose due date falls between 15/06 and 14/07 (T6 ones), not T6,7
    assert sorted(r["id"] for r in doc["due"]) == ["1.1", "3.1", "3.2", "3.3"]
    table = ocop("report", "--period", "2019-Q3", "--lang", "vi", env=env).stdout
    assert "Kỳ báo cáo: Quý III/2019, từ 15/06/2019 đến 14/09/2019" in table


def test_from_and_to_give_any_period(ocop: Any) -> None:
    env = {"OCOP_AS_OF": "2019-12-31"}
    doc = ocop("report", "--from", "2019-08-01", "--to", "31/08/2019", "--format", "json",
               env=env).json()
    assert doc["period"]["start"] == "2019-08-01" and doc["period"]["end"] == "2019-08-31"
    assert sorted(r["id"] for r in doc["due"]) == ["4", "5.1", "5.2"]
    table = ocop("report", "--from", "2019-08-01", "--to", "2019-08-31", "--lang", "vi",
                 env=env).stdout
    assert "Kỳ báo cáo: từ 01/08/2019 đến 31/08/2019" in table
    for args in (("--from", "2019-08-01"), ("--from", "2019-09-01", "--to", "2019-08-01"),
                 ("--period", "2019-Q3", "--from", "2019-08-01", "--to", "2019-08-31")):
        result = ocop("report", *args, env=env)
        assert result.exit_code == 2 and "--" in result.stderr


def test_a_wrong_report_periods_is_named(ocop: Any, ws: Path) -> None:
    with (ws / "office.yaml").open("a", encoding="utf-8") as office:
        office.write("report_periods: nd9\n")
    result = ocop("report", "--period", "2019-Q3", env={"OCOP_AS_OF": "2019-12-31"})
    assert result.exit_code == 3 and "report_periods" in result.stderr


# --- follow-up in the reports ----------------------------------------------------------------


def test_reports_list_the_tasks_open_late_by_days_late(ocop: Any) -> None:
    env = {"OCOP_AS_OF": "2019-09-20"}
    assert ocop("progress", "5.2", "3", "--date", "2019-08-10", env=env).exit_code == 0
    doc = ocop("report", "--format", "json", env=env).json()
    late = doc["late"]
    days = [row["days_late"] for row in late]
    assert days == sorted(days, reverse=True) and days[0] == 82  # T6 tasks, due 30/06
    five = next(row for row in late if row["id"] == "5.2")
    assert (five["due_date"], five["days_late"], five["lead"], five["last_entry"]) == \
        ("2019-08-31", 20, "Sở NN và PTNT", "2019-08-10")
    assert "BCĐ huyện, TP" in five["partners"]
    # a district unit's report lists its own shares, with its own last entry
    gia_loc = ocop("report", "--agency", "Gia Lộc", "--format", "json", env=env).json()
    mine = {row["id"]: row for row in gia_loc["late"]}
    assert mine["5.2"]["place"] == "Gia Lộc" and mine["5.2"]["last_entry"] is None
    table = ocop("report", "--agency", "Gia Lộc", "--lang", "vi", env=env).stdout
    assert "Theo dõi, đôn đốc: nhiệm vụ quá hạn chưa hoàn thành" in table


def test_the_period_report_gives_each_units_reporting_and_the_rate(ocop: Any) -> None:
    env = {"OCOP_AS_OF": "2019-09-20"}
    for args in (("1.2", "1", "--place", "Gia Lộc", "--date", "2019-07-10"),
                 ("1.2", "1", "--place", "Tứ Kỳ", "--date", "2019-06-20"),  # before July
                 ("1.2", "2", "--date", "2019-07-12")):  # no unit named: nobody's report
        assert ocop("progress", *args, env=env).exit_code == 0
    doc = ocop("report", "--period", "2019-07", "--format", "json", env=env).json()
    found = doc["reporting"]
    assert (found["expected"], found["reported"], found["rate"]) == (12, 1, 8.3)
    units = {u["unit"]: u for u in found["units"]}
    assert (units["Gia Lộc"]["reported"], units["Gia Lộc"]["last"]) == (True, "2019-07-10")
    assert units["Tứ Kỳ"]["reported"] is False
    # a unit's own report: only its own line
    own = ocop("report", "--period", "2019-07", "--agency", "Tứ Kỳ", "--format", "json",
               env=env).json()["reporting"]
    assert (own["expected"], own["reported"]) == (1, 0)


def test_the_tasks_footer_counts_the_four_classes_in_the_screens_language(ocop: Any) -> None:
    env = {"OCOP_AS_OF": "2019-12-31", "COLUMNS": "200"}
    assert ocop("done", "4", "--date", "2019-10-05", env=env).exit_code == 0
    assert ocop("done", "1.1", "--date", "2019-06-20", env=env).exit_code == 0
    lines = ocop("tasks", env=env).stdout.strip().splitlines()
    # above the existing counts, which stay the last line
    assert lines[-1].startswith("15 tasks: 2 done, 13 not started")
    # the T7-12 tasks are still in time on 31/12; 1 of the 15 done on time
    assert lines[-2] == ("Follow-up: 1 done on time, 1 done late, 6 open within time, "
                         "7 open late, 6.7% on time")
    vi = ocop("tasks", "--lang", "vi", env=env).stdout.strip().splitlines()
    assert vi[-2] == ("Theo dõi: 1 hoàn thành đúng hạn, 1 hoàn thành muộn, 6 đang thực hiện "
                      "trong hạn, 7 đang thực hiện quá hạn, 6,7% đúng hạn")
    # the classes partition what the listing counts (its leaf tasks, none cancelled)
    rows = [r for r in ocop("tasks", "--format", "json", env=env).json() if r["leaf"]]
    assert sorted(r["class"] for r in rows) == \
        ["done_late", "done_on_time"] + ["open_in_time"] * 6 + ["open_late"] * 7


def test_month_is_refused_where_reports_are_cut_by_decree_09(ocop: Any, ws: Path) -> None:
    env = {"OCOP_AS_OF": "2019-12-31"}
    assert ocop("report", "--month", "7", "--format", "json", env=env).exit_code == 0
    with (ws / "office.yaml").open("a", encoding="utf-8") as office:
        office.write("report_periods: nd09\n")
    for month, period in (("7", "--period YYYY-07"), ("2019-07", "--period 2019-07")):
        result = ocop("report", "--month", month, env=env)
        assert result.exit_code == 2 and result.stdout == ""
        assert "report_periods: nd09" in result.stderr and period in result.stderr
    assert ocop("report", "--period", "2019-07", "--format", "json", env=env).exit_code == 0
