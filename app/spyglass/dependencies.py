"""Spyglass's Python dependencies by the name they are imported as, so that one missing
(``pip install --no-deps``, a distribution's package without it) is said as the
installation problem it is, not as an internal error to report: by the command line
(:mod:`spyglass.cli`) and by the window's jobs (:mod:`spyglass.gui.workers`) alike, for
a dependency imported only when it is needed (zstandard, PyYAML, keyring, cryptography)."""

from __future__ import annotations

from typing import Final

__all__ = ["DEPENDENCIES", "missing_dependency_problem"]

DEPENDENCIES: Final = {
    "PySide6": "PySide6-Essentials",
    "shiboken6": "PySide6-Essentials",
    "httpx": "httpx",
    "httpcore": "httpx",
    "zstandard": "zstandard",
    "zlib_ng": "zlib-ng",
    "keyring": "keyring",
    "platformdirs": "platformdirs",
    "cryptography": "cryptography",
    "yaml": "PyYAML",
}
"""The top-level module each of pyproject.toml's ``dependencies`` is imported as (and
what one of them imports in turn, installed with it), and the package to install."""


def missing_dependency_problem(exc: BaseException) -> str | None:
    """A ``ModuleNotFoundError`` for a dependency of Spyglass, or for a module that one
    of them imports (httpx's h11, idna or certifi: the dependency is installed without
    its own), as a sentence naming the package and how to install it; ``None`` for any
    other error (a module of Spyglass itself missing is a broken installation of
    Spyglass, not of a dependency)."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    package = DEPENDENCIES.get(exc.name.split(".", 1)[0])
    if package is not None:
        return (f"Spyglass needs the Python package {package}, which is not installed "
                f"(No module named '{exc.name}'): {_install(package)}.")
    importer = DEPENDENCIES.get(_importing_module(exc).split(".", 1)[0])
    if importer is None:
        return None
    return (f"Spyglass needs the Python package {importer}, which is installed without the "
            f"module {exc.name} it imports (No module named '{exc.name}'): "
            f"{_install(importer)}.")


def _install(package: str) -> str:
    return ("install Spyglass again with its dependencies (pip install without "
            f"--no-deps), or install {package} where Spyglass is installed (pip install "
            f"'{package}', or your distribution's package of it)")


def _importing_module(exc: BaseException) -> str:
    """The module whose code ran the import that failed: the innermost frame of the
    traceback (Python leaves out the import machinery's own), passing over
    ``importlib.import_module``; ``""`` when there is none."""
    name = ""
    frame = exc.__traceback__
    while frame is not None:
        module = frame.tb_frame.f_globals.get("__name__")
        if isinstance(module, str) and module != "importlib" and \
                not module.startswith("importlib."):
            name = module
        frame = frame.tb_next
    return name
