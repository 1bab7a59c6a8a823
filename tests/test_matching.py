"""The pure matching engine: scoring, hard constraints, optimality and explanations."""

from __future__ import annotations

import gc
import json
import random
import signal
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from bot.domain.availability import MatchingWeek
from bot.domain.matching import (
    DEFAULT_WEIGHTS,
    WEEKDAYS,
    MatchProfile,
    MatchResult,
    MatchWeights,
    Reason,
    candidate_scores,
    compute_matches,
    is_excluded,
    pair_facts,
    reporting_chain,
    score_matrix,
    score_pair,
    shared_preferred_hours,
    shared_working_hours,
)

BERLIN, HANOI, NEW_YORK, INDIA, AUCKLAND, LOS_ANGELES = 60, 420, -300, 330, 780, -480
NO_WEIGHTS = MatchWeights(*(0 for _ in range(9)))

_ids = iter(range(1, 1_000_000))


def person(role: str = "mentor", **fields: Any) -> MatchProfile:
    """A profile with a fresh id; list/set fields may be given as any iterable."""
    number = next(_ids)
    for name in ("topics_offered", "topics_wanted", "development_areas", "available_days"):
        if name in fields:
            fields[name] = frozenset(fields[name])
    if "avoid_user_ids" in fields:
        fields["avoid_user_ids"] = frozenset(fields["avoid_user_ids"])
    fields.setdefault("participant_id", number)
    fields.setdefault("user_id", f"U{number:06d}")
    return MatchProfile(role=role, **fields)


def mentor(**fields: Any) -> MatchProfile:
    return person("mentor", **fields)


def mentee(**fields: Any) -> MatchProfile:
    return person("mentee", **fields)


def scored(
    teacher: MatchProfile, learner: MatchProfile, weights: MatchWeights = DEFAULT_WEIGHTS
) -> tuple[int, tuple[Reason, ...]]:
    """score_pair for a pair that must share a topic."""
    result = score_pair(teacher, learner, weights)
    assert result is not None
    return result


def reason_codes(reasons: Sequence[Reason]) -> list[str]:
    return [reason.code for reason in reasons]


def only(weights_field: str, value: int = 1, **extra: int) -> MatchWeights:
    """Weights with every component off except the named ones."""
    return replace(NO_WEIGHTS, **{weights_field: value}, **extra)


# --- scoring ---------------------------------------------------------------------------------


def test_no_shared_topic_means_no_score() -> None:
    teacher = mentor(topics_offered={"ai"}, topics_wanted={"sales"})
    learner = mentee(topics_wanted={"cloud"}, development_areas={"python"}, topics_offered={"x"})
    assert score_pair(teacher, learner) is None


def test_central_topics_score_per_topic() -> None:
    teacher = mentor(topics_offered={"ai", "cloud", "sql"})
    learner = mentee(topics_wanted={"cloud", "ai", "tiktok"})
    score, reasons = scored(teacher, learner, only("central_topic", 3))
    assert score == 6
    assert reasons == (Reason("shared_topics", {"topics": ["ai", "cloud"]}),)


def test_secondary_topics_are_not_counted_twice() -> None:
    teacher = mentor(topics_offered={"ai", "cloud", "sql"})
    learner = mentee(topics_wanted={"ai"}, development_areas={"ai", "sql"})
    weights = only("central_topic", 3, secondary_topic=1)
    score, reasons = scored(teacher, learner, weights)
    assert score == 3 + 1
    assert reasons == (
        Reason("shared_topics", {"topics": ["ai"]}),
        Reason("secondary_topics", {"topics": ["sql"]}),
    )


def test_development_areas_alone_make_a_match() -> None:
    teacher = mentor(topics_offered={"sql"})
    learner = mentee(development_areas={"sql"})
    score, reasons = scored(teacher, learner, only("secondary_topic"))
    assert (score, reason_codes(reasons)) == (1, ["secondary_topics"])


def test_mutual_learning_counts_what_the_mentee_can_teach_back() -> None:
    teacher = mentor(topics_offered={"ai"}, topics_wanted={"finance"}, development_areas={"law"})
    learner = mentee(topics_wanted={"ai"}, topics_offered={"finance", "law", "golf"})
    score, reasons = scored(teacher, learner, only("mutual_learning", 2))
    assert score == 4
    assert reasons == (Reason("mutual_learning", {"topics": ["finance", "law"]}),)


