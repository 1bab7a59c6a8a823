"""Erasure: a person's Slack user id removed from every aggregate that mentions them."""

from __future__ import annotations

from sqlalchemy import String, func, or_
from sqlmodel import Session, col, select

from storage.models import (
    CheckInRequest,
    Goal,
    OutboxMessage,
    PairEvent,
    Participant,
    RematchRequest,
    ShoutOut,
)
from storage.repositories.recognition import forget_recognition


def forget_user(session: Session, user_id: str) -> None:
    """Removes a Slack user id from every record outside their participant row.

    Delivered or pending messages that name the person (introductions quote goals) are
    deleted: their only remaining purpose was the exactly-once ledger.
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
    mentions = or_(
        col(OutboxMessage.recipient).contains(user_id),
        func.cast(OutboxMessage.payload, String).contains(user_id),
    )
    for message in session.exec(select(OutboxMessage).where(mentions)).all():
        session.delete(message)
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
    session.flush()
