"""A simulated Slack workspace: the Web API (:class:`FakeSlack`) and signed requests to the app.

Used by the test suite, the sandbox (``bot/sandbox``), the demo (``bot/demo.py``) and the
benchmarks; importable without pytest or freezegun.
"""

from bot.simulated_slack.rate_limits import SLACK_LIKE, RateLimits
from bot.simulated_slack.signed_requests import (
    Response,
    SlackRequests,
    checkboxes,
    compute_signature,
    conversations_select,
    datepicker,
    multi_static_select,
    multi_users_select,
    number,
    plain,
    radio,
    static_select,
    timepicker,
    users_select,
    values_from,
)
from bot.simulated_slack.web_api import Call, FakeSlack, manifest_bot_scopes

__all__ = [
    "SLACK_LIKE",
    "Call",
    "FakeSlack",
    "RateLimits",
    "Response",
    "SlackRequests",
    "checkboxes",
    "compute_signature",
    "conversations_select",
    "datepicker",
    "manifest_bot_scopes",
    "multi_static_select",
    "multi_users_select",
    "number",
    "plain",
    "radio",
    "static_select",
    "timepicker",
    "users_select",
    "values_from",
]
