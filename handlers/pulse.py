"""Pulse surveys and match checks: open the survey, take the answer, count a match check.

Nothing here logs who answered what, or when: an answer is stored by
`bot.domain.pulse.record_answer` alone, and its thank-you is the modal's own response.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from sqlmodel import Session

from bot.delivery import Owed
from bot.domain import notices, pairing, pulse
from bot.i18n import Translator, translator
from bot.services import Services
from bot.views import matching as matching_views
from bot.views import pulse as views
from handlers import payloads
from handlers.context import services_of
from handlers.guard import Answer, Submission, listener, submission
from handlers.replies import open_modal, store_or_apologise, update_message
from storage import repositories as repo
from storage.models import Pair, Program, RematchRequest


def _round_id(text: str) -> int:
    try:
        return int(text.split(":", 1)[0])
    except ValueError:
        return 0


@listener
def on_survey_clicked(
    ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    _ = services.translator_for(user_id)
    round_id = payloads.action_number(body)
    secret = services.settings.pulse_key()
    with services.db.session() as session:
        found = repo.pulse_round(session, round_id)
        program = session.get(Program, found.program_id) if found is not None else None
        outcome = pulse.may_answer(session, secret, round_id, user_id, pulse.SURVEY_KINDS)
    if outcome is not None or found is None or program is None:
        view = views.outcome_modal(outcome or pulse.CLOSED, _)
    else:
        view = views.survey_modal(found.kind, round_id, _, threshold=pulse.threshold_of(program))
    open_modal(client, body.get("trigger_id", ""), view)


@submission
def on_survey_submitted(sub: Submission) -> Answer:
    """Stores the answer in one transaction that writes nothing else and logs nothing (see
    bot.domain.pulse); the thank-you is the modal's own response, never a queued message."""
    services, user_id = sub.services, sub.user_id
    _ = sub._
    round_id = _round_id(str(sub.view.get("private_metadata") or ""))
    values = sub.values
    with services.db.session() as session:
        found = repo.pulse_round(session, round_id)
    if found is None:
        return _outcome(pulse.CLOSED, _)
    if found.kind not in pulse.SURVEY_KINDS:
        return _outcome(pulse.NOT_INVITED, _)
    raw = {
        q.id: (payloads.selected(values, q.id) if q.values else payloads.text(values, q.id))
        for q in pulse.QUESTIONS[found.kind]
    }
    chosen, texts, errors = pulse.validate(found.kind, raw)
    if errors:
        return Answer(errors={k: _(v) for k, v in errors.items()})

    secret = services.settings.pulse_key()

    def answer(session: Session) -> str:
        kinds = pulse.SURVEY_KINDS
        return pulse.record_answer(session, secret, round_id, user_id, kinds, chosen, texts)

    return _outcome(services.db.run(answer), _)


def _outcome(outcome: str, _: Translator) -> Answer:
    view = views.outcome_modal(outcome, _)
    # The notice's one section, said again by DM if the modal is gone by the time it's known.
    return Answer(view=view, done=str(view["blocks"][0]["text"]["text"]))


def _help_request(
    services: Services, session: Session, owed: Owed, user_id: str, pair_id: int
) -> None:
    """ "I'd like help": a private request to the admins, exactly like a re-match request."""
    pair_row = session.get(Pair, pair_id)
    _program, participant = repo.enrollment_in(
        session, pair_row.program_id if pair_row else None, user_id
    )
    if participant is None:
        return
    # Stored once and quoted to every admin: in the workspace's default language.
    reason = views.match_help_reason(translator(services.settings.default_locale))
    request = pairing.request_rematch(session, participant, reason, pair_id)
    if not isinstance(request, RematchRequest):
        return
    pair = session.get(Pair, request.pair_id)
    partner = pairing.partner_in(session, pair, participant) if pair else None
    if partner is None:
        return
    for admin in services.admins_of(session, participant.program_id):
        owed.queue(
            notices.REMATCH_REQUEST.key(request.id or 0, admin),
            recipient=admin,
            message=matching_views.rematch_admin_message(
                request.id or 0,
                participant,
                partner,
                request.reason,
                services.translator_for(admin),
            ),
            program_id=participant.program_id,
        )


@listener
def on_match_check(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    services = services_of(context)
    user_id = body["user"]["id"]
    _ = services.translator_for(user_id)
    action = (body.get("actions") or [{}])[0]
    choice = {v: k for k, v in views.MATCH_CHECK_ACTIONS.items()}.get(action.get("action_id"), -1)
    round_text, _sep, pair_text = str(action.get("value") or "").partition(":")
    round_id, pair = _round_id(round_text), _round_id(pair_text)

    secret = services.settings.pulse_key()

    def work(session: Session, owed: Owed) -> str:
        if choice < 0:
            return pulse.CLOSED
        kinds, chosen = pulse.MATCH_CHECK_KINDS, {"match": choice}
        outcome = pulse.record_answer(session, secret, round_id, user_id, kinds, chosen, {}, pair)
        if outcome == pulse.RECORDED and choice == pulse.MATCH_HELP:
            _help_request(services, session, owed, user_id, pair)
        return outcome

    outcome = store_or_apologise(services, user_id, work, action="match_check")
    update_message(services, body, views.match_check_reply(outcome, choice, _))


def register(app: App, services: Services) -> None:
    app.action(views.OPEN_ACTION)(on_survey_clicked)
    app.view(views.CALLBACK_ID)(on_survey_submitted)
    for action_id in views.MATCH_CHECK_ACTIONS.values():
        app.action(action_id)(on_match_check)
