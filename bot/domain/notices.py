"""Every kind of message the app owes people, declared once: the catalogue of the delivery layer.

For each kind: what its dedupe key names (queuing the same key twice sends once: a retried
transaction, a double click, two replicas), when it may arrive (its quiet-hours rule: inside
the recipient's working hours on a weekday, or at once), why it may no longer be worth sending
when it is about to leave (it is then cancelled with that reason, not sent), what to record
once it is sent, and for a certificate how to make its file.

Messages that answer someone's action (a confirmation, an introduction after an admin's
approval, a notice to the admins) go at once; messages the schedule starts (check-ins, nudges,
surveys, milestones) wait for the recipient's working day.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.clock import utcnow
from bot.delivery.kinds import MessageKind, OutgoingFile, StaleCheck, catalogue
from bot.domain import certificates, pairing, programs, recognition
from bot.domain.working_hours import next_good_time, working_hours
from bot.i18n import translator
from storage.models import (
    LIVE_STATUSES,
    Campaign,
    CampaignInvite,
    CampaignStatus,
    Certificate,
    CertificateStatus,
    CycleStatus,
    InviteStatus,
    OutboxMessage,
    Pair,
    PairStatus,
    Participant,
    ParticipantStatus,
    Program,
    PulseRound,
    RosterEntry,
)

# When a message may arrive -----------------------------------------------------------------


def during_working_hours(
    session: Session, at: datetime, timezone: str | None, program_id: int | None
) -> datetime:
    """The quiet-hours rule: a weekday inside the programme's working hours, in the
    recipient's zone (the programme's when the recipient's is unknown)."""
    program = session.get(Program, program_id) if program_id is not None else None
    where = timezone or (program.timezone if program is not None else None)
    return next_good_time(at, where, working_hours(program))


# What a message is about ---------------------------------------------------------------------


def _number(row: OutboxMessage, name: str) -> int | None:
    value = row.payload.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pair_ended(session: Session, row: OutboxMessage) -> str | None:
    pair_id = _number(row, "pair_id")
    if pair_id is None:
        return None
    pair = session.get(Pair, pair_id)
    if pair is None or pair.status != PairStatus.ACTIVE:
        return "the pair has ended"
    return None


def _recipient_left(session: Session, row: OutboxMessage) -> str | None:
    if row.program_id is None:
        return None
    person = session.exec(
        select(Participant).where(
            Participant.program_id == row.program_id,
            Participant.slack_user_id == row.recipient,
        )
    ).first()
    if person is None or person.status == ParticipantStatus.LEFT or person.left_at is not None:
        return "the person left the programme"
    return None


def _program_over(session: Session, row: OutboxMessage) -> str | None:
    program = session.get(Program, row.program_id) if row.program_id is not None else None
    if program is None:
        return None
    if program.status not in LIVE_STATUSES or programs.is_over(program, utcnow()):
        return "the programme has ended"
    return None


def _round_closed(session: Session, row: OutboxMessage) -> str | None:
    round_id = _number(row, "round_id")
    if round_id is None:
        return None
    found = session.get(PulseRound, round_id)
    if found is None or found.status != CycleStatus.OPEN:
        return "the survey has closed"
    return None


def _invitation_moot(session: Session, row: OutboxMessage) -> str | None:
    """A campaign's invitation or reminder leaves only while the campaign goes on, the
    invitation waits for an answer, the programme still takes people in and the person is
    still on the roster."""
    campaign_id = _number(row, "campaign_id")
    if campaign_id is None:
        return None
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status == CampaignStatus.CANCELLED:
        return "the campaign was cancelled"
    invite = session.exec(
        select(CampaignInvite).where(
            CampaignInvite.campaign_id == campaign_id,
            CampaignInvite.slack_user_id == row.recipient,
        )
    ).first()
    if invite is None or invite.status != InviteStatus.INVITED:
        return "the invitation was answered"
    program = session.get(Program, campaign.program_id)
    if (
        program is None
        or program.status not in LIVE_STATUSES
        or not program.enrollment_open
        or programs.is_over(program, utcnow())
    ):
        return "the programme no longer takes people in"
    entry = session.exec(
        select(RosterEntry).where(RosterEntry.slack_user_id == row.recipient)
    ).first()
    if entry is not None and entry.left_at is not None:
        return "the person left the roster"
    return None


