"""Shared test helpers: image builders and checks for the outside tools the tests use.

Fixtures that build images live here, not copied into each test
(``tests.helpers.imagebuild``).
"""

from __future__ import annotations

import shutil

import pytest


def require_tool(*names: str) -> str:
    """Return the path of the first of *names* found on ``PATH``, or skip the test.

    The skip reason names the tools and how to get them, e.g.
    ``require_tool("registry", "docker-registry")``.
    """
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(
        f"needs {' or '.join(names)} on PATH; `make system-deps` installs it (as root on Debian)"
    )
