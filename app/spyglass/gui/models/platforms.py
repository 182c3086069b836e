"""The Platforms table: the entries of a manifest list, one per row."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QFont

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.core.image import InstanceSummary
from spyglass.core.manifest import Descriptor, ImageIndex
from spyglass.core.platform_choice import WITHOUT_PLATFORM, is_unplaced
from spyglass.gui import icons
from spyglass.gui.colors import error_color, muted_color
from spyglass.gui.formatting import (
    exact_size,
    human_size,
    instance_label,
    is_attestation,
    short_digest,
)
from spyglass.gui.models.table import Column, RowTableModel
from spyglass.gui.signals import emit

OS, ARCH, VARIANT, OS_VERSION, SIZE, DIGEST = range(6)

NO_PLATFORM = "no platform"
"""What the OS column says of an image without a platform (its Architecture is empty)."""


class PlatformsModel(RowTableModel[InstanceSummary]):
    """The entries of a manifest list with their platform, digest and image size.

    The row of the instance the other tabs show (:meth:`set_current`) is
    marked with an icon and a bold font.
    """

    columns = (
        Column("OS"),
        Column("Architecture"),
        Column("Variant"),
        Column("OS version"),
        Column("Size", "Manifest, config and layers of this platform's image", numeric=True),
        Column("Digest", "The digest of the image manifest of this platform", monospace=True),
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current: Digest | None = None
        self.twins: dict[Digest, Descriptor] = {}
        """The images of the list that their platform does not choose, each with the one
        it chooses (:attr:`~spyglass.gui.loading.ImageState.twins`): set with the rows."""

    def label(self, descriptor: Descriptor) -> str:
        """What the entry ``descriptor`` is called (:func:`instance_label`), with its
        digest where the list has another image for its platform."""
        twinned = descriptor.digest in self.twins or descriptor in self.twins.values()
        return instance_label(descriptor, twinned=twinned)

    @property
    def current(self) -> Digest | None:
        return self._current

    def set_current(self, digest: Digest | None) -> None:
        """Mark the row of ``digest`` as the instance shown."""
        if digest == self._current:
            return
        old, self._current = self._current, digest
        for target in (old, digest):
            row = self.row_of(target)
            if row is not None:
                emit(self.dataChanged, self.index(row, 0), self.index(row, len(self.columns) - 1))

    def row_of(self, digest: Digest | None) -> int | None:
        if digest is None:
            return None
        for i, summary in enumerate(self._rows):
            if summary.descriptor.digest == digest:
                return i
        return None

    # -- RowTableModel

    def display(self, row: InstanceSummary, column: int) -> str:
        descriptor = row.descriptor
        platform = descriptor.platform
        # an artifact (a chart, a module) runs on no platform: its type stands there
        artifact = (platform is None and descriptor.artifact_type
                    and not is_attestation(descriptor))
        if column == OS:
            if is_attestation(descriptor):
                return "attestation"
            if artifact:
                return "artifact"
            if is_unplaced(descriptor):
                return NO_PLATFORM
            if platform is None or not platform.os:
                return "list" if media.is_index(descriptor.media_type) else "—"
            return platform.os
        if column == ARCH:
            if artifact:
                return descriptor.artifact_type or ""
            if is_unplaced(descriptor):
                return ""  # (its OS says it names none)
            return platform.architecture if platform and platform.architecture else "—"
        if column == VARIANT:
            return platform.variant if platform and platform.variant else ""
        if column == OS_VERSION:
            return platform.os_version if platform and platform.os_version else ""
        if column == DIGEST:
            return str(descriptor.digest)
        if column == SIZE:
            if row.problem:
                return "cannot be read"
            return human_size(row.image_size) if row.image_size else "—"
        return ""

    def tooltip(self, row: InstanceSummary, column: int) -> str | None:
        descriptor = row.descriptor
        if row.problem:
            return row.problem
        if column == DIGEST:
            return f"{descriptor.digest}\n{media.friendly(descriptor.media_type)}"
        if column == SIZE and row.image_size:
            return exact_size(row.image_size)
        if is_attestation(descriptor):
            subject = descriptor.annotations.get("vnd.docker.reference.digest", "")
            return "Build attestations (provenance, SBOM)" + (f" for {subject}" if subject else "")
        if isinstance(row.manifest, ImageIndex):
            return "A nested manifest list"
        if is_unplaced(descriptor):
            return (f"An image {WITHOUT_PLATFORM}: its entry in the list names none. Drag "
                    "the row to copy it alone, by its digest.")
        chosen = self.twins.get(descriptor.digest)
        if chosen is not None:
            return (f"The list has another image for {descriptor.platform}, "
                    f"{short_digest(chosen.digest)}, which that platform chooses (as skopeo "
                    "does). Drag the row to copy this one alone, by its digest.")
        if descriptor in self.twins.values():
            return (f"The list has another image for {descriptor.platform}: this one is "
                    "the one that platform chooses (as skopeo does).")
        if descriptor.platform is not None and column == OS and descriptor.platform.os_features:
            return "OS features: " + ", ".join(descriptor.platform.os_features)
        return None

    def decoration(self, row: InstanceSummary, column: int) -> Any:
        if column == OS and self._current is not None and row.descriptor.digest == self._current:
            return icons.current_icon()
        return None

    def accessible_text(self, row: InstanceSummary, column: int) -> str | None:
        if column == OS and self._current is not None and row.descriptor.digest == self._current:
            return f"{self.display(row, column)}, shown"  # (the icon and bold type say so)
        return None

    def font(self, row: InstanceSummary, column: int) -> QFont | None:
        font = super().font(row, column)
        if self._current is not None and row.descriptor.digest == self._current:
            font = QFont(font) if font is not None else QFont()
            font.setBold(True)
        return font

    def foreground(self, row: InstanceSummary, column: int) -> Any:
        if row.problem and column == SIZE:
            return error_color()
        if is_attestation(row.descriptor):
            return muted_color()
        return None

    def column_is_empty(self, column: int) -> bool:
        """True when no row has anything to show in ``column``."""
        return all(not self.display(row, column) for row in self._rows)

    def sort_value(self, row: InstanceSummary, column: int) -> Any:
        return row.image_size if column == SIZE else self.display(row, column)
