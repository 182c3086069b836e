"""A copy whose archive goes where stderr goes (``docker-archive:/dev/stderr 2>app.tar``,
``/dev/fd/2``, a link to them, ``/dev/stdout`` with ``2>&1``) says nothing while it runs.

Everything the command line tells goes to stderr (stdout is for results), and a line
there would be a line in the archive: the copy's last line, written at stderr's own
offset, overwrote the first header of the tar appended after the progress, and the
copy ended well with an archive ``tar`` cannot read. skopeo's archive stays clean
because its progress goes to stdout. So such a copy is quiet (as ``-q``) and even its
notes and warnings go nowhere; an error is still said, once the copy is over.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from spyglass.core.reference import DockerArchiveName, ImageName, OCIArchiveName


def leads_where_stderr_does(destination: ImageName) -> bool:
    """Whether ``destination`` is an archive written where this process's stderr goes
    (the same file, pipe or terminal)."""
    if not isinstance(destination, (DockerArchiveName, OCIArchiveName)):
        return False
    try:
        return os.path.samestat(os.stat(destination.path), os.fstat(2))
    except OSError:
        return False  # no such file yet, or no stderr


@contextmanager
def nothing_said() -> Iterator[None]:
    """For the block, what would be said on stderr (notes, warnings, progress) goes
    nowhere; an error raised out of it is said after, on stderr again."""
    saved = sys.stderr
    with open(os.devnull, "w", encoding="utf-8") as nowhere:
        sys.stderr = nowhere
        try:
            yield
        finally:
            sys.stderr = saved
