"""Listing the files of a layer from its blob stream (spyglass.core.layerfiles)."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest, VerifyingReader
from spyglass.core.errors import (
    BlobNotFound,
    Cancelled,
    DigestMismatch,
    SizeMismatch,
    TooLarge,
    TransportError,
)
from spyglass.core.image import load_image
from spyglass.core.layerfiles import LayerFile, LayerListing, list_layer_files, normalize_path
from spyglass.core.manifest import Descriptor
from spyglass.core.transports.base import ImageSource
from spyglass.core.transports.layout import open_layout_image
from tests.helpers.fileserver import ServedFile
from tests.helpers.hostiletars import after_a_member, old_gnu_sparse, pax_member
from tests.helpers.imagebuild import TAR_MTIME, ImageSpec, LayerSpec, LayoutBuilder

FILES = {
    "/etc/motd": b"Welcome.\n",
    "/etc/.wh.hostname": b"",
    "/var/cache/.wh..wh..opq": b"",
    "/usr/bin/tool": b"#!/bin/sh\necho tool\n",
}
SYMLINKS = {"/bin/sh": "busybox", "/usr/bin/vi": "/bin/busybox"}
MODES = {"/usr/bin/tool": 0o755}

EXPECTED = [  # imagebuild writes the entries sorted by name, parents included
    LayerFile("bin", "dir", 0, 0o755, None, TAR_MTIME),
    LayerFile("bin/sh", "symlink", 0, 0o777, "busybox", TAR_MTIME),
    LayerFile("etc", "dir", 0, 0o755, None, TAR_MTIME),
    LayerFile("etc/hostname", "whiteout", 0, 0o644, None, TAR_MTIME),
    LayerFile("etc/motd", "file", 9, 0o644, None, TAR_MTIME),
    LayerFile("usr", "dir", 0, 0o755, None, TAR_MTIME),
    LayerFile("usr/bin", "dir", 0, 0o755, None, TAR_MTIME),
    LayerFile("usr/bin/tool", "file", 20, 0o755, None, TAR_MTIME),
    LayerFile("usr/bin/vi", "symlink", 0, 0o777, "/bin/busybox", TAR_MTIME),
    LayerFile("var", "dir", 0, 0o755, None, TAR_MTIME),
    LayerFile("var/cache", "dir", 0, 0o755, None, TAR_MTIME),
    LayerFile("var/cache", "opaque", 0, 0o644, None, TAR_MTIME),
]


def built_image(
    root: Path, compression: str, *, docker: bool = False
) -> tuple[ImageSource, Descriptor, LayoutBuilder]:
    builder = LayoutBuilder(root)
    desc = builder.add_image(
        ImageSpec(
            layers=[LayerSpec(FILES, compression=compression, modes=MODES, symlinks=SYMLINKS)],
            docker_media_types=docker,
        )
    )
    builder.tag(desc, "x")
    source = open_layout_image(root, "x")
    image = load_image(source)
    return source, image.layers[0], builder


def image_with_blob(
    root: Path, blob: bytes, media_type: str
) -> tuple[ImageSource, Descriptor, LayoutBuilder]:
    """A layout whose one image has ``blob`` as its only layer, of ``media_type``."""
    builder = LayoutBuilder(root)
    layer = builder.add_blob(blob)
    config = builder.add_blob(b'{"architecture":"amd64","os":"linux","rootfs":{"diff_ids":[]}}')
    manifest = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": {"mediaType": media.OCI_CONFIG, **config},
        "layers": [{"mediaType": media_type, **layer}],
    }
    written = builder.add_blob(json.dumps(manifest).encode())
    builder.tag({"mediaType": media.OCI_MANIFEST, **written}, "x")
    descriptor = Descriptor(media_type, Digest.parse(layer["digest"]), layer["size"])
    return open_layout_image(root, "x"), descriptor, builder


def tar_of(*members: tuple[tarfile.TarInfo, bytes | None], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, *, size: int = 0, mode: int = 0o644,
           link: str = "", mtime: float = 1_700_000_000,
           dev: tuple[int, int] = (0, 0)) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.devmajor, info.devminor = dev
    info.type = kind
    info.size = size
    info.mode = mode
    info.linkname = link
    info.mtime = mtime
    return info


# --------------------------------------------------------------------------- listing


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_list_built_layers(tmp_path: Path, compression: str) -> None:
    source, layer, _ = built_image(tmp_path / "layout", compression)
    expected_type = {"gzip": media.OCI_LAYER_GZIP, "zstd": media.OCI_LAYER_ZSTD,
                     "none": media.OCI_LAYER}[compression]
    assert layer.media_type == expected_type
    assert list_layer_files(source, layer).files == EXPECTED


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_list_docker_layers(tmp_path: Path, compression: str) -> None:
    source, layer, _ = built_image(tmp_path / "layout", compression, docker=True)
    assert "docker" in layer.media_type
    assert list_layer_files(source, layer).files == EXPECTED


@pytest.mark.parametrize(
    ("compress", "media_type"),
    [
        (lambda data: gzip.compress(data, mtime=0), "application/vnd.example.blob"),
        (lambda data: zstandard.ZstdCompressor().compress(data), "application/octet-stream"),
        (lambda data: data, "application/vnd.example.blob"),
    ],
)
def test_compression_detected_when_the_media_type_says_nothing(
    tmp_path: Path, compress: Callable[[bytes], bytes], media_type: str
) -> None:
    tar = tar_of((member("hello.txt", size=5), b"hello"))
    source, layer, _ = image_with_blob(tmp_path / "layout", compress(tar), media_type)
    assert media.layer_compression(media_type) is None
    assert list_layer_files(source, layer).files == [
        LayerFile("hello.txt", "file", 5, 0o644, None, 1_700_000_000)
    ]


def test_every_kind_and_path_form(tmp_path: Path) -> None:
    tar = tar_of(
        (member("./", tarfile.DIRTYPE, mode=0o755), None),
        (member("./etc/", tarfile.DIRTYPE, mode=0o755), None),
        (member("./etc/motd", size=3, mode=0o600), b"hi\n"),
        (member("/etc/absolute", size=1, mode=0o4755), b"x"),
        (member("etc/link", tarfile.LNKTYPE, link="./etc/motd"), None),
        (member("etc/sym", tarfile.SYMTYPE, link="../etc/motd", mode=0o777), None),
        (member("dev/null", tarfile.CHRTYPE, mode=0o666, dev=(1, 3)), None),
        (member("dev/sda", tarfile.BLKTYPE, mode=0o660, dev=(8, 0)), None),
        (member("dev/odd", b"Z", mode=0o644), None),
        (member("run/pipe", tarfile.FIFOTYPE, mode=0o600), None),
        (member("./.wh.gone", size=0), b""),
        (member("opt/.wh..wh..opq", size=0), b""),
        (member("mnt/.wh..wh.plnk", tarfile.DIRTYPE, mode=0o700), None),
        (member("float-mtime", size=0, mtime=1_700_000_000.75), b""),
    )
    source, layer, _ = image_with_blob(tmp_path / "layout", tar, media.OCI_LAYER)
    files = list_layer_files(source, layer).files
    by_path = {(f.path, f.kind): f for f in files}
    assert [f.path for f in files] == [
        "etc", "etc/motd", "etc/absolute", "etc/link", "etc/sym", "dev/null", "dev/sda",
        "dev/odd", "run/pipe", "gone", "opt", "mnt/.wh..wh.plnk", "float-mtime",
    ]
    assert by_path["etc/motd", "file"].mode == 0o600
    assert by_path["etc/motd", "file"].size == 3
    assert by_path["etc/absolute", "file"].mode == 0o4755
    assert by_path["etc/link", "hardlink"].link_target == "etc/motd"
    assert by_path["etc/link", "hardlink"].size == 0
    assert by_path["etc/sym", "symlink"].link_target == "../etc/motd"
    assert by_path["dev/null", "chardev"].mode == 0o666
    assert by_path["dev/null", "chardev"].device == (1, 3)
    assert by_path["dev/sda", "blockdev"].device == (8, 0)
    assert by_path["dev/odd", "other"].typeflag == "Z"
    assert by_path["etc/motd", "file"].device is None
    assert ("run/pipe", "fifo") in by_path
    assert ("gone", "whiteout") in by_path
    assert ("opt", "opaque") in by_path
    # AUFS metadata entries are not whiteouts of a file called ".wh.plnk"
    assert ("mnt/.wh..wh.plnk", "dir") in by_path
    assert by_path["float-mtime", "file"].mtime == 1_700_000_000


def test_extended_attributes_are_named(tmp_path: Path) -> None:
    """A program with file capabilities (``ping``'s cap_net_raw) was listed as a plain
    0755 file: the names of an entry's extended attributes are listed (GNU tar's pax
    keywords, and bsdtar's, %-encoded)."""
    ping = member("usr/bin/ping", size=1, mode=0o755)
    ping.pax_headers = {"SCHILY.xattr.security.capability": "\x01\x00\x00\x02 \x00",
                        "SCHILY.xattr.user.comment": "hi", "comment": "not an xattr"}
    other = member("usr/bin/other", size=1)
    other.pax_headers = {"LIBARCHIVE.xattr.user.a%20b": "aGk="}
    tar = tar_of((ping, b"x"), (other, b"y"), (member("plain", size=1), b"z"))
    source, layer, _ = image_with_blob(tmp_path / "layout", tar, media.OCI_LAYER)
    files = list_layer_files(source, layer).files
    assert [f.xattrs for f in files] == [
        ("security.capability", "user.comment"), ("user.a b",), ()]


def test_a_pax_mtime_that_is_no_number_of_seconds_is_listed(tmp_path: Path) -> None:
    """A pax mtime is any decimal: 1e300 is kept whole, "inf" and "nan" (which Python's
    tarfile reads) are listed as 0, not an unexpected error."""
    members = []
    for name, value in (("huge", "1e300"), ("inf", "inf"), ("nan", "nan")):
        info = member(name)
        info.pax_headers = {"mtime": value}
        members.append((info, b""))
    source, layer, _ = image_with_blob(tmp_path / "layout", tar_of(*members), media.OCI_LAYER)
    assert [f.mtime for f in list_layer_files(source, layer).files] == [int(1e300), 0, 0]


def test_gnu_long_names(tmp_path: Path) -> None:
    long_name = "deep/" * 40 + "file.txt"
    tar = tar_of((member(long_name, size=2), b"ok"), fmt=tarfile.GNU_FORMAT)
    blob = gzip.compress(tar)
    source, layer, _ = image_with_blob(tmp_path / "layout", blob, media.OCI_LAYER_GZIP)
    assert [f.path for f in list_layer_files(source, layer).files] == [long_name]


def test_names_are_utf8_whatever_the_locale(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """GNU and ustar names (raw bytes) were read in the locale's encoding: under Latin-1
    ``café`` was ``cafÃ©``. A byte that is not UTF-8 is kept (a surrogate), one per byte."""
    names = ["gnu/caf\u00e9.txt", "gnu/\u65e5\u672c.txt", os.fsdecode(b"latin1-caf\xe9"),
             os.fsdecode(b"\xff\xfe")]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as tar:
        for name in names:
            tar.addfile(member(name, size=1), io.BytesIO(b"x"))
    monkeypatch.setattr(tarfile.TarFile, "encoding", "iso-8859-1")  # a Latin-1 locale's
    source, layer, _ = image_with_blob(tmp_path / "layout", buffer.getvalue(), media.OCI_LAYER)
    assert [f.path for f in list_layer_files(source, layer).files] == names


def test_empty_tar(tmp_path: Path) -> None:
    source, layer, _ = image_with_blob(tmp_path / "layout", tar_of(), media.OCI_LAYER)
    assert list_layer_files(source, layer).files == []


def test_normalize_path() -> None:
    assert normalize_path("./etc/motd") == "etc/motd"
    assert normalize_path("/etc/motd") == "etc/motd"
    assert normalize_path("etc//motd/") == "etc/motd"
    assert normalize_path("./") == ""
    assert normalize_path("a/./b/../c") == "a/b/../c"


# --------------------------------------------------------------------------- verification


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_corrupt_blob_gives_an_error_and_no_list(tmp_path: Path, compression: str) -> None:
    source, layer, builder = built_image(tmp_path / "layout", compression)
    path = builder.blob_path(str(layer.digest))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch) as info:
        list_layer_files(source, layer)
    assert str(layer.digest) in str(info.value)


def test_changes_after_the_end_of_the_tar_are_noticed(tmp_path: Path) -> None:
    """The listing is complete before the blob ends; the rest is read and verified anyway."""
    source, layer, builder = built_image(tmp_path / "layout", "none")
    path = builder.blob_path(str(layer.digest))
    data = bytearray(path.read_bytes())
    assert data[-1] == 0  # tar record padding
    data[-1] = 1
    path.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch):
        list_layer_files(source, layer)


