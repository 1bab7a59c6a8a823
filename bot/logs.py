"""Logging that never prints tokens, secrets or personal data: JSON lines for machines, and
for a person at a terminal one short line per warning or error (plus the few start lines)."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

_TOKEN = re.compile(r"\b(xox[abposr]|xapp)-[A-Za-z0-9-]+")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
REDACTED = "[redacted]"
# What people typed or who they are: never logged, whatever the level or the logger.
PERSONAL_FIELDS = frozenset(
    {
        "display_name",
        "real_name",
        "full_name",
        "user_name",
        "username",
        "first_name",
        "last_name",
        "email",
        "phone",
        "title",
        "department",
        "seniority",
        "personal_goals",
        "success_definition",
        "goals",
        "goal",
        "measure",
        "manager",
        "managers",
        "manager_slack_id",
        "avoid",
        "avoid_slack_ids",
        "reason",
        "notes",
        "note",
        "comment",
        "answer",
        "answers",
        "text",
        "message_text",
        "profile",
        "body",
    }
)
# Database drivers quote row values in their own messages (PostgreSQL's DETAIL lines), and
# SQLAlchemy appends bound parameters unless the engine hides them.
_EXCEPTION_SCRUBS = (
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: hidden]"),
    (re.compile(r"Failing row contains \([^\n]*\)"), "Failing row contains (…)"),
    (re.compile(r"\bKey \(([^)\n]*)\)=\([^\n]*?\)( |\.|$)", re.M), r"Key (\1)=(…)\2"),
    (re.compile(r'(invalid input (?:syntax|value) for [^:\n]*): "[^\n]*"'), r'\1: "…"'),
)


def scrub_personal(value: Any) -> Any:
    """A copy of `value` with personal fields of dicts (at any depth) replaced."""
    if isinstance(value, dict):
        return {
            k: REDACTED if str(k).lower() in PERSONAL_FIELDS else scrub_personal(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_personal(v) for v in value]
    return value


def scrub_exception_text(text: str) -> str:
    for pattern, replacement in _EXCEPTION_SCRUBS:
        text = pattern.sub(replacement, text)
    return text


class RedactingJsonFormatter(logging.Formatter):
    """One JSON object a line; tokens, secrets and known personal fields are masked."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s and len(s) >= 6)

    def redact(self, text: str) -> str:
        text = _TOKEN.sub(lambda m: m.group(1) + "-***", text)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def fields(self, record: logging.LogRecord) -> dict[str, object]:
        """The record as masked fields: ts, level, logger, msg, extras, exc."""
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub_exception_text(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key in _STANDARD_ATTRS or key.startswith("_"):
                continue
            if key.lower() in PERSONAL_FIELDS:
                entry[key] = REDACTED
            elif isinstance(value, int | float | bool | None):
                entry[key] = value
            else:
                entry[key] = scrub_exception_text(str(scrub_personal(value)))
        if record.exc_info:
            entry["exc"] = scrub_exception_text(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = scrub_exception_text(record.exc_text)
        return entry

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(json.dumps(self.fields(record), ensure_ascii=False, default=str))


class ShortLineFormatter(RedactingJsonFormatter):
    """One line a person reads at a terminal, masked like the JSON lines: `warning: what
    (logger; extras) — the exception's last line`. A headline (a start line) is just its text."""

    _CORE = frozenset({"ts", "level", "logger", "msg", "exc", "headline"})

    def format(self, record: logging.LogRecord) -> str:
        entry = self.fields(record)
        lines = str(entry["msg"]).strip().splitlines() or [""]
        text = lines[0] + (" …" if len(lines) > 1 else "")
        extras = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in self._CORE)
        if entry.get("headline"):
            return self.redact(text + (f" ({extras})" if extras else ""))
        where = f" ({entry['logger']}" + (f"; {extras}" if extras else "") + ")"
        exception = str(entry.get("exc") or "").strip().splitlines()
        cause = f" — {exception[-1]}" if exception else ""
        return self.redact(f"{record.levelname.lower()}: {text}{where}{cause}")


def _for_a_person(record: logging.LogRecord) -> bool:
    """Warnings, errors and headlines (`extra={"headline": True}`: the start lines)."""
    return record.levelno >= logging.WARNING or bool(getattr(record, "headline", False))


def configure_logging(
    level: str = "INFO",
    secrets: tuple[str, ...] = (),
    stream: IO[str] | None = None,
    log_format: str = "json",
) -> None:
    """JSON lines at `level` (`log_format="json"`), or short lines of warnings, errors and
    headlines for a terminal (`"text"`)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "text":
        handler.setFormatter(ShortLineFormatter(secrets))
        handler.addFilter(_for_a_person)
    else:
        handler.setFormatter(RedactingJsonFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Bolt and slack_sdk log request bodies at DEBUG; keep them quieter than our own logs.
    for noisy in ("slack_bolt", "slack_sdk", "apscheduler", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.getLevelName(level), logging.INFO))
    # Alembic narrates every start at INFO; its news is only worth a line when it fails.
    # SQLAlchemy logs every statement at INFO: rows are people, so never below WARNING.
    for chatty in ("alembic", "sqlalchemy"):
        logging.getLogger(chatty).setLevel(max(logging.getLevelName(level), logging.WARNING))
