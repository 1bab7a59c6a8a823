"""Bolt listeners, one module per feature: parse the payload, call the domain, render a view,
respond. Each module's `register(app, services)` only maps ids to its module-level listeners."""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from handlers import (
    audit,
    campaigns,
    commands,
    directory,
    enrollment,
    events,
    fallback,
    home,
    journey,
    matching,
    program,
    pulse,
    recognition,
    report,
    roster,
)
from handlers.context import ProvideServices


def register_listeners(app: App, services: Services) -> None:
    app.middleware(ProvideServices(services))  # first: every listener reads its services
    # Bolt tries listeners in order; `/mentoring` (the busiest) matches only commands.
    commands.register(app, services)
    events.register(app, services)
    home.register(app, services)
    program.register(app, services)
    enrollment.register(app, services)
    matching.register(app, services)
    journey.register(app, services)
    pulse.register(app, services)
    report.register(app, services)
    recognition.register(app, services)
    audit.register(app, services)
    roster.register(app, services)
    directory.register(app, services)
    campaigns.register(app, services)
    fallback.register(app, services)  # last: only clicks no other listener matched
