"""Many writers at once, readers beside them, a lock held too long, and writers killed with
SIGKILL at random instants: every entry is recorded or, for a killed writer, at most its own
entry is missing; every file always loads; nothing else changes.

The bounded runs (`stress`: 22 writers, 20 kills) run by default; the long ones (`full`: 60
writers, 200 kills or more) with `pytest -m full tests/test_concurrency.py`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ocop_cli.store import storage, write
from ocop_cli.tracker.check import validate

HOLD_LOCK = """
import sys, time
from pathlib import Path
from ocop_cli.store.storage import Workspace
from ocop_cli.store.write import locked
with locked(Workspace(Path(sys.argv[1]))):
    print("held", flush=True)
    time.sleep(120)
"""


# `ocop ARGS`, started ahead and held at a gate after its imports, so that many writers
# reach the lock in the same instant rather than one after another.
GATED = """
import os, sys, time
from ocop_cli.commands.app import app
from ocop_cli.store import storage  # what a run would import later
from ocop_cli.tracker import record
from ocop_cli.store import schema
from ocop_cli.core import state
gate = os.environ["OCOP_TEST_GATE"]
open(f"{gate}.{os.getpid()}", "w").close()
while not os.path.exists(gate):
    time.sleep(0.002)
app(sys.argv[1:], prog_name="ocop")
"""


def ocop_process(ws: Path, *args: str, gate: Path | None = None,
                 **env: str) -> subprocess.Popen[bytes]:
    command = ["-c", GATED] if gate else ["-m", "ocop_cli"]
    extra = {"OCOP_TEST_GATE": str(gate)} if gate else {}
    return subprocess.Popen([sys.executable, *command, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            env={**os.environ, "OCOP_DATA": str(ws), **extra, **env})


def history_lines(ws: Path) -> dict[str, list[str]]:
    return {p.name: p.read_text(encoding="utf-8").splitlines()
            for p in sorted((ws / "history").glob("*.yaml"))}


def entries_of(ws: Path) -> list[dict[str, Any]]:
    return [json.loads(line[2:]) for lines in history_lines(ws).values() for line in lines
            if line.startswith("- {")]


def files_of(ws: Path) -> dict[str, bytes]:
    """Every file of the workspace and its bytes, except ocop's own `.ocop/` (lock, index)."""
    return {p.relative_to(ws).as_posix(): p.read_bytes() for p in sorted(ws.rglob("*"))
            if p.is_file() and not p.relative_to(ws).as_posix().startswith(".ocop")}


def loads_whole(ws: Path) -> int:
    """Everything loads and validates (warnings allowed); the number of entries."""
    errors = [p for p in validate(storage.Workspace(ws)) if not p.warning]
    assert errors == [], errors
    return len(storage.load(storage.Workspace(ws)).entries)


class Readers:
    """Read the workspace over and over while writers work: through ocop's loading, and the
    raw history lines, each of which must be a whole entry at every instant."""

    def __init__(self, ws: Path) -> None:
        self.ws, self.rounds, self.failures = ws, 0, []  # type: list[str]
        self.counts: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Readers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for name, lines in history_lines(self.ws).items():
                    for line in lines:
                        if line.startswith("- "):
                            json.loads(line[2:])
                    if lines and not lines[0].startswith("# yaml-language-server"):
                        self.failures.append(f"{name} begins with {lines[0]!r}")
                self.counts.append(len(storage.load(storage.Workspace(self.ws)).entries))
            except Exception as exc:  # any failure to read is what this test looks for
                self.failures.append(f"{type(exc).__name__}: {exc}")
            self.rounds += 1
            time.sleep(0.01)


@pytest.mark.parametrize("writers", [
    pytest.param(22, marks=pytest.mark.stress), pytest.param(60, marks=pytest.mark.full)])
