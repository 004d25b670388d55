"""The file formats, as pydantic models: they validate what people write and generate the
JSON Schemas that editors use. Loading turns a valid document into `model` values.

A history line's format is made from `model.Entry`'s fields. Imported only when a file has
to be read for real (not served from the index).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    TypeAdapter,
    ValidationInfo,
    field_validator,
)
from typing_extensions import TypedDict  # pydantic takes typing's own from Python 3.12

from ocop_cli.core.i18n import _
from ocop_cli.core.model import (
    ACTIONS,
    COUNCILS,
    ENTITY_KINDS,
    KINDS,
    LEVELS,
    PRODUCT_ACTIONS,
    PRODUCT_STAGES,
    UNIT_LEVELS,
    Entry,
    kinds_of,
)
from ocop_cli.core.windows import MOST_YEARS, parse_target
from ocop_cli.store import write

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# An e-mail address as one mailbox: no name, no list, nothing a header could be split at.
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254,
                                         pattern=r"^[^@\s<>,;:\"()\[\]]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")]
Year = Annotated[int, Field(ge=1900, le=2200)]


def _target(text: str) -> str:
    parse_target(text)
    return text


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Signer(Strict):
    name: Text
    capacity: Text


class DocumentRef(Strict):
    number: Text
    date: dt.date
    title: str | None = None
    note: str | None = None


class Received(Strict):
    by: Text
    number: Text
    date: dt.date


class Section(Strict):
    id: Text
    title: Text
    text: str = ""


class Note(Strict):
    """A note written in both languages: each screen shows its own (JSON the English)."""

    en: Text
    vi: Text


def _note_kind(value: Any) -> str:
    return "pair" if isinstance(value, dict | Note) else "text"


# A remark as written, or a pair {en, vi}; a wrong pair is told as a pair, not as a text too.
Notes = list[Annotated[Annotated[Text, Tag("text")] | Annotated[Note, Tag("pair")],
                       Discriminator(_note_kind)]]


class TaskDoc(Strict):
    """One row or sub-row of the assignment table; a sub-row's parent is its id less `.N`."""

    id: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*(\.[1-9][0-9]*)*$")]
    title: Text
    unit: Text | None = None
    target: Annotated[Text, AfterValidator(_target)] | None = Field(
        None, description="The quantity as written: 12, 01, a range 15-20 or từ 800 đến 1.000, "
        "with a qualifier (ít nhất 04, khoảng 220, thêm 30), a unit (04 lớp tập huấn) or as a "
        "share (100% chủ thể)"
    )
    lead: Text | None = Field(None, description="The lead agency, a spelling from agencies.yaml")
    partners: list[Text] = Field(default_factory=list)
    window: Text | None = Field(
        None, description="When, as written: months (T6, T6,7, T 7-12, Tháng 6/2020), quarters "
        "(Quý II), halves (6 tháng đầu năm), years (Cả năm, Năm 2023, 2021-2022, Thường xuyên, "
        "Hằng năm) or a day deadline (Trước 30/6)"
    )
    section: Text | None = None
    per_district: bool = Field(False, description="Target counted one per district-level unit "
                               "(the same as per_unit: district)")
    per_unit: Literal[UNIT_LEVELS] | None = Field(  # type: ignore[valid-type]
        None, description="Target counted one per administrative unit of this level, those "
        "in force on the plan's date")
    notes: Notes = Field(default_factory=list)
    products_at: Literal[PRODUCT_STAGES] | None = Field(  # type: ignore[valid-type]
        None, description="The achieved quantity is the number of products of the register "
        "that reached this stage within the plan's year(s)")


class PlanDoc(Strict):
    number: Text
    year: Year = Field(description="The plan's year; for a plan over several years, the first")
    last_year: Year | None = Field(None, description="The last year of a plan over several "
                                   "years (2025 for 2021-2025)")
    title: Text
    kind: Text | None = None
    issuer: Text | None = None
    place: Text | None = None
    dated: dt.date
    appendix_dated: dt.date | None = None
    signed_by: Signer | None = None
    implements: DocumentRef | None = None
    funding: DocumentRef | None = None
    received: Received | None = None
    purposes: list[Text] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    notes: Notes = Field(default_factory=list)
    tasks: list[TaskDoc]

    @field_validator("last_year")
    @classmethod
    def _after_year(cls, last: int | None, info: ValidationInfo) -> int | None:
        year = info.data.get("year")
        if last is not None and year is not None and last < year:
            raise ValueError(_("{last} comes before the plan's year {year}").format(
                last=last, year=year))
        if last is not None and year is not None and last - year >= MOST_YEARS:
            raise ValueError(_("a plan runs over {n} years at most").format(n=MOST_YEARS))
        return last


