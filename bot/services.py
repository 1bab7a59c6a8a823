"""The services a listener, a scheduled job or a CLI command shares: built once, passed down.

Nothing here imports `handlers`: the scheduler (and a process that only delivers the outbox)
builds the same services, with the same delivery layer and message catalogue, without loading
any Bolt listener.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from slack_sdk import WebClient
from sqlmodel import Session

from bot import clock as clocks
from bot.clock import Clock, SystemClock
from bot.delivery import Delivery
from bot.domain import notices
from bot.i18n import Translator, translator
from bot.listener_pool import ListenerPool
from bot.settings import Settings
from bot.slack_api import PeopleDirectory, SlackUser, make_web_client
from bot.usecases.departure import person_unreachable
from storage import repositories as repo
from storage.db import Database
from storage.models import Participant

OWNER_CACHE_SECONDS = 30.0
EnrollmentSubscriber = Callable[["Services", Participant], None]


@dataclass
class Services:
    """Everything a handler needs besides the payload: no globals anywhere."""

    settings: Settings
    db: Database
    client: WebClient
    people: PeopleDirectory
    # Units of work and the messages they owe (bot/delivery).
    delivery: Delivery
    listener_executor: ListenerPool | None = None
    # Called after someone enrolls and it is stored (e.g. matching the waiting list).
    enrollment_subscribers: list[EnrollmentSubscriber] = field(default_factory=list)
    _owners_cache: tuple[float, set[str]] = field(default=(float("-inf"), set()), repr=False)
    _owners_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def clock(self) -> Clock:
        """The process's one clock (bot.clock): storage, domain, delivery and jobs read it."""
        return clocks.current()

    def use_clock(self, clock: Clock) -> None:
        """Moves everything that reads the time onto `clock` (tests, the sandbox, the demo)."""
        clocks.install(clock)

    def is_super_admin(self, user_id: str) -> bool:
        """ADMIN_USER_IDS, plus Slack workspace admins and owners: they run every programme
        (checked on the server)."""
        if user_id in self.settings.admin_user_ids:
            return True
        user = self.people.get(user_id)
        return bool(user and user.is_workspace_admin)

    def is_admin(self, user_id: str) -> bool:
        """A super-admin, or the owner of at least one programme (admin commands, help)."""
        return self.is_super_admin(user_id) or user_id in self._owner_ids()

    def owns(self, session: Session, user_id: str, program_id: int) -> bool:
        """Whether the person runs this programme (a super-admin runs every one)."""
        return self.is_super_admin(user_id) or program_id in repo.owned_program_ids(
            session, user_id
        )

    def admin_ids(self) -> list[str]:
        """The super-admins named in ADMIN_USER_IDS."""
        return sorted(self.settings.admin_user_ids)

    def admins_of(self, session: Session, program_id: int | None) -> list[str]:
        """Who hears of a programme's matters (requests, approvals, refusals): its owners, or
        the super-admins when it has none."""
        owners = repo.owners(session, program_id) if program_id else []
        return owners or self.admin_ids()

    def _owner_ids(self) -> set[str]:
        """Every programme owner, re-read at most every OWNER_CACHE_SECONDS (acks ask it)."""
        now = time.monotonic()
        with self._owners_lock:
            cached_at, ids = self._owners_cache
            if now - cached_at < OWNER_CACHE_SECONDS:
                return ids
        with self.db.session() as session:
            ids = repo.all_owner_ids(session)
        with self._owners_lock:
            self._owners_cache = (now, ids)
        return ids

    def forget_owners(self) -> None:
        """After owners change: the next question reads them again."""
        with self._owners_lock:
            self._owners_cache = (float("-inf"), set())

    def person(self, user_id: str) -> SlackUser | None:
        return self.people.get(user_id)

    def translator_for(self, user_id: str) -> Translator:
        return translator(self.people.locale_of(user_id), self.settings.default_locale)


def build_services(
    settings: Settings, db: Database | None = None, clock: Clock | None = None
) -> Services:
    """The services with the process's clock installed and the message catalogue in place."""
    client = make_web_client(settings.slack_bot_token, settings.slack_api_url)
    clocks.install(clock or SystemClock())
    database = db or Database(settings.database_url)
    return Services(
        settings=settings,
        db=database,
        client=client,
        people=PeopleDirectory(client, settings.default_locale),
        delivery=Delivery(
            database,
            client,
            notices.KINDS,
            # A person Slack refuses for good leaves the programme; their partners are told.
            on_recipient_gone=partial(person_unreachable, default_locale=settings.default_locale),
        ),
    )