@pytest.mark.parametrize(
    ("first", "second", "points"),
    [("weekly", "weekly", 2), ("weekly", "monthly", 0), (None, None, 0), ("weekly", None, 0)],
)
def test_same_frequency(first: str | None, second: str | None, points: int) -> None:
    teacher = mentor(topics_offered={"ai"}, meeting_frequency=first)
    learner = mentee(topics_wanted={"ai"}, meeting_frequency=second)
    weights = only("same_frequency", 2)
    result = score_pair(teacher, learner, weights)
    assert result is not None
    assert result[0] == max(points, 1)
    expected = [Reason("same_frequency", {"frequency": first})] if points else []
    assert list(result[1]) == expected


@pytest.mark.parametrize(
    ("first", "second", "common"),
    [
        ("video", "video", "video"),
        ("in_person", "video", None),
        ("chat", "in_person", None),
        ("video", "chat", None),
        ("any", "chat", "chat"),
        ("in_person", "any", "in_person"),
        (None, "video", "video"),
        (None, None, "any"),
        ("any", None, "any"),
    ],
)
def test_compatible_format(first: str | None, second: str | None, common: str | None) -> None:
    teacher = mentor(topics_offered={"ai"}, meeting_format=first)
    learner = mentee(topics_wanted={"ai"}, meeting_format=second)
    score, reasons = scored(teacher, learner, only("compatible_format", 5))
    if common is None:
        assert (score, reasons) == (1, ())
    else:
        assert (score, reasons) == (5, (Reason("compatible_format", {"format": common}),))


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ({"mon", "tue"}, {"tue", "wed"}, ["tue"]),
        ({"fri", "mon", "wed"}, {"wed", "fri"}, ["wed", "fri"]),
        ({"mon"}, {"fri"}, None),
        (set(), {"thu"}, ["thu"]),
        (set(), set(), list(WEEKDAYS)),
    ],
)
def test_shared_days(first: set[str], second: set[str], shared: list[str] | None) -> None:
    teacher = mentor(topics_offered={"ai"}, available_days=first)
    learner = mentee(topics_wanted={"ai"}, available_days=second)
    score, reasons = scored(teacher, learner, only("shared_day", 2))
    if shared is None:
        assert (score, reasons) == (1, ())
    else:
        assert (score, reasons) == (2, (Reason("shared_days", {"days": shared}),))


@pytest.mark.parametrize(
    ("first", "second", "bonus"),
    [("Sales", "Legal", True), ("Sales", "sales ", False), ("", "Legal", False), ("", "", False)],
)
def test_different_departments(first: str, second: str, bonus: bool) -> None:
    teacher = mentor(topics_offered={"ai"}, department=first)
    learner = mentee(topics_wanted={"ai"}, department=second)
    score, reasons = scored(teacher, learner, only("different_department", 3))
    assert (score, reason_codes(reasons)) == ((3, ["different_departments"]) if bonus else (1, []))


@pytest.mark.parametrize(
    ("offset", "hours", "points"),
    [(BERLIN, 8, 4), (BERLIN + 60, 7, 3), (HANOI, 2, 1), (HANOI + 60, 1, 0)],
)
def test_overlap_points_per_two_full_hours(offset: int, hours: int, points: int) -> None:
    # One shared day: the week's shared hours are that day's.
    teacher = mentor(topics_offered={"ai"}, utc_offset_minutes=BERLIN, available_days={"tue"})
    learner = mentee(topics_wanted={"ai"}, utc_offset_minutes=offset, available_days={"tue"})
    assert shared_working_hours(teacher, learner) == hours
    score, reasons = scored(
        teacher, learner, only("overlap_per_two_hours", 1, max_overlap_points=4)
    )
    assert score == max(points, 1)
    assert list(reasons) == ([Reason("overlap_hours", {"hours": hours})] if points else [])


