"""Running the command line under a locale that is not UTF-8.

``LC_ALL=C`` alone turns Python's UTF-8 mode on (PEP 538, 540), and nothing differs:
the environment here turns it off, as ``LC_ALL=C PYTHONUTF8=0`` does.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LATIN1 = "en_US.ISO-8859-1"
"""A Latin-1 locale (missing on many machines: :func:`made_locales` makes it)."""

MADE = {LATIN1: ("en_US", "ISO-8859-1")}
"""The locales :func:`made_locales` can make: source locale and character map."""


@functools.cache
def made_locales() -> str | None:
    """A folder (for ``LOCPATH``) holding the locales of :data:`MADE`, made once per test
    run with ``localedef`` from the system's locale sources (no root needed); None where
    those sources or ``localedef`` are missing. Removed when the run ends."""
    localedef = shutil.which("localedef")
    if localedef is None:
        return None
    folder = tempfile.mkdtemp(prefix="spyglass-locales-")
    import atexit

    atexit.register(shutil.rmtree, folder, True)
    for name, (source, charmap) in MADE.items():
        subprocess.run([localedef, "-i", source, "-f", charmap, os.path.join(folder, name)],
                       capture_output=True, timeout=60, check=False)
    return folder


def locale_env(name: str) -> dict[str, str]:
    """The environment for a run under the locale ``name``, without Python's UTF-8 mode."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("LC_") and key not in ("LANG", "LANGUAGE",
                                                        "PYTHONIOENCODING")}
    env.update(LC_ALL=name, PYTHONUTF8="0", PYTHONCOERCECLOCALE="0",
               PYTHONPATH=str(REPO_ROOT / "app"))
    if name in MADE and (folder := made_locales()) is not None:
        env["LOCPATH"] = folder  # the system's own locales are not looked at then
    return env


def require_locale(name: str) -> str:
    """``name``, or the test skipped when that locale is not installed here (C always is)."""
    probe = subprocess.run(
        [sys.executable, "-c", "import locale, sys; locale.setlocale(locale.LC_ALL, ''); "
         "print(sys.getfilesystemencoding())"],
        env=locale_env(name), capture_output=True, text=True, check=False, timeout=30)
    if probe.returncode != 0 or probe.stdout.strip().lower().replace("-", "") == "utf8":
        pytest.skip(f"the locale {name} is not installed here, and localedef could not "
                    "make it (the system's locale sources are missing)")
    return name


def spyglass_under(locale: str, *args: str | bytes, cwd: Path | None = None,
                   ) -> subprocess.CompletedProcess[bytes]:
    """``python -m spyglass ARGS`` under ``locale``, each argument's bytes as given (a
    str as the file system encodes it)."""
    return subprocess.run([sys.executable, "-m", "spyglass", *args], env=locale_env(locale),
                          cwd=cwd, capture_output=True, stdin=subprocess.DEVNULL,
                          timeout=60, check=False)
