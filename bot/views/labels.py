"""Translatable labels for the stored option values, and the programme's own texts in the
reader's language."""

from __future__ import annotations

from typing import Any

from bot.domain.places import MEETING_LANGUAGES, Place
from bot.domain.programs import all_topics, localized_goal, localized_name, localized_topic
from bot.i18n import N_, Translator
from bot.views import kit
from storage.models import Program

ROLE = {
    "mentor": N_("Mentor"),
    "mentee": N_("Mentee"),
}
ROLE_EXPLAINED = {
    "mentor": N_("You share fresh perspectives on technology and new ways of working."),
    "mentee": N_("You are a leader who wants to learn from a younger colleague."),
}
SENIORITY = {
    "early_career": N_("Early career"),
    "professional": N_("Professional"),
    "senior": N_("Senior professional"),
    "manager": N_("Manager"),
    "executive": N_("Executive"),
}
FREQUENCY = {
    "weekly": N_("Weekly"),
    "biweekly": N_("Every two weeks"),
    "monthly": N_("Monthly"),
    "quarterly": N_("Quarterly"),
    "off": N_("Off"),
}
FORMAT = {
    "in_person": N_("In person"),
    "video": N_("Video call"),
    "chat": N_("Chat"),
    "any": N_("Any format"),
}
WEEKDAY = {
    "mon": N_("Monday"),
    "tue": N_("Tuesday"),
    "wed": N_("Wednesday"),
    "thu": N_("Thursday"),
    "fri": N_("Friday"),
}
TIME_OF_DAY = {
    "morning": N_("Mornings"),
    "afternoon": N_("Afternoons"),
    "any": N_("Any time"),
}
# A programme's stage (Program.status), as its owners read it on Home.
PROGRAMME_STAGE = {
    "draft": N_("Draft: only its owners see it"),
    "enrolling": N_("Enrolling"),
    "running": N_("Running"),
    "ended": N_("Ended"),
    "archived": N_("Archived"),
}

STATUS = {
    "waiting": N_("Enrolled, waiting for a match"),
    "paired": N_("Paired"),
    "left": N_("Left the programme"),
}


def label(mapping: dict[str, str], value: str | None, _: Translator) -> str:
    if value is None:
        return "—"
    # Labels are shown in mrkdwn; a value we have no label for is shown as stored, inert.
    return _(mapping[value]) if value in mapping else kit.escape(value)


# The admin's texts: their version in the reader's language, else the original (a default goal
# or topic is a msgid, translated by the catalogs; an admin's own text passes through). Plain
# text: callers escape it for mrkdwn.


def program_name(program: Program, _: Translator) -> str:
    return localized_name(program, _.locale) or program.name


def program_goals(program: Program, _: Translator) -> list[str]:
    return [
        localized_goal(program, index, _.locale) or _(goal)
        for index, goal in enumerate(program.goals)
    ]


def topic_name(program: Program, topic: dict[str, Any], _: Translator) -> str:
    """`topic`: a catalogue entry ({"id", "label"}), growth areas included."""
    return localized_topic(program, str(topic["id"]), _.locale) or _(str(topic["label"]))


def topic_names(program: Program, _: Translator) -> dict[str, str]:
    """Every topic id anyone may hold (archived ones keep their name) -> its name."""
    return {str(topic["id"]): topic_name(program, topic, _) for topic in all_topics(program)}


def place_label(place: Place, _: Translator) -> str:
    """Where someone works, for people to read."""
    if place.source == "remote":
        return _("Remote")
    if place.name is None:
        return _("not given")
    if place.source == "timezone":
        return _("{city} (time zone)", city=kit.escape(place.name))
    return kit.escape(place.name)


def language_name(code: str) -> str:
    """A language named in itself ("Deutsch"), or its code when we have no name for it."""
    return MEETING_LANGUAGES.get(code) or kit.escape(code)


def duration_text(minutes: int, _: Translator) -> str:
    """90 -> "1 h 30 min"."""
    hours, rest = divmod(int(minutes), 60)
    if not rest:
        return _("{hours} h", hours=hours)
    if not hours:
        return _("{minutes} min", minutes=rest)
    return _("{hours} h {minutes} min", hours=hours, minutes=rest)
