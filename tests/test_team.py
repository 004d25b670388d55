"""Team use through git: `ocop sync`, history files that merge without conflicts, and
`ocop check` finding what a bad merge leaves behind. Most tests run real git."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ocop_cli.core.errors import EXIT_INVALID, EXIT_NOT_FOUND, EXIT_OK
from ocop_cli.core.model import Entry
from ocop_cli.core.state import state_as_of
from ocop_cli.store import storage, write
from ocop_cli.sync import git as team
from ocop_cli.sync.sync import Synced, sync
from ocop_cli.tracker import record
from ocop_cli.tracker.check import validate

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

AS_OF = dt.date(2019, 12, 31)
DISTRICTS = ["tp-hai-duong", "tp-chi-linh", "binh-giang", "cam-giang", "gia-loc", "kim-thanh",
             "kinh-mon", "nam-sach", "ninh-giang", "thanh-ha", "thanh-mien", "tu-ky"]
# The tasks every office reports on: the district conferences, classes and products.
SHARED_TASKS = ["1.2", "3.3", "5.1", "5.2", "6"]


pytestmark = pytest.mark.usefixtures("git_alone")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def identify(repo: Path, name: str) -> None:
    git(repo, "config", "user.name", name)
    git(repo, "config", "user.email", "office@example.vn")
    git(repo, "config", "gc.auto", "0")  # no housekeeping while the test runs
    git(repo, "config", "maintenance.auto", "false")


class Team:
    """A shared bare repository set up by the province, and the offices' clones of it."""

    def __init__(self, base: Path) -> None:
        self.base = base
        base.mkdir(parents=True)
        self.shared = base / "shared.git"
        git(base, "init", "--quiet", "--bare", str(self.shared))
        git(self.shared, "symbolic-ref", "HEAD", "refs/heads/main")
        province = base / "so-nn-ptnt"
        git(base, "init", "--quiet", str(province))
        git(province, "symbolic-ref", "HEAD", "refs/heads/main")
        identify(province, "Sở NN và PTNT")
        storage.init_workspace(province)
        git(province, "add", "--all")
        git(province, "commit", "--quiet", "-m", "OCOP 2019 plan")
        git(province, "remote", "add", "origin", str(self.shared))
        git(province, "push", "--quiet", "--set-upstream", "origin", "main")
        self.province = province

    def clone(self, name: str, user: str | None = None) -> Path:
        path = self.base / name
        git(self.base, "clone", "--quiet", str(self.shared), str(path))
        identify(path, user or name)
        return path

    def entry_ids(self) -> set[str]:
        """Entry ids in the shared repository's history files."""
        listing = git(self.shared, "ls-tree", "--name-only", "main", "history/")
        ids = set()
        for name in listing.split():
            for line in git(self.shared, "show", f"main:{name}").splitlines():
                if line.startswith("- {"):
                    ids.add(json.loads(line[2:])["id"])
        return ids


@pytest.fixture
def office_team(tmp_path: Path) -> Team:
    return Team(tmp_path / "team")


def progress(root: Path, who: str, task: str, qty: int = 1, place: str | None = None,
             date: dt.date = dt.date(2019, 9, 1)) -> list[Entry]:
    """Record progress in-process, exactly as `ocop progress` does."""
    ws = storage.Workspace(root)
    with write.locked(ws):
        loaded = storage.load(ws)
        states = state_as_of(loaded.plan, loaded.entries, AS_OF)
        outcome = record.progress(loaded, states, task, qty, record.Stamp(date, by=who), place)
        write.append(write.recorder_file(ws, who), outcome.entries, inside=root)
    return outcome.entries


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """`ocop ARGS` in-process, in the workspace `root`, recorded by `user`."""
    from typer.testing import CliRunner

    from ocop_cli.commands.app import app

    def invoke(root: Path, *args: str, user: str = "Tester") -> Any:
        monkeypatch.setenv("OCOP_DATA", str(root))
        monkeypatch.setenv("OCOP_USER", user)
        monkeypatch.setenv("OCOP_AS_OF", AS_OF.isoformat())
        return CliRunner().invoke(app, list(args), catch_exceptions=False)

    return invoke


def state_fingerprint(root: Path) -> dict[str, Any]:
    loaded = storage.load(storage.Workspace(root))
    states = state_as_of(loaded.plan, loaded.entries, AS_OF)
    return {task: (s.status, s.timing, s.achieved, sorted(s.places.items()), s.note, s.ref,
                   [e.id for e in s.entries]) for task, s in states.items()}


def rebase_in_progress(repo: Path) -> bool:
    return any((repo / git(repo, "rev-parse", "--git-path", m).strip()).exists()
               for m in ("rebase-merge", "rebase-apply"))


# --- the layout ----------------------------------------------------------------------------


@needs_git
def test_init_marks_history_files_for_line_by_line_merging(ws: Path) -> None:
    git(ws, "init", "--quiet")
    said = git(ws, "check-attr", "merge", "--", "history/gia-loc.yaml", "plan_2019.yaml")
    assert said.splitlines() == ["history/gia-loc.yaml: merge: union",
                                 "plan_2019.yaml: merge: unspecified"]
    # `.ocop` is never committed, whether a folder or, by mistake, a link in its place
    (ws / ".ocop").mkdir()
    assert git(ws, "check-ignore", ".ocop", ".ocop/index.sqlite").split() == [
        ".ocop", ".ocop/index.sqlite"]
    (ws / ".ocop").rmdir()
    (ws / ".ocop").symlink_to(ws / "history")
    assert git(ws, "check-ignore", ".ocop").split() == [".ocop"]
    assert git(ws, "status", "--porcelain", "--ignored", "--", ".ocop").split() == ["!!",
                                                                                   ".ocop"]


