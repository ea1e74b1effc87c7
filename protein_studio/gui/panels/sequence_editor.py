"""The sequence editor: residues in a monospaced, wrapped grid under a ruler numbered like the structure.

Click or drag selects positions (shift extends, ctrl adds); typing a residue letter asks for that point
mutation at the current position; Ctrl+V asks to paste a sequence or FASTA text. The editor changes
nothing itself: it emits requests that the window turns into undoable commands on the session, and it
redraws from the sequence it is given. Mutated positions (against the wild type) are highlighted.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetrics, QGuiApplication, QKeySequence, QPainter
from PySide6.QtWidgets import QAbstractScrollArea, QToolTip

from protein_studio.core.molecules.sequences import AMINO_ACIDS

__all__ = ["SequenceEditor"]

_HYDROPHOBIC = set("AVILMFWC")
_CHARGED_POS = set("KRH")
_CHARGED_NEG = set("DE")



#: Marks shared by the sequence editor and the heatmap ruler: a chain break (missing residues in the
#: structure) and a residue left out of scans (a chromophore).
BREAK_COLORS = {"break": QColor(200, 30, 30), "excluded": QColor(20, 150, 60)}

class SequenceEditor(QAbstractScrollArea):
    """Wrapped residue grid with ruler, selection, mutation highlight and keyboard editing.

    Signals
    -------
    positionsSelected(list, bool)
        The user selected positions (0-based); the flag says "add to the selection".
    mutationRequested(int, str)
        The user typed a residue letter at a position.
    pasteRequested(str)
        The user pasted text (a sequence or FASTA).
    message(str)
        Something to tell the user (e.g. a refused letter).
    """

    positionsSelected = Signal(list, bool)
    mutationRequested = Signal(int, str)
    pasteRequested = Signal(str)
    message = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        font = QFontDatabase.systemFont(QFontDatabase.FixedFont)
        font.setStyleHint(QFont.Monospace)
        self.setFont(font)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.viewport().setMouseTracking(True)
        self._sequence = ""
        self._wild_type = ""
        self._labels: list[str] = []
        self._describe = None
        self._breaks: frozenset = frozenset()
        self._excluded: frozenset = frozenset()
        self._selected: frozenset = frozenset()
        self._cursor = 0
        self._anchor: int | None = None
        self.verticalScrollBar().valueChanged.connect(self.viewport().update)

    # data ------------------------------------------------------------------------------------
    def set_sequence(self, sequence: str, wild_type: str | None = None, labels: list[str] | None = None,
                     describe=None, breaks=None, excluded=None) -> None:
        """Show ``sequence``; positions differing from ``wild_type`` are highlighted.

        ``labels`` number the ruler (the document's numbering scheme); the margin gives the 1-based
        sequence index of each line's first residue; ``describe(index)`` gives a residue's tooltip.
        ``breaks`` (indices ``i`` with a chain break after ``i``) draw a red bar between two residues;
        ``excluded`` residues (a chromophore, left out of scans) are underlined in green.
        """
        if breaks is not None:
            self._breaks = frozenset(breaks)
        if excluded is not None:
            self._excluded = frozenset(excluded)
        self._sequence = sequence
        self._wild_type = wild_type if wild_type is not None else sequence
        if labels is not None:
            self._labels = list(labels)
        if describe is not None:
            self._describe = describe
        self._cursor = min(self._cursor, max(0, len(sequence) - 1))
        self._update_scrollbar()
        self.viewport().update()

    @property
    def sequence(self) -> str:
        return self._sequence

    def set_selection(self, indices) -> None:
        self._selected = frozenset(indices)
        if self._selected:
            self._cursor = min(self._selected)
            self.ensure_visible(self._cursor)
        self.viewport().update()

    @property
    def selection(self) -> frozenset:
        return self._selected

    @property
    def cursor_position(self) -> int:
        return self._cursor

    def set_cursor_position(self, index: int) -> None:
        self._cursor = max(0, min(index, len(self._sequence) - 1))
        self.viewport().update()

    # geometry --------------------------------------------------------------------------------
    def _cell(self) -> tuple[int, int]:
        fm = QFontMetrics(self.font())
        return fm.horizontalAdvance("W") + 3, fm.height() + 2

    def _margin(self) -> int:
        return QFontMetrics(self.font()).horizontalAdvance("00000") + 8

    def per_line(self) -> int:
        """Residues per line: a multiple of 10 that fits the width, plus a gap every 10."""
        cw, _ = self._cell()
        usable = self.viewport().width() - self._margin() - 8
        blocks = max(1, usable // (10 * cw + cw // 2 + 4))
        return int(blocks * 10)

    def _line_height(self) -> int:
        _, ch = self._cell()
        return 2 * ch + 4  # ruler row + residue row + spacing

    def _lines(self) -> int:
        n = self.per_line()
        return (len(self._sequence) + n - 1) // n

    def _update_scrollbar(self) -> None:
        total = self._lines() * self._line_height()
        bar = self.verticalScrollBar()
        bar.setRange(0, max(0, total - self.viewport().height()))
        bar.setPageStep(self.viewport().height())
        bar.setSingleStep(self._line_height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._update_scrollbar()

    def sizeHint(self) -> QSize:
        return QSize(800, 5 * self._line_height())

    def _x_of(self, column: int) -> int:
        cw, _ = self._cell()
        return self._margin() + column * cw + (column // 10) * (cw // 2 + 4)

    def cell_rect(self, index: int) -> QRect:
        """Viewport rectangle of a residue letter."""
        n = self.per_line()
        cw, ch = self._cell()
        line, column = divmod(index, n)
        y = line * self._line_height() - self.verticalScrollBar().value() + ch
        return QRect(self._x_of(column), y, cw, ch)

    def index_at(self, point: QPoint) -> int | None:
        """Residue index under a viewport point (the nearest on that line), or None."""
        if not self._sequence:
            return None
        n = self.per_line()
        cw, _ = self._cell()
        line = (point.y() + self.verticalScrollBar().value()) // self._line_height()
        if line < 0 or line >= self._lines():
            return None
        column = None
        for c in range(n):
            if point.x() < self._x_of(c) + cw:
                column = c
                break
        if column is None:
            column = n - 1
        index = int(line * n + column)
        return min(index, len(self._sequence) - 1)

    def ensure_visible(self, index: int) -> None:
        rect = self.cell_rect(index)
        bar = self.verticalScrollBar()
        if rect.top() - rect.height() < 0 or rect.bottom() > self.viewport().height():
            bar.setValue(bar.value() + rect.top() - rect.height() - self.viewport().height() // 3)

    # painting --------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self.viewport())
        painter.setFont(self.font())
        pal = self.palette()
        painter.fillRect(self.viewport().rect(), pal.base())
        if not self._sequence:
            painter.setPen(pal.text().color())
            painter.drawText(self.viewport().rect(), Qt.AlignCenter, "No sequence: open a FASTA or structure file")
            return
        n = self.per_line()
        cw, ch = self._cell()
        lh = self._line_height()
        offset = self.verticalScrollBar().value()
        first_line = max(0, offset // lh)
        last_line = min(self._lines(), (offset + self.viewport().height()) // lh + 1)
        ruler_color = QColor(120, 120, 120)
        selected_bg = QColor(255, 200, 80)
        mutated_bg = QColor(255, 120, 120)
        text = pal.text().color()
        for line in range(first_line, last_line):
            y = line * lh - offset
            start = line * n
            # margin: sequence index of the line's first residue (the ruler above has the scheme's labels)
            painter.setPen(ruler_color)
            painter.drawText(QRect(0, y + ch, self._margin() - 6, ch), Qt.AlignRight | Qt.AlignVCenter,
                             str(start + 1))
            for column in range(min(n, len(self._sequence) - start)):
                index = start + column
                x = self._x_of(column)
                if column % 10 == 0 or column == 0:
                    painter.setPen(ruler_color)
                    painter.drawText(QRect(x, y, 6 * cw, ch), Qt.AlignLeft | Qt.AlignBottom, self._label(index))
                cell = QRect(x, y + ch, cw, ch)
                aa = self._sequence[index]
                mutated = index < len(self._wild_type) and self._wild_type[index] != aa
                if index in self._selected:
                    painter.fillRect(cell, selected_bg)
                elif mutated:
                    painter.fillRect(cell, mutated_bg)
                if mutated:
                    painter.fillRect(QRect(x, y + 2 * ch - 2, cw, 2), QColor(200, 0, 0))
                painter.setPen(self._residue_color(aa) if not mutated else QColor(120, 0, 0))
                painter.drawText(cell, Qt.AlignCenter, aa)
                if index in self._excluded:
                    painter.fillRect(QRect(x, y + 2 * ch - 3, cw, 3), BREAK_COLORS["excluded"])
                if index in self._breaks:
                    painter.fillRect(QRect(x + cw - 1, y + ch - 2, 3, ch + 4), BREAK_COLORS["break"])
                if index == self._cursor and self.hasFocus():
                    painter.setPen(text)
                    painter.drawRect(cell.adjusted(0, 0, -1, -1))

    def break_after(self, index: int) -> bool:
        """True when a chain-break mark is drawn after residue ``index``."""
        return index in self._breaks

    def _label(self, index: int) -> str:
        return self._labels[index] if index < len(self._labels) else str(index + 1)

    @staticmethod
    def _residue_color(aa: str) -> QColor:
        if aa in _HYDROPHOBIC:
            return QColor(30, 90, 30)
        if aa in _CHARGED_POS:
            return QColor(20, 60, 200)
        if aa in _CHARGED_NEG:
            return QColor(190, 30, 30)
        if aa not in AMINO_ACIDS:
            return QColor(150, 150, 150)
        return QColor(40, 40, 40)

    # interaction -----------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802
        index = self.index_at(event.position().toPoint())
        if index is None or event.button() != Qt.LeftButton:
            return super().mousePressEvent(event)
        add = bool(event.modifiers() & Qt.ControlModifier)
        if event.modifiers() & Qt.ShiftModifier and self._selected:
            lo, hi = sorted((self._cursor, index))
            self._emit_selection(list(range(lo, hi + 1)), add)
        else:
            self._anchor = index
            self._cursor = index
            self._emit_selection([index], add)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        index = self.index_at(event.position().toPoint())
        if index is not None and self._anchor is not None and event.buttons() & Qt.LeftButton:
            lo, hi = sorted((self._anchor, index))
            self._emit_selection(list(range(lo, hi + 1)), bool(event.modifiers() & Qt.ControlModifier))
        elif index is not None and self._describe is not None:
            wt = self._wild_type[index] if index < len(self._wild_type) else ""
            text = self._describe(index)
            if wt and wt != self._sequence[index]:
                text += f" (wild type {wt})"
            QToolTip.showText(event.globalPosition().toPoint(), text, self.viewport())

    def leaveEvent(self, event) -> None:  # noqa: N802
        QToolTip.hideText()
        super().leaveEvent(event)

    def hideEvent(self, event) -> None:  # noqa: N802
        QToolTip.hideText()
        super().hideEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._anchor = None

    def _emit_selection(self, indices: list[int], add: bool) -> None:
        merged = set(indices) | (set(self._selected) if add else set())
        self._selected = frozenset(merged)
        self.viewport().update()
        self.positionsSelected.emit(sorted(merged), False)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if not self._sequence:
            return super().keyPressEvent(event)
        if event.matches(QKeySequence.Paste):
            text = QGuiApplication.clipboard().text()
            if text.strip():
                self.pasteRequested.emit(text)
            return
        key = event.key()
        moves = {Qt.Key_Left: -1, Qt.Key_Right: 1, Qt.Key_Up: -self.per_line(), Qt.Key_Down: self.per_line()}
        if key in moves:
            new = max(0, min(len(self._sequence) - 1, self._cursor + moves[key]))
            if event.modifiers() & Qt.ShiftModifier:
                lo, hi = sorted((self._anchor if self._anchor is not None else self._cursor, new))
                if self._anchor is None:
                    self._anchor = self._cursor
                self._cursor = new
                self._emit_selection(list(range(lo, hi + 1)), False)
            else:
                self._anchor = None
                self._cursor = new
                self._emit_selection([new], False)
            self.ensure_visible(new)
            return
        if key in (Qt.Key_Home, Qt.Key_End):
            self._cursor = 0 if key == Qt.Key_Home else len(self._sequence) - 1
            self._emit_selection([self._cursor], False)
            self.ensure_visible(self._cursor)
            return
        text = event.text()
        if len(text) == 1 and text.isprintable() and not text.isspace() and not (
                event.modifiers() & (Qt.ControlModifier | Qt.AltModifier)):
            letter = text.upper()
            if letter in AMINO_ACIDS:
                self.mutationRequested.emit(self._cursor, letter)
                if self._cursor < len(self._sequence) - 1:
                    self._cursor += 1
                    self._emit_selection([self._cursor], False)
            else:
                self.message.emit(f"'{text}' is not an amino acid: type one of {AMINO_ACIDS}")
            return
        super().keyPressEvent(event)
