"""Where the CPU of one `/mentoring help` goes: cProfile of the WSGI app called in-process.

Builds the real app (edge, Bolt, listeners, services) against a simulated Slack and calls the
WSGI callable directly with signed bodies, so no socket or server thread blurs the picture.
The listener pool runs each listener inline, in the profiled thread, right after the ack, so
the profile holds the acknowledgement path and the listener's real work (people lookups, the
reply through response_url) together. Prints the top functions by cumulative and own time.

    python -m bench.profile_http [--requests 2000] [--top 40] [--sort cumulative|tottime]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any
from unittest import mock
from urllib.parse import urlencode

from bot.settings import parse_settings
from bot.simulated_slack import FakeSlack
from bot.simulated_slack.signed_requests import compute_signature

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"


class DeferredExecutor(Executor):
    """Keeps each task until `run_pending`, which runs them in the caller's thread: the
    acknowledgement and the listener's work can be timed apart, and cProfile sees both."""

    def __init__(self) -> None:
        self.pending: list[tuple[Future[Any], Callable[[], Any]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.pending.append((future, lambda: fn(*args, **kwargs)))
        return future

    def run_pending(self) -> None:
        while self.pending:
            future, task = self.pending.pop(0)
            try:
                future.set_result(task())
            except BaseException as error:  # noqa: BLE001 - handed to the future like a pool
                future.set_exception(error)


def _environ(fake: FakeSlack, user: str) -> dict[str, Any]:
    fields = {
        "token": "legacy",
        "team_id": "T0TEST",
        "team_domain": "testteam",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/mentoring",
        "text": "help",
        "api_app_id": "A0TEST",
        "is_enterprise_install": "false",
        "response_url": fake.response_url(channel="C0GENERAL", user=user),
        "trigger_id": fake.issue_trigger(),
    }
    body = urlencode(fields).encode()
    ts = str(int(time.time()))
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": ts,
        "HTTP_X_SLACK_SIGNATURE": compute_signature(SECRET, ts, body),
        "wsgi.input": io.BytesIO(body),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    args = parser.parse_args()

    with FakeSlack(bot_token=TOKEN) as fake, tempfile.TemporaryDirectory() as folder:
        users = [f"UBENCH{i:05d}" for i in range(200)]
        for user in users:
            fake.add_user(user)
        settings = parse_settings(
            {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": fake.api_url,
                "DATABASE_URL": f"sqlite:///{folder}/profile.db",
                "LOG_LEVEL": "WARNING",
            }
        )
        from bot.app import create_app
        from bot.web import SlackWsgiApp

        executor = DeferredExecutor()
        with mock.patch("bot.app.ListenerPool", lambda *_a, **_kw: executor):
            app, services = create_app(settings)
        services.db.migrate()
        wsgi = SlackWsgiApp(app, services.db, SECRET)
        statuses: list[str] = []

        def start_response(status: str, _headers: Any) -> None:
            statuses.append(status)

        environs = [_environ(fake, users[i % len(users)]) for i in range(args.requests)]
        for environ in environs[: len(users)]:  # people lookups cached, like a warm server
            b"".join(wsgi(environ, start_response))
            executor.run_pending()
        ack_cpu = listener_cpu = 0.0
        for environ in [_environ(fake, users[i % len(users)]) for i in range(args.requests)]:
            started = time.thread_time()
            b"".join(wsgi(environ, start_response))
            acked = time.thread_time()
            executor.run_pending()
            ack_cpu += acked - started
            listener_cpu += time.thread_time() - acked
        per_request = 1000 / args.requests
        print(
            "CPU per request in the app's thread, without a profiler: acknowledgement "
            f"{ack_cpu * per_request:.3f} ms, listener {listener_cpu * per_request:.3f} ms"
        )
        environs = [_environ(fake, users[i % len(users)]) for i in range(args.requests)]
        statuses.clear()
        profiler = cProfile.Profile()
        profiler.enable()
        for environ in environs:
            b"".join(wsgi(environ, start_response))
            executor.run_pending()
        profiler.disable()
        bad = [s for s in statuses if not s.startswith("200")]
        print(f"profiled {args.requests} more requests; non-200: {len(bad)}")
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats(args.sort).print_stats(args.top)
        print(stream.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
