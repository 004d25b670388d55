"""The plan and agencies read without pydantic: what the plain checks take, pydantic takes
with the same values, and whatever pydantic refuses they hand over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ocop_cli.store import plainschema, storage
from ocop_cli.store.schema import AgenciesDoc, AgencyDoc, PlanDoc, TaskDoc

TEXTS = ["Cấp huyện", "x", "", " x", "x ", "x\u00a0", "\u3000x", "x\x1c", "a\u2028b", "12",
         "15-20", "ít nhất 04", "T6", "T6,7", "0", "1.2", "01", "1.0", "true", "false", "yes",
         "True", "1", "2019", "02019", "2201", "1899", "2019-06-07", "2019-6-7", "2019-02-30",
         "20190607", "2019-06-07T00:00:00", "district", "province", "ubnd-tinh", "Ubnd",
         "a--b", "chosen", "recognised", "lỗi\ud800", "x\n"]
VALUES = st.one_of(st.none(), st.sampled_from(TEXTS), st.text(max_size=6),
                   st.lists(st.sampled_from(TEXTS), max_size=3), st.just({}), st.just([{}]))


def _items(fields: tuple[tuple[str, Any, Any], ...], extra: list[str],
           base: dict[str, Any] | None = None) -> Any:
    """Dicts of the fields' names (and `extra` ones) with values of every kind; with `base`,
    its values where none is drawn, so that many are valid."""
    names = [name for name, _check, _default in fields]
    drawn = st.dictionaries(st.sampled_from(names + extra), VALUES, max_size=4 if base else 12)
    return drawn if base is None else drawn.map(lambda found: {**base, **found})


TASK = {"id": "1.2", "title": "Cấp huyện", "target": "12", "lead": "Sở NN và PTNT",
        "partners": ["Báo Hải Dương"], "window": "T6", "per_district": "true"}
PLAN = {"number": "1819/KH-UBND", "year": "2019", "title": "Kế hoạch", "dated": "2019-06-07",
        "tasks": []}
AGENCY = {"id": "so-nn", "short": "Sở NN", "name": "Sở NN và PTNT", "level": "province",
          "kind": "department"}


def test_the_regular_form_is_read_plainly():
    """Not a vacuous comparison: the usual values are taken without pydantic."""
    assert plainschema.task(TASK).per_district is True
    assert plainschema.plan_head({**PLAN, "last_year": "2020"})[1]["last_year"] == 2020
    assert plainschema.agencies({"agencies": [AGENCY]}).agencies[0].kind == "department"


def _plain(check: Any, data: Any) -> Any:
    try:
        return check(data)
    except plainschema.Refused:
        return None


def _pydantic(model: Any, data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None


def test_the_plain_fields_are_the_models():
    for fields, model in ((plainschema.TASK, TaskDoc), (plainschema.PLAN, PlanDoc),
                          (plainschema.AGENCY, AgencyDoc)):
        assert [name for name, _check, _default in fields] == list(model.model_fields)


@given(st.one_of(_items(plainschema.TASK, ["tasks", "Title"], TASK),
                 _items(plainschema.TASK, ["tasks"]), VALUES))
@settings(max_examples=1500, deadline=None)
def test_a_task_is_taken_as_pydantic_takes_it(data):
    plain = _plain(plainschema.task, data)
    model = _pydantic(TaskDoc, data)
    if plain is not None:
        assert model is not None and vars(plain) == model.model_dump()


@given(st.one_of(_items(plainschema.PLAN, ["extra"], PLAN), _items(plainschema.PLAN, [])))
@settings(max_examples=1500, deadline=None)
def test_a_plan_is_taken_as_pydantic_takes_it(data):
    found = plainschema.plan_head(data)
    if found is None:
        return
    head, facts = found
    assert head.tasks is data["tasks"]  # checked one by one: `test_a_task_is_taken_...`
    model = _pydantic(PlanDoc, {**data, "tasks": []})
    assert model is not None
    assert facts == model.model_dump(mode="json", exclude={"tasks"})
    assert {k: v for k, v in vars(head).items() if k != "tasks"} == \
        model.model_dump(exclude={"tasks"})


@given(st.builds(
    lambda year, last, dated: {"number": "1/KH", "year": year, "last_year": last,
                               "title": "x", "dated": dated, "tasks": []},
    st.sampled_from(["2019", "2020", "1900", "2200", "2201", " 2019", "2019.0"]),
    st.sampled_from([None, "2019", "2018", "2028", "2029", "2030", "x"]),
    st.sampled_from(["2019-06-07", "2019-02-29", "2020-02-29", "07/06/2019"])))
def test_the_years_and_dates_of_a_plan_as_pydantic_reads_them(data):
    found = plainschema.plan_head(data)
    model = _pydantic(PlanDoc, data)
    if found is not None:
        assert model is not None
        assert found[1] == model.model_dump(mode="json", exclude={"tasks"})


@given(st.lists(st.one_of(_items(plainschema.AGENCY, ["alias"], AGENCY), st.builds(
    lambda level, kind: {"id": "so-nn", "short": "Sở NN", "name": "Sở NN và PTNT",
                         "level": level, "kind": kind},
    st.sampled_from(["province", "district", "x", " province"]),
    st.sampled_from(["department", "committee", "office", "x"]))), max_size=3))
@settings(max_examples=800, deadline=None)
def test_agencies_are_taken_as_pydantic_takes_them(items):
    data = {"agencies": items}
    plain = plainschema.agencies(data)
    model = _pydantic(AgenciesDoc, data)
    if plain is not None:
        assert model is not None
        assert [vars(a) for a in plain.agencies] == model.model_dump()["agencies"]


def _read_with_pydantic(monkeypatch: pytest.MonkeyPatch, read: Any) -> Any:
    with monkeypatch.context() as m:
        m.setattr(plainschema, "_fields", lambda *_args: (_ for _ in ()).throw(
            plainschema.Refused()))
        return read()


def test_the_bundled_plan_and_agencies_read_as_through_pydantic(monkeypatch, ws):
    workspace = storage.Workspace(Path(ws))
    directory, problems = storage.read_agencies(workspace.agencies_path)
    assert problems == [] and directory is not None
    assert plainschema.agencies is not None
    through = _read_with_pydantic(monkeypatch, lambda: storage.read_agencies(
        workspace.agencies_path))
    assert through[0].agencies == directory.agencies
    plan = storage.read_plan(workspace.plan_path(), directory)
    assert plan == _read_with_pydantic(monkeypatch, lambda: storage.read_plan(
        workspace.plan_path(), directory))


def test_a_task_pydantic_takes_otherwise_is_read_by_it(monkeypatch, ws):
    """A value the plain check does not take (`yes` for true) is pydantic's to read; the
    tasks around it are read plainly, and the plan is what pydantic alone reads."""
    workspace = storage.Workspace(Path(ws))
    path = workspace.plan_path()
    text = path.read_text(encoding="utf-8")
    assert "per_district: true" in text
    path.write_text(text.replace("per_district: true", "per_district: yes", 1),
                    encoding="utf-8")
    directory = storage.read_agencies(workspace.agencies_path)[0]
    plan, problems = storage.read_plan(path, directory)
    assert problems == [] and plan is not None
    assert (plan, problems) == _read_with_pydantic(monkeypatch, lambda: storage.read_plan(
        path, directory))
