"""Messages from listeners: what the app owes goes through the outbox, replies go direct.

The rule: a message owed to someone because something changed (a confirmation, a training pack,
an introduction, a notice to a partner or to the admins) is queued with `Owed.queue` inside the
transaction that makes the change, and delivered for those keys right after the commit
(`run_and_deliver`). If the transaction fails, neither the change nor the message exists; if
the delivery fails, the scheduler retries it. Only immediate replies to the person who acted go
direct: the command's response_url, modal acks and updates, App Home, the clicked message, a
DM when a click has no other way back, and the `mydata` export they asked for (`reply_dm`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from bot.i18n import Translator
from bot.services import Services
from bot.slack_api import with_retries
from bot.views import common, kit
from handlers.payloads import message_location
from scheduler import outbox

T = TypeVar("T")

log = logging.getLogger(__name__)


class AlreadyReported(Exception):
    """A listener stopped after telling the person what went wrong: nothing more to log."""


class Owed:
    """The outbox keys queued in one transaction, to deliver once it has committed."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def queue(
        self,
        session: Session,
        *,
        kind: str,
        key: str,
        recipient: str,
        message: dict[str, Any],
        program_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """`recipient`: a user id, several joined by "," (a group DM), or a channel id."""
        outbox.enqueue(
            session,
            key=key,
            kind=kind,
            recipient=recipient,
            message=message,
            program_id=program_id,
            extra=extra,
        )
        self.keys.append(key)


OwingWork = Callable[[Session, Owed], T]


def deliver(services: Services, keys: list[str]) -> None:
    """Sends what was just queued; a failure is left to the scheduler's next run."""
    if not keys:
        return
    try:
        outbox.flush(services.db, services.client, keys=keys, hooks=services.outbox_hooks)
    except Exception:  # noqa: BLE001 - the rows are stored; the scheduler delivers them later
        log.exception("immediate outbox delivery failed")


def run_owing(services: Services, work: OwingWork[T]) -> tuple[T, list[str]]:
    """Runs `work` in one transaction; returns its result and the keys of what it queued."""

    def attempt(session: Session) -> tuple[T, list[str]]:
        owed = Owed()  # fresh per attempt: a retried transaction queues again from scratch
        return work(session, owed), owed.keys

    return services.db.run(attempt)


def run_and_deliver(services: Services, work: OwingWork[T]) -> T:
    """Runs `work` in one transaction with what it owes, then delivers those messages."""
    result, keys = run_owing(services, work)
    deliver(services, keys)
    return result


def store_or_apologise(services: Services, user_id: str, work: OwingWork[T], *, action: str) -> T:
    """`run_and_deliver`; on failure tells the person by DM and stops the listener.

    For listeners that have already acknowledged: there is no modal left to show an error in.
    The AlreadyReported it raises ends the listener quietly (see bot.app's error handler).
    """
    try:
        return run_and_deliver(services, work)
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


def modal_client(client: WebClient) -> WebClient:
    """The same connection retrying only what Slack refused unprocessed (429): a lost answer
    or a 5xx may hide an opened modal, and a trigger works only once."""
    return with_retries(client, "modal", [RateLimitErrorRetryHandler(max_retry_count=2)])


PROBABLY_OPEN: dict[str, Any] = {}
"""open_modal's answer when the modal most likely opened but Slack's answer never came."""


def open_modal(client: WebClient, trigger_id: str, view: dict[str, Any]) -> dict[str, Any] | None:
    """Opens a modal: the opened view, PROBABLY_OPEN ({}: the answer was lost, or a repeat
    found the trigger already used), or None after logging why it could not open.

    Only a 429 is retried: a trigger works once, so a retry after a lost answer or a 5xx can
    only fail with exchanged_trigger_id while the modal is open (and the person would be told
    it failed).
    """
    try:
        opened = modal_client(client).views_open(trigger_id=trigger_id, view=view)
        return dict(opened["view"])
    except SlackApiError as error:
        code = error.response.get("error")
        if code == "exchanged_trigger_id":
            log.info("views.open: trigger already used, the modal is most likely open")
            return dict(PROBABLY_OPEN)
        log.warning("views.open failed", extra={"error": code})
        return None
    except Exception as error:  # noqa: BLE001 - connection lost or timed out: outcome unknown
        log.warning("views.open answer lost", extra={"error": type(error).__name__})
        return dict(PROBABLY_OPEN)


def too_slow(_: Translator) -> dict[str, Any]:
    """What to tell someone whose modal could not open (the trigger expired)."""
    return kit.message(_("That took too long, sorry. Please try again."))


def open_or_explain(
    client: WebClient, trigger_id: str, view: dict[str, Any], _: Translator
) -> dict[str, Any] | None:
    """Opens a modal; returns a message for the person only when it could not open."""
    return too_slow(_) if open_modal(client, trigger_id, view) is None else None
