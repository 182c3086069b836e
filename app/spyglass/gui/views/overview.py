"""The Overview tab: what an image is, where it comes from, and how it runs."""

from __future__ import annotations

import html
from collections.abc import Callable, Container, Mapping, Sequence
from typing import Final

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QGuiApplication,
)
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from spyglass.core import media
from spyglass.core.config import ImageConfig, command_line
from spyglass.core.manifest import (
    Descriptor,
    ImageIndex,
    ImageManifest,
    Schema1Manifest,
    manifest_digest,
)
from spyglass.core.platform_choice import holds_only_attestations, names_platform
from spyglass.core.text import LINES, TABS, visible
from spyglass.gui.colors import muted_color
from spyglass.gui.formatting import (
    BREAK,
    LONGEST_RUN,
    SCHEMA1_SIZES,
    UNKNOWN_SIZE,
    and_joined,
    besides_platforms,
    exact_size,
    format_timestamp,
    human_size,
    instance_label,
    is_attestation,
    relative_age,
    unbroken,
    wrap_anywhere,
)
from spyglass.gui.loading import ImageState
from spyglass.gui.models.table import monospace_font
from spyglass.gui.signals import emit
from spyglass.gui.themed import mute, on_palette_change
from spyglass.gui.views.focus_scroll import follow_focus
from spyglass.gui.views.value_label import (
    ValueLabel,
    fit_to_line,
    names_side,
    value_alignment,
    value_label,
)
from spyglass.gui.views.widgets import (
    ElidedLabel,
    copy_button,
    scaled_font,
)


def left_to_right(text: str) -> str:
    """Plain ``text`` as rich text read left to right, as every value is, whatever its
    first letter, beside its name (:func:`names_side`): a value in Hebrew or Arabic
    starts there (it floated to the other side of the pane), and the escapes in it read
    in order (``\\u2067`` lost its backslash to the far end of a right-to-left line).
    Its spaces and lines are kept."""
    return (f"<div dir='ltr' align='{names_side()}' style='white-space:pre-wrap'>"
            f"{html.escape(text)}</div>")


NAMES_LEAST: Final = 120
"""The least width of the column of names (Name, Digest, …) of every section."""

NAMES_GAP: Final = 18
"""Between a name and its value: the sections' forms, and the tables of keys."""

KEYS_ALIGNED_CHARS: Final = 44
"""Label and annotation keys up to about this many characters wide (of the font's
average) widen the names of every section to theirs, so that their values line up with
the others (``org.opencontainers.image.description`` is 36); a wider key keeps its own
column, the others theirs, and that column is no wider than this either: the key
breaks in it (:func:`key_breaks`), and the values keep their room."""


