"""The actions on the rows of the Registries tree and of a repository's page: copy a
tag's reference (by tag or by digest) or a pull command, delete a tag's image after a
confirmation that names every tag going with it, and the context menus that offer them.

:class:`RegistryActions` is a part of :class:`~spyglass.gui.registries.RegistryBrowser`.
"""

from __future__ import annotations

import html
import itertools
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMenu, QWidget

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.settings import Settings
from spyglass.gui.dragdrop import copy_image
from spyglass.gui.formatting import as_sentence
from spyglass.gui.models.registry_rows import RegistryNode, RepositoryNode, TagNode
from spyglass.gui.registry_jobs import (
    Connection,
    DeletePlan,
    PullTool,
    delete_image,
    digest_reference,
    plan_delete,
    pull_command,
    resolve_digest,
    tag_reference,
)
from spyglass.gui.shortcuts import StandardKey, standard_key
from spyglass.gui.signals import emit
from spyglass.gui.views.buttons import push_button
from spyglass.gui.views.image_view import ImageView
from spyglass.gui.views.widgets import select_row
from spyglass.gui.workers import Runner, registry_lane

if TYPE_CHECKING:
    from spyglass.gui.registries import RegistryBrowser

SHOWN_TAGS: Final = 12
"""How many tags a confirmation names before it counts the rest (with hundreds, the box
would outgrow the screen)."""
CHECK_STATUS_S: Final = 2.0
"""How often at most the status bar says how far the check before a delete is (each
message there is announced to a screen reader: ten a second would queue hundreds); the
first is said at once, and the page's label counts on as often as it is told."""


def _names(tags: Sequence[str]) -> str:
    """``a, b and 3 more``: the first :data:`SHOWN_TAGS` in bold, then how many more."""
    shown = ", ".join(f"<b>{html.escape(t)}</b>" for t in tags[:SHOWN_TAGS])
    more = len(tags) - SHOWN_TAGS
    return shown + (f" and {more} more" if more > 0 else "")


def delete_question(plan: DeletePlan) -> str:
    """The confirmation's text: what goes, including every other tag of the same image
    (the first few named, the rest counted)."""
    name = f"{plan.repository}:{plan.tag}"
    text = (f"<p>Delete <b>{html.escape(name)}</b> from {html.escape(plan.host)}?</p>"
            f"<p>This deletes the image <code>{plan.digest}</code> itself, ")
    others = plan.other_tags
    if others:
        listed = _names(others)
        noun = "tag" if len(others) == 1 else f"{len(others)} tags"
        text += (f"so the other {noun} pointing at it — {listed} — "
                 f"{'goes' if len(others) == 1 else 'go'} too.</p>")
    else:
        text += "which no other tag points at.</p>"
    if plan.lists:
        listed = _names(plan.lists)
        one = len(plan.lists) == 1
        text += (f"<p>The {'list' if one else 'lists'} {listed} "
                 f"{'holds' if one else 'hold'} this image as one of "
                 f"{'its' if one else 'their'} platforms: {'it' if one else 'they'} would "
                 "name a manifest that is gone.</p>")
    if plan.referrers:
        listed = _names(plan.referrers)
        one = len(plan.referrers) == 1
        text += (f"<p>It is a referrer of another image: the referrers "
                 f"{'index' if one else 'indexes'} {listed} {'is' if one else 'are'} "
                 "written again without it (deleted, where it is all that is listed).</p>")
    if plan.attached:
        text += f"<p>{_attached_stay(plan.attached, rich=True)}</p>"
    if plan.unchecked:
        listed = _names(plan.unchecked)
        text += (f"<p>Not known for {listed}: {'it' if len(plan.unchecked) == 1 else 'they'}"
                 " could not be looked at.</p>")
    return text + "<p>This cannot be undone.</p>"


def _attached_stay(tags: Sequence[str], *, rich: bool) -> str:
    """What a delete leaves of what was attached to the image, and how to delete it (as
    rich text for the question, else plain for the status bar)."""
    one = len(tags) == 1
    names = _names(tags) if rich else _plain_names(tags)
    switch = "Show signature and referrer tags"
    return (f"Its signature and referrer {'tag' if one else 'tags'} {names} "
            f"{'stays' if one else 'stay'}, naming an image that is gone: to delete "
            f"{'it' if one else 'them'} too, tick {f'<i>{switch}</i>' if rich else switch} "
            f"and delete {'it' if one else 'each'}.")


def _plain_names(tags: Sequence[str]) -> str:
    """``a, b and 3 more``: :func:`_names` as plain text."""
    more = len(tags) - SHOWN_TAGS
    return ", ".join(tags[:SHOWN_TAGS]) + (f" and {more} more" if more > 0 else "")


