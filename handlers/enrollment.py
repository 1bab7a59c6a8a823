"""Joining, editing the profile, the training pack, leaving, and `mydata`."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.delivery import Owed
from bot.domain import eligibility, notices, programs
from bot.domain import enrollment as domain
from bot.i18n import Translator
from bot.services import Services
from bot.views import common, kit
from bot.views import enrollment as views
from bot.views import programmes as programme_views
from bot.views.campaigns import JOIN_ACTION as CAMPAIGN_JOIN_ACTION
from bot.views.home import EDIT_ACTION, JOIN_ACTION, LEAVE_ACTION
from bot.views.labels import program_name
from handlers import payloads
from handlers.app_home import publish_home
from handlers.context import CommandContext, services_of
from handlers.guard import Answer, Submission, listener, submission, tell
from handlers.replies import (
    open_or_explain,
    reply_dm,
    update_message,
)
from storage import repositories as repo
from storage.models import Participant, ParticipantStatus, Program

log = logging.getLogger(__name__)
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch", "vi": "Tiếng Việt"}


def parse_enrollment_form(values: payloads.Values) -> domain.EnrollmentForm:
    return domain.EnrollmentForm(
        role=payloads.selected(values, "role"),
        department=payloads.text(values, "department").strip(),
        seniority=payloads.selected(values, "seniority"),
        topics_offered=payloads.selected_many(values, "topics_offered"),
        topics_wanted=payloads.selected_many(values, "topics_wanted"),
        development_areas=payloads.selected_many(values, "development_areas"),
        personal_goals=payloads.text(values, "personal_goals"),
        meeting_frequency=payloads.selected(values, "meeting_frequency"),
        meeting_format=payloads.selected(values, "meeting_format"),
        success_definition=payloads.text(values, "success_definition"),
        available_days=payloads.selected_many(values, "available_days"),
        time_of_day=payloads.selected(values, "time_of_day"),
        manager_user_id=payloads.user(values, "manager"),
        avoid_user_ids=payloads.users(values, "avoid"),
        shoutout_consent="yes" in payloads.selected_many(values, "consent"),
        office=payloads.selected(values, "office"),
        languages=payloads.selected_many(values, "languages"),
    )


def _current(
    services: Services, user_id: str, program_id: int | None
) -> tuple[Program | None, Participant | None, bool]:
    """(the programme, the person's enrollment in it, whether they are invited to it)."""
    with services.db.session() as session:
        program, participant = repo.enrollment_in(session, program_id, user_id)
        invited = repo.is_invited(session, program_id or 0, user_id)
        return program, participant, invited


def programme_of_click(services: Services, user_id: str, value: str | None) -> int | None:
    """The programme a Home or message button names; without one, the person's only
    programme to take part in or join (None when there are none or several)."""
    if value and value.isdigit():
        return int(value)
    with services.db.session() as session:
        candidates = [p.id for p, _person in programs.enrollments_of(session, user_id)]
        candidates += [p.id for p in programs.joinable(session, user_id)]
    return candidates[0] if len(candidates) == 1 else None


def enrollment_view(
    services: Services,
    user_id: str,
    program_id: int | None,
    typed: domain.EnrollmentForm | None = None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the join modal, or when enrolled the profile modal; a message instead when there is
    nothing to open). `typed`: what the open modal holds, to show it again."""
    _ = services.translator_for(user_id)
    person = services.person(user_id)
    refused = eligibility.ineligibility(person) if person is not None else None
    if refused is not None:  # a guest, a bot, a deactivated account: told why, nothing opens
        return None, kit.message(eligibility.explain(refused, _))
    program, participant, invited = _current(services, user_id, program_id)
    if program is None:
        return None, common.no_program(_, is_admin=services.is_admin(user_id))
    if not domain.may_enroll(program, participant, invited=invited):
        return None, common.enrollment_closed(_, program_name(program, _))
    enrolled = domain.is_enrolled(participant)
    form = typed or (
        views.form_from_participant(participant)
        if participant is not None and enrolled
        else domain.EnrollmentForm(role=None)
    )
    view = views.enrollment_modal(
        program,
        form,
        _,
        timezone=person.timezone if person else None,
        locale_name=LANGUAGE_NAMES.get(_.locale, _.locale),
        editing=enrolled,
    )
    return view, None


def open_enrollment(
    services: Services,
    client: WebClient,
    user_id: str,
    trigger_id: str,
    program_id: int | None,
    role: str | None = None,
) -> dict[str, Any] | None:
    """Opens the join (or, when enrolled, the prefilled profile) modal of a programme;
    `role`: preselected in the join form (a campaign's invitation names it).

    Returns a message for the person instead when there is nothing to open.
    """
    typed = None
    if role:
        _program, participant, _invited = _current(services, user_id, program_id)
        if not domain.is_enrolled(participant):  # the enrolled see their profile as stored
            typed = domain.EnrollmentForm(role=role)
    view, message = enrollment_view(services, user_id, program_id, typed)
    if view is None:
        return message
    # A kickoff's rush can meet views.open's rate limit: the reply's button tries again.
    return open_or_explain(
        client,
        trigger_id,
        view,
        services.translator_for(user_id),
        retry_action=JOIN_ACTION,
        retry_value=str(program_id or ""),
    )


@listener
def on_role_picked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """Picking mentor or mentee marks the topics that role needs as required (a field the
    form calls optional is optional); everything typed so far stays."""
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    opened = body.get("view") or {}
    typed = parse_enrollment_form(payloads.state_values(body))
    action = (body.get("actions") or [{}])[0]
    picked = (
        (action.get("selected_option") or {}).get("value") if isinstance(action, dict) else None
    )
    typed.role = picked if isinstance(picked, str) else typed.role
    program_id = payloads.number(payloads.metadata(body), "program_id")
    view, _message = enrollment_view(services, user_id, program_id, typed)
    if view is None or not opened.get("id"):
        return  # enrollment closed meanwhile: the submission says so
    try:
        client.views_update(view_id=opened["id"], hash=opened.get("hash"), view=view)
    except SlackApiError as error:  # changed meanwhile (another pick) or closed: nothing lost
        log.info("enrollment form not adapted", extra={"error": error.response.get("error")})


def queue_enrollment_messages(
    session: Session,
    owed: Owed,
    program: Program,
    result: domain.EnrollmentResult,
    _: Translator,
    view_id: str,
) -> None:
    """The confirmation (one per submitted form: Slack retrying the same submission sends
    nothing again), and for a new enrollment the training pack (one per enrollment)."""
    participant = result.participant
    owed.queue(
        notices.ENROLLED.key(participant.id or 0, view_id),
        recipient=participant.slack_user_id,
        message=views.enrolled_confirmation(program, participant, _, created=result.created),
        program_id=program.id,
    )
    if result.created:
        owed.queue(
            notices.TRAINING.key(participant.id or 0, participant.enrolled_at.isoformat()),
            recipient=participant.slack_user_id,
            message=views.training_message(participant, _),
            program_id=program.id,
        )


def _error_blocks(errors: dict[str, str], _: Translator) -> dict[str, str]:
    return {field: _(message) for field, message in errors.items()}


def join_command(ctx: CommandContext) -> None:
    reply = open_enrollment(ctx.services, ctx.client, ctx.user_id, ctx.trigger_id, ctx.program_id)
    if reply is not None:
        ctx.reply(reply)


@listener
def on_join_clicked(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond | None, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    click = payloads.click_of(context, body)
    user_id = click.user.id
    program_id = programme_of_click(services, user_id, click.actions[0].value)
    if program_id is None:
        tell(services, body, respond, _which_programme(services, user_id, "join"))
        return
    reply = open_enrollment(services, client, user_id, click.trigger_id, program_id)
    if reply is not None:
        tell(services, body, respond, reply)
    elif respond is not None and (body.get("container") or {}).get("is_ephemeral"):
        # The "open the form" reply has done its job once the form is open.
        try:
            respond(delete_original=True)
        except Exception:  # noqa: BLE001 - a leftover note is harmless
            log.info("could not remove the note with the button")


@listener
def on_invitation_join(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond | None, context: BoltContext
) -> None:
    """Join on a campaign's invitation: the programme's join form, its role picked."""
    ack()
    services = services_of(context)
    click = payloads.click_of(context, body)
    user_id = click.user.id
    with services.db.session() as session:
        campaign = repo.campaign(session, payloads.action_number(body))
        found = (campaign.program_id, campaign.role) if campaign is not None else None
    if found is None:
        tell(services, body, respond, _which_programme(services, user_id, "join"))
        return
    reply = open_enrollment(services, client, user_id, click.trigger_id, found[0], role=found[1])
    if reply is not None:
        tell(services, body, respond, reply)


@submission
def on_enrollment_submitted(sub: Submission) -> Answer:
    services, user_id = sub.services, sub.user_id
    _ = sub._
    slack_user = services.person(user_id)
    program, _participant, _invited = _current(
        services, user_id, payloads.number(sub.metadata, "program_id")
    )
    if program is None:
        return Answer(errors={"role": common.no_program(_, is_admin=False)["text"]})
    if slack_user is None:
        return Answer(errors={"role": common.unknown_user(_)["text"]})
    refused = eligibility.ineligibility(slack_user)
    if refused is not None:  # became a guest (or was deactivated) while the form was open
        return Answer(errors={"role": eligibility.explain(refused, _)})
    form = parse_enrollment_form(sub.values)
    errors = domain.validate_enrollment(
        form, program, user_id, user_exists=lambda other: services.person(other) is not None
    )
    if errors:
        return Answer(errors=_error_blocks(errors, _))
    person = domain.Person(
        user_id=user_id,
        display_name=slack_user.real_name or slack_user.name,
        locale=_.locale,
        timezone=slack_user.timezone,
        utc_offset_minutes=slack_user.utc_offset_minutes,
    )

    def enroll(session: Session, owed: Owed) -> domain.EnrollmentResult:
        result = domain.enroll(session, program, person, form)
        # Invited by a campaign (whichever way they came to the form): they joined.
        repo.mark_joined(session, program.id or 0, user_id, services.clock.now())
        queue_enrollment_messages(session, owed, program, result, _, sub.view_id)
        return result

    try:
        # Answered only after the commit, so the person is told the truth; delivery follows.
        done = services.delivery.run(enroll)
    except domain.EnrollmentClosed:
        return Answer(errors={"role": common.enrollment_closed_error(_, program_name(program, _))})
    outcome, keys = done.result, done.keys
    log.info("enrolled", extra={"user": user_id, "new_participant": outcome.created})

    def after() -> None:
        services.delivery.deliver(keys)
        if outcome.created:
            for subscriber in services.enrollment_subscribers:
                subscriber(services, outcome.participant)
        publish_home(services, user_id)

    if outcome.created:
        done = _("You're in! Your confirmation is on its way in a direct message.")
    else:
        done = _("Your profile is saved.")
    return Answer(done=done, after=after)


@listener
def on_training_read(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    _ = services.translator_for(user_id)

    participant_id = payloads.action_number(body)

    def record(session: Session, owed: Owed) -> Participant | None:
        participant = session.get(Participant, participant_id)
        if participant is None or participant.slack_user_id != user_id:
            return None  # not theirs (a forwarded message)
        domain.mark_training_read(session, participant)
        return participant

    participant = services.delivery.run_and_deliver(record)
    if participant is None or participant.training_read_at is None:
        return
    read_on = _.date(participant.training_read_at.date())
    update_message(services, body, views.training_message(participant, _, read_at=read_on))
    publish_home(services, user_id)


def open_leave(
    services: Services, user_id: str, trigger_id: str, client: WebClient, program_id: int | None
) -> dict[str, Any] | None:
    _ = services.translator_for(user_id)
    program, participant, _invited = _current(services, user_id, program_id)
    if program is None or participant is None or not domain.is_enrolled(participant):
        return common.not_enrolled(_)
    view = views.leave_modal(program, _, paired=participant.status == ParticipantStatus.PAIRED)
    return open_or_explain(client, trigger_id, view, _)


def leave_command(ctx: CommandContext) -> None:
    reply = open_leave(ctx.services, ctx.user_id, ctx.trigger_id, ctx.client, ctx.program_id)
    if reply is not None:
        ctx.reply(reply)


@listener
def on_leave_clicked(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond | None, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    click = payloads.click_of(context, body)
    user_id = click.user.id
    program_id = programme_of_click(services, user_id, click.actions[0].value)
    if program_id is None:
        tell(services, body, respond, _which_programme(services, user_id, "leave"))
        return
    reply = open_leave(services, user_id, click.trigger_id, client, program_id)
    if reply is not None:
        tell(services, body, respond, reply)


@submission
def on_leave_submitted(sub: Submission) -> Answer:
    services, user_id = sub.services, sub.user_id
    _ = sub._
    erase = "erase" in payloads.selected_many(sub.values, "erase")
    program_id = payloads.number(sub.metadata, "program_id")

    def leave(session: Session, owed: Owed) -> list[domain.EndedPair] | None:
        _program, participant = repo.enrollment_in(session, program_id, user_id)
        if participant is None or not domain.is_enrolled(participant):
            return None
        ended = domain.leave(session, participant, erase=erase)
        # Queued after the erasure (which scrubs stored messages naming the person); once
        # sent, the farewell's row is emptied too (bot.services.forget_recipient).
        owed.queue(
            notices.FAREWELL.fresh_key(participant.id),
            recipient=user_id,
            message=views.left_message(_, erased=erase),
            program_id=participant.program_id,
            extra={"erase": erase},
        )
        for item in ended:
            partner = item.partner.slack_user_id
            owed.queue(
                notices.PARTNER_LEFT.key(item.pair.id or 0, item.partner.id or 0),
                recipient=partner,
                message=views.partner_left_message(services.translator_for(partner)),
                program_id=participant.program_id,
            )
        return ended

    done = services.delivery.run(leave)
    ended, keys = done.result, done.keys
    if ended is None:
        return Answer(done=common.not_enrolled(_)["text"])
    log.info("left the programme", extra={"erased": erase})

    def after() -> None:
        services.delivery.deliver(keys)
        for item in ended:
            publish_home(services, item.partner.slack_user_id)
        publish_home(services, user_id)

    return Answer(done=_("You have left the programme."), after=after)


def _which_programme(services: Services, user_id: str, command: str) -> dict[str, Any]:
    """ "Which programme?" for a Home button that names none, when several could be meant."""
    _ = services.translator_for(user_id)
    with services.db.session() as session:
        candidates = [p for p, _person in programs.enrollments_of(session, user_id)]
        if command == "join":
            candidates += programs.joinable(session, user_id)
    if not candidates:  # nothing to join: say whether anything runs at all
        if command == "join":
            return common.no_program(_, is_admin=services.is_admin(user_id))
        return common.not_enrolled(_)
    return programme_views.which_programme(candidates, command, "", _)


def mydata_command(ctx: CommandContext) -> None:
    """The person asked for their data: the DM and its file are the reply, sent directly."""
    services = ctx.services
    ctx.reply(kit.message(ctx._("I'm sending you a copy of your data in a direct message.")))

    def collect(session: Session, owed: Owed) -> list[dict[str, Any]]:
        rows = repo.participations_of_user(session, ctx.user_id)
        return [domain.personal_data(session, row) for row in rows]

    records = services.delivery.run_and_deliver(collect)
    if not records:
        reply_dm(services, ctx.user_id, kit.message(ctx._("I have no data stored about you.")))
        return
    data = records[0] if len(records) == 1 else {"programmes": records}
    channel = reply_dm(services, ctx.user_id, views.mydata_message(records[-1], ctx._))
    if channel is None:
        return
    try:
        services.client.files_upload_v2(
            channel=channel,
            filename="my-mentoring-data.json",
            content=json.dumps(data, ensure_ascii=False, indent=2),
            title=ctx._("Your mentoring data"),
        )
    except SlackApiError as error:
        log.warning("data export upload failed", extra={"error": error.response.get("error")})


def register(app: App, services: Services) -> None:
    app.action(JOIN_ACTION)(on_join_clicked)
    app.action(EDIT_ACTION)(on_join_clicked)
    app.view(views.CALLBACK_ID)(on_enrollment_submitted)
    app.action(views.ROLE_ACTION)(on_role_picked)
    app.action(views.TRAINING_READ_ACTION)(on_training_read)
    app.action(LEAVE_ACTION)(on_leave_clicked)
    app.action(CAMPAIGN_JOIN_ACTION)(on_invitation_join)
    app.view(views.LEAVE_CALLBACK_ID)(on_leave_submitted)
