"""Who can take part and what a Slack profile gives the roster: pure rules, no Slack."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain import eligibility
from bot.domain import profile_fields as pf
from bot.i18n import translator
from bot.slack_api import SlackUser

MEMBER = SlackUser(
    id="U1",
    name="ana",
    real_name="Ana",
    locale="en",
    timezone="Europe/Berlin",
    utc_offset_minutes=60,
    is_workspace_admin=False,
    is_bot=False,
    deleted=False,
)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"is_workspace_admin": True}, None),
        ({"deleted": True}, eligibility.DEACTIVATED),
        ({"deleted": True, "is_guest": True}, eligibility.DEACTIVATED),  # deactivated first
        ({"is_bot": True}, eligibility.BOT),
        ({"id": "USLACKBOT"}, eligibility.BOT),
        ({"is_app_user": True}, eligibility.APP_USER),
        ({"is_guest": True}, eligibility.GUEST),
    ],
)
def test_who_may_take_part(changes: dict[str, object], reason: str | None) -> None:
    assert eligibility.ineligibility(replace(MEMBER, **changes)) == reason  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ({"id": "U1"}, None),
        ({"id": "U1", "is_restricted": True}, eligibility.GUEST),
        ({"id": "U1", "is_ultra_restricted": True}, eligibility.GUEST),
        ({"id": "U1", "deleted": True}, eligibility.DEACTIVATED),
        ({"id": "USLACKBOT"}, eligibility.BOT),
    ],
)
def test_who_may_take_part_from_a_slack_user_object(
    member: dict[str, object], reason: str | None
) -> None:
    assert eligibility.ineligibility_of_member(member) == reason


def test_every_refusal_is_translated() -> None:
    for reason in (eligibility.BOT, eligibility.APP_USER, eligibility.GUEST):
        english = eligibility.explain(reason, translator("en"))
        assert english and eligibility.explain(reason, translator("de")) != english


FIELDS = {"Xf1": "text", "Xf2": "user", "Xf3": "options_list"}


def test_mapping_refuses_a_missing_field_and_a_manager_that_is_not_a_person() -> None:
    assert pf.mapping_errors({"department": "Xf1", "manager": "Xf2"}, FIELDS) == {}
    assert set(pf.mapping_errors({"manager": "Xf1", "office": "Xf9"}, FIELDS)) == {
        "manager",
        "office",
    }


def test_roster_values_from_a_profile() -> None:
    mapping = pf.clean_mapping({"department": "Xf1", "manager": "Xf2", "title": True})
    assert mapping == {"department": "Xf1", "manager": "Xf2", "title": True}
    profile = {
        "title": "  Head of Data ",
        "fields": {"Xf1": {"value": "Data " * 40, "alt": ""}, "Xf2": {"value": "UBOSS1"}},
    }
    values = pf.roster_values(profile, mapping)
    assert values["title"] == "Head of Data"
    assert values["department"] is not None and len(values["department"]) == 100
    assert values["manager_slack_id"] == "UBOSS1"
    assert "office" not in values  # not mapped: left as it is
    # An empty field clears the column; a manager that is no user id is ignored.
    assert pf.roster_values({"fields": {"Xf2": {"value": "Bob"}}}, mapping) == {
        "department": None,
        "manager_slack_id": None,
        "title": None,
    }
    assert not pf.is_mapped(pf.clean_mapping({}))


def test_team_fields_leave_hidden_ones_out() -> None:
    answer = {
        "profile": {
            "fields": [
                {"id": "Xf1", "label": "Department", "type": "text"},
                {"id": "Xf2", "label": "Secret", "type": "text", "is_hidden": True},
            ]
        }
    }
    assert pf.team_fields(answer) == [pf.ProfileField("Xf1", "Department", "text")]
