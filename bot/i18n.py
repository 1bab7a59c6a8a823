"""Translations: every user-facing string goes through a Translator backed by gettext catalogs.

Source strings are English msgids in the code (`_("...")`, `N_("...")` for strings defined before
a locale is known). Catalogs live in `bot/locale/<lang>/LC_MESSAGES/messages.po` and are read with
Babel at first use, so no compile step is needed. `python scripts/i18n.py` re-extracts and updates
them; a test checks every msgid is translated in every shipped language.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from babel.support import Format

LOCALE_DIR = Path(__file__).parent / "locale"
SUPPORTED = ("en", "de", "vi")
DOMAIN = "messages"


def N_(message: str) -> str:  # noqa: N802 - gettext convention
    """Marks a string for extraction without translating it yet."""
    return message


def normalize_locale(value: str | None, default: str = "en") -> str:
    """'de-DE', 'de_AT', 'vi' -> 'de'/'vi'; anything unsupported -> default."""
    if not value:
        return default
    language = value.replace("_", "-").split("-")[0].lower()
    return language if language in SUPPORTED else default


@functools.cache
def _catalog(locale: str) -> dict[str, Any]:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    entries: dict[str, Any] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            if isinstance(message.string, tuple) and all(message.string):
                entries[message.id[0]] = message.string
        elif message.string:
            entries[message.id] = message.string
    return entries


@dataclass(frozen=True)
class Translator:
    """Callable translator for one locale: `_("Hello {name}", name=...)`."""

    locale: str

    def __call__(self, message: str, **params: Any) -> str:
        translated = _catalog(self.locale).get(message, message) if self.locale != "en" else message
        if isinstance(translated, tuple):
            translated = translated[0]
        return translated.format(**params) if params else translated

    def number(self, value: float) -> str:
        return Format(self.locale).number(value)

    def date(self, value: Any, format: str = "medium") -> str:  # noqa: A002 - Babel's name
        return Format(self.locale).date(value, format=format)


def translator(locale: str | None, default: str = "en") -> Translator:
    return Translator(normalize_locale(locale, default))


def join_list(items: list[str], _: Translator) -> str:
    """'a, b and c' in the reader's language."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return _("{items} and {last}", items=", ".join(items[:-1]), last=items[-1])
