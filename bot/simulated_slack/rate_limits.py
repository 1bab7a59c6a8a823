"""Slack-like rate limits for the simulated Web API (token buckets answered with HTTP 429).

Numbers from https://api.slack.com/docs/rate-limits and slackapi/java-slack-sdk
MethodsRateLimits.java (see ``/work/shared/slack-platform-facts.md``): tiers are per method and
per workspace (Tier 1 = 1/min, 2 = 20/min, 3 = 50/min, 4 = 100/min); ``chat.postMessage`` has
its own limit of about one message per second per channel with short bursts, plus a
workspace-wide cap of several hundred a minute.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Final

TIER_PER_MINUTE: Final[Mapping[int, int]] = MappingProxyType({1: 1, 2: 20, 3: 50, 4: 100})

#: The tier of each method the simulated Slack limits (the app's and a few neighbours).
METHOD_TIERS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "auth.test": 4,
        "chat.postEphemeral": 4,
        "chat.update": 3,
        "chat.delete": 3,
        "conversations.open": 3,
        "conversations.info": 3,
        "conversations.history": 3,
        "conversations.join": 3,
        "conversations.members": 4,
        "views.open": 4,
        "views.update": 4,
        "views.push": 4,
        "views.publish": 4,
        "users.info": 4,
        "users.list": 2,
        "users.profile.get": 4,
        "team.profile.get": 3,
        "users.lookupByEmail": 3,
        "files.getUploadURLExternal": 4,
        "files.completeUploadExternal": 4,
        "reactions.add": 3,
    }
)


@dataclass(frozen=True)
class RateLimits:
    """A limits profile. ``per_minute`` maps a method to its workspace-wide calls per minute.

    Every bucket holds ``burst_seconds`` worth of calls (at least one), so a quiet client may
    burst briefly and a steady one is held to the rate, as Slack describes its limits.
    ``chat.postMessage`` is limited per channel (``post_per_channel_per_second`` with
    ``post_channel_burst``) and by ``post_per_minute`` for the whole workspace.
    """

    per_minute: Mapping[str, int] = field(default_factory=dict)
    post_per_channel_per_second: float = 1.0
    post_channel_burst: int = 3
    post_per_minute: int = 300
    burst_seconds: float = 6.0

    def with_changes(self, **changes: object) -> RateLimits:
        """A copy with some fields changed: ``SLACK_LIKE.with_changes(post_per_minute=600)``."""
        return replace(self, **changes)  # type: ignore[arg-type]


#: Slack's documented limits for the methods in :data:`METHOD_TIERS`.
SLACK_LIKE: Final = RateLimits(
    per_minute=MappingProxyType({m: TIER_PER_MINUTE[t] for m, t in METHOD_TIERS.items()})
)


class _Bucket:
    """A token bucket: ``capacity`` tokens, refilled at ``rate`` per second."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = max(1.0, capacity)
        self.rate = rate
        self.tokens = self.capacity
        self.stamp = now

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 when one is available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0


class RateLimiter:
    """Decides whether a call is over its limit; thread-safe."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def _bucket(self, key: tuple[str, str], capacity: float, rate: float, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(capacity, rate, now)
        return bucket

    def retry_after(self, method: str, channel: str | None = None) -> int | None:
        """None when the call may proceed (and is counted), else the whole seconds to wait."""
        limits = self.limits
        with self._lock:
            now = self._clock()
            buckets: list[_Bucket] = []
            if method == "chat.postMessage":
                rate = limits.post_per_channel_per_second
                if channel and rate > 0:
                    key = ("channel", channel)
                    buckets.append(self._bucket(key, limits.post_channel_burst, rate, now))
                if limits.post_per_minute > 0:
                    rate = limits.post_per_minute / 60.0
                    capacity = rate * limits.burst_seconds
                    buckets.append(self._bucket(("method", method), capacity, rate, now))
            else:
                per_minute = limits.per_minute.get(method)
                if per_minute:
                    rate = per_minute / 60.0
                    capacity = rate * limits.burst_seconds
                    buckets.append(self._bucket(("method", method), capacity, rate, now))
            wait = max((b.wait(now) for b in buckets), default=0.0)
            if wait > 0:
                return max(1, math.ceil(wait))
            for bucket in buckets:
                bucket.take()
            return None


class RandomRateLimits:
    """Answers a seeded random ``fraction`` of calls 429 (for benchmarks); thread-safe."""

    def __init__(
        self,
        fraction: float,
        *,
        retry_after: int = 1,
        seed: int = 0,
        methods: Iterable[str] | None = None,
    ) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must be between 0 and 1")
        self.fraction = fraction
        self.retry_after = retry_after
        self.methods = frozenset(methods) if methods is not None else None
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def hit(self, method: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        with self._lock:
            return self._random.random() < self.fraction
