"""Request plumbing: early acknowledgements, and dropping Slack's re-deliveries of events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.delivery.inbound import first_delivery
from bot.services import Services
from handlers import commands

log = logging.getLogger(__name__)
# Payloads whose acknowledgement carries nothing: acked in the request thread, so a listener
# pool busy with slow Web API work can never push them past Slack's 3-second window.
EARLY_ACK_TYPES = frozenset({"block_actions", "view_closed"})


class AcknowledgeEarly(Middleware):
    """Acks commands and clicks before any listener runs; drops re-delivered events.

    A command whose whole answer is known at once (`answer_now`) is answered in the
    acknowledgement and goes no further. A class, not a function middleware: Bolt builds
    every keyword argument a function middleware could ask for on each request, which costs
    more than the work here.
    """

    def __init__(
        self,
        services: Services,
        answer_now: Callable[[dict[str, Any]], dict[str, Any] | None],
    ) -> None:
        self.services = services
        self.answer_now = answer_now

    def process(
        self,
        *,
        req: BoltRequest,
        resp: BoltResponse,
        next: Callable[[], BoltResponse],  # noqa: A002 - Bolt's name
    ) -> BoltResponse | None:
        body = req.body
        kind = body.get("type")
        if "command" in body:
            answer = self._immediate_answer(body)
            if answer is not None:
                return req.context.ack(**answer, response_type="ephemeral")
            req.context.ack()
        elif kind in EARLY_ACK_TYPES:
            req.context.ack()
        elif kind == "event_callback" and self._seen_before(body):
            return BoltResponse(status=200, body="")
        return next()

    def _seen_before(self, body: dict[str, Any]) -> bool:
        """Whether Slack re-delivered this event (answered 200, its listeners not run again).

        Shared through the database: every worker and replica sees the same event ids. When the
        database cannot be reached the event is processed (a lost event is worse than a rare
        double, and listeners are guarded).
        """
        event_id = body.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            return False
        try:
            return not first_delivery(self.services.db, event_id[:100])
        except Exception:  # noqa: BLE001 - see the docstring
            log.warning("event de-duplication unavailable", exc_info=True)
            return False

    def _immediate_answer(self, command: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self.answer_now(command)
        except Exception:  # noqa: BLE001 - the listener answers instead (and reports)
            log.warning("immediate answer failed; answering through the listener")
            return None


def register(app: App, services: Services) -> None:
    app.middleware(AcknowledgeEarly(services, partial(commands.immediate_answer, services)))