def _all(*checks: StaleCheck) -> StaleCheck:
    """A staleness check that is the first reason any of `checks` gives."""

    def check(session: Session, row: OutboxMessage) -> str | None:
        for each in checks:
            reason = each(session, row)
            if reason is not None:
                return reason
        return None

    return check


# Sent hooks and files --------------------------------------------------------------------------


def remember_introduction(session: Session, message: OutboxMessage) -> None:
    """An intro was posted: its group DM becomes the pair's conversation."""
    pair_id = message.payload.get("pair_id")
    if isinstance(pair_id, int) and message.channel_id:
        pairing.record_introduction(session, pair_id, message.channel_id)


def forget_recipient(session: Session, message: OutboxMessage) -> None:
    """A goodbye to someone who erased their data: once sent, the row keeps nothing of them."""
    if message.payload.get("erase"):
        message.recipient = "erased"
        message.channel_id = None
        message.payload = {}
        session.add(message)


def _certificate_of(session: Session, message: OutboxMessage) -> Certificate | None:
    certificate_id = _number(message, "certificate_id")
    return session.get(Certificate, certificate_id) if certificate_id is not None else None


def certificate_file(session: Session, message: OutboxMessage) -> OutgoingFile | None:
    """The certificate's PDF in the person's language, made from its frozen figures."""
    row = _certificate_of(session, message)
    if row is None or not row.detail:  # its person erased their data meanwhile
        return None
    _ = translator(row.detail.get("locale"))
    created = row.created_at
    return OutgoingFile(
        filename=certificates.filename(row.detail),
        title=_("Certificate of participation"),
        content=certificates.render_pdf(row.detail, _, created=created),
    )


def certificate_shared(session: Session, message: OutboxMessage) -> None:
    row = _certificate_of(session, message)
    if row is not None:
        row.status = CertificateStatus.UPLOADED
        file_id = message.payload.get("file_id")
        row.file_id = file_id if isinstance(file_id, str) else None
        row.uploaded_at = message.sent_at
        session.add(row)


def digest_posted(session: Session, message: OutboxMessage) -> None:
    """The digest is in the channel: the story it shares is published (not before, so a
    digest Slack refuses leaves the story for the next one)."""
    story_id = _number(message, "story_id")
    period = message.payload.get("period")
    if story_id is not None and isinstance(period, str):
        recognition.publish_story(session, story_id, period)


# The catalogue -----------------------------------------------------------------------------------

# Enrollment, matching and pairs: answers to someone's action, at once.
INTRO = MessageKind("intro", ("pair",), on_sent=remember_introduction)
TRAINING = MessageKind("training", ("participant", "enrolled_at"))
ENROLLED = MessageKind("enrolled", ("participant", "view"))
FAREWELL = MessageKind("farewell", ("participant",), on_sent=forget_recipient)
PARTNER_LEFT = MessageKind("partner_left", ("pair", "partner"))
PAIR_ENDED = MessageKind("pair_ended", ("pair", "participant"))
REMATCH_REQUEST = MessageKind("rematch_request", ("request", "admin"))
REMATCH_RECEIPT = MessageKind("rematch_receipt", ("request", "view"))
GOALS_SAVED = MessageKind("goals_saved", ("pair", "first_goal"))
MATCH_SUGGESTIONS = MessageKind("match_suggestions", ("run", "admin"))
CONTACT_PAIR = MessageKind("contact_pair", ("pair",))

