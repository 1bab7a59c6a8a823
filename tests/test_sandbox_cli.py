"""The sandbox from the command line: its start line (the one line a terminal shows, naming the
database and the CLI that reads it), `--sandbox` on the CLI commands that read data, short log
lines on a terminal and JSON lines elsewhere, and a demo that sends Slack nothing it would not."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo import run_demo
from bot.logs import configure_logging
from bot.sandbox.run import database_line
from bot.sandbox.server import Sandbox
from bot.sandbox.workspace import ADMIN_ID
from tests.flows import Person, enrollment_values, program_values

ROOT = Path(__file__).resolve().parents[1]
START_LINE = re.compile(
    r"^Sandbox \(a simulated Slack workspace.*at (http://127\.0\.0\.1:\d+/)", re.M
)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    """No Slack credentials, no database of the caller's, no launcher name: a fresh person."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_", "LOG_", "REVERSE_MENTORING_"))
    }
    return kept | {"PYTHONPATH": str(ROOT)} | extra


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _call(url: str, path: str, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Sandbox-Token": token},
        method="GET" if body is None else "POST",
    )
    with _OPENER.open(request, timeout=30) as response:
        return json.loads(response.read())


class _Terminal:
    """A process whose stdout and stderr are a pseudo-terminal, as in a person's shell."""

    def __init__(self, args: list[str], cwd: Path, **env: str) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=cwd,
            env=_env(**env),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
        )
        os.close(slave)
        self.output = b""

    def read_until(self, pattern: re.Pattern[str], timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pattern.search(self.text)
            if found:
                return found
            self._read(0.2)
        pytest.fail(f"the terminal never showed {pattern.pattern!r}: {self.text!r}")

    def _read(self, wait: float) -> bool:
        ready, _w, _x = select.select([self.master], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the process closed the terminal
            return False
        self.output += chunk
        return bool(chunk)

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace").replace("\r\n", "\n")

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        while self._read(0.3):
            pass
        os.close(self.master)
        return self.text


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The person's current folder: no .env, nothing else."""
    return tmp_path


def test_the_terminal_shows_one_start_line_naming_the_database(folder: Path) -> None:
    """What `python3 scripts/run` runs (`start`) without Slack credentials, at a terminal."""
    terminal = _Terminal(["start", "--port", str(_free_port())], folder)
    try:
        found = terminal.read_until(START_LINE)
        url = found.group(1)
        page = _OPENER.open(url, timeout=10).read().decode()
        token = re.search(r'name="sandbox-token" content="([^"]+)"', page)
        assert token is not None
        # Someone uses the sandbox: the admin sets up a programme, a member joins.
        opened = _call(url, "/api/command", token.group(1),
                       {"user": ADMIN_ID, "text": "/mentoring program", "channel": ""})  # fmt: skip
        _call(url, "/api/submit", token.group(1), {"user": ADMIN_ID,
              "view_id": opened["state"]["modal"]["id"], "values": program_values()})  # fmt: skip
    finally:
        shown = terminal.stop()
    assert terminal.process.returncode == 0, shown
    lines = [line for line in shown.splitlines() if line.strip()]
    assert len(lines) == 1, lines  # no JSON log lines on a terminal
    assert f"Its data: {folder.resolve() / 'sandbox.db'}" in lines[0]
    assert "`reverse-mentoring export --sandbox`" in lines[0]
    # The commands the start line points to read the same database (what they show:
    # test_what_the_sandbox_stored_is_what_export_sandbox_shows).
    listed = _cli(["jobs", "list", "--sandbox"], folder)
    assert listed.returncode == 0 and "checkin" in listed.stdout
    dry = _cli(["jobs", "run", "checkin", "--sandbox", "--dry-run"], folder)
    assert dry.returncode == 0 and "nothing sent" in dry.stdout
    refused = _cli(["jobs", "run", "checkin", "--sandbox"], folder)
    assert refused.returncode == 2
    assert "the sandbox's jobs run from its page" in refused.stderr


def test_what_the_sandbox_stored_is_what_export_sandbox_shows(folder: Path) -> None:
    """A member joined in the sandbox: `export --sandbox` lists them, plain `export` (the
    DATABASE_URL default, reverse_mentoring.db) does not."""
    box = Sandbox(port=0, people=3, seed=2, database_url=f"sqlite:///{folder / 'sandbox.db'}")
    box.start()
    try:
        box.command(ADMIN_ID, "/mentoring program", "")
        view = box.top_modal(ADMIN_ID)
        assert view is not None
        box.submit(ADMIN_ID, view["id"], program_values())
        member = box.people[1]
        box.command(member.user_id, "/mentoring join", "")
        joined = box.top_modal(member.user_id)
        assert joined is not None
        values = enrollment_values(Person(member.user_id, "mentee", wanted=["ai_tools"]))
        box.submit(member.user_id, joined["id"], values)
    finally:
        box.stop()
    exported = _cli(["export", "--sandbox", "--format", "json"], folder)
    assert exported.returncode == 0, exported.stderr
    participants = json.loads(exported.stdout)["participants"]
    assert [p["slack_user_id"] for p in participants] == [member.user_id]
    other = _cli(["export", "--format", "json"], folder)  # DATABASE_URL's default: empty
    assert json.loads(other.stdout)["participants"] == []


def test_the_start_line_names_a_database_given_by_url(tmp_path: Path) -> None:
    line = database_line(f"sqlite:///{tmp_path}/mine.db")
    assert f"DATABASE_URL='sqlite:///{tmp_path}/mine.db' reverse-mentoring export" in line
    hidden = database_line("postgresql+psycopg://me:s3cret@db.example/sandbox")
    assert "s3cret" not in hidden and "postgresql+psycopg://me:***@db.example/sandbox" in hidden


@pytest.mark.parametrize("asked", ["--json-logs", "LOG_FORMAT=json"])
def test_json_logs_when_asked_for_even_on_a_terminal(folder: Path, asked: str) -> None:
    flags = [asked] if asked.startswith("--") else []
    env = dict([asked.split("=")]) if "=" in asked else {}
    terminal = _Terminal([*flags, "sandbox", "--port", str(_free_port())], folder, **env)
    try:
        terminal.read_until(START_LINE)
        terminal.read_until(re.compile(r'^\{"ts".*"Scheduler started"', re.M))
    finally:
        shown = terminal.stop()
    records = [json.loads(line) for line in shown.splitlines() if line.startswith("{")]
    assert len(records) > 5 and all({"ts", "level", "logger", "msg"} <= set(r) for r in records)


def test_a_malformed_log_format_is_one_line(folder: Path) -> None:
    result = _cli(["export"], folder, LOG_FORMAT="yaml")
    assert result.returncode == 2
    assert result.stderr.startswith("reverse-mentoring: LOG_FORMAT")
    assert "auto, json, text" in result.stderr and len(result.stderr.splitlines()) == 1


def test_json_logs_when_stderr_is_not_a_terminal(folder: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--port", str(_free_port())],
        cwd=folder,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert START_LINE.match(process.stdout.readline())
    finally:
        process.send_signal(signal.SIGTERM)
        _out, stderr = process.communicate(timeout=30)
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert records and all(r["logger"] for r in records)  # every line is a JSON record


def test_short_lines_show_warnings_errors_and_headlines_masked() -> None:
    stream = io.StringIO()  # restored by _restore_logging
    configure_logging("INFO", secrets=("signing-secret-1",), stream=stream, log_format="text")
    log = logging.getLogger("bot.example")
    log.info("people directory loaded", extra={"people": 12})
    log.info("serving HTTP", extra={"port": 3000, "headline": True})
    log.warning(
        "Unhandled request xoxb-1-2-abc\n---\n[Suggestion] a listener",
        extra={"user": "U1", "display_name": "Zelda Secretname"},
    )
    try:
        raise RuntimeError("refused with signing-secret-1")
    except RuntimeError:
        log.exception("sending failed")
    assert stream.getvalue().splitlines() == [
        "serving HTTP (port=3000)",
        "warning: Unhandled request xoxb-*** … (bot.example; user=U1, display_name=[redacted])",
        "error: sending failed (bot.example) — RuntimeError: refused with ***",
    ]


def test_the_demo_logs_no_unhandled_request(tmp_path: Path) -> None:
    """Three months of pulse surveys: each person answers, reads the thank-you and closes it;
    nothing reaches the app that Slack's client would not send."""
    caught = io.StringIO()
    handler = logging.StreamHandler(caught)
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        result = run_demo(
            people=4,
            months=3,
            seed=1,
            out=tmp_path / "out",
            database_url=f"sqlite:///{tmp_path}/demo.db",
            progress_stream=io.StringIO(),
            on_summary=lambda _line: None,
        )
    finally:
        root.removeHandler(handler)
    # Two in each of the demo's two programmes answered the surveys through the modal.
    answered = [line for line in result.summary if re.search(r"Pulse .*: 2 of 2 answered", line)]
    assert len(answered) >= 4
    assert "Unhandled request" not in caught.getvalue()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
