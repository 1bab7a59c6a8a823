"""A soak: 200 people, 6 simulated months, every job on its schedule, faults at random.

The app runs as it does in production, in processes of its own: the HTTP server (the one
`serve --http` runs: `bot.server.Runtime` on `bot.http_server`, its scheduler left out) and a
delivery process draining the outbox as the scheduler's `deliver_outbox` does. Both read a
shared simulated clock (a file: a simulated moment and the real time it was set, so time
passes at real speed between jumps, as `jobs run --at` does). This process plays Slack (the
simulated Slack, `bot.simulated_slack`, with Slack's rate limits), the people (signed requests
to POST /slack/events) and the scheduler: it walks every job's schedule (`JOBS`, the
programme's crontabs) over the months and runs each fire through `scheduler.runner.run_job`,
then lets the delivery process send what it queued.

The people: an admin sets the programme up through `/mentoring program`; everyone enrolls
through `/mentoring join` and its modal; the admin matches them (`/mentoring match`, the review
approved). Then, as messages arrive, people click check-in buttons, answer match checks and
pulse surveys (some twice at once: a double click), and some leave mid-cycle (`/mentoring
leave`, which ends their pair).

Faults, at random moments: PostgreSQL restarted (`--private-postgres`: a cluster of its own,
restarted with pg_ctl; with `--database-url` every backend of the soak's database is
terminated instead, the shared server is never restarted); the delivery process SIGKILLed
while a post is in flight (held by Slack, which then takes effect), and restarted; storms of
429s and of 500/503 answers; answers Slack never sends (the post took effect); double clicks.

At the end every outbox row must have been posted exactly once (the simulated Slack's
chat.postMessage record, by the dedupe key in the message metadata) or cancelled with its
reason; no key posted twice; every closed pulse or match-check round's tallies must count each
participation once (tallies = participation markers <= people who clicked, >= those told
"counted"), nobody told "counted" twice; and no request answered with an HTTP 5xx.
Exits 1 on a violation.

    python -m bench.bench_soak [--people 200] [--months 6] [--seed 1]
                               [--private-postgres | --database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bench.databases import bench_database
from bot.simulated_slack import FakeSlack
from bot.simulated_slack import signed_requests as sr
from bot.simulated_slack.rate_limits import SLACK_LIKE
from bot.simulated_slack.signed_requests import SlackRequests

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "xoxb-soak"
SECRET = "soak-signing-secret"
PULSE_SECRET = "soak-pulse-secret-0123456789-abcdefgh"
ADMIN = "USOAKADMIN"
START = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)  # a Monday; the programme starts that day
TOPICS = ["ai_tools", "social_media", "cybersecurity_hygiene", "data_literacy"]
AFTERWARDS = timedelta(days=14)  # the jobs run on after the last month, without faults
DRAIN_WAIT_S = 20.0  # at most this long (real) for the due messages after each step
POSTS_PER_MINUTE = 3000  # Slack's workspace cap on posts, scaled up (as bench_checkins does)
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
log = logging.getLogger("bench.soak")


# The shared clock ---------------------------------------------------------------------------


class SharedClock:
    """The simulated now, shared by processes through a 16-byte file: (simulated epoch, real
    epoch when it was set); it passes at real speed until the next jump."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def set(self, when: datetime) -> None:
        if os.fstat(self._fd).st_size == 16 and when < self.now():
            return  # time only moves forward
        os.pwrite(self._fd, struct.pack("<dd", when.timestamp(), time.time()), 0)

    def now(self) -> datetime:
        while True:
            first = os.pread(self._fd, 16, 0)
            if len(first) == 16 and first == os.pread(self._fd, 16, 0):
                simulated, real = struct.unpack("<dd", first)
                return datetime.fromtimestamp(simulated + time.time() - real, UTC)


# The app's processes --------------------------------------------------------------------------


def _settings_env(api_url: str, database_url: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "ADMIN_USER_IDS": ADMIN,
        "PULSE_SECRET": PULSE_SECRET,
        "DEFAULT_LOCALE": "en",
        "LOG_LEVEL": "WARNING",
    }


