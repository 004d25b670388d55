"""The index is derived data only: whatever happens to it or to the files, ocop shows what the
files say. Each test compares with a load that reads the files (`storage.load`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import time
import zlib
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocop_cli.core import state
from ocop_cli.core.errors import EXIT_INVALID, InvalidData
from ocop_cli.core.model import Entry
from ocop_cli.store import index, storage, write

AS_OF = "2019-09-15"


def workspace(root: Path) -> storage.Workspace:
    return storage.Workspace(root.resolve())


def facts(loaded: storage.Loaded) -> tuple[Any, ...]:
    """Everything a command can see of a load."""
    return (loaded.plan, loaded.directory.agencies, loaded.entries, loaded.problems)


def truth(root: Path) -> tuple[Any, ...]:
    return facts(storage.load(workspace(root)))


def indexed(root: Path) -> storage.Loaded:
    return index.load(workspace(root))


def index_file(root: Path) -> Path:
    return index.path_of(workspace(root))


def sql(root: Path, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """Statements run on the index, as another program could."""
    with closing(sqlite3.connect(index_file(root))) as db, db:
        for statement, args in statements:
            db.execute(statement, args)


def entry(n: int, task: str = "1.2", qty: int = 1, day: int = 1) -> Entry:
    return Entry(id=f"{n:020x}", at=f"2019-07-01T08:00:{n % 60:02d}.{n + 1:06d}+00:00",
                 date=dt.date(2019, 7, day), task=task, action="progress", by="Tester", qty=qty,
                 place="gia-loc")


def record(root: Path, *entries: Entry, who: str = "Tester") -> Path:
    ws = workspace(root)
    path = write.recorder_file(ws, who)
    write.append(path, list(entries), inside=ws.root)
    return path


def add_line(path: Path, line: str) -> None:
    """A line appended to a file by hand."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line)


def age(root: Path, seconds: float = 3600) -> None:
    """Move every data file's times back, as if last edited an hour ago."""
    then = time.time_ns() - int(seconds * 1e9)
    for path in workspace(root).source_files():
        os.utime(path, ns=(then, then))


def summary(states: dict[str, state.TaskState]) -> dict[str, tuple[Any, ...]]:
    """What a listing shows of each state."""
    return {task: (s.status, s.timing, s.achieved, s.places, s.note, s.ref)
            for task, s in states.items()}


