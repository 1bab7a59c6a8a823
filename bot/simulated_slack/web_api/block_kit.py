"""Block Kit validation: the limits Slack enforces, in Slack's own wording."""

from __future__ import annotations

import json
from typing import Any, Final

from bot.simulated_slack.web_api.protocol import ApiError, text_of

MESSAGE_BLOCK_LIMIT: Final = 50
VIEW_BLOCK_LIMIT: Final = 100
VIEW_MAX_BYTES: Final = 250_000


def _check_len(
    errors: list[str], value: Any, max_len: int, pointer: str, *, min_len: int = 0
) -> None:
    if not isinstance(value, str):
        return
    if len(value) > max_len:
        errors.append(f"must be less than {max_len + 1} characters [json-pointer:{pointer}]")
    elif len(value) < min_len:
        errors.append(f"must be more than {min_len - 1} characters [json-pointer:{pointer}]")


def _check_count(errors: list[str], items: Any, max_items: int, pointer: str) -> None:
    if isinstance(items, list) and len(items) > max_items:
        errors.append(f"no more than {max_items} items allowed [json-pointer:{pointer}]")


_OPTION_LIMITS: Final = {
    "static_select": 100,
    "multi_static_select": 100,
    "radio_buttons": 10,
    "checkboxes": 10,
    "overflow": 5,
}
# Elements whose option texts may be mrkdwn; every other option text must be plain_text.
_MRKDWN_OPTIONS: Final = frozenset({"radio_buttons", "checkboxes"})
_INITIAL_ONE: Final = frozenset({"static_select", "radio_buttons"})
_INITIAL_MANY: Final = frozenset({"multi_static_select", "checkboxes"})
_TEXT_TYPES: Final = frozenset({"plain_text", "mrkdwn"})


def _check_text_type(errors: list[str], obj: Any, pointer: str, *, plain_only: bool) -> None:
    """A text object's ``type``: ``plain_text`` where Slack requires it, else either kind."""
    if not isinstance(obj, dict):
        return
    kind = obj.get("type")
    allowed = {"plain_text"} if plain_only else _TEXT_TYPES
    if kind is None:
        errors.append(f"missing required field: type [json-pointer:{pointer}/type]")
    elif kind not in allowed:
        errors.append(f"must be a valid enum value [json-pointer:{pointer}/type]")


def _check_options(errors: list[str], options: Any, pointer: str, *, plain_only: bool) -> None:
    if not isinstance(options, list):
        return
    for i, option in enumerate(options):
        if not isinstance(option, dict):
            continue
        _check_text_type(errors, option.get("text"), f"{pointer}/{i}/text", plain_only=plain_only)
        _check_len(errors, text_of(option.get("text")), 75, f"{pointer}/{i}/text/text")
        _check_len(errors, option.get("value"), 150, f"{pointer}/{i}/value")


def _option_key(option: Any) -> tuple[Any, Any]:
    if not isinstance(option, dict):
        return (None, None)
    return (option.get("value"), text_of(option.get("text")))


def _all_options(element: dict[str, Any]) -> list[Any]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options.extend(group.get("options") or [])
    return options


def _check_initial_options(errors: list[str], element: dict[str, Any], pointer: str) -> None:
    """Slack rejects an ``initial_option(s)`` that is not one of the element's options."""
    kind = element.get("type")
    known = {_option_key(o) for o in _all_options(element)}
    initial = element.get("initial_option")
    if kind in _INITIAL_ONE and initial is not None and _option_key(initial) not in known:
        errors.append(
            f"initial_option must match one of the options [json-pointer:{pointer}/initial_option]"
        )
    if kind in _INITIAL_MANY and isinstance(element.get("initial_options"), list):
        for i, option in enumerate(element["initial_options"]):
            if _option_key(option) not in known:
                errors.append(
                    "initial_options must match the options "
                    f"[json-pointer:{pointer}/initial_options/{i}]"
                )


