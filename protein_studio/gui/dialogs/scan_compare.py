"""Run > Compare Scans: two scans of the shown document side by side, each named by its model, strategy,
precision and date: a scatter of their scores (substitutions both scored), their rank and value correlation,
and the difference map (second minus first) on the heatmap."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QPushButton, QVBoxLayout

from protein_studio.core.documents.scans import compare_scans
from protein_studio.gui.panels.scatter_plot import ScatterPlot

__all__ = ["ScanCompareDialog"]


class ScanCompareDialog(QDialog):
    """Compare two of the shown document's scans (non-modal); :attr:`comparison` is the last one made."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.setWindowTitle("Compare scans")
        self.first, self.second = QComboBox(), QComboBox()
        for combo in (self.first, self.second):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(40)
        self.scatter = ScatterPlot()
        self.scatter.setMinimumSize(360, 300)
        self.scatter.empty_text = "Two scans of the document are compared here"
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.PlainText)
        self.show_difference = QPushButton("Show Difference in Heatmap")
        self.show_difference.setToolTip("The heatmap shows the second scan minus the first (choose a scan above the "
                                        "heatmap to go back)")
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        buttons.addButton(self.show_difference, QDialogButtonBox.ActionRole)
        form = QFormLayout()
        form.addRow("First", self.first)
        form.addRow("Second", self.second)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.scatter, 1)
        layout.addWidget(self.summary)
        layout.addWidget(buttons)
        self.comparison = None
        self.first.currentIndexChanged.connect(lambda _i: self.refresh())
        self.second.currentIndexChanged.connect(lambda _i: self.refresh())
        self.show_difference.clicked.connect(self._show_difference)
        self.scatter.positionsSelected.connect(
            lambda indices, add: window.mediator.select(indices, source=self.scatter))
        self.fill()

    def fill(self) -> None:
        """List the shown document's scans; the two newest are compared first."""
        state = self.window.session.state
        scans = state.scans if state is not None else []
        for combo in (self.first, self.second):
            combo.blockSignals(True)
            combo.clear()
            for scan in scans:
                combo.addItem(scan.label)
            combo.blockSignals(False)
        if len(scans) >= 2:
            self.first.setCurrentIndex(len(scans) - 2)
            self.second.setCurrentIndex(len(scans) - 1)
        self.refresh()

    def refresh(self) -> None:
        """The scatter and the correlations of the two scans chosen."""
        state = self.window.session.state
        i, j = self.first.currentIndex(), self.second.currentIndex()
        self.comparison = None
        self.show_difference.setEnabled(False)
        if state is None or len(state.scans) < 2 or min(i, j) < 0 or i == j:
            self.scatter.set_points([], [], [])
            self.summary.setText("A document needs two scans to compare (run a scan with another model or "
                                 "strategy: every scan is kept).")
            return
        self.comparison = compare_scans(state.scans[i], state.scans[j])
        first, second = state.scans[i], state.scans[j]
        rows, _columns = np.nonzero(np.isfinite(self.comparison.difference))  # the points, in the scores' order
        positions = [[int(row)] for row in rows]
        self.scatter.set_points(self.comparison.first_scores, self.comparison.second_scores, positions,
                                f"{first.model} ({first.strategy})", f"{second.model} ({second.strategy})")
        rho = self.comparison.spearman
        self.summary.setText(self.comparison.describe() if not math.isnan(rho) else
                             f"Too few substitutions scored by both ({self.comparison.n}) to compare.")
        self.show_difference.setEnabled(self.comparison.n > 0)

    def _show_difference(self) -> None:
        self.window.scans.show_difference(self.first.currentIndex(), self.second.currentIndex())
