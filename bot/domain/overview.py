"""Enrollment overview for admins: counts by role and department, topic demand vs supply."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlmodel import Session

from bot.domain.pairing import waiting_newcomers
from bot.domain.programs import all_topics, growth_catalogue, is_archived
from storage import repositories as repo
from storage.models import ParticipantStatus, Program


@dataclass(frozen=True)
class TopicBalance:
    topic_id: str
    label: str
    supply: int  # mentors offering it
    demand: int  # mentees wanting it (central or development area)
    archived: bool = False  # removed from the catalogue; listed while people still hold it


@dataclass(frozen=True)
class EnrollmentOverview:
    by_role: dict[str, int]
    by_status: dict[str, int]
    by_department: list[tuple[str, int]]
    topics: list[TopicBalance]
    training_read: int
    total: int


def enrollment_overview(session: Session, program: Program) -> EnrollmentOverview:
    active = repo.participants(
        session, program.id or 0, [ParticipantStatus.WAITING, ParticipantStatus.PAIRED]
    )
    counts = repo.topic_demand_supply(session, program.id or 0)
    growth = {t["id"] for t in growth_catalogue()}
    topics = []
    for topic in all_topics(program):
        held = counts.get(topic["id"], repo.TopicCounts())
        optional = topic["id"] in growth or is_archived(topic)  # listed only when held
        if held.offered or held.demand or not optional:
            topics.append(
                TopicBalance(
                    topic["id"], topic["label"], held.offered, held.demand, is_archived(topic)
                )
            )
    topics.sort(key=lambda t: (t.supply - t.demand, -t.demand))
    departments = Counter(person.department or "—" for person in active)
    return EnrollmentOverview(
        by_role=dict(Counter(person.role for person in active)),
        by_status=dict(Counter(person.status for person in active)),
        by_department=departments.most_common(),
        topics=topics,
        training_read=sum(1 for person in active if person.training_read_at is not None),
        total=len(active),
    )


# The admin's next step, which App Home makes its primary button.
STEP_SETTINGS = "settings"  # nobody to match yet: the settings (open enrollment, share it)
STEP_MATCH = "match"  # people wait who no proposal has seen yet
STEP_REVIEW = "review"  # a proposal waits for approval
STEP_REPORT = "report"  # everyone matched: follow the programme in its report


def next_step(session: Session, program: Program) -> str:
    open_run = repo.open_match_run(session, program.id or 0)
    if open_run is not None and repo.proposed_pairs(session, open_run.id or 0):
        return STEP_REVIEW
    if repo.latest_match_run(session, program.id or 0) is None:
        waiting = repo.participants(session, program.id or 0, [ParticipantStatus.WAITING])
        return STEP_MATCH if waiting else STEP_SETTINGS
    return STEP_MATCH if waiting_newcomers(session, program) else STEP_REPORT
