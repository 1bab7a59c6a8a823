"""`/mentoring audit`: the latest entries of the audit log, a page at a time, for super-admins."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.clock import zone
from bot.domain.audit import ACTIONS
from bot.i18n import Translator
from bot.views import kit
from storage.models import AuditEvent

PAGE_SIZE = 15
OLDER_ACTION = "audit_older"
NEWER_ACTION = "audit_newer"
EXPORT_CSV_ACTION = "audit_export_csv"
EXPORT_JSON_ACTION = "audit_export_json"


@dataclass(frozen=True)
class Page:
    """Which entries a view shows: `offset` newest-first, of one programme (None: all)."""

    offset: int = 0
    program_id: int | None = None

    def value(self) -> str:
        return json.dumps({"offset": self.offset, "program": self.program_id})

    @staticmethod
    def of(value: str | None) -> Page:
        """The page a button names; anything unreadable is the first page of everything."""
        try:
            data = json.loads(value or "{}")
            offset = int(data.get("offset") or 0)
            program = data.get("program")
            return Page(max(0, offset), program if isinstance(program, int) else None)
        except (ValueError, TypeError, AttributeError):
            return Page()


def refused(_: Translator) -> dict[str, Any]:
    return kit.message(
        _(
            "Only the workspace's super-admins can read the audit log (ADMIN_USER_IDS, or "
            "Slack admins). Ask one of them if you need an entry."
        )
    )


def when(at: datetime, timezone: str | None) -> str:
    """Slack shows the date in the reader's zone; the fallback is in their zone too."""
    local = at.astimezone(zone(timezone))
    fallback = local.strftime("%Y-%m-%d %H:%M %Z")
    return f"<!date^{int(at.timestamp())}^{{date_num}} {{time}}|{fallback}>"


def _who(actor: str | None, _: Translator) -> str:
    if actor is None:
        return _("a scheduled job")
    if actor.startswith("U") or actor.startswith("W"):
        return f"<@{actor}>"
    return _("the command line")


def _line(event: AuditEvent, names: dict[int, str], timezone: str | None, _: Translator) -> str:
    what = _(ACTIONS[event.action]) if event.action in ACTIONS else event.action
    parts = [f"{when(event.at, timezone)} · {_who(event.actor_slack_id, _)} {what}"]
    if event.target:
        target = event.target
        parts.append(f"<@{target[5:]}>" if target.startswith("user:U") else f"`{target}`")
    if event.program_id is not None:
        name = names.get(event.program_id, str(event.program_id))
        parts.append(_("programme: {name}", name=kit.escape(name)))
    counts = ", ".join(
        f"{key} {value}"
        for key, value in event.detail.items()
        if isinstance(value, int | str) and not isinstance(value, bool)
    )
    if counts:
        parts.append(f"({kit.escape(counts)})")
    return " ".join(parts)


def audit_message(
    events: list[AuditEvent],
    page: Page,
    names: dict[int, str],
    timezone: str | None,
    _: Translator,
    *,
    more: bool,
) -> dict[str, Any]:
    """One page of entries, newest first, with paging and the two exports."""
    if page.program_id is not None:
        scope = names.get(page.program_id, str(page.program_id))
        title = _("Audit log of {name}", name=kit.escape(scope))
    else:
        title = _("Audit log")
    blocks: list[Any] = [kit.header(title)]
    if not events:
        blocks.append(kit.section(_("No entries yet.")))
    else:
        blocks.extend(kit.section(_line(event, names, timezone, _)) for event in events)
    buttons = []
    if page.offset > 0:
        newer = Page(max(0, page.offset - PAGE_SIZE), page.program_id)
        buttons.append(kit.button(_("Newer"), NEWER_ACTION, newer.value()))
    if more:
        older = Page(page.offset + PAGE_SIZE, page.program_id)
        buttons.append(kit.button(_("Older"), OLDER_ACTION, older.value()))
    first = Page(0, page.program_id).value()
    buttons.append(kit.button(_("Export CSV"), EXPORT_CSV_ACTION, first))
    buttons.append(kit.button(_("Export JSON"), EXPORT_JSON_ACTION, first))
    blocks.append(kit.actions(*buttons, block_id="audit_actions"))
    blocks.append(
        kit.context(
            _(
                "Admin actions and retention runs: who, what and when. Never survey answers "
                "or what people wrote. `/mentoring audit <programme id>` shows one programme."
            )
        )
    )
    return kit.message(title, blocks)


def export_sent(_: Translator) -> dict[str, Any]:
    return kit.message(_("I've sent you the audit log as a file in a direct message."))
