"""The predicted aligned error (PAE) of a prediction, as AlphaFold DB draws it: an N x N map from dark green
(confident relative position) to white (no confidence), residues labelled in the document's numbering.

Hovering names both residues and the error; dragging over a block selects the residues of its rows and
columns everywhere (the domains the prediction places confidently against each other).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QToolTip, QWidget

__all__ = ["PaeView", "pae_colour_table"]

#: AlphaFold DB's PAE colours: dark green at 0 A to white at the largest error.
_DARK = np.array([30, 95, 44])
_LIGHT = np.array([255, 255, 255])


def pae_colour_table(steps: int = 256) -> np.ndarray:
    """``steps`` x 3 RGB bytes from dark green (no error) to white (the largest error)."""
    t = np.linspace(0.0, 1.0, steps)[:, None]
    return np.round(_DARK + (_LIGHT - _DARK) * t).astype(np.uint8)


class PaeView(QWidget):
    """The PAE map of one prediction (:meth:`set_pae`), or a line saying there is none.

    Signals
    -------
    positionsSelected(list, bool)
        0-based positions of the rows and columns dragged over (the views' common signature).
    """

    positionsSelected = Signal(list, bool)
    MARGIN = 28

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(200, 200)
        self.setMouseTracking(True)
        self.matrix: np.ndarray | None = None
        self.max_value = 30.0
        self.title = ""
        self.indices: list[int | None] = []  # document position of each matrix row (None: not in the document)
        self._describe: Callable[[int], str] | None = None
        self._image: QImage | None = None
        self._drag: tuple[QPoint, QPoint] | None = None
        self.empty_text = "No predicted aligned error: predict a structure (Run \u25b8 Predict Structure) or open " \
                          "an AlphaFold DB or ColabFold model with its PAE file"

    def set_pae(self, matrix, max_value: float, title: str, indices=None,
                describe: Callable[[int], str] | None = None) -> None:
        """Show ``matrix`` (N x N, angstroms) scaled to ``max_value``; ``indices`` maps each row to a 0-based
        document position (default the row number), ``describe`` names a position."""
        self.matrix = None if matrix is None else np.asarray(matrix, dtype=float)
        self.max_value = float(max_value) if max_value and max_value > 0 else 30.0
        self.title = title
        self.setToolTip(title)
        n = 0 if self.matrix is None else len(self.matrix)
        self.indices = list(indices) if indices is not None else list(range(n))
        self._describe = describe
        self._image = None
        if self.matrix is not None:
            table = pae_colour_table()
            level = np.clip(self.matrix / self.max_value, 0.0, 1.0)
            rgb = np.ascontiguousarray(table[np.round(level * (len(table) - 1)).astype(int)])
            image = QImage(rgb.data, n, n, 3 * n, QImage.Format.Format_RGB888)
            self._image = image.copy()  # own the pixels (rgb goes out of scope)
        self.update()

    def clear(self) -> None:
        self.set_pae(None, 30.0, "")

    def _plot_rect(self) -> QRect:
        side = max(min(self.width(), self.height() - 18) - 2 * self.MARGIN, 10)
        return QRect(self.MARGIN, self.MARGIN + 14, side, side)

    def cell_at(self, point: QPoint) -> tuple[int, int] | None:
        """(row, column) of the matrix under a widget point, or None."""
        if self.matrix is None:
            return None
        rect = self._plot_rect()
        if not rect.contains(point):
            return None
        n = len(self.matrix)
        row = min(int((point.y() - rect.top()) * n / rect.height()), n - 1)
        column = min(int((point.x() - rect.left()) * n / rect.width()), n - 1)
        return row, column

    def cell_point(self, row: int, column: int) -> QPoint:
        """The widget point at the centre of a cell (for tests)."""
        rect = self._plot_rect()
        n = len(self.matrix)
        return QPoint(int(rect.left() + (column + 0.5) * rect.width() / n), int(rect.top() + (row + 0.5) * rect.height() / n))

    def _name(self, row: int) -> str:
        index = self.indices[row] if row < len(self.indices) else None
        if index is None:
            return f"residue {row + 1} of the model"
        return self._describe(index) if self._describe is not None else str(index + 1)

    def tooltip_text(self, row: int, column: int) -> str:
        return (f"aligned on {self._name(row)}, error at {self._name(column)}: "
                f"{self.matrix[row, column]:.1f} \u00c5")

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        painter.setPen(QPen(self.palette().text().color()))
        if self.matrix is None or self._image is None:
            painter.drawText(self.rect().adjusted(8, 8, -8, -8), Qt.AlignCenter | Qt.TextWordWrap, self.empty_text)
            return
        painter.drawText(QRect(4, 2, self.width() - 8, 16), Qt.AlignLeft | Qt.AlignVCenter,
                         f"PAE 0 (green) to {self.max_value:.0f} \u00c5 (white) \u2014 {self.title}")
        rect = self._plot_rect()
        painter.drawImage(rect, self._image)
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        painter.drawText(QRect(rect.left(), rect.bottom() + 2, rect.width(), 14), Qt.AlignCenter, "scored residue")
        painter.save()
        painter.translate(rect.left() - 4, rect.center().y())
        painter.rotate(-90)
        painter.drawText(QRect(-80, -14, 160, 14), Qt.AlignCenter, "aligned residue")
        painter.restore()
        if self._drag is not None:
            painter.setPen(QPen(QColor(230, 120, 20), 1, Qt.DashLine))
            painter.drawRect(QRect(self._drag[0], self._drag[1]).normalized())

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        point = event.position().toPoint()
        if self._drag is not None:
            self._drag = (self._drag[0], point)
            self.update()
            return
        cell = self.cell_at(point)
        if cell is not None:
            QToolTip.showText(event.globalPosition().toPoint(), self.tooltip_text(*cell), self)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if self.matrix is not None:
            self._drag = (event.position().toPoint(), event.position().toPoint())

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag is None:
            return
        start, end = self._drag[0], event.position().toPoint()
        self._drag = None
        self.update()
        self.select_block(self.cell_at(start), self.cell_at(end))

    def select_block(self, first: tuple[int, int] | None, last: tuple[int, int] | None) -> None:
        """Select the document positions of the rows and columns between two cells."""
        if first is None or last is None:
            return
        rows = range(min(first[0], last[0]), max(first[0], last[0]) + 1)
        columns = range(min(first[1], last[1]), max(first[1], last[1]) + 1)
        chosen = {self.indices[k] for k in (*rows, *columns) if k < len(self.indices) and self.indices[k] is not None}
        if chosen:
            self.positionsSelected.emit(sorted(chosen), False)
