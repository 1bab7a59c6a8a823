"""The services a listener, a scheduled job or a CLI command shares: built once, passed down.

Nothing here imports `handlers`: the scheduler (and a process that only delivers the outbox)
builds the same services, with the same outbox hooks, without loading any Bolt listener.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk import WebClient
from sqlmodel import Session

from bot import clock as clocks
from bot.clock import Clock, SystemClock
from bot.domain import notices, pairing
from bot.i18n import Translator, translator
from bot.listener_pool import ListenerPool
from bot.settings import Settings
from bot.slack_api import PeopleDirectory, SlackUser, make_web_client
from scheduler.outbox import SentHook
from storage.db import Database
from storage.models import OutboxMessage, Participant

EnrollmentSubscriber = Callable[["Services", Participant], None]


@dataclass
class Services:
    """Everything a handler needs besides the payload: no globals anywhere."""

    settings: Settings
    db: Database
    client: WebClient
    people: PeopleDirectory
    clock: Clock = field(default_factory=SystemClock)
    listener_executor: ListenerPool | None = None
    # Outbox message kind -> hook run in the transaction that marks such a message sent.
    outbox_hooks: dict[str, SentHook] = field(default_factory=dict)
    # Called after someone enrolls and it is stored (e.g. matching the waiting list).
    enrollment_subscribers: list[EnrollmentSubscriber] = field(default_factory=list)

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


def remember_introduction(session: Session, message: OutboxMessage) -> None:
    """An intro was posted: its group DM becomes the pair's conversation."""
    pair_id = message.payload.get("pair_id")
    if isinstance(pair_id, int) and message.channel_id:
        pairing.record_introduction(session, pair_id, message.channel_id)


def forget_recipient(session: Session, message: OutboxMessage) -> None:
    """A goodbye to someone who erased their data: once sent, the row keeps nothing of them."""
    if message.payload.get("erase"):
        message.recipient = "erased"
        message.channel_id = None
        message.payload = {}
        session.add(message)


def outbox_hooks() -> dict[str, SentHook]:
    return {notices.INTRO: remember_introduction, notices.FAREWELL: forget_recipient}


def build_services(
    settings: Settings, db: Database | None = None, clock: Clock | None = None
) -> Services:
    """The services with the process's clock installed and the outbox hooks registered."""
    client = make_web_client(settings.slack_bot_token, settings.slack_api_url)
    the_clock = clock or SystemClock()
    clocks.install(the_clock)
    return Services(
        settings=settings,
        db=db or Database(settings.database_url),
        client=client,
        people=PeopleDirectory(client, settings.default_locale),
        clock=the_clock,
        outbox_hooks=outbox_hooks(),
    )