class _Section(QWidget):
    """A titled block of label/value rows."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        heading = QLabel(title)
        heading.setFont(scaled_font(heading.font(), 1.1, bold=True))
        heading.setTextFormat(Qt.TextFormat.PlainText)  # (a digest and a type, set later)
        self.heading = heading
        rule = QFrame()
        rule.setFrameShape(QFrame.Shape.HLine)
        rule.setFrameShadow(QFrame.Shadow.Sunken)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.form.setFormAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.form.setHorizontalSpacing(NAMES_GAP)
        self.form.setVerticalSpacing(8)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(heading)
        layout.addWidget(rule)
        layout.addSpacing(2)
        layout.addLayout(self.form)
        self.names: list[QLabel] = []

    def add_row(self, title: str, field: QWidget, *, top_margin: int = 0) -> QLabel:
        label = QLabel(title)
        mute(label)
        label.setMinimumWidth(NAMES_LEAST)
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        label.setContentsMargins(0, top_margin, 0, 0)
        self.form.addRow(label, field)
        self.names.append(label)
        return label

    def names_width(self) -> int:
        """The width its names take (the column of names), at least :data:`NAMES_LEAST`."""
        return max((label.sizeHint().width() for label in self.names), default=NAMES_LEAST)

    def set_names_width(self, width: int) -> None:
        """The column of names this wide (the values start at the same place in every
        section)."""
        for label in self.names:
            label.setMinimumWidth(width)


def entry_label(descriptor: Descriptor) -> str:
    """An entry of a list of artifacts: its short digest, and its artifact type where
    the list says it (``sha256:fe1bcb79e851 (application/spdx+json)``)."""
    label = instance_label(descriptor)
    return f"{label} ({descriptor.artifact_type})" if descriptor.artifact_type else label


class OverviewPage(QScrollArea):
    """The Overview tab.

    Signals:
        copied(str): a value was copied to the clipboard (for the status bar).
    """

    copied = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        # Tab goes to the values (the pane scrolls to each), not to the pane: a stop that
        # showed no focus and that readers called "filler"
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        follow_focus(self)  # (from the tab bar, or back from the Transfers panel, too)
        self.setAccessibleName("Overview")
        body = QWidget()
        body.setObjectName("overviewBody")
        self._values: dict[str, QLabel] = {}
        self._fields: dict[str, tuple[_Section, QWidget]] = {}
        self._shown: dict[str, bool] = {}
        self._wrapped: set[str] = set()
        """Titles whose plain value is shown as :func:`left_to_right` rich text."""

        image = _Section("Image")
        self._add(image, "Name")
        self._add(image, "Reference", mono=True)
        self._add(image, "Read from", mono=True)  # (a registries.conf mirror)
        self._add(image, "Digest", mono=True, copy=True)
        self._add(image, "Media type")
        self._add(image, "Artifact type")
        self._add(image, "Config type")
        self._add(image, "Platforms")
        self._add(image, "Shown platform")
        self._add(image, "Image digest", mono=True, copy=True)
        # a list of artifacts (a referrers index) holds entries, of no platform
        self._add(image, "Entries")
        self._add(image, "Shown entry")
        self._add(image, "Entry digest", mono=True, copy=True)
        self._add(image, "Created")
        self._add(image, "Author")
        self._add(image, "Size")
        self._add(image, "Layers")

        run = _Section("How it runs")
        self._add(run, "Entrypoint", mono=True)
        self._add(run, "Command", mono=True)
        self._add(run, "Working folder", mono=True)
        self._add(run, "User", mono=True)
        self._add(run, "Ports", mono=True)
        self._add(run, "Volumes", mono=True)
        self._add(run, "Stop signal", mono=True)
        self._add(run, "Environment", mono=True)
        self._run = run

        labels = _Section("Labels")
        self._add(labels, "Labels", span=True)
        self._labels = labels
        annotations = _Section("Annotations")
        self._add(annotations, "Annotations", span=True)
        self._annotations = annotations
        # of a list: its own above, those of the image or entry shown here
        shown_annotations = _Section("Annotations of the shown image")
        self._add(shown_annotations, "Shown annotations", span=True)
        self._shown_annotations = shown_annotations
        self._sections = (image, run, labels, annotations, shown_annotations)
        self._names_width = NAMES_LEAST
        """The column of names of every section, and of the keys' tables (see
        :meth:`_align_names`)."""

        layout = QVBoxLayout(body)
        layout.setContentsMargins(24, 18, 24, 24)
        layout.setSpacing(22)
        layout.addWidget(image)
        layout.addWidget(run)
        layout.addWidget(labels)
        layout.addWidget(annotations)
        layout.addWidget(shown_annotations)
        layout.addStretch(1)
        self.setWidget(body)
        self._body = body
        self._state: ImageState | None = None
        # the muted colour of a media type's name and of the keys is written into them
        on_palette_change(body, self._recolor)

    def _add(self, section: _Section, title: str, *, mono: bool = False,
             copy: bool = False, span: bool = False) -> None:
        value = value_label(mono=mono)
        field: QWidget = value
        top_margin = 0
        if copy:
            # a digest is cut in its middle where the pane is narrow (its button copies it
            # whole; its tooltip shows it whole), rather than the pane scrolling sideways
            value = ElidedLabel(mode=Qt.TextElideMode.ElideMiddle)
            value.setAlignment(value_alignment())
            value.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
            if mono:
                value.setFont(monospace_font())
            field = QWidget()
            row = QHBoxLayout(field)
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(4)
            row.addWidget(value, 0)
            button = copy_button(f"Copy the {title.lower()}")
            fit_to_line(button, value)
            button.clicked.connect(lambda: self._copy(value.text()))
            row.addWidget(button, 0)
            row.addStretch(1)
            button.setObjectName(f"copy{title.replace(' ', '')}")
            row.setAlignment(value, Qt.AlignmentFlag.AlignVCenter)
            top_margin = max(0, (button.height() - value.fontMetrics().height()) // 2)
        value.setAccessibleDescription(title)  # which value a reader is on
        if span:
            section.form.addRow(field)
        else:
            section.add_row(title, field, top_margin=top_margin)
        self._values[title] = value
        self._fields[title] = (section, field)

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        emit(self.copied, text)

    def _set(self, title: str, text: str, *, rich: bool = False) -> None:
        """Show ``text`` for ``title``; plain text as it is written (an image's text:
        a bidi control or a zero-width character is an escape, ``\\u202e``, that
        cannot turn or hide what is around it; see :func:`~spyglass.core.text.visible`),
        read left to right (:func:`left_to_right`). Rich text is escaped so where it is
        made (:func:`_table`)."""
        value = self._values[title]
        shown = text if rich else visible(text, keep=LINES)
        if rich or not isinstance(value, ValueLabel):  # (a digest, cut in its middle: ASCII)
            self._wrapped.discard(title)
            value.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
            value.setText(shown)
        else:
            self._wrapped.add(title)
            value.setTextFormat(Qt.TextFormat.RichText)
            value.setText(left_to_right(wrap_anywhere(shown)))
        if isinstance(value, ValueLabel):  # (what a screen reader reads: without the breaks)
            value.setAccessibleName(value.plain_text() if BREAK in value.text() else "")
        elif (button := self.copy_button(title)) is not None:
            # the digest, cut, is no Tab stop: read with the button that copies it
            button.setAccessibleDescription(value.text())
        section, field = self._fields[title]
        section.form.setRowVisible(field, bool(text))
        self._shown[title] = bool(text)

    def _set_table(self, title: str, pairs: Mapping[str, str], muted: str,
                   where: str) -> None:
        """Show ``pairs`` for ``title`` as a table (:func:`_table`; ``where`` has them all),
        the keys cut there whole in its tooltip (:func:`cut_keys_tip`). Its column of keys
        is that of the names (:meth:`_align_names`), or as wide as its widest key, up to
        :data:`KEYS_ALIGNED_CHARS` characters: a key wider than that breaks in it."""
        metrics = self._values[title].fontMetrics()
        widths = {key: metrics.horizontalAdvance(visible(key[:LONGEST_KEY], keep=TABS))
                  for key, _value in sorted(pairs.items())[:MOST_ITEMS]}
        most = KEYS_ALIGNED_CHARS * metrics.averageCharWidth()
        column = max(self._names_width, min(max(widths.values(), default=0), most))
        too_wide = {key for key, width in widths.items() if width > column}
        self._set(title, _table(pairs, muted, where, column, too_wide), rich=True)
        self._values[title].setToolTip(cut_keys_tip(pairs, muted))

    # -- public

    def field_text(self, title: str) -> str:
        """The text shown for ``title`` ("" when the row is hidden), as the label renders
        it: plain, but for the rich text of Media type, Labels and Annotations (without
        the breaks of :func:`~spyglass.gui.formatting.wrap_anywhere` in either)."""
        if not self._shown.get(title):
            return ""
        value = self._values[title]
        if title in self._wrapped and isinstance(value, ValueLabel):
            return value.plain_text()
        return unbroken(value.text())

    def copy_button(self, title: str) -> QWidget | None:
        return self.findChild(QWidget, f"copy{title.replace(' ', '')}")

    def _recolor(self) -> None:
        if self._state is not None:
            self.set_state(self._state)

    def set_state(self, state: ImageState) -> None:
        self._state = state
        muted = muted_color(self._body.palette()).name()
        top = state.top
        image = state.image
        manifest = image.manifest if image is not None else None
        config = image.config if image is not None else None
        shown_notes = manifest.annotations if isinstance(manifest, ImageManifest) else {}
        # a list's own annotations are its, not those of the image shown of it
        notes = top.annotations if isinstance(top, ImageIndex) else shown_notes
        if not isinstance(top, ImageIndex):
            shown_notes = {}
        self._align_names(config.labels if config else {}, notes, shown_notes)
        self._set("Name", state.entry.label)
        self._set("Reference", state.entry.name)
        self._set("Read from", state.read_from)
        self._set_digest(state)
        self._set(
            "Media type",
            f"{html.escape(media.friendly(top.media_type))}&nbsp;&nbsp;"
            f"<span style='color:{muted}'>{html.escape(visible(top.media_type))}</span>",
            rich=True,
        )
        for title in ("Platforms", "Shown platform", "Image digest",
                      "Entries", "Shown entry", "Entry digest"):
            self._set(title, "")
        current = state.current
        if state.of_entries:
            self._set("Entries", _listed([entry_label(s.descriptor) for s in state.instances],
                                         ", ", PLATFORMS_TAB))
            self._set("Shown entry", entry_label(current.descriptor) if current else "—")
            self._set("Entry digest", str(manifest.digest) if manifest is not None else "")
        elif isinstance(top, ImageIndex):
            entries = [s.descriptor for s in state.instances]
            platforms = [state.label(e) for e in entries if names_platform(e)]
            besides = besides_platforms(entries)  # (as the header counts them)
            if entries and all(map(is_attestation, entries)):
                text = f"none: the list {holds_only_attestations(len(entries))}"
            elif platforms:  # (twins are said with their digests: "linux/amd64, sha256:…")
                text = _listed(platforms, "; " if state.twins else ", ", PLATFORMS_TAB) + (
                    f" (and {and_joined(besides)})" if besides else "")
            else:
                text = and_joined(besides)
            self._set("Platforms", text)
            self._set("Shown platform",
                      state.label(current.descriptor) if current else "—")
            self._set("Image digest", str(manifest.digest) if manifest is not None else "")
        else:  # (an artifact runs on no platform: none is said)
            self._set("Platforms", "" if isinstance(manifest, ImageManifest)
                      and manifest.is_artifact else self._platform_of(config))
        created = config.created if config else None
        age = relative_age(created)
        self._set("Created", format_timestamp(created) + (f"  ({age})" if age else "")
                  if created else "")
        self._set("Author", config.author if config else "")
        self._set("Size", self._size_text(state))
        self._values["Size"].setToolTip(
            SCHEMA1_SIZES if isinstance(top, Schema1Manifest) or state.unsized
            else exact_size(state.total_size))
        count = len(manifest.layers) if manifest is not None else 0
        self._set("Layers", f"{count} layer{'s' if count != 1 else ''}"
                  if manifest is not None else "")
        # an artifact (a Helm chart, a WASM module, an SBOM) says what it is; a list, its
        # own type (an entry of it says its type beside its digest)
        artifact = manifest if isinstance(manifest, ImageManifest) and \
            manifest.is_artifact and not isinstance(top, ImageIndex) else None
        self._set("Artifact type", (top.artifact_type or "") if isinstance(top, ImageIndex)
                  else (artifact.artifact_type or "") if artifact else "")
        self._set("Config type", artifact.config.media_type
                  if artifact and artifact.config.media_type != media.OCI_EMPTY else "")
        self._set_run(config, muted)
        self._set_table("Annotations", notes, muted, RAW_TAB)
        self._annotations.setVisible(bool(notes))
        shown = (entry_label(current.descriptor) if state.of_entries
                 else state.label(current.descriptor)) if current else ""
        self._shown_annotations.heading.setText(
            f"Annotations of {visible(shown)}" if shown else "Annotations of the shown image")
        self._set_table("Shown annotations", shown_notes, muted, RAW_TAB)
        self._shown_annotations.setVisible(bool(shown_notes))

    # -- helpers

    def _set_digest(self, state: ImageState) -> None:
        """The digest the image is named by, as inspect and the Raw JSON tab show it: a
        signed schema 1 manifest's is its signed payload's (as registries name it), which
        a layout's entry, naming the blob it is stored as, cannot be; that one is said
        beside it."""
        named = state.entry.descriptor.digest
        top = state.top
        digest = (manifest_digest(top.raw, top.media_type, named.algorithm)
                  if isinstance(top, Schema1Manifest) else named)
        self._set("Digest", str(digest))
        self._values["Digest"].setToolTip(
            f"The digest of the signed schema 1 payload, as registries name the image "
            f"and inspect shows it. Stored as the blob {named}, the digest of the "
            "manifest's bytes with its signatures." if digest != named else "")

    def _align_names(self, *tables: Mapping[str, str]) -> None:
        """One column of names for every section, as wide as the widest name and the
        keys of the labels and annotations ``tables`` shown (up to
        :data:`KEYS_ALIGNED_CHARS`): every value then starts at the same place, those of
        the labels too (their keys were a column of their own, the values 100 px to the
        right of the others)."""
        metrics = self._values["Labels"].fontMetrics()
        widest = max((metrics.horizontalAdvance(visible(key, keep=TABS))
                      for pairs in tables for key in sorted(pairs)[:MOST_ITEMS]), default=0)
        if widest > KEYS_ALIGNED_CHARS * metrics.averageCharWidth():
            widest = 0  # (that key's table keeps its own column)
        width = max(widest, *(section.names_width() for section in self._sections))
        self._names_width = width
        for section in self._sections:
            section.set_names_width(width)

    @staticmethod
    def _platform_of(config: ImageConfig | None) -> str:
        if config is None:
            return "—"
        parts = [p for p in (config.os, config.architecture, config.variant) if p]
        text = "/".join(parts) or "—"
        return f"{text} ({config.os_version})" if config.os_version else text

    @staticmethod
    def _size_text(state: ImageState) -> str:
        if isinstance(state.top, Schema1Manifest):
            return (f"{UNKNOWN_SIZE} (Docker schema 1 records no layer sizes; the manifest "
                    f"alone is {human_size(state.total_size)})")
        if not state.is_list:
            return human_size(state.total_size)
        current = state.current
        shown = state.image.manifest if state.image is not None else None
        kind = "entries" if state.of_entries else "platforms"
        every = f"the {kind} that can be read" if state.unreadable else f"all {kind}"
        if len(state.unreadable) == len(state.instances):  # (the list's bytes alone)
            why = "none of its images can be read" if state.instances else "it names none"
            return f"{human_size(state.total_size)}: the list alone ({why})"
        if shown is None:
            return f"{human_size(state.total_size)} for {every}"
        own = current.image_size if current else (
            shown.total_size if isinstance(shown, ImageManifest) else 0)
        label = state.label(current.descriptor) if current else \
            f"the shown {'entry' if state.of_entries else 'platform'}"
        unsized = state.unsized
        without = (f", without the layers of {'its' if unsized > 1 else 'the'} Docker "
                   f"schema 1 image{'s' if unsized > 1 else ''}, whose sizes are not "
                   "recorded" if unsized else "")
        own_text = UNKNOWN_SIZE if isinstance(shown, Schema1Manifest) else human_size(own)
        return (f"{human_size(state.total_size)} for {every}"
                f" (shared layers counted once{without}) · {own_text} for {label}")

    def _set_run(self, config: ImageConfig | None, muted: str) -> None:
        if config is None:
            for title in ("Entrypoint", "Command", "Working folder", "User", "Ports",
                          "Volumes", "Stop signal", "Environment"):
                self._set(title, "")
            self._set("Labels", "")
            self._run.setVisible(False)
            self._labels.setVisible(False)
            return
        self._run.setVisible(True)
        entrypoint, command = command_line(config.entrypoint), command_line(config.cmd)
        self._set("Entrypoint", entrypoint)
        # an image that names nothing to run says so, rather than a heading over nothing
        self._set("Command", command or ("" if entrypoint else "no command set"))
        self._values["Command"].setFont(monospace_font() if command or entrypoint
                                        else self.font())
        self._set("Working folder", config.working_dir)
        self._set("User", config.user)
        self._set("Ports", _listed(config.exposed_ports, ", ", CONFIG_TAB))
        self._set("Volumes", _listed(config.volumes, ", ", CONFIG_TAB))
        self._set("Stop signal", config.stop_signal)
        # one line each (a variable's own line break is an escape)
        self._set("Environment", _listed(
            [visible(variable, keep=TABS) for variable in config.env], "\n", CONFIG_TAB))
        self._set_table("Labels", config.labels, muted, CONFIG_TAB)
        self._labels.setVisible(bool(config.labels))


LONGEST_VALUE = 2000
"""Label and annotation values longer than this many characters are shown cut, with a
note: Qt laid out a description of 3.5 MB for 17 s on the GUI thread."""

LONGEST_KEY: Final = 100
"""Label and annotation keys longer than this many characters are shown cut, with a note,
and whole in the tooltip of their table (:func:`cut_keys_tip`): a key of 5,000
characters, cut as a value is, made a column of the keys' width hundreds of lines tall."""

