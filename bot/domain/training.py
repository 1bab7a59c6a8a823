"""The role-specific training pack sent at enrollment (content as translatable msgids)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_


@dataclass(frozen=True)
class TrainingSection:
    title: str
    points: tuple[str, ...]


@dataclass(frozen=True)
class TrainingPack:
    title: str
    intro: str
    sections: tuple[TrainingSection, ...]


_COMMUNICATION = TrainingSection(
    N_("Communication"),
    (
        N_("Agree on how you'll talk between meetings (chat, email) and how fast you reply."),
        N_("Use plain words, not jargon: explain the acronym, show the tool."),
        N_("Start each meeting with what happened since last time; end with one next step."),
    ),
)
_LISTENING = TrainingSection(
    N_("Active listening"),
    (
        N_("Listen to understand, not to answer: let silences happen."),
        N_("Summarise what you heard (“So what matters to you is…”) before you advise."),
        N_("Ask open questions: “What have you tried?”, “What would help most?”"),
    ),
)
_FEEDBACK = TrainingSection(
    N_("Giving and receiving feedback"),
    (
        N_("Be specific and kind: describe what you saw, its effect, and a suggestion."),
        N_("Ask for feedback on your sessions every month: what to keep, what to change."),
        N_("Take feedback as a gift: say thank you before you explain."),
    ),
)
_FIRST_MEETING = TrainingSection(
    N_("A good first meeting"),
    (
        N_("Get to know each other: career paths, what you enjoy, what you find hard."),
        N_("Share your goals and expectations from the survey and agree on 1 to 3 pair goals."),
        N_("Agree on rhythm and format, confidentiality, and when you'll meet next."),
    ),
)
_MENTOR_MINDSET = TrainingSection(
    N_("Your role as a mentor"),
    (
        N_("You bring fresh perspectives: your everyday use of technology is valuable."),
        N_("Teach by doing: set up the tool together rather than presenting slides."),
        N_("Be curious about your mentee's experience: the learning goes both ways."),
    ),
)
_LEADER_MINDSET = TrainingSection(
    N_("The reverse-mentoring mindset for leaders"),
    (
        N_("Feeling uneasy being coached by someone junior is normal, and it passes quickly."),
        N_("Leave hierarchy at the door: in these sessions your mentor is the expert."),
        N_("Make it safe: admit what you don't know, and protect your mentor's candour."),
        N_("Share your own experience in return: both sides learn."),
    ),
)

_PACKS = {
    "mentor": TrainingPack(
        N_("Your mentor training pack"),
        N_(
            "Thank you for sharing what you know! These short notes help you make every "
            "session count. Read them before your first meeting."
        ),
        (_MENTOR_MINDSET, _COMMUNICATION, _LISTENING, _FEEDBACK, _FIRST_MEETING),
    ),
    "mentee": TrainingPack(
        N_("Your mentee training pack"),
        N_(
            "Thank you for being open to learning from a younger colleague! These short notes "
            "help you get the most from your mentor. Read them before your first meeting."
        ),
        (_LEADER_MINDSET, _COMMUNICATION, _LISTENING, _FEEDBACK, _FIRST_MEETING),
    ),
}


def training_pack(role: str) -> TrainingPack:
    return _PACKS["mentor" if role == "mentor" else "mentee"]


FIRST_MEETING_AGENDA: tuple[str, ...] = (
    N_("Introductions: your paths, your roles, what you enjoy outside work (10 min)"),
    N_("Your goals and expectations from the survey (15 min)"),
    N_("Agree on 1 to 3 pair goals and how you'll measure them (15 min)"),
    N_("Rhythm, format and ground rules: confidentiality, honesty, no hierarchy (10 min)"),
    N_("Book the next meeting before you leave (5 min)"),
)
