"""A bare Bolt app that only acknowledges `/mentoring`: the baseline bench_http compares with.

Served by the same server code and settings as the real app (bot/http_server.py: waitress,
same workers and threads), so the ratio isolates what our own code costs per request
(verification, parsing, listeners' real work).

    python -m bench.bare_bolt --port 3001 [--workers 1] [--threads 64]
"""

from __future__ import annotations

import argparse
import os

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot import http_server

bolt = App(
    client=WebClient(
        token=os.environ.get("SLACK_BOT_TOKEN", "xoxb-bench"),
        base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
    ),
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    token_verification_enabled=False,
)


@bolt.command("/mentoring")
def acknowledge(ack: Ack) -> None:
    ack()


application = SlackRequestHandler(bolt)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=64)
    args = parser.parse_args()
    listener = http_server.bind(args.host, args.port)
    if isinstance(listener, str):
        raise SystemExit(listener)
    return http_server.serve(
        listener, lambda: (application, lambda: None), workers=args.workers, threads=args.threads
    )


if __name__ == "__main__":
    raise SystemExit(main())
