"""gunicorn's threaded worker, changed so that slow clients cannot take the thread pool.

Stock gthread hands every accepted connection straight to a pool thread, which then reads the
headers and the body with blocking socket calls and no deadline: 64 connections that announce
`Content-Length: 1000` and send 3 bytes hold all 64 threads for as long as they stay open, and
/healthz and Slack's requests queue behind them. Here the worker's event loop (one thread,
non-blocking sockets, no thread per connection) collects each request until its headers and
whole body have arrived, and only then hands it to the pool. A request not complete within
`REQUEST_DEADLINE_S` is answered 408 and closed by the loop. Reads a pool thread still does
(chunked bodies, `Expect: 100-continue`, pipelined requests) are bounded by the same deadline.

Only the connection hand-over of gunicorn.workers.gthread.ThreadWorker is overridden; parsing
and responses stay gunicorn's (the buffered bytes are replayed to its parser).
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import time
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

from bot.web import MAX_BODY_BYTES

# From accept (or a kept-alive connection's first new byte) to the request's last byte. Slack
# wants its acknowledgement within 3 s of sending, so a request still arriving is of no use.
REQUEST_DEADLINE_S = 3.0
MAX_HEADER_BYTES = 64 * 1024
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
)


class DeadlineSocket:
    """A client socket whose blocking reads end at the current request's deadline.

    Also replays the bytes the event loop already read, so gunicorn's parser sees the stream
    unchanged. Everything else is delegated to the real socket.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._replay = bytearray()
        self.deadline: float | None = None

    def replay(self, data: bytes | bytearray) -> None:
        self._replay += data

    def recv(self, size: int, *flags: int) -> bytes:
        if self._replay:
            data = bytes(self._replay[:size])
            del self._replay[:size]
            return data
        previous = self._sock.gettimeout()
        if self.deadline is None or previous == 0.0:
            return self._sock.recv(size, *flags)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request deadline passed")
        if previous is not None and previous < remaining:
            return self._sock.recv(size, *flags)
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size, *flags)
        finally:
            self._sock.settimeout(previous)

    def raw(self) -> socket.socket:
        return self._sock

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def request_complete(data: bytes | bytearray) -> bool:
    """Whether `data` holds a whole request, or enough for gunicorn or the app to answer it.

    Only decides when to hand the connection over; gunicorn's parser still reads the request.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return len(data) > MAX_HEADER_BYTES  # gunicorn refuses oversized headers
    length: int | None = None
    for line in bytes(data[:end]).split(b"\r\n")[1:]:
        name, _sep, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            value = value.strip()
            if length is not None or not value.isdigit():
                return True  # gunicorn answers 400
            length = int(value)
        elif name in (b"transfer-encoding", b"expect"):
            return True  # read by the pool thread, under the deadline
    if length is None or length > MAX_BODY_BYTES:
        return True  # no body, or one the app refuses (413) without reading
    return len(data) - (end + 4) >= length


class _Reading:
    __slots__ = ("conn", "data", "deadline")

    def __init__(self, conn: TConn, deadline: float) -> None:
        self.conn = conn
        self.data = bytearray()
        self.deadline = deadline


class BufferingThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gthread that gives a connection a thread only once its request has fully arrived."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading: dict[int, _Reading] = {}

    def accept(self, listener: socket.socket) -> None:
        if self.cfg.is_ssl:  # TLS bytes cannot be inspected here: stock behaviour
            super().accept(listener)
            return
        try:
            client_sock, client_addr = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        conn.sock = DeadlineSocket(conn.sock)
        self._start_reading(conn)

    def on_client_socket_readable(self, conn: TConn, client: Any) -> None:
        # A kept-alive connection's next request is collected the same way.
        if not isinstance(conn.sock, DeadlineSocket):
            super().on_client_socket_readable(conn, client)
            return
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._start_reading(conn)

    def enqueue_req(self, conn: TConn) -> None:
        if isinstance(conn.sock, DeadlineSocket):
            conn.sock.deadline = time.monotonic() + REQUEST_DEADLINE_S
            conn.data_ready = True  # never wait for data in a pool thread
        super().enqueue_req(conn)

    def _start_reading(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        state = _Reading(conn, time.monotonic() + REQUEST_DEADLINE_S)
        self._reading[id(conn)] = state
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, state))

    def _on_readable(self, state: _Reading, _fileobj: Any) -> None:
        # Runs in the event loop: it must never raise.
        try:
            chunk = state.conn.sock.raw().recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(state)
            return
        state.data += chunk
        try:
            complete = request_complete(state.data)
        except Exception:  # noqa: BLE001 - gunicorn's parser will judge it
            complete = True
        if complete:
            self._stop_reading(state)
            state.conn.sock.replay(state.data)
            self.enqueue_req(state.conn)

    def _stop_reading(self, state: _Reading) -> None:
        self._reading.pop(id(state.conn), None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(state.conn.sock)

    def _drop(self, state: _Reading, answer: bytes = b"") -> None:
        self._stop_reading(state)
        if answer:
            with contextlib.suppress(OSError):
                state.conn.sock.raw().send(answer)
        self.nr_conns -= 1
        state.conn.close()

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        for state in [s for s in self._reading.values() if s.deadline <= now]:
            self._drop(state, _TIMEOUT_RESPONSE if state.data else b"")
