"""Request plumbing: early acknowledgements, and dropping Slack's re-deliveries of events."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.services import Services
from scheduler.dedupe import skip_duplicate_events

# Payloads whose acknowledgement carries nothing: acked in the request thread, so a listener
# pool busy with slow Web API work can never push them past Slack's 3-second window.
EARLY_ACK_TYPES = frozenset({"block_actions", "view_closed"})


class AcknowledgeEarly(Middleware):
    """Acks commands and clicks before any listener runs; drops re-delivered events.

    A class, not a function middleware: Bolt builds every keyword argument a function
    middleware could ask for on each request, which costs more than the work here.
    """

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 - Bolt's name
    ) -> BoltResponse | None:
        body = req.body
        kind = body.get("type")
        if "command" in body or kind in EARLY_ACK_TYPES:
            req.context.ack()
        elif kind == "event_callback":
            # Shared through the database: every worker and replica sees the same event ids.
            return skip_duplicate_events(body, next, req.context)
        return next()


def register(app: App, services: Services) -> None:
    app.middleware(AcknowledgeEarly())
