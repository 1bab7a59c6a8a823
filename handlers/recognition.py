"""Recognition: `/mentoring shoutout` (admins), `/mentoring thanks` (a partner, approved by an
admin), `/mentoring story` (shared after the partner agrees and an admin approves).

Posting a shout-out or an approved thanks is a use case (bot/usecases/recognition.py: post,
store, take back on failure); these listeners parse, call it and tell the admin the outcome.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from sqlmodel import Session

from bot.delivery import Owed
from bot.domain import notices
from bot.domain import recognition as rec
from bot.i18n import Translator, translator
from bot.services import Services
from bot.usecases import recognition as flows
from bot.views import common, kit
from bot.views import recognition as views
from handlers import payloads
from handlers.authorize import owners_only, shoutout_in_value, story_in_value
from handlers.context import CommandContext, services_of
from handlers.guard import (
    Answer,
    Submission,
    failure_message,
    listener,
    log_failure,
    submission,
)
from handlers.replies import open_or_explain, update_message
from storage import repositories as repo
from storage.models import Participant

log = logging.getLogger(__name__)


def _answer(respond: Respond | None, message: dict[str, Any]) -> None:
    """An ephemeral answer to the person who clicked (only they see it)."""
    if respond is None:
        return
    try:
        respond(**message, response_type="ephemeral", replace_original=False)
    except Exception:  # noqa: BLE001 - a lost reply is logged, never raised to Bolt
        log.warning("reply through response_url failed")


def _problem(outcome: flows.Outcome, _: Translator) -> dict[str, Any] | None:
    """What to tell the admin when a shout-out or thanks could not be posted."""
    if outcome.result == flows.Result.NO_PROGRAM:
        return common.no_program(_, is_admin=True)
    if outcome.result == flows.Result.UNKNOWN_PEOPLE:
        return views.unknown_people(outcome.people, _)
    if outcome.result == flows.Result.NO_CHANNEL:
        return views.no_channel(_)
    if outcome.result == flows.Result.CHANNEL_REFUSED:
        return views.channel_problem(outcome.channel or "", outcome.error or "", _)
    if outcome.result == flows.Result.FAILED and outcome.failure is not None:
        log_failure(outcome.failure, "recognition")
        return failure_message(outcome.failure, _)
    return None


# /mentoring shoutout ---------------------------------------------------------------------


def shoutout_command(ctx: CommandContext) -> None:
    draft = rec.draft(*payloads.mentions(ctx.args))
    if draft.error is not None:
        ctx.reply(views.error(draft.error, ctx._))
        return
    outcome = flows.give_shoutout(ctx.services, ctx.user_id, draft, ctx.program_id)
    problem = _problem(outcome, ctx._)
    if problem is not None:
        ctx.reply(problem)
        return
    ctx.reply(views.shoutout_done(outcome.channel, outcome.named, outcome.private, ctx._))


# /mentoring thanks: a partner's thank-you, approved by an admin -----------------------------


def thanks_command(ctx: CommandContext) -> None:
    services, _ = ctx.services, ctx._
    draft = rec.draft(*payloads.mentions(ctx.args))
    if not draft.user_ids:
        ctx.reply(views.error(rec.NO_PARTNER_MENTION, _))
        return
    if draft.error is not None:
        ctx.reply(views.error(draft.error, _))
        return
    if len(draft.user_ids) != 1:
        ctx.reply(views.error(rec.ONLY_PARTNER, _))
        return
    partner_id = draft.user_ids[0]

    def propose(session: Session, owed: Owed) -> dict[str, Any] | None:
        program, me = repo.enrollment_in(session, ctx.program_id, ctx.user_id)
        if program is None or me is None:
            return common.not_enrolled(_)
        pair = rec.partner_pair(session, me, partner_id)
        if pair is None:
            return views.error(rec.ONLY_PARTNER, _)
        row = rec.propose_thanks(session, program, me, partner_id, draft.text)
        for admin in services.admins_of(session, program.id):
            owed.queue(
                notices.SHOUTOUT_REVIEW.key(row.id or 0, admin),
                recipient=admin,
                message=views.thanks_review(
                    row.id or 0, ctx.user_id, partner_id, draft.text, services.translator_for(admin)
                ),
                program_id=program.id,
            )
        return None

    try:
        problem = services.delivery.run_and_deliver(propose)
    except Exception as error:  # noqa: BLE001 - "unavailable" or "try again", as it is
        log_failure(error, "thanks")
        ctx.reply(failure_message(error, _))
        return
    ctx.reply(problem or views.thanks_sent(_))


@listener
def on_thanks_approve(
    ack: Ack, body: dict[str, Any], respond: Respond | None, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    admin_id = str(body["user"]["id"])
    _ = services.translator_for(admin_id)
    outcome = flows.approve_thanks(services, payloads.action_number(body), admin_id)
    if outcome.result == flows.Result.ALREADY_HANDLED:
        update_message(services, body, views.decided(_("This thank-you was already handled.")))
        return
    problem = _problem(outcome, _)
    if problem is not None:  # the thanks waits for approval again
        _answer(respond, problem)
        return
    update_message(services, body, views.decided(_("Approved by <@{admin}>.", admin=admin_id)))


@listener
def on_thanks_reject(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    admin_id = str(body["user"]["id"])
    _ = services.translator_for(admin_id)
    outcome = flows.reject_thanks(services, payloads.action_number(body), admin_id)
    text = (
        _("Rejected by <@{admin}>.", admin=admin_id)
        if outcome.result == flows.Result.DONE
        else _("This thank-you was already handled.")
    )
    update_message(services, body, views.decided(text))


# /mentoring story ---------------------------------------------------------------------------


def _my_pair(
    services: Services, user_id: str, program_id: int | None
) -> tuple[Participant, int] | None:
    with services.db.session() as session:
        _program, me = repo.enrollment_in(session, program_id, user_id)
        partners = repo.active_partners(session, me) if me else []
        if me is None or not partners:
            return None
        pair = rec.partner_pair(session, me, partners[0].slack_user_id)
        return (me, pair.id or 0) if pair else None


def story_command(ctx: CommandContext) -> None:
    if _my_pair(ctx.services, ctx.user_id, ctx.program_id) is None:
        ctx.reply(views.error(rec.NOT_IN_PAIR, ctx._))
        return
    modal = views.story_modal(ctx._, program_id=ctx.program_id)
    reply = open_or_explain(ctx.client, ctx.trigger_id, modal, ctx._)
    if reply is not None:
        ctx.reply(reply)


@submission
def on_story_submitted(sub: Submission) -> Answer:
    services, user_id = sub.services, sub.user_id
    _ = sub._
    text = payloads.text(sub.values, "story").strip()
    problem = rec.story_error(text)
    if problem is not None:
        return Answer(errors={"story": _(problem)})

    program_id = payloads.number(sub.metadata, "program_id")

    def submit(session: Session, owed: Owed) -> bool:
        _program, me = repo.enrollment_in(session, program_id, user_id)
        partners = repo.active_partners(session, me) if me else []
        pair = rec.partner_pair(session, me, partners[0].slack_user_id) if me and partners else None
        if me is None or pair is None:
            return False
        story = rec.submit_story(session, me, pair, text)
        partner = partners[0]
        owed.queue(
            notices.STORY_PARTNER.key(story.id or 0),
            recipient=partner.slack_user_id,
            message=views.story_for_partner(
                story.id or 0, user_id, text, translator(partner.locale)
            ),
            program_id=pair.program_id,
        )
        return True

    done = services.delivery.run(submit)
    stored, keys = done.result, done.keys  # a failure is answered inline by @submission
    note = (
        _("Thank you! Your partner is asked to agree before the programme team reviews it.")
        if stored
        else _(rec.NOT_IN_PAIR)
    )
    view = kit.notice_modal(
        title=_("Share your story"), text=note, close=_("Close"), callback_id="story_sent"
    )
    return Answer(view=view, done=note, after=lambda: services.delivery.deliver(keys))


def _partner_decides(services: Services, body: dict[str, Any], *, agree: bool) -> None:
    user_id = body["user"]["id"]
    _ = services.translator_for(user_id)
    story_id = payloads.action_number(body)

    def decide(session: Session, owed: Owed) -> bool:
        story = rec.partner_decides(session, story_id, user_id, agree=agree)
        if story is None:
            return False
        author = session.get(Participant, story.author_id)
        if not agree:
            if author is not None:
                owed.queue(
                    notices.STORY_DECIDED.key(story_id, author.id or 0),
                    recipient=author.slack_user_id,
                    message=views.story_declined(translator(author.locale)),
                    program_id=story.program_id,
                )
            return True
        partner = rec.partner_of(session, story)
        names = (author.slack_user_id if author else "", partner.slack_user_id if partner else "")
        for admin in services.admins_of(session, story.program_id):
            owed.queue(
                notices.STORY_REVIEW.key(story_id, admin),
                recipient=admin,
                message=views.story_for_admins(
                    story_id, names, story.text, services.translator_for(admin)
                ),
                program_id=story.program_id,
            )
        return True

    done = services.delivery.run_and_deliver(decide)
    if not done:
        text = _("This story was already handled.")
    elif agree:
        text = _("Thank you! The programme team will review the story.")
    else:
        text = _("Understood: the story stays private.")
    update_message(services, body, views.decided(text))


@listener
def on_story_agree(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    _partner_decides(services_of(context), body, agree=True)


@listener
def on_story_decline(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    _partner_decides(services_of(context), body, agree=False)


def _admin_decides(services: Services, body: dict[str, Any], *, approve: bool) -> None:
    admin_id = str(body["user"]["id"])
    _ = services.translator_for(admin_id)
    story_id = payloads.action_number(body)

    def decide(session: Session, owed: Owed) -> bool:
        story = rec.admin_decides(session, story_id, admin_id, approve=approve)
        if story is None:
            return False
        repo.record_audit(
            session,
            actor=admin_id,
            action="story.approve" if approve else "story.reject",
            program_id=story.program_id,
            target=f"story:{story_id}",
        )
        author = session.get(Participant, story.author_id)
        partner = rec.partner_of(session, story)
        for person in (author, partner):
            if person is None:
                continue
            owed.queue(
                notices.STORY_DECIDED.key(story_id, person.id or 0),
                recipient=person.slack_user_id,
                message=views.story_outcome(approve, translator(person.locale)),
                program_id=story.program_id,
            )
        return True

    done = services.delivery.run_and_deliver(decide)
    if not done:
        text = _("This story was already handled.")
    elif approve:
        text = _("Approved by <@{admin}>: it will appear in the next digest.", admin=admin_id)
    else:
        text = _("Rejected by <@{admin}>.", admin=admin_id)
    update_message(services, body, views.decided(text))


@listener
def on_story_approve(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    _admin_decides(services_of(context), body, approve=True)


@listener
def on_story_reject(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    _admin_decides(services_of(context), body, approve=False)


def register(app: App, services: Services) -> None:
    app.action(views.THANKS_APPROVE_ACTION, middleware=owners_only(shoutout_in_value))(
        on_thanks_approve
    )
    app.action(views.THANKS_REJECT_ACTION, middleware=owners_only(shoutout_in_value))(
        on_thanks_reject
    )
    app.view(views.STORY_CALLBACK_ID)(on_story_submitted)
    app.action(views.STORY_AGREE_ACTION)(on_story_agree)
    app.action(views.STORY_DECLINE_ACTION)(on_story_decline)
    app.action(views.STORY_APPROVE_ACTION, middleware=owners_only(story_in_value))(on_story_approve)
    app.action(views.STORY_REJECT_ACTION, middleware=owners_only(story_in_value))(on_story_reject)
