"""The process's own limits: what Spyglass raises for itself before it works."""

from __future__ import annotations

from typing import Final

MOST_OPEN_FILES: Final = 1 << 20
"""The open-file limit Spyglass raises itself to at most (a hard limit of "unlimited"
is not taken literally: some kernels refuse a soft limit that high)."""


def raise_open_file_limit() -> None:
    """Raise the soft limit on open files to the hard one, as Go programs (skopeo) do at
    start: a shell's soft limit (often 1024, sometimes far less) is a default, not a
    choice, and parallel transfers hold a connection and a file each. Silently keeps
    the limit where the system refuses."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = MOST_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard,
                                                                             MOST_OPEN_FILES)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (OSError, ValueError):
        pass
