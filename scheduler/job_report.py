"""What a scheduled job run did: shared by every job (one shape for `jobs run` and the logs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.delivery import Done


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
