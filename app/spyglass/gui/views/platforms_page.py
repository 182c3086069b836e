"""The Platforms tab: the entries of a manifest list; selecting one shows it in the other tabs."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from spyglass.core.digest import Digest
from spyglass.gui.loading import ImageState
from spyglass.gui.models.platforms import OS_VERSION, VARIANT, PlatformsModel
from spyglass.gui.signals import emit
from spyglass.gui.views.widgets import fit_columns, make_table, select_row


class PlatformsPage(QWidget):
    """A table of a list's platforms; the row of the instance shown is marked.

    Signals:
        instanceRequested(object): the user selected the row of this
            :class:`~spyglass.core.digest.Digest`, which is not the one shown.
    """

    instanceRequested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = PlatformsModel(self)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.table = make_table("Platforms")
        self.table.setModel(self.model)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._syncing = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)

    def set_state(self, state: ImageState) -> None:
        self._syncing = True
        try:
            self.model.twins = state.twins
            self.model.set_rows(state.instances)
            current = state.current
            self.model.set_current(current.descriptor.digest if current else None)
            self._select_current()
        finally:
            self._syncing = False
        for column in (VARIANT, OS_VERSION):
            self.table.setColumnHidden(column, self.model.column_is_empty(column))
        fit_columns(self.table)
        self._caption(state)

    def set_pending(self, digest: Digest) -> None:
        row = self.model.row_of(digest)
        label = self.model.label(self.model.rows[row].descriptor) if row is not None else digest
        self.caption.setText(f"Loading {label}…")

    def _caption(self, state: ImageState) -> None:
        current = state.current
        count = len(state.instances)
        unreadable = len(state.unreadable)
        text = f"{count} entr{'ies' if count != 1 else 'y'} in this list"
        if unreadable:
            text += (f", {unreadable} of which cannot be read" if count > 1 else
                     ", which cannot be read")
        if state.image is None:
            text += ". No image of it is shown" + ("; select a row to show that one."
                                                  if unreadable < count else ".")
        else:
            shown = self.model.label(current.descriptor) if current else "no platform"
            text += (f". The other tabs show <b>{shown}</b>; select another row to show "
                     "that one.")
        self.caption.setText(text)

    def _select_current(self) -> None:
        row = self.model.row_of(self.model.current)
        if row is None:
            self.table.clearSelection()
        else:
            select_row(self.table, row)

    def _selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        if self._syncing:
            return
        indexes = selected.indexes()
        if not indexes:
            return
        summary = self.model.row_at(indexes[0])
        if summary is None or summary.descriptor.digest == self.model.current:
            return
        emit(self.instanceRequested, summary.descriptor.digest)
