"""The blob location cache: what it remembers, its bounds, threads, and how it fails soft."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from spyglass.core import blobcache
from spyglass.core.blobcache import (
    MAX_AGE,
    BlobLocationCache,
    cache_path,
    default_cache,
    set_default_cache,
)
from spyglass.core.digest import Digest

D1 = Digest.of(b"one")
D2 = Digest.of(b"two")
HOST = "registry.test"


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = 1000.0) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "sub" / "blob-locations.sqlite"


def test_record_and_candidates_most_recent_first(path: Path, clock: Clock) -> None:
    cache = BlobLocationCache(path, clock=clock)
    for repo in ("a/one", "b/two", "c/three"):
        cache.record(HOST, repo, D1)
        clock.tick()
    cache.record(HOST, "z/other", D2)
    cache.record("other.test", "x/y", D1)
    assert cache.candidates(HOST, D1) == ["c/three", "b/two", "a/one"]
    assert cache.candidates(HOST, str(D1), exclude_repo="b/two") == ["c/three", "a/one"]
    assert cache.candidates(HOST, D2) == ["z/other"]
    assert cache.candidates("other.test", D1) == ["x/y"]
    assert cache.candidates("nowhere.test", D1) == []
    clock.tick()
    cache.record(HOST, "a/one", D1)  # seen again: first now
    assert cache.candidates(HOST, D1)[0] == "a/one"
    cache.close()
    cache.close()
    # the file keeps it all
    again = BlobLocationCache(path, clock=clock)
    assert again.candidates(HOST, D1) == ["a/one", "c/three", "b/two"]
    again.close()


def test_bounded_per_blob(path: Path, clock: Clock) -> None:
    cache = BlobLocationCache(path, max_per_blob=3, clock=clock)
    for n in range(10):
        cache.record(HOST, f"repo/{n}", D1)
        clock.tick()
    assert cache.candidates(HOST, D1) == ["repo/9", "repo/8", "repo/7"]
    # excluding one still leaves the others
    assert cache.candidates(HOST, D1, exclude_repo="repo/9") == ["repo/8", "repo/7"]
    cache.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM blob_locations").fetchone()[0] == 3


def test_old_entries_are_dropped_on_open(path: Path, clock: Clock) -> None:
    cache = BlobLocationCache(path, clock=clock)
    cache.record(HOST, "old/repo", D1)
    clock.tick(MAX_AGE / 2)
    cache.record(HOST, "new/repo", D1)
    cache.close()
    clock.tick(MAX_AGE / 2 + 1)
    later = BlobLocationCache(path, clock=clock)
    assert later.candidates(HOST, D1) == ["new/repo"]
    later.close()


def test_repeated_records_are_not_written_again(path: Path, clock: Clock, monkeypatch) -> None:
    cache = BlobLocationCache(path, clock=clock)
    cache.record(HOST, "a/b", D1)
    cache.flush()
    writes: list[object] = []
    monkeypatch.setattr(cache, "_write", lambda *args: writes.append(args))
    cache.record(HOST, "a/b", D1)
    cache.flush()
    assert writes == []
    clock.tick(blobcache.REFRESH_AFTER + 1)
    cache.record(HOST, "a/b", D1)
    cache.flush()
    assert len(writes) == 1
    cache.close()


def test_recording_never_waits_for_the_file(path: Path, clock: Clock, monkeypatch) -> None:
    """A copy records each manifest's blobs as it plans: answered from memory at once,
    written by the background writer."""
    cache = BlobLocationCache(path, clock=clock)
    cache.record(HOST, "a/warm", D2)
    cache.flush()  # the file is open
    started, release = threading.Event(), threading.Event()
    real_write = cache._write

    def slow_write(*args: object) -> None:
        started.set()
        release.wait(10)
        real_write(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cache, "_write", slow_write)
    begun = time.monotonic()
    cache.record(HOST, "a/b", D1)
    assert started.wait(10)  # the writer is stuck in the file…
    clock.tick()
    cache.record(HOST, "a/c", D1)  # …and recording does not wait for it
    assert time.monotonic() - begun < 5
    release.set()
    assert cache.candidates(HOST, D1) == ["a/c", "a/b"]
    cache.close()
    again = BlobLocationCache(path, clock=clock)
    assert again.candidates(HOST, D1) == ["a/c", "a/b"]
    again.close()


def test_without_a_path_nothing_is_remembered() -> None:
    cache = BlobLocationCache(None)
    cache.record(HOST, "a/b", D1)
    assert cache.candidates(HOST, D1) == []
    assert not cache.enabled


def test_a_corrupt_file_is_renamed_aside_and_a_new_one_started(path: Path, caplog) -> None:
    """It turned mounts off (not even this session's, as without a file), for good: the
    file was never replaced, and every copy said so again."""
    path.parent.mkdir(parents=True)
    junk = b"this is not an SQLite database, just some bytes " * 100
    path.write_bytes(junk)
    cache = BlobLocationCache(path)
    with caplog.at_level(logging.WARNING, logger=blobcache.__name__):
        cache.record(HOST, "a/b", D1)
        assert cache.candidates(HOST, D1) == ["a/b"]
        cache.record(HOST, "a/c", D1)
        cache.close()
    assert cache.enabled
    bad = path.with_name("blob-locations.sqlite.bad")
    assert bad.read_bytes() == junk
    notice = (f'The blob location cache "{path}" could not be read (file is not a database); '
              f'it was renamed to "{bad}" and a new one started. Where blobs were seen '
              "before is forgotten, so a copy may upload a blob it could have mounted from "
              "another repository until it is seen again.")
    assert [r.getMessage() for r in caplog.records] == [notice]  # once
    assert cache.take_notice() == notice and cache.take_notice() == ""
    assert sorted(BlobLocationCache(path).candidates(HOST, D1)) == ["a/b", "a/c"]


def test_a_corrupt_file_another_process_replaced_is_not_renamed_again(
        path: Path, caplog) -> None:
    """Two processes meeting one broken file: the slower renamed aside the new file the
    faster had just started (with what it recorded), and took its journal files."""
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not an SQLite database, just some bytes " * 100)
    slower = BlobLocationCache(path)
    with pytest.raises(sqlite3.DatabaseError) as info:
        slower._open()  # it found the file broken…
    faster = BlobLocationCache(path)  # …and meanwhile another set it aside, started anew
    faster.record(HOST, "a/b", D1)
    faster.close()
    assert path.with_name("blob-locations.sqlite.bad").exists()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=blobcache.__name__):
        assert slower._replace_broken(info.value)
        slower.record(HOST, "a/c", D1)
        slower.close()
    assert not caplog.records and slower.take_notice() == ""
    assert not path.with_name("blob-locations.sqlite.bad.1").exists()
    assert sorted(BlobLocationCache(path).candidates(HOST, D1)) == ["a/b", "a/c"]


def test_a_corrupt_file_that_cannot_be_renamed_leaves_the_cache_in_memory(
        path: Path, caplog, monkeypatch) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not an SQLite database, just some bytes " * 100)
    cache = BlobLocationCache(path)

    def refused(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(blobcache.os, "rename", refused)
    with caplog.at_level(logging.WARNING, logger=blobcache.__name__):
        cache.record(HOST, "a/b", D1)
        cache.close()
        assert cache.candidates(HOST, D1) == ["a/b"]  # this session's, as without a file
    assert not cache.enabled and "in memory" in repr(cache)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert str(path) in warnings[0] and "Delete the file" in warnings[0]


def test_a_file_that_cannot_be_had_leaves_the_cache_in_memory_quietly(
        tmp_path: Path, caplog) -> None:
    # a folder that cannot be made: what this session saw is still answered, nothing
    # is said but at debug level (a copy loses only what earlier sessions saw)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")
    cache = BlobLocationCache(blocked / "blob-locations.sqlite")
    with caplog.at_level(logging.DEBUG, logger=blobcache.__name__):
        cache.record(HOST, "a/b", D1)
        assert cache.candidates(HOST, D1) == ["a/b"]
        cache.record(HOST, "a/c", D1)
        cache.record_recompressed(D1, "zstd:default", D2, 1234)
        assert cache.recompressed(D1, "zstd:default") == (D2, 1234)
        assert sorted(cache.candidates(HOST, D1)) == ["a/b", "a/c"]
        cache.close()
    assert not cache.enabled and "in memory" in repr(cache)
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]  # once
    said = caplog.records[0].getMessage()
    assert "kept in memory" in said and "Errno" not in said and "Delete the file" not in said
    assert not blocked.is_dir()


@pytest.mark.parametrize("trouble", [
    MemoryError(), sqlite3.OperationalError("unable to open database file"),
    OSError(24, "Too many open files"),
    PermissionError(13, "Permission denied", "/.cache")])
def test_running_out_of_something_keeps_the_cache_in_memory_without_blaming_the_file(
        path: Path, caplog, monkeypatch, trouble: BaseException) -> None:
    # out of file descriptors or memory, a home folder not writable: no traceback from
    # the writer thread, no advice to delete a file that is fine, and no warning
    cache = BlobLocationCache(path)

    def fail() -> None:
        raise trouble

    monkeypatch.setattr(cache, "_open", fail)
    with caplog.at_level(logging.DEBUG, logger=blobcache.__name__):
        cache.record(HOST, "a/b", D1)
        cache.close()
        assert cache.candidates(HOST, D1) == ["a/b"]
    assert not cache.enabled
    said = [r.getMessage() for r in caplog.records]
    assert [r.levelno for r in caplog.records] == [logging.DEBUG], said
    assert "Errno" not in said[0] and "Delete the file" not in said[0]


def test_in_memory_it_stays_bounded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(blobcache, "_MEMO_LIMIT", 5)
    cache = BlobLocationCache(tmp_path / "file-not-folder" / "x.sqlite")
    (tmp_path / "file-not-folder").write_text("")
    cache.candidates(HOST, D1)  # finds it cannot have the file
    for n in range(20):
        cache.record(HOST, "a/b", Digest.of(str(n).encode()))
        cache.record_recompressed(Digest.of(str(n).encode()), "zstd:default", D2, n)
    assert len(cache._seen) == 5 and len(cache._made) == 5
    assert cache.candidates(HOST, Digest.of(b"19")) == ["a/b"]  # the newest kept
    assert cache.candidates(HOST, Digest.of(b"0")) == []


def test_a_locked_database_skips_the_operation_and_keeps_the_cache(
    path: Path, clock: Clock, caplog, monkeypatch
) -> None:
    monkeypatch.setattr(blobcache, "BUSY_TIMEOUT", 0.05)
    cache = BlobLocationCache(path, clock=clock)
    cache.record(HOST, "a/b", D1)
    cache.flush()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process writing (WAL: readers still read)
    try:
        with caplog.at_level(logging.INFO, logger=blobcache.__name__):
            clock.tick()
            cache.record(HOST, "a/c", D1)
            cache.flush()
        assert "busy" in caplog.text
        assert cache.enabled
        assert cache.candidates(HOST, D1) == ["a/c", "a/b"]  # this session's, from memory
    finally:
        other.execute("ROLLBACK")
        other.close()
    cache.close()  # the write the busy file refused goes now
    again = BlobLocationCache(path, clock=clock)
    assert again.candidates(HOST, D1) == ["a/c", "a/b"]
    again.close()


def test_a_lock_held_on_and_on_leaves_the_file_for_the_session(
    path: Path, clock: Clock, caplog, monkeypatch
) -> None:
    # a sqlite3 shell left in a transaction: each operation would wait BUSY_TIMEOUT (a
    # 30-layer copy took 20 s, not 0.2 s); after BUSY_LIMIT in a row, memory it is
    monkeypatch.setattr(blobcache, "BUSY_TIMEOUT", 0.05)
    made = BlobLocationCache(path, clock=clock)
    made.record(HOST, "x/y", D2)
    made.close()  # the file made
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO blob_locations VALUES ('h', 'd', 'r', 1)")
    try:
        cache = BlobLocationCache(path, clock=clock)
        opened: list[int] = []
        real_open = cache._open
        monkeypatch.setattr(cache, "_open", lambda: opened.append(1) or real_open())
        with caplog.at_level(logging.INFO, logger=blobcache.__name__):
            for _ in range(5):
                assert cache.candidates(HOST, D1) == []
        assert len(opened) == blobcache.BUSY_LIMIT
        assert "kept in memory for this session" in caplog.text
        cache.record(HOST, "a/b", D1)
        assert cache.candidates(HOST, D1) == ["a/b"]  # this session's, from memory
        cache.close()
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_a_table_laid_out_otherwise_is_made_again(path: Path, clock: Clock) -> None:
    # (another version's layout, user_version 0: the cache stayed in memory every run)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(path, isolation_level=None)
    old.execute("CREATE TABLE blob_locations (host TEXT, digest TEXT, repo TEXT, ts REAL)")
    old.execute("CREATE TABLE recompressed (source TEXT, result TEXT)")
    old.close()
    cache = BlobLocationCache(path, clock=clock)
    cache.record(HOST, "a/b", D1)
    cache.close()
    again = BlobLocationCache(path, clock=clock)
    assert again.enabled
    assert again.candidates(HOST, D1) == ["a/b"]  # from the file
    again.close()


def test_threads_share_one_cache(path: Path) -> None:
    cache = BlobLocationCache(path, max_per_blob=50)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                cache.record(HOST, f"repo/{n}", Digest.of(str(i).encode()))
                cache.candidates(HOST, Digest.of(str(i).encode()))
        except BaseException as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(cache.candidates(HOST, Digest.of(b"7"))) == [f"repo/{n}" for n in range(8)]
    cache.close()


def test_the_default_cache_lives_under_xdg_cache_home() -> None:
    expected = Path(os.environ["XDG_CACHE_HOME"]) / "spyglass" / "blob-locations.sqlite"
    assert cache_path() == expected
    old = set_default_cache(None)
    try:
        assert default_cache().path == expected
        assert default_cache() is default_cache()
    finally:
        set_default_cache(old)


def test_memory_keeps_only_what_is_not_in_the_file_yet(path: Path, clock: Clock) -> None:
    cache = BlobLocationCache(path, clock=clock)
    for n in range(50):
        cache.record(HOST, "a/b", Digest.of(str(n).encode()))
    cache.flush()
    assert cache._seen == {}  # a long session does not grow it
    assert cache.candidates(HOST, Digest.of(b"7")) == ["a/b"]  # the file answers
    cache.close()


def test_what_a_blob_became_when_recompressed_is_remembered(path: Path, clock: Clock) -> None:
    cache = BlobLocationCache(path, clock=clock)
    assert cache.recompressed(D1, "zstd:default") is None
    cache.record_recompressed(D1, "zstd:default", D2, 1234)
    assert cache.recompressed(D1, "zstd:default") == (D2, 1234)
    assert cache.recompressed(D1, "zstd:19") is None  # another level is another blob
    cache.close()
    later = BlobLocationCache(path, clock=clock)  # in the file, for the next copy
    assert later.recompressed(D1, "zstd:default") == (D2, 1234)
    later.close()
    clock.tick(MAX_AGE + 1)
    aged = BlobLocationCache(path, clock=clock)
    assert aged.recompressed(D1, "zstd:default") is None
    aged.close()
    assert BlobLocationCache(None).recompressed(D1, "zstd:default") is None


def test_a_broken_file_is_looked_at_and_renamed_under_a_lock(path: Path) -> None:
    """Two processes meeting one broken file at the same instant: between one's look (the
    broken file is still there) and its rename, the other could set it aside and start a
    new one, which the first then renamed. The look and the rename happen under a lock
    on the folder, held here by the "other process" while it replaces the file."""
    import fcntl

    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not an SQLite database, just some bytes " * 100)
    slower = BlobLocationCache(path)
    with pytest.raises(sqlite3.DatabaseError) as info:
        slower._open()
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(folder, fcntl.LOCK_EX)
    answers: list[bool] = []
    looking = threading.Thread(target=lambda: answers.append(slower._replace_broken(info.value)))
    looking.start()
    try:
        looking.join(0.3)
        assert looking.is_alive() and not path.with_name(path.name + ".bad").exists()
        os.rename(path, path.with_name(path.name + ".bad"))  # the other process's work
        faster = BlobLocationCache(path)
        faster.record(HOST, "a/b", D1)
        faster.close()
    finally:
        fcntl.flock(folder, fcntl.LOCK_UN)
        os.close(folder)
        looking.join(10)
    assert answers == [True]
    assert sorted(p.name for p in path.parent.iterdir() if ".bad" in p.name) == [
        "blob-locations.sqlite.bad"]
    assert BlobLocationCache(path).candidates(HOST, D1) == ["a/b"]


@pytest.mark.parametrize("o_path", [True, False], ids=["O_PATH", "no /proc"])
def test_processes_opening_and_closing_the_file_leave_a_long_open_one_whole(
        path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, o_path: bool) -> None:
    """Spyglass opened the file and its journals to set their mode while its own SQLite
    connection had them open: closing those descriptors dropped the connection's locks,
    so a short-lived process (a copy next to the window, a sync's subprocess) closing the
    file took itself for the last user and deleted the write-ahead log the long-lived
    one was writing. The file came out malformed, and was set aside as broken."""
    import subprocess
    import sys

    child = (
        "import sys\n"
        "from pathlib import Path\n"
        "from spyglass.core.blobcache import BlobLocationCache\n"
        "from spyglass.core.digest import Digest\n"
        "cache = BlobLocationCache(Path(sys.argv[1]))\n"
        "name = sys.argv[2]\n"
        "for i in range(50):\n"
        "    cache.record('registry.test', f'child{name}', Digest.of(f'{name}-{i}'.encode()))\n"
        "cache.close()\n"
    )
    from spyglass.core import cachedir

    if not o_path:  # (the files' modes are then set by path)
        monkeypatch.setattr(cachedir, "_O_PATH", 0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    long_lived = BlobLocationCache(path)
    for number in range(4):
        for i in range(50):
            long_lived.record(HOST, "long", Digest.of(f"long{number}-{i}".encode()))
        long_lived.flush()
        subprocess.run([sys.executable, "-c", child, str(path), str(number)], env=env,
                       check=True, timeout=60)
    long_lived.flush()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        counts = dict(db.execute(
            "SELECT repository, count(*) FROM blob_locations GROUP BY repository"))
    long_lived.close()
    assert counts == {"long": 200, **{f"child{number}": 50 for number in range(4)}}
    assert not [name for name in os.listdir(path.parent) if ".bad" in name]
