"""Match review modal, the pair introduction, goals and re-match dialogs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks.block_elements import (
    DatePickerElement,
    PlainTextInputElement,
    StaticSelectElement,
)

from bot.domain import matching as engine
from bot.domain.pairing import MAX_PAIR_GOALS
from bot.domain.places import office_of
from bot.domain.training import FIRST_MEETING_AGENDA
from bot.i18n import N_, Translator, join_list
from bot.views import kit
from bot.views.labels import (
    FORMAT,
    FREQUENCY,
    WEEKDAY,
    duration_text,
    label,
    language_name,
    place_label,
    program_name,
    topic_names,
)
from storage.models import Goal, Pair, Participant, Program

REVIEW_CALLBACK_ID = "match_review"
PAGE_ACTION = "match_page"
REMOVE_ACTION = "match_remove"
RERUN_ACTION = "match_rerun"
GOALS_ACTION = "pair_set_goals"
GOALS_CALLBACK_ID = "pair_goals"
REMATCH_CALLBACK_ID = "rematch_request"
REMATCH_END_ACTION = "rematch_end"
REMATCH_KEEP_ACTION = "rematch_keep"
REVIEW_ACTION = "match_review_open"
PAGE_SIZE = 15
REMATCH_PAIR_BLOCK = "pair"
METADATA_LIMIT = 2900  # Slack allows 3,000 characters of private_metadata


def ids_digest(ids: Sequence[int]) -> str:
    return hashlib.sha256(",".join(str(i) for i in sorted(ids)).encode()).hexdigest()[:32]


def _ranges(ids: Sequence[int]) -> str:
    """1,2,3,5,7,8 -> "1-3,5,7-8": pairs of one run have mostly consecutive ids."""
    parts: list[str] = []
    ordered = sorted(set(ids))
    index = 0
    while index < len(ordered):
        end = index
        while end + 1 < len(ordered) and ordered[end + 1] == ordered[end] + 1:
            end += 1
        first, last = ordered[index], ordered[end]
        parts.append(str(first) if first == last else f"{first}-{last}")
        index = end + 1
    return ",".join(parts)


def review_metadata(run_id: int, page: int, pair_ids: Sequence[int]) -> str:
    """The run, the page, and every pair the review shows (all pages): exactly what the admin
    approves. When the ids do not fit, their digest (the handler compares it on approval)."""
    data: dict[str, Any] = {"run_id": run_id, "page": page, "pairs": _ranges(pair_ids)}
    text = json.dumps(data)
    if len(text) > METADATA_LIMIT:
        data = {"run_id": run_id, "page": page, "digest": ids_digest(pair_ids)}
        text = json.dumps(data)
    return text


def reviewed_pair_ids(metadata: dict[str, Any]) -> list[int] | None:
    """The pair ids the review carried; None when it carried only their digest (or nothing)."""
    raw = metadata.get("pairs")
    if not isinstance(raw, str):
        return None
    ids: list[int] = []
    try:
        for part in filter(None, raw.split(",")):
            first, _sep, last = part.partition("-")
            ids.extend(range(int(first), int(last or first) + 1))
    except ValueError:
        return None
    return ids


PAIR_REASONS = {
    "shared_topics": N_("both care about {topics}"),
    "secondary_topics": N_("{topics} is on the mentee's development list"),
    "mutual_learning": N_("the mentor can learn {topics} in return"),
    "overlap_hours": N_("{hours} h a week at the times both prefer"),
    "same_frequency": N_("same meeting rhythm ({frequency})"),
    "compatible_format": N_("meeting formats fit ({format})"),
    "shared_days": N_("both are free on {days}"),
    "different_departments": N_("different departments"),
    # Facts of every proposed pair: where, in which language and when they can meet.
    engine.SAME_PLACE: N_("both work in {place}, so they can meet in person"),
    engine.REMOTE_PAIR: N_("they meet by {formats}, from {mentor_place} and {mentee_place}"),
    engine.COMMON_LANGUAGE: N_("a language in common: {languages}"),
    engine.SHARED_HOURS: N_("{hours} h a week inside both working days, up to {longest} in a row"),
}
# What an admin should look at before approving (the review only).
RISK_REASONS = {
    engine.RISK_SHORT_OVERLAP: N_("at most {longest} in a row inside both working days"),
    engine.RISK_SECOND_LANGUAGE: N_("{language} is not the first language of {who}"),
}
# Topics first, then where, how and when they meet, then the rest.
_REASON_ORDER = {
    "shared_topics": 0,
    "secondary_topics": 1,
    "mutual_learning": 2,
    engine.SAME_PLACE: 3,
    engine.REMOTE_PAIR: 3,
    engine.COMMON_LANGUAGE: 4,
    engine.SHARED_HOURS: 5,
}
WAITING_REASONS = {
    "no_counterpart": N_("nobody has joined on the other side yet"),
    "no_mentor_offers": N_("no mentor offers {topics} yet"),
    "no_mentee_wants": N_("no mentee wants {topics} yet"),
    "all_candidates_excluded": N_(
        "every possible partner is excluded (reporting line, earlier pair or a request to "
        "avoid) or fully booked"
    ),
    "capacity_full": N_("suitable mentors are all taken in this round"),
    "removed_by_admin": N_("removed from the proposal by an admin"),
    engine.NO_COMMON_LANGUAGE: N_("nobody who shares a topic speaks a language in common"),
    engine.NO_MEETING_PLACE: N_(
        "nobody who shares a topic works in the same place or accepts the same remote format"
    ),
    engine.NO_SHARED_HOURS: N_(
        "nobody who shares a topic has an hour in common inside both working days on a "
        "shared weekday"
    ),
}
REMOTE_FORMATS = {
    ("video", "chat"): N_("video or chat"),
    ("video",): N_("video"),
    ("chat",): N_("chat"),
}


def _topic_names(program: Program, ids: list[str], _: Translator) -> str:
    names = topic_names(program, _)
    return join_list([kit.escape(names.get(i, i)) for i in ids], _)


ROLE_NAMES = {"mentor": N_("the mentor"), "mentee": N_("the mentee")}


def _place_name(place: object, _: Translator) -> str:
    return kit.escape(str(place)) if place else _("remote")


def reason_text(program: Program, code: str, params: dict[str, Any], _: Translator) -> str:
    template = PAIR_REASONS.get(code) or WAITING_REASONS.get(code) or RISK_REASONS.get(code)
    if template is None:
        return kit.escape(code)
    values: dict[str, Any] = {}
    if "place" in params:
        values["place"] = _place_name(params["place"], _)
    for side in ("mentor_place", "mentee_place"):
        if side in params:
            values[side] = _place_name(params[side], _)
    if "formats" in params:
        formats = REMOTE_FORMATS.get(tuple(params["formats"]))
        values["formats"] = _(formats) if formats else "—"
    if "languages" in params:
        values["languages"] = join_list([language_name(c) for c in params["languages"]], _)
    if "language" in params:
        values["language"] = language_name(str(params["language"]))
    if "longest_minutes" in params:
        values["longest"] = duration_text(int(params["longest_minutes"]), _)
    if "who" in params:
        values["who"] = join_list([label(ROLE_NAMES, w, _) for w in params["who"]], _)
    if "topics" in params:
        values["topics"] = _topic_names(program, list(params["topics"]), _)
    if "hours" in params:
        values["hours"] = params["hours"]
    if "frequency" in params:
        values["frequency"] = label(FREQUENCY, params["frequency"], _)
    if "format" in params:
        values["format"] = label(FORMAT, params["format"], _)
    if "days" in params:
        values["days"] = join_list([label(WEEKDAY, d, _) for d in params["days"]], _)
    return _(template, **values)


_FACTS = (engine.SAME_PLACE, engine.REMOTE_PAIR, engine.COMMON_LANGUAGE, engine.SHARED_HOURS)


def reasons_text(
    program: Program, reasons: list[dict[str, Any]], _: Translator, *, facts: bool = True
) -> str:
    """Why a pair was matched (the risks an admin reviews are left out); `facts`: with where,
    in which language and when they can meet."""
    hidden = set(RISK_REASONS) | (set() if facts else set(_FACTS))
    shown = [r for r in reasons if r.get("code") not in hidden]
    working = next(
        (r["params"].get("hours") for r in reasons if r.get("code") == engine.SHARED_HOURS), None
    )
    # Preferred hours equal to the working hours in common would say the same thing twice.
    shown = [
        r
        for r in shown
        if not (
            r.get("code") == "overlap_hours" and (r.get("params") or {}).get("hours") == working
        )
    ]
    shown.sort(key=lambda r: _REASON_ORDER.get(r.get("code", ""), 9))
    parts = [reason_text(program, r["code"], r.get("params") or {}, _) for r in shown]
    return "; ".join(parts)


def risks(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The risks flagged on a proposed pair."""
    return [r for r in reasons if r.get("code") in RISK_REASONS]


