"""The simulated Slack Web API: a local, in-process stand-in for ``https://slack.com/api/``.

Used by the test suite and by the coming sandbox/demo (so it must not import pytest or
freezegun at import time). The app talks to it through a real ``slack_sdk.WebClient`` whose
``base_url`` is :attr:`FakeSlack.api_url`. Every request is recorded as a :class:`Call`; callers
assert on the recorded calls (``calls``, ``wait_for``, ``messages``, ``dm_texts`` …) and on the
workspace state (``posted_messages``, ``ephemeral_messages``, ``channel``, ``home_of`` …).

It behaves like Slack where the app's features depend on it:

- **Rate limits** (opt-in, ``FakeSlack(rate_limits=SLACK_LIKE)``): per-method tiers and
  ``chat.postMessage``'s ~1/s per channel plus a workspace cap, answered HTTP 429 with
  ``Retry-After``; :meth:`FakeSlack.random_rate_limits` answers a seeded fraction of calls 429.
- **Channels** (:meth:`FakeSlack.add_channel`): ``channel_not_found``, ``not_in_channel``,
  ``is_archived``; ``conversations.info/join/history`` and message ``metadata``.
- **Scopes** (default: the bot scopes of the repository's ``manifest.yml``): a method without
  its scope answers ``missing_scope`` with ``needed`` and ``provided``.
- **response_url**: 30 minutes and 5 uses (then HTTP 404 ``expired_url``/``used_url``), applied
  to the workspace (ephemeral per channel and user, ``replace_original``, ``delete_original``,
  ``in_channel``). A slash command's acknowledgement that carries a message is shown the same
  way (:meth:`FakeSlack.show_command_answer`, recorded as ``command_ack``).
- **Connections**: HTTP/1.1 keep-alive, as Slack's API answers.
- **Block Kit**: Slack's limits, text-object types and ``initial_option(s)`` among the options
  (``invalid_blocks`` for messages, ``invalid_arguments`` for views).
- **Faults**: :meth:`FakeSlack.fail_next` (429/5xx/error answers) and
  :meth:`FakeSlack.lose_answer_next` (the call takes effect but the answer never arrives).
- **A Slack as slow as the test wants**: inside :meth:`FakeSlack.holding` the held methods'
  calls wait unanswered until the block ends, so what the app answered meanwhile (an ack, a
  "still saving" modal) provably did not wait for them, whatever the machine's speed.

All state is guarded by one lock; the server answers each request on its own thread.

Only the standard library (and PyYAML for the manifest) is used: ``http.server`` in a daemon
thread.

Clocks and freezegun
--------------------
Trigger expiry (3 s), response_url expiry, rate limits and the ``wait_for`` timeouts run on
*real* time even while a test has frozen the clock with freezegun. freezegun does not patch only
the calling thread: while a freeze is active it replaces ``time.time``/``time.monotonic``/
``time.perf_counter`` for the whole process (every thread, including this server's request
threads), and it also rewrites every module-level global that still refers to one of the real
functions. A plain ``_clock = time.perf_counter`` global would therefore be swapped for the
fake as well, and a ``wait_for`` deadline computed from it would never arrive. We take
``time.perf_counter`` (and ``time.time`` for :attr:`Call.at`) once at import and keep the
references inside a tuple, which freezegun's module scan does not look into; if this module
happens to be imported while a freeze is already active we fetch freezegun's saved real
functions instead. To move these clocks in a test, monkeypatch :func:`trigger_clock` or
:func:`response_url_clock`, or pass ``FakeSlack(clock=...)`` (response_url expiry; the sandbox
passes its simulated clock).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import itertools
import json
import secrets
import socket
import sys
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self
from urllib.parse import parse_qsl

import yaml

from bot.simulated_slack.rate_limits import RandomRateLimits, RateLimiter, RateLimits


def _resolve_real(name: str) -> Callable[[], float]:
    func: Callable[[], float] = getattr(time, name)
    if getattr(func, "__module__", "") == "time":
        return func
    # Imported while freezegun is active: time.<name> is freezegun's fake right now.
    from freezegun import api as freezegun_api  # pragma: no cover - only under an active freeze

    return getattr(freezegun_api, f"real_{name}")  # type: ignore[no-any-return]


# Kept in a tuple on purpose: freezegun rewrites module globals that point at the real
# functions, but it does not look inside containers (see the module docstring).
_REAL_CLOCKS: Final[tuple[Callable[[], float], Callable[[], float]]] = (
    _resolve_real("perf_counter"),
    _resolve_real("time"),
)


def real_monotonic() -> float:
    """A monotonic clock that freezegun does not affect."""
    return _REAL_CLOCKS[0]()


def real_time() -> float:
    """The real wall clock (seconds since the epoch), unaffected by freezegun."""
    return _REAL_CLOCKS[1]()


def trigger_clock() -> float:
    """The clock trigger expiry is measured on. Monkeypatch this in tests to age triggers."""
    return real_monotonic()


def response_url_clock() -> float:
    """The default clock response_url expiry is measured on (``FakeSlack(clock=...)`` wins)."""
    return real_monotonic()


TRIGGER_TTL_SECONDS: Final = 3.0
RESPONSE_URL_TTL_SECONDS: Final = 30 * 60.0
RESPONSE_URL_MAX_USES: Final = 5
GENERAL_CHANNEL: Final = "C0GENERAL"
MESSAGE_BLOCK_LIMIT: Final = 50
VIEW_BLOCK_LIMIT: Final = 100
VIEW_MAX_BYTES: Final = 250_000
BOT_USER_ID: Final = "U0BOT"
BOT_ID: Final = "B0BOT"
# A held call goes ahead after this long even if the test never ends its holding block
# (a listener waiting for it must not hang the test run).
HOLD_LIMIT_SECONDS: Final = 30.0

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

_MANIFEST: Final = Path(__file__).resolve().parents[2] / "manifest.yml"
# Used when the package runs without the repository (an installed wheel has no manifest.yml).
_FALLBACK_SCOPES: Final = frozenset(
    {"chat:write", "commands", "files:write", "im:write", "mpim:write", "users:read"}
)


def manifest_bot_scopes(path: Path | None = None) -> frozenset[str]:
    """The bot scopes of the app manifest (``oauth_config.scopes.bot``)."""
    manifest = path or _MANIFEST
    if path is None and not manifest.exists():
        return _FALLBACK_SCOPES
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    return frozenset(str(s) for s in data["oauth_config"]["scopes"]["bot"])


# Any one of these scopes allows the method (Slack's ``needed`` lists them comma-joined).
# Methods reading a conversation need the scope of its kind; see ``_needed_scopes``.
METHOD_SCOPES: Final[dict[str, tuple[str, ...]]] = {
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "conversations.open": ("channels:manage", "groups:write", "im:write", "mpim:write"),
    "conversations.join": ("channels:join",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "reactions.add": ("reactions:write",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}
_READ_SCOPES: Final = {
    "conversations.history": "history",
    "conversations.info": "read",
    "conversations.members": "read",
}
_KIND_PREFIX: Final = {"public": "channels", "private": "groups", "im": "im", "mpim": "mpim"}

_TZ_LABELS: Final = {
    "Europe/Berlin": "Central European Time",
    "Europe/Paris": "Central European Time",
    "Europe/London": "Greenwich Mean Time",
    "America/New_York": "Eastern Standard Time",
    "America/Los_Angeles": "Pacific Standard Time",
    "Asia/Ho_Chi_Minh": "Indochina Time",
    "Asia/Tokyo": "Japan Standard Time",
    "UTC": "Coordinated Universal Time",
}


@dataclass
class Call:
    """One request the fake received.

    ``params`` are the request parameters (query string and body merged, ``token`` removed,
    JSON strings such as ``blocks``/``view``/``files`` decoded). ``at`` is the real wall-clock
    time of receipt. ``ok``/``error``/``status``/``response`` describe what the fake answered
    (failed and fault-injected calls are recorded too). ``answered`` is False when the answer
    was lost on purpose (:meth:`FakeSlack.lose_answer_next`): the call took effect, the client
    never heard.
    """

    method: str
    params: dict[str, Any]
    at: float
    ok: bool = True
    error: str | None = None
    status: int = 200
    response: dict[str, Any] | None = None
    answered: bool = True

    def went_to(self, channel: str) -> bool:
        """Posted to `channel`, as sent or as resolved (a user id resolves to their DM)."""
        resolved = (self.response or {}).get("channel")
        return channel in (self.params.get("channel"), resolved)


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    error: str | None


@dataclass
class _Trigger:
    issued_at: float
    used: bool = False


@dataclass
class _ResponseUrl:
    issued_at: float
    channel: str | None
    user: str | None
    message_ts: str | None
    uses: int = 0


@dataclass
class _Channel:
    id: str
    name: str
    is_private: bool
    is_archived: bool
    bot_is_member: bool
    created: int


@dataclass
class _Upload:
    file_id: str
    filename: str
    length: int
    data: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: dict[str, str]
    #: close the connection without answering, after ``hang`` seconds (a lost answer)
    lost: bool = False
    hang: float = 0.0


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _json_reply(
    status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> _Reply:
    all_headers = {"Content-Type": "application/json; charset=utf-8"}
    all_headers.update(headers or {})
    return _Reply(status, json.dumps(payload).encode("utf-8"), all_headers)


def _text_of(obj: Any) -> str | None:
    if isinstance(obj, dict):
        text = obj.get("text")
        return text if isinstance(text, str) else None
    return obj if isinstance(obj, str) else None


def _summarise(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, default=repr, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# Block Kit validation (the limits Slack enforces; messages are Slack's own wording)
# --------------------------------------------------------------------------------------------


def _check_len(
    errors: list[str], value: Any, max_len: int, pointer: str, *, min_len: int = 0
) -> None:
    if not isinstance(value, str):
        return
    if len(value) > max_len:
        errors.append(f"must be less than {max_len + 1} characters [json-pointer:{pointer}]")
    elif len(value) < min_len:
        errors.append(f"must be more than {min_len - 1} characters [json-pointer:{pointer}]")


def _check_count(errors: list[str], items: Any, max_items: int, pointer: str) -> None:
    if isinstance(items, list) and len(items) > max_items:
        errors.append(f"no more than {max_items} items allowed [json-pointer:{pointer}]")


_OPTION_LIMITS: Final = {
    "static_select": 100,
    "multi_static_select": 100,
    "radio_buttons": 10,
    "checkboxes": 10,
    "overflow": 5,
}
# Elements whose option texts may be mrkdwn; every other option text must be plain_text.
_MRKDWN_OPTIONS: Final = frozenset({"radio_buttons", "checkboxes"})
_INITIAL_ONE: Final = frozenset({"static_select", "radio_buttons"})
_INITIAL_MANY: Final = frozenset({"multi_static_select", "checkboxes"})
_TEXT_TYPES: Final = frozenset({"plain_text", "mrkdwn"})


def _check_text_type(errors: list[str], obj: Any, pointer: str, *, plain_only: bool) -> None:
    """A text object's ``type``: ``plain_text`` where Slack requires it, else either kind."""
    if not isinstance(obj, dict):
        return
    kind = obj.get("type")
    allowed = {"plain_text"} if plain_only else _TEXT_TYPES
    if kind is None:
        errors.append(f"missing required field: type [json-pointer:{pointer}/type]")
    elif kind not in allowed:
        errors.append(f"must be a valid enum value [json-pointer:{pointer}/type]")


