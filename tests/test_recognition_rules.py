"""Pure recognition rules: parsing a shout-out, the digest's month, milestones reached."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.domain import digest, milestones
from bot.domain import recognition as rec
from handlers import payloads
from storage.models import Program


def parse(command_text: str) -> rec.Draft:
    """What the listener does: mentions found at the edge, the draft checked by the domain."""
    return rec.draft(*payloads.mentions(command_text))


def test_a_draft_takes_mentions_once_in_order_and_keeps_the_rest_as_typed() -> None:
    # What Slack sends with `should_escape: true` for "@binh thanks @ana and @binh for <demo> & co"
    draft = parse("<@UB2|binh> thanks <@UA1> and <@UB2>  for the &lt;demo&gt; &amp; co!")
    assert draft.user_ids == ["UB2", "UA1"]
    assert draft.text == "thanks and for the <demo> & co!"  # escaped again wherever it is shown
    assert draft.error is None
    assert parse("<@UA1> &amp;lt; is how you write &lt;").text == "&lt; is how you write <"


def test_a_draft_names_what_is_missing() -> None:
    assert parse("great work").error == rec.NO_PEOPLE
    assert parse("<@UA1>   ").error == rec.NO_TEXT
    assert parse("<@UA1> " + "x" * 1501).error == rec.TEXT_TOO_LONG
    assert parse("<@UA1> bad \x00 text").error is not None
    assert parse("@ana plain text").error == rec.NO_PEOPLE  # not a Slack mention


@dataclass
class _Member:
    deleted: bool = False
    is_bot: bool = False


def test_unknown_deactivated_and_bot_accounts_cannot_be_thanked() -> None:
    directory = {"UOK": _Member(), "UGONE": _Member(deleted=True), "UBOT": _Member(is_bot=True)}
    found = rec.cannot_be_thanked(["UOK", "UGONE", "UBOT", "UNKNOWN"], directory.get)
    assert found == ["UGONE", "UBOT", "UNKNOWN"]


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
