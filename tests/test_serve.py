"""The real server process: gunicorn over Bolt's WSGI adapter, concurrency, SIGTERM, logs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.simulated_slack.signed_requests import SlackRequests
from bot.simulated_slack.web_api import FakeSlack
from tests.conftest import BOT_TOKEN, SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(fake: FakeSlack, tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    return (
        base
        | {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
            "ADMIN_USER_IDS": "UADMIN01",
            "PYTHONPATH": str(ROOT),
            "LOG_LEVEL": "INFO",
        }
        | extra
    )


def _wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited early: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.2)
    pytest.fail("server did not become healthy")


def test_http_server_serves_concurrently_and_stops_cleanly(tmp_path: Path) -> None:
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--http", "--port", str(port)],
            env=_env(fake, tmp_path),
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            health = _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
            assert health == {"status": "ok", "database": "ok"}
            slack = SlackRequests(
                f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, fake=fake
            )
            for index in range(60):
                fake.add_user(f"UCONC{index:04d}")
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=60) as pool:
                responses = list(
                    pool.map(lambda i: slack.command(f"UCONC{i:04d}", "help"), range(60))
                )
            elapsed = time.monotonic() - started
            assert [r.status for r in responses] == [200] * 60
            assert elapsed < 10
            replies = fake.wait_for_count("response_url", 60, timeout=20)
            assert all("/mentoring join" in json.dumps(c.params) for c in replies)
            assert slack.raw(b"payload=%7B", sign=True).status == 400
            assert slack.raw(b"text=help", signature="v0=bad").status == 401
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail("server did not stop on SIGTERM")
        stderr = process.stderr.read() if process.stderr else ""
    assert process.returncode == 0, stderr
    assert BOT_TOKEN not in stderr and SIGNING_SECRET not in stderr
    app_lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert app_lines and all("level" in line and "msg" in line for line in app_lines)


def test_socket_mode_is_used_when_an_app_token_is_set(tmp_path: Path) -> None:
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "serve"],
            env=_env(fake, tmp_path, SLACK_APP_TOKEN="xapp-1-A0-test"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        opened = fake.calls("apps.connections.open")
    assert opened, "Socket Mode should open a connection through SLACK_API_URL"
    assert result.returncode == 2
    assert "Socket Mode" in result.stderr and "Traceback" not in result.stderr


def test_bad_token_fails_fast_with_one_line(tmp_path: Path) -> None:
    with FakeSlack(bot_token="xoxb-the-real-one") as fake:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--http"],
            env=_env(fake, tmp_path),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)" in result.stderr
    assert "Traceback" not in result.stderr
