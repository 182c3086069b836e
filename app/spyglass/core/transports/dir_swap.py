"""Swapping a whole ``dir:`` image in for another, and what a killed swap left set aside.

A ``dir:`` destination builds the new image in a hidden sibling folder and swaps it in
at commit (:func:`swap_in`). Where the kernel can, that is one step (Linux's
``renameat2`` with ``RENAME_EXCHANGE``, 3.15 and later): the name holds a whole image
at every moment, the old one or the new one. Elsewhere it takes two renames, the old
folder first set aside as ``.NAME.spyglass-tmp-old-*`` (claimed while it is there):
Ctrl+C and SIGTERM are held off between them, but a ``kill -9`` there leaves no image
at the name. The next copy to the name puts the set-aside image back before it first
writes (:func:`recover_set_aside`; a dry run does not), and removes set-aside folders no
live copy claims once the name holds a whole image; reading the missing name says where
the old image is (:func:`set_aside_hint`). The set-aside folder is made, empty, before
the old image is moved over it: a ``kill -9`` between the two leaves it empty, and the
next copy into that folder (to any name) removes it (:func:`remove_empty_set_aside`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final

from spyglass.core.cancel import in_place_from_here, interrupts_deferred
from spyglass.core.errors import TransportError
from spyglass.core.transports.file_write import describe_write_error, fsync_dir
from spyglass.core.transports.temporaries import (
    TEMP_PREFIX,
    claim_path,
    claimed,
    release_claim,
    unclaimed,
)

log = logging.getLogger(__name__)

OLD_KIND: Final = "old-"
"""What follows :data:`TEMP_PREFIX` in the name of a set-aside old image."""

REPLACED_KIND: Final = "replaced-"
"""What follows :data:`TEMP_PREFIX` in the name of an old image being removed once the new
one is in place (a temporary the next copy sweeps, unlike :data:`OLD_KIND`)."""

_AT_FDCWD: Final = -100
_RENAME_EXCHANGE: Final = 1 << 1
_CANNOT_EXCHANGE: Final = frozenset({errno.ENOSYS, errno.EINVAL, errno.ENOTSUP,
                                     errno.EOPNOTSUPP})
"""What ``renameat2`` says where the kernel or the filesystem has no ``RENAME_EXCHANGE``."""


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a C library older than glibc 2.28
        return None
    return function


def exchange(first: Path, second: Path) -> bool:
    """Swap what ``first`` and ``second`` name, in one step that nothing can cut in two:
    True when done; False where this kernel, C library or filesystem cannot (nothing
    was changed: the caller does it another way). OSError for any other failure."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                 _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _CANNOT_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def _set_aside_prefix(target: Path) -> str:
    return f".{target.name}{TEMP_PREFIX}{OLD_KIND}"


def _is_set_aside_name(name: str) -> bool:
    """Whether ``name`` is a set-aside folder's (``.NAME.spyglass-tmp-old-*``), of any
    ``NAME``."""
    return name.startswith(".") and f"{TEMP_PREFIX}{OLD_KIND}" in name[1:]


def set_aside(target: Path) -> list[Path]:
    """The old images of ``target`` a swap set aside, newest first (none when the folder
    cannot be listed)."""
    prefix = _set_aside_prefix(target)
    try:
        found = [target.parent / name for name in os.listdir(target.parent)
                 if name.startswith(prefix)]
    except OSError:
        return []

    def changed(path: Path) -> float:
        try:
            return path.lstat().st_ctime  # (a rename changes it)
        except OSError:
            return 0.0

    return sorted((path for path in found if path.is_dir() and not path.is_symlink()),
                  key=changed, reverse=True)


def swap_in(staging: Path, target: Path, shown: Path) -> Path | None:
    """Put the whole new image in ``staging`` at ``target``; ``shown`` is the path as the
    user named it. The destination's point of no return
    (:func:`~spyglass.core.cancel.in_place_from_here`). Returns where the old image is
    now, if there was one, for :func:`remove_replaced` once the copy said the new one
    is in place (removing a big image takes a while). TransportError when the new image
    cannot be put in place, saying where the old one is."""
    parent = target.parent
    in_place_from_here()
    try:
        with interrupts_deferred():  # no Ctrl+C or SIGTERM between the steps
            if target.exists() and exchange(staging, target):
                old: Path | None = staging  # the old image, now under the staging name
            else:
                old = _swap_in_steps(staging, target, shown)
    except OSError as exc:
        raise TransportError(
            f"{describe_write_error(exc, shown)} The new image could not be put in place; "
            "the folder holds the image it held before."
        ) from exc
    fsync_dir(parent)
    return old


def remove_replaced(old: Path, shown: Path) -> None:
    """Remove the old image :func:`swap_in` took out of ``shown`` (best effort, said when
    some of it stays). An interrupt that stops the removal (a third Ctrl+C, see
    :func:`~spyglass.core.cancel.final_stretch`) leaves the rest under a name the next
    copy to ``shown`` sweeps away (not a set-aside one: see :func:`_removable`), and
    says so."""
    gone = _removable(old)
    try:
        shutil.rmtree(gone, ignore_errors=True)
    except KeyboardInterrupt:
        for left in dict.fromkeys((gone, old)):  # (stopped before the rename was known)
            if left.exists():
                log.warning('The removal of the image "%s" held before was stopped; what is '
                            'left of it is in %s, which a later copy to "%s" removes.',
                            shown, left, shown)
        raise
    old = gone
    if old.exists():  # files in it this user may not remove
        log.warning("What %s held before could not all be removed; the rest is in "
                    "%s (remove it yourself).", shown, old)


