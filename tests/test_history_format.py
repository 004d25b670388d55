"""History lines: what ocop writes is read back as it was, what the format refuses is said
with its file, line and field, and each entry belongs to one plan of the workspace."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocop_cli.core.errors import InvalidData
from ocop_cli.core.model import ACTIONS, Entry
from ocop_cli.store import history
from ocop_cli.store.history import read_history_file
from ocop_cli.store.write import append
from ocop_cli.store.written import Reader

TEXT = st.text(min_size=1, max_size=12).filter(lambda t: t == t.strip())
ENTRIES = st.builds(
    Entry, id=TEXT, at=st.datetimes(timezones=st.just(dt.UTC)).map(
        lambda d: d.isoformat(timespec="microseconds")),
    date=st.dates(), task=TEXT, action=st.sampled_from(ACTIONS), by=TEXT,
    qty=st.none() | st.integers(0, 10**12), place=st.none() | TEXT, ref=st.none() | TEXT,
    note=st.none() | st.text(max_size=12), undoes=st.none() | TEXT,
    plan=st.none() | st.integers(1900, 2200), command=st.none() | TEXT)


@given(st.lists(ENTRIES, max_size=5))
@settings(max_examples=60)
def test_what_ocop_writes_is_read_back_as_it_was(tmp_path_factory, entries):
    """Any text (quotes, backslashes, line separators, controls) and any value the format
    takes, written by `append` and read by the one reader of history files."""
    path = tmp_path_factory.mktemp("h") / "x.yaml"
    append(path, entries, inside=path.parent)
    read, warnings = read_history_file(path)
    assert warnings == []
    assert read == [e._replace(source=f"x.yaml:{n}") for n, e in enumerate(entries, 4)]


def _line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


@given(ENTRIES)
@settings(max_examples=200)
def test_the_fast_copy_reads_each_line_ocop_writes_as_the_format_does(entry):
    body = _line(entry.to_record())
    fast = Reader().values(body)
    assert fast is not None or "\\" in body  # only an escape is left to the format
    assert fast is None or fast == history._validated(body)


# Values a line written by hand may hold instead of what `append` writes.
ODD = [("id", 7), ("task", " 6"), ("task", ""), ("by", "x "), ("by", "\u2028x"),
       ("place", "x\x1c"), ("ref", "\x85"), ("undoes", None), ("note", 7), ("note", ""),
       ("at", "2019-09-15T08:00:00.000000+00:00"), ("at", "2019-09-15T08:00:00"),
       ("at", "2019-09-15T08:00:00-00:00"), ("at", "2019-02-29T08:00:00+00:00"),
       ("at", "2019-09-15 08:00:00"), ("at", "2019-09-15T08:00:00Z"),
       ("at", "2019-09-15T08:00:00.5+00:00"), ("at", "2019-09-15T08:00:00+23:59"),
       ("date", "2019-02-29"), ("date", "2019-9-15"), ("date", "20190915"),
       ("action", "finish"), ("qty", -1), ("qty", "5"), ("qty", True), ("qty", 10**20),
       ("qty", 0), ("plan", 1800), ("plan", "2019"), ("plan", 2200), ("extra", 1),
       ("command", ""), ("command", " x"), ("command", 7)]


@given(ENTRIES, st.lists(st.sampled_from(ODD), max_size=2), st.randoms(use_true_random=False))
@settings(max_examples=300)
def test_the_fast_copy_leaves_to_the_format_what_it_is_not_sure_of(entry, changes, rng):
    """Whatever the fast copy reads, the format reads alike; all else is the format's."""
    record = {**entry.to_record(), **dict(changes)}
    keys = list(record)
    if rng.random() < 0.2:
        rng.shuffle(keys)
    body = _line({key: record[key] for key in keys})
    fast = Reader().values(body)
    if fast is not None:
        assert fast == history._validated(body)


GOOD = {"id": "e1", "at": "2019-09-15T08:00:00+07:00", "date": "2019-09-15", "task": "6",
        "action": "progress", "by": "Tester", "qty": 2, "plan": 2019}


