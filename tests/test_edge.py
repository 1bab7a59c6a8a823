"""The edge (bot/web.py, bot/edge.py): signature headers, nesting and payload shapes, and the
typed envelope it hands to listeners.

Every rejection goes through a signed (or deliberately unsigned) request to the running app and
checks the status and that nothing was stored or sent to Slack because of it.
"""

from __future__ import annotations

import io
import json
import logging
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from slack_bolt import BoltContext
from sqlalchemy import func, select
from sqlmodel import SQLModel

from bot.app import create_app
from bot.edge import BlockActions, SlashCommand, envelope_of
from bot.services import build_services
from bot.simulated_slack.signed_requests import JSON, compute_signature
from bot.simulated_slack.web_api import FakeSlack
from bot.views.enrollment import CALLBACK_ID
from bot.views.home import JOIN_ACTION
from bot.web import SlackWsgiApp
from storage.db import Database
from tests.conftest import RunningApp, make_settings

USER = "UEDGE0001"
BARRIER = "UBARRIER1"
COMMAND = b"command=%2Fmentoring&text=help&user_id=" + USER.encode()


@pytest.fixture
def app(running_app: RunningApp) -> RunningApp:
    running_app.fake.add_user(USER, real_name="Edge Case", locale="en-US")
    running_app.fake.add_user(BARRIER, real_name="Barrier", locale="en-US")
    return running_app


def _stored_rows(app: RunningApp) -> int:
    with app.db.engine.connect() as connection:
        return sum(
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in SQLModel.metadata.sorted_tables
            if table.name != "alembic_version"
        )


def assert_nothing_happened(app: RunningApp) -> None:
    """A later, valid command is answered; by then nothing else was sent, nothing stored."""
    assert _stored_rows(app) == 0
    assert app.slack.command(BARRIER, "help").status == 200
    app.fake.wait_for("response_url")
    others = [
        c.method
        for c in app.fake.calls()
        # auth.test: Bolt learns the bot's own id on its first dispatch.
        if c.method not in ("response_url", "auth.test") and c.params.get("user") != BARRIER
    ]
    assert others == []
    assert len(app.fake.calls("response_url")) == 1
    assert _stored_rows(app) == 0


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert [
        r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR
    ] == []


# ---------------------------------------------------------------- 1. signature headers


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Slack-Signature": "v0=" + "0" * 64}, id="no-timestamp"),
        pytest.param({}, id="no-headers"),
        pytest.param({"X-Slack-Request-Timestamp": "abc"}, id="non-numeric"),
        pytest.param({"X-Slack-Request-Timestamp": ""}, id="empty"),
        pytest.param({"X-Slack-Request-Timestamp": "1.7e9"}, id="float"),
        pytest.param({"X-Slack-Request-Timestamp": "-1"}, id="negative"),
        pytest.param({"X-Slack-Request-Timestamp": "\u00b2\u00b3"}, id="latin-1-digits"),
        pytest.param({"X-Slack-Request-Timestamp": "9" * 400}, id="huge"),
    ],
)
def test_missing_or_odd_timestamp_is_401(
    app: RunningApp, caplog: pytest.LogCaptureFixture, headers: dict[str, str]
) -> None:
    signed = {"X-Slack-Signature": "v0=" + "0" * 64} | headers
    response = app.slack.raw(COMMAND, sign=False, headers=signed)
    assert response.status == 401
    assert response.json() == {"error": "invalid request"}
    assert_no_traceback(caplog)
    assert_nothing_happened(app)


