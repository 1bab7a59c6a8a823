#!/usr/bin/env python3
"""Extract translatable strings and update the catalogs: `python3 scripts/i18n.py`.

`--check` exits non-zero when a msgid is missing or untranslated in a shipped language
(the test suite runs the same check). Started with a Python that lacks Babel (a plain system
python3), it runs itself again with the project's .venv, creating it first if needed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    import babel  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _venv import reexec_in_venv

    reexec_in_venv(Path(__file__).resolve())
    raise

from babel.messages.catalog import Catalog  # noqa: E402
from babel.messages.extract import extract_from_dir  # noqa: E402
from babel.messages.pofile import read_po, write_po  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("bot", "handlers", "scheduler")
LOCALE_DIR = ROOT / "bot" / "locale"
LANGUAGES = ("en", "de", "vi")
KEYWORDS = {"_": None, "N_": None}


def extract() -> Catalog:
    catalog = Catalog(project="reverse-mentoring", charset="utf-8")
    for folder in SOURCE_DIRS:
        for filename, lineno, message, comments, context in extract_from_dir(
            ROOT / folder,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
        ):
            catalog.add(
                message,
                locations=[(f"{folder}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return catalog


def _po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


def update(template: Catalog) -> None:
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCALE_DIR / "messages.pot").open("wb") as handle:
        write_po(handle, template, omit_header=False, width=100)
    for language in LANGUAGES:
        template = extract()  # catalog.update shares message objects: never reuse one
        path = _po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        else:
            catalog = Catalog(locale=language, charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if language == "en":
            for message in catalog:
                if message.id and not message.string:
                    message.string = message.id
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100)


def missing(template: Catalog) -> dict[str, list[str]]:
    """Language -> msgids without a translation."""
    result: dict[str, list[str]] = {}
    for language in LANGUAGES:
        path = _po_path(language)
        if not path.exists():
            result[language] = [str(m.id) for m in template if m.id]
            continue
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        gaps = []
        for message in template:
            if not message.id:
                continue
            found = catalog.get(message.id)
            strings = found.string if found else None
            ok = all(strings) if isinstance(strings, tuple) else bool(strings)
            if not ok or (found is not None and found.fuzzy):
                gaps.append(str(message.id))
        if gaps:
            result[language] = gaps
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only check, change nothing")
    args = parser.parse_args()
    template = extract()
    if not args.check:
        update(template)
    gaps = missing(template)
    for language, ids in gaps.items():
        print(f"{language}: {len(ids)} untranslated", file=sys.stderr)
        for msgid in ids[:20]:
            print(f"  {msgid!r}", file=sys.stderr)
    return 1 if gaps else 0


if __name__ == "__main__":
    raise SystemExit(main())