def test_overlap_points_count_the_whole_week() -> None:
    teacher = mentor(topics_offered={"ai"}, available_days={"mon", "tue", "wed"})
    learner = mentee(topics_wanted={"ai"}, time_of_day="morning", available_days={"tue", "wed"})
    assert shared_preferred_hours(teacher, learner) == 2 * 3
    assert shared_working_hours(teacher, learner) == 2 * 8
    score, reasons = scored(
        teacher, learner, only("overlap_per_two_hours", 1, max_overlap_points=9)
    )
    assert (score, reasons) == (3, (Reason("overlap_hours", {"hours": 6}),))


def test_overlap_points_are_capped() -> None:
    teacher = mentor(topics_offered={"ai"})
    learner = mentee(topics_wanted={"ai"})
    weights = only("overlap_per_two_hours", 2, max_overlap_points=5)
    assert scored(teacher, learner, weights)[0] == 5


def test_all_components_add_up_with_default_weights() -> None:
    teacher = mentor(
        topics_offered={"ai", "sql", "cloud"},
        topics_wanted={"golf"},
        department="Data",
        meeting_frequency="weekly",
        meeting_format="video",
        available_days={"mon", "tue"},
        utc_offset_minutes=BERLIN,
    )
    learner = mentee(
        topics_wanted={"ai", "cloud"},
        development_areas={"sql"},
        topics_offered={"golf"},
        department="Sales",
        meeting_frequency="weekly",
        meeting_format="any",
        available_days={"tue"},
        utc_offset_minutes=BERLIN,
    )
    score, reasons = scored(teacher, learner)
    assert score == 2 * 3 + 1 + 1 + 4 + 2 + 1 + 1 + 1
    assert reason_codes(reasons) == [
        "shared_topics",
        "secondary_topics",
        "mutual_learning",
        "overlap_hours",
        "same_frequency",
        "compatible_format",
        "shared_days",
        "different_departments",
    ]
    json.dumps([{"code": r.code, "params": dict(r.params)} for r in reasons])


def test_score_is_at_least_one_and_silent_without_weights() -> None:
    teacher = mentor(topics_offered={"ai"}, department="A", meeting_frequency="weekly")
    learner = mentee(topics_wanted={"ai"}, department="B", meeting_frequency="weekly")
    assert score_pair(teacher, learner, NO_WEIGHTS) == (1, ())


def test_weights_must_be_non_negative_ints() -> None:
    with pytest.raises(ValueError):
        MatchWeights(central_topic=-1)
    with pytest.raises(ValueError):
        MatchWeights(shared_day=1.5)  # type: ignore[arg-type]


# --- time zones ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "hours"),
    [
        # A day each, Monday to Friday (no days chosen): the week has five of them.
        # Berlin 08-16 UTC vs Hanoi 02-10 UTC.
        ((BERLIN, None), (HANOI, None), 5 * 2),
        # Berlin 08-16 UTC vs New York 14-22 UTC.
        ((BERLIN, "any"), (NEW_YORK, "any"), 5 * 2),
        # Berlin mornings 08-11 UTC vs New York 14-22 UTC.
        ((BERLIN, "morning"), (NEW_YORK, None), 0),
        # Berlin afternoons 12-16 UTC vs New York mornings 14-17 UTC.
        ((BERLIN, "afternoon"), (NEW_YORK, "morning"), 5 * 2),
        ((BERLIN, "morning"), (BERLIN, "afternoon"), 0),
        ((BERLIN, "morning"), (BERLIN, None), 5 * 3),
        ((0, None), (0, None), 5 * 8),
        # Across midnight UTC: Auckland 20-04 UTC vs Los Angeles 17-01 UTC. Auckland's
        # Tuesday to Friday meet Los Angeles' Monday to Thursday.
        ((AUCKLAND, None), (LOS_ANGELES, None), 4 * 5),
        # Half-hour offsets: India 03:30-11:30 vs Berlin 08-16 is 3.5 h a day.
        ((INDIA, None), (BERLIN, None), 17),
        ((HANOI, None), (NEW_YORK, None), 0),
    ],
)
def test_shared_preferred_hours(
    a: tuple[int, str | None], b: tuple[int, str | None], hours: int
) -> None:
    first = mentor(utc_offset_minutes=a[0], time_of_day=a[1])
    second = mentee(utc_offset_minutes=b[0], time_of_day=b[1])
    assert shared_preferred_hours(first, second) == hours
    assert shared_preferred_hours(second, first) == hours


