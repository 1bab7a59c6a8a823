"""A person Slack no longer reaches: what the app does when a message to them is refused for
good (their account is deactivated or deleted).

The delivery layer reports it (`Delivery.on_recipient_gone`, wired in `bot.services`); this
rule runs as a unit of work of its own: the person leaves the active programme with the reason
"unreachable", their pairs end kindly (each partner is told in their language and goes back to
the matching pool, once per pair), and whatever is still queued for them is cancelled, so
nobody asks them again next month.
"""

from __future__ import annotations

import logging

from sqlmodel import Session

from bot.delivery import Owed, outbox
from bot.domain import enrollment, notices, subjects
from bot.i18n import translator
from bot.views import enrollment as views

log = logging.getLogger(__name__)
CANCELLED_BECAUSE = "the person can no longer be reached"


def person_unreachable(
    session: Session, owed: Owed, user_id: str, error: str, *, default_locale: str
) -> None:
    """Slack answered `error` to a message for `user_id`: no message will reach them again."""
    ended = enrollment.leave_unreachable(session, user_id)
    cancelled = outbox.cancel_pending(session, CANCELLED_BECAUSE, recipient=user_id)
    for item in ended:
        pair_id = item.pair.id or 0
        cancelled += outbox.cancel_pending(
            session, "the pair has ended", subject=subjects.pair_subject(pair_id)
        )
        partner = item.partner
        owed.queue(
            notices.PARTNER_LEFT.key(pair_id, partner.id or 0),
            recipient=partner.slack_user_id,
            message=views.partner_unreachable_message(translator(partner.locale, default_locale)),
            program_id=item.pair.program_id,
        )
    log.info(
        "recipient unreachable",
        extra={"error": error, "pairs_ended": len(ended), "cancelled": cancelled},
    )
