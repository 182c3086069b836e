"""Writing OCI image layouts: ``OCILayoutDestination`` (spyglass.core.transports.layout_write).

Images come from ``tests.helpers.imagebuild`` layouts and are copied by
driving the ``ImageDestination`` protocol by hand (:func:`copy_image`, which
the other ``test_*_dest.py`` files share), then read back with our own read
side, skopeo and umoci.
"""

from __future__ import annotations

import io
import json
import logging
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    Cancelled,
    DigestMismatch,
    InvalidLayout,
    InvalidReference,
    SizeMismatch,
    SpyglassError,
    TransportError,
    Unsupported,
)
from spyglass.core.manifest import (
    REF_NAME_ANNOTATION,
    Descriptor,
    ImageIndex,
    ImageManifest,
    child_descriptors,
    parse_manifest,
)
from spyglass.core.transports import blob_write as blob_write_module
from spyglass.core.transports import layout_write as layout_write_module
from spyglass.core.transports import open_destination, open_source
from spyglass.core.transports.base import (
    COMPRESSED,
    ImageDestination,
    ImageSource,
    LeftBehind,
    TidiesAfter,
)
from spyglass.core.transports.files import blob_path
from spyglass.core.transports.layout import open_layout
from spyglass.core.transports.layout_write import AT_WORK, OCILayoutDestination
from spyglass.core.transports.temporaries import TEMP_PREFIX
from tests.helpers import require_tool
from tests.helpers.imagebuild import (
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    multi_platform_layout,
)

# --------------------------------------------------------------------------- shared helpers


def copy_blob(source: ImageSource, dest: ImageDestination, blob: Descriptor) -> None:
    """Reuse or put one blob, as the copy engine does."""
    if dest.reuse_blob(blob) is None:
        with source.open_blob(blob) as stream:
            written = dest.put_blob(
                stream, media_type=blob.media_type, digest=blob.digest, size=blob.size
            )
        assert (written.digest, written.size) == (blob.digest, blob.size)


def _copy_manifest(
    source: ImageSource, dest: ImageDestination, raw: bytes, media_type: str | None
) -> Descriptor:
    manifest = parse_manifest(raw, media_type)
    if isinstance(manifest, ImageIndex):
        for child in manifest.manifests:
            child_raw, _ = source.get_manifest(str(child.digest))
            _copy_manifest(source, dest, child_raw, child.media_type)
    else:
        for blob in child_descriptors(manifest):
            copy_blob(source, dest, blob)
    dest.put_manifest(raw, manifest.media_type, manifest.digest)
    return Descriptor(manifest.media_type, manifest.digest, len(raw))


def copy_image(source: ImageSource, dest: ImageDestination) -> Descriptor:
    """Copy the image ``source`` names, every instance, unchanged; commit (and tidy, as the
    engine does once it said so); return the top."""
    raw, media_type = source.get_manifest()
    top = _copy_manifest(source, dest, raw, media_type)
    dest.commit(top, raw)
    if isinstance(dest, TidiesAfter):
        dest.tidy()
    return top


def single_image_layout(root: Path, *, ref: str = "app", marker: bytes = b"v1\n") -> str:
    """An OCI layout holding one small linux/amd64 image tagged ``ref``; returns its digest."""
    builder = LayoutBuilder(root)
    descriptor = builder.add_image(
        ImageSpec(
            layers=[
                LayerSpec({"/etc/motd": b"hello\n"}),
                LayerSpec({"/app/version": marker}, compression="none"),
            ],
            cmd=["/bin/sh"],
        )
    )
    builder.tag(descriptor, ref)
    return str(descriptor["digest"])


def leftovers(*folders: Path, at_work: bool = True) -> list[str]:
    """Temporary files or folders of ours in ``folders`` (not recursive); without
    ``at_work``, not the marker an open destination keeps (see blob_leftovers)."""
    found = []
    for folder in folders:
        if folder.is_dir():
            found += [name for name in os.listdir(folder) if TEMP_PREFIX in name
                      and (at_work or TEMP_PREFIX + AT_WORK not in name)]
    return found


def blob_leftovers(*folders: Path) -> list[str]:
    """What blob writes left while their destination is still open (its at-work marker,
    which stays until it is committed or aborted, is not counted)."""
    return leftovers(*folders, at_work=False)


def blob_files(layout: Path) -> set[str]:
    return {
        f"{alg.name}:{blob.name}"
        for alg in (layout / "blobs").iterdir()
        for blob in alg.iterdir()
    }


def run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{args} failed: {result.stderr}"
    return result.stdout


class ChunkStream:
    """A stream of fixed chunks; ``on_chunk(i)`` runs before chunk ``i`` is returned."""

    def __init__(self, chunks: list[bytes], on_chunk: Any = None) -> None:
        self._chunks = list(chunks)
        self._index = 0
        self._on_chunk = on_chunk

    def read(self, n: int = -1, /) -> bytes:
        if self._index >= len(self._chunks):
            return b""
        if self._on_chunk is not None:
            self._on_chunk(self._index)
        chunk = self._chunks[self._index]
        self._index += 1
        return chunk


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def multi_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("src") / "multi"
    multi_platform_layout(root)
    return root


@pytest.fixture(scope="module")
def single_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("src") / "single"
    single_image_layout(root)
    single_image_layout(root, ref="other", marker=b"v2\n")
    return root


def index_entries(layout: Path) -> list[tuple[str | None, str]]:
    data = json.loads((layout / "index.json").read_bytes())
    return [
        ((entry.get("annotations") or {}).get(REF_NAME_ANNOTATION), entry["digest"])
        for entry in data["manifests"]
    ]


# --------------------------------------------------------------------------- a new layout


