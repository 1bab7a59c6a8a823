"""Who may do what, decided in one place; a refusal always says why.

Several programmes run at once, each with its own owners; the workspace's super-admins
(ADMIN_USER_IDS, Slack admins) own every one. An owner's listeners (buttons, modals) are
registered with `middleware=owners_only(<what it is about>)`: Bolt runs it before the listener,
it finds the programme the click or form is about (the pair, the round, the proposal … it
names) and lets only that programme's owners through; for anyone else the listener never runs
and the person is told why (an ephemeral reply where the click allows one, else a DM; a modal
submission shows it in the modal), whatever the button they clicked was forwarded from.
`/mentoring` subcommands are checked by `command_refusal` before they are routed, and routed
only to programmes the person runs. Rights are checked on the server every time, never
inferred from what a view showed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext, BoltResponse
from sqlmodel import Session

from bot.i18n import Translator
from bot.services import Services
from bot.views import audit as audit_views
from bot.views import common, kit
from handlers import payloads
from handlers.context import services_of
from handlers.guard import failed_before_listener, tell, user_of
from storage import repositories as repo
from storage.models import MatchRun, Pair, PulseRound, RematchRequest, ShoutOut, SuccessStory

# What a refusal says, in the reader's language.
Reason = Callable[[Translator], dict[str, Any]]
log = logging.getLogger(__name__)
ADMIN_SUBCOMMANDS = frozenset({"match", "report", "shoutout", "program", "hold", "campaign"})
# The workspace's super-admins only (ADMIN_USER_IDS, Slack admins): the audit log and
# the roster.
SUPER_ADMIN_SUBCOMMANDS = frozenset({"audit", "roster"})


def command_refusal(services: Services, user_id: str, name: str) -> dict[str, Any] | None:
    """Why `user_id` may not run `/mentoring name`, or None when they may."""
    if name in ADMIN_SUBCOMMANDS and not services.is_admin(user_id):
        log.info("admin command refused", extra={"user": user_id, "subcommand": name})
        return common.admins_only(services.translator_for(user_id))
    if name in SUPER_ADMIN_SUBCOMMANDS and not services.is_super_admin(user_id):
        log.info("super-admin command refused", extra={"user": user_id, "subcommand": name})
        if name == "audit":
            return audit_views.refused(services.translator_for(user_id))
        return common.admins_only(services.translator_for(user_id))
    return None


def super_admins_only_message(_: Translator) -> dict[str, Any]:
    """Why a programme owner who is not a super-admin does not get the cross-programme
    report: it shows programmes they do not run."""
    return kit.message(
        _(
            "Only super-admins see the report across programmes: it shows programmes you do "
            "not run. Your own programmes' reports: `/mentoring report`."
        )
    )


def cross_programme_refusal(services: Services, user_id: str) -> dict[str, Any] | None:
    """Why `user_id` may not see every programme side by side, or None when they may."""
    if services.is_super_admin(user_id):
        return None
    log.info("cross-programme report refused", extra={"user": user_id})
    _ = services.translator_for(user_id)
    return super_admins_only_message(_) if services.is_admin(user_id) else common.admins_only(_)


def refusal_modal(text: str, _: Translator) -> dict[str, Any]:
    return kit.notice_modal(
        title=_("Mentoring"), text=text, close=_("Close"), callback_id="refused"
    )


# What a click or form is about: the programme it belongs to (None: nothing we know; NEW: a
# programme not created yet, which only a super-admin may create).
Finder = Callable[[Session, dict[str, Any]], int | None]
NEW = 0
PROGRAMME_KEY = "authorized_program_id"  # in the listener's context: what it may act on


def _value(body: dict[str, Any]) -> int | None:
    actions = body.get("actions") or [{}]
    value = actions[0].get("value") if isinstance(actions[0], dict) else None
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _owner_of(model: type[Any]) -> Finder:
    def find(session: Session, body: dict[str, Any]) -> int | None:
        key = _value(body)
        row = session.get(model, key) if key is not None else None
        if row is not None and not hasattr(row, "program_id"):  # a rematch request: its pair's
            row = session.get(Pair, row.pair_id)
        return getattr(row, "program_id", None) if row is not None else None

    return find


def programme_in_value(session: Session, body: dict[str, Any]) -> int | None:
    """A Home or message button whose value is the programme. Without one (a Home published
    when there was one programme at most): the only live programme, else a new one."""
    value = _value(body)
    if value is not None:
        return value
    live = repo.live_programs(session)
    return live[0].id if len(live) == 1 else NEW


def programme_in_form(session: Session, body: dict[str, Any]) -> int | None:
    """A programme's settings form (no programme yet: a new one)."""
    number = payloads.number(payloads.metadata(body), "program_id")
    return number or NEW


