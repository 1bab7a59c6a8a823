"""Recognition jobs: milestones (with certificates) and the monthly community digest.

Both follow the job registry's signature, `run_x(services, at, *, dry_run=False) -> JobReport`,
and are idempotent per period: milestones are recorded once per (pair, kind), every message is
queued under a unique outbox key, and a certificate is a stored row claimed before its upload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.domain import certificates, digest, milestones
from bot.domain import recognition as rec
from bot.i18n import translator
from bot.services import Services
from bot.views import recognition as views
from scheduler import outbox
from scheduler.job_report import JobReport
from storage import repositories as repo
from storage.models import (
    Certificate,
    CertificateStatus,
    Participant,
    Program,
    StoryStatus,
    utcnow,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_UPLOAD_ATTEMPTS = 5
STALE_UPLOAD = timedelta(minutes=10)
# Upload errors no retry can fix: the certificate is marked failed.
PERMANENT_UPLOAD_ERRORS = frozenset(
    {"user_not_found", "account_inactive", "channel_not_found", "not_in_channel", "missing_scope"}
)


class _Queue:
    """Queues messages in the job's transaction and remembers the keys to deliver after it."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, session: Session, **message: Any) -> bool:
        row = outbox.enqueue(session, **message)
        if row is not None:
            self.keys.append(row.dedupe_key)
        return row is not None


def _run(
    services: Services, work: Callable[[Session, _Queue], T], *, dry_run: bool
) -> tuple[T, list[str]]:
    """One transaction; a dry run rolls it back, so it stores and sends nothing."""
    if not dry_run:

        def attempt(session: Session) -> tuple[T, list[str]]:
            queue = _Queue()
            return work(session, queue), queue.keys

        return services.db.run(attempt)
    with Session(services.db.engine, expire_on_commit=False) as session:
        queue = _Queue()
        try:
            return work(session, queue), queue.keys
        finally:
            session.rollback()


def _deliver(services: Services, keys: list[str]) -> None:
    if not keys:
        return
    try:
        outbox.flush(services.db, services.client, keys=keys, hooks=services.outbox_hooks)
    except Exception:  # noqa: BLE001 - stored; the outbox run delivers them later
        log.exception("immediate delivery after a recognition job failed")


def _active_program(services: Services) -> Program | None:
    with services.db.session() as session:
        return repo.active_program(session)


# Milestones and certificates --------------------------------------------------------------


