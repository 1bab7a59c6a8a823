"""The roster in Slack: `/mentoring roster` (super-admins), a file in the modal's file_input,
the preview in the modal, Apply; refusals; and users.lookupByEmail paced under Slack's 429s.
Signed requests to the real app, the simulated Slack behind it, both databases."""

from __future__ import annotations

import time
from typing import Any

from sqlmodel import select

from bot.simulated_slack import signed_requests as sr
from bot.simulated_slack.rate_limits import SLACK_LIKE
from bot.simulated_slack.web_api import FakeSlack
from bot.slack_api import make_web_client
from bot.usecases.roster import LOOKUP_BURST, SlackDirectory
from bot.views.roster import FILE_FIELD, FULL_FIELD
from storage.models import AuditEvent, RosterEntry, RosterImport
from tests.conftest import ADMIN, BOT_TOKEN, RunningApp
from tests.flows import command_reply, eventually, modal_updates, open_modal

PEOPLE = {"UROSE001": "ada@example.com", "UROSE002": "bo@example.com"}
ROSTER = (
    "email,department,manager,title\n"
    "ada@example.com,Board,,CEO\n"
    "bo@example.com,Engineering,ada@example.com,CTO\n"
    "ghost@example.com,Sales,ada@example.com,Rep\n"
)


def _people(app: RunningApp) -> None:
    for user, email in PEOPLE.items():
        app.fake.add_user(user, email=email)


def _answer_view(app: RunningApp, response: sr.Response, view_id: str) -> dict[str, Any]:
    """The view the submission put in the modal (same id, as in Slack): in its ack, or when
    the work was slow, by views.update after "still saving"."""
    assert response.status == 200, response.body
    if response.body:
        answer = response.json()
        assert answer.get("response_action") != "errors", answer
        if answer["view"].get("callback_id") != "saving":
            return {**answer["view"], "id": view_id}

    def done() -> list[dict[str, Any]]:
        return [v for v in modal_updates(app, view_id) if v.get("callback_id") != "saving"]

    return {**eventually(done)[-1], "id": view_id}


def _texts(view: dict[str, Any]) -> str:
    return "\n".join(
        str((block.get("text") or {}).get("text") or "")
        + " ".join(str(e.get("text") or "") for e in block.get("elements") or [])
        for block in view["blocks"]
    )


def _upload(app: RunningApp, user: str, data: bytes, *, full: bool = False) -> dict[str, Any]:
    view = open_modal(app, user, "roster")
    assert view["callback_id"] == "roster_upload"
    shared = app.fake.share_file(user, "roster.csv", data)
    values = sr.values_from(
        {
            FILE_FIELD: sr.file_input([shared]),
            FULL_FIELD: sr.checkboxes(["full"] if full else []),
        }
    )
    return _answer_view(app, app.slack.view_submission(user, view, values), view["id"])


def _entries(app: RunningApp) -> dict[str, RosterEntry]:
    with app.db.session() as session:
        return {e.slack_user_id: e for e in session.exec(select(RosterEntry)).all()}


def test_an_admin_uploads_a_roster_sees_the_preview_and_applies_it(running_app: RunningApp) -> None:
    app = running_app
    _people(app)
    preview = _upload(app, ADMIN, ROSTER.encode())
    shown = _texts(preview)
    assert preview["callback_id"] == "roster_apply"
    assert "3 rows, 2 matched a Slack user: 2 new, 0 changed, 0 unchanged." in shown
    assert "ghost@example.com" in shown
    assert preview["submit"]["text"] == "Apply"
    assert _entries(app) == {}  # the preview wrote nothing
    downloads = app.fake.calls("files.download")
    assert downloads and all(c.ok for c in downloads)

    outcome = _answer_view(app, app.slack.view_submission(ADMIN, preview, {}), preview["id"])
    assert "Roster imported: 2 new, 0 changed, 0 left the roster." in _texts(outcome)
    entries = _entries(app)
    assert entries["UROSE002"].manager_slack_id == "UROSE001"
    assert entries["UROSE002"].title == "CTO"
    with app.db.session() as session:
        record = session.exec(select(RosterImport)).one()
        audit = session.exec(select(AuditEvent)).one()
    assert record.source == "slack: roster.csv" and record.created_by == ADMIN
    assert (audit.actor_slack_id, audit.action, audit.detail["created"]) == (
        ADMIN,
        "roster.import",
        2,
    )

    # The same file again: the preview says there is nothing to change, and offers no Apply.
    again = _upload(app, ADMIN, ROSTER.encode())
    assert "submit" not in again
    assert "Nothing to change" in _texts(again)


def test_a_bad_roster_shows_its_problems_in_the_modal_and_cannot_be_applied(
    running_app: RunningApp,
) -> None:
    app = running_app
    _people(app)
    data = b"email,manager,salary\nada@example.com,bo@example.com,1\n"
    preview = _upload(app, ADMIN, data)
    assert "submit" not in preview
    assert "Unknown column “salary”" in _texts(preview)
    loop = "slack_id,manager\nUROSE001,bo@example.com\nUROSE002,UROSE001\n"
    preview = _upload(app, ADMIN, loop.encode())
    assert "submit" not in preview
    assert "Line 2: the managers form a loop: UROSE001 → UROSE002 → UROSE001" in _texts(preview)
    assert _entries(app) == {}


