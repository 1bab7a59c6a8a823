"""The journey's messages and modals: check-ins, the meeting log, nudges, escalation, status."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from slack_sdk.models.blocks.block_elements import (
    DatePickerElement,
    PlainTextInputElement,
    StaticSelectElement,
)

from bot.clock import zone
from bot.domain import journey
from bot.i18n import N_, Translator, join_list
from bot.views import kit
from bot.views.labels import duration_text, topic_names
from storage.models import Goal, Program

MET_ACTION = "journey_met"
NOT_YET_ACTION = "journey_not_yet"
SNOOZE_ACTION = "journey_snooze"
CONTACT_ACTION = "journey_contact_pair"
END_ACTION = "journey_end_pair"
MEETING_CALLBACK_ID = "journey_meeting"

FORMAT_NAMES = {
    "conversation": N_("a conversation over coffee or video"),
    "hands_on": N_("a hands-on session: try a tool together"),
    "real_project": N_("work on a real project of the mentee's"),
    "workshop": N_("a small workshop: the mentor shows, the mentee practises"),
}
PROGRESS_NAMES = {
    "not_started": N_("Not started"),
    "in_progress": N_("In progress"),
    "achieved": N_("Achieved"),
}


def _subject(program: Program, suggestion: dict[str, Any], _: Translator) -> str | None:
    subject = suggestion.get("subject") or {}
    if "goal" in subject:
        return _("your goal “{goal}”", goal=kit.escape(kit.clip(str(subject["goal"]), 200)))
    if "topic" in subject:
        topic = str(subject["topic"])
        return kit.escape(topic_names(program, _).get(topic, topic))
    return None


def suggestion_text(program: Program, suggestion: dict[str, Any], _: Translator) -> str:
    fmt = _(FORMAT_NAMES.get(str(suggestion.get("format")), FORMAT_NAMES["conversation"]))
    subject = _subject(program, suggestion, _)
    if subject:
        return _("Idea for next time: {subject}, as {format}.", subject=subject, format=fmt)
    return _("Idea for next time: {format}.", format=fmt)


def _answer_buttons(request_id: int, _: Translator) -> Any:
    value = str(request_id)
    return kit.actions(
        kit.button(_("Yes, we met"), MET_ACTION, value, style="primary"),
        kit.button(_("Not yet"), NOT_YET_ACTION, value),
        kit.button(_("Snooze this month"), SNOOZE_ACTION, value),
    )


def checkin_message(
    program: Program,
    request_id: int,
    partner_user_id: str,
    suggestion: dict[str, Any],
    _: Translator,
) -> dict[str, Any]:
    text = _("Did you meet <@{partner}> this month?", partner=partner_user_id)
    blocks: list[Any] = [
        kit.section(_("Monthly check-in") + "\n" + text),
        kit.context(suggestion_text(program, suggestion, _)),
        _answer_buttons(request_id, _),
    ]
    return kit.message(text, blocks)


def nudge_message(
    program: Program, request_id: int, partner_user_id: str, _: Translator
) -> dict[str, Any]:
    text = _(
        "A friendly reminder: no meeting with <@{partner}> is logged this month yet. "
        "Half an hour is plenty.",
        partner=partner_user_id,
    )
    return kit.message(text, [kit.section(text), _answer_buttons(request_id, _)])


def escalation_message(
    pair_id: int, mentor_user_id: str, mentee_user_id: str, periods: Sequence[str], _: Translator
) -> dict[str, Any]:
    text = _(
        "<@{mentor}> and <@{mentee}> have logged no meeting in {periods}.",
        mentor=mentor_user_id,
        mentee=mentee_user_id,
        periods=join_list([_.period(period) for period in periods], _),
    )
    blocks: list[Any] = [
        kit.section(_("A quiet pair") + "\n" + text),
        kit.context(_("Only admins see this. The pair has not been told.")),
        kit.actions(
            kit.button(_("Contact pair"), CONTACT_ACTION, str(pair_id), style="primary"),
            kit.button(_("End pair"), END_ACTION, str(pair_id), style="danger"),
        ),
    ]
    return kit.message(text, blocks)


def escalation_done(text: str) -> dict[str, Any]:
    return kit.message(text, [kit.section(text)])


def contact_pair_message(admin_user_id: str, translators: Sequence[Translator]) -> dict[str, Any]:
    """To the pair's conversation: in the language both read, or in both when they differ."""
    texts = list(
        dict.fromkeys(
            _(
                "Hi both! <@{admin}> from the programme team here: how is it going? If finding "
                "time is hard, or something is in the way, just reply here and we'll help.",
                admin=admin_user_id,
            )
            for _ in translators
        )
    )
    blocks: list[Any] = []
    for index, text in enumerate(texts):
        if index:
            blocks.append(kit.divider())
        blocks.append(kit.section(text))
    return kit.message(" / ".join(texts), blocks)


