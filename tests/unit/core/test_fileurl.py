"""file: URLs read back as local paths."""

from __future__ import annotations

import os
import socket

import pytest

from spyglass.core.fileurl import file_url, local_path, not_local


@pytest.mark.parametrize(("url", "path"), [
    ("file:///srv/a%20b", "/srv/a b"),
    ("file://localhost/srv/x", "/srv/x"),
    ("file://127.0.0.1/srv/x", "/srv/x"),
    ("FILE:///srv/x/?query#fragment", "/srv/x"),
    ("file:/srv/x", "/srv/x"),
    ("file:///srv/my%20layout%20%C3%A9", "/srv/my layout é"),
    ("file:///", "/"),
    ("file://LOCALHOST/srv/x", "/srv/x"),
    ("file://[::1]/srv/x", "/srv/x"),
    ("file://localhost:/srv/x", "/srv/x"),  # (an empty port is none)
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


@pytest.mark.parametrize(("url", "sentence"), [
    ("file:srv/rel", '"file:srv/rel" is not an absolute file: URL: write file:///PATH '
     "(three slashes, the path from the root), or the path alone."),
    ("file://", '"file://" is not an absolute file: URL'),
    ("file://localhost:8080/srv/x", '"file://localhost:8080/srv/x" names a port (8080), '
     "which a file: URL does not: write file:///PATH."),
    ("file://[::1]:80/srv/x", '"file://[::1]:80/srv/x" names a port (80)'),
    ("file://me@localhost/srv/x", '"file://me@localhost/srv/x" names a user (me), which a '
     "file: URL of this machine does not: write file:///PATH."),
    ("file://me@fileserver.example:22/srv/x", '"file://me@fileserver.example:22/srv/x" '
     "names a file of another machine (fileserver.example): only files of this one can "
     "be read."),
    ("http://localhost/srv/x", '"http://localhost/srv/x" is not a file: URL.'),
])
def test_why_a_file_url_names_no_local_path_is_said(url: str, sentence: str) -> None:
    """A relative path, a user or a port were all said to be another machine's."""
    assert local_path(url) is None
    said = not_local(url)
    assert said is not None and said.startswith(sentence)


def test_a_lookaside_url_is_not_refused_for_its_user_or_port() -> None:
    assert local_path("file://me@sigs.example:8080/srv/sigs", any_host=True) == "/srv/sigs"
    assert not_local("file:///srv/x") is None
