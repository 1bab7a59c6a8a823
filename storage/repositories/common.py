"""What every aggregate's queries share: saving a row, guarded transitions and row locks, the
few statement shapes they all repeat (rows in id order, an optional status filter, a fresh
read, a conditional UPDATE, an INSERT that happens once), and the admins' column export."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, true, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, SQLModel, col, select

M = TypeVar("M", bound=SQLModel)
Q = TypeVar("Q")


def save(session: Session, row: M) -> M:
    session.add(row)
    session.flush()
    return row


def among(column: Any, values: str | Iterable[str] | None) -> Any:
    """`column IN values` (one value may be given alone); no condition at all (every row) when
    `values` is None."""
    if values is None:
        return true()
    return col(column).in_([values] if isinstance(values, str) else list(values))


def oldest_first(
    session: Session, model: type[M], *conditions: Any, reread: bool = False
) -> Sequence[M]:
    """Every row of `model` that meets the conditions, in id order; `reread`: fresh from the
    database even where the session already holds them."""
    query = select(model).where(*conditions).order_by(col(model.id))  # type: ignore[attr-defined]
    return session.exec(fresh(query) if reread else query).all()


def fresh(query: Q) -> Q:
    """The query re-reading rows the session already holds (another transaction may have
    changed them since)."""
    return query.execution_options(populate_existing=True)  # type: ignore[attr-defined]


def within(column: Any, start: datetime, end: datetime) -> Any:
    """start <= column < end."""
    return and_(col(column) >= start, col(column) < end)


def update_where(
    session: Session,
    model: Any,
    *conditions: Any,
    synchronize_session: str | bool = False,
    **values: Any,
) -> int:
    """UPDATE model SET values WHERE conditions; returns how many rows it changed. Objects the
    session holds keep their old values unless `synchronize_session="fetch"`."""
    statement = (
        update(model)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=synchronize_session)
    )
    return int(session.exec(statement).rowcount)


def insert_once(session: Session, model: Any, unique: Sequence[str], **values: Any) -> int | None:
    """One INSERT … ON CONFLICT (unique) DO NOTHING: the new row's id, or None when a row with
    the same unique values exists. Concurrent callers never raise, exactly one wins."""
    table = model.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(table.c.id)
    )
    row = session.execute(statement).first()
    return None if row is None else int(row[0])


def export_rows(session: Session, model: type[SQLModel], columns: Sequence[str]) -> list[Any]:
    """Selected columns of every row of a table, in id order (never a whole row by default)."""
    table: Any = model.__table__  # type: ignore[attr-defined]
    chosen = [table.c[name] for name in columns]
    order = list(table.primary_key.columns)
    return list(session.execute(select(*chosen).order_by(*order)).all())


# Guarded transitions ------------------------------------------------------------------------
# A state change is one conditional UPDATE on the current state: of two concurrent clicks only
# one matches the row, the other updates nothing and sees the outcome. On PostgreSQL the second
# UPDATE waits for the first to commit and re-checks the condition; on SQLite writers serialise
# at their first write (busy_timeout), so reads that follow it are current.


def transition(
    session: Session, row: SQLModel, expected: str | Iterable[str], **values: object
) -> bool:
    """UPDATE row SET values WHERE id = row.id AND status IN expected.

    True when this call made the change (the object then carries the new values); False when
    the row was not in an expected state (the object is re-read, so the caller sees why).
    """
    model = _attached(session, row)
    current = (col(model.id) == row.id, among(model.status, expected))
    if update_where(session, model, *current, **values) == 1:
        for key, value in values.items():
            set_committed_value(row, key, value)
        return True
    session.refresh(row)
    return False


def lock(session: Session, row: SQLModel, expected: str | Iterable[str] | None = None) -> bool:
    """Serialises work on one row: a no-op UPDATE takes its row lock (PostgreSQL) or the write
    lock (SQLite) until commit; then the row is re-read. False when it is not in `expected`."""
    model = _attached(session, row)
    current = (col(model.id) == row.id, among(model.status, expected))
    matched = update_where(session, model, *current, status=model.status) == 1
    session.refresh(row)
    return matched


def _attached(session: Session, row: SQLModel) -> Any:
    """The row's model, once the row is in the session (one loaded by an earlier session is
    re-attached)."""
    if row not in session:
        session.add(row)
    return type(row)
