"""The messages the app owes people: their outbox kinds and dedupe keys.

A key names the change that owes the message, so queuing it twice (a retried transaction, a
double click) still sends it once. Messages that confirm a repeatable action (saving a profile
again) get a fresh key per change: each save is owed its own confirmation.
"""

from __future__ import annotations

import uuid

from storage.models import Participant

INTRO = "intro"
TRAINING = "training"
ENROLLED = "enrolled"
FAREWELL = "farewell"
PARTNER_LEFT = "partner_left"
PAIR_ENDED = "pair_ended"
REMATCH_REQUEST = "rematch_request"
REMATCH_RECEIPT = "rematch_receipt"
GOALS_SAVED = "goals_saved"
MATCH_SUGGESTIONS = "match_suggestions"


def intro_key(pair_id: int) -> str:
    """One introduction per pair, ever."""
    return f"{INTRO}:{pair_id}"


def training_key(participant: Participant) -> str:
    """One training pack per enrollment (a re-join after leaving is a new enrollment)."""
    return f"{TRAINING}:{participant.id}:{participant.enrolled_at.isoformat()}"


def partner_left_key(pair_id: int, partner_id: int) -> str:
    return f"{PARTNER_LEFT}:{pair_id}:{partner_id}"


def pair_ended_key(pair_id: int, participant_id: int) -> str:
    return f"{PAIR_ENDED}:{pair_id}:{participant_id}"


def rematch_request_key(request_id: int, admin_id: str) -> str:
    """Each admin hears of a request once, however often it is repeated while open."""
    return f"{REMATCH_REQUEST}:{request_id}:{admin_id}"


def goals_saved_key(pair_id: int, first_goal_id: int) -> str:
    return f"{GOALS_SAVED}:{pair_id}:{first_goal_id}"


def enrolled_key(participant_id: int, view_id: str) -> str:
    """One confirmation per submitted form: Slack retrying the same submission (same view)
    is not a new change; a later profile edit opens a new view and gets its own."""
    return f"{ENROLLED}:{participant_id}:{view_id}"


def rematch_receipt_key(request_id: int, view_id: str) -> str:
    return f"{REMATCH_RECEIPT}:{request_id}:{view_id}"


def match_suggestions_key(run_id: int, admin_id: str) -> str:
    """Each admin hears once of each new proposal."""
    return f"{MATCH_SUGGESTIONS}:{run_id}:{admin_id}"


def fresh_key(kind: str, *parts: object) -> str:
    """A key for a message owed by each repetition of an action (a confirmation)."""
    return ":".join([kind, *(str(part) for part in parts), uuid.uuid4().hex[:16]])
