"""The quick readers (a plan in the regular block form without the YAML parser, a history file
as one JSON array, the history folded into the states as it streams) give exactly what the
thorough ones give, and hand anything unusual over to them, so that every message and line
stays as it was."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocop_cli.core import state
from ocop_cli.core.errors import InvalidData, Problem
from ocop_cli.core.model import Entry
from ocop_cli.store import storage, write, yamlio

HERE = Path("plan.yaml")

# --- YAML in the regular block form ----------------------------------------------------------

KEYS = st.sampled_from(["id", "title", "lead", "partners", "notes", "window", "x_1", "null",
                        "Null", "tasks", "a"])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
SCALARS = st.one_of(TEXT, st.sampled_from(["", "~", "null", "NULL", "true", "no", "012",
                                            "3.10", "a: b", "a #b", "a:", "- x", "#x", "'q'",
                                            '"q"', "x\\y", "tab\there", "T6,7", "[x]", "{x}",
                                            "&a", "*a", "!t", "|", ">", "%", "@", "?x", "-",
                                            "  lead", "trail  ", "it's", "Sở NN và PTNT"]))


def _values(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return SCALARS
    inner = _values(depth - 1)
    return st.one_of(SCALARS, st.lists(inner, min_size=1, max_size=3),
                     st.dictionaries(KEYS, inner, min_size=1, max_size=3))


STYLE = st.sampled_from(["plain", "double", "single"])


@st.composite
def block_texts(draw: Any) -> str:
    """YAML written in block form, as people and ocop write it, each scalar in a style drawn
    (plain even where YAML would read it otherwise), with comments, blank lines and at times a
    compact sequence under its key."""
    data = draw(st.dictionaries(KEYS, _values(2), min_size=1, max_size=4))
    lines: list[str] = []

    def scalar(value: str) -> str:
        style = draw(STYLE)
        if style == "double":
            return f'"{value}"'
        if style == "single":
            return "'" + value.replace("'", "''") + "'"
        return value

    def emit(value: Any, indent: int, head: str) -> None:
        pad = " " * indent
        if isinstance(value, dict):
            first = True
            for key, item in value.items():
                lead = head if first else pad
                first = False
                if isinstance(item, list) and item and not any(
                        isinstance(x, (dict, list)) for x in item) and draw(st.booleans()):
                    # In brackets, at times over several lines (a break after a comma).
                    breaks = [draw(st.sampled_from([", ", ",\n" + pad + "    ", ",", " ,"]))
                              for _ in item[1:]]
                    flow = str(item[0]) + "".join(b + str(x) for b, x in zip(
                        breaks, item[1:], strict=True))
                    lines.append(f"{lead}{key}: [{flow}]")
                elif isinstance(item, (dict, list)) and item:
                    lines.append(f"{lead}{key}:")
                    compact = isinstance(item, list) and draw(st.booleans())
                    emit(item, indent if compact else indent + 2,
                         " " * (indent if compact else indent + 2))
                else:
                    lines.append(f"{lead}{key}: {scalar(str(item))}".rstrip())
                if draw(st.integers(0, 9)) == 0:
                    lines.append(draw(st.sampled_from(["", "# a comment", "   # indented"])))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    emit(item, indent + 2, pad + "- ")
                elif isinstance(item, list):
                    lines.append(pad + "-")
                    emit(item, indent + 2, " " * (indent + 2))
                else:
                    lines.append(f"{pad}- {scalar(str(item))}".rstrip())
        else:
            lines.append(head + scalar(str(value)))

    emit(data, 0, "")
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n# end\n"]))


def _full(text: str) -> tuple[str, Any]:
    """What the YAML parser makes of a text: its data and marks, or its problems."""
    try:
        doc = yamlio._parsed(HERE, text)
    except InvalidData as error:
        return "invalid", error.problems
    return "read", (doc.data, doc.marks)


def _same_reading(text: str) -> Any:
    quick = yamlio._quick(text)
    expected = _full(text)
    if quick is not yamlio._NONE:
        assert expected[0] == "read", text
        assert quick == expected[1][0], text
    got = _read(text)
    assert got == expected, text
    return quick


def _read(text: str) -> tuple[str, Any]:
    """What `read_yaml` gives: the data and every mark it is asked for, or the problems."""
    try:
        doc = yamlio.read_yaml(HERE, text)
    except InvalidData as error:
        return "invalid", error.problems
    _full_doc = yamlio._parsed(HERE, text)
    return "read", (doc.data, {loc: doc.where(loc) for loc in _full_doc.marks})


@given(block_texts())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_text_in_block_form_reads_as_the_parser_reads_it(text):
    _same_reading(text)


# Shapes the quick reader must hand over, each inserted somewhere in a plan.
UNUSUAL = ["a: &x 1\nb: *x\n", "a: [1, 2]\n", "a: {b: 1}\n", "a: |\n  text\n", "a: >\n  t\n",
           "a: \"x\\ty\"\n", "a:\tb\n", "\tb: 1\n", "a: 1\r\nb: 2\r\n", "a: !!str 1\n",
           "a: b\n  c\n", "a: 'b\n  c'\n", 'a: "b\n  c"\n', "a: 1\na: 2\n", "? a\n: b\n",
           "a:\n- 1\n  - 2\n", "a:\n  - 1\n - 2\n", "a:\n   b: 1\n  c: 2\n", "---\na: 1\n",
           "a: 1\n...\n", "%YAML 1.1\n---\na: 1\n", "<<: {a: 1}\n", "a: b: c\n", "- a\nb: 1\n",
           "a: 1 # c\n#c\nb: 2\n", "a: \ufeffb\n", "a: \x85b\n", "a: b\u2028c\n", "a: \x07\n",
           '"a": 1\n', "a:\n  -\n    - b\n", "null: 1\n", "~: 1\n", "a:\n  - b\n  c: 1\n",
           "a: 'it''s'\n", "a: \"\"\n", "a: ''\n", "a:\n", "a: -1\n", "a: - b\n", "a: 'x' y\n",
           '"a" : 1\n', "a: x\n\n\n  # c\nb:\n  - c\n", "a: \"x\" #c\n", 'a: "x"#c\n',
           "a: [x, y]\n", "a: [x,\n  y]\n", "a: [x\n  , y]\n", "a: [x,\n\n  y]\n", "a: []\n",
           "a: [x,\ny]\n", "a: [x, [y]]\n", "a: [x, 'y']\n", "a: [x: y]\n", "a: [x,]\n",
           "a: [x,\n  # c\n  y]\n", "a: [x] y\n", "a: [x, ~, null]\n", "a: [ x , y ]\n",
           "a: [x\n", "- [x, y]\n", "a: [x #c, y]\n", "a: [-x, ?y]\n"]


@given(st.sampled_from(UNUSUAL), st.integers(0, 40))
@settings(max_examples=200, deadline=None)
def test_anything_unusual_reads_as_the_parser_reads_it(shape, at):
    """Inserted anywhere in a plan, whatever it is read as, or whatever it is refused for, at
    whatever line and column, is what the parser says."""
    lines = (storage.bundled_dir() / "plan_2019.yaml").read_text(encoding="utf-8")
    lines = "\n".join(line for line in lines.splitlines()[:60] if "|" not in line)
    head = lines.splitlines()
    at = min(at, len(head))
    text = "\n".join([*head[:at], *shape.splitlines(), *head[at:]]) + "\n"
    _same_reading(shape)
    _same_reading(text)


def test_a_plan_in_block_form_is_read_without_the_parser(tmp_path, monkeypatch):
    """The regular form is what the quick reader is for: it does take it."""
    text = "number: 1\ntasks:\n  - id: \"1\"   # the first\n    partners:\n    - 'A'\n" \
           "    - B\n\n  - id: '2'\n    title: ~\n"
    assert yamlio._quick(text) == {"number": "1", "tasks": [
        {"id": "1", "partners": ["A", "B"]}, {"id": "2", "title": None}]}


def test_the_bundled_agencies_are_read_without_the_parser():
    """Lists in brackets, some over several lines, as the agencies file writes aliases and
    members, are read quickly and as the parser reads them."""
    text = (storage.bundled_dir() / "agencies.yaml").read_text(encoding="utf-8")
    assert "members: [" in text and ",\n" in text.split("members: [", 1)[1].split("]")[0]
    quick = yamlio._quick(text)
    assert quick is not yamlio._NONE
    assert quick == yamlio._parsed(HERE, text).data


def _block(value: Any, indent: int = 0) -> list[str]:
    """Data written in block form, every text in single quotes (on one line)."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines += [f"{pad}{key}:", *_block(item, indent + 2)]
            else:
                lines.append(f"{pad}{key}: " + ("~" if item is None or item == [] else
                                                "'" + str(item).replace("'", "''") + "'"))
    else:
        for item in value:
            inner = _block(item, indent + 2) if isinstance(item, (dict, list)) else [
                pad + "  '" + str(item).replace("'", "''") + "'"]
            lines.append(pad + "- " + inner[0].lstrip())
            lines += inner[1:]
    return lines


