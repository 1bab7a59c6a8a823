"""Recruiting campaigns and their invitations (the roster is read, never written, here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_
from sqlmodel import Session, col, select

from storage.models import (
    Campaign,
    CampaignInvite,
    CampaignStatus,
    CheckInRequest,
    CheckInRequestStatus,
    InviteStatus,
    JoinPolicy,
    Pair,
    Participant,
    ParticipantStatus,
    Program,
    ProgramInvite,
    RosterEntry,
)
from storage.repositories.common import oldest_first, update_where

CHUNK = 500  # ids per IN (…): well under SQLite's and PostgreSQL's parameter limits


def roster_values(session: Session) -> dict[str, list[str]]:
    """The departments, countries and offices of the people on the roster (not left), sorted:
    the campaign form's choices."""
    found: dict[str, list[str]] = {}
    for name in ("department", "country", "office"):
        column = getattr(RosterEntry, name)
        rows = session.exec(
            select(column)
            .where(col(RosterEntry.left_at).is_(None), col(column).is_not(None))
            .distinct()
        ).all()
        found[name] = sorted({str(value).strip() for value in rows if str(value).strip()})
    return found


def active_roster(session: Session) -> Sequence[Any]:
    """Everyone on the roster who has not left it: rows with the fields a segment reads
    (plain rows, not entities: a campaign may read tens of thousands)."""
    fields = [
        RosterEntry.slack_user_id,
        RosterEntry.department,
        RosterEntry.title,
        RosterEntry.office,
        RosterEntry.country,
        RosterEntry.hire_date,
        RosterEntry.level,
        RosterEntry.left_at,
    ]
    query = select(*fields).where(col(RosterEntry.left_at).is_(None))
    return list(session.execute(query).all())


def campaign_exclusions(session: Session, program_id: int) -> set[str]:
    """Who no campaign of this programme may invite: people in it (not left), people invited
    to it by a campaign who have not answered, and people who said "not for me" to any."""
    members = session.exec(
        select(Participant.slack_user_id).where(
            Participant.program_id == program_id,
            Participant.status != ParticipantStatus.LEFT,
        )
    ).all()
    pending = session.exec(
        select(CampaignInvite.slack_user_id)
        .join(Campaign, col(Campaign.id) == CampaignInvite.campaign_id)
        .where(
            Campaign.program_id == program_id,
            Campaign.status != CampaignStatus.CANCELLED,
            CampaignInvite.status == InviteStatus.INVITED,
        )
    ).all()
    declined = session.exec(
        select(CampaignInvite.slack_user_id).where(CampaignInvite.status == InviteStatus.DECLINED)
    ).all()
    return {*members, *pending, *declined}


def create_campaign(
    session: Session,
    *,
    program_id: int,
    role: str,
    segment: dict[str, Any],
    created_by: str,
    at: datetime,
    reminder_after_days: int,
) -> Campaign:
    campaign = Campaign(
        program_id=program_id,
        role=role,
        segment=segment,
        created_by=created_by,
        created_at=at,
        reminder_after_days=reminder_after_days,
    )
    session.add(campaign)
    session.flush()
    return campaign


def add_invites(session: Session, campaign_id: int, user_ids: Sequence[str], at: datetime) -> None:
    """One invitation per person, in one multi-row INSERT (a campaign may reach thousands)."""
    if user_ids:
        session.execute(
            insert(CampaignInvite),
            [
                {
                    "campaign_id": campaign_id,
                    "slack_user_id": user_id,
                    "status": InviteStatus.INVITED.value,
                    "invited_at": at,
                }
                for user_id in user_ids
            ],
        )


def invite_to_programme(
    session: Session, program: Program, user_ids: Sequence[str], invited_by: str
) -> None:
    """A campaign to a programme open to invited people only puts them on its invitation
    list, so its Join button lets them in."""
    if program.join_policy != JoinPolicy.INVITED or not user_ids:
        return
    known: set[str] = set()
    for start in range(0, len(user_ids), CHUNK):
        chunk = list(user_ids[start : start + CHUNK])
        known.update(
            session.exec(
                select(ProgramInvite.slack_user_id).where(
                    ProgramInvite.program_id == program.id,
                    col(ProgramInvite.slack_user_id).in_(chunk),
                )
            ).all()
        )
    new = [user_id for user_id in user_ids if user_id not in known]
    if new:
        session.execute(
            insert(ProgramInvite),
            [
                {"program_id": program.id, "slack_user_id": user_id, "invited_by": invited_by}
                for user_id in new
            ],
        )


def campaign(session: Session, campaign_id: int | None) -> Campaign | None:
    return session.get(Campaign, campaign_id) if campaign_id else None


def campaigns_of(session: Session, program_id: int) -> Sequence[Campaign]:
    return oldest_first(session, Campaign, Campaign.program_id == program_id)


def invite_of(session: Session, campaign_id: int, user_id: str) -> CampaignInvite | None:
    return session.exec(
        select(CampaignInvite).where(
            CampaignInvite.campaign_id == campaign_id, CampaignInvite.slack_user_id == user_id
        )
    ).first()


