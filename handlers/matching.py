"""`/mentoring match` review and approval, introductions, pair goals, and re-match requests."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.clock import today_in
from bot.delivery import Owed
from bot.domain import journey, notices, pairing, programs, validation
from bot.i18n import N_, Translator, translator
from bot.services import Services
from bot.views import common, kit
from bot.views import matching as views
from bot.views.home import MATCH_ACTION, REMATCH_ACTION
from handlers import payloads
from handlers.app_home import publish_home
from handlers.authorize import (
    owners_only,
    programme_in_value,
    programme_of,
    request_in_value,
    run_in_form,
)
from handlers.context import CommandContext, services_of
from handlers.guard import Answer, Submission, listener, outcome_modal, submission, tell
from handlers.replies import (
    open_modal,
    open_or_explain,
    too_slow,
    update_message,
)
from storage import repositories as repo
from storage.models import MatchRun, Pair, PairStatus, Participant, Program, RematchRequest

log = logging.getLogger(__name__)


def _review_view(services: Services, run_id: int, _: Translator, page: int) -> dict[str, Any]:
    with services.db.session() as session:
        proposal = pairing.load_proposal(session, run_id)
        program = session.get(Program, proposal.run.program_id) if proposal else None
    if proposal is None or program is None:
        return kit.notice_modal(
            title=_("Matching"),
            text=_("This proposal is no longer available."),
            close=_("Close"),
            callback_id="match_gone",
        )
    return views.review_modal(
        program, run_id, proposal.pairs, proposal.run.waiting_list, proposal.people, _, page=page
    )


def _compute(services: Services, admin_id: str, program_id: int | None) -> int | None:
    def work(session: Session) -> int | None:
        program = repo.program(session, program_id)
        if program is None:
            return None
        return pairing.propose(session, program, admin_id).run.id

    return services.db.run(work)


def queue_introductions(session: Session, owed: Owed, pairs: list[Pair]) -> None:
    """One introduction per pair, in the transaction that approves them."""
    for pair in pairs:
        program = session.get(Program, pair.program_id)
        assert program is not None
        people = repo.participants_by_ids(session, [pair.mentor_id, pair.mentee_id])
        mentor, mentee = people[pair.mentor_id], people[pair.mentee_id]
        translators = [translator(language) for language in pairing.intro_languages(mentor, mentee)]
        owed.queue(
            notices.INTRO.key(pair.id or 0),
            recipient=f"{mentor.slack_user_id},{mentee.slack_user_id}",
            message=views.intro_message(program, pair, mentor, mentee, translators),
            program_id=pair.program_id,
            extra={"pair_id": pair.id},
        )


def queue_suggestions_notice(
    services: Services, session: Session, owed: Owed, run_id: int, count: int
) -> None:
    run = session.get(MatchRun, run_id)
    program_id = run.program_id if run is not None else None
    for admin in services.admins_of(session, program_id):
        _ = services.translator_for(admin)
        text = _("New match suggestions are waiting for your review: {count}", count=count)
        button = kit.button(_("Review"), views.REVIEW_ACTION, str(program_id or ""))
        owed.queue(
            notices.MATCH_SUGGESTIONS.key(run_id, admin),
            recipient=admin,
            message=kit.message(text, [kit.section(text, accessory=button)]),
        )


def match_newcomer(services: Services, participant: Participant) -> None:
    """Someone joined: if matching has begun and they fit someone waiting, propose it."""

    def work(session: Session, owed: Owed) -> None:
        count = pairing.propose_for_newcomer(session, participant)
        run = repo.open_match_run(session, participant.program_id) if count else None
        if run is not None:
            queue_suggestions_notice(services, session, owed, run.id or 0, count)

    try:
        services.delivery.run_and_deliver(work)
    except Exception:  # noqa: BLE001 - the enrollment stands; the next newcomer retries this
        log.exception("matching a newcomer failed")


def suggest_for_newcomers(services: Services, program_id: int) -> None:
    """After a proposal was approved or closed: newcomers who waited behind it get their own
    proposal, and the admins are told (in its transaction, through the outbox)."""

    def work(session: Session, owed: Owed) -> None:
        program = session.get(Program, program_id)
        proposal = pairing.propose_for_newcomers(session, program) if program else None
        if proposal is not None and proposal.pairs:
            queue_suggestions_notice(
                services, session, owed, proposal.run.id or 0, len(proposal.pairs)
            )

    services.delivery.run_and_deliver(work)


# Review and approval --------------------------------------------------------------------------


def _show_review(
    services: Services,
    client: WebClient,
    view: dict[str, Any],
    opened: dict[str, Any],
    external_id: str,
) -> None:
    try:
        if opened.get("id"):
            client.views_update(view_id=opened["id"], view=view)
        else:  # views.open's answer was lost: the loading modal is found by its external id
            client.views_update(external_id=external_id, view=view)
    except SlackApiError as error:  # closed meanwhile: the proposal stays open for next time
        log.warning("showing the review failed", extra={"error": error.response.get("error")})


def open_review(
    services: Services, client: WebClient, user_id: str, trigger_id: str, program_id: int | None
) -> dict[str, Any] | None:
    """Opens the review of a programme's matching; returns a message for the admin when
    there is nothing to show."""
    _ = services.translator_for(user_id)
    with services.db.session() as session:
        program = repo.program(session, program_id)
    if program is None:
        return common.no_program(_, is_admin=True)
    external_id = f"match_review_{uuid.uuid4().hex}"
    opened = open_modal(client, trigger_id, views.loading_modal(_, external_id))
    if opened is None:
        return too_slow(_)
    run_id = _compute(services, user_id, program_id)
    if run_id is None:
        return common.no_program(_, is_admin=True)
    _show_review(services, client, _review_view(services, run_id, _, 0), opened, external_id)
    return None


def match_command(ctx: CommandContext) -> None:
    reply = open_review(ctx.services, ctx.client, ctx.user_id, ctx.trigger_id, ctx.program_id)
    if reply is not None:
        ctx.reply(reply)


@listener
def on_match_clicked(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond | None, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    click = payloads.click_of(context, body)
    program_id = programme_of(context)  # the programme the button belongs to
    reply = open_review(services, client, click.user.id, click.trigger_id, program_id)
    if reply is not None:
        tell(services, body, respond, reply)


def update_review(
    services: Services, body: dict[str, Any], client: WebClient, page: int | None = None
) -> None:
    """Re-renders the review from the database: its metadata then names every pair shown."""
    user_id = body["user"]["id"]
    meta = payloads.metadata(body)
    view = _review_view(
        services,
        payloads.number(meta, "run_id"),
        services.translator_for(user_id),
        page if page is not None else payloads.number(meta, "page"),
    )
    client.views_update(view_id=body["view"]["id"], view=view)


@listener
def on_page_changed(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    update_review(services_of(context), body, client, page=payloads.action_number(body))


@listener
def on_remove_pair(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    run_id = payloads.number(payloads.metadata(body), "run_id")
    pair_id = payloads.action_number(body)
    # False: already removed, or the run was approved meanwhile; the refreshed review shows it.
    services.db.run(lambda s: _remove_proposed(s, run_id, pair_id, user_id))
    update_review(services, body, client)


def _remove_proposed(session: Session, run_id: int, pair_id: int, admin_id: str) -> bool:
    removed = pairing.remove_proposed(session, run_id, pair_id, admin_id)
    if removed:
        run = session.get(MatchRun, run_id)
        repo.record_audit(
            session,
            actor=admin_id,
            action="match.remove",
            program_id=run.program_id if run else None,
            target=f"pair:{pair_id}",
            detail={"run_id": run_id},
        )
    return removed


@listener
def on_rerun(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    run_id = payloads.number(payloads.metadata(body), "run_id")
    with services.db.session() as session:
        run = session.get(MatchRun, run_id)
        program_id = run.program_id if run is not None else None
    run_id = _compute(services, user_id, program_id)
    if run_id is not None:
        view = _review_view(services, run_id, services.translator_for(user_id), 0)
        client.views_update(view_id=body["view"]["id"], view=view)


@submission
def on_approve(sub: Submission) -> Answer:
    services, user_id = sub.services, sub.user_id
    _ = sub._
    meta = sub.metadata
    run_id = payloads.number(meta, "run_id")
    reviewed = views.reviewed_pair_ids(meta)

    def approve(session: Session, owed: Owed) -> tuple[pairing.Approval, int]:
        ids = reviewed
        if ids is None:  # too many to carry: the digest says whether the proposal is unchanged
            current = [p.id or 0 for p in repo.proposed_pairs(session, run_id)]
            ids = current if views.ids_digest(current) == meta.get("digest") else []
        run = session.get(MatchRun, run_id)
        approval = pairing.approve(session, run_id, user_id, ids)
        queue_introductions(session, owed, approval.pairs)
        if run is not None and approval.pairs:
            programs.start_running(session, run.program_id)  # the first pairs meet
        if approval.closed:
            repo.record_audit(
                session,
                actor=user_id,
                action="match.approve",
                program_id=run.program_id if run else None,
                target=f"run:{run_id}",
                detail={"pairs": len(approval), "discarded": approval.not_reviewed},
            )
        return approval, run.program_id if run else 0

    done = services.delivery.run(approve)
    (approval, program_id), keys = done.result, done.keys
    if not approval.closed:  # another click (or admin) approved or closed it first
        return Answer(view=views.already_approved_modal(_))
    log.info("pairs approved", extra={"count": len(approval), "admin": user_id})
    pairs = approval.pairs

    def after() -> None:
        services.delivery.deliver(keys)
        with services.db.session() as session:
            members = repo.participants_by_ids(
                session, [p.mentor_id for p in pairs] + [p.mentee_id for p in pairs]
            )
        for member in members.values():
            publish_home(services, member.slack_user_id)
        publish_home(services, user_id)
        if approval.newcomers_waiting:
            suggest_for_newcomers(services, program_id)

    modal = views.approved_modal(len(approval), _, discarded=approval.not_reviewed)
    return Answer(view=modal, after=after)


@listener
def on_review_closed(body: dict[str, Any], context: BoltContext) -> None:
    """The admin closed the review without approving: the proposal is dropped."""
    services = services_of(context)
    run_id = payloads.number(payloads.metadata(body), "run_id")
    if not run_id:
        return

    def close(session: Session) -> int | None:
        run = session.get(MatchRun, run_id)
        if run is None or not pairing.close_run(session, run_id):
            return None
        return run.program_id  # newcomers are waiting

    program_id = services.db.run(close)
    if program_id is not None:
        suggest_for_newcomers(services, program_id)


# Pair goals -------------------------------------------------------------------------------


@listener
def on_goals_clicked(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond | None, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    _ = services.translator_for(user_id)
    pair_id = payloads.action_number(body)
    with services.db.session() as session:
        pair = pairing.pair_of_member(session, pair_id, user_id)
        goals = list(repo.goals_of_pair(session, pair_id)) if pair is not None else []
        modal = views.goals_modal(pair_id, _, goals)
    if pair is None:
        tell(
            services,
            body,
            respond,
            kit.message(_("Only the two people of an active pair can set its goals.")),
        )
        return
    reply = open_or_explain(client, body.get("trigger_id", ""), modal, _)
    if reply is not None:
        tell(services, body, respond, reply)


def _goal_fields(entries: list[tuple[str, str]]) -> dict[str, str]:
    """The goals modal's texts by block id (goal_1, measure_1, ...)."""
    fields: dict[str, str] = {}
    for index, (title, measure) in enumerate(entries, start=1):
        fields[f"goal_{index}"], fields[f"measure_{index}"] = title, measure
    return fields


