"""The app's Web API client reuses kept-alive connections and keeps slack_sdk's behaviour:
retries, errors (429 with Retry-After, ok=false) and responses are unchanged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.error import URLError
from urllib.parse import parse_qs

import pytest
from slack_sdk.errors import SlackApiError

from bot.delivery.sender import delivery_client
from bot.simulated_slack import FakeSlack
from bot.slack_api import KeepAliveWebClient, make_web_client, with_retries

TOKEN = "xoxb-keep-alive"


class _Api(ThreadingHTTPServer):
    """A Web API endpoint speaking HTTP/1.1 keep-alive that answers from a script."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ApiHandler)
        self.connections = 0
        self.calls: list[tuple[str, dict[str, list[str]], str]] = []
        # (status, headers, body) answered next; when empty, {"ok": true}
        self.script: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/api/"


class _ApiHandler(BaseHTTPRequestHandler):
    server: _Api
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        with self.server.lock:
            self.server.calls.append(
                (self.path, parse_qs(body), self.headers.get("Authorization", ""))
            )
            status, headers, answer = (
                self.server.script.pop(0) if self.server.script else (200, {}, {"ok": True})
            )
        data = json.dumps(answer).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def api() -> Iterator[_Api]:
    server = _Api()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_calls_share_one_kept_alive_connection(api: _Api) -> None:
    client = make_web_client(TOKEN, api.url)
    assert isinstance(client, KeepAliveWebClient)
    for user in ("U1", "U2", "U3"):
        api.script.append((200, {}, {"ok": True, "user": {"id": user}}))
        assert client.users_info(user=user, include_locale=True)["user"]["id"] == user
    assert api.connections == 1
    assert [(path, params["user"], auth) for path, params, auth in api.calls] == [
        ("/api/users.info", [user], f"Bearer {TOKEN}") for user in ("U1", "U2", "U3")
    ]
    client.connections.close()


def test_a_rate_limit_is_retried_after_retry_after_by_the_apps_client(api: _Api) -> None:
    client = make_web_client(TOKEN, api.url)
    api.script.append((429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}))
    api.script.append((200, {}, {"ok": True, "user": {"id": "U1"}}))
    assert client.users_info(user="U1")["user"]["id"] == "U1"
    assert len(api.calls) == 2
    assert api.connections == 1  # an error answer keeps the connection too


def test_the_delivery_client_sees_the_429_and_its_retry_after_and_shares_connections(
    api: _Api,
) -> None:
    client = make_web_client(TOKEN, api.url)
    sender = delivery_client(client)
    assert isinstance(sender, KeepAliveWebClient)
    assert sender.connections is client.connections
    api.script.append((429, {"Retry-After": "7"}, {"ok": False, "error": "ratelimited"}))
    with pytest.raises(SlackApiError) as raised:
        sender.chat_postMessage(channel="U1", text="hello")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert len(api.calls) == 1  # not retried: the outbox decides
    client.users_info(user="U1")
    assert api.connections == 1


def test_an_error_answer_raises_slacks_error(api: _Api) -> None:
    api.script.append((200, {}, {"ok": False, "error": "user_not_found"}))
    with pytest.raises(SlackApiError) as raised:
        make_web_client(TOKEN, api.url).users_info(user="U404")
    assert raised.value.response["error"] == "user_not_found"


def test_a_server_that_is_gone_is_urllibs_connection_error() -> None:
    api = _Api()
    url = api.url
    api.server_close()  # nothing listens on the port any more
    client = with_retries(make_web_client(TOKEN, url), "no-retries", [])
    # URLError is what slack_sdk's ConnectionErrorRetryHandler retries, as with urllib.
    with pytest.raises(URLError):
        client.auth_test()


def test_against_the_simulated_slack_posts_land_once_on_one_connection(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.add_user("U1")
    client = make_web_client(fake_slack.bot_token, fake_slack.api_url)
    for number in range(3):
        client.chat_postMessage(channel="U1", text=f"message {number}")
    posts = fake_slack.calls("chat.postMessage")
    assert [call.params["text"] for call in posts] == [f"message {n}" for n in range(3)]
    assert len(client.connections._idle) == 1
    assert len(next(iter(client.connections._idle.values()))) == 1
