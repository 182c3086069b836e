"""``make`` making ``.venv`` on a Debian or Ubuntu without ``python3-venv`` (no
ensurepip), run in a copy of the Makefile with stand-ins on PATH: a ``python3`` whose
``-m venv`` fails halfway as Debian's does, leaving ``.venv/bin/python`` without pip;
``id`` and ``apt-get`` that say and record what a root with apt would see."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE_PYTHON = """#!/bin/bash
# python3 as Debian's without python3.11-venv, until $FAKE_STATE/ensurepip exists
here=$(cd "$(dirname "$0")" && pwd)
case "$1 $2" in
    "-c import ensurepip") [ -e "$FAKE_STATE/ensurepip" ]; exit ;;
    "-c import pip") [ -e "$here/../has-pip" ]; exit ;;
    "-m venv")
        mkdir -p "$3/bin"; echo "home = $here" > "$3/pyvenv.cfg"; cp "$0" "$3/bin/python"
        echo venv >> "$FAKE_STATE/made"
        if [ -e "$FAKE_STATE/ensurepip" ]; then touch "$3/has-pip"; exit 0; fi
        echo "The virtual environment was not created successfully because ensurepip is" \\
            "not available." >&2
        exit 1 ;;
    "-m pip")
        [ -e "$here/../has-pip" ] || { echo "$0: No module named pip" >&2; exit 1; }
        exit 0 ;;
esac
exec "$REAL_PYTHON" "$@"
"""

FAKE_APT_GET = """#!/bin/sh
echo "$*" >> "$FAKE_STATE/apt-get"
case " $* " in *" install "*python3.*-venv*) touch "$FAKE_STATE/ensurepip" ;; esac
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    tree = tmp_path / "tree"
    (tree / "app" / "spyglass" / "cli").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", "app/spyglass/cli/window_libraries.py"):
        shutil.copy(ROOT / name, tree / name)
    fakes = tmp_path / "bin"
    fakes.mkdir()
    for name, text in (("python3", FAKE_PYTHON), ("apt-get", FAKE_APT_GET)):
        (fakes / name).write_text(text)
        (fakes / name).chmod(0o755)
    (tmp_path / "state").mkdir()
    return tree


def _make(tree: Path, uid: int, *targets: str) -> subprocess.CompletedProcess[str]:
    fakes = tree.parent / "bin"
    (fakes / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (fakes / "id").chmod(0o755)
    env = {**os.environ, "PATH": f"{fakes}:{os.environ.get('PATH', '/usr/bin:/bin')}",
           "FAKE_STATE": str(tree.parent / "state"), "REAL_PYTHON": sys.executable}
    return subprocess.run(["make", "--no-print-directory", f"PYTHON={fakes / 'python3'}",
                           *targets], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def _state(tree: Path, name: str) -> str:
    path = tree.parent / "state" / name
    return path.read_text() if path.exists() else ""


def test_without_python3_venv_it_is_named_and_no_venv_is_left(tree: Path) -> None:
    done = _make(tree, 1000, "venv")
    assert done.returncode != 0
    assert "its ensurepip module is missing, which Debian and Ubuntu keep in python3." in (
        done.stderr)
    assert "sudo apt-get install python3." in done.stderr
    assert not (tree / ".venv").exists()
    assert _state(tree, "made") == ""  # (not tried: it would fail halfway)


def test_as_root_with_apt_python3_venv_is_installed_first(tree: Path) -> None:
    done = _make(tree, 0, "venv")
    assert done.returncode == 0, done.stdout + done.stderr
    v = sys.version_info
    assert f"install -y -qq --no-install-recommends python{v[0]}.{v[1]}-venv" in (
        _state(tree, "apt-get"))
    assert (tree / ".venv" / "has-pip").exists()


def test_a_venv_that_failed_halfway_is_removed_and_one_without_pip_made_again(
        tree: Path) -> None:
    """Debian's venv leaves .venv/bin/python without pip: every later make failed with
    "No module named pip" until make distclean."""
    state = tree.parent / "state"
    (state / "ensurepip").touch()  # (venv passes the check, then fails halfway)
    fakes = tree.parent / "bin"
    text = (fakes / "python3").read_text()
    (fakes / "python3").write_text(text.replace('if [ -e "$FAKE_STATE/ensurepip" ]',
                                                'if [ -e "$FAKE_STATE/pip-works" ]'))
    done = _make(tree, 1000, "venv")
    assert done.returncode != 0
    assert not (tree / ".venv").exists()
    # as an earlier make, without the removal, left it: python there, no pip
    (tree / ".venv" / "bin").mkdir(parents=True)
    (tree / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    shutil.copy(fakes / "python3", tree / ".venv" / "bin" / "python")
    (state / "pip-works").touch()
    done = _make(tree, 1000, "venv")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "or has no pip; making it again" in done.stdout
    assert (tree / ".venv" / "has-pip").exists()


def test_system_deps_installs_python3_venv() -> None:
    makefile = (ROOT / "Makefile").read_text()
    line = next(line for line in makefile.splitlines() if line.startswith("SYSTEM_PACKAGES"))
    assert "python3-venv" in line.split()
