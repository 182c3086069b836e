"""Writing files of local destinations: the sentences of write errors, and small files
replaced atomically.

:func:`describe_write_error` names what the user named, not the copy's own temporaries;
:func:`replace_file` writes a small file (``index.json``, ``oci-layout``, a digest
file) into a temporary beside it, syncs it and renames it over the old one, keeping
the old one's mode and owner; :func:`check_replaceable` refuses a file or folder this
user may not write, :func:`refuse_read_only_filesystem` one on a read-only mount,
:func:`refuse_missing_folder` a destination whose folder is not there;
:func:`fsync_dir` makes renames into a folder last, :func:`fsync_file` a file's data.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from spyglass.core.errors import InvalidLayout, TransportError, os_reason
from spyglass.core.transports.temporaries import TEMP_PREFIX, TempFiles


def describe_write_error(exc: OSError, path: Path | str) -> str:
    """A sentence for an OSError while writing ``path``.

    It names what the user named, not the copy's own temporary files, staging
    folders and lock files (``.a.tar.spyglass-tmp-x/.spyglass-tmp-y`` is ``a.tar``), and
    says which part of the path is a file where a folder should be."""
    reason = os_reason(exc)
    shown = _user_path(Path(path))
    if exc.errno == errno.ENOSPC and out_of_inodes(Path(path)):
        reason = ("its filesystem has no file entries (inodes) left, though it may have room "
                  "for data")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        for ancestor in [shown, *shown.parents]:
            if ancestor == shown and exc.errno == errno.EEXIST:
                continue
            try:
                if ancestor.exists() and not ancestor.is_dir():
                    return f'Cannot write "{shown}": "{ancestor}" is a file, not a folder.'
            except OSError:
                break
    return f'Cannot write "{shown}": {reason}{"" if reason.endswith(".") else "."}'


def out_of_inodes(path: Path) -> bool:
    """Whether the filesystem ``path`` (or the nearest folder of it that is there) is on
    has run out of inodes: ENOSPC says the same for both kinds of room."""
    for folder in [path, *path.parents]:
        try:
            found = os.statvfs(folder)
        except OSError:
            continue
        return found.f_files > 0 and found.f_favail == 0
    return False


def _user_path(path: Path) -> Path:
    """``path`` without the copy's own parts: a temporary file or staging folder is
    shown as what it becomes (or the folder it is in), a lock file as its folder."""
    parts = list(path.parts)
    for number, part in enumerate(parts):
        if TEMP_PREFIX in part:
            stem = part.split(TEMP_PREFIX, 1)[0]
            # ".NAME.spyglass-tmp-…" stages NAME; ".spyglass-tmp-…" is a file in its folder
            kept = parts[:number] + ([stem[1:]] if stem.startswith(".") and stem != "." else [])
            return Path(*kept) if kept else path
    if path.name.endswith(".lock"):
        return path.parent
    return path


def fsync_file(path: Path) -> None:
    """Flush a file's data to disk; a no-op where it is gone or that is unsupported."""
    _fsync(path, os.O_RDONLY | os.O_CLOEXEC)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (renames into it) to disk; a no-op where that is unsupported."""
    _fsync(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _fsync(path: Path, flags: int) -> None:
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _keep_access(fd: int, existing: os.stat_result | None, mode: int) -> None:
    """Give the new file the mode (and, where allowed, the owner) of the file it
    replaces, so a private ``index.json`` stays private; a new one gets ``mode``."""
    if existing is None:
        os.fchmod(fd, mode)
        return
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))
    if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except OSError:
            pass  # not ours to give away; the mode is kept all the same


def check_replaceable(path: Path, existing: os.stat_result, shown: Path | str | None = None,
                      ) -> None:
    """Refuse to replace ``path`` (a file, or a folder whose contents go) that this user
    may not write. A rename over it needs only the right to write its folder, but a tool
    writing in place (skopeo) needs the right to write it, and a read-only file, or
    another user's, is not ours to replace; root may, as root may write it. One on a
    read-only filesystem is said to be there (see :func:`refuse_read_only_filesystem`),
    not to be a read-only file. :class:`TransportError` names ``shown`` (default:
    ``path``)."""
    folder = stat.S_ISDIR(existing.st_mode)
    effective = os.access in os.supports_effective_ids  # the user the process acts as
    if os.access(path, os.W_OK | (os.X_OK if folder else 0), effective_ids=effective):
        return
    named = path if shown is None else shown
    refuse_read_only_filesystem(path, named)
    what = "folder" if folder else "file"
    if existing.st_uid != os.geteuid():
        reason = f"the {what} belongs to another user (Permission denied)"
    elif not existing.st_mode & stat.S_IWUSR:
        reason = f"the {what} is read-only (Permission denied)"
    else:
        reason = "Permission denied"  # (a folder that cannot be searched, an ACL)
    raise TransportError(describe_write_error(PermissionError(errno.EACCES, reason), named))


def refuse_missing_folder(folder: Path, path: Path | str) -> None:
    """Refuse a destination ``path`` (an archive, an OCI layout, a ``dir:`` image) whose
    ``folder``, the one that should hold it, is not there: a copy makes the destination
    itself, never the folders above it, so a mistyped parent (``/srv/mirorr/app``) is
    said rather than made (skopeo refuses it too, when it reads the name). Raises
    :class:`InvalidLayout` naming the part of the path that is a file where one is, else
    the folder to create; OSError where the folder cannot be looked at."""
    if folder.is_dir():
        return
    for ancestor in [folder, *folder.parents]:
        if ancestor.exists() and not ancestor.is_dir():
            raise InvalidLayout(f'Cannot write "{path}": "{ancestor}" is a file, not a folder.')
    raise InvalidLayout(
        f'The folder "{folder}" that should hold {path} does not exist; create it first.')


def refuse_read_only_filesystem(path: Path, shown: Path | str | None = None) -> None:
    """Raise the ``Read-only file system`` sentence when ``path`` (or, when it is not
    there yet, the nearest folder above it that is) is on a filesystem mounted
    read-only: nothing can be written there, whatever the files' modes say (a user told
    that a file is read-only would try ``chmod``, which fails too). ``shown`` (default:
    ``path``) is what the sentence names."""
    for place in [path, *path.parents]:
        try:
            found = os.statvfs(place)
        except FileNotFoundError:
            continue
        except OSError:
            return
        if found.f_flag & os.ST_RDONLY:
            raise TransportError(describe_write_error(
                OSError(errno.EROFS, os.strerror(errno.EROFS)),
                path if shown is None else shown))
        return


def replace_file(path: Path, data: bytes, *, temps: TempFiles | None = None,
                 durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically: a temporary file beside it, synced, renamed.

    A reader sees the old content or the new, never a mix; a failure leaves
    the old file as it was. The new file keeps the old one's mode and owner (a file
    not there before gets 0644 less the umask); a read-only file is not replaced.
    Raises :class:`TransportError` with a sentence.

    ``durable=False`` leaves out the syncs (of the file and of its folder, a journal
    commit each: tens of milliseconds on ext4) for a file its writer syncs later or
    replaces durably before it counts (a new layout's skeleton, see
    :class:`~spyglass.core.transports.layout_write.OCILayoutDestination`).
    """
    tracker = temps if temps is not None and temps.folder == path.parent else TempFiles(path.parent)
    try:
        existing: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise TransportError(describe_write_error(exc, path)) from exc
    if existing is not None:
        check_replaceable(path, existing)
    try:
        fd, temp = tracker.create()
    except OSError as exc:
        raise TransportError(describe_write_error(exc, path)) from exc
    done = False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            if durable:
                os.fsync(out.fileno())
            _keep_access(out.fileno(), existing, tracker.file_mode)
        os.replace(temp, path)
        done = True
    except OSError as exc:
        raise TransportError(describe_write_error(exc, path)) from exc
    finally:
        if done:
            tracker.forget(temp)
        else:
            tracker.discard(temp)
    if durable:
        fsync_dir(path.parent)
