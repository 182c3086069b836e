"""Reading one image from a registry: :class:`RegistryImageSource`."""

from __future__ import annotations

import threading

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest, VerifyingReader
from spyglass.core.manifest import Descriptor
from spyglass.core.transports.registry.blobcache import BlobLocationCache, default_cache
from spyglass.core.transports.registry.client import ManifestResponse, RegistryClient


class RegistryImageSource:
    """An :class:`~spyglass.core.transports.base.ImageSource` for ``docker://HOST/REPO:TAG|@DIGEST``.

    The top-level manifest is fetched once and kept, so that loading an image
    and then its instances asks the registry for it only once. Every blob
    opened is recorded in ``cache`` (default: the process's blob location
    cache), so a later copy into another repository of the registry can mount it.
    """

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        reference: str,
        *,
        cache: BlobLocationCache | None = None,
    ) -> None:
        self.client = client
        self.repository = repository
        self.reference = reference
        self._cache = cache
        self._top: ManifestResponse | None = None
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        separator = "@" if ":" in self.reference else ":"
        return f"docker://{self.client.host}/{self.repository}{separator}{self.reference}"

    def top_manifest(self, *, cancel: CancelToken | None = None) -> ManifestResponse:
        """The manifest the name points at (fetched once)."""
        with self._lock:
            if self._top is not None:
                return self._top
        top = self.client.get_manifest(self.repository, self.reference, cancel=cancel)
        with self._lock:
            self._top = top
        return top

    def get_manifest(
        self, digest: str | None = None, *, cancel: CancelToken | None = None
    ) -> tuple[bytes, str | None]:
        """Override ImageSource.get_manifest."""
        if digest is None:
            top = self.top_manifest(cancel=cancel)
            return top.raw, top.media_type
        wanted = Digest.parse(digest)
        if self._top is not None and self._top.digest == wanted:
            return self._top.raw, self._top.media_type
        answer = self.client.get_manifest(self.repository, str(wanted), cancel=cancel)
        return answer.raw, answer.media_type

    def open_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> VerifyingReader:
        """Override ImageSource.open_blob."""
        stream = self.client.open_blob(self.repository, descriptor.digest, cancel=cancel)
        cache = self._cache if self._cache is not None else default_cache()
        cache.record(self.client.host, self.repository, descriptor.digest)
        return VerifyingReader(
            stream,
            descriptor.digest,
            descriptor.size,
            what=f"The blob {descriptor.digest} of {self.client.host}/{self.repository}",
            cancel=cancel,
        )

    def close(self) -> None:
        """Override ImageSource.close: connections belong to the shared pool."""
