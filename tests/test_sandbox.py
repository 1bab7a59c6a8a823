"""The sandbox's page API over HTTP: the real app behind it, Slack's client behaviour in front."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import clock
from bot.sandbox.server import Sandbox
from bot.sandbox.workspace import ADMIN_ID, seed_people
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


def _get(box: Sandbox, path: str) -> tuple[int, bytes]:
    with _OPENER.open(box.url.rstrip("/") + path, timeout=10) as response:
        return response.status, response.read()


def _post(box: Sandbox, path: str, **body: Any) -> dict[str, Any]:
    request = urllib.request.Request(
        box.url.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with _OPENER.open(request, timeout=10) as response:
        return json.loads(response.read())


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
    assert good["state"]["modal"] is None
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
