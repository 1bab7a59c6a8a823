"""The pair's journey in Slack: answering check-ins, logging meetings, slots with calendar
invites, pauses, the admins' kill switch and their answer to a quiet pair."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.clock import today_in
from bot.delivery import Owed
from bot.domain import enrollment, journey, notices, pairing, validation
from bot.domain.working_hours import working_hours
from bot.i18n import Translator, translator
from bot.services import Services
from bot.usecases import milestones as celebrations
from bot.views import common, kit
from bot.views import journey as views
from bot.views import matching as matching_views
from handlers import payloads
from handlers.authorize import owners_only, pair_in_value
from handlers.context import CommandContext, services_of
from handlers.guard import Answer, Submission, listener, outcome_modal, submission
from handlers.replies import open_modal, store_or_apologise, update_message
from storage import repositories as repo
from storage.models import CheckInRequest, CheckInRequestStatus, Goal, Pair, Participant

log = logging.getLogger(__name__)


# Check-in answers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """The check-in a click or submission answers, as sent to the person who acted."""

    request: CheckInRequest
    person: Participant
    partner: Participant
    goals: list[Goal]


def _request_context(services: Services, request_id: int, user_id: str) -> Prompt | str | None:
    """The prompt when it was sent to `user_id` and can still be answered; why not (an
    English msgid) when it is closed; None when it is not theirs."""
    with services.db.session() as session:
        request = journey.request_of_member(session, request_id, user_id)
        if request is None:
            return None
        closed = journey.prompt_closed(session, request, services.clock.now())
        if closed is not None:
            return closed
        pair = session.get(Pair, request.pair_id)
        person = session.get(Participant, request.participant_id)
        assert pair is not None and person is not None
        partner = pairing.partner_in(session, pair, person)
        goals = list(repo.goals_of_pair(session, pair.id or 0))
    if partner is None:
        return None
    return Prompt(request, person, partner, goals)


def _closed_notice(services: Services, body: dict[str, Any], reason: str) -> None:
    """An old prompt answered kindly: the clicked message says why, its buttons go."""
    _ = services.translator_for(body["user"]["id"])
    update_message(services, body, kit.message(_(reason)))


@listener
def on_met_clicked(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    found = _request_context(services, payloads.action_number(body), user_id)
    if isinstance(found, str):
        _closed_notice(services, body, found)
        return
    if found is None:
        return
    _ = services.translator_for(user_id)
    channel, ts = payloads.message_location(body)
    view = views.meeting_modal(
        found.request.id or 0,
        found.goals,
        today_in(found.person.timezone),
        _,
        origin={"c": channel, "t": ts},
    )
    open_modal(client, body.get("trigger_id", ""), view)


def _meeting_from(values: payloads.Values, goals: list[int]) -> journey.Meeting:
    return journey.Meeting(
        met_on=payloads.day(values, "met_on") or date.min,
        duration_minutes=int(payloads.selected(values, "duration") or 0),
        topics=payloads.text(values, "topics").strip(),
        learned=payloads.text(values, "learned").strip(),
        taught=payloads.text(values, "taught").strip(),
        rating=int(payloads.selected(values, "rating") or 0),
        notes=payloads.text(values, "notes").strip(),
        progress={
            goal_id: key
            for goal_id in goals
            if (key := payloads.selected(values, f"goal_{goal_id}")) is not None
        },
    )


@submission
def on_meeting_submitted(sub: Submission) -> Answer:
    services, user_id = sub.services, sub.user_id
    _ = sub._
    metadata = sub.metadata
    request_id = payloads.number(metadata, "request_id")
    values = sub.values
    goal_ids = [
        int(block[len("goal_") :])
        for block in values
        if block.startswith("goal_") and block[len("goal_") :].isdigit()
    ]
    try:
        meeting = _meeting_from(values, goal_ids)
    except ValueError:
        return Answer(errors={"duration": _("Pick one of the options.")})
    found = _request_context(services, request_id, user_id)
    if isinstance(found, str):
        return Answer(view=outcome_modal(_(found), _), done=_(found))
    if found is None:
        return Answer()
    person = found.person
    errors = {
        **validation.text_errors(
            {k: getattr(meeting, k) for k in ("topics", "learned", "taught", "notes")}
        ),
        **journey.validate_meeting(meeting, today_in(person.timezone)),
    }
    if errors:
        return Answer(errors={f: _(m) for f, m in errors.items()})

    def save(session: Session, owed: Owed) -> str | None:
        request = journey.request_of_member(session, request_id, user_id)
        if request is None:
            return None
        # Checked again where it is stored: the pair may have ended while the modal was open.
        now = services.clock.now()
        closed = journey.prompt_closed(session, request, now)
        if closed is None:
            journey.record_meeting(session, request, meeting)
            # The first meeting (or a goal achieved) is celebrated now, not at the job's run.
            celebrations.celebrate_pair(services, session, owed, request.pair_id, now)
        return closed

    done = services.delivery.run(save)  # a failure is answered inline by @submission
    closed = done.result
    if closed is not None:
        return Answer(view=outcome_modal(_(closed), _), done=_(closed))
    origin = {"channel": {"id": metadata.get("c")}, "message": {"ts": metadata.get("t")}}
    logged = views.meeting_logged(request_id, _)

    def after() -> None:
        update_message(services, origin, logged)
        services.delivery.deliver(done.keys)

    return Answer(done=logged["text"], after=after)


def _answer(services: Services, body: dict[str, Any], status: str) -> bool:
    """Records "not yet" or "snooze"; False (after telling the person why, when the prompt is
    closed) when nothing was recorded."""
    user_id = body["user"]["id"]
    request_id = payloads.action_number(body)

    def work(session: Session) -> bool | str:
        request = journey.request_of_member(session, request_id, user_id)
        if request is None:
            return False
        closed = journey.prompt_closed(session, request, services.clock.now())
        if closed is not None:
            return closed
        journey.answer(session, request, status)
        return True

    outcome = services.db.run(work)
    if isinstance(outcome, str):
        _closed_notice(services, body, outcome)
        return False
    return outcome


@listener
def on_snooze_clicked(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    if _answer(services, body, CheckInRequestStatus.SNOOZED):
        update_message(
            services, body, views.snoozed_message(services.translator_for(body["user"]["id"]))
        )


@listener
def on_not_yet_clicked(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    if not _answer(services, body, CheckInRequestStatus.NOT_YET):
        return
    found = _request_context(services, payloads.action_number(body), user_id)
    if not isinstance(found, Prompt):
        return
    request, person, partner = found.request, found.person, found.partner
    with services.db.session() as session:
        program = repo.program(session, person.program_id)
    hours = working_hours(program)
    options = journey.meeting_options(person, partner, services.clock.now(), hours)
    _ = services.translator_for(user_id)
    update_message(
        services,
        body,
        views.not_yet_message(
            options, person.timezone, partner.timezone, partner.slack_user_id, request.id or 0, _
        ),
    )
    channel, _ts = payloads.message_location(body)
    # Invites for the times offered: inside both people's hours, else the nearest ones.
    slots = options.slots or [near.start for near in options.near]
    if slots and channel:
        _send_invites(services, channel, request.id or 0, partner, slots, _)


def _send_invites(
    services: Services,
    channel: str,
    request_id: int,
    partner: Participant,
    slots: list[Any],
    _: Translator,
) -> None:
    """The slots as .ics files in the person's DM: a direct reply to their click."""
    name = partner.display_name or partner.slack_user_id
    summary = views.invite_summary(name, _)
    files = [
        {
            "content": journey.ical_invite(
                slot, summary, summary, f"rm-{request_id}-{index}@reverse-mentoring"
            ),
            "filename": f"mentoring-{slot.strftime('%Y%m%dT%H%MZ')}.ics",
            "title": summary,
        }
        for index, slot in enumerate(slots, start=1)
    ]
    try:
        services.client.files_upload_v2(channel=channel, file_uploads=files)
    except SlackApiError as error:
        log.warning("invite upload failed", extra={"error": error.response.get("error")})