MAX_NAMED = 60


def delivery_failed_message(
    reasons: Sequence[tuple[str, int]], _: Translator, unreachable: Sequence[str] = ()
) -> dict[str, Any]:
    """`reasons`: (Slack's error code, how many messages) refused for good since the last
    report; `unreachable`: the people no message reaches any more (they have left)."""
    total = sum(count for _code, count in reasons)
    text = _(
        "{count} messages could not be delivered and will not be retried "
        "(people who left the workspace, deleted channels):",
        count=total,
    )
    lines = "\n".join(f"• `{kit.escape(code)}`: {count}" for code, count in reasons)
    if unreachable:
        # Named up to a bound that keeps the section under Slack's 3,000 characters.
        people = ", ".join(f"<@{user_id}>" for user_id in unreachable[:MAX_NAMED])
        if len(unreachable) > MAX_NAMED:
            people += f" (+{len(unreachable) - MAX_NAMED})"
        lines += "\n" + _(
            "No longer reachable, so they have left the programme and their partners have "
            "been told: {people}",
            people=people,
        )
    return kit.message(text, [kit.section(text + "\n" + lines)])


def answered(text: str) -> dict[str, Any]:
    """What the check-in message becomes once answered."""
    return kit.message(text, [kit.section(text)])


def slot_label(start: datetime, timezone: str | None, _: Translator) -> str:
    local = start.astimezone(zone(timezone))
    return f"{_.moment(local)} ({local.tzname()})"


def not_yet_message(
    options: journey.MeetingOptions,
    me_tz: str | None,
    partner_tz: str | None,
    partner_user_id: str,
    request_id: int,
    _: Translator,
) -> dict[str, Any]:
    if options.slots:
        lines = [
            "• "
            + _(
                "{mine} for you, {theirs} for <@{partner}>",
                mine=slot_label(slot, me_tz, _),
                theirs=slot_label(slot, partner_tz, _),
                partner=partner_user_id,
            )
            for slot in options.slots
        ]
        text = _("No problem. Three times that suit you both:")
        hint = _("Calendar invites (.ics) for each are in your messages with me.")
        if options.relaxed:
            hint = (
                _(
                    "None fitted both your preferred days and times, so these only keep to "
                    "your working hours."
                )
                + " "
                + hint
            )
        blocks: list[Any] = [
            kit.section(text + "\n" + "\n".join(lines)),
            kit.context(hint),
            _answer_buttons(request_id, _),
        ]
        return kit.message(text, blocks)
    text = _(
        "No problem. Your working hours and <@{partner}>'s do not overlap on any weekday, so "
        "there is no time inside both.",
        partner=partner_user_id,
    )
    parts = [text]
    if options.near:
        lines = []
        for near in options.near:
            outside = duration_text(near.outside_minutes, _)
            if near.inside == "me":
                where = _(
                    "inside your working hours, {outside} outside <@{partner}>'s",
                    outside=outside,
                    partner=partner_user_id,
                )
            else:
                where = _(
                    "inside <@{partner}>'s working hours, {outside} outside yours",
                    outside=outside,
                    partner=partner_user_id,
                )
            lines.append(
                "• "
                + _(
                    "{mine} for you, {theirs} for <@{partner}> ({where})",
                    mine=slot_label(near.start, me_tz, _),
                    theirs=slot_label(near.start, partner_tz, _),
                    partner=partner_user_id,
                    where=where,
                )
            )
        parts.append(
            _("The nearest times, if one of you can stretch a little:") + "\n" + "\n".join(lines)
        )
    parts.append(
        _(
            "Or meet asynchronously this month: swap short voice or video notes in your pair's "
            "chat and answer within a day or two."
        )
    )
    blocks = [kit.section(kit.clip("\n\n".join(parts), 3000))]
    if options.near:
        blocks.append(
            kit.context(_("Calendar invites (.ics) for each are in your messages with me."))
        )
    blocks.append(_answer_buttons(request_id, _))
    return kit.message(text, blocks)


