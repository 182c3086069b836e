"""The window's sidebar: REGISTRIES above, LOCAL (layouts, archives) below, on the base
colour, with the divider between them placed to fit their rows."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from spyglass.gui import icons
from spyglass.gui.models.places import PlacesModel
from spyglass.gui.registries import RegistryBrowser
from spyglass.gui.themed import fill_background, follow_icon, mute, set_link_text
from spyglass.gui.views.widgets import scaled_font, tool_button


class Sidebar(QSplitter):
    """Two trees under two captions, in a splitter: the registries' and the local one
    (``tree``, showing ``places``).

    Attributes:
        add_registry_button: the "+" beside the REGISTRIES caption.
        add_registry_link: the line "Add Registry…" shown while there is none.
        local_caption: the LOCAL caption.
    """

    def __init__(self, tree: QTreeView, places: PlacesModel, registries: RegistryBrowser,
                 parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self._tree = tree
        self._places = places
        self._registries = registries
        registry_tree = registries.tree
        registry_tree.setMinimumWidth(180)
        for each in (tree, registry_tree):
            each.setFrameShape(QFrame.Shape.NoFrame)
            each.setAutoFillBackground(False)

        add = tool_button("Add Registry")  # (named as the menu's, and the dialog, name it)
        follow_icon(add, icons.add_icon)
        add.clicked.connect(registries.add_registry)
        self.add_registry_button = add
        self.add_registry_link = QLabel()
        set_link_text(self.add_registry_link, "<a href='add'>Add Registry…</a>")
        self.add_registry_link.setContentsMargins(12, 2, 8, 8)
        self.add_registry_link.linkActivated.connect(lambda _link: registries.add_registry())
        section = QWidget()
        registries_layout = QVBoxLayout(section)
        registries_layout.setContentsMargins(0, 0, 0, 0)
        registries_layout.setSpacing(0)
        registries_layout.addWidget(_caption("REGISTRIES", add))
        registries_layout.addWidget(self.add_registry_link)
        registries_layout.addWidget(registry_tree, 1)
        local = QWidget()
        local_layout = QVBoxLayout(local)
        local_layout.setContentsMargins(0, 0, 0, 0)
        local_layout.setSpacing(0)
        self.local_caption = _caption("LOCAL")
        local_layout.addWidget(self.local_caption)
        local_layout.addWidget(tree, 1)

        self.addWidget(section)
        self.addWidget(local)
        self._registries_section = section
        self._local_section = local
        self.setChildrenCollapsible(False)
        self.setHandleWidth(1)
        fill_background(self, lambda base: base.color(QPalette.ColorRole.Base))
        fill_background(self.handle(1),
                        lambda base: base.color(QPalette.ColorRole.Midlight))
        self._moved = False
        self.splitterMoved.connect(self._moved_by_hand)
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.timeout.connect(self.fit)
        model = registries.model
        model.rowsInserted.connect(self._registry_rows_changed)
        model.rowsRemoved.connect(self._registry_rows_changed)
        # either section's rows, listed, opened or closed: what REGISTRIES leaves
        # LOCAL changes as much as what LOCAL needs (a registry browsed, then closed,
        # left LOCAL squeezed to 45 % beside an empty REGISTRIES)
        for signal in (places.rowsInserted, places.rowsRemoved,
                       tree.expanded, tree.collapsed,
                       model.rowsInserted, model.rowsRemoved,
                       registry_tree.expanded, registry_tree.collapsed):
            signal.connect(lambda *_: self._fit_timer.start())
        # the sidebar's height changes with the window and the Transfers panel: the
        # splitter would share the change out, squeezing LOCAL below its rows
        self.installEventFilter(self)
        self._registries_changed()

    def _registries_changed(self) -> None:
        """A line ("Add a registry…") while there is none; room for the tree once there is."""
        count = self._registries.model.rowCount()
        self.add_registry_link.setVisible(count == 0)
        self._registries.tree.setVisible(count > 0)
        section = self._registries_section
        if count == 0:
            section.setMaximumHeight(section.sizeHint().height())
        else:
            section.setMaximumHeight(16777215)
        self._fit_timer.start()

    def _registry_rows_changed(self, parent: QModelIndex, *_rows: int) -> None:
        if not parent.isValid():
            self._registries_changed()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject.eventFilter: fit again when the sidebar's height changes."""
        if watched is self and event.type() == QEvent.Type.Resize:
            self._fit_timer.start()
        return super().eventFilter(watched, event)

    def _moved_by_hand(self, *_args: object) -> None:
        self._moved = True

    def fit(self) -> None:
        """LOCAL gets the room its rows need, at most 45 % or what REGISTRIES does not
        need of the sidebar (whichever is more), REGISTRIES the rest.

        Fitted again (on a short timer) whenever the rows of either section are listed,
        opened or closed, and when the sidebar's height changes; until the user moves
        the divider: from then on it stays where they put it.
        """
        if self._moved or self._registries.model.rowCount() == 0:
            return
        sizes = self.sizes()
        total = sum(sizes) or self.height()
        rows = 0
        for row in range(self._places.rowCount()):
            rows += 1
            index = self._places.index(row, 0)
            if self._tree.isExpanded(index):
                rows += self._places.rowCount(index)
        row_height = self._tree.sizeHintForRow(0) if self._places.rowCount() else 0
        if row_height <= 0:
            row_height = self._tree.fontMetrics().height() + 8
        caption = self.local_caption.height()
        minimum = caption + 2 * row_height
        wanted = caption + max(rows, 2) * row_height + row_height // 2
        spare = total - self._registries_wanted()  # what REGISTRIES leaves empty
        local = max(minimum, min(wanted, max(int(total * 0.45), spare)))
        self.setSizes([total - local, local])

    def _registries_wanted(self) -> int:
        """The height REGISTRIES needs to show every row it has open, and a little more."""
        tree, model = self._registries.tree, self._registries.model
        rows, pending = 0, [QModelIndex()]
        while pending:
            parent = pending.pop()
            for row in range(model.rowCount(parent)):
                rows += 1
                index = model.index(row, 0, parent)
                if tree.isExpanded(index):
                    pending.append(index)
        row_height = tree.sizeHintForRow(0) if rows else 0
        if row_height <= 0:
            row_height = tree.fontMetrics().height() + 8
        return self.local_caption.height() + (rows + 1) * row_height  # captions alike


def _caption(text: str, button: QWidget | None = None) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(10, 8, 6, 4)
    layout.setSpacing(4)
    caption = QLabel(text)
    caption.setFont(scaled_font(caption.font(), 0.85, bold=True))
    mute(caption)
    layout.addWidget(caption, 1)
    if button is not None:
        layout.addWidget(button)
    row.setFixedHeight(max(caption.sizeHint().height(),
                           button.sizeHint().height() if button else 0) + 12)
    return row
