"""The workspace's state: directory, channels, messages, views, triggers, uploads and the
recorded calls, behind one lock, with the helpers the Web API methods share.

:class:`Workspace` is the base of every part of :class:`FakeSlack`: each method family
(``chat``, ``conversations``, ``views``, ``users``, ``files``), the response URLs, the faults
and the recorded-call queries is a subclass of it in its own module.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import secrets
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from bot.simulated_slack.rate_limits import RandomRateLimits, RateLimiter, RateLimits
from bot.simulated_slack.web_api import clocks
from bot.simulated_slack.web_api.block_kit import (
    MESSAGE_BLOCK_LIMIT,
    block_kit_error,
    validate_blocks,
)
from bot.simulated_slack.web_api.clocks import TRIGGER_TTL_SECONDS, real_monotonic
from bot.simulated_slack.web_api.protocol import ApiError, Call
from bot.simulated_slack.web_api.scopes import manifest_bot_scopes

if TYPE_CHECKING:
    from bot.simulated_slack.web_api.faults import Fault
    from bot.simulated_slack.web_api.http_server import Server

GENERAL_CHANNEL: Final = "C0GENERAL"
BOT_USER_ID: Final = "U0BOT"
BOT_ID: Final = "B0BOT"

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
class Trigger:
    issued_at: float
    used: bool = False


@dataclass
class ResponseUrl:
    issued_at: float
    channel: str | None
    user: str | None
    message_ts: str | None
    uses: int = 0


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool
    is_archived: bool
    bot_is_member: bool
    created: int


@dataclass
class Upload:
    file_id: str
    filename: str
    length: int
    data: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Workspace:
    """The state of the simulated workspace and the helpers its Web API methods share."""

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
        # user id -> custom profile field id -> value (users.profile.get), and the team's
        # custom field definitions (team.profile.get)
        self._profile_fields: dict[str, dict[str, str]] = {}
        self._team_fields: list[dict[str, Any]] = []
        self._members: dict[str, list[str]] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._reactions: dict[tuple[str, str], set[str]] = {}
        self._triggers: dict[str, Trigger] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._homes: dict[str, str] = {}
        self._uploads: dict[str, Upload] = {}
        # Files people shared (a modal's file_input): id -> (name, bytes), served to the bot
        self._user_files: dict[str, tuple[str, bytes]] = {}
        # user id -> the error every message to them answers (see refuse_messages_to)
        self._refused: dict[str, str] = {}
        self._completed: list[dict[str, Any]] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._lost: dict[str, deque[float]] = {}
        self._holds: dict[str, threading.Event] = {}
        self._held: Counter[str] = Counter()
        self._channels: dict[str, Channel] = {}
        self._response_urls: dict[str, ResponseUrl] = {}
        self._ephemeral: list[dict[str, Any]] = []
        self._last_ts_micros = 0
        self._id_counter = itertools.count(1)

        self._server: Server | None = None
        self._thread: threading.Thread | None = None

        # Every workspace has #general; the bot is not in it until invited.
        self.add_channel(GENERAL_CHANNEL, "general", bot_is_member=False)

    # ---------------------------------------------------------------- address

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
        email: str | None = None,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        is_app_user: bool = False,
        title: str = "",
        fields: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Add (or replace) a user in the directory; returns the user object (with locale).

        ``email``: the profile's (default ``<handle>@example.com``; ``""`` for none, as a bot
        has); the Web API shows it only to a token with ``users:read.email``.
        ``is_restricted``/``is_ultra_restricted``: a multi-/single-channel guest. ``title`` and
        ``fields`` (custom profile field id -> value) are what ``users.profile.get`` shows."""
        handle = name if name is not None else user_id.lower()
        full = real_name if real_name is not None else handle
        if email is None:
            email = "" if is_bot else f"{handle}@example.com"
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
                "email": email,
                "title": title,
            },
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": is_restricted or is_ultra_restricted,
            "is_ultra_restricted": is_ultra_restricted,
            "is_bot": is_bot,
            "is_app_user": is_app_user,
            "updated": 1700000000,
            "locale": locale,
        }
        with self._lock:
            self._users[user_id] = user
            self._profile_fields[user_id] = dict(fields or {})
            general = self._members.setdefault(GENERAL_CHANNEL, [])
            if user_id not in general and not deleted:
                general.append(user_id)
        return copy.deepcopy(user)

    def update_user(self, user_id: str, **changes: Any) -> dict[str, Any]:
        """Changes a user as an admin would (``deleted=True`` deactivates, ``is_restricted``
        makes a guest); returns the user object a ``user_change`` event carries."""
        with self._lock:
            user = self._users[user_id]
            user.update(changes)
            if changes.get("is_ultra_restricted"):
                user["is_restricted"] = True
            user["updated"] = int(user.get("updated") or 0) + 1
            if user.get("deleted"):
                general = self._members.get(GENERAL_CHANNEL, [])
                if user_id in general:
                    general.remove(user_id)
            found = copy.deepcopy(user)
        found.pop("locale", None)
        return found

    def add_profile_field(self, field_id: str, label: str, *, kind: str = "text") -> None:
        """A custom profile field of the team (``team.profile.get``); ``kind`` is Slack's
        field type: ``text``, ``user`` (holds a user id), ``options_list``, ..."""
        with self._lock:
            self._team_fields = [f for f in self._team_fields if f["id"] != field_id]
            self._team_fields.append(
                {
                    "id": field_id,
                    "ordering": len(self._team_fields),
                    "label": label,
                    "hint": "",
                    "type": kind,
                    "possible_values": None,
                    "options": None,
                    "is_hidden": False,
                }
            )

    def set_profile(self, user_id: str, *, title: str | None = None, **fields: str) -> None:
        """Sets a person's profile title and custom fields (field id -> value; "" clears)."""
        with self._lock:
            if title is not None:
                self._users[user_id]["profile"]["title"] = title
            stored = self._profile_fields.setdefault(user_id, {})
            for field_id, value in fields.items():
                if value:
                    stored[field_id] = value
                else:
                    stored.pop(field_id, None)

    def refuse_messages_to(self, user_id: str, error: str = "account_inactive") -> None:
        """From now on every message or file shared to the person's DM answers ``error``
        (what a deactivated account's DM answers); ``error=""`` lifts it."""
        with self._lock:
            if error:
                self._refused[user_id] = error
            else:
                self._refused.pop(user_id, None)

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
        if "users:read.email" not in self.scopes or not result["profile"].get("email"):
            result["profile"].pop("email", None)  # Slack shows it only with that scope
        return result

    # ---------------------------------------------------------------- triggers, DM ids

    def issue_trigger(self) -> str:
        """A trigger_id valid for one ``views.open``/``views.push`` within 3 seconds."""
        trigger_id = f"{next(self._id_counter)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger_id] = Trigger(issued_at=clocks.trigger_clock())
        return trigger_id

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
            self._channels[channel_id] = Channel(
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

    def _kind_of(self, channel_id: str) -> str | None:
        info = self._channels.get(channel_id)
        if info is not None:
            return "private" if info.is_private else "public"
        if channel_id[:1] in ("D", "U", "W"):
            return "im"
        if channel_id in self._members:
            return "mpim"
        return None

    # ---------------------------------------------------------------- state queries

    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def posted_messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Current message objects (after updates, without deleted ones), each with
        ``channel`` and ``ts`` — handy for :meth:`SlackRequests.block_action`."""
        with self._lock:
            return [
                copy.deepcopy(m)
                for (ch, _ts), m in self._messages.items()
                if channel is None or ch == channel
            ]

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
            raise ApiError("channel_not_found")
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
                raise ApiError("channel_not_found")  # Slack hides private channels
            return resolved
        if resolved in self._members:
            return resolved
        # The bot's DM with any user exists without conversations.open.
        if resolved.startswith("D") and resolved[1:] in self._users:
            self._members[resolved] = [resolved[1:]]
            return resolved
        raise ApiError("channel_not_found")

    def _postable_channel(self, channel: Any, method: str) -> str:
        """The resolved id of a conversation the bot may post to (Slack's errors otherwise)."""
        resolved = self._known_conversation(channel)
        info = self._channels.get(resolved)
        if info is None:
            refused = self._refused.get(resolved[1:]) if resolved.startswith("D") else None
            if refused:
                raise ApiError(refused)
            return resolved
        if info.is_archived:
            raise ApiError("is_archived")
        public_ok = method == "chat.postMessage" and "chat:write.public" in self.scopes
        if not info.bot_is_member and not (public_ok and not info.is_private):
            raise ApiError("not_in_channel")
        return resolved

    def _check_message_content(self, method: str, params: dict[str, Any], channel: str) -> None:
        text = params.get("text")
        blocks = params.get("blocks")
        has_text = isinstance(text, str) and text != ""
        if not has_text and blocks in (None, "", []) and not params.get("attachments"):
            raise ApiError("no_text")
        if isinstance(text, str) and len(text) > 40_000:
            raise ApiError("msg_too_long")
        if blocks is not None:
            errors = validate_blocks(blocks, max_blocks=MESSAGE_BLOCK_LIMIT)
            if errors:
                raise block_kit_error("invalid_blocks", errors)
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
