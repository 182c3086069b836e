"""The settings file: reading it and saving it (the settings themselves are
:mod:`spyglass.core.settings`).

Reading never fails (:func:`read_settings`, :func:`load_settings`): a missing file
gives the defaults, and so does a file that is not a JSON object (or a folder in its
place) — that file is renamed to ``settings.json.bad`` (``settings.json.bad.1``, … when that
name is taken: an older one is never replaced) so that the next save does not
silently destroy what the user may want to look at. A field of the wrong type falls
back to its default on its own, and is noted (:attr:`LoadedSettings.problems`). Keys
this version does not know (a newer version's, at the top or in a registry) are kept
and written back as they were. A file that is there but cannot be read (permission
denied: root's, after ``sudo spyglass``; an I/O error on a network home folder) gives
the defaults too, but is left as it is and never rewritten: it may be good.

Writing (:func:`save_settings`) merges, then replaces the file atomically. Under a
lock file beside the settings file (``settings.json.lock``, there while a save runs),
so that two saves — two windows, two programs — never interleave, the file is read
again and what the caller changed since it read the file (``base``) is applied to
what the file holds now (:func:`merge_settings`): what another window or a hand edit
changed meanwhile is kept. The result goes to a temporary file in the same folder,
flushed and synced, then ``os.replace``. A file with fields that were left out is
copied aside as above before it is rewritten; a file a newer Spyglass wrote (a
higher ``version``) is never rewritten. A settings file that is a symbolic link
stays one: the file it leads to is replaced. The file is UTF-8; a path's byte that
is not UTF-8 is written as JSON's escape of the surrogate Python reads it as
(``\\udcff``), and read back as that byte (:func:`settings_text`). Folders are made
only below an existing home folder or ``$XDG_CONFIG_HOME`` (the rule of
:mod:`spyglass.core.cachedir`): a home folder that is not there is never made, and
the settings then last only for the session (:attr:`LoadedSettings.not_kept`).
A program without a window changes a field the same way (:func:`update_settings`).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from spyglass.core.cachedir import (
    make_user_folder,
    may_make_user_folder,
    nearest_existing,
    tighten_own_folder,
    unwritable_above,
)
from spyglass.core.errors import SpyglassError
from spyglass.core.gojson import SURROGATE
from spyglass.core.settings import (
    CONFIG_VARIABLE,
    FORMAT_VERSION,
    Problems,
    Settings,
    format_version,
    settings_path,
)
from spyglass.core.settings_merge import merge_settings
from spyglass.core.settings_sentences import (
    left_out_sentence,
    newer_sentence,
    not_kept_sentence,
    problems_sentence,
    set_aside_sentence,
    unreadable_sentence,
)

log = logging.getLogger(__name__)

BAD_SUFFIX: Final = ".bad"
LOCK_SUFFIX: Final = ".lock"
LOCK_WAIT: Final = 3.0
"""Seconds a save waits for the lock another program holds before it fails (and the
next save tries again): a save holds it for a moment; one that holds it longer is hung
or stopped."""
STALE_TEMP_AGE: Final = 60.0
"""Seconds after which a save's temporary file (``.settings.json.XXXXXXXX.tmp``) found by
the next save is one a save killed mid-write left, and is removed."""
_TEMP_NAME: Final = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


# -- reading


def _target(path: Path) -> Path:
    """The file the settings are in: ``path``, or where it leads when it is a symbolic
    link (followed to the end; a link to nothing leads to the file to make there)."""
    if not path.is_symlink():
        return path
    return Path(os.path.realpath(path))


def _free_bad_name(path: Path) -> Path:
    """``settings.json.bad``, or ``settings.json.bad.1``, … : the first name not taken."""
    bad = path.with_name(path.name + BAD_SUFFIX)
    number = 0
    while os.path.lexists(bad):
        number += 1
        bad = path.with_name(f"{path.name}{BAD_SUFFIX}.{number}")
    return bad


@dataclass
class _FileState:
    """The settings file as read: its object, or why it could not be used."""

    data: dict[str, Any] | None = None
    raw: bytes = b""
    unusable: str = ""
    """Why a file that is there could not be used ("" when it could, or is not there)."""
    unreadable: str = ""
    """Why a file that is there could not be read (permission denied, an I/O error): what
    it holds is not known, and it may be good; "" when it could be."""


class _NotJSON(ValueError):
    """JSON Python cannot read though its syntax may be right (nested too deeply, a number
    of too many digits); its text is the reason, without a made-up position."""


def _loads(raw: bytes) -> Any:
    """``json.loads``, with nesting too deep for Python and a number of more digits than it
    converts refused as not JSON (:class:`_NotJSON`), the way
    :func:`spyglass.core.gojson.loads` does.

    Not ``gojson.loads`` itself: that makes the escape of a lone surrogate U+FFFD, and
    a path's byte that is not UTF-8 is written as one (:func:`settings_text`)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise _NotJSON("it is nested too deeply") from None
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
            raise
        raise _NotJSON(str(exc)) from None


