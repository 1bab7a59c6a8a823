"""The edge: what a request must be before anything else in the app sees it.

`verify_signature` checks Slack's signature on the raw bytes (the one check in HTTP mode; Bolt's
own is off). `parse_request` turns the verified body into one of the typed envelopes below, or a
`Rejected` reason. Only the fields the app (and Bolt's context extraction) reads are validated;
everything else Slack sends passes through untouched (`extra="allow"`). A payload that passes
here cannot make Bolt or a listener crash on its shape.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from bot.clock import SystemClock

# Slack's replay window (https://api.slack.com/authentication/verifying-requests-from-slack).
MAX_SIGNATURE_AGE_S = 300
# Deeper than any payload Slack sends (rich text in a message is about a dozen levels).
MAX_DEPTH = 64
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_TYPE_NAME = re.compile(r"[a-z_]{1,40}")

SlackId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
ShortText = Annotated[str, StringConstraints(max_length=4000)]


def verify_signature(
    signing_secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float | None = None,
) -> bool:
    """True when `body` carries Slack's `v0` signature, made within the last five minutes.

    Any missing, non-numeric or odd header is simply False: never an exception.
    """
    if not timestamp or not signature or not _TIMESTAMP.fullmatch(timestamp):
        return False
    # Wall time, not the installed clock: a sandbox's simulated clock must not reject Slack.
    current = SystemClock().now().timestamp() if now is None else now
    if abs(current - int(timestamp)) > MAX_SIGNATURE_AGE_S:
        return False
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    digest = hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    # WSGI header values are latin-1 strings: compare bytes, never raise on odd characters.
    return hmac.compare_digest(b"v0=" + digest.encode("ascii"), signature.encode("latin-1"))


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
