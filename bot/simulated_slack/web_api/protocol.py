"""What crosses the wire: the recorded :class:`Call`, the answer (:class:`Reply`) and the
Slack error a method handler raises (:class:`ApiError`), plus small helpers they share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Call:
    """One request the fake received.

    ``params`` are the request parameters (query string and body merged, ``token`` removed,
    JSON strings such as ``blocks``/``view``/``files`` decoded). ``at`` is the real wall-clock
    time of receipt. ``ok``/``error``/``status``/``response`` describe what the fake answered
    (failed and fault-injected calls are recorded too). ``answered`` is False when the answer
    was lost on purpose (:meth:`FakeSlack.lose_answer_next`): the call took effect, the client
    never heard.
    """

    method: str
    params: dict[str, Any]
    at: float
    ok: bool = True
    error: str | None = None
    status: int = 200
    response: dict[str, Any] | None = None
    answered: bool = True

    def went_to(self, channel: str) -> bool:
        """Posted to `channel`, as sent or as resolved (a user id resolves to their DM)."""
        resolved = (self.response or {}).get("channel")
        return channel in (self.params.get("channel"), resolved)


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]
    #: close the connection without answering, after ``hang`` seconds (a lost answer)
    lost: bool = False
    hang: float = 0.0


class ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def json_reply(
    status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> Reply:
    all_headers = {"Content-Type": "application/json; charset=utf-8"}
    all_headers.update(headers or {})
    return Reply(status, json.dumps(payload).encode("utf-8"), all_headers)


def text_of(obj: Any) -> str | None:
    if isinstance(obj, dict):
        text = obj.get("text")
        return text if isinstance(text, str) else None
    return obj if isinstance(obj, str) else None


def summarise(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, default=repr, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
