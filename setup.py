"""The build's one step beyond pyproject.toml: a wheel carries what the installed window
reads from ``resources/`` (the bundled sample layout and the icon), as package data in
``spyglass/resources/``, where :func:`spyglass.gui.icons.resources_dir` looks first. The
source tree keeps them at its top, where a checkout and an editable install read them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("resources/sample-layout", "resources/icons")
"""The folders of ``resources/`` the program reads; the screenshots and the script that
writes the sample layout stay out."""


class BuildWithResources(build_py):
    """``build_py`` into a package folder built from nothing, then :data:`BUNDLED` copied
    into it.

    pip (21.3 on) builds in the tree, and ``build_py`` and ``copy_tree`` only add to what
    an earlier build left in ``build/lib``: a module removed, or a sample blob ``make
    sample`` dropped, went on into every later wheel of ``pip install .`` and ``pip wheel
    .`` (``make wheel`` removes ``build/`` itself). The built folders of this project's
    packages are removed first; nothing else in ``build_lib`` is touched.
    """

    def run(self) -> None:
        editable = getattr(self, "editable_mode", False)
        if not editable:
            for top in sorted({name.split(".")[0] for name in self.packages or ()}):
                shutil.rmtree(Path(self.build_lib) / top, ignore_errors=True)
        super().run()
        if editable:
            return  # an editable install reads them from the source tree
        here = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "spyglass" / "resources"
        for folder in BUNDLED:
            self.copy_tree(str(here / folder), str(target / Path(folder).name))


setup(cmdclass={"build_py": BuildWithResources})
