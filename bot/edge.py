"""The edge: what a request must be before anything else in the app sees it.

`signed` checks Slack's signature with slack_sdk's `SignatureVerifier` (the one check in HTTP
mode; Bolt's own is off). `parse_request` (HTTP bodies) and `parse_socket_mode` (Socket Mode
payloads) turn what Slack sent into one of the typed envelopes below, or a `Rejected` reason.
Only the fields the app (and Bolt's context extraction) reads are validated; everything else
Slack sends passes through untouched (`extra="allow"`). A payload that passes here cannot make
Bolt or a listener crash on its shape.

The envelope is handed on: Bolt's context holds it under `ENVELOPE_KEY` (`envelope_of`), so a
listener can read typed fields instead of the raw body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from slack_sdk.signature import Clock as SignatureClock
from slack_sdk.signature import SignatureVerifier

from bot.clock import SystemClock

# Deeper than any payload Slack sends (rich text in a message is about a dozen levels).
MAX_DEPTH = 64
ENVELOPE_KEY = "envelope"  # Bolt context key of the request's typed envelope
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_TYPE_NAME = re.compile(r"[a-z_]{1,40}")

SlackId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
ShortText = Annotated[str, StringConstraints(max_length=4000)]


class WallClock(SignatureClock):
    """Wall time for the signature's five-minute window, never the installed clock: a
    sandbox's simulated clock must not reject Slack's requests."""

    def now(self) -> float:
        return SystemClock().now().timestamp()


def signature_verifier(signing_secret: str) -> SignatureVerifier:
    return SignatureVerifier(signing_secret, clock=WallClock())


def signed(
    verifier: SignatureVerifier, body: str, timestamp: str | None, signature: str | None
) -> bool:
    """True when `body` carries Slack's `v0` signature, made within the last five minutes.

    A missing, non-numeric or odd header is simply False: it is screened before
    `SignatureVerifier`, which would raise on a non-numeric timestamp or a non-ASCII signature.
    """
    if not timestamp or not signature or not _TIMESTAMP.fullmatch(timestamp):
        return False
    if not signature.isascii():
        return False
    return bool(verifier.is_valid(body=body, timestamp=timestamp, signature=signature))


# ---------------------------------------------------------------- shapes


class _Loose(BaseModel):
    # strict: a number is not an id; extra: keep everything Slack sends that we do not read.
    model_config = ConfigDict(extra="allow", strict=True)


class Ref(_Loose):
    """An object Slack names by id (user, channel, team, enterprise); the id may be absent."""

    id: str | None = None


class ResponseUrl(_Loose):
    response_url: str | None = None


class Node(_Loose):
    """Any object Bolt's context extraction walks (the envelope, `event`, `message`, …).

    Bolt reads these keys with `"id" in x` / `x.get(...)` before any listener runs; a number or
    a list in their place would crash it.
    """

    user: str | Ref | None = None
    channel: str | Ref | None = None
    team: str | Ref | None = None
    enterprise: str | Ref | None = None
    authorizations: list[Node] | None = None
    event: Node | None = None
    message: Node | None = None
    previous_message: Node | None = None
    item: Node | None = None
    assistant_thread: Node | None = None
    function_data: dict[str, Any] | None = None
    view: dict[str, Any] | None = None
    response_url: str | None = None
    response_urls: list[ResponseUrl] | None = None


class User(_Loose):
    id: SlackId


class ViewState(_Loose):
    values: dict[str, dict[str, dict[str, Any]]] = Field(default_factory=dict)


class View(_Loose):
    """A modal or App Home view the person acted in."""

    id: SlackId
    callback_id: str = ""
    private_metadata: str = ""
    state: ViewState | None = None


class SubmittedView(View):
    callback_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class Action(_Loose):
    action_id: SlackId
    block_id: str = ""
    type: str = ""
    value: str | None = None


class Container(_Loose):
    type: str = ""
    channel_id: str | None = None
    message_ts: str | None = None
    view_id: str | None = None


class MessageRef(Node):
    ts: str | None = None


class SlashCommand(Node):
    """`/mentoring …` as a form: the fields the command handler and Bolt's `respond` read."""

    command: Annotated[str, StringConstraints(pattern=r"^/", max_length=100)]
    user_id: SlackId
    text: ShortText = ""
    trigger_id: str = ""
    channel_id: str = ""
    response_url: str = ""


class SslCheck(_Loose):
    ssl_check: str


