"""App Home: published when someone opens the tab (handlers/app_home.py publishes it)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.services import Services
from handlers.app_home import publish_home
from handlers.context import services_of
from handlers.guard import listener


@listener
def on_home_opened(event: dict[str, Any], context: BoltContext) -> None:
    if event.get("tab", "home") != "home" or not isinstance(event.get("user"), str):
        return
    publish_home(services_of(context), event["user"])


def register(app: App, services: Services) -> None:
    app.event("app_home_opened")(on_home_opened)
