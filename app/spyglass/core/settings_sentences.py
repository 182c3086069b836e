"""What the window says about the settings file: one left out of use, fields left out
of it, a newer Spyglass's, a folder for it that cannot be made.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from spyglass.core.settings import CONFIG_VARIABLE, FORMAT_VERSION, Problems

_SHOWN_PROBLEMS: Final = 3


def _problem_list(problems: Problems) -> str:
    shown = "; ".join(problems[:_SHOWN_PROBLEMS])
    more = len(problems) - _SHOWN_PROBLEMS
    return shown + (f"; and {more} more" if more > 0 else "")


def _missing_folder(folder: Path) -> str:
    """What is not there that the settings folder would be made in (or may not be written
    to), and why that ends it."""
    from spyglass.core.cachedir import unwritable_above

    blocked = unwritable_above(folder)
    if blocked is not None and blocked.is_dir():
        return (f'the folder "{folder}" cannot be made: you may not write to "{blocked}" '
                "(a read-only home folder?)")
    xdg = os.environ.get(CONFIG_VARIABLE, "")
    if xdg and os.path.isabs(xdg) and folder.is_relative_to(xdg):
        return (f'the folder "{xdg}" (${CONFIG_VARIABLE}) does not exist, nor the folder it '
                "would be made in, and Spyglass makes only the last folder of it")
    home = os.path.expanduser("~")
    if os.path.isabs(home) and folder.is_relative_to(home):
        return f'the home folder "{home}" does not exist, and Spyglass makes no home folder'
    return (f'the folder "{folder}" does not exist, and Spyglass makes folders only in the '
            f"home folder or ${CONFIG_VARIABLE}")


def not_kept_sentence(folder: Path) -> str:
    return (f"The settings cannot be kept: {_missing_folder(folder)}. Changes made in this "
            "window last only until Spyglass quits.")


def newer_sentence(shown: Path, version: int) -> str:
    return (f'The settings file "{shown}" was written by a newer Spyglass (settings '
            f"format {version}; this one knows format {FORMAT_VERSION}). This Spyglass "
            "reads it but never rewrites it, so changes made in this window last only "
            "until Spyglass quits.")


def unreadable_sentence(shown: Path, reason: str) -> str:
    return (f'The settings file "{shown}" cannot be read ({reason}), so Spyglass started '
            "without the registries and places it keeps. Spyglass does not change that "
            "file, so changes made in this window last only until Spyglass quits. Make it "
            f'readable again (one made by sudo spyglass belongs to root: sudo chown "$USER" '
            f'"{shown}"), then start Spyglass again.')


def set_aside_sentence(shown: Path, reason: str, bad: Path | None, why: str) -> str:
    said = (f'The settings file "{shown}" could not be used ({reason}), so Spyglass '
            "started without the registries and places it kept. ")
    if bad is not None:
        return said + f'The file was renamed to "{bad}": what it held is there.'
    return said + (f"It could not be renamed aside either ({why}): move it away, or "
                   "the settings cannot be saved.")


def left_out_sentence(shown: Path, problems: Problems) -> str:
    """The fields left out of ``shown``, said before the file could be copied aside."""
    return (f'Some settings in "{shown}" could not be used and were left out: '
            f"{_problem_list(problems)}. The file is left as it is until the settings "
            "can be saved.")


def problems_sentence(shown: Path, problems: Problems, backup: Path) -> str:
    return (f'Some settings in "{shown}" could not be used and were left out: '
            f'{_problem_list(problems)}. The file as it was is kept as "{backup}".')
