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
from bot.sandbox import example as example_workspace
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


def prepare_database(database_url: str, *, example: bool, fresh: bool) -> tuple[bool, str | None]:
    """Before the sandbox starts: (whether its workspace is the example's, a refusal or None).

    `--fresh` empties the database first. `--example` seeds the example into an empty database,
    continues it in a database it was seeded in, and refuses one that holds other data rather
    than mix the two. Without `--example`, a database holding the example keeps its people."""
    from storage.db import Database

    database = Database(database_url)
    try:
        if fresh:
            example_workspace.wipe(database)
            return example, None
        if example_workspace.holds_example(database):
            return True, None
        held = example_workspace.holds_data(database) if example else None
    finally:
        database.dispose()
    if held is not None:
        where = make_url(database_url).render_as_string(hide_password=True)
        if database_url == DEFAULT_DATABASE_URL:
            where = "sandbox.db"
        return example, (
            f"{where} already holds data ({held}) and --example would mix with it: add --fresh "
            "to delete it and start over with the example, or leave out --example to continue"
        )
    return example, None


def run_sandbox(
    *,
    host: str,
    port: int,
    people: int,
    seed: int,
    database_url: str | None,
    example: bool = False,
    fresh: bool = False,
) -> int:
    """Runs until Ctrl-C or SIGTERM; returns the exit code."""
    started = time.monotonic()
    url = database_url or DEFAULT_DATABASE_URL
    example, refusal = prepare_database(url, example=example, fresh=fresh)
    if refusal is not None:
        print(f"reverse-mentoring: {refusal}", file=sys.stderr)
        return 2
    sandbox = Sandbox(
        host=host, port=port, people=people, seed=seed, database_url=url, example=example
    )
    try:
        address = sandbox.start()
    except OSError as error:
        print(
            f"reverse-mentoring: cannot start the sandbox on {host}:{port} ({error.strerror})",
            file=sys.stderr,
        )
        return 2
    except example_workspace.SeedingFailed as error:
        sandbox.stop()
        print(
            f"reverse-mentoring: the example could not be seeded ({error}); "
            "start over with --example --fresh",
            file=sys.stderr,
        )
        return 2
    what = " with the example: two programmes a month in;" if example else ","
    print(
        f"Sandbox (a simulated Slack workspace{what} nothing reaches Slack) at {address} "
        f"— ready in {time.monotonic() - started:.1f} s. "
        f"{database_line(url)} To connect a real workspace "
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
