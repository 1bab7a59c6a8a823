"""The delivery layer: units of work and the messages they owe, exactly once.

Below `bot.services`, above `storage`; it knows Slack's Web API but no listener, job or domain
rule. `unit` runs a transaction with the messages it owes (`Delivery`, `Owed`); `kinds` is what
it needs to know of each kind of message, declared by the domain in `bot/domain/notices.py`;
`outbox` is the table's queue operations; `sender` sends claimed rows exactly once; `inbound`
remembers Slack's event ids so a re-delivered event is handled once.
"""

from bot.delivery.kinds import MessageKey, MessageKind, OutgoingFile
from bot.delivery.sender import Pacer
from bot.delivery.unit import (
    Delivery,
    Done,
    Outgoing,
    Owed,
    OwingWork,
    Planned,
    RecipientGoneRule,
)

__all__ = [
    "Delivery",
    "Done",
    "MessageKey",
    "MessageKind",
    "Outgoing",
    "OutgoingFile",
    "Owed",
    "OwingWork",
    "Pacer",
    "Planned",
    "RecipientGoneRule",
]
