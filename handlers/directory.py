"""Slack's directory: a `user_change` event for someone who can no longer take part, and the
super-admin's mapping of custom profile fields onto the roster (`/mentoring roster fields`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.delivery import Owed
from bot.domain import eligibility
from bot.domain import profile_fields as pf
from bot.services import Services
from bot.usecases import directory
from bot.usecases.departure import DEACTIVATED, NOT_ELIGIBLE, person_departed
from bot.views import common
from bot.views import directory as views
from handlers import payloads
from handlers.authorize import super_admins_only
from handlers.context import CommandContext, services_of
from handlers.guard import Answer, Submission, listener, submission
from handlers.replies import open_modal, too_slow
from storage import repositories as repo

log = logging.getLogger(__name__)


@listener
def on_user_change(event: dict[str, Any], context: BoltContext) -> None:
    """Slack sends the whole user object after any change. A participant whose account was
    deactivated, or became a guest's, leaves every programme kindly (handlers.events drops
    Slack's re-deliveries; the departure is idempotent anyway)."""
    user = event.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return
    services = services_of(context)
    # The next lookup asks Slack afresh (the event's object carries no locale to cache).
    services.people.forget(user["id"])
    reason = eligibility.ineligibility_of_member(user)
    if reason is None:
        return
    user_id = user["id"]
    why = DEACTIVATED if reason == eligibility.DEACTIVATED else NOT_ELIGIBLE
    default_locale = services.settings.default_locale

    def depart(session: Session, owed: Owed) -> int:
        # Also for someone in no programme: what is queued for them (an invitation) is
        # cancelled and their roster entry notes it. Idempotent.
        return person_departed(session, owed, user_id, why, default_locale=default_locale)

    services.delivery.run_and_deliver(depart)


def roster_fields_command(ctx: CommandContext) -> None:
    """`/mentoring roster fields`: a super-admin maps custom profile fields to the roster
    (`roster` is a super-admins' subcommand: the dispatcher refused anyone else)."""
    services = ctx.services
    try:
        answer = services.client.team_profile_get()
    except SlackApiError as error:
        code = error.response.get("error")
        log.warning("team.profile.get failed", extra={"error": code})
        ctx.reply(views.no_profile_access(ctx._) if code == "missing_scope" else too_slow(ctx._))
        return
    fields = pf.team_fields(dict(answer.data) if isinstance(answer.data, dict) else {})
    with services.db.session() as session:
        mapping = repo.workspace_setting(session, repo.SLACK_FIELDS_SETTING)
    view = views.roster_fields_modal(fields, mapping, ctx._)
    if open_modal(ctx.client, ctx.trigger_id, view) is None:
        ctx.reply(too_slow(ctx._))


@submission
def on_roster_fields_submitted(sub: Submission) -> Answer:
    services, user_id, _ = sub.services, sub.user_id, sub._
    known = sub.metadata.get("fields")
    known = {str(k): str(v) for k, v in known.items()} if isinstance(known, dict) else {}
    typed: dict[str, Any] = {name: payloads.selected(sub.values, name) for name in pf.MAPPED}
    typed[pf.TITLE] = "yes" in payloads.selected_many(sub.values, pf.TITLE)
    errors = pf.mapping_errors(typed, known)
    if errors:
        return Answer(errors={name: _(message) for name, message in errors.items()})
    mapping = pf.clean_mapping(typed)

    def save(session: Session) -> bool:
        changed = repo.set_workspace_setting(
            session, repo.SLACK_FIELDS_SETTING, mapping, by=user_id
        )
        if changed:
            repo.record_audit(
                session,
                actor=user_id,
                action="roster.slack_fields",
                target=repo.SLACK_FIELDS_SETTING,
                detail={"mapped": sorted(k for k in pf.MAPPED if mapping.get(k))}
                | {"title": bool(mapping.get(pf.TITLE))},
            )
        return changed

    changed = services.db.run(save)
    log.info("roster profile fields saved", extra={"admin": user_id, "changed": changed})
    return Answer(view=views.saved_modal(mapping, _), done=views.mapping_saved(mapping, _))


@listener
def on_refresh_now(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    """The saved modal's "Refresh now": the daily refresh, now (Slack's limits pace it); the
    modal says it is running, then what it did."""
    ack()
    services = services_of(context)
    user_id = str((body.get("user") or {}).get("id") or "")
    view = body.get("view") or {}
    if not view.get("id"):  # the button lives in the modal: nothing to update without it
        return
    _ = services.translator_for(user_id)
    mapping = payloads.metadata(body).get("mapping")
    mapping = mapping if isinstance(mapping, dict) else {}

    def show(status: str) -> None:
        try:
            client.views_update(
                view_id=view["id"], view=views.saved_modal(mapping, _, status=status)
            )
        except SlackApiError as error:  # closed meanwhile: the refresh went on regardless
            log.info("refresh status not shown", extra={"error": error.response.get("error")})

    show(_("Refreshing… this can take a few minutes in a large workspace."))
    refresh, dones = directory.refresh_people(services, services.clock.now())
    for done in dones:
        services.delivery.deliver(done.keys)
    show(views.refresh_status(len(refresh.departed), refresh.profiles, refresh.complete, _))


def register(app: App, services: Services) -> None:
    app.event("user_change")(on_user_change)
    # The mapping is workspace-wide: super-admins only, an owner is refused like anyone else
    # (the modal and its button are the client's word, so the middleware checks again).
    only_super_admins = super_admins_only(common.admins_only)
    app.view(views.CALLBACK_ID, middleware=only_super_admins)(on_roster_fields_submitted)
    app.action(views.REFRESH_ACTION, middleware=only_super_admins)(on_refresh_now)
