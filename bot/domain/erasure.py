"""Erasing a person's data: what identifies them goes, role and dates stay for anonymous
counts. Used by `/mentoring leave` with "delete my data" and by the retention rules."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from storage import repositories as repo
from storage.models import Participant, utcnow


def erase_personal_data(
    session: Session, participant: Participant, *, everywhere: bool = True
) -> None:
    """Removes everything that identifies the person; role and dates stay for anonymous counts.

    `everywhere` False (retention, while the person still takes part in another programme):
    only this enrollment is erased, so their other programme keeps working for them."""
    if everywhere:
        repo.forget_user(session, participant.slack_user_id)
    participant.slack_user_id = f"erased-{uuid.uuid4().hex[:20]}"
    participant.display_name = None
    participant.department = None
    participant.seniority = None
    participant.topics_offered = []
    participant.topics_wanted = []
    participant.development_areas = []
    participant.personal_goals = None
    participant.success_definition = None
    participant.meeting_frequency = None
    participant.meeting_format = None
    participant.available_days = []
    participant.time_of_day = None
    participant.manager_slack_id = None
    participant.avoid_slack_ids = []
    participant.shoutout_consent = False
    participant.office = None
    participant.languages = []
    participant.timezone = None
    participant.utc_offset_minutes = 0
    participant.erased_at = utcnow()
    for checkin in repo.checkins_of(session, participant.id or 0):
        checkin.notes = checkin.learned = checkin.taught = checkin.topics_covered = None
        repo.save(session, checkin)
    for request in repo.rematch_requests_by(session, participant.id or 0):
        request.reason = None
        repo.save(session, request)
