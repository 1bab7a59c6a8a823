"""Socket Mode through the same edge as HTTP.

slack_sdk's `SocketModeClient` hands every request to its `socket_mode_request_listeners`;
`SocketModeEdge` is that listener. Each payload is validated by the edge
(`bot.edge.parse_socket_mode`, the same envelopes as over HTTP) before Bolt sees it: a
malformed one never reaches Bolt or a listener and is not acknowledged (as HTTP answers it 400),
a type the app does not handle is acknowledged empty, and a valid one is dispatched with its
envelope in Bolt's context. (Bolt's own `SocketModeHandler` would dispatch the raw payload.)
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.edge import ENVELOPE_KEY, Rejected, Unsupported, parse_socket_mode

log = logging.getLogger(__name__)
PING_INTERVAL_S = 10.0  # as Bolt's SocketModeHandler


class SocketModeEdge:
    """Validates, dispatches and acknowledges one Socket Mode request."""

    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, socket_client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        parsed = parse_socket_mode(request.type, request.payload)
        if isinstance(parsed, Rejected):
            log.warning("rejected a malformed request", extra={"reason": parsed.reason})
            return
        if isinstance(parsed, Unsupported):
            log.info("ignored an unsupported payload", extra={"payload_type": parsed.type})
            socket_client.send_socket_mode_response(
                SocketModeResponse(envelope_id=request.envelope_id)
            )
            return
        headers: dict[str, str] = {}
        if request.retry_attempt is not None:  # as over HTTP, for event de-duplication
            headers["x-slack-retry-num"] = str(request.retry_attempt)
        if request.retry_reason is not None:
            headers["x-slack-retry-reason"] = request.retry_reason
        try:
            response = self.app.dispatch(
                BoltRequest(
                    body=parsed.body,
                    headers=headers,
                    context={ENVELOPE_KEY: parsed.envelope},
                    mode="socket_mode",
                )
            )
        except Exception:  # noqa: BLE001 - the connection must go on
            log.exception("dispatch failed")
            return
        if response.status != 200:
            log.info("request not acknowledged", extra={"status": response.status})
            return
        socket_client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload=_payload(response))
        )


def _payload(response: BoltResponse) -> dict[str, Any] | None:
    """The acknowledgement's payload: JSON as sent, text as {"text": ...}, nothing if empty."""
    if not response.body:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if content_type.startswith("application/json"):
        return json.loads(response.body)  # type: ignore[no-any-return]
    return {"text": response.body}


def socket_mode_client(app: App, app_token: str) -> SocketModeClient:
    """slack_sdk's Socket Mode client (built like Bolt's handler builds it) whose requests
    all pass `SocketModeEdge`."""
    client = SocketModeClient(
        app_token=app_token,
        logger=app.logger,
        web_client=app.client,
        proxy=app.client.proxy,
        ping_interval=PING_INTERVAL_S,
    )
    client.socket_mode_request_listeners.append(SocketModeEdge(app))
    return client
