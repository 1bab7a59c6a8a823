"""Web API clients and the people directory (locale, timezone, admin flags from Slack)."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler

from bot import http_pool
from bot.i18n import normalize_locale

log = logging.getLogger(__name__)
USER_CACHE_SECONDS = 600.0
# users.list pages a directory preload reads (200 people each): larger workspaces have the
# rest looked up person by person, as before.
DIRECTORY_PAGE_SIZE = 200
DIRECTORY_MAX_PAGES = 50
UNKNOWN_USER_CACHE_SECONDS = 60.0


def retry_handlers() -> list:  # type: ignore[type-arg]
    """429 (honouring Retry-After), 500/503 and connection errors are all retried."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=3),
        RateLimitErrorRetryHandler(max_retry_count=5),
        ServerErrorRetryHandler(max_retry_count=3),
    ]


def make_web_client(token: str, base_url: str, timeout: int = 15) -> WebClient:
    """slack_sdk's client with the app's retry handlers. Its calls, and Bolt's `respond`
    replies, travel over kept-alive connections (`bot.http_pool`, installed here)."""
    http_pool.install()
    return WebClient(
        token=token, base_url=base_url, timeout=timeout, retry_handlers=retry_handlers()
    )


_variants: weakref.WeakKeyDictionary[WebClient, dict[str, WebClient]] = weakref.WeakKeyDictionary()
_variants_lock = threading.Lock()


def with_retries(client: WebClient, name: str, handlers: list[RetryHandler]) -> WebClient:
    """A copy of `client` (same token, URL, timeout, proxy) retrying only with `handlers`,
    built once per client and `name`: calls that must not be repeated blindly (a post, a
    modal's trigger) use a copy whose retries cannot duplicate them. The copy shares the
    process's kept-alive connections (`bot.http_pool`)."""
    with _variants_lock:
        copies = _variants.setdefault(client, {})
        found = copies.get(name)
        if found is None:
            options: dict[str, Any] = {
                "token": client.token,
                "base_url": client.base_url,
                "timeout": client.timeout,
                "ssl": client.ssl,
                "proxy": client.proxy,
                "headers": dict(client.headers),
                "logger": client.logger,
                "retry_handlers": handlers,
            }
            found = copies[name] = WebClient(**options)
        return found


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
    # Guests (single- and multi-channel) and app users never take part (bot.domain.eligibility).
    is_guest: bool = False
    is_app_user: bool = False


class PeopleDirectory:
    """`users.info` (with locale) behind a small thread-safe TTL cache."""

    def __init__(self, client: WebClient, default_locale: str = "en") -> None:
        self._client = client
        self._default_locale = default_locale
        self._cache: dict[str, tuple[float, SlackUser | None]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str) -> SlackUser | None:
        known, user = self._cached(user_id)
        if known:
            return user
        now = time.monotonic()
        try:
            user = self._fetch(user_id)
        except _LookupFailed:
            return None  # a passing failure is not remembered: the next request asks again
        with self._lock:
            self._cache[user_id] = (now, user)
        return user

    def is_known(self, user_id: str) -> bool:
        """Whether `get` would answer from the cache (no Web API call, no waiting)."""
        return self._cached(user_id)[0]

    def _cached(self, user_id: str) -> tuple[bool, SlackUser | None]:
        """(whether a fresh entry exists, the person it holds: None for no such user)."""
        with self._lock:
            cached = self._cache.get(user_id)
        if cached is None:
            return False, None
        fetched_at, user = cached
        ttl = USER_CACHE_SECONDS if user is not None else UNKNOWN_USER_CACHE_SECONDS
        return time.monotonic() - fetched_at < ttl, user

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._cache.pop(user_id, None)

    def locale_of(self, user_id: str) -> str:
        user = self.get(user_id)
        return user.locale if user else self._default_locale

    def preload(
        self,
        *,
        max_pages: int = DIRECTORY_MAX_PAGES,
        between_pages: Callable[[], bool] | None = None,
    ) -> int:
        """Fills the cache from `users.list` (Tier 2, 200 people a page); returns how many.

        After a restart every person's first command would otherwise wait for its own
        `users.info`. Entries age like looked-up ones (USER_CACHE_SECONDS). `between_pages`
        paces the pages (Tier 2 allows 20 a minute) and returns False to stop early.
        A failure stops the preload quietly: lookups person by person still work.
        """
        loaded = 0
        request: dict[str, Any] = {"limit": DIRECTORY_PAGE_SIZE, "include_locale": True}
        for page_number in range(max_pages):
            if page_number and between_pages is not None and not between_pages():
                break
            try:
                page = self._client.users_list(**request)
            except Exception as error:  # noqa: BLE001 - a preload is an optimisation only
                code = error.response.get("error") if isinstance(error, SlackApiError) else None
                log.warning("users.list failed", extra={"error": code or type(error).__name__})
                break
            fetched_at = time.monotonic()
            people = [
                self._user_of(member)
                for member in page.get("members") or []
                if isinstance(member, dict) and member.get("id")
            ]
            with self._lock:
                for person in people:
                    self._cache[person.id] = (fetched_at, person)
            loaded += len(people)
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
            request["cursor"] = cursor
        return loaded

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
        return self._user_of(data)

    def _user_of(self, data: dict[str, Any]) -> SlackUser:
        user_id = str(data["id"])
        profile = data.get("profile") or {}
        return SlackUser(
            id=user_id,
            name=data.get("name") or user_id,
            real_name=data.get("real_name") or profile.get("real_name") or data.get("name") or "",
            locale=normalize_locale(data.get("locale"), self._default_locale),
            timezone=data.get("tz"),
            utc_offset_minutes=int(data.get("tz_offset") or 0) // 60,
            is_workspace_admin=bool(data.get("is_admin") or data.get("is_owner")),
            is_bot=bool(data.get("is_bot")),
            deleted=bool(data.get("deleted")),
            is_guest=bool(data.get("is_restricted") or data.get("is_ultra_restricted")),
            is_app_user=bool(data.get("is_app_user")),
        )

    def remember(self, data: dict[str, Any]) -> SlackUser:
        """Caches a user object Slack sent (a `user_change` event, a `users.list` page)."""
        person = self._user_of(data)
        with self._lock:
            self._cache[person.id] = (time.monotonic(), person)
        return person
