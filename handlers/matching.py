"""`/mentoring match` review and approval, introductions, pair goals, and re-match requests."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.app import Services
from bot.domain import pairing
from bot.i18n import N_, Translator, translator
from bot.views import common, kit
from bot.views import matching as views
from bot.views.home import MATCH_ACTION, REMATCH_ACTION
from handlers import payloads
from handlers.commands import CommandContext, Routes
from handlers.home import publish_home
from handlers.messaging import (
    open_modal,
    open_or_explain,
    send_dm,
    store_or_apologise,
    too_slow,
    update_message,
)
from scheduler import outbox
from storage import repositories as repo
from storage.models import OutboxMessage, Pair, Participant, Program, utcnow

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


@outbox.on_sent("intro")
def _remember_conversation(session: Session, message: OutboxMessage) -> None:
    pair = session.get(Pair, int(message.payload["pair_id"]))
    if pair is not None:
        pair.conversation_id = message.channel_id
        pair.introduced_at = utcnow()
        session.add(pair)
        repo.add_pair_event(session, pair.id or 0, "introduced", None)


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


def introduce(services: Services, pairs: list[Pair]) -> None:
    """Queues one introduction per pair (unique key), then sends them."""
    keys = []

    def queue(session: Session) -> None:
        for pair in pairs:
            program = session.get(Program, pair.program_id)
            people = repo.participants_by_ids(session, [pair.mentor_id, pair.mentee_id])
            mentor, mentee = people[pair.mentor_id], people[pair.mentee_id]
            # One language when both read it; otherwise both, the mentor's first.
            languages = dict.fromkeys([mentor.locale, mentee.locale])
            translators = [translator(language) for language in languages]
            key = f"intro:{pair.id}"
            assert program is not None
            outbox.enqueue(
                session,
                key=key,
                kind="intro",
                recipient=f"{mentor.slack_user_id},{mentee.slack_user_id}",
                message=views.intro_message(program, pair, mentor, mentee, translators),
                program_id=pair.program_id,
                extra={"pair_id": pair.id},
            )
            keys.append(key)

    services.db.run(queue)
    outbox.flush(services.db, services.client, keys=keys)


def notify_admins_of_suggestions(services: Services, count: int) -> None:
    for admin in services.admin_ids():
        _ = services.translator_for(admin)
        text = _("New match suggestions are waiting for your review: {count}", count=count)
        button = kit.button(_("Review"), views.REVIEW_ACTION)
        send_dm(services, admin, kit.message(text, [kit.section(text, accessory=button)]))


def match_newcomer(services: Services, participant: Participant) -> None:
    """Someone joined: if matching has begun and they fit someone waiting, propose it."""

    try:
        count = services.db.run(lambda session: pairing.propose_for_newcomer(session, participant))
    except Exception:
        log.exception("matching a newcomer failed")
        return
    if count:
        notify_admins_of_suggestions(services, count)


def register(app: App, services: Services, routes: Routes) -> None:
    services.on_enrolled.append(lambda participant: match_newcomer(services, participant))

    def open_review(client: WebClient, user_id: str, trigger_id: str) -> dict[str, Any] | None:
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
        reply = open_review(ctx.client, ctx.user_id, ctx.trigger_id)
        if reply is not None:
            ctx.reply(reply)

    routes.add("match", match_command)

    @app.action(MATCH_ACTION)
    @app.action(views.REVIEW_ACTION)
    def match_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        if services.is_admin(user_id):
            open_review(client, user_id, body.get("trigger_id", ""))

    def update_review(body: dict[str, Any], client: WebClient, page: int | None = None) -> None:
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

    @app.action(views.PAGE_ACTION + "_prev")
    @app.action(views.PAGE_ACTION + "_next")
    def change_page(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        if services.is_admin(body["user"]["id"]):
            update_review(body, client, page=payloads.action_number(body))

    @app.action(views.REMOVE_ACTION)
    def remove_pair(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        if not services.is_admin(user_id):
            return
        run_id = int(_metadata(body).get("run_id") or 0)
        pair_id = payloads.action_number(body)
        services.db.run(lambda s: pairing.remove_proposed(s, run_id, pair_id, user_id))
        update_review(body, client)

    @app.action(views.RERUN_ACTION)
    def rerun(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        if not services.is_admin(user_id):
            return
        run_id = _compute(services, user_id)
        if run_id is not None:
            view = _review_view(services, run_id, services.translator_for(user_id), 0)
            client.views_update(view_id=body["view"]["id"], view=view)

    @app.view(views.REVIEW_CALLBACK_ID)
    def approve(ack: Ack, body: dict[str, Any]) -> None:
        user_id = body["user"]["id"]
        _ = services.translator_for(user_id)
        if not services.is_admin(user_id):
            ack()
            return
        run_id = int(_metadata(body).get("run_id") or 0)
        try:
            approved = services.db.run(lambda s: pairing.approve(s, run_id, user_id))
        except Exception:
            log.exception("approving pairs failed")
            ack(response_action="update", view=views.failed_modal(_))
            return
        ack(response_action="update", view=views.approved_modal(len(approved), _))
        log.info("pairs approved", extra={"count": len(approved), "admin": user_id})
        introduce(services, approved)
        with services.db.session() as session:
            members = repo.participants_by_ids(
                session, [p.mentor_id for p in approved] + [p.mentee_id for p in approved]
            )
        for member in members.values():
            publish_home(services, member.slack_user_id)
        publish_home(services, user_id)

    # Pair goals -----------------------------------------------------------------------------

    @app.action(views.GOALS_ACTION)
    def open_goals(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        pair_id = payloads.action_number(body)
        with services.db.session() as session:
            pair = pairing.pair_of_member(session, pair_id, user_id)
        if pair is not None:
            view = views.goals_modal(pair_id, services.translator_for(user_id))
            open_modal(client, body.get("trigger_id", ""), view)

    @app.view(views.GOALS_CALLBACK_ID)
    def goals_submitted(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        user_id = body["user"]["id"]
        _ = services.translator_for(user_id)
        values = payloads.state_values(body)
        pair_id = int(_metadata(body).get("pair_id") or 0)
        entries = [
            (payloads.text(values, f"goal_{i}"), payloads.text(values, f"measure_{i}"))
            for i in range(1, pairing.MAX_PAIR_GOALS + 1)
        ]
        if not any(title.strip() for title, _measure in entries):
            ack(response_action="errors", errors={"goal_1": _("Add at least one goal.")})
            return

        def save(session: Session) -> tuple[Pair, list[str]] | None:
            pair = pairing.pair_of_member(session, pair_id, user_id)
            if pair is None:
                return None
            return pair, [goal.title for goal in pairing.add_goals(session, pair, entries, user_id)]

        try:
            saved = services.db.run(save)
        except Exception:
            log.exception("saving pair goals failed")
            ack(response_action="errors", errors={"goal_1": common.try_again(_)["text"]})
            return
        ack()
        if saved is not None and saved[0].conversation_id:
            pair, titles = saved
            try:
                client.chat_postMessage(
                    channel=pair.conversation_id, **views.goals_saved_message(titles, user_id, _)
                )
            except SlackApiError as error:
                log.warning("goal summary failed", extra={"error": error.response.get("error")})

    # Re-match requests ----------------------------------------------------------------------

    def open_rematch(user_id: str, trigger_id: str, client: WebClient) -> dict[str, Any] | None:
        _ = services.translator_for(user_id)
        with services.db.session() as session:
            _program, participant = repo.current_participant(session, user_id)
            partners = repo.active_partners(session, participant) if participant else []
        if not partners:
            return kit.message(_("You don't have a partner yet, so there is nothing to re-match."))
        return open_or_explain(client, trigger_id, views.rematch_modal(_), _)

    def rematch_command(ctx: CommandContext) -> None:
        reply = open_rematch(ctx.user_id, ctx.trigger_id, ctx.client)
        if reply is not None:
            ctx.reply(reply)

    routes.add("rematch", rematch_command)

    @app.action(REMATCH_ACTION)
    def rematch_button(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        open_rematch(body["user"]["id"], body.get("trigger_id", ""), client)

    @app.view(views.REMATCH_CALLBACK_ID)
    def rematch_submitted(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        user_id = body["user"]["id"]
        _ = services.translator_for(user_id)
        reason = payloads.text(payloads.state_values(body), "reason")

        def record(session: Session) -> tuple[int, Participant, Participant] | None:
            _program, participant = repo.current_participant(session, user_id)
            request = pairing.request_rematch(session, participant, reason) if participant else None
            if participant is None or request is None:
                return None
            partner = repo.active_partners(session, participant)[0]
            return request.id or 0, participant, partner

        recorded = store_or_apologise(services, user_id, record, action="rematch_request")
        if recorded is None:
            return
        request_id, requester, partner = recorded
        for admin in services.admin_ids():
            send_dm(
                services,
                admin,
                views.rematch_admin_message(
                    request_id, requester, partner, reason, services.translator_for(admin)
                ),
            )
        receipt = _(
            "Thanks for telling us. Only the programme team sees your request; "
            "they'll be in touch soon."
        )
        send_dm(services, user_id, kit.message(receipt))

    def resolve(body: dict[str, Any], client: WebClient, *, end: bool) -> None:
        admin_id = body["user"]["id"]
        if not services.is_admin(admin_id):
            return
        request_id = payloads.action_number(body)
        outcome = store_or_apologise(
            services,
            admin_id,
            lambda s: pairing.resolve_rematch(s, request_id, admin_id, end=end),
            action="rematch_resolve",
        )
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
        for person, msgid in (
            (outcome.partner, PAIR_ENDED_FOR_PARTNER),
            (outcome.requester, PAIR_ENDED_FOR_REQUESTER),
        ):
            user_id = person.slack_user_id
            send_dm(services, user_id, kit.message(services.translator_for(user_id)(msgid)))
        for person in (outcome.partner, outcome.requester):
            publish_home(services, person.slack_user_id)

    @app.action(views.REMATCH_END_ACTION)
    def rematch_end(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        resolve(body, client, end=True)

    @app.action(views.REMATCH_KEEP_ACTION)
    def rematch_keep(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        resolve(body, client, end=False)