def test_a_new_folder_becomes_a_layout_holding_the_image(
    multi_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "layout"
    source = open_source(f"oci:{multi_source}:latest")
    dest = open_destination(f"oci:{out}:v1")
    assert isinstance(dest, OCILayoutDestination)
    assert isinstance(dest, ImageDestination)
    assert dest.description == f"oci:{out}:v1"
    top = copy_image(source, dest)
    dest.close()

    assert json.loads((out / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((out / "index.json").read_bytes())
    assert index["schemaVersion"] == 2 and index["mediaType"] == media.OCI_INDEX
    assert index["manifests"] == [
        {
            "mediaType": media.OCI_INDEX,
            "digest": str(top.digest),
            "size": top.size,
            "annotations": {REF_NAME_ANNOTATION: "v1"},
        }
    ]
    assert leftovers(out) == []

    # our read side: the same manifests, every blob verifies
    back = open_source(f"oci:{out}:v1")
    assert back.get_manifest()[0] == source.get_manifest()[0]
    index_manifest = parse_manifest(*back.get_manifest())
    assert isinstance(index_manifest, ImageIndex) and len(index_manifest.manifests) == 3
    for child in index_manifest.manifests:
        raw, _ = back.get_manifest(str(child.digest))
        assert raw == source.get_manifest(str(child.digest))[0]
        for blob in child_descriptors(parse_manifest(raw, child.media_type)):
            with back.open_blob(blob) as stream:
                stream.readall()
                assert stream.verified
    assert blob_files(out) == blob_files(multi_source)


def test_a_new_layout_is_synced_when_the_image_counts_not_before_its_first_blob(
    single_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Setting the layout up syncs nothing (four journal commits, about 0.1 s on ext4,
    were spent before a copy's first request); committing leaves every file and folder
    of the image synced: oci-layout, index.json (its temporary, then renamed), each
    blob, and the folders holding their names."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording)
    folder = tmp_path / "new"
    folder.mkdir()
    out = folder.resolve()
    dest = open_destination(f"oci:{out}:v1")
    assert (out / "oci-layout").is_file() and (out / "index.json").is_file()
    assert synced == []

    top = copy_image(open_source(f"oci:{single_source}:app"), dest)
    dest.close()
    blobs = os.listdir(out / "blobs" / "sha256")
    assert str(top.digest).removeprefix("sha256:") in blobs
    temporaries = [path for path in synced if Path(path).parent == out
                   and Path(path).name.startswith(TEMP_PREFIX)]
    # each blob under its temporary name before its rename, then index.json's
    assert len(temporaries) == len(blobs) + 1, synced
    folders = [str(out / "oci-layout"), str(out / "blobs" / "sha256"), str(out / "blobs")]
    assert set(folders) <= set(synced), synced
    index_synced = synced.index(temporaries[-1])
    assert all(synced.index(path) < index_synced for path in folders)
    assert synced[-1] == str(out)  # index.json's rename into the layout's folder


def test_skopeo_and_umoci_read_what_was_written(single_source: Path, tmp_path: Path) -> None:
    skopeo = require_tool("skopeo")
    out = tmp_path / "out"
    top = copy_image(open_source(f"oci:{single_source}:app"), OCILayoutDestination(out, "app"))
    inspected = json.loads(run(skopeo, "inspect", f"oci:{out}:app"))
    assert inspected["Digest"] == str(top.digest)
    copied = f"oci:{tmp_path / 'by-skopeo'}:app"
    run(skopeo, "copy", "-q", f"oci:{out}:app", copied)
    # skopeo compresses the uncompressed layer on the way, so compare the configs
    config = run(skopeo, "inspect", "--config", "--raw", f"oci:{out}:app")
    assert run(skopeo, "inspect", "--config", "--raw", copied) == config

    umoci = require_tool("umoci")
    assert run(umoci, "ls", "--layout", str(out)).split() == ["app"]
    bundle = tmp_path / "bundle"
    run(umoci, "unpack", "--rootless", "--image", f"{out}:app", str(bundle))
    assert (bundle / "rootfs" / "app" / "version").read_bytes() == b"v1\n"


def test_an_empty_folder_becomes_a_layout(single_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    copy_image(open_source(f"oci:{single_source}:app"), OCILayoutDestination(out, "app"))
    assert sorted(os.listdir(out)) == ["blobs", "index.json", "oci-layout"]  # no lock file


def test_a_folder_of_other_files_is_refused_untouched(tmp_path: Path) -> None:
    out = tmp_path / "photos"
    out.mkdir()
    (out / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(InvalidLayout, match="is not empty and is not an OCI image layout") as err:
        OCILayoutDestination(out, "app")
    assert str(out) in str(err.value)
    assert os.listdir(out) == ["cat.jpg"]


def test_what_containers_image_left_of_a_layout_is_written_into(
        single_source: Path, tmp_path: Path) -> None:
    """A skopeo copy stopped before its index was written leaves blobs/ and its own
    half-written blob files (oci-put-blob…): a copy goes on into the folder, as skopeo's
    does, and leaves those files to skopeo."""
    out = tmp_path / "stopped"
    (out / "blobs" / "sha256").mkdir(parents=True)
    (out / "oci-put-blob3141592").write_bytes(b"half a blob")
    copy_image(open_source(f"oci:{single_source}:app"), OCILayoutDestination(out, "app"))
    assert sorted(os.listdir(out)) == ["blobs", "index.json", "oci-layout",
                                       "oci-put-blob3141592"]
    index = json.loads((out / "index.json").read_bytes())
    assert [m["annotations"]["org.opencontainers.image.ref.name"]
            for m in index["manifests"]] == ["app"]


def test_blobs_beside_other_files_are_no_layout_left(tmp_path: Path) -> None:
    out = tmp_path / "mixed"
    (out / "blobs").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InvalidLayout, match="is not empty and is not an OCI image layout"):
        OCILayoutDestination(out, "app")
    assert sorted(os.listdir(out)) == ["blobs", "notes.txt"]


def test_a_dir_image_folder_gets_a_hint(tmp_path: Path) -> None:
    out = tmp_path / "dirimage"
    out.mkdir()
    (out / "version").write_text("Directory Transport Version: 1.1\n")
    (out / "manifest.json").write_text("{}")
    with pytest.raises(InvalidLayout, match=f"write to it as dir:{out}"):
        OCILayoutDestination(out, None)


def test_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"x")
    with pytest.raises(InvalidLayout, match="is not a folder"):
        OCILayoutDestination(target, "app")


def test_a_position_cannot_be_written(tmp_path: Path) -> None:
    with pytest.raises(InvalidReference, match="only works for reading"):
        open_destination(f"oci:{tmp_path}:@0")


def test_a_broken_index_is_refused_when_opening(tmp_path: Path) -> None:
    out = tmp_path / "broken"
    out.mkdir()
    (out / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (out / "index.json").write_text("{not json")
    an_hour_ago = time.time() - 3600
    os.utime(out / "index.json", (an_hour_ago, an_hour_ago))
    with pytest.raises(InvalidLayout) as raised:
        OCILayoutDestination(out, "app")
    assert str(raised.value) == (
        f'The OCI image layout "{out}" has an index.json that is not JSON (Expecting property '
        "name enclosed in double quotes: line 1 column 2 (char 1)); it was left as it is and "
        "the image was not added. Repair it (removing it forgets every image the layout "
        "names) and copy again.")
    assert (out / "index.json").read_text() == "{not json"


def test_an_index_another_program_is_writing_is_read_again(
    single_source: Path, tmp_path: Path
) -> None:
    """skopeo writes index.json in place, without a lock: for a moment it is empty. An
    index.json that is not JSON but was just written is read again until it is."""
    out = tmp_path / "out"
    copy_image(open_source(f"oci:{single_source}:app"), OCILayoutDestination(out, "first"))
    whole = (out / "index.json").read_bytes()
    (out / "index.json").write_bytes(b"")

    def finish() -> None:
        time.sleep(0.3)
        (out / "index.json").write_bytes(whole)

    writer = threading.Thread(target=finish)
    writer.start()
    try:
        copy_image(open_source(f"oci:{single_source}:app"), OCILayoutDestination(out, "second"))
    finally:
        writer.join()
    index = json.loads((out / "index.json").read_text())
    assert {m["annotations"][REF_NAME_ANNOTATION] for m in index["manifests"]} == {
        "first", "second"}


def test_an_index_left_cut_short_just_now_may_be_another_programs(tmp_path: Path) -> None:
    out = tmp_path / "broken"
    out.mkdir()
    (out / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (out / "index.json").write_text('{"schemaVersion":2,"manif')
    with pytest.raises(InvalidLayout, match=r"Another program may be writing it \(skopeo "
                                            r"writes it in place, without a lock\): copy "
                                            r"again once it is done\.$"):
        OCILayoutDestination(out, "app")


def test_read_only_folder_is_refused_with_a_sentence(unprivileged_dir: Path) -> None:
    out = unprivileged_dir / "ro"
    out.mkdir()
    out.chmod(0o555)
    with pytest.raises(TransportError, match=r"^Cannot write .*Permission denied\.$"):
        OCILayoutDestination(out, "app")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("locked", ["blobs", "blobs/sha256"])
def test_blobs_that_cannot_be_searched_are_said_with_a_sentence(
        unprivileged_dir: Path, locked: str) -> None:
    """Looking whether a blob was there already raised PermissionError where its folder
    could not be searched, which came out as an internal error ("please report it")."""
    source = unprivileged_dir / "src"
    single_image_layout(source)
    out = unprivileged_dir / "out"
    single_image_layout(out, ref="old", marker=b"old\n")
    OCILayoutDestination(out, "seed").abort()  # leaves the lock file, as any writer does
    before = _all_files(out)
    (out / locked).chmod(0o000)
    try:
        dest = OCILayoutDestination(out, "new")
        with pytest.raises(TransportError, match=r'^Cannot write "[^"]*/blobs/sha256/[0-9a-f]+": '
                                                 r"Permission denied\.$"):
            copy_image(open_source(f"oci:{source}:app"), dest)
        dest.abort()
    finally:
        (out / locked).chmod(0o755)
    assert _all_files(out) == before
    assert leftovers(out) == []


def test_supported_types_are_oci_only(tmp_path: Path) -> None:
    dest = OCILayoutDestination(tmp_path / "l", "app")
    assert dest.supported_manifest_types == (media.OCI_MANIFEST, media.OCI_INDEX)
    assert dest.accepts_lists is True
    assert dest.desired_layer_compression == COMPRESSED  # as skopeo: plain layers gzipped
    raw = b'{"schemaVersion":2,"mediaType":"' + media.DOCKER_V2S2.encode() + b'"}'
    with pytest.raises(Unsupported, match="OCI image manifests and indexes only"):
        dest.put_manifest(raw, media.DOCKER_V2S2, Digest.of(raw))
    dest.close()


# --------------------------------------------------------------------------- index.json


def test_a_ref_moves_to_the_new_image_and_the_old_one_stays_unnamed(
    single_source: Path, tmp_path: Path
) -> None:
    """As containers/image does: the entry a new image takes the ref of keeps its place
    without the name (its blobs stay named by index.json), and the copy says so."""
    out = tmp_path / "out"
    app = open_source(f"oci:{single_source}:app")
    other = open_source(f"oci:{single_source}:other")
    first = {ref: copy_image(app, OCILayoutDestination(out, ref)) for ref in ("a", "b", "c")}
    dest = OCILayoutDestination(out, "b")
    replaced = copy_image(other, dest)
    assert replaced.digest != first["b"].digest
    assert index_entries(out) == [
        ("a", str(first["a"].digest)),
        (None, str(first["b"].digest)),
        ("c", str(first["c"].digest)),
        ("b", str(replaced.digest)),
    ]
    assert open_source(f"oci:{out}:b").get_manifest()[0] == other.get_manifest()[0]
    assert dest.commit_notes == (
        f'the ref "b" named another image in the OCI image layout "{out}" before; it stays '
        f"there without it: oci:{out}:@1 ({first['b'].digest})",)
    # the same image again: it keeps the name, nothing is said
    again = OCILayoutDestination(out, "b")
    copy_image(other, again)
    assert again.commit_notes == ()
    assert len(index_entries(out)) == 4


def test_images_sharing_a_ref_keep_their_other_names_when_it_goes_to_another(
    single_source: Path, tmp_path: Path
) -> None:
    """A Docker 25+ save names every image "latest", told apart by their containerd
    names: a copy into "latest" leaves both, found by those names still."""
    out = tmp_path / "save"
    builder = LayoutBuilder(out)
    saved = {}
    for name in ("hello-world", "busybox"):
        descriptor = builder.add_image(ImageSpec(layers=[LayerSpec({"/n": name.encode()})]))
        full = f"docker.io/library/{name}:latest"
        saved[full] = descriptor["digest"]
        builder.index["manifests"].append({**descriptor, "annotations": {
            "io.containerd.image.name": full, REF_NAME_ANNOTATION: "latest"}})
    (out / "index.json").write_text(json.dumps(builder.index))
    dest = OCILayoutDestination(out, "latest")
    top = copy_image(open_source(f"oci:{single_source}:app"), dest)
    for full, digest in saved.items():
        for name in (full, full.removeprefix("docker.io/library/")):
            found = open_layout(out).reader.find(name)
            assert str(found.digest) == digest
            assert found.ref_name is None
    assert open_layout(out).reader.find("latest").digest == top.digest
    assert dest.commit_notes == (
        f'the ref "latest" named 2 other images in the OCI image layout "{out}" before; '
        f"they stay there without it: oci:{out}:@0 (docker.io/library/hello-world:latest), "
        f"oci:{out}:@1 (docker.io/library/busybox:latest)",)


def test_an_unnamed_entry_of_the_same_image_takes_the_ref_and_keeps_its_other_names(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    app = open_source(f"oci:{single_source}:app")
    top = copy_image(app, OCILayoutDestination(out, None))
    index = json.loads((out / "index.json").read_bytes())
    index["manifests"][0]["annotations"] = {"io.containerd.image.name": "example.com/app:1"}
    index["manifests"][0]["platform"] = {"architecture": "amd64", "os": "linux"}
    (out / "index.json").write_text(json.dumps(index))
    copy_image(app, OCILayoutDestination(out, "1"))
    (entry,) = json.loads((out / "index.json").read_bytes())["manifests"]
    assert entry["digest"] == str(top.digest)
    assert entry["annotations"] == {"io.containerd.image.name": "example.com/app:1",
                                    REF_NAME_ANNOTATION: "1"}
    assert entry["platform"] == {"architecture": "amd64", "os": "linux"}


def test_without_a_ref_an_unnamed_entry_of_the_same_digest_is_reused(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    app = open_source(f"oci:{single_source}:app")
    top = copy_image(app, OCILayoutDestination(out, None))
    copy_image(app, OCILayoutDestination(out, None))
    assert index_entries(out) == [(None, str(top.digest))]
    # as containers/image does, the unnamed entry of that image takes a name given
    copy_image(app, OCILayoutDestination(out, "named"))
    assert index_entries(out) == [("named", str(top.digest))]
    other = copy_image(open_source(f"oci:{single_source}:other"), OCILayoutDestination(out, None))
    assert index_entries(out)[-1] == (None, str(other.digest))


def test_other_entries_and_fields_of_the_index_are_kept(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    multi_platform_layout(out, ref="kept")
    index = json.loads((out / "index.json").read_bytes())
    index["annotations"] = {"org.example.note": "keep me"}
    (out / "index.json").write_text(json.dumps(index))
    copy_image(open_source(f"oci:{single_source}:app"), OCILayoutDestination(out, "new"))
    after = json.loads((out / "index.json").read_bytes())
    assert after["annotations"] == {"org.example.note": "keep me"}
    assert after["manifests"][0] == index["manifests"][0]
    assert [ref for ref, _ in index_entries(out)] == ["kept", "new"]


def test_an_empty_layout_umoci_made_is_extended(single_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "umoci"
    (out / "blobs" / "sha256").mkdir(parents=True)
    (out / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (out / "index.json").write_text('{"schemaVersion":2,"manifests":null}')  # umoci init
    assert list(open_layout(out).list_images()) == []
    top = copy_image(open_source(f"oci:{single_source}:app"), OCILayoutDestination(out, "app"))
    assert index_entries(out) == [("app", str(top.digest))]


def test_an_index_broken_during_the_copy_is_left_alone(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    source = open_source(f"oci:{single_source}:app")
    dest = OCILayoutDestination(out, "app")
    raw, media_type = source.get_manifest()
    top = _copy_manifest(source, dest, raw, media_type)
    (out / "index.json").write_text('{"manifests": "nope"}')
    with pytest.raises(InvalidLayout, match="left as it is"):
        dest.commit(top, raw)
    assert (out / "index.json").read_text() == '{"manifests": "nope"}'


def test_an_index_of_many_refs_is_read_and_one_past_the_limit_is_not_written(
    single_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20,000 refs (past the 4 MiB of a manifest, which held some 16,000) are a layout
    like any other; an index.json that would grow past what is read back is refused
    before it is written (a copy wrote one, then nothing could read it)."""
    from spyglass.core.copy import copy_image

    out = tmp_path / "out"
    top = copy_image(open_source(f"oci:{single_source}:app"), open_destination(f"oci:{out}:app"))
    data = json.loads((out / "index.json").read_bytes())
    entry = data["manifests"][0]
    data["manifests"] = [
        {**entry, "annotations": {"org.opencontainers.image.ref.name": f"ref-{n:05}"}}
        for n in range(20_000)]
    (out / "index.json").write_text(json.dumps(data))
    assert (out / "index.json").stat().st_size > 4 * 1024 * 1024
    assert open_source(f"oci:{out}:ref-19999").get_manifest()[0] == \
        (out / "blobs" / "sha256" / top.digest.hex).read_bytes()
    copy_image(open_source(f"oci:{single_source}:app"), open_destination(f"oci:{out}:more"))
    monkeypatch.setattr(layout_write_module, "MAX_INDEX_FILE_SIZE",
                        (out / "index.json").stat().st_size + 10)
    before = (out / "index.json").read_bytes()
    with pytest.raises(SpyglassError, match=r"would grow to .* read back; it was left as it is"):
        copy_image(open_source(f"oci:{single_source}:app"),
                   open_destination(f"oci:{out}:one-more-ref"))
    assert (out / "index.json").read_bytes() == before


def test_a_layout_deleted_under_a_copy_is_not_made_again(tmp_path: Path) -> None:
    """The blob being written fails with a sentence, and no empty blobs/sha256 skeleton
    appears where the layout was (the user deleted it: it stays deleted)."""
    import shutil

    out = tmp_path / "out"
    dest = OCILayoutDestination(out, "app")
    data = b"a blob whose layout goes away while it is written " * 1000

    class Deleting:
        """Half the bytes, then the layout goes, then the rest."""

        def __init__(self) -> None:
            self.pieces = [data[: len(data) // 2], b"", data[len(data) // 2:]]

        def read(self, n: int = -1, /) -> bytes:
            while self.pieces:
                piece = self.pieces.pop(0)
                if piece:
                    return piece
                shutil.rmtree(out)
            return b""

    with pytest.raises(TransportError, match="No such file or directory"):
        dest.put_blob(Deleting(), media_type="application/octet-stream",
                      digest=Digest.of(data), size=len(data))
    dest.abort()
    assert not out.exists()


def test_commit_stores_the_top_manifest_if_it_was_not_put(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    source = open_source(f"oci:{single_source}:app")
    raw, media_type = source.get_manifest()
    manifest = parse_manifest(raw, media_type)
    dest = OCILayoutDestination(out, "app")
    for blob in child_descriptors(manifest):
        copy_blob(source, dest, blob)
    dest.commit(Descriptor(manifest.media_type, manifest.digest, len(raw)), raw)
    assert open_source(f"oci:{out}:app").get_manifest()[0] == raw


def test_nothing_more_is_written_after_commit(single_source: Path, tmp_path: Path) -> None:
    dest = OCILayoutDestination(tmp_path / "out", "app")
    copy_image(open_source(f"oci:{single_source}:app"), dest)
    with pytest.raises(TransportError, match="already committed"):
        dest.put_blob(io.BytesIO(b"x"), media_type="x", digest=None, size=None)


# --------------------------------------------------------------------------- concurrency


def test_concurrent_commits_from_threads_keep_every_ref(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    OCILayoutDestination(out, None).close()  # create it once, empty
    refs = [f"t{worker}-{n}" for worker in range(6) for n in range(8)]

    def commit(ref: str) -> None:
        dest = OCILayoutDestination(out, ref)
        copy_image(open_source(f"oci:{single_source}:app"), dest)
        dest.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(commit, refs))
    assert sorted(str(ref) for ref, _ in index_entries(out)) == sorted(refs)
    assert leftovers(out) == []


def commit_refs_in_a_process(layout: str, source: str, prefix: str, count: int) -> None:
    """Run in a child process: commit ``count`` refs named ``prefix-N`` into ``layout``."""
    src = open_source(source)
    for n in range(count):
        dest = OCILayoutDestination(Path(layout), f"{prefix}-{n}")
        copy_image(src, dest)
        dest.close()


def test_concurrent_commits_from_processes_keep_every_ref(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    source = f"oci:{single_source}:app"
    copy_image(open_source(source), OCILayoutDestination(out, "first"))
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=commit_refs_in_a_process, args=(str(out), source, f"p{n}", 15)
        )
        for n in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    expected = ["first"] + [f"p{n}-{i}" for n in range(3) for i in range(15)]
    assert sorted(str(ref) for ref, _ in index_entries(out)) == sorted(expected)


# --------------------------------------------------------------------------- failing blobs


def index_and_blobs(out: Path) -> tuple[bytes, set[str]]:
    return (out / "index.json").read_bytes(), blob_files(out)


def test_a_digest_mismatch_leaves_nothing(single_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    copy_image(open_source(f"oci:{single_source}:app"), OCILayoutDestination(out, "app"))
    before = index_and_blobs(out)
    dest = OCILayoutDestination(out, "app")
    claimed = Digest.of(b"what was promised")
    with pytest.raises(DigestMismatch, match=str(claimed)):
        dest.put_blob(
            ChunkStream([b"what was ", b"delivered"]),
            media_type=media.OCI_LAYER,
            digest=claimed,
            size=len(b"what was delivered"),
        )
    assert blob_leftovers(out) == []
    assert not (out / "blobs" / "sha256" / claimed.hex).exists()
    dest.abort()
    assert index_and_blobs(out) == before


def test_a_short_stream_is_a_size_mismatch(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dest = OCILayoutDestination(out, "app")
    data = b"0123456789"
    with pytest.raises(SizeMismatch, match="has 10 bytes but its descriptor promises 11"):
        dest.put_blob(io.BytesIO(data), media_type="x", digest=Digest.of(data), size=11)
    assert blob_leftovers(out) == [] and blob_files(out) == set()


def test_an_endless_stream_fails_as_soon_as_it_is_too_long(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dest = OCILayoutDestination(out, "app")
    reads = 0

    class Endless:
        def read(self, n: int = -1, /) -> bytes:
            nonlocal reads
            reads += 1
            return b"x" * 4096

    with pytest.raises(SizeMismatch, match="longer than the 10000 bytes"):
        dest.put_blob(Endless(), media_type="x", digest=Digest.of(b"y"), size=10000)
    assert reads == 3
    assert blob_leftovers(out) == [] and blob_files(out) == set()


def test_a_failing_stream_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dest = OCILayoutDestination(out, "app")

    def fail(index: int) -> None:
        if index == 2:
            raise ConnectionResetError(104, "Connection reset by peer")

    with pytest.raises(TransportError, match=r"Connection reset by peer\. Nothing was stored\.$"):
        dest.put_blob(
            ChunkStream([b"a", b"b", b"c"], fail), media_type="x", digest=None, size=None
        )
    assert blob_leftovers(out) == [] and blob_files(out) == set()


def test_cancelling_mid_blob_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dest = OCILayoutDestination(out, "app")
    token = CancelToken()
    moved: list[int] = []

    def cancel_after_first(index: int) -> None:
        if index == 1:
            token.cancel()

    with pytest.raises(Cancelled):
        dest.put_blob(
            ChunkStream([b"a" * 100, b"b" * 100, b"c" * 100], cancel_after_first),
            media_type="x",
            digest=None,
            size=None,
            cancel=token,
            progress=moved.append,
        )
    assert moved == [100, 100]  # the chunk read when the token was set is the last one
    assert blob_leftovers(out) == [] and blob_files(out) == set()


@pytest.mark.parametrize("stop", ["cancel", "fail"])
def test_a_stopped_copy_leaves_a_layout_another_tool_wrote_exactly_as_it_was(
    tmp_path: Path, stop: str
) -> None:
    """Byte for byte and file for file: no lock file, no blob, no temporary file."""
    from spyglass.core.copy import BlobDone, CopyOptions
    from spyglass.core.copy import copy_image as engine_copy

    source = tmp_path / "source"
    multi_platform_layout(source)
    out = tmp_path / "out"
    builder = LayoutBuilder(out)  # written as another tool writes: no lock file
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/old": b"old\n"})])), "old")
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    token = CancelToken()

    def on_event(event: object) -> None:
        if isinstance(event, BlobDone):
            if stop == "cancel":
                token.cancel()
            else:
                (source / "blobs").rename(source / "gone")  # the next blob cannot be read

    with pytest.raises(Cancelled if stop == "cancel" else SpyglassError):
        engine_copy(open_source(f"oci:{source}:latest"), OCILayoutDestination(out, "new"),
                    CopyOptions(multi_arch="all", parallel=1, retry_times=0),
                    events=on_event, cancel=token)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_abort_removes_a_blob_still_being_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    LayoutBuilder(out)  # an existing layout: abort keeps it and removes only the temp file
    dest = OCILayoutDestination(out, "app")
    before = (out / "index.json").read_bytes()
    started, release = threading.Event(), threading.Event()

    def hold(index: int) -> None:
        if index == 1:
            started.set()
            release.wait(10)

    errors: list[BaseException] = []

    def put() -> None:
        try:
            dest.put_blob(
                ChunkStream([b"a", b"b"], hold), media_type="x", digest=None, size=None
            )
        except BaseException as exc:  # reported below
            errors.append(exc)

    writer = threading.Thread(target=put)
    writer.start()
    assert started.wait(10)
    assert len(blob_leftovers(out)) == 1
    dest.abort()
    assert leftovers(out) == []
    release.set()
    writer.join(10)
    assert len(errors) == 1 and isinstance(errors[0], TransportError)
    assert blob_files(out) == set()
    assert (out / "index.json").read_bytes() == before


def test_put_blob_without_a_digest_computes_sha256(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dest = OCILayoutDestination(out, "app")
    data = b"recompressed content"
    progress: list[int] = []
    written = dest.put_blob(
        ChunkStream([data[:5], data[5:]]), media_type="m", digest=None, size=None,
        progress=progress.append,
    )
    assert written == Descriptor("m", Digest.of(data), len(data))
    assert progress == [5, len(data) - 5]
    blob = out / "blobs" / "sha256" / Digest.of(data).hex
    assert blob.read_bytes() == data
    assert blob.stat().st_mode & 0o777 == 0o644


def test_memory_does_not_grow_with_the_blob(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dest = OCILayoutDestination(out, "app")
    chunk = os.urandom(1024 * 1024)
    count = 48

    class Big:
        sent = 0

        def read(self, n: int = -1, /) -> bytes:
            if self.sent == count:
                return b""
            self.sent += 1
            return chunk

    tracemalloc.start()
    try:
        written = dest.put_blob(Big(), media_type="x", digest=None, size=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written.size == count * len(chunk)
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a {written.size}-byte blob"


# --------------------------------------------------------------------------- reuse


def test_reuse_verifies_an_existing_blob(single_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    source = open_source(f"oci:{single_source}:app")
    copy_image(source, OCILayoutDestination(out, "app"))
    manifest = parse_manifest(*source.get_manifest())
    layer = child_descriptors(manifest)[1]
    path = out / "blobs" / "sha256" / layer.digest.hex
    assert OCILayoutDestination(out, "x").reuse_blob(layer) == "exists"

    path.write_bytes(b"\0" * layer.size)  # right size, wrong content
    dest = OCILayoutDestination(out, "x")
    assert dest.reuse_blob(layer) is None
    copy_blob(source, dest, layer)
    with source.open_blob(layer) as stream:
        assert path.read_bytes() == stream.readall()
    assert dest.reuse_blob(layer) == "exists"


def test_reuse_hashes_each_blob_at_most_once(
    single_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    source = open_source(f"oci:{single_source}:app")
    copy_image(source, OCILayoutDestination(out, "app"))
    blobs = list(child_descriptors(parse_manifest(*source.get_manifest())))
    hashed: list[Digest] = []
    real = blob_write_module.file_matches

    def counting(path: Path, digest: Digest, size: int | None, **kwargs: Any) -> bool:
        hashed.append(digest)
        return real(path, digest, size, **kwargs)

    monkeypatch.setattr(layout_write_module, "file_matches", counting)
    dest = OCILayoutDestination(out, "again")
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(dest.reuse_blob, blobs * 4))
    assert answers == ["exists"] * len(answers)
    assert sorted(hashed) == sorted(b.digest for b in blobs)
    fresh = b"written in this copy"
    dest.put_blob(io.BytesIO(fresh), media_type="x", digest=None, size=None)
    assert dest.reuse_blob(Descriptor("x", Digest.of(fresh), len(fresh))) == "exists"
    assert len(hashed) == len(blobs)


def test_reuse_of_a_missing_or_mis_sized_blob_is_none(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dest = OCILayoutDestination(out, "app")
    data = b"abc"
    assert dest.reuse_blob(Descriptor("x", Digest.of(data), 3)) is None
    dest.put_blob(io.BytesIO(data), media_type="x", digest=None, size=None)
    assert dest.reuse_blob(Descriptor("x", Digest.of(data), 4)) is None


def test_a_linked_blob_is_trusted_once_it_proved_to_be_the_blob(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dest = OCILayoutDestination(out, "app")
    data = b"secret"
    (tmp_path / "elsewhere").write_bytes(data)
    (out / "blobs" / "sha256").mkdir(parents=True)
    link = out / "blobs" / "sha256" / Digest.of(data).hex
    link.symlink_to(tmp_path / "elsewhere")
    assert dest.reuse_blob(Descriptor("x", Digest.of(data), len(data))) == "exists"
    (tmp_path / "elsewhere").write_bytes(b"SECRET")  # the same size, not the blob
    assert OCILayoutDestination(out, "app").reuse_blob(
        Descriptor("x", Digest.of(data), len(data))) is None
    assert link.is_symlink()


def linked_layout(root: Path, store: Path, *, marker: bytes = b"v1\n") -> None:
    """An OCI layout whose blobs are links into ``store`` (as rules_oci's, or a layout over
    a shared store of blobs)."""
    single_image_layout(root, marker=marker)
    store.mkdir(exist_ok=True)
    for blob in (root / "blobs" / "sha256").iterdir():
        kept = store / blob.name
        blob.replace(kept)
        blob.symlink_to(kept)


def layout_state(root: Path) -> dict[str, str | bytes]:
    """Every file of a layout, links as where they lead (not what they hold)."""
    return {str(p.relative_to(root)): f"-> {os.readlink(p)}" if p.is_symlink()
            else p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_symlink() or p.is_file()}


def test_linked_blobs_of_a_layout_are_found_there_and_stay_links(tmp_path: Path) -> None:
    """They were copied again and replaced by files: the links were lost, the room taken
    twice."""
    from spyglass.core.copy import BlobSkipped
    from spyglass.core.copy import copy_image as engine_copy

    out = tmp_path / "out"
    linked_layout(out, tmp_path / "store")
    links = {p.name: os.readlink(p) for p in (out / "blobs" / "sha256").iterdir()}
    skipped: list[object] = []
    engine_copy(open_source(f"oci:{out}:app"), open_destination(f"oci:{out}:again"),
                events=lambda event: skipped.append(event)
                if isinstance(event, BlobSkipped) else None)
    assert len(skipped) == 3  # the config and both layers: already there
    assert {p.name: os.readlink(p) for p in (out / "blobs" / "sha256").iterdir()} == links
    assert [ref for ref, _digest in index_entries(out)] == ["app", "again"]


def test_a_failed_copy_leaves_linked_blobs_as_they_were(tmp_path: Path) -> None:
    """The layer this image shares with the layout's was renamed over its link, and a
    failed copy, taking back only the blobs it added, left it so."""
    from spyglass.core.copy import CopyOptions
    from spyglass.core.copy import copy_image as engine_copy

    out = tmp_path / "out"
    linked_layout(out, tmp_path / "store")
    OCILayoutDestination(out, "seed").abort()  # leaves the lock file, as any writer does
    before = layout_state(out)
    source = tmp_path / "src"
    single_image_layout(source, marker=b"v2\n")  # its first layer is the layout's
    manifest = parse_manifest(*open_source(f"oci:{source}:app").get_manifest())
    second = source / "blobs" / "sha256" / child_descriptors(manifest)[-1].digest.hex
    second.write_bytes(b"\0" * second.stat().st_size)
    with pytest.raises(DigestMismatch):
        engine_copy(open_source(f"oci:{source}:app"), open_destination(f"oci:{out}:new"),
                    CopyOptions(parallel=1))
    assert layout_state(out) == before


@pytest.mark.parametrize("leads", ["nowhere", "another blob"])
def test_a_link_that_is_not_the_blob_is_refused_and_left(tmp_path: Path, leads: str) -> None:
    out = tmp_path / "out"
    linked_layout(out, tmp_path / "store")
    OCILayoutDestination(out, "seed").abort()
    manifest = parse_manifest(*open_source(f"oci:{out}:app").get_manifest())
    assert isinstance(manifest, ImageManifest)
    layer = out / "blobs" / "sha256" / manifest.layers[0].digest.hex  # (copied as it is)
    kept = Path(os.readlink(layer))
    if leads == "nowhere":
        kept.unlink()
        which = "does not exist"
    else:
        kept.write_bytes(b"\0" * kept.stat().st_size)
        which = "does not hold that blob"
    before = layout_state(out)
    source = tmp_path / "src"
    single_image_layout(source)
    from spyglass.core.copy import copy_image as engine_copy

    with pytest.raises(TransportError) as caught:
        engine_copy(open_source(f"oci:{source}:app"), open_destination(f"oci:{out}:new"))
    assert str(caught.value) == (
        f'The blob sha256:{layer.name} in the OCI image layout "{out}" is a link to '
        f'"{kept}", which {which}; Spyglass does not replace a link in a layout (a copy '
        "that failed could not put it back). Remove the link, or make it lead to the blob, "
        "and copy again.")
    assert layout_state(out) == before


def test_an_aborted_copy_into_a_new_folder_leaves_nothing(tmp_path: Path) -> None:
    from spyglass.core.transports.layout_write import OCILayoutDestination

    target = tmp_path / "new" / "layout"
    destination = OCILayoutDestination(target, "x", make_parents=True)  # (as a sync's)
    destination.put_blob(io.BytesIO(b"a blob"), media_type="application/octet-stream",
                         digest=None, size=None)
    assert (target / "oci-layout").is_file()
    destination.abort()
    assert not target.exists()
    # the folder above it the destination made goes too; the one that was there stays
    assert not (tmp_path / "new").exists() and tmp_path.is_dir()


def test_an_aborted_copy_keeps_a_layout_someone_else_wrote_into(tmp_path: Path) -> None:
    from spyglass.core.transports.layout_write import OCILayoutDestination

    target = tmp_path / "layout"
    first = OCILayoutDestination(target, "x")
    other = OCILayoutDestination(target, "y")
    other.put_blob(io.BytesIO(b"theirs"), media_type="application/octet-stream",
                   digest=None, size=None)
    first.abort()
    assert (target / "oci-layout").is_file()
    assert (target / "blobs" / "sha256" / Digest.of(b"theirs").hex).is_file()


# --------------------------------------------------------------------------- aborting


def _all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_abort_takes_back_the_blobs_it_added_and_only_those(tmp_path: Path) -> None:
    out = tmp_path / "out"
    single_image_layout(out, ref="old")
    OCILayoutDestination(out, "seed").abort()  # leaves the lock file, as any writer does
    before = _all_files(out)
    existing = next(iter(blob_files(out))).split(":", 1)[1]
    dest = OCILayoutDestination(out, "new")
    data = b"a blob this copy adds\n"
    dest.put_blob(io.BytesIO(data), media_type="application/octet-stream",
                  digest=Digest.of(data), size=len(data))
    old = (out / "blobs" / "sha256" / existing).read_bytes()
    assert dest.reuse_blob(Descriptor("application/octet-stream", Digest("sha256", existing),
                                      len(old))) == "exists"
    dest.abort()
    assert _all_files(out) == before


SHARED = b"wanted by two copies\n"
"""The blob :func:`_two_copies_sharing_a_blob` shares."""


def _two_copies_sharing_a_blob(
        out: Path) -> tuple[OCILayoutDestination, OCILayoutDestination, Descriptor]:
    """A layout (ref ``old``) and two copies into it: the first wrote a blob, which the
    second found there and relies on."""
    single_image_layout(out, ref="old")
    blob = Descriptor("application/octet-stream", Digest.of(SHARED), len(SHARED))
    first = OCILayoutDestination(out, "first")
    first.put_blob(io.BytesIO(SHARED), media_type=blob.media_type, digest=blob.digest,
                   size=blob.size)
    second = OCILayoutDestination(out, "second")
    assert second.reuse_blob(blob) == "exists"  # trusted after hashing: written by first
    return first, second, blob


def test_a_copy_cancelled_beside_another_leaves_what_it_added(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A copy at work in the layout may rely on a blob the cancelled one added (it found
    it there): while it is, the take-back removes nothing, and both images stay whole;
    a note (a warning, which the command line shows with -q too) says what stays."""
    out = tmp_path / "out"
    first, second, blob = _two_copies_sharing_a_blob(out)
    first.abort()
    assert (out / "blobs" / "sha256" / blob.digest.hex).exists()
    assert [record.getMessage() for record in caplog.records
            if record.levelno >= logging.WARNING] == [
        f'Left the 1 blob ({len(SHARED)} B) the stopped copy added in the OCI image layout '
        f'"{out}" (blobs/, named by no entry of index.json): another copy is at work there '
        "and may use it; the last copy to leave the layout takes it back."]
    assert first.left_behind == LeftBehind(
        (blob.digest,), len(SHARED), "another copy is at work there and may use it", True)
    second.commit(blob, SHARED)
    assert [entry["annotations"]["org.opencontainers.image.ref.name"] for entry in
            json.loads((out / "index.json").read_bytes())["manifests"]] == ["old", "second"]
    assert (out / "blobs" / "sha256" / blob.digest.hex).exists()
    assert not [p for p in out.iterdir() if p.name.startswith(".spyglass-tmp-")]
    # alone, a cancelled copy takes back what it added
    lone = tmp_path / "lone"
    single_image_layout(lone, ref="old")
    alone = OCILayoutDestination(lone, "alone")
    alone.put_blob(io.BytesIO(SHARED), media_type=blob.media_type, digest=blob.digest,
                   size=blob.size)
    alone.abort()
    assert not (lone / "blobs" / "sha256" / blob.digest.hex).exists()


_RELYING = """
import sys
from pathlib import Path
from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor
from spyglass.core.transports.layout_write import OCILayoutDestination
data = sys.argv[2].encode()
dest = OCILayoutDestination(Path(sys.argv[1]), "other")
print(dest.reuse_blob(Descriptor("application/octet-stream", Digest.of(data), len(data))),
      flush=True)
sys.stdin.read()
"""


def test_a_copy_at_work_in_another_process_is_seen_too(
    tmp_path: Path, repo_root: Path
) -> None:
    out = tmp_path / "out"
    single_image_layout(out, ref="old")
    data = "wanted by two processes\n"
    first = OCILayoutDestination(out, "first")
    first.put_blob(io.BytesIO(data.encode()), media_type="application/octet-stream",
                   digest=Digest.of(data.encode()), size=len(data))
    env = {**os.environ, "PYTHONPATH": str(repo_root / "app")}
    other = subprocess.Popen([sys.executable, "-c", _RELYING, str(out), data], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "exists"
        first.abort()
        assert (out / "blobs" / "sha256" / Digest.of(data.encode()).hex).exists()
    finally:
        other.communicate("", timeout=60)


def test_a_skopeo_copy_at_work_keeps_the_blobs_a_cancelled_copy_added(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A skopeo copy into the layout finds a blob the cancelled copy added, and names it
    in its entry without looking again: while skopeo's oci-put-blob temporary is there,
    the take-back leaves the blobs, and skopeo's image stays readable."""
    skopeo = require_tool("skopeo")
    builder = LayoutBuilder(tmp_path / "src")
    shared = LayerSpec({"/shared": b"found by skopeo\n"})
    image = builder.add_image(ImageSpec(layers=[
        shared, LayerSpec({"/big": os.urandom(2_000_000)}, compression="none")]))
    builder.tag(image, "k")
    layers = json.loads(builder.blob_path(image["digest"]).read_bytes())["layers"]
    found, slow = (Descriptor(layer["mediaType"], Digest.parse(layer["digest"]), layer["size"])
                   for layer in layers)
    out = tmp_path / "out"
    single_image_layout(out, ref="old")
    cancelled = OCILayoutDestination(out, "cancelled")
    copy_blob(open_source(f"oci:{tmp_path / 'src'}:k"), cancelled, found)
    # skopeo reads the big layer through a pipe, which this test fills in two halves
    slow_path = builder.blob_path(str(slow.digest))
    data = slow_path.read_bytes()
    slow_path.unlink()
    os.mkfifo(slow_path)
    go_on = threading.Event()

    def feed() -> None:
        with slow_path.open("wb") as pipe:
            pipe.write(data[:len(data) // 2])
            pipe.flush()
            go_on.wait(timeout=120)
            pipe.write(data[len(data) // 2:])

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    copying = subprocess.Popen([skopeo, "copy", "-q", f"oci:{tmp_path / 'src'}:k",
                                f"oci:{out}:k"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not any(name.startswith("oci-put-blob") for name in os.listdir(out)):
            assert time.monotonic() < deadline and copying.poll() is None, "skopeo never wrote"
            time.sleep(0.02)
        cancelled.abort()
        assert (out / blob_path(found.digest)).exists()
        assert "a skopeo copy (or another containers/image tool) is writing there" in caplog.text
    finally:
        go_on.set()
        _out, err = copying.communicate(timeout=120)
        feeder.join(timeout=10)
    assert copying.returncode == 0, err
    done = subprocess.run([skopeo, "copy", "-q", f"oci:{out}:k", f"oci:{tmp_path / 'back'}:k"],
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_a_blob_taken_back_under_a_concurrent_copy_fails_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a copy reuse a blob in the moment between the cancelled one's look for
    others at work and its removal, its commit finds the blob gone and says so."""
    out = tmp_path / "out"
    first, second, blob = _two_copies_sharing_a_blob(out)
    index_before = (out / "index.json").read_bytes()  # (blobs alone change no index)
    monkeypatch.setattr(layout_write_module, "claimed_by_others", lambda _folder: False)
    first.abort()
    assert not (out / "blobs" / "sha256" / blob.digest.hex).exists()
    with pytest.raises(TransportError, match="went missing") as caught:
        second.commit(blob, SHARED)
    assert "Copy again" in str(caught.value)
    assert (out / "index.json").read_bytes() == index_before


@pytest.mark.parametrize("remover", ["umoci gc", "another program"])
def test_a_blob_removed_by_something_else_fails_the_commit_saying_what_is_known(
        tmp_path: Path, remover: str) -> None:
    """A garbage collection in the middle of a copy removes the blobs it wrote (index.json
    names none of them yet): the commit says that something else removed one, and does
    not blame a cancelled copy, which there was none of."""
    out = tmp_path / "out"
    single_image_layout(out, ref="old")
    blob = Descriptor("application/octet-stream", Digest.of(SHARED), len(SHARED))
    copy = OCILayoutDestination(out, "new")
    copy.put_blob(io.BytesIO(SHARED), media_type=blob.media_type, digest=blob.digest,
                  size=blob.size)
    written = out / "blobs" / "sha256" / blob.digest.hex
    if remover == "umoci gc":
        run(require_tool("umoci"), "gc", "--layout", str(out))
    else:
        written.unlink()
    assert not written.exists()
    index_before = (out / "index.json").read_bytes()
    with pytest.raises(TransportError) as caught:
        copy.commit(blob, SHARED)
    said = str(caught.value)
    assert said == (
        f'The blob {blob.digest} went missing from the OCI image layout "{out}" while the '
        "image was copied: this copy wrote it there or counted on it being there, and "
        "something else removed it (a garbage collection such as umoci gc does, and so "
        "does a cancelled copy into the same layout, taking back what it added); "
        "index.json was left as it is. Copy again once nothing else is changing the layout.")
    assert (out / "index.json").read_bytes() == index_before


def test_abort_keeps_an_added_blob_another_copy_has_committed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    single_image_layout(out, ref="old")
    source_dir = tmp_path / "src"
    single_image_layout(source_dir, ref="app", marker=b"v2\n")
    first = OCILayoutDestination(out, "first")
    source = open_source(f"oci:{source_dir}:app")
    raw, media_type = source.get_manifest()
    manifest = parse_manifest(raw, media_type)
    for blob in child_descriptors(manifest):
        copy_blob(source, first, blob)
    # another copy of the same image commits first, reusing what "first" wrote
    second = OCILayoutDestination(out, "second")
    copy_image(source, second)
    first.abort()
    for blob in child_descriptors(manifest):
        assert (out / "blobs" / "sha256" / blob.digest.hex).exists()


def test_a_link_to_nothing_is_said_to_be_one(tmp_path: Path) -> None:
    link = tmp_path / "layout"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(InvalidLayout) as raised:
        OCILayoutDestination(link, "app")
    assert str(raised.value).startswith(
        f'"{link}" is a link to "{tmp_path / "gone"}", which does not exist;')


def test_a_copy_stopped_while_another_program_holds_the_lock_ends_all_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy cancelled while it waited for the index lock another program held (to name
    its image) then waited for that same lock to take its blobs back: Cancel ended only
    once that program let go, never if it hung. The blobs stay, unreferenced."""
    monkeypatch.setattr(layout_write_module, "TAKE_BACK_WAIT", 0.5, raising=False)
    destination = open_destination(f"oci:{tmp_path / 'dst'}:1")
    data = b"a blob of a copy stopped"
    destination.put_blob(io.BytesIO(data), media_type=media.OCI_LAYER,
                         digest=Digest.of(data), size=len(data))
    holder = subprocess.Popen(["flock", str(tmp_path / "dst" / "index.json.lock"),
                               "sleep", "30"])
    try:
        deadline = time.monotonic() + 10
        while not (tmp_path / "dst" / "index.json.lock").exists():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.2)  # (flock takes it once the file is there)
        started = time.monotonic()
        destination.abort()
        assert time.monotonic() - started < 5
        assert holder.poll() is None  # it still holds the lock
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / "dst" / "blobs" / "sha256" / Digest.of(data).hex).exists()


@pytest.mark.parametrize("leads_to", ["index-main.json", "refs/index.json"])
def test_an_index_json_that_is_a_link_inside_the_layout_is_written_through(
        single_source: Path, tmp_path: Path, leads_to: str) -> None:
    """The link was replaced by a file: what it named was no longer updated."""
    out = tmp_path / "out"
    single_image_layout(out)
    (out / leads_to).parent.mkdir(exist_ok=True)
    (out / "index.json").rename(out / leads_to)
    (out / "index.json").symlink_to(leads_to)
    copy_image(open_source(f"oci:{single_source}:other"), OCILayoutDestination(out, "new"))
    assert os.readlink(out / "index.json") == leads_to  # the link stays, as it was
    assert [name for name, _ in index_entries(out)] == ["app", "new"]
    assert leftovers(out, (out / leads_to).parent) == []


def test_an_index_json_link_to_nothing_inside_the_layout_is_written_at_its_target(
        single_source: Path, tmp_path: Path) -> None:
    """As skopeo writes it (it replaced the link with a file of its own)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.json").symlink_to("index-main.json")
    (out / "blobs").mkdir()
    copy_image(open_source(f"oci:{single_source}:other"), OCILayoutDestination(out, "new"))
    assert (out / "index.json").is_symlink()
    assert [name for name, _ in index_entries(out)] == ["new"]
    assert json.loads((out / "index-main.json").read_bytes())["manifests"]


@pytest.mark.parametrize("there", [True, False])
def test_an_index_json_link_leading_outside_the_layout_is_refused_as_a_source_refuses_it(
        tmp_path: Path, there: bool) -> None:
    """A source refused it; a destination read it, then replaced the link with a file.
    Written through, it would change a file outside the folder named: refused, in the
    source's words, before anything is written."""
    from spyglass.core.transports.layout_files import check_layout_destination

    out = tmp_path / "out"
    single_image_layout(out)
    elsewhere = tmp_path / "elsewhere.json"
    if there:
        (out / "index.json").rename(elsewhere)
    else:
        (out / "index.json").unlink()
    (out / "index.json").symlink_to(elsewhere)
    before = layout_state(out)
    outside = f'"{out / "index.json"}" is a link that leads outside the layout "{out}"; '
    if there:
        with pytest.raises(InvalidLayout) as caught:
            open_source(f"oci:{out}:app")
        assert str(caught.value) == outside + "refusing to read it."
    with pytest.raises(InvalidLayout) as caught:
        OCILayoutDestination(out, "x")
    assert str(caught.value) == outside + "refusing to write it."
    with pytest.raises(InvalidLayout) as caught:  # what the Copy dialog says before a copy
        check_layout_destination(out)
    assert str(caught.value) == outside + "refusing to write it."
    assert layout_state(out) == before
    assert elsewhere.exists() is there


@pytest.mark.parametrize("version", ["2.0.0", "not JSON"])
def test_a_layout_of_a_version_a_reader_refuses_is_not_written_into(
        single_source: Path, tmp_path: Path, version: str) -> None:
    """The reader refused a layout whose oci-layout says "2.0.0"; a copy added its image
    to it all the same (its oci-layout left so), and the image could not be read back.
    Refused now before anything is written, in the reader's words."""
    from spyglass.core.transports.layout_files import check_layout_destination

    out = tmp_path / "out"
    single_image_layout(out)
    (out / "oci-layout").write_text(
        "1.0.0" if version == "not JSON" else f'{{"imageLayoutVersion":"{version}"}}')
    before = (layout_state(out), sorted(p.name for p in out.rglob("*")))
    with pytest.raises(InvalidLayout) as caught:
        open_source(f"oci:{out}:app")
    said = str(caught.value)
    assert said == (
        f'The OCI image layout "{out}" declares layout version "2.0.0"; only 1.x is '
        "supported." if version == "2.0.0" else
        f'The OCI image layout "{out}" has an oci-layout file that is not JSON with an '
        '"imageLayoutVersion"; expected {"imageLayoutVersion": "1.0.0"}.')
    with pytest.raises(InvalidLayout) as caught:
        copy_image(open_source(f"oci:{single_source}:app"), OCILayoutDestination(out, "new"))
    assert str(caught.value) == said
    with pytest.raises(InvalidLayout) as caught:  # what the Copy dialog says before a copy
        check_layout_destination(out)
    assert str(caught.value) == said
    assert (layout_state(out), sorted(p.name for p in out.rglob("*"))) == before


@pytest.mark.parametrize("blobs", ["a link to nothing", "a loop of links", "a file"])
def test_blobs_that_are_no_folder_are_said_to_be_that(tmp_path: Path, blobs: str) -> None:
    """It was "Cannot write LAYOUT: File exists.", which named neither blobs nor why."""
    from spyglass.core.transports.layout_files import check_layout_destination

    out = tmp_path / "out"
    single_image_layout(out)
    shutil.rmtree(out / "blobs")
    keeps = f'the OCI image layout "{out}" keeps its blobs there'
    if blobs == "a link to nothing":
        (out / "blobs").symlink_to(tmp_path / "gone")
        said = (f'"{out / "blobs"}" is a link to "{tmp_path / "gone"}", which does not '
                f"exist; {keeps}. Make it lead to a folder, or remove it.")
    elif blobs == "a loop of links":
        (out / "blobs").symlink_to(out / "round")
        (out / "round").symlink_to(out / "blobs")
        said = (f'"{out / "blobs"}" is a symbolic link that leads back to itself (a loop of '
                f"links); {keeps}.")
    else:
        (out / "blobs").write_text("")
        said = f'"{out / "blobs"}" is not a folder; {keeps}.'
    before = layout_state(out)
    with pytest.raises(InvalidLayout) as caught:
        OCILayoutDestination(out, "x")
    assert str(caught.value) == said
    with pytest.raises(InvalidLayout) as caught:  # what the Copy dialog says before a copy
        check_layout_destination(out)
    assert str(caught.value) == said
    assert layout_state(out) == before


@pytest.mark.parametrize("quiet", [True, False])
def test_the_command_line_names_the_images_a_copy_took_the_ref_from(
    single_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], quiet: bool
) -> None:
    from spyglass.cli import main

    out = tmp_path / "out"
    app = copy_image(open_source(f"oci:{single_source}:app"), OCILayoutDestination(out, "1"))
    argv = ["copy", *(["-q"] if quiet else []), f"oci:{single_source}:other", f"oci:{out}:1"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert (f'Note: the ref "1" named another image in the OCI image layout "{out}" before; '
            f"it stays there without it: oci:{out}:@0 ({app.digest})\n") in err
    assert main(["inspect", "--format", "{{.Digest}}", f"oci:{out}:@0"]) == 0
    assert capsys.readouterr().out.strip() == str(app.digest)


def test_a_layout_of_version_1_is_read_and_written(single_source: Path, tmp_path: Path) -> None:
    """An oci-layout saying "1" (not "1.0.0") was refused as a destination once the
    version was checked there, where skopeo writes into it: "1" is a 1.x version."""
    out = tmp_path / "out"
    single_image_layout(out)
    (out / "oci-layout").write_text('{"imageLayoutVersion":"1"}')
    copy_image(open_source(f"oci:{single_source}:app"), OCILayoutDestination(out, "new"))
    assert open_source(f"oci:{out}:new") is not None
