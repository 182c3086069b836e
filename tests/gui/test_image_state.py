"""What the image view shows of a list, worked out once a state
(spyglass.gui.loading.ImageState)."""

from __future__ import annotations

from pathlib import Path

import pytest

import spyglass.gui.loading
from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor
from spyglass.core.transports import open_location
from spyglass.gui.loading import load_entry
from tests.helpers.platform_lists import platform_lists


def test_the_twins_of_a_list_are_worked_out_once_however_many_labels_read_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every label of a list's entries (the tree, the Platforms table, the overview) reads
    the list's twins: they were worked out again for each, cubic in the list's length
    (a list of 60 platforms froze the window for 400 ms, and every platform chosen)."""
    lists = platform_lists(tmp_path / "lists")
    location = open_location(lists.root)
    try:
        entry = next(e for e in location.list_images() if e.label == "dup")
        state = load_entry(location, entry, "lists", CancelToken())
    finally:
        location.close()
    state.source.close()
    worked_out = spyglass.gui.loading.platform_twins
    calls = 0

    def counted(listed: list[Descriptor], images: list[Descriptor]) -> dict[Digest, Descriptor]:
        nonlocal calls
        calls += 1
        return worked_out(listed, images)

    monkeypatch.setattr(spyglass.gui.loading, "platform_twins", counted)
    labels = [state.label(s.descriptor) for s in state.instances for _again in range(3)]
    twin = lists.images["dupB"]["digest"]
    assert [str(d) for d in state.twins] == [twin]
    # both images of linux/amd64 are named with their digests, three times each
    assert len(labels) == 9 and sum("sha256:" in label for label in labels) == 6
    assert calls == 1
