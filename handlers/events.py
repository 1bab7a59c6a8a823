"""Request plumbing: early acknowledgements, and dropping Slack's re-deliveries of events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltResponse

from bot.services import Services
from scheduler.dedupe import skip_duplicate_events

# Payloads whose acknowledgement carries nothing: acked in the request thread, so a listener
# pool busy with slow Web API work can never push them past Slack's 3-second window.
EARLY_ACK_TYPES = frozenset({"block_actions", "view_closed"})


def acknowledge_early(
    body: dict[str, Any],
    ack: Ack,
    next: Callable[[], BoltResponse],  # noqa: A002 - Bolt's name
) -> BoltResponse | None:
    if "command" in body or body.get("type") in EARLY_ACK_TYPES:
        ack()
    return next()


def register(app: App, services: Services) -> None:
    app.middleware(acknowledge_early)
    # Shared through the database: every worker and replica sees the same event ids.
    app.middleware(skip_duplicate_events)
