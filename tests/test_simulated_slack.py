"""The simulated Slack behaves like Slack where the app's features depend on it.

Each test talks to the fake through a real ``slack_sdk`` client (and the app's own retry
handlers from ``bot/slack_api.py`` where retries matter).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any
from urllib.request import Request, urlopen

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.simulated_slack import SlackRequests
from bot.simulated_slack.rate_limits import SLACK_LIKE
from bot.simulated_slack.web_api import (
    RESPONSE_URL_TTL_SECONDS,
    FakeSlack,
    manifest_bot_scopes,
)
from bot.slack_api import make_web_client
from tests.flows import eventually

TOKEN = "xoxb-test"
READ_SCOPES = {
    "channels:read",
    "groups:read",
    "im:read",
    "mpim:read",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
    "channels:join",
}


def error_of(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


def start(**options: Any) -> FakeSlack:
    fake = FakeSlack(bot_token=TOKEN, **options).start()
    for uid in ("U1", "U2", "U3"):
        fake.add_user(uid)
    return fake


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    fake = start(scopes=manifest_bot_scopes() | READ_SCOPES)
    fake.add_channel("CIN", "mentoring", members=["U1", "U2"], bot_is_member=True)
    fake.add_channel("COUT", "random", members=["U1"])
    fake.add_channel("CPRIV", "secret", members=["U1"], is_private=True)
    fake.add_channel("COLD", "old", members=["U1"], bot_is_member=True, is_archived=True)
    yield fake
    fake.stop()


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.api_url)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


# ------------------------------------------------------------------------------ rate limits


def test_post_message_per_channel_limit_answers_429_with_retry_after() -> None:
    fake = start(rate_limits=SLACK_LIKE.with_changes(post_channel_burst=2))
    try:
        client = WebClient(token=TOKEN, base_url=fake.api_url)
        client.chat_postMessage(channel="U1", text="1")
        client.chat_postMessage(channel="U1", text="2")
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="U1", text="3")
        assert excinfo.value.response.status_code == 429
        assert excinfo.value.response.headers["Retry-After"] == "1"
        assert error_of(excinfo) == "ratelimited"
        # another channel has its own allowance
        client.chat_postMessage(channel="U2", text="elsewhere")
        assert [m["text"] for m in fake.posted_messages("DU1")] == ["1", "2"]
    finally:
        fake.stop()


def test_app_retry_handlers_deliver_everything_at_the_channel_rate() -> None:
    fake = start(rate_limits=SLACK_LIKE.with_changes(post_channel_burst=1))
    try:
        client = make_web_client(TOKEN, fake.api_url)
        for n in range(3):
            client.chat_postMessage(channel="U1", text=f"m{n}")
        assert [m["text"] for m in fake.posted_messages("DU1")] == ["m0", "m1", "m2"]
        answered = [c for c in fake.calls("chat.postMessage") if c.ok]
        assert len(answered) == 3
        assert [c.status for c in fake.calls("chat.postMessage")].count(429) >= 2
        # one message per second per channel: the three posts span at least two seconds
        assert answered[-1].at - answered[0].at >= 1.9
    finally:
        fake.stop()


def test_post_message_workspace_cap_spans_channels() -> None:
    limits = SLACK_LIKE.with_changes(post_per_minute=60, burst_seconds=2.0)
    fake = start(rate_limits=limits)
    try:
        client = WebClient(token=TOKEN, base_url=fake.api_url)
        client.chat_postMessage(channel="U1", text="a")
        client.chat_postMessage(channel="U2", text="b")
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="U3", text="c")
        assert excinfo.value.response.status_code == 429
    finally:
        fake.stop()


@pytest.mark.parametrize(("method", "burst"), [("conversations.open", 5), ("users.info", 10)])
def test_tiered_methods_are_limited_per_minute(method: str, burst: int) -> None:
    fake = start(rate_limits=SLACK_LIKE)
    try:
        client = WebClient(token=TOKEN, base_url=fake.api_url)
        call = {
            "conversations.open": lambda: client.conversations_open(users="U1"),
            "users.info": lambda: client.users_info(user="U1"),
        }[method]
        for _ in range(burst):  # Tier 3: 50/min, Tier 4: 100/min; 6 s of burst
            call()
        with pytest.raises(SlackApiError) as excinfo:
            call()
        assert excinfo.value.response.status_code == 429
        assert int(excinfo.value.response.headers["Retry-After"]) >= 1
        assert client.auth_test()["ok"]  # other methods are not affected
    finally:
        fake.stop()


def test_random_rate_limits_are_seeded() -> None:
    def pattern(seed: int) -> list[int]:
        fake = start()
        try:
            fake.random_rate_limits(0.25, retry_after=3, seed=seed, methods={"auth.test"})
            client = WebClient(token=TOKEN, base_url=fake.api_url)
            for _ in range(80):
                try:
                    client.auth_test()
                except SlackApiError as error:
                    assert error.response.headers["Retry-After"] == "3"
            client.users_info(user="U1")  # not among the methods: never limited
            return [c.status for c in fake.calls()]
        finally:
            fake.stop()

    first = pattern(7)
    assert first == pattern(7)
    assert 8 <= first.count(429) <= 32 and first[-1] == 200


# ------------------------------------------------------------------------------ channels


def test_posting_follows_channel_membership(fake: FakeSlack, client: WebClient) -> None:
    assert client.chat_postMessage(channel="CIN", text="hi")["channel"] == "CIN"
    for channel, error in [
        ("COUT", "not_in_channel"),
        ("CPRIV", "channel_not_found"),  # a private channel the bot is not in is invisible
        ("C404", "channel_not_found"),
        ("COLD", "is_archived"),
        ("G404", "channel_not_found"),
    ]:
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel=channel, text="hi")
        assert error_of(excinfo) == error, channel
    assert [m["text"] for m in fake.posted_messages()] == ["hi"]


def test_chat_write_public_posts_to_public_channels_only() -> None:
    fake = start(scopes=manifest_bot_scopes() | {"chat:write.public"})
    fake.add_channel("CPUB", "announce")
    fake.add_channel("CPRIV", "hr", is_private=True)
    try:
        client = WebClient(token=TOKEN, base_url=fake.api_url)
        client.chat_postMessage(channel="CPUB", text="hello all")
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="CPRIV", text="x")
        assert error_of(excinfo) == "channel_not_found"
    finally:
        fake.stop()


def test_join_info_and_members(fake: FakeSlack, client: WebClient) -> None:
    info = client.conversations_info(channel="COUT")["channel"]
    assert (info["name"], info["is_member"], info["is_private"]) == ("random", False, False)
    joined = client.conversations_join(channel="COUT")
    assert joined["channel"]["is_member"] is True
    client.chat_postMessage(channel="COUT", text="now I may")
    assert client.conversations_members(channel="COUT")["members"] == ["U1", "U0BOT"]
    assert client.conversations_join(channel="COUT")["warning"] == "already_in_channel"
    for channel, error in [("CPRIV", "channel_not_found"), ("C404", "channel_not_found")]:
        with pytest.raises(SlackApiError) as excinfo:
            client.conversations_join(channel=channel)
        assert error_of(excinfo) == error
    fake.set_bot_membership("CPRIV", True)
    with pytest.raises(SlackApiError) as private:
        client.conversations_join(channel="CPRIV")
    assert error_of(private) == "method_not_supported_for_channel_type"
    with pytest.raises(SlackApiError) as archived:
        fake.archive_channel("COUT")
        client.conversations_join(channel="COUT")
    assert error_of(archived) == "is_archived"
    dm = client.conversations_open(users="U2")["channel"]["id"]
    assert client.conversations_info(channel=dm)["channel"]["is_im"] is True
    assert fake.channel(dm) is not None and fake.channel("C404") is None


def test_workspace_accessors_for_a_renderer(fake: FakeSlack, client: WebClient) -> None:
    assert [u["id"] for u in fake.users()] == ["U1", "U2", "U3"]
    general = fake.channel("C0GENERAL")
    assert general is not None
    assert (general["name"], general["members"], general["is_member"]) == (
        "general",
        ["U1", "U2", "U3"],
        False,
    )
    group = client.conversations_open(users="U1,U2")["channel"]["id"]
    ids = [c["id"] for c in fake.channels()]
    assert ids[:5] == ["C0GENERAL", "CIN", "COUT", "CPRIV", "COLD"] and group in ids


def test_history_finds_a_message_by_its_metadata(fake: FakeSlack, client: WebClient) -> None:
    posted = []
    for n in range(5):
        metadata = {"event_type": "checkin_sent", "event_payload": {"cycle": f"2027-0{n + 1}"}}
        posted.append(client.chat_postMessage(channel="CIN", text=f"m{n}", metadata=metadata))
    client.chat_postMessage(channel="CIN", text="reply", thread_ts=posted[0]["ts"])

    newest = client.conversations_history(channel="CIN", limit=2)
    assert [m["text"] for m in newest["messages"]] == ["m4", "m3"]
    assert newest["has_more"] is True and "metadata" not in newest["messages"][0]
    rest = client.conversations_history(
        channel="CIN", limit=10, cursor=newest["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in rest["messages"]] == ["m2", "m1", "m0"]  # no thread reply

    window = client.conversations_history(
        channel="CIN", oldest=posted[1]["ts"], latest=posted[3]["ts"], include_all_metadata=True
    )
    assert [m["metadata"]["event_payload"]["cycle"] for m in window["messages"]] == ["2027-03"]
    inclusive = client.conversations_history(
        channel="CIN", oldest=posted[1]["ts"], latest=posted[3]["ts"], inclusive=True
    )
    assert len(inclusive["messages"]) == 3

    with pytest.raises(SlackApiError) as outside:
        client.conversations_history(channel="COUT")
    assert error_of(outside) == "not_in_channel"
    with pytest.raises(SlackApiError) as bad:
        client.chat_postMessage(channel="CIN", text="x", metadata={"event_type": "only"})
    assert error_of(bad) == "invalid_metadata_schema"


def test_a_file_shared_to_a_conversation_shows_in_its_history(
    fake: FakeSlack, client: WebClient
) -> None:
    client.chat_postMessage(channel="U1", text="before")
    shared = client.files_upload_v2(
        channel="DU1", filename="c.pdf", content=b"%PDF-1", initial_comment="Your certificate"
    )
    file_id = shared["file"]["id"]
    history = client.conversations_history(channel="DU1")["messages"]
    assert [m["text"] for m in history] == ["Your certificate", "before"]
    assert [f["id"] for f in history[0]["files"]] == [file_id]
    assert history[0]["files"][0]["name"] == "c.pdf"
    assert "files" not in history[1]
    # Completed without a conversation, a file is shared nowhere.
    step = client.files_getUploadURLExternal(filename="x.txt", length=1)
    with urlopen(Request(step["upload_url"], data=b"x", method="POST")) as answer:  # noqa: S310
        answer.read()
    client.files_completeUploadExternal(files=[{"id": step["file_id"]}])
    assert len(fake.posted_messages()) == 2


def test_messages_to_a_refused_person_answer_the_error(fake: FakeSlack, client: WebClient) -> None:
    fake.refuse_messages_to("U2")
    for channel in ("U2", "DU2"):
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel=channel, text="hello")
        assert error_of(refused) == "account_inactive"
    with pytest.raises(SlackApiError) as file_refused:
        client.files_upload_v2(channel="DU2", filename="c.pdf", content=b"%PDF-1")
    assert error_of(file_refused) == "account_inactive"
    client.chat_postMessage(channel="U1", text="others still get theirs")
    client.chat_postMessage(channel="CIN", text="and channels too")
    fake.refuse_messages_to("U2", error="")
    client.chat_postMessage(channel="U2", text="welcome back")
    assert [m["text"] for m in fake.posted_messages("DU2")] == ["welcome back"]


# ------------------------------------------------------------------------------ scopes


def test_default_scopes_are_the_manifests_and_enforced() -> None:
    fake = start()
    try:
        assert fake.scopes == manifest_bot_scopes()
        assert {"chat:write", "im:write", "users:read"} <= fake.scopes
        client = WebClient(token=TOKEN, base_url=fake.api_url)
        client.chat_postMessage(channel="U1", text="fine")
        with pytest.raises(SlackApiError) as excinfo:
            client.reactions_add(channel="DU1", timestamp="1.0", name="tada")
        body = excinfo.value.response
        assert (body["error"], body["needed"]) == ("missing_scope", "reactions:write")
        assert body["provided"] == ",".join(sorted(fake.scopes))
        without_history = WebClient(token=TOKEN, base_url=fake.api_url)
        fake.scopes = fake.scopes - {"im:history"}
        with pytest.raises(SlackApiError) as history:
            without_history.conversations_history(channel="DU1")
        assert history.value.response["needed"] == "im:history"
        assert not fake.posted_messages("DU1")[0].get("reactions")
    finally:
        fake.stop()


@pytest.mark.parametrize(
    ("scopes", "call", "needed"),
    [
        (set(), lambda c: c.chat_postMessage(channel="U1", text="x"), "chat:write"),
        (set(), lambda c: c.users_info(user="U1"), "users:read"),
        (set(), lambda c: c.users_list(), "users:read"),
        (
            set(),
            lambda c: c.conversations_open(users="U1"),
            "channels:manage,groups:write,im:write,mpim:write",
        ),
        (set(), lambda c: c.files_getUploadURLExternal(filename="a", length=1), "files:write"),
        (set(), lambda c: c.conversations_join(channel="C0GENERAL"), "channels:join"),
        (
            {"im:history"},
            lambda c: c.conversations_history(channel="C0GENERAL"),
            "channels:history",
        ),
    ],
)
def test_each_method_needs_its_scope(scopes: set[str], call: Any, needed: str) -> None:
    fake = start(scopes=scopes)
    try:
        with pytest.raises(SlackApiError) as excinfo:
            call(WebClient(token=TOKEN, base_url=fake.api_url))
        assert (error_of(excinfo), excinfo.value.response["needed"]) == ("missing_scope", needed)
        assert excinfo.value.response.headers["X-Accepted-OAuth-Scopes"] == needed
    finally:
        fake.stop()


def test_conversations_open_accepts_either_write_scope() -> None:
    fake = start(scopes={"mpim:write"})
    try:
        client = WebClient(token=TOKEN, base_url=fake.api_url)
        assert client.conversations_open(users="U1,U2")["ok"]
    finally:
        fake.stop()


# ------------------------------------------------------------------------------ response_url


def test_response_url_accepts_five_uses() -> None:
    fake = start()
    try:
        url = fake.response_url(channel="C0GENERAL", user="U1")
        hook = WebhookClient(url)
        assert [hook.send(text=f"r{n}").status_code for n in range(5)] == [200] * 5
        used = hook.send(text="sixth")
        assert (used.status_code, used.body) == (404, "used_url")
        assert [m["text"] for m in fake.ephemeral_messages("U1")] == [f"r{n}" for n in range(5)]
    finally:
        fake.stop()


def test_response_url_expires_after_thirty_minutes_on_the_injected_clock() -> None:
    now = [5000.0]
    fake = start(clock=lambda: now[0])
    try:
        url = fake.response_url(channel="C0GENERAL", user="U1")
        now[0] += RESPONSE_URL_TTL_SECONDS - 1
        assert WebhookClient(url).send(text="in time").status_code == 200
        now[0] += 2
        late = WebhookClient(url).send(text="too late")
        assert (late.status_code, late.body) == (404, "expired_url")
        unknown = WebhookClient(fake.response_url() + "x").send(text="?")
        assert unknown.status_code == 404
        assert [c.error for c in fake.calls("response_url")] == [None, "expired_url", "no_such_url"]
    finally:
        fake.stop()


def test_response_url_answers_show_in_the_workspace(fake: FakeSlack, client: WebClient) -> None:
    slack = SlackRequests("http://127.0.0.1:9/unused", "secret", fake)
    original = client.chat_postMessage(channel="CIN", text="Pick one", blocks=[section("Pick")])
    message = next(m for m in fake.posted_messages("CIN") if m["ts"] == original["ts"])
    url = fake.response_url(channel="CIN", user="U1", message_ts=original["ts"])
    assert slack.fake is fake

    WebhookClient(url).send(text="only you see this")
    [ephemeral] = fake.ephemeral_messages("U1", "CIN")
    assert (ephemeral["text"], ephemeral["via"]) == ("only you see this", "response_url")
    assert fake.ephemeral_messages("U2") == []

    WebhookClient(url).send(text="Picked", replace_original=True)
    [replaced] = [m for m in fake.posted_messages("CIN") if m["ts"] == message["ts"]]
    assert replaced["text"] == "Picked" and replaced["blocks"] == [] and "edited" in replaced

    WebhookClient(url).send(text="Everyone sees this", response_type="in_channel")
    assert [m["text"] for m in fake.posted_messages("CIN")] == ["Picked", "Everyone sees this"]

    WebhookClient(url).send(delete_original=True)
    assert [m["text"] for m in fake.posted_messages("CIN")] == ["Everyone sees this"]

    client.chat_postEphemeral(channel="CIN", user="U2", text="psst")
    [psst] = fake.ephemeral_messages("U2")
    assert (psst["channel"], psst["via"]) == ("CIN", "chat.postEphemeral")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postEphemeral(channel="CIN", user="U3", text="not a member")
    assert error_of(excinfo) == "user_not_in_channel"


def test_replace_original_applies_to_an_ephemeral_original(fake: FakeSlack) -> None:
    first = fake.response_url(channel="CIN", user="U1")
    WebhookClient(first).send(text="Choose")
    [shown] = fake.ephemeral_messages("U1")
    # an action in that ephemeral message gets a response_url bound to it
    second = fake.response_url(channel="CIN", user="U1", message_ts=shown["ts"])
    WebhookClient(second).send(text="Chosen", replace_original=True)
    assert [m["text"] for m in fake.ephemeral_messages("U1")] == ["Chosen"]
    WebhookClient(second).send(delete_original=True)
    assert fake.ephemeral_messages("U1") == []


# ------------------------------------------------------------------------------ Block Kit


def _options(*values: str, kind: str = "plain_text") -> list[dict[str, Any]]:
    return [{"text": {"type": kind, "text": v}, "value": v} for v in values]


@pytest.mark.parametrize(
    ("block", "pointer"),
    [
        ({"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}, "/blocks/0/text/type"),
        (
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "action_id": "b", "text": {"type": "mrkdwn", "text": "*b*"}}
                ],
            },
            "/blocks/0/elements/0/text/type",
        ),
        (
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "s",
                        "options": _options("a", kind="mrkdwn"),
                    }
                ],
            },
            "/blocks/0/elements/0/options/0/text/type",
        ),
        (
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "s",
                        "placeholder": {"type": "mrkdwn", "text": "pick"},
                        "options": _options("a"),
                    }
                ],
            },
            "/blocks/0/elements/0/placeholder/type",
        ),
        ({"type": "section", "text": {"type": "markdown", "text": "x"}}, "/blocks/0/text/type"),
        (
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "s",
                        "options": _options("a", "b"),
                        "initial_option": _options("c")[0],
                    }
                ],
            },
            "/blocks/0/elements/0/initial_option",
        ),
        (
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "checkboxes",
                        "action_id": "c",
                        "options": _options("a", "b"),
                        "initial_options": [_options("a")[0], _options("z")[0]],
                    }
                ],
            },
            "/blocks/0/elements/0/initial_options/1",
        ),
        (
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "radio_buttons",
                        "action_id": "r",
                        "options": _options("a"),
                        # same value, other text: Slack compares the whole option
                        "initial_option": {
                            "text": {"type": "plain_text", "text": "A"},
                            "value": "a",
                        },
                    }
                ],
            },
            "/blocks/0/elements/0/initial_option",
        ),
        ({"type": "image", "image_url": "https://x/y.png"}, "alt_text"),
        ({"type": "image", "alt_text": "chart"}, "image_url"),
        (
            {"type": "context", "elements": [{"type": "image", "image_url": "https://x/y.png"}]},
            "alt_text",
        ),
    ],
)
def test_message_blocks_are_checked_like_slack(
    client: WebClient, block: dict[str, Any], pointer: str
) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="CIN", text="t", blocks=[block])
    assert error_of(excinfo) == "invalid_blocks"
    assert any(pointer in e for e in excinfo.value.response["errors"]), excinfo.value.response


def test_valid_text_types_and_initial_options_pass(fake: FakeSlack, client: WebClient) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Check-in"}},
        {"type": "section", "fields": [{"type": "plain_text", "text": "a"}, section("b")["text"]]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "_ctx_"}]},
        {"type": "image", "image_url": "https://x/y.png", "alt_text": "chart"},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "radio_buttons",
                    "action_id": "r",
                    "options": _options("a", "b", kind="mrkdwn"),  # radio may use mrkdwn
                    "initial_option": _options("b", kind="mrkdwn")[0],
                },
                {
                    "type": "static_select",
                    "action_id": "s",
                    "option_groups": [
                        {"label": {"type": "plain_text", "text": "G"}, "options": _options("x")}
                    ],
                    "initial_option": _options("x")[0],
                },
                {
                    "type": "multi_static_select",
                    "action_id": "m",
                    "options": _options("p", "q"),
                    "initial_options": _options("q"),
                },
            ],
        },
    ]
    assert client.chat_postMessage(channel="CIN", text="t", blocks=blocks)["ok"]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"title": {"type": "mrkdwn", "text": "T"}}, "/view/title/type"),
        ({"submit": {"type": "mrkdwn", "text": "Go"}}, "/view/submit/type"),
        ({"close": {"type": "mrkdwn", "text": "No"}}, "/view/close/type"),
        (
            {
                "blocks": [
                    {
                        "type": "input",
                        "label": {"type": "mrkdwn", "text": "*Goal*"},
                        "element": {"type": "plain_text_input", "action_id": "g"},
                    }
                ]
            },
            "/view/blocks/0/label/type",
        ),
        (
            {
                "blocks": [
                    {
                        "type": "input",
                        "label": {"type": "plain_text", "text": "Goal"},
                        "hint": {"type": "mrkdwn", "text": "_be specific_"},
                        "element": {"type": "plain_text_input", "action_id": "g"},
                    }
                ]
            },
            "/view/blocks/0/hint/type",
        ),
    ],
)
def test_modal_text_objects_must_be_plain_text(
    fake: FakeSlack, client: WebClient, change: dict[str, Any], pointer: str
) -> None:
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Goals"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [section("x")],
        **change,
    }
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=fake.issue_trigger(), view=view)
    assert error_of(excinfo) == "invalid_arguments"
    assert any(pointer in e for e in excinfo.value.response["errors"])


# ------------------------------------------------------------------------------ lost answers


def test_lost_answer_takes_effect_but_the_client_never_hears(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.lose_answer_next("chat.postMessage")
    no_retries = WebClient(token=TOKEN, base_url=fake.api_url, retry_handlers=[])
    with pytest.raises(ConnectionError):
        no_retries.chat_postMessage(channel="CIN", text="did it arrive?")
    assert [m["text"] for m in fake.posted_messages("CIN")] == ["did it arrive?"]
    [call] = fake.calls("chat.postMessage")
    assert call.ok and not call.answered
    # only the next call is affected
    assert client.chat_postMessage(channel="CIN", text="next")["ok"]


def test_a_lost_answer_retried_by_the_app_client_posts_twice(fake: FakeSlack) -> None:
    """What exactly-once delivery must guard against: the retry cannot know the first post
    landed."""
    fake.lose_answer_next("chat.postMessage")
    make_web_client(TOKEN, fake.api_url).chat_postMessage(channel="CIN", text="once?")
    assert [m["text"] for m in fake.posted_messages("CIN")] == ["once?", "once?"]


def test_a_hung_answer_times_out_the_client(fake: FakeSlack) -> None:
    fake.lose_answer_next("views.publish", hang=1.5)
    client = WebClient(token=TOKEN, base_url=fake.api_url, timeout=1)
    with pytest.raises(TimeoutError):
        client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("home")]})
    home = fake.home_of("U1")
    assert home is not None and home["blocks"][0]["text"]["text"] == "home"


def test_lost_response_url_answer(fake: FakeSlack) -> None:
    url = fake.response_url(channel="CIN", user="U1")
    fake.lose_answer_next("response_url")
    with pytest.raises(ConnectionError):
        WebhookClient(url, retry_handlers=[]).send(text="shown anyway")
    assert [m["text"] for m in fake.ephemeral_messages("U1")] == ["shown anyway"]


def test_a_held_call_is_answered_when_the_holding_ends(fake: FakeSlack, client: WebClient) -> None:
    answers: list[Any] = []
    with fake.holding("users.info"):
        caller = threading.Thread(target=lambda: answers.append(client.users_info(user="U1")))
        caller.start()
        eventually(lambda: fake.held("users.info") == 1)
        assert client.auth_test()["ok"]  # other methods are answered meanwhile
        assert answers == [] and fake.calls("users.info") == []
    caller.join(timeout=30)
    assert [answer["user"]["id"] for answer in answers] == ["U1"]
    assert fake.held("users.info") == 0 and len(fake.calls("users.info")) == 1


# ------------------------------------------------------------------------------ threads


def test_concurrent_posts_are_all_kept_with_unique_timestamps(
    fake: FakeSlack, client: WebClient
) -> None:
    def post(user: str) -> None:
        for n in range(25):
            client.chat_postMessage(channel=user, text=f"{user}-{n}")

    threads = [threading.Thread(target=post, args=(f"U{i}",)) for i in range(1, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    messages = fake.posted_messages()
    assert len(messages) == 75
    assert len({m["ts"] for m in messages}) == 75
    assert [m["text"] for m in fake.posted_messages("DU2")] == [f"U2-{n}" for n in range(25)]


def test_importable_without_pytest_or_freezegun() -> None:
    code = (
        "import sys\n"
        "sys.modules['pytest'] = None\n"
        "sys.modules['freezegun'] = None\n"
        "from slack_sdk import WebClient\n"
        "from bot.simulated_slack import FakeSlack\n"
        "with FakeSlack() as fake:\n"
        "    fake.add_user('U1')\n"
        "    WebClient(token='xoxb-test', base_url=fake.api_url).chat_postMessage("
        "channel='U1', text='hi')\n"
        "    print(fake.dm_texts('U1'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['hi']"
