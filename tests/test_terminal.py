"""Every kind of terminal: files and pipes on any code page, colours, width, shell completion,
and help that reads like a table of contents."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

COLOUR = re.compile(r"\x1b\[[0-9;]*m")
FOREGROUND = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[0-9;]+)m")
AS_OF = ("--as-of", "2019-09-15")


@pytest.fixture
def here(ws: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Real processes find the workspace through OCOP_DATA."""
    monkeypatch.setenv("OCOP_DATA", str(ws))
    return ws


# --- files and pipes -------------------------------------------------------------------------


@pytest.mark.parametrize("code_page", ["cp1252", "cp1258", "ascii"])
def test_output_to_a_file_is_utf8_whatever_the_code_page(here: Path, tmp_path: Path,
                                                         code_page: str) -> None:
    """`PYTHONIOENCODING=cp1252 ocop tasks > out.txt`"""
    out = tmp_path / "out.txt"
    with out.open("wb") as handle:
        done = subprocess.run([sys.executable, "-m", "ocop_cli", "tasks", "--lang", "vi", *AS_OF],
                              stdout=handle, stderr=subprocess.PIPE, timeout=60, check=False,
                              env={**os.environ, "PYTHONIOENCODING": code_page})
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    text = out.read_bytes().decode("utf-8")  # strict: fails on anything but UTF-8
    assert "Hội nghị cấp huyện" in text and "Sở NN và PTNT" in text and "quá hạn" in text


def test_a_pipe_gets_utf8_on_a_cp1252_platform(here: Path, proc: Any) -> None:
    """`ocop tasks | cat`, with Python told the platform speaks cp1252."""
    result = proc("tasks", *AS_OF, env={"PYTHONIOENCODING": "cp1252"})
    assert result.returncode == 0, result.stderr
    assert "Tuyên truyền về Đề án OCOP" in result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell pipeline")
def test_a_shell_pipeline(here: Path, tmp_path: Path) -> None:
    command = f"{sys.executable} -m ocop_cli tasks --as-of 2019-09-15 | cat > out.txt"
    done = subprocess.run(["sh", "-c", command], cwd=tmp_path, capture_output=True,
                          timeout=60, check=False,
                          env={**os.environ, "PYTHONIOENCODING": "cp1252"})
    assert done.returncode == 0 and done.stderr == b""
    assert "Hội nghị cấp huyện" in (tmp_path / "out.txt").read_bytes().decode("utf-8")


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell pipeline")
def test_a_reader_that_stops_early_is_no_error(here: Path) -> None:
    """`ocop tasks | head -1`: the pipe closes under ocop; no traceback, no complaint."""
    command = f"{sys.executable} -m ocop_cli tasks --format json | head -1"
    done = subprocess.run(["sh", "-c", command], capture_output=True, timeout=60, check=False)
    assert done.stdout == b"[\n"
    assert done.stderr == b""


def test_errors_in_vietnamese_reach_a_cp1252_stderr_intact(here: Path, proc: Any) -> None:
    result = proc("tasks", "--agency", "sở tài chínhh", "--lang", "vi",
                  env={"PYTHONIOENCODING": "cp1252"})
    assert result.returncode == 1
    assert result.stderr == ("ocop: lỗi: không có cơ quan nào tên là 'sở tài chínhh'\n"
                             "ocop: Có phải ý bạn là: Sở Tài chính?\n")


def test_help_and_usage_errors_through_a_cp1252_pipe(here: Path, proc: Any) -> None:
    cp1252 = {"PYTHONIOENCODING": "cp1252"}
    shown = proc("tasks", "-h", "--lang", "vi", env=cp1252)
    assert shown.returncode == 0 and "Chỉ các nhiệm vụ quá hạn" in shown.stdout
    wrong = proc("tasks", "--month", "13", "--lang", "vi", env=cp1252)
    assert wrong.returncode == 2 and "không nằm trong khoảng từ 1 đến 12" in wrong.stderr


# --- a real terminal: colours and width ------------------------------------------------------


