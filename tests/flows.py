"""Steps a person takes in Slack, driven through the signed-request harness."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from bot.simulated_slack import signed_requests as sr
from storage.db import make_engine
from storage.models import Pair
from tests.conftest import ADMIN, RunningApp

LOCALES = {
    "en": ("en-US", "America/New_York", -18000),
    "de": ("de-DE", "Europe/Berlin", 3600),
    "vi": ("vi-VN", "Asia/Ho_Chi_Minh", 25200),
}


def program_values(
    *,
    name: str = "Digital Leaders 2027",
    goals: str = "80% of leaders complete 6 sessions\nLeaders rate digital confidence +1",
    start: str | None = "2027-01-01",
    end: str | None = "2027-06-30",
    enrollment: str = "open",
    checkin: str = "monthly",
    pulse: str = "quarterly",
    topics: str = "AI tools\nSocial media\nCybersecurity hygiene\nData literacy",
    capacity: int | str | None = 1,
    threshold: int | str | None = 5,
    channel: str | None = "C0MENTORING",
    offices: str | None = None,
    timezone: str | None = None,
    owners: list[str] | None = None,
    join_policy: str | None = None,
    invited: list[str] | None = None,
    invite_alumni: bool | None = None,
    channel_language: str | None = None,
) -> dict[str, Any]:
    """The programme modal's values; fields left None are not sent (as from an older modal)."""
    extra: dict[str, Any] = {}
    if offices is not None:
        extra["offices"] = sr.plain(offices)
    if timezone is not None:
        extra["timezone"] = sr.static_select(timezone)
    if owners is not None:
        extra["owners"] = sr.multi_users_select(owners)
    if join_policy is not None:
        extra["join_policy"] = sr.radio(join_policy)
    if invited is not None:
        extra["invited"] = sr.multi_users_select(invited)
    if invite_alumni is not None:
        extra["invite_alumni"] = sr.checkboxes(["yes"] if invite_alumni else [])
    if channel_language is not None:
        extra["channel_language"] = sr.static_select(channel_language)
    return sr.values_from(
        extra
        | {
            "name": sr.plain(name),
            "goals": sr.plain(goals),
            "start_date": sr.datepicker(start),
            "end_date": sr.datepicker(end),
            "enrollment": sr.radio(enrollment),
            "checkin_cadence": sr.static_select(checkin),
            "pulse_cadence": sr.static_select(pulse),
            "topics": sr.plain(topics),
            "mentor_capacity": sr.number(capacity),
            "anonymity_threshold": sr.number(threshold),
            "community_channel": sr.conversations_select(channel),
        }
    )


def open_modal(app: RunningApp, user_id: str, text: str) -> dict[str, Any]:
    """Runs a slash command and returns the modal it opened."""
    before = len(app.fake.calls("views.open"))
    response = app.slack.command(user_id, text)
    assert response.status == 200, response.body
    calls = app.fake.wait_for_count("views.open", before + 1)
    call = calls[-1]
    assert call.ok, call.error
    assert call.response is not None
    return call.response["view"]


def setup_program(app: RunningApp, **overrides: Any) -> dict[str, Any]:
    view = open_modal(app, ADMIN, "program")
    response = app.slack.view_submission(ADMIN, view, program_values(**overrides))
    assert response.status == 200, response.body
    return view


@dataclass
class Person:
    user_id: str
    role: str
    language: str = "en"
    department: str = "Marketing"
    offered: list[str] = field(default_factory=list)
    wanted: list[str] = field(default_factory=list)
    development: list[str] = field(default_factory=list)
    manager: str | None = None
    avoid: list[str] = field(default_factory=list)
    frequency: str | None = "monthly"
    meeting_format: str | None = "video"
    days: list[str] = field(default_factory=lambda: ["tue", "thu"])
    time_of_day: str | None = "any"
    consent: bool = True
    # Meeting languages besides their Slack one: most colleagues also meet in English.
    languages: list[str] = field(default_factory=lambda: ["en"])
    office: str | None = None  # asked only when the programme lists offices
    timezone: str | None = None  # None: their language's usual zone (LOCALES)

    def add_to(self, app: RunningApp, **extra: Any) -> None:
        locale, tz, offset = LOCALES[self.language]
        if self.timezone is not None:
            tz, offset = self.timezone, _january_offset(self.timezone)
        app.fake.add_user(
            self.user_id,
            real_name=f"Person {self.user_id}",
            locale=locale,
            tz=tz,
            tz_offset=offset,
            **extra,
        )


