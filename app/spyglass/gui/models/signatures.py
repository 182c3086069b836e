"""The Signatures tab's tree: subject manifests → what is attached to them → their parts.

Read from the list :func:`~spyglass.core.signatures.attached.image_attachments`
returns: a row per manifest of the image (the list itself and each platform
image), under it a row per attachment (a signature, an attestation, an SBOM,
any other referrer), and under that a row per part (a layer, or a stored
signature), then a row per attachment of that attachment (a signature on an
SBOM), with its parts and attachments in turn. Five columns: kind, artifact
type (a part's media type), digest, size and created. The whole tree is built
at once; nothing is fetched here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.core.signatures import media as sigmedia
from spyglass.core.signatures.attached import (
    AttachedPart,
    AttachmentContent,
    SubjectAttachments,
)
from spyglass.core.signatures.bundle import BUNDLE_PREFIX
from spyglass.core.signatures.model import Kind
from spyglass.core.text import LINES, visible
from spyglass.gui.colors import error_color, muted_color
from spyglass.gui.formatting import exact_size, format_timestamp, human_size, short_digest
from spyglass.gui.models.table import LEFT, RIGHT, monospace_font
from spyglass.gui.models.tree import IdTreeModel

AnyIndex = QModelIndex | QPersistentModelIndex

KIND, ARTIFACT_TYPE, DIGEST, SIZE, CREATED = range(5)
COLUMN_TITLES: Final = ("Kind", "Artifact type", "Digest", "Size", "Created")

NODE_ROLE = Qt.ItemDataRole.UserRole + 40
"""The row's :class:`SubjectRow`, :class:`AttachmentRow` or :class:`PartRow`."""

@dataclass(eq=False)
class SubjectRow:
    """A manifest of the image (the list, or one platform image) and what is attached to it."""

    id: int
    subject: SubjectAttachments
    children: list[AttachmentRow] = field(default_factory=list)

    @property
    def digest(self) -> Digest:
        return self.subject.digest

    @property
    def label(self) -> str:
        """What the manifest is called: ``manifest list``, ``linux/arm64``, ``image``."""
        return self.subject.label


@dataclass(eq=False)
class AttachmentRow:
    """One attachment of a subject, or of another attachment (``parent``); its children
    are its parts, then what is attached to it."""

    id: int
    parent: SubjectRow | AttachmentRow
    content: AttachmentContent
    children: list[PartRow | AttachmentRow] = field(default_factory=list)

    @property
    def subject(self) -> Digest:
        return self.content.attachment.subject

    @property
    def label(self) -> str:
        """What it is called as a subject: ``the SBOM sha256:…``."""
        descriptor = self.content.attachment.descriptor
        return f"the {self.content.kind.value}" + (
            f" {short_digest(descriptor.digest)}" if descriptor is not None else "")

    @property
    def parts(self) -> list[PartRow]:
        return [row for row in self.children if isinstance(row, PartRow)]

    @property
    def attached(self) -> list[AttachmentRow]:
        """What is attached to this attachment, one level down."""
        return [row for row in self.children if isinstance(row, AttachmentRow)]


@dataclass(eq=False)
class PartRow:
    """One part (layer or stored signature) of an attachment."""

    parent: AttachmentRow
    number: int
    part: AttachedPart

    @property
    def subject(self) -> Digest:
        return self.parent.subject


Row = SubjectRow | AttachmentRow | PartRow


def part_title(part: AttachedPart) -> str:
    """What a part is called in the tree: its decoded title, else its kind."""
    if part.decoded is not None and part.decoded.title:
        return part.decoded.title
    return part.kind.value if part.kind is not Kind.OTHER else "part"


ARTIFACT_NAMES: Final = {
    sigmedia.COSIGN_SIMPLESIGNING: "Simple signing",
    sigmedia.DSSE_ENVELOPE: "DSSE envelope",
    sigmedia.IN_TOTO_PAYLOAD: "in-toto statement",
    sigmedia.NOTARY_ARTIFACT_TYPE: "Notary signature",
    sigmedia.NOTARY_JWS: "JWS signature",
    sigmedia.NOTARY_COSE: "COSE signature",
    **{t: "SPDX SBOM" for t in sigmedia.SPDX_JSON_TYPES | sigmedia.SPDX_TEXT_TYPES},
    **{t: "CycloneDX SBOM"
       for t in sigmedia.CYCLONEDX_JSON_TYPES | sigmedia.CYCLONEDX_XML_TYPES},
    **{t: "Syft SBOM" for t in sigmedia.SYFT_JSON_TYPES},
}
"""Short names for the artifact and part types the tree shows (their media types, cut in
the middle of a narrow column, lost what told rows apart): the type in the tooltip."""


