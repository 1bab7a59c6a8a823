"""`reverse-mentoring sandbox`: the real app, a simulated Slack, and a page to use them.

Three parts run in one process, each on its own loopback port:
- the simulated Slack Web API (`bot.simulated_slack.FakeSlack`), where the app's calls go;
- the real app (`bot.server.Runtime`: Bolt app, listeners, scheduler, storage) behind its WSGI
  front, reached only by requests signed exactly as Slack signs them;
- the sandbox page and its small JSON API, which plays Slack's client: it turns a click into the
  signed payload Slack would send, keeps each member's modal stack, and renders what the
  simulated workspace holds (DMs, group DMs, channels, App Home, modals, files).
No handler or job knows it runs in the sandbox.

`Sandbox` is the `Driver` (driver.py: the first two parts, and Slack's client acting for the
members) plus the page: each member's state (page.py) served by the routes of routes.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.sandbox import DEFAULT_DATABASE_URL
from bot.sandbox.driver import Driver, serve
from bot.sandbox.page import file_bytes, member_list, member_state, member_times
from bot.sandbox.routes import PageRoutes
from bot.sandbox.workspace import SeedPerson


class Sandbox(Driver):
    def __init__(
        self,
        *,
        port: int = 3000,
        people: int = 12,
        seed: int = 1,
        database_url: str = DEFAULT_DATABASE_URL,
        host: str = "127.0.0.1",
        start_at: datetime | None = None,
        with_scheduler: bool = True,
        serve_page: bool = True,
        example: bool = False,
        cast: list[SeedPerson] | None = None,
        channels: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(
            people=people,
            seed=seed,
            database_url=database_url,
            host=host,
            start_at=start_at,
            with_scheduler=with_scheduler,
            example=example,
            cast=cast,
            channels=channels,
        )
        self.port = port
        self.serve_page = serve_page
        self.wsgi = PageRoutes(self)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> str:
        """Starts the simulated Slack and the app, then the page (unless `serve_page` is off)."""
        self.start_app()
        if self.serve_page:
            ui = serve(self.wsgi, self.host, self.port)
            self._servers.append(ui)
            self.port = ui.server_port
        return self.url

    # ------------------------------------------------------------------ what a member sees

    def state(self, user_id: str) -> dict[str, Any]:
        self._track_views()  # a slow listener may open its modal after the click has settled
        session = self.sessions.get(user_id)
        if session is None:
            return {"error": "unknown member"}
        now = self.clock.now()
        state = member_state(self.fake, self.people, user_id, session, now)
        hours, _held = self.programme_hours()
        state["members"] = member_times(self.people, self.timezone_of, now, hours)
        return state

    def members(self) -> list[dict[str, Any]]:
        return member_list(self.people)

    def file_bytes(self, file_id: str) -> tuple[str, bytes] | None:
        return file_bytes(self.fake, file_id)
