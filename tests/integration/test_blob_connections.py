"""A copy from a real registry opens a connection per parallel transfer, not one per blob:
blobs of a MiB and more are read straight from the socket (over TLS too), and their
connection goes back to the pool as each ends (over TLS: no handshake per blob)."""

from __future__ import annotations

import hashlib
import json
import os
import ssl
from pathlib import Path

import pytest

from spyglass.core.transports.registry.connections import ResponseStream
from spyglass.core.transports.registry.keepalive import DirectBody
from tests.helpers.connections import connections_opened
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
from tests.helpers.registry import RegistryServer, push_image

pytestmark = pytest.mark.integration

BLOBS = 10
PARALLEL = 2
SPARE = 3
"""Connections a copy may open besides one per parallel transfer: the TLS probe of a
plain-HTTP registry, the ping's, the manifest's."""


def handshakes_with(port: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per TLS handshake made with ``127.0.0.1:port`` from here on."""
    made: list[int] = []
    handshake = ssl.SSLSocket.do_handshake

    def counted(sock: ssl.SSLSocket, *args: object, **kwargs: object) -> None:
        try:
            if sock.getpeername()[1] == port:
                made.append(port)
        except OSError:
            pass
        handshake(sock, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLSocket, "do_handshake", counted)
    return made


def direct_ends(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each :meth:`DirectBody.ended` answers from here on: one per body read from
    its socket to its end."""
    answers: list[bool] = []
    real = DirectBody.ended

    def recorded(self: DirectBody) -> bool:
        answers.append(real(self))
        return answers[-1]

    monkeypatch.setattr(DirectBody, "ended", recorded)
    return answers


def layer_digests(layout: Path) -> list[str]:
    index = json.loads((layout / "index.json").read_bytes())
    digest = index["manifests"][0]["digest"]
    manifest = json.loads((layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes())
    return [layer["digest"] for layer in manifest["layers"]]


@pytest.mark.parametrize("server_name", ["registry", "tls_registry"])
def test_a_copy_of_many_big_blobs_reuses_its_connections(
    server_name: str, request: pytest.FixtureRequest, repo_name: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from spyglass.cli import main

    server: RegistryServer = request.getfixturevalue(server_name)
    builder = LayoutBuilder(tmp_path / "src")
    size = ResponseStream.DIRECT_MIN + 64 * 1024
    layers = [LayerSpec({f"/blob-{n}": os.urandom(size)}) for n in range(BLOBS)]
    builder.tag(builder.add_image(ImageSpec(layers=layers)), "app")
    push_image(server, tmp_path / "src", "app", f"{repo_name}:1")
    opened = connections_opened(monkeypatch)
    assert server.port is not None
    handshakes = handshakes_with(server.port, monkeypatch)
    ended = direct_ends(monkeypatch)

    trust = (["--src-cert-dir", str(server.cert_dir)] if server.tls
             else ["--src-tls-verify=false"])
    assert main(["copy", "-q", "--parallel", str(PARALLEL), *trust,
                 f"docker://{server.host}/{repo_name}:1", f"oci:{tmp_path / 'dest'}:app"]) == 0

    assert ended == [True] * BLOBS  # each read from its socket, its connection kept
    to_registry = [host for host in opened if host == server.host]
    assert len(to_registry) <= PARALLEL + SPARE, to_registry
    if server.tls:
        assert len(handshakes) <= PARALLEL + SPARE, handshakes
    copied = layer_digests(tmp_path / "dest")
    assert copied == layer_digests(tmp_path / "src") and len(set(copied)) == BLOBS
    for digest in copied:  # every blob whole, as the registry has it
        data = (tmp_path / "dest" / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()
        assert len(data) > ResponseStream.DIRECT_MIN
        assert f"sha256:{hashlib.sha256(data).hexdigest()}" == digest
