"""Signed requests to the app's ``POST /slack/events``, shaped exactly as Slack sends them.

Signing follows https://api.slack.com/authentication/verifying-requests-from-slack (the scheme
``slack_sdk.signature.SignatureVerifier`` checks): ``X-Slack-Request-Timestamp: <unix seconds>``
and ``X-Slack-Signature: v0=<hex HMAC-SHA256(secret, b"v0:<timestamp>:" + raw body)>``.

The module-level helpers (:func:`plain`, :func:`static_select`, …, :func:`values_from`) build
``view.state.values`` entries exactly as Slack sends them in ``view_submission`` payloads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import string
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from bot.simulated_slack.web_api import FakeSlack

FORM: str = "application/x-www-form-urlencoded"
JSON: str = "application/json"

# A direct opener: never route 127.0.0.1 through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# Mentions, channels and special mentions as Slack writes them in command text.
_SLACK_TOKEN = re.compile(r"<[@#!][^<>]*>")


def as_slack_sends(typed: str) -> str:
    """A slash command's text as Slack sends it with `should_escape: true` (the manifest's):
    the person's own `&`, `<` and `>` as entities, mentions (`<@U123>`) left as they are."""

    def escape(part: str) -> str:
        return part.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    pieces: list[str] = []
    last = 0
    for token in _SLACK_TOKEN.finditer(typed):
        pieces += [escape(typed[last : token.start()]), token.group(0)]
        last = token.end()
    return "".join([*pieces, escape(typed[last:])])


@dataclass
class Response:
    """What the app answered. ``sent`` is the decoded request (form fields, payload or event
    envelope); ``response_url``/``trigger_id`` are the ones put into the request, if any."""

    status: int
    body: str
    headers: Message
    sent: dict[str, Any] = field(default_factory=dict)
    response_url: str | None = None
    trigger_id: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


def compute_signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Slack-Signature`` value for ``body`` sent at ``timestamp``."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def _random_id(prefix: str, length: int = 10) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


