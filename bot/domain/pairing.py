"""The matching round around the pure engine: pool, proposals, approval, re-matching."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.domain.availability import MatchingWeek, week_after
from bot.domain.enrollment import end_pair
from bot.domain.matching import MatchProfile, MatchResult, MatchWeights, compute_matches
from bot.domain.places import meeting_languages, office_of
from bot.domain.working_hours import working_hours
from bot.i18n import N_
from storage import repositories as repo
from storage.models import (
    Goal,
    MatchRun,
    MatchRunStatus,
    Pair,
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
REMOVED = "removed_by_admin"  # waiting-list reason and end_reason of a pair an admin removed


def weights_for(program: Program) -> MatchWeights:
    """Programme settings may override any weight: settings["matching_weights"][name] = int."""
    overrides = (program.settings or {}).get("matching_weights") or {}
    known = {f.name for f in fields(MatchWeights)}
    try:
        return MatchWeights(**{k: int(v) for k, v in overrides.items() if k in known})
    except (TypeError, ValueError):
        log.warning("ignoring invalid matching weights", extra={"program_id": program.id})
        return MatchWeights()


def profile_of(participant: Participant, program: Program, capacity: int) -> MatchProfile:
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
        timezone=participant.timezone,
        place=office_of(participant, program).name,
        languages=tuple(meeting_languages(participant)),
    )


def matching_week(program: Program) -> MatchingWeek:
    """Pairs are judged by next week's calendar (DST included) and the programme's hours."""
    return MatchingWeek(monday=week_after(utcnow().date()), working_hours=working_hours(program))


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


def _store_result(
    session: Session,
    program: Program,
    run: MatchRun,
    result: MatchResult,
    admin_id: str | None,
    keep_unmatched: Callable[[int], bool] = lambda _pid: True,
) -> list[Pair]:
    pairs = [
        Pair(
            program_id=program.id or 0,
            match_run_id=run.id,
            mentor_id=proposed.mentor_id,
            mentee_id=proposed.mentee_id,
            score=proposed.score,
            # The facts (place, language, hours, risks) follow the scored reasons.
            reasons=[
                {"code": r.code, "params": dict(r.params)}
                for r in (*proposed.reasons, *proposed.facts)
            ],
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
        if keep_unmatched(item.participant_id)
    ]
    run.total_score = result.total_score
    run.created_by = admin_id or run.created_by
    repo.save(session, run)
    return pairs


def _match(
    session: Session,
    program: Program,
    mentors: list[Participant],
    mentees: list[Participant],
    forbidden: set[frozenset[str]] | None = None,
) -> MatchResult:
    return compute_matches(
        [profile_of(m, program, program.mentor_capacity) for m in mentors],
        [profile_of(m, program, 1) for m in mentees],
        weights=weights_for(program),
        managers=reporting_lines(session),
        previous_pairs=repo.earlier_pairs(session) | (forbidden or set()),
        existing_load=repo.active_load(session, program.id or 0),
        week=matching_week(program),
    )


def reporting_lines(session: Session) -> dict[str, str | None]:
    """Person -> manager for matching's reporting-line exclusion (skip levels included): the
    roster's chain wins; what people named themselves fills in for anyone not on the roster
    (and stays an extra exclusion: see matching.is_excluded)."""
    return {**repo.manager_map(session), **repo.roster_managers(session)}


def _claim_open_run(session: Session, program: Program) -> MatchRun | None:
    """Locks the programme's open run, or (when there is none) its latest run, so that runs
    are opened one at a time: returns the open run, or None when a new one may be opened."""
    latest = repo.latest_match_run(session, program.id or 0)
    if latest is None:
        return None  # the very first run: the unique index on open runs guards it
    repo.lock(session, latest)
    if latest.status == MatchRunStatus.OPEN:
        return latest
    return repo.open_match_run(session, program.id or 0)


def _open_run(session: Session, program: Program, admin_id: str | None) -> MatchRun | None:
    """A new open run; None when another one was opened concurrently (one per programme)."""
    try:
        with session.begin_nested():
            return repo.save(session, MatchRun(program_id=program.id or 0, created_by=admin_id))
    except IntegrityError:
        return None


def propose(session: Session, program: Program, admin_id: str | None) -> Proposal:
    """(Re)computes the open proposal for everyone in the pool; approved pairs are untouched.

    Only an admin asks for this (opening the review, "Re-run"); newcomers never recompute an
    open proposal (see propose_for_newcomers).
    """
    run = _claim_open_run(session, program) or _open_run(session, program, admin_id)
    if run is None:  # a concurrent first run won the unique index on open runs
        run = _claim_open_run(session, program)
        assert run is not None
    repo.discard_proposed_pairs(session, reason="superseded", match_run_id=run.id)
    mentors, mentees = _pool(session, program)
    pairs = _store_result(
        session, program, run, _match(session, program, mentors, mentees), admin_id
    )
    return Proposal(run, pairs, {p.id or 0: p for p in mentors + mentees})


def _capacity_left(program: Program, load: dict[int, int], mentor: Participant) -> bool:
    return load.get(mentor.id or 0, 0) < program.mentor_capacity


def waiting_newcomers(session: Session, program: Program) -> list[Participant]:
    """Pool members the latest proposal has not seen: they joined (or came back) after it was
    computed and appear neither in its pairs nor in its waiting list."""
    run = repo.latest_match_run(session, program.id or 0)
    if run is None:
        return []
    seen = {int(item["participant_id"]) for item in run.waiting_list}
    for pair in repo.pairs_of_run(session, run.id or 0):
        seen.update((pair.mentor_id, pair.mentee_id))
    load = repo.active_load(session, program.id or 0)
    mentors, mentees = _pool(session, program)
    return [
        person
        for person in mentors + mentees
        if person.id not in seen
        and person.enrolled_at >= run.created_at
        and (person.role == Role.MENTEE or _capacity_left(program, load, person))
    ]


def propose_for_newcomers(
    session: Session, program: Program, admin_id: str | None = None
) -> Proposal | None:
    """A new, separate proposal of pairs that each involve a newcomer (see waiting_newcomers).

    Only once matching has begun, and never while a proposal is open: an admin may be reviewing
    it, and it must stay exactly what they see. Returns None when there is nothing to propose;
    the caller then tells nobody.
    """
    if repo.latest_match_run(session, program.id or 0) is None:
        return None  # matching has not begun: the first proposal is the admin's
    if _claim_open_run(session, program) is not None:
        return None
    newcomers = waiting_newcomers(session, program)
    if not newcomers:
        return None
    new_ids = {p.id for p in newcomers}
    mentors, mentees = _pool(session, program)
    new_mentors = [p for p in mentors if p.id in new_ids]
    new_mentees = [p for p in mentees if p.id in new_ids]
    forbidden: set[frozenset[str]] = set()
    if not new_mentors:
        mentees = new_mentees
    elif not new_mentees:
        mentors = new_mentors
    else:  # both kinds are new: pairs of two earlier pool members are not theirs to propose
        load = repo.active_load(session, program.id or 0)
        old_mentors = [
            m for m in mentors if m.id not in new_ids and _capacity_left(program, load, m)
        ]
        old_mentees = [m for m in mentees if m.id not in new_ids]
        forbidden = {
            frozenset((a.slack_user_id, b.slack_user_id)) for a in old_mentors for b in old_mentees
        }
    result = _match(session, program, mentors, mentees, forbidden)
    if not result.pairs:
        return None
    run = _open_run(session, program, admin_id)
    if run is None:
        return None
    pairs = _store_result(
        session, program, run, result, admin_id, keep_unmatched=lambda pid: pid in new_ids
    )
    return Proposal(run, pairs, {p.id or 0: p for p in mentors + mentees})


def propose_for_newcomer(session: Session, newcomer: Participant) -> int:
    """Someone joined: once matching has begun, suggest their pairs in a new proposal.

    Returns how many pairs that proposal holds (0: nothing proposed, e.g. a proposal is open;
    the newcomer is then suggested right after it is approved or closed).
    """
    program = session.get(Program, newcomer.program_id)
    if program is None:
        return 0
    proposal = propose_for_newcomers(session, program)
    return len(proposal.pairs) if proposal else 0


def load_proposal(session: Session, run_id: int) -> Proposal | None:
    run = session.get(MatchRun, run_id)
    if run is None:
        return None
    pairs = list(repo.proposed_pairs(session, run_id))
    ids = [p.mentor_id for p in pairs] + [p.mentee_id for p in pairs]
    ids += [int(item["participant_id"]) for item in run.waiting_list]
    return Proposal(run, pairs, repo.participants_by_ids(session, ids))


def remove_proposed(session: Session, run_id: int, pair_id: int, admin_id: str) -> bool:
    """Takes one pair out of an open proposal; False when it was not there (any more)."""
    run = session.get(MatchRun, run_id)
    pair = session.get(Pair, pair_id)
    if run is None or pair is None or pair.match_run_id != run_id:
        return False
    # The run first: removals and the approval of one proposal happen one at a time.
    if not repo.lock(session, run, MatchRunStatus.OPEN):
        return False
    if not repo.transition(
        session, pair, PairStatus.PROPOSED, status=PairStatus.DISCARDED, end_reason=REMOVED
    ):
        return False
    repo.add_pair_event(session, pair_id, "removed_from_proposal", admin_id)
    run.total_score -= pair.score
    run.waiting_list = [
        *run.waiting_list,
        *(
            {"participant_id": pid, "role": role, "reason": {"code": REMOVED, "params": {}}}
            for pid, role in ((pair.mentor_id, Role.MENTOR), (pair.mentee_id, Role.MENTEE))
        ),
    ]
    repo.save(session, run)
    return True


@dataclass(frozen=True)
class Approval:
    """What one approve() call did. Iterating it gives the pairs this call activated."""

    pairs: list[Pair]  # activated by this call: introduce exactly these
    closed: bool  # this call closed the run (False: already approved or closed by another)
    not_reviewed: int  # proposed pairs the admin never saw (a later re-run): discarded
    newcomers_waiting: bool  # newcomers arrived meanwhile: call propose_for_newcomers next

    def __iter__(self) -> Iterator[Pair]:
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)


def _activate(
    session: Session, pair: Pair, mentor: Participant, mentee: Participant, admin_id: str
) -> bool:
    """Both people are claimed before the pair: someone who left meanwhile is not paired."""
    if not repo.transition(
        session, mentee, ParticipantStatus.WAITING, status=ParticipantStatus.PAIRED
    ):
        return False
    if not repo.transition(session, mentor, POOL_STATUSES, status=ParticipantStatus.PAIRED):
        repo.transition(session, mentee, ParticipantStatus.PAIRED, status=ParticipantStatus.WAITING)
        return False
    if not repo.transition(
        session,
        pair,
        PairStatus.PROPOSED,
        status=PairStatus.ACTIVE,
        approved_at=utcnow(),
        approved_by=admin_id,
    ):
        raise RuntimeError("a proposed pair changed while its run was locked")
    repo.add_pair_event(session, pair.id or 0, "approved", admin_id, score=pair.score)
    return True


def approve(
    session: Session, run_id: int, admin_id: str, reviewed_pair_ids: Iterable[int] | None = None
) -> Approval:
    """Activates exactly the reviewed pairs still proposed in the run and still valid; every
    other pair of the run is discarded and the run closed. Of concurrent approvals one wins;
    the others get an Approval with closed=False and no pairs.

    `reviewed_pair_ids`: the pair ids the admin's review showed. None means "whatever the run
    proposes now" (kept for callers that do not pass them yet; a re-run by another admin
    could then slip in pairs this admin never saw).
    """
    nothing = Approval([], closed=False, not_reviewed=0, newcomers_waiting=False)
    run = session.get(MatchRun, run_id)
    if run is None or not repo.transition(
        session, run, MatchRunStatus.OPEN, status=MatchRunStatus.CLOSED, closed_at=utcnow()
    ):
        return nothing
    program = session.get(Program, run.program_id)
    assert program is not None
    proposed = [p for p in repo.pairs_of_run(session, run_id) if p.status == PairStatus.PROPOSED]
    reviewed = {p.id for p in proposed} if reviewed_pair_ids is None else set(reviewed_pair_ids)
    load = repo.active_load(session, run.program_id)
    people = repo.fresh_participants(
        session, [p.mentor_id for p in proposed] + [p.mentee_id for p in proposed]
    )
    activated: list[Pair] = []
    for pair in proposed:
        if pair.id not in reviewed:
            continue
        mentor, mentee = people.get(pair.mentor_id), people.get(pair.mentee_id)
        if (
            mentor is None
            or mentee is None
            or not _capacity_left(program, load, mentor)
            or not _activate(session, pair, mentor, mentee, admin_id)
        ):
            continue
        load[pair.mentor_id] = load.get(pair.mentor_id, 0) + 1
        activated.append(pair)
    not_reviewed = sum(1 for p in proposed if p.id not in reviewed)
    repo.discard_proposed_pairs(session, reason="not_approved", match_run_id=run_id)
    session.flush()
    return Approval(
        activated,
        closed=True,
        not_reviewed=not_reviewed,
        newcomers_waiting=bool(waiting_newcomers(session, program)),
    )


def close_run(session: Session, run_id: int) -> bool:
    """The admin dismissed the review without approving: the proposal is dropped, so waiting
    newcomers can be proposed (call propose_for_newcomers when this returns True)."""
    run = session.get(MatchRun, run_id)
    if run is None or not repo.transition(
        session, run, MatchRunStatus.OPEN, status=MatchRunStatus.CLOSED, closed_at=utcnow()
    ):
        return False
    repo.discard_proposed_pairs(session, reason="not_approved", match_run_id=run_id)
    program = session.get(Program, run.program_id)
    return program is not None and bool(waiting_newcomers(session, program))


def pair_of_member(session: Session, pair_id: int, user_id: str) -> Pair | None:
    """The active pair, only when `user_id` is one of its two members."""
    pair = session.get(Pair, pair_id)
    if pair is None or pair.status != PairStatus.ACTIVE:
        return None
    members = repo.participants_by_ids(session, [pair.mentor_id, pair.mentee_id])
    return pair if user_id in {p.slack_user_id for p in members.values()} else None


def partner_in(session: Session, pair: Pair, participant: Participant) -> Participant | None:
    """The other member of the pair."""
    other = pair.mentee_id if pair.mentor_id == participant.id else pair.mentor_id
    return repo.participants_by_ids(session, [other]).get(other)


# Goals ----------------------------------------------------------------------------------------

MIN_PAIR_GOALS = 1
MAX_PAIR_GOALS = 3
MAX_GOAL_TITLE = 300
MAX_GOAL_MEASURE = 500


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


def _clean(text: str) -> str:
    return text.replace("\x00", "").strip()


def validate_pair_goals(
    entries: Sequence[tuple[str, str]], targets: Sequence[date | None] = ()
) -> dict[str, str]:
    """Field (goal_1.., measure_1.., target_1..) -> English message; empty when valid.

    `entries` are the modal's (title, measure) rows in order and `targets` their target dates
    by position; a pair has 1-3 goals. The first goal, all of whose fields the form requires,
    needs a measure and a target date; the further goals are optional, each of their fields
    too, so a second goal may come without a measure or a date (whether a date lies ahead is
    journey.validate_goal_targets).
    """
    errors: dict[str, str] = {}
    titled = 0
    for index, (title, measure) in enumerate(entries, start=1):
        title, measure = _clean(title), _clean(measure)
        target = targets[index - 1] if index <= len(targets) else None
        if title:
            titled += 1
        if index == 1 and title:
            if not measure:
                errors[f"measure_{index}"] = N_("Say how you'll know you got there.")
            if target is None:
                errors[f"target_{index}"] = N_("Pick a target date for this goal.")
        if len(title) > MAX_GOAL_TITLE:
            errors[f"goal_{index}"] = N_("Keep this under 300 characters.")
        elif measure and not title:
            errors[f"goal_{index}"] = N_("Add the goal this measure belongs to, or clear it.")
        elif target is not None and not title:
            errors[f"goal_{index}"] = N_("Add the goal this date belongs to, or clear it.")
        if len(measure) > MAX_GOAL_MEASURE:
            errors[f"measure_{index}"] = N_("Keep this under 500 characters.")
    if titled < MIN_PAIR_GOALS:
        errors.setdefault("goal_1", N_("Add at least one goal."))
    elif titled > MAX_PAIR_GOALS:
        errors.setdefault("goal_1", N_("Three goals at most."))
    return errors


def set_goals(
    session: Session,
    pair: Pair,
    entries: Sequence[tuple[str, str]],
    user_id: str,
    targets: Sequence[date | None] = (),
) -> list[Goal]:
    """Replaces the pair's goals with the submitted ones (validate_pair_goals first).

    `targets`: each entry's target date, by position. A goal whose title is
    unchanged keeps its row (and progress). Submits for one pair run one at a time, so
    concurrent submits still leave 1-3 goals. Returns [] when the pair is no longer active.
    """
    wanted = [
        (
            _clean(t)[:MAX_GOAL_TITLE],
            _clean(m)[:MAX_GOAL_MEASURE],
            targets[index] if index < len(targets) else None,
        )
        for index, (t, m) in enumerate(entries)
        if _clean(t)
    ]
    if not MIN_PAIR_GOALS <= len(wanted) <= MAX_PAIR_GOALS:
        raise ValueError("a pair has 1 to 3 goals: call validate_pair_goals first")
    if not repo.lock(session, pair, PairStatus.ACTIVE):
        return []
    existing = {goal.title.casefold(): goal for goal in repo.goals_of_pair(session, pair.id or 0)}
    now = utcnow()
    rows: list[Goal] = []
    for title, measure, target in wanted:
        goal = existing.pop(title.casefold(), None)
        if goal is None:
            goal = Goal(pair_id=pair.id or 0, title=title, created_by=user_id)
        goal.title, goal.measure, goal.updated_at = title, measure or None, now
        goal.target_date = target
        rows.append(goal)
    for stale in existing.values():
        session.delete(stale)
    session.add_all(rows)
    session.flush()
    return rows


def add_goals(
    session: Session, pair: Pair, goals: list[tuple[str, str]], user_id: str
) -> list[Goal]:
    """Former name of set_goals (it appended; now every submit replaces)."""
    return set_goals(session, pair, goals, user_id)


# Re-matching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhichPair:
    """The person has several active pairs and did not say which: ask them."""

    options: list[tuple[Pair, Participant]]  # (pair, partner), oldest pair first


def request_rematch(
    session: Session, participant: Participant, reason: str | None, pair_id: int | None = None
) -> RematchRequest | WhichPair | None:
    """Records a private request on one of the person's active pairs (one open per person
    and pair; a repeat returns the open one).

    `pair_id` picks the pair; without it a single active pair is taken, several give
    WhichPair. None: no active pair, or `pair_id` is not one of theirs (or no longer active).
    """
    active = list(repo.pairs_of(session, participant.id or 0, [PairStatus.ACTIVE]))
    if pair_id is not None:
        active = [p for p in active if p.id == pair_id]
    if not active:
        return None
    if len(active) > 1:
        options = [(p, partner_in(session, p, participant)) for p in active]
        return WhichPair([(p, other) for p, other in options if other is not None])
    pair = active[0]
    if not repo.lock(session, pair, PairStatus.ACTIVE):  # one request at a time per pair
        return None
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
    """The admin's answer to a request. Of concurrent answers only one gets an outcome; the
    others (and an "end" for a pair that already ended) get None: tell nobody anything."""
    request = session.get(RematchRequest, request_id)
    if request is None:
        return None
    pair = session.get(Pair, request.pair_id)
    assert pair is not None
    repo.lock(session, pair)  # answers about one pair happen one at a time
    now = utcnow()
    status = "resolved" if end else "declined"
    if not repo.transition(
        session, request, "open", status=status, resolved_at=now, resolved_by=admin_id
    ):
        return None
    ended = end and end_pair(session, pair, reason="rematch", actor=admin_id) is not None
    repo.close_open_rematch_requests(session, pair.id or 0, status, admin_id, now)
    if end and not ended:
        return None
    people = repo.participants_by_ids(session, [pair.mentor_id, pair.mentee_id])
    requester = people[request.requested_by]
    partner = people[pair.mentee_id if request.requested_by == pair.mentor_id else pair.mentor_id]
    return RematchOutcome(request, ended, requester, partner)


def waiting_reason_params(item: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    reason = item.get("reason") or {}
    return str(reason.get("code", "")), dict(reason.get("params") or {})
