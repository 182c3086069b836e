"""The refusals destinations share, worded once (as containers/image's
``internal/imagedestination/stubs`` does for destinations without signatures)."""

from __future__ import annotations

from spyglass.core.digest import Digest
from spyglass.core.errors import Unsupported


def no_stored_signatures(where: str) -> Unsupported:
    """For a destination that keeps no ``signature-N`` files (registries, layouts)."""
    said = f"{where} cannot keep containers/image signatures (signature-N files); copy "
    return Unsupported(said + "without signatures to leave them behind.",
                       on_command_line=said + "with --remove-signatures to leave them behind.")


def no_attached_manifests(where: str, digest: Digest) -> Unsupported:
    """For a destination that keeps signatures only as files (``dir:``)."""
    said = (f"{where} keeps signatures as signature-N files only, not attached manifests "
            f"such as {digest}; copy ")
    return Unsupported(said + "without signatures to leave them behind.",
                       on_command_line=said + "with --remove-signatures to leave them behind.")
