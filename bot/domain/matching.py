"""Pure matching engine: score mentor/mentee pairs and pick the best set of pairs.

No Slack, no database: callers turn participants into :class:`MatchProfile` objects, call
:func:`compute_matches` and store or render the result. Reasons carry codes and
JSON-serialisable params so the UI can translate them.

Scoring (all weights are small non-negative integers, see :class:`MatchWeights`) is done two
ways that must agree: :func:`score_pair` in plain Python for one pair, with its reasons, and
:func:`score_matrix` with numpy for a whole pool at once (a 5,000 x 5,000 pool is 25 million
pairs). Reasons are only computed for the pairs that are finally proposed.

A pair must be able to meet: a language in common, the same place for "in person" (otherwise
a remote format both accept), and at least one shared hour in a row inside both people's
working hours on the days they chose, in the matching week (:mod:`bot.domain.availability`).
These and the reporting line, avoid lists, earlier pairs and mentor capacity are hard
constraints; the pairing maximises the total score under them (see
:mod:`bot.domain.assignment`).
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from scipy.sparse import csr_matrix

from bot.domain.assignment import max_weight_b_matching
from bot.domain.availability import (
    SLOTS_PER_HOUR,
    WEEK_SLOTS,
    MatchingWeek,
    Zone,
    hours_of,
    longest_run,
    run_starts,
    weekly_slots,
)

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
ANY_FORMAT = "any"
IN_PERSON = "in_person"
REMOTE_FORMATS: tuple[str, ...] = ("video", "chat")

# Preferred local hours per time of day, inside the programme's working hours.
_TIME_OF_DAY: Mapping[str, tuple[int, int]] = {"morning": (9, 12), "afternoon": (13, 17)}
_DAY_BIT = {day: 1 << index for index, day in enumerate(WEEKDAYS)}
_ALL_DAYS = (1 << len(WEEKDAYS)) - 1
# The floor: one hour in a row inside both people's working hours. Below two, a pair is flagged.
MEETING_SLOTS = SLOTS_PER_HOUR
COMFORTABLE_SLOTS = 2 * SLOTS_PER_HOUR

DEFAULT_WEEK = MatchingWeek()

EXCLUDED_SAME_PERSON = "same_person"
EXCLUDED_REPORTING_LINE = "reporting_line"
EXCLUDED_AVOID = "avoid"
EXCLUDED_PREVIOUS_PAIR = "previous_pair"
# Can they meet at all? Also the waiting-list reasons when nobody left passes them.
NO_COMMON_LANGUAGE = "no_common_language"
NO_MEETING_PLACE = "no_meeting_place"  # in person only, and nobody in the same place
NO_SHARED_HOURS = "no_shared_hours"

NO_COUNTERPART = "no_counterpart"
NO_MENTOR_OFFERS = "no_mentor_offers"
NO_MENTEE_WANTS = "no_mentee_wants"
ALL_CANDIDATES_EXCLUDED = "all_candidates_excluded"
CAPACITY_FULL = "capacity_full"

# What a proposed pair's facts say (pair_facts), and the risks an admin should look at.
SAME_PLACE = "same_place"
REMOTE_PAIR = "remote_pair"
COMMON_LANGUAGE = "common_language"
SHARED_HOURS = "shared_hours"
RISK_SHORT_OVERLAP = "risk_short_overlap"
RISK_SECOND_LANGUAGE = "risk_second_language"
RISKS = frozenset({RISK_SHORT_OVERLAP, RISK_SECOND_LANGUAGE})

# Rows of the score matrix built per step: keeps float32 temporaries in cache.
_SCORE_CHUNK_ROWS = 256
# Added to a forbidden pair's float32 sum: the total stays negative, so it scores 0.
_FORBIDDEN = -float(1 << 24)
# Multiply mentors' features as a sparse matrix when fewer than this share are non-zero.
_SPARSE_FEATURES_BELOW = 0.3
# Expand a lookup table into whole rows up front while it has at most this many entries.
_EXPANDED_ROWS_LIMIT = 8_000_000


@dataclass(frozen=True)
class MatchProfile:
    """What the matcher knows about one participant."""

    participant_id: int
    user_id: str  # Slack user id
    role: str  # "mentor" | "mentee"
    department: str = ""  # "" = unknown (no diversity bonus either way)
    topics_offered: frozenset[str] = frozenset()
    topics_wanted: frozenset[str] = frozenset()  # central interests (mentees)
    development_areas: frozenset[str] = frozenset()  # secondary interests
    meeting_frequency: str | None = None  # "weekly" | "biweekly" | "monthly" | None
    meeting_format: str | None = None  # "in_person" | "video" | "chat" | "any" | None
    available_days: frozenset[str] = frozenset()  # subset of WEEKDAYS; empty = any weekday
    time_of_day: str | None = None  # "morning" (9-12) | "afternoon" (13-17) | "any"/None
    utc_offset_minutes: int = 0  # used when there is no calendar week or no known zone
    manager_user_id: str | None = None
    avoid_user_ids: frozenset[str] = frozenset()
    capacity: int = 1  # mentees per mentor (mentors only)
    timezone: str | None = None  # IANA zone, DST-correct for the matching week
    place: str | None = None  # office or city; None = remote or unknown (never in person)
    languages: tuple[str, ...] = ()  # meeting languages, their first one first; () = unknown


@dataclass(frozen=True)
class MatchWeights:
    """Points per scoring component; all small non-negative integers.

    Defaults:
      central_topic = 3         per mentor-offered topic in the mentee's topics_wanted
      secondary_topic = 1       per mentor-offered topic in the mentee's development_areas
                                (topics already counted as central are not counted again)
      mutual_learning = 1       per mentee-offered topic the mentor wants or develops
      same_frequency = 2        both chose the same meeting frequency
      compatible_format = 1     same format, or either is "any"/unset
      shared_day = 1            at least one shared available day (no days = any day)
      overlap_per_two_hours = 1 per full 2 h a week both are free at their preferred time ...
      max_overlap_points = 4    ... capped at this many points
      different_department = 1  both departments known and different

    A pair that shares a topic always scores at least 1, so pairing it beats leaving both
    people unmatched even with unusual weights.
    """

    central_topic: int = 3
    secondary_topic: int = 1
    mutual_learning: int = 1
    same_frequency: int = 2
    compatible_format: int = 1
    shared_day: int = 1
    overlap_per_two_hours: int = 1
    max_overlap_points: int = 4
    different_department: int = 1

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"MatchWeights.{name} must be a non-negative int, got {value!r}")


DEFAULT_WEIGHTS = MatchWeights()


@dataclass(frozen=True)
class Reason:
    """One explanation; ``code`` is translated by the UI, ``params`` are JSON-serialisable."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ProposedPair:
    mentor_id: int
    mentee_id: int
    score: int
    reasons: tuple[Reason, ...]
    facts: tuple[Reason, ...] = ()  # where, in which language and when they can meet; risks


