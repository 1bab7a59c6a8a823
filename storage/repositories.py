"""The small set of queries the app runs, over SQLModel sessions (no Slack in here)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    String,
    and_,
    case,
    delete,
    distinct,
    func,
    literal,
    or_,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, col, select

from storage.models import (
    Certificate,
    CheckInCycle,
    CheckInRequest,
    CheckInRequestStatus,
    Goal,
    GoalStatus,
    MatchRun,
    MatchRunStatus,
    Milestone,
    OutboxMessage,
    OutboxStatus,
    Pair,
    PairEvent,
    PairStatus,
    Participant,
    ParticipantStatus,
    ProcessedEvent,
    Program,
    ProgramStatus,
    PulseParticipation,
    PulseRound,
    PulseTally,
    PulseText,
    RematchRequest,
    RematchStatus,
    Role,
    ShoutOut,
    ShoutOutStatus,
    StoryStatus,
    SuccessStory,
)

M = TypeVar("M", bound=SQLModel)
# A check-in the person answered (a meeting, "not yet" or a snoozed month).
ANSWERED_CHECKINS = (
    CheckInRequestStatus.MET,
    CheckInRequestStatus.NOT_YET,
    CheckInRequestStatus.SNOOZED,
)


def save(session: Session, row: M) -> M:
    session.add(row)
    session.flush()
    return row


# Programmes ---------------------------------------------------------------------------------


def active_program(session: Session) -> Program | None:
    return session.exec(
        select(Program)
        .where(Program.status == ProgramStatus.ACTIVE)
        .order_by(col(Program.id).desc())
    ).first()


# Participants -------------------------------------------------------------------------------


def participant_by_user(session: Session, program_id: int, user_id: str) -> Participant | None:
    return session.exec(
        select(Participant).where(
            Participant.program_id == program_id, Participant.slack_user_id == user_id
        )
    ).first()


def participants(
    session: Session, program_id: int, statuses: Iterable[str] | None = None
) -> Sequence[Participant]:
    query = select(Participant).where(Participant.program_id == program_id)
    if statuses is not None:
        query = query.where(col(Participant.status).in_(list(statuses)))
    return session.exec(query.order_by(col(Participant.id))).all()


def current_participant(
    session: Session, user_id: str
) -> tuple[Program | None, Participant | None]:
    """The active programme and the person's enrollment in it (either may be None)."""
    program = active_program(session)
    if program is None:
        return None, None
    return program, participant_by_user(session, program.id or 0, user_id)


def participations_of_user(session: Session, user_id: str) -> Sequence[Participant]:
    """The person's enrollments across programmes, oldest first."""
    return session.exec(
        select(Participant)
        .where(Participant.slack_user_id == user_id)
        .order_by(col(Participant.id))
    ).all()


def participants_by_ids(session: Session, ids: Iterable[int]) -> dict[int, Participant]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.exec(select(Participant).where(col(Participant.id).in_(wanted))).all()
    return {row.id: row for row in rows if row.id is not None}


def manager_map(session: Session) -> dict[str, str | None]:
    """Everyone's named manager across programmes (reporting lines outlive a cohort)."""
    rows = session.exec(
        select(Participant.slack_user_id, Participant.manager_slack_id).order_by(
            col(Participant.id)
        )
    ).all()
    return {user: manager for user, manager in rows if manager}


# Pairs --------------------------------------------------------------------------------------


def pairs(
    session: Session, program_id: int, statuses: Iterable[str] | None = None
) -> Sequence[Pair]:
    query = select(Pair).where(Pair.program_id == program_id)
    if statuses is not None:
        query = query.where(col(Pair.status).in_(list(statuses)))
    return session.exec(query.order_by(col(Pair.id))).all()


def pairs_of(
    session: Session, participant_id: int, statuses: Iterable[str] | None = None
) -> Sequence[Pair]:
    query = select(Pair).where(
        or_(Pair.mentor_id == participant_id, Pair.mentee_id == participant_id)
    )
    if statuses is not None:
        query = query.where(col(Pair.status).in_(list(statuses)))
    return session.exec(query.order_by(col(Pair.id))).all()


def active_partners(session: Session, participant: Participant) -> list[Participant]:
    """The people the participant is actively paired with."""
    active = pairs_of(session, participant.id or 0, [PairStatus.ACTIVE])
    others = [p.mentee_id if p.mentor_id == participant.id else p.mentor_id for p in active]
    people = participants_by_ids(session, others)
    return [people[other] for other in others if other in people]


def active_load(session: Session, program_id: int) -> dict[int, int]:
    """Mentor participant id -> number of active pairs."""
    rows = session.exec(
        select(Pair.mentor_id, func.count())
        .where(Pair.program_id == program_id, Pair.status == PairStatus.ACTIVE)
        .group_by(Pair.mentor_id)
    ).all()
    return {mentor_id: count for mentor_id, count in rows}


