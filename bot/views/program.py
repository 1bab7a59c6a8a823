"""The admin's programme settings modal."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks.block_elements import (
    CheckboxesElement,
    ConversationFilter,
    ConversationSelectElement,
    DatePickerElement,
    NumberInputElement,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
    UserMultiSelectElement,
)

from bot.domain import retention
from bot.domain.programs import (
    CHECKIN_CADENCES,
    MAX_OWNERS,
    PULSE_CADENCES,
    ProgramForm,
    has_texts_in,
    offered_topics,
)
from bot.i18n import LANGUAGE_NAMES, SUPPORTED, Translator, zone_city
from bot.views import kit
from bot.views.labels import FREQUENCY
from storage.models import JoinPolicy, Program

CALLBACK_ID = "program_settings"
SAVED_CALLBACK_ID = "program_saved"

# The zones a programme is most likely run in, by UTC offset; the programme's own zone and its
# creator's are always offered too (a static select holds 100 options).
COMMON_ZONES = (
    "Pacific/Honolulu",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/Mexico_City",
    "America/New_York",
    "America/Toronto",
    "America/Bogota",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Africa/Lagos",
    "Europe/Berlin",
    "Europe/Vienna",
    "Europe/Zurich",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Africa/Johannesburg",
    "Europe/Helsinki",
    "Europe/Istanbul",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Ho_Chi_Minh",
    "Asia/Jakarta",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Manila",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
)


def zone_options(current: str | None, _: Translator) -> list[Any]:
    """The time-zone picker's options: the common zones plus the current one, each labelled
    with its city in the reader's language and its IANA name."""
    zones = list(COMMON_ZONES)
    if current and current not in zones:
        zones.insert(0, current)
    return [kit.option(f"{zone_city(zone, _.locale)} ({zone})", zone) for zone in zones]


def _zone_block(form: ProgramForm, _: Translator) -> Any:
    options = zone_options(form.timezone, _)
    current = next((o for o in options if o.value == form.timezone), None)
    return kit.input_block(
        "timezone",
        _("Time zone"),
        StaticSelectElement(options=options, initial_option=current),
        hint=_(
            "The programme's dates are days in this zone, and its check-ins and surveys go out "
            "at its times."
        ),
    )


def _language_blocks(form: ProgramForm, _: Translator) -> list[Any]:
    """Optional versions of name, goals and topics per language (see programs.ProgramTexts)."""
    blocks: list[Any] = [
        kit.divider(),
        kit.section(
            "*"
            + _("Other languages")
            + "*\n"
            + _(
                "People read the texts above unless you give a version in their Slack "
                "language. Goals and topics: one per line, in the same order as above; an "
                "empty line keeps the original."
            )
        ),
    ]
    texts = form.texts or {}
    for locale in SUPPORTED:
        version = texts.get(locale)
        language = LANGUAGE_NAMES[locale]
        blocks += [
            kit.input_block(
                f"name_{locale}",
                _("Programme name · {language}", language=language),
                PlainTextInputElement(
                    initial_value=(version.name if version else "") or None, max_length=150
                ),
                optional=True,
            ),
            kit.input_block(
                f"goals_{locale}",
                _("Programme goals · {language}", language=language),
                PlainTextInputElement(
                    multiline=True,
                    initial_value="\n".join(version.goals if version else []) or None,
                    max_length=1000,
                ),
                optional=True,
            ),
            kit.input_block(
                f"topics_{locale}",
                _("Topic catalogue · {language}", language=language),
                PlainTextInputElement(
                    multiline=True,
                    initial_value="\n".join(version.topics if version else []) or None,
                    max_length=3000,
                ),
                optional=True,
            ),
        ]
    return blocks


def program_modal(
    form: ProgramForm,
    _: Translator,
    *,
    is_new: bool,
    default_language: str = "en",
    program_id: int | None = None,
    template_name: str | None = None,
) -> dict[str, Any]:
    """`default_language`: the channel language a programme has until an admin picks one;
    `program_id`: the programme edited (None: a new one); `template_name`: the programme a new
    cohort comes from (its alumni may be invited)."""
    open_options = [kit.option(_("Open"), "open"), kit.option(_("Closed"), "closed")]
    checkin_options = [kit.option(_(FREQUENCY[c]), c) for c in CHECKIN_CADENCES]
    pulse_options = [kit.option(_(FREQUENCY[c]), c) for c in PULSE_CADENCES]
    language_options = [kit.option(LANGUAGE_NAMES[locale], locale) for locale in SUPPORTED]
    channel_language = form.channel_language or default_language
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
        ),
        kit.input_block(
            "end_date",
            _("End date"),
            DatePickerElement(initial_date=form.end_date.isoformat() if form.end_date else None),
            optional=True,
            hint=_("Leave it empty for an evergreen programme; set a day when it should end."),
        ),
        _zone_block(form, _),
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
        *_retention_blocks(form, _),
        kit.input_block(
            "community_channel",
            _("Recognition and community channel"),
            ConversationSelectElement(
                initial_conversation=form.community_channel,
                filter=ConversationFilter(include=["public", "private"]),
            ),
            optional=True,
        ),
        kit.input_block(
            "channel_language",
            _("Channel language"),
            StaticSelectElement(
                options=language_options,
                initial_option=next(
                    (o for o in language_options if o.value == channel_language), None
                ),
            ),
            hint=_("Shout-outs, thanks and the monthly digest are posted in this language."),
        ),
        *_people_blocks(form, _, template_name),
        *_language_blocks(form, _),
    ]
    return kit.modal(
        title=_("New programme") if is_new else _("Programme settings"),
        submit=_("Save"),
        close=_("Cancel"),
        callback_id=CALLBACK_ID,
        blocks=blocks,
        private_metadata=json.dumps({"program_id": program_id}),
    )


