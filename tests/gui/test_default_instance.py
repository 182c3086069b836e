"""The image of a list the window shows first (spyglass.gui.loading.default_instance)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from spyglass.core.cancel import CancelToken
from spyglass.core.image import load_image, load_manifest, summarize_index
from spyglass.core.manifest import ImageIndex
from spyglass.core.platform import Platform
from spyglass.core.transports import open_location, open_source
from spyglass.core.transports.registry import RegistryClient
from spyglass.gui.loading import ImageState, default_instance, load_entry, load_registry_tag
from tests.helpers.platform_lists import platform_lists
from tests.helpers.registry import RegistryServer, push_image


@pytest.mark.parametrize("tag", ["arm64both", "arm64both_rev"])
def test_this_machines_platform_is_the_entry_written_as_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tag: str) -> None:
    """On an arm64 machine (linux/arm64/v8), of a list with arm64 with and without its
    variant, the entry written linux/arm64/v8 is shown, wherever it stands."""
    lists = platform_lists(tmp_path / "lists")
    monkeypatch.setattr("spyglass.gui.loading.host_platform",
                        lambda: Platform("linux", "arm64", "v8"))
    source = open_source(f"oci:{lists.root}:{tag}")
    try:
        top = load_manifest(source)
        assert isinstance(top, ImageIndex)
        summaries, _total = summarize_index(source, top)
    finally:
        source.close()
    chosen = default_instance(top, tuple(summaries))
    assert chosen is not None
    assert str(chosen.descriptor.digest) == lists.images["arm64v8"]["digest"]


def _shown_and_cli_choice(reference: str, load: Callable[[], ImageState]) -> tuple[str, str]:
    """The image the window shows first of ``reference`` (as ``load`` opens it) and the
    one ``spyglass inspect`` describes."""
    state = load()
    try:
        assert state.image is not None, state.problem
        shown = str(state.image.manifest.digest)
    finally:
        state.source.close()
    source = open_source(reference)
    try:
        described = str(load_image(source).manifest.digest)
    finally:
        source.close()
    return shown, described


def test_an_image_without_a_platform_is_shown_as_the_command_line_takes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On an amd64 machine, of an OCI index of an arm64 image and an image without a
    platform, the window showed the arm64 one, while ``inspect``, ``copy`` and skopeo
    take the one without a platform."""
    lists = platform_lists(tmp_path / "lists")
    monkeypatch.setattr("spyglass.gui.loading.host_platform", lambda: Platform("linux", "amd64"))
    monkeypatch.setattr("spyglass.core.image.host_platform", lambda: Platform("linux", "amd64"))
    reference = f"oci:{lists.root}:noplat_mixed"
    location = open_location(lists.root)
    try:
        entry = next(e for e in location.list_images() if e.label == "noplat_mixed")
        shown, described = _shown_and_cli_choice(
            reference, lambda: load_entry(location, entry, "lists", CancelToken()))
    finally:
        location.close()
    assert shown == described == lists.images["noplat"]["digest"]


def test_a_registry_list_with_an_image_without_a_platform_is_shown_as_the_cli_takes_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, registry_binary: str) -> None:
    """The same list pushed to a registry: shown as ``inspect docker://…`` describes it."""
    lists = platform_lists(tmp_path / "lists")
    monkeypatch.setattr("spyglass.gui.loading.host_platform", lambda: Platform("linux", "amd64"))
    monkeypatch.setattr("spyglass.core.image.host_platform", lambda: Platform("linux", "amd64"))
    with RegistryServer(binary=registry_binary) as server:
        push_image(server, lists.root, "noplat_mixed", "team/noplat:x")
        client = RegistryClient(server.host, insecure=True, retry_times=0)
        shown, described = _shown_and_cli_choice(
            f"docker://{server.host}/team/noplat:x",
            lambda: load_registry_tag(client, "team/noplat", "x", CancelToken()))
    assert shown == described == lists.images["noplat"]["digest"]
