"""What Slack's message box sends for what a member typed: `@Owen Kim` becomes a mention.

Slack's client turns a picked (or fully typed) `@name` into its mention syntax before the
command leaves, so a slash command with `should_escape: true` receives `<@U0003NE|owen.kim>`.
The sandbox page suggests members after `@`; this module does the conversion, for the page and
for anything else that plays the client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Mentionable:
    """A member as the message box knows them: the names it matches after `@`."""

    user_id: str
    name: str  # the display name, e.g. "Owen Kim"
    handle: str  # Slack's `name`, e.g. "owen.kim"


def _continues_a_name(text: str, index: int) -> bool:
    if index >= len(text):
        return False
    if text[index] in ".-":  # inside a handle (owen.kim), not a full stop after the name
        return index + 1 < len(text) and text[index + 1].isalnum()
    return text[index].isalnum() or text[index] == "_"


def _ends_a_name(text: str, index: int) -> bool:
    return not _continues_a_name(text, index)


def with_mentions(text: str, members: Sequence[Mentionable]) -> str:
    """`text` with each `@name` that names exactly one member (display name or handle, the
    longest match first, any case) replaced by Slack's mention `<@ID|handle>`; anything else,
    mentions already in Slack's syntax included, stays as typed."""
    names = sorted(
        {(name, member) for member in members for name in (member.name, member.handle) if name},
        key=lambda item: len(item[0]),
        reverse=True,
    )
    pieces: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        starts_word = index == 0 or not (text[index - 1].isalnum() or text[index - 1] in "<|")
        if char == "@" and starts_word:
            member, length = _named(text, index + 1, names)
            if member is not None:
                pieces.append(f"<@{member.user_id}|{member.handle}>")
                index += 1 + length
                continue
        pieces.append(char)
        index += 1
    return "".join(pieces)


def _named(
    text: str, start: int, names: Sequence[tuple[str, Mentionable]]
) -> tuple[Mentionable | None, int]:
    """The one member whose longest matching name starts at `start`, and its length."""
    for name, _member in names:
        typed = text[start : start + len(name)]
        if typed.casefold() != name.casefold() or not _ends_a_name(text, start + len(name)):
            continue
        named = {m for n, m in names if n.casefold() == typed.casefold()}
        return (named.pop() if len(named) == 1 else None), len(name)
    return None, 0
