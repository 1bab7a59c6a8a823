"""Direct messages from listeners: best effort, logged on failure, never raised."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.app import AlreadyReported, Services
from bot.i18n import Translator
from bot.views import common, kit

T = TypeVar("T")

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


def update_message(services: Services, body: dict[str, Any], message: dict[str, Any]) -> None:
    """Replaces the message whose button was clicked (best effort)."""
    from handlers.payloads import message_location

    channel, ts = message_location(body)
    if not channel or not ts:
        return
    try:
        services.client.chat_update(channel=channel, ts=ts, **message)
    except SlackApiError as error:
        log.warning("chat.update failed", extra={"error": error.response.get("error")})


def store_or_apologise(
    services: Services, user_id: str, work: Callable[[Session], T], *, action: str
) -> T:
    """Runs `work` in a transaction; on failure tells the person by DM and stops the listener.

    For listeners that have already acknowledged: there is no modal left to show an error in.
    The AlreadyReported it raises ends the listener quietly (see bot.app's error handler).
    """
    try:
        return services.db.run(work)
    except Exception as error:
        log.exception("storing failed", extra={"action": action})
        send_dm(services, user_id, common.try_again(services.translator_for(user_id)))
        raise AlreadyReported(action) from error


def open_modal(client: WebClient, trigger_id: str, view: dict[str, Any]) -> dict[str, Any] | None:
    """Opens a modal; returns the opened view, or None after logging why it could not open."""
    try:
        return dict(client.views_open(trigger_id=trigger_id, view=view)["view"])
    except SlackApiError as error:
        log.warning("views.open failed", extra={"error": error.response.get("error")})
        return None


def too_slow(_: Translator) -> dict[str, Any]:
    """What to tell someone whose modal could not open (the trigger expired)."""
    return kit.message(_("That took too long, sorry. Please try again."))


def open_or_explain(
    client: WebClient, trigger_id: str, view: dict[str, Any], _: Translator
) -> dict[str, Any] | None:
    """Opens a modal; returns a message for the person only when it could not open."""
    return too_slow(_) if open_modal(client, trigger_id, view) is None else None
