"""Where people work and which languages they meet in: what matching must know so that it
only proposes pairs who can actually meet.

Offices are a programme setting (``settings["offices"]``, the admin's "Offices" field). When
a programme lists offices, everyone picks theirs (or "remote") at enrollment; when it lists
none, nobody is asked and a person's place is the city of their Slack time zone
("Europe/Berlin" -> "Berlin"). :func:`office_of` is the one function that decides it, so an
HR roster can take over later.

Meeting languages are the person's Slack language plus any they add at enrollment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.i18n import N_
from storage.models import Participant, Program

REMOTE = "remote"
MAX_OFFICES = 20
MAX_OFFICE_LENGTH = 60
MAX_EXTRA_LANGUAGES = 5
# Languages people can add (ISO 639-1), each named in itself so everyone finds theirs.
MEETING_LANGUAGES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "vi": "Tiếng Việt",
    "fr": "Français",
    "es": "Español",
    "it": "Italiano",
    "pt": "Português",
    "nl": "Nederlands",
    "pl": "Polski",
    "tr": "Türkçe",
    "ar": "العربية",
    "hi": "हिन्दी",
    "zh": "中文",
    "ja": "日本語",
    "ko": "한국어",
}
# Zone areas whose last part names a city (not "UTC", "Etc/GMT+5", ...).
_CITY_AREAS = ("Africa", "America", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")


def clean_offices(lines: Iterable[str]) -> list[str]:
    """The offices as the admin typed them: trimmed, no blanks, no repeats, and without
    "remote", which every programme offers anyway."""
    offices: list[str] = []
    seen: set[str] = set()
    for line in lines:
        office = line.strip()
        key = office.casefold()
        if office and key != REMOTE and key not in seen:
            seen.add(key)
            offices.append(office)
    return offices


def offices_error(lines: Iterable[str]) -> str | None:
    """Why the admin's office list cannot be saved (an English msgid), or None."""
    offices = clean_offices(lines)
    if len(offices) > MAX_OFFICES:
        return N_("Twenty offices at most.")
    if any(len(office) > MAX_OFFICE_LENGTH for office in offices):
        return N_("Keep each office under 60 characters.")
    return None


def offices_of(program: Program | None) -> list[str]:
    """The programme's offices; empty when it lists none."""
    if program is None:
        return []
    raw = program.settings.get("offices") or []
    return clean_offices(item for item in raw if isinstance(item, str))


@dataclass(frozen=True)
class Place:
    """Where someone works, as matching sees it."""

    name: str | None  # the office or city; None: remote or unknown (never in person)
    source: str  # "office" | "remote" | "timezone" | "unknown"


def timezone_city(timezone: str | None) -> str | None:
    """The city a zone is named after: "America/New_York" -> "New York"; None for "UTC"."""
    area, _, rest = (timezone or "").partition("/")
    if area not in _CITY_AREAS or not rest:
        return None
    return rest.rsplit("/", 1)[-1].replace("_", " ")


def office_of(participant: Participant, program: Program | None) -> Place:
    """Where the person works: the office they picked, "remote", or, when they were never
    asked, their time zone's city (only when it names one of the programme's offices, if the
    programme lists offices). A roster of offices from HR would plug in here."""
    office = (participant.office or "").strip()
    if office.casefold() == REMOTE:
        return Place(None, "remote")
    if office:
        return Place(office, "office")
    city = timezone_city(participant.timezone)
    offices = offices_of(program)
    if city is not None and offices:
        city = next((o for o in offices if o.casefold() == city.casefold()), None)
    if city is None:
        return Place(None, "unknown")
    return Place(city, "timezone")


def office_choice_error(office: str | None, program: Program) -> str | None:
    """Why an enrollment's office answer is not acceptable (an English msgid), or None."""
    offices = offices_of(program)
    if office is None:
        return N_("Pick where you work.") if offices else None
    if office != REMOTE and office not in offices:
        return N_("Pick one of the options.")
    return None


def meeting_languages(participant: Participant) -> list[str]:
    """The languages the person meets in: their Slack language first, then those they added."""
    return list(dict.fromkeys([participant.locale, *participant.languages]))
