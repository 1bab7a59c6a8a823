"""Immediate replies to the person who acted; everything else goes through the outbox.

The rule: a message owed to someone because something changed (a confirmation, a training pack,
an introduction, a notice to a partner or to the admins) is queued with `owed.queue` inside the
transaction that makes the change (`services.delivery`, bot/delivery). Only immediate replies to
the person who acted go direct, from here: the command's response_url, modal acks and updates,
App Home, the clicked message, a DM when a click has no other way back (`reply_dm`), and the
`mydata` export they asked for.
"""

from __future__ import annotations

import logging
import time
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import OperationalError

from bot.delivery import OwingWork
from bot.i18n import Translator
from bot.services import Services
from bot.slack_api import with_retries
from bot.views import common, kit
from handlers.payloads import message_location

T = TypeVar("T")

log = logging.getLogger(__name__)


class AlreadyReported(Exception):
    """A listener stopped after telling the person what went wrong: nothing more to log."""


def store_or_apologise(services: Services, user_id: str, work: OwingWork[T], *, action: str) -> T:
    """`services.delivery.run_and_deliver`; on failure tells the person by DM and stops the
    listener.

    For listeners that have already acknowledged: there is no modal left to show an error in.
    The AlreadyReported it raises ends the listener quietly (see bot.app's error handler).
    """
    try:
        return services.delivery.run_and_deliver(work)
    except Exception as error:
        _ = services.translator_for(user_id)
        if isinstance(error, OperationalError):  # the database is down or locked
            log.warning("storing failed: database unavailable", extra={"action": action})
            reply_dm(services, user_id, common.unavailable(_))
        else:
            log.exception("storing failed", extra={"action": action})
            reply_dm(services, user_id, common.try_again(_))
        raise AlreadyReported(action) from error


def reply_dm(services: Services, user_id: str, message: dict[str, Any]) -> str | None:
    """A direct reply to the person who acted, when their click has no response_url.

    Returns the DM channel id. Best effort: logged on failure, never raised.
    """
    try:
        channel = services.client.conversations_open(users=user_id)["channel"]["id"]
        services.client.chat_postMessage(channel=channel, **message)
    except SlackApiError as error:
        log.warning("DM failed", extra={"user": user_id, "error": error.response.get("error")})
        return None
    return str(channel)


def update_message(services: Services, body: dict[str, Any], message: dict[str, Any]) -> None:
    """Replaces the message whose button was clicked (best effort)."""
    channel, ts = message_location(body)
    if not channel or not ts:
        return
    try:
        services.client.chat_update(channel=channel, ts=ts, **message)
    except SlackApiError as error:
        log.warning("chat.update failed", extra={"error": error.response.get("error")})


# A trigger lives 3 s from the click: a 429 is retried only when Slack asks for a wait short
# enough for the trigger to survive it.
MODAL_RETRY_WAIT_S = 1.0
MODAL_ATTEMPTS = 3


def modal_client(client: WebClient) -> WebClient:
    """The same connection without retry handlers: a lost answer or a 5xx may hide an opened
    modal, and a trigger works only once (open_modal retries a short 429 itself)."""
    return with_retries(client, "modal", [])


def _retry_after(error: SlackApiError) -> float | None:
    """Slack's Retry-After of a 429, in seconds (None for any other failure)."""
    if error.response.status_code != 429:
        return None
    for name, value in (error.response.headers or {}).items():
        if name.lower() == "retry-after":
            try:
                return float(value if isinstance(value, str) else value[0])
            except (TypeError, ValueError, IndexError):
                return None
    return 1.0


PROBABLY_OPEN: dict[str, Any] = {}
"""open_modal's answer when the modal most likely opened but Slack's answer never came."""


def open_modal(client: WebClient, trigger_id: str, view: dict[str, Any]) -> dict[str, Any] | None:
    """Opens a modal: the opened view, PROBABLY_OPEN ({}: the answer was lost, or a repeat
    found the trigger already used), or None after logging why it could not open.

    Only a 429 whose Retry-After the trigger can outlive is retried: a trigger works once, so a
    retry after a lost answer or a 5xx can only fail with exchanged_trigger_id while the modal
    is open (and the person would be told it failed).
    """
    opener = modal_client(client)
    for attempt in range(1, MODAL_ATTEMPTS + 1):
        try:
            opened = opener.views_open(trigger_id=trigger_id, view=view)
            return dict(opened["view"])
        except SlackApiError as error:
            code = error.response.get("error")
            wait = _retry_after(error)
            if wait is not None and wait <= MODAL_RETRY_WAIT_S and attempt < MODAL_ATTEMPTS:
                time.sleep(wait)
                continue
            if code == "exchanged_trigger_id":
                log.info("views.open: trigger already used, the modal is most likely open")
                return dict(PROBABLY_OPEN)
            log.warning("views.open failed", extra={"error": code})
            return None
        except Exception as error:  # noqa: BLE001 - connection lost or timed out: unknown
            log.warning("views.open answer lost", extra={"error": type(error).__name__})
            return dict(PROBABLY_OPEN)
    return None


def too_slow(
    _: Translator, retry_action: str | None = None, retry_value: str = ""
) -> dict[str, Any]:
    """What to tell someone whose modal could not open (Slack was busy and the trigger
    expired): with `retry_action`, a button that opens it again with a fresh trigger."""
    if retry_action is None:
        return kit.message(_("That took too long, sorry. Please try again."))
    text = _("Slack is busy right now and the form did not open. Open it with the button.")
    button = kit.button(_("Open the form"), retry_action, retry_value, style="primary")
    return kit.message(text, [kit.section(text, accessory=button)])


def open_or_explain(
    client: WebClient,
    trigger_id: str,
    view: dict[str, Any],
    _: Translator,
    *,
    retry_action: str | None = None,
    retry_value: str = "",
) -> dict[str, Any] | None:
    """Opens a modal; returns a message for the person only when it could not open (with a
    button that tries again, when `retry_action` names a listener that opens the same form)."""
    if open_modal(client, trigger_id, view) is None:
        return too_slow(_, retry_action, retry_value)
    return None
