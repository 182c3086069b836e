"""The main window: places on the left, the selected image on the right."""

from __future__ import annotations

import html
import platform as _platform
import threading
import time
from functools import partial
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import (
    QByteArray,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    qVersion,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeySequence,
    QResizeEvent,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from spyglass import __version__
from spyglass.core import registries_conf
from spyglass.core.blobcache import close_default_cache
from spyglass.core.credentials.store import CredentialStore
from spyglass.core.settings import Settings, normalize_location
from spyglass.core.settings_file import LoadedSettings
from spyglass.core.text import visible
from spyglass.gui import icons
from spyglass.gui.announce import announce
from spyglass.gui.colors import muted_color
from spyglass.gui.copy_side import CopyController
from spyglass.gui.dragdrop import dropped_paths
from spyglass.gui.formatting import TITLE_CHARS, cut_middle
from spyglass.gui.loading import ImageState
from spyglass.gui.models.places import (
    ImageNode,
    LoadState,
    LocationNode,
    MessageNode,
    PlacesModel,
    held,
)
from spyglass.gui.models.transfer_endings import quit_sentence
from spyglass.gui.on_screen import fitted_size, keep_on_screen
from spyglass.gui.registries import RegistryBrowser
from spyglass.gui.session_banner import passed_over_text, session_only_text
from spyglass.gui.shortcuts import StandardKey, close_location_keys, reload_keys, standard_key
from spyglass.gui.sidebar import Sidebar
from spyglass.gui.themed import mute, on_palette_change
from spyglass.gui.views.buttons import plain_buttons
from spyglass.gui.views.context_menus import open_by_keyboard
from spyglass.gui.views.delegates import SentenceAwareDelegate
from spyglass.gui.views.image_view import ImageView, LocationSummary
from spyglass.gui.views.sample_notice import SampleNotice
from spyglass.gui.views.widgets import Banner, ChosenRow, ElidedLabel, Spinner
from spyglass.gui.window_locations import LocationsMixin
from spyglass.gui.window_settings import SettingsMixin, WaitingSave
from spyglass.gui.workers import SHUTDOWN_WAIT_MS, Runner

DEFAULT_SIZE = (1200, 760)
"""The size the window opens at with none saved, where its screen has room for it (else
less: see :func:`~spyglass.gui.on_screen.fitted_size`)."""
PLACES_WIDTH = 280
STATUS_TIMEOUT_MS = 6000
NAME_SHARE = 0.45
"""The most of the status bar's width the reference shown takes."""
SETTINGS_SAVE_MS = 4000  # past settings_file.LOCK_WAIT: a save waiting for the lock ends
"""What closing leaves the settings to be saved in, however long the copies took to stop."""


def window_title(subject: str) -> str:
    """The window's title for ``subject`` (what it shows; "" for nothing):
    ``SUBJECT — Spyglass``, the subject as it shows (:func:`visible`: a control character
    in a folder's name is its escape) and cut in its middle past :data:`TITLE_CHARS`."""
    if not subject:
        return "Spyglass"
    return f"{cut_middle(visible(subject), TITLE_CHARS)} — Spyglass"


def _copy_target(path: str) -> bool:
    """True when ``path`` is an empty folder: a place to copy an image into (on a worker).
    A folder that cannot be read is not one; opening it then says why."""
    folder = Path(path)
    try:
        return folder.is_dir() and not any(folder.iterdir())
    except OSError:
        return False


class MainWindow(LocationsMixin, SettingsMixin, QMainWindow):
    """The Spyglass window.

    Its parts: the LOCAL places (:class:`~spyglass.gui.window_locations.LocationsMixin`),
    the settings (:class:`~spyglass.gui.window_settings.SettingsMixin`), the sidebar
    (:class:`~spyglass.gui.sidebar.Sidebar`); menus, status bar, selection, drops and
    closing here.

    Attributes:
        settings: the user's settings; saved in the background when the recent
            locations or the registries change, and when the window closes, merged
            with what another window (or a hand edit) saved meanwhile, which the
            window then takes in (see :meth:`save_settings_later`).
        runner: the background job runner of every pane.
        places: the :class:`PlacesModel` of the local tree on the left.
        tree: the view of ``places``.
        sidebar: the :class:`Sidebar`: the registries tree above the local one.
        registries: the :class:`RegistryBrowser`: the registries tree above the
            local one, and the registry and repository pages.
        content: the middle pane: ``image_view`` or a registry page.
        image_view: the :class:`ImageView` on the right.
        copying: the :class:`CopyController`: drags, drops, the Copy dialog, transfers.
        vertical: the splitter between the panes and the Transfers panel below them.
        session_banner: the notice that credentials last only for this session.
        settings_banner: what there is to know about the settings file: it could not
            be read, a newer Spyglass wrote it, a save failed, they cannot be kept.
        conf_banner: a registries.conf file that cannot be used (no registry is
            contacted until it is fixed).
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
        self._waiting_save: WaitingSave | None = None  # the save queued, not started
        self._save_lock = threading.Lock()
        self._settings_told: set[str] = set()
        self._settings_failure = ""
        self._settings_startup = ""  # what the file was at start: in the banner till closed
        self._settings_left_out = ""  # fields left out, till a save copies the file aside
        self._not_remembered: set[str] = set()
        """The bundled sample, opened where no copy of the user's could be made: remembered,
        each start would open it again (a checkout's own files, where drops are written)."""
        self._not_recent: set[str] = set()
        """Places of the last session opened again, not yet listed: listed, they do not
        move up File ▸ Recent (only what the user opens does)."""
        self._reopened: set[str] = set()
        """The places of the last session opened again at start (normalized): one that
        failed (a drive not plugged in, a network folder not mounted) is still remembered
        while its row is there."""
        self._reopening = False
        """The last session's places are being looked at before they are opened again: a
        close now keeps them as the settings have them."""
        self._closed = False
        self._select_first: set[str] = set()
        self._reselect: dict[str, str] = {}
        """The label of the image chosen in a place as it was reloaded (by its path):
        chosen again once the place is listed, where it is still there (see
        :meth:`reload_current_location`)."""
        self._restored: list[str] = []
        """The places of the last session, in order, as they were opened again."""
        self._clearing_places = False
        self._sample_place = ""
        """The bundled sample's place while its notice is up (see :meth:`show_sample`)."""
        self._notice_about: QPersistentModelIndex | None = None
        """The row (of either tree) the status bar's failure notice is about, if it is one:
        it goes when another row is chosen (see :meth:`_leave_notice`)."""
        self._session_hosts: list[str] = []
        if credentials is None:
            from spyglass.core.transports.registry import credential_store

            credentials = credential_store()
        self._credentials = credentials

        self.setWindowTitle("Spyglass")
        self.setWindowIcon(icons.app_icon())
        self.resize(fitted_size(self, *DEFAULT_SIZE))
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
        # wider at a large font (names were cut to "a-very-l…on-00000" at 16 pt)
        places_width = max(PLACES_WIDTH, 34 * self.fontMetrics().averageCharWidth())
        self.splitter.setSizes([places_width, self.width() - places_width])
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.session_banner = Banner()
        self.settings_banner = Banner()
        self.conf_banner = Banner()
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.session_banner)
        central_layout.addWidget(self.settings_banner)
        central_layout.addWidget(self.conf_banner)
        self.sample_notice = SampleNotice()  # (the first start's sample: see show_sample)
        central_layout.addWidget(self.sample_notice)
        for notice in (self.session_banner, self.settings_banner, self.conf_banner,
                       self.sample_notice):  # dismissed, the keyboard goes back where it
            # came from, else to the places (not to the "+" after them, Add Registry)
            notice.keyboard.fallback = lambda: self.tree
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
        # (the pane shows why, whole: said to screen readers, not echoed below it)
        self.image_view.loadFailed.connect(lambda message: self.show_status(
            message, assertive=True, on_page=True))
        self.image_view.openFolderRequested.connect(self.choose_folder)
        self.image_view.openArchiveRequested.connect(self.choose_archive)
        self.image_view.reloadLocationRequested.connect(self.reload_current_location)
        self.image_view.closeLocationRequested.connect(self.close_current_location)
        self.image_view.addRegistryRequested.connect(self.registries.add_registry)
        self.sample_notice.openFolderRequested.connect(self.choose_folder)
        self.sample_notice.openArchiveRequested.connect(self.choose_archive)
        self.sample_notice.addRegistryRequested.connect(self.registries.add_registry)
        self.sample_notice.dismissed.connect(self._sample_dismissed)
        self.places.rowsInserted.connect(self._sample_left)
        self.places.rowsRemoved.connect(self._sample_left)
        self.registries.registryAdded.connect(self._registry_added_over_sample)
        self.registries.statusMessage.connect(self.show_status)
        self.registries.settingsChanged.connect(self.save_settings_later)
        self.registries.settingsEdited.connect(lambda said: self.save_settings_later(said=said))
        self.registries.sessionOnly.connect(self.show_session_only)
        self.registries.registryRemoved.connect(self._not_session_only)
        self.registries.savedInKeyring.connect(self._not_session_only)
        self.registries.selected.connect(self._registry_selected)
        self.registries.titleChanged.connect(
            lambda title: self.setWindowTitle(window_title(title)))
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
        self._conf_dismissed = ""
        self.conf_banner.dismissed.connect(
            lambda: setattr(self, "_conf_dismissed", self.conf_banner.label.text()))
        self._tell_registries_conf()
        if settings_read is not None:
            self._tell_settings(*settings_read.notices())
            self._settings_startup = settings_read.notice()
            self._settings_left_out = settings_read.left_out()
            if settings_read.problems and settings_read.newer_version is None:
                # copied aside and rewritten now, and said (naming the copy) once it is
                self.save_settings_later()

    # -- building

    def _build_places_pane(self) -> QWidget:
        """The sidebar (:class:`Sidebar`): REGISTRIES above, LOCAL (layouts, archives) below.

        Selecting a row in one tree clears the selection of the other.
        """
        self.tree.setModel(self.places)
        self.tree.setHeaderHidden(True)
        self.tree.setIconSize(icons.row_icon_size(self.tree))
        self.tree.setUniformRowHeights(True)
        self.tree.setAnimated(True)
        self.tree.setExpandsOnDoubleClick(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # sentences: at their end
        self.tree.setItemDelegate(SentenceAwareDelegate(self.tree, padding=3))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        open_by_keyboard(self.tree)
        self.tree.setIndentation(16)
        self.tree.setMinimumWidth(180)
        self._chosen_place = ChosenRow(self.tree, self._current_changed)
        self.sidebar = Sidebar(self.tree, self.places, self.registries)
        return self.sidebar

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
        self.open_folder_action.setShortcut(standard_key(StandardKey.Open))
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
        menu.addAction(self.registries.edit_action)
        menu.addSeparator()
        menu.addAction(self.copying.copy_action)
        menu.addAction(self.copying.copy_image_action)
        menu.addSeparator()
        self.reload_action = QAction("Reloa&d Location", self)
        # F5, and the platform's other Refresh keys but Ctrl+R (GNOME's first; Retry's)
        self.reload_action.setShortcuts(reload_keys())
        self.reload_action.triggered.connect(self.reload_current_location)
        menu.addAction(self.reload_action)
        self.close_location_action = QAction("&Close Location", self)
        # Ctrl+W, which the README promises, and the platform's Close (Ctrl+F4 on some)
        self.close_location_action.setShortcuts(close_location_keys())
        self.close_location_action.triggered.connect(self.close_current_location)
        menu.addAction(self.close_location_action)
        menu.addSeparator()
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.quit)
        menu.addAction(self.quit_action)

        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addAction(self.copying.clipboard_action)
        edit_menu.addAction(self.copying.paste_action)

        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.copying.show_transfers_action)
        view_menu.addAction(self.copying.panel.retry_failed_action)

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
        # the reference shown, cut in its middle where it does not fit (a long tag cut it
        # mid-letter at the window's edge), and never taking more than its share of the bar;
        # Copy in its menu (and Ctrl+C) copies it whole
        self.name_label = ElidedLabel(mode=Qt.TextElideMode.ElideMiddle, copyable=True)
        self.name_label.copied.connect(self.show_status)
        self.name_label.setSizePolicy(QSizePolicy.Policy.Preferred,
                                      QSizePolicy.Policy.Preferred)
        mute(self.name_label)
        bar.addPermanentWidget(self.busy_spinner)
        bar.addPermanentWidget(self.busy_label)
        bar.addPermanentWidget(self.name_label)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Override QWidget::resizeEvent: the reference in the status bar leaves the
        notices beside it the most of the bar."""
        super().resizeEvent(event)
        self.name_label.setMaximumWidth(int(event.size().width() * NAME_SHARE))

    # -- selection

    def _tell_registries_conf(self) -> None:
        """Say in :attr:`conf_banner` that a registries.conf file cannot be used (no
        registry is contacted then, as the command line contacts none); hide it once
        the files are fine again. Asked at the start and as a registry is chosen."""
        problems = registries_conf.current().problems
        if not problems:
            self.conf_banner.hide()
            self._conf_dismissed = ""
        elif problems[0] not in (self.conf_banner.text, self._conf_dismissed):
            self.conf_banner.show_text(problems[0])  # (once dismissed, until it changes)

    def _registry_selected(self) -> None:
        """A registry row took the selection: the local tree lets go of its own."""
        self._tell_registries_conf()
        self.name_label.setText("")
        self._leave_notice(self.registries.chosen_index())
        self._clearing_places = True
        try:
            self.tree.selectionModel().clear()
        finally:
            self._clearing_places = False
        self._update_actions()

    def _not_session_only(self, host: str) -> None:
        """A registry off the list, or whose password the keyring took after all: the
        keyring banner no longer names it (and goes when it named only that one)."""
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
        self._leave_notice(current)
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
            self.setWindowTitle(window_title(node.title))
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
        images, attached = held(node)
        return LocationSummary(
            visible(node.title), visible(description), images, attached=attached,
            is_archive=node.is_archive,
            error=node.error,
            loading=node.state in (LoadState.PENDING, LoadState.LOADING),
        )

    def _image_shown(self, state: ImageState) -> None:
        self.setWindowTitle(window_title(state.entry.label))
        self.name_label.setText(visible(state.entry.name))

    def _update_actions(self) -> None:
        has_location = self.places.location_node(self._chosen_place.chosen()) is not None
        has_registry = self.registries.model.registry_node(
            self.registries.chosen_index()) is not None
        self.close_location_action.setEnabled(has_location)
        self.reload_action.setEnabled(has_location or has_registry)
        self.registries.edit_action.setEnabled(has_registry)
        self.recent_menu.setEnabled(bool(self.settings.recent_locations))

    def restore_window_geometry(self) -> bool:
        """Put the window where the settings say it was; False if they say nothing usable."""
        if self.settings.window_geometry:
            try:
                data = QByteArray.fromBase64(self.settings.window_geometry.encode("ascii"))
            except UnicodeEncodeError:
                data = QByteArray()
            if not data.isEmpty() and self.restoreGeometry(data):
                keep_on_screen(self)  # (saved on another screen, larger than this one)
                return True
        self.resize(fitted_size(self, *DEFAULT_SIZE))
        return False

    # -- the first start

    def show_sample(self, sample: Path) -> None:
        """The first start opened the bundled sample (at ``sample``): the notice that says
        it is one, with the ways to open your own (a newcomer took the sample for their own
        data, and never saw the empty window's Open and Add buttons). It goes once the
        user has taken one of those ways, or closed the sample (:meth:`_sample_left`)."""
        self._sample_place = normalize_location(sample)
        self.sample_notice.show_notice()

    def _sample_left(self, *_args: object) -> None:
        """A place was opened or closed, or a registry added: once anything but the
        sample is open, or the sample is closed, the notice goes and the first start is
        over, as its ✕ ends it. It said "not one of yours" over the user's own images; and
        once the user has found how to open them, it has done its work (shown with each
        look at the sample, it would come back all session)."""
        if self.sample_notice.isHidden():
            return
        if {normalize_location(p) for p in self.places.paths} != {self._sample_place}:
            self.sample_notice.dismiss()

    def _registry_added_over_sample(self, _host: str) -> None:
        """A registry added: the user found their own images (see :meth:`_sample_left`)."""
        if not self.sample_notice.isHidden():
            self.sample_notice.dismiss()

    def _sample_dismissed(self) -> None:
        """Dismissed, the notice stays away: the first start is over (saved now, not only
        at the close)."""
        if not self.settings.first_run_done:
            self.settings.first_run_done = True
            self.save_settings_later()

    # -- status

    def show_status(self, message: str, *, assertive: bool = False,
                    spoken: bool = True, about: QModelIndex | None = None,
                    on_page: bool = False) -> None:
        """Say ``message`` in the status bar for a few seconds, and to screen readers
        (``assertive``: at once, for a request of the user's that failed; not
        ``spoken``: they heard it already, in other words). A failure ``about`` a row
        (a place, an image) goes as soon as another row is chosen: under the next
        place or image it would read as about that one. ``on_page``: the page in sight
        shows the sentence already (a place or image that cannot be opened): it is only
        said to screen readers, not echoed in the status bar (a third time, with the
        places tree's row, and cut)."""
        if on_page:
            if spoken:
                announce(self.message_label, message, assertive=assertive)
            return
        self.message_label.setText(message)
        self._message_timer.start(STATUS_TIMEOUT_MS)
        self._notice_about = None if about is None else QPersistentModelIndex(about)
        if spoken:
            announce(self.message_label, message, assertive=assertive)

    def _leave_notice(self, current: QModelIndex) -> None:
        """``current`` (a row of either tree, or none) was chosen: a failure notice about
        another row leaves the status bar (the failed row and its page still say it)."""
        about = self._notice_about
        if about is None:
            return
        if about.isValid() and current.model() is about.model():
            row = current
            while row.isValid():
                if row == about:
                    return  # (its own row, or a row under it)
                row = row.parent()
        self._notice_about = None
        self._message_timer.stop()
        self.message_label.setText("")

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
        self.about_box().exec()

    def about_box(self) -> QMessageBox:
        """The About box, as QMessageBox::about makes it (the window's icon), closed by
        Close (as GNOME's and KDE's are; it said OK), its versions line muted in the
        colours of the palette of the moment (written again after a switch between light
        and dark)."""
        box = QMessageBox(QMessageBox.Icon.Information, "About Spyglass", "",
                          QMessageBox.StandardButton.Close, self)
        plain_buttons(box)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        icon = box.windowIcon()
        box.setIconPixmap(icon.pixmap(icon.actualSize(QSize(64, 64))))

        def write() -> None:
            box.setText(
                f"<h3>Spyglass {html.escape(__version__)}</h3>"
                "<p>Browse, inspect and copy container images: registries, OCI image "
                "layouts, dir: layouts and image archives, with the same engine as the "
                "<code>spyglass</code> command line.</p>"
                f"<p style='color:{muted_color(box.palette()).name()}'>"
                f"Qt {html.escape(qVersion())} · PySide6 "
                f"{html.escape(pyside_version)} · Python "
                f"{html.escape(_platform.python_version())}</p>")

        write()
        on_palette_change(box, write)
        return box

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
        unfinished = [transfer for transfer in self.copying.manager.transfers
                      if not transfer.state.finished]
        if not unfinished or self._closed:
            return True
        return self.ask_to_stop_copies(quit_sentence(unfinished))

    def ask_to_stop_copies(self, sentence: str) -> bool:
        """Ask whether to stop the copies and quit (Cancel is the default)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Copies under way", sentence,
                          QMessageBox.StandardButton.Cancel, self)
        stop = box.addButton("Stop Copies and Quit", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is stop

    @property
    def closed(self) -> bool:
        """Whether the window was closed (its settings saved, its background jobs stopped)."""
        return self._closed

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
            if not self._reopening:
                self.settings.open_locations = [
                    normalize_location(node.path) for node in self._open_nodes()
                    if normalize_location(node.path) not in self._not_remembered]
            self.settings.window_geometry = bytes(
                self.saveGeometry().toBase64().data()).decode("ascii")
            self.settings.first_run_done = True
            self.places.close_all()
            self.registries.shutdown()
            self.save_settings_later()
            # one wait for the whole close, but the settings always get their moment
            spent_ms = round((time.monotonic() - closing) * 1000)
            self.runner.shutdown(timeout_ms=max(SETTINGS_SAVE_MS, SHUTDOWN_WAIT_MS - spent_ms))
            close_default_cache()  # the blob locations noted, in the file before the end
        super().closeEvent(event)

    def _open_nodes(self) -> list[LocationNode]:
        """The places to open again at the next start: the rows of LOCAL, but for those
        that failed, unless they are places of the last session (one on a drive not
        plugged in at this start stays remembered until its row is closed)."""
        nodes = []
        for row in range(self.places.rowCount()):
            node = self.places.node(self.places.index(row, 0))
            if isinstance(node, LocationNode) and (
                    node.state is not LoadState.FAILED
                    or normalize_location(node.path) in self._reopened):
                nodes.append(node)
        return nodes


__all__ = ["MainWindow"]
