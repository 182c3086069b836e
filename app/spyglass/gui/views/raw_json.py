"""The Raw JSON tab: manifests and configs as they are stored, every digest a link."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidDigest
from spyglass.core.manifest import Descriptor, ImageIndex, ImageManifest, Schema1Manifest
from spyglass.gui import icons
from spyglass.gui.formatting import breakable, exact_size, instance_label, short_digest
from spyglass.gui.loading import RawDocument
from spyglass.gui.shortcuts import StandardKey, standard_key
from spyglass.gui.signals import emit
from spyglass.gui.themed import on_palette_change
from spyglass.gui.views.crumbs import Crumbs
from spyglass.gui.views.history_page import (
    LARGE_JSON,
    SHOW_ANYWAY,
    json_browser,
    json_colors,
    large_json_html,
    plain_json,
)
from spyglass.gui.views.json_html import JsonPath, render_text
from spyglass.gui.views.widgets import Banner, Spinner, copy_button, tool_button

MANIFEST, CONFIG, LAYER, CRUMB = "manifest", "config", "layer", "crumb"


def link_target(document: RawDocument, path: JsonPath, value: str) -> str | None:
    """The href for a string in ``document`` at ``path``: manifests, configs and layers link."""
    if document.kind != "manifest":
        return None
    try:
        Digest.parse(value)
    except InvalidDigest:
        return None
    kind: str | None = None
    if path == ("config", "digest"):
        kind = CONFIG
    elif len(path) == 3 and (path[0], path[2]) in (("layers", "digest"), ("fsLayers", "blobSum")):
        kind = LAYER
    elif (len(path) == 3 and path[0] == "manifests" and path[2] == "digest") or path == (
        "subject", "digest"
    ):
        kind = MANIFEST
    return f"{kind}:{value}" if kind else None


def _descriptor_for(document: RawDocument, digest: Digest) -> Descriptor | None:
    manifest = document.manifest
    candidates: list[Descriptor] = []
    if isinstance(manifest, ImageIndex):
        candidates = list(manifest.manifests)
    elif isinstance(manifest, ImageManifest):
        candidates = [manifest.config, *manifest.layers]
    elif isinstance(manifest, Schema1Manifest):
        candidates = list(manifest.layers)
    if isinstance(manifest, ImageIndex | ImageManifest) and manifest.subject is not None:
        candidates.append(manifest.subject)
    return next((d for d in candidates if d.digest == digest), None)


class RawJsonPage(QWidget):
    """A breadcrumb of documents and the current one, pretty-printed with links.

    The page does no I/O: a link to a document it does not have is asked for
    with a signal, and the answer comes back through :meth:`push`.

    Signals:
        documentRequested(str, object, str): fetch a document — its kind
            (``"manifest"`` or ``"config"``), its
            :class:`~spyglass.core.manifest.Descriptor` (or a bare
            :class:`~spyglass.core.digest.Digest` when the current document
            does not describe it), and the title for the breadcrumb.
        layerRequested(object, object): list the files of this layer (its descriptor, or
            a bare digest), of the document shown (a :class:`RawDocument`)
            :class:`~spyglass.core.manifest.Descriptor`.
        copied(str): the document's text was copied to the clipboard.
    """

    documentRequested = Signal(str, object, str)
    layerRequested = Signal(object, object)
    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stack: list[RawDocument] = []
        self._stale = False  # the document shown is laid out when the page is seen
        self._plain: set[Digest] = set()  # large documents asked for as plain text
        back_keys = standard_key(StandardKey.Back)  # Alt+Left
        shown = back_keys.toString(QKeySequence.SequenceFormat.NativeText)
        self.back_button = tool_button(f"Back to the previous document ({shown})",
                                       icon=icons.back_icon(),
                                       name="Back to the previous document")
        self.back_button.clicked.connect(self.back)
        back = QShortcut(back_keys, self)
        # from anywhere in the window while this page shows (a hidden page's shortcut
        # does not fire), not only with the focus inside it
        back.setContext(Qt.ShortcutContext.WindowShortcut)
        back.activated.connect(self.back)
        self.crumbs = Crumbs()  # (a long tag cut: it set the window's least width)
        self.crumbs.linkActivated.connect(lambda href: self.open_link(QUrl(href)))
        self.spinner = Spinner()
        self.spinner.hide()
        self.copy_button = copy_button("Copy this document's JSON")
        self.copy_button.clicked.connect(self._copy)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.banner = Banner()
        self.browser = json_browser("JSON document")
        self.browser.anchorClicked.connect(self.open_link)
        self.browser.installEventFilter(self)  # its own Alt+Left walks its own history
        on_palette_change(self.browser, self._recolor)

        bar = QHBoxLayout()
        bar.setSpacing(6)
        bar.addWidget(self.back_button)
        bar.addWidget(self.crumbs, 1)
        bar.addWidget(self.spinner)
        bar.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 12)
        layout.setSpacing(6)
        layout.addLayout(bar)
        layout.addWidget(self.details)
        layout.addWidget(self.banner)
        layout.addWidget(self.browser, 1)
        self._render()

    # -- the stack of documents

    @property
    def documents(self) -> list[RawDocument]:
        return list(self._stack)

    @property
    def current(self) -> RawDocument | None:
        return self._stack[-1] if self._stack else None

    def reset(self, documents: list[RawDocument]) -> None:
        """Show the last of ``documents``; the others make the breadcrumb."""
        self._stack = list(documents)
        self.banner.hide()
        self.set_busy(False)
        self._render()

    def push(self, document: RawDocument) -> None:
        self._stack.append(document)
        self.banner.hide()
        self.set_busy(False)
        self._render()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter: Alt+Left in the browser goes back here."""
        if watched is self.browser and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent) \
                and event.matches(QKeySequence.StandardKey.Back):
            self.back()
            return True
        return super().eventFilter(watched, event)

    def back(self) -> None:
        if len(self._stack) > 1:
            self._stack.pop()
            self.banner.hide()
            self._render()

    def show_error(self, message: str) -> None:
        self.set_busy(False)
        self.banner.show_text(message)

    def set_busy(self, busy: bool) -> None:
        if busy:
            self.spinner.start()
        else:
            self.spinner.stop()

    def html(self) -> str:
        self.render_document()
        return self.browser.toHtml()

    def showEvent(self, event: QShowEvent) -> None:
        """Override QWidget::showEvent: the document is laid out when first seen."""
        super().showEvent(event)
        self.render_document()

    # -- links

    def open_link(self, url: QUrl) -> None:
        """Follow a link of the breadcrumb or the document (what anchorClicked does)."""
        if url.toString() == SHOW_ANYWAY:
            if self.current is not None:
                self._plain.add(self.current.digest)
                self._stale = True
                self.render_document()
            return
        kind, target = url.scheme(), url.path()
        if kind == CRUMB:
            depth = int(target)
            if 0 < depth <= len(self._stack):
                del self._stack[depth:]
                self.banner.hide()
                self._render()
            return
        current = self.current
        try:
            digest = Digest.parse(target)
        except InvalidDigest:
            return
        if current is None:
            return
        for depth, document in enumerate(self._stack):
            if document.digest == digest and kind in (MANIFEST, CONFIG):
                del self._stack[depth + 1:]
                self._render()
                return
        descriptor = _descriptor_for(current, digest)
        if kind == LAYER:
            emit(self.layerRequested, descriptor or digest, current)
            return
        if kind == CONFIG:
            title = "config"
        elif descriptor is not None:
            title = instance_label(descriptor)
        else:
            title = short_digest(digest)
        self.set_busy(True)
        emit(self.documentRequested, kind, descriptor or digest, title)

    # -- rendering

    def _render(self) -> None:
        document = self.current
        self.back_button.setEnabled(len(self._stack) > 1)
        self.back_button.setVisible(len(self._stack) > 1)
        self.copy_button.setEnabled(document is not None)
        if document is None:
            self.crumbs.set_crumbs([])
            self.details.setText("")
            self.browser.setHtml("")
            self._stale = False
            return
        self.crumbs.set_crumbs([(item.title, f"{CRUMB}:{depth}")
                                for depth, item in enumerate(self._stack, start=1)])
        kind = media.friendly(document.media_type) if document.media_type else "JSON"
        self.details.setText(
            f"{html.escape(kind)} · <span style='font-family:monospace'>"
            f"{breakable(str(document.digest))}"
            f"</span> · {exact_size(len(document.raw))}"
            + (" · click a digest to open it" if document.kind == "manifest" else "")
        )
        self._stale = True
        if self.isVisible():
            self.render_document()

    def _recolor(self) -> None:
        """The document laid out again in the colours of the palette now (its JSON is
        coloured for a light or a dark view, its links in the link colour of the moment);
        when next seen, if hidden. (Plain text names no colour: it is left as it is.)"""
        document = self.current
        if document is not None and not (len(document.raw) > LARGE_JSON
                                         and document.digest in self._plain):
            self._stale = True
            if self.isVisible():
                self.render_document()

    def render_document(self) -> None:
        """Lay out the document shown, if it has not been since it became the current
        one: colours and links, or (above :data:`LARGE_JSON`) a placeholder that offers
        it as plain text."""
        document = self.current
        if not self._stale or document is None:
            return
        self._stale = False
        if len(document.raw) > LARGE_JSON:
            if document.digest in self._plain:
                self.browser.setPlainText(plain_json(document.raw))
            else:
                what = "This manifest" if document.kind == "manifest" else "This config"
                self.browser.setHtml(large_json_html(what, len(document.raw),
                                                     self.browser.palette()))
            return
        colors = json_colors(self.browser)
        self.browser.setHtml(
            render_text(document.raw, colors, lambda path, value: link_target(
                document, path, value))
        )

    def _copy(self) -> None:
        document = self.current
        if document is not None:
            QGuiApplication.clipboard().setText(document.raw.decode("utf-8", "replace"))
            emit(self.copied, f"Copied the JSON of {document.title}")
