"""The sandbox's page API over HTTP: the real app behind it, Slack's client behaviour in front."""

from __future__ import annotations

import functools
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot import clock
from bot.i18n import translator
from bot.sandbox.access import host_refusal
from bot.sandbox.composer import Mentionable, with_mentions
from bot.sandbox.forms import option_values
from bot.sandbox.server import Sandbox
from bot.sandbox.workspace import ADMIN_ID, SeedPerson, seed_people
from storage.models import JobRun, Program
from tests.flows import Person, enrollment_values, program_values

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox(port=0, people=6, seed=3, database_url=f"sqlite:///{tmp_path}/sandbox.db")
    box.start()  # how fast: bench/bench_sandbox.py
    try:
        yield box
    finally:
        box.stop()


def _send(
    box: Sandbox, path: str, body: dict[str, Any] | None = None, **headers: str
) -> tuple[int, bytes]:
    """A GET (no body) or a JSON POST; the status and the body, whatever the status."""
    request = urllib.request.Request(
        box.url.rstrip("/") + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="GET" if body is None else "POST",
    )
    try:
        with _OPENER.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@functools.cache
def _page_token(box: Sandbox) -> str:
    """The token the page carries for its API calls, read from the page as the browser does."""
    status, page = _send(box, "/")
    assert status == 200
    found = re.search(rb'<meta name="sandbox-token" content="([^"]+)">', page)
    assert found is not None
    return found.group(1).decode()


def _get(box: Sandbox, path: str) -> tuple[int, bytes]:
    return _send(box, path, **{"X-Sandbox-Token": _page_token(box)})


def _post(box: Sandbox, path: str, **body: Any) -> dict[str, Any]:
    status, data = _send(box, path, body, **{"X-Sandbox-Token": _page_token(box)})
    assert status == 200, data
    return json.loads(data)


def _conversation(state: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in state["conversations"] if c["kind"] == kind)


def test_starts_on_loopback_and_says_it_is_simulated(sandbox: Sandbox) -> None:
    assert sandbox.url.startswith("http://127.0.0.1:")
    status, page = _get(sandbox, "/")
    assert status == 200 and b"Simulated workspace" in page
    members = json.loads(_get(sandbox, "/api/members")[1])["members"]
    assert {m["locale"] for m in members} == {"de-DE", "vi-VN", "en-US"}
    assert [m["id"] for m in members if m["admin"]] == [ADMIN_ID]


def test_seeded_people_are_reproducible_and_have_a_manager_line() -> None:
    first, again = seed_people(9, seed=5), seed_people(9, seed=5)
    assert first == again
    assert {p.office.city for p in first} == {"Berlin", "Hanoi", "New York"}
    assert any(p.manager_id for p in first)


def test_a_command_reply_only_the_member_sees(sandbox: Sandbox) -> None:
    result = _post(sandbox, "/api/command", user=ADMIN_ID, text="/mentoring help", channel="")
    dm = _conversation(result["state"], "dm")
    replies = [m for m in dm["messages"] if m.get("ephemeral")]
    assert replies and "/mentoring program" in replies[-1]["html"]
    other = sandbox.people[1].user_id
    theirs = _post(sandbox, "/api/home", user=other)["state"]
    assert not [m for m in _conversation(theirs, "dm")["messages"] if m.get("ephemeral")]


def test_unknown_slash_commands_are_explained(sandbox: Sandbox) -> None:
    result = _post(sandbox, "/api/command", user=ADMIN_ID, text="/weather", channel="")
    assert "/mentoring" in result["notice"]


