"""Programmes: several at a time, each with its owners and, for invited-only ones, the people
invited; the owners' hold on messages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import (
    LIVE_STATUSES,
    Program,
    ProgramInvite,
    ProgramOwner,
    ProgramStatus,
)


def program(session: Session, program_id: int | None) -> Program | None:
    return session.get(Program, program_id) if program_id else None


def programs_with_status(session: Session, statuses: Iterable[str]) -> Sequence[Program]:
    return session.exec(
        select(Program).where(col(Program.status).in_(list(statuses))).order_by(col(Program.id))
    ).all()


def live_programs(session: Session) -> Sequence[Program]:
    """Enrolling or running: the programmes people see."""
    return programs_with_status(session, LIVE_STATUSES)


def running_programs(session: Session) -> Sequence[Program]:
    """The programmes whose journey, surveys and recognition the jobs run."""
    return programs_with_status(session, [ProgramStatus.RUNNING])


def all_programs(session: Session) -> Sequence[Program]:
    return session.exec(select(Program).order_by(col(Program.id))).all()


def owners(session: Session, program_id: int) -> list[str]:
    """The Slack ids of the programme's owners, in the order they were added."""
    rows = session.exec(
        select(ProgramOwner.slack_user_id)
        .where(ProgramOwner.program_id == program_id)
        .order_by(col(ProgramOwner.id))
    ).all()
    return list(rows)


def owned_program_ids(session: Session, user_id: str) -> set[int]:
    return set(
        session.exec(
            select(ProgramOwner.program_id).where(ProgramOwner.slack_user_id == user_id)
        ).all()
    )


def all_owner_ids(session: Session) -> set[str]:
    return set(session.exec(select(ProgramOwner.slack_user_id)).all())


def add_owners(
    session: Session, program_id: int, user_ids: Iterable[str], added_by: str | None
) -> None:
    """Adds whoever is not an owner yet (a repeat is a no-op)."""
    for user_id in dict.fromkeys(user_ids):
        try:
            with session.begin_nested():
                session.add(
                    ProgramOwner(program_id=program_id, slack_user_id=user_id, added_by=added_by)
                )
                session.flush()
        except IntegrityError:
            continue


def set_owners(
    session: Session, program_id: int, user_ids: Iterable[str], added_by: str | None
) -> None:
    """The programme's owners become exactly `user_ids`."""
    wanted = list(dict.fromkeys(user_ids))
    for row in session.exec(select(ProgramOwner).where(ProgramOwner.program_id == program_id)):
        if row.slack_user_id not in wanted:
            session.delete(row)
    session.flush()
    add_owners(session, program_id, wanted, added_by)


def is_invited(session: Session, program_id: int, user_id: str) -> bool:
    found = session.exec(
        select(ProgramInvite.id).where(
            ProgramInvite.program_id == program_id, ProgramInvite.slack_user_id == user_id
        )
    ).first()
    return found is not None


def invite(
    session: Session, program_id: int, user_ids: Iterable[str], invited_by: str | None
) -> int:
    """Puts people on the programme's invitation list; returns how many were new."""
    added = 0
    for user_id in dict.fromkeys(user_ids):
        try:
            with session.begin_nested():
                session.add(
                    ProgramInvite(
                        program_id=program_id, slack_user_id=user_id, invited_by=invited_by
                    )
                )
                session.flush()
        except IntegrityError:
            continue
        added += 1
    return added


def set_messages_held(session: Session, program: Program, held: bool) -> None:
    program.messages_held = held
    session.add(program)
