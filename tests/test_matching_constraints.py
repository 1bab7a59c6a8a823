"""Who can meet: place and format, a language in common, and hours in common (issue 21).

Each rule on its own (is_excluded and what compute_matches proposes), the facts and risks of a
proposed pair, the waiting-list reasons, and the weekly hours in UTC around daylight saving.
"""

from __future__ import annotations

from datetime import date
from itertools import count
from typing import Any

import pytest

from bot.domain import matching
from bot.domain.availability import (
    WEEK_SLOTS,
    MatchingWeek,
    longest_run,
    run_starts,
    span,
    week_after,
    weekly_slots,
)
from bot.domain.matching import (
    MatchProfile,
    Reason,
    compute_matches,
    is_excluded,
    pair_facts,
    shared_working_hours,
)

_ids = count(1)
# Spring 2027: the US moves its clocks on 14 March, the EU on 28 March.
WINTER = MatchingWeek(monday=date(2027, 3, 8))
GAP = MatchingWeek(monday=date(2027, 3, 15))  # New York and Los Angeles on summer time
SUMMER = MatchingWeek(monday=date(2027, 3, 29))


def person(role: str, **fields: Any) -> MatchProfile:
    number = next(_ids)
    fields.setdefault("participant_id", number)
    fields.setdefault("user_id", f"U{number:05d}")
    if role == "mentor":
        fields.setdefault("topics_offered", frozenset({"ai"}))
    else:
        fields.setdefault("topics_wanted", frozenset({"ai"}))
    for name in ("available_days",):
        if name in fields:
            fields[name] = frozenset(fields[name])
    return MatchProfile(role=role, **fields)


def berliner(role: str, **fields: Any) -> MatchProfile:
    fields = {"timezone": "Europe/Berlin", "place": "Berlin", "languages": ("de", "en")} | fields
    return person(role, **fields)


def new_yorker(role: str, **fields: Any) -> MatchProfile:
    fields = {"timezone": "America/New_York", "place": "New York", "languages": ("en",)} | fields
    return person(role, **fields)


def hanoian(role: str, **fields: Any) -> MatchProfile:
    fields = {"timezone": "Asia/Ho_Chi_Minh", "place": "Hanoi", "languages": ("vi", "en")} | fields
    return person(role, **fields)


def excluded(a: MatchProfile, b: MatchProfile, week: MatchingWeek = WINTER) -> str | None:
    return is_excluded(a, b, managers={}, previous_pairs=set(), week=week)


def codes(reasons: tuple[Reason, ...]) -> list[str]:
    return [reason.code for reason in reasons]


# --- place and format -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mentor_format", "mentee_format", "obstacle", "formats"),
    [
        ("in_person", "in_person", matching.NO_MEETING_PLACE, None),
        ("in_person", "any", matching.NO_MEETING_PLACE, None),
        (None, "in_person", matching.NO_MEETING_PLACE, None),
        ("video", "chat", matching.NO_MEETING_PLACE, None),
        ("video", "any", None, ["video"]),
        ("chat", None, None, ["chat"]),
        ("any", None, None, ["video", "chat"]),
    ],
)
def test_in_person_only_in_the_same_place_else_a_remote_format_both_accept(
    mentor_format: str | None, mentee_format: str | None, obstacle: str | None, formats: Any
) -> None:
    teacher = berliner("mentor", meeting_format=mentor_format)
    learner = new_yorker("mentee", meeting_format=mentee_format)
    assert excluded(teacher, learner) == obstacle
    if formats is not None:
        facts = pair_facts(teacher, learner, WINTER)
        assert facts[0] == Reason(
            matching.REMOTE_PAIR,
            {"mentor_place": "Berlin", "mentee_place": "New York", "formats": formats},
        )


