"""The index is a cache of the files' data only: whatever happens to it or to the files, ocop
shows what the files say. Each test compares with what reading the files gives (`storage.load`,
or `OCOP_NO_INDEX=1`)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocop_cli.core import state
from ocop_cli.core.errors import EXIT_INVALID, InvalidData
from ocop_cli.core.model import Entry
from ocop_cli.core.query import Filters
from ocop_cli.store import documents, index, lines, storage, write, yamlio
from ocop_cli.store.index import audit, database, served, update
from ocop_cli.tracker import loading, views

AS_OF = "2019-09-15"


def workspace(root: Path) -> storage.Workspace:
    return storage.Workspace(root.resolve())


def facts(loaded: storage.Loaded) -> tuple[Any, ...]:
    """Everything a command reads of a load but the states."""
    return (loaded.plan, loaded.directory.agencies, loaded.entries)


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


def undo(n: int, of: int, task: str = "1.2") -> Entry:
    return entry(n, task)._replace(action="undo", qty=None, place=None, undoes=f"{of:020x}")


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


def listed(states: dict[str, state.TaskState]) -> list[tuple[Any, ...]]:
    """Every figure of each state but its entries, the order of its places and units too."""
    return [(task, s.status, s.timing, s.achieved, list(s.places.items()), s.note, s.ref,
             list(s.units.items()), s.unassigned, list(s.unit_notes.items()))
            for task, s in states.items()]


def from_files(root: Path, as_of: dt.date) -> list[tuple[Any, ...]]:
    loaded = storage.load(workspace(root))
    return listed(loaded.states(as_of))


def patch_everywhere(monkeypatch: pytest.MonkeyPatch, module: Any, name: str,
                     value: Any) -> None:
    """`module.name` replaced by `value`, and so in every module of ocop that imported it by
    name (`from module import name` binds the function where it is used)."""
    real = getattr(module, name)
    for loaded in list(sys.modules.values()):
        if getattr(loaded, "__name__", "").startswith("ocop_cli") and \
                getattr(loaded, name, None) is real:
            monkeypatch.setattr(loaded, name, value)

def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, int]]:
    """Each piece of a history file the index reads from now on: (file, its first line,
    how many entries)."""
    found: list[tuple[str, int, int]] = []
    real = lines.parse_lines

    def counted(path: Path, text: str, first: int = 1, read: Any = None) -> Any:
        records, problems = real(path, text, first, read)
        found.append((path.name, first, len(records)))
        return records, problems

    patch_everywhere(monkeypatch, lines, "parse_lines", counted)
    return found


def no_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading any file of the workspace again fails."""
    def broken(*args: Any) -> Any:
        raise AssertionError("read again")

    for module, name in ((documents, "read_plan"), (documents, "read_agencies"),
                         (yamlio, "read_bytes")):
        patch_everywhere(monkeypatch, module, name, broken)


def replays(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The tasks of each replay the index makes from here on, but those that count products
    from the register (task 8 of the 2019 plan), which are replayed on every run."""
    calls: list[list[str]] = []
    real = served.replay

    def counted(plan: Any, entries: Any, as_of: Any, tasks: Any) -> Any:
        tasks = list(tasks)
        if not all(t.products_at for t in tasks):
            calls.append([t.id for t in tasks if not t.products_at])
        return real(plan, entries, as_of, tasks)

    monkeypatch.setattr(served, "replay", counted)
    return calls


def without_products(root: Path) -> None:
    """The plan without its task counted from the product register (which the index does not
    hold, and replays on every run)."""
    plan = workspace(root).plan_path()
    plan.write_text(plan.read_text(encoding="utf-8").replace("products_at: sent", ""),
                    encoding="utf-8")


# --- what a command shows ------------------------------------------------------------------


def test_a_warm_index_serves_what_the_files_say(ws, ocop):
    record(ws, entry(1), entry(2, "5.2", 3))
    first = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    assert index_file(ws).is_file()
    second = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    plain = ocop("tasks", "--format", "json", "--as-of", AS_OF, env={"OCOP_NO_INDEX": "1"})
    assert first.exit_code == second.exit_code == plain.exit_code == 0
    assert first.stdout == second.stdout == plain.stdout
    assert {t["id"]: t["achieved"] for t in second.json()}["5.2"] == 3


@pytest.mark.parametrize("filters", [
    ["--month", "7"], ["--month", "7", "--agency", "Sở NN"], ["--agency", "Gia Lộc"],
    ["--month", "7", "--status", "in_progress"], ["--overdue"], ["--place", "Gia Lộc"],
    ["--grep", "hoi nghi", "--sort", "urgency"]])
@pytest.mark.parametrize("as_of", ["2019-06-30", "2019-07-06", "2019-07-20", "2020-01-01"])
def test_a_warm_listing_shows_what_the_files_say(ws, ocop, filters, as_of):
    """Filters that choose tasks by the plan (then only their states are computed) or by
    their states, as of days before, between and after the entries; an undo, a shared
    task's units and a task counting products included."""
    record(ws, entry(1), entry(2, "5.2", 3, day=5), entry(3, "6", 2, day=28),
           entry(4, "1.2", day=10)._replace(place="kinh-mon", note="hội nghị"), undo(5, 1))
    args = ["tasks", *filters, "--format", "json", "--as-of", as_of]
    ocop(*args)
    warm = ocop(*args)
    plain = ocop(*args, env={"OCOP_NO_INDEX": "1"})
    assert warm.exit_code == plain.exit_code == 0, warm.stderr
    assert warm.stdout == plain.stdout


@pytest.mark.parametrize("command", [["timeline"], ["timeline", "--agency", "Gia Lộc"],
                                     ["agencies", "--format", "json"],
                                     ["report", "--format", "json"]])
def test_the_other_listings_show_what_the_files_say(ws, ocop, command):
    record(ws, entry(1), entry(2, "5.2", 3), entry(3, "6", 2, day=28), undo(4, 1))
    args = [*command, "--as-of", "2019-07-20"]
    ocop(*args)
    warm = ocop(*args)
    plain = ocop(*args, env={"OCOP_NO_INDEX": "1"})
    assert warm.exit_code == plain.exit_code == 0, warm.stderr
    assert warm.stdout == plain.stdout


def test_a_task_counting_products_follows_the_register_through_the_index(ws, ocop):
    """Task 8 counts the products sent to the province, from the product register, which
    the index does not hold: each listing replays it with the register as it is now."""
    def listed() -> Any:
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
                     "2019-07-22,5,done,,\n"
                     "2019-07-22,1.2,progress,1,Kinh Môn\n", encoding="utf-8")
    ocop("tasks", "--format", "json", "--as-of", AS_OF)  # the index made
    said = ocop("import", "progress", str(sheet), "--dry-run", "--as-of", AS_OF)
    plain = ocop("import", "progress", str(sheet), "--dry-run", "--as-of", AS_OF,
                 env={"OCOP_NO_INDEX": "1"})
    assert said.exit_code == plain.exit_code == 0, said.stderr
    assert said.stdout == plain.stdout
    assert "5" in said.stdout.splitlines()[0]  # 3 recorded before, then 2 more
    assert ocop("import", "progress", str(sheet), "--as-of", AS_OF).exit_code == 0
    listing = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    assert listing.stdout == ocop("tasks", "--format", "json", "--as-of", AS_OF,
                                  env={"OCOP_NO_INDEX": "1"}).stdout


