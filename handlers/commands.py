"""`/mentoring <subcommand>`: routing, admin checks on the server, friendly fallbacks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.app import Services
from bot.i18n import Translator
from bot.views import common

log = logging.getLogger(__name__)
ADMIN_ONLY = frozenset({"match", "report", "shoutout", "program"})
# Named in the help of later releases; answered politely until they arrive.
NOT_YET_AVAILABLE = frozenset({"goals", "status", "report", "shoutout"})


@dataclass
class CommandContext:
    services: Services
    user_id: str
    args: str
    trigger_id: str
    channel_id: str
    ack: Ack
    respond: Respond
    client: WebClient
    _: Translator


Route = Callable[[CommandContext], None]


class Routes:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}

    def add(self, name: str, route: Route) -> None:
        self._routes[name] = route

    def get(self, name: str) -> Route | None:
        return self._routes.get(name)


def _ephemeral(ack: Ack) -> Ack:
    """Replies to a slash command are only for the person who typed it."""

    def ephemeral_ack(**message: Any) -> Any:
        if message:
            message.setdefault("response_type", "ephemeral")
        return ack(**message)

    return ephemeral_ack  # type: ignore[return-value]


def register(app: App, services: Services, routes: Routes) -> None:
    def show_help(ctx: CommandContext) -> None:
        ctx.ack(**common.help_message(ctx._, is_admin=ctx.services.is_admin(ctx.user_id)))

    routes.add("help", show_help)

    @app.command("/mentoring")
    def mentoring(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack = _ephemeral(ack)
        user_id = str(command.get("user_id") or "")
        text = str(command.get("text") or "").strip()
        name, _sep, args = text.partition(" ")
        name = name.lower() or "help"
        _ = services.translator_for(user_id)
        if name in ADMIN_ONLY and not services.is_admin(user_id):
            log.info("admin command refused", extra={"user": user_id, "subcommand": name})
            ack(**common.admins_only(_))
            return
        route = routes.get(name)
        if route is None:
            ack(
                **(
                    common.coming_soon(_)
                    if name in NOT_YET_AVAILABLE
                    else common.unknown_command(_, name)
                )
            )
            return
        route(
            CommandContext(
                services=services,
                user_id=user_id,
                args=args.strip(),
                trigger_id=str(command.get("trigger_id") or ""),
                channel_id=str(command.get("channel_id") or ""),
                ack=ack,
                respond=respond,
                client=client,
                _=_,
            )
        )
