"""The load cache is an optimisation only: whatever happens to it or to the files, ocop shows
what the files say. Each test compares with a load that bypasses the cache."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocop_cli import cache, storage
from ocop_cli.errors import EXIT_INVALID, InvalidData
from ocop_cli.model import Entry

AS_OF = "2019-09-15"


def workspace(root: Path) -> storage.Workspace:
    return storage.Workspace(root.resolve())


def facts(loaded: storage.Loaded) -> tuple[Any, ...]:
    """Everything a command can see of a load."""
    return (loaded.plan, loaded.directory.agencies, loaded.entries, loaded.problems)


def truth(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    with monkeypatch.context() as patch:
        patch.setenv("OCOP_NO_CACHE", "1")
        return facts(storage.load(workspace(root)))


def cache_file(root: Path) -> Path:
    ws = workspace(root)
    return cache.cache_path(ws, ws.plan_path())


def entry(n: int, task: str = "1.2", qty: int = 1) -> Entry:
    return Entry(id=f"{n:020x}", at=f"2019-07-01T08:00:{n % 60:02d}.000000+00:00",
                 date=dt.date(2019, 7, 1), task=task, action="progress", by="Tester", qty=qty,
                 place="gia-loc")


def record(root: Path, *entries: Entry, who: str = "Tester") -> Path:
    ws = workspace(root)
    path = storage.recorder_file(ws, who)
    storage.append(path, list(entries))
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


def test_a_warm_cache_serves_what_the_files_say(ws, ocop, monkeypatch):
    record(ws, entry(1), entry(2, "5.2", 3))
    first = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    assert cache_file(ws).is_file()
    second = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    uncached = ocop("tasks", "--format", "json", "--as-of", AS_OF, env={"OCOP_NO_CACHE": "1"})
    assert first.exit_code == second.exit_code == uncached.exit_code == 0
    assert first.stdout == second.stdout == uncached.stdout
    assert {t["id"]: t["achieved"] for t in second.json()}["5.2"] == 3


def test_an_unchanged_workspace_is_not_parsed_again(ws, monkeypatch):
    record(ws, entry(1))
    age(ws)
    expected = facts(storage.load(workspace(ws)))

    def broken(*args: Any) -> Any:
        raise AssertionError("read again")

    monkeypatch.setattr(storage, "read_plan", broken)
    monkeypatch.setattr(storage, "read_agencies", broken)
    monkeypatch.setattr(storage, "read_history_file", broken)
    assert facts(storage.load(workspace(ws))) == expected


@pytest.mark.parametrize("damage", ["garbage", "empty", "header only", "half", "last byte",
                                    "flipped byte", "pickle"])
def test_a_damaged_cache_is_a_miss(ws, ocop, monkeypatch, damage):
    record(ws, entry(1))
    good = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    path = cache_file(ws)
    data = path.read_bytes()
    broken = {
        "garbage": os.urandom(len(data)),
        "empty": b"",
        "header only": data[:30],
        "half": data[: len(data) // 2],
        "last byte": data[:-1],
        "flipped byte": data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:],
        # What the old cache held; loading it must never run code.
        "pickle": pickle.dumps(Boom(ws / "boom")),
    }[damage]
    path.write_bytes(broken)
    again = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    assert again.exit_code == 0, again.stderr
    assert again.stdout == good.stdout
    assert not (ws / "boom").exists()
    assert facts(storage.load(workspace(ws))) == truth(ws, monkeypatch)
    assert cache_file(ws).read_bytes().startswith(cache._MAGIC)  # written anew


class Boom:
    """Unpickled, it would create a file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> Any:
        return (Path.touch, (self.target,))


HEAD_KEYS = ("history", "files")


