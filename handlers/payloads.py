"""Reading what Slack sends, defensively: `view.state.values` (missing values become
None/empty) and the text of slash commands (mentions and Slack's escaping).

Values that are present are passed on as sent (ids of any length, options the form never
offered), so the validation layer (`bot.domain.validation`) can refuse them inline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.edge import BlockActions, SlashCommand, ViewSubmission, envelope_of

# Slack sends a mention in command text as <@U123> or <@U123|name> (`should_escape: true`).
_MENTION = re.compile(r"<@([UW][A-Z0-9]{1,31})(?:\|[^>]*)?>")
# With `should_escape`, Slack sends the person's own &, < and > as these entities.
_ENTITIES = {"&lt;": "<", "&gt;": ">", "&amp;": "&"}
_ENTITY = re.compile("|".join(re.escape(entity) for entity in _ENTITIES))


def unescape(text: str) -> str:
    """What the person typed, from Slack's escaped command text (once: `&amp;lt;` stays `&lt;`)."""
    return _ENTITY.sub(lambda found: _ENTITIES[found.group(0)], text)


def mentions(command_text: str) -> tuple[list[str], str]:
    """The user ids mentioned in a command's text (in order) and the words around them, as
    the person typed them (unescaped; whatever renders them escapes them again)."""
    ids = _MENTION.findall(command_text)
    words = _MENTION.sub(" ", command_text)
    return ids, unescape(words)


Values = dict[str, dict[str, dict[str, Any]]]


def command_of(context: Mapping[str, Any], command: dict[str, Any]) -> SlashCommand:
    """The slash command as the edge validated it (typed fields, no re-reading of the form)."""
    envelope = envelope_of(context)
    if isinstance(envelope, SlashCommand):
        return envelope
    return SlashCommand.model_validate(command)  # the same rule, for a caller without the edge


def click_of(context: Mapping[str, Any], body: dict[str, Any]) -> BlockActions:
    """A click (block_actions) as the edge validated it."""
    envelope = envelope_of(context)
    if isinstance(envelope, BlockActions):
        return envelope
    return BlockActions.model_validate(body)


def submission_of(context: Mapping[str, Any], body: dict[str, Any]) -> ViewSubmission:
    """A modal submission as the edge validated it."""
    envelope = envelope_of(context)
    if isinstance(envelope, ViewSubmission):
        return envelope
    return ViewSubmission.model_validate(body)


def _element(values: Values, field: str) -> dict[str, Any]:
    block = values.get(field) or {}
    element = block.get(field)
    if element is None and block:
        element = next(iter(block.values()))
    return element if isinstance(element, dict) else {}


def text(values: Values, field: str) -> str:
    value = _element(values, field).get("value")
    return value if isinstance(value, str) else ""


def lines(values: Values, field: str) -> list[str]:
    return [line.strip() for line in text(values, field).splitlines() if line.strip()]


def selected(values: Values, field: str) -> str | None:
    option = _element(values, field).get("selected_option")
    if isinstance(option, dict) and isinstance(option.get("value"), str):
        return option["value"]
    return None


def selected_many(values: Values, field: str) -> list[str]:
    options = _element(values, field).get("selected_options") or []
    return [o["value"] for o in options if isinstance(o, dict) and isinstance(o.get("value"), str)]


def _present(value: Any) -> str | None:
    """None when nothing was picked; anything else as a string, for validation to judge."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def user(values: Values, field: str) -> str | None:
    return _present(_element(values, field).get("selected_user"))


def users(values: Values, field: str) -> list[str]:
    value = _element(values, field).get("selected_users") or []
    if not isinstance(value, list):
        return [str(value)]
    return [item if isinstance(item, str) else str(item) for item in value]


def conversation(values: Values, field: str) -> str | None:
    element = _element(values, field)
    return _present(element.get("selected_conversation") or element.get("selected_channel"))


def day(values: Values, field: str) -> date | None:
    value = _element(values, field).get("selected_date")
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def integer(values: Values, field: str) -> int | None:
    value = _element(values, field).get("value")
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def state_values(body: dict[str, Any]) -> Values:
    values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    return values if isinstance(values, dict) else {}


def action_number(body: dict[str, Any]) -> int:
    """The clicked button's value as a number (ids, pages); 0 when missing or not a number."""
    actions = body.get("actions") or [{}]
    value = actions[0].get("value") if isinstance(actions[0], dict) else None
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def message_location(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel id, message ts) of the message whose button was clicked."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    ts = (body.get("message") or {}).get("ts") or container.get("message_ts")
    return channel, ts


def metadata(body: dict[str, Any]) -> dict[str, Any]:
    """The submitted or clicked view's private_metadata as a dict ({} when absent or bad)."""
    view = body.get("view")
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    return private_metadata(raw if isinstance(raw, str) else None)


def private_metadata(raw: str | None) -> dict[str, Any]:
    """A view's private_metadata as a dict ({} when absent or not a JSON object)."""
    try:
        data = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def number(data: dict[str, Any], key: str) -> int:
    """An integer from metadata; 0 when missing or not a number."""
    try:
        return int(data.get(key) or 0)
    except (TypeError, ValueError):
        return 0
