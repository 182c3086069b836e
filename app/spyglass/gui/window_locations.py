"""The main window's LOCAL places: opening, reloading and closing layout folders and
archives, what their listing answers, and their context menu (with its clipboard copies).

:class:`LocationsMixin` is one part of :class:`~spyglass.gui.main_window.MainWindow`;
the attributes it reads are made by the window's ``__init__``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPoint
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QTreeView

from spyglass.core.archive_names import archive_filter
from spyglass.core.fileurl import file_url
from spyglass.core.settings import Settings, normalize_location
from spyglass.gui import clipboard, icons
from spyglass.gui.copy_side import CopyController
from spyglass.gui.models.places import ImageNode, LoadState, LocationNode, PlacesModel
from spyglass.gui.registries import RegistryBrowser
from spyglass.gui.sample import FOLDER, own_sample, user_data_dir
from spyglass.gui.views.image_view import ImageView
from spyglass.gui.views.widgets import ChosenRow
from spyglass.gui.workers import Runner

ARCHIVE_FILTERS = archive_filter()


def sample_layout_path() -> Path:
    """The bundled sample layout (see :func:`icons.resources_dir`; a copy packaged without
    it has none)."""
    return icons.resources_dir() / "sample-layout"


def _the_sample(given: Sequence[str | os.PathLike[str]]) -> Path | None:
    """The path in ``given`` when it is the sample alone: the user's own copy (where
    :func:`own_sample` makes it) or the bundled one. Compares names only (no disk)."""
    if len(given) != 1:
        return None
    path = normalize_location(given[0])
    samples = (user_data_dir() / FOLDER, sample_layout_path())
    return Path(given[0]) if path in (normalize_location(s) for s in samples) else None


class LocationsMixin(QMainWindow):
    """The LOCAL places of the main window (see the module docstring)."""

    settings: Settings
    runner: Runner
    places: PlacesModel
    tree: QTreeView
    registries: RegistryBrowser
    image_view: ImageView
    copying: CopyController
    _chosen_place: ChosenRow
    _closed: bool
    _not_remembered: set[str]
    _not_recent: set[str]
    _reopening: bool
    _select_first: set[str]
    _reselect: dict[str, str]
    _restored: list[str]
    _reopened: set[str]

    if TYPE_CHECKING:  # made by the window's other parts
        def show_status(self, message: str, *, assertive: bool = False,
                        spoken: bool = True, about: QModelIndex | None = None,
                        on_page: bool = False) -> None: ...
        def save_settings_later(self, *, said: str = "") -> None: ...
        def show_sample(self, sample: Path) -> None: ...
        def _update_actions(self) -> None: ...
        def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None: ...

    def open_location(self, path: str | os.PathLike[str], *, select: bool = True,
                      recent: bool = True) -> QModelIndex:
        """Open a layout folder or archive in the places tree (listing it in the background).

        With ``select``, the location is selected and, once listed, its first
        image is shown. With ``recent`` (a place the user opens), it goes to the top of
        File ▸ Recent once listed; the places of the last session, opened again, do not.
        """
        if recent:
            self._not_recent.discard(normalize_location(path))
        else:
            self._not_recent.add(normalize_location(path))
        index = self.places.add_location(Path(path))
        node = self.places.location_node(index)
        if node is None:
            return index
        self.tree.expand(index)
        if select:
            if node.state is LoadState.LOADED:
                self._select_first_image(index)
            else:
                self._select_first.add(str(node.path))
                self.tree.setCurrentIndex(index)
        self._update_actions()
        return index

    def restore_session(self, *, given: Sequence[str | os.PathLike[str]] = ()) -> None:
        """At start: the bundled sample on the very first run, else the places open last
        time. With ``given`` (the paths the window was started on, opened next): the
        places of last time without selecting one, and no sample on a first run (what was
        asked for is shown; nothing of the session is lost for it), but for the sample
        itself (``make run`` gives the user's copy of it): its notice is shown over it,
        as at a first start without a path. ``make run`` never showed the notice, and
        ended the first start without it."""
        if not self.settings.first_run_done and not self.settings.recent_locations:
            if given:
                if (sample := _the_sample(given)) is not None:
                    self.show_sample(sample)
                return
            def look(_cancel: object) -> Path | None:
                # the user's own copy: what is dropped on it is written there, not into
                # a checkout's committed files or an installed package
                return own_sample(sample_layout_path())

            def found(sample: Path | None) -> None:
                if sample is not None and not self._closed:
                    if sample == sample_layout_path():
                        self._not_remembered.add(normalize_location(sample))
                    self.open_location(sample)
                    self.show_sample(sample)

            # (none when packaged without it): on a worker, like all disk access
            self.runner.submit(look, on_done=found, what="looking for the sample layout")
            return
        paths = list(self.settings.open_locations)
        if normalize_location(sample_layout_path()) in (normalize_location(p) for p in paths):
            self._reopen_with_own_sample(paths, select=not given)
        else:
            self._reopen(paths, select=not given)

    def _reopen_with_own_sample(self, paths: list[str], *, select: bool) -> None:
        """:meth:`_reopen`, with the bundled sample among ``paths`` (which Spyglass before
        its own copies opened, and remembered): the user's own copy instead, made if need
        be (on a worker), so that nothing dropped on it is written into the installed
        package or a checkout; the settings then remember the copy."""
        bundled = normalize_location(sample_layout_path())
        self._reopening = True  # (a close meanwhile keeps the places the settings have)

        def look(_cancel: object) -> Path | None:
            return own_sample(sample_layout_path())

        def found(sample: Path | None) -> None:
            self._reopening = False
            if self._closed:
                return
            if sample is not None and normalize_location(sample) != bundled:
                own = normalize_location(sample)
                paths[:] = [own if normalize_location(p) == bundled else p for p in paths]
                self.settings.recent_locations = list(dict.fromkeys(
                    own if p == bundled else p for p in self.settings.recent_locations))
                self.save_settings_later()
            elif sample is not None:  # no copy can be made: opened, not remembered
                self._not_remembered.add(bundled)
            self._reopen(paths, select=select)

        self.runner.submit(look, on_done=found, what="looking for the sample layout")

    def _reopen(self, paths: list[str], *, select: bool) -> None:
        """Open the places of the last session again, the first selected (with
        ``select``); File ▸ Recent keeps its order (only places the user opens move up)."""
        self._restored = [str(Path(p)) for p in paths]
        self._reopened.update(normalize_location(p) for p in paths)
        for i, path in enumerate(paths):
            self.open_location(path, select=select and i == 0, recent=False)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open Layout Folder", self._dialog_start())
        if folder:
            self.open_location(folder)

    def choose_archive(self) -> None:
        file_name, _ = QFileDialog.getOpenFileName(
            self, "Open Archive", self._dialog_start(), ARCHIVE_FILTERS)
        if file_name:
            self.open_location(file_name)

    def _dialog_start(self) -> str:
        recent = self.settings.recent_locations
        return os.path.dirname(recent[0]) if recent else os.path.expanduser("~")

    def close_current_location(self) -> None:
        index = self._chosen_place.chosen()
        if self.places.location_node(index) is not None:
            self._remove_location(index)

    def _remove_location(self, index: QModelIndex) -> None:
        """Close the location of ``index``; the pane lets go of what it showed of it (Qt
        says nothing of the current row going when its parent row is removed)."""
        shown = self.places.location_node(self._chosen_place.chosen())
        removed = self.places.location_node(index)
        self.places.remove_location(index)
        if shown is not None and shown is removed:
            self._current_changed(self._chosen_place.chosen(), QModelIndex())

    def reload_current_location(self) -> None:
        """Reload Location (F5): the chosen registry or repository, or the place of the
        chosen row (:meth:`_reload_chosen`)."""
        if self.registries.reload_current():
            return
        node = self.places.location_node(self._chosen_place.chosen())
        if node is not None:
            self._reload_chosen(str(node.path))

    def _reload_chosen(self, path: str) -> None:
        """List the place at ``path``, the chosen row's, again. Once it is listed, the image
        chosen in it is chosen again where its label is still there (a ref that
        ``skopeo copy`` moved shows what it names now), else its first image: a reload
        went to the first image whatever was chosen."""
        chosen = self.places.node(self._chosen_place.chosen())
        if isinstance(chosen, ImageNode):
            self._reselect[path] = chosen.entry.label
        else:
            self._reselect.pop(path, None)
        self._select_first.add(path)
        index = self._location_index(path)
        self.tree.setCurrentIndex(index)
        self.places.reload(index)
        self.tree.expand(index)

    def _location_loaded(self, where: Path) -> None:
        path = str(where)
        if path in self._restored and self._chosen_place.chosen() == self._location_index(path):
            self._restored = []  # the start found its place: no more moving on
        normal = normalize_location(path)
        if normal in self._not_recent:
            self._not_recent.discard(normal)  # (a reload later is the user's)
        elif normal not in self._not_remembered:
            self.settings.add_recent(path)
            self.save_settings_later()
        index = self._location_index(path)
        label = self._reselect.pop(path, None)
        if path in self._select_first:
            self._select_first.discard(path)
            if self._chosen_place.chosen() == index:
                again = self.places.find_image(label, index.row()) if label is not None \
                    else QModelIndex()
                if again.isValid():
                    self.tree.setCurrentIndex(again)
                else:
                    self._select_first_image(index)
                return
        if index.isValid() and self._chosen_place.chosen() == index:
            self._current_changed(index, QModelIndex())

    def _location_failed(self, where: Path, message: str) -> None:
        path = str(where)
        self._reselect.pop(path, None)
        self._not_recent.discard(normalize_location(path))
        restoring = path in self._select_first and path in self._restored
        self._select_first.discard(path)
        index = self._location_index(path)
        # the place's own page says it where the place is chosen (only screen readers are
        # told: not echoed in the status bar); tied to the place, a notice goes when
        # another is chosen; a start that moves on past a place of last session that is
        # gone keeps it (what was not reopened)
        chosen = index.isValid() and self._chosen_place.chosen() == index
        self.show_status(message, assertive=True, about=None if restoring else index,
                         on_page=chosen and not restoring)
        if restoring and chosen:
            # a place of the last session that is gone: start on the next one still listed
            following = [p for p in self._restored[self._restored.index(path) + 1:]
                         if self._location_index(p).isValid()]
            self._restored = following
            if following:
                self._select_first.add(following[0])
                nxt = self._location_index(following[0])
                node = self.places.location_node(nxt)
                if node is not None and node.state is LoadState.LOADED:
                    self._select_first.discard(following[0])
                    self._select_first_image(nxt)
                else:
                    self.tree.setCurrentIndex(nxt)
                return
        if index.isValid() and self._chosen_place.chosen() == index:
            self._current_changed(index, QModelIndex())

    def _location_refreshed(self, where: Path) -> None:
        """A copy wrote to this place and its rows were merged: show the selected row
        again only if what it holds changed (the image view keeps its tab otherwise)."""
        path = str(where)
        current = self._chosen_place.chosen()
        node = self.places.node(current)
        if isinstance(node, LocationNode) and str(node.path) == path:
            self._current_changed(current, QModelIndex())  # the count of images
        elif isinstance(node, ImageNode) and str(node.parent.path) == path:
            state = self.image_view.state
            # an archive is rewritten whole: what was read through the old listing is
            # gone from under it (a folder keeps the blobs of an image still listed)
            if node.parent.is_archive or state is None \
                    or state.entry.descriptor != node.entry.descriptor:
                self._current_changed(current, QModelIndex())
            else:  # the view reads on through the listing it was shown from (the first
                # replaced since), never through the later ones: those go now
                self.places.release_retired(path, keep=1)
        else:  # the image view shows nothing of that place (another's may be shown)
            self.places.release_retired(path)

    def _location_index(self, path: str) -> QModelIndex:
        paths = self.places.paths
        return self.places.index(paths.index(path), 0) if path in paths else QModelIndex()

    def _select_first_image(self, location: QModelIndex) -> None:
        for row in range(self.places.rowCount(location)):
            child = self.places.index(row, 0, location)
            if isinstance(self.places.node(child), ImageNode):
                self.tree.setCurrentIndex(child)
                return
        if self._chosen_place.chosen() == location:  # no image: say what it holds, now listed
            self._current_changed(location, QModelIndex())
        else:
            self.tree.setCurrentIndex(location)

    def _context_menu(self, position: QPoint) -> None:
        menu = self.context_menu(self.tree.indexAt(position))
        if menu is not None:
            menu.exec(self.tree.viewport().mapToGlobal(position))

    def context_menu(self, index: QModelIndex) -> QMenu | None:
        """The places tree's context menu for the row ``index`` (None for no row)."""
        node = self.places.node(index)
        if node is None:
            return None
        location = self.places.location_node(index)
        menu = QMenu(self)
        if isinstance(node, ImageNode):
            entry = node.entry
            menu.addAction("Copy Image &Name",
                           lambda: self.copy_as_given(entry.name))
            menu.addAction("Copy &Digest",
                           lambda: self._copy(str(entry.descriptor.digest)))
            menu.addSeparator()
            menu.addAction(self.copying.copy_action)
            menu.addSeparator()
        if location is not None:
            path = str(location.path)
            if not isinstance(node, ImageNode):
                self.copying.add_paste(menu, self.tree, index)  # the keyboard's drop
            menu.addAction("Copy P&ath", lambda: self.copy_path(location.path))
            menu.addAction("&Reload", lambda: self._reload_path(path))
            menu.addSeparator()
            menu.addAction("&Close", lambda: self._close_path(path))
        return menu

    def _copy(self, text: str) -> None:
        self.show_status(clipboard.copy_text(text))

    def copy_path(self, path: Path) -> None:
        """Put ``path`` on the clipboard as text, and as a ``file:`` URL for file managers.
        A path with a byte that is not UTF-8 cannot be text as it is (a QString drops
        the byte): the text is the path as a shell takes it (``$'…\\xff…'``), and the
        URL carries the byte (``%FF``)."""
        self.copy_as_given(str(path), url=file_url(path.absolute()))

    def copy_as_given(self, text: str, *, url: str = "") -> None:
        """Put ``text`` (a path, an image name) on the clipboard as a shell takes it, and
        say so (:func:`~spyglass.gui.clipboard.copy_as_given`)."""
        self.show_status(clipboard.copy_as_given(text, url=url))

    def _reload_path(self, path: str) -> None:
        """The context menu's Reload: the place at ``path``; where an image of it is
        chosen, that image is chosen again once it is listed (as by F5)."""
        index = self._location_index(path)
        if not index.isValid():
            return
        chosen = self.places.node(self._chosen_place.chosen())
        if isinstance(chosen, ImageNode) and str(chosen.parent.path) == path:
            self._reload_chosen(path)
        else:
            self.places.reload(index)

    def _close_path(self, path: str) -> None:
        index = self._location_index(path)
        if index.isValid():
            self._remove_location(index)
