"""What the Copy dialog finds at the destination already, on a worker: what a bare path
typed is (an archive, a dir: image, a layout or a folder:
:func:`~spyglass.core.transports.bare_paths.look_at_path`, which the command line's hint
for a bare destination follows too), what a copy there would replace, what its name
names now, and the refusal a copy there would meet. What is at a bare path, or at an
archive's or ``dir:`` folder's path given with its kind, is looked at again as Copy is
pressed (:meth:`CopyDestinationMixin.look_again`).

:class:`CopyDestinationMixin` is one part of :class:`~spyglass.gui.dialogs.copy.CopyDialog`; the
attributes it reads are made by the dialog's ``__init__``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
)

from spyglass.core.digest import Digest
from spyglass.core.errors import SpyglassError
from spyglass.core.manifest import Descriptor
from spyglass.core.platform import Platform
from spyglass.core.reference import (
    DirName,
    DockerArchiveName,
    DockerName,
    ImageName,
    OCIArchiveName,
    OCIName,
    parse_image_name,
)
from spyglass.core.text import visible
from spyglass.core.transports.bare_paths import PathLook, look_at_path
from spyglass.gui.announce import announce
from spyglass.gui.copy_destinations import (
    DestinationLook,
    Replaced,
    look_at_destination,
    looked_at_first,
    named_now,
    written_alone,
    written_whole,
)
from spyglass.gui.copy_drops import DropPlace, PlaceKind, suggest_destination
from spyglass.gui.copy_jobs import Openers
from spyglass.gui.copy_names import describe_name, names_a_path, normalize_name
from spyglass.gui.formatting import short_digest
from spyglass.gui.signals import emit
from spyglass.gui.workers import Runner, lane_of

if TYPE_CHECKING:
    from spyglass.gui.transfers import Transfer

class CopyDestinationMixin(QDialog):
    """What the Copy dialog finds at the destination (see the module docstring)."""

    # made by CopyDialog: PySide6 registers only the signals of a class's first line of
    # bases, which this part is not on
    destinationChecked: ClassVar[Signal]
    replaced: Replaced | None
    destination_refusal: str
    platform_boxes: list[tuple[Platform, QAbstractButton]]
    digest_boxes: list[tuple[Descriptor, QAbstractButton]]
    named_note: QLabel
    destination_note: QLabel
    destination_edit: QLineEdit
    replace_note: QLabel
    replace_box: QCheckBox
    format_combo: QComboBox
    compression_combo: QComboBox
    signatures_box: QCheckBox
    _runner: Runner
    _openers: Openers
    _wanted_platform: str
    _wanted_instance: Digest | None
    _key: str
    _platforms_known: bool
    _checked_destination: str | None
    _destination_known: bool
    _named: tuple[str, Digest | None] | None
    _warned: str
    _source_digest: Digest | None
    _instance_digests: tuple[Digest, ...]
    busy_note: QLabel
    _writing: Callable[[str], Transfer | None]
    _hosts: Callable[[], list[str]]
    _source: str
    _label: str
    _path_looked: tuple[str, PathLook] = ("", PathLook())
    """The bare destination path looked at last, and what the disk says it is."""
    _path_asked = ""
    """The bare destination path the disk is being asked about ("" for none)."""
    _path_chosen = ""
    """The path Browse… chose, until the disk says what it is ("" for none): the field
    then gets its whole name."""
    _path_again = ""
    """The bare destination path looked at again as Copy was pressed ("" for none, and
    once the copy is no longer wanted): see :meth:`look_again`."""
    _layout_there = ""
    """The destination checked last (see :meth:`_check_destination`) where it is an OCI
    image layout already, said so under it ("" for none)."""

    if TYPE_CHECKING:  # made by the dialog's other parts
        def _fit(self) -> None: ...
        def _validate(self) -> bool: ...
        def _plan(self) -> None: ...
        def _stop_planning(self) -> None: ...
        def _say_stopped(self, sentence: str) -> None: ...

    def destination_name(self) -> str:
        """The destination typed, as the copy takes it: a bare registry reference as
        ``docker://…`` (:func:`normalize_name`), and a bare path (``/srv/mirror``,
        ``~/copies/app.tar``) as what the disk says it is (:meth:`folder_destination`)."""
        return self.folder_destination() or normalize_name(self.destination_edit.text())

    def folder_destination(self) -> str:
        """The field's destination as a bare path, as what the disk says it is
        (:func:`look_at_path`: an archive, a ``dir:`` image, or a folder for an OCI layout),
        with the image's name as a drop there names it
        (``oci:/srv/mirror:spyglass-demo:1.0``, unnamed while the source is not known);
        "" for any other text, and for a path the disk says names no destination
        (:meth:`path_refusal`). A path with a ``:`` is left as it is: where its path ends
        is not known. The path is taken as a folder while the disk is looked at
        (:meth:`looking_at_path`; Copy waits for it)."""
        path = _bare_path(self.destination_edit.text())
        if not path:
            return ""
        kind: PlaceKind = "folder"
        looked, said = self._path_looked
        if looked != path:
            self._look_at_destination(path)
        elif said.refusal:
            return ""
        else:
            kind = said.kind
        if not self._source:
            return f"{'oci' if kind == 'folder' else kind}:{path}"
        return suggest_destination(self._source, DropPlace(kind, path=path),
                                   self._label, self._wanted_platform)

    def take_chosen_path(self, chosen: str) -> str:
        """A folder Browse… chose, taken as the same path typed is (the disk is looked
        at afresh: a ``dir:`` image there is ``dir:``): the field gets the path, and once
        the disk has said what it is, its whole name, whose tag can then be edited. A
        path with a ``:`` is put in as it is. What the field was given."""
        path = _bare_path(chosen)
        if not path:
            self.destination_edit.setText(chosen)
            return chosen
        self._path_chosen = path
        if self._path_looked[0] == path:
            self._path_looked = ("", PathLook())  # (what it was may have changed since)
        self.destination_edit.setText(path)
        self._validate()  # (the same path as the field had changes no text: looked at now)
        return path

    def browse_start(self) -> str:
        """The folder Browse… starts in: that of the path the destination names, whatever
        its kind (``dir:/srv/images/x``, ``oci-archive:/data/a.tar``, ``/data/a.tar``):
        the path where it is a folder, else the folder it is in (:func:`folder_of`)."""
        return folder_of(_local_path(self.destination_edit.text()))

    def looking_at_path(self) -> str:
        """The path the field names that the disk is looked at for (:func:`_looked_path`:
        a bare one, or an archive's or ``dir:`` folder's given with its kind) while it is
        ("" otherwise)."""
        path = _looked_path(self.destination_edit.text())
        return "" if self._path_looked[0] == path else path

    def path_refusal(self) -> str:
        """Why the bare path the field names is no destination, as the disk said ("" for
        none, or while it is looked at)."""
        looked, said = self._path_looked
        return said.refusal if looked and looked == _bare_path(self.destination_edit.text()) \
            else ""

    def look_again(self) -> bool:
        """Copy pressed with a path as the destination, bare or with the kind of a place a
        copy writes whole (``/srv/a.tar``, ``oci-archive:/srv/a.tar``, ``dir:/srv/img``:
        :func:`_looked_path`): the disk is
        looked at again (on a worker, as it was first), since what is there may have
        changed after the look (an archive written there since, to be replaced unasked,
        or as another kind than what is taken; a file where a new archive was to be
        made; an empty folder that is no longer). The copy is planned once the disk says
        what it said before; otherwise the field says what is there now and Copy waits
        to be pressed again (:meth:`_path_found`). Whether the copy waits for the look
        (False: no such path)."""
        path = _looked_path(self.destination_edit.text())
        if not path or self._path_looked[0] != path:
            return False
        self._path_again = path
        self._look_at_destination(path)
        return True

    def _look_at_destination(self, path: str) -> None:
        """Ask the disk what ``path`` is (on a worker: an archive is looked into); once it
        says, the destination is taken as that, and checked."""
        if self._path_asked == path:
            return
        self._path_asked = path
        self._runner.submit(
            lambda _cancel: look_at_path(path),
            on_done=lambda look: self._path_found(path, look),
            on_error=lambda _message: self._path_found(path, PathLook()),
            key=f"{self._key}:destination-path",
            what=f'looking at "{path}"',
        )

    def _path_found(self, path: str, look: PathLook) -> None:
        self._path_asked = ""
        before, self._path_looked = self._path_looked, (path, look)
        chosen, self._path_chosen = self._path_chosen == path, ""
        again, self._path_again = self._path_again == path, ""
        if _looked_path(self.destination_edit.text()) != path:
            return  # (another destination typed since)
        if before == (path, look):  # looked at again, and as it was: what was said holds
            if again:
                self._plan()
            return
        self._checked_destination = None  # checked as what it is now
        if chosen and not look.refusal:
            # Browse… chose it: its whole name (checked as the text changes)
            self.destination_edit.setText(self.folder_destination())
            return
        if again:  # (the field says what it is now, and what a copy there would replace)
            self._say_stopped(
                f'"{visible(path)}" changed on disk since the dialog looked at it, and the '
                "copy did not start: see what it is taken as now, then press Copy again.")
        self._validate()

    def described_destination(self) -> tuple[ImageName | None, str]:
        """The destination typed, parsed as the copy takes it, and the sentence that says
        what it is or what is wrong (:func:`describe_name`); a bare path says what it is
        taken as, as a bare registry reference does (and that it is looked at, first)."""
        refusal = self.path_refusal()
        if refusal:
            return None, refusal
        taken = self.folder_destination()
        # (looked at: an existing layout is said to be one)
        there = bool(self._layout_there) and self._layout_there == self._checked_destination \
            == self.destination_name()
        if not taken:
            return describe_name(self.destination_edit.text(), hosts=self._hosts(),
                                 layout_there=there)
        name, sentence = describe_name(taken, layout_there=there)
        if name is None:
            return name, sentence
        looking = self.looking_at_path()
        if looking:
            return name, f"Looking at {visible(looking)}…"
        return name, f"Taken as {taken}: {sentence[:1].lower()}{sentence[1:]}"

    def _describe_destination(self, sentence: str, *, wrong: bool) -> None:
        """Give screen readers what is said under the destination, as it shows: the
        field's description is what is wrong with it, or the refusal a copy there would
        meet and what it would replace, then what its name names now, then what it is
        (``sentence``); a warning (a refusal, a replacement, a name taken from another
        image) is also said once as it comes. Drawn only, a reader on the field heard its
        hint, and Enter copied over the image the warning was about."""
        warnings = [label.text() for label in (self.replace_note, self.named_note,
                                               self.busy_note)
                    if not label.isHidden() and label.text()]
        shown = [sentence] if wrong or not self.destination_note.isHidden() else []
        self.destination_edit.setAccessibleDescription(
            sentence if wrong else " ".join([*warnings, *shown]))
        told = " ".join(warnings)
        if told and told != self._warned:
            announce(self.destination_edit, told)
        self._warned = told

    def _say_busy(self, text: str) -> bool:
        """The note that a copy in Transfers writes what a copy to ``text`` (normalized;
        "" for no name) would write alone: this one would wait for it, then write it
        again. Whether the note changed."""
        other = self._writing(text) if text else None
        said = "" if other is None else _busy_sentence(text, other)
        if said == (self.busy_note.text() if not self.busy_note.isHidden() else ""):
            return False
        self.busy_note.setText(said)
        self.busy_note.setVisible(bool(said))
        return True

    def transfers_changed(self, *_args: object) -> None:
        """A copy in Transfers was added, changed or removed: the note of one writing the
        destination follows."""
        if self._say_busy(self._checked_destination or ""):
            self._validate()  # (the note read with the field, and said; the dialog fits)

    def _forget_destination(self) -> None:
        """The destination typed is no name: nothing said of an earlier one stays."""
        self._checked_destination = None
        self.replaced = None
        self.destination_refusal = ""
        self._layout_there = ""
        self._named = None
        for widget in (self.replace_note, self.replace_box, self.named_note):
            widget.hide()
        self.replace_box.setChecked(False)

    def _check_destination(self, text: str, name: ImageName) -> None:
        """Find out (on a worker) what a copy to ``text`` would replace; a confirmation
        given for another destination does not carry over."""
        self._checked_destination = text
        looking = self.looking_at_path()
        if looking:  # what the path is comes first (Copy looks again): checked after that
            self._look_at_destination(looking)  # (a bare path's is asked already)
            self._forget_destination()
            self._checked_destination = text
            self._destination_known = False
            return
        self._check_named(text, name)
        self.replaced = None
        self.destination_refusal = ""
        self._layout_there = ""
        self.replace_box.setChecked(False)
        self.replace_note.hide()
        self.replace_box.hide()
        self._destination_known = not looked_at_first(name)
        if self._destination_known:
            return
        self._runner.submit(
            lambda cancel: look_at_destination(name, cancel),
            on_done=lambda look: self._destination_found(text, look),
            on_error=lambda message: self._destination_refused(text, message),
            key=f"{self._key}:destination",
            what=f"looking at {text}",
            lane=lane_of(normalize_name(text)),
        )

    def _check_named(self, text: str, name: ImageName) -> None:
        """Find out (on a worker) what the tag or ref the copy writes names there now: a
        name moved off another image is said, not done unseen."""
        self._named = None
        self.named_note.hide()
        openers = self._openers
        self._runner.submit(
            lambda cancel: named_now(openers, name, cancel),
            on_done=lambda digest: self._named_found(text, digest),
            on_error=lambda _message: None,  # the copy says what is wrong, if it is
            key=f"{self._key}:named",
            what=f"looking at what {text} names",
            lane=lane_of(normalize_name(text)),
        )

    def _named_found(self, text: str, digest: Digest | None) -> None:
        if text != self._checked_destination:
            return
        self._named = (text, digest)
        self._say_named()
        self._validate()  # (the note read with the field, and said)

    def _say_named(self) -> None:
        """The note of what the name names now (once both it and the source are known)."""
        text, digest = self._named if self._named is not None else ("", None)
        if digest is None or not self._platforms_known:  # what is written is known after
            self.named_note.hide()
            return
        name, _sentence = describe_name(text)
        tag = getattr(name, "ref", None) or getattr(getattr(name, "reference", None),
                                                     "tag", None)
        written = self._written_digest()
        dropped = (", and that image is no longer listed in the layout"
                   if isinstance(name, OCIName) else "")
        # the name quoted and called what it is: a tag such as 1 or 2.0 first in the
        # sentence read as a count ("1 there names this very image already")
        what = f'The tag "{tag}"' if isinstance(name, DockerName) else f'The name "{tag}"'
        if written is not None and digest == written:
            said = f"{what} there names this very image already: {self._held_clause(name)}"
        elif written is not None:
            said = (f"{what} there names another image now ({short_digest(digest)}); the "
                    f"copy gives the name to this one{dropped}.")
        else:
            said = (f"{what} there names an image now ({short_digest(digest)}); the copy "
                    f"gives the name to the one it writes{dropped}.")
        self.named_note.setText(said)
        self.named_note.show()
        self._fit()

    def _held_clause(self, name: ImageName | None) -> str:
        """What a copy onto a name that names this very image already will write: into a
        registry, nothing of the image (what is attached to it goes along where the
        registry lacks it); into a layout, no blob again (its blobs are there: the index
        lists the image)."""
        if not isinstance(name, DockerName):
            return "none of its blobs will be copied again."
        if self.signatures_box.isChecked():
            return ("nothing of it will be written, only what is attached to it that the "
                    "registry does not have yet.")
        return "nothing will be written."

    def _written_digest(self) -> Digest | None:
        """The digest the copy writes as the dialog stands, where it is the source's own:
        the image or list as it is, or the one platform's image ticked; None for a list
        rebuilt with some of its images, or converted or recompressed."""
        if self.format_combo.currentData() is not None or \
                self.compression_combo.currentData() is not None:
            return None
        boxes = [box for _p, box in self.platform_boxes]
        chosen = [i for i, box in enumerate(boxes) if box.isChecked()]
        picked = [entry.digest for entry, box in self.digest_boxes if box.isChecked()]
        if len(chosen) + len(picked) == len(boxes) + len(self.digest_boxes):  # (or none)
            dragged = self._wanted_platform or self._wanted_instance is not None
            return self._source_digest if not dragged or boxes or self.digest_boxes \
                else None
        if len(picked) == 1 and not chosen:
            return picked[0]
        if len(chosen) == 1 and not picked and chosen[0] < len(self._instance_digests):
            return self._instance_digests[chosen[0]]
        return None

    def _destination_refused(self, text: str, sentence: str) -> None:
        """A copy to ``text`` would be refused: said at once, and Copy stays off until
        the destination changes."""
        if text != self._checked_destination:
            return
        self._destination_known = True
        self.destination_refusal = sentence
        self.replace_note.setText(sentence)
        self.replace_note.show()
        self._validate()
        emit(self.destinationChecked)

    def _destination_found(self, text: str, look: DestinationLook) -> None:
        if text != self._checked_destination:
            return
        self._destination_known = True
        self.replaced = replaced = look.replaced
        self._layout_there = text if look.layout_there else ""
        if replaced is not None:
            self.replace_note.setText(replaced.sentence())
            self.replace_note.show()
            self.replace_box.show()
        self._validate()
        emit(self.destinationChecked)


def _local_path(typed: str) -> str:
    """The path on this machine the destination ``typed`` names: a bare path
    (:func:`_bare_path`), or that of a name given with its kind (``oci:``,
    ``oci-archive:``, ``docker-archive:``, ``dir:``); "" for a registry's name, or text
    that is no name."""
    return _path_of(typed, (OCIName, OCIArchiveName, DockerArchiveName, DirName))


def _looked_path(typed: str) -> str:
    """The path the dialog looks at on disk before a copy to ``typed``, and again as Copy
    is pressed: a bare path (what is there says what it is taken as), or that of a name
    given with the kind of a place a copy writes whole (an archive, ``dir:``: what is
    there may be replaced); "" for other names (a registry's; an ``oci:`` layout, which
    a copy adds to, and whose own check refuses what it cannot take)."""
    return _path_of(typed, (OCIArchiveName, DockerArchiveName, DirName))  # (as may_replace)


def _path_of(typed: str, kinds: tuple[type[ImageName], ...]) -> str:
    """A bare path ``typed``, or the path of a name of one of ``kinds`` given with its
    kind; "" for anything else."""
    bare = _bare_path(typed)
    if bare:
        return bare
    try:
        name = parse_image_name(typed.strip())
    except SpyglassError:
        return ""
    return str(getattr(name, "path", "")) if isinstance(name, kinds) else ""


def folder_of(path: str) -> str:
    """The folder a file chooser for ``path`` starts in: ``path`` where it is a folder,
    else the nearest folder above it that is there (an archive's, a new name's); the
    home folder for "" (or where none is there)."""
    if not path:
        return str(Path.home())
    here = Path(os.path.abspath(os.path.expanduser(path)))
    for folder in (here, *here.parents):
        if folder.is_dir():
            return str(folder)
    return str(Path.home())


def _bare_path(typed: str) -> str:
    """``typed`` as a bare path (``~`` expanded), "" for other text: a name with its
    transport, or a path with a ``:`` (where its path ends is not known)."""
    text = typed.strip()
    if not names_a_path(text) or ":" in text:
        return ""
    return os.path.expanduser(text) if text == "~" or text.startswith("~/") else text


def _busy_sentence(destination: str, other: Transfer) -> str:
    """What a copy to ``destination`` meets in Transfers: ``other``, writing the same
    archive, folder, tag or ref, which it would wait for (and then write over)."""
    place = written_alone(destination) or destination
    source = other.request.label or other.request.source
    after = ("replace what that one wrote" if written_whole(destination) is not None
             else "give the name to its own image")
    if other.running:
        return (f"A copy in Transfers is writing {place} now (from {source}): this one will "
                f"wait for it to end, then {after}.")
    return (f"A copy waiting in Transfers will write {place} too (from {source}): this one "
            f"will run after it, then {after}.")


__all__ = ["CopyDestinationMixin", "folder_of"]