def test_the_same_place_allows_in_person_whatever_the_spelling() -> None:
    teacher = berliner("mentor", meeting_format="in_person")
    learner = berliner("mentee", meeting_format="in_person", place="  BERLIN ")
    assert excluded(teacher, learner) is None
    assert pair_facts(teacher, learner, WINTER)[0] == Reason(
        matching.SAME_PLACE, {"place": "Berlin"}
    )


def test_remote_and_unknown_places_never_meet_in_person() -> None:
    for place in (None, ""):
        teacher = berliner("mentor", meeting_format="in_person", place=place)
        learner = berliner("mentee", meeting_format="in_person", place=place)
        assert excluded(teacher, learner) == matching.NO_MEETING_PLACE
        video = berliner("mentee", meeting_format="video", place=place)
        assert excluded(berliner("mentor", place=place), video) is None


def test_the_cross_continent_in_person_pair_is_not_proposed_even_when_it_scores_best() -> None:
    # New York offers every topic the Berlin mentee wants, in person; a Berliner offers one.
    star = new_yorker(
        "mentor", topics_offered=frozenset({"ai", "sql", "cloud"}), meeting_format="in_person"
    )
    local = berliner("mentor", topics_offered=frozenset({"ai"}), meeting_format="in_person")
    learner = berliner(
        "mentee", topics_wanted=frozenset({"ai", "sql", "cloud"}), meeting_format="in_person"
    )
    assert matching.score_pair(star, learner, week=WINTER) > matching.score_pair(  # type: ignore[operator]
        local, learner, week=WINTER
    )
    result = compute_matches([star, local], [learner], week=WINTER)
    assert [(p.mentor_id, p.mentee_id) for p in result.pairs] == [
        (local.participant_id, learner.participant_id)
    ]
    assert result.pairs[0].facts[0] == Reason(matching.SAME_PLACE, {"place": "Berlin"})
    # Alone with the New Yorker, the mentee waits, and the list says why.
    alone = compute_matches([star], [learner], week=WINTER)
    assert alone.pairs == []
    reasons = {u.participant_id: u.reason.code for u in alone.unmatched}
    assert reasons == {
        star.participant_id: matching.NO_MEETING_PLACE,
        learner.participant_id: matching.NO_MEETING_PLACE,
    }


# --- a language in common -----------------------------------------------------------------


def test_a_pair_without_a_common_language_is_never_proposed() -> None:
    german = berliner("mentor", languages=("de",))
    vietnamese = hanoian("mentee", languages=("vi",))
    assert excluded(german, vietnamese) == matching.NO_COMMON_LANGUAGE
    result = compute_matches([german], [vietnamese], week=WINTER)
    assert result.pairs == []
    assert {u.reason.code for u in result.unmatched} == {matching.NO_COMMON_LANGUAGE}
    # Someone who added German can be proposed.
    learner = hanoian("mentee", languages=("vi", "de"))
    assert excluded(german, learner) is None


def test_unknown_languages_do_not_block_a_pair() -> None:
    assert excluded(berliner("mentor", languages=()), hanoian("mentee", languages=("vi",))) is None


@pytest.mark.parametrize(
    ("mentor_languages", "mentee_languages", "common", "second_language_of"),
    [
        (("en",), ("de", "en"), ["en"], ["mentee"]),
        (("en",), ("en", "de"), ["en"], None),
        (("de", "en"), ("en",), ["en"], ["mentor"]),
        (("de", "en"), ("vi", "en"), ["en"], ["mentor", "mentee"]),
        (("en", "de"), ("de", "en"), ["en", "de"], ["mentee"]),
        (("de", "en"), ("de",), ["de"], None),
        (("en",), ("en",), ["en"], None),
    ],
)
def test_a_language_only_one_of_them_listed_first_is_flagged(
    mentor_languages: tuple[str, ...],
    mentee_languages: tuple[str, ...],
    common: list[str],
    second_language_of: list[str] | None,
) -> None:
    teacher = berliner("mentor", languages=mentor_languages)
    learner = berliner("mentee", languages=mentee_languages)
    facts = {f.code: f.params for f in pair_facts(teacher, learner, WINTER)}
    assert facts[matching.COMMON_LANGUAGE] == {"languages": common}
    if second_language_of is None:
        assert matching.RISK_SECOND_LANGUAGE not in facts
    else:
        assert facts[matching.RISK_SECOND_LANGUAGE] == {
            "language": common[0],
            "who": second_language_of,
        }


