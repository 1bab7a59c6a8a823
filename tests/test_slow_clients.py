"""Slow clients against the real server (gunicorn + bot/gworker.py): the app keeps answering."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.gworker import REQUEST_DEADLINE_S, request_complete
from bot.simulated_slack.signed_requests import SlackRequests
from bot.simulated_slack.web_api import FakeSlack
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.test_serve import _env, _free_port, _wait_healthy

SLOW_BODIES = 72  # more than the server's 64 threads
SLOW_HEADERS = 16
SLOW_CHUNKED = 8  # read by a pool thread, under the same deadline
ACK_WINDOW_S = 3.0


def _open_slow(port: int, request: bytes) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall(request)
    return client


def test_slow_clients_do_not_stop_health_checks_or_commands(tmp_path: Path) -> None:
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        fake.add_user("USLOW0001")
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--http", "--port", str(port)],
            env=_env(fake, tmp_path),
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        slow: list[socket.socket] = []
        try:
            health_url = f"http://127.0.0.1:{port}/healthz"
            _wait_healthy(health_url, process)
            body_then_stall = (
                b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 1000\r\n\r\nabc"
            )
            headers_then_stall = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Le"
            slow += [_open_slow(port, body_then_stall) for _ in range(SLOW_BODIES)]
            chunk_then_stall = (
                b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n10\r\nabc"
            )
            slow += [_open_slow(port, headers_then_stall) for _ in range(SLOW_HEADERS)]
            slow += [_open_slow(port, chunk_then_stall) for _ in range(SLOW_CHUNKED)]
            opened = time.monotonic()

            started = time.monotonic()
            with urllib.request.urlopen(health_url, timeout=ACK_WINDOW_S) as response:
                assert response.status == 200
                assert json.loads(response.read()) == {"status": "ok", "database": "ok"}
            assert time.monotonic() - started < ACK_WINDOW_S

            slack = SlackRequests(
                f"http://127.0.0.1:{port}/slack/events",
                SIGNING_SECRET,
                fake=fake,
                timeout=ACK_WINDOW_S,
            )
            started = time.monotonic()
            response = slack.command("USLOW0001", "help")
            assert response.status == 200
            assert time.monotonic() - started < ACK_WINDOW_S
            # In the ack when the directory preload knew the person already, else posted.
            answer = response.json() if response.body else fake.wait_for("response_url").params
            assert "/mentoring join" in json.dumps(answer)
            # All of this happened while every slow connection was still open.
            assert time.monotonic() - opened < REQUEST_DEADLINE_S

            # At the deadline the server answers the stalled bodies 408 and closes them.
            for stalled in (slow[0], slow[-1]):
                stalled.settimeout(REQUEST_DEADLINE_S + 3)
                answer = stalled.recv(1024)
                assert answer.startswith(b"HTTP/1.1 408"), answer
        finally:
            for client in slow:
                client.close()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail("server did not stop on SIGTERM")
        stderr = process.stderr.read() if process.stderr else ""
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("data", "complete"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n", False),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabc", False),
        (b"POST / HTTP/1.1\r\ncontent-length:  5 \r\n\r\nabcde", True),
        (b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", True),
        (b"POST / HTTP/1.1\r\nX: " + b"a" * 70_000, True),
    ],
)
def test_when_a_request_is_handed_to_a_thread(data: bytes, complete: bool) -> None:
    """Only the hand-over point: gunicorn's parser still judges (and refuses) the request."""
    assert request_complete(data) is complete
