"""A hostile environment: a read-only workspace, a full disk, a missing workspace, an output
encoding of ASCII and the C locale. Each gives its documented exit code and one clear message,
never a traceback, and leaves every file as it was.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HISTORY = "history/tester.yaml"


def snapshot(ws: Path) -> dict[str, str]:
    """Every file of the workspace by content, except ocop's own `.ocop/` (lock, index)."""
    return {p.relative_to(ws).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(ws.rglob("*"))
            if p.is_file() and not p.relative_to(ws).as_posix().startswith(".ocop")}


def errors_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ocop: error:")]


@pytest.fixture
def recorded(ws: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with one entry by Tester, appended as `ocop note` appends it."""
    import datetime as dt

    from ocop_cli.core.model import Entry
    from ocop_cli.store.write import append

    monkeypatch.setenv("OCOP_DATA", str(ws))
    append(ws / HISTORY, [Entry(id="0000000000aa00000000", at="2019-06-20T01:00:00+00:00",
                                date=dt.date(2019, 6, 20), task="1.1", action="note",
                                by="Tester", note="đã họp")], inside=ws)
    return ws


def run_many(*runs: tuple[list[str], dict[str, str]], limited: bool = False
             ) -> list[subprocess.CompletedProcess[bytes]]:
    """Several `ocop` processes at once (each: arguments, extra environment); they are
    independent, and the machine has more than one core."""
    children = [subprocess.Popen([sys.executable, "-m", "ocop_cli", *args],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env={**os.environ, **env},
                                 preexec_fn=_without_root_file_powers if limited else None)
                for args, env in runs]
    done = []
    for child, (args, _) in zip(children, runs, strict=True):
        out, err = child.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(args, child.returncode, out, err))
    return done


# --- read-only workspace -----------------------------------------------------------------------

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def _without_root_file_powers() -> None:
    """Run as root, a child ignores file permissions; drop the capabilities that let it, so
    that a read-only workspace is read-only to it too. (Nothing to do for other users.)"""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)


def _set_writable(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~0o222)


@pytest.fixture
def read_only(recorded: Path) -> Iterator[Path]:
    _set_writable(recorded, False)
    probe = subprocess.run([sys.executable, "-c", f"open({str(recorded / HISTORY)!r}, 'a')"],
                           capture_output=True, check=False,
                           preexec_fn=_without_root_file_powers)
    if probe.returncode == 0:
        _set_writable(recorded, True)
        pytest.skip("cannot make a folder read-only to this user (root without CAP_SETPCAP)")
    yield recorded
    _set_writable(recorded, True)


@pytest.mark.parametrize("with_state", [False, True], ids=["fresh", "after-use"])
def test_read_only_workspace_reads_and_refuses_to_record(recorded: Path, with_state: bool,
                                                         ocop: Any, request: Any) -> None:
    if with_state:  # .ocop/ (lock, index) made by earlier runs, then all made read-only
        assert ocop("note", "1.2", "trước").exit_code == 0
    ws = request.getfixturevalue("read_only")
    before = snapshot(ws)
    writes = [(["note", "1.1", "thêm"], {})]
    if with_state:  # reading, and a recorder whose file does not exist yet
        writes += [(["tasks", "--format", "json"], {}), (["check"], {}),
                   (["note", "1.1", "thêm", "--by", "Someone New"], {})]
    own, *others = run_many(*writes, limited=True)
    if others:
        tasks, check, _ = others
        assert tasks.returncode == 0 and tasks.stderr == b"", tasks.stderr
        assert check.returncode == 0, check.stderr
    for done in (own, *others[2:]):
        stderr = done.stderr.decode("utf-8")
        assert done.returncode == 1, stderr
        assert "Traceback" not in stderr
        (error,) = errors_in(stderr)
        assert "cannot write here (read-only or no permission); nothing was recorded" in error
    assert snapshot(ws) == before


# --- disk full ---------------------------------------------------------------------------------

# Runs ocop with ENOSPC injected into writes to history files: after half the bytes ("write",
# as a disk that fills up mid-write) or at the final sync ("fsync").
ENOSPC = """
import errno, os, sys
fault = os.environ["OCOP_TEST_FAULT"]
real_open, real_write, real_fsync = os.open, os.write, os.fsync
watched = set()

def full() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

def fake_open(path, flags, mode=0o777, *, dir_fd=None):
    fd = real_open(path, flags, mode, dir_fd=dir_fd)
    if "history" in os.fspath(path) and flags & (os.O_WRONLY | os.O_RDWR):
        watched.add(fd)
    return fd

def fake_write(fd, data):
    if fd in watched and fault == "write":
        real_write(fd, bytes(data)[: len(data) // 2])
        raise full()
    return real_write(fd, data)

def fake_fsync(fd):
    if fd in watched and fault == "fsync":
        raise full()
    return real_fsync(fd)

os.open, os.write, os.fsync = fake_open, fake_write, fake_fsync
from ocop_cli.commands.app import app
app(sys.argv[1:], prog_name="ocop")
"""


@pytest.mark.parametrize("fault", ["write", "fsync"])
@pytest.mark.parametrize("recorder", ["Tester", "Newcomer"], ids=["own-file", "new-file"])
def test_disk_full_records_nothing_and_says_so(recorded: Path, fault: str,
                                               recorder: str) -> None:
    before = snapshot(recorded)
    env = {**os.environ, "OCOP_DATA": str(recorded), "OCOP_TEST_FAULT": fault,
           "OCOP_USER": recorder}
    done = subprocess.run([sys.executable, "-c", ENOSPC, "progress", "1.2", "4"],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=60,
                          check=False, cwd=recorded.parent)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    (error,) = errors_in(done.stderr)
    assert "the disk is full; nothing was recorded" in error
    assert snapshot(recorded) == before  # no half entry, no empty new file


def test_after_a_full_disk_the_next_recording_is_whole(recorded: Path, ocop: Any) -> None:
    env = {**os.environ, "OCOP_DATA": str(recorded), "OCOP_TEST_FAULT": "write"}
    subprocess.run([sys.executable, "-c", ENOSPC, "progress", "1.2", "4"], capture_output=True,
                   env=env, timeout=60, check=False)
    done = ocop("progress", "1.2", "5", "--date", "2019-07-01")
    assert done.exit_code == 0, done.stderr
    check = ocop("check")
    assert check.exit_code == 0 and "warning" not in check.stderr, check.stderr
    lines = (recorded / HISTORY).read_text(encoding="utf-8").splitlines()
    assert [line.count('"action"') for line in lines if line.startswith("- ")] == [1, 1]


# --- missing workspace ---------------------------------------------------------------------


def test_missing_workspace_says_how_to_make_one(tmp_path: Path, ocop: Any, proc: Any) -> None:
    missing = tmp_path / "nowhere" / "ws"
    real = proc("note", "1.1", "x", env={"OCOP_DATA": str(missing)})
    assert real.returncode == 1 and "Traceback" not in real.stderr
    for args in (("tasks",), ("check",), ("note", "1.1", "x")):
        done = ocop(*args, "--data", str(missing))
        assert done.exit_code == 1 and done.stdout == ""
        (error,) = errors_in(done.stderr)
        assert f"workspace {missing} does not exist" in error
        assert f"ocop init {missing}" in done.stderr
    assert errors_in(real.stderr) == errors_in(done.stderr)
    assert not missing.exists() and not missing.parent.exists()


def test_folder_that_is_not_a_workspace(tmp_path: Path, ocop: Any) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "agencies.yaml").write_text("agencies: []\n", encoding="utf-8")
    done = ocop("tasks", "--data", str(tmp_path / "notes"))
    assert done.exit_code == 1
    assert "is not an ocop workspace" in done.stderr
    assert [p.name for p in (tmp_path / "notes").iterdir()] == ["agencies.yaml"]


def test_no_workspace_anywhere_makes_the_per_user_one(tmp_path: Path, proc: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OCOP_DATA"}
    done = subprocess.run([sys.executable, "-m", "ocop_cli", "tasks", "--format", "json"],
                          capture_output=True, text=True, encoding="utf-8", env=env,
                          cwd=tmp_path, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Created your workspace in" in done.stderr


# --- encodings and locales -----------------------------------------------------------------

ASCII_IO = {"PYTHONIOENCODING": "ascii"}
C_LOCALE = {"LANG": "C", "LC_ALL": "C"}
# A true ASCII locale: without Python's UTF-8 mode and C-locale coercion.
ASCII_LOCALE = {**C_LOCALE, "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


ENVIRONMENTS = {"PYTHONIOENCODING=ascii": ASCII_IO, "LANG=C": C_LOCALE,
                "ascii-locale": ASCII_LOCALE}


def test_vietnamese_output_survives_the_encoding(recorded: Path) -> None:
    runs = []
    for env in ENVIRONMENTS.values():
        runs += [(["tasks"], env), (["show", "99"], env)]
    results = run_many(*runs)
    for name, (table, wrong) in zip(ENVIRONMENTS, zip(*[iter(results)] * 2, strict=True),
                                    strict=True):
        assert table.returncode == 0, (name, table.stderr)
        assert "Hội nghị cấp tỉnh" in table.stdout.decode("utf-8"), name
        assert wrong.returncode == 1, name
        stderr = wrong.stderr.decode("utf-8")
        assert "Traceback" not in stderr and len(errors_in(stderr)) == 1, (name, stderr)


def test_vietnamese_arguments_are_recorded(recorded: Path) -> None:
    args = ["progress", "6", "2", "--place", "Tứ Kỳ", "--note", "đợt 2"]
    results = run_many((args, {**ASCII_IO, "OCOP_USER": "Nguyễn Văn A"}),
                       (args, {**C_LOCALE, "OCOP_USER": "Trần Thị B"}))
    for done, file in zip(results, ("nguyen-van-a", "tran-thi-b"), strict=True):
        assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
        text = (recorded / "history" / f"{file}.yaml").read_text(encoding="utf-8")
        assert '"note": "đợt 2"' in text and '"place": "tu-ky"' in text
    assert '"by": "Nguyễn Văn A"' in (recorded / "history" / "nguyen-van-a.yaml").read_text(
        encoding="utf-8")


def test_ascii_locale_arguments_never_crash_or_corrupt(recorded: Path) -> None:
    """Under an ASCII locale Python hands ocop Vietnamese arguments as lone surrogates."""
    full_env = {**os.environ, **ASCII_LOCALE, "OCOP_DATA": str(recorded)}
    before = snapshot(recorded)
    done = subprocess.run([sys.executable, "-m", "ocop_cli", "note", "1.1", "đợt 2"],
                          capture_output=True, env=full_env, timeout=60, check=False)
    stderr = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr
    if done.returncode != 0:
        assert done.returncode == 2 and len(errors_in(stderr)) == 1, stderr
        assert snapshot(recorded) == before
    else:
        assert "đợt 2" in (recorded / HISTORY).read_text(encoding="utf-8")


def test_ascii_locale_arguments_are_understood(recorded: Path) -> None:
    full_env = {**os.environ, **ASCII_LOCALE, "OCOP_DATA": str(recorded)}
    done = subprocess.run([sys.executable, "-m", "ocop_cli", "progress", "6", "2", "--place",
                           "Tứ Kỳ", "--note", "đợt 2"], capture_output=True, env=full_env,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")


def test_ascii_output_on_a_terminal(recorded: Path) -> None:
    from test_faults_text import on_terminal

    code, out, err = on_terminal(["tasks"], recorded, env=ASCII_IO)
    assert code == 0 and "Traceback" not in err, err
    assert "H?i ngh? c?p t?nh" in out or "Hội nghị cấp tỉnh" in out
