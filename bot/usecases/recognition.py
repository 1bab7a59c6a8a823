"""Recognition flows that span Slack and the database: an admin's shout-out, approving or
rejecting a partner's thank-you.

A public post comes first (the admin's own action, posted once with the non-retrying client);
only once it succeeded is the stored change written, with the thank-you DMs it owes, in one
transaction. If that transaction fails, the post is taken back, and a thanks goes back to
waiting, so nothing is ever half-done. Listeners turn the outcomes into replies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.delivery import Owed
from bot.delivery.sender import delivery_client
from bot.domain import notices
from bot.domain import recognition as rec
from bot.domain.programs import channel_language
from bot.i18n import Translator, translator
from bot.views import recognition as views
from storage import repositories as repo
from storage.models import Program, ShoutOut

if TYPE_CHECKING:  # services are handed in; they import the use cases they wire
    from bot.services import Services

log = logging.getLogger(__name__)


class Result(StrEnum):
    DONE = "done"
    NO_PROGRAM = "no_program"
    UNKNOWN_PEOPLE = "unknown_people"  # `people` names them
    NO_CHANNEL = "no_channel"
    CHANNEL_REFUSED = "channel_refused"  # `error` is Slack's code, `channel` the channel
    ALREADY_HANDLED = "already_handled"
    FAILED = "failed"  # `failure` is the exception (the database, most likely)


@dataclass
class Outcome:
    result: Result
    channel: str | None = None  # where it was posted (or refused)
    error: str | None = None
    people: list[str] = field(default_factory=list)  # unknown people
    named: list[str] = field(default_factory=list)  # thanked in the channel
    private: list[str] = field(default_factory=list)  # thanked privately only
    failure: BaseException | None = None


def _channel_translator(services: Services, program: Program) -> Translator:
    """Channel posts are read by everyone: the programme's channel language."""
    return translator(channel_language(program, services.settings.default_locale))


def post_once(services: Services, channel: str, message: dict[str, Any]) -> tuple[str, str] | str:
    """Posts without an automatic retry (a lost answer must not post twice).
    Returns (channel id, ts), or Slack's error code."""
    try:
        response = delivery_client(services.client).chat_postMessage(channel=channel, **message)
    except SlackApiError as error:
        return str(error.response.get("error") or "unknown")
    except Exception as error:  # noqa: BLE001 - network trouble: report, post nothing more
        return type(error).__name__
    return str(response["channel"]), str(response["ts"])


def take_back(services: Services, channel_id: str | None, ts: str | None) -> None:
    """Storing failed after the channel post: remove it, so nothing is half-done."""
    if not channel_id or not ts:
        return
    try:
        services.client.chat_delete(channel=channel_id, ts=ts)
    except SlackApiError:
        log.warning("could not remove the shout-out post")


def _queue_thanks(
    services: Services, owed: Owed, row: ShoutOut, public: set[str], channel: str | None
) -> None:
    for user_id in row.recipient_slack_ids:
        owed.queue(
            notices.SHOUTOUT_THANKS.key(row.id or 0, user_id),
            recipient=user_id,
            message=views.thanks_dm(
                row.message,
                channel if user_id in public else None,
                services.translator_for(user_id),
            ),
            program_id=row.program_id,
        )


def give_shoutout(
    services: Services, admin_id: str, draft: rec.Draft, program_id: int | None
) -> Outcome:
    """An owner thanks people of a programme: named in its channel where they agreed to be, a
    DM to each."""
    with services.db.session() as session:
        program = repo.program(session, program_id)
        public = rec.consenting(session, program, draft.user_ids) if program else set()
    if program is None:
        return Outcome(Result.NO_PROGRAM)
    unknown = rec.cannot_be_thanked(draft.user_ids, services.person)
    if unknown:
        return Outcome(Result.UNKNOWN_PEOPLE, people=unknown)
    named = [user_id for user_id in draft.user_ids if user_id in public]
    private = [user_id for user_id in draft.user_ids if user_id not in public]
    channel = rec.channel_of(program, services.settings.recognition_channel)
    channel_id: str | None = None
    ts: str | None = None
    if named:
        if channel is None:
            return Outcome(Result.NO_CHANNEL)
        message = views.channel_shoutout(
            named, draft.text, admin_id, _channel_translator(services, program)
        )
        posted = post_once(services, channel, message)
        if isinstance(posted, str):
            log.info("shout-out not posted", extra={"error": posted})
            return Outcome(Result.CHANNEL_REFUSED, channel=channel, error=posted)
        channel_id, ts = posted

    def record(session: Session, owed: Owed) -> None:
        current = session.get(Program, program.id)
        assert current is not None
        row = rec.record_shoutout(
            session, current, admin_id, draft.user_ids, draft.text, channel=channel_id, ts=ts
        )
        session.flush()
        repo.record_audit(
            session,
            actor=admin_id,
            action="shoutout.give",
            program_id=current.id,
            target=f"shoutout:{row.id}",
            detail={"people": len(draft.user_ids)},
        )
        _queue_thanks(services, owed, row, set(named), channel_id)

    try:
        services.delivery.run_and_deliver(record)
    except Exception as error:  # noqa: BLE001 - taken back, then reported to the admin
        log.exception("storing a shout-out failed")
        take_back(services, channel_id, ts)
        return Outcome(Result.FAILED, failure=error)
    return Outcome(Result.DONE, channel=channel_id, named=named, private=private)