def run_in_form(session: Session, body: dict[str, Any]) -> int | None:
    """The match review (its proposal's programme)."""
    run = session.get(MatchRun, payloads.number(payloads.metadata(body), "run_id"))
    return run.program_id if run is not None else None


pair_in_value = _owner_of(Pair)
request_in_value = _owner_of(RematchRequest)
round_in_value = _owner_of(PulseRound)
shoutout_in_value = _owner_of(ShoutOut)
story_in_value = _owner_of(SuccessStory)


# Whether the person may go on (services, user id, payload, context); it may note what it
# found in the context (the programme) for the listener.
Check = Callable[[Services, str, dict[str, Any], BoltContext], bool]
# Why not, for the person (services, user id).
Refusal = Callable[[Services, str | None], Reason]
Middleware = Callable[..., BoltResponse | None]


def _only(name: str, allowed: Check, refusal: Refusal) -> list[Middleware]:
    """Listener middleware: the listener runs only when `allowed` says so; anyone else is told
    why, and a failure to decide (the database) is answered like a listener's failure."""

    def middleware(
        body: dict[str, Any],
        context: BoltContext,
        next: Callable[[], BoltResponse],  # noqa: A002 - Bolt's name
    ) -> BoltResponse | None:
        services = services_of(context)
        user_id = user_of(body)
        try:
            may = user_id is not None and allowed(services, user_id, body, context)
            reason = None if may else refusal(services, user_id)
        except Exception as error:  # noqa: BLE001 - answered like a listener's failure
            answer = failed_before_listener(services, body, context.respond, error)
            return BoltResponse(status=200, body=answer or "")
        if reason is None:
            return next()
        return _refuse(services, body, context, user_id, reason)

    middleware.__name__ = name
    return [middleware]


def owners_only(find: Finder) -> list[Middleware]:
    """Listener middleware: the listener runs only for an owner of the programme `find`
    names (`app.action(ID, middleware=owners_only(pair_in_value))(listener)`)."""
    return _only(
        "owners_of_programme",
        lambda services, user_id, body, context: _may(services, user_id, find, body, context),
        lambda services, user_id: common.admins_only,
    )


def _may(
    services: Services, user_id: str, find: Finder, body: dict[str, Any], context: BoltContext
) -> bool:
    with services.db.session() as session:
        program_id = find(session, body)
        if program_id == NEW:
            context[PROGRAMME_KEY] = None
            return services.is_super_admin(user_id)
        context[PROGRAMME_KEY] = program_id
        return program_id is not None and services.owns(session, user_id, program_id)


def programme_of(context: BoltContext) -> int | None:
    """The programme the middleware found the click or form to be about (None: a new one)."""
    found = context.get(PROGRAMME_KEY)
    return found if isinstance(found, int) else None


def _refuse(
    services: Services,
    body: dict[str, Any],
    context: BoltContext,
    user_id: str | None,
    reason: Reason = common.admins_only,
) -> BoltResponse:
    kind = str(body.get("type") or "")
    log.info("admin action refused", extra={"user": user_id, "payload_type": kind})
    if user_id is None or kind == "view_closed":
        return BoltResponse(status=200, body="")
    _ = services.translator_for(user_id)
    message = reason(_)
    if kind == "view_submission":  # the refusal is the modal's answer
        view = refusal_modal(message["text"], _)
        return BoltResponse(status=200, body={"response_action": "update", "view": view})
    # Told off the request thread: the click has been acknowledged already.
    respond = context.respond
    pool = services.listener_executor
    if pool is not None:
        pool.submit(tell, services, body, respond, message)
    else:
        tell(services, body, respond, message)
    return BoltResponse(status=200, body="")


def super_admins_only(
    reason: Reason = super_admins_only_message, *, others: Reason = common.admins_only
) -> list[Middleware]:
    """Listener middleware for what only a super-admin may do (what spans every programme:
    the cross-programme report, the audit log, the roster): an owner is told `reason`,
    anyone else `others`."""
    return _only(
        "super_admin",
        lambda services, user_id, body, context: services.is_super_admin(user_id),
        lambda services, user_id: (
            reason if user_id is not None and services.is_admin(user_id) else others
        ),
    )
