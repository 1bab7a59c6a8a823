"""Enrollment overview for admins: counts by role and department, topic demand vs supply."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlmodel import Session

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