def _check_image(errors: list[str], image: dict[str, Any], pointer: str) -> None:
    if not image.get("image_url") and not image.get("slack_file"):
        errors.append(f"missing required field: image_url [json-pointer:{pointer}]")
    if not isinstance(image.get("alt_text"), str) or not image["alt_text"]:
        errors.append(f"missing required field: alt_text [json-pointer:{pointer}]")
    _check_len(errors, image.get("alt_text"), 2000, f"{pointer}/alt_text")
    _check_len(errors, image.get("image_url"), 3000, f"{pointer}/image_url")


def _check_confirm(errors: list[str], confirm: Any, pointer: str) -> None:
    if not isinstance(confirm, dict):
        return
    for key in ("title", "confirm", "deny"):
        _check_text_type(errors, confirm.get(key), f"{pointer}/{key}", plain_only=True)
    _check_text_type(errors, confirm.get("text"), f"{pointer}/text", plain_only=False)


def _check_element(errors: list[str], element: Any, pointer: str) -> None:
    if not isinstance(element, dict):
        return
    kind = element.get("type")
    if kind == "image":
        _check_image(errors, element, pointer)
        return
    _check_len(errors, element.get("action_id"), 255, f"{pointer}/action_id")
    _check_text_type(errors, element.get("placeholder"), f"{pointer}/placeholder", plain_only=True)
    _check_len(errors, text_of(element.get("placeholder")), 150, f"{pointer}/placeholder/text")
    _check_confirm(errors, element.get("confirm"), f"{pointer}/confirm")
    if kind == "button":
        _check_text_type(errors, element.get("text"), f"{pointer}/text", plain_only=True)
        _check_len(errors, text_of(element.get("text")), 75, f"{pointer}/text/text", min_len=1)
        _check_len(errors, element.get("value"), 2000, f"{pointer}/value")
        _check_len(errors, element.get("url"), 3000, f"{pointer}/url")
    plain_options = kind not in _MRKDWN_OPTIONS
    if isinstance(kind, str) and kind in _OPTION_LIMITS:
        _check_count(errors, element.get("options"), _OPTION_LIMITS[kind], f"{pointer}/options")
        _check_options(
            errors, element.get("options"), f"{pointer}/options", plain_only=plain_options
        )
    groups = element.get("option_groups")
    if isinstance(groups, list):
        _check_count(errors, groups, 100, f"{pointer}/option_groups")
        for g, group in enumerate(groups):
            if isinstance(group, dict):
                gptr = f"{pointer}/option_groups/{g}"
                _check_text_type(errors, group.get("label"), f"{gptr}/label", plain_only=True)
                _check_len(errors, text_of(group.get("label")), 75, f"{gptr}/label/text")
                _check_count(errors, group.get("options"), 100, f"{gptr}/options")
                _check_options(errors, group.get("options"), f"{gptr}/options", plain_only=True)
    _check_initial_options(errors, element, pointer)


