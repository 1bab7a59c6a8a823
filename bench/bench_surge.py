"""A kickoff announcement: hundreds of people type `/mentoring join` within a minute.

An admin first opens enrollment through the real path (`/mentoring program`, the modal
submitted). Then `--people` people (500) send a signed `/mentoring join` each, at times spread
over `--window` seconds (60) as a Poisson process would (uniform times, sorted), and each
submits the enrollment survey `--think` seconds (2–6) after their modal opened.

The app is the real server (`reverse-mentoring serve --http`, its own process, SQLite or a
throwaway PostgreSQL database with `--database-url`). The simulated Slack runs in a process of
its own with Slack's limits: every Web API call answers after `--latency` (50 ms), Slack's
rate tiers (views.open is Tier 4, 100 a minute with short bursts; `--views-open-per-minute N`
replaces that rate, `none` lifts it), and a trigger_id that opens one modal within 3 seconds of the
command being sent (`bench.slack_control` issues each command's trigger just before it goes).
Each value of `--views-open-per-minute` is a separate run with a fresh database and server.

Reported per run: p50/p99 from the command to the successful views.open reaching Slack (and of
the command's own ack), p50/p99 from submission to its ack, forms whose first try did not open
(by cause: every attempt refused by the rate limit, the trigger expired, no views.open at all)
and people left without the form: when Slack refuses views.open beyond what the 3-second
trigger can wait for, the app replies with an "open the form" button, which each person clicks
5–20 s later (again if Slack is still busy, up to 8 times), as people would;
submissions acknowledged with an error or "still saving", and enrollments lost: submissions
acknowledged without an error whose participant is not in the database afterwards.

    python -m bench.bench_surge [--people 500] [--window 60] [--think 2 6] [--latency 0.05]
                                [--views-open-per-minute slack none] [--seed 1]
                                [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import select

from bench.databases import bench_database
from bench.slack_process import TOKEN, user_ids
from bot.simulated_slack import signed_requests as sr
from bot.simulated_slack.signed_requests import SlackRequests
from storage.db import Database
from storage.models import OutboxMessage, Participant, ParticipantStatus

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
DIRECTORY_PAGE = 200  # users.list page size of the app's directory preload
VIEWS_OPEN_WAIT_S = 10.0  # how long a person waits for a modal before giving up
SETTLE_S = 30.0  # after the surge: how long the database may take to show acked enrollments
BUTTON_PAUSE_S = (5.0, 20.0)  # a person reads the reply, then clicks "open the form"
BUTTON_ATTEMPTS = 8
OK_ACKS = ("closed", "still_saving")  # acknowledged without an error
# A direct opener: never route 127.0.0.1 through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _call(url: str, payload: dict[str, Any] | None = None, timeout: float = 30) -> Any:
    data = None if payload is None else json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST")
    with _OPENER.open(request, timeout=timeout) as answer:
        return json.load(answer)


class SurgeRequests(SlackRequests):
    """Signed requests whose trigger_ids and response_urls come from the simulated Slack in its
    own process (through `bench.slack_control`), so it times each trigger from its issue."""

    def __init__(self, app_url: str, control_url: str) -> None:
        super().__init__(app_url, SECRET, timeout=30)
        self.control_url = control_url

    def _trigger_id(self) -> str:
        return str(_call(f"{self.control_url}/trigger", {})["trigger_id"])

    def _response_url(
        self, channel: str | None = None, user: str | None = None, message_ts: str | None = None
    ) -> str:
        where = {"channel": channel, "user": user}
        return str(_call(f"{self.control_url}/response_url", where)["url"])

    def views_open(self, trigger_id: str, timeout: float = VIEWS_OPEN_WAIT_S) -> dict[str, Any]:
        return dict(_call(f"{self.control_url}/views_open/{trigger_id}?timeout={timeout}"))

    def summary(self) -> dict[str, Any]:
        return dict(_call(f"{self.control_url}/summary"))

    def retry_button(self, user_id: str) -> str | None:
        """The action id of the "open the form" button in the person's latest ephemeral reply."""
        messages = _call(f"{self.control_url}/ephemeral/{user_id}")["messages"]
        for message in reversed(messages):
            for block in message.get("blocks") or []:
                accessory = block.get("accessory") or {}
                if accessory.get("type") == "button":
                    return str(accessory["action_id"])
        return None