def test_truncated_blob(tmp_path: Path) -> None:
    source, layer, builder = built_image(tmp_path / "layout", "gzip")
    path = builder.blob_path(str(layer.digest))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(SizeMismatch):
        list_layer_files(source, layer)


def test_missing_blob(tmp_path: Path) -> None:
    source, layer, builder = built_image(tmp_path / "layout", "gzip")
    builder.blob_path(str(layer.digest)).unlink()
    with pytest.raises(BlobNotFound):
        list_layer_files(source, layer)



def test_a_foreign_layer_missing_from_the_source_is_read_from_its_urls(
        tmp_path: Path) -> None:
    """A non-distributable layer the layout does not hold (as a Windows base layer) is read
    from where its urls point, as a copy fetches it, and verified; urls that do not
    serve it are named."""
    import dataclasses

    source, layer, builder = built_image(tmp_path / "layout", "gzip")
    path = builder.blob_path(str(layer.digest))
    body = path.read_bytes()
    path.unlink()
    with ServedFile("/base.tar.gz", body) as served:
        foreign = dataclasses.replace(layer, media_type=media.OCI_LAYER_NONDIST_GZIP,
                                      urls=(served.url,))
        assert list_layer_files(source, foreign).files == EXPECTED
        gone = dataclasses.replace(foreign, urls=(served.url.replace("base", "gone"),))
        with pytest.raises(BlobNotFound, match=r"its urls did not serve it.*HTTP 404"):
            list_layer_files(source, gone)


