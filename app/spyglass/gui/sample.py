"""The sample layout the window opens at its first start: the user's own copy of the one
Spyglass bundles, so that an image dropped on it is written there, never into the source
tree of a checkout (its committed files) nor into an installed package (often read-only).

The copy is made once, under ``platformdirs.user_data_dir("spyglass")``, whole or not at
all (into a temporary folder beside it, renamed into place). Beside it, :data:`MADE_FROM`
notes the digest of the ``index.json`` it was copied with: when the bundled sample
changes (``make sample``, a newer Spyglass) and the copy is still exactly as it was made
(that ``index.json``, the blobs it reaches and nothing else: no copy into it under way,
no file put there), the copy is replaced by one of the new sample, made the same way; a
copy written to, or one made before the note was kept, stays as it is.
A folder at its name without an ``index.json`` (a half-made copy, a copy damaged
since) is removed when it holds only the sample's own files, else renamed aside
(``sample-layout.bad``), and the copy made again. Where it cannot be made (no home
folder, a read-only one), the bundled layout is opened as it is (and the window never
remembers it as a place).

The copy is the user's to write to, whatever the modes of the installed files (a Nix or
Guix store, an image whose files are 0444 and folders 0555): what it holds gets the
owner's write permission (folders their search too), and a copy an earlier Spyglass made
read-only from such an install gets it when it is next opened.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path
from typing import Final

from spyglass.core.cachedir import make_user_folder, tighten_own_folder
from spyglass.core.digest import Digest
from spyglass.core.transports.files import blob_path
from spyglass.core.transports.layout_files import referenced_blobs

log = logging.getLogger(__name__)

FOLDER = "sample-layout"
MADE_FROM: Final = f".{FOLDER}.made-from"
"""Beside the copy: ``sha256:HEX``, the digest of the ``index.json`` it was made with."""
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
        tighten_own_folder(folder)  # (one an older Spyglass made 0755)
        if _outdated(bundled, folder):
            return _renewed(bundled, folder)
        _make_writable_if_read_only(target)
        return target
    try:
        # (below an existing home or $XDG_DATA_HOME only: a home that is not there is
        # never made, as for the cache and the settings)
        make_user_folder(folder, "XDG_DATA_HOME")
        _remove_stale_staging(folder)
        if os.path.lexists(target):
            _clear_broken(bundled, target)
        staging = _staged_copy(bundled, folder)
        try:
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _note_made_from(bundled, folder)
    except OSError as exc:
        if (target / "index.json").is_file():  # another window made it meanwhile
            return target
        log.info("The sample layout is opened where Spyglass keeps it (%s): a copy of "
                 "your own could not be made in %s (%s).", bundled, folder, _why(exc))
        return bundled
    return target


def _staged_copy(bundled: Path, folder: Path) -> Path:
    """A whole, writable copy of ``bundled`` in a new staging folder of ``folder``."""
    staging = Path(tempfile.mkdtemp(prefix=f".{FOLDER}-", dir=folder))
    try:
        shutil.copytree(bundled, staging, dirs_exist_ok=True)
        _make_writable(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _note_made_from(bundled: Path, folder: Path) -> None:
    """Note :data:`MADE_FROM` for a copy just made of ``bundled`` (written whole, or not at
    all: without it the copy is never renewed, which is all a failure costs)."""
    note = folder / MADE_FROM
    part = note.with_name(f"{note.name}.{os.getpid()}")
    try:
        part.write_text(_digest(bundled / "index.json") + "\n")
        os.replace(part, note)
    except OSError as exc:
        log.info("Could not note what the sample layout in %s was copied from (%s).",
                 folder, exc.strerror or exc)
        part.unlink(missing_ok=True)


def _outdated(bundled: Path, folder: Path) -> bool:
    """Whether the copy in ``folder`` is of a bundled sample that has changed since, with
    nothing written to it: its ``index.json`` is the one :data:`MADE_FROM` notes, the
    bundled one is another, and the copy holds nothing but what that ``index.json``
    reaches (see :func:`_as_made`). A copy without the note (an earlier Spyglass made
    it) that is the bundled sample's is noted now. Never raises (unreadable: kept as it
    is)."""
    try:
        now = _digest(folder / FOLDER / "index.json")
        bundled_now = _digest(bundled / "index.json")
        try:
            made_from = (folder / MADE_FROM).read_text().strip()
        except FileNotFoundError:
            if now == bundled_now:
                _note_made_from(bundled, folder)
            return False
    except (OSError, UnicodeDecodeError):
        return False
    return now == made_from and now != bundled_now and _as_made(folder / FOLDER)


def _as_made(copy: Path) -> bool:
    """Whether the layout ``copy`` is still exactly as it was made: ``oci-layout``,
    ``index.json`` and the blobs it reaches, each whole, and nothing else. A copy into
    it under way (its blobs and ``index.json.lock`` are written before the index that
    names them), a temporary file a write left, anything else put there: not, and the
    copy is kept rather than replaced (which would delete them); so is one made of a
    bundled sample with blobs its index does not reach (``make sample`` writes none).
    Never raises (unreadable: not)."""
    blobs = referenced_blobs(copy, f'the sample layout "{copy}"')
    if blobs is None:
        return False
    expected = {Path(blob_path(digest)): digest for digest in blobs}
    folders = {Path("blobs")} | {path.parent for path in expected}
    try:
        for item in copy.rglob("*"):
            relative = item.relative_to(copy)
            if item.is_symlink():
                return False
            if item.is_dir():
                if relative not in folders:
                    return False
            elif relative in expected:
                digest = expected[relative]
                if Digest.of(item.read_bytes(), digest.algorithm) != digest:
                    return False
            elif str(relative) not in ("oci-layout", "index.json"):
                return False
    except (OSError, ValueError):
        return False
    return True


def _renewed(bundled: Path, folder: Path) -> Path:
    """Replace the outdated copy in ``folder`` by a copy of ``bundled``: made beside it,
    then the old one renamed aside and the new renamed into place. Another window doing
    the same at the same moment may have put its own there first: that one is kept.
    Where it cannot be done, the old copy is opened as it is (and why is logged)."""
    target = folder / FOLDER
    try:
        _remove_stale_staging(folder)
        staging = _staged_copy(bundled, folder)
        aside = Path(tempfile.mkdtemp(prefix=f".{FOLDER}-", dir=folder))
        try:
            try:
                os.rename(target, aside / FOLDER)
            except FileNotFoundError:
                pass  # (renamed aside by another window already)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # (there still if not renamed)
            shutil.rmtree(aside, ignore_errors=True)
    except OSError as exc:
        if not (target / "index.json").is_file():
            log.info("The sample layout in %s could not be renewed (%s); the bundled one "
                     "at %s is opened.", folder, _why(exc), bundled)
            return bundled
        if _outdated(bundled, folder):  # (else another window renewed it meanwhile)
            log.info("The sample layout %s is a copy of an older bundled sample, and could "
                     "not be renewed (%s); it is opened as it is.", target, _why(exc))
        return target
    _note_made_from(bundled, folder)
    log.info("The sample layout %s was a copy of an older bundled sample, unchanged "
             "since: it is a copy of the current one now.", target)
    return target


def _why(exc: OSError) -> str:
    """Why a copy could not be made, short: copytree's :class:`shutil.Error` lists every
    file it could not copy, with both paths (a full disk: each file of the sample); the
    first reason is said, and how many more files failed."""
    failures = exc.args[0] if isinstance(exc, shutil.Error) and exc.args else None
    if not isinstance(failures, list) or not failures:
        return exc.strerror or str(exc)
    first = failures[0]
    reason = str(first[-1]) if isinstance(first, tuple) and first else str(first)
    reason = re.sub(r"^\[Errno \d+\] ", "", reason).split(": '")[0]
    more = len(failures) - 1
    return reason + (f", and {more} more file{'s' if more > 1 else ''}" if more else "")


def _make_writable(root: Path) -> None:
    """Give the owner what the copy ``root`` needs to be written to: ``u+w`` on every file
    and folder of it, ``u+rx`` on folders, ``u+r`` on files (the modes the installed files
    had are copied with them). Only what the user owns; symbolic links are left alone."""
    uid = os.getuid()
    for here, folders, files in os.walk(root):
        for name in (".", *folders, *files):
            path = os.path.join(here, name)
            found = os.lstat(path)
            if stat.S_ISLNK(found.st_mode) or found.st_uid != uid:
                continue
            needed = stat.S_IRUSR | stat.S_IWUSR
            if stat.S_ISDIR(found.st_mode):
                needed |= stat.S_IXUSR
            if found.st_mode & needed != needed:
                os.chmod(path, stat.S_IMODE(found.st_mode) | needed)


def _make_writable_if_read_only(target: Path) -> None:
    """:func:`_make_writable` for a copy whose folder the user cannot write to (one an
    earlier Spyglass copied from a read-only install with its modes); never raises (the
    copy is opened as it is, and a write to it says why it failed)."""
    try:
        if not target.stat().st_mode & stat.S_IWUSR:
            _make_writable(target)
            log.info("The sample layout %s was read-only (copied with the modes of a "
                     "read-only install); it is writable now.", target)
    except OSError as exc:
        log.info("The sample layout %s is read-only and could not be made writable (%s).",
                 target, exc)


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
    opens the window on it), or renewing it (see the module's docstring: it says so on
    stderr); nothing, and why on stderr, when no copy can be made."""
    from spyglass.gui.icons import resources_dir

    if not logging.getLogger().handlers:  # (what it did to the copy, on stderr)
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    bundled = resources_dir() / FOLDER
    found = own_sample(bundled)
    if found == bundled:  # (in a checkout: its committed files, never to be written to)
        sys.stderr.write(f'The sample layout is not opened: a copy of your own could not be '
                         f'made in "{user_data_dir()}", and the bundled one at "{bundled}" is '
                         "not opened in its place, so that nothing is written into it.\n")
        found = None
    print(found if found is not None else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
