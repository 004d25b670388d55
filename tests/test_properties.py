"""Properties that hold for any input, checked with hypothesis: the month-window parser, name
folding, and the replay of entries (undoing the last k gives back the state from before them).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from functools import cache

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ocop_cli.core.model import Entry, Plan
from ocop_cli.core.state import state_as_of
from ocop_cli.core.text import fold
from ocop_cli.core.windows import months_of

# --- month windows -------------------------------------------------------------------------

PREFIXES = ["T", "t", "T ", "T.", "Tháng ", "tháng", "THÁNG ", "Thang ", ""]
DASHES = ["-", " - ", "–", " – ", "—"]
COMMAS = [",", ", ", " ,", " , "]


@st.composite
def window_texts(draw: st.DrawFn) -> tuple[str, set[int]]:
    """A window as people write them (T6, T6,7, T 7-12, T7 - T12, Tháng 07…) and its months."""
    parts = []
    months: set[int] = set()
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(1, 12))
        end = draw(st.integers(start, 12))
        first = draw(st.sampled_from(PREFIXES)) + draw(st.sampled_from(["{}", "{:02d}"])).format(
            start)
        if end == start and draw(st.booleans()):
            parts.append(first)
        else:
            second_prefix = draw(st.sampled_from(["", "T", "t", "T "]))
            parts.append(first + draw(st.sampled_from(DASHES)) + second_prefix + str(end))
        months.update(range(start, end + 1))
    text = parts[0]
    for part in parts[1:]:
        text += draw(st.sampled_from(COMMAS)) + part
    padding = draw(st.sampled_from(["", " ", "  "]))
    return padding + text + padding, months


@given(window_texts())
def test_window_means_the_months_written(case: tuple[str, set[int]]) -> None:
    text, months = case
    assert months_of(text) == tuple(sorted(months))


@given(window_texts())
def test_window_reads_alike_in_any_case_and_normal_form(case: tuple[str, set[int]]) -> None:
    text, _ = case
    expected = months_of(text)
    for variant in (text.upper(), text.lower(), unicodedata.normalize("NFD", text),
                    unicodedata.normalize("NFC", text)):
        assert months_of(variant) == expected


@given(st.text(max_size=30))
def test_any_text_is_months_or_a_clear_refusal(text: str) -> None:
    """Never a crash: either sorted, distinct months of the year, or ValueError with a reason."""
    try:
        months = months_of(text)
    except ValueError as exc:
        assert str(exc)
        return
    assert months and list(months) == sorted(set(months))
    assert all(1 <= m <= 12 for m in months)


@given(st.integers(1, 12), st.integers(1, 12))
def test_backwards_or_out_of_range_windows_are_refused(a: int, b: int) -> None:
    assume(a > b)
    with pytest.raises(ValueError, match="backwards"):
        months_of(f"T{a}-{b}")
    with pytest.raises(ValueError, match="between 1 and 12"):
        months_of(f"T{a + 12}")


# --- folding names ---------------------------------------------------------------------------

# Vietnamese letters as base + letter mark; each may carry one of five tones.
BASES = {"a": "a", "ă": "a", "â": "a", "e": "e", "ê": "e", "i": "i", "o": "o", "ô": "o",
         "ơ": "o", "u": "u", "ư": "u", "y": "y", "đ": "d"}
CONSONANTS = "bcdghklmnpqrstvx"
TONES = ["", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"]


@st.composite
def vietnamese(draw: st.DrawFn) -> tuple[str, str]:
    """A Vietnamese text (random tones, case, NFC or NFD) and its plain ASCII lower-case form."""
    words, plain = [], []
    for _ in range(draw(st.integers(1, 4))):
        word, ascii_word = "", ""
        for _ in range(draw(st.integers(1, 6))):
            if draw(st.booleans()):
                letter = draw(st.sampled_from(CONSONANTS))
                char, base = letter, letter
            else:
                letter = draw(st.sampled_from(sorted(BASES)))
                tone = draw(st.sampled_from(TONES)) if letter != "đ" else ""
                char, base = unicodedata.normalize("NFC", letter + tone), BASES[letter]
            if draw(st.booleans()):
                char = char.upper()
            word += char
            ascii_word += base
        words.append(word)
        plain.append(ascii_word)
    form = draw(st.sampled_from(["NFC", "NFD"]))
    spaces = draw(st.sampled_from([" ", "  ", "\t", " \u00a0"]))
    return unicodedata.normalize(form, spaces.join(words)), " ".join(plain)


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_fold_ignores_the_normal_form(text: str) -> None:
    nfc, nfd = unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)
    assert fold(nfc) == fold(nfd) == fold(text)


@given(vietnamese())
def test_fold_drops_accents_case_and_extra_spacing(case: tuple[str, str]) -> None:
    text, plain = case
    assert fold(text) == plain
    assert fold(text.upper()) == fold(text.lower()) == fold(plain.upper()) == plain
    assert fold(f"  {text}  ") == plain


def test_fold_known_spellings() -> None:
    assert fold("Sở NN và PTNT") == fold("so nn va ptnt") == fold("SỞ NN VÀ PTNT")
    assert fold("BCĐ tỉnh") == fold("BCD tinh")
    assert fold(unicodedata.normalize("NFD", "Tứ Kỳ")) == "tu ky"


# --- replay and undo -------------------------------------------------------------------------


@cache
def plan() -> Plan:
    from ocop_cli.store.documents import read_agencies, read_plan
    from ocop_cli.store.storage import bundled_dir

    directory, problems = read_agencies(bundled_dir() / "agencies.yaml")
    assert directory is not None, problems
    loaded, problems = read_plan(bundled_dir() / "plan_2019.yaml", directory)
    assert loaded is not None, problems
    return loaded


@cache
def leaf_ids() -> list[str]:
    return [t.id for t in plan().leaves()]


PLACES = [None, "gia-loc", "tu-ky", "nam-sach"]
ACTIONS = ["start", "progress", "done", "reopen", "cancel", "note"]
START = dt.date(2019, 6, 1)


@st.composite
def histories(draw: st.DrawFn) -> list[Entry]:
    """Entries in the order they were typed (`at` rising), effective on any day of the year."""
    entries = []
    for n in range(draw(st.integers(0, 25))):
        action = draw(st.sampled_from(ACTIONS))
        qty = draw(st.integers(0, 15)) if action in ("progress", "done") else None
        entries.append(Entry(
            id=f"{n:012x}{n:08x}", at=f"2019-07-01T00:00:{n:02d}.000000+00:00",
            date=START + dt.timedelta(days=draw(st.integers(0, 200))),
            task=draw(st.sampled_from(leaf_ids())), action=action, by="Tester", qty=qty,
            place=draw(st.sampled_from(PLACES)) if qty else None,
            ref=draw(st.sampled_from([None, "12/BC-SNN"])),
            note=draw(st.sampled_from([None, "đợt 1", "đợt 2"])),
        ))
    return entries


def undo_of(entry: Entry, n: int) -> Entry:
    return Entry(id=f"ff{n:018x}", at=f"2019-12-31T00:00:{n:02d}.000000+00:00",
                 date=START + dt.timedelta(days=n % 300), task=entry.task, action="undo",
                 by="Tester", undoes=entry.id)


def summary(states: dict) -> dict:
    return {task: (s.status, s.timing, s.achieved, dict(s.places), s.note, s.ref,
                   [e.id for e in s.entries]) for task, s in states.items()}


@given(histories(), histories(), st.data())
def test_undoing_the_last_k_entries_gives_the_state_from_before_them(
        before: list[Entry], after: list[Entry], data: st.DataObject) -> None:
    after = [Entry(**{**_fields(e), "id": "b" + e.id[1:], "at": e.at.replace("07-01", "08-01")})
             for e in after]
    k = data.draw(st.integers(0, len(after)), label="k")
    recent = after[len(after) - k:] if k else []
    undos = [undo_of(e, n) for n, e in enumerate(reversed(recent))]
    kept = after[: len(after) - k]
    as_of = data.draw(st.dates(dt.date(2019, 1, 1), dt.date(2020, 12, 31)), label="as_of")
    assert summary(state_as_of(plan(), before + after + undos, as_of)) == summary(
        state_as_of(plan(), before + kept, as_of))


def _fields(entry: Entry) -> dict:
    return {name: getattr(entry, name) for name in Entry._fields}


@given(histories(), st.data())
def test_undo_order_and_duplicates_do_not_matter(entries: list[Entry],
                                                 data: st.DataObject) -> None:
    """Undos that a merge of two offices' files brings in any order give one state."""
    assume(entries)
    chosen = data.draw(st.lists(st.sampled_from(entries), unique_by=lambda e: e.id, max_size=5))
    undos = [undo_of(e, n) for n, e in enumerate(chosen)]
    shuffled = data.draw(st.permutations(undos))
    as_of = dt.date(2019, 12, 31)
    expected = summary(state_as_of(plan(), [e for e in entries if e not in chosen], as_of))
    assert summary(state_as_of(plan(), entries + undos, as_of)) == expected
    assert summary(state_as_of(plan(), entries + list(shuffled), as_of)) == expected
