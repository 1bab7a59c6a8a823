"""What a scheduled job run did: shared by every job (one shape for `jobs run` and the logs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from bot.delivery import Done
from storage.models import LIVE_STATUSES, Program


@dataclass
class JobReport:
    name: str
    queued: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    # The outbox keys queued (a caller may deliver them at once) and what they send:
    # (recipient, not_before ISO, text); a dry run lists what it would have sent.
    keys: list[str] = field(default_factory=list)
    would_send: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, done: Done[Any]) -> JobReport:
        """Counts what one unit of work queued, skipped and noted."""
        self.queued += len(done.planned)
        self.skipped += done.skipped
        self.notes.extend(done.notes)
        self.keys.extend(done.keys)
        self.would_send.extend(
            (p.recipient, p.not_before.isoformat(), p.text) for p in done.planned
        )
        return self


def live_program(session: Session, program_id: int | None) -> Program | None:
    """The programme a job runs for, if people may still see it (enrolling or running);
    `program_id` None: the workspace's one live programme (None when there are several)."""
    if program_id is None:
        live = session.exec(select(Program).where(col(Program.status).in_(LIVE_STATUSES))).all()
        return live[0] if len(live) == 1 else None
    program = session.get(Program, program_id)
    return program if program is not None and program.status in LIVE_STATUSES else None
