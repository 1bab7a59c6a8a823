"""Web API clients and the people directory (locale, timezone, admin flags from Slack)."""

from __future__ import annotations

import io
import json
import logging
import select
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPSConnection, responses
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.webhook import WebhookResponse

from bot.i18n import normalize_locale

log = logging.getLogger(__name__)
USER_CACHE_SECONDS = 600.0
# users.list pages a directory preload reads (200 people each): larger workspaces have the
# rest looked up person by person, as before.
DIRECTORY_PAGE_SIZE = 200
DIRECTORY_MAX_PAGES = 50
UNKNOWN_USER_CACHE_SECONDS = 60.0
RESPONSE_URL_TIMEOUT_S = 15.0
IDLE_CONNECTIONS_PER_HOST = 16
MAX_IDLE_S = 30.0  # below the idle timeout of common HTTP front ends
_Host = tuple[str, str, int]  # scheme, host name, port


def retry_handlers() -> list:  # type: ignore[type-arg]
    """429 (honouring Retry-After), 500/503 and connection errors are all retried."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=3),
        RateLimitErrorRetryHandler(max_retry_count=5),
        ServerErrorRetryHandler(max_retry_count=3),
    ]


def make_web_client(token: str, base_url: str, timeout: int = 15) -> WebClient:
    return KeepAliveWebClient(
        token=token, base_url=base_url, timeout=timeout, retry_handlers=retry_handlers()
    )


_variants: weakref.WeakKeyDictionary[WebClient, dict[str, WebClient]] = weakref.WeakKeyDictionary()
_variants_lock = threading.Lock()


def with_retries(client: WebClient, name: str, handlers: list[RetryHandler]) -> WebClient:
    """A copy of `client` (same token, URL, timeout, proxy) retrying only with `handlers`,
    built once per client and `name`: calls that must not be repeated blindly (a post, a
    modal's trigger) use a copy whose retries cannot duplicate them."""
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
            if isinstance(client, KeepAliveWebClient):  # the copy shares the connections
                found = KeepAliveWebClient(**options, connections=client.connections)
            else:
                found = WebClient(**options)
            copies[name] = found
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
        )


