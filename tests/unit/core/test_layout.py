"""OCI image layout directories, read side (spyglass.core.transports.layout)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.copy import copy_image  # (imported as root: see unprivileged_dir)
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    BlobNotFound,
    Cancelled,
    DigestMismatch,
    ImageNotFound,
    ImageRemoved,
    InvalidLayout,
    LocationGone,
    NotFound,
    SizeMismatch,
    TooLarge,
    TransportError,
)
from spyglass.core.image import load_image
from spyglass.core.manifest import IMAGE_NAME_ANNOTATION, MAX_MANIFEST_SIZE, Descriptor
from spyglass.core.transports import open_source
from spyglass.core.transports.base import ImageSource, Location
from spyglass.core.transports.files import DirTree
from spyglass.core.transports.layout import open_layout, open_layout_image
from spyglass.core.transports.layout_write import OCILayoutDestination
from tests.helpers.cosign import cosign_saved_layout
from tests.helpers.imagebuild import (
    REF_NAME_ANNOTATION,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    dump_json,
    multi_platform_layout,
)


def small_image(builder: LayoutBuilder, text: str) -> dict[str, Any]:
    return builder.add_image(
        ImageSpec(layers=[LayerSpec({"/id": text.encode()})], labels={"id": text})
    )


@pytest.fixture
def many(tmp_path: Path) -> tuple[Path, dict[str, dict[str, Any]]]:
    """A layout with a tagged list, two tagged images and one untagged image."""
    root = tmp_path / "many"
    descs = {"list": multi_platform_layout(root, ref="1.0")}
    builder = LayoutBuilder(root)
    for ref in ("2.0", "tools"):
        descs[ref] = small_image(builder, ref)
        builder.tag(descs[ref], ref)
    descs["untagged"] = small_image(builder, "untagged")
    builder.tag(descs["untagged"], None)
    return root, descs


def layout_text(root: Path) -> str:
    return f'The OCI image layout "{root}"'


# --------------------------------------------------------------------------- browsing


def test_list_images(many: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    root, descs = many
    location = open_layout(root)
    assert isinstance(location, Location)
    assert location.title == "many"
    assert location.description == f"oci:{root}"
    entries = list(location.list_images())
    assert [e.label for e in entries] == [
        "1.0", "2.0", "tools", "@sha256:" + descs["untagged"]["digest"][7:19],
    ]
    assert [e.name for e in entries[:3]] == [f"oci:{root}:1.0", f"oci:{root}:2.0",
                                            f"oci:{root}:tools"]
    assert entries[3].name == f"oci:{root}:@3"
    assert [str(e.descriptor.digest) for e in entries] == [
        descs[k]["digest"] for k in ("list", "2.0", "tools", "untagged")
    ]
    assert entries[0].descriptor.media_type == media.OCI_INDEX
    # each entry opens the image it names, untagged ones included
    for entry, key in zip(entries, ("list", "2.0", "tools", "untagged"), strict=True):
        source = location.open_image(entry)
        assert isinstance(source, ImageSource)
        raw, media_type = source.get_manifest()
        assert Digest.of(raw) == Digest.parse(descs[key]["digest"])
        assert media_type == descs[key]["mediaType"]
        assert source.description == entry.name
    location.close()
    location.close()


def test_ref_lookup(many: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    root, descs = many
    for ref in ("2.0", "tools"):
        image = load_image(open_layout_image(root, ref))
        assert str(image.manifest.digest) == descs[ref]["digest"]
        assert image.config is not None and image.config.labels["id"] == ref
    source = open_source(f"oci:{root}:1.0")
    assert source.description == f"oci:{root}:1.0"
    raw, media_type = source.get_manifest()
    assert Digest.of(raw) == Digest.parse(descs["list"]["digest"])
    assert media_type == media.OCI_INDEX


def test_the_only_image_needs_no_ref(tmp_path: Path) -> None:
    root = tmp_path / "one"
    builder = LayoutBuilder(root)
    desc = small_image(builder, "only")
    builder.tag(desc, None)
    source = open_layout_image(root, None)
    assert source.description == f"oci:{root}"
    assert str(load_image(source).manifest.digest) == desc["digest"]


def test_no_ref_with_several_images(many: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    root, _ = many
    with pytest.raises(ImageNotFound) as info:
        open_layout_image(root, None)
    assert str(info.value) == (
        f"{layout_text(root)} holds 4 images; name one with oci:{root}:REF "
        f"or oci:{root}:@0 (refs: 1.0, 2.0, tools; without a name: @3)."
    )


def test_unknown_ref(many: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    root, _ = many
    with pytest.raises(ImageNotFound) as info:
        open_layout_image(root, "3.0")
    assert str(info.value) == (
        f'{layout_text(root)} has no image with the ref "3.0"; it has: 1.0, 2.0, tools.'
    )


def test_sentences_name_ten_refs_and_count_the_rest(tmp_path: Path) -> None:
    """An index.json of 30,000 refs made a 229 KB error line (every ref, every name):
    each list a sentence names holds the first ten, then how many more, as the
    registry's sentence of a tag not found names ten of its repository's tags."""
    root = tmp_path / "wide"
    builder = LayoutBuilder(root)
    images = [small_image(builder, f"image {n}") for n in range(13)]
    manifests = [{**images[n % 13], "annotations": {REF_NAME_ANNOTATION: f"r{n:03}",
                                                     IMAGE_NAME_ANNOTATION: f"x.io/a:{n:03}"}}
                 for n in range(25)]
    manifests += [{**image, "annotations": {REF_NAME_ANNOTATION: "same"}} for image in images]
    (root / "index.json").write_bytes(dump_json(
        {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": manifests}))
    first = ", ".join(f"r{n:03}" for n in range(10))
    with pytest.raises(ImageNotFound) as info:
        open_layout_image(root, "nope")
    names = ", ".join(f"x.io/a:{n:03}" for n in range(10))
    assert str(info.value) == (
        f'{layout_text(root)} has no image with the ref "nope"; it has: {first} and 16 '
        f"more (or by name: {names} and 15 more).")
    with pytest.raises(ImageNotFound) as info:
        open_layout_image(root, None)
    positions = ", ".join(f"@{n}" for n in range(25, 35))
    assert str(info.value).endswith(
        f"(refs: {first} and 15 more; by position: {positions} and 3 more).")
    with pytest.raises(ImageNotFound) as info:
        open_layout_image(root, "same")
    ways = ", ".join(f"oci:{root}:@{n}" for n in range(25, 35))
    assert str(info.value) == (
        f'{layout_text(root)} has 13 different images with the ref "same"; name one by its '
        f"position: {ways} and 3 more.")


def test_empty_layout(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    LayoutBuilder(root)
    with pytest.raises(ImageNotFound, match="holds no images"):
        open_layout_image(root, None)
    with pytest.raises(ImageNotFound, match='no image with the ref "x"; it has no named images'):
        open_layout_image(root, "x")
    assert list(open_layout(root).list_images()) == []


def test_ambiguous_ref(tmp_path: Path) -> None:
    root = tmp_path / "ambiguous"
    builder = LayoutBuilder(root)
    a, b = small_image(builder, "a"), small_image(builder, "b")
    named = {"annotations": {REF_NAME_ANNOTATION: "same"}}
    index = {"schemaVersion": 2, "mediaType": media.OCI_INDEX,
             "manifests": [{**a, **named}, {**b, **named}]}
    for listed in (2, 3):  # (3: an image listed twice under it is one of them, named once)
        index["manifests"] = [{**a, **named}, {**b, **named}, {**a, **named}][:listed]
        (root / "index.json").write_bytes(dump_json(index))
        with pytest.raises(ImageNotFound) as info:
            open_layout_image(root, "same")
        assert str(info.value) == (
            f'{layout_text(root)} has 2 different images with the ref "same"; name one by '
            f"its position: oci:{root}:@0, oci:{root}:@1."
        )


def test_the_same_image_twice_under_one_ref_is_not_ambiguous(tmp_path: Path) -> None:
    root = tmp_path / "twice"
    builder = LayoutBuilder(root)
    a = small_image(builder, "a")
    named = {"annotations": {REF_NAME_ANNOTATION: "same"}}
    index = {"schemaVersion": 2, "manifests": [{**a, **named}, {**a, **named}]}
    (root / "index.json").write_bytes(dump_json(index))
    assert str(load_image(open_layout_image(root, "same")).manifest.digest) == a["digest"]


def test_get_manifest_by_digest(many: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    root, _ = many
    source = open_layout_image(root, "1.0")
    index = json.loads(source.get_manifest()[0])
    child = index["manifests"][1]
    raw, media_type = source.get_manifest(child["digest"])
    assert Digest.of(raw) == Digest.parse(child["digest"])
    assert media_type is None  # the layout does not record it; callers guess
    with pytest.raises(NotFound, match="is not a valid digest"):
        source.get_manifest("sha256:../../oci-layout")
    missing = "sha256:" + "0" * 64
    with pytest.raises(BlobNotFound, match=f"The blob {missing} is missing from {root}"):
        source.get_manifest(missing)


def test_open_blob_streams_verified(many: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    root, _ = many
    source = open_layout_image(root, "2.0")
    image = load_image(source)
    layer = image.layers[0]
    with source.open_blob(layer) as reader:
        data = reader.read()
        assert reader.verified
    assert Digest.of(data) == layer.digest
    assert len(data) == layer.size


# --------------------------------------------------------------------------- bad input


def test_path_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(InvalidLayout) as info:
        open_layout(missing)
    assert str(info.value) == (
        f'The path "{missing}" does not exist; expected an OCI image layout folder.'
    )
    with pytest.raises(InvalidLayout, match="does not exist"):
        open_source(f"oci:{missing}:latest")


def test_a_layout_that_can_be_searched_but_not_listed_is_read(unprivileged_dir: Path) -> None:
    """Its files are opened by name (skopeo copies from it): listing it was required, and
    a shared tree of traverse-only folders was refused. Browsing it still lists it."""
    root = unprivileged_dir / "layout"
    multi_platform_layout(root)
    root.chmod(0o311)  # -wx--x--x
    out = unprivileged_dir / "out"
    copy_image(open_source(f"oci:{root}:latest"), OCILayoutDestination(out, "x"))
    assert load_image(open_source(f"oci:{out}:x"), platform=None).config
    said = f'^Cannot read "{root}": Permission denied\\.$'
    with pytest.raises(TransportError, match=said):
        open_layout(root)
    root.chmod(0o000)  # not even searched: the folder is named, not its index.json
    with pytest.raises(TransportError, match=said):
        open_source(f"oci:{root}:latest")


def test_path_is_a_file(tmp_path: Path) -> None:
    file = tmp_path / "file.txt"
    file.write_text("hello")
    with pytest.raises(InvalidLayout, match=f'"{file}" is not a folder'):
        open_layout(file)


def test_folder_that_is_not_a_layout(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(InvalidLayout) as info:
        open_layout(folder)
    assert str(info.value) == (
        f"{layout_text(folder)} is not an OCI image layout: it has no oci-layout file."
    )


def test_missing_index_json(tmp_layout: Path) -> None:
    (tmp_layout / "index.json").unlink()
    with pytest.raises(InvalidLayout, match=r"it has no index\.json file"):
        list(open_layout(tmp_layout).list_images())


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe"])
def test_index_json_not_json(tmp_layout: Path, content: bytes) -> None:
    (tmp_layout / "index.json").write_bytes(content)
    with pytest.raises(InvalidLayout) as info:
        open_layout_image(tmp_layout, "latest")
    expected = f"{layout_text(tmp_layout)} has an index.json that is not JSON"
    assert str(info.value).startswith(expected)


def pauses_taken(monkeypatch: pytest.MonkeyPatch,
                 during: Callable[[], None] = lambda: None) -> list[float]:
    """The pauses the layout reader takes (each recorded, then taken); ``during`` runs in
    each, before it ends."""
    import time

    taken: list[float] = []
    sleep = time.sleep

    def pause(seconds: float) -> None:
        taken.append(seconds)
        during()
        sleep(seconds)

    monkeypatch.setattr(time, "sleep", pause)
    return taken


@pytest.mark.parametrize(("name", "cut"), [
    ("index.json", "empty"), ("index.json", "half"), ("index.json", "in a string"),
    ("oci-layout", "empty"), ("oci-layout", "half")])
def test_a_layout_file_another_program_is_writing_is_read_again_after_a_pause(
        tmp_layout: Path, monkeypatch: pytest.MonkeyPatch, name: str, cut: str) -> None:
    """skopeo rewrites index.json and oci-layout in place at each copy (emptied, then
    written), without a lock: F5 while a skopeo copy wrote the layout found one empty or
    cut short, and the place was refused as one whose index.json "is not JSON" (the
    explorer's finding), or whose oci-layout file is not. It is read again after a
    pause, and opens: here another thread writes it whole meanwhile."""
    file = tmp_layout / name
    whole = file.read_bytes()
    found = {"empty": b"", "half": whole[:len(whole) // 2],
             "in a string": whole[:whole.find(b"sha256:") + 20]}[cut]
    file.write_bytes(found)
    written = threading.Event()

    def write_whole() -> None:
        file.write_bytes(whole)
        written.set()

    def other_program() -> None:  # writes it while the reader pauses
        if not written.is_set():
            writer = threading.Thread(target=write_whole)
            writer.start()
            writer.join()

    taken = pauses_taken(monkeypatch, other_program)
    location = open_layout(tmp_layout)  # the window's (F5 too)
    assert [entry.label for entry in location.list_images()] == ["latest"]
    assert len(taken) == 1 and written.is_set()


@pytest.mark.parametrize(("name", "cut"), [
    ("index.json", "empty"), ("index.json", "half"), ("oci-layout", "empty"),
    ("oci-layout", "half")])
def test_a_layout_file_that_stays_cut_short_says_another_program_may_be_writing_it(
        tmp_layout: Path, monkeypatch: pytest.MonkeyPatch, name: str, cut: str) -> None:
    """Read again twice, 150 ms in all, then refused: its sentence says why it may be so
    and to try again, where "not JSON" alone said the layout was broken."""
    import time

    from spyglass.core.transports.layout import REREAD_PAUSES

    file = tmp_layout / name
    whole = file.read_bytes()
    file.write_bytes(b"" if cut == "empty" else whole[:len(whole) // 2])
    shown = "oci-layout file" if name == "oci-layout" else name
    writing = ("another program may be writing it (skopeo writes it in place, without a "
               "lock); try again once it is done.")
    for opened in (lambda: list(open_layout(tmp_layout).list_images()),  # the window's
                   lambda: open_source(f"oci:{tmp_layout}:latest")):  # the command line's
        taken = pauses_taken(monkeypatch)
        started = time.monotonic()
        with pytest.raises(InvalidLayout) as info:
            opened()
        assert time.monotonic() - started < 1.0
        assert taken == list(REREAD_PAUSES) and sum(taken) <= 0.2
        if cut == "empty":
            assert str(info.value) == f"{layout_text(tmp_layout)} has an empty {shown}: {writing}"
        else:
            assert str(info.value).startswith(
                f"{layout_text(tmp_layout)} has an {shown} cut off before its end (")
            assert str(info.value).endswith(f"): {writing}")


def test_an_oci_archive_whose_index_json_is_empty_is_refused_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tar's member is read as it was scanned: nothing would change it meanwhile."""
    from spyglass.core.transports.archive import open_oci_archive_location
    from tests.unit.core.transports.test_archive import write_tar

    path = write_tar(tmp_path / "empty-index.tar", [
        ("file", "oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("file", "index.json", b"")])
    taken = pauses_taken(monkeypatch)
    with pytest.raises(InvalidLayout) as info:
        list(open_oci_archive_location(path).list_images())
    assert taken == []
    assert str(info.value) == (f'The OCI archive "{path}" has an index.json that is not JSON: '
                               "Expecting value: line 1 column 1 (char 0).")


@pytest.mark.parametrize("garbage", [b"x", b"}", b",,", b"\x00"])
def test_a_layout_file_wrong_before_its_end_is_refused_at_once(
        tmp_layout: Path, monkeypatch: pytest.MonkeyPatch, garbage: bytes) -> None:
    """Not JSON in its middle is no file being written: refused without a pause, as not
    JSON (no more of it would mend it)."""
    import time

    index = tmp_layout / "index.json"
    whole = index.read_bytes()
    middle = whole.index(b'"manifests"')
    index.write_bytes(whole[:middle] + garbage + whole[middle:])
    taken = pauses_taken(monkeypatch)
    started = time.monotonic()
    with pytest.raises(InvalidLayout) as info:
        list(open_layout(tmp_layout).list_images())
    assert time.monotonic() - started < 0.05
    assert taken == []
    assert str(info.value).startswith(
        f"{layout_text(tmp_layout)} has an index.json that is not JSON: ")
    assert "another program" not in str(info.value)
    (tmp_layout / "oci-layout").write_bytes(b'{"imageLayoutVersion" "1.0.0"}')
    with pytest.raises(InvalidLayout, match="has an oci-layout file that is not JSON with"):
        open_layout(tmp_layout)
    assert taken == []


@pytest.mark.parametrize(
    "content",
    [b"[]", b'"index"', b"{}", b'{"schemaVersion": 2, "manifests": {}}'],
)
def test_index_json_not_an_index(tmp_layout: Path, content: bytes) -> None:
    (tmp_layout / "index.json").write_bytes(content)
    with pytest.raises(InvalidLayout) as info:
        open_layout_image(tmp_layout, "latest")
    assert str(info.value) == (
        f"{layout_text(tmp_layout)} has an index.json that is not an image index; expected a "
        'JSON object with a "manifests" list.'
    )


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"schemaVersion": 2, "manifests": [{"digest": "sha256:x", "size": 1}]}',
         "invalid digest"),
        (b'{"schemaVersion": 3, "manifests": []}', "schemaVersion 3"),
        (dump_json({"schemaVersion": 2, "mediaType": media.DOCKER_LIST, "manifests": []}),
         "declares mediaType"),
    ],
)
def test_index_json_invalid(tmp_layout: Path, content: bytes, fragment: str) -> None:
    (tmp_layout / "index.json").write_bytes(content)
    with pytest.raises(InvalidLayout) as info:
        open_layout_image(tmp_layout, "latest")
    message = str(info.value)
    assert message.startswith(f"{layout_text(tmp_layout)} has an invalid index.json: ")
    assert fragment in message


