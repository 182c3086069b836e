"""Where blobs were seen: the cache that makes cross-repository mounts possible.

A registry can link a blob it already holds in one repository into another
(``POST …/blobs/uploads/?mount=DIGEST&from=REPO``) instead of receiving its
bytes again, but only if the client names a repository that has it. This
cache remembers, per registry host and digest, the repositories a blob was
last read from or written to — as containers/image's ``BlobInfoCache`` does —
in an SQLite file under ``platformdirs.user_cache_dir("spyglass")``:
``blob-locations.sqlite``.

The same file remembers what a blob became when a copy recompressed it (the
``recompressed`` table), so a copy repeated finds that result at the destination
instead of recompressing again.

It is only ever a hint. A candidate it names may be gone or unreadable with
the credentials at hand; the registry then answers the mount with an upload
(or a refusal) and the blob is uploaded. Hence no failure of the cache itself
ever fails a copy. A file that cannot be had — no home folder, a read-only one,
no file descriptor left — leaves the cache in memory for the session, as
containers/image falls back to its memory cache: what this session reads and
writes is still mounted from (a copy within one registry mounts from its
source), only what earlier sessions saw is not known; that costs speed alone,
so it is logged at debug level and nothing is said. A broken file (not SQLite, damaged)
is renamed aside (``blob-locations.sqlite.bad``) and a new one started, said once in
a warning and in :attr:`BlobLocationCache.notice`; one that cannot be renamed leaves
the cache in memory, as above, with a warning asking to delete it. A locked file skips
one operation;
one locked for :data:`BUSY_LIMIT` operations in a row is left for the session (kept
in memory). A table laid out otherwise (another version's) is made again.

Bounds: at most :data:`MAX_REPOSITORIES_PER_BLOB` repositories per blob (the
most recently seen), and entries not seen for :data:`MAX_AGE` are dropped
when the file is opened.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

from spyglass.core.cachedir import (
    FILE_MODE,
    make_cache_folder,
    tighten_own_file,
    tighten_own_folder,
    user_cache_folder,
)
from spyglass.core.digest import Digest
from spyglass.core.errors import SpyglassError

log = logging.getLogger(__name__)

FILE_NAME: Final = "blob-locations.sqlite"
MAX_REPOSITORIES_PER_BLOB: Final = 8
"""Repositories remembered per (registry, digest): the most recently seen."""
MAX_AGE: Final = 90 * 24 * 3600.0
"""Seconds after which an entry not seen again is dropped."""
REFRESH_AFTER: Final = 600.0
"""A location recorded this many seconds ago or less is not written again."""
SCHEMA_VERSION: Final = 1
BUSY_TIMEOUT: Final = 0.5
"""Seconds to wait for another process's lock before giving up on one operation."""
BUSY_LIMIT: Final = 4
"""Operations in a row skipped for a lock before the file is left for the session (one
held that long is a shell left in a transaction, not another copy's moment of writing:
each operation would wait :data:`BUSY_TIMEOUT` for nothing)."""
_MEMO_LIMIT: Final = 10_000
WRITER_IDLE: Final = 2.0
"""Seconds the background writer waits for more locations before it ends."""

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS blob_locations (
    host TEXT NOT NULL,
    digest TEXT NOT NULL,
    repository TEXT NOT NULL,
    seen REAL NOT NULL,
    PRIMARY KEY (host, digest, repository)
) WITHOUT ROWID
"""

_RECOMPRESSED_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS recompressed (
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    result TEXT NOT NULL,
    size INTEGER NOT NULL,
    seen REAL NOT NULL,
    PRIMARY KEY (source, target)
) WITHOUT ROWID
"""
"""What a blob became when it was recompressed (``target``: the compression and level),
as containers/image's cache remembers, so that a copy repeated finds the result at the
destination instead of making it again."""

_COLUMNS: Final = {"blob_locations": ["host", "digest", "repository", "seen"],
                   "recompressed": ["source", "target", "result", "size", "seen"]}
"""Each table's columns, in order: a table of the same name laid out otherwise (another
version's) is made again."""


def cache_path() -> Path:
    """Where the process's cache lives (the folder may not exist yet: it is made only
    below an existing home folder or $XDG_CACHE_HOME, see spyglass.core.cachedir)."""
    return user_cache_folder() / FILE_NAME


def _make_own_folder(folder: Path) -> None:
    """Make the file's folder, not the ones above it."""
    folder.mkdir(0o700, exist_ok=True)


