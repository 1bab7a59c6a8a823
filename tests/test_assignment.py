"""The b-matching solver: optimal totals, valid matchings, and its duality certificate."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linear_sum_assignment

from bot.domain import assignment
from bot.domain.assignment import BMatching, max_weight_b_matching


def dense_optimum(scores: np.ndarray, capacity: np.ndarray) -> int:
    """Reference total: SciPy's dense assignment on one row per unit of capacity."""
    slots = np.repeat(np.clip(scores, 0, None), capacity, axis=0).astype(np.int64)
    if slots.size == 0:
        return 0
    rows, cols = linear_sum_assignment(slots, maximize=True)
    return int(slots[rows, cols].sum())


def brute_force_optimum(scores: np.ndarray, capacity: np.ndarray) -> int:
    """Reference total by dynamic programming over columns and remaining capacities."""
    n_rows, n_cols = scores.shape

    @cache
    def best(col: int, remaining: tuple[int, ...]) -> int:
        if col == n_cols:
            return 0
        value = best(col + 1, remaining)  # column stays unmatched
        for row in range(n_rows):
            if remaining[row] > 0 and scores[row, col] > 0:
                left = remaining[:row] + (remaining[row] - 1,) + remaining[row + 1 :]
                value = max(value, int(scores[row, col]) + best(col + 1, left))
        return value

    return best(0, tuple(int(c) for c in np.maximum(capacity, 0)))


def assert_valid(result: BMatching, scores: np.ndarray, capacity: np.ndarray) -> None:
    rows, cols = result.rows, result.cols
    assert len(set(cols.tolist())) == len(cols), "a column is used twice"
    assert (scores[rows, cols] > 0).all(), "a forbidden entry is used"
    used = np.bincount(rows, minlength=scores.shape[0])
    assert (used <= np.maximum(capacity, 0)).all(), "a row exceeds its capacity"
    assert result.total == int(scores[rows, cols].astype(np.int64).sum())
    order = np.lexsort((cols, rows))
    assert (order == np.arange(len(rows))).all(), "pairs not sorted by (row, column)"


def assert_certificate(result: BMatching, scores: np.ndarray, capacity: np.ndarray) -> None:
    """The duals prove optimality: feasible everywhere and matching the primal total."""
    u, v = result.row_duals, result.col_duals
    assert (u >= 0).all() and (v >= 0).all()
    has_slots = np.minimum(capacity, (scores > 0).sum(axis=1)) > 0
    reduced = u[:, None] + v[None, :] - scores.astype(np.int64)
    assert (reduced[has_slots] >= 0).all()
    dual_objective = int((u * np.minimum(capacity, (scores > 0).sum(axis=1))).sum() + v.sum())
    assert dual_objective == result.total


small_problems = st.integers(1, 6).flatmap(
    lambda n_rows: st.tuples(
        arrays(
            np.int8,
            st.tuples(st.just(n_rows), st.integers(0, 7)),
            elements=st.one_of(st.integers(-2, 9), st.integers(-128, 127)),
        ),
        arrays(np.int64, n_rows, elements=st.integers(0, 3)),
    )
)


@settings(max_examples=500, deadline=None)
@given(small_problems)
def test_small_problems_match_brute_force(problem: tuple[np.ndarray, np.ndarray]) -> None:
    scores, capacity = problem
    result = max_weight_b_matching(scores, capacity)
    assert_valid(result, scores, capacity)
    assert result.total == brute_force_optimum(scores, capacity)
    if result.solves:
        assert_certificate(result, scores, capacity)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shape", [(150, 150), (120, 200), (200, 90)])
@pytest.mark.parametrize("max_capacity", [1, 3])
def test_random_medium_problems_match_scipy(
    seed: int, shape: tuple[int, int], max_capacity: int
) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.integers(1, 25, size=shape).astype(np.int8)
    scores[rng.random(shape) < 0.6] = 0  # sparse-ish, like "no shared topic"
    capacity = rng.integers(0, max_capacity + 1, size=shape[0])
    result = max_weight_b_matching(scores, capacity)
    assert_valid(result, scores, capacity)
    assert result.total == dense_optimum(scores, capacity)
    assert_certificate(result, scores, capacity)


