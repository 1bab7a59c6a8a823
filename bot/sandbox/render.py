"""Block Kit and mrkdwn rendered as HTML, for the sandbox page and the demo's transcript.

Pure functions: blocks in, an HTML string out. Interactive elements carry `data-*` attributes
(block id, action id, element type) that the sandbox page's script reads to build the payloads
Slack would send (`block_actions` on a click, `view.state.values` on a submit). Anything this
renderer does not know is shown as a visible placeholder, never dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

EMOJI = {
    "tada": "🎉",
    "wave": "👋",
    "rocket": "🚀",
    "star": "⭐",
    "star2": "🌟",
    "sparkles": "✨",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "x": "❌",
    "warning": "⚠️",
    "calendar": "📆",
    "date": "📅",
    "spiral_calendar_pad": "🗓️",
    "books": "📚",
    "book": "📖",
    "blue_book": "📘",
    "bulb": "💡",
    "raised_hands": "🙌",
    "clap": "👏",
    "handshake": "🤝",
    "trophy": "🏆",
    "medal": "🏅",
    "sports_medal": "🏅",
    "mortar_board": "🎓",
    "memo": "📝",
    "pencil": "📝",
    "thumbsup": "👍",
    "+1": "👍",
    "heart": "❤️",
    "smile": "😄",
    "slightly_smiling_face": "🙂",
    "seedling": "🌱",
    "chart_with_upwards_trend": "📈",
    "bar_chart": "📊",
    "email": "📧",
    "envelope": "✉️",
    "lock": "🔒",
    "bell": "🔔",
    "mega": "📣",
    "loudspeaker": "📢",
    "speech_balloon": "💬",
    "eyes": "👀",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "coffee": "☕",
    "point_right": "👉",
    "busts_in_silhouette": "👥",
    "bust_in_silhouette": "👤",
    "question": "❓",
    "information_source": "ℹ️",
    "pray": "🙏",
    "muscle": "💪",
    "zzz": "💤",
    "pause_button": "⏸️",
    "calendar_spiral": "🗓️",
    "dart": "🎯",
    "compass": "🧭",
    "globe_with_meridians": "🌐",
    "page_facing_up": "📄",
    "paperclip": "📎",
    "link": "🔗",
    "gift": "🎁",
    "confetti_ball": "🎊",
    "partying_face": "🥳",
    "fire": "🔥",
    "100": "💯",
    "calling": "📲",
    "alarm_clock": "⏰",
    "clock": "🕐",
    "red_circle": "🔴",
    "large_green_circle": "🟢",
    "large_yellow_circle": "🟡",
}


@dataclass
class RenderContext:
    """What the renderer needs from the workspace: names for ids and choices for pickers."""

    users: Mapping[str, str] = field(default_factory=dict)  # user id -> display name
    channels: Mapping[str, str] = field(default_factory=dict)  # channel id -> name (no '#')
    errors: Mapping[str, str] = field(default_factory=dict)  # block id -> inline error
    # The view id or message ts being rendered: radio groups are named after it, so the same
    # surface renders the same HTML each time and two messages' groups never merge.
    scope: str = ""

    def user_name(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)

    def channel_name(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _attrs(**attributes: Any) -> str:
    parts = []
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        key = name.rstrip("_").replace("_", "-")
        parts.append(key if value is True else f'{key}="{_e(value)}"')
    return " ".join(parts)


def placeholder(what: str) -> str:
    """A visible stand-in for something this renderer does not know."""
    return f'<div class="bk-unknown">{_e("Not shown in the sandbox: " + what)}</div>'


# ---------------------------------------------------------------------------------------- mrkdwn

_SPECIAL = re.compile(r"<([^<>\n]+)>")
_PRE = re.compile(r"```(.+?)```", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])")
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")
_SAFE_URL = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)


def _unescape_slack(text: str) -> str:
    """Slack's three entities; what the person typed comes back as they typed it."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _special(token: str, ctx: RenderContext) -> str:
    """`<@U1>`, `<#C1|name>`, `<!here>`, `<https://x|label>` as HTML."""
    target, _sep, label = token.partition("|")
    if target.startswith("@"):
        return f'<span class="bk-mention">@{_e(ctx.user_name(target[1:]))}</span>'
    if target.startswith("#"):
        name = label or ctx.channel_name(target[1:])
        return f'<span class="bk-mention">#{_e(name)}</span>'
    if target.startswith("!"):
        word = target[1:].split("^")[0]
        return f'<span class="bk-mention">@{_e(label or word)}</span>'
    url = _unescape_slack(target)
    text = _unescape_slack(label) if label else url
    if not _SAFE_URL.match(url):
        return _e(f"<{token}>")
    return f'<a href="{_e(url)}" target="_blank" rel="noopener">{_e(text)}</a>'


