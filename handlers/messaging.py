"""Direct messages from listeners: best effort, logged on failure, never raised."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.app import Services

log = logging.getLogger(__name__)


def send_dm(services: Services, user_id: str, message: dict[str, Any]) -> str | None:
    """Opens the DM and posts `message` (text + blocks); returns the DM channel id."""
    try:
        channel = services.client.conversations_open(users=user_id)["channel"]["id"]
        services.client.chat_postMessage(channel=channel, **message)
    except SlackApiError as error:
        log.warning("DM failed", extra={"user": user_id, "error": error.response.get("error")})
        return None
    return str(channel)


def apologise(services: Services, user_id: str) -> None:
    """Tells the person their action did not go through (after an ack there is no modal left)."""
    from bot.views import common

    send_dm(services, user_id, common.try_again(services.translator_for(user_id)))