# --- ocop sync -------------------------------------------------------------------------------


@needs_git
def test_two_offices_exchange_their_entries(office_team: Team, run: Callable[..., Any]) -> None:
    gia_loc = office_team.clone("gia-loc", "Phòng NN huyện Gia Lộc")
    result = run(gia_loc, "progress", "1.2", "1", "--place", "Gia Lộc", user="Gia Lộc")
    assert result.exit_code == EXIT_OK, result.stderr
    result = run(gia_loc, "sync")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "Sent 1 new entries to origin/main." in result.stdout

    result = run(office_team.province, "note", "1.2", "đã họp", user="Sở NN và PTNT")
    assert result.exit_code == EXIT_OK, result.stderr
    result = run(office_team.province, "sync")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "Received 1 new entries from origin/main." in result.stdout
    assert "Sent 1 new entries to origin/main." in result.stdout

    result = run(gia_loc, "sync")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "Received 1 new entries" in result.stdout
    assert "Nothing new to send; up to date with origin/main." in result.stdout
    shown = run(gia_loc, "show", "1.2", "--format", "json")
    assert shown.exit_code == EXIT_OK, shown.stderr
    assert state_fingerprint(gia_loc) == state_fingerprint(office_team.province)
    assert len(office_team.entry_ids()) == 2
    assert git(gia_loc, "status", "--porcelain") == ""


@needs_git
def test_one_recorder_on_two_machines_merges_line_by_line(office_team: Team) -> None:
    """Both clones append to the same history file: merge=union keeps every line."""
    first = office_team.clone("may-1")
    second = office_team.clone("may-2")
    ids = set()
    for clone in (first, second):
        ids |= {e.id for e in progress(clone, "Sở NN và PTNT", "1.2")}
    ids |= {e.id for e in progress(office_team.province, "Sở NN và PTNT", "1.2")}
    for clone in (first, second, office_team.province, first):
        sync(storage.Workspace(clone), validate)
    assert office_team.entry_ids() == ids
    text = (first / "history" / "so-nn-va-ptnt.yaml").read_text(encoding="utf-8")
    assert "<<<<<<<" not in text and text.count(write.HISTORY_HEADER) == 1
    assert validate(storage.Workspace(first)) == []


@needs_git
def test_first_sync_into_an_empty_shared_repository(tmp_path: Path, run: Callable[..., Any]
                                                    ) -> None:
    shared = tmp_path / "shared.git"
    git(tmp_path, "init", "--quiet", "--bare", str(shared))
    git(shared, "symbolic-ref", "HEAD", "refs/heads/main")
    province = tmp_path / "province"
    assert run(tmp_path, "init", str(province)).exit_code == EXIT_OK
    git(province, "init", "--quiet")
    git(province, "symbolic-ref", "HEAD", "refs/heads/main")
    identify(province, "Sở NN và PTNT")
    git(province, "add", "--all")
    git(province, "commit", "--quiet", "-m", "OCOP 2019 plan")
    git(province, "remote", "add", "origin", str(shared))
    progress(province, "Sở NN và PTNT", "2")
    result = run(province, "sync")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "Sent 1 new entries to origin/main." in result.stdout
    assert git(province, "rev-parse", "--abbrev-ref", "main@{upstream}").strip() == "origin/main"
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(shared), str(clone))
    assert state_fingerprint(clone) == state_fingerprint(province)


@needs_git
def test_info_says_once_whom_sync_trusts(office_team: Team, run: Callable[..., Any]) -> None:
    root = office_team.province
    shown = run(root, "info")
    assert shown.exit_code == EXIT_OK, shown.stderr
    assert shown.stdout.count("unsigned: ocop sync trusts whoever may push (no "
                              "offices/allowed_signers)") == 1
    assert "trusts whoever" not in run(root, "info", "--format", "json").stdout
    (root / "offices").mkdir()
    (root / "offices" / "allowed_signers").write_text("", encoding="utf-8")
    assert "signed: each commit is checked against offices/allowed_signers" in \
        run(root, "info").stdout


@needs_git
def test_a_workspace_in_a_sub_folder_of_the_repository(tmp_path: Path) -> None:
    shared = tmp_path / "shared.git"
    git(tmp_path, "init", "--quiet", "--bare", str(shared))
    git(shared, "symbolic-ref", "HEAD", "refs/heads/main")
    office = tmp_path / "office"
    git(tmp_path, "init", "--quiet", str(office))
    identify(office, "Sở NN và PTNT")
    (office / "README.txt").write_text("Tài liệu khác của phòng\n", encoding="utf-8")
    storage.init_workspace(office / "ocop-data")
    git(office, "add", "--all")
    git(office, "commit", "--quiet", "-m", "start")
    git(office, "remote", "add", "origin", str(shared))
    mine = progress(office / "ocop-data", "Sở NN và PTNT", "1.2")
    done = sync(storage.Workspace(office / "ocop-data"), validate)
    assert done.pushed and done.sent == 1 and done.written == []
    branch = git(office, "symbolic-ref", "--short", "HEAD").strip()
    listing = git(shared, "ls-tree", "-r", "--name-only", branch)
    assert "ocop-data/history/so-nn-va-ptnt.yaml" in listing.split()
    assert mine[0].id in git(shared, "show", f"{branch}:ocop-data/history/so-nn-va-ptnt.yaml")


