"""Every write goes through one door (`store.write`): it writes only where it was asked to,
never through a symbolic link inside the workspace, never over anything but a regular file, and
a failure leaves the old file whole, no temporary file, and one message with its exit code.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_faults_files import snapshot

from ocop_cli.core.errors import EXIT_INVALID, EXIT_NOT_FOUND, InvalidData, Refused
from ocop_cli.core.model import Entry
from ocop_cli.store import write

ENTRY = Entry(id="0000000000bb00000000", at="2019-07-10T01:00:00+00:00",
              date=dt.date(2019, 7, 10), task="1.2", action="progress", by="Tester", qty=1)


def one_error(result: Any) -> str:
    """The single line a refused command prints: no traceback, nothing else."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("ocop: error: "), result.stderr
    return str(result.stderr)


def tree(folder: Path) -> dict[str, bytes | None]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def dev_null() -> Iterator[Path]:
    """/dev/null, put back as the device it is should a broken door have replaced it."""
    path = Path("/dev/null")
    yield path
    if not stat.S_ISCHR(os.lstat(path).st_mode) and os.geteuid() == 0:  # pragma: no cover
        path.unlink()
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))


# --- reports: the file the user named ----------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/null").exists(), reason="no /dev/null")
def test_a_report_to_dev_null_with_force_leaves_the_device(ocop: Any, dev_null: Path) -> None:
    result = ocop("report", "--format", "md", "-o", str(dev_null), "--force")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "/dev/null is not a regular file" in one_error(result)
    assert stat.S_ISCHR(os.lstat(dev_null).st_mode)


def test_a_report_over_a_folder_or_a_link_is_refused_with_force(ocop: Any, tmp_path: Path
                                                                ) -> None:
    away = tmp_path / "away.md"
    away.write_text("kept\n", encoding="utf-8")
    (tmp_path / "link.md").symlink_to(away)
    (tmp_path / "folder.md").mkdir()
    for name, said in (("link.md", "is a symbolic link"), ("folder.md", "is a folder")):
        result = ocop("report", "--format", "md", "-o", str(tmp_path / name), "--force")
        assert result.exit_code == EXIT_NOT_FOUND
        assert said in one_error(result)
    assert away.read_text(encoding="utf-8") == "kept\n"
    assert (tmp_path / "link.md").is_symlink() and (tmp_path / "folder.md").is_dir()


