"""The pair's journey: monthly check-in cycles, answers, nudges, pauses and escalation.

Pure rules over the database (no Slack): which person is owed which prompt in which cycle,
when it may reach them (a weekday inside their working hours, in their time zone), and what an
answer changes. Messages are rendered by bot.views.journey and queued by the scheduler's jobs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.clock import zone
from bot.domain import programs
from bot.domain.working_hours import next_good_time, working_hours
from bot.i18n import N_
from storage import repositories as repo
from storage.models import (
    LIVE_STATUSES,
    CheckInCycle,
    CheckInRequest,
    CheckInRequestStatus,
    Goal,
    GoalStatus,
    OutboxMessage,
    Pair,
    PairStatus,
    Participant,
    ParticipantStatus,
    Program,
    utcnow,
)

# The daily cap counts these messages (their kinds are declared in bot/domain/notices.py).
JOURNEY_KINDS = ("checkin", "nudge", "escalation")

# Programme settings (Program.settings) and their defaults; documented in the README.
DEFAULT_DAILY_CAP = 10_000
NUDGE_AFTER = timedelta(days=7)
SILENT_CYCLES = 2
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FORMATS = ("conversation", "hands_on", "real_project", "workshop")
SLOT_MINUTES = 45
SLOT_HORIZON_DAYS = 21
TIME_OF_DAY_HOURS = {"morning": (9, 12), "afternoon": (12, 17)}
PROGRESS = {"not_started": 0, "in_progress": 50, "achieved": 100}


# Time --------------------------------------------------------------------------------------


def daily_cap(program: Program) -> int:
    """Journey messages a day at most: the `daily_cap` setting, or the default when it is not
    set or cannot be used (1e400, "x", -1 …)."""
    return programs.read_daily_cap(program, DEFAULT_DAILY_CAP)


def period_of(at: datetime, timezone: str | None) -> str:
    """The cycle a moment falls in, in the programme's zone: "2027-01"."""
    local = at.astimezone(zone(timezone))
    return f"{local.year:04d}-{local.month:02d}"


