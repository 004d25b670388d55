"""Hostile files in the plan, agencies and history places: each is refused with one clear
message (file, and line where there is one) and exit 3, or read as plain text when it is
harmless; nothing is executed, nothing runs away with time or memory, and no file changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import PEAK_MB

TARGETS = {"plan": "plan_2019.yaml", "agencies": "agencies.yaml",
           "history": "history/tester.yaml"}
MiB = 2**20


def snapshot(ws: Path) -> dict[str, Any]:
    """Every file of the workspace and its content, except ocop's own `.ocop/` (lock, index).
    A huge file is identified by its size and its first and last MiB, to stay fast."""
    found: dict[str, Any] = {}
    for path in sorted(ws.rglob("*")):
        rel = path.relative_to(ws).as_posix()
        if rel.startswith(".ocop") or path.is_dir():
            found[rel] = "folder" if path.is_dir() and not rel.startswith(".ocop") else None
            continue
        if not path.is_file():
            found[rel] = f"special -> {os.readlink(path) if path.is_symlink() else '?'}"
            continue
        size = path.stat().st_size
        with path.open("rb") as handle:
            if size <= 32 * MiB:
                digest = hashlib.sha256(handle.read()).hexdigest()
            else:
                head = handle.read(MiB)
                handle.seek(-MiB, os.SEEK_END)
                digest = hashlib.sha256(head + handle.read(MiB)).hexdigest()
        found[rel] = (size, digest)
    return {k: v for k, v in found.items() if v is not None}


@pytest.fixture
def filled(ws: Path, ocop: Any) -> Path:
    """A workspace with a history file: two entries by Tester, as `ocop` appends them."""
    import datetime as dt

    from ocop_cli.core.model import Entry
    from ocop_cli.store.write import append

    append(ws / TARGETS["history"], [
        Entry(id="0000000000aa00000000", at="2019-07-10T01:00:00+00:00",
              date=dt.date(2019, 7, 10), task="1.2", action="progress", by="Tester", qty=3),
        Entry(id="0000000000aa00000001", at="2019-07-11T01:00:00+00:00",
              date=dt.date(2019, 7, 11), task="2", action="note", by="Tester",
              note="đã phát sóng"),
    ], inside=ws)
    return ws


# --- the cases -------------------------------------------------------------------------------

BOMB = "\n".join(
    [f'a: &a ["{"lol" * 10}", "{"lol" * 10}", "{"lol" * 10}"]']
    + [f"{b}: &{b} [{', '.join(['*' + a] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi",
                                                                     strict=True)]
) + "\n"
HISTORY_LINE = ('- {"id": "%s", "at": "2019-07-12T01:00:00+00:00", "date": "2019-07-12", '
                '"task": "1.1", "action": "note", "by": "Tester", "note": "x"}\n')
MARKER = "ocop-was-here"


def _malformed(target: str, raw: bytes) -> bytes:
    return raw + b"\noops: [1, 2\nmore: x\n"


def _duplicate(target: str, raw: bytes) -> bytes:
    if target == "history":
        return raw + (HISTORY_LINE % "0000000000aa00000001").replace(
            '"task": "1.1"', '"task": "1.1", "task": "2"').encode()
    key = b"year: 2020" if target == "plan" else b"agencies: []"
    return raw + b"\n" + key + b"\n"


def _anchors(target: str, raw: bytes) -> bytes:
    if target == "history":
        return raw + b"- &e {id: a}\n- *e\n"
    return raw + b"\nx: &x [1, 2]\ny: *x\n"


def _bomb(target: str, raw: bytes) -> bytes:
    if target == "history":
        return ("- " + BOMB.replace("\n", "\n  ")).encode()
    return BOMB.encode()


def _deep(target: str, raw: bytes) -> bytes:
    prefix = "- " if target == "history" else "x:\n  "
    return (prefix + "- " * 100_000 + "x\n").encode()


def _deep_flow(target: str, raw: bytes) -> bytes:
    prefix = "- " if target == "history" else "x: "
    return (prefix + "[" * 100_000 + "]" * 100_000 + "\n").encode()


def _python_tag(target: str, raw: bytes) -> bytes:
    call = f'!!python/object/apply:os.system ["touch {MARKER}"]'.encode()
    if target == "history":
        return raw + b"- " + call + b"\n"
    return raw.replace(b"\ntitle:", b"\ntitle: " + call + b"\nold_title:", 1) if (
        target == "plan") else raw + b"\nx: " + call + b"\n"


def _python_name(target: str, raw: bytes) -> bytes:
    tag = b"!!python/name:os.system"
    return raw + (b"- " if target == "history" else b"\nx: ") + tag + b"\n"


def _cp1258(target: str, raw: bytes) -> bytes:
    return raw.decode("utf-8").encode("cp1258", errors="replace")


def _utf16(target: str, raw: bytes) -> bytes:
    return raw.decode("utf-8").encode("utf-16")


def _utf16_no_bom(target: str, raw: bytes) -> bytes:
    return raw.decode("utf-8").encode("utf-16-le")


def _conflict(target: str, raw: bytes) -> bytes:
    lines = raw.splitlines(keepends=True)
    at = len(lines) - 1
    return b"".join([*lines[:at], b"<<<<<<< HEAD\n", lines[at], b"=======\n", lines[at],
                     b">>>>>>> their-branch\n"])


def _empty(target: str, raw: bytes) -> bytes:
    return b""


def _comments_only(target: str, raw: bytes) -> bytes:
    return b"# nothing here yet\n\n"


CONTENT_CASES: dict[str, tuple[Callable[[str, bytes], bytes], str]] = {
    "malformed YAML": (_malformed, r":\d+:\d+: .*(flow|expected|found)"),
    "duplicate key": (_duplicate, r":\d+:\d+: duplicate key '(year|agencies|task)' \(first at "
                                  r"line \d+\)"),
    "anchor and alias": (_anchors, r":\d+:\d+: anchors and aliases \(& and \*\) are not allowed"),
    "alias bomb": (_bomb, r":\d+:\d+: anchors and aliases"),
    "deep nesting (block)": (_deep, r":\d+:\d+: nested more than 64 levels deep"),
    "deep nesting (flow)": (_deep_flow, r":\d+:\d+: (nested more than 64 levels deep|.*maximum "
                                        r"nesting depth)"),
    "!!python/object tag": (_python_tag, r":\d+:\d+: tag tag:yaml.org,2002:python/object/apply:"
                                         r"os.system is not allowed"),
    "!!python/name tag": (_python_name, r":\d+:\d+: tag tag:yaml.org,2002:python/name:os.system "
                                        r"is not allowed"),
    "cp1258 bytes": (_cp1258, r":\d+:\d+: byte 0x[0-9a-f]{2} is not UTF-8 \(was the file saved "
                              r"in another encoding\?\)"),
    "UTF-16 with BOM": (_utf16, r":1:1: the file is UTF-16; save it as UTF-8"),
    "UTF-16 without BOM": (_utf16_no_bom, r":1:\d+: the file holds NUL bytes: it is UTF-16"),
    "conflict markers": (_conflict, r":\d+:1: merge conflict markers: resolve the merge first"),
    "empty file": (_empty, r": the file is empty"),
    "comments only": (_comments_only, r": the file is empty"),
}
# An empty history file is what a recorder killed between creating and writing leaves: valid.
HARMLESS_IN_HISTORY = {"empty file", "comments only"}
# A history file is one entry a line, each one JSON object: YAML's constructs are none.
NOT_A_LINE = r":\d+:\d+: not a line as ocop writes it"
IN_HISTORY = {case: NOT_A_LINE for case in (
    "anchor and alias", "alias bomb", "deep nesting (block)", "deep nesting (flow)",
    "!!python/object tag", "!!python/name tag")}


def pattern_for(target: str, case: str) -> str:
    """What refusing `case` in `target` says."""
    return IN_HISTORY.get(case, CONTENT_CASES[case][1]) if target == "history" \
        else CONTENT_CASES[case][1]


def _huge(path: Path) -> None:
    path.unlink()
    with path.open("wb") as handle:
        handle.truncate(200 * MiB)  # sparse: fast to make, 200 MB to anyone who reads it


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside.yaml").write_text("a: 1\n", encoding="utf-8")


def _device(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")  # endless: whoever reads it all never finishes


def _pipe(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)  # opened for reading as it is, it waits for a writer forever


def _outside(path: Path) -> None:
    """The file moved out of the workspace and a link left in its place: whole and valid,
    but a recording through it would land outside the workspace."""
    away = path.parent.parent / f"elsewhere-{path.name}"
    if path.parent.name == "history":
        away = path.parent.parent.parent / f"elsewhere-{path.name}"
    path.rename(away)
    path.symlink_to(away)


def _dangling(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent / "gone" / path.name)


PLACE_CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "200 MB file": (_huge, r": is 200 MB, over the limit of (16|64) MB"),
    "folder instead of file": (_folder, r": is a folder, expected a file"),
    "link to a device": (_device, r": is a symbolic link \(to /dev/zero\); ocop reads and "
                                  r"writes only regular files inside the workspace"),
    "pipe instead of file": (_pipe, r": is not a regular file \(a device, pipe or socket\)"),
    "link to a file outside": (_outside, r": is a symbolic link \(to .*elsewhere-"),
    "link to nowhere": (_dangling, r": is a symbolic link \(to .*gone/"),
}
# Read in full by mistake, these exhaust memory or wait forever: they are only ever tried in a
# real process whose address space is capped (see `measured`), never inside the test runner.
RUNAWAY = {"200 MB file", "link to a device", "pipe instead of file"}


def expect_refused(ocop: Any, ws: Path, file: str, pattern: str) -> None:
    """Reading, checking and recording all stop with exit 3 and one message naming the file;
    no file of the workspace changes."""
    before = snapshot(ws)
    # `tasks` reads as `note` does, before `note` takes the lock: `note` covers both.
    for args in (("note", "1.1", "còn thiếu"), ("check",)):
        result = ocop(*args)
        assert result.exit_code == 3, (args, result.stdout, result.stderr)
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        # `check` lists each problem as "error: …" and counts them; others say "ocop: error: …"
        errors = [line for line in result.stderr.splitlines()
                  if line.startswith(("error: ", "ocop: error: "))]
        assert len(errors) == 1, result.stderr
        assert str(ws / file) in errors[0], errors
        assert re.search(re.escape(str(ws / file)) + pattern, errors[0]), errors[0]
    assert snapshot(ws) == before


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", CONTENT_CASES)
def test_hostile_content_is_refused(filled: Path, ocop: Any, target: str, case: str) -> None:
    make, pattern = CONTENT_CASES[case][0], pattern_for(target, case)
    path = filled / TARGETS[target]
    path.write_bytes(make(target, path.read_bytes()))
    if target == "history" and case in HARMLESS_IN_HISTORY:
        result = ocop("tasks", "--format", "json")
        assert result.exit_code == 0, result.stderr
        assert next(t for t in result.json() if t["id"] == "2")["status"] == "not_started"
        assert ocop("check").exit_code == 0
        return
    expect_refused(ocop, filled, TARGETS[target], pattern)
    assert not (Path.cwd() / MARKER).exists()


@pytest.mark.parametrize("target", TARGETS)
def test_a_folder_in_place_of_a_file_is_refused(filled: Path, ocop: Any, target: str) -> None:
    make, pattern = PLACE_CASES["folder instead of file"]
    make(filled / TARGETS[target])
    expect_refused(ocop, filled, TARGETS[target], pattern)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", ["link to a file outside", "link to nowhere"])
def test_a_link_in_place_of_a_file_is_refused_and_nothing_written_through_it(
        filled: Path, ocop: Any, target: str, case: str) -> None:
    make, pattern = PLACE_CASES[case]
    path = filled / TARGETS[target]
    make(path)
    away = Path(os.readlink(path))
    outside = away.read_bytes() if away.exists() else None
    expect_refused(ocop, filled, TARGETS[target], pattern)
    assert (away.read_bytes() if away.exists() else None) == outside


def test_a_link_in_place_of_the_history_folder_is_refused(filled: Path, ocop: Any,
                                                         tmp_path: Path) -> None:
    other = tmp_path / "other-history"
    (filled / "history").rename(other)
    (filled / "history").symlink_to(other)
    before = {p.name: p.read_bytes() for p in other.iterdir()}
    expect_refused(ocop, filled, "history", r": is a symbolic link; ocop reads and writes only "
                                            r"regular files inside the workspace")
    assert {p.name: p.read_bytes() for p in other.iterdir()} == before


def test_a_file_in_place_of_the_history_folder_is_refused(filled: Path, ocop: Any) -> None:
    import shutil

    shutil.rmtree(filled / "history")
    (filled / "history").write_text("- {}\n", encoding="utf-8")
    expect_refused(ocop, filled, "history", r": is a file, expected the history folder")


def test_a_folder_in_place_of_agencies_is_reported_not_taken_for_no_workspace(
        filled: Path, ocop: Any) -> None:
    _folder(filled / "agencies.yaml")
    result = ocop("tasks")
    assert result.exit_code == 3, result.stderr
    assert "is a folder, expected a file" in result.stderr


# --- harmless oddities are read as meant ---------------------------------------------------


def _outputs(ocop: Any) -> tuple[Any, Any]:
    tasks, history = ocop("tasks", "--format", "json"), ocop("history", "--format", "json")
    assert tasks.exit_code == 0 and history.exit_code == 0, tasks.stderr + history.stderr
    return tasks.json(), history.json()


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", ["BOM", "CRLF", "BOM and CRLF"])
def test_bom_and_crlf_read_the_same_and_survive_recording(filled: Path, ocop: Any, target: str,
                                                          case: str) -> None:
    expected = _outputs(ocop)
    path = filled / TARGETS[target]
    raw = path.read_bytes()
    if "CRLF" in case:
        raw = raw.replace(b"\n", b"\r\n")
    if "BOM" in case:
        raw = b"\xef\xbb\xbf" + raw
    path.write_bytes(raw)
    assert _outputs(ocop) == expected
    check = ocop("check")
    assert check.exit_code == 0 and check.stderr == "", check.stderr
    others = {k: v for k, v in snapshot(filled).items() if k != TARGETS["history"]}
    assert ocop("note", "1.1", "sau").exit_code == 0
    assert {k: v for k, v in snapshot(filled).items() if k != TARGETS["history"]} == others
    history = (filled / TARGETS["history"]).read_bytes()
    if target == "history":
        assert history.startswith(raw)  # appended after, never rewritten
    tasks, entries = _outputs(ocop)
    assert tasks == expected[0]
    assert [e["note"] for e in entries] == [None, "đã phát sóng", "sau"]


def test_yaml_1_1_scalars_stay_text_in_the_plan(ws: Path, ocop: Any) -> None:
    path = ws / "plan_2019.yaml"
    text = path.read_text(encoding="utf-8")
    task = ('  - id: "1.1"\n    title: Hội nghị cấp tỉnh\n    unit: Hội nghị\n    target: "1"\n')
    assert task in text
    path.write_text(text.replace(task, (
        '  - id: "1.1"\n    title: NO\n    unit: 3.10\n    target: 012\n'
        '    notes: [8:30, 012, "off", 1e3, 0x1F, .inf, yes, 2019-06-07]\n')), encoding="utf-8")
    result = ocop("show", "1.1", "--format", "json")
    assert result.exit_code == 0, result.stderr
    shown = result.json()
    assert (shown["title"], shown["unit"], shown["target_text"]) == ("NO", "3.10", "012")
    assert shown["target"]["min"] == shown["target"]["max"] == 12  # 012 is twelve, as "01" is one
    assert shown["notes"] == ["8:30", "012", "off", "1e3", "0x1F", ".inf", "yes", "2019-06-07"]


def test_yaml_1_1_scalars_stay_text_in_agencies(ws: Path, ocop: Any) -> None:
    path = ws / "agencies.yaml"
    text = path.read_text(encoding="utf-8")
    old = "    aliases: [Ủy ban nhân dân tỉnh, UBND tỉnh Hải Dương]\n"
    assert old in text
    path.write_text(text.replace(old, "    aliases: [Ủy ban nhân dân tỉnh, UBND tỉnh Hải Dương, "
                                      "8:30, 012, 3.10]\n"), encoding="utf-8")
    for spelling in ("8:30", "012", "3.10"):
        result = ocop("tasks", "--agency", spelling, "--role", "lead", "--format", "json")
        assert result.exit_code == 0, result.stderr
        assert {t["id"] for t in result.json() if t["leaf"]} == {"1.1"}
    assert ocop("tasks", "--agency", "510").exit_code == 1  # 8:30 is not 510 minutes


def test_an_entry_written_by_hand_in_block_yaml_is_refused_at_its_line(filled: Path,
                                                                      ocop: Any) -> None:
    path = filled / TARGETS["history"]
    with path.open("a", encoding="utf-8") as handle:
        handle.write("- id: 0000000000aa0000ffff\n  at: 2019-07-12T08:30:00+00:00\n"
                     "  date: 2019-07-12\n  task: 1.1\n  action: note\n  by: NO\n")
    expect_refused(ocop, filled, TARGETS["history"], r":6:1: not a line as ocop writes it: "
                                                     r"expected - \{…\}, one JSON object")


@pytest.mark.parametrize(("change", "pattern"), [
    (('"note": "x"', f'"note": !!python/object/apply:os.system ["touch {MARKER}"]'),
     r":6:\d+: not a line as ocop writes it: Expecting value"),
    (('"note": "x"', '"note": "x", "note": "y"'), r":6:\d+: duplicate key 'note'"),
    (('{"id"', '&a {"id"'), r":6:1: not a line as ocop writes it")])
def test_a_whole_entry_line_breaking_a_rule_is_an_error(filled: Path, ocop: Any,
                                                         change: tuple[str, str],
                                                         pattern: str) -> None:
    path = filled / TARGETS["history"]
    line = (HISTORY_LINE % "0000000000aa00000002").replace(*change)
    path.write_text(path.read_text(encoding="utf-8") + line, encoding="utf-8")
    expect_refused(ocop, filled, TARGETS["history"], pattern)
    assert not (Path.cwd() / MARKER).exists()


def test_a_complete_but_damaged_line_is_an_error_a_cut_line_a_warning(filled: Path,
                                                                       ocop: Any) -> None:
    path = filled / TARGETS["history"]
    whole = HISTORY_LINE % "0000000000aa00000002"
    path.write_text(path.read_text(encoding="utf-8") + whole[:50], encoding="utf-8")
    before = snapshot(filled)
    assert ocop("tasks").exit_code == 0
    check = ocop("check")  # other commands read past it; check says the file is damaged
    assert check.exit_code == 3
    assert re.search(r"error: .*tester\.yaml:6:1: half-written", check.stderr), check.stderr
    assert snapshot(filled) == before
    # Nested past what json reads: a whole line, left out with a warning, never a crash.
    path.write_text(path.read_text(encoding="utf-8") + "\n- {\"x\": " + "[" * 50_000 +
                    "]" * 50_000 + "}\n", encoding="utf-8")
    assert ocop("tasks").exit_code == 0
    result = ocop("check")
    assert result.exit_code == 3 and "Traceback" not in result.stderr
    assert result.stderr.count("error:") == 2


# --- fail fast: time and memory, measured in a real process -----------------------------------

MEASURE = """
import json, os, sys, time
""" + PEAK_MB + """
start = time.process_time()
from ocop_cli.commands.app import app
try:
    app(sys.argv[1:], prog_name="ocop")
    code = 0
