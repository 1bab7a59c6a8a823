"""A person leaves the programme without choosing to: what the app does when someone can no
longer take part.

Reasons: Slack refuses every message to them for good (UNREACHABLE), their account was
deactivated (DEACTIVATED), it became a guest's, a bot's or an app's (NOT_ELIGIBLE), or a full
roster import no longer lists them (MISSING_FROM_ROSTER). Whoever learns it (the delivery
layer, a `user_change` event, the daily people refresh, a roster import) calls
`person_departed` inside its own unit of work: the person leaves every programme with the
reason, their pairs end kindly (each partner is told in their language and goes back to the
matching pool for a new match, once per pair), whatever is still queued for them is
cancelled, and their roster entry notes when and why they left. Their data then follows the
retention rule like anyone's who left; nothing is erased here.
"""

from __future__ import annotations

import logging
from typing import Final

from sqlmodel import Session

from bot.delivery import Owed, outbox
from bot.domain import enrollment, notices, subjects
from bot.i18n import translator
from bot.views import enrollment as views
from storage import repositories as repo
from storage.models import ParticipantStatus, utcnow

log = logging.getLogger(__name__)

UNREACHABLE: Final = enrollment.UNREACHABLE
DEACTIVATED: Final = "deactivated"
NOT_ELIGIBLE: Final = "not_eligible"
MISSING_FROM_ROSTER: Final = "missing_from_roster"
REASONS: Final = (UNREACHABLE, DEACTIVATED, NOT_ELIGIBLE, MISSING_FROM_ROSTER)

CANCELLED_BECAUSE: Final = {
    UNREACHABLE: "the person can no longer be reached",
    DEACTIVATED: "the person's account was deactivated",
    NOT_ELIGIBLE: "the person can no longer take part",
    MISSING_FROM_ROSTER: "the person is no longer on the roster",
}


def person_departed(
    session: Session, owed: Owed, user_id: str, reason: str, *, default_locale: str
) -> int:
    """`user_id` can no longer take part, for `reason` (one of REASONS). Returns how many pairs
    ended. Safe to call again: someone who has left already is left alone."""
    if reason not in REASONS:
        raise ValueError(f"unknown departure reason: {reason}")
    leaving = [
        p.program_id
        for p in repo.participations_of_user(session, user_id)
        if p.status in (ParticipantStatus.WAITING, ParticipantStatus.PAIRED)
    ]
    ended = enrollment.leave_every_programme(session, user_id, reason)
    for program_id in leaving:  # who acted: nobody (a job, an event); why: the reason
        repo.record_audit(
            session,
            actor=None,
            action="people.departed",
            program_id=program_id,
            target=f"user:{user_id}",
            detail={"reason": reason, "pairs_ended": len(ended)},
        )
    cancelled = outbox.cancel_pending(session, CANCELLED_BECAUSE[reason], recipient=user_id)
    for item in ended:
        pair_id = item.pair.id or 0
        cancelled += outbox.cancel_pending(
            session, "the pair has ended", subject=subjects.pair_subject(pair_id)
        )
        partner = item.partner
        _ = translator(partner.locale, default_locale)
        message = (
            views.partner_unreachable_message(_)
            if reason in (UNREACHABLE, DEACTIVATED)
            else views.partner_departed_message(_)
        )
        owed.queue(
            notices.PARTNER_LEFT.key(pair_id, partner.id or 0),
            recipient=partner.slack_user_id,
            message=message,
            program_id=item.pair.program_id,
        )
    repo.mark_roster_left(session, user_id, reason, utcnow())
    log.info(
        "person departed",
        extra={"reason": reason, "pairs_ended": len(ended), "cancelled": cancelled},
    )
    return len(ended)


def person_unreachable(
    session: Session, owed: Owed, user_id: str, error: str, *, default_locale: str
) -> None:
    """Slack answered `error` to a message for `user_id`: no message will reach them again
    (`Delivery.on_recipient_gone`)."""
    log.info("recipient unreachable", extra={"error": error})
    person_departed(session, owed, user_id, UNREACHABLE, default_locale=default_locale)
