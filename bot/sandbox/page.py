"""What each member sees on the sandbox page: what Slack's client remembers for them (modal
stack, inline errors) and the page's state as JSON (their conversations, App Home, top modal and
files, rendered to HTML), read from the simulated workspace."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import zone
from bot.domain.working_hours import next_good_time
from bot.sandbox.render import RenderContext, message_html, view_html
from bot.sandbox.workspace import (
    COMMUNITY_CHANNEL,
    EXAMPLE_CHANNELS,
    GENERAL_CHANNEL,
    SeedPerson,
)
from bot.simulated_slack import FakeSlack


@dataclass
class MemberSession:
    """What Slack's client remembers for one member: open modals and inline errors."""

    modals: list[str] = field(default_factory=list)  # view ids, top last
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # view id -> block errors
    ephemeral: list[dict[str, Any]] = field(default_factory=list)  # replies only they see


def render_context(people: Sequence[SeedPerson]) -> RenderContext:
    """The workspace's names, for rendering mentions of people and channels."""
    users = {p.user_id: p.name for p in people}
    channels = {
        COMMUNITY_CHANNEL[0]: COMMUNITY_CHANNEL[1],
        GENERAL_CHANNEL[0]: GENERAL_CHANNEL[1],
        **dict(EXAMPLE_CHANNELS),  # the example's programme channels (`sandbox --example`)
    }
    return RenderContext(users=users, channels=channels)


def conversations(
    fake: FakeSlack, people: Sequence[SeedPerson], user_id: str
) -> list[dict[str, Any]]:
    """The member's conversations (the app's DM, their group DMs, the channels) with the raw
    messages posted there and the replies only they see."""
    ctx = render_context(people)
    messages = sorted(fake.posted_messages(), key=lambda m: float(m["ts"]))
    by_channel: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        by_channel.setdefault(message["channel"], []).append(message)
    dm = fake.dm_channel(user_id)
    result = [
        {
            "id": dm,
            "name": "Reverse Mentoring",
            "kind": "dm",
            "messages": by_channel.get(dm, []),
        }
    ]
    for channel, items in by_channel.items():
        if channel.startswith("G") and user_id in fake.conversation_members(channel):
            others = [ctx.user_name(u) for u in fake.conversation_members(channel)]
            result.append(
                {"id": channel, "name": ", ".join(others), "kind": "group", "messages": items}
            )
    for channel_id, name in ctx.channels.items():
        if fake.channel(channel_id) is None or user_id not in fake.conversation_members(channel_id):
            continue  # a channel not in this workspace, or one the member is not in
        result.append(
            {
                "id": channel_id,
                "name": "#" + name,
                "kind": "channel",
                "messages": by_channel.get(channel_id, []),
            }
        )
    for conversation in result:
        conversation["ephemeral"] = fake.ephemeral_messages(user_id, conversation["id"])
    return result


def member_state(
    fake: FakeSlack,
    people: Sequence[SeedPerson],
    user_id: str,
    session: MemberSession,
    now: datetime,
) -> dict[str, Any]:
    """The page's state for one member: what they see, rendered, and the simulated time."""
    ctx = render_context(people)
    shown = []
    for conversation in conversations(fake, people, user_id):
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
        shown.append(
            {
                "id": conversation["id"],
                "name": conversation["name"],
                "kind": conversation["kind"],
                "messages": rendered,
            }
        )
    home = fake.home_of(user_id)
    modal_html = None
    modal_id = session.modals[-1] if session.modals else None
    if modal_id is not None:
        view = fake.view(modal_id)
        if view is not None:
            errors = RenderContext(
                users=ctx.users, channels=ctx.channels, errors=session.errors.get(modal_id, {})
            )
            modal_html = view_html(view, errors)
    files = [
        {"id": f["id"], "name": f["name"], "title": f["title"], "channel": f["channel"]}
        for f in fake.uploaded_files()
    ]
    return {
        "user": user_id,
        "clock": now.isoformat(),
        "conversations": shown,
        "home": {"id": home["id"], "html": view_html(home, ctx)} if home else None,
        "modal": {"id": modal_id, "html": modal_html} if modal_html else None,
        "files": [f for f in files if f["channel"] in {c["id"] for c in shown}],
    }


def member_times(
    people: Sequence[SeedPerson],
    timezone_of: Callable[[str], str | None],
    now: datetime,
    hours: tuple[int, int],
) -> list[dict[str, Any]]:
    """Each member's local time (`Mon 09:00`) and whether it is inside their working day."""
    times = []
    for person in people:
        timezone = timezone_of(person.user_id)
        local = now.astimezone(zone(timezone))
        times.append(
            {
                "id": person.user_id,
                "local_time": f"{local:%a %H:%M}",
                "working": next_good_time(now, timezone, hours) <= now,
            }
        )
    return times


def member_list(people: Sequence[SeedPerson]) -> list[dict[str, Any]]:
    """The members the page offers to act as (and to mention after `@`)."""
    return [
        {
            "id": p.user_id,
            "name": p.name,
            "handle": p.handle,
            "city": p.office.city,
            "locale": p.office.locale,
            "department": p.department,
            "admin": p.is_admin,
        }
        for p in people
    ]


def file_bytes(fake: FakeSlack, file_id: str) -> tuple[str, bytes] | None:
    """The name and content of a file the app uploaded, or None."""
    for item in fake.uploaded_files():
        if item["id"] == file_id:
            return str(item["name"]), bytes(item["bytes"])
    return None