def test_working_hours_ignore_the_time_of_day_but_keep_the_days() -> None:
    morning = mentor(utc_offset_minutes=BERLIN, time_of_day="morning", available_days={"mon"})
    afternoon = mentee(utc_offset_minutes=BERLIN, time_of_day="afternoon")
    assert shared_preferred_hours(morning, afternoon) == 0
    assert shared_working_hours(morning, afternoon) == 8  # Monday, 09-17 for both
    # The programme's working day decides: 10-16 leaves six hours.
    week = MatchingWeek(working_hours=(10, 16))
    assert shared_working_hours(morning, afternoon, week) == 6
    assert shared_preferred_hours(morning, afternoon, week) == 0


# --- hard constraints ------------------------------------------------------------------------


def test_reporting_chain_includes_skip_levels() -> None:
    managers = {"ann": "bob", "bob": "cat", "cat": "dan", "dan": None}
    assert reporting_chain("ann", managers) == {"bob", "cat", "dan"}
    assert reporting_chain("dan", managers) == set()
    assert reporting_chain("stranger", managers) == set()


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail instead of hanging (SIGALRM: Unix, main thread)."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError("took too long")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@time_limit(2)
def test_reporting_chain_survives_cycles() -> None:
    assert reporting_chain("a", {"a": "b", "b": "a"}) == {"b"}
    assert reporting_chain("a", {"a": "a"}) == set()
    assert reporting_chain("a", {"a": "b", "b": "c", "c": "d", "d": "b"}) == {"b", "c", "d"}


def test_reporting_line_excludes_both_directions_and_skip_levels() -> None:
    boss = mentor(user_id="boss", topics_offered={"ai"})
    skip_report = mentee(user_id="junior", topics_wanted={"ai"})
    managers = {"junior": "middle", "middle": "boss", "boss": None}  # middle: not in the pool
    none: frozenset[frozenset[str]] = frozenset()
    assert is_excluded(boss, skip_report, managers=managers, previous_pairs=none) == (
        "reporting_line"
    )
    # Reverse mentoring: the mentee is the mentor's (skip-level) manager.
    young = mentor(user_id="young", topics_offered={"ai"})
    exec_ = mentee(user_id="exec", topics_wanted={"ai"})
    managers = {"young": "lead", "lead": "exec"}
    assert is_excluded(young, exec_, managers=managers, previous_pairs=none) == "reporting_line"


def test_profile_managers_fill_in_when_the_map_is_silent() -> None:
    lead = mentee(user_id="lead", topics_wanted={"ai"})
    report = mentor(user_id="report", topics_offered={"ai"}, manager_user_id="lead")
    assert is_excluded(report, lead, managers={}, previous_pairs=set()) == "reporting_line"
    # The map (the roster) says nobody is above them: the manager they named stays excluded.
    assert (
        is_excluded(report, lead, managers={"report": None}, previous_pairs=set())
        == "reporting_line"
    )
    # Their named manager's own chain is the map's: no skip level through it.
    boss = mentor(user_id="boss", topics_offered={"ai"})
    learner = mentee(user_id="learner", topics_wanted={"ai"}, manager_user_id="lead")
    chain = {"lead": "boss", "learner": None}
    assert is_excluded(boss, learner, managers=chain, previous_pairs=set()) is None


def test_avoid_lists_work_both_ways() -> None:
    teacher = mentor(user_id="t", topics_offered={"ai"})
    learner = mentee(user_id="l", topics_wanted={"ai"})
    assert is_excluded(teacher, learner, managers={}, previous_pairs=set()) is None
    for first, second in [
        (replace(teacher, avoid_user_ids=frozenset({"l"})), learner),
        (teacher, replace(learner, avoid_user_ids=frozenset({"t"}))),
    ]:
        assert is_excluded(first, second, managers={}, previous_pairs=set()) == "avoid"


