"""The OCOP product register: each product from the idea a commune registers to its stars,
and the life of its certificate.

The register lives in the workspace as `products/<who>.yaml`, kept like the history: one line
per record, appended by ocop only, one file per recorder, so that offices merge with git
without conflicts (the lines are read in `product_lines`). A product's first line registers it
(name, entity, commune, district unit, group); each later line is a stage: chosen or rejected
by the district, sent to the province, scored by a council (one total, or each member's sheet),
recognised or not; then its certificate renewed, upgraded or revoked. A wrong line is taken
back by an `undo` line.

A product's stage on a day is the replay of its lines up to that day, never stored. The stars
of a score come from the decision of `ocop_rules.yaml` in force on the day it was given; a
certificate holds the rules' months from its recognition or renewal, and has expired from the
day they end (derived, never typed).

A plan task may count the products that reached a stage within the plan's years
(`products_at` in the plan file): each such product becomes one derived entry (quantity 1,
place its district unit, dated the day of the stage) in the replay of the tasks.

What the product commands show (rows, tables, the report) is in `product_views`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from ocop_cli.core.errors import InvalidData, NotFound, Problem, Refused, UsageError
from ocop_cli.core.i18n import _, format_date
from ocop_cli.core.labels import council_label, level_label, stage_label, stars_label, step_label
from ocop_cli.core.model import ENTITY_KINDS as KINDS
from ocop_cli.core.model import PRODUCT_STAGES
from ocop_cli.core.text import clean, fold
from ocop_cli.store.storage import Workspace
from ocop_cli.tracker.product_lines import (
    REGISTER,
    Line,
    live,
    read_register,
    register_file,
    register_files,
)
from ocop_cli.tracker.product_rules import (
    RULES,
    Decision,
    Group,
    Rules,
    months_later,
    read_rules,
    rules_path,
)
from ocop_cli.tracker.record import new_id, now
from ocop_cli.tracker.scoring import MemberSheet, average, checked

__all__ = ["REGISTER", "RULES", "Decision", "Group", "Line", "Rules", "live", "months_later",
           "read_register", "read_rules", "register_file", "register_files", "rules_path"]
HEADER = (
    "# yaml-language-server: $schema=../schema/products.schema.json\n"
    "# ocop product register: one line per record, appended by ocop and never rewritten.\n"
    "# Undo with `ocop product undo`, which appends a line that takes the last one back.\n"
)

STAGES = PRODUCT_STAGES
CERTIFYING = ("recognised", "renewed", "upgraded")  # the stages that issue a certificate

def load_register(ws: Workspace, directory: Any) -> tuple[list[Line], Rules, list[Problem]]:
    """The register and the rules; InvalidData when either has an error (warnings returned)."""
    rules = read_rules(rules_path(ws))
    lines, problems = read_register(ws, directory, rules)
    errors = [p for p in problems if not p.warning]
    if errors:
        raise InvalidData(errors)
    return lines, rules, problems


# --- products as of a date -------------------------------------------------------------------


class Certificate(NamedTuple):
    """What a recognition, renewal or upgrade issued: the decision's number and date, the
    stars, and the first day it no longer holds (None: past the calendar's end)."""

    action: str  # recognised, renewed or upgraded
    ref: str
    date: dt.date
    stars: int | None
    points: int | None
    expires: dt.date | None


class Product:
    """A product's facts and its stage on an as-of date (a plain class: see `model`)."""

    __slots__ = ("by", "certificate", "certificates", "commune", "council", "decision",
                 "district", "entity", "expires", "failed", "group", "id", "kind", "lines",
                 "name", "new", "points", "reason", "recognised", "registered", "revoked",
                 "rules_decision", "scored", "sheets", "stage", "stage_date", "stars")

    def __init__(self, first: Line) -> None:
        self.id = first.product
        self.name, self.district, self.commune = first.name or "", first.district or "", \
            first.commune or ""
        self.entity, self.kind, self.group = first.entity or "", first.kind or "", \
            first.group or ""
        self.new = bool(first.new)
        self.registered, self.by = first.date, first.by
        self.lines: list[Line] = [first]
        self.stage, self.stage_date = "registered", first.date
        # The latest score: its points, its stars (None: not ranked, not passed, or before
        # any decision), the decision it was scored under, each member's sheet.
        self.points: int | None = None
        self.stars: int | None = None
        self.council: str | None = None
        self.scored: dt.date | None = None
        self.rules_decision: str | None = None
        self.sheets: tuple[MemberSheet, ...] | None = None
        self.failed: str | None = None
        self.reason: str | None = None
        # The latest certificate (and its decision, date and expiry as the listing names
        # them), and the revocation that ended it.
        self.certificate: Certificate | None = None
        self.certificates: list[Certificate] = []  # every one issued, oldest first
        self.recognised: dt.date | None = None
        self.decision: str | None = None
        self.expires: dt.date | None = None
        self.revoked: Line | None = None

    @property
    def position(self) -> str:
        """The stage as a process's `next` names it: a score says by which council."""
        return f"scored:{self.council}" if self.stage == "scored" else self.stage

    def reached(self, stage: str) -> bool:
        return any(line.action == stage for line in self.lines)

    def in_force(self, as_of: dt.date) -> bool:
        """Holds a certificate on `as_of`: issued, not revoked, not yet expired."""
        return self.certificate is not None and self.revoked is None and (
            self.expires is None or as_of < self.expires)

    def stars_on(self, as_of: dt.date) -> int | None:
        """The stars in force on `as_of`: the certificate's, while it holds."""
        return self.certificate.stars if self.certificate and self.in_force(as_of) else None

    def certificate_status(self, as_of: dt.date) -> str | None:
        """in_force, expired or revoked; None before any certificate."""
        if self.certificate is None:
            return None
        if self.revoked is not None:
            return "revoked"
        return "in_force" if self.in_force(as_of) else "expired"


def products_as_of(lines: Iterable[Line], rules: Rules, as_of: dt.date) -> dict[str, Product]:
    """Every product registered by `as_of`, at its stage on that day."""
    found: dict[str, Product] = {}
    for line in live(lines):
        if line.date > as_of:
            break
        if line.action == "registered":
            if line.product not in found:
                found[line.product] = Product(line)
            continue
        product = found.get(line.product)
        if product is None:
            continue  # an orphan, reported by `check`
        product.lines.append(line)
        if line.action == "notified":  # a notice sent changes nothing of the product
            continue
        product.stage, product.stage_date = line.action, line.date
        _apply(product, line, rules)
    return found


def _apply(product: Product, line: Line, rules: Rules) -> None:
    """What one stage does to a product's score and certificate."""
    if line.action == "scored":
        decision = rules.decision_on(line.date)
        product.points, product.council, product.scored = line.points, line.council, line.date
        product.sheets, product.failed = line.sheets, line.failed
        product.rules_decision = decision.decision if decision else None
        product.stars = None if line.failed else rules.stars(line.points or 0, line.date)
    elif line.action == "rejected":
        product.reason = line.note
    elif line.action in CERTIFYING:
        decision = rules.decision_on(line.date)
        months = decision.valid_months if decision else rules.decisions[0].valid_months
        product.certificate = Certificate(line.action, line.ref or "", line.date, product.stars,
                                          product.points, _expiry(line, months))
        product.certificates.append(product.certificate)
        product.recognised, product.decision = line.date, line.ref
        product.expires = product.certificate.expires
        product.revoked = None
    elif line.action == "revoked":
        product.revoked, product.reason = line, line.note


def _expiry(line: Line, months: int) -> dt.date:
    """When a certificate of `line` runs out, `months` on; InvalidData naming the line when
    that would be past the calendar (a date mistyped as 9999)."""
    expires = months_later(line.date, months)
    if expires is None:
        file, _colon, number = line.source.rpartition(":")
        raise InvalidData([Problem(file, _(
            "product {id}: {stage} on {date}, valid {months} months, would run out after "
            "{last}, past the calendar; correct the date").format(
            id=line.product, stage=stage_label(line.action), date=format_date(line.date),
            months=months, last=format_date(dt.date.max)),
            int(number) if number.isdigit() else None)])
    return expires


# --- recording -------------------------------------------------------------------------------


def new_product_id(taken: Iterable[str], *facts: str) -> str:
    """An id made from the registration's facts (who, when, what), so that a dry run shows the
    id the recording will give; another is taken only when that one is in use."""
    used = set(taken)
    for attempt in range(1000):
        digest = hashlib.sha256("\x1f".join((*facts, str(attempt))).encode("utf-8"))
        candidate = f"sp-{digest.hexdigest()[:6]}"
        if candidate not in used:
            return candidate
    raise Refused(_("no free product id is left for these facts"))  # pragma: no cover


def find(lines: Sequence[Line], text: str) -> str:
    """A product id as typed: whole, or a prefix of one (`3fa9` or `sp-3fa9`)."""
    key = text.strip().lower()
    if not key:  # an empty prefix would fit every product, and pick the only one there is
        raise UsageError(_("the product's id is empty; give it as `ocop product list` shows it"))
    ids = {line.product for line in lines if line.action == "registered"}
    if key in ids:
        return key
    found = sorted(i for i in ids if i.startswith(key) or i.startswith(f"sp-{key}"))
    if len(found) == 1:
        return found[0]
    if found:
        raise UsageError(_("{text!r} fits several products: {ids}").format(
            text=text, ids=", ".join(found[:10])))
    raise NotFound(_("no product {text!r} in the register").format(text=text),
                   hint=_("List them with: ocop product list"))


class Stamp(NamedTuple):
    date: dt.date
    by: str
    ref: str | None = None
    note: str | None = None

    def line(self, product: str, action: str, **fields: Any) -> Line:
        base = Line(new_id(), now(), self.date, product, action, self.by, self.ref, self.note)
        return base._replace(**fields)


def twin_of(products: dict[str, Product], name: str, entity: str, district: str
            ) -> Product | None:
    """The product of that name and entity in that district (accents aside), not rejected."""
    wanted = (fold(name), fold(entity), district)
    return next((p for p in products.values() if p.stage != "rejected"
                 and (fold(p.name), fold(p.entity), p.district) == wanted), None)


def register(lines: Sequence[Line], rules: Rules, stamp: Stamp, name: str, district: str,
             commune: str, entity: str, kind: str, group: str, new: bool) -> Line:
    """The line that registers a product; refused when the same product (name, entity and
    district, accents aside) is registered already and not rejected."""
    values = {"name": clean(name), "commune": clean(commune), "entity": clean(entity)}
    empty = {"name": _("the product's name is empty"), "commune": _("--commune is empty"),
             "entity": _("--entity is empty")}
    for key, value in values.items():
        if not value:
            raise UsageError(empty[key])
    if kind not in KINDS:
        raise UsageError(_("--kind: expected one of: {choices}").format(
            choices=", ".join(KINDS)))
    twin = twin_of(products_as_of(lines, rules, dt.date.max), values["name"], values["entity"],
                   district)
    if twin is not None:
        raise Refused(_("{name} of {entity} is registered already as {id}").format(
            name=values["name"], entity=values["entity"], id=twin.id))
    product = new_product_id((line.product for line in lines), stamp.by,
                             stamp.date.isoformat(), district, values["entity"], values["name"])
    return stamp.line(product, "registered", district=district, kind=kind,
                      group=rules.group(group).id, new=new, **values)


def advance(lines: Sequence[Line], rules: Rules, product_id: str, stage: str, stamp: Stamp,
            council: str | None = None, points: int | None = None) -> Line:
    """The line that moves a product on to `stage`, refused when the product cannot go there
    from where it stands on the line's date."""
    if stage not in STAGES or stage == "registered":
        raise UsageError(_("a stage is one of: {choices}").format(
            choices=", ".join(s for s in STAGES if s != "registered")))
    latest = _latest(lines, rules, product_id, stamp.date)
    step = f"scored:{council}" if stage == "scored" else stage
    following = rules.process_on(stamp.date).next.get(latest.position, ())
    if step not in following:
        allowed = ", ".join(map(step_label, following)) or \
            _("nothing (undo a line to correct it)")
        raise Refused(_("product {id} is {stage}; what may follow on {date}: {allowed}").format(
            id=product_id, stage=stage_label(latest.stage), date=format_date(stamp.date),
            allowed=allowed))
    if stage in ("rejected", "revoked") and not (stamp.note or "").strip():
        raise UsageError(_("say why it is {stage} with --note").format(stage=stage_label(stage)))
    if stage in (*CERTIFYING, "revoked") and not (stamp.ref or "").strip():
        raise UsageError(_("give the decision's number with --ref"))
    if stage in CERTIFYING:
        _may_certify(latest, rules, stage, stamp.date)
    if stage == "revoked" and not latest.in_force(stamp.date):
        raise Refused(_("product {id} holds no certificate on {date}: nothing to revoke").format(
            id=product_id, date=format_date(stamp.date)))
    if stage == "scored" and (points is None or not 0 <= points <= 100):
        raise UsageError(_("points are a whole number from 0 to 100"))
    return stamp.line(product_id, stage, council=council, points=points)


def _latest(lines: Sequence[Line], rules: Rules, product_id: str, day: dt.date) -> Product:
    """The product as its last line leaves it; refused when `day` comes before that line."""
    latest = products_as_of(lines, rules, dt.date.max).get(product_id)
    if latest is None:
        raise NotFound(_("no product {text!r} in the register").format(text=product_id))
    if day < latest.stage_date:
        raise Refused(_("product {id} was {stage} on {date}; a stage cannot come before it "
                        "(undo the later one first)").format(
            id=product_id, stage=stage_label(latest.stage), date=format_date(latest.stage_date)))
    return latest


def _may_certify(product: Product, rules: Rules, stage: str, day: dt.date) -> None:
    """Refused unless the latest score earns a certificate: enough stars, passed; a renewal
    or upgrade needs a certificate not revoked, an upgrade more stars than it had."""
    decision = rules.decision_on(day)
    if decision is None:
        raise Refused(_("no decision of {file} is in force on {date}: a product is recognised "
                        "under one").format(file=RULES, date=format_date(day)))
    if product.failed:
        raise Refused(_("product {id} did not pass ({failed})").format(id=product.id,
                                                                       failed=product.failed))
    if product.stars is None or product.stars < decision.recognised_from:
        raise Refused(_("product {id} is {stars}; a province recognises {least} stars or "
                        "more").format(id=product.id, stars=stars_label(product.stars),
                                       least=decision.recognised_from))
    level = rules.process_on(day).recognised_by.get(product.stars)
    if level not in (product.council, "trung-uong"):
        raise Refused(_("{stars} are recognised by the {level} under {process}; product {id} "
                        "was last scored by the {council}").format(
            stars=stars_label(product.stars), level=level_label(level), id=product.id,
            process=rules.process_on(day).name, council=council_label(product.council or "")))
    if months_later(day, decision.valid_months) is None:
        raise Refused(_("a certificate of {date} would run out after {last}, past the "
                        "calendar; check --date").format(date=format_date(day),
                                                         last=format_date(dt.date.max)))
    if stage == "recognised":
        return
    held = product.certificate
    if held is None or product.revoked is not None:
        raise Refused(_("product {id} holds no certificate to renew or upgrade; recognise it"
                        ).format(id=product.id))
    if stage == "upgraded" and (product.stars or 0) <= (held.stars or 0):
        raise Refused(_("product {id} scored {new}, its certificate has {old}: an upgrade "
                        "needs more stars (renew it instead)").format(
            id=product.id, new=stars_label(product.stars), old=stars_label(held.stars)))
    if stage == "renewed" and (product.stars or 0) > (held.stars or 0):
        raise Refused(_("product {id} scored {new}, more than its certificate's {old}: record "
                        "it as upgraded").format(id=product.id, new=stars_label(product.stars),
                                                 old=stars_label(held.stars)))


def score(lines: Sequence[Line], rules: Rules, product_id: str, stamp: Stamp, council: str,
          points: int | None, sheets: Sequence[MemberSheet] = (), failed: str | None = None
          ) -> Line:
    """The line of a council's score: one total, or each member's sheet (checked against the
    maxima of the decision in force on its date, the points their average); with `failed`,
    the mandatory criterion missed, the product has not passed."""
    if points is not None and sheets:
        raise UsageError(_("give the council's points or its members' sheets, not both"))
    kept: tuple[MemberSheet, ...] | None = None
    if points is None:
        kept = tuple(checked(sheets, rules.decision_on(stamp.date)))
        points = average(kept)
    failed = clean(failed) if failed is not None else None
    if failed == "":
        raise UsageError(_("--failed is empty: name the criterion the product failed"))
    line = advance(lines, rules, product_id, "scored", stamp, council, points)
    return line._replace(sheets=kept, failed=failed)


def take_back(lines: Sequence[Line], stamp: Stamp, product_id: str | None, own: str) -> Line:
    """The undo of the latest line still in force of the office's own register file `own`
    (`products/<office>.yaml`; of one product, with `product_id`): another office's lines
    are never taken back, as `ocop undo` takes back only the office's own entries."""
    kept = [line for line in live(lines) if line.action != "notified"  # a notice stays sent
            and (product_id is None or line.product == product_id)
            and line.source.rpartition(":")[0] == own]
    if not kept:
        raise Refused(_("nothing to undo in {file}, this office's own file").format(file=own))
    last = max(kept, key=lambda line: (line.at, line.id))
    return stamp.line(last.product, "undo", undoes=last.id, ref=None, note=None)


def register_problems(ws: Workspace, directory: Any) -> list[Problem]:
    """Every problem of the register and of the rules, for `ocop check`."""
    try:
        rules = read_rules(rules_path(ws))
    except (InvalidData, NotFound) as error:
        return getattr(error, "problems", None) or [Problem(str(rules_path(ws)), error.message)]
    try:
        return read_register(ws, directory, rules)[1]
    except InvalidData as error:
        return error.problems
