"""Spyglass's Python dependencies by the name they are imported as, so that one missing
(``pip install --no-deps``, a distribution's package without it) is said as the
installation problem it is, not as an internal error to report."""

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
    """A ``ModuleNotFoundError`` for a dependency of Spyglass as a sentence naming the
    package and how to install it; ``None`` for any other error (a module of Spyglass
    itself missing is a broken installation of Spyglass, not of a dependency)."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    package = DEPENDENCIES.get(exc.name.split(".", 1)[0])
    if package is None:
        return None
    return (f"Spyglass needs the Python package {package}, which is not installed "
            f"(No module named '{exc.name}'): install Spyglass again with its "
            f"dependencies (pip install without --no-deps), or install {package} where "
            "Spyglass is installed (pip install "
            f"'{package}', or your distribution's package of it).")
