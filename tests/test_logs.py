"""Logs are JSON lines and never contain tokens, secrets or personal data."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.logs import REDACTED, RedactingJsonFormatter
from storage.db import Database
from storage.models import Participant


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


def test_personal_fields_are_scrubbed_from_extra() -> None:
    entry = _format(
        "enrolled",
        RedactingJsonFormatter(),
        user="U1",
        display_name="Zelda Secretname",
        personal_goals="learn to trust",
        payload={"view": {"department": "Secret Dept", "count": 2}, "text": "hello there"},
    )
    text = json.dumps(entry)
    assert "Zelda" not in text and "trust" not in text
    assert "Secret Dept" not in text and "hello there" not in text
    assert entry["user"] == "U1" and entry["display_name"] == REDACTED and "count" in text


def test_driver_row_values_are_scrubbed_from_exception_text() -> None:
    detail = (
        'null value in column "role" violates not-null constraint\n'
        "DETAIL:  Failing row contains (7, UPRIV01, null, Zelda Secretname).\n"
        "Key (slack_user_id, display_name)=(UPRIV01, Zelda Secretname) already exists.\n"
        "[SQL: INSERT INTO participant (display_name) VALUES (%(display_name)s)]\n"
        "[parameters: {'display_name': 'Zelda Secretname'}]"
    )
    try:
        raise RuntimeError(detail)
    except RuntimeError:
        record = logging.makeLogRecord(
            {"msg": "failed", "levelname": "ERROR", "name": "t", "exc_info": sys.exc_info()}
        )
    entry = json.loads(RedactingJsonFormatter().format(record))
    assert "Zelda" not in entry["exc"]
    assert "Key (slack_user_id, display_name)=(…)" in entry["exc"]
    assert "[SQL: INSERT INTO participant" in entry["exc"]


def test_a_database_error_logs_no_personal_data(database_url: str) -> None:
    """Forced IntegrityError with personal values: not in SQL logs, not in the traceback."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingJsonFormatter())
    root, engine_log = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    saved = (root.level, engine_log.level)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    engine_log.setLevel(logging.INFO)  # the most talkative SQLAlchemy gets: every statement
    database = Database(database_url)
    try:
        with pytest.raises(IntegrityError), database.session() as session:
            session.add(
                Participant(
                    program_id=987654,
                    slack_user_id="UPRIV001",
                    role=None,  # type: ignore[arg-type] - NOT NULL: the insert must fail
                    display_name="Zelda Secretname",
                    department="Secret Department",
                    personal_goals="my very private goal",
                    success_definition="my hidden success",
                )
            )
        with database.session() as session:
            session.execute(
                text("SELECT count(*) FROM participant WHERE display_name = :name"),
                {"name": "Zelda Secretname"},
            )
        try:
            with database.session() as session:
                session.add(
                    Participant(
                        program_id=987654,
                        slack_user_id="UPRIV003",
                        role=None,  # type: ignore[arg-type]
                        display_name="Zelda Secretname",
                    )
                )
        except IntegrityError:
            logging.getLogger("bot.test").exception("storing failed")
    finally:
        database.dispose()
        root.removeHandler(handler)
        root.setLevel(saved[0])
        engine_log.setLevel(saved[1])
    output = stream.getvalue()
    assert "storing failed" in output and "IntegrityError" in output
    assert "INSERT INTO participant" in output  # the statements were logged, their values not
    for secret in (
        "Zelda",
        "Secret Department",
        "my very private goal",
        "my hidden success",
    ):
        assert secret not in output
