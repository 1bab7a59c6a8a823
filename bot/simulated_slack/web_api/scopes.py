"""OAuth scopes: the bot scopes of the app manifest and the scope each method needs."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import yaml

_MANIFEST: Final = Path(__file__).resolve().parents[3] / "manifest.yml"
# Used when the package runs without the repository (an installed wheel has no manifest.yml).
_FALLBACK_SCOPES: Final = frozenset(
    {"chat:write", "commands", "files:write", "im:write", "mpim:write", "users:read"}
)


def manifest_bot_scopes(path: Path | None = None) -> frozenset[str]:
    """The bot scopes of the app manifest (``oauth_config.scopes.bot``)."""
    manifest = path or _MANIFEST
    if path is None and not manifest.exists():
        return _FALLBACK_SCOPES
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    return frozenset(str(s) for s in data["oauth_config"]["scopes"]["bot"])


# Any one of these scopes allows the method (Slack's ``needed`` lists them comma-joined).
# Methods reading a conversation need the scope of its kind; see :func:`needed_scopes`.
METHOD_SCOPES: Final[dict[str, tuple[str, ...]]] = {
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "conversations.open": ("channels:manage", "groups:write", "im:write", "mpim:write"),
    "conversations.join": ("channels:join",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "users.lookupByEmail": ("users:read.email",),
    "users.profile.get": ("users.profile:read",),
    "team.profile.get": ("users.profile:read",),
    "reactions.add": ("reactions:write",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}
_READ_SCOPES: Final = {
    "conversations.history": "history",
    "conversations.info": "read",
    "conversations.members": "read",
}
_KIND_PREFIX: Final = {"public": "channels", "private": "groups", "im": "im", "mpim": "mpim"}


def needed_scopes(method: str, kind: str | None) -> tuple[str, ...]:
    """The scopes of which ``method`` needs one (empty: none needed). ``kind`` is the kind of
    conversation the call names (``public``, ``private``, ``im``, ``mpim``; None: unknown)."""
    suffix = _READ_SCOPES.get(method)
    if suffix is None:
        return METHOD_SCOPES.get(method, ())
    kinds = [kind] if kind is not None else list(_KIND_PREFIX)
    return tuple(f"{_KIND_PREFIX[k]}:{suffix}" for k in kinds)
