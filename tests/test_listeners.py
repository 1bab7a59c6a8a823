"""Every listener is a named module-level function of a handlers module (readable, importable
and testable alone), and the catch-all for unknown clicks comes last."""

from __future__ import annotations

import importlib

from slack_bolt import App

from bot.app import create_app
from bot.services import Services, build_services
from bot.settings import parse_settings
from handlers.fallback import on_unknown_action
from storage.db import Database


def _app() -> tuple[App, Services]:
    settings = parse_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "secret",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "DATABASE_URL": "sqlite://",
        }
    )
    services = build_services(settings, db=Database(settings.database_url))
    app, services = create_app(settings, services)
    return app, services


def test_every_listener_is_a_module_level_function() -> None:
    app, services = _app()
    listeners = [listener.ack_function for listener in app._listeners]
    try:
        assert len(listeners) >= 20
        for function in listeners:
            module = importlib.import_module(function.__module__)
            assert function.__module__.startswith("handlers."), function
            assert "<locals>" not in function.__qualname__, function.__qualname__
            assert getattr(module, function.__name__) is function
        assert listeners[-1] is on_unknown_action
        assert on_unknown_action not in listeners[:-1]
    finally:
        assert services.listener_executor is not None
        services.listener_executor.shutdown()
