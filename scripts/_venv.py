"""Shared by scripts/run and scripts/test: create or refresh .venv when needed (stdlib only)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
STAMP = VENV / ".installed"


def python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _stamp() -> tuple[str, set[str]]:
    try:
        digest, _sep, extras = STAMP.read_text().partition("\n")
    except OSError:
        return "", set()
    return digest, {e for e in extras.split(",") if e}


def ensure(extras: str) -> Path:
    """Installs the project (with `extras`) into .venv unless that is already done."""
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under whatever python3 the user has
        sys.exit("reverse-mentoring needs Python 3.11 or newer")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    wanted = {e for e in extras.split(",") if e}
    installed_digest, installed_extras = _stamp()
    if python().exists() and installed_digest == digest and wanted <= installed_extras:
        return python()
    if not python().exists():
        print("Creating .venv …", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if installed_digest == digest:
        wanted |= installed_extras  # keep what an earlier command installed
    target = f"{ROOT}[{','.join(sorted(wanted))}]" if wanted else str(ROOT)
    print("Installing dependencies into .venv …", file=sys.stderr)
    result = subprocess.run(
        [
            str(python()),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            target,
        ],
    )
    if result.returncode != 0:
        sys.exit("reverse-mentoring: installing the dependencies failed (see pip's output above)")
    STAMP.write_text(digest + "\n" + ",".join(sorted(wanted)))
    return python()
