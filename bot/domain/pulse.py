"""Anonymous pulse surveys and match checks: rounds, answers, thresholds, suppression.

Anonymity that holds against whoever holds the database, its write-ahead log (PostgreSQL WAL
read with pg_walinspect, pg_waldump or logical decoding; SQLite's `-wal`), its replicas and
backups, the logs and every export, but not the app's `PULSE_SECRET`:

* While a round is open, an answer is ONE sealed ballot (bot/domain/ballots.py): the groups
  the person counts in, the values chosen and the free texts, padded to a size fixed by the
  round's kind and sealed with AES-256-GCM under the round's key. The key is derived from
  `PULSE_SECRET` (a setting, never in the database) and the round's random salt. Every ballot
  of a round has the same length, whatever was answered; its random nonce makes two equal
  answers look unrelated.
* The answer's transaction inserts exactly the participation marker and the ballot, and takes
  the round's row lock (a no-op UPDATE that writes the same bytes every time). It updates no
  counter and no tally: no record of the WAL, no page of the file and no row version depends
  on what was answered. The marker is a keyed hash of the Slack user id (and the pair, for
  match checks) under the round key: one answer per person (per pair) survives erasure and
  re-joining, and without the key it names nobody. Invitations are markers too, keyed apart.
* At close, in one transaction, the ballots are opened, counted in random order into the
  round's tally cells (each written once, with its total) and the free texts stored as one
  shuffled list per question; then the ballots, the markers and the round's salt are deleted.
* No timestamp is written at answer time (no outbox message, no log line, no job row): the
  thank-you is the modal's own response. The one exception is "I'd like help" on a match check,
  which is a request to the admins by nature: it names the person, so that answer is not secret.

The one assumption is the custody of `PULSE_SECRET`. Whoever holds it together with a copy of
the database or its WAL from while a round was open can open that round's ballots and, through
the markers, link each to its author. Without it, the proof is tests/test_pulse_anonymity.py:
the same people answering with permuted answers leave the same database (system columns
included) after every answer, and (tests/test_pulse_wal.py) on PostgreSQL the same WAL records
(type, length, relation, block), so an attacker cannot do better than chance.

Who may answer: the people the round was sent to (an invitation marker), still active in the
programme, while the round is open, once (per pair for match checks).

Results: only for closed rounds, only for groups at or above the programme's anonymity threshold
(never below 3), with complementary suppression in breakdowns; free text is shown without role
or department, and only when the round's respondents reach the threshold.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from bot import clock
from bot.delivery import outbox
from bot.domain import ballots
from bot.domain.subjects import round_subject
from bot.i18n import N_
from storage import repositories as repo
from storage.models import (
    CycleStatus,
    Participant,
    ParticipantStatus,
    Program,
    PulseInvitation,
    PulseKind,
    PulseParticipation,
    PulseRound,
    PulseTally,
)

log = logging.getLogger(__name__)

MIN_THRESHOLD = 3
ANSWER_WINDOW = timedelta(days=7)
REMINDER_AFTER = timedelta(days=3)
NEWCOMER_GRACE = timedelta(days=14)
FINAL_WINDOW = timedelta(days=14)  # the end-of-programme survey opens this long before the end
# pulse_cadence -> interval; anything unknown gets the default of six weeks.
CADENCES = {"monthly": timedelta(weeks=4), "quarterly": timedelta(weeks=13)}
DEFAULT_CADENCE = timedelta(weeks=6)
MATCH_CHECK_FIRST = 30  # days after the introduction
MATCH_CHECK_EVERY = 60


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    values: tuple[int, ...] = ()  # empty: a free-text question


SCALE5 = (1, 2, 3, 4, 5)
SCALE10 = tuple(range(11))
QUESTIONS: dict[str, tuple[Question, ...]] = {
    PulseKind.PULSE: (
        Question("value", N_("How valuable are your mentoring sessions?"), SCALE5),
        Question(
            "nps", N_("How likely are you to recommend the programme to a colleague?"), SCALE10
        ),
        Question("pairing", N_("Is your pairing working well?"), SCALE5),
        Question("change", N_("What should we change?")),
    ),
    PulseKind.FINAL: (
        Question(
            "nps", N_("How likely are you to recommend the programme to a colleague?"), SCALE10
        ),
        Question("again", N_("Would you join again?"), (0, 1)),
        Question("learned", N_("What did you learn?")),
    ),
    PulseKind.MATCH_CHECK: (Question("match", N_("Is your match working?"), (0, 1, 2)),),
}
MATCH_YES, MATCH_NOT_SURE, MATCH_HELP = 0, 1, 2


def scale_questions(kind: str) -> tuple[Question, ...]:
    return tuple(q for q in QUESTIONS[kind] if q.values)


def text_questions(kind: str) -> tuple[Question, ...]:
    return tuple(q for q in QUESTIONS[kind] if not q.values)


def threshold_of(program: Program) -> int:
    return max(MIN_THRESHOLD, program.anonymity_threshold or 5)


def dimensions_of(participant: Participant, kind: str) -> list[str]:
    dims = ["all", f"role:{participant.role}"]
    if kind != PulseKind.MATCH_CHECK:
        dims.append(f"dept:{(participant.department or '').strip()[:100]}")
    return dims


def _cells(kind: str, people: Sequence[Participant], threshold: int) -> list[tuple[str, str, int]]:
    """Breakdown cells only for groups with at least `threshold` people invited: a smaller
    group's cell would single its few respondents out to a database reader."""
    sizes: dict[str, int] = {}
    for person in people:
        for dim in dimensions_of(person, kind)[1:]:
            sizes[dim] = sizes.get(dim, 0) + 1
    dims = ["all", *sorted(d for d, n in sizes.items() if n >= threshold)]
    return [(d, q.id, v) for d in dims for q in scale_questions(kind) for v in q.values]