def varied(ws: Path, ocop: Any) -> None:
    """Entries of shared and plain tasks at several places and dates; an undo recorded under
    another task than the entry it takes out (in the same office's file: an undo counts only
    there); an entry of another plan; a product counted by task 8 from the register, sent
    inside the third quarter."""
    record(ws, entry(1, "1.2", 2), entry(2, "5.2", 3, day=5), entry(4, "6", 1, day=20),
           entry(3, "1.2", 1, day=3)._replace(place="kinh-mon", note="hội nghị"),
           undo(5, 2, "5.1"))
    record(ws, entry(6, "1.2")._replace(plan=2020),
           entry(7, "5.2", 2, day=9)._replace(date=dt.date(2019, 8, 9)), who="Phòng NN Gia Lộc")
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
    """Reading every entry from the index at once, as a load without it does, fails."""
    monkeypatch.setattr(served.Served, "entries", lambda self: pytest.fail("every entry read"))


@pytest.mark.parametrize("args", [
    ["show", "5", "--format", "json"], ["show", "5.2"], ["show", "1.2", "--format", "json"],
    ["show", "8", "--format", "json"], ["history", "--format", "json"], ["history"],
    ["history", "--format", "csv"], ["history", "5", "--format", "json"],
    ["info", "--format", "json"], ["undo"],
    ["report", "--period", "2019-Q3", "--format", "json"],
    ["report", "--period", "2019-07", "--agency", "Gia Lộc", "--format", "json"],
    ["report", "--month", "8", "--agency", "Kinh Môn"],
    ["report", "--format", "json"], ["report"],
], ids=" ".join)
def test_commands_say_through_the_index_what_the_files_say(ws, ocop, monkeypatch, args):
    """Without reading every entry at once: a task's own, a count, or every entry read in
    order from the index as it is written."""
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


def test_an_error_in_a_file_is_said_alike_with_or_without_the_index(ws, ocop):
    """A broken line, an entry at a place the agencies lack, a broken plan: the same error,
    the index made or not, and nothing of the broken files kept."""
    ocop("tasks", "--as-of", AS_OF)
    path = record(ws, entry(1))
    add_line(path, '- {"id": "x", "at": "2019-07-02T08:00:00+00:00", "date": "2019-07-02", '
                   '"task": "5.2", "action": "explode", "by": "Tester"}\n')
    record(ws, entry(2)._replace(place="nowhere"), who="Phòng NN Gia Lộc")
    for _ in range(2):
        through_index = ocop("tasks", "--as-of", AS_OF)
        plain = ocop("tasks", "--as-of", AS_OF, env={"OCOP_NO_INDEX": "1"})
        assert through_index.exit_code == plain.exit_code == EXIT_INVALID
        assert through_index.stderr == plain.stderr
        assert "tester.yaml:5: task 5.2, action" in plain.stderr and "nowhere" in plain.stderr
    path.write_text(path.read_text(encoding="utf-8").replace("explode", "progress"),
                    encoding="utf-8")
    plan = workspace(ws).plan_path()
    plan.write_text(plan.read_text(encoding="utf-8").replace("window: T7-9", "window: T9-7"),
                    encoding="utf-8")
    broken = ocop("tasks", "--as-of", AS_OF)
    assert broken.exit_code == EXIT_INVALID and "backwards" in broken.stderr
    assert broken.stderr == ocop("tasks", "--as-of", AS_OF, env={"OCOP_NO_INDEX": "1"}).stderr


