"""Pure matching engine: score mentor/mentee pairs and pick the best set of pairs.

No Slack, no database: callers turn participants into :class:`MatchProfile` objects, call
:func:`compute_matches` and store or render the result. Reasons carry codes and
JSON-serialisable params so the UI can translate them.

Scoring (all weights are small non-negative integers, see :class:`MatchWeights`) is done two
ways that must agree: :func:`score_pair` in plain Python for one pair, with its reasons, and
:func:`score_matrix` with numpy for a whole pool at once (a 5,000 x 5,000 pool is 25 million
pairs). Reasons are only computed for the pairs that are finally proposed.

The pairing itself maximises the total score subject to the hard constraints (reporting
line, avoid lists, earlier pairs, mentor capacity); see :mod:`bot.domain.assignment`.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from bot.domain.assignment import max_weight_b_matching

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
ANY_FORMAT = "any"

# Local working windows in hours, [start, end).
_WORKING_WINDOWS: Mapping[str, tuple[int, int]] = {"morning": (9, 12), "afternoon": (13, 17)}
_FULL_DAY = (9, 17)
_MINUTES_PER_DAY = 24 * 60
_DAY_BIT = {day: 1 << index for index, day in enumerate(WEEKDAYS)}
_ALL_DAYS = (1 << len(WEEKDAYS)) - 1

EXCLUDED_SAME_PERSON = "same_person"
EXCLUDED_REPORTING_LINE = "reporting_line"
EXCLUDED_AVOID = "avoid"
EXCLUDED_PREVIOUS_PAIR = "previous_pair"

NO_COUNTERPART = "no_counterpart"
NO_MENTOR_OFFERS = "no_mentor_offers"
NO_MENTEE_WANTS = "no_mentee_wants"
ALL_CANDIDATES_EXCLUDED = "all_candidates_excluded"
CAPACITY_FULL = "capacity_full"

# Rows of the score matrix built per step: keeps float32 temporaries in cache.
_SCORE_CHUNK_ROWS = 256


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
    available_days: frozenset[str] = frozenset()  # subset of WEEKDAYS; empty = any day
    time_of_day: str | None = None  # "morning" (9-12) | "afternoon" (13-17) | "any"/None (9-17)
    utc_offset_minutes: int = 0
    manager_user_id: str | None = None
    avoid_user_ids: frozenset[str] = frozenset()
    capacity: int = 1  # mentees per mentor (mentors only)


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
      overlap_per_two_hours = 1 per full 2 h of shared working hours ...
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


# --- time and hierarchy helpers ---------------------------------------------------------


def _utc_window(profile: MatchProfile) -> tuple[int, int]:
    """(start minute of day in UTC, length in minutes) of the local working window."""
    return _window(profile.time_of_day, profile.utc_offset_minutes)


@lru_cache(maxsize=4096)
def _window(time_of_day: str | None, utc_offset_minutes: int) -> tuple[int, int]:
    start_hour, end_hour = _WORKING_WINDOWS.get(time_of_day or "", _FULL_DAY)
    start = (start_hour * 60 - utc_offset_minutes) % _MINUTES_PER_DAY
    return start, (end_hour - start_hour) * 60


def _overlap_minutes(start_a: int, length_a: int, start_b: int, length_b: int) -> int:
    # Windows repeat daily, so compare b shifted a day either way as well (circular overlap).
    total = 0
    for shift in (-_MINUTES_PER_DAY, 0, _MINUTES_PER_DAY):
        low = max(start_a, start_b + shift)
        high = min(start_a + length_a, start_b + length_b + shift)
        total += max(0, high - low)
    return total


def shared_working_hours(a: MatchProfile, b: MatchProfile) -> int:
    """Whole hours during which both people are inside their local working window."""
    return _overlap_minutes(*_utc_window(a), *_utc_window(b)) // 60


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
    mentor: MatchProfile, mentee: MatchProfile, weights: MatchWeights = DEFAULT_WEIGHTS
) -> tuple[int, tuple[Reason, ...]] | None:
    """Score of pairing ``mentor`` with ``mentee`` and the reasons that earned points, or
    None when the mentor offers none of the mentee's wanted or development topics."""
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
    hours = shared_working_hours(mentor, mentee)
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
) -> str | None:
    """The hard constraint that forbids this pair, or None if they may be paired.

    ``managers`` maps user id to manager user id; for anyone it does not mention, the
    profile's own ``manager_user_id`` is used.
    """
    if mentor.user_id == mentee.user_id:
        return EXCLUDED_SAME_PERSON
    lookup = _ManagerLookup((mentor, mentee), managers)
    if mentor.user_id in reporting_chain(mentee.user_id, lookup) or (
        mentee.user_id in reporting_chain(mentor.user_id, lookup)
    ):
        return EXCLUDED_REPORTING_LINE
    if mentee.user_id in mentor.avoid_user_ids or mentor.user_id in mentee.avoid_user_ids:
        return EXCLUDED_AVOID
    if frozenset((mentor.user_id, mentee.user_id)) in previous_pairs:
        return EXCLUDED_PREVIOUS_PAIR
    return None


