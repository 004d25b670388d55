"""Hostile spreadsheets and input given to `ocop import`: each is refused with one message
naming the file and the limit or the fault, exit 3, nothing written, and the process stays
small. The bombs run in a real process under an address-space limit, so that a regression
fails the test instead of exhausting the machine.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import IO, Any

import pytest
from helpers import PEAK_MB
from test_faults_files import snapshot

MiB = 2**20
RUN = """
import json, os, sys
""" + PEAK_MB + """
from ocop_cli.commands.app import main
sys.argv = ["ocop", *sys.argv[1:]]
try:
    main()
    code = 0
except SystemExit as exit:
    code = exit.code
peak = peak_mb()
with open(os.environ["OCOP_TEST_STATS"], "w") as out:
    json.dump({"peak_mb": peak}, out)
sys.exit(code)
"""


def _cap_memory() -> None:
    # A regression fails the test at this limit; it cannot take the machine's memory.
    resource.setrlimit(resource.RLIMIT_AS, (768 * MiB, 768 * MiB))


def measured(ws: Path, tmp_path: Path, *args: str, stdin: IO[bytes] | None = None
             ) -> tuple[subprocess.CompletedProcess[str], dict[str, float]]:
    """`ocop ARGS` in a real process under the memory cap: its result and its peak memory."""
    stats = tmp_path / "stats.json"
    stats.unlink(missing_ok=True)
    env = {**os.environ, "OCOP_DATA": str(ws), "OCOP_TEST_STATS": str(stats)}
    done = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=120, check=False, stdin=stdin,
                          preexec_fn=_cap_memory, cwd=tmp_path)
    assert stats.exists(), done.stderr[-2000:]
    return done, json.loads(stats.read_text())

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
TYPES = """<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml"
 ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="{RELS}"><Relationship Id="rId1" Type="{DOC}/officeDocument"
 Target="xl/workbook.xml"/></Relationships>"""
BOOK = f"""<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="{MAIN}" xmlns:r="{DOC}"><sheets><sheet name="KH" sheetId="1" r:id="rId1"/>
</sheets></workbook>"""
BOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="{RELS}">
<Relationship Id="rId1" Type="{DOC}/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="{DOC}/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""


def sheet_xml(cells: str, dimension: str = "") -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<?xml version="1.0"?><worksheet xmlns="{MAIN}">{dim}<sheetData>{cells}</sheetData>' \
           "</worksheet>"


def workbook(path: Path, sheet: str, strings: str | bytes = "") -> Path:
    """An XLSX built part by part, as a hostile sender could; deflated, so it stays small."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        book.writestr("[Content_Types].xml", TYPES)
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/workbook.xml", BOOK)
        book.writestr("xl/_rels/workbook.xml.rels", BOOK_RELS)
        book.writestr("xl/worksheets/sheet1.xml", sheet)
        book.writestr("xl/sharedStrings.xml",
                      strings or f'<?xml version="1.0"?><sst xmlns="{MAIN}"/>')
    path.write_bytes(buffer.getvalue())
    return path


def strings_bomb(count: int, size: int) -> bytes:
    head = f'<?xml version="1.0"?><sst xmlns="{MAIN}" count="{count}">'.encode()
    one = b"<si><t>" + b"a" * size + b"</t></si>"
    return head + one * count + b"</sst>"


HEADER = ("<row r='1'><c r='A1' t='inlineStr'><is><t>TT</t></is></c>"
          "<c r='B1' t='inlineStr'><is><t>N\u1ed9i dung</t></is></c></row>")