def test_previous_pairs_and_same_person_are_excluded() -> None:
    teacher = mentor(user_id="t", topics_offered={"ai"})
    learner = mentee(user_id="l", topics_wanted={"ai"})
    earlier = {frozenset({"t", "l"})}
    assert is_excluded(teacher, learner, managers={}, previous_pairs=earlier) == "previous_pair"
    self_pair = replace(learner, user_id="t")
    assert is_excluded(teacher, self_pair, managers={}, previous_pairs=set()) == "same_person"


# --- compute_matches -------------------------------------------------------------------------


def pairs_of(result: MatchResult) -> list[tuple[int, int]]:
    return [(pair.mentor_id, pair.mentee_id) for pair in result.pairs]


def unmatched_codes(result: MatchResult) -> dict[int, str]:
    return {item.participant_id: item.reason.code for item in result.unmatched}


def test_capacity_two_mentor_takes_two_mentees() -> None:
    teacher = mentor(participant_id=1, topics_offered={"ai"}, capacity=2)
    learners = [mentee(participant_id=10 + k, topics_wanted={"ai"}) for k in range(3)]
    result = compute_matches([teacher], learners)
    assert len(result.pairs) == 2
    assert all(pair.mentor_id == 1 for pair in result.pairs)
    assert sum(code == "capacity_full" for code in unmatched_codes(result).values()) == 1


def test_existing_load_reduces_capacity() -> None:
    teacher = mentor(participant_id=1, topics_offered={"ai"}, capacity=2)
    learners = [mentee(participant_id=10 + k, topics_wanted={"ai"}) for k in range(3)]
    assert len(compute_matches([teacher], learners, existing_load={1: 1}).pairs) == 1
    full = compute_matches([teacher], learners, existing_load={1: 5})
    assert full.pairs == []
    assert 1 not in unmatched_codes(full)  # busy mentors are not "unmatched"
    assert set(unmatched_codes(full).values()) == {"all_candidates_excluded"}


def test_optimal_not_greedy() -> None:
    # Greedy would give the star mentee to the versatile mentor (score 3*3=9) and strand
    # the specialist; the optimum gives the specialist the star mentee.
    versatile = mentor(participant_id=1, topics_offered={"a", "b", "c"})
    specialist = mentor(participant_id=2, topics_offered={"a"})
    star = mentee(participant_id=10, topics_wanted={"a", "b", "c"})
    other = mentee(participant_id=11, topics_wanted={"b", "c"})
    weights = only("central_topic", 3)
    result = compute_matches([versatile, specialist], [star, other], weights=weights)
    assert pairs_of(result) == [(1, 11), (2, 10)]
    assert result.total_score == 6 + 3


def test_pairs_without_shared_topic_or_excluded_are_never_proposed() -> None:
    boss = mentor(participant_id=1, user_id="boss", topics_offered={"ai"})
    outsider = mentor(participant_id=2, user_id="out", topics_offered={"golf"})
    colleague = mentor(
        participant_id=3, user_id="col", topics_offered={"ai"}, meeting_format="chat"
    )
    report = mentee(
        participant_id=10,
        user_id="rep",
        topics_wanted={"ai"},
        manager_user_id="boss",
        meeting_format="chat",
    )
    result = compute_matches([boss, outsider, colleague], [report])
    assert pairs_of(result) == [(3, 10)]
    codes = unmatched_codes(result)
    assert codes == {1: "all_candidates_excluded", 2: "no_mentee_wants"}


def test_unmatched_reasons() -> None:
    teacher = mentor(participant_id=1, user_id="t", topics_offered={"ai", "sql"})
    lonely = mentor(participant_id=2, user_id="lonely", topics_offered={"golf", "chess"})
    winner = mentee(participant_id=10, user_id="w", topics_wanted={"ai", "sql"})
    runner_up = mentee(participant_id=11, user_id="r", topics_wanted={"ai"})
    nobody_offers = mentee(participant_id=12, topics_wanted={"law"}, development_areas={"art"})
    avoided = mentee(participant_id=13, topics_wanted={"sql"}, avoid_user_ids={"t"})
    result = compute_matches([teacher, lonely], [winner, runner_up, nobody_offers, avoided])
    assert pairs_of(result) == [(1, 10)]
    reasons = {item.participant_id: item.reason for item in result.unmatched}
    assert reasons == {
        2: Reason("no_mentee_wants", {"topics": ["chess", "golf"]}),
        11: Reason("capacity_full", {}),
        12: Reason("no_mentor_offers", {"topics": ["art", "law"]}),
        13: Reason("all_candidates_excluded", {}),
    }
    assert [item.role for item in result.unmatched] == ["mentor", "mentee", "mentee", "mentee"]


