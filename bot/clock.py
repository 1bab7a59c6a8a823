"""The one clock: every timestamp the app writes or compares comes from here.

Production uses `SystemClock` (UTC now; freezegun moves it in tests). The sandbox and the demo
install a `ManualClock` to jump to the next hour, day, week or month; `jobs run --at` a
`ShiftedClock` (that moment, then passing at real speed). There is one clock path:
the clock in force is process-wide because rows get their timestamps deep inside storage, and
everything else reads the same one (`Services.clock` is this clock; `build_services(clock=…)`
and `Services.use_clock` install it). `install()` returns the previous one so a test can put
it back.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (the sandbox's and the demo's simulated time)."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = _aware(when)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


class ShiftedClock:
    """Real time shifted to start at `start`: a simulated moment that passes at real speed
    (`jobs run --at`), so waiting out a rate limit moves it as it moves real time."""

    def __init__(self, start: datetime, real: Clock | None = None) -> None:
        self._real = real or SystemClock()
        self._offset = _aware(start) - self._real.now()

    def now(self) -> datetime:
        return self._real.now() + self._offset


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_installed: Clock = SystemClock()


def install(clock: Clock) -> Clock:
    """Makes `clock` the process's clock; returns the one it replaces."""
    global _installed
    previous, _installed = _installed, clock
    return previous


def current() -> Clock:
    return _installed


def utcnow() -> datetime:
    """Now, in UTC, from the installed clock."""
    return _installed.now()


def today_in(timezone: str | None, clock: Clock | None = None) -> date:
    """The calendar date in `timezone` (an IANA name; UTC when missing or unknown)."""
    now = (clock or _installed).now()
    return now.astimezone(zone(timezone)).date()


def zone(timezone: str | None) -> ZoneInfo:
    """The IANA zone, or UTC when the name is missing or unknown."""
    if timezone:
        try:
            return ZoneInfo(timezone)
        except (KeyError, ValueError):
            pass
    return ZoneInfo("UTC")
