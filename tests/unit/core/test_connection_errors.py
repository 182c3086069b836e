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
