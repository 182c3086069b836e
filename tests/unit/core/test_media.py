"""Media types' names for people (``core.media``)."""

from __future__ import annotations

import pytest

from spyglass.core import media


@pytest.mark.parametrize(("media_type", "said"), [
    (media.OCI_LAYER_GZIP, "OCI layer (gzip)"),
    (media.OCI_LAYER, "OCI layer"),
    (media.OCI_LAYER_NONDIST_ZSTD, "OCI layer (zstd)"),
    (media.DOCKER_LAYER_GZIP, "Docker layer (gzip)"),
    (media.DOCKER_FOREIGN_LAYER, "Docker layer (gzip)"),
    (media.OCI_MANIFEST, "OCI image manifest"),
    # a vendor's blob is no OCI layer for ending in +gzip: said as it is
    ("application/vnd.cncf.helm.chart.content.v1.tar+gzip",
     "application/vnd.cncf.helm.chart.content.v1.tar+gzip"),
    ("application/wasm", "application/wasm"),
])
def test_friendly_names(media_type: str, said: str) -> None:
    assert media.friendly(media_type) == said
