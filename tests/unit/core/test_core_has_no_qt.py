"""No Qt below ``spyglass.core``: importing every core module must not load PySide6.

The imports run in a fresh interpreter, so nothing the test session itself
imported (pytest-qt loads Qt) can hide or fake the result.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parents[3] / "app"

PROBE = r"""
import importlib, json, pkgutil, sys

import spyglass.core as core

def fail(name):
    raise SystemExit(f"walking spyglass.core: importing {name} failed")

imported = [core.__name__]
for info in pkgutil.walk_packages(core.__path__, core.__name__ + ".", onerror=fail):
    importlib.import_module(info.name)
    imported.append(info.name)

qt = sorted(
    name for name in sys.modules
    if name.split(".")[0] in {"PySide6", "shiboken6", "PyQt5", "PyQt6", "PySide2"}
)
print(json.dumps({"imported": imported, "qt": qt}))
"""

#: The core has at least this many modules; fewer means the walk found nothing.
MIN_MODULES = 3


def test_core_imports_without_qt() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(APP_DIR), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"importing spyglass.core failed:\n{result.stderr}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["imported"]) >= MIN_MODULES, report["imported"]
    assert "spyglass.core.transports" in report["imported"]
    assert report["qt"] == [], (
        f"spyglass.core pulled in Qt ({', '.join(report['qt'])}); "
        "the core must stay importable without it"
    )
