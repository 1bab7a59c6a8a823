"""The sandbox page's HTTP API (WSGI): the page itself, the members, a member's state, the
app's files, and the POSTs that act as a member (command, click, submit, close, Home) or move
the simulated clock and jobs. Every POST answers with the member's new state."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from bot.sandbox.server import Sandbox

Response = tuple[str, list, bytes]


class PageRoutes:
    """The WSGI app of the sandbox page, over one sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        try:
            status, headers, body = self._route(method, path, environ)
        except KeyError as error:
            status, headers, body = _json(400, {"error": f"missing {error}"})
        start_response(status, headers)
        return [body]

    def _route(self, method: str, path: str, environ: dict[str, Any]) -> Response:
        box = self.sandbox
        if method == "GET" and path in ("/", "/index.html"):
            page = resources.files("bot.sandbox").joinpath("static/index.html").read_bytes()
            return "200 OK", [("Content-Type", "text/html; charset=utf-8")], page
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
            "/api/clock": lambda: box.advance(str(request.get("step") or "week")),
            "/api/job": lambda: box.run_job(str(request["name"])),
        }
        handler = handlers.get(path)
        if handler is None:
            return _json(404, {"error": "not found"})
        result = handler() or {}
        return _json(200, {**result, "state": box.state(user)})


def _json(status: int, data: dict[str, Any]) -> Response:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "OK")
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return f"{status} {reason}", [("Content-Type", "application/json; charset=utf-8")], body
