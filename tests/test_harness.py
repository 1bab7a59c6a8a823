"""Self-tests for the Slack-shaped test harness (FakeSlack + SlackRequests)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.simulated_slack import web_api as fake_slack_module
from bot.simulated_slack.signed_requests import (
    SlackRequests,
    compute_signature,
    datepicker,
    plain,
    values_from,
)
from bot.simulated_slack.web_api import FakeSlack, manifest_bot_scopes

TOKEN = "xoxb-test"
SECRET = "shh-signing-secret"
# The manifest's scopes plus those the methods exercised here need.
SCOPES = manifest_bot_scopes() | {"reactions:write", "mpim:read", "im:read", "channels:read"}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=TOKEN, scopes=SCOPES) as server:
        server.add_user("U1", name="ana", real_name="Ana Alves", locale="de-DE")
        server.add_user("U2", name="bo", tz="America/New_York", tz_offset=-18000)
        server.add_user("U3", name="cy", is_admin=True)
        server.add_channel("C1", "mentoring", members=["U1", "U2", "U3"], bot_is_member=True)
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.api_url)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def modal(title: str = "Mentoring", **extra: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": "signup",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [section("hello")],
    }
    view.update(extra)
    return view


def api_error(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


# ------------------------------------------------------------------------------ FakeSlack


def test_lifecycle() -> None:
    fake = FakeSlack()
    fake.start()
    assert WebClient(token="xoxb-test", base_url=fake.api_url).auth_test()["user_id"] == "U0BOT"
    fake.stop()
    with pytest.raises(RuntimeError):
        _ = fake.api_url


def test_auth_errors_and_unknown_method(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=fake.api_url).auth_test()
    assert api_error(missing) == "not_authed"
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=fake.api_url).auth_test()
    assert api_error(wrong) == "invalid_auth"
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("nope.nothing")
    assert api_error(unknown) == "unknown_method"
    auth = client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("U0BOT", "B0BOT", "T0TEST")
    assert [c.ok for c in fake.calls("auth.test")] == [False, False, True]


def test_token_in_body_and_get_with_query_string(fake: FakeSlack) -> None:
    url = f"{fake.api_url}users.info?user=U1&token={TOKEN}"
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.loads(resp.read())
    assert body["ok"] is True and body["user"]["name"] == "ana"
    assert "token" not in fake.calls("users.info")[0].params


def test_users_info_locale_only_when_asked(client: WebClient) -> None:
    without = client.users_info(user="U1")["user"]
    assert "locale" not in without
    assert without["profile"]["real_name"] == "Ana Alves"
    assert without["tz"] == "Europe/Berlin" and without["tz_offset"] == 3600
    with_locale = client.users_info(user="U1", include_locale=True)["user"]
    assert with_locale["locale"] == "de-DE"
    assert client.users_info(user="U3")["user"]["is_admin"] is True
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="U404")
    assert api_error(excinfo) == "user_not_found"


def test_users_list_paginates(client: WebClient) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = client.users_list(limit=2, cursor=cursor)
        pages += 1
        seen += [m["id"] for m in page["members"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert (seen, pages) == (["U1", "U2", "U3"], 2)


def test_conversations_open_is_deterministic(fake: FakeSlack, client: WebClient) -> None:
    dm = client.conversations_open(users="U1")["channel"]["id"]
    assert dm == "DU1"
    group = client.conversations_open(users=["U2", "U1"])["channel"]["id"]
    assert group.startswith("G")
    assert client.conversations_open(users="U1,U2")["channel"]["id"] == group
    assert group == FakeSlack.group_channel(["U1", "U2"])
    assert fake.conversation_members(group) == ["U1", "U2"]
    assert client.conversations_members(channel=group)["members"] == ["U1", "U2"]
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_members(channel="C404")
    assert api_error(excinfo) == "channel_not_found"


def test_post_update_delete_and_conveniences(fake: FakeSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="DU1", text="Welcome!")
    second = client.chat_postMessage(
        channel="U1", text="fallback", blocks=[section("*Your mentor* is Bo")]
    )
    assert second["channel"] == "DU1"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "Welcome!"
    assert fake.dm_texts("U1") == ["Welcome!", "fallback\n*Your mentor* is Bo"]
    assert [m["text"] for m in fake.messages("DU1")] == ["Welcome!", "fallback"]
    # blocks arrive json-decoded even though slack_sdk sent them as a JSON string in a form
    assert fake.messages()[1]["blocks"][0]["type"] == "section"

    updated = client.chat_update(channel="DU1", ts=first["ts"], text="Edited")
    assert updated["message"]["text"] == "Edited"
    assert [m["text"] for m in fake.posted_messages("DU1")] == ["Edited", "fallback"]
    with pytest.raises(SlackApiError) as missing:
        client.chat_update(channel="DU1", ts="1.000001", text="x")
    assert api_error(missing) == "message_not_found"
    client.chat_delete(channel="DU1", ts=first["ts"])
    with pytest.raises(SlackApiError) as deleted:
        client.chat_delete(channel="DU1", ts=first["ts"])
    assert api_error(deleted) == "message_not_found"

    client.chat_postEphemeral(channel="C1", user="U2", text="only you")
    assert [e["text"] for e in fake.ephemerals("U2")] == ["only you"]

    client.reactions_add(channel="DU1", timestamp=second["ts"], name="tada")
    with pytest.raises(SlackApiError) as twice:
        client.reactions_add(channel="DU1", timestamp=second["ts"], name="tada")
    assert api_error(twice) == "already_reacted"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_message_content_rules(fake: FakeSlack, client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1")
    assert api_error(excinfo) == "no_text"
    assert fake.warnings == []
    client.chat_postMessage(channel="C1", blocks=[section("no fallback")])
    assert len(fake.warnings) == 1 and "text" in fake.warnings[0]
    fake.strict_text_fallback = False
    client.chat_postMessage(channel="C1", blocks=[section("no fallback")])
    assert len(fake.warnings) == 1


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([section(f"s{i}") for i in range(51)], "/blocks]"),
        ([section("x" * 3001)], "/blocks/0/text/text"),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "a",
                            "text": {"type": "plain_text", "text": "y" * 76},
                        }
                    ],
                }
            ],
            "/blocks/0/elements/0/text/text",
        ),
        ([{**section("a"), "block_id": "dup"}, {**section("b"), "block_id": "dup"}], "block_id"),
    ],
)
def test_message_block_limits(
    client: WebClient, blocks: list[dict[str, Any]], pointer: str
) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="t", blocks=blocks)
    assert api_error(excinfo) == "invalid_blocks"
    assert any(pointer in e for e in excinfo.value.response["errors"])


def test_fifty_blocks_are_fine(client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="t", blocks=[section(f"s{i}") for i in range(50)])


@pytest.mark.parametrize(
    ("view", "error"),
    [
        (modal(title="x" * 25), "invalid_arguments"),
        (modal(submit={"type": "plain_text", "text": "s" * 25}), "invalid_arguments"),
        (modal(close={"type": "plain_text", "text": "c" * 25}), "invalid_arguments"),
        (modal(private_metadata="m" * 3001), "invalid_arguments"),
        (modal(blocks=[section(f"s{i}") for i in range(101)]), "invalid_arguments"),
        (modal(blocks=[section("z" * 2900) for _ in range(90)]), "view_too_large"),
    ],
)
def test_view_limits(fake: FakeSlack, client: WebClient, view: dict[str, Any], error: str) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=fake.issue_trigger(), view=view)
    assert api_error(excinfo) == error


def test_view_limits_accept_the_maximum(fake: FakeSlack, client: WebClient) -> None:
    view = modal(title="x" * 24, private_metadata="m" * 3000)
    view["blocks"] = [section(f"s{i}") for i in range(100)]
    client.views_open(trigger_id=fake.issue_trigger(), view=view)
    home = {"type": "home", "blocks": [section(f"h{i}") for i in range(100)]}
    client.views_publish(user_id="U1", view=home)
    with pytest.raises(SlackApiError) as excinfo:
        client.views_publish(user_id="U1", view={**home, "blocks": home["blocks"] * 2})
    assert api_error(excinfo) == "invalid_arguments"


def test_views_open_trigger_rules(
    fake: FakeSlack, client: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger = fake.issue_trigger()
    opened = client.views_open(trigger_id=trigger, view=modal(private_metadata="42"))["view"]
    assert opened["id"].startswith("V") and opened["hash"]
    assert (opened["callback_id"], opened["private_metadata"]) == ("signup", "42")
    assert fake.opened_views() == [opened]

    with pytest.raises(SlackApiError) as reused:
        client.views_open(trigger_id=trigger, view=modal())
    assert api_error(reused) == "exchanged_trigger_id"
    with pytest.raises(SlackApiError) as unknown:
        client.views_open(trigger_id="123.456.abc", view=modal())
    assert api_error(unknown) == "expired_trigger_id"

    now = [1000.0]
    monkeypatch.setattr(fake_slack_module.clocks, "trigger_clock", lambda: now[0])
    stale = fake.issue_trigger()
    now[0] += 3.01
    with pytest.raises(SlackApiError) as expired:
        client.views_push(trigger_id=stale, view=modal())
    assert api_error(expired) == "expired_trigger_id"
    fresh = fake.issue_trigger()
    now[0] += 2.9
    pushed = client.views_push(trigger_id=fresh, view=modal(title="Step 2"))["view"]
    assert pushed["title"]["text"] == "Step 2"


def test_triggers_and_waits_ignore_freezegun(fake: FakeSlack, client: WebClient) -> None:
    with freeze_time("2026-01-31 09:00:00"):
        trigger = fake.issue_trigger()
        client.views_open(trigger_id=trigger, view=modal())
        started = time.monotonic()  # frozen: would never advance
        with pytest.raises(AssertionError):
            fake.wait_for("chat.postMessage", timeout=0.2)
        assert time.monotonic() == started


def test_views_update_and_publish(fake: FakeSlack, client: WebClient) -> None:
    opened = client.views_open(trigger_id=fake.issue_trigger(), view=modal(external_id="ext-1"))[
        "view"
    ]
    by_id = client.views_update(view_id=opened["id"], view=modal(title="Updated"))["view"]
    assert by_id["id"] == opened["id"] and by_id["hash"] != opened["hash"]
    assert fake.view(opened["id"])["title"]["text"] == "Updated"  # type: ignore[index]
    by_external = client.views_update(external_id="ext-1", view=modal(title="Again"))["view"]
    assert by_external["id"] == opened["id"]
    with pytest.raises(SlackApiError) as conflict:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())
    assert api_error(conflict) == "hash_conflict"
    with pytest.raises(SlackApiError) as missing:
        client.views_update(view_id="V404", view=modal())
    assert api_error(missing) == "not_found"

    assert fake.home_of("U1") is None
    first = client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("a")]})
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("b")]})
    home = fake.home_of("U1")
    assert home is not None and home["blocks"][0]["text"]["text"] == "b"
    assert home["id"] == first["view"]["id"]
    with pytest.raises(SlackApiError) as modal_as_home:
        client.views_publish(user_id="U1", view=modal())
    assert api_error(modal_as_home) == "invalid_arguments"


def test_files_upload_v2_end_to_end(fake: FakeSlack, client: WebClient) -> None:
    payload = b"name,score\nana,5\n\x00\xff"
    result = client.files_upload_v2(
        channel="DU1", filename="report.csv", content=payload, initial_comment="Your report"
    )
    assert result["file"]["name"] == "report.csv"
    [uploaded] = fake.uploaded_files()
    assert uploaded["name"] == "report.csv"
    assert uploaded["bytes"] == payload
    assert uploaded["channel"] == "DU1"
    assert uploaded["initial_comment"] == "Your report"
    assert [c.method for c in fake.calls()] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


def test_response_url(fake: FakeSlack) -> None:
    url = fake.response_url("tok-1")
    assert url == f"http://127.0.0.1:{fake.port}/response/tok-1"
    resp = WebhookClient(url).send(text="Saved!", response_type="ephemeral")
    assert resp.status_code == 200 and json.loads(resp.body) == {"ok": True}
    call = fake.wait_for("response_url")
    assert call.params == {"text": "Saved!", "response_type": "ephemeral", "_token": "tok-1"}
    assert fake.responses("tok-1") == [call.params]


def test_rate_limit_is_retried_after_retry_after(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=429, retry_after=0)
    client = WebClient(
        token=TOKEN,
        base_url=fake.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert client.chat_postMessage(channel="C1", text="hi")["ok"] is True
    calls = fake.calls("chat.postMessage")
    assert [(c.status, c.ok) for c in calls] == [(429, False), (200, True)]
    assert len(fake.messages()) == 1


def test_rate_limit_without_retry_handler_surfaces_429(fake: FakeSlack) -> None:
    fake.fail_next("users.info", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(token=TOKEN, base_url=fake.api_url).users_info(user="U1")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "7"


def test_server_errors_are_retried(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=500, times=1)
    fake.fail_next("chat.postMessage", status=503, retry_after=None, times=1)
    client = WebClient(
        token=TOKEN,
        base_url=fake.api_url,
        retry_handlers=[
            ServerErrorRetryHandler(
                max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
            )
        ],
    )
    assert client.chat_postMessage(channel="C1", text="hi")["ok"] is True
    assert [c.status for c in fake.calls("chat.postMessage")] == [500, 503, 200]


def test_error_fault_with_status_200(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("conversations.open", status=200, error="cannot_dm_bot", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            client.conversations_open(users="U1")
        assert api_error(excinfo) == "cannot_dm_bot"
    assert client.conversations_open(users="U1")["channel"]["id"] == "DU1"


def test_wait_for_background_calls_and_timeout_listing(fake: FakeSlack, client: WebClient) -> None:
    def later() -> None:
        time.sleep(0.1)
        for n in range(3):
            client.chat_postMessage(channel="DU2", text=f"reminder {n}")

    thread = threading.Thread(target=later)
    thread.start()
    call = fake.wait_for("chat.postMessage", lambda c: c.params["text"].endswith("2"))
    assert call.params["text"] == "reminder 2"
    assert len(fake.wait_for_count("chat.postMessage", 3)) == 3
    thread.join()

    with pytest.raises(AssertionError) as excinfo:
        fake.wait_for("views.publish", timeout=0.1)
    assert "chat.postMessage" in str(excinfo.value) and "reminder 1" in str(excinfo.value)
    fake.reset_calls()
    assert fake.calls() == []


# ------------------------------------------------------------------------------ SlackRequests


class _EchoHandler(BaseHTTPRequestHandler):
    verifier = SignatureVerifier(SECRET)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items()}
        if not self.verifier.is_valid_request(body, headers):
            self._reply(401, {"error": "invalid signature"})
            return
        parsed: dict[str, Any] = {
            "path": self.path,
            "content_type": self.headers.get("Content-Type"),
            "retry_num": self.headers.get("X-Slack-Retry-Num"),
            "retry_reason": self.headers.get("X-Slack-Retry-Reason"),
        }
        try:
            if (self.headers.get("Content-Type") or "").startswith("application/json"):
                parsed["json"] = json.loads(body)
            else:
                form = dict(parse_qsl(body.decode(), keep_blank_values=True))
                if "payload" in form:
                    parsed["payload"] = json.loads(form["payload"])
                else:
                    parsed["form"] = form
        except ValueError:
            self._reply(400, {"error": "malformed"})
            return
        self._reply(200, parsed)

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def slack(echo_url: str, fake: FakeSlack) -> SlackRequests:
    return SlackRequests(echo_url, SECRET, fake)


def test_compute_signature_matches_slack_sdk() -> None:
    body = b"token=x&text=hello%20world"
    expected = SignatureVerifier(SECRET).generate_signature(timestamp="1700000000", body=body)
    assert compute_signature(SECRET, "1700000000", body) == expected


def test_command_is_signed_and_complete(
    slack: SlackRequests, fake: FakeSlack, client: WebClient
) -> None:
    resp = slack.command("U1", "signup mentor", channel_id="C0GENERAL")
    assert resp.status == 200
    form = resp.json()["form"]
    assert resp.json()["path"] == "/slack/events"
    assert form == resp.sent
    assert {k: form[k] for k in ("command", "text", "user_id", "user_name", "team_id")} == {
        "command": "/mentoring",
        "text": "signup mentor",
        "user_id": "U1",
        "user_name": "ana",
        "team_id": "T0TEST",
    }
    for key in ("token", "team_domain", "channel_id", "channel_name", "api_app_id"):
        assert form[key]
    assert form["is_enterprise_install"] == "false"
    assert form["response_url"] == resp.response_url
    assert form["response_url"].startswith(f"http://127.0.0.1:{fake.port}/response/")
    # the trigger_id was issued by the fake, so the app can open a modal with it
    assert client.views_open(trigger_id=form["trigger_id"], view=modal())["ok"]


def test_view_submission_payload(slack: SlackRequests, fake: FakeSlack, client: WebClient) -> None:
    view = client.views_open(trigger_id=fake.issue_trigger(), view=modal(private_metadata="7"))[
        "view"
    ]
    values = values_from({"goal": plain("Learn SQL"), ("when", "date"): datepicker("2026-01-31")})
    payload = slack.view_submission("U2", view, values).json()["payload"]
    assert payload["type"] == "view_submission"
    assert payload["user"] == {"id": "U2", "username": "bo", "name": "bo", "team_id": "T0TEST"}
    assert payload["team"]["id"] == "T0TEST" and payload["api_app_id"] == "A0TEST"
    assert payload["trigger_id"]
    assert payload["view"]["id"] == view["id"]
    assert payload["view"]["callback_id"] == "signup"
    assert payload["view"]["private_metadata"] == "7"
    assert payload["view"]["hash"] == view["hash"]
    assert payload["view"]["state"]["values"] == {
        "goal": {"goal": {"type": "plain_text_input", "value": "Learn SQL"}},
        "when": {"date": {"type": "datepicker", "selected_date": "2026-01-31"}},
    }
    closed = slack.view_closed("U2", view).json()["payload"]
    assert closed["type"] == "view_closed" and closed["view"]["id"] == view["id"]


def test_block_action_on_message(slack: SlackRequests, fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="DU1", text="Accept?", blocks=[section("Accept?")])
    [message] = fake.posted_messages("DU1")
    resp = slack.block_action("U1", "accept_match", value="match-9", message=message)
    payload = resp.json()["payload"]
    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["action_id"] == "accept_match"
    assert payload["actions"][0]["value"] == "match-9"
    assert payload["actions"][0]["type"] == "button"
    assert payload["channel"]["id"] == "DU1"
    assert payload["container"] == {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": "DU1",
        "is_ephemeral": False,
    }
    assert payload["message"]["ts"] == message["ts"] and "channel" not in payload["message"]
    assert payload["response_url"] == resp.response_url
    assert payload["trigger_id"] == resp.trigger_id
    assert "view" not in payload


def test_block_action_in_view(slack: SlackRequests, fake: FakeSlack, client: WebClient) -> None:
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("Home")]})
    home = fake.home_of("U1")
    assert home is not None
    payload = slack.block_action(
        "U1", "pick_lang", action_type="static_select", selected_option="de", view=home
    ).json()["payload"]
    assert payload["view"]["id"] == home["id"]
    assert payload["container"] == {"type": "view", "view_id": home["id"]}
    assert payload["actions"][0]["selected_option"] == {
        "value": "de",
        "text": {"type": "plain_text", "text": "de"},
    }
    assert "response_url" not in payload and "message" not in payload


def test_events(slack: SlackRequests, fake: FakeSlack, client: WebClient) -> None:
    resp = slack.event({"type": "team_join", "user": {"id": "U9"}}, event_id="Ev1")
    body = resp.json()
    envelope = body["json"]
    assert body["content_type"].startswith("application/json")
    assert envelope["type"] == "event_callback" and envelope["event_id"] == "Ev1"
    assert envelope["team_id"] == "T0TEST" and envelope["api_app_id"] == "A0TEST"
    assert isinstance(envelope["event_time"], int) and envelope["token"]
    assert envelope["event"]["type"] == "team_join"
    assert body["retry_num"] is None

    retried = slack.event({"type": "team_join", "user": {"id": "U9"}}, retry_num=1).json()
    assert (retried["retry_num"], retried["retry_reason"]) == ("1", "http_timeout")

    event = slack.app_home_opened("U1").json()["json"]["event"]
    assert event == {**event, "type": "app_home_opened", "user": "U1", "tab": "home"}
    assert "view" not in event
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("Home")]})
    assert slack.app_home_opened("U1").json()["json"]["event"]["view"]["type"] == "home"

    verification = slack.url_verification("abc").json()["json"]
    assert verification["type"] == "url_verification" and verification["challenge"] == "abc"


def test_raw_bad_inputs(slack: SlackRequests) -> None:
    assert slack.raw(b"text=hi").status == 200
    stale = str(int(time.time()) - 600)
    assert slack.raw(b"text=hi", timestamp=stale).status == 401
    assert slack.raw(b"text=hi", signature="v0=" + "0" * 64).status == 401
    unsigned = slack.raw(b"text=hi", sign=False)
    assert unsigned.status == 401 and unsigned.json() == {"error": "invalid signature"}
    malformed = slack.raw(b"payload=%7Bnot-json", content_type="application/x-www-form-urlencoded")
    assert malformed.status == 400
    assert slack.raw(b"{", content_type="application/json").status == 400


def test_requests_without_fake(echo_url: str) -> None:
    slack = SlackRequests(echo_url, SECRET)
    form = slack.command("U7", "help").json()["form"]
    assert form["user_name"] == "u7"
    assert form["response_url"].startswith("https://hooks.slack.com/commands/")
    assert form["trigger_id"]
    assert SlackRequests(echo_url, "wrong-secret").command("U7").status == 401