@pytest.mark.parametrize("nonsense", [
    {"agencies": [[1, 2]], "plan": "x", "problems": None},
    {"history": {"a": 1}, "e5": [5], "i3": 7},
    {"e0": [[0, 1], [True], [1, 2]], "i0": None},
    {"history": "every file", "files": "every file"},
])
def test_a_cache_of_the_wrong_shape_is_a_miss(ws, monkeypatch, nonsense):
    path_of_history = record(ws, entry(1))
    record(ws, entry(2))  # so that the next load reads the cached entries and the new one
    storage.load(workspace(ws))
    path = cache_file(ws)
    found = cache._read(path, cache._key(workspace(ws).plan_path()))
    assert found is not None
    # Valid CRCs, a matching key, nonsense inside.
    names = list(found.head["sections"])
    sections = dict(zip(names, found.sections(names), strict=True))
    head = {k: v for k, v in found.head.items() if k != "sections"}
    for key, value in nonsense.items():
        if key not in HEAD_KEYS:
            sections[key] = value
        elif value == "every file":  # a record of the wrong shape for each real file
            head[key] = {name: (1, "x") for name in head["files"]} | {str(path_of_history): 7}
        else:
            head[key] = value
    cache._write(path, head, sections.items())
    record(ws, entry(3))
    assert facts(storage.load(workspace(ws))) == truth(ws, monkeypatch)


def test_a_deleted_cache_is_made_again(ws, ocop):
    good = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    cache_file(ws).unlink()
    assert ocop("tasks", "--format", "json", "--as-of", AS_OF).stdout == good.stdout
    (ws / ".ocop").rename(ws / "elsewhere")
    assert ocop("tasks", "--format", "json", "--as-of", AS_OF).stdout == good.stdout
    assert cache_file(ws).is_file()


def test_a_same_size_edit_within_the_same_timestamp_is_seen(ws, monkeypatch):
    """The worst case for a cache keyed by file times: the plan edited right after it was
    read, same size, and every timestamp the same (ctime too, as on file systems that keep
    coarse times). Only the content tells."""
    monkeypatch.setattr(cache, "stat_of", lambda p: _without_ctime(p))
    plan = workspace(ws).plan_path()
    before = storage.load(workspace(ws))
    assert before.plan.task("4").unit == "Cuốn"
    stamp = os.stat(plan).st_mtime_ns
    text = plan.read_text(encoding="utf-8")
    edited = text.replace("unit: Cuốn", "unit: Cuộn")  # same length in UTF-8
    assert edited != text and len(edited.encode()) == len(text.encode())
    plan.write_text(edited, encoding="utf-8")
    os.utime(plan, ns=(stamp, stamp))
    found = cache._read(cache_file(ws), cache._key(plan))
    assert found is not None
    assert tuple(found.head["files"][str(plan)][0]) == cache.stat_of(plan)  # the stat cannot tell
    after = storage.load(workspace(ws))
    assert after.plan.task("4").unit == "Cuộn"
    assert facts(after) == truth(ws, monkeypatch)


def _without_ctime(path: Path) -> cache.Stat | None:
    found = os.stat(path) if path.exists() else None
    if found is None:
        return None
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, 0)


def test_an_old_file_edited_is_seen_by_its_times(ws, monkeypatch):
    age(ws)
    storage.load(workspace(ws))
    plan = workspace(ws).plan_path()
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("unit: Cuốn", "unit: Cuộn"), encoding="utf-8")
    assert storage.load(workspace(ws)).plan.task("4").unit == "Cuộn"


def test_an_agencies_edit_is_checked_against_the_unchanged_plan(ws, ocop):
    assert ocop("tasks", "--format", "json").exit_code == 0
    agencies = ws / "agencies.yaml"
    text = agencies.read_text(encoding="utf-8")
    agencies.write_text(text.replace("short: Sở NN và PTNT", "short: Sở NN và PTNT mới"),
                        encoding="utf-8")
    broken = ocop("tasks", "--format", "json")
    assert broken.exit_code == EXIT_INVALID
    assert "Sở NN và PTNT" in broken.stderr


