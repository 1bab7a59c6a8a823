"""`/mentoring program`: the admin's programme settings modal."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from sqlmodel import Session

from bot.clock import today_in
from bot.domain import eligibility, retention
from bot.domain.programs import (
    DEFAULT_GOALS,
    DEFAULT_TOPICS,
    ProgramForm,
    ProgramTexts,
    alumni_of,
    archive,
    channel_language,
    form_from_program,
    new_cohort,
    open_for_enrollment,
    save_program,
    validate_program,
)
from bot.i18n import SUPPORTED, Translator
from bot.services import Services
from bot.views import common
from bot.views.home import (
    ARCHIVE_ACTION,
    NEW_COHORT_ACTION,
    OPEN_ENROLLMENT_ACTION,
    PROGRAM_ACTION,
)
from bot.views.labels import program_name
from bot.views.program import CALLBACK_ID, program_modal, saved_modal
from handlers import payloads
from handlers.app_home import publish_home
from handlers.authorize import owners_only, programme_in_form, programme_in_value, programme_of
from handlers.context import CommandContext, services_of
from handlers.guard import Answer, Submission, listener, submission, tell
from handlers.replies import open_modal, too_slow
from storage import repositories as repo
from storage.models import Program

log = logging.getLogger(__name__)
# Form field -> the modal's block id (they match, but errors name blocks, so keep it explicit).
FIELD_BLOCKS = {
    "owners": "owners",
    "join_policy": "join_policy",
    "name": "name",
    "goals": "goals",
    "start_date": "start_date",
    "end_date": "end_date",
    "timezone": "timezone",
    "checkin_cadence": "checkin_cadence",
    "pulse_cadence": "pulse_cadence",
    "topics": "topics",
    "mentor_capacity": "mentor_capacity",
    "anonymity_threshold": "anonymity_threshold",
    "channel_language": "channel_language",
    "notes_months": "notes_months",
    "left_days": "left_days",
    "anonymise_months": "anonymise_months",
}


def _untranslate(lines: list[str], defaults: tuple[str, ...], _: Translator) -> list[str]:
    """Default texts shown in the admin's language are stored as their English msgids."""
    reverse = {_(default): default for default in defaults}
    return [reverse.get(line, line) for line in lines]


def _by_line(values: payloads.Values, field: str) -> list[str]:
    """Every line, empty ones included: a version's lines match the originals by position."""
    return [line.strip() for line in payloads.text(values, field).splitlines()]


def parse_texts(values: payloads.Values) -> dict[str, ProgramTexts] | None:
    """None when the modal had no such fields (opened before they existed): keep the stored."""
    if not any(f"name_{locale}" in values for locale in SUPPORTED):
        return None
    return {
        locale: ProgramTexts(
            name=payloads.text(values, f"name_{locale}").strip(),
            goals=_by_line(values, f"goals_{locale}"),
            topics=_by_line(values, f"topics_{locale}"),
        )
        for locale in SUPPORTED
    }


def parse_retention(values: payloads.Values) -> dict[str, int | None] | None:
    """None when the modal had no such fields (opened before they existed): keep the stored."""
    if not any(name in values for name in retention.LIMITS):
        return None
    return {name: payloads.integer(values, name) for name in retention.LIMITS}


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
        texts=parse_texts(values),
        channel_language=payloads.selected(values, "channel_language"),
        owners=payloads.users(values, "owners"),
        join_policy=payloads.selected(values, "join_policy"),
        invited=payloads.users(values, "invited"),
        offices=payloads.lines(values, "offices"),
        timezone=payloads.selected(values, "timezone"),
        retention=parse_retention(values),
    )


def open_program_modal(
    services: Services, client: WebClient, user_id: str, trigger_id: str, program_id: int | None
) -> bool:
    """The settings of a programme (None: a new one)."""
    _ = services.translator_for(user_id)
    person = services.person(user_id)
    # "Today" is the admin's: the new programme's default dates start in their timezone.
    today = today_in(person.timezone if person else None, services.clock)
    with services.db.session() as session:
        program = repo.program(session, program_id)
        form = form_from_program(program, today, person.timezone if person else None)
        form.owners = repo.owners(session, program.id or 0) if program else [user_id]
        template = repo.program(session, program.template_of) if program else None
    default_channel = services.settings.recognition_channel
    if program is None and default_channel and not default_channel.startswith("#"):
        form.community_channel = default_channel  # the picker needs an ID, not a #name
    view = program_modal(
        form,
        _,
        is_new=program is None,
        default_language=services.settings.default_locale,
        program_id=program.id if program else None,
        template_name=program_name(template, _) if template is not None else None,
    )
    return open_modal(client, trigger_id, view) is not None


