"""Pairing rules under concurrency and review (issue 9, items 10, 15, 16), on both databases.

Races run N threads, each with its own transaction through Database.run (as listeners do),
released together by a barrier: exactly one must make each change, the others no-op.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date
from typing import TypeVar

import pytest
from sqlmodel import Session, select

from bot.domain import enrollment, pairing
from bot.domain.programs import ProgramForm, save_program
from storage import repositories as repo
from storage.db import Database
from storage.models import (
    Goal,
    MatchRun,
    Pair,
    PairEvent,
    PairStatus,
    Participant,
    Program,
    RematchRequest,
)

T = TypeVar("T")
RACERS = 10


@pytest.fixture(autouse=True)
def no_retries(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A loser must see the outcome and no-op, not fail and be retried (lock timeout, deadlock)."""
    yield
    retried = [r for r in caplog.records if r.getMessage() == "database unavailable, retrying"]
    assert not retried, [getattr(r, "error", None) for r in retried]


def _race(database: Database, work: Callable[[Session], T], n: int = RACERS) -> list[T]:
    barrier = threading.Barrier(n)
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def racer() -> None:
        barrier.wait()
        try:
            result = database.run(work)
        except BaseException as error:  # noqa: BLE001 - reported below
            with lock:
                errors.append(error)
            return
        with lock:
            results.append(result)

    threads = [threading.Thread(target=racer) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == n
    return results


def _program(db: Database, capacity: int = 1) -> Program:
    form = ProgramForm(
        name="P",
        goals=["g"],
        start_date=date(2027, 1, 1),
        end_date=date(2027, 6, 30),
        topics=["AI tools", "Social media"],
        mentor_capacity=capacity,
        enrollment_open=True,
    )
    with db.session() as session:
        return save_program(session, form, admin_id="UADMIN")


def _join(db: Database, program: Program, user_id: str, role: str) -> Participant:
    topics = (
        {"topics_offered": ["ai_tools"]} if role == "mentor" else {"topics_wanted": ["ai_tools"]}
    )
    form = enrollment.EnrollmentForm(role=role, **topics)  # type: ignore[arg-type]
    person = enrollment.Person(user_id, f"Name {user_id}", "en", "Europe/Berlin", 60)
    with db.session() as session:
        return enrollment.enroll(session, program, person, form).participant


def _events(db: Database, kind: str) -> list[PairEvent]:
    with db.session() as session:
        return list(session.exec(select(PairEvent).where(PairEvent.kind == kind)).all())


def _pairs(db: Database, status: str | None = None) -> list[Pair]:
    with db.session() as session:
        rows = session.exec(select(Pair).order_by(Pair.id)).all()  # type: ignore[arg-type]
    return [p for p in rows if status is None or p.status == status]


def _statuses(db: Database) -> dict[str, str]:
    with db.session() as session:
        return {p.slack_user_id: p.status for p in session.exec(select(Participant)).all()}


def _pool(db: Database, program: Program, mentors: int, mentees: int) -> None:
    for i in range(mentors):
        _join(db, program, f"UM{i}", "mentor")
    for i in range(mentees):
        _join(db, program, f"UE{i}", "mentee")


def _propose(db: Database, program: Program) -> pairing.Proposal:
    with db.session() as session:
        return pairing.propose(session, program, "UADMIN")


def _active_pair(db: Database, program: Program) -> Pair:
    _pool(db, program, 1, 1)
    proposal = _propose(db, program)
    with db.session() as session:
        return pairing.approve(session, proposal.run.id or 0, "UADMIN").pairs[0]


# 9.10 Guarded transitions ---------------------------------------------------------------------


def test_concurrent_approvals_activate_each_pair_once(database: Database) -> None:
    program = _program(database)
    _pool(database, program, 4, 4)
    proposal = _propose(database, program)
    reviewed = [p.id or 0 for p in proposal.pairs]
    assert len(reviewed) == 4
    results = _race(
        database, lambda s: pairing.approve(s, proposal.run.id or 0, "UADMIN", reviewed)
    )
    winners = [r for r in results if r.closed]
    assert len(winners) == 1
    assert sorted(p.id or 0 for p in winners[0].pairs) == sorted(reviewed)
    assert all(r.pairs == [] for r in results if not r.closed)
    approved = _events(database, "approved")
    assert sorted(e.pair_id for e in approved) == sorted(reviewed)  # one event per pair
    assert len(_pairs(database, PairStatus.ACTIVE)) == 4
    assert set(_statuses(database).values()) == {"paired"}
    with database.session() as session:
        assert [r.status for r in session.exec(select(MatchRun)).all()] == ["closed"]


def test_concurrent_end_pair_clicks_end_it_once(database: Database) -> None:
    program = _program(database)
    pair = _active_pair(database, program)
    with database.session() as session:
        mentee = repo.participant_by_user(session, program.id or 0, "UE0")
        assert mentee is not None
        request = pairing.request_rematch(session, mentee, "no chemistry")
        assert isinstance(request, RematchRequest)
    results = _race(
        database, lambda s: pairing.resolve_rematch(s, request.id or 0, "UADMIN", end=True)
    )
    outcomes = [r for r in results if r is not None]
    assert len(outcomes) == 1 and outcomes[0].ended
    assert outcomes[0].requester.slack_user_id == "UE0"
    assert outcomes[0].partner.slack_user_id == "UM0"
    assert [e.pair_id for e in _events(database, "ended")] == [pair.id]
    assert [p.status for p in _pairs(database)] == [PairStatus.ENDED]
    assert _statuses(database) == {"UM0": "waiting", "UE0": "waiting"}
    with database.session() as session:
        assert session.get(RematchRequest, request.id).status == "resolved"  # type: ignore[union-attr]


def test_end_and_keep_clicked_together_give_one_answer(database: Database) -> None:
    program = _program(database)
    _active_pair(database, program)
    with database.session() as session:
        mentor = repo.participant_by_user(session, program.id or 0, "UM0")
        request = pairing.request_rematch(session, mentor, None)  # type: ignore[arg-type]
        assert isinstance(request, RematchRequest)
    count = iter(range(RACERS))
    picks = threading.Lock()

    def answer(session: Session) -> pairing.RematchOutcome | None:
        with picks:
            end = next(count) % 2 == 0
        return pairing.resolve_rematch(session, request.id or 0, "UADMIN", end=end)

    outcomes = [r for r in _race(database, answer) if r is not None]
    assert len(outcomes) == 1
    with database.session() as session:
        stored = session.get(RematchRequest, request.id)
        assert stored is not None
        assert stored.status == ("resolved" if outcomes[0].ended else "declined")
    ended = _events(database, "ended")
    assert len(ended) == (1 if outcomes[0].ended else 0)


def test_two_requests_on_one_pair_ended_together_end_it_once(database: Database) -> None:
    program = _program(database)
    _active_pair(database, program)
    with database.session() as session:
        ids = []
        for user in ("UM0", "UE0"):
            person = repo.participant_by_user(session, program.id or 0, user)
            request = pairing.request_rematch(session, person, None)  # type: ignore[arg-type]
            assert isinstance(request, RematchRequest)
            ids.append(request.id or 0)
    order = iter(range(RACERS))
    picks = threading.Lock()

    def answer(session: Session) -> pairing.RematchOutcome | None:
        with picks:
            request_id = ids[next(order) % 2]
        return pairing.resolve_rematch(session, request_id, "UADMIN", end=True)

    outcomes = [r for r in _race(database, answer) if r is not None]
    assert len(outcomes) == 1 and outcomes[0].ended
    assert len(_events(database, "ended")) == 1
    with database.session() as session:
        assert {r.status for r in session.exec(select(RematchRequest)).all()} == {"resolved"}


def test_concurrent_leave_submits_leave_once(database: Database) -> None:
    program = _program(database)
    pair = _active_pair(database, program)

    def leave(session: Session) -> list[enrollment.EndedPair] | None:
        person = repo.participant_by_user(session, program.id or 0, "UE0")
        assert person is not None
        return enrollment.leave(session, person, erase=False)

    results = _race(database, leave)
    done = [r for r in results if r is not None]
    assert len(done) == 1
    assert [item.partner.slack_user_id for item in done[0]] == ["UM0"]
    assert [e.pair_id for e in _events(database, "ended")] == [pair.id]
    assert _statuses(database) == {"UM0": "waiting", "UE0": "left"}


def test_leaving_while_the_admin_approves_leaves_nobody_paired_with_a_leaver(
    database: Database,
) -> None:
    program = _program(database)
    _pool(database, program, 1, 1)
    proposal = _propose(database, program)
    order = iter(range(2))
    picks = threading.Lock()

    def approve_or_leave(session: Session) -> object:
        with picks:
            approve = next(order) == 0
        if approve:
            return pairing.approve(
                session, proposal.run.id or 0, "UADMIN", [proposal.pairs[0].id or 0]
            )
        person = repo.participant_by_user(session, program.id or 0, "UE0")
        return enrollment.leave(session, person, erase=False)  # type: ignore[arg-type]

    _race(database, approve_or_leave, n=2)
    # Whichever came first, the leaver is out and the mentor is back in the pool.
    assert _statuses(database) == {"UM0": "waiting", "UE0": "left"}
    assert _pairs(database, PairStatus.ACTIVE) == []
    approved, ended = _events(database, "approved"), _events(database, "ended")
    assert len(approved) == len(ended) <= 1


def test_concurrent_removals_remove_a_proposed_pair_once(database: Database) -> None:
    program = _program(database)
    _pool(database, program, 2, 2)
    proposal = _propose(database, program)
    target = proposal.pairs[0]
    results = _race(
        database,
        lambda s: pairing.remove_proposed(s, proposal.run.id or 0, target.id or 0, "UADMIN"),
    )
    assert results.count(True) == 1
    assert [e.pair_id for e in _events(database, "removed_from_proposal")] == [target.id]
    with database.session() as session:
        run = session.get(MatchRun, proposal.run.id)
        assert run is not None
        removed = [w for w in run.waiting_list if w["reason"]["code"] == "removed_by_admin"]
        assert sorted(w["participant_id"] for w in removed) == sorted(
            [target.mentor_id, target.mentee_id]
        )
        assert run.total_score == proposal.pairs[1].score
        assert session.get(Pair, target.id).status == PairStatus.DISCARDED  # type: ignore[union-attr]


def test_removal_after_approval_changes_nothing(database: Database) -> None:
    program = _program(database)
    _pool(database, program, 1, 1)
    proposal = _propose(database, program)
    pair_id = proposal.pairs[0].id or 0
    with database.session() as session:
        assert pairing.approve(session, proposal.run.id or 0, "UADMIN", [pair_id]).closed
    with database.session() as session:
        assert not pairing.remove_proposed(session, proposal.run.id or 0, pair_id, "UADMIN")
    assert [p.status for p in _pairs(database)] == [PairStatus.ACTIVE]


# 9.15 The admin approves exactly what they reviewed --------------------------------------------


def test_newcomer_during_review_changes_nothing_the_admin_approves(database: Database) -> None:
    program = _program(database)
    _pool(database, program, 1, 1)
    first = _propose(database, program)
    with database.session() as session:
        pairing.approve(session, first.run.id or 0, "UADMIN")  # matching has begun
    for user in ("UM1", "UM2"):
        _join(database, program, user, "mentor")
    for user in ("UE1", "UE2"):
        _join(database, program, user, "mentee")
    review = _propose(database, program)  # the admin opens the review
    assert len(review.pairs) == 2
    removed, kept = review.pairs
    with database.session() as session:
        assert pairing.remove_proposed(session, review.run.id or 0, removed.id or 0, "UADMIN")
    # The admin now sees one pair. A newcomer joins meanwhile.
    newcomer = _join(database, program, "UE3", "mentee")
    with database.session() as session:
        assert pairing.propose_for_newcomer(session, newcomer) == 0  # the open run is untouched
    with database.session() as session:
        still = repo.proposed_pairs(session, review.run.id or 0)
        assert [p.id for p in still] == [kept.id]
        assert session.get(Pair, removed.id).status == PairStatus.DISCARDED  # type: ignore[union-attr]
    with database.session() as session:
        approval = pairing.approve(session, review.run.id or 0, "UADMIN", [kept.id or 0])
    assert [p.id for p in approval.pairs] == [kept.id]
    assert approval.newcomers_waiting
    active = {(p.mentor_id, p.mentee_id) for p in _pairs(database, PairStatus.ACTIVE)}
    assert (removed.mentor_id, removed.mentee_id) not in active
    assert active == {
        (first.pairs[0].mentor_id, first.pairs[0].mentee_id),
        (kept.mentor_id, kept.mentee_id),
    }
    # Right after, the newcomer's suggestion becomes its own proposal, without the removed pair.
    with database.session() as session:
        follow_up = pairing.propose_for_newcomers(session, program)
    assert follow_up is not None and follow_up.run.id != review.run.id
    assert [p.mentee_id for p in follow_up.pairs] == [newcomer.id]
    assert follow_up.pairs[0].mentor_id == removed.mentor_id  # the one mentor still free
    with database.session() as session:
        assert repo.open_match_run(session, program.id or 0).id == follow_up.run.id  # type: ignore[union-attr]
        # Nothing more to suggest while it is open, nor twice.
        assert pairing.propose_for_newcomers(session, program) is None


def test_pairs_the_admin_never_saw_are_discarded(database: Database) -> None:
    program = _program(database)
    _pool(database, program, 2, 2)
    seen = _propose(database, program)  # admin A's review
    rerun = _propose(database, program)  # admin B re-runs: new pair rows
    assert {p.id for p in seen.pairs}.isdisjoint({p.id for p in rerun.pairs})
    with database.session() as session:
        approval = pairing.approve(
            session, seen.run.id or 0, "UADMIN", [p.id or 0 for p in seen.pairs]
        )
    assert approval.closed and approval.pairs == [] and approval.not_reviewed == 2
    assert _pairs(database, PairStatus.ACTIVE) == []
    assert _events(database, "approved") == []
    assert set(_statuses(database).values()) == {"waiting"}


def test_newcomer_waits_for_a_closed_review_then_gets_a_proposal(database: Database) -> None:
    program = _program(database)
    _pool(database, program, 2, 1)
    first = _propose(database, program)
    with database.session() as session:
        pairing.approve(session, first.run.id or 0, "UADMIN")
    review = _propose(database, program)  # nothing to pair yet: one mentor waits
    assert review.pairs == []
    newcomer = _join(database, program, "UE9", "mentee")
    with database.session() as session:
        assert pairing.propose_for_newcomer(session, newcomer) == 0
    with database.session() as session:
        assert pairing.close_run(session, review.run.id or 0) is True
        assert pairing.close_run(session, review.run.id or 0) is False  # once
    with database.session() as session:
        proposal = pairing.propose_for_newcomers(session, program)
    assert proposal is not None and [p.mentee_id for p in proposal.pairs] == [newcomer.id]


def test_newcomer_proposal_is_made_once_under_concurrency(database: Database) -> None:
    program = _program(database)
    _pool(database, program, 2, 1)
    first = _propose(database, program)
    with database.session() as session:
        pairing.approve(session, first.run.id or 0, "UADMIN")
    newcomer = _join(database, program, "UE9", "mentee")
    counts = _race(database, lambda s: pairing.propose_for_newcomer(s, newcomer))
    assert sorted(counts) == [0] * (RACERS - 1) + [1]
    assert len(_pairs(database, PairStatus.PROPOSED)) == 1
    with database.session() as session:
        runs = session.exec(select(MatchRun)).all()
    assert sorted(r.status for r in runs) == ["closed", "open"]


# 9.16 Goals and re-match of a chosen pair -------------------------------------------------------


def test_pair_goals_are_validated() -> None:
    june = date(2027, 6, 30)
    entries = [("Learn prompts", "Weekly"), ("", ""), ("", "")]
    assert pairing.validate_pair_goals(entries, [june, None, None]) == {}
    assert pairing.validate_pair_goals([("", ""), ("  ", ""), ("", "")]) == {
        "goal_1": "Add at least one goal."
    }
    errors = pairing.validate_pair_goals(
        [("x" * 301, "y" * 501), ("", "Monthly"), ("ok", "")], [june, None, june]
    )
    assert errors == {
        "goal_1": "Keep this under 300 characters.",
        "measure_1": "Keep this under 500 characters.",
        "goal_2": "Add the goal this measure belongs to, or clear it.",
    }
    assert pairing.validate_pair_goals([(f"g{i}", "m") for i in range(4)], [june] * 4) == {
        "goal_1": "Three goals at most."
    }


def test_the_first_goal_needs_a_measure_and_a_date_further_goals_are_optional() -> None:
    """The form marks goal 2 and 3 and all their fields optional: so they are."""
    june = date(2027, 6, 30)
    assert pairing.validate_pair_goals([("Learn prompts", "Weekly"), ("Post", "")], [june]) == {}
    assert pairing.validate_pair_goals([("Learn prompts", "Weekly")]) == {
        "target_1": "Pick a target date for this goal."
    }
    assert pairing.validate_pair_goals([("Learn prompts", "")], [june]) == {
        "measure_1": "Say how you'll know you got there."
    }
    # A date left on a cleared goal is not dropped silently.
    assert pairing.validate_pair_goals([("Learn", "Weekly"), ("", "")], [june, june]) == {
        "goal_2": "Add the goal this date belongs to, or clear it."
    }


def test_goals_submit_replaces_the_pairs_goals(database: Database) -> None:
    program = _program(database)
    pair = _active_pair(database, program)
    with database.session() as session:
        first = pairing.set_goals(
            session, pair, [("Learn prompts", "Weekly"), ("Post", ""), ("Share", "")], "UE0"
        )
    assert len(first) == 3
    with database.session() as session:
        second = pairing.set_goals(session, pair, [("learn prompts", "Daily"), ("", "")], "UM0")
    with database.session() as session:
        goals = repo.goals_of_pair(session, pair.id or 0)
    assert [(g.title, g.measure) for g in goals] == [("learn prompts", "Daily")]
    assert goals[0].id == first[0].id == second[0].id  # same goal, progress kept
    with database.session() as session:
        try:
            pairing.set_goals(session, pair, [("", "")], "UM0")
        except ValueError:
            pass
        else:
            raise AssertionError("a pair without goals was accepted")


def test_concurrent_goal_submits_leave_one_to_three_goals(database: Database) -> None:
    program = _program(database)
    pair = _active_pair(database, program)
    order = iter(range(RACERS))
    picks = threading.Lock()

    def submit(session: Session) -> list[str]:
        with picks:
            n = next(order)
        entries = [(f"goal {n}-{i}", "") for i in range(1 + n % 3)]
        member = pairing.pair_of_member(session, pair.id or 0, "UE0")
        assert member is not None
        return [g.title for g in pairing.set_goals(session, member, entries, "UE0")]

    submitted = _race(database, submit)
    with database.session() as session:
        titles = [g.title for g in session.exec(select(Goal)).all()]
    assert 1 <= len(titles) <= 3
    assert sorted(titles) in [sorted(s) for s in submitted]  # exactly one submit's goals


def test_goals_of_an_ended_pair_are_not_replaced(database: Database) -> None:
    program = _program(database)
    pair = _active_pair(database, program)
    with database.session() as session:
        enrollment.end_pair(session, session.get(Pair, pair.id), reason="done", actor=None)  # type: ignore[arg-type]
    with database.session() as session:
        assert pairing.set_goals(session, pair, [("Late", "")], "UE0") == []
        assert repo.goals_of_pair(session, pair.id or 0) == []


def test_mentor_with_several_mentees_picks_the_pair_to_rematch(database: Database) -> None:
    program = _program(database, capacity=2)
    _pool(database, program, 1, 2)
    proposal = _propose(database, program)
    with database.session() as session:
        pairs = pairing.approve(session, proposal.run.id or 0, "UADMIN").pairs
    assert len(pairs) == 2
    with database.session() as session:
        mentor = repo.participant_by_user(session, program.id or 0, "UM0")
        assert mentor is not None
        choice = pairing.request_rematch(session, mentor, "too busy")
        assert isinstance(choice, pairing.WhichPair)
        assert [p.id for p, _ in choice.options] == [p.id for p in pairs]
        assert sorted(partner.slack_user_id for _, partner in choice.options) == ["UE0", "UE1"]
        younger = pairs[1]
        request = pairing.request_rematch(session, mentor, "too busy", pair_id=younger.id)
        assert isinstance(request, RematchRequest) and request.pair_id == younger.id
        partner = pairing.partner_in(session, younger, mentor)
        assert partner is not None and partner.id == younger.mentee_id
        # A pair that is not theirs is refused.
        mentee = repo.participant_by_user(session, program.id or 0, "UE0")
        other = next(p for p in pairs if p.mentee_id != mentee.id)  # type: ignore[union-attr]
        assert pairing.request_rematch(session, mentee, None, pair_id=other.id) is None  # type: ignore[arg-type]
    with database.session() as session:
        outcome = pairing.resolve_rematch(session, request.id or 0, "UADMIN", end=True)
    assert outcome is not None and outcome.partner.id == younger.mentee_id
    assert [p.status for p in _pairs(database, PairStatus.ACTIVE)] == [PairStatus.ACTIVE]
    assert _pairs(database, PairStatus.ACTIVE)[0].id == pairs[0].id
    assert _statuses(database)["UM0"] == "paired"


def test_concurrent_rematch_requests_record_one(database: Database) -> None:
    program = _program(database)
    _active_pair(database, program)

    def ask(session: Session) -> int:
        person = repo.participant_by_user(session, program.id or 0, "UE0")
        request = pairing.request_rematch(session, person, "again")  # type: ignore[arg-type]
        assert isinstance(request, RematchRequest)
        return request.id or 0

    assert len(set(_race(database, ask))) == 1
    assert len(_events(database, "rematch_requested")) == 1
