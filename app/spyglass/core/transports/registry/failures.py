"""How a request to a registry failed, read from what it raised: a connection taken
and left without an answer, a TLS handshake that failed on the server's certificate
(and whether a CA certificate of one's own would cure that), over a client
certificate or on an answer in plain HTTP, and a request that could not be written.

The sentences made of these are
:class:`~spyglass.core.transports.registry.endpoint.RegistryEndpoint`'s.
"""

from __future__ import annotations

import re
import ssl
from typing import Final

import httpx


def answered_nothing(exc: BaseException) -> bool:
    """A connection that was taken, then left without an answer: the response or the
    TLS handshake timed out (a connection never made, a dropped SYN, is not that)."""
    if isinstance(exc, httpx.ReadTimeout):
        return True
    return isinstance(exc, httpx.ConnectTimeout) and "handshake" in str(exc)


def answer_may_be_lost(exc: BaseException) -> bool:
    """A connection that broke after the request went out (all of it, or some): the
    registry may have done what it asked, and its answer was lost."""
    return isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError | httpx.ReadTimeout
                      | httpx.WriteError | httpx.WriteTimeout)


_PLAIN_HTTP_REPLIES: Final = ("wrong version number", "packet length too long")
"""OpenSSL's words for a handshake answered with something that is no TLS record: the
plain-HTTP ``400 Bad Request`` a web server sends to a TLS hello."""


def plain_http_answered(exc: BaseException) -> bool:
    """Whether a TLS handshake failed on an answer in plain HTTP (a server is there, and
    it speaks HTTP without TLS)."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen).lower()
        if any(reply in text for reply in _PLAIN_HTTP_REPLIES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def mentions(exc: BaseException, text: str) -> bool:
    """True when ``exc`` or an exception it was raised from says ``text``."""
    seen: BaseException | None = exc
    while seen is not None:
        if text in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_tls_failure(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception it was raised from, is a failed TLS handshake."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        text = str(seen)
        if "CERTIFICATE_VERIFY_FAILED" in text or ("SSL" in text and "certificate" in text):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def verify_failed(exc: BaseException) -> bool:
    """Whether the handshake failed on the certificate (not trusted, wrong name)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) \
                or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_CLIENT_CERTIFICATE_ALERTS: Final = ("alert bad certificate", "alert certificate required",
                                     "alert_bad_certificate", "alert_certificate_required")
"""OpenSSL's words for the server's alert that it wants a client certificate (TLS 1.3
says so; TLS 1.2 says "bad certificate" whether none came or one it does not take)."""


def client_certificate_refused(exc: BaseException) -> bool:
    """Whether the server ended the handshake for want of a client certificate (or one
    it does not accept), not over its own certificate."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen).lower()
        if any(alert in text for alert in _CLIENT_CERTIFICATE_ALERTS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_UNKNOWN_ISSUER: Final = frozenset({2, 18, 19, 20, 21})
"""OpenSSL's verify codes for a chain that ends at no trusted CA (unable to get the
issuer's certificate, self-signed, self-signed in the chain, no local issuer, cannot
verify the first certificate): what a CA certificate of its own cures (not an expired
certificate or a wrong host name)."""

_NOT_THE_ISSUER_TEXT: Final = ("expired", "not yet valid", "mismatch", "revoked")
"""OpenSSL's words for failures a CA certificate does not cure (when only the text is
left: an unknown issuer is then the likely cause)."""


def ca_would_help(exc: BaseException) -> bool:
    """Whether the handshake failed for want of the CA that issued the certificate."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 16:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for link in chain:  # OpenSSL's own code, where the chain still has it
        code = getattr(link, "verify_code", None)
        if isinstance(link, ssl.SSLCertVerificationError) and isinstance(code, int):
            return code in _UNKNOWN_ISSUER
    for link in chain:  # else its words (httpx passes them on as text)
        if "CERTIFICATE_VERIFY_FAILED" in str(link):
            return not any(text in str(link).lower() for text in _NOT_THE_ISSUER_TEXT)
    return False


_VERIFY_FAILED: Final = re.compile(
    r"certificate verify failed:\s*(.+?)[\s.]*(?:\(_ssl\.c:\d+\))?[\s.)]*$")


def verify_reason(reason: str) -> str:
    """What OpenSSL says of a certificate it refused (``self-signed certificate in
    certificate chain``), without its ``[SSL: CERTIFICATE_VERIFY_FAILED]`` and
    ``(_ssl.c:1006)`` trimmings; the reason as it is when it is not that."""
    found = _VERIFY_FAILED.search(reason)
    return found.group(1) if found else reason


def unsendable(exc: Exception) -> str:
    """Why a request could not be written, in words to follow a colon, never quoting the
    library's message (h11 quotes the header value it refused: a token, a password)."""
    if "header" in str(exc).lower():
        return ("a header would carry a character HTTP does not allow (a line break, or a "
                "space at either end, in a token or password given; it is not shown here)")
    return f"the HTTP library refused to write it ({type(exc).__name__})"
