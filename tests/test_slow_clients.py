"""Slow clients against the real server (waitress, bot/http_server.py): the app keeps answering.

waitress reads each whole request before a thread sees it, so connections that send slowly
hold no thread: while 96 of them (more than the 64 threads) trickle, /healthz and a signed
command are answered. Once they stop sending, the server closes them.
"""

from __future__ import annotations

import contextlib
import json
import select
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from bot.http_server import IDLE_TIMEOUT_S
from bot.simulated_slack.signed_requests import SlackRequests
from bot.simulated_slack.web_api import FakeSlack
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.test_serve import _env, _free_port, _wait_healthy

SLOW_BODIES = 72  # more than the server's 64 threads
SLOW_HEADERS = 16
SLOW_CHUNKED = 8
TRICKLE_EVERY_S = 1.0  # well within IDLE_TIMEOUT_S: a trickling client is never idle
ANSWER_TIMEOUT_S = 30.0  # only so that a hung server fails the test instead of blocking it


def _open_slow(port: int, request: bytes) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall(request)
    return client


def _closed_by_server(client: socket.socket) -> bool:
    """Whether the server closed `client` (readable, and nothing or a reset to read)."""
    if not select.select([client], [], [], 0)[0]:
        return False
    try:
        return client.recv(1024) == b""
    except ConnectionResetError:
        return True


def _read_until_closed(client: socket.socket) -> bytes:
    """What the server sends before it closes the connection (a reset counts as closed)."""
    try:
        return client.recv(1024)
    except ConnectionResetError:
        return b""


def _trickle(clients: list[socket.socket], filler: bytes, stop: threading.Event) -> None:
    """One more byte on every connection each TRICKLE_EVERY_S, never completing a request."""
    while not stop.wait(TRICKLE_EVERY_S):
        for client in clients:
            with contextlib.suppress(OSError):  # noticed by the assertions
                client.send(filler)


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
        bodies: list[socket.socket] = []
        others: list[socket.socket] = []
        stop = threading.Event()
        try:
            health_url = f"http://127.0.0.1:{port}/healthz"
            _wait_healthy(health_url, process)
            body_then_stall = (
                b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 100000\r\n\r\nabc"
            )
            headers_then_stall = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slow: a"
            chunk_then_stall = (
                b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n1000\r\nabc"
            )
            bodies += [_open_slow(port, body_then_stall) for _ in range(SLOW_BODIES)]
            others += [_open_slow(port, headers_then_stall) for _ in range(SLOW_HEADERS)]
            others += [_open_slow(port, chunk_then_stall) for _ in range(SLOW_CHUNKED)]
            slow = bodies + others
            tricklers = [
                threading.Thread(target=_trickle, args=(clients, b"a", stop), daemon=True)
                for clients in (bodies, others)
            ]
            for trickler in tricklers:
                trickler.start()

            with urllib.request.urlopen(health_url, timeout=ANSWER_TIMEOUT_S) as response:
                assert response.status == 200
                assert json.loads(response.read()) == {"status": "ok", "database": "ok"}
            slack = SlackRequests(
                f"http://127.0.0.1:{port}/slack/events",
                SIGNING_SECRET,
                fake=fake,
                timeout=ANSWER_TIMEOUT_S,
            )
            response = slack.command("USLOW0001", "help")
            assert response.status == 200
            # In the ack when the directory preload knew the person already, else posted.
            answer = response.json() if response.body else fake.wait_for("response_url").params
            assert "/mentoring join" in json.dumps(answer)
            # All of this happened while every slow connection was still open.
            assert [client for client in slow if _closed_by_server(client)] == []

            # Once they stop sending, the server closes them (no thread was ever theirs).
            stop.set()
            for trickler in tricklers:
                trickler.join()
            for client in slow:
                client.settimeout(IDLE_TIMEOUT_S + ANSWER_TIMEOUT_S)
                assert _read_until_closed(client) == b""
        finally:
            stop.set()
            for client in bodies + others:
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
