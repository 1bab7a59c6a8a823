"""Pulse surveys and match checks as Block Kit: invitations, the one-modal survey, replies."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks.block_elements import PlainTextInputElement, StaticSelectElement

from bot.domain import pulse
from bot.i18n import Translator
from bot.views import kit
from storage.models import PulseKind

OPEN_ACTION = "pulse_open"
CALLBACK_ID = "pulse_answer"
MATCH_CHECK_ACTIONS = {
    pulse.MATCH_YES: "match_check_yes",
    pulse.MATCH_NOT_SURE: "match_check_not_sure",
    pulse.MATCH_HELP: "match_check_help",
}


def _option_text(question: str, value: int, _: Translator) -> str:
    if question == "again":
        return _("Yes") if value == 1 else _("No")
    ends = {
        ("value", 1): _("1 – not valuable"),
        ("value", 5): _("5 – very valuable"),
        ("pairing", 1): _("1 – not at all"),
        ("pairing", 5): _("5 – very well"),
        ("nps", 0): _("0 – not likely"),
        ("nps", 10): _("10 – extremely likely"),
    }
    return ends.get((question, value), str(value))


def invitation_message(
    kind: str, round_id: int, _: Translator, *, reminder: bool
) -> dict[str, Any]:
    if kind == PulseKind.FINAL:
        text = _(
            "The programme is coming to an end. Three questions on how it went for you: "
            "your answers are anonymous and only shown in groups."
        )
    else:
        text = _(
            "How is mentoring going? Three quick questions, one minute: your answers are "
            "anonymous and only shown in groups."
        )
    if reminder:
        text = _("A gentle reminder, the last one:") + " " + text
    button = kit.button(_("Answer the survey"), OPEN_ACTION, str(round_id), style="primary")
    return kit.message(text, [kit.section("📋 " + text), kit.actions(button, block_id="pulse")])


def survey_modal(kind: str, round_id: int, _: Translator, *, threshold: int) -> dict[str, Any]:
    """`threshold`: the programme's smallest group shown (pulse.threshold_of)."""
    blocks: list[Any] = [
        kit.context(
            _(
                "Anonymous: we store only totals, never who gave which answer. Results are "
                "shown only for groups of at least {n} people, after the survey closes.",
                n=_.number(threshold),
            )
        )
    ]
    for question in pulse.QUESTIONS[kind]:
        if question.values:
            element: Any = StaticSelectElement(
                placeholder=kit.plain(_("Pick one")),
                options=[
                    kit.option(_option_text(question.id, v, _), str(v)) for v in question.values
                ],
            )
            blocks.append(kit.input_block(question.id, _(question.text), element))
        else:
            element = PlainTextInputElement(multiline=True, max_length=2000)
            blocks.append(
                kit.input_block(
                    question.id,
                    _(question.text),
                    element,
                    optional=True,
                    hint=_("Shown to admins without your name, role or department."),
                )
            )
    return kit.modal(
        title=_("Pulse survey"),
        submit=_("Send"),
        close=_("Cancel"),
        callback_id=CALLBACK_ID,
        private_metadata=str(round_id),
        blocks=blocks,
    )


def outcome_modal(outcome: str, _: Translator) -> dict[str, Any]:
    texts = {
        pulse.RECORDED: _("Thank you! Your answers were added to the totals anonymously."),
        pulse.ALREADY: _("You have already answered this survey. Thank you!"),
        pulse.CLOSED: _("This survey has closed. Thank you for your interest!"),
        pulse.NOT_INVITED: _(
            "This survey is for the participants it was sent to, while they are in the "
            "programme. Thank you for your interest!"
        ),
    }
    return kit.notice_modal(
        title=_("Pulse survey"), text=texts[outcome], close=_("Close"), callback_id="pulse_done"
    )


def match_check_message(round_id: int, pair_id: int, _: Translator) -> dict[str, Any]:
    text = _("Is your match working? Only you see this question.")
    value = f"{round_id}:{pair_id}"
    return kit.message(
        text,
        [
            kit.section("🤝 " + text),
            kit.context(
                _(
                    "“Yes” and “Not sure” are only counted in totals; “I'd like help” "
                    "tells the programme team privately."
                )
            ),
            kit.actions(
                kit.button(_("Yes"), MATCH_CHECK_ACTIONS[pulse.MATCH_YES], value, style="primary"),
                kit.button(_("Not sure"), MATCH_CHECK_ACTIONS[pulse.MATCH_NOT_SURE], value),
                kit.button(_("I'd like help"), MATCH_CHECK_ACTIONS[pulse.MATCH_HELP], value),
                block_id="match_check",
            ),
        ],
    )


def match_check_reply(outcome: str, choice: int, _: Translator) -> dict[str, Any]:
    if outcome == pulse.ALREADY:
        text = _("You have already answered this check. Thank you!")
    elif outcome == pulse.CLOSED:
        text = _("This check has closed. Thank you!")
    elif outcome == pulse.NOT_INVITED:
        text = _("This check is for the pair it was sent to, while they are in the programme.")
    elif choice == pulse.MATCH_HELP:
        text = _(
            "Thanks for telling us. Only the programme team sees your request; "
            "they'll be in touch soon."
        )
    else:
        text = _("Thank you! Your answer was counted anonymously.")
    return kit.message(text, [kit.section(text)])


def match_help_reason(_: Translator) -> str:
    return _("Match check: I'd like help with my match.")