def test_inline_errors_then_a_saved_programme(sandbox: Sandbox) -> None:
    opened = _post(sandbox, "/api/command", user=ADMIN_ID, text="/mentoring program", channel="")
    modal = opened["state"]["modal"]
    assert modal is not None
    view = sandbox.fake.view(modal["id"])
    assert view is not None
    bad = _post(
        sandbox,
        "/api/submit",
        user=ADMIN_ID,
        view_id=modal["id"],
        values=program_values(name="", channel="C0MENTORING"),
    )
    assert bad["state"]["modal"]["id"] == modal["id"]
    assert "bk-error" in bad["state"]["modal"]["html"]
    good = _post(
        sandbox,
        "/api/submit",
        user=ADMIN_ID,
        view_id=modal["id"],
        values=program_values(channel="C0MENTORING"),
    )
    saved = good["state"]["modal"]["html"]  # the modal became a confirmation
    assert "✅" in saved and "Digital Leaders 2027" in saved and 'data-kind="submit"' not in saved
    home = _post(sandbox, "/api/home", user=ADMIN_ID)["state"]["home"]
    assert "Digital Leaders 2027" in home["html"]


def test_the_clock_jumps_for_the_app_too(sandbox: Sandbox) -> None:
    before = clock.utcnow()
    result = _post(sandbox, "/api/clock", user=ADMIN_ID, step="week")
    assert clock.utcnow() - before >= timedelta(days=7)
    assert result["state"]["clock"].startswith(clock.utcnow().date().isoformat())


def test_files_the_app_uploads_can_be_downloaded(sandbox: Sandbox) -> None:
    _post(sandbox, "/api/command", user=ADMIN_ID, text="/mentoring program", channel="")
    modal = _post(sandbox, "/api/home", user=ADMIN_ID)["state"]["modal"]
    _post(sandbox, "/api/submit", user=ADMIN_ID, view_id=modal["id"], values=program_values())
    joined = _post(sandbox, "/api/command", user=ADMIN_ID, text="/mentoring join", channel="")
    person = Person(ADMIN_ID, "mentee", wanted=["ai_tools"])
    values = enrollment_values(person)
    _post(
        sandbox, "/api/submit", user=ADMIN_ID, view_id=joined["state"]["modal"]["id"], values=values
    )
    result = _post(sandbox, "/api/command", user=ADMIN_ID, text="/mentoring mydata", channel="")
    deadline = time.monotonic() + 30  # the export is written after the ack
    while not result["state"]["files"] and time.monotonic() < deadline:
        result = _post(sandbox, "/api/home", user=ADMIN_ID)
    (exported,) = result["state"]["files"]
    status, data = _get(sandbox, f"/files/{exported['id']}")
    assert status == 200 and isinstance(json.loads(data), dict)


# ---------------------------------------------------------------- only the page, and admins' rights


def _refused(status: int, data: bytes) -> str:
    assert status == 403, (status, data)
    return str(json.loads(data)["error"])


def test_the_api_needs_the_token_the_page_carries(sandbox: Sandbox) -> None:
    token = _page_token(sandbox)
    assert len(token) >= 32
    help_ = {"user": ADMIN_ID, "text": "/mentoring help", "channel": ""}
    posted = len(sandbox.fake.calls())
    assert "token" in _refused(*_send(sandbox, "/api/command", help_))
    assert "token" in _refused(*_send(sandbox, "/api/command", help_, **{"X-Sandbox-Token": "x"}))
    assert "token" in _refused(*_send(sandbox, "/api/members"))
    assert len(sandbox.fake.calls()) == posted  # nothing reached the app
    status, _data = _send(sandbox, "/api/command", help_, **{"X-Sandbox-Token": token})
    assert status == 200
    # The page may not be framed by another site nor cached with its token.
    request = urllib.request.Request(sandbox.url)
    with _OPENER.open(request, timeout=10) as response:
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"


def test_a_dns_rebinding_host_gets_neither_the_page_nor_the_api(sandbox: Sandbox) -> None:
    token = {"X-Sandbox-Token": _page_token(sandbox)}
    port = sandbox.port
    for host in (f"evil.example:{port}", f"127.0.0.1.nip.io:{port}", f"127.0.0.1:{port + 1}"):
        status, page = _send(sandbox, "/", Host=host)
        assert "host" in _refused(status, page)
        assert token["X-Sandbox-Token"].encode() not in page
        clock_jump = {"user": ADMIN_ID, "step": "month"}
        before = clock.utcnow()
        assert "host" in _refused(*_send(sandbox, "/api/clock", clock_jump, Host=host, **token))
        assert clock.utcnow() - before < timedelta(days=1)
    # The loopback names of the same address and port are the page's own.
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        assert _send(sandbox, "/api/members", Host=host, **token)[0] == 200


