"""The people directory: locale and time zone from Slack, cached, failures not remembered."""

from __future__ import annotations

from bot.simulated_slack.web_api import FakeSlack
from bot.slack_api import PeopleDirectory, make_web_client
from tests.conftest import BOT_TOKEN


def test_person_details_come_from_users_info(fake_slack: FakeSlack) -> None:
    fake_slack.add_user(
        "UVN0001", locale="vi-VN", tz="Asia/Ho_Chi_Minh", tz_offset=25200, is_admin=True
    )
    people = PeopleDirectory(make_web_client(BOT_TOKEN, fake_slack.api_url), "de")
    person = people.get("UVN0001")
    assert person is not None
    assert (person.locale, person.timezone, person.utc_offset_minutes) == (
        "vi",
        "Asia/Ho_Chi_Minh",
        420,
    )
    assert person.is_workspace_admin
    people.get("UVN0001")
    assert len(fake_slack.calls("users.info")) == 1  # cached


def test_unknown_users_fall_back_to_the_default_locale(fake_slack: FakeSlack) -> None:
    people = PeopleDirectory(make_web_client(BOT_TOKEN, fake_slack.api_url), "de")
    assert people.get("UNOBODY") is None
    assert people.locale_of("UNOBODY") == "de"


def test_a_passing_failure_is_not_cached(fake_slack: FakeSlack) -> None:
    fake_slack.add_user("UFLAKY1", locale="de-DE")
    people = PeopleDirectory(make_web_client(BOT_TOKEN, fake_slack.api_url), "en")
    fake_slack.fail_next("users.info", status=200, error="internal_error")
    assert people.get("UFLAKY1") is None
    person = people.get("UFLAKY1")
    assert person is not None and person.locale == "de"
