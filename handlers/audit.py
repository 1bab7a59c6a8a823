"""`/mentoring audit`: the audit log for the workspace's super-admins, a page at a time, and
its export (CSV or JSON) into their DM. Rights: handlers.authorize (the command is refused
to anyone else before it is routed; the buttons carry `super_admins_only`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from sqlmodel import Session

from bot.domain import audit
from bot.services import Services
from bot.views import audit as views
from handlers.authorize import super_admins_only
from handlers.context import CommandContext, services_of
from handlers.guard import listener, tell, user_of
from handlers.report import upload
from storage import repositories as repo

log = logging.getLogger(__name__)


def audit_view(services: Services, user_id: str, page: views.Page) -> dict[str, Any]:
    """One page of the log as the reader sees it (their language and time zone)."""
    _ = services.translator_for(user_id)
    person = services.person(user_id)
    ids = [page.program_id] if page.program_id is not None else None
    with services.db.session() as session:
        events = list(
            repo.audit_events(
                session, program_ids=ids, limit=views.PAGE_SIZE + 1, offset=page.offset
            )
        )
        names = {p.id or 0: p.name for p in repo.all_programs(session)}
    more = len(events) > views.PAGE_SIZE
    return views.audit_message(
        events[: views.PAGE_SIZE],
        page,
        names,
        person.timezone if person else None,
        _,
        more=more,
    )


def audit_command(ctx: CommandContext) -> None:
    """`/mentoring audit` (every programme) or `/mentoring audit <programme id>`."""
    word = ctx.args.strip()
    program_id = int(word) if word.isdigit() else None
    ctx.reply(audit_view(ctx.services, ctx.user_id, views.Page(0, program_id)))


@listener
def on_audit_page(
    ack: Ack, body: dict[str, Any], respond: Respond | None, context: BoltContext
) -> None:
    ack()
    services = services_of(context)
    user_id = user_of(body) or ""
    actions = body.get("actions") or [{}]
    page = views.Page.of(actions[0].get("value"))
    message = audit_view(services, user_id, page)
    if respond is not None and body.get("response_url"):
        respond(**message, response_type="ephemeral", replace_original=True)
    else:
        tell(services, body, respond, message)


def _export(services: Services, body: dict[str, Any], respond: Respond | None, fmt: str) -> None:
    user_id = user_of(body) or ""
    _ = services.translator_for(user_id)
    actions = body.get("actions") or [{}]
    page = views.Page.of(actions[0].get("value"))

    def work(session: Session) -> tuple[str, bytes]:
        return audit.export_file(session, fmt, actor=user_id, program_id=page.program_id)

    name, data = services.db.run(work)
    upload(services, user_id, [(name, name, data)], _("The audit log (UTF-8, ISO dates)."))
    tell(services, body, respond, views.export_sent(_))
    log.info("audit log exported", extra={"format": fmt})


@listener
def on_export_csv(
    ack: Ack, body: dict[str, Any], respond: Respond | None, context: BoltContext
) -> None:
    ack()
    _export(services_of(context), body, respond, "csv")


@listener
def on_export_json(
    ack: Ack, body: dict[str, Any], respond: Respond | None, context: BoltContext
) -> None:
    ack()
    _export(services_of(context), body, respond, "json")


def register(app: App, services: Services) -> None:
    only_super_admins = super_admins_only(views.refused, others=views.refused)
    app.action(views.OLDER_ACTION, middleware=only_super_admins)(on_audit_page)
    app.action(views.NEWER_ACTION, middleware=only_super_admins)(on_audit_page)
    app.action(views.EXPORT_CSV_ACTION, middleware=only_super_admins)(on_export_csv)
    app.action(views.EXPORT_JSON_ACTION, middleware=only_super_admins)(on_export_json)