@needs_git
def test_sync_puts_back_a_missing_gitattributes(office_team: Team, run: Callable[..., Any]
                                                ) -> None:
    root = office_team.province
    git(root, "rm", "--quiet", ".gitattributes")
    git(root, "commit", "--quiet", "-m", "lost it")
    result = run(root, "sync")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "Wrote the merge rules into .gitattributes, so that history files and the product " \
        "register merge cleanly." in result.stdout
    assert git(office_team.shared, "show", "main:.gitattributes") == storage.GITATTRIBUTES


@needs_git
def test_sync_adds_the_register_rule_to_an_older_gitattributes(office_team: Team,
                                                                run: Callable[..., Any]) -> None:
    root = office_team.province
    older = "# ours\n*.xlsx binary\nhistory/*.yaml merge=union"  # no products/, no newline
    (root / ".gitattributes").write_text(older, encoding="utf-8")
    git(root, "commit", "--quiet", "-am", "as made before the product register")
    checked = run(root, "check")
    assert checked.exit_code == EXIT_OK
    assert "no rule 'products/*.yaml merge=union'" in checked.stderr
    assert "history/*.yaml" not in checked.stderr
    result = run(root, "sync")
    assert result.exit_code == EXIT_OK, result.stderr
    assert git(office_team.shared, "show", "main:.gitattributes") == \
        older + "\nproducts/*.yaml merge=union\n"
    assert "the product register merge cleanly" in result.stdout
    assert "merge=union" not in run(root, "check").stderr


@needs_git
def test_a_push_that_loses_the_race_is_retried(office_team: Team) -> None:
    """Another office's push lands between our pull and our push: pull again, push again."""
    rival = office_team.clone("thanh-ha")
    progress(rival, "Thanh Hà", "1.2", place="thanh-ha")
    git(rival, "add", "history")
    git(rival, "commit", "--quiet", "-m", "Thanh Hà")
    hook = office_team.province / ".git" / "hooks" / "pre-push"
    flag = office_team.base / "rival-pushed"
    hook.write_text(f"#!/bin/sh\n[ -e '{flag}' ] && exit 0\ntouch '{flag}'\n"
                    f"git -C '{rival}' push --quiet origin main\n", encoding="utf-8")
    hook.chmod(0o755)
    mine = progress(office_team.province, "Sở NN và PTNT", "1.2")
    done = sync(storage.Workspace(office_team.province), validate)
    assert flag.exists() and done.retries == 1 and done.pushed
    assert (done.sent, done.received) == (1, 1)
    assert mine[0].id in office_team.entry_ids() and len(office_team.entry_ids()) == 2


@needs_git
def test_a_rebase_that_stops_is_undone_and_names_the_file(office_team: Team,
                                                          run: Callable[..., Any]) -> None:
    """The plan edited differently in two places: git cannot combine it, ocop says so, puts
    the working copy back as it was, and sends nothing."""
    other = office_team.clone("chi-cuc")
    for clone, title in ((other, "Kế hoạch A"), (office_team.province, "Kế hoạch B")):
        plan = clone / "plan_2019.yaml"
        text = plan.read_text(encoding="utf-8")
        plan.write_text(text.replace("title:", f"title: {title} #", 1), encoding="utf-8")
        git(clone, "commit", "--quiet", "-am", title)
    assert run(other, "sync").exit_code == EXIT_OK
    mine = progress(office_team.province, "Sở NN và PTNT", "5.1")
    before = git(office_team.province, "rev-parse", "HEAD")

    result = run(office_team.province, "sync")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "plan_2019.yaml changed both here and in the shared copy" in result.stderr
    assert "nothing was sent" in result.stderr
    assert "Traceback" not in result.stderr
    assert not rebase_in_progress(office_team.province)
    assert git(office_team.province, "status", "--porcelain") == ""
    log = git(office_team.province, "log", "--format=%s", "-3")
    assert log.splitlines()[0].startswith("ocop: 1 new entries")
    assert git(office_team.province, "rev-parse", "HEAD~1") == before
    assert mine[0].id not in office_team.entry_ids()

    # Half-way through a rebase a person started, ocop keeps its hands off.
    subprocess.run(["git", "pull", "--rebase", "--quiet"], cwd=office_team.province,
                   capture_output=True, check=False)
    assert rebase_in_progress(office_team.province)
    result = run(office_team.province, "sync")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "in the middle of a merge or rebase" in result.stderr
    assert rebase_in_progress(office_team.province)


@needs_git
def test_sync_refuses_when_other_files_have_uncommitted_changes(
        office_team: Team, run: Callable[..., Any]) -> None:
    plan = office_team.province / "plan_2019.yaml"
    plan.write_text(plan.read_text(encoding="utf-8") + "# sửa tay\n", encoding="utf-8")
    result = run(office_team.province, "sync")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "these files have changes that are not committed: plan_2019.yaml" in result.stderr
    assert "# sửa tay" in plan.read_text(encoding="utf-8")