def test_massive_ties_are_thinned_but_still_optimal() -> None:
    scores = np.full((400, 400), 5, dtype=np.int8)
    result = max_weight_b_matching(scores, np.ones(400, dtype=np.int64))
    assert result.total == 400 * 5
    assert result.candidate_edges < 400 * 400 // 2  # ties were thinned, not all kept


@pytest.mark.parametrize("rounds", [1, 6])
def test_contested_columns_need_repair_rounds(monkeypatch: pytest.MonkeyPatch, rounds: int) -> None:
    """Tiny candidate bands force several certificate failures, near-tight re-solves (column
    generation, given up after `rounds`) and full re-solves; the answer must still be optimal."""
    for name, value in [
        ("_PRUNED_ROUNDS", rounds),
        ("_INITIAL_CAP", 1),
        ("_INITIAL_SLACK", 0),
        ("_REPAIR_CAP", 1),
        ("_REPAIR_SLACK", 0),
        ("_TIE_CAP", 1),
        ("_PRUNED_RESOLVE_MAX_SHARE", 1.0),
    ]:
        monkeypatch.setattr(assignment, name, value)
    rng = np.random.default_rng(3)
    # Everyone prefers the same few columns, with a few points of personal taste.
    scores = (rng.integers(0, 4, size=(120, 150)) + np.linspace(12, 1, 150)).astype(np.int8)
    capacity = rng.integers(1, 3, size=120)
    result = max_weight_b_matching(scores, capacity)
    assert result.checks > 2
    assert_valid(result, scores, capacity)
    assert result.total == dense_optimum(scores, capacity)
    assert_certificate(result, scores, capacity)


@pytest.mark.parametrize(
    ("scores", "capacity", "total"),
    [
        (np.zeros((0, 0), np.int8), np.zeros(0, np.int64), 0),
        (np.zeros((3, 0), np.int8), np.ones(3, np.int64), 0),
        (np.zeros((0, 3), np.int8), np.zeros(0, np.int64), 0),
        (np.zeros((2, 2), np.int8), np.ones(2, np.int64), 0),
        (np.array([[5, 4]], np.int8), np.array([0]), 0),
        (np.array([[5, 4]], np.int8), np.array([-1]), 0),
        (np.array([[5, 4]], np.int8), np.array([7]), 9),
        (np.array([[-3, 2], [4, -1]], np.int8), np.ones(2, np.int64), 6),
        (np.array([[-128, 127], [127, -128]], np.int8), np.ones(2, np.int64), 254),
        (np.array([[-128, 3, 1], [2, -128, 127]], np.int8), np.ones(2, np.int64), 130),
        # -128 minus a positive column price would wrap around in int8 if not clipped.
        (np.array([[-128, 1], [5, 0], [5, 0]], np.int8), np.ones(3, np.int64), 6),
        (np.array([[200, 1]], np.uint8), np.array([1]), 200),
        (np.array([[40000, 1], [1, 40000]], np.int32), np.ones(2, np.int64), 80000),
    ],
)
def test_edge_cases(scores: np.ndarray, capacity: np.ndarray, total: int) -> None:
    result = max_weight_b_matching(scores, capacity)
    assert result.total == total
    assert_valid(result, scores.astype(np.int64), capacity)


def test_prefers_two_good_pairs_over_one_great_pair() -> None:
    # Greedy takes (0, 0) = 10 and strands row 1; the optimum is 9 + 8.
    scores = np.array([[10, 9], [8, 0]], dtype=np.int8)
    result = max_weight_b_matching(scores, np.ones(2, dtype=np.int64))
    assert result.total == 17
    assert list(zip(result.rows.tolist(), result.cols.tolist(), strict=True)) == [(0, 1), (1, 0)]


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        max_weight_b_matching(np.zeros(3, np.int8), np.ones(3))
    with pytest.raises(TypeError):
        max_weight_b_matching(np.zeros((2, 2)), np.ones(2))
    with pytest.raises(ValueError):
        max_weight_b_matching(np.zeros((2, 2), np.int8), np.ones(3))


def test_deterministic() -> None:
    rng = np.random.default_rng(11)
    scores = rng.integers(0, 6, size=(300, 300)).astype(np.int8)  # many ties
    capacity = rng.integers(1, 3, size=300)
    first = max_weight_b_matching(scores, capacity)
    second = max_weight_b_matching(scores.copy(), capacity.copy())
    assert np.array_equal(first.rows, second.rows)
    assert np.array_equal(first.cols, second.cols)
