"""The roster import: the upload modal, its preview, the outcome, and the CLI's report."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.blocks.block_elements import CheckboxesElement, FileInputElement

from bot.domain.roster import COLUMNS, Problem
from bot.i18n import Translator, translator
from bot.views import kit

if TYPE_CHECKING:  # views render what the use case found; they do not call it
    from bot.usecases.roster import Applied, RosterPreview

UPLOAD_CALLBACK = "roster_upload"
APPLY_CALLBACK = "roster_apply"
FILE_FIELD = "roster_file"
FULL_FIELD = "roster_full"
SHOWN = 15  # problems or unknown emails listed in the modal (the CLI lists them all)


def upload_modal(_: Translator) -> dict[str, Any]:
    """`/mentoring roster`: pick a CSV or JSON file; nothing is written before the preview."""
    columns = ", ".join(f"`{name}`" for name in COLUMNS)
    full = kit.option(
        _("This is the whole roster"),
        "full",
        _("People on the roster now but not in this file leave the programme."),
    )
    blocks: list[Block] = [
        kit.section(
            _(
                "Upload the HR roster as CSV (UTF-8, `,` or `;`) or JSON. Columns: {columns}. "
                "Each row needs a Slack user id or an email. You see a preview before "
                "anything changes.",
                columns=columns,
            )
        ),
        kit.input_block(
            FILE_FIELD,
            _("Roster file"),
            FileInputElement(filetypes=["csv", "json", "txt"], max_files=1),
        ),
        kit.input_block(
            FULL_FIELD, _("Full roster"), CheckboxesElement(options=[full]), optional=True
        ),
    ]
    return kit.modal(
        title=_("Import the roster"),
        submit=_("Preview"),
        close=_("Cancel"),
        callback_id=UPLOAD_CALLBACK,
        blocks=blocks,
    )


def _listed(lines: list[str], _: Translator) -> str:
    shown = "\n".join(f"• {kit.escape(line)}" for line in lines[:SHOWN])
    if len(lines) > SHOWN:
        shown += "\n" + _("… and {count} more", count=len(lines) - SHOWN)
    return shown


def summary(preview: RosterPreview, _: Translator) -> str:
    plan = preview.plan
    text = _(
        "{rows} rows, {matched} matched a Slack user: {created} new, {changed} changed, "
        "{unchanged} unchanged.",
        rows=plan.rows,
        matched=plan.matched,
        created=len(plan.created),
        changed=len(plan.changed),
        unchanged=plan.unchanged,
    )
    if preview.full:
        text += " " + _(
            "Full roster: {count} people not in it leave the programme.", count=len(plan.leaving)
        )
    return text


def problem_lines(problems: list[Problem], _: Translator | None) -> list[str]:
    return [problem.text(_) for problem in problems]


def unknown_lines(preview: RosterPreview, _: Translator) -> list[str]:
    return [
        _("Line {line}: {email}", line=line, email=email)
        for line, email in preview.plan.unknown_emails
    ]


def preview_modal(
    preview: RosterPreview, metadata: dict[str, Any], _: Translator
) -> dict[str, Any]:
    """What the import would do; an Apply button only when nothing stops it."""
    plan = preview.plan
    blocks: list[Block] = [kit.section(f"*{kit.escape(preview.name)}*\n" + summary(preview, _))]
    if preview.same_file_as is not None:
        blocks.append(kit.context(_("This very file was imported before.")))
    if plan.unknown_emails:
        blocks.append(
            kit.section(
                _("*No Slack user has these emails* (their rows are left out):")
                + "\n"
                + _listed(unknown_lines(preview, _), _)
            )
        )
    if plan.problems:
        blocks.append(
            kit.section(
                _("*Problems* (nothing is imported until they are fixed):")
                + "\n"
                + _listed(problem_lines(plan.problems, _), _)
            )
        )
        return kit.modal(
            title=_("Roster preview"),
            close=_("Close"),
            callback_id=APPLY_CALLBACK,
            blocks=blocks,
        )
    if plan.no_change:
        blocks.append(kit.context(_("Nothing to change: the roster already says this.")))
        return kit.modal(
            title=_("Roster preview"), close=_("Close"), callback_id=APPLY_CALLBACK, blocks=blocks
        )
    blocks.append(kit.context(_("Apply writes all of it in one go, or nothing.")))
    return kit.modal(
        title=_("Roster preview"),
        submit=_("Apply"),
        close=_("Cancel"),
        callback_id=APPLY_CALLBACK,
        blocks=blocks,
        private_metadata=json.dumps(metadata),
    )


def applied_text(applied: Applied, _: Translator) -> str:
    if applied.import_id is None:
        return _("Nothing changed: the roster already says this.")
    return "✅ " + _(
        "Roster imported: {created} new, {changed} changed, {left} left the roster.",
        created=applied.created,
        changed=applied.changed,
        left=applied.left,
    )


def outcome_modal(text: str, _: Translator) -> dict[str, Any]:
    return kit.notice_modal(
        title=_("Import the roster"), text=text, close=_("Close"), callback_id="roster_done"
    )


def cli_report(preview: RosterPreview) -> list[str]:
    """The preview as the CLI prints it (English, every problem and unknown email)."""
    _ = translator("en")
    lines = [f"{preview.name}: {summary(preview, _)}"]
    if preview.same_file_as is not None:
        lines.append(f"This very file was imported before (import #{preview.same_file_as}).")
    plan = preview.plan
    if plan.unknown_emails:
        lines.append(f"No Slack user has these emails ({len(plan.unknown_emails)}; left out):")
        lines += [f"  line {line}: {email}" for line, email in plan.unknown_emails]
    if plan.problems:
        lines.append(f"Problems ({len(plan.problems)}; nothing is imported until they are fixed):")
        lines += [f"  {text}" for text in problem_lines(plan.problems, None)]
    figures = preview.figures
    lines.append(
        f"Slack: {figures.lookups} users.lookupByEmail, {figures.list_pages} users.list, "
        f"{figures.rate_limited} rate-limited, {figures.waited:.1f} s waiting"
    )
    return lines
