"""Filling a modal the way Slack's client does: `view.state.values` from a view and answers.

Inputs the answers do not mention keep their initial value (Slack sends those too), so a script
(the demo) can submit a prefilled modal by naming only what it changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return [dict(o) for o in options]


def option_values(view: Mapping[str, Any], block_id: str) -> list[str]:
    """The values a select, radio or checkbox input of the view offers."""
    for block in view.get("blocks") or []:
        if block.get("block_id") == block_id:
            element = block.get("element") or block.get("accessory") or {}
            return [str(o.get("value")) for o in _options(element)]
    return []


def _pick(element: Mapping[str, Any], wanted: Iterable[str]) -> list[dict[str, Any]]:
    by_value = {str(o.get("value")): o for o in _options(element)}
    return [
        {"value": value, "text": by_value[value].get("text")}
        for value in wanted
        if value in by_value
    ]


def _initial(element: Mapping[str, Any]) -> Any:
    kind = element.get("type")
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        return element.get("initial_value")
    if kind == "datepicker":
        return element.get("initial_date")
    if kind == "timepicker":
        return element.get("initial_time")
    if kind in ("static_select", "radio_buttons", "external_select"):
        option = element.get("initial_option")
        return option.get("value") if isinstance(option, dict) else None
    if kind in ("multi_static_select", "checkboxes"):
        return [o.get("value") for o in element.get("initial_options") or []]
    if kind == "users_select":
        return element.get("initial_user")
    if kind == "multi_users_select":
        return list(element.get("initial_users") or [])
    if kind in ("conversations_select", "channels_select"):
        return element.get("initial_conversation") or element.get("initial_channel")
    return None


def element_state(element: Mapping[str, Any], answer: Any) -> dict[str, Any]:
    """One element's entry in `state.values`, shaped as Slack sends it."""
    kind = str(element.get("type"))
    state: dict[str, Any] = {"type": kind}
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        state["value"] = None if answer is None else str(answer)
    elif kind == "datepicker":
        state["selected_date"] = answer
    elif kind == "timepicker":
        state["selected_time"] = answer
    elif kind in ("static_select", "radio_buttons", "external_select", "overflow"):
        picked = _pick(element, [answer] if answer is not None else [])
        state["selected_option"] = picked[0] if picked else None
    elif kind in ("multi_static_select", "checkboxes"):
        state["selected_options"] = _pick(element, list(answer or []))
    elif kind == "users_select":
        state["selected_user"] = answer
    elif kind == "multi_users_select":
        state["selected_users"] = list(answer or [])
    elif kind == "conversations_select":
        state["selected_conversation"] = answer
    elif kind == "channels_select":
        state["selected_channel"] = answer
    return state


def fill(view: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """`state.values` for `view`: `answers` by block id, initial values for the rest."""
    values: dict[str, dict[str, Any]] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block.get("element") or {}
        block_id = str(block.get("block_id"))
        answer = answers[block_id] if block_id in answers else _initial(element)
        values[block_id] = {str(element.get("action_id")): element_state(element, answer)}
    return values
