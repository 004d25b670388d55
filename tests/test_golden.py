"""Golden files: the JSON every reading command prints on the bundled 2019 plan, pinned byte
for byte, so that moving the code into other modules can be shown to change none of it.

One workspace is made once for this module, with `ocop init` and a fixed list of recording
commands (`progress`, `done`, `start`, `cancel`, `note`, `reopen`, `undo`, and the product
register's `product add|stage|score|undo`), every one with an explicit `--date` and `--as-of`,
so nothing depends on today. Each case then runs one command with `--format json` (and an
explicit `--as-of`) through the in-process app, exactly as the `ocop` fixture runs it, and
compares its standard output with `tests/golden/<case>.json`, which holds the exact bytes
printed.

What is not the same from one run to the next, and only that, is normalised on both sides
before comparing (the files keep the bytes as printed):

- the values of `id` and `undoes` that are history or register line ids (20 hex digits: the
  clock's milliseconds and random digits), and product ids (`sp-` and 6 random hex digits),
  wherever a value is exactly such an id: each distinct id becomes `<id-N>` / `<product-N>`,
  numbered by first appearance, so that which entry undoes which, and which line is whose,
  is still compared;
- the values of `recorded` (and `at`) that are the clock time a line was written: `<at>`;
- in `ocop info`, the temporary folders of this run: the value of `workspace` wherever it
  occurs (so also in `plan_file`) becomes `<workspace>`, and that of `user_workspace`
  `<user_workspace>`.

Task ids, agency ids, dates and every other value are compared as printed.

To write the files again (after a change of output that is meant):

    OCOP_GOLDEN_UPDATE=1 python -m pytest tests/test_golden.py -p no:cacheprovider

It writes every case's file, removes the files of cases that no longer exist, and passes.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ocop_cli.commands.app import app

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("OCOP_GOLDEN_UPDATE") == "1"

END = "2019-12-31"  # the as-of date every recording command is given

# The progress recorded, in this order. Each runs with `--as-of END` added.
RECORDS: list[tuple[str, ...]] = [
    ("done", "1.1", "--date", "2019-06-20", "--ref", "12/BC-SNN"),
    ("start", "4", "--date", "2019-06-15"),
    ("done", "3.1", "--date", "2019-06-25", "--by", "Văn phòng điều phối"),
    ("done", "3.2", "--place", "Gia Lộc", "--date", "2019-06-28"),
    ("start", "2", "--date", "2019-07-05"),
    ("progress", "1.2", "1", "--place", "Gia Lộc", "--date", "2019-07-10",
     "--ref", "45/BC-UBND", "--by", "Phòng NN Gia Lộc"),
    ("progress", "1.2", "4", "--date", "2019-07-15", "--note", "đã có 5 huyện tổ chức"),
    ("progress", "1.2", "1", "--place", "Tứ Kỳ", "--date", "2019-07-20"),
    ("progress", "5.2", "1", "--place", "Nam Sách", "--date", "2019-07-25"),
    ("progress", "1.2", "1", "--place", "Phòng NN và PTNT Thanh Hà", "--date", "2019-08-05"),
    ("progress", "5.2", "1", "--place", "Gia Lộc", "--date", "2019-08-12"),
    ("done", "5.1", "--date", "2019-08-15", "--ref", "77/BC-CCPTNT"),
    ("done", "4", "--date", "2019-08-20", "--ref", "99/SNN"),
    ("progress", "6", "1", "--place", "Cẩm Giàng", "--date", "2019-09-05"),
    ("progress", "2", "8", "--date", "2019-09-10", "--ref", "88/BC-SNN"),
    ("cancel", "9", "--note", "không bố trí được kinh phí", "--date", "2019-09-30"),
    ("progress", "7", "5", "--date", "2019-10-01"),
    ("note", "10", "đã có 4 HTX nộp hồ sơ", "--date", "2019-10-15"),
    ("progress", "10", "4", "--date", "2019-10-15"),
    ("progress", "11", "1", "--date", "2019-11-05"),
    ("undo",),  # takes back the progress of 11 just recorded
    ("done", "11", "--date", "2019-11-10"),
    ("reopen", "11", "--date", "2019-11-20", "--note", "thiếu bản in"),
    ("progress", "6", "1", "--place", "Bình Giang", "--date", "2019-11-25"),
    ("done", "1.2", "--date", "2019-12-20", "--note", "các huyện còn lại đã tổ chức"),
]

# The product register: (name, district, commune, entity, kind, group, new, date), then the
# steps of each, by name. Each runs with `--as-of END` added.
PRODUCTS: list[tuple[str, str, str, str, str, str, bool, str]] = [
    ("Bánh gai", "Ninh Giang", "Hồng Phúc", "HTX Hồng Phúc", "htx", "thuc-pham", False,
     "2019-07-10"),
    ("Vải thiều Thanh Hà", "Thanh Hà", "Thanh Sơn", "HTX Thanh Sơn", "htx", "thuc-pham",
     True, "2019-07-12"),
    ("Chè Chí Linh", "TP Chí Linh", "Hoàng Hoa Thám", "Công ty TNHH Chè Chí Linh", "dn",
     "do-uong", False, "2019-07-20"),
    ("Bánh đa", "Kinh Môn", "Hiệp An", "Hộ Nguyễn Văn B", "ho", "thuc-pham", False,
     "2019-08-01"),
    ("Gối thêu", "Gia Lộc", "Gia Xuyên", "Tổ hợp tác thêu Gia Xuyên", "tht", "vai-may-mac",
     True, "2019-08-05"),
]
PRODUCT_STEPS: list[tuple[str, ...]] = [
    ("stage", "Bánh gai", "chosen", "--date", "2019-08-01"),
    ("score", "Bánh gai", "62", "--council", "huyen", "--date", "2019-08-10"),
    ("stage", "Bánh gai", "sent", "--ref", "45/TTr-UBND", "--date", "2019-09-01"),
    ("score", "Bánh gai", "76", "--council", "tinh", "--date", "2019-11-20"),
    ("stage", "Bánh gai", "recognised", "--ref", "2345/QĐ-UBND", "--date", "2019-12-10"),
    ("stage", "Vải thiều Thanh Hà", "chosen", "--date", "2019-07-30"),
    ("stage", "Vải thiều Thanh Hà", "sent", "--ref", "30/TTr-UBND", "--date", "2019-08-25"),
    ("score", "Vải thiều Thanh Hà", "92", "--council", "tinh", "--date", "2019-11-22"),
    ("stage", "Vải thiều Thanh Hà", "recognised", "--ref", "2300/QĐ-UBND",
     "--date", "2019-12-05"),
    ("stage", "Chè Chí Linh", "chosen", "--date", "2019-08-20"),
    ("stage", "Chè Chí Linh", "sent", "--date", "2019-09-15"),
    ("score", "Chè Chí Linh", "45", "--council", "tinh", "--date", "2019-11-25"),
    ("stage", "Chè Chí Linh", "not_recognised", "--date", "2019-12-15"),
    ("stage", "Bánh đa", "rejected", "--note", "trùng sản phẩm đã đăng ký", "--date",
     "2019-08-20"),
    ("stage", "Gối thêu", "chosen", "--date", "2019-08-30"),
    ("undo", "Gối thêu"),  # back to registered
]


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]


def _c(name: str, *args: str) -> Case:
    return Case(name, args)


# A product id in a case's arguments is written `{Name}` and filled in from the register.
CASES: list[Case] = [
    # ocop tasks
    _c("tasks-2019-06-15", "tasks", "--as-of", "2019-06-15"),
    _c("tasks-2019-07-31", "tasks", "--as-of", "2019-07-31"),
    _c("tasks-2019-12-31", "tasks", "--as-of", "2019-12-31"),
    _c("tasks-month-7", "tasks", "--month", "7", "--as-of", "2019-07-31"),
    _c("tasks-month-12", "tasks", "--month", "12", "--as-of", "2019-12-31"),
    _c("tasks-agency-sonn", "tasks", "--agency", "so nn va ptnt", "--as-of", "2019-09-15"),
    _c("tasks-agency-sonn-lead", "tasks", "--agency", "Sở NN và PTNT", "--role", "lead",
       "--as-of", "2019-09-15"),
    _c("tasks-agency-chicuc-partner", "tasks", "--agency", "chi cuc ptnt", "--role",
       "partner", "--as-of", "2019-09-15"),
    _c("tasks-agency-gialoc", "tasks", "--agency", "Gia Lộc", "--as-of", "2019-09-15"),
    _c("tasks-agency-phong-gialoc", "tasks", "--agency", "Phòng NN và PTNT Gia Lộc",
       "--as-of", "2019-12-31"),
    _c("tasks-place-gialoc", "tasks", "--place", "Gia Lộc", "--as-of", "2019-09-15"),
    _c("tasks-place-tuky-2019-12-31", "tasks", "--place", "Tứ Kỳ", "--as-of", "2019-12-31"),
    _c("tasks-overdue-2019-09-15", "tasks", "--overdue", "--as-of", "2019-09-15"),
    _c("tasks-overdue-agency-sonn", "tasks", "--overdue", "--agency", "so nn va ptnt",
       "--as-of", "2019-12-31"),
    _c("tasks-due-2019-07-31", "tasks", "--due", "--as-of", "2019-07-31"),
    _c("tasks-status-done", "tasks", "--status", "done", "--as-of", "2019-12-31"),
    _c("tasks-status-open", "tasks", "--status", "in_progress", "--status", "not_started",
       "--as-of", "2019-09-15"),
    _c("tasks-status-cancelled", "tasks", "--status", "cancelled", "--as-of", "2019-12-31"),
    _c("tasks-sort-urgency-2019-09-15", "tasks", "--sort", "urgency", "--as-of", "2019-09-15"),
    _c("tasks-sort-urgency-overdue", "tasks", "--sort", "urgency", "--overdue",
       "--as-of", "2019-12-31"),
    _c("tasks-grep-hoi-nghi", "tasks", "--grep", "hoi nghi", "--as-of", "2019-07-31"),
    _c("tasks-vi-month-7", "--lang", "vi", "tasks", "--month", "7", "--as-of", "31/07/2019"),
    _c("tasks-plan-2019-vi-date", "tasks", "--plan", "2019", "--as-of", "15/9/2019"),
    # ocop show
    _c("show-1.2-2019-09-15", "show", "1.2", "--as-of", "2019-09-15"),
    _c("show-1.2-2019-12-31", "show", "1.2", "--as-of", "2019-12-31"),
    _c("show-1-2019-07-31", "show", "1", "--as-of", "2019-07-31"),
    _c("show-3.2-vi", "show", "3.2", "--as-of", "2019-07-31", "--lang", "vi"),
    _c("show-8-2019-12-31", "show", "8", "--as-of", "2019-12-31"),
    _c("show-9-cancelled", "show", "9", "--as-of", "2019-12-31"),
    _c("show-11-undo-reopen", "show", "11", "--as-of", "2019-12-31"),
    _c("show-10-2019-06-15", "show", "10", "--as-of", "2019-06-15"),
    # ocop history
    _c("history-all", "history", "--as-of", "2019-12-31"),
    _c("history-1.2", "history", "1.2", "--as-of", "2019-12-31"),
    _c("history-1-2019-07-31", "history", "1", "--as-of", "2019-07-31"),
    _c("history-11-vi", "history", "11", "--as-of", "2019-12-31", "--lang", "vi"),
    # ocop report
    _c("report-overview-2019-06-15", "report", "--as-of", "2019-06-15"),
    _c("report-overview-2019-09-15", "report", "--as-of", "2019-09-15"),
    _c("report-overview-2019-12-31", "report", "--as-of", "2019-12-31"),
    _c("report-overview-urgency", "report", "--sort", "urgency", "--as-of", "2019-09-15"),
    _c("report-overview-vi", "report", "--lang", "vi", "--as-of", "2019-09-15"),
    _c("report-agency-sonn", "report", "--agency", "so nn va ptnt", "--as-of", "2019-09-15"),
    _c("report-agency-sonn-vi", "report", "--agency", "so nn va ptnt", "--lang", "vi",
       "--as-of", "2019-12-31"),
    _c("report-agency-gialoc", "report", "--agency", "Gia Lộc", "--as-of", "2019-09-15"),
    _c("report-agency-phong-thanhha", "report", "--agency", "Phòng NN và PTNT Thanh Hà",
       "--as-of", "2019-12-31"),
    _c("report-agency-ubnd-urgency", "report", "--agency", "UBND tỉnh", "--sort", "urgency",
       "--as-of", "2019-07-31"),
    _c("report-period-2019-07", "report", "--period", "2019-07", "--as-of", "2019-07-31"),
    _c("report-period-2019-Q3", "report", "--period", "2019-Q3", "--as-of", "2019-12-31"),
    _c("report-period-2019-H2", "report", "--period", "2019-H2", "--as-of", "2019-12-31"),
    _c("report-period-2019", "report", "--period", "2019", "--as-of", "2019-12-31"),
    _c("report-month-7", "report", "--month", "7", "--as-of", "2019-09-15"),
    _c("report-period-Q3-gialoc", "report", "--period", "2019-Q3", "--agency", "Gia Lộc",
       "--as-of", "2019-09-30"),
    _c("report-document-options", "report", "--number", "45", "--dated", "30/09/2019",
       "--signer", "Nguyễn Văn A", "--as-of", "2019-09-30"),
    _c("report-output-stdout", "report", "--output", "-", "--agency", "Tứ Kỳ",
       "--as-of", "2019-12-31"),
    # ocop agencies
    _c("agencies-2019-06-15", "agencies", "--as-of", "2019-06-15"),
    _c("agencies-2019-09-15", "agencies", "--as-of", "2019-09-15"),
    _c("agencies-2019-12-31-vi", "agencies", "--as-of", "2019-12-31", "--lang", "vi"),
    # ocop info
    _c("info", "info", "--as-of", "2019-07-31"),
    _c("info-vi", "info", "--as-of", "2019-07-31", "--lang", "vi"),
    # ocop product
    _c("product-list-2019-12-31", "product", "list", "--as-of", "2019-12-31"),
    _c("product-list-2019-08-15", "product", "list", "--as-of", "2019-08-15"),
    _c("product-list-district", "product", "list", "--district", "Ninh Giang",
       "--as-of", "2019-12-31"),
    _c("product-list-stage-recognised", "product", "list", "--stage", "recognised",
       "--as-of", "2019-12-31"),
    _c("product-list-stages-chosen-sent", "product", "list", "--stage", "chosen", "--stage",
       "sent", "--as-of", "2019-09-01"),
    _c("product-list-stars-4", "product", "list", "--stars", "4", "--as-of", "2019-12-31"),
    _c("product-list-kind-group", "product", "list", "--kind", "htx", "--group", "thuc-pham",
       "--as-of", "2019-12-31"),
    _c("product-list-year-commune-vi", "product", "list", "--year", "2019", "--commune",
       "gia xuyen", "--lang", "vi", "--as-of", "2019-12-31"),
    _c("product-show-banh-gai", "product", "show", "{Bánh gai}", "--as-of", "2019-12-31"),
    _c("product-show-banh-gai-2019-09-15", "product", "show", "{Bánh gai}",
       "--as-of", "2019-09-15"),
    _c("product-show-goi-theu-undone", "product", "show", "{Gối thêu}", "--as-of", "2019-12-31"),
    _c("product-show-banh-da-rejected-vi", "product", "show", "{Bánh đa}", "--lang", "vi",
       "--as-of", "2019-12-31"),
    _c("product-report-2019-12-31", "product", "report", "--as-of", "2019-12-31"),
    _c("product-report-months-36", "product", "report", "--months", "36",
       "--as-of", "2019-12-31"),
    _c("product-report-2019-09-15-vi", "product", "report", "--lang", "vi",
       "--as-of", "2019-09-15"),
]


# --- the workspace ---------------------------------------------------------------------------


def _invoke(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, f"ocop {' '.join(args)}: {result.stderr}"
    return result


@dataclass(frozen=True)
class Workspace:
    root: Path
    products: dict[str, str]  # name → id


@pytest.fixture(scope="module")
def golden_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The workspace of every case, made once, in the same isolated environment as the
    `isolated` fixture of conftest (which is per test, so cannot serve a module's fixture)."""
    home = tmp_path_factory.mktemp("golden-home")
    root = tmp_path_factory.mktemp("golden") / "ws"
    with pytest.MonkeyPatch.context() as mp:
        for var in list(os.environ):
            if var.startswith("OCOP_") or var in ("NO_COLOR", "LANGUAGE", "LC_ALL",
                                                  "LC_MESSAGES"):
                mp.delenv(var, raising=False)
        mp.setenv("HOME", str(home))
        mp.setenv("XDG_DATA_HOME", str(home / ".local/share"))
        mp.setenv("XDG_CACHE_HOME", str(home / ".cache"))
        mp.setenv("LANG", "C.UTF-8")
        mp.setenv("OCOP_USER", "Tester")
        mp.setenv("COLUMNS", "200")
        mp.chdir(home)
        _invoke("init", str(root), "--as-of", END)
        mp.setenv("OCOP_DATA", str(root))
        for args in RECORDS:
            _invoke(*args, "--as-of", END)
        for name, district, commune, entity, kind, group, new, date in PRODUCTS:
            _invoke("product", "add", name, "--district", district, "--commune", commune,
                    "--entity", entity, "--kind", kind, "--group", group,
                    *(["--new"] if new else []), "--date", date, "--as-of", END)
        listed = _invoke("product", "list", "--format", "json", "--as-of", END)
        products = {row["name"]: row["id"] for row in json.loads(listed.stdout)}
        assert sorted(products) == sorted(p[0] for p in PRODUCTS)
        for command, name, *rest in PRODUCT_STEPS:
            _invoke("product", command, products[name], *rest, "--as-of", END)
    yield Workspace(root, products)