# --- hours in common --------------------------------------------------------------------------


def test_weekly_bitmaps_are_utc_quarter_hours_and_follow_dst() -> None:
    weekdays = 0b11111
    berlin_winter = weekly_slots("Europe/Berlin", weekdays, (9, 17), WINTER.monday)
    berlin_summer = weekly_slots("Europe/Berlin", weekdays, (9, 17), SUMMER.monday)
    # Monday 09:00 CET is 08:00 UTC (quarter hour 32); in CEST it is 07:00 UTC (28).
    assert berlin_winter & -berlin_winter == 1 << 32
    assert berlin_summer & -berlin_summer == 1 << 28
    assert berlin_winter.bit_count() == berlin_summer.bit_count() == 5 * 8 * 4
    # The week Berlin changes (Sunday 28 March) starts on the Monday after: already summer.
    assert weekly_slots("Europe/Berlin", 1, (9, 17), date(2027, 3, 22)) == span(32, 64)
    # A fixed offset and no calendar week.
    assert weekly_slots(60, 1, (9, 17), None) == span(32, 64)


def test_weekly_bitmaps_wrap_around_the_week() -> None:
    # Auckland's Monday 09:00 (UTC+13 in March) is Sunday 20:00 UTC, the end of the frame.
    auckland = weekly_slots("Pacific/Auckland", 1, (9, 17), WINTER.monday)
    assert auckland == span(WEEK_SLOTS - 16, WEEK_SLOTS + 16)
    assert longest_run(auckland) == 32
    assert run_starts(span(WEEK_SLOTS - 2, WEEK_SLOTS + 2), 4) == 1 << (WEEK_SLOTS - 2)


def test_shared_hours_between_berlin_and_new_york_change_with_dst() -> None:
    teacher, learner = berliner("mentor"), new_yorker("mentee")
    # Berlin 08-16 UTC with New York 14-22 (winter), 13-21 (gap week), then 07-15 with 13-21.
    assert shared_working_hours(teacher, learner, WINTER) == 5 * 2
    assert shared_working_hours(teacher, learner, GAP) == 5 * 3
    assert shared_working_hours(teacher, learner, SUMMER) == 5 * 2


def test_a_pair_only_possible_in_the_dst_gap_week_is_flagged_there() -> None:
    london = person("mentor", timezone="Europe/London", languages=("en",))
    los_angeles = person("mentee", timezone="America/Los_Angeles", languages=("en",))
    # London 09-17 UTC and Los Angeles 17-01 UTC in winter; 16-24 UTC on US summer time.
    assert excluded(london, los_angeles, WINTER) == matching.NO_SHARED_HOURS
    assert excluded(london, los_angeles, SUMMER) == matching.NO_SHARED_HOURS
    assert excluded(london, los_angeles, GAP) is None
    result = compute_matches([london], [los_angeles], week=GAP)
    assert len(result.pairs) == 1
    facts = {f.code: f.params for f in result.pairs[0].facts}
    assert facts[matching.SHARED_HOURS] == {"hours": 5, "longest_minutes": 60}
    assert facts[matching.RISK_SHORT_OVERLAP] == {"longest_minutes": 60}


