"""Which letterhead a report is issued under: each agency's own, bundled for the province's
departments and the 12 district-level units of 2019 (`letterheads.yaml` beside this module),
overridden for this clone only by the user's `letterheads.yaml` in their config folder (never
a file of the workspace, so never one that sync commits), and chosen per report: the agency
a report is for, or `--issuer`; the workspace's office.yaml for a report of the whole plan.

The user's file:

    office:                 # over the workspace's office.yaml
      signer: Nguyễn Văn A
    agencies:
      Gia Lộc:              # any spelling --agency takes
        signer: Trần Thị B
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from platformdirs import user_config_path

from ocop_cli.core.directory import Directory
from ocop_cli.core.errors import InvalidData, OcopError, Problem
from ocop_cli.core.i18n import _
from ocop_cli.core.model import Agency
from ocop_cli.output import office
from ocop_cli.output.office import Office
from ocop_cli.store.yamlio import YamlDoc, decode, read_bytes, read_yaml

BUNDLED = Path(__file__).with_name("letterheads.yaml")
USER_FILE = "letterheads.yaml"
MAX_BYTES = 2**20  # a few dozen letterheads take some kilobytes
MAX_AGENCIES = 500
Wrong = Callable[[tuple[str | int, ...], str], None]


def user_path() -> Path:
    """The user's own letterheads, in their config folder (~/.config/ocop on Linux)."""
    return user_config_path("ocop", appauthor=False) / USER_FILE


def letterhead(root: Path, directory: Directory, agency: Agency | None,
               chosen: bool = False) -> Office:
    """The letterhead of a report issued by `agency` (None: the workspace's office.yaml),
    this clone's own fields over the bundled ones. An agency without a letterhead issues
    under the workspace's office, unless it was `chosen` (--issuer): then under its own
    name, its other fields left blank to fill in by hand."""
    own = user_letterheads(directory)
    if agency is not None:
        found = bundled().get(agency.id)
        if found is not None or agency.id in own:
            return (found or Office(issuer=agency.name))._replace(**own.get(agency.id, {}))
        if chosen:
            return Office(issuer=agency.name)
    return office.read(root)._replace(**own.get(None, {}))


@functools.cache
def bundled() -> dict[str, Office]:
    """The bundled letterheads by agency id."""
    doc = _read(BUNDLED)
    found: dict[str, Office] = {}
    problems: list[Problem] = []
    items = doc.data.get("letterheads") if isinstance(doc.data, dict) else None
    for i, item in enumerate(items if isinstance(items, list) else [None]):
        if not isinstance(item, dict) or not isinstance(item.get("agencies"), list):
            problems.append(Problem(str(BUNDLED), _("expected a letterhead with its agencies"),
                                    *doc.where(("letterheads", i))))
            continue
        fields = {k: v for k, v in item.items() if k != "agencies"}
        head = Office(**office.fields_of(fields, _wrong(doc, problems, ("letterheads", i))))
        found.update(dict.fromkeys(map(str, item["agencies"]), head))
    if problems:
        raise InvalidData(problems)
    return found


def user_letterheads(directory: Directory) -> dict[str | None, dict[str, Any]]:
    """This clone's fields by agency id (None: the workspace's office); none without the file.
    InvalidData naming the file, the line and the key when the file is there but wrong."""
    path = user_path()
    if not path.exists():
        return {}
    doc = _read(path, follow=True)
    if doc.data is None:
        return {}
    problems: list[Problem] = []
    if not isinstance(doc.data, dict):
        problems.append(Problem(str(path), _("expected office: and agencies:"),
                                *doc.where(())))
        raise InvalidData(problems)
    found: dict[str | None, dict[str, Any]] = {}
    for key, value in doc.data.items():
        if key == "office":
            found[None] = _fields(doc, problems, ("office",), value)
        elif key == "agencies" and isinstance(value, dict) and len(value) <= MAX_AGENCIES:
            for name, fields in value.items():
                agency = _agency(doc, problems, directory, name)
                own = _fields(doc, problems, ("agencies", name), fields)
                if agency is not None:
                    found[agency.id] = own
        elif key == "agencies":
            problems.append(Problem(str(path), _(
                "expected at most {n} agencies, each a name and its fields").format(
                    n=MAX_AGENCIES), *doc.where((key,)), field=str(key)))
        else:
            problems.append(Problem(str(path), _("unknown key; the keys are office and "
                                                 "agencies"), *doc.where((key,)),
                                    field=str(key)))
    if problems:
        raise InvalidData(problems)
    return found


def _read(path: Path, follow: bool = False) -> YamlDoc:
    text = unicodedata.normalize("NFC", decode(path, read_bytes(path, MAX_BYTES, follow)))
    return read_yaml(path, text)


def _wrong(doc: YamlDoc, problems: list[Problem], at: tuple[str | int, ...]) -> Wrong:
    def wrong(loc: tuple[str | int, ...], message: str) -> None:
        where = (*at, *loc)
        problems.append(Problem(str(doc.path), message, *doc.where(where),
                                field=".".join(map(str, where))))

    return wrong


def _fields(doc: YamlDoc, problems: list[Problem], at: tuple[str | int, ...],
            value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        _wrong(doc, problems, at)((), _("expected fields such as issuer: and signer:"))
        return {}
    return office.fields_of(value, _wrong(doc, problems, at))


def _agency(doc: YamlDoc, problems: list[Problem], directory: Directory,
            name: Any) -> Agency | None:
    """The agency a key of `agencies:` names, or None with the problem told."""
    try:
        if not isinstance(name, str):
            raise InvalidData([], _("expected an agency's name"))
        return directory.resolve(name)
    except OcopError as error:
        _wrong(doc, problems, ("agencies", str(name)))((), error.message)
        return None
