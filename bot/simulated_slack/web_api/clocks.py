"""The simulated Slack's clocks: real time, even while a test has frozen time with freezegun.

Trigger expiry (3 s), response_url expiry, rate limits and the ``wait_for`` timeouts run on
*real* time even while a test has frozen the clock with freezegun. freezegun does not patch only
the calling thread: while a freeze is active it replaces ``time.time``/``time.monotonic``/
``time.perf_counter`` for the whole process (every thread, including the server's request
threads), and it also rewrites every module-level global that still refers to one of the real
functions. A plain ``_clock = time.perf_counter`` global would therefore be swapped for the
fake as well, and a ``wait_for`` deadline computed from it would never arrive. We take
``time.perf_counter`` (and ``time.time`` for :attr:`Call.at`) once at import and keep the
references inside a tuple, which freezegun's module scan does not look into; if this module
happens to be imported while a freeze is already active we fetch freezegun's saved real
functions instead.

The other modules call :func:`trigger_clock` and :func:`response_url_clock` through this
module (``clocks.trigger_clock()``), so a test moves them with
``monkeypatch.setattr(web_api.clocks, "trigger_clock", ...)``; ``FakeSlack(clock=...)`` wins
over :func:`response_url_clock` (the sandbox passes its simulated clock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final


def _resolve_real(name: str) -> Callable[[], float]:
    func: Callable[[], float] = getattr(time, name)
    if getattr(func, "__module__", "") == "time":
        return func
    # Imported while freezegun is active: time.<name> is freezegun's fake right now.
    from freezegun import api as freezegun_api  # pragma: no cover - only under an active freeze

    return getattr(freezegun_api, f"real_{name}")  # type: ignore[no-any-return]


# Kept in a tuple on purpose: freezegun rewrites module globals that point at the real
# functions, but it does not look inside containers (see the module docstring).
_REAL_CLOCKS: Final[tuple[Callable[[], float], Callable[[], float]]] = (
    _resolve_real("perf_counter"),
    _resolve_real("time"),
)


def real_monotonic() -> float:
    """A monotonic clock that freezegun does not affect."""
    return _REAL_CLOCKS[0]()


def real_time() -> float:
    """The real wall clock (seconds since the epoch), unaffected by freezegun."""
    return _REAL_CLOCKS[1]()


def trigger_clock() -> float:
    """The clock trigger expiry is measured on. Monkeypatch this in tests to age triggers."""
    return real_monotonic()


def response_url_clock() -> float:
    """The default clock response_url expiry is measured on (``FakeSlack(clock=...)`` wins)."""
    return real_monotonic()


TRIGGER_TTL_SECONDS: Final = 3.0
RESPONSE_URL_TTL_SECONDS: Final = 30 * 60.0
RESPONSE_URL_MAX_USES: Final = 5
