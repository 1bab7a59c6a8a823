"""The sandbox's Block Kit renderer: every view the app builds, in every language, faithfully."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from bot.i18n import SUPPORTED, translator
from bot.sandbox.render import RenderContext, blocks_html, message_html, mrkdwn, view_html
from tests.view_catalogue import all_views

VOID = {"br", "hr", "img", "input", "meta", "link"}


class _Structure(HTMLParser):
    """Checks tags nest and close properly, and collects what a person would read."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        # Option-group labels and placeholders are read from attributes by the browser.
        self.text.extend(v or "" for k, v in attrs if k in ("label", "placeholder"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(markup: str) -> _Structure:
    parser = _Structure()
    parser.feed(markup)
    parser.close()
    assert not parser.problems, parser.problems
    assert not parser.stack, f"unclosed tags: {parser.stack}"
    return parser


def _texts(value: Any) -> list[str]:
    """Every plain-text string in a view (what must show up on the page)."""
    found: list[str] = []
    if isinstance(value, dict):
        if value.get("type") == "plain_text" and isinstance(value.get("text"), str):
            found.append(value["text"])
        for item in value.values():
            found.extend(_texts(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_texts(item))
    return found


@pytest.mark.parametrize("language", SUPPORTED)
def test_every_view_renders_without_placeholders(language: str) -> None:
    ctx = RenderContext(users={"U00002": "Minh"}, channels={"C0MENTORING": "mentoring"})
    for name, view in all_views(translator(language)).items():
        markup = view_html(view, ctx) if "type" in view else message_html(view, ctx)
        parsed = parse(markup)
        assert "bk-unknown" not in markup, name
        page_text = "".join(parsed.text)
        for text in _texts(view.get("blocks", [])):
            if len(text) < 60:  # option labels and buttons appear verbatim
                assert text.strip() in page_text, (name, text)


@pytest.mark.parametrize("language", SUPPORTED)
def test_modal_inputs_carry_their_block_and_action_ids(language: str) -> None:
    view = all_views(translator(language))["enrollment_modal"]
    parsed = parse(view_html(view))
    inputs = {
        (attrs.get("data-block-id"), attrs.get("data-action-id"))
        for _tag, attrs in parsed.tags
        if attrs.get("data-kind") == "input"
    }
    expected = {
        (block["block_id"], block["element"]["action_id"])
        for block in view["blocks"]
        if block["type"] == "input"
    }
    assert expected and expected <= inputs
    kinds = {attrs.get("data-kind") for _tag, attrs in parsed.tags}
    assert {"submit", "close"} <= kinds


def test_mrkdwn_formatting_links_mentions_and_emoji() -> None:
    ctx = RenderContext(users={"U1": "Ada Lovelace"}, channels={"C1": "mentoring"})
    markup = mrkdwn(
        "*bold* _italic_ ~gone~ `x < y` <@U1> <#C1> <!here> "
        "<https://example.com/a?b=1&amp;c=2|the docs> :tada: :no_such_emoji:",
        ctx,
    )
    assert "<b>bold</b>" in markup and "<i>italic</i>" in markup and "<s>gone</s>" in markup
    assert "<code>x &lt; y</code>" in markup
    assert "@Ada Lovelace" in markup and "#mentoring" in markup and "@here" in markup
    assert 'href="https://example.com/a?b=1&amp;c=2"' in markup and ">the docs</a>" in markup
    assert "🎉" in markup and ":no_such_emoji:" in markup
    parse(markup)


def test_escaped_user_text_is_shown_as_typed_and_never_becomes_markup() -> None:
    typed = "&lt;!channel&gt; &lt;https://evil.example|click me&gt; <script>alert(1)</script>"
    markup = mrkdwn(typed)
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert "<a " not in markup
    assert "&lt;!channel&gt;" in markup
    parsed = parse(markup)
    assert "<!channel> <https://evil.example|click me>" in "".join(parsed.text)


def test_unsafe_link_schemes_are_not_links() -> None:
    markup = mrkdwn("<javascript:alert(1)|press>")
    assert "<a " not in markup and "javascript" in markup


def test_unknown_blocks_and_elements_are_visible_placeholders() -> None:
    markup = blocks_html(
        [
            {"type": "video", "title": {"type": "plain_text", "text": "x"}},
            {"type": "actions", "elements": [{"type": "workflow_button", "action_id": "w"}]},
        ]
    )
    assert markup.count("bk-unknown") == 2
    assert "video" in markup and "workflow_button" in markup


def test_selects_show_initial_options_and_inline_errors() -> None:
    blocks = [
        {
            "type": "input",
            "block_id": "freq",
            "label": {"type": "plain_text", "text": "How often?"},
            "element": {
                "type": "static_select",
                "action_id": "freq",
                "options": [
                    {"text": {"type": "plain_text", "text": "Weekly"}, "value": "weekly"},
                    {"text": {"type": "plain_text", "text": "Monthly"}, "value": "monthly"},
                ],
                "initial_option": {
                    "text": {"type": "plain_text", "text": "Monthly"},
                    "value": "monthly",
                },
            },
        },
        {
            "type": "input",
            "block_id": "who",
            "label": {"type": "plain_text", "text": "Manager"},
            "element": {"type": "users_select", "action_id": "who", "initial_user": "U2"},
        },
    ]
    ctx = RenderContext(users={"U1": "Ada", "U2": "Bao"}, errors={"freq": "Pick one."})
    parsed = parse(blocks_html(blocks, ctx))
    selected = [attrs.get("value") for tag, attrs in parsed.tags if "selected" in attrs]
    assert selected == ["monthly", "U2"]
    assert "Pick one." in "".join(parsed.text)


def test_a_view_renders_the_same_html_each_time_and_radio_groups_stay_apart() -> None:
    radio = {
        "type": "input",
        "block_id": "enrollment",
        "element": {
            "type": "radio_buttons",
            "action_id": "enrollment",
            "options": [
                {"text": {"type": "plain_text", "text": "Open"}, "value": "open"},
                {"text": {"type": "plain_text", "text": "Closed"}, "value": "closed"},
            ],
        },
        "label": {"type": "plain_text", "text": "Enrollment"},
    }
    view = {"id": "V1", "type": "modal", "title": {"type": "plain_text", "text": "T"}}
    view["blocks"] = [radio]
    # The page re-renders a modal only when its HTML changed (that would reset what was typed).
    assert view_html(view) == view_html(dict(view))
    first = message_html({"ts": "1.000001", "blocks": [radio]})
    second = message_html({"ts": "1.000002", "blocks": [radio]})
    names = {name for html in (first, second) for name in re.findall(r'name="([^"]+)"', html)}
    assert len(names) == 2  # one radio group per message, never one across both
