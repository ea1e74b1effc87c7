"""A scatter plot of predicted against measured values, one point per variant, linked to the selection:
drag a rectangle over points to select their positions everywhere; positions selected elsewhere light up."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

__all__ = ["ScatterPlot"]


class ScatterPlot(QWidget):
    """Predicted (x) against measured (y), one point per measured variant; drag a rectangle to select.

    Signals
    -------
    positionsSelected(list, bool)
        0-based positions of the points dragged over (the views' common signature).
    """

    positionsSelected = Signal(list, bool)
    MARGIN = 36
    LEFT = 64  # room for the y title and the y range's labels beside it

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(220, 180)
        self.x = np.zeros(0)
        self.y = np.zeros(0)
        self.x_error = np.zeros(0)  # +/- this along x (a model's standard deviation); NaN: no bar
        self.positions: list[list[int]] = []
        self.highlighted: set[int] = set()  # 0-based positions selected anywhere
        self._drag: tuple[QPointF, QPointF] | None = None
        self.x_title, self.y_title = "predicted", "measured"
        self.empty_text = "Import measurements and run a scan to compare them"

    def set_points(self, x, y, positions, x_title: str = "predicted", y_title: str = "measured",
                   x_error=None) -> None:
        """Points (x, y) of the variants at ``positions``; ``x_error`` draws a bar of +/- that much along x."""
        self.x, self.y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        self.x_error = np.full(len(self.x), np.nan) if x_error is None else np.asarray(x_error, dtype=float)
        self.positions = [list(p) for p in positions]
        self.x_title, self.y_title = x_title, y_title
        self.update()

    def set_highlight(self, indices) -> None:
        self.highlighted = set(indices)
        self.update()

    def _ranges(self):
        ok = np.isfinite(self.x) & np.isfinite(self.y)
        if not ok.any():
            return None
        x, y = self.x[ok], self.y[ok]
        pad_x = (x.max() - x.min()) * 0.05 or 1.0
        pad_y = (y.max() - y.min()) * 0.05 or 1.0
        return x.min() - pad_x, x.max() + pad_x, y.min() - pad_y, y.max() + pad_y

    def _to_screen(self, x: float, y: float, ranges) -> QPointF:
        x0, x1, y0, y1 = ranges
        w, h = self.width() - self.LEFT - self.MARGIN, self.height() - 2 * self.MARGIN
        return QPointF(self.LEFT + (x - x0) / (x1 - x0) * w, self.height() - self.MARGIN - (y - y0) / (y1 - y0) * h)

    def points_in(self, rect: QRectF) -> list[int]:
        """Indices of the points inside a rectangle of widget coordinates."""
        ranges = self._ranges()
        if ranges is None:
            return []
        return [k for k in range(len(self.x)) if math.isfinite(self.x[k]) and math.isfinite(self.y[k])
                and rect.contains(self._to_screen(self.x[k], self.y[k], ranges))]

    def select_points(self, indices) -> None:
        """Select these points: their positions go to the selection everywhere."""
        positions = sorted({p for k in indices for p in self.positions[k]})
        self.positionsSelected.emit(positions, False)

    def point_position(self, k: int) -> QPointF:
        """Where point ``k`` is drawn (for tests and tooltips)."""
        return self._to_screen(self.x[k], self.y[k], self._ranges())

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        ranges = self._ranges()
        text = self.palette().text().color()
        painter.setPen(QPen(text))
        m, left = self.MARGIN, self.LEFT
        painter.drawLine(left, self.height() - m, self.width() - m, self.height() - m)
        painter.drawLine(left, m, left, self.height() - m)
        painter.drawText(QRectF(left, self.height() - m + 4, self.width() - left - m, m - 6), Qt.AlignCenter,
                         self.x_title)
        painter.save()
        painter.translate(10, self.height() / 2)
        painter.rotate(-90)
        span = max(40.0, self.height() - 2.0 * m)
        painter.drawText(QRectF(-span / 2, -8, span, 16), Qt.AlignCenter,
                         painter.fontMetrics().elidedText(self.y_title, Qt.ElideMiddle, int(span)))
        painter.restore()
        if ranges is None:
            painter.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.empty_text)
            return
        x0, x1, y0, y1 = ranges
        painter.drawText(QRectF(left - 30, self.height() - m + 2, 60, 14), Qt.AlignCenter, f"{x0:.3g}")
        painter.drawText(QRectF(self.width() - m - 30, self.height() - m + 2, 60, 14), Qt.AlignCenter, f"{x1:.3g}")
        painter.drawText(QRectF(18, self.height() - m - 14, left - 20, 14), Qt.AlignRight | Qt.AlignVCenter, f"{y0:.3g}")
        painter.drawText(QRectF(18, m, left - 20, 14), Qt.AlignRight | Qt.AlignVCenter, f"{y1:.3g}")
        painter.setRenderHint(QPainter.Antialiasing)
        normal, chosen = QColor(40, 90, 180, 150), QColor(230, 120, 20)
        painter.save()
        painter.setClipRect(QRectF(left, m, self.width() - left - m, self.height() - 2 * m))  # bars stay inside
        painter.setPen(QPen(QColor(40, 90, 180, 45), 1))
        for k in np.flatnonzero(np.isfinite(self.x_error) & np.isfinite(self.x) & np.isfinite(self.y)):
            painter.drawLine(self._to_screen(self.x[k] - self.x_error[k], self.y[k], ranges),
                             self._to_screen(self.x[k] + self.x_error[k], self.y[k], ranges))
        painter.restore()
        for k in range(len(self.x)):
            if not (math.isfinite(self.x[k]) and math.isfinite(self.y[k])):
                continue
            point = self._to_screen(self.x[k], self.y[k], ranges)
            selected = bool(self.highlighted & set(self.positions[k]))
            painter.setPen(Qt.NoPen)
            painter.setBrush(chosen if selected else normal)
            painter.drawEllipse(point, 3.5 if selected else 2.2, 3.5 if selected else 2.2)
        if self._drag is not None:
            painter.setPen(QPen(text, 1, Qt.DashLine))
            painter.setBrush(Qt.NoBrush)
            painter.drawRect(QRectF(self._drag[0], self._drag[1]).normalized())

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._drag = (event.position(), event.position())

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag is not None:
            self._drag = (self._drag[0], event.position())
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag is None:
            return
        rect = QRectF(self._drag[0], event.position()).normalized().adjusted(-3, -3, 3, 3)
        self._drag = None
        self.select_points(self.points_in(rect))
        self.update()
