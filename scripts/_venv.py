"""Shared by scripts/run, scripts/test and scripts/i18n.py: create or refresh .venv (stdlib only).

The dependency set is pinned (with hashes) in requirements.lock, test and bench extras included;
the project itself is then installed editable without resolving anything again.
"""

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
LOCK = ROOT / "requirements.lock"


def python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _digest() -> str:
    digest = hashlib.sha256()
    for path in (ROOT / "pyproject.toml", LOCK):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _pip(*args: str) -> None:
    command = [str(python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if subprocess.run([*command, *args]).returncode != 0:
        sys.exit("reverse-mentoring: installing the dependencies failed (see pip's output above)")


def ensure() -> Path:
    """Installs the locked dependencies and the project into .venv unless that is already done."""
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under whatever python3 the user has
        sys.exit("reverse-mentoring needs Python 3.11 or newer")
    digest = _digest()
    try:
        installed = STAMP.read_text().strip()
    except OSError:
        installed = ""
    if python().exists() and installed == digest:
        return python()
    if not python().exists():
        print("Creating .venv …", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing dependencies into .venv (from requirements.lock) …", file=sys.stderr)
    _pip("--require-hashes", "-r", str(LOCK))
    _pip("--no-deps", "-e", str(ROOT))
    STAMP.write_text(digest)
    return python()


def reexec_in_venv(script: Path) -> None:
    """Run `script` again with .venv's Python (for commands started with a plain python3)."""
    if Path(sys.prefix).resolve() == VENV.resolve() or os.environ.get("_RM_IN_VENV"):
        return
    interpreter = ensure()
    os.environ["_RM_IN_VENV"] = "1"  # never loop if the venv still lacks something
    os.execv(str(interpreter), [str(interpreter), str(script), *sys.argv[1:]])
