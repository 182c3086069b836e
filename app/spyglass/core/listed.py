"""Names listed in a sentence, bounded: the first few, then how many more.

A sentence that names what a place holds (the refs of a layout, the tags of an archive)
is read by a person, and a place may hold hundreds of thousands: an ``index.json`` of
30,000 refs made an error line of 229 KB. The registry's sentence of a tag not found
names :data:`NAMES_SHOWN` of its repository's tags; every such list names as many.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

NAMES_SHOWN: Final = 10
"""The most names a sentence lists before it counts the rest."""


def some_names(names: Sequence[str], *, joined_by: str = ", ", more_of: str = "") -> str:
    """``a, b and 3 more``: the first :data:`NAMES_SHOWN` of ``names``, joined, then how
    many more; ``more_of`` names what those are (``image``: ``and 3 more images``)."""
    rest = len(names) - NAMES_SHOWN
    if rest <= 0:
        return joined_by.join(names)
    noun = f" {more_of}{'s' if rest != 1 else ''}" if more_of else ""
    return f"{joined_by.join(names[:NAMES_SHOWN])} and {rest:,} more{noun}"
