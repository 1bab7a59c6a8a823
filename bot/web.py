"""The WSGI app Slack talks to: `POST /slack/events` through Bolt, `GET /healthz`.

Every request passes the edge (bot/edge.py) before Bolt sees it: the body is read with a
deadline, the signature is checked once on the raw bytes, and the body is parsed into a typed
envelope. Whatever is oversized, slow, unsigned, stale or malformed is answered 4xx here and
never reaches Bolt or a listener; payload types the app does not listen to get an empty 200.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.context import BoltContext
from slack_bolt.request.internals import build_context

from bot.edge import Parsed, Rejected, Unsupported, parse_request, verify_signature
from storage.db import Database

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY_BYTES = 1_000_000


def _json_response(status: int, data: dict[str, Any]) -> WsgiHttpResponse:
    return WsgiHttpResponse(
        status=status,
        headers={"content-type": ["application/json;charset=utf-8"]},
        body=json.dumps(data),
    )


def _header(headers: dict[str, Any], name: str) -> str | None:
    value = headers.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def read_body(environ: WSGIEnvironment) -> bytes | WsgiHttpResponse:
    """The raw body, or the 4xx answer when it is too large, truncated or too slow.

    Under gunicorn the worker (bot/gworker.py) bounds every socket read by the request's
    deadline, so a client that stops sending surfaces here as a timeout.
    """
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    chunked = not declared and "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()
    if declared and (not declared.isascii() or not declared.isdigit()):
        return _json_response(400, {"error": "bad content length"})
    length = MAX_BODY_BYTES + 1 if chunked else int(declared or 0)
    if length > MAX_BODY_BYTES and not chunked:
        return _json_response(413, {"error": "request too large"})
    if length == 0:
        return b""
    try:
        raw = environ["wsgi.input"].read(length)
    except TimeoutError:
        log.warning("request body did not arrive in time")
        return _json_response(408, {"error": "request timeout"})
    except (OSError, ValueError):  # a reset connection, a malformed chunk
        return _json_response(400, {"error": "incomplete body"})
    if len(raw) > MAX_BODY_BYTES:
        return _json_response(413, {"error": "request too large"})
    if not chunked and len(raw) != length:
        return _json_response(400, {"error": "incomplete body"})
    return bytes(raw)


class SlackWsgiApp(SlackRequestHandler):
    """The only verifier of Slack's signature in HTTP mode (Bolt's own check is off)."""

    def __init__(self, app: App, db: Database, signing_secret: str) -> None:
        super().__init__(app, path=EVENTS_PATH)
        self.db = db
        self.signing_secret = signing_secret

    def _health(self) -> WsgiHttpResponse:
        healthy = self.db.healthy()
        return _json_response(
            200 if healthy else 503,
            {
                "status": "ok" if healthy else "unavailable",
                "database": "ok" if healthy else "unreachable",
            },
        )

    def _events(self, request: WsgiHttpRequest) -> WsgiHttpResponse:
        raw = read_body(request.environ)
        if isinstance(raw, WsgiHttpResponse):
            return raw
        headers = request.get_headers()
        if not verify_signature(
            self.signing_secret,
            raw,
            _header(headers, "x-slack-request-timestamp"),
            _header(headers, "x-slack-signature"),
        ):
            log.warning("rejected a request with a missing, bad or stale signature")
            return _json_response(401, {"error": "invalid request"})
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _json_response(400, {"error": "body is not UTF-8"})
        parsed = parse_request(body, _header(headers, "content-type") or "")
        if isinstance(parsed, Rejected):
            log.warning("rejected a malformed request", extra={"reason": parsed.reason})
            return _json_response(400, {"error": "malformed request"})
        if isinstance(parsed, Unsupported):
            # Signed, so it is Slack's: a non-2xx would show the person an error or make Slack
            # retry (and count towards disabling event delivery) for something we never handle.
            log.info("ignored an unsupported payload", extra={"payload_type": parsed.type})
            return WsgiHttpResponse(status=200, headers={}, body="")
        return self._dispatch(request, body, headers, parsed)

    def _dispatch(
        self, request: WsgiHttpRequest, body: str, headers: dict[str, Any], parsed: Parsed
    ) -> WsgiHttpResponse:
        # Bolt gets the body the edge validated; its own parser is skipped (it also misreads a
        # form whose text merely contains the word "payload").
        bolt_request = BoltRequest(body="", query=request.query_string, headers=headers)
        bolt_request.raw_body = body
        bolt_request.body = parsed.body
        bolt_request.context = build_context(BoltContext({}), parsed.body)
        try:
            response = self.app.dispatch(bolt_request)
        except Exception:  # noqa: BLE001 - never a stack trace to Slack
            log.exception("dispatch failed")
            return _json_response(500, {"error": "internal error"})
        return WsgiHttpResponse(
            status=response.status, headers=response.headers, body=response.body
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = WsgiHttpRequest(environ)
        if request.method == "GET" and request.path == HEALTH_PATH:
            response = self._health()
        elif request.path == EVENTS_PATH:
            if request.method != "POST":
                response = _json_response(405, {"error": "use POST"})
            else:
                response = self._events(request)
        else:
            response = _json_response(404, {"error": "not found"})
        start_response(response.status, response.get_headers())
        return response.get_body()
