"""The files of one layer, listed in the background, with a filter box."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QFontMetrics
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from spyglass.core.errors import NotATarArchive, TooLarge
from spyglass.core.layerfiles import holds_files
from spyglass.core.manifest import Descriptor
from spyglass.core.text import visible
from spyglass.core.transports.base import ImageSource
from spyglass.gui import clipboard, icons
from spyglass.gui.formatting import TITLE_CHARS, cut_middle, human_size
from spyglass.gui.loading import list_files
from spyglass.gui.models.layer_files import PATH, LayerFilesModel
from spyglass.gui.models.layers import misnamed_compression, stored_kind
from spyglass.gui.models.table import monospace_font
from spyglass.gui.on_screen import fitted_size
from spyglass.gui.signals import emit
from spyglass.gui.views.buttons import plain_buttons
from spyglass.gui.views.widgets import (
    ElidedLabel,
    MessagePanel,
    PausedFilter,
    clear_filter_button,
    copy_button,
    filter_field,
    fit_columns,
    make_table,
    no_match_text,
    scaled_font,
)
from spyglass.gui.workers import LOCAL, Runner

if TYPE_CHECKING:
    from spyglass.core.cancel import CancelToken
    from spyglass.core.layerfiles import LayerListing

_ids = itertools.count(1)


@dataclass(frozen=True)
class _Refused:
    """A listing that failed the same way however often it is tried (a header too long
    to read, a blob that is no tar): the sentence under ``title``, and no Try Again."""

    sentence: str
    title: str = "Cannot list this layer"


def _listing(source: ImageSource, layer: Descriptor,
             cancel: CancelToken) -> LayerListing | _Refused:
    try:
        return list_files(source, layer, cancel)
    except TooLarge as exc:
        return _Refused(visible(str(exc)))
    except NotATarArchive as exc:  # (its bytes checked: the same however often read)
        return _Refused(visible(str(exc)), "Not a layer of files")

WIDTH_CHARS, HEIGHT_LINES = 150, 42
"""How large the dialog opens, in average characters and lines of its font (920x600 px
at 9 pt, within its screen): a size in pixels cut its columns at a large font."""

PATH_CHARS, COLUMN_CHARS = 46, 74
"""The least width of the Path column, and the most of any column fitted to what it
shows, in characters of the monospace font (320 and 520 px at 9 pt)."""

FILTER_AT_ONCE = 20_000
"""Up to this many entries the filter follows each key typed; past it (where a pass over
them takes tens of milliseconds), it waits for a pause in the typing (:class:`PausedFilter`)."""


class LayerFilesDialog(QDialog):
    """Lists what one layer adds, changes and deletes; closing it cancels the listing.

    Signals:
        loaded(int): the listing arrived with this many entries.
        failed(str): the listing failed; the sentence is shown in the dialog.
        copied(str): the layer's digest was copied; what the status bar says of it
            ("Copied …"), as of every other copy button.
    """

    loaded = Signal(int)
    failed = Signal(str)
    copied = Signal(str)

    def __init__(
        self, runner: Runner, source: ImageSource, layer: Descriptor, heading: str,
        parent: QWidget | None = None, *, lane: str = LOCAL, compression: str | None = None,
    ) -> None:
        """``compression`` is how the source serves the layer's bytes, as the Layers tab
        has it (None: as its media type says): the dialog says the same."""
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"Files — {cut_middle(heading, TITLE_CHARS)}")
        metrics = self.fontMetrics()
        self.resize(fitted_size(self, max(920, WIDTH_CHARS * metrics.averageCharWidth()),
                                max(600, HEIGHT_LINES * metrics.lineSpacing())))
        self._runner = runner
        self._key = f"files:{next(_ids)}"
        self._lane = lane
        self.layer = layer
        self.heading = heading

        # the heading (a long tag) and the digest are cut in their middle where they do not
        # fit, whole in their tooltips: they set the dialog's least width (1350 px at 18 pt)
        self.title = ElidedLabel(heading, mode=Qt.TextElideMode.ElideMiddle)
        self.title.setFont(scaled_font(self.title.font(), 1.0, bold=True))
        self.digest = ElidedLabel(str(layer.digest), mode=Qt.TextElideMode.ElideMiddle)
        self.digest.setFont(monospace_font())
        # (as wide as the digest where there is room: the rest of the line follows it)
        self.digest.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        copy = copy_button("Copy the layer's digest")
        copy.clicked.connect(
            lambda: emit(self.copied, clipboard.copy_text(str(layer.digest))))
        details = QHBoxLayout()
        details.setSpacing(4)
        details.addWidget(self.digest)
        details.addWidget(copy)
        kind = QLabel(f"· {stored_kind(layer.media_type, compression)} · "
                      f"{human_size(layer.size)}")
        kind.setTextFormat(Qt.TextFormat.PlainText)
        kind.setToolTip(misnamed_compression(layer.media_type, compression) or "")
        details.addWidget(kind)
        details.addStretch(1)
        self.filter = filter_field("Filter by path")
        self.filter.setEnabled(False)
        self.count = QLabel()
        """How many entries are listed and shown; once they are listed, as wide as the
        longest thing it can say of them (the filter field beside it kept changing width
        as a filter changed what it says)."""
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.unlisted = 0
        """How many entries the layer holds past those listed (see
        :data:`spyglass.core.layerfiles.DEFAULT_LIMIT`)."""

        # (the model sorts and filters itself, from keys worked out once: no proxy)
        self.model = LayerFilesModel(self)
        self.filtering = PausedFilter(self.filter, self._apply_filter,
                                      lambda: self.model.total, FILTER_AT_ONCE)
        self.filter.textChanged.connect(self.filtering.changed)
        self.table = make_table("Files")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setTextElideMode(Qt.TextElideMode.ElideLeft)
        self.panel = MessagePanel()
        self.retry_button = self.panel.add_button("Try Again")
        self.retry_button.clicked.connect(self._load)
        self.no_match = MessagePanel()
        """Shown for the table while the filter matches no entry listed (a blank table
        did not say that entries past the limit were never listed, so not searched)."""
        self.clear_filter_button = clear_filter_button(
            self.no_match, self.filter, tooltip="Show every entry listed again")
        self.clear_filter_button.show()  # (the panel is shown only while nothing matches)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.panel)
        self.pages.addWidget(self.table)
        self.pages.addWidget(self.no_match)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        plain_buttons(buttons)
        buttons.rejected.connect(self.reject)
        filter_row = QHBoxLayout()
        filter_row.addWidget(self.filter, 1)
        filter_row.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        layout.addWidget(self.title)
        layout.addLayout(details)
        layout.addLayout(filter_row)
        layout.addWidget(self.pages, 1)
        layout.addWidget(buttons)

        self._source = source
        if holds_files(layer.media_type):
            self._load()
        else:  # a file of its own (an artifact's text, JSON, WASM): nothing to list
            self.retry_button.hide()
            self.panel.show_message(
                "Not a layer of files",
                f"This blob is {layer.media_type}, not a tar archive of files, so it has no "
                "files to list. Raw JSON names it, with its digest.",
                icon=icons.information_icon())

    def _load(self) -> None:
        """List the layer's files (again, after a failure) on a worker."""
        self.retry_button.hide()
        self.retry_button.setDefault(False)
        checked = "Every byte is checked against the layer's digest."
        self.panel.show_message(
            "Reading the layer…",
            f"{self._kept_outside()} Where the image has no copy of it, it is fetched from "
            f"there. {checked}" if self.layer.urls else checked, busy=True)
        self.pages.setCurrentWidget(self.panel)
        source, layer = self._source, self.layer
        self._runner.submit(
            lambda cancel: _listing(source, layer, cancel),
            on_done=self._listed,
            on_error=self._failed,
            key=self._key,
            what=f"listing the files of {layer.digest}",
            lane=self._lane,
        )

    @property
    def error(self) -> str:
        """The error sentence shown, or ""."""
        return self.panel.body.text() if self.pages.currentWidget() is self.panel \
            and not self.panel.spinner.running else ""

    def _listed(self, listing: LayerListing | _Refused) -> None:
        if isinstance(listing, _Refused):
            self._failed(listing.sentence, retry=False, title=listing.title)
            return
        self.unlisted = listing.unlisted
        self.model.set_rows(listing.files)
        self.pages.setCurrentWidget(self.table)
        chars = QFontMetrics(monospace_font()).averageCharWidth()
        fit_columns(self.table, maximum=COLUMN_CHARS * chars, then=self._widen_path)
        self.filter.setEnabled(True)
        self.filter.setFocus()
        total, counting = self.model.total, self.count.fontMetrics()
        self.count.setMinimumWidth(max(
            counting.horizontalAdvance(self._count_text(total, filtered=filtered))
            for filtered in (False, True)))
        self._update_count()
        emit(self.loaded, len(listing.files))

    def _widen_path(self) -> None:
        """Give the Path column :data:`PATH_CHARS` characters where its paths are shorter,
        out of the room the other columns leave (at a large font on a small screen, a
        width of its own put the Link target column out of sight)."""
        table, header = self.table, self.table.horizontalHeader()
        last = header.count() - 1
        others = sum(header.sectionSize(c) for c in range(last) if c != PATH)
        room = table.viewport().width() - others - table.sizeHintForColumn(last)
        least = PATH_CHARS * QFontMetrics(monospace_font()).averageCharWidth()
        header.resizeSection(PATH, max(header.sectionSize(PATH), min(least, room)))

    def _kept_outside(self) -> str:
        """What a foreign layer is: kept outside the image, where its ``urls`` point."""
        urls = ", ".join(visible(url) for url in self.layer.urls)
        return (f"This layer is kept outside the image, at {urls}"
                f"{'' if urls.endswith('.') else '.'}")

    def _failed(self, message: str, *, retry: bool = True,
                title: str = "Cannot list this layer") -> None:
        said = f"{self._kept_outside()}\n\n{message}" if self.layer.urls else message
        self.panel.show_message(title, said, icon=icons.warning_icon())
        if retry and self._retry_can_help():
            self.retry_button.show()
            self.retry_button.setDefault(True)  # Enter tries again (not Close)
            self.retry_button.setFocus()
        emit(self.failed, message)

    def _retry_can_help(self) -> bool:
        """Whether reading the layer again may go otherwise: not for an empty layer (no
        tar, however often it is read), nor for a foreign one the source lacks whose
        urls Spyglass cannot fetch (http and https only)."""
        fetchable = any(url.lower().startswith(("http://", "https://"))
                        for url in self.layer.urls)
        return self.layer.size != 0 and (fetchable or not self.layer.urls)

    def _apply_filter(self, text: str) -> None:
        self.model.set_filter_text(text)
        self._update_count()
        self._show_matches()

    def _show_matches(self) -> None:
        """The table, or what :attr:`no_match` says where the filter matches no entry."""
        if self.pages.currentWidget() is self.panel:
            return  # (still reading, or failed: nothing filtered)
        text = self.filter.text().strip()
        if not text or self.model.rowCount():
            self.pages.setCurrentWidget(self.table)
            return
        total = self.model.total
        if self.unlisted:
            every = (f"Only the first {total:,} of the layer's {total + self.unlisted:,} "
                     f"entries are listed and searched: the other {self.unlisted:,} were "
                     "read and checked, not listed, so any of them that match are not "
                     f"found here. Clear the filter to see the {total:,} listed.")
            title = f"No entry matches “{text}”"
        else:
            title, every = no_match_text("entry", "entries", text, total, more=False)
        self.no_match.show_message(title, every, icon=icons.information_icon())
        self.pages.setCurrentWidget(self.no_match)

    def _count_text(self, shown: int, *, filtered: bool) -> str:
        """What :attr:`count` says with ``shown`` entries shown: how many are listed and
        the size of their files, or (``filtered``) how many of them the filter shows."""
        total = self.model.total
        listed = f"{total:,}"
        if self.unlisted:  # (a layer past the limit: its first entries)
            listed = f"the first {total:,} of {total + self.unlisted:,}"
        if filtered:
            return f"{shown:,} of {listed} entries"
        # (past the limit, the size is that of the files listed: not the layer's)
        size_of = "of the files listed" if self.unlisted else "of files"
        return f"{listed} entries · {human_size(self.model.file_bytes)} {size_of}"

    def _update_count(self) -> None:
        total = self.model.total
        shown = self.model.rowCount()
        self.count.setText(self._count_text(shown, filtered=shown != total))
        self.count.setToolTip(
            f"Spyglass lists the first {total:,} entries of a layer; the other "
            f"{self.unlisted:,} were read and checked against the layer's digest, and "
            "are not listed, searched by the filter nor counted in the size."
            if self.unlisted else "")

    def done(self, result: int) -> None:
        """Override QDialog::done: stop a listing still running (and forget its key)."""
        self._runner.forget(self._key)
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Override QWidget::closeEvent: stop a listing still running (and forget its
        key)."""
        self._runner.forget(self._key)
        super().closeEvent(event)
