"""Programme set-up: defaults that fit reverse mentoring, and validation of the admin's form."""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session

from bot.domain import validation
from bot.i18n import N_
from storage import repositories as repo
from storage.models import Program, utcnow

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
    """A stable id for a topic label: 'Diversity & inclusion' -> 'diversity_inclusion'."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_label.lower()).strip("_")
    return slug[:50] or f"topic_{zlib.crc32(label.encode()):08x}"


def catalogue_from_labels(labels: list[str]) -> list[dict[str, str]]:
    seen: set[str] = set()
    catalogue = []
    for label in labels:
        identifier = topic_id(label)
        if identifier not in seen:
            seen.add(identifier)
            catalogue.append({"id": identifier, "label": label})
    return catalogue


def growth_catalogue() -> list[dict[str, str]]:
    return [{"id": "growth_" + topic_id(label), "label": label} for label in GROWTH_AREAS]


def all_topics(program: Program) -> list[dict[str, str]]:
    return list(program.topic_catalogue) + growth_catalogue()


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
    # Text that cannot be stored is the first thing to fix in its field.
    errors.update(validation.text_errors({"name": form.name, "goals": goals, "topics": topics}))
    return errors


def save_program(
    session: Session, form: ProgramForm, *, admin_id: str, program: Program | None = None
) -> Program:
    """Create the active programme or update it; callers validate first."""
    if program is None:
        program = Program(name=form.name.strip(), created_by=admin_id)
    program.name = form.name.strip()
    program.goals = [goal.strip() for goal in form.goals if goal.strip()]
    program.start_date = form.start_date
    program.end_date = form.end_date
    program.enrollment_open = form.enrollment_open
    program.checkin_cadence = form.checkin_cadence
    program.pulse_cadence = form.pulse_cadence
    program.topic_catalogue = catalogue_from_labels(
        [topic.strip() for topic in form.topics if topic.strip()]
    )
    program.mentor_capacity = form.mentor_capacity or 1
    program.anonymity_threshold = form.anonymity_threshold or 5
    program.community_channel = form.community_channel
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
        topics=[item["label"] for item in program.topic_catalogue],
        mentor_capacity=program.mentor_capacity,
        anonymity_threshold=program.anonymity_threshold,
        community_channel=program.community_channel,
    )