# The values the tests submit (tests/flows.py), built with the same helpers.


def program_values() -> dict[str, Any]:
    return sr.values_from(
        {
            "name": sr.plain("Digital Leaders 2027"),
            "goals": sr.plain("80% of leaders complete 6 sessions"),
            "start_date": sr.datepicker("2027-01-01"),
            "end_date": sr.datepicker("2027-06-30"),
            "enrollment": sr.radio("open"),
            "checkin_cadence": sr.static_select("monthly"),
            "pulse_cadence": sr.static_select("quarterly"),
            "topics": sr.plain("AI tools\nSocial media\nCybersecurity hygiene\nData literacy"),
            "mentor_capacity": sr.number(2),
            "anonymity_threshold": sr.number(5),
            "community_channel": sr.conversations_select(None),
        }
    )


def enrollment_values(role: str, offered: list[str], wanted: list[str]) -> dict[str, Any]:
    return sr.values_from(
        {
            "role": sr.radio(role),
            "department": sr.plain("Marketing"),
            "seniority": sr.static_select("executive" if role == "mentee" else "early_career"),
            "topics_offered": sr.multi_static_select(offered),
            "topics_wanted": sr.multi_static_select(wanted),
            "development_areas": sr.multi_static_select([]),
            "personal_goals": sr.plain("Learn by doing"),
            "meeting_frequency": sr.static_select("monthly"),
            "meeting_format": sr.static_select("video"),
            "success_definition": sr.plain("Using two new tools every week"),
            "available_days": sr.checkboxes(["tue", "thu"]),
            "time_of_day": sr.static_select("any"),
            "manager": sr.users_select(None),
            "avoid": sr.multi_users_select([]),
            "consent": sr.checkboxes(["yes"]),
        }
    )


def topic_choices(view: dict[str, Any], block_id: str) -> list[str]:
    """The option values of an input block of the opened modal."""
    for block in view.get("blocks") or []:
        if block.get("block_id") == block_id:
            element = block.get("element") or {}
            options = list(element.get("options") or [])
            for group in element.get("option_groups") or []:
                options.extend(group.get("options") or [])
            return [str(option["value"]) for option in options]
    raise LookupError(f"no input block {block_id!r} in the modal")


# One person's kickoff ---------------------------------------------------------------------


@dataclass
class Outcome:
    user_id: str
    command_ack_s: float = 0.0
    command_status: int = 0
    modal_s: float | None = None  # command sent -> the successful views.open reached Slack
    failure: str | None = None  # why the modal never opened
    first_failure: str | None = None  # why the first try did not open it
    button_clicks: int = 0  # "open the form" clicks it took after the first try
    submit_ack_s: float | None = None
    ack: str | None = None  # closed | still_saving | errors | http_<status> | no answer | other
    ack_detail: str = ""


def _ack_kind(status: int, body: str) -> tuple[str, str]:
    if status != 200:
        return f"http_{status}", body[:200]
    if not body.strip():
        return "closed", ""
    answer = json.loads(body)
    action = answer.get("response_action")
    if action == "errors":
        return "errors", json.dumps(answer.get("errors"), ensure_ascii=False)[:200]
    if action == "update" and (answer.get("view") or {}).get("callback_id") == "saving":
        return "still_saving", ""
    if action in (None, "clear"):
        return "closed", ""
    return "other", body[:200]


def _failure(attempts: list[dict[str, Any]]) -> str:
    if not attempts:
        return "no views.open"
    if any(attempt["status"] == 429 for attempt in attempts):
        return "rate limited"
    errors = {attempt["error"] for attempt in attempts}
    return "trigger expired" if "expired_trigger_id" in errors else "/".join(sorted(errors))


