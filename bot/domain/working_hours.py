"""The one quiet-hours rule: a weekday inside the working hours, local to a person's zone.

Every message the schedule starts waits for it (the message kinds in bot/domain/notices.py
declare which), and the journey's slots and nudges are computed with it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.clock import zone
from bot.domain import programs
from storage.models import Program

DEFAULT_WORKING_HOURS = (9, 17)


def working_hours(program: Program | None) -> tuple[int, int]:
    """(first hour, end hour) of the local working day: the `working_hours` setting, or the
    default when it is not set or cannot be used."""
    return programs.read_working_hours(program, DEFAULT_WORKING_HOURS)


def next_good_time(at: datetime, timezone: str | None, hours: tuple[int, int]) -> datetime:
    """The first moment at or after `at` that is a weekday inside `hours`, local to `timezone`.

    Local wall times are converted with zoneinfo, so a DST change moves the UTC instant, not
    the local hour people see.
    """
    tz = zone(timezone)
    local = at.astimezone(tz)
    start, end = hours
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        opens = datetime.combine(day, time(start), tzinfo=tz)
        closes = datetime.combine(day, time(0), tzinfo=tz) + timedelta(hours=end)
        if local < closes:
            return max(local, opens).astimezone(at.tzinfo)
    return at  # unreachable: a week always has a weekday
