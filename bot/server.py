"""Running the app: HTTP on waitress (bot/http_server.py) or Socket Mode (bot/socket_mode.py)."""

from __future__ import annotations

import gc
import logging
import signal
import sys
import threading
import time
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import http_server
from bot.app import create_app
from bot.clock import Clock
from bot.services import build_services
from bot.settings import Settings
from bot.slack_api import USER_CACHE_SECONDS
from bot.socket_mode import socket_mode_client
from bot.web import SlackWsgiApp

log = logging.getLogger(__name__)
DEFAULT_THREADS = 64
DIRECTORY_REFRESH_S = 0.9 * USER_CACHE_SECONDS
DIRECTORY_PAGE_INTERVAL_S = 3.0  # users.list is Tier 2: 20 calls a minute
LISTENER_GRACE_S = 10.0  # within http_server.SHUTDOWN_GRACE_S


class Runtime:
    """The app, its services and its scheduler, started and stopped together.

    With `preload_directory` (the served app) the people cache is filled from `users.list`
    at start and refreshed before it ages out, so first commands after a deploy do not each
    wait for a `users.info`.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        with_scheduler: bool = True,
        clock: Clock | None = None,
        preload_directory: bool = False,
    ) -> None:
        from scheduler.runner import build_scheduler

        self.app, self.services = create_app(settings, build_services(settings, clock=clock))
        self.wsgi = SlackWsgiApp(self.app, self.services.db, settings.slack_signing_secret)
        self.scheduler = build_scheduler(self.services) if with_scheduler else None
        self.preload_directory = preload_directory
        self._stopped = threading.Event()

    def start(self) -> None:
        if self.scheduler is not None:
            self.scheduler.start()
        if self.preload_directory:
            threading.Thread(target=self._keep_directory, name="directory", daemon=True).start()

    def _keep_directory(self) -> None:
        """Preloads the directory, then again every DIRECTORY_REFRESH_S (start to start), so
        each entry is renewed before USER_CACHE_SECONDS end; pages are paced for Tier 2."""
        while True:
            started = time.monotonic()
            count = self.services.people.preload(
                between_pages=lambda: not self._stopped.wait(DIRECTORY_PAGE_INTERVAL_S)
            )
            log.info("people directory loaded", extra={"people": count})
            if self._stopped.wait(max(0.0, DIRECTORY_REFRESH_S - (time.monotonic() - started))):
                return

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        # Work acknowledged before the stop (a reply, a DM) still goes out.
        executor = self.services.listener_executor
        if executor is not None and not executor.wait_idle(LISTENER_GRACE_S):
            log.warning("listener work still running at stop")
        self.services.db.dispose()
        log.info("stopped")


def freeze_startup_objects() -> None:
    """Moves everything built at start (modules, the app, catalogs) out of the collector's
    sight: a full collection would otherwise walk ~130,000 long-lived objects and stall every
    thread, acknowledgements included, for a few hundred milliseconds."""
    gc.collect()
    gc.freeze()


def port_problem(host: str, port: int) -> str | None:
    """One line saying why the server could not listen on host:port, or None if it can."""
    listener = http_server.bind(host, port)
    if isinstance(listener, str):
        return listener
    listener.close()
    return None


def serve_http(
    settings: Settings, host: str, port: int, workers: int = 1, threads: int = DEFAULT_THREADS
) -> None:
    """Serves until SIGTERM or SIGINT: `workers` processes (each with its own app, scheduler
    and people cache) on one listening socket, `threads` request threads each."""
    listener = http_server.bind(host, port)
    if isinstance(listener, str):  # taken since the check at start
        print(f"reverse-mentoring: {listener}", file=sys.stderr)
        sys.exit(2)

    def start() -> http_server.Started:
        # In the worker process: each worker owns its app and scheduler.
        runtime = Runtime(settings, preload_directory=True)
        freeze_startup_objects()
        runtime.start()
        return runtime.wsgi, runtime.stop

    log.info(
        "serving HTTP",
        extra={"host": host, "port": port, "workers": workers, "headline": True},
    )
    sys.exit(http_server.serve(listener, start, workers=workers, threads=threads))


def serve_socket_mode(settings: Settings) -> None:
    runtime = Runtime(settings, preload_directory=True)
    freeze_startup_objects()
    assert settings.slack_app_token is not None
    socket_mode = socket_mode_client(runtime.app, settings.slack_app_token)
    done = threading.Event()

    def shutdown(_signum: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    problem: str | None = None
    try:
        socket_mode.connect()
    except SlackApiError as error:
        problem = f"Slack refused to open it ({error.response.get('error')})"
    except Exception as error:  # noqa: BLE001 - any network failure gets one line
        problem = f"cannot reach Slack ({type(error).__name__})"
    if problem is None and not socket_mode.is_connected():
        # The SDK logs the failure and keeps retrying in the background: stop it here.
        problem = "the WebSocket did not connect"
    if problem is not None:
        log.error("cannot connect in Socket Mode", extra={"cause": problem})
        socket_mode.close()
        runtime.stop()
        print(
            f"reverse-mentoring: cannot connect in Socket Mode with SLACK_APP_TOKEN: {problem}",
            file=sys.stderr,
        )
        sys.exit(2)
    runtime.start()
    log.info("connected in Socket Mode", extra={"headline": True})
    done.wait()
    socket_mode.close()
    runtime.stop()
    sys.exit(0)