def test_signature_with_odd_characters_is_401(
    app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    response = app.slack.raw(COMMAND, signature="v0=\u00e9" + "0" * 63)
    assert response.status == 401
    assert_no_traceback(caplog)
    assert_nothing_happened(app)


def test_signature_over_other_bytes_is_401(app: RunningApp) -> None:
    ts = str(int(time.time()))
    forged = compute_signature(app.settings.slack_signing_secret, ts, b"something else")
    assert app.slack.raw(COMMAND, timestamp=ts, signature=forged).status == 401
    assert_nothing_happened(app)


# ---------------------------------------------------------------- 2. nesting


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b"payload=" + b"%5B" * 10_000, "application/x-www-form-urlencoded", id="form"),
        pytest.param(b"[" * 10_000, JSON, id="json-array"),
        pytest.param(
            b'{"type":"event_callback","event":' + b'{"a":' * 5_000 + b"1" + b"}" * 5_001,
            JSON,
            id="json-objects",
        ),
        pytest.param(
            b'{"type":"event_callback","event_id":"Ev1","event":{"type":"app_home_opened",'
            b'"user":"UEDGE0001","x":' + b"[" * 200 + b"]" * 200 + b"}}",
            JSON,
            id="under-recursion-limit-but-too-deep",
        ),
    ],
)
def test_deeply_nested_payload_is_400(
    app: RunningApp, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    response = app.slack.raw(body, content_type=content_type)
    assert response.status == 400
    assert_no_traceback(caplog)
    assert_nothing_happened(app)


# ---------------------------------------------------------------- 3. shapes


def _block_action(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": USER, "username": "edge", "team_id": "T0TEST"},
        "api_app_id": "A0TEST",
        "team": {"id": "T0TEST", "domain": "testteam"},
        "trigger_id": "1.2.abc",
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home", "callback_id": "", "state": {"values": {}}},
        "actions": [{"action_id": JOIN_ACTION, "block_id": "b", "type": "button"}],
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not _MISSING}


def _view_submission(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "view_submission",
        "user": {"id": USER, "username": "edge", "team_id": "T0TEST"},
        "team": {"id": "T0TEST", "domain": "testteam"},
        "trigger_id": "1.2.abc",
        "view": {
            "id": "V0MODAL",
            "type": "modal",
            "callback_id": CALLBACK_ID,
            "private_metadata": "",
            "state": {"values": {}},
        },
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not _MISSING}


def _event(event: Any) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T0TEST",
        "api_app_id": "A0TEST",
        "event_id": "Ev0EDGE",
        "event_time": 1,
        "event": event,
    }


_MISSING = object()
MODAL = _view_submission()["view"]

BAD_SHAPES: dict[str, Callable[[], dict[str, Any]]] = {
    "user-as-string": lambda: _block_action(user=USER),
    "user-empty": lambda: _block_action(user={}),
    "user-missing": lambda: _block_action(user=_MISSING),
    "user-id-a-number": lambda: _block_action(user={"id": 42}),
    "submission-user-as-string": lambda: _view_submission(user=USER),
    "view-closed-user-missing": lambda: {"type": "view_closed", "view": MODAL},
    "message-state-as-string": lambda: _block_action(view=_MISSING, state="values"),
    "view-state-as-string": lambda: _view_submission(view=MODAL | {"state": "values"}),
    "state-values-as-string": lambda: _view_submission(view=MODAL | {"state": {"values": "x"}}),
    "submitted-view-as-string": lambda: _view_submission(view="V0MODAL"),
    "action-view-as-string": lambda: _block_action(view="V0HOME"),
    "event-as-string": lambda: _event("app_home_opened"),
    "event-without-type": lambda: _event({"user": USER}),
    "actions-as-dict": lambda: _block_action(actions={"action_id": JOIN_ACTION}),
    "actions-empty": lambda: _block_action(actions=[]),
    "actions-null": lambda: _block_action(actions=None),
    "action-as-string": lambda: _block_action(actions=[JOIN_ACTION]),
    "channel-a-number": lambda: _block_action(channel=7),
    "authorizations-as-string": lambda: _block_action(authorizations="abc"),
    "no-type": lambda: {"user": {"id": USER}},
}


@pytest.mark.parametrize("make", BAD_SHAPES.values(), ids=BAD_SHAPES.keys())
def test_payload_of_the_wrong_shape_is_400(
    app: RunningApp, caplog: pytest.LogCaptureFixture, make: Callable[[], dict[str, Any]]
) -> None:
    response = app.slack.payload(make())
    assert response.status == 400
    assert response.json() == {"error": "malformed request"}
    assert_no_traceback(caplog)
    assert_nothing_happened(app)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            {
                "type": "interactive_message",
                "callback_id": "legacy",
                "user": {"id": USER},
                "actions": [{"name": "go", "type": "button", "value": "1"}],
            },
            id="interactive_message",
        ),
        pytest.param(
            {"type": "workflow_step_edit", "callback_id": "step", "user": "U1"},
            id="workflow_step_edit",
        ),
        pytest.param({"type": "block_suggestion", "action_id": "x"}, id="block_suggestion"),
        pytest.param({"type": "shortcut", "callback_id": "x", "user": []}, id="shortcut"),
    ],
)
def test_payload_types_the_app_does_not_handle_get_an_empty_200(
    app: RunningApp, caplog: pytest.LogCaptureFixture, payload: dict[str, Any]
) -> None:
    response = app.slack.payload(payload)
    assert (response.status, response.body) == (200, "")
    assert_no_traceback(caplog)
    assert_nothing_happened(app)