@dataclass(frozen=True)
class Unmatched:
    participant_id: int
    role: str
    reason: Reason


@dataclass(frozen=True)
class MatchResult:
    pairs: list[ProposedPair]  # sorted by (mentor_id, mentee_id)
    unmatched: list[Unmatched]  # mentors, then mentees, each by participant_id
    total_score: int


# --- when, where and in which language ----------------------------------------------------


@lru_cache(maxsize=4096)
@lru_cache(maxsize=1024)
def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (KeyError, ValueError):
        return False
    return True


def _zone(profile: MatchProfile, week: MatchingWeek) -> Zone:
    """The IANA zone when there is a calendar week to place it in, else the fixed offset."""
    if week.monday is not None and profile.timezone and _known_zone(profile.timezone):
        return profile.timezone
    return profile.utc_offset_minutes


@lru_cache(maxsize=256)
def _preferred_window(time_of_day: str | None, working: tuple[int, int]) -> tuple[int, int]:
    window = _TIME_OF_DAY.get(time_of_day or "")
    if window is None:
        return working
    start, end = max(window[0], working[0]), min(window[1], working[1])
    return (start, end) if start < end else working


def working_slots(profile: MatchProfile, week: MatchingWeek = DEFAULT_WEEK) -> int:
    """The week's quarter hours (UTC bitmap) inside the person's working hours on their days."""
    return weekly_slots(
        _zone(profile, week), _day_mask(profile.available_days), week.working_hours, week.monday
    )


def preferred_slots(profile: MatchProfile, week: MatchingWeek = DEFAULT_WEEK) -> int:
    """Like working_slots, narrowed to the person's preferred time of day."""
    window = _preferred_window(profile.time_of_day, week.working_hours)
    return weekly_slots(
        _zone(profile, week), _day_mask(profile.available_days), window, week.monday
    )


def shared_working_hours(
    a: MatchProfile, b: MatchProfile, week: MatchingWeek = DEFAULT_WEEK
) -> int:
    """Whole hours a week during which both people are inside their working hours on a day
    both chose."""
    return hours_of((working_slots(a, week) & working_slots(b, week)).bit_count())


def shared_preferred_hours(
    a: MatchProfile, b: MatchProfile, week: MatchingWeek = DEFAULT_WEEK
) -> int:
    """Whole hours a week both are free at their preferred time of day (what scores)."""
    return hours_of((preferred_slots(a, week) & preferred_slots(b, week)).bit_count())


def _place_key(place: str | None) -> str | None:
    return (place or "").strip().casefold() or None


def _remote_formats(meeting_format: str | None) -> frozenset[str]:
    """The remote formats a person accepts: none for "in person" only."""
    if meeting_format == IN_PERSON:
        return frozenset()
    if meeting_format in REMOTE_FORMATS:
        return frozenset({meeting_format})
    return frozenset(REMOTE_FORMATS)  # any format, or no preference


def same_place(a: MatchProfile, b: MatchProfile) -> bool:
    key = _place_key(a.place)
    return key is not None and key == _place_key(b.place)


def common_languages(a: MatchProfile, b: MatchProfile) -> list[str]:
    """Languages both listed, in ``a``'s order."""
    return [language for language in a.languages if language in b.languages]


def meeting_obstacle(
    mentor: MatchProfile, mentee: MatchProfile, week: MatchingWeek = DEFAULT_WEEK
) -> str | None:
    """Why the two cannot hold a meeting (language, place and format, hours), or None."""
    if mentor.languages and mentee.languages and not common_languages(mentor, mentee):
        return NO_COMMON_LANGUAGE
    if not same_place(mentor, mentee) and not (
        _remote_formats(mentor.meeting_format) & _remote_formats(mentee.meeting_format)
    ):
        return NO_MEETING_PLACE
    shared = working_slots(mentor, week) & working_slots(mentee, week)
    if not run_starts(shared, MEETING_SLOTS):
        return NO_SHARED_HOURS
    return None


def pair_facts(
    mentor: MatchProfile, mentee: MatchProfile, week: MatchingWeek = DEFAULT_WEEK
) -> tuple[Reason, ...]:
    """Where, in which language and when a pair can meet, and what puts that at risk: the
    review shows them to the admin, the introduction tells the pair."""
    return _facts(mentor, mentee, working_slots(mentor, week) & working_slots(mentee, week))


