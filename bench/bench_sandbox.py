"""The sandbox's start-up time and an interaction's round trip (click to re-rendered view).

Starts the sandbox as `reverse-mentoring sandbox` would (real app, simulated Slack, page API),
then times, over HTTP as the page does: a slash command that answers in the DM, opening a modal,
and submitting it. Issue 10's targets: start under 5 s, round trip under 300 ms.

    python -m bench.bench_sandbox [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
import urllib.request
from typing import Any

from bot.sandbox.server import Sandbox
from bot.sandbox.workspace import ADMIN_ID

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _page_token(url: str) -> str:
    """The token the page sends with its API calls, read from the page as the browser does."""
    with _OPENER.open(url, timeout=10) as response:
        page = response.read()
    found = re.search(rb'<meta name="sandbox-token" content="([^"]+)">', page)
    if found is None:
        raise SystemExit("the sandbox page carries no API token")
    return found.group(1).decode()


def _post(url: str, token: str, path: str, **body: Any) -> dict[str, Any]:
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-Sandbox-Token": token},
        method="POST",
    )
    with _OPENER.open(request, timeout=10) as response:
        return json.loads(response.read())


def _timed(rounds: int, action: Any) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        sandbox = Sandbox(port=0, people=12, seed=1, database_url=f"sqlite:///{folder}/s.db")
        url = sandbox.start()
        startup = time.perf_counter() - started
        try:
            token = _page_token(url)
            help_times = _timed(
                args.rounds,
                lambda: _post(url, token, "/api/command", user=ADMIN_ID, text="/mentoring help"),
            )

            def open_and_close() -> None:
                opened = _post(url, token, "/api/command", user=ADMIN_ID, text="/mentoring program")
                modal = opened["state"]["modal"]["id"]
                _post(url, token, "/api/close", user=ADMIN_ID, view_id=modal)

            modal_times = _timed(args.rounds, open_and_close)
        finally:
            sandbox.stop()
    print(f"start-up: {startup:.2f} s (target < 5 s)")
    for name, times in (("/mentoring help", help_times), ("open + close a modal", modal_times)):
        print(
            f"{name:<22} median {statistics.median(times) * 1000:6.1f} ms  "
            f"max {max(times) * 1000:6.1f} ms  (target < 300 ms per interaction)"
        )
    ok = startup < 5 and statistics.median(help_times) < 0.3
    print("targets met:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
