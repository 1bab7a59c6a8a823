"""Serving a WSGI app on waitress, in one process or several sharing one listening socket.

waitress reads each whole request (headers and body) in its event loop before a worker thread
sees it, so clients that send slowly or stall hold a connection, never a thread: /healthz and
Slack's requests keep being answered. A connection that sends nothing for
`IDLE_TIMEOUT_S` (a stalled request or an idle keep-alive) is closed.

waitress is one process. With `workers` > 1 this process binds the socket, forks that many
workers that each build their own app (and scheduler) and serve the shared socket, restarts a
worker that dies, and on SIGTERM or SIGINT stops them all gracefully. Used by the real server
(bot/server.py) and by bench/bare_bolt.py, so both run under the same settings.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import waitress

from bot.web import MAX_BODY_BYTES

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

log = logging.getLogger(__name__)
# Slack wants its acknowledgement within 3 s of sending: a request still not arrived after
# this long is of no use, and an idle keep-alive connection is cheap to open again.
IDLE_TIMEOUT_S = 5
CONNECTION_LIMIT = 1000  # per worker; beyond it waitress stops accepting until some close
SHUTDOWN_GRACE_S = 15.0  # then workers still running are killed
RESTART_PAUSE_S = 1.0  # before replacing a worker that died
SUPERVISOR_TICK_S = 0.2  # how often the supervisor looks for signals and exited workers

# (the WSGI app, what to run after the server stopped)
Started = tuple["WSGIApplication", Callable[[], None]]


def waitress_options(threads: int) -> dict[str, Any]:
    return {
        "threads": threads,
        "channel_timeout": IDLE_TIMEOUT_S,
        "cleanup_interval": 1,  # how often idle connections are looked for
        "connection_limit": CONNECTION_LIMIT,
        "max_request_body_size": MAX_BODY_BYTES,  # larger ones are answered 413 unread
        "asyncore_use_poll": True,  # no select() limit of 1024 descriptors
        "ident": "",  # no Server header
    }


def bind(host: str, port: int) -> socket.socket | str:
    """A listening socket on host:port, or one line saying why there cannot be one."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return f"cannot listen on --host {host}: no such address"
    family, kind, proto, _name, address = addresses[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(1024)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            return f"port {port} on {host} is already in use (choose another with --port)"
        if error.errno == errno.EACCES:
            return f"no permission to listen on port {port} (use a port above 1023)"
        return f"cannot listen on {host}:{port} ({error.strerror or type(error).__name__})"
    return listener


_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
BOOT_FAILED = 3  # a worker's exit status when its app could not be built


def _stop_on_signals() -> None:
    """From here on SIGTERM and SIGINT stop the server. They were blocked while the app was
    built, so one that came meanwhile lands here, and the app is stopped all the same."""

    def stop(_signum: int, _frame: Any) -> None:
        # waitress's run() ends on SystemExit, after running requests finish (up to 5 s).
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _run(listener: socket.socket, started: Started, threads: int) -> None:
    app, stopped = started
    try:
        server = waitress.create_server(app, sockets=[listener], **waitress_options(threads))
        _stop_on_signals()
        server.run()
    finally:
        stopped()


def serve(
    listener: socket.socket, start: Callable[[], Started], *, workers: int, threads: int
) -> int:
    """Serves until SIGTERM or SIGINT; `start` builds the app in each worker process."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)  # until the app is built
    if workers > 1:
        return _Supervisor(listener, start, workers, threads).run()
    _run(listener, start(), threads)
    return 0


class _Supervisor:
    """Forks the workers, replaces one that dies, and stops them all on SIGTERM or SIGINT.

    Signals stay blocked here and are taken when pending, so none can arrive between a fork
    and noting the child. A worker whose app cannot be built stops everything (exit 1).
    """

    def __init__(
        self, listener: socket.socket, start: Callable[[], Started], workers: int, threads: int
    ) -> None:
        self.listener = listener
        self.start = start
        self.workers = workers
        self.threads = threads
        self.children: set[int] = set()
        self.boot_failed = False

    def run(self) -> int:
        while not self.boot_failed:
            while len(self.children) < self.workers:
                self.children.add(self._fork())
            if signal.sigpending() & _STOP_SIGNALS:
                signal.sigwait(_STOP_SIGNALS)  # taken: it is pending
                break
            if self._reap() and not self.boot_failed:
                log.error("a worker exited; starting another")
                time.sleep(RESTART_PAUSE_S)
            time.sleep(SUPERVISOR_TICK_S)
        self._stop_children()
        return 1 if self.boot_failed else 0

    def _fork(self) -> int:
        parent = os.getpid()
        pid = os.fork()
        if pid:
            return pid
        # The worker: never returns into the supervisor's code.
        code = 0
        try:
            _exit_with_parent(parent)
            try:
                started = self.start()
            except Exception:  # noqa: BLE001 - the supervisor stops everything
                log.exception("a worker could not start")
                code = BOOT_FAILED
            else:
                _run(self.listener, started, self.threads)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 0
        except BaseException:  # noqa: BLE001 - logged, then the supervisor replaces it
            log.exception("worker failed")
            code = 1
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _reap(self) -> int:
        """Notes the workers that exited; returns how many."""
        gone = 0
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                break
            if pid == 0:
                break
            if pid in self.children:
                self.children.discard(pid)
                gone += 1
                if os.waitstatus_to_exitcode(status) == BOOT_FAILED:
                    self.boot_failed = True
        return gone

    def _stop_children(self) -> None:
        for pid in self.children:
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        while self.children and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
        for pid in list(self.children):
            log.warning("a worker did not stop in time; killed")
            _signal(pid, signal.SIGKILL)
        while self.children:
            self._reap()
            time.sleep(0.05)


def _exit_with_parent(parent: int) -> None:
    """A worker whose supervisor is gone (even killed) stops too."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="supervisor-watch", daemon=True).start()


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
