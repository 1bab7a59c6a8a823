"""manifest.yml parses, fits Slack's schema, and declares exactly what the code uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[1]
# Slack's schema (MIT), kept in the repository so every clone runs this check.
SCHEMA_DIR = ROOT / "tests" / "data" / "slack-manifest-schema"
CODE_DIRS = ("bot", "handlers", "scheduler")
# Web API method (as called on WebClient) -> the bot scope it needs.
METHOD_SCOPES = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_delete": "chat:write",
    "chat_postEphemeral": "chat:write",
    "conversations_open": "im:write",  # mpim:write too for group DMs (below)
    "conversations_history": "im:history",  # and the other kinds of conversation (below)
    "users_info": "users:read",
    "users_list": "users:read",
    "users_lookupByEmail": "users:read.email",
    "users_profile_get": "users.profile:read",
    "team_profile_get": "users.profile:read",
    "files_upload_v2": "files:write",
    "files_getUploadURLExternal": "files:write",
    "files_completeUploadExternal": "files:write",
    "views_open": None,
    "views_update": None,
    "views_publish": None,
    "auth_test": None,
}


def _manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def _code() -> str:
    return "\n".join(
        path.read_text() for folder in CODE_DIRS for path in (ROOT / folder).rglob("*.py")
    )


def test_manifest_has_the_essentials() -> None:
    manifest = _manifest()
    assert manifest["display_information"]["name"]
    assert manifest["features"]["bot_user"]["display_name"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True


def test_every_command_and_event_in_code_is_declared() -> None:
    manifest, code = _manifest(), _code()
    commands = set(re.findall(r'@?app\.command\("([^"]+)"\)', code))
    events = set(re.findall(r'@?app\.event\("([^"]+)"\)', code))
    assert commands == {c["command"] for c in manifest["features"]["slash_commands"]}
    assert events == set(manifest["settings"]["event_subscriptions"]["bot_events"])


def test_scopes_are_exactly_those_the_code_uses() -> None:
    code = _code()
    used_methods = set(re.findall(r"\b(?:client|_client|services\.client)\.(\w+)\(", code))
    unknown = used_methods - set(METHOD_SCOPES)
    assert not unknown, f"add these Web API methods to METHOD_SCOPES: {unknown}"
    needed = {METHOD_SCOPES[m] for m in used_methods} - {None}
    needed.add("commands")
    if "conversations_open" in used_methods:
        needed.add("mpim:write")  # introductions open a group DM with both members
    if "conversations_history" in used_methods:
        # The outbox looks for a message whose answer was lost in the conversation it was
        # posted to: a DM, the pair's group DM, or a public or private channel.
        needed |= {"mpim:history", "channels:history", "groups:history"}
    if "url_private_download" in code:
        needed.add("files:read")  # a roster shared in a modal's file_input is downloaded
    assert set(_manifest()["oauth_config"]["scopes"]["bot"]) == needed


def test_manifest_matches_slacks_schema() -> None:
    schema = json.loads((SCHEMA_DIR / "manifest.schema.1.0.0.json").read_text())
    jsonschema.validate(_manifest(), schema)
