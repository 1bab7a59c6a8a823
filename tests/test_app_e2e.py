"""The foundation, end to end: signed requests in, Web API calls out to the fake Slack."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from bot.simulated_slack.web_api import real_time
from storage import repositories as repo
from tests.conftest import ADMIN, RunningApp
from tests.flows import command_reply, eventually, setup_program

USER = "UEMPLOYEE1"


@pytest.fixture
def app(running_app: RunningApp) -> RunningApp:
    running_app.fake.add_user(USER, real_name="Erin Employee", locale="en-US")
    return running_app


@pytest.mark.parametrize("text", ["help", "", "  HELP  "])
def test_help_lists_commands_ephemerally(app: RunningApp, text: str) -> None:
    response = app.slack.command(USER, text)
    assert response.status == 200 and response.body == ""  # acknowledged at once
    reply = command_reply(app, USER, text)
    rendered = json.dumps(reply)
    assert "/mentoring join" in rendered and "/mentoring leave" in rendered
    assert "/mentoring match" not in rendered  # admin commands are not offered to everyone


def test_once_the_persons_language_is_known_the_answer_is_the_acknowledgement(
    app: RunningApp,
) -> None:
    """The first command waits for users.info after the ack (response_url); from then on a
    text answer goes out in the acknowledgement itself, as Slack shows it, nothing posted."""
    first = app.slack.command(USER, "help")
    assert first.status == 200 and first.body == ""
    app.fake.wait_for("response_url", lambda c: c.ok)
    second = app.slack.command(USER, "help")
    assert second.status == 200
    answer = second.json()
    assert answer["response_type"] == "ephemeral" and "/mentoring join" in json.dumps(answer)
    refused = app.slack.command(USER, "match").json()
    assert "Only programme admins" in refused["text"]
    assert len(app.fake.calls("response_url")) == 1 and len(app.fake.calls("users.info")) == 1
    shown = app.fake.ephemeral_messages(USER, "C0GENERAL")
    assert [m["via"] for m in shown] == ["response_url", "command_ack", "command_ack"]
    assert shown[1]["blocks"] == answer["blocks"]


def test_a_command_with_work_to_do_is_acknowledged_empty_even_when_known(
    app: RunningApp,
) -> None:
    command_reply(app, ADMIN, "help")  # the admin's language is now known
    response = app.slack.command(ADMIN, "program")
    assert response.status == 200 and response.body == ""
    app.fake.wait_for("views.open", lambda c: c.ok)


def test_admin_help_includes_admin_commands(app: RunningApp) -> None:
    assert "/mentoring match" in json.dumps(command_reply(app, ADMIN, "help"))


def test_unknown_subcommand_gets_friendly_hint(app: RunningApp) -> None:
    text = command_reply(app, USER, "dance")["text"]
    assert "`dance`" in text and "/mentoring help" in text


def test_help_is_in_the_users_slack_language(app: RunningApp) -> None:
    app.fake.add_user("UGERMAN01", locale="de-DE")
    app.fake.add_user("UVIET0001", locale="vi-VN")
    english = command_reply(app, USER, "help")["text"]
    german = command_reply(app, "UGERMAN01", "help")["text"]
    vietnamese = command_reply(app, "UVIET0001", "help")["text"]
    assert len({english, german, vietnamese}) == 3
    users_info = app.fake.calls("users.info")
    assert users_info and all(
        c.params.get("include_locale") in (True, "true", "1") for c in users_info
    )


@pytest.mark.parametrize("subcommand", ["program", "match", "report", "shoutout"])
def test_admin_only_commands_refused_for_others(app: RunningApp, subcommand: str) -> None:
    assert "Only programme admins" in command_reply(app, USER, subcommand)["text"]
    assert app.fake.calls("views.open") == []
    with app.db.session() as session:
        assert repo.all_programs(session) == []


def test_workspace_admins_count_as_admins(app: RunningApp) -> None:
    app.fake.add_user("UOWNER001", is_owner=True)
    app.slack.command("UOWNER001", "program")
    call = app.fake.wait_for("views.open")
    assert call.ok and call.params["view"]["callback_id"] == "program_settings"


def test_app_home_welcomes_newcomers_with_join_button(app: RunningApp) -> None:
    setup_program(app)
    response = app.slack.app_home_opened(USER)
    assert response.status == 200
    call = app.fake.wait_for("views.publish", lambda c: c.params.get("user_id") == USER)
    assert call.ok, call.error
    actions = [
        element["action_id"]
        for block in call.params["view"]["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert "home_join" in actions
    assert "Digital Leaders 2027" in json.dumps(call.params["view"])


def test_app_home_without_programme(app: RunningApp) -> None:
    app.slack.app_home_opened(USER)
    view = app.fake.wait_for("views.publish").params["view"]
    assert "no mentoring programme running yet" in json.dumps(view)


def test_event_redelivery_is_handled_once(app: RunningApp) -> None:
    event = {
        "type": "app_home_opened",
        "user": USER,
        "channel": "D1",
        "tab": "home",
        "event_ts": "1.0",
    }
    assert app.slack.event(event, event_id="Ev0001").status == 200
    assert app.slack.event(event, event_id="Ev0001", retry_num=1).status == 200
    app.fake.wait_for("views.publish")
    # Drain the listener pool: whatever the retry could have started has finished now.
    assert app.services.listener_executor is not None
    app.services.listener_executor.shutdown(wait=True)
    assert len(app.fake.calls("views.publish")) == 1


def test_bad_signature_is_rejected_and_nothing_runs(app: RunningApp) -> None:
    body = b"command=%2Fmentoring&text=help&user_id=" + USER.encode()
    response = app.slack.raw(body, signature="v0=" + "0" * 64)
    assert response.status == 401
    assert app.fake.calls() == []


def test_stale_timestamp_is_rejected(app: RunningApp) -> None:
    body = b"command=%2Fmentoring&text=help&user_id=" + USER.encode()
    response = app.slack.raw(body, timestamp=str(int(time.time()) - 600))
    assert response.status == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        (b"payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
        (b"{broken", "application/json"),
        (b"\xff\xfe\x00", "application/x-www-form-urlencoded"),
        (b"", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_bodies_get_4xx(app: RunningApp, body: bytes, content_type: str) -> None:
    response = app.slack.raw(body, content_type=content_type)
    assert 400 <= response.status < 500, response.status


def test_unknown_payloads_are_4xx_not_500(app: RunningApp) -> None:
    unknown_type = app.slack.payload({"type": "something_new", "user": {"id": USER}})
    unknown_button = app.slack.block_action(USER, "no_such_action", block_id="x")
    unknown_event = app.slack.event({"type": "reaction_added", "user": USER})
    # Signed but not a type the app listens to: an empty 200 (see bot/web.py).
    assert (unknown_type.status, unknown_type.body) == (200, "")
    assert unknown_button.status == 200  # a stale button: a polite note (see below), no error
    assert unknown_event.status in (200, 404)  # Slack stops retrying either way
    assert app.fake.calls("chat.postMessage") == []


def test_stale_button_gets_a_polite_note_not_an_error(app: RunningApp) -> None:
    """A click on a button the app no longer knows is answered 200, and the person is told."""
    in_message = app.slack.block_action(USER, "retired_button", value="7", block_id="old")
    assert in_message.status == 200 and in_message.response_url is not None
    token = in_message.response_url.rsplit("/", 1)[-1]
    note = app.fake.wait_for("response_url", lambda c: c.params.get("_token") == token)
    assert note.params.get("response_type") == "ephemeral"
    assert "no longer works" in note.params["text"]
    assert not note.params.get("replace_original")  # the old message itself stays as it was
    # In App Home there is no response_url: the note comes as a DM.
    home = {"id": "VHOME01", "type": "home", "blocks": []}
    in_home = app.slack.block_action(USER, "retired_home_button", view=home, block_id="old")
    assert in_home.status == 200
    dm = app.fake.wait_for("chat.postMessage", lambda c: c.went_to("D" + USER))
    assert dm.ok and "no longer works" in dm.params["text"]


def test_url_verification(app: RunningApp) -> None:
    response = app.slack.url_verification("challenge-123")
    assert response.status == 200 and "challenge-123" in response.body


def test_healthz_checks_the_database(app: RunningApp) -> None:
    url = app.url.replace("/slack/events", "/healthz")
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"status": "ok", "database": "ok"}


def test_web_api_429_is_retried_with_retry_after(app: RunningApp) -> None:
    app.fake.fail_next("views.publish", status=429, retry_after=1)
    app.slack.app_home_opened(USER)
    ok = app.fake.wait_for("views.publish", lambda c: c.ok, timeout=10)
    failed = [c for c in app.fake.calls("views.publish") if not c.ok]
    assert failed and failed[0].status == 429
    assert ok.at - failed[0].at >= 0.9  # waited for Retry-After


def test_web_api_5xx_is_retried(app: RunningApp) -> None:
    app.fake.fail_next("users.info", status=503)
    assert "/mentoring join" in json.dumps(command_reply(app, USER, "help"))
    assert len([c for c in app.fake.calls("users.info") if not c.ok]) == 1
    assert any(c.ok for c in app.fake.calls("users.info"))


def test_unknown_user_still_gets_an_answer(app: RunningApp) -> None:
    assert "/mentoring join" in json.dumps(command_reply(app, "UGHOST0001", "help"))


@contextmanager
def _database_held(app: RunningApp) -> Iterator[Callable[[], float]]:
    """Another connection holds what the App Home reads: the programme table (PostgreSQL),
    or the whole file, as a backup tool may (SQLite: a WAL writer would not stop readers).
    Yields the release, which returns when it released (the simulated Slack's clock)."""
    if app.db.is_postgres:
        connection = app.db.engine.connect()
        connection.execute(text("LOCK TABLE program IN ACCESS EXCLUSIVE MODE"))
        close = connection.close  # rolls back, releasing the lock
    else:
        held = sqlite3.connect(app.db.url.removeprefix("sqlite:///"), timeout=30)
        held.isolation_level = None
        held.execute("PRAGMA locking_mode=EXCLUSIVE")
        held.execute("BEGIN EXCLUSIVE")
        close = held.close
    released: list[float] = []

    def release() -> float:
        if not released:
            released.append(real_time())
            close()
        return released[0]

    try:
        yield release
    finally:
        release()


def _waiting_for_a_lock(app: RunningApp) -> bool:
    with app.db.engine.connect() as connection:
        waiting = connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        ).all()
    return bool(waiting)