def _read_file(path: Path) -> _FileState:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return _FileState()
    except IsADirectoryError as exc:  # a folder in its place: set aside, as text not JSON
        return _FileState(unusable=f"it cannot be read: {exc.strerror or exc}")
    except OSError as exc:  # (root's, from sudo spyglass; a network home folder's EIO)
        return _FileState(unreadable=(exc.strerror or str(exc)).rstrip("."))
    try:
        data = _loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, _NotJSON) as exc:
        return _FileState(raw=raw, unusable=f"it is not valid JSON: {exc}")
    if not isinstance(data, dict):
        return _FileState(raw=raw, unusable="it does not hold a JSON object")
    return _FileState(data, raw)


def _set_aside(path: Path, shown: Path, reason: str) -> tuple[Path | None, str]:
    """Rename an unusable settings file to a free ``.bad`` name; (that name, "") or
    (None, why it could not be)."""
    bad = _free_bad_name(path)
    try:
        os.rename(path, bad)
    except OSError as exc:
        why = exc.strerror or str(exc)
        log.warning("The settings file %s is not usable (%s); it could not be set aside "
                    "either: %s", shown, reason, why)
        return None, why
    log.warning("The settings file %s is not usable (%s); it was renamed to %s and "
                "defaults are used.", shown, reason, bad)
    return bad, ""


@dataclass
class LoadedSettings:
    """What :func:`read_settings` found: the settings, and what to tell the person.

    Attributes:
        settings: the settings read (the defaults for a file missing or set aside).
        path: the settings file.
        set_aside: where a file that could not be used was renamed to, or None.
        unusable: why the file could not be used ("" when it could, or was not there).
        problems: the fields left out of a file that was used (see :data:`Problems`);
            :func:`save_settings` copies such a file aside before it rewrites it.
        newer_version: the file's ``version`` when a newer Spyglass wrote it (it is
            then never rewritten), else None.
        set_aside_failed: why a file that could not be used could not be renamed either.
        unreadable: why the file could not be read (permission denied, an I/O error): it is
            neither set aside nor ever rewritten in this session, as it may be good; ""
            when it could be.
        not_kept: the folder the settings would be saved in can never be made (the home
            folder is not there): the settings last only for the session.
    """

    settings: Settings
    path: Path
    set_aside: Path | None = None
    unusable: str = ""
    set_aside_failed: str = ""
    problems: Problems = field(default_factory=list)
    newer_version: int | None = None
    not_kept: bool = False
    unreadable: str = ""

    def notices(self) -> list[str]:
        """What a window says about the file when it opens, one sentence (or two) for
        each thing to know; the fields left out are said once the file is copied aside
        (:meth:`SavedSettings.notice`)."""
        said = []
        if self.unusable:
            said.append(set_aside_sentence(self.path, self.unusable, self.set_aside,
                                            self.set_aside_failed))
        if self.unreadable:
            said.append(unreadable_sentence(self.path, self.unreadable))
        if self.newer_version is not None:
            said.append(newer_sentence(self.path, self.newer_version))
        if self.not_kept:
            said.append(not_kept_sentence(_target(self.path).parent))
        return said

    def notice(self) -> str:
        """:meth:`notices` as one text, or ""."""
        return " ".join(self.notices())

    def left_out(self) -> str:
        """The fields left out, said before the file is copied aside (for when a save fails
        before it can be: the copy's name is said once it is), or ""."""
        if not self.problems or self.newer_version is not None:
            return ""
        return left_out_sentence(self.path, self.problems)


def read_settings(path: Path | None = None, *, set_aside: bool = True) -> LoadedSettings:
    """Read the settings; never raises. Missing file → defaults; unusable file → set
    aside (see the module docstring; not with ``set_aside`` False, for a reader that
    never saves) and defaults."""
    path = path or settings_path()
    target = _target(path)
    loaded = LoadedSettings(Settings(), path)
    loaded.not_kept = (not may_make_user_folder(target.parent, CONFIG_VARIABLE)
                       or unwritable_above(target.parent) is not None)
    tighten_own_folder(target.parent)  # (one an older Spyglass made 0755)
    found = _read_file(target)
    loaded.unreadable = found.unreadable
    if found.unusable:
        loaded.unusable = found.unusable
        if set_aside:
            loaded.set_aside, loaded.set_aside_failed = _set_aside(target, path,
                                                                   found.unusable)
    elif found.data is not None:
        loaded.settings = Settings.from_json(found.data, where=path, problems=loaded.problems)
        version = format_version(found.data)
        if version is not None and version > FORMAT_VERSION:
            loaded.newer_version = version
    return loaded


