"""What the rows of the registries tree say (see :mod:`spyglass.gui.models.registries`):
the model's ``data`` for each kind of row — names, icons, fonts, the roles a view reads,
tooltips — and the words for them: a registry's and a repository's summary (for the
pages, too), what a screen reader is told of a row whose listing failed, and the "Same
image as" column. Showing a tag's digest, or its tooltip, asks for the digest
(:meth:`~spyglass.gui.models.registry_digests.DigestLookups._want`).
"""

from __future__ import annotations

import html
from typing import Any, Final

from PySide6.QtCore import QDate, QDateTime, QLocale, Qt
from PySide6.QtGui import QFont, QIcon

from spyglass.core import media
from spyglass.core.credentials import TOKEN_USERNAME
from spyglass.core.referrers import referrers_tag
from spyglass.gui import icons
from spyglass.gui.colors import muted_color
from spyglass.gui.formatting import SIGNED_TEXT, short_digest
from spyglass.gui.models.places import LoadState
from spyglass.gui.models.registry_listings import RegistryListings
from spyglass.gui.models.registry_rows import (
    ALIASES,
    ALIASES_ROLE,
    ATTACHMENT_ROLE,
    DIGEST,
    DIGEST_ROLE,
    ERROR_ROLE,
    HOST_ROLE,
    KIND_ROLE,
    NAME,
    REPOSITORY_ROLE,
    SIGNED_ROLE,
    STATE_ROLE,
    TAG_ROLE,
    TYPE,
    AnyIndex,
    MessageRow,
    Node,
    RegistryNode,
    RepositoryNode,
    TagNode,
)
from spyglass.gui.models.tree import SENTENCE_ROLE
from spyglass.gui.registry_jobs import PLAIN_LOOPBACK, credentials_origin, tag_reference

MAX_ALIASES_SHOWN: Final = 4
"""The other tags of the same image the "Same image as" column names (after their count,
when there are more than :data:`MAX_ALIASES_NAMED_ALONE`)."""
MAX_ALIASES_NAMED_ALONE: Final = 2
"""Up to this many other tags, "Same image as" names them alone (``1.10, latest``); past
it, it leads with their count (``601 other tags: a, b, …``): the names of hundreds filled
the cell, the count after them never in sight."""
MAX_ALIASES_IN_TOOLTIP: Final = 12
"""The other tags of the same image a tag's tooltip names (then a count): it named all
of them, 2,656 filling the screen."""