def test_briefly_locked_database_does_not_lose_the_request(app: RunningApp) -> None:
    """A connection holding the database delays a request; it does not fail it: the App Home
    is published once the lock is gone, and it is the right one."""
    setup_program(app)
    pool = app.services.listener_executor
    assert pool is not None and pool.wait_idle(30)  # setup's own work is done
    statuses: list[int] = []
    with _database_held(app) as release:
        # On SQLite the event's de-duplication waits for the file, so the ack does too.
        opening = threading.Thread(
            target=lambda: statuses.append(app.slack.app_home_opened(USER).status)
        )
        opening.start()
        if app.db.is_postgres:
            eventually(lambda: _waiting_for_a_lock(app))  # the listener waits for the table
        else:
            # SQLite's busy wait cannot be seen from outside: a second to get through it.
            threading.Event().wait(1.0)
        released_at = release()
    opening.join(timeout=30)
    assert statuses == [200]
    call = app.fake.wait_for("views.publish", lambda c: c.params.get("user_id") == USER)
    assert call.ok and "home_join" in json.dumps(call.params["view"])
    assert call.at >= released_at  # published only once the lock was released


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_connections_dropped_by_the_server_are_replaced(app: RunningApp) -> None:
    setup_program(app)
    app.slack.app_home_opened(USER)
    app.fake.wait_for("views.publish")
    with app.db.engine.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    app.fake.reset_calls()
    assert "/mentoring match" in json.dumps(command_reply(app, ADMIN, "help"))
    app.slack.app_home_opened(ADMIN)
    assert app.fake.wait_for("views.publish").ok


