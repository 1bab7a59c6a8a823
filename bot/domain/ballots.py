"""Sealed pulse ballots: the cryptography behind anonymous answers (see bot/domain/pulse.py).

Everything here is keyed by the round key, which only the app can derive: HKDF-SHA256 over the
`PULSE_SECRET` setting (never stored in the database), the round's random salt (stored with the
round while it is open, deleted when it closes) and the round's id.

* A ballot is one person's answer: the breakdown groups it counts in, the values chosen and the
  free texts. It is padded to a size that depends only on the round's kind, then sealed with
  AES-256-GCM under a random nonce, with the round's id and kind as associated data (a ballot
  cannot be moved to another round). Every sealed ballot of a kind has the same length.
* A marker is HMAC-SHA256 of a Slack user id (and a pair, for match checks) under the round key:
  who has answered, who was invited. Without the key a marker names nobody, and markers of
  different rounds cannot be matched to each other; answered and invited markers are keyed apart
  so the two lists cannot be joined either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SALT_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
HEADER_BYTES = 1024  # groups and chosen values as JSON; a department is at most 100 characters
TEXT_BYTES = 8000  # one free text: 2,000 characters of at most 4 bytes each in UTF-8
_LENGTH = 2  # bytes of each length prefix


class BallotUnreadable(Exception):
    """A sealed ballot did not open: it was sealed under another key (`PULSE_SECRET` changed
    while its round was open) or altered."""


@dataclass(frozen=True)
class Ballot:
    dimensions: tuple[str, ...]
    chosen: dict[str, int] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def sealed_size(text_slots: int) -> int:
    """The stored length of every ballot of a round whose kind has `text_slots` free texts."""
    return NONCE_BYTES + _plain_size(text_slots) + TAG_BYTES


def _plain_size(text_slots: int) -> int:
    return _LENGTH + HEADER_BYTES + text_slots * (_LENGTH + TEXT_BYTES)


def _clip(text: str) -> bytes:
    """The text's UTF-8 bytes, cut at a character boundary to fit its slot."""
    raw = text.encode("utf-8")
    if len(raw) <= TEXT_BYTES:
        return raw
    return raw[:TEXT_BYTES].decode("utf-8", errors="ignore").encode("utf-8")


def _pack(ballot: Ballot, text_ids: Sequence[str]) -> bytes:
    header = json.dumps(
        {"d": list(ballot.dimensions), "c": ballot.chosen},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")
    if len(header) > HEADER_BYTES:
        raise ValueError("ballot header too long")
    parts = [len(header).to_bytes(_LENGTH, "big"), header.ljust(HEADER_BYTES, b"\0")]
    for text_id in text_ids:
        raw = _clip(ballot.texts.get(text_id, ""))
        parts += [len(raw).to_bytes(_LENGTH, "big"), raw.ljust(TEXT_BYTES, b"\0")]
    plain = b"".join(parts)
    assert len(plain) == _plain_size(len(text_ids))
    return plain


def _unpack(plain: bytes, text_ids: Sequence[str]) -> Ballot:
    size = int.from_bytes(plain[:_LENGTH], "big")
    header = json.loads(plain[_LENGTH : _LENGTH + size].decode("utf-8"))
    texts: dict[str, str] = {}
    at = _LENGTH + HEADER_BYTES
    for text_id in text_ids:
        length = int.from_bytes(plain[at : at + _LENGTH], "big")
        text = plain[at + _LENGTH : at + _LENGTH + length].decode("utf-8")
        if text:
            texts[text_id] = text
        at += _LENGTH + TEXT_BYTES
    chosen = {str(k): int(v) for k, v in header["c"].items()}
    return Ballot(tuple(str(d) for d in header["d"]), chosen, texts)


@dataclass(frozen=True)
class RoundKey:
    """The keys of one round: sealing ballots and making markers."""

    round_id: int
    kind: str
    _seal: bytes = field(repr=False)
    _mark: bytes = field(repr=False)

    def _marker(self, purpose: str, user_id: str, pair_id: int | None) -> str:
        subject = json.dumps([purpose, user_id, pair_id], separators=(",", ":"))
        return hmac.new(self._mark, subject.encode("utf-8"), hashlib.sha256).hexdigest()

    def answered(self, user_id: str, pair_id: int | None = None) -> str:
        """Marks that this person (for this pair) has answered the round."""
        return self._marker("answered", user_id, pair_id)

    def invited(self, user_id: str, pair_id: int | None = None) -> str:
        """Marks that this person (for this pair) was invited to the round."""
        return self._marker("invited", user_id, pair_id)

    def _aad(self) -> bytes:
        return f"pulse ballot:{self.round_id}:{self.kind}".encode()

    def seal(self, ballot: Ballot, text_ids: Sequence[str]) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + AESGCM(self._seal).encrypt(nonce, _pack(ballot, text_ids), self._aad())

    def open(self, sealed: bytes, text_ids: Sequence[str]) -> Ballot:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            plain = AESGCM(self._seal).decrypt(nonce, body, self._aad())
        except InvalidTag:
            raise BallotUnreadable(f"a ballot of round {self.round_id} does not open") from None
        return _unpack(plain, text_ids)


def round_key(secret: bytes, round_id: int, kind: str, salt: bytes) -> RoundKey:
    """HKDF-SHA256(secret, salt, info = the round): 32 bytes to seal, 32 to make markers."""
    material = HKDF(
        algorithm=hashes.SHA256(),
        length=64,
        salt=salt,
        info=f"reverse-mentoring pulse round {round_id}".encode(),
    ).derive(secret)
    return RoundKey(round_id, kind, material[:32], material[32:])