def test_people_with_no_shared_weekday_are_not_proposed() -> None:
    monday = berliner("mentor", available_days={"mon"})
    friday = berliner("mentee", available_days={"fri"})
    assert excluded(monday, friday) == matching.NO_SHARED_HOURS
    result = compute_matches([monday], [friday], week=WINTER)
    assert result.pairs == []
    assert {u.reason.code for u in result.unmatched} == {matching.NO_SHARED_HOURS}
    either = berliner("mentee", available_days={"mon", "fri"})
    assert excluded(monday, either) is None


def test_weekdays_are_each_persons_own_across_the_date_line() -> None:
    # Auckland's Tuesday morning is Los Angeles' Monday afternoon.
    auckland = person("mentor", utc_offset_minutes=780, available_days={"tue"})
    los_angeles = person("mentee", utc_offset_minutes=-480, available_days={"mon"})
    assert shared_working_hours(auckland, los_angeles) == 5
    assert excluded(auckland, los_angeles, MatchingWeek()) is None


def test_the_floor_is_one_hour_in_a_row() -> None:
    # India (+5:30) 03:30-11:30 UTC and Chatham (+12:45) 20:15-04:15 UTC: 45 minutes a day.
    india = person("mentor", utc_offset_minutes=330)
    chatham = person("mentee", utc_offset_minutes=765)
    assert shared_working_hours(india, chatham) == 3  # 5 x 45 minutes, never an hour at once
    assert excluded(india, chatham, MatchingWeek()) == matching.NO_SHARED_HOURS
    # An hour later, Chatham shares an hour and 45 minutes a day: proposed and flagged.
    later = person("mentee", utc_offset_minutes=705)
    assert excluded(india, later, MatchingWeek()) is None
    facts = {f.code: f.params for f in pair_facts(india, later)}
    assert facts[matching.RISK_SHORT_OVERLAP] == {"longest_minutes": 105}


def test_two_shared_hours_in_a_row_are_not_flagged() -> None:
    facts = {f.code for f in pair_facts(berliner("mentor"), new_yorker("mentee"), WINTER)}
    assert matching.RISK_SHORT_OVERLAP not in facts
    assert matching.SHARED_HOURS in facts


def test_the_programmes_working_day_decides_the_floor() -> None:
    teacher, learner = berliner("mentor"), new_yorker("mentee")
    short_day = MatchingWeek(monday=WINTER.monday, working_hours=(9, 14))  # Berlin ends 13 UTC
    assert excluded(teacher, learner, short_day) == matching.NO_SHARED_HOURS


def test_the_score_rewards_more_shared_hours() -> None:
    weights = matching.MatchWeights(
        central_topic=1, secondary_topic=0, mutual_learning=0, same_frequency=0,
        compatible_format=0, shared_day=0, different_department=0,
    )  # fmt: skip
    learner = berliner("mentee")
    near = berliner("mentor")
    far = new_yorker("mentor")
    assert matching.score_pair(near, learner, weights, WINTER) == (
        5,
        (
            Reason("shared_topics", {"topics": ["ai"]}),
            Reason("overlap_hours", {"hours": 40}),
        ),
    )
    assert matching.score_pair(far, learner, weights, WINTER) == (
        5,
        (Reason("shared_topics", {"topics": ["ai"]}), Reason("overlap_hours", {"hours": 10})),
    )
    one_day = new_yorker("mentor", available_days={"tue"})
    assert matching.score_pair(one_day, learner, weights, WINTER) == (
        2,
        (Reason("shared_topics", {"topics": ["ai"]}), Reason("overlap_hours", {"hours": 2})),
    )


def test_next_weeks_monday() -> None:
    assert week_after(date(2027, 3, 10)) == date(2027, 3, 15)
    assert week_after(date(2027, 3, 15)) == date(2027, 3, 22)
    assert week_after(date(2027, 3, 14)) == date(2027, 3, 15)


# --- waiting-list reasons -------------------------------------------------------------------