def person(
    slack: SurgeRequests, user_id: str, index: int, think: float, topics: list[str]
) -> Outcome:
    outcome = Outcome(user_id)
    started = time.perf_counter()
    try:
        response = slack.command(user_id, "join")
    except OSError as error:  # refused, reset or timed out: Slack would show an error
        outcome.command_ack_s = time.perf_counter() - started
        outcome.failure = f"command failed ({type(error).__name__})"
        return outcome
    outcome.command_ack_s = time.perf_counter() - started
    outcome.command_status = response.status
    assert response.trigger_id is not None
    opened = slack.views_open(response.trigger_id)
    view = opened.get("view")
    rng = random.Random(index)
    if view is None:
        outcome.first_failure = _failure(opened.get("attempts") or [])
        view = _click_until_open(slack, user_id, outcome, rng)
        if view is None:
            return outcome
    else:
        success = next(attempt for attempt in opened["attempts"] if attempt["ok"])
        outcome.modal_s = success["at"] - opened["issued_at"]
    role = "mentor" if index % 2 == 0 else "mentee"
    picked = rng.sample(topics, 2)
    offered, wanted = (picked, []) if role == "mentor" else ([], picked[:1])
    time.sleep(think)
    started = time.perf_counter()
    try:
        submitted = slack.view_submission(user_id, view, enrollment_values(role, offered, wanted))
    except OSError as error:
        outcome.ack, outcome.ack_detail = "no answer", type(error).__name__
    else:
        outcome.ack, outcome.ack_detail = _ack_kind(submitted.status, submitted.body)
    outcome.submit_ack_s = time.perf_counter() - started
    return outcome


def _click_until_open(
    slack: SurgeRequests, user_id: str, outcome: Outcome, rng: random.Random
) -> dict[str, Any] | None:
    """What a person does when the form did not open: reads the app's reply and clicks its
    "open the form" button a little later, again if Slack is still busy."""
    for _attempt in range(BUTTON_ATTEMPTS):
        time.sleep(rng.uniform(*BUTTON_PAUSE_S))
        action = slack.retry_button(user_id)
        if action is None:
            outcome.failure = "no button in the reply"
            return None
        outcome.button_clicks += 1
        clicked = slack.block_action(user_id, action, channel_id="C0GENERAL")
        if clicked.trigger_id is None:
            continue
        opened = slack.views_open(clicked.trigger_id)
        if opened.get("view") is not None:
            return dict(opened["view"])
    outcome.failure = f"still closed after {BUTTON_ATTEMPTS} clicks"
    return None


# Processes ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def simulated_slack(
    users: int, latency: float, views_open_per_minute: int | None
) -> Iterator[tuple[str, str]]:
    """`bench.slack_process` with Slack's limits and its control API: (API URL, control URL)."""
    command = [sys.executable, "-m", "bench.slack_process", "--users", str(users)]
    command += ["--latency", str(latency), "--every-method", "--slack-limits", "--control"]
    if views_open_per_minute is not None:
        command += ["--views-open-per-minute", str(views_open_per_minute)]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process.stdout.readline().strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@contextmanager
def app_server(api_url: str, database_url: str, admin: str, folder: str) -> Iterator[str]:
    """`reverse-mentoring serve --http` on a free port; yields its /slack/events URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env |= {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "ADMIN_USER_IDS": admin,
        "PULSE_SECRET": "bench-pulse-secret-0123456789-abcdef",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "bot", "serve", "--http", "--port", str(port)]
    # JSON log lines on stderr, counted in the report
    with Path(folder, "server.log").open("w") as log:
        process = subprocess.Popen(command, env=env, cwd=folder, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    _OPENER.open(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}/slack/events"
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def server_log(folder: str) -> dict[str, int]:
    """The server's warnings and errors, counted by level and message."""
    counts: dict[str, int] = {}
    for line in Path(folder, "server.log").read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            key = f"(not JSON) {line[:80]}"
        else:
            key = f"{entry.get('level')} {entry.get('logger')}: {entry.get('msg')}"
            if entry.get("error"):
                key += f" ({entry['error']})"
        counts[key] = counts.get(key, 0) + 1
    return counts


def wait_for_directory(slack: SurgeRequests, people: int, timeout: float = 60) -> None:
    """Until the app's people directory preload has read every users.list page."""
    pages = math.ceil(people / DIRECTORY_PAGE)
    deadline = time.monotonic() + timeout
    while slack.summary()["methods"].get("users.list", {}).get("ok", 0) < pages:
        if time.monotonic() > deadline:
            raise RuntimeError("the app did not preload its people directory")
        time.sleep(0.2)


