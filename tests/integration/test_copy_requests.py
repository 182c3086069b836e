"""What a copy asks of a destination registry, request by request (recorded in this
process, against the real registry): the top manifest is stored once."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, multi_platform_layout
from tests.helpers.registry import RegistryServer

pytestmark = pytest.mark.integration


def manifest_puts(monkeypatch: pytest.MonkeyPatch, registry: RegistryServer,
                  *args: str) -> list[str]:
    """Run ``spyglass copy ARGS`` here; the manifest PUTs it sent, by what they named."""
    from spyglass.cli import main

    puts: list[str] = []
    send = httpx.Client.send

    def recorded(client: httpx.Client, request: httpx.Request, **kwargs: object) -> httpx.Response:
        if request.method == "PUT" and "/manifests/" in request.url.path:
            puts.append(request.url.path.rsplit("/manifests/", 1)[1])
        return send(client, request, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx.Client, "send", recorded)
    assert main(["copy", "-q", "--all", "--dest-tls-verify=false", *args]) == 0
    return puts


def test_the_top_manifest_is_stored_once_by_its_tag(
        monkeypatch: pytest.MonkeyPatch, registry: RegistryServer, tmp_path: Path) -> None:
    """A PUT by tag stores the manifest by digest too: the top (an image alone, or the
    list after its images) is put by its tag alone, where it was put by digest first."""
    builder = LayoutBuilder(tmp_path / "single")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"one\n"})]))
    builder.tag(image, "app")
    puts = manifest_puts(monkeypatch, registry, f"oci:{tmp_path / 'single'}:app",
                         f"docker://{registry.host}/once/single:1")
    assert puts == ["1"]

    digests = multi_platform_layout(tmp_path / "multi")
    puts = manifest_puts(monkeypatch, registry, f"oci:{tmp_path / 'multi'}:latest",
                         f"docker://{registry.host}/once/multi:1")
    assert len(puts) == 4 and puts[-1] == "1" and all(  # 3 images, then the list
        put.startswith("sha256:") for put in puts[:-1])
    assert str(digests["digest"]) not in puts

    # named by digest: stored by digest, once
    puts = manifest_puts(monkeypatch, registry, f"oci:{tmp_path / 'multi'}:latest",
                         f"docker://{registry.host}/once/bydigest@{digests['digest']}")
    assert puts[-1] == str(digests["digest"]) and puts.count(str(digests["digest"])) == 1
