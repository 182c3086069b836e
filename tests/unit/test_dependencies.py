"""A Python dependency missing (``pip install --no-deps``, a distribution's package
without it) is said as an installation problem, naming the package to install, not as
"unexpected internal error … please report it" or a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from spyglass.cli.dependencies import DEPENDENCIES, missing_dependency_problem

REPO = Path(__file__).resolve().parents[2]

_WITHOUT = """
import sys
sys.modules[sys.argv[1]] = None  # as if it were not installed
from spyglass.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_a_command_without_httpx_names_the_package() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    done = subprocess.run([sys.executable, "-c", _WITHOUT, "httpx", "inspect",
                           "docker://127.0.0.1:1/x"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (1, (
        "spyglass: Spyglass needs the Python package httpx, which is not installed (No "
        "module named 'httpx'): install Spyglass again with its dependencies (pip install "
        "without --no-deps), or install httpx where Spyglass is installed (pip install "
        "'httpx', or your distribution's package of it).\n"))


def test_every_dependency_is_known_by_its_import_name() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {Requirement(each).name for each in declared} == set(DEPENDENCIES.values())


def test_other_errors_are_not_taken_for_a_missing_dependency() -> None:
    assert missing_dependency_problem(ModuleNotFoundError("x", name="spyglass.gui.x")) is None
    assert missing_dependency_problem(ImportError("cannot import name 'x'")) is None
    assert missing_dependency_problem(ValueError("yaml")) is None
    assert missing_dependency_problem(ModuleNotFoundError("x", name="yaml.cyaml")) is not None
