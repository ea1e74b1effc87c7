"""Per-residue tracks under the sequence: predicted confidence (pLDDT) and displacement after a comparison.

One row per track, one column per sequence position, under a ruler numbered like the sequence editor's
(the document's structure labels). Bars are custom painted; hovering a column shows the residue and every
track's value; clicking (or dragging) selects positions, which the window passes to its selection mediator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QAbstractScrollArea, QToolTip

from protein_studio.gui.panels.structure_colours import MISSING_COLOR, confidence_color

__all__ = ["Track", "TrackPanel", "plddt_track", "displacement_track", "displacement_color"]

#: Displacement (angstroms) drawn at full height and darkest colour; larger values are clipped.
DISPLACEMENT_FULL_SCALE = 8.0


@dataclass
class Track:
    """One row of per-position values.

    Attributes
    ----------
    key : str
        ``"plddt"`` or ``"displacement"`` (a new track with the same key replaces the old one).
    title : str
        Shown at the left of the row and in tooltips.
    values : numpy.ndarray
        One value per sequence position, NaN where there is none.
    maximum : float
        Value drawn at full height.
    color : callable(float) -> str
        ``"#RRGGBB"`` of a value.
    unit : str
        Appended to values in tooltips.
    source : str
        Where the values come from (a prediction, a comparison); shown in tooltips.
    """

    key: str
    title: str
    values: np.ndarray
    maximum: float
    color: Callable[[float], str]
    unit: str = ""
    source: str = ""

    def text(self, index: int) -> str:
        value = float(self.values[index])
        return "no value" if math.isnan(value) else f"{value:.1f}{self.unit}"


def displacement_color(value: float) -> str:
    """Light yellow (0 A) to dark red (:data:`DISPLACEMENT_FULL_SCALE` and above); grey for NaN."""
    if value is None or math.isnan(value):
        return MISSING_COLOR
    t = max(0.0, min(1.0, value / DISPLACEMENT_FULL_SCALE))
    low, high = (255, 237, 160), (165, 0, 38)
    return "#" + "".join(f"{round(a + (b - a) * t):02X}" for a, b in zip(low, high))


def plddt_track(values, source: str = "") -> Track:
    """A pLDDT track (0-100) in AlphaFold's confidence colours."""
    return Track("plddt", "pLDDT", np.asarray(values, dtype=float), 100.0, confidence_color, "", source)


