"""The HTTP side: a threading HTTP/1.1 server in a daemon thread and request parsing.

Each request is answered on its own thread by :meth:`FakeSlack._handle`; only the standard
library's ``http.server`` is used.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from email import policy
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qsl

from bot.simulated_slack.web_api.protocol import ApiError, json_reply

if TYPE_CHECKING:
    from bot.simulated_slack.web_api.fake import FakeSlack

# Parameters that Slack expects as JSON; slack_sdk sends them as JSON strings in form bodies.
_JSON_PARAMS: Final = frozenset(
    {
        "blocks",
        "attachments",
        "view",
        "files",
        "metadata",
        "user_auth_blocks",
        "outputs",
        "inputs",
        "unfurls",
        "options",
        "option_groups",
        "profile",
    }
)


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    header = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
    params: dict[str, Any] = {}
    if not message.is_multipart():
        return params
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = {"filename": filename, "bytes": data}
        else:
            params[name] = data.decode("utf-8", "replace")
    return params


def decode_json_params(params: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(params)
    for key in _JSON_PARAMS & decoded.keys():
        value = decoded[key]
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # left as sent when it is not JSON; the method handler rejects it
            with contextlib.suppress(json.JSONDecodeError):
                decoded[key] = json.loads(value)
    return decoded


def parse_params(query: str, headers: Message, body: bytes) -> dict[str, Any]:
    """A Web API request's parameters: the query string merged with a form, JSON or
    multipart body (JSON-valued fields are still strings here)."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    content_type = headers.get("Content-Type") or ""
    if not body:
        return params
    if content_type.startswith("application/json"):
        decoded = json.loads(body.decode("utf-8"))
        if not isinstance(decoded, dict):
            raise ApiError("invalid_json")
        params.update(decoded)
    elif content_type.startswith("multipart/form-data"):
        params.update(_parse_multipart(content_type, body))
    else:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return params


class _Handler(BaseHTTPRequestHandler):
    server: Server
    # Slack keeps connections alive between calls; every answer carries its Content-Length.
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body are two writes: without this, Nagle holds the body back until the
        # client's delayed ACK (40 ms) on a kept-alive connection, a delay Slack does not have.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        try:
            reply = self.server.fake._handle(self.command, self.path, self.headers, body)
        except Exception as exc:  # never let a harness bug hang the client
            reply = json_reply(500, {"ok": False, "error": f"fake_slack_bug: {exc!r}"})
        if reply.lost:
            # The call took effect; the client hears nothing and its connection is closed.
            if reply.hang > 0:
                threading.Event().wait(reply.hang)
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # bursts of concurrent clients, like Slack's own front door

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (an app stopping mid-call) is not the fake's error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)
