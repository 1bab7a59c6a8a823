"""Pure recognition rules: parsing a shout-out, the digest's month, milestones reached."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.domain import digest, milestones
from bot.domain import recognition as rec
from storage.models import Program


def test_parse_takes_mentions_once_in_order_and_keeps_the_rest_as_text() -> None:
    draft = rec.parse("<@UB2|binh> thanks <@UA1> and <@UB2>  for the <demo>!")
    assert draft.user_ids == ["UB2", "UA1"]
    assert draft.text == "thanks and for the <demo>!"
    assert draft.error is None


def test_parse_names_what_is_missing() -> None:
    assert rec.parse("great work").error == rec.NO_PEOPLE
    assert rec.parse("<@UA1>   ").error == rec.NO_TEXT
    assert rec.parse("<@UA1> " + "x" * 1501).error == rec.TEXT_TOO_LONG
    assert rec.parse("<@UA1> bad \x00 text").error is not None
    assert rec.parse("@ana plain text").error == rec.NO_PEOPLE  # not a Slack mention


def test_the_digest_reports_the_month_before_in_the_programmes_zone() -> None:
    january = digest.period_before(datetime(2027, 1, 15, tzinfo=UTC), "UTC")
    assert january.name == "2026-12" and january.first_day == date(2026, 12, 1)
    assert january.start == datetime(2026, 12, 1, tzinfo=UTC)
    assert january.end == datetime(2027, 1, 1, tzinfo=UTC)
    # 23:30 UTC on 28 Feb is already 1 March in Ho Chi Minh City: February is reported.
    late = digest.period_before(datetime(2027, 2, 28, 23, 30, tzinfo=UTC), "Asia/Ho_Chi_Minh")
    assert late.name == "2027-02"
    assert late.start == datetime(2027, 1, 31, 17, tzinfo=UTC)


def test_figures_reach_milestones_in_order() -> None:
    figures = milestones.PairProgress(cycles_met=3, sessions=4, goals_achieved=[(7, "Goal")])
    assert milestones.reached(figures, needed_cycles=3) == [
        milestones.FIRST_MEETING,
        milestones.THIRD_MEETING,
        "goal_achieved:7",
        milestones.COMPLETED,
    ]
    assert milestones.reached(milestones.PairProgress(0, 0), needed_cycles=1) == []
    assert milestones.reached(milestones.PairProgress(1, 2), needed_cycles=2) == [
        milestones.FIRST_MEETING
    ]


def test_completion_cycles_is_a_programme_setting_with_a_safe_default() -> None:
    assert milestones.completion_cycles(Program(name="p")) == 6
    assert milestones.completion_cycles(Program(name="p", settings={"completion_cycles": 4})) == 4
    assert milestones.completion_cycles(Program(name="p", settings={"completion_cycles": "x"})) == 6
