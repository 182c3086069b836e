"""file: URLs read back as local paths."""

from __future__ import annotations

import os
import socket

import pytest

from spyglass.core.fileurl import file_url, local_path


@pytest.mark.parametrize(("url", "path"), [
    ("file:///srv/a%20b", "/srv/a b"),
    ("file://localhost/srv/x", "/srv/x"),
    ("file://127.0.0.1/srv/x", "/srv/x"),
    ("FILE:///srv/x/?query#fragment", "/srv/x"),
    ("file:/srv/x", "/srv/x"),
    ("file:///srv/my%20layout%20%C3%A9", "/srv/my layout é"),
    ("file:///", "/"),
])
def test_local_file_urls_name_their_paths(url: str, path: str) -> None:
    assert local_path(url) == path


def test_this_machines_name_is_local_and_another_is_not() -> None:
    assert local_path(f"file://{socket.gethostname()}/srv/x") == "/srv/x"
    assert local_path("file://fileserver.example/srv/x") is None
    assert local_path("http://localhost/srv/x") is None
    assert local_path("/srv/x") is None


def test_a_byte_that_is_not_utf8_is_read_back_as_that_byte() -> None:
    path = os.fsdecode(b"/srv/caf\xe9")
    assert file_url(path) == "file:///srv/caf%E9"
    assert local_path(file_url(path)) == path


def test_a_lookaside_url_is_read_whatever_its_host() -> None:
    assert local_path("file://sigs.example/srv/sigs/signature-1", any_host=True) == \
        "/srv/sigs/signature-1"
