"""`/mentoring <subcommand>`: routing to the programme it is about, rights checked on the
server, friendly fallbacks.

Several programmes run at once. A subcommand about someone's own participation (status, goals,
pause, …) acts on the programme they are in; one an owner runs (program, match, report, …) on
the programme they own; `join` on the programme they may join. Only when that is ambiguous is
the person asked which one (a button per programme, which runs the same subcommand for it).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.domain import programs
from bot.services import Services
from bot.views import common, comparison, kit
from bot.views import programmes as views
from handlers import (
    audit,
    campaigns,
    directory,
    enrollment,
    journey,
    matching,
    payloads,
    program,
    recognition,
    report,
    roster,
)
from handlers.authorize import command_refusal
from handlers.context import CommandContext, Route, services_of
from handlers.guard import listener
from storage.models import LIVE_STATUSES, Program, ProgramStatus

log = logging.getLogger(__name__)


# What a subcommand is about, hence how its programme is found.
MEMBER = "member"  # a programme the person takes part in
JOIN = "join"  # one they may join, or the one they are in (to edit their profile)
OWNER = "owner"  # one they run
NONE = "none"  # no programme in particular

SCOPES: dict[str, str] = {
    "join": JOIN,
    "profile": MEMBER,
    "leave": MEMBER,
    "mydata": NONE,
    "program": OWNER,
    "match": OWNER,
    "rematch": MEMBER,
    "report": OWNER,
    "goals": MEMBER,
    "status": MEMBER,
    "pause": MEMBER,
    "hold": OWNER,
    "shoutout": OWNER,
    "thanks": MEMBER,
    "story": MEMBER,
    "audit": NONE,
    "roster": NONE,
    "campaign": OWNER,
}

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
    "audit": audit.audit_command,
    "roster": roster.roster_command,
    "campaign": campaigns.campaign_command,
}

# `/mentoring <name> <argument>` whose argument picks the route (before SCOPES and ROUTES):
# workspace-wide admin forms about no programme in particular.
ARGUMENT_ROUTES: dict[tuple[str, str], Route] = {
    ("roster", "fields"): directory.roster_fields_command,
}


def argument_route(name: str, args: str) -> Route | None:
    return ARGUMENT_ROUTES.get((name, args.strip().lower()))


def text_answer(services: Services, user_id: str, name: str) -> dict[str, Any] | None:
    """The answer to a subcommand that needs nothing but the person's language and role
    (help, an unknown name, an admin-only one typed by someone else); None for the others."""
    refused = command_refusal(services, user_id, name)
    if refused is not None:
        return refused
    _ = services.translator_for(user_id)
    if name == "help":
        return common.help_message(
            _, is_admin=services.is_admin(user_id), is_super_admin=services.is_super_admin(user_id)
        )
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
    name, args = subcommand(str(command.get("text") or ""))
    if argument_route(name, args) is not None:
        return None
    return text_answer(services, user_id, name)


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
    by_argument = argument_route(name, args)
    if by_argument is not None:
        refused = command_refusal(services, user_id, name)
        if refused is not None:
            ctx.reply(refused)
            return
        by_argument(ctx)
        return
    answer = text_answer(services, user_id, name)
    if answer is not None:
        ctx.reply(answer)
        return
    route(ctx, name)


def route(ctx: CommandContext, name: str, chosen: int | None = None) -> None:
    """Finds the programme the subcommand is about (or asks which one), then runs it.

    `chosen`: the programme the person picked from the question; checked again here, since a
    button's value is the client's word."""
    services = ctx.services
    scope = SCOPES[name]
    if name == "report" and ctx.args.strip().lower() == comparison.ALL:
        report.all_programmes_command(ctx)  # every programme side by side (super-admins)
        return
    with services.db.session() as session:
        candidates = _candidates(services, session, ctx.user_id, name, scope)
    if chosen is not None:
        candidates = [p for p in candidates if p.id == chosen]
        if not candidates:
            ctx.reply(kit.message(ctx._("That programme is no longer open to you here.")))
            return
    new_programme = name == "program" and (not candidates or ctx.args.strip().lower() == "new")
    if scope == NONE or (scope == OWNER and new_programme):
        ROUTES[name](ctx)  # mydata; or a super-admin's new programme
        return
    if not candidates:
        ctx.reply(_nothing_for(services, ctx, scope))
        return
    if len(candidates) > 1:
        everything = name == "report" and services.is_super_admin(ctx.user_id)
        ctx.reply(views.which_programme(candidates, name, ctx.args, ctx._, everything=everything))
        return
    ctx.program_id = candidates[0].id
    ROUTES[name](ctx)


def _candidates(
    services: Services, session: Session, user_id: str, name: str, scope: str
) -> list[Program]:
    if scope == MEMBER:
        return [program for program, _person in programs.enrollments_of(session, user_id)]
    if scope == JOIN:
        enrolled = [program for program, _person in programs.enrollments_of(session, user_id)]
        return [*enrolled, *programs.joinable(session, user_id)]
    if scope == OWNER:
        mine = programs.owned(session, user_id, super_admin=services.is_super_admin(user_id))
        if name == "program":
            return [p for p in mine if p.status != ProgramStatus.ENDED]
        if name == "report":
            return mine
        return [p for p in mine if p.status in LIVE_STATUSES]
    return []


def _nothing_for(services: Services, ctx: CommandContext, scope: str) -> dict[str, Any]:
    if scope == MEMBER:
        return common.not_enrolled(ctx._)
    if scope == OWNER:
        if services.is_admin(ctx.user_id):
            return kit.message(ctx._("None of your programmes is running just now."))
        return common.admins_only(ctx._)
    return common.no_program(ctx._, is_admin=services.is_admin(ctx.user_id))


@listener
def on_programme_chosen(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """A button of "which programme?": the same subcommand, for the programme picked."""
    ack()
    services = services_of(context)
    click = payloads.click_of(context, body)
    choice = views.programme_choice(click.actions[0].value)
    if choice is None or choice.command not in ROUTES:
        return
    user_id = click.user.id
    ctx = CommandContext(
        services=services,
        user_id=user_id,
        args=choice.args,
        trigger_id=click.trigger_id,
        channel_id=click.channel.id if click.channel and click.channel.id else "",
        respond=respond,
        client=client,
        _=services.translator_for(user_id),
    )
    route(ctx, choice.command, chosen=choice.program_id)


def register(app: App, services: Services) -> None:
    app.command("/mentoring")(on_mentoring_command)
    app.action(views.CHOOSE_PROGRAMME_ACTION)(on_programme_chosen)
