"""Web API methods ``conversations.open/members/info/join/history``."""

from __future__ import annotations

import base64
import copy
from typing import Any

from bot.simulated_slack.web_api.protocol import ApiError, truthy
from bot.simulated_slack.web_api.state import BOT_USER_ID, Workspace


class ConversationsMethods(Workspace):
    """DMs, group DMs and channels: opening, membership, info and history."""

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if channel:
            if channel not in self._members:
                raise ApiError("channel_not_found")
            return {"channel": {"id": channel}, "no_op": True, "already_open": True}
        raw = params.get("users")
        users_raw = raw if isinstance(raw, list) else str(raw or "").split(",")
        users = list(dict.fromkeys(u.strip() for u in users_raw if u and u.strip()))
        if not users:
            raise ApiError("users_list_not_supplied")
        if len(users) > 8:
            raise ApiError("too_many_users")
        for uid in users:
            known = self._users.get(uid)
            if (self.strict_users and known is None) or (known is not None and known["deleted"]):
                raise ApiError("user_not_found")
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
        if not truthy(params.get("include_num_members")):
            info.pop("num_members", None)
        return {"channel": info}

    def _conversations_join(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        info = self._channels.get(channel) if isinstance(channel, str) else None
        if info is None or info.is_private:
            if info is not None and info.bot_is_member:
                raise ApiError("method_not_supported_for_channel_type")
            raise ApiError("channel_not_found")
        if info.is_archived:
            raise ApiError("is_archived")
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
            raise ApiError("not_in_channel")
        try:
            limit = int(params.get("limit") or 100)
            oldest = float(params.get("oldest") or 0)
            latest = float(params["latest"]) if params.get("latest") else float("inf")
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments") from None
        limit = min(max(limit, 1), 999)
        inclusive = truthy(params.get("inclusive"))

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
                raise ApiError("invalid_cursor") from None
        page = found[offset : offset + limit]
        with_metadata = truthy(params.get("include_all_metadata"))
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
