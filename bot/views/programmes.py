"""Several programmes at once: asking which one a subcommand is about."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.i18n import Translator
from bot.views import kit
from bot.views.labels import program_name
from storage.models import Program

CHOOSE_PROGRAMME_ACTION = "choose_programme"
MAX_CHOICES = 20  # buttons in one message (Slack allows 25 per actions block)
MAX_ARGS = 1500  # a button's value holds 2,000 characters


@dataclass(frozen=True)
class ProgrammeChoice:
    command: str
    args: str
    program_id: int


def which_programme(
    programs: Sequence[Program],
    command: str,
    args: str,
    _: Translator,
    *,
    everything: bool = False,
) -> dict[str, Any]:
    """ "Which programme?" with a button per programme that runs `/mentoring command args`
    (`everything`: and one for all programmes side by side, `/mentoring command all`)."""
    text = _("You take part in or run several programmes. Which one is this about?")
    buttons = [
        kit.button(
            program_name(program, _),
            CHOOSE_PROGRAMME_ACTION,
            json.dumps({"c": command, "a": args[:MAX_ARGS], "p": program.id}),
        )
        for program in programs[:MAX_CHOICES]
    ]
    if everything:
        value = json.dumps({"c": command, "a": "all", "p": 0})
        buttons.append(kit.button(_("All programmes"), CHOOSE_PROGRAMME_ACTION, value))
    return kit.message(text, [kit.section(text), kit.actions(*buttons)])


def programme_choice(value: str | None) -> ProgrammeChoice | None:
    """The button's value as sent back by Slack; None when it is not one of ours."""
    try:
        data = json.loads(value or "")
        return ProgrammeChoice(str(data["c"]), str(data["a"]), int(data["p"]))
    except (TypeError, ValueError, KeyError):
        return None
