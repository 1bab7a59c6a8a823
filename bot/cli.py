"""`reverse-mentoring` (also `python -m bot`): serve, db upgrade."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reverse-mentoring", description="A Slack app for reverse mentoring programmes."
    )
    parser.add_argument("--env-file", default=".env", help="settings file (default: .env)")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the app (Socket Mode if SLACK_APP_TOKEN is set)")
    serve.add_argument("--http", action="store_true", help="serve HTTP even with an app token")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--threads", type=int, default=64)
    db = commands.add_parser("db", help="database tasks")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations")
    return parser


def _fail(message: str) -> int:
    print(f"reverse-mentoring: {message}", file=sys.stderr)
    return 2


def _check_slack(settings: Settings) -> str | None:
    """Fail fast with one clear line when the token or API URL is wrong."""
    from slack_sdk.errors import SlackApiError

    from bot.slack_api import make_web_client

    try:
        make_web_client(settings.slack_bot_token, settings.slack_api_url, timeout=10).auth_test()
    except SlackApiError as error:
        return f"SLACK_BOT_TOKEN was refused by Slack ({error.response.get('error')})"
    except Exception as error:  # noqa: BLE001 - any network failure gets one line
        return f"cannot reach SLACK_API_URL {settings.slack_api_url} ({type(error).__name__})"
    return None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.env_file)
    except SettingsError as error:
        return _fail(str(error))
    configure_logging(
        settings.log_level,
        secrets=(
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token or "",
        ),
    )
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import Database

    database = Database(settings.database_url)
    try:
        database.migrate()
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        return _fail(f"cannot open DATABASE_URL ({type(cause).__name__})")
    finally:
        database.dispose()
    if args.command == "db":
        log.info("database is up to date")
        return 0

    problem = _check_slack(settings)
    if problem:
        return _fail(problem)
    from bot.server import serve_http, serve_socket_mode

    if settings.socket_mode and not args.http:
        serve_socket_mode(settings)
    else:
        serve_http(settings, args.host, args.port, args.workers, args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
