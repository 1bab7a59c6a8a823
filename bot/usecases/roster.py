"""Importing the HR roster: preview (parse, resolve emails with Slack, plan) and apply (one
transaction). Used by the CLI (`reverse-mentoring roster import`) and the Slack modal.

Emails become Slack user ids with `users.lookupByEmail` (Tier 3: about 50 a minute), paced
for that tier and waiting out any 429's Retry-After. Emails an earlier import resolved are not
asked again. A roster with more new emails than `SCAN_ABOVE` reads the directory with
`users.list` instead (Tier 2, up to 1,000 people a page): 10,000 lookups would take Slack's
tier over three hours, ten pages take seconds.
"""

from __future__ import annotations

import hashlib
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web import SlackResponse
from sqlmodel import Session

from bot.delivery import Delivery, Owed
from bot.domain.roster import (
    MAX_BYTES,
    TOO_BIG,
    EntryValues,
    ParsedRoster,
    Problem,
    RosterPlan,
    parse_roster,
    plan_import,
)
from bot.i18n import N_
from bot.slack_api import with_retries
from bot.usecases.departure import MISSING_FROM_ROSTER, person_departed
from storage import repositories as repo
from storage.db import Database
from storage.models import RosterEntry, RosterImport, RosterSource, utcnow

log = logging.getLogger(__name__)

LOOKUP_PER_MINUTE = 50  # users.lookupByEmail: Tier 3
LIST_PER_MINUTE = 20  # users.list: Tier 2
# Calls a quiet client may make at once before the pace applies: Slack tolerates short bursts
# of a few seconds' worth of its tier; one call of it is left for the latency (Tier 3: 4
# lookups, Tier 2: 2 pages).
LOOKUP_BURST = 4
LIST_BURST = 2
SCAN_ABOVE = 50  # more new emails than this (a minute of lookups): read the directory instead
LIST_PAGE = 1000
LIMITED_IN_A_ROW = 20  # 429s for one call before the import gives up (Slack is not itself)

SLACK_REFUSED = N_(
    "Slack refused {method} ({error}). If it says missing_scope, add the scope "
    "users:read.email to the app and reinstall it."
)
UNREACHABLE = N_("Slack could not be reached for {method} ({error}). Try again in a while.")
DOWNLOAD_FAILED = N_(
    "Slack did not hand over the file ({reason}). Upload it again; if this persists, the app "
    "needs the files:read scope."
)


class RosterSlackError(Exception):
    """Slack refused a call the import needs (not a rate limit): nothing was applied."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.text())
        self.problem = problem


@dataclass
class LookupFigures:
    lookups: int = 0  # users.lookupByEmail calls
    list_pages: int = 0  # users.list calls
    rate_limited: int = 0  # answers 429
    waited: float = 0.0  # seconds spent pacing and waiting out Retry-After


class _Pace:
    """A token bucket on the caller's side: `burst` calls at once, then `per_minute`."""

    def __init__(
        self, per_minute: float, burst: int, clock: Callable[[], float], sleep: SleepFn
    ) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(1, burst))
        self.tokens = self.capacity
        self.clock, self.sleep = clock, sleep
        self.stamp = clock()

    def take(self) -> float:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        wait = 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate
        if wait > 0:
            self.sleep(wait)
            self.tokens += wait * self.rate
            self.stamp = self.clock()
        self.tokens -= 1.0
        return wait


SleepFn = Callable[[float], None]