def serve(port: int, clock_path: Path) -> int:
    """The server process: `serve --http`'s runtime on the shared clock, without a scheduler."""
    from bot import http_server
    from bot.logs import configure_logging
    from bot.server import Runtime, freeze_startup_objects
    from bot.settings import parse_settings

    settings = parse_settings(dict(os.environ))
    configure_logging(settings.log_level)
    listener = http_server.bind("127.0.0.1", port)
    assert not isinstance(listener, str), listener

    def start() -> http_server.Started:
        runtime = Runtime(
            settings, with_scheduler=False, clock=SharedClock(clock_path), preload_directory=True
        )
        freeze_startup_objects()
        runtime.start()
        return runtime.wsgi, runtime.stop

    return http_server.serve(listener, start, workers=1, threads=32)


def send(clock_path: Path) -> int:
    """The delivery process: what the scheduler's `deliver_outbox` does, in a loop (a run
    that fails, the database gone, is logged and the next one tries again)."""
    from bot.logs import configure_logging
    from bot.services import build_services
    from bot.settings import parse_settings
    from scheduler.runner import deliver_outbox

    settings = parse_settings(dict(os.environ))
    configure_logging(settings.log_level)
    services = build_services(settings, clock=SharedClock(clock_path))
    while True:
        try:
            if not deliver_outbox(services):
                time.sleep(0.1)
        except Exception:  # noqa: BLE001 - as APScheduler would: logged, the next run retries
            logging.getLogger("bench.soak.sender").exception("delivery run failed")
            time.sleep(0.5)


class Process:
    """One of the app's processes (`--role server|sender` of this module)."""

    def __init__(self, role: str, env: dict[str, str], folder: Path, *extra: str) -> None:
        self.role, self.env, self.folder, self.extra = role, env, folder, extra
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        command = [sys.executable, "-m", "bench.bench_soak", "--role", self.role, *self.extra]
        command += ["--clock", str(self.folder / "clock")]
        log_file = (self.folder / f"{self.role}.log").open("a")
        self.process = subprocess.Popen(
            command, env=self.env, cwd=ROOT, stderr=log_file, stdout=log_file
        )
        self.starts += 1

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(port: int, process: Process) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            _OPENER.open(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return
        except OSError:
            assert process.process is not None
            if time.monotonic() > deadline or process.process.poll() is not None:
                raise
            time.sleep(0.2)


# PostgreSQL -----------------------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster of the soak's own (initdb in a temporary folder), so restarting it
    disturbs nobody else. As root, the server runs as the `postgres` user."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder / "pg", port
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        found = shutil.which("pg_ctl")
        self.bin = Path(found).parent if found else (bins[-1] if bins else Path("/usr/bin"))
        self.as_postgres = os.geteuid() == 0

    def _run(self, *command: str) -> None:
        line = " ".join(command)
        if self.as_postgres:
            subprocess.run(["su", "postgres", "-c", line], check=True, capture_output=True)
        else:
            subprocess.run(line, shell=True, check=True, capture_output=True)

    def start(self) -> str:
        self.folder.mkdir(parents=True)
        if self.as_postgres:
            shutil.chown(self.folder.parent, "postgres")
            shutil.chown(self.folder, "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.folder), "-A", "trust", "-U postgres")
        self._ctl("start")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, action: str) -> None:
        options = f"'-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1'"
        log_file = self.folder.parent / "postgres.log"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.folder), "-o", options,
            "-l", str(log_file), "-w", "-m", "fast", action,
        )  # fmt: skip

    def restart(self) -> None:
        self._ctl("restart")

    def stop(self) -> None:
        with suppress(subprocess.CalledProcessError):
            self._ctl("stop")


def terminate_backends(database_url: str) -> int:
    """Every connection to the soak's database dropped (the server itself is shared)."""
    url = make_url(database_url)
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": url.database},
            ).all()
        return len(rows)
    finally:
        engine.dispose()


# The people -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the people did and what they were told."""

    requests: Counter[int] = field(default_factory=Counter)  # HTTP status -> count
    failed_requests: Counter[str] = field(default_factory=Counter)  # no answer at all
    clicks: Counter[str] = field(default_factory=Counter)
    # (round id, user, pair id) -> how many clicks or submissions, and how many told "counted"
    # (a mentor with two mentees answers a match check once per pair)
    answered: dict[tuple[int, str, int], int] = field(default_factory=lambda: defaultdict(int))
    counted: dict[tuple[int, str, int], int] = field(default_factory=lambda: defaultdict(int))
    left: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self, response: sr.Response) -> sr.Response:
        with self.lock:
            self.requests[response.status] += 1
        return response


