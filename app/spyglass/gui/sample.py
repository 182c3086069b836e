"""The sample layout the window opens at its first start: the user's own copy of the one
Spyglass bundles, so that an image dropped on it is written there, never into the source
tree of a checkout (its committed files) nor into an installed package (often read-only).

The copy is made once, under ``platformdirs.user_data_dir("spyglass")``, whole or not at
all (into a temporary folder beside it, renamed into place). Where it cannot be made (no
home folder, a read-only one), the bundled layout is opened as it is.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from spyglass.core.cachedir import make_user_folder

log = logging.getLogger(__name__)

FOLDER = "sample-layout"


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


def main() -> int:
    """Print the path of the user's own sample layout, making it if need be (``make run``
    opens the window on it)."""
    from spyglass.gui.icons import resources_dir

    found = own_sample(resources_dir() / FOLDER)
    print(found if found is not None else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
