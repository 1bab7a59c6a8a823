"""Slack re-delivers events (retries after 3 s, at-least-once): each event id is handled once.

The memory lives in the database (`processed_event`), so every worker and every replica shares
it; an in-process set would let a second worker process the retry again. The Bolt middleware
that asks this lives with the listeners (handlers/events.py).
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import utcnow
from storage import repositories as repo
from storage.db import Database

# Slack retries an event three times within minutes; a day is a generous memory.
EVENT_MEMORY = timedelta(days=1)


def first_delivery(db: Database, event_id: str) -> bool:
    """True exactly once per `event_id` across all processes sharing the database."""
    return db.run(lambda session: repo.record_event(session, event_id, utcnow()))


def prune_processed_events(db: Database) -> int:
    """Forgets event ids older than EVENT_MEMORY (the scheduler runs this hourly)."""
    return db.run(lambda session: repo.prune_events(session, utcnow() - EVENT_MEMORY))