def test_event_envelope_of_the_wrong_shape_is_400(app: RunningApp) -> None:
    envelope = _event({"type": "app_home_opened", "user": USER}) | {"authorizations": [7]}
    response = app.slack.raw(json.dumps(envelope).encode(), content_type=JSON)
    assert response.status == 400
    assert_nothing_happened(app)


def test_well_formed_payloads_still_reach_their_listeners(app: RunningApp) -> None:
    """The same base payloads, unbroken, do what they should: the edge is not just a wall."""
    assert app.slack.payload(_block_action()).status == 200
    # No programme yet: "Join" answers so in a DM (a listener ran on the validated payload).
    told = app.fake.wait_for("chat.postMessage", lambda c: "programme" in c.params["text"])
    assert told.response is not None and told.response["channel"] == f"D{USER}"
    home = _event({"type": "app_home_opened", "user": USER})
    assert app.slack.raw(json.dumps(home).encode(), content_type=JSON).status == 200
    app.fake.wait_for("views.publish", lambda c: c.params.get("user_id") == USER)


def test_command_text_mentioning_payload_is_still_a_command(app: RunningApp) -> None:
    response = app.slack.command(USER, "payload")
    assert response.status == 200
    reply = app.fake.wait_for("response_url")
    assert "/mentoring help" in json.dumps(reply.params)


# ---------------------------------------------------------------- 4. the envelope handed on


def test_listeners_find_the_validated_envelope_in_their_context(
    fake_slack: FakeSlack, database: Database
) -> None:
    """What the edge validated reaches listeners typed (`bot.edge.envelope_of(context)`)."""
    settings = make_settings(fake_slack, database.url)
    app, services = create_app(settings, build_services(settings, db=database))
    seen: list[Any] = []

    @app.middleware  # runs after the app's own middlewares, before any listener
    def probe(context: BoltContext, next: Callable[[], None]) -> None:  # noqa: A002 - Bolt's name
        seen.append(envelope_of(context))
        next()

    app.command("/probe")(lambda ack: ack())

    wsgi = SlackWsgiApp(app, services.db, settings.slack_signing_secret)
    command = b"command=%2Fprobe&text=payload+please&user_id=" + USER.encode()
    assert _call(wsgi, command, settings.slack_signing_secret)[0] == "200 OK"
    click = _block_action(actions=[{"action_id": JOIN_ACTION, "block_id": "b", "value": "7"}])
    form = b"payload=" + urllib.parse.quote(json.dumps(click)).encode()
    assert _call(wsgi, form, settings.slack_signing_secret)[0] == "200 OK"
    assert services.listener_executor is not None
    services.listener_executor.shutdown(wait=True)

    typed_command, typed_click = seen
    assert isinstance(typed_command, SlashCommand)
    assert (typed_command.user_id, typed_command.text) == (USER, "payload please")
    assert isinstance(typed_click, BlockActions)
    assert typed_click.user.id == USER
    assert (typed_click.actions[0].action_id, typed_click.actions[0].value) == (JOIN_ACTION, "7")


def _call(wsgi: SlackWsgiApp, body: bytes, secret: str) -> tuple[str, bytes]:
    """One signed POST /slack/events, straight into the WSGI app."""
    timestamp = str(int(time.time()))
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp,
        "HTTP_X_SLACK_SIGNATURE": compute_signature(secret, timestamp, body),
        "wsgi.input": io.BytesIO(body),
    }
    statuses: list[str] = []
    answer = b"".join(wsgi(environ, lambda status, _headers: statuses.append(status)))
    return statuses[0], answer