def _removable(old: Path) -> Path:
    """Where :func:`remove_replaced` removes ``old`` from: a set-aside folder
    (``…old-*``, which the next copy keeps unless it holds a whole image) is renamed first
    to a temporary's name the next copy to the name sweeps (``…replaced-*``), so that
    what an interrupted removal leaves goes too; ``old`` where it is not one, or cannot
    be renamed."""
    head, kind, tail = old.name.rpartition(f"{TEMP_PREFIX}{OLD_KIND}")
    if not kind:
        return old  # (the exchange's: the staging folder's name, swept already)
    gone = old.with_name(f"{head}{TEMP_PREFIX}{REPLACED_KIND}{tail}")
    try:
        os.rename(old, gone)
    except OSError:
        return old
    return gone


def _swap_in_steps(staging: Path, target: Path, shown: Path) -> Path | None:
    """The swap in two renames (no exchange here): the old folder aside, claimed while it
    is there, then the new one in; the set-aside folder, or None where there was none."""
    if not target.exists():
        os.rename(staging, target)
        return None
    old = Path(tempfile.mkdtemp(prefix=_set_aside_prefix(target), dir=target.parent))
    claim = claim_path(target)  # (moves with the folder: no other copy takes it back)
    try:
        try:
            os.rename(target, old)  # over the empty placeholder folder
        except OSError:
            with contextlib.suppress(OSError):  # (another copy may have removed it)
                old.rmdir()
            raise
        try:
            os.rename(staging, target)
        except OSError as exc:
            try:
                os.rename(old, target)
            except OSError:
                raise TransportError(
                    f"{describe_write_error(exc, shown)} The new image could not be put in "
                    f"place; the old image is in {old}."
                ) from exc
            raise
    finally:
        release_claim(claim)
    return old


def remove_empty_set_aside(folder: Path) -> list[Path]:
    """Remove the set-aside folders in ``folder`` (of any name's image) that hold nothing:
    the place :func:`_swap_in_steps` makes for an old image before it moves the image
    over it, left empty by a ``kill -9`` between the two. Only an empty folder goes
    (``rmdir``, which removes nothing else whatever happens meanwhile), and none a live
    copy claims: one that holds anything, possibly the only copy of an image, stays; one
    a live swap is about to move its old image over is made again by that rename. (On a
    filesystem without locks, where claims cannot be seen, an empty one goes all the
    same.) Best effort; what was removed."""
    try:
        names = [name for name in os.listdir(folder) if _is_set_aside_name(name)]
    except OSError:
        return []
    removed: list[Path] = []
    for name in names:
        path = folder / name
        try:
            if claimed(path):  # (a live copy's)
                continue
            os.rmdir(path)  # (ENOTEMPTY, ENOTDIR for a file or a link: left as it is)
        except OSError:
            continue
        removed.append(path)
    if removed:
        log.info("Removed %d empty folders a stopped copy made for an old dir: image in %s.",
                 len(removed), folder)
    return removed


def recover_set_aside(target: Path, shown: Path, whole: Callable[[Path], bool]) -> None:
    """Before a copy to ``target`` first writes: where a killed swap left no image at the
    name, put the newest old image it set aside back (saying so); where the name holds a
    whole image, remove the set-aside folders no live copy claims (saying so: one may hold
    the only copy of an image). Only set-aside folders that hold a whole image themselves
    (``whole``) are touched, and empty ones, of any name in the folder, which a swap killed
    before it set the old image aside left (:func:`remove_empty_set_aside`). One that is
    removed is renamed to a temporary's name first (as :func:`remove_replaced` does), so
    that what a removal killed midway leaves is swept by a later copy. Best effort: what
    cannot be moved or removed stays, said."""
    remove_empty_set_aside(target.parent)
    aside = [path for path in set_aside(target) if whole(path) and unclaimed(path)]
    if not aside:
        return
    if not os.path.lexists(target):
        back, aside = aside[0], aside[1:]
        try:
            os.rename(back, target)
        except OSError as exc:
            log.warning('A copy stopped while it replaced the dir: image "%s" left the old '
                        "image in %s, which could not be put back (%s); rename it to %s "
                        "yourself.", shown, back, exc.strerror or exc, target)
            return
        log.warning('A copy stopped while it replaced the dir: image "%s" had left the old '
                    "image aside, in %s; it was put back.", shown, back.name)
        fsync_dir(target.parent)
    if not whole(target):
        return
    for path in aside:
        gone = _removable(path)  # (killed midway, the rest is a temporary to sweep)
        shutil.rmtree(gone, ignore_errors=True)
        if gone.exists():
            log.warning("An old dir: image a stopped copy set aside could not all be "
                        "removed; the rest is in %s (remove it yourself).", gone)
        else:
            log.warning('Removed the old dir: image a stopped copy had set aside in %s: '
                        '"%s" holds a whole image.', path, shown)


def set_aside_hint(target: Path) -> str:
    """For a missing ``dir:`` image: where a killed swap set the old one aside, if it did
    (a sentence to add, with its leading space), else ""."""
    aside = [path for path in set_aside(target) if _holds_something(path)]
    if not aside:
        return ""
    return (f' A copy stopped while it replaced the dir: image there left the old image in '
            f'"{aside[0]}": rename it back to "{target.name}", or copy to dir:{target} '
            "again, which puts it back first.")


def _holds_something(folder: Path) -> bool:
    """Whether ``folder`` has anything in it (True where that cannot be told)."""
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is not None
    except OSError:
        return True