RECORDED_REPLIES = (
    "Thank you! Your answer was counted anonymously.",
    "Thanks for telling us. Only the programme team sees your request",
    "Thank you! Your answers were added to the totals anonymously.",
)


class People:
    def __init__(self, fake: FakeSlack, app_url: str, tally: Tally, seed: int) -> None:
        self.fake = fake
        self.slack = SlackRequests(app_url, SECRET, fake=fake, timeout=30)
        self.tally = tally
        self.rng = random.Random(seed)
        self.seen_posts = 0
        self.updates: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.pool = ThreadPoolExecutor(max_workers=16)

    def request(self, send: Callable[[], sr.Response], what: str) -> sr.Response | None:
        try:
            return self.tally.status(send())
        except OSError as error:
            with self.tally.lock:
                self.tally.failed_requests[f"{what}: {type(error).__name__}"] += 1
            return None

    def modal(self, user_id: str, response: sr.Response | None) -> dict[str, Any] | None:
        """The modal the request's trigger opened (None when it did not)."""
        if response is None or response.status != 200 or response.trigger_id is None:
            return None
        trigger = response.trigger_id

        def opened(call: Any) -> bool:
            return bool(call.params.get("trigger_id") == trigger and call.ok)

        try:
            call = self.fake.wait_for("views.open", opened, 10)
        except AssertionError:
            return None
        return dict(call.response["view"]) if call.response else None

    def setup(self, people: list[str], months: int) -> None:
        from bench.bench_surge import enrollment_values, program_values

        values = program_values()
        end = (START + timedelta(days=30 * months + 14)).date().isoformat()
        values["end_date"] = sr.values_from({"end_date": sr.datepicker(end)})["end_date"]
        values["start_date"] = sr.values_from(
            {"start_date": sr.datepicker(START.date().isoformat())}
        )["start_date"]
        values["pulse_cadence"] = sr.values_from({"p": sr.static_select("monthly")})["p"]
        admin = ADMIN
        view = self.modal(admin, self.request(lambda: self.slack.command(admin, "program"), "cmd"))
        assert view is not None, "the programme modal did not open"
        saved = self.request(lambda: self.slack.view_submission(admin, view, values), "submit")
        assert saved is not None and saved.status == 200, saved

        def enroll(index: int) -> None:
            user = people[index]
            role = "mentor" if index % 2 == 0 else "mentee"
            topic = TOPICS[(index // 2) % len(TOPICS)]
            offered, wanted = (
                ([topic, TOPICS[(index + 1) % 4]], []) if role == "mentor" else ([], [topic])
            )
            opened = self.modal(user, self.request(lambda: self.slack.command(user, "join"), "cmd"))
            assert opened is not None, f"no enrollment modal for {user}"
            chosen = enrollment_values(role, offered, wanted)
            chosen |= sr.values_from({"languages": sr.multi_static_select(["en"])})
            answer = self.request(
                lambda: self.slack.view_submission(user, opened, chosen), "submit"
            )
            assert answer is not None and answer.status == 200, answer

        list(self.pool.map(enroll, range(len(people))))

    def match(self) -> None:
        def is_review(call: Any) -> bool:
            return bool(call.params["view"].get("callback_id") == "match_review")

        before = len([c for c in self.fake.calls("views.update") if is_review(c)])
        self.request(lambda: self.slack.command(ADMIN, "match"), "cmd")
        update = self.fake.wait_for_count("views.update", before + 1, is_review, 120)[-1]
        assert update.ok and update.response is not None, update.error
        approved = self.request(
            lambda: self.slack.view_submission(ADMIN, update.response["view"], {}), "submit"
        )
        assert approved is not None and approved.status == 200

    # Reacting to what arrived ------------------------------------------------------------------

    def react(self) -> None:
        """Each new DM with buttons: most people answer, some click twice at once."""
        calls = self.fake.calls("chat.postMessage")
        new, self.seen_posts = calls[self.seen_posts :], len(calls)
        jobs = []
        for call in new:
            if not call.ok or not call.response:
                continue
            user = str(call.params.get("channel") or "")
            if not user.startswith("U") or user in self.tally.left:
                continue
            message = {**(call.response.get("message") or {}), "ts": call.response.get("ts")}
            channel = str(call.response.get("channel"))
            for block in call.params.get("blocks") or []:
                if block.get("type") != "actions":
                    continue
                buttons = [e for e in block.get("elements") or [] if e.get("type") == "button"]
                if buttons and self.rng.random() < 0.75:
                    chosen = self.rng.choice(buttons[:2]) if len(buttons) > 1 else buttons[0]
                    twice = self.rng.random() < 0.15
                    jobs.append((user, channel, message, chosen, 2 if twice else 1))
        futures = [self.pool.submit(self.click, *job) for job in jobs]
        for future in futures:
            future.result()

    def click(
        self, user: str, channel: str, message: dict[str, Any], button: dict[str, Any], times: int
    ) -> None:
        action, value = str(button["action_id"]), str(button.get("value") or "")
        with self.tally.lock:
            self.tally.clicks[action] += times
            if times > 1:
                self.tally.clicks["double clicks"] += 1
        round_id = (
            int(value.partition(":")[0]) if action.startswith(("match_check", "pulse")) else 0
        )
        together = threading.Barrier(times)

        def once() -> sr.Response | None:
            together.wait(5)
            return self.request(
                lambda: self.slack.block_action(
                    user, action, value=value, message=message, channel_id=channel
                ),
                "click",
            )

        responses: list[sr.Response | None] = []
        workers = [threading.Thread(target=lambda: responses.append(once())) for _ in range(times)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if action.startswith("match_check"):
            with self.tally.lock:
                pair = int(value.partition(":")[2] or 0)
                self.tally.answered[(round_id, user, pair)] += times
        elif action == "pulse_open":
            self.survey(user, round_id, responses)

    def survey(self, user: str, round_id: int, responses: list[sr.Response | None]) -> None:
        """The survey modal filled in and submitted (twice at once, now and then)."""
        from bot.domain import pulse

        view = next((v for v in (self.modal(user, r) for r in responses) if v), None)
        if view is None or view.get("callback_id") != "pulse_answer":
            return  # not opened, or a notice (already answered, closed): it has no submit
        kind = "pulse"
        values: dict[str, Any] = {}
        for question in pulse.QUESTIONS[kind]:
            if question.values:
                picked = str(self.rng.choice(list(question.values)))
                values[question.id] = sr.static_select(picked)
            else:
                values[question.id] = sr.plain(
                    "More time together" if self.rng.random() < 0.3 else ""
                )
        values = sr.values_from(values)
        times = 2 if self.rng.random() < 0.15 else 1
        together = threading.Barrier(times)
        bodies: list[str] = []

        def submit() -> None:
            together.wait(5)
            answer = self.request(lambda: self.slack.view_submission(user, view, values), "submit")
            if answer is not None:
                bodies.append(answer.body)

        workers = [threading.Thread(target=submit) for _ in range(times)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        with self.tally.lock:
            self.tally.answered[(round_id, user, 0)] += times
            self.tally.counted[(round_id, user, 0)] += sum(
                any(reply in body for reply in RECORDED_REPLIES) for body in bodies
            )

    def match_check_replies(self) -> None:
        """What the app told each clicker, read from its chat.update of the clicked message."""
        rounds = self._match_round
        for call in self.fake.calls("chat.update"):
            if not call.ok:
                continue
            user = str(call.params.get("channel") or "").removeprefix("D")
            texts = json.dumps(call.params.get("blocks") or call.params.get("text"))
            key = (str(call.params.get("channel")), str(call.params.get("ts")))
            self.updates[key].append(texts[:60])
            if any(reply in texts for reply in RECORDED_REPLIES[:2]):
                # the round of the clicked message: its ts is the original DM's
                found = rounds.get(key)
                if found is not None:
                    with self.tally.lock:
                        self.tally.counted[(found[0], user, found[1])] += 1

    @property
    def _match_round(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(channel, ts) of each match-check message -> (round id, pair id)."""
        rounds: dict[tuple[str, str], tuple[int, int]] = {}
        for call in self.fake.calls("chat.postMessage"):
            if not call.ok or not call.response:
                continue
            for block in call.params.get("blocks") or []:
                for element in block.get("elements") or []:
                    if str(element.get("action_id", "")).startswith("match_check"):
                        value = str(element.get("value") or "")
                        key = (str(call.response.get("channel")), str(call.response.get("ts")))
                        round_text, _sep, pair_text = value.partition(":")
                        rounds[key] = (int(round_text), int(pair_text or 0))
        return rounds

    def leave(self, user: str) -> None:
        opened = self.modal(user, self.request(lambda: self.slack.command(user, "leave"), "cmd"))
        if opened is None:
            return
        values = sr.values_from({"erase": sr.checkboxes([])})
        answer = self.request(lambda: self.slack.view_submission(user, opened, values), "submit")
        if answer is not None and answer.status == 200:
            with self.tally.lock:
                self.tally.left.append(user)


# The soak --------------------------------------------------------------------------------------


@dataclass
class Event:
    at: datetime
    what: str  # a job name, "leave", or "fault:<kind>"
    detail: str = ""


def schedule(program: Any, months: int, people: list[str], rng: random.Random) -> list[Event]:
    """Every fire of every job over the months, the departures and the faults, in time order."""
    from scheduler.jobs import JOBS
    from scheduler.runner import job_trigger

    end = START + timedelta(days=30 * months)
    events: list[Event] = []
    for spec in JOBS.values():
        crontab, _problem = spec.schedule(program)
        trigger = job_trigger(crontab, program)
        fire = trigger.get_next_fire_time(None, START)
        # Two weeks more: the last rounds close, the last reports go out.
        while fire is not None and fire <= end + AFTERWARDS:
            events.append(Event(fire.astimezone(UTC), spec.name))
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    seconds = (end - START).total_seconds()
    for user in rng.sample(people, max(1, len(people) // 20)):  # 5% leave, mid-cycle
        events.append(
            Event(START + timedelta(seconds=rng.uniform(0.1, 0.95) * seconds), "leave", user)
        )
    faults = ["postgres_restart", "sender_kill", "storm_429", "storm_5xx", "lost_answers"]
    for kind in faults * max(1, months // 2):
        events.append(
            Event(START + timedelta(seconds=rng.uniform(0.02, 0.98) * seconds), f"fault:{kind}")
        )
    return sorted(events, key=lambda e: (e.at, e.what))


def due_outbox(database: Any, now: datetime) -> int:
    """Messages that should be going out now: pending and due, or claimed a moment ago."""
    from bot.delivery.outbox import STALE_CLAIM
    from storage.models import OutboxMessage

    with database.session() as session:
        rows = session.exec(
            select(OutboxMessage.status, OutboxMessage.not_before, OutboxMessage.claimed_at).where(
                col(OutboxMessage.status).in_(["pending", "sending"])
            )
        ).all()
    return sum(
        1
        for status, not_before, claimed in rows
        if (status == "pending" and not_before <= now)
        or (status == "sending" and claimed is not None and claimed > now - STALE_CLAIM)
    )


def drain(database: Any, clock: SharedClock, wait: float = DRAIN_WAIT_S) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            if not due_outbox(database, clock.now()):
                return
        except Exception:  # noqa: BLE001 - the database restarting: look again
            pass
        time.sleep(0.1)


@dataclass
class Soak:
    args: argparse.Namespace
    folder: Path
    fake: FakeSlack
    clock: SharedClock
    database_url: str
    postgres: PrivatePostgres | None
    sender: Process
    tally: Tally = field(default_factory=Tally)
    jobs_run: Counter[str] = field(default_factory=Counter)
    job_failures: Counter[str] = field(default_factory=Counter)

    def fault(self, kind: str, services: Any, rng: random.Random) -> None:
        self.tally.faults[kind] += 1
        if kind in ("postgres_restart", "sender_kill"):
            self.armed.add(kind)  # at the next fan-out, while it is being sent
            self.tally.faults[kind] -= 1
        elif kind == "storm_429":
            self.fake.random_rate_limits(0.4, retry_after=1, seed=rng.randrange(10**6))
            self.storm_until = 3  # the next three job runs
        elif kind == "storm_5xx":
            for method in ("chat.postMessage", "conversations.open", "chat.update", "views.open"):
                self.fake.fail_next(method, status=rng.choice([500, 503]), times=rng.randint(3, 12))
        elif kind == "lost_answers":
            self.fake.lose_answer_next("chat.postMessage", times=rng.randint(3, 10))

    storm_until: int = 0
    updates: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    armed: set[str] = field(default_factory=set)

    def mid_send(self, services: Any, crowd: People) -> None:
        """The armed faults, while a job's messages are going out."""
        if not self.armed or not due_outbox(services.db, self.clock.now()):
            return
        if "leave" in self.armed:
            from storage.models import OutboxMessage

            with services.db.session() as session:
                waiting = session.exec(
                    select(OutboxMessage.recipient).where(OutboxMessage.status == "pending")
                ).all()
            waiting = sorted(
                {r for r in waiting if r.startswith("USOAK") and r not in self.tally.left}
            )
            if waiting:
                self.armed.discard("leave")
                crowd.leave(random.Random(len(waiting)).choice(waiting))
        if "sender_kill" in self.armed:
            self.armed.discard("sender_kill")
            self.tally.faults["sender_kill"] += 1
            self.kill_sender_mid_send(services)
        if "postgres_restart" in self.armed:
            self.armed.discard("postgres_restart")
            time.sleep(0.3)  # a few posts out, the rest still to go
            if not self.database_url.startswith("postgresql"):
                self.tally.faults["postgres_restart (SQLite: skipped)"] += 1
            elif self.postgres is not None:
                self.tally.faults["postgres_restart"] += 1
                self.postgres.restart()
            else:
                self.tally.faults["postgres_restart"] += 1
                terminate_backends(self.database_url)

    def kill_sender_mid_send(self, services: Any) -> None:
        """Something to send, Slack holding the delivery process's post, then SIGKILL; the held
        post takes effect afterwards (the sender never hears of it)."""
        with self.fake.holding("chat.postMessage"):
            deadline = time.monotonic() + 10
            while self.fake.held("chat.postMessage") == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            self.tally.faults["sender_kill: post in flight"] += (
                self.fake.held("chat.postMessage") > 0
            )
            self.sender.kill()
        time.sleep(0.2)
        self.sender.start()

    def run_job(self, services: Any, name: str, at: datetime, program_id: int) -> None:
        from scheduler.runner import run_job

        for attempt in range(5):  # as the scheduler's catch-up would: again a little later
            try:
                if run_job(services, name, at, program_id=program_id) is not None:
                    self.jobs_run[name] += 1
                return
            except Exception:  # noqa: BLE001 - the database restarting
                self.job_failures[name] += 1
                time.sleep(1 + attempt)


def checks(soak: Soak, database: Any) -> tuple[dict[str, Any], list[str]]:
    """The outbox against Slack's record, the rounds' tallies against the clicks, the HTTP
    statuses: (figures, violations)."""
    from storage.models import OutboxMessage, PulseRound, PulseTally

    posts: Counter[str] = Counter()
    for call in soak.fake.calls("chat.postMessage"):
        if call.ok:
            payload = (call.params.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key"):
                posts[str(payload["key"])] += 1
    violations: list[str] = []
    with database.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
        rounds = session.exec(select(PulseRound)).all()
        tallies = session.exec(select(PulseTally)).all()
    statuses: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    now = soak.clock.now()
    for row in rows:
        statuses[row.status] += 1
        kinds[row.kind] += 1
        count = posts.get(row.dedupe_key, 0)
        if row.status == "sent" and count != 1:
            violations.append(f"{row.kind} {row.dedupe_key}: sent, posted {count} times")
        elif row.status == "cancelled":
            reasons[str(row.cancelled_because)] += 1
            if not row.cancelled_because:
                violations.append(f"{row.kind} {row.dedupe_key}: cancelled without a reason")
            if count:
                violations.append(f"{row.kind} {row.dedupe_key}: cancelled, posted {count} times")
        elif row.status in ("pending", "sending") and row.not_before <= now:
            violations.append(f"{row.kind} {row.dedupe_key}: still {row.status}, due")
        elif row.status == "failed":
            violations.append(f"{row.kind} {row.dedupe_key}: failed ({row.last_error})")
    duplicated = {key: n for key, n in posts.items() if n > 1}
    violations += [f"{key}: posted {n} times" for key, n in duplicated.items()]
    known = {row.dedupe_key for row in rows}
    strays = [key for key in posts if key not in known]
    violations += [f"{key}: posted, no outbox row" for key in strays[:10]]

    # Answers: every closed round's tallies count each participation once.
    first_cells: dict[int, int] = defaultdict(int)
    first_question: dict[int, str] = {}
    for cell in sorted(tallies, key=lambda c: (c.round_id, c.question)):
        if cell.dimension != "all":
            continue
        first_question.setdefault(cell.round_id, cell.question)
        if cell.question == first_question[cell.round_id]:
            first_cells[cell.round_id] += cell.n
    answered_by_round: dict[int, set[tuple[str, int]]] = defaultdict(set)
    counted_by_round: dict[int, set[tuple[str, int]]] = defaultdict(set)
    for (round_id, user, pair), n in soak.tally.answered.items():
        if n:
            answered_by_round[round_id].add((user, pair))
    for (round_id, user, pair), n in soak.tally.counted.items():
        if n:
            counted_by_round[round_id].add((user, pair))
        if n > 1:
            seen = {k: v for k, v in soak.updates.items() if k[0] == f"D{user}"}
            violations.append(f"round {round_id}: {user} told 'counted' {n} times {seen}")
    closed = [r for r in rounds if r.status == "closed"]
    answers = 0
    for pulse in closed:
        rid = pulse.id or 0
        answers += pulse.answered
        if first_cells[rid] != pulse.answered:
            violations.append(
                f"round {rid} ({pulse.kind}): tallies count {first_cells[rid]}, "
                f"{pulse.answered} answered"
            )
        if pulse.answered > len(answered_by_round[rid]):
            violations.append(
                f"round {rid}: {pulse.answered} answers from {len(answered_by_round[rid])} people"
            )
        if pulse.answered < len(counted_by_round[rid]):
            violations.append(
                f"round {rid}: {pulse.answered} answers, {len(counted_by_round[rid])} told counted"
            )
    errors_5xx = sum(n for status, n in soak.tally.requests.items() if status >= 500)
    if errors_5xx:
        violations.append(f"{errors_5xx} HTTP 5xx answers")
    if soak.tally.failed_requests:
        violations.append(f"requests without an answer: {dict(soak.tally.failed_requests)}")
    figures = {
        "outbox rows": len(rows),
        "by status": dict(statuses),
        "by kind": dict(kinds),
        "cancelled because": dict(reasons),
        "posts with a key": sum(posts.values()),
        "duplicated keys": len(duplicated),
        "rounds closed / all": f"{len(closed)} / {len(rounds)}",
        "answers counted (closed rounds)": answers,
        "people who answered (closed rounds)": sum(
            len(answered_by_round[r.id or 0]) for r in closed
        ),
        "HTTP statuses": dict(soak.tally.requests),
    }
    return figures, violations


def soak(args: argparse.Namespace) -> int:
    logging.getLogger("scheduler").setLevel(logging.CRITICAL)  # failed runs are counted here
    rng = random.Random(args.seed)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, suppress(KeyboardInterrupt):
        folder = Path(tmp)
        postgres: PrivatePostgres | None = None
        server_url = args.database_url
        if args.private_postgres:
            postgres = PrivatePostgres(folder, args.postgres_port)
            server_url = postgres.start()
        try:
            return _soak(args, folder, server_url, postgres, rng, started)
        finally:
            if postgres is not None:
                postgres.stop()


def _soak(
    args: argparse.Namespace,
    folder: Path,
    server_url: str | None,
    postgres: PrivatePostgres | None,
    rng: random.Random,
    started: float,
) -> int:
    from bot.services import build_services
    from bot.settings import parse_settings
    from storage import repositories as repo

    limits = SLACK_LIKE.with_changes(post_per_minute=POSTS_PER_MINUTE)
    per_minute = dict(SLACK_LIKE.per_minute)
    per_minute["views.open"] = 0  # the people here click far faster than 100 a minute
    limits = limits.with_changes(per_minute=MappingProxyType(per_minute))
    people = [f"USOAK{i:04d}" for i in range(args.people)]
    with (
        bench_database(server_url, folder) as database_url,
        FakeSlack(bot_token=TOKEN, rate_limits=limits) as fake,
    ):
        fake.add_user(ADMIN, real_name="Ada Admin", locale="en-US", tz="Europe/Berlin")
        for index, user in enumerate(people):
            zone = ("Europe/Berlin", "America/New_York")[index % 2]
            fake.add_user(user, real_name=f"Person {index}", locale="en-US", tz=zone)
        clock = SharedClock(folder / "clock")
        clock.set(START - timedelta(days=3))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
        env |= _settings_env(fake.api_url, database_url) | {"PYTHONPATH": str(ROOT)}
        settings = parse_settings(env)
        services = build_services(settings, clock=clock)
        services.db.migrate()
        port = _free_port()
        server = Process("server", env, folder, "--port", str(port))
        sender = Process("sender", env, folder)
        server.start()
        sender.start()
        run = Soak(args, folder, fake, clock, database_url, postgres, sender)
        try:
            _wait_healthy(port, server)
            crowd = People(fake, f"http://127.0.0.1:{port}/slack/events", run.tally, args.seed)
            crowd.setup(people, args.months)
            crowd.match()
            drain(services.db, clock)
            with services.db.session() as session:
                (program,) = repo.live_programs(session)
                pairs = len(repo.pairs(session, program.id or 0, ["active"]))
            setup_s = time.perf_counter() - started
            print(
                f"set up: {len(people)} people enrolled, pairs {pairs}, {setup_s:.0f} s", flush=True
            )
            events = schedule(program, args.months, people, rng)
            print(f"{len(events)} events over {args.months} months", flush=True)
            last_month = ""
            for event in events:
                clock.set(event.at)
                month = event.at.strftime("%Y-%m")
                if month != last_month:
                    last_month = month
                    posts = len(fake.calls("chat.postMessage"))
                    faults = sum(run.tally.faults.values())
                    elapsed = time.perf_counter() - started
                    print(f"  {month}: {elapsed:.0f} s, posts {posts}, faults {faults}", flush=True)
                if event.what.startswith("fault:"):
                    run.fault(event.what.removeprefix("fault:"), services, rng)
                    continue
                if event.what == "leave" and rng.random() < 0.5:
                    crowd.leave(event.detail)
                elif event.what == "leave":
                    run.armed.add("leave")  # while messages to them are on their way
                else:
                    run.run_job(services, event.what, event.at, program.id or 0)
                    run.mid_send(services, crowd)
                    if run.storm_until:
                        run.storm_until -= 1
                        if not run.storm_until:
                            fake.random_rate_limits(0)
                drain(services.db, clock)
                crowd.react()
                drain(services.db, clock, wait=5)
            # The end: every quiet hour passes, the last rounds close, what is owed goes out.
            fake.random_rate_limits(0)
            for _step in range(0, 24 * 3, 3):
                clock.set(clock.now() + timedelta(hours=3))
                drain(services.db, clock, wait=3)
            drain(services.db, clock, wait=60)
            crowd.match_check_replies()
            run.updates = crowd.updates
            figures, violations = checks(run, services.db)
        finally:
            server.stop()
            sender.stop()
            services.db.dispose()
        wall = time.perf_counter() - started
        report(args, run, figures, violations, wall, database_url, folder)
    return 1 if violations else 0


def report(
    args: argparse.Namespace,
    run: Soak,
    figures: dict[str, Any],
    violations: list[str],
    wall: float,
    database_url: str,
    folder: Path,
) -> None:
    where = (
        "SQLite"
        if database_url.startswith("sqlite")
        else (
            "PostgreSQL (private cluster, restarted)"
            if run.postgres
            else "PostgreSQL (backends terminated)"
        )
    )
    print(f"\n{args.people} people, {args.months} months on {where}: {wall:.0f} s")
    rows = [
        ("jobs run", dict(run.jobs_run)),
        ("job runs failed, retried", dict(run.job_failures)),
        ("faults", dict(run.tally.faults)),
        ("clicks", dict(run.tally.clicks)),
        ("people who left", len(run.tally.left)),
        ("delivery process starts", run.sender.starts),
        *figures.items(),
        ("Slack 429s", sum(1 for c in run.fake.calls() if c.status == 429)),
        ("Slack 5xx injected", sum(1 for c in run.fake.calls() if c.status >= 500)),
        ("lookups (conversations.history)", len(run.fake.calls("conversations.history"))),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name.ljust(width)}  {value}")
    for role in ("server", "sender"):
        counts: Counter[str] = Counter()
        for line in (folder / f"{role}.log").read_text().splitlines():
            try:
                entry = json.loads(line)
                counts[f"{entry.get('level')} {entry.get('msg')}"] += 1
            except json.JSONDecodeError:
                counts[line[:100]] += 1
        for line, n in counts.most_common(8):
            print(f"  {role} log: {n} x {line}")
    print(f"violations: {len(violations)}")
    for line in violations[:30]:
        print(f"  {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="PostgreSQL: a throwaway database")
    parser.add_argument(
        "--private-postgres", action="store_true", help="initdb a cluster to restart"
    )
    parser.add_argument("--postgres-port", type=int, default=55433)
    parser.add_argument("--role", choices=["server", "sender"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--clock", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "server":
        return serve(args.port, args.clock)
    if args.role == "sender":
        return send(args.clock)
    return soak(args)


if __name__ == "__main__":
    raise SystemExit(main())
