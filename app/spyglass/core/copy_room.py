"""Room on the destination's disk, looked at before a copy writes its first byte.

A copy into a layout, a ``dir:`` folder or an archive that does not fit fails only
once its disk is full, after moving nearly all of its bytes (downloaded for nothing
from a registry), and takes them all back. :func:`check_room` compares what the copy
will write there (:meth:`~spyglass.core.transports.base.LocalDestination.room_needed`:
the blobs the destination does not hold yet, and its own files) with the room the
filesystem gives this user (``statvfs``: ``f_bavail * f_frsize``), and refuses a copy
that cannot fit before it starts.

Only what is sure is held against the copy: blobs copied as they are, whose sizes
the plan knows, and layers it decompresses (a ``docker-archive:``'s), counted at
:data:`DECOMPRESSED_AT_LEAST` of their compressed size (gzip and zstd never shrink
data by more than their headers and block marks: what they hold is at least nearly as
big). A layer the copy compresses or recompresses has a size nobody knows before it is
made (a plain tar gzipped may shrink tenfold): it is counted at its source's size, and
a copy that fits only without those is not refused, but gets a note that it may not
fit. Where the room cannot be read (no ``statvfs``), nothing is said. skopeo looks at
nothing: its copy fails once the disk is full.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from spyglass.core.copy_plan import CopyPlan
from spyglass.core.errors import NoRoom
from spyglass.core.transports.archive_room import free_bytes
from spyglass.core.transports.base import ImageDestination, LocalDestination, Room
from spyglass.core.transports.big_files import other_folder_advice, restart_advice
from spyglass.core.units import human_size

DECOMPRESSED_AT_LEAST: Final = 99
"""What a decompressed layer takes at least, in percent of its compressed size: deflate
and zstd store what they cannot shrink with a few bytes of framing per block (deflate's
worst case grows data by about 0.03 %)."""

WITH_ROOM: Final = "with more room"
"""The folder for big temporary files to choose instead of one too small."""


def check_room(plan: CopyPlan, destination: ImageDestination) -> CopyPlan:
    """``plan``, once its destination's disk is found to have room for it: raise
    :class:`NoRoom` where it has less than the copy surely writes; return the plan with
    a note where it has less than the copy may write (recompressed layers counted at
    their source's size). A destination that is not on this machine's disks is not
    looked at."""
    if not isinstance(destination, LocalDestination):
        return plan
    sure = [task.source for task in plan.blobs if task.recompress is None]
    sure += plan.attachment_blobs
    unpacked = [task.source for task in plan.blobs if task.change == "decompressed"]
    guessed = [task.source for task in plan.blobs if task.change in ("compressed",
                                                                     "recompressed")]
    room = destination.room_needed([*sure, *(replace(
        blob, size=blob.size * DECOMPRESSED_AT_LEAST // 100) for blob in unpacked)])
    free = free_bytes(room.folder)
    if free is None:
        return plan
    if room.needed > free:
        raise _no_room(destination, room, free)
    if not guessed and not unpacked:
        return plan
    estimate = destination.room_needed([*sure, *unpacked, *guessed]).needed
    if estimate <= free:
        return plan
    where = (room.what[:1].upper() + room.what[1:] if room.what
             else f'"{destination.description}"')
    shown = "" if room.what else f' ("{room.folder}")'
    note = (f"{where} may not have room for this copy: it needs about "
            f"{human_size(estimate)} on that disk, counting each layer it decompresses or "
            f"recompresses at its size before, and that disk has {human_size(free)} "
            f"free{shown}")
    return replace(plan, notes=(*plan.notes, note))


def _no_room(destination: ImageDestination, room: Room, free: int) -> NoRoom:
    """The refusal of a copy ``room`` does not fit in: another disk is the advice for the
    destination's own, another folder for big temporary files for that folder's."""
    needs = f"it needs about {human_size(room.needed)} on that disk, which has {human_size(free)}"
    if not room.what:
        return NoRoom(
            f'There is no room for this copy in "{destination.description}": {needs} free '
            f'("{room.folder}"); nothing was written. Free some space there, or copy to '
            "another disk.")
    said = (f"There is no room for this copy in {room.what}: {needs} free; nothing was "
            "written. Free some space there, or ")
    return NoRoom(f"{said}{restart_advice(WITH_ROOM)}.",
                  on_command_line=f"{said}{other_folder_advice(WITH_ROOM)}.")
