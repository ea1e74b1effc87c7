"""The variant list: (multi-)mutants the user collects, with their additive scan score and model scores."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLineEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

__all__ = ["VariantList"]


class VariantList(QWidget):
    """A table of variants: mutant, additive score from the scan, score from "Score mutations".

    Signals
    -------
    addRequested(str)
        The user typed a mutant (``A42G:K45R``) and pressed Add/Enter.
    removeRequested(list)
        Names of the variants to remove.
    applyRequested(str)
        Apply this variant to the sequence.
    positionsSelected(list, bool)
        0-based indices of the clicked variant's positions.
    """

    addRequested = Signal(str)
    removeRequested = Signal(list)
    applyRequested = Signal(str)
    positionsSelected = Signal(list, bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entry = QLineEdit()
        self.entry.setPlaceholderText("add a mutant, e.g. E104K:G238S")
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.apply_button = QPushButton("Apply to sequence")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Variant", "Scan (additive)", "Model score"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        top = QHBoxLayout()
        top.addWidget(self.entry, 1)
        top.addWidget(self.add_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.apply_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._positions: dict[str, list[int]] = {}

        self.entry.returnPressed.connect(self._add)
        self.add_button.clicked.connect(self._add)
        self.remove_button.clicked.connect(self._remove)
        self.apply_button.clicked.connect(self._apply)
        self.table.itemSelectionChanged.connect(self._selected)

    def set_variants(self, rows: list[tuple[str, list[int], float, float | None, str]]) -> None:
        """``rows``: (name, 0-based positions, additive scan score, model score or None, score tooltip)."""
        self.table.setRowCount(len(rows))
        self._positions = {}
        for r, (name, positions, additive, model_score, note) in enumerate(rows):
            self._positions[name] = positions
            self.table.setItem(r, 0, QTableWidgetItem(name))
            for c, value in ((1, additive), (2, model_score)):
                text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if c == 2 and note:
                    item.setToolTip(note)
                self.table.setItem(r, c, item)

    def names(self) -> list[str]:
        return [self.table.item(r, 0).text() for r in range(self.table.rowCount())]

    def selected_names(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        return [self.table.item(r, 0).text() for r in rows]

    def _add(self) -> None:
        text = self.entry.text().strip()
        if text:
            self.addRequested.emit(text)

    def _remove(self) -> None:
        names = self.selected_names()
        if names:
            self.removeRequested.emit(names)

    def _apply(self) -> None:
        for name in self.selected_names()[:1]:
            self.applyRequested.emit(name)

    def _selected(self) -> None:
        positions = sorted({p for name in self.selected_names() for p in self._positions.get(name, [])})
        if positions:
            self.positionsSelected.emit(positions, False)
