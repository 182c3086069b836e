"""A cache of the code :mod:`dataclasses` compiles for the methods it writes, so that a
command's start does not compile it again each time.

For every dataclass, Python writes the source of its ``__init__``, ``__repr__``,
``__eq__`` (and, frozen, ``__setattr__``, ``__delattr__``, ``__hash__``) and compiles it
with ``exec`` when the class is made. A copy imports about 80 dataclasses: some 430
compilations, a third of the time its imports take (40 to 50 ms of 140 to 190 ms on the 2-core
machine), before a single request is made. The compiled code depends on nothing but that
source, so it is kept, marshalled, in the user's cache folder and used again:

- :func:`install` reads the file (only a regular file the user owns, that no one else
  may write, made by this very Python, whose checksum holds: a damaged one is passed
  by, never a reason for a start to fail), and puts an ``exec`` into the ``dataclasses`` module's
  namespace, ahead of the builtin for that module alone, that looks each source up
  before compiling it (as ``exec`` would: ``"<string>"``, no inherited ``__future__``
  flags). Anything it does not recognise is compiled as before.
- :func:`save` writes the file again (temporary file, then a rename) when a class
  compiled something not in it; not when Python writes no bytecode
  (``PYTHONDONTWRITEBYTECODE``, ``-B``). A file grown past :data:`MOST_SOURCES` (old
  sources, from earlier versions of the code) keeps only what this run used; temporary
  files an interrupted save left (a ``kill -9``) are removed by the next.

Nothing here may stop Spyglass: whatever goes wrong in reading or writing the file, the
classes are compiled as they were without it. It imports only the standard library's
``builtins``, ``marshal``, ``os``, ``sys`` and ``zlib`` (its CRC-32, against a damaged
file):
:mod:`spyglass.launch` installs it before anything defines a dataclass. The window and
the command line save at their ends.
"""

import builtins
import marshal
import os
import sys
import zlib
from types import CodeType
from typing import Any, Final

FILE_NAME: Final = f"dataclass-code.{sys.implementation.cache_tag}"
"""The cache file's name in Spyglass's cache folder (one per kind of Python)."""

MOST_SOURCES: Final = 4000
"""Sources kept at most: past this, a save keeps only those this run used."""

LARGEST: Final = 16 * 1024 * 1024
"""Bytes: a bigger file is not read (it is not one :func:`save` wrote)."""

STALE_TEMPORARY: Final = 600.0
"""Seconds after which a temporary file of an interrupted save is removed by a save."""

_FILENAME: Final = "<string>"
"""The file name ``exec`` gives the code it compiles from a string."""


class _State:
    def __init__(self) -> None:
        self.installed = False
        self.path: str | None = None
        self.codes: dict[str, CodeType] = {}
        self.used: set[str] = set()
        self.added = 0


_state = _State()


def cached_exec(source: Any, globals: Any = None, locals: Any = None, /,
                *args: Any, **kwargs: Any) -> None:
    """``exec``, taking the compiled code of a source string from the cache."""
    if type(source) is str:
        code = _state.codes.get(source)
        if code is None:
            # as exec compiles it in dataclasses: none of this module's __future__ flags
            code = compile(source, _FILENAME, "exec", dont_inherit=True)
            _state.codes[source] = code
            _state.added += 1
        _state.used.add(source)
        source = code
    builtins.exec(source, globals, locals, *args, **kwargs)


def cache_path() -> str | None:
    """Where the file is: the user's cache folder for Spyglass, as
    ``platformdirs.user_cache_dir`` names it; None where that is not known."""
    on_linux = sys.platform.startswith("linux")  # (a name: mypy checks for Linux only)
    if on_linux:
        # platformdirs' rule on Linux, without importing it (7 ms): an absolute
        # $XDG_CACHE_HOME, else ~/.cache (an absolute $HOME only)
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):
            home = os.environ.get("HOME", "")
            if not os.path.isabs(home):
                return None
            base = os.path.join(home, ".cache")
        return os.path.join(base, "spyglass", FILE_NAME)
    try:
        import platformdirs
    except ImportError:
        return None
    return os.path.join(platformdirs.user_cache_dir("spyglass"), FILE_NAME)


