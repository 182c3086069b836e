"""The Layers table: an image's layers, base first, with the build step that made each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt

from spyglass.core import media
from spyglass.core.config import HistoryEntry
from spyglass.core.digest import Digest
from spyglass.core.image import LoadedImage
from spyglass.core.manifest import Descriptor, Schema1Manifest
from spyglass.gui.formatting import (
    SCHEMA1_SIZES,
    UNKNOWN_SIZE,
    exact_size,
    history_step,
    human_size,
    short_digest,
)
from spyglass.gui.models.table import Column, RowTableModel

NUMBER, DIGEST, TYPE, COMPRESSION, SIZE, SHARE, CREATED_BY = range(7)

SHARE_ROLE = Qt.ItemDataRole.UserRole + 10
"""The layer's share of the image's layer bytes, 0.0 to 1.0 (for the bar delegate)."""


@dataclass(frozen=True)
class LayerRow:
    """One layer as the table shows it."""

    number: int
    """1 for the base layer."""
    descriptor: Descriptor
    step: HistoryEntry | None
    share: float
    diff_id: Digest | None
    compression: str | None = None
    """How the bytes are compressed as the source serves them (not always as the media
    type says: a docker-archive's are plain tars under a gzip name)."""
    schema1: bool = False
    """Of a Docker schema 1 image: its size, share and media type are not recorded."""


def layer_rows(image: LoadedImage) -> list[LayerRow]:
    """The rows for ``image``: history aligned to layers, each layer's share of the total,
    and each layer's compression as its source serves it (learned when it was loaded:
    nothing is read here, on the window's thread)."""
    layers = image.layers
    schema1 = isinstance(image.manifest, Schema1Manifest)
    total = 0 if schema1 else sum(layer.size for layer in layers)
    steps: list[HistoryEntry | None] = (
        image.config.layer_history(len(layers)) if image.config else [None] * len(layers)
    )
    diff_ids = image.config.diff_ids if image.config else ()
    return [
        LayerRow(
            number=i + 1,
            descriptor=layer,
            step=steps[i],
            share=(layer.size / total) if total else 0.0,
            diff_id=diff_ids[i] if i < len(diff_ids) else None,
            compression=image.served[i] if i < len(image.served)
            else media.layer_compression(layer.media_type),
            schema1=schema1,
        )
        for i, layer in enumerate(layers)
    ]


def layer_kind(media_type: str) -> str:
    """What a layer is, without how it is compressed (the Compression column says that,
    as its source serves it): ``OCI layer`` for ``OCI layer (gzip)``; a type Spyglass
    has no name for is its media type."""
    friendly = media.friendly(media_type)
    compressed = media.layer_compression(media_type)
    suffix = f" ({compressed})"
    if compressed and friendly != media_type and friendly.endswith(suffix):
        return friendly[:-len(suffix)]
    return friendly


def stored_kind(media_type: str, compression: str | None) -> str:
    """What a layer is and how its bytes are stored (``compression``, as its source
    serves them; None: as its media type says), where one line names it (the Files
    dialog): its media type's name (``OCI layer (gzip)``) where that says how, else
    the kind and how it is stored (``Docker layer, stored uncompressed``: a
    docker-archive's plain tars under a gzip name, as the Compression column has it)."""
    if compression is None or compression == media.layer_compression(media_type):
        return media.friendly(media_type)
    stored = "uncompressed" if compression == "none" else compression
    return f"{layer_kind(media_type)}, stored {stored}"


def misnamed_compression(media_type: str, compression: str | None) -> str | None:
    """Why a layer stored ``compression`` is not as its media type says (the tooltip of
    the Compression column, and of the Files dialog's line that says it); None where
    it is as said (or nothing is known of its bytes)."""
    declared = media.layer_compression(media_type)
    if compression is None or compression == declared:
        return None
    return (f"Stored {compression}, though its media type says {declared or 'nothing'}: "
            "it is read as its bytes say (a docker-archive's manifest names every layer "
            "gzip, as containers/image builds it; some tools misname layers too).")


class LayersModel(RowTableModel[LayerRow]):
    """An image's layers: number, digest, type, compression, size, share, build step."""

    columns = (
        Column("#", "Layer number, from the base up", numeric=True),
        Column("Digest", "The digest of the layer blob as stored", monospace=True),
        Column("Type"),
        Column("Compression"),
        Column("Size", "Compressed size of the layer blob", numeric=True),
        Column("Share", "The layer's share of all layer bytes of the image"),
        Column("Created by", "The build step that made the layer"),
    )

    def set_image(self, image: LoadedImage | None) -> None:
        self.set_rows(layer_rows(image) if image is not None else [])

    def display(self, row: LayerRow, column: int) -> str:
        descriptor = row.descriptor
        if column == NUMBER:
            return str(row.number)
        if column == DIGEST:
            return short_digest(descriptor.digest)
        if column == TYPE:
            if row.schema1:
                return "Docker schema 1 layer"
            return layer_kind(descriptor.media_type) or "—"
        if column == COMPRESSION:
            return row.compression or "—"
        if column == SIZE:
            return UNKNOWN_SIZE if row.schema1 else human_size(descriptor.size)
        if column == SHARE:
            return UNKNOWN_SIZE if row.schema1 else f"{row.share * 100:.1f} %"
        if column == CREATED_BY:
            return history_step(row.step.created_by) if row.step else ""
        return ""

    def tooltip(self, row: LayerRow, column: int) -> str | None:
        descriptor = row.descriptor
        if column == DIGEST:
            lines = [str(descriptor.digest)]
            if row.diff_id is not None:
                lines.append(f"Uncompressed (diff ID): {row.diff_id}")
            lines.append("Double-click (or press Enter) to list the files of this layer.")
            return "\n".join(lines)
        if row.schema1 and column in (SIZE, SHARE):
            return SCHEMA1_SIZES
        if row.schema1 and column == TYPE:
            return "Docker schema 1 names no media type for its layers."
        if row.schema1 and column == COMPRESSION:
            return ("Docker schema 1 does not say how its layers are compressed; "
                    + ("this one's bytes say so." if row.compression
                       else "it is known only by reading the layer."))
        if column == TYPE:
            return descriptor.media_type
        if column == COMPRESSION:
            return misnamed_compression(descriptor.media_type, row.compression)
        if column == SIZE:
            return exact_size(descriptor.size)
        if column == CREATED_BY and row.step is not None:
            return row.step.created_by or None
        return None

    def sort_value(self, row: LayerRow, column: int) -> Any:
        if column in (SIZE, SHARE):
            return -1 if row.schema1 else row.descriptor.size
        if column == NUMBER:
            return row.number
        return self.display(row, column)

    def extra(self, row: LayerRow, column: int, role: int) -> Any:
        if role == SHARE_ROLE:
            return row.share
        return None
