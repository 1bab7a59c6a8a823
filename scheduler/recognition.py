"""Recognition jobs: milestones (with certificates) and the monthly community digest.

Both follow the job registry's signature, `run_x(services, at, *, dry_run=False) -> JobReport`,
and are idempotent per period: milestones are recorded once per (pair, kind), and every message
is queued under a unique outbox key. A certificate's figures are frozen in its row; its PDF is
made and shared by its outbox message, on the outbox's exactly-once path like any other.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from bot.delivery import Owed
from bot.domain import digest, notices
from bot.domain import recognition as rec
from bot.domain.programs import channel_language
from bot.i18n import translator
from bot.services import Services
from bot.usecases import milestones as celebrations
from bot.views import recognition as views
from scheduler import lifecycle
from scheduler.job_report import JobReport, live_program
from storage.models import Program

log = logging.getLogger(__name__)


# Milestones and certificates --------------------------------------------------------------


def run_milestones(
    services: Services, at: datetime, *, program_id: int | None = None, dry_run: bool = False
) -> JobReport:
    """Records and celebrates every milestone reached since the last run; a completion owes
    each partner a certificate (its PDF travels with its outbox message). Safe to run any
    number of times."""

    def work(session: Session, owed: Owed) -> None:
        program = live_program(session, program_id)
        if program is None:
            owed.notes.append("the programme is not live")
            return
        found = celebrations.celebrate_new(services, session, owed, program, at)
        owed.notes.append(f"{len(found)} new milestones")

    return JobReport("milestones").add(services.delivery.run(work, at=at, dry_run=dry_run))


# The monthly digest --------------------------------------------------------------------------


def run_digest(
    services: Services, at: datetime, *, program_id: int | None = None, dry_run: bool = False
) -> JobReport:
    """Posts the previous month's highlights to the community channel, once per month; a
    month with nothing to report posts nothing (the job's report says so)."""
    report = JobReport("digest")
    with services.db.session() as session:
        program = live_program(session, program_id)
    if program is None:
        report.notes.append("the programme is not live")
        return report
    channel = rec.channel_of(program, services.settings.recognition_channel)
    if channel is None:
        report.skipped += 1
        report.notes.append("no community channel set")
        return report

    def work(session: Session, owed: Owed) -> None:
        current = session.get(Program, program.id)
        assert current is not None
        found = digest.collect(session, current, at)
        if found.nothing_to_report:
            # An empty post would only teach the channel to ignore the digest.
            owed.notes.append(f"nothing to report for {found.period.name}: no digest posted")
        else:
            language = channel_language(current, services.settings.default_locale)
            message = views.digest_message(found, translator(language))
            story = found.story
            queued = owed.queue(
                notices.DIGEST.key(current.id or 0, found.period.name),
                recipient=channel,
                message=message,
                program_id=current.id,
                # The story is marked published once the digest is posted (notices.DIGEST).
                extra={"story_id": story.id, "period": found.period.name} if story else None,
            )
            if not queued:
                owed.notes.append(f"digest for {found.period.name} already queued")
        if lifecycle.finish_if_over(session, current, at, services.settings.recognition_channel):
            owed.notes.append("the programme has ended")

    return report.add(services.delivery.run(work, at=at, dry_run=dry_run))
