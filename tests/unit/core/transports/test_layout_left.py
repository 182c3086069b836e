"""Copies stopped together in one OCI layout: each that sees another at work leaves its
blobs, recorded (``index.json.left``), and the last copy to leave the layout takes them
back, so the layout ends as it was (spyglass.core.transports.layout_left, and
OCILayoutDestination's take-back in layout_write)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from spyglass.core.cancel import CancelToken
from spyglass.core.copy import (
    BlobDone,
    BlobSkipped,
    CopyCancelled,
    CopyEvent,
    CopyOptions,
    execute,
    plan_copy,
)
from spyglass.core.digest import Digest
from spyglass.core.errors import Cancelled
from spyglass.core.manifest import Descriptor
from spyglass.core.transports import open_destination, open_source
from spyglass.core.transports.files import blob_path
from spyglass.core.transports.layout_left import LEFT_FILE, layout_identity
from spyglass.core.transports.layout_write import OCILayoutDestination
from tests.helpers.held_copies import HOLD_LIMIT, AbortsInTurn, HeldLayer, source_layout
from tests.unit.core.transports.test_dir_dest import single_source
from tests.unit.core.transports.test_layout_dest import copy_image, single_image_layout

__all__ = ["single_source"]  # (the fixture, used by name)


def layout_files(root: Path) -> dict[str, bytes] | None:
    """Every file of the layout at ``root`` and its bytes; None when the folder is gone."""
    if not root.exists():
        return None
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


class _Copy:
    """One copy run by the engine in a thread of its own, its events kept."""

    def __init__(self, source: Any, dest: Any) -> None:
        self.source, self.dest = source, dest
        self.plan = plan_copy(source, dest, CopyOptions())
        self.cancel = CancelToken()
        self.events: list[CopyEvent] = []
        self.all_but_held = threading.Event()
        """Every blob but the held one is written whole."""
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run)

    def _seen(self, event: CopyEvent) -> None:
        self.events.append(event)
        # (a layer the other copy put there first is found there: skipped)
        done = sum(isinstance(e, BlobDone | BlobSkipped) for e in self.events)
        if done == len(self.plan.blobs) - 1:
            self.all_but_held.set()

    def _run(self) -> None:
        try:
            execute(self.plan, self.source, self.dest, events=self._seen, cancel=self.cancel)
        except BaseException as exc:  # (a thread's error is the test's to look at)
            self.error = exc

    def ending(self) -> CopyEvent:
        return self.events[-1]


def _cancel_two_together(src: Path, dst: Path, held: dict[str, Digest],
                         first_to_abort: str) -> dict[str, _Copy]:
    """Copy ``one`` and ``two`` from ``src`` into ``dst`` (``one``'s destination opened
    first: into a new folder, it makes the layout), each held on its last layer; once
    both wrote every other blob, cancel both; ``first_to_abort`` takes back first (the
    other still at work), then the other."""
    turns = AbortsInTurn()
    copies: dict[str, _Copy] = {}
    for ref in ("one", "two"):
        source = HeldLayer(open_source(f"oci:{src}:{ref}"), held[ref])
        dest = turns.wrap(open_destination(f"oci:{dst}:{ref}"),
                          0 if ref == first_to_abort else 1)
        copies[ref] = _Copy(source, dest)
    for copy in copies.values():
        copy.thread.start()
    for copy in copies.values():
        assert copy.all_but_held.wait(HOLD_LIMIT)
    for copy in copies.values():
        copy.cancel.cancel()
    for copy in copies.values():
        copy.thread.join(HOLD_LIMIT)
        assert isinstance(copy.error, Cancelled)
        assert isinstance(copy.ending(), CopyCancelled)
    return copies


def _written_by(copy: _Copy) -> set[Digest]:
    """The blobs a copy wrote whole (as written)."""
    return {e.written.digest for e in copy.events if isinstance(e, BlobDone)}


@pytest.mark.parametrize("first_to_abort", ["one", "two"])
@pytest.mark.parametrize("existing", [False, True], ids=["new layout", "existing layout"])
def test_copies_cancelled_together_leave_the_layout_as_it_was(
        tmp_path: Path, first_to_abort: str, existing: bool) -> None:
    """Two copies into one layout, cancelled together (the window's Cancel All, two
    command lines stopped with one Ctrl+C): the first to take back sees the other at
    work and leaves what it wrote, recorded; the other, last to leave, takes back both.
    A new layout goes whole (whichever made it); an existing one is as it was."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    held = source_layout(src, shared=True)
    if existing:
        single_image_layout(dst, ref="old")
    before = layout_files(dst)
    copies = _cancel_two_together(src, dst, held, first_to_abort)
    assert layout_files(dst) == before
    if not existing:
        assert not dst.exists()
    first = copies[first_to_abort]
    last = copies["two" if first_to_abort == "one" else "one"]
    # what the copies said: the first left its blobs, for the last to take back; the
    # last took back everything
    left = first.ending()
    assert isinstance(left, CopyCancelled) and left.left is not None
    assert left.left.later and left.left.why == "another copy is at work there and may use them"
    # what it wrote itself, and the layer both copies wrote if it put it there first
    ours = _written_by(first) - _written_by(last)
    assert ours <= set(left.left.blobs) <= _written_by(first)
    assert left.left.size == sum(e.written.size for e in first.events
                                 if isinstance(e, BlobDone) and e.written.digest in left.left.blobs)
    assert last.ending() == CopyCancelled()