def cases(tmp: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, what the one error line must say)."""
    bomb_si = strings_bomb(2_000, 40_000)  # 80 MB once decompressed, 1 part over the limit
    many_si = strings_bomb(600, 30_000)  # 18 MB of text: under the part limit, over the text's
    laughs = (f'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "{"x" * 50}">'
              + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'
                        for i in range(8))
              + f']><sst xmlns="{MAIN}"><si><t>&i;</t></si></sst>')
    return {
        "a cell at XFD1048576": (workbook(tmp / "far.xlsx", sheet_xml(
            HEADER + "<row r='1048576'><c r='XFD1048576'><v>1</v></c></row>")),
            r"a cell in column 16,384, over the limit of 1,024 columns"),
        "a row at 1048576": (workbook(tmp / "down.xlsx", sheet_xml(
            HEADER + "<row r='1048576'><c r='A1048576'><v>1</v></c></row>")),
            r"more than 50,000 rows, over the limit"),
        "a million empty cells in one row": (workbook(tmp / "row.xlsx", sheet_xml(
            HEADER + "<row r='2'>" + "<c r='A2'/>" * 1_000_000 + "</row>")),
            r"a row of more than 1,024 cells, over the limit"),
        "a table of 300,000 cells": (workbook(tmp / "cells.xlsx", sheet_xml(
            HEADER + "<row><c><v>7</v></c><c><v>7</v></c><c><v>7</v></c><c><v>7</v></c>"
                     "<c><v>7</v></c><c><v>7</v></c></row>" * 50_000)),
            r"more than 250,000 cells, over the limit"),
        "a declared dimension to XFD1048576": (workbook(tmp / "dim.xlsx", sheet_xml(
            HEADER, "A1:XFD1048576")), r"declares a sheet of 1,048,576 rows by 16,384 columns"),
        "a cell far to the right": (workbook(tmp / "wide.xlsx", sheet_xml(
            HEADER + "<row r='2'><c r='XFD2'><v>1</v></c></row>")),
            r"a cell in column 16,384, over the limit of 1,024 columns"),
        "shared strings of 80 MB": (workbook(tmp / "sst.xlsx", sheet_xml(HEADER), bomb_si),
                                    r"part xl/sharedStrings.xml is 76 MB once decompressed"),
        "shared strings of 18 million characters": (
            workbook(tmp / "chars.xlsx", sheet_xml(HEADER), many_si),
            r"shared strings hold more than 16 million characters"),
        "entities in the shared strings": (
            workbook(tmp / "laughs.xlsx", sheet_xml(HEADER), laughs),
            r"part xl/sharedStrings.xml declares a DTD or XML entities"),
        "a sheet cut short": (workbook(tmp / "cut.xlsx", sheet_xml(HEADER)[:-40]),
                              r"part xl/worksheets/sheet1.xml is not well-formed XML "
                              r"\(line 1, column \d+\): the file is damaged or cut short"),
        "a sheet that is not XML": (workbook(tmp / "junk.xlsx", "<<<>>>"),
                                    r"part xl/worksheets/sheet1.xml is not well-formed XML"),
    }


CASES = [
    "a cell at XFD1048576", "a row at 1048576", "a million empty cells in one row",
    "a table of 300,000 cells", "a declared dimension to XFD1048576", "a cell far to the right",
    "shared strings of 80 MB", "shared strings of 18 million characters",
    "entities in the shared strings", "a sheet cut short", "a sheet that is not XML"]


def one_error(done: Any) -> str:
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("ocop: error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("command", ["plan", "progress"])
def test_a_hostile_workbook_is_refused_small_and_fast(ws: Path, tmp_path: Path, case: str,
                                                       command: str) -> None:
    files = tmp_path / "files"
    files.mkdir()
    path, pattern = cases(files)[case]
    assert path.stat().st_size < 200_000  # small on disk, whatever it expands to
    before = snapshot(ws)
    args = ["import", command, str(path)]
    if command == "plan":
        args += ["--number", "99/KH-UBND", "--year", "2031", "--dated", "2031-01-05"]
    done, stats = measured(ws, tmp_path, *args)
    assert done.returncode == 3, done.stderr[-2000:]
    line = one_error(done)
    assert re.search(re.escape(str(path)) + r": .*" + pattern, line), line
    assert line.endswith("nothing was imported"), line
    assert stats["peak_mb"] < 200, stats
    assert snapshot(ws) == before


def test_standard_input_has_the_same_limit_as_a_file(ws: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.tsv"
    row = "1\tHội nghị\tHội nghị\t12\tSở NN và PTNT\t\tT6\n"
    with big.open("w", encoding="utf-8") as out:
        out.write(row * (17 * 2**20 // len(row.encode())))
    before = snapshot(ws)
    with big.open("rb") as stdin:
        done, stats = measured(ws, tmp_path, "import", "plan", "-", "--number", "99/KH-UBND",
                               "--year", "2031", "--dated", "2031-01-05", stdin=stdin)
    assert done.returncode == 3, done.stderr[-2000:]
    line = one_error(done)
    assert line == ("ocop: error: <stdin>: more than 16 MB on standard input, over the limit; "
                    "nothing was imported"), line
    assert stats["peak_mb"] < 200, stats
    assert snapshot(ws) == before


def test_a_text_table_of_too_many_lines_is_refused_before_it_is_split(ws: Path, tmp_path: Path
                                                                        ) -> None:
    path = tmp_path / "lines.csv"
    path.write_bytes(b"\n" * (8 * 2**20))  # 8 MB of empty lines: 8 million rows
    before = snapshot(ws)
    done, stats = measured(ws, tmp_path, "import", "progress", str(path))
    assert done.returncode == 3
    assert one_error(done) == (f"ocop: error: {path}: more than 50,000 rows, over the limit; "
                               "nothing was imported")
    assert stats["peak_mb"] < 200, stats
    assert snapshot(ws) == before


def test_an_ordinary_workbook_still_reads_dates_numbers_and_merged_cells(tmp_path: Path) -> None:
    """The bounded reader gives what the spreadsheet shows: numbers as numbers, date cells
    as dates, shared and inline strings as text, rows numbered as the sheet numbers them."""
    import datetime as dt

    from openpyxl import Workbook

    from ocop_cli.imports.sheets import read_sheet

    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "Tiến độ"
    ws.append(["date", "task", "quantity"])
    ws.append([dt.date(2019, 9, 3), "1.2", 3])
    ws.append([None, None, None])
    ws.append([dt.date(2019, 9, 4), "1.1", 1.5])
    ws.merge_cells("A5:B6")
    ws["A5"] = "ghi chú"
    book.create_sheet("Khác")
    path = tmp_path / "ok.xlsx"
    book.save(path)
    sheet = read_sheet(path)
    assert sheet.source == f"{path} [Tiến độ]"
    assert sheet.sheets == ("Tiến độ", "Khác")
    assert sheet.rows[:4] == [
        (1, ["date", "task", "quantity"]),
        (2, [dt.datetime(2019, 9, 3), "1.2", 3]),
        (3, [None, None, None]),
        (4, [dt.datetime(2019, 9, 4), "1.1", 1.5]),
    ]
    assert sheet.rows[4] == (5, ["ghi chú", None, None])
    assert sheet.merged == [("A5:B6", 5, 6)]


# --- every part streamed ----------------------------------------------------------------------

STYLES_REL = (f'<Relationship Id="rId3" Type="{DOC}/styles" Target="styles.xml"/>'
              "</Relationships>")
PROGRESS_SHEET = sheet_xml(
    "<row r='1'>" + "".join(f"<c r='{c}1' t='inlineStr'><is><t>{h}</t></is></c>"
                            for c, h in zip("ABC", ("date", "task", "action"), strict=True))
    + "</row>"
    "<row r='2'><c r='A2' t='inlineStr'><is><t>2019-07-15</t></is></c>"
    "<c r='B2' t='inlineStr'><is><t>1.1</t></is></c>"
    "<c r='C2' t='inlineStr'><is><t>done</t></is></c></row>")


def workbook_with(path: Path, part: str | None, filler: str, **given: str) -> Path:
    """A small progress workbook (one row: 1.1 done) whose `part` holds `filler` before the
    end of its root element: elements a real workbook never has, or not so many. `given`
    replaces the sheet, strings or styles (by those names)."""
    parts = {
        "[Content_Types].xml": TYPES, "_rels/.rels": ROOT_RELS, "xl/workbook.xml": BOOK,
        "xl/_rels/workbook.xml.rels": BOOK_RELS.replace("</Relationships>", STYLES_REL),
        "xl/worksheets/sheet1.xml": PROGRESS_SHEET,
        "xl/sharedStrings.xml": f'<?xml version="1.0"?><sst xmlns="{MAIN}"></sst>',
        "xl/styles.xml": f'<?xml version="1.0"?><styleSheet xmlns="{MAIN}"><cellXfs count="1">'
                         '<xf numFmtId="0"/></cellXfs></styleSheet>',
    }
    for name, text in given.items():
        parts[{"sheet": "xl/worksheets/sheet1.xml", "strings": "xl/sharedStrings.xml",
               "styles": "xl/styles.xml"}[name]] = text
    if part is not None:
        root_end = parts[part].rindex("</")
        parts[part] = parts[part][:root_end] + filler + parts[part][root_end:]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, text in parts.items():
            book.writestr(name, text)
    path.write_bytes(buffer.getvalue())
    return path


PARTS = ["xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/workbook.xml",
         "xl/sharedStrings.xml", "_rels/.rels", "xl/_rels/workbook.xml.rels"]
EMPTY_ELEMENTS = "<x/>" * 15_000_000


@pytest.mark.parametrize("part", PARTS)
def test_fifteen_million_empty_elements_in_any_part_are_refused_small(
        ws: Path, tmp_path: Path, part: str) -> None:
    """Each part is read as a stream whose elements are dropped as they end, and a part holds
    no more elements than a real one: refused with the part named, within 200 MB."""
    path = workbook_with(tmp_path / "elements.xlsx", part, EMPTY_ELEMENTS)
    assert path.stat().st_size < 100_000
    before = snapshot(ws)
    done, stats = measured(ws, tmp_path, "import", "progress", str(path))
    assert done.returncode == 3, done.stderr[-2000:]
    line = one_error(done)
    assert re.fullmatch(rf"ocop: error: {re.escape(str(path))}: its part {re.escape(part)} "
                        r"holds more than [\d,]+ XML elements, over the limit; "
                        "nothing was imported", line), line
    assert stats["peak_mb"] < 200, stats
    assert snapshot(ws) == before


def test_elements_nested_without_end_are_refused_small(ws: Path, tmp_path: Path) -> None:
    path = workbook_with(tmp_path / "deep.xlsx", "xl/worksheets/sheet1.xml",
                         "<x>" * 5_000_000 + "</x>" * 5_000_000)
    before = snapshot(ws)
    done, stats = measured(ws, tmp_path, "import", "progress", str(path))
    assert done.returncode == 3, done.stderr[-2000:]
    assert one_error(done) == (f"ocop: error: {path}: its part xl/worksheets/sheet1.xml nests "
                               "elements more than 64 deep, over the limit; nothing was imported")
    assert stats["peak_mb"] < 200, stats
    assert snapshot(ws) == before


@pytest.mark.parametrize("part", PARTS)
def test_many_unknown_elements_under_the_limit_are_read_past_in_little_memory(
        ws: Path, tmp_path: Path, part: str) -> None:
    """Elements a reader does not need (here 90,000 in one part) are dropped as they end:
    the sheet is read, its row recorded, and the process stays small."""
    path = workbook_with(tmp_path / "padded.xlsx", part,
                         "<x a='1'><y>text</y></x>" * 30_000)
    done, stats = measured(ws, tmp_path, "import", "progress", str(path))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert stats["peak_mb"] < 200, stats
    assert any('"task":"1.1"' in line.replace(" ", "")
               for line in "".join(p.read_text(encoding="utf-8")
                                   for p in (ws / "history").glob("*.yaml")).splitlines())


def test_each_part_has_its_own_element_limit(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The limit is counted per part, on every element, whatever its name: a part at the
    limit is read, one element more is refused naming the file and the part."""
    from ocop_cli.core.errors import InvalidData
    from ocop_cli.imports import xlsx
    from ocop_cli.imports.sheets import read_sheet

    monkeypatch.setattr(xlsx, "MAX_ELEMENTS", 60)
    monkeypatch.setattr(xlsx, "MAX_ELEMENTS_STYLES", 60)
    monkeypatch.setattr(xlsx, "MAX_ELEMENTS_LARGE", 60)
    plain = read_sheet(workbook_with(tmp_path / "plain.xlsx", None, ""))
    assert plain.rows[1] == (2, ["2019-07-15", "1.1", "done"])
    for number, part in enumerate(PARTS):
        # the sheet has 22 elements of its own, the other parts fewer
        ok = workbook_with(tmp_path / f"ok{number}.xlsx", part, "<x/>" * 30)
        assert read_sheet(ok).rows == plain.rows, part
        over = workbook_with(tmp_path / f"over{number}.xlsx", part, "<x/>" * 61)
        with pytest.raises(InvalidData) as error:
            read_sheet(over)
        assert str(error.value) == (f"{over}: its part {part} holds more than 60 XML elements, "
                                    "over the limit; nothing was imported"), part


