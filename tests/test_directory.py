"""Agency names as people type them: any spelling, accents or not, any case, NFC or NFD."""

from __future__ import annotations

import unicodedata
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocop_cli.core.directory import Ambiguous, Directory
from ocop_cli.core.errors import NotFound
from ocop_cli.store.documents import read_agencies
from ocop_cli.store.storage import bundled_dir


@cache
def directory() -> Directory:
    found, problems = read_agencies(bundled_dir() / "agencies.yaml")
    assert found is not None, problems
    return found


def strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace(
        "đ", "d").replace("Đ", "D")


@st.composite
def typed_spelling(draw: st.DrawFn) -> tuple[str, str]:
    agency = draw(st.sampled_from(directory().agencies))
    text = draw(st.sampled_from(agency.spellings))
    if draw(st.booleans()):
        text = strip_marks(text)
    text = draw(st.sampled_from([text, text.upper(), text.lower(), text.title()]))
    text = unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD", "NFKC"])), text)
    spaces = draw(st.sampled_from([" ", "  ", "\t"]))
    return agency.id, spaces + text.replace(" ", spaces) + spaces


@given(typed_spelling())
def test_every_spelling_resolves_to_its_agency_however_typed(case):
    agency_id, typed = case
    assert directory().resolve(typed).id == agency_id


@pytest.mark.parametrize("typed, short", [
    ("Sở NN và PTNT", "Sở NN và PTNT"), ("so nn va ptnt", "Sở NN và PTNT"),
    ("Sở NN&PTNT", "Sở NN và PTNT"), ("SỞ NÔNG NGHIỆP VÀ PTNT", "Sở NN và PTNT"),
    ("BCD tỉnh", "BCĐ tỉnh"), ("ban chi dao tinh", "BCĐ tỉnh"), ("gia loc", "Gia Lộc"),
    ("so tai", "Sở Tài chính"), ("so-cong-thuong", "Sở Công Thương"),
])
def test_examples(typed, short):
    assert directory().resolve(typed).short == short


def test_ambiguous_name_lists_candidates():
    with pytest.raises(Ambiguous) as caught:
        directory().resolve("BCĐ")
    shorts = {a.short for a in caught.value.candidates}
    assert {"BCĐ tỉnh", "BCĐ xã"} <= shorts


def test_unknown_name_suggests_the_closest():
    with pytest.raises(NotFound) as caught:
        directory().resolve("Sở Tài chánh")
    assert caught.value.hint is not None and "Sở Tài chính" in caught.value.hint


@given(st.text(min_size=1, max_size=30))
def test_any_text_resolves_or_fails_cleanly(text):
    try:
        directory().resolve(text)
    except NotFound as error:
        assert error.message
