"""The agency directory: find one agency however a person types its name, among those in
force on a day. Agencies and administrative units carry dates (`Agency.start`, `until`) and
successors: a name means what was in force on the day asked, and the units that hold the
shares of a task are those of its level in force on the plan's date."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable
from functools import cached_property

from ocop_cli.core.errors import NotFound
from ocop_cli.core.i18n import _, format_date
from ocop_cli.core.model import Agency, Entry, Task
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


class Ended(NotFound):
    """A name whose agency or unit was not in force on the day asked: ended (with its
    successors) or not yet begun."""


def _day(iso: str) -> dt.date:
    return dt.date.fromisoformat(iso)


class Directory:
    def __init__(self, agencies: Iterable[Agency]) -> None:
        self.agencies = tuple(agencies)
        self.by_id = {a.id: a for a in self.agencies}

    def in_force_on(self, day: dt.date | None) -> Directory:
        """The directory of the agencies in force on `day` (every one without a day)."""
        return self if day is None else Directory(a for a in self.agencies if a.in_force(day))

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

    def candidates(self, name: str, exact: bool = False, on: dt.date | None = None
                   ) -> list[Agency]:
        """Every agency the name could mean, the best kind of match first; with `on`, only
        those in force that day (two may share a spelling when their dates do not overlap).

        `exact` allows only whole spellings (accents, case and spacing aside): data files
        refer to agencies that way, while people may type the first letters of the words."""
        found = self._candidates(name, exact)
        return found if on is None else [a for a in found if a.in_force(on)]

    def _candidates(self, name: str, exact: bool) -> list[Agency]:
        text = clean(name).rstrip(",;").strip()
        if text in self.by_id:
            return [self.by_id[text]]
        written = [a for a in self.agencies if text in a.spellings]
        if written:
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
        return self.units_of("district")

    def units_of(self, level: str, on: dt.date | None = None) -> tuple[Agency, ...]:
        """The administrative units of a level (district, commune) in force on `on` (every
        one, whatever its dates, without it), in the file's order."""
        return tuple(a for a in self.agencies
                     if a.kind == "locality" and a.level == level and a.in_force(on))

    def begun(self, level: str, after: dt.date, on: dt.date) -> tuple[Agency, ...]:
        """The administrative units of a level that began after `after` (a plan's date) and
        by `on`: a commune made in the middle of a plan, in the file's order."""
        first, last = after.isoformat(), on.isoformat()
        return tuple(a for a in self.agencies if a.kind == "locality" and a.level == level
                     and a.start is not None and first < a.start <= last)

    @cached_property
    def _unit_ids(self) -> frozenset[str]:
        return frozenset(a.id for a in self.agencies
                         if a.kind == "locality" and a.level in ("district", "commune"))

    def is_unit(self, agency_id: str) -> bool:
        """Whether an id is an administrative unit (district or commune), whatever its dates."""
        return agency_id in self._unit_ids

    def heirs(self, agency_id: str) -> tuple[str, ...]:
        """Every unit or agency that took over from `agency_id`, and from those in turn."""
        found: list[str] = []
        todo = list(self.by_id[agency_id].successors) if agency_id in self.by_id else []
        while todo:
            current = todo.pop(0)
            if current not in found and current != agency_id and current in self.by_id:
                found.append(current)
                todo.extend(self.by_id[current].successors)
        return tuple(found)

    def unit_of(self, agency_id: str | None) -> str | None:
        """The administrative unit (district or commune) an agency is, or is part of
        (Phòng NN Gia Lộc is in Gia Lộc)."""
        unit_ids = self._unit_ids
        seen: set[str] = set()
        while agency_id is not None and agency_id not in seen:
            if agency_id in unit_ids:
                return agency_id
            seen.add(agency_id)
            agency = self.by_id.get(agency_id)
            agency_id = agency.part_of if agency else None
        return None

    def sharing(self, task: Task, on: dt.date | None = None) -> tuple[str, ...]:
        """The units that each hold a share of a task: every unit of its level in force on
        `on` (the plan's date) for a task counted one per unit, the members of a group of
        units that leads a duty without a quantity."""
        if task.per_unit:
            return tuple(a.id for a in self.units_of(task.per_unit, on))
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

    def resolve(self, name: str, on: dt.date | None = None) -> Agency:
        """The one agency a name means on `on`; Ended when the name was of an agency that
        was not in force that day."""
        everywhen = self._candidates(name, exact=False)
        found = [a for a in everywhen if a.in_force(on)]
        if len(found) == 1:
            return found[0]
        if found:
            raise Ambiguous(name, found)
        if everywhen and on is not None:
            raise Ended("; ".join(self.ended(a, on) for a in everywhen))
        raise NotFound(_("no agency is called {name!r}").format(name=name),
                       hint=self.suggest(name))

    def looked_back(self, name: str, on: dt.date | None) -> tuple[Agency, str | None]:
        """The agency a name means on `on`, and None; a name of an agency that had ended (or
        not begun) by then still finds it when it is the only one so named, with the line
        that says so: a filter, or a list of products, may look back at a unit that is gone."""
        try:
            return self.resolve(name, on), None
        except Ended as ended:
            found = self.candidates(name)
            if len(found) != 1:
                raise
            return found[0], ended.message

    def holding(self, name: str, on: dt.date) -> tuple[Agency, str | None]:
        """The unit a name means on `on` for a fact of that day (a product registered there),
        and None; one that had ended by then is refused (Ended, naming what took it over)
        when a unit in force that day took it over, and else found with the line that says
        it ended: without the list of communes, a district is still where a product is."""
        agency, ended = self.looked_back(name, on)
        if ended is not None and any(i != agency.id for i in self.successors_on(agency.id, on)):
            raise Ended(ended)
        return agency, ended

    def ended(self, agency: Agency, on: dt.date) -> str:
        """One line saying that an agency was not in force on `on`: when it ended and what
        took it over, or when it began."""
        if agency.until is not None and agency.until < on.isoformat():
            return _("{name} ended on {date}").format(
                name=agency.name, date=format_date(_day(agency.until))) + self._heirs(agency)
        return _("{name} is in force from {date}").format(
            name=agency.name, date=format_date(_day(agency.start or on.isoformat())))

    def _heirs(self, agency: Agency) -> str:
        heirs = [self.by_id[i].short for i in agency.successors if i in self.by_id]
        return _("; now part of: {names}").format(names=", ".join(heirs)) if heirs else ""

    def dates(self, agency: Agency, on: dt.date) -> str:
        """An agency's dates as a list shows them on `on`: "ended 30/06/2025; now part of:
        …" once it has ended, else its first and last days where it has them ("" for one
        without dates)."""
        if agency.until is not None and agency.until < on.isoformat():
            return _("ended {date}").format(date=format_date(_day(agency.until))) \
                + self._heirs(agency)
        parts = [_("from {date}").format(date=format_date(_day(agency.start)))
                 if agency.start else "",
                 _("until {date}").format(date=format_date(_day(agency.until)))
                 if agency.until else ""]
        return ", ".join(part for part in parts if part)

    def carried(self, entries: Iterable[Entry], on: dt.date) -> list[Entry]:
        """The entries with each place that had ended by `on` counted under the one unit in
        force on `on` that took it over (`--by-successor`); a place that went to several, or
        to none, is kept as recorded."""
        moved: dict[str, str] = {}
        found = []
        for entry in entries:
            place = entry.place
            if place is not None and place in self.by_id:
                to = moved.get(place)
                if to is None:
                    heirs = self.successors_on(place, on)
                    to = moved[place] = heirs[0] if len(heirs) == 1 else place
                if to != place:
                    entry = entry._replace(place=to)
            found.append(entry)
        return found

    def successors_on(self, agency_id: str, on: dt.date) -> tuple[str, ...]:
        """The units in force on `on` that took over from `agency_id`, following the chain
        of successors (a commune merged twice); the agency itself when it is in force."""
        found: list[str] = []
        seen: set[str] = set()
        todo = [agency_id]
        while todo:
            current = todo.pop(0)
            if current in seen or current not in self.by_id:
                continue
            seen.add(current)
            agency = self.by_id[current]
            if agency.in_force(on):
                found.append(current)
            else:
                todo.extend(agency.successors)
        return tuple(dict.fromkeys(found))

    def suggest(self, name: str) -> str | None:
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