def test_a_grown_history_is_read_from_where_the_cache_left_it(ws, monkeypatch):
    path = record(ws, *(entry(n) for n in range(1, 6)))
    storage.load(workspace(ws))
    written = cache_file(ws).read_bytes()
    record(ws, entry(6, "5.2", 4), entry(7, "6", 2))

    def whole_file(*args: Any) -> Any:
        raise AssertionError("the whole file was read again")

    for _ in range(2):  # a few lines appended: parsed on each run, and the cache left as it is
        with monkeypatch.context() as patch:
            patch.setattr(storage, "read_history_file", whole_file)
            loaded = storage.load(workspace(ws))
        assert [e.id for e in loaded.entries][-2:] == [f"{6:020x}", f"{7:020x}"]
        assert loaded.entries[-1].source == f"{path.name}:10"  # 3 header lines, then entries
        assert facts(loaded) == truth(ws, monkeypatch)
        assert cache_file(ws).read_bytes() == written
    # Past TAIL_BYTES of new lines, the cache is written again and holds them.
    monkeypatch.setattr(cache, "TAIL_BYTES", 0)
    storage.load(workspace(ws))
    assert cache_file(ws).read_bytes() != written
    with monkeypatch.context() as patch:
        for name in ("read_history_file", "read_plan", "read_agencies", "_entries"):
            patch.setattr(storage, name, whole_file)
        assert facts(storage.load(workspace(ws))) == facts(loaded)


def test_a_new_office_file_is_read_alone(ws, monkeypatch):
    """The first recording of an office: its new file is read, not the cached ones, and
    its entries take the place of its file among the others."""
    record(ws, *(entry(n, "5.2") for n in range(1, 4)), who="Tester")
    storage.load(workspace(ws))
    record(ws, entry(4, "5.2"), entry(5, "6"), who="Phòng NN Gia Lộc")  # sorts before tester

    def whole_file(*args: Any) -> Any:
        raise AssertionError("a file was read whole")

    with monkeypatch.context() as patch:
        patch.setattr(storage, "read_history_file", whole_file)
        loaded = storage.load(workspace(ws))
        about = storage.load(workspace(ws)).entries_about("5")
    assert [e.id[-1] for e in loaded.entries] == ["4", "5", "1", "2", "3"]
    assert facts(loaded) == truth(ws, monkeypatch)
    assert about == [e for e in loaded.entries if e.task == "5.2"]


def test_appended_entries_that_need_a_word_are_read_as_without_cache(ws, monkeypatch):
    """An appended line that repeats an id already read (in another office's file), or that
    belongs to another plan, is treated exactly as a load without the cache treats it."""
    record(ws, entry(1), entry(2, "6"))
    record(ws, entry(3, "5.2"), who="Phòng NN Gia Lộc")
    storage.load(workspace(ws))
    other_plan = Entry(id="y2020", at="2020-02-01T08:00:00.000000+00:00",
                       date=dt.date(2020, 2, 1), task="1.2", action="progress", by="Tester",
                       qty=9, plan=2020)
    record(ws, entry(4, "1.2"), other_plan)
    loaded = storage.load(workspace(ws))
    assert "y2020" not in [e.id for e in loaded.entries]
    assert facts(loaded) == truth(ws, monkeypatch)
    record(ws, entry(2, "6"), who="Phòng NN Gia Lộc")  # a copy of an entry of tester.yaml
    loaded = storage.load(workspace(ws))
    assert [p.message for p in loaded.problems if "appears twice" in p.message]
    assert facts(loaded) == truth(ws, monkeypatch)