def open_enrollment(slack: SurgeRequests, admin: str) -> None:
    """The admin sets the programme up through `/mentoring program` and its modal."""
    response = slack.command(admin, "program")
    assert response.status == 200 and response.trigger_id is not None, response.body
    view = slack.views_open(response.trigger_id).get("view")
    assert view is not None, "the programme modal did not open"
    submitted = slack.view_submission(admin, view, program_values())
    kind, detail = _ack_kind(submitted.status, submitted.body)
    assert kind == "closed", f"programme not saved: {kind} {detail}"


def enrolled_in_database(database_url: str, user_ids: set[str]) -> set[str]:
    db = Database(database_url)
    try:
        with db.session() as session:
            rows = session.exec(
                select(Participant.slack_user_id).where(
                    Participant.status != ParticipantStatus.LEFT
                )
            ).all()
        return {row for row in rows if row in user_ids}
    finally:
        db.dispose()


def outbox_by_status(database_url: str) -> dict[str, int]:
    """The messages the app owes (confirmations, training packs …) by delivery status."""
    db = Database(database_url)
    try:
        with db.session() as session:
            statuses = session.exec(select(OutboxMessage.status)).all()
    finally:
        db.dispose()
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts


# One run -----------------------------------------------------------------------------------


@dataclass
class Run:
    database: str
    views_open_limit: str
    outcomes: list[Outcome] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    server_log: dict[str, int] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0


def surge(args: argparse.Namespace, views_open_per_minute: int | None) -> Run:
    users = user_ids(args.people + 1)
    admin, people = users[0], users[1:]
    rng = random.Random(args.seed)
    arrivals = sorted(rng.uniform(0, args.window) for _ in people)
    thinks = [rng.uniform(*args.think) for _ in people]
    limit = (
        "100/min (Slack)"
        if views_open_per_minute is None
        else ("none" if views_open_per_minute == 0 else f"{views_open_per_minute}/min")
    )
    with tempfile.TemporaryDirectory() as folder:
        with (
            bench_database(args.database_url, Path(folder)) as database_url,
            simulated_slack(len(users), args.latency, views_open_per_minute) as (api, control),
            app_server(api, database_url, admin, folder) as app_url,
        ):
            run = Run("PostgreSQL" if database_url.startswith("postgresql") else "SQLite", limit)
            slack = SurgeRequests(app_url, control)
            wait_for_directory(slack, len(users))
            open_enrollment(slack, admin)
            # The enrollment modal's topics: open one for the admin, who does not submit it.
            probe = slack.command(admin, "join")
            assert probe.trigger_id is not None
            probe_view = slack.views_open(probe.trigger_id).get("view")
            assert probe_view is not None, "the enrollment modal did not open for the probe"
            topics = topic_choices(probe_view, "topics_offered")[:4]
            time.sleep(2)  # the probe's views.open token is back in the bucket

            start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=256) as pool:
                futures = []
                for index, user_id in enumerate(people):
                    time.sleep(max(0.0, start + arrivals[index] - time.perf_counter()))
                    job = pool.submit(person, slack, user_id, index, thinks[index], topics)
                    futures.append(job)
                run.outcomes = [future.result() for future in futures]
            run.wall_s = time.perf_counter() - start

            acked = {o.user_id for o in run.outcomes if o.ack in OK_ACKS}
            deadline = time.monotonic() + SETTLE_S
            found = enrolled_in_database(database_url, acked)
            while found != acked and time.monotonic() < deadline:
                time.sleep(1)
                found = enrolled_in_database(database_url, acked)
            run.lost = sorted(acked - found)
            run.summary = slack.summary()
            run.outbox = outbox_by_status(database_url)
        run.server_log = server_log(folder)
    return run


# Report ------------------------------------------------------------------------------------


def _percentiles(values: list[float]) -> str:
    if not values:
        return "–"
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"{statistics.median(ordered) * 1000:.0f} / {p99 * 1000:.0f} ms"