LONGEST_KEY_RUN: Final = LONGEST_RUN
"""A key too wide for its column (:data:`KEYS_ALIGNED_CHARS`) breaks after its dots, and
anywhere in a run of more than this many characters between them (as a value does past
:data:`~spyglass.gui.formatting.LONGEST_RUN`): a key of 100 characters without a break
made its column 700 px wide, and every value of its table wrapped at 14 characters."""


def key_breaks(key: str) -> str:
    """``key`` (as it is shown: :func:`~spyglass.core.text.visible`) with a
    :data:`~spyglass.gui.formatting.BREAK` after each dot, where a key of reverse-DNS
    words (``io.buildpacks.lifecycle.metadata.launcher.process.web.command.args``) wraps,
    and between the characters of a run of more than :data:`LONGEST_KEY_RUN` between
    them (:func:`~spyglass.gui.formatting.wrap_anywhere`). Copied, the key has none of
    them (:func:`~spyglass.gui.formatting.unbroken`)."""
    return ("." + BREAK).join(wrap_anywhere(part, LONGEST_KEY_RUN) for part in key.split("."))

MOST_ITEMS: Final = 25
"""The most labels, annotations, environment variables, ports, volumes or platforms shown
of an image; the rest are counted, and the tab that has them all named
(:func:`more_items`): Qt laid out a table of 5,000 annotations for 7 s on the GUI
thread, and of 100,000 for over 90 s, whatever tab was current (a table of 200 rows
still took 0.2 to 0.4 s; 100, half that, and 100 labels with 100 environment variables
stalled the window 250 ms when shown; 25 of each, under 100 ms)."""