# The journey: started by the schedule, inside the recipient's working day.
CHECKIN = MessageKind(
    "checkin",
    ("person", "pair", "period"),
    quiet_hours=during_working_hours,
    stale_because=_all(_program_over, _pair_ended, _recipient_left),
)
NUDGE = MessageKind(
    "nudge",
    ("person", "week"),
    quiet_hours=during_working_hours,
    stale_because=_all(_program_over, _pair_ended, _recipient_left),
)
ESCALATION = MessageKind(
    "escalation",
    ("admin", "pair", "period"),
    quiet_hours=during_working_hours,
    stale_because=_all(_program_over, _pair_ended),
)
# The admins' daily report of refusals: at once, weekends too (its job runs once a day).
DELIVERY_FAILED = MessageKind("delivery_failed", ("program", "admin", "day"))
JOURNEY_KINDS = (CHECKIN.name, NUDGE.name, ESCALATION.name)  # the daily cap counts these

# Pulse surveys and match checks.
PULSE = MessageKind(
    "pulse",
    ("round", "participant"),
    quiet_hours=during_working_hours,
    stale_because=_all(_round_closed, _recipient_left),
)
PULSE_REMINDER = MessageKind(
    "pulse_reminder",
    ("round", "participant"),
    quiet_hours=during_working_hours,
    stale_because=_all(_round_closed, _recipient_left),
)
MATCH_CHECK = MessageKind(
    "match_check",
    ("pair", "participant", "number"),
    quiet_hours=during_working_hours,
    stale_because=_all(_program_over, _pair_ended, _round_closed, _recipient_left),
)

# Recognition.
SHOUTOUT_THANKS = MessageKind("shoutout_thanks", ("shoutout", "person"))
SHOUTOUT_REVIEW = MessageKind("shoutout_review", ("shoutout", "admin"))
SHOUTOUT_DECIDED = MessageKind("shoutout_decided", ("shoutout",))
MILESTONE = MessageKind(
    "milestone",
    ("pair", "milestone", "participant"),
    quiet_hours=during_working_hours,
    stale_because=_recipient_left,
)
COMPLETED_ADMIN = MessageKind(
    "completed_admin", ("pair", "admin"), quiet_hours=during_working_hours
)
CERTIFICATE = MessageKind(
    "certificate",
    ("certificate",),
    quiet_hours=during_working_hours,
    on_sent=certificate_shared,
    make_file=certificate_file,
)
DIGEST = MessageKind("digest", ("program", "period"), on_sent=digest_posted)
STORY_PARTNER = MessageKind("story_partner", ("story",))
STORY_REVIEW = MessageKind("story_review", ("story", "admin"))
STORY_DECIDED = MessageKind("story_decided", ("story", "participant"))

# Recruiting campaigns: started by an admin for many people, inside each one's working day.
CAMPAIGN_INVITE = MessageKind(
    "campaign_invite",
    ("campaign", "person"),
    quiet_hours=during_working_hours,
    stale_because=_invitation_moot,
)
CAMPAIGN_REMINDER = MessageKind(
    "campaign_reminder",
    ("campaign", "person"),
    quiet_hours=during_working_hours,
    stale_because=_invitation_moot,
)

# The running journey: what stops being sent once the programme has ended.
RUNNING_JOURNEY = (CHECKIN.name, NUDGE.name, ESCALATION.name, MATCH_CHECK.name)

KINDS = catalogue(
    [
        INTRO,
        TRAINING,
        ENROLLED,
        FAREWELL,
        PARTNER_LEFT,
        PAIR_ENDED,
        REMATCH_REQUEST,
        REMATCH_RECEIPT,
        GOALS_SAVED,
        MATCH_SUGGESTIONS,
        CONTACT_PAIR,
        CHECKIN,
        NUDGE,
        ESCALATION,
        DELIVERY_FAILED,
        PULSE,
        PULSE_REMINDER,
        MATCH_CHECK,
        SHOUTOUT_THANKS,
        SHOUTOUT_REVIEW,
        SHOUTOUT_DECIDED,
        MILESTONE,
        COMPLETED_ADMIN,
        CERTIFICATE,
        DIGEST,
        STORY_PARTNER,
        STORY_REVIEW,
        STORY_DECIDED,
        CAMPAIGN_INVITE,
        CAMPAIGN_REMINDER,
    ]
)
