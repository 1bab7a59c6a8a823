"""A recruiting campaign to 5,000 people: the time to queue it, and its delivery rate against
the workspace's posting cap.

Seeds a roster of N people in the segment (plus 10% outside it, left out by the filter) and
a programme open for enrollment, with every person in the simulated Slack (German, English and
Vietnamese in turn; all in Berlin's zone, since no moment is inside the working day of Berlin,
Hanoi and New York at once, and the bench starts on a Monday at 09:00 there, so all are due).
The people directory is preloaded from users.list first, as the served app does at start (not
timed). Then:

- **queue**: `bot.usecases.campaigns.send`, what the Send button runs: the segment, the
  campaign, one invitation per person and one outbox row each in ONE transaction, and the audit
  entry (the modal's answer follows it at once);
- **deliver**: a delivery process of its own (forked; the simulated Slack stays in this one)
  drains the outbox with `--senders` threads paced together at the cap by `Pacer`, each
  message checked for relevance as it leaves, as the scheduler's outbox run does.

The simulated Slack applies Slack-like limits (about one post a second per channel, a
workspace-wide cap, scaled to `--cap-per-minute` so the run takes minutes, not half an hour);
`--random-429 0.05` also answers that share of posts 429 with Retry-After: 1.

    python -m bench.bench_campaign [--people 5000] [--cap-per-minute 1800] [--senders 4]
                                   [--random-429 0] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

from sqlmodel import select

from bench.databases import bench_database
from bot.delivery import Pacer
from bot.domain.campaigns import Segment
from bot.services import Services, build_services
from bot.settings import Settings, parse_settings
from bot.simulated_slack import FakeSlack
from bot.simulated_slack.rate_limits import SLACK_LIKE
from bot.usecases import campaigns
from storage.db import Database
from storage.models import CampaignInvite, OutboxMessage, Program, ProgramStatus, RosterEntry

TOKEN = "xoxb-bench"
START = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Berlin
BATCH = 20
LOCALES = ("de-DE", "en-US", "vi-VN")


class RunningClock:
    """START plus the real time elapsed since `origin` (wall time, shared by processes)."""

    def __init__(self, origin: float) -> None:
        self.origin = origin

    def now(self) -> datetime:
        return START + timedelta(seconds=time.time() - self.origin)


def seed(db: Database, fake: FakeSlack, people: int) -> int:
    """The programme and the roster; returns the programme's id."""
    outside = people // 10
    with db.session() as session:
        program = Program(
            name="Bench",
            timezone="Europe/Berlin",
            status=ProgramStatus.ENROLLING,
            start_date=date(2027, 1, 1),
            end_date=date(2027, 12, 31),
        )
        session.add(program)
        session.flush()
        rows = []
        for index in range(people + outside):
            user = f"UC{index:06d}"
            fake.add_user(user, tz="Europe/Berlin", locale=LOCALES[index % 3])
            rows.append(
                RosterEntry(
                    slack_user_id=user,
                    department="Engineering" if index < people else "Finance",
                    country=("Germany", "Vietnam", "USA")[index % 3],
                    office=("Berlin", "Hanoi", "New York")[index % 3],
                    title="Software Engineer",
                    level=index % 8,
                    hire_date=date(2015, 1, 1) + timedelta(days=index % 3000),
                )
            )
        session.add_all(rows)
        session.flush()
        return program.id or 0


def pending(db: Database) -> int:
    with db.session() as session:
        return len(
            session.exec(
                select(OutboxMessage.id).where(OutboxMessage.status.in_(["pending", "sending"]))  # type: ignore[attr-defined]
            ).all()
        )


