"""Programme set-up: defaults that fit reverse mentoring, and validation of the admin's form."""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot import clock
from bot.domain import places, validation
from bot.i18n import N_
from storage import repositories as repo
from storage.models import CycleStatus, Program, ProgramStatus, utcnow

DEFAULT_TOPICS: tuple[str, ...] = (
    N_("AI tools"),
    N_("Social media"),
    N_("Digital collaboration"),
    N_("Data literacy"),
    N_("Cybersecurity hygiene"),
    N_("New ways of working"),
    N_("Gen Z perspectives"),
    N_("Diversity & inclusion"),
    N_("Sustainability"),
)
# What leaders can give back: mentors pick these as development areas (mutual learning).
GROWTH_AREAS: tuple[str, ...] = (
    N_("Strategic thinking"),
    N_("Leading teams"),
    N_("Stakeholder management"),
    N_("Career planning"),
    N_("Public speaking"),
    N_("Business acumen"),
)
DEFAULT_GOALS: tuple[str, ...] = (
    N_("80% of leaders complete 6 sessions with their mentor"),
    N_("Leaders rate their digital confidence 1 point higher after 6 months"),
)
ENROLLMENT_CHOICES = ("open", "closed")
CHECKIN_CADENCES = ("biweekly", "monthly", "quarterly")
PULSE_CADENCES = ("monthly", "quarterly", "off")
MAX_GOALS = 3
MAX_TOPICS = 60
MAX_TOPIC_LENGTH = 60
MAX_GOAL_LENGTH = 300
MIN_ANONYMITY_THRESHOLD = 3  # below three, an answer can be traced by elimination


def topic_id(label: str) -> str:
    """The id a new topic gets once: 'Diversity & inclusion' -> 'diversity_inclusion'.

    Also the matching key of a label (labels with the same slug are the same topic). An id is
    never recomputed: renaming a topic keeps its id (see `merge_catalogue`).
    """
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_label.lower()).strip("_")
    return slug[:50] or f"topic_{zlib.crc32(label.encode()):08x}"


def is_archived(topic: dict[str, Any]) -> bool:
    return bool(topic.get("archived"))


def _clean_labels(labels: list[str]) -> list[str]:
    """Stripped, non-empty, one per topic (the first spelling wins)."""
    seen: set[str] = set()
    clean = []
    for label in (label.strip() for label in labels):
        if label and topic_id(label) not in seen:
            seen.add(topic_id(label))
            clean.append(label)
    return clean


def _new_id(label: str, used: set[str]) -> str:
    base = topic_id(label)
    candidate, n = base, 1
    while candidate in used:
        n += 1
        candidate = f"{base}_{n}"
    used.add(candidate)
    return candidate


def merge_catalogue(current: list[dict[str, Any]], labels: list[str]) -> list[dict[str, Any]]:
    """The catalogue after the admin submits `labels` (one per line); ids never change.

    A line with the label of an existing topic (active or archived) keeps its id. A changed
    line at the same position as an active topic whose label is gone is a rename: same id,
    new label. Other lines are new topics with new ids. Topics no longer listed are archived:
    kept for everyone's history, hidden from the enrollment form.
    """
    entries = [dict(topic) for topic in current]
    active = [topic for topic in entries if not is_archived(topic)]
    by_key: dict[str, dict[str, Any]] = {}
    for topic in reversed(entries):  # the earliest entry wins a shared key, an active one first
        by_key[topic_id(topic["label"])] = topic
    for topic in active:
        by_key[topic_id(topic["label"])] = topic
    lines = _clean_labels(labels)
    chosen: list[dict[str, Any] | None] = [None] * len(lines)
    taken: set[str] = set()
    for i, label in enumerate(lines):
        match = by_key.get(topic_id(label))
        if match is not None and match["id"] not in taken:
            chosen[i] = match
            taken.add(match["id"])
    for i in range(len(lines)):
        if chosen[i] is None and i < len(active) and active[i]["id"] not in taken:
            chosen[i] = active[i]
            taken.add(active[i]["id"])
    used = {topic["id"] for topic in entries} | {topic["id"] for topic in growth_catalogue()}
    result: list[dict[str, Any]] = []
    for label, match in zip(lines, chosen, strict=True):
        identifier = match["id"] if match is not None else _new_id(label, used)
        result.append({"id": identifier, "label": label})
    archived = [{**topic, "archived": True} for topic in entries if topic["id"] not in taken]
    return result + archived


