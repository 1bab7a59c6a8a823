"""Enrollment: the expectations survey, joining, editing, leaving and erasing personal data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.delivery import outbox
from bot.domain import retention, validation
from bot.domain.erasure import erase_personal_data
from bot.domain.places import MAX_EXTRA_LANGUAGES, MEETING_LANGUAGES, office_choice_error
from bot.domain.programs import enrollment_choices
from bot.domain.subjects import pair_subject
from bot.i18n import N_
from storage import repositories as repo
from storage.models import (
    LIVE_STATUSES,
    JoinPolicy,
    Pair,
    PairStatus,
    Participant,
    ParticipantStatus,
    Program,
    Role,
    utcnow,
)

SENIORITY_BANDS = ("early_career", "professional", "senior", "manager", "executive")
MEETING_FREQUENCIES = ("weekly", "biweekly", "monthly")
MEETING_FORMATS = ("in_person", "video", "chat", "any")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
TIMES_OF_DAY = ("morning", "afternoon", "any")
MAX_TEXT = 1000
MAX_DEPARTMENT = 100
MAX_AVOID = 10


class EnrollmentClosed(Exception):
    """No programme, or its enrollment is closed."""


@dataclass(frozen=True)
class Person:
    """What Slack tells us about the person (the handler looks it up)."""

    user_id: str
    display_name: str
    locale: str
    timezone: str | None
    utc_offset_minutes: int


@dataclass
class EnrollmentForm:
    role: str | None
    department: str = ""
    seniority: str | None = None
    topics_offered: list[str] = field(default_factory=list)
    topics_wanted: list[str] = field(default_factory=list)
    development_areas: list[str] = field(default_factory=list)
    personal_goals: str = ""
    meeting_frequency: str | None = None
    meeting_format: str | None = None
    success_definition: str = ""
    available_days: list[str] = field(default_factory=list)
    time_of_day: str | None = None
    manager_user_id: str | None = None
    avoid_user_ids: list[str] = field(default_factory=list)
    shoutout_consent: bool = False
    office: str | None = None  # one of the programme's offices or "remote" (when it has offices)
    languages: list[str] = field(default_factory=list)  # besides their Slack language


def is_enrolled(participant: Participant | None) -> bool:
    """Enrolled in the programme: a row that has not left."""
    return participant is not None and participant.status != ParticipantStatus.LEFT


def may_enroll(program: Program, participant: Participant | None, *, invited: bool = True) -> bool:
    """Newcomers (and people who left) join a live programme only while its enrollment is open,
    and one for invited people only when they are invited; the enrolled may always edit their
    profile."""
    if is_enrolled(participant):
        return True
    open_to_them = program.join_policy == JoinPolicy.EVERYONE or invited
    return program.status in LIVE_STATUSES and program.enrollment_open and open_to_them


def validate_enrollment(
    form: EnrollmentForm,
    program: Program,
    user_id: str,
    user_exists: validation.UserExists | None = None,
) -> dict[str, str]:
    """Field -> English message; empty when valid.

    `user_exists` says whether a picked manager or avoided person is in the workspace (the
    handler asks the people directory); without it only the ids' shape is checked.
    """
    errors: dict[str, str] = {}
    if form.role not in (Role.MENTOR, Role.MENTEE):
        errors["role"] = N_("Choose whether you join as a mentor or as a mentee.")
    known = {topic["id"] for topic in enrollment_choices(program)}  # archived ones are not
    for name in ("topics_offered", "topics_wanted", "development_areas"):
        if any(topic not in known for topic in getattr(form, name)):
            errors[name] = N_("One of these topics is no longer offered; please pick again.")
    if form.role == Role.MENTOR and not form.topics_offered and "topics_offered" not in errors:
        errors["topics_offered"] = N_("As a mentor, pick at least one topic you can teach.")
    if form.role == Role.MENTEE and not form.topics_wanted and "topics_wanted" not in errors:
        errors["topics_wanted"] = N_("As a mentee, pick at least one topic you want to learn.")
    if len(form.department) > MAX_DEPARTMENT:
        errors["department"] = N_("Keep this under 100 characters.")
    for name in ("personal_goals", "success_definition"):
        if len(getattr(form, name)) > MAX_TEXT:
            errors[name] = N_("Keep this under 1000 characters.")
    if form.seniority is not None and form.seniority not in SENIORITY_BANDS:
        errors["seniority"] = N_("Pick one of the options.")
    if form.meeting_frequency is not None and form.meeting_frequency not in MEETING_FREQUENCIES:
        errors["meeting_frequency"] = N_("Pick one of the options.")
    if form.meeting_format is not None and form.meeting_format not in MEETING_FORMATS:
        errors["meeting_format"] = N_("Pick one of the options.")
    if any(day not in WEEKDAYS for day in form.available_days):
        errors["available_days"] = N_("Pick one of the options.")
    if form.time_of_day is not None and form.time_of_day not in TIMES_OF_DAY:
        errors["time_of_day"] = N_("Pick one of the options.")
    if (office := office_choice_error(form.office, program)) is not None:
        errors["office"] = office
    if any(language not in MEETING_LANGUAGES for language in form.languages):
        errors["languages"] = N_("Pick one of the options.")
    elif len(set(form.languages)) > MAX_EXTRA_LANGUAGES:
        errors["languages"] = N_("Five languages at most.")
    if form.manager_user_id == user_id:
        errors["manager"] = N_("That is you: pick your manager, or leave it empty.")
    elif (manager := validation.user_error(form.manager_user_id, user_exists)) is not None:
        errors["manager"] = manager
    if user_id in form.avoid_user_ids:
        errors["avoid"] = N_("You cannot avoid yourself: remove your own name.")
    elif len(form.avoid_user_ids) > MAX_AVOID:
        errors["avoid"] = N_("Ten people at most.")
    elif (avoid := validation.users_error(form.avoid_user_ids, user_exists)) is not None:
        errors["avoid"] = avoid
    # Text that cannot be stored is the first thing to fix in its field.
    errors.update(
        validation.text_errors(
            {
                "department": form.department,
                "personal_goals": form.personal_goals,
                "success_definition": form.success_definition,
            }
        )
    )
    return errors


def _apply(participant: Participant, form: EnrollmentForm, person: Person) -> None:
    participant.role = form.role or Role.MENTEE
    participant.display_name = person.display_name
    participant.department = form.department.strip() or None
    participant.seniority = form.seniority
    participant.topics_offered = list(dict.fromkeys(form.topics_offered))
    participant.topics_wanted = list(dict.fromkeys(form.topics_wanted))
    participant.development_areas = list(dict.fromkeys(form.development_areas))
    participant.personal_goals = form.personal_goals.strip() or None
    participant.meeting_frequency = form.meeting_frequency
    participant.meeting_format = form.meeting_format
    participant.success_definition = form.success_definition.strip() or None
    participant.available_days = [day for day in WEEKDAYS if day in form.available_days]
    participant.time_of_day = form.time_of_day
    participant.manager_slack_id = form.manager_user_id
    participant.avoid_slack_ids = list(dict.fromkeys(form.avoid_user_ids))
    participant.shoutout_consent = form.shoutout_consent
    participant.office = form.office
    participant.languages = [
        language for language in dict.fromkeys(form.languages) if language != person.locale
    ]
    participant.timezone = person.timezone
    participant.utc_offset_minutes = person.utc_offset_minutes
    participant.locale = person.locale
    participant.updated_at = utcnow()


@dataclass(frozen=True)
class EnrollmentResult:
    participant: Participant
    created: bool  # False: an existing profile was updated (double submit, re-join, edit)


def enroll(
    session: Session, program: Program, person: Person, form: EnrollmentForm
) -> EnrollmentResult:
    """Create the participant or update the existing one; safe against double submits."""
    existing = repo.participant_by_user(session, program.id or 0, person.user_id)
    invited = repo.is_invited(session, program.id or 0, person.user_id)
    if not may_enroll(program, existing, invited=invited):
        raise EnrollmentClosed()
    if existing is not None:
        rejoining = existing.status == ParticipantStatus.LEFT
        if existing.role != form.role and existing.status == ParticipantStatus.PAIRED:
            form.role = existing.role  # a paired person keeps their role; leave first to switch
        _apply(existing, form, person)
        if rejoining:
            existing.status = ParticipantStatus.WAITING
            existing.left_at = None
            existing.left_reason = None
            existing.training_read_at = None
            existing.enrolled_at = utcnow()
        repo.save(session, existing)
        return EnrollmentResult(existing, created=rejoining)
    participant = Participant(
        program_id=program.id or 0, slack_user_id=person.user_id, role=form.role or Role.MENTEE
    )
    _apply(participant, form, person)
    try:
        with session.begin_nested():  # a concurrent double submit hits the unique constraint
            session.add(participant)
            session.flush()
    except IntegrityError:
        existing = repo.participant_by_user(session, program.id or 0, person.user_id)
        if existing is None:
            raise
        _apply(existing, form, person)
        return EnrollmentResult(repo.save(session, existing), created=False)
    return EnrollmentResult(participant, created=True)


def mark_training_read(session: Session, participant: Participant) -> bool:
    """Records the first read; returns False when it was already recorded."""
    if participant.training_read_at is not None:
        return False
    participant.training_read_at = utcnow()
    repo.save(session, participant)
    return True


@dataclass(frozen=True)
class EndedPair:
    pair: Pair
    partner: Participant


def end_pair(
    session: Session, pair: Pair, *, reason: str, actor: str | None
) -> tuple[Participant, Participant] | None:
    """Ends an active pair; members without another active pair return to the pool.

    Returns (mentor, mentee), or None when the pair was no longer active: another click or
    request ended it first, and whoever did has told the people.
    """
    if not repo.transition(
        session,
        pair,
        PairStatus.ACTIVE,
        status=PairStatus.ENDED,
        ended_at=utcnow(),
        end_reason=reason,
    ):
        return None
    repo.add_pair_event(session, pair.id or 0, "ended", actor, reason=reason)
    outbox.cancel_pending(session, "the pair has ended", subject=pair_subject(pair.id or 0))
    members = repo.participants_by_ids(session, [pair.mentor_id, pair.mentee_id])
    for member in sorted(members.values(), key=lambda m: m.id or 0):
        # Locked, so two pairs of one mentor ending at once still see each other's end.
        if repo.lock(session, member, ParticipantStatus.PAIRED) and not repo.pairs_of(
            session, member.id or 0, [PairStatus.ACTIVE]
        ):
            repo.transition(
                session, member, ParticipantStatus.PAIRED, status=ParticipantStatus.WAITING
            )
    return members[pair.mentor_id], members[pair.mentee_id]


def leave(session: Session, participant: Participant, *, erase: bool) -> list[EndedPair] | None:
    """Leaves the programme: active pairs end (partners go back to the pool), proposals drop.

    None when the person had already left (a double submit): nothing more happens.
    """
    if not repo.transition(
        session,
        participant,
        [ParticipantStatus.WAITING, ParticipantStatus.PAIRED],
        status=ParticipantStatus.LEFT,
        left_at=utcnow(),
    ):
        return None
    outbox.cancel_pending(
        session,
        "the person left the programme",
        recipient=participant.slack_user_id,
        program_id=participant.program_id,
    )
    ended: list[EndedPair] = []
    for pair in repo.pairs_of(session, participant.id or 0, [PairStatus.ACTIVE]):
        members = end_pair(session, pair, reason="left", actor=participant.slack_user_id)
        if members is not None:
            mentor, mentee = members
            ended.append(EndedPair(pair, mentee if mentor.id == participant.id else mentor))
    repo.discard_proposed_pairs(session, reason="left", participant_id=participant.id)
    if erase:
        erase_personal_data(session, participant)
        repo.save(session, participant)
    return ended


UNREACHABLE = "unreachable"


def leave_every_programme(session: Session, user_id: str, reason: str) -> list[EndedPair]:
    """The person can no longer take part (Slack refuses their messages, their account was
    deactivated or became a guest's, the roster no longer lists them): they leave every
    programme they are in with `reason`, their active pairs end (partners go back to the
    pool) and their proposals drop. Nothing happens where they had left already."""
    ended: list[EndedPair] = []
    for participant in repo.participations_of_user(session, user_id):
        if not repo.transition(
            session,
            participant,
            [ParticipantStatus.WAITING, ParticipantStatus.PAIRED],
            status=ParticipantStatus.LEFT,
            left_at=utcnow(),
            left_reason=reason,
        ):
            continue
        for pair in repo.pairs_of(session, participant.id or 0, [PairStatus.ACTIVE]):
            members = end_pair(session, pair, reason=reason, actor=None)
            if members is not None:
                mentor, mentee = members
                ended.append(EndedPair(pair, mentee if mentor.id == participant.id else mentor))
        repo.discard_proposed_pairs(session, reason=reason, participant_id=participant.id)
    return ended


def leave_unreachable(session: Session, user_id: str) -> list[EndedPair]:
    """Slack refuses every message to the person for good (a deactivated account)."""
    return leave_every_programme(session, user_id, UNREACHABLE)


def personal_data(session: Session, participant: Participant) -> dict[str, Any]:
    """Everything stored about one person, for `/mentoring mydata`."""
    pairs = repo.pairs_of(session, participant.id or 0)
    people = repo.participants_by_ids(
        session, [p.mentor_id for p in pairs] + [p.mentee_id for p in pairs]
    )
    profile = participant.model_dump(mode="json", exclude={"id", "program_id"})
    return {
        "profile": profile,
        "pairs": [
            {
                "partner": people[
                    p.mentee_id if p.mentor_id == participant.id else p.mentor_id
                ].slack_user_id,
                "status": p.status,
                "created_at": p.created_at.isoformat(),
                "ended_at": p.ended_at.isoformat() if p.ended_at else None,
            }
            for p in pairs
            if p.status != PairStatus.DISCARDED
        ],
        "goals": [
            goal.model_dump(mode="json", exclude={"id"})
            for goal in repo.goals_of_pairs(session, [p.id or 0 for p in pairs])
        ],
        "checkins": [
            checkin.model_dump(mode="json", exclude={"id", "participant_id"})
            for checkin in repo.checkins_of(session, participant.id or 0)
        ],
        "rematch_requests": [
            request.model_dump(mode="json", exclude={"id"})
            for request in repo.rematch_requests_by(session, participant.id or 0)
        ],
        "shoutouts": [
            shoutout.message
            for shoutout in repo.shoutouts_mentioning(
                session, participant.program_id, participant.slack_user_id
            )
        ],
        **repo.recognition_of(session, participant.id or 0),
        # How long the programme keeps this (bot/domain/retention.py).
        "retention": retention.of(session.get(Program, participant.program_id)).as_setting(),
        # What HR's roster says about them (used for matching's reporting line only).
        "roster": _roster_of(session, participant.slack_user_id),
    }


def _roster_of(session: Session, user_id: str) -> dict[str, Any] | None:
    entry = repo.roster_entry(session, user_id)
    return entry.model_dump(mode="json", exclude={"id", "import_id"}) if entry else None
