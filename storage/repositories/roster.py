"""The HR roster: one entry per Slack user, and the imports that wrote them."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.models import RosterEntry, RosterImport


def roster_entries(session: Session) -> dict[str, RosterEntry]:
    """Every entry (left ones too), by Slack user id."""
    rows = session.exec(select(RosterEntry).order_by(col(RosterEntry.id))).all()
    return {row.slack_user_id: row for row in rows}


def roster_entry(session: Session, user_id: str) -> RosterEntry | None:
    return session.exec(select(RosterEntry).where(RosterEntry.slack_user_id == user_id)).first()


def roster_user_ids_by_email(session: Session) -> dict[str, str]:
    """Email -> Slack user id of the people still on the roster (what earlier imports
    resolved, so re-importing asks Slack again only about new emails)."""
    rows = session.exec(
        select(RosterEntry.email, RosterEntry.slack_user_id).where(
            col(RosterEntry.email).is_not(None), col(RosterEntry.left_at).is_(None)
        )
    ).all()
    return {email.lower(): user_id for email, user_id in rows if email}


def roster_managers(session: Session) -> dict[str, str | None]:
    """Each person on the roster -> their manager from the roster (None: nobody above them).
    Matching reads the reporting chain from here before what people said themselves."""
    rows = session.exec(
        select(RosterEntry.slack_user_id, RosterEntry.manager_slack_id).where(
            col(RosterEntry.left_at).is_(None)
        )
    ).all()
    return {user: manager for user, manager in rows}


def roster_import_with_digest(session: Session, digest: str) -> RosterImport | None:
    """The latest applied import of a file with these bytes."""
    return session.exec(
        select(RosterImport)
        .where(RosterImport.digest == digest)
        .order_by(col(RosterImport.id).desc())
    ).first()


def roster_imports(session: Session) -> list[RosterImport]:
    """Newest first."""
    return list(session.exec(select(RosterImport).order_by(col(RosterImport.id).desc())).all())