def test_waiting_reasons_name_the_first_rule_that_leaves_nobody() -> None:
    teacher = berliner("mentor", languages=("de",), meeting_format="in_person")
    no_language = hanoian("mentee", languages=("vi",))
    elsewhere = new_yorker("mentee", languages=("de",), meeting_format="in_person")
    no_day = berliner("mentee", available_days={"fri"})
    teacher_days = berliner("mentor", available_days={"mon"}, topics_offered=frozenset({"sql"}))
    sql_learner = berliner("mentee", available_days={"fri"}, topics_wanted=frozenset({"sql"}))
    result = compute_matches(
        [teacher, teacher_days], [no_language, elsewhere, no_day, sql_learner], week=WINTER
    )
    assert [(p.mentor_id, p.mentee_id) for p in result.pairs] == [
        (teacher.participant_id, no_day.participant_id)
    ]
    reasons = {u.participant_id: u.reason.code for u in result.unmatched}
    assert reasons == {
        teacher_days.participant_id: matching.NO_SHARED_HOURS,
        no_language.participant_id: matching.NO_COMMON_LANGUAGE,
        elsewhere.participant_id: matching.NO_MEETING_PLACE,
        sql_learner.participant_id: matching.NO_SHARED_HOURS,
    }
    assert codes(result.pairs[0].facts)[:3] == [
        matching.SAME_PLACE,
        matching.COMMON_LANGUAGE,
        matching.SHARED_HOURS,
    ]


# --- help to meet never dead-ends -------------------------------------------------------------


def _member(timezone: str, days: list[str] | None = None) -> Any:
    from storage.models import Participant

    return Participant(
        program_id=1, slack_user_id=timezone, role="mentor", timezone=timezone,
        available_days=days or [],
    )  # fmt: skip


def test_slots_say_when_preferred_days_had_to_go() -> None:
    from datetime import UTC, datetime

    from bot.domain.journey import meeting_options

    monday, friday = _member("Europe/Berlin", ["mon"]), _member("Europe/Berlin", ["fri"])
    options = meeting_options(monday, friday, datetime(2027, 1, 4, 8, tzinfo=UTC), (9, 17))
    assert len(options.slots) == 3 and options.relaxed and options.obstacle is None
    both = _member("Europe/Berlin", ["mon", "fri"])
    options = meeting_options(monday, both, datetime(2027, 1, 4, 8, tzinfo=UTC), (9, 17))
    assert len(options.slots) == 3 and not options.relaxed
    assert {slot.weekday() for slot in options.slots} == {0}


def test_without_a_shared_hour_the_nearest_times_inside_one_persons_day() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from bot.domain.journey import HOURS_APART, meeting_options

    new_york, hanoi = _member("America/New_York"), _member("Asia/Ho_Chi_Minh")
    options = meeting_options(new_york, hanoi, datetime(2027, 1, 4, 8, tzinfo=UTC), (9, 17))
    assert options.slots == [] and options.obstacle == HOURS_APART
    assert len(options.near) == 3
    assert len({near.start.date() for near in options.near}) == 3
    assert [n.start for n in options.near] == sorted(n.start for n in options.near)
    for near in options.near:
        inside = new_york if near.inside == "me" else hanoi
        local = near.start.astimezone(ZoneInfo(inside.timezone or "UTC"))
        assert 9 <= local.hour < 17 and local.weekday() < 5
        assert near.outside_minutes == 4 * 60 + 45


def test_any_number_of_languages_is_compared_exactly() -> None:
    # More distinct languages than bits in a machine word: the tables still agree.
    teachers = [berliner("mentor", languages=(f"x{k}",)) for k in range(70)]
    learners = [berliner("mentee", languages=(f"x{k}", f"x{(k + 1) % 70}")) for k in range(70)]
    matrix = matching.candidate_scores(teachers, learners, week=WINTER)
    for i, teacher in enumerate(teachers):
        for j, learner in enumerate(learners):
            assert (matrix[i, j] > 0) == (excluded(teacher, learner) is None)
    assert (matrix > 0).sum() == 2 * 70
