"""Replies through response_url reuse kept-alive connections, and are never sent twice."""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.simulated_slack.web_api import FakeSlack
from bot.slack_api import PooledRespond, ResponseUrlClient


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


class _HooksHandler(BaseHTTPRequestHandler):
    server: _Hooks
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.lock:
            self.server.connections += 1

    def finish(self) -> None:
        super().finish()
        self.server.closed.release()

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
    client = ResponseUrlClient()
    for number in range(3):
        respond = PooledRespond(response_url=hooks.url(f"/commands/T1/{number}"), client=client)
        answer = respond(text=f"reply {number}", response_type="ephemeral")
        assert (answer.status_code, answer.body) == (200, "ok")
    assert hooks.received == [
        (f"/commands/T1/{n}", {"text": f"reply {n}", "response_type": "ephemeral"})
        for n in range(3)
    ]
    assert hooks.connections == 1
    client.close()


@pytest.mark.parametrize("hooks", [True], indirect=True)
def test_a_connection_the_server_closed_is_not_reused_and_nothing_is_sent_twice(
    hooks: _Hooks,
) -> None:
    client = ResponseUrlClient()
    client.post(hooks.url("/commands/T1/a"), {"text": "first"})
    assert hooks.closed.acquire(timeout=5)  # the server hung up the idle connection
    # ... and its FIN has reached our side (on a busy machine that takes a moment):
    (idle,) = [conn for conns in client.connections._idle.values() for _since, conn in conns]
    assert select.select([idle.sock], [], [], 5)[0], "the close never became visible"
    answer = client.post(hooks.url("/commands/T1/b"), {"text": "second"})
    assert answer.status_code == 200
    assert [path for path, _message in hooks.received] == ["/commands/T1/a", "/commands/T1/b"]
    assert hooks.connections == 2


def test_the_message_is_what_bolts_respond_sends(fake_slack: FakeSlack) -> None:
    url = fake_slack.response_url(channel="C0GENERAL", user="U1")
    respond = PooledRespond(response_url=url, client=ResponseUrlClient())
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    respond(text="hi", blocks=blocks, response_type="ephemeral", replace_original=False)
    (sent,) = fake_slack.calls("response_url")
    assert sent.ok
    assert {k: v for k, v in sent.params.items() if k != "_token"} == {
        "text": "hi",
        "blocks": blocks,
        "response_type": "ephemeral",
        "replace_original": False,
    }


def test_an_error_answer_is_returned_not_raised(fake_slack: FakeSlack) -> None:
    url = fake_slack.response_url(channel="C0GENERAL", user="U1")
    client = ResponseUrlClient()
    for _use in range(5):  # Slack allows five uses of a response_url
        assert client.post(url, {"text": "again"}).status_code == 200
    assert client.post(url, {"text": "too many"}).status_code == 404


def test_a_reply_without_a_response_url_is_refused() -> None:
    with pytest.raises(ValueError, match="no response_url"):
        PooledRespond(response_url=None, client=ResponseUrlClient())(text="hi")