RAW_TAB: Final = "the Raw JSON tab"
PLATFORMS_TAB: Final = "the Platforms tab"
CONFIG_TAB: Final = "the Config & History tab"


def more_items(count: int, where: str) -> str:
    """What stands for the ``count`` items not shown (:data:`MOST_ITEMS`), and ``where``
    they all are."""
    return f"… and {count:,} more ({where} has them all)"


def _listed(items: Sequence[str], separator: str, where: str) -> str:
    """``items`` joined by ``separator``, the first :data:`MOST_ITEMS` of them."""
    if len(items) <= MOST_ITEMS:
        return separator.join(items)
    return separator.join([*items[:MOST_ITEMS], more_items(len(items) - MOST_ITEMS, where)])


def _shortened(text: str, keep: str, muted: str,
               breaks: Callable[[str], str] = wrap_anywhere, most: int = LONGEST_VALUE,
               where: str = RAW_TAB) -> str:
    """``text`` as rich text, cut after ``most`` characters (:data:`LONGEST_VALUE`) with
    a note that ``where`` has all of it; where it may break besides its spaces, as
    ``breaks`` says (by default, anywhere in a run of more than
    :data:`~spyglass.gui.formatting.LONGEST_RUN` characters without a space:
    :func:`~spyglass.gui.formatting.wrap_anywhere`)."""
    if len(text) <= most:
        return html.escape(breaks(visible(text, keep=keep)))
    return (html.escape(breaks(visible(text[:most], keep=keep)))
            + f"… <span style='color:{muted}'>({len(text):,} characters; {where} "
            "has all of it)</span>")