def test_a_problem_in_a_plan_read_quickly_is_placed_by_the_parser(ws, monkeypatch):
    """Problems found after the quick read (an unknown agency, a window that cannot be read)
    are placed at the line and column the parser gives, as before."""
    path = storage.Workspace(ws).plan_path()
    data = yamlio.read_yaml(path).data
    data.pop("sections")
    data["tasks"][3]["window"] = "T13"
    text = "\n".join(_block(data)) + "\n"
    directory, _problems = storage.read_agencies(ws / "agencies.yaml")
    assert directory is not None
    for variant in (text.replace("T13", "T6"), text.replace("Sở NN và PTNT", "Sở Nowhere", 1)):
        assert yamlio._quick(variant) is not yamlio._NONE
        path.write_text(variant, encoding="utf-8")
        quick = storage.read_plan(path, directory)
        monkeypatch.setattr(yamlio, "_quick", lambda text: yamlio._NONE)
        parsed = storage.read_plan(path, directory)
        monkeypatch.undo()
        assert quick == parsed
    lines = variant.splitlines()
    where = [next(i + 1 for i, line in enumerate(lines) if word in line)
             for word in ("Sở Nowhere", "T13")]
    assert [(p.message, p.line) for p in quick[1]] == [
        ("unknown agency 'Sở Nowhere'", where[0]),
        ("'T13': month 13 is not between 1 and 12", where[1])]


