"""Small pure builders over slack_sdk.models: they validate Slack's limits as they render."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import (
    ConfirmObject,
    MarkdownTextObject,
    Option,
    OptionGroup,
    PlainTextObject,
)
from slack_sdk.models.blocks.block_elements import BlockElement, InputInteractiveElement
from slack_sdk.models.views import View

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
SECTION_TEXT_LIMIT = 3000


def escape(text: str) -> str:
    """Someone's text made inert in mrkdwn (Slack's three entities): no mentions, links or
    channel-wide pings can ride in on it. Only for mrkdwn; plain_text shows these literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Fit text into a Slack limit without breaking it mid-way silently."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: str, limit: int = 3000) -> PlainTextObject:
    return PlainTextObject(text=clip(text, limit), emoji=True)


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=plain(text, 150))


def section(
    text: str, *, accessory: BlockElement | None = None, block_id: str | None = None
) -> SectionBlock:
    return SectionBlock(
        text=MarkdownTextObject(text=clip(text, SECTION_TEXT_LIMIT)),
        accessory=accessory,
        block_id=block_id,
    )


def fields(items: list[str], block_id: str | None = None) -> SectionBlock:
    return SectionBlock(
        fields=[MarkdownTextObject(text=clip(item, 2000)) for item in items[:10]], block_id=block_id
    )


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, 3000))])


def divider() -> DividerBlock:
    return DividerBlock()


def button(
    text: str,
    action_id: str,
    value: str = "",
    *,
    style: str | None = None,
    url: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=plain(text, 75),
        action_id=action_id,
        value=value or None,
        style=style,
        url=url,
        confirm=confirm,
    )


def confirm(title: str, text: str, yes: str, no: str) -> ConfirmObject:
    """Slack's "are you sure?" dialog before a button acts."""
    return ConfirmObject(
        title=plain(title, 100),
        text=PlainTextObject(text=clip(text, 300)),
        confirm=plain(yes, 30),
        deny=plain(no, 30),
        style="danger",
    )


def actions(*elements: BlockElement, block_id: str | None = None) -> ActionsBlock:
    return ActionsBlock(elements=list(elements), block_id=block_id)


def option(text: str, value: str, description: str | None = None) -> Option:
    return Option(
        text=plain(text, 75),
        value=value,
        description=plain(description, 75) if description else None,
    )


def option_group(label: str, options: list[Option]) -> OptionGroup:
    return OptionGroup(label=plain(label, 75), options=options[:100])


def input_block(
    field: str,
    label: str,
    element: InputInteractiveElement,
    *,
    optional: bool = False,
    hint: str | None = None,
    dispatch_action: bool = False,
) -> InputBlock:
    """An input whose block_id and action_id are both the form field's name; with
    `dispatch_action`, picking a value sends a block action (the form can adapt)."""
    element.action_id = field
    return InputBlock(
        block_id=field,
        label=plain(label, 2000),
        element=element,
        optional=optional,
        hint=plain(hint, 2000) if hint else None,
        dispatch_action=dispatch_action or None,
    )


def render(blocks: list[Block]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]


def message(text: str, blocks: list[Block] | None = None) -> dict[str, Any]:
    """A message payload: plain `text` fallback always, at most 50 blocks."""
    rendered = render(blocks or [])
    if len(rendered) > MESSAGE_BLOCK_LIMIT:
        raise ValueError(f"a message holds at most {MESSAGE_BLOCK_LIMIT} blocks")
    payload: dict[str, Any] = {"text": clip(text, 3000)}
    if rendered:
        payload["blocks"] = rendered
    return payload


def modal(
    *,
    title: str,
    blocks: list[Block],
    callback_id: str,
    submit: str | None = None,
    close: str | None = None,
    private_metadata: str = "",
    external_id: str | None = None,
) -> dict[str, Any]:
    view = View(
        type="modal",
        title=plain(title, 24),
        submit=plain(submit, 24) if submit else None,
        close=plain(close, 24) if close else None,
        blocks=blocks,
        callback_id=callback_id,
        private_metadata=private_metadata or None,
        external_id=external_id,
    )
    rendered = view.to_dict()
    if len(rendered.get("blocks", [])) > VIEW_BLOCK_LIMIT:
        raise ValueError(f"a view holds at most {VIEW_BLOCK_LIMIT} blocks")
    return rendered


def notice_modal(*, title: str, text: str, close: str, callback_id: str) -> dict[str, Any]:
    """A modal that only tells something (progress, success, failure)."""
    return modal(title=title, close=close, callback_id=callback_id, blocks=[section(text)])


def home(blocks: list[Block]) -> dict[str, Any]:
    view = View(type="home", blocks=blocks)
    rendered = view.to_dict()
    if len(rendered.get("blocks", [])) > VIEW_BLOCK_LIMIT:
        raise ValueError(f"a view holds at most {VIEW_BLOCK_LIMIT} blocks")
    return rendered