def program_command(ctx: CommandContext) -> None:
    """`/mentoring program` (the settings of a programme one runs), `program new` (a
    super-admin's new programme), `program cohort` (a new cohort from a programme)."""
    services, word = ctx.services, ctx.args.strip().lower()
    program_id = ctx.program_id
    if word == "new" or program_id is None:
        if not services.is_super_admin(ctx.user_id):
            ctx.reply(common.admins_only(ctx._))
            return
        program_id = None
    elif word == "cohort":
        program_id = services.db.run(lambda s: _new_cohort(services, s, ctx.user_id, program_id))
        services.forget_owners()
    if not open_program_modal(services, ctx.client, ctx.user_id, ctx.trigger_id, program_id):
        ctx.reply(too_slow(ctx._))


def _new_cohort(services: Services, session: Session, user_id: str, template_id: int) -> int:
    template = repo.program(session, template_id)
    assert template is not None
    person = services.person(user_id)
    today = today_in(person.timezone if person else None, services.clock)
    return new_cohort(session, template, user_id, today).id or 0


@listener
def on_program_button(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond | None, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    program_id = programme_of(context)
    if not open_program_modal(services, client, user_id, body.get("trigger_id", ""), program_id):
        tell(services, body, respond, too_slow(services.translator_for(user_id)))


@submission
def on_program_submitted(sub: Submission) -> Answer:
    services, user_id = sub.services, sub.user_id
    _ = sub._
    form = parse_program_form(sub.values, _)
    errors = validate_program(form)
    if errors:
        return Answer(errors={FIELD_BLOCKS.get(f, f): _(message) for f, message in errors.items()})
    refused = _ineligible_invitees(services, form.invited or [], _)
    if refused is not None:
        return Answer(errors={"invited": refused})

    program_id = payloads.number(sub.metadata, "program_id") or None
    alumni = "yes" in payloads.selected_many(sub.values, "invite_alumni")

    def save(session: Session) -> tuple[Program, bool]:
        current = repo.program(session, program_id)
        saved = save_program(session, form, admin_id=user_id, program=current)
        template = repo.program(session, saved.template_of)
        if alumni and template is not None:
            repo.invite(session, saved.id or 0, alumni_of(session, template), user_id)
        return saved, current is None

    program, created = services.db.run(save)
    services.forget_owners()
    log.info("programme saved", extra={"admin": user_id})
    language = channel_language(program, services.settings.default_locale)
    return Answer(
        view=saved_modal(program, _, created=created, channel_language=language),
        done=_("The programme settings are saved."),
        after=lambda: publish_home(services, user_id),
    )


def _ineligible_invitees(services: Services, user_ids: list[str], _: Translator) -> str | None:
    """Why the first invitee who may not take part (a guest, a bot, a deactivated account)
    cannot be invited; None when everyone may."""
    for user_id in user_ids:
        person = services.person(user_id)
        if person is None:  # unknown to Slack just now: checked again when they join
            services.people.forget(user_id)  # (not remembered as nobody meanwhile)
            continue
        reason = eligibility.ineligibility(person)
        if reason is not None:
            return _(
                "{name} can't be invited: {reason}",
                name=person.real_name or person.name,
                reason=eligibility.explain(reason, _),
            )
    return None


@listener
def on_new_cohort_button(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond | None, context: BoltContext
) -> None:
    """A draft copying this programme, opened in its settings modal to adjust."""
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    template_id = programme_of(context) or 0
    program_id = services.db.run(lambda s: _new_cohort(services, s, user_id, template_id))
    services.forget_owners()
    publish_home(services, user_id)
    if not open_program_modal(services, client, user_id, body.get("trigger_id", ""), program_id):
        tell(services, body, respond, too_slow(services.translator_for(user_id)))


@listener
def on_open_enrollment_button(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    """A draft opens: people see it on Home and in `/mentoring join`."""
    ack()
    _change_stage(context, body, open_for_enrollment, "program.open_enrollment")


@listener
def on_archive_button(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    """An ended programme leaves Home; its figures stay for reports and exports."""
    ack()
    _change_stage(context, body, archive, "program.archive")


def _change_stage(
    context: BoltContext,
    body: dict[str, Any],
    change: Callable[[Session, Program], bool],
    action: str,
) -> None:
    services = services_of(context)
    program_id = programme_of(context)
    user_id = str(body["user"]["id"])

    def work(session: Session) -> bool:
        program = repo.program(session, program_id)
        changed = program is not None and change(session, program)
        if changed:
            repo.record_audit(session, actor=user_id, action=action, program_id=program_id)
        return changed

    if services.db.run(work):
        log.info("programme stage changed", extra={"program_id": program_id})
    # Home shows the stage either way: a second click finds it already changed.
    publish_home(services, user_id)


def register(app: App, services: Services) -> None:
    app.action(PROGRAM_ACTION, middleware=owners_only(programme_in_value))(on_program_button)
    app.action(NEW_COHORT_ACTION, middleware=owners_only(programme_in_value))(on_new_cohort_button)
    app.action(OPEN_ENROLLMENT_ACTION, middleware=owners_only(programme_in_value))(
        on_open_enrollment_button
    )
    app.action(ARCHIVE_ACTION, middleware=owners_only(programme_in_value))(on_archive_button)
    app.view(CALLBACK_ID, middleware=owners_only(programme_in_form))(on_program_submitted)