# --- a history file as one JSON array --------------------------------------------------------

def _line(record: dict[str, Any]) -> str:
    return "- " + json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


def _record(n: int) -> dict[str, Any]:
    return Entry(id=f"{n:020x}", at=f"2019-07-01T08:00:{n % 60:02d}.{n:06d}+00:00",
                 date=dt.date(2019, 7, 1 + n % 28), task=f"{1 + n % 11}", action="progress",
                 by="Tester", qty=n % 4, place=None if n % 3 else "gia-loc",
                 note=None if n % 5 else f"note {n}").to_record()


# How a line may differ from what `append` writes: each must be read as line by line reads it.
ODD_LINES = [
    lambda r: _line(r).replace('"qty": ', '"qty" : '),
    lambda r: _line(r).replace('"task": ', '"task":  '),
    lambda r: _line(r)[:-1] + ', "qty": 7}',
    lambda r: _line(r)[:-1] + ', "note": ":)"}',
    lambda r: _line(r)[:-1] + ', "note": "a \\"b\\": c"}',
    lambda r: _line(r)[:-1] + ', "note": "\\u0071ty"}',
    lambda r: _line(r).replace('"id"', '"\\u0069d"'),
    lambda r: _line(r).replace('"action": "progress"', '"action": "undo"'),
    lambda r: _line(r)[:-1] + ', "ref": " x"}',
    lambda r: _line(r)[:-1] + ', "extra": 1}',
    lambda r: _line(r)[:-1] + ', "x": {"y": 1}}',
    lambda r: _line(r)[:-1] + "}, {}",
    lambda r: _line(r)[: len(_line(r)) // 2],
    lambda r: _line(r) + " # c",
    lambda r: _line(r) + "  ",
    lambda r: _line(r).replace('"qty": ', '"qty": 1e') if "qty" in r else _line(r),
    lambda r: _line(r).replace("2019-07-01T", "2019-07-01 "),
    lambda r: _line(r).replace("+00:00", "-00:00"),
    lambda r: _line(r).replace("+00:00", "Z"),
    lambda r: "- " + json.dumps(r),
    lambda r: "- {id: h, at: '2019-07-02T08:00:00+00:00', date: 2019-07-02, task: '1', "
              "action: note, by: X, note: tay}",
    lambda r: "# a comment",
    lambda r: "",
    lambda r: "  - {}",
    lambda r: _line(r).replace("Tester", "Tes\\u2028ter"),
    lambda r: _line(r).replace("Tester", "Tes\u2028ter"),
    lambda r: _line({**r, "plan": 2019}),
    lambda r: _line({**r, "plan": 2201}),
    lambda r: _line({**r, "plan": 1900}),
    lambda r: _line({**r, "plan": 2019}).replace("2019}", "02019}"),
    lambda r: _line({**r, "qty": 10**18}),
    lambda r: _line({**r, "qty": 10**19}),
    lambda r: _line({**r, "qty": 0}).replace('"qty": 0', '"qty": -0'),
    lambda r: _line({**r, "qty": 5}).replace('"qty": 5', '"qty": 05'),
    lambda r: _line({**r, "note": ""}),
    lambda r: _line({**r, "note": " a\x7f "}),
    lambda r: _line({**r, "note": "a\x01"}).replace("\\u0001", "\x01"),
    lambda r: _line({**r, "place": ""}),
    lambda r: _line({**r, "by": "Tester "}),
    lambda r: _line({**r, "by": "Tes\u00a0ter"}),
    lambda r: _line({**r, "by": "\u00a0Tester"}),
    lambda r: _line({**r, "id": "x\u0000y"}),
    lambda r: _line({**r, "id": "ý"}),
    lambda r: _line({**r, "at": "2019-02-30T08:00:00+00:00"}),
    lambda r: _line({**r, "at": "2019-02-03T24:00:00+00:00"}),
    lambda r: _line({**r, "at": "2019-02-03T23:59:59+23:59"}),
    lambda r: _line({**r, "at": "2019-02-03T23:59:59+24:00"}),
    lambda r: _line({**r, "at": "2019-02-03T23:59:59.000000-05:30"}),
    lambda r: _line({**r, "at": "2019-02-03T23:59:59.000000"}),
    lambda r: _line({**r, "at": "2019-02-03T23:59:59.000"}),
    lambda r: _line({**r, "date": "2019-13-01"}),
    lambda r: _line({**r, "date": "20190701"}),
    lambda r: _line({**r, "action": "Done"}),
    lambda r: _line({"task": r["task"], **r}),
    # Lines a scan of a whole piece must see as a line by line read does.
    lambda r: "# " + _line(r),
    lambda r: "#" + _line(r) + "\n" + _line(r)[: len(_line(r)) // 2],
    lambda r: " " + _line(r),
    lambda r: _line(r) + " " + _line(r),
    lambda r: "\u3000",
    lambda r: "\u3000# c",
    lambda r: " \t",
    lambda r: _line({**r, "note": "a\x0cb"}).replace("\\f", "\x0c"),
    lambda r: _line({**r, "note": "a\x85b \u2029 c"}),
    lambda r: _line({**r, "note": ""}).replace('""', '"\u2028"'),
    # Lines as `append` writes them that do not count: a piece is then checked line by line.
    lambda r: _line({**r, "task": "99.9"}),
    lambda r: _line({**r, "place": "nowhere"}),
    lambda r: _line({**r, "plan": 2020}),
    lambda r: _line({**r, "date": "2020-01-02"}),
]


def _line_by_line(path: Path, text: str) -> tuple[str, Any]:
    """`read_history_file` as it read every file before the quick path: line by line."""
    lines = text.splitlines()
    problems: list[Problem] = []
    entries = []
    shared: dict[Any, Any] = {}
    try:
        for number, record in storage.flow_records(path, lines, problems):
            found = None if record is storage.BY_HAND else storage._plain_entry(
                record, f"{path.name}:{number}", shared)
            if found is None:
                return "read", storage._checked_entries(path, text, lines)
            entries.append(found)
    except InvalidData as error:
        return "invalid", error.problems
    return "read", (entries, problems)


def _history_read(path: Path) -> tuple[str, Any]:
    try:
        return "read", storage.read_history_file(path)
    except InvalidData as error:
        return "invalid", error.problems


@given(st.lists(st.tuples(st.integers(1, 200), st.integers(-1, len(ODD_LINES) - 1)),
                max_size=30), st.sampled_from(["\n", "\r\n"]))
@settings(max_examples=300, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
def test_a_history_file_reads_as_line_by_line(tmp_path, lines, end):
    path = tmp_path / "x.yaml"
    text = write.HISTORY_HEADER + "".join(
        (_line(_record(n)) if odd < 0 else ODD_LINES[odd](_record(n))) + end
        for n, odd in lines)
    path.write_text(text, encoding="utf-8", newline="")
    assert _history_read(path) == _line_by_line(path, path.read_bytes().decode("utf-8"))


@given(st.lists(st.tuples(st.integers(1, 200), st.integers(-3, len(ODD_LINES) - 1)),
                max_size=30), st.integers(1, 200))
@settings(max_examples=200, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
def test_a_history_file_streamed_in_pieces_reads_as_whole(tmp_path, monkeypatch, lines, piece):
    """Read a few bytes at a time, a file gives the entries and problems of a whole read, or
    says it must be read whole."""
    monkeypatch.setattr(storage, "_PIECE", piece)
    path = tmp_path / "x.yaml"
    path.write_text(write.HISTORY_HEADER + "".join(
        (_line(_record(n)) if odd < 0 else ODD_LINES[odd](_record(n))) + "\n"
        for n, odd in lines), encoding="utf-8")
    for rows in (False, True):
        try:
            found = list(storage._streamed(path, set(), rows))
        except storage._Whole:
            continue
        # A piece given as rows (read by the listing's fold) holds the same entries.
        entries = [e for _problems, part, written in found
                   for e in [*part, *(written.entries(path.name) if written else [])]]
        assert ([], entries) == ([p for problems, _part, _rows in found for p in problems],
                                 storage.read_history_file(path)[0])
        assert rows or not any(written for _problems, _part, written in found)
        assert storage.read_history_file(path)[1] == []


# --- the history folded into the states ------------------------------------------------------

PLAN_TASKS = ["1.1", "1.2", "2", "3.1", "5.1", "5.2", "6", "10", "99"]
PLACES = [None, "gia-loc", "kinh-mon", "tp-hai-duong", "so-nn-ptnt"]


@st.composite
def histories(draw: Any) -> list[Entry]:
    """Entries in any order: every action, shared tasks and their units, notes and proofs,
    equal dates and times, undos of entries before and after them, entries after the as-of
    date and for a task the plan does not have."""
    count = draw(st.integers(0, 25))
    entries: list[Entry] = []
    for n in range(count):
        action = draw(st.sampled_from(["start", "progress", "done", "reopen", "cancel",
                                       "note", "undo"]))
        entries.append(Entry(
            id=draw(st.sampled_from([f"e{n}", f"e{n}", "a", "b"])),
            at=draw(st.sampled_from(["2019-07-01T08:00:00+00:00", "2019-07-01T09:00:00+00:00",
                                     f"2019-07-0{1 + n % 5}T08:00:00.000001+00:00"])),
            date=dt.date(2019, draw(st.integers(6, 10)), draw(st.integers(1, 3))),
            task=draw(st.sampled_from(PLAN_TASKS)), action=action, by="X",
            qty=draw(st.sampled_from([None, 0, 1, 3, 12])) if action != "undo" else None,
            place=draw(st.sampled_from(PLACES)) if action != "undo" else None,
            ref=draw(st.sampled_from([None, "", "CV 1"])),
            note=draw(st.sampled_from([None, "", "n1", "n2"])),
            undoes=f"e{draw(st.integers(0, max(count - 1, 0)))}" if action == "undo" else None,
            source=f"x.yaml:{n + 1}"))
    return entries


@pytest.fixture(scope="module")
def plan() -> Any:
    bundled = storage.Workspace(storage.bundled_dir())
    directory, _problems = storage.read_agencies(bundled.agencies_path)
    assert directory is not None
    found, _problems = storage.read_plan(bundled.plan_path(), directory)
    return found


def listed(states: dict[str, state.TaskState]) -> list[tuple[Any, ...]]:
    return [(task, s.status, s.timing, s.achieved, list(s.places.items()), s.note, s.ref,
             list(s.units.items()), s.unassigned, list(s.unit_notes.items()))
            for task, s in states.items()]


@given(histories(), st.sampled_from([dt.date(2019, 6, 30), dt.date(2019, 8, 2),
                                     dt.date(2019, 12, 31)]), st.data())
@settings(max_examples=400, deadline=None)
def test_a_fold_gives_what_a_replay_gives(plan, entries, as_of, data):
    """Given in file order, with the entries an undo may name held back (all, some more, or
    exactly those), the fold's states are the replay's, but for their entries."""
    named = {e.undoes for e in entries if e.action == "undo" and e.undoes}
    undoable = data.draw(st.sampled_from([named, named | {"a", "b", "e1"}]))
    fold = state.Fold(plan, as_of, undoable)
    for entry in entries:
        fold.add(entry)
    expected = state.settle(plan, state.replay(plan, entries, as_of, plan.tasks), as_of)
    assert listed(state.settle(plan, fold.states(), as_of)) == listed(expected)
    # A listing's fold, of the leaves it shows only: their states are the same.
    leaves = data.draw(st.sets(st.sampled_from([t.id for t in plan.leaves()])))
    fold = state.Fold(plan, as_of, undoable, only=leaves)
    for entry in entries:
        fold.add(entry)
    assert listed(state.settle(plan, fold.states(), as_of)) == [
        row for row in listed(expected) if row[0] in leaves]


def test_an_entry_given_later_keeps_its_place_in_the_order(plan):
    """An entry set aside (an id's hash seen before) and folded at the end counts where it
    stands in the file, not last: of two notes on the same moment the file's later one."""
    first = Entry("a", "2019-07-01T08:00:00+00:00", dt.date(2019, 7, 1), "1.1", "note", "X",
                  note="first")
    second = first._replace(id="a", note="second")
    fold = state.Fold(plan, dt.date(2019, 7, 2))
    held = fold.next()
    fold.add(second)
    fold.add(first, held)
    assert fold.states()["1.1"].note == "second"


# --- the history folded as it is read --------------------------------------------------------

def _files_say(root: Path, as_of: dt.date) -> tuple[Any, Any]:
    try:
        loaded = storage.load(storage.Workspace(root))
    except InvalidData as error:
        return "invalid", error.problems
    return loaded.problems, listed(state.state_as_of(loaded.plan, loaded.replay(), as_of))


def _folded(root: Path, as_of: dt.date) -> tuple[Any, Any]:
    try:
        loaded = storage.load(storage.Workspace(root), as_of=as_of)
    except InvalidData as error:
        return "invalid", error.problems
    return loaded.problems, listed(loaded.states(as_of))


OFFICES = ["tester", "gia-loc", "kinh-mon"]


@given(st.lists(st.tuples(st.sampled_from(OFFICES), st.integers(0, 200),
                          st.integers(-8, len(ODD_LINES) - 1)), max_size=25),
       st.sampled_from([dt.date(2019, 7, 10), dt.date(2019, 12, 31)]),
       st.sampled_from(["", "collide", "spread", "shares"]))
@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture])
def test_a_history_folded_as_read_says_what_the_files_say(tmp_path_factory, lines, as_of,
                                                          collide):
    """Lines copied from office to office (the first counts), undone anywhere, unusual lines
    that make a file be read whole, ids whose hashes collide, ids past the few whose hashes
    are kept in a set, and the tasks folded a share at a time: the same problems, in the same
    order, and the same states."""
    root = storage.init_workspace(tmp_path_factory.mktemp("ws") / "ws").root
    history = root / "history"
    for office, n, odd in lines:
        record = _record(n)
        if odd in (-2, -3):
            record = {**record, "action": "undo", "undoes": _record(n // 2)["id"]}
            record.pop("qty", None)
            record.pop("place", None)
        text = ODD_LINES[odd](record) if odd >= 0 else _line(record)
        with (history / f"{office}.yaml").open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    expected = _files_say(root, as_of)
    with pytest.MonkeyPatch.context() as patch:
        if collide == "collide":
            patch.setattr(storage, "hash", lambda text: len(text) % 3, raising=False)
        elif collide == "spread":
            patch.setattr(storage, "_FEW", 2)
        elif collide == "shares":
            patch.setattr(storage, "_FOLDED_BYTES", 300)
        assert _folded(root, as_of) == expected


@pytest.mark.parametrize("few", [1, 2, 1000])
def test_a_line_copied_to_another_office_is_found_however_many_ids_came_before(
        tmp_path, monkeypatch, few):
    """The ids seen are kept in a set, then, past the few, in a table: a line copied from one
    office's file to another's is said to be a copy (the first counts) either way."""
    root = storage.init_workspace(tmp_path / "ws").root
    history = root / "history"
    (history / "gia-loc.yaml").write_text("".join(_line(_record(n)) + "\n" for n in range(5)),
                                          encoding="utf-8")
    (history / "kinh-mon.yaml").write_text(_line(_record(7)) + "\n" + _line(_record(1)) + "\n",
                                           encoding="utf-8")
    as_of = dt.date(2019, 12, 31)
    monkeypatch.setattr(storage, "_FEW", few)
    problems, states = _folded(root, as_of)
    assert (problems, states) == _files_say(root, as_of)
    assert [(Path(p.file).name, p.line) for p in problems] == [("kinh-mon.yaml", 2)]
