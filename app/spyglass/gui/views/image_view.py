"""The middle pane: the image selected in the places tree, in tabs.

The view owns the loading of what it shows: it asks the :class:`Runner` for
an image (key ``image``: selecting another image or platform makes an answer
still on its way stale) and for the documents the Raw JSON tab follows (key
``raw``). While loading it shows a spinner; a failure is a message in the
pane, never a dialog and never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import as_clause
from spyglass.core.image import LoadedImage
from spyglass.core.manifest import Descriptor, ImageManifest, Schema1Manifest
from spyglass.core.platform_choice import is_unplaced
from spyglass.core.retry import Wait
from spyglass.core.text import visible
from spyglass.core.transports.base import ImageEntry, Location
from spyglass.gui import icons
from spyglass.gui.dialogs.layer_files import LayerFilesDialog
from spyglass.gui.formatting import (
    held_text,
    human_size,
    list_count_text,
    short_digest,
    unreadable_text,
)
from spyglass.gui.loading import (
    ImageState,
    RawDocument,
    fetch_blob_document,
    fetch_manifest_document,
    load_entry,
    load_instance,
    manifest_document,
)
from spyglass.gui.models.layers import LayerRow
from spyglass.gui.signals import emit
from spyglass.gui.themed import mute
from spyglass.gui.views.history_page import HistoryPage
from spyglass.gui.views.layers_page import LayersPage
from spyglass.gui.views.overview import OverviewPage
from spyglass.gui.views.platforms_page import PlatformsPage
from spyglass.gui.views.raw_json import RawJsonPage
from spyglass.gui.views.signatures_page import SignaturesPage, verdict_text
from spyglass.gui.views.wait_notice import Retrying, stopped_text
from spyglass.gui.views.widgets import (
    Banner,
    ElidedLabel,
    MessagePanel,
    Spinner,
    scaled_font,
)
from spyglass.gui.workers import Runner, lane_of, registry_host

IMAGE_KEY = "image"
RAW_KEY = "raw"

OVERVIEW, PLATFORMS, LAYERS, HISTORY, SIGNATURES, RAW = range(6)

FIRST_SCREEN = ("Spyglass opens container images from folders, from archives (made by "
                "docker save, or OCI archives) and from registries. Pick an image on the "
                "left to see what it is made of.")
"""The sentence of the window's empty state."""
NO_IMAGES_LAYOUT = ("It holds no images yet. To put one in it, drag an image onto this "
                    "place in the list on the left (or copy one with Ctrl+C and paste it "
                    "here with Ctrl+V), or show an image and choose Copy\u00a0To… in the File "
                    "menu.")
"""The page of a layout that holds no image: how to put one in it (the sidebar row
says only "No images yet"). The menu item's name does not break (no-break space)."""
NO_IMAGES_ARCHIVE = "It holds no images."


ImageLoader = Callable[[CancelToken], ImageState]


class ImageRequest(NamedTuple):
    """An image asked for: what to call it while it loads, and how to load it; ``listed``,
    a row of a place's listing (which may be out of date: the pane offers Reload)."""

    label: str
    name: str
    load: ImageLoader
    listed: bool = False


@dataclass(frozen=True)
class LocationSummary:
    """What the pane shows when a location row (not an image) is selected."""

    title: str
    description: str
    images: int
    attached: int = 0
    """Signatures or referrers of images the location does not hold, listed with them."""
    is_archive: bool = False
    error: str | None = None
    loading: bool = False