def test_the_last_copy_to_commit_takes_back_what_a_stopped_one_left(tmp_path: Path) -> None:
    """A copy stopped beside one at work leaves its blobs; when that one commits, the
    stopped copy's blobs go, but for one the committed image names (the layer it found
    there and reused): the layout holds the images named, nothing unnamed."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    held = source_layout(src, shared=True)
    single_image_layout(dst, ref="old")
    old_blobs = set(os.listdir(dst / "blobs" / "sha256"))
    at_work = OCILayoutDestination(dst, "two")
    source_two = open_source(f"oci:{src}:two")
    # the stopped copy: all of image one but its last layer, then cancelled
    stopped = _Copy(HeldLayer(open_source(f"oci:{src}:one"), held["one"]),
                    open_destination(f"oci:{dst}:one"))
    # the other copy is at work: it has written its config already
    config_raw, _ = source_two.get_manifest()
    manifest = json.loads(config_raw)
    config = Descriptor(manifest["config"]["mediaType"],
                        Digest.parse(manifest["config"]["digest"]), manifest["config"]["size"])
    at_work.put_blob(source_two.open_blob(config), media_type=config.media_type,
                     digest=config.digest, size=config.size)
    stopped.thread.start()
    assert stopped.all_but_held.wait(HOLD_LIMIT)
    stopped.cancel.cancel()
    stopped.thread.join(HOLD_LIMIT)
    ending = stopped.ending()
    assert isinstance(ending, CopyCancelled) and ending.left is not None and ending.left.later
    left = set(ending.left.blobs)
    assert json.loads((dst / LEFT_FILE).read_bytes())["blobs"] == sorted(str(d) for d in left)
    # the copy at work finds the shared layer there (the stopped copy wrote it) and commits
    top = copy_image(source_two, at_work)
    named = {top.digest, config.digest, *(Digest.parse(layer["digest"])
                                          for layer in manifest["layers"])}
    shared_layer = Digest.parse(manifest["layers"][0]["digest"])
    assert shared_layer in left  # written by the stopped copy, reused by the other
    assert not (dst / LEFT_FILE).exists()
    assert set(os.listdir(dst / "blobs" / "sha256")) == old_blobs | {d.hex for d in named}
    assert (dst / blob_path(shared_layer)).is_file()
    assert not [name for name in os.listdir(dst) if name.startswith(".spyglass-tmp-")]
    # and both images there read whole
    assert open_source(f"oci:{dst}:two").get_manifest()[0] == config_raw


def test_a_skopeo_temporary_keeps_what_stopped_copies_left_till_a_later_copy(
        tmp_path: Path) -> None:
    """While a containers/image temporary (``oci-put-blob*``) is in the layout, the last
    Spyglass copy to leave takes nothing back (skopeo may use the blobs): the journal
    stays, and a copy that leaves once skopeo is gone takes them back."""
    dst = tmp_path / "dst"
    single_image_layout(dst, ref="old")
    before = layout_files(dst)
    first, second = OCILayoutDestination(dst, "a"), OCILayoutDestination(dst, "b")
    data = [b"first's blob\n", b"second's blob\n"]
    for dest, blob in zip((first, second), data, strict=True):
        dest.put_blob(io.BytesIO(blob), media_type="application/octet-stream",
                      digest=Digest.of(blob), size=len(blob))
    first.abort()  # the second is at work
    skopeo = dst / "oci-put-blob123456"
    skopeo.write_bytes(b"part of a blob")
    second.abort()
    assert second.left_behind is not None and second.left_behind.later
    assert "skopeo" in second.left_behind.why
    assert set(json.loads((dst / LEFT_FILE).read_bytes())["blobs"]) \
        == {str(Digest.of(blob)) for blob in data}
    skopeo.unlink()
    OCILayoutDestination(dst, "c").abort()  # opened and stopped before it wrote: nothing to leave
    assert (dst / LEFT_FILE).exists()
    later = OCILayoutDestination(dst, "d")
    later.put_blob(io.BytesIO(b"later\n"), media_type="application/octet-stream",
                   digest=Digest.of(b"later\n"), size=6)
    later.abort()
    assert later.left_behind is None
    assert layout_files(dst) == before


_STOPPED_IN_TURN = """
import io, sys
from pathlib import Path
from spyglass.core.digest import Digest
from spyglass.core.transports.layout_write import OCILayoutDestination
data = sys.argv[2].encode()
dest = OCILayoutDestination(Path(sys.argv[1]), "other")
dest.put_blob(io.BytesIO(data), media_type="application/octet-stream", digest=Digest.of(data),
              size=len(data))