def test_writers_on_one_task_and_many_with_readers_beside(ws: Path, proc: Any, tmp_path: Path,
                                                          writers: int) -> None:
    plan_before = {k: v for k, v in files_of(ws).items() if not k.startswith("history/")}
    leaves = [t.id for t in storage.load(storage.Workspace(ws)).plan.leaves() if t.id != "1.2"]
    gate = tmp_path / "gate"
    with Readers(ws) as readers:
        children = []
        for i in range(writers):
            # Every third: `done` on one task, which only the first may record: each decides
            # from the state it reads under the lock. Else even: one task; odd: many tasks.
            args = (("done", "4") if i % 3 == 0 else ("progress", "1.2", "1") if i % 2 == 0
                    else ("note", leaves[i % len(leaves)], f"ghi chú {i}"))
            # Four recorders: several processes append to each file.
            children.append(ocop_process(ws, *args, "--by", f"Văn phòng {i % 4}",
                                         "--date", "2019-07-01", gate=gate,
                                         OCOP_LOCK_TIMEOUT="120"))
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("gate.*"))) < writers and time.monotonic() < deadline:
            time.sleep(0.05)
        gate.touch()  # all at once
        results = []
        for child in children:
            out, err = child.communicate(timeout=180)
            results.append((child.returncode, out.decode() + err.decode()))
    assert [code for code, _ in results] == [0] * writers, results
    assert readers.failures == [] and readers.rounds >= 5, (readers.failures, readers.rounds)
    assert readers.counts == sorted(readers.counts)  # never an entry seen, then gone
    entries = entries_of(ws)
    dones = [i for i in range(writers) if i % 3 == 0]
    progresses = [i for i in range(0, writers, 2) if i % 3]
    notes = [i for i in range(1, writers, 2) if i % 3]
    assert len(entries) == 1 + len(progresses) + len(notes)
    assert len({e["id"] for e in entries}) == len(entries)
    assert [e["task"] for e in entries if e["action"] == "done"] == ["4"]
    assert sum("already done" in out for _, out in results) == len(dones) - 1
    assert {e["note"] for e in entries if e["action"] == "note"} == {
        f"ghi chú {i}" for i in notes}
    assert len(history_lines(ws)) == 4
    shown = proc("show", "1.2", "--format", "json", env={"OCOP_DATA": str(ws)})
    assert json.loads(shown.stdout)["achieved"] == len(progresses)
    assert {k: v for k, v in files_of(ws).items() if not k.startswith("history/")} == plan_before
    check = proc("check", env={"OCOP_DATA": str(ws)})
    assert check.returncode == 0 and check.stderr == "", check.stderr


def test_a_writer_waiting_too_long_is_busy_and_a_killed_holder_frees_the_lock(
        ws: Path, ocop: Any) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(ws)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        before = files_of(ws)
        started = time.monotonic()
        busy = ocop_process(ws, "note", "1.1", "chờ", OCOP_LOCK_TIMEOUT="0.5")
        out, err = busy.communicate(timeout=60)
        assert busy.returncode == 4, err
        stderr = err.decode("utf-8")
        assert "Traceback" not in stderr and out == b""
        (message,) = [line for line in stderr.splitlines() if line.startswith("ocop: error:")]
        assert "busy" in message and f"pid {holder.pid}" in message, message
        assert time.monotonic() - started < 30
        assert files_of(ws) == before
        holder.send_signal(signal.SIGKILL)  # dies holding the lock
        holder.wait(timeout=30)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()  # type: ignore[union-attr]
    check = ocop("check")
    assert check.exit_code == 0, check.stderr
    assert f"lock left by an ocop that stopped while recording (pid {holder.pid}" in check.stderr
    after = ocop_process(ws, "note", "1.1", "sau", OCOP_LOCK_TIMEOUT="5")
    out, err = after.communicate(timeout=60)
    assert after.returncode == 0, err
    assert [e["note"] for e in entries_of(ws)] == ["sau"]
    assert "lock left" not in ocop("check").stderr  # the next writer cleared it


def test_check_reports_leftover_temporary_files(ws: Path, ocop: Any) -> None:
    (ws / ".ocop").mkdir(parents=True)
    left = ws / "history" / "tester.yaml.999999999.tmp"
    left.write_bytes(b"half a file")
    mine = ws / ".ocop" / f"plan_2019.{os.getpid()}.tmp"
    mine.write_bytes(b"being written by a live process")
    check = ocop("check")
    assert check.exit_code == 0, check.stderr
    assert f"warning: {left}: temporary file left by an interrupted write" in check.stderr
    assert str(mine) not in check.stderr


# --- SIGKILL at random instants ---------------------------------------------------------------


