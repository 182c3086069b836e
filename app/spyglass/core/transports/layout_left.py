"""The blobs stopped copies left in an OCI image layout, for the last copy at work there
to take back: a small journal (:data:`LEFT_FILE`) beside ``index.json.lock``, read and
written only under that lock.

A copy stopped while another Spyglass copy (or a skopeo copy) is at work in the same
layout cannot take back the blobs it added: the other may have found them there and rely
on them. It records them here instead (and, when it made the layout, or folders for it,
that it did); the copy that leaves the layout last, with no other at work there, removes
those that no entry of ``index.json`` leads to then, and the layout too when the journal
says a stopped copy made it and nothing is left in it (see
:class:`~spyglass.core.transports.layout_write.OCILayoutDestination`).

That a stopped copy made the layout is believed only of the layout it made: the journal
records the identity of its ``oci-layout`` file (:func:`layout_identity`), and a layout
made again since (``umoci init`` after a removal) is not that one. A copy that commits an
image into the layout, or opens it while its ``index.json`` names one, takes that claim
back (:func:`disown_left`): a layout that held images is not removed as new.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidDigest, SpyglassError
from spyglass.core.transports.file_write import replace_file
from spyglass.core.transports.files import open_regular, read_at_most
from spyglass.core.transports.layout_files import LAYOUT_FILE
from spyglass.core.transports.temporaries import TempFiles

LEFT_FILE: Final = "index.json.left"
"""The journal of the blobs stopped Spyglass copies left in the layout, unnamed."""

_MAX_LEFT_SIZE: Final = 16 * 1024 * 1024
"""The largest journal read (some 200,000 digests); a larger one is taken for broken."""


@dataclass(frozen=True)
class LeftJournal:
    """What the journal of a layout records."""

    blobs: frozenset[Digest]
    """The blobs stopped copies added and left there."""
    made_layout: bool = False
    """A stopped copy made the layout (it was a new or empty folder)."""
    folders: int = 0
    """The most folders a stopped copy made for the layout (the layout's own and those
    above it): two copies into a new folder may each make part of it, one the folder,
    the other the layout's files."""


def layout_identity(layout: Path) -> str | None:
    """What tells the layout a journal was written in from one made again in its place:
    its ``oci-layout`` file's inode and change time; None when there is none."""
    try:
        st = os.lstat(layout / LAYOUT_FILE)
    except OSError:
        return None
    return f"{st.st_ino}:{st.st_ctime_ns}"


def read_left(layout: Path) -> LeftJournal | None:
    """The journal of ``layout``, None when there is none (the caller holds the index
    lock). One that cannot be read whole (or is no regular file) records nothing: its
    blobs stay, unnamed. That a stopped copy made the layout, and folders for it, counts
    only while the layout is the one it recorded (:func:`layout_identity`)."""
    try:
        # (a FIFO there must not hang a copy that holds the index lock: it is unreadable)
        with open_regular(layout / LEFT_FILE) as stream:
            raw = read_at_most(stream, _MAX_LEFT_SIZE)
    except FileNotFoundError:
        return None
    except OSError:
        return LeftJournal(frozenset())
    try:
        data = json.loads(raw) if len(raw) <= _MAX_LEFT_SIZE else {}
        blobs = frozenset(Digest.parse(str(d)) for d in data["blobs"])
        made_layout = data.get("made_layout") is True
        folders = data.get("folders")
        recorded = data.get("layout")
    except (ValueError, TypeError, KeyError, AttributeError, InvalidDigest):
        return LeftJournal(frozenset())
    if not (isinstance(folders, int) and 0 <= folders < 4096):
        folders = 0
    if recorded is None or recorded != layout_identity(layout):
        made_layout, folders = False, 0  # (another layout's word, or none)
    return LeftJournal(blobs, made_layout, folders)


def record_left(layout: Path, left: LeftJournal, *, temps: TempFiles | None = None) -> None:
    """Add what ``left`` records to the journal of ``layout`` (the caller holds the index
    lock). Raises :class:`~spyglass.core.errors.TransportError` when it cannot be
    written."""
    before = read_left(layout) or LeftJournal(frozenset())
    data: dict[str, object] = {"blobs": sorted(str(d) for d in before.blobs | left.blobs)}
    made_layout = before.made_layout or left.made_layout
    folders = max(before.folders, left.folders)
    if made_layout or folders:
        data.update(made_layout=made_layout, folders=folders, layout=layout_identity(layout))
    # not synced: a journal lost to a power cut only leaves the blobs, unnamed, as before
    replace_file(layout / LEFT_FILE, json.dumps(data, indent=1).encode() + b"\n",
                 temps=temps, durable=False)


def disown_left(layout: Path, *, temps: TempFiles | None = None) -> None:
    """The layout holds an image: no stopped copy's journal may have it removed as one it
    made (the caller holds the index lock). Its blobs stay recorded. Best effort."""
    journal = read_left(layout)
    if journal is None or not (journal.made_layout or journal.folders):
        return
    data = {"blobs": sorted(str(d) for d in journal.blobs)}
    try:
        replace_file(layout / LEFT_FILE, json.dumps(data, indent=1).encode() + b"\n",
                     temps=temps, durable=False)
    except (OSError, SpyglassError):
        forget_left(layout)  # (its blobs then stay, unnamed)


def forget_left(layout: Path) -> None:
    """Remove the journal of ``layout`` (the caller holds the index lock), if it is there."""
    try:
        os.unlink(layout / LEFT_FILE)
    except OSError:
        pass


def made_folders(layout: Path, made: int) -> list[Path]:
    """The ``made`` folders a stopped copy made for ``layout`` (:attr:`LeftJournal.folders`),
    outermost first, as :func:`~spyglass.core.filemodes.make_folders` returns them; by
    the layout's real path (another copy may have named it otherwise)."""
    real = Path(os.path.realpath(layout))
    return [real, *real.parents[:-1]][:made][::-1]  # (never the root)
