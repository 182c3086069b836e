"""The Copy dialog's options: format, compression and the rest, those the destination can
take offered, and the :class:`~spyglass.core.copy.CopyOptions` they make.

:class:`CopyOptionsMixin` is one part of :class:`~spyglass.gui.dialogs.copy.CopyDialog`; the
attributes it reads are made by the dialog's ``__init__``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QComboBox, QDialog, QLineEdit, QSpinBox

from spyglass.core.copy import Compression, CopyOptions, Format
from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor
from spyglass.core.platform import Platform
from spyglass.core.reference import DockerArchiveName, ImageName, OCIArchiveName, OCIName
from spyglass.gui.copy_jobs import CopyRequest

FORMATS: Final[tuple[tuple[str, Format | None], ...]] = (
    ("Keep the source's", None), ("OCI", "oci"), ("Docker schema 2", "v2s2"))
COMPRESSIONS: Final[tuple[tuple[str, Compression | None, str], ...]] = (
    ("Automatic", None,
     "Compressed layers stay as they are. Uncompressed ones are compressed with gzip for a "
     "registry, an OCI layout or an OCI archive, as skopeo does, unless digests are "
     "preserved, the destination is named by digest, or something attached to the image "
     "would no longer match; a dir: layout keeps them as they are."),
    ("gzip", "gzip",
     "Every layer compressed with gzip, what every registry and runtime takes; layers "
     "compressed otherwise are recompressed, so the image's digest changes."),
    ("zstd", "zstd",
     "Every layer compressed with zstd: smaller and quicker to unpack, but older runtimes "
     "cannot pull it and a Docker schema 2 image cannot hold it; the image's digest "
     "changes."),
    ("None", "none",
     "Every layer uncompressed: the largest, quickest to unpack; the image's digest "
     "changes."),
)
"""The Compression choices: text, option, what it does. A docker save archive holds
uncompressed layers only: gzip and zstd are not offered for one."""


_OWN_TOOLTIP: Final = Qt.ItemDataRole.UserRole + 1


class CopyOptionsMixin(QDialog):
    """The Copy dialog's options (see the module docstring)."""

    platform_boxes: list[tuple[Platform, QAbstractButton]]
    digest_boxes: list[tuple[Descriptor, QAbstractButton]]
    destination_edit: QLineEdit
    format_combo: QComboBox
    compression_combo: QComboBox
    preserve_box: QCheckBox
    signatures_box: QCheckBox
    parallel_spin: QSpinBox
    _source: str
    _wanted_platform: str
    _wanted_instance: Digest | None
    _expected: Digest | None
    _is_list: bool

    if TYPE_CHECKING:  # made by the dialog's other parts
        def copy_label(self) -> str: ...
        def destination_name(self) -> str: ...

    def _explain_compression(self) -> None:
        """The combo's tooltip says what the chosen compression does (each item of its
        list says what it would)."""
        combo = self.compression_combo
        explained = combo.itemData(combo.currentIndex(), Qt.ItemDataRole.ToolTipRole)
        combo.setToolTip(f"{combo.currentText()}: {explained}\nA docker save archive holds "
                         "uncompressed layers only (gzip and zstd are not offered for one).")

    def _wanted(self) -> Platform | None:
        """The platform the image was dragged as (a row of a list's platforms), if any."""
        try:
            return Platform.parse(self._wanted_platform) if self._wanted_platform else None
        except Exception:
            return None

    def options(self) -> CopyOptions:
        """The options as the dialog shows them (with no platforms listed, the dragged
        platform, or image that no platform chooses, is still the one copied)."""
        chosen = tuple(p for p, box in self.platform_boxes if box.isChecked())
        picked = tuple(entry.digest for entry, box in self.digest_boxes if box.isChecked())
        boxes = len(self.platform_boxes) + len(self.digest_boxes)
        is_list, wanted = self._is_list, self._wanted()
        if not boxes and wanted is not None and not is_list:
            chosen, is_list = (wanted,), True
        elif not boxes and self._wanted_instance is not None and not is_list:
            picked, is_list = (self._wanted_instance,), True
        # a list with no platform to choose from is copied whole
        everything = len(chosen) + len(picked) == boxes and (bool(boxes) or is_list)
        return CopyOptions(
            platforms=() if everything else chosen,
            instances=() if everything else picked,
            multi_arch="all" if everything or not is_list else "system",
            format=self.format_combo.currentData(),
            compression=self.compression_combo.currentData(),
            preserve_digests=self.preserve_box.isChecked(),
            parallel=self.parallel_spin.value(),
            remove_signatures=not self.signatures_box.isChecked(),
            expected_digest=self._expected,
        )

    def request(self) -> CopyRequest:
        return CopyRequest(self._source, self.destination_name(),
                           self.options(), self.copy_label())

    def _fit_choices(self, name: ImageName | None) -> None:
        """Offer only the format and compression the destination can take: an OCI layout
        or archive holds OCI manifests only; a docker-archive holds Docker schema 2
        images with plain tar layers (docker load's format). A choice that is no longer
        offered goes back to the first."""
        oci_only = isinstance(name, OCIName | OCIArchiveName)
        docker_archive = isinstance(name, DockerArchiveName)
        _offer(self.format_combo, {
            "v2s2": "An OCI layout or archive holds OCI manifests only." if oci_only else "",
            "oci": "A docker-archive holds Docker schema 2 images only."
            if docker_archive else "",
        })
        plain = ("A docker-archive keeps its layers as plain tars (docker load's format)."
                 if docker_archive else "")
        _offer(self.compression_combo, {"gzip": plain, "zstd": plain})


def _offer(combo: QComboBox, refused: dict[str, str]) -> None:
    """Enable each item of ``combo`` unless ``refused`` gives a reason (its data is the
    key), shown as its tooltip; a refused current item gives way to the first."""
    model = combo.model()
    for row in range(combo.count()):
        reason = refused.get(str(combo.itemData(row)), "")
        item = model.item(row) if isinstance(model, QStandardItemModel) else None
        if item is None:
            continue
        item.setEnabled(not reason)
        kept = item.data(_OWN_TOOLTIP)
        if kept is None:  # the item's own explanation, kept for when it is offered again
            kept = item.toolTip()
            item.setData(kept, _OWN_TOOLTIP)
        item.setToolTip(reason or str(kept))
    if refused.get(str(combo.currentData()), ""):
        combo.setCurrentIndex(0)


__all__ = ["COMPRESSIONS", "FORMATS", "CopyOptionsMixin"]
