"""The main window: places on the left, the selected image on the right."""

from __future__ import annotations

import html
import logging
import os
import platform as _platform
import time
from functools import partial
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QMimeData,
    QModelIndex,
    QObject,
    QPoint,
    Qt,
    QTimer,
    QUrl,
    qVersion,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QPalette,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from spyglass import __version__
from spyglass.core.blobcache import close_default_cache
from spyglass.core.credentials.store import CredentialStore
from spyglass.core.errors import SpyglassError
from spyglass.core.fileurl import file_url
from spyglass.core.settings import (
    LoadedSettings,
    SavedSettings,
    Settings,
    merge_settings,
    normalize_location,
    save_settings,
)
from spyglass.core.text import shell_quoted, visible
from spyglass.gui import icons
from spyglass.gui.announce import announce
from spyglass.gui.colors import muted_color
from spyglass.gui.copy_side import CopyController
from spyglass.gui.dragdrop import dropped_paths
from spyglass.gui.loading import ImageState
from spyglass.gui.models.places import (
    ImageNode,
    LoadState,
    LocationNode,
    MessageNode,
    PlacesModel,
)
from spyglass.gui.registries import RegistryBrowser, passed_over_text, session_only_text
from spyglass.gui.sample import own_sample
from spyglass.gui.themed import fill_background, follow_links, mute
from spyglass.gui.views.delegates import SentenceAwareDelegate
from spyglass.gui.views.image_view import ImageView, LocationSummary
from spyglass.gui.views.widgets import (
    Banner,
    ChosenRow,
    ElidedLabel,
    Spinner,
    scaled_font,
    tool_button,
)
from spyglass.gui.workers import SHUTDOWN_WAIT_MS, Runner

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1200, 760)
PLACES_WIDTH = 280
ARCHIVE_FILTERS = (
    "Image archives (*.tar *.tar.gz *.tgz *.tar.zst *.oci *.docker);;All files (*)"
)
STATUS_TIMEOUT_MS = 6000
SETTINGS_SAVE_MS = 4000  # past settings.LOCK_WAIT: a save waiting for the lock ends
"""What closing leaves the settings to be saved in, however long the copies took to stop."""


def sample_layout_path() -> Path:
    """The bundled sample layout (see :func:`icons.resources_dir`; a copy packaged without
    it has none)."""
    return icons.resources_dir() / "sample-layout"


def _copy_target(path: str) -> bool:
    """True when ``path`` is an empty folder: a place to copy an image into (on a worker).
    A folder that cannot be read is not one; opening it then says why."""
    folder = Path(path)
    try:
        return folder.is_dir() and not any(folder.iterdir())
    except OSError:
        return False