def on_terminal(*args: str, columns: int = 100, env: dict[str, str] | None = None) -> str:
    """Run ocop with its output on a pseudo-terminal `columns` wide; what it showed there."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    full_env = {**os.environ, "TERM": "xterm-256color", **(env or {})}
    full_env.pop("COLUMNS", None)
    process = subprocess.Popen([sys.executable, "-m", "ocop_cli", *args], stdin=follower,
                               stdout=follower, stderr=subprocess.PIPE, env=full_env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.stderr is not None
    with process.stderr:
        problems = process.stderr.read()
    assert process.wait(timeout=60) == 0, problems
    return b"".join(chunks).decode("utf-8")


needs_pty = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")


@needs_pty
def test_a_terminal_gets_colours_and_no_color_removes_them(here: Path) -> None:
    coloured = on_terminal("tasks", *AS_OF)
    assert FOREGROUND.search(coloured), "overdue rows are red, due rows yellow"
    for plain in (on_terminal("tasks", *AS_OF, env={"NO_COLOR": "1"}),
                  on_terminal("tasks", *AS_OF, "--no-color")):
        assert not FOREGROUND.search(plain)
        assert COLOUR.sub("", plain) == COLOUR.sub("", coloured)
    assert FOREGROUND.search(on_terminal("tasks", *AS_OF, env={"NO_COLOR": ""})), \
        "an empty NO_COLOR does not count (no-color.org)"


@needs_pty
@pytest.mark.parametrize("columns", [60, 80, 140])
def test_the_terminal_width_is_respected(here: Path, columns: int) -> None:
    shown = COLOUR.sub("", on_terminal("tasks", *AS_OF, "--lang", "vi", columns=columns))
    lines = shown.replace("\r\n", "\n").splitlines()
    assert max(len(line) for line in lines) <= columns
    # long Vietnamese titles are folded between words, never cut or lost
    words = " ".join(lines)
    for word in ("Tiếp", "nhận", "đăng", "ký", "ý", "tưởng", "phẩm"):
        assert re.search(rf"(?<!\w){word}(?!\w)", words), word


def test_width_without_a_terminal_follows_columns(here: Path, proc: Any) -> None:
    narrow = proc("tasks", *AS_OF, env={"COLUMNS": "70"})
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 70
    wide = proc("tasks", *AS_OF, env={"COLUMNS": "160"})
    assert max(len(line) for line in wide.stdout.splitlines()) > 100
    assert not COLOUR.search(narrow.stdout + wide.stdout)  # no colours into a pipe


# --- shell completion ------------------------------------------------------------------------


def complete(proc: Any, env: dict[str, str], cwd: Path | None = None) -> list[str]:
    result = proc(env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_bash_completes_task_ids(here: Path, proc: Any) -> None:
    env = {"_OCOP_COMPLETE": "complete_bash", "COMP_WORDS": "ocop done 1", "COMP_CWORD": "2"}
    assert complete(proc, env) == ["1", "1.1", "1.2", "10", "11"]


def test_zsh_completes_task_ids_with_their_titles(here: Path, proc: Any) -> None:
    env = {"_OCOP_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "ocop show 5."}
    out = "\n".join(complete(proc, env))
    assert '"5.1":"Cấp tỉnh"' in out and '"5.2":"Cấp huyện"' in out and '"4"' not in out


def test_fish_completes_agency_ids_with_their_names(here: Path, proc: Any) -> None:
    env = {"_OCOP_COMPLETE": "complete_fish", "_TYPER_COMPLETE_FISH_ACTION": "get-args",
           "_TYPER_COMPLETE_ARGS": "ocop tasks --agency so-t"}
    assert complete(proc, env) == [
        "so-tai-chinh\tSở Tài chính",
        "so-thong-tin-truyen-thong\tSở TT và TT: Sở Thông tin và Truyền thông"]


def test_powershell_completes_places(here: Path, proc: Any) -> None:
    env = {"_OCOP_COMPLETE": "complete_powershell",
           "_TYPER_COMPLETE_ARGS": "ocop progress 1.2 3 --place gia",
           "_TYPER_COMPLETE_WORD_TO_COMPLETE": "gia"}
    assert complete(proc, env) == ["gia-loc:::Gia Lộc: Huyện Gia Lộc"]


def test_a_completed_agency_id_is_accepted(ocop: Any) -> None:
    by_id = ocop("tasks", "--agency", "so-tai-chinh", "--format", "json")
    by_name = ocop("tasks", "--agency", "sở tài chính", "--format", "json")
    assert by_id.exit_code == 0 and by_id.json() == by_name.json()


def test_completion_before_any_workspace_exists_creates_nothing(tmp_path: Path,
                                                                proc: Any) -> None:
    from ocop_cli.store.storage import user_workspace_dir

    env = {"_OCOP_COMPLETE": "complete_bash", "COMP_WORDS": "ocop history 5",
           "COMP_CWORD": "2"}
    assert complete(proc, env, cwd=tmp_path) == ["5", "5.1", "5.2"]
    assert not user_workspace_dir().exists()
    assert list(tmp_path.iterdir()) == []


def test_completion_of_a_broken_workspace_offers_nothing_quietly(here: Path, proc: Any) -> None:
    (here / "plan_2019.yaml").write_text("tasks: [\n", encoding="utf-8")
    env = {"_OCOP_COMPLETE": "complete_bash", "COMP_WORDS": "ocop done ", "COMP_CWORD": "2"}
    result = proc(env=env)
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "", "")


INSTALLED = Path(sys.executable).parent / "ocop"


@pytest.mark.skipif(shutil.which("bash") is None or not INSTALLED.exists(),
                    reason="needs bash and the installed ocop script")
def test_bash_itself_completes_with_the_script_ocop_gives(here: Path, proc: Any,
                                                          tmp_path: Path) -> None:
    script = proc("--show-completion", "bash",
                  env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}).stdout
    (tmp_path / "ocop.sh").write_text(script, encoding="utf-8")
    typed = ('source ./ocop.sh; COMP_WORDS=(ocop done 5); COMP_CWORD=2; '
             '_ocop_completion ocop; printf "%s\\n" "${COMPREPLY[@]}"')
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", typed], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ,
                               "PATH": f"{INSTALLED.parent}{os.pathsep}{os.environ['PATH']}"})
    assert done.stdout.split() == ["5", "5.1", "5.2"], done.stderr


def test_completion_scripts_for_every_shell(proc: Any) -> None:
    for shell, marker in (("bash", "complete -o default -F"), ("zsh", "#compdef ocop"),
                          ("fish", "complete --command ocop"),
                          ("powershell", "Register-ArgumentCompleter")):
        # the shell named rather than detected from the one the tests run in
        result = proc("--show-completion", shell,
                      env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
        assert result.returncode == 0, result.stderr
        assert marker in result.stdout and "_OCOP_COMPLETE" in result.stdout, shell


# --- help ------------------------------------------------------------------------------------


def _commands() -> list[tuple[str, Any]]:
    from typer.main import get_command

    from ocop_cli.commands.app import app

    def walk(prefix: str, command: Any) -> list[tuple[str, Any]]:
        found = [(prefix, command)]
        for name, sub in getattr(command, "commands", {}).items():
            found += walk(f"{prefix} {name}".strip(), sub)
        return found

    return walk("", get_command(app))


def test_every_command_has_help_and_an_example_in_both_languages() -> None:
    from ocop_cli.commands.helptext import LocalCommand, LocalGroup
    from ocop_cli.core.i18n import _, set_language

    set_language("vi")
    try:
        for name, command in _commands():
            assert isinstance(command, (LocalCommand, LocalGroup)), \
                f"ocop {name}: make it with cls=LocalCommand (or LocalGroup) to translate it"
            english = command.__dict__.get("_ocop_english", {}).get("help", command.help)
            assert english and english.strip(), f"ocop {name} has no help"
            assert _(english) != english, f"ocop {name}: help not translated"
            if not hasattr(command, "commands"):
                assert "Example: ocop " + name in english, f"ocop {name}: no example"
                assert "Ví dụ: ocop " + name in _(english), f"ocop {name}: example lost"
            for param in command.params:
                text = param.__dict__.get("_ocop_english", {}).get("help", param.help)
                assert text, f"ocop {name} {param.opts or param.name}: no help"
                assert _(text) != text, f"ocop {name} {param.opts}: help not translated"
    finally:
        set_language("en")


def test_ocop_help_reads_like_a_table_of_contents(ocop: Any) -> None:
    for lang, heading, words in (("en", "Commands:", "Mark a task done"),
                                 ("vi", "Lệnh:", "Ghi nhận nhiệm vụ đã hoàn thành.")):
        result = ocop("--lang", lang, "--help")
        assert result.exit_code == 0
        listing = result.stdout.split(heading + "\n")[1].split("\n\n")[0].splitlines()
        names = [line.split()[0] for line in listing if line.startswith("  ") and
                 not line.startswith("    ")]
        assert {"tasks", "done", "progress", "show", "history", "undo", "info", "check",
                "init"} <= set(names)
        assert words in result.stdout
        assert all(not line.rstrip().endswith("...") for line in listing), \
            f"{lang}: a summary is cut short: make the first sentence shorter"


def test_command_help_in_vietnamese(ocop: Any) -> None:
    result = ocop("tasks", "-h", "--lang", "vi")
    assert result.exit_code == 0
    page = " ".join(result.stdout.split())  # the same words however the lines are wrapped
    for text in ("Cách dùng: ocop tasks [TÙY_CHỌN]", "Liệt kê các nhiệm vụ của kế hoạch",
                 "Ví dụ: ocop tasks --month 7", "Tùy chọn:", "-m, --month THÁNG",
                 "Chỉ các nhiệm vụ quá hạn", "[mặc định: any]", "biến môi trường: OCOP_DATA",
                 "Hiện trợ giúp này rồi thoát."):
        assert text in page, text
    arguments = ocop("done", "-h", "--lang", "vi").stdout
    assert "Đối số:" in arguments and "[bắt buộc]" in arguments
    assert "Ghi nhận nhiệm vụ đã hoàn thành." in arguments


def test_help_language_follows_ocop_lang_and_switches_back(ocop: Any) -> None:
    assert "Cách dùng:" in ocop("show", "-h", env={"OCOP_LANG": "vi"}).stdout
    again = ocop("show", "-h").stdout
    assert "Usage: ocop show [OPTIONS] {ID}" in again and "Everything about one task" in again