def test_empty_sides_mean_no_counterpart() -> None:
    teachers = [mentor(topics_offered={"ai"})]
    learners = [mentee(topics_wanted={"ai"})]
    for result, role in [
        (compute_matches(teachers, []), "mentor"),
        (compute_matches([], learners), "mentee"),
    ]:
        assert result.pairs == [] and result.total_score == 0
        assert [(u.role, u.reason) for u in result.unmatched] == [
            (role, Reason("no_counterpart", {}))
        ]
    assert compute_matches([], []) == MatchResult([], [], 0)


def test_result_is_sorted_deterministic_and_order_independent() -> None:
    rng = random.Random(5)
    teachers, learners = random_pool(rng, 30, 40)
    result = compute_matches(teachers, learners)
    assert pairs_of(result) == sorted(pairs_of(result))
    assert result.total_score == sum(pair.score for pair in result.pairs)
    shuffled_teachers, shuffled_learners = teachers[:], learners[:]
    rng.shuffle(shuffled_teachers)
    rng.shuffle(shuffled_learners)
    assert compute_matches(shuffled_teachers, shuffled_learners) == result


def test_pair_scores_and_reasons_come_from_score_pair() -> None:
    teachers, learners = random_pool(random.Random(8), 25, 25)
    by_id = {p.participant_id: p for p in [*teachers, *learners]}
    for pair in compute_matches(teachers, learners).pairs:
        assert score_pair(by_id[pair.mentor_id], by_id[pair.mentee_id]) == (
            pair.score,
            pair.reasons,
        )
        json.dumps([[r.code, dict(r.params)] for r in pair.reasons])


def test_duplicate_participant_ids_are_rejected() -> None:
    twin = mentor(participant_id=7, topics_offered={"ai"})
    with pytest.raises(ValueError):
        compute_matches([twin, replace(twin, user_id="other")], [])


# --- against references ----------------------------------------------------------------------

TOPICS = ("ai", "sql", "cloud", "law", "golf")
OFFSETS = (0, BERLIN, INDIA, HANOI, NEW_YORK, AUCKLAND, LOS_ANGELES)
ZONES = (
    None,
    "Europe/Berlin",
    "America/New_York",
    "Asia/Ho_Chi_Minh",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "Europe/London",
    "America/Los_Angeles",
)
PLACES = (None, "Berlin", " berlin", "Hanoi", "New York")
LANGUAGES = ((), ("en",), ("de", "en"), ("de",), ("vi",), ("vi", "en"), ("en", "de"))
# Weeks around the spring DST changes of 2027 (US 14 March, EU 28 March), and none.
WEEKS = (
    MatchingWeek(),
    MatchingWeek(monday=date(2027, 3, 8)),
    MatchingWeek(monday=date(2027, 3, 15)),
    MatchingWeek(monday=date(2027, 3, 29), working_hours=(8, 18)),
)


def random_profile(rng: random.Random, role: str, index: int) -> MatchProfile:
    def some(options: Sequence[str], most: int) -> frozenset[str]:
        return frozenset(rng.sample(options, rng.randint(0, most)))

    return MatchProfile(
        participant_id=index,
        user_id=f"U{index}",
        role=role,
        department=rng.choice(["", "Sales", "Legal", "Data"]),
        topics_offered=some(TOPICS, 3),
        topics_wanted=some(TOPICS, 3),
        development_areas=some(TOPICS, 2),
        meeting_frequency=rng.choice([None, "weekly", "biweekly", "monthly"]),
        meeting_format=rng.choice([None, "any", "in_person", "video", "chat"]),
        available_days=some(WEEKDAYS, 3),
        time_of_day=rng.choice([None, "any", "morning", "afternoon"]),
        utc_offset_minutes=rng.choice(OFFSETS),
        capacity=rng.randint(1, 2),
        timezone=rng.choice(ZONES),
        place=rng.choice(PLACES),
        languages=rng.choice(LANGUAGES),
    )


