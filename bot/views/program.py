"""The admin's programme settings modal."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks.block_elements import (
    ConversationFilter,
    ConversationSelectElement,
    DatePickerElement,
    NumberInputElement,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
)

from bot.domain.programs import CHECKIN_CADENCES, PULSE_CADENCES, ProgramForm
from bot.i18n import Translator
from bot.views import kit
from bot.views.labels import FREQUENCY

CALLBACK_ID = "program_settings"


def program_modal(form: ProgramForm, _: Translator, *, is_new: bool) -> dict[str, Any]:
    open_options = [kit.option(_("Open"), "open"), kit.option(_("Closed"), "closed")]
    checkin_options = [kit.option(_(FREQUENCY[c]), c) for c in CHECKIN_CADENCES]
    pulse_options = [kit.option(_(FREQUENCY[c]), c) for c in PULSE_CADENCES]
    blocks = [
        kit.section(
            _(
                "Clear, measurable goals keep a programme alive. Everyone sees them when they "
                "join, and reports measure progress against them."
            )
        ),
        kit.input_block(
            "name",
            _("Programme name"),
            PlainTextInputElement(initial_value=form.name or None, max_length=150),
        ),
        kit.input_block(
            "goals",
            _("Programme goals (1 to 3, one per line)"),
            PlainTextInputElement(
                multiline=True,
                initial_value="\n".join(_(goal) for goal in form.goals) or None,
                max_length=1000,
            ),
            hint=_("Make them measurable, e.g. “80% of leaders complete 6 sessions”."),
        ),
        kit.input_block(
            "start_date",
            _("Start date"),
            DatePickerElement(
                initial_date=form.start_date.isoformat() if form.start_date else None
            ),
            hint=_(
                "Dates are days in the programme's timezone, {timezone}.",
                timezone=form.timezone,
            ),
        ),
        kit.input_block(
            "end_date",
            _("End date"),
            DatePickerElement(initial_date=form.end_date.isoformat() if form.end_date else None),
        ),
        kit.input_block(
            "enrollment",
            _("Enrollment"),
            RadioButtonsElement(
                options=open_options,
                initial_option=open_options[0 if form.enrollment_open else 1],
            ),
        ),
        kit.input_block(
            "checkin_cadence",
            _("Check-in cadence"),
            StaticSelectElement(
                options=checkin_options,
                initial_option=checkin_options[CHECKIN_CADENCES.index(form.checkin_cadence)]
                if form.checkin_cadence in CHECKIN_CADENCES
                else None,
            ),
        ),
        kit.input_block(
            "pulse_cadence",
            _("Pulse-survey cadence"),
            StaticSelectElement(
                options=pulse_options,
                initial_option=pulse_options[PULSE_CADENCES.index(form.pulse_cadence)]
                if form.pulse_cadence in PULSE_CADENCES
                else None,
            ),
        ),
        kit.input_block(
            "topics",
            _("Topic catalogue (one per line)"),
            PlainTextInputElement(
                multiline=True,
                initial_value="\n".join(_(topic) for topic in form.topics) or None,
                max_length=3000,
            ),
            hint=_("People pick from these when they join; matching is based on them."),
        ),
        kit.input_block(
            "offices",
            _("Offices (one per line)"),
            PlainTextInputElement(
                multiline=True, initial_value="\n".join(form.offices) or None, max_length=1500
            ),
            optional=True,
            hint=_(
                "People pick theirs (or remote) when they join; pairs meet in person only in "
                "the same office. Empty: each person's place is their time zone's city."
            ),
        ),
        kit.input_block(
            "mentor_capacity",
            _("Mentees per mentor"),
            NumberInputElement(
                is_decimal_allowed=False,
                initial_value=str(form.mentor_capacity or 1),
                min_value="1",
                max_value="10",
            ),
        ),
        kit.input_block(
            "anonymity_threshold",
            _("Smallest group shown in survey results"),
            NumberInputElement(
                is_decimal_allowed=False,
                initial_value=str(form.anonymity_threshold or 5),
                min_value="3",
                max_value="100",
            ),
            hint=_("Results for smaller groups are hidden so no answer can be traced to a person."),
        ),
        kit.input_block(
            "community_channel",
            _("Recognition and community channel"),
            ConversationSelectElement(
                initial_conversation=form.community_channel,
                filter=ConversationFilter(include=["public", "private"]),
            ),
            optional=True,
        ),
    ]
    return kit.modal(
        title=_("New programme") if is_new else _("Programme settings"),
        submit=_("Save"),
        close=_("Cancel"),
        callback_id=CALLBACK_ID,
        blocks=blocks,
    )