class ConnectionPool:
    """Kept-alive HTTP(S) connections per host, shared by threads.

    A request is never sent twice: a kept connection the server has closed is noticed before
    use, and only a send that failed before the request was fully written is repeated (on a
    fresh connection). Failures while sending surface as `URLError`, as with urllib.
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None, timeout: float = 15.0) -> None:
        self._ssl = ssl_context
        self._timeout = timeout
        self._idle: dict[_Host, list[tuple[float, HTTPConnection]]] = {}
        self._lock = threading.Lock()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any, bytes]:
        """(status, headers as an `http.client.HTTPMessage`, body) of one POST."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("only http(s) URLs are posted to")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn, reused = self._take(host)
        try:
            try:
                _open(conn)
                conn.request("POST", target, body=body, headers=dict(headers))
            except (ConnectionResetError, BrokenPipeError):
                if not reused:
                    raise
                # Closed by the server just as we reused it; nothing reached it.
                conn.close()
                conn = self._connect(host)
                _open(conn)
                conn.request("POST", target, body=body, headers=dict(headers))
        except OSError as error:
            conn.close()
            raise URLError(error) from error
        try:
            response = conn.getresponse()
            data = response.read()
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            self._give_back(host, conn)
        return response.status, response.headers, data

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for _since, conn in connections:
                conn.close()

    def _take(self, host: _Host) -> tuple[HTTPConnection, bool]:
        now = time.monotonic()
        while True:
            with self._lock:
                idle = self._idle.get(host)
                if not idle:
                    break
                since, conn = idle.pop()
            if now - since < MAX_IDLE_S and not _dropped(conn):
                return conn, True
            conn.close()
        return self._connect(host), False

    def _connect(self, host: _Host) -> HTTPConnection:
        scheme, name, port = host
        if scheme == "https":
            context = self._ssl or ssl.create_default_context()
            return HTTPSConnection(name, port, timeout=self._timeout, context=context)
        return HTTPConnection(name, port, timeout=self._timeout)

    def _give_back(self, host: _Host, conn: HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(host, [])
            if len(idle) < IDLE_CONNECTIONS_PER_HOST:
                idle.append((time.monotonic(), conn))
                return
        conn.close()


class KeepAliveWebClient(WebClient):  # type: ignore[misc]
    """slack_sdk's WebClient over kept-alive connections.

    urllib opens a connection (in production with a TLS handshake) for every Web API call;
    here connections are reused per host. Only the transport changes: retry handlers, errors
    (HTTP errors still arrive as urllib's `HTTPError`) and responses are slack_sdk's own.
    """

    def __init__(self, *args: Any, connections: ConnectionPool | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.connections = connections or ConnectionPool(self.ssl, float(self.timeout))

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy is not None:  # urllib speaks to proxies
            return super()._perform_urllib_http_request_internal(url, req)  # type: ignore[no-any-return]
        body = req.data if isinstance(req.data, bytes) else b""
        status, headers, data = self.connections.post(url, body, dict(req.header_items()))
        if not 200 <= status < 300:  # what urllib's HTTPErrorProcessor raises
            reason = responses.get(status, "Error")
            raise HTTPError(url, status, reason, headers, io.BytesIO(data))
        if headers.get_content_type() == "application/gzip":
            return {"status": status, "headers": headers, "body": data}
        charset = headers.get_content_charset() or "utf-8"
        return {"status": status, "headers": headers, "body": data.decode(charset)}


class ResponseUrlClient:
    """POSTs replies to Slack's `response_url`s over kept-alive connections.

    Bolt's `respond` opens a new connection (with a urllib opener, and in production a TLS
    handshake) for every reply, and every slash command answers through one; here connections
    are kept per host and reused, and a reply is never sent twice (see `ConnectionPool`).
    Thread-safe.
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.connections = ConnectionPool(ssl_context, RESPONSE_URL_TIMEOUT_S)

    def post(self, url: str, message: dict[str, Any]) -> WebhookResponse:
        body = json.dumps(message).encode("utf-8")
        headers = {"Content-Type": "application/json;charset=utf-8"}
        status, answer_headers, data = self.connections.post(url, body, headers)
        charset = answer_headers.get_content_charset() or "utf-8"
        if status != 200:
            log.warning("response_url answered an error", extra={"status": status})
        return WebhookResponse(
            url=url,
            status_code=status,
            body=data.decode(charset, "replace"),
            headers=dict(answer_headers),
        )

    def close(self) -> None:
        self.connections.close()


def _open(conn: HTTPConnection) -> None:
    """Connects a new connection with Nagle off (as urllib3 does): http.client writes the
    headers and the body separately, and a kept-alive connection would otherwise hold the
    body back until the server's delayed ACK."""
    if conn.sock is None:
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _dropped(conn: HTTPConnection) -> bool:
    """Whether the peer closed (or broke) an idle connection: it would be readable."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _w, _x = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class PooledRespond(Respond):  # type: ignore[misc]
    """Bolt's `respond`, sent through a `ResponseUrlClient` (same arguments, same message)."""

    def __init__(self, *, response_url: str | None, client: ResponseUrlClient) -> None:
        super().__init__(response_url=response_url)
        self._replies = client

    def __call__(  # type: ignore[override]
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        if isinstance(text, dict):
            return self._replies.post(self.response_url, _message(**text))
        message = _message(
            text=text,
            blocks=blocks,
            attachments=attachments,
            response_type=response_type,
            replace_original=replace_original,
            delete_original=delete_original,
            unfurl_links=unfurl_links,
            unfurl_media=unfurl_media,
            thread_ts=thread_ts,
            metadata=metadata,
        )
        return self._replies.post(self.response_url, message)


def _message(
    text: str = "",
    blocks: Sequence[dict[str, Any] | Block] | None = None,
    attachments: Sequence[dict[str, Any] | Attachment] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The JSON body Bolt's `respond` sends: unset options left out, models rendered."""
    message: dict[str, Any] = {"text": text}
    if blocks:
        message["blocks"] = [b.to_dict() if isinstance(b, Block) else b for b in blocks]
    if attachments:
        message["attachments"] = [
            a.to_dict() if isinstance(a, Attachment) else a for a in attachments
        ]
    message.update((name, value) for name, value in options.items() if value is not None)
    return message