def no_reading(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    def broken(*args: Any) -> Any:
        raise AssertionError("read again")

    for name in names or ("read_plan", "read_agencies", "read_history_file"):
        monkeypatch.setattr(storage, name, broken)


def test_a_warm_index_serves_what_the_files_say(ws, ocop):
    record(ws, entry(1), entry(2, "5.2", 3))
    first = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    assert index_file(ws).is_file()
    second = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    plain = ocop("tasks", "--format", "json", "--as-of", AS_OF, env={"OCOP_NO_INDEX": "1"})
    assert first.exit_code == second.exit_code == plain.exit_code == 0
    assert first.stdout == second.stdout == plain.stdout
    assert {t["id"]: t["achieved"] for t in second.json()}["5.2"] == 3


@pytest.mark.parametrize("filters", [["--month", "7"], ["--month", "7", "--agency", "Sở NN"],
                                     ["--month", "7", "--status", "in_progress"]])
def test_a_warm_listing_of_some_tasks_shows_what_the_files_say(ws, ocop, filters):
    """A listing whose filters look at no state reads only the states it shows."""
    record(ws, entry(1), entry(2, "5.2", 3))
    args = ["tasks", *filters, "--format", "json", "--as-of", AS_OF]
    ocop(*args)
    warm = ocop(*args)
    plain = ocop(*args, env={"OCOP_NO_INDEX": "1"})
    assert warm.exit_code == plain.exit_code == 0
    assert warm.stdout == plain.stdout
    assert warm.json()


def without_products(root: Path) -> None:
    """The plan without its task counted from the product register, which the index does not
    hold: a JSON listing of it is then served from the rows the index keeps."""
    plan = workspace(root).plan_path()
    plan.write_text(plan.read_text(encoding="utf-8").replace("products_at: sent", ""),
                    encoding="utf-8")


def served_listings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """How each JSON listing from now on was printed through the index: "kept" (the text kept
    for the same filters and day), "rows" (made from the rows the index keeps), "made" (from
    the plan and the states, as without the text kept) or "files" (the index gave up)."""
    served: list[str] = []
    real, rows = index.Listing.print_json, index._Served.json_rows
    how = [""]

    def from_rows(self: Any, *args: Any) -> Any:
        found = rows(self, *args)
        how[0] = "rows" if found is not None else how[0]
        return found

    def spy(self: index.Listing, f: Any, sort: str, as_of: dt.date, make: Any, out: Any
            ) -> bool:
        how[0] = "kept"

        def made() -> list[str]:
            how[0] = "made"
            return make()

        printed = real(self, f, sort, as_of, made, out)
        served.append(how[0] if printed else "files")
        return printed

    monkeypatch.setattr(index._Served, "json_rows", from_rows)
    monkeypatch.setattr(index.Listing, "print_json", spy)
    return served


# Filters that look at no state: a month, an agency as lead or partner (through a group too:
# Gia Lộc partners 1.2 through "BCĐ các huyện, TP", and it is a unit, so its shares are shown
# and the listing is made from the states, not from the rows).
SERVED = [[], ["--month", "7"], ["--month", "6", "--agency", "Sở NN và PTNT"],
          ["--agency", "Sở NN và PTNT", "--role", "partner"], ["--agency", "so tai chinh"],
          ["--month", "11"]]


@pytest.mark.parametrize("as_of", ["2019-06-30", "2019-07-06", "2019-07-20", "2020-01-01"])
def test_a_json_listing_from_the_index_rows_is_the_files_listing(ws, ocop, monkeypatch,
                                                                 as_of):
    """As of dates before, between and after the entries; with a shared task (1.2, by unit),
    a task done, an undo; after a write, a plan edit and a pull: the listing the index serves
    from its rows is, byte for byte, the one read from the files."""
    without_products(ws)
    path = record(ws, entry(1, "1.2", day=5), entry(2, "5.2", 3, day=15),
                  entry(3, "1.2", day=12)._replace(place="kinh-mon", action="done"),
                  entry(4, "3.1", day=25)._replace(action="done", qty=None, place=None))
    record(ws, entry(5, "6", day=9), entry(6, "5.2")._replace(
        action="undo", qty=None, place=None, undoes=f"{2:020x}"), who="Phòng NN Gia Lộc")
    served = served_listings(monkeypatch)

    def same(*changes: str) -> None:
        # A listing of another day first: it keeps the states after all entries, so that the
        # figures kept for `as_of` before the change are older than those.
        assert ocop("tasks", "--format", "json", "--as-of", "2019-12-31").exit_code == 0
        for filters in [*SERVED, ["--agency", "Gia Lộc"]]:
            args = ["tasks", *filters, "--format", "json", "--as-of", as_of]
            first, warm = ocop(*args), ocop(*args)
            plain = ocop(*args, env={"OCOP_NO_INDEX": "1"})
            assert first.exit_code == warm.exit_code == plain.exit_code == 0, first.stderr
            assert first.stdout == warm.stdout == plain.stdout, (changes, filters)
            assert first.stderr == plain.stderr
        assert served == ["rows"] + ["rows", "kept"] * len(SERVED) + ["made", "kept"]
        served.clear()

    same()
    record(ws, entry(7, "1.2", 2, day=6), entry(8, "6", day=30))
    same("write")
    plan = workspace(ws).plan_path()
    text = plan.read_text(encoding="utf-8")
    at = text.index('id: "1.2"')  # its unit changed: task 1's sub-rows count in two units
    plan.write_text(text[:at] + text[at:].replace('target: "12"', 'target: "3"', 1)
                    .replace("window: T6,7", "window: T7,8", 1)
                    .replace("unit: Hội nghị", "unit: Lớp", 1), encoding="utf-8")
    same("write", "plan")
    _pull(path, 1)
    same("write", "plan", "pull")


# Filters that look at states, and a listing by urgency.
ON_STATES = [["--overdue"], ["--due"], ["--status", "in_progress"], ["--place", "Gia Lộc"],
             ["--grep", "hoi nghi"], ["--month", "7", "--sort", "urgency"],
             ["--agency", "UBND tỉnh", "--overdue"]]


def test_a_json_listing_on_states_is_printed_again_only_while_nothing_changed(ws, ocop,
                                                                             monkeypatch):
    """A listing whose filters look at states is made from them the first time and printed
    again as kept the next: each, byte for byte, the listing read from the files, on another
    day, after an agencies edit, a write, a plan edit and a pull. What is kept for one set of
    filters is never printed for another (`--overdue` is not `--due`), nor after a change:
    the overdue tasks change at each step."""
    record(ws, entry(1, "1.2", day=5), entry(2, "5.2", 3, day=15),
           entry(3, "3.2", day=12)._replace(action="done", qty=None, place=None))
    pulled = record(ws, entry(4, "1.2", day=9), who="Phòng NN Kinh Môn")
    served = served_listings(monkeypatch)
    before: list[str] = []

    def same(as_of: str, change: str) -> None:
        listed = []
        for filters in ON_STATES:
            args = ["tasks", *filters, "--format", "json", "--as-of", as_of]
            first, warm = ocop(*args), ocop(*args)
            plain = ocop(*args, env={"OCOP_NO_INDEX": "1"})
            assert first.exit_code == warm.exit_code == plain.exit_code == 0, first.stderr
            assert first.stdout == warm.stdout == plain.stdout, (change, filters)
            listed.append(plain.stdout)
        assert served == ["made", "kept"] * len(ON_STATES), change
        served.clear()
        assert len(set(listed)) == len(listed), change  # no two alike: a mix-up would show
        assert listed[0] not in before, change  # the overdue tasks changed
        before.append(listed[0])

    same("2019-07-20", "")
    same("2019-08-05", "another day")  # 1.2 and the T7 windows now overdue
    agencies = ws / "agencies.yaml"
    agencies.write_text(agencies.read_text(encoding="utf-8").replace(
        "short: UBND tỉnh\n", "short: UBND tỉnh HD\n").replace(
        "aliases: [Ủy ban nhân dân tỉnh,", "aliases: [UBND tỉnh, Ủy ban nhân dân tỉnh,"),
        encoding="utf-8")
    same("2019-08-05", "agencies")  # 1.1's lead renamed
    record(ws, entry(5, "1.1", day=20)._replace(action="done", qty=None, place=None))
    same("2019-08-05", "write")  # 1.1 done
    plan = workspace(ws).plan_path()
    text = plan.read_text(encoding="utf-8")
    at = text.index('id: "3.1"')
    plan.write_text(text[:at] + text[at:].replace("window: T6", "window: T8", 1),
                    encoding="utf-8")
    same("2019-08-05", "plan")  # 3.1 due, not overdue
    _pull(pulled, 0)  # its one entry's quantity 1 becomes 5
    same("2019-08-05", "pull")  # 1.2's figure


def test_a_plan_without_rows_for_listings_is_listed_from_its_states_and_kept(ws, ocop,
                                                                              monkeypatch):
    """Where the index keeps no rows for listings (`plans.listed`: a window of no month), a
    month listing is made from the states, then printed again as kept."""
    record(ws, entry(1, "1.2", day=5))
    args = ["tasks", "--month", "7", "--format", "json", "--as-of", AS_OF]
    assert ocop(*args).exit_code == 0
    sql(ws, ("UPDATE plans SET listed = 0", ()), ("DELETE FROM listings", ()))
    served = served_listings(monkeypatch)
    first, warm, plain = ocop(*args), ocop(*args), ocop(*args, env={"OCOP_NO_INDEX": "1"})
    assert first.exit_code == warm.exit_code == plain.exit_code == 0, first.stderr
    assert first.stdout == warm.stdout == plain.stdout
    assert served == ["made", "kept"]


def test_a_listing_made_while_a_file_changed_is_not_kept(ws, ocop, monkeypatch):
    """The agencies are edited while a listing is made (it reads the edit), then put back:
    the listing made with the edit is not printed for the agencies as they are again."""
    args = ["tasks", "--overdue", "--format", "json", "--as-of", AS_OF]
    agencies = ws / "agencies.yaml"
    original = agencies.read_text(encoding="utf-8")
    real = index.Listing.print_json
    edits = [original.replace("short: UBND tỉnh\n", "short: UBND tỉnh HD\n").replace(
        "aliases: [Ủy ban nhân dân tỉnh,", "aliases: [UBND tỉnh, Ủy ban nhân dân tỉnh,")]

    def edited_meanwhile(self: index.Listing, f: Any, sort: str, as_of: dt.date,
                         make: Any, out: Any) -> bool:
        def made() -> list[str]:
            if edits:
                agencies.write_text(edits.pop(), encoding="utf-8")
            return make()

        return real(self, f, sort, as_of, made, out)

    monkeypatch.setattr(index.Listing, "print_json", edited_meanwhile)
    meanwhile = ocop(*args)
    assert meanwhile.exit_code == 0, meanwhile.stderr
    assert {t["id"]: t["lead"] for t in meanwhile.json()}["1.1"] == "UBND tỉnh HD"
    agencies.write_text(original, encoding="utf-8")
    again, plain = ocop(*args), ocop(*args, env={"OCOP_NO_INDEX": "1"})
    assert again.exit_code == plain.exit_code == 0, again.stderr
    assert {t["id"]: t["lead"] for t in again.json()}["1.1"] == "UBND tỉnh"
    assert again.stdout == plain.stdout


def test_a_json_listing_from_the_index_rows_follows_the_agencies(ws, ocop, monkeypatch):
    """An agency's short name changed: the rows kept are made again with it. An entry with a
    place the agencies lack is the error the files give, unless another plan counts it."""
    without_products(ws)
    args = ["tasks", "--month", "6", "--format", "json", "--as-of", AS_OF]
    assert ocop(*args).exit_code == 0
    served = served_listings(monkeypatch)
    agencies = ws / "agencies.yaml"
    agencies.write_text(agencies.read_text(encoding="utf-8").replace(
        "short: UBND tỉnh\n", "short: UBND tỉnh HD\n").replace(
        "aliases: [Ủy ban nhân dân tỉnh,", "aliases: [UBND tỉnh, Ủy ban nhân dân tỉnh,"),
        encoding="utf-8")
    renamed, plain = ocop(*args), ocop(*args, env={"OCOP_NO_INDEX": "1"})
    assert renamed.exit_code == 0, renamed.stderr
    assert {t["id"]: t["lead"] for t in renamed.json()}["1.1"] == "UBND tỉnh HD"
    assert renamed.stdout == plain.stdout
    assert served == ["rows"]
    record(ws, entry(1, "6")._replace(place="nowhere", plan=2020))
    assert ocop(*args).stdout == plain.stdout  # another plan's entry
    path = record(ws, entry(2, "6")._replace(place="nowhere"))
    broken, plain = ocop(*args), ocop(*args, env={"OCOP_NO_INDEX": "1"})
    assert broken.exit_code == plain.exit_code == EXIT_INVALID
    assert broken.stderr == plain.stderr
    assert f"{path.name}:" in broken.stderr and "nowhere" in broken.stderr


def test_a_json_listing_is_served_from_the_rows_only_where_they_say_it_all(ws, ocop,
                                                                          monkeypatch):
    """The 2019 plan counts products from the register (task 8): with no register it counts
    its own entries as any task and the listing is served from the rows (made from the states
    where a filter looks at them); with one, it is read as any other command reads. The
    output is the same."""
    served = served_listings(monkeypatch)
    record(ws, entry(1, "8", day=3))

    def same(*filters: str) -> None:
        args = ["tasks", *filters, "--format", "json", "--as-of", AS_OF]
        through_index, plain = ocop(*args), ocop(*args, env={"OCOP_NO_INDEX": "1"})
        assert through_index.exit_code == plain.exit_code == 0, through_index.stderr
        assert through_index.stdout == plain.stdout

    same("--month", "7")
    same("--overdue")
    assert served == ["rows", "made"]
    added = ocop("product", "add", "Bánh gai", "--district", "Kinh Môn", "--commune", "Xã A",
                 "--entity", "Chủ thể", "--kind", "htx", "--group", "thuc-pham",
                 "--date", "2019-07-01")
    assert added.exit_code == 0, added.stderr
    served.clear()
    same("--month", "7")
    same()
    assert served == []


@pytest.mark.parametrize("planted", ["garbage", "control characters", "a head"])
def test_a_listing_planted_in_the_index_is_never_printed_raw(ws, ocop, planted):
    """The index is data to distrust as any file: a kept listing that is not one gives the
    files' listing; control characters planted in a kept listing or row are escaped."""
    without_products(ws)
    record(ws, entry(1))
    args = ["tasks", "--month", "7", "--format", "json", "--as-of", AS_OF]
    good = ocop(*args)
    assert good.exit_code == 0, good.stderr
    if planted == "garbage":
        sql(ws, ("UPDATE listings SET value = ?", (b"not zlib",)))
    elif planted == "control characters":
        text = good.stdout.replace("Hội nghị", "Hội\x1b[2J\u202enghị")
        sql(ws, ("UPDATE listings SET value = ?", (zlib.compress(text.encode()),)))
    else:
        sql(ws, ("DELETE FROM listings", ()),
            ("UPDATE rows SET head = replace(head, 'Hội nghị', 'Hội\x1b[2Jnghị')", ()))
    again = ocop(*args)
    assert again.exit_code == 0, again.stderr
    assert "\x1b" not in again.stdout and "\u202e" not in again.stdout
    if planted == "garbage":
        assert again.stdout == good.stdout
    else:
        assert "\\u001b[2J" in again.stdout


@pytest.mark.parametrize("command", [["timeline"], ["timeline", "--agency", "Gia Lộc"],
                                     ["agencies", "--format", "json"]])
def test_the_other_listings_show_what_the_files_say(ws, ocop, monkeypatch, command):
    """The listings that need only the states of the day (read without the index, the
    history folded into them as it is read) show what the index shows: units' shares, an
    undo and an entry after the as-of date included."""
    record(ws, entry(1), entry(2, "5.2", 3), entry(3, "6", 2, day=28),
           entry(4, "1.2")._replace(action="undo", qty=None, place=None, undoes=f"{1:020x}"))
    args = [*command, "--as-of", "2019-07-20"]
    warm = ocop(*args)
    folded = []
    real = storage.fold_history
    monkeypatch.setattr(storage, "fold_history", lambda *a: folded.append(1) or real(*a))
    plain = ocop(*args, env={"OCOP_NO_INDEX": "1"})
    assert warm.exit_code == plain.exit_code == 0
    assert warm.stdout == plain.stdout
    assert folded == [1]


def test_an_unchanged_workspace_is_not_parsed_again(ws, monkeypatch):
    record(ws, entry(1))
    age(ws)
    expected = facts(indexed(ws))
    no_reading(monkeypatch)
    assert facts(indexed(ws)) == expected


@pytest.mark.parametrize("damage", ["garbage", "empty", "header only", "half", "flipped bytes"])
def test_a_damaged_index_is_made_again(ws, ocop, damage):
    record(ws, entry(1))
    good = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    path = index_file(ws)
    sql(ws, ("PRAGMA wal_checkpoint(TRUNCATE)", ()))  # everything in the database file itself
    data = path.read_bytes()
    middle = len(data) // 2
    broken = {
        "garbage": os.urandom(len(data)),
        "empty": b"",
        "header only": data[:100],
        "half": data[:middle],
        "flipped bytes": data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 4096])
        + data[middle + 4096:],
    }[damage]
    path.write_bytes(broken)
    again = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    assert again.exit_code == 0, again.stderr
    assert again.stdout == good.stdout
    assert facts(indexed(ws)) == truth(ws)


