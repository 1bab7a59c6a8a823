"""Programme set-up: defaults that fit reverse mentoring, validation of the admin's form, and
the rules of the programme settings kept in `Program.settings` (JSON)."""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
import zlib
from collections.abc import Iterable
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlmodel import Session

from bot import clock
from bot.domain import places, retention, validation
from bot.i18n import N_, SUPPORTED
from storage import repositories as repo
from storage.models import (
    LIVE_STATUSES,
    CycleStatus,
    JoinPolicy,
    Participant,
    ParticipantStatus,
    Program,
    ProgramStatus,
    utcnow,
)

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
MAX_DAILY_CAP = 1_000_000

log = logging.getLogger(__name__)
MAX_NAME_LENGTH = 150
MAX_OWNERS = 10
# Program.settings keys: the admin's texts per language, and the channel posts' language.
TEXTS_SETTING = "texts"
CHANNEL_LANGUAGE_SETTING = "channel_language"


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
    if program.status not in LIVE_STATUSES or not is_over(program, at) or not last_digest:
        return False
    rounds = repo.pulse_rounds(session, program.id or 0)
    if any(r.status == CycleStatus.OPEN for r in rounds):
        return False
    return repo.transition(session, program, list(LIVE_STATUSES), status=ProgramStatus.ENDED)


# Texts per language ----------------------------------------------------------------------------
#
# An admin may give the programme's name, goals and topics in each language; people read the
# version in their language, else the original (a default goal or topic, being a msgid, is
# translated by the catalogs). Stored in Program.settings["texts"]:
# {"de": {"name": "...", "goals": ["...", ""], "topics": {"ai_tools": "KI-Werkzeuge"}}};
# goals by position ("" keeps the original), topics by id, so a renamed topic keeps its
# versions and an archived one its names.


@dataclass
class ProgramTexts:
    """One language's version of the admin's texts, as the form has it: goals and topics by
    position of the originals, an empty entry (or a missing one) keeping the original."""

    name: str = ""
    goals: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)


def _stored_texts(program: Program, locale: str) -> dict[str, Any]:
    texts = (program.settings or {}).get(TEXTS_SETTING) or {}
    entry = texts.get(locale) if isinstance(texts, dict) else None
    return entry if isinstance(entry, dict) else {}


def localized_name(program: Program, locale: str) -> str | None:
    """The admin's name of the programme in `locale`, or None (the original applies)."""
    name = _stored_texts(program, locale).get("name")
    return name if isinstance(name, str) and name else None


def localized_goal(program: Program, index: int, locale: str) -> str | None:
    goals = _stored_texts(program, locale).get("goals") or []
    goal = goals[index] if isinstance(goals, list) and index < len(goals) else None
    return goal if isinstance(goal, str) and goal else None


def localized_topic(program: Program, topic: str, locale: str) -> str | None:
    """The admin's label of topic id `topic` in `locale`, or None."""
    topics = _stored_texts(program, locale).get("topics") or {}
    label = topics.get(topic) if isinstance(topics, dict) else None
    return label if isinstance(label, str) and label else None


def has_texts_in(program: Program, locale: str) -> bool:
    """Whether the admin gave any of the programme's texts in `locale`."""
    return bool(_stored_texts(program, locale))


def name_in(program: Program, locale: str) -> str:
    """The programme's name for a reader of `locale` (certificates freeze it)."""
    return localized_name(program, locale) or program.name


def channel_language(program: Program, default: str) -> str:
    """The language of the programme's channel posts (digest, shout-outs, thanks)."""
    chosen = (program.settings or {}).get(CHANNEL_LANGUAGE_SETTING)
    return chosen if chosen in SUPPORTED else default