def _check_options(errors: list[str], options: Any, pointer: str, *, plain_only: bool) -> None:
    if not isinstance(options, list):
        return
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            continue
        _check_text_type(errors, option.get("text"), f"{pointer}/{i}/text", plain_only=plain_only)
        _check_len(errors, _text_of(option.get("text")), 75, f"{pointer}/{i}/text/text")
        _check_len(errors, option.get("value"), 150, f"{pointer}/{i}/value")


def _option_key(option: Any) -> tuple[Any, Any]:
    if not isinstance(option, dict):
        return (None, None)
    return (option.get("value"), _text_of(option.get("text")))


def _all_options(element: dict[str, Any]) -> list[Any]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options.extend(group.get("options") or [])
    return options


def _check_initial_options(errors: list[str], element: dict[str, Any], pointer: str) -> None:
    """Slack rejects an ``initial_option(s)`` that is not one of the element's options."""
    kind = element.get("type")
    known = {_option_key(o) for o in _all_options(element)}
    initial = element.get("initial_option")
    if kind in _INITIAL_ONE and initial is not None and _option_key(initial) not in known:
        errors.append(
            f"initial_option must match one of the options [json-pointer:{pointer}/initial_option]"
        )
    if kind in _INITIAL_MANY and isinstance(element.get("initial_options"), list):
        for i, option in enumerate(element["initial_options"]):
            if _option_key(option) not in known:
                errors.append(
                    "initial_options must match the options "
                    f"[json-pointer:{pointer}/initial_options/{i}]"
                )


def _check_image(errors: list[str], image: dict[str, Any], pointer: str) -> None:
    if not image.get("image_url") and not image.get("slack_file"):
        errors.append(f"missing required field: image_url [json-pointer:{pointer}]")
    if not isinstance(image.get("alt_text"), str) or not image["alt_text"]:
        errors.append(f"missing required field: alt_text [json-pointer:{pointer}]")
    _check_len(errors, image.get("alt_text"), 2000, f"{pointer}/alt_text")
    _check_len(errors, image.get("image_url"), 3000, f"{pointer}/image_url")


def _check_confirm(errors: list[str], confirm: Any, pointer: str) -> None:
    if not isinstance(confirm, dict):
        return
    for key in ("title", "confirm", "deny"):
        _check_text_type(errors, confirm.get(key), f"{pointer}/{key}", plain_only=True)
    _check_text_type(errors, confirm.get("text"), f"{pointer}/text", plain_only=False)


def _check_element(errors: list[str], element: Any, pointer: str) -> None:
    if not isinstance(element, dict):
        return
    kind = element.get("type")
    if kind == "image":
        _check_image(errors, element, pointer)
        return
    _check_len(errors, element.get("action_id"), 255, f"{pointer}/action_id")
    _check_text_type(errors, element.get("placeholder"), f"{pointer}/placeholder", plain_only=True)
    _check_len(errors, _text_of(element.get("placeholder")), 150, f"{pointer}/placeholder/text")
    _check_confirm(errors, element.get("confirm"), f"{pointer}/confirm")
    if kind == "button":
        _check_text_type(errors, element.get("text"), f"{pointer}/text", plain_only=True)
        _check_len(errors, _text_of(element.get("text")), 75, f"{pointer}/text/text", min_len=1)
        _check_len(errors, element.get("value"), 2000, f"{pointer}/value")
        _check_len(errors, element.get("url"), 3000, f"{pointer}/url")
    plain_options = kind not in _MRKDWN_OPTIONS
    if isinstance(kind, str) and kind in _OPTION_LIMITS:
        _check_count(errors, element.get("options"), _OPTION_LIMITS[kind], f"{pointer}/options")
        _check_options(
            errors, element.get("options"), f"{pointer}/options", plain_only=plain_options
        )
    groups = element.get("option_groups")
    if isinstance(groups, list):
        _check_count(errors, groups, 100, f"{pointer}/option_groups")
        for g, group in enumerate(groups):
            if isinstance(group, dict):
                gptr = f"{pointer}/option_groups/{g}"
                _check_text_type(errors, group.get("label"), f"{gptr}/label", plain_only=True)
                _check_len(errors, _text_of(group.get("label")), 75, f"{gptr}/label/text")
                _check_count(errors, group.get("options"), 100, f"{gptr}/options")
                _check_options(errors, group.get("options"), f"{gptr}/options", plain_only=True)
    _check_initial_options(errors, element, pointer)


