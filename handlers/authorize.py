"""Who may do what, decided in one place; a refusal always says why.

Admins' listeners (buttons, modals) are registered with `middleware=[admins_only]`: Bolt runs it
before the listener, and for anyone else the listener never runs. The person is told why (an
ephemeral reply where the click allows one, else a DM; a modal submission shows it in the
modal), whatever the button they clicked was forwarded from. `/mentoring` subcommands are
checked by `command_refusal` before they are routed. Rights are checked on the server every
time, never inferred from what a view showed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltResponse

from bot.i18n import Translator
from bot.services import Services
from bot.views import common, kit
from handlers.context import services_of
from handlers.guard import tell, user_of

log = logging.getLogger(__name__)
ADMIN_SUBCOMMANDS = frozenset({"match", "report", "shoutout", "program", "hold"})


def command_refusal(services: Services, user_id: str, name: str) -> dict[str, Any] | None:
    """Why `user_id` may not run `/mentoring name`, or None when they may."""
    if name in ADMIN_SUBCOMMANDS and not services.is_admin(user_id):
        log.info("admin command refused", extra={"user": user_id, "subcommand": name})
        return common.admins_only(services.translator_for(user_id))
    return None


def refusal_modal(text: str, _: Translator) -> dict[str, Any]:
    return kit.notice_modal(
        title=_("Mentoring"), text=text, close=_("Close"), callback_id="refused"
    )


def admins_only(
    body: dict[str, Any],
    context: BoltContext,
    next: Callable[[], BoltResponse],  # noqa: A002 - Bolt's name
) -> BoltResponse | None:
    """Listener middleware: the listener runs only for a programme admin."""
    services = services_of(context)
    user_id = user_of(body)
    if user_id is not None and services.is_admin(user_id):
        return next()
    kind = str(body.get("type") or "")
    log.info("admin action refused", extra={"user": user_id, "payload_type": kind})
    if user_id is None or kind == "view_closed":
        return BoltResponse(status=200, body="")
    _ = services.translator_for(user_id)
    message = common.admins_only(_)
    if kind == "view_submission":  # the refusal is the modal's answer
        view = refusal_modal(message["text"], _)
        return BoltResponse(status=200, body={"response_action": "update", "view": view})
    # Told off the request thread: the click has been acknowledged already.
    respond = context.respond
    pool = services.listener_executor
    if pool is not None:
        pool.submit(tell, services, body, respond, message)
    else:
        tell(services, body, respond, message)
    return BoltResponse(status=200, body="")


ADMINS_ONLY = [admins_only]
"""`app.action(ID, middleware=ADMINS_ONLY)(listener)`."""
