"""Kept-alive HTTP(S) connections for slack_sdk, through urllib's public extension point.

slack_sdk's `WebClient` and `WebhookClient` (which Bolt's `respond` uses for response_url
replies) send every request with `urllib.request.urlopen(request, context=ssl, timeout=...)`.
Without an `ssl` context and without a proxy, `urlopen` uses the opener installed with
`urllib.request.install_opener`, and a `urllib.request.BaseHandler` with `http_open` /
`https_open` is the stdlib's documented way to take over how requests are sent. `install()`
installs an opener whose `PooledHTTPHandler` sends them over urllib3's `PoolManager`, so Web
API calls and replies reuse connections (in production, TLS handshakes) instead of opening one
per request, and slack_sdk's retry handlers, errors and responses stay its own.

- A request is never sent twice here: urllib3's retries are off (a post is not idempotent),
  redirects are left to urllib's own handler, and failures surface as urllib's do: `URLError`
  when the request could not be sent, http.client's error when its answer was lost
  (`RemoteDisconnected`, ...) and `TimeoutError` when it did not come in time; slack_sdk's
  retry handlers then decide as without the pool (the delivery client,
  `bot.slack_api.with_retries(..., [])`, has none). A kept connection the server has closed
  is noticed by urllib3 before reuse and replaced.
- A client built with its own `ssl` context or a proxy (`proxy=`, or `HTTPS_PROXY` in the
  environment, which slack_sdk reads itself) builds its own opener and goes through plain
  urllib: correct, only not pooled. Requests that urllib's `ProxyHandler` routes to a proxy
  are declined here and left to urllib's handlers as well.
- The opener is process-wide, so every `urlopen` without a context in this process is pooled.
- After a fork the child starts with an empty pool: a connection is never shared with the
  parent.

tests/test_keep_alive_web_client.py fails if slack_sdk stops going through the installed
opener (its calls would then open one connection each).
"""

from __future__ import annotations

import io
import os
import socket
import threading
import urllib.request
from http.client import HTTPException, HTTPMessage
from urllib.error import URLError
from urllib.parse import urlsplit
from urllib.response import addinfourl

import urllib3

# Idle connections kept per host; more may be open at once under load (block=False).
CONNECTIONS_PER_HOST = 64
HOSTS = 8  # slack.com, hooks.slack.com, files.slack.com, ... (least recently used dropped)


class PooledHTTPHandler(urllib.request.BaseHandler):
    """Answers urllib's http/https requests from a urllib3 `PoolManager`."""

    handler_order = 400  # before urllib's HTTP(S)Handler (500), which serve what this declines

    def __init__(self) -> None:
        self._pool = self._new_pool()

    @staticmethod
    def _new_pool() -> urllib3.PoolManager:
        return urllib3.PoolManager(num_pools=HOSTS, maxsize=CONNECTIONS_PER_HOST, block=False)

    def reset_after_fork(self) -> None:
        # The parent's connections stay the parent's; they are dropped here, not closed.
        self._pool = self._new_pool()

    def http_open(self, req: urllib.request.Request) -> addinfourl | None:
        return self._send(req)

    def https_open(self, req: urllib.request.Request) -> addinfourl | None:
        return self._send(req)

    def _send(self, req: urllib.request.Request) -> addinfourl | None:
        if req.host != urlsplit(req.full_url).netloc:
            return None  # routed to a proxy by urllib's ProxyHandler: urllib sends it
        headers = {k: v for k, v in req.header_items() if k.lower() != "connection"}
        timeout = getattr(req, "timeout", None)
        if not isinstance(timeout, int | float):
            timeout = socket.getdefaulttimeout()
        try:
            answer = self._pool.urlopen(
                req.get_method(),
                req.full_url,
                body=req.data,
                headers=headers,
                retries=False,  # never send a request twice
                redirect=False,  # urllib's HTTPRedirectHandler decides, as without the pool
                timeout=timeout,
                preload_content=True,  # the connection goes back to the pool at once
                decode_content=False,  # the bytes as sent, as urllib gives them
                chunked=req.has_header("Transfer-encoding"),
            )
        except urllib3.exceptions.ReadTimeoutError as error:
            # The request went out, the answer did not come: http.client's TimeoutError, as
            # urllib raises it (slack_sdk does not retry it).
            raise TimeoutError(str(error)) from error
        except urllib3.exceptions.ProtocolError as error:
            lost = error.args[1] if len(error.args) > 1 else None
            if isinstance(lost, HTTPException | ConnectionError) and not isinstance(
                lost, BrokenPipeError
            ):
                raise lost from None  # the answer was lost or cut: as urllib raises it
            raise URLError(lost or error) from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise URLError(error) from error  # not sent (no connection, TLS): as urllib
        message = HTTPMessage()
        for name, value in answer.headers.items():
            message[name] = value
        response = addinfourl(io.BytesIO(answer.data), message, req.full_url, answer.status)
        # What urllib's HTTPErrorProcessor and HTTPError read, as on http.client's response.
        response.msg = response.reason = answer.reason or ""  # type: ignore[attr-defined]
        return response


_handler: PooledHTTPHandler | None = None
_lock = threading.Lock()


def install() -> PooledHTTPHandler:
    """Installs the pooled opener for this process (once); returns its handler."""
    global _handler
    with _lock:
        if _handler is None:
            handler = PooledHTTPHandler()
            urllib.request.install_opener(urllib.request.build_opener(handler))
            os.register_at_fork(after_in_child=handler.reset_after_fork)
            _handler = handler
        return _handler