class BlobLocationCache:
    """(registry host, digest) → repositories where the blob was seen; thread-safe.

    ``path`` None makes a cache that remembers nothing; a callable giving the path is
    asked when the file is first used. ``make_folder`` makes the file's folder when it
    is missing (by default that folder alone, never those above it); an OSError from it
    leaves the cache in memory. Locations recorded are
    answered from memory at once and written to the file by a background
    thread, in one transaction per batch, so recording never waits for the
    disk (a copy records the blobs of each manifest as it plans). The file is
    opened on first use, one connection shared under a lock; :meth:`close`
    writes what is left. ``clock`` gives the time (seconds, for ordering and
    ageing); tests pass their own.
    """

    def __init__(
        self,
        path: Path | Callable[[], Path] | None,
        *,
        max_per_blob: int = MAX_REPOSITORIES_PER_BLOB,
        clock: Callable[[], float] = time.time,
        make_folder: Callable[[Path], None] = _make_own_folder,
    ) -> None:
        self._path = path
        self._make_folder = make_folder
        self.max_per_blob = max_per_blob
        self._clock = clock
        self._lock = threading.Lock()  # what is in memory
        self._file_lock = threading.Lock()  # the connection, and one operation on the file
        self._connection: sqlite3.Connection | None = None
        self._disabled = path is None  # nothing remembered at all
        self._memory_only = False  # the file could not be had: this session's, in memory
        self.notice = ""
        """What a person should know about the file (a broken one was renamed aside), for
        the window to show once (:meth:`take_notice`); "" when nothing."""
        self._busy = 0  # operations skipped in a row for another process's lock
        self._file_id: tuple[int, int] | None = None
        """The file opened last (device, inode): a broken one is renamed aside only while
        it is still the one at the path (another process may have done so and started a
        new one meanwhile)."""
        self._recent: dict[tuple[str, str, str], float] = {}
        self._seen: dict[tuple[str, str], dict[str, float]] = {}  # recorded this session
        self._pending: dict[tuple[str, str, str], float] = {}  # not in the file yet
        self._made: dict[tuple[str, str], tuple[str, int]] = {}  # recompressed this session
        self._pending_made: dict[tuple[str, str], tuple[str, int, float]] = {}
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None

    @property
    def path(self) -> Path | None:
        """The file (a callable given for it is asked on first use: finding the user's
        cache folder imports platformdirs, which a copy need not wait for)."""
        if callable(self._path):
            self._path = self._path()
        return self._path

    def __repr__(self) -> str:
        state = "off" if self._disabled else "in memory" if self._memory_only else "on"
        return f"BlobLocationCache({str(self.path)!r}, {state})"

    @property
    def enabled(self) -> bool:
        """Whether the file is in use: False once it could not be had, or was found broken
        and could not be renamed aside (the cache then remembers this session's locations
        in memory), and for a cache without a file."""
        return not self._disabled and not self._memory_only

    def take_notice(self) -> str:
        """:attr:`notice`, once: "" after it was taken."""
        with self._lock:
            notice, self.notice = self.notice, ""
        return notice

    # ---------------------------------------------------------------- the API

    def record(self, host: str, repo: str, digest: Digest | str) -> None:
        """Remember that ``repo`` on ``host`` holds ``digest`` (now). Never raises, never
        waits for the file."""
        key = (host, str(digest), repo)
        now = self._clock()
        with self._lock:
            if self._disabled:
                return
            last = self._recent.get(key)
            if last is not None and now - last < REFRESH_AFTER:
                return
            if len(self._recent) >= _MEMO_LIMIT:
                self._recent.clear()
            self._recent[key] = now
            if key[:2] not in self._seen and len(self._seen) >= _MEMO_LIMIT:
                del self._seen[next(iter(self._seen))]  # (in memory only) the oldest blob
            seen = self._seen.setdefault(key[:2], {})
            seen[repo] = now
            if len(seen) > self.max_per_blob:  # as the file keeps them: the most recent
                del seen[min(seen, key=lambda name: (seen[name], name))]
            if self._memory_only:
                return
            self._pending[key] = now
            self._start_writer()
        self._wake.set()

    def _start_writer(self) -> None:
        """Start the background writer unless it runs (``_lock`` held)."""
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._write_pending, name="spyglass-blob-locations", daemon=True
            )
            self._writer.start()

    def candidates(
        self, host: str, digest: Digest | str, exclude_repo: str | None = None
    ) -> list[str]:
        """Repositories of ``host`` known to hold ``digest``, most recently seen first.

        ``exclude_repo`` (the repository being written to) is left out. Never
        raises: a cache that cannot answer has no candidates.
        """
        found: dict[str, float] = {}

        def query(db: sqlite3.Connection) -> None:
            rows = db.execute(
                "SELECT repository, seen FROM blob_locations WHERE host = ? AND digest = ? "
                "ORDER BY seen DESC, repository LIMIT ?",
                (host, str(digest), self.max_per_blob + 1),
            ).fetchall()
            found.update((str(row[0]), float(row[1])) for row in rows)

        with self._file_lock:
            self._run("lookup", query)
        if self._disabled:
            return []
        with self._lock:
            for repo, seen in self._seen.get((host, str(digest)), {}).items():
                found[repo] = max(seen, found.get(repo, seen))
        ordered = sorted(found, key=lambda repo: (-found[repo], repo))
        return [repo for repo in ordered if repo != exclude_repo][: self.max_per_blob]

    def record_recompressed(self, source: Digest, target: str, result: Digest, size: int
                            ) -> None:
        """Remember that ``source`` recompressed as ``target`` (``"zstd:3:…"``) is
        ``result`` of ``size`` bytes (again: it stays remembered). Never raises, never
        waits for the file: the background writer writes it."""
        key = (str(source), target)
        with self._lock:
            if self._disabled:
                return
            if key not in self._made and len(self._made) >= _MEMO_LIMIT:
                del self._made[next(iter(self._made))]
            self._made[key] = (str(result), size)
            if self._memory_only:
                return
            self._pending_made[key] = (str(result), size, self._clock())
            self._start_writer()
        self._wake.set()

    def recompressed(self, source: Digest, target: str) -> tuple[Digest, int] | None:
        """What ``source`` became when last recompressed as ``target``, if known: only
        a hint, to be found at the destination (and verified there) before it counts."""
        key = (str(source), target)
        with self._lock:
            known = self._made.get(key)
        if known is None:
            rows: list[tuple[str, int]] = []

            def query(db: sqlite3.Connection) -> None:
                rows.extend(db.execute(
                    "SELECT result, size FROM recompressed WHERE source = ? AND target = ?",
                    key).fetchall())

            with self._file_lock:
                self._run("lookup", query)
            known = (str(rows[0][0]), int(rows[0][1])) if rows else None
        if known is None:
            return None
        try:
            return Digest.parse(known[0]), known[1]
        except SpyglassError:
            return None

    def flush(self) -> None:
        """Write what is not in the file yet, now (the background writer does so soon)."""
        with self._file_lock:
            self._flush()

    def close(self) -> None:
        """Write what is not in the file yet, and close it; a later call opens it again.
        Safe to call twice. What another process keeps the file locked from (for
        :data:`BUSY_TIMEOUT` each, twice) is not written: it is only a cache."""
        with self._file_lock:
            self._flush()
            if self._pending or self._pending_made:
                self._flush()
            connection, self._connection = self._connection, None
        _close_quietly(connection)

    # ---------------------------------------------------------------- inside

    def _write_pending(self) -> None:
        """The background writer: write what was recorded, in batches, as it comes."""
        while True:
            woken = self._wake.wait(WRITER_IDLE)
            self._wake.clear()
            self.flush()
            if not woken:
                with self._lock:
                    if not self._pending and not self._pending_made:
                        # idle: the next record starts another writer
                        self._writer = None
                        return

    def _flush(self) -> None:
        """Write the pending locations and recompressions in one transaction (the file
        lock held)."""
        with self._lock:
            batch, self._pending = self._pending, {}
            made, self._pending_made = self._pending_made, {}
        if (not batch and not made) or self._disabled or self._memory_only:
            return
        if not self._run("record", lambda db: self._write(db, batch, made)):
            if not self._disabled and not self._memory_only:
                with self._lock:  # a busy file: the next flush tries again
                    self._pending = {**batch, **self._pending}
                    self._pending_made = {**made, **self._pending_made}
            return
        with self._lock:  # in the file now: memory need not keep them (a long session)
            for (host, digest, repo), now in batch.items():
                seen = self._seen.get((host, digest))
                if seen is not None and seen.get(repo) == now:
                    del seen[repo]
                    if not seen:
                        del self._seen[(host, digest)]

    def _write(
        self, db: sqlite3.Connection, batch: dict[tuple[str, str, str], float],
        made: dict[tuple[str, str], tuple[str, int, float]],
    ) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            for (source, target), (result, size, now) in made.items():
                db.execute(
                    "INSERT INTO recompressed (source, target, result, size, seen) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, target) DO UPDATE SET "
                    "result = excluded.result, size = excluded.size, seen = excluded.seen",
                    (source, target, result, size, now),
                )
            for (host, digest, repo), now in batch.items():
                db.execute(
                    "INSERT INTO blob_locations (host, digest, repository, seen) "
                    "VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (host, digest, repository) DO UPDATE SET seen = excluded.seen",
                    (host, digest, repo, now),
                )
                db.execute(
                    "DELETE FROM blob_locations WHERE host = ? AND digest = ? AND repository "
                    "NOT IN (SELECT repository FROM blob_locations WHERE host = ? AND "
                    "digest = ? ORDER BY seen DESC, repository LIMIT ?)",
                    (host, digest, host, digest, self.max_per_blob),
                )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise

    def _run(self, action: str, work: Callable[[sqlite3.Connection], None]) -> bool:
        """Run ``work`` on the open database (the file lock held); False when it could not."""
        replaced = False
        while not self._disabled and not self._memory_only:
            try:
                db = self._open()
                work(db)
                self._busy = 0
                return True
            except sqlite3.OperationalError as exc:
                if _is_busy(exc):
                    # another process holds the file for now: skip this one, keep the cache
                    self._busy += 1
                    if self._busy < BUSY_LIMIT:
                        log.info("The blob location cache %s is busy; skipped a %s.",
                                 self.path, action)
                        return False
                self._give_up(exc)
            except sqlite3.DatabaseError as exc:  # the file itself broken
                if not replaced and self._replace_broken(exc):
                    replaced = True  # a new file, once
                    continue
                self._give_up(exc)
            except Exception as exc:  # the cache is a convenience: never a crash
                # (out of file descriptors or memory, the folder not writable)
                self._give_up(exc)
        return False

    def _replace_broken(self, exc: sqlite3.DatabaseError) -> bool:
        """Rename the broken file to a free ``.bad`` name, its journal files first (they are
        the broken file's, and a new file must not take them up), so that the next open
        starts a new one; True too when another process has done so already (the file at
        the path is no longer the one found broken); False if it could not be renamed."""
        connection, self._connection = self._connection, None
        _close_quietly(connection)
        path = self.path
        assert path is not None
        with _folder_locked(path.parent):  # one process at a time looks, then renames
            if _file_id(path) != self._file_id:
                log.info("The broken blob location cache %s was replaced meanwhile.", path)
                return True
            return self._rename_broken(path, exc)

    def _rename_broken(self, path: Path, exc: sqlite3.DatabaseError) -> bool:
        bad = path.with_name(path.name + ".bad")
        number = 0
        while any(os.path.lexists(f"{bad}{end}") for end in ("", *_JOURNALS)):
            number += 1
            bad = path.with_name(f"{path.name}.bad.{number}")
        for journal in _JOURNALS:
            with contextlib.suppress(OSError):
                os.rename(f"{path}{journal}", f"{bad}{journal}")
        try:
            os.rename(path, bad)
        except FileNotFoundError:
            return True  # set aside by another process between the two looks
        except OSError as failed:
            log.debug("The broken blob location cache %s could not be renamed (%s).",
                      path, _reason(failed))
            return False
        self.notice = (f'The blob location cache "{path}" could not be read '
                       f'({str(exc) or type(exc).__name__}); it was renamed to "{bad}" and '
                       "a new one started. Where blobs were seen before is forgotten, so a "
                       "copy may upload a blob it could have mounted from another "
                       "repository until it is seen again.")
        log.warning("%s", self.notice)
        return True

    def _open(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        assert self.path is not None
        if not self.path.parent.is_dir():
            self._make_folder(self.path.parent)
        tighten_own_folder(self.path.parent)  # (one an older Spyglass made 0755)
        if self.path.name == FILE_NAME:
            _make_own_file(self.path)
        self._file_id = _file_id(self.path)
        db = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT, check_same_thread=False, isolation_level=None
        )
        try:
            try:
                db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
                db.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.OperationalError as exc:
                if _is_busy(exc):
                    raise
                # some filesystems cannot do WAL; the default journal works anyway
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for table, schema in (("blob_locations", _SCHEMA),
                                  ("recompressed", _RECOMPRESSED_SCHEMA)):
                columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
                if columns and (version not in (0, SCHEMA_VERSION)
                                or columns != _COLUMNS[table]):
                    db.execute(f"DROP TABLE {table}")  # another layout: it is only a cache
                db.execute(schema)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            oldest = self._clock() - MAX_AGE
            db.execute("DELETE FROM blob_locations WHERE seen < ?", (oldest,))
            db.execute("DELETE FROM recompressed WHERE seen < ?", (oldest,))
        except BaseException:
            db.close()
            raise
        self._connection = db
        if self.path.name == FILE_NAME:  # what it says (where blobs were seen) is the user's
            for journal in ("", *_JOURNALS):
                tighten_own_file(Path(f"{self.path}{journal}"))
        return db

    def _give_up(self, exc: BaseException) -> None:
        connection, self._connection = self._connection, None
        _close_quietly(connection)
        where = self._path if isinstance(self._path, Path) else "in the user's cache folder"
        self._memory_only = True
        # the file itself broken, and not renamed aside: deleting it starts a new one
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(
                exc, sqlite3.OperationalError):
            log.warning(
                "The blob location cache %s cannot be used (%s); blob locations are kept "
                "in memory for this session. Delete the file to start a new cache.",
                where, str(exc) or type(exc).__name__,
            )
            return
        # anything else (no home folder, a read-only one, no file descriptor or memory
        # left, a lock held on and on) is no fault of the file, and costs only what
        # earlier sessions saw
        busy = isinstance(exc, sqlite3.OperationalError) and _is_busy(exc)
        log.log(
            logging.INFO if busy else logging.DEBUG,
            "The blob location cache %s cannot be used (%s); blob locations are kept in "
            "memory for this session.", where, _reason(exc),
        )


