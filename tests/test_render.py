"""Long tables: drawn fast, fitted to the width, every word kept, colours only on a terminal."""

from __future__ import annotations

import io
import random

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from ocop_cli.output import render
from ocop_cli.output.render import Column, _wrap

WORDS = ["Hội", "nghị", "triển", "khai", "tập", "huấn", "cán", "bộ", "quản", "lý", "vận", "hành",
         "Đề", "án", "OCOP", "cấp", "huyện", "xã"]
COLUMNS = [Column("id", "ID"), Column("title", "Nội dung", max_width=40),
           Column("qty", "Kế hoạch", numeric=True), Column("lead", "Chủ trì", max_width=18)]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def rows(count: int) -> list[dict[str, object]]:
    rng = random.Random(7)
    return [{"id": f"{i}", "title": " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 15))),
             "qty": rng.randint(1, 20), "lead": "Sở NN và PTNT",
             "_style": rng.choice(["overdue", "due", "done", None])} for i in range(count)]


@pytest.mark.parametrize("width", [60, 80, 140])
def test_a_long_table_fits_the_width_and_keeps_every_word(width, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(width))
    data = rows(250)
    out = io.StringIO()
    render.table(COLUMNS, data, title="1819/KH-UBND", footer="250 tasks", file=out)
    lines = out.getvalue().splitlines()
    assert max(cell_len(line) for line in lines) <= width
    assert "\x1b" not in out.getvalue()
    body = [line for line in lines if line.startswith("│")]
    titles = []
    for line in body:
        part = line.split("│")[2].strip()
        if line.split("│")[1].strip():  # a row's first line
            titles.append(part)
        elif part:
            titles[-1] += " " + part
    assert titles == [row["title"] for row in data]
    assert lines[-1] == "250 tasks"


def test_a_long_table_on_a_terminal_is_coloured_by_timing(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    screen = Terminal()
    render.table(COLUMNS, rows(201), file=screen)
    assert "\x1b[31m" in screen.getvalue() and "\x1b[33m" in screen.getvalue()
    plain = Terminal()
    render.table(COLUMNS, rows(201), file=plain, no_color=True)
    assert "\x1b[" not in plain.getvalue()


def test_a_long_table_shows_hostile_text_literally(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    data = rows(201)
    data[0]["title"] = "[bold]x[/] \x1b]8;;http://x\x07 :warning:"
    out = io.StringIO()
    render.table(COLUMNS, data, file=out)
    text = out.getvalue()
    assert "[bold]x[/]" in text and "\\x1b]8;;http://x\\x07" in text and ":warning:" in text
    assert "\x1b" not in text and "\x07" not in text


@given(st.text(alphabet=st.sampled_from("ab ạộ漢😀"), max_size=60), st.integers(1, 30))
def test_wrapped_lines_fit_and_keep_the_text(text, width):
    lines = _wrap(text, width)
    assert all(cell_len(line) <= max(width, 2) for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


@given(st.dictionaries(st.text(max_size=5), st.one_of(
    st.none(), st.integers(), st.text(max_size=8),
    st.lists(st.dictionaries(st.text(max_size=3), st.text(max_size=4), max_size=2),
             max_size=50)), max_size=4))
@example({"rows": [{"title": "Hội nghị\x85"}] * 2345, "n": 1, "empty": []})
@settings(max_examples=50)
def test_an_object_is_written_one_key_a_line_its_long_lists_in_parts(data):
    """A report's object: each key on a line with its value encoded compactly, a list of
    thousands of rows written a thousand at a time, with the same bytes and control
    characters escaped alike."""
    import json

    out = io.StringIO()
    render.write_json(data, out)
    plain = json.JSONEncoder(ensure_ascii=False).encode
    lines = [f"{plain(k)}: {plain(v)}" for k, v in data.items()]
    expected = "{\n  " + ",\n  ".join(lines) + "\n}\n" if lines else "{}\n"
    assert out.getvalue() == render.CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", expected)
    assert json.loads(out.getvalue()) == data


def test_document_columns_are_sized_to_their_text_whole_words_first() -> None:
    from ocop_cli.output.cells import balanced, lines_in
    from ocop_cli.output.sections import Section

    columns = [Column("id", "TT"), Column("content", "Nội dung"),
               Column("target", "Planned", numeric=True), Column("state", "Tình trạng"),
               Column("remark", "Ghi chú")]
    status = "chưa bắt đầu, quá hạn (toàn tỉnh: 0/12, chưa bắt đầu, quá hạn)"
    rows = [{"id": f"5.{i}", "content": "Tập huấn cán bộ quản lý, vận hành Đề án cấp huyện",
             "target": 12, "state": status, "remark": "đã có 5 huyện" if i == 1 else None}
            for i in range(1, 8)]
    widths = balanced(Section("tasks", "", columns, rows), 80)
    assert widths is not None and sum(widths) <= 80
    assert widths[2] > len("Planned") and widths[4] > len("huyện")  # no word split
    assert widths[3] > widths[4]  # the long status before the short remarks
    assert lines_in(status, widths[3] + 1) <= 3  # not a word a line beside empty remarks
    many = [dict(rows[0], id=str(i)) for i in range(501)]
    assert balanced(Section("tasks", "", columns, many), 80) is None  # the form's widths


@given(st.lists(st.sampled_from([*WORDS, "\n"]), max_size=30),
       st.integers(min_value=6, max_value=40))
def test_a_cell_wraps_between_words_as_a_word_processor_does(words, width):
    import textwrap

    from ocop_cli.output.cells import wrapped

    text = " ".join(words)
    expected = sum(max(1, len(textwrap.wrap(line.strip(), width, break_on_hyphens=False)))
                   for line in text.split("\n"))
    assert wrapped(text, width) == expected
    # a word longer than the line starts a line of its own, and is split there
    assert wrapped("Hội Đềánrấtdàikhôngcáchnào", 13) == 3