@pytest.mark.parametrize(("part", "filler"), [
    ("xl/sharedStrings.xml", "<si><t>" + "a" * 60_000_000 + "</t></si>"),
    ("xl/styles.xml", "<x a='" + "a" * 60_000_000 + "'/>"),
    ("xl/worksheets/sheet1.xml", " " * 60_000_000),
], ids=["a text", "an attribute", "spaces"])
def test_sixty_megabytes_without_an_element_are_refused_small_and_fast(
        ws: Path, tmp_path: Path, part: str, filler: str) -> None:
    """A text, an attribute or spaces of 60 MB: the parser would read an attribute again with
    each chunk (a minute), and hold the text whole; refused after 2 MB."""
    path = workbook_with(tmp_path / "long.xlsx", part, filler)
    before = snapshot(ws)
    done, stats = measured(ws, tmp_path, "import", "progress", str(path))
    assert done.returncode == 3, done.stderr[-2000:]
    assert one_error(done) == (
        f"ocop: error: {path}: its part {part} runs more than 2 MB without an element "
        "starting or ending (a text, a name or an attribute far too long), over the limit; "
        "nothing was imported")
    assert stats["peak_mb"] < 200, stats
    assert snapshot(ws) == before


# --- a quote that never closes ------------------------------------------------------------------


