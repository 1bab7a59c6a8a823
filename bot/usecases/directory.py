"""The people refresh: what Slack's directory says about the people taking part.

Daily (scheduler job `people_refresh`) and on demand: pages `users.list` (Tier 2, cursor
pagination; a 429's Retry-After is waited out by the client's retry handler) for participants
who were deactivated or became guests, bots or app users, and runs their departure
(bot.usecases.departure). Then, when a super-admin mapped custom profile fields
(`/mentoring roster fields`), reads `users.profile.get` for each participant (paced under
Tier 4) and writes their roster entry with source "slack"; an entry from a roster file wins.
Both steps are idempotent: a second run the same day changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.delivery import Owed, Pacer
from bot.domain import eligibility, profile_fields
from bot.usecases.departure import DEACTIVATED, NOT_ELIGIBLE, person_departed
from storage import repositories as repo
from storage.models import RosterImport

if TYPE_CHECKING:  # bot.services wires the use cases: imported for types only
    from bot.services import Services

log = logging.getLogger(__name__)

#: users.list page size (Slack recommends at most 200)
USERS_PAGE_SIZE: Final = 200
#: a safety stop: 500 pages of 200 people
USERS_MAX_PAGES: Final = 500
#: users.profile.get is Tier 4 (100 a minute): stay under it
PROFILE_READS_PER_SECOND: Final = 90 / 60


@dataclass
class Refresh:
    """What one refresh found and did (counts only: no personal data in logs)."""

    pages: int = 0
    members: int = 0
    complete: bool = True  # every users.list page was read
    departed: dict[str, str] = field(default_factory=dict)  # user id -> reason
    pairs_ended: int = 0
    profiles: Counter[str] = field(default_factory=Counter)  # created/changed/unchanged/kept
    notes: list[str] = field(default_factory=list)


def _error_code(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or "error")
    return type(error).__name__


def ineligible_members(
    services: Services, wanted: set[str], refresh: Refresh, *, page_size: int | None = None
) -> dict[str, str]:
    """Pages `users.list`; returns the people of `wanted` who may no longer take part, with
    the departure reason. Stops quietly on a failure (what was read still counts)."""
    found: dict[str, str] = {}
    request: dict[str, Any] = {"limit": page_size or USERS_PAGE_SIZE, "include_locale": True}
    for _page in range(USERS_MAX_PAGES):
        try:
            page = services.client.users_list(**request)
        except Exception as error:  # noqa: BLE001 - reported in the run's notes
            refresh.complete = False
            refresh.notes.append(f"users.list failed ({_error_code(error)}): stopped early")
            log.warning("users.list failed", extra={"error": _error_code(error)})
            break
        refresh.pages += 1
        for member in page.get("members") or []:
            if not isinstance(member, dict) or not member.get("id"):
                continue
            refresh.members += 1
            user_id = str(member["id"])
            services.people.remember(member)  # the cache sees the same account
            if user_id not in wanted:
                continue
            reason = eligibility.ineligibility_of_member(member)
            if reason is not None:
                found[user_id] = DEACTIVATED if reason == eligibility.DEACTIVATED else NOT_ELIGIBLE
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
        request["cursor"] = cursor
    return found


def depart(session: Session, owed: Owed, services: Services, departures: dict[str, str]) -> int:
    """Every departure in one unit of work; returns how many pairs ended."""
    ended = 0
    for user_id, reason in sorted(departures.items()):
        ended += person_departed(
            session, owed, user_id, reason, default_locale=services.settings.default_locale
        )
    return ended


def read_profiles(
    client: WebClient, user_ids: list[str], mapping: dict[str, Any], refresh: Refresh
) -> dict[str, dict[str, str | None]]:
    """Each person's roster values from `users.profile.get`, paced under its rate limit; a
    person whose profile cannot be read is left as they are."""
    pacer = Pacer(PROFILE_READS_PER_SECOND)
    values: dict[str, dict[str, str | None]] = {}
    failures: Counter[str] = Counter()
    for user_id in user_ids:
        pacer()
        try:
            profile = client.users_profile_get(user=user_id)["profile"]
        except Exception as error:  # noqa: BLE001 - counted in the run's notes
            failures[_error_code(error)] += 1
            if _error_code(error) in ("missing_scope", "not_authed", "invalid_auth"):
                break  # every other read would fail the same way
            continue
        if isinstance(profile, dict):
            values[user_id] = profile_fields.roster_values(profile, mapping)
    for code, count in sorted(failures.items()):
        refresh.notes.append(f"users.profile.get failed for {count} ({code})")
    return values


def store_profiles(
    session: Session, values: dict[str, dict[str, str | None]], at: datetime, refresh: Refresh
) -> None:
    """Upserts the roster entries (source "slack"); a file's entries are kept. A batch that
    changed something is recorded as a roster import ("slack profile") and audited."""
    outcome: Counter[str] = Counter()
    touched = []
    for user_id in sorted(values):
        result = repo.upsert_slack_roster_entry(session, user_id, values[user_id], at)
        outcome[result] += 1
        if result in ("created", "changed"):
            touched.append(user_id)
    refresh.profiles.update(outcome)
    if not touched:
        return
    digest = hashlib.sha256(
        json.dumps({u: values[u] for u in touched}, sort_keys=True).encode()
    ).hexdigest()
    batch = RosterImport(
        source="slack profile",
        digest=digest,
        full=False,
        rows=len(values),
        created=outcome["created"],
        changed=outcome["changed"],
        created_at=at,
    )
    session.add(batch)
    session.flush()
    for entry in repo.roster_entries_of(session, touched).values():
        entry.import_id = batch.id
        session.add(entry)
    repo.record_audit(
        session,
        actor=None,
        action="roster.slack_refresh",
        target=f"roster_import:{batch.id}",
        detail={k: outcome[k] for k in ("created", "changed", "unchanged", "kept")},
        at=at,
    )


def refresh_people(
    services: Services, at: datetime, *, dry_run: bool = False, page_size: int | None = None
) -> tuple[Refresh, list[Any]]:
    """The whole refresh; returns what it did and the units of work it ran (their `Done`, for
    the job's report: what they queued is delivered by the caller)."""
    refresh = Refresh()
    with services.db.session() as session:
        taking_part = set(repo.active_user_ids(session))
        # The roster's people too: one deactivated before they ever joined is marked as left
        # (and is never invited).
        wanted = taking_part | set(repo.roster_user_ids(session))
        mapping = repo.workspace_setting(session, repo.SLACK_FIELDS_SETTING)
    dones: list[Any] = []
    if not wanted:
        refresh.notes.append("nobody is taking part or on the roster: nothing to refresh")
        return refresh, dones
    departures = ineligible_members(services, wanted, refresh, page_size=page_size)
    if departures:
        done = services.delivery.run(
            lambda session, owed: depart(session, owed, services, departures),
            at=at,
            dry_run=dry_run,
        )
        refresh.departed = departures
        refresh.pairs_ended = int(done.result or 0)
        dones.append(done)
    staying = sorted(taking_part - set(departures))
    if profile_fields.is_mapped(mapping) and staying:
        values = read_profiles(services.client, staying, mapping, refresh)
        dones.append(
            services.delivery.run(
                lambda session, _owed: store_profiles(session, values, at, refresh),
                at=at,
                dry_run=dry_run,
            )
        )
    log.info(
        "people refreshed",
        extra={
            "pages": refresh.pages,
            "members": refresh.members,
            "departed": len(refresh.departed),
            "pairs_ended": refresh.pairs_ended,
            **{f"profiles_{k}": v for k, v in refresh.profiles.items()},
        },
    )
    return refresh, dones
