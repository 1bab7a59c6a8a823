"""Messages the app owes are queued with the change that owes them, and delivered the same way
whichever process sends them: the server right after the commit, or the scheduler alone."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlmodel import select

from bot.i18n import translator
from bot.views import common
from storage.models import OutboxMessage, Pair, PairEvent, Participant
from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, RunningApp
from tests.flows import Person, enroll, enrollment_values, eventually, open_modal, setup_program

ROOT = Path(__file__).resolve().parent.parent
MENTOR = Person("UOWEDMENTOR", "mentor", "de", offered=["ai_tools"])
MENTEE = Person("UOWEDMENTEE", "mentee", "vi", wanted=["ai_tools"])


@contextmanager
def outbox_writes_fail(app: RunningApp) -> Iterator[None]:
    """The database itself refuses every write to the outbox (as a full disk would), inside
    whatever transaction attempts it; our code runs unchanged."""
    with app.db.engine.begin() as connection:
        if app.db.is_postgres:
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_outbox() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'could not extend file' USING ERRCODE = '53100'; "
                    "END $$ LANGUAGE plpgsql"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox_message "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_outbox()"
                )
            )
        else:  # fails at run time with an OperationalError, as SQLite's I/O errors do
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox_message "
                    "BEGIN SELECT 1 FROM storage_is_full; END"
                )
            )
    try:
        yield
    finally:
        with app.db.engine.begin() as connection:
            connection.execute(
                text("DROP TRIGGER IF EXISTS refuse_outbox ON outbox_message")
                if app.db.is_postgres
                else text("DROP TRIGGER IF EXISTS refuse_outbox")
            )
            if app.db.is_postgres:
                connection.execute(text("DROP FUNCTION IF EXISTS refuse_outbox()"))


def _training_posts(app: RunningApp, user_id: str) -> list[object]:
    return [
        call
        for call in app.fake.calls("chat.postMessage")
        if call.ok
        and call.went_to("D" + user_id)
        and "training_read" in json.dumps(call.params.get("blocks", []))
    ]


def test_enrollment_and_its_training_pack_are_stored_together_or_not_at_all(
    running_app: RunningApp,
) -> None:
    setup_program(running_app)
    MENTEE.add_to(running_app)
    view = open_modal(running_app, MENTEE.user_id, "join")
    with outbox_writes_fail(running_app):
        failed = running_app.slack.view_submission(MENTEE.user_id, view, enrollment_values(MENTEE))
    # The person is told in the modal, which stays open with their answers ...
    assert failed.status == 200
    body = failed.json()
    assert body["response_action"] == "errors"
    # (a full disk is a database that cannot take writes for now)
    assert body["errors"]["role"] == common.unavailable(translator(MENTEE.language))["text"]
    # ... and nothing is half-done: no participant without their pack, no pack without them.
    with running_app.db.session() as session:
        assert session.exec(select(Participant)).all() == []
        assert session.exec(select(OutboxMessage)).all() == []
    # The retry works, and exactly one pack arrives.
    retried = running_app.slack.view_submission(MENTEE.user_id, view, enrollment_values(MENTEE))
    assert retried.status == 200 and retried.body in ("", "{}")

    def delivered() -> bool:
        with running_app.db.session() as session:
            rows = session.exec(select(OutboxMessage)).all()
        return len(rows) == 2 and all(row.status == "sent" for row in rows)

    eventually(delivered)
    assert len(_training_posts(running_app, MENTEE.user_id)) == 1
    with running_app.db.session() as session:
        (participant,) = session.exec(select(Participant)).all()
        kinds = sorted(row.kind for row in session.exec(select(OutboxMessage)).all())
    assert participant.slack_user_id == MENTEE.user_id
    assert kinds == ["enrolled", "training"]


def _enroll_pair(app: RunningApp) -> None:
    for person in (MENTOR, MENTEE):
        person.add_to(app)
        assert enroll(app, person).status == 200

    def settled() -> bool:
        with app.db.session() as session:
            rows = session.exec(select(OutboxMessage)).all()
        homes = all(app.fake.home_of(p.user_id) for p in (MENTOR, MENTEE))
        return homes and len(rows) == 4 and all(row.status == "sent" for row in rows)

    eventually(settled)


def _approve_one_pair(app: RunningApp) -> None:
    before = len(app.fake.calls("views.update"))
    app.slack.command(ADMIN, "match")
    review = app.fake.wait_for_count("views.update", before + 1)[-1]
    assert review.ok and review.response is not None
    assert app.slack.view_submission(ADMIN, review.response["view"], {}).status == 200


def test_a_process_that_only_delivers_the_outbox_completes_introductions(
    running_app: RunningApp,
) -> None:
    """The server's own attempt to post the intro fails; a separate process that loads no
    listener (the scheduler's `deliver_outbox`) sends it later, and the pair's conversation is
    recorded exactly as when the server sends it."""
    setup_program(running_app)
    _enroll_pair(running_app)
    running_app.fake.fail_next("chat.postMessage", status=200, error="internal_error")
    _approve_one_pair(running_app)

    def intro_failed_once() -> OutboxMessage | None:
        with running_app.db.session() as session:
            row = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "intro")).first()
        return row if row is not None and row.attempts == 1 else None

    assert eventually(intro_failed_once).status == "pending"  # due again after a back-off
    with running_app.db.session() as session:
        assert session.exec(select(Pair)).one().conversation_id is None

    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": running_app.fake.api_url,
        "DATABASE_URL": running_app.db.url,
        "ADMIN_USER_IDS": ADMIN,
    }
    script = (
        "import json, sys\n"
        "from datetime import timedelta\n"
        "from bot.clock import ManualClock, utcnow\n"
        "from bot.services import build_services\n"
        "from bot.settings import parse_settings\n"
        "from scheduler.runner import deliver_outbox\n"
        "later = ManualClock(utcnow() + timedelta(minutes=5))  # past the retry back-off\n"
        "services = build_services(parse_settings(json.loads(sys.argv[1])), clock=later)\n"
        "sent = deliver_outbox(services)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'handlers'], 'listeners loaded'\n"
        "print(sent)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(env)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    intros = [
        c
        for c in running_app.fake.calls("chat.postMessage")
        if c.ok and c.params["channel"].startswith("G")
    ]
    assert len(intros) == 1
    with running_app.db.session() as session:
        pair = session.exec(select(Pair)).one()
        events = [e.kind for e in session.exec(select(PairEvent)).all()]
    assert pair.conversation_id == intros[0].params["channel"]
    assert pair.introduced_at is not None
    assert "introduced" in events
