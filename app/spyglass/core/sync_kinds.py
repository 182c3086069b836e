"""What the command line's parser says of ``sync``: the kinds of source and destination,
and how many images are copied at once.

Kept apart from :mod:`spyglass.core.sync` and :mod:`spyglass.core.sync_run`: the parser
is built for every command (``--version`` too), and taking these from there imported
the whole copy planner with them (its events, attachments, signatures and referrers),
30-50 ms of every command's start.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

SourceKind = Literal["docker", "dir", "yaml"]
DestinationKind = Literal["docker", "dir"]
SOURCE_KINDS: Final[tuple[str, ...]] = get_args(SourceKind)
DESTINATION_KINDS: Final[tuple[str, ...]] = get_args(DestinationKind)

DEFAULT_PARALLEL_IMAGES: Final = 4
"""Images copied at once (into different repositories: see
:func:`~spyglass.core.sync_run.lane_of`). Each copy has round trips that move no bytes
(manifests read, blobs asked about, manifests written), and over a network those are
what a sync of many images waits for: benchmarks/bench_sync.py's 21 small images in 6
repositories, with 20 ms added to each request, took 7.2 s one image at a time, 4.1 s
two, 3.1 s four and 2.2 s eight (skopeo sync 12.0 s). On loopback, where nothing waits,
the count made no difference (0.79-0.86 s). Four takes most of the gain while a
registry sees at most four copies' transfers (each up to ``PER_HOST_LIMIT``) from one
sync."""

__all__ = ["DEFAULT_PARALLEL_IMAGES", "DESTINATION_KINDS", "SOURCE_KINDS", "DestinationKind",
           "SourceKind"]