def test_a_mistake_in_the_index_is_not_taken_for_damage(ws, monkeypatch):
    """Only the database's errors (and the system's) make the index give way to the files:
    anything else is a bug, and shows as one."""
    record(ws, entry(1))
    indexed(ws)

    def mistaken(*args: Any) -> Any:
        raise TypeError("a mistake")

    monkeypatch.setattr(served.Served, "check_places", mistaken)
    with pytest.raises(TypeError):
        indexed(ws)


# --- a cache of the files' data --------------------------------------------------------------


def test_the_index_holds_data_not_output(ws, ocop):
    """Plain data only: texts, numbers and JSON; no listing, nothing pickled."""
    varied(ws, ocop)
    assert ocop("tasks", "--format", "json", "--as-of", AS_OF).exit_code == 0
    assert ocop("tasks", "--month", "7", "--as-of", "2019-07-20").exit_code == 0
    with closing(sqlite3.connect(index_file(ws))) as db:
        tables = [name for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert set(tables) == {"meta", "sources", "files", "entries", "states", "on_day",
                               "days"}
        for table in tables:
            columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
            for column in columns:
                kinds = {kind for (kind,) in db.execute(
                    f'SELECT DISTINCT typeof("{column}") FROM {table}')}
                assert kinds <= {"text", "integer", "null"}, (table, column)
        for (value,) in db.execute("SELECT value FROM sources"):
            json.loads(value)
        assert not any("Hội nghị cấp huyện" in str(row) for row in db.execute(
            "SELECT * FROM states UNION ALL SELECT * FROM on_day"))


@pytest.mark.parametrize("damage", ["garbage", "empty", "header only", "half", "flipped bytes",
                                    "a value not JSON", "a value of another shape"])
def test_a_damaged_index_is_made_again(ws, ocop, damage):
    record(ws, entry(1))
    good = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    path = index_file(ws)
    sql(ws, ("PRAGMA wal_checkpoint(TRUNCATE)", ()))  # everything in the database file itself
    if damage.startswith("a value"):
        value = "{not json" if damage == "a value not JSON" else '[1, 2, "x"]'
        sql(ws, ("UPDATE sources SET value = ?", (value,)))
    else:
        data = path.read_bytes()
        middle = len(data) // 2
        path.write_bytes({
            "garbage": os.urandom(len(data)),
            "empty": b"",
            "header only": data[:100],
            "half": data[:middle],
            "flipped bytes": data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 4096])
            + data[middle + 4096:],
        }[damage])
    again = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    assert again.exit_code == 0, again.stderr
    assert again.stdout == good.stdout
    assert facts(indexed(ws)) == truth(ws)


def test_an_index_of_another_version_is_made_again(ws):
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


@pytest.mark.parametrize("how", ["a read-only workspace", "a read-only .ocop"])
def test_where_the_workspace_cannot_be_written_the_index_is_in_the_users_cache(
        ws, ocop, isolated, monkeypatch, how):
    """A workspace on a read-only share: its index is the user's, keyed by where the
    workspace is, and reads what the files say."""
    record(ws, entry(1))
    if how == "a read-only .ocop":
        (ws / ".ocop").mkdir(exist_ok=True)
    real = database.writable
    monkeypatch.setattr(database, "writable", lambda folder: False if folder.parent == ws
                        else real(folder))  # as on a share mounted read-only, even for root
    if how == "a read-only workspace":
        def read_only(ws: Any) -> Path:
            raise PermissionError("read-only: .ocop cannot be made")

        monkeypatch.setattr(database, "state_folder", read_only)
    for _ in range(2):
        first = ocop("tasks", "--format", "json", "--as-of", AS_OF)
        assert first.exit_code == 0, first.stderr
        plain = ocop("tasks", "--format", "json", "--as-of", AS_OF, env={"OCOP_NO_INDEX": "1"})
        assert first.stdout == plain.stdout
    (kept,) = (isolated / ".cache" / "ocop" / "index").glob("*.sqlite")
    assert index_file(ws) == kept
    assert not (ws / ".ocop" / "index.sqlite").exists()


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


# --- reused where the files are as read ------------------------------------------------------


def test_an_unchanged_workspace_is_not_read_again(ws, monkeypatch):
    record(ws, entry(1))
    age(ws)
    expected = facts(indexed(ws))
    no_reading(monkeypatch)
    assert facts(indexed(ws)) == expected


def _without_ctime(path: Path) -> database.Stat | None:
    found = os.stat(path) if path.exists() else None
    if found is None:
        return None
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, 0)


def test_a_same_size_edit_within_the_same_timestamp_is_seen(ws, monkeypatch):
    """The worst case for an index keyed by file times: the plan edited right after it was
    read, same size, and every timestamp the same (ctime too, as on file systems that keep
    coarse times). Only the content tells."""
    monkeypatch.setattr(update, "stat_of", _without_ctime)
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


def test_a_history_line_edited_within_the_same_timestamp_is_seen(ws, monkeypatch):
    monkeypatch.setattr(update, "stat_of", _without_ctime)
    path = record(ws, entry(1), entry(2))
    indexed(ws)
    stamp = os.stat(path).st_mtime_ns
    path.write_text(path.read_text(encoding="utf-8").replace('"qty": 1', '"qty": 7', 1),
                    encoding="utf-8")
    os.utime(path, ns=(stamp, stamp))
    assert [e.qty for e in indexed(ws).entries] == [7, 1]