def earlier_pairs(session: Session) -> set[frozenset[str]]:
    """Slack user ids of every pair that was ever introduced, in any programme."""
    mentor = Participant.__table__.alias("mentor")  # type: ignore[attr-defined]
    mentee = Participant.__table__.alias("mentee")  # type: ignore[attr-defined]
    rows = session.execute(
        select(mentor.c.slack_user_id, mentee.c.slack_user_id)
        .select_from(Pair)
        .join(mentor, mentor.c.id == Pair.mentor_id)
        .join(mentee, mentee.c.id == Pair.mentee_id)
        .where(col(Pair.status).in_([PairStatus.ACTIVE, PairStatus.ENDED]))
    ).all()
    return {frozenset(row) for row in rows}


def add_pair_event(
    session: Session, pair_id: int, kind: str, actor: str | None = None, **detail: object
) -> PairEvent:
    return save(session, PairEvent(pair_id=pair_id, kind=kind, actor_slack_id=actor, detail=detail))


def pair_events(session: Session, pair_id: int) -> Sequence[PairEvent]:
    return session.exec(
        select(PairEvent).where(PairEvent.pair_id == pair_id).order_by(col(PairEvent.id))
    ).all()


# Match runs ---------------------------------------------------------------------------------


def open_match_run(session: Session, program_id: int) -> MatchRun | None:
    return session.exec(
        select(MatchRun)
        .where(MatchRun.program_id == program_id, MatchRun.status == MatchRunStatus.OPEN)
        .order_by(col(MatchRun.id).desc())
    ).first()


def proposed_pairs(session: Session, match_run_id: int) -> Sequence[Pair]:
    return session.exec(
        select(Pair)
        .where(Pair.match_run_id == match_run_id, Pair.status == PairStatus.PROPOSED)
        .order_by(col(Pair.id))
    ).all()


# Rematch, goals, responses, shout-outs (for a person's data export) -------------------------


def open_rematch_requests(session: Session, pair_id: int) -> Sequence[RematchRequest]:
    return session.exec(
        select(RematchRequest).where(
            RematchRequest.pair_id == pair_id, RematchRequest.status == RematchStatus.OPEN
        )
    ).all()


def rematch_requests_by(session: Session, participant_id: int) -> Sequence[RematchRequest]:
    return session.exec(
        select(RematchRequest).where(RematchRequest.requested_by == participant_id)
    ).all()


def goals_of_pairs(session: Session, pair_ids: Iterable[int]) -> Sequence[Goal]:
    ids = list(pair_ids)
    if not ids:
        return []
    return session.exec(select(Goal).where(col(Goal.pair_id).in_(ids)).order_by(col(Goal.id))).all()


def checkins_of(session: Session, participant_id: int) -> Sequence[CheckInRequest]:
    """The person's check-ins (one per pair and cycle), oldest first."""
    return session.exec(
        select(CheckInRequest)
        .where(CheckInRequest.participant_id == participant_id)
        .order_by(col(CheckInRequest.id))
    ).all()


def shoutouts_mentioning(session: Session, program_id: int, user_id: str) -> list[ShoutOut]:
    rows = session.exec(select(ShoutOut).where(ShoutOut.program_id == program_id)).all()
    return [row for row in rows if user_id in row.recipient_slack_ids]


def forget_user(session: Session, user_id: str) -> None:
    """Removes a Slack user id from every record outside their participant row.

    Delivered or pending messages that name the person (introductions quote goals) are
    deleted: their only remaining purpose was the exactly-once ledger.
    """
    for goal in session.exec(select(Goal).where(Goal.created_by == user_id)).all():
        goal.created_by = None
        session.add(goal)
    for event in session.exec(select(PairEvent).where(PairEvent.actor_slack_id == user_id)):
        event.actor_slack_id = None
        session.add(event)
    for shoutout in session.exec(select(ShoutOut)).all():
        if user_id in shoutout.recipient_slack_ids or shoutout.author_slack_id == user_id:
            shoutout.recipient_slack_ids = [r for r in shoutout.recipient_slack_ids if r != user_id]
            if shoutout.author_slack_id == user_id:
                shoutout.author_slack_id = "erased"
            session.add(shoutout)
    mentions = or_(
        col(OutboxMessage.recipient).contains(user_id),
        func.cast(OutboxMessage.payload, String).contains(user_id),
    )
    for message in session.exec(select(OutboxMessage).where(mentions)).all():
        session.delete(message)
    # What they wrote in check-ins (the meeting stays counted, their words go).
    mine = select(Participant.id).where(Participant.slack_user_id == user_id)
    for answer in session.exec(
        select(CheckInRequest).where(col(CheckInRequest.participant_id).in_(mine))
    ):
        answer.topics_covered = answer.learned = answer.taught = answer.notes = None
        session.add(answer)
    for request in session.exec(
        select(RematchRequest).where(RematchRequest.resolved_by == user_id)
    ):
        request.resolved_by = None
        session.add(request)
    forget_recognition(session, user_id)
    session.flush()