class MainWindow(QMainWindow):
    """The Spyglass window.

    Attributes:
        settings: the user's settings; saved in the background when the recent
            locations or the registries change, and when the window closes, merged
            with what another window (or a hand edit) saved meanwhile, which the
            window then takes in (see :meth:`save_settings_later`).
        runner: the background job runner of every pane.
        places: the :class:`PlacesModel` of the local tree on the left.
        tree: the view of ``places``.
        registries: the :class:`RegistryBrowser`: the registries tree above the
            local one, and the registry and repository pages.
        content: the middle pane: ``image_view`` or a registry page.
        image_view: the :class:`ImageView` on the right.
        copying: the :class:`CopyController`: drags, drops, the Copy dialog, transfers.
        vertical: the splitter between the panes and the Transfers panel below them.
        session_banner: the notice that credentials last only for this session.
        settings_banner: what there is to know about the settings file: it could not
            be read, a newer Spyglass wrote it, a save failed, they cannot be kept.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        settings_file: Path | None = None,
        settings_read: LoadedSettings | None = None,
        credentials: CredentialStore | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``settings_read``, when given, is what reading ``settings`` from the file
        found: the window says what there is to say about the file."""
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings()
        self._settings_file = settings_file
        self._settings_base = self.settings.copy()
        self._queued_settings: Settings | None = None  # the last save queued, not done
        self._saves_pending = 0
        """The settings as the file held them when this window last read or saved it:
        what a save tells apart the window's own changes from another's with."""
        self._settings_told: set[str] = set()
        self._settings_failure = ""
        self._settings_startup = ""  # what the file was at start: in the banner till closed
        self._settings_left_out = ""  # fields left out, till a save copies the file aside
        self._not_remembered: set[str] = set()
        """The bundled sample, opened where no copy of the user's could be made: remembered,
        each start would open it again (a checkout's own files, where drops are written)."""
        self._closed = False
        self._select_first: set[str] = set()
        self._restored: list[str] = []
        """The places of the last session, in order, as they were opened again."""
        self._clearing_places = False
        self._session_hosts: list[str] = []
        if credentials is None:
            from spyglass.core.transports.registry import credential_store

            credentials = credential_store()
        self._credentials = credentials

        self.setWindowTitle("Spyglass")
        self.setWindowIcon(icons.app_icon())
        self.resize(*DEFAULT_SIZE)
        self.setAcceptDrops(True)
        self.setUnifiedTitleAndToolBarOnMac(True)

        self.runner = Runner(self)
        self.places = PlacesModel(self.runner, self)
        self.tree = QTreeView()
        self.tree.setAccessibleName("Local places")
        self.image_view = ImageView(self.runner)
        self.content = QStackedWidget()
        self.content.addWidget(self.image_view)
        self.registries = RegistryBrowser(self.runner, self.settings, credentials,
                                          self.image_view, self.content, self)
        places_pane = self._build_places_pane()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(places_pane)
        self.splitter.addWidget(self.content)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([PLACES_WIDTH, DEFAULT_SIZE[0] - PLACES_WIDTH])
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.session_banner = Banner()
        self.settings_banner = Banner()
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.session_banner)
        central_layout.addWidget(self.settings_banner)
        self.copying = CopyController(self)
        # failure sentences advise the one action that applies: Add or Edit Registry…
        self.runner.listed = self._listed
        self.copying.manager.runner.listed = self._listed
        self.vertical = QSplitter(Qt.Orientation.Vertical)
        self.vertical.addWidget(self.splitter)
        self.vertical.addWidget(self.copying.panel)
        self.vertical.setStretchFactor(0, 1)
        self.vertical.setStretchFactor(1, 0)
        self.vertical.setCollapsible(0, False)
        self.vertical.setHandleWidth(1)
        self.copying.panel.hide()
        central_layout.addWidget(self.vertical, 1)
        self.setCentralWidget(central)

        self._build_menus()
        self._build_status_bar()

        self.places.locationLoaded.connect(self._location_loaded)
        self.places.locationFailed.connect(self._location_failed)
        self.places.locationRefreshed.connect(self._location_refreshed)
        self.places.rowsRemoved.connect(lambda *_: self._update_actions())
        self.image_view.imageShown.connect(self._image_shown)
        self.image_view.statusMessage.connect(self.show_status)
        self.image_view.loadFailed.connect(lambda message: self.show_status(message,
                                                                            assertive=True))
        self.image_view.openFolderRequested.connect(self.choose_folder)
        self.image_view.openArchiveRequested.connect(self.choose_archive)
        self.image_view.reloadLocationRequested.connect(self.reload_current_location)
        self.image_view.closeLocationRequested.connect(self.close_current_location)
        self.image_view.addRegistryRequested.connect(self.registries.add_registry)
        self.registries.statusMessage.connect(self.show_status)
        self.registries.settingsChanged.connect(self.save_settings_later)
        self.registries.settingsEdited.connect(lambda said: self.save_settings_later(said=said))
        self.registries.sessionOnly.connect(self.show_session_only)
        self.registries.registryRemoved.connect(self._registry_removed)
        self.registries.selected.connect(self._registry_selected)
        self.registries.titleChanged.connect(
            lambda title: self.setWindowTitle(f"{title} — Spyglass" if title else "Spyglass"))
        self.registries.tree.selectionModel().currentChanged.connect(
            lambda *_: self._update_actions())
        self.runner.message.connect(self.show_status)
        self.copying.statusMessage.connect(self.show_status)
        self.copying.quietStatus.connect(lambda message: self.show_status(message, spoken=False))
        self.registries.copy_to_action = self.copying.copy_action
        self.runner.busyChanged.connect(self._busy_changed)
        self._update_actions()
        # the keyboard starts in LOCAL, where the arrows browse (not on a sidebar button)
        self.tree.setFocus(Qt.FocusReason.OtherFocusReason)
        self.settings_banner.dismissed.connect(self._settings_dismissed)
        if settings_read is not None:
            self._tell_settings(*settings_read.notices())
            self._settings_startup = settings_read.notice()
            self._settings_left_out = settings_read.left_out()
            if settings_read.problems and settings_read.newer_version is None:
                # copied aside and rewritten now, and said (naming the copy) once it is
                self.save_settings_later()

    # -- building

    def _build_places_pane(self) -> QWidget:
        """The sidebar, on the base colour: REGISTRIES above, LOCAL (layouts, archives) below.

        Two trees under two captions, in a splitter: selecting a row in one
        clears the selection of the other.
        """
        self.tree.setModel(self.places)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setAnimated(True)
        self.tree.setExpandsOnDoubleClick(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # sentences: at their end
        self.tree.setItemDelegate(SentenceAwareDelegate(self.tree, padding=3))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.setIndentation(16)
        self.tree.setMinimumWidth(180)
        self._chosen_place = ChosenRow(self.tree, self._current_changed)

        registry_tree = self.registries.tree
        registry_tree.setMinimumWidth(180)
        for tree in (self.tree, registry_tree):
            tree.setFrameShape(QFrame.Shape.NoFrame)
            tree.setAutoFillBackground(False)

        add = tool_button("Add a registry", icon=icons.add_icon())
        add.clicked.connect(self.registries.add_registry)
        self.add_registry_button = add
        self.add_registry_link = QLabel("<a href='add'>Add a registry…</a>")
        self.add_registry_link.setContentsMargins(12, 2, 8, 8)
        self.add_registry_link.linkActivated.connect(lambda _link: self.registries.add_registry())
        registries = QWidget()
        registries_layout = QVBoxLayout(registries)
        registries_layout.setContentsMargins(0, 0, 0, 0)
        registries_layout.setSpacing(0)
        registries_layout.addWidget(self._caption("REGISTRIES", add))
        registries_layout.addWidget(self.add_registry_link)
        registries_layout.addWidget(registry_tree, 1)
        local = QWidget()
        local_layout = QVBoxLayout(local)
        local_layout.setContentsMargins(0, 0, 0, 0)
        local_layout.setSpacing(0)
        self._local_caption = self._caption("LOCAL")
        local_layout.addWidget(self._local_caption)
        local_layout.addWidget(self.tree, 1)

        self.sidebar = QSplitter(Qt.Orientation.Vertical)
        self.sidebar.addWidget(registries)
        self.sidebar.addWidget(local)
        self._registries_section = registries
        self._local_section = local
        self.sidebar.setChildrenCollapsible(False)
        self.sidebar.setHandleWidth(1)
        fill_background(self.sidebar, lambda base: base.color(QPalette.ColorRole.Base))
        follow_links()
        fill_background(self.sidebar.handle(1),
                        lambda base: base.color(QPalette.ColorRole.Midlight))
        self._sidebar_moved = False
        self.sidebar.splitterMoved.connect(self._sidebar_moved_by_hand)
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.timeout.connect(self._fit_sidebar)
        model = self.registries.model
        model.rowsInserted.connect(self._registry_rows_changed)
        model.rowsRemoved.connect(self._registry_rows_changed)
        for signal in (self.places.rowsInserted, self.places.rowsRemoved,
                       self.tree.expanded, self.tree.collapsed):
            signal.connect(lambda *_: self._fit_timer.start())
        # the sidebar's height changes with the window and the Transfers panel: the
        # splitter would share the change out, squeezing LOCAL below its rows
        self.sidebar.installEventFilter(self)
        self._registries_changed()
        return self.sidebar

    @staticmethod
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

    def _registries_changed(self) -> None:
        """A line ("Add a registry…") while there is none; room for the tree once there is."""
        count = self.registries.model.rowCount()
        self.add_registry_link.setVisible(count == 0)
        self.registries.tree.setVisible(count > 0)
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
        """Override QObject.eventFilter: fit the sidebar again when its height changes."""
        if watched is self.sidebar and event.type() == QEvent.Type.Resize:
            self._fit_timer.start()
        return super().eventFilter(watched, event)

    def _sidebar_moved_by_hand(self, *_args: object) -> None:
        self._sidebar_moved = True

    def _fit_sidebar(self) -> None:
        """LOCAL gets the room its rows need, at most 45 % or what REGISTRIES does not
        need of the sidebar (whichever is more), REGISTRIES the rest.

        Until the user moves the divider: from then on it stays where they put it.
        """
        if self._sidebar_moved or self.registries.model.rowCount() == 0:
            return
        sizes = self.sidebar.sizes()
        total = sum(sizes) or self.sidebar.height()
        rows = 0
        for row in range(self.places.rowCount()):
            rows += 1
            index = self.places.index(row, 0)
            if self.tree.isExpanded(index):
                rows += self.places.rowCount(index)
        row_height = self.tree.sizeHintForRow(0) if self.places.rowCount() else 0
        if row_height <= 0:
            row_height = self.tree.fontMetrics().height() + 8
        caption = self._local_caption.height()
        minimum = caption + 2 * row_height
        wanted = caption + max(rows, 2) * row_height + row_height // 2
        spare = total - self._registries_wanted()  # what REGISTRIES leaves empty
        local = max(minimum, min(wanted, max(int(total * 0.45), spare)))
        self.sidebar.setSizes([total - local, local])

    def _registries_wanted(self) -> int:
        """The height REGISTRIES needs to show every row it has open, and a little more."""
        tree, model = self.registries.tree, self.registries.model
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
        return self._local_caption.height() + (rows + 1) * row_height  # captions alike

    def _listed(self, host: str) -> bool:
        """Whether ``host`` is in the registries list (called on worker threads: reads
        the settings' list, which is only ever replaced or appended to)."""
        return self.settings.registry(host) is not None

    def _build_menus(self) -> None:
        # Ctrl+PgDown / Ctrl+PgUp switch the image's tabs wherever the focus is (the
        # sidebar too), as in a browser; inside the tabs Ctrl+Tab does it as well
        for keys, step in (("Ctrl+PgDown", 1), ("Ctrl+PgUp", -1)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(partial(self._step_image_tab, step))
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
        menu.addAction(self.registries.add_action)
        menu.addSeparator()
        menu.addAction(self.copying.copy_action)
        menu.addAction(self.copying.copy_image_action)
        menu.addSeparator()
        self.reload_action = QAction("Reloa&d Location", self)
        self.reload_action.setShortcut(QKeySequence.StandardKey.Refresh)
        self.reload_action.triggered.connect(self.reload_current_location)
        menu.addAction(self.reload_action)
        self.close_location_action = QAction("&Close Location", self)
        # the platform's Close (Ctrl+F4 on some) and Ctrl+W, which the README promises
        closing = QKeySequence.keyBindings(QKeySequence.StandardKey.Close)
        ctrl_w = QKeySequence("Ctrl+W")
        self.close_location_action.setShortcuts(
            closing + ([ctrl_w] if ctrl_w not in closing else []))
        self.close_location_action.triggered.connect(self.close_current_location)
        menu.addAction(self.close_location_action)
        menu.addSeparator()
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.quit)
        menu.addAction(self.quit_action)

        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.copying.show_transfers_action)

        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction("&About Spyglass", self)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(True)
        # the window's notices in a label of their own, cut with an ellipsis where they do
        # not fit (the status bar's own messages are cut mid-letter); a menu's status tip
        # still covers it for as long as it is shown
        self.message_label = ElidedLabel()
        self.message_label.setContentsMargins(4, 0, 0, 0)
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(lambda: self.message_label.setText(""))
        bar.addWidget(self.message_label, 1)
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
            def look(_cancel: object) -> Path | None:
                # the user's own copy: what is dropped on it is written there, not into
                # a checkout's committed files or an installed package
                return own_sample(sample_layout_path())

            def found(sample: Path | None) -> None:
                if sample is not None and not self._closed:
                    if sample == sample_layout_path():
                        self._not_remembered.add(normalize_location(sample))
                    self.open_location(sample)

            # (none when packaged without it): on a worker, like all disk access
            self.runner.submit(look, on_done=found, what="looking for the sample layout")
            return
        paths = self.settings.open_locations
        self._restored = [str(Path(p)) for p in paths]
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
        index = self._chosen_place.chosen()
        if self.places.location_node(index) is not None:
            self._remove_location(index)

    def _remove_location(self, index: QModelIndex) -> None:
        """Close the location of ``index``; the pane lets go of what it showed of it (Qt
        says nothing of the current row going when its parent row is removed)."""
        shown = self.places.location_node(self._chosen_place.chosen())
        removed = self.places.location_node(index)
        self.places.remove_location(index)
        if shown is not None and shown is removed:
            self._current_changed(self._chosen_place.chosen(), QModelIndex())

    def reload_current_location(self) -> None:
        if self.registries.reload_current():
            return
        node = self.places.location_node(self._chosen_place.chosen())
        if node is not None:
            self._select_first.add(str(node.path))
            index = self.places.index(self.places.paths.index(str(node.path)), 0)
            self.tree.setCurrentIndex(index)
            self.places.reload(index)
            self.tree.expand(index)

    def _location_loaded(self, where: Path) -> None:
        path = str(where)
        if path in self._restored and self._chosen_place.chosen() == self._location_index(path):
            self._restored = []  # the start found its place: no more moving on
        if normalize_location(path) not in self._not_remembered:
            self.settings.add_recent(path)
            self.save_settings_later()
        index = self._location_index(path)
        if path in self._select_first:
            self._select_first.discard(path)
            if self._chosen_place.chosen() == index:
                self._select_first_image(index)
                return
        if index.isValid() and self._chosen_place.chosen() == index:
            self._current_changed(index, QModelIndex())

    def _location_failed(self, where: Path, message: str) -> None:
        path = str(where)
        restoring = path in self._select_first and path in self._restored
        self._select_first.discard(path)
        self.show_status(message, assertive=True)
        index = self._location_index(path)
        if restoring and index.isValid() and self._chosen_place.chosen() == index:
            # a place of the last session that is gone: start on the next one still listed
            following = [p for p in self._restored[self._restored.index(path) + 1:]
                         if self._location_index(p).isValid()]
            self._restored = following
            if following:
                self._select_first.add(following[0])
                nxt = self._location_index(following[0])
                node = self.places.location_node(nxt)
                if node is not None and node.state is LoadState.LOADED:
                    self._select_first.discard(following[0])
                    self._select_first_image(nxt)
                else:
                    self.tree.setCurrentIndex(nxt)
                return
        if index.isValid() and self._chosen_place.chosen() == index:
            self._current_changed(index, QModelIndex())

    def _location_refreshed(self, where: Path) -> None:
        """A copy wrote to this place and its rows were merged: show the selected row
        again only if what it holds changed (the image view keeps its tab otherwise)."""
        path = str(where)
        current = self._chosen_place.chosen()
        node = self.places.node(current)
        if isinstance(node, LocationNode) and str(node.path) == path:
            self._current_changed(current, QModelIndex())  # the count of images
        elif isinstance(node, ImageNode) and str(node.parent.path) == path:
            state = self.image_view.state
            # an archive is rewritten whole: what was read through the old listing is
            # gone from under it (a folder keeps the blobs of an image still listed)
            if node.parent.is_archive or state is None \
                    or state.entry.descriptor != node.entry.descriptor:
                self._current_changed(current, QModelIndex())
            else:  # the view reads on through the listing it was shown from (the first
                # replaced since), never through the later ones: those go now
                self.places.release_retired(path, keep=1)
        else:  # the image view shows nothing of that place (another's may be shown)
            self.places.release_retired(path)

    def _location_index(self, path: str) -> QModelIndex:
        paths = self.places.paths
        return self.places.index(paths.index(path), 0) if path in paths else QModelIndex()

    def _select_first_image(self, location: QModelIndex) -> None:
        for row in range(self.places.rowCount(location)):
            child = self.places.index(row, 0, location)
            if isinstance(self.places.node(child), ImageNode):
                self.tree.setCurrentIndex(child)
                return
        if self._chosen_place.chosen() == location:  # no image: say what it holds, now listed
            self._current_changed(location, QModelIndex())
        else:
            self.tree.setCurrentIndex(location)

    # -- selection

    def _registry_selected(self) -> None:
        """A registry row took the selection: the local tree lets go of its own."""
        self.name_label.setText("")
        self._clearing_places = True
        try:
            self.tree.selectionModel().clear()
        finally:
            self._clearing_places = False
        self._update_actions()

    def _registry_removed(self, host: str) -> None:
        """A registry off the list: the keyring banner no longer names it (and goes when
        it named only that one)."""
        if host not in self._session_hosts:
            return
        self._session_hosts.remove(host)
        if self._session_hosts:
            self._say_session_only()
        else:
            self.session_banner.hide()

    def show_session_only(self, host: str) -> None:
        """Say, until dismissed, that the credentials for ``host`` last only this session."""
        if host not in self._session_hosts:
            self._session_hosts.append(host)
        self._say_session_only()

    def _say_session_only(self) -> None:
        store = self._credentials
        passed_over = store.passed_over
        self.session_banner.show_text(
            session_only_text(self._session_hosts, store),
            details="" if passed_over is None else passed_over_text(passed_over,
                                                                    store.backend_setting))

    def chosen_place(self) -> QModelIndex:
        """The LOCAL tree's row the user chose (not one only made current by the focus)."""
        return self._chosen_place.chosen()

    def _step_image_tab(self, step: int) -> None:
        if self.content.currentWidget() is self.image_view:
            self.image_view.step_tab(step)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._clearing_places:
            return
        node = self.places.node(current)
        self.name_label.setText("")
        if current.isValid():
            self.registries.clear_selection()
            self.content.setCurrentWidget(self.image_view)
        elif self.content.currentWidget() is not self.image_view:
            self._update_actions()
            return
        if isinstance(node, ImageNode) and node.parent.location is not None:
            self.image_view.show_entry(node.parent.location, node.entry, node.parent.title)
        elif isinstance(node, LocationNode):
            self.image_view.show_location(self._summary(node))
            self.setWindowTitle(f"{node.title} — Spyglass")
        elif isinstance(node, MessageNode) and node.detail:
            self.image_view.show_problem(node.text[:1].upper() + node.text[1:], node.detail)
        else:
            self.image_view.show_empty()
            self.setWindowTitle("Spyglass")
        # what the view shows now is read through no old listing (its jobs on the old
        # one were cancelled by the show above)
        self.places.release_retired()
        self._update_actions()

    @staticmethod
    def _summary(node: LocationNode) -> LocationSummary:
        description = node.location.description if node.location else str(node.path)
        images = sum(isinstance(child, ImageNode) for child in node.children)
        return LocationSummary(
            visible(node.title), visible(description), images, is_archive=node.is_archive,
            error=node.error,
            loading=node.state in (LoadState.PENDING, LoadState.LOADING),
        )

    def _image_shown(self, state: ImageState) -> None:
        self.setWindowTitle(f"{visible(state.entry.label)} — Spyglass")
        self.name_label.setText(visible(state.entry.name))

    def _update_actions(self) -> None:
        has_location = self.places.location_node(self._chosen_place.chosen()) is not None
        has_registry = self.registries.model.registry_node(
            self.registries.chosen_index()) is not None
        self.close_location_action.setEnabled(has_location)
        self.reload_action.setEnabled(has_location or has_registry)
        self.recent_menu.setEnabled(bool(self.settings.recent_locations))

    def _context_menu(self, position: QPoint) -> None:
        menu = self.context_menu(self.tree.indexAt(position))
        if menu is not None:
            menu.exec(self.tree.viewport().mapToGlobal(position))

    def context_menu(self, index: QModelIndex) -> QMenu | None:
        """The places tree's context menu for the row ``index`` (None for no row)."""
        node = self.places.node(index)
        if node is None:
            return None
        location = self.places.location_node(index)
        menu = QMenu(self)
        if isinstance(node, ImageNode):
            entry = node.entry
            menu.addAction("Copy Image Name",
                           lambda: self.copy_as_given(entry.name))
            menu.addAction("Copy Digest",
                           lambda: self._copy(str(entry.descriptor.digest)))
            menu.addSeparator()
            menu.addAction(self.copying.copy_action)
            menu.addSeparator()
        if location is not None:
            path = str(location.path)
            menu.addAction("Copy Path", lambda: self.copy_path(location.path))
            menu.addAction("Reload", lambda: self._reload_path(path))
            menu.addSeparator()
            menu.addAction("Close", lambda: self._close_path(path))
        return menu

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.show_status(f"Copied {visible(text)}")

    def copy_path(self, path: Path) -> None:
        """Put ``path`` on the clipboard as text, and as a ``file:`` URL for file managers.
        A path with a byte that is not UTF-8 cannot be text as it is (a QString drops
        the byte): the text is the path as a shell takes it (``$'…\\xff…'``), and the
        URL carries the byte (``%FF``)."""
        self.copy_as_given(str(path), url=file_url(path.absolute()))

    def copy_as_given(self, text: str, *, url: str = "") -> None:
        """Put ``text`` (a path, an image name) on the clipboard as a shell takes it: as it
        is, or ``$'…'`` where it holds a byte that is not UTF-8 or a control character (a
        newline); with ``url`` too, for file managers."""
        quoted = shell_quoted(text)
        data = QMimeData()
        data.setText(quoted)
        if url:
            data.setUrls([QUrl(url)])
        QGuiApplication.clipboard().setMimeData(data)
        if quoted == text:
            self.show_status(f"Copied {text}")
        else:
            self.show_status(f"Copied {quoted}: the name holds what is no text, so it is "
                             "written as a shell takes it")

    def _reload_path(self, path: str) -> None:
        index = self._location_index(path)
        if index.isValid():
            self.places.reload(index)

    def _close_path(self, path: str) -> None:
        index = self._location_index(path)
        if index.isValid():
            self._remove_location(index)

    # -- recent locations and settings

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_locations:
            action = self.recent_menu.addAction(visible(path))
            action.triggered.connect(lambda _checked=False, p=path: self.open_location(p))
        if self.settings.recent_locations:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent", self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.recent_locations = []
        self.save_settings_later()
        self._update_actions()

    def save_settings_later(self, *, drain: bool = False, said: str = "") -> None:
        """Save a snapshot of the settings on the writer thread, merged with what the file
        holds by then (see :func:`~spyglass.core.settings.merge_settings`): what another
        window or a hand edit changed since this window last read or saved the file is
        kept, and taken in here once saved. Then ``said`` goes to the status bar; a save
        that fails is said in :attr:`settings_banner` instead (once for each reason)."""
        snapshot = self.settings.copy()
        # a save queued behind another merges against that one's snapshot: what changed
        # since is this window's (its base was taken before the first was written; a
        # change undone meanwhile, Clear Recent after an open, came back)
        base = self._queued_settings if self._saves_pending else self._settings_base
        self._queued_settings = snapshot
        self._saves_pending += 1
        target = self._settings_file

        def write(_cancel: object) -> SavedSettings:
            try:
                return save_settings(snapshot, target, base=base)
            except SpyglassError as exc:  # logged here too: a window closing says nothing
                log.warning("%s", exc)
                raise

        self.runner.submit(
            write, serial=True, drain=drain, what="saving the settings",
            on_done=lambda saved: self._settings_saved(snapshot, saved, said),
            on_error=lambda sentence: self._settings_not_saved(sentence, said))

    def _save_ended(self) -> None:
        self._saves_pending = max(0, self._saves_pending - 1)
        if not self._saves_pending:
            self._queued_settings = None

    def _settings_saved(self, snapshot: Settings, saved: SavedSettings, said: str) -> None:
        """Take in what the file held besides this window's changes: what the window
        changed since ``snapshot`` stays, anything else is as saved."""
        self._save_ended()
        before = {entry.host: (entry.username, entry.insecure)
                  for entry in self.settings.registries}
        self.settings.take(merge_settings(snapshot, self.settings, saved.settings))
        self._settings_base = saved.settings
        self.registries.follow_settings(before)
        self._update_actions()
        self._settings_left_out = ""
        if self._settings_failure:  # saved after all: that is no longer so
            self._settings_told.discard(self._settings_failure)
            if self.settings_banner.text.endswith(self._settings_failure):
                self.settings_banner.hide()
                if self._settings_startup:
                    self.settings_banner.show_text(self._settings_startup)
            self._settings_failure = ""
        if notice := saved.notice():
            self._tell_settings(notice)
        if said:
            self.show_status(said)

    def _settings_not_saved(self, sentence: str, said: str) -> None:
        """Say why the settings were not saved: in the banner once, and in the status bar
        too where a change expected to be saved (an edited registry's) was not."""
        self._save_ended()
        if self._settings_left_out and self._settings_left_out not in sentence:
            # said with the failure that keeps the file from being copied aside
            sentence = f"{self._settings_left_out} {sentence}"
        self._settings_failure = sentence
        if said or sentence not in self._settings_told:
            self.show_status(sentence)
        self._tell_settings(sentence)

    def _tell_settings(self, *sentences: str) -> None:
        """Say ``sentences`` about the settings file in its banner, each once: a save
        failing again the same way says nothing more there."""
        new = [s for s in sentences if s and s not in self._settings_told]
        if new:
            self._settings_told.update(new)
            kept = [self._settings_startup] if self._settings_startup else []
            self.settings_banner.show_text(" ".join(kept + new))

    def _settings_dismissed(self) -> None:
        self._settings_startup = ""

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

    def show_status(self, message: str, *, assertive: bool = False,
                    spoken: bool = True) -> None:
        """Say ``message`` in the status bar for a few seconds, and to screen readers
        (``assertive``: at once, for a request of the user's that failed; not
        ``spoken``: they heard it already, in other words)."""
        self.message_label.setText(message)
        self._message_timer.start(STATUS_TIMEOUT_MS)
        if spoken:
            announce(self.message_label, message, assertive=assertive)

    @property
    def status_text(self) -> str:
        """The notice the status bar shows now (whole, however it is cut), or ""."""
        return self.message_label.text()

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
            f"<p style='color:{muted_color(self.palette()).name()}'>"
            f"Qt {html.escape(qVersion())} · PySide6 "
            f"{html.escape(pyside_version)} · Python {html.escape(_platform.python_version())}"
            "</p>",
        )

    # -- Qt overrides

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Override QWidget::dragEnterEvent: accept local folders and files."""
        self._take_local_files(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        """Override QWidget::dragMoveEvent: keep accepting local folders and files as the
        drag moves, also over the sidebars (which take dragged images only, passing
        other drags on to the window)."""
        self._take_local_files(event)

    @staticmethod
    def _take_local_files(event: QDragMoveEvent) -> None:
        if dropped_paths(event.mimeData()):  # (a file of another machine is not opened)
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """Override QWidget::dropEvent: open every dropped local path as a location."""
        paths = dropped_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        if len(paths) == 1 and self.copying.current_image() is not None:
            # an empty folder is where to copy the image to; anything else is opened
            path = paths[0]
            self.runner.submit(lambda _cancel: _copy_target(path),
                               on_done=lambda empty: self._folder_dropped(path, empty),
                               what=f'looking at "{path}"')
            return
        for i, path in enumerate(paths):
            self.open_location(path, select=(i == 0))

    def _folder_dropped(self, path: str, empty: bool) -> None:
        if empty:
            self.copying.copy_into_folder(path)
        else:
            self.open_location(path)

    def quit(self) -> None:
        """File ▸ Quit: close the window, once the person agrees to stop running copies."""
        if self._may_stop_copies():
            self.close()

    def _may_stop_copies(self) -> bool:
        """Whether closing may stop the copies under way: none, or the person says so."""
        manager = self.copying.manager
        unfinished = manager.running + manager.waiting
        if not unfinished or self._closed:
            return True
        what = "1 copy is" if unfinished == 1 else f"{unfinished} copies are"
        return self.ask_to_stop_copies(
            f"{what} not finished. Quitting stops {'it' if unfinished == 1 else 'them'}, "
            "and what was written so far is taken back.")

    def ask_to_stop_copies(self, sentence: str) -> bool:
        """Ask whether to stop the copies and quit (Cancel is the default)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Copies under way", sentence,
                          QMessageBox.StandardButton.Cancel, self)
        stop = box.addButton("Stop Copies and Quit", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is stop

    def closeEvent(self, event: QCloseEvent) -> None:
        """Override QWidget::closeEvent: save the settings, stop every background job.

        Closed by the person (the window's close button: a spontaneous event) while
        copies run, it asks first, as File ▸ Quit does; a close() from the program
        does not ask."""
        if event.spontaneous() and not self._may_stop_copies():
            event.ignore()
            return
        if not self._closed:
            self._closed = True
            self.image_view.close_dialogs()
            closing = time.monotonic()
            self.copying.shutdown()  # waits for the copies (at most SHUTDOWN_WAIT_MS)
            self.settings.open_locations = [
                normalize_location(node.path) for node in self._open_nodes()
                if normalize_location(node.path) not in self._not_remembered]
            self.settings.window_geometry = bytes(
                self.saveGeometry().toBase64().data()).decode("ascii")
            self.settings.first_run_done = True
            self.places.close_all()
            self.registries.shutdown()
            self.save_settings_later(drain=True)
            # one wait for the whole close, but the settings always get their moment
            spent_ms = round((time.monotonic() - closing) * 1000)
            self.runner.shutdown(timeout_ms=max(SETTINGS_SAVE_MS, SHUTDOWN_WAIT_MS - spent_ms))
            close_default_cache()  # the blob locations noted, in the file before the end
        super().closeEvent(event)

    def _open_nodes(self) -> list[LocationNode]:
        nodes = []
        for row in range(self.places.rowCount()):
            node = self.places.node(self.places.index(row, 0))
            if isinstance(node, LocationNode) and node.state is not LoadState.FAILED:
                nodes.append(node)
        return nodes


__all__ = ["MainWindow", "sample_layout_path"]
