"""Running the app: HTTP on gunicorn (threaded workers) or Socket Mode."""

from __future__ import annotations

import errno
import gc
import logging
import signal
import socket
import sys
import threading
import time
from typing import Any

from gunicorn.app.base import BaseApplication
from slack_sdk.errors import SlackApiError

from bot.app import create_app
from bot.clock import Clock
from bot.services import build_services
from bot.settings import Settings
from bot.slack_api import USER_CACHE_SECONDS
from bot.web import SlackWsgiApp

log = logging.getLogger(__name__)
DEFAULT_THREADS = 64
DIRECTORY_REFRESH_S = 0.9 * USER_CACHE_SECONDS
DIRECTORY_PAGE_INTERVAL_S = 3.0  # users.list is Tier 2: 20 calls a minute


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
        self.services.response_urls.close()
        self.services.db.dispose()
        log.info("stopped")


def freeze_startup_objects() -> None:
    """Moves everything built at start (modules, the app, catalogs) out of the collector's
    sight: a full collection would otherwise walk ~130,000 long-lived objects and stall every
    thread, acknowledgements included, for a few hundred milliseconds."""
    gc.collect()
    gc.freeze()


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with threaded workers: acks never queue behind slow listener work."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        self.runtime: Runtime | None = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn >= 24 opens one control socket per user (~/.gunicorn/gunicorn.ctl):
            # a second instance on the host would take it over. We never use it.
            self.cfg.set("control_socket_disable", True)
        self.cfg.set("worker_exit", self._worker_exit)

    def _worker_exit(self, _server: Any, _worker: Any) -> None:
        if self.runtime is not None:
            self.runtime.stop()

    def load(self) -> SlackWsgiApp:
        # Runs in the worker process (after fork): each worker owns its app and scheduler.
        self.runtime = Runtime(self.settings, preload_directory=True)
        freeze_startup_objects()
        self.runtime.start()
        return self.runtime.wsgi


def port_problem(host: str, port: int) -> str | None:
    """One line saying why gunicorn could not listen on host:port, or None if it can.

    Checked first because gunicorn retries a taken port for 5 s and then exits with its own log.
    """
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return f"cannot listen on --host {host}: no such address"
    family, kind, proto, _name, address = addresses[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind(address)
            probe.listen(1)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is already in use (choose another with --port)"
            if error.errno == errno.EACCES:
                return f"no permission to listen on port {port} (use a port above 1023)"
            return f"cannot listen on {host}:{port} ({error.strerror or type(error).__name__})"
    return None


def serve_http(
    settings: Settings, host: str, port: int, workers: int = 1, threads: int = DEFAULT_THREADS
) -> None:
    # gthread whose event loop collects each request before a thread gets it (slow clients).
    from bot.gworker import BufferingThreadWorker

    log.info(
        "serving HTTP",
        extra={"host": host, "port": port, "workers": workers, "headline": True},
    )
    GunicornServer(
        settings,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": BufferingThreadWorker,
            "threads": threads,
            "timeout": 60,
            "graceful_timeout": 15,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
            "proc_name": "reverse-mentoring",
        },
    ).run()


def serve_socket_mode(settings: Settings) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    runtime = Runtime(settings, preload_directory=True)
    freeze_startup_objects()
    assert settings.slack_app_token is not None
    handler = SocketModeHandler(runtime.app, settings.slack_app_token)
    done = threading.Event()

    def shutdown(_signum: int, _frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    problem: str | None = None
    try:
        handler.connect()
    except SlackApiError as error:
        problem = f"Slack refused to open it ({error.response.get('error')})"
    except Exception as error:  # noqa: BLE001 - any network failure gets one line
        problem = f"cannot reach Slack ({type(error).__name__})"
    socket_mode = handler.client
    if problem is None and not socket_mode.is_connected():
        # The SDK logs the failure and keeps retrying in the background: stop it here.
        problem = "the WebSocket did not connect"
    if problem is not None:
        log.error("cannot connect in Socket Mode", extra={"cause": problem})
        handler.close()
        runtime.stop()
        print(
            f"reverse-mentoring: cannot connect in Socket Mode with SLACK_APP_TOKEN: {problem}",
            file=sys.stderr,
        )
        sys.exit(2)
    runtime.start()
    log.info("connected in Socket Mode", extra={"headline": True})
    done.wait()
    handler.close()
    runtime.stop()
    sys.exit(0)
