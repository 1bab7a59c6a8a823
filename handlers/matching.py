"""`/mentoring match` review and approval, introductions, pair goals, and re-match requests."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlmodel import Session

from bot.domain import journey, notices, pairing, validation
from bot.i18n import N_, Translator, translator
from bot.services import Services
from bot.views import common, kit
from bot.views import matching as views
from bot.views.home import MATCH_ACTION, REMATCH_ACTION
from handlers import payloads
from handlers.context import CommandContext, services_of
from handlers.home import publish_home
from handlers.messaging import (
    Owed,
    deliver,
    open_modal,
    open_or_explain,
    run_and_deliver,
    run_owing,
    store_or_apologise,
    too_slow,
    update_message,
)
from storage import repositories as repo
from storage.models import Pair, Participant, Program

log = logging.getLogger(__name__)
PAIR_ENDED_FOR_PARTNER = N_(
    "Your mentoring pair has come to an end. Matches are about fit, and this one wasn't quite "
    "right. Thank you for your time! You're back in the matching pool and we'll introduce you "
    "to a new partner soon."
)
PAIR_ENDED_FOR_REQUESTER = N_(
    "Your pair has ended as you asked. You're back in the matching pool and we'll introduce "
    "you to a new partner soon."
)


def _metadata(body: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads((body.get("view") or {}).get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


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


def _compute(services: Services, admin_id: str) -> int | None:
    def work(session: Session) -> int | None:
        program = repo.active_program(session)
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
            session,
            kind=notices.INTRO,
            key=notices.intro_key(pair.id or 0),
            recipient=f"{mentor.slack_user_id},{mentee.slack_user_id}",
            message=views.intro_message(program, pair, mentor, mentee, translators),
            program_id=pair.program_id,
            extra={"pair_id": pair.id},
        )


def queue_suggestions_notice(
    services: Services, session: Session, owed: Owed, run_id: int, count: int
) -> None:
    for admin in services.admin_ids():
        _ = services.translator_for(admin)
        text = _("New match suggestions are waiting for your review: {count}", count=count)
        button = kit.button(_("Review"), views.REVIEW_ACTION)
        owed.queue(
            session,
            kind=notices.MATCH_SUGGESTIONS,
            key=notices.fresh_key(notices.MATCH_SUGGESTIONS, run_id, admin),
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
        run_and_deliver(services, work)
    except Exception:
        log.exception("matching a newcomer failed")


# Review and approval --------------------------------------------------------------------------


def open_review(
    services: Services, client: WebClient, user_id: str, trigger_id: str
) -> dict[str, Any] | None:
    _ = services.translator_for(user_id)
    with services.db.session() as session:
        program = repo.active_program(session)
    if program is None:
        return common.no_program(_, is_admin=True)
    opened = open_modal(client, trigger_id, views.loading_modal(_))
    if opened is None:
        return too_slow(_)
    run_id = _compute(services, user_id)
    if run_id is None:
        return common.no_program(_, is_admin=True)
    client.views_update(view_id=opened["id"], view=_review_view(services, run_id, _, 0))
    return None


def match_command(ctx: CommandContext) -> None:
    reply = open_review(ctx.services, ctx.client, ctx.user_id, ctx.trigger_id)
    if reply is not None:
        ctx.reply(reply)


def on_match_clicked(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    if services.is_admin(user_id):
        open_review(services, client, user_id, body.get("trigger_id", ""))


def update_review(
    services: Services, body: dict[str, Any], client: WebClient, page: int | None = None
) -> None:
    user_id = body["user"]["id"]
    meta = _metadata(body)
    run_id = int(meta.get("run_id") or 0)
    view = _review_view(
        services,
        run_id,
        services.translator_for(user_id),
        page if page is not None else int(meta.get("page") or 0),
    )
    client.views_update(view_id=body["view"]["id"], view=view)


def on_page_changed(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    if services.is_admin(body["user"]["id"]):
        update_review(services, body, client, page=payloads.action_number(body))


def on_remove_pair(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    if not services.is_admin(user_id):
        return
    run_id = int(_metadata(body).get("run_id") or 0)
    pair_id = payloads.action_number(body)
    services.db.run(lambda s: pairing.remove_proposed(s, run_id, pair_id, user_id))
    update_review(services, body, client)


def on_rerun(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    if not services.is_admin(user_id):
        return
    run_id = _compute(services, user_id)
    if run_id is not None:
        view = _review_view(services, run_id, services.translator_for(user_id), 0)
        client.views_update(view_id=body["view"]["id"], view=view)


def on_approve(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    services = services_of(context)
    user_id = body["user"]["id"]
    _ = services.translator_for(user_id)
    if not services.is_admin(user_id):
        ack()
        return
    run_id = int(_metadata(body).get("run_id") or 0)

    def approve(session: Session, owed: Owed) -> list[Pair]:
        approved = pairing.approve(session, run_id, user_id)
        queue_introductions(session, owed, approved)
        return approved

    try:
        approved, keys = run_owing(services, approve)
    except Exception:
        log.exception("approving pairs failed")
        ack(response_action="update", view=views.failed_modal(_))
        return
    ack(response_action="update", view=views.approved_modal(len(approved), _))
    log.info("pairs approved", extra={"count": len(approved), "admin": user_id})
    deliver(services, keys)
    with services.db.session() as session:
        members = repo.participants_by_ids(
            session, [p.mentor_id for p in approved] + [p.mentee_id for p in approved]
        )
    for member in members.values():
        publish_home(services, member.slack_user_id)
    publish_home(services, user_id)


# Pair goals -------------------------------------------------------------------------------


def on_goals_clicked(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    pair_id = payloads.action_number(body)
    with services.db.session() as session:
        pair = pairing.pair_of_member(session, pair_id, user_id)
    if pair is not None:
        view = views.goals_modal(pair_id, services.translator_for(user_id))
        open_modal(client, body.get("trigger_id", ""), view)


def _goal_fields(entries: list[tuple[str, str]]) -> dict[str, str]:
    """The goals modal's texts by block id (goal_1, measure_1, ...)."""
    fields: dict[str, str] = {}
    for index, (title, measure) in enumerate(entries, start=1):
        fields[f"goal_{index}"], fields[f"measure_{index}"] = title, measure
    return fields


