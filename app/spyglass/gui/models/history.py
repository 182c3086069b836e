"""The History table: every build step of an image's config, empty ones included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtGui import QFont

from spyglass.core.config import HistoryEntry, ImageConfig
from spyglass.gui.colors import muted_color
from spyglass.gui.formatting import format_timestamp, history_step
from spyglass.gui.models.table import Column, RowTableModel

CREATED, LAYER, STEP, COMMENT = range(4)


@dataclass(frozen=True)
class HistoryRow:
    """One build step; ``layer`` is the number of the layer it made, None for an empty one."""

    entry: HistoryEntry
    layer: int | None


def history_rows(config: ImageConfig | None) -> list[HistoryRow]:
    rows: list[HistoryRow] = []
    layer = 0
    for entry in config.history if config is not None else ():
        if entry.empty_layer:
            rows.append(HistoryRow(entry, None))
        else:
            layer += 1
            rows.append(HistoryRow(entry, layer))
    return rows


class HistoryModel(RowTableModel[HistoryRow]):
    """The build history: created, the step, the layer it made (or "empty"), the comment."""

    columns = (
        Column("Created"),
        Column("Layer", "The layer the step made; empty steps only changed the config",
               centered=True),
        Column("Created by", "The build step, as a Dockerfile line"),
        Column("Comment"),
    )

    def set_config(self, config: ImageConfig | None) -> None:
        self.set_rows(history_rows(config))

    def display(self, row: HistoryRow, column: int) -> str:
        if column == CREATED:
            return format_timestamp(row.entry.created, empty="")
        if column == STEP:
            return history_step(row.entry.created_by)
        if column == LAYER:
            return "empty" if row.layer is None else str(row.layer)
        if column == COMMENT:
            return row.entry.comment
        return ""

    def tooltip(self, row: HistoryRow, column: int) -> str | None:
        entry = row.entry
        if column == STEP:
            lines = [entry.created_by] if entry.created_by else []
            if entry.author:
                lines.append(f"Author: {entry.author}")
            return "\n".join(lines) or None
        if column == CREATED:
            return entry.created
        if column == LAYER:
            return ("This step changed only the config (empty_layer)" if row.layer is None
                    else f"This step made layer {row.layer}")
        if column == COMMENT:
            return entry.comment or None
        return None

    def font(self, row: HistoryRow, column: int) -> QFont | None:
        if column == LAYER and row.layer is None:
            font = QFont()
            font.setItalic(True)
            return font
        return super().font(row, column)

    def foreground(self, row: HistoryRow, column: int) -> Any:
        if column == LAYER and row.layer is None:
            return muted_color()
        return None

    def sort_value(self, row: HistoryRow, column: int) -> Any:
        if column == LAYER:
            return row.layer or 0
        return self.display(row, column)