# Who is asked, and when ----------------------------------------------------------------------


def cadence_of(program: Program) -> timedelta | None:
    if program.pulse_cadence == "off":
        return None
    return CADENCES.get(program.pulse_cadence, DEFAULT_CADENCE)


def eligible(people: Sequence[Participant], at: datetime) -> list[Participant]:
    """Active participants who joined at least two weeks ago (newcomers are not surveyed)."""
    active = (ParticipantStatus.WAITING, ParticipantStatus.PAIRED)
    return [p for p in people if p.status in active and p.enrolled_at <= at - NEWCOMER_GRACE]


def _program_day(program: Program, day: date | None, fallback: datetime) -> datetime:
    if day is None:
        return fallback
    return datetime.combine(day, time(0), tzinfo=clock.zone(program.timezone))


def due_kind(program: Program, rounds: Sequence[PulseRound], at: datetime) -> str | None:
    """Which survey, if any, is due at `at`: the final one near the end replaces the pulse."""
    surveys = [r for r in rounds if r.kind in (PulseKind.PULSE, PulseKind.FINAL)]
    if any(r.kind == PulseKind.FINAL for r in surveys):
        return None
    if program.end_date is not None:
        end = _program_day(program, program.end_date, at)
        if end - FINAL_WINDOW <= at <= end + timedelta(days=1):
            return PulseKind.FINAL
        if at > end:
            return None
    interval = cadence_of(program)
    if interval is None:
        return None
    last = max((r.opens_at for r in surveys), default=None)
    start = last or _program_day(program, program.start_date, program.created_at)
    return PulseKind.PULSE if at >= start + interval else None


def open_round(
    session: Session,
    program: Program,
    kind: str,
    at: datetime,
    invitees: Sequence[Participant],
    population: Sequence[Participant] | None = None,
    *,
    secret: bytes,
) -> PulseRound:
    """A round with its cells, its key salt and an invitation for each invitee; `population`
    (default: the invitees) sizes the breakdowns."""
    period = at.strftime("%Y-%m") if kind == PulseKind.MATCH_CHECK else at.date().isoformat()
    closes = at + ANSWER_WINDOW
    if kind == PulseKind.MATCH_CHECK:
        first_next = (at.replace(day=1) + timedelta(days=32)).replace(day=1)
        closes = first_next + ANSWER_WINDOW
    pulse = PulseRound(
        program_id=program.id or 0,
        kind=kind,
        period=period,
        opens_at=at,
        closes_at=closes,
        invited=len(invitees),
        key_salt=ballots.new_salt(),
    )
    cells = _cells(kind, population if population is not None else invitees, threshold_of(program))
    opened = repo.create_pulse_round(session, pulse, cells, [q.id for q in text_questions(kind)])
    key = _key(secret, opened)
    if key is not None:
        invited = [key.invited(person.slack_user_id) for person in invitees]
        repo.add_markers(session, PulseInvitation, opened.id or 0, invited)
    return opened


def invite(
    session: Session, pulse: PulseRound, person: Participant, pair_id: int, *, secret: bytes
) -> None:
    """Invites one member of a pair to a match-check round (again: no change)."""
    key = _key(secret, pulse)
    if key is not None:
        marker = key.invited(person.slack_user_id, pair_id)
        repo.add_markers(session, PulseInvitation, pulse.id or 0, [marker])


