"""The desktop entry in ``packaging/``: valid, with one main category (two put Spyglass
in the menu twice), and installed as the README says it is, it is offered
in a file manager's Open With for tar archives (without ``update-desktop-database`` GLib
desktops never offered it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="needs desktop-file-validate (desktop-file-utils)")
def test_the_desktop_entry_is_valid_without_hints() -> None:
    result = subprocess.run(["desktop-file-validate", str(PACKAGING / "spyglass.desktop")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and not result.stdout + result.stderr, result.stdout


def _install_block(readme: Path) -> str:
    """The ``sh`` block of ``readme`` that installs the entry for one user."""
    blocks = re.findall(r"```sh\n(.*?)```", readme.read_text(), re.DOTALL)
    (block,) = [b for b in blocks if "~/.local/share/applications" in b]
    return block


@pytest.mark.skipif(shutil.which("gio") is None
                    or shutil.which("update-desktop-database") is None,
                    reason="needs gio (libglib2.0-bin) and update-desktop-database")
def test_installed_as_the_readme_says_it_is_offered_for_tar_archives(tmp_path: Path) -> None:
    program = tmp_path / "bin" / "spyglass"  # TryExec=spyglass: one on PATH
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    env = {"PATH": f"{program.parent}:/usr/bin:/bin", "HOME": str(tmp_path),
           "XDG_DATA_DIRS": "/usr/share"}  # (for its MIME database)
    subprocess.run(["sh", "-e", "-c", _install_block(ROOT / "README.md")], cwd=ROOT, env=env,
                   check=True, timeout=60)
    result = subprocess.run(["gio", "mime", "application/x-tar"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    registered = result.stdout.partition("Registered applications:")[2]
    assert "spyglass.desktop" in registered, result.stdout + result.stderr


def test_packaging_readme_points_to_the_one_install_text() -> None:
    """The install commands are written once, in the top-level README; packaging's
    README links there rather than keep a second copy that could drift."""
    text = (PACKAGING / "README.md").read_text()
    assert "](../README.md#installing)" in text
    assert "## Installing" in (ROOT / "README.md").read_text()
    assert "```sh" not in text