def _facts(mentor: MatchProfile, mentee: MatchProfile, shared: int) -> tuple[Reason, ...]:
    """pair_facts, given the quarter hours both work in."""
    facts: list[Reason] = []
    if same_place(mentor, mentee):
        facts.append(Reason(SAME_PLACE, {"place": mentor.place}))
    else:
        formats = _remote_formats(mentor.meeting_format) & _remote_formats(mentee.meeting_format)
        facts.append(
            Reason(
                REMOTE_PAIR,
                {
                    "mentor_place": mentor.place,
                    "mentee_place": mentee.place,
                    "formats": [f for f in REMOTE_FORMATS if f in formats],
                },
            )
        )
    common = common_languages(mentor, mentee)
    if common:
        # The language that is the first one of the most of them leads.
        firsts = (mentor.languages[0], mentee.languages[0])
        common.sort(key=lambda language: -firsts.count(language))
        facts.append(Reason(COMMON_LANGUAGE, {"languages": common}))
    longest = longest_run(shared)
    facts.append(
        Reason(
            SHARED_HOURS,
            {"hours": hours_of(shared.bit_count()), "longest_minutes": longest * 15},
        )
    )
    if longest < COMFORTABLE_SLOTS:
        facts.append(Reason(RISK_SHORT_OVERLAP, {"longest_minutes": longest * 15}))
    if common:
        not_first = [
            role
            for role, person in (("mentor", mentor), ("mentee", mentee))
            if person.languages[0] != common[0]
        ]
        if not_first:
            facts.append(Reason(RISK_SECOND_LANGUAGE, {"language": common[0], "who": not_first}))
    return tuple(facts)


# --- hierarchy helpers ------------------------------------------------------------------------


def reporting_chain(user_id: str, managers: Mapping[str, str | None]) -> set[str]:
    """Everyone above ``user_id``: manager, their manager, and so on. Stops at cycles."""
    chain: set[str] = set()
    current = managers.get(user_id)
    while current is not None and current != user_id and current not in chain:
        chain.add(current)
        current = managers.get(current)
    return chain


@lru_cache(maxsize=4096)
def _day_mask(days: frozenset[str]) -> int:
    mask = 0
    for day in days:
        mask |= _DAY_BIT.get(day, 0)
    return mask or _ALL_DAYS  # no (valid) days means any day


def _is_concrete_format(meeting_format: str | None) -> bool:
    return meeting_format is not None and meeting_format != ANY_FORMAT


@lru_cache(maxsize=65536)
def _department_key(department: str) -> str:
    return department.strip().casefold()


