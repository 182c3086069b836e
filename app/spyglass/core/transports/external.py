"""A foreign layer's bytes from where its ``urls`` point.

A layer with ``urls`` (Windows base layers, non-distributable layers) need not
be in the registry or layout that names it. A destination that can refer to the
URLs (a registry, an OCI layout) never needs the bytes; one that cannot (``dir:``,
archives) gets them from the source, or, when the source lacks them, from the
first URL that serves them, as containers/image's ``getExternalBlob`` does. No
credentials are sent there: they are the registry's, not the URL's host's. The
bytes are verified against the layer's digest and size like every blob.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import VerifyingReader
from spyglass.core.errors import BlobNotFound
from spyglass.core.manifest import Descriptor

if TYPE_CHECKING:
    import httpx

_TIMEOUT: Final = 60.0


class _Body:
    """A streamed response's bytes as a binary reader (at most ``n`` bytes a read);
    closing it ends the response and its client."""

    def __init__(self, response: httpx.Response, client: httpx.Client) -> None:
        self._response = response
        self._client = client
        self._chunks = response.iter_raw()
        self._left = b""

    def read(self, n: int = -1, /) -> bytes:
        if not self._left:
            self._left = next(self._chunks, b"")
        if n < 0:
            n = len(self._left)
        data, self._left = self._left[:n], self._left[n:]
        return data

    def close(self) -> None:
        try:
            self._response.close()
        finally:
            self._client.close()


def open_external_blob(
    descriptor: Descriptor, *, cancel: CancelToken | None = None
) -> VerifyingReader:
    """The layer's bytes from the first of its ``urls`` that serves them (http or https);
    :class:`BlobNotFound` naming what each answered when none does."""
    import httpx

    from spyglass.core.proxies import environment_client

    problems: list[str] = []
    for url in descriptor.urls:
        check(cancel)
        scheme = url.partition("://")[0].lower()
        if scheme not in ("http", "https"):
            problems.append(f"{url} is not an http(s) URL")
            continue
        client = environment_client(follow_redirects=True, timeout=_TIMEOUT)
        try:
            response = client.send(client.build_request("GET", url), stream=True)
        except httpx.HTTPError as exc:
            client.close()
            problems.append(f"{url} could not be reached ({exc})")
            continue
        if response.status_code != 200:
            response.close()
            client.close()
            problems.append(f"{url} answered HTTP {response.status_code}")
            continue
        return VerifyingReader(_Body(response, client), descriptor.digest, descriptor.size,
                               what=f"The foreign layer {descriptor.digest} from {url}",
                               cancel=cancel)
    raise BlobNotFound(
        f"The foreign layer {descriptor.digest} is not in the source, and its urls did not "
        f"serve it: {'; '.join(problems) or 'it names none'}."
    )
