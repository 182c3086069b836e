"""Media types' names for people (``core.media``)."""

from __future__ import annotations

import pytest

from spyglass.core import media


@pytest.mark.parametrize(("media_type", "said"), [
    (media.OCI_LAYER_GZIP, "OCI layer (gzip)"),
    (media.OCI_LAYER, "OCI layer"),
    (media.DOCKER_LAYER_GZIP, "Docker layer (gzip)"),
    # a layer kept outside the image, where its urls point, says so
    (media.OCI_LAYER_NONDIST_ZSTD, "OCI non-distributable layer (zstd)"),
    (media.OCI_LAYER_NONDIST_GZIP, "OCI non-distributable layer (gzip)"),
    (media.OCI_LAYER_NONDIST, "OCI non-distributable layer"),
    (media.DOCKER_FOREIGN_LAYER, "Docker foreign layer (gzip)"),
    (media.DOCKER_FOREIGN_LAYER_PLAIN, "Docker foreign layer"),
    (media.OCI_MANIFEST, "OCI image manifest"),
    # a vendor's blob is no OCI layer for ending in +gzip: said as it is
    ("application/vnd.cncf.helm.chart.content.v1.tar+gzip",
     "application/vnd.cncf.helm.chart.content.v1.tar+gzip"),
    ("application/wasm", "application/wasm"),
])
def test_friendly_names(media_type: str, said: str) -> None:
    assert media.friendly(media_type) == said
