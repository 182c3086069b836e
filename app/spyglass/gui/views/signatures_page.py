"""The Signatures tab: what is attached to the image — signatures, attestations, SBOMs,
other OCI referrers — as a tree, the decoded content of the selected row, and checking
a signature with a key a person chooses.

Nothing is read until the tab is first shown for an image (:meth:`SignaturesPage.activate`):
finding attachments asks the place several questions per manifest (referrers, cosign's
tags), which opening an image should not wait for. Reading runs on the
:class:`~spyglass.gui.workers.Runner` under the key ``signatures``, checking under
``verify``; another image makes both stale.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar, Final

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QFontMetrics, QIcon, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTextBrowser,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from spyglass.core.digest import Digest
from spyglass.core.reference import DockerReference
from spyglass.core.signatures.attached import AttachedPart, every_attachment
from spyglass.core.signatures.identity import identity_refusal
from spyglass.core.signatures.model import Kind, Status, Verification
from spyglass.gui import icons
from spyglass.gui.announce import announce
from spyglass.gui.colors import error_color, muted_color
from spyglass.gui.formatting import exact_size, format_timestamp, human_size
from spyglass.gui.loading import (
    Attachments,
    ImageState,
    load_attachments,
    registry_identity,
    verify_parts,
)
from spyglass.gui.models.signatures import (
    ARTIFACT_TYPE,
    CREATED,
    DIGEST,
    KIND,
    SIZE,
    AttachmentRow,
    PartRow,
    SignaturesModel,
    SubjectRow,
    part_title,
)
from spyglass.gui.models.table import monospace_font
from spyglass.gui.signals import emit
from spyglass.gui.themed import mute, on_palette_change, plain_text
from spyglass.gui.views.buttons import push_button
from spyglass.gui.views.delegates import ElideRightDelegate, PaddedDelegate
from spyglass.gui.views.widgets import MessagePanel, scaled_font
from spyglass.gui.workers import Runner, lane_of

LOAD_KEY: Final = "signatures"
VERIFY_KEY: Final = "verify"

KEY_FILTERS: Final = (
    "Public keys and certificates (*.pem *.pub *.crt *.cer *.key)",
    "GPG keyrings (*.gpg *.kbx *.asc *.pgp *.keyring)",
    "All files (*)",
)

_SIGNATURE_KINDS: Final = frozenset({Kind.COSIGN_SIGNATURE, Kind.ATTESTATION,
                                     Kind.NOTARY_SIGNATURE, Kind.SIMPLE_SIGNING,
                                     Kind.SIGNATURE})

BADGE_STYLES: Final = {
    Status.VERIFIED: ("#2e7d32", "✓ verified"),
    Status.BAD_SIGNATURE: ("#c62828", "✗ bad signature"),
    Status.WRONG_IMAGE: ("#c62828", "✗ wrong image"),
    Status.UNSUPPORTED: ("#757575", "unsupported"),
    Status.NOT_CHECKED: ("#757575", "not checked"),
}
"""Status → (background colour, text) of the badge."""

_PREFERENCE: Final = (Status.VERIFIED, Status.WRONG_IMAGE, Status.BAD_SIGNATURE,
                      Status.UNSUPPORTED, Status.NOT_CHECKED)
"""Which part's result an attachment's badge shows: the first status found in this order."""


@dataclass(frozen=True)
class Outcome:
    """What checking a row found: a verification, or why the key could not be used."""

    status: Status
    detail: str
    key_file: Path
    failed_since: str = ""
    """Why a later check could not be made (the key file given was unusable): said
    above this result, which stands."""
    vouched_signer: str | None = None
    """Who signed, when the file given is a certificate vouching for them (a CA's, for a
    Notary v2 signature) rather than the key that made the signature."""


def combine(results: tuple[Verification, ...], titles: list[str], key_file: Path) -> Outcome:
    """One outcome for an attachment of several parts: cosign counts a signature as good
    when any of its layers verifies with the key."""
    if not results:
        return Outcome(Status.NOT_CHECKED, "There is nothing in it to check.", key_file)
    best = min(range(len(results)), key=lambda i: _PREFERENCE.index(results[i].status))
    result = results[best]
    detail = result.detail
    if len(results) > 1:
        detail = f"{titles[best]} (part {best + 1} of {len(results)}): {detail}"
    if result.signer:
        detail += f" Signed by {result.signer}."
    vouched = result.signer if result.vouched else None
    return Outcome(result.status, detail, key_file, vouched_signer=vouched)


VERDICTS: Final = {
    Status.VERIFIED: "Signature valid — made with the key {key}, for this image.",
    Status.BAD_SIGNATURE: "Signature not valid for the key {key}.",
    Status.WRONG_IMAGE: "Signature valid for the key {key}, but not accepted for this image.",
    Status.UNSUPPORTED: "This signature cannot be checked with the key {key}.",
    Status.NOT_CHECKED: "Not checked with the key {key}.",
}
"""The verdict's first sentence, in plain words: the check's own sentence (policy terms
such as matchRepoDigestOrExact) follows it, or is its tooltip when it is valid."""

VOUCHED_VERDICTS: Final = {
    Status.VERIFIED: "Signature valid — signed by {signer}, whom {key} trusts, for this image.",
    Status.WRONG_IMAGE: "Signature by {signer}, whom {key} trusts, valid but not accepted for "
                        "this image.",
}
"""The verdicts that name the signer when the file given only vouches for them (a CA
certificate for a Notary v2 signature): it did not make the signature."""


VERIFY_TIP: Final = ("Check this signature with a public key or certificate (PEM), or a "
                     "GPG keyring for simple signing signatures")
NOT_SIGNATURE_TIP: Final = "Only signatures and attestations can be verified."
"""The Verify… button's tooltips (a screen reader's description of it): on a signature,
and on a row that is none."""


def verdict_sentence(status: Status, key: str, vouched_signer: str | None = None) -> str:
    if vouched_signer is not None and status in VOUCHED_VERDICTS:
        return VOUCHED_VERDICTS[status].format(signer=vouched_signer, key=key)
    return VERDICTS[status].format(key=key)


def verdict_text(outcome: Outcome) -> str:
    """What the verdict under a checked row says (and the status bar, once the check
    ends): a plain sentence first; the check's own (a skopeo policy's rule, say) below it
    where it says why not (in the tooltip where it says only more); why a later check
    could not be made above it."""
    lead = verdict_sentence(outcome.status, outcome.key_file.name, outcome.vouched_signer)
    said = lead if outcome.status is Status.VERIFIED else f"{lead}\n{outcome.detail}"
    if outcome.failed_since:
        said = f"{outcome.failed_since} The check before stands: {said}"
    return said


class Badge(QLabel):
    """A coloured pill saying how a check came out: its ends as round as its height
    makes them (a style sheet's radius more than half the height is dropped, and a fixed
    9 px one left the badge square at the default font, 17 px high)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status: Status | None = None
        self.setFont(scaled_font(self.font(), 0.95, bold=True))
        self.set_status(Status.NOT_CHECKED)

    def set_status(self, status: Status) -> None:
        self.status = status
        self.setText(BADGE_STYLES[status][1])
        self._style()

    def _style(self) -> None:
        """The badge's colours, and the radius of its height now."""
        if self.status is None:
            return
        color = BADGE_STYLES[self.status][0]
        self.setStyleSheet(
            f"QLabel {{ background: {color}; color: white; "
            f"border-radius: {self.height() // 2}px; padding: 2px 10px; }}"
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Override QWidget::resizeEvent: the radius follows the height."""
        super().resizeEvent(event)
        if event.size().height() != event.oldSize().height():
            self._style()


class SignaturesPage(QWidget):
    """The tree of attachments above the details of the selected row.

    Signals:
        loaded(int): the attachments of the image shown are in; how many.
        verified(object): a check finished; the :class:`Outcome` (also for a key
            that could not be read).
    """

    loaded = Signal(int)
    verified = Signal(object)

    def __init__(self, runner: Runner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._state: ImageState | None = None
        self._attachments: Attachments | None = None
        self._loading = False
        self._outcomes: dict[tuple[str, str, int], Outcome] = {}
        self._last_dir = str(Path.home())
        self._focus_moved_to: QWidget | None = None
        """Where the keyboard went from Verify… as a check began (see :meth:`_checked`)."""
        self.error_text = ""

        self.model = SignaturesModel(self)
        self.tree = QTreeView()
        self.tree.setAccessibleName("Signatures and referrers")
        self.tree.setModel(self.model)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.tree.setIconSize(icons.row_icon_size(self.tree))
        self.tree.setItemDelegate(PaddedDelegate(self.tree, padding=3))
        # what a row is, in words whose beginning says the most: cut at the end
        self.tree.setItemDelegateForColumn(KIND, ElideRightDelegate(self.tree, padding=3))
        header = self.tree.header()
        header.setStretchLastSection(False)
        metrics = self.tree.fontMetrics()
        header.resizeSection(KIND, metrics.horizontalAdvance("simple signing signature") + 64)
        digests = QFontMetrics(monospace_font())  # they are drawn in it
        header.resizeSection(DIGEST, digests.horizontalAdvance("sha256:0123456789ab") + 40)
        header.resizeSection(SIZE, metrics.horizontalAdvance("1023.9 KiB") + 24)
        header.resizeSection(CREATED, metrics.horizontalAdvance("2024-01-01 00:00:00 UTC") + 24)
        self.tree.viewport().installEventFilter(self)  # resized: the columns' room again
        self.tree.selectionModel().currentChanged.connect(self._current_changed)

        self.caption = QLabel()
        self.caption.setWordWrap(True)

        self.title = QLabel()
        self.title.setFont(scaled_font(self.title.font(), 1.15, bold=True))
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.badge = Badge()
        self.verify_button = push_button("Verify…")
        self.verify_button.setToolTip(VERIFY_TIP)
        self.verify_button.clicked.connect(self.verify)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QTextBrowser()
        self.details.setAccessibleName("Details")
        self.details.setOpenLinks(False)
        self.details.setOpenExternalLinks(False)
        self.details.document().setDocumentMargin(8)
        self.detail_rows: list[tuple[str, str]] = []
        self._details_shown: tuple[list[tuple[str, str]], list[str]] = ([], [])
        on_palette_change(self.details, self._write_details)
        """The label/value rows the details pane shows (in order)."""

        title_row = QHBoxLayout()
        title_row.setSpacing(10)
        title_row.addWidget(self.title, 1)
        title_row.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignVCenter)
        title_row.addWidget(self.verify_button, 0, Qt.AlignmentFlag.AlignVCenter)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 6, 0, 0)
        bottom_layout.setSpacing(6)
        bottom_layout.addLayout(title_row)
        bottom_layout.addWidget(self.verdict)
        bottom_layout.addWidget(self.details, 1)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(6)
        top_layout.addWidget(self.caption)
        top_layout.addWidget(self.tree, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(12, 12, 12, 12)
        content_layout.addWidget(self.splitter)
        self.content = content

        self.panel = MessagePanel()
        self.retry_button = self.panel.add_button("Try Again")
        self.retry_button.clicked.connect(self.reload)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.panel)
        self.stack.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self._show_details(None)
        self._panel("Signatures", "")

    # -- what is shown

    @property
    def attachments(self) -> Attachments | None:
        """What was loaded for the image shown, or None (not yet, or it failed)."""
        return self._attachments

    @property
    def loading(self) -> bool:
        return self._loading

    def set_state(self, state: ImageState | None) -> None:
        """The image view shows ``state`` now. Another image forgets what was loaded; another
        platform of the same list keeps it (the tree holds every platform)."""
        old = self._state
        self._state = state
        if (old is not None and state is not None and old.source is state.source
                and old.top.digest == state.top.digest):
            return
        self.clear()
        self._state = state

    def clear(self) -> None:
        """Forget the image: stop reading and checking, empty the tree."""
        self._runner.cancel(LOAD_KEY)
        self._runner.cancel(VERIFY_KEY)
        self._state = None
        self._attachments = None
        self._loading = False
        self._outcomes.clear()
        self.error_text = ""
        self.model.clear()
        self._show_details(None)
        self._panel("Signatures", "")

    def activate(self) -> None:
        """The tab is shown: read the attachments, unless they are in or on their way."""
        if self._state is None or self._attachments is not None or self._loading:
            return
        self.reload()

    def reload(self) -> None:
        state = self._state
        if state is None:
            return
        self._loading = True
        self._attachments = None
        self.error_text = ""
        self._runner.cancel(VERIFY_KEY)
        self._panel(f"Looking for signatures of {state.entry.label}…",
                    "Signatures, attestations, SBOMs and other referrers of the image and "
                    "each of its platforms.", busy=True)
        source, top = state.source, state.top.digest
        self._runner.submit(
            lambda cancel: load_attachments(source, top, cancel),
            on_done=self._loaded,
            on_error=self._failed,
            key=LOAD_KEY,
            what=f"looking for the signatures of {state.entry.name}",
            lane=lane_of(state.entry.name),
        )

    def _loaded(self, found: Attachments) -> None:
        state = self._state
        if state is None or found.source is not state.source or found.top != state.top.digest:
            return  # another image meanwhile (the runner drops most of these already)
        self._loading = False
        self._attachments = found
        self._outcomes.clear()
        self.model.set_subjects(found.subjects)
        count = found.count
        if not count:
            manifests = len(found.subjects)
            where = ("its manifest list or any of its platforms" if manifests > 1
                     else "it")
            said = f"No signature, attestation, SBOM or other referrer names {where}."
            self._panel("Nothing is attached to this image",
                        " ".join((said, *found.notes)), icon=icons.information_icon())
        else:
            self.tree.expandAll()
            # an empty column on every row says nothing: shown only when a row has a date
            self.tree.setColumnHidden(CREATED, not self.model.has_created())
            self._fit_columns()
            self._caption(found)
            self.stack.setCurrentWidget(self.content)
            self._select_first()
        emit(self.loaded, count)

    ARTIFACT_TYPE_LEAST: ClassVar[str] = "application/vnd.dev.cosign"
    """What the artifact type keeps in sight at least (it collapsed to "…" at a large
    font); narrower than that, the tree scrolls sideways."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter: the tree's viewport resized."""
        if watched is self.tree.viewport() and event.type() == QEvent.Type.Resize \
                and self.model.subjects:
            self._fit_columns()
        return super().eventFilter(watched, event)

    def _fit_columns(self) -> None:
        """The kinds (see :meth:`_fit_kind_column`); the digest, size and created columns
        as wide as what they show (an all-empty one as its title); the artifact type what
        is left, but no less than :data:`ARTIFACT_TYPE_LEAST` (the kinds give way first).
        A hidden column takes nothing (the created column hidden left its width empty at
        the end of every row)."""
        header = self.tree.header()
        metrics = self.tree.fontMetrics()
        digests = QFontMetrics(monospace_font())
        title_metrics = header.fontMetrics()
        shown = {column: title_metrics.horizontalAdvance(
            str(self.model.headerData(column, Qt.Orientation.Horizontal) or "")) + 24
            for column in (DIGEST, SIZE, CREATED) if not self.tree.isColumnHidden(column)}
        pending = [QModelIndex()]
        while pending:
            parent = pending.pop()
            for row in range(self.model.rowCount(parent)):
                for column in shown:
                    text = str(self.model.index(row, column, parent).data() or "")
                    width = (digests if column == DIGEST else metrics).horizontalAdvance(text)
                    shown[column] = max(shown[column], width + (40 if column == DIGEST else 24))
                pending.append(self.model.index(row, 0, parent))
        for column, width in shown.items():
            header.resizeSection(column, width)
        self._fit_kind_column()
        least = metrics.horizontalAdvance(self.ARTIFACT_TYPE_LEAST) + 24
        room = self.tree.viewport().width() - sum(shown.values())
        kind = header.sectionSize(KIND)
        if room - kind < least:  # the kinds give way, down to their own least
            kind = max(metrics.horizontalAdvance("simple signing") + 64, room - least)
            header.resizeSection(KIND, kind)
        header.resizeSection(ARTIFACT_TYPE, max(least, room - kind))

    def _fit_kind_column(self) -> None:
        """Room for the longest kind or title, but never more than half the tree."""
        metrics = self.tree.fontMetrics()
        bold = QFontMetrics(scaled_font(self.tree.font(), 1.0, bold=True))
        minimum = metrics.horizontalAdvance("simple signing signature") + 64
        indent = self.tree.indentation()
        widest = minimum

        def deepest(rows: Sequence[AttachmentRow], level: int) -> int:
            widest = 0
            for row in rows:
                widest = max(widest, metrics.horizontalAdvance(row.content.kind.value)
                             + level * indent + 16, deepest(row.attached, level + 1))
                for part in row.parts:
                    widest = max(widest, metrics.horizontalAdvance(part_title(part.part))
                                 + (level + 1) * indent + 16)
            return widest

        for subject in self.model.subjects:
            widest = max(widest, bold.horizontalAdvance(subject.subject.label) + indent + 16,
                         deepest(subject.children, 2))
        limit = max(minimum, self.tree.viewport().width() // 2)
        self.tree.header().resizeSection(KIND, min(widest, limit))

    def _failed(self, message: str) -> None:
        if self._state is None:
            return
        self._loading = False
        self.error_text = message
        self._panel("Cannot look for signatures", message, icon=icons.warning_icon(),
                    retry=True)
        emit(self.loaded, -1)

    def _panel(self, title: str, body: str, *, icon: QIcon | None = None, busy: bool = False,
               retry: bool = False) -> None:
        self.panel.show_message(title, body, icon=icon, busy=busy)
        self.retry_button.setVisible(retry)
        self.stack.setCurrentWidget(self.panel)

    def _caption(self, found: Attachments) -> None:
        """``3 things attached: 2 cosign signatures, 1 SBOM — on 2 of 3 manifests.``, and
        a line for each of :attr:`Attachments.notes`."""
        count = found.count
        kinds = Counter(a.kind for s in found.subjects for a in every_attachment(s.attachments))
        named = ", ".join(
            f"{n} {'other artifact' if kind is Kind.OTHER else kind}{'s' if n != 1 else ''}"
            for kind, n in sorted(kinds.items(), key=lambda item: (-item[1], list(Kind).index(
                item[0]))))
        text = f"<b>{count}</b> thing{'s' if count != 1 else ''} attached: {named}"
        if found.nested:
            text += f" ({found.nested} of them attached to another of them)"
        with_any = sum(1 for s in found.subjects if s.attachments)
        if len(found.subjects) > 1:
            text += f" — on {with_any} of {len(found.subjects)} manifests"
        text += ". Select one to see what it says; Verify… checks a signature with a key."
        # what was found but is not attached after all (a referrers index's entry whose
        # own subject is another manifest): why it is not in the tree
        self.caption.setText(text + "".join(f"<br>{html.escape(note)}" for note in found.notes))

    def _select_first(self) -> None:
        for subject in self.model.subjects:
            if subject.children:
                index = self.model.index_of(subject.children[0])
                self.tree.setCurrentIndex(index)
                return

    # -- the details of the selected row

    def selected_row(self) -> SubjectRow | AttachmentRow | PartRow | None:
        index = self.tree.currentIndex()
        return self.model.row(index) if index.isValid() else None

    def select(self, row: SubjectRow | AttachmentRow | PartRow) -> None:
        self.tree.setCurrentIndex(self.model.index_of(row))

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_details(self.model.row(current) if current.isValid() else None)

    def _show_details(self, row: SubjectRow | AttachmentRow | PartRow | None) -> None:
        rows: list[tuple[str, str]] = []
        errors: list[str] = []
        if row is None:
            self.title.setText("")
            self.details.setHtml("")
            self.detail_rows = []
            self._details_shown = ([], [])
            self.badge.hide()
            self.verify_button.hide()
            self.verdict.hide()
            return
        if isinstance(row, SubjectRow):
            self.title.setText(row.subject.label)
            rows.append(("Manifest", str(row.digest)))
            count = len(row.children)
            rows.append(("Attached", f"{count} thing{'s' if count != 1 else ''}" if count
                         else "nothing"))
        elif isinstance(row, AttachmentRow):
            content = row.content
            attachment = content.attachment
            self.title.setText(content.kind.value[:1].upper() + content.kind.value[1:])
            rows.append(("Found as", attachment.found))
            if attachment.artifact_type:
                rows.append(("Artifact type", attachment.artifact_type))
            if attachment.descriptor is not None:  # (its manifest; a part is a blob of it)
                manifest = attachment.descriptor
                rows.append(("Manifest digest", str(manifest.digest)))
                rows.append(("Manifest media type", manifest.media_type or "—"))
                rows.append(("Manifest size", _size(manifest.size)))
            if attachment.created:
                rows.append(("Created", format_timestamp(attachment.created)))
            rows.append(("Attached to", f"{row.parent.label} ({attachment.subject})"))
            if row.attached:
                count = len(row.attached)
                rows.append(("Attached to it", f"{count} thing{'s' if count != 1 else ''}"))
            if content.error:
                errors.append(content.error)
            if len(content.parts) == 1:
                self._part_rows(content.parts[0], attachment.subject, rows, errors)
            elif content.parts:
                rows.append(("Parts", ", ".join(part_title(p) for p in content.parts)))
        else:
            part = row.part
            self.title.setText(part_title(part))
            rows.append(("Part", f"{row.number} of {len(row.parent.parts)} of the "
                         f"{row.parent.content.kind.value} found as "
                         f"{row.parent.content.attachment.found}"))
            self._part_rows(part, row.subject, rows, errors)
        self.detail_rows = rows + [("Error", e) for e in errors]
        self._details_shown = (rows, errors)
        self._write_details()
        self._show_outcome()

    def _write_details(self) -> None:
        """The details shown, in the colours of the palette the browser has now."""
        rows, errors = self._details_shown
        if rows or errors:
            self.details.setHtml(_details_html(rows, errors, self.details.palette()))

    def _identity(self) -> DockerReference | None:
        """The registry reference of the image shown, which its signatures must name
        (None for an image in a folder or archive: not compared)."""
        state = self._state
        return registry_identity(state.entry.name) if state is not None else None

    def _part_rows(self, part: AttachedPart, image: Digest, rows: list[tuple[str, str]],
                   errors: list[str]) -> None:
        rows.append(("Part media type", part.media_type or "—"))
        rows.append(("Part size", _size(part.size)))
        decoded = part.decoded
        if decoded is not None:
            names = decoded.names_image(image)
            identity, signed = self._identity(), decoded.claimed_reference
            if names and identity is not None and signed is not None:
                # the digest alone is not this image: the reference it claims must be its
                # own (as spyglass signatures says it)
                names = identity_refusal(signed, identity) is None
            rows.append(("Names this image",
                         "—" if names is None else "yes" if names else "no"))
            rows.extend(_part_fields(decoded.fields))
            if decoded.certificate is not None:
                rows.extend(r for r in decoded.certificate.fields() if r not in rows)
        if part.error:
            errors.append(part.error)

    # -- verifying

    def _target(self) -> tuple[tuple[str, str, int], list[AttachedPart], Digest] | None:
        row = self.selected_row()
        if isinstance(row, AttachmentRow):
            parts = list(row.content.parts)
            key = (str(row.subject), row.content.attachment.key, 0)
        elif isinstance(row, PartRow):
            parts = [row.part]
            key = (str(row.subject), row.parent.content.attachment.key, row.number)
        else:
            return None
        return key, parts, row.subject

    def _show_outcome(self) -> None:
        target = self._target()
        if target is None or not target[1]:
            self.badge.hide()
            self.verify_button.hide()
            self.verdict.hide()
            return
        key, parts, _image = target
        signature = any(p.kind in _SIGNATURE_KINDS for p in parts)
        self.verify_button.setVisible(True)
        self.verify_button.setEnabled(signature)
        # (also a screen reader's description of the button: set back on a signature)
        self.verify_button.setToolTip(VERIFY_TIP if signature else NOT_SIGNATURE_TIP)
        self.badge.setVisible(signature)
        outcome = self._outcomes.get(key)
        if outcome is None:
            mute(self.verdict, 0.85)
        else:
            plain_text(self.verdict)
        if outcome is not None:
            self.badge.set_status(outcome.status)
            self.verdict.setText(verdict_text(outcome))
            self.verdict.setToolTip(f"{outcome.detail} (Key: {outcome.key_file.name})")
            self.verdict.show()
        elif signature:
            self.badge.set_status(Status.NOT_CHECKED)
            keyless = any(p.decoded is not None and p.decoded.identity is not None
                          for p in parts)
            keys = ("public key, certificate or GPG keyring"
                    if any(p.kind is Kind.SIMPLE_SIGNING for p in parts)
                    else "public key or certificate")
            hint = f"Not verified yet. Choose Verify… and the {keys} to check it with."
            if keyless:
                hint += (" Keyless (Fulcio) signatures name who signed, but checking them "
                         "needs the Sigstore trust root, which Spyglass does not have.")
            self.verdict.setText(hint)
            self.verdict.setToolTip("")
            self.verdict.show()
        else:
            self.verdict.hide()

    def choose_key_file(self, keyring: bool) -> str:
        """Ask for the key file (the file dialog; tests replace its static method)."""
        filters = ";;".join(KEY_FILTERS)
        selected = KEY_FILTERS[1] if keyring else KEY_FILTERS[0]
        path, _filter = QFileDialog.getOpenFileName(
            self, "Choose a Key to Verify With", self._last_dir, filters, selected)
        return path

    def verify(self) -> None:
        """Ask for a key file, then check the selected signature with it in the background."""
        target = self._target()
        if target is None:
            return
        key, parts, image = target
        keyring = all(p.kind is Kind.SIMPLE_SIGNING for p in parts)
        chosen = self.choose_key_file(keyring)
        if not chosen:
            return
        path = Path(chosen)
        self._last_dir = str(path.parent)
        titles = [part_title(p) for p in parts]
        identity = self._identity()
        had_focus = self.verify_button.hasFocus()
        self.verify_button.setEnabled(False)
        # (Qt moved the keyboard on, to Details: it comes back once the check ends)
        self._focus_moved_to = QApplication.focusWidget() if had_focus else None
        self.verdict.setText(f"Checking with {path.name}…")
        self.verdict.setToolTip("")
        self.verdict.show()
        self._runner.submit(
            lambda cancel: combine(verify_parts(parts, image, path, cancel, identity), titles,
                                   path),
            on_done=lambda outcome: self._checked(key, outcome),
            on_error=lambda message: self._key_failed(key, message, path),
            key=VERIFY_KEY,
            what=f"verifying a signature of {image}",
        )

    def _key_failed(self, key: tuple[str, str, int], message: str, path: Path) -> None:
        """The key file could not be used: no verdict, so one found before stands."""
        before = self._outcomes.get(key)
        if before is None or before.status is Status.NOT_CHECKED:
            self._checked(key, Outcome(Status.NOT_CHECKED, message, path))
        else:
            self._checked(key, replace(before, failed_since=message))

    def _checked(self, key: tuple[str, str, int], outcome: Outcome) -> None:
        self._outcomes[key] = outcome
        if self.selected_row() is not None:
            self._show_outcome()
        moved_to, self._focus_moved_to = self._focus_moved_to, None
        if moved_to is not None and QApplication.focusWidget() is moved_to:
            # the keyboard, where Qt put it as Verify… was disabled, goes back to it (or
            # to the row, when it is not a signature's now)
            button = self.verify_button
            (button if button.isEnabled() and button.isVisible() else self.tree).setFocus(
                Qt.FocusReason.OtherFocusReason)
        # said at once (before the status bar's polite announcement of the same
        # sentence): a verdict under the button changed in silence
        announce(self.verdict, verdict_text(outcome),
                 assertive=outcome.status is not Status.VERIFIED)
        emit(self.verified, outcome)


PART_FIELDS: Final[dict[str, str | None]] = {
    "Media type": None, "Size": None, "Manifest digest": "Signed manifest digest"}
"""What the detail grid calls a decoded part's fields that it would not tell apart from
the attachment's manifest: its media type and size (said already, as the part's: each
kind decodes them from the part itself), and the manifest digest a signature names."""


def _part_fields(fields: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """A decoded part's fields as the detail grid shows them (:data:`PART_FIELDS`)."""
    shown = []
    for label, value in fields:
        named = PART_FIELDS.get(label, label)
        if named is not None:
            shown.append((named, value))
    return shown


def _size(size: int) -> str:
    return f"{human_size(size)} ({exact_size(size)})" if size >= 1024 else exact_size(size)


def _details_html(rows: list[tuple[str, str]], errors: list[str], palette: QPalette) -> str:
    """The rows and errors as rich text: names muted, values in the text's own colour,
    errors red (the colours of ``palette``)."""
    label_color = muted_color(palette).name()
    cells = []
    for label, value in rows:
        shown = html.escape(value).replace("\n", "<br>")
        if value.startswith(("sha256:", "sha512:")):
            shown = f"<code>{shown}</code>"
        cells.append(
            f"<tr><td style='padding:2px 14px 2px 0; color:{label_color}; white-space:nowrap' "
            f"valign='top'>{html.escape(label)}</td><td style='padding:2px 0'>{shown}</td></tr>")
    body = f"<table cellspacing='0'>{''.join(cells)}</table>"
    for error in errors:
        body += f"<p style='color:{error_color(palette).name()}'>{html.escape(error)}</p>"
    return body


__all__ = ["BADGE_STYLES", "Badge", "Outcome", "SignaturesPage", "combine", "verdict_text"]