class Boom:
    """Unpickled, it would create a file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> Any:
        return (Path.touch, (self.target,))


@pytest.mark.parametrize("table", ["sources", "states", "problems", "checks"])
def test_a_value_that_is_not_ocops_is_never_loaded(ws, ocop, table):
    """Values in the index are read as data of ocop's own types only: one planted to run
    code is refused, and the index is made again."""
    record(ws, entry(1))
    path = record(ws, entry(2, "6"))
    add_line(path, '- {"id": "torn", "at": "2019-07-02T0')  # so that a problem is kept
    good = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    sql(ws, (f"UPDATE {table} SET value = ?", (pickle.dumps(Boom(ws / "boom")),)))
    again = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    assert again.exit_code == 0, again.stderr
    assert again.stdout == good.stdout
    assert not (ws / "boom").exists()
    assert facts(indexed(ws)) == truth(ws)


def test_an_index_of_another_version_is_made_again(ws, monkeypatch):
    record(ws, entry(1))
    indexed(ws)
    sql(ws, ("UPDATE meta SET value = 'another' WHERE key = 'version'", ()),
        ("UPDATE entries SET qty = 99", ()))  # what that other version would have held
    assert facts(indexed(ws)) == truth(ws)
    assert [e.qty for e in indexed(ws).entries] == [1]


def test_a_deleted_index_is_made_again(ws, ocop):
    good = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    index_file(ws).unlink()
    assert ocop("tasks", "--format", "json", "--as-of", AS_OF).stdout == good.stdout
    (ws / ".ocop").rename(ws / "elsewhere")
    assert ocop("tasks", "--format", "json", "--as-of", AS_OF).stdout == good.stdout
    assert index_file(ws).is_file()


def _without_ctime(path: Path) -> index.Stat | None:
    found = os.stat(path) if path.exists() else None
    if found is None:
        return None
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, 0)


def test_a_same_size_edit_within_the_same_timestamp_is_seen(ws, monkeypatch):
    """The worst case for an index keyed by file times: the plan edited right after it was
    read, same size, and every timestamp the same (ctime too, as on file systems that keep
    coarse times). Only the content tells."""
    monkeypatch.setattr(index, "stat_of", _without_ctime)
    plan = workspace(ws).plan_path()
    assert indexed(ws).plan.task("4").unit == "Cuốn"
    stamp = os.stat(plan).st_mtime_ns
    text = plan.read_text(encoding="utf-8")
    edited = text.replace("unit: Cuốn", "unit: Cuộn")  # same length in UTF-8
    assert edited != text and len(edited.encode()) == len(text.encode())
    plan.write_text(edited, encoding="utf-8")
    os.utime(plan, ns=(stamp, stamp))
    after = indexed(ws)
    assert after.plan.task("4").unit == "Cuộn"
    assert facts(after) == truth(ws)


def test_an_old_file_edited_is_seen_by_its_times(ws):
    age(ws)
    indexed(ws)
    plan = workspace(ws).plan_path()
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("unit: Cuốn", "unit: Cuộn"), encoding="utf-8")
    assert indexed(ws).plan.task("4").unit == "Cuộn"


def test_an_agencies_edit_is_checked_against_the_unchanged_plan(ws, ocop):
    assert ocop("tasks", "--format", "json").exit_code == 0
    agencies = ws / "agencies.yaml"
    text = agencies.read_text(encoding="utf-8")
    agencies.write_text(text.replace("short: Sở NN và PTNT", "short: Sở NN và PTNT mới"),
                        encoding="utf-8")
    broken = ocop("tasks", "--format", "json")
    assert broken.exit_code == EXIT_INVALID
    assert "Sở NN và PTNT" in broken.stderr


def _lines_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The numbers of the entry lines the index reads from now on."""
    read: list[int] = []
    quick = index._quick_rows

    def counted(path: Path, lines: Any, problems: Any) -> Any:
        read.extend(number for number, line in lines if line.startswith("- {"))
        return quick(path, lines, problems)

    monkeypatch.setattr(index, "_quick_rows", counted)
    return read


def test_a_grown_history_is_read_from_its_offset(ws, monkeypatch):
    path = record(ws, *(entry(n) for n in range(1, 6)))
    indexed(ws)
    record(ws, entry(6, "5.2", 4), entry(7, "6", 2))
    with monkeypatch.context() as patch:
        no_reading(patch)
        read = _lines_read(patch)
        loaded = indexed(ws)
        assert [e.id for e in loaded.entries][-2:] == [f"{6:020x}", f"{7:020x}"]
    assert read == [9, 10]  # 3 header lines, 5 entries, then the two new lines only
    assert loaded.entries[-1].source == f"{path.name}:10"
    assert facts(loaded) == truth(ws)


def test_a_pulled_file_is_compared_line_by_line(ws, monkeypatch):
    """A pull replaces a file (a new inode) with one that has lines inserted and one
    changed: only those lines are read, the others keep their rows, renumbered."""
    path = record(ws, *(entry(n) for n in range(1, 6)))
    indexed(ws)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    other = write.recorder_file(workspace(ws), "elsewhere")
    write.append(other, [entry(20, "6"), entry(21, "6")], inside=ws)
    inserted = other.read_text(encoding="utf-8").splitlines(keepends=True)[3:]
    other.unlink()
    lines[5] = lines[5].replace('"qty": 1', '"qty": 3')
    pulled = path.with_name("pulled.tmp")
    pulled.write_text("".join(lines[:4] + inserted + lines[4:]), encoding="utf-8")
    os.replace(pulled, path)
    read = _lines_read(monkeypatch)
    loaded = indexed(ws)
    assert read == [5, 6, 8]  # the two inserted lines and the changed one
    assert [e.qty for e in loaded.entries if e.task == "1.2"] == [1, 1, 3, 1, 1]
    assert facts(loaded) == truth(ws)


def test_a_pulled_file_with_lines_added_at_its_end_is_read_from_its_offset(ws, monkeypatch):
    """A pull that only added lines at the end of a file (a new inode, the bytes read before
    unchanged) reads the new lines alone, without comparing the others."""
    path = record(ws, *(entry(n) for n in range(1, 6)))
    indexed(ws)
    copy = path.with_name("copy.tmp")
    copy.write_bytes(path.read_bytes())
    os.replace(copy, path)
    record(ws, entry(6, "5.2", 4))
    read = _lines_read(monkeypatch)
    monkeypatch.setattr(index.Index, "_replaced", None)  # no line compared
    loaded = indexed(ws)
    assert read == [9]
    assert facts(loaded) == truth(ws)


def test_a_file_longer_than_a_piece_is_read_in_pieces(ws, monkeypatch):
    """A history file is read a few lines at a time (here about two): the same entries,
    numbered as in the file, a byte-order mark dropped from its start only."""
    path = record(ws, *(entry(n, ("1.2", "6", "5.2")[n % 3]) for n in range(1, 12)))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    monkeypatch.setattr(index, "CHUNK", 400)
    pieces: list[str] = []
    whole = index._File.pieces

    def counted(self: index._File) -> Any:
        for text, ended in whole(self):
            pieces.append(text)
            yield text, ended

    monkeypatch.setattr(index._File, "pieces", counted)
    loaded = indexed(ws)
    assert len(pieces) > 5 and max(len(p) for p in pieces) < 800
    assert facts(loaded) == truth(ws)
    assert loaded.entries[0].source == f"{path.name}:4"


