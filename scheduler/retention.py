"""The daily retention run: every programme's retention rules (bot/domain/retention.py),
workspace-wide, once a day.

Not one job per programme like the others: ended and archived programmes have no jobs, yet
their people must be erased and the programme anonymised on time. A missed day needs no
catching up: each rule acts on what is older than its limit, so the next run does it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.delivery import Owed
from bot.domain import retention
from bot.services import Services
from scheduler.job_report import JobReport
from storage import repositories as repo

NAME = "retention"
DESCRIPTION = (
    "applies the retention rules of every programme: deletes old check-in notes, erases "
    "people who left, anonymises ended programmes (once a day, workspace-wide)"
)
DEFAULT_SCHEDULE = "30 3 * * *"  # UTC


def notes_of(found: retention.Sweep, *, dry_run: bool) -> list[str]:
    """What the run did (or would do), as counts per rule: nothing that names anyone."""
    verb = "would be" if dry_run else "were"
    return [
        f"check-in notes: {found.notes} of {found.notes_pairs} ended pairs {verb} deleted",
        f"people who left: {found.left_erased} {verb} erased",
        f"ended programmes: {found.programmes_anonymised} {verb} anonymised "
        f"({found.people_anonymised} people)",
    ]


def run_retention(
    services: Services, at: datetime, *, program_id: int | None = None, dry_run: bool = False
) -> JobReport:
    """Applies the rules as of `at` (every programme; `program_id` only narrows the sweep to
    one, for `jobs run --program`); the run is recorded in the audit log with its counts."""

    def work(session: Session, owed: Owed) -> retention.Sweep:
        programs = [
            program
            for program in repo.all_programs(session)
            if program_id is None or program.id == program_id
        ]
        found = retention.sweep(session, programs, at)
        repo.record_audit(
            session,
            actor=None,
            action="retention.run",
            program_id=program_id,
            detail=found.as_detail(),
            at=at,
        )
        owed.notes.extend(notes_of(found, dry_run=dry_run))
        return found

    return JobReport(NAME).add(services.delivery.run(work, at=at, dry_run=dry_run))