except SystemExit as exit:
    code = exit.code
peak = peak_mb()
with open(os.environ["OCOP_TEST_STATS"], "w") as out:
    json.dump({"seconds": time.process_time() - start, "peak_mb": peak}, out)
sys.exit(code)
"""


def _cap_memory() -> None:
    # A safety net for the machine running the tests: a regression fails, it does not swap.
    resource.setrlimit(resource.RLIMIT_AS, (768 * MiB, 768 * MiB))


def measured(ws: Path, tmp_path: Path, *args: str, env: dict[str, str] | None = None
             ) -> tuple[subprocess.CompletedProcess[str], dict[str, float]]:
    stats = tmp_path / "stats.json"
    stats.unlink(missing_ok=True)
    full_env = {**os.environ, "OCOP_DATA": str(ws), "OCOP_TEST_STATS": str(stats), **(env or {})}
    done = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True,
                          encoding="utf-8", env=full_env, timeout=60, check=False,
                          preexec_fn=_cap_memory, cwd=tmp_path)
    assert stats.exists(), done.stderr[-2000:]
    return done, json.loads(stats.read_text())


def expect_refused_fast(ws: Path, tmp_path: Path, file: str, pattern: str,
                        env: dict[str, str] | None = None) -> None:
    """`expect_refused` for a recording, in a real process: under a second of CPU and 100 MB."""
    before = snapshot(ws)
    for args in (("note", "1.1", "còn thiếu"),):
        done, stats = measured(ws, tmp_path, *args, env=env)
        assert done.returncode == 3, (args, done.stderr[-2000:])
        assert "Traceback" not in done.stderr and done.stdout == ""
        errors = [line for line in done.stderr.splitlines()
                  if line.startswith(("ocop: error:", "error:"))]
        assert len(errors) == 1, done.stderr
        assert re.search(re.escape(str(ws / file)) + pattern, errors[0]), errors[0]
        assert stats["seconds"] < 1.0, stats
        assert stats["peak_mb"] < 100, stats
    assert snapshot(ws) == before


FAST_CASES = [("plan", "alias bomb"), ("agencies", "alias bomb"), ("history", "alias bomb"),
              ("plan", "deep nesting (block)"), ("plan", "deep nesting (flow)"),
              ("history", "deep nesting (block)")]


@pytest.mark.parametrize(("target", "case"), FAST_CASES)
def test_bombs_fail_fast(filled: Path, tmp_path: Path, target: str, case: str) -> None:
    make, pattern = CONTENT_CASES[case][0], pattern_for(target, case)
    path = filled / TARGETS[target]
    path.write_bytes(make(target, path.read_bytes()))
    expect_refused_fast(filled, tmp_path, TARGETS[target], pattern)


@pytest.mark.parametrize(("case", "target", "index"), [
    *((case, target, "off") for case in sorted(RUNAWAY) for target in TARGETS),
    # The same fault for every file: one case of each shows it.
    *((case, "plan", "on") for case in sorted(RUNAWAY))])
def test_huge_and_endless_files_are_refused_fast(filled: Path, tmp_path: Path, target: str,
                                                case: str, index: str) -> None:
    make, pattern = PLACE_CASES[case]
    make(filled / TARGETS[target])
    expect_refused_fast(filled, tmp_path, TARGETS[target], pattern,
                        env={"OCOP_NO_INDEX": "1" if index == "off" else "0"})


def test_a_python_tag_executes_nothing_in_a_real_process(filled: Path, tmp_path: Path) -> None:
    path = filled / TARGETS["plan"]
    path.write_bytes(_python_tag("plan", path.read_bytes()))
    done, _ = measured(filled, tmp_path, "note", "1.1", "x")
    assert done.returncode == 3 and "is not allowed" in done.stderr, done.stderr
    assert not (tmp_path / MARKER).exists()