def install() -> None:
    """Read the cache (if there is one to trust) and have ``dataclasses`` use it. Does
    nothing a second time, and nothing at all where anything goes wrong."""
    if _state.installed:
        return
    try:
        import dataclasses

        path = cache_path()
        codes = _read(path) if path is not None else {}
        dataclasses.exec = cached_exec  # type: ignore[attr-defined]
    except Exception:  # (a start goes on without the cache)
        return
    _state.installed = True
    _state.path = path
    _state.codes = codes


def _read(path: str) -> dict[str, CodeType]:
    """The sources and code in ``path``; none when it is missing, not a regular file the
    user owns and no one else may write, damaged, or not what :func:`save` writes for
    this Python."""
    try:
        # non-blocking: a FIFO put there is not waited on (fstat then refuses it)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return {}
    try:
        found = os.fstat(fd)
        if not _trusted(found) or found.st_size > LARGEST:
            return {}
        data = b""
        while chunk := os.read(fd, found.st_size + 1 - len(data)):
            data += chunk
            if len(data) > found.st_size:
                return {}
    except OSError:
        return {}
    finally:
        os.close(fd)
    return _unpacked(data)


def _packed(codes: dict[str, CodeType]) -> bytes:
    """What :func:`save` writes: this Python's version, then the marshalled sources and
    code with their CRC-32 (a damaged file is found before marshal reads it: a flipped
    byte there made ``marshal.loads`` raise ``SystemError`` or ask for gigabytes)."""
    payload = marshal.dumps(codes)
    return marshal.dumps((sys.version, zlib.crc32(payload), payload))


def _unpacked(data: bytes) -> dict[str, CodeType]:
    """The sources and code :func:`_packed` wrote in ``data``; none for anything else."""
    try:
        outer = marshal.loads(data)
        if (type(outer) is not tuple or len(outer) != 3 or outer[0] != sys.version
                or type(outer[2]) is not bytes or outer[1] != zlib.crc32(outer[2])):
            return {}
        codes = marshal.loads(outer[2])
    except Exception:  # (marshal's errors on a damaged file, whatever they are)
        return {}
    if type(codes) is not dict:
        return {}
    for source, code in codes.items():
        if type(source) is not str or type(code) is not CodeType:
            return {}
    return codes


def _trusted(found: os.stat_result) -> bool:
    """Whether a file is one to run code from: a regular file of this user's that no one
    else may write."""
    import stat

    if not stat.S_ISREG(found.st_mode):
        return False
    if hasattr(os, "geteuid") and found.st_uid != os.geteuid():
        return False
    return not found.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def save() -> None:
    """Write the cache again if this run compiled something new (see the module's
    notes); quietly nothing where it cannot be written."""
    if not _state.installed or not _state.added or _state.path is None:
        return
    if sys.dont_write_bytecode:
        return
    try:
        _save(_state.path)
    except Exception:  # (a command's end is not where the cache may fail it)
        return


def _save(path: str) -> None:
    from pathlib import Path

    from spyglass.core.cachedir import make_cache_folder, user_cache_folder

    folder = user_cache_folder()
    if os.path.join(folder, FILE_NAME) != path:
        return  # read from elsewhere than platformdirs says: not written over there
    codes = _state.codes
    if len(codes) > MOST_SOURCES:
        codes = {source: code for source, code in codes.items() if source in _state.used}
    data = _packed(codes)
    try:
        make_cache_folder(folder)
    except OSError:
        return
    _remove_stale_temporaries(folder)
    temporary = Path(folder, f".{FILE_NAME}.{os.urandom(6).hex()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                     | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return
    _state.added = 0


def _remove_stale_temporaries(folder: "os.PathLike[str]") -> None:
    """Remove what saves cut off by a ``kill -9`` left (temporaries older than
    :data:`STALE_TEMPORARY`: a save under way takes milliseconds)."""
    import time

    prefix = f".{FILE_NAME}."
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
                    try:
                        if time.time() - entry.stat(follow_symlinks=False).st_mtime > \
                                STALE_TEMPORARY:
                            os.unlink(entry.path)
                    except OSError:
                        pass
    except OSError:
        pass


__all__ = ["FILE_NAME", "MOST_SOURCES", "cache_path", "cached_exec", "install", "save"]
