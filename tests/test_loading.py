"""Broken plan and agency files: `ocop check` names file, line, column, task and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop_cli.core.windows import months_of, parse_target


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def edit(path: Path, old: str, new: str, count: int = 1) -> int:
    """Replace `old` by `new` in the file; return the line where the change starts."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return line_of(text, old)


PLAN_BREAKS = [
    # (what, old, new, expected message fragment)
    ("window month 13", "window: T6,7", "window: T6,13", "month 13"),
    ("window backwards", "window: T7-9", "window: T9-7", "backwards"),
    ("range min above max", 'target: "15-20"', 'target: "20-15"', "minimum above"),
    ("unknown key", "    section: II.4\n", "    section: II.4\n    owner: x\n",
     "Extra inputs"),
    ("unknown lead", "lead: BCĐ xã", "lead: Sở Du lịch", "unknown agency"),
    ("duplicate task id", 'id: "1.2"', 'id: "1.1"', "used twice"),
    ("duplicate key", "    unit: Cuốn\n", "    unit: Cuốn\n    unit: Quyển\n", "duplicate key"),
    ("tab in indentation", "    unit: Cuốn\n", "\tunit: Cuốn\n", "tab"),
    ("anchor", "    unit: Cuốn\n", "    unit: &u Cuốn\n", "anchors"),
    ("python tag", "    unit: Cuốn\n", "    unit: !!python/name:os.system\n", "not allowed"),
    ("quantity not a number", 'target: "15"', 'target: "mười lăm"', "quantity"),
    ("child without parent", 'id: "5.1"', 'id: "12.1"', "no parent"),
]


@pytest.mark.parametrize("what, old, new, fragment", PLAN_BREAKS, ids=[b[0] for b in PLAN_BREAKS])
def test_broken_plan_is_reported_with_its_line(ocop, ws, what, old, new, fragment):
    plan = ws / "plan_2019.yaml"
    text = plan.read_text(encoding="utf-8")
    if old not in text:  # the shipped file may quote differently
        old = old.replace('"', "")
        new = new.replace('"', "")
    line = edit(plan, old, new)
    result = ocop("check")
    assert result.exit_code == 3
    assert "Traceback" not in result.stderr
    found = re.findall(rf"plan_2019\.yaml:(\d+)(?::(\d+))?: .*{re.escape(fragment)}",
                       result.stderr)
    assert found, result.stderr
    reported = int(found[0][0])
    assert line <= reported <= line + 1, (line, result.stderr)
    # the same fault stops the other commands with the same exit code
    assert ocop("tasks").exit_code == 3


def test_model_errors_name_the_task_and_field(ocop, ws):
    edit(ws / "plan_2019.yaml", "window: T7-9", "window: T9-7")
    assert re.search(r"task 6, window: .*backwards", ocop("check").stderr)


def test_every_problem_is_listed_not_only_the_first(ocop, ws):
    plan = ws / "plan_2019.yaml"
    edit(plan, "lead: BCĐ xã", "lead: Sở Du lịch")
    edit(plan, "partners: [Chi cục PTNT]", "partners: [Chi cục PTMT]")
    result = ocop("check")
    assert result.stderr.count("unknown agency") >= 2


def test_unknown_agency_in_the_plan_suggests_the_closest(ocop, ws):
    edit(ws / "plan_2019.yaml", "lead: Ban chỉ đạo tỉnh", "lead: ban chi dao tinh")
    assert ocop("check").exit_code == 0  # accents and case do not matter
    edit(ws / "plan_2019.yaml", "lead: BCĐ cấp tỉnh", "lead: BCĐ cấp tỉnhh")
    result = ocop("check")
    assert result.exit_code == 3 and "Did you mean" in result.stderr


def test_yaml_11_scalars_stay_text(ocop, ws):
    plan = ws / "plan_2019.yaml"
    edit(plan, "    unit: Cuốn\n", "    unit: NO\n")
    assert ocop("check").exit_code == 0
    tasks = {t["id"]: t for t in ocop("tasks", "-f", "json").json()}
    assert tasks["4"]["unit"] == "NO"


def test_bom_and_crlf_are_accepted(ocop, ws):
    plan = ws / "plan_2019.yaml"
    plan.write_bytes(b"\xef\xbb\xbf" + plan.read_bytes().replace(b"\n", b"\r\n"))
    assert ocop("check").exit_code == 0


def test_bytes_that_are_not_utf8_are_located(ocop, ws):
    agencies = ws / "agencies.yaml"
    text = agencies.read_text(encoding="utf-8")
    line = line_of(text, "Sở Tài chính")
    agencies.write_bytes(text.replace("Sở Tài chính", "S\xf4 T\xe0i ch\xednh", 1)
                         .encode("utf-8").replace("S\xf4".encode(), b"S\xf4", 1))
    result = ocop("check")
    assert result.exit_code == 3
    assert f"agencies.yaml:{line}:" in result.stderr and "not UTF-8" in result.stderr


def test_agency_spelling_shared_by_two_agencies_is_an_error(ocop, ws):
    edit(ws / "agencies.yaml", "short: Sở Y tế", "short: Sở Tài chính")
    result = ocop("check")
    assert result.exit_code == 3 and "share the spelling" in result.stderr


@given(st.integers(1, 12), st.integers(1, 12), st.sampled_from(["T", "T ", "t", "Tháng ", ""]),
       st.sampled_from(["-", " - ", "–"]), st.booleans())
def test_window_ranges_mean_every_month_between(start, end, prefix, dash, repeat_t):
    text = f"{prefix}{start}{dash}{'T' if repeat_t else ''}{end}"
    if start <= end:
        assert months_of(text) == tuple(range(start, end + 1))
    else:
        with pytest.raises(ValueError, match="backwards"):
            months_of(text)


@given(st.lists(st.integers(1, 12), min_size=1, max_size=6), st.sampled_from([",", ", "]))
def test_window_lists_mean_those_months(months, sep):
    text = "T" + sep.join(str(m) for m in months)
    assert months_of(text) == tuple(sorted(set(months)))


@given(st.integers(13, 99) | st.integers(-9, 0))
def test_window_with_a_month_out_of_range_is_refused(month):
    with pytest.raises(ValueError):
        months_of(f"T{month}")


@given(st.integers(0, 500), st.integers(0, 500))
def test_target_ranges(low, high):
    if low <= high:
        target = parse_target(f"{low}-{high}")
        assert (target.min, target.max) == (low, high)
    else:
        with pytest.raises(ValueError):
            parse_target(f"{low}-{high}")
