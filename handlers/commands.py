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
    """A slash command, already acknowledged: replies go out through its response_url."""

    services: Services
    user_id: str
    args: str
    trigger_id: str
    channel_id: str
    respond: Respond
    client: WebClient
    _: Translator

    def reply(self, message: dict[str, Any]) -> None:
        """An ephemeral answer only the person who typed the command sees."""
        try:
            self.respond(**message, response_type="ephemeral", replace_original=False)
        except Exception:  # noqa: BLE001 - a lost reply is logged, never raised to Bolt
            log.exception("reply through response_url failed")


Route = Callable[[CommandContext], None]


class Routes:
    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}

    def add(self, name: str, route: Route) -> None:
        self._routes[name] = route

    def get(self, name: str) -> Route | None:
        return self._routes.get(name)


def register(app: App, services: Services, routes: Routes) -> None:
    def show_help(ctx: CommandContext) -> None:
        ctx.reply(common.help_message(ctx._, is_admin=ctx.services.is_admin(ctx.user_id)))

    routes.add("help", show_help)

    @app.command("/mentoring")
    def mentoring(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        # Acknowledge first, before any lookup: a slow Web API must never cost the 3 s window.
        ack()
        user_id = str(command.get("user_id") or "")
        text = str(command.get("text") or "").strip()
        name, _sep, args = text.partition(" ")
        name = name.lower() or "help"
        _ = services.translator_for(user_id)
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
        route = routes.get(name)
        if route is None:
            unknown = name not in NOT_YET_AVAILABLE
            ctx.reply(common.unknown_command(_, name) if unknown else common.coming_soon(_))
            return
        route(ctx)
