"""Recognition: shout-outs, milestones, certificates and success stories."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import (
    Certificate,
    Milestone,
    Pair,
    ShoutOut,
    ShoutOutStatus,
    StoryStatus,
    SuccessStory,
)
from storage.repositories.common import insert_once, oldest_first, within
from storage.repositories.pairing import pairs_of
from storage.repositories.people import participations_of_user


def shoutouts_mentioning(session: Session, program_id: int, user_id: str) -> list[ShoutOut]:
    rows = session.exec(select(ShoutOut).where(ShoutOut.program_id == program_id)).all()
    return [row for row in rows if user_id in row.recipient_slack_ids]


def shoutouts_between(
    session: Session, program_id: int, start: datetime, end: datetime
) -> Sequence[ShoutOut]:
    """Shout-outs that were posted in the channel in the window."""
    return oldest_first(
        session,
        ShoutOut,
        ShoutOut.program_id == program_id,
        ShoutOut.status == ShoutOutStatus.POSTED,
        within(ShoutOut.created_at, start, end),
    )


def add_milestone(session: Session, pair_id: int, kind: str, at: datetime) -> Milestone | None:
    """Records a milestone once: None when the pair already reached it (by any run)."""
    new_id = insert_once(
        session,
        Milestone,
        ["pair_id", "kind"],
        pair_id=pair_id,
        kind=kind,
        achieved_at=at,
        celebrated_at=at,
    )
    return None if new_id is None else session.get(Milestone, new_id)


def milestones_between(
    session: Session, program_id: int, start: datetime, end: datetime
) -> Sequence[Milestone]:
    return session.exec(
        select(Milestone)
        .join(Pair, col(Pair.id) == Milestone.pair_id)
        .where(Pair.program_id == program_id, within(Milestone.achieved_at, start, end))
        .order_by(col(Milestone.id))
    ).all()


def story_to_publish(session: Session, program_id: int) -> SuccessStory | None:
    """The oldest approved story not shared yet."""
    return session.exec(
        select(SuccessStory)
        .where(SuccessStory.program_id == program_id, SuccessStory.status == StoryStatus.APPROVED)
        .order_by(col(SuccessStory.id))
    ).first()


def add_certificate(session: Session, certificate: Certificate) -> Certificate | None:
    """Stores a certificate owed to a person once per pair: None when already owed."""
    try:
        with session.begin_nested():
            session.add(certificate)
            session.flush()
    except IntegrityError:
        return None
    return certificate


def forget_recognition(session: Session, user_id: str) -> None:
    """Someone erased their data: their pairs' stories go, their certificates keep no name."""
    ids = [p.id for p in participations_of_user(session, user_id) if p.id is not None]
    if not ids:
        return
    pair_ids = [pair.id for pid in ids for pair in pairs_of(session, pid)]
    if pair_ids:
        session.execute(delete(SuccessStory).where(col(SuccessStory.pair_id).in_(pair_ids)))
    for certificate in session.exec(
        select(Certificate).where(col(Certificate.participant_id).in_(ids))
    ).all():
        certificate.detail = {}  # a certificate still owed is then no longer sent
        session.add(certificate)


def recognition_of(session: Session, participant_id: int) -> dict[str, list[dict[str, Any]]]:
    """The person's success stories and certificates, for their data export."""
    stories = session.exec(
        select(SuccessStory).where(SuccessStory.author_id == participant_id)
    ).all()
    certificates = session.exec(
        select(Certificate).where(Certificate.participant_id == participant_id)
    ).all()
    return {
        "stories": [s.model_dump(mode="json", exclude={"id", "author_id"}) for s in stories],
        "certificates": [
            c.model_dump(mode="json", include={"detail", "status", "uploaded_at"})
            for c in certificates
        ],
    }
