"""Recruiting campaigns: the admin's segment modal with its preview, the invitation and its
reminder, the answer to "not for me", and the campaigns' funnel in the report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.blocks.block_elements import (
    DatePickerElement,
    NumberInputElement,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
)

from bot.domain.campaigns import Funnel, Segment
from bot.i18n import N_, Translator, join_list
from bot.views import kit
from bot.views.labels import ROLE, ROLE_EXPLAINED, program_name
from storage.models import Program

CALLBACK_ID = "campaign"
PREVIEW_ACTION = "campaign_preview"
JOIN_ACTION = "campaign_join"
DECLINE_ACTION = "campaign_decline"
MAX_OPTIONS = 100  # Slack's limit for a static select
ROLES_INVITED = {"mentor": N_("Mentors"), "mentee": N_("Mentees")}
INVITED_AS = {
    "mentor": N_("Hi! You are invited to join *{programme}* as a mentor."),
    "mentee": N_("Hi! You are invited to join *{programme}* as a mentee."),
}
REMINDED_AS = {
    "mentor": N_(
        "A gentle reminder: you are invited to *{programme}* as a mentor. Would you like to join?"
    ),
    "mentee": N_(
        "A gentle reminder: you are invited to *{programme}* as a mentee. Would you like to join?"
    ),
}


@dataclass
class CampaignForm:
    """What the modal holds (also what is shown again after a preview)."""

    role: str | None = None
    segment: Segment = Segment()
    level_text: str = ""


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[str]


def _select(
    field: str, label: str, values: list[str], chosen: str | None, _: Translator
) -> list[Block]:
    """A select of the roster's values (none on the roster: no field)."""
    options = [kit.option(kit.clip(value, 75), kit.clip(value, 150)) for value in values]
    options = options[:MAX_OPTIONS]
    if not options:
        return []
    initial = next((o for o in options if o.value == chosen), None)
    element = StaticSelectElement(
        placeholder=kit.plain(_("Anyone")), options=options, initial_option=initial
    )
    return [kit.input_block(field, label, element, optional=True)]


def campaign_modal(
    program: Program,
    choices: dict[str, list[str]],
    form: CampaignForm,
    _: Translator,
    preview: Preview | None = None,
) -> dict[str, Any]:
    """The segment filters, the role, a Preview button and what the preview found."""
    segment = form.segment
    roles = [kit.option(_(ROLE[r]), r, _(ROLE_EXPLAINED[r])) for r in ("mentor", "mentee")]
    role_element = RadioButtonsElement(
        options=roles, initial_option=next((o for o in roles if o.value == form.role), None)
    )
    title_element = PlainTextInputElement(
        initial_value=segment.title_contains or None, max_length=100
    )
    level_element = NumberInputElement(
        is_decimal_allowed=False, initial_value=form.level_text or None
    )
    hired_element = DatePickerElement(
        initial_date=segment.hired_after.isoformat() if segment.hired_after else None
    )
    blocks: list[Block] = [
        kit.section(
            _("Invite people from the HR roster to *{programme}*.").format(
                programme=kit.escape(program_name(program, _))
            )
        ),
        kit.input_block("role", _("Invite them as"), role_element),
        *_select(
            "department", _("Department"), choices.get("department", []), segment.department, _
        ),
        *_select("country", _("Country"), choices.get("country", []), segment.country, _),
        *_select("office", _("Office"), choices.get("office", []), segment.office, _),
        kit.input_block("title_contains", _("Job title contains"), title_element, optional=True),
        kit.input_block("level_at_least", _("Level at or above"), level_element, optional=True),
        kit.input_block("hired_after", _("Hired after"), hired_element, optional=True),
        kit.actions(kit.button(_("Preview"), PREVIEW_ACTION, "preview"), block_id="preview"),
        kit.context(
            _(
                "Left out: people who left the roster, who are in this programme or have an "
                'invitation to it waiting, and who said "not for me" to an earlier campaign.'
            )
        ),
    ]
    if preview is None:
        blocks.append(kit.section(_("Press *Preview* to see how many people you would invite.")))
    elif preview.count == 0:
        blocks.append(kit.section(_("*Nobody* in this segment can be invited.")))
    else:
        names = join_list([f"<@{user_id}>" for user_id in preview.sample], _)
        blocks.append(
            kit.section(
                _("*{count}* people would be invited, for example {names}.").format(
                    count=_.number(preview.count), names=names
                ),
                block_id="preview_result",
            )
        )
    return kit.modal(
        title=_("Invite people"),
        submit=_("Send invitations"),
        close=_("Cancel"),
        callback_id=CALLBACK_ID,
        blocks=blocks,
        private_metadata=json.dumps({"program_id": program.id}),
    )


