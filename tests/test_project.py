"""The promises the repository makes to a newcomer."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ")]


def test_ci_runs_exactly_the_readme_commands():
    commands = readme_commands()
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert [line for line in ci if line in commands] == commands


def test_every_command_has_help_with_an_example():
    from typer.main import get_command

    from ocop_cli.commands.app import app

    def leaves(group, prefix=""):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                assert command.help, name
                yield from leaves(command, f"{prefix}{name} ")
            else:
                yield prefix + name, command

    for name, command in leaves(get_command(app)):
        assert command.help, name
        assert "Example:" in command.help or "ocop " in command.help, name
        for param in command.params:
            if param.param_type_name == "option" and param.name not in ("help",):
                assert getattr(param, "help", None), f"{name} {param.name}"


def test_shipped_schemas_match_the_models():
    from ocop_cli.store.schema import schemas

    for name, schema in schemas().items():
        shipped = json.loads((ROOT / "data" / "schema" / name).read_text(encoding="utf-8"))
        assert shipped == json.loads(json.dumps(schema)), name


def test_data_files_point_editors_at_the_schema():
    for path in (ROOT / "data").glob("*.yaml"):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert re.fullmatch(r"# yaml-language-server: \$schema=schema/\w+\.schema\.json", first)


def test_each_command_module_is_known_to_the_entry_point():
    from ocop_cli.commands.app import MODULES, app

    registered = {c.name: c.callback.__module__ for c in app.registered_commands}
    registered.update({g.name: g.typer_instance.registered_commands[0].callback.__module__
                       for g in app.registered_groups})
    outside = {name: module.rpartition(".")[2] for name, module in registered.items()
               if module != "ocop_cli.commands.app"}
    assert outside == MODULES


@pytest.mark.parametrize("args", [["report", "-h"], ["agencies", "-f", "json"], ["info"],
                                  ["sync", "-h"], ["import", "plan", "-h"], ["export", "plan"],
                                  ["--help"], ["taks"]])
def test_every_area_runs_as_a_real_process(proc, ws, args):
    result = proc(*args, env={"OCOP_DATA": str(ws)})
    assert result.returncode == (2 if args == ["taks"] else 0), result.stderr
    assert "Traceback" not in result.stderr
    if args == ["--help"]:
        assert all(name in result.stdout for name in ("report", "sync", "import", "info"))
    if args == ["taks"]:
        assert "tasks" in result.stderr


def test_the_layers_hold_and_no_package_has_an_import_cycle():
    """`lint-imports` with the contracts of pyproject.toml: commands over the library, over
    imports, output and sync (independent of each other), over store, over core."""
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(linter)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def test_no_module_of_the_package_is_over_600_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for p in (ROOT / "ocop_cli").rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 600} == {}


# An import inside a function says what it saves, in one form: "# start-up: python-docx,
# 98 ms, only for DOCX", on its line or the line above (above a group of imports, it covers
# the group). Anything else is imported at the top of its module.
START_UP = re.compile(r"# start-up: [\w.-]+, \d+ ms, only for \S")



def imports_without_a_reason(source: str) -> list[int]:
    """The lines of the imports inside functions of `source` that do not say what they save."""
    lines = source.splitlines()
    bare: list[int] = []

    def said(line: int) -> bool:  # 1-based
        return bool(START_UP.search(lines[line - 1])) or (
            line > 1 and lines[line - 2].lstrip().startswith("#")
            and bool(START_UP.search(lines[line - 2])))

    def block(statements: list[ast.stmt]) -> None:
        covered = False  # the import just before this one said what the group saves
        for statement in statements:
            if isinstance(statement, ast.Import | ast.ImportFrom):
                covered = covered or said(statement.lineno)
                if not covered:
                    bare.append(statement.lineno)
            else:
                covered = False

    for function in ast.walk(ast.parse(source)):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                for field in ("body", "orelse", "finalbody"):
                    statements = getattr(node, field, None)
                    if isinstance(statements, list):
                        block(statements)
    return sorted(set(bare))


def test_the_check_of_imports_inside_functions_finds_one_without_a_reason():
    source = ("def f():\n    import json\n\n"
              "def g():\n    # start-up: babel.dates, 29 ms, only for a month's name\n"
              "    from babel.dates import get_month_names\n    import csv\n\n"
              "def h():\n    if True:\n        import csv  # start-up: csv, 1 ms, only for X\n"
              "    x = 1\n    import zipfile\n")
    assert imports_without_a_reason(source) == [2, 13]


def test_an_import_inside_a_function_says_what_it_saves():
    """Imports inside functions only where start-up time needs them, each with its measured
    saving (issue 23), in every module of the package."""
    checked = sorted((ROOT / "ocop_cli").rglob("*.py"))
    assert len(checked) > 90
    bare = {path.relative_to(ROOT).as_posix(): lines for path in checked
            if (lines := imports_without_a_reason(path.read_text(encoding="utf-8")))}
    assert bare == {}