def test_requests_from_another_sites_page_are_refused(sandbox: Sandbox) -> None:
    token = {"X-Sandbox-Token": _page_token(sandbox)}
    help_ = {"user": ADMIN_ID, "text": "/mentoring help", "channel": ""}
    for origin in ("http://evil.example", "null", f"http://localhost:{sandbox.port + 1}"):
        error = _refused(*_send(sandbox, "/api/command", help_, Origin=origin, **token))
        assert "other web pages" in error
    own = sandbox.url.rstrip("/")
    assert _send(sandbox, "/api/command", help_, Origin=own, **token)[0] == 200


@pytest.fixture
def sandbox_on(database_url: str) -> Iterator[Sandbox]:
    """The sandbox on a database of the test's backend, as with `--database-url`."""
    box = Sandbox(port=0, people=6, seed=3, database_url=database_url)
    box.start()
    try:
        yield box
    finally:
        box.stop()


def test_only_admins_move_the_clock_or_run_jobs(database_url: str) -> None:
    # Without the background scheduler: its catch-up runs (at start) would blur the count.
    box = Sandbox(port=0, people=6, seed=3, database_url=database_url, with_scheduler=False)
    box.start()
    try:
        _only_admins_move_the_clock_or_run_jobs(box)
    finally:
        box.stop()


def _only_admins_move_the_clock_or_run_jobs(box: Sandbox) -> None:
    member = next(p.user_id for p in box.people if not p.is_admin)
    before = clock.utcnow()
    for path, body in (("/api/clock", {"step": "month"}), ("/api/job", {"name": "checkin"})):
        status, data = _send(
            box, path, {"user": member, **body}, **{"X-Sandbox-Token": _page_token(box)}
        )
        assert "Only the programme's admins" in _refused(status, data)
    assert clock.utcnow() - before < timedelta(days=1)
    with box.runtime.services.db.session() as session:
        assert session.exec(select(JobRun)).all() == []
    # The admin may.
    _post(box, "/api/clock", user=ADMIN_ID, step="month")
    assert clock.utcnow() - before >= timedelta(days=28)
    ran = _post(box, "/api/job", user=ADMIN_ID, name="checkin")
    assert ran.get("report", {}).get("title", "").startswith("Job checkin ran"), ran


def test_the_app_refuses_hold_from_a_member_who_is_not_an_admin(sandbox_on: Sandbox) -> None:
    box = sandbox_on
    opened = _post(box, "/api/command", user=ADMIN_ID, text="/mentoring program", channel="")
    _post(box, "/api/submit", user=ADMIN_ID, view_id=opened["state"]["modal"]["id"],
          values=program_values())  # fmt: skip
    member = next(p for p in box.people if not p.is_admin)
    result = _post(box, "/api/command", user=member.user_id, text="/mentoring hold on", channel="")
    replies = [m for m in _conversation(result["state"], "dm")["messages"] if m.get("ephemeral")]
    refusal = translator(member.office.locale)(
        "Only programme admins can do that. Ask your HR team if you think you should be one."
    )
    assert replies and refusal in replies[-1]["html"]
    with box.runtime.services.db.session() as session:
        (program,) = session.exec(select(Program)).all()
        assert program.messages_held is False
    _post(box, "/api/command", user=ADMIN_ID, text="/mentoring hold on", channel="")
    with box.runtime.services.db.session() as session:
        assert session.exec(select(Program)).one().messages_held is True


