"""What a queued message is about: ending that thing cancels what is still pending for it
(bot/delivery/outbox.py `cancel_pending`), and the message kinds' staleness checks read it."""

from __future__ import annotations


def pair_subject(pair_id: int) -> str:
    return f"pair:{pair_id}"


def round_subject(round_id: int) -> str:
    return f"round:{round_id}"