def mrkdwn(text: str, ctx: RenderContext | None = None) -> str:
    """Slack mrkdwn as HTML: bold, italic, strike, code, quotes, links, mentions, emoji."""
    ctx = ctx or RenderContext()
    stash: list[str] = []

    def keep(rendered: str) -> str:
        stash.append(rendered)
        return f"\x00{len(stash) - 1}\x00"

    text = _PRE.sub(lambda m: keep(f"<pre>{_e(_unescape_slack(m.group(1)))}</pre>"), text)
    text = _CODE.sub(lambda m: keep(f"<code>{_e(_unescape_slack(m.group(1)))}</code>"), text)
    text = _SPECIAL.sub(lambda m: keep(_special(m.group(1), ctx)), text)
    lines = []
    for line in text.split("\n"):
        quoted = line.startswith(">")
        body = line[1:].lstrip() if quoted else line
        body = _e(_unescape_slack(body))
        body = _BOLD.sub(r"<b>\1</b>", body)
        body = _ITALIC.sub(r"<i>\1</i>", body)
        body = _STRIKE.sub(r"<s>\1</s>", body)
        body = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), body)
        lines.append(f"<blockquote>{body}</blockquote>" if quoted else body)
    rendered = "<br>".join(lines).replace("</blockquote><br><blockquote>", "<br>")
    return re.sub(r"\x00(\d+)\x00", lambda m: stash[int(m.group(1))], rendered)


def text_object(obj: Any, ctx: RenderContext) -> str:
    """A plain_text or mrkdwn text object (or a bare string) as HTML."""
    if isinstance(obj, str):
        return _e(obj)
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text") or "")
    if obj.get("type") == "mrkdwn":
        return mrkdwn(text, ctx)
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), _e(text))


def _plain(obj: Any) -> str:
    """The raw text of a text object (for attributes and option labels)."""
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return str(obj or "")


# ---------------------------------------------------------------------------------------- elements


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return [o for o in options if isinstance(o, dict)]


def _selected_values(element: dict[str, Any]) -> set[str]:
    initial = element.get("initial_option")
    values = {initial.get("value")} if isinstance(initial, dict) else set()
    for option in element.get("initial_options") or []:
        if isinstance(option, dict):
            values.add(option.get("value"))
    for key in ("initial_user", "initial_conversation", "initial_channel"):
        if element.get(key):
            values.add(element[key])
    for key in ("initial_users", "initial_conversations", "initial_channels"):
        values.update(element.get(key) or [])
    return {str(v) for v in values if v is not None}


def _option_tags(
    choices: Iterable[tuple[str, str]], selected: set[str], placeholder_text: str, multiple: bool
) -> str:
    hint = _e(placeholder_text or "—")
    # A multi-select has no empty choice; its placeholder is shown as a disabled first line.
    tags = [
        f'<option value="" disabled>{hint}</option>'
        if multiple
        else f'<option value="">{hint}</option>'
    ]
    for value, label in choices:
        tags.append(
            f"<option {_attrs(value=value, data_text=label, selected=value in selected)}>"
            f"{_e(label)}</option>"
        )
    return "".join(tags)


def _select(element: dict[str, Any], ctx: RenderContext, common: str) -> str:
    kind = str(element.get("type"))
    multiple = kind.startswith("multi_")
    base = kind.removeprefix("multi_")
    if base in ("static_select", "external_select"):
        choices: list[tuple[str, str]] = []
        groups = element.get("option_groups")
        if groups:
            hint = _e(_plain(element.get("placeholder")) or "—")
            body = f'<option value=""{" disabled" if multiple else ""}>{hint}</option>'
            selected = _selected_values(element)
            for group in groups:
                inner = "".join(
                    f"<option {_attrs(value=o.get('value'), data_text=_plain(o.get('text')))}"
                    f"{' selected' if o.get('value') in selected else ''}>"
                    f"{_e(_plain(o.get('text')))}</option>"
                    for o in group.get("options") or []
                )
                body += f'<optgroup label="{_e(_plain(group.get("label")))}">{inner}</optgroup>'
            return f"<select {common}{' multiple' if multiple else ''}>{body}</select>"
        choices = [(str(o.get("value")), _plain(o.get("text"))) for o in _options(element)]
    elif base == "users_select":
        choices = sorted(ctx.users.items(), key=lambda item: item[1].lower())
    elif base in ("conversations_select", "channels_select"):
        choices = [(cid, "#" + name) for cid, name in sorted(ctx.channels.items())]
    else:
        return placeholder(kind)
    body = _option_tags(
        choices, _selected_values(element), _plain(element.get("placeholder")), multiple
    )
    return f"<select {common}{' multiple' if multiple else ''}>{body}</select>"


