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
    layers: int | None = None
    """How many layers the manifest has (None: not known); a step whose layer is past
    them names a layer the image does not have."""

    @property
    def missing(self) -> bool:
        """The step says it made a layer the manifest does not have."""
        return self.layer is not None and self.layers is not None and self.layer > self.layers


def history_rows(config: ImageConfig | None, layers: int | None = None) -> list[HistoryRow]:
    rows: list[HistoryRow] = []
    layer = 0
    for entry in config.history if config is not None else ():
        if entry.empty_layer:
            rows.append(HistoryRow(entry, None, layers))
        else:
            layer += 1
            rows.append(HistoryRow(entry, layer, layers))
    return rows


def history_mismatch(rows: list[HistoryRow], layers: int) -> str:
    """What to say when the history's steps that made a layer are not one per layer of
    the manifest ("" when they are, or the history is empty)."""
    made = sum(1 for row in rows if row.layer is not None)
    if not rows or made == layers:
        return ""
    return (f"the history names {made} layer{'s' if made != 1 else ''}; the manifest has "
            f"{layers}")


class HistoryModel(RowTableModel[HistoryRow]):
    """The build history: created, the step, the layer it made (or "empty"), the comment."""

    columns = (
        Column("Created"),
        Column("Layer", "The layer the step made; empty steps only changed the config",
               centered=True),
        Column("Created by", "The build step, as a Dockerfile line"),
        Column("Comment"),
    )

    def set_config(self, config: ImageConfig | None, layers: int | None = None) -> None:
        self.set_rows(history_rows(config, layers))

    def display(self, row: HistoryRow, column: int) -> str:
        if column == CREATED:
            return format_timestamp(row.entry.created, empty="")
        if column == STEP:
            return history_step(row.entry.created_by)
        if column == LAYER:
            return "empty" if row.layer is None else "—" if row.missing else str(row.layer)
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
            if row.missing:
                return (f"The history says this step made layer {row.layer}, but the "
                        f"manifest has {row.layers} layer{'s' if row.layers != 1 else ''}: "
                        "the history does not match the image's layers.")
            return ("This step changed only the config (empty_layer)" if row.layer is None
                    else f"This step made layer {row.layer}")
        if column == COMMENT:
            return entry.comment or None
        return None

    def font(self, row: HistoryRow, column: int) -> QFont | None:
        if column == LAYER and (row.layer is None or row.missing):
            font = QFont()
            font.setItalic(True)
            return font
        return super().font(row, column)

    def foreground(self, row: HistoryRow, column: int) -> Any:
        if column == LAYER and (row.layer is None or row.missing):
            return muted_color()
        return None

    def sort_value(self, row: HistoryRow, column: int) -> Any:
        if column == LAYER:
            return row.layer or 0
        return self.display(row, column)
