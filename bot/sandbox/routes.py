"""The sandbox page's HTTP API (WSGI): the page itself, the members, a member's state, the
app's files, and the POSTs that act as a member (command, click, submit, close, Home) or move
the simulated clock and jobs. Every POST answers with the member's new state.

Every request must come from the page itself (access.py: Host, Origin, the page's token), and
moving the clock or running a job needs a member who is an admin by the app's own rule."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from bot.sandbox import access

if TYPE_CHECKING:
    from bot.sandbox.server import Sandbox

Response = tuple[str, list, bytes]
TOKEN_PLACEHOLDER = b"{{SANDBOX_TOKEN}}"
ADMIN_PATHS = frozenset({"/api/clock", "/api/job"})
# The page may not be framed by another site (clicks tricked through an invisible frame),
# nor kept in a cache with its token.
PAGE_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
]


class PageRoutes:
    """The WSGI app of the sandbox page, over one sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.token = access.new_token()  # one per run: the page embeds it when it loads

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        refusal = self._refusal(path, environ)
        try:
            if refusal is not None:
                status, headers, body = _json(403, {"error": refusal})
            else:
                status, headers, body = self._route(method, path, environ)
        except KeyError as error:
            status, headers, body = _json(400, {"error": f"missing {error}"})
        start_response(status, headers)
        return [body]

    def _refusal(self, path: str, environ: dict[str, Any]) -> str | None:
        """Why the request does not come from the sandbox page itself, or None."""
        host = environ.get("HTTP_HOST")
        refusal = access.host_refusal(host, self.sandbox.host, self.sandbox.port)
        if refusal is None:
            refusal = access.origin_refusal(environ.get("HTTP_ORIGIN"), str(host))
        if refusal is None and path.startswith("/api/"):
            refusal = access.token_refusal(environ.get(access.TOKEN_ENVIRON_KEY), self.token)
        return refusal

    def _route(self, method: str, path: str, environ: dict[str, Any]) -> Response:
        box = self.sandbox
        if method == "GET" and path in ("/", "/index.html"):
            page = resources.files("bot.sandbox").joinpath("static/index.html").read_bytes()
            return "200 OK", PAGE_HEADERS, page.replace(TOKEN_PLACEHOLDER, self.token.encode())
        if method == "GET" and path == "/api/members":
            return _json(200, {"members": box.members()})
        if method == "GET" and path == "/api/state":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            return _json(200, box.state(query["user"][0]))
        if method == "GET" and path.startswith("/files/"):
            found = box.file_bytes(path.removeprefix("/files/"))
            if found is None:
                return _json(404, {"error": "no such file"})
            name, data = found
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            disposition = f'inline; filename="{name}"'
            return "200 OK", [("Content-Type", kind), ("Content-Disposition", disposition)], data
        if method != "POST":
            return _json(404, {"error": "not found"})
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        user = str(request.get("user") or "")
        if user not in box.sessions:
            return _json(400, {"error": "pick a member first"})
        if path in ADMIN_PATHS and not box.is_admin(user):
            return _json(
                403, {"error": "Only the programme's admins can move the clock or run jobs."}
            )
        handlers: dict[str, Callable[[], dict[str, Any] | None]] = {
            "/api/command": lambda: box.command(
                user, str(request["text"]), str(request.get("channel") or "")
            ),
            "/api/action": lambda: box.action(user, request),
            "/api/submit": lambda: box.submit(
                user, str(request["view_id"]), request.get("values") or {}
            ),
            "/api/close": lambda: box.close(user, str(request["view_id"])),
            "/api/home": lambda: box.open_home(user) or {},
            "/api/clock": lambda: box.advance(
                str(request.get("step") or "week"), str(request.get("member") or "") or None
            ),
            "/api/job": lambda: box.run_job(str(request["name"])),
        }
        handler = handlers.get(path)
        if handler is None:
            return _json(404, {"error": "not found"})
        result = handler() or {}
        return _json(200, {**result, "state": box.state(user)})


def _json(status: int, data: dict[str, Any]) -> Response:
    reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}[status]
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return f"{status} {reason}", [("Content-Type", "application/json; charset=utf-8")], body
