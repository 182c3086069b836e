"""A broken blob location cache, renamed aside and started anew, is said once in the
window: among the notes of the copy that met it (the transfer's Details)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spyglass.core import media
from spyglass.core.blobcache import BlobLocationCache, set_default_cache
from spyglass.core.copy_events import Finished
from spyglass.core.digest import Digest
from spyglass.gui.copy_progress import Tally


@pytest.fixture
def broken_cache(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "blob-locations.sqlite"
    path.write_bytes(b"not SQLite at all " * 500)
    old = set_default_cache(BlobLocationCache(path))
    try:
        yield path
    finally:
        cache = set_default_cache(old)
        if cache is not None:
            cache.close()


def test_the_copy_that_met_a_broken_cache_notes_it_once(broken_cache: Path) -> None:
    from spyglass.core.blobcache import default_cache

    assert default_cache().candidates("registry.test", Digest.of(b"x")) == []  # (met)
    first, second = Tally(), Tally()
    first.feed(Finished(Digest.of(b"image"), media.OCI_MANIFEST))
    second.feed(Finished(Digest.of(b"image"), media.OCI_MANIFEST))
    bad = broken_cache.with_name("blob-locations.sqlite.bad")
    assert first.snapshot().notes == (
        f'The blob location cache "{broken_cache}" could not be read (file is not a '
        f'database); it was renamed to "{bad}" and a new one started. Where blobs were seen '
        "before is forgotten, so a copy may upload a blob it could have mounted from "
        "another repository until it is seen again.",)
    assert second.snapshot().notes == ()
