"""Publishing App Home: after `app_home_opened` and after anything that changes what it shows
(enrollment, matching, the programme's settings). One home for every listener that needs it."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from bot.domain import journey, programs
from bot.domain.overview import enrollment_overview, next_step
from bot.domain.report import build_report
from bot.services import Services
from bot.views.home import HomeState, home_view
from storage import repositories as repo
from storage.models import ProgramStatus

log = logging.getLogger(__name__)


def home_states(services: Services, user_id: str) -> list[HomeState]:
    """Each programme the person takes part in, may join, or runs (oldest first)."""
    super_admin = services.is_super_admin(user_id)
    now = services.clock.now()
    states = []
    with services.db.session() as session:
        mine = {p.id: person for p, person in programs.enrollments_of(session, user_id)}
        joinable = {p.id for p in programs.joinable(session, user_id)}
        owned = {p.id for p in programs.owned(session, user_id, super_admin=super_admin)}
        for program in repo.all_programs(session):
            if program.id not in mine and program.id not in joinable and program.id not in owned:
                continue
            if program.status == ProgramStatus.ARCHIVED:
                continue
            participant = mine.get(program.id)
            owns = program.id in owned
            partners = repo.active_partners(session, participant) if participant else []
            overview = enrollment_overview(session, program) if owns else None
            states.append(
                HomeState(
                    program,
                    participant,
                    [partner.slack_user_id for partner in partners],
                    owns,
                    overview,
                    report=build_report(session, program, now) if owns else None,
                    journey=journey.progress_of(session, participant) if participant else [],
                    next_checkin=journey.next_period(journey.period_of(now, program.timezone)),
                    admin_step=next_step(session, program) if owns else None,
                    may_join=program.id in joinable,
                )
            )
    return states


def publish_home(services: Services, user_id: str) -> None:
    """Best effort: a failed publish is logged, never raised into the caller's flow."""
    try:
        view = home_view(
            home_states(services, user_id),
            services.translator_for(user_id),
            super_admin=services.is_super_admin(user_id),
        )
        services.client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        log.warning(
            "views.publish failed", extra={"user": user_id, "error": error.response.get("error")}
        )