def test_a_foreign_layers_url_that_is_no_url_is_named_escaped(tmp_path: Path) -> None:
    """A url httpx cannot take (an escape sequence in it) was "an unexpected internal
    error" (httpx.InvalidURL); now it is one of the urls that did not serve the layer,
    shown escaped, and the next url is tried."""
    import dataclasses

    source, layer, builder = built_image(tmp_path / "layout", "gzip")
    path = builder.blob_path(str(layer.digest))
    body = path.read_bytes()
    path.unlink()
    with ServedFile("/base.tar.gz", body) as served:
        foreign = dataclasses.replace(layer, media_type=media.OCI_LAYER_NONDIST_GZIP,
                                      urls=("http://x\x1b[31m/y", served.url))
        assert list_layer_files(source, foreign).files == EXPECTED
        bad = dataclasses.replace(foreign, urls=("http://x\x1b[31m/y",
                                                 "http://x/" + "y" * 70_000))
        with pytest.raises(BlobNotFound) as missing:
            list_layer_files(source, bad)
    said = str(missing.value)
    assert '"http://x\\x1b[31m/y" is not a valid URL (invalid non-printable ASCII ' \
        "character in URL, '\\x1b' at position 8)" in said, said
    assert "(70,009 characters) is not a valid URL (URL too long)" in said, said
    assert "\x1b" not in said and len(said) < 600

