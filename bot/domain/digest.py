"""The monthly community digest: what the programme's pairs did in the month that ended.

A run at any moment of a month reports the previous calendar month (in the programme's time
zone) and is posted once per month under `recognition.digest_key(program, "YYYY-MM")`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlmodel import Session

from bot import clock
from bot.domain import milestones as ms
from storage import repositories as repo
from storage.models import Pair, Participant, Program, ShoutOut, SuccessStory


@dataclass(frozen=True)
class Period:
    name: str  # "2027-02", as check-in cycles name their periods
    first_day: date
    start: datetime  # UTC bounds of the month in the programme's zone
    end: datetime


def period_of(first_day: date, timezone: str | None) -> Period:
    """The calendar month starting on `first_day`, bounded in the programme's time zone."""
    zone = clock.zone(timezone)
    following = (
        first_day.replace(year=first_day.year + 1, month=1)
        if first_day.month == 12
        else first_day.replace(month=first_day.month + 1)
    )

    def bound(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

    return Period(f"{first_day:%Y-%m}", first_day, bound(first_day), bound(following))


def period_before(at: datetime, timezone: str | None) -> Period:
    """The calendar month before the one `at` falls in, in the programme's time zone."""
    local = at.astimezone(clock.zone(timezone)).date()
    this_month = local.replace(day=1)
    first = (
        this_month.replace(year=this_month.year - 1, month=12)
        if this_month.month == 1
        else this_month.replace(month=this_month.month - 1)
    )
    return period_of(first, timezone)


@dataclass(frozen=True)
class MilestoneLine:
    kind: str
    names: tuple[str, str]  # mentor, mentee (both consented to be named)


@dataclass
class Digest:
    program: Program
    period: Period
    meetings: int = 0
    goals_achieved: int = 0
    milestones: int = 0
    shared_milestones: list[MilestoneLine] = field(default_factory=list)
    shoutouts: list[ShoutOut] = field(default_factory=list)
    story: SuccessStory | None = None
    story_names: tuple[str, str] | None = None

    @property
    def nothing_to_report(self) -> bool:
        """No meeting, goal, milestone, shout-out or story: not worth a post in the channel."""
        return not (
            self.meetings
            or self.goals_achieved
            or self.milestones
            or self.shoutouts
            or self.story is not None
        )


def _consented(person: Participant | None) -> bool:
    return bool(person and person.shoutout_consent and person.left_at is None)


def _pair_people(session: Session, pair_id: int) -> tuple[Participant | None, Participant | None]:
    pair = session.get(Pair, pair_id)
    if pair is None:
        return None, None
    people = repo.participants_by_ids(session, [pair.mentor_id, pair.mentee_id])
    return people.get(pair.mentor_id), people.get(pair.mentee_id)


def collect(session: Session, program: Program, at: datetime) -> Digest:
    """The figures of the month before `at`; names only of people who both consented."""
    return collect_month(session, program, period_before(at, program.timezone))


def collect_month(session: Session, program: Program, period: Period) -> Digest:
    """The month's figures from storage; names only of people who both consented."""
    program_id = program.id or 0
    digest = Digest(program, period)
    digest.meetings = repo.meetings_in_period(session, program_id, period.name)
    digest.goals_achieved = repo.goals_achieved_between(
        session, program_id, period.start, period.end
    )
    reached = repo.milestones_between(session, program_id, period.start, period.end)
    digest.milestones = len(reached)
    for milestone in reached:
        mentor, mentee = _pair_people(session, milestone.pair_id)
        if mentor and mentee and _consented(mentor) and _consented(mentee):
            digest.shared_milestones.append(
                MilestoneLine(
                    ms.base_kind(milestone.kind), (mentor.slack_user_id, mentee.slack_user_id)
                )
            )
    digest.shoutouts = list(repo.shoutouts_between(session, program_id, period.start, period.end))
    story = repo.story_to_publish(session, program_id)
    if story is not None:
        mentor, mentee = _pair_people(session, story.pair_id)
        if mentor and mentee:
            digest.story = story
            digest.story_names = (mentor.slack_user_id, mentee.slack_user_id)
    return digest


def last_month_quiet(session: Session, program: Program, at: datetime) -> bool:
    """Whether the programme's last month is over and has nothing to report, so its last
    digest is settled without a post (the programme may then end without waiting for one)."""
    if program.end_date is None:
        return False
    month = period_of(program.end_date.replace(day=1), program.timezone)
    return at >= month.end and collect_month(session, program, month).nothing_to_report
