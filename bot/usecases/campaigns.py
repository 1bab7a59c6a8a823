"""Recruiting campaigns: preview a segment of the roster, send its invitations through the
outbox in one transaction, answer them, remind once.

Invitations are queued in the transaction that records the campaign and its invitations, each
under the key (campaign, person) with the recipient's zone, so it arrives inside their working
day; the sender paces them at the workspace's posting rate and checks at send time that the
invitation still holds (bot/domain/notices.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from bot.delivery import Outgoing, Owed
from bot.domain import campaigns as domain
from bot.domain import notices, programs
from bot.i18n import translator
from bot.slack_api import SlackUser
from bot.views import campaigns as views
from storage import repositories as repo
from storage.models import LIVE_STATUSES, Campaign, InviteStatus, Program

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
# Beyond this many people the directory is not asked one by one (users.info, Tier 4):
# it is refreshed from users.list once (200 a page), the rest fall back to the programme.
ONE_BY_ONE = 20


def takes_people(program: Program | None, at: datetime) -> bool:
    """Whether a campaign may invite people to the programme now."""
    return (
        program is not None
        and program.status in LIVE_STATUSES
        and program.enrollment_open
        and not programs.is_over(program, at)
    )


def segment_people(session: Session, program_id: int, segment: domain.Segment) -> list[str]:
    """Who a campaign of the programme would invite (see domain.eligible)."""
    excluded = repo.campaign_exclusions(session, program_id)
    return domain.eligible(repo.active_roster(session), segment, excluded)


def preview(services: Services, program_id: int, segment: domain.Segment) -> views.Preview:
    with services.db.session() as session:
        people = segment_people(session, program_id, segment)
    return views.Preview(len(people), domain.sample(people))


def profiles(services: Services, user_ids: Sequence[str]) -> dict[str, SlackUser | None]:
    """Each person's Slack profile (zone, language) where the people directory knows it; a
    large list refreshes the directory from users.list once instead of asking one by one."""
    people = services.people
    unknown = [user_id for user_id in user_ids if not people.is_known(user_id)]
    if len(unknown) > ONE_BY_ONE:
        people.preload()
    asked = 0
    found: dict[str, SlackUser | None] = {}
    for user_id in user_ids:
        if people.is_known(user_id):
            found[user_id] = people.get(user_id)
        elif asked < ONE_BY_ONE:
            asked += 1
            found[user_id] = people.get(user_id)
        else:
            found[user_id] = None
    return found


@dataclass(frozen=True)
class Sent:
    campaign_id: int | None
    count: int
    keys: list[str]
    closed: bool = False  # the programme no longer takes people in


def _invitations(
    services: Services,
    program: Program,
    campaign: Campaign,
    user_ids: Sequence[str],
    known: dict[str, SlackUser | None],
    *,
    reminder: bool,
) -> list[Outgoing]:
    """One message per person in their Slack language (else the programme's), rendered once
    per language."""
    default = programs.channel_language(program, services.settings.default_locale)
    kind = notices.CAMPAIGN_REMINDER if reminder else notices.CAMPAIGN_INVITE
    rendered: dict[str, dict[str, Any]] = {}
    items = []
    for user_id in user_ids:
        profile = known.get(user_id)
        locale = profile.locale if profile is not None else default
        if locale not in rendered:
            _ = translator(locale, default)
            rendered[locale] = views.invitation_message(
                program, campaign.id or 0, campaign.role, _, reminder=reminder
            )
        items.append(
            Outgoing(
                key=kind.key(campaign.id, user_id),
                recipient=user_id,
                message=rendered[locale],
                program_id=program.id,
                timezone=profile.timezone if profile is not None else None,
                subject=f"campaign:{campaign.id}",
                extra={"campaign_id": campaign.id},
            )
        )
    return items


def send(
    services: Services,
    *,
    program_id: int,
    role: str,
    segment: domain.Segment,
    actor: str,
) -> Sent:
    """Records the campaign and one invitation per eligible person, and queues their DMs, in
    one transaction; the audit log names the count. Delivery is the outbox's."""
    with services.db.session() as session:
        wanted = segment_people(session, program_id, segment)
    known = profiles(services, wanted)

    def work(session: Session, owed: Owed) -> Sent:
        now = services.clock.now()
        program = repo.program(session, program_id)
        if program is None or not takes_people(program, now):
            return Sent(None, 0, [], closed=True)
        people = segment_people(session, program_id, segment)
        if not people:  # nothing to record: the form says nobody can be invited
            return Sent(None, 0, [])
        campaign = repo.create_campaign(
            session,
            program_id=program_id,
            role=role,
            segment=segment.as_json(),
            created_by=actor,
            at=now,
            reminder_after_days=domain.DEFAULT_REMINDER_DAYS,
        )
        repo.add_invites(session, campaign.id or 0, people, now)
        repo.invite_to_programme(session, program, people, actor)
        owed.queue_many(_invitations(services, program, campaign, people, known, reminder=False))
        repo.record_audit(
            session,
            actor=actor,
            action="campaign.send",
            program_id=program_id,
            target=f"campaign:{campaign.id}",
            detail={"campaign_id": campaign.id, "count": len(people)},
            at=now,
        )
        return Sent(campaign.id, len(people), [])

    done = services.delivery.run(work)
    result = done.result
    log.info("campaign sent", extra={"program_id": program_id, "count": result.count})
    return Sent(result.campaign_id, result.count, done.keys, result.closed)


def decline(services: Services, campaign_id: int, user_id: str) -> str:
    """ "Not for me": "declined" (now), "answered" (before), or "unknown" (not invited)."""

    def work(session: Session) -> str:
        invite = repo.invite_of(session, campaign_id, user_id)
        if invite is None:
            return "unknown"
        changed = repo.answer_invite(session, invite, InviteStatus.DECLINED, services.clock.now())
        return "declined" if changed else "answered"

    return services.db.run(work)


def remind(services: Services, session: Session, owed: Owed, program: Program, at: datetime) -> int:
    """One reminder per invitation still unanswered `reminder_after_days` after it was sent
    (the key (campaign, person) makes it once); campaigns with nothing left to remind are
    done. Returns how many were queued."""
    due = repo.invites_to_remind(session, program.id or 0, at)
    if not takes_people(program, at):
        owed.notes.append("the programme does not take people in: no reminders")
        return 0
    queued = 0
    by_campaign: dict[int, tuple[Campaign, list[str]]] = {}
    for campaign, invite in due:
        by_campaign.setdefault(campaign.id or 0, (campaign, []))[1].append(invite.slack_user_id)
    known = profiles(services, [invite.slack_user_id for _c, invite in due])
    for campaign, user_ids in by_campaign.values():
        items = _invitations(services, program, campaign, user_ids, known, reminder=True)
        queued += owed.queue_many(items)
    repo.mark_invites_reminded(session, [invite.id or 0 for _c, invite in due], at)
    repo.finish_campaigns(session, program.id or 0)
    return queued