@pytest.mark.parametrize(("change", "field"), [
    ({"qty": -1}, "qty"), ({"plan": 1800}, "plan"), ({"action": "finish"}, "action"),
    ({"task": ""}, "task"), ({"place": " "}, "place"), ({"extra": 1}, "extra"),
    ({"date": "15/09/2019"}, "date"), ({"at": "2019-09-15 8h"}, "at"), ({"id": 7}, "id"),
])
def test_a_value_the_format_refuses_is_named_by_line_and_field(tmp_path, change, field):
    path = tmp_path / "x.yaml"
    line = "- " + json.dumps({**GOOD, **change}, ensure_ascii=False)
    path.write_text(f"# a comment\n- {json.dumps(GOOD)}\n{line}\n", encoding="utf-8")
    with pytest.raises(InvalidData) as raised:
        read_history_file(path)
    (problem,) = raised.value.problems
    assert (problem.file, problem.line, problem.field, problem.task) == (
        str(path), 3, field, GOOD["task"] if "task" not in change else None)


@pytest.mark.parametrize("line", ['- ["a list"]', "- id: e2", "-{}", '  - {"id": "e2"}',
                                  '- {"id": "e2", "id": "e3"}'])
def test_a_line_that_is_not_one_json_object_is_an_error_at_its_line(tmp_path, line):
    path = tmp_path / "x.yaml"
    path.write_text(f"- {json.dumps(GOOD)}\n\n{line}\n", encoding="utf-8")
    with pytest.raises(InvalidData) as raised:
        read_history_file(path)
    (problem,) = raised.value.problems
    assert (problem.file, problem.line) == (str(path), 3)
    assert not problem.warning


def test_a_line_cut_short_is_left_out_with_a_warning(tmp_path):
    path = tmp_path / "x.yaml"
    whole = "- " + json.dumps(GOOD)
    path.write_text(f"{whole[:40]}\n{whole.replace('e1', 'e2')}\n{whole[:30]}",
                    encoding="utf-8")
    entries, warnings = read_history_file(path)
    assert [e.id for e in entries] == ["e2"]
    assert [(w.line, w.warning) for w in warnings] == [(1, True), (3, True)]


def test_each_plan_counts_only_its_own_entries(ocop, ws, monkeypatch):
    plan_2020 = (ws / "plan_2019.yaml").read_text(encoding="utf-8").replace(
        "year: 2019", "year: 2020", 1)
    (ws / "plan_2020.yaml").write_text(plan_2020, encoding="utf-8")
    monkeypatch.setenv("OCOP_AS_OF", "2020-09-15")
    assert ocop("progress", "6", "4").exit_code == 0  # the latest plan: 2020
    assert ocop("progress", "6", "1", "--plan", "2019", "--date", "2019-09-01").exit_code == 0

    def achieved(*plan: str) -> int:
        tasks = ocop("tasks", "-f", "json", *plan).json()
        return {t["id"]: t for t in tasks}["6"]["achieved"]

    assert (achieved(), achieved("--plan", "2020"), achieved("--plan", "2019")) == (4, 4, 1)
    lines = [json.loads(line[2:]) for p in (ws / "history").glob("*.yaml")
             for line in p.read_text(encoding="utf-8").splitlines() if line.startswith("- {")]
    assert sorted(e["plan"] for e in lines) == [2019, 2020]
    assert ocop("check").exit_code == 0


def test_an_entry_for_a_plan_the_workspace_lacks_is_reported(ocop, ws):
    ocop("progress", "6", "2", "--as-of", "2019-09-15")
    (path,) = (ws / "history").glob("*.yaml")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"plan": 2019', '"plan": 2021'), encoding="utf-8")
    result = ocop("check")
    assert result.exit_code == 0
    assert "plan 2021" in result.stderr and f"{path.name}:" in result.stderr
    shutil.rmtree(ws / ".ocop", ignore_errors=True)
    tasks = {t["id"]: t for t in ocop("tasks", "-f", "json", "--as-of", "2019-09-15").json()}
    assert tasks["6"]["achieved"] == 0


def test_a_hand_written_entry_without_a_plan_belongs_to_its_dates_year(ocop, ws):
    history = ws / "history"
    history.mkdir(exist_ok=True)
    (history / "tay.yaml").write_text(
        '- {"id": "viet-tay-1", "at": "2019-09-01T08:00:00+07:00", "date": "2019-09-01", '
        '"task": "6", "action": "progress", "qty": 3, "by": "Phòng NN Thanh Hà"}\n',
        encoding="utf-8")
    tasks = {t["id"]: t for t in ocop("tasks", "-f", "json", "--as-of", "2019-09-15").json()}
    assert tasks["6"]["achieved"] == 3
    assert ocop("check").exit_code == 0
