"""keyring is imported in one place (spyglass.core.credentials.keyring_import), which keeps
its macOS backend from starting processes off macOS: keyring imports every backend to
rank them, and that one's ctypes.util.find_library calls ran ldconfig and gcc (about 40
processes) for every command a registry asked for credentials."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PACKAGE = REPO / "app" / "spyglass"

_LOOKUP_COUNTING = """
import ctypes.util, json, sys

spawned = []
sys.addaudithook(lambda event, args: spawned.append(event) if event in (
    "subprocess.Popen", "os.posix_spawn", "os.exec", "os.fork", "os.forkpty",
    "os.system") else None)
looked_for = []
_find_library = ctypes.util.find_library
ctypes.util.find_library = lambda name: looked_for.append(name) or _find_library(name)

from spyglass.core.credentials.store import CredentialStore

found = CredentialStore().lookup("registry.example:5000")  # as a 401 without --creds does
print(json.dumps({"found": found is not None, "looked_for": looked_for,
                  "spawned": spawned, "keyring": "keyring" in sys.modules}))
"""


@pytest.mark.skipif(sys.platform == "darwin", reason="the macOS backend is wanted there")
def test_a_credentials_lookup_starts_no_process_for_the_macos_keyring() -> None:
    env = {name: value for name, value in os.environ.items()
           if name != "PYTHON_KEYRING_BACKEND"}  # keyring ranks every backend it has
    env["PYTHONPATH"] = str(REPO / "app")
    done = subprocess.run([sys.executable, "-c", _LOOKUP_COUNTING], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"found": False, "looked_for": [], "spawned": [], "keyring": True}


def _imports_keyring(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
        if any(name == "keyring" or name.startswith("keyring.") for name in names):
            return True
    return False


def test_keyring_is_imported_in_one_place() -> None:
    """Any other import of keyring could come first and let the macOS backend in."""
    importing = sorted(
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if _imports_keyring(ast.parse(path.read_text(encoding="utf-8"))))
    assert importing == ["core/credentials/keyring_import.py"]