def _meeting_line(
    program: Program,
    pair: Pair,
    mentor: Participant | None,
    mentee: Participant | None,
    _: Translator,
) -> str:
    """Where each works, their common language and their shared hours, at a glance."""
    facts = {r.get("code"): r.get("params") or {} for r in pair.reasons}
    places = " ↔ ".join(
        place_label(office_of(person, program), _) if person else "?" for person in (mentor, mentee)
    )
    if engine.SAME_PLACE in facts:
        places += " (" + _("in person possible") + ")"
    elif engine.REMOTE_PAIR in facts:
        formats = REMOTE_FORMATS.get(tuple(facts[engine.REMOTE_PAIR].get("formats") or ()))
        if formats:
            places += f" ({_(formats)})"
    parts = ["📍 " + places]
    if engine.COMMON_LANGUAGE in facts:
        names = [language_name(c) for c in facts[engine.COMMON_LANGUAGE].get("languages") or []]
        parts.append("🗣 " + ", ".join(names))
    if engine.SHARED_HOURS in facts:
        hours = facts[engine.SHARED_HOURS]
        parts.append(
            "🕐 "
            + _(
                "{hours} h a week in common, up to {longest} in a row",
                hours=hours.get("hours", 0),
                longest=duration_text(int(hours.get("longest_minutes", 0)), _),
            )
        )
    return " · ".join(parts)


