"""Publishing App Home: after `app_home_opened` and after anything that changes what it shows
(enrollment, matching, the programme's settings). One home for every listener that needs it."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.domain import journey
from bot.domain.overview import enrollment_overview, next_step
from bot.domain.report import build_report
from bot.services import Services
from bot.views.home import HomeState, home_view
from storage import repositories as repo

log = logging.getLogger(__name__)


def home_state(services: Services, user_id: str) -> HomeState:
    is_admin = services.is_admin(user_id)
    with services.db.session() as session:
        program, participant = repo.current_participant(session, user_id)
        partners = repo.active_partners(session, participant) if participant else []
        overview = enrollment_overview(session, program) if program and is_admin else None
        report = build_report(session, program, services.clock.now()) if overview else None
        step = next_step(session, program) if program and is_admin else None
        progress = journey.progress_of(session, participant) if participant else []
    partner_ids = [partner.slack_user_id for partner in partners]
    upcoming = (
        journey.next_period(journey.period_of(services.clock.now(), program.timezone))
        if program
        else None
    )
    return HomeState(
        program,
        participant,
        partner_ids,
        is_admin,
        overview,
        report=report,
        journey=progress,
        next_checkin=upcoming,
        admin_step=step,
    )


def publish_home(services: Services, user_id: str) -> None:
    """Best effort: a failed publish is logged, never raised into the caller's flow."""
    try:
        view = home_view(home_state(services, user_id), services.translator_for(user_id))
        services.client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        log.warning(
            "views.publish failed", extra={"user": user_id, "error": error.response.get("error")}
        )
