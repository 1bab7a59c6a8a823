"""One validation layer for what people type or pick in a form, before anything is stored.

The rules are pure, so SQLite and PostgreSQL give the same answer: text PostgreSQL cannot store
(NUL, lone surrogates) is refused here rather than failing in the database, and values a form's
picker would never send (ids of the wrong shape, options not offered) are refused rather than
stored or read as a default. Messages are English msgids without parameters; the handler
translates them and shows them inline in the modal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date

from bot.i18n import N_

UserExists = Callable[[str], bool]

# C0 control characters except tab and newline; NUL is the one PostgreSQL cannot store at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
# Half of a surrogate pair: not encodable as UTF-8, so neither database can store it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Slack ids: an upper-case type letter, then upper-case letters and digits. Users are U or W
# (Enterprise Grid); channels a picker offers are C (public, and private since 2021) or G.
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,31}")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{1,31}")

EARLIEST_START = date(2000, 1, 1)
LATEST_START = date(2100, 12, 31)
MAX_PROGRAM_YEARS = 5

BAD_TEXT = N_("This text contains invisible or broken characters. Please remove them or retype it.")
BAD_USER = N_("That is not a Slack user. Pick someone from the list.")
BAD_USERS = N_("One of these is not a Slack user. Pick people from the list.")
UNKNOWN_USER = N_("I can't find that person in this workspace. Pick someone else.")
UNKNOWN_USERS = N_("I can't find one of these people in this workspace. Remove them.")
BAD_CHANNEL = N_("That is not a Slack channel. Pick one from the list.")
BAD_START = N_("Pick a start date between 2000 and 2100.")
BAD_END = N_("Pick an end date between 2000 and 2100.")
END_BEFORE_START = N_("The end date must be after the start date.")
TOO_LONG_PROGRAM = N_("A programme can run for five years at most.")


def text_error(value: str) -> str | None:
    """Why this text cannot be stored as typed, or None."""
    if _CONTROL.search(value) or _SURROGATE.search(value):
        return BAD_TEXT
    return None


def text_errors(fields: Mapping[str, str | Iterable[str]]) -> dict[str, str]:
    """Field -> message for every text (or list of lines) that cannot be stored."""
    errors: dict[str, str] = {}
    for name, value in fields.items():
        values = [value] if isinstance(value, str) else list(value)
        message = next((m for v in values if (m := text_error(v)) is not None), None)
        if message is not None:
            errors[name] = message
    return errors


def is_user_id(value: str) -> bool:
    return _USER_ID.fullmatch(value) is not None


def is_channel_id(value: str) -> bool:
    return _CHANNEL_ID.fullmatch(value) is not None


def user_error(user_id: str | None, user_exists: UserExists | None = None) -> str | None:
    """A picked user (None: nothing picked) must look like a Slack id and, when we can ask,
    be a person in the workspace."""
    if user_id is None:
        return None
    if not is_user_id(user_id):
        return BAD_USER
    if user_exists is not None and not user_exists(user_id):
        return UNKNOWN_USER
    return None


def users_error(user_ids: Iterable[str], user_exists: UserExists | None = None) -> str | None:
    ids = list(user_ids)
    if not all(is_user_id(user_id) for user_id in ids):
        return BAD_USERS
    if user_exists is not None and not all(user_exists(user_id) for user_id in ids):
        return UNKNOWN_USERS
    return None


def channel_error(channel_id: str | None) -> str | None:
    if channel_id is None or is_channel_id(channel_id):
        return None
    return BAD_CHANNEL


def program_dates_errors(start: date | None, end: date | None) -> dict[str, str]:
    """A start in a sane window, and an end after it by at most MAX_PROGRAM_YEARS.

    Missing dates are the caller's concern (each form words that itself).
    """
    errors: dict[str, str] = {}
    start_ok = start is not None and EARLIEST_START <= start <= LATEST_START
    if start is not None and not start_ok:
        errors["start_date"] = BAD_START
    if end is None:
        return errors
    if not start_ok:
        if not EARLIEST_START <= end <= LATEST_START:
            errors["end_date"] = BAD_END
        return errors
    assert start is not None
    if end <= start:
        errors["end_date"] = END_BEFORE_START
    elif end > _add_years(start, MAX_PROGRAM_YEARS):
        errors["end_date"] = TOO_LONG_PROGRAM
    return errors


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)