def test_an_old_file_edited_is_seen_by_its_times(ws):
    age(ws)
    indexed(ws)
    plan = workspace(ws).plan_path()
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("unit: Cuốn", "unit: Cuộn"), encoding="utf-8")
    assert indexed(ws).plan.task("4").unit == "Cuộn"


def test_a_file_checked_by_content_once_is_then_known_by_its_times(ws, monkeypatch):
    """Files changed just before they were indexed are checked by content; once they are
    old enough, the index records that, and later runs do not read them again."""
    monkeypatch.setattr(update, "RACY_NS", 300_000_000)  # 0.3 s instead of 3 s
    record(ws, entry(1), entry(2, "6"))
    expected = facts(indexed(ws))  # every file changed moments ago
    time.sleep(0.4)
    read: list[str] = []
    real = yamlio.read_bytes

    def counted(path: Path, *args: Any) -> bytes:
        read.append(path.name)
        return real(path, *args)

    patch_everywhere(monkeypatch, yamlio, "read_bytes", counted)
    assert facts(indexed(ws)) == expected
    assert set(read) == {"agencies.yaml", "plan_2019.yaml", "tester.yaml"}
    read.clear()
    for _ in range(2):
        assert facts(indexed(ws)) == expected
    assert read == []


def test_an_agencies_edit_is_checked_against_the_unchanged_plan(ws, ocop):
    assert ocop("tasks", "--format", "json").exit_code == 0
    agencies = ws / "agencies.yaml"
    text = agencies.read_text(encoding="utf-8")
    agencies.write_text(text.replace("short: Sở NN và PTNT", "short: Sở NN và PTNT mới"),
                        encoding="utf-8")
    broken = ocop("tasks", "--format", "json")
    assert broken.exit_code == EXIT_INVALID
    assert "Sở NN và PTNT" in broken.stderr


def test_a_grown_history_is_read_from_where_it_was_read_to(ws, monkeypatch):
    path = record(ws, *(entry(n) for n in range(1, 6)))
    indexed(ws)
    record(ws, entry(6, "5.2", 4), entry(7, "6", 2))
    found = reads(monkeypatch)
    loaded = indexed(ws)
    assert found == [(path.name, 9, 2)]  # 3 header lines, 5 entries, then the new lines only
    assert loaded.entries[-1].source == f"{path.name}:10"
    assert facts(loaded) == truth(ws)


def test_a_pulled_file_with_lines_added_at_its_end_is_read_from_where_it_was_read_to(
        ws, monkeypatch):
    """A pull that only added lines at the end of a file (a new inode, the bytes read before
    unchanged) reads the new lines alone."""
    path = record(ws, *(entry(n) for n in range(1, 6)))
    indexed(ws)
    copy = path.with_name("copy.tmp")
    copy.write_bytes(path.read_bytes())
    os.replace(copy, path)
    record(ws, entry(6, "5.2", 4))
    found = reads(monkeypatch)
    loaded = indexed(ws)
    assert found == [(path.name, 9, 1)]
    assert facts(loaded) == truth(ws)


def test_a_pulled_file_changed_inside_is_read_whole(ws, monkeypatch):
    """Lines inserted, one changed: the file is read again, as without the index."""
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
    found = reads(monkeypatch)
    loaded = indexed(ws)
    assert found == [(path.name, 1, 7)]
    assert [e.qty for e in loaded.entries if e.task == "1.2"] == [1, 1, 3, 1, 1]
    assert facts(loaded) == truth(ws)


def test_a_new_office_file_is_read_alone(ws, monkeypatch):
    """The first recording of an office: its new file is read, not the others, and its
    entries take the place of its file among the others."""
    record(ws, *(entry(n, "5.2") for n in range(1, 4)), who="Tester")
    indexed(ws)
    record(ws, entry(4, "5.2"), entry(5, "6"), who="Phòng NN Gia Lộc")  # sorts before tester
    found = reads(monkeypatch)
    loaded = indexed(ws)
    about = indexed(ws).entries_about("5")
    assert found == [("phong-nn-gia-loc.yaml", 1, 2)]
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
    # A copy of an entry of tester.yaml, in a file that comes before it: the copy counts.
    record(ws, entry(2, "6")._replace(qty=5), who="Phòng NN Gia Lộc")
    loaded = indexed(ws)
    assert [e.qty for e in loaded.entries if e.task == "6"] == [5]
    assert facts(loaded) == truth(ws)


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


def test_the_entries_about_a_task_are_those_of_the_whole_history(ws):
    tasks = ["1.1", "1.2", "2", "5.1", "5.2", "6", "10", "11"]
    record(ws, *(entry(n, tasks[n % len(tasks)]) for n in range(1, 40)))
    record(ws, *(entry(n, tasks[n % 3]) for n in range(30, 60)), who="Phòng NN Gia Lộc")
    indexed(ws)
    record(ws, *(entry(n, tasks[n % 5]) for n in range(60, 70)))
    whole = truth(ws)[2]
    for task in ["1", "1.1", "1.2", "2", "5", "5.2", "6", "10", "11", "3"]:
        about = indexed(ws).entries_about(task)
        assert about == [e for e in whole if e.task == task or e.task.startswith(task + ".")]