def test_healthz_reports_an_unreachable_database() -> None:
    from bot.web import SlackWsgiApp
    from storage.db import Database

    broken = SlackWsgiApp(object(), Database("postgresql+psycopg://x@127.0.0.1:1/x"), "s")  # type: ignore[arg-type]
    statuses: list[str] = []
    body = b"".join(
        broken(
            {"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz", "SERVER_PROTOCOL": "HTTP/1.1"},
            lambda status, headers: statuses.append(status),
        )
    )
    assert statuses == ["503 Service Unavailable"]
    assert json.loads(body)["database"] == "unreachable"


def test_listener_client_retries_too(app: RunningApp) -> None:
    """Bolt hands listeners their own WebClient: it must carry the retry handlers as well."""
    app.fake.fail_next("views.open", status=429, retry_after=1)
    assert app.slack.command(ADMIN, "program").status == 200
    opened = app.fake.wait_for("views.open", lambda c: c.ok, timeout=10)
    assert opened.params["view"]["callback_id"] == "program_settings"
    assert [c.status for c in app.fake.calls("views.open")] == [429, 200]


def test_acks_do_not_wait_for_a_slow_web_api(app: RunningApp) -> None:
    """Slack gives 3 s: commands, button clicks and events are acknowledged before any Web API
    call answers. Slack answers no users.info or views.publish until all three acks are in:
    each listener is then still waiting for its lookup; the replies follow."""
    with app.fake.holding("users.info", "views.publish"):
        command = app.slack.command("USLOWUSER1", "help")
        click = app.slack.block_action("USLOWUSER2", "home_join", block_id="join")
        event = app.slack.app_home_opened("USLOWUSER3")
        assert [command.status, click.status, event.status] == [200, 200, 200]
        assert command.body == ""  # the help needs the person's language: it follows
        eventually(lambda: app.fake.held("users.info") == 3)
    replies = app.fake.wait_for_count("response_url", 2)  # the command's and the click's
    assert all(reply.ok for reply in replies)
    home = app.fake.wait_for("views.publish", lambda c: c.params.get("user_id") == "USLOWUSER3")
    assert home.ok
