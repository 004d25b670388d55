"""The agency directory: find one agency however a person types its name."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

from ocop_cli.core.errors import NotFound
from ocop_cli.core.i18n import _
from ocop_cli.core.model import Agency, Task
from ocop_cli.core.text import clean, fold, sort_key


class Ambiguous(NotFound):
    """A name that fits more than one agency; carries the candidates."""

    def __init__(self, name: str, candidates: list[Agency]) -> None:
        self.candidates = candidates
        # Named once, apart by semicolons: a name may hold commas ("Các sở, ngành, đoàn thể").
        names = "; ".join(a.short for a in candidates)
        super().__init__(
            _("{name!r} fits several agencies: {names}").format(name=name, names=names),
            hint=_("Give more of the name."),
        )


class Directory:
    def __init__(self, agencies: Iterable[Agency]) -> None:
        self.agencies = tuple(agencies)
        self.by_id = {a.id: a for a in self.agencies}

    @cached_property
    def _folded(self) -> dict[str, list[Agency]]:
        index: dict[str, list[Agency]] = {}
        for agency in self.agencies:
            for key in {fold(s) for s in (*agency.spellings, agency.id)}:
                index.setdefault(key, []).append(agency)
        return index

    def get(self, agency_id: str) -> Agency:
        return self.by_id[agency_id]

    def short(self, agency_id: str | None) -> str | None:
        return self.by_id[agency_id].short if agency_id in self.by_id else agency_id

    def candidates(self, name: str, exact: bool = False) -> list[Agency]:
        """Every agency the name could mean, the best kind of match first.

        `exact` allows only whole spellings (accents, case and spacing aside): data files
        refer to agencies that way, while people may type the first letters of the words."""
        text = clean(name).rstrip(",;").strip()
        if text in self.by_id:
            return [self.by_id[text]]
        written = [a for a in self.agencies if text in a.spellings]
        if len(written) == 1:
            return written
        key = fold(text)
        if key in self._folded:
            return self._folded[key]
        words = key.split()
        if exact or not words:
            return []
        found = [
            agency
            for agency in self.agencies
            if any(_has_words(fold(s).split(), words) for s in agency.spellings)
        ]
        return sorted(found, key=lambda a: sort_key(a.short))

    @cached_property
    def units(self) -> tuple[Agency, ...]:
        """The district-level units (12 in June 2019), in the file's order."""
        return tuple(a for a in self.agencies if a.kind == "locality" and a.level == "district")

    def unit_of(self, agency_id: str | None) -> str | None:
        """The district unit an agency is, or is part of (Phòng NN Gia Lộc is in Gia Lộc)."""
        unit_ids = {a.id for a in self.units}
        seen: set[str] = set()
        while agency_id is not None and agency_id not in seen:
            if agency_id in unit_ids:
                return agency_id
            seen.add(agency_id)
            agency = self.by_id.get(agency_id)
            agency_id = agency.part_of if agency else None
        return None

    def sharing(self, task: Task) -> tuple[str, ...]:
        """The units that each hold a share of a task: every unit for a task counted one per
        unit, the members of a group of units that leads a duty without a quantity."""
        if task.per_district:
            return tuple(a.id for a in self.units)
        group = self.by_id.get(task.lead or "")
        unit_ids = {a.id for a in self.units}
        if task.target is None and group is not None and group.members \
                and set(group.members) <= unit_ids:
            return group.members
        return ()

    def exactly(self, name: str, agency: Agency) -> bool:
        """Whether `name` is written exactly as one of the agency's spellings or its id."""
        text = clean(name).strip()
        return text == agency.id or text in agency.spellings

    def resolve(self, name: str) -> Agency:
        found = self.candidates(name)
        if len(found) == 1:
            return found[0]
        if found:
            raise Ambiguous(name, found)
        raise NotFound(_("no agency is called {name!r}").format(name=name),
                       hint=self.suggest(name))

    def suggest(self, name: str) -> str | None:
        import difflib

        spellings = {fold(s): a.short for a in self.agencies for s in a.spellings}
        key = fold(name)
        close = difflib.get_close_matches(key, spellings, n=3, cutoff=0.5)
        if not close:
            return None
        # A clear winner alone: "so tai chinhh" is Sở Tài chính, not also TP Chí Linh.
        score = {c: difflib.SequenceMatcher(None, key, c).ratio() for c in close}
        close = [c for c in close if score[c] >= max(score.values()) - 0.15]
        names = list(dict.fromkeys(spellings[c] for c in close))
        return _("Did you mean: {names}?").format(names=", ".join(names))


def _has_words(haystack: list[str], words: list[str]) -> bool:
    """Every typed word starts a word of the name, in order: `so tai` finds `Sở Tài chính`."""
    position = 0
    for word in words:
        while position < len(haystack) and not haystack[position].startswith(word):
            position += 1
        if position == len(haystack):
            return False
        position += 1
    return True
