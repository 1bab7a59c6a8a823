"""Short replies shared by many handlers (ephemeral answers to the slash command)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from bot.i18n import N_, Translator
from bot.views import kit

# (subcommand, description, admin only) in the order the help lists them.
COMMANDS: tuple[tuple[str, str, bool], ...] = (
    ("join", N_("Join the programme: a short survey about what you offer and want"), False),
    ("profile", N_("Edit your profile and expectations"), False),
    ("rematch", N_("Privately ask for a different partner"), False),
    ("goals", N_("Set your pair's goals"), False),
    ("status", N_("Your pair, goals, meetings and next check-in"), False),
    (
        "pause",
        N_("Pause check-ins until a date, e.g. `pause 2027-02-01` (`pause off` resumes)"),
        False,
    ),
    ("thanks", N_("Thank your partner publicly (after an admin approves)"), False),
    ("story", N_("Share your pair's success story in the monthly digest"), False),
    ("mydata", N_("Get a copy of everything stored about you"), False),
    ("leave", N_("Leave the programme (you can delete your data)"), False),
    ("help", N_("Show this list"), False),
    ("program", N_("Set up the programme: goals, dates, topics, cadence"), True),
    ("match", N_("Propose pairs, review and approve them"), True),
    (
        "hold",
        N_("Hold every message of the programme (`hold on`) or release them (`hold off`)"),
        True,
    ),
    ("shoutout", N_("Thank people in the recognition channel"), True),
    ("campaign", N_("Invite a segment of the HR roster to join, as mentors or mentees"), True),
)


def help_message(_: Translator, *, is_admin: bool) -> dict[str, Any]:
    # The most frequent reply, the same for everyone of a language and role: built once.
    return json.loads(_help_json(_, is_admin))


@lru_cache(maxsize=32)
def _help_json(_: Translator, is_admin: bool) -> str:
    lines = [
        f"• `/mentoring {name}`: {_(description)}"
        for name, description, admin_only in COMMANDS
        if is_admin or not admin_only
    ]
    blocks = [
        kit.section("*" + _("Reverse mentoring: what you can do") + "*\n" + "\n".join(lines)),
        kit.context(_("Tip: the app's Home tab shows your status at a glance.")),
    ]
    return json.dumps(kit.message(_("Reverse mentoring commands"), blocks))


def unknown_command(_: Translator, text: str) -> dict[str, Any]:
    return kit.message(
        _(
            "I don't know `{command}` yet. Try `/mentoring help` to see what I can do.",
            command=kit.escape(kit.clip(text, 40)),
        )
    )


def admins_only(_: Translator) -> dict[str, Any]:
    return kit.message(
        _("Only programme admins can do that. Ask your HR team if you think you should be one.")
    )


def no_program(_: Translator, *, is_admin: bool) -> dict[str, Any]:
    if is_admin:
        return kit.message(_("There is no programme yet. Set one up with `/mentoring program`."))
    return kit.message(_("There is no mentoring programme running yet. Watch this space!"))


def _enrollment_closed(_: Translator, program: str) -> str:
    return _(
        "Enrollment for {program} is closed right now. Your programme team will announce "
        "the next round.",
        program=program,
    )


def enrollment_closed(_: Translator, program_name: str) -> dict[str, Any]:
    return kit.message(_enrollment_closed(_, kit.escape(program_name)))


def enrollment_closed_error(_: Translator, program_name: str) -> str:
    """The same, as a modal's inline error: plain text, so the name is not escaped."""
    return _enrollment_closed(_, program_name)


def not_enrolled(_: Translator) -> dict[str, Any]:
    return kit.message(_("You're not enrolled yet. Join with `/mentoring join`."))


def unknown_user(_: Translator) -> dict[str, Any]:
    return kit.message(
        _("Sorry, I couldn't look up your Slack profile just now. Please try again in a minute.")
    )


def try_again(_: Translator) -> dict[str, Any]:
    return kit.message(
        _("Something went wrong on our side and nothing was changed. Please try again.")
    )


def unavailable(_: Translator) -> dict[str, Any]:
    return kit.message(
        _(
            "The mentoring app is temporarily unavailable, so nothing was changed. "
            "Please try again in a few minutes."
        )
    )


def stale_button(_: Translator) -> dict[str, Any]:
    return kit.message(
        _(
            "That button belongs to an older message and no longer works. "
            "`/mentoring help` shows what you can do now."
        )
    )


# Said by several features when a pair ends.
PAIR_ENDED_FOR_PARTNER = N_(
    "Your mentoring pair has come to an end. Matches are about fit, and this one wasn't quite "
    "right. Thank you for your time! You're back in the matching pool and we'll introduce you "
    "to a new partner soon."
)
PAIR_ENDED_FOR_REQUESTER = N_(
    "Your pair has ended as you asked. You're back in the matching pool and we'll introduce "
    "you to a new partner soon."
)
