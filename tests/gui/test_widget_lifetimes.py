"""Helpers that follow a model for a view die with the view: a model that outlives the
view (a shared model, a page rebuilt) must not call into the deleted view."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from spyglass.gui.views.widgets import KeepCurrentInView

pytestmark = pytest.mark.gui


def test_rows_coming_in_after_the_view_went_call_nothing(qtbot: QtBot) -> None:
    """KeepCurrentInView followed the model through lambdas, which Qt keeps after the
    helper and its view are deleted: rows inserted then raised "Internal C++ object
    (QTableView) already deleted"."""
    model = QStandardItemModel()
    for n in range(5):
        model.appendRow(QStandardItem(str(n)))
    view = QTableView()
    view.setModel(model)
    view.show()
    view.setCurrentIndex(model.index(2, 0))
    KeepCurrentInView(view)
    model.insertRow(0, QStandardItem("before"))  # (followed while the view lives)
    qtbot.wait(10)
    assert view.currentIndex().row() == 3
    shiboken6.delete(view)
    model.insertRow(0, QStandardItem("after"))
    model.layoutAboutToBeChanged.emit()
    model.layoutChanged.emit()
    qtbot.wait(10)  # (an exception in a slot fails the test: pytest-qt catches it)
    assert model.rowCount() == 7
