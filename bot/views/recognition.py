"""Block Kit for recognition: shout-outs, thanks for approval, milestones, certificates, the
monthly digest and success stories. Pure functions; every text a person typed is escaped."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks.block_elements import PlainTextInputElement

from bot.domain import milestones as ms
from bot.domain.digest import Digest
from bot.i18n import N_, Translator, join_list
from bot.views import kit
from bot.views.labels import program_name

THANKS_APPROVE_ACTION = "shoutout_approve"
THANKS_REJECT_ACTION = "shoutout_reject"
STORY_CALLBACK_ID = "story_submit"
STORY_AGREE_ACTION = "story_agree"
STORY_DECLINE_ACTION = "story_decline"
STORY_APPROVE_ACTION = "story_approve"
STORY_REJECT_ACTION = "story_reject"

MILESTONE_TEXTS = {
    ms.FIRST_MEETING: N_("You held your first mentoring meeting. A great start!"),
    ms.THIRD_MEETING: N_("Three meetings done: your pair is finding its rhythm."),
    ms.GOAL_ACHIEVED: N_("You achieved a goal: {goal}. Congratulations!"),
    ms.COMPLETED: N_("You completed the programme together. Thank you for learning together!"),
}
MILESTONE_LINES = {
    ms.FIRST_MEETING: N_("{people} held their first meeting"),
    ms.THIRD_MEETING: N_("{people} held their third meeting"),
    ms.GOAL_ACHIEVED: N_("{people} achieved a goal"),
    ms.COMPLETED: N_("{people} completed the programme"),
}


def mentions(user_ids: list[str]) -> list[str]:
    return [f"<@{user_id}>" for user_id in user_ids]


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in kit.escape(text).splitlines() or [""])


# Shout-outs ------------------------------------------------------------------------------


def channel_shoutout(
    user_ids: list[str], text: str, author_id: str, _: Translator, *, thanks: bool = False
) -> dict[str, Any]:
    """The post in the recognition channel, naming the people who consented."""
    people = join_list(mentions(user_ids), _)
    title = _("A thank-you from a mentoring partner") if thanks else _("Shout-out")
    blocks = [
        kit.header("🎉 " + title),
        kit.section(f"{people}\n{_quote(text)}"),
        kit.context(_("From <@{author}> · Reverse mentoring", author=author_id)),
    ]
    return kit.message(
        _("Shout-out for {people}: {text}", people=people, text=kit.escape(text)), blocks
    )


def thanks_dm(text: str, channel: str | None, _: Translator) -> dict[str, Any]:
    """The thank-you DM to one person: public (in `channel`) or private (no channel)."""
    if channel:
        intro = _("You received a shout-out in <#{channel}>. Thank you!", channel=channel)
    else:
        intro = _("You received a thank-you from the mentoring programme:")
    return kit.message(intro, [kit.section(f"{intro}\n{_quote(text)}")])


def shoutout_done(
    channel: str | None, public: list[str], private: list[str], _: Translator
) -> dict[str, Any]:
    """The admin's ephemeral answer: where it went, who was thanked privately and why."""
    lines = []
    if channel and public:
        lines.append(
            _(
                "Posted in <#{channel}> for {people}.",
                channel=channel,
                people=join_list(mentions(public), _),
            )
        )
    if private:
        lines.append(
            _(
                "{people} did not agree to public recognition, so they were thanked privately "
                "by direct message.",
                people=join_list(mentions(private), _),
            )
        )
    return kit.message("\n".join(lines))


def unknown_people(user_ids: list[str], _: Translator) -> dict[str, Any]:
    return kit.message(
        _(
            "I can't find {people} in this workspace. Mention people with @ and pick them from "
            "Slack's list. Nothing was posted.",
            people=join_list(mentions(user_ids), _),
        )
    )


def no_channel(_: Translator) -> dict[str, Any]:
    return kit.message(
        _(
            "There is no recognition channel yet. Pick one in `/mentoring program` "
            "(or set RECOGNITION_CHANNEL). Nothing was posted."
        )
    )


