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


def test_a_preload_reads_the_directory_page_by_page_and_saves_each_lookup(
    fake_slack: FakeSlack,
) -> None:
    for index in range(450):
        fake_slack.add_user(f"UDIR{index:04d}", locale="vi-VN" if index % 2 else "de-DE")
    fake_slack.add_user("UADMIN77", is_admin=True)
    people = PeopleDirectory(make_web_client(BOT_TOKEN, fake_slack.api_url), "en")
    paced: list[int] = []
    loaded = people.preload(between_pages=lambda: paced.append(1) is None)
    pages = fake_slack.calls("users.list")
    assert loaded == sum(len(call.response["members"]) for call in pages) >= 451  # type: ignore[index]
    assert [call.params.get("limit") for call in pages] == ["200", "200", "200"]
    assert all(call.params.get("include_locale") in ("true", "1", True) for call in pages)
    assert len(paced) == 2  # paced between pages, not before the first
    assert people.locale_of("UDIR0001") == "vi" and people.locale_of("UDIR0002") == "de"
    person = people.get("UADMIN77")
    assert person is not None and person.is_workspace_admin
    assert fake_slack.calls("users.info") == []
    assert people.get("UNEW0001") is None  # not in the directory: looked up on demand
    assert len(fake_slack.calls("users.info")) == 1


def test_a_preload_stops_at_its_page_limit_or_when_told(fake_slack: FakeSlack) -> None:
    for index in range(450):
        fake_slack.add_user(f"UDIR{index:04d}")
    people = PeopleDirectory(make_web_client(BOT_TOKEN, fake_slack.api_url), "en")
    assert people.preload(max_pages=2) == 400
    assert people.preload(between_pages=lambda: False) == 200  # stopping: one page only
    people.get("UDIR0449")  # beyond the preloaded pages: asked for on demand
    assert [call.params["user"] for call in fake_slack.calls("users.info")] == ["UDIR0449"]


def test_a_failed_preload_leaves_lookups_working(fake_slack: FakeSlack) -> None:
    fake_slack.add_user("UFIRST1", locale="de-DE")
    people = PeopleDirectory(make_web_client(BOT_TOKEN, fake_slack.api_url), "en")
    fake_slack.fail_next("users.list", status=200, error="missing_scope")
    assert people.preload() == 0
    assert people.locale_of("UFIRST1") == "de"
    assert len(fake_slack.calls("users.info")) == 1
