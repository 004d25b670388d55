"""Who issues a report: the workspace's `office.yaml`, the letterhead of the documents an
office sends upward (Nghị định 30/2020/NĐ-CP, Phụ lục I).

The file is edited by people and never rewritten by ocop. Every field may be left empty: the
document then shows a visible blank ("Số: …/BC-…") to fill in by hand. Options of a report
(`--number`, `--dated`, `--signer`) override the file for that report only.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any, NamedTuple

from ocop_cli.core.errors import InvalidData, Problem
from ocop_cli.core.i18n import _, format_date, language
from ocop_cli.core.report import CUTS, Report
from ocop_cli.output.words import sentences, subject
from ocop_cli.store.storage import OFFICE as FILE
from ocop_cli.store.yamlio import decode, read_bytes, read_yaml

MAX_BYTES = 64 * 1024
MAX_TEXT = 300
MAX_RECIPIENTS = 40
BLANK = "…"  # what a missing field leaves on the page


class Office(NamedTuple):
    parent: str = ""       # cơ quan chủ quản: UBND TỈNH HẢI DƯƠNG
    issuer: str = ""       # cơ quan ban hành: SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN
    symbol: str = ""       # ký hiệu after the number: BC-SNN
    place: str = ""        # địa danh: Hải Dương
    authority: str = ""    # quyền hạn ký: KT. GIÁM ĐỐC
    title: str = ""        # chức vụ: PHÓ GIÁM ĐỐC
    signer: str = ""       # họ và tên
    recipients: tuple[str, ...] = ()
    number: str = ""       # the report's own number, given when it is issued
    dated: dt.date | None = None  # the day it is signed
    report_periods: str = "calendar"  # how --period cuts: calendar, or nd09 (15th to 14th)

    def number_line(self) -> str:
        """`45/BC-SNN`, or blanks where the number or the symbol is not known yet."""
        if "/" in self.number:  # given whole: 45/BC-SNN
            return self.number
        return f"{self.number or BLANK}/{self.symbol or 'BC-' + BLANK}"


TEXT_FIELDS = ("parent", "issuer", "symbol", "place", "authority", "title", "signer")

def path_of(root: Path) -> Path:
    return root / FILE


def read(root: Path) -> Office:
    """The office of the workspace at `root`; all blanks when it has no office.yaml.
    InvalidData naming the file, line and field when the file is there but wrong."""
    office, problems = check(root)
    if problems:
        raise InvalidData(problems)
    return office


def check(root: Path) -> tuple[Office, list[Problem]]:
    """The office and every problem of its file (none when there is no file)."""
    path = path_of(root)
    if not path.exists() and not path.is_symlink():
        return Office(), []
    if path.is_symlink():
        return Office(), [Problem(str(path), _("is a link; ocop reads only files inside the "
                                               "workspace"))]

    try:
        doc = read_yaml(path, _decoded(path, read_bytes(path, MAX_BYTES)))
    except InvalidData as exc:
        return Office(), exc.problems
    data = doc.data
    if data is None:
        return Office(), []
    if not isinstance(data, dict):
        line, col = doc.where(())
        return Office(), [Problem(str(path), _("expected fields such as issuer: and signer:"),
                                  line, col)]
    problems: list[Problem] = []

    def wrong(loc: tuple[str | int, ...], message: str) -> None:
        line, col = doc.where(loc)
        problems.append(Problem(str(path), message, line, col, field=str(loc[0])))

    return Office(**fields_of(data, wrong)), problems


def fields_of(data: dict[Any, Any], wrong: Any) -> dict[str, Any]:
    """The letterhead's fields a mapping read from YAML gives, each checked; `wrong(loc,
    message)` told of each one that is not right (`loc` its key, then its index)."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in TEXT_FIELDS:
            if value is None:
                continue
            if not isinstance(value, str):
                wrong((key,), _("expected one line of text"))
            elif "\n" in value.strip() or len(value) > MAX_TEXT:
                wrong((key,), _("expected one line of at most {n} characters").format(
                    n=MAX_TEXT))
            else:
                values[key] = value.strip()
        elif key == "recipients":
            values[key] = _recipients(value, wrong)
        elif key == "report_periods":
            if value in CUTS:
                values[key] = value
            elif value is not None:
                wrong((key,), _("expected one of {names}").format(names=", ".join(CUTS)))
        else:
            wrong((key,), _("unknown field; the fields are {names}").format(
                names=", ".join((*TEXT_FIELDS, "recipients", "report_periods"))))
    return values


def _recipients(value: Any, wrong: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        wrong(("recipients",), _("expected a list, one recipient a line (- ...)"))
        return ()
    if len(value) > MAX_RECIPIENTS:
        wrong(("recipients",), _("more than {n} recipients").format(n=MAX_RECIPIENTS))
        return ()
    found = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or "\n" in item.strip() or len(item) > MAX_TEXT:
            wrong(("recipients", i), _("expected one line of at most {n} characters").format(
                n=MAX_TEXT))
        elif item.strip():
            found.append(item.strip())
    return tuple(found)


def _decoded(path: Path, raw: bytes) -> str:
    return unicodedata.normalize("NFC", decode(path, raw))


def with_options(office: Office, number: str | None = None, dated: dt.date | None = None,
                 signer: str | None = None) -> Office:
    """The office as one report's options override it."""
    changes: dict[str, Any] = {}
    if number:
        changes["number"] = number.strip()
    if dated:
        changes["dated"] = dated
    if signer:
        changes["signer"] = signer.strip()
    return office._replace(**changes)


# --- the description every document draws: header, subject, body, blocks ---------------------


class Letter(NamedTuple):
    """What an administrative document says, in the order it says it; drawn by the DOCX,
    XLSX and HTML writers alike."""

    parent: str
    issuer: str
    number: str          # "Số: 45/BC-SNN"
    motto: tuple[str, str]
    date_line: str       # "Hải Dương, ngày … tháng … năm …"
    kind: str            # "BÁO CÁO"
    subject: str
    sentences: list[str]
    to_appendix: str     # the body's last sentence where the tables follow as an appendix
    recipients_title: str
    recipients: tuple[str, ...]
    authority: str
    title: str
    signer: str
    appendix: str        # "PHỤ LỤC"
    appendix_note: str   # "(Kèm theo Báo cáo số …/BC-SNN ngày … của …)"


def _date_line(parts: dict[str, str], day: dt.date | None, year: int) -> str:
    """"Hải Dương, ngày 30 tháng 9 năm 2019"; in English "Hải Dương, 30 September 2019", or
    "Hải Dương, … 2019" (the as-of date's year) where the day is left blank to fill in."""
    if language() == "vi":
        return _("{place}, {year}-{month}-{day}").format(**parts)
    # start-up: babel.dates, 29 ms, only for a date in English on a document
    from babel.dates import get_month_names

    when = f"{day.day} {get_month_names('wide', locale='en')[day.month]} {day.year}" if day \
        else f"{BLANK} {year}"
    return f"{parts['place']}, {when}"


def letter(doc: Report, office: Office) -> Letter:
    day = office.dated
    # The decree writes a day under 10 and the months 1 and 2 with a leading zero ("ngày 05
    # tháng 02", "ngày 30 tháng 9"); an English date is ISO.
    padded = day is not None and (day.month < 3 or language() != "vi")
    parts = {"place": office.place or BLANK, "day": f"{day.day:02d}" if day else BLANK,
             "month": (f"{day.month:02d}" if padded else str(day.month)) if day else BLANK,
             "year": str(day.year) if day else BLANK}
    number = _("No. {number}").format(number=office.number_line())
    return Letter(
        parent=office.parent.upper() or BLANK, issuer=office.issuer.upper() or BLANK,
        number=number,
        motto=(_("SOCIALIST REPUBLIC OF VIET NAM"), _("Independence - Freedom - Happiness")),
        date_line=_date_line(parts, day, doc.as_of.year),
        kind=_("REPORT"), subject=subject(doc),
        sentences=sentences(doc), to_appendix=_("The details are in the appendix attached."),
        recipients_title=_("Recipients:"), recipients=office.recipients or (BLANK,),
        authority=office.authority.upper(), title=office.title.upper() or BLANK,
        signer=office.signer or BLANK,
        appendix=_("APPENDIX"),
        appendix_note=_("(Attached to Report No. {number} dated {date} of {issuer})").format(
            number=office.number_line(), date=format_date(day) if day else BLANK,
            issuer=office.issuer or BLANK),
    )
