"""Arguments and an environment where a traceback used to be: a recorder's name too long for
a file name, years the calendar does not have, and a disk that fills while an export is
written. Each gives one message and its exit code; no partial file is left behind.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_faults_files import snapshot

from ocop_cli.core.errors import EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE


def _small_files() -> None:
    # Writes past 2 KB fail as on a full disk (EFBIG instead of ENOSPC: the same path).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))


EXPORTS = [
    ("report", "--format", "xlsx", "-o", "r.xlsx"),
    ("report", "--format", "html", "-o", "r.html"),
    ("report", "--format", "csv", "-o", "r.csv"),
    ("report", "--format", "md", "-o", "r.md"),
    ("report", "--format", "json", "-o", "r.json"),
    ("report", "--format", "docx", "-o", "r.docx"),
    ("export", "plan", "-o", "p.xlsx"),
    ("export", "plan", "-o", "p.csv"),
]


@pytest.mark.parametrize("args", EXPORTS, ids=[" ".join(a[:1] + a[-1:]) for a in EXPORTS])
def test_a_full_disk_while_exporting_leaves_no_file(ws: Path, tmp_path: Path,
                                                    args: tuple[str, ...]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(ws)
    done = subprocess.run([sys.executable, "-m", "ocop_cli", *args], capture_output=True,
                          text=True, encoding="utf-8", cwd=out, timeout=60, check=False,
                          env={**os.environ, "OCOP_DATA": str(ws)}, preexec_fn=_small_files)
    assert done.returncode == EXIT_NOT_FOUND, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("ocop: error: ") and args[-1] in done.stderr
    assert "File too large" in done.stderr
    assert list(out.iterdir()) == []  # the partial file is removed
    assert snapshot(ws) == before


def test_a_recorder_name_too_long_for_a_file_name(ws: Path, ocop: Any) -> None:
    name = "Phòng Nông nghiệp và Phát triển nông thôn huyện Gia Lộc " * 6
    done = ocop("note", "1.1", "đã họp", "--by", name)
    assert done.exit_code == EXIT_OK, done.stderr
    files = [p.name for p in (ws / "history").iterdir() if p.name.startswith("phong")]
    assert len(files) == 1 and len(files[0]) <= 85
    entry = ocop("history", "--format", "json").json()[-1]
    assert entry["by"] == name.strip() or entry["by"] == name


@pytest.mark.parametrize(("period", "exit_code"), [
    ("9999", EXIT_OK), ("9999-12", EXIT_OK), ("9999-Q4", EXIT_OK), ("9999-H2", EXIT_OK),
    ("0001", EXIT_OK), ("0000", EXIT_USAGE), ("0000-01", EXIT_USAGE)])
def test_a_period_at_the_ends_of_the_calendar(ws: Path, ocop: Any, period: str,
                                               exit_code: int) -> None:
    before = snapshot(ws)
    done = ocop("report", "--period", period, "--format", "json")
    assert done.exit_code == exit_code, done.stderr
    if exit_code == EXIT_USAGE:
        assert done.stderr == (f"ocop: error: --period: year {period[:4]} is not a year of the "
                               "calendar (1 to 9999)\n")
    else:
        assert done.json()["period"]["label"] == period
    assert snapshot(ws) == before


@pytest.mark.parametrize("as_of", ["9999-12-31", "0001-01-01"])
@pytest.mark.parametrize("args", [("tasks",), ("report",), ("report", "--period", "2019"),
                                  ("timeline",), ("agencies",), ("show", "1.2"),
                                  ("report", "--format", "html")])
def test_an_as_of_date_at_the_ends_of_the_calendar(ws: Path, ocop: Any, as_of: str,
                                                   args: tuple[str, ...]) -> None:
    done = ocop(*args, "--as-of", as_of)
    assert done.exit_code == EXIT_OK, done.stderr


# --- ocop init on a full disk ------------------------------------------------------------------


def _init_on_a_full_disk(target: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))  # agencies.yaml is larger

    return subprocess.run([sys.executable, "-m", "ocop_cli", "init", str(target)],
                          capture_output=True, text=True, encoding="utf-8", cwd=cwd,
                          timeout=60, check=False, preexec_fn=small_files)


@pytest.mark.parametrize("existing", [False, True], ids=["new-folder", "existing-folder"])
def test_init_on_a_full_disk_leaves_nothing_and_can_be_run_again(tmp_path: Path, ocop: Any,
                                                                 existing: bool) -> None:
    target = tmp_path / "shared" / "ocop"
    if existing:  # a clone of a shared repository, with its own files
        target.mkdir(parents=True)
        (target / "README.md").write_text("Kho chung\n", encoding="utf-8")
        (target / ".gitignore").write_text("*.bak\n", encoding="utf-8")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    done = _init_on_a_full_disk(target, tmp_path)
    assert done.returncode == EXIT_NOT_FOUND, done.stderr
    assert done.stderr == (f"ocop: error: cannot create the workspace in {target}: File too "
                           "large; nothing was left behind\n")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    again = ocop("init", str(target))
    assert again.exit_code == EXIT_OK, again.stderr
    assert ocop("check", "--data", str(target)).exit_code == EXIT_OK
    if existing:
        assert (target / ".gitignore").read_text(encoding="utf-8") == "*.bak\n"


def test_a_half_made_workspace_is_named_with_the_fix(tmp_path: Path, ocop: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    half = tmp_path / "half"
    (half / "history").mkdir(parents=True)
    (half / "agencies.yaml").write_bytes(b"")  # as an older `ocop init` left it on a full disk
    before = snapshot(half)
    for args in (("check", "--data", str(half)), ("tasks", "--data", str(half))):
        done = ocop(*args)
        assert done.exit_code == EXIT_NOT_FOUND, done.stderr
        assert done.stderr == (
            f"ocop: error: {half} is not an ocop workspace: it holds agencies.yaml but no "
            "plan_YYYY.yaml, as an `ocop init` that stopped half-way leaves it\n"
            "ocop: If nothing was recorded in it, remove agencies.yaml and run: "
            f"ocop init {half}\n")
    monkeypatch.chdir(half)
    monkeypatch.delenv("OCOP_DATA")
    assert ocop("check").exit_code == EXIT_NOT_FOUND  # not the per-user workspace instead
    refused = ocop("init", str(half))
    assert refused.exit_code == EXIT_NOT_FOUND
    assert refused.stderr.endswith(f"remove agencies.yaml and run: ocop init {half}\n")
    assert snapshot(half) == before