def _whole(text: str) -> str:
    """``text`` with no break put in (a key that fits its column)."""
    return text


def _whole_key(key: str) -> str:
    """Where a key cut in a table (:data:`LONGEST_KEY`) is whole."""
    return "the tooltip" if len(key) <= LONGEST_VALUE else RAW_TAB


def cut_keys_tip(pairs: Mapping[str, str], muted: str) -> str:
    """The tooltip of a table of ``pairs`` (:func:`_table`) whose keys shown are cut
    (:data:`LONGEST_KEY`): those keys whole (to :data:`LONGEST_VALUE` characters, as a
    value is shown); "" when none is cut."""
    cut = [k for k, _v in sorted(pairs.items())[:MOST_ITEMS] if len(k) > LONGEST_KEY]
    if not cut:
        return ""
    said = "A key cut here, whole:" if len(cut) == 1 else "Keys cut here, whole:"
    return "".join([f"<p>{said}</p>", *(f"<p dir='ltr'>{_shortened(k, TABS, muted)}</p>"
                                         for k in cut)])


def _table(pairs: Mapping[str, str], muted: str, where: str,
           names_width: int = NAMES_LEAST, too_wide: Container[str] = ()) -> str:
    """Keys and values as a two-column table (rich text), in key order; "" for none.

    Each as it is written (see :meth:`OverviewPage._set`), read left to right from the
    left of its cell (see :func:`left_to_right`); a very long one cut, with a note
    (see :data:`LONGEST_VALUE`); the first :data:`MOST_ITEMS` of them, and a row that
    counts the others and says they are all in ``where``. The keys sit in a column
    ``names_width`` wide, against their values, as the sections' names do: the values
    start where theirs do. A key of ``too_wide`` (wider than the column) breaks in it
    (:func:`key_breaks`); any other is kept whole (it widens its column)."""
    if not pairs:
        return ""
    side = names_side()  # the keys on that side, as the names of the form are
    gap = "left" if side == "right" else "right"  # (between key and value)
    shown = sorted(pairs.items())[:MOST_ITEMS]
    rows_gap = "padding-top:2px; padding-bottom:2px"

    def shown_key(k: str) -> str:
        breaks = key_breaks if k in too_wide else _whole
        return _shortened(k, TABS, muted, breaks, LONGEST_KEY, _whole_key(k))

    # (a cell's width holds its padding: the key's column ends where the names' does)
    cells = [(f"<td dir='ltr' align='{gap}' width='{names_width + NAMES_GAP}' "
              f"style='padding-{gap}:{NAMES_GAP}px; {rows_gap}; color:{muted}'>"
              f"{shown_key(k)}</td>",
              f"<td dir='ltr' align='{side}' style='{rows_gap}'>"
              f"{_shortened(v, LINES, muted)}</td>")
             for k, v in shown]
    rows = "".join(f"<tr>{value}{key}</tr>" if side == "right" else f"<tr>{key}{value}</tr>"
                   for key, value in cells)
    if len(pairs) > len(shown):
        rows += (f"<tr><td colspan='2' dir='ltr' align='{side}' style='color:{muted}'>"
                 f"{html.escape(more_items(len(pairs) - len(shown), where))}</td></tr>")
    return f"<table cellspacing='0' cellpadding='0' align='{side}'>{rows}</table>"
