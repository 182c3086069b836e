"""Image tarballs, write side: the ``oci-archive:`` destination, and the check of what
a copy to an archive would replace.

Written archives are always plain tars, whatever the file is called. How an archive
is staged and written whole is :mod:`.archive_output`; what an archive already
there holds, read before it is replaced, :mod:`.archive_held`; the
``docker-archive:`` destination, :mod:`.docker_archive_write`.
"""


from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest, Readable
from spyglass.core.errors import InvalidReference, TransportError
from spyglass.core.filemodes import FILE_MODE
from spyglass.core.manifest import Descriptor
from spyglass.core.transports.archive import OCI_ARCHIVE
from spyglass.core.transports.archive_output import ArchiveDestination, ArchiveOutput, TarWriter
from spyglass.core.transports.base import ProgressCallback
from spyglass.core.transports.files import describe_os_error
from spyglass.core.transports.layout_files import (
    INDEX_FILE,
    LAYOUT_FILE,
)
from spyglass.core.transports.layout_write import OCILayoutDestination


def check_archive_destination(path: Path, transport: str, *, look_inside: bool = True
                              ) -> None:
    """Raise the refusal a copy to the archive ``path`` would meet (a folder there, a
    file that is no image archive, an archive of several images, no folder to hold it),
    writing nothing: what a copy would replace is asked about only when it may be.
    Without ``look_inside`` what the file there holds is not read (a compressed one
    would be decompressed whole for it); the copy still checks it."""
    ArchiveOutput(path, transport, stage=False, look_inside=look_inside)


class OCIArchiveDestination(ArchiveDestination):
    """An :class:`~spyglass.core.transports.base.ImageDestination` for ``oci-archive:PATH[:REF]``.

    The content is an OCI layout built by an
    :class:`~spyglass.core.transports.layout_write.OCILayoutDestination` in a
    private staging folder next to ``PATH``; :meth:`commit` writes the layout
    as a tar (``blobs/…``, ``index.json``, ``oci-layout``; mtime 0, owner 0:0)
    and renames it into place when it is complete (see :class:`ArchiveOutput`
    for ``/dev/stdout`` and other non-regular targets). Like skopeo, the
    archive holds this one image: an existing file at ``PATH`` is replaced,
    not added to. :meth:`abort` removes the staging folder; nothing appears
    at ``PATH``.
    """

    def __init__(self, path: Path, ref: str | None = None) -> None:
        self.path = path
        self._name = f"{OCI_ARCHIVE}:{path}" + (f":{ref}" if ref else "")
        self._output = ArchiveOutput(path, OCI_ARCHIVE)
        try:
            self._layout = OCILayoutDestination(
                self._output.staging / "layout",
                ref,
                transport=OCI_ARCHIVE,
                name_path=path,
                private=True,
            )
        except BaseException:
            self._output.cleanup()
            raise
        self._state = "open"

    @property
    def supported_manifest_types(self) -> tuple[str, ...]:
        return self._layout.supported_manifest_types

    @property
    def accepts_lists(self) -> bool:
        return True

    @property
    def desired_layer_compression(self) -> str | None:
        return self._layout.desired_layer_compression

    @property
    def accepts_foreign_layers(self) -> bool:
        """Override ForeignLayers.accepts_foreign_layers: as the layout inside, so a
        foreign layer stays where its ``urls`` point and the archive holds no copy of
        it (as containers/image's ``oci-archive:`` destination writes it)."""
        return self._layout.accepts_foreign_layers

    def reuse_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None,
        sending: bool = True,
    ) -> str | None:
        return self._layout.reuse_blob(descriptor, cancel=cancel)

    def put_blob(
        self,
        stream: Readable,
        *,
        media_type: str,
        digest: Digest | None,
        size: int | None,
        cancel: CancelToken | None = None,
        progress: ProgressCallback | None = None,
    ) -> Descriptor:
        with self._output.staged():
            return self._layout.put_blob(
                stream, media_type=media_type, digest=digest, size=size, cancel=cancel,
                progress=progress,
            )

    def put_manifest(
        self, raw: bytes, media_type: str, digest: Digest, *, cancel: CancelToken | None = None
    ) -> None:
        self._layout.put_manifest(raw, media_type, digest, cancel=cancel)

    @property
    def attachment_support(self) -> frozenset[str]:
        """Override AttachmentDestination.attachment_support: as the layout inside."""
        return self._layout.attachment_support

    @property
    def attachments_withheld(self) -> str | None:
        """As the layout inside (see OCILayoutDestination.attachments_withheld)."""
        return self._layout.attachments_withheld

    def put_attachment(
        self,
        subject: Digest,
        descriptor: Descriptor,
        raw: bytes,
        *,
        tag: str | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        self._layout.put_attachment(subject, descriptor, raw, tag=tag, cancel=cancel)

    def put_stored_signatures(
        self, subject: Digest, signatures: list[bytes], *, cancel: CancelToken | None = None
    ) -> None:
        self._layout.put_stored_signatures(subject, signatures, cancel=cancel)

    def commit(self, top: Descriptor, raw: bytes, *, cancel: CancelToken | None = None) -> None:
        self._check_open()
        with self._output.staged():
            self._layout.commit(top, raw, cancel=cancel)
        blobs = self._layout.path / "blobs"
        try:
            held = {algorithm: sorted(os.listdir(blobs / algorithm))
                    for algorithm in sorted(os.listdir(blobs))}
        except OSError as exc:
            raise TransportError(describe_os_error(exc, blobs)) from exc
        self._output.write(
            lambda tar: self._fill(tar, held), file_mode=FILE_MODE, cancel=cancel,
            blobs=[blobs / algorithm / name for algorithm, names in held.items()
                   for name in names],
        )
        self._state = "committed"
        self._output.cleanup()

    def _fill(self, tar: TarWriter, held: Mapping[str, list[str]]) -> None:
        root = self._layout.path
        blobs = root / "blobs"
        tar.folder("blobs")
        for algorithm, names in held.items():
            folder = blobs / algorithm
            tar.folder(f"blobs/{algorithm}")
            for name in names:
                tar.file(f"blobs/{algorithm}/{name}", folder / name, consume=True)
        tar.file(INDEX_FILE, root / INDEX_FILE)
        tar.file(LAYOUT_FILE, root / LAYOUT_FILE)

    def abort(self) -> None:
        if self._state == "committed":
            return
        self._layout.abort()
        self._output.cleanup()
        self._state = "aborted"


def open_oci_archive_destination(
    path: Path, ref: str | None = None, index: int | None = None
) -> OCIArchiveDestination:
    """Open ``oci-archive:PATH[:REF]`` for writing."""
    if index is not None:
        raise InvalidReference(
            f'"{OCI_ARCHIVE}:{path}:@{index}" names an image by its position, which only works '
            f"for reading; write to {OCI_ARCHIVE}:{path}:REF or {OCI_ARCHIVE}:{path}."
        )
    return OCIArchiveDestination(path, ref)
