"""The image of a list the window shows first (spyglass.gui.loading.default_instance)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spyglass.core.image import load_manifest, summarize_index
from spyglass.core.manifest import ImageIndex
from spyglass.core.platform import Platform
from spyglass.core.transports import open_source
from spyglass.gui.loading import default_instance
from tests.helpers.platform_lists import platform_lists


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
    chosen = default_instance(tuple(summaries))
    assert chosen is not None
    assert str(chosen.descriptor.digest) == lists.images["arm64v8"]["digest"]