@pytest.mark.parametrize(
    ("blob", "media_type"),
    [
        (b"this is no tar archive, just some text\n" * 20, media.OCI_LAYER),
        (gzip.compress(os.urandom(4096), mtime=0), media.OCI_LAYER_GZIP),
        (b"", media.OCI_LAYER),
    ],
)
def test_not_a_tar(tmp_path: Path, blob: bytes, media_type: str) -> None:
    source, layer, _ = image_with_blob(tmp_path / "layout", blob, media_type)
    with pytest.raises(TransportError) as info:
        list_layer_files(source, layer)
    message = str(info.value)
    assert message.startswith(f"The layer {layer.digest} is not a")
    assert "tar archive" in message
    assert "cannot be listed" in message


def test_declared_gzip_that_is_a_plain_tar_is_listed_as_one(tmp_path: Path) -> None:
    """A layout's layer is read as its bytes say (a tar's ``ustar`` mark), as
    containers/image detects it."""
    tar = tar_of((member("a", size=1), b"a"))
    source, layer, _ = image_with_blob(tmp_path / "layout", tar, media.OCI_LAYER_GZIP)
    assert [entry.path for entry in list_layer_files(source, layer).files] == ["a"]


def test_declared_gzip_that_is_neither_gzip_nor_a_tar(tmp_path: Path) -> None:
    source, layer, _ = image_with_blob(tmp_path / "layout", b"no layer at all" * 40,
                                       media.OCI_LAYER_GZIP)
    with pytest.raises(TransportError, match=f"The layer {layer.digest} could not be decompressed"):
        list_layer_files(source, layer)


