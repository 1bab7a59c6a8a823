"""Celebrating milestones: each partner's DM, the certificates a completion owes, the admins'
note. Called by the milestones job for every pair (the safety net) and as a meeting is logged,
for that pair, in the same unit of work, so the first meeting is celebrated at once and not at
the job's next weekday run. Milestones are recorded once per (pair, kind) and every message is
queued under a unique key, so the two paths never celebrate twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.delivery import Owed
from bot.domain import milestones, notices
from bot.i18n import translator
from bot.views import recognition as views
from storage import repositories as repo
from storage.models import Certificate, Pair, Program

if TYPE_CHECKING:  # services are handed in; they import the use cases they wire
    from bot.services import Services


def celebrate_new(
    services: Services,
    session: Session,
    owed: Owed,
    program: Program,
    at: datetime,
    pair: Pair | None = None,
) -> list[milestones.Reached]:
    """Records the milestones reached since the last look (by `pair`, or by every introduced
    pair) and queues their messages in the caller's transaction; returns the new ones."""
    if pair is not None and not milestones.counts_for_milestones(pair):
        return []
    found = milestones.detect(session, program, at, None if pair is None else [pair])
    for item in found:
        _celebrate(services, session, owed, program, item, at)
    return found


def celebrate_pair(
    services: Services, session: Session, owed: Owed, pair_id: int, at: datetime
) -> list[milestones.Reached]:
    """`celebrate_new` for one pair, as its meeting or goal is logged."""
    pair = session.get(Pair, pair_id)
    program = session.get(Program, pair.program_id) if pair is not None else None
    if pair is None or program is None:
        return []
    return celebrate_new(services, session, owed, program, at, pair)


def _celebrate(
    services: Services,
    session: Session,
    owed: Owed,
    program: Program,
    found: milestones.Reached,
    at: datetime,
) -> None:
    pair = found.pair
    people = repo.participants_by_ids(session, [pair.mentor_id, pair.mentee_id])
    members = [people[i] for i in (pair.mentor_id, pair.mentee_id) if i in people]
    for person in members:
        if person.left_at is not None:
            continue
        owed.queue(
            notices.MILESTONE.key(pair.id or 0, found.milestone.kind, person.id or 0),
            recipient=person.slack_user_id,
            message=views.milestone_dm(found.kind, found.goal_title(), translator(person.locale)),
            program_id=program.id,
            timezone=person.timezone,
        )
    if found.kind != milestones.COMPLETED:
        return
    for person in members:
        if person.left_at is not None:
            continue
        detail = milestones.certificate_detail(program, pair, person, found.figures, at)
        certificate = repo.add_certificate(
            session,
            Certificate(
                program_id=program.id or 0,
                participant_id=person.id or 0,
                pair_id=pair.id or 0,
                detail=detail,
            ),
        )
        if certificate is not None:
            owed.queue(
                notices.CERTIFICATE.key(certificate.id or 0),
                recipient=person.slack_user_id,
                message=views.certificate_dm(translator(person.locale)),
                program_id=program.id,
                timezone=person.timezone,
                extra={"certificate_id": certificate.id},
            )
    mentor, mentee = people.get(pair.mentor_id), people.get(pair.mentee_id)
    for admin in services.admins_of(session, program.id):
        profile = services.person(admin)
        owed.queue(
            notices.COMPLETED_ADMIN.key(pair.id or 0, admin),
            recipient=admin,
            timezone=profile.timezone if profile else None,
            message=views.completed_for_admins(
                mentor.slack_user_id if mentor else "",
                mentee.slack_user_id if mentee else "",
                services.translator_for(admin),
            ),
            program_id=program.id,
        )
