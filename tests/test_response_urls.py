"""Replies through response_url (Bolt's own `respond`, which listeners get) reuse kept-alive
connections (bot/http_pool.py), and are never sent twice."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_bolt import Respond

from bot import http_pool
from bot.simulated_slack.web_api import FakeSlack


@pytest.fixture(autouse=True)
def pooled() -> None:
    http_pool.install()  # as the app's services do


class _Hooks(ThreadingHTTPServer):
    """A response_url endpoint speaking HTTP/1.1 keep-alive, like hooks.slack.com."""

    daemon_threads = True

    def __init__(self, *, close_after_reply: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _HooksHandler)
        self.close_after_reply = close_after_reply
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.connections = 0
        self.closed = threading.Semaphore(0)
        self.lock = threading.Lock()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_port}{path}"

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.closed.release()  # the connection is closed on the server's side


class _HooksHandler(BaseHTTPRequestHandler):
    server: _Hooks
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.lock:
            self.server.connections += 1

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.received.append((self.path, json.loads(body)))
        answer = b"ok"
        # One write, as a real server would: headers and body in one segment.
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
            % (len(answer), answer)
        )
        # Keep-alive announced, then closed anyway: how an idle timeout looks to the client.
        self.close_connection = self.server.close_after_reply


@pytest.fixture
def hooks(request: pytest.FixtureRequest) -> Iterator[_Hooks]:
    server = _Hooks(close_after_reply=getattr(request, "param", False))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_replies_share_one_kept_alive_connection(hooks: _Hooks) -> None:
    for number in range(3):
        respond = Respond(response_url=hooks.url(f"/commands/T1/{number}"))
        answer = respond(text=f"reply {number}", response_type="ephemeral")
        assert (answer.status_code, answer.body) == (200, "ok")
    assert hooks.received == [
        (f"/commands/T1/{n}", {"text": f"reply {n}", "response_type": "ephemeral"})
        for n in range(3)
    ]
    assert hooks.connections == 1


@pytest.mark.parametrize("hooks", [True], indirect=True)
def test_a_connection_the_server_closed_is_not_reused_and_nothing_is_sent_twice(
    hooks: _Hooks,
) -> None:
    Respond(response_url=hooks.url("/commands/T1/a"))(text="first")
    assert hooks.closed.acquire(timeout=5)  # the server hung up the idle connection
    answer = Respond(response_url=hooks.url("/commands/T1/b"))(text="second")
    assert answer.status_code == 200
    assert [path for path, _message in hooks.received] == ["/commands/T1/a", "/commands/T1/b"]
    assert hooks.connections == 2


def test_an_error_answer_is_returned_not_raised(fake_slack: FakeSlack) -> None:
    respond = Respond(response_url=fake_slack.response_url(channel="C0GENERAL", user="U1"))
    for _use in range(5):  # Slack allows five uses of a response_url
        assert respond(text="again").status_code == 200
    assert respond(text="too many").status_code == 404
    assert len([call for call in fake_slack.calls("response_url") if call.ok]) == 5
