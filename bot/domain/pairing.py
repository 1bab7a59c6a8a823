"""The matching round around the pure engine: pool, proposals, approval, re-matching."""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Any

from sqlmodel import Session

from bot.domain.enrollment import end_pair
from bot.domain.matching import MatchProfile, MatchWeights, compute_matches
from bot.i18n import N_
from storage import repositories as repo
from storage.models import (
    Goal,
    MatchRun,
    MatchRunStatus,
    Pair,
    PairEvent,
    PairStatus,
    Participant,
    ParticipantStatus,
    Program,
    RematchRequest,
    Role,
    utcnow,
)

log = logging.getLogger(__name__)
POOL_STATUSES = (ParticipantStatus.WAITING, ParticipantStatus.PAIRED)


def weights_for(program: Program) -> MatchWeights:
    """Programme settings may override any weight: settings["matching_weights"][name] = int."""
    overrides = (program.settings or {}).get("matching_weights") or {}
    known = {f.name for f in fields(MatchWeights)}
    try:
        return MatchWeights(**{k: int(v) for k, v in overrides.items() if k in known})
    except (TypeError, ValueError):
        log.warning("ignoring invalid matching weights", extra={"program_id": program.id})
        return MatchWeights()


def profile_of(participant: Participant, capacity: int) -> MatchProfile:
    return MatchProfile(
        participant_id=participant.id or 0,
        user_id=participant.slack_user_id,
        role=participant.role,
        department=(participant.department or "").strip().lower(),
        topics_offered=frozenset(participant.topics_offered),
        topics_wanted=frozenset(participant.topics_wanted),
        development_areas=frozenset(participant.development_areas),
        meeting_frequency=participant.meeting_frequency,
        meeting_format=participant.meeting_format,
        available_days=frozenset(participant.available_days),
        time_of_day=participant.time_of_day,
        utc_offset_minutes=participant.utc_offset_minutes,
        manager_user_id=participant.manager_slack_id,
        avoid_user_ids=frozenset(participant.avoid_slack_ids),
        capacity=capacity if participant.role == Role.MENTOR else 1,
    )


@dataclass(frozen=True)
class Proposal:
    run: MatchRun
    pairs: list[Pair]
    people: dict[int, Participant]


def _pool(session: Session, program: Program) -> tuple[list[Participant], list[Participant]]:
    people = repo.participants(session, program.id or 0, POOL_STATUSES)
    mentors = [p for p in people if p.role == Role.MENTOR]
    mentees = [p for p in people if p.role == Role.MENTEE and p.status == ParticipantStatus.WAITING]
    return mentors, mentees


def propose(session: Session, program: Program, admin_id: str | None) -> Proposal:
    """(Re)computes the open proposal for everyone in the pool; approved pairs are untouched."""
    run = repo.open_match_run(session, program.id or 0)
    if run is None:
        run = repo.save(session, MatchRun(program_id=program.id or 0, created_by=admin_id))
    for stale in repo.proposed_pairs(session, run.id or 0):
        stale.status = PairStatus.DISCARDED
        repo.save(session, stale)
    mentors, mentees = _pool(session, program)
    result = compute_matches(
        [profile_of(m, program.mentor_capacity) for m in mentors],
        [profile_of(m, 1) for m in mentees],
        weights=weights_for(program),
        managers=repo.manager_map(session),
        previous_pairs=repo.earlier_pairs(session),
        existing_load=repo.active_load(session, program.id or 0),
    )
    pairs = [
        Pair(
            program_id=program.id or 0,
            match_run_id=run.id,
            mentor_id=proposed.mentor_id,
            mentee_id=proposed.mentee_id,
            score=proposed.score,
            reasons=[{"code": r.code, "params": dict(r.params)} for r in proposed.reasons],
        )
        for proposed in result.pairs
    ]
    session.add_all(pairs)
    session.flush()
    run.waiting_list = [
        {
            "participant_id": item.participant_id,
            "role": item.role,
            "reason": {"code": item.reason.code, "params": dict(item.reason.params)},
        }
        for item in result.unmatched
    ]
    run.total_score = result.total_score
    run.created_by = admin_id or run.created_by
    repo.save(session, run)
    return Proposal(run, pairs, {p.id or 0: p for p in mentors + mentees})


