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
    noteEdited(str, str)
        The user wrote a note for a variant: its name and the text (the Note column is editable).
    """

    addRequested = Signal(str)
    removeRequested = Signal(list)
    applyRequested = Signal(str)
    positionsSelected = Signal(list, bool)
    noteEdited = Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entry = QLineEdit()
        self.entry.setPlaceholderText("add a mutant, e.g. E104K:G238S")
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        self.apply_button = QPushButton("Apply to sequence")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Variant", "Scan (additive)", "Model score", "Note"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed
                                   | QAbstractItemView.AnyKeyPressed)  # only the Note cells are editable
        self.table.horizontalHeaderItem(3).setToolTip("Your notes on the variant (double-click to write); kept "
                                                      "in the project")
        self._filling = False
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
        self.table.itemChanged.connect(self._item_changed)

    def set_headers(self, scan: str, model: str) -> None:
        """Name the score columns after what made them: the scan shown, and the model and method of the model
        scores (the full names in the headers' tooltips)."""
        for column, (short, full) in ((1, scan), (2, model)):
            item = self.table.horizontalHeaderItem(column)
            item.setText(short)
            item.setToolTip(full)

    def set_variants(self, rows: list[tuple]) -> None:
        """``rows``: (name, 0-based positions, additive scan score, model score or None, score tooltip[,
        note])."""
        self._filling = True
        try:
            self.table.setRowCount(len(rows))
            self._positions = {}
            for r, row in enumerate(rows):
                name, positions, additive, model_score, tip = row[:5]
                note = row[5] if len(row) > 5 else ""
                self._positions[name] = positions
                self.table.setItem(r, 0, _fixed(name))
                for c, value in ((1, additive), (2, model_score)):
                    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"
                    item = _fixed(text)
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                    if c == 2 and tip:
                        item.setToolTip(tip)
                    self.table.setItem(r, c, item)
                self.table.setItem(r, 3, QTableWidgetItem(note))
        finally:
            self._filling = False

    def notes(self) -> list[str]:
        return [self.table.item(r, 3).text() for r in range(self.table.rowCount())]

    def _item_changed(self, item) -> None:
        if not self._filling and item.column() == 3:
            self.noteEdited.emit(self.table.item(item.row(), 0).text(), item.text())

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


def _fixed(text: str) -> QTableWidgetItem:
    """A cell the user reads but does not edit."""
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemIsEditable)
    return item
