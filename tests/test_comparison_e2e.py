"""The cross-programme report end to end through signed requests and the simulated Slack, on
SQLite and PostgreSQL: a super-admin sees two programmes side by side with the right numbers
(text, charts, CSV), from `/mentoring report all`, from the "which programme?" question and from
App Home; the owner of one programme is refused with the reason; a hidden programme's pulse
answers are pooled nowhere."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot import clock
from bot.i18n import translator
from bot.views import common
from bot.views import comparison as comparison_views
from bot.views.programmes import CHOOSE_PROGRAMME_ACTION
from handlers.authorize import super_admins_only_message
from storage.models import AuditEvent
from tests.conftest import ADMIN, RunningApp
from tests.flows import command_reply, eventually
from tests.test_comparison import DACH, OPENED, VIETNAM, Shape, seed_programme

OWNER = "UDACHHR1"
OUTSIDER = "UOUTSIDE2"
_ = translator("en")
REASON = super_admins_only_message(_)["text"]
FILES = {
    "pairs-by-programme.png",
    "checkins-by-programme.png",
    "pulse-by-programme.png",
    "programmes-compared.csv",
    "programmes-compared.json",
}


@pytest.fixture
def app_clock(running_app: RunningApp) -> Iterator[clock.ManualClock]:
    manual = clock.ManualClock(OPENED)
    previous = clock.install(manual)
    running_app.services.use_clock(manual)
    try:
        yield manual
    finally:
        clock.install(previous)


def _two_programmes(app: RunningApp, manual: clock.ManualClock) -> None:
    app.fake.add_user(OWNER, real_name="Dana DACH", locale="en-US")
    app.fake.add_user(OUTSIDER, real_name="Olli Outsider", locale="en-US")
    secret = app.services.settings.pulse_key()
    dach = Shape(**{**DACH.__dict__, "owners": [OWNER]})
    seed_programme(app.db, dach, manual, secret)
    seed_programme(app.db, VIETNAM, manual, secret)
    app.services.forget_owners()


def _text(message: dict[str, Any]) -> str:
    return "\n".join(
        str(block.get("text", {}).get("text", ""))
        for block in message.get("blocks") or []
        if block.get("type") == "section"
    )


def _section(text: str, heading: str) -> list[str]:
    """The lines under one figure's heading."""
    part = text.split(f"*{heading}*\n", 1)[1]
    return part.split("\n*", 1)[0].split("\n")


def _uploads(app: RunningApp, user_id: str) -> dict[str, bytes]:
    channel = app.fake.dm_channel(user_id)
    files = eventually(
        lambda: (
            len([f for f in app.fake.uploaded_files() if f["channel"] == channel]) >= len(FILES)
            and [f for f in app.fake.uploaded_files() if f["channel"] == channel]
        )
    )
    return {f["name"]: bytes(f["bytes"]) for f in files}


def _audited(app: RunningApp) -> list[tuple[str | None, dict[str, Any]]]:
    with app.db.session() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "report.compare"))
        return [(event.actor_slack_id, event.detail) for event in events.all()]


def _assert_side_by_side(text: str) -> None:
    assert _section(text, "Mentors (active)") == [
        "DACH 2027: 4",
        "Việt Nam 2027: 2",
        "All programmes: 6",
    ]
    assert _section(text, "Mentees (active)") == [
        "DACH 2027: 5",
        "Việt Nam 2027: 4",
        "All programmes: 9",
    ]
    assert _section(text, "Waiting list") == [
        "DACH 2027: 1",
        "Việt Nam 2027: 2",
        "All programmes: 3",
    ]
    assert _section(text, "Pairs active") == [
        "DACH 2027: 4",
        "Việt Nam 2027: 2",
        "All programmes: 6",
    ]
    assert _section(text, "Met in the latest check-in cycle") == [
        "DACH 2027: 50% (January 2027)",
        "Việt Nam 2027: 100% (January 2027)",
    ]
    assert _section(text, "Check-in answer rate in the latest cycle") == [
        "DACH 2027: 75% (January 2027)",
        "Việt Nam 2027: 100% (January 2027)",
    ]
    assert _section(text, "Goals done") == [
        "DACH 2027: 2 of 4, average progress 70%",
        "Việt Nam 2027: 0 of 1, average progress 40%",
        "All programmes: 2",
    ]
    # Việt Nam's three answers stay hidden (threshold 5) and are pooled nowhere: the pooled
    # figure is DACH's own (n=6, +17), not n=9 and -22, which would give them away.
    assert _section(text, "Latest pulse survey (anonymous)") == [
        "DACH 2027: NPS +17, value 4.0 (n=6, Feb 1, 2027)",
        "Việt Nam 2027: hidden (fewer than 5 answers)",
        "All programmes: NPS +17, value 4.0 (n=6; programmes counted: 1); left out: Việt Nam 2027",
    ]
    assert "n=9" not in text and "-22" not in text