def test_a_quote_that_never_closes_is_refused_with_its_row(tmp_path: Path) -> None:
    """A lenient CSV reader takes the rest of the file into the open cell: one row, the others
    gone into a note. The file is refused at the row where the cell opens."""
    from ocop_cli.core.errors import InvalidData
    from ocop_cli.imports.sheets import read_sheet

    for name, text, line in [
        ("header.csv", '"date,task,action\n2019-07-01,1.2,done\n2019-07-02,1.1,done\n', 1),
        ("note.csv", 'date,task,action,note\n2019-07-01,1.2,done,ok\n'
                     '2019-07-02,1.1,done,"họp\n2019-07-03,1.1,note,x\n', 3),
        ("semicolons.csv", 'date;task;action\n2019-07-01;1.2;"done\n', 2),
    ]:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InvalidData) as error:
            read_sheet(path)
        assert str(error.value) == (
            f'{path}, line {line}: a quote (") opens a cell and never closes, so every line '
            "after it would be read into that cell; nothing was imported"), name
        assert error.value.hint == "Close the quote, or remove it."


def test_quotes_that_close_are_read_as_before(tmp_path: Path) -> None:
    from ocop_cli.imports.sheets import read_sheet

    path = tmp_path / "ok.csv"
    path.write_text('date,task,action,note\n2019-07-01,1.1,start,"họp\nhai dòng"\n'
                    '2019-07-02,1.1,note,"a ""b"" c"\n2019-07-03,1.1,note,5" ống\n',
                    encoding="utf-8")
    assert read_sheet(path).rows == [
        (1, ["date", "task", "action", "note"]),
        (2, ["2019-07-01", "1.1", "start", "họp\nhai dòng"]),
        (4, ["2019-07-02", "1.1", "note", 'a "b" c']),
        (5, ["2019-07-03", "1.1", "note", '5" ống']),
    ]


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_import_of_a_csv_with_an_open_quote_records_nothing(ws: Path, tmp_path: Path,
                                                           ocop: Any, lang: str) -> None:
    path = tmp_path / "bao_cao.csv"
    path.write_text('date,task,action\n"2019-07-01,1.2,done\n2019-07-02,1.1,done\n',
                    encoding="utf-8")
    before = snapshot(ws)
    done = ocop("import", "progress", str(path), "--lang", lang)
    assert done.exit_code == 3
    assert "Traceback" not in done.stderr
    message = {
        "en": f'ocop: error: {path}, line 2: a quote (") opens a cell and never closes, so '
              "every line after it would be read into that cell; nothing was imported",
        "vi": f'ocop: lỗi: {path}, dòng 2: dấu ngoặc kép (") mở một ô mà không đóng, nên mọi '
              "dòng sau nó sẽ bị đọc vào ô đó; chưa nhập gì"}[lang]
    assert done.stderr.splitlines()[0] == message
    assert snapshot(ws) == before


