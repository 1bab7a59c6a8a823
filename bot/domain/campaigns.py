"""Recruiting campaigns: who a segment of the roster is, and the funnel of each campaign.

Pure rules, no Slack and no storage: the repository hands in roster entries and the ids of
people to leave out; the use case (bot/usecases/campaigns.py) queues the invitations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlmodel import Session

from bot.i18n import N_
from storage import repositories as repo
from storage.models import Role

SAMPLE_SIZE = 5
DEFAULT_REMINDER_DAYS = 7
ROLES = (Role.MENTOR.value, Role.MENTEE.value)


class RosterPerson(Protocol):
    """What a segment reads of a roster entry (storage.models.RosterEntry, or a row of it)."""

    slack_user_id: str
    department: str | None
    title: str | None
    office: str | None
    country: str | None
    hire_date: date | None
    level: int | None
    left_at: datetime | None


@dataclass(frozen=True)
class Segment:
    """The filters an admin chose; a filter left empty matches everyone."""

    department: str | None = None
    title_contains: str | None = None
    level_at_least: int | None = None
    hired_after: date | None = None
    country: str | None = None
    office: str | None = None

    def as_json(self) -> dict[str, Any]:
        """What the campaign stores (only the filters set)."""
        raw = {
            "department": self.department,
            "title_contains": self.title_contains,
            "level_at_least": self.level_at_least,
            "hired_after": self.hired_after.isoformat() if self.hired_after else None,
            "country": self.country,
            "office": self.office,
        }
        return {key: value for key, value in raw.items() if value not in (None, "")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Segment:
        hired = data.get("hired_after")
        level = data.get("level_at_least")
        return cls(
            department=data.get("department") or None,
            title_contains=data.get("title_contains") or None,
            level_at_least=level if isinstance(level, int) else None,
            hired_after=date.fromisoformat(hired) if isinstance(hired, str) else None,
            country=data.get("country") or None,
            office=data.get("office") or None,
        )


def _same(wanted: str | None, value: str | None) -> bool:
    """Roster values compared without case or surrounding spaces."""
    return wanted is None or (value or "").strip().casefold() == wanted.strip().casefold()


def matches(entry: RosterPerson, segment: Segment) -> bool:
    """Whether a roster entry is in the segment. An entry with no value for a filter that is
    set (no level, no hire date) is not in it: the admin asked for something it cannot show."""
    if not (_same(segment.department, entry.department) and _same(segment.country, entry.country)):
        return False
    if not _same(segment.office, entry.office):
        return False
    title = (entry.title or "").casefold()
    if segment.title_contains and segment.title_contains.strip().casefold() not in title:
        return False
    if segment.level_at_least is not None and (
        entry.level is None or entry.level < segment.level_at_least
    ):
        return False
    return segment.hired_after is None or (
        entry.hire_date is not None and entry.hire_date > segment.hired_after
    )


def eligible(entries: Iterable[RosterPerson], segment: Segment, excluded: set[str]) -> list[str]:
    """The Slack ids of the segment's people who may be invited, in a stable order: not left
    the roster, not in `excluded` (already in the programme, invited to it and not answered,
    or said "not for me" to any campaign)."""
    return sorted(
        entry.slack_user_id
        for entry in entries
        if entry.left_at is None and entry.slack_user_id not in excluded and matches(entry, segment)
    )


def sample(user_ids: Sequence[str], size: int = SAMPLE_SIZE) -> list[str]:
    """A few of them to show the admin (spread over the list, so not all one department)."""
    if len(user_ids) <= size:
        return list(user_ids)
    step = len(user_ids) / size
    return [user_ids[int(index * step)] for index in range(size)]


def validate(role: str | None, level: str | None) -> dict[str, str]:
    """Field -> English message; empty when the form can be sent."""
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = N_("Choose whether you invite mentors or mentees.")
    if level and not level.strip().lstrip("-").isdigit():
        errors["level_at_least"] = N_("The level is a whole number, e.g. 5.")
    return errors


@dataclass(frozen=True)
class Funnel:
    """One campaign's people: invited → joined → matched (a pair in its programme) → met."""

    campaign_id: int
    role: str
    created_at: date
    invited: int
    joined: int
    matched: int
    met: int
    declined: int


def funnels(session: Session, program_id: int) -> list[Funnel]:
    """Each campaign of the programme, oldest first (the report's figures)."""
    return [
        Funnel(
            campaign_id=row["campaign"].id or 0,
            role=row["campaign"].role,
            created_at=row["campaign"].created_at.date(),
            invited=row["invited"],
            joined=row["joined"],
            matched=row["matched"],
            met=row["met"],
            declined=row["declined"],
        )
        for row in repo.funnel_counts(session, program_id)
    ]
