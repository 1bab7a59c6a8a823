"""The simulated Slack Web API: a local, in-process stand-in for ``https://slack.com/api/``.

Used by the test suite, the sandbox (``bot/sandbox``) and the demo (``bot/demo.py``), so it must
not import pytest or freezegun at import time. The app talks to it through a real
``slack_sdk.WebClient`` whose ``base_url`` is :attr:`FakeSlack.api_url`. Every request is
recorded as a :class:`Call`; callers assert on the recorded calls (``calls``, ``wait_for``,
``messages``, ``dm_texts`` …) and on the workspace state (``posted_messages``,
``ephemeral_messages``, ``channel``, ``home_of`` …).

It behaves like Slack where the app's features depend on it:

- **Rate limits** (opt-in, ``FakeSlack(rate_limits=SLACK_LIKE)``): per-method tiers and
  ``chat.postMessage``'s ~1/s per channel plus a workspace cap, answered HTTP 429 with
  ``Retry-After``; :meth:`FakeSlack.random_rate_limits` answers a seeded fraction of calls 429.
- **Channels** (:meth:`FakeSlack.add_channel`): ``channel_not_found``, ``not_in_channel``,
  ``is_archived``; ``conversations.info/join/history`` and message ``metadata``.
- **Scopes** (default: the bot scopes of the repository's ``manifest.yml``): a method without
  its scope answers ``missing_scope`` with ``needed`` and ``provided``.
- **Triggers**: a ``trigger_id`` opens one modal within 3 seconds of its issue
  (:meth:`FakeSlack.issue_trigger`), then ``expired_trigger_id``/``exchanged_trigger_id``.
- **response_url**: 30 minutes and 5 uses (then HTTP 404 ``expired_url``/``used_url``), applied
  to the workspace (ephemeral per channel and user, ``replace_original``, ``delete_original``,
  ``in_channel``). A slash command's acknowledgement that carries a message is shown the same
  way (:meth:`FakeSlack.show_command_answer`, recorded as ``command_ack``).
- **Connections**: HTTP/1.1 keep-alive, as Slack's API answers.
- **Block Kit**: Slack's limits, text-object types and ``initial_option(s)`` among the options
  (``invalid_blocks`` for messages, ``invalid_arguments`` for views).
- **Faults**: :meth:`FakeSlack.fail_next` (429/5xx/error answers) and
  :meth:`FakeSlack.lose_answer_next` (the call takes effect but the answer never arrives).
- **A Slack as slow as the test wants**: inside :meth:`FakeSlack.holding` the held methods'
  calls wait unanswered until the block ends.

All state is guarded by one lock; the server answers each request on its own thread. Only the
standard library (and PyYAML for the manifest) is used: ``http.server`` in a daemon thread.

One module per concern: ``clocks`` (real time under freezegun), ``scopes``, ``block_kit``
(validation), ``http_server`` (server and request parsing), ``protocol`` (recorded calls,
answers, errors), ``state`` (the workspace), ``recording`` (queries over the calls),
``faults`` (injected failures, rate limits), ``responses`` (response URLs), the method
families ``users``, ``conversations``, ``chat``, ``views`` and ``files``, and ``fake``, which
assembles :class:`FakeSlack` and answers each request.

Clocks and freezegun
--------------------
Trigger expiry, response_url expiry, rate limits and the ``wait_for`` timeouts run on *real*
time even while a test has frozen the clock with freezegun, which swaps the time functions for
the whole process and rewrites module globals that refer to them. ``clocks`` keeps the real
functions in a tuple, which freezegun's module scan does not look into (the full reasoning is
in its docstring). To move these clocks in a test, monkeypatch ``clocks.trigger_clock`` or
``clocks.response_url_clock`` (``monkeypatch.setattr(web_api.clocks, "trigger_clock", ...)``),
or pass ``FakeSlack(clock=...)`` (response_url expiry; the sandbox passes its simulated clock).
"""

from bot.simulated_slack.web_api import clocks
from bot.simulated_slack.web_api.block_kit import (
    MESSAGE_BLOCK_LIMIT,
    VIEW_BLOCK_LIMIT,
    VIEW_MAX_BYTES,
    validate_blocks,
    validate_view,
)
from bot.simulated_slack.web_api.clocks import (
    RESPONSE_URL_MAX_USES,
    RESPONSE_URL_TTL_SECONDS,
    TRIGGER_TTL_SECONDS,
    real_monotonic,
    real_time,
)
from bot.simulated_slack.web_api.fake import FakeSlack
from bot.simulated_slack.web_api.protocol import Call
from bot.simulated_slack.web_api.scopes import METHOD_SCOPES, manifest_bot_scopes
from bot.simulated_slack.web_api.state import BOT_ID, BOT_USER_ID, GENERAL_CHANNEL

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "GENERAL_CHANNEL",
    "MESSAGE_BLOCK_LIMIT",
    "METHOD_SCOPES",
    "RESPONSE_URL_MAX_USES",
    "RESPONSE_URL_TTL_SECONDS",
    "TRIGGER_TTL_SECONDS",
    "VIEW_BLOCK_LIMIT",
    "VIEW_MAX_BYTES",
    "Call",
    "FakeSlack",
    "clocks",
    "manifest_bot_scopes",
    "real_monotonic",
    "real_time",
    "validate_blocks",
    "validate_view",
]