class AgencyDoc(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    short: Text
    name: Text
    aliases: list[Text] = Field(default_factory=list)
    level: Literal[LEVELS]  # type: ignore[valid-type]
    kind: Literal[KINDS]  # type: ignore[valid-type]
    part_of: Text | None = None
    members: list[Text] = Field(default_factory=list)
    duties: list[Text] = Field(default_factory=list)
    notes: list[Text] = Field(default_factory=list)
    # Where `ocop remind --send` sends the agency its reminders.
    email: list[Email] = Field(default_factory=list, max_length=20)
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,6}$")] | None = Field(
        None, description="The statistics office's code of an administrative unit (30, 288)")
    start: dt.date | None = Field(None, alias="from", description="The first day it was in "
                                  "force (default: always)")
    until: dt.date | None = Field(None, description="The last day it was in force (default: "
                                  "still in force)")
    successors: list[Text] = Field(default_factory=list, description="The ids of the agencies "
                                   "or units that took over when it ended")

    @field_validator("until")
    @classmethod
    def _after_start(cls, until: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("start")
        if until is not None and start is not None and until < start:
            raise ValueError(_("it ends ({until}) before it begins ({start})").format(
                until=until.isoformat(), start=start.isoformat()))
        return until


class AgenciesDoc(Strict):
    agencies: list[AgencyDoc]


# What each kind of field of a line (`model.Kind`) takes: the format of a history line (its
# fast copy, for lines exactly as `append` writes them, is `written`'s: change both).
_KINDS: dict[str, Any] = {
    "text": Text, "moment": dt.datetime, "day": dt.date,
    "action": Literal[ACTIONS], "count": Annotated[int, Field(ge=0)],
    "year": Year, "note": str,
}


def _line_format(fields: type[Any], name: str, doc: str) -> Any:
    """The format of a line whose fields (a named tuple's) say what they hold (`Kind`),
    required unless they have a default."""
    keys: dict[str, Any] = {}
    for key, kind in kinds_of(fields).items():
        value = _KINDS[kind.name]
        if key in fields._field_defaults:
            value = NotRequired[Annotated[value | None, Field(description=kind.description)]]
        keys[key] = value
    found = TypedDict(name, keys)  # type: ignore[misc]
    found.__doc__ = doc
    found.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return found


EntryDoc: Any = _line_format(Entry, "EntryDoc", "One line of a history file.")
class MemberSheetDoc(Strict):
    """One council member's scoring sheet: the points of parts A, B and C."""

    member: Text
    a: Annotated[int, Field(ge=0, le=100)]
    b: Annotated[int, Field(ge=0, le=100)]
    c: Annotated[int, Field(ge=0, le=100)]


class ProductLineDoc(Strict):
    """One line of a product register file (`products/<who>.yaml`): a registration with the
    product's facts, a stage, or an undo. What each action needs (`registered` the facts,
    `scored` council and points, `recognised` ref, `rejected` note, `undo` undoes) and the
    district and group ids are checked by `ocop check`."""

    id: Text
    at: dt.datetime
    date: dt.date
    product: Text = Field(description="The product's id, as `ocop product add` printed it")
    action: Literal[PRODUCT_ACTIONS]  # type: ignore[valid-type]
    by: Text
    name: Text | None = None
    district: Text | None = Field(None, description="A district-level unit's id in agencies.yaml")
    commune: Text | None = None
    entity: Text | None = Field(None, description="The cooperative, enterprise, group or household")
    kind: Literal[ENTITY_KINDS] | None = None  # type: ignore[valid-type]
    group: Text | None = Field(None, description="A product group id of ocop_rules.yaml")
    new: bool | None = Field(None, description="A new product, not one made already")
    council: Literal[COUNCILS] | None = None  # type: ignore[valid-type]
    points: Annotated[int, Field(ge=0, le=100)] | None = None
    sheets: Annotated[list[MemberSheetDoc], Field(min_length=1, max_length=50)] | None = Field(
        None, description="Each council member's scoring sheet; the points are their average")
    failed: Text | None = Field(None, description="The mandatory criterion a scored product "
                                "failed: not passed")
    ref: Text | None = None
    note: Text | None = None
    undoes: Text | None = None


class BandDoc(Strict):
    stars: Annotated[int, Field(ge=1, le=5)]
    min: Annotated[int, Field(ge=0, le=100, description="The fewest points for these stars")]


class PartsDoc(Strict):
    """The most points each part of a scoring sheet may give."""

    a: Annotated[int, Field(ge=1, le=100)]
    b: Annotated[int, Field(ge=1, le=100)]
    c: Annotated[int, Field(ge=1, le=100)]


class DecisionDoc(Strict):
    """The point bands of one decision, in force from its date."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    decision: Text
    start: dt.date = Field(alias="from")
    valid_months: Annotated[int, Field(ge=1, le=240, description="How long a certificate "
                                       "holds")] | None = None
    valid_years: Annotated[int, Field(ge=1, le=20, description="Older spelling of "
                                      "valid_months, in years")] | None = None
    notice_days: Annotated[int, Field(ge=0, le=365, description="How many days before a "
                                      "certificate expires its holder must be told")] = 30
    recognised_from: Annotated[int, Field(ge=1, le=5)] = 3
    parts: PartsDoc | None = Field(None, description="The maxima of parts A, B and C of a "
                                   "council member's scoring sheet")
    bands: Annotated[list[BandDoc], Field(min_length=1)]

    @property
    def months(self) -> int:
        """How many months a certificate holds: 36 unless the file says otherwise."""
        if self.valid_months is not None:
            return self.valid_months
        return 12 * self.valid_years if self.valid_years is not None else 36


# A step of a product's process: a stage, or a score by one of the councils.
STEPS = (*(s for s in PRODUCT_STAGES if s != "scored"), *(f"scored:{c}" for c in COUNCILS))
LEVELS_RECOGNISING = ("huyen", "tinh", "trung-uong")


class ProcessDoc(Strict):
    """Who proposes, scores and recognises, from the day this way of working took effect."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: dt.date = Field(alias="from")
    name: Text
    funnel: Annotated[list[Literal[PRODUCT_STAGES]],  # type: ignore[valid-type]
                      Field(min_length=1, description="The stages the report counts")]
    recognised_by: dict[Annotated[int, Field(ge=1, le=5)],
                        Literal[LEVELS_RECOGNISING]] = Field(  # type: ignore[valid-type]
        description="Which level recognises each number of stars")
    next: dict[Literal[STEPS], list[Literal[STEPS]]] = Field(  # type: ignore[valid-type]
        description="From each stage (a score named by its council), the steps that may "
        "follow")


class GroupDoc(Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    name: Text
    aliases: list[Text] = Field(default_factory=list)


class RulesDoc(Strict):
    """The OCOP product rules: point bands by decision, and the product groups."""

    decisions: Annotated[list[DecisionDoc], Field(min_length=1)]
    processes: Annotated[list[ProcessDoc], Field(min_length=1)] | None = Field(
        None, description="The process by period; the bundled one when left out")
    groups: Annotated[list[GroupDoc], Field(min_length=1)]


SCHEMAS: dict[str, Any] = {
    "plan.schema.json": PlanDoc,
    "agencies.schema.json": AgenciesDoc,
    "rules.schema.json": RulesDoc,
}


def schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schemas shipped in `data/schema/`, generated from the models."""
    found = {name: model.model_json_schema() for name, model in SCHEMAS.items()}
    found["history.schema.json"] = TypeAdapter(list[EntryDoc]).json_schema()
    found["products.schema.json"] = TypeAdapter(list[ProductLineDoc]).json_schema()
    for name, schema in found.items():
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema.setdefault("title", name.split(".")[0])
    return found


def write_schemas(folder: Any) -> None:
    """`python -m ocop_cli.store.schema DIR` writes the shipped schemas again."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas().items():
        text = json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        write.replace(folder / name, text.encode("utf-8"), inside=folder, force=True)


if __name__ == "__main__":  # pragma: no cover
    import sys

    write_schemas(sys.argv[1] if len(sys.argv) > 1 else "data/schema")