def test_index_json_too_large(tmp_layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Larger than a manifest may be (it holds tens of thousands of refs), up to a limit."""
    from spyglass.core.transports import layout as layout_module

    index = json.loads((tmp_layout / "index.json").read_bytes())
    index["annotations"] = {"padding": "x" * MAX_MANIFEST_SIZE}
    (tmp_layout / "index.json").write_bytes(dump_json(index))
    assert open_layout_image(tmp_layout, "latest") is not None
    # more than the 64 MiB once accepted: skopeo read one of 101 MB (big annotations)
    index["annotations"] = {"padding": "x" * 65 * 1024 * 1024}
    (tmp_layout / "index.json").write_bytes(dump_json(index))
    assert open_layout_image(tmp_layout, "latest") is not None
    monkeypatch.setattr(layout_module, "MAX_INDEX_FILE_SIZE", 5 * 1024 * 1024)
    index["annotations"] = {"padding": "x" * 5 * 1024 * 1024}
    (tmp_layout / "index.json").write_bytes(dump_json(index))
    with pytest.raises(TooLarge, match=r"index\.json file of \d+ bytes, more than the 5 MiB "
                                       r"accepted \(it is read whole into memory\)\.$"):
        open_layout_image(tmp_layout, "latest")


def test_opening_a_layout_decodes_its_index_json_once(
        many: tuple[Path, dict[str, dict[str, Any]]], decoded: list[bytes]) -> None:
    """It was decoded three times (read, parsed, its kind guessed): 150 ms each for an
    index.json of 60 MB, holding the GUI thread."""
    root, descs = many
    index_raw = (root / "index.json").read_bytes()
    location = open_layout(root)
    entries = list(location.list_images())
    assert decoded.count(index_raw) == 1
    assert [str(e.descriptor.digest) for e in entries] == [
        descs[k]["digest"] for k in ("list", "2.0", "tools", "untagged")]
    source = location.open_image(entries[1])
    raw, _ = source.get_manifest()
    assert Digest.of(raw) == Digest.parse(descs["2.0"]["digest"])  # byte for byte
    assert decoded.count(index_raw) == 1
    location.close()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"imageLayoutVersion": "2.0.0"}', 'declares layout version "2.0.0"; only 1.x'),
        (b'{"imageLayoutVersion": 1}', 'declares layout version "1"; only 1.x'),
        (b"{}", 'not JSON with an "imageLayoutVersion"'),
        (b"1.0.0", 'not JSON with an "imageLayoutVersion"'),
        (b"[]", 'not JSON with an "imageLayoutVersion"'),
        (b"[" * 5000, 'not JSON with an "imageLayoutVersion"'),  # was RecursionError
    ],
)
def test_oci_layout_file(tmp_layout: Path, content: bytes, fragment: str) -> None:
    (tmp_layout / "oci-layout").write_bytes(content)
    with pytest.raises(InvalidLayout) as info:
        open_layout(tmp_layout)
    assert str(info.value).startswith(layout_text(tmp_layout))
    assert fragment in str(info.value)


def test_an_index_json_with_a_number_of_5000_digits_is_said_not_json(
        tmp_layout: Path) -> None:
    """Python's json raised ValueError for it: "unexpected internal error"."""
    index = tmp_layout / "index.json"
    index.write_bytes(index.read_bytes()[:-1] + b',"x":' + b"1" * 5000 + b"}")
    with pytest.raises(InvalidLayout, match="more than 4,300 digits"):
        list(open_layout(tmp_layout).list_images())


def test_version_1_1_is_accepted(tmp_layout: Path) -> None:
    (tmp_layout / "oci-layout").write_bytes(b'{"imageLayoutVersion": "1.1.0"}')
    assert len(list(open_layout(tmp_layout).list_images())) == 1


def test_manifest_content_not_matching_its_name(tmp_layout: Path) -> None:
    top = json.loads((tmp_layout / "index.json").read_bytes())["manifests"][0]
    path = tmp_layout / "blobs" / "sha256" / top["digest"][7:]
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b'"schemaVersion":2', b'"schemaVersion":3'))
    with pytest.raises(DigestMismatch) as info:
        open_layout_image(tmp_layout, "latest").get_manifest()
    assert f"expected {top['digest']}" in str(info.value)


