"""Keeping the connection of a body read straight from its socket.

:class:`~spyglass.core.transports.registry.connections.ResponseStream` reads a
blob's body past httpx and httpcore, straight from the socket. httpcore keeps a
connection for the next request only when h11, its HTTP/1.1 parser, has seen
the end of the body (``HTTP11Connection._response_closed``: both sides
``DONE``); the bytes read past it leave h11 waiting for them, so the connection
was closed with the response and every big blob cost a new one (over TLS, a new
handshake).

:meth:`DirectBody.find` takes h11's reader of the body as the direct reads
start, and :meth:`DirectBody.ended`, once exactly the rest of the body has come
off the socket, tells the reader that it arrived: h11's ``next_event()`` then
gives the end of the message without reading, and closing the response puts the
connection back in the pool as a body read through httpx does.

Neither httpcore nor h11 has a way to say that bytes were consumed elsewhere
(h11 sees only what ``receive_data`` is given; copying every byte through it is
what the direct reads save), so this reaches into private attributes, as httpx
0.29.0, httpcore 1.0.9 and h11 0.16.0 have them. Each type and attribute on the
way is checked to be exactly that, and the end of the message must come out of
h11 as it does for a body h11 read itself. Anything else (another version's
layers, an HTTP/2 stream, a reader not counting down exactly the bytes left, a
byte more waiting on the socket) leaves the connection to be closed with the
response, as before: never kept when in doubt.

What this does not decide: whether the body ended whole, or a cancel came. The
caller calls :meth:`DirectBody.ended` only after every byte was read without an
error, and only when a cancel can no longer shut the connection down (see
``ResponseStream._body_ended``): a connection that was shut down must never go
back to the pool.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any, Final

import h11
import httpx

from spyglass.core.transports.registry.abortable import _Releasing

log = logging.getLogger(__name__)

try:  # the layers between an httpx response and its h11 parser (private, checked)
    from h11._readers import ContentLengthReader
    from httpcore._sync.connection_pool import PoolByteStream
    from httpcore._sync.http11 import (
        HTTP11Connection,
        HTTP11ConnectionByteStream,
        HTTPConnectionState,
    )
    from httpx._client import BoundSyncStream
    from httpx._transports.default import ResponseStream as _HTTPXStream

    _LAYERS_FOUND: Final = True
except ImportError:  # pragma: no cover - another httpx, httpcore or h11: never kept
    _LAYERS_FOUND = False  # type: ignore[misc]


class DirectBody:
    """h11's reader of a body whose rest is read straight from the socket; see the
    module's docstring. Made by :meth:`find`; used by one thread, the body's reader."""

    __slots__ = ("_left", "_network", "_parser", "_reader")

    def __init__(self, parser: h11.Connection, reader: ContentLengthReader, left: int,
                 network: Any) -> None:
        self._parser = parser
        self._reader = reader
        self._left = left
        self._network = network

    @classmethod
    def find(cls, response: httpx.Response, left: int) -> DirectBody | None:
        """The reader of ``response``'s body, when exactly ``left`` bytes of it are still
        to come and h11 holds none of them (so the socket is where they are); None when
        anything on the way is not as expected (the connection is then closed with the
        response)."""
        if not _LAYERS_FOUND or left <= 0:
            return None
        try:
            return cls._find(response, left)
        except AttributeError:  # a layer of the expected type, made otherwise
            return None

    @classmethod
    def _find(cls, response: httpx.Response, left: int) -> DirectBody | None:
        stream: object = response.stream
        if type(stream) is not BoundSyncStream:
            return None
        stream = stream._stream
        if type(stream) is _Releasing:  # (absent where the pool is not tracked)
            stream = stream._inner
        if type(stream) is not _HTTPXStream:
            return None
        pooled = stream._httpcore_stream
        if type(pooled) is not PoolByteStream:
            return None
        body = pooled._stream
        if type(body) is not HTTP11ConnectionByteStream or body._closed:
            return None
        connection = body._connection
        if (type(connection) is not HTTP11Connection
                or connection._state is not HTTPConnectionState.ACTIVE
                or connection._network_stream is not response.extensions.get("network_stream")):
            return None
        parser = connection._h11_state
        if type(parser) is not h11.Connection:
            return None
        reader = _counting_down(parser, left)
        if reader is None:
            return None
        return cls(parser, reader, left, connection._network_stream)

    def ended(self) -> bool:
        """Tell h11 that the ``left`` bytes :meth:`find` was given have come (call it
        once, after they all have, from the socket, and nothing else did): True when
        h11 has seen the end of the message, so that closing the response keeps the
        connection; False when anything is amiss (the response then closes it)."""
        parser, left = self._parser, self._left
        reader = _counting_down(parser, left)
        if reader is not self._reader or reader is None:
            return False
        if self._more_waiting():
            return False  # a server that sent more than it promised: not to be reused
        reader._remaining -= left  # what recv_into read, as if h11 had read it
        try:
            event = parser.next_event()  # no read: the reader has nothing left to wait for
        except Exception:  # h11 is then in its ERROR state: httpcore closes the connection
            log.debug("h11 refused the end of a body read from its socket", exc_info=True)
            return False
        return type(event) is h11.EndOfMessage and parser.their_state is h11.DONE

    def _more_waiting(self) -> bool:
        """Whether anything past the body has arrived (or the server closed): TLS
        records already decrypted, or bytes (an end of file) on the socket."""
        try:
            sock = self._network.get_extra_info("socket")
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                return True
            return bool(self._network.get_extra_info("is_readable"))
        except (OSError, ValueError):
            return True


def _counting_down(parser: h11.Connection, left: int) -> ContentLengthReader | None:
    """The reader of the response body ``parser`` is in the middle of, when it is one of
    known length with exactly ``left`` bytes of it to come and none of them in the
    parser's buffer; otherwise None."""
    reader = parser._reader
    if (
        parser.their_state is h11.SEND_BODY
        and type(reader) is ContentLengthReader
        and type(reader._remaining) is int
        and reader._remaining == left
        and len(parser._receive_buffer) == 0
        and not parser._receive_buffer_closed
    ):
        return reader
    return None
