"""Who can take part: people with a full account in the workspace.

Bots, Slackbot, app users, guests (single- and multi-channel) and deactivated accounts are
never invited or enrolled; a participant who becomes one of these leaves the programme
(bot.usecases.departure). Pure rules over what Slack says about the account.
"""

from __future__ import annotations

from typing import Final

from bot.i18n import N_, Translator
from bot.slack_api import SlackUser

SLACKBOT: Final = "USLACKBOT"

# Why an account cannot take part (stored as a departure's reason too).
BOT: Final = "bot"
APP_USER: Final = "app_user"
GUEST: Final = "guest"
DEACTIVATED: Final = "deactivated"

_REASONS: Final = {
    BOT: N_("This account is a bot, and only people can take part in mentoring."),
    APP_USER: N_("This account belongs to an app, and only people can take part in mentoring."),
    GUEST: N_(
        "Guest accounts can't take part in the mentoring programme: it is open to full members "
        "of the workspace."
    ),
    DEACTIVATED: N_("This account is deactivated, so it can't take part in mentoring."),
}


def ineligibility(user: SlackUser) -> str | None:
    """Why this account may not take part (BOT, APP_USER, GUEST, DEACTIVATED), or None."""
    if user.deleted:
        return DEACTIVATED
    if user.is_bot or user.id == SLACKBOT:
        return BOT
    if user.is_app_user:
        return APP_USER
    if user.is_guest:
        return GUEST
    return None


def ineligibility_of_member(member: dict[str, object]) -> str | None:
    """The same, read from a raw Slack user object (`users.list`, a `user_change` event)."""
    if member.get("deleted"):
        return DEACTIVATED
    if member.get("is_bot") or member.get("id") == SLACKBOT:
        return BOT
    if member.get("is_app_user"):
        return APP_USER
    if member.get("is_restricted") or member.get("is_ultra_restricted"):
        return GUEST
    return None


def explain(reason: str, _: Translator) -> str:
    """The refusal, in the reader's language."""
    return _(_REASONS.get(reason, _REASONS[DEACTIVATED]))
