"""The simulated Slack Web API in a process of its own, for bench_http.

Slack's servers are not in the process that sends the app its requests: run in-process, the
simulated Slack's CPU (a thread per call, every call modelled) would hold the clients' GIL and
show up as acknowledgement latency. Prints its Web API URL, then serves until SIGTERM.

    python -m bench.slack_process --users 200 --latency 0.05 [--no-directory]
"""

from __future__ import annotations

import argparse
import signal
import threading

from bot.simulated_slack import FakeSlack

TOKEN = "xoxb-bench"


def user_ids(count: int) -> list[str]:
    return [f"UBENCH{i:05d}" for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per Web API call")
    parser.add_argument(
        "--no-directory",
        action="store_true",
        help="users.list answers missing_scope: the app cannot preload its people directory",
    )
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with FakeSlack(bot_token=TOKEN) as fake:
        for user in user_ids(args.users):
            fake.add_user(user)
        fake.latency = {method: args.latency for method in ("users.info", "chat.postMessage")}
        if args.no_directory:
            fake.fail_next("users.list", status=200, error="missing_scope", times=1_000_000)
        print(fake.api_url, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