def test_an_output_name_too_long_is_one_line(ocop: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for args, suffix in ((("report", "--format", "md"), ".md"),
                         (("export", "plan", "--format", "csv"), ".csv")):
        result = ocop(*args, "-o", str(out / ("bao-cao-" + "x" * 292 + suffix)))
        assert result.exit_code == EXIT_NOT_FOUND
        assert "File name too long" in one_error(result)
    assert list(out.iterdir()) == []


def test_a_report_through_a_link_inside_the_workspace_is_refused(ws: Path, ocop: Any,
                                                                 tmp_path: Path) -> None:
    """`reports/` committed as a link to elsewhere: nothing is written where it points."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (ws / "reports").symlink_to(elsewhere)
    for target in (ws / "reports" / "r.md", ws / "reports" / "r.docx"):
        result = ocop("report", "-o", str(target))
        assert result.exit_code == EXIT_INVALID
        assert f"{ws / 'reports'}: is a symbolic link" in one_error(result)
    os.chdir(ws)  # the same, named from inside the workspace
    assert ocop("export", "plan", "-o", "reports/p.csv").exit_code == EXIT_INVALID
    assert list(elsewhere.iterdir()) == []
    assert ocop("report", "-o", str(ws / "r.md")).exit_code == 0  # a real folder is fine


# --- the workspace's .ocop -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["link", "file"])
def test_ocop_folder_must_be_a_real_folder(ws: Path, ocop: Any, tmp_path: Path,
                                           kind: str) -> None:
    """Every command that keeps something under `.ocop` refuses, naming it and the fix; the
    place a link points to stays as it was."""
    target = tmp_path / "target"
    target.mkdir()
    (target / "mine.txt").write_text("not ocop's\n", encoding="utf-8")
    if kind == "link":
        (ws / ".ocop").symlink_to(target)
    else:
        (ws / ".ocop").write_text("", encoding="utf-8")
    before = tree(target)
    for args in (("note", "1.1", "đã họp"), ("tasks",), ("tasks", "--format", "json"),
                 ("check",), ("report", "-o", str(ws / ".ocop" / "r.md"))):
        result = ocop(*args)
        assert result.exit_code == EXIT_INVALID, (args, result.stderr)
        error = one_error(result)
        assert f"{ws / '.ocop'}: is" in error
        assert ("remove the link" if kind == "link" else "move it away") in error
    assert tree(target) == before
    assert ocop("tasks", env={"OCOP_NO_INDEX": "1"}).exit_code == 0  # reading only: no harm


# --- appending ----------------------------------------------------------------------------------


def test_an_append_to_a_linked_history_file_is_refused(ws: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("# not history\n", encoding="utf-8")
    (ws / "history" / "tester.yaml").symlink_to(outside)
    with pytest.raises(InvalidData, match="is a symbolic link"):
        write.append(ws / "history" / "tester.yaml", [ENTRY], inside=ws)
    assert outside.read_text(encoding="utf-8") == "# not history\n"


def test_an_append_through_a_linked_folder_or_out_of_the_workspace_is_refused(
        ws: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (ws / "products").symlink_to(elsewhere)
    with pytest.raises(InvalidData, match=r"products: is a symbolic link"):
        write.append(ws / "products" / "tester.yaml", [ENTRY], inside=ws)
    with pytest.raises(InvalidData, match="is outside"):
        write.append(ws / ".." / "tester.yaml", [ENTRY], inside=ws)
    assert list(elsewhere.iterdir()) == [] and not (tmp_path / "tester.yaml").exists()


# --- replacing ----------------------------------------------------------------------------------


def test_a_crash_in_the_middle_of_a_replace_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "plan_2019.yaml"
    path.write_text("old\n", encoding="utf-8")

    def crashes(temp: Path) -> None:
        temp.write_text("half of the n", encoding="utf-8")
        raise RuntimeError("stopped")

    def disk_full(temp: Path) -> None:
        temp.write_text("half of the n", encoding="utf-8")
        raise OSError(28, "No space left on device")

    with pytest.raises(RuntimeError, match="stopped"):
        write.replace(path, crashes, inside=tmp_path, force=True)
    with pytest.raises(Refused, match=r"plan_2019.yaml: cannot write here \(No space left"):
        write.replace(path, disk_full, inside=tmp_path, force=True)
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["plan_2019.yaml"]


def test_a_report_that_fails_half_way_keeps_the_old_report(ws: Path, ocop: Any, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from ocop_cli.output import xlsx

    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "r.xlsx"
    path.write_bytes(b"last month's report")

    def half(target: Path, *args: Any) -> None:
        target.write_bytes(b"PK half a workbook")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xlsx, "write_xlsx", half)
    result = ocop("report", "-o", str(path), "--force")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "No space left on device" in one_error(result)
    assert path.read_bytes() == b"last month's report"
    assert [p.name for p in path.parent.iterdir()] == ["r.xlsx"]


def test_a_replaced_file_keeps_who_may_read_it(ocop: Any, tmp_path: Path) -> None:
    path = tmp_path / "r.md"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o600)
    assert ocop("report", "-o", str(path), "--force").exit_code == 0
    assert path.read_text(encoding="utf-8") != "old\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- sync's held-back files ---------------------------------------------------------------------


@pytest.mark.parametrize(("named", "said"), [("../../outside.yaml", "is outside"),
                                           ("linked/tester.yaml", "linked: is a symbolic link")])
def test_held_json_naming_a_file_outside_is_refused(ws: Path, tmp_path: Path, named: str,
                                                    said: str) -> None:
    """`.ocop/held.json` is local and unchecked by git: a path in it that leads out of the
    workspace (`..`, a link) is never followed: sync takes no file a workspace cannot hold
    from it, and refuses to replace one there before it reads, appends or replaces anything."""
    from ocop_cli.sync import held as team
    from ocop_cli.sync.git import Repo

    outside = ws.parent.parent / "outside.yaml"
    (tmp_path / "away").mkdir()
    (tmp_path / "away" / "tester.yaml").write_text("- mine\n", encoding="utf-8")
    (ws / "linked").symlink_to(tmp_path / "away")
    (ws / ".ocop").mkdir()
    held = {named: {"good": "", "lines": 0, "sender": "x", "commit": "abc"}}
    (ws / ".ocop" / "held.json").write_text(json.dumps(held), encoding="utf-8")
    repo = Repo(ws, "main", "origin", "main", tracked=True)
    assert team.release(repo) == {}
    with pytest.raises(InvalidData, match=said):
        team.hold(repo, {named: {**held[named], "good": "- theirs\n"}})
    assert not outside.exists()
    assert (tmp_path / "away" / "tester.yaml").read_text(encoding="utf-8") == "- mine\n"


# --- standard output ----------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize("args", [("tasks",), ("tasks", "--format", "json"), ("info",)])
def test_output_to_a_full_device_is_one_line(ws: Path, args: tuple[str, ...]) -> None:
    before = snapshot(ws)
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "ocop_cli", *args], stdout=full,
                              stderr=subprocess.PIPE, text=True, encoding="utf-8", timeout=60,
                              check=False, env={**os.environ, "OCOP_DATA": str(ws)})
    assert done.returncode == EXIT_NOT_FOUND
    assert done.stderr == "ocop: error: cannot write the output: No space left on device\n"
    assert snapshot(ws) == before