def deliver(services: Services, senders: int, per_second: float) -> None:
    """`senders` threads draining the outbox, paced together at `per_second`."""
    pacer = Pacer(per_second)

    def drain() -> None:
        while True:
            sent = services.delivery.sender.flush(
                owner=f"bench:{os.getpid()}:{threading.get_ident()}",
                budget_seconds=5,
                pacer=pacer,
                batch=BATCH,
            )
            if sent == 0 and not pending(services.db):
                return

    threads = [threading.Thread(target=drain) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def child(settings: Settings, origin: float, senders: int, per_second: float) -> None:
    logging.getLogger("bot").setLevel(logging.ERROR)
    deliver(build_services(settings, clock=RunningClock(origin)), senders, per_second)


def posted_keys(fake: FakeSlack) -> Counter[str]:
    keys: Counter[str] = Counter()
    for call in fake.calls("chat.postMessage"):
        if call.ok:
            metadata = call.params.get("metadata") or {}
            keys[(metadata.get("event_payload") or {}).get("key")] += 1
    return keys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--cap-per-minute", type=int, default=1800)
    parser.add_argument("--senders", type=int, default=4, help="sending threads")
    parser.add_argument("--random-429", type=float, default=0.0, help="share of posts refused")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    logging.getLogger("bot").setLevel(logging.ERROR)  # 429s and the preload are expected
    cap = args.cap_per_minute / 60.0
    # users.list unlimited: the directory's preload at start is not what is measured here.
    per_minute = dict(SLACK_LIKE.per_minute) | {"users.list": 0}
    limits = SLACK_LIKE.with_changes(
        post_per_minute=args.cap_per_minute, per_minute=MappingProxyType(per_minute)
    )

    with (
        tempfile.TemporaryDirectory() as folder,
        bench_database(args.database_url, Path(folder)) as url,
        FakeSlack(bot_token=TOKEN, rate_limits=limits) as fake,
    ):
        db = Database(url)
        db.migrate()
        program_id = seed(db, fake, args.people)
        settings = parse_settings(
            {
                "SLACK_BOT_TOKEN": TOKEN,
                "SLACK_SIGNING_SECRET": "bench",
                "SLACK_API_URL": fake.api_url,
                "DATABASE_URL": url,
                "ADMIN_USER_IDS": "UADMIN",
            }
        )
        origin = time.time()
        services = build_services(settings, clock=RunningClock(origin))
        services.people.preload(max_pages=100)
        segment = Segment(department="Engineering")

        started = time.perf_counter()
        preview = campaigns.preview(services, program_id, segment)
        preview_seconds = time.perf_counter() - started
        started = time.perf_counter()
        sent = campaigns.send(
            services, program_id=program_id, role="mentor", segment=segment, actor="UADMIN"
        )
        queue_seconds = time.perf_counter() - started
        with db.session() as session:
            invited = len(session.exec(select(CampaignInvite.id)).all())
            expected = set(session.exec(select(OutboxMessage.dedupe_key)).all())
        if args.random_429:
            fake.random_rate_limits(
                args.random_429, retry_after=1, seed=11, methods=["chat.postMessage"]
            )

        process = multiprocessing.get_context("fork").Process(
            target=child, args=(settings, origin, args.senders, cap)
        )
        delivery_started = time.perf_counter()
        process.start()
        process.join()
        delivery_seconds = time.perf_counter() - delivery_started
        keys = posted_keys(fake)
        limited = sum(1 for c in fake.calls("chat.postMessage") if c.status == 429)
        db.dispose()

    total = sum(keys.values())
    lost = len(expected - set(keys))
    duplicated = sum(count - 1 for count in keys.values() if count > 1)
    rate = total / delivery_seconds if delivery_seconds else 0.0
    print(f"campaign to {args.people} people on {url.split(':')[0]}")
    print(f"  preview           {preview_seconds:6.2f} s ({preview.count} people)")
    print(f"  queue (Send)      {queue_seconds:6.2f} s ({sent.count} invitations, {invited} rows)")
    print(f"  workspace cap     {cap:6.1f} posts/s (scaled; Slack's is ~5/s)")
    print(f"  delivered         {total} in {delivery_seconds:.1f} s")
    print(f"  delivery rate     {rate:6.1f} posts/s = {rate / cap:.2f} of the cap")
    print(f"  429 answers       {limited}")
    print(f"  lost {lost}, duplicated {duplicated}")
    ok = sent.count == args.people and lost == 0 and duplicated == 0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
