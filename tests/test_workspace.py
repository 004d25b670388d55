"""Which workspace a command uses, and the first run with no set-up at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Result

from ocop_cli.store import storage


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """`ocop ARGS` in-process from the current folder, with no OCOP_DATA."""
    from typer.testing import CliRunner

    from ocop_cli.commands.app import app

    result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def test_first_run_in_an_empty_folder_needs_no_set_up(empty: Path) -> None:
    per_user = storage.user_workspace_dir()
    assert not per_user.exists()
    first = run("tasks", "--month", "7", "--as-of", "2019-07-15")
    assert first.exit_code == 0, first.stderr
    assert first.stderr == (f"Created your workspace in {per_user} from the bundled 2019 "
                            "plan.\n")
    assert "Tuyên truyền về Đề án OCOP" in first.stdout
    assert storage.is_workspace(per_user)
    assert list(empty.iterdir()) == []  # nothing is left in the folder the user is in

    done = run("done", "5", "--date", "2019-07-20")
    assert done.exit_code == 0, done.stderr
    assert done.stderr == ""  # said once only
    assert (per_user / "history" / "tester.yaml").is_file()
    states = {t["id"]: t["status"] for t in
              run("tasks", "--format", "json", "--as-of", "2019-07-31").json()}
    assert states["5.1"] == states["5.2"] == "done"


def test_first_run_as_real_processes(empty: Path, proc: Any) -> None:
    per_user = storage.user_workspace_dir()
    listing = proc("tasks", "--month", "7", cwd=empty)
    assert listing.returncode == 0, listing.stderr
    assert str(per_user) in listing.stderr
    recorded = proc("done", "5", cwd=empty)
    assert recorded.returncode == 0, recorded.stderr
    assert "5.2 done: Cấp huyện" in recorded.stdout
    text = (per_user / "history" / "tester.yaml").read_text(encoding="utf-8")
    assert text.count('"action": "done"') == 2


def test_the_installed_package_is_never_written_to(empty: Path, proc: Any) -> None:
    bundled = storage.bundled_dir()
    before = _tree(bundled)
    for args in (("tasks",), ("done", "5"), ("show", "5"), ("check",), ("info",)):
        assert proc(*args, cwd=empty).returncode == 0
    completion = proc(cwd=empty, env={"_OCOP_COMPLETE": "complete_bash",
                                      "COMP_WORDS": "ocop done ", "COMP_CWORD": "2"})
    assert completion.returncode == 0
    assert _tree(bundled) == before


def test_the_nearest_workspace_upward_is_used(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "office"
    storage.init_workspace(root)
    deep = root / "reports" / "2019" / "july"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    info = run("info", "--format", "json")
    assert info.exit_code == 0, info.stderr
    assert info.json()["workspace"] == str(root.resolve())
    assert info.json()["found_by"] == f"the nearest workspace upward from {deep}"
    assert run("done", "4").exit_code == 0
    assert (root / "history" / "tester.yaml").is_file()
    assert not storage.user_workspace_dir().exists()


def test_data_option_then_ocop_data_then_upward(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    here, option, env = tmp_path / "here", tmp_path / "option", tmp_path / "env"
    for root in (here, option, env):
        storage.init_workspace(root)
    monkeypatch.chdir(here)
    assert run("info", "--format", "json").json()["workspace"] == str(here.resolve())
    monkeypatch.setenv("OCOP_DATA", str(env))
    by_env = run("info", "--format", "json").json()
    assert (by_env["workspace"], by_env["found_by"]) == (str(env.resolve()), "OCOP_DATA")
    by_option = run("info", "--format", "json", "--data", str(option)).json()
    assert (by_option["workspace"], by_option["found_by"]) == (str(option.resolve()), "--data")


def test_a_data_folder_that_is_not_a_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    result = run("tasks", "--data", str(tmp_path / "nowhere"))
    assert result.exit_code == 1
    assert result.stderr == (f"ocop: error: workspace {tmp_path / 'nowhere'} does not exist\n"
                             f"ocop: Create it with: ocop init {tmp_path / 'nowhere'}\n")
    assert not (tmp_path / "nowhere").exists()


def test_init_without_a_folder_initialises_this_one(empty: Path) -> None:
    made = run("init")
    assert made.exit_code == 0, made.stderr
    assert storage.is_workspace(empty)
    assert made.stdout == f"Workspace ready in {empty.resolve()}\n"
    again = run("init")
    assert again.exit_code == 1
    assert "is already an ocop workspace" in again.stderr
    assert not storage.user_workspace_dir().exists()


def test_the_latest_plan_unless_one_is_chosen(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ws / "plan_2019.yaml").read_text(encoding="utf-8")
    (ws / "plan_2020.yaml").write_text(
        text.replace("\nyear: 2019", "\nyear: 2020").replace("number: 1819/KH-UBND",
                                                             "number: 99/KH-UBND"),
        encoding="utf-8")
    monkeypatch.chdir(ws)
    assert run("info", "--format", "json").json()["plan"] == "99/KH-UBND (2020)"
    assert run("info", "--format", "json", "--plan", "2019").json()["plan"] == \
        "1819/KH-UBND (2019)"
    missing = run("tasks", "--plan", "2018")
    assert missing.exit_code == 1
    assert "no plan for 2018" in missing.stderr and "Plans here: 2019, 2020" in missing.stderr


def test_info_says_what_is_in_use(ocop: Any, ws: Path) -> None:
    data = ocop("info", "--format", "json", "--as-of", "2019-07-15", "--lang", "vi").json()
    assert data["workspace"] == str(ws.resolve())
    assert data["plan"] == "1819/KH-UBND (2019)"
    assert data["plan_file"] == str(ws.resolve() / "plan_2019.yaml")
    assert data["as_of"] == "2019-07-15"
    assert data["language"] == "vi"
    assert data["recorder"] == "Tester"
    assert data["entries"] == 0 and data["tasks"] == 18
    table = ocop("info", "--as-of", "2019-07-15", "--lang", "vi").stdout
    for text in ("Thư mục dữ liệu", str(ws.resolve()), "Tính đến ngày", "15/07/2019",
                 "Tiếng Việt (vi)", "Ghi nhận với tên", "Tester"):
        assert text in table, text
    english = ocop("info", "--as-of", "2019-07-15").stdout
    assert "2019-07-15" in english and "English (en)" in english


def test_info_on_a_broken_workspace_still_says_where_it_is(ocop: Any, ws: Path) -> None:
    (ws / "agencies.yaml").write_text("agencies: [\n", encoding="utf-8")
    result = ocop("info", "--format", "json")
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert data["workspace"] == str(ws.resolve()) and data["problems"] >= 1


def test_a_per_user_folder_that_cannot_be_made_is_one_clear_error(
        empty: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = empty.parent / "not-a-folder"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocked))
    result = run("tasks")
    assert result.exit_code == 1
    assert result.stderr.startswith("ocop: error: cannot create the workspace in ")
    assert "Traceback" not in result.stderr


def test_info_counts_the_tasks_as_every_listing_does(tmp_path: Path) -> None:
    root = tmp_path / "office"
    storage.init_workspace(root)

    def tasks_line(lang: str) -> str:
        shown = run("info", "--data", str(root), "--lang", lang, "--format", "csv").stdout
        return next(line for line in shown.splitlines() if line.startswith(("Tasks,", "Nhiệm")))

    assert tasks_line("en") == "Tasks,15 (18 rows of the table)"
    assert tasks_line("vi") == "Nhiệm vụ,15 (18 dòng của bảng)"
    listed = run("tasks", "--data", str(root), "--as-of", "2019-06-15").stdout
    assert "15 tasks: " in listed
    assert run("info", "--data", str(root), "--format", "json").json()["tasks"] == 18
