"""The build's one step beyond pyproject.toml: a wheel carries what the installed window
reads from ``resources/`` (the bundled sample layout and the icon), as package data in
``spyglass/resources/``, where :func:`spyglass.gui.icons.resources_dir` looks first. The
source tree keeps them at its top, where a checkout and an editable install read them.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("resources/sample-layout", "resources/icons")
"""The folders of ``resources/`` the program reads; the screenshots and the script that
writes the sample layout stay out."""


class BuildWithResources(build_py):
    """``build_py``, then :data:`BUNDLED` copied into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the source tree
        here = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "spyglass" / "resources"
        for folder in BUNDLED:
            self.copy_tree(str(here / folder), str(target / Path(folder).name))


setup(cmdclass={"build_py": BuildWithResources})
