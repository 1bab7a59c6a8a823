"""When people can meet: a person's hours of one week as a bitmap of quarter hours in UTC.

Bit k of a week's bitmap is the quarter hour starting k * 15 minutes after Monday 00:00 UTC.
Local hours are converted with zoneinfo for the real dates of that week, so a week after a
daylight-saving change shifts the UTC bits, not the local hours people see. The bitmap wraps
around the week (Auckland's Monday morning is Sunday evening in UTC). Quarter hours keep
India (+5:30) and Nepal (+5:45) exact.

Pure and cached: a pool of thousands of people has only a few hundred distinct schedules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

SLOT_MINUTES = 15
SLOTS_PER_HOUR = 60 // SLOT_MINUTES
WEEK_SLOTS = 7 * 24 * SLOTS_PER_HOUR
FULL_WEEK = (1 << WEEK_SLOTS) - 1
WORKDAYS = 5  # Monday to Friday: bits 0-4 of a weekday mask
# A fixed week for fixed UTC offsets, when no calendar week is given (no DST either way).
_REFERENCE_MONDAY = date(2024, 1, 1)

# A person's zone: an IANA name, or a fixed UTC offset in minutes (Slack's tz_offset).
Zone = str | int


@dataclass(frozen=True)
class MatchingWeek:
    """The week pairs are judged for, and the programme's working day (local hours).

    ``monday`` None: no calendar, every zone is its fixed UTC offset (tests, benchmarks).
    """

    monday: date | None = None
    working_hours: tuple[int, int] = (9, 17)


def week_after(day: date) -> date:
    """The Monday of the week after ``day``: new pairs meet from then on."""
    return day + timedelta(days=7 - day.weekday())


def _tz(zone: Zone) -> tzinfo:
    if isinstance(zone, int):
        return timezone(timedelta(minutes=zone))
    try:
        return ZoneInfo(zone)
    except (KeyError, ValueError):
        return UTC


def span(first: int, last: int) -> int:
    """Bits ``first`` up to (not including) ``last``, wrapped around the week."""
    length = last - first
    if length <= 0:
        return 0
    if length >= WEEK_SLOTS:
        return FULL_WEEK
    bits = ((1 << length) - 1) << (first % WEEK_SLOTS)
    return (bits | (bits >> WEEK_SLOTS)) & FULL_WEEK


@lru_cache(maxsize=16384)
def weekly_slots(zone: Zone, weekdays: int, window: tuple[int, int], monday: date | None) -> int:
    """The quarter hours of the week inside the local ``window`` (start hour, end hour) on the
    weekdays set in ``weekdays`` (bit 0 Monday .. bit 4 Friday), as a bitmap in UTC."""
    tz = _tz(zone)
    first_day = monday or _REFERENCE_MONDAY
    frame = datetime.combine(first_day, time(0), tzinfo=UTC)
    start_hour, end_hour = window
    bits = 0
    for index in range(WORKDAYS):
        if not weekdays >> index & 1:
            continue
        midnight = datetime.combine(first_day + timedelta(days=index), time(0), tzinfo=tz)
        # Wall-clock arithmetic: 09:00 local whatever the offset is that day.
        opens = (midnight + timedelta(hours=start_hour)).astimezone(UTC)
        closes = (midnight + timedelta(hours=end_hour)).astimezone(UTC)
        first = -((frame - opens) // timedelta(minutes=SLOT_MINUTES))  # round up
        last = (closes - frame) // timedelta(minutes=SLOT_MINUTES)  # round down
        bits |= span(first, last)
    return bits


def hours_of(slots: int) -> int:
    """Whole hours in a number of quarter hours."""
    return slots // SLOTS_PER_HOUR


def run_starts(bits: int, length: int) -> int:
    """The quarter hours where ``length`` consecutive bits begin (around the week): two
    people share such a run exactly where both their run-start bitmaps have a bit."""
    doubled = bits | (bits << WEEK_SLOTS)
    starts = doubled
    for step in range(1, length):
        starts &= doubled >> step
    return starts & FULL_WEEK


def longest_run(bits: int) -> int:
    """The longest stretch of consecutive quarter hours (around the week)."""
    if bits == FULL_WEEK:
        return WEEK_SLOTS
    run = bits | (bits << WEEK_SLOTS)
    length = 0
    while run:
        run &= run >> 1
        length += 1
    return length
