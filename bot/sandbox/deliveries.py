"""What a job run or a move of the clock did to the outbox, as the sandbox page shows it.

Messages the schedule starts wait for their recipient's working day, so a job run in Hanoi's
morning sends Hanoi's check-ins and queues Berlin's and New York's. The page says so: for each
message, who gets it (names, not ids), what it is, and when it arrives in the recipient's own
local time; then how many were sent, are waiting, or were cancelled (and why).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import zone
from storage.models import OutboxMessage, OutboxStatus

MAX_ROWS = 60


@dataclass(frozen=True)
class Addressee:
    """Who a message goes to, as people read it, and the zone its time is told in."""

    label: str  # "Owen Kim", "Owen Kim, Lena Weiß", "#reverse-mentoring"
    timezone: str | None  # a person's zone; None: told in UTC
    place: str | None  # "New York": whose local time it is


@dataclass(frozen=True)
class Line:
    to: str
    what: str
    status: str  # sent, waiting, held, cancelled, failed, sending
    when: str

    def as_dict(self) -> dict[str, str]:
        return {"to": self.to, "what": self.what, "status": self.status, "when": self.when}


def local_time(at: datetime, timezone: str | None) -> str:
    """`Mon 4 Jan 09:00` in the zone (UTC when None)."""
    local = at.astimezone(zone(timezone)) if timezone else at
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"


def _from_now(at: datetime, now: datetime) -> str:
    ahead = at - now
    if ahead <= timedelta(0):
        return "due now"
    minutes = int(ahead.total_seconds() // 60)
    if minutes < 60:
        return f"in {minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"in {hours} h" + (f" {minutes % 60} min" if minutes % 60 and hours < 3 else "")
    return f"in {hours // 24} days"


def _told(at: datetime, addressee: Addressee) -> str:
    if addressee.timezone and addressee.place:
        return f"{local_time(at, addressee.timezone)} their time ({addressee.place})"
    return f"{local_time(at, None)} UTC"


def _line(row: OutboxMessage, addressee: Addressee, now: datetime, held: bool) -> tuple[str, Line]:
    what = row.kind.replace("_", " ")
    status = str(row.status)
    if status == OutboxStatus.SENT:
        when = "arrived " + _told(row.sent_at or now, addressee)
    elif status == OutboxStatus.CANCELLED:
        when = "not sent: " + (row.cancelled_because or "its reason no longer held")
    elif status == OutboxStatus.FAILED:
        when = "failed: " + (row.last_error or "Slack refused it")
    elif status == OutboxStatus.PENDING and held:
        status = "held"
        when = "held by the kill switch until an admin types /mentoring hold off"
    else:
        status = "waiting" if status == OutboxStatus.PENDING else status
        when = f"arrives {_told(row.not_before, addressee)}, {_from_now(row.not_before, now)}"
    return status, Line(addressee.label, what, status, when)


def outbox_report(
    title: str,
    rows: Iterable[OutboxMessage],
    *,
    now: datetime,
    addressee: Callable[[str], Addressee],
    held: bool = False,
    skipped: int = 0,
    notes: Sequence[str] = (),
    empty: str = "Nothing was queued.",
) -> dict[str, object]:
    """The page's account of `rows`: a summary line, one line per message, and the HTML."""
    counts = {"sent": 0, "waiting": 0, "held": 0, "cancelled": 0, "failed": 0}
    lines: list[Line] = []
    ordered = sorted(rows, key=lambda r: (r.not_before, r.id or 0))
    for row in ordered:
        status, line = _line(row, addressee(row.recipient), now, held)
        counts["waiting" if status == "sending" else status] += 1
        lines.append(line)
    parts = [f"{counts['sent']} sent", f"{counts['waiting']} waiting"]
    parts += [f"{counts[k]} {k}" for k in ("held", "cancelled", "failed") if counts[k]]
    noun = "message" if len(lines) == 1 else "messages"
    summary = f"{len(lines)} {noun}: " + ", ".join(parts) if lines else empty
    if skipped:
        summary += f"; {skipped} skipped"
    return {
        "title": title,
        "summary": summary,
        "counts": counts,
        "lines": [line.as_dict() for line in lines],
        "notes": list(notes),
        "html": report_html(title, summary, notes, lines),
    }


def report_html(title: str, summary: str, notes: Sequence[str], lines: Sequence[Line]) -> str:
    esc = html.escape
    shown = lines[:MAX_ROWS]
    rows = "".join(
        f'<tr class="report-{esc(line.status)}"><td>{esc(line.to)}</td><td>{esc(line.what)}</td>'
        f'<td><span class="report-status">{esc(line.status)}</span> {esc(line.when)}</td></tr>'
        for line in shown
    )
    more = (
        f'<p class="report-more">… and {len(lines) - len(shown)} more</p>'
        if len(lines) > len(shown)
        else ""
    )
    listed = "".join(f"<li>{esc(note)}</li>" for note in notes)
    table = (
        "<table><thead><tr><th>To</th><th>Message</th><th>When</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    return (
        f'<div class="report-title">{esc(title)}</div>'
        f'<div class="report-summary">{esc(summary)}</div>'
        + (f'<ul class="report-notes">{listed}</ul>' if listed else "")
        + table
        + more
    )
