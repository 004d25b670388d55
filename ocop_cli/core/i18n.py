"""Messages in Vietnamese and English through gettext catalogues, and dates as each language
writes them.

Source strings are English. `set_language` picks the catalogue once per run; `_` looks the
message up. The catalogue (`locale/vi/LC_MESSAGES/ocop.mo`, built from `ocop.po` by
`python tools/i18n.py`) is read only when a message is first translated.
"""

from __future__ import annotations

import datetime as dt
import gettext
import locale
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from ocop_cli.core.errors import UsageError

DOMAIN = "ocop"
LOCALE_DIR = Path(__file__).parent.parent / "locale"
LANGUAGES = ("vi", "en")

_language: str | None = None
_translation: gettext.NullTranslations | None = None
_SEPARATORS = re.compile(r"[-_.@:]")


def _code(value: str) -> str:
    """`vi`, `vi_VN.UTF-8`, `Vietnamese_Vietnam` → `vi`; `en-US` → `en`; anything else as is."""
    head = _SEPARATORS.split(value.strip().lower(), maxsplit=1)[0]
    return {"vietnamese": "vi", "english": "en"}.get(head, head)


def _from_locale() -> str:
    """Vietnamese when the locale says so, as gettext reads it: LANGUAGE (a list, first wins)
    unless the locale is C, then LC_ALL, LC_MESSAGES, LANG; Windows keeps it elsewhere."""
    locale_name = next((os.environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG")
                        if os.environ.get(v)), "")
    preferred = os.environ.get("LANGUAGE", "").split(":")[0]
    if preferred and _code(locale_name or "x") not in ("c", "posix"):
        locale_name = preferred
    if not locale_name and sys.platform == "win32":  # pragma: no cover - Windows only
        locale_name = locale.getlocale()[0] or ""
    return "vi" if _code(locale_name) == "vi" else "en"


def detect_language(explicit: str | None = None) -> str:
    """`--lang`, then OCOP_LANG, then the locale (Vietnamese when it says vi), else English.

    An explicit value comes back as its code even when ocop does not speak it, so that the
    caller can say so."""
    for value in (explicit, os.environ.get("OCOP_LANG")):
        if value and value.strip():
            return _code(value)
    return _from_locale()


def set_language(lang: str | None, strict: bool = True) -> str:
    """Use `lang` (else OCOP_LANG, else the locale) from now on. A language ocop does not
    speak is a usage error when `strict`, English otherwise."""
    global _language, _translation
    wanted = detect_language(lang)
    if wanted not in LANGUAGES:
        if strict:
            shown = lang if lang and lang.strip() else os.environ.get("OCOP_LANG", "")
            raise UsageError(_("--lang/OCOP_LANG: {value!r} is not a language ocop speaks; "
                               "use vi or en").format(value=shown))
        wanted = "en"
    if wanted != _language:
        _language, _translation = wanted, None
    return wanted


def language_in(args: Sequence[str]) -> str | None:
    """The value of `--lang` among raw command-line arguments, read before the parser runs
    so that `--help` (acted on first) already speaks the language asked for."""
    found = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith("--lang="):
            found = arg.partition("=")[2]
    return found


def language() -> str:
    return _language if _language is not None else set_language(None, strict=False)


def _catalogue() -> gettext.NullTranslations:
    global _translation
    if _translation is None:
        lang = language()
        if lang == "en":
            _translation = gettext.NullTranslations()
        else:
            _translation = gettext.translation(
                DOMAIN, LOCALE_DIR, languages=[lang], fallback=True
            )
    return _translation


def _(message: str) -> str:
    return _catalogue().gettext(message)


def N_(message: str) -> str:
    """Mark a message for the catalogue where it is defined; translate it with `_` where used."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalogue().ngettext(singular, plural, n)  # i18n: the function itself


def format_date(day: dt.date | None) -> str:
    """A date as people write it: dd/mm/yyyy in Vietnamese, ISO (yyyy-mm-dd) in English.
    JSON and files always carry ISO; this is for what a person reads."""
    if day is None:
        return ""
    return day.strftime("%d/%m/%Y") if language() == "vi" else day.isoformat()


def format_number(value: float | int) -> str:
    """A number as people write it: 41,7 and 1.000 in Vietnamese (through Babel, read only
    when a number needs it), 41.7 and 1,000 in English."""
    if language() != "vi":
        return f"{value:,g}" if isinstance(value, float) else f"{value:,}"
    if isinstance(value, int) and -1000 < value < 1000:
        return str(value)
    # start-up: babel.numbers, 11 ms, only for Vietnamese numbers
    from babel.numbers import format_decimal

    return str(format_decimal(value, format="#,##0.###", locale="vi"))


def parse_day(text: str) -> dt.date:
    """A date as typed: 2019-09-15, or 15/09/2019 and 15/9/2019 as Vietnamese write it.
    ValueError when it is neither."""
    cleaned = text.strip()
    day, sep, rest = cleaned.partition("/")
    if sep:
        month, sep, year = rest.partition("/")
        if sep and len(year) == 4 and all(p.isdigit() for p in (day, month, year)):
            return dt.date(int(year), int(month), int(day))
        raise ValueError(cleaned)
    return dt.date.fromisoformat(cleaned)
