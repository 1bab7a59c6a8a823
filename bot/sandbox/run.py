"""Starting the sandbox from the command line: one line saying where it is and which database
it uses (and how the CLI reads that database), then serve."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bot.sandbox import DEFAULT_DATABASE_URL
from bot.sandbox.server import Sandbox

# scripts/run names itself here, so the start line shows the command the person typed.
LAUNCHER_VARIABLE = "REVERSE_MENTORING_LAUNCHER"


def database_line(database_url: str) -> str:
    """Which database the sandbox uses, and the exact CLI that reads the same one."""
    launcher = os.environ.get(LAUNCHER_VARIABLE) or "reverse-mentoring"
    if database_url == DEFAULT_DATABASE_URL:
        where = Path("sandbox.db").resolve()
        return f"Its data: {where} (read it with `{launcher} export --sandbox`)."
    url = make_url(database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database:
        shown = f"sqlite:///{Path(url.database).resolve()}"
    return f"Its data: {shown} (read it with `DATABASE_URL='{shown}' {launcher} export`)."


def run_sandbox(*, host: str, port: int, people: int, seed: int, database_url: str | None) -> int:
    """Runs until Ctrl-C or SIGTERM; returns the exit code."""
    started = time.monotonic()
    sandbox = Sandbox(
        host=host,
        port=port,
        people=people,
        seed=seed,
        database_url=database_url or DEFAULT_DATABASE_URL,
    )
    try:
        url = sandbox.start()
    except OSError as error:
        print(
            f"reverse-mentoring: cannot start the sandbox on {host}:{port} ({error.strerror})",
            file=sys.stderr,
        )
        return 2
    print(
        f"Sandbox (a simulated Slack workspace, nothing reaches Slack) at {url} "
        f"— ready in {time.monotonic() - started:.1f} s. "
        f"{database_line(database_url or DEFAULT_DATABASE_URL)} To connect a real workspace "
        "instead, put SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET in .env (see README).",
        flush=True,
    )
    done = threading.Event()

    def stop(_signum: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    done.wait()
    sandbox.stop()
    return 0