@needs_git
def test_broken_data_arriving_stops_the_push(office_team: Team,
                                            run: Callable[..., Any]) -> None:
    district = office_team.clone("tu-ky")
    plan = office_team.province / "plan_2019.yaml"
    lines = plan.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line.startswith("year:"))
    lines[number] = "year: hai nghìn\n"
    plan.write_text("".join(lines), encoding="utf-8")
    git(office_team.province, "commit", "--quiet", "-am", "typo")
    git(office_team.province, "push", "--quiet")
    mine = progress(district, "Tứ Kỳ", "1.2", place="tu-ky")

    before = git(district, "rev-parse", "HEAD")
    result = run(district, "sync")
    assert result.exit_code == EXIT_INVALID
    assert f"plan_2019.yaml:{number + 1}" in result.stderr
    assert ("problems after pulling from origin/main; the pull was undone and nothing was sent"
            in result.stderr)
    assert mine[0].id not in office_team.entry_ids()
    # The broken plan did not stay: the office keeps working on what it had.
    assert git(district, "rev-parse", "HEAD~1") == before
    assert git(district, "status", "--porcelain") == ""
    assert run(district, "tasks").exit_code == EXIT_OK


@needs_git
def test_the_remote_refusing_is_said_plainly(office_team: Team, run: Callable[..., Any]) -> None:
    hook = office_team.shared / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'kho chỉ đọc (read-only)'\nexit 1\n", encoding="utf-8")
    hook.chmod(0o755)
    mine = progress(office_team.province, "Sở NN và PTNT", "2")
    result = run(office_team.province, "sync")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "the shared copy origin/main refused your changes" in result.stderr
    assert "kho chỉ đọc (read-only)" in result.stderr
    assert mine[0].id not in office_team.entry_ids()
    assert mine[0].id in git(office_team.province, "show", "HEAD")


@needs_git
def test_no_repository_and_no_remote_are_said_plainly(ws: Path, run: Callable[..., Any]) -> None:
    result = run(ws, "sync")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "is not in a git repository" in result.stderr
    assert "git clone" in result.stderr
    git(ws, "init", "--quiet")
    result = run(ws, "sync")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "this repository has no remote" in result.stderr
    assert "git remote add origin" in result.stderr


def test_git_missing_is_said_plainly(ws: Path, run: Callable[..., Any], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "no-programs"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = run(ws, "sync")
    assert result.exit_code == EXIT_NOT_FOUND
    assert "git is not installed" in result.stderr
    assert "Traceback" not in result.stderr


# --- ocop check after a merge ------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_check_finds_conflict_markers_in_a_history_file_by_line(
        ws: Path, run: Callable[..., Any]) -> None:
    progress(ws, "An", "1.2")
    progress(ws, "An", "1.2", qty=2)
    progress(ws, "Bình", "2")
    path = ws / "history" / "an.yaml"
    header, first, second = _lines(path)[:3], *_lines(path)[3:]
    path.write_text("".join([*header, "<<<<<<< HEAD\n", first, "=======\n", second,
                             ">>>>>>> origin/main\n"]), encoding="utf-8")
    # An entry for a task that is gone, in another file: reported too, not hidden by the first.
    other = ws / "history" / "binh.yaml"
    other.write_text(other.read_text(encoding="utf-8").replace('"task": "2"', '"task": "99"'),
                     encoding="utf-8")
    result = run(ws, "check")
    assert result.exit_code == EXIT_INVALID
    assert f"{path}:4:1: merge conflict markers: resolve the merge first" in result.stderr
    assert f"{other}:4: task 99: entry" in result.stderr
    assert run(ws, "tasks").exit_code == EXIT_INVALID


def test_check_finds_conflict_markers_in_the_plan(ws: Path, run: Callable[..., Any]) -> None:
    plan = ws / "plan_2019.yaml"
    lines = _lines(plan)
    lines[9:10] = ["<<<<<<< HEAD\n", lines[9], "=======\n", lines[9], ">>>>>>> theirs\n"]
    plan.write_text("".join(lines), encoding="utf-8")
    result = run(ws, "check")
    assert result.exit_code == EXIT_INVALID
    assert f"{plan}:10:1: merge conflict markers" in result.stderr


def test_check_names_a_duplicated_entry_and_it_counts_once(
        ws: Path, run: Callable[..., Any]) -> None:
    entry = progress(ws, "An", "1.2", qty=3)[0]
    line = _lines(ws / "history" / "an.yaml")[3]
    progress(ws, "Bình", "2")
    copy = ws / "history" / "binh.yaml"
    copy.write_text(copy.read_text(encoding="utf-8") + line, encoding="utf-8")
    result = run(ws, "check")
    assert result.exit_code == EXIT_OK, result.stderr
    assert (f"warning: {copy}:5: entry {entry.id} appears twice (also at an.yaml:4); counted once"
            in result.stderr)
    tasks = run(ws, "tasks", "--format", "json")
    assert tasks.exit_code == EXIT_OK, tasks.stderr
    assert next(t for t in json.loads(tasks.stdout) if t["id"] == "1.2")["achieved"] == 3