class ImageView(QWidget):
    """Overview, Platforms, Layers, Config & History, Signatures and Raw JSON of one image.

    The Signatures tab reads what is attached to the image only once it is
    first shown for that image (see :class:`SignaturesPage`).

    Signals:
        imageShown(object): an :class:`~spyglass.gui.loading.ImageState` was
            loaded and is shown (after :meth:`show_entry`).
        instanceShown(object): another instance's
            :class:`~spyglass.core.image.LoadedImage` is shown (after a
            platform was selected).
        loadFailed(str): loading failed; the sentence is shown in the pane.
        statusMessage(str): a short notice for the status bar.
        openFolderRequested(): the empty state's "Open Layout Folder…" button.
        openArchiveRequested(): the empty state's "Open Archive…" button.
        addRegistryRequested(): the empty state's "Add Registry…" button.
        reloadLocationRequested(): "Try Again" on a location that cannot be opened, or
            "Reload Location" on an image of a place's listing that cannot be shown.
        closeLocationRequested(): "Close" on a location that cannot be opened.
    """

    imageShown = Signal(object)
    instanceShown = Signal(object)
    loadFailed = Signal(str)
    statusMessage = Signal(str)
    openFolderRequested = Signal()
    openArchiveRequested = Signal()
    addRegistryRequested = Signal()
    reloadLocationRequested = Signal()
    closeLocationRequested = Signal()

    def __init__(self, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._state: ImageState | None = None
        self._request: ImageRequest | None = None
        # the wait before the image's request is asked again, while it holds (told by
        # the job's on_wait): the panel says it rather than "Still waiting for HOST"
        self._retrying: Retrying | None = None
        self._location_error = False
        self.file_dialogs: list[LayerFilesDialog] = []

        self.empty = MessagePanel()
        self.empty.show_message(
            "Open a layout folder or drop one here",
            FIRST_SCREEN,
            icon=icons.app_icon(),
        )
        self.empty.add_button("Open Layout Folder…", default=True).clicked.connect(
            self.openFolderRequested)
        self.empty.add_button("Open Archive…").clicked.connect(self.openArchiveRequested)
        self.empty.add_button("Add Registry…").clicked.connect(self.addRegistryRequested)
        self.loading = MessagePanel()
        self.loading.stopRequested.connect(self.stop_loading)
        # Try Again comes first on both panels (it was last beside Reload Location, and
        # first beside Close); "Close Location", the File menu's name, says what goes
        # (a bare "Close" under "Cannot open …" read as dismissing the message)
        self.error = MessagePanel()
        self.retry_button = self.error.add_button("Try Again")
        self.retry_button.clicked.connect(self.retry)
        self.reload_button = self.error.add_button("Reload Location")
        self.reload_button.setToolTip("List the place again (F5): it may have changed since "
                                      "it was listed")
        self.reload_button.clicked.connect(self.reloadLocationRequested)
        self.reload_button.hide()
        self.location = MessagePanel()
        self.location_retry = self.location.add_button("Try Again")
        self.location_retry.clicked.connect(self.reloadLocationRequested)
        self.location_close = self.location.add_button("Close Location")
        self.location_close.setToolTip("Remove this place from the list on the left "
                                       "(nothing on disk is changed)")
        self.location_close.clicked.connect(self.closeLocationRequested)

        self.overview = OverviewPage()
        self.platforms = PlatformsPage()
        self.layers = LayersPage()
        self.history = HistoryPage()
        self.signatures = SignaturesPage(runner)
        self.raw = RawJsonPage()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.overview, "Overview")
        self.tabs.addTab(self.platforms, "Platforms")
        self.tabs.addTab(self.layers, "Layers")
        self.tabs.addTab(self.history, "Config && History")
        self.tabs.addTab(self.signatures, "Signatures")
        self.tabs.addTab(self.raw, "Raw JSON")
        self.tabs.setTabToolTip(SIGNATURES, "Signatures, attestations, SBOMs and other "
                                "referrers attached to the image")
        self.tabs.currentChanged.connect(self._tab_changed)

        # a long name (a cosign tag, a digest) is shortened in its middle: it must not set
        # the window's narrowest width
        self.title = ElidedLabel(mode=Qt.TextElideMode.ElideMiddle)
        self.title.setFont(scaled_font(self.title.font(), 1.45, bold=True))
        self.subtitle = ElidedLabel()
        mute(self.subtitle)
        self.spinner = Spinner()
        self.spinner.hide()
        self.banner = Banner()
        header = QWidget()
        header_layout = QHBoxLayout(header)
        header_layout.setContentsMargins(16, 12, 16, 6)
        header_layout.setSpacing(12)
        self.header_icon = QLabel()
        header_layout.addWidget(self.header_icon, 0, Qt.AlignmentFlag.AlignVCenter)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        header_layout.addLayout(titles, 1)
        header_layout.addWidget(self.spinner, 0, Qt.AlignmentFlag.AlignVCenter)
        self.content = QWidget()
        content_layout = QVBoxLayout(self.content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.setSpacing(4)
        content_layout.addWidget(header)
        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(12, 0, 12, 0)
        banner_row.addWidget(self.banner)
        content_layout.addLayout(banner_row)
        content_layout.addWidget(self.tabs, 1)

        self.pages = QStackedWidget()
        for page in (self.empty, self.loading, self.error, self.location, self.content):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)

        self.platforms.instanceRequested.connect(self.show_instance)
        self.layers.filesRequested.connect(self._layer_row_files)
        self.raw.documentRequested.connect(self._fetch_document)
        self.raw.layerRequested.connect(
            lambda target, owner: self.open_layer_files(target, owner=owner))
        self.raw.copied.connect(self.statusMessage)
        self.overview.copied.connect(lambda text: emit(self.statusMessage, f"Copied {text}"))
        self.layers.details.copied.connect(
            lambda text: emit(self.statusMessage, f"Copied {text}"))
        # a check's verdict, in the status bar too (the page said it to screen readers)
        self.signatures.verified.connect(lambda outcome: emit(
            self.statusMessage, " ".join(verdict_text(outcome).split())))
        self.show_empty()

    # -- what is shown

    @property
    def state(self) -> ImageState | None:
        """The image shown, or None."""
        return self._state if self.pages.currentWidget() is self.content else None

    @property
    def error_text(self) -> str:
        """The error sentence shown in the pane (or the banner), or ""."""
        if self.pages.currentWidget() is self.error:
            return self.error.body.text()
        if self.pages.currentWidget() is self.location:
            return self.location.body.text() if self._location_error else ""
        return self.banner.text

    def show_empty(self) -> None:
        self._forget()
        self.pages.setCurrentWidget(self.empty)

    def show_location(self, summary: LocationSummary) -> None:
        """A location row is selected: say what it holds, or why it cannot be opened."""
        self._forget()
        self._location_error = summary.error is not None
        self.location_retry.setVisible(self._location_error)
        self.location_close.setVisible(self._location_error)
        if summary.error is not None:
            self.location.show_message(f"Cannot open {summary.title}", summary.error,
                                       icon=icons.warning_icon())
        elif summary.loading:
            self.location.show_message(f"Opening {summary.title}…", summary.description,
                                       busy=True)
        else:
            count = summary.images
            held = (f"{held_text(count, summary.attached)} — select one on the left to "
                    "inspect it." if count or summary.attached
                    else NO_IMAGES_ARCHIVE if summary.is_archive else NO_IMAGES_LAYOUT)
            held = held[:1].upper() + held[1:]
            if not count and summary.description.startswith("An empty folder"):
                held = ""  # the description says so already
            self.location.show_message(
                summary.title,
                # a blank line between the place (its path) and what it holds
                f"{summary.description}\n\n{held}".rstrip("\n"),
                icon=icons.archive_icon() if summary.is_archive else icons.folder_icon(),
            )
        self.pages.setCurrentWidget(self.location)

    def show_problem(self, title: str, sentence: str) -> None:
        """A row that stands for what cannot be shown (an image of an archive that cannot
        be read) is chosen: why, in the pane (its tooltip alone left the keyboard out)."""
        self._forget()
        self.error.show_message(title, sentence, icon=icons.warning_icon())
        self.reload_button.hide()
        self.pages.setCurrentWidget(self.error)

    def show_entry(self, location: Location, entry: ImageEntry, location_title: str) -> None:
        """Load an image of a location and show it (a newer request makes this one stale)."""
        self.show_image(
            entry.label, entry.name,
            lambda cancel: load_entry(location, entry, location_title, cancel), listed=True,
        )

    def show_image(self, label: str, name: str, load: ImageLoader, listed: bool = False,
                   ) -> None:
        """Show the image ``load(cancel)`` returns: the spinner now, the image (or why not) later.

        ``label`` and ``name`` say what is loading (``team/app:1.0``,
        ``docker://HOST/team/app:1.0``); ``listed``: a row of a place's listing (one that
        cannot be shown offers Reload Location too). A newer request makes this one stale.
        """
        self._forget()
        self._request = ImageRequest(label, name, load, listed)
        host = registry_host(name)
        waiting = f"Still waiting for {host}" if host else f"Still reading {label}"
        self.loading.show_message(
            f"Loading {label}…", name, busy=True,
            waiting=lambda: held.text if (held := self._retry_held()) else waiting)
        self.pages.setCurrentWidget(self.loading)
        self._runner.submit(
            load,
            on_done=self._shown,
            on_error=self._failed,
            key=IMAGE_KEY,
            what=f"loading {name}",
            lane=lane_of(name),
            on_wait=self._retried,
        )

    def _retried(self, wait: Wait) -> None:
        """The image's request waits to be asked again (a registry that refused the
        connection, or asked to wait): the panel says so while it holds."""
        self._retrying = Retrying.begun(wait)

    def _retry_held(self) -> Retrying | None:
        return Retrying.holding(self._retrying)

    def stop_loading(self) -> None:
        """Stop waiting for the image asked for last (Stop, once it took long): why it is
        not shown, and Try Again, in the pane."""
        request = self._request
        if request is None or self.pages.currentWidget() is not self.loading:
            return
        waited = self.loading.waited_for
        self._runner.cancel(IMAGE_KEY)
        host = registry_host(request.name)
        said = (stopped_text(host, waited, self._retry_held()) if host
                else f"Stopped after {waited:.0f} s.")
        self.error.show_message(f"Stopped loading {request.label}", said,
                                icon=icons.warning_icon())
        self.reload_button.hide()
        self.pages.setCurrentWidget(self.error)
        emit(self.loadFailed, said)

    @property
    def request(self) -> ImageRequest | None:
        """What was asked for last (shown, loading, or failed)."""
        return self._request

    def retry(self) -> None:
        if self._request is not None:
            self.show_image(*self._request)

    def show_instance(self, digest: Digest) -> None:
        """Show another instance of the list shown, in every tab but Platforms."""
        state = self._state
        if state is None:
            return
        self.platforms.set_pending(digest)
        self.spinner.start()
        self.banner.hide()
        # (an image of a nested list too: the list's own entries do not name it)
        entry = next((s.descriptor for s in state.instances if s.descriptor.digest == digest),
                     None)
        label = state.label(entry) if entry is not None else str(digest)
        self._runner.submit(
            lambda cancel: load_instance(state, digest, cancel),
            on_done=self._instance_shown,
            on_error=lambda message: self._instance_failed(
                f"Cannot show the image for {label}: {as_clause(message)}"),
            key=IMAGE_KEY,
            what=f"loading {digest} of {state.entry.name}",
            lane=lane_of(state.entry.name),
        )

    # -- answers

    def _forget(self) -> None:
        self._runner.cancel(IMAGE_KEY)
        self._runner.cancel(RAW_KEY)
        self._state = None
        self._retrying = None
        self._location_error = False
        self.signatures.clear()
        self.spinner.stop()
        self.banner.hide()

    def _shown(self, state: ImageState) -> None:
        self._state = state
        self.banner.hide()
        self.spinner.stop()
        self._show_header(state)
        self.overview.set_state(state)
        self.tabs.setTabEnabled(PLATFORMS, state.is_list)
        self.tabs.setTabToolTip(
            PLATFORMS, "" if state.is_list else "This image is not a manifest list.")
        if state.is_list:
            self.platforms.set_state(state)
        elif self.tabs.currentIndex() == PLATFORMS:
            self.tabs.setCurrentIndex(OVERVIEW)
        if state.image is None and self.tabs.currentIndex() in (LAYERS, HISTORY):
            self.tabs.setCurrentIndex(PLATFORMS)  # (before they are disabled: Qt would
            # move to the next tab that is not)
        self._show_image(state.image, state.problem)
        if state.image is None:
            self.banner.show_text(state.problem)
        elif state.unreadable:
            self.banner.show_text(unreadable_text(state.unreadable))
        elif state.image.config_problem:  # (not JSON, say): the manifest is shown
            self.banner.show_text(
                f"{state.image.config_problem} Only its manifest and layers can be shown.")
        self.raw.reset([manifest_document(state.top, state.entry.label)])
        self.signatures.set_state(state)
        self.pages.setCurrentWidget(self.content)
        self._tab_changed(self.tabs.currentIndex())
        emit(self.imageShown, state)

    def _failed(self, message: str) -> None:
        label = self._request.label if self._request else "the image"
        self.error.show_message(f"Cannot show {label}", message, icon=icons.warning_icon())
        # a row of a listing: the place may have changed since (Try Again reads the image
        # the row names, as the listing had it; Reload lists the place again)
        self.reload_button.setVisible(self._request is not None and self._request.listed)
        self.pages.setCurrentWidget(self.error)
        emit(self.loadFailed, message)

    def _instance_shown(self, image: LoadedImage) -> None:
        if self._state is None:
            return
        state = self._state.with_image(image)
        self._state = state
        self.signatures.set_state(state)
        self.spinner.stop()
        self._show_header(state)
        self.overview.set_state(state)
        self.platforms.set_state(state)
        self._show_image(image)
        documents = [manifest_document(state.top, state.entry.label)]
        if image.manifest is not state.top:
            current = state.current
            documents.append(manifest_document(
                image.manifest,
                state.label(current.descriptor) if current else short_digest(
                    image.manifest.digest)))
        self.raw.reset(documents)
        emit(self.instanceShown, image)

    def _instance_failed(self, message: str) -> None:
        self.spinner.stop()
        if self._state is not None:
            self.platforms.set_state(self._state)
        self.banner.show_text(message)
        emit(self.loadFailed, message)

    def _show_image(self, image: LoadedImage | None, problem: str = "") -> None:
        """Show ``image`` in the per-image tabs; None (a list none of whose images can
        be shown) disables them, saying ``problem`` in their tooltips."""
        for tab in (LAYERS, HISTORY):
            self.tabs.setTabEnabled(tab, image is not None)
            self.tabs.setTabToolTip(tab, problem if image is None else "")
        if image is not None:
            self.layers.set_image(image)
            self.history.set_image(image)

    def _show_header(self, state: ImageState) -> None:
        self.title.setText(visible(state.entry.label))
        icon = icons.index_icon() if state.is_list else icons.image_icon()
        self.header_icon.setPixmap(icon.pixmap(36, 36))
        top = state.top
        artifact = isinstance(top, ImageManifest) and top.is_artifact
        parts = [f"Artifact ({top.artifact_type or top.config.media_type})"
                 if isinstance(top, ImageManifest) and artifact
                 else media.friendly(top.media_type)]
        if state.is_list:
            # a list of artifacts names no platform: its entries are counted as such;
            # BuildKit's attestations (unknown/unknown) and images without a platform are
            # no platforms, as the Overview says them apart
            entries = [s.descriptor for s in state.instances]
            parts.append(f"{len(entries)} entr{'ies' if len(entries) != 1 else 'y'}"
                         if state.of_entries and not any(map(is_unplaced, entries))
                         else list_count_text(entries))
            current = state.current
            if current is not None:
                parts.append(f"showing {state.label(current.descriptor)}")
        # (a list's size is the whole list's, not the shown image's: where it leaves out
        # the layers of its schema 1 images, it says both)
        parts.append("size not recorded" if isinstance(top, Schema1Manifest)
                     else f"{human_size(state.total_size)} in all, without the schema 1 "
                     "layers" if state.unsized else human_size(state.total_size))
        parts.append(state.location_title)
        self.subtitle.setText(visible("  ·  ".join(parts)))
        self.subtitle.setToolTip(visible(state.entry.name))

    def _tab_changed(self, index: int) -> None:
        if index == SIGNATURES and self.state is not None:
            self.signatures.activate()

    # -- Raw JSON and layer files

    def _fetch_document(self, kind: str, target: object, title: str) -> None:
        state = self._state
        if state is None:
            return
        source = state.source
        if kind == "config" and isinstance(target, Descriptor):
            descriptor = target
            self._runner.submit(
                lambda cancel: fetch_blob_document(source, descriptor, title, cancel),
                on_done=self._document_fetched, on_error=self.raw.show_error,
                key=RAW_KEY, what=f"reading the config {descriptor.digest}",
                lane=lane_of(state.entry.name),
            )
            return
        digest = target.digest if isinstance(target, Descriptor) else target
        if not isinstance(digest, Digest):
            return
        self._runner.submit(
            lambda cancel: fetch_manifest_document(source, digest, title, cancel),
            on_done=self._document_fetched, on_error=self.raw.show_error,
            key=RAW_KEY, what=f"reading the manifest {digest}",
            lane=lane_of(state.entry.name),
        )

    def _document_fetched(self, document: RawDocument) -> None:
        self.raw.push(document)

    def _layer_row_files(self, row: LayerRow) -> None:
        self.open_layer_files(row.descriptor, number=row.number)

    def step_tab(self, step: int) -> None:
        """Show the next (``step`` 1) or previous (-1) enabled tab, round the end."""
        count = self.tabs.count()
        index = self.tabs.currentIndex()
        for _ in range(count):
            index = (index + step) % count
            if self.tabs.isTabEnabled(index) and self.tabs.isTabVisible(index):
                self.tabs.setCurrentIndex(index)
                return

    def open_layer_files(self, target: object, *, number: int | None = None,
                         owner: object = None) -> None:
        """Open the file listing of a layer (a Descriptor, or a Digest of the shown image);
        ``owner``, the Raw JSON document it was clicked in, says whose layer it is (another
        platform's than the one shown, when that document is another image's manifest)."""
        state = self._state
        if state is None:
            return
        own = state.image.manifest if state.image is not None else None
        layers = own.layers if own is not None else ()
        other = owner.manifest if isinstance(owner, RawDocument) else None
        if not isinstance(other, ImageManifest) or (own is not None
                                                    and other.digest == own.digest):
            other = None
        if other is not None:
            layers = other.layers
        descriptor: Descriptor | None = None
        if isinstance(target, Descriptor):
            descriptor = target
        elif isinstance(target, Digest):
            descriptor = next((d for d in layers if d.digest == target), None)
        if descriptor is None:
            emit(self.statusMessage, "That layer is not part of the image shown.")
            return
        if number is None:
            number = next((i + 1 for i, d in enumerate(layers) if d.digest == descriptor.digest),
                          None)
        where = state.entry.label
        current = state.current
        if other is not None and isinstance(owner, RawDocument):
            where += f" ({owner.title})"
        elif current is not None:
            where += f" ({state.label(current.descriptor)})"
        heading = f"Layer {number} of {where}" if number else \
            f"Layer {short_digest(descriptor.digest)} of {where}"
        for shown in self.file_dialogs:  # that layer's files are open already: to the front
            if shown.layer.digest == descriptor.digest and shown.heading == heading:
                shown.raise_()
                shown.activateWindow()
                return
        # stored as the Layers tab says (learned as the image was read), where it is the
        # shown image's layer: a docker-archive's plain tars are no gzip layers here either
        served = state.image.served if state.image is not None and other is None else ()
        compression = next((served[i] for i, d in enumerate(layers)
                            if d.digest == descriptor.digest and i < len(served)), None)
        dialog = LayerFilesDialog(self._runner, state.source, descriptor, heading, self,
                                  lane=lane_of(state.entry.name), compression=compression)
        self.file_dialogs.append(dialog)
        dialog.copied.connect(self.statusMessage)  # (said, as the window's copies are)
        dialog.destroyed.connect(lambda *_: self._dialog_gone(dialog))
        dialog.show()

    def _dialog_gone(self, dialog: LayerFilesDialog) -> None:
        if dialog in self.file_dialogs:
            self.file_dialogs.remove(dialog)

    def close_dialogs(self) -> None:
        for dialog in list(self.file_dialogs):
            dialog.close()


__all__ = ["ImageLoader", "ImageRequest", "ImageView", "LocationSummary"]