def _risk_text(
    program: Program,
    risk: dict[str, Any],
    mentor: Participant | None,
    mentee: Participant | None,
    _: Translator,
) -> str:
    code, params = str(risk.get("code")), dict(risk.get("params") or {})
    if code == engine.RISK_SECOND_LANGUAGE:  # name the people, not their roles
        names = {"mentor": _name(mentor), "mentee": _name(mentee)}
        return _(
            RISK_REASONS[code],
            language=language_name(str(params.get("language", ""))),
            who=join_list([names.get(role, "?") for role in params.get("who") or []], _),
        )
    return reason_text(program, code, params, _)


def _name(person: Participant | None) -> str:
    if person is None:
        return "?"
    if person.display_name:
        return kit.escape(person.display_name)
    return f"<@{person.slack_user_id}>"


def loading_modal(_: Translator, external_id: str | None = None) -> dict[str, Any]:
    """`external_id` lets the review replace it even when views.open's answer was lost."""
    return kit.modal(
        title=_("Matching"),
        close=_("Close"),
        callback_id=REVIEW_CALLBACK_ID,
        external_id=external_id,
        blocks=[kit.section("⏳ " + _("Computing the best pairs for the whole pool…"))],
    )


def review_modal(
    program: Program,
    run_id: int,
    pairs: list[Pair],
    waiting: list[dict[str, Any]],
    people: dict[int, Participant],
    _: Translator,
    *,
    page: int = 0,
) -> dict[str, Any]:
    pages = max(1, -(-len(pairs) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    total = sum(pair.score for pair in pairs)
    summary = _(
        "*Proposed pairs: {pairs}* (total score {score}) · *Waiting list: {waiting}*\n"
        "Nobody is told anything until you approve.",
        pairs=len(pairs),
        score=total,
        waiting=len(waiting),
    )
    flagged = sum(1 for pair in pairs if risks(pair.reasons))
    if flagged:
        summary += "\n⚠️ " + _(
            "Flagged for a closer look before you approve: {count} (little time in common, or "
            "a language that is not the first one of both).",
            count=flagged,
        )
    blocks: list[Any] = [kit.section(summary)]
    for pair in pairs[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]:
        mentor, mentee = people.get(pair.mentor_id), people.get(pair.mentee_id)
        text = _(
            "*{mentor}* (mentor) ↔ *{mentee}* (mentee) · score {score}",
            mentor=_name(mentor),
            mentee=_name(mentee),
            score=pair.score,
        )
        text += "\n" + _meeting_line(program, pair, mentor, mentee, _)
        for risk in risks(pair.reasons):
            text += "\n⚠️ " + _risk_text(program, risk, mentor, mentee, _)
        blocks.append(
            kit.section(
                kit.clip(text, 3000),
                accessory=kit.button(_("Remove"), REMOVE_ACTION, str(pair.id)),
            )
        )
        blocks.append(kit.context(reasons_text(program, pair.reasons, _, facts=False) or "—"))
    if pages > 1:
        navigation = []
        if page > 0:
            navigation.append(kit.button(_("Previous"), PAGE_ACTION + "_prev", str(page - 1)))
        if page < pages - 1:
            navigation.append(kit.button(_("Next"), PAGE_ACTION + "_next", str(page + 1)))
        blocks.append(kit.context(_("Page {page} of {pages}", page=page + 1, pages=pages)))
        blocks.append(kit.actions(*navigation, block_id="pages"))
    if waiting:
        lines = []
        for item in waiting:
            person = people.get(int(item["participant_id"]))
            reason = item.get("reason") or {}
            lines.append(
                f"• {_name(person)}: "
                + reason_text(program, reason.get("code", ""), reason.get("params") or {}, _)
            )
        text = "*" + _("Waiting list") + "*\n"
        shown: list[str] = []
        for line in lines:
            if len(text) + sum(len(s) + 1 for s in shown) + len(line) > 2800:
                break
            shown.append(line)
        more = len(lines) - len(shown)
        blocks.append(
            kit.section(
                text
                + "\n".join(shown)
                + ("\n" + _("…and {count} more", count=more) if more else "")
            )
        )
    blocks.append(kit.actions(kit.button(_("Re-run matching"), RERUN_ACTION), block_id="rerun"))
    view = kit.modal(
        title=_("Review matches"),
        submit=_("Approve all") if pairs else None,
        close=_("Close"),
        callback_id=REVIEW_CALLBACK_ID,
        private_metadata=review_metadata(run_id, page, [pair.id or 0 for pair in pairs]),
        blocks=blocks,
    )
    # Closing the review drops the proposal, so newcomers waiting behind it can be proposed.
    view["notify_on_close"] = True
    return view


def approved_modal(count: int, _: Translator, *, discarded: int = 0) -> dict[str, Any]:
    text = _(
        "Pairs approved: {count}. Each pair now gets a warm introduction in a group message.",
        count=count,
    )
    if discarded:
        text += "\n" + _(
            "{count} proposed pairs you had not reviewed (from a later re-run) were discarded; "
            "run `/mentoring match` again to review them.",
            count=discarded,
        )
    return kit.notice_modal(
        title=_("Matches approved"),
        text="✅ " + text,
        close=_("Done"),
        callback_id=REVIEW_CALLBACK_ID + "_done",
    )


def already_approved_modal(_: Translator) -> dict[str, Any]:
    return kit.notice_modal(
        title=_("Matching"),
        text=_("This proposal was already approved or closed. Nothing more was sent."),
        close=_("Close"),
        callback_id=REVIEW_CALLBACK_ID + "_done",
    )


def failed_modal(_: Translator) -> dict[str, Any]:
    return kit.notice_modal(
        title=_("Matching"),
        text=_("Something went wrong on our side and nothing was changed. Please try again."),
        close=_("Close"),
        callback_id=REVIEW_CALLBACK_ID + "_failed",
    )


def _person_block(program: Program, person: Participant, role: str, _: Translator) -> str:
    lines = [f"*<@{person.slack_user_id}>* ({role})"]
    if person.role == "mentor" and person.topics_offered:
        lines.append(
            _("Can teach: {topics}", topics=_topic_names(program, person.topics_offered, _))
        )
    if person.topics_wanted:
        lines.append(
            _("Wants to learn: {topics}", topics=_topic_names(program, person.topics_wanted, _))
        )
    if person.personal_goals:
        lines.append(_("Goals: {goals}", goals=kit.escape(kit.clip(person.personal_goals, 500))))
    expectations = []
    if person.meeting_frequency:
        expectations.append(label(FREQUENCY, person.meeting_frequency, _))
    if person.meeting_format:
        expectations.append(label(FORMAT, person.meeting_format, _))
    if person.success_definition:
        expectations.append(kit.escape(kit.clip(person.success_definition, 400)))
    if expectations:
        lines.append(_("Expectations: {items}", items=" · ".join(expectations)))
    return "\n".join(lines)


def intro_blocks(
    program: Program, pair: Pair, mentor: Participant, mentee: Participant, _: Translator
) -> list[Any]:
    agenda = "\n".join(f"{i}. {_(item)}" for i, item in enumerate(FIRST_MEETING_AGENDA, 1))
    return [
        kit.header(_(MEET_PARTNER)),
        kit.section(
            _(
                "<@{mentor}>, meet <@{mentee}>: you're a pair in *{program}*. "
                "Why we matched you: {reasons}.",
                mentor=mentor.slack_user_id,
                mentee=mentee.slack_user_id,
                program=kit.escape(program_name(program, _)),
                reasons=reasons_text(program, pair.reasons, _),
            )
        ),
        kit.section(_person_block(program, mentor, _("mentor"), _)),
        kit.section(_person_block(program, mentee, _("mentee"), _)),
        kit.section("*" + _("Suggested first-meeting agenda") + "*\n" + agenda),
    ]


SET_GOALS = N_("Set our goals")
MEET_PARTNER = N_("Meet your mentoring partner!")


def intro_message(
    program: Program,
    pair: Pair,
    mentor: Participant,
    mentee: Participant,
    translators: list[Translator],
) -> dict[str, Any]:
    """In the language both read, or in both languages when they differ."""
    blocks: list[Any] = []
    for index, _ in enumerate(translators):
        if index:
            blocks.append(kit.divider())
        blocks.extend(intro_blocks(program, pair, mentor, mentee, _))
    goals_label = " / ".join(dict.fromkeys(t(SET_GOALS) for t in translators))
    blocks.append(
        kit.actions(
            kit.button(goals_label, GOALS_ACTION, str(pair.id), style="primary"),
            block_id="pair_actions",
        )
    )
    text = " / ".join(dict.fromkeys(t(MEET_PARTNER) for t in translators))
    return kit.message(text, blocks)


def goals_modal(pair_id: int, _: Translator, goals: Sequence[Goal] = ()) -> dict[str, Any]:
    """`goals`: the pair's current goals, shown so a submit replaces them without retyping."""
    blocks: list[Any] = [
        kit.section(_("Agree on 1 to 3 goals for your pair, and how you'll know you got there."))
    ]
    for index in range(1, MAX_PAIR_GOALS + 1):
        goal = goals[index - 1] if index <= len(goals) else None
        # Slack requires the first goal; later ones are checked by the app only when titled.
        blocks.append(
            kit.input_block(
                f"goal_{index}",
                _("Goal {number}", number=index),
                PlainTextInputElement(
                    initial_value=goal.title[:300] if goal else None, max_length=300
                ),
                optional=index > 1,
            )
        )
        blocks.append(
            kit.input_block(
                f"measure_{index}",
                _("How we'll measure it"),
                PlainTextInputElement(
                    initial_value=(goal.measure or None) if goal else None, max_length=500
                ),
                optional=index > 1,
            )
        )
        target = goal.target_date if goal else None
        blocks.append(
            kit.input_block(
                f"target_{index}",
                _("Target date"),
                DatePickerElement(initial_date=target.isoformat() if target else None),
                optional=index > 1,
            )
        )
    return kit.modal(
        title=_("Our pair goals"),
        submit=_("Save"),
        close=_("Cancel"),
        callback_id=GOALS_CALLBACK_ID,
        private_metadata=json.dumps({"pair_id": pair_id}),
        blocks=blocks,
    )


def goals_saved_message(
    titles: list[str], user_id: str, translators: Sequence[Translator]
) -> dict[str, Any]:
    """To the pair's conversation: in the language both read, or in both when they differ."""
    bullets = "\n".join(f"• {kit.escape(kit.clip(title, 300))}" for title in titles)
    texts = list(
        dict.fromkeys(_("<@{user}> set your pair goals:", user=user_id) for _ in translators)
    )
    blocks: list[Any] = []
    for index, text in enumerate(texts):
        if index:
            blocks.append(kit.divider())
        blocks.append(kit.section(text + "\n" + bullets))
    return kit.message(" / ".join(texts), blocks)


def rematch_modal(
    _: Translator,
    choices: Sequence[tuple[int, str]] = (),
    reason: str = "",
    program_id: int | None = None,
) -> dict[str, Any]:
    """`choices`: (pair id, partner's name) when the person has several pairs: they pick one."""
    blocks: list[Any] = [
        kit.section(
            _(
                "Not every match works, and that's fine. Only the programme team sees this "
                "request; your partner is told only if the pair actually ends."
            )
        )
    ]
    if len(choices) > 1:
        blocks.append(
            kit.input_block(
                REMATCH_PAIR_BLOCK,
                _("Which pair?"),
                StaticSelectElement(
                    placeholder=kit.plain(_("Pick your partner"), 150),
                    options=[
                        kit.option(kit.clip(name, 75) or "?", str(pair_id))
                        for pair_id, name in choices[:100]
                    ],
                ),
            )
        )
    blocks.append(
        kit.input_block(
            "reason",
            _("What isn't working?"),
            PlainTextInputElement(
                multiline=True, max_length=1000, initial_value=reason[:1000] or None
            ),
            optional=True,
        )
    )
    return kit.modal(
        title=_("Ask for a new match"),
        submit=_("Send privately"),
        close=_("Cancel"),
        callback_id=REMATCH_CALLBACK_ID,
        private_metadata=json.dumps({"program_id": program_id}),
        blocks=blocks,
    )


def rematch_admin_message(
    request_id: int,
    requester: Participant,
    partner: Participant,
    reason: str | None,
    _: Translator,
) -> dict[str, Any]:
    text = _(
        "<@{requester}> privately asks for a new match (currently paired with <@{partner}>).",
        requester=requester.slack_user_id,
        partner=partner.slack_user_id,
    )
    blocks: list[Any] = [kit.section("🔁 " + text)]
    if reason:
        # Every line quoted: a newline must not end the quote and look like our own text.
        lines = kit.clip(reason, 1000).splitlines()
        blocks.append(kit.section("\n".join("> " + kit.escape(line) for line in lines)))
    blocks.append(
        kit.actions(
            kit.button(
                _("End pair and re-match"), REMATCH_END_ACTION, str(request_id), style="danger"
            ),
            kit.button(_("Keep the pair"), REMATCH_KEEP_ACTION, str(request_id)),
            block_id="rematch_actions",
        )
    )
    return kit.message(text, blocks)


def rematch_resolved_message(text: str) -> dict[str, Any]:
    return kit.message(text, [kit.section(text)])