print("written", flush=True)
sys.stdin.readline()
dest.abort()
left = dest.left_behind
print("left" if left is not None and left.later else "took back", flush=True)
"""


@pytest.mark.parametrize("this_one_first", [True, False])
def test_copies_in_two_processes_stopped_together_leave_a_new_layout_gone(
        tmp_path: Path, repo_root: Path, this_one_first: bool) -> None:
    """Two command lines copying into one new layout, both stopped: whichever takes back
    first, the layout this process made is gone once both did."""
    dst = tmp_path / "new" / "dst"
    mine = b"this process's blob\n"
    # makes the layout and the folder above (as a sync's)
    dest = OCILayoutDestination(dst, "mine", make_parents=True)
    dest.put_blob(io.BytesIO(mine), media_type="application/octet-stream",
                  digest=Digest.of(mine), size=len(mine))
    env = {**os.environ, "PYTHONPATH": str(repo_root / "app")}
    other = subprocess.Popen([sys.executable, "-c", _STOPPED_IN_TURN, str(dst), "theirs"],
                             env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "written"
        if this_one_first:
            dest.abort()
            assert dest.left_behind is not None and dest.left_behind.later
            out, _ = other.communicate("go\n", timeout=60)
            assert out.strip() == "took back"
        else:
            out, _ = other.communicate("go\n", timeout=60)
            assert out.strip() == "left"
            dest.abort()
            assert dest.left_behind is None
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    assert not (tmp_path / "new").exists()
    assert list(tmp_path.iterdir()) == []


def test_left_behind_is_none_when_all_was_taken_back(tmp_path: Path) -> None:
    dst = tmp_path / "dst"
    dest = OCILayoutDestination(dst, "a")
    dest.put_blob(io.BytesIO(b"x"), media_type="application/octet-stream",
                  digest=Digest.of(b"x"), size=1)
    dest.abort()
    assert dest.left_behind is None
    assert not dst.exists()


@pytest.mark.parametrize("folder_maker_first", [True, False])
def test_a_new_layout_two_copies_each_made_part_of_goes_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder_maker_first: bool) -> None:
    """Two copies into one new folder: one makes the folder, the other (locking first)
    the layout's files in it. Stopped together, in either order, both go."""
    from spyglass.core.transports import layout_write

    dst = tmp_path / "new" / "dst"
    folder_made, files_made = threading.Event(), threading.Event()
    real_make_folders = layout_write.make_folders

    def make_then_wait(path: Path) -> list[Path]:
        made = real_make_folders(path)
        if made:  # the folder maker waits while the other copy makes the files
            folder_made.set()
            assert files_made.wait(HOLD_LIMIT)
        return made

    monkeypatch.setattr(layout_write, "make_folders", make_then_wait)
    opened: dict[str, OCILayoutDestination] = {}
    maker = threading.Thread(target=lambda: opened.setdefault(
        "folders", OCILayoutDestination(dst, "folders", make_parents=True)))
    maker.start()
    assert folder_made.wait(HOLD_LIMIT)
    opened["files"] = OCILayoutDestination(dst, "files")
    files_made.set()
    maker.join(HOLD_LIMIT)
    for name, dest in opened.items():
        data = f"{name}'s blob\n".encode()
        dest.put_blob(io.BytesIO(data), media_type="application/octet-stream",
                      digest=Digest.of(data), size=len(data))
    order = ["folders", "files"] if folder_maker_first else ["files", "folders"]
    opened[order[0]].abort()
    assert opened[order[0]].left_behind is not None  # the other is at work
    assert dst.exists()
    opened[order[1]].abort()
    assert opened[order[1]].left_behind is None
    assert list(tmp_path.iterdir()) == []