def excluded_pairs(
    mentors: Sequence[MatchProfile],
    mentees: Sequence[MatchProfile],
    *,
    managers: Mapping[str, str | None] | None = None,
    previous_pairs: AbstractSet[frozenset[str]] = frozenset(),
) -> tuple[np.ndarray, np.ndarray]:
    """(mentor positions, mentee positions) of every pair a hard constraint forbids.

    Same rules as :func:`is_excluded`, found by walking each person's links (chain, avoid
    list, earlier pairs) instead of testing all pairs. Duplicates are possible.
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
        ):
            forbid(mentor.user_id, other)
    for mentee in mentees:
        for other in (*reporting_chain(mentee.user_id, lookup), *mentee.avoid_user_ids):
            forbid(other, mentee.user_id)
    for pair in previous_pairs:
        if len(pair) == 2:
            first, second = pair
            forbid(first, second)
            forbid(second, first)
    return np.asarray(found_rows, dtype=np.int64), np.asarray(found_cols, dtype=np.int64)


def _positions_by_user(profiles: Sequence[MatchProfile]) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = defaultdict(list)
    for index, profile in enumerate(profiles):
        positions[profile.user_id].append(index)
    return positions


# --- scoring a whole pool -------------------------------------------------------------------


def score_matrix(
    mentors: Sequence[MatchProfile],
    mentees: Sequence[MatchProfile],
    weights: MatchWeights = DEFAULT_WEIGHTS,
) -> np.ndarray:
    """``score_pair`` for every (mentor, mentee), vectorised: entry [i, j] is the score of
    mentors[i] with mentees[j], 0 where they share no topic. Hard constraints are ignored.

    The dtype is the smallest signed integer type that holds every possible score.
    """
    n_rows, n_cols = len(mentors), len(mentees)
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

    # Everything that is a sum of products goes into one matrix product: topics, one-hot
    # frequency and format, and the shared-topic count times a power of two above any
    # score, so one product yields both (score = low bits, shares a topic = high bits).
    frequency_values = sorted(
        {p.meeting_frequency for p in [*mentors, *mentees] if p.meeting_frequency is not None}
    )
    format_values = sorted(
        {p.meeting_format for p in [*mentors, *mentees] if _is_concrete_format(p.meeting_format)}
    )
    mentor_formats = _one_hot([m.meeting_format for m in mentors], format_values)
    mentor_features = np.hstack(
        [
            offered,
            learning,
            _one_hot([m.meeting_frequency for m in mentors], frequency_values),
            np.ones((n_rows, 1), dtype=np.float32),
            mentor_formats.sum(axis=1, keepdims=True),
            mentor_formats,
        ]
    )
    mentee_formats = _one_hot([m.meeting_format for m in mentees], format_values)
    format_weight = float(weights.compatible_format)
    # compatible = 1 - [both concrete] + [both concrete and equal]
    points_features = [
        weights.central_topic * wanted + weights.secondary_topic * developing,
        weights.mutual_learning * teaching,
        weights.same_frequency * _one_hot([m.meeting_frequency for m in mentees], frequency_values),
        np.full((n_cols, 1), format_weight, dtype=np.float32),
        -format_weight * mentee_formats.sum(axis=1, keepdims=True),
        format_weight * mentee_formats,
    ]

    # Days and working hours depend on few distinct (days, window) combinations: tabulate.
    mentor_schedule, mentee_schedule, schedule_points = _schedule_table(mentors, mentees, weights)
    mentor_departments, mentee_departments = _department_codes(mentors, mentees)

    bound = max(
        1,
        int(np.hstack(points_features).sum(axis=1).max(initial=0))
        + int(schedule_points.max(initial=0))
        + weights.different_department,
    )
    shared_unit = 1 << bound.bit_length()  # power of two > any score
    if shared_unit * (len(vocabulary) + 1) >= 1 << 24:
        raise ValueError("weights too large for exact float32 scoring")
    interests = np.minimum(wanted + developing, 1)
    points_features[0] = points_features[0] + shared_unit * interests
    mentee_features = np.hstack(points_features).T.copy()

    scores = np.zeros((n_rows, n_cols), dtype=_smallest_signed_dtype(bound))
    mentee_department_known = mentee_departments >= 0
    department_weight = weights.different_department
    needs_floor = weights.central_topic == 0 or weights.secondary_topic == 0
    for start in range(0, n_rows, _SCORE_CHUNK_ROWS):
        stop = min(start + _SCORE_CHUNK_ROWS, n_rows)
        block = mentor_features[start:stop] @ mentee_features
        block += np.take(schedule_points[mentor_schedule[start:stop]], mentee_schedule, axis=1)
        if department_weight:
            row_departments = mentor_departments[start:stop]
            different = row_departments[:, None] != mentee_departments
            different &= mentee_department_known
            different[row_departments < 0] = False
            block += department_weight * different if department_weight != 1 else different
        exact = block.astype(np.int32)  # sums of small integers: exact in float32
        shares_topic = exact >= shared_unit
        exact &= shared_unit - 1
        if needs_floor:
            np.maximum(exact, 1, out=exact)
        exact *= shares_topic
        scores[start:stop] = exact
    return scores


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


def _schedule_table(
    mentors: Sequence[MatchProfile], mentees: Sequence[MatchProfile], weights: MatchWeights
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per mentor and mentee a schedule code, and the points table indexed by both codes.

    Points for shared days and working-hour overlap depend only on the day mask and the
    UTC window; a pool has few distinct combinations, so tabulate them instead of scoring
    25 million pairs. Built from two small tables: windows x windows and masks x masks.
    """
    people = [*mentors, *mentees]
    windows = np.array([_utc_window(p) for p in people], dtype=np.int64).reshape(-1, 2)
    window_values, window_codes = np.unique(windows, axis=0, return_inverse=True)
    masks = np.array([_day_mask(p.available_days) for p in people], dtype=np.int64)
    mask_values, mask_codes = np.unique(masks, return_inverse=True)

    start, end = window_values[:, 0], window_values.sum(axis=1)
    minutes = np.zeros((len(window_values), len(window_values)), dtype=np.int64)
    for shift in (-_MINUTES_PER_DAY, 0, _MINUTES_PER_DAY):
        low = np.maximum(start[:, None], start[None, :] + shift)
        high = np.minimum(end[:, None], end[None, :] + shift)
        minutes += np.maximum(high - low, 0)
    overlap_points = np.minimum(
        weights.overlap_per_two_hours * ((minutes // 60) // 2), weights.max_overlap_points
    ).astype(np.float32)
    shares_day = (mask_values[:, None] & mask_values[None, :]) != 0
    day_points = (weights.shared_day * shares_day).astype(np.float32)

    # Codes of the (window, mask) combinations present on each side.
    combined = window_codes.reshape(-1) * len(mask_values) + mask_codes.reshape(-1)
    n_mentors = len(mentors)
    mentor_values, mentor_codes = np.unique(combined[:n_mentors], return_inverse=True)
    mentee_values, mentee_codes = np.unique(combined[n_mentors:], return_inverse=True)
    mentor_window, mentor_mask = np.divmod(mentor_values, len(mask_values))
    mentee_window, mentee_mask = np.divmod(mentee_values, len(mask_values))
    # Gather rows, then take columns: much faster than 2-D fancy indexing.
    table = np.take(overlap_points[mentor_window], mentee_window, axis=1)
    table += np.take(day_points[mentor_mask], mentee_mask, axis=1)
    return mentor_codes.reshape(-1), mentee_codes.reshape(-1), table


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


def candidate_scores(
    mentors: Sequence[MatchProfile],
    mentees: Sequence[MatchProfile],
    *,
    weights: MatchWeights = DEFAULT_WEIGHTS,
    managers: Mapping[str, str | None] | None = None,
    previous_pairs: AbstractSet[frozenset[str]] = frozenset(),
) -> np.ndarray:
    """:func:`score_matrix` with every pair forbidden by a hard constraint set to 0: the
    matrix the optimiser works on (mentor capacity aside)."""
    scores = score_matrix(mentors, mentees, weights)
    rows, cols = excluded_pairs(mentors, mentees, managers=managers, previous_pairs=previous_pairs)
    scores[rows, cols] = 0
    return scores


# --- the whole pool -------------------------------------------------------------------------


def compute_matches(
    mentors: Sequence[MatchProfile],
    mentees: Sequence[MatchProfile],
    *,
    weights: MatchWeights = DEFAULT_WEIGHTS,
    managers: Mapping[str, str | None] | None = None,
    previous_pairs: AbstractSet[frozenset[str]] = frozenset(),
    existing_load: Mapping[int, int] | None = None,
) -> MatchResult:
    """Propose the set of pairs with the highest total score.

    - ``managers``: user id -> manager user id. It may mention people outside the pool
      (chains walk through them); profiles' ``manager_user_id`` fill in anyone it omits.
    - ``previous_pairs``: ``frozenset({mentor_user_id, mentee_user_id})`` of earlier pairs,
      never proposed again.
    - ``existing_load``: mentor participant id -> mentees already actively paired; it
      reduces the mentor's remaining capacity (never below 0).

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
) -> MatchResult:
    _require_unique_ids(mentors, mentees)
    existing = np.array([max(load.get(m.participant_id, 0), 0) for m in mentors], dtype=np.int64)
    remaining = np.maximum(np.array([m.capacity for m in mentors], dtype=np.int64) - existing, 0)

    scores = candidate_scores(
        mentors, mentees, weights=weights, managers=managers, previous_pairs=previous_pairs
    )
    matching = max_weight_b_matching(scores, remaining)

    pairs: list[ProposedPair] = []
    for row, col in zip(matching.rows.tolist(), matching.cols.tolist(), strict=True):
        scored = score_pair(mentors[row], mentees[col], weights)
        if scored is None:  # the matrix only allows pairs that share a topic
            raise RuntimeError("proposed a pair without a shared topic")
        score, reasons = scored
        pairs.append(
            ProposedPair(mentors[row].participant_id, mentees[col].participant_id, score, reasons)
        )

    unmatched = _unmatched(
        mentors, mentees, scores, remaining, existing, matching.rows, matching.cols
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
            reason = Reason(ALL_CANDIDATES_EXCLUDED, {})
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
            reason = Reason(ALL_CANDIDATES_EXCLUDED, {})
        else:
            reason = Reason(CAPACITY_FULL, {})
        result.append(Unmatched(mentee.participant_id, "mentee", reason))
    return result
