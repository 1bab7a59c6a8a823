"""The roster's Slack profile fields: the super-admin's mapping modal and its answers."""

from __future__ import annotations

import json
from typing import Any, Final

from slack_sdk.models.blocks.block_elements import CheckboxesElement, StaticSelectElement

from bot.domain import profile_fields as pf
from bot.i18n import Translator
from bot.views import kit

CALLBACK_ID: Final = "roster_fields"
REFRESH_ACTION: Final = "roster_refresh_now"


def _select(fields: list[pf.ProfileField], current: str | None) -> StaticSelectElement | None:
    options = [kit.option(f.label, f.id) for f in fields[:100]]
    if not options:
        return None
    initial = next((o for o in options if o.value == current), None)
    return StaticSelectElement(options=options, initial_option=initial)


def roster_fields_modal(
    fields: list[pf.ProfileField], mapping: dict[str, Any], _: Translator
) -> dict[str, Any]:
    """Which custom profile field holds the department, the manager (a person field) and the
    office, and whether the profile's title is read; every choice is optional."""
    people = [f for f in fields if f.kind == pf.USER_FIELD]
    others = [f for f in fields if f.kind != pf.USER_FIELD]
    blocks: list[Any] = [
        kit.section(
            _(
                "Pick the Slack profile fields that hold each person's department, manager and "
                "office. Every day the app reads them for the people taking part into the "
                "roster; an entry imported from a roster file always wins."
            )
        )
    ]
    labels = {
        pf.DEPARTMENT: _("Department"),
        pf.MANAGER: _("Manager"),
        pf.OFFICE: _("Office"),
    }
    for name in pf.MAPPED:
        element = _select(people if name == pf.MANAGER else others, mapping.get(name))
        if element is None:
            missing = (
                _("No person field in this workspace's profiles can hold the manager.")
                if name == pf.MANAGER
                else _("This workspace's profiles have no custom fields to pick from.")
            )
            blocks.append(kit.context(f"{labels[name]}: {missing}"))
            continue
        blocks.append(kit.input_block(name, labels[name], element, optional=True))
    title_option = kit.option(_("Read each person's title from their Slack profile"), "yes")
    blocks.append(
        kit.input_block(
            pf.TITLE,
            _("Title"),
            CheckboxesElement(
                options=[title_option],
                initial_options=[title_option] if mapping.get(pf.TITLE) else None,
            ),
            optional=True,
        )
    )
    return kit.modal(
        title=_("Roster from Slack"),
        submit=_("Save"),
        close=_("Cancel"),
        callback_id=CALLBACK_ID,
        blocks=blocks,
        private_metadata=json.dumps({"fields": {f.id: f.kind for f in fields}}),
    )


def no_profile_access(_: Translator) -> dict[str, Any]:
    return kit.message(
        _(
            "I can't read the workspace's profile fields: the app needs the "
            "`users.profile:read` permission. Reinstall the app from its manifest, then try again."
        )
    )


def mapping_saved(mapping: dict[str, Any], _: Translator) -> str:
    """The modal's confirmation (plain text)."""
    if not pf.is_mapped(mapping):
        return _("Saved: no profile field is read into the roster.")
    return _(
        "Saved. The roster reads the mapped fields for the people taking part every day "
        "(or now with `reverse-mentoring jobs run people_refresh`)."
    )


def saved_modal(mapping: dict[str, Any], _: Translator, *, status: str = "") -> dict[str, Any]:
    """The confirmation, with a button that refreshes now rather than tomorrow; `status`: what
    a refresh started here is doing or did."""
    blocks: list[Any] = [kit.section(mapping_saved(mapping, _))]
    if status:
        blocks.append(kit.context(status))
    else:
        blocks.append(kit.actions(kit.button(_("Refresh now"), REFRESH_ACTION, style="primary")))
    return kit.modal(
        title=_("Roster from Slack"),
        close=_("Close"),
        callback_id="roster_saved",
        blocks=blocks,
        private_metadata=json.dumps({"mapping": mapping}),
    )


def refresh_status(departed: int, profiles: dict[str, int], complete: bool, _: Translator) -> str:
    """What a refresh did, in counts."""
    text = _(
        "Refreshed: {departed} left the programme; roster entries created {created}, "
        "changed {changed}, unchanged {unchanged}, kept from a file {kept}.",
        departed=departed,
        created=profiles.get("created", 0),
        changed=profiles.get("changed", 0),
        unchanged=profiles.get("unchanged", 0),
        kept=profiles.get("kept", 0),
    )
    if not complete:
        text += " " + _(
            "Slack's directory could not be read to the end; tomorrow's run reads it again."
        )
    return text
