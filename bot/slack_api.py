"""Web API clients and the people directory (locale, timezone, admin flags from Slack)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.i18n import normalize_locale

log = logging.getLogger(__name__)
USER_CACHE_SECONDS = 600.0
UNKNOWN_USER_CACHE_SECONDS = 60.0


def retry_handlers() -> list:  # type: ignore[type-arg]
    """429 (honouring Retry-After), 500/503 and connection errors are all retried."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=3),
        RateLimitErrorRetryHandler(max_retry_count=5),
        ServerErrorRetryHandler(max_retry_count=3),
    ]


def make_web_client(token: str, base_url: str, timeout: int = 15) -> WebClient:
    return WebClient(
        token=token, base_url=base_url, timeout=timeout, retry_handlers=retry_handlers()
    )


class _LookupFailed(Exception):
    """users.info failed for a reason that may pass (rate limit, outage)."""


@dataclass(frozen=True)
class SlackUser:
    id: str
    name: str
    real_name: str
    locale: str  # normalised to a supported language
    timezone: str | None
    utc_offset_minutes: int
    is_workspace_admin: bool
    is_bot: bool
    deleted: bool


class PeopleDirectory:
    """`users.info` (with locale) behind a small thread-safe TTL cache."""

    def __init__(self, client: WebClient, default_locale: str = "en") -> None:
        self._client = client
        self._default_locale = default_locale
        self._cache: dict[str, tuple[float, SlackUser | None]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str) -> SlackUser | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(user_id)
        if cached is not None:
            fetched_at, user = cached
            ttl = USER_CACHE_SECONDS if user is not None else UNKNOWN_USER_CACHE_SECONDS
            if now - fetched_at < ttl:
                return user
        try:
            user = self._fetch(user_id)
        except _LookupFailed:
            return None  # a passing failure is not remembered: the next request asks again
        with self._lock:
            self._cache[user_id] = (now, user)
        return user

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._cache.pop(user_id, None)

    def locale_of(self, user_id: str) -> str:
        user = self.get(user_id)
        return user.locale if user else self._default_locale

    def _fetch(self, user_id: str) -> SlackUser | None:
        """The user, None when Slack says there is no such user; raises on other failures."""
        try:
            data = self._client.users_info(user=user_id, include_locale=True)["user"]
        except SlackApiError as error:
            code = error.response.get("error")
            log.warning("users.info failed", extra={"user": user_id, "error": code})
            if code in ("user_not_found", "user_not_visible"):
                return None
            raise _LookupFailed(code) from error
        except Exception as error:  # noqa: BLE001 - network trouble after the retries
            log.warning("users.info failed", extra={"user": user_id, "error": type(error).__name__})
            raise _LookupFailed(type(error).__name__) from error
        profile = data.get("profile") or {}
        return SlackUser(
            id=data["id"],
            name=data.get("name") or user_id,
            real_name=data.get("real_name") or profile.get("real_name") or data.get("name") or "",
            locale=normalize_locale(data.get("locale"), self._default_locale),
            timezone=data.get("tz"),
            utc_offset_minutes=int(data.get("tz_offset") or 0) // 60,
            is_workspace_admin=bool(data.get("is_admin") or data.get("is_owner")),
            is_bot=bool(data.get("is_bot")),
            deleted=bool(data.get("deleted")),
        )