def load_settings(path: Path | None = None) -> Settings:
    """The settings (see :func:`read_settings`); never raises."""
    return read_settings(path).settings


# -- writing


@dataclass
class SavedSettings:
    """What :func:`save_settings` wrote, and what it did to the file that was there.

    Attributes:
        settings: the settings written (the merge of the caller's with the file's).
        backup: where the file replaced was copied (fields left out) or renamed (not
            usable) to first, or None.
        problems: the fields the file replaced had left out.
        unusable: why the file replaced could not be used ("" when it could).
    """

    settings: Settings
    path: Path
    backup: Path | None = None
    problems: Problems = field(default_factory=list)
    unusable: str = ""

    def notice(self) -> str:
        """What to tell the person about the file replaced, or ""."""
        if self.backup is None:
            return ""
        if self.unusable:
            return (f'The settings file "{self.path}" could not be used ({self.unusable}); '
                    f'it was renamed to "{self.backup}" before the settings were saved.')
        return problems_sentence(self.path, self.problems, self.backup)


def _busy_sentence(shown: Path, lock: Path) -> str:
    return (f'Cannot save the settings to "{shown}" now: it is being saved by another '
            f'program, which has held "{lock}" for more than {LOCK_WAIT:g} seconds (another '
            "Spyglass, perhaps stopped or hung while it saved). Spyglass tries again with the "
            "next change and when it closes; should those fail too, changes made in this "
            "window are lost when it quits.")


def _lock_failure(exc: OSError, shown: Path, lock: Path) -> str:
    """The sentence for a lock file that is there but cannot be used (another user's that
    cannot even be read, a folder in its place), or cannot be locked at all (a
    filesystem without locks: removing the file would not help)."""
    reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    if exc.errno in (errno.ENOLCK, errno.EINVAL, errno.EOPNOTSUPP):
        return (f'Cannot save the settings to "{shown}": its lock file "{lock}" cannot be '
                f"locked ({reason}): the filesystem of that folder may not support file "
                "locks (a network home folder without a lock service, say). Changes made "
                "in this window last only until Spyglass quits.")
    kind = "folder" if os.path.isdir(lock) else "file"
    return (f'Cannot save the settings to "{shown}": the lock file "{lock}" cannot be '
            f"used ({reason}). Remove that {kind}: Spyglass makes it while it saves, and "
            "removes it when done (one made by sudo spyglass belongs to root). Until then, "
            "changes made in this window last only until Spyglass quits.")


def _save_failure(exc: OSError, shown: Path, folder: Path) -> str:
    """The sentence for a save that failed, with the advice that fits why."""
    if exc.errno == errno.ENOENT and not may_make_user_folder(folder, CONFIG_VARIABLE):
        return not_kept_sentence(folder)
    reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    said = f'Cannot save the settings to "{shown}": {reason}.'
    lasting = "Until then, changes made in this window last only until Spyglass quits."
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"{said} Free some space on that disk: the settings are saved again with "
                f"the next change, and when Spyglass closes. {lasting}")
    if exc.errno == errno.EROFS:
        return (f"{said} Changes made in this window last only until Spyglass quits, unless "
                "that file system is made writable meanwhile.")
    if exc.errno in (errno.EACCES, errno.EPERM):
        if not folder.is_dir():  # (mkdir refused: name the folder it was refused in)
            return (f'{said} Check that you may write to "{nearest_existing(folder)}", '
                    f'where "{folder}" would be made. {lasting}')
        if not shown.exists():
            return f'{said} Check that you may write to "{folder}". {lasting}'
        return (f'{said} Check that you may write to "{folder}" and to the file (one made '
                f"by sudo spyglass belongs to root). {lasting}")
    return f"{said} {lasting}"


def _copy_aside(target: Path, raw: bytes) -> Path:
    """Write ``raw`` (the file as it was) to a free ``.bad`` name beside ``target``."""
    bad = _free_bad_name(target)
    fd = os.open(bad, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(raw)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        os.unlink(bad)
        raise
    return bad


def _write(target: Path, text: str) -> None:
    """Replace ``target`` with ``text`` atomically; the file keeps its mode."""
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                        dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            if mode is not None:
                os.fchmod(stream.fileno(), mode)
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp_name, target)
        tmp_name = None
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def _remove_stale_temps(target: Path) -> None:
    """Remove what saves killed mid-write left: this file's temporary files (by
    :func:`_write`'s name) older than :data:`STALE_TEMP_AGE`. Under the lock, no save is
    writing one; the age spares one a save on another machine may be writing."""
    now = time.time()
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        found = _TEMP_NAME.fullmatch(name)
        if found is None or found["name"] != target.name:
            continue
        temp = target.parent / name
        try:
            info = os.lstat(temp)
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_TEMP_AGE:
                os.unlink(temp)
                log.info("Removed %s, left by a save of the settings that did not end.", temp)
        except OSError:
            continue


