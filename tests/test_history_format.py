"""History lines: the quick reading of what ocop writes agrees with the full model, and each
entry belongs to one plan of the workspace."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ocop_cli.store.schema import EntryDoc
from ocop_cli.store.storage import _plain_entry

TEXT = st.text(min_size=1, max_size=12).filter(lambda t: t == t.strip() and t != "")
RECORDS = st.fixed_dictionaries(
    {"id": TEXT, "at": st.datetimes().map(lambda d: d.isoformat()),
     "date": st.dates().map(lambda d: d.isoformat()), "task": TEXT,
     "action": st.sampled_from(["start", "progress", "done", "reopen", "cancel", "note", "undo",
                                "finish"]),
     "by": TEXT},
    optional={"qty": st.integers(-3, 50) | st.none() | st.just("5"),
              "place": TEXT | st.none() | st.just(" x"), "ref": TEXT | st.none(),
              "note": st.text(max_size=8) | st.none(), "undoes": TEXT | st.none(),
              "plan": st.integers(1800, 2300) | st.none(), "extra": st.just(1)})


@given(RECORDS, st.sampled_from([{}, {"at": "2019-09-15 8h"}, {"date": "15/09/2019"},
                                  {"date": "20190915"}, {"at": "2019-09-15T08:00:00Z"}]))
def test_quick_reading_accepts_only_what_the_model_accepts_and_reads_it_alike(record, odd):
    record = {**record, **odd}
    quick = _plain_entry(record, "x.yaml:1")
    try:
        doc = EntryDoc.model_validate(record)
    except ValidationError:
        assert quick is None
        return
    if quick is None:
        return  # a form the model accepts and `append` never writes: the model reads it
    assert (quick.id, quick.task, quick.action, quick.by) == (doc.id, doc.task, doc.action,
                                                              doc.by)
    assert (quick.date, quick.at) == (doc.date, doc.at.isoformat())
    assert (quick.qty, quick.place, quick.ref, quick.note, quick.undoes, quick.plan) == (
        doc.qty, doc.place, doc.ref, doc.note, doc.undoes, doc.plan)


def test_reading_what_ocop_wrote_does_not_need_pydantic(ocop, ws):
    assert ocop("progress", "6", "2", "--as-of", "2019-09-15").exit_code == 0
    code = ("import sys; from pathlib import Path; from ocop_cli.store.storage import "
            "read_history_file; [read_history_file(p) for p in Path(sys.argv[1]).glob('*.yaml')];"
            " print('pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(ws / "history")], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "False"


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
        "- id: viet-tay-1\n  at: 2019-09-01T08:00:00+07:00\n  date: 2019-09-01\n"
        "  task: '6'\n  action: progress\n  qty: 3\n  by: Phòng NN Thanh Hà\n",
        encoding="utf-8")
    tasks = {t["id"]: t for t in ocop("tasks", "-f", "json", "--as-of", "2019-09-15").json()}
    assert tasks["6"]["achieved"] == 3
    assert ocop("check").exit_code == 0


GOOD = {"id": "e1", "at": "2019-09-15T08:00:00+07:00", "date": "2019-09-15", "task": "6",
        "action": "progress", "by": "Tester", "qty": 2, "plan": 2019}


@pytest.mark.parametrize("change", [
    {"qty": -1}, {"qty": "5"}, {"qty": True}, {"plan": 1800}, {"action": "finish"},
    {"task": ""}, {"task": " 6"}, {"place": " x"}, {"extra": 1}, {"date": "20190915"},
    {"date": "15/09/2019"}, {"at": "2019-09-15 8h"}, {"id": 7},
])
def test_quick_reading_leaves_every_doubtful_line_to_the_model(change):
    assert _plain_entry({**GOOD, **change}, "x.yaml:1") is None


def test_quick_reading_of_a_good_line():
    entry = _plain_entry(GOOD, "x.yaml:1")
    assert entry is not None and (entry.qty, entry.plan, entry.source) == (2, 2019, "x.yaml:1")
