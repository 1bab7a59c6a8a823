"""Bolt listeners: parse the Slack payload, call the domain, render a view, respond."""

from __future__ import annotations

from slack_bolt import App

from bot.app import Services


def register_all(app: App, services: Services) -> None:
    from handlers import commands, enrollment, events, home, matching, program

    routes = commands.Routes()
    events.register(app, services)
    home.register(app, services)
    program.register(app, services, routes)
    enrollment.register(app, services, routes)
    matching.register(app, services, routes)
    commands.register(app, services, routes)