def invite_summary(partner_name: str, _: Translator) -> str:
    return _("Reverse mentoring with {name}", name=partner_name)


def snoozed_message(_: Translator) -> dict[str, Any]:
    return answered(_("Snoozed: no more reminders this month."))


def meeting_modal(
    request_id: int,
    goals: Sequence[Goal],
    today: date,
    _: Translator,
    origin: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`origin`: where the check-in message is ({"c": channel, "t": ts}), to update it."""
    durations = [kit.option(_("{minutes} min", minutes=m), str(m)) for m in journey.DURATIONS]
    ratings = [kit.option("★" * n, str(n)) for n in range(1, 6)]
    blocks: list[Any] = [
        kit.input_block(
            "met_on", _("When did you meet?"), DatePickerElement(initial_date=str(today))
        ),
        kit.input_block("duration", _("How long?"), StaticSelectElement(options=durations)),
        kit.input_block(
            "topics", _("Topics covered"), PlainTextInputElement(max_length=1000), optional=True
        ),
        kit.input_block(
            "learned",
            _("What I learned"),
            PlainTextInputElement(multiline=True, max_length=2000),
            optional=True,
        ),
        kit.input_block(
            "taught",
            _("What I taught"),
            PlainTextInputElement(multiline=True, max_length=2000),
            optional=True,
        ),
        kit.input_block(
            "rating", _("How useful was it? (1-5)"), StaticSelectElement(options=ratings)
        ),
        kit.input_block(
            "notes",
            _("Notes (only you two see them)"),
            PlainTextInputElement(multiline=True, max_length=3000),
            optional=True,
        ),
    ]
    progress = [kit.option(_(name), key) for key, name in PROGRESS_NAMES.items()]
    for goal in goals:
        current = journey.progress_key(goal)
        blocks.append(
            kit.input_block(
                f"goal_{goal.id}",
                kit.clip(goal.title, 150),
                StaticSelectElement(
                    options=progress,
                    initial_option=next(o for o in progress if o.value == current),
                ),
                optional=True,
            )
        )
    return kit.modal(
        title=_("Log your meeting"),
        submit=_("Save"),
        close=_("Cancel"),
        callback_id=MEETING_CALLBACK_ID,
        private_metadata=json.dumps({"request_id": request_id, **(origin or {})}),
        blocks=blocks,
    )


def meeting_logged(request_id: int, _: Translator) -> dict[str, Any]:
    """Keeps the buttons: answering again updates the same log."""
    text = _("Thanks! Your meeting is logged. Answer again any time to update it.")
    return kit.message(text, [kit.section(text), _answer_buttons(request_id, _)])


def journey_blocks(
    pairs: Sequence[journey.PairProgress],
    next_checkin: str,
    paused_until: date | None,
    _: Translator,
) -> list[Any]:
    """Each active pair with its goals (and progress) and meetings, then the next check-in."""
    blocks: list[Any] = []
    for row in pairs:
        lines = [
            _(
                "With <@{partner}>: {count} meetings logged",
                partner=row.partner_user_id,
                count=row.meetings,
            )
        ]
        for goal in row.goals:
            target = f" ({_.day(goal.target_date)})" if goal.target_date else ""
            name = _(PROGRESS_NAMES[journey.progress_key(goal)])
            lines.append(f"• {kit.escape(kit.clip(goal.title, 300))}{target}: {name}")
        if not row.goals:
            lines.append(_("No goals yet: set them with `/mentoring goals`."))
        blocks.append(kit.section("\n".join(lines)))
    footer = _("Next check-in: {period}", period=_.period(next_checkin))
    if paused_until is not None:
        footer += " · " + _("Paused until {day}", day=_.day(paused_until))
    blocks.append(kit.context(footer))
    return blocks


def status_message(
    pairs: Sequence[journey.PairProgress],
    next_checkin: str,
    paused_until: date | None,
    _: Translator,
) -> dict[str, Any]:
    if not pairs:
        text = _("You have no active pair yet.")
        return kit.message(text, [kit.section(text)])
    blocks: list[Any] = [
        kit.header(_("Your mentoring journey")),
        *journey_blocks(pairs, next_checkin, paused_until, _),
    ]
    return kit.message(_("Your mentoring journey"), blocks)
