"""Shared fixtures: an isolated environment, a fresh workspace, and a way to run `ocop`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow], derandomize=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parent.parent


def _every_command() -> None:
    """The app as tests drive it in-process: with every command (a run imports only its own)."""
    from ocop_cli.commands.app import import_commands

    import_commands()


_every_command()
DATA = ROOT / "data"


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the developer's workspace, language, colours or clock."""
    home = tmp_path_factory.mktemp("home")
    for var in list(os.environ):
        if var.startswith("OCOP_") or var in ("NO_COLOR", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("OCOP_USER", "Tester")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(home)
    # The language a command chose stays chosen in this process: each test starts in English,
    # as a run with LANG=C.UTF-8 does, whatever the test before it ran.
    from ocop_cli.core.i18n import set_language

    set_language(None)
    return home


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A fresh workspace made by `ocop init`, as a user would make it."""
    from ocop_cli.store.storage import init_workspace

    root = tmp_path / "ws"
    init_workspace(root)
    return root


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def ocop(ws: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `ocop ARGS` in-process against the workspace `ws`; returns a Result."""
    from typer.testing import CliRunner

    from ocop_cli.commands.app import app

    monkeypatch.setenv("OCOP_DATA", str(ws))

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)

    return run


def run_process(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m ocop_cli ARGS` in a real process (for encodings, signals, concurrency)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "ocop_cli", *args], capture_output=True,
                          text=True, encoding="utf-8", env=full_env, cwd=cwd, timeout=timeout,
                          check=False)


@pytest.fixture
def proc() -> Iterator[Any]:
    yield run_process


@pytest.fixture
def git_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """git reads no configuration but each repository's own, and finds no repository above."""
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(var, raising=False)