def _today_of(services: Services, user_id: str) -> date:
    """The person's own date (a target "tomorrow" in Hanoi may be "today" in UTC)."""
    person = services.person(user_id)
    return today_in(person.timezone if person else None)


@submission
def on_goals_submitted(sub: Submission) -> Answer:
    services, user_id = sub.services, sub.user_id
    _ = sub._
    values = sub.values
    pair_id = payloads.number(sub.metadata, "pair_id")
    entries = [
        (payloads.text(values, f"goal_{i}"), payloads.text(values, f"measure_{i}"))
        for i in range(1, pairing.MAX_PAIR_GOALS + 1)
    ]
    targets = [payloads.day(values, f"target_{i}") for i in range(1, pairing.MAX_PAIR_GOALS + 1)]
    errors = {
        **validation.text_errors(_goal_fields(entries)),
        **pairing.validate_pair_goals(entries, targets),
        **journey.validate_goal_targets(targets, _today_of(services, user_id)),
    }
    if errors:
        return Answer(errors={field: _(message) for field, message in errors.items()})

    def save(session: Session, owed: Owed) -> bool:
        pair = pairing.pair_of_member(session, pair_id, user_id)
        if pair is None:
            return False
        goals = pairing.set_goals(session, pair, entries, user_id, targets)
        if pair.conversation_id and goals:
            people = repo.participants_by_ids(session, [pair.mentor_id, pair.mentee_id])
            members = [people[i] for i in (pair.mentor_id, pair.mentee_id) if i in people]
            languages = pairing.intro_languages(*members) if len(members) == 2 else [_.locale]
            owed.queue(
                notices.GOALS_SAVED.key(pair.id or 0, goals[0].id or 0),
                recipient=pair.conversation_id,
                message=views.goals_saved_message(
                    [g.title for g in goals], user_id, [translator(lang) for lang in languages]
                ),
                program_id=pair.program_id,
            )
        return bool(goals)

    done = services.delivery.run(save)
    saved, keys = done.result, done.keys
    if not saved:
        text = _("This pair is no longer active, so its goals were not changed.")
        return Answer(view=outcome_modal(text, _), done=text)
    return Answer(
        done=_("Your pair goals are saved."), after=lambda: services.delivery.deliver(keys)
    )


