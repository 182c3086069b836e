"""The shared file helpers of the local destinations: error sentences that name what the
user named, and ``index.json``-style replacements that keep the file's access."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

# imported while the tests act as root: as nobody (unprivileged_dir) the interpreter's
# own modules (sqlite3), in root's home, are out of reach
import spyglass.core.blobcache  # noqa: F401
from spyglass.core.cancel import CancelToken
from spyglass.core.copy import copy_image
from spyglass.core.errors import Cancelled, InvalidLayout, TransportError
from spyglass.core.filemodes import FILE_MODE
from spyglass.core.transports import file_write, open_destination, open_source
from spyglass.core.transports.file_lock import exclusive_lock
from spyglass.core.transports.file_write import describe_write_error, replace_file
from spyglass.core.transports.layout_files import check_layout_destination
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, multi_platform_layout
from tests.helpers.mounts import read_only_view

NO_SPACE = OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize(("written", "shown"), [
    ("out/.a.tar.spyglass-tmp-hm1rvkxj/.spyglass-tmp-16k74a9k", "out/a.tar"),
    ("out/.a.tar.spyglass-tmp-hm1rvkxj", "out/a.tar"),
    ("out/layout/.spyglass-tmp-abcd", "out/layout"),
    ("out/layout/index.json.lock", "out/layout"),
    ("out/layout/index.json", "out/layout/index.json"),
])
def test_a_write_error_names_what_the_user_named(written: str, shown: str) -> None:
    assert describe_write_error(NO_SPACE, written) == (
        f'Cannot write "{shown}": No space left on device.')


def test_no_inodes_left_is_said_apart_from_no_room(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ENOSPC means either; df shows room while the inodes are gone
    real = os.statvfs(tmp_path)
    fields = {name: getattr(real, name) for name in dir(real) if name.startswith("f_")}
    monkeypatch.setattr(os, "statvfs", lambda _p: SimpleNamespace(**{**fields, "f_favail": 0}))
    assert describe_write_error(NO_SPACE, tmp_path / "layout" / "blobs") == (
        f'Cannot write "{tmp_path / "layout" / "blobs"}": its filesystem has no file entries '
        "(inodes) left, though it may have room for data.")


def test_a_file_where_a_folder_should_be_is_named(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    error = NotADirectoryError(errno.ENOTDIR, "Not a directory")
    assert describe_write_error(error, tmp_path / "afile" / "sub" / "x") == (
        f'Cannot write "{tmp_path / "afile" / "sub" / "x"}": "{tmp_path / "afile"}" is a '
        "file, not a folder.")
    exists = FileExistsError(errno.EEXIST, "File exists")
    assert "is a file, not a folder" in describe_write_error(exists, tmp_path / "afile" / "s")


@pytest.mark.parametrize("destination", ["dir:{}/afile/sub", "oci:{}/afile/lay:v1",
                                         "docker-archive:{}/afile/a.tar",
                                         "oci-archive:{}/afile/sub/o.tar"])
def test_every_destination_under_a_file_says_so(tmp_path: Path, destination: str) -> None:
    multi_platform_layout(tmp_path / "src")
    (tmp_path / "afile").write_text("x")
    with pytest.raises((TransportError, InvalidLayout), match="is a file, not a folder"):
        copy_image(open_source(f"oci:{tmp_path / 'src'}:latest"),
                   open_destination(destination.format(tmp_path)))
    assert (tmp_path / "afile").read_text() == "x"


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    """A private index.json stays private (it used to become 0644)."""
    target = tmp_path / "index.json"
    target.write_text("{}")
    target.chmod(0o600)
    replace_file(target, b'{"schemaVersion":2}')
    assert target.read_bytes() == b'{"schemaVersion":2}'
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    fresh = tmp_path / "new.json"
    replace_file(fresh, b"{}")
    assert stat.S_IMODE(fresh.stat().st_mode) == FILE_MODE


def test_a_read_only_file_is_not_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    """A rename would replace it all the same (only the folder's permission counts), so
    a file the user may not write is refused (root may write any file: os.access says
    so, and here it is made to say no)."""
    target = tmp_path / "index.json"
    target.write_text("{}")
    target.chmod(0o444)
    if os.access(target, os.W_OK):
        monkeypatch.setattr(file_write.os, "access", lambda path, mode, **_kw: False)
    with pytest.raises(TransportError, match="the file is read-only"):
        replace_file(target, b"[]")
    assert target.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json"]


def test_a_copy_into_a_layout_keeps_its_index_private(tmp_path: Path) -> None:
    multi_platform_layout(tmp_path / "src")
    copy_image(open_source(f"oci:{tmp_path / 'src'}:latest"),
               open_destination(f"oci:{tmp_path / 'out'}:v1"))
    index = tmp_path / "out" / "index.json"
    index.chmod(0o640)
    copy_image(open_source(f"oci:{tmp_path / 'src'}:latest"),
               open_destination(f"oci:{tmp_path / 'out'}:v2"))
    assert stat.S_IMODE(index.stat().st_mode) == 0o640
    names = [m["annotations"]["org.opencontainers.image.ref.name"]
             for m in json.loads(index.read_bytes())["manifests"]]
    assert sorted(names) == ["v1", "v2"]


# --------------------------------------------------------------------------- the index lock


def test_the_lock_file_is_there_only_while_the_lock_is_held(tmp_path: Path) -> None:
    lock = tmp_path / "index.json.lock"
    with exclusive_lock(lock, what="the layout"):
        assert lock.is_file()
    assert not lock.exists()


def test_a_lock_file_a_killed_writer_left_is_taken_and_removed(tmp_path: Path) -> None:
    lock = tmp_path / "index.json.lock"
    lock.touch()
    with exclusive_lock(lock, what="the layout"):
        pass
    assert not lock.exists()


def test_writers_waiting_while_the_file_goes_still_take_turns(tmp_path: Path) -> None:
    """Each holder removes the file as it lets go; writers that waited on the removed
    file must not both go ahead (one on the old file, one on a new one)."""
    lock = tmp_path / "index.json.lock"
    counter = tmp_path / "counter"
    counter.write_text("0")
    inside: list[int] = []
    overlaps: list[int] = []
    guard = threading.Lock()

    def writer() -> None:
        for _ in range(40):
            with exclusive_lock(lock, what="the layout"):
                with guard:
                    inside.append(1)
                    if len(inside) > 1:
                        overlaps.append(len(inside))
                value = int(counter.read_text())  # a read-modify-write, as of index.json
                time.sleep(0.0005)
                counter.write_text(str(value + 1))
                with guard:
                    inside.pop()

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert counter.read_text() == str(6 * 40)
    assert not lock.exists()


def test_a_cancelled_wait_for_the_lock_leaves_the_holders_file(tmp_path: Path) -> None:
    lock = tmp_path / "index.json.lock"
    token = CancelToken()
    with exclusive_lock(lock, what="the layout"):
        waiting = threading.Thread(target=lambda: _wait_cancelled(lock, token))
        waiting.start()
        token.cancel()
        waiting.join()
        assert lock.is_file()
    assert not lock.exists()


def _wait_cancelled(lock: Path, token: CancelToken) -> None:
    with pytest.raises(Cancelled), exclusive_lock(lock, what="the layout", cancel=token):
        pytest.fail("took a lock that another writer holds")


def test_letting_go_removes_only_the_lock_file_held(tmp_path: Path) -> None:
    """A block that removed the lock file itself (taking back a new layout) may see
    another writer make and lock a new one at the name: that one is not removed."""
    lock = tmp_path / "index.json.lock"
    with exclusive_lock(lock, what="the layout"):
        lock.unlink()
        lock.touch()  # another writer's, made after ours went
        theirs = lock.stat().st_ino
    assert lock.exists() and lock.stat().st_ino == theirs


def test_a_temporary_is_claimed_even_while_another_copy_looks(tmp_path: Path) -> None:
    """A copy looking whether others are at work holds a shared lock on each temporary
    for a moment; one made meanwhile waits for it, rather than going unclaimed (and
    unseen by the next look, and swept while in use)."""
    import threading

    from spyglass.core.transports.temporaries import TempFiles, claimed_by_others

    stop = threading.Event()

    def look() -> None:
        while not stop.is_set():
            claimed_by_others(tmp_path)

    looker = threading.Thread(target=look)
    looker.start()
    temps = TempFiles(tmp_path)
    unclaimed = 0
    try:
        for _ in range(500):
            fd, path = temps.create("at-work-")
            os.close(fd)
            unclaimed += temps._paths[path] is None
            temps.discard(path)
    finally:
        stop.set()
        looker.join()
    assert unclaimed == 0


@pytest.mark.parametrize("transport", ["oci-archive", "docker-archive", "dir"])
def test_an_image_the_user_may_not_write_is_not_replaced(unprivileged_dir: Path,
                                                         transport: str) -> None:
    """A rename over an archive or dir: image needs only the right to write its folder;
    skopeo, writing in place, needs the right to write it, and so does this copy: a
    read-only one is refused before anything is written, and stays as it was."""
    source = unprivileged_dir / "src"
    builder = LayoutBuilder(source)
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})])), "app")
    target = unprivileged_dir / ("image" if transport == "dir" else "image.tar")
    name = f"{transport}:{target}" + (":app:v1" if transport == "docker-archive" else "")
    copy_image(open_source(f"oci:{source}:app"), open_destination(name))
    target.chmod(0o555 if transport == "dir" else 0o444)
    before = sorted(p.name for p in unprivileged_dir.iterdir())
    what = "folder" if transport == "dir" else "file"
    with pytest.raises(TransportError, match=rf"^Cannot write \"{target}\": the {what} is "
                                             r"read-only \(Permission denied\)\.$"):
        open_destination(name)
    assert sorted(p.name for p in unprivileged_dir.iterdir()) == before


@pytest.mark.parametrize("transport", ["oci-archive", "docker-archive", "dir", "oci"])
def test_an_image_on_a_read_only_filesystem_is_said_to_be_there(tmp_path: Path,
                                                                transport: str) -> None:
    """Not "the file is read-only (Permission denied)": its mode lets it be written, and
    chmod, which that sentence leads to, fails on a read-only filesystem too."""
    source = tmp_path / "src"
    builder = LayoutBuilder(source)
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})])), "app")
    place = tmp_path / "place"
    place.mkdir()
    leaf = "image.tar" if transport.endswith("archive") else "image"
    suffix = {"docker-archive": ":app:v1", "oci": ":app"}.get(transport, "")
    copy_image(open_source(f"oci:{source}:app"),
               open_destination(f"{transport}:{place / leaf}{suffix}"))
    with read_only_view(place, tmp_path / "ro") as seen:
        target = seen / leaf
        said = rf'^Cannot write "{target}": Read-only file system\.$'
        if transport == "oci":  # what the Copy dialog asks before a copy into a layout
            with pytest.raises(TransportError, match=said):
                check_layout_destination(target)
        else:
            with pytest.raises(TransportError, match=said):
                open_destination(f"{transport}:{target}{suffix}")


def test_a_file_refused_for_another_reason_than_its_mode_is_not_called_read_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its owner may write it by its mode (an ACL or a security module refuses): it is not
    "read-only", and not on a read-only filesystem."""
    target = tmp_path / "image.tar"
    target.write_bytes(b"")
    target.chmod(0o644)
    existing = os.stat(target)
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    with pytest.raises(TransportError, match=rf'^Cannot write "{target}": Permission denied\.$'):
        file_write.check_replaceable(target, existing)


def test_a_long_wait_for_the_index_lock_is_said_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A copy waiting for another that holds a layout's lock (stopped with Ctrl+Z, hung)
    waited in silence, for ever, and looked frozen."""
    import logging

    from spyglass.core.retry import RETRY_NOTES
    from spyglass.core.transports import file_lock

    monkeypatch.setattr(file_lock, "NOTED_WAIT", 0.1)
    lock = tmp_path / "index.json.lock"
    took = threading.Event()

    def waiter() -> None:
        with exclusive_lock(lock, what="The layout /srv/app"):
            took.set()

    with caplog.at_level(logging.WARNING, logger=RETRY_NOTES):
        with exclusive_lock(lock, what="the layout"):
            thread = threading.Thread(target=waiter)
            thread.start()
            time.sleep(0.4)
            assert not took.is_set()
        thread.join(timeout=10)
    assert took.is_set()
    assert [r.getMessage() for r in caplog.records if r.name == RETRY_NOTES] == [
        f'The layout /srv/app is being written by another program, which holds "{lock}"; '
        "waiting for it to finish…"]


def test_the_layout_destination_check_says_whether_a_layout_is_there(tmp_path: Path) -> None:
    """What the Copy dialog says of an oci: destination it has looked at: an existing
    layout (one without its oci-layout file too, as older BuildKit writes them) is one;
    an empty folder, a new one, or what containers/image leaves of a layout it was
    writing are made one by the copy."""
    layout = tmp_path / "layout"
    builder = LayoutBuilder(layout)
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})])), "app")
    assert check_layout_destination(layout) is True
    (layout / "oci-layout").unlink()
    assert check_layout_destination(layout) is True
    empty = tmp_path / "empty"
    empty.mkdir()
    assert check_layout_destination(empty) is False
    assert check_layout_destination(tmp_path / "new") is False
    left = tmp_path / "left"
    (left / "blobs").mkdir(parents=True)
    assert check_layout_destination(left) is False


def test_running_out_of_open_files_says_so_and_what_to_do(tmp_path: Path) -> None:
    """Saying "Too many open files" sends the user to the file; what failed is the process's
    open-file limit (``ulimit -n``, too low for --parallel): said, for a read and a write
    that really ran out."""
    script = """\
import errno, json, os, resource, sys
from spyglass.core.transports.file_write import describe_write_error
from spyglass.core.transports.files import describe_os_error
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
held = []
try:
    while True:
        held.append(os.open(os.devnull, os.O_RDONLY))
except OSError:
    pass
said = []
for describe, flags in ((describe_os_error, os.O_RDONLY), (describe_write_error, os.O_WRONLY)):
    try:
        os.open(sys.argv[1], flags)
    except OSError as exc:
        said.append(describe(exc, sys.argv[1]))
print(json.dumps(said))
"""
    blob = tmp_path / "blob"
    blob.write_bytes(b"x")
    repo = Path(__file__).resolve().parents[4]
    done = subprocess.run([sys.executable, "-c", script, str(blob)],
                          env={"PYTHONPATH": str(repo / "app"), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    advice = ("Spyglass ran out of open files (it may have 64 open at once, `ulimit -n`); "
              "lower --parallel or raise that limit.")
    assert json.loads(done.stdout) == [f'Cannot read "{blob}": {advice}',
                                       f'Cannot write "{blob}": {advice}']


def test_the_whole_system_running_out_of_open_files_is_said_too() -> None:
    from spyglass.core.transports.files import describe_os_error

    exc = OSError(errno.ENFILE, os.strerror(errno.ENFILE))
    assert describe_os_error(exc, "b") == (
        'Cannot read "b": the system ran out of open files (the limit for all its programs '
        "together, fs.file-max); lower --parallel, or close other programs.")
