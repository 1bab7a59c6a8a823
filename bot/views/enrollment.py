"""Enrollment modal, confirmation, training pack, leave dialog and the personal-data summary."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks.block_elements import (
    CheckboxesElement,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserMultiSelectElement,
    UserSelectElement,
)

from bot.domain.enrollment import (
    MEETING_FORMATS,
    MEETING_FREQUENCIES,
    SENIORITY_BANDS,
    TIMES_OF_DAY,
    WEEKDAYS,
    EnrollmentForm,
)
from bot.domain.places import (
    MAX_EXTRA_LANGUAGES,
    MEETING_LANGUAGES,
    REMOTE,
    meeting_languages,
    office_of,
    offices_of,
)
from bot.domain.programs import growth_catalogue, offered_topics
from bot.domain.training import TrainingSection, training_pack
from bot.i18n import Translator
from bot.views import kit
from bot.views.labels import (
    FORMAT,
    FREQUENCY,
    ROLE,
    ROLE_EXPLAINED,
    SENIORITY,
    TIME_OF_DAY,
    WEEKDAY,
    label,
    language_name,
    place_label,
    program_goals,
    program_name,
    topic_name,
    topic_names,
)
from storage.models import Participant, Program

CALLBACK_ID = "enrollment"
ROLE_ACTION = "role"  # the role's radio buttons: picking one adapts the form (see below)
LEAVE_CALLBACK_ID = "leave_programme"
TRAINING_READ_ACTION = "training_read"


def _topic_options(program: Program, _: Translator) -> list[Any]:
    return [
        kit.option_group(
            _("Programme topics"),
            [kit.option(topic_name(program, t, _), t["id"]) for t in offered_topics(program)],
        ),
        kit.option_group(
            _("Leadership and career"),
            [kit.option(topic_name(program, t, _), t["id"]) for t in growth_catalogue()],
        ),
    ]


def _selected(groups: list[Any], values: list[str]) -> list[Any] | None:
    by_value = {opt.value: opt for group in groups for opt in group.options}
    chosen = [by_value[value] for value in values if value in by_value]
    return chosen or None


def _single(options: list[Any], value: str | None) -> Any:
    return next((opt for opt in options if opt.value == value), None)


def enrollment_modal(
    program: Program,
    form: EnrollmentForm,
    _: Translator,
    *,
    timezone: str | None,
    locale_name: str,
    editing: bool,
) -> dict[str, Any]:
    role_options = [
        kit.option(_(ROLE[role]), role, _(ROLE_EXPLAINED[role])) for role in ("mentor", "mentee")
    ]
    seniority_options = [kit.option(_(SENIORITY[s]), s) for s in SENIORITY_BANDS]
    frequency_options = [kit.option(_(FREQUENCY[f]), f) for f in MEETING_FREQUENCIES]
    format_options = [kit.option(_(FORMAT[f]), f) for f in MEETING_FORMATS]
    day_options = [kit.option(_(WEEKDAY[d]), d) for d in WEEKDAYS]
    time_options = [kit.option(_(TIME_OF_DAY[t]), t) for t in TIMES_OF_DAY]
    consent_option = kit.option(_("Yes, you may feature me in shout-outs"), "yes")

    def topics(field: str, title: str, values: list[str], hint: str, *, needed_by: str) -> Any:
        # Required for the role that needs it (mentors teach, mentees learn), so a field shown
        # as optional always is; before a role is picked both are optional.
        groups = _topic_options(program, _)
        return kit.input_block(
            field,
            title,
            StaticMultiSelectElement(
                option_groups=groups,
                initial_options=_selected(groups, values),
                placeholder=kit.plain(_("Pick topics"), 150),
            ),
            optional=form.role != needed_by,
            hint=hint,
        )

    goals_text = "\n".join(f"• {kit.escape(goal)}" for goal in program_goals(program, _))
    blocks: list[Any] = [
        kit.section(
            _(
                "*{program}*\nProgramme goals:\n{goals}",
                program=kit.escape(program_name(program, _)),
                goals=goals_text,
            )
        ),
        kit.context(
            _(
                "Your time zone ({timezone}) and language ({language}) come from Slack.",
                timezone=kit.escape(timezone or "UTC"),
                language=locale_name,
            )
        ),
        kit.input_block(
            ROLE_ACTION,
            _("I join as"),
            RadioButtonsElement(
                options=role_options, initial_option=_single(role_options, form.role)
            ),
            dispatch_action=True,
        ),
        kit.input_block(
            "department",
            _("Department"),
            PlainTextInputElement(initial_value=form.department or None, max_length=100),
            optional=True,
        ),
        *_place_and_languages(program, form, _, locale_name),
        kit.input_block(
            "seniority",
            _("Seniority"),
            StaticSelectElement(
                options=seniority_options,
                initial_option=_single(seniority_options, form.seniority),
            ),
            optional=True,
        ),
        topics(
            "topics_offered",
            _("Topics I can teach"),
            form.topics_offered,
            _("Mentors: at least one."),
            needed_by="mentor",
        ),
        topics(
            "topics_wanted",
            _("Topics I most want to learn"),
            form.topics_wanted,
            _("Mentees: at least one."),
            needed_by="mentee",
        ),
        topics(
            "development_areas",
            _("Other areas I'd like to develop"),
            form.development_areas,
            _("Both sides learn: mentors can pick leadership skills here."),
            needed_by="",
        ),
        kit.input_block(
            "personal_goals",
            _("My goals for this programme"),
            PlainTextInputElement(
                multiline=True, initial_value=form.personal_goals or None, max_length=1000
            ),
            optional=True,
        ),
        kit.input_block(
            "meeting_frequency",
            _("How often would you like to meet?"),
            StaticSelectElement(
                options=frequency_options,
                initial_option=_single(frequency_options, form.meeting_frequency),
            ),
            optional=True,
        ),
        kit.input_block(
            "meeting_format",
            _("Preferred format"),
            StaticSelectElement(
                options=format_options,
                initial_option=_single(format_options, form.meeting_format),
            ),
            optional=True,
        ),
        kit.input_block(
            "success_definition",
            _("What would success look like for you?"),
            PlainTextInputElement(
                multiline=True, initial_value=form.success_definition or None, max_length=1000
            ),
            optional=True,
        ),
        kit.input_block(
            "available_days",
            _("Days that usually work"),
            CheckboxesElement(
                options=day_options,
                initial_options=[o for o in day_options if o.value in form.available_days] or None,
            ),
            optional=True,
        ),
        kit.input_block(
            "time_of_day",
            _("Time of day"),
            StaticSelectElement(
                options=time_options, initial_option=_single(time_options, form.time_of_day)
            ),
            optional=True,
        ),
        kit.input_block(
            "manager",
            _("My manager"),
            UserSelectElement(initial_user=form.manager_user_id),
            optional=True,
            hint=_("Used only to keep pairs out of the same reporting line."),
        ),
        kit.input_block(
            "avoid",
            _("People I'd rather not be paired with"),
            UserMultiSelectElement(
                initial_users=form.avoid_user_ids or None, max_selected_items=10
            ),
            optional=True,
            hint=_("Private: nobody else sees this."),
        ),
        kit.input_block(
            "consent",
            _("Recognition"),
            CheckboxesElement(
                options=[consent_option],
                initial_options=[consent_option] if form.shoutout_consent else None,
            ),
            optional=True,
        ),
    ]
    return kit.modal(
        title=_("Edit your profile") if editing else _("Join the programme"),
        submit=_("Save") if editing else _("Join"),
        close=_("Cancel"),
        callback_id=CALLBACK_ID,
        blocks=blocks,
        private_metadata=json.dumps({"program_id": program.id}),
    )


def _place_and_languages(
    program: Program, form: EnrollmentForm, _: Translator, locale_name: str
) -> list[Any]:
    """Where they work (when the programme lists offices) and the languages they meet in:
    matching only pairs people who can meet."""
    blocks: list[Any] = []
    offices = offices_of(program)
    if offices:
        office_options = [kit.option(kit.clip(office, 75), office) for office in offices]
        office_options.append(kit.option(_("Remote"), REMOTE))
        blocks.append(
            kit.input_block(
                "office",
                _("Where I work"),
                StaticSelectElement(
                    options=office_options,
                    initial_option=_single(office_options, form.office),
                    placeholder=kit.plain(_("Pick your office"), 150),
                ),
                hint=_(
                    "Pairs meet in person only in the same office; everyone else by video or chat."
                ),
            )
        )
    language_options = [
        kit.option(name, code) for code, name in MEETING_LANGUAGES.items() if code != _.locale
    ]
    blocks.append(
        kit.input_block(
            "languages",
            _("Other languages I can meet in"),
            StaticMultiSelectElement(
                options=language_options,
                initial_options=[o for o in language_options if o.value in form.languages] or None,
                max_selected_items=MAX_EXTRA_LANGUAGES,
                placeholder=kit.plain(_("Pick languages"), 150),
            ),
            optional=True,
            hint=_(
                "Besides {language}, your Slack language: partners always share a language.",
                language=locale_name,
            ),
        )
    )
    return blocks


def form_from_participant(participant: Participant) -> EnrollmentForm:
    return EnrollmentForm(
        role=participant.role,
        department=participant.department or "",
        seniority=participant.seniority,
        topics_offered=list(participant.topics_offered),
        topics_wanted=list(participant.topics_wanted),
        development_areas=list(participant.development_areas),
        personal_goals=participant.personal_goals or "",
        meeting_frequency=participant.meeting_frequency,
        meeting_format=participant.meeting_format,
        success_definition=participant.success_definition or "",
        available_days=list(participant.available_days),
        time_of_day=participant.time_of_day,
        manager_user_id=participant.manager_slack_id,
        avoid_user_ids=list(participant.avoid_slack_ids),
        shoutout_consent=participant.shoutout_consent,
        office=participant.office,
        languages=list(participant.languages),
    )


def topic_labels(program: Program, ids: list[str], _: Translator) -> str:
    names = topic_names(program, _)  # archived ones keep their name
    return ", ".join(kit.escape(names[i]) for i in ids if i in names) or "—"


def profile_summary(program: Program, participant: Participant, _: Translator) -> list[str]:
    """Fields for a section block (at most 10)."""
    days = ", ".join(_(WEEKDAY[d]) for d in participant.available_days) or _("Any day")
    return [
        "*" + _("Role") + "*\n" + label(ROLE, participant.role, _),
        "*" + _("Department") + "*\n" + kit.escape(participant.department or "—"),
        "*"
        + _("Topics I can teach")
        + "*\n"
        + topic_labels(program, participant.topics_offered, _),
        "*"
        + _("Topics I most want to learn")
        + "*\n"
        + topic_labels(program, participant.topics_wanted, _),
        "*"
        + _("Other areas I'd like to develop")
        + "*\n"
        + topic_labels(program, participant.development_areas, _),
        "*"
        + _("Meetings")
        + "*\n"
        + label(FREQUENCY, participant.meeting_frequency, _)
        + " · "
        + label(FORMAT, participant.meeting_format, _),
        "*"
        + _("Availability")
        + "*\n"
        + days
        + " · "
        + label(TIME_OF_DAY, participant.time_of_day, _),
        "*" + _("Time zone") + "*\n" + kit.escape(participant.timezone or "UTC"),
        "*" + _("Where I work") + "*\n" + place_label(office_of(participant, program), _),
        "*"
        + _("Languages")
        + "*\n"
        + ", ".join(language_name(code) for code in meeting_languages(participant)),
    ]


def enrolled_confirmation(
    program: Program, participant: Participant, _: Translator, *, created: bool
) -> dict[str, Any]:
    if not created:
        headline = _("Your profile is updated.")
    elif participant.role == "mentor":
        headline = _(
            "Welcome to {program}! You're enrolled as a mentor.",
            program=kit.escape(program_name(program, _)),
        )
    else:
        headline = _(
            "Welcome to {program}! You're enrolled as a mentee.",
            program=kit.escape(program_name(program, _)),
        )
    blocks = [
        kit.section("*" + headline + "*"),
        kit.fields(profile_summary(program, participant, _)),
    ]
    if created:
        blocks.append(
            kit.context(
                _(
                    "What happens next: an admin reviews the proposed pairs, then you meet your "
                    "partner in a group message. Your training pack is on its way."
                )
            )
        )
    return kit.message(headline, blocks)


def _training_section(section: TrainingSection, _: Translator) -> Any:
    bullets = "\n".join(f"• {_(point)}" for point in section.points)
    return kit.section(f"*{_(section.title)}*\n{bullets}")


def training_message(
    participant: Participant, _: Translator, *, read_at: str | None = None
) -> dict[str, Any]:
    pack = training_pack(participant.role)
    blocks: list[Any] = [
        kit.header(_(pack.title)),
        kit.section(_(pack.intro)),
    ]
    for section in pack.sections:
        blocks.append(kit.divider())
        blocks.append(_training_section(section, _))
    blocks.append(kit.divider())
    if read_at is None:
        blocks.append(
            kit.actions(
                kit.button(
                    _("I've read it"),
                    TRAINING_READ_ACTION,
                    str(participant.id),
                    style="primary",
                ),
                block_id="training",
            )
        )
    else:
        blocks.append(kit.context("✅ " + _("Read on {date}. Thank you!", date=read_at)))
    return kit.message(_(pack.title), blocks)


def leave_modal(program: Program, _: Translator, *, paired: bool) -> dict[str, Any]:
    text = _(
        "Are you sure you want to leave {program}?", program=kit.escape(program_name(program, _))
    )
    if paired:
        text += "\n" + _(
            "Your pair will end. We'll tell your partner kindly and find them a new match."
        )
    erase_option = kit.option(_("Also delete my personal data"), "erase")
    blocks = [
        kit.section(text),
        kit.input_block(
            "erase",
            _("Your data"),
            CheckboxesElement(options=[erase_option]),
            optional=True,
            hint=_(
                "Deletes your profile, answers and notes. Anonymous totals (like the number "
                "of pairs) stay."
            ),
        ),
    ]
    return kit.modal(
        title=_("Leave the programme"),
        submit=_("Leave"),
        close=_("Stay"),
        callback_id=LEAVE_CALLBACK_ID,
        blocks=blocks,
        private_metadata=json.dumps({"program_id": program.id}),
    )


def left_message(_: Translator, *, erased: bool) -> dict[str, Any]:
    text = _("You've left the programme. Thank you for taking part!")
    if erased:
        text += " " + _("Your personal data has been deleted.")
    return kit.message(text)


def partner_left_message(_: Translator) -> dict[str, Any]:
    return kit.message(
        _(
            "Your mentoring partner has had to step away from the programme. Thank you for the "
            "time you spent together! You're back in the matching pool and will hear from us "
            "when we have a new match for you."
        )
    )


def partner_unreachable_message(_: Translator) -> dict[str, Any]:
    """To the partner of someone Slack no longer reaches (e.g. their account was closed)."""
    return kit.message(
        _(
            "Your mentoring partner is no longer available on Slack, so your pair has come to "
            "an end. Thank you for the time you spent together! You're back in the matching "
            "pool and will hear from us when we have a new match for you."
        )
    )


def partner_departed_message(_: Translator) -> dict[str, Any]:
    """To the partner of someone who can no longer take part (not on the roster any more, or
    their account changed): kind, and nothing about why."""
    return kit.message(
        _(
            "Your mentoring partner has left the programme, so your pair has come to an end. "
            "Thank you for the time you spent together! You're back in the matching pool and "
            "will hear from us when we have a new match for you."
        )
    )


def mydata_message(data: dict[str, Any], _: Translator) -> dict[str, Any]:
    profile = data["profile"]
    lines = [
        _("Here is everything the mentoring app stores about you."),
        _(
            "Profile: {fields} fields, pairs: {pairs}, goals: {goals}, check-ins: {checkins}.",
            fields=len(profile),
            pairs=len(data["pairs"]),
            goals=len(data["goals"]),
            checkins=len(data["checkins"]),
        ),
        _(
            "Pulse-survey answers are anonymous: they are not linked to you, so they are not "
            "part of this copy."
        ),
    ]
    kept = data.get("retention")
    if isinstance(kept, dict):
        lines.append(
            _(
                "How long we keep it: private check-in notes are deleted {notes} months after "
                "a pair ends; if you leave, your data is erased after {days} days; {months} "
                "months after the programme ends, everything about you is anonymised (only "
                "counts stay).",
                notes=kept.get("notes_months"),
                days=kept.get("left_days"),
                months=kept.get("anonymise_months"),
            )
        )
    # Escaped before clipping so the closing fence always fits in the section.
    preview = kit.clip(kit.escape(json.dumps(data, ensure_ascii=False, indent=1)), 2800)
    blocks = [kit.section("\n".join(lines)), kit.section(f"```{preview}```")]
    return kit.message(lines[0], blocks)
