"""Certificates: the day a holder must be told its certificate expires (`notice_by`), the
notices due to each producer on a date (`producer_notices`, for `ocop remind`), and year by
year how many were issued (recognised, renewed, upgraded), expired and revoked up to a date,
and how many of those that expired came back (renewed or recognised again after their
expiry), for the register's report."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from ocop_cli.core.directory import Directory
from ocop_cli.core.followup import CertificateDue, ProducerNotice
from ocop_cli.core.report import CertificateYear
from ocop_cli.core.text import fold, sort_key
from ocop_cli.tracker.product_rules import Rules
from ocop_cli.tracker.products import CERTIFYING, Certificate, Product


def notice_by(product: Product, rules: Rules) -> dt.date:
    """The day the holder of the product's certificate must be told by: its expiry less the
    notice days of the decision it was issued under (30 when none says)."""
    assert product.expires is not None and product.certificate is not None
    decision = rules.decision_on(product.certificate.date)
    return product.expires - dt.timedelta(days=decision.notice_days if decision else 30)


def producer_notices(products: Iterable[Product], directory: Directory, rules: Rules,
                     as_of: dt.date, within: int, at: tuple[int, ...] = ()
                     ) -> list[ProducerNotice]:
    """Each producer to be told, on `as_of`, that certificates it holds expire: those in force
    whose notice day has passed or falls within `within` days (with `at`, a daily schedule:
    exactly so many days ahead), one notice per producer and unit, by unit then producer."""
    found: dict[tuple[str, str], list[CertificateDue]] = {}
    names: dict[tuple[str, str], str] = {}
    for product in products:
        held = product.certificate
        if held is None or product.expires is None or not product.in_force(as_of):
            continue
        tell_by = notice_by(product, rules)
        ahead = (tell_by - as_of).days
        if ahead > 0 and (ahead not in at if at else ahead > within):
            continue
        key = (product.district, fold(product.entity))
        names.setdefault(key, product.entity)
        told = [line.date for line in product.lines
                if line.action == "notified" and line.date >= held.date]
        found.setdefault(key, []).append(CertificateDue(
            product.id, product.name, held.stars, held.ref, held.date, product.expires,
            tell_by, (product.expires - as_of).days, min(told, default=None)))
    units = {a.id: i for i, a in enumerate(directory.units)}
    result = []
    for key in sorted(found, key=lambda k: (units.get(k[0], len(units)), sort_key(names[k]))):
        unit = directory.by_id.get(key[0])
        items = sorted(found[key], key=lambda c: (c.expires, sort_key(c.name), c.product))
        result.append(ProducerNotice(names[key], unit.id if unit else None,
                                     unit.short if unit else None,
                                     unit.name if unit else None,
                                     unit.email if unit else (), items))
    return result


def _expired(product: Product, as_of: dt.date) -> list[tuple[Certificate, bool]]:
    """Each certificate of `product` that expired by `as_of` (no renewal before its day, no
    revocation while it held), with whether a later one was issued (it came back)."""
    revoked = [line.date for line in product.lines if line.action == "revoked"]
    found = []
    for i, held in enumerate(product.certificates):
        after = product.certificates[i + 1] if i + 1 < len(product.certificates) else None
        end = after.date if after else dt.date.max
        if held.expires is None or held.expires > as_of or end < held.expires:
            continue  # still holding, past the calendar, or renewed before its day
        if any(held.date <= day < min(end, held.expires) for day in revoked):
            continue  # revoked, not expired
        found.append((held, after is not None))
    return found


def certificate_years(products: Iterable[Product], as_of: dt.date) -> tuple[CertificateYear, ...]:
    """The years in which something happened to a certificate, oldest first, up to `as_of`
    (the products are as of that date: no later line is in them), then all of them together
    (year None); nothing when no certificate was ever issued."""
    issued: Counter[tuple[int, str]] = Counter()
    expired: Counter[int] = Counter()
    came_back: Counter[int] = Counter()
    for product in products:
        for line in product.lines:
            if line.action in (*CERTIFYING, "revoked"):
                issued[line.date.year, line.action] += 1
        for held, back in _expired(product, as_of):
            assert held.expires is not None
            expired[held.expires.year] += 1
            came_back[held.expires.year] += back
    years = sorted({year for year, _action in issued} | set(expired))
    rows = [_row(year, [issued[year, a] for a in (*CERTIFYING, "revoked")], expired[year],
                 came_back[year]) for year in years]
    if not rows:
        return ()
    total = _row(None, [sum(n for (_y, a), n in issued.items() if a == action)
                        for action in (*CERTIFYING, "revoked")],
                 sum(expired.values()), sum(came_back.values()))
    return (*rows, total)


def _row(year: int | None, counts: list[int], expired: int, came_back: int) -> CertificateYear:
    recognised, renewed, upgraded, revoked = counts
    return CertificateYear(year, recognised, renewed, upgraded, expired, came_back, revoked,
                           round(100 * came_back / expired, 1) if expired else None)