def catalogue_from_labels(labels: list[str]) -> list[dict[str, Any]]:
    """A first catalogue (no earlier topics to keep ids of)."""
    return merge_catalogue([], labels)


def growth_catalogue() -> list[dict[str, Any]]:
    return [{"id": "growth_" + topic_id(label), "label": label} for label in GROWTH_AREAS]


def offered_topics(program: Program) -> list[dict[str, Any]]:
    """The programme topics people can pick now (archived ones are left out)."""
    return [topic for topic in program.topic_catalogue if not is_archived(topic)]


def enrollment_choices(program: Program) -> list[dict[str, Any]]:
    """Every topic the enrollment form offers: programme topics and growth areas."""
    return offered_topics(program) + growth_catalogue()


def all_topics(program: Program) -> list[dict[str, Any]]:
    """Every topic anyone may hold, archived ones included (for labels and history)."""
    return list(program.topic_catalogue) + growth_catalogue()


def valid_timezone(name: str) -> bool:
    """True for an IANA zone name such as 'Europe/Berlin'."""
    try:
        ZoneInfo(name)
    except (KeyError, ValueError):
        return False
    return True


def program_today(program: Program) -> date:
    """Today in the programme's timezone: the day its dates are compared with."""
    return clock.today_in(program.timezone)


def is_over(program: Program, at: datetime) -> bool:
    """Past the programme's last day, in its own zone: the journey stops (no check-ins, nudges
    or match checks); the final survey, completions and the last digest still go out."""
    if program.end_date is None:
        return False
    return at.astimezone(clock.zone(program.timezone)).date() > program.end_date


def end_if_done(session: Session, program: Program, at: datetime, *, last_digest: bool) -> bool:
    """Moves a programme that is over to `ended` once its surveys have closed and its last
    digest is queued (`last_digest`; also true without a channel). True when it ended now;
    the caller cancels what is still pending of its journey."""
    if program.status != ProgramStatus.ACTIVE or not is_over(program, at) or not last_digest:
        return False
    rounds = repo.pulse_rounds(session, program.id or 0)
    if any(r.status == CycleStatus.OPEN for r in rounds):
        return False
    return repo.transition(session, program, ProgramStatus.ACTIVE, status=ProgramStatus.ENDED)


@dataclass
class ProgramForm:
    name: str
    goals: list[str]
    start_date: date | None
    end_date: date | None
    enrollment_open: bool = True
    checkin_cadence: str = "monthly"
    pulse_cadence: str = "quarterly"
    topics: list[str] = field(default_factory=lambda: list(DEFAULT_TOPICS))
    mentor_capacity: int | None = 1
    anonymity_threshold: int | None = 5
    community_channel: str | None = None
    offices: list[str] = field(default_factory=list)  # empty: places go by time zone city
    # Shown with the dates; changed only through save_program(timezone=...).
    timezone: str = "UTC"
    # The modal's raw "open"/"closed" value, kept so validation can refuse anything else; when
    # given it decides enrollment_open. None: the form was built in code, not read from Slack.
    enrollment: str | None = None

    def __post_init__(self) -> None:
        if self.enrollment is not None:
            self.enrollment_open = self.enrollment == "open"


