"""The list of open documents: click one to show it, close one from its context menu or the button."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QMenu, QPushButton, QVBoxLayout, QWidget

__all__ = ["DocumentList"]


class DocumentList(QWidget):
    """Names of the open documents; the active one is selected.

    Signals
    -------
    activateRequested(int)
        The user chose document ``index``.
    closeRequested(int)
        The user asked to close document ``index``.
    """

    activateRequested = Signal(int)
    closeRequested = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setToolTip("Documents of this project: click to show one; every document keeps its own scan, "
                             "variants and undo history")
        self.list.setContextMenuPolicy(Qt.CustomContextMenu)
        self.close_button = QPushButton("Close Document")
        self.close_button.setToolTip("Close the document shown (asks when it holds unsaved work)")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._updating = False
        self.list.currentRowChanged.connect(self._row_changed)
        self.list.customContextMenuRequested.connect(self._menu)
        self.close_button.clicked.connect(lambda: self.closeRequested.emit(self.list.currentRow()))

    def set_documents(self, names: list[str], active: int, tips: list[str] | None = None) -> None:
        """Show ``names`` with ``active`` selected (``tips``: a tooltip for each)."""
        self._updating = True
        try:
            self.list.clear()
            for k, name in enumerate(names):
                item = QListWidgetItem(name)
                if tips is not None:
                    item.setToolTip(tips[k])
                self.list.addItem(item)
            if 0 <= active < len(names):
                self.list.setCurrentRow(active)
        finally:
            self._updating = False
        self.close_button.setEnabled(bool(names))

    def names(self) -> list[str]:
        return [self.list.item(k).text() for k in range(self.list.count())]

    def _row_changed(self, row: int) -> None:
        if not self._updating and row >= 0:
            self.activateRequested.emit(row)

    def _menu(self, point) -> None:
        row = self.list.indexAt(point).row()
        if row < 0:
            return
        menu = QMenu(self)
        menu.addAction("Show", lambda: self.activateRequested.emit(row))
        menu.addAction("Close", lambda: self.closeRequested.emit(row))
        menu.exec(self.list.viewport().mapToGlobal(point))
