"""Request plumbing: early acknowledgements, and dropping Slack's re-deliveries of events."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.services import Services

SEEN_EVENTS = 10_000


class SeenEvents:
    """A bounded, thread-safe memory of event ids (Bolt does not de-duplicate retries)."""

    def __init__(self, size: int = SEEN_EVENTS) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True


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


class SkipDuplicateEvents(Middleware):
    """Answers an event Slack delivers again (a retry) without running its listener twice."""

    def __init__(self) -> None:
        self.seen = SeenEvents()

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 - Bolt's name
    ) -> BoltResponse | None:
        body = req.body
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and not self.seen.first_time(event_id):
            return BoltResponse(status=200, body="")
        return next()


def register(app: App, services: Services) -> None:
    app.middleware(acknowledge_early)
    app.middleware(SkipDuplicateEvents())
