"""Settings: validation, defaults, and one clear line on a bad setting (no stack trace)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings, parse_settings

ROOT = Path(__file__).resolve().parents[1]
VALID = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "s3cr3t-value"}


def test_every_setting_is_read() -> None:
    settings = parse_settings(
        VALID
        | {
            "SLACK_APP_TOKEN": "xapp-1-A1-xyz",
            "SLACK_API_URL": "http://127.0.0.1:9999/api",
            "DATABASE_URL": "postgresql://u@127.0.0.1/test",
            "ADMIN_USER_IDS": "U01ABC, W02DEF ,",
            "RECOGNITION_CHANNEL": "#mentoring-wins",
            "DEFAULT_LOCALE": "de-DE",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.socket_mode is True
    assert settings.has_slack_credentials is True
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.database_url == "postgresql+psycopg://u@127.0.0.1/test"
    assert settings.admin_user_ids == frozenset({"U01ABC", "W02DEF"})
    assert settings.recognition_channel == "#mentoring-wins"
    assert settings.default_locale == "de"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN is malformed"),
        ("SLACK_APP_TOKEN", "xoxb-wrong", "SLACK_APP_TOKEN is malformed"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL is malformed"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL is malformed"),
        ("ADMIN_USER_IDS", "U01ABC,alice", "ADMIN_USER_IDS is malformed"),
        ("RECOGNITION_CHANNEL", "Mentoring Wins", "RECOGNITION_CHANNEL is malformed"),
        ("DEFAULT_LOCALE", "fr", "DEFAULT_LOCALE is malformed"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL is malformed"),
        ("PULSE_SECRET", "short", "PULSE_SECRET is too short"),
    ],
)
def test_bad_setting_is_named(name: str, value: str, fragment: str) -> None:
    with pytest.raises(SettingsError, match=fragment):
        parse_settings(VALID | {name: value})


def test_slack_credentials_are_optional_until_serve() -> None:
    settings = parse_settings({"SLACK_SIGNING_SECRET": "  "})
    assert settings.missing_slack_credentials() == ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]
    assert settings.has_slack_credentials is False


def test_repr_hides_secrets() -> None:
    pulse_secret = "p" * 40
    settings = parse_settings(
        VALID | {"DATABASE_URL": "postgresql://u:pw@h/db", "PULSE_SECRET": pulse_secret}
    )
    shown = repr(settings)
    assert "xoxb-1-2-abc" not in shown and "s3cr3t-value" not in shown and ":pw@" not in shown
    assert pulse_secret not in shown and settings.pulse_key() == pulse_secret.encode()


def test_env_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=file-secret\nLOG_LEVEL=DEBUG\n"
    )
    for key in list(os.environ):
        if key.startswith(("SLACK_", "DATABASE_URL", "ADMIN_", "LOG_LEVEL", "DEFAULT_LOCALE")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("ADMIN_USER_IDS", "U01ABC,W02DEF")
    settings = load_settings(env_file)
    assert settings.slack_bot_token == "xoxb-from-file"
    assert settings.log_level == "WARNING"
    assert settings.admin_user_ids == frozenset({"U01ABC", "W02DEF"})


def test_a_bad_value_in_the_env_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("DEFAULT_LOCALE=fr\n")
    monkeypatch.delenv("DEFAULT_LOCALE", raising=False)
    with pytest.raises(SettingsError, match="^DEFAULT_LOCALE is malformed"):
        load_settings(env_file)


def _run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_", "PULSE_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=clean | env | {"PYTHONPATH": str(ROOT)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _lines(stderr: str) -> list[str]:
    """What a person reads: the non-JSON lines (JSON lines are the structured log)."""
    return [line for line in stderr.splitlines() if line.strip() and not line.startswith("{")]


def test_serve_without_slack_credentials_points_to_sandbox_and_demo(tmp_path: Path) -> None:
    result = _run_cli(["serve"], {"SLACK_SIGNING_SECRET": "x" * 12}, tmp_path)
    assert result.returncode != 0
    assert _lines(result.stderr) == [
        "reverse-mentoring: SLACK_BOT_TOKEN is missing: set it in the environment or in .env "
        "(to try the app without Slack, run `reverse-mentoring sandbox` or "
        "`reverse-mentoring demo`)"
    ]
    assert "Traceback" not in result.stderr


def test_serve_and_the_survey_jobs_need_the_pulse_secret(tmp_path: Path) -> None:
    """Pulse answers are sealed with PULSE_SECRET, which lives outside the database."""
    database = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    for args in (["serve"], ["jobs", "run", "pulse"], ["jobs", "run", "match_check"]):
        result = _run_cli(args, VALID | database, tmp_path)
        assert result.returncode != 0
        lines = _lines(result.stderr)
        assert len(lines) == 1 and lines[0].startswith("reverse-mentoring: PULSE_SECRET is missing")
        assert "Traceback" not in result.stderr
    # The other jobs and commands run without it.
    assert _run_cli(["jobs", "run", "digest"], VALID | database, tmp_path).returncode == 0


def test_a_missing_env_file_is_an_error(tmp_path: Path) -> None:
    result = _run_cli(["--env-file", str(tmp_path / "missing.env"), "db", "upgrade"], {}, tmp_path)
    assert result.returncode != 0
    assert _lines(result.stderr) == [
        f"reverse-mentoring: the settings file {tmp_path / 'missing.env'} does not exist "
        "(--env-file)"
    ]
    assert not (tmp_path / "reverse_mentoring.db").exists()


def test_db_upgrade_needs_no_slack_credentials(tmp_path: Path) -> None:
    database = tmp_path / "cli.db"
    result = _run_cli(["db", "upgrade"], {"DATABASE_URL": f"sqlite:///{database}"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert _lines(result.stderr) == []
    import sqlite3

    tables = {
        row[0]
        for row in sqlite3.connect(database).execute(
            "select name from sqlite_master where type='table'"
        )
    }
    assert {"program", "participant", "pair", "outbox_message", "job_run"} <= tables