# Re-match requests ------------------------------------------------------------------------


def _pair_choices(session: Session, participant: Participant) -> list[tuple[int, str]]:
    """(pair id, partner's name) of the person's active pairs, oldest first."""
    choices = []
    for pair in repo.pairs_of(session, participant.id or 0, [PairStatus.ACTIVE]):
        partner = pairing.partner_in(session, pair, participant)
        if partner is not None:
            choices.append((pair.id or 0, partner.display_name or partner.slack_user_id))
    return choices


def open_rematch(
    services: Services, user_id: str, trigger_id: str, client: WebClient, program_id: int | None
) -> dict[str, Any] | None:
    _ = services.translator_for(user_id)
    with services.db.session() as session:
        _program, participant = repo.enrollment_in(session, program_id, user_id)
        choices = _pair_choices(session, participant) if participant else []
    if not choices:
        return kit.message(_("You don't have a partner yet, so there is nothing to re-match."))
    view = views.rematch_modal(_, choices, program_id=program_id)
    return open_or_explain(client, trigger_id, view, _)


def rematch_command(ctx: CommandContext) -> None:
    reply = open_rematch(ctx.services, ctx.user_id, ctx.trigger_id, ctx.client, ctx.program_id)
    if reply is not None:
        ctx.reply(reply)


