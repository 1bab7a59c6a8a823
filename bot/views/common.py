"""Short replies shared by many handlers (ephemeral answers to the slash command)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from bot.i18n import N_, Translator
from bot.views import kit

EVERYONE, OWNERS, SUPER_ADMINS = 0, 1, 2  # who the help shows a command to

# (subcommand, description, who) in the order the help lists them.
COMMANDS: tuple[tuple[str, str, int], ...] = (
    ("join", N_("Join the programme: a short survey about what you offer and want"), EVERYONE),
    ("profile", N_("Edit your profile and expectations"), EVERYONE),
    ("rematch", N_("Privately ask for a different partner"), EVERYONE),
    ("goals", N_("Set your pair's goals"), EVERYONE),
    ("status", N_("Your pair, goals, meetings and next check-in"), EVERYONE),
    (
        "pause",
        N_("Pause check-ins until a date, e.g. `pause 2027-02-01` (`pause off` resumes)"),
        EVERYONE,
    ),
    ("thanks", N_("Thank your partner publicly (after an admin approves)"), EVERYONE),
    ("story", N_("Share your pair's success story in the monthly digest"), EVERYONE),
    ("mydata", N_("Get a copy of everything stored about you"), EVERYONE),
    ("leave", N_("Leave the programme (you can delete your data)"), EVERYONE),
    ("help", N_("Show this list"), EVERYONE),
    ("program", N_("Set up the programme: goals, dates, topics, cadence"), OWNERS),
    ("match", N_("Propose pairs, review and approve them"), OWNERS),
    (
        "hold",
        N_("Hold every message of the programme (`hold on`) or release them (`hold off`)"),
        OWNERS,
    ),
    ("shoutout", N_("Thank people in the recognition channel"), OWNERS),
    ("campaign", N_("Invite a segment of the HR roster to join, as mentors or mentees"), OWNERS),
    (
        "report",
        N_("The programme's report: figures, charts and the export"),
        OWNERS,
    ),
    ("report all", N_("Every programme's figures side by side"), SUPER_ADMINS),
    ("roster", N_("Import the HR roster (departments, managers, offices)"), SUPER_ADMINS),
    ("roster fields", N_("Map Slack profile fields to the roster"), SUPER_ADMINS),
    ("audit", N_("Read and export the audit log of admin actions"), SUPER_ADMINS),
)


def help_message(_: Translator, *, is_admin: bool, is_super_admin: bool = False) -> dict[str, Any]:
    # The most frequent reply, the same for everyone of a language and role: built once.
    reader = SUPER_ADMINS if is_super_admin else OWNERS if is_admin else EVERYONE
    return json.loads(_help_json(_, reader))


@lru_cache(maxsize=32)
def _help_json(_: Translator, reader: int) -> str:
    lines = [
        f"• `/mentoring {name}`: {_(description)}"
        for name, description, audience in COMMANDS
        if audience <= reader
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
