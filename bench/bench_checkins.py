"""A month's check-ins for N pairs against the simulated Slack with Slack-like limits.

The fake answers chat.postMessage within a per-channel limit (~1/s) and a workspace-wide cap,
and a seeded 5% of posts with 429 + Retry-After: 1. The `checkin` job queues the cycle; a
delivery process is killed (SIGKILL) about halfway through; after the stale-claim window the
resumed delivery reconciles what the dead process may have posted and sends the rest.
Reports the time to queue the cycle, the send rate as a ratio of the cap, lost and duplicated.

The workspace cap is scaled up (default 1,800 posts a minute instead of Slack's ~300) so 4,000
DMs take about two and a half minutes instead of a quarter of an hour; the ratio is what counts.
Sends are paced at the cap by `bot.delivery.Pacer`, shared by `--senders` threads: each 429
pauses only the thread that met it (for its Retry-After), the others keep the pace. A killed
sender leaves at most FAN_OUT_BATCH claimed rows per thread; each is looked up in the DM's
history (Tier 3) before it is posted again.

    python -m bench.bench_checkins [--pairs 2000] [--cap-per-minute 1800] [--senders 4]
                                   [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from bench.databases import bench_database
from bot.delivery import Pacer, outbox
from bot.services import Services, build_services
from bot.settings import Settings, parse_settings
from bot.simulated_slack import FakeSlack
from bot.simulated_slack.rate_limits import SLACK_LIKE
from scheduler.runner import run_job
from storage.db import Database
from storage.models import OutboxMessage, Pair, Participant, Program

TOKEN = "xoxb-bench"
# Small claims: a killed sender leaves at most this many rows per thread to reconcile.
FAN_OUT_BATCH = 5
START = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Berlin


class RunningClock:
    """START plus the real time elapsed since `origin` (wall time, shared by processes),
    plus `skip` (the bench jumps over the ten-minute stale-claim window)."""

    def __init__(self, origin: float, skip: float = 0.0) -> None:
        self.origin, self.skip = origin, skip

    def now(self) -> datetime:
        return START + timedelta(seconds=time.time() - self.origin + self.skip)


def seed(db: Database, fake: FakeSlack, pairs: int) -> None:
    with db.session() as session:
        program = Program(name="Bench", timezone="Europe/Berlin")
        session.add(program)
        session.flush()
        people = []
        for index in range(2 * pairs):
            user = f"UB{index:06d}"
            fake.add_user(user, tz="Europe/Berlin")
            people.append(
                Participant(
                    program_id=program.id or 0,
                    slack_user_id=user,
                    role="mentor" if index < pairs else "mentee",
                    status="paired",
                    timezone="Europe/Berlin",
                    topics_offered=["ai_tools"],
                    topics_wanted=["ai_tools"],
                )
            )
        session.add_all(people)
        session.flush()
        session.add_all(
            Pair(
                program_id=program.id or 0,
                mentor_id=people[i].id or 0,
                mentee_id=people[pairs + i].id or 0,
                status="active",
            )
            for i in range(pairs)
        )


def services_for(settings: Settings, clock: RunningClock) -> Services:
    return build_services(settings, clock=clock)


def deliver(services: Services, senders: int, per_second: float, until: float) -> None:
    """`senders` threads draining the outbox, paced together at `per_second`."""
    pacer = Pacer(per_second)

    def drain() -> None:
        while time.monotonic() < until:
            sent = services.delivery.sender.flush(
                owner=f"bench:{os.getpid()}:{threading.get_ident()}",
                budget_seconds=5,
                pacer=pacer,
                batch=FAN_OUT_BATCH,
            )
            if sent == 0 and not pending(services.db):
                return

    threads = [threading.Thread(target=drain) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def pending(db: Database) -> int:
    with db.session() as session:
        return len(
            session.exec(
                select(OutboxMessage.id).where(OutboxMessage.status.in_(["pending", "sending"]))  # type: ignore[attr-defined]
            ).all()
        )


def child(settings: Settings, origin: float, senders: int, per_second: float) -> None:
    services = services_for(settings, RunningClock(origin))
    deliver(services, senders, per_second, time.monotonic() + 3600)


def posted_keys(fake: FakeSlack) -> Counter[str]:
    keys: Counter[str] = Counter()
    for call in fake.calls("chat.postMessage"):
        if call.ok:
            metadata = call.params.get("metadata") or {}
            keys[(metadata.get("event_payload") or {}).get("key")] += 1
    return keys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--cap-per-minute", type=int, default=1800)
    parser.add_argument("--senders", type=int, default=4, help="sending threads per process")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()
    logging.getLogger("scheduler").setLevel(logging.ERROR)  # 429s are expected here
    cap = args.cap_per_minute / 60.0
    limits = SLACK_LIKE.with_changes(post_per_minute=args.cap_per_minute)

    with (
        tempfile.TemporaryDirectory() as folder,
        bench_database(args.database_url, Path(folder)) as url,
        FakeSlack(bot_token=TOKEN, rate_limits=limits) as fake,
    ):
        db = Database(url)
        db.migrate()
        seed(db, fake, args.pairs)
        env = {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": "bench",
            "SLACK_API_URL": fake.api_url,
            "DATABASE_URL": url,
            "ADMIN_USER_IDS": "UADMIN",
        }
        settings = parse_settings(env)
        origin = time.time()
        services = services_for(settings, RunningClock(origin))

        started = time.perf_counter()
        report = run_job(services, "checkin", services.clock.now())
        queue_seconds = time.perf_counter() - started
        assert report is not None
        expected = set(report.keys)
        fake.random_rate_limits(0.05, retry_after=1, seed=11, methods=["chat.postMessage"])

        # A delivery process, killed without warning about halfway through.
        process = multiprocessing.get_context("fork").Process(
            target=child, args=(settings, origin, args.senders, cap)
        )
        first_started = time.perf_counter()
        process.start()
        while len(posted_keys(fake)) < len(expected) // 2 and process.is_alive():
            time.sleep(0.5)
        os.kill(process.pid or 0, signal.SIGKILL)
        process.join()
        first_seconds = time.perf_counter() - first_started
        first_sent = sum(posted_keys(fake).values())

        # Resume after the stale-claim window (the clock jumps over it).
        resumed = services_for(settings, RunningClock(origin, skip=outbox.STALE_CLAIM.seconds + 1))
        second_started = time.perf_counter()
        deliver(resumed, args.senders, cap, time.monotonic() + 1800)
        second_seconds = time.perf_counter() - second_started
        keys = posted_keys(fake)
        total = sum(keys.values())
        limited = sum(1 for c in fake.calls("chat.postMessage") if c.status == 429)
        db.dispose()

    lost = len(expected - set(keys))
    duplicated = sum(count - 1 for key, count in keys.items() if count > 1)
    first_rate = first_sent / first_seconds
    second_rate = (total - first_sent) / second_seconds if second_seconds else 0.0
    overall = total / (first_seconds + second_seconds)
    print(f"{args.pairs} pairs, {len(expected)} check-in DMs on {url.split(':')[0]}")
    print(f"  queue the cycle   {queue_seconds:6.2f} s")
    print(f"  workspace cap     {cap:6.1f} posts/s (scaled; Slack's is ~5/s)")
    print(f"  first process     {first_rate:6.1f} posts/s = {first_rate / cap:.2f} of the cap")
    print(f"  resumed process   {second_rate:6.1f} posts/s = {second_rate / cap:.2f} of the cap")
    print(f"  overall           {overall:6.1f} posts/s = {overall / cap:.2f} of the cap")
    print(f"  429 answers       {limited}")
    print(f"  lost {lost}, duplicated {duplicated}")
    return 0 if lost == 0 and duplicated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