def test_a_history_edited_in_place_then_appended_to_is_read_again(ws):
    """An edit inside the indexed part, then a whole new line: the new line alone would
    parse, but the indexed entries are no longer what the file says."""
    path = record(ws, entry(1), entry(2), entry(3))
    indexed(ws)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4].replace('"qty": 1', '"qty": 7')  # same size, same file
    with path.open("r+", encoding="utf-8") as handle:
        handle.write("".join(lines))
    record(ws, entry(4))
    loaded = indexed(ws)
    assert [e.qty for e in loaded.entries] == [1, 7, 1, 1]
    assert facts(loaded) == truth(ws)


def test_a_line_written_by_hand_is_read_as_the_files_say(ws):
    path = record(ws, entry(1))
    indexed(ws)
    add_line(path, '- {"task": "5.2", "id": "hand1", "at": "2019-07-02 08:00:00Z", '
                   '"date": "2019-07-02", "by": " Tester ", "action": "progress", "qty": 2}\n')
    loaded = indexed(ws)
    assert [(e.id, e.at, e.by) for e in loaded.entries][1] == (
        "hand1", "2019-07-02T08:00:00+00:00", "Tester")
    assert facts(loaded) == truth(ws)


def test_a_half_written_line_then_an_append(ws):
    path = record(ws, entry(1))
    add_line(path, '- {"id": "torn", "at": "2019-07-02T0')
    first = indexed(ws)
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


# --- the states kept -------------------------------------------------------------------------


def test_an_append_replays_the_states_of_its_tasks_only(ws, monkeypatch):
    without_products(ws)
    record(ws, entry(1), entry(2, "6"))
    as_of = dt.date(2019, 9, 15)
    indexed(ws).states(as_of)
    calls = replays(monkeypatch)
    record(ws, entry(3, "5.2", 4))
    states = indexed(ws).states(as_of)
    assert calls == [["5.2"]]
    assert listed(states) == from_files(ws, as_of)
    calls.clear()
    indexed(ws).states(dt.date(2019, 10, 1))  # a new day after every entry: nothing replayed
    assert calls == []


def test_an_undo_replays_the_task_of_the_entry_it_takes_out(ws, monkeypatch):
    without_products(ws)
    record(ws, entry(1, "5.2", 3), entry(2, "6"))
    as_of = dt.date(2019, 9, 15)
    indexed(ws).states(as_of)
    calls = replays(monkeypatch)
    record(ws, undo(3, 1, "6"))
    states = indexed(ws).states(as_of)
    assert sorted(t for call in calls for t in call) == ["5.2", "6"]
    assert states["5.2"].achieved == 0
    assert listed(states) == from_files(ws, as_of)


def test_only_tasks_with_entries_after_the_as_of_date_are_replayed(ws, monkeypatch):
    without_products(ws)
    record(ws, entry(1, "1.2", day=1), entry(2, "6", day=20), entry(3, "5.2", day=10))
    indexed(ws).states(dt.date(2019, 9, 1))
    calls = replays(monkeypatch)
    for day, replayed in [(1, ["5.2", "6"]), (10, ["6"]), (25, [])]:
        as_of = dt.date(2019, 7, day)
        calls.clear()
        states = indexed(ws).states(as_of)
        assert [t for c in calls for t in c] == replayed
        assert listed(states) == from_files(ws, as_of)
        calls.clear()
        indexed(ws).states(as_of)  # the day's states kept
        assert calls == []


@pytest.mark.parametrize("change", ["plan edited", "entry appended", "office added"])
def test_the_states_computed_after_a_change_serve_the_next_run(ws, ocop, monkeypatch, change):
    without_products(ws)
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


def test_states_kept_from_older_entries_are_never_taken(ws, ocop):
    """Listed as of one day, then a task's entries changed: the states kept for that day
    before the change are not what the next listing of that day shows."""
    without_products(ws)
    record(ws, entry(1, "1.2", day=2), entry(2, "10", 3, day=20), entry(3, "6", day=25))
    as_of = dt.date(2019, 7, 15)
    assert ocop("tasks", "--format", "json", "--as-of", as_of.isoformat()).exit_code == 0
    assert ocop("tasks", "--format", "json", "--as-of", "2020-01-01").exit_code == 0
    record(ws, entry(4, "10", 2, day=5))
    assert indexed(ws).states(as_of)["10"].achieved == 2
    assert listed(indexed(ws).states(as_of)) == from_files(ws, as_of)


def test_show_replays_only_the_task_and_its_sub_rows(ws, ocop, monkeypatch):
    varied(ws, ocop)
    ocop("tasks", "--as-of", AS_OF)
    calls: list[list[str]] = []
    real = state.replay

    def counted(plan: Any, entries: Any, as_of: Any, tasks: Any) -> Any:
        tasks = list(tasks)
        calls.append([t.id for t in tasks])
        return real(plan, entries, as_of, tasks)

    patch_everywhere(monkeypatch, state, "replay", counted)
    shown = ocop("show", "5", "--format", "json", "--as-of", AS_OF).json()
    assert calls == [["5", "5.1", "5.2"]]
    assert shown["achieved"] == 2  # 3 undone from task 5.1, then 2 more


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
    st.tuples(st.just("torn"), st.sampled_from(OFFICES), st.just(0)),
    st.tuples(st.just("plan"), st.sampled_from(OFFICES), st.sampled_from(["3", "20"])),
)
# Before, between and after the entries (all in July), and in the windows' months.
AS_OF_DATES = [dt.date(2019, 6, 30), dt.date(2019, 7, 10), dt.date(2019, 7, 20),
               dt.date(2019, 8, 1), dt.date(2020, 1, 1)]
