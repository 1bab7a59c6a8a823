"""A bare Bolt app that only acknowledges `/mentoring`: the baseline bench_http compares with.

Served by the same gunicorn threaded workers as the real app, so the ratio isolates what our
own code costs per request (verification, parsing, listeners' real work).
"""

from __future__ import annotations

import os

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

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
