"""`reverse-mentoring sandbox`: the real app, a simulated Slack, and a page to use them.

Three parts run in one process, each on its own loopback port:
- the simulated Slack Web API (`bot.simulated_slack.FakeSlack`), where the app's calls go;
- the real app (`bot.server.Runtime`: Bolt app, listeners, scheduler, storage) behind its WSGI
  front, reached only by requests signed exactly as Slack signs them;
- the sandbox page and its small JSON API, which plays Slack's client: it turns a click into the
  signed payload Slack would send, keeps each member's modal stack, and renders what the
  simulated workspace holds (DMs, group DMs, channels, App Home, modals, files).
No handler or job knows it runs in the sandbox.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bot import clock as app_clock
from bot.sandbox.forms import fill
from bot.sandbox.render import RenderContext, message_html, view_html
from bot.sandbox.workspace import (
    ADMIN_ID,
    COMMUNITY_CHANNEL,
    GENERAL_CHANNEL,
    SeedPerson,
    seed_people,
)
from bot.settings import parse_settings
from bot.simulated_slack import FakeSlack, SlackRequests

log = logging.getLogger(__name__)
BOT_TOKEN = "xoxb-sandbox"
QUIET_SECONDS = 0.015  # and no new Web API call for this long after the listeners are idle
SETTLE_LIMIT_SECONDS = 10.0


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def _serve(app: Any, host: str, port: int) -> WSGIServer:
    server = make_server(
        host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True, name=f"wsgi:{port}").start()
    return server


@dataclass
class MemberSession:
    """What Slack's client remembers for one member: open modals and inline errors."""

    modals: list[str] = field(default_factory=list)  # view ids, top last
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # view id -> block errors
    ephemeral: list[dict[str, Any]] = field(default_factory=list)  # replies only they see