def report(run: Run) -> dict[str, str]:
    outcomes = run.outcomes
    failures: dict[str, int] = {}
    first: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.failure is not None:
            failures[outcome.failure] = failures.get(outcome.failure, 0) + 1
        if outcome.first_failure is not None:
            first[outcome.first_failure] = first.get(outcome.first_failure, 0) + 1
    clicks = [o.button_clicks for o in outcomes if o.first_failure is not None]
    acks: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.ack is not None:
            acks[outcome.ack] = acks.get(outcome.ack, 0) + 1
    methods = run.summary.get("methods", {})
    print(f"\n{run.database}, views.open limit {run.views_open_limit}: {len(outcomes)} people")
    print(f"  commands answered {sum(o.command_status == 200 for o in outcomes)}/{len(outcomes)}")
    print(f"  first try did not open: {sum(first.values())} {first or ''}")
    if clicks:
        print(
            f"    opened with the reply's button after {statistics.median(clicks):.0f} clicks "
            f"(median; at most {max(clicks)})"
        )
    print(f"  people left without the form: {sum(failures.values())} {failures or ''}")
    print(f"  submission acks: {acks}")
    for kind in ("errors", "other"):
        details = {o.ack_detail for o in outcomes if o.ack == kind}
        if details:
            print(f"    {kind}: {sorted(details)[:3]}")
    print(f"  enrollments lost: {len(run.lost)} {run.lost[:5] if run.lost else ''}")
    for method in ("views.open", "views.publish", "views.update", "chat.postMessage"):
        entry = methods.get(method)
        if entry:
            print(f"  {method}: ok {entry['ok']}, errors {dict(entry['errors'])}")
    texts = run.summary.get("response_url_texts", {})
    if texts:
        print(f"  answers through response_url: {texts}")
    print(f"  messages owed (outbox) by status at the end: {run.outbox}")
    for line, count in sorted(run.server_log.items()):
        print(f"  server log: {count} x {line}")
    return {
        "database": run.database,
        "views.open limit": run.views_open_limit,
        "command → views.open p50/p99": _percentiles(
            [o.modal_s for o in outcomes if o.modal_s is not None]
        ),
        "command ack p50/p99": _percentiles([o.command_ack_s for o in outcomes]),
        "submission → ack p50/p99": _percentiles(
            [o.submit_ack_s for o in outcomes if o.submit_ack_s is not None]
        ),
        "first try not open": str(sum(first.values())),
        "never opened": str(sum(failures.values())),
        "acks with errors": str(sum(n for kind, n in acks.items() if kind not in OK_ACKS)),
        "still saving": str(acks.get("still_saving", 0)),
        "enrollments lost": str(len(run.lost)),
    }


def print_table(rows: list[dict[str, str]]) -> None:
    columns = list(rows[0])
    widths = [max(len(column), *(len(row[column]) for row in rows)) for column in columns]
    print()
    print("  ".join(column.ljust(width) for column, width in zip(columns, widths, strict=True)))
    for row in rows:
        cells = (row[column].ljust(width) for column, width in zip(columns, widths, strict=True))
        print("  ".join(cells))


def _views_open_rate(value: str) -> int | None:
    """`slack`: Slack's own tier (None); `none`: no limit (0); else calls per minute."""
    if value == "slack":
        return None
    return 0 if value == "none" else int(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--window", type=float, default=60.0, help="seconds the commands span")
    parser.add_argument("--think", type=float, nargs=2, default=[2.0, 6.0], metavar=("MIN", "MAX"))
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per Web API call")
    parser.add_argument(
        "--views-open-per-minute",
        type=_views_open_rate,
        nargs="+",
        default=[None, 0],
        help="views.open's rate, one run each: slack (Tier 4, 100/min), none, or a number",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="PostgreSQL: a throwaway database")
    args = parser.parse_args()
    print(
        f"{args.people} x /mentoring join over {args.window:.0f} s (Poisson arrivals), survey "
        f"submitted {args.think[0]:.0f}-{args.think[1]:.0f} s after the modal opened; Web API "
        f"{args.latency * 1000:.0f} ms per call, Slack's rate limits, triggers valid 3 s"
    )
    rows = []
    for rate in args.views_open_per_minute:
        rows.append(report(surge(args, rate)))
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
