"""The main window: places on the left, the selected image on the right."""

from __future__ import annotations

import html
import logging
import os
import platform as _platform
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QByteArray, QModelIndex, QPoint, Qt, qVersion
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from spyglass import __version__
from spyglass.core.settings import Settings, normalize_location, save_settings
from spyglass.gui import icons
from spyglass.gui.loading import ImageState
from spyglass.gui.models.places import (
    ImageNode,
    LoadState,
    LocationNode,
    PlacesModel,
)
from spyglass.gui.views.image_view import ImageView, LocationSummary
from spyglass.gui.views.widgets import Spinner, mute, scaled_font
from spyglass.gui.workers import Runner

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1200, 760)
PLACES_WIDTH = 280
ARCHIVE_FILTERS = (
    "Image archives (*.tar *.tar.gz *.tgz *.tar.zst *.oci *.docker);;All files (*)"
)
STATUS_TIMEOUT_MS = 6000


def sample_layout_path() -> Path:
    """The sample layout bundled in ``resources/`` (it may be missing in an installed copy)."""
    return icons.resources_dir() / "sample-layout"


class MainWindow(QMainWindow):
    """The Spyglass window.

    Attributes:
        settings: the user's settings; saved in the background when the recent
            locations change, and when the window closes.
        runner: the background job runner of every pane.
        places: the :class:`PlacesModel` of the tree on the left.
        tree: the view of ``places``.
        image_view: the :class:`ImageView` on the right.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        settings_file: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings()
        self._settings_file = settings_file
        self._closed = False
        self._select_first: set[str] = set()

        self.setWindowTitle("Spyglass")
        self.setWindowIcon(icons.app_icon())
        self.resize(*DEFAULT_SIZE)
        self.setAcceptDrops(True)
        self.setUnifiedTitleAndToolBarOnMac(True)

        self.runner = Runner(self)
        self.places = PlacesModel(self.runner, self)
        self.tree = QTreeView()
        places_pane = self._build_places_pane()
        self.image_view = ImageView(self.runner)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(places_pane)
        self.splitter.addWidget(self.image_view)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([PLACES_WIDTH, DEFAULT_SIZE[0] - PLACES_WIDTH])
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.setCentralWidget(self.splitter)

        self._build_menus()
        self._build_status_bar()

        self.places.locationLoaded.connect(self._location_loaded)
        self.places.locationFailed.connect(self._location_failed)
        self.places.rowsRemoved.connect(lambda *_: self._update_actions())
        self.image_view.imageShown.connect(self._image_shown)
        self.image_view.statusMessage.connect(self.show_status)
        self.image_view.loadFailed.connect(self.show_status)
        self.image_view.openFolderRequested.connect(self.choose_folder)
        self.image_view.openArchiveRequested.connect(self.choose_archive)
        self.image_view.reloadLocationRequested.connect(self.reload_current_location)
        self.image_view.closeLocationRequested.connect(self.close_current_location)
        self.runner.message.connect(self.show_status)
        self.runner.busyChanged.connect(self._busy_changed)
        self._update_actions()

    # -- building

    def _build_places_pane(self) -> QWidget:
        """The tree of places under a small caption, on the base colour like a sidebar."""
        self.tree.setModel(self.places)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setAnimated(True)
        self.tree.setExpandsOnDoubleClick(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.setIndentation(16)
        self.tree.setMinimumWidth(180)
        self.tree.setStyleSheet("QTreeView::item { padding: 3px 0px; }")
        self.tree.selectionModel().currentChanged.connect(self._current_changed)

        places_pane = QWidget()
        places_pane.setAutoFillBackground(True)
        pane_palette = places_pane.palette()
        pane_palette.setColor(QPalette.ColorRole.Window,
                              pane_palette.color(QPalette.ColorRole.Base))
        places_pane.setPalette(pane_palette)
        self.tree.setFrameShape(QFrame.Shape.NoFrame)
        places_layout = QVBoxLayout(places_pane)
        places_layout.setContentsMargins(0, 0, 0, 0)
        places_layout.setSpacing(0)
        caption = QLabel("PLACES")
        caption.setContentsMargins(10, 8, 8, 6)
        caption.setFont(scaled_font(caption.font(), 0.85, bold=True))
        mute(caption)
        places_layout.addWidget(caption)
        places_layout.addWidget(self.tree, 1)
        return places_pane

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self.open_folder_action = QAction("Open &Layout Folder…", self)
        self.open_folder_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_folder_action.setStatusTip("Open an OCI image layout or dir: layout folder")
        self.open_folder_action.triggered.connect(self.choose_folder)
        menu.addAction(self.open_folder_action)
        self.open_archive_action = QAction("Open &Archive…", self)
        self.open_archive_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.open_archive_action.setStatusTip("Open a docker save or OCI layout tarball")
        self.open_archive_action.triggered.connect(self.choose_archive)
        menu.addAction(self.open_archive_action)
        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        menu.addMenu(self.recent_menu)
        menu.addSeparator()
        self.reload_action = QAction("&Reload Location", self)
        self.reload_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.reload_action.triggered.connect(self.reload_current_location)
        menu.addAction(self.reload_action)
        self.close_location_action = QAction("&Close Location", self)
        self.close_location_action.setShortcut(QKeySequence.StandardKey.Close)
        self.close_location_action.triggered.connect(self.close_current_location)
        menu.addAction(self.close_location_action)
        menu.addSeparator()
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        menu.addAction(self.quit_action)

        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction("&About Spyglass", self)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(True)
        self.busy_spinner = Spinner(size=14)
        self.busy_spinner.hide()
        self.busy_label = QLabel("Working…")
        self.busy_label.hide()
        self.name_label = QLabel()
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mute(self.name_label)
        bar.addPermanentWidget(self.busy_spinner)
        bar.addPermanentWidget(self.busy_label)
        bar.addPermanentWidget(self.name_label)

    # -- opening and closing locations

    def open_location(self, path: str | os.PathLike[str], *, select: bool = True) -> QModelIndex:
        """Open a layout folder or archive in the places tree (listing it in the background).

        With ``select``, the location is selected and, once listed, its first
        image is shown.
        """
        index = self.places.add_location(Path(path))
        node = self.places.location_node(index)
        if node is None:
            return index
        self.tree.expand(index)
        if select:
            if node.state is LoadState.LOADED:
                self._select_first_image(index)
            else:
                self._select_first.add(str(node.path))
                self.tree.setCurrentIndex(index)
        self._update_actions()
        return index

    def restore_session(self) -> None:
        """At start: the bundled sample on the very first run, else the places open last time."""
        if not self.settings.first_run_done and not self.settings.recent_locations:
            sample = sample_layout_path()

            def found(present: bool) -> None:
                if present and not self._closed:
                    self.open_location(sample)

            # an installed copy may come without it: look on a worker, like all disk access
            self.runner.submit(lambda _cancel: (sample / "index.json").is_file(),
                               on_done=found, what="looking for the sample layout")
            return
        paths = self.settings.open_locations
        for i, path in enumerate(paths):
            self.open_location(path, select=(i == 0))

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open Layout Folder", self._dialog_start())
        if folder:
            self.open_location(folder)

    def choose_archive(self) -> None:
        file_name, _ = QFileDialog.getOpenFileName(
            self, "Open Archive", self._dialog_start(), ARCHIVE_FILTERS)
        if file_name:
            self.open_location(file_name)

    def _dialog_start(self) -> str:
        recent = self.settings.recent_locations
        return os.path.dirname(recent[0]) if recent else os.path.expanduser("~")

    def close_current_location(self) -> None:
        index = self.tree.currentIndex()
        if self.places.location_node(index) is not None:
            self.places.remove_location(index)

    def reload_current_location(self) -> None:
        node = self.places.location_node(self.tree.currentIndex())
        if node is not None:
            self._select_first.add(str(node.path))
            index = self.places.index(self.places.paths.index(str(node.path)), 0)
            self.tree.setCurrentIndex(index)
            self.places.reload(index)
            self.tree.expand(index)

    def _location_loaded(self, path: str) -> None:
        self.settings.add_recent(path)
        self.save_settings_later()
        index = self._location_index(path)
        if path in self._select_first:
            self._select_first.discard(path)
            if self.tree.currentIndex() == index:
                self._select_first_image(index)
                return
        if index.isValid() and self.tree.currentIndex() == index:
            self._current_changed(index, QModelIndex())

    def _location_failed(self, path: str, message: str) -> None:
        self._select_first.discard(path)
        self.show_status(message)
        index = self._location_index(path)
        if index.isValid() and self.tree.currentIndex() == index:
            self._current_changed(index, QModelIndex())

    def _location_index(self, path: str) -> QModelIndex:
        paths = self.places.paths
        return self.places.index(paths.index(path), 0) if path in paths else QModelIndex()

    def _select_first_image(self, location: QModelIndex) -> None:
        for row in range(self.places.rowCount(location)):
            child = self.places.index(row, 0, location)
            if isinstance(self.places.node(child), ImageNode):
                self.tree.setCurrentIndex(child)
                return
        self.tree.setCurrentIndex(location)

    # -- selection

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        node = self.places.node(current)
        self.name_label.setText("")
        if isinstance(node, ImageNode) and node.parent.location is not None:
            self.image_view.show_entry(node.parent.location, node.entry, node.parent.title)
        elif isinstance(node, LocationNode):
            self.image_view.show_location(self._summary(node))
            self.setWindowTitle(f"{node.title} — Spyglass")
        else:
            self.image_view.show_empty()
            self.setWindowTitle("Spyglass")
        self._update_actions()

    @staticmethod
    def _summary(node: LocationNode) -> LocationSummary:
        description = node.location.description if node.location else str(node.path)
        images = sum(isinstance(child, ImageNode) for child in node.children)
        return LocationSummary(
            node.title, description, images, is_archive=node.is_archive, error=node.error,
            loading=node.state in (LoadState.PENDING, LoadState.LOADING),
        )

    def _image_shown(self, state: ImageState) -> None:
        self.setWindowTitle(f"{state.entry.label} — Spyglass")
        self.name_label.setText(state.entry.name)

    def _update_actions(self) -> None:
        has_location = self.places.location_node(self.tree.currentIndex()) is not None
        self.close_location_action.setEnabled(has_location)
        self.reload_action.setEnabled(has_location)
        self.recent_menu.setEnabled(bool(self.settings.recent_locations))

    def _context_menu(self, position: QPoint) -> None:
        index = self.tree.indexAt(position)
        node = self.places.node(index)
        if node is None:
            return
        location = self.places.location_node(index)
        menu = QMenu(self)
        if isinstance(node, ImageNode):
            entry = node.entry
            menu.addAction("Copy Image Name",
                           lambda: self._copy(entry.name))
            menu.addAction("Copy Digest",
                           lambda: self._copy(str(entry.descriptor.digest)))
            menu.addSeparator()
        if location is not None:
            path = str(location.path)
            menu.addAction("Copy Path", lambda: self._copy(path))
            menu.addAction("Reload", lambda: self._reload_path(path))
            menu.addSeparator()
            menu.addAction("Close", lambda: self._close_path(path))
        menu.exec(self.tree.viewport().mapToGlobal(position))

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.show_status(f"Copied {text}")

    def _reload_path(self, path: str) -> None:
        index = self._location_index(path)
        if index.isValid():
            self.places.reload(index)

    def _close_path(self, path: str) -> None:
        index = self._location_index(path)
        if index.isValid():
            self.places.remove_location(index)

    # -- recent locations and settings

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_locations:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_location(p))
        if self.settings.recent_locations:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent", self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.recent_locations = []
        self.save_settings_later()
        self._update_actions()

    def save_settings_later(self, *, drain: bool = False) -> None:
        """Save a snapshot of the settings on the writer thread."""
        snapshot = Settings(**vars(self.settings))
        snapshot.recent_locations = list(self.settings.recent_locations)
        snapshot.open_locations = list(self.settings.open_locations)
        target = self._settings_file

        def write(_cancel: object) -> None:
            save_settings(snapshot, target)

        self.runner.submit(write, serial=True, drain=drain, what="saving the settings",
                           on_error=lambda message: log.warning("%s", message))

    def restore_window_geometry(self) -> bool:
        """Put the window where the settings say it was; False if they say nothing usable."""
        if self.settings.window_geometry:
            try:
                data = QByteArray.fromBase64(self.settings.window_geometry.encode("ascii"))
            except UnicodeEncodeError:
                data = QByteArray()
            if not data.isEmpty() and self.restoreGeometry(data):
                return True
        self.resize(*DEFAULT_SIZE)
        return False

    # -- status

    def show_status(self, message: str) -> None:
        self.statusBar().showMessage(message, STATUS_TIMEOUT_MS)

    def _busy_changed(self, busy: bool) -> None:
        if busy:
            self.busy_spinner.start()
        else:
            self.busy_spinner.stop()
        self.busy_label.setVisible(busy)

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Spyglass",
            f"<h3>Spyglass {html.escape(__version__)}</h3>"
            "<p>Browse, inspect and copy container images: OCI image layouts, "
            "dir: layouts and image archives, with the same engine as the "
            "<code>spyglass</code> command line.</p>"
            f"<p style='color:gray'>Qt {html.escape(qVersion())} · PySide6 "
            f"{html.escape(pyside_version)} · Python {html.escape(_platform.python_version())}"
            "</p>",
        )

    # -- Qt overrides

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Override QWidget::dragEnterEvent: accept local folders and files."""
        mime = event.mimeData()
        if mime.hasUrls() and any(url.isLocalFile() for url in mime.urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """Override QWidget::dropEvent: open every dropped local path as a location."""
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        for i, path in enumerate(paths):
            self.open_location(path, select=(i == 0))

    def closeEvent(self, event: QCloseEvent) -> None:
        """Override QWidget::closeEvent: save the settings, stop every background job."""
        if not self._closed:
            self._closed = True
            self.image_view.close_dialogs()
            self.settings.open_locations = [
                normalize_location(node.path) for node in self._open_nodes()
            ]
            self.settings.window_geometry = bytes(
                self.saveGeometry().toBase64().data()).decode("ascii")
            self.settings.first_run_done = True
            self.places.close_all()
            self.save_settings_later(drain=True)
            self.runner.shutdown()
        super().closeEvent(event)

    def _open_nodes(self) -> list[LocationNode]:
        nodes = []
        for row in range(self.places.rowCount()):
            node = self.places.node(self.places.index(row, 0))
            if isinstance(node, LocationNode) and node.state is not LoadState.FAILED:
                nodes.append(node)
        return nodes


__all__ = ["MainWindow", "sample_layout_path"]
