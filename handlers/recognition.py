"""Recognition: `/mentoring shoutout` (admins), `/mentoring thanks` (a partner, approved by an
admin), `/mentoring story` (shared after the partner agrees and an admin approves).

A shout-out is posted to the channel first (the admin's own action, answered directly); only
once that post succeeded are the stored shout-out and the thank-you DMs it owes written, in one
transaction. If the channel refuses, nothing is stored or sent and the admin is told what to do.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.delivery import Owed
from bot.delivery.sender import delivery_client
from bot.domain import notices
from bot.domain import recognition as rec
from bot.i18n import Translator, translator
from bot.services import Services
from bot.views import common, kit
from bot.views import recognition as views
from handlers import payloads
from handlers.context import CommandContext, services_of
from handlers.guard import (
    Answer,
    Submission,
    admin_of,
    failure_message,
    listener,
    log_failure,
    submission,
)
from handlers.replies import (
    open_or_explain,
    update_message,
)
from storage import repositories as repo
from storage.models import Participant, Program, ShoutOut

log = logging.getLogger(__name__)


def _channel_translator(services: Services) -> Translator:
    return translator(services.settings.default_locale)


def _answer(respond: Respond | None, message: dict[str, Any]) -> None:
    """An ephemeral answer to the person who clicked (only they see it)."""
    if respond is None:
        return
    try:
        respond(**message, response_type="ephemeral", replace_original=False)
    except Exception:  # noqa: BLE001 - a lost reply is logged, never raised to Bolt
        log.warning("reply through response_url failed")


def _post_to_channel(
    services: Services, channel: str, message: dict[str, Any]
) -> tuple[str, str] | str:
    """Posts once (no automatic retry: a lost answer must not post twice).
    Returns (channel id, ts), or Slack's error code."""
    try:
        response = delivery_client(services.client).chat_postMessage(channel=channel, **message)
    except SlackApiError as error:
        return str(error.response.get("error") or "unknown")
    except Exception as error:  # noqa: BLE001 - network trouble: report, post nothing more
        return type(error).__name__
    return str(response["channel"]), str(response["ts"])


def _take_back(services: Services, channel_id: str | None, ts: str | None) -> None:
    """Storing failed after the channel post: remove it, so nothing is half-done."""
    if not channel_id or not ts:
        return
    try:
        services.client.chat_delete(channel=channel_id, ts=ts)
    except SlackApiError:
        log.warning("could not remove the shout-out post")


def _unknown(services: Services, user_ids: list[str]) -> list[str]:
    unknown = []
    for user_id in user_ids:
        person = services.person(user_id)
        if person is None or person.deleted or person.is_bot:
            unknown.append(user_id)
    return unknown


def _queue_thanks(
    services: Services,
    session: Session,
    owed: Owed,
    row: ShoutOut,
    public: set[str],
    channel: str | None,
) -> None:
    for user_id in row.recipient_slack_ids:
        owed.queue(
            notices.SHOUTOUT_THANKS.key(row.id or 0, user_id),
            recipient=user_id,
            message=views.thanks_dm(
                row.message,
                channel if user_id in public else None,
                services.translator_for(user_id),
            ),
            program_id=row.program_id,
        )


# /mentoring shoutout ---------------------------------------------------------------------


def shoutout_command(ctx: CommandContext) -> None:
    services, _ = ctx.services, ctx._
    draft = rec.parse(ctx.args)
    if draft.error is not None:
        ctx.reply(views.error(draft.error, _))
        return
    with services.db.session() as session:
        program = repo.active_program(session)
        public = rec.consenting(session, program, draft.user_ids) if program else set()
    if program is None:
        ctx.reply(common.no_program(_, is_admin=True))
        return
    unknown = _unknown(services, draft.user_ids)
    if unknown:
        ctx.reply(views.unknown_people(unknown, _))
        return
    named = [user_id for user_id in draft.user_ids if user_id in public]
    private = [user_id for user_id in draft.user_ids if user_id not in public]
    channel = rec.channel_of(program, services.settings.recognition_channel)
    posted: tuple[str, str] | None = None
    if named:
        if channel is None:
            ctx.reply(views.no_channel(_))
            return
        message = views.channel_shoutout(
            named, draft.text, ctx.user_id, _channel_translator(services)
        )
        result = _post_to_channel(services, channel, message)
        if isinstance(result, str):
            log.info("shout-out not posted", extra={"error": result})
            ctx.reply(views.channel_problem(channel, result, _))
            return
        posted = result
    channel_id, ts = posted if posted else (None, None)

    def record(session: Session, owed: Owed) -> None:
        current = session.get(Program, program.id)
        assert current is not None
        row = rec.record_shoutout(
            session, current, ctx.user_id, draft.user_ids, draft.text, channel=channel_id, ts=ts
        )
        _queue_thanks(services, session, owed, row, set(named), channel_id)

    try:
        services.delivery.run_and_deliver(record)
    except Exception:
        log.exception("storing a shout-out failed")
        _take_back(services, channel_id, ts)
        ctx.reply(common.try_again(_))
        return
    ctx.reply(views.shoutout_done(channel_id, named, private, _))


# /mentoring thanks: a partner's thank-you, approved by an admin -----------------------------


