"""Recognition rules: shout-outs, partner thanks awaiting approval, success stories.

Pure rules over storage (no Slack): who may be named publicly, the guarded state changes of a
thanks or a story, and the outbox kinds and keys of every recognition message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session

from bot.domain import validation
from bot.i18n import N_
from storage import repositories as repo
from storage.models import (
    Pair,
    PairStatus,
    Participant,
    Program,
    ShoutOut,
    ShoutOutKind,
    ShoutOutStatus,
    StoryStatus,
    SuccessStory,
    utcnow,
)

# Outbox kinds and keys ------------------------------------------------------------------------
SHOUTOUT_THANKS = "shoutout_thanks"
SHOUTOUT_REVIEW = "shoutout_review"
SHOUTOUT_DECIDED = "shoutout_decided"
MILESTONE = "milestone"
COMPLETED_ADMIN = "completed_admin"
CERTIFICATE = "certificate"
DIGEST = "digest"
STORY_PARTNER = "story_partner"
STORY_REVIEW = "story_review"
STORY_DECIDED = "story_decided"


def thanks_key(shoutout_id: int, user_id: str) -> str:
    """One thank-you per person per shout-out."""
    return f"{SHOUTOUT_THANKS}:{shoutout_id}:{user_id}"


def review_key(shoutout_id: int, admin_id: str) -> str:
    return f"{SHOUTOUT_REVIEW}:{shoutout_id}:{admin_id}"


def decided_key(shoutout_id: int) -> str:
    return f"{SHOUTOUT_DECIDED}:{shoutout_id}"


def milestone_key(pair_id: int, kind: str, participant_id: int) -> str:
    return f"{MILESTONE}:{pair_id}:{kind}:{participant_id}"


def completed_admin_key(pair_id: int, admin_id: str) -> str:
    return f"{COMPLETED_ADMIN}:{pair_id}:{admin_id}"


def certificate_key(certificate_id: int) -> str:
    return f"{CERTIFICATE}:{certificate_id}"


def digest_key(program_id: int, period: str) -> str:
    """One digest per programme and cycle, however often the job runs."""
    return f"{DIGEST}:{program_id}:{period}"


def story_partner_key(story_id: int) -> str:
    return f"{STORY_PARTNER}:{story_id}"


def story_review_key(story_id: int, admin_id: str) -> str:
    return f"{STORY_REVIEW}:{story_id}:{admin_id}"


def story_decided_key(story_id: int, participant_id: int) -> str:
    return f"{STORY_DECIDED}:{story_id}:{participant_id}"


# A shout-out's draft -------------------------------------------------------------------------

MAX_TEXT = 1500

NO_PEOPLE = N_("Mention the people to thank, e.g. `/mentoring shoutout @ana @binh Great work!`")
NO_TEXT = N_("Add a few words of thanks after the names.")
TEXT_TOO_LONG = N_("Please keep it under 1,500 characters.")
NO_PARTNER_MENTION = N_("Mention your partner, e.g. `/mentoring thanks @partner Thank you for…`")
ONLY_PARTNER = N_("You can only thank your own mentoring partner this way.")


@dataclass(frozen=True)
class Draft:
    user_ids: list[str]
    text: str
    error: str | None = None  # an English msgid when the draft cannot be used


def draft(user_ids: list[str], words: str) -> Draft:
    """A shout-out or thanks: the people mentioned (in order, once each) and the words, checked.

    Mentions are found by the listener (Slack's syntax is the edge's business)."""
    ids = list(dict.fromkeys(user_ids))
    text = re.sub(r"[ \t]+", " ", words).strip()
    if not ids:
        return Draft(ids, text, NO_PEOPLE)
    if not text:
        return Draft(ids, text, NO_TEXT)
    if len(text) > MAX_TEXT:
        return Draft(ids, text, TEXT_TOO_LONG)
    if (error := validation.text_error(text)) is not None:
        return Draft(ids, text, error)
    return Draft(ids, text)


class Person(Protocol):
    """What recognition needs to know of a workspace member (from Slack's directory)."""

    @property
    def deleted(self) -> bool: ...

    @property
    def is_bot(self) -> bool: ...


def cannot_be_thanked(user_ids: Iterable[str], lookup: Callable[[str], Person | None]) -> list[str]:
    """The mentioned people nobody can thank: unknown to the workspace, deactivated, or bots."""
    found = []
    for user_id in user_ids:
        person = lookup(user_id)
        if person is None or person.deleted or person.is_bot:
            found.append(user_id)
    return found


# Consent --------------------------------------------------------------------------------------


def consenting(session: Session, program: Program, user_ids: Iterable[str]) -> set[str]:
    """Who agreed (at enrollment) to be recognised publicly; anyone else is thanked privately."""
    found: set[str] = set()
    for user_id in user_ids:
        person = repo.participant_by_user(session, program.id or 0, user_id)
        if person is not None and person.shoutout_consent and person.left_at is None:
            found.add(user_id)
    return found


def channel_of(program: Program, default: str | None) -> str | None:
    """The programme's recognition channel, else the RECOGNITION_CHANNEL setting."""
    return program.community_channel or default


# Admin shout-outs and partner thanks ------------------------------------------------------


def record_shoutout(
    session: Session,
    program: Program,
    author: str,
    user_ids: list[str],
    text: str,
    *,
    channel: str | None,
    ts: str | None,
) -> ShoutOut:
    """An admin's shout-out, stored once it is in the channel (or given privately only)."""
    return repo.save(
        session,
        ShoutOut(
            program_id=program.id or 0,
            author_slack_id=author,
            recipient_slack_ids=user_ids,
            message=text,
            channel=channel,
            message_ts=ts,
            kind=ShoutOutKind.ADMIN,
            status=ShoutOutStatus.POSTED if ts else ShoutOutStatus.PRIVATE,
        ),
    )


def partner_pair(session: Session, author: Participant, partner_user_id: str) -> Pair | None:
    """The author's active pair with that person, if any."""
    for pair in repo.pairs_of(session, author.id or 0, [PairStatus.ACTIVE]):
        other_id = pair.mentee_id if pair.mentor_id == author.id else pair.mentor_id
        other = session.get(Participant, other_id)
        if other is not None and other.slack_user_id == partner_user_id:
            return pair
    return None


def propose_thanks(
    session: Session, program: Program, author: Participant, partner_user_id: str, text: str
) -> ShoutOut:
    return repo.save(
        session,
        ShoutOut(
            program_id=program.id or 0,
            author_slack_id=author.slack_user_id,
            recipient_slack_ids=[partner_user_id],
            message=text,
            kind=ShoutOutKind.THANKS,
            status=ShoutOutStatus.PROPOSED,
        ),
    )


def claim_thanks(session: Session, shoutout_id: int, admin_id: str) -> ShoutOut | None:
    """PROPOSED -> POSTING for the one admin whose click came first; None for anyone else."""
    row = session.get(ShoutOut, shoutout_id)
    if row is None or row.kind != ShoutOutKind.THANKS:
        return None
    claimed = repo.transition(
        session, row, ShoutOutStatus.PROPOSED, status=ShoutOutStatus.POSTING, decided_by=admin_id
    )
    return row if claimed else None


def release_thanks(session: Session, shoutout_id: int) -> None:
    """The channel post failed: the thanks waits for approval again."""
    row = session.get(ShoutOut, shoutout_id)
    if row is not None:
        repo.transition(
            session, row, ShoutOutStatus.POSTING, status=ShoutOutStatus.PROPOSED, decided_by=None
        )


def finish_thanks(
    session: Session, shoutout_id: int, channel: str | None, ts: str | None
) -> ShoutOut | None:
    row = session.get(ShoutOut, shoutout_id)
    if row is None:
        return None
    done = repo.transition(
        session,
        row,
        ShoutOutStatus.POSTING,
        status=ShoutOutStatus.POSTED if ts else ShoutOutStatus.PRIVATE,
        channel=channel,
        message_ts=ts,
        decided_at=utcnow(),
    )
    return row if done else None


def reject_thanks(session: Session, shoutout_id: int, admin_id: str) -> ShoutOut | None:
    row = session.get(ShoutOut, shoutout_id)
    if row is None or row.kind != ShoutOutKind.THANKS:
        return None
    done = repo.transition(
        session,
        row,
        ShoutOutStatus.PROPOSED,
        status=ShoutOutStatus.REJECTED,
        decided_by=admin_id,
        decided_at=utcnow(),
    )
    return row if done else None


# Success stories --------------------------------------------------------------------------

NOT_IN_PAIR = N_("Stories come from pairs: once you have a partner you can share yours.")
STORY_EMPTY = N_("Write a few sentences about what you achieved together.")


def story_error(text: str) -> str | None:
    if not text.strip():
        return STORY_EMPTY
    if len(text) > MAX_TEXT:
        return TEXT_TOO_LONG
    return validation.text_error(text)


def submit_story(session: Session, author: Participant, pair: Pair, text: str) -> SuccessStory:
    return repo.save(
        session,
        SuccessStory(
            program_id=pair.program_id, pair_id=pair.id or 0, author_id=author.id or 0, text=text
        ),
    )


def partner_of(session: Session, story: SuccessStory) -> Participant | None:
    pair = session.get(Pair, story.pair_id)
    if pair is None:
        return None
    return session.get(
        Participant, pair.mentee_id if pair.mentor_id == story.author_id else pair.mentor_id
    )


def partner_decides(
    session: Session, story_id: int, user_id: str, *, agree: bool
) -> SuccessStory | None:
    """The partner (and only the partner) agrees or declines, once."""
    story = session.get(SuccessStory, story_id)
    partner = partner_of(session, story) if story else None
    if story is None or partner is None or partner.slack_user_id != user_id:
        return None
    if agree:
        done = repo.transition(
            session,
            story,
            StoryStatus.AWAITING_PARTNER,
            status=StoryStatus.AWAITING_ADMIN,
            partner_agreed_at=utcnow(),
        )
    else:
        done = repo.transition(
            session, story, StoryStatus.AWAITING_PARTNER, status=StoryStatus.DECLINED
        )
    return story if done else None


def admin_decides(
    session: Session, story_id: int, admin_id: str, *, approve: bool
) -> SuccessStory | None:
    story = session.get(SuccessStory, story_id)
    if story is None:
        return None
    done = repo.transition(
        session,
        story,
        StoryStatus.AWAITING_ADMIN,
        status=StoryStatus.APPROVED if approve else StoryStatus.REJECTED,
        decided_by=admin_id,
        decided_at=utcnow(),
    )
    return story if done else None


def publish_story(session: Session, story_id: int, period: str) -> bool:
    """The digest of `period` sharing the approved story was posted: it is published (once;
    False when it was not approved any more, e.g. shared by an earlier digest or erased)."""
    story = session.get(SuccessStory, story_id)
    if story is None:
        return False
    return repo.transition(
        session,
        story,
        StoryStatus.APPROVED,
        status=StoryStatus.PUBLISHED,
        published_period=period,
    )