def _overlap_points(hours: int, weights: MatchWeights) -> int:
    return min(weights.overlap_per_two_hours * (hours // 2), weights.max_overlap_points)


# --- scoring one pair ---------------------------------------------------------------------


def score_pair(
    mentor: MatchProfile,
    mentee: MatchProfile,
    weights: MatchWeights = DEFAULT_WEIGHTS,
    week: MatchingWeek = DEFAULT_WEEK,
) -> tuple[int, tuple[Reason, ...]] | None:
    """Score of pairing ``mentor`` with ``mentee`` and the reasons that earned points, or
    None when the mentor offers none of the mentee's wanted or development topics."""
    return _score(mentor, mentee, weights, lambda: shared_preferred_hours(mentor, mentee, week))


def _score(
    mentor: MatchProfile,
    mentee: MatchProfile,
    weights: MatchWeights,
    preferred_hours: Callable[[], int],
) -> tuple[int, tuple[Reason, ...]] | None:
    """score_pair, given how to count the hours both prefer."""
    central = mentor.topics_offered & mentee.topics_wanted
    secondary = (mentor.topics_offered & mentee.development_areas) - central
    if not central and not secondary:
        return None
    mutual = mentee.topics_offered & (mentor.topics_wanted | mentor.development_areas)

    score = 0
    reasons: list[Reason] = []

    def earn(points: int, code: str, **params: object) -> None:
        nonlocal score
        if points > 0:
            score += points
            reasons.append(Reason(code, params))

    earn(weights.central_topic * len(central), "shared_topics", topics=sorted(central))
    earn(weights.secondary_topic * len(secondary), "secondary_topics", topics=sorted(secondary))
    earn(weights.mutual_learning * len(mutual), "mutual_learning", topics=sorted(mutual))
    hours = preferred_hours()
    earn(_overlap_points(hours, weights), "overlap_hours", hours=hours)
    if mentor.meeting_frequency is not None and (
        mentor.meeting_frequency == mentee.meeting_frequency
    ):
        earn(weights.same_frequency, "same_frequency", frequency=mentor.meeting_frequency)
    common_format = _common_format(mentor.meeting_format, mentee.meeting_format)
    if common_format is not None:
        earn(weights.compatible_format, "compatible_format", format=common_format)
    days = _day_mask(mentor.available_days) & _day_mask(mentee.available_days)
    if days:
        shared_days = [day for day in WEEKDAYS if days & _DAY_BIT[day]]
        earn(weights.shared_day, "shared_days", days=shared_days)
    mentor_department = _department_key(mentor.department)
    mentee_department = _department_key(mentee.department)
    if mentor_department and mentee_department and mentor_department != mentee_department:
        earn(weights.different_department, "different_departments")
    # Sharing a topic must always beat staying unmatched, whatever the weights.
    return max(score, 1), tuple(reasons)


def _common_format(mentor_format: str | None, mentee_format: str | None) -> str | None:
    """The format both can live with, or None when they clash (e.g. in person vs video)."""
    if not _is_concrete_format(mentor_format):
        return mentee_format if _is_concrete_format(mentee_format) else ANY_FORMAT
    if not _is_concrete_format(mentee_format) or mentee_format == mentor_format:
        return mentor_format
    return None


# --- hard constraints -----------------------------------------------------------------------


class _ManagerLookup(Mapping[str, str | None]):
    """The given manager map, with profiles filling in people it does not mention."""

    def __init__(
        self, profiles: Iterable[MatchProfile], managers: Mapping[str, str | None] | None
    ) -> None:
        self._given: Mapping[str, str | None] = managers or {}
        self._from_profiles = {p.user_id: p.manager_user_id for p in profiles}

    def __getitem__(self, user_id: str) -> str | None:
        if user_id in self._given:
            return self._given[user_id]
        return self._from_profiles[user_id]

    def __iter__(self) -> Iterator[str]:
        yield from self._given
        yield from (u for u in self._from_profiles if u not in self._given)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def is_excluded(
    mentor: MatchProfile,
    mentee: MatchProfile,
    *,
    managers: Mapping[str, str | None],
    previous_pairs: AbstractSet[frozenset[str]],
    week: MatchingWeek = DEFAULT_WEEK,
) -> str | None:
    """The hard constraint that forbids this pair, or None if they may be paired.

    ``managers`` maps user id to manager user id; for anyone it does not mention, the
    profile's own ``manager_user_id`` is used. Then: can they meet (meeting_obstacle)?
    """
    if mentor.user_id == mentee.user_id:
        return EXCLUDED_SAME_PERSON
    lookup = _ManagerLookup((mentor, mentee), managers)
    if mentor.user_id in reporting_chain(mentee.user_id, lookup) or (
        mentee.user_id in reporting_chain(mentor.user_id, lookup)
    ):
        return EXCLUDED_REPORTING_LINE
    # The manager a person named themselves stays excluded when the roster says otherwise.
    if mentee.manager_user_id == mentor.user_id or mentor.manager_user_id == mentee.user_id:
        return EXCLUDED_REPORTING_LINE
    if mentee.user_id in mentor.avoid_user_ids or mentor.user_id in mentee.avoid_user_ids:
        return EXCLUDED_AVOID
    if frozenset((mentor.user_id, mentee.user_id)) in previous_pairs:
        return EXCLUDED_PREVIOUS_PAIR
    return meeting_obstacle(mentor, mentee, week)


def excluded_pairs(
    mentors: Sequence[MatchProfile],
    mentees: Sequence[MatchProfile],
    *,
    managers: Mapping[str, str | None] | None = None,
    previous_pairs: AbstractSet[frozenset[str]] = frozenset(),
) -> tuple[np.ndarray, np.ndarray]:
    """(mentor positions, mentee positions) of every pair the reporting line, an avoid list or
    an earlier pair forbids.

    Same rules as :func:`is_excluded` (whether they can meet aside), found by walking each
    person's links (chain, avoid list, earlier pairs) instead of testing all pairs.
    Duplicates are possible.
    """
    lookup = _ManagerLookup([*mentors, *mentees], managers)
    mentor_positions = _positions_by_user(mentors)
    mentee_positions = _positions_by_user(mentees)
    found_rows: list[int] = []
    found_cols: list[int] = []

    def forbid(mentor_user: str, mentee_user: str) -> None:
        for row in mentor_positions.get(mentor_user, ()):
            for col in mentee_positions.get(mentee_user, ()):
                found_rows.append(row)
                found_cols.append(col)

    for mentor in mentors:
        for other in (
            mentor.user_id,
            *reporting_chain(mentor.user_id, lookup),
            *mentor.avoid_user_ids,
            *_named_manager(mentor),
        ):
            forbid(mentor.user_id, other)
    for mentee in mentees:
        for other in (
            *reporting_chain(mentee.user_id, lookup),
            *mentee.avoid_user_ids,
            *_named_manager(mentee),
        ):
            forbid(other, mentee.user_id)
    for pair in previous_pairs:
        if len(pair) == 2:
            first, second = pair
            forbid(first, second)
            forbid(second, first)
    return np.asarray(found_rows, dtype=np.int64), np.asarray(found_cols, dtype=np.int64)


def _named_manager(profile: MatchProfile) -> tuple[str, ...]:
    """The manager the person named themselves (an exclusion even where the roster's chain,
    which `managers` carries, names someone else)."""
    return (profile.manager_user_id,) if profile.manager_user_id else ()


def _positions_by_user(profiles: Sequence[MatchProfile]) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = defaultdict(list)
    for index, profile in enumerate(profiles):
        positions[profile.user_id].append(index)
    return positions


# --- scoring a whole pool -------------------------------------------------------------------


def _codes(keys: Iterable[Hashable]) -> tuple[np.ndarray, list[Hashable]]:
    """A code per key (first seen, first numbered) and the distinct keys in code order."""
    index: dict[Hashable, int] = {}
    codes = [index.setdefault(key, len(index)) for key in keys]
    return np.asarray(codes, dtype=np.int64), list(index)


def _shared_bits(rows: Sequence[int], cols: Sequence[int]) -> np.ndarray:
    """Bits each row bitmap shares with each column bitmap: a product of 0/1 matrices (exact
    in float32, counts stay far below 2**24), much faster than popcounts of ANDs."""
    return (_bit_matrix(rows) @ _bit_matrix(cols).T).astype(np.int16)


def _bit_matrix(bitmaps: Sequence[int]) -> np.ndarray:
    width = WEEK_SLOTS // 8
    raw = b"".join(bits.to_bytes(width, "little") for bits in bitmaps)
    packed = np.frombuffer(raw, dtype=np.uint8).reshape(len(bitmaps), width)
    return np.unpackbits(packed, axis=1, bitorder="little").astype(np.float32)


class _LookupRows:
    """``table[row_codes[i], col_codes[j]]`` for a band of rows at a time. Expanded into whole
    rows up front when that is small: copying rows is far cheaper than gathering elements."""

    def __init__(self, table: np.ndarray, row_codes: np.ndarray, col_codes: np.ndarray):
        self.row_codes, self.col_codes, self.table = row_codes, col_codes, table
        self.expanded: np.ndarray | None = None
        if table.shape[0] * col_codes.shape[0] <= _EXPANDED_ROWS_LIMIT:
            self.expanded = np.take(table, col_codes, axis=1)

    def band(self, start: int, stop: int) -> np.ndarray:
        codes = self.row_codes[start:stop]
        if self.expanded is not None:
            return np.take(self.expanded, codes, axis=0)
        return np.take(self.table[codes], self.col_codes, axis=1)


@dataclass(frozen=True)
class _ScheduleTables:
    """Points for days and preferred hours, and whether a meeting hour exists, per pair of
    schedules (zone, weekdays, time of day): a pool has few distinct ones, so tabulate them
    instead of comparing 25 million bitmaps."""

    row_codes: np.ndarray
    col_codes: np.ndarray
    points: np.ndarray  # float32
    meets: np.ndarray  # bool: one hour in a row inside both people's working hours
    row_bitmaps: list[tuple[int, int]]  # per row code: (working, preferred) quarter hours
    col_bitmaps: list[tuple[int, int]]

    @classmethod
    def build(
        cls,
        mentors: Sequence[MatchProfile],
        mentees: Sequence[MatchProfile],
        weights: MatchWeights,
        week: MatchingWeek,
    ) -> _ScheduleTables:
        def key(p: MatchProfile) -> tuple[Zone, int, tuple[int, int]]:
            window = _preferred_window(p.time_of_day, week.working_hours)
            return _zone(p, week), _day_mask(p.available_days), window

        row_codes, row_keys = _codes(key(p) for p in mentors)
        col_codes, col_keys = _codes(key(p) for p in mentees)

        def bitmaps(keys: list[Hashable]) -> list[tuple[int, int]]:
            return [
                (
                    weekly_slots(zone, days, week.working_hours, week.monday),
                    weekly_slots(zone, days, window, week.monday),
                )
                for zone, days, window in keys  # type: ignore[misc]
            ]

        def meeting_starts(bits: list[tuple[int, int]]) -> list[int]:
            return [run_starts(working, MEETING_SLOTS) for working, _p in bits]

        def preferred(bits: list[tuple[int, int]]) -> list[int]:
            return [preferred for _w, preferred in bits]

        row_bitmaps, col_bitmaps = bitmaps(row_keys), bitmaps(col_keys)
        # Both have a meeting hour in a row exactly where both have one starting.
        meets = _shared_bits(meeting_starts(row_bitmaps), meeting_starts(col_bitmaps)) > 0
        quarters = _shared_bits(preferred(row_bitmaps), preferred(col_bitmaps))
        # Points per number of shared quarter hours, then per shared weekday mask: lookups.
        overlap_points = np.array(
            [_overlap_points(hours_of(q), weights) for q in range(WEEK_SLOTS + 1)],
            dtype=np.float32,
        )
        points = overlap_points[quarters]
        row_days = np.array([k[1] for k in row_keys], dtype=np.int16)  # type: ignore[index]
        col_days = np.array([k[1] for k in col_keys], dtype=np.int16)  # type: ignore[index]
        if weights.shared_day:
            points += weights.shared_day * ((row_days[:, None] & col_days[None, :]) != 0)
        return cls(
            row_codes, col_codes, points, meets.reshape(points.shape), row_bitmaps, col_bitmaps
        )


@dataclass(frozen=True)
class _MeetingTables:
    """Per pair of (place, languages, remote formats): a language in common, and a place to
    meet (the same place, or a remote format both accept)."""

    row_codes: np.ndarray
    col_codes: np.ndarray
    language_ok: np.ndarray  # bool
    place_ok: np.ndarray  # bool

    @classmethod
    def build(
        cls, mentors: Sequence[MatchProfile], mentees: Sequence[MatchProfile]
    ) -> _MeetingTables:
        languages: dict[str, int] = {}
        places: dict[str, int] = {}

        def key(p: MatchProfile) -> tuple[int, int, int]:
            language_bits = 0
            for language in p.languages:
                language_bits |= 1 << languages.setdefault(language, len(languages))
            place = _place_key(p.place)
            remote = _remote_formats(p.meeting_format)
            remote_bits = sum(1 << i for i, f in enumerate(REMOTE_FORMATS) if f in remote)
            return (
                places.setdefault(place, len(places)) if place else -1,
                language_bits,
                remote_bits,
            )

        row_codes, row_keys = _codes(key(p) for p in mentors)
        col_codes, col_keys = _codes(key(p) for p in mentees)

        def column(keys: list[Hashable], index: int) -> list[int]:
            return [k[index] for k in keys]  # type: ignore[index]

        row_languages, col_languages = column(row_keys, 1), column(col_keys, 1)
        if len(languages) < 64:
            row_bits = np.array(row_languages, dtype=np.uint64)[:, None]
            col_bits = np.array(col_languages, dtype=np.uint64)[None, :]
            language_ok = ((row_bits & col_bits) != 0) | (row_bits == 0) | (col_bits == 0)
        else:  # more languages than bits in a word: Python integers
            language_ok = np.array(
                [[not a or not b or bool(a & b) for b in col_languages] for a in row_languages],
                dtype=bool,
            ).reshape(len(row_keys), len(col_keys))
        row_places = np.array(column(row_keys, 0), dtype=np.int64)
        col_places = np.array(column(col_keys, 0), dtype=np.int64)
        row_remote = np.array(column(row_keys, 2), dtype=np.int64)
        col_remote = np.array(column(col_keys, 2), dtype=np.int64)
        same = (row_places[:, None] == col_places[None, :]) & (row_places[:, None] >= 0)
        place_ok = same | ((row_remote[:, None] & col_remote[None, :]) != 0)
        return cls(row_codes, col_codes, language_ok, place_ok)


class _Pool:
    """What the vectorised scoring needs about a pool, built once per matching round."""

    def __init__(
        self,
        mentors: Sequence[MatchProfile],
        mentees: Sequence[MatchProfile],
        weights: MatchWeights,
        week: MatchingWeek,
    ) -> None:
        self.n_rows, self.n_cols = len(mentors), len(mentees)
        self.weights = weights
        vocabulary = _topic_vocabulary([*mentors, *mentees])
        offered = _topic_indicator([m.topics_offered for m in mentors], vocabulary)
        learning = _topic_indicator(
            [m.topics_wanted | m.development_areas for m in mentors], vocabulary
        )
        wanted = _topic_indicator([m.topics_wanted for m in mentees], vocabulary)
        developing = _topic_indicator(
            [m.development_areas - m.topics_wanted for m in mentees], vocabulary
        )
        teaching = _topic_indicator([m.topics_offered for m in mentees], vocabulary)
        self.offered = offered
        self.interests = np.minimum(wanted + developing, 1)

        # Everything that is a sum of products goes into one matrix product: topics, one-hot
        # frequency and format, and the shared-topic count times a power of two above any
        # score, so one product yields both (score = low bits, shares a topic = high bits).
        frequency_values = sorted(
            {p.meeting_frequency for p in [*mentors, *mentees] if p.meeting_frequency is not None}
        )
        format_values = sorted(
            {
                p.meeting_format
                for p in [*mentors, *mentees]
                if _is_concrete_format(p.meeting_format)
            }
        )
        mentor_formats = _one_hot([m.meeting_format for m in mentors], format_values)
        mentor_features = np.hstack(
            [
                offered,
                learning,
                _one_hot([m.meeting_frequency for m in mentors], frequency_values),
                np.ones((self.n_rows, 1), dtype=np.float32),
                mentor_formats.sum(axis=1, keepdims=True),
                mentor_formats,
            ]
        )
        # Each mentor offers and learns a few topics of many: a sparse product is far cheaper.
        nonzero = np.count_nonzero(mentor_features) / max(mentor_features.size, 1)
        self.mentor_features: np.ndarray | csr_matrix = (
            csr_matrix(mentor_features) if nonzero < _SPARSE_FEATURES_BELOW else mentor_features
        )
        mentee_formats = _one_hot([m.meeting_format for m in mentees], format_values)
        format_weight = float(weights.compatible_format)
        # compatible = 1 - [both concrete] + [both concrete and equal]
        points_features = [
            weights.central_topic * wanted + weights.secondary_topic * developing,
            weights.mutual_learning * teaching,
            weights.same_frequency
            * _one_hot([m.meeting_frequency for m in mentees], frequency_values),
            np.full((self.n_cols, 1), format_weight, dtype=np.float32),
            -format_weight * mentee_formats.sum(axis=1, keepdims=True),
            format_weight * mentee_formats,
        ]

        self.schedule = _ScheduleTables.build(mentors, mentees, weights, week)
        self.meeting = _MeetingTables.build(mentors, mentees)
        self.mentor_departments, self.mentee_departments = _department_codes(mentors, mentees)

        self.bound = max(
            1,
            int(np.hstack(points_features).sum(axis=1).max(initial=0))
            + int(self.schedule.points.max(initial=0))
            + weights.different_department,
        )
        self.shared_unit = 1 << self.bound.bit_length()  # power of two > any score
        if self.shared_unit * (len(vocabulary) + 1) >= 1 << 24:
            raise ValueError("weights too large for exact float32 scoring")
        points_features[0] = points_features[0] + self.shared_unit * self.interests
        self.mentee_features = np.hstack(points_features).T.copy()

    def scores(self, *, constrained: bool) -> np.ndarray:
        """Entry [i, j]: the score of mentors[i] with mentees[j], 0 where they share no topic
        and, when ``constrained``, where they cannot meet."""
        schedule, meeting = self.schedule, self.meeting
        points = schedule.points
        if constrained and not schedule.meets.all():
            points = np.where(schedule.meets, points, np.float32(_FORBIDDEN))
        schedule_rows = _LookupRows(points, schedule.row_codes, schedule.col_codes)
        meeting_rows = None
        can_meet = meeting.language_ok & meeting.place_ok
        if constrained and not can_meet.all():
            penalty = np.where(can_meet, np.float32(0), np.float32(_FORBIDDEN))
            meeting_rows = _LookupRows(penalty, meeting.row_codes, meeting.col_codes)

        shared_unit = self.shared_unit
        scores = np.zeros((self.n_rows, self.n_cols), dtype=_smallest_signed_dtype(self.bound))
        mentee_departments = self.mentee_departments
        mentee_department_known = mentee_departments >= 0
        department_weight = self.weights.different_department
        needs_floor = self.weights.central_topic == 0 or self.weights.secondary_topic == 0
        for start in range(0, self.n_rows, _SCORE_CHUNK_ROWS):
            stop = min(start + _SCORE_CHUNK_ROWS, self.n_rows)
            block = np.asarray(self.mentor_features[start:stop] @ self.mentee_features)
            block += schedule_rows.band(start, stop)
            if meeting_rows is not None:
                block += meeting_rows.band(start, stop)
            if department_weight:
                row_departments = self.mentor_departments[start:stop]
                different = row_departments[:, None] != mentee_departments
                different &= mentee_department_known
                different[row_departments < 0] = False
                block += department_weight * different if department_weight != 1 else different
            exact = block.astype(np.int32)  # sums of small integers: exact in float32
            shares_topic = exact >= shared_unit  # false for forbidden pairs (negative)
            exact &= shared_unit - 1
            if needs_floor:
                np.maximum(exact, 1, out=exact)
            exact *= shares_topic
            scores[start:stop] = exact
        return scores

    def obstacle(self, role: str, index: int) -> str:
        """For someone without a usable partner: the first rule (language, place, hours) that
        leaves nobody who shares a topic; else the reporting line, an avoid list or an
        earlier pair stands in the way, or every mentor left is fully booked."""
        schedule, meeting = self.schedule, self.meeting
        if role == "mentor":
            shares = (self.interests @ self.offered[index]) > 0
            tables = [
                meeting.language_ok[meeting.row_codes[index], meeting.col_codes],
                meeting.place_ok[meeting.row_codes[index], meeting.col_codes],
                schedule.meets[schedule.row_codes[index], schedule.col_codes],
            ]
        else:
            shares = (self.offered @ self.interests[index]) > 0
            tables = [
                meeting.language_ok[meeting.row_codes, meeting.col_codes[index]],
                meeting.place_ok[meeting.row_codes, meeting.col_codes[index]],
                schedule.meets[schedule.row_codes, schedule.col_codes[index]],
            ]
        candidates = shares
        for code, allowed in zip(
            (NO_COMMON_LANGUAGE, NO_MEETING_PLACE, NO_SHARED_HOURS), tables, strict=True
        ):
            candidates &= allowed
            if not candidates.any():
                return code
        return ALL_CANDIDATES_EXCLUDED


def score_matrix(
    mentors: Sequence[MatchProfile],
    mentees: Sequence[MatchProfile],
    weights: MatchWeights = DEFAULT_WEIGHTS,
    week: MatchingWeek = DEFAULT_WEEK,
) -> np.ndarray:
    """``score_pair`` for every (mentor, mentee), vectorised: entry [i, j] is the score of
    mentors[i] with mentees[j], 0 where they share no topic. Hard constraints are ignored.

    The dtype is the smallest signed integer type that holds every possible score.
    """
    return _Pool(mentors, mentees, weights, week).scores(constrained=False)


def _topic_vocabulary(profiles: Sequence[MatchProfile]) -> dict[str, int]:
    topics: set[str] = set()
    for p in profiles:
        topics |= p.topics_offered | p.topics_wanted | p.development_areas
    return {topic: index for index, topic in enumerate(sorted(topics))}


def _topic_indicator(sets: Sequence[AbstractSet[str]], vocabulary: Mapping[str, int]) -> np.ndarray:
    indicator = np.zeros((len(sets), len(vocabulary)), dtype=np.float32)
    rows = [row for row, topics in enumerate(sets) for _ in topics]
    cols = [vocabulary[topic] for topics in sets for topic in topics]
    indicator[rows, cols] = 1.0
    return indicator


def _one_hot(values: Sequence[str | None], categories: Sequence[str]) -> np.ndarray:
    index = {value: position for position, value in enumerate(categories)}
    encoded = np.zeros((len(values), len(categories)), dtype=np.float32)
    for row, value in enumerate(values):
        if value in index:
            encoded[row, index[value]] = 1.0
    return encoded


def _department_codes(
    mentors: Sequence[MatchProfile], mentees: Sequence[MatchProfile]
) -> tuple[np.ndarray, np.ndarray]:
    """Integer department codes, -1 where unknown (int16 keeps broadcast compares fast)."""
    codes: dict[str, int] = {}

    def encode(profiles: Sequence[MatchProfile]) -> np.ndarray:
        result = np.empty(len(profiles), dtype=np.int64)
        for index, profile in enumerate(profiles):
            key = _department_key(profile.department)
            result[index] = codes.setdefault(key, len(codes)) if key else -1
        return result

    mentor_codes, mentee_codes = encode(mentors), encode(mentees)
    dtype = np.int16 if len(codes) < np.iinfo(np.int16).max else np.int32
    return mentor_codes.astype(dtype), mentee_codes.astype(dtype)


def _smallest_signed_dtype(bound: int) -> type[np.signedinteger]:
    for dtype in (np.int8, np.int16, np.int32):
        if bound <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _candidate_scores(
    pool: _Pool,
    mentors: Sequence[MatchProfile],
    mentees: Sequence[MatchProfile],
    managers: Mapping[str, str | None] | None,
    previous_pairs: AbstractSet[frozenset[str]],
) -> np.ndarray:
    scores = pool.scores(constrained=True)
    rows, cols = excluded_pairs(mentors, mentees, managers=managers, previous_pairs=previous_pairs)
    scores[rows, cols] = 0
    return scores


def candidate_scores(
    mentors: Sequence[MatchProfile],
    mentees: Sequence[MatchProfile],
    *,
    weights: MatchWeights = DEFAULT_WEIGHTS,
    managers: Mapping[str, str | None] | None = None,
    previous_pairs: AbstractSet[frozenset[str]] = frozenset(),
    week: MatchingWeek = DEFAULT_WEEK,
) -> np.ndarray:
    """:func:`score_matrix` with every pair forbidden by a hard constraint set to 0: the
    matrix the optimiser works on (mentor capacity aside)."""
    pool = _Pool(mentors, mentees, weights, week)
    return _candidate_scores(pool, mentors, mentees, managers, previous_pairs)


# --- the whole pool -------------------------------------------------------------------------


def compute_matches(
    mentors: Sequence[MatchProfile],
    mentees: Sequence[MatchProfile],
    *,
    weights: MatchWeights = DEFAULT_WEIGHTS,
    managers: Mapping[str, str | None] | None = None,
    previous_pairs: AbstractSet[frozenset[str]] = frozenset(),
    existing_load: Mapping[int, int] | None = None,
    week: MatchingWeek = DEFAULT_WEEK,
) -> MatchResult:
    """Propose the set of pairs with the highest total score.

    - ``managers``: user id -> manager user id. It may mention people outside the pool
      (chains walk through them); profiles' ``manager_user_id`` fill in anyone it omits.
    - ``previous_pairs``: ``frozenset({mentor_user_id, mentee_user_id})`` of earlier pairs,
      never proposed again.
    - ``existing_load``: mentor participant id -> mentees already actively paired; it
      reduces the mentor's remaining capacity (never below 0).
    - ``week``: the week whose calendar (DST) and the working day that hours are judged by.

    Pairs must share a topic and pass :func:`is_excluded`; each mentor takes at most their
    remaining capacity, each mentee at most one mentor. The result is optimal (maximum total
    score), deterministic, and independent of the order of the input sequences.
    Unmatched lists every mentee without a pair and every mentor without any mentee (new or
    existing) who still had room.
    """
    with _garbage_collection_paused():
        return _compute_matches(
            sorted(mentors, key=lambda p: p.participant_id),
            sorted(mentees, key=lambda p: p.participant_id),
            weights,
            managers,
            previous_pairs,
            existing_load or {},
            week,
        )


@contextmanager
def _garbage_collection_paused() -> Iterator[None]:
    """Building tens of thousands of reason objects would trigger full collections that
    walk every profile in the pool (~3x slower); none of these objects form cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _compute_matches(
    mentors: list[MatchProfile],
    mentees: list[MatchProfile],
    weights: MatchWeights,
    managers: Mapping[str, str | None] | None,
    previous_pairs: AbstractSet[frozenset[str]],
    load: Mapping[int, int],
    week: MatchingWeek,
) -> MatchResult:
    _require_unique_ids(mentors, mentees)
    existing = np.array([max(load.get(m.participant_id, 0), 0) for m in mentors], dtype=np.int64)
    remaining = np.maximum(np.array([m.capacity for m in mentors], dtype=np.int64) - existing, 0)

    pool = _Pool(mentors, mentees, weights, week)
    scores = _candidate_scores(pool, mentors, mentees, managers, previous_pairs)
    matching = max_weight_b_matching(scores, remaining)

    pairs: list[ProposedPair] = []
    schedule = pool.schedule
    row_codes, col_codes = schedule.row_codes.tolist(), schedule.col_codes.tolist()
    for row, col in zip(matching.rows.tolist(), matching.cols.tolist(), strict=True):
        mentor, mentee = mentors[row], mentees[col]
        # score_pair and pair_facts, with the bitmaps the pool already holds.
        working, preferred = schedule.row_bitmaps[row_codes[row]]
        their_working, their_preferred = schedule.col_bitmaps[col_codes[col]]
        scored = _score(
            mentor,
            mentee,
            weights,
            lambda mine=preferred, theirs=their_preferred: hours_of((mine & theirs).bit_count()),
        )
        if scored is None:  # the matrix only allows pairs that share a topic
            raise RuntimeError("proposed a pair without a shared topic")
        score, reasons = scored
        facts = _facts(mentor, mentee, working & their_working)
        pairs.append(
            ProposedPair(mentor.participant_id, mentee.participant_id, score, reasons, facts)
        )

    unmatched = _unmatched(
        pool, mentors, mentees, scores, remaining, existing, matching.rows, matching.cols
    )
    return MatchResult(pairs=pairs, unmatched=unmatched, total_score=sum(p.score for p in pairs))


def _require_unique_ids(mentors: Sequence[MatchProfile], mentees: Sequence[MatchProfile]) -> None:
    for pool, role in ((mentors, "mentor"), (mentees, "mentee")):
        ids = [p.participant_id for p in pool]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate participant_id among {role}s")


def _row_max(scores: np.ndarray) -> np.ndarray:
    if scores.shape[1] == 0:
        return np.zeros(scores.shape[0], dtype=scores.dtype)
    return scores.max(axis=1)


def _column_max(scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per column, the largest entry among the selected rows (0 if none)."""
    best = np.zeros(scores.shape[1], dtype=scores.dtype)
    for start in range(0, scores.shape[0], _SCORE_CHUNK_ROWS):
        block = scores[start : start + _SCORE_CHUNK_ROWS][rows[start : start + _SCORE_CHUNK_ROWS]]
        if block.shape[0]:
            np.maximum(best, block.max(axis=0), out=best)
    return best


def _unmatched(
    pool: _Pool,
    mentors: Sequence[MatchProfile],
    mentees: Sequence[MatchProfile],
    scores: np.ndarray,
    remaining: np.ndarray,
    existing: np.ndarray,
    pair_rows: np.ndarray,
    pair_cols: np.ndarray,
) -> list[Unmatched]:
    # Usable = shares a topic, not excluded, and (for mentees) the mentor has room.
    mentor_has_usable = _row_max(scores) > 0
    mentee_has_usable = _column_max(scores, remaining > 0) > 0
    paired_mentors = set(pair_rows.tolist())
    paired_mentees = set(pair_cols.tolist())
    all_offered = frozenset().union(*(m.topics_offered for m in mentors))
    all_interests = frozenset().union(*(m.topics_wanted | m.development_areas for m in mentees))

    result: list[Unmatched] = []
    for row, mentor in enumerate(mentors):
        if row in paired_mentors or existing[row] > 0 or remaining[row] == 0:
            continue
        if not mentees:
            reason = Reason(NO_COUNTERPART, {})
        elif not mentor.topics_offered & all_interests:
            reason = Reason(NO_MENTEE_WANTS, {"topics": sorted(mentor.topics_offered)})
        elif not mentor_has_usable[row]:
            reason = Reason(pool.obstacle("mentor", row), {})
        else:
            reason = Reason(CAPACITY_FULL, {})
        result.append(Unmatched(mentor.participant_id, "mentor", reason))
    for col, mentee in enumerate(mentees):
        if col in paired_mentees:
            continue
        interests = mentee.topics_wanted | mentee.development_areas
        if not mentors:
            reason = Reason(NO_COUNTERPART, {})
        elif not interests & all_offered:
            reason = Reason(NO_MENTOR_OFFERS, {"topics": sorted(interests)})
        elif not mentee_has_usable[col]:
            reason = Reason(pool.obstacle("mentee", col), {})
        else:
            reason = Reason(CAPACITY_FULL, {})
        result.append(Unmatched(mentee.participant_id, "mentee", reason))
    return result