def _choices(element: dict[str, Any], common: str, ctx: RenderContext, block_id: str) -> str:
    kind = element.get("type")
    input_type = "radio" if kind == "radio_buttons" else "checkbox"
    selected = _selected_values(element)
    name = f"{ctx.scope}-{block_id}-{element.get('action_id')}"
    rows = []
    for option in _options(element):
        value = str(option.get("value"))
        description = option.get("description")
        attributes = _attrs(
            type=input_type,
            name=name,
            value=value,
            data_text=_plain(option.get("text")),
            checked=value in selected,
        )
        rows.append(
            f"<label class='bk-choice'><input {attributes}>"
            f" {text_object(option.get('text'), ctx)}"
            + (f"<small>{text_object(description, ctx)}</small>" if description else "")
            + "</label>"
        )
    return f'<div {common} class="bk-choices">{"".join(rows)}</div>'


def element_html(
    element: Any, ctx: RenderContext, *, block_id: str, interactive_kind: str = "action"
) -> str:
    """One element. `interactive_kind` is 'action' (sends block_actions) or 'input' (a form)."""
    if not isinstance(element, dict):
        return placeholder("an element that is not an object")
    kind = str(element.get("type"))
    common = _attrs(
        data_kind=interactive_kind,
        data_type=kind,
        data_block_id=block_id,
        data_action_id=element.get("action_id") or "",
    )
    if kind == "button":
        style = element.get("style")
        classes = "bk-button" + (f" bk-{style}" if style in ("primary", "danger") else "")
        value = _attrs(data_value=element.get("value"), data_url=element.get("url"))
        return (
            f'<button type="button" class="{classes}" {common} {value}>'
            f"{text_object(element.get('text'), ctx)}</button>"
        )
    if kind == "image":
        return (
            f'<img class="bk-thumb" {_attrs(src=element.get("image_url"))}'
            f' alt="{_e(element.get("alt_text") or "")}">'
        )
    if kind in ("plain_text_input", "number_input", "email_text_input", "url_text_input"):
        value = element.get("initial_value") or ""
        hint = _plain(element.get("placeholder"))
        if element.get("multiline"):
            return f'<textarea {common} placeholder="{_e(hint)}" rows="3">{_e(value)}</textarea>'
        input_type = {"number_input": "number", "email_text_input": "email"}.get(kind, "text")
        return f"<input {common} {_attrs(type=input_type, value=value, placeholder=hint)}>"
    if kind == "file_input":  # the sandbox uploads no files: the CLI imports a roster
        accept = ",".join(f".{t}" for t in element.get("filetypes") or [])
        return f"<input {common} {_attrs(type='file', accept=accept)} disabled>"
    if kind == "datepicker":
        return f"<input {common} {_attrs(type='date', value=element.get('initial_date'))}>"
    if kind == "timepicker":
        return f"<input {common} {_attrs(type='time', value=element.get('initial_time'))}>"
    if kind in ("radio_buttons", "checkboxes"):
        return _choices(element, common, ctx, block_id)
    if kind == "overflow":
        items = "".join(
            f"<option {_attrs(value=o.get('value'), data_text=_plain(o.get('text')))}>"
            f"{_e(_plain(o.get('text')))}</option>"
            for o in _options(element)
        )
        return f'<select {common} class="bk-overflow"><option value="">⋯</option>{items}</select>'
    if kind.endswith("_select"):
        return _select(element, ctx, common)
    return placeholder(f"element {kind}")


# ---------------------------------------------------------------------------------------- blocks


