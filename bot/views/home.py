"""The App Home tab: welcome, the person's status, and the admin's enrollment overview."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.domain.journey import PairProgress
from bot.domain.overview import (
    STEP_MATCH,
    STEP_REPORT,
    STEP_REVIEW,
    STEP_SETTINGS,
    EnrollmentOverview,
)
from bot.domain.report import Report
from bot.i18n import Translator
from bot.views import comparison as comparison_views
from bot.views import journey as journey_views
from bot.views import kit
from bot.views import report as report_views
from bot.views.enrollment import profile_summary
from bot.views.labels import (
    PROGRAMME_STAGE,
    ROLE,
    STATUS,
    label,
    program_goals,
    program_name,
    topic_name,
)
from bot.views.matching import REVIEW_ACTION
from storage.models import LIVE_STATUSES, Participant, Program, ProgramStatus

JOIN_ACTION = "home_join"
EDIT_ACTION = "home_edit_profile"
LEAVE_ACTION = "home_leave"
REMATCH_ACTION = "home_rematch"
PROGRAM_ACTION = "home_program_settings"
MATCH_ACTION = "home_run_matching"
OPEN_ENROLLMENT_ACTION = "home_open_enrollment"
NEW_COHORT_ACTION = "home_new_cohort"
ARCHIVE_ACTION = "home_archive"
MAX_DEPARTMENTS = 8
MAX_TOPICS = 12


MAX_PROGRAMMES = 6  # sections on one Home (a view holds 100 blocks)


@dataclass(frozen=True)
class HomeState:
    """One programme as the person sees it on Home: taking part, free to join, and/or run by
    them (`is_admin`: they own it)."""

    program: Program | None
    participant: Participant | None
    partner_ids: list[str]
    is_admin: bool
    overview: EnrollmentOverview | None = None
    report: Report | None = None
    # The participant's active pairs with goals and meetings, and the next check-in cycle.
    journey: list[PairProgress] = field(default_factory=list)
    next_checkin: str | None = None
    # The admin's next step (bot.domain.overview.next_step): its button is the primary one.
    admin_step: str | None = None
    # Not taking part yet, and free to join it now.
    may_join: bool = False


def _welcome(_: Translator) -> list[Any]:
    return [
        kit.header(_("Reverse mentoring")),
        kit.section(
            _(
                "Younger colleagues coach leaders on technology, social media, AI and new ways "
                "of working, and both sides learn. Join, get matched with a partner, meet "
                "monthly, and grow together."
            )
        ),
    ]


def _program_blocks(program: Program, _: Translator) -> list[Any]:
    goals = "\n".join(f"• {kit.escape(goal)}" for goal in program_goals(program, _))
    text = f"*{kit.escape(program_name(program, _))}*"
    if program.start_date and program.end_date:
        text += "\n" + _(
            "{start} to {end}", start=_.date(program.start_date), end=_.date(program.end_date)
        )
    elif program.start_date:
        text += "\n" + _("Since {start}, evergreen", start=_.date(program.start_date))
    return [kit.section(text + "\n" + _("Programme goals:") + "\n" + goals)]


def _participant_blocks(state: HomeState, _: Translator) -> list[Any]:
    assert state.program and state.participant
    person = state.participant
    status = label(STATUS, person.status, _)
    lines = ["*" + _("Your status") + "*: " + status]
    if state.partner_ids:
        partners = ", ".join(f"<@{user}>" for user in state.partner_ids)
        lines.append("*" + _("Your partner") + "*: " + partners)
    if person.training_read_at is None:
        lines.append("📘 " + _("Your training pack is waiting in your messages."))
    program_id = str(state.program.id)
    buttons = [
        kit.button(_("Edit profile"), EDIT_ACTION, program_id, style="primary"),
    ]
    if state.partner_ids:
        buttons.append(kit.button(_("Ask for a new match"), REMATCH_ACTION, program_id))
    buttons.append(kit.button(_("Leave"), LEAVE_ACTION, program_id, style="danger"))
    return [
        kit.section("\n".join(lines)),
        kit.fields(profile_summary(state.program, person, _)),
        kit.actions(*buttons, block_id=f"participant_actions_{program_id}"),
    ]


def _admin_blocks(state: HomeState, _: Translator) -> list[Any]:
    blocks: list[Any] = [kit.context(_("You run this programme: enrollment overview"))]
    step = state.admin_step if state.program is not None else STEP_SETTINGS
    program_id = str(state.program.id) if state.program is not None else ""

    def style(button_step: str) -> str | None:
        return "primary" if step == button_step else None

    status = state.program.status if state.program is not None else None
    if status is not None:
        blocks.append(kit.context(_("Stage: {stage}", stage=label(PROGRAMME_STAGE, status, _))))
    buttons = [
        kit.button(
            _("Programme settings"),
            PROGRAM_ACTION,
            program_id,
            style=style(STEP_SETTINGS) if status != ProgramStatus.DRAFT else None,
        )
    ]
    if status == ProgramStatus.DRAFT:  # people see it once it opens
        buttons.append(
            kit.button(_("Open enrollment"), OPEN_ENROLLMENT_ACTION, program_id, style="primary")
        )
    elif step == STEP_REVIEW:
        buttons.append(kit.button(_("Review proposal"), REVIEW_ACTION, program_id, style="primary"))
    elif status in LIVE_STATUSES:
        buttons.append(
            kit.button(_("Run matching"), MATCH_ACTION, program_id, style=style(STEP_MATCH))
        )
    if status in (ProgramStatus.RUNNING, ProgramStatus.ENDED):
        buttons.append(kit.button(_("New cohort"), NEW_COHORT_ACTION, program_id))
    if status == ProgramStatus.ENDED:
        buttons.append(
            kit.button(
                _("Archive"),
                ARCHIVE_ACTION,
                program_id,
                confirm=kit.confirm(
                    _("Archive this programme?"),
                    _("It leaves Home for good; its figures stay in the reports and exports."),
                    _("Archive"),
                    _("Cancel"),
                ),
            )
        )
    overview = state.overview
    if overview is not None:
        roles = ", ".join(
            f"{label(ROLE, role, _)}: {_.number(count)}"
            for role, count in sorted(overview.by_role.items())
        )
        statuses = ", ".join(
            f"{label(STATUS, status, _)}: {_.number(count)}"
            for status, count in sorted(overview.by_status.items())
        )
        departments = ", ".join(
            f"{kit.escape(name)}: {_.number(count)}"
            for name, count in overview.by_department[:MAX_DEPARTMENTS]
        )
        blocks.append(
            kit.section(
                "\n".join(
                    [
                        "*" + _("Enrolled") + f"*: {_.number(overview.total)} ({roles or '—'})",
                        "*" + _("Status") + f"*: {statuses or '—'}",
                        "*" + _("Departments") + f"*: {departments or '—'}",
                        "*"
                        + _("Training read")
                        + f"*: {_.number(overview.training_read)}/{_.number(overview.total)}",
                    ]
                )
            )
        )
        rows = []
        for topic in overview.topics[:MAX_TOPICS]:
            flag = "⚠️ " if topic.demand > topic.supply else ""
            name = topic_name(state.program, {"id": topic.topic_id, "label": topic.label}, _)
            if topic.archived:
                name = _("{topic} (removed)", topic=name)
            rows.append(
                flag
                + _(
                    "{topic}: {supply} offer, {demand} want",
                    topic=kit.escape(name),
                    supply=_.number(topic.supply),
                    demand=_.number(topic.demand),
                )
            )
        if rows:
            blocks.append(kit.section("*" + _("Topic demand vs supply") + "*\n" + "\n".join(rows)))
    blocks.append(kit.actions(*buttons, block_id=f"admin_actions_{program_id}"))
    if state.program is not None:
        blocks.extend(
            report_views.home_blocks(
                state.report, _, primary=step == STEP_REPORT, program_id=state.program.id
            )
        )
    return blocks


def _programme_section(state: HomeState, _: Translator) -> list[Any]:
    assert state.program is not None
    blocks = [kit.divider(), *_program_blocks(state.program, _)]
    if state.participant is not None and state.participant.status != "left":
        blocks.extend(_participant_blocks(state, _))
        if state.journey and state.next_checkin:
            blocks.extend(
                journey_views.journey_blocks(
                    state.journey, state.next_checkin, state.participant.paused_until, _
                )
            )
    elif state.may_join:
        blocks.append(
            kit.actions(
                kit.button(
                    _("Join the programme"), JOIN_ACTION, str(state.program.id), style="primary"
                ),
                block_id=f"join_{state.program.id}",
            )
        )
    elif not state.is_admin:
        blocks.append(kit.context(_("Enrollment is closed right now.")))
    if state.is_admin:
        blocks.extend(_admin_blocks(state, _))
    return blocks


def home_view(
    states: list[HomeState], _: Translator, *, super_admin: bool = False
) -> dict[str, Any]:
    """Home: each programme the person takes part in, may join or runs (several at once)."""
    blocks = _welcome(_)
    shown = [state for state in states if state.program is not None][:MAX_PROGRAMMES]
    if not shown:
        blocks.append(
            kit.section(_("There is no mentoring programme running yet. Watch this space!"))
        )
        if super_admin:  # the first programme is theirs to set up
            blocks.extend(_admin_blocks(HomeState(None, None, [], True), _))
    for state in shown:
        blocks.extend(_programme_section(state, _))
    if super_admin and len(shown) > 1:  # every programme side by side
        blocks.extend(comparison_views.home_button(_))
    if len([s for s in states if s.program is not None]) > MAX_PROGRAMMES:
        blocks.append(kit.context(_("More programmes: use `/mentoring status`.")))
    return kit.home(blocks)