def count_by_status(session: Session, program_id: int) -> dict[str, int]:
    rows = session.exec(
        select(Participant.status, func.count())
        .where(Participant.program_id == program_id)
        .group_by(Participant.status)
    ).all()
    return {status: count for status, count in rows}


# Topics -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicCounts:
    offered: int = 0  # mentors offering the topic
    wanted: int = 0  # mentees wanting it most
    development: int = 0  # mentees with it as a development area
    demand: int = 0  # mentees wanting it either way, each counted once


def _array_elements(session: Session, column: Any) -> Any:
    """The elements of a JSON array column as rows with one text column, `value`."""
    if session.get_bind().dialect.name == "postgresql":
        return func.jsonb_array_elements_text(column).table_valued("value")
    return func.json_each(column).table_valued("value")


def topic_demand_supply(
    session: Session,
    program_id: int,
    statuses: Iterable[str] = (ParticipantStatus.WAITING, ParticipantStatus.PAIRED),
) -> dict[str, TopicCounts]:
    """Topic id -> who offers and wants it among the programme's participants, counted in SQL."""
    chosen = []
    for kind, column in (
        ("offered", Participant.topics_offered),
        ("wanted", Participant.topics_wanted),
        ("development", Participant.development_areas),
    ):
        elements = _array_elements(session, column)
        chosen.append(
            select(
                col(Participant.id).label("participant_id"),
                col(Participant.role).label("role"),
                literal(kind).label("kind"),
                elements.c.value.label("topic"),
            )
            .select_from(Participant)
            .join(elements, true())
            .where(
                Participant.program_id == program_id,
                col(Participant.status).in_(list(statuses)),
            )
        )
    rows = union_all(*chosen).subquery()

    def people(condition: Any) -> Any:
        return func.count(distinct(case((condition, rows.c.participant_id))))

    mentee = rows.c.role == Role.MENTEE
    query = select(
        rows.c.topic,
        people(and_(rows.c.role == Role.MENTOR, rows.c.kind == "offered")),
        people(and_(mentee, rows.c.kind == "wanted")),
        people(and_(mentee, rows.c.kind == "development")),
        people(and_(mentee, rows.c.kind.in_(["wanted", "development"]))),
    ).group_by(rows.c.topic)
    return {
        topic: TopicCounts(offered, wanted, development, demand)
        for topic, offered, wanted, development, demand in session.execute(query).all()
    }


# Guarded transitions ------------------------------------------------------------------------
# A state change is one conditional UPDATE on the current state: of two concurrent clicks only
# one matches the row, the other updates nothing and sees the outcome. On PostgreSQL the second
# UPDATE waits for the first to commit and re-checks the condition; on SQLite writers serialise
# at their first write (busy_timeout), so reads that follow it are current.


def _statuses(expected: str | Iterable[str]) -> list[str]:
    return [expected] if isinstance(expected, str) else list(expected)