def test_manifest_shorter_than_promised(tmp_layout: Path) -> None:
    top = json.loads((tmp_layout / "index.json").read_bytes())["manifests"][0]
    path = tmp_layout / "blobs" / "sha256" / top["digest"][7:]
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(SizeMismatch):
        open_layout_image(tmp_layout, "latest").get_manifest()


def test_blob_content_not_matching_its_name(tmp_layout: Path) -> None:
    source = open_layout_image(tmp_layout, "latest")
    image = load_image(source)
    layer = image.layers[0]
    path = tmp_layout / "blobs" / "sha256" / layer.digest.hex
    data = bytearray(path.read_bytes())
    data[10] ^= 0x55
    path.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch) as info, source.open_blob(layer) as reader:
        while reader.read(4096):
            pass
    assert str(info.value).startswith(f"The blob blobs/sha256/{layer.digest.hex} in {tmp_layout}")


def big_manifest(builder: LayoutBuilder) -> tuple[bytes, dict[str, Any]]:
    config = builder.add_blob(b"{}")
    manifest = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": {"mediaType": media.OCI_CONFIG, **config},
        "layers": [],
        "annotations": {"padding": "x" * MAX_MANIFEST_SIZE},
    }
    raw = dump_json(manifest)
    return raw, {"mediaType": media.OCI_MANIFEST, **builder.add_blob(raw)}