def _reason(exc: BaseException) -> str:
    """What went wrong, in words (an OSError's without its errno number)."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f' "{exc.filename}"' if exc.filename else ""
        return f"{exc.strerror}{where}".rstrip(".")
    if isinstance(exc, OSError) and exc.errno:
        return errno.errorcode.get(exc.errno, type(exc).__name__)
    return str(exc) or type(exc).__name__


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


_default_lock = threading.Lock()
_default: BlobLocationCache | None = None


def default_cache() -> BlobLocationCache:
    """The process's cache, at :func:`cache_path` (found when first asked for)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = BlobLocationCache(cache_path, make_folder=make_cache_folder)
        return _default


def close_default_cache() -> None:
    """Close the process's cache file, if it was opened."""
    with _default_lock:
        cache = _default
    if cache is not None:
        cache.close()


def set_default_cache(cache: BlobLocationCache | None) -> BlobLocationCache | None:
    """Replace the process's cache (None: find it again on next use); return the old one."""
    global _default
    with _default_lock:
        old, _default = _default, cache
        return old


def _close_quietly(connection: sqlite3.Connection | None) -> None:
    """Close ``connection`` if there is one; a cache's failure to close is no one's concern."""
    if connection is not None:
        try:
            connection.close()
        except sqlite3.Error:
            pass


__all__ = [
    "BlobLocationCache",
    "cache_path",
    "default_cache",
    "set_default_cache",
]


_JOURNALS: Final = ("-wal", "-shm", "-journal")
"""What SQLite keeps beside a database file, by the ends of their names."""


def _make_own_file(path: Path) -> None:
    """Make the cache's file 0600 where it is not there yet, before SQLite opens it (and
    makes its journals with the same mode): SQLite made it 0644, set right only after
    (and logged as if an older Spyglass had made it so). Nothing when it is there: no
    descriptor of a file SQLite may have open here is opened (see
    :func:`~spyglass.core.cachedir.tighten_own_file`)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                     | os.O_CLOEXEC, FILE_MODE)
    except OSError:
        return  # there already (or not to be made: SQLite then says why)
    os.close(fd)


def _file_id(path: Path) -> tuple[int, int] | None:
    """Which file is at ``path`` (device, inode); None when none is."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


@contextlib.contextmanager
def _folder_locked(folder: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``folder`` for the ``with`` block, where it can be had
    (processes sharing the cache set a broken file aside one at a time); without it where
    it cannot (the rename is then only less sure to be the broken file's)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
