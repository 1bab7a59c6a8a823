"""The audit log as super-admins read and export it: what each action means, and its rows.

Entries are written by the actions themselves (`repo.record_audit`, in the action's own
transaction); `detail` holds ids and counts only, never pulse answers or what people wrote.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.domain.export import csv_bytes
from bot.i18n import N_
from storage import repositories as repo
from storage.models import AuditEvent

# Action -> what it means (English msgid; the view translates it).
ACTIONS: dict[str, str] = {
    "program.create": N_("created the programme"),
    "program.settings": N_("changed the programme settings"),
    "program.owner_add": N_("added an owner"),
    "program.owner_remove": N_("removed an owner"),
    "program.invite": N_("invited people"),
    "program.cohort": N_("started a new cohort"),
    "program.open_enrollment": N_("opened enrollment"),
    "program.archive": N_("archived the programme"),
    "program.hold_on": N_("held every message"),
    "program.hold_off": N_("released held messages"),
    "match.approve": N_("approved a matching"),
    "match.remove": N_("removed a proposed pair"),
    "pair.end": N_("ended a pair"),
    "rematch.keep": N_("kept a pair after a re-match request"),
    "shoutout.give": N_("gave a shout-out"),
    "thanks.approve": N_("approved a thank-you"),
    "thanks.reject": N_("rejected a thank-you"),
    "story.approve": N_("approved a success story"),
    "story.reject": N_("rejected a success story"),
    "export": N_("exported the programme data"),
    "audit.export": N_("exported the audit log"),
    "retention.run": N_("applied the retention rules"),
    "roster.import": N_("imported the roster"),
    "campaign.send": N_("sent an invitation campaign"),
}
COLUMNS = ["id", "at", "actor", "action", "program_id", "target", "detail"]
FORMATS = ("csv", "json")
CLI_ACTOR = "cli"  # the actor of a command run on the server (no Slack user)


def row(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.at.isoformat(),
        "actor": event.actor_slack_id,
        "action": event.action,
        "program_id": event.program_id,
        "target": event.target,
        "detail": event.detail,
    }


def export_rows(
    session: Session, *, program_id: int | None = None, since: datetime | None = None
) -> list[dict[str, Any]]:
    """Every entry (of one programme, since a moment), newest first."""
    ids = [program_id] if program_id is not None else None
    return [row(event) for event in repo.audit_events(session, program_ids=ids, since=since)]


def export_file(
    session: Session,
    fmt: str,
    *,
    actor: str,
    program_id: int | None = None,
    since: datetime | None = None,
) -> tuple[str, bytes]:
    """(file name, bytes) of the log; the export itself is recorded in the caller's
    transaction (after reading, so the file does not list itself)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    rows = export_rows(session, program_id=program_id, since=since)
    repo.record_audit(
        session,
        actor=actor,
        action="audit.export",
        program_id=program_id,
        detail={"format": fmt, "entries": len(rows)},
    )
    if fmt == "json":
        body = json.dumps(rows, ensure_ascii=False, indent=2) + "\n"
        return "reverse-mentoring-audit.json", body.encode("utf-8")
    flat = [{**r, "detail": json.dumps(r["detail"], sort_keys=True)} for r in rows]
    return "reverse-mentoring-audit.csv", csv_bytes(flat, COLUMNS)