def on_goals_submitted(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    services = services_of(context)
    user_id = body["user"]["id"]
    _ = services.translator_for(user_id)
    values = payloads.state_values(body)
    pair_id = int(_metadata(body).get("pair_id") or 0)
    entries = [
        (payloads.text(values, f"goal_{i}"), payloads.text(values, f"measure_{i}"))
        for i in range(1, pairing.MAX_PAIR_GOALS + 1)
    ]
    targets = [payloads.day(values, f"target_{i}") for i in range(1, pairing.MAX_PAIR_GOALS + 1)]
    errors = {
        **validation.text_errors(_goal_fields(entries)),
        **pairing.validate_pair_goals(entries),
        **journey.validate_goal_targets(targets, services.clock.now().date()),
    }
    if errors:
        ack(
            response_action="errors",
            errors={field: _(message) for field, message in errors.items()},
        )
        return

    def save(session: Session, owed: Owed) -> None:
        pair = pairing.pair_of_member(session, pair_id, user_id)
        if pair is None:
            return
        goals = pairing.set_goals(session, pair, entries, user_id, targets)
        if pair.conversation_id and goals:
            owed.queue(
                session,
                kind=notices.GOALS_SAVED,
                key=notices.goals_saved_key(pair.id or 0, goals[0].id or 0),
                recipient=pair.conversation_id,
                message=views.goals_saved_message([g.title for g in goals], user_id, _),
                program_id=pair.program_id,
            )

    try:
        _result, keys = run_owing(services, save)
    except Exception:
        log.exception("saving pair goals failed")
        ack(response_action="errors", errors={"goal_1": common.try_again(_)["text"]})
        return
    ack()
    deliver(services, keys)


# Re-match requests ------------------------------------------------------------------------


def open_rematch(
    services: Services, user_id: str, trigger_id: str, client: WebClient
) -> dict[str, Any] | None:
    _ = services.translator_for(user_id)
    with services.db.session() as session:
        _program, participant = repo.current_participant(session, user_id)
        partners = repo.active_partners(session, participant) if participant else []
    if not partners:
        return kit.message(_("You don't have a partner yet, so there is nothing to re-match."))
    return open_or_explain(client, trigger_id, views.rematch_modal(_), _)


def rematch_command(ctx: CommandContext) -> None:
    reply = open_rematch(ctx.services, ctx.user_id, ctx.trigger_id, ctx.client)
    if reply is not None:
        ctx.reply(reply)


def on_rematch_clicked(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    open_rematch(services_of(context), body["user"]["id"], body.get("trigger_id", ""), client)


def on_rematch_submitted(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    _ = services.translator_for(user_id)
    reason = payloads.text(payloads.state_values(body), "reason")

    def record(session: Session, owed: Owed) -> None:
        _program, participant = repo.current_participant(session, user_id)
        request = pairing.request_rematch(session, participant, reason) if participant else None
        if participant is None or request is None:
            return
        partner = repo.active_partners(session, participant)[0]
        for admin in services.admin_ids():
            owed.queue(
                session,
                kind=notices.REMATCH_REQUEST,
                key=notices.rematch_request_key(request.id or 0, admin),
                recipient=admin,
                message=views.rematch_admin_message(
                    request.id or 0, participant, partner, reason, services.translator_for(admin)
                ),
                program_id=participant.program_id,
            )
        receipt = _(
            "Thanks for telling us. Only the programme team sees your request; "
            "they'll be in touch soon."
        )
        owed.queue(
            session,
            kind=notices.REMATCH_RECEIPT,
            key=notices.fresh_key(notices.REMATCH_RECEIPT, request.id),
            recipient=user_id,
            message=kit.message(receipt),
            program_id=participant.program_id,
        )

    store_or_apologise(services, user_id, record, action="rematch_request")


def resolve(services: Services, body: dict[str, Any], *, end: bool) -> None:
    admin_id = body["user"]["id"]
    if not services.is_admin(admin_id):
        return
    request_id = payloads.action_number(body)

    def work(session: Session, owed: Owed) -> pairing.RematchOutcome | None:
        outcome = pairing.resolve_rematch(session, request_id, admin_id, end=end)
        if outcome is None or not outcome.ended:
            return outcome
        for person, msgid in (
            (outcome.partner, PAIR_ENDED_FOR_PARTNER),
            (outcome.requester, PAIR_ENDED_FOR_REQUESTER),
        ):
            user_id = person.slack_user_id
            owed.queue(
                session,
                kind=notices.PAIR_ENDED,
                key=notices.pair_ended_key(outcome.request.pair_id, person.id or 0),
                recipient=user_id,
                message=kit.message(services.translator_for(user_id)(msgid)),
                program_id=person.program_id,
            )
        return outcome

    outcome = store_or_apologise(services, admin_id, work, action="rematch_resolve")
    _ = services.translator_for(admin_id)
    if outcome is None:
        done = _("This request was already handled.")
    elif outcome.ended:
        done = _("Pair ended. Both are back in the matching pool.")
    else:
        done = _("You kept the pair.")
    update_message(services, body, views.rematch_resolved_message(done))
    if outcome is None or not outcome.ended:
        return
    for person in (outcome.partner, outcome.requester):
        publish_home(services, person.slack_user_id)


def on_rematch_end(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    resolve(services_of(context), body, end=True)


def on_rematch_keep(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    resolve(services_of(context), body, end=False)


def register(app: App, services: Services) -> None:
    services.enrollment_subscribers.append(match_newcomer)
    app.action(MATCH_ACTION)(on_match_clicked)
    app.action(views.REVIEW_ACTION)(on_match_clicked)
    app.action(views.PAGE_ACTION + "_prev")(on_page_changed)
    app.action(views.PAGE_ACTION + "_next")(on_page_changed)
    app.action(views.REMOVE_ACTION)(on_remove_pair)
    app.action(views.RERUN_ACTION)(on_rerun)
    app.view(views.REVIEW_CALLBACK_ID)(on_approve)
    app.action(views.GOALS_ACTION)(on_goals_clicked)
    app.view(views.GOALS_CALLBACK_ID)(on_goals_submitted)
    app.action(REMATCH_ACTION)(on_rematch_clicked)
    app.view(views.REMATCH_CALLBACK_ID)(on_rematch_submitted)
    app.action(views.REMATCH_END_ACTION)(on_rematch_end)
    app.action(views.REMATCH_KEEP_ACTION)(on_rematch_keep)
