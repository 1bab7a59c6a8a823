"""Translations: every user-facing string goes through a Translator backed by gettext catalogs.

Source strings are English msgids in the code (`_("...")`, `N_("...")` for strings defined before
a locale is known). Catalogs live in `bot/locale/<lang>/LC_MESSAGES/messages.po` and are read with
Babel at first use, so no compile step is needed. `python scripts/i18n.py` re-extracts and updates
them; a test checks every msgid is translated in every shipped language.

Dates, months, weekdays and numbers shown to people are formatted for the reader's locale with
Babel's CLDR data through the Translator (`_.day(d)`, `_.month(d)`, `_.decimal(x)`, ...); machine
formats (ISO dates in exports, Slack's date pickers, outbox keys) stay as they are.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import (
    format_date,
    format_skeleton,
    format_time,
    get_timezone,
    get_timezone_location,
)
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

LOCALE_DIR = Path(__file__).parent / "locale"
SUPPORTED = ("en", "de", "vi")
DOMAIN = "messages"
# Each language in its own words, for pickers and labels.
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "vi": "Tiếng Việt"}
_MONTH_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
_DAY_PERIOD = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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

    # Numbers ---------------------------------------------------------------------------

    def number(self, value: float) -> str:
        """A count or figure with the locale's grouping: 1,234 / 1.234."""
        return format_decimal(value, locale=self.locale)

    def decimal(self, value: float, digits: int = 1) -> str:
        """Always `digits` decimals: 5.0 / 5,0."""
        pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, value: float) -> str:
        """`value` on a 0-100 scale, whole: 75% / 75 %."""
        return format_percent(value / 100, locale=self.locale)

    def signed(self, value: float) -> str:
        """A whole number with its sign, as NPS is written: +12, -5, 0."""
        return format_decimal(round(value), format="+#,##0;-#,##0", locale=self.locale)

    # Dates -----------------------------------------------------------------------------

    def date(self, value: date, format: str = "medium") -> str:  # noqa: A002 - Babel's name
        return format_date(value, format=format, locale=self.locale)

    def day(self, value: date) -> str:
        """A day: Mar 4, 2027 / 04.03.2027 / 4 thg 3, 2027."""
        return format_date(value, format="medium", locale=self.locale)

    def month(self, value: date) -> str:
        """A month: March 2027 / März 2027 / tháng 3 năm 2027."""
        return format_skeleton("yMMMM", value, locale=self.locale)

    def moment(self, value: datetime) -> str:
        """A local date and time with its weekday: Thu, Mar 4, 2027, 2:30 PM /
        Do., 4. März 2027, 14:30 / 14:30 Thứ 5, 4 thg 3, 2027 (`value` in the reader's zone)."""
        day = format_skeleton("yMMMEd", value.date(), locale=self.locale)
        time = format_time(value, format="short", tzinfo=value.tzinfo, locale=self.locale)
        pattern = str(Locale.parse(self.locale).datetime_formats["medium"])
        return pattern.replace("{1}", day).replace("{0}", time)

    def period(self, value: str) -> str:
        """A stored period key for people: "2027-03" -> its month, "2027-03-04" -> its day;
        anything else as it is."""
        if match := _MONTH_PERIOD.match(value):
            return self.month(date(int(match[1]), int(match[2]), 1))
        if _DAY_PERIOD.match(value):
            return self.day(date.fromisoformat(value))
        return value


@functools.lru_cache(maxsize=512)
def zone_city(timezone: str, locale: str) -> str:
    """The city that names an IANA zone, in the reader's language (Europe/Berlin: Berlin;
    Asia/Ho_Chi_Minh in German: Ho-Chi-Minh-Stadt)."""
    try:
        return str(get_timezone_location(get_timezone(timezone), locale=locale, return_city=True))
    except (LookupError, ValueError):
        return timezone


def translator(locale: str | None, default: str = "en") -> Translator:
    return Translator(normalize_locale(locale, default))


def join_list(items: list[str], _: Translator) -> str:
    """'a, b and c' in the reader's language."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return _("{items} and {last}", items=", ".join(items[:-1]), last=items[-1])
