"""Slack's profile as a roster source: which custom profile fields hold the department, the
manager and the office (an admin's mapping), and the roster values one profile gives.

Pure: `team.profile.get` and `users.profile.get` answers come in as dicts, values go out.
A manager field is a Slack "user" field holding a user id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from bot.i18n import N_

DEPARTMENT: Final = "department"
MANAGER: Final = "manager"
OFFICE: Final = "office"
MAPPED: Final = (DEPARTMENT, MANAGER, OFFICE)
TITLE: Final = "title"  # the standard profile's title: read or not
USER_FIELD: Final = "user"
# The roster column each mapped field fills, and how long a value may be.
COLUMNS: Final = {
    DEPARTMENT: ("department", 100),
    MANAGER: ("manager_slack_id", 32),
    OFFICE: ("office", 100),
}
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")


@dataclass(frozen=True)
class ProfileField:
    id: str
    label: str
    kind: str  # Slack's type: text, user, options_list, date, link, ...


def team_fields(answer: dict[str, Any]) -> list[ProfileField]:
    """The custom fields of a `team.profile.get` answer (hidden ones left out)."""
    fields = ((answer.get("profile") or {}).get("fields")) or []
    return [
        ProfileField(str(f["id"]), str(f.get("label") or f["id"]), str(f.get("type") or "text"))
        for f in fields
        if isinstance(f, dict) and f.get("id") and not f.get("is_hidden")
    ]


def mapping_errors(mapping: dict[str, Any], known: dict[str, str]) -> dict[str, str]:
    """Problems of a mapping (field -> English message) given the team's fields (id -> type)."""
    errors: dict[str, str] = {}
    for name in MAPPED:
        field_id = mapping.get(name)
        if field_id is None:
            continue
        if field_id not in known:
            errors[name] = N_("That profile field no longer exists; pick another.")
        elif name == MANAGER and known[field_id] != USER_FIELD:
            errors[name] = N_("The manager field must be a person field (it holds a Slack user).")
    return errors


def clean_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    """The mapping as stored: the mapped field ids, and whether the title is read."""
    cleaned: dict[str, Any] = {
        name: str(mapping[name]) for name in MAPPED if isinstance(mapping.get(name), str)
    }
    cleaned[TITLE] = bool(mapping.get(TITLE))
    return cleaned


def is_mapped(mapping: dict[str, Any]) -> bool:
    return bool(mapping.get(TITLE)) or any(mapping.get(name) for name in MAPPED)


def roster_values(profile: dict[str, Any], mapping: dict[str, Any]) -> dict[str, str | None]:
    """The roster columns one `users.profile.get` profile fills under `mapping` (a column
    whose field the person left empty becomes None; unmapped columns are not included)."""
    filled = profile.get("fields") or {}
    values: dict[str, str | None] = {}
    for name in MAPPED:
        field_id = mapping.get(name)
        if not field_id:
            continue
        column, limit = COLUMNS[name]
        entry = filled.get(field_id) if isinstance(filled, dict) else None
        raw = entry.get("value") if isinstance(entry, dict) else None
        value = str(raw).strip() if raw else ""
        if name == MANAGER:
            value = value if _USER_ID.match(value) else ""
        values[column] = value[:limit] or None
    if mapping.get(TITLE):
        title = str(profile.get("title") or "").strip()
        values["title"] = title[:200] or None
    return values