def test_the_entries_about_a_task_are_those_of_the_whole_history(ws, monkeypatch):
    """A recording reads only the entries under the task's top-level task; whatever mix of
    files, copies, plans and appended lines, they are the whole history's, narrowed."""
    tasks = ["1.1", "1.2", "2", "5.1", "5.2", "6", "10", "11"]
    record(ws, *(entry(n, tasks[n % len(tasks)]) for n in range(1, 40)))
    record(ws, *(entry(n, tasks[n % 3]) for n in range(30, 60)), who="Phòng NN Gia Lộc")
    storage.load(workspace(ws))
    record(ws, *(entry(n, tasks[n % 5]) for n in range(60, 70)))
    whole = truth(ws, monkeypatch)[2]
    for task in ["1", "1.1", "1.2", "2", "5", "5.2", "6", "10", "11", "3"]:
        loaded = storage.load(workspace(ws))  # the entries not yet built
        about = loaded.entries_about(task)
        assert about == [e for e in whole if e.task == task or e.task.startswith(task + ".")]


def test_a_cache_damaged_after_its_head_was_read_still_gives_the_files(ws, monkeypatch):
    record(ws, entry(1), entry(2, "6"))
    storage.load(workspace(ws))
    loaded = storage.load(workspace(ws))  # from the cache; entries not yet built
    data = cache_file(ws).read_bytes()
    cache_file(ws).write_bytes(data[:-5] + bytes(5))
    assert loaded.entries_about("6") == [e for e in truth(ws, monkeypatch)[2] if e.task == "6"]
    assert loaded.entries == truth(ws, monkeypatch)[2]


def test_a_history_edited_in_place_then_appended_to_is_read_again(ws, monkeypatch):
    """An edit inside the cached part, then a whole new line: the new line alone would
    parse, but the cached entries are no longer what the file says."""
    path = record(ws, entry(1), entry(2), entry(3))
    storage.load(workspace(ws))
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    lines[4] = lines[4].replace('"qty": 1', '"qty": 7')  # same size, same file
    with path.open("r+", encoding="utf-8") as handle:
        handle.write("".join(lines))
    record(ws, entry(4))
    loaded = storage.load(workspace(ws))
    assert [e.qty for e in loaded.entries] == [1, 7, 1, 1]
    assert facts(loaded) == truth(ws, monkeypatch)


def cached_then_added(root: Path, line: str) -> None:
    """A history of one entry, cached, then a line added to it by hand."""
    path = record(root, entry(1))
    storage.load(workspace(root))
    add_line(path, line)


def test_a_hand_written_line_appended_is_read_as_the_files_say(ws, monkeypatch):
    cached_then_added(ws, "- {id: hand1, at: '2019-07-02T08:00:00+00:00', date: 2019-07-02, "
                          "task: '5.2', action: progress, by: Tester, qty: 2}\n")
    loaded = storage.load(workspace(ws))
    assert [e.id for e in loaded.entries] == [f"{1:020x}", "hand1"]
    assert facts(loaded) == truth(ws, monkeypatch)


def test_a_bad_line_appended_is_an_error_with_or_without_cache(ws, monkeypatch):
    cached_then_added(ws, '- {"id": "x", "at": "2019-07-02T08:00:00+00:00", '
                          '"date": "2019-07-02", "task": "5.2", "action": "explode", '
                          '"by": "Tester"}\n')
    for env in ("0", "1"):
        monkeypatch.setenv("OCOP_NO_CACHE", env)
        with pytest.raises(InvalidData) as caught:
            storage.load(workspace(ws))
        assert any(p.line == 5 for p in caught.value.problems)


def test_a_half_written_line_then_an_append(ws, monkeypatch):
    path = record(ws, entry(1))
    with path.open("a", encoding="utf-8") as handle:
        handle.write('- {"id": "torn", "at": "2019-07-02T0')
    first = storage.load(workspace(ws))
    assert first.problems and first.problems[0].warning
    record(ws, entry(2))
    loaded = storage.load(workspace(ws))
    assert [e.id for e in loaded.entries] == [f"{1:020x}", f"{2:020x}"]
    assert facts(loaded) == truth(ws, monkeypatch)


