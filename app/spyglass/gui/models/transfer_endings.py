"""What became of a copy that stopped before it was done, and what quitting does to
the copies not finished: the words of the Transfers row, its tooltip, the Details and
the question before quitting (a layout, archive or ``dir:`` takes back what was
written, unless another copy was at work in the layout: then the blobs stay for the
last copy to leave it; a registry keeps the blobs sent whole, and may have written the
tag of a copy stopped while writing its tag)."""

from __future__ import annotations

from typing import Final

from spyglass.core.errors import SpyglassError
from spyglass.core.reference import DockerName, parse_image_name
from spyglass.core.transports.base import LeftBehind
from spyglass.gui.copy_progress import WRITTEN_ANEW
from spyglass.gui.formatting import counted, human_size
from spyglass.gui.transfers import Transfer, TransferState


def to_registry(transfer: Transfer) -> bool:
    """A copy into a registry."""
    try:
        return isinstance(parse_image_name(transfer.request.destination), DockerName)
    except SpyglassError:
        return False


def written_bytes(transfer: Transfer) -> int:
    """What the copy itself had written (blobs already there, or mounted, not counted)."""
    return sum(blob.done for blob in transfer.snapshot.blobs
               if blob.outcome not in ("skipped", "mounted", "unneeded"))


def kept_bytes(transfer: Transfer) -> tuple[int, int]:
    """Of a copy into a registry that stopped: the bytes and the number of the blobs it
    had sent whole, which the registry keeps (what it had of a blob cut off, it drops
    where it took the cancel of the upload: see :func:`cut_off_clause`)."""
    whole = [blob for blob in transfer.snapshot.blobs if blob.outcome in WRITTEN_ANEW]
    return sum(blob.size for blob in whole), len(whole)


CUT_OFF_DROPPED: Final = "it drops what it had received of the blobs cut off"
CUT_OFF_KEPT: Final = ("it may keep what it had received of the blobs cut off until it "
                       "purges unfinished uploads")


def cut_off_clause(transfer: Transfer) -> str:
    """What a registry did with what it had received of the blobs cut off: dropped, where
    it took the cancel of each upload; else it may keep that (distribution answers the
    cancel of an upload broken off with 404, and keeps its data until it purges
    unfinished uploads, a week later by default)."""
    cut = [blob for blob in transfer.snapshot.blobs if blob.outcome == "interrupted" and blob.done]
    return CUT_OFF_DROPPED if cut and all(blob.dropped for blob in cut) else CUT_OFF_KEPT


def reused_bytes(transfer: Transfer) -> int:
    """What a copy did not have to write: blobs already there, or mounted."""
    return sum(blob.size for blob in transfer.snapshot.blobs
               if blob.outcome in ("skipped", "mounted", "unneeded"))


def stopped(transfer: Transfer) -> bool:
    """A copy that ended without being done: failed or cancelled."""
    return transfer.state in (TransferState.FAILED, TransferState.CANCELLED)


def tag_may_be_written(transfer: Transfer) -> bool:
    """A copy into a registry writing its tag, or stopped while it was
    (:attr:`~spyglass.gui.copy_progress.Snapshot.tag_in_doubt`): the registry may have
    stored the image and set the tag before the copy stopped; its answer is what had not
    come."""
    return to_registry(transfer) and transfer.snapshot.tag_in_doubt


def left_behind(transfer: Transfer) -> LeftBehind | None:
    """Of a copy that stopped: the blobs its layout could not take back (another copy was
    at work there), or None."""
    return transfer.snapshot.left if stopped(transfer) else None


def ending_text(transfer: Transfer) -> str:
    """What became of the bytes of a copy that failed or was cancelled, in two words: a
    layout, archive or ``dir:`` takes back what was written (but for the blobs
    :func:`left_behind`); a registry keeps the blobs sent whole, but no tag names the
    image (unless the copy stopped while writing its tag: :func:`tag_may_be_written`)."""
    if tag_may_be_written(transfer):
        return "may be written"
    if (left := left_behind(transfer)) is not None:
        return f"{counted(len(left.blobs), 'blob')} left"
    if not written_bytes(transfer):
        return "nothing written"
    return "not written" if to_registry(transfer) else "taken back"


def left_sentence(left: LeftBehind) -> str:
    """What stays of a stopped copy in its layout, and what becomes of it."""
    them = "it" if len(left.blobs) == 1 else "them"
    stays = (f"{counted(len(left.blobs), 'blob')} ({human_size(left.size)}) "
             f"{'was' if len(left.blobs) == 1 else 'were'} left in the layout, unnamed, "
             f"because {left.why[:1].lower()}{left.why[1:]}")
    if left.later:
        return f"{stays}; the last copy to leave the layout takes {them} back (unless an " \
               f"image there names {them} by then)."
    return f"{stays}; nothing takes {them} back (umoci gc removes the blobs no image " \
           "there names)."