def propose_for_newcomer(session: Session, newcomer: Participant) -> int:
    """Once matching has begun, a newcomer re-opens the proposal if they fit someone waiting.

    Returns how many pairs the refreshed proposal holds (0 when the newcomer fits nobody).
    """
    program = session.get(Program, newcomer.program_id)
    if program is None or not repo.pairs(session, program.id or 0, [PairStatus.ACTIVE]):
        return 0
    proposal = propose(session, program, None)
    involved = any(newcomer.id in (p.mentor_id, p.mentee_id) for p in proposal.pairs)
    return len(proposal.pairs) if involved else 0


def load_proposal(session: Session, run_id: int) -> Proposal | None:
    run = session.get(MatchRun, run_id)
    if run is None:
        return None
    pairs = list(repo.proposed_pairs(session, run_id))
    ids = [p.mentor_id for p in pairs] + [p.mentee_id for p in pairs]
    ids += [int(item["participant_id"]) for item in run.waiting_list]
    return Proposal(run, pairs, repo.participants_by_ids(session, ids))


def remove_proposed(session: Session, run_id: int, pair_id: int, admin_id: str) -> bool:
    pair = session.get(Pair, pair_id)
    if pair is None or pair.match_run_id != run_id or pair.status != PairStatus.PROPOSED:
        return False
    pair.status = PairStatus.DISCARDED
    repo.save(session, pair)
    repo.add_pair_event(session, pair_id, "removed_from_proposal", admin_id)
    run = session.get(MatchRun, run_id)
    if run is not None:
        run.total_score -= pair.score
        run.waiting_list = [
            *run.waiting_list,
            *(
                {
                    "participant_id": pid,
                    "role": role,
                    "reason": {"code": "removed_by_admin", "params": {}},
                }
                for pid, role in ((pair.mentor_id, Role.MENTOR), (pair.mentee_id, Role.MENTEE))
            ),
        ]
        repo.save(session, run)
    return True


def approve(session: Session, run_id: int, admin_id: str) -> list[Pair]:
    """Activates the run's proposed pairs that are still valid; closes the run."""
    run = session.get(MatchRun, run_id)
    if run is None or run.status != MatchRunStatus.OPEN:
        return []
    program = session.get(Program, run.program_id)
    assert program is not None
    load = repo.active_load(session, run.program_id)
    proposed = repo.proposed_pairs(session, run_id)
    people = repo.participants_by_ids(
        session, [p.mentor_id for p in proposed] + [p.mentee_id for p in proposed]
    )
    approved: list[Pair] = []
    for pair in proposed:
        mentor, mentee = people.get(pair.mentor_id), people.get(pair.mentee_id)
        still_valid = (
            mentor is not None
            and mentee is not None
            and mentor.status in POOL_STATUSES
            and mentee.status == ParticipantStatus.WAITING
            and load.get(pair.mentor_id, 0) < program.mentor_capacity
        )
        if not still_valid:
            pair.status = PairStatus.DISCARDED
            session.add(pair)
            continue
        assert mentor is not None and mentee is not None
        pair.status = PairStatus.ACTIVE
        pair.approved_at = utcnow()
        pair.approved_by = admin_id
        load[pair.mentor_id] = load.get(pair.mentor_id, 0) + 1
        mentor.status = mentee.status = ParticipantStatus.PAIRED
        session.add_all([mentor, mentee, pair])
        session.add(
            PairEvent(
                pair_id=pair.id or 0,
                kind="approved",
                actor_slack_id=admin_id,
                detail={"score": pair.score},
            )
        )
        approved.append(pair)
    session.flush()
    run.status = MatchRunStatus.CLOSED
    run.closed_at = utcnow()
    repo.save(session, run)
    return approved