@pytest.mark.parametrize("env", [{}, {"OCOP_NO_INDEX": "1"}], ids=["index", "files"])
def test_an_undo_takes_back_only_an_entry_of_its_own_file(
        ws: Path, run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
        env: dict[str, str]) -> None:
    """Tứ Kỳ's file undoes Gia Lộc's entry: it stands, in the listing, the history and the
    report; the same undo in Gia Lộc's own file takes it back."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    genuine = progress(ws, "Gia Lộc", "5.2", qty=2, place="gia-loc")[0]
    progress(ws, "Tứ Kỳ", "5.2", place="tu-ky")

    def undo_in(who: str, n: int) -> None:
        undo = genuine._replace(id=f"{n:020x}", at="2019-09-02T08:00:00.000000+00:00",
                                action="undo", undoes=genuine.id, qty=None, place=None, by=who)
        write.append(write.recorder_file(storage.Workspace(ws), who), [undo], inside=ws)

    def shown() -> tuple[int, bool]:
        tasks = json.loads(run(ws, "tasks", "--format", "json").stdout)
        history = json.loads(run(ws, "history", "--format", "json").stdout)
        return (next(t for t in tasks if t["id"] == "5.2")["achieved"],
                next(h for h in history if h["id"] == genuine.id)["undone"])

    undo_in("Tứ Kỳ", 1)
    assert shown() == (3, False)
    undo_in("Gia Lộc", 2)
    assert shown() == (1, True)


@pytest.mark.parametrize("env", [{}, {"OCOP_NO_INDEX": "1"}], ids=["index", "files"])
def test_a_copied_id_counts_from_the_file_that_first_had_it_in_git(
        office_team: Team, run: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
        env: dict[str, str]) -> None:
    """Tứ Kỳ copies Gia Lộc's entry id into a file that sorts first, with "done" and 12, and
    commits it later: Gia Lộc's line, committed first, counts, and check names the copy.
    Outside git, where no history says who had it first, the first file counts."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    root = office_team.clone("gia-loc")
    genuine = progress(root, "gia-loc", "5.2", qty=2, place="gia-loc")[0]
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "Gia Lộc")
    run(root, "tasks")  # an index made before the copy comes, brought up to date after
    line = _lines(root / "history" / "gia-loc.yaml")[-1]
    record_ = json.loads(line[2:])
    record_.update(action="done", qty=12, by="tu-ky")
    copy = root / "history" / "a-tu-ky.yaml"
    copy.write_text("- " + json.dumps(record_, ensure_ascii=False) + "\n", encoding="utf-8")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "Tứ Kỳ")
    plain = root.parent / "plain"
    shutil.copytree(root, plain, ignore=shutil.ignore_patterns(".git", ".ocop"))
    for where, counted, left in ((root, "gia-loc.yaml:", copy), (plain, "a-tu-ky.yaml:",
                                                                   plain / "history" /
                                                                   "gia-loc.yaml")):
        run(where, "tasks")  # the index made, when there is one
        entry = next(e for e in storage.load(storage.Workspace(where)).entries
                     if e.id == genuine.id)
        assert entry.source.startswith(counted)
        tasks = json.loads(run(where, "tasks", "--format", "json").stdout)
        assert next(t for t in tasks if t["id"] == "5.2")["achieved"] == (
            2 if where == root else 12)
        checked = run(where, "check")
        assert checked.exit_code == EXIT_OK, checked.stderr
        assert f"warning: {left}:" in checked.stderr
        assert f"entry {genuine.id} appears twice (also at {counted}" in checked.stderr


def test_check_names_an_entry_whose_task_is_gone(ws: Path, run: Callable[..., Any]) -> None:
    progress(ws, "An", "2")
    entry = progress(ws, "An", "11")[0]
    plan = ws / "plan_2019.yaml"
    text = plan.read_text(encoding="utf-8")
    start = text.index('  - id: "11"')
    plan.write_text(text[:start].rstrip() + "\n", encoding="utf-8")
    result = run(ws, "check")
    assert result.exit_code == EXIT_OK, result.stderr
    path = ws / "history" / "an.yaml"
    assert (f"warning: {path}:5: task 11: entry {entry.id} is for task 11, which the plan does "
            "not have" in result.stderr)


@needs_git
def test_without_union_merging_git_leaves_markers_that_check_finds(
        office_team: Team, run: Callable[..., Any]) -> None:
    """Why `.gitattributes` matters: the same file appended in two clones, merged plainly."""
    other = office_team.clone("may-2")
    for clone in (office_team.province, other):
        (clone / ".gitattributes").write_text("", encoding="utf-8")
        progress(clone, "Sở NN và PTNT", "1.2")
        git(clone, "add", "--all")
        git(clone, "commit", "--quiet", "-m", "entry")
    git(other, "push", "--quiet")
    merged = subprocess.run(["git", "pull", "--no-rebase", "--quiet"], cwd=office_team.province,
                            capture_output=True, text=True, check=False)
    assert merged.returncode != 0  # git itself reports the conflict
    result = run(office_team.province, "check")
    assert result.exit_code == EXIT_INVALID
    path = office_team.province / "history" / "so-nn-va-ptnt.yaml"
    assert f"{path}:4:1: merge conflict markers" in result.stderr


# --- many offices at once ----------------------------------------------------------------------


def pull(clone: Path) -> None:
    """What an office pulling by hand does: `git pull --rebase`."""
    git(clone, "pull", "--rebase", "--quiet")


