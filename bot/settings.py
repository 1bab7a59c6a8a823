"""Settings from the environment and a `.env` file, validated once at start."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///reverse_mentoring.db"
SUPPORTED_LOCALES = ("en", "de", "vi")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{2,})$")
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    admin_user_ids: frozenset[str] = field(default_factory=frozenset)
    recognition_channel: str | None = None
    default_locale: str = "en"
    log_level: str = "INFO"

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def __repr__(self) -> str:  # never print secrets, even by accident
        return (
            f"Settings(api_url={self.slack_api_url!r}, "
            f"database={_redact_url(self.database_url)!r}, "
            f"socket_mode={self.socket_mode}, admins={len(self.admin_user_ids)}, "
            f"default_locale={self.default_locale!r}, log_level={self.log_level!r})"
        )


def _redact_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _required(env: Mapping[str, str], name: str, prefix: str | None = None) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise SettingsError(f"{name} is missing: set it in the environment or in .env")
    if prefix and not value.startswith(prefix):
        raise SettingsError(f"{name} is malformed: it should start with '{prefix}'")
    return value


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = (env.get(name) or "").strip()
    return value or None


def parse_settings(env: Mapping[str, str]) -> Settings:
    """Validate a mapping of raw settings; raises SettingsError naming the first bad one."""
    bot_token = _required(env, "SLACK_BOT_TOKEN", "xoxb-")
    signing_secret = _required(env, "SLACK_SIGNING_SECRET")
    app_token = _optional(env, "SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN is malformed: it should start with 'xapp-'")

    api_url = _optional(env, "SLACK_API_URL") or DEFAULT_API_URL
    if not re.match(r"^https?://[^/\s]+", api_url):
        raise SettingsError("SLACK_API_URL is malformed: expected an http(s) URL")
    if not api_url.endswith("/"):
        api_url += "/"

    database_url = _optional(env, "DATABASE_URL") or DEFAULT_DATABASE_URL
    if database_url.startswith(("postgres://", "postgresql://")):
        # SQLAlchemy needs the driver named; psycopg 3 is the one we ship.
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    if not database_url.startswith(("sqlite://", "postgresql+psycopg://")):
        raise SettingsError(
            "DATABASE_URL is malformed: use sqlite:///path.db or postgresql+psycopg://user@host/db"
        )

    admins_raw = _optional(env, "ADMIN_USER_IDS") or ""
    admins = frozenset(part.strip() for part in admins_raw.split(",") if part.strip())
    bad_admins = sorted(a for a in admins if not _USER_ID.match(a))
    if bad_admins:
        raise SettingsError(
            f"ADMIN_USER_IDS is malformed: {', '.join(bad_admins)} is not a Slack user ID (U…)"
        )

    channel = _optional(env, "RECOGNITION_CHANNEL")
    if channel is not None and not _CHANNEL.match(channel):
        raise SettingsError(
            "RECOGNITION_CHANNEL is malformed: use a channel ID (C…) or #name in lower case"
        )

    locale = (_optional(env, "DEFAULT_LOCALE") or "en").lower().replace("_", "-").split("-")[0]
    if locale not in SUPPORTED_LOCALES:
        raise SettingsError(
            f"DEFAULT_LOCALE is malformed: use one of {', '.join(SUPPORTED_LOCALES)}"
        )

    log_level = (_optional(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in _LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL is malformed: use one of {', '.join(_LOG_LEVELS)}")

    return Settings(
        slack_bot_token=bot_token,
        slack_signing_secret=signing_secret,
        slack_app_token=app_token,
        slack_api_url=api_url,
        database_url=database_url,
        admin_user_ids=admins,
        recognition_channel=channel,
        default_locale=locale,
        log_level=log_level,
    )


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read `.env` (if present) under the real environment, which wins, then validate."""
    merged: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    settings = parse_settings(merged)
    logging.getLogger(__name__).debug("settings loaded", extra={"settings": repr(settings)})
    return settings
