"""``file:`` URLs, as file managers drop them and Spyglass's Copy Path writes them.

RFC 8089: ``file:///PATH`` (no host), ``file://localhost/PATH``, or the host of the
machine itself; ``file:/PATH`` too. The path is percent-encoded bytes: a name that is
not UTF-8 (``caf%E9``, Latin-1) is those bytes, as :func:`os.fsdecode` reads them from
the disk (lone surrogates, see :mod:`spyglass.core.text`). A URL naming another host,
a user or a port, or a relative path (``file:tmp/x``) is no local path.
"""

from __future__ import annotations

import os
import socket
import urllib.parse
from typing import Final

from spyglass.core.text import visible

_LOCAL_HOSTS: Final = frozenset({"", "localhost", "127.0.0.1", "::1"})


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


def not_local(url: str, *, any_host: bool = False) -> str | None:
    """Why ``url`` names no local path (:func:`local_path` gives None), as a sentence
    that names it; None when it names one. The host is compared by name (``LOCALHOST``,
    ``[::1]``): a user name or a port with it is said as such, not as another machine;
    with ``any_host``, the host, user and port are not looked at."""
    shown = visible(url)
    if not is_file_url(url):
        return f'"{shown}" is not a file: URL.'
    parts = urllib.parse.urlsplit(url)
    user, _at, host_port = parts.netloc.rpartition("@")
    port = host_port.rpartition("]")[2].partition(":")[2]  # (not an IPv6 address's colons)
    host = host_port.removesuffix(":" + port).strip("[]").lower()
    if not any_host:
        if not _this_host(host):
            return f'"{shown}" names a file of another machine ({visible(host)}): only ' \
                   "files of this one can be read."
        if _at:
            return f'"{shown}" names a user ({visible(user)}), which a file: URL of this ' \
                   "machine does not: write file:///PATH."
        if port:
            return f'"{shown}" names a port ({visible(port)}), which a file: URL does not: ' \
                   "write file:///PATH."
    if not parts.path.startswith("/"):
        return f'"{shown}" is not an absolute file: URL: write file:///PATH (three ' \
               "slashes, the path from the root), or the path alone."
    return None


def local_path(url: str, *, any_host: bool = False) -> str | None:
    """The local path a fully percent-encoded ``file:`` URL names (its query and fragment
    left out, a trailing slash kept off), or None when ``url`` is no ``file:`` URL or
    names no local path (another host, a user or a port, a relative path: see
    :func:`not_local` for the sentence); with ``any_host``, the host is not looked at
    (as containers/image reads a lookaside ``file:`` URL of registries.d)."""
    if not_local(url, any_host=any_host) is not None:
        return None
    path = os.fsdecode(urllib.parse.unquote_to_bytes(urllib.parse.urlsplit(url).path))
    return path.rstrip("/") or "/"


def file_url(path: str | os.PathLike[str]) -> str:
    """``file:///PATH`` for an absolute path, each byte that is not plain ASCII
    percent-encoded (``%E9``, ``%C3%A9``): what :func:`local_path` reads back."""
    return "file://" + urllib.parse.quote(os.fsencode(path))


__all__ = ["file_url", "is_file_url", "local_path", "not_local"]
