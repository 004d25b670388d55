"""Messages in Vietnamese and English through gettext catalogues.

Source strings are English. `set_language` picks the catalogue once per run; `_` looks the
message up. The catalogue is read only when a message is first translated.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

DOMAIN = "ocop"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("vi", "en")

_language: str | None = None
_translation: gettext.NullTranslations | None = None


def detect_language(explicit: str | None = None) -> str:
    """`--lang`, then OCOP_LANG, then the locale (Vietnamese when it says vi), else English."""
    for value in (explicit, os.environ.get("OCOP_LANG")):
        if value:
            return value.strip().lower()[:2]
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var)
        if value:
            return "vi" if value.lower().startswith("vi") else "en"
    return "en"


def set_language(lang: str | None) -> str:
    global _language, _translation
    _language = detect_language(lang)
    if _language not in LANGUAGES:
        _language = "en"
    _translation = None
    return _language


def language() -> str:
    return _language if _language is not None else set_language(None)


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


def ngettext(singular: str, plural: str, n: int) -> str:
    return _catalogue().ngettext(singular, plural, n)
