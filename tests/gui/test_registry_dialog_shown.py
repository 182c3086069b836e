"""What the Add Registry dialog shows, as a person sees it: where a field's error sits,
and a failed test's heading."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QProxyStyle,
    QStyle,
    QStyleFactory,
    QWidget,
)
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from spyglass.gui.themed import color_links
from tests.gui.guitools import (
    WAIT_MS,
    SampleFacts,
    fill_registry_dialog,
    show_image,
    test_connection,
)
from tests.helpers.registry import free_port

pytestmark = pytest.mark.gui


def test_a_host_error_sits_right_under_its_field(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """The red sentence sat a blank line below the field, another gap before the
    checkbox: it looked unrelated to the field."""
    window = make_window()
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, "https://exa mple/ foo")
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.host_error.isVisible(), timeout=WAIT_MS)
    assert "is not a registry host" in dialog.host_error.text()

    def top(widget: QWidget) -> int:
        return widget.mapTo(dialog, widget.rect().topLeft()).y()

    def bottom(widget: QWidget) -> int:
        return widget.mapTo(dialog, widget.rect().bottomLeft()).y()

    gap_above = top(dialog.host_error) - bottom(dialog.host_edit)
    assert 0 < gap_above <= 6
    # the text starts at the label's top, not centred in room it was given
    lines = dialog.host_error.fontMetrics().lineSpacing()
    assert dialog.host_error.height() <= 3 * lines
    gap_below = top(dialog.insecure_box) - bottom(dialog.host_error)
    assert gap_below <= 12
    # Alt+R still reaches the field
    assert any(label.buddy() is dialog.host_edit for label in dialog.findChildren(
        type(dialog.host_error)) if label.text() == "&Registry:")
    dialog.close()


def test_a_failed_test_heads_its_sentence_without_repeating_it(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """Unreachable: bold "Cannot reach the registry" over "Cannot reach the registry
    127.0.0.1:59917: connection refused."."""
    window = make_window()
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, f"127.0.0.1:{free_port()}")
    heading, sentence = test_connection(qtbot, dialog).split("\n", 1)
    assert sentence.startswith("Cannot reach the registry 127.0.0.1:")
    assert heading == "The connection failed"
    assert not sentence.lower().startswith(heading.lower())
    dialog.close()


