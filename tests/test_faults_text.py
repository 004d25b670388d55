"""Hostile text in titles, agency names and history entries (Rich markup, emoji codes, ANSI and
OSC escape sequences, C1 controls, bidi overrides) is printed literally or made visible, never
obeyed: in table, JSON, CSV and Markdown, through a pipe and on a pseudo-terminal.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ocop_cli.core.text import visible

MARKUP = "[bold]B[/] [link=http://x.io]L[/link]"
EMOJI = ":warning: :smile: [/]"
ANSI = "\x1b[5;35mBLINK\x1b[2J"
OSC = "\x1b]0;PWN\x07 \x1b]8;;http://x\x1b\\L"
C1 = "\x9b1mC\x9d0;T\x9c \x85\x7f"
BIDI = "\u202eRTL"
TITLES = {"1.1": MARKUP, "1.2": EMOJI, "2": ANSI, "3.1": OSC, "4": C1, "6": BIDI}
AGENCY_SHORT = "[red]U[/] \x1b[5mV"
AGENCY_NAME = "Ủy ban \x1b]0;NAME\x07[bold]tỉnh[/]"
NOTE = "\x1b]0;NOTE\x07[bold]n[/] :warning:"
REF = "[link=http://x]R\x9b2J"
BY = "[i]X[/i]\x1b[5m"
HOSTILE = [*TITLES.values(), AGENCY_SHORT, AGENCY_NAME, NOTE, REF, BY]

# What must never reach the output raw: ESC, BEL, C1 controls, DEL, bidi overrides.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
RICH_SGR = re.compile(r"\x1b\[[0-9;]*m")  # the colours Rich itself draws on a terminal


def quoted(text: str) -> str:
    """A YAML double-quoted scalar: JSON's escapes (\\u001b …) are YAML's too."""
    return json.dumps(text, ensure_ascii=True)


@pytest.fixture
def hostile(ws: Path, ocop: Any) -> Path:
    plan = ws / "plan_2019.yaml"
    text = plan.read_text(encoding="utf-8")
    for task, title in TITLES.items():
        text, n = re.subn(rf'(  - id: "{re.escape(task)}"\n    title: ).*\n',
                          lambda m, t=title: m.group(1) + quoted(t) + "\n", text)
        assert n == 1, task
    plan.write_text(text, encoding="utf-8")
    agencies = ws / "agencies.yaml"
    text = agencies.read_text(encoding="utf-8")
    old = ("    short: UBND tỉnh\n    name: Ủy ban nhân dân tỉnh Hải Dương\n"
           "    aliases: [Ủy ban nhân dân tỉnh, UBND tỉnh Hải Dương]\n")
    assert old in text
    agencies.write_text(text.replace(old, (
        f"    short: {quoted(AGENCY_SHORT)}\n    name: {quoted(AGENCY_NAME)}\n"
        "    aliases: [UBND tỉnh, Ủy ban nhân dân tỉnh Hải Dương, Ủy ban nhân dân tỉnh, "
        "UBND tỉnh Hải Dương]\n")), encoding="utf-8")
    result = ocop("note", "2", NOTE, "--ref", REF, "--by", BY, "--date", "2019-07-10")
    assert result.exit_code == 0, result.stderr
    assert ocop("check").exit_code == 0
    return ws


def assert_shown_safely(out: str, fragments: list[str] | None = None) -> None:
    """No control character of the data reaches the output raw; each fragment of hostile text
    is there in its visible form, markup and emoji codes as typed."""
    assert not RAW_CONTROL.search(out), repr(RAW_CONTROL.search(out))
    for text in fragments if fragments is not None else HOSTILE:
        assert visible(text) in out, (visible(text), out)
    assert "⚠" not in out and "😄" not in out


def quoted_in(text: str, out: str) -> bool:
    """A message quotes what the user typed made visible, or as Python's repr of it."""
    return visible(text) in out or repr(text)[1:-1] in out


def test_the_visible_form_names_each_character() -> None:
    assert visible(OSC) == "\\x1b]0;PWN\\x07 \\x1b]8;;http://x\\x1b\\L"
    assert visible(C1) == "\\x9b1mC\\x9d0;T\\x9c \\x85\\x7f"
    assert visible(BIDI) == "\\u202eRTL"  # not \x202e, which reads as \x20 then "2e"
    assert visible("Hải Dương\ttab\nline") == "Hải Dương\ttab\nline"


# --- through a pipe ----------------------------------------------------------------------------


def contents(ws: Path) -> dict[str, bytes]:
    return {p.relative_to(ws).as_posix(): p.read_bytes() for p in ws.rglob("*")
            if p.is_file() and ".ocop" not in p.parts}


def test_task_table_csv_and_md(hostile: Path, ocop: Any) -> None:
    before = contents(hostile)
    titles_and_agency = [*TITLES.values(), AGENCY_SHORT]
    table = ocop("tasks")
    assert table.exit_code == 0, table.stderr
    assert_shown_safely(table.stdout, titles_and_agency)
    rows = list(csv.DictReader(io.StringIO(ocop("tasks", "--format", "csv").stdout)))
    by_id = {r["ID"]: r for r in rows}
    for task, title in TITLES.items():
        assert by_id[task]["Task"].strip() == visible(title)
    assert by_id["1.1"]["Lead"] == visible(AGENCY_SHORT)
    md = ocop("tasks", "--format", "md").stdout
    assert not RAW_CONTROL.search(md)
    for text in titles_and_agency:
        assert visible(text).replace("\\", "\\\\") in md
    assert contents(hostile) == before