class BlockActions(Node):
    type: Literal["block_actions"]
    user: User
    actions: Annotated[list[Action], Field(min_length=1, max_length=50)]
    trigger_id: str = ""
    view: View | None = None
    container: Container | None = None
    channel: Ref | None = None
    message: MessageRef | None = None
    state: ViewState | None = None


class ViewSubmission(Node):
    type: Literal["view_submission"]
    user: User
    view: SubmittedView
    trigger_id: str = ""


class ViewClosed(Node):
    type: Literal["view_closed"]
    user: User
    view: SubmittedView
    is_cleared: bool = False


class Event(Node):
    type: SlackId


class EventCallback(Node):
    type: Literal["event_callback"]
    event: Event
    event_id: SlackId
    team_id: str | None = None


class UrlVerification(_Loose):
    type: Literal["url_verification"]
    challenge: Annotated[str, StringConstraints(min_length=1, max_length=500)]


Envelope = (
    SlashCommand
    | SslCheck
    | BlockActions
    | ViewSubmission
    | ViewClosed
    | EventCallback
    | UrlVerification
)
_BY_TYPE: dict[str, type[BaseModel]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "view_closed": ViewClosed,
    "event_callback": EventCallback,
    "url_verification": UrlVerification,
}
HANDLED_TYPES = frozenset(_BY_TYPE)


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Parsed:
    """A request the app handles: the typed envelope and the body as Bolt reads it."""

    envelope: Envelope
    body: dict[str, Any]


@dataclass(frozen=True)
class Unsupported:
    """A well-formed Slack payload of a type the app does not listen to."""

    type: str


@dataclass(frozen=True)
class Rejected:
    """Not a Slack request the app can read; `reason` is safe to log (no body content)."""

    reason: str


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def _load_json(text: str) -> dict[str, Any] | Rejected:
    try:
        value = json.loads(text)
    except RecursionError:
        return Rejected("nested too deeply")
    except ValueError:
        return Rejected("not JSON")
    if not isinstance(value, dict):
        return Rejected("not a JSON object")
    if _too_deep(value):
        return Rejected("nested too deeply")
    return value


def _typed(data: dict[str, Any]) -> Parsed | Unsupported | Rejected:
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        return Rejected("no payload type")
    model = _BY_TYPE.get(kind)
    if model is None:
        return Unsupported(kind if _TYPE_NAME.fullmatch(kind) else "other")
    return _validate(model, data)


def _validate(model: type[BaseModel], data: dict[str, Any]) -> Parsed | Rejected:
    try:
        envelope = model.model_validate(data)
    except ValidationError as error:
        # Field locations only: the values may be personal data.
        where = sorted({".".join(str(p) for p in e["loc"][:3]) for e in error.errors()})
        return Rejected(f"bad {model.__name__}: {', '.join(where[:5])}")
    return Parsed(envelope, data)  # type: ignore[arg-type]


def envelope_of(context: Mapping[str, Any]) -> Envelope | None:
    """The typed envelope the edge validated for this request (Bolt's `context`)."""
    return context.get(ENVELOPE_KEY)


def parse_socket_mode(kind: str, payload: Any) -> Parsed | Unsupported | Rejected:
    """A Socket Mode request's payload (already JSON): `slash_commands` carry a command's
    fields, `interactive` and `events_api` the same payloads as over HTTP."""
    if kind not in ("slash_commands", "interactive", "events_api"):
        return Unsupported(kind if _TYPE_NAME.fullmatch(kind) else "other")
    if not isinstance(payload, dict):
        return Rejected("not a JSON object")
    if _too_deep(payload):
        return Rejected("nested too deeply")
    if kind == "slash_commands":
        return _validate(SlashCommand, payload)
    return _typed(payload)


def parse_request(body: str, content_type: str) -> Parsed | Unsupported | Rejected:
    """Slack's three body shapes: JSON (events), a form (slash commands) and a form with one
    `payload` field holding JSON (interactivity)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or body.lstrip().startswith("{"):
        data = _load_json(body)
        return data if isinstance(data, Rejected) else _typed(data)
    try:
        form = dict(parse_qsl(body, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        return Rejected("not a form")
    if "payload" in form:
        data = _load_json(form["payload"])
        return data if isinstance(data, Rejected) else _typed(data)
    if "command" in form:
        return _validate(SlashCommand, form)
    if "ssl_check" in form:
        return _validate(SslCheck, form)
    return Rejected("unknown form")
