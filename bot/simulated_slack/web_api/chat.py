"""Web API methods ``chat.postMessage/postEphemeral/update/delete`` and ``reactions.add``."""

from __future__ import annotations

import copy
from typing import Any

from bot.simulated_slack.web_api.block_kit import check_metadata
from bot.simulated_slack.web_api.protocol import ApiError
from bot.simulated_slack.web_api.state import BOT_USER_ID, Workspace


class ChatMethods(Workspace):
    """Messages and reactions."""

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable_channel(params.get("channel"), "chat.postMessage")
        self._check_message_content("chat.postMessage", params, channel)
        check_metadata(params.get("metadata"))
        ts = self._next_ts()
        message = self._message_object(params, ts)
        self._messages[(channel, ts)] = {**message, "channel": channel}
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._postable_channel(params.get("channel"), "chat.postEphemeral")
        user = params.get("user")
        if not isinstance(user, str) or not user:
            raise ApiError("user_not_found")
        if channel in self._channels and user not in self._members.get(channel, []):
            raise ApiError("user_not_in_channel")
        self._check_message_content("chat.postEphemeral", params, channel)
        ts = self._next_ts()
        self._store_ephemeral(channel, user, ts, params, via="chat.postEphemeral")
        return {"message_ts": ts}

    def _existing_message(self, params: dict[str, Any]) -> tuple[str, str]:
        channel = self._resolve_channel(params.get("channel"))
        ts = params.get("ts")
        if not isinstance(ts, str) or (channel, ts) not in self._messages:
            raise ApiError("message_not_found")
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
            raise ApiError("invalid_name")
        channel = self._resolve_channel(params.get("channel"))
        timestamp = params.get("timestamp")
        if not isinstance(timestamp, str) or not timestamp:
            raise ApiError("no_item_specified")
        names = self._reactions.setdefault((channel, timestamp), set())
        if name in names:
            raise ApiError("already_reacted")
        names.add(name)
        return {}
