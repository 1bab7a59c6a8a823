"""`/mentoring roster`: a super-admin imports the HR roster in a modal. Upload a file
(`file_input`), see the preview in the modal, then Apply (one transaction, or nothing).

The file is downloaded with the bot token from its `url_private_download` (Slack's hosts only)
for the preview and again for Apply, which refuses a file whose bytes changed in between.
"""

from __future__ import annotations

import hashlib
import logging

from slack_bolt import App

from bot.domain.roster import MAX_BYTES
from bot.services import Services
from bot.usecases.roster import (
    RosterPreview,
    RosterSlackError,
    SlackDirectory,
    apply_roster,
    download,
    preview_roster,
    slack_file_hosts,
    too_big,
)
from bot.views import common
from bot.views.roster import (
    APPLY_CALLBACK,
    FILE_FIELD,
    FULL_FIELD,
    UPLOAD_CALLBACK,
    applied_text,
    outcome_modal,
    preview_modal,
    upload_modal,
)
from handlers import payloads
from handlers.authorize import super_admins_only
from handlers.context import CommandContext
from handlers.guard import Answer, Submission, submission
from handlers.replies import open_modal, too_slow

log = logging.getLogger(__name__)


def roster_command(ctx: CommandContext) -> None:
    """`/mentoring roster` (super-admins: the dispatcher's command_refusal refused anyone else)."""
    if open_modal(ctx.client, ctx.trigger_id, upload_modal(ctx._)) is None:
        ctx.reply(too_slow(ctx._))


def _fetch(services: Services, url: str) -> bytes:
    token = services.settings.slack_bot_token or ""
    return download(url, token, slack_file_hosts(services.settings.slack_api_url))


def _preview(services: Services, data: bytes, name: str, full: bool) -> RosterPreview:
    return preview_roster(services.db, SlackDirectory(services.client), data, name=name, full=full)


@submission
def on_roster_uploaded(sub: Submission) -> Answer:
    """The file picked: its preview replaces the upload form."""
    _ = sub._
    element = sub.values.get(FILE_FIELD, {}).get(FILE_FIELD, {})
    files = element.get("files") if isinstance(element, dict) else None
    if not isinstance(files, list) or not files or not isinstance(files[0], dict):
        return Answer(errors={FILE_FIELD: _("Pick a CSV or JSON file.")})
    shared = files[0]
    url = str(shared.get("url_private_download") or shared.get("url_private") or "")
    name = str(shared.get("name") or "roster")[:150]
    full = "full" in payloads.selected_many(sub.values, FULL_FIELD)
    size = shared.get("size")
    if isinstance(size, int) and size > MAX_BYTES:
        preview = too_big(size)
        preview.name = name
        return Answer(view=preview_modal(preview, {}, _))
    try:
        preview = _preview(sub.services, _fetch(sub.services, url), name, full)
    except RosterSlackError as error:
        return Answer(errors={FILE_FIELD: error.problem.text(_)})
    log.info(
        "roster previewed",
        extra={"rows": preview.plan.rows, "problems": len(preview.plan.problems)},
    )
    metadata = {"url": url, "name": name, "full": full, "digest": preview.digest}
    return Answer(view=preview_modal(preview, metadata, _))


@submission
def on_roster_apply(sub: Submission) -> Answer:
    """Apply: the same bytes as the preview, planned again against what is stored now."""
    _ = sub._
    services, metadata = sub.services, sub.metadata
    url, name = str(metadata.get("url") or ""), str(metadata.get("name") or "roster")
    try:
        data = _fetch(services, url)
    except RosterSlackError as error:
        return Answer(view=outcome_modal(error.problem.text(_), _))
    if hashlib.sha256(data).hexdigest() != metadata.get("digest"):
        text = _("The file is not the one previewed. Nothing was imported; upload it again.")
        return Answer(view=outcome_modal(text, _))
    try:
        preview = _preview(services, data, name, bool(metadata.get("full")))
    except RosterSlackError as error:
        return Answer(view=outcome_modal(error.problem.text(_), _))
    if preview.plan.blocking:
        return Answer(view=preview_modal(preview, {}, _))
    applied = apply_roster(
        services.delivery,
        preview,
        actor=sub.user_id,
        source=f"slack: {name}",
        default_locale=services.settings.default_locale,
    )
    text = applied_text(applied, _)
    return Answer(view=outcome_modal(text, _), done=text)


def register(app: App, services: Services) -> None:
    # The roster is workspace-wide: an owner of one programme is refused like anyone else.
    only_super_admins = super_admins_only(common.admins_only)
    app.view(UPLOAD_CALLBACK, middleware=only_super_admins)(on_roster_uploaded)
    app.view(APPLY_CALLBACK, middleware=only_super_admins)(on_roster_apply)