def _assert_files(files: dict[str, bytes]) -> None:
    assert set(files) == FILES
    rows = list(csv.DictReader(io.StringIO(files["programmes-compared.csv"].decode("utf-8-sig"))))
    assert [r["program"] for r in rows] == ["DACH 2027", "Việt Nam 2027", "all"]
    assert [r["pairs_active"] for r in rows] == ["4", "2", "6"]
    assert [r["meeting_rate"] for r in rows] == ["50.0", "100.0", ""]
    assert [r["pulse_respondents"] for r in rows] == ["6", "", "6"]
    assert [r["pulse_nps"] for r in rows] == ["16.7", "", "16.7"]
    document = json.loads(files["programmes-compared.json"])
    assert document[1]["pulse_shown"] is False and document[1]["pulse_nps"] is None
    # Each chart carries its figures; the hidden programme has no NPS bar.
    assert b'"NPS": [17, null, 17]' in files["pulse-by-programme.png"]


def test_a_super_admin_sees_two_programmes_side_by_side(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    _two_programmes(app, app_clock)
    message = command_reply(app, ADMIN, "report all")
    assert message["text"] == "Report across programmes"
    _assert_side_by_side(_text(message))
    _assert_files(_uploads(app, ADMIN))
    assert _audited(app) == [(ADMIN, {"programmes": 2})]


def test_the_owner_of_one_programme_is_refused_with_the_reason(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    _two_programmes(app, app_clock)
    assert command_reply(app, OWNER, "report all")["text"] == REASON
    assert "super-admins" in REASON
    # Their own programme's report is still theirs (one programme: no question asked).
    own = command_reply(app, OWNER, "report")
    assert own["text"] == "Programme report: DACH 2027"

    # The Home button, crafted or forwarded: refused by the middleware, with the reason.
    def told() -> list[str]:
        texts = [str(m["text"]) for m in app.fake.ephemeral_messages(OWNER)]
        return [t for t in texts + app.fake.dm_texts(OWNER) if t == REASON]

    before = len(told())
    response = app.slack.block_action(
        OWNER, comparison_views.CROSS_REPORT_ACTION, value="all", channel_id="D" + OWNER
    )
    assert response.status == 200
    eventually(lambda: len(told()) == before + 1)
    # Someone who runs nothing is told what anyone is told about admin commands.
    assert command_reply(app, OUTSIDER, "report all")["text"] == common.admins_only(_)["text"]
    assert not any("Report across programmes" in t for t in app.fake.dm_texts(OWNER))
    assert _audited(app) == []
    assert not any(
        f["channel"] in (app.fake.dm_channel(OWNER), app.fake.dm_channel(OUTSIDER))
        and f["name"] in FILES
        for f in app.fake.uploaded_files()
    )


def test_all_programmes_from_the_question_and_from_app_home(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    _two_programmes(app, app_clock)
    question = command_reply(app, ADMIN, "report")
    buttons = [
        element
        for block in question.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]
    everything = [b for b in buttons if b["text"]["text"] == "All programmes"]
    assert len(buttons) == 3 and len(everything) == 1
    response = app.slack.block_action(
        ADMIN, CHOOSE_PROGRAMME_ACTION, value=everything[0]["value"], channel_id="D" + ADMIN
    )
    assert response.status == 200
    answer = eventually(
        lambda: [
            m for m in app.fake.ephemeral_messages(ADMIN) if m["text"] == "Report across programmes"
        ]
    )
    _assert_side_by_side(_text(answer[-1]))
    _assert_files(_uploads(app, ADMIN))

    # App Home: the super-admin's button (two programmes), not the owner's.
    for user_id in (ADMIN, OWNER):
        app.slack.app_home_opened(user_id)
    home = eventually(lambda: app.fake.home_of(ADMIN))
    owner_home = eventually(lambda: app.fake.home_of(OWNER))
    assert "cross_report" in {b.get("block_id") for b in home["blocks"]}
    assert "cross_report" not in {b.get("block_id") for b in owner_home["blocks"]}
    before = len(app.fake.uploaded_files())
    response = app.slack.block_action(
        ADMIN,
        comparison_views.CROSS_REPORT_ACTION,
        value="all",
        block_id="cross_report",
        view={"type": "home", "id": home.get("id", "V1")},
    )
    assert response.status == 200
    dm = eventually(
        lambda: [
            m
            for m in app.fake.posted_messages(app.fake.dm_channel(ADMIN))
            if m.get("text") == "Report across programmes"
        ]
    )
    _assert_side_by_side(_text(dm[-1]))
    eventually(lambda: len(app.fake.uploaded_files()) >= before + len(FILES))