def delete_result(plan: DeletePlan) -> str:
    """What the status bar says once ``plan``'s image is deleted (plain text)."""
    text = (f"Deleted {plan.repository}@{plan.digest} from {plan.host} "
            f"(tags: {_plain_names(plan.tags)}).")
    for tag, change in plan.unlisted:
        text += (f" The referrers index {tag} lists it no more."
                 if change == "written" else
                 f" The referrers index {tag} listed it only, and is deleted too.")
    for note in plan.unlist_notes:
        text += f" {as_sentence(note)}"
    if plan.unlist_failed is not None:
        text += (f" It is still listed in the referrers index "
                 f"{_plain_names(plan.referrers)}: {plan.unlist_failed}")
    if plan.attached:
        text += " " + _attached_stay(plan.attached, rich=False)
    return text


class _CheckProgress(QObject):
    """Carries how far the check before a delete is from its job's threads to the GUI
    thread.

    Signals:
        looked(int, int, int): the check's number; how many tags it has looked at, of
            how many.
    """

    looked = Signal(int, int, int)


class RegistryActions:
    """The tag actions and context menus of a :class:`RegistryBrowser`.

    Attributes:
        table_actions: the repository page's tag actions, on its current row (by name:
            ``open``, ``copy_reference``, ``copy_digest``, ``copy_podman``,
            ``copy_docker``, ``delete``).
        tree_actions: the same for the tree, where Copy and Delete act on whatever row
            is current.
    """

    def __init__(self, browser: RegistryBrowser, runner: Runner, settings: Settings,
                 image_view: ImageView) -> None:
        self._browser = browser
        self._runner = runner
        self._settings = settings
        self._image_view = image_view
        self.model = browser.model
        self.tree = browser.tree
        self.repository_page = browser.repository_page
        page = self.repository_page
        table = page.table
        self.table_actions = self._tag_actions(table, page.current_tag)
        copy_menu = QMenu(page.copy_button)
        for name in ("copy_reference", "copy_digest", "copy_podman", "copy_docker"):
            copy_menu.addAction(self.table_actions[name])
        page.copy_button.setMenu(copy_menu)
        page.copy_button.setDefaultAction(self.table_actions["copy_reference"])
        page.delete_button.clicked.connect(self.table_actions["delete"].trigger)
        # in the tree, Copy and Delete act on whatever row is current
        self.tree_actions = self._tag_actions(
            self.tree, self._current_tree_tag,
            copy_reference=lambda _index: self._copy_tree_name(),
            delete=lambda _index: self._delete_tree_row(),
        )
        self.tree.customContextMenuRequested.connect(self._tree_menu)
        table.customContextMenuRequested.connect(self._table_menu)
        page.forgetRequested.connect(lambda: self._forget_shown_repository(page.source_root))
        table.selectionModel().selectionChanged.connect(lambda *_: self.update_buttons())
        # the check before a delete looks at every tag (20,000 take half a minute): how far
        # it is, beside the page's spinner, and Cancel (or Esc) to stop it
        self._checks = itertools.count(1)
        self._check: tuple[int, str, str] | None = None
        """The check shown: its number, its job's key, the repository's name."""
        self._check_said: float | None = None
        """When the status bar last said how far the check shown is (None: not yet)."""
        self._progress = _CheckProgress(browser)
        self._progress.looked.connect(self._looked, Qt.ConnectionType.QueuedConnection)
        self.check_label = QLabel()
        self.check_label.hide()
        self.check_cancel = push_button(
            "Cancel", "Stop looking at the tags: nothing is deleted (Esc)")
        self.check_cancel.clicked.connect(self.stop_check)
        self.check_cancel.hide()
        page.header.add_widget(self.check_label)
        page.header.add_widget(self.check_cancel)
        # (on the tree, in view whatever page is shown: a delete begun from the tree while
        # a tag's image is shown has its check running where the page is out of sight)
        self._escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.tree)
        self._escape.setContext(Qt.ShortcutContext.WindowShortcut)
        self._escape.setEnabled(False)
        self._escape.activated.connect(self.stop_check)

    def _tag_actions(self, widget: QWidget, target: Callable[[], QModelIndex],
                     **slots: Callable[[QModelIndex], None]) -> dict[str, QAction]:
        def action(name: str, text: str, slot: Callable[[QModelIndex], None],
                   shortcut: QKeySequence | None = None) -> tuple[str, QAction]:
            act = QAction(text, widget)
            if shortcut is not None:
                act.setShortcut(shortcut)
                act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            chosen = slots.get(name, slot)
            act.triggered.connect(lambda _checked=False: chosen(target()))
            widget.addAction(act)
            return name, act

        return dict([
            action("open", "&Open Image", self._browser.select),
            action("copy_reference", "Copy &Reference", self.copy_reference,
                   standard_key(StandardKey.Copy)),
            action("copy_digest", "Copy Reference by Di&gest", self.copy_digest_reference,
                   QKeySequence("Ctrl+Shift+C")),
            action("copy_podman", "Copy &podman pull Command",
                   lambda index: self.copy_pull_command(index, "podman"),
                   QKeySequence("Ctrl+Alt+C")),
            action("copy_docker", "Copy doc&ker pull Command",
                   lambda index: self.copy_pull_command(index, "docker")),
            action("delete", "&Delete…", self.delete_tag,
                   standard_key(StandardKey.Delete)),
        ])

    # ------------------------------------------------------------------ tag actions

    def _current_tree_tag(self) -> QModelIndex:
        index = self._browser.chosen_index()
        return index if isinstance(self.model.node(index), TagNode) else QModelIndex()

    def _tag(self, index: QModelIndex) -> TagNode | None:
        node = self.model.node(index)
        return node if isinstance(node, TagNode) else None

    def update_buttons(self) -> None:
        """Enable the page's tag buttons and actions while it has a tag current."""
        has_tag = self._tag(self.repository_page.current_tag()) is not None
        self.repository_page.copy_button.setEnabled(has_tag)
        self.repository_page.delete_button.setEnabled(has_tag)
        for action in self.table_actions.values():
            action.setEnabled(has_tag)

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        emit(self._browser.statusMessage, f"Copied {text}")

    def copy_reference(self, index: QModelIndex) -> None:
        """Copy the tag's reference; with the tag's image as a drag carries it, which
        Paste Image Here (Ctrl+V) on a place copies there."""
        node = self._tag(index)
        if node is None:
            return
        repo = node.parent
        reference = tag_reference(repo.parent.host, repo.name, node.name)
        image_of = self._browser.image_of_tag
        image = image_of(node) if image_of is not None else None
        if image is None:
            self._copy(reference)
        else:
            emit(self._browser.statusMessage, copy_image(image, reference))

    def copy_pull_command(self, index: QModelIndex, tool: PullTool) -> None:
        node = self._tag(index)
        if node is not None:
            repo = node.parent
            host = repo.parent.host
            entry = self._settings.registry(host)
            # podman has no loopback exception: a registry reached over plain HTTP here
            # (as loopback ones may be) needs the flag too
            insecure = (entry is not None and entry.insecure) or repo.parent.connection.plain_http
            self._copy(pull_command(tool, host, repo.name, node.name, insecure=insecure))

    def copy_digest_reference(self, index: QModelIndex) -> None:
        """Copy ``HOST/REPO@DIGEST`` (the digest is looked up first if still unknown)."""
        node = self._tag(index)
        if node is None:
            return
        repo = node.parent
        host, name = repo.parent.host, repo.name
        if node.digest is not None:
            self._copy(digest_reference(host, name, node.digest))
            return
        connection, tag = repo.parent.connection, node.name
        emit(self._browser.statusMessage, f"Looking up the digest of {name}:{tag}…")

        def copy(digest: Digest) -> None:
            self.model.set_digest(host, name, tag, digest)
            self._copy(digest_reference(host, name, digest))

        self._runner.submit(lambda cancel: resolve_digest(connection, name, tag, cancel),
                            on_done=copy,
                            on_error=lambda message: emit(self._browser.statusMessage, message),
                            what=f"looking up the digest of {name}:{tag}",
                            lane=registry_lane(host))

    def delete_tag(self, index: QModelIndex) -> None:
        """Delete a tag's image, after a confirmation naming every tag that goes with it."""
        node = self._tag(index)
        if node is None:
            return
        repo = node.parent
        connection, name, tag = repo.parent.connection, repo.name, node.name
        page = self.repository_page
        page.banner.hide()
        page.header.spinner.start()
        emit(self._browser.statusMessage,
             f"Checking which tags of {name} point at the same image as {tag}…")
        host = connection.host
        number, key = next(self._checks), f"delete:{connection.host}/{name}"
        self._check = (number, key, name)
        self._check_said = None
        # (named: the header is every repository's page's, shown for another one too)
        self.check_label.setText(f"Listing the tags of {name}…")
        self.check_cancel.setToolTip(f"Stop looking at the tags of {name}: nothing is "
                                     "deleted (Esc)")
        self.check_label.show()
        self.check_cancel.show()
        self._escape.setEnabled(True)
        progress = self._progress

        def plan(cancel: CancelToken) -> DeletePlan:
            return plan_delete(connection, name, tag, cancel,
                               lambda done, total: emit(progress.looked, number, done, total))

        def failed(message: str) -> None:
            self._check_over(number)
            self._delete_failed(host, name, message, tag)

        self._runner.submit(
            plan,
            on_done=lambda plan: self._confirm_delete(connection, plan, number),
            on_error=failed,
            key=key,
            what=f"preparing to delete {name}:{tag}",
            lane=registry_lane(host),
        )

    def _looked(self, number: int, done: int, total: int) -> None:
        if self._check is not None and self._check[0] == number:
            text = (f"Checked {done:,} of {total:,} tag{'' if total == 1 else 's'} "
                    f"of {self._check[2]}…")
            self.check_label.setText(text)
            now = time.monotonic()
            if not self.repository_page.isVisible() and (
                    self._check_said is None or now - self._check_said >= CHECK_STATUS_S):
                # (begun from the tree with an image shown: the status bar says it)
                self._check_said = now
                emit(self._browser.statusMessage,
                     f"{text} Press Esc to stop: nothing is deleted.")

    def stop_check(self) -> None:
        """Stop the check before a delete (Cancel, Esc): nothing is deleted."""
        if self._check is None:
            return
        number, key, name = self._check
        self._runner.cancel(key)
        self._check_over(number)
        self.repository_page.header.spinner.stop()
        emit(self._browser.statusMessage,
             f"Stopped looking at the tags of {name}: nothing was deleted.")

    @property
    def checking(self) -> bool:
        """Whether a check before a delete is under way (and shown)."""
        return self._check is not None

    def _check_over(self, number: int) -> None:
        if self._check is None or self._check[0] != number:
            return  # (a later check is shown)
        self._check = None
        self.check_label.hide()
        self.check_cancel.hide()
        self._escape.setEnabled(False)

    def _confirm_delete(self, connection: Connection, plan: DeletePlan, number: int) -> None:
        self._check_over(number)
        self.repository_page.header.spinner.stop()
        self.repository_page.refresh()
        if not self._browser.confirm("Delete Image", delete_question(plan), "Delete"):
            emit(self._browser.statusMessage, "Nothing was deleted.")
            return
        self.repository_page.header.spinner.start()
        self._runner.submit(
            lambda cancel: delete_image(connection, plan, cancel),
            on_done=self._image_deleted,
            on_error=lambda message: self._delete_failed(plan.host, plan.repository, message),
            key=f"delete:{plan.host}/{plan.repository}",
            what=f"deleting {plan.repository}@{plan.digest}",
            lane=registry_lane(plan.host),
        )

    def _image_deleted(self, plan: DeletePlan) -> None:
        emit(self._browser.statusMessage, delete_result(plan))
        request = self._image_view.request
        gone = {f"docker://{tag_reference(plan.host, plan.repository, t)}" for t in plan.tags}
        repo_index = self.model.repository_index(plan.host, plan.repository)
        if request is not None and request.name in gone and repo_index.isValid():
            self.tree.setCurrentIndex(repo_index)
        if repo_index.isValid():
            # listed again as Refresh lists (the tags stay while they are read): the
            # table, and the focus in it, stay; the tag after the one deleted is selected
            self._browser.reload_keeping(repo_index)
            self.repository_page.refresh()
        emit(self._browser.deleted, plan)

    def _delete_failed(self, host: str, repository: str, message: str,
                       tag: str | None = None) -> None:
        """Say why in the repository's page (shown, if a tag's image was)."""
        page = self.repository_page
        page.header.spinner.stop()
        index = self.model.repository_index(host, repository)
        if index.isValid() and page.source_root != index:
            self._browser.select(index)
        page.refresh()
        page.banner.show_text(message)
        emit(self._browser.statusMessage, message)
        if tag is not None:
            # its image may have been deleted meanwhile by someone else: what the tag
            # points at now, rather than the digest it had
            self.model.look_again(host, repository, tag)

    # ------------------------------------------------------------------ tree actions

    def _copy_tree_name(self) -> None:
        index = self._browser.chosen_index()
        node = self.model.node(index)
        if isinstance(node, TagNode):
            self.copy_reference(index)
        elif isinstance(node, RepositoryNode):
            self._copy(f"{node.parent.host}/{node.name}")
        elif isinstance(node, RegistryNode):
            self._copy(node.host)

    def _delete_tree_row(self) -> None:
        index = self._browser.chosen_index()
        node = self.model.node(index)
        if isinstance(node, TagNode):
            self.delete_tag(index)
        elif isinstance(node, RepositoryNode) and node.pinned:
            self.model.forget_repository(index)
            emit(self._browser.settingsChanged)
        elif isinstance(node, RegistryNode):
            self._browser.remove_registry(node.host)

    def _tree_menu(self, position: QPoint) -> None:
        index = self.tree.indexAt(position)
        if not index.isValid():
            index = self._browser.chosen_index()
        elif index != self._browser.chosen_index() and self.model.flags(index) \
                & Qt.ItemFlag.ItemIsSelectable:
            self.tree.setCurrentIndex(index)  # the menu acts on the row it was opened on
        menu = self.tree_menu(index)
        menu.exec(self.tree.viewport().mapToGlobal(position))
        menu.deleteLater()

    def tree_menu(self, index: QModelIndex) -> QMenu:
        """The registries tree's context menu for the row ``index``: a tag's actions, a
        repository's or a registry's; Add Registry… on no row."""
        node = self.model.node(index)
        menu = QMenu(self.tree)
        held = QPersistentModelIndex(index)

        def on_row(act: Callable[[QModelIndex], object]) -> Callable[[], None]:
            """``act`` on the row the menu was opened on, wherever it is by then (rows
            above it may come and go while the menu is open), or on nothing if it went."""
            def run() -> None:
                if held.isValid():
                    act(held.sibling(held.row(), held.column()))
            return run

        if isinstance(node, RepositoryNode | RegistryNode) and \
                self._browser.add_paste is not None:
            self._browser.add_paste(menu, self.tree, index)  # the keyboard's drop
        if isinstance(node, TagNode):
            self._add_tag_menu(menu, self.tree_actions)
            if self._browser.copy_to_action is not None:
                menu.addSeparator()
                menu.addAction(self._browser.copy_to_action)
        elif isinstance(node, RepositoryNode):
            host, name = node.parent.host, node.name
            menu.addAction("Copy &Name", lambda: self._copy(f"{host}/{name}"))
            menu.addAction("&Reload Tags", on_row(self._browser.reload_keeping))
            if node.pinned:
                menu.addSeparator()
                menu.addAction("Re&move from List", on_row(self._forget))
        elif isinstance(node, RegistryNode):
            host = node.host
            menu.addAction("&Open Repository…", on_row(self._focus_open_field))
            menu.addAction("Copy &Host", lambda: self._copy(host))
            menu.addAction("&Reload", on_row(self._browser.reload_keeping))
            if node.more:  # (the tree reads a page as its end comes into sight)
                menu.addAction("&Load All Repositories", on_row(self.model.fetch_all))
            menu.addSeparator()
            menu.addAction("&Edit Registry…", lambda: self._browser.edit_registry(host))
            menu.addAction("Re&move Registry…", lambda: self._browser.remove_registry(host))
        else:
            menu.addAction(self._browser.add_action)
        return menu

    def _table_menu(self, position: QPoint) -> None:
        table = self.repository_page.table
        proxy_index = table.indexAt(position)
        if proxy_index.isValid():
            select_row(table, proxy_index.row())
        index = self.repository_page.current_tag()
        if not index.isValid():
            return
        menu = QMenu(table)
        self._add_tag_menu(menu, self.table_actions)
        if self._browser.copy_to_action is not None:
            menu.addSeparator()
            menu.addAction(self._browser.copy_to_action)
        menu.exec(table.viewport().mapToGlobal(position))

    @staticmethod
    def _add_tag_menu(menu: QMenu, actions: dict[str, QAction]) -> None:
        """The tag actions (they act on the current row of their view)."""
        menu.addAction(actions["open"])
        menu.addSeparator()
        for name in ("copy_reference", "copy_digest", "copy_podman", "copy_docker"):
            menu.addAction(actions[name])
        menu.addSeparator()
        menu.addAction(actions["delete"])

    def _forget(self, index: QModelIndex) -> None:
        self.model.forget_repository(index)
        emit(self._browser.settingsChanged)

    def _forget_shown_repository(self, index: QModelIndex) -> None:
        """"Remove from List" on the page of a repository opened by name: off the list,
        and the registry's page shown."""
        node = self.model.node(index)
        if not isinstance(node, RepositoryNode) or not node.pinned:
            return
        registry = self.model.registry_index(node.parent.host)
        self._forget(QModelIndex(index))
        self._browser.select(registry)

    def _focus_open_field(self, index: QModelIndex) -> None:
        self._browser.select(index)
        self._browser.registry_page.open_edit.setFocus()