def validate_program(form: ProgramForm) -> dict[str, str]:
    """Field -> English message (translated by the view); empty when the form is valid."""
    errors: dict[str, str] = {}
    if not form.name.strip():
        errors["name"] = N_("Give the programme a name.")
    elif len(form.name) > 150:
        errors["name"] = N_("Keep the name under 150 characters.")
    goals = [goal.strip() for goal in form.goals]
    if not goals or not all(goals):
        errors["goals"] = N_("Add at least one goal, and no empty ones.")
    elif len(goals) > MAX_GOALS:
        errors["goals"] = N_("Three goals at most: clear goals beat many goals.")
    elif any(len(goal) > MAX_GOAL_LENGTH for goal in goals):
        errors["goals"] = N_("Keep each goal under 300 characters.")
    if form.start_date is None:
        errors["start_date"] = N_("Pick a start date.")
    if form.end_date is None:
        errors["end_date"] = N_("Pick an end date.")
    errors.update(validation.program_dates_errors(form.start_date, form.end_date))
    if form.enrollment is not None and form.enrollment not in ENROLLMENT_CHOICES:
        errors["enrollment"] = N_("Choose whether enrollment is open or closed.")
    if form.checkin_cadence not in CHECKIN_CADENCES:
        errors["checkin_cadence"] = N_("Pick a check-in cadence.")
    if form.pulse_cadence not in PULSE_CADENCES:
        errors["pulse_cadence"] = N_("Pick a pulse-survey cadence.")
    topics = [topic.strip() for topic in form.topics if topic.strip()]
    if not topics:
        errors["topics"] = N_("List at least one topic, one per line.")
    elif len(topics) > MAX_TOPICS:
        errors["topics"] = N_("Sixty topics at most.")
    elif any(len(topic) > MAX_TOPIC_LENGTH for topic in topics):
        errors["topics"] = N_("Keep each topic under 60 characters.")
    if form.mentor_capacity is None or not 1 <= form.mentor_capacity <= 10:
        errors["mentor_capacity"] = N_("Capacity must be a whole number from 1 to 10.")
    if form.anonymity_threshold is None or not (
        MIN_ANONYMITY_THRESHOLD <= form.anonymity_threshold <= 100
    ):
        errors["anonymity_threshold"] = N_(
            "The anonymity threshold must be a whole number from 3 to 100."
        )
    if (channel := validation.channel_error(form.community_channel)) is not None:
        errors["community_channel"] = channel
    if (offices := places.offices_error(form.offices)) is not None:
        errors["offices"] = offices
    # Text that cannot be stored is the first thing to fix in its field.
    errors.update(
        validation.text_errors(
            {"name": form.name, "goals": goals, "topics": topics, "offices": form.offices}
        )
    )
    return errors


def save_program(
    session: Session,
    form: ProgramForm,
    *,
    admin_id: str,
    program: Program | None = None,
    timezone: str | None = None,
) -> Program:
    """Create the active programme or update it; callers validate first.

    `timezone` (an IANA name) is the zone the programme's dates are interpreted in; None keeps
    the current one (UTC for a new programme). Topic ids survive renames (`merge_catalogue`).
    """
    if timezone is not None and not valid_timezone(timezone):
        raise ValueError("unknown timezone")
    if program is None:
        # One active programme at a time (a unique index holds it): a new one replaces it.
        current = repo.active_program(session)
        if current is not None:
            current.status = ProgramStatus.ARCHIVED
            repo.save(session, current)
        program = Program(name=form.name.strip(), created_by=admin_id)
    if timezone is not None:
        program.timezone = timezone
    program.name = form.name.strip()
    program.goals = [goal.strip() for goal in form.goals if goal.strip()]
    program.start_date = form.start_date
    program.end_date = form.end_date
    program.enrollment_open = form.enrollment_open
    program.checkin_cadence = form.checkin_cadence
    program.pulse_cadence = form.pulse_cadence
    program.topic_catalogue = merge_catalogue(list(program.topic_catalogue), form.topics)
    program.mentor_capacity = form.mentor_capacity or 1
    program.anonymity_threshold = form.anonymity_threshold or 5
    program.community_channel = form.community_channel
    program.settings = {**program.settings, "offices": places.clean_offices(form.offices)}
    program.updated_at = utcnow()
    return repo.save(session, program)


def form_from_program(program: Program | None, today: date) -> ProgramForm:
    """The modal's initial values: the current programme, or sensible defaults."""
    if program is None:
        return ProgramForm(
            name="",
            goals=list(DEFAULT_GOALS),
            start_date=today,
            end_date=date(today.year + (today.month + 6 > 12), (today.month + 5) % 12 + 1, 1),
        )
    return ProgramForm(
        name=program.name,
        goals=list(program.goals),
        start_date=program.start_date,
        end_date=program.end_date,
        enrollment_open=program.enrollment_open,
        checkin_cadence=program.checkin_cadence,
        pulse_cadence=program.pulse_cadence,
        topics=[item["label"] for item in offered_topics(program)],
        mentor_capacity=program.mentor_capacity,
        anonymity_threshold=program.anonymity_threshold,
        community_channel=program.community_channel,
        offices=places.offices_of(program),
        timezone=program.timezone,
    )
