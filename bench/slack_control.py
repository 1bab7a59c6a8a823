"""A control API beside a simulated Slack that runs in its own process (`bench.slack_process`).

In the tests the client and the simulated Slack share a process: `SlackRequests` asks the
`FakeSlack` for each request's trigger_id and response_url and reads the recorded calls. A
benchmark keeps Slack in a process of its own, so these go over HTTP (JSON answers):

- `POST /trigger`: a trigger_id issued now (its 3 seconds start when the command is sent).
- `POST /response_url` with `{"channel": …, "user": …}`: a response_url of the simulated Slack.
- `GET /views_open/<trigger_id>?timeout=S`: waits until the app's `views.open` for that
  trigger settled (opened, or refused other than by a 429 the app may still retry), at most S
  seconds; answers the trigger's issue time, every attempt (`at`, `ok`, `error`, `status`) and
  the opened view.
- `GET /summary`: calls per method (ok, and errors by code), and the texts of the answers the
  app posted to response URLs, counted.

The `views.open` calls are indexed by trigger as they are recorded (a thread reads the new
ones every 20 ms), so hundreds of people waiting for their modal cost one scan, not one each.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.simulated_slack import Call, FakeSlack
from bot.simulated_slack.web_api import real_time

POLL_SECONDS = 0.02


@dataclass
class _Trigger:
    issued_at: float
    attempts: list[Call] = field(default_factory=list)

    def settled(self) -> bool:
        return any(call.ok or call.status != 429 for call in self.attempts)


class ViewsOpenIndex:
    """The `views.open` attempts of each trigger issued here, kept up to date by a thread."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self._changed = threading.Condition()
        self._triggers: dict[str, _Trigger] = {}
        self._seen = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="views-open-index", daemon=True)
        self._thread.start()

    def issue(self) -> str:
        trigger_id = self.fake.issue_trigger()
        with self._changed:
            self._triggers[trigger_id] = _Trigger(issued_at=real_time())
        return trigger_id

    def _follow(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            calls = self.fake.calls("views.open")
            if len(calls) == self._seen:
                continue
            with self._changed:
                for call in calls[self._seen :]:
                    trigger = self._triggers.get(str(call.params.get("trigger_id")))
                    if trigger is not None:
                        trigger.attempts.append(call)
                self._seen = len(calls)
                self._changed.notify_all()

    def wait(self, trigger_id: str, timeout: float) -> dict[str, Any]:
        with self._changed:
            trigger = self._triggers.get(trigger_id)
            if trigger is None:
                return {"error": "unknown trigger"}
            settled = self._changed.wait_for(trigger.settled, timeout)
            opened = next((c for c in trigger.attempts if c.ok and c.response), None)
            return {
                "issued_at": trigger.issued_at,
                "settled": settled,
                "attempts": [
                    {"at": c.at, "ok": c.ok, "error": c.error, "status": c.status}
                    for c in trigger.attempts
                ],
                "view": opened.response.get("view") if opened and opened.response else None,
            }

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def summary(fake: FakeSlack) -> dict[str, Any]:
    methods: dict[str, dict[str, Any]] = defaultdict(lambda: {"ok": 0, "errors": Counter()})
    replies: Counter[str] = Counter()
    for call in fake.calls():
        entry = methods[call.method]
        if call.ok:
            entry["ok"] += 1
        else:
            entry["errors"][call.error or str(call.status)] += 1
        if call.method == "response_url" and call.ok:
            replies[str(call.params.get("text") or "")] += 1
    return {"methods": methods, "response_url_texts": replies}


class _Handler(BaseHTTPRequestHandler):
    server: ControlServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def _answer(self, payload: Any, status: int = 200) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        sent = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/trigger":
            self._answer({"trigger_id": self.server.index.issue()})
        elif self.path == "/response_url":
            fake = self.server.index.fake
            url = fake.response_url(channel=sent.get("channel"), user=sent.get("user"))
            self._answer({"url": url})
        else:
            self._answer({"error": "not found"}, 404)

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        parts = urlsplit(self.path)
        if parts.path.startswith("/views_open/"):
            trigger_id = parts.path[len("/views_open/") :]
            timeout = float(parse_qs(parts.query).get("timeout", ["10"])[0])
            self._answer(self.server.index.wait(trigger_id, timeout))
        elif parts.path == "/summary":
            self._answer(summary(self.server.index.fake))
        elif parts.path.startswith("/ephemeral/"):
            user = parts.path[len("/ephemeral/") :]
            messages = self.server.index.fake.ephemeral_messages(user)
            self._answer(
                {"messages": [{"text": m.get("text"), "blocks": m.get("blocks")} for m in messages]}
            )
        else:
            self._answer({"error": "not found"}, 404)


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, fake: FakeSlack) -> None:
        self.index = ViewsOpenIndex(fake)
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, name="slack-control", daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.index.stop()
