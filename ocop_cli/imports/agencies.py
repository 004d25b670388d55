"""Agencies named in a plan table's cells: each cell split into the agencies it names, those
the directory knows resolved, and the unknown ones proposed as new agencies (written out for
agencies.yaml in `planfile`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ocop_cli.core.i18n import _, ngettext
from ocop_cli.core.text import clean, fold

if TYPE_CHECKING:
    from ocop_cli.core.directory import Directory
from ocop_cli.imports.tables import PlanTable, RowProblem, TableRow, header_of


@dataclass(frozen=True)
class Ref:
    """One agency named in a cell: the text as written, and the agency it means if known."""

    text: str
    agency: str | None


class _Index:
    """Folded spelling -> agency id, for spellings that mean exactly one agency."""

    def __init__(self, directory: Directory) -> None:
        owners: dict[str, set[str]] = {}
        for agency in directory.agencies:
            for spelling in (*agency.spellings, agency.id):
                owners.setdefault(fold(spelling), set()).add(agency.id)
        self.ids = {key: next(iter(ids)) for key, ids in owners.items() if len(ids) == 1}


_TOKEN = re.compile(r",|[^\s,]+")


def split_agencies(cell: str, directory: Directory, index: _Index | None = None) -> list[Ref]:
    """The agencies a partners cell names, in order.

    References are separated by `;`, and by `,`, "và" or a lost separator (a plain space)
    wherever the directory knows the names on both sides: "Chi cục PTNT, các đơn vị tư vấn và
    các đơn vị liên quan" is three references, "BCĐ các huyện, TP" and "Sở NN và PTNT" one
    each. A name the directory does not know runs to the next `;`, or to a comma followed by a
    capitalised name of two words or more ("Sở Xây dựng, Sở Giao thông")."""
    index = index or _Index(directory)
    refs: list[Ref] = []
    for chunk in clean(cell).split(";"):
        chunk = chunk.strip(" ,")
        if chunk:
            refs += _split_chunk(chunk, directory, index)
    return refs


def _split_chunk(chunk: str, directory: Directory, index: _Index) -> list[Ref]:
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(chunk)]
    count = len(tokens)
    memo: dict[tuple[int, bool], tuple[tuple[int, int], list[tuple[int, int, bool]]] | None] = {}

    def solve(i: int, after_space: bool
              ) -> tuple[tuple[int, int], list[tuple[int, int, bool]]] | None:
        """Cheapest cover of tokens[i:] as pieces (first token, end token, known): fewest
        words in unknown pieces, then fewest pieces. A piece next to a lost separator (a
        plain space) must be known on both sides."""
        while i < count and tokens[i][2] == ",":
            i, after_space = i + 1, False
        if i == count:
            return (0, 0), []
        if (i, after_space) in memo:
            return memo[(i, after_space)]
        best: tuple[tuple[int, int], list[tuple[int, int, bool]]] | None = None
        for j in range(count, i, -1):  # on a tie, the longest name first
            if tokens[j - 1][2] == ",":
                continue
            text = chunk[tokens[i][0]:tokens[j - 1][1]]
            known = fold(text) in index.ids
            if after_space and not known:
                continue
            words = sum(1 for t in tokens[i:j] if t[2] != ",")
            # What follows: a comma, "và", or (between two known names) nothing but a space.
            options: list[tuple[int, bool]] = []
            if j == count or tokens[j][2] == ",":
                options.append((j, False))
            else:
                if fold(tokens[j][2]) == "va":
                    options.append((j + 1, False))
                if known:
                    options.append((j, True))
            for k, space in options:
                rest = solve(k, space)
                if rest is None:
                    continue
                cost = (rest[0][0] + (0 if known else words), rest[0][1] + 1)
                if best is None or cost < best[0]:
                    best = (cost, [(i, j, known), *rest[1]])
        memo[(i, after_space)] = best
        return best

    found = solve(0, False)
    assert found is not None  # the whole chunk as one piece is always a cover
    refs: list[Ref] = []
    for i, j, known in found[1]:
        text = chunk[tokens[i][0]:tokens[j - 1][1]]
        if known:
            refs.append(Ref(text, index.ids[fold(text)]))
        else:
            refs += [Ref(part, None) for part in _split_unknown(text)]
    return refs


def _split_unknown(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",")]
    names = [parts[0]]
    for part in parts[1:]:
        if part and part[0].isupper() and len(part.split()) >= 2:
            names.append(part)
        else:
            names[-1] = f"{names[-1]}, {part}"
    return [n.strip(" ,") for n in names if n.strip(" ,")]


@dataclass
class Resolved:
    """A table with its agency cells resolved: per task the lead and partner references;
    names the directory does not know (folded name -> spellings and rows); problems."""

    tasks: list[tuple[TableRow, Ref | None, list[Ref]]]
    unknown: dict[str, tuple[list[str], list[int]]]
    problems: list[RowProblem]


def resolve_agencies(table: PlanTable, everywhen: Directory, on: dt.date | None = None
                     ) -> Resolved:
    """The agency cells of a table resolved among the agencies in force on `on` (the plan's
    date); a name of an agency that had ended by then is a problem that says so."""
    directory = everywhen.in_force_on(on)
    index = _Index(directory)
    result = Resolved([], {}, [])

    def unknown(ref: Ref, row: TableRow, column: str) -> None:
        if on is not None and (gone := everywhen.candidates(ref.text, exact=True)):
            result.problems.append(RowProblem(row.row, "; ".join(
                everywhen.ended(a, on) for a in gone), column, row.id))
            return
        # A plan file names agencies by whole spellings; a shortening a person may type
        # ("Sở NN") is not one, and adding it as a new agency would make a double.
        found = directory.candidates(ref.text)
        if len(found) == 1:
            result.problems.append(RowProblem(row.row, _(
                "{text!r} is not a spelling in agencies.yaml; if it means {name}, write that or "
                "add {text!r} to its aliases").format(text=ref.text, name=found[0].short),
                column, row.id))
            return
        if found:
            names = ", ".join(a.short for a in found)
            result.problems.append(RowProblem(row.row, _(
                "{text!r} fits several agencies: {names}; write the whole name").format(
                text=ref.text, names=names), column, row.id))
            return
        spellings, rows = result.unknown.setdefault(fold(ref.text), ([], []))
        if ref.text not in spellings:
            spellings.append(ref.text)
        if row.row not in rows:
            rows.append(row.row)

    for row in table.rows:
        lead: Ref | None = None
        if row.lead is not None:
            found = directory.candidates(row.lead, exact=True)
            if len(found) == 1:
                lead = Ref(row.lead, found[0].id)
            else:
                parts = split_agencies(row.lead, directory, index) if not found else []
                if len(parts) > 1:
                    result.problems.append(RowProblem(row.row, _(
                        "one lead agency per task, but the cell names {n}: {names}; move the "
                        "others to {partners}").format(
                        n=len(parts), names="; ".join(p.text for p in parts),
                        partners=header_of("partners")), header_of("lead"), row.id))
                else:
                    lead = Ref(row.lead, None)
                    unknown(lead, row, header_of("lead"))
        partners = split_agencies(row.partners, directory, index) if row.partners else []
        for ref in partners:
            if ref.agency is None:
                unknown(ref, row, header_of("partners"))
        result.tasks.append((row, lead, partners))
    return result


def unknown_problems(resolved: Resolved, directory: Directory) -> list[RowProblem]:
    problems = []
    for spellings, rows in resolved.unknown.values():
        hint = directory.suggest(spellings[0])
        where = ngettext("row {rows}", "rows {rows}", len(rows)).format(
            rows=", ".join(str(r) for r in rows))
        message = _("unknown agency {name!r} ({where})").format(
            name=" / ".join(spellings), where=where)
        problems.append(RowProblem(None, message + (f"; {hint}" if hint else ""),
                                   rows=tuple(rows)))
    return problems


_LEVEL_WORDS = (
    ("commune", ("xa", "phuong", "thi tran")),
    ("district", ("huyen", "tp", "thanh pho", "thi xa", "quan")),
    ("central", ("bo", "trung uong", "chinh phu", "tw")),
)
_KIND_WORDS = (
    ("group", ("cac", "nhung")),
    ("department", ("so",)),
    ("ministry", ("bo",)),
    ("government", ("ubnd", "uy ban nhan dan")),
    ("committee", ("bcd", "ban chi dao", "ban", "hoi dong", "to")),
    ("office", ("phong", "chi cuc", "van phong", "trung tam", "cuc")),
    ("media", ("bao", "dai")),
    ("party", ("tinh uy", "huyen uy", "dang uy")),
)


def guess_level_kind(name: str) -> tuple[str, str]:
    """A new agency's level and kind, guessed from the words of its name; the province and an
    organisation when nothing says otherwise."""
    words = fold(name).split()
    text = (" " + " ".join(words) + " ").replace(" hop tac xa ", " htx ")  # not a commune
    level = next((lvl for lvl, keys in _LEVEL_WORDS
                  if any(f" {k} " in text for k in keys)), "province")
    kind = next((knd for knd, keys in _KIND_WORDS
                 if any(text.startswith(f" {k} ") for k in keys)), "organisation")
    if level == "central" and kind == "department":
        level = "province"
    return level, kind


@dataclass(frozen=True)
class NewAgency:
    id: str
    short: str
    aliases: tuple[str, ...]
    level: str
    kind: str


def new_agencies(unknown: dict[str, tuple[list[str], list[int]]], directory: Directory
                 ) -> list[NewAgency]:
    taken = set(directory.by_id)
    added = []
    for spellings, _rows in unknown.values():
        base = re.sub(r"[^a-z0-9]+", "-", fold(spellings[0])).strip("-") or "agency"
        agency_id, n = base, 1
        while agency_id in taken:
            n += 1
            agency_id = f"{base}-{n}"
        taken.add(agency_id)
        level, kind = guess_level_kind(spellings[0])
        added.append(NewAgency(agency_id, spellings[0], tuple(spellings[1:]), level, kind))
    return added
