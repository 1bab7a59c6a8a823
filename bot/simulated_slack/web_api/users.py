"""Web API methods ``auth.test``, ``users.info``, ``users.list``, ``users.lookupByEmail``,
``users.profile.get`` and ``team.profile.get``."""

from __future__ import annotations

import base64
import copy
from typing import Any

from bot.simulated_slack.web_api.protocol import ApiError, truthy
from bot.simulated_slack.web_api.state import BOT_ID, BOT_USER_ID, Workspace


class UsersMethods(Workspace):
    """The bot's identity and the directory as the Web API shows them."""

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
            raise ApiError("user_not_found")
        return {"user": self._public_user(user, truthy(params.get("include_locale")))}

    def _users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            limit = int(params.get("limit") or 0)
        except (TypeError, ValueError):
            raise ApiError("invalid_limit") from None
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
                raise ApiError("invalid_cursor") from None
        include_locale = truthy(params.get("include_locale"))
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

    def _users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        """Like Slack: the user whose profile has this email (any case), else
        ``users_not_found``; a deactivated account is found too (``deleted`` true)."""
        email = str(params.get("email") or "").strip().lower()
        if not email:
            raise ApiError("invalid_arguments", errors=["missing required field: email"])
        for user in self._users.values():
            if str(user["profile"].get("email") or "").lower() == email:
                return {"user": self._public_user(user, False)}
        raise ApiError("users_not_found")

    def _users_profile_get(self, params: dict[str, Any]) -> dict[str, Any]:
        """Like Slack: the standard profile with ``title``, and ``fields`` holding only the
        custom fields the person has filled in (each ``{"value", "alt"}``)."""
        user = self._users.get(str(params.get("user") or ""))
        if user is None:
            raise ApiError("user_not_found")
        profile = copy.deepcopy(user["profile"])
        profile.setdefault("title", "")
        filled = self._profile_fields.get(user["id"], {})
        profile["fields"] = {key: {"value": value, "alt": ""} for key, value in filled.items()}
        return {"profile": profile}

    def _team_profile_get(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"profile": {"fields": copy.deepcopy(self._team_fields), "sections": []}}