def _texts_errors(form: ProgramForm, goals: list[str], topics: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for locale, texts in (form.texts or {}).items():
        if len(texts.name.strip()) > MAX_NAME_LENGTH:
            errors[f"name_{locale}"] = N_("Keep the name under 150 characters.")
        lines = _trimmed(texts.goals)
        if len(lines) > len(goals):
            errors[f"goals_{locale}"] = N_(
                "One line per goal above, in the same order: there are more lines than goals."
            )
        elif any(len(line) > MAX_GOAL_LENGTH for line in lines):
            errors[f"goals_{locale}"] = N_("Keep each goal under 300 characters.")
        lines = _trimmed(texts.topics)
        if len(lines) > len(topics):
            errors[f"topics_{locale}"] = N_(
                "One line per topic above, in the same order: there are more lines than topics."
            )
        elif any(len(line) > MAX_TOPIC_LENGTH for line in lines):
            errors[f"topics_{locale}"] = N_("Keep each topic under 60 characters.")
        errors.update(
            validation.text_errors(
                {
                    f"name_{locale}": texts.name,
                    f"goals_{locale}": texts.goals,
                    f"topics_{locale}": texts.topics,
                }
            )
        )
    return errors


def _trimmed(lines: list[str]) -> list[str]:
    """Stripped lines by position, without the empty ones at the end."""
    stripped = [line.strip() for line in lines]
    while stripped and not stripped[-1]:
        stripped.pop()
    return stripped


def _texts_to_store(
    form: ProgramForm, goals: list[str], catalogue: list[dict[str, Any]]
) -> dict[str, Any]:
    """The form's versions as stored: per language, only what the admin gave."""
    offered = [topic for topic in catalogue if not is_archived(topic)]
    stored: dict[str, Any] = {}
    for locale, texts in (form.texts or {}).items():
        if locale not in SUPPORTED:
            continue
        entry: dict[str, Any] = {}
        if texts.name.strip():
            entry["name"] = texts.name.strip()
        versions = _trimmed(texts.goals)[: len(goals)]
        if any(versions):
            entry["goals"] = versions
        labels = {
            topic["id"]: label
            for topic, label in zip(offered, _trimmed(texts.topics), strict=False)
            if label
        }
        if labels:
            entry["topics"] = labels
        if entry:
            stored[locale] = entry
    return stored


def _form_texts(program: Program) -> dict[str, ProgramTexts]:
    offered = offered_topics(program)
    texts: dict[str, ProgramTexts] = {}
    for locale in SUPPORTED:
        goals = [localized_goal(program, i, locale) or "" for i in range(len(program.goals))]
        topics = [localized_topic(program, t["id"], locale) or "" for t in offered]
        texts[locale] = ProgramTexts(
            name=localized_name(program, locale) or "",
            goals=_trimmed(goals),
            topics=_trimmed(topics),
        )
    return texts


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
    # The zone of its dates, jobs and quiet hours (IANA name); None keeps the stored one.
    timezone: str | None = None
    # The modal's raw "open"/"closed" value, kept so validation can refuse anything else; when
    # given it decides enrollment_open. None: the form was built in code, not read from Slack.
    enrollment: str | None = None
    # The admin's versions of name, goals and topics per language; None keeps the stored ones.
    texts: dict[str, ProgramTexts] | None = None
    # The language of channel posts; None keeps the stored one (else the workspace default).
    channel_language: str | None = None
    # Who runs it (Slack ids; None keeps them), who may join, and people invited to it.
    owners: list[str] | None = None
    join_policy: str | None = None
    invited: list[str] | None = None
    # Retention rules (bot/domain/retention.py): None keeps the stored ones.
    retention: dict[str, int | None] | None = None

    def __post_init__(self) -> None:
        if self.enrollment is not None:
            self.enrollment_open = self.enrollment == "open"


def validate_program(form: ProgramForm) -> dict[str, str]:
    """Field -> English message (translated by the view); empty when the form is valid."""
    errors: dict[str, str] = {}
    if not form.name.strip():
        errors["name"] = N_("Give the programme a name.")
    elif len(form.name) > MAX_NAME_LENGTH:
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
    # No end date: an evergreen programme, running until its owners end it.
    errors.update(validation.program_dates_errors(form.start_date, form.end_date))
    if form.timezone is not None and not valid_timezone(form.timezone):
        errors["timezone"] = N_("Pick one of the options.")
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
    if form.channel_language is not None and form.channel_language not in SUPPORTED:
        errors["channel_language"] = N_("Pick one of the options.")
    if form.join_policy is not None and form.join_policy not in tuple(JoinPolicy):
        errors["join_policy"] = N_("Pick one of the options.")
    if form.owners is not None and len(form.owners) > MAX_OWNERS:
        errors["owners"] = N_("Ten owners at most.")
    if form.retention is not None:
        errors.update(retention.problems(form.retention))
    errors.update(_texts_errors(form, goals, _clean_labels(form.topics)))
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
    new = program is None
    before = {} if program is None else _audited_fields(program)
    owners_before = set() if program is None else set(repo.owners(session, program.id or 0))
    if program is None:  # one of several: a new programme opens for enrollment
        program = Program(
            name=form.name.strip(), created_by=admin_id, status=ProgramStatus.ENROLLING
        )
    if (zone := timezone or form.timezone) is not None:
        program.timezone = zone
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
    settings = dict(program.settings or {})
    if form.texts is not None:
        settings[TEXTS_SETTING] = _texts_to_store(form, program.goals, program.topic_catalogue)
    if form.channel_language is not None:
        settings[CHANNEL_LANGUAGE_SETTING] = form.channel_language
    settings["offices"] = places.clean_offices(form.offices)
    if form.retention is not None:
        settings[retention.SETTING] = {k: v for k, v in form.retention.items() if v is not None}
    program.settings = settings  # a new dict, so the JSON column is written
    if form.join_policy is not None:
        program.join_policy = form.join_policy
    program.updated_at = utcnow()
    saved = repo.save(session, program)
    if form.owners is not None:
        repo.set_owners(session, saved.id or 0, [*form.owners] or [admin_id], admin_id)
    elif new:
        repo.add_owners(session, saved.id or 0, [admin_id], admin_id)
    invited = repo.invite(session, saved.id or 0, form.invited, admin_id) if form.invited else 0
    _audit_save(session, saved, admin_id, before, owners_before, invited, new=new)
    return saved


AUDITED_FIELDS = (
    "name", "goals", "start_date", "end_date", "enrollment_open", "checkin_cadence",
    "pulse_cadence", "topic_catalogue", "mentor_capacity", "anonymity_threshold",
    "community_channel", "settings", "join_policy", "timezone",
)  # fmt: skip


def _audited_fields(program: Program) -> dict[str, Any]:
    return {name: deepcopy(getattr(program, name)) for name in AUDITED_FIELDS}


def _audit_save(
    session: Session,
    program: Program,
    admin_id: str,
    before: dict[str, Any],
    owners_before: set[str],
    invited: int,
    *,
    new: bool,
) -> None:
    """The audit log's entries for a save: which fields changed (names, never values), and
    each owner added or removed."""
    program_id = program.id or 0
    after = _audited_fields(program)
    if new:
        repo.record_audit(session, actor=admin_id, action="program.create", program_id=program_id)
    else:
        changed = sorted(name for name in AUDITED_FIELDS if before.get(name) != after[name])
        if changed:
            repo.record_audit(
                session,
                actor=admin_id,
                action="program.settings",
                program_id=program_id,
                detail={"fields": changed},
            )
    owners_after = set(repo.owners(session, program_id))
    for action, people in (
        ("program.owner_add", owners_after - owners_before),
        ("program.owner_remove", owners_before - owners_after),
    ):
        for user_id in sorted(people):
            repo.record_audit(
                session,
                actor=admin_id,
                action=action,
                program_id=program_id,
                target=f"user:{user_id}",
            )
    if invited:
        repo.record_audit(
            session,
            actor=admin_id,
            action="program.invite",
            program_id=program_id,
            detail={"count": invited},
        )


# Several programmes: who is in which, who may join which, who runs which -------------------------


def enrollments_of(session: Session, user_id: str) -> list[tuple[Program, Participant]]:
    """The live programmes the person takes part in (enrolled, not left), oldest first."""
    found = []
    for participant in repo.participations_of_user(session, user_id):
        program = session.get(Program, participant.program_id)
        if (
            program is not None
            and program.status in LIVE_STATUSES
            and participant.status in (ParticipantStatus.WAITING, ParticipantStatus.PAIRED)
        ):
            found.append((program, participant))
    return found


def may_join(session: Session, program: Program, user_id: str) -> bool:
    """Live, open for enrollment, and open to everyone or to this invited person."""
    if program.status not in LIVE_STATUSES or not program.enrollment_open:
        return False
    return program.join_policy == JoinPolicy.EVERYONE or repo.is_invited(
        session, program.id or 0, user_id
    )


def joinable(session: Session, user_id: str) -> list[Program]:
    """The programmes the person may join now and is not enrolled in."""
    enrolled = {program.id for program, _person in enrollments_of(session, user_id)}
    return [
        program
        for program in repo.live_programs(session)
        if program.id not in enrolled and may_join(session, program, user_id)
    ]


def owned(session: Session, user_id: str, *, super_admin: bool) -> list[Program]:
    """The programmes the person runs and has not put away: every one for a super-admin."""
    kept = [p for p in repo.all_programs(session) if p.status != ProgramStatus.ARCHIVED]
    if super_admin:
        return kept
    ids = repo.owned_program_ids(session, user_id)
    return [program for program in kept if program.id in ids]


def new_cohort(session: Session, template: Program, admin_id: str, today: date) -> Program:
    """A draft copying a programme's settings, goals, topics, texts and schedules, for its
    next cohort; its owners come along, its people and pairs do not. A draft of it that has
    not opened yet is that draft (a second click edits it rather than making another)."""
    for earlier in repo.all_programs(session):
        if earlier.template_of == template.id and earlier.status == ProgramStatus.DRAFT:
            return earlier
    span = (
        template.end_date - template.start_date
        if template.start_date is not None and template.end_date is not None
        else None
    )
    cohort = Program(
        name=template.name,
        goals=list(template.goals),
        start_date=today if span is not None else template.start_date,
        end_date=today + span if span is not None else template.end_date,
        enrollment_open=template.enrollment_open,
        checkin_cadence=template.checkin_cadence,
        pulse_cadence=template.pulse_cadence,
        topic_catalogue=[dict(topic) for topic in template.topic_catalogue],
        mentor_capacity=template.mentor_capacity,
        anonymity_threshold=template.anonymity_threshold,
        community_channel=template.community_channel,
        settings=dict(template.settings or {}),
        timezone=template.timezone,
        join_policy=template.join_policy,
        template_of=template.id,
        created_by=admin_id,
        status=ProgramStatus.DRAFT,
    )
    saved = repo.save(session, cohort)
    repo.add_owners(session, saved.id or 0, repo.owners(session, template.id or 0), admin_id)
    repo.add_owners(session, saved.id or 0, [admin_id], admin_id)
    repo.record_audit(
        session,
        actor=admin_id,
        action="program.cohort",
        program_id=saved.id,
        target=f"program:{template.id}",
    )
    return saved


def alumni_of(session: Session, program: Program) -> list[str]:
    """The people who took part in a programme (its pairs' members), to invite to the next."""
    people = repo.participants(session, program.id or 0)
    return [
        p.slack_user_id
        for p in people
        if p.erased_at is None and not p.slack_user_id.startswith("erased-")
    ]


def open_for_enrollment(session: Session, program: Program) -> bool:
    """A draft opens: people may see and join it."""
    return repo.transition(session, program, ProgramStatus.DRAFT, status=ProgramStatus.ENROLLING)


def start_running(session: Session, program_id: int) -> bool:
    """The first pairs are introduced: the programme runs."""
    program = session.get(Program, program_id)
    return program is not None and repo.transition(
        session, program, ProgramStatus.ENROLLING, status=ProgramStatus.RUNNING
    )


def archive(session: Session, program: Program) -> bool:
    """An ended programme is put away (its figures stay for reports)."""
    return repo.transition(session, program, ProgramStatus.ENDED, status=ProgramStatus.ARCHIVED)


def form_from_program(
    program: Program | None, today: date, timezone: str | None = None
) -> ProgramForm:
    """The modal's initial values: the current programme, or sensible defaults (a new one in
    `timezone`, its creator's)."""
    if program is None:
        return ProgramForm(
            name="",
            goals=list(DEFAULT_GOALS),
            start_date=today,
            end_date=date(today.year + (today.month + 6 > 12), (today.month + 5) % 12 + 1, 1),
            timezone=timezone if timezone and valid_timezone(timezone) else "UTC",
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
        texts=_form_texts(program),
        channel_language=(program.settings or {}).get(CHANNEL_LANGUAGE_SETTING),
        join_policy=program.join_policy,
        retention=dict(retention.of(program).as_setting()),
    )


# Programme settings (Program.settings, JSON; documented in the README under "The pair's
# journey"): `schedules`, `daily_cap`, `working_hours`. One rule each, used by whatever writes
# them and by every reader; a reader given a bad stored value uses the default and says so once
# in the log, so a typo never stops the app.


def settings_of(program: Program | None) -> dict[str, Any]:
    """The programme's settings; empty when there are none or they are not a mapping."""
    settings = program.settings if program is not None else None
    return settings if isinstance(settings, dict) else {}


def schedule_problem(value: object) -> str | None:
    """Why `value` is not a usable crontab ("minute hour day month weekday"); None when it is.
    APScheduler, which runs the schedules, is the judge."""
    if not isinstance(value, str) or not value.strip():
        return 'not a crontab (five fields, e.g. "0 8 * * mon-fri")'
    try:
        trigger = CronTrigger.from_crontab(value.strip(), timezone="UTC")
    except ValueError as error:
        return f"not a valid crontab ({error})"
    if trigger.get_next_fire_time(None, clock.utcnow()) is None:
        return "never fires"
    return None


def _whole_number(value: object) -> int | None:
    """A JSON whole number (or digits in a string); None for anything else (1e400, "x", [])."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 10:
        return int(value.strip())
    return None


def daily_cap_problem(value: object) -> str | None:
    number = _whole_number(value)
    if number is None or not 0 <= number <= MAX_DAILY_CAP:
        return f"daily_cap must be a whole number from 0 to {MAX_DAILY_CAP}"
    return None


def working_hours_problem(value: object) -> str | None:
    problem = "working_hours must be [first hour, end hour] with 0 <= first < end <= 24"
    if not isinstance(value, list | tuple) or len(value) != 2:
        return problem
    start, end = (_whole_number(hour) for hour in value)
    if start is None or end is None or not 0 <= start < end <= 24:
        return problem
    return None


def schedules_problems(value: object, jobs: Iterable[str]) -> dict[str, str]:
    """`schedules`: a mapping of job name to crontab. Problems by setting ("schedules" or
    "schedules.<job>"); empty when every entry is usable."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        return {"schedules": "schedules must map job names to crontabs"}
    known = set(jobs)
    problems: dict[str, str] = {}
    for name, crontab in value.items():
        if name not in known:
            problems[f"schedules.{name}"] = f"no job is called {name!r}"
        elif (problem := schedule_problem(crontab)) is not None:
            problems[f"schedules.{name}"] = problem
    return problems


def settings_problems(settings: object, jobs: Iterable[str]) -> dict[str, str]:
    """Every problem of a settings mapping, by setting: what a form or command refuses before
    saving, and what `jobs list` shows."""
    if not isinstance(settings, dict):
        return {"settings": "the programme settings must be a mapping"}
    problems = schedules_problems(settings.get("schedules"), jobs)
    for name, problem_of in (
        ("daily_cap", daily_cap_problem),
        ("working_hours", working_hours_problem),
    ):
        if settings.get(name) is not None and (problem := problem_of(settings[name])):
            problems[name] = problem
    return problems


def read_daily_cap(program: Program | None, default: int) -> int:
    value = settings_of(program).get("daily_cap")
    if value is None:
        return default
    if (problem := daily_cap_problem(value)) is not None:
        _warn_once(program, "daily_cap", problem)
        return default
    return _whole_number(value) or 0


def read_working_hours(program: Program | None, default: tuple[int, int]) -> tuple[int, int]:
    value = settings_of(program).get("working_hours")
    if value is None:
        return default
    if (problem := working_hours_problem(value)) is not None:
        _warn_once(program, "working_hours", problem)
        return default
    start, end = (_whole_number(hour) or 0 for hour in value)
    return start, end


def read_schedule(program: Program | None, job: str, default: str) -> tuple[str, str | None]:
    """The crontab `job` runs on: the programme's `schedules.<job>`, or `default` when it is not
    set or cannot be used; then the second value says why (warned once in the log)."""
    schedules = settings_of(program).get("schedules")
    if schedules is None:
        return default, None
    if not isinstance(schedules, dict):
        problem = "schedules must map job names to crontabs"
        _warn_once(program, "schedules", problem)
        return default, problem
    value = schedules.get(job)
    if value is None:
        return default, None
    if (problem := schedule_problem(value)) is not None:
        _warn_once(program, f"schedules.{job}", problem)
        return default, problem
    return str(value).strip(), None


_warned: set[tuple[int | None, str, str]] = set()
_warned_lock = threading.Lock()


def _warn_once(program: Program | None, setting: str, problem: str) -> None:
    """Settings are read on every run: one warning per programme, setting and problem."""
    key = (program.id if program else None, setting, problem)
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(
        "programme setting refused; the default applies",
        extra={"program_id": key[0], "setting": setting, "problem": problem[:200]},
    )


def programme_rows(session: Session) -> list[dict[str, Any]]:
    """Every programme as `programs list` shows it: id, name, status, owners, time zone, channel
    language, participants (enrolled, not left) and pairs (active)."""
    rows = []
    for program in repo.all_programs(session):
        people = repo.count_by_status(session, program.id or 0)
        active_pairs = len(repo.pairs(session, program.id or 0, ["active"]))
        rows.append(
            {
                "id": program.id,
                "name": program.name,
                "status": program.status,
                "owners": repo.owners(session, program.id or 0),
                "timezone": program.timezone,
                "language": (program.settings or {}).get(CHANNEL_LANGUAGE_SETTING),
                "participants": sum(
                    n for status, n in people.items() if status != ParticipantStatus.LEFT
                ),
                "pairs": active_pairs,
            }
        )
    return rows
