"""Clicks the app no longer knows (a button on an old message): a polite note, never a 404.

Registered after every other listener: Bolt runs the first listener that matches, so this one
only sees action ids nobody else handles.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.services import Services
from bot.views import common
from handlers.context import services_of
from handlers.guard import listener
from handlers.replies import reply_dm

log = logging.getLogger(__name__)
ANY_ACTION = re.compile(".*")


@listener
def on_unknown_action(
    ack: Ack, body: dict[str, Any], respond: Respond | None, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(user_id, str) or not user_id:
        return
    log.info("click on an unknown action", extra={"payload_type": body.get("type")})
    message = common.stale_button(services.translator_for(user_id))
    if respond is not None:  # a button in a message: answer there, only the clicker sees it
        try:
            respond(**message, response_type="ephemeral", replace_original=False)
            return
        except Exception:  # noqa: BLE001 - fall back to a DM
            log.warning("reply through response_url failed")
    reply_dm(services, user_id, message)


def register(app: App, services: Services) -> None:
    app.action(ANY_ACTION)(on_unknown_action)