def random_pool(
    rng: random.Random, n_mentors: int, n_mentees: int
) -> tuple[list[MatchProfile], list[MatchProfile]]:
    teachers = [random_profile(rng, "mentor", k) for k in range(n_mentors)]
    learners = [random_profile(rng, "mentee", 1000 + k) for k in range(n_mentees)]
    return teachers, learners


@st.composite
def pools(draw: st.DrawFn) -> dict[str, Any]:
    rng = random.Random(draw(st.integers(0, 2**32)))
    teachers, learners = random_pool(rng, draw(st.integers(0, 5)), draw(st.integers(0, 6)))
    users = [p.user_id for p in [*teachers, *learners]] + ["outsider-1", "outsider-2"]
    # Random manager links (cycles allowed) through people outside the pool too.
    managers = {user: rng.choice([None, *users]) for user in users if rng.random() < 0.5}
    teachers = [
        replace(p, avoid_user_ids=frozenset(rng.sample(users, 1))) if rng.random() < 0.2 else p
        for p in teachers
    ]
    learners = [
        replace(p, avoid_user_ids=frozenset(rng.sample(users, 1))) if rng.random() < 0.2 else p
        for p in learners
    ]
    previous = {
        frozenset({t.user_id, s.user_id}) for t in teachers for s in learners if rng.random() < 0.1
    }
    load = {t.participant_id: rng.randint(0, 2) for t in teachers if rng.random() < 0.3}
    weights = MatchWeights(*(draw(st.integers(0, 4)) for _ in range(9)))
    return {
        "mentors": teachers,
        "mentees": learners,
        "managers": managers,
        "previous_pairs": previous,
        "existing_load": load,
        "weights": weights,
        "week": draw(st.sampled_from(WEEKS)),
    }


def brute_force_total(
    mentors: Sequence[MatchProfile],
    mentees: Sequence[MatchProfile],
    weights: MatchWeights,
    managers: Mapping[str, str | None],
    previous_pairs: set[frozenset[str]],
    existing_load: Mapping[int, int],
    week: MatchingWeek,
) -> int:
    def value(t: MatchProfile, s: MatchProfile) -> int:
        if is_excluded(t, s, managers=managers, previous_pairs=previous_pairs, week=week):
            return 0
        scored = score_pair(t, s, weights, week)
        return 0 if scored is None else scored[0]

    values = [[value(t, s) for s in mentees] for t in mentors]
    room = tuple(max(t.capacity - existing_load.get(t.participant_id, 0), 0) for t in mentors)

    @cache
    def best(col: int, remaining: tuple[int, ...]) -> int:
        if col == len(mentees):
            return 0
        result = best(col + 1, remaining)
        for row, left in enumerate(remaining):
            if left and values[row][col]:
                rest = remaining[:row] + (left - 1,) + remaining[row + 1 :]
                result = max(result, values[row][col] + best(col + 1, rest))
        return result

    return best(0, room)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pools())
def test_optimal_and_valid_against_brute_force(pool: dict[str, Any]) -> None:
    result = compute_matches(**pool)
    assert result.total_score == brute_force_total(**pool)

    by_id = {p.participant_id: p for p in [*pool["mentors"], *pool["mentees"]]}
    load = pool["existing_load"]
    taken: dict[int, int] = {}
    for pair in result.pairs:
        teacher, learner = by_id[pair.mentor_id], by_id[pair.mentee_id]
        assert (teacher.role, learner.role) == ("mentor", "mentee")
        assert (
            is_excluded(
                teacher,
                learner,
                managers=pool["managers"],
                previous_pairs=pool["previous_pairs"],
                week=pool["week"],
            )
            is None
        )
        assert score_pair(teacher, learner, pool["weights"], pool["week"]) == (
            pair.score,
            pair.reasons,
        )
        assert pair.facts == pair_facts(teacher, learner, pool["week"])
        taken[pair.mentor_id] = taken.get(pair.mentor_id, 0) + 1
    for mentor_id, count in taken.items():
        assert count <= by_id[mentor_id].capacity - load.get(mentor_id, 0)
    mentee_ids = [pair.mentee_id for pair in result.pairs]
    assert len(mentee_ids) == len(set(mentee_ids))
    unmatched_mentees = {u.participant_id for u in result.unmatched if u.role == "mentee"}
    assert unmatched_mentees == {p.participant_id for p in pool["mentees"]} - set(mentee_ids)


