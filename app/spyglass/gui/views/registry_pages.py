"""The middle pane for a registry row (its repositories) and a repository row (its tags).

Both pages show the rows of the shared :class:`RegistriesModel` through a
:class:`ChildFilterModel` rooted at the selected registry or repository, so
the tree on the left and the list in the middle are one set of rows: a page
read for one appears in the other. Loading, failures and empty lists are a
message in the page, never a dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QFontMetrics, QIcon, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from spyglass.gui import icons
from spyglass.gui.announce import announce
from spyglass.gui.models.places import LoadState
from spyglass.gui.models.registries import RegistriesModel
from spyglass.gui.models.registry_data import (
    attachment_tags,
    registry_summary,
    stale_text,
)
from spyglass.gui.models.registry_filter import ChildFilterModel
from spyglass.gui.models.registry_rows import (
    ALIASES,
    DIGEST,
    KIND_ROLE,
    NAME,
    SIGNED_ROLE,
    TYPE,
    RegistryNode,
    RepositoryNode,
)
from spyglass.gui.models.table import monospace_font
from spyglass.gui.shortcuts import StandardKey, standard_key
from spyglass.gui.signals import emit
from spyglass.gui.themed import follow_icon, mute, show_as_error
from spyglass.gui.views.buttons import press_on_enter, push_button
from spyglass.gui.views.context_menus import open_by_keyboard
from spyglass.gui.views.delegates import DataDelegate, ElideRightDelegate, SignedBadgeDelegate
from spyglass.gui.views.widgets import (
    Banner,
    ElidedLabel,
    KeepCurrentInView,
    MessagePanel,
    PausedFilter,
    Spinner,
    clear_filter_button,
    enable_clear_button,
    filter_field,
    link_error,
    make_table,
    no_match_text,
    scaled_font,
    take_text_drops_only,
)

AnyIndex = QModelIndex | QPersistentModelIndex



def first_page_text(node: RegistryNode | RepositoryNode) -> str:
    """What a page waiting for its first page of names says under its title: that it
    comes as the registry answers, or that the registry asked to wait (a 429 or 503 with
    ``Retry-After``), which is no registry that does not answer."""
    if node.asked_wait:
        return f"{node.asked_wait[0].upper()}{node.asked_wait[1:]}."
    return "The first page appears as soon as the registry answers."


def still_waiting_text(node: RegistryNode | RepositoryNode, host: str) -> str:
    """What a page waiting for its first page says past a while, with the time: "Still
    waiting for HOST" (or for its token server, while that is what is asked:
    :attr:`waiting_on`); while it waits to ask again (:attr:`asked_wait`, which its
    sentence says), "Waiting to ask HOST again": not a registry that does not answer."""
    if node.asked_wait:
        return f"Waiting to ask {host} again"
    return f"Still waiting for {node.waiting_on or host}"

class PageHeader(QWidget):
    """An icon, a title and a subtitle, a spinner, and buttons on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon = QLabel()
        # a long name (a repository nested deep) is shortened in its middle, whole in its
        # tooltip: it set the window's least width (past a 1024 px screen), and kept it
        # there while another page showed; Copy in its menu (and Ctrl+C) copies it whole
        self.title = ElidedLabel(mode=Qt.TextElideMode.ElideMiddle, copyable=True)
        self.title.setFont(scaled_font(self.title.font(), 1.45, bold=True))
        self.subtitle = QLabel()
        self.subtitle.setWordWrap(True)
        mute(self.subtitle)
        self.spinner = Spinner()
        self.spinner.hide()
        self._buttons = QHBoxLayout()
        self._buttons.setSpacing(6)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 6)
        layout.setSpacing(12)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignVCenter)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        layout.addLayout(titles, 1)
        layout.addWidget(self.spinner, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(self._buttons)

    def set(self, icon: QIcon, title: str, subtitle: str, *, busy: bool = False) -> None:
        self.icon.setPixmap(icon.pixmap(36, 36))
        self.title.setText(title)
        self.subtitle.setText(subtitle)
        if busy:
            self.spinner.start()
        else:
            self.spinner.stop()

    def add_button(self, text: str, tooltip: str = "") -> QPushButton:
        button = push_button(text, tooltip)
        self._buttons.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
        return button

    def add_widget(self, widget: QWidget) -> None:
        self._buttons.addWidget(widget, 0, Qt.AlignmentFlag.AlignVCenter)


def _filter_edit(placeholder: str, view: Callable[[], QAbstractItemView],
                 open_row: Callable[[QModelIndex], None],
                 typed: Callable[[], object]) -> QLineEdit:
    """A page's filter: Ctrl+F (Find) reaches it while its page shows, and Enter opens the
    row highlighted in ``view`` (or else the first one shown) with ``open_row``, once
    ``typed`` applied what was typed (a :class:`PausedFilter` waiting for a pause)."""
    edit = filter_field(placeholder)
    find = QShortcut(standard_key(StandardKey.Find), edit)
    find.setContext(Qt.ShortcutContext.WindowShortcut)

    def focus() -> None:
        edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        edit.selectAll()

    find.activated.connect(focus)

    def open_highlighted() -> None:
        typed()
        shown = view()
        model, root = shown.model(), shown.rootIndex()
        current = shown.currentIndex()
        selection = shown.selectionModel()
        if not (current.isValid() and current.parent() == root and selection is not None
                and selection.isSelected(current)):  # not a row of a page shown before
            current = model.index(0, 0, root) if model is not None \
                and model.rowCount(root) > 0 else QModelIndex()
        if current.isValid():
            open_row(current)

    edit.returnPressed.connect(open_highlighted)
    return edit


def _clear_quietly(edit: QLineEdit) -> None:
    """Empty a filter without telling its page (which is changing what it shows). Not
    with blockSignals: the line edit hears its own textChanged to hide its clear button,
    which then stayed on beside an empty field."""
    edit.setProperty("clearing", True)
    try:
        edit.clear()
    finally:
        edit.setProperty("clearing", False)


def _banner_row(banner: Banner, retry: QPushButton) -> QHBoxLayout:
    """A page's banner, and its Try Again beside it (shown with a failure it says)."""
    row = QHBoxLayout()
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(banner, 1)
    row.addWidget(retry, 0, Qt.AlignmentFlag.AlignTop)
    return row


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    show_as_error(label)
    label.hide()
    return label


FILTER_AT_ONCE = 2_000
"""Up to this many rows (tags, repositories) a page's filter follows each key typed; past
it (where a pass over them takes over 10 ms, and more with the window drawn again), it
waits for a pause in the typing (:class:`PausedFilter`)."""


class _RootedPage(QWidget):
    """What both pages share: a proxy rooted at one row, and knowing when that row goes."""

    def __init__(self, model: RegistriesModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.proxy = ChildFilterModel(self)
        self.proxy.setSourceModel(model)
        self._root = QPersistentModelIndex()
        model.dataChanged.connect(self._source_data_changed)
        model.rowsInserted.connect(self._source_rows_changed)
        model.rowsRemoved.connect(self._source_rows_changed)
        model.layoutChanged.connect(self._source_layout_changed)

    @property
    def source_root(self) -> QModelIndex:
        """The registry or repository the page shows (invalid once it is gone)."""
        root = self._root
        return root.sibling(root.row(), 0) if root.isValid() else QModelIndex()

    def _set_root(self, index: AnyIndex) -> QModelIndex:
        self._root = QPersistentModelIndex(index)
        return self.proxy.set_root(index)

    def _source_data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex,
                             _roles: object = None) -> None:
        root = self.source_root
        if root.isValid() and top_left.row() <= root.row() <= bottom_right.row() \
                and top_left.parent() == root.parent():
            self.refresh()

    def _source_rows_changed(self, parent: QModelIndex, _first: int, _last: int) -> None:
        if self._root.isValid() and parent == self.source_root:
            self.refresh()

    def _source_layout_changed(self, *_args: object) -> None:
        if self._root.isValid():
            self.refresh()

    def refresh(self) -> None:
        raise NotImplementedError


class RegistryPage(_RootedPage):
    """A registry's repositories, with a filter, and a field to open a repository by name.

    Signals:
        repositoryActivated(QModelIndex): a repository row was clicked; the
            index is of the :class:`RegistriesModel`.
        openRequested(str): "Open" with the text of the repository field.
        editRequested(): "Edit Registry…".
        removeRequested(): "Remove Registry…".
        retryRequested(): "Try Again" after a failure.
        stopRequested(float): "Stop" while the first page took long; the seconds waited.
    """

    repositoryActivated = Signal(QModelIndex)
    openRequested = Signal(str)
    editRequested = Signal()
    removeRequested = Signal()
    retryRequested = Signal()
    stopRequested = Signal(float)

    def __init__(self, model: RegistriesModel, parent: QWidget | None = None) -> None:
        super().__init__(model, parent)
        self.header = PageHeader()
        # named as in the registry's menu and under a failure ("Edit…" here, "Edit
        # Registry…" in the panel below it, read as two things)
        self.edit_button = self.header.add_button("Edit Registry…", "Change the user name, "
                                                  "password or security of this registry")
        self.edit_button.clicked.connect(self.editRequested)
        self.remove_button = self.header.add_button("Remove Registry…", "Take this registry "
                                                    "off the list and forget its password")
        self.remove_button.clicked.connect(self.removeRequested)

        self.open_edit = QLineEdit()
        self.open_edit.setPlaceholderText("Open a repository by name, e.g. team/app or "
                                          "team/app:1.0")
        enable_clear_button(self.open_edit)
        take_text_drops_only(self.open_edit)
        self.open_edit.setAccessibleName("Open a repository by name")
        self.open_edit.returnPressed.connect(self._open)
        self.open_error = _error_label()
        self.open_edit.textChanged.connect(lambda _text: self.set_open_error(""))
        self.open_button = push_button("Open")
        self.open_button.clicked.connect(self._open)

        self.banner = Banner()
        self.banner.hide()
        self.banner_retry_button = push_button("Try Again")
        self.banner_retry_button.clicked.connect(self.retryRequested)
        self.banner_retry_button.hide()
        self.banner.dismissed.connect(self.banner_retry_button.hide)
        self.filter = _filter_edit("Filter repositories", lambda: self.list, self._activated,
                                   lambda: self.filtering.flush())
        self.filtering = PausedFilter(self.filter, self._apply_filter, self._rows,
                                      FILTER_AT_ONCE)
        self.filter.textChanged.connect(self._filter_changed)
        self.count = QLabel()
        mute(self.count)
        # a button, not a link in the count: Tab reaches it, and a reader says what it does
        self.load_all_button = push_button(
            "Load All", "List the rest of this registry's repositories (the list reads "
            "the next page as you scroll to its end)")
        self.load_all_button.clicked.connect(self._load_all)
        self.load_all_button.hide()

        self.list = QListView()
        self.list.setAccessibleName("Repositories")
        self.list.setItemDelegate(DataDelegate(self.list))
        self.list.setModel(self.proxy)
        self.list.setUniformItemSizes(True)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setIconSize(QSize(16, 16))
        self.list.setSpacing(1)
        self.list.setAlternatingRowColors(True)
        self.list.clicked.connect(self._activated)
        self.list.activated.connect(self._activated)
        self.panel = MessagePanel()
        self.retry_button = self.panel.add_button("Try Again")
        self.retry_button.clicked.connect(self.retryRequested)
        self.panel_edit_button = self.panel.add_button("Edit Registry…")
        self.panel_edit_button.clicked.connect(self.editRequested)
        self.clear_filter_button = clear_filter_button(self.panel, self.filter)
        self.panel.stopRequested.connect(
            lambda: emit(self.stopRequested, self.panel.waited_for))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.panel)
        self.stack.addWidget(self.list)

        # the field and the filter in one grid, Open and the count in its second column:
        # their right edges line up whatever the count says (each row had its own, and
        # the filter ran 12 px past the field above it)
        fields = QGridLayout()
        fields.setHorizontalSpacing(6)
        fields.setVerticalSpacing(6)
        fields.setColumnStretch(0, 1)
        fields.addWidget(self.open_edit, 0, 0)
        fields.addWidget(self.open_button, 0, 1)
        fields.addWidget(self.open_error, 1, 0, 1, 2)
        fields.addLayout(_banner_row(self.banner, self.banner_retry_button), 2, 0, 1, 2)
        fields.addWidget(self.filter, 3, 0)
        count_row = QHBoxLayout()
        count_row.setSpacing(6)
        count_row.addWidget(self.count)
        count_row.addWidget(self.load_all_button)
        fields.addLayout(count_row, 3, 1)
        body = QVBoxLayout()
        body.setContentsMargins(16, 0, 16, 12)
        body.setSpacing(6)
        body.addLayout(fields)
        body.addWidget(self.stack, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.header)
        layout.addLayout(body, 1)

    @property
    def node(self) -> RegistryNode | None:
        node = self.model.node(self.source_root)
        return node if isinstance(node, RegistryNode) else None

    def show_registry(self, index: AnyIndex) -> None:
        """Show the registry at ``index`` (of the model)."""
        if self._root.isValid() and self.source_root == index:
            self.refresh()
            return
        self.filtering.cancel()
        _clear_quietly(self.filter)
        self.proxy.set_filter_text("")
        self.open_edit.clear()
        self.set_open_error("")
        self.list.setRootIndex(self._set_root(index))
        self.refresh()

    def set_open_error(self, text: str) -> None:
        """Say under the field why the name typed cannot be opened ("": no more)."""
        self.open_error.setText(text)
        self.open_error.setVisible(bool(text))
        link_error(self.open_edit, text)
        if text:
            announce(self.open_error, text, assertive=True)

    def refresh(self) -> None:
        node = self.node
        if node is None:
            return
        loading = node.state in (LoadState.PENDING, LoadState.LOADING)
        self.header.set(icons.registry_icon(), node.host, registry_summary(node),
                        busy=loading)
        repositories = node.repositories
        shown = self.proxy.rowCount(self.list.rootIndex())
        if node.stale:  # listed again, in vain: said here, not in the status bar alone
            self.banner.show_text(stale_text(node))
        elif node.state is LoadState.FAILED and repositories:
            # those known already are still there: what failed is said above them
            # (signing in, say), not left to the status bar
            said = node.error or f"Cannot list the repositories of {node.host}."
            self.banner.show_text(f"{said} Only those known already are shown.")
        else:
            self.banner.hide()
        self.banner_retry_button.setVisible(not self.banner.isHidden())
        if node.state is LoadState.FAILED and not repositories:
            self._panel(f"Stopped listing the repositories of {node.host}" if node.stopped
                        else f"Cannot list the repositories of {node.host}", node.error or "",
                        icons.warning_icon(), retry=True)
        elif loading and not repositories:
            self._panel(f"Listing the repositories of {node.host}…", first_page_text(node),
                        busy=True, waiting=still_waiting_text(node, node.host),
                        since=node.waiting_since)
        elif node.no_catalog and not repositories:
            title = (f"{node.host} does not let {node.config.username} list its repositories"
                     if node.catalog_denied else f"{node.host} does not list its repositories")
            self._panel(title,
                        "Type a repository name above, for example library/alpine, to open "
                        "it. Repositories opened by name stay in the list.",
                        icons.information_icon())
        elif not repositories:
            self._panel("No repositories yet",
                        f"{node.host} holds no repositories. Push an image to it, or open a "
                        "repository by name above.", icons.information_icon())
        elif self.proxy.filter_text and not shown:
            self._panel(*no_match_text("repository", "repositories", self.proxy.filter_text,
                                   len(repositories), more=loading or node.more),
                        icons.information_icon(), clear=True)
        else:
            self.stack.setCurrentWidget(self.list)
        # no filter over a page with no list (it sat above the failure, filtering nothing)
        self.filter.setVisible(bool(repositories))
        self._count(node, len(repositories), shown)

    def _panel(self, title: str, body: str, icon: QIcon | None = None, *,
               busy: bool = False, retry: bool = False, waiting: str = "",
               since: float | None = None, clear: bool = False) -> None:
        self.panel.show_message(title, body, icon=icon, busy=busy, waiting=waiting,
                                since=since)
        self.retry_button.setVisible(retry)
        self.panel_edit_button.setVisible(retry)
        self.clear_filter_button.setVisible(clear)
        self.stack.setCurrentWidget(self.panel)

    def _count(self, node: RegistryNode, total: int, shown: int) -> None:
        # (not while it reads: nor between two pages of "Load All")
        self.load_all_button.setVisible(
            bool(total) and node.more and node.state is not LoadState.LOADING
            and not (node.load_all and node.state is LoadState.LOADED))
        if not total:
            self.count.setText("")
            return
        noun = f"{total:,} repositor{'ies' if total != 1 else 'y'}"
        if self.proxy.filter_text:
            text = f"{shown:,} of {noun}"
        else:
            text = noun
        if node.state is LoadState.LOADING and total:
            text += " so far…"
        elif node.more:
            text += " so far"  # (and Load All beside it)
        if node.no_catalog and total:
            text += " opened by name"
        self.count.setText(text)

    def _rows(self) -> int:
        node = self.node
        return len(node.children) if node is not None else 0

    def _filter_changed(self, text: str) -> None:
        if not self.filter.property("clearing"):
            self.filtering.changed(text)

    def _apply_filter(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        if text.strip():
            self._load_all()
        self.refresh()

    def _load_all(self) -> None:
        if self._root.isValid():
            self.model.fetch_all(self.source_root)

    def _open(self) -> None:
        emit(self.openRequested, self.open_edit.text())

    def _activated(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index)
        if isinstance(self.model.node(source), RepositoryNode):
            emit(self.repositoryActivated, source)


class RepositoryPage(_RootedPage):
    """A repository's tags: name, digest, the other tags of the same image; filter; actions.

    The controller adds the actions (copy, delete) to :attr:`table` and the
    buttons. Double-click or Enter opens a tag.

    Tags that hold signatures, attestations, SBOMs or referrers rather than images
    are hidden until :attr:`attachments_box` is ticked; tags with a cosign
    signature in the repository wear a "signed" pill.

    Signals:
        tagActivated(QModelIndex): a tag was opened; the index is of the model.
        retryRequested(): "Try Again" after a failure.
        stopRequested(float): "Stop" while the first page took long; the seconds waited.
        forgetRequested(): "Remove from List" for a repository opened by name whose tags
            could not be listed.
        showAttachmentsToggled(bool): "Show signature and referrer tags" was (un)ticked.
    """

    tagActivated = Signal(QModelIndex)
    forgetRequested = Signal()
    retryRequested = Signal()
    stopRequested = Signal(float)
    showAttachmentsToggled = Signal(bool)

    def __init__(self, model: RegistriesModel, parent: QWidget | None = None) -> None:
        super().__init__(model, parent)
        self.header = PageHeader()
        self.copy_button = QToolButton()
        self.copy_button.setText("Copy")
        follow_icon(self.copy_button, icons.copy_icon)
        self.copy_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.copy_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        press_on_enter(self.copy_button)
        self.header.add_widget(self.copy_button)
        self.delete_button = self.header.add_button("Delete…", "Delete the selected tag's "
                                                    "image from the registry")
        self.banner = Banner()
        self._failure_shown = False
        """Whether the banner says the listing's failure (:meth:`refresh` takes it away)."""
        self.filter = _filter_edit("Filter tags", lambda: self.table, self._activated,
                                   lambda: self.filtering.flush())
        self.filtering = PausedFilter(self.filter, self._apply_filter, self._rows,
                                      FILTER_AT_ONCE)
        self.filter.textChanged.connect(self._filter_changed)
        self.count = QLabel()
        mute(self.count)
        self.attachments_box = QCheckBox("Show signature and referrer tags")
        self.attachments_box.setToolTip(
            "Show the tags that hold signatures, attestations, SBOMs and referrers "
            "(sha256-….sig, .att, .sbom, sha256-…) rather than images. Signed tags are "
            "marked either way.")
        self.attachments_box.toggled.connect(self._attachments_toggled)

        self.table: QTableView = make_table("Tags")
        self.table.setModel(self.proxy)
        # a later page sorted in above the tag selected leaves it where it is on screen
        self._keep_in_view = KeepCurrentInView(self.table)
        self.badges = SignedBadgeDelegate(SIGNED_ROLE, self.table)
        self.table.setItemDelegateForColumn(NAME, self.badges)
        # a list of tag names: cut whole at its end, not in the middle of a name
        self.table.setItemDelegateForColumn(ALIASES, ElideRightDelegate(self.table))
        self.table.setMouseTracking(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        open_by_keyboard(self.table)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        metrics = self.table.fontMetrics()
        header.resizeSection(NAME, max(200, metrics.horizontalAdvance("x" * 26)))
        digests = QFontMetrics(monospace_font())  # they are drawn in it
        shortest = digests.horizontalAdvance("sha256:0123456789ab")
        header.resizeSection(DIGEST, shortest + 48)
        self._digest_room = (shortest + 16, shortest + 48)  # (least, wanted)
        header.resizeSection(TYPE, metrics.horizontalAdvance("Docker manifest (schema 2)") + 24)
        header.setStretchLastSection(True)
        self.table.setItemDelegateForColumn(TYPE, ElideRightDelegate(self.table))
        self._wanted = {NAME: header.sectionSize(NAME), TYPE: header.sectionSize(TYPE)}
        self._least = dict(self.LEAST)  # as the columns were last fitted to
        self.table.viewport().installEventFilter(self)
        self.table.doubleClicked.connect(self._activated)
        self.table.activated.connect(self._activated)
        self.panel = MessagePanel()
        self.retry_button = self.panel.add_button("Try Again")
        self.retry_button.clicked.connect(self.retryRequested)
        self.forget_button = self.panel.add_button("Remove from List")
        self.forget_button.setToolTip("Take this repository, opened by name, off the list")
        self.forget_button.clicked.connect(self.forgetRequested)
        self.forget_button.hide()
        self.clear_filter_button = clear_filter_button(self.panel, self.filter)
        self.panel.stopRequested.connect(
            lambda: emit(self.stopRequested, self.panel.waited_for))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.panel)
        self.stack.addWidget(self.table)

        filter_row = QHBoxLayout()
        filter_row.addWidget(self.filter, 1)
        filter_row.addWidget(self.attachments_box)
        filter_row.addSpacing(6)
        filter_row.addWidget(self.count)
        # a listing that failed after some pages: said above the tags read, with Try Again
        self.banner_retry_button = push_button("Try Again")
        self.banner_retry_button.clicked.connect(self.retryRequested)
        self.banner_retry_button.hide()
        self.banner.dismissed.connect(self.banner_retry_button.hide)
        body = QVBoxLayout()
        body.setContentsMargins(16, 0, 16, 12)
        body.setSpacing(6)
        body.addLayout(_banner_row(self.banner, self.banner_retry_button))
        body.addLayout(filter_row)
        body.addWidget(self.stack, 1)
        self.hint = QLabel("Double-click a tag (or press Enter) to open the image. Hover a "
                           "tag for its full digest; Ctrl+Shift+C copies its reference by "
                           "digest.")
        self.hint.setWordWrap(True)  # (unwrapped, it set the window's least width: 909 px
        # at a 16 pt font, from this page while it was hidden)
        self.hint.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        mute(self.hint)
        body.addWidget(self.hint)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.header)
        layout.addLayout(body, 1)

    ALIASES_ROOM = 150
    """What "Same image as" keeps of a narrow table: the tag names and types give way."""
    ALIASES_LEAST = 60
    """What "Same image as" keeps of a narrower table still (narrower than that, the
    table scrolls sideways)."""
    LEAST: ClassVar[dict[int, int]] = {NAME: 110, TYPE: 90}
    """The least the tag names and types are narrowed to (cut at their end); a signed
    tag's name has this beside its pill (:meth:`least`)."""

    def least(self) -> dict[int, int]:
        """:data:`LEAST` for the repository shown: with a signed tag, the names' column
        has room for the "signed" pill too (at 800 px, "latest" beside it was "l…t")."""
        least = dict(self.LEAST)
        node = self.node
        if node is not None and node.signed:
            least[NAME] += self.badges.pill_room(self.table.font())
        return least

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._make_room()
        return False

    def _make_room(self) -> None:
        """Keep "Same image as" in sight: a table too narrow for its columns as set
        narrows the tag names and types (in proportion, each down to :meth:`least`; a
        name held at its least takes from the types first); narrower still, the digests
        give up their margin, then "Same image as" its room, down to
        :data:`ALIASES_LEAST`. Wider again, each gets its width back."""
        header = self.table.horizontalHeader()
        room = self.table.viewport().width()
        digest_least, digest = self._digest_room
        spare = room - digest - self.ALIASES_ROOM
        scale = min(1.0, max(0, spare) / sum(self._wanted.values()))
        least = self._least = self.least()
        widths = {column: max(least[column], int(wanted * scale))
                  for column, wanted in self._wanted.items()}
        over = sum(widths.values()) - max(spare, sum(least.values()))
        if over > 0:
            widths[TYPE] = max(least[TYPE], widths[TYPE] - over)
        short = sum(widths.values()) + digest + self.ALIASES_ROOM - room
        widths[DIGEST] = max(digest_least, digest - max(0, short))
        for column, width in widths.items():
            if header.sectionSize(column) != width:
                header.resizeSection(column, width)
        # set, since the header's stretch never makes the last column narrower than it
        # was last set (it stayed 100 px, and the table scrolled sideways)
        aliases = max(self.ALIASES_LEAST, room - sum(widths.values()))
        if header.sectionSize(ALIASES) != aliases:
            header.resizeSection(ALIASES, aliases)

    @property
    def node(self) -> RepositoryNode | None:
        node = self.model.node(self.source_root)
        return node if isinstance(node, RepositoryNode) else None

    def show_repository(self, index: AnyIndex) -> None:
        """Show the repository at ``index`` (of the model)."""
        if self._root.isValid() and self.source_root == index:
            self.refresh()
            return
        self.banner.hide()
        self.filtering.cancel()
        _clear_quietly(self.filter)
        self.proxy.set_filter_text("")
        self.table.setRootIndex(self._set_root(index))
        self.table.scrollToTop()
        self.refresh()

    def current_tag(self) -> QModelIndex:
        """The selected tag (an index of the model, column 0), or an invalid index."""
        index = self.table.currentIndex()
        if not index.isValid() or not self.table.selectionModel().isRowSelected(
                index.row(), index.parent()):
            return QModelIndex()
        source = self.proxy.mapToSource(index.siblingAtColumn(NAME))
        return source if self.model.data(source, KIND_ROLE) == "tag" else QModelIndex()

    def select_tag(self, source: AnyIndex) -> bool:
        """Make the tag at ``source`` (of the model) the table's current and selected row;
        False when the table does not show it (another repository's, or filtered out)."""
        index = self.proxy.mapFromSource(self.model.index(source.row(), 0, source.parent()))
        if index.isValid():
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
            self.table.scrollTo(index)
        return index.isValid()

    def tag_texts(self, column: int = NAME) -> list[str]:
        """What the table shows in ``column``, top to bottom (for tests and the count)."""
        root = self.table.rootIndex()
        return [self.proxy.index(r, column, root).data()
                for r in range(self.proxy.rowCount(root))]

    def refresh(self) -> None:
        node = self.node
        if node is None:
            return
        if self.least() != self._least:  # (a repository with signed tags, or without)
            self._make_room()
        loading = node.state in (LoadState.PENDING, LoadState.LOADING)
        # what the table can show is counted, the hidden tags apart ("3 tags" beside a
        # table of one and "3 tags · 2 hidden" read as a contradiction), once: beside the
        # filter, as the registry page counts its repositories (the header said "5 tags"
        # over the count's "5 tags"); the header says what no count can
        hidden = 0 if self.proxy.show_attachments else node.attachment_tags
        failed = "  ·  the tags could not be listed" if node.state is LoadState.FAILED \
            else ""
        self.header.set(icons.repository_icon(), node.name, f"{node.parent.host}{failed}",
                        busy=loading)
        count = len(node.by_name)
        shown = self.proxy.rowCount(self.table.rootIndex())
        if node.state is LoadState.FAILED and not count:
            self.panel.show_message(
                f"Stopped listing the tags of {node.name}" if node.stopped
                else f"Cannot list the tags of {node.name}", node.error or "",
                icon=icons.warning_icon())
            self.retry_button.show()
            # one opened by name (a typo, one not pushed yet) can go, as the menu offers
            self.forget_button.setVisible(node.pinned)
            self.stack.setCurrentWidget(self.panel)
        elif loading and not count:
            self.panel.show_message(f"Listing the tags of {node.name}…",
                                    first_page_text(node),
                                    busy=True,
                                    waiting=still_waiting_text(node, node.parent.host),
                                    since=node.waiting_since)
            self.retry_button.hide()
            self.forget_button.hide()
            self.stack.setCurrentWidget(self.panel)
        elif not count:
            self.panel.show_message("No tags", f"{node.parent.host}/{node.name} has no tags.",
                                    icon=icons.information_icon())
            self.retry_button.hide()
            self.forget_button.hide()
            self.stack.setCurrentWidget(self.panel)
        elif self.proxy.filter_text and not shown:
            self.panel.show_message(
                *no_match_text("tag", "tags", self.proxy.filter_text, count - hidden,
                           more=loading), icon=icons.information_icon())
            self.retry_button.hide()
            self.forget_button.hide()
            self.stack.setCurrentWidget(self.panel)
        else:
            self.stack.setCurrentWidget(self.table)
        self.clear_filter_button.setVisible(self.stack.currentWidget() is self.panel
                                            and bool(self.proxy.filter_text) and bool(count))
        failed_after = node.state is LoadState.FAILED and bool(count)
        if node.stale and count:  # listed again, in vain: the tags shown are as read before
            self.banner.show_text(stale_text(node))
            self._failure_shown = True
        elif failed_after:  # the tags read are shown; why the rest are not is said here
            said = node.error or f"Cannot list the tags of {node.name}."
            self.banner.show_text(f"{said} Only the tags listed before it failed are shown.")
            self._failure_shown = True
        elif self._failure_shown:  # (not a banner something else put up)
            self.banner.hide()
            self._failure_shown = False
        self.banner_retry_button.setVisible(self._failure_shown)
        self.filter.setVisible(bool(count))  # (no filter over a page with no list)
        self.hint.setVisible(bool(count))  # how to open a tag, while there are tags to open
        self.attachments_box.setVisible(node.attachment_tags > 0)
        showable = count - hidden
        noun = f"{showable:,} tag{'s' if showable != 1 else ''}"
        if not count:
            noun = ""
        elif self.proxy.filter_text:
            noun = f"{shown:,} of {noun}"
        if count and hidden:
            noun += f" · {hidden:,} hidden"
        if failed_after:
            noun += " listed before it failed"
        elif count and not node.done:
            noun += " so far…"  # (more pages to come)
        self.count.setText(noun)
        self.count.setToolTip(
            f"{attachment_tags(hidden)} {'are' if hidden != 1 else 'is'} hidden"
            if hidden else "")

    @property
    def show_attachments(self) -> bool:
        return self.proxy.show_attachments

    def set_show_attachments(self, show: bool) -> None:
        """Show or hide the attachment tags (ticks the box without emitting)."""
        self.attachments_box.blockSignals(True)
        self.attachments_box.setChecked(show)
        self.attachments_box.blockSignals(False)
        self.proxy.set_show_attachments(show)
        self.refresh()

    def _attachments_toggled(self, show: bool) -> None:
        self.proxy.set_show_attachments(show)
        self.refresh()
        emit(self.showAttachmentsToggled, show)

    def _rows(self) -> int:
        node = self.node
        return len(node.children) if node is not None else 0

    def _filter_changed(self, text: str) -> None:
        if not self.filter.property("clearing"):
            self.filtering.changed(text)

    def _apply_filter(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        self.refresh()

    def _activated(self, index: QModelIndex) -> None:
        source = self.proxy.mapToSource(index.siblingAtColumn(NAME))
        if source.isValid():
            emit(self.tagActivated, source)


__all__ = ["PageHeader", "RegistryPage", "RepositoryPage"]