class SlackDirectory:
    """Emails -> Slack user ids, asked of Slack at its pace (see the module)."""

    def __init__(
        self,
        client: WebClient,
        *,
        lookup_per_minute: float = LOOKUP_PER_MINUTE,
        list_per_minute: float = LIST_PER_MINUTE,
        burst: int = LOOKUP_BURST,
        list_burst: int = LIST_BURST,
        scan_above: int = SCAN_ABOVE,
        sleep: SleepFn = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # 429s come back to us (counted, Retry-After waited out here), not to slack_sdk.
        self.client = with_retries(
            client,
            "roster",
            [
                ConnectionErrorRetryHandler(max_retry_count=3),
                ServerErrorRetryHandler(max_retry_count=3),
            ],
        )
        self.scan_above = scan_above
        self.sleep = sleep
        self.figures = LookupFigures()
        self._lookup_pace = _Pace(lookup_per_minute, burst, clock, sleep)
        self._list_pace = _Pace(list_per_minute, list_burst, clock, sleep)

    def resolve(self, emails: Iterable[str]) -> dict[str, str | None]:
        """Each email's active Slack user (None: nobody, or a deactivated account)."""
        wanted = sorted(set(emails))
        if len(wanted) > self.scan_above:
            found = self._scan()
            return {email: found.get(email) for email in wanted}
        return {email: self._lookup(email) for email in wanted}

    def _call(
        self, method: str, pace: _Pace, call: Callable[[], SlackResponse]
    ) -> dict[str, Any] | None:
        """The answer, None for users_not_found; a 429 is waited out and asked again."""
        limited = 0
        while True:
            self.figures.waited += pace.take()
            try:
                return dict(call().data)  # type: ignore[arg-type]
            except SlackApiError as error:
                if error.response.status_code == 429 and limited < LIMITED_IN_A_ROW:
                    limited += 1
                    self.figures.rate_limited += 1
                    retry = float(error.response.headers.get("Retry-After", "1") or 1)
                    self.figures.waited += retry
                    self.sleep(retry)
                    continue
                code = str(error.response.get("error"))
                if code == "users_not_found":
                    return None
                raise RosterSlackError(
                    Problem(SLACK_REFUSED, params={"method": method, "error": code})
                ) from None
            except (OSError, SlackClientError) as error:  # the network, after its retries
                raise RosterSlackError(
                    Problem(UNREACHABLE, params={"method": method, "error": type(error).__name__})
                ) from None
            finally:
                if method == "users.lookupByEmail":
                    self.figures.lookups += 1
                else:
                    self.figures.list_pages += 1

    def _lookup(self, email: str) -> str | None:
        answer = self._call(
            "users.lookupByEmail",
            self._lookup_pace,
            lambda: self.client.users_lookupByEmail(email=email),
        )
        user = (answer or {}).get("user") or {}
        return None if not user or user.get("deleted") else str(user["id"])

    def _scan(self) -> dict[str, str]:
        """Every active person's email in the workspace (users.list, page by page)."""
        found: dict[str, str] = {}
        cursor = ""
        while True:
            answer = self._call(
                "users.list",
                self._list_pace,
                lambda c=cursor: self.client.users_list(limit=LIST_PAGE, cursor=c or None),
            )
            for user in (answer or {}).get("members") or []:
                email = str((user.get("profile") or {}).get("email") or "").lower()
                if email and not user.get("deleted") and not user.get("is_bot"):
                    found[email] = str(user["id"])
            cursor = str(((answer or {}).get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return found


# ---------------------------------------------------------------- preview


@dataclass
class RosterPreview:
    """What importing a file would do (nothing is written to make it)."""

    name: str
    digest: str
    full: bool
    parsed: ParsedRoster
    plan: RosterPlan
    user_ids: dict[str, str | None] = field(default_factory=dict)
    figures: LookupFigures = field(default_factory=LookupFigures)
    same_file_as: int | None = None  # an earlier import of these very bytes


def _stored(session: Session) -> tuple[dict[str, EntryValues], set[str]]:
    entries = repo.roster_entries(session)
    values = {user: _values_of(entry) for user, entry in entries.items()}
    return values, {user for user, entry in entries.items() if entry.left_at is None}


def _values_of(entry: RosterEntry) -> EntryValues:
    return EntryValues(
        email=entry.email,
        department=entry.department,
        manager_slack_id=entry.manager_slack_id,
        title=entry.title,
        office=entry.office,
        country=entry.country,
        hire_date=entry.hire_date,
        level=entry.level,
    )


def preview_roster(
    db: Database, directory: SlackDirectory, data: bytes, *, name: str, full: bool
) -> RosterPreview:
    """Reads the file, resolves its new emails with Slack and plans the import."""
    digest = hashlib.sha256(data).hexdigest()
    parsed = parse_roster(data)
    with db.session() as session:
        known = repo.roster_user_ids_by_email(session)
        existing, active = _stored(session)
        earlier = repo.roster_import_with_digest(session, digest)
    user_ids: dict[str, str | None] = dict(known)
    if parsed.rows:
        user_ids.update(directory.resolve(parsed.emails - known.keys()))
    plan = plan_import(parsed, user_ids, existing, active, full=full)
    return RosterPreview(
        name=name,
        digest=digest,
        full=full,
        parsed=parsed,
        plan=plan,
        user_ids=user_ids,
        figures=directory.figures,
        same_file_as=earlier.id if earlier is not None else None,
    )


def too_big(size: int) -> RosterPreview:
    """The preview of a file refused for its size before it was read."""
    problem = Problem(TOO_BIG, params={"size": f"{size / 1024 / 1024:.1f}"})
    parsed = ParsedRoster(problems=[problem])
    return RosterPreview(
        name="", digest="", full=False, parsed=parsed, plan=RosterPlan(problems=[problem])
    )


# ---------------------------------------------------------------- apply


@dataclass(frozen=True)
class Applied:
    import_id: int | None  # None: nothing changed, nothing written
    created: int
    changed: int
    left: int


def apply_roster(
    delivery: Delivery,
    preview: RosterPreview,
    *,
    actor: str | None,
    source: str,
    default_locale: str,
) -> Applied:
    """Writes the previewed import in one transaction (re-planned against what is stored now),
    with the audit entry and the notices owed to partners of people who leave; then delivers
    them. A preview with problems is never applied (the caller shows them)."""
    if preview.plan.blocking:
        raise ValueError("a roster with problems is not applied")

    def work(session: Session, owed: Owed) -> Applied:
        existing, active = _stored(session)
        plan = plan_import(preview.parsed, preview.user_ids, existing, active, full=preview.full)
        if plan.blocking or plan.no_change:
            return Applied(None, 0, 0, 0)
        record = RosterImport(
            source=source[:200],
            digest=preview.digest,
            full=preview.full,
            rows=plan.rows,
            created=len(plan.created),
            changed=len(plan.changed),
            left=len(plan.leaving),
            created_by=actor,
        )
        session.add(record)
        session.flush()
        now = utcnow()
        session.add_all(
            RosterEntry(
                slack_user_id=user_id,
                source=RosterSource.FILE,
                import_id=record.id,
                updated_at=now,
                **values.__dict__,
            )
            for user_id, values in plan.created.items()
        )
        entries = repo.roster_entries(session) if plan.changed or plan.leaving else {}
        for user_id, values in plan.changed.items():
            entry = entries[user_id]
            for name, value in values.__dict__.items():
                setattr(entry, name, value)
            entry.import_id, entry.updated_at = record.id, now
            entry.left_at = entry.left_reason = None
            entry.source = RosterSource.FILE
        for user_id in plan.leaving:
            entry = entries[user_id]
            entry.left_at, entry.left_reason = now, MISSING_FROM_ROSTER
            entry.import_id, entry.updated_at = record.id, now
            leave_programmes(session, owed, user_id, default_locale=default_locale)
        repo.record_audit(
            session,
            actor=actor,
            action="roster.import",
            detail={
                "import_id": record.id,
                "rows": plan.rows,
                "created": len(plan.created),
                "changed": len(plan.changed),
                "left": len(plan.leaving),
                "full": preview.full,
            },
        )
        return Applied(record.id, len(plan.created), len(plan.changed), len(plan.leaving))

    applied = delivery.run_and_deliver(work)
    log.info(
        "roster imported",
        extra={
            "import_id": applied.import_id,
            "entries_created": applied.created,
            "entries_changed": applied.changed,
            "entries_left": applied.left,
        },
    )
    return applied


def leave_programmes(session: Session, owed: Owed, user_id: str, *, default_locale: str) -> None:
    """A person the full roster no longer lists leaves every programme kindly: their pairs
    end, partners are told and go back to the pool, what was queued for them is cancelled."""
    person_departed(session, owed, user_id, MISSING_FROM_ROSTER, default_locale=default_locale)


# ---------------------------------------------------------------- a file shared in Slack


def download(url: str, token: str, allowed_prefixes: Iterable[str]) -> bytes:
    """The bytes of a file shared in Slack (`url_private_download`), with the bot token; only
    from Slack's own hosts, and at most MAX_BYTES + 1 (so a too-big file is refused unread)."""
    if not any(url.startswith(prefix) for prefix in allowed_prefixes):
        raise RosterSlackError(Problem(DOWNLOAD_FAILED, params={"reason": "not a Slack file"}))
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - checked
            kind = str(response.headers.get("Content-Type") or "")
            data = bytes(response.read(MAX_BYTES + 1))
    except urllib.error.HTTPError as error:
        reason = f"HTTP {error.code}"
        raise RosterSlackError(Problem(DOWNLOAD_FAILED, params={"reason": reason})) from None
    except (urllib.error.URLError, TimeoutError) as error:
        reason = type(error).__name__
        raise RosterSlackError(Problem(DOWNLOAD_FAILED, params={"reason": reason})) from None
    if kind.startswith("text/html"):  # Slack's sign-in page: the token may not read files
        raise RosterSlackError(Problem(DOWNLOAD_FAILED, params={"reason": "sign-in page"}))
    return data


def slack_file_hosts(api_url: str) -> list[str]:
    """Where Slack serves shared files: files.slack.com, or the host of SLACK_API_URL (the
    simulated Slack)."""
    parts = urllib.parse.urlsplit(api_url)
    return ["https://files.slack.com/", f"{parts.scheme}://{parts.netloc}/"]
