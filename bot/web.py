"""The WSGI app Slack talks to: `POST /slack/events` through Bolt, `GET /healthz`.

Every request passes the edge (bot/edge.py) before Bolt sees it: the body is read, the
signature is checked once (slack_sdk's `SignatureVerifier`), and the body is parsed into a
typed envelope. Whatever is oversized, unsigned, stale or malformed is answered 4xx here and
never reaches Bolt or a listener; payload types the app does not listen to get an empty 200.
The server (bot/server.py, waitress) has read each whole request before this app runs, so a
slow client never holds a thread here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot.edge import (
    ENVELOPE_KEY,
    Parsed,
    Rejected,
    Unsupported,
    parse_request,
    signature_verifier,
    signed,
)
from storage.db import Database

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1_000_000
_JSON = "application/json;charset=utf-8"

# (status, headers, body) of one answer
Answer = tuple[int, list[tuple[str, str]], bytes]


def _json(status: int, data: dict[str, Any]) -> Answer:
    return status, [("Content-Type", _JSON)], json.dumps(data).encode("utf-8")


def _headers(environ: WSGIEnvironment) -> dict[str, str]:
    """The request's headers, names in lower case (as Bolt normalises them)."""
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def read_body(environ: WSGIEnvironment) -> bytes | Answer:
    """The raw body, or the 4xx answer when it is too large or truncated."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    chunked = not declared and "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    if declared and (not declared.isascii() or not declared.isdigit()):
        return _json(400, {"error": "bad content length"})
    length = MAX_BODY_BYTES + 1 if chunked else int(declared or 0)
    if length > MAX_BODY_BYTES and not chunked:
        return _json(413, {"error": "request too large"})
    if length == 0:
        return b""
    try:
        raw = environ["wsgi.input"].read(length)
    except (OSError, ValueError):  # a reset connection, a malformed chunk
        return _json(400, {"error": "incomplete body"})
    if len(raw) > MAX_BODY_BYTES:
        return _json(413, {"error": "request too large"})
    if not chunked and len(raw) != length:
        return _json(400, {"error": "incomplete body"})
    return bytes(raw)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class SlackWsgiApp:
    """The only verifier of Slack's signature in HTTP mode (Bolt's own check is off)."""

    def __init__(self, app: App, db: Database, signing_secret: str) -> None:
        self.app = app
        self.db = db
        self.verifier = signature_verifier(signing_secret)

    def _health(self) -> Answer:
        healthy = self.db.healthy()
        return _json(
            200 if healthy else 503,
            {
                "status": "ok" if healthy else "unavailable",
                "database": "ok" if healthy else "unreachable",
            },
        )

    def _events(self, environ: WSGIEnvironment) -> Answer:
        raw = read_body(environ)
        if isinstance(raw, tuple):
            return raw
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:  # Slack signs UTF-8 text only
            return _json(400, {"error": "body is not UTF-8"})
        headers = _headers(environ)
        timestamp = headers.get("x-slack-request-timestamp")
        if not signed(self.verifier, body, timestamp, headers.get("x-slack-signature")):
            log.warning("rejected a request with a missing, bad or stale signature")
            return _json(401, {"error": "invalid request"})
        parsed = parse_request(body, headers.get("content-type", ""))
        if isinstance(parsed, Rejected):
            log.warning("rejected a malformed request", extra={"reason": parsed.reason})
            return _json(400, {"error": "malformed request"})
        if isinstance(parsed, Unsupported):
            # Signed, so it is Slack's: a non-2xx would show the person an error or make Slack
            # retry (and count towards disabling event delivery) for something we never handle.
            log.info("ignored an unsupported payload", extra={"payload_type": parsed.type})
            return 200, [], b""
        return self._dispatch(environ, headers, parsed)

    def _dispatch(
        self, environ: WSGIEnvironment, headers: dict[str, str], parsed: Parsed
    ) -> Answer:
        # Bolt gets the body the edge validated, as JSON: its form parser would misread a
        # command whose text merely contains the word "payload". Its signature check is off
        # (this edge made the one check), so the re-encoded bytes are never verified.
        request = BoltRequest(
            body=json.dumps(parsed.body),
            query=str(environ.get("QUERY_STRING") or ""),
            headers=headers | {"content-type": "application/json"},
            context={ENVELOPE_KEY: parsed.envelope},
        )
        try:
            response: BoltResponse = self.app.dispatch(request)
        except Exception:  # noqa: BLE001 - never a stack trace to Slack
            log.exception("dispatch failed")
            return _json(500, {"error": "internal error"})
        answer_headers = [
            (name, value)
            for name, values in response.headers.items()
            if name.lower() != "content-length"  # set once, below
            for value in values
        ]
        return response.status, answer_headers, (response.body or "").encode("utf-8")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        if method == "GET" and path == HEALTH_PATH:
            status, headers, body = self._health()
        elif path == EVENTS_PATH:
            if method != "POST":
                status, headers, body = _json(405, {"error": "use POST"})
            else:
                status, headers, body = self._events(environ)
        else:
            status, headers, body = _json(404, {"error": "not found"})
        headers = [*headers, ("Content-Length", str(len(body)))]
        start_response(f"{status} {_reason(status)}", headers)
        return [body]
