"""`/mentoring program`: the admin's programme settings modal."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.clock import today_in
from bot.domain.programs import (
    DEFAULT_GOALS,
    DEFAULT_TOPICS,
    ProgramForm,
    form_from_program,
    save_program,
    validate_program,
)
from bot.i18n import Translator
from bot.services import Services
from bot.views.home import PROGRAM_ACTION
from bot.views.program import CALLBACK_ID, program_modal
from handlers import payloads
from handlers.app_home import publish_home
from handlers.authorize import ADMINS_ONLY
from handlers.context import CommandContext, services_of
from handlers.guard import Answer, Submission, listener, submission, tell
from handlers.replies import open_modal, too_slow
from storage import repositories as repo

log = logging.getLogger(__name__)
# Form field -> the modal's block id (they match, but errors name blocks, so keep it explicit).
FIELD_BLOCKS = {
    "name": "name",
    "goals": "goals",
    "start_date": "start_date",
    "end_date": "end_date",
    "checkin_cadence": "checkin_cadence",
    "pulse_cadence": "pulse_cadence",
    "topics": "topics",
    "mentor_capacity": "mentor_capacity",
    "anonymity_threshold": "anonymity_threshold",
}


def _untranslate(lines: list[str], defaults: tuple[str, ...], _: Translator) -> list[str]:
    """Default texts shown in the admin's language are stored as their English msgids."""
    reverse = {_(default): default for default in defaults}
    return [reverse.get(line, line) for line in lines]


def parse_program_form(values: payloads.Values, _: Translator) -> ProgramForm:
    return ProgramForm(
        name=payloads.text(values, "name"),
        goals=_untranslate(payloads.lines(values, "goals"), DEFAULT_GOALS, _),
        start_date=payloads.day(values, "start_date"),
        end_date=payloads.day(values, "end_date"),
        enrollment=payloads.selected(values, "enrollment") or "",
        checkin_cadence=payloads.selected(values, "checkin_cadence") or "",
        pulse_cadence=payloads.selected(values, "pulse_cadence") or "",
        topics=_untranslate(payloads.lines(values, "topics"), DEFAULT_TOPICS, _),
        mentor_capacity=payloads.integer(values, "mentor_capacity"),
        anonymity_threshold=payloads.integer(values, "anonymity_threshold"),
        community_channel=payloads.conversation(values, "community_channel"),
        offices=payloads.lines(values, "offices"),
    )


def open_program_modal(
    services: Services, client: WebClient, user_id: str, trigger_id: str
) -> bool:
    _ = services.translator_for(user_id)
    with services.db.session() as session:
        program = repo.active_program(session)
    person = services.person(user_id)
    # "Today" is the admin's: the new programme's default dates start in their timezone.
    form = form_from_program(program, today_in(person.timezone if person else None, services.clock))
    default_channel = services.settings.recognition_channel
    if program is None and default_channel and not default_channel.startswith("#"):
        form.community_channel = default_channel  # the picker needs an ID, not a #name
    view = program_modal(form, _, is_new=program is None)
    return open_modal(client, trigger_id, view) is not None


def program_command(ctx: CommandContext) -> None:
    if not open_program_modal(ctx.services, ctx.client, ctx.user_id, ctx.trigger_id):
        ctx.reply(too_slow(ctx._))


@listener
def on_program_button(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond | None, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    if not open_program_modal(services, client, user_id, body.get("trigger_id", "")):
        tell(services, body, respond, too_slow(services.translator_for(user_id)))


@submission
def on_program_submitted(sub: Submission) -> Answer:
    services, user_id = sub.services, sub.user_id
    _ = sub._
    form = parse_program_form(sub.values, _)
    errors = validate_program(form)
    if errors:
        return Answer(errors={FIELD_BLOCKS.get(f, f): _(message) for f, message in errors.items()})

    def save(session: Session) -> None:
        save_program(session, form, admin_id=user_id, program=repo.active_program(session))

    services.db.run(save)
    log.info("programme saved", extra={"admin": user_id})
    return Answer(
        done=_("The programme settings are saved."),
        after=lambda: publish_home(services, user_id),
    )


def register(app: App, services: Services) -> None:
    app.action(PROGRAM_ACTION, middleware=ADMINS_ONLY)(on_program_button)
    app.view(CALLBACK_ID, middleware=ADMINS_ONLY)(on_program_submitted)
