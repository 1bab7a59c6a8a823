"""Erasure: a person's Slack user id removed from every aggregate that mentions them."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import String, func, or_
from sqlmodel import Session, col, select

from storage.models import (
    CampaignInvite,
    CheckInRequest,
    Goal,
    OutboxMessage,
    OutboxStatus,
    PairEvent,
    Participant,
    RematchRequest,
    ShoutOut,
)
from storage.repositories.recognition import forget_recognition


def forget_user(session: Session, user_id: str) -> None:
    """Removes a Slack user id from every record outside their participant row.

    Messages that name the person (introductions quote goals, the digest names people) are
    scrubbed, not deleted: their dedupe keys are the exactly-once ledger (see
    `_scrub_messages`).
    """
    for goal in session.exec(select(Goal).where(Goal.created_by == user_id)).all():
        goal.created_by = None
        session.add(goal)
    for event in session.exec(select(PairEvent).where(PairEvent.actor_slack_id == user_id)):
        event.actor_slack_id = None
        session.add(event)
    for shoutout in session.exec(select(ShoutOut)).all():
        if user_id in shoutout.recipient_slack_ids or shoutout.author_slack_id == user_id:
            shoutout.recipient_slack_ids = [r for r in shoutout.recipient_slack_ids if r != user_id]
            if shoutout.author_slack_id == user_id:
                shoutout.author_slack_id = "erased"
            session.add(shoutout)
    _scrub_messages(session, user_id)
    # What they wrote in check-ins (the meeting stays counted, their words go).
    mine = select(Participant.id).where(Participant.slack_user_id == user_id)
    for answer in session.exec(
        select(CheckInRequest).where(col(CheckInRequest.participant_id).in_(mine))
    ):
        answer.topics_covered = answer.learned = answer.taught = answer.notes = None
        session.add(answer)
    for request in session.exec(
        select(RematchRequest).where(RematchRequest.resolved_by == user_id)
    ):
        request.resolved_by = None
        session.add(request)
    forget_recognition(session, user_id)
    # Campaign invitations stay counted in their funnel, naming nobody.
    for invite in session.exec(
        select(CampaignInvite).where(CampaignInvite.slack_user_id == user_id)
    ).all():
        invite.slack_user_id = f"erased-{uuid.uuid4().hex[:20]}"
        session.add(invite)
    session.flush()


ERASED = "erased"


def _scrub_messages(session: Session, user_id: str) -> None:
    """Outbox rows that name the person keep nothing of them: no recipient, payload or
    conversation; what was still to be sent is cancelled. A row stays, so its key still says
    "sent once" (a digest does not post again for its month); a key that names the person gets
    an opaque value in its place, while a key that does not (the digest's) stays as it is."""
    named = re.compile(rf"(?<![A-Za-z0-9]){re.escape(user_id)}(?![A-Za-z0-9])")
    maybe = or_(
        col(OutboxMessage.recipient).contains(user_id),
        col(OutboxMessage.dedupe_key).contains(user_id),
        func.cast(OutboxMessage.payload, String).contains(user_id),
    )
    for message in session.exec(select(OutboxMessage).where(maybe)).all():
        if not any(
            named.search(text)
            for text in (message.recipient, message.dedupe_key, str(message.payload))
        ):
            continue  # another person whose id merely contains this one
        if message.status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
            # A sender holding a claim finds it gone and records nothing of the person.
            message.status = OutboxStatus.CANCELLED
            message.cancelled_because = ERASED
            message.claimed_by = None
        message.recipient = ERASED
        message.payload = {}
        message.channel_id = None
        message.message_ts = None
        message.dedupe_key = named.sub(f"{ERASED}-{message.id}", message.dedupe_key)
        session.add(message)
