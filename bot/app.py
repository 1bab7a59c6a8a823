"""The Bolt app: every listener registered, one error handler; services come from bot.services."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltResponse

from bot.listener_pool import ListenerPool
from bot.services import Services, build_services
from bot.settings import Settings
from handlers import register_listeners
from handlers.replies import AlreadyReported

log = logging.getLogger(__name__)
# Listeners mostly wait on the Web API; a deep pool keeps a slow Slack from delaying acks.
LISTENER_THREADS = 128


def on_error(error: Exception, body: dict[str, Any], response: BoltResponse) -> None:
    """A listener failed after its ack: log it (without personal data), never re-raise."""
    if isinstance(error, AlreadyReported):
        return
    log.error(
        "listener failed",
        exc_info=error,
        extra={"payload_type": body.get("type") or body.get("command")},
    )


def create_app(settings: Settings, services: Services | None = None) -> tuple[App, Services]:
    """The Bolt app with every listener registered; the database must already be migrated."""
    services = services or build_services(settings)
    # Acks go out first; the listener's slow work continues on this pool.
    executor = ListenerPool(LISTENER_THREADS)
    services.listener_executor = executor
    app = App(
        client=services.client,
        signing_secret=settings.slack_signing_secret,
        listener_executor=executor,
        process_before_response=False,
        token_verification_enabled=False,
        # The edge verifies every HTTP request's signature once, before parsing anything
        # (bot/web.py with slack_sdk's SignatureVerifier); Socket Mode requests are not signed.
        request_verification_enabled=False,
        raise_error_for_unhandled_request=False,
    )
    app.error(on_error)
    register_listeners(app, services)
    return app, services
