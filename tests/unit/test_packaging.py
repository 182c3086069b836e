"""What the source tree builds: the wheel ``make wheel`` makes and the source distribution
a packager builds and tests from. Each test works on a copy of the tree in ``tmp_path``,
so the checkout gets no ``build/`` or egg-info."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path
from typing import Final

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]

LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
    ".mypy_cache", ".ruff_cache", ".pytest_cache",
)
"""What a working checkout holds that is not its source."""


def source_copy(tmp_path: Path) -> Path:
    """The source tree copied into ``tmp_path / "src"`` (without what builds leave)."""
    tree = tmp_path / "src"
    shutil.copytree(ROOT, tree, ignore=LEFT_OUT, symlinks=True)
    return tree


def source_files(tree: Path) -> set[str]:
    """The files of ``tree``, relative to it."""
    return {str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file()}


def test_make_wheel_leaves_out_what_an_earlier_build_left(tmp_path: Path) -> None:
    """``pip wheel`` builds in the tree, and setuptools adds to ``build/lib`` what is new,
    never taking out what the source no longer has: a module removed, a sample blob
    ``make sample`` dropped went on into every later wheel."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    tree = source_copy(tmp_path)
    (tree / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    stale = tree / "build" / "lib" / "spyglass"
    (stale / "core").mkdir(parents=True)
    (stale / "core" / "removed_since.py").write_text("gone = True\n")
    blobs = stale / "resources" / "sample-layout" / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    (blobs / ("0" * 64)).write_bytes(b"dropped by make sample\n")
    # built with the setuptools and wheel installed here, asking no package index (a test
    # reaches no host but this one)
    pytest.importorskip("wheel", reason="the test extra installs wheel, for this build")
    result = subprocess.run(["make", "--no-print-directory", "wheel",
                             "WHEEL_FLAGS=--no-build-isolation --no-index"], cwd=tree,
                            env={**os.environ, "PIP_NO_INDEX": "1"},
                            capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = (tree / "dist").glob("spyglass-*-py3-none-any.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "spyglass/core/__init__.py" in names
    assert "spyglass/resources/sample-layout/index.json" in names
    assert "spyglass/core/removed_since.py" not in names
    assert not [n for n in names if n.endswith("0" * 64)]


def test_pip_wheel_leaves_out_what_an_earlier_build_left(tmp_path: Path) -> None:
    """Plain ``pip wheel .`` (and ``pip install .``), which remove no ``build/`` as ``make
    wheel`` does: a module deleted since the last build, or a sample blob, shipped still
    (setuptools' ``build_py`` and ``copy_tree`` only add to ``build/lib``)."""
    pytest.importorskip("wheel", reason="the test extra installs wheel, for this build")
    tree = source_copy(tmp_path)
    gone_module = tree / "app" / "spyglass" / "zz_removed_since.py"
    gone_blob = tree / "resources" / "sample-layout" / "blobs" / "sha256" / ("0" * 64)
    gone_module.write_text("gone = True\n")
    gone_blob.write_bytes(b"dropped by make sample\n")

    def wheel_names(out: Path) -> list[str]:
        # with the setuptools and wheel installed here, asking no package index
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
             "--no-build-isolation", "--no-index", "--wheel-dir", str(out), "."],
            cwd=tree, env={**os.environ, "PIP_NO_INDEX": "1"},
            capture_output=True, text=True, timeout=240, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        (wheel,) = out.glob("spyglass-*-py3-none-any.whl")
        return zipfile.ZipFile(wheel).namelist()

    first = wheel_names(tmp_path / "first")
    assert "spyglass/zz_removed_since.py" in first  # (the build saw them)
    gone_module.unlink()
    gone_blob.unlink()
    assert (tree / "build" / "lib" / "spyglass").is_dir()  # what the second build finds
    names = wheel_names(tmp_path / "second")
    assert "spyglass/core/__init__.py" in names
    assert "spyglass/resources/sample-layout/index.json" in names
    assert "spyglass/zz_removed_since.py" not in names
    assert not [n for n in names if n.endswith("0" * 64)]


def build_sdist(tree: Path, out: Path) -> Path:
    """The source distribution of ``tree``, built by setuptools' PEP 517 hook (as
    ``python -m build --sdist`` does) with the setuptools installed here."""
    out.mkdir()
    script = ("import sys; from setuptools import build_meta; "
              "print(build_meta.build_sdist(sys.argv[1]))")
    result = subprocess.run([sys.executable, "-c", script, str(out)], cwd=tree,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return out / result.stdout.strip().splitlines()[-1]


def test_the_sdist_carries_the_tests_and_what_the_sample_is_made_from(
        tmp_path: Path) -> None:
    """A distribution builds from the sdist and runs the tests from it (``make test``:
    the Makefile, tests/, benchmarks/, resources/ linted too), and wants the source of
    the generated sample blobs (resources/make_sample_layout.py)."""
    tree = source_copy(tmp_path)
    sdist = build_sdist(tree, tmp_path / "dist")
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        carried = {name.removeprefix(top + "/") for name in archive.getnames()}
    for needed in ("Makefile", "README.md", "pyproject.toml", "setup.py",
                   "resources/make_sample_layout.py", "tests/conftest.py",
                   "tests/unit/test_packaging.py", "benchmarks/bench_copy.py"):
        assert needed in carried
    source = {name for name in source_files(tree) if not name.startswith(".")}
    assert sorted(source - carried) == []
    assert not [name for name in carried if "__pycache__" in name or name.endswith(".pyc")]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_the_setuptools_floor_lets_debian_12_build_it() -> None:
    """Distributions build without isolation, with their own setuptools, and the build
    stops when it is below the floor: Debian 12 has 66.1, which builds the same wheel
    (as do 65.5, 67.6 and 84). Below 61 setuptools reads no [project] table."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        requires = tomllib.load(file)["build-system"]["requires"]
    (setuptools,) = [r for r in requires if r.startswith("setuptools")]
    floor = _version(setuptools.removeprefix("setuptools>="))
    assert (61,) <= floor <= (66, 1)


def test_the_dev_extra_installs_what_the_tests_need() -> None:
    """``pip install -e '.[dev]'`` could not run the tests: it lacked keyrings.alt, bcrypt
    and cryptography, which the test extra has (the two lists had drifted apart)."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        extras = tomllib.load(file)["project"]["optional-dependencies"]
    dev = set(extras["dev"])
    assert "spyglass[test]" in dev or set(extras["test"]) <= dev


CONTEXT_SINGLE_SHOT: Final = (6, 7)
"""The first PySide6 with ``QTimer.singleShot(ms, context, callable)``: 6.6 raises a
TypeError for it (the Add Registry dialog, a theme change, a registry's idle lane)."""


def _single_shots_with_a_context() -> list[str]:
    """Where the package calls ``QTimer.singleShot`` with a context object."""
    found = []
    for path in (ROOT / "app" / "spyglass").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "singleShot" and len(node.args) == 3):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_the_pyside6_floor_has_every_call_the_window_makes() -> None:
    """pip took PySide6 6.6, which the floor allowed, and the window then failed with
    TypeErrors wherever it calls what came in 6.7."""
    with open(ROOT / "pyproject.toml", "rb") as file:
        dependencies = tomllib.load(file)["project"]["dependencies"]
    (pyside,) = [Requirement(d) for d in dependencies
                 if Requirement(d).name == "PySide6-Essentials"]
    lowest = next(v for v in (f"6.{minor}.{patch}" for minor in range(0, 20)
                              for patch in range(0, 4)) if pyside.specifier.contains(v))
    needed = CONTEXT_SINGLE_SHOT if _single_shots_with_a_context() else (6, 0)
    assert _version(lowest)[:2] >= needed, (
        f"PySide6 {lowest} is allowed, but {_single_shots_with_a_context()} need "
        f"{'.'.join(map(str, needed))}")
    assert not pyside.specifier.contains("6.12.0")  # (it aborts long sessions)


def test_the_readmes_install_commands_work_on_an_externally_managed_python() -> None:
    """Debian 12 and Ubuntu 23.04 on refuse ``python3 -m pip install`` into the system's
    Python (PEP 668, ``externally-managed-environment``): README installs the wheel with
    pipx or with a virtual environment's own pip, never with the system's."""
    readme = (ROOT / "README.md").read_text()
    installing = readme.split("\n## Installing\n", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#", 1)[0].strip() for block in installing.split("```sh\n")[1:]
                for line in block.split("```", 1)[0].splitlines()]
    installs = [command for command in commands if "install dist/" in command]
    assert installs
    for command in installs:
        program = command.split()[0]
        assert program == "pipx" or program.endswith("-venv/bin/pip"), command
    venv = [command for command in commands if " -m venv " in command]
    assert venv == ["python3 -m venv ~/.local/share/spyglass-venv"]


def test_the_readmes_install_commands_make_the_folder_they_link_into() -> None:
    """A new account has no ``~/.local/bin`` (Debian makes none): the README's ``ln -s …
    ~/.local/bin/spyglass`` failed with "No such file or directory" until a
    ``mkdir -p`` came first; and the README says how to see whether it is on PATH."""
    readme = (ROOT / "README.md").read_text()
    installing = readme.split("\n## Installing\n", 1)[1].split("\n## ", 1)[0]
    commands = [line.split("#", 1)[0].strip() for block in installing.split("```sh\n")[1:]
                for line in block.split("```", 1)[0].splitlines()]
    links = [at for at, command in enumerate(commands) if command.startswith("ln ")]
    assert links
    for at in links:
        folder = commands[at].split()[-1].rsplit("/", 1)[0]
        assert f"mkdir -p {folder}" in commands[:at], commands[at]
    assert "command -v spyglass" in installing and "pipx ensurepath" in installing
