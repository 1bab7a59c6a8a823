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
from bot.domain import digest, milestones, notices
from bot.domain import recognition as rec
from bot.domain.programs import channel_language
from bot.i18n import translator
from bot.services import Services
from bot.views import recognition as views
from scheduler import lifecycle
from scheduler.job_report import JobReport
from storage import repositories as repo
from storage.models import Certificate, Program, StoryStatus

log = logging.getLogger(__name__)


def _active_program(services: Services) -> Program | None:
    with services.db.session() as session:
        return repo.active_program(session)


# Milestones and certificates --------------------------------------------------------------


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
    for admin in services.admin_ids():
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


def run_milestones(services: Services, at: datetime, *, dry_run: bool = False) -> JobReport:
    """Records and celebrates every milestone reached since the last run; a completion owes
    each partner a certificate (its PDF travels with its outbox message). Safe to run any
    number of times."""

    def work(session: Session, owed: Owed) -> None:
        program = repo.active_program(session)
        if program is None:
            owed.notes.append("no active programme")
            return
        found = milestones.detect(session, program, at)
        for item in found:
            _celebrate(services, session, owed, program, item, at)
        owed.notes.append(f"{len(found)} new milestones")

    return JobReport("milestones").add(services.delivery.run(work, at=at, dry_run=dry_run))


# The monthly digest --------------------------------------------------------------------------


def run_digest(services: Services, at: datetime, *, dry_run: bool = False) -> JobReport:
    """Posts the previous month's highlights to the community channel, once per month."""
    report = JobReport("digest")
    program = _active_program(services)
    if program is None:
        report.notes.append("no active programme")
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
        language = channel_language(current, services.settings.default_locale)
        message = views.digest_message(found, translator(language))
        queued = owed.queue(
            notices.DIGEST.key(current.id or 0, found.period.name),
            recipient=channel,
            message=message,
            program_id=current.id,
        )
        if not queued:
            owed.notes.append(f"digest for {found.period.name} already queued")
        elif found.story is not None:
            repo.transition(
                session,
                found.story,
                StoryStatus.APPROVED,
                status=StoryStatus.PUBLISHED,
                published_period=found.period.name,
            )
        if lifecycle.finish_if_over(session, current, at, services.settings.recognition_channel):
            owed.notes.append("the programme has ended")

    return report.add(services.delivery.run(work, at=at, dry_run=dry_run))