def match_check_number(introduced_at: datetime | None, at: datetime) -> int:
    """0 before day 30 of the pair; then 1 at day 30, 2 at day 90, 3 at day 150, ..."""
    if introduced_at is None:
        return 0
    days = (at - introduced_at).days
    if days < MATCH_CHECK_FIRST:
        return 0
    return 1 + (days - MATCH_CHECK_FIRST) // MATCH_CHECK_EVERY


# Answers ------------------------------------------------------------------------------------

REST = "\x00rest"  # the respondents of groups without a cell of their own
RECORDED = "recorded"
ALREADY = "already"
CLOSED = "closed"
NOT_INVITED = "not_invited"
SURVEY_KINDS = (PulseKind.PULSE, PulseKind.FINAL)
MATCH_CHECK_KINDS = (PulseKind.MATCH_CHECK,)
ACTIVE = (ParticipantStatus.WAITING, ParticipantStatus.PAIRED)
_RANDOM = secrets.SystemRandom()


def _key(secret: bytes, pulse: PulseRound) -> ballots.RoundKey | None:
    """The round's key; None once it has closed (its salt is gone)."""
    if pulse.key_salt is None:
        return None
    return ballots.round_key(secret, pulse.id or 0, pulse.kind, bytes(pulse.key_salt))


def _legacy(participant_id: int | None, pair_id: int | None) -> str:
    """The markers migration 0009 gave the rounds open at the upgrade (it had no secret): who
    had answered (per person, as before), who was invited (per pair for match checks)."""
    return f"legacy:{participant_id}" + ("" if pair_id is None else f":{pair_id}")


def _text_ids(kind: str) -> list[str]:
    return [q.id for q in text_questions(kind)]


def validate(
    kind: str, raw: dict[str, str | None]
) -> tuple[dict[str, int], dict[str, str], dict[str, str]]:
    """(chosen scale values, texts, errors by question id)."""
    chosen: dict[str, int] = {}
    texts: dict[str, str] = {}
    errors: dict[str, str] = {}
    for question in QUESTIONS[kind]:
        value = (raw.get(question.id) or "").strip()
        if not question.values:
            if value:
                texts[question.id] = value[:2000]
            continue
        try:
            number = int(value)
        except ValueError:
            number = -1
        if number not in question.values:
            errors[question.id] = N_("Please pick an answer.")
        else:
            chosen[question.id] = number
    return chosen, texts, errors


@dataclass(frozen=True)
class _Admitted:
    pulse: PulseRound
    participant: Participant
    key: ballots.RoundKey
    marker: str


def _admit(
    session: Session,
    secret: bytes,
    round_id: int,
    user_id: str,
    kinds: Sequence[str],
    pair_id: int | None,
) -> _Admitted | str:
    """Whether this person may answer this round (for this pair) now, or why not."""
    pulse = repo.pulse_round(session, round_id)
    if pulse is None:
        return CLOSED
    if pulse.kind not in kinds:
        return NOT_INVITED  # e.g. a match-check button carrying a survey's round
    key = _key(secret, pulse)
    if key is None or pulse.status != CycleStatus.OPEN:
        return CLOSED
    if pulse.closes_at is not None and clock.utcnow() >= pulse.closes_at:
        return CLOSED
    participant = repo.participant_by_user(session, pulse.program_id, user_id)
    participant_id = participant.id if participant is not None else None
    marker = key.answered(user_id, pair_id)
    answered = [marker, _legacy(participant_id, None)]
    if repo.has_marker(session, PulseParticipation, round_id, answered):
        return ALREADY
    if participant is None or participant.status not in ACTIVE:
        return NOT_INVITED
    invited = [key.invited(user_id, pair_id), _legacy(participant_id, pair_id)]
    if not repo.has_marker(session, PulseInvitation, round_id, invited):
        return NOT_INVITED
    return _Admitted(pulse, participant, key, marker)


def may_answer(
    session: Session,
    secret: bytes,
    round_id: int,
    user_id: str,
    kinds: Sequence[str],
    pair_id: int | None = None,
) -> str | None:
    """None when the person may answer; else the outcome to show (CLOSED, ALREADY, ...)."""
    admitted = _admit(session, secret, round_id, user_id, kinds, pair_id)
    return admitted if isinstance(admitted, str) else None


