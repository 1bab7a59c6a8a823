"""What every listener gets besides the payload: the services (from Bolt's context) and, for
`/mentoring` subcommands, an acknowledged command.

Listeners are module-level functions, so they cannot close over the services. A global
middleware (`ProvideServices`, installed first by `handlers.register_listeners`) puts them into
Bolt's per-request context, and a listener asks for Bolt's `context` argument and calls
`services_of(context)`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext, BoltRequest, BoltResponse, Respond
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient

from bot.i18n import Translator
from bot.services import Services

log = logging.getLogger(__name__)
SERVICES_KEY = "services"


class ProvideServices(Middleware):
    """Puts the app's services into every request's context."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 - Bolt's name
    ) -> BoltResponse | None:
        req.context[SERVICES_KEY] = self.services
        return next()


def services_of(context: BoltContext) -> Services:
    services = context.get(SERVICES_KEY)
    if not isinstance(services, Services):
        raise RuntimeError("ProvideServices middleware is not installed")
    return services


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
    # The programme the subcommand is about (handlers.commands.route finds it); None for a
    # subcommand about no programme in particular, or a super-admin's very first one.
    program_id: int | None = None

    def reply(self, message: dict[str, Any]) -> None:
        """An ephemeral answer only the person who typed the command sees."""
        try:
            self.respond(**message, response_type="ephemeral", replace_original=False)
        except Exception:  # noqa: BLE001 - a lost reply is logged, never raised to Bolt
            log.exception("reply through response_url failed")


Route = Callable[[CommandContext], None]
