"""Acknowledgement latency of the real HTTP server under concurrent load, with a slow Slack.

Starts `reverse-mentoring serve --http` (gunicorn, threaded workers) against a local fake Slack
whose Web API answers after a delay, then sends bursts of signed slash commands and App Home
events. Slack wants every acknowledgement within 3 s; listeners' slow work (the Web API calls)
runs after the ack, so ack latency should stay flat as the Web API slows down.

    python -m bench.bench_http [--requests 400] [--concurrency 100] [--latency 1.0]
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.simulated_slack.signed_requests import SlackRequests
from bot.simulated_slack.web_api import FakeSlack

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "xoxb-bench"
SECRET = "bench-signing-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per Web API call")
    args = parser.parse_args()

    with FakeSlack(bot_token=TOKEN) as fake, tempfile.TemporaryDirectory() as folder:
        users = [f"UBENCH{i:05d}" for i in range(args.requests)]
        for user in users:
            fake.add_user(user)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
        env |= {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--http", "--port", str(port)],
            env=env,
            cwd=folder,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            fake.latency = {
                "users.info": args.latency,
                "views.publish": args.latency,
                "chat.postMessage": args.latency,
            }
            slack = SlackRequests(f"http://127.0.0.1:{port}/slack/events", SECRET, fake=fake)

            def one(index: int) -> tuple[float, int]:
                started = time.perf_counter()
                if index % 2:
                    status = slack.app_home_opened(users[index]).status
                else:
                    status = slack.command(users[index], "dance").status
                return time.perf_counter() - started, status

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                results = list(pool.map(one, range(args.requests)))
            wall = time.perf_counter() - started
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    latencies = [latency for latency, _status in results]
    events = [latency for i, (latency, _s) in enumerate(results) if i % 2]
    failures = [status for _latency, status in results if status != 200]
    print(
        f"{args.requests} requests, {args.concurrency} concurrent, "
        f"Web API latency {args.latency:.2f} s per call"
    )
    print(
        f"  all requests : p50 {statistics.median(latencies) * 1000:7.1f} ms   "
        f"p95 {_percentile(latencies, 0.95) * 1000:7.1f} ms   "
        f"max {max(latencies) * 1000:7.1f} ms"
    )
    print(
        f"  events only  : p50 {statistics.median(events) * 1000:7.1f} ms   "
        f"p95 {_percentile(events, 0.95) * 1000:7.1f} ms (slow work runs after the ack)"
    )
    print(f"  throughput   : {args.requests / wall:7.1f} requests/s; non-200: {len(failures)}")
    within_slack_limit = max(latencies) < 3.0 and not failures
    print("  every request acknowledged within 3 s:", "yes" if within_slack_limit else "NO")
    return 0 if within_slack_limit else 1


if __name__ == "__main__":
    raise SystemExit(main())
