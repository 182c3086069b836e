"""Long names (a repository nested deep, a tag of the 128 characters allowed) are cut
where they are shown, whole in their tooltip: they never set the window's least width,
which a 1024 px screen must hold."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from spyglass.gui import icons
from spyglass.gui.views.registry_pages import PageHeader

pytestmark = pytest.mark.gui

LONG_REPOSITORY = "platform-team/nightly-builds/very/deeply/nested/repository-name-for-demo"


def test_a_long_repository_name_is_cut_in_the_page_header(qtbot: QtBot) -> None:
    """The repository page's title was a label as wide as the name: the window grew to
    1240 px on a 1024 px screen, and stayed that wide on every other page."""
    header = PageHeader()
    qtbot.addWidget(header)
    header.add_button("Copy Reference")
    header.set(icons.repository_icon(), LONG_REPOSITORY, "127.0.0.1:5000")
    assert header.minimumSizeHint().width() < 400, header.minimumSizeHint()
    header.resize(400, header.sizeHint().height())
    header.show()
    qtbot.waitExposed(header)
    title = header.title
    assert title.text() == LONG_REPOSITORY
    qtbot.waitUntil(lambda: title.shown_text() != LONG_REPOSITORY)
    shown = title.shown_text()
    assert shown.startswith("platform") and shown.endswith("for-demo") and "…" in shown
    assert title.toolTip() == LONG_REPOSITORY