def test_a_file_grown_by_more_than_a_piece_is_read_from_its_offset(ws, monkeypatch):
    monkeypatch.setattr(index, "CHUNK", 300)
    path = record(ws, *(entry(n) for n in range(1, 4)))
    indexed(ws)
    record(ws, *(entry(n, "6") for n in range(4, 12)))
    read = _lines_read(monkeypatch)
    loaded = indexed(ws)
    assert read == list(range(7, 15))  # 3 header lines, 3 entries, then the new ones only
    assert loaded.entries[-1].source == f"{path.name}:14"
    assert facts(loaded) == truth(ws)


def test_a_pulled_file_longer_than_a_piece_is_compared_line_by_line(ws, monkeypatch):
    """Lines moved from one piece to another keep their rows; a changed line and a line
    written by hand in a later piece are read as the files say."""
    monkeypatch.setattr(index, "CHUNK", 300)
    path = record(ws, *(entry(n, ("1.2", "6")[n % 2]) for n in range(1, 13)))
    indexed(ws)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.append(lines.pop(3))  # the first entry moved to the end
    lines[6] = lines[6].replace('"qty": 1', '"qty": 4')
    pulled = path.with_name("pulled.tmp")
    pulled.write_text("".join(lines), encoding="utf-8")
    os.replace(pulled, path)
    read = _lines_read(monkeypatch)
    assert facts(indexed(ws)) == truth(ws)
    assert read == [7]
    add_line(path, "- {id: h1, at: '2019-07-02T08:00:00+00:00', date: 2019-07-02, "
                   "task: '6', action: note, by: X, note: tay}\n")
    assert facts(indexed(ws)) == truth(ws)


def test_a_half_written_line_longer_than_a_piece_then_its_end(ws, monkeypatch):
    monkeypatch.setattr(index, "CHUNK", 50)
    path = record(ws, entry(1), entry(2, "6"))
    text = path.read_text(encoding="utf-8")
    last = text.splitlines(keepends=True)[-1]
    path.write_text(text[:-len(last)], encoding="utf-8")
    add_line(path, last[:120])
    assert facts(indexed(ws)) == truth(ws)
    add_line(path, last[120:])
    loaded = indexed(ws)
    assert facts(loaded) == truth(ws)
    assert [e.id for e in loaded.entries] == [f"{1:020x}", f"{2:020x}"]


