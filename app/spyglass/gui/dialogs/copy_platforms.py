"""The Copy dialog's platforms: listed from the source on a worker, a box for each (a radio
button each where only one may be chosen), and one for each image of the list that no
platform chooses (copied by its digest: it names none, or the list has another image for
its platform), and the shortcuts that tick them (This System, All).

:class:`CopyPlatformsMixin` is one part of :class:`~spyglass.gui.dialogs.copy.CopyDialog`; the
attributes it reads are made by the dialog's ``__init__``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Final

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from spyglass.core.digest import Digest
from spyglass.core.errors import as_clause
from spyglass.core.manifest import Descriptor
from spyglass.core.platform import Platform, best_match, host_platform
from spyglass.core.platform_choice import unplaced_text
from spyglass.core.reference import DockerArchiveName, ImageName
from spyglass.core.units import duration_text
from spyglass.gui.copy_jobs import Openers, SourcePlatforms, list_platforms
from spyglass.gui.copy_names import image_label
from spyglass.gui.dialogs.copy_fields import note
from spyglass.gui.formatting import counted, instance_label, twin_label, unplaced_label
from spyglass.gui.signals import emit
from spyglass.gui.workers import Runner, lane_of

LISTING_SLOW_AFTER: Final = 15.0
"""Seconds of listing a source's platforms after which the dialog says it has not answered
(as a copy says it is stalled)."""


class CopyPlatformsMixin(QDialog):
    """The Copy dialog's platforms (see the module docstring)."""

    # made by CopyDialog: PySide6 registers only the signals of a class's first line of
    # bases, which this part is not on
    platformsListed: ClassVar[Signal]
    platform_boxes: list[tuple[Platform, QAbstractButton]]
    digest_boxes: list[tuple[Descriptor, QAbstractButton]]
    source_edit: QLineEdit
    source_note: QLabel
    destination_edit: QLineEdit
    replace_box: QCheckBox
    platforms_label: QLabel
    platforms_caption: QLabel
    platform_grid: QGridLayout
    system_button: QPushButton
    all_button: QPushButton
    format_combo: QComboBox
    _runner: Runner
    _suggest_for_platform: Callable[[str], str] | None
    _platform_offer: str
    _openers: Openers
    _source: str
    _label: str
    _wanted_platform: str
    _wanted_instance: Digest | None
    _key: str
    _is_list: bool
    _schema1: bool
    _others: int
    _platforms_known: bool
    _platforms_problem: str | None
    _one_platform: bool
    _listing_since: float
    _listing_timer: QTimer
    _source_digest: Digest | None
    _instance_digests: tuple[Digest, ...]
    _runs_here: bool = True
    """Whether an image of the list runs on this machine (This System is off if not)."""
    _ticks_replaced: tuple[tuple[bool, ...], tuple[bool, ...]] | None = None
    """The boxes as ticked before a docker-archive destination made the platform one
    choice, and as that left them: put back when the destination no longer is one, unless
    a box was changed meanwhile."""

    if TYPE_CHECKING:  # made by the dialog's other parts
        def _wanted(self) -> Platform | None: ...
        def _inputs_changed(self) -> None: ...
        def _say_named(self) -> None: ...
        def _validate(self) -> bool: ...
        def described_destination(self) -> tuple[ImageName | None, str]: ...

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
                "copied (which changes its digest).")
        elif not listed.is_list:
            self.platforms_label.setText("A single image: copied as it is.")
        elif not listed.platforms and not listed.by_digest:
            self.platforms_label.setText(
                "A list without images for a platform (artifacts, such as charts, "
                "signatures or SBOMs): copied whole, as it is.")
        else:
            self._others = listed.others
            wanted, instance = self._wanted(), self._wanted_instance
            # the dragged image's box alone, where it is one of them (of two images of
            # one platform, the one dragged: not the first)
            offered = {*listed.instances, *(entry.digest for entry in listed.by_digest)}
            dragged = instance if instance in offered else None
            named = [str(p) for p in listed.platforms]
            # platforms the list has more than one image for: each box says its digest
            twinned = [entry.platform for entry in listed.by_digest
                       if entry.platform is not None]
            for platform, digest in zip(listed.platforms, listed.instances, strict=True):
                # two Windows images differ by os.version alone: each box says its own
                versioned = named.count(str(platform)) > 1 and platform.os_version
                text = f"{platform} ({platform.os_version})" if versioned else str(platform)
                if dragged is not None:
                    checked = digest == dragged
                else:
                    checked = wanted.matches(platform) if wanted is not None else \
                        instance is None
                has_twin = any(platform.matches(other) for other in twinned)
                box = self._platform_box(twin_label(text, digest) if has_twin else text,
                                         checked)
                if has_twin:
                    box.setToolTip(f"{digest}: the image {platform} chooses in this list, "
                                   "which has another image for it")
                elif platform.os_version:
                    box.setToolTip(f"{platform}, os.version {platform.os_version}")
                self._place_box(box)
                self.platform_boxes.append((platform, box))
            for entry in listed.by_digest:  # (no platform chooses it: its digest does)
                box = self._platform_box(
                    instance_label(entry, twinned=True), entry.digest == dragged or (
                        dragged is None and wanted is None and instance is None))
                if entry.platform is None:
                    box.setToolTip(f"{entry.digest}: the list's entry names no platform; it "
                                   "is copied by its digest")
                else:
                    box.setToolTip(f"{entry.digest}: the list has another image for "
                                   f"{entry.platform}, which that platform "
                                   "chooses; this one is copied by its digest")
                self._place_box(box)
                self.digest_boxes.append((entry, box))
            self.platforms_label.setText(f"{self._list_caption()}; copy these:")
            for button in (self.system_button, self.all_button):
                button.setEnabled(True)
            host = host_platform()
            runs_here = best_match(host, list(listed.platforms)) is not None
            self.system_button.setEnabled(runs_here)  # (it would untick every box)
            self._runs_here = runs_here
            self._say_shortcuts()
            self._order_platform_boxes()
            name, _sentence = self.described_destination()
            if wanted is None and instance is None and isinstance(name, DockerArchiveName):
                self.choose_system()  # it holds one image: offer the one for this machine
        self._platforms_known = True
        self._say_named()
        self._validate()
        emit(self.platformsListed)

    def choice_boxes(self) -> list[QAbstractButton]:
        """The boxes of every image that may be chosen: the platforms', then those of the
        images that no platform chooses."""
        return [box for _p, box in self.platform_boxes] + \
            [box for _entry, box in self.digest_boxes]

    def _place_box(self, box: QAbstractButton) -> None:
        """Put ``box`` after the others, three to a row."""
        i = len(self.platform_boxes) + len(self.digest_boxes)
        self.platform_grid.addWidget(box, i // 3, i % 3)
        box.show()  # now, not queued: the dialog fits itself to them (_fit)

    def _platform_box(self, text: str, checked: bool) -> QAbstractButton:
        """A platform's box: a check box, or a radio button while only one platform may be
        chosen (:attr:`_one_platform`). Not auto-exclusive: the one choice is kept by
        :meth:`_box_toggled`, and each button stays a Tab stop of its own."""
        box: QAbstractButton
        if self._one_platform:
            box = QRadioButton(text)
            box.setAutoExclusive(False)
        else:
            box = QCheckBox(text)
        box.setChecked(checked)
        box.toggled.connect(lambda on, box=box: self._box_toggled(box, on))
        box.toggled.connect(self._follow_platforms)
        box.toggled.connect(self._inputs_changed)
        return box

    def _redraw_boxes(self) -> None:
        """Draw the platforms as :meth:`_platform_box` makes them now (radio buttons for one
        choice, check boxes for several), each as it was ticked, in its place."""
        focused = next((i for i, box in enumerate(self.choice_boxes()) if box.hasFocus()),
                       None)
        self.platform_boxes[:] = [(platform, self._redrawn(old))
                                  for platform, old in self.platform_boxes]
        self.digest_boxes[:] = [(entry, self._redrawn(old))
                                for entry, old in self.digest_boxes]
        self._order_platform_boxes()
        if focused is not None:
            self.choice_boxes()[focused].setFocus(Qt.FocusReason.OtherFocusReason)

    def _redrawn(self, old: QAbstractButton) -> QAbstractButton:
        """``old`` drawn anew (see :meth:`_redraw_boxes`), in its place."""
        box = self._platform_box(old.text(), old.isChecked())
        box.setToolTip(old.toolTip())
        self.platform_grid.replaceWidget(old, box)
        old.hide()
        old.deleteLater()
        box.show()
        return box

    def _order_platform_boxes(self) -> None:
        """Tab goes through the boxes where they show, between the destination and the
        shortcuts (added last, they would come after the dialog's buttons)."""
        boxes = self.choice_boxes()
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
        note(self.platforms_label, f"The platforms could not be listed: {as_clause(message)}",
              wrong=True)
        self._platforms_known = True  # planning says what is wrong, or copies what it can
        self._say_named()
        self._validate()
        emit(self.platformsListed)

    def _one_platform_only(self, only: bool) -> None:
        """A docker-archive holds one image, not a list: its platform is one choice (radio
        buttons, "All" is off). The boxes it unticks are ticked again once the destination
        is no archive, unless one was changed in between (:attr:`_ticks_replaced`)."""
        boxes = self.choice_boxes()
        if only and sum(box.isChecked() for box in boxes) > 1:
            before = self._ticks() if not self._one_platform else None
            self.choose_system()
            if boxes and not any(box.isChecked() for box in boxes):
                boxes[0].setChecked(True)  # none for this machine: one
            if before is not None:  # (not the boxes listed for an archive at first)
                self._ticks_replaced = (before, self._ticks())
        if not only and self._one_platform and self._ticks_replaced is not None:
            before, chosen = self._ticks_replaced
            self._ticks_replaced = None
            if self._ticks() == chosen:
                self._one_platform = False  # (several boxes may be ticked again)
                for box, ticked in zip(boxes, before, strict=True):
                    box.setChecked(ticked)
                self._one_platform = True
        if only != self._one_platform:
            self._one_platform = only
            self._redraw_boxes()
        self.all_button.setEnabled(bool(boxes) and not only)
        self._say_shortcuts()
        if self._is_list and boxes:
            caption = self._list_caption()
            self.platforms_label.setText(
                f"{caption}; a docker-archive holds one image, so choose one:"
                if only else f"{caption}; copy these:")

    def _say_shortcuts(self) -> None:
        """The tooltips of This System and All, for the boxes as they are drawn: ticks
        for a list, one choice for a docker-archive (where All is off, and says why)."""
        host = host_platform()
        if not self._runs_here:
            system = f"No image of this list runs on this machine ({host})"
        elif self._one_platform:
            system = f"Choose the image for this machine ({host})"
        else:
            system = f"Tick only the image for this machine ({host})"
        self.system_button.setToolTip(system)
        self.all_button.setToolTip(
            "A docker-archive holds one image: choose one platform" if self._one_platform
            else "Tick every platform")

    def _ticks(self) -> tuple[bool, ...]:
        return tuple(box.isChecked() for box in self.choice_boxes())

    def _list_caption(self) -> str:
        """``A list of N platforms`` (``of M images for N platforms`` where some platform
        has more than one), and its images without a platform; and the other entries that
        name none (artifacts), which go along when every box is ticked (the list is then
        copied whole)."""
        platforms = len(self.platform_boxes)
        twins = sum(1 for entry, _box in self.digest_boxes if entry.platform is not None)
        unplaced = len(self.digest_boxes) - twins
        caption = f"A list of {counted(platforms, 'platform')}"
        if twins:
            caption = (f"A list of {counted(platforms + twins, 'image')} for "
                       f"{counted(platforms, 'platform')}")
        if unplaced:
            caption += f" and {unplaced_text(unplaced)}"
        if self._others:
            others = "1 other entry" if self._others == 1 else f"{self._others} other entries"
            caption += f" ({others}, copied when every box is ticked: the list whole)"
        return caption

    def _chosen(self) -> list[str]:
        """What the boxes ticked are called (``linux/arm64``, ``image without a platform,
        sha256:7cf297963bef``; ``linux/amd64, sha256:7cf297963bef`` where the list has
        another image for it), in their order."""
        twinned = [entry.platform for entry, _box in self.digest_boxes
                   if entry.platform is not None]
        said = [twin_label(str(platform), digest)
                if any(platform.matches(other) for other in twinned) else str(platform)
                for (platform, box), digest in zip(self.platform_boxes,
                                                   self._instance_digests, strict=False)
                if box.isChecked()]
        return said + [box.text() for _entry, box in self.digest_boxes if box.isChecked()]

    def _choices(self) -> list[tuple[Platform | None, Digest | None, QAbstractButton]]:
        return [(platform, None, box) for platform, box in self.platform_boxes] + \
            [(entry.platform, entry.digest, box) for entry, box in self.digest_boxes]

    def _follow_platforms(self) -> None:
        """After one platform of a list was dragged, the name offered follows the boxes
        ticked: one platform is named after it, several get the list's own name (under the
        one platform's name, a copy of all of them would pass for that platform). A name
        typed over is left as it is."""
        if self._wanted_platform and self.source_edit.isReadOnly():
            # the caption under the source says which platforms go, as the copy's name does
            self.source_note.setText(self.copy_label())
        if self._suggest_for_platform is None or not self.choice_boxes():
            return
        if self.destination_edit.text().strip() != self._platform_offer:
            return
        # one image that no platform chooses is named after its short digest, as dragged
        chosen = [str(platform) if digest is None else digest.short
                  for platform, digest, box in self._choices() if box.isChecked()]
        offer = self._suggest_for_platform(chosen[0] if len(chosen) == 1 else "")
        self._platform_offer = offer
        if offer and offer != self.destination_edit.text().strip():
            self.destination_edit.setText(offer)

    def copy_label(self) -> str:
        """What the copy is called (the transfers panel, the status bar): the image, and
        the platforms ticked where they are not all of them."""
        # a typed source is called as a dragged one is: its image, without its place
        label = self._label or image_label(self._source)
        dragged = self._wanted_instance
        if self._wanted_platform:
            said = [self._wanted_platform]
            if dragged is not None:  # (where the list has another image for it)
                said.append(twin_label(self._wanted_platform, dragged))
        else:
            said = [instance_label(entry, twinned=True) for entry, _box in self.digest_boxes
                    if entry.digest == dragged]
            said += [unplaced_label(dragged)] if dragged is not None else []
        # the part of the list dragged, as the Platforms table names it
        label = next((label.removesuffix(f" ({part})") for part in said
                      if label.endswith(f" ({part})")), label)
        chosen = self._chosen()
        boxes = len(self.choice_boxes())
        if not boxes:  # not listed yet: the one dragged, if any
            return self._label or image_label(self._source)
        if len(chosen) == boxes or not chosen:
            return label
        if len(chosen) == 1:
            return f"{label} ({chosen[0]})"
        return (f"{label} ({len(chosen)} of {boxes} "
                f"{'images' if self.digest_boxes else 'platforms'})")

    def _box_toggled(self, box: QAbstractButton, checked: bool) -> None:
        """One choice while :attr:`_one_platform`: ticking a box unticks the others, and
        the one ticked stays ticked (as radio buttons)."""
        if not self._one_platform:
            return
        if checked:
            for other in self.choice_boxes():
                if other is not box and other.isChecked():
                    other.setChecked(False)
        elif not any(other.isChecked() for other in self.choice_boxes()):
            box.setChecked(True)

    def choose_system(self) -> None:
        """Check only the platform that fits this machine best."""
        platforms = [p for p, _box in self.platform_boxes]
        found = best_match(host_platform(), platforms)
        for i, box in enumerate(self.choice_boxes()):
            box.setChecked(i == found)

    def choose_all(self) -> None:
        for box in self.choice_boxes():
            box.setChecked(True)

    def set_platforms(self, chosen: list[str]) -> None:
        """Check exactly these platforms (``OS/ARCH[/VARIANT]``) and images that no
        platform chooses (their digests)."""
        for platform, digest, box in self._choices():
            box.setChecked(str(digest if digest is not None else platform) in chosen)


__all__ = ["LISTING_SLOW_AFTER", "CopyPlatformsMixin"]
