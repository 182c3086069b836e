"""Running the command line under a locale that is not UTF-8.

``LC_ALL=C`` alone turns Python's UTF-8 mode on (PEP 538, 540), and nothing differs:
the environment here turns it off, as ``LC_ALL=C PYTHONUTF8=0`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LATIN1 = "en_US.ISO-8859-1"
"""A Latin-1 locale (made with ``localedef``; missing on many machines)."""


def locale_env(name: str) -> dict[str, str]:
    """The environment for a run under the locale ``name``, without Python's UTF-8 mode."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("LC_") and key not in ("LANG", "LANGUAGE",
                                                        "PYTHONIOENCODING")}
    env.update(LC_ALL=name, PYTHONUTF8="0", PYTHONCOERCECLOCALE="0",
               PYTHONPATH=str(REPO_ROOT / "app"))
    return env


def require_locale(name: str) -> str:
    """``name``, or the test skipped when that locale is not installed here (C always is)."""
    probe = subprocess.run(
        [sys.executable, "-c", "import locale, sys; locale.setlocale(locale.LC_ALL, ''); "
         "print(sys.getfilesystemencoding())"],
        env=locale_env(name), capture_output=True, text=True, check=False, timeout=30)
    if probe.returncode != 0 or probe.stdout.strip().lower().replace("-", "") == "utf8":
        pytest.skip(f"the locale {name} is not installed here (localedef makes it)")
    return name


def spyglass_under(locale: str, *args: str | bytes, cwd: Path | None = None,
                   ) -> subprocess.CompletedProcess[bytes]:
    """``python -m spyglass ARGS`` under ``locale``, each argument's bytes as given (a
    str as the file system encodes it)."""
    return subprocess.run([sys.executable, "-m", "spyglass", *args], env=locale_env(locale),
                          cwd=cwd, capture_output=True, stdin=subprocess.DEVNULL,
                          timeout=60, check=False)