def record_answer(
    session: Session,
    secret: bytes,
    round_id: int,
    user_id: str,
    kinds: Sequence[str],
    chosen: dict[str, int],
    texts: dict[str, str],
    pair_id: int | None = None,
) -> str:
    """Seals the answer into a ballot and stores it with the participation marker, in the
    caller's transaction, writing nothing else (see the module's docstring)."""
    admitted = _admit(session, secret, round_id, user_id, kinds, pair_id)
    if isinstance(admitted, str):
        return admitted
    pulse, kind = admitted.pulse, admitted.pulse.kind
    if not repo.lock(session, pulse, CycleStatus.OPEN):  # a close waits for this answer
        return CLOSED
    ballot = ballots.Ballot(
        dimensions=tuple(dimensions_of(admitted.participant, kind)),
        chosen={q.id: chosen[q.id] for q in scale_questions(kind) if chosen.get(q.id) in q.values},
        texts={q: texts[q][:2000] for q in _text_ids(kind) if texts.get(q)},
    )
    sealed = admitted.key.seal(ballot, _text_ids(kind))
    return RECORDED if repo.cast_ballot(session, round_id, admitted.marker, sealed) else ALREADY


def not_answered(
    session: Session, pulse: PulseRound, people: Sequence[Participant], *, secret: bytes
) -> list[Participant]:
    """The invited people, still active, who have not answered a survey round yet."""
    key = _key(secret, pulse)
    if key is None:
        return []
    invited = repo.markers(session, PulseInvitation, pulse.id or 0)
    answered = repo.markers(session, PulseParticipation, pulse.id or 0)
    return [
        person
        for person in people
        if person.status in ACTIVE
        and {key.invited(person.slack_user_id), _legacy(person.id, None)} & invited
        and not {key.answered(person.slack_user_id), _legacy(person.id, None)} & answered
    ]


# Results ------------------------------------------------------------------------------------


def suppressed(counts: dict[str, int], threshold: int) -> set[str]:
    """Cells to hide in a breakdown: those under the threshold, plus complementary ones so a
    hidden cell cannot be derived from the total (at least two hidden, together >= threshold)."""
    hidden = {key for key, n in counts.items() if n < threshold}
    if not hidden:
        return hidden
    shown = sorted((n, key) for key, n in counts.items() if key not in hidden)
    while shown and (len(hidden) < 2 or sum(counts[k] for k in hidden) < threshold):
        hidden.add(shown.pop(0)[1])
    return hidden


@dataclass
class GroupResult:
    respondents: int
    averages: dict[str, float] = field(default_factory=dict)
    distribution: dict[str, dict[int, int]] = field(default_factory=dict)
    nps: float | None = None


@dataclass
class RoundResult:
    round: PulseRound
    threshold: int
    overall: GroupResult | None  # None: closed too small, or still open
    answered: int = 0  # how many answered (while open: counted from the participation markers)
    by_role: dict[str, GroupResult | None] = field(default_factory=dict)
    by_department: dict[str, GroupResult | None] = field(default_factory=dict)
    texts: dict[str, list[str]] = field(default_factory=dict)

    @property
    def visible(self) -> bool:
        return self.overall is not None


def _group(kind: str, cells: list[PulseTally]) -> GroupResult:
    distribution: dict[str, dict[int, int]] = {}
    for cell in cells:
        distribution.setdefault(cell.question, {})[cell.value] = cell.n
    first = scale_questions(kind)[0].id
    result = GroupResult(respondents=sum(distribution.get(first, {}).values()))
    for question, counts in distribution.items():
        total = sum(counts.values())
        if total:
            result.averages[question] = sum(v * n for v, n in counts.items()) / total
    nps = distribution.get("nps")
    if nps and sum(nps.values()):
        total = sum(nps.values())
        promoters = sum(n for v, n in nps.items() if v >= 9)
        detractors = sum(n for v, n in nps.items() if v <= 6)
        result.nps = 100.0 * (promoters - detractors) / total
    result.distribution = distribution
    return result


