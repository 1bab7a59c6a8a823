"""The segment rules of recruiting campaigns (pure: no Slack, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.domain.campaigns import Segment, eligible, matches, sample, validate
from storage.models import RosterEntry


def entry(user_id: str, **fields: object) -> RosterEntry:
    base: dict[str, object] = {
        "department": "Engineering",
        "title": "Senior Software Engineer",
        "office": "Berlin",
        "country": "Germany",
        "hire_date": date(2020, 5, 1),
        "level": 5,
    }
    base.update(fields)
    return RosterEntry(slack_user_id=user_id, **base)


def test_each_filter_narrows_and_an_empty_segment_is_everyone() -> None:
    person = entry("U1")
    assert matches(person, Segment())
    assert matches(person, Segment(department=" engineering ", country="GERMANY"))
    assert not matches(person, Segment(department="Marketing"))
    assert matches(person, Segment(title_contains="software"))
    assert not matches(person, Segment(title_contains="manager"))
    assert matches(person, Segment(level_at_least=5))
    assert not matches(person, Segment(level_at_least=6))
    assert matches(person, Segment(hired_after=date(2020, 4, 30)))
    assert not matches(person, Segment(hired_after=date(2020, 5, 1)))  # after, not on
    assert not matches(person, Segment(office="Hanoi"))


def test_a_missing_value_never_matches_a_filter_that_asks_for_it() -> None:
    unknown = entry("U2", level=None, hire_date=None, department=None)
    assert not matches(unknown, Segment(level_at_least=1))
    assert not matches(unknown, Segment(hired_after=date(2000, 1, 1)))
    assert not matches(unknown, Segment(department="Engineering"))
    assert matches(unknown, Segment(country="Germany"))


def test_eligible_leaves_out_who_left_and_who_is_excluded_in_a_stable_order() -> None:
    people = [
        entry("U3"),
        entry("U1"),
        entry("U2", left_at=datetime(2027, 1, 1, tzinfo=UTC)),
        entry("U4", department="Finance"),
        entry("U5"),
    ]
    found = eligible(people, Segment(department="Engineering"), excluded={"U5"})
    assert found == ["U1", "U3"]


def test_the_sample_is_spread_and_the_segment_round_trips() -> None:
    ids = [f"U{i:03d}" for i in range(100)]
    assert sample(ids) == ["U000", "U020", "U040", "U060", "U080"]
    assert sample(ids[:3]) == ids[:3]
    segment = Segment(department="Sales", level_at_least=3, hired_after=date(2021, 1, 2))
    assert Segment.from_json(segment.as_json()) == segment
    assert segment.as_json() == {
        "department": "Sales",
        "level_at_least": 3,
        "hired_after": "2021-01-02",
    }


def test_validation_names_the_field() -> None:
    assert validate("mentor", "") == {}
    assert set(validate(None, "")) == {"role"}
    assert set(validate("mentee", "five")) == {"level_at_least"}