def test_a_long_history_is_indexed_in_little_memory(ws, tmp_path):
    """Read and inserted a piece at a time, a file of 80,000 entries (15 MB) takes some 15 MB
    more to index than one of three (held whole, it took some 70 MB more)."""
    from test_faults_files import measured

    path = record(ws, entry(1), entry(2, "6"), entry(3, "5.2"))
    _done, small = measured(ws, tmp_path, "tasks", "--format", "json")
    index.remove(workspace(ws))
    # Entries of another plan's year: read into the index, replayed by no task of this one.
    line = write.recorder_file(workspace(ws), "Tester").read_text(
        encoding="utf-8").splitlines(keepends=True)[-1]
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(line.replace(f"{3:020x}", f"{n:020x}").replace(
            '"by": "Tester"', '"by": "Tester", "plan": 2020') for n in range(4, 80_004))
    assert path.stat().st_size > 14 * 2**20
    done, large = measured(ws, tmp_path, "tasks", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert large["peak_mb"] - small["peak_mb"] < 25, (small, large)


def test_a_new_office_file_is_read_alone(ws, monkeypatch):
    """The first recording of an office: its new file is read, not the others, and its
    entries take the place of its file among the others."""
    record(ws, *(entry(n, "5.2") for n in range(1, 4)), who="Tester")
    indexed(ws)
    record(ws, entry(4, "5.2"), entry(5, "6"), who="Phòng NN Gia Lộc")  # sorts before tester
    with monkeypatch.context() as patch:
        no_reading(patch)
        loaded = indexed(ws)
        about = indexed(ws).entries_about("5")
    assert [e.id[-1] for e in loaded.entries] == ["4", "5", "1", "2", "3"]
    assert facts(loaded) == truth(ws)
    assert about == [e for e in loaded.entries if e.task == "5.2"]


def test_appended_entries_that_need_a_word_are_read_as_without_index(ws):
    """An appended line that repeats an id already read (in another office's file), or that
    belongs to another plan, is treated exactly as a load without the index treats it."""
    record(ws, entry(1), entry(2, "6"))
    record(ws, entry(3, "5.2"), who="Phòng NN Gia Lộc")
    indexed(ws)
    other_plan = Entry(id="y2020", at="2020-02-01T08:00:00.000000+00:00",
                       date=dt.date(2020, 2, 1), task="1.2", action="progress", by="Tester",
                       qty=9, plan=2020)
    record(ws, entry(4, "1.2"), other_plan)
    loaded = indexed(ws)
    assert "y2020" not in [e.id for e in loaded.entries]
    assert facts(loaded) == truth(ws)
    record(ws, entry(2, "6"), who="Phòng NN Gia Lộc")  # a copy of an entry of tester.yaml
    loaded = indexed(ws)
    assert [p.message for p in loaded.problems if "appears twice" in p.message]
    assert facts(loaded) == truth(ws)


def test_the_entries_about_a_task_are_those_of_the_whole_history(ws):
    tasks = ["1.1", "1.2", "2", "5.1", "5.2", "6", "10", "11"]
    record(ws, *(entry(n, tasks[n % len(tasks)]) for n in range(1, 40)))
    record(ws, *(entry(n, tasks[n % 3]) for n in range(30, 60)), who="Phòng NN Gia Lộc")
    indexed(ws)
    record(ws, *(entry(n, tasks[n % 5]) for n in range(60, 70)))
    whole = truth(ws)[2]
    for task in ["1", "1.1", "1.2", "2", "5", "5.2", "6", "10", "11", "3"]:
        about = indexed(ws).entries_about(task)  # the entries not yet built
        assert about == [e for e in whole if e.task == task or e.task.startswith(task + ".")]


def test_an_index_damaged_after_it_was_opened_still_gives_the_files(ws):
    record(ws, entry(1), entry(2, "6"))
    indexed(ws)
    loaded = indexed(ws)  # entries not yet built
    sql(ws, ("DROP TABLE entries", ()))
    assert loaded.entries_about("6") == [e for e in truth(ws)[2] if e.task == "6"]
    assert loaded.entries == truth(ws)[2]


def test_a_history_edited_in_place_then_appended_to_is_read_again(ws):
    """An edit inside the indexed part, then a whole new line: the new line alone would
    parse, but the indexed entries are no longer what the file says."""
    path = record(ws, entry(1), entry(2), entry(3))
    indexed(ws)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    lines[4] = lines[4].replace('"qty": 1', '"qty": 7')  # same size, same file
    with path.open("r+", encoding="utf-8") as handle:
        handle.write("".join(lines))
    record(ws, entry(4))
    loaded = indexed(ws)
    assert [e.qty for e in loaded.entries] == [1, 7, 1, 1]
    assert facts(loaded) == truth(ws)


def indexed_then_added(root: Path, line: str) -> None:
    """A history of one entry, indexed, then a line added to it by hand."""
    path = record(root, entry(1))
    indexed(root)
    add_line(path, line)


def test_a_hand_written_line_appended_is_read_as_the_files_say(ws):
    indexed_then_added(ws, "- {id: hand1, at: '2019-07-02T08:00:00+00:00', date: 2019-07-02, "
                           "task: '5.2', action: progress, by: Tester, qty: 2}\n")
    loaded = indexed(ws)
    assert [e.id for e in loaded.entries] == [f"{1:020x}", "hand1"]
    assert facts(loaded) == truth(ws)
    record(ws, entry(2))  # after a file read whole, the next change reads it whole again
    assert facts(indexed(ws)) == truth(ws)


def test_a_bad_line_appended_is_an_error_with_or_without_index(ws, monkeypatch):
    indexed_then_added(ws, '- {"id": "x", "at": "2019-07-02T08:00:00+00:00", '
                           '"date": "2019-07-02", "task": "5.2", "action": "explode", '
                           '"by": "Tester"}\n')
    for env in ("0", "1"):
        monkeypatch.setenv("OCOP_NO_INDEX", env)
        with pytest.raises(InvalidData) as caught:
            indexed(ws)
        assert any(p.line == 5 for p in caught.value.problems)


def test_a_half_written_line_then_an_append(ws):
    path = record(ws, entry(1))
    with path.open("a", encoding="utf-8") as handle:
        handle.write('- {"id": "torn", "at": "2019-07-02T0')
    first = indexed(ws)
    assert first.problems and first.problems[0].warning
    assert facts(first) == truth(ws)
    record(ws, entry(2))
    loaded = indexed(ws)
    assert [e.id for e in loaded.entries] == [f"{1:020x}", f"{2:020x}"]
    assert facts(loaded) == truth(ws)


def test_history_files_added_and_removed(ws):
    record(ws, entry(1))
    indexed(ws)
    other = record(ws, entry(2, "6"), who="Phòng NN Gia Lộc")
    assert facts(indexed(ws)) == truth(ws)
    other.unlink()
    loaded = indexed(ws)
    assert [e.id for e in loaded.entries] == [f"{1:020x}"]
    assert facts(loaded) == truth(ws)


@pytest.mark.parametrize("how", ["a folder in its place", "read-only folder"])
def test_no_index_where_it_cannot_be_written(ws, ocop, how):
    record(ws, entry(1))
    (ws / ".ocop").mkdir(exist_ok=True)
    if how == "a folder in its place":
        index_file(ws).mkdir()
    else:
        (ws / ".ocop").chmod(0o500)
    try:
        first = ocop("tasks", "--format", "json", "--as-of", AS_OF)
        assert first.exit_code == 0, first.stderr
        plain = ocop("tasks", "--format", "json", "--as-of", AS_OF, env={"OCOP_NO_INDEX": "1"})
        assert first.stdout == plain.stdout
    finally:
        (ws / ".ocop").chmod(0o700)


def test_the_index_stays_out_of_the_data(ws, ocop):
    def data_files() -> dict[str, bytes]:
        return {str(p.relative_to(ws)): p.read_bytes() for p in ws.rglob("*")
                if p.is_file() and ".ocop" not in p.parts}

    ocop("progress", "1.2", "2", "--place", "Gia Lộc")
    before = data_files()
    for _ in range(2):
        ocop("tasks", "--format", "json")
    assert data_files() == before
    assert index_file(ws).is_relative_to(ws / ".ocop")
    assert "/.ocop" in (ws / ".gitignore").read_text().split()  # git ignores it


@pytest.mark.stress
def test_readers_and_writers_at_once(ws, monkeypatch):
    """Processes reading (and so updating the index) while others record: every read is
    whole and right for some moment, and the index left behind agrees with the files."""
    monkeypatch.setenv("OCOP_DATA", str(ws))
    monkeypatch.setenv("OCOP_AS_OF", AS_OF)
    reader = ("from ocop_cli.store import index, storage\n"
              "for _ in range(6):\n"
              "    loaded = index.load(storage.locate())\n"
              "    ids = [e.id for e in loaded.entries]\n"
              "    assert len(ids) == len(set(ids)), 'an entry twice'\n"
              "    assert all(e.task == '1.2' for e in loaded.entries)\n"
              "    print(len(ids))\n")
    children = [subprocess.Popen([sys.executable, "-c", reader], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(3)]
    writers = [subprocess.Popen([sys.executable, "-m", "ocop_cli", "progress", "1.2", "1",
                                 "--by", f"Office {n % 2}"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for n in range(4)]
    outputs = []
    for child in children + writers:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        outputs.append(out)
    for out in outputs[: len(children)]:
        counts = [int(n) for n in out.split()]
        assert len(counts) == 6
        assert counts == sorted(counts)  # never a step back to an older history
    loaded = indexed(ws)
    assert len(loaded.entries) == 4
    assert facts(loaded) == truth(ws)
    states = loaded.index.states(dt.date.fromisoformat(AS_OF))
    assert states["1.2"].achieved == 4


# --- task states -----------------------------------------------------------------------------


def replays(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The tasks of each replay from here on, but those that count products from the
    register (task 8 of the 2019 plan), which are replayed on every run."""
    calls: list[list[str]] = []
    real = state.replay

    def counted(plan: Any, entries: Any, as_of: Any, tasks: Any) -> Any:
        tasks = list(tasks)
        if not all(t.products_at for t in tasks):
            calls.append([t.id for t in tasks])
        return real(plan, entries, as_of, tasks)

    monkeypatch.setattr(state, "replay", counted)
    return calls


def test_an_append_computes_the_states_of_its_tasks_only(ws, monkeypatch):
    record(ws, entry(1), entry(2, "6"))
    as_of = dt.date(2019, 9, 15)
    indexed(ws).index.states(as_of)
    calls = replays(monkeypatch)
    record(ws, entry(3, "5.2", 4))
    states = indexed(ws).index.states(as_of)
    assert calls == [["5.2"]]
    assert summary(states) == summary(state.state_as_of(
        indexed(ws).plan, truth(ws)[2], as_of))
    calls.clear()
    indexed(ws).index.states(dt.date(2019, 10, 1))  # a new day: nothing to replay
    assert calls == []


def test_an_append_settles_its_task_and_the_rows_above_it_again(ws, monkeypatch):
    """With no task counted from the product register, the day's settled states are kept
    and only the changed task and its parents are settled again."""
    plan = workspace(ws).plan_path()
    plan.write_text(plan.read_text(encoding="utf-8").replace("products_at: sent", ""),
                    encoding="utf-8")
    record(ws, entry(1), entry(2, "6"), entry(3, "5.1", 12))
    as_of = dt.date(2019, 9, 15)
    before = summary(indexed(ws).index.states(as_of))
    settled = []
    real = state.settle

    def counted(plan: Any, states: Any, as_of: Any, tasks: Any = None) -> Any:
        settled.append(None if tasks is None else [t.id for t in tasks])
        return real(plan, states, as_of, tasks)

    monkeypatch.setattr(state, "settle", counted)
    record(ws, entry(4, "5.2", 4))
    states = indexed(ws).index.states(as_of)
    assert settled == [["5", "5.2"]]
    assert summary(states) == summary(state.state_as_of(indexed(ws).plan, truth(ws)[2], as_of))
    assert summary(states)["5"] != before["5"]  # the parent counts the new progress
    assert summary(states)["6"] == before["6"]


def test_only_tasks_with_entries_after_the_as_of_date_are_replayed(ws, monkeypatch):
    record(ws, entry(1, "1.2", day=1), entry(2, "6", day=20), entry(3, "5.2", day=10))
    indexed(ws).index.states(dt.date(2019, 9, 1))
    calls = replays(monkeypatch)
    for day, replayed in [(1, ["5.2", "6"]), (10, ["6"]), (25, [])]:
        as_of = dt.date(2019, 7, day)
        calls.clear()
        states = indexed(ws).index.states(as_of)
        assert [t for c in calls for t in c] == replayed
        assert summary(states) == summary(state.state_as_of(indexed(ws).plan, truth(ws)[2],
                                                            as_of))


def test_a_plan_edit_computes_the_states_of_the_changed_rows_only(ws, monkeypatch):
    record(ws, entry(1), entry(2, "6"))
    as_of = dt.date(2019, 9, 15)
    indexed(ws).index.states(as_of)
    plan = workspace(ws).plan_path()
    plan.write_text(plan.read_text(encoding="utf-8").replace("unit: Cuốn", "unit: Cuộn"),
                    encoding="utf-8")
    calls = replays(monkeypatch)
    with monkeypatch.context() as patch:
        no_reading(patch, "read_history_file")
        states = indexed(ws).index.states(as_of)
    assert calls == [["4"]]
    assert states["4"].task.unit == "Cuộn"


@pytest.mark.parametrize("change", ["plan edited", "entry appended", "office added"])
def test_the_states_computed_after_a_change_serve_the_next_run(ws, ocop, monkeypatch, change):
    assert ocop("tasks", "--format", "json", "--as-of", AS_OF).exit_code == 0
    if change == "plan edited":
        plan = workspace(ws).plan_path()
        plan.write_text(plan.read_text(encoding="utf-8").replace("unit: Cuốn", "unit: Cuộn"),
                        encoding="utf-8")
    else:
        record(ws, entry(1), who="Tester" if change == "entry appended" else "Phòng NN Gia Lộc")
    first = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    calls = replays(monkeypatch)
    again = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    assert again.exit_code == 0, again.stderr
    assert again.stdout == first.stdout
    assert calls == []


def test_the_first_listing_from_the_index_rows_keeps_every_state(ws, ocop, monkeypatch):
    """A listing of one month made right after the index: every task's state is kept, not
    only those it shows, so that the next command (a report, an import) replays nothing."""
    without_products(ws)
    record(ws, entry(1, "1.2"), entry(2, "10", 3), entry(3, "6"))
    assert ocop("tasks", "--month", "6", "--format", "json", "--as-of", "2020-01-01"
                ).exit_code == 0
    calls = replays(monkeypatch)
    states = indexed(ws).index.states(dt.date(2020, 1, 1))
    assert calls == []
    plain = storage.load(workspace(ws))
    assert summary(states) == summary(state.state_as_of(plain.plan, plain.entries,
                                                        dt.date(2020, 1, 1)))


def test_the_states_a_listing_replayed_for_a_day_serve_the_next_command(ws, ocop,
                                                                          monkeypatch):
    """A listing as of a day before some tasks' last entries replays those tasks for that
    day; a command that needs every state of that day (an import, a report) takes them."""
    without_products(ws)
    record(ws, entry(1, "1.2", day=2), entry(2, "10", 3, day=20), entry(3, "6", day=25))
    as_of = dt.date(2019, 7, 10)
    assert ocop("tasks", "--format", "json", "--as-of", "2020-01-01").exit_code == 0
    assert ocop("tasks", "--format", "json", "--as-of", as_of.isoformat()).exit_code == 0
    calls = replays(monkeypatch)
    states = indexed(ws).index.states(as_of)
    assert calls == []
    plain = storage.load(workspace(ws))
    assert summary(states) == summary(state.state_as_of(plain.plan, plain.entries, as_of))
    assert states["10"].achieved == 0 and states["1.2"].achieved == 1
    # Listed as of another day, then task 10 changed, and its state after all its entries
    # was kept again by a listing of a third day: what was kept for that day is older than
    # the change, and not taken.
    assert ocop("tasks", "--format", "json", "--as-of", "2019-07-15").exit_code == 0
    record(ws, entry(4, "10", 2, day=5))
    assert ocop("tasks", "--format", "json", "--as-of", "2020-01-01").exit_code == 0
    assert indexed(ws).index.states(dt.date(2019, 7, 15))["10"].achieved == 2


def test_a_file_checked_by_content_once_is_then_known_by_its_times(ws, monkeypatch):
    """Files changed just before they were indexed are checked by content; once they are
    old enough, the index records that, and later runs do not read them again."""
    monkeypatch.setattr(index, "RACY_NS", 300_000_000)  # 0.3 s instead of 3 s
    record(ws, entry(1), entry(2, "6"))
    expected = facts(indexed(ws))  # every file changed moments ago
    time.sleep(0.4)
    reads: list[Path] = []
    real = index._read

    def counted(path: Path) -> bytes:
        reads.append(path)
        return real(path)

    class Counted(index._File):  # a history file is read a piece at a time
        def __init__(self, path: Path) -> None:
            reads.append(path)
            super().__init__(path)

    monkeypatch.setattr(index, "_read", counted)
    monkeypatch.setattr(index, "_File", Counted)
    assert facts(indexed(ws)) == expected
    assert {p.name for p in reads} == {"agencies.yaml", "plan_2019.yaml", "tester.yaml"}
    reads.clear()
    for _ in range(2):
        assert facts(indexed(ws)) == expected
    assert reads == []


# --- any sequence of changes ---------------------------------------------------------------

OFFICES = ["Tester", "Phòng NN Gia Lộc", "Phòng NN Kinh Môn"]
TASKS = ["1.1", "1.2", "2", "5.1", "5.2", "6", "10", "11"]
CHANGES = st.one_of(
    st.tuples(st.just("append"), st.sampled_from(OFFICES), st.lists(
        st.tuples(st.sampled_from(TASKS), st.integers(1, 28)), min_size=1, max_size=3)),
    st.tuples(st.just("copy"), st.sampled_from(OFFICES), st.integers(0, 50)),
    st.tuples(st.just("other plan"), st.sampled_from(OFFICES), st.sampled_from(TASKS)),
    st.tuples(st.just("hand"), st.sampled_from(OFFICES), st.sampled_from(TASKS)),
    st.tuples(st.just("edit"), st.sampled_from(OFFICES), st.integers(0, 50)),
    st.tuples(st.just("delete"), st.sampled_from(OFFICES), st.just(0)),
    st.tuples(st.just("undo"), st.sampled_from(OFFICES), st.integers(0, 50)),
    st.tuples(st.just("pull"), st.sampled_from(OFFICES), st.integers(0, 50)),
    st.tuples(st.just("plan"), st.sampled_from(OFFICES), st.sampled_from(["3", "20"])),
)
# Before, between and after the entries (all in July), and in the windows' months.
AS_OF_DATES = [dt.date(2019, 6, 30), dt.date(2019, 7, 10), dt.date(2019, 7, 20),
               dt.date(2019, 8, 1), dt.date(2020, 1, 1)]


def listed(states: dict[str, state.TaskState]) -> list[tuple[Any, ...]]:
    """Every figure of each state but its entries, the order of its places and units too."""
    return [(task, s.status, s.timing, s.achieved, list(s.places.items()), s.note, s.ref,
             list(s.units.items()), s.unassigned, list(s.unit_notes.items()))
            for task, s in states.items()]


def _outcome(root: Path, task: str) -> tuple[Any, ...]:
    """What a command sees: the facts, the entries about `task` and the task states on
    each as-of date, or the problems."""
    try:
        about = index.load(workspace(root)).entries_about(task)  # before any entry is built
        listings = _listings(root)  # first: the states below may start from what it kept
        loaded = index.load(workspace(root))
        states = []
        for as_of in AS_OF_DATES:
            found = (loaded.index.states(as_of) if loaded.index is not None
                     else state.state_as_of(loaded.plan, loaded.replay(), as_of))
            if loaded.index is None:  # the history folded as it is read says the same
                folded = storage.load(workspace(root), as_of=as_of)
                assert folded.problems == loaded.problems
                assert listed(folded.states(as_of)) == listed(found)
            states.append(summary(found))
        return (*facts(loaded), about, states, listings)
    except InvalidData as error:
        return ("invalid", [str(p) for p in error.problems])


def _listings(root: Path) -> list[str]:
    """JSON listings by month and agency (served from the index's rows where the plan counts
    no products) and by states (overdue, due, a status and a unit's place, a text by urgency),
    before, between and after the entries, as `ocop tasks` makes them; each twice (the second
    as printed before)."""
    from ocop_cli.core.query import Filters, select_without_states
    from ocop_cli.tracker import views

    ws = workspace(root)
    found = []
    for as_of in (dt.date(2019, 6, 30), dt.date(2019, 7, 10), dt.date(2020, 1, 1)) * 2:
        for filters, sort in ((Filters(month=7, agency="so-nn-ptnt"), "plan"),
                              (Filters(overdue=True), "plan"), (Filters(due=True), "plan"),
                              (Filters(statuses=("in_progress",), place="gia-loc"), "plan"),
                              (Filters(grep="hoi"), "urgency")):
            out = io.StringIO()
            listing = index.listing(ws)

            def made(filters: Any = filters, sort: str = sort, as_of: dt.date = as_of
                     ) -> list[str]:
                loaded = index.load(ws)
                chosen = select_without_states(loaded.plan, loaded.directory, filters)
                states = loaded.index.states(as_of, None if chosen is None else {
                    t.id for t in chosen}) if loaded.index is not None \
                    else state.state_as_of(loaded.plan, loaded.replay(), as_of)
                return views.task_json_lines(loaded, states, filters, as_of, sort, chosen)

            if listing is None or not listing.print_json(filters, sort, as_of, made, out):
                loaded = index.load(ws)
                chosen = select_without_states(loaded.plan, loaded.directory, filters)
                states = state.state_as_of(loaded.plan, loaded.replay(), as_of)
                with contextlib.redirect_stdout(out):
                    views.task_list(loaded, states, filters, "json", as_of, True, sort, chosen)
            found.append(out.getvalue())
    return found


def _pull(path: Path, detail: int) -> None:
    """The file replaced by another with one line moved to the end and another changed, as a
    merge over git may leave it (a new inode)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    entries = [i for i, line in enumerate(lines) if line.startswith("- {")]
    if entries:
        at = entries[detail % len(entries)]
        lines.append(lines.pop(at))
        last = entries[(detail * 7) % len(entries)]
        lines[last] = lines[last].replace('"qty": 1', '"qty": 5')
    pulled = path.with_name("pulled.tmp")
    pulled.write_text("".join(lines), encoding="utf-8")
    os.replace(pulled, path)


@given(st.lists(CHANGES, min_size=1, max_size=8), st.sampled_from(["1", "5", "5.2", "6"]),
       st.booleans(), st.sampled_from([index.CHUNK, 1, 300]))
@settings(max_examples=25, deadline=None)
def test_any_sequence_of_changes_reads_as_without_index(tmp_path_factory, changes, task,
                                                         products, chunk):
    """Appends, new offices, copied lines, another plan's entries, lines written by hand,
    edits in place, undos, pulls, plan edits and deleted files, in any order: each load
    through the index, and the task states it gives on dates before, between and after the
    entries, are what a load of the files gives. Without a task counted from the product
    register (`products` false), a day's settled states are kept and settled again in part.
    History files are read a piece at a time: pieces of a byte, of a line or so, and of
    every line at once give the same."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index, "CHUNK", chunk)
        _any_sequence(tmp_path_factory, changes, task, products)


def _any_sequence(tmp_path_factory: Any, changes: list[tuple[str, str, Any]], task: str,
                  products: bool) -> None:
    root = storage.init_workspace(tmp_path_factory.mktemp("ws") / "ws").root
    if not products:
        plan = workspace(root).plan_path()
        plan.write_text(plan.read_text(encoding="utf-8").replace("products_at: sent", ""),
                        encoding="utf-8")
    count = 0
    for kind, office, detail in changes:
        path = write.recorder_file(workspace(root), office)
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True) \
            if path.exists() else []
        entries = [i for i, line in enumerate(lines) if line.startswith("- {")]
        written = [i for i, line in enumerate(lines) if line.startswith('- {"')]
        if kind == "append":
            for task_id, day in detail:
                count += 1
                record(root, entry(count, task_id, day=day), who=office)
        elif kind == "copy" and entries:
            source = lines[entries[detail % len(entries)]]
            add_line(write.recorder_file(workspace(root), OFFICES[detail % len(OFFICES)]),
                     source)
        elif kind == "other plan":
            count += 1
            record(root, entry(count, detail)._replace(plan=2020), who=office)
        elif kind == "hand":
            count += 1
            add_line(path, f"- {{id: h{count}, at: '2019-07-02T08:00:00+00:00', "
                           f"date: 2019-07-02, task: '{detail}', action: note, by: X, "
                           "note: tay}\n")
        elif kind == "edit" and entries:
            at = entries[detail % len(entries)]
            lines[at] = lines[at].replace('"qty": 1', '"qty": 2')
            with path.open("r+", encoding="utf-8") as handle:  # same size, same file
                handle.write("".join(lines))
        elif kind == "undo" and written:
            undone = json.loads(lines[written[detail % len(written)]][2:])
            count += 1
            record(root, entry(count, TASKS[detail % len(TASKS)])._replace(
                action="undo", qty=None, place=None, undoes=undone["id"]), who=office)
        elif kind == "pull" and path.exists():
            _pull(path, detail)
        elif kind == "plan":
            plan = workspace(root).plan_path()
            text = plan.read_text(encoding="utf-8")
            plan.write_text(text.replace('target: "12"', f'target: "{detail}"', 1)
                            if 'target: "12"' in text
                            else text.replace('target: "5"', 'target: "12"', 1), encoding="utf-8")
        through_index = _outcome(root, task)
        os.environ["OCOP_NO_INDEX"] = "1"
        try:
            assert through_index == _outcome(root, task), (kind, office, detail)
        finally:
            del os.environ["OCOP_NO_INDEX"]


def test_a_change_of_many_rows_is_counted_again_whole(ws, monkeypatch):
    """Past MANY changed rows (a first build of a long history) every id's count and every
    state is made again in one go: the same answers, copies and undos included."""
    monkeypatch.setattr(index, "MANY", 1)
    record(ws, entry(1), entry(2, "6"), entry(3, "5.2", 2))
    record(ws, entry(2, "6"), entry(4, "1.2"), who="Phòng NN Gia Lộc")  # a copy of entry 2
    record(ws, entry(5, "5.2")._replace(action="undo", qty=None, place=None,
                                        undoes=f"{3:020x}"))
    as_of = dt.date(2019, 9, 15)
    loaded = indexed(ws)
    assert facts(loaded) == truth(ws)
    assert [p for p in loaded.problems if "appears twice" in p.message]
    assert summary(loaded.index.states(as_of)) == summary(
        state.state_as_of(loaded.plan, truth(ws)[2], as_of))
    assert loaded.index.states(as_of)["5.2"].achieved == 0  # its only progress undone


def test_a_task_counting_products_follows_the_register_through_the_index(ws, ocop):
    """Task 8 counts the products sent to the province, from the product register, which
    the index does not hold: each listing replays it with the register as it is now."""
    def listed() -> tuple[Any, Any]:
        through_index = ocop("tasks", "--format", "json", "--as-of", AS_OF)
        plain = ocop("tasks", "--format", "json", "--as-of", AS_OF, env={"OCOP_NO_INDEX": "1"})
        assert through_index.exit_code == plain.exit_code == 0, through_index.stderr
        assert through_index.stdout == plain.stdout
        return {t["id"]: t["achieved"] for t in through_index.json()}["8"]

    assert listed() == 0
    added = ocop("product", "add", "Bánh gai", "--district", "Kinh Môn", "--commune", "Xã A",
                 "--entity", "Chủ thể", "--kind", "htx", "--group", "thuc-pham",
                 "--date", "2019-07-01")
    assert added.exit_code == 0, added.stderr
    product = added.stdout.split()[0]
    for stage in ("chosen", "sent"):
        assert ocop("product", "stage", product, stage, "--date", "2019-08-15",
                    "--ref", "12/TTr-UBND").exit_code == 0
    assert listed() == 1
    assert listed() == 1  # the warm run too


def test_an_import_says_the_same_through_the_index(ws, ocop, tmp_path):
    """Each row of a progress sheet is decided, and its figures told, from the task's own
    entries: through the index exactly as without it."""
    record(ws, entry(1, "1.2", 3), entry(2, "5.2", 2))
    sheet = tmp_path / "bao_cao.csv"
    sheet.write_text("date,task,action,quantity,place\n"
                     "2019-07-20,1.2,progress,2,Gia Lộc\n"
                     "2019-07-21,5.2,progress,1,\n"
                     "2019-07-22,1.2,progress,1,Kinh Môn\n", encoding="utf-8")
    ocop("tasks", "--format", "json", "--as-of", AS_OF)  # the index made
    said = ocop("import", "progress", str(sheet), "--dry-run", "--as-of", AS_OF)
    plain = ocop("import", "progress", str(sheet), "--dry-run", "--as-of", AS_OF,
                 env={"OCOP_NO_INDEX": "1"})
    assert said.exit_code == plain.exit_code == 0, said.stderr
    assert said.stdout == plain.stdout
    assert "5" in said.stdout.splitlines()[0]  # 3 recorded before, then 2 more


def test_an_import_reads_from_the_index_only_the_states_its_rows_need(ws, ocop, tmp_path,
                                                                      monkeypatch):
    """Rows about a parent, its sub-rows and another task, one refused: decided, told and
    recorded through the index as without it, from the states of those tasks, the rows
    above them and their sub-rows only."""
    record(ws, entry(1, "5.1", 1), entry(2, "6", 2))
    sheet = tmp_path / "bao_cao.csv"
    sheet.write_text("date,task,action,quantity,note\n"
                     "2019-07-20,5.2,done,,\n"
                     "2019-07-21,5,done,,\n"
                     "2019-07-22,1.2,progress,2,\n"
                     "2019-07-23,3.1,cancel,,không cần\n", encoding="utf-8")
    ocop("tasks", "--format", "json", "--as-of", AS_OF)  # the index made
    asked: list[set[str] | None] = []
    states = index._Served.states

    def counted(self: Any, as_of: dt.date, only: set[str] | None = None) -> Any:
        asked.append(only)
        return states(self, as_of, only)

    with monkeypatch.context() as patch:
        patch.setattr(index._Served, "states", counted)
        said = ocop("import", "progress", str(sheet), "--dry-run", "--as-of", AS_OF)
    plan = indexed(ws).plan
    assert asked == [{"5", "5.1", "5.2", "1", "1.1", "1.2", "3", "3.1", "3.2", "3.3"}
                     & set(plan.index)]
    plain = ocop("import", "progress", str(sheet), "--dry-run", "--as-of", AS_OF,
                 env={"OCOP_NO_INDEX": "1"})
    assert said.exit_code == plain.exit_code == 0, said.stderr
    assert said.stdout == plain.stdout
    assert ocop("import", "progress", str(sheet), "--as-of", AS_OF).exit_code == 0
    listing = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    assert listing.stdout == ocop("tasks", "--format", "json", "--as-of", AS_OF,
                                  env={"OCOP_NO_INDEX": "1"}).stdout


def test_a_pull_that_inserts_a_line_replays_only_its_task(ws, monkeypatch):
    """A merge puts another machine's line near the top of an office's file: every line
    after it moves down. Only the new line's task is replayed, and the task of an entry
    with a copy (which copy counts is decided again); the warnings, which name lines,
    follow them (a copy, an entry for a task the plan lacks)."""
    path = record(ws, entry(1), entry(2, "6"), entry(3, "5.2"), entry(4, "99"), entry(5, "5.1"))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    add_line(path, lines[4])  # a copy of entry 2
    as_of = dt.date(2019, 9, 15)
    before = indexed(ws)
    assert [p.line for p in before.problems] == [7, 9]  # task 99's entry, the copy
    before.index.states(as_of)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    other = write.recorder_file(workspace(ws), "elsewhere")
    write.append(other, [entry(20, "10")], inside=ws)
    inserted = other.read_text(encoding="utf-8").splitlines(keepends=True)[3:]
    other.unlink()
    pulled = path.with_name("pulled.tmp")
    pulled.write_text("".join(lines[:3] + inserted + lines[3:]), encoding="utf-8")
    os.replace(pulled, path)
    calls = replays(monkeypatch)
    loaded = indexed(ws)
    assert facts(loaded) == truth(ws)
    assert [p.line for p in loaded.problems] == [8, 10]
    states = loaded.index.states(as_of)
    assert sorted({t for call in calls for t in call}) == ["10", "6"]
    assert summary(states) == summary(state.state_as_of(loaded.plan, truth(ws)[2], as_of))


def test_a_pull_that_moves_a_copied_line_counts_the_first_copy(ws):
    """An entry, and an edited copy of it (the same id) further down; a pull gives the file
    back with the two swapped: the copy that counts is the first in the file as it is now."""
    path = record(ws, entry(1), entry(2, "6"))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    add_line(path, lines[3].replace('"qty": 1', '"qty": 2'))
    indexed(ws)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    pulled = path.with_name("pulled.tmp")
    pulled.write_text("".join([*lines[:3], lines[5], lines[4], lines[3]]), encoding="utf-8")
    os.replace(pulled, path)
    loaded = indexed(ws)
    assert [(e.source, e.qty) for e in loaded.entries] == [(f"{path.name}:4", 2),
                                                           (f"{path.name}:5", 1)]
    assert facts(loaded) == truth(ws)


# --- commands about one task, counts and entries in order ----------------------------------


def varied(ws: Path, ocop: Any) -> None:
    """Entries of shared and plain tasks at several places and dates; an undo recorded under
    another task than the entry it takes out; an entry of another plan; a product counted
    by task 8 from the register, sent inside the third quarter."""
    record(ws, entry(1, "1.2", 2), entry(2, "5.2", 3, day=5), entry(4, "6", 1, day=20),
           entry(3, "1.2", 1, day=3)._replace(place="kinh-mon", note="hội nghị"))
    record(ws, entry(5, "5.1")._replace(action="undo", qty=None, place=None,
                                        undoes=f"{2:020x}"),
           entry(6, "1.2")._replace(plan=2020), entry(7, "5.2", 2, day=9)._replace(
               date=dt.date(2019, 8, 9)), who="Phòng NN Gia Lộc")
    added = ocop("product", "add", "Bánh gai", "--district", "Kinh Môn", "--commune", "Xã A",
                 "--entity", "Chủ thể", "--kind", "htx", "--group", "thuc-pham",
                 "--date", "2019-07-01")
    assert added.exit_code == 0, added.stderr
    for stage in ("chosen", "sent"):
        assert ocop("product", "stage", added.stdout.split()[0], stage, "--date",
                    "2019-08-15").exit_code == 0


def same_through_the_index(ocop: Any, *args: str) -> Any:
    """A command's output through the index (made by the run before), and reading the files."""
    ocop(*args, "--as-of", AS_OF)
    through_index = ocop(*args, "--as-of", AS_OF)
    plain = ocop(*args, "--as-of", AS_OF, env={"OCOP_NO_INDEX": "1"})
    assert through_index.exit_code == plain.exit_code, through_index.stderr
    assert (through_index.stdout, through_index.stderr) == (plain.stdout, plain.stderr)
    return through_index


def no_whole_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the list of every entry, as a load without the index does, fails."""
    real = index.Index.entries

    def some(self: index.Index, years: Any, where: str = "", args: Any = ()) -> Any:
        assert where, "every entry read"
        return real(self, years, where, args)

    monkeypatch.setattr(index.Index, "entries", some)


@pytest.mark.parametrize("args", [
    ["show", "5", "--format", "json"], ["show", "5.2"], ["show", "1.2", "--format", "json"],
    ["show", "8", "--format", "json"], ["history", "--format", "json"], ["history"],
    ["history", "--format", "csv"], ["history", "--format", "md"],
    ["history", "5", "--format", "json"],
    ["info", "--format", "json"], ["undo"],
    ["report", "--period", "2019-Q3", "--format", "json"],
    ["report", "--period", "2019-07", "--agency", "Gia Lộc", "--format", "json"],
    ["report", "--month", "8", "--agency", "Kinh Môn"],
    ["report", "--format", "json"], ["report", "--agency", "Gia Lộc", "--format", "json"],
    ["report"],
], ids=" ".join)
def test_commands_say_through_the_index_what_the_files_say(ws, ocop, monkeypatch, args):
    """Without building the list of every entry: a task's own, a count, or every entry read
    in order from the index as it is written."""
    varied(ws, ocop)
    ocop("tasks", "--as-of", AS_OF)  # the index made
    if args[0] == "undo":  # a write: each way on a copy of the same workspace
        import shutil

        plain = ws.parent / "plain"
        shutil.copytree(ws, plain)
        no_whole_history(monkeypatch)
        said = [ocop("undo").stdout for _ in range(2)]
        monkeypatch.setenv("OCOP_DATA", str(plain))
        assert said == [ocop("undo", env={"OCOP_NO_INDEX": "1"}).stdout for _ in range(2)]
        assert said[1].startswith("undid")
        return
    no_whole_history(monkeypatch)
    assert same_through_the_index(ocop, *args).stdout


def test_a_report_of_the_day_without_the_index_holds_no_entry(ws, ocop, monkeypatch):
    """Without the index, the report of a day folds the history into the states as it reads
    it, as a listing does (at 1,000,000 entries, holding them took 800 MB): the same report."""
    varied(ws, ocop)
    through_index = ocop("report", "--format", "json", "--as-of", AS_OF)
    monkeypatch.setattr(storage, "read_history", lambda *args: pytest.fail("entries held"))
    plain = ocop("report", "--format", "json", "--as-of", AS_OF, env={"OCOP_NO_INDEX": "1"})
    assert through_index.exit_code == plain.exit_code == 0, plain.stderr
    assert plain.stdout == through_index.stdout


def test_show_replays_only_the_task_and_its_sub_rows(ws, ocop, monkeypatch):
    varied(ws, ocop)
    ocop("tasks", "--as-of", AS_OF)
    calls = replays(monkeypatch)
    shown = ocop("show", "5", "--format", "json", "--as-of", AS_OF).json()
    assert calls == [["5", "5.1", "5.2"]]
    assert shown["achieved"] == 2  # 3 undone from task 5.1, then 2 more


def test_a_period_report_counts_the_entries_in_force_inside_it(ws, ocop):
    """A unit's report counts its own place's entries of a shared task; an entry undone
    (from another task) counts nowhere; the task counting products counts the one sent."""
    varied(ws, ocop)

    def achieved(*args: str) -> dict[str, Any]:
        doc = same_through_the_index(ocop, "report", *args, "--format", "json").json()
        return {row["id"]: (row["entries"], row["qty"], row["places"])
                for row in doc["achieved"]}

    assert achieved("--period", "2019-07") == {"1.2": (2, 3, ["Gia Lộc", "Kinh Môn"]),
                                               "6": (1, 1, ["Gia Lộc"])}
    assert achieved("--period", "2019-07", "--agency", "Gia Lộc")["1.2"] == (1, 2, ["Gia Lộc"])
    assert achieved("--period", "2019-Q3") == {
        "1.2": (2, 3, ["Gia Lộc", "Kinh Môn"]), "5.2": (1, 2, ["Gia Lộc"]),
        "6": (1, 1, ["Gia Lộc"]), "8": (1, 1, ["Kinh Môn"])}


@pytest.mark.parametrize("case", ["one plan", "two plans", "an error"])
def test_check_lists_through_the_index_what_the_files_say(ws, ocop, monkeypatch, case):
    """Copies of entries, entries for a task or a plan the workspace lacks, a torn last
    line: listed as reading the files lists them, in their order, the history not read
    again; an entry at an unknown place (an error) is told as the files tell it."""
    varied(ws, ocop)
    error = case == "an error"
    if case == "two plans":
        (ws / "plan_2020.yaml").write_text((ws / "plan_2019.yaml").read_text(
            encoding="utf-8").replace("year: 2019", "year: 2020", 1), encoding="utf-8")
    record(ws, entry(1), entry(4, "6"), who="Phòng NN Kinh Môn")  # copies of entries read before
    record(ws, entry(8, "99"), entry(9, "1.2")._replace(plan=2031), entry(10, "5.2"))
    add_line(record(ws, entry(11, "99")._replace(plan=2020)), '- {"id": "torn", "at": ')
    if error:
        record(ws, entry(12)._replace(place="nowhere"), who="Phòng NN Kinh Môn")
    said = same_through_the_index(ocop, "check")
    assert said.exit_code == (EXIT_INVALID if error else 0)
    warnings = [line for line in said.stderr.splitlines() if line.startswith("warning")]
    assert len(warnings) == (6 if case == "two plans" else 7)
    if not error:
        def fails(*args: Any) -> Any:
            raise AssertionError("the history read again")

        monkeypatch.setattr(storage, "read_history", fails)
        monkeypatch.setattr(storage, "read_history_file", fails)
        again = ocop("check", "--as-of", AS_OF)
        assert (again.exit_code, again.stdout, again.stderr) == (0, said.stdout, said.stderr)


def test_every_entry_is_listed_as_it_is_read_from_the_index(tmp_path):
    """`history --format json` of 60,000 entries peaks within a few MB of one of 6,000 (held
    whole, the entries and their rows took about 40 MB more), in a real process."""
    from helpers import PEAK_MB

    script = "import json, sys\n" + PEAK_MB + (
        "from ocop_cli.commands.app import app\n"
        "try:\n    app(sys.argv[1:], prog_name='ocop')\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(json.dumps(peak_mb()))\n")
    peaks = []
    for count in (6_000, 60_000):
        root = storage.init_workspace(tmp_path / str(count)).root
        record(root, *(entry(n, ("1.2", "5.2", "6", "10")[n % 4], day=1 + n % 28)
                       for n in range(count)))
        env = {**os.environ, "OCOP_DATA": str(root)}
        run = [sys.executable, "-c", script, "history", "--format", "json"]
        subprocess.run(run, env=env, capture_output=True, check=True, timeout=120)  # indexed
        done = subprocess.run(run, env=env, capture_output=True, text=True, check=True,
                              timeout=120)
        assert done.stdout.count('"id"') == count
        peaks.append(json.loads(done.stderr.splitlines()[-1]))
    assert peaks[1] - peaks[0] < 12, peaks


def test_the_folded_states_are_given_once_then_replayed(ws):
    """A fold lets its figures go as it gives its states: asked again, the load says it has
    none, and the states come from the replay of the entries, the same."""
    record(ws, entry(1), entry(2, "5.2", 3), entry(3, "6", 2, day=28))
    day = dt.date(2019, 7, 20)
    loaded = storage.load(storage.Workspace(Path(ws)), as_of=day)
    first = loaded.states(day)
    assert first is not None and first["5.2"].achieved == 3
    assert loaded.states(day) is None
    replayed = state.state_as_of(loaded.plan, loaded.replay(), day)
    assert [(s.status, s.achieved, s.places, s.note) for s in first.values()] == \
        [(s.status, s.achieved, s.places, s.note) for s in replayed.values()]