def previous_period(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


def is_paused(participant: Participant, at: datetime) -> bool:
    if participant.paused_until is None:
        return False
    return at.astimezone(zone(participant.timezone)).date() < participant.paused_until


# Cycles and requests ---------------------------------------------------------------------


def cycle_for(session: Session, program: Program, period: str) -> CheckInCycle:
    """The programme's cycle for `period`, opened on first use (concurrent openers agree)."""
    found = repo.checkin_cycle(session, program.id or 0, period)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            cycle = CheckInCycle(program_id=program.id or 0, period=period)
            session.add(cycle)
            session.flush()
            return cycle
    except IntegrityError:
        found = repo.checkin_cycle(session, program.id or 0, period)
        assert found is not None
        return found


def pair_met_in(session: Session, pair_id: int, cycle_id: int) -> bool:
    return any(
        r.status == CheckInRequestStatus.MET
        for r in repo.checkin_requests_of_pair(session, pair_id, cycle_id)
    )


def suggestion_for(
    pair: Pair,
    mentor: Participant,
    mentee: Participant,
    goals: Sequence[Goal],
    previous: dict[str, Any] | None,
    cycle_number: int,
) -> dict[str, Any]:
    """A topic and a format for the next conversation, never the same as last cycle's."""
    shared = [t for t in mentor.topics_offered if t in mentee.topics_wanted]
    topics: list[dict[str, str]] = [{"goal": g.title} for g in goals if g.status == GoalStatus.OPEN]
    topics += [{"topic": t} for t in shared or mentee.topics_wanted or mentor.topics_offered]
    previous = previous or {}
    choice: dict[str, Any] = {}
    if topics:
        index = cycle_number % len(topics)
        topic = topics[index]
        if len(topics) > 1 and topic == previous.get("subject"):
            topic = topics[(index + 1) % len(topics)]
        choice["subject"] = topic
    fmt = FORMATS[cycle_number % len(FORMATS)]
    if fmt == previous.get("format"):
        fmt = FORMATS[(cycle_number + 1) % len(FORMATS)]
    choice["format"] = fmt
    return choice


@dataclass(frozen=True)
class Prompt:
    """A check-in owed to one person for one pair."""

    request: CheckInRequest
    person: Participant
    partner: Participant
    period: str


def ask_for_checkins(
    session: Session, program: Program, at: datetime, *, limit: int | None = None
) -> tuple[list[Prompt], int]:
    """Creates the missing check-in requests of the cycle `at` falls in.

    One request per person and active pair; paused people are skipped (asked once their pause
    ends, if the cycle is still running). Returns the prompts to queue (at most `limit`) and
    how many were skipped for a pause.
    """
    period = period_of(at, program.timezone)
    cycle = cycle_for(session, program, period)
    active = list(repo.pairs(session, program.id or 0, [PairStatus.ACTIVE]))
    people = repo.participants_by_ids(
        session, [p.mentor_id for p in active] + [p.mentee_id for p in active]
    )
    asked = repo.requested_keys(session, cycle.id or 0)
    goals = _goals_by_pair(session, [p.id or 0 for p in active])
    last = repo.last_suggestions(session, [p.id or 0 for p in active], cycle.id or 0)
    cycle_number = _months_since_epoch(period)
    prompts: list[Prompt] = []
    paused = 0
    for pair in sorted(active, key=lambda p: p.id or 0):
        mentor, mentee = people[pair.mentor_id], people[pair.mentee_id]
        suggestion = suggestion_for(
            pair, mentor, mentee, goals.get(pair.id or 0, []), last.get(pair.id or 0), cycle_number
        )
        for person, partner in ((mentor, mentee), (mentee, mentor)):
            if (pair.id, person.id) in asked:
                continue
            if is_paused(person, at):
                paused += 1
                continue
            if limit is not None and len(prompts) >= limit:
                break
            request = CheckInRequest(
                cycle_id=cycle.id or 0,
                pair_id=pair.id or 0,
                participant_id=person.id or 0,
                suggestion=suggestion,
                asked_at=at,
            )
            session.add(request)
            prompts.append(Prompt(request, person, partner, period))
    session.flush()  # the prompts' buttons carry their request ids
    return prompts, paused


def _months_since_epoch(period: str) -> int:
    year, month = (int(part) for part in period.split("-"))
    return year * 12 + month


def _goals_by_pair(session: Session, pair_ids: list[int]) -> dict[int, list[Goal]]:
    found: dict[int, list[Goal]] = {}
    for goal in repo.goals_of_pairs(session, pair_ids):
        found.setdefault(goal.pair_id, []).append(goal)
    return found


@dataclass(frozen=True)
class Nudge:
    request: CheckInRequest
    person: Participant
    partner: Participant
    period: str
    week: str


def week_of(at: datetime, timezone: str | None) -> str:
    year, week, _day = at.astimezone(zone(timezone)).isocalendar()
    return f"{year}-W{week:02d}"


def nudges_due(session: Session, program: Program, at: datetime) -> list[Nudge]:
    """One nudge per person (at most one a week), for a pair that has not met this cycle.

    Only people asked at least a week ago, who neither snoozed this month nor are paused;
    the first such pair of a person (a mentor of two mentees hears of one a week).
    """
    cycle = repo.checkin_cycle(session, program.id or 0, period_of(at, program.timezone))
    if cycle is None:
        return []
    requests = repo.checkin_requests_of_cycle(session, cycle.id or 0)
    met = {r.pair_id for r in requests if r.status == CheckInRequestStatus.MET}
    pairs = {p.id: p for p in repo.pairs(session, program.id or 0, [PairStatus.ACTIVE])}
    people = repo.participants_by_ids(
        session, {r.participant_id for r in requests} | _members(pairs.values())
    )
    hours = working_hours(program)
    chosen: dict[int, Nudge] = {}
    for request in sorted(requests, key=lambda r: r.id or 0):
        pair = pairs.get(request.pair_id)
        if (
            pair is None
            or request.pair_id in met
            or request.participant_id in chosen
            or request.status == CheckInRequestStatus.SNOOZED
            or request.asked_at > at - NUDGE_AFTER
        ):
            continue
        person = people[request.participant_id]
        if is_paused(person, at):
            continue
        partner_id = pair.mentee_id if pair.mentor_id == person.id else pair.mentor_id
        when = next_good_time(at, person.timezone, hours)
        chosen[person.id or 0] = Nudge(
            request,
            person,
            people[partner_id],
            cycle.period,
            week_of(when, person.timezone),
        )
    return list(chosen.values())


def _members(pairs: Iterable[Pair]) -> set[int]:
    return {pid for p in pairs for pid in (p.mentor_id, p.mentee_id)}


@dataclass(frozen=True)
class Silent:
    """A pair with no meeting logged in the last cycles: the admins should hear of it."""

    pair: Pair
    mentor: Participant
    mentee: Participant
    periods: list[str]


def silent_pairs(session: Session, program: Program, period: str) -> list[Silent]:
    """Active pairs asked in each of the SILENT_CYCLES cycles before `period` and met in none."""
    periods: list[str] = []
    current = period
    for _n in range(SILENT_CYCLES):
        current = previous_period(current)
        periods.append(current)
    cycles = [repo.checkin_cycle(session, program.id or 0, p) for p in periods]
    if any(c is None for c in cycles):
        return []
    asked: list[set[int]] = []
    met: set[int] = set()
    for cycle in cycles:
        assert cycle is not None
        requests = repo.checkin_requests_of_cycle(session, cycle.id or 0)
        asked.append({r.pair_id for r in requests})
        met |= {r.pair_id for r in requests if r.status == CheckInRequestStatus.MET}
    silent_ids = set.intersection(*asked) - met
    pairs = [
        p
        for p in repo.pairs(session, program.id or 0, [PairStatus.ACTIVE])
        if p.id in silent_ids and not _met_since(p, cycles[-1])
    ]
    people = repo.participants_by_ids(session, _members(pairs))
    return [
        Silent(p, people[p.mentor_id], people[p.mentee_id], list(reversed(periods)))
        for p in sorted(pairs, key=lambda p: p.id or 0)
    ]


def _met_since(pair: Pair, cycle: CheckInCycle | None) -> bool:
    return bool(cycle and pair.last_met_at and pair.last_met_at >= cycle.opens_at)


def sent_today(session: Session, program: Program, at: datetime) -> int:
    """Journey messages queued in the whole workspace, every programme's, since the start of
    this UTC day: the daily cap is the workspace's, shared by its programmes."""
    start = datetime.combine(at.date(), time(0), tzinfo=at.tzinfo)
    return int(
        session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                col(OutboxMessage.kind).in_(JOURNEY_KINDS),
                col(OutboxMessage.created_at) >= start,
            )
        ).one()
    )


# Answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Meeting:
    """What a "Yes, we met" answer says; `progress` maps goal id -> PROGRESS key."""

    met_on: date
    duration_minutes: int
    topics: str
    learned: str
    taught: str
    rating: int
    notes: str
    progress: dict[int, str]


DURATIONS = (15, 30, 45, 60, 90, 120)


def validate_meeting(meeting: Meeting, today: date) -> dict[str, str]:
    """Field -> English message; empty when valid."""
    errors: dict[str, str] = {}
    if meeting.met_on > today:
        errors["met_on"] = N_("Pick a day that has already happened.")
    elif meeting.met_on < today - timedelta(days=120):
        errors["met_on"] = N_("Pick a day in the last four months.")
    if meeting.duration_minutes not in DURATIONS:
        errors["duration"] = N_("Pick one of the options.")
    if not 1 <= meeting.rating <= 5:
        errors["rating"] = N_("Pick one of the options.")
    return errors


PAUSE_OFF = frozenset({"off", "resume", "stop"})
PAUSE_HOW = N_("Say until when, e.g. `/mentoring pause 2027-02-01`, or `/mentoring pause off`.")
PAUSE_AFTER_TODAY = N_("Pick a day after today: no check-ins or reminders before that day.")
PAUSE_BEYOND_END = N_(
    "The programme ends on {end}: pick a day before then, or use `/mentoring leave` to leave."
)


