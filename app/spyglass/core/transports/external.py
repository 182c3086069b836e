"""A foreign layer's bytes from where its ``urls`` point.

A layer with ``urls`` (Windows base layers, non-distributable layers) need not
be in the registry or layout that names it. A destination that can refer to the
URLs (a registry, an OCI layout or archive) never needs the bytes; one that cannot
(``dir:``, ``docker-archive:``) gets them from the source, or, when the source lacks
them, from the first URL that serves them, as containers/image's ``getExternalBlob`` does. No
credentials are sent there: they are the registry's, not the URL's host's. The
bytes are verified against the layer's digest and size like every blob.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Final

from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import VerifyingReader
from spyglass.core.errors import (
    BlobNotFound,
    ConnectionFailed,
    describe_connection_error,
    url_refusal,
)
from spyglass.core.manifest import Descriptor
from spyglass.core.text import quoted_value

if TYPE_CHECKING:
    import httpx

    from spyglass.core.transports.base import ImageSource

_TIMEOUT: Final = 60.0


class _Body:
    """A streamed response's bytes as a binary reader (at most ``n`` bytes a read);
    closing it ends the response and its client. Cancelling ``cancel`` shuts the
    connection down, so a read the server stalls ends at once (:class:`Cancelled`);
    a connection that breaks is a :class:`ConnectionFailed` (retried like any blob), as
    is one that drips the layer out (the budget of a registry's blobs:
    :func:`~spyglass.core.transports.registry.abortable.body_budget`)."""

    def __init__(self, response: httpx.Response, client: httpx.Client, what: str,
                 cancel: CancelToken | None) -> None:
        self._response = response
        self._client = client
        self._what = what
        self._cancel = cancel
        self._chunks = response.iter_raw()
        self._left = b""
        self._abort_key = cancel.add_abort(self._abort) if cancel is not None else None
        from spyglass.core.transports.registry.abortable import body_budget

        self._budget = body_budget(blob=True)  # a server that drips it out is given up

    def read(self, n: int = -1, /) -> bytes:
        import httpx

        from spyglass.core.transports.registry.abortable import raise_if_cancelled

        if not self._left:
            check(self._cancel)
            started = time.monotonic()
            try:
                self._left = next(self._chunks, b"")
            except httpx.RequestError as exc:
                raise_if_cancelled(self._cancel, exc)
                raise ConnectionFailed(
                    f"{self._what} broke off: {describe_connection_error(exc)}.") from exc
            budget = self._budget
            budget.count(time.monotonic() - started, len(self._left))
            if self._left and budget.spent:
                raise ConnectionFailed(
                    f"{self._what} broke off: the server sent it too slowly "
                    f"{budget.too_slow()}.")
        if n < 0:
            n = len(self._left)
        data, self._left = self._left[:n], self._left[n:]
        return data

    def _abort(self) -> None:
        """Shut the connection down (from the cancelling thread): a blocked read wakes."""
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except OSError:
                pass  # closed already

    def close(self) -> None:
        if self._cancel is not None:
            self._cancel.remove_abort(self._abort_key)
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
    from spyglass.core.transports.registry.abortable import (
        abortable,
        raise_if_cancelled,
        track_connections,
    )

    problems: list[str] = []
    for url in descriptor.urls:
        check(cancel)
        shown = quoted_value(url)  # the manifest's words: escapes shown, a long one cut
        scheme = url.partition("://")[0].lower()
        if scheme not in ("http", "https"):
            problems.append(f"{shown} is not an http(s) URL")
            continue
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:  # control characters, a bad port, too long
            problems.append(f"{shown} is not a valid URL ({url_refusal(exc)})")
            continue
        client = environment_client(follow_redirects=True, timeout=_TIMEOUT,
                                    track=track_connections)
        try:
            with abortable(cancel):  # a cancel ends a connect or an answer that stalls
                response = client.send(client.build_request("GET", target), stream=True)
        except httpx.RequestError as exc:
            client.close()
            raise_if_cancelled(cancel, exc)
            problems.append(f"{shown} could not be reached ({describe_connection_error(exc)})")
            continue
        if response.status_code != 200:
            response.close()
            client.close()
            problems.append(f"{shown} answered HTTP {response.status_code}")
            continue
        what = f"The foreign layer {descriptor.digest} from {shown}"
        return VerifyingReader(_Body(response, client, what, cancel), descriptor.digest,
                               descriptor.size, what=what, cancel=cancel)
    raise BlobNotFound(
        f"The foreign layer {descriptor.digest} is not in the source, and its urls did not "
        f"serve it: {'; '.join(problems) or 'it names none'}."
    )


def open_layer_blob(
    source: ImageSource, descriptor: Descriptor, *, cancel: CancelToken | None = None
) -> VerifyingReader:
    """The layer's bytes from ``source``, or, for a foreign layer ``source`` does not hold
    (its ``urls`` say where it is kept), from where they point (:func:`open_external_blob`):
    to read what the layer holds, as a copy to a destination that needs the bytes gets
    them. :class:`BlobNotFound` when neither has it."""
    try:
        return source.open_blob(descriptor, cancel=cancel)
    except BlobNotFound:
        if not descriptor.urls:
            raise
    return open_external_blob(descriptor, cancel=cancel)