# --- comparing -------------------------------------------------------------------------------

_LINE_ID = re.compile(r"[0-9a-f]{20}")  # a history or register line: ms and random digits
_PRODUCT_ID = re.compile(r"sp-[0-9a-f]{6}")  # a product: random digits
_CLOCK = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?")
_KEYED = re.compile(r'"(?P<key>[a-z_]+)"(?P<sep>\s*:\s*)"(?P<value>[^"\\]*)"')
_ID_KEYS = {"id", "undoes"}  # keys whose value may be a generated id
_CLOCK_KEYS = {"at", "recorded"}  # keys whose value is the clock time a line was written
_PATH_KEYS = ("workspace", "user_workspace")  # `ocop info`: this run's temporary folders


def normalise(text: str) -> str:
    """`text` with the values that differ from run to run replaced (see the docstring)."""
    seen: dict[str, dict[str, str]] = {"id": {}, "product": {}}

    def placeholder(value: str, kind: str) -> str:
        numbers = seen[kind]
        return numbers.setdefault(value, f"<{kind}-{len(numbers) + 1}>")

    def replace(match: re.Match[str]) -> str:
        key, value = match["key"], match["value"]
        if key in _CLOCK_KEYS and _CLOCK.fullmatch(value):
            value = "<at>"
        elif key in _ID_KEYS and _LINE_ID.fullmatch(value):
            value = placeholder(value, "id")
        elif key in _ID_KEYS and _PRODUCT_ID.fullmatch(value):
            value = placeholder(value, "product")
        return f'"{key}"{match["sep"]}"{value}"'

    document = json.loads(text)
    if isinstance(document, dict):
        for key in _PATH_KEYS:  # the folder, and the files in it (plan_file)
            if isinstance(document.get(key), str):
                text = text.replace(json.dumps(document[key])[1:-1], f"<{key}>")
    return _KEYED.sub(replace, text)


