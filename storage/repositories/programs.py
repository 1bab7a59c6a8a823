"""Programmes: the active one, all of them, and the admins' hold on messages."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from storage.models import Program, ProgramStatus


def active_program(session: Session) -> Program | None:
    return session.exec(
        select(Program)
        .where(Program.status == ProgramStatus.ACTIVE)
        .order_by(col(Program.id).desc())
    ).first()


def all_programs(session: Session) -> Sequence[Program]:
    return session.exec(select(Program).order_by(col(Program.id))).all()


def set_messages_held(session: Session, program: Program, held: bool) -> None:
    program.messages_held = held
    session.add(program)
