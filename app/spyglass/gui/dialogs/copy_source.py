"""The Copy dialog's Source field when the source is typed or pasted: read after a pause in
the typing, a bare path looked at on a worker, and the destination offered for it.

:class:`CopySourceMixin` is one part of :class:`~spyglass.gui.dialogs.copy.CopyDialog`; the
attributes it reads are made by the dialog's ``__init__``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
)

from spyglass.core.manifest import Descriptor
from spyglass.core.platform import Platform
from spyglass.core.text import visible
from spyglass.core.transports import resolve_name
from spyglass.gui.copy_names import describe_name, names_a_path, normalize_name, pasted_name
from spyglass.gui.dialogs.copy_fields import note
from spyglass.gui.workers import Runner


class CopySourceMixin(QDialog):
    """The Copy dialog's typed source (see the module docstring)."""

    platform_boxes: list[tuple[Platform, QAbstractButton]]
    digest_boxes: list[tuple[Descriptor, QAbstractButton]]
    source_edit: QLineEdit
    source_note: QLabel
    destination_edit: QLineEdit
    platforms_label: QLabel
    platform_grid: QGridLayout
    system_button: QPushButton
    all_button: QPushButton
    _runner: Runner
    _hosts: Callable[[], list[str]]
    _suggest: Callable[[str], str] | None
    _suggested: str
    _source: str
    _source_path: str
    _label: str
    _key: str
    _is_list: bool
    _others: int
    _platforms_known: bool
    _platforms_problem: str | None
    _source_timer: QTimer
    _listing_timer: QTimer

    if TYPE_CHECKING:  # made by the dialog's other parts
        def _drop_plan(self) -> None: ...
        def _validate(self) -> bool: ...
        def _list_platforms(self) -> None: ...
        def choice_boxes(self) -> list[QAbstractButton]: ...

    def _source_edited(self) -> None:
        """The typed source changed: nothing can be copied until its platforms are listed
        anew, after a pause in the typing."""
        if self.source_edit.isReadOnly():
            return
        self._drop_plan()
        typed, problem = pasted_name(self.source_edit.text())
        self._source_path = ""
        self._source = ""
        if problem:
            ok, sentence = False, problem
        elif names_a_path(typed):
            # a path, as the command line takes it: the disk says which kind (on a worker)
            self._source_path = os.path.expanduser(typed)
            ok, sentence = True, f"Looking at {visible(self._source_path)}…"
        else:
            name, sentence = describe_name(typed, what="source", hosts=self._hosts())
            ok = name is not None
            self._source = normalize_name(typed) if ok else ""
        note(self.source_note, sentence, wrong=not ok and bool(self.source_edit.text()))
        self._label = ""
        self._clear_platforms(
            "Listing the platforms…" if ok else "The platforms of the source "
            "are listed once it is typed.")
        if ok:
            self._source_timer.start()
        else:
            self._source_timer.stop()
            self._runner.cancel(f"{self._key}:platforms")
        self._validate()

    def _look_at_path(self) -> None:
        """Take the typed path as the layout or archive it is (on a worker: an archive is
        looked into), as the command line takes a bare path."""
        path = self._source_path
        self._runner.submit(
            lambda _cancel: str(resolve_name(path)),
            on_done=lambda name: self._path_named(path, name),
            on_error=lambda sentence: self._path_refused(path, sentence),
            key=f"{self._key}:platforms",
            what=f'looking at "{path}"',
        )

    def _path_named(self, path: str, name: str) -> None:
        if path != self._source_path:
            return
        _parsed, sentence = describe_name(name, what="source")
        said = f"Taken as {name}: {sentence[:1].lower()}{sentence[1:]}"
        note(self.source_note, visible(said), wrong=False)
        self._source = name
        self._offer_destination()
        self._list_platforms()
        self._validate()

    def _path_refused(self, path: str, sentence: str) -> None:
        if path != self._source_path:
            return
        note(self.source_note, sentence, wrong=True)
        self._clear_platforms("The platforms of the source are listed once it names an "
                              "image.")
        self._validate()

    def _source_typed(self) -> None:
        if self._source_path:
            self._look_at_path()
        elif self._source:
            self._offer_destination()
            self._list_platforms()

    def _offer_destination(self) -> None:
        """Fill in where the typed source would go (the last place copied to), unless
        the destination was typed in by hand."""
        current = self.destination_edit.text().strip()
        if self._suggest is None or (current and current != self._suggested):
            return
        offered = self._suggest(self._source)
        if not offered or normalize_name(offered) == self._source:
            offered = ""  # not a copy at all: offer nothing rather than the last offer
        self._suggested = offered
        self.destination_edit.setText(offered)

    def _clear_platforms(self, text: str) -> None:
        self._listing_timer.stop()
        note(self.platforms_label, text, wrong=False, muted=False)
        self._platforms_known = False
        self._platforms_problem = None
        self._is_list = False
        self._others = 0
        for box in self.choice_boxes():
            self.platform_grid.removeWidget(box)
            box.deleteLater()
        self.platform_boxes.clear()
        self.digest_boxes.clear()
        for button in (self.system_button, self.all_button):
            button.setEnabled(False)
        self.platforms_label.setText(text)


__all__ = ["CopySourceMixin"]