@dataclass(frozen=True)
class PauseChoice:
    """What `/mentoring pause …` asks for: a day (None: resume), or why it cannot be done."""

    until: date | None = None
    error: str | None = None  # an English msgid; `end` fills its placeholder
    end: date | None = None


def choose_pause(text: str, today: date, program_end: date | None) -> PauseChoice:
    """`off` resumes; a day must lie after `today` (the person's own) and not after the
    programme's last day."""
    arg = text.strip().lower()
    if arg in PAUSE_OFF:
        return PauseChoice()
    try:
        until = date.fromisoformat(arg)
    except ValueError:
        return PauseChoice(error=PAUSE_HOW)
    if until <= today:
        return PauseChoice(error=PAUSE_AFTER_TODAY)
    if program_end is not None and until > program_end:
        return PauseChoice(error=PAUSE_BEYOND_END, end=program_end)
    return PauseChoice(until=until)


def validate_goal_targets(targets: Sequence[date | None], today: date) -> dict[str, str]:
    """target_1.. -> English message for a goal's target date in the past."""
    return {
        f"target_{index}": N_("Pick a day in the future.")
        for index, target in enumerate(targets, start=1)
        if target is not None and target <= today
    }


PROMPT_PAIR_ENDED = N_(
    "This pair has ended, so this check-in is closed and nothing was recorded. "
    "Thank you for the time you spent together!"
)
PROMPT_LEFT = N_("You have left the programme, so this check-in is closed.")
PROMPT_PROGRAM_ENDED = N_(
    "The programme has ended, so this check-in is closed and nothing was recorded."
)


def prompt_closed(session: Session, request: CheckInRequest, at: datetime) -> str | None:
    """Why an answer to this check-in can no longer be taken (an English msgid), or None: an
    old prompt clicked after its pair ended, its person left or its programme ended."""
    person = session.get(Participant, request.participant_id)
    if person is None or person.status == ParticipantStatus.LEFT or person.left_at is not None:
        return PROMPT_LEFT
    program = session.get(Program, person.program_id)
    if program is None or program.status not in LIVE_STATUSES or programs.is_over(program, at):
        return PROMPT_PROGRAM_ENDED
    pair = session.get(Pair, request.pair_id)
    if pair is None or pair.status != PairStatus.ACTIVE:
        return PROMPT_PAIR_ENDED
    return None


def request_of_member(session: Session, request_id: int, user_id: str) -> CheckInRequest | None:
    """The request, only when `user_id` is the person it was sent to."""
    request = session.get(CheckInRequest, request_id)
    if request is None:
        return None
    person = session.get(Participant, request.participant_id)
    return request if person is not None and person.slack_user_id == user_id else None