def test_task_json_keeps_the_text_exactly(hostile: Path, ocop: Any) -> None:
    result = ocop("tasks", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    tasks = {t["id"]: t for t in result.json()}
    for task, title in TITLES.items():
        assert tasks[task]["title"] == title  # data, not display: exactly as written
    assert tasks["1.1"]["lead"] == AGENCY_SHORT


def test_task_json_escapes_c1_and_bidi(hostile: Path, ocop: Any) -> None:
    out = ocop("tasks", "--format", "json").stdout
    assert not RAW_CONTROL.search(out), repr(RAW_CONTROL.search(out))


def test_task_json_from_the_index_rows_is_escaped_alike(hostile: Path, ocop: Any) -> None:
    """The plan without its task counted from the product register: the listing is served
    from the rows the index keeps (escaped when kept), and printed again as kept."""
    plan = hostile / "plan_2019.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("products_at: sent", ""),
                    encoding="utf-8")
    plain = ocop("tasks", "--format", "json", env={"OCOP_NO_INDEX": "1"}).stdout
    for _ in range(2):
        out = ocop("tasks", "--format", "json").stdout
        assert not RAW_CONTROL.search(out), repr(RAW_CONTROL.search(out))
        assert out == plain


@pytest.mark.parametrize("fmt", ["table", "csv", "md"])
def test_history_and_show(hostile: Path, ocop: Any, fmt: str) -> None:
    history = ocop("history", "--format", fmt)
    assert history.exit_code == 0, history.stderr
    expected = [NOTE, REF, BY]
    shown = history.stdout.replace("\\\\", "\\") if fmt == "md" else history.stdout
    assert_shown_safely(shown, expected)
    show = ocop("show", "2", "--format", fmt)
    assert show.exit_code == 0, show.stderr
    shown = show.stdout.replace("\\\\", "\\") if fmt == "md" else show.stdout
    assert_shown_safely(shown, [ANSI, NOTE, REF])


def test_messages_and_errors_show_hostile_text_visibly(hostile: Path, ocop: Any) -> None:
    done = ocop("done", "1.1", "--date", "2019-07-12")
    assert done.exit_code == 0, done.stderr
    assert_shown_safely(done.stdout, [MARKUP])
    wrong = ocop("tasks", "--agency", OSC + MARKUP)
    assert wrong.exit_code == 1
    assert not RAW_CONTROL.search(wrong.stderr)
    assert quoted_in(OSC + MARKUP, wrong.stderr), wrong.stderr
    assert len([line for line in wrong.stderr.splitlines() if "error:" in line]) == 1


def test_a_real_pipe(hostile: Path, proc: Any) -> None:
    env = {"OCOP_DATA": str(hostile)}
    table = proc("tasks", env=env)
    assert table.returncode == 0 and "Traceback" not in table.stderr, table.stderr
    assert_shown_safely(table.stdout, [*TITLES.values(), AGENCY_SHORT])
    history = proc("history", "--format", "json", env=env)
    assert history.returncode == 0, history.stderr
    (entry,) = json.loads(history.stdout)
    assert (entry["note"], entry["ref"], entry["by"]) == (NOTE, REF, BY)


# --- on a terminal -------------------------------------------------------------------------


def on_terminal(args: list[str], ws: Path, stderr_too: bool = False,
                env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run `ocop ARGS` with its output on a pseudo-terminal (200 columns, colours on)."""
    import fcntl
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    full_env = {**os.environ, "OCOP_DATA": str(ws), "TERM": "xterm-256color", **(env or {})}
    full_env.pop("NO_COLOR", None)
    child = subprocess.Popen([sys.executable, "-m", "ocop_cli", *args], stdin=slave,
                             stdout=slave, stderr=slave if stderr_too else subprocess.PIPE,
                             env=full_env, close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if not ready:
            if child.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    err = b""
    if child.stderr is not None:
        err = child.stderr.read()
        child.stderr.close()
    child.wait(timeout=30)
    return child.returncode, out.decode("utf-8"), err.decode("utf-8")


def assert_safe_on_terminal(out: str, fragments: list[str]) -> None:
    # Rich draws colours (SGR) of its own; the data's SGR codes use blink, which Rich never
    # does, so they must not be found even before Rich's are taken out.
    assert "\x1b[5;35m" not in out and "\x1b[5m" not in out
    assert "\x1b]" not in out, "an OSC sequence (title, hyperlink) reached the terminal"
    plain = RICH_SGR.sub("", out).replace("\r\n", "\n")
    assert "\x1b" in out, "colours expected on a terminal: is this really a terminal?"
    assert_shown_safely(plain, fragments)


def test_task_table_on_a_terminal(hostile: Path) -> None:
    code, out, err = on_terminal(["tasks"], hostile)
    assert code == 0 and err == "", err
    assert_safe_on_terminal(out, [*TITLES.values(), AGENCY_SHORT])


def test_history_and_show_on_a_terminal(hostile: Path) -> None:
    code, out, err = on_terminal(["show", "2"], hostile)
    assert code == 0 and err == "", err
    assert_safe_on_terminal(out, [ANSI, NOTE, REF, BY])


def test_json_on_a_terminal(hostile: Path) -> None:
    code, out, _ = on_terminal(["tasks", "--format", "json"], hostile)
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    titles = {t["id"]: t["title"] for t in json.loads(out)}
    assert all(titles[task] == title for task, title in TITLES.items())


def test_an_error_on_a_terminal(hostile: Path) -> None:
    code, out, _ = on_terminal(["tasks", "--agency", OSC + ANSI], hostile, stderr_too=True)
    assert code == 1
    assert "Traceback" not in out
    assert "\x1b]" not in out and "\x1b[5;35m" not in out
    assert quoted_in(OSC + ANSI, out), out