def answer_invite(session: Session, invite: CampaignInvite, status: str, at: datetime) -> bool:
    """invited → joined or declined, once (a second click changes nothing); False when the
    invitation was answered before."""
    changed = update_where(
        session,
        CampaignInvite,
        col(CampaignInvite.id) == invite.id,
        CampaignInvite.status == InviteStatus.INVITED,
        status=status,
        answered_at=at,
    )
    session.refresh(invite)
    return changed == 1


def mark_joined(session: Session, program_id: int, user_id: str, at: datetime) -> int:
    """The person joined the programme: each of its campaigns' invitations to them that waits
    for an answer becomes "joined" (whichever way they joined)."""
    ids = select(Campaign.id).where(Campaign.program_id == program_id)
    return update_where(
        session,
        CampaignInvite,
        col(CampaignInvite.campaign_id).in_(ids.scalar_subquery()),
        CampaignInvite.slack_user_id == user_id,
        CampaignInvite.status == InviteStatus.INVITED,
        status=InviteStatus.JOINED.value,
        answered_at=at,
    )


def invites_to_remind(
    session: Session, program_id: int, at: datetime
) -> list[tuple[Campaign, CampaignInvite]]:
    """Invitations still waiting for an answer `reminder_after_days` after they were sent and
    not reminded yet, of the programme's campaigns still sending."""
    rows = session.exec(
        select(Campaign, CampaignInvite)
        .join(CampaignInvite, col(CampaignInvite.campaign_id) == Campaign.id)
        .where(
            Campaign.program_id == program_id,
            Campaign.status == CampaignStatus.SENDING,
            CampaignInvite.status == InviteStatus.INVITED,
            col(CampaignInvite.reminded_at).is_(None),
        )
        .order_by(col(CampaignInvite.id))
    ).all()
    return [
        (found, invite)
        for found, invite in rows
        if invite.invited_at <= at - timedelta(days=found.reminder_after_days)
    ]


def mark_invites_reminded(session: Session, invite_ids: Iterable[int], at: datetime) -> None:
    wanted = list(invite_ids)
    for start in range(0, len(wanted), CHUNK):
        update_where(
            session,
            CampaignInvite,
            col(CampaignInvite.id).in_(wanted[start : start + CHUNK]),
            reminded_at=at,
        )


def finish_campaigns(session: Session, program_id: int) -> int:
    """Campaigns still sending whose every invitation is answered or reminded are done."""
    waiting = (
        select(CampaignInvite.campaign_id)
        .where(
            CampaignInvite.status == InviteStatus.INVITED,
            col(CampaignInvite.reminded_at).is_(None),
        )
        .distinct()
    )
    return update_where(
        session,
        Campaign,
        Campaign.program_id == program_id,
        Campaign.status == CampaignStatus.SENDING,
        col(Campaign.id).not_in(waiting.scalar_subquery()),
        status=CampaignStatus.DONE.value,
    )


def funnel_counts(session: Session, program_id: int) -> list[dict[str, Any]]:
    """Per campaign of the programme, oldest first: invited, joined, declined, and of those who
    joined how many are in a pair of the programme (matched) and in a pair that met (its
    last meeting recorded, or a check-in answered "we met")."""
    result: list[dict[str, Any]] = []
    for found in campaigns_of(session, program_id):
        statuses = dict(
            session.exec(  # type: ignore[call-overload]
                select(CampaignInvite.status, func.count())
                .where(CampaignInvite.campaign_id == found.id)
                .group_by(CampaignInvite.status)
            ).all()
        )
        joined_people = (
            select(Participant.id)
            .join(CampaignInvite, CampaignInvite.slack_user_id == Participant.slack_user_id)
            .where(
                CampaignInvite.campaign_id == found.id,
                CampaignInvite.status == InviteStatus.JOINED,
                Participant.program_id == program_id,
            )
        )
        ids = set(session.exec(joined_people).all())
        matched: set[int] = set()
        met: set[int] = set()
        if ids:
            pairs = session.exec(
                select(Pair).where(
                    Pair.program_id == program_id,
                    col(Pair.approved_at).is_not(None),
                    or_(col(Pair.mentor_id).in_(ids), col(Pair.mentee_id).in_(ids)),
                )
            ).all()
            pair_ids = [pair.id for pair in pairs]
            answered = (
                set(
                    session.exec(
                        select(CheckInRequest.pair_id)
                        .where(
                            col(CheckInRequest.pair_id).in_(pair_ids),
                            CheckInRequest.status == CheckInRequestStatus.MET,
                        )
                        .distinct()
                    ).all()
                )
                if pair_ids
                else set()
            )
            for pair in pairs:
                members = {pair.mentor_id, pair.mentee_id} & ids
                matched |= members
                if pair.last_met_at is not None or pair.id in answered:
                    met |= members
        result.append(
            {
                "campaign": found,
                "invited": sum(statuses.values()),
                "joined": statuses.get(InviteStatus.JOINED.value, 0),
                "declined": statuses.get(InviteStatus.DECLINED.value, 0),
                "matched": len(matched),
                "met": len(met),
            }
        )
    return result