def kill_writers(ws: Path, kills: int, seed: int) -> dict[str, int]:
    """Start writers two at a time and SIGKILL each at a random instant of its life, until
    `kills` of them were killed while still running. After every round: every file loads,
    each history file only grew, by at most the entries of that round's writers, every writer
    that finished has its entry, and no other file changed."""
    rng = random.Random(seed)
    for _ in range(2):  # the first run also fills the index: a writer's life is the second's
        started = time.monotonic()
        timing = ocop_process(ws, "note", "1.1", "khởi động", OCOP_USER="Đo Thời Gian")
        timing.communicate(timeout=60)
        life = time.monotonic() - started
    stats = {"killed": 0, "finished": 0, "rounds": 0, "lock_left": 0}
    recorders = ["Phòng A", "Phòng B", "Phòng C"]
    while stats["killed"] < kills:
        before = files_of(ws)
        writers = []
        for j in range(2):
            mark = f"k{stats['rounds']}-{j}"
            # Half the kills anywhere in a writer's life, half late in it, where it holds the
            # lock, reads and appends.
            delay = rng.uniform(0, 1.1 * life) if rng.random() < 0.5 else rng.uniform(
                0.6 * life, 1.05 * life)
            child = ocop_process(ws, "note", rng.choice(["1.1", "2", "6"]), mark,
                                 OCOP_USER=rng.choice(recorders), OCOP_LOCK_TIMEOUT="60")
            writers.append((child, mark, time.monotonic() + delay))
        for child, _, at in sorted(writers, key=lambda w: w[2]):
            time.sleep(max(0.0, at - time.monotonic()))
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
        finished = []
        for child, mark, _ in writers:
            child.wait(timeout=60)
            child.stdout.close()  # type: ignore[union-attr]
            child.stderr.close()  # type: ignore[union-attr]
            if child.returncode == -signal.SIGKILL:
                stats["killed"] += 1
            else:
                assert child.returncode == 0, child.returncode
                stats["finished"] += 1
                finished.append(mark)
        stats["rounds"] += 1
        stats["lock_left"] += (ws / ".ocop" / write.OWNER).exists()
        after = files_of(ws)
        loads_whole(ws)
        marks = [w[1] for w in writers]
        added: list[str] = []
        for name, data in after.items():
            old = before.get(name, b"")
            if not name.startswith("history/"):
                assert data == old, f"{name} changed"
                continue
            assert data.startswith(old), f"{name} was rewritten, not appended to"
            new_lines = data[len(old):].decode("utf-8").splitlines()
            if not old and new_lines:  # a new file starts with its header
                assert new_lines[0].startswith("# yaml-language-server"), new_lines
                new_lines = new_lines[3:]
            for number, line in enumerate(new_lines, 1):
                assert line.startswith("- {"), line
                try:
                    added.append(json.loads(line[2:])["note"])
                except ValueError:  # only the entry in flight may be cut short
                    assert number == len(new_lines) and not data.endswith(b"\n"), line
                    stats["torn"] = stats.get("torn", 0) + 1
        assert set(before) <= set(after), "a file disappeared"
        assert sorted(added) == sorted(set(added)) and set(added) <= set(marks), added
        assert set(finished) <= set(added), (finished, added)
    return stats


@pytest.mark.stress
def test_sigkill_at_random_instants_bounded(ws: Path) -> None:
    stats = kill_writers(ws, kills=20, seed=int(os.environ.get("OCOP_TEST_SEED", "1819")))
    print(stats)
    assert stats["killed"] >= 20


@pytest.mark.full
def test_sigkill_at_random_instants_full(ws: Path) -> None:
    seed = int(os.environ.get("OCOP_TEST_SEED", str(time.time_ns() % 10**6)))
    print(f"seed {seed} (set OCOP_TEST_SEED to repeat)")
    stats = kill_writers(ws, kills=int(os.environ.get("OCOP_TEST_KILLS", "200")), seed=seed)
    print(stats)
    assert stats["killed"] >= 200 or "OCOP_TEST_KILLS" in os.environ


@pytest.mark.parametrize(("value", "seconds"), [
    ("0.5", 0.5), ("-1", 0.0), ("abc", 10.0), ("nan", 10.0), ("inf", 3600.0), ("", 10.0)])
def test_lock_timeout_never_means_wait_forever(monkeypatch: pytest.MonkeyPatch, value: str,
                                               seconds: float) -> None:
    monkeypatch.setenv("OCOP_LOCK_TIMEOUT", value)
    assert write.lock_timeout() == seconds