def test_manifest_over_4_mib(tmp_path: Path) -> None:
    root = tmp_path / "big"
    builder = LayoutBuilder(root)
    raw, desc = big_manifest(builder)
    builder.tag(desc, "big")
    with pytest.raises(TooLarge) as info:
        open_layout_image(root, "big").get_manifest()
    assert f"is {len(raw)} bytes, more than the 4 MiB" in str(info.value)
    assert desc["digest"] in str(info.value)


def test_manifest_over_4_mib_by_digest(many: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    """Without a size to go by, reading stops once the limit is passed."""
    root, _ = many
    _, desc = big_manifest(LayoutBuilder(root))
    with pytest.raises(TooLarge, match="more than the 4 MiB"):
        open_layout_image(root, "2.0").get_manifest(desc["digest"])


def test_manifest_over_4_mib_with_a_lying_size(tmp_path: Path) -> None:
    root = tmp_path / "liar"
    builder = LayoutBuilder(root)
    _, desc = big_manifest(builder)
    builder.tag({**desc, "size": 1000}, "liar")
    with pytest.raises(SizeMismatch):
        open_layout_image(root, "liar").get_manifest()


def test_symlinked_blob_pointing_outside_is_followed_once_it_proved_to_be_the_blob(
    tmp_path: Path,
) -> None:
    root = tmp_path / "layout"
    multi_platform_layout(root)
    source = open_layout_image(root, "latest")
    image = load_image(source)
    layer = image.layers[0]
    blob = root / "blobs" / "sha256" / layer.digest.hex
    outside = tmp_path / "outside-blob"
    outside.write_bytes(blob.read_bytes())
    blob.unlink()
    os.symlink(outside, blob)
    with source.open_blob(layer) as reader:
        assert Digest.of(reader.read()) == layer.digest
        assert reader.verified


def test_a_blob_linked_outside_to_other_content_is_refused_before_a_byte_is_read(
    tmp_path: Path,
) -> None:
    """A link out is hashed before it is handed out: a hostile layout cannot stream a
    file of the reader's (a private key) to wherever the copy goes, since the mismatch
    is raised at open, not at the end of the read."""
    root = tmp_path / "layout"
    multi_platform_layout(root)
    source = open_layout_image(root, "latest")
    layer = load_image(source).layers[0]
    blob = root / "blobs" / "sha256" / layer.digest.hex
    secret = tmp_path / "id_rsa"
    secret.write_bytes(b"-----BEGIN PRIVATE KEY-----\n" + b"x" * (layer.size - 28))
    blob.unlink()
    os.symlink(Path("..") / ".." / ".." / "id_rsa", blob)
    with pytest.raises(DigestMismatch) as info:
        source.open_blob(layer)
    message = str(info.value)
    assert str(blob) in message and str(secret) in message
    assert f"expected {layer.digest}" in message and "refusing to read it" in message


def test_a_blob_linked_outside_to_a_file_of_another_size_is_refused_unread(
    tmp_path: Path,
) -> None:
    """A link to a file of terabytes was hashed to its end before it was refused: its
    size is compared with the descriptor's first (the file here is sparse)."""
    root = tmp_path / "layout"
    multi_platform_layout(root)
    source = open_layout_image(root, "latest")
    layer = load_image(source).layers[0]
    blob = root / "blobs" / "sha256" / layer.digest.hex
    huge = tmp_path / "sparse"
    with huge.open("wb") as stream:
        stream.truncate(256 * 1024 * 1024)
    blob.unlink()
    os.symlink(huge, blob)
    with pytest.raises(DigestMismatch) as info:
        source.open_blob(layer)
    assert (f"of 268,435,456 bytes where its descriptor promises {layer.size:,}; refusing "
            "to read it.") in str(info.value)
    assert str(huge) in str(info.value)


def test_hashing_a_blob_linked_outside_can_be_cancelled(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    multi_platform_layout(root)
    source = open_layout_image(root, "latest")
    layer = load_image(source).layers[0]
    blob = root / "blobs" / "sha256" / layer.digest.hex
    outside = tmp_path / "outside-blob"
    outside.write_bytes(blob.read_bytes())
    blob.unlink()
    os.symlink(outside, blob)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        source.open_blob(layer, cancel=token)


def test_symlinked_manifest_is_followed_and_index_pointing_outside_refused(
    tmp_path: Path,
) -> None:
    root = tmp_path / "layout"
    index_desc = multi_platform_layout(root)
    manifest = root / "blobs" / "sha256" / index_desc["digest"][7:]
    outside = tmp_path / "outside-manifest"
    outside.write_bytes(manifest.read_bytes())
    manifest.unlink()
    os.symlink(outside, manifest)
    raw, _ = open_layout_image(root, "latest").get_manifest()
    assert Digest.of(raw) == Digest.parse(index_desc["digest"])

    for name in ("index.json", "oci-layout"):
        kept = root / name
        (tmp_path / f"outside-{name}").write_bytes(kept.read_bytes())
        kept.rename(tmp_path / f"inside-{name}")
        os.symlink(tmp_path / f"outside-{name}", kept)
        with pytest.raises(InvalidLayout, match="leads outside the layout") as info:
            open_layout_image(root, "latest")
        assert name in str(info.value)
        kept.unlink()
        (tmp_path / f"inside-{name}").rename(kept)


def test_other_files_linked_outside_are_refused_even_under_blobs(tmp_path: Path) -> None:
    """Only blobs/<alg>/<hex> of a known algorithm is followed out: it alone has a
    digest to check the file against."""
    root = tmp_path / "layout"
    multi_platform_layout(root)
    (tmp_path / "elsewhere").write_bytes(b"x")
    tree = DirTree(root)
    for name in ("blobs/md5/" + "0" * 32, "blobs/sha256/not-hex", "blobs/other",
                 "blobs/sha256/" + "a" * 64 + "/x"):
        link = root / name
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(tmp_path / "elsewhere", link)
        with pytest.raises(InvalidLayout, match="leads outside the layout"):
            tree.open(name)


def test_symlinked_blobs_folder_pointing_outside_is_followed(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    index_desc = multi_platform_layout(root)
    (root / "blobs").rename(tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", root / "blobs")
    source = open_layout_image(root, "latest")
    raw, _ = source.get_manifest()
    assert Digest.of(raw) == Digest.parse(index_desc["digest"])
    for layer in load_image(source).layers:
        with source.open_blob(layer) as reader:
            reader.read()
            assert reader.verified


def test_symlink_inside_the_layout_is_fine(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    index_desc = multi_platform_layout(root)
    manifest = root / "blobs" / "sha256" / index_desc["digest"][7:]
    (root / "store").mkdir()
    manifest.rename(root / "store" / "index-blob")
    os.symlink(Path("..") / ".." / "store" / "index-blob", manifest)
    raw, _ = open_layout_image(root, "latest").get_manifest()
    assert Digest.of(raw) == Digest.parse(index_desc["digest"])


def test_a_layout_reached_through_a_symlink(tmp_path: Path) -> None:
    root = tmp_path / "layout"
    index_desc = multi_platform_layout(root)
    os.symlink(root, tmp_path / "alias")
    raw, _ = open_layout_image(tmp_path / "alias", "latest").get_manifest()
    assert Digest.of(raw) == Digest.parse(index_desc["digest"])


def test_missing_blob(tmp_layout: Path) -> None:
    source = open_layout_image(tmp_layout, "latest")
    descriptor = Descriptor(media.OCI_LAYER_GZIP, Digest.of(b"not there"), 9)
    with pytest.raises(BlobNotFound) as info:
        source.open_blob(descriptor)
    assert str(info.value) == (
        f"The blob {descriptor.digest} is missing from {tmp_layout} "
        f"(expected at blobs/sha256/{descriptor.digest.hex})."
    )


def _listed(root: Path, label: str) -> tuple[Location, ImageSource]:
    """The image ``label`` of the layout at ``root``, as a window lists and opens it."""
    location = open_layout(root)
    entry = next(e for e in location.list_images() if e.label == label)
    return location, location.open_image(entry)


def test_a_layout_folder_moved_since_it_was_listed_is_said_gone(
        many: tuple[Path, dict[str, dict[str, Any]]], tmp_path: Path) -> None:
    root, descs = many
    _location, source = _listed(root, "tools")
    root.rename(tmp_path / "renamed")
    expected = (f'The folder "{root}" is no longer there: it was moved or deleted since it '
                "was opened.")
    with pytest.raises(LocationGone) as info:
        source.get_manifest()
    assert str(info.value) == expected
    layer = Descriptor(media.OCI_LAYER_GZIP, Digest.parse(descs["2.0"]["digest"]), 1)
    with pytest.raises(LocationGone, match="is no longer there"):
        source.open_blob(layer)


def test_an_image_removed_from_its_layout_since_it_was_listed_is_said_removed(
        many: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    """umoci rm and umoci gc under a layout that was listed: the image is not in index.json
    any more, and its blobs are gone: that is what is said, not a blob missing."""
    root, descs = many
    _location, source = _listed(root, "tools")
    manifest = json.loads((root / "blobs" / "sha256" /
                           descs["tools"]["digest"].removeprefix("sha256:")).read_bytes())
    layer = Descriptor.from_json(manifest["layers"][0])
    index = json.loads((root / "index.json").read_bytes())
    index["manifests"] = [m for m in index["manifests"] if m["digest"] != descs["tools"]["digest"]]
    (root / "index.json").write_bytes(dump_json(index))
    for blob in (descs["tools"]["digest"], str(layer.digest)):
        (root / "blobs" / "sha256" / blob.removeprefix("sha256:")).unlink()
    with pytest.raises(ImageRemoved) as info:
        source.open_blob(layer)
    assert str(info.value) == (
        f'{layout_text(root)} no longer holds the image "tools": another program removed it '
        f"since the layout was read, and its blob {layer.digest} with it.")
    with pytest.raises(ImageRemoved, match=descs["tools"]["digest"]):
        source.get_manifest()


def test_a_blob_missing_from_an_image_still_in_its_layout_is_said_missing(
        many: tuple[Path, dict[str, dict[str, Any]]]) -> None:
    root, descs = many
    _location, source = _listed(root, "tools")
    (root / "blobs" / "sha256" / descs["tools"]["digest"].removeprefix("sha256:")).unlink()
    with pytest.raises(BlobNotFound) as info:
        source.get_manifest()
    assert not isinstance(info.value, ImageRemoved | LocationGone)
    assert str(info.value).startswith(f"The blob {descs['tools']['digest']} is missing from")


def test_an_unreadable_layout_is_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permissions are not enforced for root, so the refusal is simulated at the OS call."""
    from spyglass.core.errors import TransportError
    from spyglass.core.transports import detect_location_kind

    root = tmp_path / "locked"
    multi_platform_layout(root)
    real_is_file = Path.is_file

    def refuse(self: Path) -> bool:
        if root in self.parents or self == root:
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_file(self)

    monkeypatch.setattr(Path, "is_file", refuse)
    with pytest.raises(TransportError, match=r'Cannot read ".*locked.*": Permission denied\.'):
        open_layout_image(root, "latest")
    with pytest.raises(TransportError, match="Permission denied"):
        detect_location_kind(root)


def rules_oci_layout(store: Path, root: Path) -> None:
    """A layout as Bazel's rules_oci writes one: its own index.json and oci-layout, and
    every blob a relative link into the blobs of another layout (``store``)."""
    (root / "blobs" / "sha256").mkdir(parents=True)
    for name in ("index.json", "oci-layout"):
        (root / name).write_bytes((store / name).read_bytes())
    for blob in (store / "blobs" / "sha256").iterdir():
        target = Path(os.path.relpath(blob, root / "blobs" / "sha256"))
        os.symlink(target, root / "blobs" / "sha256" / blob.name)


def test_a_rules_oci_layout_reads_and_copies_as_skopeo_reads_it(tmp_path: Path) -> None:
    """rules_oci layouts (blobs linked into another layout) open as containers/image's
    oci: transport opens them: inspect, every instance and blob, and a copy out."""
    import subprocess

    from spyglass.core.copy import CopyOptions, copy_image
    from spyglass.core.transports import open_destination
    from tests.helpers import require_tool

    skopeo = require_tool("skopeo")
    store, root = tmp_path / "store", tmp_path / "bazel-bin" / "image"
    index_desc = multi_platform_layout(store)
    rules_oci_layout(store, root)

    def skopeo_raw(name: str) -> bytes:
        return subprocess.run([skopeo, "inspect", "--raw", name], capture_output=True,
                              check=True, timeout=60).stdout

    source = open_source(f"oci:{root}:latest")
    raw, _ = source.get_manifest()
    assert raw == skopeo_raw(f"oci:{root}:latest")
    assert Digest.of(raw) == Digest.parse(index_desc["digest"])
    image = load_image(source)
    for blob in (image.manifest.config, *image.layers):
        with source.open_blob(blob) as reader:
            reader.read()
            assert reader.verified

    out = tmp_path / "out"
    top = copy_image(source, open_destination(f"oci:{out}:copied"),
                     CopyOptions(multi_arch="all"))
    assert top.digest == Digest.parse(index_desc["digest"])
    assert skopeo_raw(f"oci:{out}:copied") == raw
    assert not any(p.is_symlink() for p in (out / "blobs" / "sha256").iterdir())
    subprocess.run([skopeo, "copy", "-q", "--all", f"oci:{out}:copied", f"dir:{tmp_path / 'd'}"],
                   capture_output=True, check=True, timeout=60)


def test_planning_a_copy_from_a_rules_oci_layout_hashes_no_blob(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Telling a layer's compression by its first bytes reads only those: a blob linked
    outside is hashed when it is read, not when it is looked at."""
    from spyglass.core.copy import CopyOptions, plan_copy
    from spyglass.core.transports import open_destination
    from spyglass.core.transports.files import DirTree

    store, root = tmp_path / "store", tmp_path / "bazel-bin" / "image"
    multi_platform_layout(store)
    rules_oci_layout(store, root)
    hashed: list[Path] = []
    real = DirTree._check_linked_blob
    monkeypatch.setattr(DirTree, "_check_linked_blob", lambda self, stream, full, *rest: (
        hashed.append(full), real(self, stream, full, *rest))[1])
    source = open_source(f"oci:{root}:latest")
    plan = plan_copy(source, open_destination(f"oci:{tmp_path / 'out'}:copied"),
                     CopyOptions(multi_arch="all"))
    layers = [task.source for instance in plan.instances for task in instance.layers]
    assert layers and all(source.stored_compression(layer) is None for layer in layers)
    assert not any(path.name in {layer.digest.hex for layer in layers} for path in hashed)


def test_a_copy_into_a_rules_oci_layout_never_writes_through_its_links(tmp_path: Path) -> None:
    """The write side is as it was: a blob already there as a link out is not trusted
    (nor written through); the new blob replaces the link, the other layout stays."""
    from spyglass.core.copy import CopyOptions, copy_image
    from spyglass.core.transports import open_destination

    store, root = tmp_path / "store", tmp_path / "linked"
    multi_platform_layout(store)
    rules_oci_layout(store, root)
    before = {p.name: p.read_bytes() for p in (store / "blobs" / "sha256").iterdir()}
    copy_image(open_source(f"oci:{store}:latest"), open_destination(f"oci:{root}:again"),
               CopyOptions(multi_arch="all"))
    assert {p.name: p.read_bytes() for p in (store / "blobs" / "sha256").iterdir()} == before
    assert not any(os.path.islink(p) for p in (store / "blobs" / "sha256").iterdir())
    raw, _ = open_source(f"oci:{root}:again").get_manifest()
    assert raw == (store / "blobs" / "sha256" / Digest.of(raw).hex).read_bytes()


def test_a_layout_without_its_oci_layout_file_is_read_as_skopeo_reads_it(
    tmp_path: Path,
) -> None:
    """BuildKit wrote layouts without ``oci-layout`` (before moby/buildkit#3729);
    containers/image reads only ``index.json``: so does Spyglass, and writing into such
    a layout adds the file."""
    import subprocess

    from spyglass.core.transports import detect_location_kind, open_destination, open_source
    from tests.helpers import require_tool
    from tests.unit.core.transports.test_layout_dest import copy_image

    root = tmp_path / "buildkit"
    multi_platform_layout(root)
    (root / "oci-layout").unlink()
    assert detect_location_kind(root) == "oci"
    source = open_source(f"oci:{root}:latest")
    try:
        raw, _ = source.get_manifest()
    finally:
        source.close()
    skopeo = require_tool("skopeo")
    assert raw == subprocess.run([skopeo, "inspect", "--raw", f"oci:{root}:latest"],
                                 check=True, capture_output=True).stdout
    copy_image(open_source(f"oci:{root}:latest"), open_destination(f"oci:{root}:again"))
    assert json.loads((root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}


def test_a_failed_copy_into_a_layout_without_its_oci_layout_file_keeps_what_was_there(
    tmp_path: Path,
) -> None:
    """Only what the copy made is taken back: an (empty) index.json and blobs/ that were
    there stay."""
    from spyglass.core.copy import CopyOptions, copy_image
    from spyglass.core.errors import SpyglassError
    from spyglass.core.transports import open_destination, open_source

    source = tmp_path / "source"
    multi_platform_layout(source)
    index = json.loads((source / "index.json").read_text())
    top = json.loads((source / "blobs" / "sha256" / index["manifests"][0]["digest"][7:])
                     .read_bytes())
    image = json.loads((source / "blobs" / "sha256" / top["manifests"][0]["digest"][7:])
                       .read_bytes())
    (source / "blobs" / "sha256" / image["layers"][0]["digest"][7:]).unlink()  # fails midway
    root = tmp_path / "buildkit"
    (root / "blobs").mkdir(parents=True)
    (root / "index.json").write_text('{"schemaVersion":2,"manifests":[]}')
    with pytest.raises(SpyglassError):
        copy_image(open_source(f"oci:{source}:latest"), open_destination(f"oci:{root}:x"),
                   CopyOptions(multi_arch="all"))
    assert (root / "index.json").read_text() == '{"schemaVersion":2,"manifests":[]}'
    assert (root / "blobs").is_dir()


# --------------------------------------------------------------------------- cosign save


@pytest.mark.parametrize("index", [False, True], ids=["image", "index"])
def test_a_cosign_save_layout_named_alone_is_the_image_it_saved(
    tmp_path: Path, index: bool
) -> None:
    """cosign save names no entry: it annotates the image (or index) ``kind:
    dev.cosignproject.cosign/image`` (``/imageIndex``) beside the unnamed entries of its
    signatures and attestations, and that image is what oci:PATH names."""
    saved = cosign_saved_layout(tmp_path / "saved", index=index)
    source = open_source(f"oci:{saved.root}")
    assert source.description == f"oci:{saved.root}"
    raw, media_type = source.get_manifest()
    assert str(Digest.of(raw)) == saved.image
    assert media_type == (media.OCI_INDEX if index else media.OCI_MANIFEST)
    # each entry is still there by its position, as in any layout
    raw, _ = open_source(f"oci:{saved.root}:@1").get_manifest()
    assert str(Digest.of(raw)) == saved.sig


def test_a_cosign_save_layout_given_another_image_names_none(tmp_path: Path) -> None:
    """Once the layout holds another image too, oci:PATH could be either: it is refused,
    as in any layout of several images."""
    saved = cosign_saved_layout(tmp_path / "saved")
    builder = LayoutBuilder(saved.root)
    builder.tag(small_image(builder, "other"), "other")
    with pytest.raises(ImageNotFound, match=r"holds 2 images \(and 2 signatures or other "
                       r"manifests attached to them\); name one with"):
        open_layout_image(saved.root, None)
    raw, _ = open_layout_image(saved.root, "other").get_manifest()
    assert str(Digest.of(raw)) != saved.image


def test_two_images_annotated_as_cosign_saved_are_not_chosen_between(tmp_path: Path) -> None:
    saved = cosign_saved_layout(tmp_path / "saved")
    builder = LayoutBuilder(saved.root)
    other = small_image(builder, "other")
    builder.tag({"mediaType": other["mediaType"], "digest": other["digest"],
                 "size": other["size"], "annotations": {"kind": "dev.cosignproject.cosign/image"}},
                None)
    with pytest.raises(ImageNotFound, match=r"holds 2 images \(and 2 signatures"):
        open_layout_image(saved.root, None)


def test_a_layout_of_one_image_and_what_is_attached_to_it_names_that_image(
        tmp_path: Path) -> None:
    # cosign's tags as ref names (as Spyglass and skopeo write them) and an unnamed
    # referrer: one image is there, so oci:PATH is it
    builder = LayoutBuilder(tmp_path / "l")
    image = small_image(builder, "app")
    builder.tag(image, "1.0")
    hex_part = image["digest"].removeprefix("sha256:")
    for suffix in (".sig", ".att"):
        builder.tag(small_image(builder, suffix), f"sha256-{hex_part}{suffix}")
    # (its entry says no artifactType: its subject says what it is)
    builder.tag(builder.add_referrer(image, "application/spdx+json"), None)
    raw, _ = open_layout_image(tmp_path / "l", None).get_manifest()
    assert str(Digest.of(raw)) == image["digest"]
    # an unnamed artifact with no subject (oras push into a layout) is an image of its
    # own, not attached to this one: two images then
    lone = small_image(builder, "chart")
    builder.tag({**lone, "artifactType": "application/vnd.cncf.helm.config.v1+json"}, None)
    with pytest.raises(ImageNotFound, match=r"holds 2 images \(and 3 signatures"):
        open_layout_image(tmp_path / "l", None)
    builder.index["manifests"].pop()
    builder.tag(builder.index["manifests"].pop(), None)  # (rewritten as it was)
    builder.tag(small_image(builder, "other"), "2.0")
    with pytest.raises(ImageNotFound, match=(
            r"holds 2 images \(and 3 signatures or other manifests attached to them\); "
            r"name one with .* \(refs: 1\.0, 2\.0\)\.")):
        open_layout_image(tmp_path / "l", None)



def test_a_layout_of_attachments_alone_names_each_as_an_image(tmp_path: Path) -> None:
    # (two unnamed artifacts: "holds 0 images (and 2 … attached)" said nothing useful)
    builder = LayoutBuilder(tmp_path / "l")
    for text in ("a", "b"):
        builder.tag({**small_image(builder, text), "artifactType": "text/plain"}, None)
    with pytest.raises(ImageNotFound) as refused:
        open_layout_image(tmp_path / "l", None)
    assert "holds 2 images; name one with" in str(refused.value)
