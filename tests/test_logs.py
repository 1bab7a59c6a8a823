"""Logs are JSON lines and never contain tokens or secrets."""

from __future__ import annotations

import json
import logging

from bot.logs import RedactingJsonFormatter


def _format(message: str, formatter: RedactingJsonFormatter, **extra: object) -> dict:
    record = logging.makeLogRecord({"msg": message, "levelname": "INFO", "name": "t", **extra})
    return json.loads(formatter.format(record))


def test_tokens_and_secrets_are_masked() -> None:
    formatter = RedactingJsonFormatter(secrets=("my-signing-secret",))
    entry = _format(
        "calling with xoxb-123-456-abcdef and xapp-1-A-zzz, secret my-signing-secret",
        formatter,
        detail="Bearer xoxb-999-888-777",
    )
    text = json.dumps(entry)
    assert "xoxb-123" not in text and "xapp-1-A" not in text and "my-signing-secret" not in text
    assert "xoxb-***" in entry["msg"] and "***" in entry["detail"]


def test_structured_fields_are_kept() -> None:
    entry = _format("enrolled", RedactingJsonFormatter(), user="U1", fresh=True)
    assert entry["msg"] == "enrolled" and entry["user"] == "U1" and entry["fresh"] is True
    assert entry["level"] == "INFO" and entry["ts"].endswith("+00:00")
