"""``spyglass`` where a system library of Qt's is missing (a pip or pipx install on a
system without ``libxcb-cursor0`` or ``libegl1``): a sentence naming the library and the
package that holds it, status 1, before Qt is loaded; not Qt's abort (status 134, a core
dump, "Reinstalling the application may fix this problem") nor a traceback."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import socket
import subprocess
import sys
import types
from pathlib import Path

import pytest

from spyglass.cli import main
from spyglass.cli import window_libraries as libraries
from spyglass.cli.window_libraries import (
    WINDOW_LIBRARIES,
    debian_packages,
    import_problem,
    missing_libraries_problem,
)

REPO = Path(__file__).resolve().parents[2]


def _lacking(*sonames: str) -> libraries.Loader:
    def load(soname: str) -> object:
        if soname in sonames:
            raise OSError(f"{soname}: cannot open shared object file: No such file or "
                          "directory")
        return None
    return load


def test_a_missing_xcb_library_is_named_with_its_package() -> None:
    assert missing_libraries_problem(True, _lacking("libxcb-cursor.so.0")) == (
        "The window needs the system library libxcb-cursor.so.0, which is not installed: on "
        "Debian or Ubuntu, sudo apt-get install libxcb-cursor0; on another system, install "
        "the package of your distribution that provides libxcb-cursor.so.0.")


def test_several_missing_are_named_together() -> None:
    said = missing_libraries_problem(True, _lacking("libEGL.so.1", "libxcb-cursor.so.0"))
    assert said == (
        "The window needs system libraries that are not installed: libEGL.so.1, "
        "libxcb-cursor.so.0; on Debian or Ubuntu, sudo apt-get install libegl1 "
        "libxcb-cursor0; on another system, install the packages of your distribution that "
        "provide them.")


def test_xcb_libraries_are_asked_only_for_the_xcb_platform() -> None:
    asked: list[str] = []
    assert missing_libraries_problem(False, lambda name: asked.append(name)) is None
    assert "libEGL.so.1" in asked
    assert not [name for name in asked if name.startswith("libxcb")]
    assert missing_libraries_problem(False, _lacking("libxcb-cursor.so.0")) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's libraries")
def test_this_system_has_them_all() -> None:
    """(The tests' own window runs here: ``make system-deps`` installs them.)"""
    assert missing_libraries_problem(True) is None


def test_qts_import_error_for_a_library_is_a_sentence() -> None:
    error = ImportError("libEGL.so.1: cannot open shared object file: No such file or "
                        "directory")
    assert import_problem(error) == missing_libraries_problem(False, _lacking("libEGL.so.1"))
    other = ImportError("libfoo.so.7: cannot open shared object file: No such file or "
                        "directory")
    assert import_problem(other) == (
        "The window needs the system library libfoo.so.7, which Qt could not load "
        "(libfoo.so.7: cannot open shared object file: No such file or directory): install "
        "the package of your distribution that provides it.")
    assert import_problem(ImportError("cannot import name 'run'")) is None


def test_the_makefile_installs_what_the_program_checks() -> None:
    """One list: ``make window-deps`` (and system-deps) names or installs the Debian
    packages of the libraries the installed ``spyglass`` looks for."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    shown = subprocess.run(["make", "--no-print-directory", f"PYTHON={sys.executable}",
                            "--eval", "show-window-packages: ; @echo $(WINDOW_PACKAGES)",
                            "show-window-packages"], cwd=REPO, capture_output=True,
                           text=True, timeout=60, check=True)
    assert shown.stdout.split() == debian_packages()
    assert {"libxcb-cursor0", "libegl1", "fonts-dejavu-core"} <= set(debian_packages())
    assert len({library.debian for library in WINDOW_LIBRARIES}) == len(WINDOW_LIBRARIES)


def test_the_window_is_not_opened_without_them(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(libraries, "_load", _lacking("libxcb-cursor.so.0"))
    monkeypatch.setattr("spyglass.cli.display.display_problem", lambda environ: None)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    opened: list[list[str]] = []
    fake_app = types.ModuleType("spyglass.gui.app")
    fake_app.run = opened.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "spyglass.gui.app", fake_app)
    assert main([]) == 1
    assert capsys.readouterr().err == (
        "spyglass: The window needs the system library libxcb-cursor.so.0, which is not "
        "installed: on Debian or Ubuntu, sudo apt-get install libxcb-cursor0; on another "
        "system, install the package of your distribution that provides "
        "libxcb-cursor.so.0.\n")
    assert opened == []


class _FailingImport(types.ModuleType):
    """``spyglass.gui.app`` whose import fails as Qt's does: ``from … import run`` raises
    the error given."""

    def __init__(self, error: ImportError) -> None:
        super().__init__("spyglass.gui.app")
        self.error = error

    def __getattr__(self, name: str) -> object:
        raise self.error


@pytest.mark.parametrize(("error", "said"), [
    (ImportError("libEGL.so.1: cannot open shared object file: No such file or directory"),
     "spyglass: The window needs the system library libEGL.so.1, which is not installed: on "
     "Debian or Ubuntu, sudo apt-get install libegl1; on another system, install the package "
     "of your distribution that provides libEGL.so.1.\n"),
    (ModuleNotFoundError("No module named 'PySide6'", name="PySide6"),
     "spyglass: Spyglass needs the Python package PySide6-Essentials, which is not installed "
     "(No module named 'PySide6'): install Spyglass again with its dependencies (pip install "
     "without --no-deps), or install PySide6-Essentials where Spyglass is installed (pip "
     "install 'PySide6-Essentials', or your distribution's package of it).\n"),
])
def test_qt_failing_to_import_is_a_sentence(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str],
                                            error: ImportError, said: str) -> None:
    monkeypatch.setattr(libraries, "_load", _lacking())
    monkeypatch.setattr("spyglass.cli.display.display_problem", lambda environ: None)
    monkeypatch.setitem(sys.modules, "spyglass.gui.app", _FailingImport(error))
    assert main([]) == 1
    assert capsys.readouterr().err == said


def _library_file(soname: str) -> Path | None:
    """Where ``soname`` is loaded from in this process (from /proc/self/maps)."""
    ctypes.CDLL(soname)
    for line in Path("/proc/self/maps").read_text().splitlines():
        if re.search(rf"/{re.escape(soname)}(\.[\d.]*)?$", line):
            return Path(line.split()[-1])
    return None


def test_the_program_says_it_with_the_library_really_gone(tmp_path: Path) -> None:
    """As the report found it: ``libxcb-cursor.so.0`` hidden (a bind mount of /dev/null in
    a mount namespace of the program's own), an X display answering; Qt aborted with 134."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("hiding a library needs root and unshare (a mount namespace)")
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux's libraries")
    library = _library_file("libxcb-cursor.so.0")
    assert library is not None
    number = 3000 + os.getpid() % 1000
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(f"\0/tmp/.X11-unix/X{number}")  # (where an X server listens too)
        server.listen(1)
        env = {**os.environ, "PYTHONPATH": str(REPO / "app"), "DISPLAY": f":{number}",
               "QT_QPA_PLATFORM": "xcb", "HOME": str(tmp_path),
               "XDG_CONFIG_HOME": str(tmp_path / "config")}
        env.pop("WAYLAND_DISPLAY", None)
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c",
             f'mount --bind /dev/null "{library}" && exec "$0" -m spyglass', sys.executable],
            env=env, capture_output=True, text=True, timeout=60, check=False)
    if "mount" in done.stderr and done.returncode != 1:
        pytest.skip(f"mount --bind is not allowed here: {done.stderr.strip()}")
    assert (done.returncode, done.stderr) == (1, (
        "spyglass: The window needs the system library libxcb-cursor.so.0, which is not "
        "installed: on Debian or Ubuntu, sudo apt-get install libxcb-cursor0; on another "
        "system, install the package of your distribution that provides "
        "libxcb-cursor.so.0.\n"))