def test_history_files_added_and_removed(ws, monkeypatch):
    record(ws, entry(1))
    storage.load(workspace(ws))
    other = record(ws, entry(2, "6"), who="Phòng NN Gia Lộc")
    assert facts(storage.load(workspace(ws))) == truth(ws, monkeypatch)
    other.unlink()
    loaded = storage.load(workspace(ws))
    assert [e.id for e in loaded.entries] == [f"{1:020x}"]
    assert facts(loaded) == truth(ws, monkeypatch)


def test_no_cache_where_it_cannot_be_written(ws, ocop):
    (ws / ".ocop").mkdir(exist_ok=True)
    (ws / ".ocop" / "cache").write_text("not a folder")
    first = ocop("tasks", "--format", "json")
    assert first.exit_code == 0, first.stderr
    assert ocop("tasks", "--format", "json").stdout == first.stdout


def test_the_cache_stays_out_of_the_data(ws, ocop):
    def data_files() -> dict[str, bytes]:
        return {str(p.relative_to(ws)): p.read_bytes() for p in ws.rglob("*")
                if p.is_file() and ".ocop" not in p.parts}

    ocop("progress", "1.2", "2", "--place", "Gia Lộc")
    before = data_files()
    for _ in range(2):
        ocop("tasks", "--format", "json")
    assert data_files() == before
    assert cache_file(ws).is_relative_to(ws / ".ocop")
    assert ".ocop/" in (ws / ".gitignore").read_text()
    assert not list(ws.rglob("*.tmp")) and not list(ws.rglob("*.part"))


