"""The sandbox's driver: the real app, the simulated Slack, the manual clock and the jobs, and
Slack's client acting for each member.

`Driver.start_app` starts the simulated Slack Web API (`bot.simulated_slack.FakeSlack`), where
the app's calls go, and the real app (`bot.server.Runtime`: Bolt app, listeners, scheduler,
storage) behind its WSGI front on a loopback port, reached only by requests signed exactly as
Slack signs them. Its methods play Slack's client: a command, a click or a submission becomes
the signed payload Slack would send, then the driver waits for the app to settle and keeps each
member's modal stack. The demo scripts members through it without any page.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as wall_time
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bot import clock as app_clock
from bot.delivery import outbox
from bot.domain.working_hours import next_good_time, working_hours
from bot.sandbox import DEFAULT_DATABASE_URL
from bot.sandbox import example as example_workspace
from bot.sandbox.composer import Mentionable, with_mentions
from bot.sandbox.deliveries import Addressee, local_time, outbox_report
from bot.sandbox.forms import fill
from bot.sandbox.page import MemberSession, conversations, render_context
from bot.sandbox.render import RenderContext
from bot.sandbox.workspace import (
    ADMIN_ID,
    COMMUNITY_CHANNEL,
    EXAMPLE_CHANNELS,
    GENERAL_CHANNEL,
    SeedPerson,
    channel_members,
    seed_people,
)
from bot.settings import parse_settings
from bot.simulated_slack import FakeSlack, SlackRequests
from storage import repositories as repo

BOT_TOKEN = "xoxb-sandbox"
# Simulated people only, and a sandbox database that outlives a restart: a fixed, public secret
# (a real deployment sets its own PULSE_SECRET; `serve` refuses to start without one).
SANDBOX_PULSE_SECRET = "sandbox-only-pulse-secret-not-for-real-people"
QUIET_SECONDS = 0.015  # and no new Web API call for this long after the listeners are idle
SETTLE_LIMIT_SECONDS = 10.0
CLOCK_STEPS = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(weeks=1),
    "month": timedelta(days=30),
}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve(app: Any, host: str, port: int) -> WSGIServer:
    """Serves a WSGI app on a daemon thread (port 0: any free port)."""
    server = make_server(
        host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True, name=f"wsgi:{port}").start()
    return server


class Driver:
    def __init__(
        self,
        *,
        people: int = 12,
        seed: int = 1,
        database_url: str = DEFAULT_DATABASE_URL,
        host: str = "127.0.0.1",
        start_at: datetime | None = None,
        with_scheduler: bool = True,
        example: bool = False,
        cast: list[SeedPerson] | None = None,
        channels: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """`cast`: the workspace's people, instead of `people` seeded ones (the demo's);
        `channels`: (id, name) of channels besides the community's and #general."""
        self.host = host
        self.database_url = database_url
        # --example: the example's people (also on a restart of a database it was seeded in).
        self.example = example
        if example:
            cast = example_workspace.example_people()
        self.people = cast if cast is not None else seed_people(people, seed)
        self.channels = (COMMUNITY_CHANNEL, GENERAL_CHANNEL) + (
            EXAMPLE_CHANNELS if example else channels
        )
        self.sessions: dict[str, MemberSession] = {p.user_id: MemberSession() for p in self.people}
        self._lock = threading.RLock()
        self._seen_calls = 0
        self._trigger_owner: dict[str, str] = {}
        self.fake = FakeSlack(bot_token=BOT_TOKEN)
        self.clock = app_clock.ManualClock(start_at or app_clock.SystemClock().now())
        self.with_scheduler = with_scheduler
        self._servers: list[WSGIServer] = []
        self.runtime: Any = None

    # ------------------------------------------------------------------ lifecycle

    def start_app(self) -> None:
        """Starts the simulated Slack with the seeded members and channels, then the app."""
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
                "PULSE_SECRET": SANDBOX_PULSE_SECRET,
            }
        )
        database = Database(settings.database_url)
        database.migrate()
        seeding = self.example and not example_workspace.holds_example(database)
        database.dispose()
        self.runtime = Runtime(settings, clock=self.clock, with_scheduler=self.with_scheduler)
        self.runtime.start()
        app_server = serve(self.runtime.wsgi, self.host, 0)
        self._servers.append(app_server)
        app_url = f"http://{self.host}:{app_server.server_port}/slack/events"
        self.slack = SlackRequests(app_url, secret, fake=self.fake, clock=time.time)
        if seeding:
            example_workspace.seed_example(self)

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
            name=person.handle,
            real_name=person.name,
            tz=person.office.timezone,
            tz_offset=offset if offset is not None else -18000,
            locale=person.office.locale,
            is_admin=person.is_admin,
        )

    def _add_channels(self) -> None:
        add_channel = getattr(self.fake, "add_channel", None)
        for channel_id, name in self.channels:
            if add_channel is not None:
                members = channel_members(channel_id, self.people)
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
        # Typed in the app's DM unless the page says otherwise, like Slack's message box,
        # which also turns `@Owen Kim` into a mention before the command leaves.
        channel = channel or self.fake.dm_channel(user_id)
        rest = with_mentions(rest, self.mentionables())
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
        if not view.get("submit"):
            # Slack's client shows no submit button on such a modal: only Close.
            return {"notice": "This modal has no submit button; close it."}
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

    def is_admin(self, user_id: str) -> bool:
        """The app's own rule (ADMIN_USER_IDS, workspace admins and owners)."""
        return bool(self.runtime.services.is_admin(user_id))

    def mentionables(self) -> list[Mentionable]:
        return [Mentionable(p.user_id, p.name, p.handle) for p in self.people]

    def timezone_of(self, user_id: str) -> str | None:
        """The member's zone as the simulated Slack knows it (users.info's `tz`)."""
        user = self.fake.user(user_id) or {}
        return str(user["tz"]) if user.get("tz") else None

    def programme_hours(self) -> tuple[tuple[int, int], bool]:
        """The programme's working hours and whether its messages are held (kill switch)."""
        with self.runtime.services.db.session() as session:
            live = repo.live_programs(session)
            program = live[-1] if live else None  # the newest live programme's hours
            return working_hours(program), bool(program and program.messages_held)

    def next_working_morning(self, user_id: str) -> datetime:
        """When the member's next working day starts, where they are (later than now)."""
        now = self.clock.now()
        timezone = self.timezone_of(user_id)
        hours, _held = self.programme_hours()
        opening = next_good_time(now, timezone, hours)
        if opening <= now:  # inside their working day: the next one's morning
            local_day = now.astimezone(app_clock.zone(timezone)).date() + timedelta(days=1)
            midnight = datetime.combine(local_day, wall_time(0), tzinfo=app_clock.zone(timezone))
            opening = next_good_time(midnight, timezone, hours)
        return opening.astimezone(UTC)

    def addressee(self, recipient: str) -> Addressee:
        """Who an outbox recipient is (a member, a group DM's members, a channel)."""
        people = {p.user_id: p for p in self.people}
        ids = recipient.split(",")
        if len(ids) == 1 and ids[0] in people:
            person = people[ids[0]]
            return Addressee(person.name, self.timezone_of(person.user_id), person.office.city)
        if all(i in people for i in ids):
            return Addressee(", ".join(people[i].name for i in ids), None, None)
        channel = self._names().channels.get(recipient)
        return Addressee("#" + channel if channel else recipient, None, None)

    def _waiting_keys(self) -> list[str]:
        with self.runtime.services.db.session() as session:
            return [row.dedupe_key for row in outbox.pending_messages(session)]

    def _report(self, title: str, keys: list[str], **details: Any) -> dict[str, Any]:
        _hours, held = self.programme_hours()
        with self.runtime.services.db.session() as session:
            rows = outbox.messages_with_keys(session, keys)
            return outbox_report(
                title, rows, now=self.clock.now(), addressee=self.addressee, held=held, **details
            )

    def advance(self, step: str, member: str | None = None) -> dict[str, Any]:
        """Moves the app's clock (an hour, a day, a week, a month, or to the next working
        morning of `member`), then delivers what has become due, as the scheduler would."""
        from scheduler.runner import deliver_outbox

        if step == "morning":
            if member not in self.sessions:
                return {"error": "Pick whose working morning to jump to."}
            target = self.next_working_morning(str(member))
            person = next(p for p in self.people if p.user_id == member)
            where = local_time(target, self.timezone_of(person.user_id))
            moved = f"to {person.name}'s next working morning ({where} in {person.office.city})"
        elif step in CLOCK_STEPS:
            target = self.clock.now() + CLOCK_STEPS[step]
            moved = f"by one {step}"
        else:
            return {"error": f"The clock moves by an hour, a day, a week or a month, not {step!r}."}
        waiting = self._waiting_keys()
        self.clock.set(target)
        deliver_outbox(self.runtime.services)
        self._settle()
        title = f"Clock moved {moved}: now {local_time(target, None)} UTC"
        report = self._report(title, waiting, empty="Nothing was waiting to be sent.")
        return {"clock": target.isoformat(), "report": report}

    def run_job(self, name: str) -> dict[str, Any]:
        """Runs a scheduled job now, at the simulated time, and delivers what is due; the
        report says what it queued, for whom, and when each message arrives."""
        from scheduler.jobs import JOBS
        from scheduler.runner import deliver_outbox, run_for_live_programmes

        services = self.runtime.services
        now = self.clock.now()
        if name == "deliver_outbox":
            waiting = self._waiting_keys()
            deliver_outbox(services)
            self._settle()
            title = f"Delivered what is due at {local_time(now, None)} UTC"
            return {"report": self._report(title, waiting, empty="Nothing was waiting.")}
        if name not in JOBS:
            return {"notice": f"There is no job called {name}."}
        ran = run_for_live_programmes(services, name, now)
        reports = [r for _program, r in ran if r]
        if ran and not reports:
            return {"notice": f"{name} already ran for this period."}
        keys = [key for report in reports for key in report.keys]
        services.delivery.deliver_now(keys)
        deliver_outbox(services)
        self._settle()
        title = f"Job {name} ran at {local_time(now, None)} UTC"
        if not ran:
            title += " (no programme is live: nothing to do)"
        skipped = sum(report.skipped for report in reports)
        notes = [note for report in reports for note in report.notes]
        summary = self._report(title, keys, skipped=skipped, notes=notes)
        return {"report": summary}

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
        for conversation in conversations(self.fake, self.people, user_id):
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

    def _names(self) -> RenderContext:
        return render_context(self.people)
