"""The main window's settings: saved in the background, merged with what another window
(or a hand edit) saved meanwhile, and what there is to say about their file; the
Open Recent menu they feed.

:class:`SettingsMixin` is one part of :class:`~spyglass.gui.main_window.MainWindow`;
the attributes it reads are made by the window's ``__init__``.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QMainWindow, QMenu

from spyglass.core.errors import SpyglassError
from spyglass.core.settings import Settings
from spyglass.core.settings_file import SavedSettings, save_settings
from spyglass.core.settings_merge import merge_settings
from spyglass.core.text import visible
from spyglass.gui.registries import RegistryBrowser
from spyglass.gui.views.widgets import Banner
from spyglass.gui.workers import Runner

log = logging.getLogger(__name__)


@dataclass
class WaitingSave:
    """A save of the settings on the writer's queue: until it starts, a later save takes
    its place (its snapshot is replaced), so a slow disk never holds more than the save
    being written and one waiting. ``base`` is what its changes are told apart from."""

    snapshot: Settings
    base: Settings | None
    said: str
    started: bool = False


class SettingsMixin(QMainWindow):
    """The settings of the main window (see the module docstring)."""

    settings: Settings
    runner: Runner
    registries: RegistryBrowser
    recent_menu: QMenu
    settings_banner: Banner
    _settings_file: Path | None
    _settings_base: Settings
    _queued_settings: Settings | None
    _saves_pending: int
    _waiting_save: WaitingSave | None
    _save_lock: threading.Lock
    _settings_told: set[str]
    _settings_failure: str
    _settings_startup: str
    _settings_left_out: str

    if TYPE_CHECKING:  # made by the window's other parts
        def open_location(self, path: str | os.PathLike[str], *,
                          select: bool = True) -> QModelIndex: ...
        def show_status(self, message: str, *, assertive: bool = False,
                        spoken: bool = True, about: QModelIndex | None = None) -> None: ...
        def _update_actions(self) -> None: ...

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_locations:
            action = self.recent_menu.addAction(visible(path))
            action.triggered.connect(lambda _checked=False, p=path: self.open_location(p))
        if self.settings.recent_locations:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent", self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.recent_locations = []
        self.save_settings_later()
        self._update_actions()

    def save_settings_later(self, *, said: str = "") -> None:
        """Save a snapshot of the settings on the writer thread, merged with what the file
        holds by then (see :func:`~spyglass.core.settings_merge.merge_settings`): what another
        window or a hand edit changed since this window last read or saved the file is
        kept, and taken in here once saved. Then ``said`` goes to the status bar; a save
        that fails is said in :attr:`settings_banner` instead (once for each reason)."""
        snapshot = self.settings.copy()
        with self._save_lock:
            waiting = self._waiting_save
            if waiting is not None and not waiting.started:
                # one not started yet writes this snapshot instead: behind a slow disk,
                # saves queued one per change held the closing one past the close's wait
                waiting.snapshot = snapshot
                waiting.said = said or waiting.said
                self._queued_settings = snapshot
                return
        # a save queued behind another merges against that one's snapshot: what changed
        # since is this window's (its base was taken before the first was written; a
        # change undone meanwhile, Clear Recent after an open, came back)
        base = self._queued_settings if self._saves_pending else self._settings_base
        self._queued_settings = snapshot
        self._saves_pending += 1
        target = self._settings_file
        job = self._waiting_save = WaitingSave(snapshot, base, said)

        def write(_cancel: object) -> tuple[Settings, SavedSettings]:
            with self._save_lock:
                job.started = True
                written = job.snapshot
            try:
                return written, save_settings(written, target, base=job.base)
            except SpyglassError as exc:  # logged here too: a window closing says nothing
                log.warning("%s", exc)
                raise

        self.runner.submit(
            # every save is waited for at close, never cancelled: the closing save merges
            # against the one queued before it, and one cancelled before it ran made the
            # closing save take the file's older recent places for a change to keep
            write, serial=True, drain=True, what="saving the settings",
            on_done=lambda done: self._settings_saved(*done, job.said),
            on_error=lambda sentence: self._settings_not_saved(sentence, job.said))

    def _save_ended(self) -> None:
        self._saves_pending = max(0, self._saves_pending - 1)
        if not self._saves_pending:
            self._queued_settings = None

    def _settings_saved(self, snapshot: Settings, saved: SavedSettings, said: str) -> None:
        """Take in what the file held besides this window's changes: what the window
        changed since ``snapshot`` stays, anything else is as saved."""
        self._save_ended()
        before = {entry.host: (entry.username, entry.insecure, entry.saved_token)
                  for entry in self.settings.registries}
        self.settings.take(merge_settings(snapshot, self.settings, saved.settings))
        self._settings_base = saved.settings
        self.registries.follow_settings(before)
        self._update_actions()
        self._settings_left_out = ""
        if self._settings_failure:  # saved after all: that is no longer so
            self._settings_told.discard(self._settings_failure)
            if self.settings_banner.text.endswith(self._settings_failure):
                self.settings_banner.hide()
                if self._settings_startup:
                    self.settings_banner.show_text(self._settings_startup)
            self._settings_failure = ""
        if notice := saved.notice():
            self._tell_settings(notice)
        if said:
            self.show_status(said)

    def _settings_not_saved(self, sentence: str, said: str) -> None:
        """Say why the settings were not saved: in the banner once, and in the status bar
        too where a change expected to be saved (an edited registry's) was not."""
        self._save_ended()
        if self._settings_left_out and self._settings_left_out not in sentence:
            # said with the failure that keeps the file from being copied aside
            sentence = f"{self._settings_left_out} {sentence}"
        self._settings_failure = sentence
        if said or sentence not in self._settings_told:
            self.show_status(sentence)
        self._tell_settings(sentence)

    def _tell_settings(self, *sentences: str) -> None:
        """Say ``sentences`` about the settings file in its banner, each once: a save
        failing again the same way says nothing more there."""
        new = [s for s in sentences if s and s not in self._settings_told]
        if new:
            self._settings_told.update(new)
            kept = [self._settings_startup] if self._settings_startup else []
            self.settings_banner.show_text(" ".join(kept + new))

    def _settings_dismissed(self) -> None:
        self._settings_startup = ""