def test_only_super_admins_may_import_a_roster(running_app: RunningApp) -> None:
    app = running_app
    _people(app)
    reply = command_reply(app, "UROSE002", "roster")
    assert "Only programme admins can do that" in reply["text"]
    # A forged Apply (the admin's preview, submitted by someone else) is refused in the modal.
    preview = _upload(app, ADMIN, ROSTER.encode())
    app.fake.add_user("UROSE002", email="bo@example.com")  # known to the app as no admin
    answer = app.slack.view_submission("UROSE002", preview, {}).json()
    assert answer["response_action"] == "update"
    assert "Only programme admins" in _texts(answer["view"])
    assert _entries(app) == {}


def test_apply_refuses_a_file_that_changed_since_the_preview(running_app: RunningApp) -> None:
    app = running_app
    _people(app)
    preview = _upload(app, ADMIN, ROSTER.encode())
    file_id = app.fake.calls("files.download")[-1].params["file"]
    app.fake._user_files[file_id] = ("roster.csv", ROSTER.replace("CTO", "CEO").encode())
    outcome = _answer_view(app, app.slack.view_submission(ADMIN, preview, {}), preview["id"])
    assert "not the one previewed" in _texts(outcome)
    assert _entries(app) == {}


def test_lookups_are_paced_for_tier_3_and_wait_out_429s() -> None:
    """users.lookupByEmail against Slack's Tier 3 (50 a minute, short bursts): asked faster
    than that, the app gets 429s, waits out Retry-After and still resolves every email."""
    with FakeSlack(bot_token=BOT_TOKEN, rate_limits=SLACK_LIKE) as fake:
        emails = [f"p{n}@example.com" for n in range(8)]
        for n, email in enumerate(emails):
            fake.add_user(f"UPACE{n:03d}", email=email)
        client = make_web_client(BOT_TOKEN, fake.api_url)
        hasty = SlackDirectory(client, lookup_per_minute=6000, burst=100)
        started = time.monotonic()
        found = hasty.resolve([*emails, "nobody@example.com"])
        took = time.monotonic() - started
    assert found == {
        **{e: f"UPACE{n:03d}" for n, e in enumerate(emails)},
        "nobody@example.com": None,
    }
    limited = [c for c in fake.calls("users.lookupByEmail") if c.status == 429]
    assert limited and hasty.figures.rate_limited == len(limited)
    assert hasty.figures.lookups == 9 + len(limited)
    assert took >= 1.0  # Retry-After was waited out


def test_at_the_tier_3_pace_slack_never_answers_429() -> None:
    with FakeSlack(bot_token=BOT_TOKEN, rate_limits=SLACK_LIKE) as fake:
        emails = [f"q{n}@example.com" for n in range(7)]
        for n, email in enumerate(emails):
            fake.add_user(f"UPACE{n:03d}", email=email)
        directory = SlackDirectory(make_web_client(BOT_TOKEN, fake.api_url))
        started = time.monotonic()
        assert all(directory.resolve(emails).values())
        took = time.monotonic() - started
    assert [c.status for c in fake.calls("users.lookupByEmail")] == [200] * 7
    assert directory.figures.rate_limited == 0
    assert took >= (7 - LOOKUP_BURST) * 60 / 50 - 0.1  # a burst of four, then 1.2 s apart


def test_a_full_roster_from_the_modal_takes_people_missing_from_it_off_the_roster(
    running_app: RunningApp,
) -> None:
    app = running_app
    _people(app)
    preview = _upload(app, ADMIN, ROSTER.encode())
    _answer_view(app, app.slack.view_submission(ADMIN, preview, {}), preview["id"])
    only_ada = "email,department\nada@example.com,Board\n"
    preview = _upload(app, ADMIN, only_ada.encode(), full=True)
    assert "Full roster: 1 people not in it leave the programme." in _texts(preview)
    outcome = _answer_view(app, app.slack.view_submission(ADMIN, preview, {}), preview["id"])
    assert "1 changed, 1 left the roster" in _texts(outcome)
    bo = _entries(app)["UROSE002"]
    assert bo.left_reason == "missing_from_roster" and bo.left_at is not None


def test_a_file_over_20_mb_or_not_utf8_is_refused_in_the_modal(running_app: RunningApp) -> None:
    app = running_app
    _people(app)
    view = open_modal(app, ADMIN, "roster")
    huge = app.fake.share_file(ADMIN, "huge.csv", b"email\n")
    huge["size"] = 25 * 1024 * 1024  # what Slack says of the file
    values = sr.values_from({FILE_FIELD: sr.file_input([huge]), FULL_FIELD: sr.checkboxes([])})
    preview = _answer_view(app, app.slack.view_submission(ADMIN, view, values), view["id"])
    assert "The file is 25.0 MB; a roster may be at most 20 MB." in _texts(preview)
    assert "submit" not in preview
    assert app.fake.calls("files.download") == []  # refused unread

    latin = "email,office\nada@example.com,Düsseldorf\n".encode("latin-1")
    preview = _upload(app, ADMIN, latin)
    assert "The file is not UTF-8: line 2 has the byte 0xFC" in _texts(preview)
    assert "submit" not in preview
    assert _entries(app) == {}
