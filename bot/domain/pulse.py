"""Anonymous pulse surveys and match checks: rounds, answers, thresholds, suppression.

Anonymity that holds against whoever reads the whole database (PostgreSQL `xmin`/`ctid`, SQLite
rowids, every timestamp, insertion order), the logs and the export:

* No row per answer exists. An answer is folded into aggregate cells `pulse_tally(round,
  dimension, question, value, n)` created, all at 0, when the round opens. Free text goes into
  one list per (round, question) at a uniformly random position (`pulse_text`).
* Who answered is a `pulse_participation` row with a random key and no time. Its `xmin` (and
  `ctid`, insertion order) tell *when in the sequence* someone answered, nothing more.
* Participation, the round's counter, the tallies and the text lists are written in ONE
  transaction, and that transaction rewrites EVERY tally cell and EVERY text list of the round
  (`n = n + 1` where chosen, `n = n + 0` elsewhere; the list re-stored even when the person
  typed nothing). Consequences:
  - PostgreSQL: after any answer all of the round's cells carry the same `xmin` (the latest
    answer's transaction). Two transactions (participation, then answer) would be worse: their
    `xmin`s would be adjacent, and each cell's `xmin` would name the last person who chose that
    value. With one transaction and all cells rewritten, the only fact a reader learns from
    `xmin` is "the latest respondent is the latest respondent". `ctid`s of the new cell versions
    follow the scan order of the UPDATE, which does not depend on the values.
  - SQLite: cells are rewritten in place (no version columns); participation, tallies and
    texts are WITHOUT ROWID tables, stored in key order, so no rowid mirrors anything.
  - No timestamp is written at answer time anywhere (no outbox message, no log line, no job
    row): the thank-you is the modal's own response.
  The proof is tests/test_pulse_anonymity.py: two runs in which the same people answer in the
  same order but with their answers permuted leave identical databases, system columns
  included (on both backends). An attacker therefore cannot do better than chance.
* Limits, stated honestly: someone who snapshots the database between two consecutive answers
  sees one cell set change (like watching someone type); results are therefore shown only after
  a round closes and only for groups of at least the threshold. Dead PostgreSQL tuple versions
  stay on disk until vacuumed (file-level forensics, not SQL); closing a round vacuums the tally
  and text tables on PostgreSQL.

Results: only for closed rounds, only for groups at or above the programme's anonymity threshold
(never below 3), with complementary suppression in breakdowns; free text is shown without role
or department, and only when the round's respondents reach the threshold.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from bot import clock
from bot.i18n import N_
from storage import repositories as repo
from storage.models import (
    CycleStatus,
    Participant,
    ParticipantStatus,
    Program,
    PulseKind,
    PulseRound,
    PulseTally,
)

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
) -> PulseRound:
    """A round with its cells; `population` (default: the invitees) sizes the breakdowns."""
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
    )
    cells = _cells(kind, population if population is not None else invitees, threshold_of(program))
    return repo.create_pulse_round(session, pulse, cells, [q.id for q in text_questions(kind)])


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


def _insert_at(size: int) -> int:
    return secrets.randbelow(size)  # a uniformly random place in the list: order means nothing


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


def record_answer(
    session: Session,
    round_id: int,
    participant: Participant,
    chosen: dict[str, int],
    texts: dict[str, str],
) -> str:
    pulse = repo.pulse_round(session, round_id)
    if (
        pulse is None
        or pulse.status != CycleStatus.OPEN
        or pulse.program_id != participant.program_id
    ):
        return CLOSED
    if pulse.closes_at is not None and clock.utcnow() >= pulse.closes_at:
        return CLOSED
    ok = repo.record_pulse_answer(
        session,
        round_id,
        participant.id or 0,
        dimensions_of(participant, pulse.kind),
        chosen,
        texts,
        _insert_at,
    )
    return RECORDED if ok else ALREADY


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
    pulse: PulseRound, tallies: Sequence[PulseTally], threshold: int, texts: dict[str, list[str]]
) -> RoundResult:
    if pulse.status != CycleStatus.CLOSED:
        return RoundResult(pulse, threshold, None)
    by_dim: dict[str, list[PulseTally]] = {}
    for cell in tallies:
        by_dim.setdefault(cell.dimension, []).append(cell)
    groups = {dim: _group(pulse.kind, cells) for dim, cells in by_dim.items()}
    overall = groups.get("all")
    if overall is None or overall.respondents < threshold:
        return RoundResult(pulse, threshold, None)
    result = RoundResult(pulse, threshold, overall)
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
    out = []
    for pulse in rounds:
        texts: dict[str, list[str]] = {}
        if pulse.status == CycleStatus.CLOSED and pulse.answered >= threshold_of(program):
            texts = {
                t.question: list(t.texts)
                for t in repo.pulse_texts(session, pulse.id or 0)
                if t.released
            }
        out.append(
            round_result(pulse, tallies.get(pulse.id or 0, []), threshold_of(program), texts)
        )
    return out


def close_due(session: Session, program: Program, at: datetime) -> list[PulseRound]:
    """Closes every open round whose answer window has ended."""
    closed = []
    for pulse in repo.pulse_rounds(session, program.id or 0):
        if (
            pulse.status == CycleStatus.OPEN
            and pulse.closes_at is not None
            and pulse.closes_at <= at
        ) and repo.close_pulse_round(session, pulse, at):
            closed.append(pulse)
    return closed


def close_now(session: Session, round_id: int, at: datetime) -> bool:
    """An admin closes a round before its window ends."""
    pulse = repo.pulse_round(session, round_id)
    return pulse is not None and repo.close_pulse_round(session, pulse, at)
