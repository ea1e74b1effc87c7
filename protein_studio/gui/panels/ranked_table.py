"""Ranked table of every scanned substitution, with filters and CSV export.

Rows come from :func:`rank_substitutions`, a plain function of the scan (tested without Qt widgets):
sorted best score first, filtered by a set of positions (the selection or a typed region), excluded
positions, a score threshold and a top-N cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDoubleSpinBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QTableView, QVBoxLayout, QWidget)

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.numbering import NumberingScheme
from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.core.documents.scans import substitution_ranks

__all__ = ["RankedRow", "RANKED_COLUMNS", "rank_substitutions", "ranked_table_rows", "RankedTable"]


@dataclass(frozen=True)
class RankedRow:
    """One substitution: 0-based ``index``, its ``label`` in the document's numbering, letters, structure
    residue (``"A:79"``, empty without one), score and rank."""

    index: int
    label: str
    wt: str
    mt: str
    residue: str
    score: float
    rank: int

    @property
    def mutant(self) -> str:
        return f"{self.wt}{self.label}{self.mt}"

    @property
    def position(self) -> int:
        """1-based sequence index."""
        return self.index + 1


def rank_substitutions(scores: np.ndarray, sequence: str, *, scheme: NumberingScheme | None = None,
                       residues=None, only: set | None = None, exclude: set | None = None,
                       top_n: int | None = None, min_score: float | None = None,
                       ranks: np.ndarray | None = None) -> list[RankedRow]:
    """Every scored substitution, best first, filtered.

    Parameters
    ----------
    scores : ndarray (L, 20)
        Scan scores in AMINO_ACIDS order (NaN: not scanned).
    sequence : str
        The scanned sequence (its own residue at each position is not a substitution).
    scheme : NumberingScheme, optional
        Names the positions (default: the sequence index).
    residues : sequence of str, optional
        The structure residue of each position (``"A:79"``; empty where none).
    only, exclude : set of int, optional
        0-based indices to keep / to drop.
    top_n : int, optional
        Keep the first ``top_n`` rows after the other filters.
    min_score : float, optional
        Keep scores >= this.
    ranks : ndarray (L, 20), optional
        :func:`~protein_studio.core.documents.scans.substitution_ranks` of ``scores`` when already known (the
        scan caches them); computed here otherwise.

    Returns
    -------
    list of RankedRow
        ``rank`` is the rank among all scored substitutions, before filtering.
    """
    L = len(sequence)
    scheme = scheme or NumberingScheme.sequence(L)
    flat = np.asarray(scores, dtype=float).ravel()
    ranks = (substitution_ranks(scores, sequence) if ranks is None else np.asarray(ranks)).ravel()
    scored = np.flatnonzero(ranks)
    order = scored[np.argsort(ranks[scored])]
    rows = []
    for k in order:
        rank = int(ranks[k])
        i, j = divmod(int(k), len(AMINO_ACIDS))
        if only is not None and i not in only:
            continue
        if exclude and i in exclude:
            continue
        score = float(flat[k])
        if min_score is not None and score < min_score:
            break  # sorted: everything after is lower
        rows.append(RankedRow(i, scheme.display(i), sequence[i], AMINO_ACIDS[j],
                              residues[i] if residues is not None and i < L else "", score, rank))
        if top_n is not None and len(rows) >= top_n:
            break
    return rows


#: Columns of the ranked table's CSV export.
RANKED_COLUMNS = ("rank", "mutant", "position", "sequence_index", "structure_residue", "wt", "mt", "score",
                  "model", "strategy")


def ranked_table_rows(rows: list[RankedRow], model: str = "", strategy: str = "") -> list[list]:
    """The ranked rows as a table (:data:`RANKED_COLUMNS`)."""
    return [[row.rank, row.mutant, row.label, row.position, row.residue, row.wt, row.mt, f"{row.score:.6g}", model,
             strategy] for row in rows]


class _RowsModel(QAbstractTableModel):
    HEADERS = ["Rank", "Mutant", "Structure", "Score"]

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[RankedRow] = []

    def set_rows(self, rows: list[RankedRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if role == Qt.DisplayRole and orientation == Qt.Horizontal:
            return self.HEADERS[section]
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.DisplayRole:
            return (str(row.rank), row.mutant, row.residue, f"{row.score:.3f}")[index.column()]
        if role == Qt.TextAlignmentRole and index.column() in (0, 3):
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None


class RankedTable(QWidget):
    """Filters above a table of ranked substitutions.

    Signals
    -------
    positionsSelected(list, bool)
        A row was clicked: its position (0-based).
    mutationActivated(int, str)
        A row was double-clicked: position and mutant letter.
    exportRequested()
    message(str)
    """

    positionsSelected = Signal(list, bool)
    mutationActivated = Signal(int, str)
    exportRequested = Signal()
    message = Signal(str)
    filtersChanged = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._scores = None
        self._sequence = ""
        self._scheme: NumberingScheme | None = None
        self._residues = None
        self._ranks = None
        self._selection: frozenset = frozenset()
        #: the numbering the region and exclusion filters are written in (None: that of the next data shown)
        self._filters_scheme: NumberingScheme | None = None

        self.only_selection = QCheckBox("Selection only")
        self.region = QLineEdit()
        self.region.setPlaceholderText("region, e.g. 30-80")
        self.exclude = QLineEdit()
        self.exclude.setPlaceholderText("exclude, e.g. 1-23")
        self.top_n = QSpinBox()
        self.top_n.setRange(0, 1_000_000)
        self.top_n.setSpecialValueText("all")
        self.top_n.setPrefix("top ")
        self.top_n.setValue(100)
        self.use_threshold = QCheckBox("score \u2265")
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(-1000, 1000)
        self.threshold.setDecimals(2)
        self.threshold.setSingleStep(0.1)
        self.export_button = QPushButton("Export Shown\u2026")
        self.export_button.setToolTip("Write the rows these filters let through (without the top-N cut) as CSV; "
                                      "the file says that it is filtered and how. File \u25b8 Export Scan writes "
                                      "every substitution.")
        self.status = QLabel()

        self.model = _RowsModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        self.view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)  # names the scheme
        self.view.setAlternatingRowColors(True)

        row1 = QHBoxLayout()
        row1.addWidget(self.only_selection)
        row1.addWidget(self.region, 1)
        row1.addWidget(self.exclude, 1)
        row2 = QHBoxLayout()
        row2.addWidget(self.top_n)
        row2.addWidget(self.use_threshold)
        row2.addWidget(self.threshold)
        row2.addStretch(1)
        row2.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(row1)
        layout.addLayout(row2)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)

        for signal in (self.only_selection.toggled, self.use_threshold.toggled, self.top_n.valueChanged,
                       self.threshold.valueChanged, self.region.editingFinished, self.exclude.editingFinished):
            signal.connect(self.refresh)
            signal.connect(self.filtersChanged)
        self.export_button.clicked.connect(self.exportRequested)
        self.view.clicked.connect(self._clicked)
        self.view.doubleClicked.connect(self._double_clicked)

    def set_data(self, scores, sequence: str, scheme: NumberingScheme | None = None, residues=None,
                 ranks=None, final=None) -> None:
        """Show the substitutions of ``scores`` (updated in place while a scan runs).

        ``scheme`` names the positions (and reads the region filters); ``residues`` gives each position's
        structure residue. ``ranks``: a callable returning the current substitution ranks of ``scores``
        (e.g. the scan's cached :meth:`~protein_studio.core.documents.scans.ScanState.ranks`), so the table does
        not sort again what the heatmap already ranked; without it the table ranks ``scores`` itself.
        """
        scheme = scheme or NumberingScheme.sequence(len(sequence))
        written_in = self._filters_scheme
        if written_in is not None and scheme is not written_in and len(scheme) == len(written_in):
            self._translate_filters(written_in, scheme)  # the same protein in another numbering
        self._filters_scheme = scheme
        self._scores = scores
        self._sequence = sequence
        self._scheme = scheme
        self._residues = residues
        self._ranks = ranks
        self._final = final  # which positions hold the scan's own strategy (not yet its one-pass preview)
        self.model.HEADERS[1] = f"Mutant ({self._scheme.kind})"
        self.model.headerDataChanged.emit(Qt.Horizontal, 1, 1)
        self.region.setToolTip(f"Positions to show, in the {self._scheme.description} numbering")
        self.refresh()

    def _translate_filters(self, old: NumberingScheme, new: NumberingScheme) -> None:
        """Rewrite the region and exclusion filters from ``old``'s labels into ``new``'s (same positions)."""
        changed = False
        for box in (self.region, self.exclude):
            text = box.text().strip()
            if not text:
                continue
            try:
                translated = new.format_positions(old.parse_positions(text))
            except InputError:
                continue  # not readable in the old numbering either: left as typed, refresh says why
            if translated != text:
                box.setText(translated)
                changed = True
        if changed:
            self.filtersChanged.emit()

    def set_selection(self, indices) -> None:
        self._selection = frozenset(indices)
        if self.only_selection.isChecked():
            self.refresh()

    def filtered_rows(self, top_n: bool = True) -> list[RankedRow]:
        """The rows the filters let through (``top_n=False``: ignore the top-N cut, for export)."""
        if self._scores is None:
            return []
        only = None
        if self.only_selection.isChecked():
            only = set(self._selection)
        region = self.region.text().strip()
        if region:
            region_set = set(self._scheme.parse_positions(region))
            only = region_set if only is None else only & region_set
        exclude = set(self._scheme.parse_positions(self.exclude.text())) if self.exclude.text().strip() else None
        n = self.top_n.value() if top_n and self.top_n.value() > 0 else None
        threshold = self.threshold.value() if self.use_threshold.isChecked() else None
        return rank_substitutions(self._scores, self._sequence, scheme=self._scheme, residues=self._residues,
                                  only=only, exclude=exclude, top_n=n, min_score=threshold,
                                  ranks=None if self._ranks is None else self._ranks())

    def filters(self) -> dict:
        """The filters as plain data (kept per document, in the project)."""
        return {"only_selection": self.only_selection.isChecked(), "region": self.region.text(),
                "exclude": self.exclude.text(), "top_n": self.top_n.value(),
                "use_threshold": self.use_threshold.isChecked(), "threshold": self.threshold.value()}

    def set_filters(self, filters: dict) -> None:
        """Set the filters from :meth:`filters` data (missing keys: the defaults), written in the numbering of
        the data :meth:`set_data` shows next, and show the rows once."""
        self._filters_scheme = None
        widgets = (self.only_selection, self.region, self.exclude, self.top_n, self.use_threshold, self.threshold)
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self.only_selection.setChecked(bool(filters.get("only_selection", False)))
            self.region.setText(str(filters.get("region", "")))
            self.exclude.setText(str(filters.get("exclude", "")))
            self.top_n.setValue(int(filters.get("top_n", 100)))
            self.use_threshold.setChecked(bool(filters.get("use_threshold", False)))
            self.threshold.setValue(float(filters.get("threshold", 0.0)))
        finally:
            for widget in widgets:
                widget.blockSignals(False)
        self.refresh()

    def filter_description(self, top_n: bool = True) -> str:
        """The filters in force, in words (``"region 30-80; score >= 0.50"``), ``"none"`` without any."""
        parts = []
        if self.only_selection.isChecked():
            parts.append(f"selected positions only ({len(self._selection)})")
        if self.region.text().strip():
            parts.append(f"region {self.region.text().strip()}")
        if self.exclude.text().strip():
            parts.append(f"excluding {self.exclude.text().strip()}")
        if self.use_threshold.isChecked():
            parts.append(f"score >= {self.threshold.value():.2f}")
        if top_n and self.top_n.value() > 0:
            parts.append(f"top {self.top_n.value()}")
        return "; ".join(parts) if parts else "none"

    def refresh(self) -> None:
        try:
            rows = self.filtered_rows()
        except InputError as exc:
            self.model.set_rows([])  # no rows rather than rows the filters do not describe
            self.status.setText(str(exc))
            if self._filters_scheme is not None:  # not a document's filters waiting for its data
                self.message.emit(str(exc))
            return
        self.model.set_rows(rows)
        if self._scores is None:
            self.status.setText("No scan yet: Run \u25b8 Scan")
        else:
            positions = int(np.count_nonzero(~np.all(np.isnan(self._scores), axis=1)))
            final = None if self._final is None else int(np.count_nonzero(self._final))
            if final is not None and final < positions:  # a masked scan refining its wild-type preview
                self.status.setText(f"{len(rows)} substitutions shown; refining: {final} of {positions} positions "
                                    f"final, the others from the one-pass preview")
            else:
                self.status.setText(f"{len(rows)} substitutions shown; {positions} of {len(self._sequence)} "
                                    f"positions have scores")

    def _clicked(self, index) -> None:
        row = self.model.rows[index.row()]
        self._selection = frozenset({row.index})  # the mediator does not echo it back
        self.positionsSelected.emit([row.index], False)

    def _double_clicked(self, index) -> None:
        row = self.model.rows[index.row()]
        self.mutationActivated.emit(row.index, row.mt)
