"""Every string is translated in en, de and vi, and every view fits Slack's limits in each."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.i18n import SUPPORTED, normalize_locale, translator
from bot.simulated_slack.web_api import validate_blocks, validate_view
from tests.view_catalogue import all_views

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def test_catalogs_cover_every_string() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "i18n.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("language", ["de", "vi"])
def test_translations_keep_placeholders(language: str) -> None:
    path = ROOT / "bot" / "locale" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    for message in catalog:
        if message.id and message.string:
            assert set(PLACEHOLDER.findall(str(message.id))) == set(
                PLACEHOLDER.findall(str(message.string))
            ), message.id


def test_locale_normalisation() -> None:
    assert normalize_locale("de-DE") == "de"
    assert normalize_locale("vi_VN") == "vi"
    assert normalize_locale("fr-FR") == "en"
    assert normalize_locale(None, "de") == "de"


def test_translator_translates_and_formats() -> None:
    assert translator("de")("Save") != "Save"
    assert translator("en")("Save") == "Save"
    assert "Ada" in translator("vi")("<@{user}> set your pair goals:", user="Ada")


@pytest.mark.parametrize("language", SUPPORTED)
def test_every_view_fits_slack_limits(language: str) -> None:
    """Every view the app builds, with long German and Vietnamese content, passes the checks
    the simulated Slack applies (block counts, text lengths, text types, initial options)."""
    for name, view in all_views(translator(language)).items():
        if "type" in view:  # a modal or the Home tab
            assert validate_view(view) is None, (name, validate_view(view))
        else:  # a message: at most 50 blocks, always a text fallback
            assert validate_blocks(view.get("blocks", []), max_blocks=50) == [], name
            assert view["text"], name
