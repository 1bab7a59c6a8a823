"""A programme's end, as the jobs see it: once it is over, its journey stops; once its surveys
have closed and its last digest is queued (or its last month had nothing to report), it moves
to `ended` and whatever of its journey is still pending is cancelled (bot/domain/programs.py
has the rule)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.delivery import outbox
from bot.domain import digest, notices, programs, recognition
from storage.models import Program


def finish_if_over(
    session: Session, program: Program, at: datetime, recognition_channel: str | None
) -> bool:
    """Ends `program` when its time has come (see the module); True when it ended now."""
    if program.end_date is None:
        return False
    has_channel = recognition.channel_of(program, recognition_channel) is not None
    last = notices.DIGEST.key(program.id or 0, f"{program.end_date:%Y-%m}").value
    last_digest = (
        not has_channel
        or outbox.is_queued(session, last)
        or digest.last_month_quiet(session, program, at)
    )
    if not programs.end_if_done(session, program, at, last_digest=last_digest):
        return False
    outbox.cancel_pending(
        session,
        "the programme has ended",
        program_id=program.id,
        kinds=notices.RUNNING_JOURNEY,
    )
    return True
