"""A Python dependency missing (``pip install --no-deps``, a distribution's package
without it) is said as an installation problem, naming the package to install, not as
"unexpected internal error … please report it" or a traceback."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from spyglass.dependencies import DEPENDENCIES, missing_dependency_problem

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


@pytest.mark.parametrize("module", ["h11", "idna", "certifi"])
def test_a_module_httpx_imports_missing_names_httpx(module: str) -> None:
    """httpx's own dependencies (httpcore's h11, idna, certifi) missing were "unexpected
    internal error … please report it": the one whose code imported it is named."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    done = subprocess.run([sys.executable, "-c", _WITHOUT, module, "inspect",
                           "docker://127.0.0.1:1/x"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (1, (
        "spyglass: Spyglass needs the Python package httpx, which is installed without the "
        f"module {module} it imports (No module named '{module}'): install Spyglass again "
        "with its dependencies (pip install without --no-deps), or install httpx where "
        "Spyglass is installed (pip install 'httpx', or your distribution's package of "
        "it).\n"))


def _import_missing(name: str, importer: str, through_importlib: bool) -> BaseException:
    """The error of importing ``name`` (made missing) from code of the module named
    ``importer``, with an import statement or with ``importlib.import_module``."""
    code = f"importlib.import_module({name!r})" if through_importlib else f"import {name}"
    saved = sys.modules.get(name)
    sys.modules[name] = None  # type: ignore[assignment]
    try:
        exec(code, {"__name__": importer, "importlib": importlib})
    except ModuleNotFoundError as exc:
        return exc
    finally:
        if saved is None:
            del sys.modules[name]
        else:
            sys.modules[name] = saved
    raise AssertionError(f"{name} was imported")


@pytest.mark.parametrize("through_importlib", [False, True])
def test_only_a_module_a_dependency_imports_is_taken_for_its(through_importlib: bool) -> None:
    """Imported by httpx's code, h11 missing names httpx; imported by Spyglass's own (or
    these tests'), a module not declared is a bug to report."""
    from_httpx = missing_dependency_problem(
        _import_missing("h11", "httpx._probe", through_importlib))
    assert from_httpx is not None and from_httpx.startswith(
        "Spyglass needs the Python package httpx, which is installed without the module h11")
    for importer in ("spyglass.core.probe", __name__):
        assert missing_dependency_problem(
            _import_missing("h11", importer, through_importlib)) is None


def test_every_dependency_is_known_by_its_import_name() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {Requirement(each).name for each in declared} == set(DEPENDENCIES.values())


def test_other_errors_are_not_taken_for_a_missing_dependency() -> None:
    assert missing_dependency_problem(ModuleNotFoundError("x", name="spyglass.gui.x")) is None
    assert missing_dependency_problem(ImportError("cannot import name 'x'")) is None
    assert missing_dependency_problem(ValueError("yaml")) is None
    assert missing_dependency_problem(ModuleNotFoundError("x", name="yaml.cyaml")) is not None
