"""Socket Mode passes the same edge as HTTP (bot/socket_mode.py, bot/edge.py).

Each request goes through slack_sdk's own dispatch (`SocketModeClient.run_message_listeners`,
what the client runs for every WebSocket message) into the app's listener; only Slack's end of
the WebSocket is replaced, by a list of the acknowledgements the app sends.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from slack_bolt import Ack, App, BoltContext
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse
from sqlalchemy import func, select
from sqlmodel import SQLModel

from bot.app import create_app
from bot.edge import SlashCommand, envelope_of
from bot.services import Services, build_services
from bot.simulated_slack.web_api import FakeSlack
from bot.socket_mode import SocketModeEdge, socket_mode_client
from storage.db import Database
from tests.conftest import make_settings

USER = "USOCKET01"
APP_TOKEN = "xapp-1-A0TEST-socket"


@dataclass
class SocketApp:
    app: App
    services: Services
    client: SocketModeClient
    sent: list[SocketModeResponse]  # what the app acknowledged, as Slack would receive it
    fake: FakeSlack

    def deliver(self, kind: str, payload: Any, envelope_id: str = "env-1") -> None:
        message = {"type": kind, "envelope_id": envelope_id, "payload": payload}
        message["accepts_response_payload"] = kind != "events_api"
        self.client.run_message_listeners(message, json.dumps(message))

    def stored_rows(self) -> int:
        with self.services.db.engine.connect() as connection:
            return sum(
                connection.execute(select(func.count()).select_from(table)).scalar_one()
                for table in SQLModel.metadata.sorted_tables
                if table.name != "alembic_version"
            )


@pytest.fixture
def socket_app(fake_slack: FakeSlack, database: Database) -> Iterator[SocketApp]:
    fake_slack.add_user(USER, real_name="Socket Person", locale="en-US")
    settings = make_settings(fake_slack, database.url)
    app, services = create_app(settings, build_services(settings, db=database))
    client = socket_mode_client(app, APP_TOKEN)  # what `serve` runs; never connected here
    sent: list[SocketModeResponse] = []
    client.send_socket_mode_response = sent.append  # type: ignore[method-assign]
    try:
        yield SocketApp(app, services, client, sent, fake_slack)
    finally:
        client.close()
        assert services.listener_executor is not None
        services.listener_executor.shutdown(wait=True)


def _command(fake: FakeSlack, text: str = "help", **changes: Any) -> dict[str, Any]:
    payload = {
        "token": "legacy",
        "team_id": "T0TEST",
        "team_domain": "testteam",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": USER,
        "user_name": "socket",
        "command": "/mentoring",
        "text": text,
        "api_app_id": "A0TEST",
        "is_enterprise_install": "false",
        "response_url": fake.response_url(channel="C0GENERAL", user=USER),
        "trigger_id": fake.issue_trigger(),
    }
    payload.update(changes)
    return payload


def test_the_served_client_sends_every_request_through_the_edge(socket_app: SocketApp) -> None:
    listeners = socket_app.client.socket_mode_request_listeners
    assert len(listeners) == 1 and isinstance(listeners[0], SocketModeEdge)


def test_a_valid_command_is_dispatched_and_acknowledged(socket_app: SocketApp) -> None:
    socket_app.deliver("slash_commands", _command(socket_app.fake), envelope_id="env-ok")
    (ack,) = socket_app.sent
    assert ack.envelope_id == "env-ok"
    # The help answer: in the acknowledgement when the person is known, else posted.
    answer = ack.payload or socket_app.fake.wait_for("response_url").params
    assert "/mentoring join" in json.dumps(answer)


def test_a_valid_event_reaches_its_listener(socket_app: SocketApp) -> None:
    event = {
        "type": "event_callback",
        "team_id": "T0TEST",
        "api_app_id": "A0TEST",
        "event_id": "Ev0SOCKET",
        "event_time": 1,
        "event": {"type": "app_home_opened", "user": USER, "tab": "home"},
    }
    socket_app.deliver("events_api", event, envelope_id="env-event")
    assert [(ack.envelope_id, ack.payload) for ack in socket_app.sent] == [("env-event", None)]
    home = socket_app.fake.wait_for("views.publish", lambda c: c.params.get("user_id") == USER)
    assert home.ok


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _level in range(depth):
        value = [value]
    return value


MALFORMED: dict[str, tuple[str, Any]] = {
    "command-user-a-number": ("slash_commands", {"command": "/mentoring", "user_id": 42}),
    "command-without-user": ("slash_commands", {"command": "/mentoring", "text": "help"}),
    "click-user-as-string": (
        "interactive",
        {"type": "block_actions", "user": USER, "actions": [{"action_id": "home_join"}]},
    ),
    "click-without-actions": ("interactive", {"type": "block_actions", "user": {"id": USER}}),
    "event-as-string": (
        "events_api",
        {"type": "event_callback", "event_id": "Ev1", "event": "app_home_opened"},
    ),
    "no-type": ("interactive", {"user": {"id": USER}}),
    "too-deep": (
        "events_api",
        {
            "type": "event_callback",
            "event_id": "Ev2",
            "event": {"type": "app_home_opened", "user": USER, "x": _nested(100)},
        },
    ),
}


@pytest.mark.parametrize(("kind", "payload"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_payload_never_reaches_bolt(
    socket_app: SocketApp, caplog: pytest.LogCaptureFixture, kind: str, payload: Any
) -> None:
    with caplog.at_level(logging.WARNING):
        socket_app.deliver(kind, payload)
    assert socket_app.sent == []  # not acknowledged, as HTTP answers it 400
    assert "rejected a malformed request" in [r.getMessage() for r in caplog.records]
    assert socket_app.fake.calls() == []  # Bolt never ran (it would call auth.test first)
    assert socket_app.stored_rows() == 0


def test_a_type_the_app_does_not_handle_is_acknowledged_empty(socket_app: SocketApp) -> None:
    shortcut = {"type": "message_action", "callback_id": "x", "user": {"id": USER}}
    socket_app.deliver("interactive", shortcut, envelope_id="env-other")
    assert [(ack.envelope_id, ack.payload) for ack in socket_app.sent] == [("env-other", None)]
    assert socket_app.fake.calls() == []


def test_listeners_find_the_validated_envelope_in_their_context(socket_app: SocketApp) -> None:
    seen: list[Any] = []

    @socket_app.app.command("/probe")
    def probe(ack: Ack, context: BoltContext) -> None:
        ack()
        seen.append(envelope_of(context))

    socket_app.deliver("slash_commands", _command(socket_app.fake, "hello", command="/probe"))
    (envelope,) = seen
    assert isinstance(envelope, SlashCommand)
    assert (envelope.command, envelope.user_id, envelope.text) == ("/probe", USER, "hello")
