"""`ocop remind`: who is reminded of what on the as-of date (tasks due within N days or
exactly N days ahead, overdue ones always, oldest first), grouped by the agency that answers
for them; the letters it writes and the mail it sends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from ocop_cli.core.followup import Notice
from ocop_cli.store.storage import locate
from ocop_cli.tracker.remind import Selection, notices
from ocop_cli.tracker.tracker import Tracker

D = dt.date


def reminded(ws: Path, as_of: dt.date, within: int = 7, at: tuple[int, ...] = (),
             agency: str | None = None) -> dict[str, Notice]:
    tracker = Tracker(locate(str(ws)), None, as_of)
    loaded = tracker.load()
    who = tracker.agency(loaded, agency, "--agency") if agency else None
    found = notices(loaded, tracker.states(loaded), as_of, Selection(within, at, who))
    return {notice.agency: notice for notice in found}


def tasks_of(notice: Notice) -> list[tuple[str, str | None]]:
    return [(item.task, item.place) for item in notice.items]


def test_within_n_days_and_overdue_always_oldest_first(ws: Path) -> None:
    # On 24/08/2019 task 4 (T6-8) is due in 7 days, 1.2 (T6,7) 24 days late.
    found = reminded(ws, D(2019, 8, 24), within=7)
    so = found["so-nn-ptnt"]
    assert tasks_of(so)[0] == ("1.2", None)  # late first
    assert ("4", None) in tasks_of(so)
    late = so.items[0]
    assert (late.cls, late.days_late, late.due_date) == ("open_late", 24, D(2019, 7, 31))
    four = next(i for i in so.items if i.task == "4")
    assert (four.cls, four.days_left, four.days_late) == ("open_in_time", 7, 0)
    # one day less of warning: task 4 is no longer asked about, the late ones still are
    fewer = reminded(ws, D(2019, 8, 24), within=6)["so-nn-ptnt"]
    assert ("4", None) not in tasks_of(fewer) and ("1.2", None) in tasks_of(fewer)
    # overdue ones of every agency, the oldest first: 1.1 (T6) for UBND tỉnh
    assert tasks_of(found["ubnd-tinh"]) == [("1.1", None)]
    days = [item.days_late for item in so.items]
    assert days == sorted(days, reverse=True)


def test_at_gives_the_tasks_exactly_so_many_days_ahead(ws: Path) -> None:
    def due_soon(day: dt.date) -> set[str]:
        found = reminded(ws, day, at=(7, 3, 1))
        return {item.task for n in found.values() for item in n.items if not item.days_late}

    assert "4" in due_soon(D(2019, 8, 24))  # 7 days before 31/08
    assert "4" not in due_soon(D(2019, 8, 25))  # 6
    assert "4" in due_soon(D(2019, 8, 28))  # 3
    assert "4" in due_soon(D(2019, 8, 30))  # 1
    assert "4" not in due_soon(D(2019, 8, 31))  # the day itself: not in 7,3,1


def test_done_and_cancelled_tasks_are_not_reminded(ocop: Any, ws: Path) -> None:
    env = {"OCOP_AS_OF": "2019-08-24"}
    assert ocop("done", "4", "--date", "2019-08-20", env=env).exit_code == 0
    assert ocop("cancel", "1.1", "--note", "gộp với hội nghị khác", env=env).exit_code == 0
    found = reminded(ws, D(2019, 8, 24))
    every = {(a, item.task) for a, n in found.items() for item in n.items}
    assert ("so-nn-ptnt", "4") not in every
    assert "ubnd-tinh" not in found


def test_each_unit_is_reminded_of_its_own_share(ocop: Any, ws: Path) -> None:
    env = {"OCOP_AS_OF": "2019-08-05"}
    assert ocop("progress", "1.2", "1", "--place", "Gia Lộc", "--date", "2019-07-10",
                env=env).exit_code == 0
    found = reminded(ws, D(2019, 8, 5))
    assert ("1.2", "Gia Lộc") not in tasks_of(found["gia-loc"])  # its share is done
    nam_sach = next(item for item in found["nam-sach"].items if item.task == "1.2")
    # its own share: Gia Lộc's entry is not Nam Sách's report
    assert (nam_sach.place, nam_sach.days_late, nam_sach.last_entry) == ("Nam Sách", 5, None)
    assert nam_sach.target == "1"
    # the lead is reminded of the whole, with the latest entry of anyone on it
    whole = next(item for item in found["so-nn-ptnt"].items if item.task == "1.2")
    assert (whole.place, whole.last_entry, whole.target) == (None, D(2019, 7, 10), "12")
    # 3.2 is led by the group of the units themselves: each unit is reminded, not the group
    assert "bcd-huyen" not in found
    assert ("3.2", "Gia Lộc") in tasks_of(found["gia-loc"])


def test_agency_narrows_and_the_formats_say_the_same(ocop: Any, ws: Path) -> None:
    found = reminded(ws, D(2019, 8, 24), agency="so nn va ptnt")
    assert list(found) == ["so-nn-ptnt"]
    env = {"OCOP_AS_OF": "2019-08-24"}
    doc = ocop("remind", "--agency", "so nn va ptnt", "--format", "json", env=env).json()
    assert [a["id"] for a in doc["agencies"]] == ["so-nn-ptnt"]
    assert [t["task"] for t in doc["agencies"][0]["tasks"]] == \
        [item.task for item in found["so-nn-ptnt"].items]
    csv = ocop("remind", "--agency", "so nn va ptnt", "--format", "csv", env=env).stdout
    assert csv.splitlines()[0].startswith("Agency,Task,Deadline")
    assert len(csv.splitlines()) == 1 + len(found["so-nn-ptnt"].items)
    table = ocop("remind", "--lang", "vi", env=env | {"COLUMNS": "200"}).stdout
    assert "muộn 24 ngày (hạn 31/07/2019)" in table
    assert "chưa có báo cáo" in table


@pytest.mark.parametrize("at", ["7,x", "-1", "400"])
def test_a_wrong_at_is_a_usage_error(ocop: Any, at: str) -> None:
    result = ocop("remind", "--at", at, env={"OCOP_AS_OF": "2019-08-24"})
    assert result.exit_code == 2 and "--at" in result.stderr