def _put(dest: OCILayoutDestination, data: bytes) -> Digest:
    dest.put_blob(io.BytesIO(data), media_type="application/octet-stream",
                  digest=Digest.of(data), size=len(data))
    return Digest.of(data)


def test_a_skopeo_temporary_long_unchanged_is_no_copy_at_work(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A killed skopeo's ``oci-put-blob*`` stays for ever: once unchanged for ORPHAN_AGE
    it no longer keeps what a stopped copy added, and a note says what it is."""
    dst = tmp_path / "dst"
    single_image_layout(dst, ref="old")
    before = layout_files(dst)
    stale = dst / "oci-put-blob12345"
    stale.touch()
    os.utime(stale, (1577836800, 1577836800))  # 2020-01-01
    dest = OCILayoutDestination(dst, "x")
    written = _put(dest, b"the stopped copy's blob\n")
    dest.abort()
    assert dest.left_behind is None and not (dst / blob_path(written)).exists()
    assert not (dst / LEFT_FILE).exists()
    assert "holds oci-put-blob12345, a temporary a skopeo copy" in caplog.text
    assert "unchanged since 2020-01-0" in caplog.text  # (whatever the time zone)
    stale.unlink()
    assert layout_files(dst) == before


def test_a_journal_that_is_no_regular_file_does_not_hang_a_copy(
        tmp_path: Path, single_source: Path) -> None:
    """A FIFO at index.json.left: read, a copy holding the index lock would wait for a
    writer for ever; it is taken for an unreadable journal."""
    dst = tmp_path / "dst"
    copy_image(open_source(f"oci:{single_source}:app"), OCILayoutDestination(dst, "a"))
    os.mkfifo(dst / LEFT_FILE)
    done: list[Descriptor] = []
    copying = threading.Thread(target=lambda: done.append(copy_image(
        open_source(f"oci:{single_source}:other"), OCILayoutDestination(dst, "b"))))
    copying.start()
    copying.join(30)
    if copying.is_alive():  # let it go: a writer opens the FIFO
        os.close(os.open(dst / LEFT_FILE, os.O_WRONLY | os.O_NONBLOCK))
        copying.join(30)
        pytest.fail("the copy waited on the journal's FIFO")
    assert done and not (dst / LEFT_FILE).exists()
    assert OCILayoutDestination(dst, "b").tagged_digest("b") == done[0].digest


def test_a_journal_of_another_layout_removes_no_layout_it_did_not_make(
        tmp_path: Path) -> None:
    """A journal left over (planted, or from before the layout was made again) saying a
    stopped copy made the layout, 50 folders for it: a copy that finds the layout there
    and stops leaves it, and the folders above it, as they were."""
    dst = tmp_path / "p1" / "p2" / "p3" / "lay"
    dst.mkdir(parents=True)
    made = OCILayoutDestination(dst, "x")  # an empty layout, as umoci init makes one
    made.abort()
    (dst / "oci-layout").write_bytes(b'{"imageLayoutVersion":"1.0.0"}')  # (no longer ours)
    (dst / "index.json").write_bytes(b'{"schemaVersion":2,"manifests":[]}')
    for planted in ({"blobs": [], "made_layout": True, "folders": 50},
                    {"blobs": [], "made_layout": True, "folders": 50, "layout": "1:2"}):
        (dst / LEFT_FILE).write_text(json.dumps(planted))
        dest = OCILayoutDestination(dst, "x")
        _put(dest, b"a blob\n")
        dest.abort()
        assert dest.left_behind is None
        assert (dst / "oci-layout").exists() and (dst / "index.json").exists()


def _removed_by_umoci(layout: Path) -> None:
    """As ``umoci rm`` of every tag, then ``umoci gc``: an empty index, no blob."""
    (layout / "index.json").write_bytes(b'{"schemaVersion":2,"manifests":[]}')
    for blob in (layout / "blobs" / "sha256").iterdir():
        blob.unlink()


def test_a_layout_that_held_an_image_is_no_longer_the_new_one_a_stopped_copy_made(
        tmp_path: Path, single_source: Path) -> None:
    """Copy one made the layout and stopped while two was at work (the journal says so);
    two commits while skopeo writes there (nothing taken back, the journal stays): once
    the image is removed again, a stopped copy does not remove the layout as new."""
    dst = tmp_path / "new" / "dst"
    first = OCILayoutDestination(dst, "one", make_parents=True)  # makes the layout
    second = OCILayoutDestination(dst, "two")
    _put(first, b"first's blob\n")
    _put(second, b"second's blob\n")
    first.abort()
    assert json.loads((dst / LEFT_FILE).read_bytes())["made_layout"] is True
    skopeo = dst / "oci-put-blob123"
    skopeo.write_bytes(b"part")
    copy_image(open_source(f"oci:{single_source}:app"), second)
    assert (dst / LEFT_FILE).exists()
    skopeo.unlink()
    _removed_by_umoci(dst)
    stopped = OCILayoutDestination(dst, "three")
    _put(stopped, b"third's blob\n")
    stopped.abort()
    assert (dst / "oci-layout").exists()  # the layout stays


def test_a_layout_found_naming_an_image_is_no_longer_the_new_one_a_stopped_copy_made(
        tmp_path: Path, single_source: Path) -> None:
    """The same where no Spyglass copy committed (skopeo wrote the image, or the copy that
    did was killed): the next copy to open the layout finds index.json naming an image,
    and takes the journal's claim back."""
    dst = tmp_path / "new" / "dst"
    copy_image(open_source(f"oci:{single_source}:app"),
               OCILayoutDestination(dst, "a", make_parents=True))
    (dst / LEFT_FILE).write_text(json.dumps({"blobs": [], "made_layout": True, "folders": 2,
                                             "layout": layout_identity(dst)}))
    OCILayoutDestination(dst, "looked").abort()  # a copy opens it, and stops at once
    assert json.loads((dst / LEFT_FILE).read_bytes()).get("made_layout") is not True
    _removed_by_umoci(dst)
    stopped = OCILayoutDestination(dst, "three")
    _put(stopped, b"third's blob\n")
    stopped.abort()
    assert (dst / "oci-layout").exists()