def _retention_blocks(form: ProgramForm, _: Translator) -> list[Any]:
    """How long personal data is kept (bot/domain/retention.py); checked on submit."""
    current = form.retention or retention.DEFAULT.as_setting()
    fields = (
        (
            "notes_months",
            _("Delete private check-in notes after (months)"),
            _("Counted from the day the pair ended; the meetings stay counted."),
        ),
        (
            "left_days",
            _("Erase people who left after (days)"),
            _("Their profile and what they wrote go; anonymous counts stay."),
        ),
        (
            "anonymise_months",
            _("Anonymise the programme after it ended (months)"),
            _("Everyone's personal data goes; the report's figures stay."),
        ),
    )
    blocks = []
    for name, label, hint in fields:
        _default, low, high = retention.LIMITS[name]
        value = current.get(name) or retention.LIMITS[name][0]
        blocks.append(
            kit.input_block(
                name,
                label,
                NumberInputElement(
                    is_decimal_allowed=False,
                    initial_value=str(value),
                    min_value=str(low),
                    max_value=str(high),
                ),
                hint=hint,
            )
        )
    return blocks


def _people_blocks(form: ProgramForm, _: Translator, template_name: str | None) -> list[Any]:
    """Who runs the programme and who may join it (several programmes run at once)."""
    policy_options = [
        kit.option(_("Everyone in the workspace"), JoinPolicy.EVERYONE),
        kit.option(_("Invited people only"), JoinPolicy.INVITED),
    ]
    policy = form.join_policy or JoinPolicy.EVERYONE
    blocks: list[Any] = [
        kit.input_block(
            "owners",
            _("Programme owners"),
            UserMultiSelectElement(
                initial_users=list(form.owners or []) or None, max_selected_items=MAX_OWNERS
            ),
            hint=_("They run this programme: settings, matching, report, recognition."),
            optional=True,
        ),
        kit.input_block(
            "join_policy",
            _("Who may join"),
            RadioButtonsElement(
                options=policy_options,
                initial_option=next(o for o in policy_options if o.value == policy),
            ),
        ),
        kit.input_block(
            "invited",
            _("Invite people"),
            UserMultiSelectElement(max_selected_items=100),
            hint=_("Added to the programme's invitation list (for invited people only)."),
            optional=True,
        ),
    ]
    if template_name is not None:
        blocks.append(
            kit.input_block(
                "invite_alumni",
                _("Alumni"),
                CheckboxesElement(
                    options=[
                        kit.option(
                            _("Invite the people of {programme}", programme=template_name),
                            "yes",
                        )
                    ]
                ),
                optional=True,
            )
        )
    return blocks


def saved_modal(
    program: Program, _: Translator, *, created: bool, channel_language: str
) -> dict[str, Any]:
    """What the settings modal becomes once saved: a confirmation with the main settings."""
    headline = _("The programme is set up.") if created else _("The programme settings are saved.")
    versions = [LANGUAGE_NAMES[locale] for locale in SUPPORTED if has_texts_in(program, locale)]
    channel = f"<#{program.community_channel}>" if program.community_channel else "—"
    lines = [
        f"*{kit.escape(program.name)}*",
        _(
            "{start} to {end}",
            start=_.day(program.start_date) if program.start_date else "—",
            end=_.day(program.end_date) if program.end_date else _("evergreen"),
        )
        + f" · {zone_city(program.timezone, _.locale)}",
        _("Enrollment: {state}", state=_("Open") if program.enrollment_open else _("Closed")),
        _(
            "Goals: {goals} · Topics: {topics}",
            goals=_.number(len(program.goals)),
            topics=_.number(len(offered_topics(program))),
        ),
        _(
            "Channel: {channel} · Channel language: {language}",
            channel=channel,
            language=LANGUAGE_NAMES[channel_language],
        ),
        _("Texts in other languages: {languages}", languages=", ".join(versions) or "—"),
    ]
    return kit.notice_modal(
        title=_("Programme settings"),
        text="✅ " + headline + "\n" + "\n".join(lines),
        close=_("Close"),
        callback_id=SAVED_CALLBACK_ID,
    )