def validate_blocks(blocks: Any, *, max_blocks: int, pointer: str = "/blocks") -> list[str]:
    """Return Slack-style error strings for ``blocks`` (empty when valid)."""
    if not isinstance(blocks, list):
        return [f"must provide an array [json-pointer:{pointer}]"]
    errors: list[str] = []
    _check_count(errors, blocks, max_blocks, pointer)
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        bptr = f"{pointer}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"missing required field: type [json-pointer:{bptr}]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            _check_len(errors, block_id, 255, f"{bptr}/block_id")
            if block_id in seen_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{bptr}/block_id]")
            seen_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            text = _text_of(block.get("text"))
            fields = block.get("fields")
            if text is None and not fields:
                errors.append(f"must provide text or fields [json-pointer:{bptr}]")
            _check_text_type(errors, block.get("text"), f"{bptr}/text", plain_only=False)
            _check_len(errors, text, 3000, f"{bptr}/text/text", min_len=1)
            _check_count(errors, fields, 10, f"{bptr}/fields")
            if isinstance(fields, list):
                for f, item in enumerate(fields):
                    _check_text_type(errors, item, f"{bptr}/fields/{f}", plain_only=False)
                    _check_len(errors, _text_of(item), 2000, f"{bptr}/fields/{f}/text", min_len=1)
            _check_element(errors, block.get("accessory"), f"{bptr}/accessory")
        elif kind == "header":
            _check_text_type(errors, block.get("text"), f"{bptr}/text", plain_only=True)
            _check_len(errors, _text_of(block.get("text")), 150, f"{bptr}/text/text", min_len=1)
        elif kind == "actions":
            elements = block.get("elements")
            _check_count(errors, elements, 25, f"{bptr}/elements")
            for e, element in enumerate(elements if isinstance(elements, list) else []):
                _check_element(errors, element, f"{bptr}/elements/{e}")
        elif kind == "context":
            elements = block.get("elements")
            _check_count(errors, elements, 10, f"{bptr}/elements")
            for e, element in enumerate(elements if isinstance(elements, list) else []):
                eptr = f"{bptr}/elements/{e}"
                if isinstance(element, dict) and element.get("type") == "image":
                    _check_image(errors, element, eptr)
                else:
                    _check_text_type(errors, element, eptr, plain_only=False)
        elif kind == "image":
            _check_image(errors, block, bptr)
            _check_text_type(errors, block.get("title"), f"{bptr}/title", plain_only=True)
        elif kind == "input":
            _check_text_type(errors, block.get("label"), f"{bptr}/label", plain_only=True)
            _check_text_type(errors, block.get("hint"), f"{bptr}/hint", plain_only=True)
            _check_len(errors, _text_of(block.get("label")), 2000, f"{bptr}/label/text", min_len=1)
            _check_len(errors, _text_of(block.get("hint")), 2000, f"{bptr}/hint/text")
            _check_element(errors, block.get("element"), f"{bptr}/element")
    return errors


def validate_view(view: Any, *, expected_type: str | None = None) -> tuple[str, list[str]] | None:
    """Return ``(error_code, errors)`` when Slack would reject ``view``; ``None`` when valid."""
    if not isinstance(view, dict):
        return "invalid_arguments", ["must provide an object [json-pointer:/view]"]
    if len(json.dumps(view).encode("utf-8")) > VIEW_MAX_BYTES:
        return "view_too_large", [f"view JSON larger than {VIEW_MAX_BYTES} bytes"]
    errors: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        errors.append("must be one of modal, home [json-pointer:/view/type]")
    elif expected_type is not None and kind != expected_type:
        errors.append(f"must be {expected_type} for this method [json-pointer:/view/type]")
    if kind == "modal":
        title = _text_of(view.get("title"))
        if title is None:
            errors.append("missing required field: title [json-pointer:/view/title]")
        for key in ("title", "submit", "close"):
            _check_text_type(errors, view.get(key), f"/view/{key}", plain_only=True)
        _check_len(errors, title, 24, "/view/title/text", min_len=1)
        _check_len(errors, _text_of(view.get("submit")), 24, "/view/submit/text", min_len=1)
        _check_len(errors, _text_of(view.get("close")), 24, "/view/close/text", min_len=1)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            errors.append(
                "must provide submit when the view has input blocks [json-pointer:/view/submit]"
            )
    _check_len(errors, view.get("private_metadata"), 3000, "/view/private_metadata")
    _check_len(errors, view.get("callback_id"), 255, "/view/callback_id")
    _check_len(errors, view.get("external_id"), 255, "/view/external_id")
    errors.extend(
        validate_blocks(view.get("blocks", []), max_blocks=VIEW_BLOCK_LIMIT, pointer="/view/blocks")
    )
    return ("invalid_arguments", errors) if errors else None


def _check_metadata(metadata: Any) -> None:
    """Message metadata: ``{"event_type": str, "event_payload": object}``, like Slack."""
    if metadata in (None, ""):
        return
    if not isinstance(metadata, dict):
        raise _ApiError("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not isinstance(
        metadata.get("event_payload"), dict
    ):
        raise _ApiError("invalid_metadata_schema")


def _invalid(error: str, errors: list[str]) -> _ApiError:
    return _ApiError(
        error, errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
    )


# --------------------------------------------------------------------------------------------
# Request parsing
# --------------------------------------------------------------------------------------------


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


def _decode_json_params(params: dict[str, Any]) -> dict[str, Any]:
    decoded = dict(params)
    for key in _JSON_PARAMS & decoded.keys():
        value = decoded[key]
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # left as sent when it is not JSON; the method handler rejects it
            with contextlib.suppress(json.JSONDecodeError):
                decoded[key] = json.loads(value)
    return decoded


class _Handler(BaseHTTPRequestHandler):
    server: _Server
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
            reply = _json_reply(500, {"ok": False, "error": f"fake_slack_bug: {exc!r}"})
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


class _Server(ThreadingHTTPServer):
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


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


