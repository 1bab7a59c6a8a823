"""Builds the Bolt app and the services its listeners and the scheduler share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.i18n import Translator, translator
from bot.settings import Settings
from bot.slack_api import PeopleDirectory, SlackUser, make_web_client
from storage.db import Database
from storage.models import Participant

log = logging.getLogger(__name__)
# Listeners mostly wait on the Web API; a deep pool keeps a slow Slack from delaying acks.
LISTENER_THREADS = 128


class AlreadyReported(Exception):
    """A listener stopped after telling the person what went wrong: nothing more to log."""


@dataclass
class Services:
    """Everything a handler needs besides the payload: no globals anywhere."""

    settings: Settings
    db: Database
    client: WebClient
    people: PeopleDirectory
    listener_executor: ThreadPoolExecutor | None = None
    # Called after someone enrolls (e.g. matching the waiting list); handlers subscribe.
    on_enrolled: list[Callable[[Participant], None]] = field(default_factory=list)

    def is_admin(self, user_id: str) -> bool:
        """ADMIN_USER_IDS, plus Slack workspace admins and owners (checked on the server)."""
        if user_id in self.settings.admin_user_ids:
            return True
        user = self.people.get(user_id)
        return bool(user and user.is_workspace_admin)

    def admin_ids(self) -> list[str]:
        return sorted(self.settings.admin_user_ids)

    def person(self, user_id: str) -> SlackUser | None:
        return self.people.get(user_id)

    def translator_for(self, user_id: str) -> Translator:
        return translator(self.people.locale_of(user_id), self.settings.default_locale)


def build_services(settings: Settings, db: Database | None = None) -> Services:
    client = make_web_client(settings.slack_bot_token, settings.slack_api_url)
    database = db or Database(settings.database_url)
    return Services(
        settings=settings,
        db=database,
        client=client,
        people=PeopleDirectory(client, settings.default_locale),
    )


def create_app(settings: Settings, services: Services | None = None) -> tuple[App, Services]:
    """The Bolt app with every listener registered; the database must already be migrated."""
    from handlers import register_all

    services = services or build_services(settings)
    # Acks go out first; the listener's slow work continues on this pool.
    executor = ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener")
    services.listener_executor = executor
    app = App(
        client=services.client,
        signing_secret=settings.slack_signing_secret,
        listener_executor=executor,
        process_before_response=False,
        token_verification_enabled=False,
        raise_error_for_unhandled_request=False,
    )

    @app.error
    def _on_error(error: Exception, body: dict[str, Any], response: BoltResponse) -> None:
        if isinstance(error, AlreadyReported):
            return
        log.error(
            "listener failed",
            exc_info=error,
            extra={"payload_type": body.get("type") or body.get("command")},
        )

    register_all(app, services)
    return app, services