def test_limit(tmp_path: Path) -> None:
    """Past the limit the rest of the layer is read, checked and counted, not listed (a
    layer of 200,000 entries was not listed at all, and offered a Try Again in vain)."""
    source, layer, _ = built_image(tmp_path / "layout", "gzip")
    whole = list_layer_files(source, layer, limit=len(EXPECTED))
    assert whole == LayerListing(EXPECTED, 0)
    first = list_layer_files(source, layer, limit=5)
    assert first.files == EXPECTED[:5]
    assert first.unlisted == len(EXPECTED) - 5
    assert first.entries == len(EXPECTED)


def test_a_layer_changed_past_the_limit_is_not_listed(tmp_path: Path) -> None:
    """Past the limit the layer is still read to its end and checked against its digest."""
    source, layer, builder = built_image(tmp_path / "layout", "none")
    path = builder.blob_path(str(layer.digest))
    data = bytearray(path.read_bytes())
    data[-1] = 1  # (the tar's record padding, past every entry)
    path.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch):
        list_layer_files(source, layer, limit=2)


def test_cancel_before_start(tmp_path: Path) -> None:
    source, layer, _ = built_image(tmp_path / "layout", "gzip")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        list_layer_files(source, layer, cancel=token)


def test_cancel_between_members(tmp_path: Path) -> None:
    """A token set while listing stops it at the next member."""
    tar = tar_of(*[(member(f"f{i}", size=1), b"x") for i in range(2000)])
    source, layer, _ = image_with_blob(tmp_path / "layout", tar, media.OCI_LAYER)
    token = CancelToken()

    class CancellingSource:
        description = source.description

        def get_manifest(
            self, digest: str | None = None, *, cancel: CancelToken | None = None
        ) -> tuple[bytes, str | None]:
            return source.get_manifest(digest, cancel=cancel)

        def open_blob(
            self, descriptor: Descriptor, *, cancel: CancelToken | None = None
        ) -> VerifyingReader:
            reader = source.open_blob(descriptor, cancel=cancel)
            original = reader.read

            def read(n: int = -1) -> bytes:
                data = original(n)
                token.cancel()  # set as soon as the first bytes are out
                return data

            reader.read = read  # type: ignore[method-assign]
            return reader

        def close(self) -> None:
            source.close()

    with pytest.raises(Cancelled):
        list_layer_files(CancellingSource(), layer, cancel=token)