def round_result(
    pulse: PulseRound,
    tallies: Sequence[PulseTally],
    threshold: int,
    texts: dict[str, list[str]],
    answered: int | None = None,
) -> RoundResult:
    if pulse.status != CycleStatus.CLOSED:
        return RoundResult(pulse, threshold, None, answered or 0)
    by_dim: dict[str, list[PulseTally]] = {}
    for cell in tallies:
        by_dim.setdefault(cell.dimension, []).append(cell)
    groups = {dim: _group(pulse.kind, cells) for dim, cells in by_dim.items()}
    overall = groups.get("all")
    if overall is None or overall.respondents < threshold:
        return RoundResult(pulse, threshold, None, pulse.answered)
    result = RoundResult(pulse, threshold, overall, pulse.answered)
    for prefix, target in (("role:", result.by_role), ("dept:", result.by_department)):
        mine = {d[len(prefix) :]: g for d, g in groups.items() if d.startswith(prefix)}
        counts = {k: g.respondents for k, g in mine.items() if g.respondents}
        # People in groups too small to have a cell are the total minus the cells: they count
        # as one more (never shown) cell, so suppression also protects them.
        rest = overall.respondents - sum(counts.values())
        hidden = suppressed({**counts, REST: rest} if rest > 0 else counts, threshold)
        for key in sorted(counts):
            target[key] = None if key in hidden else mine[key]
    result.texts = {q: list(t) for q, t in texts.items()}
    return result


def results(session: Session, program: Program, kinds: Sequence[str]) -> list[RoundResult]:
    """Every round of these kinds, oldest first, with what may be shown of it."""
    rounds = repo.pulse_rounds(session, program.id or 0, kinds)
    tallies: dict[int, list[PulseTally]] = {}
    for cell in repo.pulse_tallies(session, [r.id or 0 for r in rounds]):
        tallies.setdefault(cell.round_id, []).append(cell)
    still_open = [r.id or 0 for r in rounds if r.status == CycleStatus.OPEN]
    counted = repo.respondent_counts(session, still_open)
    out = []
    for pulse in rounds:
        texts: dict[str, list[str]] = {}
        if pulse.status == CycleStatus.CLOSED and pulse.answered >= threshold_of(program):
            texts = {
                t.question: list(t.texts)
                for t in repo.pulse_texts(session, pulse.id or 0)
                if t.released
            }
        cells = tallies.get(pulse.id or 0, [])
        answered = counted.get(pulse.id or 0, 0)
        out.append(round_result(pulse, cells, threshold_of(program), texts, answered))
    return out


def close(session: Session, pulse: PulseRound, at: datetime, *, secret: bytes) -> bool:
    """Closes an open round in the caller's transaction: its ballots are opened and counted in
    random order, each tally cell and text list written once, then the ballots, markers and key
    salt deleted. False when it was not open. Raises BallotUnreadable (and the caller's
    transaction must roll back) when a ballot does not open with this secret."""
    key = _key(secret, pulse)
    if not repo.close_pulse_round(session, pulse, at):
        return False
    text_ids = _text_ids(pulse.kind)
    sealed = repo.pulse_ballots(session, pulse.id or 0)
    opened = [key.open(one, text_ids) for one in sealed] if key is not None else []
    _RANDOM.shuffle(opened)
    counts: Counter[tuple[str, str, int]] = Counter()
    texts = {row.question: list(row.texts) for row in repo.pulse_texts(session, pulse.id or 0)}
    for ballot in opened:
        for dimension in ballot.dimensions:
            for question, value in ballot.chosen.items():
                counts[(dimension, question, value)] += 1
        for question, text in ballot.texts.items():
            texts.setdefault(question, []).append(text)
    for listed in texts.values():
        _RANDOM.shuffle(listed)
    repo.finish_pulse_round(session, pulse.id or 0, counts, texts)
    # Invitations and reminders still queued (held, or waiting for a working day) go nowhere.
    outbox.cancel_pending(session, "the survey has closed", subject=round_subject(pulse.id or 0))
    return True


def close_due(
    session: Session, program: Program, at: datetime, *, secret: bytes
) -> list[PulseRound]:
    """Closes every open round whose answer window has ended. A round whose ballots do not
    open (PULSE_SECRET changed while it was open) stays open, and is logged, until the secret
    it was opened with is back."""
    closed = []
    for pulse in repo.pulse_rounds(session, program.id or 0):
        if pulse.status != CycleStatus.OPEN or pulse.closes_at is None or pulse.closes_at > at:
            continue
        try:
            with session.begin_nested():
                done = close(session, pulse, at, secret=secret)
        except ballots.BallotUnreadable:
            session.refresh(pulse)
            log.error(
                "pulse round not closed: its ballots do not open with this PULSE_SECRET",
                extra={"round_id": pulse.id},
            )
            continue
        if done:
            closed.append(pulse)
    return closed


def close_now(session: Session, round_id: int, at: datetime, *, secret: bytes) -> bool:
    """An admin closes a round before its window ends."""
    pulse = repo.pulse_round(session, round_id)
    return pulse is not None and close(session, pulse, at, secret=secret)
