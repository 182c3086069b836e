"""Where big temporary files go (``$TMPDIR``, ``--tmpdir``), and the advice to choose
another folder for them: kept apart from the archive machinery (``tarfile``) that most
commands never load, so that a copy's room check costs no imports."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Final

_BIG_FILES_DEFAULT: Final = "/var/tmp"

_tmpdir_flag: str | None = None
"""The folder ``--tmpdir`` named on the command line, where it was given."""


def tmpdir_given(folder: Path) -> None:
    """``--tmpdir FOLDER`` was given: big temporary files go there (``$TMPDIR`` is set to
    it), and advice to choose another folder names that flag."""
    global _tmpdir_flag
    os.environ["TMPDIR"] = str(folder)
    _tmpdir_flag = str(folder)


def other_folder_advice(wanted: str) -> str:
    """How to send big temporary files to a folder ``wanted`` (``with more room``), on the
    command line: with ``--tmpdir``, where that flag chose the folder in force, else with
    ``$TMPDIR``."""
    if _tmpdir_flag is not None and os.environ.get("TMPDIR") == _tmpdir_flag:
        return f"give --tmpdir a folder {wanted}"
    return f"set TMPDIR to a folder {wanted}"


def restart_advice(wanted: str) -> str:
    """The same in the window, which reads ``$TMPDIR`` as it was when it started: a
    running Spyglass cannot be given another folder, so the advice is to start it again."""
    return f"quit Spyglass and start it again with TMPDIR set to a folder {wanted}"


def big_files_folder() -> Path:
    """Where big temporary files go: ``$TMPDIR``, else ``/var/tmp`` (containers/image's
    ``TemporaryDirectoryForBigFiles``), else the system's temporary folder where there
    is no ``/var/tmp``. Read anew on every call, so that a changed ``$TMPDIR`` counts."""
    chosen = os.environ.get("TMPDIR")
    if chosen:
        return Path(chosen)
    if os.path.isdir(_BIG_FILES_DEFAULT):
        return Path(_BIG_FILES_DEFAULT)
    return Path(tempfile.gettempdir())