def test_hosts_that_name_the_bound_address() -> None:
    assert host_refusal("[::1]:3000", "127.0.0.1", 3000) is None
    assert host_refusal("127.0.0.1", "127.0.0.1", 80) is None  # browsers omit port 80
    assert host_refusal("127.0.0.1:3000@evil.example", "127.0.0.1", 3000) is not None
    assert host_refusal(None, "127.0.0.1", 3000) is not None
    # Bound to every interface: the machine's addresses, never a DNS name someone controls.
    assert host_refusal("192.168.1.20:3000", "0.0.0.0", 3000) is None
    assert host_refusal("evil.example:3000", "0.0.0.0", 3000) is not None
    assert host_refusal("sandbox.lan:3000", "sandbox.lan", 3000) is None


# ---------------------------------------------------------------- time you can steer

START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # a Monday: 10:00 in Berlin, 04:00 in New York


@pytest.fixture
def sandbox_at(database_url: str) -> Iterator[Sandbox]:
    """The sandbox on the test's backend, its clock at START."""
    box = Sandbox(port=0, people=6, seed=3, database_url=database_url, start_at=START)
    box.start()
    try:
        yield box
    finally:
        box.stop()


def _in(box: Sandbox, city: str) -> SeedPerson:
    return next(p for p in box.people if p.office.city == city and not p.is_admin)


def programme_and_pair(box: Sandbox, mentor: SeedPerson, mentee: SeedPerson) -> None:
    """The admin sets up a programme, the two enroll through the modal, the admin approves
    the match (as the demo's people do, through Slack's client)."""
    box.command(ADMIN_ID, "/mentoring program", "")
    box.answer_modal(
        ADMIN_ID,
        {
            "name": "Digital Leaders 2027",
            "goals": "80% of leaders complete 6 sessions",
            "start_date": START.date().isoformat(),
            "end_date": "2027-06-30",
            "community_channel": "C0MENTORING",
            "checkin_cadence": "monthly",
        },
    )
    saved = box.top_modal(ADMIN_ID)  # the confirmation, with Close only
    if saved is not None and not saved.get("submit"):
        box.close(ADMIN_ID, saved["id"])
    for person, role in ((mentor, "mentor"), (mentee, "mentee")):
        box.command(person.user_id, "/mentoring join", "")
        view = box.top_modal(person.user_id)
        assert view is not None
        topics = [t for t in option_values(view, "topics_offered") if not t.startswith("growth_")]
        growth = [t for t in option_values(view, "development_areas") if t.startswith("growth_")]
        answers: dict[str, Any] = {
            "role": role,
            "department": person.department,
            "seniority": "early_career" if role == "mentor" else "executive",
            "meeting_frequency": "monthly",
            "meeting_format": "any",
            "available_days": ["mon", "tue", "wed", "thu", "fri"],
            "time_of_day": "any",
            "consent": ["yes"],
            "personal_goals": "Learn by doing",
            "languages": ["en"],  # a Berliner and a New Yorker meet in English
        }
        if role == "mentor":
            answers.update(topics_offered=topics[:1], development_areas=growth[:1])
        else:
            answers["topics_wanted"] = topics[:1]
        box.answer_modal(person.user_id, answers)
        assert box.top_modal(person.user_id) is None
    box.command(ADMIN_ID, "/mentoring match", "")
    box.answer_modal(ADMIN_ID, {})