def test_a_docker_archives_plain_tars_are_listed_under_their_gzip_name(
        tmp_path: Path) -> None:
    """docker save stores layers as plain tars; the manifest built for the archive names
    them tar.gzip, as containers/image does: the listing follows the bytes served."""
    from spyglass.core.copy import CopyOptions, copy_image
    from spyglass.core.transports import open_destination, open_source

    builder = LayoutBuilder(tmp_path / "layout")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/etc/hello": b"hi\n"})])),
                "v1")
    source = open_source(f"oci:{tmp_path / 'layout'}:v1")
    destination = open_destination(f"docker-archive:{tmp_path / 'a.tar'}:app:1")
    try:
        copy_image(source, destination, CopyOptions())
    finally:
        destination.close()
        source.close()
    archive = open_source(f"docker-archive:{tmp_path / 'a.tar'}")
    try:
        image = load_image(archive)
        [layer] = image.layers
        assert layer.media_type == media.DOCKER_LAYER_GZIP
        files = list_layer_files(archive, layer).files
    finally:
        archive.close()
    assert "etc/hello" in [f.path for f in files]


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_a_huge_file_name_header_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: int,
) -> None:
    """A pax record (or GNU long name) of a gigabyte fits in a megabyte of gzip, and
    tarfile read it whole, at four bytes of memory a byte: a header longer than the
    bound (scaled down here) is refused from its declared size, with a sentence."""
    import spyglass.core.tarheaders as tarheaders

    monkeypatch.setattr(tarheaders, "MAX_HEADER_RECORD", 4096)
    ok = tar_of((member("a" * 3000), b""), (member("b"), b""), fmt=fmt)
    source, layer, _ = image_with_blob(tmp_path / "ok", ok, media.OCI_LAYER)
    assert [f.path for f in list_layer_files(source, layer).files] == ["a" * 3000, "b"]

    blob = tar_of((member("b"), b""), (member("a" * 10_000), b""), fmt=fmt)
    source, layer, _ = image_with_blob(tmp_path / "huge", blob, media.OCI_LAYER)
    with pytest.raises(TooLarge, match=rf"The layer {layer.digest} has a file-name header "
                       r"\(a tar pax record or GNU long name\) of 10,0\d\d bytes, more than "
                       r"the 4,096 Spyglass reads; its files are not listed\."):
        list_layer_files(source, layer)
    first = tar_of((member("a" * 10_000), b""), fmt=fmt)  # when tarfile opens the stream
    source, layer, _ = image_with_blob(tmp_path / "first", first, media.OCI_LAYER)
    with pytest.raises(TooLarge, match="file-name header"):
        list_layer_files(source, layer)


def test_a_sparse_map_that_goes_on_or_a_malformed_sparse_record_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A GNU sparse file's map is read up to the bound (scaled down here), as an extended
    header is; a sparse record tarfile cannot parse went out as a ValueError (an internal
    error), and is a layer that is not a valid tar."""
    import spyglass.core.tarheaders as tarheaders

    monkeypatch.setattr(tarheaders, "MAX_HEADER_RECORD", 4096)
    source, layer, _ = image_with_blob(
        tmp_path / "long", after_a_member(old_gnu_sparse(9)), media.OCI_LAYER)
    with pytest.raises(TooLarge) as caught:
        list_layer_files(source, layer)
    assert str(caught.value) == (
        f"The layer {layer.digest} has a sparse file's map (where its data lies) longer than "
        "the 4,096 bytes Spyglass reads; its files are not listed.")
    source, layer, _ = image_with_blob(
        tmp_path / "junk", after_a_member(pax_member({"GNU.sparse.size": "abc"})),
        media.OCI_LAYER)
    with pytest.raises(TransportError, match=r"is not a valid tar archive after its first 1 "
                       r"entries \(a sparse file's record in it is malformed or cut short\)"):
        list_layer_files(source, layer)