def validate_blocks(blocks: Any, *, max_blocks: int, pointer: str = "/blocks") -> list[str]:
    """Return Slack-style error strings for ``blocks`` (empty when valid)."""
    if not isinstance(blocks, list):
        return [f"must provide an array [json-pointer:{pointer}]"]
    errors: list[str] = []
    _check_count(errors, blocks, max_blocks, pointer)
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        bptr = f"{pointer}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"missing required field: type [json-pointer:{bptr}]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            _check_len(errors, block_id, 255, f"{bptr}/block_id")
            if block_id in seen_ids:
                errors.append(f"duplicate block_id {block_id!r} [json-pointer:{bptr}/block_id]")
            seen_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            text = text_of(block.get("text"))
            fields = block.get("fields")
            if text is None and not fields:
                errors.append(f"must provide text or fields [json-pointer:{bptr}]")
            _check_text_type(errors, block.get("text"), f"{bptr}/text", plain_only=False)
            _check_len(errors, text, 3000, f"{bptr}/text/text", min_len=1)
            _check_count(errors, fields, 10, f"{bptr}/fields")
            if isinstance(fields, list):
                for f, item in enumerate(fields):
                    _check_text_type(errors, item, f"{bptr}/fields/{f}", plain_only=False)
                    _check_len(errors, text_of(item), 2000, f"{bptr}/fields/{f}/text", min_len=1)
            _check_element(errors, block.get("accessory"), f"{bptr}/accessory")
        elif kind == "header":
            _check_text_type(errors, block.get("text"), f"{bptr}/text", plain_only=True)
            _check_len(errors, text_of(block.get("text")), 150, f"{bptr}/text/text", min_len=1)
        elif kind == "actions":
            elements = block.get("elements")
            _check_count(errors, elements, 25, f"{bptr}/elements")
            for e, element in enumerate(elements if isinstance(elements, list) else []):
                _check_element(errors, element, f"{bptr}/elements/{e}")
        elif kind == "context":
            elements = block.get("elements")
            _check_count(errors, elements, 10, f"{bptr}/elements")
            for e, element in enumerate(elements if isinstance(elements, list) else []):
                eptr = f"{bptr}/elements/{e}"
                if isinstance(element, dict) and element.get("type") == "image":
                    _check_image(errors, element, eptr)
                else:
                    _check_text_type(errors, element, eptr, plain_only=False)
        elif kind == "image":
            _check_image(errors, block, bptr)
            _check_text_type(errors, block.get("title"), f"{bptr}/title", plain_only=True)
        elif kind == "input":
            _check_text_type(errors, block.get("label"), f"{bptr}/label", plain_only=True)
            _check_text_type(errors, block.get("hint"), f"{bptr}/hint", plain_only=True)
            _check_len(errors, text_of(block.get("label")), 2000, f"{bptr}/label/text", min_len=1)
            _check_len(errors, text_of(block.get("hint")), 2000, f"{bptr}/hint/text")
            _check_element(errors, block.get("element"), f"{bptr}/element")
    return errors


def validate_view(view: Any, *, expected_type: str | None = None) -> tuple[str, list[str]] | None:
    """Return ``(error_code, errors)`` when Slack would reject ``view``; ``None`` when valid."""
    if not isinstance(view, dict):
        return "invalid_arguments", ["must provide an object [json-pointer:/view]"]
    if len(json.dumps(view).encode("utf-8")) > VIEW_MAX_BYTES:
        return "view_too_large", [f"view JSON larger than {VIEW_MAX_BYTES} bytes"]
    errors: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        errors.append("must be one of modal, home [json-pointer:/view/type]")
    elif expected_type is not None and kind != expected_type:
        errors.append(f"must be {expected_type} for this method [json-pointer:/view/type]")
    if kind == "modal":
        title = text_of(view.get("title"))
        if title is None:
            errors.append("missing required field: title [json-pointer:/view/title]")
        for key in ("title", "submit", "close"):
            _check_text_type(errors, view.get(key), f"/view/{key}", plain_only=True)
        _check_len(errors, title, 24, "/view/title/text", min_len=1)
        _check_len(errors, text_of(view.get("submit")), 24, "/view/submit/text", min_len=1)
        _check_len(errors, text_of(view.get("close")), 24, "/view/close/text", min_len=1)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            errors.append(
                "must provide submit when the view has input blocks [json-pointer:/view/submit]"
            )
    _check_len(errors, view.get("private_metadata"), 3000, "/view/private_metadata")
    _check_len(errors, view.get("callback_id"), 255, "/view/callback_id")
    _check_len(errors, view.get("external_id"), 255, "/view/external_id")
    errors.extend(
        validate_blocks(view.get("blocks", []), max_blocks=VIEW_BLOCK_LIMIT, pointer="/view/blocks")
    )
    return ("invalid_arguments", errors) if errors else None


def check_metadata(metadata: Any) -> None:
    """Message metadata: ``{"event_type": str, "event_payload": object}``, like Slack."""
    if metadata in (None, ""):
        return
    if not isinstance(metadata, dict):
        raise ApiError("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not isinstance(
        metadata.get("event_payload"), dict
    ):
        raise ApiError("invalid_metadata_schema")


def block_kit_error(error: str, errors: list[str]) -> ApiError:
    return ApiError(
        error, errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
    )
