"""data/plan_2019.yaml is the signed assignment table, cell for cell, and every agency it names
is exactly one entry of data/agencies.yaml.

The table is tests/fixtures/table_2019.tsv, copied byte for byte from the source document.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from ocop_cli.store.yamlio import read_yaml

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "tests" / "fixtures" / "table_2019.tsv"
PLAN = ROOT / "data" / "plan_2019.yaml"
AGENCIES = ROOT / "data" / "agencies.yaml"

COLUMNS = ("title", "unit", "target", "lead", "partners", "window")  # after TT


def table_rows() -> list[tuple[str, dict[str, str]]]:
    """(task id, cells) per row; sub-rows ("-" in TT, or TT empty and "- " before the title)
    are numbered N.1, N.2 … under the last top row."""
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("TT\tNội dung thực hiện")
    rows: list[tuple[str, dict[str, str]]] = []
    parent, sub = None, 0
    for line in lines[1:]:
        if not line.strip():
            continue
        tt, *cells = line.split("\t")
        assert len(cells) == len(COLUMNS), line
        if tt.strip().isdigit():
            parent, sub, task_id = tt.strip(), 0, tt.strip()
        elif tt.strip() == "-" or (not tt and cells[0].startswith("- ")):
            assert parent is not None, line
            sub += 1
            task_id = f"{parent}.{sub}"
            cells[0] = cells[0].removeprefix("- ")
        else:
            raise AssertionError(f"cannot read row: {line!r}")
        rows.append((task_id, dict(zip(COLUMNS, (c.strip() for c in cells), strict=True))))
    return rows


ROWS = table_rows()


def load(path: Path) -> Any:
    return read_yaml(path).data


@pytest.fixture(scope="module")
def plan() -> dict[str, Any]:
    data = load(PLAN)
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def agencies() -> list[dict[str, Any]]:
    return list(load(AGENCIES)["agencies"])


def as_written(cell: str) -> str | None:
    return None if cell in ("", "-") else cell


def squash(text: str) -> str:
    """Runs of `;`, `,` and white space made one space."""
    return re.sub(r"[;,\s]+", " ", text).strip()


def test_task_ids_are_the_table_rows_in_order(plan: dict[str, Any]) -> None:
    ids = [task["id"] for task in plan["tasks"]]
    assert ids == [task_id for task_id, _ in ROWS]
    leaves = [i for i in ids if not any(other.startswith(i + ".") for other in ids)]
    assert len(leaves) == 15


@pytest.mark.parametrize(("task_id", "cells"), ROWS, ids=[task_id for task_id, _ in ROWS])
def test_every_cell_matches_the_table(
    plan: dict[str, Any], task_id: str, cells: dict[str, str]
) -> None:
    (task,) = [t for t in plan["tasks"] if t["id"] == task_id]
    assert task["title"] == cells["title"]
    for column in ("unit", "target", "lead", "window"):
        assert task.get(column) == as_written(cells[column]), column

    partners = task.get("partners") or []
    if as_written(cells["partners"]) is None:
        assert partners == []
        return
    # Each reference as written, trimmed; joined they give back the cell, whose separators
    # are `,` `;` spaces or the word "và" between the last two.
    assert all(p == p.strip().rstrip(",;").strip() and p for p in partners), partners
    pattern = "(?: | và )".join(re.escape(squash(p)) for p in partners)
    assert re.fullmatch(pattern, squash(cells["partners"])), (partners, cells["partners"])


def fold(text: str) -> str:
    """Accents dropped, đ as d, case folded, spacing collapsed."""
    decomposed = unicodedata.normalize("NFD", unicodedata.normalize("NFC", text))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.replace("đ", "d").replace("Đ", "D").casefold().split())


def spellings(agency: dict[str, Any]) -> set[str]:
    names = [agency["short"], agency["name"], *(agency.get("aliases") or [])]
    return {unicodedata.normalize("NFC", n) for n in names}


def test_no_spelling_folds_onto_another_agency(agencies: list[dict[str, Any]]) -> None:
    owners: dict[str, set[str]] = {}
    for agency in agencies:
        for spelling in spellings(agency):
            owners.setdefault(fold(spelling), set()).add(agency["id"])
    assert {key: ids for key, ids in owners.items() if len(ids) > 1} == {}


def test_agency_ids_are_unique_and_links_point_at_them(agencies: list[dict[str, Any]]) -> None:
    ids = [a["id"] for a in agencies]
    assert len(ids) == len(set(ids))
    linked = {a["part_of"] for a in agencies if a.get("part_of")}
    linked |= {m for a in agencies for m in a.get("members") or []}
    assert linked <= set(ids), linked - set(ids)


def test_every_reference_is_exactly_one_agency(
    plan: dict[str, Any], agencies: list[dict[str, Any]]
) -> None:
    refs = [plan["issuer"], plan["received"]["by"]]
    for task in plan["tasks"]:
        refs += [task.get("lead"), *(task.get("partners") or [])]
    for ref in filter(None, refs):
        text = unicodedata.normalize("NFC", ref).strip().rstrip(",;").strip()
        matches = [a["id"] for a in agencies if text in spellings(a)]
        assert len(matches) == 1, (ref, matches)
