"""response_url: issued with each command or action, answered as Slack shows the answer."""

from __future__ import annotations

import copy
import json
import uuid
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from bot.simulated_slack.web_api import clocks
from bot.simulated_slack.web_api.clocks import (
    RESPONSE_URL_MAX_USES,
    RESPONSE_URL_TTL_SECONDS,
    real_time,
)
from bot.simulated_slack.web_api.faults import Faults
from bot.simulated_slack.web_api.http_server import decode_json_params
from bot.simulated_slack.web_api.protocol import Call, Reply, json_reply, truthy
from bot.simulated_slack.web_api.state import BOT_USER_ID, ResponseUrl


class ResponseUrls(Faults):
    """30 minutes and 5 uses per URL; answers replace, delete or add messages."""

    def response_url(
        self,
        token: str | None = None,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
    ) -> str:
        """A response_url pointing at this server, valid for 5 uses within 30 minutes.

        POSTs to it are recorded as ``response_url`` calls and applied to the workspace:
        ``channel``/``user`` are where the slash command or action happened (ephemeral
        answers go to that person in that channel), ``message_ts`` the message the action came
        from (``replace_original``/``delete_original`` apply to it).
        """
        key = token or uuid.uuid4().hex
        with self._lock:
            self._response_urls[key] = ResponseUrl(
                issued_at=self._url_now(), channel=channel, user=user, message_ts=message_ts
            )
        return f"{self.base_url}/response/{key}"

    def show_command_answer(self, response_url: str, body: str) -> bool:
        """Shows a slash command's acknowledgement body as Slack does: a JSON message there is
        the command's immediate answer (ephemeral unless ``response_type`` is ``in_channel``),
        recorded as a ``command_ack`` call. Returns whether the body held a message."""
        try:
            message = json.loads(body) if body.strip() else None
        except json.JSONDecodeError:
            message = None
        if not isinstance(message, dict) or not (message.get("text") or message.get("blocks")):
            return False
        token = response_url.rsplit("/", 1)[-1]
        params = {**decode_json_params(message), "_token": token}
        with self._lock:
            url = self._response_urls.get(token)
            if url is not None:  # the answer needs no use of the response_url
                self._apply_response(url, params, via="command_ack")
            self._record(Call("command_ack", params, real_time(), True, None, 200, None))
        return True

    def _url_now(self) -> float:
        return self.clock() if self.clock is not None else clocks.response_url_clock()

    def _handle_response_url(self, token: str, headers: Message, body: bytes) -> Reply:
        at = real_time()
        content_type = headers.get("Content-Type") or ""
        try:
            if content_type.startswith("application/json") or body.lstrip()[:1] == b"{":
                decoded = json.loads(body.decode("utf-8")) if body else {}
            else:
                form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                decoded = json.loads(form["payload"]) if "payload" in form else form
        except (json.JSONDecodeError, UnicodeDecodeError):
            decoded = None
        if not isinstance(decoded, dict):
            payload = {"ok": False, "error": "invalid_payload"}
            params = {"_raw": body.decode("utf-8", "replace"), "_token": token}
            self._record(Call("response_url", params, at, False, "invalid_payload", 400, payload))
            return json_reply(400, payload)
        params = {**decode_json_params(decoded), "_token": token}
        fault = self._take_fault("response_url")
        if fault is not None:
            reply, payload = self._fault_reply(fault)
            self._record(
                Call("response_url", params, at, False, payload["error"], fault.status, payload)
            )
            return reply
        with self._lock:
            url = self._response_urls.get(token)
            problem: str | None = None
            if url is None:
                problem = "no_such_url"
            elif self._url_now() - url.issued_at > RESPONSE_URL_TTL_SECONDS:
                problem = "expired_url"
            elif url.uses >= RESPONSE_URL_MAX_USES:
                problem = "used_url"
            if url is None or problem is not None:
                self._record(Call("response_url", params, at, False, problem, 404, None))
                return Reply(404, (problem or "").encode(), {"Content-Type": "text/plain"})
            url.uses += 1
            self._apply_response(url, params)
            hang = self._take_lost("response_url")
            payload = {"ok": True}
            self._record(Call("response_url", params, at, True, None, 200, payload, hang is None))
        reply = json_reply(200, payload)
        if hang is not None:
            reply.lost, reply.hang = True, hang
        return reply

    def _apply_response(
        self, url: ResponseUrl, params: dict[str, Any], via: str = "response_url"
    ) -> None:
        """Show a response_url answer as Slack does: replace or delete the original message,
        post ``in_channel``, or show an ephemeral message to the person who acted."""
        channel, user, message_ts = url.channel, url.user, url.message_ts
        if channel is None:
            return
        original = self._messages.get((channel, message_ts)) if message_ts else None
        ephemeral = next(
            (
                m
                for m in self._ephemeral
                if m["channel"] == channel and m["user"] == user and m["ts"] == message_ts
            ),
            None,
        )
        target = original if original is not None else ephemeral
        if truthy(params.get("delete_original")):
            if original is not None:
                del self._messages[(channel, str(message_ts))]
            elif ephemeral is not None:
                self._ephemeral.remove(ephemeral)
            return
        if truthy(params.get("replace_original")) and target is not None:
            target["text"] = params.get("text") or ""
            target["blocks"] = copy.deepcopy(params.get("blocks") or [])
            target["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
            return
        ts = self._next_ts()
        if params.get("response_type") == "in_channel":
            message = self._message_object(params, ts)
            self._messages[(channel, ts)] = {**message, "channel": channel}
        elif user is not None:
            self._store_ephemeral(channel, user, ts, params, via=via)
