"""The Copy dialog: where to, which platforms, which format; plans the copy before it starts."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
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

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import SpyglassError
from spyglass.core.manifest import Descriptor
from spyglass.core.platform import Platform
from spyglass.core.reference import DockerArchiveName
from spyglass.core.retry import Wait
from spyglass.core.transports.file_lock import LOCK_LISTENER
from spyglass.gui.announce import announce
from spyglass.gui.copy_destinations import Replaced
from spyglass.gui.copy_jobs import CopyRequest, Openers, Prepared, prepare_copy, window_parallel
from spyglass.gui.copy_names import normalize_name
from spyglass.gui.dialogs.copy_destination import CopyDestinationMixin
from spyglass.gui.dialogs.copy_fields import FileDrops, note
from spyglass.gui.dialogs.copy_options import COMPRESSIONS, FORMATS, CopyOptionsMixin
from spyglass.gui.dialogs.copy_platforms import CopyPlatformsMixin
from spyglass.gui.dialogs.copy_source import CopySourceMixin
from spyglass.gui.dialogs.fitting import Fitter
from spyglass.gui.signals import emit
from spyglass.gui.themed import mute, show_as_error
from spyglass.gui.views.buttons import plain_buttons, tab_as_drawn
from spyglass.gui.views.wait_notice import Retrying, WaitNotice, stopped_text
from spyglass.gui.views.widgets import Spinner, enable_clear_button, link_error, scaled_font
from spyglass.gui.workers import Runner, copy_lane, registry_host

if TYPE_CHECKING:
    from spyglass.gui.transfers import Transfer

SOURCE_PAUSE_MS: Final = 400
"""How long typing in the Source field pauses before its platforms are listed."""

_ids = itertools.count(1)


class CopyDialog(CopySourceMixin, CopyPlatformsMixin, CopyOptionsMixin, CopyDestinationMixin,
                 QDialog):
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

    Its parts: the source when typed
    (:class:`~spyglass.gui.dialogs.copy_source.CopySourceMixin`), the platforms
    (:class:`~spyglass.gui.dialogs.copy_platforms.CopyPlatformsMixin`), the format,
    compression and other options
    (:class:`~spyglass.gui.dialogs.copy_options.CopyOptionsMixin`), what is at the
    destination already (:class:`~spyglass.gui.dialogs.copy_destination.CopyDestinationMixin`);
    the fields, their checks and the planning here.

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
                 instance: str = "", expected: str = "",
                 suggest: Callable[[str], str] | None = None,
                 suggest_for_platform: Callable[[str], str] | None = None,
                 hosts: Callable[[], list[str]] | None = None,
                 writing: Callable[[str], Transfer | None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._hosts: Callable[[], list[str]] = hosts or list
        """The registries of the window's list, for pointing a name without its registry
        to them."""
        self._writing: Callable[[str], Transfer | None] = writing or (lambda _name: None)
        """The copy in Transfers, not ended, that writes what a copy to a destination
        would write alone (:meth:`~spyglass.gui.transfers.TransferManager.writing`)."""
        self._suggest = suggest
        """For a typed source: the destination to offer for it ("" for none)."""
        self._suggested = ""
        """The destination last offered, while the field still holds it (not typed over)."""
        self._suggest_for_platform = suggest_for_platform if platform or instance else None
        """For one platform of a list dragged (or one image of it that no platform chooses): the
        destination to offer for the platform ticked ("" for several, the list's own
        name)."""
        self._platform_offer = destination if platform or instance else ""
        """The destination offered for the platforms ticked, while the field holds it."""
        self._openers = openers
        self._source = normalize_name(source)
        self._source_path = ""
        """A typed source that is a path without its transport, until the disk says
        which it is (then ``_source``)."""
        self._label = label
        self._wanted_platform = platform
        self._wanted_instance = _digest_or_none(instance)
        """The digest of the image of the list dragged (one platform's, or one that no
        platform chooses): its box alone is ticked."""
        self._expected = _digest_or_none(expected) if source else None
        """The digest of the image the window showed under the source's name, which the
        copy expects it to name still (None: copied by name, as a typed source is)."""
        self._key = f"copy-dialog:{next(_ids)}"
        self._is_list = False
        self._schema1 = False
        """A Docker schema 1 source (read whole while planning, to convert it)."""
        self._others = 0  # entries of the list that go only with it whole (artifacts)
        self._platforms_known = False
        self._platforms_problem: str | None = None
        """Why the platforms could not be listed, while that is what the note says."""
        self._fitter = Fitter(self)
        self._prepared: Prepared | None = None
        self._planning = False
        """Whether a plan is being made (for the inputs as they were when Copy was pressed)."""
        self._asking: list[str] = [""]
        """The name of the end the plan under way asks now (set by the plan's thread)."""
        self._locked: list[str] = [""]
        """The layout folder the plan under way waits for another program to let go of,
        once that wait is long (set by the plan's thread); "" otherwise."""
        self._retrying: list[Retrying | None] = [None]
        """The wait before a request of the plan under way is asked again (a registry
        that refused the connection, or asked to wait), while it holds; None otherwise."""
        self._checked_destination: str | None = None
        """The destination text whose check was asked for (see :meth:`_check_destination`)."""
        self._destination_known = False
        self.replaced: Replaced | None = None
        """What the copy would replace, once known (None: it adds to what is there)."""
        self.destination_refusal = ""
        """Why a copy to the destination would be refused, once known ("" for none)."""
        self.platform_boxes: list[tuple[Platform, QAbstractButton]] = []
        self.digest_boxes: list[tuple[Descriptor, QAbstractButton]] = []
        """A box for each image of the list that no platform chooses, after the platforms'
        (:attr:`~spyglass.gui.copy_jobs.SourcePlatforms.by_digest`): copied by its digest."""
        self._one_platform = False
        """Whether the boxes are one choice, drawn as radio buttons: the destination holds
        one image (a docker-archive). Kept by hand: a QButtonGroup would make them one Tab
        stop."""
        self.setWindowTitle("Copy Image")
        # what is copied, in words (as Add Registry's "Add a container registry")
        self.heading = QLabel()
        self.heading.setFont(scaled_font(self.heading.font(), 1.15, bold=True))
        self.heading.setWordWrap(True)

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
        self.source_edit.installEventFilter(FileDrops(self.source_edit))
        self.destination_edit = QLineEdit(destination)
        self.destination_edit.setPlaceholderText(
            "docker://HOST/REPO:TAG, oci:/path:TAG or a folder")
        enable_clear_button(self.destination_edit)
        # a folder picked: an OCI layout there, named as a drop on it names the image
        self.browse_button = QPushButton("&Browse…")
        self.browse_button.setToolTip("Choose a folder to copy the image into, as an OCI "
                                      "image layout")
        self.browse_button.clicked.connect(self.browse_folder)
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
        self.busy_note = QLabel()
        """That a copy in Transfers writes the destination's archive, folder, tag or ref:
        this one would wait for it (:meth:`transfers_changed` keeps it current)."""
        self.busy_note.setWordWrap(True)
        mute(self.busy_note)
        self.busy_note.hide()
        self._warned = ""
        """The warnings under the destination last said to screen readers."""
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
            # Enter on one tabbed to presses it, as on Cancel; one clicked keeps no focus,
            # so that Enter after a click copies
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
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
        # the window's copies together move at most window_parallel() layers at once
        # (TransferManager.blob_slots): more would never be true for one of them
        together = window_parallel()
        self.parallel_spin.setRange(1, together)
        self.parallel_spin.setValue(together)
        self.parallel_spin.setSuffix(" layers at once")
        for combo in (self.format_combo, self.compression_combo):
            combo.currentIndexChanged.connect(self._inputs_changed)
        for box in (self.preserve_box, self.signatures_box):
            box.toggled.connect(self._inputs_changed)
        self.parallel_spin.setToolTip(
            f"How many of the image's layers this copy moves at the same time. The "
            f"window's copies share one bound: together they move at most {together} "
            f"layers at once, so a copy moves fewer while others run (always one at "
            f"least).")
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
        destination_row = QHBoxLayout()
        destination_row.addWidget(self.destination_edit, 1)
        destination_row.addWidget(self.browse_button)
        destination_box.addLayout(destination_row)
        destination_box.addWidget(self.destination_note)
        destination_box.addWidget(self.named_note)
        destination_box.addWidget(self.busy_note)
        destination_box.addWidget(self.replace_note)
        destination_box.addWidget(self.replace_box)
        # a row of a layout gets a label without a buddy: give it one, so that its
        # mnemonic works (and the "&" is not shown)
        destination_label = QLabel("&Destination:")
        destination_label.setBuddy(self.destination_edit)
        form.addRow(destination_label, destination_box)
        self.platforms_caption = QLabel("P&latforms:")
        self.platforms_caption.setBuddy(self.system_button)  # the first box, once listed
        # at the top of its row, level with the sentence's first line (centred, it sat
        # between the lines of a sentence of two), as the other captions are
        self.platforms_caption.setAlignment(Qt.AlignmentFlag.AlignLeft
                                            | Qt.AlignmentFlag.AlignTop)
        form.addRow(self.platforms_caption, platforms)
        form.addRow("&Format:", self.format_combo)
        # (not C, nor O: the platform's Cancel and OK may have them, as GNOME's do)
        form.addRow("Co&mpression:", self.compression_combo)
        form.addRow("", self.preserve_box)
        form.addRow("", self.signatures_box)
        form.addRow("&Parallel:", self.parallel_spin)

        self.buttons = QDialogButtonBox()
        self.copy_button = self.buttons.addButton("Copy", QDialogButtonBox.ButtonRole.AcceptRole)
        # Enter copies, but on Cancel (tabbed to) cancels, as on a focused button
        # anywhere: Copy is the default once the dialog holds it (see below)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        plain_buttons(self.buttons)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.spinner)
        bottom.addWidget(self.planning_label, 1)
        bottom.addWidget(self.plan_wait, 1)
        bottom.addWidget(self.error_label, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(form)
        # a height to spare (the person made the dialog taller) goes here, not around
        # the heading
        layout.addStretch(1)
        layout.addLayout(bottom)
        layout.addWidget(self.buttons)
        tab_as_drawn(self.buttons)  # (Cancel comes first in some platforms' order)
        # as wide as some 85 characters of its font (a larger font cut the source's name)
        self._fitter.open_at(max(620, 85 * self.fontMetrics().averageCharWidth()))
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

    def _validate(self) -> bool:
        """Whether the copy can be planned as the dialog stands; enables Copy accordingly."""
        text = self.destination_name()
        name, sentence = self.described_destination()
        wrong = name is None and bool(self.destination_edit.text().strip())
        note(self.destination_note, sentence, wrong=wrong)
        self._one_platform_only(isinstance(name, DockerArchiveName))
        self._fit_choices(name)
        if name is not None and text != self._checked_destination:
            self._check_destination(text, name)
        elif name is None and self._checked_destination is not None:
            self._forget_destination()  # what was said of the last name no longer holds
        self._say_busy(text if name is not None else "")
        # refused (in red, below), the destination is not described as what a copy would
        # make of it ("a new one if there is none yet"): the refusal says what it is
        self.destination_note.setHidden(bool(self.destination_refusal) and not wrong)
        # what is said under the destination, read with the field (the replacement also
        # with the checkbox)
        self._describe_destination(sentence, wrong=wrong)
        link_error(self.replace_box, "" if self.replace_box.isHidden()
                   else self.replace_note.text())
        replaced = self.replaced if self._destination_known else None
        ready = (name is not None and bool(self._source) and self._platforms_known
                 and self._destination_known and not self._planning
                 and not self.destination_refusal
                 and (replaced is None or self.replace_box.isChecked()))
        self.copy_button.setText("Replace" if replaced is not None else "Copy")
        self.heading.setText(self.heading_text())
        self.copy_button.setEnabled(ready)
        self._fit()
        return ready

    def heading_text(self) -> str:
        """The dialog's heading: the image copied, as the Transfers panel will call it
        (``Copy spyglass-demo:1.0``); for a source not typed yet, what to do."""
        return f"Copy {self.copy_label()}" if self._source else "Copy an image by its name"

    def browse_folder(self) -> str:
        """Browse…: choose a folder, taken as the same path typed is (an OCI layout, or
        the ``dir:`` image there), the image named as a drop on it names it
        (:meth:`take_chosen_path`). What the field was given ("" when cancelled)."""
        folder = QFileDialog.getExistingDirectory(self, "Copy Into Folder",
                                                  self.browse_start())
        if not folder:
            return ""
        taken = self.take_chosen_path(folder)  # (its whole name once the disk is seen)
        self.destination_edit.setFocus()
        return taken

    def _fit(self) -> None:
        """Grow to fit what the dialog now shows (platforms listed, a note or a refusal
        that wraps onto more lines)."""
        self._fitter.fit()

    # -- planning

    def start(self) -> None:
        """Plan the copy on a worker; start it (and close) if the plan holds."""
        if not self._validate():
            return
        if self._is_list and self.choice_boxes() and not any(
                box.isChecked() for box in self.choice_boxes()):
            self._refuse("Choose at least one platform to copy.")
            return
        self.error_label.hide()
        self._planning = True
        self.copy_button.setEnabled(False)
        self.spinner.start()
        self.spinner.show()
        # a bare path, or an archive's or dir: folder's with its kind, is looked at again
        # first: planned once it is what it was
        if not self.look_again():
            self._plan()

    def _plan(self) -> None:
        """Plan the copy as the dialog stands, on a worker (see :meth:`start`)."""
        request = self.request()
        # a schema 1 image is read whole while planning (to learn its diff IDs): say so
        self.planning_label.setVisible(self._schema1)
        # the end the plan asks now (written by the plan's thread): the wait names it alone
        asking = self._asking = [request.source]
        # the layout another program holds locked, once that wait is long (written by
        # the plan's thread, as asking)
        locked = self._locked = [""]
        # the wait before a request is asked again, while it holds (told on this thread,
        # by the job's on_wait)
        retrying: list[Retrying | None] = [None]
        self._retrying = retrying
        self.plan_wait.start("" if self._schema1 else
                             lambda: _waiting_on(asking[0], locked[0], retrying[0]))
        openers = self._openers

        def ask(name: str) -> None:
            asking[0] = name

        def held(place: Path | None) -> None:
            locked[0] = "" if place is None else place.name

        def retried(wait: Wait) -> None:
            retrying[0] = Retrying.begun(wait)

        def plan(cancel: CancelToken) -> Prepared:
            listening = LOCK_LISTENER.set(held)
            try:
                return prepare_copy(openers, request, cancel, ask)
            finally:
                LOCK_LISTENER.reset(listening)

        self._runner.submit(
            plan,
            on_done=lambda prepared: self._planned(request, prepared),
            on_error=self._refuse,
            key=f"{self._key}:plan",
            what=f"planning the copy of {request.source}",
            # (it reads the source and checks that the destination may be written: a
            # registry on either end, that one's lane; never the local lane for a wait
            # on a registry)
            lane=copy_lane(request.source, request.destination),
            cleanup=lambda prepared: prepared.close(),
            on_wait=retried,
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
        self._path_again = ""  # (a look again under way no longer starts the plan)
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
        locked = self._locked[0]
        retrying = Retrying.holding(self._retrying[0])
        self._drop_plan()  # (Stop hides: the focus would go on to Cancel, unmarked)
        self._refuse(f"Stopped: {locked} was being written by another program after "
                     f"{waited:.0f} s. Try again once it is done." if locked
                     else stopped_text(host, waited, retrying))
        # Copy, enabled again and shown focused: Enter asks again, as the button says
        self.copy_button.setFocus(Qt.FocusReason.TabFocusReason)

    def _planned(self, request: CopyRequest, prepared: Prepared) -> None:
        self._stop_planning()
        self._prepared = prepared
        emit(self.planned, request, prepared)
        self._prepared = None
        self.accept()

    def _say_stopped(self, sentence: str) -> None:
        """The copy was not started, for ``sentence``: said where a refusal is (Copy asks
        again once the dialog is as wanted)."""
        self._stop_planning()
        self.error_label.setText(sentence)
        self.error_label.show()
        announce(self.error_label, sentence, assertive=True)

    def _refuse(self, sentence: str) -> None:
        if self._platforms_problem is not None and \
                self._platforms_problem.rstrip(".") in sentence:
            # said once, where the buttons are: the note above only points to it
            note(self.platforms_label, "The platforms could not be listed.", wrong=True)
        self._say_stopped(sentence)
        self._validate()
        emit(self.refused, sentence)

    @property
    def error_text(self) -> str:
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def done(self, result: int) -> None:
        """Override QDialog::done: a plan still under way is dropped (and released), and so
        are the other jobs' answers; the runner forgets their keys."""
        for job in ("plan", "platforms", "destination", "destination-path", "named"):
            self._runner.forget(f"{self._key}:{job}")
        self.plan_wait.stop()
        super().done(result)


def _digest_or_none(text: str) -> Digest | None:
    """The digest ``text`` is ("" or no digest: None)."""
    try:
        return Digest.parse(text) if text else None
    except SpyglassError:
        return None


def _hosts_of(request: CopyRequest) -> list[str]:
    """The registries planning ``request`` asks (its source's, its destination's)."""
    hosts: list[str] = []
    for name in (request.source, request.destination):
        host = registry_host(name)
        if host and host not in hosts:
            hosts.append(host)
    return hosts


def _waiting_on(name: str, locked: str = "", retrying: Retrying | None = None) -> str:
    """"Still waiting for HOST" of a plan asking the registry ``name`` is in; "Waiting for
    another program to finish writing NAME" of one waiting for the lock another program
    holds on the layout ``locked``; "Cannot reach the registry HOST (connection refused);
    asking again, attempt 2 of 4" of one whose request waits to be asked again
    (``retrying``, while it holds: not a registry that does not answer); "" of one asking
    files (no registry to stop waiting for)."""
    if locked:
        return f"Waiting for another program to finish writing {locked}"
    if (holds := Retrying.holding(retrying)) is not None:
        return holds.text
    host = registry_host(name)
    return f"Still waiting for {host}" if host else ""


__all__ = ["CopyDialog"]
