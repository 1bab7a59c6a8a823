"""Starting the sandbox from the command line: one line saying where it is, then serve."""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

from bot.sandbox.server import Sandbox

DEFAULT_DATABASE_URL = "sqlite:///sandbox.db"


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
        f"— ready in {time.monotonic() - started:.1f} s. To connect a real workspace instead, "
        "put SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET in .env (see README).",
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
