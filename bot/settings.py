"""Settings from the environment and a `.env` file (pydantic-settings), validated once at start.

Every problem becomes a `SettingsError` whose message is one line naming the setting. The Slack
credentials are optional here because `db upgrade` (and the sandbox) run without them; `serve`
asks `missing_slack_credentials()` before it starts. `PULSE_SECRET` likewise: `serve` and the
survey jobs need it, the sandbox and the demo bring their own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///reverse_mentoring.db"
SUPPORTED_LOCALES = ("en", "de", "vi")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{2,})$")
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
MIN_PULSE_SECRET = 32
_LOG_FORMATS = ("auto", "json", "text")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


PULSE_SECRET_MISSING = (
    "PULSE_SECRET is missing: set it in the environment or in .env to a random value of at "
    "least 32 characters and keep it (python3 -c 'import secrets; "
    "print(secrets.token_urlsafe(32))'); pulse answers are sealed with it"
)


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _prefixed(value: str | None, prefix: str) -> str | None:
    if value is not None and not value.startswith(prefix):
        raise ValueError(f"is malformed: it should start with '{prefix}'")
    return value


class Settings(BaseSettings):
    """The validated configuration; attribute names are the settings' names in lower case."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", case_sensitive=False, env_file_encoding="utf-8"
    )

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    # NoDecode: a comma-separated list, not JSON.
    admin_user_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    recognition_channel: str | None = None
    default_locale: str = "en"
    log_level: str = "INFO"
    # Seals pulse-survey ballots (bot/domain/ballots.py); never stored in the database.
    pulse_secret: str | None = None
    log_format: str = "auto"  # auto: short lines on a terminal, JSON lines otherwise

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str | None) -> str | None:
        return _prefixed(value, "xoxb-")

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        return _prefixed(value, "xapp-")

    @field_validator("slack_api_url", mode="before")
    @classmethod
    def _api_url(cls, value: str | None) -> str:
        url = value or DEFAULT_API_URL
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError("is malformed: expected an http(s) URL")
        return url if url.endswith("/") else url + "/"

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: str | None) -> str:
        url = value or DEFAULT_DATABASE_URL
        if url.startswith(("postgres://", "postgresql://")):
            # SQLAlchemy needs the driver named; psycopg 3 is the one we ship.
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        if not url.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError(
                "is malformed: use sqlite:///path.db or postgresql+psycopg://user@host/db"
            )
        return url

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _admins(cls, value: Any) -> frozenset[str]:
        if value is None:
            return frozenset()
        parts = value.split(",") if isinstance(value, str) else list(value)
        admins = frozenset(str(p).strip() for p in parts if str(p).strip())
        bad = sorted(a for a in admins if not _USER_ID.match(a))
        if bad:
            raise ValueError(f"is malformed: {', '.join(bad)} is not a Slack user ID (U…)")
        return admins

    @field_validator("recognition_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL.match(value):
            raise ValueError("is malformed: use a channel ID (C…) or #name in lower case")
        return value

    @field_validator("pulse_secret")
    @classmethod
    def _pulse_secret(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_PULSE_SECRET:
            raise ValueError(
                f"is too short: use at least {MIN_PULSE_SECRET} random characters "
                "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return value

    @field_validator("default_locale", mode="before")
    @classmethod
    def _locale(cls, value: str | None) -> str:
        locale = (value or "en").lower().replace("_", "-").split("-")[0]
        if locale not in SUPPORTED_LOCALES:
            raise ValueError(f"is malformed: use one of {', '.join(SUPPORTED_LOCALES)}")
        return locale

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: str | None) -> str:
        level = (value or "INFO").upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"is malformed: use one of {', '.join(_LOG_LEVELS)}")
        return level

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: str | None) -> str:
        fmt = (value or "auto").lower()
        if fmt not in _LOG_FORMATS:
            raise ValueError(f"is malformed: use one of {', '.join(_LOG_FORMATS)}")
        return fmt

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The real environment wins over .env; no secrets directory.
        return init_settings, env_settings, dotenv_settings

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def missing_slack_credentials(self) -> list[str]:
        """Names of the Slack credentials `serve` needs but that are not set."""
        return [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", self.slack_bot_token),
                ("SLACK_SIGNING_SECRET", self.slack_signing_secret),
            )
            if value is None
        ]

    @property
    def has_slack_credentials(self) -> bool:
        return not self.missing_slack_credentials()

    def pulse_key(self) -> bytes:
        """PULSE_SECRET as bytes; `serve` and the survey jobs refuse to start without it."""
        if self.pulse_secret is None:
            raise SettingsError(PULSE_SECRET_MISSING)
        return self.pulse_secret.encode("utf-8")

    def __repr__(self) -> str:  # never print secrets, even by accident
        return (
            f"Settings(api_url={self.slack_api_url!r}, "
            f"database={_redact_url(self.database_url)!r}, "
            f"slack_credentials={self.has_slack_credentials}, "
            f"socket_mode={self.socket_mode}, admins={len(self.admin_user_ids)}, "
            f"default_locale={self.default_locale!r}, log_level={self.log_level!r}, "
            f"pulse_secret={self.pulse_secret is not None})"
        )

    __str__ = __repr__


def _redact_url(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _one_line(error: ValidationError) -> SettingsError:
    first = error.errors(include_url=False)[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
    cause = (first.get("ctx") or {}).get("error")
    detail = str(cause) if isinstance(cause, ValueError) else f"is malformed: {first['msg']}"
    return SettingsError(f"{name} {detail}")


class _MappingOnly(Settings):
    """Validation of an explicit mapping: no environment, no .env."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def parse_settings(env: Mapping[str, str]) -> Settings:
    """Validate a mapping of raw settings; raises SettingsError naming the first bad one."""
    fields = Settings.model_fields
    values = {k.lower(): v for k, v in env.items() if k.lower() in fields}
    try:
        parsed = _MappingOnly(**values)
    except ValidationError as error:
        raise _one_line(error) from None
    return Settings.model_construct(**parsed.model_dump())


def load_settings(env_file: str | Path | None = ".env") -> Settings:
    """Read `.env` (if present) under the real environment, which wins, then validate.

    An explicitly named file that does not exist is an error; the default `.env` is optional.
    """
    if env_file is not None and not Path(env_file).is_file():
        if str(env_file) != ".env":
            raise SettingsError(f"the settings file {env_file} does not exist (--env-file)")
        env_file = None
    try:
        settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as error:
        raise _one_line(error) from None
    logging.getLogger(__name__).debug("settings loaded", extra={"settings": repr(settings)})
    return settings