class SlackRequests:
    """Sends signed Slack requests (commands, interactivity, events) to the app under test."""

    def __init__(
        self,
        app_url: str,
        signing_secret: str,
        fake: FakeSlack | None = None,
        team_id: str = "T0TEST",
        api_app_id: str = "A0TEST",
        *,
        team_domain: str = "testteam",
        verification_token: str = "legacy-verification-token",
        clock: Callable[[], float] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.app_url = app_url
        self.signing_secret = signing_secret
        self.fake = fake
        self.team_id = team_id
        self.api_app_id = api_app_id
        self.team_domain = team_domain
        self.verification_token = verification_token
        #: time source for X-Slack-Request-Timestamp; default ``time.time`` read per request
        #: (under freezegun that is the frozen time, as the app's verifier sees it too)
        self.clock = clock
        self.timeout = timeout

    # ---------------------------------------------------------------- plumbing

    def _now(self) -> float:
        return self.clock() if self.clock is not None else time.time()

    def _trigger_id(self) -> str:
        if self.fake is not None:
            return self.fake.issue_trigger()
        return f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"

    def _response_url(
        self, channel: str | None = None, user: str | None = None, message_ts: str | None = None
    ) -> str:
        if self.fake is not None:
            return self.fake.response_url(channel=channel, user=user, message_ts=message_ts)
        return (
            f"https://hooks.slack.com/actions/{self.team_id}/"
            f"{secrets.randbelow(10**10)}/{secrets.token_urlsafe(18)}"
        )

    def _user_name(self, user_id: str) -> str:
        if self.fake is not None:
            user = self.fake.user(user_id)
            if user is not None:
                return str(user["name"])
        return user_id.lower()

    def _user(self, user_id: str) -> dict[str, Any]:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _team(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": self.team_domain}

    def raw(
        self,
        body: bytes,
        *,
        content_type: str = FORM,
        timestamp: str | int | None = None,
        signature: str | None = None,
        sign: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """POST ``body`` as is. ``timestamp``/``signature`` override the computed ones;
        ``sign=False`` omits both signature headers."""
        ts = str(timestamp) if timestamp is not None else str(int(self._now()))
        request_headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0"}
        if sign:
            request_headers["X-Slack-Request-Timestamp"] = ts
            request_headers["X-Slack-Signature"] = (
                signature
                if signature is not None
                else compute_signature(self.signing_secret, ts, body)
            )
        request_headers.update(headers or {})
        request = urllib.request.Request(
            self.app_url, data=body, headers=request_headers, method="POST"
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as resp:
                return Response(resp.status, resp.read().decode("utf-8", "replace"), resp.headers)
        except urllib.error.HTTPError as err:
            text = err.read().decode("utf-8", "replace")
            return Response(err.code, text, err.headers)

    def _send_form(self, fields: dict[str, str], **extra: Any) -> Response:
        response = self.raw(urlencode(fields).encode("utf-8"))
        response.sent = dict(fields)
        for key, value in extra.items():
            setattr(response, key, value)
        return response

    def payload(
        self,
        payload: dict[str, Any],
        *,
        response_url: str | None = None,
        trigger_id: str | None = None,
    ) -> Response:
        """Send any interactivity payload as ``payload=<json>`` (form-encoded)."""
        body = urlencode({"payload": json.dumps(payload)}).encode("utf-8")
        response = self.raw(body)
        response.sent = payload
        response.response_url = response_url
        response.trigger_id = trigger_id
        return response

    def _send_json(
        self, envelope: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> Response:
        response = self.raw(
            json.dumps(envelope).encode("utf-8"), content_type=JSON, headers=headers
        )
        response.sent = envelope
        return response

    # ---------------------------------------------------------------- slash commands

    def command(
        self,
        user_id: str,
        text: str = "",
        *,
        command: str = "/mentoring",
        channel_id: str = "C0GENERAL",
        trigger_id: str | None = None,
        channel_name: str | None = None,
    ) -> Response:
        if channel_name is None:
            if channel_id.startswith("D"):
                channel_name = "directmessage"
            elif channel_id == "C0GENERAL":
                channel_name = "general"
            else:
                channel_name = channel_id.lower()
        trigger = trigger_id if trigger_id is not None else self._trigger_id()
        response_url = self._response_url(channel_id, user_id).replace("/actions/", "/commands/")
        fields = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": self._user_name(user_id),
            "command": command,
            "text": as_slack_sends(text),
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger,
        }
        response = self._send_form(fields, response_url=response_url, trigger_id=trigger)
        if self.fake is not None and response.status == 200:
            # A message in the acknowledgement is the command's immediate answer.
            self.fake.show_command_answer(response_url, response.body)
        return response

    # ---------------------------------------------------------------- interactivity

    def view_submission(
        self, user_id: str, view: Mapping[str, Any], values: Mapping[str, Any]
    ) -> Response:
        """Submit ``view`` (as returned by views.open/push/update) with ``state.values``."""
        submitted = json.loads(json.dumps(view))
        submitted["state"] = {"values": json.loads(json.dumps(values))}
        submitted.setdefault("team_id", self.team_id)
        submitted.setdefault("app_id", self.api_app_id)
        trigger = self._trigger_id()
        payload = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger,
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.payload(payload, trigger_id=trigger)

    def view_closed(
        self, user_id: str, view: Mapping[str, Any], *, is_cleared: bool = False
    ) -> Response:
        closed = json.loads(json.dumps(view))
        closed.setdefault("state", {"values": {}})
        payload = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "view": closed,
            "is_cleared": is_cleared,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.payload(payload)

    def block_action(
        self,
        user_id: str,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str = "b",
        action_type: str = "button",
        selected_option: str | Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
        message: Mapping[str, Any] | None = None,
        channel_id: str | None = None,
        container: Mapping[str, Any] | None = None,
        values: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Response:
        """A ``block_actions`` payload.

        With ``view`` (App Home or modal) the payload carries ``view`` (``values`` become its
        ``state.values``) and a view container, and — like Slack — no ``response_url``.
        Otherwise it is a message action: ``message`` (e.g. from ``FakeSlack.posted_messages``;
        its ``channel`` key is used when ``channel_id`` is not given), ``channel``, a message
        container, ``state`` and a ``response_url``. ``extra`` is merged into the action
        (e.g. ``{"selected_user": "U1"}``).
        """
        action_ts = f"{self._now():.6f}"
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": action_type,
            "action_ts": action_ts,
        }
        if action_type == "button":
            action["text"] = {"type": "plain_text", "text": action_id, "emoji": True}
        if value is not None:
            action["value"] = value
        if selected_option is not None:
            action["selected_option"] = (
                _option(selected_option)
                if isinstance(selected_option, str)
                else dict(selected_option)
            )
        action.update(extra or {})

        trigger = self._trigger_id()
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger,
            "team": self._team(),
            "enterprise": None,
            "is_enterprise_install": False,
            "actions": [action],
        }
        response_url: str | None = None
        if view is not None:
            view_payload = json.loads(json.dumps(view))
            if values is not None:
                view_payload["state"] = {"values": json.loads(json.dumps(values))}
            else:
                view_payload.setdefault("state", {"values": {}})
            payload["view"] = view_payload
            payload["container"] = (
                dict(container)
                if container is not None
                else {"type": "view", "view_id": view_payload.get("id", "")}
            )
        else:
            msg = json.loads(json.dumps(message)) if message is not None else None
            channel = channel_id or (msg.pop("channel", None) if msg else None) or "C0GENERAL"
            if msg is not None:
                msg.pop("channel", None)
            message_ts = msg.get("ts", "") if msg else ""
            payload["container"] = (
                dict(container)
                if container is not None
                else {
                    "type": "message",
                    "message_ts": message_ts,
                    "channel_id": channel,
                    "is_ephemeral": msg is None,
                }
            )
            original_ts = str(payload["container"].get("message_ts") or "") or None
            response_url = self._response_url(channel, user_id, original_ts)
            payload["channel"] = {"id": channel, "name": _channel_name(channel)}
            if msg is not None:
                payload["message"] = msg
            payload["state"] = {"values": json.loads(json.dumps(values or {}))}
            payload["response_url"] = response_url
        return self.payload(payload, response_url=response_url, trigger_id=trigger)

    # ---------------------------------------------------------------- Events API

    def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> Response:
        now = self._now()
        inner = dict(event)
        inner.setdefault("event_ts", f"{now:.6f}")
        envelope = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.api_app_id,
            "event": inner,
            "type": "event_callback",
            "event_id": event_id or _random_id("Ev"),
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": "U0BOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": _random_id("4-", 24),
        }
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        return self._send_json(envelope, headers)

    def app_home_opened(self, user_id: str, *, tab: str = "home") -> Response:
        """``app_home_opened``; carries the published home view (like Slack) when there is one."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": f"D{user_id}",
            "tab": tab,
        }
        if self.fake is not None and tab == "home":
            home = self.fake.home_of(user_id)
            if home is not None:
                event["view"] = home
        return self.event(event)

    def user_change(self, user: Mapping[str, Any], *, event_id: str | None = None) -> Response:
        """``user_change``: Slack sends the whole user object after any change to it
        (deactivation: ``deleted`` true; a guest: ``is_restricted``)."""
        return self.event(
            {"type": "user_change", "user": dict(user), "cache_ts": int(self._now())},
            event_id=event_id,
        )

    def url_verification(self, challenge: str) -> Response:
        return self._send_json(
            {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        )


def _channel_name(channel_id: str) -> str:
    if channel_id.startswith("D"):
        return "directmessage"
    if channel_id.startswith("G"):
        return "privategroup"
    return "general" if channel_id == "C0GENERAL" else channel_id.lower()


# ------------------------------------------------------------------------------------------
# view.state.values helpers
# ------------------------------------------------------------------------------------------


def _option(value: str, text: str | None = None) -> dict[str, Any]:
    return {
        "value": value,
        "text": {"type": "plain_text", "text": text if text is not None else value},
    }


def plain(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def static_select(value: str | None, text: str | None = None) -> dict[str, Any]:
    return {
        "type": "static_select",
        "selected_option": _option(value, text) if value is not None else None,
    }


def multi_static_select(values: Sequence[str]) -> dict[str, Any]:
    return {"type": "multi_static_select", "selected_options": [_option(v) for v in values]}


def radio(value: str | None, text: str | None = None) -> dict[str, Any]:
    return {
        "type": "radio_buttons",
        "selected_option": _option(value, text) if value is not None else None,
    }


def checkboxes(values: Sequence[str]) -> dict[str, Any]:
    return {"type": "checkboxes", "selected_options": [_option(v) for v in values]}


def file_input(files: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A ``file_input``'s state: the files the person uploaded (``FakeSlack.share_file``)."""
    return {"type": "file_input", "files": [dict(f) for f in files]}


def users_select(user_id: str | None) -> dict[str, Any]:
    return {"type": "users_select", "selected_user": user_id}


def multi_users_select(user_ids: Sequence[str]) -> dict[str, Any]:
    return {"type": "multi_users_select", "selected_users": list(user_ids)}


def conversations_select(channel_id: str | None) -> dict[str, Any]:
    return {"type": "conversations_select", "selected_conversation": channel_id}


def datepicker(date: str | None) -> dict[str, Any]:
    return {"type": "datepicker", "selected_date": date}


def timepicker(time_of_day: str | None) -> dict[str, Any]:
    return {"type": "timepicker", "selected_time": time_of_day}


def number(value: int | float | str | None) -> dict[str, Any]:
    """Slack sends number_input values as strings."""
    return {"type": "number_input", "value": None if value is None else str(value)}


def values_from(fields: Mapping[str | tuple[str, str], Mapping[str, Any]]) -> dict[str, Any]:
    """Build ``state.values``: keys are ``(block_id, action_id)`` or one id used for both.

    Example: ``values_from({"goal": plain("x"), ("b1", "when"): datepicker("2026-01-31")})``
    gives ``{"goal": {"goal": {...}}, "b1": {"when": {...}}}``.
    """
    result: dict[str, dict[str, Any]] = {}
    for key, state in fields.items():
        block_id, action_id = key if isinstance(key, tuple) else (key, key)
        result.setdefault(block_id, {})[action_id] = dict(state)
    return result
