"""Slack re-delivers events (retries after 3 s, at-least-once): handle each event id once.

The memory lives in the database (`processed_event`), so every gunicorn worker and every
replica shares it; an in-process set would let a second worker process the retry again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_bolt import BoltContext, BoltResponse

from storage import repositories as repo
from storage.db import Database
from storage.models import utcnow

log = logging.getLogger(__name__)
# Slack retries an event three times within minutes; a day is a generous memory.
EVENT_MEMORY = timedelta(days=1)


def first_delivery(db: Database, event_id: str) -> bool:
    """True exactly once per `event_id` across all processes sharing the database."""
    return db.run(lambda session: repo.record_event(session, event_id, utcnow()))


def prune_processed_events(db: Database) -> int:
    """Forgets event ids older than EVENT_MEMORY (the scheduler runs this hourly)."""
    return db.run(lambda session: repo.prune_events(session, utcnow() - EVENT_MEMORY))


def skip_duplicate_events(
    body: dict[str, Any],
    next: Callable[[], BoltResponse],  # noqa: A002 - Bolt's name
    context: BoltContext,
) -> BoltResponse | None:
    """Bolt middleware: answers a re-delivered event 200 without running its listeners.

    Needs `context["services"]` (the app's Services). When the database cannot be reached the
    event is processed (a lost event is worse than a rare double, and listeners are guarded).
    """
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    if isinstance(event_id, str) and event_id:
        try:
            first = first_delivery(context["services"].db, event_id[:100])
        except Exception:  # noqa: BLE001 - see the docstring
            log.warning("event de-duplication unavailable", exc_info=True)
            first = True
        if not first:
            return BoltResponse(status=200, body="")
    return next()
