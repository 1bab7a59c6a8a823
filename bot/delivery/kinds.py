"""What the delivery layer needs to know of each kind of message, declared once per kind.

The domain declares every kind the app sends in one catalogue (`bot/domain/notices.py`): the
parts its dedupe key names, when it may arrive (its quiet-hours rule), why it may no longer be
worth sending when it is about to leave (its staleness check), what to record once it is sent,
and, for a file, how to make the file. The delivery layer only calls these; it knows nothing of
pairs, rounds or certificates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from storage.models import OutboxMessage

QuietHoursRule = Callable[[Session, datetime, str | None, int | None], datetime]
"""(session, at, the recipient's time zone, programme id) -> the earliest good moment."""

StaleCheck = Callable[[Session, OutboxMessage], str | None]
"""None while the message still holds; otherwise why it no longer does (recorded, not sent)."""

SentHook = Callable[[Session, OutboxMessage], None]
"""Runs in the transaction that marks the message sent (e.g. remember a conversation)."""


@dataclass(frozen=True)
class OutgoingFile:
    """A file sent instead of a plain message; the message's text becomes its comment."""

    filename: str
    title: str
    content: bytes


FileMaker = Callable[[Session, OutboxMessage], OutgoingFile | None]
"""Makes the file as it leaves (None: nothing to send any more, the message is cancelled)."""


@dataclass(frozen=True)
class MessageKind:
    """One kind of message the app owes people.

    `key_parts` names what a key identifies, in order (e.g. ("pair", "participant")): queuing a
    message under the same key twice sends it once. A kind without `quiet_hours` may arrive at
    any time; `stale_because`, `on_sent` and `make_file` are optional.
    """

    name: str
    key_parts: tuple[str, ...]
    quiet_hours: QuietHoursRule | None = None
    stale_because: StaleCheck | None = None
    on_sent: SentHook | None = None
    make_file: FileMaker | None = None

    def key(self, *parts: object) -> MessageKey:
        """The dedupe key naming `parts` (one per entry of `key_parts`)."""
        if len(parts) != len(self.key_parts):
            raise ValueError(f"{self.name} keys name {self.key_parts}, got {len(parts)} parts")
        return MessageKey(self, ":".join([self.name, *(str(part) for part in parts)]))

    def fresh_key(self, *parts: object) -> MessageKey:
        """A key for a message owed by each repetition of an action (a confirmation)."""
        base = self.key(*parts).value
        return MessageKey(self, f"{base}:{uuid.uuid4().hex[:16]}")


@dataclass(frozen=True)
class MessageKey:
    """A dedupe key and the kind of message it names."""

    kind: MessageKind
    value: str

    def __str__(self) -> str:
        return self.value


Catalogue = Mapping[str, MessageKind]


def catalogue(kinds: Iterable[MessageKind]) -> dict[str, MessageKind]:
    """Kinds by name; a name declared twice is a programming error."""
    found: dict[str, MessageKind] = {}
    for kind in kinds:
        if kind.name in found:
            raise ValueError(f"message kind {kind.name!r} declared twice")
        found[kind.name] = kind
    return found
