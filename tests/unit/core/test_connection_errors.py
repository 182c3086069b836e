"""Why a connection failed, in words to follow a colon: the codes and source lines of
OSError and OpenSSL's texts are left out."""

from __future__ import annotations

import pytest

from spyglass.core.errors import describe_connection_error


@pytest.mark.parametrize(("text", "said"), [
    ("[Errno 111] Connection refused", "connection refused"),
    ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
     "wrong version number"),
    ("[X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found (_ssl.c:4149)",
     "no certificate or crl found"),
    ("_ssl.c:989: The handshake operation timed out", "the handshake operation timed out"),
    ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate "
     "(_ssl.c:1006)", "certificate verify failed: self-signed certificate"),
])
def test_codes_and_source_lines_are_left_out(text: str, said: str) -> None:
    assert describe_connection_error(OSError(text)) == said


def test_a_body_cut_short_is_said_in_our_words() -> None:
    """h11's words leaked ("… broke off: peer closed connection without sending complete
    message body (received 0 bytes, expected 28)"), where a body cut mid-way read
    straight off the socket says how much was missing."""
    import httpx

    cut = httpx.RemoteProtocolError("peer closed connection without sending complete "
                                    "message body (received 12 bytes, expected 28)")
    assert describe_connection_error(cut) == (
        "the connection was closed before the whole answer came (16 B short)")


def test_an_error_of_ours_being_handled_is_not_taken_for_the_reason() -> None:
    """A resume's refused connection, raised while the broken read was handled, said the
    broken read again as its own reason."""
    from spyglass.core.errors import ConnectionFailed

    try:
        try:
            raise ConnectionFailed("Reading the blob broke off: connection reset by peer.")
        except ConnectionFailed:
            raise ConnectionRefusedError("[Errno 111] Connection refused")  # noqa: B904
    except ConnectionRefusedError as refused:
        assert describe_connection_error(refused) == "connection refused"