def first_difference(expected: str, actual: str) -> str:
    old, new = expected.splitlines(), actual.splitlines()
    for n, (a, b) in enumerate(zip(old, new, strict=False), start=1):
        if a != b:
            return f"line {n}:\n  golden: {a!r}\n  now:    {b!r}"
    n = min(len(old), len(new)) + 1
    if len(old) != len(new):
        return (f"line {n}: the golden file has {len(old)} lines, the output {len(new)}")
    return "the same lines, different line endings or final newline"


def _args(case: Case, ws: Workspace) -> list[str]:
    args = [ws.products[a[1:-1]] if a.startswith("{") and a.endswith("}") else a
            for a in case.args]
    return [*args, "--format", "json"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_json_output_is_the_golden_one(case: Case, golden_ws: Workspace, ocop: Any) -> None:
    result = ocop(*_args(case, golden_ws), env={"OCOP_DATA": str(golden_ws.root)})
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)  # it is JSON
    path = GOLDEN / f"{case.name}.json"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(result.stdout.encode("utf-8"))
        return
    assert path.exists(), f"no golden file {path.name}: run with OCOP_GOLDEN_UPDATE=1"
    expected = normalise(path.read_bytes().decode("utf-8"))
    actual = normalise(result.stdout)
    if expected != actual:
        diff = "".join(list(difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True),
            f"golden/{path.name}", "output", n=2))[:60])
        pytest.fail(f"ocop {' '.join(_args(case, golden_ws))}\ndiffers from "
                    f"golden/{path.name} at {first_difference(expected, actual)}\n{diff}",
                    pytrace=False)


def test_every_golden_file_is_a_case() -> None:
    names = {c.name for c in CASES}
    assert len(names) == len(CASES), "two cases share a name"
    stale = sorted(p.name for p in GOLDEN.glob("*.json") if p.stem not in names)
    if UPDATE:
        for name in stale:
            (GOLDEN / name).unlink()
        return
    assert not stale, f"golden files of no case: {stale}"