def channel_problem(channel: str, error: str, _: Translator) -> dict[str, Any]:
    """What to do when the channel post failed; nothing else was sent."""
    where = channel if channel.startswith("#") else f"<#{channel}>"
    if error == "not_in_channel":
        text = _(
            "I'm not a member of {channel}. Invite the app there (type `/invite @Reverse "
            "Mentoring` in the channel) and try again. Nothing was posted.",
            channel=where,
        )
    elif error == "is_archived":
        text = _(
            "{channel} is archived. Pick another channel in `/mentoring program`. "
            "Nothing was posted.",
            channel=where,
        )
    elif error == "channel_not_found":
        text = _(
            "I can't find the channel {channel}. Pick an existing channel in "
            "`/mentoring program` and invite the app to it. Nothing was posted.",
            channel=where,
        )
    else:
        text = _("Slack didn't accept the post, so nothing was posted. Please try again.")
    return kit.message(text)


def error(message: str, _: Translator) -> dict[str, Any]:
    return kit.message(_(message))


def thanks_sent(_: Translator) -> dict[str, Any]:
    return kit.message(
        _("Thank you! Your message goes to the programme team; it's shared once they approve it.")
    )


def thanks_review(
    shoutout_id: int, author_id: str, partner_id: str, text: str, _: Translator
) -> dict[str, Any]:
    """To each admin: a partner's thanks, with one-click approval."""
    intro = _(
        "<@{author}> would like to thank their partner <@{partner}> publicly:",
        author=author_id,
        partner=partner_id,
    )
    value = str(shoutout_id)
    return kit.message(
        _("A thank-you is waiting for your approval"),
        [
            kit.section(f"{intro}\n{_quote(text)}"),
            kit.actions(
                kit.button(_("Approve and post"), THANKS_APPROVE_ACTION, value, style="primary"),
                kit.button(_("Reject"), THANKS_REJECT_ACTION, value, style="danger"),
            ),
        ],
    )


def decided(text: str) -> dict[str, Any]:
    """Replaces a message whose buttons were used."""
    return kit.message(text, [kit.section(text)])


def thanks_rejected_for_author(_: Translator) -> dict[str, Any]:
    return kit.message(
        _(
            "The programme team decided not to post your thank-you publicly this time. "
            "Why not tell your partner directly?"
        )
    )


def thanks_posted_for_author(channel: str | None, _: Translator) -> dict[str, Any]:
    if channel:
        return kit.message(_("Your thank-you was posted in <#{channel}>.", channel=channel))
    return kit.message(
        _("Your partner prefers no public recognition, so we passed your thanks on privately.")
    )


# Milestones and certificates ----------------------------------------------------------------


def milestone_dm(kind: str, goal: str | None, _: Translator) -> dict[str, Any]:
    text = (
        _(MILESTONE_TEXTS[kind], goal=kit.escape(goal or ""))
        if kind == ms.GOAL_ACHIEVED
        else _(MILESTONE_TEXTS[kind])
    )
    return kit.message(text, [kit.section("🏅 " + text)])


def completed_for_admins(mentor_id: str, mentee_id: str, _: Translator) -> dict[str, Any]:
    return kit.message(
        _(
            "<@{mentor}> and <@{mentee}> completed the programme. Their certificates are on "
            "the way.",
            mentor=mentor_id,
            mentee=mentee_id,
        )
    )


def certificate_dm(_: Translator) -> dict[str, Any]:
    return kit.message(_("Here is your certificate of participation. Well done!"))


# The monthly digest ---------------------------------------------------------------------------


MAX_DIGEST_MILESTONES = 15
MAX_DIGEST_SHOUTOUTS = 10


def _more(left_out: int, _: Translator) -> list[str]:
    """The line that says a list was cut short, and by how much."""
    return [_("… and {n} more", n=left_out)] if left_out > 0 else []


