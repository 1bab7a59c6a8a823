"""The WSGI app Slack talks to: `POST /slack/events` through Bolt's WSGI adapter, `GET /healthz`.

Requests are screened before Bolt sees them: an oversized, badly signed, stale or unparsable
request is answered 4xx here (Bolt alone would answer 500 to a malformed `payload=`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_sdk.signature import SignatureVerifier

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


def parse_slack_body(body: str, content_type: str) -> dict[str, Any] | None:
    """Slack's three body shapes (JSON, form, form with `payload=` JSON); None if malformed."""
    try:
        if content_type.startswith("application/json") or body.startswith("{"):
            parsed = json.loads(body)
        else:
            form = dict(parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body)))
            if "payload" not in form:
                return form or None
            parsed = json.loads(form["payload"])
            if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
                return None
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) and parsed else None


class SlackWsgiApp(SlackRequestHandler):
    def __init__(self, app: App, db: Database, signing_secret: str) -> None:
        super().__init__(app, path=EVENTS_PATH)
        self.db = db
        self.verifier = SignatureVerifier(signing_secret)

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
        environ = request.environ
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _json_response(400, {"error": "bad content length"})
        if length > MAX_BODY_BYTES:
            return _json_response(413, {"error": "request too large"})
        raw = environ["wsgi.input"].read(length) if length else b""
        headers = request.get_headers()
        timestamp = str(headers.get("x-slack-request-timestamp") or "")
        signature = str(headers.get("x-slack-signature") or "")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _json_response(400, {"error": "body is not UTF-8"})
        if not self.verifier.is_valid(body, timestamp, signature):
            log.warning("rejected a request with a bad or stale signature")
            return _json_response(401, {"error": "invalid request"})
        if parse_slack_body(body, str(headers.get("content-type") or "")) is None:
            log.warning("rejected a malformed request body")
            return _json_response(400, {"error": "malformed body"})
        try:
            response = self.app.dispatch(
                BoltRequest(body=body, query=request.query_string, headers=headers)
            )
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
