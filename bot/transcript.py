"""The demo's `transcript.html`: what each person saw, laid out like the sandbox page.

Pure functions: a `Transcript` (people, their conversations and what happened in them) in,
one self-contained HTML page out. It uses the sandbox page's own stylesheet and Block Kit
renderer (`bot.sandbox.render`), so a message or a modal looks as it does in the sandbox. The
left column lists everyone, grouped by role, like the sandbox's member switcher; each person's
page has a table of contents and one panel per conversation (the app's DM, group DMs,
channels) with its header, and every message as a bubble stamped in that person's time zone.
The forms a person filled in (the admin's programme set-up and matching review included) sit
in their DM at the moment they were submitted, as the modal looked, with what was entered.
No script: one person's page shows at a time through the `:target` selector, and the page
opens on the programme's overview.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.render import RenderContext, message_html, view_html

APP_NAME = "Reverse Mentoring"
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class Entry:
    """One thing in a conversation, in the order it happened."""

    at: datetime
    kind: str  # "message" | "ephemeral" | "typed" | "clicked" | "form" | "file"
    message: Mapping[str, Any] | None = None  # message, ephemeral
    text: str = ""  # typed: the command; clicked: the button's label; file: its name
    view: Mapping[str, Any] | None = None  # form: the modal as it was submitted
    title: str = ""  # form: what the table of contents calls it
    href: str = ""  # file: where the demo wrote it, next to the page


@dataclass
class Conversation:
    id: str
    kind: str  # "dm" | "group" | "channel"
    name: str
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Reader:
    """A person whose page this is: what they saw, in their time zone."""

    user_id: str
    name: str
    role: str  # "admin" | "owner of <programme>" | "mentor" | "mentee" | ""
    city: str
    locale: str
    timezone: str
    conversations: list[Conversation] = field(default_factory=list)


@dataclass
class Transcript:
    title: str
    readers: list[Reader]
    overview: str  # the programme's figures and charts (HTML, from overview_html)
    names: RenderContext = field(default_factory=RenderContext)


def sandbox_stylesheet() -> str:
    """The sandbox page's CSS (its `<style>` blocks and any stylesheet beside it), so the
    transcript looks as the sandbox does and follows it when it changes."""
    static = resources.files("bot.sandbox") / "static"
    parts: list[str] = []
    for item in sorted(static.iterdir(), key=lambda entry: entry.name):
        if item.name.endswith(".css"):
            parts.append(item.read_text(encoding="utf-8"))
        elif item.name.endswith(".html"):
            text = item.read_text(encoding="utf-8")
            parts.extend(re.findall(r"<style[^>]*>(.*?)</style>", text, flags=re.S))
    return "\n".join(parts)


# What the transcript adds to the sandbox's look: a document that scrolls (not one pane),
# pages per person, conversation panels, bubbles with their time, frozen forms.
TRANSCRIPT_CSS = """
.layout {
  height: auto; min-height: calc(100vh - 33px); align-items: start;
  background: linear-gradient(to right, var(--aubergine) 260px, #fff 260px);
}
.layout > nav { position: sticky; top: 0; height: 100vh; }
.layout > nav a.conv { color: inherit; text-decoration: none; }
.layout > nav a.conv small { color: #cdb9ce; margin-left: 4px; }
main { padding: 0 24px 48px; }
.page { display: none; }
.page:target, .page:has(:target) { display: block; }
main:not(:has(.page:target, .page :target)) #overview { display: block; }
.page > header.pane {
  margin: 0 -24px 12px; position: sticky; top: 0; background: #fff; z-index: 1;
}
.page > header.pane small { font-weight: 400; color: var(--muted); margin-left: 8px; }
.toc {
  border: 1px solid var(--line); border-radius: 8px; padding: 8px 16px; margin: 8px 0 16px;
}
.toc h3 { margin: 4px 0; font-size: 14px; text-transform: uppercase; color: var(--muted); }
.toc ol { margin: 4px 0; padding-left: 20px; columns: 2; }
.toc a { color: var(--blue); text-decoration: none; }
.conversation {
  border: 1px solid var(--line); border-radius: 8px; margin: 16px 0; scroll-margin-top: 56px;
}
.conversation > h3 {
  margin: 0; padding: 10px 16px; border-bottom: 1px solid var(--line); background: #f8f8f8;
  border-radius: 8px 8px 0 0; font-size: 16px;
}
.conversation > h3 .kind {
  font-size: 12px; font-weight: 400; color: var(--muted); margin-left: 8px;
}
.conversation .thread { padding: 4px 16px; }
.msg { display: grid; grid-template-columns: 36px minmax(0, 1fr); column-gap: 10px; }
.msg .avatar {
  width: 36px; height: 36px; border-radius: 6px; background: var(--aubergine); color: #fff;
  font-weight: 700; font-size: 13px; display: flex; align-items: center;
  justify-content: center;
}
.msg.mine .avatar { background: #1264a3; }
.msg .who time { color: var(--muted); font-weight: 400; font-size: 12px; margin-left: 6px; }
.msg .action { color: var(--muted); font-style: italic; }
.form-entry .bk-modal {
  width: 100%; max-width: 600px; max-height: none; box-shadow: 0 1px 4px rgba(0,0,0,.25);
  margin: 6px 0; scroll-margin-top: 56px;
}
.form-entry fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
.overview h3 { margin: 16px 0 4px; font-size: 16px; }
.overview ul { margin: 0; padding-left: 20px; }
.overview .charts img {
  max-width: 100%; width: 640px; border: 1px solid var(--line); margin: 8px 0;
}
"""

KIND_LABELS = {"dm": "Direct message", "group": "Group DM", "channel": "Channel"}
KIND_ICONS = {"dm": "💬", "group": "👥", "channel": ""}


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def local_time(at: datetime, timezone: str) -> tuple[str, str]:
    """(ISO instant, what the reader reads) for a moment, in the reader's zone."""
    local = at.astimezone(ZoneInfo(timezone))
    return at.astimezone(UTC).isoformat(), f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"


def _time(at: datetime, timezone: str) -> str:
    instant, shown = local_time(at, timezone)
    return f'<time datetime="{_e(instant)}">{_e(shown)}</time>'


def _initials(name: str) -> str:
    return "".join(part[0] for part in name.split()[:2]).upper() or "?"


def _bubble(
    who: str, at: datetime, reader: Reader, body: str, *, mine: bool = False, extra: str = ""
) -> str:
    """A message as the sandbox shows one: avatar, who and when, then the content. `who` and
    `body` are HTML already."""
    avatar = _initials(reader.name) if mine else "RM"
    classes = "msg" + (" mine" if mine else "") + (f" {extra}" if extra else "")
    return (
        f'<div class="{classes}"><div class="avatar" aria-hidden="true">{_e(avatar)}</div>'
        f'<div><div class="who">{who} {_time(at, reader.timezone)}</div>{body}</div></div>'
    )


def _entry_id(reader: Reader, conversation: Conversation, index: int) -> str:
    return f"{reader.user_id}-{conversation.id}-{index}"


def _entry_html(entry: Entry, reader: Reader, names: RenderContext, anchor: str) -> str:
    me = _e(reader.name)
    if entry.kind in ("message", "ephemeral") and entry.message is not None:
        body = message_html(entry.message, names)
        if entry.kind == "ephemeral":
            who = f'{APP_NAME} <span class="only-you">Only visible to you</span>'
            return _bubble(who, entry.at, reader, body, extra="ephemeral")
        return _bubble(APP_NAME, entry.at, reader, body)
    if entry.kind == "typed":  # mentions as Slack's message box shows them: @Name
        typed = _MENTION.sub(lambda m: "@" + names.user_name(m.group(1)), entry.text)
        return _bubble(me, entry.at, reader, f"<div><code>{_e(typed)}</code></div>", mine=True)
    if entry.kind == "clicked":
        body = f'<div class="action">clicked “{_e(entry.text)}”</div>'
        return _bubble(me, entry.at, reader, body, mine=True)
    if entry.kind == "form" and entry.view is not None:
        modal = view_html(entry.view, names).replace(
            '<div class="bk-modal"', f'<div class="bk-modal" id="{_e(anchor)}"', 1
        )
        body = (
            f'<div class="action">submitted “{_e(entry.title)}”</div>'
            f'<div class="form-entry"><fieldset disabled>{modal}</fieldset></div>'
        )
        return _bubble(me, entry.at, reader, body, mine=True)
    if entry.kind == "file":
        link = f'<a href="{_e(entry.href)}" download>📎 {_e(entry.text)}</a>'
        image = (
            f'<img class="file-image" src="{_e(entry.href)}" alt="{_e(entry.text)}">'
            if entry.href.lower().endswith(".png")
            else ""
        )
        return _bubble(APP_NAME, entry.at, reader, f'<div class="files">{image}{link}</div>')
    return ""


def _conversation_html(reader: Reader, conversation: Conversation, names: RenderContext) -> str:
    kind = KIND_LABELS.get(conversation.kind, conversation.kind)
    icon = KIND_ICONS.get(conversation.kind, "")
    head = (
        f"<h3>{_e(icon + ' ' if icon else '')}{_e(conversation.name)}"
        f'<span class="kind">{_e(kind)} · {len(conversation.entries)} entries</span></h3>'
    )
    items = [
        _entry_html(entry, reader, names, _entry_id(reader, conversation, index))
        for index, entry in enumerate(conversation.entries)
    ]
    body = "".join(items) or "<p>Nothing here.</p>"
    return (
        f'<section class="conversation" id="{_e(reader.user_id)}-{_e(conversation.id)}">'
        f'{head}<div class="thread">{body}</div></section>'
    )


def _toc(reader: Reader) -> str:
    """The person's table of contents: their conversations, then the forms they filled in."""
    rows = []
    for conversation in reader.conversations:
        icon = KIND_ICONS.get(conversation.kind, "")
        rows.append(
            f'<li><a href="#{_e(reader.user_id)}-{_e(conversation.id)}">'
            f"{_e(icon + ' ' if icon else '')}{_e(conversation.name)}</a> "
            f"({len(conversation.entries)})</li>"
        )
    forms = [
        f'<li><a href="#{_e(_entry_id(reader, conversation, index))}">📝 {_e(entry.title)}</a> '
        f"· {_time(entry.at, reader.timezone)}</li>"
        for conversation in reader.conversations
        for index, entry in enumerate(conversation.entries)
        if entry.kind == "form"
    ]
    out = (
        '<div class="toc" role="navigation" aria-label="Contents"><h3>Conversations</h3>'
        f"<ol>{''.join(rows)}</ol>"
    )
    if forms:
        out += f"<h3>Screens they filled in</h3><ol>{''.join(forms)}</ol>"
    return out + "</div>"


def _reader_page(reader: Reader, names: RenderContext) -> str:
    role = f", {reader.role}" if reader.role else ""
    head = (
        f'<header class="pane">{_e(reader.name)}<small>{_e(reader.city)}, {_e(reader.locale)}'
        f"{_e(role)} · times in {_e(reader.timezone)}</small></header>"
    )
    panels = "".join(_conversation_html(reader, c, names) for c in reader.conversations)
    return (
        f'<section class="page person" id="{_e(reader.user_id)}">{head}{_toc(reader)}'
        f"{panels}</section>"
    )


def _member_links(readers: Sequence[Reader]) -> str:
    groups = (
        ("Admin", "admin"),
        ("Programme owners", "owner"),
        ("Mentors", "mentor"),
        ("Mentees", "mentee"),
        ("Others", ""),
    )
    out = []
    for title, role in groups:
        # An owner's role names the programme: "owner of DACH 2027".
        members = [r for r in readers if r.role.split(" ")[0] == role]
        if not members:
            continue
        out.append(f"<h2>{_e(title)}</h2>")
        out.extend(
            f'<a class="conv" href="#{_e(r.user_id)}">{_e(r.name)}<small>{_e(r.city)}</small></a>'
            for r in members
        )
    return "".join(out)


def overview_html(figures: Sequence[str], charts: Sequence[tuple[str, str]]) -> str:
    """The programmes at a glance: the reports' charts (file, title), then their figures; a
    line "== name" starts a programme's, a line without indent is a section's title, the
    indented ones its rows."""
    images = "".join(f'<img src="{_e(src)}" alt="{_e(title)}">' for src, title in charts)
    parts: list[str] = []
    for line in figures:
        if line.startswith("  "):
            parts.append(f"<li>{_e(line.strip().removeprefix('• '))}</li>")
        elif line.startswith("== "):  # a programme's name: its sections follow
            parts.append(f"</ul><h2>{_e(line.removeprefix('== '))}</h2><ul>")
        else:
            parts.append(f"</ul><h3>{_e(line)}</h3><ul>")
    rows = "".join(parts).removeprefix("</ul>") + "</ul>"
    return (
        '<div class="overview"><p>Two programmes played side by side through the real app and '
        "a simulated Slack. Pick a person on the left to read what they saw, conversation by "
        "conversation, in their language and time zone, with the screens they filled in. "
        "Below: each programme's charts and figures, as the admin report computes them from "
        f'the stored data.</p><div class="charts">{images}</div>{rows}</div>'
    )


def transcript_html(transcript: Transcript) -> str:
    pages = "".join(_reader_page(reader, transcript.names) for reader in transcript.readers)
    overview = (
        f'<section class="page overview" id="overview"><header class="pane">'
        f"{_e(transcript.title)}</header>{transcript.overview}</section>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(transcript.title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{sandbox_stylesheet()}\n{TRANSCRIPT_CSS}</style></head><body>"
        '<div class="banner" role="note">🧪 <b>Simulated workspace.</b> A transcript of the '
        "demo: what each person saw, in their language and time zone. Nothing here reached "
        "Slack.</div>"
        '<div class="layout"><nav aria-label="People">'
        '<h2>Programme</h2><a class="conv" href="#overview">📊 Overview</a>'
        f"{_member_links(transcript.readers)}</nav>"
        f"<main>{overview}{pages}</main></div></body></html>"
    )