def record_meeting(session: Session, request: CheckInRequest, meeting: Meeting) -> None:
    """Logs the meeting on the prompt's cycle; answering again updates the same row."""
    pair = session.get(Pair, request.pair_id)
    assert pair is not None
    repo.lock(session, pair)  # answers for one pair, one at a time
    request.status = CheckInRequestStatus.MET
    request.answered_at = utcnow()
    request.met_on = meeting.met_on
    request.duration_minutes = meeting.duration_minutes
    request.topics_covered = meeting.topics[:1000] or None
    request.learned = meeting.learned[:2000] or None
    request.taught = meeting.taught[:2000] or None
    request.rating = meeting.rating
    request.notes = meeting.notes[:3000] or None
    session.add(request)
    met_at = datetime.combine(meeting.met_on, time(12), tzinfo=utcnow().tzinfo)
    if pair.last_met_at is None or pair.last_met_at < met_at:
        pair.last_met_at = met_at
        session.add(pair)
    goals = {g.id: g for g in repo.goals_of_pair(session, pair.id or 0)}
    for goal_id, key in meeting.progress.items():
        goal = goals.get(goal_id)
        if goal is None or key not in PROGRESS:
            continue
        goal.progress = PROGRESS[key]
        goal.status = GoalStatus.DONE if key == "achieved" else GoalStatus.OPEN
        goal.updated_at = utcnow()
        session.add(goal)
    repo.add_pair_event(session, pair.id or 0, "met", None, cycle_id=request.cycle_id)


def answer(session: Session, request: CheckInRequest, status: str) -> None:
    """ "Not yet" or "snooze this month"; a meeting already logged is never undone by it."""
    if request.status == CheckInRequestStatus.MET:
        return
    request.status = status
    request.answered_at = utcnow()
    session.add(request)


@dataclass(frozen=True)
class PairProgress:
    """One of a person's active pairs, as `/mentoring status` and App Home show it."""

    partner_user_id: str
    goals: list[Goal]
    meetings: int


def progress_of(session: Session, participant: Participant) -> list[PairProgress]:
    rows: list[PairProgress] = []
    for pair in repo.pairs_of(session, participant.id or 0, [PairStatus.ACTIVE]):
        partner_id = pair.mentee_id if pair.mentor_id == participant.id else pair.mentor_id
        partner = repo.participants_by_ids(session, [partner_id]).get(partner_id)
        rows.append(
            PairProgress(
                partner.slack_user_id if partner else "",
                list(repo.goals_of_pair(session, pair.id or 0)),
                repo.meetings_of_pair(session, pair.id or 0),
            )
        )
    return rows