def test_the_clock_steps_an_hour_a_day_or_to_a_members_working_morning(
    sandbox: Sandbox,
) -> None:
    box = sandbox
    box.clock.set(START)
    for step, expected in (
        ("hour", START + timedelta(hours=1)),
        ("day", START + timedelta(days=1, hours=1)),
    ):
        moved = _post(box, "/api/clock", user=ADMIN_ID, step=step)
        assert clock.utcnow() == expected
        assert moved["state"]["clock"] == expected.isoformat()
    # Tue 10:00 UTC is 05:00 in New York: its next working morning is 09:00 there, 14:00 UTC.
    new_yorker = _in(box, "New York")
    moved = _post(box, "/api/clock", user=ADMIN_ID, step="morning", member=new_yorker.user_id)
    assert clock.utcnow() == datetime(2027, 1, 5, 14, 0, tzinfo=UTC)
    assert "Tue 5 Jan 09:00 in New York" in moved["report"]["title"]
    # 15:00 in Berlin is inside its working day: the next morning is Wednesday's, 08:00 UTC.
    _post(box, "/api/clock", user=ADMIN_ID, step="morning", member=_in(box, "Berlin").user_id)
    assert clock.utcnow() == datetime(2027, 1, 6, 8, 0, tzinfo=UTC)
    # Friday evening in Hanoi: Monday morning, 09:00 there.
    box.clock.set(datetime(2027, 1, 8, 12, 0, tzinfo=UTC))
    _post(box, "/api/clock", user=ADMIN_ID, step="morning", member=_in(box, "Hanoi").user_id)
    assert clock.utcnow() == datetime(2027, 1, 11, 2, 0, tzinfo=UTC)
    refused = _post(box, "/api/clock", user=ADMIN_ID, step="fortnight")
    assert "not 'fortnight'" in refused["error"]
    assert clock.utcnow() == datetime(2027, 1, 11, 2, 0, tzinfo=UTC)


def test_each_members_local_time_is_shown_beside_their_name(sandbox: Sandbox) -> None:
    sandbox.clock.set(START)
    state = _post(sandbox, "/api/home", user=ADMIN_ID)["state"]
    times = {t["id"]: t for t in state["members"]}
    assert set(times) == {p.user_id for p in sandbox.people}
    expected = {"Berlin": ("Mon 10:00", True), "Hanoi": ("Mon 16:00", True)}
    expected["New York"] = ("Mon 04:00", False)
    for person in sandbox.people:
        shown = times[person.user_id]
        assert (shown["local_time"], shown["working"]) == expected[person.office.city]


def test_a_job_run_says_what_it_queued_for_whom_and_when_it_arrives(
    sandbox_at: Sandbox,
) -> None:
    box = sandbox_at
    berliner, new_yorker = _in(box, "Berlin"), _in(box, "New York")
    programme_and_pair(box, berliner, new_yorker)
    _post(box, "/api/clock", user=ADMIN_ID, step="month")  # Wed 3 Feb, 09:00 UTC
    ran = _post(box, "/api/job", user=ADMIN_ID, name="checkin")["report"]
    lines = {line["to"]: line for line in ran["lines"]}
    assert set(lines) == {berliner.name, new_yorker.name}  # names, not ids
    assert lines[berliner.name]["status"] == "sent"
    assert lines[berliner.name]["when"] == "arrived Wed 3 Feb 10:00 their time (Berlin)"
    assert lines[new_yorker.name]["status"] == "waiting"
    assert lines[new_yorker.name]["when"] == (
        "arrives Wed 3 Feb 09:00 their time (New York), in 5 h"
    )
    assert ran["summary"] == "2 messages: 1 sent, 1 waiting"
    assert new_yorker.name in ran["html"] and new_yorker.user_id not in ran["html"]

    # The check-in reaches New York when its working morning comes.
    def asked(state: dict[str, Any]) -> bool:
        return any("journey_met" in m["html"] for m in _conversation(state, "dm")["messages"])

    assert not asked(_post(box, "/api/home", user=new_yorker.user_id)["state"])
    moved = _post(box, "/api/clock", user=ADMIN_ID, step="morning", member=new_yorker.user_id)[
        "report"
    ]
    assert clock.utcnow() == datetime(2027, 2, 3, 14, 0, tzinfo=UTC)
    assert moved["lines"] == [
        {
            "to": new_yorker.name,
            "what": "checkin",
            "status": "sent",
            "when": "arrived Wed 3 Feb 09:00 their time (New York)",
        }
    ]
    assert asked(_post(box, "/api/home", user=new_yorker.user_id)["state"])
    # Held by the kill switch: the report says so rather than a time that will not come.
    _post(box, "/api/command", user=ADMIN_ID, text="/mentoring hold on", channel="")
    _post(box, "/api/clock", user=ADMIN_ID, step="week")
    nudged = _post(box, "/api/job", user=ADMIN_ID, name="nudge")["report"]
    assert nudged["lines"] and {line["status"] for line in nudged["lines"]} == {"held"}