def thanks_command(ctx: CommandContext) -> None:
    services, _ = ctx.services, ctx._
    draft = rec.parse(ctx.args)
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
        program, me = repo.current_participant(session, ctx.user_id)
        if program is None or me is None:
            return common.not_enrolled(_)
        pair = rec.partner_pair(session, me, partner_id)
        if pair is None:
            return views.error(rec.ONLY_PARTNER, _)
        row = rec.propose_thanks(session, program, me, partner_id, draft.text)
        for admin in services.admin_ids():
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
    admin_id = admin_of(services, body, respond)
    if admin_id is None:
        return
    _ = services.translator_for(admin_id)
    shoutout_id = payloads.action_number(body)

    def claim(session: Session) -> tuple[ShoutOut, set[str], str | None] | None:
        row = rec.claim_thanks(session, shoutout_id, admin_id)
        program = session.get(Program, row.program_id) if row else None
        if row is None or program is None:
            return None
        public = rec.consenting(session, program, row.recipient_slack_ids)
        return row, public, rec.channel_of(program, services.settings.recognition_channel)

    claimed = services.db.run(claim)
    if claimed is None:
        update_message(services, body, views.decided(_("This thank-you was already handled.")))
        return
    row, public, channel = claimed
    posted: tuple[str, str] | None = None
    if public:
        problem: dict[str, Any] | None = None
        if channel is None:
            problem = views.no_channel(_)
        else:
            message = views.channel_shoutout(
                sorted(public),
                row.message,
                row.author_slack_id,
                _channel_translator(services),
                thanks=True,
            )
            result = _post_to_channel(services, channel, message)
            if isinstance(result, str):
                problem = views.channel_problem(channel, result, _)
            else:
                posted = result
        if problem is not None:  # back to waiting: the admin can click again once it's fixed
            services.db.run(lambda session: rec.release_thanks(session, shoutout_id))
            _answer(respond, problem)
            return
    channel_id, ts = posted if posted else (None, None)

    def finish(session: Session, owed: Owed) -> None:
        done = rec.finish_thanks(session, shoutout_id, channel_id, ts)
        if done is None:
            return
        _queue_thanks(services, session, owed, done, public, channel_id)
        author = done.author_slack_id
        owed.queue(
            notices.SHOUTOUT_DECIDED.key(shoutout_id),
            recipient=author,
            message=views.thanks_posted_for_author(channel_id, services.translator_for(author)),
            program_id=done.program_id,
        )

    try:
        services.delivery.run_and_deliver(finish)
    except Exception as error:  # noqa: BLE001 - taken back, then answered truthfully
        log_failure(error, "thanks_approve")
        _take_back(services, channel_id, ts)
        services.db.run(lambda session: rec.release_thanks(session, shoutout_id))
        _answer(respond, failure_message(error, _))
        return
    update_message(services, body, views.decided(_("Approved by <@{admin}>.", admin=admin_id)))


@listener
def on_thanks_reject(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    admin_id = admin_of(services, body)
    if admin_id is None:
        return
    _ = services.translator_for(admin_id)
    shoutout_id = payloads.action_number(body)

    def reject(session: Session, owed: Owed) -> bool:
        row = rec.reject_thanks(session, shoutout_id, admin_id)
        if row is None:
            return False
        author = row.author_slack_id
        owed.queue(
            notices.SHOUTOUT_DECIDED.key(shoutout_id),
            recipient=author,
            message=views.thanks_rejected_for_author(services.translator_for(author)),
            program_id=row.program_id,
        )
        return True

    done = services.delivery.run_and_deliver(reject)
    text = (
        _("Rejected by <@{admin}>.", admin=admin_id)
        if done
        else _("This thank-you was already handled.")
    )
    update_message(services, body, views.decided(text))


# /mentoring story ---------------------------------------------------------------------------


def _my_pair(services: Services, user_id: str) -> tuple[Participant, int] | None:
    with services.db.session() as session:
        _program, me = repo.current_participant(session, user_id)
        partners = repo.active_partners(session, me) if me else []
        if me is None or not partners:
            return None
        pair = rec.partner_pair(session, me, partners[0].slack_user_id)
        return (me, pair.id or 0) if pair else None


def story_command(ctx: CommandContext) -> None:
    if _my_pair(ctx.services, ctx.user_id) is None:
        ctx.reply(views.error(rec.NOT_IN_PAIR, ctx._))
        return
    reply = open_or_explain(ctx.client, ctx.trigger_id, views.story_modal(ctx._), ctx._)
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

    def submit(session: Session, owed: Owed) -> bool:
        _program, me = repo.current_participant(session, user_id)
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
        for admin in services.admin_ids():
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
    admin_id = admin_of(services, body)
    if admin_id is None:
        return
    _ = services.translator_for(admin_id)
    story_id = payloads.action_number(body)

    def decide(session: Session, owed: Owed) -> bool:
        story = rec.admin_decides(session, story_id, admin_id, approve=approve)
        if story is None:
            return False
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
    app.action(views.THANKS_APPROVE_ACTION)(on_thanks_approve)
    app.action(views.THANKS_REJECT_ACTION)(on_thanks_reject)
    app.view(views.STORY_CALLBACK_ID)(on_story_submitted)
    app.action(views.STORY_AGREE_ACTION)(on_story_agree)
    app.action(views.STORY_DECLINE_ACTION)(on_story_decline)
    app.action(views.STORY_APPROVE_ACTION)(on_story_approve)
    app.action(views.STORY_REJECT_ACTION)(on_story_reject)
