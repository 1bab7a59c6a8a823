"""The simulated Slack Web API in a process of its own, for the HTTP benchmarks.

Slack's servers are not in the process that sends the app its requests: run in-process, the
simulated Slack's CPU (a thread per call, every call modelled) would hold the clients' GIL and
show up as acknowledgement latency. Prints its Web API URL, then serves until SIGTERM.

    python -m bench.slack_process --users 200 --latency 0.05 [--no-directory]
                                  [--every-method] [--slack-limits [--views-open-per-minute N]]
                                  [--control]

`--every-method` makes every Web API call wait `--latency` (by default only users.info and
chat.postMessage do, as bench_http measures). `--slack-limits` applies Slack's documented rate
limits (`SLACK_LIKE`), with views.open's tier replaced by `--views-open-per-minute` when given
(0: no limit on views.open). `--control` also serves `bench.slack_control` and prints its URL
on a second line.
"""

from __future__ import annotations

import argparse
import signal
import threading
from types import MappingProxyType

from bench.slack_control import ControlServer
from bot.simulated_slack import FakeSlack
from bot.simulated_slack.rate_limits import METHOD_TIERS, SLACK_LIKE, RateLimits

TOKEN = "xoxb-bench"
EVERY_METHOD = (*METHOD_TIERS, "chat.postMessage")


def user_ids(count: int) -> list[str]:
    return [f"UBENCH{i:05d}" for i in range(count)]


def slack_limits(views_open_per_minute: int | None) -> RateLimits:
    """Slack's documented limits; views.open's tier replaced when a rate is given."""
    if views_open_per_minute is None:
        return SLACK_LIKE
    per_minute = dict(SLACK_LIKE.per_minute)
    per_minute["views.open"] = views_open_per_minute  # 0: no limit (the limiter skips it)
    return SLACK_LIKE.with_changes(per_minute=MappingProxyType(per_minute))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per Web API call")
    parser.add_argument(
        "--no-directory",
        action="store_true",
        help="users.list answers missing_scope: the app cannot preload its people directory",
    )
    parser.add_argument("--every-method", action="store_true", help="every call waits --latency")
    parser.add_argument("--slack-limits", action="store_true", help="Slack's rate limits")
    parser.add_argument("--views-open-per-minute", type=int, default=None)
    parser.add_argument("--control", action="store_true", help="serve bench.slack_control too")
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    limits = slack_limits(args.views_open_per_minute) if args.slack_limits else None
    with FakeSlack(bot_token=TOKEN, rate_limits=limits) as fake:
        for user in user_ids(args.users):
            fake.add_user(user)
        slow = EVERY_METHOD if args.every_method else ("users.info", "chat.postMessage")
        fake.latency = {method: args.latency for method in slow}
        if args.no_directory:
            fake.fail_next("users.list", status=200, error="missing_scope", times=1_000_000)
        print(fake.api_url, flush=True)
        control = ControlServer(fake) if args.control else None
        if control is not None:
            control.start()
            print(control.url, flush=True)
        stop.wait()
        if control is not None:
            control.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
