"""`/mentoring report`, the admin report and export buttons, and closing a survey round.

Admin rights are checked on the server before anything is computed: the command through
handlers/commands.py's ADMIN_ONLY, the buttons here.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.domain import pulse
from bot.domain.comparison import Comparison, build_comparison
from bot.domain.export import export_files
from bot.domain.report import Report, build_report
from bot.services import Services
from bot.views import comparison as comparison_views
from bot.views import kit
from bot.views import report as views
from handlers import payloads
from handlers.authorize import (
    cross_programme_refusal,
    owners_only,
    programme_in_value,
    programme_of,
    round_in_value,
    super_admins_only,
)
from handlers.context import CommandContext, services_of
from handlers.guard import listener
from handlers.replies import reply_dm
from storage import repositories as repo

log = logging.getLogger(__name__)


def programme_report(services: Services, program_id: int | None) -> Report | None:
    """The report of a programme (after its end too: its final figures)."""
    with services.db.session() as session:
        program = repo.program(session, program_id)
        return build_report(session, program, services.clock.now()) if program else None


def _dm_channel(services: Services, user_id: str) -> str | None:
    try:
        return str(services.client.conversations_open(users=user_id)["channel"]["id"])
    except SlackApiError as error:
        log.warning("conversations.open failed", extra={"error": error.response.get("error")})
        return None


def upload(
    services: Services, user_id: str, files: list[tuple[str, str, bytes]], comment: str
) -> None:
    """Files into the admin's DM with Slack's upload v2 (best effort, logged on failure)."""
    channel = _dm_channel(services, user_id)
    if channel is None or not files:
        return
    try:
        services.client.files_upload_v2(
            channel=channel,
            initial_comment=comment,
            file_uploads=[{"filename": n, "title": t, "content": data} for n, t, data in files],
        )
    except SlackApiError as error:
        log.warning("file upload failed", extra={"error": error.response.get("error")})


def send_charts(services: Services, user_id: str, report: Report) -> None:
    _ = services.translator_for(user_id)
    charts = views.report_charts(report, _)
    upload(
        services,
        user_id,
        charts,
        _("Charts of the programme report (the figures are in the report's text)."),
    )


def report_command(ctx: CommandContext) -> None:
    report = programme_report(ctx.services, ctx.program_id)
    if report is None:
        ctx.reply(kit.message(ctx._("There is no active programme yet.")))
        return
    ctx.reply(views.report_message(report, ctx._))
    send_charts(ctx.services, ctx.user_id, report)


COMPARE_ACTION = "report.compare"  # the audit log's name for it


def cross_programme_report(services: Services, user_id: str) -> Comparison:
    """Every programme's figures side by side (super-admins only: callers check first),
    recorded in the audit log in the same transaction (the programmes' count only): its CSV
    and JSON take every programme's figures out of Slack."""

    def work(session: Session) -> Comparison:
        comparison = build_comparison(session, services.clock.now())
        detail = {"programmes": len(comparison.programmes)}
        repo.record_audit(session, actor=user_id, action=COMPARE_ACTION, detail=detail)
        return comparison

    return services.db.run(work)


def send_comparison(services: Services, user_id: str, answer: Any) -> None:
    """The cross-programme report through `answer` (a reply), then its charts and its CSV
    and JSON into the super-admin's DM."""
    _ = services.translator_for(user_id)
    comparison = cross_programme_report(services, user_id)
    answer(comparison_views.comparison_message(comparison, _))
    if not comparison.programmes:
        return
    files = comparison_views.comparison_charts(comparison, _)
    files += [(name, name, data) for name, data in comparison_views.comparison_files(comparison)]
    upload(
        services,
        user_id,
        files,
        _("Charts and data of the report across programmes (the figures are in its text)."),
    )


def all_programmes_command(ctx: CommandContext) -> None:
    """`/mentoring report all`: every programme side by side, for super-admins."""
    refused = cross_programme_refusal(ctx.services, ctx.user_id)
    if refused is not None:
        ctx.reply(refused)
        return
    send_comparison(ctx.services, ctx.user_id, ctx.reply)


@listener
def on_cross_report_clicked(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = str(body["user"]["id"])
    send_comparison(services, user_id, lambda message: reply_dm(services, user_id, message))


@listener
def on_report_clicked(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = str(body["user"]["id"])
    _ = services.translator_for(user_id)
    report = programme_report(services, programme_of(context))
    if report is None:
        reply_dm(services, user_id, kit.message(_("There is no active programme yet.")))
        return
    reply_dm(services, user_id, views.report_message(report, _))
    send_charts(services, user_id, report)


@listener
def on_export_clicked(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = str(body["user"]["id"])
    _ = services.translator_for(user_id)
    program_id = programme_of(context)
    files = [
        (name, name, data)
        for name, data in export_files(services.db, "csv", program_id=program_id, actor=user_id)
    ]
    upload(services, user_id, files, _("The programme data as CSV files (UTF-8, ISO dates)."))


@listener
def on_close_round(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = str(body["user"]["id"])
    _ = services.translator_for(user_id)
    round_id = payloads.action_number(body)
    secret = services.settings.pulse_key()
    closed = services.db.run(
        lambda session: pulse.close_now(session, round_id, services.clock.now(), secret=secret)
    )
    if closed:
        repo.vacuum_pulse_tables(services.db.engine)
    text = (
        _("The survey is closed; its results are in the report.")
        if closed
        else _("This survey was already closed.")
    )
    reply_dm(services, user_id, kit.message(text))


def register(app: App, services: Services) -> None:
    app.action(views.REPORT_ACTION, middleware=owners_only(programme_in_value))(on_report_clicked)
    app.action(views.EXPORT_ACTION, middleware=owners_only(programme_in_value))(on_export_clicked)
    app.action(views.CLOSE_ROUND_ACTION, middleware=owners_only(round_in_value))(on_close_round)
    app.action(comparison_views.CROSS_REPORT_ACTION, middleware=super_admins_only())(
        on_cross_report_clicked
    )
