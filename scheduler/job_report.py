"""What a scheduled job run did: shared by every job (one shape for `jobs run` and the logs)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class JobReport:
    name: str
    queued: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)
    # The outbox keys queued (a caller may deliver them at once) and, in a dry run, what
    # would have been sent: (recipient, not_before ISO, text).
    keys: list[str] = field(default_factory=list)
    would_send: list[tuple[str, str, str]] = field(default_factory=list)