def sent_modal(count: int, _: Translator) -> dict[str, Any]:
    text = _(
        "✅ {count} invitations are queued. Each arrives in the person's working hours; one "
        "reminder follows for those who have not answered."
    ).format(count=_.number(count))
    return kit.notice_modal(
        title=_("Invite people"), text=text, close=_("Close"), callback_id="campaign_sent"
    )


def _buttons(campaign_id: int, _: Translator) -> Block:
    return kit.actions(
        kit.button(_("Join"), JOIN_ACTION, str(campaign_id), style="primary"),
        kit.button(_("Not for me"), DECLINE_ACTION, str(campaign_id)),
        block_id="campaign_answer",
    )


def invitation_message(
    program: Program, campaign_id: int, role: str, _: Translator, *, reminder: bool = False
) -> dict[str, Any]:
    """The DM inviting someone to a programme in a role; the reminder says it is one."""
    name = kit.escape(program_name(program, _))
    wording = (REMINDED_AS if reminder else INVITED_AS).get(role, INVITED_AS["mentee"])
    text = _(wording, programme=name)
    about = _(
        "Reverse mentoring pairs younger colleagues, who coach, with senior leaders, who learn "
        "about technology and new ways of working; both sides learn."
    )
    explained = _(ROLE_EXPLAINED[role]) if role in ROLE_EXPLAINED else ""
    return kit.message(
        text,
        [
            kit.section(text),
            kit.section(f"{about} {explained}".strip()),
            _buttons(campaign_id, _),
            kit.context(_('"Not for me" is fine: we will not invite you again.')),
        ],
    )


def declined_message(_: Translator) -> dict[str, Any]:
    text = _(
        "Thank you for letting us know. We will not invite you again; if you change your mind, "
        "`/mentoring join` is always there."
    )
    return kit.message(text, [kit.section(text)])


def already_answered(_: Translator) -> dict[str, Any]:
    return kit.message(_("You have answered this invitation already."))


# The report ------------------------------------------------------------------------------------


def funnel_blocks(funnels: list[Funnel], _: Translator) -> list[Block]:
    """One line per campaign: invited → joined → matched → met (declined aside)."""
    if not funnels:
        return []
    lines = []
    for funnel in funnels[-10:]:
        lines.append(
            _(
                "• {day}, {role}: {invited} invited → {joined} joined → {matched} matched → "
                "{met} met ({declined} said not for me)"
            ).format(
                day=_.date(funnel.created_at),
                role=_(ROLES_INVITED[funnel.role]) if funnel.role in ROLES_INVITED else funnel.role,
                invited=_.number(funnel.invited),
                joined=_.number(funnel.joined),
                matched=_.number(funnel.matched),
                met=_.number(funnel.met),
                declined=_.number(funnel.declined),
            )
        )
    return [kit.section("*" + _("Recruiting campaigns") + "*\n" + "\n".join(lines))]


def funnel_text(funnels: list[Funnel], _: Translator) -> str:
    blocks = funnel_blocks(funnels, _)
    return blocks[0].text.text if blocks else ""  # type: ignore[attr-defined]


def parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
