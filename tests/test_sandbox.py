"""The sandbox's page API over HTTP: the real app behind it, Slack's client behaviour in front."""

from __future__ import annotations

import functools
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot import clock
from bot.i18n import translator
from bot.sandbox.access import host_refusal
from bot.sandbox.server import Sandbox
from bot.sandbox.workspace import ADMIN_ID, seed_people
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


def test_only_admins_move_the_clock_or_run_jobs(sandbox_on: Sandbox) -> None:
    box = sandbox_on
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
    assert ran["notice"].startswith("checkin")


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