def next_period(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{year + 1:04d}-01" if month == 12 else f"{year:04d}-{month + 1:02d}"


def progress_key(goal: Goal) -> str:
    if goal.status == GoalStatus.DONE or goal.progress >= 100:
        return "achieved"
    return "in_progress" if goal.progress > 0 else "not_started"


# Helping a pair meet: three slots inside both people's hours --------------------------------


def _allowed_hours(person: Participant, hours: tuple[int, int]) -> tuple[int, int]:
    start, end = hours
    preferred = TIME_OF_DAY_HOURS.get(person.time_of_day or "")
    if preferred:
        start, end = max(start, preferred[0]), min(end, preferred[1])
    return (start, end) if start < end else hours


def _fits(person: Participant, moment: datetime, hours: tuple[int, int], days: bool) -> bool:
    start, end = _allowed_hours(person, hours)
    tz = zone(person.timezone)
    local_start = moment.astimezone(tz)
    local_end = (moment + timedelta(minutes=SLOT_MINUTES)).astimezone(tz)
    if local_start.weekday() >= 5 or local_start.date() != local_end.date():
        return False
    if (
        days
        and person.available_days
        and WEEKDAY_NAMES[local_start.weekday()] not in person.available_days
    ):
        return False
    begins = local_start.hour * 60 + local_start.minute
    finishes = local_end.hour * 60 + local_end.minute
    return begins >= start * 60 and finishes <= end * 60


def _meeting_slots(
    first: Participant, second: Participant, after: datetime, hours: tuple[int, int], count: int
) -> tuple[list[datetime], bool]:
    """`count` start times (UTC) from tomorrow on, inside both people's working hours and
    preferred days and times, on different days; preferences are relaxed if none fit. Also
    says whether they had to be relaxed."""
    begin = (after + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    found: list[datetime] = []
    for strict in (True, False):
        found = []
        days_used: set[date] = set()
        moment = begin
        while moment < begin + timedelta(days=SLOT_HORIZON_DAYS) and len(found) < count:
            if (
                moment.date() not in days_used
                and _fits(first, moment, hours, strict)
                and _fits(second, moment, hours, strict)
            ):
                found.append(moment)
                days_used.add(moment.date())
            moment += timedelta(minutes=30)
        if len(found) == count:
            return found, not strict
    return found, True


# Why no time fits both: their working days never overlap on a weekday.
HOURS_APART = "hours_apart"


@dataclass(frozen=True)
class NearTime:
    """A time inside one person's working day, as close as it gets to the other's."""

    start: datetime
    inside: str  # "me" | "partner": whose working hours it lies in
    outside_minutes: int  # how far it reaches outside the other's working hours


@dataclass(frozen=True)
class MeetingOptions:
    """What "not yet" can offer: times inside both people's hours, or why there are none
    and the nearest times inside one person's hours."""

    slots: list[datetime]
    relaxed: bool = False  # the slots ignore preferred days or times (none fitted them)
    obstacle: str | None = None
    near: list[NearTime] = field(default_factory=list)


def _minutes_outside(person: Participant, moment: datetime, hours: tuple[int, int]) -> int | None:
    """How far a meeting at `moment` reaches outside the person's working hours (0: inside);
    None when it falls on their weekend or across their midnight."""
    tz = zone(person.timezone)
    local_start = moment.astimezone(tz)
    local_end = (moment + timedelta(minutes=SLOT_MINUTES)).astimezone(tz)
    if local_start.weekday() >= 5 or local_start.date() != local_end.date():
        return None
    begins = local_start.hour * 60 + local_start.minute
    finishes = local_end.hour * 60 + local_end.minute
    return max(hours[0] * 60 - begins, 0) + max(finishes - hours[1] * 60, 0)


def nearest_times(
    person: Participant,
    partner: Participant,
    after: datetime,
    hours: tuple[int, int],
    count: int = 3,
) -> list[NearTime]:
    """`count` times on different days inside one person's working hours and as close as
    possible to the other's (the closest first, then the earliest)."""
    begin = (after + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    candidates: list[NearTime] = []
    moment = begin
    while moment < begin + timedelta(days=SLOT_HORIZON_DAYS):
        mine = _minutes_outside(person, moment, hours)
        theirs = _minutes_outside(partner, moment, hours)
        if mine is not None and theirs is not None:
            if mine == 0 and theirs > 0:
                candidates.append(NearTime(moment, "me", theirs))
            elif theirs == 0 and mine > 0:
                candidates.append(NearTime(moment, "partner", mine))
        moment += timedelta(minutes=30)
    candidates.sort(key=lambda near: (near.outside_minutes, near.start))
    chosen: list[NearTime] = []
    days: set[date] = set()
    for near in candidates:
        if near.start.date() not in days:
            chosen.append(near)
            days.add(near.start.date())
        if len(chosen) == count:
            break
    return sorted(chosen, key=lambda near: near.start)


def meeting_options(
    person: Participant, partner: Participant, after: datetime, hours: tuple[int, int]
) -> MeetingOptions:
    """Three times inside both people's working hours; when none exists, why, and the nearest
    times inside one person's hours."""
    slots, relaxed = _meeting_slots(person, partner, after, hours, 3)
    if slots:
        return MeetingOptions(slots, relaxed=relaxed)
    near = nearest_times(person, partner, after, hours)
    return MeetingOptions([], obstacle=HOURS_APART, near=near)


def ical_invite(
    start: datetime, summary: str, description: str, uid: str, attendees: Sequence[str] = ()
) -> bytes:
    """An RFC 5545 calendar with one event (times in UTC, so every calendar shows them right)."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//Reverse Mentoring for Slack//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", utcnow())
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=SLOT_MINUTES))
    event.add("summary", summary)
    event.add("description", description)
    for attendee in attendees:
        event.add("attendee", attendee)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