def test_registries_are_added_edited_and_removed_by_one_name_each(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """"Add a registry…" (sidebar), "Add Registry…" (menu), "Add a container registry"
    (the dialog's heading); "Edit…" in a registry page's header over "Edit Registry…" in
    its panel."""
    window = make_window()
    assert window.registries.add_action.text().replace("&", "") == "Add Registry…"
    link = window.sidebar.add_registry_link
    assert link.text() == color_links("<a href='add'>Add Registry…</a>", link.palette())
    assert window.sidebar.add_registry_button.toolTip() == "Add Registry"
    dialog = window.registries.add_registry()
    headings = [label.text() for label in dialog.findChildren(QLabel)
                if label.font().bold()]
    assert headings == ["Add Registry"]
    dialog.close()
    page = window.registries.registry_page
    assert page.edit_button.text() == page.panel_edit_button.text() == "Edit Registry…"
    assert page.remove_button.text() == "Remove Registry…"


def test_dialog_buttons_wear_no_icons_and_about_closes_with_close(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """Cancel, Close and OK wore icons (where the platform theme gives them) beside Add,
    Add Anyway and Copy, which wore none; About's only button said OK. (The offscreen
    platform gives standard buttons no icon; under X11 with no desktop theme, as
    ``xvfb-run`` runs it, they had one.)"""
    window = make_window()
    dialog = window.registries.add_registry()
    cancel = dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    assert cancel is not None and cancel.icon().isNull()
    assert all(button.icon().isNull() for button in dialog.buttons.buttons())
    dialog.close()
    about = window.about_box()
    [button] = about.buttons()
    assert about.standardButton(button) == QMessageBox.StandardButton.Close
    assert button.text().replace("&", "") == "Close" and button.icon().isNull()
    about.close()


class _IconsOnButtons(QProxyStyle):
    """A platform theme that puts icons on standard dialog buttons (plain X11, Xfce)."""

    def styleHint(self, hint: QStyle.StyleHint, option: object = None, widget: object = None,
                  returnData: object = None) -> int:
        if hint == QStyle.StyleHint.SH_DialogButtonBox_ButtonsHaveIcons:
            return 1
        return super().styleHint(hint, option, widget, returnData)


def test_no_dialog_gives_its_standard_buttons_icons_where_the_theme_would(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts,
        tmp_path: Path) -> None:
    """Under a theme that puts icons on Cancel and Close, the Copy dialog's Cancel wore one
    beside Copy, which wore none; the Transfer Details and Layer Files dialogs' Close too."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.style().name()
    app.setStyle(_IconsOnButtons(QStyleFactory.create(before)))
    try:
        window = make_window()
        window.open_location(sample.layout, select=False)
        show_image(qtbot, window, "tools:2024.1")
        probe = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        cancel = probe.button(QDialogButtonBox.StandardButton.Cancel)
        assert cancel is not None and not cancel.icon().isNull()  # (the theme does give one)
        dialog = window.copying.open_dialog(window.copying.current_image(),
                                            destination=f"oci:{tmp_path / 'out'}:x")
        assert all(button.icon().isNull() for button in dialog.buttons.buttons())
        dialog.close()
        view = window.image_view
        view.open_layer_files(view.layers.model.rows[0].descriptor, number=1)
        files = view.file_dialogs[-1]
        assert all(box_button.icon().isNull() for box in files.findChildren(QDialogButtonBox)
                   for box_button in box.buttons())
        files.close()
    finally:
        app.setStyle(before)


class _GnomeButtonOrder(QProxyStyle):
    """A platform whose dialogs put Cancel before the accept button (GNOME's order)."""

    def styleHint(self, hint: QStyle.StyleHint, option: object = None, widget: object = None,
                  returnData: object = None) -> int:
        if hint == QStyle.StyleHint.SH_DialogButtonLayout:
            return QDialogButtonBox.ButtonLayout.GnomeLayout.value
        return super().styleHint(hint, option, widget, returnData)


def _tab_through_buttons(qtbot: QtBot, box: QDialogButtonBox, before: QWidget) -> list[str]:
    """The buttons of ``box`` in the order Tab reaches them from ``before``."""
    before.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(before.hasFocus, timeout=WAIT_MS)
    buttons = box.buttons()
    reached: list[str] = []
    for _ in range(10):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focused = QApplication.focusWidget()
        if focused in buttons:
            reached.append(buttons[buttons.index(focused)].text())
        elif reached:
            break
    return reached


def _drawn(qtbot: QtBot, box: QDialogButtonBox) -> list[str]:
    """The buttons of ``box`` from left to right, once they are laid out."""
    qtbot.waitUntil(lambda: len({b.x() for b in box.buttons()}) == len(box.buttons()),
                    timeout=WAIT_MS)
    return [button.text() for button in sorted(box.buttons(), key=lambda b: b.x())]


@pytest.mark.parametrize("gnome", [False, True], ids=["fusion", "gnome-order"])
def test_tab_goes_through_a_dialogs_buttons_as_they_are_drawn(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts,
        tmp_path: Path, gnome: bool) -> None:
    """The Add Registry dialog added Cancel before Add, and Fusion draws Add first: Tab
    went Test Connection → Cancel → Add, Add drawn left of Cancel. (The Copy dialog,
    which adds Copy first, did the same where Cancel is drawn first.)"""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.style().name()
    if gnome:
        app.setStyle(_GnomeButtonOrder(QStyleFactory.create(before)))
    try:
        window = make_window()
        dialog = window.registries.add_registry()
        qtbot.waitExposed(dialog)
        drawn = _drawn(qtbot, dialog.buttons)
        assert drawn == (["Cancel", "Add"] if gnome else ["Add", "Cancel"])
        assert _tab_through_buttons(qtbot, dialog.buttons, dialog.test_button) == drawn
        dialog.reject()
        window.open_location(sample.layout, select=False)
        show_image(qtbot, window, "tools:2024.1")
        copy = window.copying.open_dialog(window.copying.current_image(),
                                          destination=f"oci:{tmp_path / 'out'}:x")
        qtbot.waitExposed(copy)
        qtbot.waitUntil(copy.copy_button.isEnabled, timeout=WAIT_MS)  # (ready)
        drawn = _drawn(qtbot, copy.buttons)
        last = copy.parallel_spin  # (the field before the buttons)
        assert _tab_through_buttons(qtbot, copy.buttons, last) == drawn
        copy.reject()
    finally:
        app.setStyle(before)