def test_what_the_streaming_reader_takes_from_each_part(tmp_path: Path) -> None:
    """Read element by element, a workbook still gives what the spreadsheet shows: rich text
    in runs without its phonetic guide, shared or inline; a formula's last value; a custom
    date format and a custom percentage format from the styles; the row numbers as written."""
    import datetime as dt

    from ocop_cli.imports.sheets import read_sheet

    strings = (f'<?xml version="1.0"?><sst xmlns="{MAIN}"><si><t>Hội nghị</t></si>'
               "<si><r><rPr><b/></rPr><t>Tập </t></r><r><t>huấn</t></r>"
               "<rPh sb='0' eb='1'><t>ふりがな</t></rPh></si></sst>")
    styles = (f'<?xml version="1.0"?><styleSheet xmlns="{MAIN}"><numFmts count="2">'
              '<numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
              '<numFmt numFmtId="165" formatCode="0.0%"/></numFmts>'
              '<cellStyleXfs count="1"><xf numFmtId="165"/></cellStyleXfs>'
              '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="165"/>'
              "</cellXfs></styleSheet>")
    sheet = sheet_xml(
        "<row r='1'><c r='A1' t='s'><v>0</v></c><c r='B1' t='s'><v>1</v></c>"
        "<c r='C1' t='inlineStr'><is><r><t>lớp </t></r><r><t>học</t></r></is></c></row>"
        "<row r='3'><c r='A3' s='1'><v>43661</v></c><c r='B3' s='2'><v>0.255</v></c>"
        "<c r='C3'><f>1+1</f><v>2</v></c><c r='E3' s='0'><v>7</v></c></row>")
    path = workbook_with(tmp_path / "shown.xlsx", None, "", sheet=sheet, strings=strings,
                         styles=styles)
    assert read_sheet(path).rows == [
        (1, ["Hội nghị", "Tập huấn", "lớp học", None, None]),
        (2, [None] * 5),
        (3, [dt.datetime(2019, 7, 15), "25.5%", 2, None, 7]),
    ]


def test_a_shared_string_index_below_zero_is_refused_not_read_from_the_end(
        tmp_path: Path) -> None:
    from ocop_cli.core.errors import InvalidData
    from ocop_cli.imports.sheets import read_sheet

    strings = f'<?xml version="1.0"?><sst xmlns="{MAIN}"><si><t>a</t></si><si><t>b</t></si></sst>'
    path = workbook_with(tmp_path / "minus.xlsx", None, "", strings=strings,
                         sheet=sheet_xml("<row r='1'><c r='A1' t='s'><v>-1</v></c></row>"))
    with pytest.raises(InvalidData) as error:
        read_sheet(path)
    assert str(error.value) == (f"{path}: not a readable XLSX workbook (bad shared string "
                                "index '-1'); nothing was imported")