class FakeSlack:
    """A fake Slack Web API server. See the module docstring."""

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        team_id: str = "T0TEST",
        *,
        app_id: str = "A0TEST",
        strict_text_fallback: bool = True,
        strict_users: bool = False,
        rate_limits: RateLimits | None = None,
        scopes: Iterable[str] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``rate_limits``: a profile such as ``SLACK_LIKE`` (default: no limits).
        ``scopes``: the bot token's scopes (default: the manifest's bot scopes).
        ``clock``: monotonic seconds for response_url expiry (default: real time)."""
        self.bot_token = bot_token
        self.team_id = team_id
        self.app_id = app_id
        #: record a warning in :attr:`warnings` when a message has blocks but no ``text``
        self.strict_text_fallback = strict_text_fallback
        #: when True, ``conversations.open`` rejects users missing from the directory
        self.strict_users = strict_users
        #: trigger lifetime in seconds (Slack: 3)
        self.trigger_ttl = TRIGGER_TTL_SECONDS
        self.warnings: list[str] = []
        # method -> seconds to wait before answering (a slow Slack, for load benchmarks)
        self.latency: dict[str, float] = {}
        #: the bot token's scopes; a method without its scope answers ``missing_scope``
        self.scopes: frozenset[str] = (
            frozenset(scopes) if scopes is not None else manifest_bot_scopes()
        )
        self.clock = clock
        self._limiter = RateLimiter(rate_limits, real_monotonic) if rate_limits else None
        self._random_429: RandomRateLimits | None = None

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._users: dict[str, dict[str, Any]] = {}
        self._members: dict[str, list[str]] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._reactions: dict[tuple[str, str], set[str]] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._homes: dict[str, str] = {}
        self._uploads: dict[str, _Upload] = {}
        self._completed: list[dict[str, Any]] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._lost: dict[str, deque[float]] = {}
        self._holds: dict[str, threading.Event] = {}
        self._held: Counter[str] = Counter()
        self._channels: dict[str, _Channel] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._ephemeral: list[dict[str, Any]] = []
        self._last_ts_micros = 0
        self._id_counter = itertools.count(1)

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "users.list": self._users_list,
            "conversations.open": self._conversations_open,
            "conversations.members": self._conversations_members,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.history": self._conversations_history,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "reactions.add": self._reactions_add,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        # Every workspace has #general; the bot is not in it until invited.
        self.add_channel(GENERAL_CHANNEL, "general", bot_is_member=False)

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeSlack:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The WebClient ``base_url``: ``http://127.0.0.1:PORT/api/`` (trailing slash)."""
        return f"{self.base_url}/api/"

    # ---------------------------------------------------------------- directory

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        tz: str = "Europe/Berlin",
        tz_offset: int = 3600,
        tz_label: str | None = None,
        locale: str = "en-US",
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Add (or replace) a user in the directory; returns the user object (with locale)."""
        handle = name if name is not None else user_id.lower()
        full = real_name if real_name is not None else handle
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": handle,
            "deleted": deleted,
            "real_name": full,
            "tz": tz,
            "tz_label": tz_label if tz_label is not None else _TZ_LABELS.get(tz, tz),
            "tz_offset": tz_offset,
            "profile": {
                "real_name": full,
                "real_name_normalized": full,
                "display_name": handle,
                "display_name_normalized": handle,
                "team": self.team_id,
            },
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1700000000,
            "locale": locale,
        }
        with self._lock:
            self._users[user_id] = user
            general = self._members.setdefault(GENERAL_CHANNEL, [])
            if user_id not in general and not deleted:
                general.append(user_id)
        return copy.deepcopy(user)

    def user(self, user_id: str) -> dict[str, Any] | None:
        """The directory entry (including ``locale``) or None."""
        with self._lock:
            found = self._users.get(user_id)
            return copy.deepcopy(found) if found is not None else None

    def users(self) -> list[dict[str, Any]]:
        """Every user in the directory (with ``locale``), in the order they were added."""
        with self._lock:
            return [copy.deepcopy(u) for u in self._users.values()]

    def _public_user(self, user: dict[str, Any], include_locale: bool) -> dict[str, Any]:
        result = copy.deepcopy(user)
        if not include_locale:
            result.pop("locale", None)
        return result

    # ---------------------------------------------------------------- triggers / urls

    def issue_trigger(self) -> str:
        """A trigger_id valid for one ``views.open``/``views.push`` within 3 seconds."""
        trigger_id = f"{next(self._id_counter)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger_id] = _Trigger(issued_at=trigger_clock())
        return trigger_id

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
            self._response_urls[key] = _ResponseUrl(
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
        params = {**_decode_json_params(message), "_token": token}
        with self._lock:
            url = self._response_urls.get(token)
            if url is not None:  # the answer needs no use of the response_url
                self._apply_response(url, params, via="command_ack")
            self._record(Call("command_ack", params, real_time(), True, None, 200, None))
        return True

    def _url_now(self) -> float:
        return self.clock() if self.clock is not None else response_url_clock()

    @staticmethod
    def dm_channel(user_id: str) -> str:
        """The DM channel id ``conversations.open`` returns for a single user."""
        return f"D{user_id}"

    @staticmethod
    def group_channel(user_ids: Iterable[str]) -> str:
        """The (deterministic) group DM id ``conversations.open`` returns for several users."""
        key = ",".join(sorted(set(user_ids)))
        return "G" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10].upper()

    # ---------------------------------------------------------------- channels

    def add_channel(
        self,
        channel_id: str,
        name: str,
        members: Iterable[str] = (),
        *,
        bot_is_member: bool = False,
        is_private: bool = False,
        is_archived: bool = False,
    ) -> dict[str, Any]:
        """Add (or replace) a channel; returns it as ``conversations.info`` shows it.

        Posting to it needs ``bot_is_member`` (else ``not_in_channel``; public channels accept
        ``chat:write.public`` instead); an archived channel answers ``is_archived``.
        """
        with self._lock:
            self._channels[channel_id] = _Channel(
                id=channel_id,
                name=name,
                is_private=is_private,
                is_archived=is_archived,
                bot_is_member=bot_is_member,
                created=1_700_000_000 + next(self._id_counter),
            )
            self._members[channel_id] = list(dict.fromkeys(members))
            return self._channel_object(channel_id)

    def archive_channel(self, channel_id: str, archived: bool = True) -> None:
        with self._lock:
            self._channels[channel_id].is_archived = archived

    def set_bot_membership(self, channel_id: str, is_member: bool) -> None:
        """Invite the bot to (or remove it from) a channel, as a member would in Slack."""
        with self._lock:
            self._channels[channel_id].bot_is_member = is_member

    def channel(self, channel_id: str) -> dict[str, Any] | None:
        """A channel, DM or group DM as ``conversations.info`` shows it (None when unknown)."""
        with self._lock:
            if channel_id not in self._channels and channel_id not in self._members:
                return None
            return self._channel_object(channel_id)

    def channels(self) -> list[dict[str, Any]]:
        """Every conversation the fake knows: channels, then DMs and group DMs opened."""
        with self._lock:
            ids = list(self._channels) + [c for c in self._members if c not in self._channels]
            return [self._channel_object(c) for c in ids]

    def _channel_object(self, channel_id: str) -> dict[str, Any]:
        info = self._channels.get(channel_id)
        members = list(self._members.get(channel_id, []))
        if info is None:
            is_im = channel_id.startswith("D")
            obj: dict[str, Any] = {
                "id": channel_id,
                "created": 1_700_000_000,
                "is_channel": False,
                "is_group": False,
                "is_im": is_im,
                "is_mpim": not is_im,
                "is_private": True,
                "is_archived": False,
                "is_member": True,
                "members": members,
            }
            if is_im and members:
                obj["user"] = members[0]
            return obj
        return {
            "id": info.id,
            "name": info.name,
            "created": info.created,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": info.is_private,
            "is_archived": info.is_archived,
            "is_general": info.id == GENERAL_CHANNEL,
            "is_member": info.bot_is_member,
            "num_members": len(members) + int(info.bot_is_member),
            "members": members,
        }

    # ---------------------------------------------------------------- faults

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        ``status`` 429 answers with a ``Retry-After`` header (unless ``retry_after`` is None);
        500/503 answer with a JSON error body; ``status=200`` with ``error`` answers
        ``{"ok": false, "error": error}``. ``method`` may also be ``"response_url"`` or
        ``"upload"`` (the file upload POST).
        """
        with self._lock:
            queue = self._faults.setdefault(method, deque())
            for _ in range(times):
                queue.append(_Fault(status=status, retry_after=retry_after, error=error))

    def lose_answer_next(self, method: str, times: int = 1, *, hang: float = 0.0) -> None:
        """The next ``times`` calls of ``method`` take effect but are never answered.

        The message is posted, the modal opened …, then the connection is closed without a
        response (after ``hang`` seconds, real time: longer than the client's timeout makes
        it a read timeout instead of a dropped connection). For exactly-once tests. ``method``
        may also be ``"response_url"``.
        """
        with self._lock:
            queue = self._lost.setdefault(method, deque())
            queue.extend([hang] * times)

    @contextlib.contextmanager
    def holding(self, *methods: str) -> Iterator[None]:
        """Calls of ``methods`` (Web API method names) wait, unanswered and unrecorded, until
        the block ends (or :data:`HOLD_LIMIT_SECONDS` pass); then they are handled as usual.
        :meth:`held` counts the calls waiting."""
        release = threading.Event()
        with self._lock:
            for method in methods:
                self._holds[method] = release
        try:
            yield
        finally:
            with self._lock:
                for method in methods:
                    if self._holds.get(method) is release:
                        del self._holds[method]
            release.set()

    def held(self, method: str) -> int:
        """How many calls of ``method`` are waiting in a :meth:`holding` block now."""
        with self._lock:
            return self._held[method]

    def _wait_if_held(self, method: str) -> None:
        with self._lock:
            release = self._holds.get(method)
            if release is None:
                return
            self._held[method] += 1
        try:
            release.wait(HOLD_LIMIT_SECONDS)
        finally:
            with self._lock:
                self._held[method] -= 1

    def _take_lost(self, method: str) -> float | None:
        with self._lock:
            queue = self._lost.get(method)
            return queue.popleft() if queue else None

    def random_rate_limits(
        self,
        fraction: float,
        *,
        retry_after: int = 1,
        seed: int = 0,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer a seeded random ``fraction`` of calls (of ``methods``, default all) with 429
        and ``Retry-After: retry_after``; ``fraction=0`` turns it off."""
        with self._lock:
            self._random_429 = (
                RandomRateLimits(fraction, retry_after=retry_after, seed=seed, methods=methods)
                if fraction > 0
                else None
            )

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        """Switch the rate-limit profile (fresh buckets), or turn limits off with None."""
        with self._lock:
            self._limiter = RateLimiter(limits, real_monotonic) if limits else None

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            return queue.popleft() if queue else None

    @staticmethod
    def _fault_reply(fault: _Fault) -> tuple[_Reply, dict[str, Any]]:
        headers: dict[str, str] = {}
        if fault.status in (429, 503) and fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        default_errors = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}
        error = fault.error or default_errors.get(fault.status, "fatal_error")
        payload = {"ok": False, "error": error}
        return _json_reply(fault.status, payload, headers), payload

    # ---------------------------------------------------------------- recording / queries

    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded calls (all, including failed ones), oldest first."""
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def reset_calls(self) -> None:
        """Forget recorded calls and warnings (state such as messages/views is kept)."""
        with self._lock:
            self._calls.clear()
            self.warnings.clear()

    def _matching(self, method: str, predicate: Callable[[Call], bool] | None) -> list[Call]:
        return [
            c for c in self._calls if c.method == method and (predicate is None or predicate(c))
        ]

    def _timeout_message(self, what: str, timeout: float) -> str:
        lines = [f"timed out after {timeout:.1f}s waiting for {what}; recorded calls:"]
        recent = self._calls[-60:]
        if len(self._calls) > len(recent):
            lines.append(f"  … {len(self._calls) - len(recent)} earlier calls omitted")
        for c in recent:
            state = "ok" if c.ok else f"{c.status} {c.error}"
            lines.append(f"  - {c.method} [{state}] {_summarise(c.params)}")
        if not self._calls:
            lines.append("  (none)")
        return "\n".join(lines)

    def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 30.0,
    ) -> Call:
        """Wait until a call of ``method`` matching ``predicate`` was recorded; return the first.

        Raises AssertionError listing the recorded calls on timeout (which only stops a broken
        test from hanging: a loaded machine may take seconds). Failed calls match too; use
        ``lambda c: c.ok`` to wait for a successful one.
        """
        return self.wait_for_count(method, 1, predicate, timeout)[0]

    def wait_for_count(
        self,
        method: str,
        n: int,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 30.0,
    ) -> list[Call]:
        """Wait until at least ``n`` matching calls were recorded; return all matching calls."""
        deadline = real_monotonic() + timeout
        with self._cond:
            while True:
                found = self._matching(method, predicate)
                if len(found) >= n:
                    return found
                remaining = deadline - real_monotonic()
                if remaining <= 0:
                    what = f"{n} x {method}" + (" matching predicate" if predicate else "")
                    what += f" (got {len(found)})"
                    raise AssertionError(self._timeout_message(what, timeout))
                self._cond.wait(min(remaining, 0.25))

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Params of successful ``chat.postMessage`` calls, in order.

        ``channel`` matches either the channel as sent or as resolved (a user id → ``D<id>``).
        """
        result = []
        for c in self.calls("chat.postMessage"):
            if not c.ok:
                continue
            resolved = (c.response or {}).get("channel")
            if channel is None or channel in (c.params.get("channel"), resolved):
                result.append(c.params)
        return result

    def posted_messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Current message objects (after updates, without deleted ones), each with
        ``channel`` and ``ts`` — handy for :meth:`SlackRequests.block_action`."""
        with self._lock:
            return [
                copy.deepcopy(m)
                for (ch, _ts), m in self._messages.items()
                if channel is None or ch == channel
            ]

    @staticmethod
    def message_text(params: dict[str, Any]) -> str:
        """``text`` plus the texts of section blocks (text and fields), newline-joined."""
        parts: list[str] = []
        text = params.get("text")
        if isinstance(text, str) and text:
            parts.append(text)
        blocks = params.get("blocks")
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, dict) or block.get("type") != "section":
                continue
            section_text = _text_of(block.get("text"))
            if section_text:
                parts.append(section_text)
            for item in block.get("fields") or []:
                field_text = _text_of(item)
                if field_text:
                    parts.append(field_text)
        return "\n".join(parts)

    def dm_texts(self, user_id: str) -> list[str]:
        """Texts of messages posted to the user's DM (``D<user_id>`` or the user id)."""
        targets = {self.dm_channel(user_id), user_id}
        return [self.message_text(p) for p in self.messages() if p.get("channel") in targets]

    def ephemeral_messages(
        self, user_id: str | None = None, channel: str | None = None
    ) -> list[dict[str, Any]]:
        """Ephemeral messages as the person sees them (``chat.postEphemeral`` and ephemeral
        response_url answers, after ``replace_original``/``delete_original``), oldest first;
        each has ``channel``, ``user``, ``ts``, ``text``, ``blocks`` and ``via``."""
        with self._lock:
            return [
                copy.deepcopy(m)
                for m in self._ephemeral
                if (user_id is None or m["user"] == user_id)
                and (channel is None or m["channel"] == channel)
            ]

    def ephemerals(self, user_id: str) -> list[dict[str, Any]]:
        """Params of successful ``chat.postEphemeral`` calls addressed to ``user_id``."""
        return [
            c.params
            for c in self.calls("chat.postEphemeral")
            if c.ok and c.params.get("user") == user_id
        ]

    def opened_views(self) -> list[dict[str, Any]]:
        """The views (as returned, with ``id``/``hash``) of successful ``views.open`` calls."""
        return [
            c.response["view"]
            for c in self.calls("views.open")
            if c.ok and c.response is not None and "view" in c.response
        ]

    def replace_view(self, view_id: str | None, view: dict[str, Any]) -> dict[str, Any]:
        """What Slack's client does with a view_submission answer: `update` replaces the view
        `view_id` (its id, root and previous view are kept); `push` (view_id None) stores a
        new one. The view is validated like views.update; returns the stored view."""
        problem = validate_view(view, expected_type="modal")
        if problem is not None:
            raise ValueError(f"{problem[0]}: {problem[1]}")
        with self._lock:
            current = self._views.get(view_id) if view_id else None
            if current is None:
                return self._store_view(view)
            return self._store_view(
                view,
                view_id=current["id"],
                root_view_id=current["root_view_id"],
                previous_view_id=current["previous_view_id"],
            )

    def view(self, view_id: str) -> dict[str, Any] | None:
        """The current state of a modal or home view by id."""
        with self._lock:
            found = self._views.get(view_id)
            return copy.deepcopy(found) if found is not None else None

    def home_of(self, user_id: str) -> dict[str, Any] | None:
        """The latest view published to the user's App Home, or None."""
        with self._lock:
            view_id = self._homes.get(user_id)
            return copy.deepcopy(self._views[view_id]) if view_id is not None else None

    def conversation_members(self, channel_id: str) -> list[str]:
        with self._lock:
            return list(self._members.get(channel_id, []))

    def uploaded_files(self) -> list[dict[str, Any]]:
        """Completed uploads: id, name, title, bytes, channel, initial_comment, thread_ts."""
        with self._lock:
            return [dict(f) for f in self._completed]

    def responses(self, token: str | None = None) -> list[dict[str, Any]]:
        """Bodies POSTed to response URLs (optionally for one token)."""
        return [
            c.params
            for c in self.calls("response_url")
            if c.ok and (token is None or c.params.get("_token") == token)
        ]

    # ---------------------------------------------------------------- HTTP entry point

    def _handle(self, verb: str, raw_path: str, headers: Message, body: bytes) -> _Reply:
        path, _, query = raw_path.partition("?")
        if path.startswith("/api/"):
            return self._handle_api(path[len("/api/") :], query, headers, body)
        if path.startswith("/upload/") and verb == "POST":
            return self._handle_upload(path[len("/upload/") :], body)
        if path.startswith("/response/") and verb == "POST":
            return self._handle_response_url(path[len("/response/") :], headers, body)
        return _Reply(404, b"not found", {"Content-Type": "text/plain"})

    def _parse_params(self, query: str, headers: Message, body: bytes) -> dict[str, Any]:
        params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        content_type = headers.get("Content-Type") or ""
        if not body:
            return params
        if content_type.startswith("application/json"):
            decoded = json.loads(body.decode("utf-8"))
            if not isinstance(decoded, dict):
                raise _ApiError("invalid_json")
            params.update(decoded)
        elif content_type.startswith("multipart/form-data"):
            params.update(_parse_multipart(content_type, body))
        else:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        return params

    def _handle_api(self, method: str, query: str, headers: Message, body: bytes) -> _Reply:
        at = real_time()
        try:
            params = self._parse_params(query, headers, body)
        except (json.JSONDecodeError, UnicodeDecodeError, _ApiError):
            payload = {"ok": False, "error": "invalid_json"}
            self._record(
                Call(
                    method,
                    {"_raw": body.decode("utf-8", "replace")},
                    at,
                    False,
                    "invalid_json",
                    200,
                    payload,
                )
            )
            return _json_reply(200, payload)

        token: str | None = None
        auth = headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :].strip()
        body_token = params.pop("token", None)
        if not token and isinstance(body_token, str):
            token = body_token
        params = _decode_json_params(params)

        delay = self.latency.get(method, 0.0)
        if delay > 0:
            threading.Event().wait(delay)  # not time.sleep: freezegun must not shorten it
        self._wait_if_held(method)

        fault = self._take_fault(method)
        if fault is not None:
            reply, payload = self._fault_reply(fault)
            self._record(Call(method, params, at, False, payload["error"], fault.status, payload))
            return reply

        headers_out = {"X-OAuth-Scopes": ",".join(sorted(self.scopes))}
        with self._lock:
            handler = self._methods.get(method)
            retry_after: int | None = None
            if handler is None:
                payload = {"ok": False, "error": "unknown_method"}
            elif not token:
                payload = {"ok": False, "error": "not_authed"}
            elif token != self.bot_token:
                payload = {"ok": False, "error": "invalid_auth"}
            else:
                retry_after = self._rate_limited(method, params)
                needed = self._needed_scopes(method, params)
                if retry_after is not None:
                    payload = {"ok": False, "error": "ratelimited"}
                elif needed and not self.scopes.intersection(needed):
                    payload = {
                        "ok": False,
                        "error": "missing_scope",
                        "needed": ",".join(needed),
                        "provided": ",".join(sorted(self.scopes)),
                    }
                    headers_out["X-Accepted-OAuth-Scopes"] = ",".join(needed)
                else:
                    try:
                        payload = {"ok": True, **handler(params)}
                    except _ApiError as exc:
                        payload = {"ok": False, "error": exc.error, **exc.extra}
            ok = bool(payload.get("ok"))
            error = None if ok else str(payload.get("error"))
            status = 429 if retry_after is not None else 200
            hang = self._take_lost(method) if retry_after is None else None
            self._record(Call(method, params, at, ok, error, status, payload, hang is None))
        if retry_after is not None:
            headers_out["Retry-After"] = str(retry_after)
        reply = _json_reply(status, payload, headers_out)
        if hang is not None:
            reply.lost, reply.hang = True, hang
        return reply

    def _rate_limited(self, method: str, params: dict[str, Any]) -> int | None:
        """Seconds to wait when this call is over a limit (random 429s first), else None."""
        if self._random_429 is not None and self._random_429.hit(method):
            return self._random_429.retry_after
        if self._limiter is None:
            return None
        channel = params.get("channel")
        if isinstance(channel, str) and channel[:1] in ("U", "W"):
            channel = self.dm_channel(channel)
        return self._limiter.retry_after(method, channel if isinstance(channel, str) else None)

    def _needed_scopes(self, method: str, params: dict[str, Any]) -> tuple[str, ...]:
        """The scopes of which ``method`` needs one (empty: none needed)."""
        suffix = _READ_SCOPES.get(method)
        if suffix is None:
            return METHOD_SCOPES.get(method, ())
        channel = params.get("channel")
        kind = self._kind_of(channel) if isinstance(channel, str) else None
        kinds = [kind] if kind is not None else list(_KIND_PREFIX)
        return tuple(f"{_KIND_PREFIX[k]}:{suffix}" for k in kinds)

    def _kind_of(self, channel_id: str) -> str | None:
        info = self._channels.get(channel_id)
        if info is not None:
            return "private" if info.is_private else "public"
        if channel_id[:1] in ("D", "U", "W"):
            return "im"
        if channel_id in self._members:
            return "mpim"
        return None

    def _handle_upload(self, file_id: str, body: bytes) -> _Reply:
        at = real_time()
        params = {"file_id": file_id, "size": len(body)}
        fault = self._take_fault("upload")
        if fault is not None:
            reply, payload = self._fault_reply(fault)
            self._record(Call("upload", params, at, False, payload["error"], fault.status, payload))
            return reply
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                self._record(Call("upload", params, at, False, "file_not_found", 404, None))
                return _Reply(404, b"file not found", {"Content-Type": "text/plain"})
            upload.data = body
            self._record(Call("upload", params, at, True, None, 200, None))
        return _Reply(200, f"OK - {len(body)}".encode(), {"Content-Type": "text/plain"})

    def _handle_response_url(self, token: str, headers: Message, body: bytes) -> _Reply:
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
            return _json_reply(400, payload)
        params = {**_decode_json_params(decoded), "_token": token}
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
                return _Reply(404, (problem or "").encode(), {"Content-Type": "text/plain"})
            url.uses += 1
            self._apply_response(url, params)
            hang = self._take_lost("response_url")
            payload = {"ok": True}
            self._record(Call("response_url", params, at, True, None, 200, payload, hang is None))
        reply = _json_reply(200, payload)
        if hang is not None:
            reply.lost, reply.hang = True, hang
        return reply

    def _apply_response(
        self, url: _ResponseUrl, params: dict[str, Any], via: str = "response_url"
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
        if _truthy(params.get("delete_original")):
            if original is not None:
                del self._messages[(channel, str(message_ts))]
            elif ephemeral is not None:
                self._ephemeral.remove(ephemeral)
            return
        if _truthy(params.get("replace_original")) and target is not None:
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

    def _store_ephemeral(
        self, channel: str, user: str, ts: str, params: dict[str, Any], *, via: str
    ) -> None:
        self._ephemeral.append(
            {
                "channel": channel,
                "user": user,
                "ts": ts,
                "text": params.get("text") or "",
                "blocks": copy.deepcopy(params.get("blocks") or []),
                "via": via,
            }
        )

    # ---------------------------------------------------------------- helpers for methods

    def _next_ts(self) -> str:
        """Like Slack: the time of posting (on the app's clock, so freezegun, the sandbox's and
        the demo's simulated time agree with `oldest`/`latest`), unique and increasing."""
        from bot import clock

        now = int(clock.utcnow().timestamp() * 1_000_000)
        with self._lock:
            micros = self._last_ts_micros = max(now, self._last_ts_micros + 1)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _resolve_channel(self, channel: Any) -> str:
        if not isinstance(channel, str) or not channel:
            raise _ApiError("channel_not_found")
        if channel[0] in "UW":  # posting to a user id goes to the bot's DM with that user
            dm = self.dm_channel(channel)
            self._members.setdefault(dm, [channel])
            return dm
        return channel

    def _known_conversation(self, channel: Any) -> str:
        """The resolved id of a conversation the bot can see, else ``channel_not_found``."""
        resolved = self._resolve_channel(channel)
        info = self._channels.get(resolved)
        if info is not None:
            if info.is_private and not info.bot_is_member:
                raise _ApiError("channel_not_found")  # Slack hides private channels
            return resolved
        if resolved in self._members:
            return resolved
        # The bot's DM with any user exists without conversations.open.
        if resolved.startswith("D") and resolved[1:] in self._users:
            self._members[resolved] = [resolved[1:]]
            return resolved
        raise _ApiError("channel_not_found")

    def _postable_channel(self, channel: Any, method: str) -> str:
        """The resolved id of a conversation the bot may post to (Slack's errors otherwise)."""
        resolved = self._known_conversation(channel)
        info = self._channels.get(resolved)
        if info is None:
            return resolved
        if info.is_archived:
            raise _ApiError("is_archived")
        public_ok = method == "chat.postMessage" and "chat:write.public" in self.scopes
        if not info.bot_is_member and not (public_ok and not info.is_private):
            raise _ApiError("not_in_channel")
        return resolved

    def _check_message_content(self, method: str, params: dict[str, Any], channel: str) -> None:
        text = params.get("text")
        blocks = params.get("blocks")
        has_text = isinstance(text, str) and text != ""
        if not has_text and blocks in (None, "", []) and not params.get("attachments"):
            raise _ApiError("no_text")
        if isinstance(text, str) and len(text) > 40_000:
            raise _ApiError("msg_too_long")
        if blocks is not None:
            errors = validate_blocks(blocks, max_blocks=MESSAGE_BLOCK_LIMIT)
            if errors:
                raise _invalid("invalid_blocks", errors)
            if not has_text and self.strict_text_fallback:
                self.warnings.append(
                    f"{method} to {channel}: blocks without a `text` fallback "
                    "(notifications and screen readers show nothing)"
                )

    def _message_object(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": params.get("text") or "",
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(key) not in (None, ""):
                message[key] = copy.deepcopy(params[key])
        return message

    def _use_trigger(self, params: dict[str, Any]) -> str:
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        trigger = self._triggers.get(trigger_id) if isinstance(trigger_id, str) else None
        if trigger is None:
            raise _ApiError("expired_trigger_id")
        if trigger.used:
            raise _ApiError("exchanged_trigger_id")
        if trigger_clock() - trigger.issued_at > self.trigger_ttl:
            raise _ApiError("expired_trigger_id")
        return str(trigger_id)

    def _checked_view(self, params: dict[str, Any], expected_type: str | None) -> dict[str, Any]:
        view = params.get("view")
        if view is None:
            raise _ApiError("invalid_arguments", errors=["missing required field: view"])
        problem = validate_view(view, expected_type=expected_type)
        if problem is not None:
            code, errors = problem
            raise _invalid(code, errors)
        assert isinstance(view, dict)
        return view

    def _new_hash(self) -> str:
        return f"{1_700_000_000 + next(self._id_counter)}.{secrets.token_hex(4)}"

    def _store_view(
        self,
        view: dict[str, Any],
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> dict[str, Any]:
        vid = view_id or f"V{next(self._id_counter):010d}"
        stored: dict[str, Any] = {
            "id": vid,
            "team_id": self.team_id,
            "type": view.get("type"),
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": self._new_hash(),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_view_id or vid,
            "previous_view_id": previous_view_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": BOT_ID,
        }
        for key in ("title", "submit", "close"):
            if key in view:
                stored[key] = copy.deepcopy(view[key])
        self._views[vid] = stored
        return copy.deepcopy(stored)

    # ---------------------------------------------------------------- Web API methods

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://test-team.slack.com/",
            "team": "Test Team",
            "user": "bot",
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(params.get("user") or ""))
        if user is None:
            raise _ApiError("user_not_found")
        return {"user": self._public_user(user, _truthy(params.get("include_locale")))}

    def _users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            limit = int(params.get("limit") or 0)
        except (TypeError, ValueError):
            raise _ApiError("invalid_limit") from None
        limit = limit if limit > 0 else 1000
        offset = 0
        cursor = params.get("cursor")
        if cursor:
            try:
                prefix, _, number = base64.b64decode(str(cursor)).decode().partition(":")
                offset = int(number)
                if prefix != "offset" or offset < 0:
                    raise ValueError(cursor)
            except ValueError:
                raise _ApiError("invalid_cursor") from None
        include_locale = _truthy(params.get("include_locale"))
        users = list(self._users.values())
        page = users[offset : offset + limit]
        next_offset = offset + limit
        next_cursor = (
            base64.b64encode(f"offset:{next_offset}".encode()).decode()
            if next_offset < len(users)
            else ""
        )
        return {
            "members": [self._public_user(u, include_locale) for u in page],
            "cache_ts": 1700000000,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if channel:
            if channel not in self._members:
                raise _ApiError("channel_not_found")
            return {"channel": {"id": channel}, "no_op": True, "already_open": True}
        raw = params.get("users")
        users_raw = raw if isinstance(raw, list) else str(raw or "").split(",")
        users = list(dict.fromkeys(u.strip() for u in users_raw if u and u.strip()))
        if not users:
            raise _ApiError("users_list_not_supplied")
        if len(users) > 8:
            raise _ApiError("too_many_users")
        for uid in users:
            known = self._users.get(uid)
            if (self.strict_users and known is None) or (known is not None and known["deleted"]):
                raise _ApiError("user_not_found")
        if len(users) == 1:
            channel_id = self.dm_channel(users[0])
            info: dict[str, Any] = {"id": channel_id, "is_im": True, "user": users[0]}
        else:
            channel_id = self.group_channel(users)
            info = {"id": channel_id, "is_mpim": True, "is_im": False}
        already = channel_id in self._members
        self._members[channel_id] = users
        return {"channel": info, "no_op": already, "already_open": already}

    def _conversations_members(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._known_conversation(params.get("channel"))
        members = list(self._members.get(channel, []))
        info = self._channels.get(channel)
        if info is not None and info.bot_is_member:
            members.append(BOT_USER_ID)
        return {"members": members, "response_metadata": {"next_cursor": ""}}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._known_conversation(params.get("channel"))
        info = self._channel_object(channel)
        info.pop("members", None)
        if not _truthy(params.get("include_num_members")):
            info.pop("num_members", None)
        return {"channel": info}

    def _conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        info = self._channels.get(channel) if isinstance(channel, str) else None
        if info is None or info.is_private:
            if info is not None and info.bot_is_member:
                raise _ApiError("method_not_supported_for_channel_type")
            raise _ApiError("channel_not_found")
        if info.is_archived:
            raise _ApiError("is_archived")
        result: dict[str, Any] = {}
        if info.bot_is_member:
            warning = "already_in_channel"
            result = {"warning": warning, "response_metadata": {"warnings": [warning]}}
        info.bot_is_member = True
        channel_object = self._channel_object(info.id)
        channel_object.pop("members", None)
        return {"channel": channel_object, **result}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._known_conversation(params.get("channel"))
        info = self._channels.get(channel)
        if info is not None and not info.bot_is_member:
            raise _ApiError("not_in_channel")
        try:
            limit = int(params.get("limit") or 100)
            oldest = float(params.get("oldest") or 0)
            latest = float(params["latest"]) if params.get("latest") else float("inf")
        except (TypeError, ValueError):
            raise _ApiError("invalid_arguments") from None
        limit = min(max(limit, 1), 999)
        inclusive = _truthy(params.get("inclusive"))

        def inside(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        found = [
            m
            for (ch, ts), m in self._messages.items()
            if ch == channel
            and inside(float(ts))
            and m.get("thread_ts") in (None, ts)  # thread replies stay in their thread
        ]
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        offset = 0
        cursor = params.get("cursor")
        if cursor:
            try:
                offset = int(base64.b64decode(str(cursor)).decode().partition(":")[2])
            except ValueError:
                raise _ApiError("invalid_cursor") from None
        page = found[offset : offset + limit]
        with_metadata = _truthy(params.get("include_all_metadata"))
        messages = []
        for stored in page:
            message = {k: copy.deepcopy(v) for k, v in stored.items() if k != "channel"}
            if not with_metadata:
                message.pop("metadata", None)
            messages.append(message)
        has_more = offset + limit < len(found)
        next_cursor = base64.b64encode(f"offset:{offset + limit}".encode()).decode()
        return {
            "messages": messages,
            "has_more": has_more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor if has_more else ""},
        }

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable_channel(params.get("channel"), "chat.postMessage")
        self._check_message_content("chat.postMessage", params, channel)
        _check_metadata(params.get("metadata"))
        ts = self._next_ts()
        message = self._message_object(params, ts)
        self._messages[(channel, ts)] = {**message, "channel": channel}
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable_channel(params.get("channel"), "chat.postEphemeral")
        user = params.get("user")
        if not isinstance(user, str) or not user:
            raise _ApiError("user_not_found")
        if channel in self._channels and user not in self._members.get(channel, []):
            raise _ApiError("user_not_in_channel")
        self._check_message_content("chat.postEphemeral", params, channel)
        ts = self._next_ts()
        self._store_ephemeral(channel, user, ts, params, via="chat.postEphemeral")
        return {"message_ts": ts}

    def _existing_message(self, params: dict[str, Any]) -> tuple[str, str]:
        channel = self._resolve_channel(params.get("channel"))
        ts = params.get("ts")
        if not isinstance(ts, str) or (channel, ts) not in self._messages:
            raise _ApiError("message_not_found")
        return channel, ts

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = self._existing_message(params)
        self._check_message_content("chat.update", params, channel)
        stored = self._messages[(channel, ts)]
        stored["text"] = params.get("text") or ""
        for key in ("blocks", "attachments"):  # omitted → kept, like Slack
            if key in params:
                stored[key] = copy.deepcopy(params[key])
        stored["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        message = {k: copy.deepcopy(v) for k, v in stored.items() if k != "channel"}
        return {"channel": channel, "ts": ts, "text": stored["text"], "message": message}

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = self._existing_message(params)
        del self._messages[(channel, ts)]
        return {"channel": channel, "ts": ts}

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        if not isinstance(name, str) or not name:
            raise _ApiError("invalid_name")
        channel = self._resolve_channel(params.get("channel"))
        timestamp = params.get("timestamp")
        if not isinstance(timestamp, str) or not timestamp:
            raise _ApiError("no_item_specified")
        names = self._reactions.setdefault((channel, timestamp), set())
        if name in names:
            raise _ApiError("already_reacted")
        names.add(name)
        return {}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._checked_view(params, "modal")
        trigger_id = self._use_trigger(params)
        self._triggers[trigger_id].used = True
        return {"view": self._store_view(view)}

    def _views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        view = self._checked_view(params, "modal")
        trigger_id = self._use_trigger(params)
        self._triggers[trigger_id].used = True
        return {"view": self._store_view(view)}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        external_id = params.get("external_id")
        current: dict[str, Any] | None = None
        if view_id:
            current = self._views.get(str(view_id))
        elif external_id:
            current = next(
                (v for v in self._views.values() if v.get("external_id") == external_id), None
            )
        else:
            raise _ApiError("invalid_arguments", errors=["must provide view_id or external_id"])
        if current is None:
            raise _ApiError("not_found")
        view = self._checked_view(params, str(current["type"]))
        if params.get("hash") and params["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        if not view.get("external_id") and current.get("external_id"):
            view = {**view, "external_id": current["external_id"]}  # keep the lookup key
        return {
            "view": self._store_view(
                view,
                view_id=current["id"],
                root_view_id=current["root_view_id"],
                previous_view_id=current["previous_view_id"],
            )
        }

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise _ApiError("invalid_arguments", errors=["missing required field: user_id"])
        known = self._users.get(user_id)
        if known is not None and known["deleted"]:
            raise _ApiError("user_not_found")
        view = self._checked_view(params, "home")
        existing_id = self._homes.get(user_id)
        sent_hash = params.get("hash")
        if existing_id is not None and sent_hash and sent_hash != self._views[existing_id]["hash"]:
            raise _ApiError("hash_conflict")
        stored = self._store_view(view, view_id=existing_id)
        self._homes[user_id] = stored["id"]
        return {"view": stored}

    def _files_get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        try:
            length = int(params.get("length"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise _ApiError("invalid_arguments", errors=["length must be an integer"]) from None
        if not isinstance(filename, str) or not filename:
            raise _ApiError("invalid_arguments", errors=["missing required field: filename"])
        file_id = f"F{next(self._id_counter):010d}"
        extra = {k: params[k] for k in ("alt_txt", "snippet_type") if k in params}
        self._uploads[file_id] = _Upload(file_id, filename, length, extra=extra)
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        if not isinstance(files, list) or not files:
            raise _ApiError("invalid_arguments", errors=["files must be a non-empty JSON array"])
        channel = params.get("channel_id")
        if not channel and params.get("channels"):
            channel = str(params["channels"]).split(",")[0]
        if channel:
            channel = self._postable_channel(channel, "files.completeUploadExternal")
        result: list[dict[str, Any]] = []
        completed: list[dict[str, Any]] = []
        for item in files:
            file_id = item.get("id") if isinstance(item, dict) else None
            upload = self._uploads.get(file_id) if isinstance(file_id, str) else None
            if upload is None:
                raise _ApiError("file_not_found")
            if upload.data is None:
                raise _ApiError("file_upload_not_completed")
            title = item.get("title") or upload.filename
            result.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": title,
                    "size": len(upload.data),
                    "channels": [channel] if channel else [],
                }
            )
            completed.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": title,
                    "bytes": upload.data,
                    "length": upload.length,
                    "channel": channel or None,
                    "initial_comment": params.get("initial_comment"),
                    "thread_ts": params.get("thread_ts"),
                }
            )
        self._completed.extend(completed)
        return {"files": result}