class RegistryRowData(RegistryListings):
    """What each row says to a view (Qt's ``data``): see the module docstring."""

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override QAbstractItemModel::data."""
        node = self._node(index) if index.isValid() else None
        if node is None:
            return None
        column = index.column()
        if role == KIND_ROLE:
            return _kind(node)
        if isinstance(node, TagNode):
            return self._tag_data(node, column, role)
        if column != NAME:
            return None
        if isinstance(node, RegistryNode):
            return self._registry_data(node, role)
        if isinstance(node, RepositoryNode):
            return self._repository_data(node, role)
        return self._message_data(node, role)

    # ------------------------------------------------------------------ data per kind of row

    def _registry_data(self, node: RegistryNode, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return node.host
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"docker://{node.host}", registry_summary(node)]
            lines += _trouble(node)
            return _rich_tooltip("\n".join(lines))
        if role == Qt.ItemDataRole.DecorationRole:
            return icons.warning_icon() if _troubled(node) else icons.registry_icon()
        if role in _ACCESSIBLE_ROLES:  # (what the warning icon says)
            return _failed_text(node.host, node, role)
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            font.setItalic(node.state is LoadState.LOADING)
            return font
        if role == HOST_ROLE:
            return node.host
        if role == STATE_ROLE:
            return node.state.value
        if role == ERROR_ROLE:
            return node.error
        return None

    def _repository_data(self, node: RepositoryNode, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return node.name
        if role == Qt.ItemDataRole.ToolTipRole:
            # (the tree's tag rows, below, hide them or not as the page's box says)
            lines = [f"{node.parent.host}/{node.name}", tags_summary(node, apart=True)]
            if node.pinned:
                lines.append("Opened by name.")
            if node.stale:
                lines.append(stale_text(node))
            return _rich_tooltip("\n".join(lines))
        if role == Qt.ItemDataRole.DecorationRole:
            return icons.warning_icon() if _troubled(node) else icons.repository_icon()
        if role in _ACCESSIBLE_ROLES:
            return _failed_text(node.name, node, role)
        if role == Qt.ItemDataRole.FontRole and node.state is LoadState.LOADING:
            font = QFont()
            font.setItalic(True)
            return font
        if role == HOST_ROLE:
            return node.parent.host
        if role == REPOSITORY_ROLE:
            return node.name
        if role == STATE_ROLE:
            return node.state.value
        if role == ERROR_ROLE:
            return node.error
        return None

    def _tag_data(self, node: TagNode, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == NAME:
                return node.name
            if column == DIGEST:
                self._want(node)
                if node.digest is not None:
                    return short_digest(node.digest)
                return "—" if node.error else "…"
            if column == TYPE:
                return media.friendly(node.media_type) if node.media_type else ""
            repo = node.parent
            return _aliases_text(repo.aliases(node, MAX_ALIASES_SHOWN),
                                 repo.alias_count(node), repo.all_digests_known)
        if role == Qt.ItemDataRole.ToolTipRole:
            self._want(node)
            return self._tag_tooltip(node)
        if role == Qt.ItemDataRole.DecorationRole and column == NAME:
            # one icon for every tag: one for a tag that shares its image read as "a list
            # of platforms" ("Same image as" says it, in words)
            return icons.tag_icon()
        if role == Qt.ItemDataRole.AccessibleTextRole and column == NAME:
            # the "signed" pill is painted: a screen reader gets it from here
            return f"{node.name}, {SIGNED_TEXT}" if node.parent.is_signed(node) else None
        if role in _ACCESSIBLE_ROLES and column == DIGEST:
            return _digest_text(node, role)
        if role == Qt.ItemDataRole.FontRole and column == DIGEST:
            return self._mono
        if role == Qt.ItemDataRole.ForegroundRole and column in (DIGEST, ALIASES):
            if column == ALIASES or node.digest is None:
                return muted_color()
            return None
        if role == HOST_ROLE:
            return node.parent.parent.host
        if role == REPOSITORY_ROLE:
            return node.parent.name
        if role == TAG_ROLE:
            return node.name
        if role == DIGEST_ROLE:
            return str(node.digest) if node.digest is not None else None
        if role == ALIASES_ROLE:
            return node.parent.aliases(node)
        if role == SIGNED_ROLE:
            return node.parent.is_signed(node)
        if role == ATTACHMENT_ROLE:
            return node.attachment
        if role == ERROR_ROLE:
            return node.error
        return None

    def _tag_tooltip(self, node: TagNode) -> str:
        repo = node.parent
        lines = [tag_reference(repo.parent.host, repo.name, node.name)]
        if node.digest is not None:
            lines.append(str(node.digest))
            if node.media_type:
                lines.append(media.friendly(node.media_type))
            count = repo.alias_count(node)
            if count:
                known = "" if repo.all_digests_known else \
                    " (of the tags whose digests are looked up so far)"
                names = repo.aliases(node, MAX_ALIASES_IN_TOOLTIP)
                more = f" and {count - len(names):,} more" if count > len(names) else ""
                lines.append("Same image as " + ", ".join(names) + more + known)
            if repo.is_signed(node):
                lines.append(f"Signed: the cosign signature tag "
                             f"{referrers_tag(node.digest)}.sig is in this repository "
                             "(open the image's Signatures tab to verify it).")
        elif node.error:
            lines.append(f"Digest unknown: {node.error}")
        else:
            lines.append("Looking up the digest…")
        return _rich_tooltip("\n".join(lines))

    def _message_data(self, node: MessageRow, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return node.short or node.text
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return node.text
        if role == SENTENCE_ROLE:
            return True
        if role == Qt.ItemDataRole.ToolTipRole:
            return _rich_tooltip(node.text)
        if role == Qt.ItemDataRole.DecorationRole:
            return icons.warning_icon() if node.kind == "error" else QIcon()
        if role == Qt.ItemDataRole.ForegroundRole:
            return muted_color()
        if role == ERROR_ROLE:
            return node.text if node.kind == "error" else None
        return None


def _kind(node: Node) -> str:
    if isinstance(node, RegistryNode):
        return "registry"
    if isinstance(node, RepositoryNode):
        return "repository"
    if isinstance(node, TagNode):
        return "tag"
    return "message"


def registry_summary(node: RegistryNode) -> str:
    """``User alice · plain HTTP … allowed``: how Spyglass talks to the registry. The
    user is the one whose credentials the connection found (``User alice (from
    ~/.docker/config.json)``, ``(saved in the keyring, e.g. by spyglass login)`` for
    some the window did not save), else the one the settings name; "Anonymous" when
    there is none."""
    found, named = node.connection.found, node.config.username
    if found is not None and found.username and found.username != TOKEN_USERNAME:
        origin = credentials_origin(found, node.config)
        user = f"user {found.username}" + (f" ({origin})" if origin else "")
    elif node.connection.password_missing:
        user = f"user {named}, no password saved"
    elif found is not None:  # a token alone
        origin = credentials_origin(found, node.config)
        user = "signed in with a token" + (f" ({origin})" if origin else "")
    else:
        user = f"user {named}" if named else "anonymous"
    parts = [user]
    if node.credentials_note:
        parts.append(node.credentials_note)
    if node.config.insecure:
        parts.append("plain HTTP and unverified TLS allowed")
    elif node.connection.plain_http:  # (once it was asked: a registry on this machine)
        parts.append(f"over {PLAIN_LOOPBACK}")
    text = " · ".join(parts)
    return text[:1].upper() + text[1:]


def tags_summary(node: RepositoryNode, *, hidden: int = 0, apart: bool = False,
                 say_hidden: bool = True) -> str:
    """``14 tags``, ``1,000 tags so far…``, or what is wrong. With ``hidden`` signature
    and referrer tags left out of the list, the tags it shows, and those apart:
    ``1 tag (and 2 signature and referrer tags, hidden)``, ``1 tag (and 1 signature or
    referrer tag, hidden)``, or only the tags it shows where something else says how many
    are hidden (not ``say_hidden``); with ``apart``, every such tag
    counted apart, whether shown or not (``1 tag (and 2 signature and referrer tags)``)."""
    count = len(node.by_name)
    if node.state is LoadState.FAILED:
        return node.error or "The tags could not be listed."
    if node.state is LoadState.PENDING:
        return "Tags not listed yet."
    other = node.attachment_tags if apart else hidden
    shown = count - other
    noun = f"{shown:,} tag{'s' if shown != 1 else ''}"
    if other and (apart or say_hidden):
        noun += f" (and {attachment_tags(other)}" + (")" if apart else ", hidden)")
    if not node.done:
        noun += " so far…"  # (after the parenthesis: "…" ends what is still growing)
    return noun


def attachment_tags(count: int) -> str:
    """``1 signature or referrer tag`` (one is either), ``2 signature and referrer
    tags``."""
    return (f"{count:,} signature and referrer tags" if count != 1
            else "1 signature or referrer tag")


_ACCESSIBLE_ROLES: Final = (Qt.ItemDataRole.AccessibleTextRole,
                           Qt.ItemDataRole.AccessibleDescriptionRole)


def _troubled(node: RegistryNode | RepositoryNode) -> bool:
    """Whether the row wears a warning: its listing failed, or listing it again did."""
    return node.state is LoadState.FAILED or bool(node.stale)


def _trouble(node: RegistryNode | RepositoryNode) -> list[str]:
    """What a registry's tooltip says of its listing's trouble (no line: none)."""
    if node.stale:
        return [stale_text(node)]
    return [node.error] if node.error else []


def stale_text(node: RegistryNode | RepositoryNode) -> str:
    """``Cannot reach the registry H: connection refused. The list shown is as it was read
    at 08:21.``: listing it again failed (:attr:`stale`), the rows read before stayed."""
    when = ""
    if node.read_at:
        read = QDateTime.fromSecsSinceEpoch(int(node.read_at))
        locale = QLocale()
        when = " at " + (locale.toString(read.time(), QLocale.FormatType.ShortFormat)
                         if read.date() == QDate.currentDate()
                         else locale.toString(read, QLocale.FormatType.ShortFormat))
    return f"{node.stale} The list shown is as it was read{when}."


def _failed_text(name: str, node: RegistryNode | RepositoryNode, role: int) -> str | None:
    """What a screen reader is told of a registry or repository row whose listing failed,
    or whose list is as read before (the row shows it by a warning icon only): ``NAME,
    cannot be listed``, and why."""
    if node.stale:
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{name}, the list may be out of date"
        return stale_text(node)
    if node.state is not LoadState.FAILED:
        return None
    if role == Qt.ItemDataRole.AccessibleTextRole:
        return f"{name}, cannot be listed"
    return node.error or None


def _digest_text(node: TagNode, role: int) -> str | None:
    """What a screen reader is told of a tag's digest cell, which shows marks until the
    digest is known ("…", "—": "horizontal ellipsis", "em dash") and the digest cut
    short: words, and the whole digest, or why it is not known, as its description (the
    tooltip, which says them, the keyboard cannot show)."""
    if role == Qt.ItemDataRole.AccessibleTextRole:
        if node.digest is not None:
            return None  # (what the cell shows: sha256:1d4404e2f3c4)
        return "digest unknown" if node.error else "looking up the digest"
    if node.digest is not None:
        return str(node.digest)
    return node.error or None


def _aliases_text(shown: list[str], count: int, complete: bool) -> str:
    """``1.10, latest``; past :data:`MAX_ALIASES_NAMED_ALONE`, the count first: ``22 other
    tags: a, b, c, d, …`` (``22 other tags so far: …`` while the digests of some tags are
    not looked up yet: only those of the rows shown are): the names ``shown`` of
    ``count``."""
    if count <= MAX_ALIASES_NAMED_ALONE and count <= len(shown):
        return ", ".join(shown)
    names = ", ".join(shown) + (", …" if count > len(shown) else "")
    return f"{count:,} other tags{'' if complete else ' so far'}: {names}"


def _rich_tooltip(text: str) -> str:
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines())