def digest_message(digest: Digest, _: Translator) -> dict[str, Any]:
    month = _.month(digest.period.first_day)
    title = _("Reverse mentoring in {month}", month=month)
    figures = [
        "*" + _("Meetings held") + f"*\n{_.number(digest.meetings)}",
        "*" + _("Goals achieved") + f"*\n{_.number(digest.goals_achieved)}",
        "*" + _("Milestones") + f"*\n{_.number(digest.milestones)}",
        "*" + _("Shout-outs") + f"*\n{_.number(len(digest.shoutouts))}",
    ]
    blocks: list[Any] = [
        kit.header("🌱 " + title),
        kit.section(kit.escape(program_name(digest.program, _))),
        kit.fields(figures),
    ]
    if digest.shared_milestones:
        lines = [
            "• " + _(MILESTONE_LINES[line.kind], people=join_list(mentions(list(line.names)), _))
            for line in digest.shared_milestones[:MAX_DIGEST_MILESTONES]
        ]
        lines += _more(len(digest.shared_milestones) - MAX_DIGEST_MILESTONES, _)
        blocks.append(kit.section("*" + _("Milestones") + "*\n" + "\n".join(lines)))
    if digest.shoutouts:
        lines = [
            "• "
            + join_list(mentions(s.recipient_slack_ids), _)
            + ": "
            + kit.escape(kit.clip(s.message, 200))
            for s in digest.shoutouts[:MAX_DIGEST_SHOUTOUTS]
        ]
        lines += _more(len(digest.shoutouts) - MAX_DIGEST_SHOUTOUTS, _)
        blocks.append(kit.section("*" + _("Shout-outs of the month") + "*\n" + "\n".join(lines)))
    if digest.story is not None and digest.story_names is not None:
        people = join_list(mentions(list(digest.story_names)), _)
        blocks.append(
            kit.section(
                "*"
                + _("Success story from {people}", people=people)
                + "*\n"
                + _quote(digest.story.text)
            )
        )
    blocks.append(kit.divider())
    blocks.append(kit.context(_("Want to learn with a colleague? Join with `/mentoring join`.")))
    text = _(
        "{title}: {meetings} meetings held, {goals} goals achieved",
        title=title,
        meetings=_.number(digest.meetings),
        goals=_.number(digest.goals_achieved),
    )
    return kit.message(text, blocks)


# Success stories -----------------------------------------------------------------------------


def story_modal(_: Translator, program_id: int | None = None) -> dict[str, Any]:
    return kit.modal(
        title=_("Share your story"),
        submit=_("Send"),
        close=_("Cancel"),
        callback_id=STORY_CALLBACK_ID,
        private_metadata=json.dumps({"program_id": program_id}),
        blocks=[
            kit.section(
                _(
                    "What did you achieve or learn together? Your partner is asked to agree and "
                    "the programme team approves it before it's shared in the monthly digest."
                )
            ),
            kit.input_block(
                "story",
                _("Your story"),
                PlainTextInputElement(multiline=True, max_length=1500),
            ),
        ],
    )


def story_for_partner(story_id: int, author_id: str, text: str, _: Translator) -> dict[str, Any]:
    intro = _(
        "<@{author}> wrote a success story about your pair and would like to share it in the "
        "monthly digest. Do you agree?",
        author=author_id,
    )
    value = str(story_id)
    return kit.message(
        _("Your partner would like to share your story"),
        [
            kit.section(f"{intro}\n{_quote(text)}"),
            kit.actions(
                kit.button(_("I agree"), STORY_AGREE_ACTION, value, style="primary"),
                kit.button(_("Not this one"), STORY_DECLINE_ACTION, value),
            ),
        ],
    )


def story_for_admins(
    story_id: int, names: tuple[str, str], text: str, _: Translator
) -> dict[str, Any]:
    intro = _(
        "{people} would like to share their success story in the digest:",
        people=join_list(mentions(list(names)), _),
    )
    value = str(story_id)
    return kit.message(
        _("A success story is waiting for your approval"),
        [
            kit.section(f"{intro}\n{_quote(text)}"),
            kit.actions(
                kit.button(_("Approve"), STORY_APPROVE_ACTION, value, style="primary"),
                kit.button(_("Reject"), STORY_REJECT_ACTION, value, style="danger"),
            ),
        ],
    )


def story_outcome(approved: bool, _: Translator) -> dict[str, Any]:
    if approved:
        return kit.message(_("Your success story was approved and will appear in the next digest."))
    return kit.message(_("Your success story won't be shared this time. Thank you for writing it!"))


def story_declined(_: Translator) -> dict[str, Any]:
    return kit.message(_("Your partner preferred not to share this story, so it stays private."))


def metadata(**values: Any) -> str:
    return json.dumps(values)