# ---------------------------------------------------------------- mentions as people type them


def test_at_names_become_slacks_mentions() -> None:
    members = [
        Mentionable("U1", "Owen Kim", "owen.kim"),
        Mentionable("U2", "Owen Kim Jr.", "owen.kim.jr."),
        Mentionable("U3", "Jörg Groß", "jörg.groß"),
        Mentionable("U4", "Ann Lee", "ann.lee"),
        Mentionable("U5", "Ann Lee", "ann.lee2"),
    ]
    cases = {
        "shoutout @Owen Kim great work": "shoutout <@U1|owen.kim> great work",
        "@owen kim jr. and @JÖRG GROSS": "<@U2|owen.kim.jr.> and @JÖRG GROSS",
        "@Jörg Groß, thanks.": "<@U3|jörg.groß>, thanks.",
        "thanks @owen.kim.": "thanks <@U1|owen.kim>.",
        "@Ann Lee is two people": "@Ann Lee is two people",
        "@Owen Kimberly": "@Owen Kimberly",
        "mail owen@Owen Kim": "mail owen@Owen Kim",
        "<@U1|owen.kim> already": "<@U1|owen.kim> already",
    }
    for typed, sent in cases.items():
        assert with_mentions(typed, members) == sent


def test_a_shout_out_typed_with_names_reaches_the_people(sandbox_on: Sandbox) -> None:
    box = sandbox_on
    opened = _post(box, "/api/command", user=ADMIN_ID, text="/mentoring program", channel="")
    _post(box, "/api/submit", user=ADMIN_ID, view_id=opened["state"]["modal"]["id"],
          values=program_values(channel="C0MENTORING"))  # fmt: skip
    first, second = [p for p in box.people if not p.is_admin][:2]
    text = f"/mentoring shoutout @{first.name} @{second.name.upper()} great work"
    result = _post(box, "/api/command", user=ADMIN_ID, text=text, channel="")
    # Neither enrolled (so neither agreed to be named in public): both are thanked by DM,
    # and the admin is told so, naming both: the app received two mentions.
    (reply,) = [m for m in _conversation(result["state"], "dm")["messages"] if m.get("ephemeral")]
    assert first.name in reply["html"] and second.name in reply["html"]
    for person in (first, second):
        theirs = _post(box, "/api/home", user=person.user_id)["state"]
        assert any("great work" in m["html"] for m in _conversation(theirs, "dm")["messages"])
    assert not box.fake.posted_messages("C0MENTORING")


# ---------------------------------------------------------------- Slack's client, faithfully


def test_a_modal_without_a_submit_button_cannot_be_submitted(sandbox_at: Sandbox) -> None:
    """Slack's client shows only Close on a modal with no submit button, so no
    view_submission reaches the app (the demo once sent such ones: Bolt logged them as
    unhandled requests)."""
    box = sandbox_at
    programme_and_pair(box, _in(box, "Berlin"), _in(box, "New York"))
    approved = box.top_modal(ADMIN_ID)  # "Matches approved", with a Done button only
    assert approved is not None and not approved.get("submit")
    before = len(box.fake.calls())
    result = _post(box, "/api/submit", user=ADMIN_ID, view_id=approved["id"], values={})
    assert "no submit button" in result["notice"]
    assert result["state"]["modal"]["id"] == approved["id"]
    assert 'data-kind="submit"' not in result["state"]["modal"]["html"]
    assert len(box.fake.calls()) == before
    _post(box, "/api/close", user=ADMIN_ID, view_id=approved["id"])
    assert box.top_modal(ADMIN_ID) is None