LISTINGS = [Filters(month=7), Filters(month=7, agency="so-nn-ptnt"), Filters(overdue=True),
            Filters(statuses=("in_progress",), place="gia-loc")]


def _answers(root: Path, task: str) -> tuple[Any, ...]:
    """What the library answers a command: the plan, agencies and entries, the entries about
    `task`, the states of every task and of listings on each as-of date; or the error."""
    ws = workspace(root)
    try:
        about = loading.load(ws).entries_about(task)
        answers = []
        for as_of in AS_OF_DATES:
            for filters in LISTINGS:
                loaded = loading.load(ws)
                states, chosen = views.listed_states(loaded, filters, as_of)
                answers.append((listed(states), chosen))
            answers.append(listed(loading.load(ws).states(as_of)))
        loaded = loading.load(ws)
        return (*facts(loaded), about, answers, loaded.entries_of(TASKS))
    except InvalidData as error:
        return ("invalid", [str(p) for p in error.problems])


def _pull(path: Path, detail: int) -> None:
    """The file replaced by another with one line moved to the end and another changed, as a
    merge over git may leave it (a new inode); or, for an odd `detail`, with a line more."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    entries = [i for i, line in enumerate(lines) if line.startswith("- {")]
    if detail % 2:
        lines.append(lines[entries[0]].replace('"qty": 1', '"qty": 4').replace(
            '{"id": "', '{"id": "p') if entries else "")
    elif entries:
        at = entries[detail % len(entries)]
        lines.append(lines.pop(at))
        last = entries[(detail * 7) % len(entries)]
        lines[last] = lines[last].replace('"qty": 1', '"qty": 5')
    pulled = path.with_name("pulled.tmp")
    pulled.write_text("".join(lines), encoding="utf-8")
    os.replace(pulled, path)


@given(st.lists(CHANGES, min_size=1, max_size=8), st.sampled_from(["1", "5", "5.2", "6"]),
       st.booleans())
@settings(max_examples=25, deadline=None)
def test_any_sequence_of_changes_reads_as_without_index(tmp_path_factory, changes, task,
                                                         products):
    """Appends, new offices, copied lines, another plan's entries, lines written by hand,
    edits in place, undos, pulls, lines cut short, plan edits and deleted files, in any
    order: after each, what the library answers through the index (brought up to date,
    its states kept from the runs before) is what it answers reading the files; at the end,
    `check` finds no difference between the index and the files."""
    root = storage.init_workspace(tmp_path_factory.mktemp("ws") / "ws").root
    if not products:
        without_products(root)
    count = 0
    for kind, office, detail in changes:
        path = write.recorder_file(workspace(root), office)
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True) \
            if path.exists() else []
        entries = [i for i, line in enumerate(lines)
                   if line.startswith("- {") and line.rstrip().endswith("}")]  # not torn
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
            add_line(path, f'- {{"task": "{detail}", "id": "h{count}", "at": "2019-07-02 '
                           f'08:00:00Z", "date": "2019-07-02", "action": "note", "by": "X", '
                           '"note": "tay"}\n')
        elif kind == "edit" and entries:
            at = entries[detail % len(entries)]
            lines[at] = lines[at].replace('"qty": 1', '"qty": 2')
            with path.open("r+", encoding="utf-8") as handle:  # same size, same file
                handle.write("".join(lines))
        elif kind == "undo" and entries:
            undone = json.loads(lines[entries[detail % len(entries)]][2:])
            count += 1
            record(root, undo(count, 0, TASKS[detail % len(TASKS)])._replace(
                undoes=undone["id"]), who=office)
        elif kind == "delete" and path.exists():
            path.unlink()
        elif kind == "pull" and path.exists():
            _pull(path, detail)
        elif kind == "torn" and path.exists():
            add_line(path, '- {"id": "torn", "at": "2019-07-0')
        elif kind == "plan":
            plan = workspace(root).plan_path()
            text = plan.read_text(encoding="utf-8")
            plan.write_text(text.replace('target: "12"', f'target: "{detail}"', 1)
                            if 'target: "12"' in text
                            else text.replace('target: "5"', 'target: "12"', 1),
                            encoding="utf-8")
        through_index = _answers(root, task)
        os.environ["OCOP_NO_INDEX"] = "1"
        try:
            assert through_index == _answers(root, task), (kind, office, detail)
        finally:
            del os.environ["OCOP_NO_INDEX"]
    # `check` finds nothing to say of an index that served all that: it kept nothing else
    assert audit.differences(workspace(root)) == [], changes


# --- at once, and in little memory -----------------------------------------------------------


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
    assert loaded.states(dt.date.fromisoformat(AS_OF))["1.2"].achieved == 4


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


# --- an index is read only by whoever made it, for the files it was made from ---------------


def attacked(root: Path) -> None:
    """Task 4 started and 1.2 one conference done, as the files say them."""
    record(root, entry(1), entry(2, "4")._replace(action="start", qty=None, place=None))


def forge(root: Path) -> None:
    """The index edited as in the attack: task 4 start → done, 1.2's quantity 1 → 12, the
    states it keeps emptied (so that they are computed from the forged entries)."""
    sql(root, ("UPDATE entries SET action = 'done' WHERE task = '4'", ()),
        ("UPDATE entries SET qty = 12 WHERE task = '1.2'", ()),
        ("DELETE FROM states", ()), ("DELETE FROM on_day", ()), ("DELETE FROM days", ()))


def shown(ocop: Any, root: Path, **env: str) -> dict[str, tuple[str, int]]:
    listing = ocop("tasks", "--format", "json", "--as-of", AS_OF, "--data", str(root), env=env)
    assert listing.exit_code == 0, listing.stderr
    return {t["id"]: (t["status"], t["achieved"]) for t in listing.json()}


def forged_index_of(root: Path, cache: Path, ocop: Any) -> Path:
    """The forged index of a copy of the workspace at `root`, made by another user or
    machine (another cache folder, so another key)."""
    other = root.parent / "mallory"
    shutil.copytree(root, other, ignore=shutil.ignore_patterns(".ocop"))
    shown(ocop, other, XDG_CACHE_HOME=str(cache))
    forge(other)
    sql(other, ("PRAGMA wal_checkpoint(TRUNCATE)", ()))  # all of it in the one file
    assert shown(ocop, other, XDG_CACHE_HOME=str(cache))["1.2"][1] == 12  # read by its maker
    return index_file(other)


@pytest.mark.parametrize("made_by", ["another machine", "this user, in another clone"])
def test_an_index_copied_from_elsewhere_is_never_read(ws, ocop, tmp_path, made_by):
    attacked(ws)
    truth_shown = shown(ocop, ws, OCOP_NO_INDEX="1")
    assert truth_shown["4"] == ("in_progress", 0) and truth_shown["1.2"][1] == 1
    cache = tmp_path / ("elsewhere" if made_by == "another machine" else "home-cache")
    if made_by != "another machine":
        cache = Path(os.environ["XDG_CACHE_HOME"])
    forged = forged_index_of(ws, cache, ocop)
    (ws / ".ocop").mkdir(exist_ok=True)
    shutil.copyfile(forged, ws / ".ocop" / "index.sqlite")
    assert shown(ocop, ws) == truth_shown
    assert facts(indexed(ws)) == truth(ws)
    assert ocop("check").exit_code == 0  # the index made here since: nothing to say


def test_check_names_an_index_made_elsewhere_and_removes_it(ws, ocop, tmp_path):
    attacked(ws)
    forged = forged_index_of(ws, tmp_path / "elsewhere", ocop)
    (ws / ".ocop").mkdir(exist_ok=True)
    shutil.copyfile(forged, ws / ".ocop" / "index.sqlite")
    checked = ocop("check")
    assert checked.exit_code == 0, checked.stderr  # a warning: it is never read
    assert "index.sqlite: was not made by this user for this workspace" in checked.stderr
    assert not (ws / ".ocop" / "index.sqlite").exists()


def test_an_index_of_this_workspace_made_by_another_user_is_made_again(ws, ocop, tmp_path):
    attacked(ws)
    truth_shown = shown(ocop, ws, OCOP_NO_INDEX="1")
    shown(ocop, ws, XDG_CACHE_HOME=str(tmp_path / "other-user"))
    forge(ws)
    assert shown(ocop, ws) == truth_shown  # this user's key: another seal


@pytest.mark.parametrize("edit", ["entries, states emptied", "a state kept",
                                  "an entry taken out"])
def test_check_reports_an_index_edited_in_place(ws, ocop, edit):
    """This user's own index, edited with sqlite3: check finds what differs from the files,
    names it, and removes the index; the next command shows the files again."""
    attacked(ws)
    truth_shown = shown(ocop, ws, OCOP_NO_INDEX="1")
    shown(ocop, ws)  # the states kept
    if edit == "a state kept":
        sql(ws, ("UPDATE states SET status = 'done' WHERE task = '4'", ()))
    elif edit == "an entry taken out":
        sql(ws, ("DELETE FROM entries WHERE task = '1.2'", ()), ("DELETE FROM states", ()))
    else:
        forge(ws)
    if edit != "an entry taken out":
        assert shown(ocop, ws)["4"][0] == "done"  # read as this user's own
    else:
        assert shown(ocop, ws)["1.2"][1] == 0
    checked = ocop("check")
    assert checked.exit_code == EXIT_INVALID
    assert "index.sqlite: differs from the files" in checked.stderr
    if edit == "a state kept":
        assert "index.sqlite: task 4: keeps a state of this task" in checked.stderr
    elif edit == "an entry taken out":
        assert "tester.yaml:4: the index holds another entry" in checked.stderr
        assert "tester.yaml:5" not in checked.stderr
    else:
        assert "tester.yaml:4: the index holds another entry" in checked.stderr
        assert "tester.yaml:5: the index holds another entry" in checked.stderr
    assert shown(ocop, ws) == truth_shown
    assert ocop("check").exit_code == 0


def test_check_finds_nothing_in_an_index_that_matches_the_files(ws, ocop):
    varied(ws, ocop)
    for as_of in ("2019-06-30", "2019-07-20", AS_OF, "2020-01-01"):
        ocop("tasks", "--as-of", as_of)  # states kept for several days
    before = index_file(ws).stat().st_ino
    checked = ocop("check")
    assert checked.exit_code == 0, checked.stderr
    assert index_file(ws).stat().st_ino == before


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.usefixtures("git_alone")
def test_a_forged_index_pushed_with_git_counts_nowhere(tmp_path, ocop):
    """Issue 24.3 with git alone: an office forges its index, `git add -f`s it and pushes; an
    office that pulls it and a fresh clone list what the files say, and `check` names it."""
    from tests.test_team import Team, git

    team = Team(tmp_path / "team")
    office = team.clone("tu-ky")
    attacked(office)
    git(office, "add", "history")
    git(office, "commit", "--quiet", "-m", "progress")
    git(office, "push", "--quiet")
    other = team.clone("gia-loc")
    truth_shown = shown(ocop, other, OCOP_NO_INDEX="1")
    assert shown(ocop, other) == truth_shown  # an index of its own, made before the pull
    shown(ocop, office, XDG_CACHE_HOME=str(tmp_path / "tu-ky-cache"))
    forge(office)
    sql(office, ("PRAGMA wal_checkpoint(TRUNCATE)", ()))
    git(office, "add", "-f", ".ocop/index.sqlite")
    git(office, "commit", "--quiet", "-m", "index")
    git(office, "push", "--quiet")
    git(other, "pull", "--quiet")
    assert shown(ocop, other) == truth_shown
    fresh = team.clone("fresh")
    assert (fresh / ".ocop" / "index.sqlite").is_file()
    checked = ocop("check", "--data", str(fresh))
    assert "was not made by this user for this workspace" in checked.stderr
    assert shown(ocop, fresh) == truth_shown


def test_a_plan_read_now_and_the_plan_kept_in_the_index_are_the_same(ws, monkeypatch):
    age(ws)  # known by its times once read: the second load reads no file
    files = storage.load(workspace(ws)).plan
    first = indexed(ws).plan  # read from plan_2019.yaml by this run
    no_reading(monkeypatch)
    kept = indexed(ws).plan  # made again from what the index keeps
    assert first == kept == files
    assert [tuple(t) for t in first.tasks] == [tuple(t) for t in kept.tasks]
    assert first.facts == kept.facts


def test_the_key_is_the_users_own_and_outside_every_workspace(ws, ocop, isolated):
    attacked(ws)
    truth_shown = shown(ocop, ws, OCOP_NO_INDEX="1")
    assert shown(ocop, ws) == truth_shown
    key = isolated / ".cache" / "ocop" / "index.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert len(key.read_bytes()) == 32
    assert not [p for p in ws.rglob("*") if "key" in p.name]
    forge(ws)
    key.write_bytes(b"not a key" * 1000)  # damaged: made again, and so is the index
    assert shown(ocop, ws) == truth_shown
    assert len(key.read_bytes()) == 32
    forge(ws)
    key.unlink()  # gone: another key, every index made again
    assert shown(ocop, ws) == truth_shown
    assert len(key.read_bytes()) == 32


@pytest.mark.parametrize("filters", [["--overdue"], ["--month", "7"], ["--place", "Gia Lộc"]])
def test_states_replayed_a_part_at_a_time_are_those_of_the_files(ws, ocop, monkeypatch,
                                                                  filters):
    varied(ws, ocop)
    ocop("tasks", "--as-of", "2019-06-30")  # made: later listings replay from the index
    monkeypatch.setattr(served, "CHUNK", 3)
    calls = replays(monkeypatch)
    for as_of in ("2019-07-06", "2019-07-20"):
        args = ("tasks", *filters, "--as-of", as_of, "--format", "json")
        through_index = ocop(*args)
        assert through_index.exit_code == 0, through_index.stderr
        assert through_index.stdout == ocop(*args, env={"OCOP_NO_INDEX": "1"}).stdout
    assert len(calls) >= 2 and max(len(c) for c in calls) <= 3  # a part at a time
    assert from_files(ws, dt.date(2019, 8, 1)) == listed(indexed(ws).states(
        dt.date(2019, 8, 1)))


@pytest.mark.parametrize("limit", ["HELD_MAX", "HELD_MAX_BYTES"])
def test_a_new_index_of_many_entries_holds_none_and_says_what_the_files_say(ws, ocop,
                                                                            monkeypatch, limit):
    """Past HELD_MAX entries (or with a history of more than HELD_MAX_BYTES) a new index
    lets them go and counts the copies of an id in SQLite: the first in file order counts,
    as when it holds them."""
    varied(ws, ocop)
    copied = record(ws, entry(1, "1.2", 7), entry(9, "5.2", 1), who="Another office")
    add_line(copied, (ws / "history" / "tester.yaml").read_text(encoding="utf-8")
             .splitlines(keepends=True)[-1])  # a copy of an entry of a file read before
    index_file(ws).unlink()
    monkeypatch.setattr(update, limit, 2 if limit == "HELD_MAX" else 2000)
    loaded = indexed(ws)
    assert loaded.history.held is None
    assert facts(loaded) == truth(ws)
    for as_of in (dt.date(2019, 7, 4), dt.date(2019, 9, 15)):
        assert listed(loaded.states(as_of)) == from_files(ws, as_of)
    with closing(sqlite3.connect(index_file(ws))) as db:
        assert db.execute("SELECT value FROM meta WHERE key='indexed'").fetchone() == ("1",)
    assert ocop("check").exit_code == 0


def test_an_index_deleted_by_hand_without_its_log_is_made_from_the_files(ws, ocop):
    """`.ocop/index.sqlite` removed alone, its write-ahead log left beside it: the new index
    replays none of the old log's pages (they held rows of files changed since)."""
    varied(ws, ocop)
    record(ws, entry(1, "1.2", 7), entry(9, "5.2", 1), who="Another office")
    index_file(ws).unlink()
    assert index_file(ws).with_name(index_file(ws).name + "-wal").exists()
    assert facts(indexed(ws)) == truth(ws)
