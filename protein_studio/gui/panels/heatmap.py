"""The mutation-scan heatmap: positions x 20 amino acids, painted by hand so 1000+ residues stay smooth.

Only the visible columns are drawn: their colours come from a lookup table applied to the score matrix
with numpy, turned into one small image and scaled onto the cells (no per-cell painting). Above the cells
a ruler (the document's numbering scheme; red lines at chain breaks, green hatching over positions never
scanned such as a chromophore) and a per-position summary track; on the right a legend of the diverging
colour map, centred on 0. Ctrl+wheel (or +/-) zooms, the wheel scrolls.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QAbstractScrollArea, QMenu, QToolTip

from protein_studio.core.errors import UserError
from protein_studio.core.files import write_bytes_atomically
from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.gui.images import save_image
from protein_studio.gui.panels.sequence_editor import BREAK_COLORS

__all__ = ["HeatmapView", "diverging_colors", "colour_scale_limit"]

# RdBu-like anchors: damaging (negative) red, neutral white, beneficial (positive) blue.
_ANCHORS = np.array([
    [103, 0, 31], [178, 24, 43], [214, 96, 77], [244, 165, 130], [253, 219, 199], [247, 247, 247],
    [209, 229, 240], [146, 197, 222], [67, 147, 195], [33, 102, 172], [5, 48, 97],
], dtype=float)
_LUT_SIZE = 255
_NAN_RGB = (225, 225, 225)


def diverging_colors(n: int = _LUT_SIZE) -> np.ndarray:
    """``n`` x 3 uint8 colours from red (most negative) through white (0, the middle) to blue."""
    x = np.linspace(0, len(_ANCHORS) - 1, n)
    out = np.empty((n, 3))
    for c in range(3):
        out[:, c] = np.interp(x, np.arange(len(_ANCHORS)), _ANCHORS[:, c])
    return np.round(out).astype(np.uint8)


def colour_scale_limit(scores: np.ndarray | None) -> float:
    """Symmetric limit of the colour scale: the 99th percentile of ``|score|`` over scored cells."""
    if scores is None:
        return 1.0
    values = np.abs(scores[~np.isnan(scores)])
    if values.size == 0:
        return 1.0
    limit = float(np.percentile(values, 99))
    return limit if limit > 0 else float(values.max() or 1.0)


_LUT = diverging_colors()


def _rgba(values: np.ndarray, limit: float) -> np.ndarray:
    """Map scores to RGBA uint8 with the diverging table; NaN grey."""
    t = np.clip((np.nan_to_num(values, nan=0.0) / limit + 1.0) / 2.0, 0.0, 1.0)
    idx = np.round(t * (_LUT_SIZE - 1)).astype(np.intp)
    rgb = _LUT[idx]
    rgb[np.isnan(values)] = _NAN_RGB
    rgba = np.empty(values.shape + (4,), dtype=np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = 255
    return rgba


class HeatmapView(QAbstractScrollArea):
    """Positions (columns) x amino acids (rows, AMINO_ACIDS order) with summary track and legend.

    Signals
    -------
    positionsSelected(list, bool)
        The user clicked or dragged over positions: the whole new selection (0-based indices; ctrl adds
        to the previous one); the flag is always False (kept for the views' common signature).
    mutationActivated(int, str)
        Double-click on a cell (or "Apply" in its context menu): position index and mutant letter.
    variantRequested(int, str)
        "Add to variant list" in a cell's context menu.
    """

    positionsSelected = Signal(list, bool)
    mutationActivated = Signal(int, str)
    variantRequested = Signal(int, str)

    MIN_CELL, MAX_CELL = 2, 40
    LEFT = 28          # amino-acid labels
    RULER = 16         # position numbers
    TRACK = 14         # summary track
    GAP = 4
    LEGEND = 86        # legend on the right

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.viewport().setMouseTracking(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOn)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMinimumHeight(180)
        self._cell_w = 12
        self._scores: np.ndarray | None = None
        self._sequence = ""
        self._labels: list[str] = []
        self._describe = None
        self._breaks: frozenset = frozenset()
        self._excluded: frozenset = frozenset()
        self._summary: np.ndarray | None = None
        self._ranks: np.ndarray | None = None
        self._limit = 1.0
        self._selected: frozenset = frozenset()
        self._title = ""
        self._drag_start: int | None = None
        self._base: frozenset = frozenset()  # selection a ctrl-drag adds to
        self.horizontalScrollBar().valueChanged.connect(self.viewport().update)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        self._small = font

    # data ------------------------------------------------------------------------------------
    def set_data(self, scores: np.ndarray | None, sequence: str, labels: list[str],
                 summary: np.ndarray | None = None, ranks: np.ndarray | None = None, title: str = "",
                 describe=None, breaks=(), excluded=()) -> None:
        """Show ``scores`` (L x 20, NaN = not scanned) of ``sequence``; ``labels`` name the positions.

        ``describe(index)`` names a position in tooltips (default: letter + label). ``breaks`` (indices
        ``i`` with a chain break after ``i``) draw a red line through the ruler and cells; ``excluded``
        positions (a chromophore, never scanned) are hatched in green.
        """
        new_protein = len(sequence) != len(self._sequence)
        self._breaks = frozenset(breaks)
        self._excluded = frozenset(excluded)
        self._scores = scores
        self._sequence = sequence
        self._labels = list(labels)
        self._summary = summary
        self._ranks = ranks
        self._title = title
        self._describe = describe
        self._limit = colour_scale_limit(scores)
        if new_protein and sequence:
            self.fit_cells()
        self._update_scrollbar()
        self.viewport().update()

    def fit_cells(self, smallest: int = 8, largest: int = 24) -> None:
        """Zoom so a short protein fills the width; long ones start at ``smallest`` pixels per position."""
        self.set_cell_width(max(smallest, min(largest, self._cells_width() // max(1, self.n_positions))))

    def set_selection(self, indices) -> None:
        self._selected = frozenset(indices)
        self.viewport().update()

    @property
    def n_positions(self) -> int:
        return len(self._sequence)

    @property
    def scale_limit(self) -> float:
        return self._limit

    # geometry --------------------------------------------------------------------------------
    @property
    def cell_width(self) -> int:
        return self._cell_w

    def set_cell_width(self, width: int) -> None:
        """Zoom: pixels per position, kept so the position at the centre stays there."""
        width = max(self.MIN_CELL, min(self.MAX_CELL, int(width)))
        if width == self._cell_w:
            return
        centre = (self.horizontalScrollBar().value() + self._cells_width() / 2) / self._cell_w
        self._cell_w = width
        self._update_scrollbar()
        self.horizontalScrollBar().setValue(int(centre * width - self._cells_width() / 2))
        self.viewport().update()

    def zoom_in(self) -> None:
        self.set_cell_width(math.ceil(self._cell_w * 1.25))

    def zoom_out(self) -> None:
        self.set_cell_width(math.floor(self._cell_w / 1.25))

    def _cells_width(self) -> int:
        return max(1, self.viewport().width() - self.LEFT - self.LEGEND)

    def _row_height(self, height: int | None = None) -> float:
        h = self.viewport().height() if height is None else height
        return max(4.0, (h - self._top() - 4) / len(AMINO_ACIDS))

    def _top(self) -> int:
        return self.RULER + self.TRACK + self.GAP

    def _update_scrollbar(self) -> None:
        total = self.n_positions * self._cell_w
        bar = self.horizontalScrollBar()
        bar.setRange(0, max(0, total - self._cells_width()))
        bar.setPageStep(self._cells_width())
        bar.setSingleStep(self._cell_w * 5)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._update_scrollbar()

    def sizeHint(self) -> QSize:
        return QSize(800, 360)

    def visible_columns(self) -> tuple[int, int]:
        """First and one-past-last position index currently painted."""
        offset = self.horizontalScrollBar().value()
        first = offset // self._cell_w
        last = min(self.n_positions, (offset + self._cells_width()) // self._cell_w + 1)
        return first, max(first, last)

    def cell_at(self, pos: QPoint) -> tuple[int | None, int | None]:
        """(position index, amino-acid row) under a viewport point; row is -1 on the summary track."""
        x = pos.x() - self.LEFT
        if x < 0 or x >= self._cells_width() or not self.n_positions:
            return None, None
        index = (x + self.horizontalScrollBar().value()) // self._cell_w
        if index >= self.n_positions:
            return None, None
        y = pos.y()
        if y < self.RULER:
            return index, None
        if y < self.RULER + self.TRACK:
            return index, -1
        row = int((y - self._top()) // self._row_height())
        if 0 <= row < len(AMINO_ACIDS):
            return index, row
        return index, None

    def cell_center(self, index: int, row: int) -> QPoint:
        """Viewport point at the centre of a cell (scrolls it into view first); for tests and keyboard."""
        self.ensure_visible(index)
        x = self.LEFT + index * self._cell_w - self.horizontalScrollBar().value() + self._cell_w // 2
        y = self._top() + (row + 0.5) * self._row_height()
        return QPoint(int(x), int(y))

    def ensure_visible(self, index: int) -> None:
        first, last = self.visible_columns()
        if not first <= index < last - 1:
            self.horizontalScrollBar().setValue(int(index * self._cell_w - self._cells_width() / 2))

    # painting --------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self.viewport())
        first, last = self.visible_columns()
        self.paint(painter, QRect(0, 0, self.viewport().width(), self.viewport().height()), first, last,
                   self.horizontalScrollBar().value())
        painter.end()

    def paint(self, painter: QPainter, rect: QRect, first: int, last: int, offset: int) -> None:
        """Paint columns ``first:last`` into ``rect``; ``offset`` is the scroll position in pixels."""
        painter.fillRect(rect, self.palette().base())
        painter.setFont(self._small)
        fm = QFontMetrics(self._small)
        cw = self._cell_w
        rh = self._row_height(rect.height())
        top = rect.top() + self._top()
        left = rect.left() + self.LEFT
        cells_right = rect.right() - self.LEGEND
        text_pen = QPen(self.palette().text().color())
        if not self.n_positions:
            painter.setPen(text_pen)
            painter.drawText(rect, Qt.AlignCenter, "Open a protein to see its mutation scan")
            return

        def x_of(i: int) -> float:
            return left + i * cw - offset

        # amino-acid labels
        painter.setPen(text_pen)
        for r, aa in enumerate(AMINO_ACIDS):
            painter.drawText(QRectF(rect.left(), top + r * rh, self.LEFT - 4, rh), Qt.AlignRight | Qt.AlignVCenter,
                             aa)
        painter.drawText(QRectF(rect.left(), rect.top() + self.RULER, self.LEFT - 4, self.TRACK),
                         Qt.AlignRight | Qt.AlignVCenter, "avg")
        painter.save()
        painter.setClipRect(QRectF(left, rect.top(), cells_right - left, rect.height()))

        # ruler: a label every k positions, k chosen so labels don't overlap
        step = 1
        label_w = fm.horizontalAdvance("00000") + 4
        for k in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
            step = k
            if k * cw >= label_w:
                break
        for i in range(first - first % step, last, step):
            if i < first:
                continue
            x = x_of(i)
            painter.drawLine(int(x), rect.top() + self.RULER - 3, int(x), rect.top() + self.RULER)
            painter.drawText(QRectF(x, rect.top(), label_w, self.RULER - 2), Qt.AlignLeft | Qt.AlignVCenter,
                             self._labels[i] if i < len(self._labels) else str(i + 1))

        n = last - first
        if n > 0:
            if self._scores is not None:
                block = self._scores[first:last].T  # 20 x n
                rgba = np.ascontiguousarray(_rgba(block, self._limit))
            else:
                rgba = np.full((len(AMINO_ACIDS), n, 4), 255, dtype=np.uint8)
                rgba[..., :3] = _NAN_RGB
            image = QImage(rgba.data, n, len(AMINO_ACIDS), n * 4, QImage.Format_RGBA8888)
            painter.drawImage(QRectF(x_of(first), top, n * cw, rh * len(AMINO_ACIDS)), image)
            for i in sorted(self._excluded):
                if first <= i < last:  # never scanned: hatched, so it does not read as "not yet"
                    painter.fillRect(QRectF(x_of(i), top, cw, rh * len(AMINO_ACIDS)),
                                     QBrush(BREAK_COLORS["excluded"], Qt.BDiagPattern))
            break_pen = QPen(BREAK_COLORS["break"], 2)
            for i in sorted(self._breaks):
                if first <= i + 1 <= last:
                    painter.setPen(break_pen)
                    x = int(x_of(i + 1))
                    painter.drawLine(x, rect.top(), x, int(top + rh * len(AMINO_ACIDS)))
            painter.setPen(text_pen)
            # summary track
            if self._summary is not None:
                track = np.ascontiguousarray(_rgba(self._summary[first:last][None, :], self._limit))
                track_image = QImage(track.data, n, 1, n * 4, QImage.Format_RGBA8888)
                painter.drawImage(QRectF(x_of(first), rect.top() + self.RULER, n * cw, self.TRACK - 1),
                                  track_image)
            # grid lines when cells are big enough
            if cw >= 6:
                painter.setPen(QPen(QColor(255, 255, 255, 160), 1))
                for i in range(first, last + 1):
                    painter.drawLine(int(x_of(i)), int(top), int(x_of(i)), int(top + rh * len(AMINO_ACIDS)))
            # wild-type cells: a dark dot (or a tick when cells are tiny)
            painter.setPen(Qt.NoPen)
            painter.setBrush(QColor(30, 30, 30))
            radius = max(1.0, min(cw, rh) * 0.2)
            for i in range(first, last):
                aa = self._sequence[i]
                r = AMINO_ACIDS.find(aa)
                if r >= 0:
                    painter.drawEllipse(QRectF(x_of(i) + cw / 2 - radius, top + (r + 0.5) * rh - radius,
                                               2 * radius, 2 * radius))
            # selection: frame the selected columns
            if self._selected:
                painter.setBrush(Qt.NoBrush)
                painter.setPen(QPen(QColor(255, 170, 0), 2))
                for i in sorted(self._selected):
                    if first <= i < last:
                        painter.drawRect(QRectF(x_of(i) + 1, rect.top() + self.RULER, cw - 2,
                                                self.TRACK + self.GAP + rh * len(AMINO_ACIDS) - 1))
        painter.restore()
        self._paint_legend(painter, QRect(cells_right + 8, top, self.LEGEND - 12, int(rh * len(AMINO_ACIDS))),
                           text_pen)

    def _paint_legend(self, painter: QPainter, rect: QRect, pen: QPen) -> None:
        bar = QRect(rect.left(), rect.top() + 14, 12, max(20, rect.height() - 28))
        values = np.linspace(self._limit, -self._limit, max(2, bar.height()))[:, None]
        rgba = np.ascontiguousarray(_rgba(values, self._limit))
        image = QImage(rgba.data, 1, rgba.shape[0], 4, QImage.Format_RGBA8888)
        painter.drawImage(QRectF(bar), image)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(bar)
        tx = bar.right() + 4
        w = rect.right() - tx
        painter.drawText(QRectF(rect.left(), rect.top(), rect.width(), 12), Qt.AlignLeft, "score")
        painter.drawText(QRectF(tx, bar.top() - 6, w, 12), Qt.AlignLeft | Qt.AlignVCenter, f"+{self._limit:.2g}")
        painter.drawText(QRectF(tx, bar.center().y() - 6, w, 12), Qt.AlignLeft | Qt.AlignVCenter, "0")
        painter.drawText(QRectF(tx, bar.bottom() - 6, w, 12), Qt.AlignLeft | Qt.AlignVCenter, f"-{self._limit:.2g}")
        painter.drawText(QRectF(rect.left(), bar.bottom() + 4, rect.width(), 24), Qt.AlignLeft | Qt.TextWordWrap,
                         "\u25cf wild type")

    # export ----------------------------------------------------------------------------------
    def export_size(self) -> QSize:
        """Size of the whole heatmap (every position) at the current zoom."""
        return QSize(self.LEFT + self.n_positions * self._cell_w + self.LEGEND + 4,
                     self._top() + 20 * 14 + 8 + 16)

    def render_all(self, painter: QPainter, size: QSize) -> None:
        """Paint every position into ``size`` (export to PNG or SVG); a title line on top."""
        painter.fillRect(QRect(0, 0, size.width(), size.height()), QColor("white"))
        painter.setPen(QColor("black"))
        painter.setFont(self._small)
        painter.drawText(QRect(4, 0, size.width() - 8, 16), Qt.AlignLeft | Qt.AlignVCenter, self._title)
        painter.translate(0, 16)
        self.paint(painter, QRect(0, 0, size.width(), size.height() - 16), 0, self.n_positions, 0)

    def export_png(self, path: str) -> None:
        size = self.export_size()
        image = QImage(size, QImage.Format_ARGB32)
        image.fill(QColor("white"))
        painter = QPainter(image)
        self.render_all(painter, size)
        painter.end()
        save_image(image, path)  # raises UserError naming the file; an earlier file stays whole

    def export_svg(self, path: str) -> None:
        """The heatmap as SVG, written atomically (an SVG that came out empty is an error, not a file)."""
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice
        from PySide6.QtSvg import QSvgGenerator

        size = self.export_size()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.WriteOnly)
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(size)
        generator.setViewBox(QRect(0, 0, size.width(), size.height()))
        generator.setTitle(self._title or "Mutation scan")
        generator.setDescription("Protein Studio mutation scan heatmap")
        painter = QPainter(generator)
        self.render_all(painter, size)
        painter.end()
        buffer.close()
        if data.isEmpty() or b"</svg>" not in bytes(data.data()):
            raise UserError(f"cannot write {path}: the SVG came out empty")
        write_bytes_atomically(path, bytes(data.data()))

    # interaction -----------------------------------------------------------------------------
    def tooltip_text(self, index: int, row: int) -> str:
        """``"M69A (A:44): score -1.234, rank 15 of 5434"`` for a cell; summary for the track."""
        name = self._describe(index) if self._describe else f"{self._sequence[index]}{index + 1}"
        if row == -1:
            if self._summary is None or np.isnan(self._summary[index]):
                return f"{name}: not scanned yet"
            return f"{name}: mean substitution score {self._summary[index]:.3f}"
        aa = AMINO_ACIDS[row]
        if self._scores is None or np.isnan(self._scores[index, row]):
            return f"{name} \u2192 {aa}: not scanned yet"
        score = self._scores[index, row]
        if aa == self._sequence[index]:
            return f"{name} \u2192 {aa}: wild type (score {score:.3f})"
        text = f"{name} \u2192 {aa}: score {score:.3f}"
        if self._ranks is not None and self._ranks[index, row] > 0:
            text += f", rank {self._ranks[index, row]} of {int(self._ranks.max())}"
        return text

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        index, row = self.cell_at(event.position().toPoint())
        if self._drag_start is not None and index is not None and event.buttons() & Qt.LeftButton:
            lo, hi = sorted((self._drag_start, index))
            self._select(range(lo, hi + 1), bool(event.modifiers() & Qt.ControlModifier))
        if index is not None and row is not None:
            QToolTip.showText(event.globalPosition().toPoint(), self.tooltip_text(index, row), self.viewport())
        else:
            QToolTip.hideText()
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        index, _row = self.cell_at(event.position().toPoint())
        if event.button() == Qt.LeftButton and index is not None:
            self._drag_start = index
            self._base = self._selected if event.modifiers() & Qt.ControlModifier else frozenset()
            self._select([index], bool(event.modifiers() & Qt.ControlModifier))
        super().mousePressEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        QToolTip.hideText()
        super().leaveEvent(event)

    def hideEvent(self, event) -> None:  # noqa: N802
        QToolTip.hideText()
        super().hideEvent(event)

    def _select(self, indices, add: bool) -> None:
        """Show the user's selection here (the mediator never echoes it back) and publish it."""
        merged = frozenset(indices) | (self._base if add else frozenset())
        if merged != self._selected:
            self.set_selection(merged)
            self.positionsSelected.emit(sorted(merged), False)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._drag_start = None
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        index, row = self.cell_at(event.position().toPoint())
        if index is not None and row is not None and row >= 0:
            self.mutationActivated.emit(index, AMINO_ACIDS[row])

    def contextMenuEvent(self, event) -> None:  # noqa: N802
        index, row = self.cell_at(event.pos())
        if index is None or row is None or row < 0 or AMINO_ACIDS[row] == self._sequence[index]:
            return
        aa = AMINO_ACIDS[row]
        name = self._describe(index) if self._describe else f"{self._sequence[index]}{index + 1}"
        menu = QMenu(self)
        menu.addAction(f"Apply {name} \u2192 {aa} to the sequence", lambda: self.mutationActivated.emit(index, aa))
        menu.addAction(f"Add {name} \u2192 {aa} to the variant list", lambda: self.variantRequested.emit(index, aa))
        menu.popup(event.globalPos())

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.ControlModifier:
            self.zoom_in() if delta > 0 else self.zoom_out()
        else:
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - int(delta / 120 * bar.singleStep()))
        event.accept()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key_Plus, Qt.Key_Equal):
            self.zoom_in()
        elif event.key() == Qt.Key_Minus:
            self.zoom_out()
        else:
            super().keyPressEvent(event)