# Admins: a quiet pair -----------------------------------------------------------------------


def _admin_click(body: dict[str, Any]) -> tuple[str, int]:
    """(the admin who clicked, the pair the button names); rights: handlers.authorize."""
    return str(body["user"]["id"]), payloads.action_number(body)


@listener
def on_contact_pair(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    admin_id, pair_id = _admin_click(body)

    def work(session: Session, owed: Owed) -> bool:
        pair = session.get(Pair, pair_id)
        if pair is None or pair.status != "active":
            return False
        people = repo.participants_by_ids(session, [pair.mentor_id, pair.mentee_id])
        mentor, mentee = people[pair.mentor_id], people[pair.mentee_id]
        recipient = pair.conversation_id or f"{mentor.slack_user_id},{mentee.slack_user_id}"
        languages = pairing.intro_languages(mentor, mentee)
        owed.queue(
            notices.CONTACT_PAIR.fresh_key(pair_id),
            recipient=recipient,
            message=views.contact_pair_message(
                admin_id, [translator(language) for language in languages]
            ),
            program_id=pair.program_id,
        )
        repo.add_pair_event(session, pair_id, "contacted", admin_id)
        return True

    done = store_or_apologise(services, admin_id, work, action="contact_pair")
    _ = services.translator_for(admin_id)
    text = _("You wrote to the pair.") if done else _("That pair is no longer active.")
    update_message(services, body, views.escalation_done(text))


@listener
def on_end_pair(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    admin_id, pair_id = _admin_click(body)

    def work(session: Session, owed: Owed) -> bool:
        pair = session.get(Pair, pair_id)
        if pair is None:
            return False
        ended = enrollment.end_pair(session, pair, reason="inactive", actor=admin_id)
        if ended is None:
            return False
        repo.record_audit(
            session,
            actor=admin_id,
            action="pair.end",
            program_id=pair.program_id,
            target=f"pair:{pair_id}",
            detail={"reason": "inactive"},
        )
        for person in ended:
            _ = services.translator_for(person.slack_user_id)
            owed.queue(
                notices.PAIR_ENDED.key(pair_id, person.id or 0),
                recipient=person.slack_user_id,
                message=kit.message(_(common.PAIR_ENDED_FOR_PARTNER)),
                program_id=pair.program_id,
            )
        return True

    done = store_or_apologise(services, admin_id, work, action="end_pair")
    _ = services.translator_for(admin_id)
    text = (
        _("The pair has ended; both were told kindly.")
        if done
        else _("That pair is no longer active.")
    )
    update_message(services, body, views.escalation_done(text))


# Commands ----------------------------------------------------------------------------------


def _my_pairs(
    services: Services, user_id: str, program_id: int | None
) -> tuple[Any, Participant | None, list[Pair]]:
    with services.db.session() as session:
        program, participant = repo.enrollment_in(session, program_id, user_id)
        pairs = list(repo.pairs_of(session, participant.id or 0, ["active"])) if participant else []
    return program, participant, pairs


def goals_command(ctx: CommandContext) -> None:
    """Opens the pair's goals modal (the one the intro's button opens)."""
    _program, _participant, pairs = _my_pairs(ctx.services, ctx.user_id, ctx.program_id)
    if not pairs:
        ctx.reply(kit.message(ctx._("You have no active pair yet.")))
        return
    pair = pairs[0]
    if ctx.args.strip().isdigit():
        pair = next((p for p in pairs if p.id == int(ctx.args.strip())), pair)
    with ctx.services.db.session() as session:
        goals = list(repo.goals_of_pair(session, pair.id or 0))
        modal = matching_views.goals_modal(pair.id or 0, ctx._, goals)
    open_modal(ctx.client, ctx.trigger_id, modal)


def status_command(ctx: CommandContext) -> None:
    services = ctx.services
    with services.db.session() as session:
        program, participant = repo.enrollment_in(session, ctx.program_id, ctx.user_id)
        rows = journey.progress_of(session, participant) if participant else []
    if program is None or participant is None:
        ctx.reply(common.no_program(ctx._, is_admin=services.is_admin(ctx.user_id)))
        return
    current = journey.period_of(services.clock.now(), program.timezone)
    ctx.reply(
        views.status_message(rows, journey.next_period(current), participant.paused_until, ctx._)
    )


def pause_command(ctx: CommandContext) -> None:
    """`/mentoring pause 2027-02-01` (no check-ins or nudges before that day) or `pause off`."""
    services = ctx.services
    person = services.person(ctx.user_id)
    today = today_in(person.timezone if person else None)

    def work(session: Session) -> journey.PauseChoice | None:
        program, participant = repo.enrollment_in(session, ctx.program_id, ctx.user_id)
        if program is None or participant is None:
            return None
        choice = journey.choose_pause(ctx.args, today, program.end_date)
        if choice.error is None:
            participant.paused_until = choice.until
            session.add(participant)
        return choice

    choice = services.db.run(work)
    if choice is None:
        ctx.reply(kit.message(ctx._("You are not in the programme.")))
        return
    until = choice.until
    if choice.error is not None:
        end = ctx._.day(choice.end) if choice.end else ""
        ctx.reply(kit.message(ctx._(choice.error, end=end)))
    elif until is None:
        ctx.reply(kit.message(ctx._("Welcome back: check-ins and reminders are on again.")))
    else:
        ctx.reply(
            kit.message(
                ctx._(
                    "Paused until {day}: no check-ins or reminders before then.",
                    day=ctx._.day(until),
                )
            )
        )


def hold_command(ctx: CommandContext) -> None:
    """Admins: `/mentoring hold on` holds every message of the programme; `off` releases."""
    arg = ctx.args.strip().lower()
    if arg not in {"on", "off"}:
        ctx.reply(kit.message(ctx._("Use `/mentoring hold on` or `/mentoring hold off`.")))
        return

    def work(session: Session) -> bool:
        program = repo.program(session, ctx.program_id)
        if program is None:
            return False
        repo.set_messages_held(session, program, arg == "on")
        repo.record_audit(
            session, actor=ctx.user_id, action=f"program.hold_{arg}", program_id=program.id
        )
        return True

    if not ctx.services.db.run(work):
        ctx.reply(common.no_program(ctx._, is_admin=True))
    elif arg == "on":
        ctx.reply(kit.message(ctx._("All messages of the programme are on hold.")))
    else:
        ctx.reply(
            kit.message(ctx._("Messages are flowing again; held ones go out within a minute."))
        )


def register(app: App, services: Services) -> None:
    app.action(views.MET_ACTION)(on_met_clicked)
    app.action(views.NOT_YET_ACTION)(on_not_yet_clicked)
    app.action(views.SNOOZE_ACTION)(on_snooze_clicked)
    app.view(views.MEETING_CALLBACK_ID)(on_meeting_submitted)
    app.action(views.CONTACT_ACTION, middleware=owners_only(pair_in_value))(on_contact_pair)
    app.action(views.END_ACTION, middleware=owners_only(pair_in_value))(on_end_pair)