def _january_offset(timezone: str) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    offset = datetime(2027, 1, 15, tzinfo=ZoneInfo(timezone)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def enrollment_values(person: Person, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "role": sr.radio(person.role),
        "department": sr.plain(person.department),
        "seniority": sr.static_select("executive" if person.role == "mentee" else "early_career"),
        "topics_offered": sr.multi_static_select(person.offered),
        "topics_wanted": sr.multi_static_select(person.wanted),
        "development_areas": sr.multi_static_select(person.development),
        "personal_goals": sr.plain("Learn by doing"),
        "meeting_frequency": sr.static_select(person.frequency),
        "meeting_format": sr.static_select(person.meeting_format),
        "success_definition": sr.plain("Using two new tools every week"),
        "available_days": sr.checkboxes(person.days),
        "time_of_day": sr.static_select(person.time_of_day),
        "manager": sr.users_select(person.manager),
        "avoid": sr.multi_users_select(person.avoid),
        "consent": sr.checkboxes(["yes"] if person.consent else []),
        "languages": sr.multi_static_select(person.languages),
    }
    if person.office is not None:
        fields["office"] = sr.static_select(person.office)
    fields.update(overrides)
    return sr.values_from(fields)


def enroll(app: RunningApp, person: Person, **overrides: Any) -> sr.Response:
    view = open_modal(app, person.user_id, "join")
    return app.slack.view_submission(person.user_id, view, enrollment_values(person, **overrides))


def eventually(check: Any, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Polls `check` until it returns something truthy (listeners finish after their ack).
    The timeout only stops a broken test from hanging: a loaded machine may take seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            assert result, "condition not met in time"
            return result
        time.sleep(interval)


def command_reply(app: RunningApp, user_id: str, text: str) -> dict[str, Any]:
    """Runs a slash command and returns its ephemeral answer: the acknowledgement's own
    message, or the reply posted to its response_url."""
    response = app.slack.command(user_id, text)
    assert response.status == 200, response.body
    assert response.response_url is not None
    token = response.response_url.rsplit("/", 1)[-1]
    in_ack = [c for c in app.fake.calls("command_ack") if c.params.get("_token") == token]
    call = (
        in_ack[0]
        if in_ack
        else app.fake.wait_for("response_url", lambda c: c.params.get("_token") == token)
    )
    assert call.params.get("response_type") == "ephemeral"
    return call.params


# Matching ------------------------------------------------------------------------------------

POOL_TOPICS = ["ai_tools", "social_media", "cybersecurity_hygiene", "data_literacy"]


def enroll_pool(app: RunningApp, mentors: int, mentees: int) -> list[Person]:
    """Enrolls `mentors` then `mentees` (languages, departments and topics in rotation) and
    waits until each has their App Home, the last thing enrollment does after its ack.

    Everyone also meets in English and works in New York's or Berlin's hours (the Vietnamese
    speakers from Berlin), so any two of them can meet: these pools test the matching round,
    not the rules of who can meet (tests/test_matching_constraints.py)."""
    people = []
    for index in range(mentors + mentees):
        role = "mentor" if index < mentors else "mentee"
        language = ("en", "de", "vi")[index % 3]
        topic = POOL_TOPICS[index % len(POOL_TOPICS)]
        person = Person(
            f"UPOOL{index:04d}",
            role,
            language,
            department=f"Dept {index % 5}",
            offered=[topic, POOL_TOPICS[(index + 1) % 4]] if role == "mentor" else [],
            wanted=[topic] if role == "mentee" else [],
            timezone="Europe/Berlin" if language == "vi" else None,
        )
        person.add_to(app)
        assert enroll(app, person).status == 200
        people.append(person)
    eventually(lambda: all(app.fake.home_of(p.user_id) for p in people))
    return people


def match_review(app: RunningApp) -> dict[str, Any]:
    """Runs `/mentoring match` and returns the review modal once computed."""

    def is_review(call: Any) -> bool:
        return call.params["view"].get("callback_id") == "match_review"

    before = len([c for c in app.fake.calls("views.update") if is_review(c)])
    response = app.slack.command(ADMIN, "match")
    assert response.status == 200
    update = app.fake.wait_for_count("views.update", before + 1, is_review)[-1]
    assert update.ok, update.error
    assert update.response is not None
    return update.response["view"]


def stored_pairs(app: RunningApp, status: str | None = None) -> list[Pair]:
    """The pairs in the database, optionally only those with `status`."""
    with app.db.session() as session:
        query = select(Pair)
        if status:
            query = query.where(Pair.status == status)
        return list(session.exec(query).all())


# Answers whatever happens behind them --------------------------------------------------------

UNAVAILABLE = "temporarily unavailable"


def modal_updates(app: RunningApp, view_id: str) -> list[dict[str, Any]]:
    """The views the app put into modal `view_id` with views.update, oldest first."""
    return [
        c.params["view"]
        for c in app.fake.calls("views.update")
        if c.ok and c.params.get("view_id") == view_id
    ]


@contextmanager
def database_down(app: RunningApp) -> Iterator[None]:
    """The app's engine points at a database that cannot be reached (a closed port, or a
    SQLite file in a directory that does not exist)."""
    dead = (
        "sqlite:////nonexistent-dir/for-sure/app.db"
        if app.db.url.startswith("sqlite")
        else "postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=2"
    )
    working = app.db.engine
    app.db.engine = make_engine(dead)
    try:
        yield
    finally:
        app.db.engine.dispose()
        app.db.engine = working


def response_url_text(app: RunningApp, response: sr.Response) -> str:
    """The text of the ephemeral reply posted to the response_url of `response`'s request."""
    assert response.status == 200, response.body
    assert response.response_url is not None
    token = response.response_url.rsplit("/", 1)[-1]
    call = app.fake.wait_for("response_url", lambda c: c.params.get("_token") == token, 30)
    assert call.params.get("response_type") == "ephemeral"
    return str(call.params.get("text"))
