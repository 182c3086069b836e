"""A blob download that breaks off resumes with a ``Range`` request, against the real
registry: distribution 2.8 answers it 206 with the matching ``Content-Range``, so the
copy goes on from where the connection broke instead of starting the blob again.

A small TCP relay on loopback stands between Spyglass and the registry; it passes
everything through, except that it breaks the connection of the first whole-blob
``GET`` of the big layer after a couple of MiB of its answer. (How a server that
ignores ``Range`` or answers it wrongly is met is tested against scripted answers in
``tests/unit/core/transports/registry/test_resume.py``.)
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from spyglass.core.copy import BlobDone, BlobRetried, CopyEvent, CopyOptions, Finished, copy_image
from spyglass.core.digest import Digest
from spyglass.core.transports import open_destination, open_source
from spyglass.core.transports.registry import RegistryOptions
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
from tests.helpers.registry import RegistryServer, push_image

pytestmark = pytest.mark.integration

CUT_AFTER = 2 * 1024 * 1024 + 12345
"""Bytes of the blob's answer (headers included) the relay passes before it breaks it."""


class CuttingRelay:
    """Relays loopback TCP connections to ``target``; breaks the answer to the first
    ``GET`` of ``blob_path`` that asks for the whole blob, after :data:`CUT_AFTER` bytes.

    It records every request line with its ``Range`` header, and the status line of
    each answer to a ranged request.
    """

    def __init__(self, target: tuple[str, int], blob_path: str) -> None:
        self.target = target
        self.blob_path = blob_path
        self.requests: list[tuple[str, str | None]] = []
        self.ranged_answers: list[str] = []
        self.cuts = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            watch = _Watch()
            threading.Thread(target=self._upstream, args=(client, server, watch),
                             daemon=True).start()
            threading.Thread(target=self._downstream, args=(server, client, watch),
                             daemon=True).start()

    def _upstream(self, client: socket.socket, server: socket.socket, watch: _Watch) -> None:
        """Client → registry, noting each request as it passes."""
        while data := _recv(client):
            for line, wanted in _requests_in(data):
                with self._lock:
                    self.requests.append((line, wanted))
                    is_blob = line.startswith(f"GET {self.blob_path} ")
                    if is_blob and wanted is None and self.cuts == 0:
                        self.cuts += 1
                        watch.cut_in = CUT_AFTER
                    elif is_blob and wanted is not None:
                        watch.note_status = True
            try:
                server.sendall(data)
            except OSError:
                break
        _close(server)

    def _downstream(self, server: socket.socket, client: socket.socket, watch: _Watch) -> None:
        """Registry → client, breaking the marked answer part way."""
        while data := _recv(server):
            if watch.note_status:
                watch.note_status = False
                with self._lock:
                    self.ranged_answers.append(data.split(b"\r\n", 1)[0].decode())
            if watch.cut_in is not None:
                if len(data) >= watch.cut_in:
                    client.sendall(data[: watch.cut_in])
                    _reset(client)  # the connection breaks off: no clean end of the body
                    _close(server)
                    return
                watch.cut_in -= len(data)
            try:
                client.sendall(data)
            except OSError:
                break
        _close(client)


class _Watch:
    """What the two directions of one relayed connection tell each other."""

    def __init__(self) -> None:
        self.cut_in: int | None = None
        self.note_status = False


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(256 * 1024)
    except OSError:
        return b""


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


def _reset(sock: socket.socket) -> None:
    """Break the connection off, as one that fails does. (The shutdown also wakes the
    other direction's thread, blocked reading the same socket: a close alone would
    wait for it, and the client would see nothing until its read timed out.)"""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _requests_in(data: bytes) -> Iterator[tuple[str, str | None]]:
    """The request lines in ``data`` (a request's head arrives whole in one piece here:
    the requests of a copy that reads are bodiless), each with its ``Range`` header."""
    for head in data.split(b"\r\n\r\n"):
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith(("GET ", "HEAD ")):
            continue
        wanted = next((line.split(":", 1)[1].strip() for line in lines[1:]
                       if line.lower().startswith("range:")), None)
        yield lines[0], wanted


@pytest.fixture
def big_image(registry: RegistryServer, tmp_path: Path) -> tuple[str, Digest, int]:
    """An image with one gzipped layer of 8 MiB of random bytes in the registry (skopeo
    pushes it as it is): its name, the layer's digest and size."""
    builder = LayoutBuilder(tmp_path / "big")
    data = os.urandom(8 * 1024 * 1024)
    builder.tag(builder.add_image(
        ImageSpec(layers=[LayerSpec({"/big": data}, compression="gzip")])), "latest")
    push_image(registry, tmp_path / "big", "latest", "resume/big:1")
    index = json.loads((tmp_path / "big" / "index.json").read_bytes())
    manifest_digest = Digest.parse(index["manifests"][0]["digest"])
    manifest = json.loads(
        (tmp_path / "big" / "blobs" / "sha256" / manifest_digest.hex).read_bytes())
    layer = manifest["layers"][0]
    return "resume/big", Digest.parse(layer["digest"]), int(layer["size"])


def test_a_broken_blob_download_resumes_with_a_range_request(
    registry: RegistryServer, big_image: tuple[str, Digest, int], tmp_path: Path
) -> None:
    repository, layer, size = big_image
    host, port = registry.host.rsplit(":", 1)
    relay = CuttingRelay((host, int(port)), f"/v2/{repository}/blobs/{layer}")
    events: list[CopyEvent] = []
    destination = tmp_path / "layout"
    try:
        source = open_source(f"docker://{relay.host}/{repository}:1",
                             RegistryOptions(retry_times=3))
        target = open_destination(f"oci:{destination}:copied")
        try:
            copy_image(source, target, CopyOptions(parallel=1, retry_times=3),
                       events=events.append)
        finally:
            target.close()
            source.close()
    finally:
        relay.close()

    assert relay.cuts == 1, relay.requests
    gets = [(line, wanted) for line, wanted in relay.requests
            if line.startswith(f"GET /v2/{repository}/blobs/{layer} ")]
    assert len(gets) == 2, relay.requests
    assert gets[0][1] is None
    wanted = gets[1][1]
    assert wanted is not None and wanted.startswith("bytes=") and wanted.endswith("-"), wanted
    start = int(wanted.removeprefix("bytes=").removesuffix("-"))
    assert 0 < start <= CUT_AFTER  # from where it broke off: what had arrived, no more
    assert relay.ranged_answers == ["HTTP/1.1 206 Partial Content"]
    # resumed within the one transfer: not started again from its first byte
    assert not [e for e in events if isinstance(e, BlobRetried)]
    done = [e for e in events if isinstance(e, BlobDone) and e.digest == layer]
    assert len(done) == 1
    assert isinstance(events[-1], Finished)
    written = destination / "blobs" / "sha256" / layer.hex
    assert written.stat().st_size == size
    assert Digest.of(written.read_bytes()) == layer