class Sandbox:
    def __init__(
        self,
        *,
        port: int = 3000,
        people: int = 12,
        seed: int = 1,
        database_url: str = "sqlite:///sandbox.db",
        host: str = "127.0.0.1",
        start_at: datetime | None = None,
        with_scheduler: bool = True,
        serve_page: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.database_url = database_url
        self.people = seed_people(people, seed)
        self.sessions: dict[str, MemberSession] = {p.user_id: MemberSession() for p in self.people}
        self._lock = threading.RLock()
        self._seen_calls = 0
        self._trigger_owner: dict[str, str] = {}
        self.fake = FakeSlack(bot_token=BOT_TOKEN)
        self.clock = app_clock.ManualClock(start_at or app_clock.SystemClock().now())
        self.with_scheduler = with_scheduler
        self.serve_page = serve_page
        self._servers: list[WSGIServer] = []
        self.runtime: Any = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> str:
        from bot.server import Runtime
        from storage.db import Database

        self.fake.start()
        for person in self.people:
            self._add_member(person)
        self._add_channels()
        secret = secrets.token_hex(16)
        settings = parse_settings(
            {
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_SIGNING_SECRET": secret,
                "SLACK_API_URL": self.fake.api_url,
                "DATABASE_URL": self.database_url,
                "ADMIN_USER_IDS": ADMIN_ID,
                "RECOGNITION_CHANNEL": COMMUNITY_CHANNEL[0],
            }
        )
        database = Database(settings.database_url)
        database.migrate()
        database.dispose()
        self.runtime = Runtime(settings, clock=self.clock, with_scheduler=self.with_scheduler)
        self.runtime.start()
        app_server = _serve(self.runtime.wsgi, self.host, 0)
        self._servers.append(app_server)
        app_url = f"http://{self.host}:{app_server.server_port}/slack/events"
        self.slack = SlackRequests(app_url, secret, fake=self.fake, clock=time.time)
        if self.serve_page:
            ui = _serve(self.wsgi, self.host, self.port)
            self._servers.append(ui)
            self.port = ui.server_port
        return self.url

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        if self.runtime is not None:
            pool = self.runtime.services.listener_executor
            if pool is not None:  # let listeners finish while Slack still answers them
                pool.shutdown(wait=True)
            self.runtime.stop()
        self.fake.stop()
        app_clock.install(app_clock.SystemClock())

    def _add_member(self, person: SeedPerson) -> None:
        offset = {"Europe/Berlin": 3600, "Asia/Ho_Chi_Minh": 25200}.get(person.office.timezone)
        self.fake.add_user(
            person.user_id,
            name=person.name.lower().replace(" ", "."),
            real_name=person.name,
            tz=person.office.timezone,
            tz_offset=offset if offset is not None else -18000,
            locale=person.office.locale,
            is_admin=person.is_admin,
        )

    def _add_channels(self) -> None:
        members = [p.user_id for p in self.people]
        add_channel = getattr(self.fake, "add_channel", None)
        for channel_id, name in (COMMUNITY_CHANNEL, GENERAL_CHANNEL):
            if add_channel is not None:
                add_channel(channel_id, name, members=members, bot_is_member=True)

    # ------------------------------------------------------------------ acting as Slack's client

    def _settle(self) -> None:
        """Waits until the app has finished reacting: its listeners are idle and it has
        stopped calling the Web API for a moment."""
        deadline = time.monotonic() + SETTLE_LIMIT_SECONDS
        pool = self.runtime.services.listener_executor
        count, quiet_since = len(self.fake.calls()), time.monotonic()
        while time.monotonic() < deadline:
            if pool is not None:
                pool.wait_idle(max(0.0, deadline - time.monotonic()))
            time.sleep(0.01)
            now_count = len(self.fake.calls())
            if now_count != count:
                count, quiet_since = now_count, time.monotonic()
            elif time.monotonic() - quiet_since >= QUIET_SECONDS:
                break
        self._track_views()

    def _track_views(self) -> None:
        """Modals opened or pushed with a member's trigger join that member's modal stack."""
        with self._lock:
            calls = self.fake.calls()
            fresh, self._seen_calls = calls[self._seen_calls :], len(calls)
            for call in fresh:
                if call.method not in ("views.open", "views.push") or not call.ok:
                    continue
                owner = self._trigger_owner.get(str(call.params.get("trigger_id")))
                if owner is not None and call.response is not None:
                    self.sessions[owner].modals.append(call.response["view"]["id"])

    def _remember(self, user_id: str, response: Any) -> None:
        if response.trigger_id:
            self._trigger_owner[response.trigger_id] = user_id

    def command(self, user_id: str, text: str, channel: str) -> dict[str, Any]:
        command, _sep, rest = text.strip().partition(" ")
        if command != "/mentoring":
            return {"notice": f"{command or text} is not a command of this app: try /mentoring"}
        # Typed in the app's DM unless the page says otherwise, like Slack's message box.
        channel = channel or self.fake.dm_channel(user_id)
        response = self.slack.command(user_id, rest, channel_id=channel)
        self._remember(user_id, response)
        self._settle()
        return {"status": response.status}

    def action(self, user_id: str, request: dict[str, Any]) -> dict[str, Any]:
        action = dict(request.get("action") or {})
        action_id = str(action.pop("action_id", ""))
        block_id = str(action.pop("block_id", "") or "b")
        action_type = str(action.pop("type", "button"))
        value = action.pop("value", None)
        selected = action.pop("selected_option", None)
        surface = request.get("surface")
        kwargs: dict[str, Any] = {
            "value": value,
            "block_id": block_id,
            "action_type": action_type,
            "selected_option": selected,
            "extra": action,
        }
        if surface in ("modal", "home"):
            view = self.fake.view(str(request.get("view_id")))
            if view is None:
                return {"notice": "That view is gone."}
            kwargs.update(view=view, values=request.get("values") or {})
        else:
            channel, ts = str(request.get("channel") or ""), request.get("ts")
            message = next((m for m in self.fake.posted_messages(channel) if m["ts"] == ts), None)
            if message is None:  # a reply only this member sees
                ephemeral = self.fake.ephemeral_messages(user_id, channel)
                message = next((m for m in ephemeral if m["ts"] == ts), None)
                kwargs["container"] = {
                    "type": "message",
                    "message_ts": ts,
                    "channel_id": channel,
                    "is_ephemeral": True,
                }
            kwargs.update(message=message, channel_id=channel)
        response = self.slack.block_action(user_id, action_id, **kwargs)
        self._remember(user_id, response)
        self._settle()
        return {"status": response.status}

    def submit(self, user_id: str, view_id: str, values: dict[str, Any]) -> dict[str, Any]:
        view = self.fake.view(view_id)
        session = self.sessions[user_id]
        if view is None:
            return {"notice": "That view is gone."}
        response = self.slack.view_submission(user_id, view, values)
        self._remember(user_id, response)
        answer: dict[str, Any] = {}
        if response.body.strip():
            try:
                answer = json.loads(response.body)
            except ValueError:
                answer = {}
        kind = answer.get("response_action")
        with self._lock:
            session.errors.pop(view_id, None)
            if kind == "errors":
                session.errors[view_id] = dict(answer.get("errors") or {})
            elif kind == "update":
                self.fake.replace_view(view_id, answer.get("view") or {})
            elif kind == "push":
                pushed = self.fake.replace_view(None, answer.get("view") or {})
                session.modals.append(pushed["id"])
            elif kind == "clear":
                session.modals.clear()
            elif view_id in session.modals:
                session.modals.remove(view_id)
        self._settle()
        return {"status": response.status}

    def close(self, user_id: str, view_id: str) -> dict[str, Any]:
        view = self.fake.view(view_id)
        session = self.sessions[user_id]
        with self._lock:
            if view_id in session.modals:
                session.modals.remove(view_id)
        if view is not None and view.get("notify_on_close"):
            self.slack.view_closed(user_id, view)
            self._settle()
        return {}

    def open_home(self, user_id: str) -> None:
        self.slack.app_home_opened(user_id)
        self._settle()

    def advance(self, step: str) -> dict[str, Any]:
        delta = {"day": timedelta(days=1), "week": timedelta(weeks=1)}.get(step, timedelta(days=30))
        now = self.clock.advance(delta)
        return {"clock": now.isoformat()}

    def run_job(self, name: str) -> dict[str, Any]:
        """Runs a scheduled job now, at the simulated time, and delivers what is due."""
        from scheduler.jobs import JOBS
        from scheduler.runner import deliver_outbox, run_job

        services = self.runtime.services
        if name == "deliver_outbox":
            sent = deliver_outbox(services)
            self._settle()
            return {"notice": f"{sent} due messages delivered"}
        if name not in JOBS:
            return {"notice": f"There is no job called {name}."}
        report = run_job(services, name, self.clock.now())
        if report is None:
            return {"notice": f"{name} already ran for this period."}
        services.delivery.deliver_now(report.keys)
        deliver_outbox(services)
        self._settle()
        return {"notice": f"{name}: {report.queued} queued; " + "; ".join(report.notes)}

    # ------------------------------------------------------------------ scripted members (demo)

    def top_modal(self, user_id: str) -> dict[str, Any] | None:
        """The modal the member sees on top, or None."""
        session = self.sessions[user_id]
        return self.fake.view(session.modals[-1]) if session.modals else None

    def answer_modal(self, user_id: str, answers: dict[str, Any]) -> dict[str, Any]:
        """Submits the top modal with `answers` by block id (initial values for the rest)."""
        view = self.top_modal(user_id)
        if view is None:
            return {"notice": "no modal open"}
        return self.submit(user_id, view["id"], fill(view, answers))

    def visible_messages(self, user_id: str) -> list[dict[str, Any]]:
        """Every message the member can see (DM, group DMs, channels, replies only to them)."""
        found = []
        for conversation in self._conversations(user_id):
            found.extend(conversation["messages"])
            found.extend({**m, "ephemeral": True} for m in conversation["ephemeral"])
        return found

    def click(self, user_id: str, action_id: str, value: str | None = None) -> dict[str, Any]:
        """Clicks the newest button `action_id` (with `value`, if given) the member can see."""
        for message in reversed(self.visible_messages(user_id)):
            for block in message.get("blocks") or []:
                for element in block.get("elements") or [block.get("accessory") or {}]:
                    if element.get("action_id") != action_id:
                        continue
                    if value is not None and element.get("value") != value:
                        continue
                    return self.action(
                        user_id,
                        {
                            "surface": "message",
                            "channel": message["channel"],
                            "ts": message["ts"],
                            "action": {
                                "action_id": action_id,
                                "block_id": block.get("block_id") or "b",
                                "type": element.get("type", "button"),
                                "value": element.get("value"),
                            },
                        },
                    )
        return {"notice": f"no {action_id} button in sight"}

    # ------------------------------------------------------------------ what a member sees

    def _names(self) -> RenderContext:
        users = {p.user_id: p.name for p in self.people}
        channels = {
            COMMUNITY_CHANNEL[0]: COMMUNITY_CHANNEL[1],
            GENERAL_CHANNEL[0]: GENERAL_CHANNEL[1],
        }
        return RenderContext(users=users, channels=channels)

    def _conversations(self, user_id: str) -> list[dict[str, Any]]:
        ctx = self._names()
        messages = sorted(self.fake.posted_messages(), key=lambda m: float(m["ts"]))
        by_channel: dict[str, list[dict[str, Any]]] = {}
        for message in messages:
            by_channel.setdefault(message["channel"], []).append(message)
        dm = self.fake.dm_channel(user_id)
        result = [
            {
                "id": dm,
                "name": "Reverse Mentoring",
                "kind": "dm",
                "messages": by_channel.get(dm, []),
            }
        ]
        for channel, items in by_channel.items():
            if channel.startswith("G") and user_id in self.fake.conversation_members(channel):
                others = [ctx.user_name(u) for u in self.fake.conversation_members(channel)]
                result.append(
                    {"id": channel, "name": ", ".join(others), "kind": "group", "messages": items}
                )
        for channel_id, name in (COMMUNITY_CHANNEL, GENERAL_CHANNEL):
            result.append(
                {
                    "id": channel_id,
                    "name": "#" + name,
                    "kind": "channel",
                    "messages": by_channel.get(channel_id, []),
                }
            )
        for conversation in result:
            conversation["ephemeral"] = self.fake.ephemeral_messages(user_id, conversation["id"])
        return result

    def state(self, user_id: str) -> dict[str, Any]:
        self._track_views()  # a slow listener may open its modal after the click has settled
        ctx = self._names()
        session = self.sessions.get(user_id)
        if session is None:
            return {"error": "unknown member"}
        conversations = []
        for conversation in self._conversations(user_id):
            rendered = [
                {
                    "ts": m["ts"],
                    "channel": conversation["id"],
                    "html": message_html(m, ctx),
                }
                for m in conversation["messages"]
            ]
            rendered += [
                {
                    "ts": r["ts"],
                    "channel": conversation["id"],
                    "html": message_html(r, ctx),
                    "ephemeral": True,
                }
                for r in conversation["ephemeral"]
            ]
            rendered.sort(key=lambda item: float(item["ts"] or 0))
            conversations.append(
                {
                    "id": conversation["id"],
                    "name": conversation["name"],
                    "kind": conversation["kind"],
                    "messages": rendered,
                }
            )
        home = self.fake.home_of(user_id)
        modal_html = None
        modal_id = session.modals[-1] if session.modals else None
        if modal_id is not None:
            view = self.fake.view(modal_id)
            if view is not None:
                errors = RenderContext(
                    users=ctx.users, channels=ctx.channels, errors=session.errors.get(modal_id, {})
                )
                modal_html = view_html(view, errors)
        files = [
            {"id": f["id"], "name": f["name"], "title": f["title"], "channel": f["channel"]}
            for f in self.fake.uploaded_files()
        ]
        return {
            "user": user_id,
            "clock": self.clock.now().isoformat(),
            "conversations": conversations,
            "home": {"id": home["id"], "html": view_html(home, ctx)} if home else None,
            "modal": {"id": modal_id, "html": modal_html} if modal_html else None,
            "files": [f for f in files if f["channel"] in {c["id"] for c in conversations}],
        }

    def members(self) -> list[dict[str, Any]]:
        return [
            {
                "id": p.user_id,
                "name": p.name,
                "city": p.office.city,
                "locale": p.office.locale,
                "department": p.department,
                "admin": p.is_admin,
            }
            for p in self.people
        ]

    def file_bytes(self, file_id: str) -> tuple[str, bytes] | None:
        for item in self.fake.uploaded_files():
            if item["id"] == file_id:
                return str(item["name"]), bytes(item["bytes"])
        return None

    # ------------------------------------------------------------------ the page's HTTP API

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        try:
            status, headers, body = self._route(method, path, environ)
        except KeyError as error:
            status, headers, body = _json(400, {"error": f"missing {error}"})
        start_response(status, headers)
        return [body]

    def _route(self, method: str, path: str, environ: dict[str, Any]) -> tuple[str, list, bytes]:
        if method == "GET" and path in ("/", "/index.html"):
            page = resources.files("bot.sandbox").joinpath("static/index.html").read_bytes()
            return "200 OK", [("Content-Type", "text/html; charset=utf-8")], page
        if method == "GET" and path == "/api/members":
            return _json(200, {"members": self.members()})
        if method == "GET" and path == "/api/state":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            return _json(200, self.state(query["user"][0]))
        if method == "GET" and path.startswith("/files/"):
            found = self.file_bytes(path.removeprefix("/files/"))
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
        if user not in self.sessions:
            return _json(400, {"error": "pick a member first"})
        handlers = {
            "/api/command": lambda: self.command(
                user, str(request["text"]), str(request.get("channel") or "")
            ),
            "/api/action": lambda: self.action(user, request),
            "/api/submit": lambda: self.submit(
                user, str(request["view_id"]), request.get("values") or {}
            ),
            "/api/close": lambda: self.close(user, str(request["view_id"])),
            "/api/home": lambda: self.open_home(user) or {},
            "/api/clock": lambda: self.advance(str(request.get("step") or "week")),
            "/api/job": lambda: self.run_job(str(request["name"])),
        }
        handler = handlers.get(path)
        if handler is None:
            return _json(404, {"error": "not found"})
        result = handler() or {}
        return _json(200, {**result, "state": self.state(user)})


def _json(status: int, data: dict[str, Any]) -> tuple[str, list, bytes]:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "OK")
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return f"{status} {reason}", [("Content-Type", "application/json; charset=utf-8")], body