def artifact_name(media_type: str) -> str:
    """What the Artifact type column shows for ``media_type``: its short name, else the
    type itself."""
    if media_type.startswith(BUNDLE_PREFIX):
        return "Sigstore bundle"
    return ARTIFACT_NAMES.get(media_type) or _friendly_type(media_type)


def capitalised(text: str) -> str:
    """``Cosign signature``, ``Manifest list``: a row's kind with a capital, as the
    decoded titles have (``Attestation: SLSA provenance``); ``linux/arm64`` as it is."""
    if "/" in text or not text[:1].islower():
        return text
    return text[:1].upper() + text[1:]


def _friendly_type(media_type: str | None) -> str:
    if not media_type:
        return ""
    friendly = media.friendly(media_type)
    return friendly if friendly else media_type


class SignaturesModel(IdTreeModel):
    """The tree of the module docstring; :meth:`set_subjects` replaces it (a reset)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._subjects: list[SubjectRow] = []
        self._by_id: dict[int, SubjectRow | AttachmentRow] = {}
        self._mono = monospace_font()
        self._bold = QFont()
        self._bold.setBold(True)

    # -- the rows

    def set_subjects(self, subjects: Sequence[SubjectAttachments]) -> None:
        """Show ``subjects`` (a manifest list's own row first, then its platforms)."""
        self.beginResetModel()
        self._subjects = []
        self._by_id = {}
        ids = iter(range(1, 1 << 30))
        for subject in subjects:
            row = SubjectRow(next(ids), subject)
            self._by_id[row.id] = row
            row.children = [self._attachment_row(ids, row, content)
                            for content in subject.attachments]
            self._subjects.append(row)
        self.endResetModel()

    def _attachment_row(self, ids: Iterator[int], parent: SubjectRow | AttachmentRow,
                        content: AttachmentContent) -> AttachmentRow:
        row = AttachmentRow(next(ids), parent, content)
        self._by_id[row.id] = row
        row.children = [PartRow(row, number, part)
                        for number, part in enumerate(content.parts, 1)]
        row.children.extend(self._attachment_row(ids, row, under)
                            for under in content.attachments)
        return row

    def clear(self) -> None:
        self.set_subjects(())

    @property
    def subjects(self) -> list[SubjectRow]:
        return list(self._subjects)

    @property
    def attachment_count(self) -> int:
        """What is attached to the image's manifests, at every level."""
        return len(self.attachment_rows())

    def row(self, index: AnyIndex) -> Row | None:
        """The row at ``index`` (any column), or None."""
        if not index.isValid() or index.model() is not self:
            return None
        return self._row(index)

    def _row(self, index: AnyIndex) -> Row | None:
        row: Row | None = self._node_at(index)
        return row

    def _top_level(self) -> Sequence[SubjectRow]:
        """Override IdTreeModel._top_level."""
        return self._subjects

    def index_of(self, row: Row, column: int = KIND) -> QModelIndex:
        if isinstance(row, SubjectRow):
            return self.createIndex(self._subjects.index(row), column, 0)
        if isinstance(row, AttachmentRow):
            return self.createIndex(row.parent.children.index(row), column, row.parent.id)
        return self.createIndex(row.parent.children.index(row), column, row.parent.id)

    def attachment_rows(self) -> list[AttachmentRow]:
        """Every attachment row, each followed by those attached to it."""
        def walk(rows: Sequence[AttachmentRow]) -> Iterator[AttachmentRow]:
            for row in rows:
                yield row
                yield from walk(row.attached)

        return [row for subject in self._subjects for row in walk(subject.children)]

    # -- QAbstractItemModel

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        """Override QAbstractItemModel::index."""
        if row < 0 or not 0 <= column < len(COLUMN_TITLES):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0) if row < len(self._subjects) \
                else QModelIndex()
        if parent.column() != 0:
            return QModelIndex()
        node = self._row(parent)
        if isinstance(node, SubjectRow | AttachmentRow) and row < len(node.children):
            return self.createIndex(row, column, node.id)
        return QModelIndex()

    def _index_of(self, node: Any) -> QModelIndex:
        """Override IdTreeModel._index_of."""
        if isinstance(node, SubjectRow):
            return self.createIndex(self._subjects.index(node), 0, 0)
        return self.createIndex(node.parent.children.index(node), 0, node.parent.id)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Override QAbstractItemModel::rowCount."""
        if not parent.isValid():
            return len(self._subjects)
        if parent.column() != 0:
            return 0
        node = self._row(parent)
        return len(node.children) if isinstance(node, SubjectRow | AttachmentRow) else 0

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Override QAbstractItemModel::columnCount."""
        return len(COLUMN_TITLES)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        """Override QAbstractItemModel::flags."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if isinstance(self._row(index), PartRow):
            flags |= Qt.ItemFlag.ItemNeverHasChildren
        return flags

    def headerData(
        self, section: int, orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Override QAbstractItemModel::headerData."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMN_TITLES):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMN_TITLES[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if section == SIZE else LEFT
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override QAbstractItemModel::data."""
        node = self._row(index) if index.isValid() else None
        if node is None:
            return None
        column = index.column()
        if role == NODE_ROLE:
            return node
        if role == Qt.ItemDataRole.DisplayRole:
            return visible(self._display(node, column))  # (a registry's text: see visible)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self._tooltip(node, column)
            return visible(tip, keep=LINES) if tip else tip
        if role == Qt.ItemDataRole.FontRole:
            if column == DIGEST:
                return self._mono
            if isinstance(node, SubjectRow) and column == KIND:
                return self._bold
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if column == SIZE else LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            if _error(node) is not None and column == KIND:
                return error_color()
            if isinstance(node, SubjectRow) and column == ARTIFACT_TYPE:
                return muted_color()
        return None

    def _display(self, node: Row, column: int) -> str:
        if isinstance(node, SubjectRow):
            if column == KIND:
                return capitalised(node.subject.label)
            if column == ARTIFACT_TYPE:
                count = len(node.children)
                if not count:
                    return "nothing attached"
                return f"{count} attached"
            if column == DIGEST:
                return short_digest(node.digest)
            return ""
        if isinstance(node, AttachmentRow):
            attachment = node.content.attachment
            if column == KIND:
                return capitalised(node.content.kind.value)
            if column == ARTIFACT_TYPE:
                return artifact_name(attachment.artifact_type) if attachment.artifact_type \
                    else ""
            if column == DIGEST:
                return short_digest(attachment.descriptor.digest) \
                    if attachment.descriptor is not None else attachment.found
            if column == SIZE:
                if attachment.descriptor is not None:
                    return human_size(attachment.descriptor.size)
                return human_size(sum(p.size for p in node.content.parts))
            if column == CREATED:
                return format_timestamp(attachment.created, empty="")
            return ""
        part = node.part
        if column == KIND:
            return capitalised(part_title(part))
        if column == ARTIFACT_TYPE:
            return artifact_name(part.media_type)
        if column == SIZE:
            return human_size(part.size)
        return ""

    def has_created(self) -> bool:
        """Whether any attachment says when it was made (the Created column is hidden
        when none does: it was an empty column on every row)."""
        return any(row.content.attachment.created for row in self.attachment_rows())

    def _tooltip(self, node: Row, column: int) -> str | None:
        if isinstance(node, SubjectRow):
            return f"{node.subject.label}\n{node.digest}"
        if isinstance(node, AttachmentRow):
            attachment = node.content.attachment
            lines = [f"{capitalised(node.content.kind.value)}, found as {attachment.found}"]
            if column == ARTIFACT_TYPE and attachment.artifact_type:
                lines.append(attachment.artifact_type)
            if attachment.descriptor is not None:
                lines.append(str(attachment.descriptor.digest))
                if column == SIZE:
                    lines.append(exact_size(attachment.descriptor.size))
            if node.content.error:
                lines.append(node.content.error)
            return "\n".join(lines)
        part = node.part
        lines = [capitalised(part_title(part)), part.media_type if column == ARTIFACT_TYPE
                 else _friendly_type(part.media_type)]
        if column == SIZE:
            lines.append(exact_size(part.size))
        if part.error:
            lines.append(part.error)
        return "\n".join(line for line in lines if line)


def _error(node: Row) -> str | None:
    if isinstance(node, AttachmentRow):
        return node.content.error
    if isinstance(node, PartRow):
        return node.part.error
    return None


__all__ = [
    "ARTIFACT_TYPE",
    "COLUMN_TITLES",
    "CREATED",
    "DIGEST",
    "KIND",
    "NODE_ROLE",
    "SIZE",
    "AttachmentRow",
    "PartRow",
    "SignaturesModel",
    "SubjectRow",
    "part_title",
]