def ending_sentence(transfer: Transfer) -> str:
    """:func:`ending_text` as a sentence, for the tooltip and the Details."""
    snap = transfer.snapshot
    how = "failed" if transfer.state is TransferState.FAILED else "was cancelled"
    written = written_bytes(transfer)
    if tag_may_be_written(transfer):
        return f"The copy {how} while the image's tag was being written: {MAY_WRITE}, " \
               "so look at the tag to be sure. The blobs sent stay in the registry."
    if (left := left_behind(transfer)) is not None:
        said = f"The copy {how}" if not written else \
            f"{human_size(written)} of {human_size(snap.total)} had been copied when the " \
            f"copy {how}"
        return f"{said}. {left_sentence(left)}"
    if not written:
        return f"The copy {how} before any blob was written: the destination is as it was."
    if to_registry(transfer):
        kept, blobs = kept_bytes(transfer)
        image = "the image was not written (the tag is as it was)"
        cut_off = cut_off_clause(transfer)
        if not kept:
            return f"The copy {how} before any blob was sent whole: {image}, and the " \
                   f"registry{cut_off.removeprefix('it')}."
        cut = f" {cut_off[:1].upper()}{cut_off[1:]}." if written > kept else ""
        return f"{counted(blobs, 'blob')} ({human_size(kept)} of {human_size(snap.total)}) " \
               f"had been sent whole when the copy {how}; {image}. The registry keeps " \
               f"{'it' if blobs == 1 else 'them'}, unused, so copying again need not send " \
               f"{'it' if blobs == 1 else 'them'} again.{cut}"
    said = f"{human_size(written)} of {human_size(snap.total)} had been copied when " \
           f"the copy {how}"
    return f"{said}, and all of it was taken back: the destination is as it was."


MAY_WRITE: Final = ("the registry may have written the image, and its tag, all the same "
                    "(it may have stored the manifest before its answer came)")
"""What a copy into a registry stopped while writing its tag says of the tag."""


def quit_sentence(unfinished: list[Transfer]) -> str:
    """What quitting does to the copies not finished, for each kind of destination among
    them: a layout, archive or ``dir:`` takes back what was written; a registry keeps the
    blobs sent whole, and may keep part of one cut off (as :func:`ending_sentence` and
    :data:`CUT_OFF_KEPT` say once a push is cancelled)."""
    count = len(unfinished)
    what = "1 copy is" if count == 1 else f"{count} copies are"
    pushes = sum(to_registry(transfer) for transfer in unfinished)
    kept = ("keeps the blobs already sent whole, unused, and may keep what it had received "
            "of one cut off until it purges unfinished uploads")
    writing = sum(tag_may_be_written(transfer) for transfer in unfinished)
    if writing == 1 == count:
        return f"{what} not finished: the image's tag is being written. Quitting " \
               "stops it, but the registry may write the image, and its tag, all the same."
    if writing:
        which = "1 of them is writing its image's tag, which the registry" if writing == 1 \
            else f"{writing} of them are writing their images' tags, which the registries"
        layouts = "; what was written into a layout, archive or folder is taken back" \
            if pushes < count else ""
        return f"{what} not finished. Quitting stops them, but {which} may write all the " \
               f"same. Other tags are as they were, and each registry {kept}{layouts}."
    if not pushes:
        them = "it" if count == 1 else "them"
        return f"{what} not finished. Quitting stops {them}, and what was written so far " \
               "is taken back."
    if pushes == 1 == count:
        return f"{what} not finished. Quitting stops it: the image is not written (the " \
               f"tag is as it was), but the registry {kept}."
    if pushes == count:
        return f"{what} not finished. Quitting stops them: no image is written (each tag " \
               f"is as it was), but each registry {kept}."
    return f"{what} not finished. Quitting stops them. What was written into a layout, " \
           "archive or folder so far is taken back; a registry written to is left with " \
           f"its tag as it was, but {kept}."


__all__ = ["CUT_OFF_DROPPED", "CUT_OFF_KEPT", "MAY_WRITE", "cut_off_clause", "ending_sentence",
           "ending_text", "kept_bytes", "left_behind", "left_sentence", "quit_sentence",
           "reused_bytes", "stopped", "tag_may_be_written", "to_registry", "written_bytes"]