def block_html(block: Any, ctx: RenderContext) -> str:
    if not isinstance(block, dict):
        return placeholder("a block that is not an object")
    kind = str(block.get("type"))
    block_id = str(block.get("block_id") or "")
    if kind == "header":
        return f'<h3 class="bk-header">{text_object(block.get("text"), ctx)}</h3>'
    if kind == "divider":
        return '<hr class="bk-divider">'
    if kind == "section":
        parts = []
        if block.get("text"):
            parts.append(f'<div class="bk-text">{text_object(block["text"], ctx)}</div>')
        if block.get("fields"):
            cells = "".join(
                f'<div class="bk-field">{text_object(item, ctx)}</div>' for item in block["fields"]
            )
            parts.append(f'<div class="bk-fields">{cells}</div>')
        body = f'<div class="bk-section-body">{"".join(parts)}</div>'
        accessory = block.get("accessory")
        if accessory:
            side = element_html(accessory, ctx, block_id=block_id)
            body += f'<div class="bk-accessory">{side}</div>'
        return f'<div class="bk-section">{body}</div>'
    if kind == "context":
        items = []
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("type") == "image":
                items.append(element_html(element, ctx, block_id=block_id))
            else:
                items.append(f"<span>{text_object(element, ctx)}</span>")
        return f'<div class="bk-context">{"".join(items)}</div>'
    if kind == "actions":
        elements = "".join(
            element_html(element, ctx, block_id=block_id) for element in block.get("elements") or []
        )
        return f'<div class="bk-actions">{elements}</div>'
    if kind == "image":
        title = block.get("title")
        caption = f"<figcaption>{text_object(title, ctx)}</figcaption>" if title else ""
        return (
            f'<figure class="bk-image"><img {_attrs(src=block.get("image_url"))}'
            f' alt="{_e(block.get("alt_text") or "")}">{caption}</figure>'
        )
    if kind == "input":
        element = block.get("element")
        optional = block.get("optional")
        label = text_object(block.get("label"), ctx)
        suffix = ' <span class="bk-optional">(optional)</span>' if optional else ""
        hint = block.get("hint")
        error = ctx.errors.get(block_id)
        inner = element_html(element, ctx, block_id=block_id, interactive_kind="input")
        classes = "bk-input bk-has-error" if error else "bk-input"
        return (
            f'<div class="{classes}" {_attrs(data_block_id=block_id, data_required=not optional)}>'
            f"<label>{label}{suffix}</label>{inner}"
            + (f'<div class="bk-hint">{text_object(hint, ctx)}</div>' if hint else "")
            + (f'<div class="bk-error" role="alert">{_e(error)}</div>' if error else "")
            + "</div>"
        )
    if kind == "rich_text":
        return placeholder("rich_text block")
    return placeholder(f"block {kind}")


def blocks_html(blocks: Any, ctx: RenderContext | None = None) -> str:
    ctx = ctx or RenderContext()
    if not isinstance(blocks, list):
        return ""
    return "".join(block_html(block, ctx) for block in blocks)


def message_html(message: Mapping[str, Any], ctx: RenderContext | None = None) -> str:
    """A message: its blocks, or its `text` (mrkdwn) when it has none."""
    ctx = replace(ctx or RenderContext(), scope=f"m{message.get('ts') or ''}")
    blocks = message.get("blocks")
    if blocks:
        return blocks_html(blocks, ctx)
    return f'<div class="bk-text">{mrkdwn(str(message.get("text") or ""), ctx)}</div>'


def view_html(view: Mapping[str, Any], ctx: RenderContext | None = None) -> str:
    """A modal or Home tab: title, blocks, and the submit/close buttons of a modal."""
    ctx = replace(ctx or RenderContext(), scope=f"v{view.get('id') or ''}")
    body = blocks_html(view.get("blocks"), ctx)
    if view.get("type") != "modal":
        return f'<div class="bk-home">{body}</div>'
    submit = view.get("submit")
    close = view.get("close") or {"type": "plain_text", "text": "Cancel"}
    buttons = (
        '<button type="button" class="bk-button" data-kind="close">'
        f"{text_object(close, ctx)}</button>"
    )
    if submit:
        buttons += (
            f'<button type="button" class="bk-button bk-primary" data-kind="submit">'
            f"{text_object(submit, ctx)}</button>"
        )
    return (
        f'<div class="bk-modal" {_attrs(data_view_id=view.get("id"))}>'
        f'<div class="bk-modal-title">{text_object(view.get("title"), ctx)}</div>'
        f'<div class="bk-modal-body">{body}</div>'
        f'<div class="bk-modal-buttons">{buttons}</div></div>'
    )
