"""`/mentoring <subcommand>`: routing, admin checks on the server, friendly fallbacks."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.services import Services
from bot.slack_api import PooledRespond
from bot.views import common
from handlers import enrollment, journey, matching, program, recognition, report
from handlers.context import CommandContext, Route, services_of
from handlers.guard import listener

log = logging.getLogger(__name__)
ADMIN_ONLY = frozenset({"match", "report", "shoutout", "program", "hold"})
# Named in the help of later releases; answered politely until they arrive.
NOT_YET_AVAILABLE: frozenset[str] = frozenset()


def show_help(ctx: CommandContext) -> None:
    ctx.reply(common.help_message(ctx._, is_admin=ctx.services.is_admin(ctx.user_id)))


ROUTES: dict[str, Route] = {
    "help": show_help,
    "join": enrollment.join_command,
    "profile": enrollment.join_command,
    "leave": enrollment.leave_command,
    "mydata": enrollment.mydata_command,
    "program": program.program_command,
    "match": matching.match_command,
    "rematch": matching.rematch_command,
    "report": report.report_command,
    "goals": journey.goals_command,
    "status": journey.status_command,
    "pause": journey.pause_command,
    "hold": journey.hold_command,
    "shoutout": recognition.shoutout_command,
    "thanks": recognition.thanks_command,
    "story": recognition.story_command,
}


@listener  # any failure is answered through the response_url (handlers.guard)
def on_mentoring_command(
    ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext
) -> None:
    # Acknowledge first, before any lookup: a slow Web API must never cost the 3 s window.
    ack()
    services = services_of(context)
    user_id = str(command.get("user_id") or "")
    text = str(command.get("text") or "").strip()
    name, _sep, args = text.partition(" ")
    name = name.lower() or "help"
    _ = services.translator_for(user_id)
    if respond is not None and client.proxy is None:  # Bolt's own speaks to proxies
        respond = PooledRespond(response_url=respond.response_url, client=services.response_urls)
    ctx = CommandContext(
        services=services,
        user_id=user_id,
        args=args.strip(),
        trigger_id=str(command.get("trigger_id") or ""),
        channel_id=str(command.get("channel_id") or ""),
        respond=respond,
        client=client,
        _=_,
    )
    if name in ADMIN_ONLY and not services.is_admin(user_id):
        log.info("admin command refused", extra={"user": user_id, "subcommand": name})
        ctx.reply(common.admins_only(_))
        return
    route = ROUTES.get(name)
    if route is None:
        unknown = name not in NOT_YET_AVAILABLE
        ctx.reply(common.unknown_command(_, name) if unknown else common.coming_soon(_))
        return
    route(ctx)


def register(app: App, services: Services) -> None:
    app.command("/mentoring")(on_mentoring_command)