def pair_of_member(session: Session, pair_id: int, user_id: str) -> Pair | None:
    """The active pair, only when `user_id` is one of its two members."""
    pair = session.get(Pair, pair_id)
    if pair is None or pair.status != PairStatus.ACTIVE:
        return None
    members = repo.participants_by_ids(session, [pair.mentor_id, pair.mentee_id])
    return pair if user_id in {p.slack_user_id for p in members.values()} else None


MAX_PAIR_GOALS = 3


def intro_languages(mentor: Participant, mentee: Participant) -> list[str]:
    """One language when both read it; otherwise both, the mentor's first."""
    return list(dict.fromkeys([mentor.locale, mentee.locale]))


def record_introduction(session: Session, pair_id: int, conversation_id: str) -> None:
    """The intro was posted: its group DM is the pair's conversation from now on."""
    pair = session.get(Pair, pair_id)
    if pair is None:
        return
    pair.conversation_id = conversation_id
    pair.introduced_at = utcnow()
    session.add(pair)
    repo.add_pair_event(session, pair_id, "introduced", None)


def pair_goal_entries(entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (title, measure) entries that name a goal; entries without a title are dropped."""
    return [(title, measure) for title, measure in entries if title.strip()]


def validate_pair_goals(entries: list[tuple[str, str]]) -> str | None:
    """A pair sets one to three goals: an English message when the entries break that rule."""
    goals = pair_goal_entries(entries)
    if not goals:
        return N_("Add at least one goal.")
    if len(goals) > MAX_PAIR_GOALS:
        return N_("Three goals at most: clear goals beat many goals.")
    return None


def add_goals(
    session: Session, pair: Pair, goals: list[tuple[str, str]], user_id: str
) -> list[Goal]:
    """Records the pair's goals (title, how it is measured); empty titles are skipped."""
    rows = [
        Goal(
            pair_id=pair.id or 0,
            title=title.strip()[:300],
            measure=measure.strip()[:500] or None,
            created_by=user_id,
        )
        for title, measure in pair_goal_entries(goals)[:MAX_PAIR_GOALS]
    ]
    session.add_all(rows)
    session.flush()
    return rows


def request_rematch(
    session: Session, participant: Participant, reason: str | None
) -> RematchRequest | None:
    """Records a private request on the person's active pair (one open request per pair)."""
    active = repo.pairs_of(session, participant.id or 0, [PairStatus.ACTIVE])
    if not active:
        return None
    pair = active[0]
    existing = [
        r
        for r in repo.open_rematch_requests(session, pair.id or 0)
        if r.requested_by == participant.id
    ]
    if existing:
        return existing[0]
    request = repo.save(
        session,
        RematchRequest(
            pair_id=pair.id or 0,
            requested_by=participant.id or 0,
            reason=(reason or "").strip()[:1000] or None,
        ),
    )
    repo.add_pair_event(session, pair.id or 0, "rematch_requested", None)
    return request


@dataclass(frozen=True)
class RematchOutcome:
    request: RematchRequest
    ended: bool
    requester: Participant
    partner: Participant


def resolve_rematch(
    session: Session, request_id: int, admin_id: str, *, end: bool
) -> RematchOutcome | None:
    request = session.get(RematchRequest, request_id)
    if request is None or request.status != "open":
        return None
    pair = session.get(Pair, request.pair_id)
    assert pair is not None
    people = repo.participants_by_ids(session, [pair.mentor_id, pair.mentee_id])
    requester = people[request.requested_by]
    partner = people[pair.mentee_id if request.requested_by == pair.mentor_id else pair.mentor_id]
    ended = False
    if end and pair.status == PairStatus.ACTIVE:
        end_pair(session, pair, reason="rematch", actor=admin_id)
        ended = True
    for open_request in repo.open_rematch_requests(session, pair.id or 0):
        open_request.status = "resolved" if end else "declined"
        open_request.resolved_at = utcnow()
        open_request.resolved_by = admin_id
        repo.save(session, open_request)
    return RematchOutcome(request, ended, requester, partner)


def waiting_reason_params(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    reason = item.get("reason") or {}
    return str(reason.get("code", "")), dict(reason.get("params") or {})
