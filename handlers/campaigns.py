"""`/mentoring campaign`: an owner invites a segment of the roster; "Not for me" on an
invitation. (Its Join button opens the join form: handlers/enrollment.py.)"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import campaigns as domain
from bot.i18n import Translator
from bot.services import Services
from bot.usecases import campaigns as usecase
from bot.views import campaigns as views
from bot.views import kit
from bot.views.labels import program_name
from handlers import payloads
from handlers.authorize import owners_only, programme_in_form, programme_of
from handlers.context import CommandContext, services_of
from handlers.guard import Answer, Submission, listener, submission, tell
from handlers.replies import open_modal, too_slow, update_message
from storage import repositories as repo

log = logging.getLogger(__name__)


def parse_form(values: payloads.Values) -> views.CampaignForm:
    level_text = payloads.text(values, "level_at_least").strip()
    level = payloads.integer(values, "level_at_least")
    title = payloads.text(values, "title_contains").strip()
    return views.CampaignForm(
        role=payloads.selected(values, "role"),
        segment=domain.Segment(
            department=payloads.selected(values, "department"),
            title_contains=title or None,
            level_at_least=level,
            hired_after=payloads.day(values, "hired_after"),
            country=payloads.selected(values, "country"),
            office=payloads.selected(values, "office"),
        ),
        level_text=level_text,
    )


def _modal(
    services: Services,
    program_id: int | None,
    form: views.CampaignForm,
    _: Translator,
    preview: views.Preview | None = None,
) -> dict[str, Any] | None:
    with services.db.session() as session:
        program = repo.program(session, program_id)
        if program is None:
            return None
        choices = repo.roster_values(session)
    return views.campaign_modal(program, choices, form, _, preview)


def _closed(services: Services, program_id: int | None, _: Translator) -> str | None:
    """Why the programme cannot take a campaign now, or None."""
    with services.db.session() as session:
        program = repo.program(session, program_id)
        if program is None or usecase.takes_people(program, services.clock.now()):
            return None
        name = kit.escape(program_name(program, _))
    return _("*{programme}* does not take people in just now: open its enrollment first.").format(
        programme=name
    )


def campaign_command(ctx: CommandContext) -> None:
    """The campaign modal of a programme the person runs (routed by handlers/commands.py)."""
    closed = _closed(ctx.services, ctx.program_id, ctx._)
    if closed is not None:
        ctx.reply(kit.message(closed))
        return
    view = _modal(ctx.services, ctx.program_id, views.CampaignForm(), ctx._)
    if view is None or open_modal(ctx.client, ctx.trigger_id, view) is None:
        ctx.reply(too_slow(ctx._))


@listener
def on_preview(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """The count and a sample of the segment, shown in the modal (typed values kept)."""
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    _ = services.translator_for(user_id)
    program_id = programme_of(context)
    form = parse_form(payloads.state_values(body))
    preview = usecase.preview(services, program_id or 0, form.segment)
    view = _modal(services, program_id, form, _, preview)
    opened = body.get("view") or {}
    if view is None or not opened.get("id"):
        return
    try:
        client.views_update(view_id=opened["id"], hash=opened.get("hash"), view=view)
    except SlackApiError as error:  # changed meanwhile or closed: the next Preview shows it
        log.info("campaign preview not shown", extra={"error": error.response.get("error")})


@submission
def on_campaign_submitted(sub: Submission) -> Answer:
    services, _ = sub.services, sub._
    form = parse_form(sub.values)
    errors = domain.validate(form.role, form.level_text)
    if errors:
        return Answer(errors={field: _(message) for field, message in errors.items()})
    program_id = payloads.number(sub.metadata, "program_id")
    sent = usecase.send(
        services,
        program_id=program_id,
        role=form.role or "",
        segment=form.segment,
        actor=sub.user_id,
    )
    if sent.closed:
        return Answer(errors={"role": _closed(services, program_id, _) or ""})
    if sent.count == 0:
        return Answer(errors={"role": _("Nobody in this segment can be invited.")})
    log.info("campaign queued", extra={"campaign_id": sent.campaign_id, "count": sent.count})
    return Answer(view=views.sent_modal(sent.count, _), done=_("Invitations queued."))


@listener
def on_decline(
    ack: Ack, body: dict[str, Any], respond: Respond | None, context: BoltContext
) -> None:
    """ "Not for me": no reminder, and no later campaign invites them."""
    ack()
    services = services_of(context)
    click = payloads.click_of(context, body)
    user_id = click.user.id
    _ = services.translator_for(user_id)
    outcome = usecase.decline(services, payloads.action_number(body), user_id)
    if outcome == "declined":
        update_message(services, body, views.declined_message(_))
    elif outcome == "answered":
        tell(services, body, respond, views.already_answered(_))
    else:
        tell(services, body, respond, kit.message(_("This invitation was not meant for you.")))


def register(app: App, services: Services) -> None:
    app.action(views.PREVIEW_ACTION, middleware=owners_only(programme_in_form))(on_preview)
    app.view(views.CALLBACK_ID, middleware=owners_only(programme_in_form))(on_campaign_submitted)
    app.action(views.DECLINE_ACTION)(on_decline)
