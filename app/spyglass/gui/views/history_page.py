"""The Config & History tab: the build history as a table, and the config as JSON."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QPalette, QShowEvent
from PySide6.QtWidgets import QLabel, QSplitter, QTextBrowser, QVBoxLayout, QWidget

from spyglass.core import media
from spyglass.core.image import LoadedImage
from spyglass.core.manifest import ImageManifest
from spyglass.core.text import LINES, visible
from spyglass.gui.formatting import exact_size, human_size, short_digest, wrap_anywhere
from spyglass.gui.models.history import COMMENT, STEP, HistoryModel, history_mismatch
from spyglass.gui.models.table import monospace_font
from spyglass.gui.themed import color_links, on_palette_change
from spyglass.gui.views.json_html import JsonColors, render_text
from spyglass.gui.views.widgets import fit_columns, make_table


def json_browser(name: str, parent: QWidget | None = None) -> QTextBrowser:
    """A read-only browser for rendered JSON: monospace, links handled by the caller;
    ``name`` names it for screen readers."""
    browser = QTextBrowser(parent)
    browser.setAccessibleName(name)
    browser.setOpenLinks(False)
    browser.setOpenExternalLinks(False)
    browser.setAcceptDrops(False)
    browser.setFont(monospace_font())
    browser.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
    browser.document().setDocumentMargin(10)
    return browser


def json_colors(widget: QWidget) -> JsonColors:
    """The colours of JSON shown in ``widget`` (a view): for a dark or a light base, as its
    palette has now (after a change of it, the JSON is laid out again: see
    :func:`~spyglass.gui.themed.on_palette_change`)."""
    return JsonColors.for_background(widget.palette().base().color().lightness() < 128)


LARGE_JSON = 256 * 1024
"""Documents longer than this (in bytes) are not laid out with colours and links: Qt
takes seconds and gigabytes for a megabyte of them, on the GUI thread. They are offered
as plain text instead (:func:`large_json_html`, :func:`plain_json`)."""

SHOW_ANYWAY = "show:plain"
"""The href of the placeholder's link that shows a large document as plain text."""


def large_json_html(what: str, size: int, palette: QPalette) -> str:
    """The placeholder for a document too large to lay out (``what``: "This manifest"),
    its link in the link colour of ``palette`` (the view's)."""
    return color_links(
        f"<p>{html.escape(what)} is {exact_size(size)}, too large to show with colours and "
        "links without holding up the window.</p>"
        f"<p><a href='{SHOW_ANYWAY}'>Show it as plain text</a>, as it is stored (laying it "
        "out may take a moment), or copy it.</p>", palette)


def plain_json(raw: bytes) -> str:
    """A document's bytes as text to show as they are, nothing hidden or reordered."""
    return visible(raw.decode("utf-8", "replace"), keep=LINES)


class HistoryPage(QWidget):
    """The history table above the config JSON."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = HistoryModel(self)
        self.table = make_table("History")
        self.table.setModel(self.model)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.history_caption = QLabel()
        self.config_caption = QLabel()
        self.config_caption.setWordWrap(True)  # (why a config cannot be shown, say)
        self.config_view = json_browser("Config")

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(6)
        top_layout.addWidget(self.history_caption)
        top_layout.addWidget(self.table, 1)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 6, 0, 0)
        bottom_layout.setSpacing(6)
        bottom_layout.addWidget(self.config_caption)
        bottom_layout.addWidget(self.config_view, 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(self.splitter)
        self.config_view.anchorClicked.connect(self._open_link)
        self._config_raw: bytes | None = None  # the config to show, rendered when shown
        self._stale = False
        self._plain = False  # a large config the user asked to see as plain text
        on_palette_change(self.config_view, self._recolor)

    def showEvent(self, event: QShowEvent) -> None:
        """Override QWidget::showEvent: the config is laid out when first seen."""
        super().showEvent(event)
        self.render_config()

    def _recolor(self) -> None:
        """The config laid out again in the colours of the palette now (its JSON is
        coloured for a light or a dark view, its links in the link colour of the moment);
        when next seen, if hidden. (Plain text names no colour: it is left as it is.)"""
        raw = self._config_raw
        if raw is not None and not (len(raw) > LARGE_JSON and self._plain):
            self._stale = True
            if self.isVisible():
                self.render_config()

    def render_config(self) -> None:
        """Lay out the config shown, if it has not been since it was set."""
        if not self._stale:
            return
        self._stale = False
        raw = self._config_raw
        if raw is None:
            self.config_view.setHtml("")
        elif len(raw) <= LARGE_JSON:
            self.config_view.setHtml(render_text(raw, json_colors(self.config_view)))
        elif self._plain:
            self.config_view.setPlainText(plain_json(raw))
        else:
            self.config_view.setHtml(large_json_html("This config", len(raw),
                                                     self.config_view.palette()))

    def _open_link(self, url: QUrl) -> None:
        if url.toString() == SHOW_ANYWAY:
            self._plain = True
            self._stale = True
            self.render_config()

    def _set_config(self, raw: bytes | None) -> None:
        self._config_raw = raw
        self._plain = False
        self._stale = True
        if self.isVisible():
            self.render_config()

    def set_image(self, image: LoadedImage) -> None:
        config = image.config
        self.model.set_config(config, len(image.layers))
        no_comments = all(not row.entry.comment for row in self.model.rows)
        self.table.setColumnHidden(COMMENT, no_comments)

        def fitted() -> None:
            header = self.table.horizontalHeader()
            if not no_comments and header.sectionSize(STEP) < 320:
                header.resizeSection(STEP, 320)

        fit_columns(self.table, maximum=560, then=fitted)
        steps = len(self.model.rows)
        empty = sum(1 for row in self.model.rows if row.layer is None)
        mismatch = history_mismatch(self.model.rows, len(image.layers))
        self.history_caption.setText(
            f"<b>History</b> — {steps} step{'s' if steps != 1 else ''}, "
            f"{steps - empty} made a layer" + (f" · {mismatch}" if mismatch else "")
            if steps else
            "<b>History</b> — in the config, which cannot be shown." if image.config_problem
            else "<b>History</b> — the config records no history."
        )
        manifest = image.manifest
        if config is None:
            described = (media.friendly(manifest.config.media_type)
                         if isinstance(manifest, ImageManifest) else "no config")
            self.config_caption.setText(
                f"<b>Config</b> — cannot be shown: "
                f"{html.escape(wrap_anywhere(image.config_problem))}"
                if image.config_problem else
                f"<b>Config</b> — this is an artifact ({described}).")
            self._set_config(None)
            return
        if isinstance(manifest, ImageManifest):
            self.config_caption.setText(
                f"<b>Config</b> — {media.friendly(manifest.config.media_type)} · "
                f"<span style='font-family:monospace'>{short_digest(manifest.config.digest)}"
                f"</span> · {human_size(manifest.config.size)}"
            )
        else:
            self.config_caption.setText("<b>Config</b> — assembled from the schema 1 manifest")
        self._set_config(config.raw)