def many_offices(base: Path, per_office: int, batch: int, seed: int) -> dict[str, int]:
    """The province and 12 districts record `per_office` entries each, some on the same tasks,
    in batches of up to `batch`, and pull, commit and push in a seeded random order, pulling
    again whenever a push is rejected. Returns counts of what happened."""
    rng = random.Random(seed)
    shared = Team(base)
    users = ["Sở NN và PTNT", *[f"Phòng NN {d}" for d in DISTRICTS]]
    clones = [shared.province] + [shared.clone(d, users[i + 1]) for i, d in enumerate(DISTRICTS)]
    places: list[str | None] = [None, *DISTRICTS]
    repos = [team.repository(c) for c in clones]
    # Progress entries depend on nothing but the plan, which every office shares: loading it
    # once keeps the test about git rather than about parsing the plan again.
    plan = storage.load(storage.Workspace(clones[0]))
    states = state_as_of(plan.plan, [], AS_OF)
    left = [per_office] * len(clones)
    unsent = [False] * len(clones)
    recorded: set[str] = set()
    counts = {"commits": 0, "pushes": 0, "rejected": 0, "pulls": 0}

    def record_some(i: int, n: int) -> None:
        ws = storage.Workspace(clones[i])
        entries = []
        for _n in range(n):
            stamp = record.Stamp(dt.date(2019, rng.randint(6, 12), rng.randint(1, 28)), users[i])
            entries += record.progress(plan, states, rng.choice(SHARED_TASKS),
                                       rng.randint(1, 3), stamp, places[i]).entries
        with write.locked(ws):
            write.append(write.recorder_file(ws, users[i]), entries, inside=ws.root)
        recorded.update(e.id for e in entries)
        left[i] -= n

    def push_until_accepted(i: int) -> None:
        for _attempt in range(100):
            try:
                team.push(repos[i])
            except team.PushRejected:
                counts["rejected"] += 1
                pull(clones[i])
                counts["pulls"] += 1
                continue
            counts["pushes"] += 1
            unsent[i] = False
            return
        raise AssertionError("a push was rejected 100 times")

    while any(left) or any(unsent):
        i = rng.randrange(len(clones))
        move = rng.random()
        if move < 0.15:
            pull(clones[i])
            counts["pulls"] += 1
        elif move < 0.6 and left[i]:
            record_some(i, min(left[i], rng.randint(max(1, batch // 2), batch)))
            assert team.commit_files(repos[i], [f"history/{p.name}" for p in
                                                (clones[i] / "history").iterdir()]) > 0
            counts["commits"] += 1
            unsent[i] = True
        elif unsent[i]:
            push_until_accepted(i)
    for clone in clones:  # everyone fetches the last of it the way a clerk would
        done = sync(storage.Workspace(clone), validate)
        assert not done.pushed and done.warnings == []

    total = per_office * len(clones)
    assert len(recorded) == total
    assert shared.entry_ids() == recorded
    assert git(shared.shared, "rev-list", "--merges", "main") == ""  # rebased, never merged
    reference = state_fingerprint(clones[0])
    assert sum(len(ids) for *_x, ids in reference.values()) == total
    for clone in clones:
        loaded = storage.load(storage.Workspace(clone))
        assert {e.id for e in loaded.entries} == recorded and len(loaded.entries) == total
        assert validate(storage.Workspace(clone)) == []
        assert not rebase_in_progress(clone)
        assert git(clone, "status", "--porcelain") == ""
        assert state_fingerprint(clone) == reference
    return counts


@needs_git
@pytest.mark.stress
def test_thirteen_offices_lose_nothing(tmp_path: Path) -> None:
    started = time.monotonic()
    counts = many_offices(tmp_path / "team", per_office=10, batch=10, seed=8)
    assert counts["rejected"] > 0  # the offices really did race one another
    print(f"\n13 offices x 10 entries: {counts}, {time.monotonic() - started:.1f} s")


@needs_git
@pytest.mark.full
def test_thirteen_offices_with_a_hundred_entries_each_lose_nothing(tmp_path: Path) -> None:
    started = time.monotonic()
    counts = many_offices(tmp_path / "team", per_office=100, batch=25, seed=1819)
    assert counts["rejected"] > 0
    print(f"\n13 offices x 100 entries: {counts}, {time.monotonic() - started:.1f} s")


def offices_at_once(base: Path, offices: int, at_once: int = 3) -> float:
    """`offices` offices (communes, after July 2025) each record an entry, then run their
    first sync, `at_once` at a time: each one succeeds, and every entry reaches every copy.
    Returns the longest sync, in seconds."""
    from concurrent.futures import ThreadPoolExecutor

    shared = Team(base)
    names = [f"xa-{number:03d}" for number in range(offices)]
    clones = [shared.clone(name) for name in names]
    plan = storage.load(storage.Workspace(clones[0]))
    states = state_as_of(plan.plan, [], AS_OF)
    recorded = set()
    for name, clone in zip(names, clones, strict=True):
        ws = storage.Workspace(clone)
        entries = record.progress(plan, states, "1.1", 1, record.Stamp(dt.date(2019, 9, 1),
                                                                       name)).entries
        with write.locked(ws):
            write.append(write.recorder_file(ws, name), entries, inside=ws.root)
        recorded.add(entries[0].id)

    def first_sync(clone: Path) -> tuple[Synced, float]:
        started = time.monotonic()
        return sync(storage.Workspace(clone), validate), time.monotonic() - started

    with ThreadPoolExecutor(at_once) as pool:
        done = list(pool.map(first_sync, clones))
    assert [(synced.pushed, synced.sent) for synced, _s in done] == [(True, 1)] * offices
    assert shared.entry_ids() == recorded
    for clone in clones:
        assert not sync(storage.Workspace(clone), validate).pushed
        assert {e.id for e in storage.load(storage.Workspace(clone)).entries} == recorded
        assert git(clone, "status", "--porcelain") == ""
    return max(seconds for _synced, seconds in done)


@needs_git
@pytest.mark.stress
def test_twenty_offices_syncing_three_at_a_time_all_succeed_the_first_time(
        tmp_path: Path) -> None:
    longest = offices_at_once(tmp_path / "team", 20)
    print(f"\n20 offices, 3 at a time: the longest sync {longest:.1f} s")


@needs_git
@pytest.mark.full
def test_a_hundred_and_twenty_offices_syncing_three_at_a_time_all_succeed_the_first_time(
        tmp_path: Path) -> None:
    longest = offices_at_once(tmp_path / "team", 120)
    print(f"\n120 offices, 3 at a time: the longest sync {longest:.1f} s")


# --- history is append-only over git -----------------------------------------------------------


def _shared_files(office_team: Team) -> dict[str, str]:
    listing = git(office_team.shared, "ls-tree", "-r", "--name-only", "main").split()
    return {name: git(office_team.shared, "show", f"main:{name}") for name in listing}


def _two_offices(office_team: Team) -> tuple[Path, Path]:
    """Gia Lộc has sent two entries; Tứ Kỳ has received them and recorded one of its own."""
    gia_loc, tu_ky = office_team.clone("gia-loc"), office_team.clone("tu-ky")
    progress(gia_loc, "Gia Lộc", "1.2", place="gia-loc")
    progress(gia_loc, "Gia Lộc", "1.2", qty=2, place="gia-loc")
    sync(storage.Workspace(gia_loc), validate)
    sync(storage.Workspace(tu_ky), validate)
    progress(tu_ky, "Tứ Kỳ", "1.2", place="tu-ky")
    return gia_loc, tu_ky


def _edit_line(path: Path, number: int, new: str | None) -> None:
    lines = _lines(path)
    lines[number - 1:number] = [] if new is None else [new]
    path.write_text("".join(lines), encoding="utf-8")


def _tamper(path: Path, change: str, line: int) -> None:
    """What a hand edit does to a history file: qty 1 -> 999 on line 4, a line removed, the
    file removed or turned into a link."""
    if change == "rewritten":
        _edit_line(path, 4, _lines(path)[3].replace('"qty": 1', '"qty": 999'))
    elif change == "removed":
        _edit_line(path, line, None)
    else:
        path.unlink()
        if change == "made a link":
            path.symlink_to("../../tu-ky/history/tu-ky.yaml")


@needs_git
@pytest.mark.parametrize("change", ["rewritten", "removed", "file removed"])
def test_sync_refuses_a_shared_line_changed_here(office_team: Team, run: Callable[..., Any],
                                                 change: str) -> None:
    _gia_loc, tu_ky = _two_offices(office_team)
    _tamper(tu_ky / "history" / "gia-loc.yaml", change, line=4)
    shared = _shared_files(office_team)
    result = run(tu_ky, "sync")
    assert result.exit_code == EXIT_INVALID, result.stderr
    line = 1 if change == "file removed" else 4
    assert result.stderr.startswith(
        f"ocop: error: history/gia-loc.yaml:{line}: a line already shared was changed or "
        "removed here; nothing was sent\n"), result.stderr
    assert "git checkout " in result.stderr and "ocop undo" in result.stderr
    assert "Traceback" not in result.stderr
    assert _shared_files(office_team) == shared  # nothing sent, the own entry included


@needs_git
@pytest.mark.parametrize("change", ["rewritten", "removed"])
def test_a_pull_that_drops_or_rewrites_received_lines_keeps_them(
        office_team: Team, run: Callable[..., Any], change: str) -> None:
    """A line Tứ Kỳ received is changed or removed in the shared copy: Tứ Kỳ puts it back,
    sends it again, says so by file and commit, and exits 3; a changed line does not count."""
    gia_loc, tu_ky = _two_offices(office_team)
    theirs = tu_ky / "history" / "gia-loc.yaml"
    received = _lines(theirs)
    _tamper(gia_loc / "history" / "gia-loc.yaml", change, line=4)
    git(gia_loc, "commit", "--quiet", "-am", "sửa tay")
    git(gia_loc, "push", "--quiet")
    tampered = git(gia_loc, "rev-parse", "--short=7", "HEAD").strip()

    result = run(tu_ky, "sync")
    assert result.exit_code == EXIT_INVALID, result.stderr
    assert result.stderr.startswith(
        "error: history/gia-loc.yaml: origin/main no longer has 1 line this office had (last "
        f"changed by commit {tampered}"), result.stderr
    assert "put back and sent again" in result.stderr
    assert ("changes entry" in result.stderr) == (change == "rewritten")
    assert "Sent 2 new entries to origin/main." in result.stdout  # its own, the one put back
    # Every line Tứ Kỳ had is in use here and in the shared copy again; a rewrite counts nowhere.
    in_use = _lines(theirs)
    assert set(received) <= set(in_use) and not [x for x in in_use if '"qty": 999' in x]
    assert set(received) <= set(_shared_files(office_team)["history/gia-loc.yaml"]
                                .splitlines(keepends=True))
    assert json.loads(run(tu_ky, "show", "1.2", "--format", "json").stdout)["achieved"] == 4
    assert git(tu_ky, "status", "--porcelain") == ""
    again = run(tu_ky, "sync")
    assert again.exit_code == EXIT_OK, again.stderr


@needs_git
def test_a_pull_that_links_a_history_file_is_refused_whole(office_team: Team,
                                                           run: Callable[..., Any]) -> None:
    gia_loc, tu_ky = _two_offices(office_team)
    _tamper(gia_loc / "history" / "gia-loc.yaml", "made a link", line=5)
    git(gia_loc, "commit", "--quiet", "-am", "liên kết")
    git(gia_loc, "push", "--quiet")
    linked = git(gia_loc, "rev-parse", "--short=10", "HEAD").strip()
    files_before = {p.name: p.read_bytes() for p in (tu_ky / "history").iterdir()}
    head = git(tu_ky, "rev-parse", "HEAD")

    result = run(tu_ky, "sync")
    assert result.exit_code == EXIT_INVALID, result.stderr
    assert (f"error: history/gia-loc.yaml: is a symbolic link (commit {linked} by gia-loc "
            "<office@example.vn>); refused") in result.stderr
    assert "nothing of that pull was applied and nothing was sent" in result.stderr
    # Nothing applied: the working copy is as it was with the own entry committed.
    assert git(tu_ky, "rev-parse", "HEAD~1") == head
    assert {p.name: p.read_bytes() for p in (tu_ky / "history").iterdir()} == files_before
    assert git(tu_ky, "status", "--porcelain") == ""
    assert "tu-ky.yaml" not in " ".join(_shared_files(office_team))
    assert run(tu_ky, "tasks").exit_code == EXIT_OK


BROKEN_LINE = "<<<<<<< HEAD\n"  # a conflict committed as it was: the file does not load


@needs_git
def test_a_broken_history_file_pulled_is_held_back_and_the_rest_goes_on(
        office_team: Team, run: Callable[..., Any]) -> None:
    gia_loc, tu_ky = _two_offices(office_team)
    theirs = gia_loc / "history" / "gia-loc.yaml"
    theirs.write_text(theirs.read_text(encoding="utf-8") + BROKEN_LINE, encoding="utf-8")
    git(gia_loc, "commit", "--quiet", "-am", "hỏng")
    git(gia_loc, "push", "--quiet")
    achieved = run(tu_ky, "show", "1.2", "--format", "json").stdout

    result = run(tu_ky, "sync")
    assert result.exit_code == EXIT_OK, result.stderr
    assert ("warning: history/gia-loc.yaml: arrived broken from gia-loc <office@example.vn> "
            "(commit ") in result.stderr
    assert "its first 5 lines are in use until a mended version arrives" in result.stderr
    assert "Sent 1 new entries" in result.stdout  # the office's own work still goes out
    assert "tu-ky.yaml" in " ".join(_shared_files(office_team))
    # Every command works on what was valid before; check names the file and its sender.
    shown = run(tu_ky, "show", "1.2", "--format", "json")
    assert shown.exit_code == EXIT_OK, shown.stderr
    assert json.loads(shown.stdout)["achieved"] == json.loads(achieved)["achieved"]
    check = run(tu_ky, "check")
    assert check.exit_code == EXIT_OK
    assert "history/gia-loc.yaml: arrived broken from gia-loc" in check.stderr
    assert git(tu_ky, "status", "--porcelain") == ""

    # Tứ Kỳ records again; Gia Lộc mends its file (the broken line out, entries kept).
    mine = progress(tu_ky, "Tứ Kỳ", "1.2", place="tu-ky")
    _edit_line(theirs, 6, None)
    later = progress(gia_loc, "Gia Lộc", "1.2", qty=4, place="gia-loc")
    mended = run(gia_loc, "sync")  # taking out a line that is no entry is allowed
    assert mended.exit_code == EXIT_OK, mended.stderr
    result = run(tu_ky, "sync")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "arrived broken" not in result.stderr
    assert not (tu_ky / ".ocop" / "held.json").exists()
    assert (tu_ky / "history" / "gia-loc.yaml").read_text(encoding="utf-8") == \
        theirs.read_text(encoding="utf-8")
    assert {mine[0].id, later[0].id} <= office_team.entry_ids()
    assert run(tu_ky, "check").exit_code == EXIT_OK
    assert git(tu_ky, "status", "--porcelain") == ""


@needs_git
def test_entries_recorded_into_a_held_back_file_are_not_lost(office_team: Team,
                                                             run: Callable[..., Any]) -> None:
    """The same office on two machines: its own file arrives broken from the other one."""
    first, second = office_team.clone("may-1"), office_team.clone("may-2")
    progress(first, "Gia Lộc", "1.2", place="gia-loc")
    sync(storage.Workspace(first), validate)
    sync(storage.Workspace(second), validate)
    own = first / "history" / "gia-loc.yaml"
    own.write_text(own.read_text(encoding="utf-8") + BROKEN_LINE, encoding="utf-8")
    git(first, "commit", "--quiet", "-am", "hỏng")
    git(first, "push", "--quiet")
    assert run(second, "sync").exit_code == EXIT_OK
    kept = progress(second, "Gia Lộc", "1.2", place="gia-loc")  # into the held-back file
    result = run(second, "sync")
    assert result.exit_code == EXIT_OK, result.stderr
    assert kept[0].id in (second / "history" / "gia-loc.yaml").read_text(encoding="utf-8")
    assert kept[0].id in run(second, "history", "--format", "json").stdout  # and in use
