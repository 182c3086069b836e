"""A FIFO where a layout or dir: image folder has a small file: refused with a sentence,
never waited on (open() of a FIFO waits for a writer for ever)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from spyglass.core.copy import CopyOptions, copy_image
from spyglass.core.errors import InvalidLayout
from spyglass.core.image import load_image
from spyglass.core.transports import open_destination, open_source
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder


def _fails_at_once(fifo: Path, call: Callable[[], object]) -> BaseException:
    """What ``call`` raises, within seconds; a call stuck on ``fifo`` is let go and fails."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # lets the stuck open() go
        thread.join(10)
        pytest.fail(f"waited on the FIFO {fifo}")
    assert raised, "nothing refused"
    return raised[0]


@pytest.fixture
def image(tmp_path: Path) -> Path:
    builder = LayoutBuilder(tmp_path / "source")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})])), "latest")
    return tmp_path / "source"


def test_a_fifo_index_json_in_a_destination_layout(image: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    os.mkfifo(target / "index.json")
    failed = _fails_at_once(target / "index.json", lambda: copy_image(
        open_source(f"oci:{image}:latest"), open_destination(f"oci:{target}:new"),
        CopyOptions()))
    assert isinstance(failed, InvalidLayout)
    assert "has an index.json that is not a regular file" in str(failed)


def test_a_fifo_index_json_in_a_source_layout(image: Path) -> None:
    (image / "index.json").unlink()
    os.mkfifo(image / "index.json")
    failed = _fails_at_once(image / "index.json",
                            lambda: load_image(open_source(f"oci:{image}:latest")))
    assert isinstance(failed, InvalidLayout)
    assert "its index.json is not a regular file" in str(failed)


def test_a_fifo_version_in_a_dir_image(image: Path, tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    copy_image(open_source(f"oci:{image}:latest"), open_destination(f"dir:{folder}"),
               CopyOptions())
    (folder / "version").unlink()
    os.mkfifo(folder / "version")
    failed = _fails_at_once(folder / "version",
                            lambda: load_image(open_source(f"dir:{folder}")))
    assert isinstance(failed, InvalidLayout)
    assert "its version is not a regular file" in str(failed)
    failed = _fails_at_once(folder / "version", lambda: copy_image(
        open_source(f"oci:{image}:latest"), open_destination(f"dir:{folder}"),
        CopyOptions()))
    assert "version" in str(failed)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder", "dangling"])
def test_a_blob_that_is_not_a_regular_file_is_said_so(image: Path, tmp_path: Path,
                                                      kind: str) -> None:
    """It was "missing from … (expected at …)", though something is there."""
    from spyglass.core.errors import BlobNotFound

    layer = load_image(open_source(f"oci:{image}:latest")).layers[0]
    blob = image / "blobs" / "sha256" / layer.digest.hex
    blob.unlink()
    if kind == "fifo":
        os.mkfifo(blob)
    elif kind == "device":
        os.symlink("/dev/zero", blob)
    elif kind == "folder":
        blob.mkdir()
    else:
        os.symlink(tmp_path / "nothing", blob)
    with pytest.raises(BlobNotFound, match=f"The blob {layer.digest} in .* is not a regular "
                       "file"):
        open_source(f"oci:{image}:latest").open_blob(layer)
