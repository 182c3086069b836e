"""``file:`` URLs, as file managers drop them and Spyglass's Copy Path writes them.

RFC 8089: ``file:///PATH`` (no host), ``file://localhost/PATH``, or the host of the
machine itself; ``file:/PATH`` too. The path is percent-encoded bytes: a name that is
not UTF-8 (``caf%E9``, Latin-1) is those bytes, as :func:`os.fsdecode` reads them from
the disk (lone surrogates, see :mod:`spyglass.core.text`). A URL naming another host
is no local path.
"""

from __future__ import annotations

import os
import socket
import urllib.parse
from typing import Final

_LOCAL_HOSTS: Final = frozenset({"", "localhost", "127.0.0.1", "[::1]"})


def _this_host(host: str) -> bool:
    if host in _LOCAL_HOSTS:
        return True
    try:
        own = socket.gethostname().lower()
    except OSError:
        return False
    return bool(own) and host in (own, own.split(".")[0])


def is_file_url(text: str) -> bool:
    """Whether ``text`` is written as a ``file:`` URL (of any host)."""
    return text[:5].lower() == "file:"


def local_path(url: str, *, any_host: bool = False) -> str | None:
    """The local path a fully percent-encoded ``file:`` URL names (its query and fragment
    left out, a trailing slash kept off), or None when ``url`` is no ``file:`` URL or
    names another host; with ``any_host``, the host is not looked at (as containers/image
    reads a lookaside ``file:`` URL of registries.d)."""
    if not is_file_url(url):
        return None
    parts = urllib.parse.urlsplit(url)
    if not (any_host or _this_host(parts.netloc.lower())) or not parts.path.startswith("/"):
        return None
    path = os.fsdecode(urllib.parse.unquote_to_bytes(parts.path))
    return path.rstrip("/") or "/"


def file_url(path: str | os.PathLike[str]) -> str:
    """``file:///PATH`` for an absolute path, each byte that is not plain ASCII
    percent-encoded (``%E9``, ``%C3%A9``): what :func:`local_path` reads back."""
    return "file://" + urllib.parse.quote(os.fsencode(path))


__all__ = ["file_url", "is_file_url", "local_path"]