@listener
def on_rematch_clicked(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond | None, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    program_id = payloads.action_number(body) or None  # the Home button's programme
    reply = open_rematch(
        services, body["user"]["id"], body.get("trigger_id", ""), client, program_id
    )
    if reply is not None:
        tell(services, body, respond, reply)


def _has_block(view: dict[str, Any], block_id: str) -> bool:
    return any(
        isinstance(b, dict) and b.get("block_id") == block_id for b in view.get("blocks") or []
    )


@submission
def on_rematch_submitted(sub: Submission) -> Answer:
    services, user_id = sub.services, sub.user_id
    _ = sub._
    reason = payloads.text(sub.values, "reason")
    picked = payloads.selected(sub.values, views.REMATCH_PAIR_BLOCK)
    problem = validation.text_error(reason)
    if problem is not None:  # refused before anything is stored or acknowledged
        return Answer(errors={"reason": _(problem)})
    pair_id = int(picked) if picked is not None and picked.isdigit() else None
    if picked is not None and pair_id is None:
        return Answer(errors={views.REMATCH_PAIR_BLOCK: _("Pick one of your partners.")})

    program_id = payloads.number(sub.metadata, "program_id")

    def record(session: Session, owed: Owed) -> RematchRequest | pairing.WhichPair | None:
        _program, participant = repo.enrollment_in(session, program_id, user_id)
        if participant is None:
            return None
        request = pairing.request_rematch(session, participant, reason, pair_id)
        if not isinstance(request, RematchRequest):
            return request
        pair = session.get(Pair, request.pair_id)
        partner = pairing.partner_in(session, pair, participant) if pair else None
        if partner is None:
            return None
        for admin in services.admins_of(session, participant.program_id):
            owed.queue(
                notices.REMATCH_REQUEST.key(request.id or 0, admin),
                recipient=admin,
                message=views.rematch_admin_message(
                    request.id or 0, participant, partner, reason, services.translator_for(admin)
                ),
                program_id=participant.program_id,
            )
        owed.queue(
            notices.REMATCH_RECEIPT.key(request.id or 0, sub.view_id),
            recipient=user_id,
            message=kit.message(_(REMATCH_RECEIPT)),
            program_id=participant.program_id,
        )
        return request

    done = services.delivery.run(record)
    outcome, keys = done.result, done.keys
    if isinstance(outcome, pairing.WhichPair):
        if _has_block(sub.view, views.REMATCH_PAIR_BLOCK):
            return Answer(errors={views.REMATCH_PAIR_BLOCK: _("Pick one of your partners.")})
        choices = [(p.id or 0, o.display_name or o.slack_user_id) for p, o in outcome.options]
        return Answer(view=views.rematch_modal(_, choices, reason))
    if outcome is None:
        text = _("You don't have a partner any more, so there is nothing to re-match.")
        return Answer(view=outcome_modal(text, _), done=text)
    return Answer(done=_(REMATCH_RECEIPT), after=lambda: services.delivery.deliver(keys))


REMATCH_RECEIPT = N_(
    "Thanks for telling us. Only the programme team sees your request; they'll be in touch soon."
)


def resolve(services: Services, body: dict[str, Any], *, end: bool) -> None:
    admin_id = str(body["user"]["id"])
    request_id = payloads.action_number(body)

    def work(session: Session, owed: Owed) -> pairing.RematchOutcome | None:
        outcome = pairing.resolve_rematch(session, request_id, admin_id, end=end)
        if outcome is not None:
            pair_id = outcome.request.pair_id
            repo.record_audit(
                session,
                actor=admin_id,
                action="pair.end" if outcome.ended else "rematch.keep",
                program_id=outcome.requester.program_id,
                target=f"pair:{pair_id}",
                detail={"reason": "rematch", "request_id": request_id},
            )
        if outcome is None or not outcome.ended:
            return outcome
        for person, msgid in (
            (outcome.partner, common.PAIR_ENDED_FOR_PARTNER),
            (outcome.requester, common.PAIR_ENDED_FOR_REQUESTER),
        ):
            user_id = person.slack_user_id
            owed.queue(
                notices.PAIR_ENDED.key(outcome.request.pair_id, person.id or 0),
                recipient=user_id,
                message=kit.message(services.translator_for(user_id)(msgid)),
                program_id=person.program_id,
            )
        return outcome

    outcome = services.delivery.run_and_deliver(work)
    if outcome is None:  # another click answered it first: that one tells everyone
        return
    _ = services.translator_for(admin_id)
    if outcome.ended:
        done = _("Pair ended. Both are back in the matching pool.")
    else:
        done = _("You kept the pair.")
    update_message(services, body, views.rematch_resolved_message(done))
    if not outcome.ended:
        return
    for person in (outcome.partner, outcome.requester):
        publish_home(services, person.slack_user_id)


@listener
def on_rematch_end(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    resolve(services_of(context), body, end=True)


@listener
def on_rematch_keep(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    resolve(services_of(context), body, end=False)


def register(app: App, services: Services) -> None:
    services.enrollment_subscribers.append(match_newcomer)
    app.action(MATCH_ACTION, middleware=owners_only(programme_in_value))(on_match_clicked)
    app.action(views.REVIEW_ACTION, middleware=owners_only(programme_in_value))(on_match_clicked)
    app.action(views.PAGE_ACTION + "_prev", middleware=owners_only(run_in_form))(on_page_changed)
    app.action(views.PAGE_ACTION + "_next", middleware=owners_only(run_in_form))(on_page_changed)
    app.action(views.REMOVE_ACTION, middleware=owners_only(run_in_form))(on_remove_pair)
    app.action(views.RERUN_ACTION, middleware=owners_only(run_in_form))(on_rerun)
    app.view(views.REVIEW_CALLBACK_ID, middleware=owners_only(run_in_form))(on_approve)
    app.view_closed(views.REVIEW_CALLBACK_ID, middleware=owners_only(run_in_form))(on_review_closed)
    app.action(views.GOALS_ACTION)(on_goals_clicked)
    app.view(views.GOALS_CALLBACK_ID)(on_goals_submitted)
    app.action(REMATCH_ACTION)(on_rematch_clicked)
    app.view(views.REMATCH_CALLBACK_ID)(on_rematch_submitted)
    app.action(views.REMATCH_END_ACTION, middleware=owners_only(request_in_value))(on_rematch_end)
    app.action(views.REMATCH_KEEP_ACTION, middleware=owners_only(request_in_value))(on_rematch_keep)
