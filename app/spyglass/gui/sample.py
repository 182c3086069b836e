"""The sample layout the window opens at its first start: the user's own copy of the one
Spyglass bundles, so that an image dropped on it is written there, never into the source
tree of a checkout (its committed files) nor into an installed package (often read-only).

The copy is made once, under ``platformdirs.user_data_dir("spyglass")``, whole or not at
all (into a temporary folder beside it, renamed into place). A folder at its name without
an ``index.json`` (a half-made copy, a copy damaged since) is removed when it holds only
the sample's own files, else renamed aside (``sample-layout.bad``), and the copy made
again. Where it cannot be made (no home folder, a read-only one), the bundled layout is
opened as it is (and the window never remembers it as a place).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Final

from spyglass.core.cachedir import make_user_folder

log = logging.getLogger(__name__)

FOLDER = "sample-layout"
STALE_AGE: Final = 60.0
"""Seconds after which a staging folder (``.sample-layout-XXXXXXXX``) is one a copy that
was killed left, and is removed by the next."""


def user_data_dir() -> Path:
    """Where the user's own copy of the sample goes (``$XDG_DATA_HOME/spyglass``)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("spyglass"))


def own_sample(bundled: Path, data_dir: Path | None = None) -> Path | None:
    """The user's copy of the ``bundled`` sample layout, made if it is not there yet;
    ``bundled`` itself when no copy can be made; None when nothing is bundled (a copy
    packaged without it). Reads and writes the disk: call it off the window's thread."""
    if not (bundled / "index.json").is_file():
        return None
    folder = data_dir if data_dir is not None else user_data_dir()
    target = folder / FOLDER
    if (target / "index.json").is_file():
        return target
    try:
        # (below an existing home or $XDG_DATA_HOME only: a home that is not there is
        # never made, as for the cache and the settings)
        make_user_folder(folder, "XDG_DATA_HOME")
        _remove_stale_staging(folder)
        if os.path.lexists(target):
            _clear_broken(bundled, target)
        staging = Path(tempfile.mkdtemp(prefix=f".{FOLDER}-", dir=folder))
        try:
            shutil.copytree(bundled, staging, dirs_exist_ok=True)
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    except OSError as exc:
        if (target / "index.json").is_file():  # another window made it meanwhile
            return target
        log.info("The sample layout is opened where Spyglass keeps it (%s): a copy of "
                 "your own could not be made in %s (%s).", bundled, folder, exc)
        return bundled
    return target


def _remove_stale_staging(folder: Path) -> None:
    """Remove the staging folders copies killed midway left."""
    now = time.time()
    for left in folder.glob(f".{FOLDER}-*"):
        try:
            if left.is_dir() and not left.is_symlink() and now - left.stat().st_mtime > STALE_AGE:
                shutil.rmtree(left)
        except OSError:
            continue


def _only_sample_files(bundled: Path, target: Path) -> bool:
    """Whether everything in ``target`` is a file of the ``bundled`` sample, of its size
    (a half-made copy of it: nothing of the user's)."""
    for item in target.rglob("*"):
        theirs = bundled / item.relative_to(target)
        if item.is_symlink() or not theirs.exists():
            return False
        if item.is_file() and (not theirs.is_file()
                               or item.stat().st_size != theirs.stat().st_size):
            return False
    return True


def _clear_broken(bundled: Path, target: Path) -> None:
    """Make way for a new copy where ``target`` is there without an ``index.json``: remove a
    half-made copy of the sample, rename anything else aside to a free ``.bad`` name.
    Another window starting at the same moment may be doing the same: what it removed
    first is not an error."""
    try:
        ours = (target.is_dir() and not target.is_symlink()
                and _only_sample_files(bundled, target))
    except FileNotFoundError:  # going: another window is removing it
        ours = True
    if ours:
        shutil.rmtree(target, onerror=_gone_is_fine)
        log.info("Removed %s, a copy of the sample layout made only in part.", target)
        return
    aside = target.with_name(f"{target.name}.bad")
    number = 0
    while os.path.lexists(aside):
        number += 1
        aside = target.with_name(f"{target.name}.bad.{number}")
    try:
        os.rename(target, aside)
    except FileNotFoundError:
        return  # set aside by another window meanwhile
    log.warning("The sample layout %s has no index.json; it was renamed to %s and the "
                "sample copied again.", target, aside)


def _gone_is_fine(function: object, path: str,
                  exc_info: tuple[type[BaseException], BaseException, object]) -> None:
    """:func:`shutil.rmtree`'s error handler: what is gone already (another window removed
    it) is fine; anything else is raised."""
    if not isinstance(exc_info[1], FileNotFoundError):
        raise exc_info[1]


def main() -> int:
    """Print the path of the user's own sample layout, making it if need be (``make run``
    opens the window on it)."""
    from spyglass.gui.icons import resources_dir

    found = own_sample(resources_dir() / FOLDER)
    print(found if found is not None else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
