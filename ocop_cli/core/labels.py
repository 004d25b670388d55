"""How the codes of the product register are named to people: its stages, the kinds of
entity that make products, the councils that score them."""

from __future__ import annotations

from ocop_cli.core.i18n import _


def stage_label(stage: str) -> str:
    return {"registered": _("registered"), "chosen": _("chosen"), "rejected": _("rejected"),
            "sent": _("sent to the province"), "scored": _("scored"),
            "recognised": _("recognised"), "not_recognised": _("not recognised"),
            "renewed": _("renewed"), "upgraded": _("upgraded"), "revoked": _("revoked"),
            "expired": _("expired"), "notified": _("told of expiry"), "undo": _("undo")}[stage]


def stars_label(stars: int | None) -> str:
    """Stars in words: "4 stars", or "not ranked" for points under every band."""
    return _("not ranked") if stars is None else _("{n} stars").format(n=stars)


def kind_label(kind: str) -> str:
    return {"htx": _("cooperative"), "dn": _("enterprise"), "tht": _("cooperative group"),
            "ho": _("household")}[kind]


def council_label(council: str) -> str:
    return {"huyen": _("district council"), "tinh": _("province council")}[council]


def level_label(level: str | None) -> str:
    """Who recognises a product's stars: the district, the province or the centre."""
    return {"huyen": _("district"), "tinh": _("province"), "trung-uong": _("centre")}.get(
        level or "", _("no level"))


def step_label(step: str) -> str:
    """A step of the register's order in words: a score names its council ("scored (province
    council)")."""
    stage, _colon, council = step.partition(":")
    return f"{stage_label(stage)} ({council_label(council)})" if council else stage_label(stage)
