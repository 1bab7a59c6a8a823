"""Enrollment overview for admins: counts by role and department, topic demand vs supply."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlmodel import Session

from bot.domain.programs import all_topics
from storage import repositories as repo
from storage.models import ParticipantStatus, Program, Role


@dataclass(frozen=True)
class TopicBalance:
    topic_id: str
    label: str
    supply: int  # mentors offering it
    demand: int  # mentees wanting it (central or development area)


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
    supply: Counter[str] = Counter()
    demand: Counter[str] = Counter()
    for person in active:
        if person.role == Role.MENTOR:
            supply.update(set(person.topics_offered))
        else:
            demand.update(set(person.topics_wanted) | set(person.development_areas))
    topics = [
        TopicBalance(t["id"], t["label"], supply[t["id"]], demand[t["id"]])
        for t in all_topics(program)
        if supply[t["id"]] or demand[t["id"]] or not t["id"].startswith("growth_")
    ]
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
