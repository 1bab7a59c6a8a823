"""Faults and rate limits: 429s, 5xx and error answers, and answers that never arrive."""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from bot.simulated_slack.rate_limits import RandomRateLimits, RateLimiter, RateLimits
from bot.simulated_slack.web_api.clocks import real_monotonic
from bot.simulated_slack.web_api.protocol import Reply, json_reply
from bot.simulated_slack.web_api.state import Workspace

# A held call goes ahead after this long even if the test never ends its holding block
# (a listener waiting for it must not hang the test run).
HOLD_LIMIT_SECONDS: Final = 30.0


@dataclass
class Fault:
    status: int
    retry_after: int | None
    error: str | None


class Faults(Workspace):
    """Injected failures (:meth:`fail_next`, :meth:`lose_answer_next`) and rate limits."""

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        ``status`` 429 answers with a ``Retry-After`` header (unless ``retry_after`` is None);
        500/503 answer with a JSON error body; ``status=200`` with ``error`` answers
        ``{"ok": false, "error": error}``. ``method`` may also be ``"response_url"`` or
        ``"upload"`` (the file upload POST).
        """
        with self._lock:
            queue = self._faults.setdefault(method, deque())
            for _ in range(times):
                queue.append(Fault(status=status, retry_after=retry_after, error=error))

    def lose_answer_next(self, method: str, times: int = 1, *, hang: float = 0.0) -> None:
        """The next ``times`` calls of ``method`` take effect but are never answered.

        The message is posted, the modal opened …, then the connection is closed without a
        response (after ``hang`` seconds, real time: longer than the client's timeout makes
        it a read timeout instead of a dropped connection). For exactly-once tests. ``method``
        may also be ``"response_url"``.
        """
        with self._lock:
            queue = self._lost.setdefault(method, deque())
            queue.extend([hang] * times)

    @contextlib.contextmanager
    def holding(self, *methods: str) -> Iterator[None]:
        """Calls of ``methods`` (Web API method names) wait, unanswered and unrecorded, until
        the block ends (or :data:`HOLD_LIMIT_SECONDS` pass); then they are handled as usual.
        :meth:`held` counts the calls waiting. A Slack as slow as the test wants: what the app
        answered meanwhile (an ack, a "still saving" modal) provably did not wait for them."""
        release = threading.Event()
        with self._lock:
            for method in methods:
                self._holds[method] = release
        try:
            yield
        finally:
            with self._lock:
                for method in methods:
                    if self._holds.get(method) is release:
                        del self._holds[method]
            release.set()

    def held(self, method: str) -> int:
        """How many calls of ``method`` are waiting in a :meth:`holding` block now."""
        with self._lock:
            return self._held[method]

    def _wait_if_held(self, method: str) -> None:
        with self._lock:
            release = self._holds.get(method)
            if release is None:
                return
            self._held[method] += 1
        try:
            release.wait(HOLD_LIMIT_SECONDS)
        finally:
            with self._lock:
                self._held[method] -= 1

    def _take_lost(self, method: str) -> float | None:
        with self._lock:
            queue = self._lost.get(method)
            return queue.popleft() if queue else None

    def random_rate_limits(
        self,
        fraction: float,
        *,
        retry_after: int = 1,
        seed: int = 0,
        methods: Iterable[str] | None = None,
    ) -> None:
        """Answer a seeded random ``fraction`` of calls (of ``methods``, default all) with 429
        and ``Retry-After: retry_after``; ``fraction=0`` turns it off."""
        with self._lock:
            self._random_429 = (
                RandomRateLimits(fraction, retry_after=retry_after, seed=seed, methods=methods)
                if fraction > 0
                else None
            )

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        """Switch the rate-limit profile (fresh buckets), or turn limits off with None."""
        with self._lock:
            self._limiter = RateLimiter(limits, real_monotonic) if limits else None

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            return queue.popleft() if queue else None

    @staticmethod
    def _fault_reply(fault: Fault) -> tuple[Reply, dict[str, Any]]:
        headers: dict[str, str] = {}
        if fault.status in (429, 503) and fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        default_errors = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}
        error = fault.error or default_errors.get(fault.status, "fatal_error")
        payload = {"ok": False, "error": error}
        return json_reply(fault.status, payload, headers), payload

    def _rate_limited(self, method: str, params: dict[str, Any]) -> int | None:
        """Seconds to wait when this call is over a limit (random 429s first), else None."""
        if self._random_429 is not None and self._random_429.hit(method):
            return self._random_429.retry_after
        if self._limiter is None:
            return None
        channel = params.get("channel")
        if isinstance(channel, str) and channel[:1] in ("U", "W"):
            channel = self.dm_channel(channel)
        return self._limiter.retry_after(method, channel if isinstance(channel, str) else None)
