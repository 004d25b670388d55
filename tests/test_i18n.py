"""Two languages: the catalogue is complete and current, the language is chosen as documented,
and output, help and errors read in Vietnamese when asked."""

from __future__ import annotations

import gettext
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ocop_cli.core import i18n

ROOT = Path(__file__).resolve().parent.parent


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("i18n_tool", ROOT / "tools" / "i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["i18n_tool"] = module
    spec.loader.exec_module(module)
    return module


tool = _tool()


@pytest.fixture(autouse=True)
def english_after() -> Any:
    yield
    i18n.set_language("en")


# --- the catalogue ---------------------------------------------------------------------------


def test_every_message_in_the_code_has_a_current_vietnamese_translation() -> None:
    messages, mistakes = tool.extract(tool.source_files())
    po = tool.read_po(tool.PO)
    found = tool.problems(messages, mistakes, po, tool.MO.read_bytes())
    assert not found, "run `python tools/i18n.py` and translate:\n" + "\n".join(found)
    assert len(messages) > 200


def test_the_compiled_catalogue_is_exactly_what_the_po_compiles_to() -> None:
    assert tool.MO.read_bytes() == tool.compile_mo(tool.read_po(tool.PO))


def test_a_missing_or_stale_translation_is_reported(tmp_path: Path) -> None:
    messages = {"Tasks": tool.Message("Tasks", places=["x.py:1"]),
                "{n} done": tool.Message("{n} done", places=["x.py:2"])}
    po = {"Tasks": tool.Entry("Tasks", "Nhiệm vụ"),
          "{n} done": tool.Entry("{n} done", "{count} hoàn thành")}
    mo = tool.compile_mo(po)
    found = tool.problems(messages, [], po, mo)
    assert any("placeholders" in p and "{n} done" in p for p in found)
    del po["Tasks"]
    found = tool.problems(messages, [], po, mo)
    assert any("not in ocop.po" in p and "'Tasks'" in p for p in found)
    assert any("ocop.mo is not what" in p for p in found)
    po["Tasks"] = tool.Entry("Tasks", "Nhiệm vụ", fuzzy=True)
    assert any("fuzzy" in p for p in tool.problems(messages, [], po, tool.compile_mo(po)))


def test_the_extractor_finds_help_texts_and_docstrings_and_flags_mistakes(
        tmp_path: Path) -> None:
    source = tmp_path / "cmd_x.py"
    source.write_text('''
from ocop_cli.commands.app import command, say
from ocop_cli.core.i18n import _

@command("x")
def x(s, n: Annotated[int, typer.Option("--n", metavar="N", help="How many")] = 1) -> None:
    """Do x.

    Example: ocop x --n 2
    """
    say(_("made {n}").format(n=n))
    say(_("made {n}".format(n=n)))
    say(_(f"made {n}"))
    say("made it")
    say(_(n))  # i18n: translated where it was marked
    raise UsageError(f"bad {n}", hint=_("Try again"))
''', encoding="utf-8")
    messages, mistakes = tool.extract([source])
    assert set(messages) == {"How many", "N", "Do x.\n\nExample: ocop x --n 2", "made {n}",
                             "Try again"}
    text = "\n".join(mistakes)
    assert "formats before translating" in text
    assert "needs a literal string, not f'made {n}'" in text
    assert "say() is given a message without _(): 'made it'" in text
    assert "UsageError() is given a message without _(): f'bad {n}'" in text
    assert len(mistakes) == 4  # the marked line is not one


def test_po_files_survive_a_round_trip(tmp_path: Path) -> None:
    entries = [
        tool.Entry('Say "hi" \\ to {name}', 'Chào "{name}" \\', places=["a.py:1"],
                   comments=["# checked by Phòng NN"]),
        tool.Entry("line one\n\nline two", "dòng một\n\ndòng hai", places=["a.py:2"]),
        tool.Entry("{n} row", plural="{n} rows", plurals=["{n} dòng"], places=["a.py:3"]),
        tool.Entry("Tab\there", "", places=["a.py:4"]),
    ]
    path = tmp_path / "x.po"
    tool.write_po(path, entries)
    back = tool.read_po(path)
    for entry in entries:
        again = back[entry.msgid]
        assert (again.msgstr, again.plural, again.plurals, again.comments) == (
            entry.msgstr, entry.plural, entry.plurals, entry.comments)
    assert not back["Tab\there"].translated


def test_the_compiled_catalogue_reads_with_gettext(tmp_path: Path) -> None:
    po = {"Tasks": tool.Entry("Tasks", "Nhiệm vụ"),
          "{n} row": tool.Entry("{n} row", plural="{n} rows", plurals=["{n} dòng"]),
          "Untranslated": tool.Entry("Untranslated", "")}
    path = tmp_path / "x.mo"
    path.write_bytes(tool.compile_mo(po))
    with path.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    assert catalogue.gettext("Tasks") == "Nhiệm vụ"
    assert catalogue.ngettext("{n} row", "{n} rows", 5) == "{n} dòng"
    assert catalogue.gettext("Untranslated") == "Untranslated"


def test_the_words_of_the_plan_read_as_an_office_writes_them() -> None:
    i18n.set_language("vi")
    words = {"not started": "chưa bắt đầu", "in progress": "đang thực hiện",
             "done": "hoàn thành", "cancelled": "đã hủy", "overdue": "quá hạn",
             "due": "đến hạn", "Lead": "Chủ trì", "Partners": "Phối hợp", "Task": "Nhiệm vụ",
             "Did you mean: {names}?": "Có phải ý bạn là: {names}?"}
    assert {k: i18n._(k) for k in words} == words


# --- choosing the language -------------------------------------------------------------------


@pytest.mark.parametrize(("env", "explicit", "expected"), [
    ({}, None, "en"),
    ({"LANG": "vi_VN.UTF-8"}, None, "vi"),
    ({"LC_ALL": "vi_VN.UTF-8", "LANG": "en_US.UTF-8"}, None, "vi"),
    ({"LC_MESSAGES": "vi_VN"}, None, "vi"),
    ({"LANGUAGE": "vi:en", "LANG": "en_US.UTF-8"}, None, "vi"),
    ({"LANGUAGE": "vi", "LANG": "C.UTF-8"}, None, "en"),  # gettext ignores LANGUAGE under C
    ({"LANG": "fr_FR.UTF-8"}, None, "en"),
    ({"OCOP_LANG": "vi", "LANG": "en_US.UTF-8"}, None, "vi"),
    ({"OCOP_LANG": "vi"}, "en", "en"),
    ({"LANG": "vi_VN.UTF-8"}, "EN-us", "en"),
])
def test_language_is_the_option_then_ocop_lang_then_the_locale(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], explicit: str | None,
        expected: str) -> None:
    for var in ("LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "OCOP_LANG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert i18n.set_language(explicit) == expected


def test_language_is_read_from_the_arguments_before_parsing() -> None:
    assert i18n.language_in(["tasks", "--lang", "vi", "-h"]) == "vi"
    assert i18n.language_in(["--lang=en", "tasks"]) == "en"
    assert i18n.language_in(["note", "5", "--", "--lang", "vi"]) is None


def test_a_language_ocop_does_not_speak_is_a_usage_error(ocop: Any) -> None:
    result = ocop("tasks", "--lang", "fr")
    assert result.exit_code == 2
    assert "'fr' is not a language ocop speaks; use vi or en" in result.stderr
    assert result.stdout == ""


def test_dates_are_day_month_year_in_vietnamese_and_iso_in_english() -> None:
    import datetime as dt

    day = dt.date(2019, 7, 5)
    i18n.set_language("vi")
    assert i18n.format_date(day) == "05/07/2019"
    i18n.set_language("en")
    assert i18n.format_date(day) == "2019-07-05"
    assert i18n.format_date(None) == ""


# --- what a user sees ------------------------------------------------------------------------


def test_tasks_in_vietnamese(ocop: Any) -> None:
    result = ocop("tasks", "--month", "7", "--as-of", "2019-09-15", "--lang", "vi")
    assert result.exit_code == 0, result.stderr
    for word in ("TT", "Nhiệm vụ", "ĐVT", "Chỉ tiêu", "Chủ trì", "Phối hợp", "Thời gian",
                 "Tình trạng", "chưa bắt đầu, quá hạn", "chưa bắt đầu, đến hạn"):
        assert word in result.stdout, word
    assert "(tính đến 15/09/2019)" in result.stdout
    assert "overdue" not in result.stdout and "2019-09-15" not in result.stdout


def test_the_language_comes_from_ocop_lang_or_the_locale(ocop: Any) -> None:
    args = ("tasks", "--month", "7", "--as-of", "2019-09-15")
    assert "Chủ trì" in ocop(*args, env={"OCOP_LANG": "vi"}).stdout
    assert "Chủ trì" in ocop(*args, env={"LANG": "vi_VN.UTF-8"}).stdout
    assert "Lead" in ocop(*args, env={"LANG": "vi_VN.UTF-8", "OCOP_LANG": "en"}).stdout
    assert "Lead" in ocop(*args, "--lang", "en", env={"OCOP_LANG": "vi"}).stdout
    assert "Lead" in ocop(*args).stdout  # each run chooses afresh


def test_json_is_the_same_in_both_languages(ocop: Any) -> None:
    args = ("tasks", "--format", "json", "--as-of", "2019-09-15")
    assert ocop(*args, "--lang", "vi").json() == ocop(*args, "--lang", "en").json()
    shown = ocop("show", "5", "--format", "json", "--as-of", "2019-09-15", "--lang", "vi")
    assert shown.json()["as_of"] == "2019-09-15"


def test_recording_and_history_in_vietnamese(ocop: Any) -> None:
    done = ocop("done", "5", "--date", "2019-08-20", "--lang", "vi")
    assert done.exit_code == 0, done.stderr
    assert "5.1 hoàn thành: Cấp tỉnh" in done.stdout
    history = ocop("history", "--lang", "vi")
    assert "20/08/2019" in history.stdout and "Lịch sử" in history.stdout
    assert "2019-08-20" in ocop("history", "--format", "csv", "--lang", "vi").stdout
    undo = ocop("undo", "--lang", "vi")
    assert undo.stdout == "đã hoàn tác một lệnh gồm 2 mục: hoàn thành 5.1, hoàn thành 5.2\n"


def test_errors_that_help_in_vietnamese(ocop: Any) -> None:
    agency = ocop("tasks", "--agency", "so tai chinhh", "--lang", "vi")
    assert agency.exit_code == 1
    assert agency.stderr == ("ocop: lỗi: không có cơ quan nào tên là 'so tai chinhh'\n"
                             "ocop: Có phải ý bạn là: Sở Tài chính?\n")
    task = ocop("done", "55", "--lang", "vi")
    assert task.exit_code == 1
    assert "không có nhiệm vụ '55'" in task.stderr
    assert "Các số thứ tự gần nhất: 5" in task.stderr
    date = ocop("tasks", "--as-of", "31/02/2019", "--lang", "vi")
    assert date.exit_code == 2
    assert "cần dạng NGÀY/THÁNG/NĂM" in date.stderr
    several = ocop("tasks", "--agency", "so", "--lang", "vi")
    assert "khớp với nhiều cơ quan" in several.stderr and "Sở Tài chính" in several.stderr


def test_usage_errors_in_vietnamese(ocop: Any) -> None:
    month = ocop("tasks", "--month", "13", "--lang", "vi")
    assert month.exit_code == 2
    assert month.stderr == ("ocop: lỗi: giá trị không hợp lệ cho '--month' / '-m': 13 không nằm "
                            "trong khoảng từ 1 đến 12\n"
                            "ocop: Xem 'ocop tasks -h' để được trợ giúp.\n")
    missing = ocop("done", "--lang", "vi")
    assert missing.exit_code == 2
    assert missing.stderr == ("ocop: lỗi: thiếu đối số 'TT'\n"
                              "ocop: Xem 'ocop done -h' để được trợ giúp.\n")
    typo = ocop("taks", "--lang", "vi")
    assert typo.exit_code == 2
    assert typo.stderr.startswith("ocop: lỗi: không có lệnh 'taks'; có phải ý bạn là 'tasks'?\n")
    option = ocop("tasks", "--stat", "done", "--lang", "vi")
    assert option.stderr.startswith("ocop: lỗi: không có tùy chọn: --stat (có thể ý bạn là: "
                                    "--data, --sort, --status)\n")
    choice = ocop("tasks", "--format", "xml", "--lang", "vi")
    assert "'xml' không phải là một trong các giá trị" in choice.stderr


def test_usage_errors_in_english_are_one_line_and_the_hint(ocop: Any) -> None:
    month = ocop("tasks", "--month", "0")
    assert month.exit_code == 2
    assert month.stderr == ("ocop: error: invalid value for '--month' / '-m': 0 is not between 1 "
                            "and 12\nocop: Try 'ocop tasks -h' for help.\n")
    # An option without its value says which command to ask for help, as every usage error.
    bare = ocop("tasks", "--agency")
    assert bare.stderr == ("ocop: error: option '--agency' needs a value\n"
                           "ocop: Try 'ocop tasks -h' for help.\n")


@pytest.mark.parametrize(("args", "vi", "en"), [
    (("progress", "1.2", "abc"),
     "giá trị không hợp lệ cho 'SỐ_LƯỢNG': 'abc' không phải là số nguyên",
     "invalid value for 'QTY': 'abc' is not a whole number"),
    (("tasks", "--plan", "2019x"), "giá trị không hợp lệ cho '--plan': '2019x' không phải là số "
     "nguyên", "invalid value for '--plan': '2019x' is not a whole number"),
    (("tasks", "--overdue=yes"), "tùy chọn '--overdue' không nhận giá trị",
     "option '--overdue' does not take a value"),
    (("tasks", "extra"), "thừa đối số: extra", "unexpected extra arguments: extra"),
    (("cancel", "9"), "thiếu tùy chọn '--note'", "missing option '--note'"),
])
def test_click_s_own_messages_speak_the_screen_s_language(
        ocop: Any, args: tuple[str, ...], vi: str, en: str) -> None:
    command = args[0]
    for lang, message, hint in (
            ("vi", f"ocop: lỗi: {vi}", f"ocop: Xem 'ocop {command} -h' để được trợ giúp."),
            ("en", f"ocop: error: {en}", f"ocop: Try 'ocop {command} -h' for help.")):
        result = ocop(*args, "--lang", lang)
        assert result.exit_code == 2
        assert result.stderr.splitlines() == [message, hint]


def test_a_negative_quantity_is_a_value_refused_not_an_unknown_option(ocop: Any, ws: Path
                                                                       ) -> None:
    for qty in ("-3", "0"):
        vi = ocop("progress", "1.2", qty, "--place", "Gia Lộc", "--lang", "vi")
        assert (vi.exit_code, vi.stderr) == (2, "ocop: lỗi: số lượng phải là số dương\n")
        en = ocop("progress", "1.2", qty)
        assert (en.exit_code, en.stderr) == (2, "ocop: error: the quantity must be a positive "
                                                "number\n")
    assert not list((ws / "history").glob("*.yaml"))
    # A negative number is a value wherever a value is read; an option is still an option.
    points = ocop("product", "score", "sp-000000", "-5", "--council", "tinh")
    assert points.stderr.startswith("ocop: error: invalid value for 'POINTS': -5 is not between "
                                    "0 and 100\n")
    assert ocop("progress", "1.2", "-x").stderr.startswith("ocop: error: no such option: -x")


def test_the_bundled_plan_s_notes_read_in_the_screen_s_language(ocop: Any) -> None:
    def notes(lang: str) -> str:
        shown = ocop("show", "1.2", "--format", "csv", "--as-of", "2019-09-15", "--lang", lang)
        return next(line for line in shown.stdout.splitlines() if line.startswith(("Ghi", "No")))

    assert notes("vi") == ('Ghi chú,"Mục V.5 giao UBND các huyện, thành phố tổ chức hội nghị cấp '
                           'huyện cùng Sở NN và PTNT; bảng phân công ghi ""BCĐ các huyện, TP"" là '
                           'cơ quan phối hợp."')
    assert notes("en") == ('Notes,"Section V.5 has UBND các huyện, thành phố organise the district '
                           'conferences with Sở NN và PTNT; the table names ""BCĐ các huyện, TP"" '
                           'as partner."')
    args = ("show", "1.2", "--format", "json", "--as-of", "2019-09-15")
    assert ocop(*args, "--lang", "vi").json()["notes"] == ocop(*args).json()["notes"] == [
        'Section V.5 has UBND các huyện, thành phố organise the district conferences with Sở NN '
        'và PTNT; the table names "BCĐ các huyện, TP" as partner.']
    found = ocop("tasks", "--grep", "thieu dau phan cach", "--format", "json", "--lang", "vi")
    assert [t["id"] for t in found.json()] == ["2"]


def test_a_note_in_two_languages_needs_both(ocop: Any, ws: Path) -> None:
    plan = ws / "plan_2019.yaml"
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("        vi: 'Mục V.5 giao", "        vn: 'Mục V.5 giao", 1),
                    encoding="utf-8")
    result = ocop("check")
    assert result.exit_code == 3
    assert "task 1.2, notes.0.pair.vi: Field required" in result.stderr


def test_an_undo_reads_as_an_undo_in_the_history(ocop: Any) -> None:
    ocop("cancel", "9", "--note", "không tổ chức", "--date", "2019-09-30")
    ocop("undo")

    def actions(lang: str) -> list[str]:
        shown = ocop("history", "9", "--format", "md", "--as-of", "2019-12-31", "--lang", lang)
        return [line.split(" | ")[2] for line in shown.stdout.splitlines()[2:]]

    assert actions("vi") == ["hủy (đã hoàn tác)", "hoàn tác"]
    assert actions("en") == ["cancel (undone)", "undo"]
