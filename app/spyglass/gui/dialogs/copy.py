"""The Copy dialog: where to, which platforms, which format; plans the copy before it starts."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from typing import Final

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from spyglass.core.copy import Compression, CopyOptions, Format
from spyglass.core.digest import Digest
from spyglass.core.errors import as_clause
from spyglass.core.platform import Platform, best_match, host_platform
from spyglass.core.reference import (
    DockerArchiveName,
    DockerName,
    ImageName,
    OCIArchiveName,
    OCIName,
)
from spyglass.core.text import visible
from spyglass.core.transports import resolve_name
from spyglass.core.units import duration_text
from spyglass.gui.announce import announce
from spyglass.gui.copy_destinations import Replaced, find_replaced, looked_at_first, named_now
from spyglass.gui.copy_jobs import (
    CopyRequest,
    Openers,
    Prepared,
    SourcePlatforms,
    list_platforms,
    prepare_copy,
    window_parallel,
)
from spyglass.gui.copy_names import describe_name, names_a_path, normalize_name, pasted_name
from spyglass.gui.dialogs.fitting import Fitter
from spyglass.gui.formatting import counted, short_digest
from spyglass.gui.signals import emit
from spyglass.gui.themed import mute, plain_text, show_as_error
from spyglass.gui.views.wait_notice import WaitNotice, stopped_text
from spyglass.gui.views.widgets import Spinner, enable_clear_button, link_error
from spyglass.gui.workers import Runner, copy_lane, lane_of, registry_host

FORMATS: Final[tuple[tuple[str, Format | None], ...]] = (
    ("Keep the source's", None), ("OCI", "oci"), ("Docker schema 2", "v2s2"))
COMPRESSIONS: Final[tuple[tuple[str, Compression | None, str], ...]] = (
    ("Automatic", None,
     "Compressed layers stay as they are. Uncompressed ones are compressed with gzip for a "
     "registry, an OCI layout or an OCI archive, as skopeo does, unless digests are "
     "preserved, the destination is named by digest, or something attached to the image "
     "would no longer match; a dir: layout keeps them as they are."),
    ("gzip", "gzip",
     "Every layer compressed with gzip, what every registry and runtime takes; layers "
     "compressed otherwise are recompressed, so the image's digest changes."),
    ("zstd", "zstd",
     "Every layer compressed with zstd: smaller and quicker to unpack, but older runtimes "
     "cannot pull it and a Docker schema 2 image cannot hold it; the image's digest "
     "changes."),
    ("None", "none",
     "Every layer uncompressed: the largest, quickest to unpack; the image's digest "
     "changes."),
)
"""The Compression choices: text, option, what it does. A docker save archive holds
uncompressed layers only: gzip and zstd are not offered for one."""

SOURCE_PAUSE_MS: Final = 400
"""How long typing in the Source field pauses before its platforms are listed."""
LISTING_SLOW_AFTER: Final = 15.0
"""Seconds of listing a source's platforms after which the dialog says it has not answered
(as a copy says it is stalled)."""

_ids = itertools.count(1)


class CopyDialog(QDialog):
    """Copy one image: the source, a destination typed or prefilled, options.

    The source is read-only when the dialog was opened for an image (a drop,
    "Copy To…"); opened with none ("Copy Image…") it is typed or pasted. Either
    name may be a bare registry reference (``HOST/REPO:TAG``, as "Copy
    Reference" gives it), taken as ``docker://…`` (:func:`normalize_name`).
    The source's platforms are listed on a worker, again whenever the typed
    source changes (after a pause in the typing); Copy waits for them. A destination that a copy
    replaces rather than adds to (an archive or a ``dir:`` folder already
    there) is looked at on a worker too: the dialog names what would be lost,
    and Copy (then "Replace") stays disabled until "Replace what is there" is
    ticked. "Copy" plans the copy on a worker (:func:`plan_copy`): a refusal
    shows its sentence here and nothing starts; a plan is handed on through
    ``planned`` and the dialog closes. Changing anything while the plan is made
    drops that plan (it was for what the dialog showed before): Copy plans anew.

    Signals:
        planned(object, object): the :class:`CopyRequest` and its :class:`Prepared` plan.
        platformsListed(): the source's platforms are in (or could not be listed).
        refused(str): planning refused the copy with this sentence.
        destinationChecked(): what the destination would replace is known.
    """

    planned = Signal(object, object)
    platformsListed = Signal()
    refused = Signal(str)
    destinationChecked = Signal()

    def __init__(self, runner: Runner, openers: Openers, source: str, *,
                 label: str = "", destination: str = "", platform: str = "",
                 suggest: Callable[[str], str] | None = None,
                 suggest_for_platform: Callable[[str], str] | None = None,
                 hosts: Callable[[], list[str]] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._hosts: Callable[[], list[str]] = hosts or list
        """The registries of the window's list, for pointing a name without its registry
        to them."""
        self._suggest = suggest
        """For a typed source: the destination to offer for it ("" for none)."""
        self._suggested = ""
        """The destination last offered, while the field still holds it (not typed over)."""
        self._suggest_for_platform = suggest_for_platform if platform else None
        """For one platform of a list dragged: the destination to offer for the platform
        ticked ("" for several, the list's own name)."""
        self._platform_offer = destination if platform else ""
        """The destination offered for the platforms ticked, while the field holds it."""
        self._openers = openers
        self._source = normalize_name(source)
        self._source_path = ""
        """A typed source that is a path without its transport, until the disk says
        which it is (then ``_source``)."""
        self._label = label
        self._wanted_platform = platform
        self._key = f"copy-dialog:{next(_ids)}"
        self._is_list = False
        self._schema1 = False
        self._unplaced = 0  # images of the list naming no platform
        """A Docker schema 1 source (read whole while planning, to convert it)."""
        self._platforms_known = False
        self._platforms_problem: str | None = None
        """Why the platforms could not be listed, while that is what the note says."""
        self._fitter = Fitter(self)
        self._prepared: Prepared | None = None
        self._planning = False
        """Whether a plan is being made (for the inputs as they were when Copy was pressed)."""
        self._asking: list[str] = [""]
        """The name of the end the plan under way asks now (set by the plan's thread)."""
        self._checked_destination: str | None = None
        """The destination text whose check was asked for (see :meth:`_check_destination`)."""
        self._destination_known = False
        self.replaced: Replaced | None = None
        """What the copy would replace, once known (None: it adds to what is there)."""
        self.destination_refusal = ""
        """Why a copy to the destination would be refused, once known ("" for none)."""
        self.platform_boxes: list[tuple[Platform, QCheckBox]] = []
        self._one_platform = False
        """Whether the boxes are one choice: the destination holds one image (a
        docker-archive). Kept by hand: a QButtonGroup would make them one Tab stop."""
        self.setWindowTitle("Copy Image")
        # as wide as some 85 characters of its font (a larger font cut the source's name)
        self.setMinimumWidth(max(620, 85 * self.fontMetrics().averageCharWidth()))

        self.source_edit = QLineEdit(source)
        self.source_edit.setReadOnly(bool(source))
        self.source_edit.setPlaceholderText("HOST/REPO:TAG, docker://…, oci:/path:TAG, …")
        enable_clear_button(self.source_edit, not source)
        self.source_note = QLabel()
        self.source_note.setWordWrap(True)
        mute(self.source_note)
        # a given source says what it is where its name does not (PATH:@1 of an archive)
        shown = bool(source) and bool(label) and label not in source
        self.source_note.setText(label if shown else "")
        self.source_note.setVisible(not source or shown)
        self._source_timer = QTimer(self)
        self._source_timer.setSingleShot(True)
        self._source_timer.setInterval(SOURCE_PAUSE_MS)
        self._source_timer.timeout.connect(self._source_typed)
        # a source that does not answer is said to, rather than "Listing…" for ever
        self._listing_since = 0.0
        self._listing_timer = QTimer(self)
        self._listing_timer.setInterval(1000)
        self._listing_timer.timeout.connect(self._say_listing)
        self.source_edit.textChanged.connect(self._source_edited)
        self.source_edit.installEventFilter(_FileDrops(self.source_edit))
        self.destination_edit = QLineEdit(destination)
        self.destination_edit.setPlaceholderText("docker://HOST/REPO:TAG or oci:/path:TAG")
        enable_clear_button(self.destination_edit)
        self.destination_note = QLabel()
        self.destination_note.setWordWrap(True)
        mute(self.destination_note)
        self.named_note = QLabel()
        """What the tag or ref the copy writes names there now, when it names something."""
        self.named_note.setWordWrap(True)
        mute(self.named_note)
        self.named_note.hide()
        self._named: tuple[str, Digest | None] | None = None
        """The destination text looked at, and the digest its name names there now."""
        self._source_digest: Digest | None = None
        self._instance_digests: tuple[Digest, ...] = ()
        self.replace_note = QLabel()
        self.replace_note.setWordWrap(True)
        show_as_error(self.replace_note)
        self.replace_box = QCheckBox("&Replace what is there")
        for widget in (self.replace_note, self.replace_box):
            widget.hide()
        self.replace_box.toggled.connect(self._inputs_changed)
        self.destination_edit.textChanged.connect(self._inputs_changed)

        self.platforms_label = QLabel("Listing the platforms…")
        self.platforms_label.setWordWrap(True)
        self.platform_grid = QGridLayout()
        self.platform_grid.setContentsMargins(0, 0, 0, 0)
        self.system_button = QPushButton("This System")
        self.system_button.clicked.connect(self.choose_system)
        self.all_button = QPushButton("All")
        self.all_button.clicked.connect(self.choose_all)
        for button in (self.system_button, self.all_button):
            button.setEnabled(False)
            button.setAutoDefault(False)  # Enter copies: it never ticks platforms
        shortcuts = QHBoxLayout()
        shortcuts.addWidget(self.system_button)
        shortcuts.addWidget(self.all_button)
        shortcuts.addStretch(1)
        platforms = QVBoxLayout()
        platforms.setContentsMargins(0, 0, 0, 0)
        platforms.addWidget(self.platforms_label)
        platforms.addLayout(self.platform_grid)
        platforms.addLayout(shortcuts)

        self.format_combo = QComboBox()
        for text, value in FORMATS:
            self.format_combo.addItem(text, value)
        self.compression_combo = QComboBox()
        for text, method, explained in COMPRESSIONS:
            self.compression_combo.addItem(text, method)
            self.compression_combo.setItemData(self.compression_combo.count() - 1,
                                               explained, Qt.ItemDataRole.ToolTipRole)
        self.compression_combo.currentIndexChanged.connect(self._explain_compression)
        self._explain_compression()
        self.preserve_box = QCheckBox("Preserve digests (refuse any change to the image)")
        self.signatures_box = QCheckBox("Copy signatures, attestations, SBOMs and referrers")
        self.signatures_box.setChecked(True)
        self.signatures_box.setToolTip(
            "What is attached to the images copied goes along where the destination can keep "
            "it; a conversion that changes a digest leaves it behind."
        )
        self.parallel_spin = QSpinBox()
        self.parallel_spin.setRange(1, 64)
        self.parallel_spin.setValue(window_parallel())
        self.parallel_spin.setSuffix(" blobs at a time")
        for combo in (self.format_combo, self.compression_combo):
            combo.currentIndexChanged.connect(self._inputs_changed)
        for box in (self.preserve_box, self.signatures_box):
            box.toggled.connect(self._inputs_changed)
        self.parallel_spin.valueChanged.connect(self._inputs_changed)

        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        show_as_error(self.error_label)
        self.error_label.hide()
        self.spinner = Spinner(size=14)
        self.spinner.hide()
        self.planning_label = QLabel(
            "Reading the layers of the schema 1 image, to convert it…")
        mute(self.planning_label)
        self.planning_label.hide()
        # a plan that waits on a registry (the destination's write check, say) says so
        self.plan_wait = WaitNotice()
        self.plan_wait.stopRequested.connect(self._stop_waiting)

        form = QFormLayout()
        source_box = QVBoxLayout()
        source_box.setSpacing(2)
        source_box.addWidget(self.source_edit)
        source_box.addWidget(self.source_note)
        source_label = QLabel("&Source:")
        source_label.setBuddy(self.source_edit)
        form.addRow(source_label, source_box)
        destination_box = QVBoxLayout()
        destination_box.setSpacing(2)
        destination_box.addWidget(self.destination_edit)
        destination_box.addWidget(self.destination_note)
        destination_box.addWidget(self.named_note)
        destination_box.addWidget(self.replace_note)
        destination_box.addWidget(self.replace_box)
        # a row of a layout gets a label without a buddy: give it one, so that its
        # mnemonic works (and the "&" is not shown)
        destination_label = QLabel("&Destination:")
        destination_label.setBuddy(self.destination_edit)
        form.addRow(destination_label, destination_box)
        self.platforms_caption = QLabel("P&latforms:")
        self.platforms_caption.setBuddy(self.system_button)  # the first box, once listed
        form.addRow(self.platforms_caption, platforms)
        form.addRow("&Format:", self.format_combo)
        form.addRow("&Compression:", self.compression_combo)
        form.addRow("", self.preserve_box)
        form.addRow("", self.signatures_box)
        form.addRow("&Parallel:", self.parallel_spin)

        self.buttons = QDialogButtonBox()
        self.copy_button = self.buttons.addButton("Copy", QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        if cancel is not None:  # Enter copies; it never takes Cancel's place
            cancel.setAutoDefault(False)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.spinner)
        bottom.addWidget(self.planning_label, 1)
        bottom.addWidget(self.plan_wait, 1)
        bottom.addWidget(self.error_label, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(bottom)
        layout.addWidget(self.buttons)
        # again now that the button is in the dialog: set before, the dialog never took it
        # for its default, and Enter went to the first auto-default button after the focus
        self.copy_button.setDefault(True)

        if source:
            self.destination_edit.setFocus()
            self._list_platforms()
        else:
            self.source_edit.setFocus()
            self._source_edited()
        self._validate()

    # -- the source, when typed

    def _source_edited(self) -> None:
        """The typed source changed: nothing can be copied until its platforms are listed
        anew, after a pause in the typing."""
        if self.source_edit.isReadOnly():
            return
        self._drop_plan()
        typed, problem = pasted_name(self.source_edit.text())
        self._source_path = ""
        self._source = ""
        if problem:
            ok, sentence = False, problem
        elif names_a_path(typed):
            # a path, as the command line takes it: the disk says which kind (on a worker)
            self._source_path = os.path.expanduser(typed)
            ok, sentence = True, f"Looking at {visible(self._source_path)}…"
        else:
            name, sentence = describe_name(typed, what="source", hosts=self._hosts())
            ok = name is not None
            self._source = normalize_name(typed) if ok else ""
        _note(self.source_note, sentence, wrong=not ok and bool(self.source_edit.text()))
        self._label = ""
        self._clear_platforms(
            "Listing the platforms…" if ok else "The platforms of the source "
            "are listed once it is typed.")
        if ok:
            self._source_timer.start()
        else:
            self._source_timer.stop()
            self._runner.cancel(f"{self._key}:platforms")
        self._validate()

    def _look_at_path(self) -> None:
        """Take the typed path as the layout or archive it is (on a worker: an archive is
        looked into), as the command line takes a bare path."""
        path = self._source_path
        self._runner.submit(
            lambda _cancel: str(resolve_name(path)),
            on_done=lambda name: self._path_named(path, name),
            on_error=lambda sentence: self._path_refused(path, sentence),
            key=f"{self._key}:platforms",
            what=f'looking at "{path}"',
        )

    def _path_named(self, path: str, name: str) -> None:
        if path != self._source_path:
            return
        _parsed, sentence = describe_name(name, what="source")
        said = f"Taken as {name}: {sentence[:1].lower()}{sentence[1:]}"
        _note(self.source_note, visible(said), wrong=False)
        self._source = name
        self._offer_destination()
        self._list_platforms()
        self._validate()

    def _path_refused(self, path: str, sentence: str) -> None:
        if path != self._source_path:
            return
        _note(self.source_note, sentence, wrong=True)
        self._clear_platforms("The platforms of the source are listed once it names an "
                              "image.")
        self._validate()

    def _source_typed(self) -> None:
        if self._source_path:
            self._look_at_path()
        elif self._source:
            self._offer_destination()
            self._list_platforms()

    def _offer_destination(self) -> None:
        """Fill in where the typed source would go (the last place copied to), unless
        the destination was typed in by hand."""
        current = self.destination_edit.text().strip()
        if self._suggest is None or (current and current != self._suggested):
            return
        offered = self._suggest(self._source)
        if not offered or normalize_name(offered) == self._source:
            offered = ""  # not a copy at all: offer nothing rather than the last offer
        self._suggested = offered
        self.destination_edit.setText(offered)

    def _clear_platforms(self, text: str) -> None:
        self._listing_timer.stop()
        _note(self.platforms_label, text, wrong=False, muted=False)
        self._platforms_known = False
        self._platforms_problem = None
        self._is_list = False
        self._unplaced = 0
        for _platform, box in self.platform_boxes:
            self.platform_grid.removeWidget(box)
            box.deleteLater()
        self.platform_boxes.clear()
        for button in (self.system_button, self.all_button):
            button.setEnabled(False)
        self.platforms_label.setText(text)

    # -- platforms

    def _say_listing(self) -> None:
        """Past :data:`LISTING_SLOW_AFTER` seconds, say how long the source has not answered."""
        waited = time.monotonic() - self._listing_since
        if self._platforms_known:
            self._listing_timer.stop()
        elif waited >= LISTING_SLOW_AFTER:
            self.platforms_label.setText(
                f"Listing the platforms… the source has not answered for "
                f"{duration_text(waited)}: it may be down or not answering. Change the "
                "source, or wait (a request is given a minute, and asked again).")

    def _list_platforms(self) -> None:
        """List the source's platforms on a worker (an older listing's answer is dropped)."""
        self._listing_since = time.monotonic()
        self._listing_timer.start()
        openers, source = self._openers, self._source
        self._runner.submit(
            lambda cancel: list_platforms(openers, source, cancel),
            on_done=self._platforms_listed,
            on_error=self._platforms_failed,
            key=f"{self._key}:platforms",
            what=f"listing the platforms of {source}",
            lane=lane_of(source),
        )

    def _platforms_listed(self, listed: SourcePlatforms) -> None:
        self._listing_timer.stop()
        self._source_digest = listed.digest
        self._instance_digests = listed.instances
        self._is_list = listed.is_list
        self._schema1 = listed.schema1
        if listed.schema1:
            self.platforms_label.setText(
                "A single image in Docker's old schema 1: converted to schema 2 as it is "
                "copied, as skopeo converts it (which changes its digest).")
        elif not listed.is_list:
            self.platforms_label.setText("A single image: copied as it is.")
        elif not listed.platforms:
            self.platforms_label.setText(
                "A list without images for a platform (artifacts, such as charts, "
                "signatures or SBOMs): copied whole, as it is.")
        else:
            self._unplaced = listed.unplaced
            self.platforms_label.setText(f"{self._list_caption(len(listed.platforms))}; "
                                         "copy these:")
            wanted = self._wanted()
            named = [str(p) for p in listed.platforms]
            for i, platform in enumerate(listed.platforms):
                # two Windows images differ by os.version alone: each box says its own
                twin = named.count(str(platform)) > 1 and platform.os_version
                box = QCheckBox(f"{platform} ({platform.os_version})" if twin
                                else str(platform))
                if platform.os_version:
                    box.setToolTip(f"{platform}, os.version {platform.os_version}")
                box.setChecked(wanted is None or wanted.matches(platform))
                box.toggled.connect(lambda checked, box=box: self._box_toggled(box, checked))
                box.toggled.connect(self._follow_platforms)
                box.toggled.connect(self._inputs_changed)
                self.platform_grid.addWidget(box, i // 3, i % 3)
                box.show()  # now, not queued: the dialog fits itself to them (_fit)
                self.platform_boxes.append((platform, box))
            for button in (self.system_button, self.all_button):
                button.setEnabled(bool(listed.platforms))
            host = host_platform()
            runs_here = best_match(host, list(listed.platforms)) is not None
            self.system_button.setEnabled(runs_here)  # (it would untick every box)
            self.system_button.setToolTip(
                f"Tick only the image for this machine ({host})" if runs_here else
                f"No image of this list runs on this machine ({host})")
            self._order_platform_boxes()
            name, _sentence = describe_name(self.destination_edit.text())
            if wanted is None and isinstance(name, DockerArchiveName):
                self.choose_system()  # it holds one image: offer the one for this machine
        self._platforms_known = True
        self._say_named()
        self._validate()
        emit(self.platformsListed)

    def _order_platform_boxes(self) -> None:
        """Tab goes through the boxes where they show, between the destination and the
        shortcuts (added last, they would come after the dialog's buttons)."""
        boxes = [box for _platform, box in self.platform_boxes]
        if not boxes:
            return
        chain = [self.replace_box, *boxes, self.system_button, self.all_button,
                 self.format_combo]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)
        self.platforms_caption.setBuddy(boxes[0])

    def _platforms_failed(self, message: str) -> None:
        self._listing_timer.stop()
        # said as what it is: the source cannot be read as things stand (Copy would say so)
        self._platforms_problem = message
        _note(self.platforms_label, f"The platforms could not be listed: {as_clause(message)}",
              wrong=True)
        self._platforms_known = True  # planning says what is wrong, or copies what it can
        self._say_named()
        self._validate()
        emit(self.platformsListed)

    def _one_platform_only(self, only: bool) -> None:
        """A docker-archive holds one image, not a list: its platform is one choice (the
        boxes act as radio buttons, "All" is off)."""
        if only and sum(box.isChecked() for _p, box in self.platform_boxes) > 1:
            self.choose_system()
            if self.platform_boxes and not any(b.isChecked() for _p, b in self.platform_boxes):
                self.platform_boxes[0][1].setChecked(True)  # none for this machine: one
        self._one_platform = only
        self.all_button.setEnabled(bool(self.platform_boxes) and not only)
        if self._is_list and self.platform_boxes:
            caption = self._list_caption(len(self.platform_boxes))
            self.platforms_label.setText(
                f"{caption}; a docker-archive holds one image, so choose one:"
                if only else f"{caption}; copy these:")

    def _list_caption(self, count: int) -> str:
        """``A list of N platforms``, and the images that name none, which go along when
        every platform is ticked (the list is then copied whole)."""
        caption = f"A list of {counted(count, 'platform')}"
        if self._unplaced:
            caption += (f" and {counted(self._unplaced, 'image')} naming none (copied when "
                        "every platform is ticked: the list whole)")
        return caption

    def _follow_platforms(self) -> None:
        """After one platform of a list was dragged, the name offered follows the boxes
        ticked: one platform is named after it, several get the list's own name (under the
        one platform's name, a copy of all of them would pass for that platform). A name
        typed over is left as it is."""
        if self._wanted_platform and self.source_edit.isReadOnly():
            # the caption under the source says which platforms go, as the copy's name does
            self.source_note.setText(self.copy_label())
        if self._suggest_for_platform is None or not self.platform_boxes:
            return
        if self.destination_edit.text().strip() != self._platform_offer:
            return
        chosen = [p for p, box in self.platform_boxes if box.isChecked()]
        offer = self._suggest_for_platform(str(chosen[0]) if len(chosen) == 1 else "")
        self._platform_offer = offer
        if offer and offer != self.destination_edit.text().strip():
            self.destination_edit.setText(offer)

    def copy_label(self) -> str:
        """What the copy is called (the transfers panel, the status bar): the image, and
        the platforms ticked where they are not all of them."""
        label = self._label or self._source
        if self._wanted_platform:
            label = label.removesuffix(f" ({self._wanted_platform})")
        chosen = [str(p) for p, box in self.platform_boxes if box.isChecked()]
        if not self.platform_boxes:  # not listed yet: the one dragged, if any
            return self._label or self._source
        if len(chosen) == len(self.platform_boxes) or not chosen:
            return label
        if len(chosen) == 1:
            return f"{label} ({chosen[0]})"
        return f"{label} ({len(chosen)} of {len(self.platform_boxes)} platforms)"

    def _box_toggled(self, box: QCheckBox, checked: bool) -> None:
        """One choice while :attr:`_one_platform`: ticking a box unticks the others, and
        the one ticked stays ticked (as radio buttons)."""
        if not self._one_platform:
            return
        if checked:
            for _platform, other in self.platform_boxes:
                if other is not box and other.isChecked():
                    other.setChecked(False)
        elif not any(b.isChecked() for _p, b in self.platform_boxes):
            box.setChecked(True)

    def choose_system(self) -> None:
        """Check only the platform that fits this machine best."""
        platforms = [p for p, _box in self.platform_boxes]
        found = best_match(host_platform(), platforms)
        for i, (_platform, box) in enumerate(self.platform_boxes):
            box.setChecked(i == found)

    def choose_all(self) -> None:
        for _platform, box in self.platform_boxes:
            box.setChecked(True)

    def set_platforms(self, chosen: list[str]) -> None:
        """Check exactly these platforms (``OS/ARCH[/VARIANT]``)."""
        for platform, box in self.platform_boxes:
            box.setChecked(str(platform) in chosen)

    # -- options

    def _explain_compression(self) -> None:
        """The combo's tooltip says what the chosen compression does (each item of its
        list says what it would)."""
        combo = self.compression_combo
        explained = combo.itemData(combo.currentIndex(), Qt.ItemDataRole.ToolTipRole)
        combo.setToolTip(f"{combo.currentText()}: {explained}\nA docker save archive holds "
                         "uncompressed layers only (gzip and zstd are not offered for one).")

    def _wanted(self) -> Platform | None:
        """The platform the image was dragged as (a row of a list's platforms), if any."""
        try:
            return Platform.parse(self._wanted_platform) if self._wanted_platform else None
        except Exception:
            return None

    def options(self) -> CopyOptions:
        """The options as the dialog shows them (with no platforms listed, the dragged
        platform is still the one copied)."""
        chosen = tuple(p for p, box in self.platform_boxes if box.isChecked())
        is_list, wanted = self._is_list, self._wanted()
        if not self.platform_boxes and wanted is not None and not is_list:
            chosen, is_list = (wanted,), True
        # a list with no platform to choose from is copied whole
        everything = len(chosen) == len(self.platform_boxes) and (
            bool(self.platform_boxes) or is_list)
        return CopyOptions(
            platforms=() if everything else chosen,
            multi_arch="all" if everything or not is_list else "system",
            format=self.format_combo.currentData(),
            compression=self.compression_combo.currentData(),
            preserve_digests=self.preserve_box.isChecked(),
            parallel=self.parallel_spin.value(),
            remove_signatures=not self.signatures_box.isChecked(),
        )

    def request(self) -> CopyRequest:
        return CopyRequest(self._source, normalize_name(self.destination_edit.text()),
                           self.options(), self.copy_label())

    def _validate(self) -> bool:
        """Whether the copy can be planned as the dialog stands; enables Copy accordingly."""
        text = normalize_name(self.destination_edit.text())
        name, sentence = describe_name(self.destination_edit.text(), hosts=self._hosts())
        wrong = name is None and bool(self.destination_edit.text().strip())
        _note(self.destination_note, sentence, wrong=wrong)
        self._one_platform_only(isinstance(name, DockerArchiveName))
        self._fit_choices(name)
        if name is not None and text != self._checked_destination:
            self._check_destination(text, name)
        elif name is None and self._checked_destination is not None:
            self._forget_destination()  # what was said of the last name no longer holds
        # what is wrong with the destination, read with the field (or the checkbox)
        link_error(self.destination_edit, sentence if wrong else self.destination_refusal)
        link_error(self.replace_box, "" if self.replace_box.isHidden()
                   else self.replace_note.text())
        replaced = self.replaced if self._destination_known else None
        ready = (name is not None and bool(self._source) and self._platforms_known
                 and self._destination_known and not self._planning
                 and not self.destination_refusal
                 and (replaced is None or self.replace_box.isChecked()))
        self.copy_button.setText("Replace" if replaced is not None else "Copy")
        self.copy_button.setEnabled(ready)
        self._fit()
        return ready

    def _fit_choices(self, name: ImageName | None) -> None:
        """Offer only the format and compression the destination can take: an OCI layout
        or archive holds OCI manifests only; a docker-archive holds Docker schema 2
        images with plain tar layers (docker load's format). A choice that is no longer
        offered goes back to the first."""
        oci_only = isinstance(name, OCIName | OCIArchiveName)
        docker_archive = isinstance(name, DockerArchiveName)
        _offer(self.format_combo, {
            "v2s2": "An OCI layout or archive holds OCI manifests only." if oci_only else "",
            "oci": "A docker-archive holds Docker schema 2 images only."
            if docker_archive else "",
        })
        plain = ("A docker-archive keeps its layers as plain tars (docker load's format)."
                 if docker_archive else "")
        _offer(self.compression_combo, {"gzip": plain, "zstd": plain})

    def _fit(self) -> None:
        """Grow to fit what the dialog now shows (platforms listed, a note or a refusal
        that wraps onto more lines)."""
        self._fitter.fit()

    def _forget_destination(self) -> None:
        """The destination typed is no name: nothing said of an earlier one stays."""
        self._checked_destination = None
        self.replaced = None
        self.destination_refusal = ""
        self._named = None
        for widget in (self.replace_note, self.replace_box, self.named_note):
            widget.hide()
        self.replace_box.setChecked(False)

    def _check_destination(self, text: str, name: ImageName) -> None:
        """Find out (on a worker) what a copy to ``text`` would replace; a confirmation
        given for another destination does not carry over."""
        self._checked_destination = text
        self._check_named(text, name)
        self.replaced = None
        self.destination_refusal = ""
        self.replace_box.setChecked(False)
        self.replace_note.hide()
        self.replace_box.hide()
        self._destination_known = not looked_at_first(name)
        if self._destination_known:
            return
        self._runner.submit(
            lambda cancel: find_replaced(name, cancel),
            on_done=lambda replaced: self._destination_found(text, replaced),
            on_error=lambda message: self._destination_refused(text, message),
            key=f"{self._key}:destination",
            what=f"looking at {text}",
            lane=lane_of(normalize_name(text)),
        )

    def _check_named(self, text: str, name: ImageName) -> None:
        """Find out (on a worker) what the tag or ref the copy writes names there now: a
        name moved off another image is said, not done unseen."""
        self._named = None
        self.named_note.hide()
        openers = self._openers
        self._runner.submit(
            lambda cancel: named_now(openers, name, cancel),
            on_done=lambda digest: self._named_found(text, digest),
            on_error=lambda _message: None,  # the copy says what is wrong, if it is
            key=f"{self._key}:named",
            what=f"looking at what {text} names",
            lane=lane_of(normalize_name(text)),
        )

    def _named_found(self, text: str, digest: Digest | None) -> None:
        if text != self._checked_destination:
            return
        self._named = (text, digest)
        self._say_named()

    def _say_named(self) -> None:
        """The note of what the name names now (once both it and the source are known)."""
        text, digest = self._named if self._named is not None else ("", None)
        if digest is None or not self._platforms_known:  # what is written is known after
            self.named_note.hide()
            return
        name, _sentence = describe_name(text)
        tag = getattr(name, "ref", None) or getattr(getattr(name, "reference", None),
                                                     "tag", None)
        written = self._written_digest()
        dropped = (", and that image is no longer listed in the layout"
                   if isinstance(name, OCIName) else "")
        # the name quoted and called what it is: a tag such as 1 or 2.0 first in the
        # sentence read as a count ("1 there names this very image already")
        what = f'The tag "{tag}"' if isinstance(name, DockerName) else f'The name "{tag}"'
        if written is not None and digest == written:
            said = f"{what} there names this very image already: {self._held_clause(name)}"
        elif written is not None:
            said = (f"{what} there names another image now ({short_digest(digest)}); the "
                    f"copy gives the name to this one{dropped}.")
        else:
            said = (f"{what} there names an image now ({short_digest(digest)}); the copy "
                    f"gives the name to the one it writes{dropped}.")
        self.named_note.setText(said)
        self.named_note.show()
        self._fit()

    def _held_clause(self, name: ImageName | None) -> str:
        """What a copy onto a name that names this very image already will write: into a
        registry, nothing of the image (what is attached to it goes along where the
        registry lacks it); into a layout, no blob again (its blobs are there: the index
        lists the image)."""
        if not isinstance(name, DockerName):
            return "none of its blobs will be copied again."
        if self.signatures_box.isChecked():
            return ("nothing of it will be written, only what is attached to it that the "
                    "registry does not have yet.")
        return "nothing will be written."

    def _written_digest(self) -> Digest | None:
        """The digest the copy writes as the dialog stands, where it is the source's own:
        the image or list as it is, or the one platform's image ticked; None for a list
        rebuilt with some of its images, or converted or recompressed."""
        if self.format_combo.currentData() is not None or \
                self.compression_combo.currentData() is not None:
            return None
        chosen = [i for i, (_p, box) in enumerate(self.platform_boxes) if box.isChecked()]
        if not self.platform_boxes or len(chosen) == len(self.platform_boxes):
            return self._source_digest if not self._wanted_platform or self.platform_boxes \
                else None
        if len(chosen) == 1 and chosen[0] < len(self._instance_digests):
            return self._instance_digests[chosen[0]]
        return None

    def _destination_refused(self, text: str, sentence: str) -> None:
        """A copy to ``text`` would be refused: said at once, and Copy stays off until
        the destination changes."""
        if text != self._checked_destination:
            return
        self._destination_known = True
        self.destination_refusal = sentence
        self.replace_note.setText(sentence)
        self.replace_note.show()
        self._validate()
        emit(self.destinationChecked)

    def _destination_found(self, text: str, replaced: Replaced | None) -> None:
        if text != self._checked_destination:
            return
        self._destination_known = True
        self.replaced = replaced
        if replaced is not None:
            self.replace_note.setText(replaced.sentence())
            self.replace_note.show()
            self.replace_box.show()
        self._validate()
        emit(self.destinationChecked)

    # -- planning

    def start(self) -> None:
        """Plan the copy on a worker; start it (and close) if the plan holds."""
        if not self._validate():
            return
        if self._is_list and self.platform_boxes and not any(
                box.isChecked() for _p, box in self.platform_boxes):
            self._refuse("Choose at least one platform to copy.")
            return
        request = self.request()
        self.error_label.hide()
        self._planning = True
        self.copy_button.setEnabled(False)
        self.spinner.start()
        self.spinner.show()
        # a schema 1 image is read whole while planning (to learn its diff IDs): say so
        self.planning_label.setVisible(self._schema1)
        # the end the plan asks now (written by the plan's thread): the wait names it alone
        asking = self._asking = [request.source]
        self.plan_wait.start("" if self._schema1 else lambda: _waiting_on(asking[0]))
        openers = self._openers

        def ask(name: str) -> None:
            asking[0] = name

        self._runner.submit(
            lambda cancel: prepare_copy(openers, request, cancel, ask),
            on_done=lambda prepared: self._planned(request, prepared),
            on_error=self._refuse,
            key=f"{self._key}:plan",
            what=f"planning the copy of {request.source}",
            # (it reads the source and checks that the destination may be written: a
            # registry on either end, that one's lane; never the local lane for a wait
            # on a registry)
            lane=copy_lane(request.source, request.destination),
            cleanup=lambda prepared: prepared.close(),
        )

    def _inputs_changed(self) -> None:
        """Something the copy depends on changed: a plan under way is dropped, and a
        refusal of the inputs as they were no longer stands."""
        self._say_named()
        self._drop_plan()
        self.error_label.hide()
        self._validate()

    def _drop_plan(self) -> None:
        """Drop the plan under way, if any: its answer is not taken (a plan that comes
        all the same is released by the runner), and Copy plans for the inputs as they
        are now."""
        if not self._planning:
            return
        self._runner.cancel(f"{self._key}:plan")
        self._stop_planning()

    def _stop_planning(self) -> None:
        self._planning = False
        self.spinner.stop()
        self.spinner.hide()
        self.planning_label.hide()
        self.plan_wait.stop()

    def _stop_waiting(self) -> None:
        """Stop pressed while the plan waited on a registry: the plan is dropped, and the
        dialog says after how long; Copy asks again."""
        if not self._planning:
            return
        waited = self.plan_wait.waited_for
        host = registry_host(self._asking[0]) or " or ".join(_hosts_of(self.request()))
        self._drop_plan()  # (Stop hides: the focus would go on to Cancel, unmarked)
        self._refuse(stopped_text(host, waited))
        # Copy, enabled again and shown focused: Enter asks again, as the button says
        self.copy_button.setFocus(Qt.FocusReason.TabFocusReason)

    def _planned(self, request: CopyRequest, prepared: Prepared) -> None:
        self._stop_planning()
        self._prepared = prepared
        emit(self.planned, request, prepared)
        self._prepared = None
        self.accept()

    def _refuse(self, sentence: str) -> None:
        self._stop_planning()
        if self._platforms_problem is not None and \
                self._platforms_problem.rstrip(".") in sentence:
            # said once, where the buttons are: the note above only points to it
            _note(self.platforms_label, "The platforms could not be listed.", wrong=True)
        self.error_label.setText(sentence)
        self.error_label.show()
        announce(self.error_label, sentence, assertive=True)
        self._validate()
        emit(self.refused, sentence)

    @property
    def error_text(self) -> str:
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def done(self, result: int) -> None:
        """Override QDialog::done: a plan still under way is dropped (and released), and so
        are the other jobs' answers."""
        for job in ("plan", "platforms", "destination", "named"):
            self._runner.cancel(f"{self._key}:{job}")
        self.plan_wait.stop()
        super().done(result)


"""How the dialog writes what is wrong (a name that cannot be used, a refusal)."""


_OWN_TOOLTIP: Final = Qt.ItemDataRole.UserRole + 1


def _hosts_of(request: CopyRequest) -> list[str]:
    """The registries planning ``request`` asks (its source's, its destination's)."""
    hosts: list[str] = []
    for name in (request.source, request.destination):
        host = registry_host(name)
        if host and host not in hosts:
            hosts.append(host)
    return hosts


def _waiting_on(name: str) -> str:
    """"Still waiting for HOST" of a plan asking the registry ``name`` is in; "" of one
    asking files (no registry to stop waiting for)."""
    host = registry_host(name)
    return f"Still waiting for {host}" if host else ""


def _offer(combo: QComboBox, refused: dict[str, str]) -> None:
    """Enable each item of ``combo`` unless ``refused`` gives a reason (its data is the
    key), shown as its tooltip; a refused current item gives way to the first."""
    model = combo.model()
    for row in range(combo.count()):
        reason = refused.get(str(combo.itemData(row)), "")
        item = model.item(row) if isinstance(model, QStandardItemModel) else None
        if item is None:
            continue
        item.setEnabled(not reason)
        kept = item.data(_OWN_TOOLTIP)
        if kept is None:  # the item's own explanation, kept for when it is offered again
            kept = item.toolTip()
            item.setData(kept, _OWN_TOOLTIP)
        item.setToolTip(reason or str(kept))
    if refused.get(str(combo.currentData()), ""):
        combo.setCurrentIndex(0)


class _FileDrops(QObject):
    """Files dropped on a typed source's field from a file manager: their URLs replace
    what it holds (a drag of files alone was refused; one with their text inserted it
    where the pointer was)."""

    def __init__(self, edit: QLineEdit) -> None:
        super().__init__(edit)
        self._edit = edit

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter."""
        if not isinstance(event, QDropEvent) or self._edit.isReadOnly():
            return False
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if not urls:
            return False
        event.acceptProposedAction()
        if not isinstance(event, QDragEnterEvent | QDragMoveEvent):  # the drop itself
            self._edit.setText("\n".join(
                url.toString(QUrl.ComponentFormattingOption.FullyEncoded) for url in urls))
        return True


def _note(label: QLabel, sentence: str, *, wrong: bool, muted: bool = True) -> None:
    """A note under a field: muted while it describes or hints (plain, not ``muted``), in
    the error colour when it says what is wrong with what was typed."""
    label.setText(sentence)
    if wrong:
        show_as_error(label)
    elif muted:
        mute(label)
    else:
        plain_text(label)


__all__ = ["CopyDialog"]

