"""The Layers tab: the layers of the image shown, their share of its size, and the
details of the selected one."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from spyglass.core import compression, media
from spyglass.core.image import LoadedImage
from spyglass.core.manifest import TITLE_ANNOTATION, Schema1Manifest
from spyglass.core.text import LINES, TABS, visible
from spyglass.gui.colors import muted_color
from spyglass.gui.formatting import exact_size, format_timestamp, human_size
from spyglass.gui.models.layers import CREATED_BY, DIGEST, SHARE, LayerRow, LayersModel
from spyglass.gui.models.table import monospace_font
from spyglass.gui.signals import emit
from spyglass.gui.themed import mute, on_palette_change
from spyglass.gui.views.buttons import push_button
from spyglass.gui.views.delegates import ShareBarDelegate
from spyglass.gui.views.focus_scroll import follow_focus
from spyglass.gui.views.value_label import fit_to_line, value_label
from spyglass.gui.views.widgets import (
    ElidedLabel,
    copy_button,
    fit_columns,
    make_table,
    scaled_font,
)

DIGESTS = ("Digest", "Diff ID")
"""The details that are digests: cut in their middle, with a button that copies them."""


class LayerDetails(QFrame):
    """The selected layer in full: digests, type, size, and the whole build step.

    The digests are cut in their middle where the pane is narrow, beside buttons that
    copy them whole (as the Overview's are): unbroken, they set the window's least width
    (1270 px at a 16 pt font) as soon as a layer was selected.

    Signals:
        copied(str): a digest was copied to the clipboard (for the status bar).
    """

    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setFont(scaled_font(self.title.font(), 1.0, bold=True))
        self.hint = QLabel("Select a layer to see it in full; double-click it (or press Enter) "
                           "to list its files.")
        self.hint.setWordWrap(True)
        mute(self.hint)
        self._values: dict[str, QLabel] = {}
        self._copy_buttons: dict[str, QToolButton] = {}
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(4)
        for name, mono in (("File name", False), ("Digest", True), ("Diff ID", True),
                           ("Media type", False), ("Size", False), ("URLs", True),
                           ("Created", False),
                           ("Created by", True), ("Annotations", True)):
            label = QLabel(name)
            mute(label)
            if name in DIGESTS:
                form.addRow(label, self._digest_field(name))
                continue
            # a Tab stop, selected and copied from the keyboard, as the Overview's values
            value = value_label(mono=mono)
            value.setAccessibleDescription(name)  # which value a reader is on
            # an image's text is shown as it is written: never read as rich text (a step
            # that echoes <h1>…</h1> showed a heading), nor turned by a bidi control
            value.setTextFormat(Qt.TextFormat.RichText if name == "Media type"
                                else Qt.TextFormat.PlainText)
            form.addRow(label, value)
            self._values[name] = value
        self._form = form
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addLayout(form)
        self._row: LayerRow | None = None
        # the muted colour of a media type's name is written into it
        on_palette_change(self, lambda: self.show_layer(self._row))
        self.show_layer(None)

    def _digest_field(self, name: str) -> QWidget:
        value = ElidedLabel(mode=Qt.TextElideMode.ElideMiddle)
        value.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        value.setFont(monospace_font())
        value.setAccessibleDescription(name)
        button = copy_button(f"Copy the {name.lower()}")
        fit_to_line(button, value)
        button.clicked.connect(lambda: self._copy(value.text()))
        field = QWidget()
        row = QHBoxLayout(field)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(value, 0)
        row.addWidget(button, 0)
        row.addStretch(1)
        self._values[name] = value
        self._copy_buttons[name] = button
        return field

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        emit(self.copied, text)

    def copy_button(self, name: str) -> QToolButton:
        """The button that copies the digest ``name`` ("Digest", "Diff ID") whole."""
        return self._copy_buttons[name]

    def value(self, name: str) -> str:
        return self._values[name].text()

    def show_layer(self, row: LayerRow | None) -> None:
        self._row = row
        self.hint.setVisible(row is None)
        self.title.setText("Layer details" if row is None else f"Layer {row.number}")
        for i in range(self._form.rowCount()):
            self._form.setRowVisible(i, row is not None)
        if row is None:
            for value in self._values.values():
                value.clear()
            return
        descriptor = row.descriptor
        self._values["Digest"].setText(str(descriptor.digest))
        self._values["Diff ID"].setText(str(row.diff_id) if row.diff_id else "—")
        for name in DIGESTS:  # (the digest, cut, is no Tab stop: read with its button)
            self._copy_buttons[name].setAccessibleDescription(self._values[name].text())
        self._copy_buttons["Diff ID"].setEnabled(row.diff_id is not None)
        friendly = media.friendly(descriptor.media_type)
        self._values["Media type"].setText(
            html.escape(visible(friendly)) if friendly == descriptor.media_type else  # (once)
            f"{html.escape(visible(friendly))}&nbsp;&nbsp;"
            f"<span style='color:{muted_color(self.palette()).name()}'>"
            f"{html.escape(visible(descriptor.media_type))}</span>")
        self._values["Size"].setText(
            f"{human_size(descriptor.size)} ({exact_size(descriptor.size)}), "
            f"{row.share * 100:.1f} % of the image's layers")
        step = row.step
        self._values["Created"].setText(format_timestamp(step.created) if step else "—")
        self._values["Created by"].setText(
            visible(step.created_by, keep=LINES) if step and step.created_by else "—")
        # an artifact's blob is often a file of its own: its name (as oras writes it), and
        # what else its descriptor says
        notes = dict(descriptor.annotations)
        title = notes.pop(TITLE_ANNOTATION, "")
        self._values["File name"].setText(visible(title))
        self._values["Annotations"].setText("\n".join(
            f"{visible(k)}: {visible(v, keep=TABS)}" for k, v in sorted(notes.items())))
        # a foreign layer is kept outside the image, where these point
        self._values["URLs"].setText("\n".join(visible(url) for url in descriptor.urls))
        for name, shown in (("File name", bool(title)), ("Annotations", bool(notes)),
                            ("URLs", bool(descriptor.urls))):
            self._form.setRowVisible(self._values[name], shown)


class LayersPage(QWidget):
    """A table of layers; double-clicking one (or "List Files…") asks for its files.

    Signals:
        filesRequested(object): the user wants the files of this
            :class:`~spyglass.gui.models.layers.LayerRow`.
    """

    filesRequested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LayersModel(self)
        self.summary = QLabel()
        self.summary.setWordWrap(True)  # (unwrapped, 683 px at a 16 pt font)
        self.files_button = push_button(
            "List Files…", "List the files the selected layer adds, changes or deletes")
        self.files_button.setEnabled(False)
        self.files_button.clicked.connect(self._request_selected)
        self.table = make_table("Layers")
        self.table.setModel(self.model)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setItemDelegateForColumn(SHARE, ShareBarDelegate(self.table))
        # a double-click or Enter (activated is both; connecting doubleClicked as well
        # would list the files twice)
        self.table.activated.connect(self._request)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._digest_width = 0  # the digests' column as fitted to them, before any narrowing
        self.details = LayerDetails()
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.files_button)
        # the details scroll where the page is short: they never gave up height, and at
        # the window's least size left the table one row
        self.details_area = QScrollArea()
        self.details_area.setWidget(self.details)
        self.details_area.setWidgetResizable(True)
        self.details_area.setFrameShape(QFrame.Shape.NoFrame)
        # no Tab stop of its own (one with no name, and no frame to show the focus): its
        # copy buttons are, scrolled into sight as they get the focus
        self.details_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        follow_focus(self.details_area)
        self.details_area.setMinimumHeight(2 * self.fontMetrics().lineSpacing())
        self._keep_rows()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details_area)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 0)
        self.splitter = splitter
        self._split_by_hand = False  # a split the user made stays theirs
        splitter.splitterMoved.connect(self._split_moved)
        self._fit_soon = QTimer(self)
        self._fit_soon.setSingleShot(True)
        self._fit_soon.timeout.connect(self._fit_details)
        # watched once all eventFilter reads is there: a palette or style sheet of the
        # views' own (GNOME's and XFCE's theme) sends events while they are set up
        self.table.viewport().installEventFilter(self)  # resized: room for "Created by" again
        # resized: the details' share again, once the splitter has shared out the change
        splitter.installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

    KEPT_ROWS = 2
    """The rows the table keeps in sight however short the page (the details scroll;
    where it has the room, :meth:`_fit_details` leaves it :data:`LEAST_ROWS`)."""

    def _keep_rows(self) -> None:
        """The table's least height: its header, :data:`KEPT_ROWS` rows and a scroll bar
        (at the font of the moment). The page's was once set by another pane's, which
        no longer asks for the height of all it says."""
        table = self.table
        table.setMinimumHeight(
            2 * table.frameWidth() + table.horizontalHeader().sizeHint().height()
            + self.KEPT_ROWS * table.verticalHeader().defaultSectionSize()
            + table.horizontalScrollBar().sizeHint().height())

    def set_image(self, image: LoadedImage) -> None:
        """Show ``image``'s layers (how its source serves them came with it)."""
        self._keep_rows()
        self.model.set_image(image)
        fit_columns(self.table, then=self._fitted)
        self.files_button.setEnabled(False)
        self.details.show_layer(None)
        layers = image.layers
        total = sum(layer.size for layer in layers)
        plain = all(row.compression == compression.NONE for row in self.model.rows)
        sized = ("sizes not recorded (Docker schema 1)"
                 if isinstance(image.manifest, Schema1Manifest) and layers
                 else f"{human_size(total)} "
                 f"{'uncompressed' if plain and layers else 'compressed'}")
        self.summary.setText(
            f"{len(layers)} layer{'s' if len(layers) != 1 else ''} · {sized} · "
            "double-click a layer (or press Enter) to list its files"
        )

    CREATED_BY_ROOM = 200
    """What "Created by" (the step that made the layer) keeps of a narrow table."""
    DIGEST_ROOM = 110
    """The least the digests' column is narrowed to, at the least: never narrower than
    the short digest it shows (:meth:`_digest_least`), which was cut to ``sha256:…`` at
    a 16 pt font (the whole digest is in its tooltip and the details)."""
    CREATED_BY_LEAST = 60
    """Narrower than this, the table scrolls sideways after all."""

    LEAST_ROWS = 3
    """The rows the table keeps in sight while the details take what they show."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._make_room()
        elif watched is self.splitter and event.type() == QEvent.Type.Resize:
            self._fit_soon.start()
        return False

    def _split_moved(self, *_: object) -> None:
        self._split_by_hand = True

    def _fit_details(self) -> None:
        """The details as tall as what they show, as long as the table keeps
        :data:`LEAST_ROWS` rows; shorter (they scroll) where the page is short."""
        sizes = self.splitter.sizes()
        if self._split_by_hand or len(sizes) != 2 or sum(sizes) <= 0:
            return
        total = sum(sizes)
        width = self.details_area.viewport().width() or self.details_area.width()
        wanted = self.details.heightForWidth(width)
        if wanted < 0:
            wanted = self.details.sizeHint().height()
        table = self.table
        table_least = 2 * table.frameWidth() + table.horizontalHeader().sizeHint().height() \
            + self.LEAST_ROWS * table.verticalHeader().defaultSectionSize()
        least = self.details_area.minimumSizeHint().height()
        details = max(least, min(wanted, total - table_least))
        if sizes[1] != details:
            self.splitter.setSizes([total - details, details])

    def _fitted(self) -> None:
        header = self.table.horizontalHeader()
        # the bar and its percentage side by side: twice the text's room (130 px at the
        # default font; a 16 pt font's "40.4 %" overlapped its own bar)
        share = 2 * self.table.fontMetrics().horizontalAdvance("100.0 %") + 24
        header.resizeSection(SHARE, max(header.sectionSize(SHARE), 130, share))
        self._digest_width = max(header.sectionSize(DIGEST), self._digest_least())
        self._make_room()

    def _digest_least(self) -> int:
        """The width of a short digest (``sha256:`` and 12 hex digits) in the column's
        font, with the cell's margins: what the digests' column is never narrowed below."""
        metrics = QFontMetrics(monospace_font())
        shown = [self.model.display(row, DIGEST) for row in self.model.rows]
        return max((metrics.horizontalAdvance(text) for text in shown),
                   default=metrics.horizontalAdvance("sha256:0123456789ab")) + 16

    def _make_room(self) -> None:
        """Keep "Created by" in sight without scrolling sideways: a table too narrow for
        every column as fitted narrows the digests (elided) first; wider again, they get
        their width back."""
        if not self._digest_width:
            return
        header = self.table.horizontalHeader()
        others = sum(header.sectionSize(c) for c in range(header.count())
                     if c not in (DIGEST, CREATED_BY) and not header.isSectionHidden(c))
        spare = self.table.viewport().width() - others - self.CREATED_BY_ROOM
        wanted = max(self.DIGEST_ROOM, self._digest_least(), min(self._digest_width, spare))
        if header.sectionSize(DIGEST) != wanted:
            header.resizeSection(DIGEST, wanted)
        # narrower still, "Created by" takes what is left, elided (whole in the details
        # below), rather than the table scrolling sideways; set, since the header's
        # stretch never makes the last column narrower than it was last set
        left = self.table.viewport().width() - others - wanted
        header.resizeSection(CREATED_BY, max(self.CREATED_BY_LEAST, left))

    def selected(self) -> LayerRow | None:
        indexes = self.table.selectionModel().selectedRows()
        return self.model.row_at(indexes[0]) if indexes else None

    def _selection_changed(self, *_: object) -> None:
        row = self.selected()
        self.files_button.setEnabled(row is not None)
        self.details.show_layer(row)
        self._fit_details()

    def _request_selected(self) -> None:
        row = self.selected()
        if row is not None:
            emit(self.filesRequested, row)

    def _request(self, index: QModelIndex) -> None:
        row = self.model.row_at(index)
        if row is not None:
            emit(self.filesRequested, row)