def transition(
    session: Session, row: SQLModel, expected: str | Iterable[str], **values: object
) -> bool:
    """UPDATE row SET values WHERE id = row.id AND status IN expected.

    True when this call made the change (the object then carries the new values); False when
    the row was not in an expected state (the object is re-read, so the caller sees why).
    """
    if row not in session:
        session.add(row)  # a row loaded by an earlier session: re-attach it
    model: Any = type(row)
    statement = (
        update(model)
        .where(col(model.id) == row.id, col(model.status).in_(_statuses(expected)))  # type: ignore[attr-defined]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if session.exec(statement).rowcount == 1:
        for key, value in values.items():
            set_committed_value(row, key, value)
        return True
    session.refresh(row)
    return False


def lock(session: Session, row: SQLModel, expected: str | Iterable[str] | None = None) -> bool:
    """Serialises work on one row: a no-op UPDATE takes its row lock (PostgreSQL) or the write
    lock (SQLite) until commit; then the row is re-read. False when it is not in `expected`."""
    if row not in session:
        session.add(row)
    model: Any = type(row)
    statement = update(model).where(col(model.id) == row.id)  # type: ignore[attr-defined]
    if expected is not None:
        statement = statement.where(col(model.status).in_(_statuses(expected)))
    statement = statement.values(status=model.status).execution_options(synchronize_session=False)
    matched = session.exec(statement).rowcount == 1
    session.refresh(row)
    return matched


def discard_proposed_pairs(
    session: Session,
    *,
    reason: str,
    match_run_id: int | None = None,
    participant_id: int | None = None,
) -> int:
    """PROPOSED -> DISCARDED for a run's or a person's proposed pairs; returns how many."""
    statement = update(Pair).where(Pair.status == PairStatus.PROPOSED)
    if match_run_id is not None:
        statement = statement.where(Pair.match_run_id == match_run_id)
    if participant_id is not None:
        statement = statement.where(
            or_(Pair.mentor_id == participant_id, Pair.mentee_id == participant_id)
        )
    statement = statement.values(status=PairStatus.DISCARDED, end_reason=reason)
    return session.exec(statement.execution_options(synchronize_session="fetch")).rowcount


def close_open_rematch_requests(
    session: Session, pair_id: int, status: str, admin_id: str | None, when: datetime
) -> int:
    """Every still-open request on the pair gets the admin's answer; returns how many."""
    statement = (
        update(RematchRequest)
        .where(RematchRequest.pair_id == pair_id, RematchRequest.status == "open")
        .values(status=status, resolved_at=when, resolved_by=admin_id)
        .execution_options(synchronize_session="fetch")
    )
    return session.exec(statement).rowcount


# Match runs, goals (queries for the guarded pairing rules) ---------------------------------


def latest_match_run(session: Session, program_id: int) -> MatchRun | None:
    return session.exec(
        select(MatchRun).where(MatchRun.program_id == program_id).order_by(col(MatchRun.id).desc())
    ).first()


def pairs_of_run(session: Session, match_run_id: int) -> Sequence[Pair]:
    """Every pair the run ever proposed, whatever became of it (fresh from the database)."""
    return session.exec(
        select(Pair)
        .where(Pair.match_run_id == match_run_id)
        .order_by(col(Pair.id))
        .execution_options(populate_existing=True)
    ).all()


def goals_of_pair(session: Session, pair_id: int) -> Sequence[Goal]:
    return session.exec(
        select(Goal)
        .where(Goal.pair_id == pair_id)
        .order_by(col(Goal.id))
        .execution_options(populate_existing=True)
    ).all()


def fresh_participants(session: Session, ids: Iterable[int]) -> dict[int, Participant]:
    """Like participants_by_ids, but re-read even when the session already holds them."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.exec(
        select(Participant)
        .where(col(Participant.id).in_(wanted))
        .execution_options(populate_existing=True)
    ).all()
    return {row.id: row for row in rows if row.id is not None}


# Delivery -----------------------------------------------------------------------------------


def failed_messages(session: Session, program_id: int | None) -> Sequence[OutboxMessage]:
    """Messages the outbox gave up on (newest first), for the admins' report and Home.

    `last_error` says why (e.g. `account_inactive`, `channel_not_found`); `uncertain` means the
    last attempt may have reached the person after all. `program_id=None`: every programme.
    """
    query = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
    if program_id is not None:
        query = query.where(OutboxMessage.program_id == program_id)
    return session.exec(query.order_by(col(OutboxMessage.failed_at).desc())).all()


def conversation_of(session: Session, recipient: str) -> str | None:
    """The conversation an earlier message to `recipient` landed in (saves conversations.open)."""
    return session.exec(
        select(OutboxMessage.channel_id)
        .where(OutboxMessage.recipient == recipient, col(OutboxMessage.channel_id).is_not(None))
        .limit(1)
    ).first()


def record_event(session: Session, event_id: str, seen_at: datetime) -> bool:
    """Remembers `event_id`; False when it was remembered before (by any worker or replica).

    One INSERT … ON CONFLICT DO NOTHING: concurrent callers never raise, exactly one wins.
    """
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(event_id=event_id, seen_at=seen_at)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.id)
    )
    return session.execute(statement).first() is not None


def prune_events(session: Session, before: datetime) -> int:
    """Forgets event ids seen before `before` (Slack stops re-delivering within minutes)."""
    result = session.execute(delete(ProcessedEvent).where(col(ProcessedEvent.seen_at) < before))
    return int(result.rowcount)  # type: ignore[attr-defined]


# Pulse surveys (anonymous: see bot/domain/pulse.py for why each write looks like this) -----


def pulse_rounds(
    session: Session, program_id: int, kinds: Iterable[str] | None = None
) -> Sequence[PulseRound]:
    query = select(PulseRound).where(PulseRound.program_id == program_id)
    if kinds is not None:
        query = query.where(col(PulseRound.kind).in_(list(kinds)))
    return session.exec(query.order_by(col(PulseRound.opens_at), col(PulseRound.id))).all()


def pulse_round(session: Session, round_id: int) -> PulseRound | None:
    return session.exec(
        select(PulseRound)
        .where(PulseRound.id == round_id)
        .execution_options(populate_existing=True)
    ).first()


def pulse_round_for(session: Session, program_id: int, kind: str, period: str) -> PulseRound | None:
    return session.exec(
        select(PulseRound).where(
            PulseRound.program_id == program_id,
            PulseRound.kind == kind,
            PulseRound.period == period,
        )
    ).first()


def create_pulse_round(
    session: Session,
    pulse: PulseRound,
    cells: Iterable[tuple[str, str, int]],
    text_questions: Iterable[str],
) -> PulseRound:
    """The round with every tally cell (dimension, question, value) at 0 and empty text lists."""
    save(session, pulse)
    rows = [
        {"round_id": pulse.id, "dimension": d, "question": q, "value": v, "n": 0}
        for d, q, v in cells
    ]
    if rows:
        session.execute(PulseTally.__table__.insert(), rows)  # type: ignore[attr-defined]
    for question in text_questions:
        session.add(PulseText(round_id=pulse.id or 0, question=question, texts=[]))
    session.flush()
    return pulse


def has_answered(session: Session, round_id: int, participant_id: int) -> bool:
    return (
        session.exec(
            select(PulseParticipation.id).where(
                PulseParticipation.round_id == round_id,
                PulseParticipation.participant_id == participant_id,
            )
        ).first()
        is not None
    )


def respondents(session: Session, round_id: int) -> set[int]:
    rows = session.exec(
        select(PulseParticipation.participant_id).where(PulseParticipation.round_id == round_id)
    ).all()
    return set(rows)


def record_pulse_answer(
    session: Session,
    round_id: int,
    participant_id: int,
    dimensions: Sequence[str],
    chosen: dict[str, int],
    texts: dict[str, str],
    insert_at: Callable[[int], int],
) -> bool:
    """Participation, counters, tallies and held-back text in ONE transaction; False (and
    nothing written but a lock) when the person already answered this round.

    Every tally cell and every text list of the round is rewritten whatever the answer, so all
    of them carry this transaction's version (xmin) and none tells what was chosen.
    """
    pulse = session.get(PulseRound, round_id)
    if pulse is None or not lock(session, pulse, "open"):
        return False
    if has_answered(session, round_id, participant_id):
        return False
    session.add(PulseParticipation(round_id=round_id, participant_id=participant_id))
    session.execute(
        update(PulseRound)
        .where(col(PulseRound.id) == round_id)
        .values(answered=PulseRound.answered + 1)
        .execution_options(synchronize_session=False)
    )
    picked = or_(
        *(
            and_(col(PulseTally.question) == question, col(PulseTally.value) == value)
            for question, value in chosen.items()
        )
    )
    hit = and_(col(PulseTally.dimension).in_(list(dimensions)), picked)
    session.execute(
        update(PulseTally)
        .where(col(PulseTally.round_id) == round_id)
        .values(n=PulseTally.n + case((hit, 1), else_=0))
        .execution_options(synchronize_session=False)
    )
    for row in session.exec(
        select(PulseText)
        .where(PulseText.round_id == round_id)
        .execution_options(populate_existing=True)
    ).all():
        current = list(row.texts)
        text = texts.get(row.question)
        if text:
            current.insert(insert_at(len(current) + 1), text)
        session.execute(
            update(PulseText)
            .where(col(PulseText.round_id) == round_id, col(PulseText.question) == row.question)
            .values(texts=current)
            .execution_options(synchronize_session=False)
        )
    session.flush()
    return True


def pulse_tallies(session: Session, round_ids: Iterable[int]) -> Sequence[PulseTally]:
    ids = list(round_ids)
    if not ids:
        return []
    return session.exec(
        select(PulseTally)
        .where(col(PulseTally.round_id).in_(ids))
        .execution_options(populate_existing=True)
    ).all()


def pulse_texts(session: Session, round_id: int) -> Sequence[PulseText]:
    return session.exec(
        select(PulseText)
        .where(PulseText.round_id == round_id)
        .execution_options(populate_existing=True)
    ).all()


def close_pulse_round(session: Session, pulse: PulseRound, when: datetime) -> bool:
    closed = transition(session, pulse, "open", status="closed", closed_at=when)
    if closed:
        session.execute(
            update(PulseText)
            .where(col(PulseText.round_id) == pulse.id)
            .values(released=True)
            .execution_options(synchronize_session=False)
        )
    return closed


# Report figures (check-ins are read here only: the journey may reshape them) ----------------


@dataclass(frozen=True)
class CycleFigures:
    period: str
    pairs_responding: int
    pairs_met: int
    ratings: int
    rating_sum: int


def checkin_cycle_figures(session: Session, program_id: int) -> list[CycleFigures]:
    """Per check-in cycle: pairs that answered, pairs that met, ratings (never notes)."""
    r = CheckInRequest
    met = r.status == CheckInRequestStatus.MET
    answered = col(r.status).in_(ANSWERED_CHECKINS)
    rating = case((met, r.rating))
    rows = session.execute(
        select(
            CheckInCycle.period,
            func.count(distinct(case((answered, r.pair_id)))),
            func.count(distinct(case((met, r.pair_id)))),
            func.count(rating),
            func.coalesce(func.sum(rating), 0),
        )
        .select_from(CheckInCycle)
        .join(r, r.cycle_id == CheckInCycle.id)
        .where(CheckInCycle.program_id == program_id)
        .group_by(CheckInCycle.id, CheckInCycle.period)
        .order_by(CheckInCycle.period)
    ).all()
    return [CycleFigures(p, int(a), int(m), int(n), int(s)) for p, a, m, n, s in rows]


def sessions_per_pair(session: Session, program_id: int) -> dict[int, int]:
    """Pair id -> meetings logged: the check-in cycles in which either partner said they met."""
    rows = session.execute(
        select(CheckInRequest.pair_id, func.count(distinct(CheckInRequest.cycle_id)))
        .join(Pair, col(Pair.id) == CheckInRequest.pair_id)
        .where(Pair.program_id == program_id, CheckInRequest.status == CheckInRequestStatus.MET)
        .group_by(CheckInRequest.pair_id)
    ).all()
    return {int(pair): int(count or 0) for pair, count in rows}


def last_met(session: Session, program_id: int) -> dict[int, datetime]:
    """Pair id -> the latest check-in answer that says the pair met."""
    rows = session.execute(
        select(CheckInRequest.pair_id, func.max(CheckInRequest.answered_at))
        .join(Pair, col(Pair.id) == CheckInRequest.pair_id)
        .where(Pair.program_id == program_id, CheckInRequest.status == CheckInRequestStatus.MET)
        .group_by(CheckInRequest.pair_id)
    ).all()
    return {int(pair): when for pair, when in rows if when is not None}


def goal_figures(session: Session, program_id: int) -> tuple[dict[str, int], float | None]:
    """Goals by status and their average progress (percent)."""
    rows = session.execute(
        select(Goal.status, func.count(), func.avg(Goal.progress))
        .join(Pair, col(Pair.id) == Goal.pair_id)
        .where(Pair.program_id == program_id)
        .group_by(Goal.status)
    ).all()
    counts = {status: int(count) for status, count, _avg in rows}
    total = sum(counts.values())
    weighted = sum(float(avg or 0) * int(count) for _s, count, avg in rows)
    return counts, (weighted / total if total else None)


def count_by_role_status(session: Session, program_id: int) -> dict[tuple[str, str], int]:
    rows = session.exec(
        select(Participant.role, Participant.status, func.count())
        .where(Participant.program_id == program_id)
        .group_by(Participant.role, Participant.status)
    ).all()
    return {(role, status): int(count) for role, status, count in rows}


def open_rematch_pairs(session: Session, program_id: int) -> set[int]:
    rows = session.exec(
        select(RematchRequest.pair_id)
        .join(Pair, col(Pair.id) == RematchRequest.pair_id)
        .where(Pair.program_id == program_id, RematchRequest.status == RematchStatus.OPEN)
    ).all()
    return set(rows)


# Export ---------------------------------------------------------------------------------------


def export_rows(session: Session, model: type[SQLModel], columns: Sequence[str]) -> list[Any]:
    """Selected columns of every row of a table, in id order (never a whole row by default)."""
    table: Any = model.__table__  # type: ignore[attr-defined]
    chosen = [table.c[name] for name in columns]
    order = list(table.primary_key.columns)
    return list(session.execute(select(*chosen).order_by(*order)).all())


def set_round_invited(session: Session, round_id: int, invited: int) -> None:
    session.execute(
        update(PulseRound)
        .where(col(PulseRound.id) == round_id)
        .values(invited=invited)
        .execution_options(synchronize_session=False)
    )


def mark_reminded(session: Session, pulse: PulseRound, when: datetime) -> bool:
    """Claims the round's one reminder (False when it was sent already)."""
    statement = (
        update(PulseRound)
        .where(col(PulseRound.id) == pulse.id, col(PulseRound.reminded_at).is_(None))
        .values(reminded_at=when)
        .execution_options(synchronize_session=False)
    )
    return session.exec(statement).rowcount == 1  # type: ignore[call-overload]


def vacuum_pulse_tables(engine: Any) -> None:
    """PostgreSQL: drop the dead row versions an open round's answers left behind."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM pulse_tally, pulse_text, pulse_round")


def all_programs(session: Session) -> Sequence[Program]:
    return session.exec(select(Program).order_by(col(Program.id))).all()


def checkin_periods(session: Session) -> dict[int, str]:
    rows = session.exec(select(CheckInCycle.id, CheckInCycle.period)).all()
    return {int(cycle_id): period for cycle_id, period in rows if cycle_id is not None}


def pair_states(
    session: Session, program_id: int
) -> list[tuple[int, str, datetime | None, datetime | None]]:
    """(id, status, last_met_at, introduced_at) of every pair: the report needs no more."""
    rows = session.exec(
        select(Pair.id, Pair.status, Pair.last_met_at, Pair.introduced_at).where(
            Pair.program_id == program_id
        )
    ).all()
    return [(int(i or 0), s, met, intro) for i, s, met, intro in rows]


def checkin_cycle(session: Session, program_id: int, period: str) -> CheckInCycle | None:
    return session.exec(
        select(CheckInCycle).where(
            CheckInCycle.program_id == program_id, CheckInCycle.period == period
        )
    ).first()


def checkin_cycles(session: Session, program_id: int) -> Sequence[CheckInCycle]:
    return session.exec(
        select(CheckInCycle)
        .where(CheckInCycle.program_id == program_id)
        .order_by(col(CheckInCycle.period))
    ).all()


def checkin_requests_of_cycle(session: Session, cycle_id: int) -> Sequence[CheckInRequest]:
    return session.exec(
        select(CheckInRequest)
        .where(CheckInRequest.cycle_id == cycle_id)
        .order_by(col(CheckInRequest.id))
    ).all()


def checkin_requests_of_pair(
    session: Session, pair_id: int, cycle_id: int | None = None
) -> Sequence[CheckInRequest]:
    query = select(CheckInRequest).where(CheckInRequest.pair_id == pair_id)
    if cycle_id is not None:
        query = query.where(CheckInRequest.cycle_id == cycle_id)
    return session.exec(query.order_by(col(CheckInRequest.id))).all()


def requested_keys(session: Session, cycle_id: int) -> set[tuple[int, int]]:
    """(pair id, participant id) of everyone already asked in the cycle."""
    rows = session.exec(
        select(CheckInRequest.pair_id, CheckInRequest.participant_id).where(
            CheckInRequest.cycle_id == cycle_id
        )
    ).all()
    return {(pair_id, participant_id) for pair_id, participant_id in rows}


def last_suggestions(
    session: Session, pair_ids: list[int], before_cycle_id: int
) -> dict[int, dict[str, Any]]:
    """Pair id -> the suggestion of its latest earlier cycle (to rotate away from it)."""
    found: dict[int, dict[str, Any]] = {}
    if not pair_ids:
        return found
    rows = session.exec(
        select(CheckInRequest.pair_id, CheckInRequest.suggestion)
        .where(
            col(CheckInRequest.pair_id).in_(pair_ids),
            CheckInRequest.cycle_id != before_cycle_id,
        )
        .order_by(col(CheckInRequest.cycle_id))
    ).all()
    for pair_id, suggestion in rows:
        found[pair_id] = suggestion
    return found


def meetings_of_pair(session: Session, pair_id: int) -> int:
    """Cycles in which the pair logged a meeting."""
    return int(
        session.exec(
            select(func.count(func.distinct(CheckInRequest.cycle_id))).where(
                CheckInRequest.pair_id == pair_id, CheckInRequest.status == "met"
            )
        ).one()
    )


def set_messages_held(session: Session, program: Program, held: bool) -> None:
    program.messages_held = held
    session.add(program)


@dataclass(frozen=True)
class CycleMeetings:
    cycle_id: int
    period: str
    sessions: int  # meetings the pair held in the cycle (at least 1 when they met)


def meetings_by_cycle(session: Session, pair_ids: Iterable[int]) -> dict[int, list[CycleMeetings]]:
    """Pair id -> the cycles in which it met, oldest first (either partner's answer counts, a
    cycle once: a check-in logs one meeting)."""
    ids = list(pair_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(CheckInRequest.pair_id, CheckInCycle.id, CheckInCycle.period)
        .join(CheckInCycle, col(CheckInCycle.id) == CheckInRequest.cycle_id)
        .where(
            col(CheckInRequest.pair_id).in_(ids),
            CheckInRequest.status == CheckInRequestStatus.MET,
        )
        .group_by(CheckInRequest.pair_id, CheckInCycle.id, CheckInCycle.period)
        .order_by(col(CheckInCycle.period), col(CheckInCycle.id))
    ).all()
    found: dict[int, list[CycleMeetings]] = {}
    for pair_id, cycle_id, period in rows:
        found.setdefault(pair_id, []).append(CycleMeetings(cycle_id, period, 1))
    return found


def achieved_goals(session: Session, pair_ids: Iterable[int]) -> Sequence[Goal]:
    """Goals marked done (or at 100 %), oldest first."""
    ids = list(pair_ids)
    if not ids:
        return []
    return session.exec(
        select(Goal)
        .where(
            col(Goal.pair_id).in_(ids),
            or_(Goal.status == GoalStatus.DONE, col(Goal.progress) >= 100),
        )
        .order_by(col(Goal.id))
    ).all()


def goals_achieved_between(
    session: Session, program_id: int, start: datetime, end: datetime
) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(Goal)
            .join(Pair, col(Pair.id) == Goal.pair_id)
            .where(
                Pair.program_id == program_id,
                or_(Goal.status == GoalStatus.DONE, col(Goal.progress) >= 100),
                col(Goal.updated_at) >= start,
                col(Goal.updated_at) < end,
            )
        ).one()
    )


def meetings_in_period(session: Session, program_id: int, period: str) -> int:
    """Meetings held by the programme's pairs in the check-in cycle of `period`."""
    cycle = session.exec(
        select(CheckInCycle).where(
            CheckInCycle.program_id == program_id, CheckInCycle.period == period
        )
    ).first()
    if cycle is None:
        return 0
    per_pair = meetings_by_cycle(
        session,
        session.exec(
            select(CheckInRequest.pair_id).where(CheckInRequest.cycle_id == cycle.id).distinct()
        ).all(),
    )
    return sum(m.sessions for found in per_pair.values() for m in found if m.cycle_id == cycle.id)


def recognised_pairs(session: Session, program_id: int) -> Sequence[Pair]:
    """Pairs that were introduced (active, or ended after having run)."""
    return session.exec(
        select(Pair)
        .where(
            Pair.program_id == program_id,
            col(Pair.status).in_([PairStatus.ACTIVE, PairStatus.ENDED]),
            col(Pair.approved_at).is_not(None),
        )
        .order_by(col(Pair.id))
    ).all()


def add_milestone(session: Session, pair_id: int, kind: str, at: datetime) -> Milestone | None:
    """Records a milestone once: None when the pair already reached it (by any run)."""
    table = Milestone.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    row = session.execute(
        insert(table)
        .values(pair_id=pair_id, kind=kind, achieved_at=at, celebrated_at=at)
        .on_conflict_do_nothing(index_elements=["pair_id", "kind"])
        .returning(table.c.id)
    ).first()
    return session.get(Milestone, row[0]) if row is not None else None


def milestones_between(
    session: Session, program_id: int, start: datetime, end: datetime
) -> Sequence[Milestone]:
    return session.exec(
        select(Milestone)
        .join(Pair, col(Pair.id) == Milestone.pair_id)
        .where(
            Pair.program_id == program_id,
            col(Milestone.achieved_at) >= start,
            col(Milestone.achieved_at) < end,
        )
        .order_by(col(Milestone.id))
    ).all()


def shoutouts_between(
    session: Session, program_id: int, start: datetime, end: datetime
) -> Sequence[ShoutOut]:
    """Shout-outs that were posted in the channel in the window."""
    return session.exec(
        select(ShoutOut)
        .where(
            ShoutOut.program_id == program_id,
            ShoutOut.status == ShoutOutStatus.POSTED,
            col(ShoutOut.created_at) >= start,
            col(ShoutOut.created_at) < end,
        )
        .order_by(col(ShoutOut.id))
    ).all()


def story_to_publish(session: Session, program_id: int) -> SuccessStory | None:
    """The oldest approved story not shared yet."""
    return session.exec(
        select(SuccessStory)
        .where(SuccessStory.program_id == program_id, SuccessStory.status == StoryStatus.APPROVED)
        .order_by(col(SuccessStory.id))
    ).first()


def add_certificate(session: Session, certificate: Certificate) -> Certificate | None:
    """Stores a certificate owed to a person once per pair: None when already owed."""
    try:
        with session.begin_nested():
            session.add(certificate)
            session.flush()
    except IntegrityError:
        return None
    return certificate


def forget_recognition(session: Session, user_id: str) -> None:
    """Someone erased their data: their pairs' stories go, their certificates keep no name."""
    ids = [p.id for p in participations_of_user(session, user_id) if p.id is not None]
    if not ids:
        return
    pair_ids = [pair.id for pid in ids for pair in pairs_of(session, pid)]
    if pair_ids:
        session.execute(delete(SuccessStory).where(col(SuccessStory.pair_id).in_(pair_ids)))
    for certificate in session.exec(
        select(Certificate).where(col(Certificate.participant_id).in_(ids))
    ).all():
        certificate.detail = {}  # a certificate still owed is then no longer sent
        session.add(certificate)


def recognition_of(session: Session, participant_id: int) -> dict[str, list[dict[str, Any]]]:
    """The person's success stories and certificates, for their data export."""
    stories = session.exec(
        select(SuccessStory).where(SuccessStory.author_id == participant_id)
    ).all()
    certificates = session.exec(
        select(Certificate).where(Certificate.participant_id == participant_id)
    ).all()
    return {
        "stories": [s.model_dump(mode="json", exclude={"id", "author_id"}) for s in stories],
        "certificates": [
            c.model_dump(mode="json", include={"detail", "status", "uploaded_at"})
            for c in certificates
        ],
    }
