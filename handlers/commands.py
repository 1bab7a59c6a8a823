"""`/mentoring <subcommand>`: routing, admin checks on the server, friendly fallbacks."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.services import Services
from bot.views import common
from handlers import enrollment, journey, matching, payloads, program, recognition, report
from handlers.authorize import command_refusal
from handlers.context import CommandContext, Route, services_of
from handlers.guard import listener

log = logging.getLogger(__name__)


ROUTES: dict[str, Route] = {
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


def text_answer(services: Services, user_id: str, name: str) -> dict[str, Any] | None:
    """The answer to a subcommand that needs nothing but the person's language and role
    (help, an unknown name, an admin-only one typed by someone else); None for the others."""
    refused = command_refusal(services, user_id, name)
    if refused is not None:
        return refused
    _ = services.translator_for(user_id)
    if name == "help":
        return common.help_message(_, is_admin=services.is_admin(user_id))
    if name not in ROUTES:
        return common.unknown_command(_, name)
    return None


def subcommand(text: str) -> tuple[str, str]:
    """(name, arguments) of `/mentoring name arguments`; no name means help."""
    name, _sep, args = text.strip().partition(" ")
    return name.lower() or "help", args.strip()


def immediate_answer(services: Services, command: dict[str, Any]) -> dict[str, Any] | None:
    """A text answer that can be the acknowledgement itself, as Slack suggests for immediate
    replies (no response_url round trip): only when the person's language and role are
    already known, so no Web API call can delay the ack. None otherwise."""
    user_id = str(command.get("user_id") or "")
    if command.get("command") != "/mentoring" or not services.people.is_known(user_id):
        return None
    return text_answer(services, user_id, subcommand(str(command.get("text") or ""))[0])


@listener  # any failure is answered through the response_url (handlers.guard)
def on_mentoring_command(
    ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext
) -> None:
    # Acknowledge first, before any lookup: a slow Web API must never cost the 3 s window.
    # (Usually done already: handlers.events.AcknowledgeEarly.)
    ack()
    services = services_of(context)
    typed = payloads.command_of(context, command)
    user_id = typed.user_id
    name, args = subcommand(typed.text)
    _ = services.translator_for(user_id)
    ctx = CommandContext(
        services=services,
        user_id=user_id,
        args=args,
        trigger_id=typed.trigger_id,
        channel_id=typed.channel_id,
        respond=respond,
        client=client,
        _=_,
    )
    answer = text_answer(services, user_id, name)
    if answer is not None:
        ctx.reply(answer)
        return
    ROUTES[name](ctx)


def register(app: App, services: Services) -> None:
    app.command("/mentoring")(on_mentoring_command)