def _celebrate(
    services: Services,
    session: Session,
    queue: _Queue,
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
        queue(
            session,
            kind=rec.MILESTONE,
            key=rec.milestone_key(pair.id or 0, found.milestone.kind, person.id or 0),
            recipient=person.slack_user_id,
            message=views.milestone_dm(found.kind, found.goal_title(), translator(person.locale)),
            program_id=program.id,
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
            queue(
                session,
                kind=rec.CERTIFICATE,
                key=rec.certificate_key(certificate.id or 0),
                recipient=person.slack_user_id,
                message=views.certificate_dm(translator(person.locale)),
                program_id=program.id,
            )
    mentor, mentee = people.get(pair.mentor_id), people.get(pair.mentee_id)
    for admin in services.admin_ids():
        queue(
            session,
            kind=rec.COMPLETED_ADMIN,
            key=rec.completed_admin_key(pair.id or 0, admin),
            recipient=admin,
            message=views.completed_for_admins(
                mentor.slack_user_id if mentor else "",
                mentee.slack_user_id if mentee else "",
                services.translator_for(admin),
            ),
            program_id=program.id,
        )


def run_milestones(services: Services, at: datetime, *, dry_run: bool = False) -> JobReport:
    """Records and celebrates every milestone reached since the last run, then uploads the
    certificates owed. Safe to run any number of times."""
    report = JobReport("milestones")
    program = _active_program(services)
    if program is None:
        report.notes.append("no active programme")
        return report

    def work(session: Session, queue: _Queue) -> int:
        current = session.get(Program, program.id)
        assert current is not None
        found = milestones.detect(session, current, at)
        for item in found:
            _celebrate(services, session, queue, current, item, at)
        return len(found)

    count, keys = _run(services, work, dry_run=dry_run)
    report.queued = len(keys)
    report.notes.append(f"{count} new milestones")
    if dry_run:
        return report
    _deliver(services, keys)
    uploaded = upload_certificates(services)
    if uploaded:
        report.notes.append(f"{uploaded} certificates uploaded")
    return report


def _claim_certificate(session: Session, certificate_id: int) -> Certificate | None:
    row = session.get(Certificate, certificate_id)
    if row is None:
        return None
    claimed = repo.transition(
        session,
        row,
        CertificateStatus.PENDING,
        status=CertificateStatus.UPLOADING,
        claimed_at=utcnow(),
    )
    return row if claimed else None


def upload_certificates(services: Services) -> int:
    """Uploads pending certificates to each person's DM; each is claimed first, so two runs
    never upload the same one. Returns how many were uploaded."""
    with services.db.session() as session:
        repo.release_stale_certificates(session, utcnow() - STALE_UPLOAD)
        due = [row.id or 0 for row in repo.certificates_due(session)]
    uploaded = 0
    for certificate_id in due:
        row = services.db.run(lambda s, cid=certificate_id: _claim_certificate(s, cid))
        if row is None:
            continue
        with services.db.session() as session:
            person = session.get(Participant, row.participant_id)
        if person is None:
            continue
        _ = translator(row.detail.get("locale"))
        error: str | None = None
        file_id: str | None = None
        try:
            pdf = certificates.render_pdf(row.detail, _, created=utcnow())
            channel = services.client.conversations_open(users=person.slack_user_id)["channel"][
                "id"
            ]
            response = services.client.files_upload_v2(
                channel=channel,
                content=pdf,
                filename=certificates.filename(row.detail),
                title=_("Certificate of participation"),
            )
            file_id = str((response.get("file") or {}).get("id") or "") or None
        except SlackApiError as failure:
            error = str(failure.response.get("error") or "unknown")
        except Exception as failure:  # noqa: BLE001 - recorded; a later run tries again
            error = type(failure).__name__
        _record_upload(services, row.id or 0, file_id, error)
        uploaded += error is None
    return uploaded


def _record_upload(
    services: Services, certificate_id: int, file_id: str | None, error: str | None
) -> None:
    def work(session: Session) -> None:
        row = session.get(Certificate, certificate_id)
        if row is None:
            return
        if error is None:
            repo.transition(
                session,
                row,
                CertificateStatus.UPLOADING,
                status=CertificateStatus.UPLOADED,
                file_id=file_id,
                uploaded_at=utcnow(),
                attempts=row.attempts + 1,
            )
            return
        log.warning("certificate upload failed", extra={"error": error})
        final = error in PERMANENT_UPLOAD_ERRORS or row.attempts + 1 >= MAX_UPLOAD_ATTEMPTS
        repo.transition(
            session,
            row,
            CertificateStatus.UPLOADING,
            status=CertificateStatus.FAILED if final else CertificateStatus.PENDING,
            attempts=row.attempts + 1,
            last_error=error[:200],
        )

    services.db.run(work)


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

    def work(session: Session, queue: _Queue) -> str:
        current = session.get(Program, program.id)
        assert current is not None
        found = digest.collect(session, current, at)
        message = views.digest_message(found, translator(services.settings.default_locale))
        queued = queue(
            session,
            kind=rec.DIGEST,
            key=rec.digest_key(current.id or 0, found.period.name),
            recipient=channel,
            message=message,
            program_id=current.id,
        )
        if queued and found.story is not None:
            repo.transition(
                session,
                found.story,
                StoryStatus.APPROVED,
                status=StoryStatus.PUBLISHED,
                published_period=found.period.name,
            )
        return found.period.name

    period, keys = _run(services, work, dry_run=dry_run)
    report.queued = len(keys)
    if not keys:
        report.skipped += 1
        report.notes.append(f"digest for {period} already queued")
    if not dry_run:
        _deliver(services, keys)
    return report
