"""slack_sdk's WebClient over kept-alive connections (bot/http_pool.py): retries, errors
(429 with Retry-After, ok=false) and responses are slack_sdk's own, and no request is sent
twice by the pool.

These tests fail if slack_sdk stops sending through the opener installed with
`urllib.request.install_opener` (every call would then open a connection of its own).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.error import URLError
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import http_pool
from bot.slack_api import make_web_client, with_retries

TOKEN = "xoxb-keep-alive"


class _Api(ThreadingHTTPServer):
    """A Web API endpoint speaking HTTP/1.1 keep-alive that answers from a script."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ApiHandler)
        self.connections = 0
        self.calls: list[tuple[str, dict[str, Any], str]] = []  # path, params, Authorization
        # (status, headers, body) answered next; when empty, {"ok": true}. A body of None
        # closes the connection without answering (an answer lost on the way).
        self.script: list[tuple[int, dict[str, str], dict[str, Any] | None]] = []
        self.close_after_answer = False
        self.closed = threading.Semaphore(0)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/api/"

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.closed.release()  # the connection is closed on the server's side


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
        is_json = self.headers.get_content_type() == "application/json"
        params = json.loads(body) if is_json else {k: v for k, (v, *_) in parse_qs(body).items()}
        with self.server.lock:
            self.server.calls.append((self.path, params, self.headers.get("Authorization", "")))
            status, headers, answer = (
                self.server.script.pop(0) if self.server.script else (200, {}, {"ok": True})
            )
        if answer is None:
            self.close_connection = True
            return
        if "X-Wait" in headers:
            time.sleep(float(headers["X-Wait"]))
        data = json.dumps(answer).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        # Keep-alive announced, then closed anyway: how an idle timeout looks to the client.
        self.close_connection = self.server.close_after_answer


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
    for user in ("U1", "U2", "U3"):
        api.script.append((200, {}, {"ok": True, "user": {"id": user}}))
        assert client.users_info(user=user, include_locale=True)["user"]["id"] == user
    assert api.connections == 1
    assert [(path, params["user"], auth) for path, params, auth in api.calls] == [
        ("/api/users.info", user, f"Bearer {TOKEN}") for user in ("U1", "U2", "U3")
    ]


def test_a_rate_limit_is_retried_after_retry_after_by_the_apps_client(api: _Api) -> None:
    client = make_web_client(TOKEN, api.url)
    api.script.append((429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"}))
    api.script.append((200, {}, {"ok": True, "user": {"id": "U1"}}))
    assert client.users_info(user="U1")["user"]["id"] == "U1"
    assert len(api.calls) == 2
    assert api.connections == 1  # an error answer keeps the connection too


def test_a_copy_without_retries_sees_the_429_and_its_retry_after_and_shares_connections(
    api: _Api,
) -> None:
    """The outbox's delivery client is such a copy: it decides itself what to do on a 429."""
    client = make_web_client(TOKEN, api.url)
    sender = with_retries(client, "delivery", [])
    assert sender is with_retries(client, "delivery", [])
    assert sender.retry_handlers == []
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


def test_a_post_whose_answer_is_lost_is_not_sent_again(api: _Api) -> None:
    client = with_retries(make_web_client(TOKEN, api.url), "no-retries", [])
    client.auth_test()  # the connection is kept: the post goes out on a reused one
    api.script.append((200, {}, None))
    # As urllib raises it (http.client's RemoteDisconnected): the caller decides.
    with pytest.raises(ConnectionError):
        client.chat_postMessage(channel="U1", text="once")
    posts = [params for path, params, _auth in api.calls if path.endswith("chat.postMessage")]
    assert posts == [{"channel": "U1", "text": "once"}]


def test_a_post_whose_answer_does_not_come_in_time_is_not_retried(api: _Api) -> None:
    """A timeout after sending is urllib's TimeoutError, which the app's retry handlers leave
    alone: the post may have landed."""
    client = make_web_client(TOKEN, api.url, timeout=1)
    api.script.append((200, {"X-Wait": "2"}, {"ok": True}))
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="U1", text="once")
    assert [params["text"] for _path, params, _auth in api.calls] == ["once"]


def test_a_kept_connection_the_server_closed_is_replaced_without_resending(api: _Api) -> None:
    api.close_after_answer = True
    client = with_retries(make_web_client(TOKEN, api.url), "no-retries", [])
    client.chat_postMessage(channel="U1", text="first")
    assert api.closed.acquire(timeout=5)  # the server hung up the kept connection
    client.chat_postMessage(channel="U1", text="second")  # no retry handler: must just work
    assert [params["text"] for _path, params, _auth in api.calls] == ["first", "second"]
    assert api.connections == 2


def test_against_the_simulated_slack_posts_land_once(api: _Api) -> None:
    client = make_web_client(TOKEN, api.url)
    for number in range(3):
        client.chat_postMessage(channel="U1", text=f"message {number}")
    assert [params["text"] for _path, params, _auth in api.calls] == [
        f"message {n}" for n in range(3)
    ]
    assert api.connections == 1


def test_a_client_with_a_proxy_still_works_through_urllib(api: _Api) -> None:
    """slack_sdk builds its own opener for a proxy: such calls bypass the pool, unharmed."""
    http_pool.install()
    client = WebClient(token=TOKEN, base_url="http://slack.invalid/api/", proxy=api.url)
    assert client.auth_test()["ok"]
    ((path, _params, auth),) = api.calls
    assert path == "http://slack.invalid/api/auth.test"  # asked of the proxy
    assert auth == f"Bearer {TOKEN}"


def test_a_forked_child_never_shares_the_parents_connections(api: _Api) -> None:
    client = make_web_client(TOKEN, api.url)
    client.auth_test()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        ok = False
        try:
            ok = bool(client.auth_test()["ok"])
        finally:
            os._exit(0 if ok else 1)
    _pid, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    client.auth_test()
    assert len(api.calls) == 3
    assert api.connections == 2  # the child opened its own; the parent kept using its one