@pytest.mark.stress
def test_readers_and_writers_at_once_never_see_half_a_cache(ws, monkeypatch):
    """Processes reading (and so writing the cache) while others record: every read is
    whole and right for some moment, and the cache left behind agrees with the files."""
    monkeypatch.setenv("OCOP_DATA", str(ws))
    monkeypatch.setenv("OCOP_AS_OF", AS_OF)
    reader = ("import json, sys\n"
              "from ocop_cli import storage\n"
              "for _ in range(6):\n"
              "    loaded = storage.load(storage.locate())\n"
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
    loaded = storage.load(workspace(ws))
    assert len(loaded.entries) == 4
    assert facts(loaded) == truth(ws, monkeypatch)


def test_a_killed_writers_leftover_is_cleared_and_a_live_ones_kept(ws, monkeypatch):
    monkeypatch.setattr(cache, "TAIL_BYTES", 0)  # any line added writes the cache again
    storage.load(workspace(ws))
    folder = cache_file(ws).parent
    old, live = folder / "plan_2019.bin.1.1.part", folder / "plan_2019.bin.2.2.part"
    for path in (old, live):
        path.write_bytes(b"half")
    then = time.time() - 7200
    os.utime(old, (then, then))
    record(ws, entry(1))  # a change, so the cache is written again
    storage.load(workspace(ws))
    assert not old.exists() and live.exists()


# --- any sequence of changes ---------------------------------------------------------------

OFFICES = ["Tester", "Phòng NN Gia Lộc", "Phòng NN Kinh Môn"]
TASKS = ["1.1", "1.2", "2", "5.1", "5.2", "6", "10", "11"]
CHANGES = st.one_of(
    st.tuples(st.just("append"), st.sampled_from(OFFICES), st.lists(
        st.sampled_from(TASKS), min_size=1, max_size=3)),
    st.tuples(st.just("copy"), st.sampled_from(OFFICES), st.integers(0, 50)),
    st.tuples(st.just("other plan"), st.sampled_from(OFFICES), st.sampled_from(TASKS)),
    st.tuples(st.just("hand"), st.sampled_from(OFFICES), st.sampled_from(TASKS)),
    st.tuples(st.just("edit"), st.sampled_from(OFFICES), st.integers(0, 50)),
    st.tuples(st.just("delete"), st.sampled_from(OFFICES), st.just(0)),
)


def _outcome(root: Path, task: str) -> tuple[Any, ...]:
    """What a command sees: the facts and the entries about `task`, or the problems."""
    try:
        about = storage.load(workspace(root)).entries_about(task)  # before any entry is built
        return (*facts(storage.load(workspace(root))), about)
    except InvalidData as error:
        return ("invalid", [str(p) for p in error.problems])


@given(st.lists(CHANGES, min_size=1, max_size=8), st.sampled_from(["1", "5", "5.2", "6"]))
@settings(max_examples=15, deadline=None)
def test_any_sequence_of_changes_reads_as_without_cache(tmp_path_factory, changes, task):
    """Appends, new offices, copied lines, another plan's entries, lines written by hand,
    edits in place and deleted files, in any order: each load through the cache (the fast
    path, the part by part one, or a miss) sees what a load without it sees."""
    root = storage.init_workspace(tmp_path_factory.mktemp("ws") / "ws").root
    count = 0
    for kind, office, detail in changes:
        path = storage.recorder_file(workspace(root), office)
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True) \
            if path.exists() else []
        entries = [i for i, line in enumerate(lines) if line.startswith("- {")]
        if kind == "append":
            for task_id in detail:
                count += 1
                record(root, entry(count, task_id), who=office)
        elif kind == "copy" and entries:
            source = lines[entries[detail % len(entries)]]
            add_line(storage.recorder_file(workspace(root), OFFICES[detail % len(OFFICES)]),
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
        elif kind == "delete" and path.exists():
            path.unlink()
        with_cache = _outcome(root, task)
        os.environ["OCOP_NO_CACHE"] = "1"
        try:
            assert with_cache == _outcome(root, task), (kind, office, detail)
        finally:
            del os.environ["OCOP_NO_CACHE"]


def test_a_file_checked_by_content_once_is_then_known_by_its_times(ws, monkeypatch):
    """Files changed just before the cache was written are checked by content; once they
    are old enough, the cache records that, and later runs do not read them again."""
    monkeypatch.setattr(cache, "RACY_NS", 300_000_000)  # 0.3 s instead of 3 s
    record(ws, entry(1), entry(2, "6"))
    expected = facts(storage.load(workspace(ws)))  # every file changed moments ago
    time.sleep(0.4)
    crcs: list[Path] = []
    real_crc = cache._crc

    def counted(path: Path) -> int | None:
        crcs.append(path)
        return real_crc(path)

    monkeypatch.setattr(cache, "_crc", counted)
    assert facts(storage.load(workspace(ws))) == expected
    assert len(crcs) == 3  # the agencies, the plan and the history file: once each
    crcs.clear()
    for _ in range(2):
        assert facts(storage.load(workspace(ws))) == expected
    assert crcs == []


@pytest.mark.parametrize("change", ["plan edited", "entry appended", "office added"])
def test_the_states_computed_after_a_change_serve_the_next_run(ws, ocop, monkeypatch, change):
    """The run that reads a change keeps the task states it computed, keyed by the files as
    they are now; the next run, served by the cache, finds them."""
    assert ocop("tasks", "--format", "json", "--as-of", AS_OF).exit_code == 0
    if change == "plan edited":
        plan = workspace(ws).plan_path()
        plan.write_text(plan.read_text(encoding="utf-8").replace("unit: Cuốn", "unit: Cuộn"),
                        encoding="utf-8")
    else:
        record(ws, entry(1), who="Tester" if change == "entry appended" else "Phòng NN Gia Lộc")
    first = ocop("tasks", "--format", "json", "--as-of", AS_OF)

    def replayed(*args: Any) -> Any:
        raise AssertionError("the states were computed again")

    monkeypatch.setattr("ocop_cli.state.state_as_of", replayed)
    again = ocop("tasks", "--format", "json", "--as-of", AS_OF)
    assert again.exit_code == 0, again.stderr
    assert again.stdout == first.stdout