def _save_locked(settings: Settings, path: Path, target: Path,
                 base: Settings | None) -> SavedSettings:
    found = _read_file(target)
    if found.unreadable:  # it may be good: never replaced by what this window has
        raise SpyglassError(unreadable_sentence(path, found.unreadable))
    saved = SavedSettings(settings, path)
    theirs: Settings | None = None
    if found.data is not None:
        version = format_version(found.data)
        if version is not None and version > FORMAT_VERSION:
            raise SpyglassError(newer_sentence(path, version))
        theirs = Settings.from_json(found.data, where=path, problems=saved.problems)
        if saved.problems:
            try:
                saved.backup = _copy_aside(target, found.raw)
            except OSError as exc:
                raise SpyglassError(left_out_sentence(path, saved.problems) + " "
                                    + _save_failure(exc, path, target.parent)) from exc
    elif found.unusable:
        saved.unusable = found.unusable
        bad = _free_bad_name(target)
        os.rename(target, bad)
        saved.backup = bad
    # a file not there (or set aside) holds nothing the caller has not seen
    saved.settings = (settings.copy() if theirs is None
                      else merge_settings(base, settings, theirs))
    _remove_stale_temps(target)
    _write(target, settings_text(saved.settings))
    return saved


def settings_text(settings: Settings) -> str:
    """The file's text for ``settings``: JSON in UTF-8, but for what UTF-8 cannot hold, a
    lone surrogate, written as JSON's escape (``\\udcff``). A path holds one for each
    of its bytes that is not UTF-8 (``bad\\xff``, as ``os.fsdecode`` reads it), and
    ``json.loads`` reads the escape back as that surrogate: the path is the same."""
    text = json.dumps(settings.to_json(), indent=2, ensure_ascii=False) + "\n"
    return SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def save_settings(settings: Settings, path: Path | None = None, *,
                  base: Settings | None = None) -> SavedSettings:
    """Save ``settings`` as the module docstring says: merged with what the file holds
    now, given ``base`` (what the caller read or last saved; None: every field is the
    caller's), atomically, under the lock. Returns what was written.

    Raises :class:`SpyglassError` with a sentence (and advice that fits the failure)
    when the settings cannot be saved, and when the file is a newer Spyglass's."""
    from spyglass.core.errors import LockHeld, TransportError
    from spyglass.core.transports.file_lock import exclusive_lock

    path = path or settings_path()
    target = _target(path)
    lock = target.with_name(target.name + LOCK_SUFFIX)
    try:
        make_user_folder(target.parent, CONFIG_VARIABLE)
        with exclusive_lock(lock, what=f'"{path}"', wait=LOCK_WAIT):
            return _save_locked(settings, path, target, base)
    except LockHeld as exc:
        raise SpyglassError(_busy_sentence(path, lock)) from exc
    except TransportError as exc:  # the lock file (its sentence names the folder)
        if isinstance(exc.__cause__, OSError):
            if os.path.lexists(lock):  # there, and not usable: not the folder's fault
                raise SpyglassError(_lock_failure(exc.__cause__, path, lock)) from exc
            raise SpyglassError(_save_failure(exc.__cause__, path, target.parent)) from exc
        raise
    except OSError as exc:
        raise SpyglassError(_save_failure(exc, path, target.parent)) from exc


def update_settings(change: Callable[[Settings], bool],
                    path: Path | None = None) -> SavedSettings | None:
    """For a program without a window (``spyglass login``): ``change`` what the file
    holds, and save that as :func:`save_settings` does (merged under the lock with what
    the file holds by then; never over a file that cannot be read, or a newer
    Spyglass's). ``change`` is given a copy of the settings read and says whether it
    changed them. A file that is not there, cannot be read or cannot be used (left as it
    is) has nothing to change: None, and nothing is written.

    Raises :class:`SpyglassError` as :func:`save_settings` does."""
    loaded = read_settings(path, set_aside=False)
    if loaded.unreadable or loaded.unusable:
        return None
    mine = loaded.settings.copy()
    if not change(mine):
        return None
    return save_settings(mine, loaded.path, base=loaded.settings)
