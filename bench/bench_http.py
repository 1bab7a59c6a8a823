"""Acknowledgement latency of the real HTTP server, as a ratio to a bare Bolt app.

Starts `reverse-mentoring serve --http` (waitress, bot/http_server.py) against a local
simulated Slack whose Web API answers after `--latency` seconds, and, in the same run on the
same machine, `bench.bare_bolt` (a Bolt app that only acknowledges) under the same server code
and settings. Each gets bursts of signed `/mentoring help` commands at each `--concurrency`
level; we report ack latency percentiles, throughput, CPU per request and our/bare ratios. The
real app does all its listener work (people lookups through users.info, the reply through
response_url) while it is measured, and every reply must arrive: a missing or malformed one
counts as an error.

By default the simulated Slack's Web API runs in a process of its own (`bench.slack_process`)
and replies go to `bench.reply_sink` (its own process, keep-alive like hooks.slack.com): with
`--replies fake` one in-process simulated Slack takes both, as the tests do, and its CPU (a
thread per call, every message modelled: more than the app spends sending it) is billed to
the clients' process and shows up as latency.

    python -m bench.bench_http [--requests 600] [--concurrency 20 50] [--latency 0.05]
                               [--workers 1] [--replies sink|fake] [--cold]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bench.slack_process import TOKEN, user_ids
from bot.simulated_slack import FakeSlack, SlackRequests

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
THREADS = 64


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass(frozen=True)
class Result:
    p50: float
    p95: float
    p99: float
    throughput: float
    errors: int
    server_cpu_ms: float  # the server's processes, per request
    client_cpu_ms: float  # this process: the clients (and an in-process simulated Slack)
    slack_cpu_ms: float  # the simulated Slack and reply sink processes, per request
    missing_replies: int = 0
    bad_replies: int = 0


def _tree_cpu_seconds(root: int) -> float:
    """User + system CPU of `root` and its descendants (Linux /proc; 0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        pending.extend(int(child) for child in children)
    return total


class SinkRequests(SlackRequests):
    """Signed requests whose response_urls point at a `bench.reply_sink`."""

    def __init__(self, app_url: str, sink_port: int) -> None:
        super().__init__(app_url, SECRET)
        self._sink = f"http://127.0.0.1:{sink_port}/commands/T0TEST"
        self._numbers = itertools.count(1)

    def _response_url(
        self, channel: str | None = None, user: str | None = None, message_ts: str | None = None
    ) -> str:
        return f"{self._sink}/{next(self._numbers)}/{secrets.token_urlsafe(12)}"


@contextmanager
def _helper(module: str, *args: str) -> Iterator[tuple[str, int]]:
    """Runs `python -m module args` (a bench helper); yields the line it prints first and
    its process id."""
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", module, *args]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _sink_counts(port: int) -> tuple[int, int]:
    """(replies that arrived well-formed and once, bad or repeated ones) so far."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as answer:
        stats = json.load(answer)
    return int(stats["replies"]) - int(stats["duplicates"]), int(stats["bad"] + stats["duplicates"])


def _fake_counts(fake: FakeSlack) -> tuple[int, int]:
    calls = fake.calls("response_url")
    good = sum(1 for call in calls if call.ok and call.params.get("blocks"))
    return good, len(calls) - good


def _wait_replies(counts: Callable[[], tuple[int, int]], expected: int) -> tuple[int, int]:
    """Waits (at most 30 s) until `expected` replies arrived; returns (missing, bad)."""
    deadline = time.monotonic() + 30
    while True:
        good, bad = counts()
        if good >= expected or time.monotonic() > deadline:
            return max(0, expected - good), bad
        time.sleep(0.1)


def _wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError as error:
            # The bare app has no /healthz: any HTTP answer means it is up.
            if getattr(error, "code", None) is not None:
                return
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@contextmanager
def _server(
    command: list[str], env: dict[str, str], port: int, cwd: str
) -> Iterator[tuple[str, int]]:
    process = subprocess.Popen(command, env=env, cwd=cwd)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}/slack/events", process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@dataclass
class Target:
    """One server under test and how to reach it."""

    name: str
    slack: SlackRequests
    pid: int
    replies: Callable[[], tuple[int, int]] | None  # (good, bad) so far, when checked
    batches: list[Batch] = field(default_factory=list)


@dataclass(frozen=True)
class Batch:
    latencies: list[float]
    errors: int
    wall: float
    server_cpu: float
    client_cpu: float
    slack_cpu: float
    missing_replies: int
    bad_replies: int


def _batch(
    target: Target, slack_pids: list[int], users: list[str], requests: int, concurrency: int
) -> Batch:
    def one(index: int) -> tuple[float, int, str]:
        started = time.perf_counter()
        response = target.slack.command(users[index % len(users)], "help")
        return time.perf_counter() - started, response.status, response.body

    before = target.replies() if target.replies is not None else (0, 0)
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        warm_up = list(pool.map(one, range(concurrency)))  # warm up connections and threads
        server_cpu, client_cpu = _tree_cpu_seconds(target.pid), time.process_time()
        slack_cpu = sum(_tree_cpu_seconds(pid) for pid in slack_pids)
        started = time.perf_counter()
        results = list(pool.map(one, range(requests)))
        wall = time.perf_counter() - started
        server_cpu = _tree_cpu_seconds(target.pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
        slack_cpu = sum(_tree_cpu_seconds(pid) for pid in slack_pids) - slack_cpu
    missing = bad = 0
    if target.replies is not None:
        # A help answer is either the acknowledgement itself or a reply to the response_url.
        answers = [_ack_answer(body) for _latency, _status, body in warm_up + results]
        in_ack = sum(1 for answer in answers if answer is True)
        expected = before[0] + concurrency + requests - in_ack
        missing, bad = _wait_replies(target.replies, expected)
        bad += sum(1 for answer in answers if answer is None) - before[1]
    return Batch(
        latencies=[latency for latency, _status, _body in results],
        errors=sum(1 for _latency, status, _body in results if status != 200),
        wall=wall,
        server_cpu=server_cpu,
        client_cpu=client_cpu,
        slack_cpu=slack_cpu,
        missing_replies=missing,
        bad_replies=bad,
    )


def _ack_answer(body: str) -> bool | None:
    """True when the acknowledgement is the help answer, False when it is empty (the answer
    goes to the response_url), None when it is neither."""
    if not body:
        return False
    try:
        message = json.loads(body)
    except json.JSONDecodeError:
        return None
    ok = isinstance(message, dict) and "/mentoring join" in json.dumps(message.get("blocks"))
    return True if ok else None


def _result(batches: list[Batch]) -> Result:
    latencies = [latency for batch in batches for latency in batch.latencies]
    requests = len(latencies)
    return Result(
        p50=statistics.median(latencies),
        p95=_percentile(latencies, 0.95),
        p99=_percentile(latencies, 0.99),
        throughput=requests / sum(batch.wall for batch in batches),
        errors=sum(batch.errors for batch in batches),
        server_cpu_ms=sum(batch.server_cpu for batch in batches) * 1000 / requests,
        client_cpu_ms=sum(batch.client_cpu for batch in batches) * 1000 / requests,
        slack_cpu_ms=sum(batch.slack_cpu for batch in batches) * 1000 / requests,
        missing_replies=sum(batch.missing_replies for batch in batches),
        bad_replies=sum(batch.bad_replies for batch in batches),
    )


def _line(name: str, result: Result) -> str:
    return (
        f"    {name:<5} p50 {result.p50 * 1000:6.1f} ms  p95 {result.p95 * 1000:6.1f} ms  "
        f"p99 {result.p99 * 1000:6.1f} ms  {result.throughput:6.1f} req/s  errors {result.errors}  "
        f"replies missing {result.missing_replies} bad {result.bad_replies}\n"
        f"          CPU per request: server {result.server_cpu_ms:.2f} ms, "
        f"clients {result.client_cpu_ms:.2f} ms, Slack side {result.slack_cpu_ms:.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per Web API call")
    parser.add_argument("--workers", type=int, default=1, help="server processes, for both apps")
    parser.add_argument("--replies", choices=["sink", "fake"], default="sink")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="no people directory (users.list refused): each person's first command waits for "
        "users.info after the ack and is answered through response_url",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating batches per level and app"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        users = user_ids(200)
        fake: FakeSlack | None = None
        sink_port = 0
        slack_pids: list[int] = []
        if args.replies == "sink":
            api_url, slack_pid = stack.enter_context(
                _helper(
                    "bench.slack_process",
                    *("--users", "200", "--latency", str(args.latency)),
                    *(["--no-directory"] if args.cold else []),
                )
            )
            sink, sink_pid = stack.enter_context(_helper("bench.reply_sink"))
            sink_port, slack_pids = int(sink), [slack_pid, sink_pid]
        else:
            fake = stack.enter_context(FakeSlack(bot_token=TOKEN))
            for user in users:
                fake.add_user(user)
            fake.latency = {method: args.latency for method in ("users.info", "chat.postMessage")}
            if args.cold:
                fake.fail_next("users.list", status=200, error="missing_scope", times=1_000_000)
            api_url = fake.api_url
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
        env |= {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "PULSE_SECRET": "bench-pulse-secret-0123456789-abcdef",
            "SLACK_API_URL": api_url,
            "DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        ours_port, bare_port = _free_port(), _free_port()
        ours_cmd = [sys.executable, "-m", "bot", "serve", "--http", "--port", str(ours_port)]
        ours_cmd += ["--workers", str(args.workers), "--threads", str(THREADS)]
        bare_cmd = [sys.executable, "-m", "bench.bare_bolt", "--port", str(bare_port)]
        bare_cmd += ["--workers", str(args.workers), "--threads", str(THREADS)]
        bare_server = stack.enter_context(_server(bare_cmd, env, bare_port, folder))
        ours_server = stack.enter_context(_server(ours_cmd, env, ours_port, folder))
        targets: list[Target] = []
        for name, (url, pid) in (("bare", bare_server), ("ours", ours_server)):
            replies: Callable[[], tuple[int, int]] | None = None
            slack: SlackRequests
            if fake is None:
                slack = SinkRequests(url, sink_port)
                replies = partial(_sink_counts, sink_port) if name == "ours" else None
            else:
                slack = SlackRequests(url, SECRET, fake=fake)
                replies = partial(_fake_counts, fake) if name == "ours" else None
            targets.append(Target(name, slack, pid, replies))
        results: dict[str, dict[int, Result]] = {"bare": {}, "ours": {}}
        per_batch = max(1, args.requests // args.rounds)
        for level in args.concurrency:
            for target in targets:
                target.batches = []
            # Alternating batches: a change in the machine's load hits both apps alike.
            for round_number in range(args.rounds):
                order = targets if round_number % 2 == 0 else targets[::-1]
                for target in order:
                    target.batches.append(_batch(target, slack_pids, users, per_batch, level))
            for target in targets:
                results[target.name][level] = _result(target.batches)

    print(
        f"/mentoring help, {args.requests} requests per level and app in {args.rounds} "
        "alternating batches, Web API latency "
        f"{args.latency * 1000:.0f} ms per call, {args.workers} worker(s) x {THREADS} threads, "
        f"replies to {'bench.reply_sink' if args.replies == 'sink' else 'the simulated Slack'}"
        f"{', no people directory (cold)' if args.cold else ''}; "
        "bare = Bolt acknowledging only"
    )
    ok = True
    for level in args.concurrency:
        ours, bare = results["ours"][level], results["bare"][level]
        print(f"  {level} concurrent:")
        print(_line("bare", bare))
        print(_line("ours", ours))
        p99_ratio = ours.p99 / bare.p99
        throughput_ratio = ours.throughput / bare.throughput
        print(
            f"    ratio p50 {ours.p50 / bare.p50:.2f}x  p95 {ours.p95 / bare.p95:.2f}x  "
            f"p99 {p99_ratio:.2f}x (target <= 1.5)  throughput {throughput_ratio:.2f}x "
            "(target >= 0.7)"
        )
        errors = ours.errors + ours.missing_replies + ours.bad_replies
        ok = ok and errors == 0 and p99_ratio <= 1.5 and throughput_ratio >= 0.7
    print("targets met:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
