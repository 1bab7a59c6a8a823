"""The real server process (waitress, bot/http_server.py): concurrency, workers, SIGTERM, logs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.i18n import translator
from bot.simulated_slack.signed_requests import SlackRequests
from bot.simulated_slack.web_api import FakeSlack
from bot.views import common
from tests.conftest import BOT_TOKEN, PULSE_SECRET, SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(fake: FakeSlack | _SocketModeSlack, tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    return (
        base
        | {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "PULSE_SECRET": PULSE_SECRET,
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
            # People the directory preload already knew are answered in the ack itself.
            in_ack = [response.json() for response in responses if response.body]
            later = fake.wait_for_count("response_url", 60 - len(in_ack), timeout=20)
            answers = in_ack + [call.params for call in later]
            assert len(answers) == 60
            assert all("/mentoring join" in json.dumps(answer) for answer in answers)
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
    assert BOT_TOKEN not in stderr and SIGNING_SECRET not in stderr and PULSE_SECRET not in stderr
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


def _human_lines(stderr: str) -> list[str]:
    """The lines a person reads (JSON lines are the structured log)."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("{")]


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with FakeSlack(bot_token=BOT_TOKEN) as fake, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _run(["serve", "--http", "--port", str(port)], _env(fake, tmp_path), tmp_path)
    assert result.returncode != 0
    assert _human_lines(result.stderr) == [
        f"reverse-mentoring: port {port} on 127.0.0.1 is already in use "
        "(choose another with --port)"
    ]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("port", ["99999", "0", "http"])
def test_a_port_out_of_range_is_one_line(tmp_path: Path, port: str) -> None:
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        result = _run(["serve", "--http", "--port", port], _env(fake, tmp_path), tmp_path)
        assert not fake.calls(), "nothing should start"
    assert result.returncode == 2
    assert _human_lines(result.stderr) == [
        f"reverse-mentoring: argument --port: '{port}' is not a port number (1-65535) (see --help)"
    ]


def _children(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_workers_share_the_port_a_dead_one_is_replaced_and_all_stop_together(
    tmp_path: Path,
) -> None:
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        for index in range(20):
            fake.add_user(f"UWORK{index:04d}")
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--http", "--port", str(port)]
            + ["--workers", "2", "--threads", "4"],
            env=_env(fake, tmp_path),
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(f"{url}/healthz", process)
            _wait_for(lambda: len(_children(process.pid)) == 2, "two workers")
            first, second = sorted(_children(process.pid))
            slack = SlackRequests(f"{url}/slack/events", SIGNING_SECRET, fake=fake)
            with ThreadPoolExecutor(max_workers=10) as pool:
                statuses = list(
                    pool.map(lambda i: slack.command(f"UWORK{i:04d}", "help").status, range(20))
                )
            assert statuses == [200] * 20

            os.kill(first, signal.SIGKILL)
            _wait_for(lambda: len(_children(process.pid) - {first}) == 2, "a worker in its place")
            assert second in _children(process.pid)
            workers = _children(process.pid)
            _wait_healthy(f"{url}/healthz", process)
            assert slack.command("UWORK0000", "help").status == 200
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail("server did not stop on SIGTERM")
        stderr = process.stderr.read() if process.stderr else ""
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    for worker in workers:  # every worker stopped with the supervisor
        assert not Path(f"/proc/{worker}").exists()
    messages = [json.loads(line)["msg"] for line in stderr.splitlines() if line[:1] == "{"]
    assert messages.count("stopped") == 2  # each worker stopped its app and scheduler


class _SocketModeSlack:
    """A Web API that opens Socket Mode connections to a WebSocket URL nobody listens on.

    FakeSlack does not know `apps.connections.open`; this stands in only for Slack's side.
    """

    def __init__(self) -> None:
        dead_port = _free_port()  # closed again at once: connecting is refused
        self.opened = threading.Event()

        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802 - stdlib naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                method = self.path.rsplit("/", 1)[-1]
                if method == "auth.test":
                    payload = {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1"}
                elif method == "apps.connections.open":
                    stub.opened.set()
                    payload = {"ok": True, "url": f"ws://127.0.0.1:{dead_port}/link"}
                else:
                    payload = {"ok": False, "error": "unknown_method"}
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.api_url = f"http://127.0.0.1:{self.server.server_port}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_socket_mode_that_cannot_connect_says_so_and_exits(tmp_path: Path) -> None:
    slack = _SocketModeSlack()
    try:
        env = _env(slack, tmp_path, SLACK_APP_TOKEN="xapp-1-A0-test")
        result = _run(["serve"], env, tmp_path)  # the 60 s timeout fails an endless retry
    finally:
        slack.close()
    assert slack.opened.is_set()
    assert result.returncode == 2
    assert _human_lines(result.stderr) == [
        "reverse-mentoring: cannot connect in Socket Mode with SLACK_APP_TOKEN: "
        "the WebSocket did not connect"
    ]
    messages = [json.loads(line)["msg"] for line in result.stderr.splitlines() if line[:1] == "{"]
    assert "cannot connect in Socket Mode" in messages
    assert "connected in Socket Mode" not in messages


def test_the_served_app_preloads_the_directory_so_first_commands_need_no_lookup(
    tmp_path: Path,
) -> None:
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        fake.add_user("UDIRDE001", locale="de-DE")
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--http", "--port", str(port)],
            env=_env(fake, tmp_path),
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        loaded = threading.Event()

        def watch_log() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                if '"people directory loaded"' in line:
                    loaded.set()

        threading.Thread(target=watch_log, daemon=True).start()
        try:
            _wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
            assert loaded.wait(timeout=20), "the directory was never loaded"
            assert fake.calls("users.list")[0].ok
            slack = SlackRequests(
                f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, fake=fake
            )
            response = slack.command("UDIRDE001", "help")
            assert response.status == 200
            # Known from the directory: the answer is the acknowledgement itself.
            german = common.help_message(translator("de"), is_admin=False)
            assert response.json()["text"] == german["text"]
            assert response.json()["response_type"] == "ephemeral"
            assert fake.calls("users.info") == [] and fake.calls("response_url") == []
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
