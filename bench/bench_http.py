"""Acknowledgement latency of the real HTTP server, as a ratio to a bare Bolt app.

Starts `reverse-mentoring serve --http` (gunicorn, threaded workers) against a local simulated
Slack whose Web API answers after `--latency` seconds, and, in the same run on the same machine,
`bench.bare_bolt` (a Bolt app that only acknowledges) under the same gunicorn settings. Each gets
bursts of signed `/mentoring help` commands at each `--concurrency` level; we report ack latency
percentiles, throughput and our/bare ratios. The real app does all its listener work (people
lookups, the reply through response_url) while it is measured.

    python -m bench.bench_http [--requests 600] [--concurrency 20 50] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import os
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
from dataclasses import dataclass
from pathlib import Path

from bot.simulated_slack import FakeSlack, SlackRequests

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "xoxb-bench"
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
    client_cpu_ms: float  # this process (the clients and the simulated Slack), per request


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


def _measure(
    slack: SlackRequests, server_pid: int, users: list[str], requests: int, concurrency: int
) -> Result:
    def one(index: int) -> tuple[float, int]:
        started = time.perf_counter()
        status = slack.command(users[index % len(users)], "help").status
        return time.perf_counter() - started, status

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(concurrency)))  # warm up connections and caches
        server_cpu, client_cpu = _tree_cpu_seconds(server_pid), time.process_time()
        started = time.perf_counter()
        results = list(pool.map(one, range(requests)))
        wall = time.perf_counter() - started
        server_cpu = _tree_cpu_seconds(server_pid) - server_cpu
        client_cpu = time.process_time() - client_cpu
    latencies = [latency for latency, _status in results]
    return Result(
        p50=statistics.median(latencies),
        p95=_percentile(latencies, 0.95),
        p99=_percentile(latencies, 0.99),
        throughput=requests / wall,
        errors=sum(1 for _latency, status in results if status != 200),
        server_cpu_ms=server_cpu * 1000 / requests,
        client_cpu_ms=client_cpu * 1000 / requests,
    )


def _line(name: str, result: Result) -> str:
    return (
        f"    {name:<5} p50 {result.p50 * 1000:6.1f} ms  p95 {result.p95 * 1000:6.1f} ms  "
        f"p99 {result.p99 * 1000:6.1f} ms  {result.throughput:6.1f} req/s  errors {result.errors}  "
        f"CPU/request: server {result.server_cpu_ms:.2f} ms, "
        f"clients+Slack {result.client_cpu_ms:.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per Web API call")
    args = parser.parse_args()

    with FakeSlack(bot_token=TOKEN) as fake, tempfile.TemporaryDirectory() as folder:
        users = [f"UBENCH{i:05d}" for i in range(200)]
        for user in users:
            fake.add_user(user)
        fake.latency = {method: args.latency for method in ("users.info", "chat.postMessage")}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
        env |= {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        ours_port, bare_port = _free_port(), _free_port()
        ours_cmd = [sys.executable, "-m", "bot", "serve", "--http", "--port", str(ours_port)]
        bare_cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{bare_port}",
            "--worker-class",
            "gthread",
            "--threads",
            str(THREADS),
            "--log-level",
            "warning",
            "bench.bare_bolt:application",
        ]
        results: dict[str, dict[int, Result]] = {}
        for name, command, port in (("bare", bare_cmd, bare_port), ("ours", ours_cmd, ours_port)):
            with _server(command, env, port, folder) as (url, pid):
                slack = SlackRequests(url, SECRET, fake=fake)
                results[name] = {
                    level: _measure(slack, pid, users, args.requests, level)
                    for level in args.concurrency
                }

    print(
        f"/mentoring help, {args.requests} requests per level, Web API latency "
        f"{args.latency * 1000:.0f} ms per call; bare = Bolt acknowledging only"
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
        ok = ok and ours.errors == 0 and p99_ratio <= 1.5 and throughput_ratio >= 0.7
    print("targets met:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