def approve_thanks(services: Services, shoutout_id: int, admin_id: str) -> Outcome:
    """Claim (the first admin's click wins) → post → finish with the DMs it owes; on failure
    the post is taken back and the thanks waits for approval again."""

    def claim(session: Session) -> tuple[ShoutOut, set[str], Program] | None:
        row = rec.claim_thanks(session, shoutout_id, admin_id)
        program = session.get(Program, row.program_id) if row else None
        if row is None or program is None:
            return None
        return row, rec.consenting(session, program, row.recipient_slack_ids), program

    claimed = services.db.run(claim)
    if claimed is None:
        return Outcome(Result.ALREADY_HANDLED)
    row, public, program = claimed
    channel = rec.channel_of(program, services.settings.recognition_channel)
    channel_id: str | None = None
    ts: str | None = None
    if public:
        refused: Outcome | None = None
        if channel is None:
            refused = Outcome(Result.NO_CHANNEL)
        else:
            message = views.channel_shoutout(
                sorted(public),
                row.message,
                row.author_slack_id,
                _channel_translator(services, program),
                thanks=True,
            )
            posted = post_once(services, channel, message)
            if isinstance(posted, str):
                refused = Outcome(Result.CHANNEL_REFUSED, channel=channel, error=posted)
            else:
                channel_id, ts = posted
        if refused is not None:  # back to waiting: the admin can click again once it's fixed
            services.db.run(lambda session: rec.release_thanks(session, shoutout_id))
            return refused

    def finish(session: Session, owed: Owed) -> None:
        done = rec.finish_thanks(session, shoutout_id, channel_id, ts)
        if done is None:
            return
        repo.record_audit(
            session,
            actor=admin_id,
            action="thanks.approve",
            program_id=done.program_id,
            target=f"shoutout:{shoutout_id}",
        )
        _queue_thanks(services, owed, done, public, channel_id)
        author = done.author_slack_id
        owed.queue(
            notices.SHOUTOUT_DECIDED.key(shoutout_id),
            recipient=author,
            message=views.thanks_posted_for_author(channel_id, services.translator_for(author)),
            program_id=done.program_id,
        )

    try:
        services.delivery.run_and_deliver(finish)
    except Exception as error:  # noqa: BLE001 - taken back, then answered truthfully
        take_back(services, channel_id, ts)
        services.db.run(lambda session: rec.release_thanks(session, shoutout_id))
        return Outcome(Result.FAILED, failure=error)
    return Outcome(Result.DONE, channel=channel_id)


def reject_thanks(services: Services, shoutout_id: int, admin_id: str) -> Outcome:
    """The first admin's decision wins; the author is told."""

    def reject(session: Session, owed: Owed) -> bool:
        row = rec.reject_thanks(session, shoutout_id, admin_id)
        if row is None:
            return False
        repo.record_audit(
            session,
            actor=admin_id,
            action="thanks.reject",
            program_id=row.program_id,
            target=f"shoutout:{shoutout_id}",
        )
        author = row.author_slack_id
        owed.queue(
            notices.SHOUTOUT_DECIDED.key(shoutout_id),
            recipient=author,
            message=views.thanks_rejected_for_author(services.translator_for(author)),
            program_id=row.program_id,
        )
        return True

    done = services.delivery.run_and_deliver(reject)
    return Outcome(Result.DONE if done else Result.ALREADY_HANDLED)
