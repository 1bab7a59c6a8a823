"""Slack's `response_url` endpoint for bench_http: receives replies, checks and counts them.

Runs in its own process (Slack's servers are not in the app's or the clients' process) with
one thread and HTTP/1.1 keep-alive, as hooks.slack.com offers. The simulated Slack
(bot/simulated_slack) answers each connection in a new thread and models every message it
receives, which costs more CPU per reply than the app spends making it; on a shared machine
that cost would be billed to the app. Here a reply is only parsed and checked: a JSON object
with a `text` and `blocks`, posted once to a URL handed out for one command.

    python -m bench.reply_sink       # prints its port; GET /stats answers the counts
"""

from __future__ import annotations

import json
import selectors
import signal
import socket
import sys
from typing import Any

_OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"


class Sink:
    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.listener.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.buffers: dict[socket.socket, bytearray] = {}
        self.seen: set[str] = set()
        self.stats = {"replies": 0, "bad": 0, "duplicates": 0}

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def serve(self) -> None:
        while True:
            for key, _events in self.selector.select():
                if key.fileobj is self.listener:
                    self._accept()
                else:
                    self._read(key.fileobj)  # type: ignore[arg-type]

    def _accept(self) -> None:
        try:
            conn, _address = self.listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(True)  # answers are small: a blocking send never waits long
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffers[conn] = bytearray()
        self.selector.register(conn, selectors.EVENT_READ)

    def _close(self, conn: socket.socket) -> None:
        self.selector.unregister(conn)
        self.buffers.pop(conn, None)
        conn.close()

    def _read(self, conn: socket.socket) -> None:
        try:
            chunk = conn.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            self._close(conn)
            return
        buffer = self.buffers[conn]
        buffer += chunk
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                name, _sep, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(buffer) < end + 4 + length:
                return
            body = bytes(buffer[end + 4 : end + 4 + length])
            del buffer[: end + 4 + length]
            method, path, _version = head[0].split(" ", 2)
            conn.sendall(self._answer(method, path, body))

    def _answer(self, method: str, path: str, body: bytes) -> bytes:
        if method == "GET" and path == "/stats":
            data = json.dumps(self.stats).encode()
            return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data)
        if method != "POST" or not path.startswith("/commands/"):
            self.stats["bad"] += 1
            return _BAD
        if not _is_reply(body):
            self.stats["bad"] += 1
            return _BAD
        if path in self.seen:
            self.stats["duplicates"] += 1
        self.seen.add(path)
        self.stats["replies"] += 1
        return _OK


def _is_reply(body: bytes) -> bool:
    try:
        message: Any = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(message, dict)
        and isinstance(message.get("text"), str)
        and bool(message["text"])
        and isinstance(message.get("blocks"), list)
        and bool(message["blocks"])
    )


def main() -> int:
    sink = Sink()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(sink.port, flush=True)
    sink.serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