def displacement_track(values, source: str = "") -> Track:
    """A per-residue displacement track (angstroms after superposition)."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    maximum = max(DISPLACEMENT_FULL_SCALE, float(finite.max()) if finite.size else 0.0)
    return Track("displacement", "Displacement", values, maximum, displacement_color, " \u00c5", source)


class TrackPanel(QAbstractScrollArea):
    """Rows of per-residue bars aligned to sequence positions, with a ruler, tooltips and selection.

    Signals
    -------
    positionsSelected(list, bool)
        The user clicked or dragged over positions (0-based); the flag says "add to the selection".
    """

    positionsSelected = Signal(list, bool)

    ROW_HEIGHT = 34
    RULER_HEIGHT = 18
    TITLE_WIDTH = 96
    MIN_COLUMN = 3
    MAX_COLUMN = 10

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.viewport().setMouseTracking(True)
        self._labels: list[str] = []
        self._describe: Callable[[int], str] | None = None
        self._tracks: dict[str, Track] = {}
        self._selected: frozenset = frozenset()
        self._summary = ""
        self._press: int | None = None
        self.horizontalScrollBar().valueChanged.connect(self.viewport().update)

    # data ------------------------------------------------------------------------------------
    def set_positions(self, labels: list[str], describe: Callable[[int], str] | None = None) -> None:
        """Number the columns (one label per position); tracks of another length are dropped."""
        self._labels = list(labels)
        self._describe = describe
        for key in [k for k, t in self._tracks.items() if len(t.values) != len(self._labels)]:
            del self._tracks[key]
        self._relayout()

    def set_track(self, track: Track) -> None:
        """Show ``track`` (replacing one with the same key); its length must match the positions."""
        if len(track.values) != len(self._labels):
            raise ValueError(f"track {track.title!r} has {len(track.values)} values for "
                             f"{len(self._labels)} positions")
        self._tracks[track.key] = track
        self._relayout()

    def remove_track(self, key: str) -> None:
        if self._tracks.pop(key, None) is not None:
            self._relayout()

    def clear(self) -> None:
        """Remove every track and the summary line."""
        self._tracks.clear()
        self._summary = ""
        self._relayout()

    def track(self, key: str) -> Track | None:
        return self._tracks.get(key)

    @property
    def tracks(self) -> list[Track]:
        return list(self._tracks.values())

    def set_summary(self, text: str) -> None:
        """One line drawn above the tracks (e.g. a comparison's RMSD and TM-score)."""
        self._summary = text
        self._relayout()

    @property
    def summary(self) -> str:
        return self._summary

    def set_selection(self, indices) -> None:
        self._selected = frozenset(int(i) for i in indices)
        self.viewport().update()

    # geometry --------------------------------------------------------------------------------
    def _summary_height(self) -> int:
        return QFontMetrics(self.font()).height() + 4 if self._summary else 0

    def column_width(self) -> int:
        """Pixels per position: the whole sequence fits when it can, else scroll."""
        n = max(1, len(self._labels))
        room = max(1, self.viewport().width() - self.TITLE_WIDTH - 4)
        return max(self.MIN_COLUMN, min(self.MAX_COLUMN, room // n))

    def _relayout(self) -> None:
        width = self.column_width() * len(self._labels)
        room = self.viewport().width() - self.TITLE_WIDTH - 4
        bar = self.horizontalScrollBar()
        bar.setRange(0, max(0, width - room))
        bar.setPageStep(max(1, room))
        bar.setSingleStep(self.column_width() * 5)
        rows = max(1, len(self._tracks))
        self.setMinimumHeight(self._summary_height() + self.RULER_HEIGHT + rows * self.ROW_HEIGHT
                              + bar.sizeHint().height() + 2 * self.frameWidth() + 4)
        self.updateGeometry()
        self.viewport().update()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._relayout()

    def sizeHint(self) -> QSize:
        rows = max(1, len(self._tracks))
        return QSize(800, self.RULER_HEIGHT + self._summary_height() + rows * self.ROW_HEIGHT + 24)

    def minimumSizeHint(self) -> QSize:
        return QSize(200, self.RULER_HEIGHT + self.ROW_HEIGHT + 8)

    def column_x(self, index: int) -> int:
        """Left edge of position ``index`` in viewport coordinates."""
        return self.TITLE_WIDTH + index * self.column_width() - self.horizontalScrollBar().value()

    def index_at(self, point: QPoint) -> int | None:
        if point.x() < self.TITLE_WIDTH or not self._labels:
            return None
        index = (point.x() - self.TITLE_WIDTH + self.horizontalScrollBar().value()) // self.column_width()
        return int(index) if 0 <= index < len(self._labels) else None

    def row_top(self, row: int) -> int:
        """Top edge of track row ``row`` in viewport coordinates."""
        return self._summary_height() + self.RULER_HEIGHT + row * self.ROW_HEIGHT

    def ensure_visible(self, index: int) -> None:
        x = index * self.column_width()
        bar = self.horizontalScrollBar()
        room = self.viewport().width() - self.TITLE_WIDTH - 4
        if x < bar.value() or x > bar.value() + room - self.column_width():
            bar.setValue(max(0, x - room // 2))

    # painting --------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self.viewport())
        palette = self.palette()
        painter.fillRect(self.viewport().rect(), palette.base())
        metrics = QFontMetrics(self.font())
        text_color = palette.text().color()
        if self._summary:
            painter.setPen(text_color)
            painter.drawText(QRect(4, 0, self.viewport().width() - 8, self._summary_height()),
                             Qt.AlignVCenter | Qt.AlignLeft, self._summary)
        if not self._tracks:
            painter.setPen(palette.placeholderText().color())
            painter.drawText(QRect(4, self.row_top(0), self.viewport().width() - 8, self.ROW_HEIGHT),
                             Qt.AlignVCenter | Qt.AlignLeft,
                             "No tracks yet: Run \u25b8 Predict Structure or Compare Structures")
            return
        n = len(self._labels)
        width = self.column_width()
        first = max(0, (self.horizontalScrollBar().value()) // width)
        last = min(n, first + (self.viewport().width() - self.TITLE_WIDTH) // width + 2)
        bottom = self.row_top(len(self._tracks))
        clip = QRect(self.TITLE_WIDTH, 0, self.viewport().width() - self.TITLE_WIDTH, self.viewport().height())

        painter.save()
        painter.setClipRect(clip)
        selection = QColor(palette.highlight().color())
        selection.setAlpha(70)
        for index in self._selected:
            if first <= index < last:
                painter.fillRect(QRect(self.column_x(index), self._summary_height(), width,
                                       bottom - self._summary_height()), selection)
        # ruler: a tick every position when wide enough, labels every 10th position
        ruler_top = self._summary_height()
        painter.setPen(text_color)
        step = 10 if width * 10 >= metrics.horizontalAdvance("0000") + 4 else 50
        for index in range(first, last):
            label = self._labels[index]
            x = self.column_x(index)
            if (index + 1) % step == 0 or index == 0:
                painter.drawLine(x + width // 2, ruler_top + self.RULER_HEIGHT - 4,
                                 x + width // 2, ruler_top + self.RULER_HEIGHT)
                if index == 0:  # left-aligned so the title column does not cut it
                    rect, align = QRect(x, ruler_top, 60, self.RULER_HEIGHT - 4), Qt.AlignLeft | Qt.AlignVCenter
                else:
                    rect, align = QRect(x + width // 2 - 30, ruler_top, 60, self.RULER_HEIGHT - 4), Qt.AlignCenter
                painter.drawText(rect, align, label)
        for row, track in enumerate(self._tracks.values()):
            top = self.row_top(row)
            base = top + self.ROW_HEIGHT - 3
            usable = self.ROW_HEIGHT - 6
            for index in range(first, last):
                value = float(track.values[index])
                x = self.column_x(index)
                if math.isnan(value):
                    painter.fillRect(QRect(x, base - 2, max(1, width - 1), 2), QColor(MISSING_COLOR))
                    continue
                height = max(1, round(usable * min(1.0, max(0.0, value / track.maximum))))
                painter.fillRect(QRect(x, base - height, max(1, width - (1 if width > 3 else 0)), height),
                                 QColor(track.color(value)))
            painter.setPen(QPen(palette.mid().color()))
            painter.drawLine(self.TITLE_WIDTH, base, self.viewport().width(), base)
        painter.restore()

        for row, track in enumerate(self._tracks.values()):
            top = self.row_top(row)
            painter.setPen(text_color)
            scale = f"0\u2013{track.maximum:.0f}{track.unit}"
            painter.drawText(QRect(4, top, self.TITLE_WIDTH - 8, self.ROW_HEIGHT // 2 + 2),
                             Qt.AlignLeft | Qt.AlignBottom, track.title)
            painter.setPen(palette.placeholderText().color())
            painter.drawText(QRect(4, top + self.ROW_HEIGHT // 2, self.TITLE_WIDTH - 8, self.ROW_HEIGHT // 2),
                             Qt.AlignLeft | Qt.AlignTop, scale)

    # interaction -----------------------------------------------------------------------------
    def tooltip_text(self, index: int) -> str:
        """What hovering position ``index`` shows: the residue and every track's value."""
        residue = self._describe(index) if self._describe is not None else self._labels[index]
        lines = [residue]
        for track in self._tracks.values():
            lines.append(f"{track.title}: {track.text(index)}" + (f" ({track.source})" if track.source else ""))
        return "\n".join(lines)

    def viewportEvent(self, event) -> bool:  # noqa: N802
        if event.type() == event.Type.ToolTip:
            index = self.index_at(event.pos())
            if index is not None and self._tracks:
                QToolTip.showText(event.globalPos(), self.tooltip_text(index), self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        index = self.index_at(event.position().toPoint())
        if index is None or event.button() != Qt.LeftButton:
            return
        self._press = index
        add = bool(event.modifiers() & (Qt.ControlModifier | Qt.ShiftModifier))
        self.positionsSelected.emit([index], add)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._press is None or not event.buttons() & Qt.LeftButton:
            return
        index = self.index_at(event.position().toPoint())
        if index is not None:
            low, high = sorted((self._press, index))
            self.positionsSelected.emit(list(range(low, high + 1)), False)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._press = None