@settings(max_examples=150, deadline=None)
@given(pools())
def test_vectorised_scores_equal_score_pair(pool: dict[str, Any]) -> None:
    teachers, learners, weights = pool["mentors"], pool["mentees"], pool["weights"]
    week = pool["week"]
    matrix = score_matrix(teachers, learners, weights, week)
    assert matrix.shape == (len(teachers), len(learners))
    for i, teacher in enumerate(teachers):
        for j, learner in enumerate(learners):
            scored = score_pair(teacher, learner, weights, week)
            assert matrix[i, j] == (0 if scored is None else scored[0])


@pytest.mark.parametrize("seed", range(len(WEEKS)))
def test_vectorised_scores_equal_score_pair_on_a_larger_pool(seed: int) -> None:
    teachers, learners = random_pool(random.Random(seed), 60, 70)
    weights = MatchWeights(5, 2, 3, 1, 4, 2, 3, 7, 2)
    week = WEEKS[seed]
    matrix = score_matrix(teachers, learners, weights, week)
    expected = [
        [0 if (s := score_pair(t, m, weights, week)) is None else s[0] for m in learners]
        for t in teachers
    ]
    assert np.array_equal(matrix, np.array(expected))


@pytest.mark.parametrize("week", WEEKS)
def test_excluded_pairs_are_zero_in_candidate_scores(week: MatchingWeek) -> None:
    rng = random.Random(4)
    teachers, learners = random_pool(rng, 30, 30)
    users = [p.user_id for p in [*teachers, *learners]]
    managers = {user: rng.choice(users) for user in users}
    previous = {frozenset({teachers[0].user_id, learners[0].user_id})}
    matrix = candidate_scores(
        teachers, learners, managers=managers, previous_pairs=previous, week=week
    )
    for i, teacher in enumerate(teachers):
        for j, learner in enumerate(learners):
            code = is_excluded(
                teacher, learner, managers=managers, previous_pairs=previous, week=week
            )
            scored = score_pair(teacher, learner, week=week)
            expected = 0 if code is not None or scored is None else scored[0]
            assert matrix[i, j] == expected


@pytest.mark.parametrize("seed", range(3))
def test_medium_pools_match_dense_scipy(seed: int) -> None:
    rng = random.Random(seed)
    teachers, learners = random_pool(rng, 200, 200)
    users = [p.user_id for p in [*teachers, *learners]]
    managers = {user: rng.choice([None, *users]) for user in users}
    week = WEEKS[seed + 1]
    result = compute_matches(teachers, learners, managers=managers, week=week)

    ordered = sorted(teachers, key=lambda p: p.participant_id)
    matrix = candidate_scores(ordered, learners, managers=managers, week=week)
    slots = np.repeat(matrix, [t.capacity for t in ordered], axis=0).astype(np.int64)
    rows, cols = linear_sum_assignment(slots, maximize=True)
    assert result.total_score == int(slots[rows, cols].sum())


def test_large_weights_use_a_wider_dtype() -> None:
    teachers, learners = random_pool(random.Random(2), 15, 15)
    weights = MatchWeights(central_topic=60, mutual_learning=30, different_department=9)
    matrix = score_matrix(teachers, learners, weights)
    assert matrix.dtype == np.int16
    for i, teacher in enumerate(teachers):
        for j, learner in enumerate(learners):
            result = score_pair(teacher, learner, weights)
            assert matrix[i, j] == (0 if result is None else result[0])
    with pytest.raises(ValueError):
        score_matrix(teachers, learners, MatchWeights(central_topic=10**7))


def test_garbage_collector_state_is_restored() -> None:
    teachers, learners = random_pool(random.Random(1), 5, 5)
    assert gc.isenabled()
    compute_matches(teachers, learners)
    assert gc.isenabled()
    gc.disable()
    try:
        compute_matches(teachers, learners)
        assert not gc.isenabled()
    finally:
        gc.enable()
