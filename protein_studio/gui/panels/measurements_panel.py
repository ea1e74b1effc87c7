"""Measured data in the window: File > Import Measurements, a scatter plot of predicted against measured linked
to the selection both ways, live metrics, measured layers on the heatmap, and a model fitted on the
measurements that proposes the next round into the variant list.

The assays and fitted models are results of the document (kinds ``"measurements"`` and ``"fit"``), so the
project keeps them with their provenance. Fitting runs on the worker like every long job.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout,
                               QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)

from protein_studio.core.errors import UserError
from protein_studio.core.assays.measurements import assay_predictions, assays_in, measurement_record, read_assay
from protein_studio.core.assays.metrics import evaluate_predictions
from protein_studio.gui.file_dialogs import open_file
from protein_studio.gui.panels.scatter_plot import ScatterPlot

__all__ = ["MeasurementsPanel", "ImportDialog", "HEATMAP_LAYERS"]

#: What the heatmap can show: the scan, an assay's measured singles, their difference (z-scores), a fitted model.
HEATMAP_LAYERS = ("prediction", "measured", "difference", "learned", "uncertainty")
_LAYER_TEXT = {"prediction": "Prediction (scan)", "measured": "Measured", "difference": "Measured \u2212 predicted (z)",
               "learned": "Learned model", "uncertainty": "Learned model: uncertainty (std)"}


class ImportDialog(QDialog):
    """Choose the measured column of a table (or two count columns for an enrichment)."""

    def __init__(self, parent, columns: list[str]):
        super().__init__(parent)
        self.setWindowTitle("Import measurements")
        self.column = QComboBox()
        self.column.addItems(columns)
        self.enrichment = QCheckBox("enrichment of two count columns: log((selected+0.5)/(input+0.5))")
        self.selected, self.given = QComboBox(), QComboBox()
        self.selected.addItems(columns)
        self.given.addItems(columns)
        form = QFormLayout(self)
        form.addRow("Measured column", self.column)
        form.addRow(self.enrichment)
        form.addRow("Selected counts", self.selected)
        form.addRow("Input counts", self.given)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class NumberingDialog(QDialog):
    """The table's mutants fit another of the document's numberings far better: which one to read it in.

    Each numbering is listed with the share of the table's mutants that name its wild-type residue; the
    best one is chosen (:attr:`chosen`), the one in use can be kept.
    """

    def __init__(self, parent, mismatch):
        super().__init__(parent)
        self.setWindowTitle("Which numbering is this table in?")
        self.fits = [f for f in mismatch.fits if f.total]
        self.choice = QComboBox()
        for fit in self.fits:
            self.choice.addItem(f"{fit.name} numbering: {fit.matched:,} of {fit.total:,} mutants match "
                                f"({100 * fit.rate:.0f} %)", fit.name)
        self.choice.setCurrentIndex(self.fits.index(mismatch.better))
        note = QLabel(f"{mismatch.chosen.matched:,} of {mismatch.chosen.total:,} mutants of "
                      f"{mismatch.source or 'the table'} name the wild-type residue in the numbering shown "
                      f"({mismatch.chosen.scheme.description}); in {mismatch.better.name} numbering "
                      f"{mismatch.better.matched:,} do. Read the table in:")
        note.setWordWrap(True)
        note.setTextFormat(Qt.PlainText)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Import")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.choice)
        layout.addWidget(buttons)

    @property
    def chosen(self):
        """The :class:`~protein_studio.core.documents.positions.SchemeFit` chosen."""
        return self.fits[self.choice.currentIndex()]


class MeasurementsPanel(QWidget):
    """The Measurements dock: assays of the shown document, the scatter plot, metrics, fit and propose."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._fit_job: int | None = None
        self._fit_state = None
        self.assay_box = QComboBox()
        self.assay_box.setToolTip("Measured data of this document (several assays each keep their own column)")
        self.rename_button = QPushButton("Rename\u2026")
        self.rename_button.setToolTip("Rename the assay shown (undoable)")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the assay shown from the document (undoable)")
        self.fit_state = QLabel("")
        self.fit_state.setWordWrap(True)
        self.fit_state.setTextFormat(Qt.PlainText)
        self.fit_state.setToolTip("The fitted model: the assay, features and scan it learned from, and whether they "
                                  "are still those shown")
        self.import_button = QPushButton("Import\u2026")
        self.import_button.setToolTip("Import a DMS or assay table (CSV/TSV) onto this document's numbering")
        self.layer = QComboBox()
        for key in HEATMAP_LAYERS:
            self.layer.addItem(_LAYER_TEXT[key], key)
        self.layer.setToolTip("What the heatmap shows: the scan, the measured singles, their difference as "
                              "z-scores, or the fitted model's predictions")
        self.scatter = ScatterPlot()
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.PlainText)
        self.summary.setToolTip("How the rows of the table were used: the metrics and the fit use only the rows "
                                "counted as used")
        self.metrics = QLabel("No measurements")
        self.metrics.setWordWrap(True)
        self.metrics.setTextFormat(Qt.PlainText)
        self.problems = QPlainTextEdit()
        self.problems.setReadOnly(True)
        self.problems.setMaximumHeight(70)
        self.problems.setToolTip("Rows of the table that were not used, with their line and why")
        # fit
        self.use_onehot = QCheckBox("one-hot")
        self.use_onehot.setChecked(True)
        self.use_embeddings = QCheckBox("embeddings (chosen model)")
        self.use_zeroshot = QCheckBox("zero-shot (the scan)")
        self.regressor = QComboBox()
        self.regressor.addItem("ridge", "ridge")
        self.regressor.addItem("Gaussian process", "gp")
        self.regressor.addItem("Structure-aware GP (ProteinMPNN)", "structure-gp")
        self.regressor.setToolTip("ridge; a Gaussian process on the features; or the structure-aware Gaussian "
                                  "process (Kermut's kernel: ProteinMPNN's site distributions and the distances of "
                                  "the open structure, reaching positions never measured)")
        self.cv = QComboBox()
        self.cv.addItems(["random", "contiguous", "modulo"])
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Fit a model on the measured variants (cross-validated), on the worker")
        # propose
        self.n = QSpinBox()
        self.n.setRange(1, 1000)
        self.n.setValue(24)
        self.per_position = QSpinBox()
        self.per_position.setRange(1, 19)
        self.min_distance = QSpinBox()
        self.min_distance.setRange(0, 1000)
        self.explore = QDoubleSpinBox()
        self.explore.setRange(0.0, 10.0)
        self.explore.setSingleStep(0.5)
        self.explore.setToolTip("Gaussian process only: rank by mean + explore x uncertainty")
        self.combinations = QSpinBox()
        self.combinations.setRange(0, 1000)
        self.combinations.setToolTip("Also propose this many double mutants pairing the model's best singles "
                                     "(measured ones too), scored as pairs")
        self.exclusions = QLabel("")
        self.exclusions.setWordWrap(True)
        self.exclusions.setTextFormat(Qt.PlainText)
        self.exclusions.setToolTip("Edit \u25b8 Exclude Selection from Proposals; Met1 (the start codon) is never "
                                   "proposed")
        self.propose_button = QPushButton("Propose to Variants")
        self.propose_button.setToolTip("Add the best unmeasured variants, made diverse, to the variant list")

        top = QHBoxLayout()
        top.addWidget(self.assay_box, 1)
        top.addWidget(self.import_button)
        top.addWidget(self.rename_button)
        top.addWidget(self.remove_button)
        layer_row = QHBoxLayout()
        layer_row.addWidget(QLabel("Heatmap shows"))
        layer_row.addWidget(self.layer, 1)
        fit_box = QGroupBox("Learn from the measurements")
        fit_form = QFormLayout(fit_box)
        features = QHBoxLayout()
        for box in (self.use_onehot, self.use_embeddings, self.use_zeroshot):
            features.addWidget(box)
        fit_form.addRow("Features", features)
        fit_form.addRow("Model", self.regressor)
        fit_form.addRow("Cross-validation", self.cv)
        fit_form.addRow(self.fit_button)
        fit_form.addRow(self.fit_state)
        fit_form.addRow("Propose", self.n)
        fit_form.addRow("At most per position", self.per_position)
        fit_form.addRow("Min. distance", self.min_distance)
        fit_form.addRow("Explore", self.explore)
        fit_form.addRow("Double mutants", self.combinations)
        fit_form.addRow(self.exclusions)
        fit_form.addRow(self.propose_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addLayout(layer_row)
        layout.addWidget(self.scatter, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.metrics)
        layout.addWidget(self.problems)
        layout.addWidget(fit_box)

        self.import_button.clicked.connect(lambda: self.import_dialog())
        self.rename_button.clicked.connect(lambda: self.rename_dialog())
        self.remove_button.clicked.connect(lambda: self.remove_assay())
        self.assay_box.currentIndexChanged.connect(lambda _i: self._assay_chosen())
        self.layer.currentIndexChanged.connect(lambda _i: self.refresh())  # the scatter follows; refresh redraws
        self.fit_button.clicked.connect(lambda: self.fit())
        self.propose_button.clicked.connect(lambda: self.propose())
        self.scatter.positionsSelected.connect(
            lambda indices, add: window.mediator.select(indices, source=self.scatter))
        window.mediator.subscribe(self.scatter, lambda indices, source: self.scatter.set_highlight(indices))
        window.session.documents_changed.connect(self._documents_changed)
        # metrics follow the prediction live: at once when a scan is replaced, at most twice a second while
        # one streams in
        self._live = QTimer(self, singleShot=True, interval=500, timeout=self.refresh)
        window.session.scan_changed.connect(
            lambda positions: self.refresh() if positions is None else (self._live.isActive() or self._live.start()))
        self._documents_changed()

    # assays ------------------------------------------------------------------------------------
    def assays(self):
        state = self.window.session.state
        return assays_in(state.results) if state is not None else []

    def current_assay(self):
        assays = self.assays()
        k = self.assay_box.currentIndex()
        return assays[k] if 0 <= k < len(assays) else None

    def _records(self) -> list[dict]:
        state = self.window.session.state
        return [r for r in state.results if r["kind"] == "measurements"] if state is not None else []

    def _assay_chosen(self) -> None:
        """The assay shown is kept with the document (and its project)."""
        state = self.window.session.state
        assay = self.current_assay()
        if state is not None and assay is not None and state.view.get("assay") != assay.name:
            state.view = {**state.view, "assay": assay.name}
            self.window.session.modified.emit()
        self.refresh()

    def rename_dialog(self) -> bool:
        """Rename the assay shown (its name is asked for)."""
        from PySide6.QtWidgets import QInputDialog

        assay = self.current_assay()
        if assay is None:
            return False
        name, ok = QInputDialog.getText(self, "Rename assay", "Name:", text=assay.name)
        return self.rename_assay(name) if ok else False

    def rename_assay(self, name: str) -> bool:
        """Rename the assay shown (undoable); names are unique within a document."""
        from protein_studio.gui.commands import RenameResultCommand

        k = self.assay_box.currentIndex()
        records = self._records()
        name = name.strip()
        if not 0 <= k < len(records) or not name:
            return False
        if any(r["name"] == name for j, r in enumerate(records) if j != k):
            self.window.show_error("Cannot rename the assay", f"the document already has an assay named {name!r}")
            return False
        self.window.edits.undo_stack.push(RenameResultCommand(self.window.session, records[k], name,
                                                              on_change=self._after_change))
        state = self.window.session.state
        state.view = {**state.view, "assay": name}
        self._fill_assays()
        return True

    def remove_assay(self) -> bool:
        """Remove the assay shown from the document (undoable: Edit > Undo brings it back)."""
        from protein_studio.gui.commands import RemoveResultCommand

        k = self.assay_box.currentIndex()
        records = self._records()
        if not 0 <= k < len(records):
            return False
        record = records[k]
        self.window.edits.undo_stack.push(RemoveResultCommand(self.window.session, record,
                                                              f"remove assay {record['name']}",
                                                              on_change=self._after_change))
        self.window.activity.add_entry(f"Removed the assay {record['name']} (Edit \u25b8 Undo brings it back)")
        return True

    def _after_change(self) -> None:
        self._fill_assays()

    def import_dialog(self) -> bool:
        """File > Import Measurements: a table, then its measured column."""
        doc = self.window.session.document
        if doc is None:
            self.window.show_error("Nothing to compare with", "Open a protein first.")
            return False
        path = open_file(self, "measurements", "Import measurements", "Tables (*.csv *.tsv *.txt);;All files (*)")
        if not path:
            return False
        from protein_studio.core.assays.dms import read_dms

        try:
            table = read_dms(path)
        except UserError as exc:
            self.window.show_error("Cannot import the measurements", str(exc))
            return False
        columns = list(table.columns) + list(table.text_columns)
        dialog = ImportDialog(self, columns)
        if dialog.exec() != QDialog.Accepted:
            return False
        if dialog.enrichment.isChecked():
            return self.import_table(path, enrichment=(dialog.selected.currentText(), dialog.given.currentText()))
        return self.import_table(path, column=dialog.column.currentText())

    def import_table(self, path, column: str | None = None, enrichment=None) -> bool:
        """Read ``column`` (or an enrichment) of a table onto the shown document in its numbering.

        When the table's mutants fit another of the document's numberings far better (fewer than 90 % match
        the one shown, 95 % or more another), the user chooses which one to read it in (:class:`NumberingDialog`).
        """
        from protein_studio.core.documents.positions import NumberingMismatch

        state = self.window.session.state
        if state is None:
            return False
        doc = state.document
        scheme = doc.scheme
        try:
            try:
                assay = read_assay(path, doc.wild_type, scheme, column=column, enrichment=enrichment,
                                   schemes=doc.schemes())
            except NumberingMismatch as mismatch:
                dialog = NumberingDialog(self, mismatch)
                if dialog.exec() != QDialog.Accepted:
                    self.window.activity.add_entry(f"Import of {mismatch.source} cancelled: {mismatch.reason}")
                    return False
                scheme = dialog.chosen.scheme
                assay = read_assay(path, doc.wild_type, scheme, column=column, enrichment=enrichment)
        except UserError as exc:
            self.window.show_error("Cannot import the measurements", str(exc))
            return False
        same = next((r for r in self._records() if r["data"].get("source") == assay.source
                     and r["data"].get("column") == assay.column
                     and r["data"].get("numbering", "sequence") == assay.numbering), None)
        if same is not None:  # the same table and column again: shown, not added twice
            self.assay_box.setCurrentIndex(self._records().index(same))
            self.window.statusBar().showMessage(f"{assay.source}: {assay.column} is already imported, as "
                                                f"{same['name']!r}; it is shown", 8000)
            self.window.activity.add_entry(f"{assay.source}: {assay.column} is already imported, as {same['name']!r}")
            return True
        names = {r["name"] for r in self._records()}
        if assay.name in names:  # the same column name of another file or numbering: a name of its own
            k = 2
            while f"{assay.name} ({k})" in names:
                k += 1
            assay.name = f"{assay.name} ({k})"
        state.results.append(measurement_record(assay))
        self.window.session.modified.emit()
        self.window.activity.add_entry(f"Imported {assay.summary()}")
        self._fill_assays(select_last=True)
        return True

    def _fill_assays(self, select_last: bool = False) -> None:
        """List the document's assays; the one it showed last (kept in the project) is shown again."""
        state = self.window.session.state
        names = [assay.name for assay in self.assays()]
        self.assay_box.blockSignals(True)
        self.assay_box.clear()
        self.assay_box.addItems(names)
        if select_last and names:
            self.assay_box.setCurrentIndex(len(names) - 1)
        elif state is not None and state.view.get("assay") in names:
            self.assay_box.setCurrentIndex(names.index(state.view["assay"]))
        self.assay_box.blockSignals(False)
        for button in (self.rename_button, self.remove_button):
            button.setEnabled(bool(names))
        if select_last:
            self._assay_chosen()
        else:
            self.refresh()

    def _documents_changed(self) -> None:
        self._fill_assays()

    # showing -----------------------------------------------------------------------------------
    def fit_status(self, state) -> str:
        """What the document's fitted model learned from (assay, features, scan) with its cross-validation, and
        ``OUT OF DATE`` with why when they are no longer what the document holds or shows."""
        record = next((r for r in reversed(state.results) if r["kind"] == "fit"), None) if state is not None else None
        if record is None:
            return ""
        data, provenance = record["data"], record.get("provenance", {})
        features = data.get("features", {}).get("names", [])
        text = (f"Fitted {data.get('regressor', '?')} on {'+'.join(features)} of {provenance.get('measured', '?')}"
                + (f", zero-shot from the scan {provenance['scan']}" if provenance.get("scan") else ""))
        cv = data.get("cv")
        if cv:
            pooled = cv.get("pooled")  # projects before pooled scores keep the mean of the folds
            text += (f"; {cv['scheme']} {cv['k']}-fold CV Spearman {pooled:.3f} pooled"
                     if isinstance(pooled, (int, float)) else f"; {cv['scheme']} {cv['k']}-fold CV Spearman {cv['mean']:.3f}")
        stale = []
        if provenance.get("measured") not in {assay.name for assay in self.assays()}:
            stale.append(f"the assay {provenance.get('measured')!r} is no longer in the document")
        if "zeroshot" in features and provenance.get("scan"):
            shown = state.scan.label if state.scan is not None else None
            if shown != provenance["scan"]:
                stale.append(f"the scan shown is {shown}" if shown else "the document has no scan now")
        return text + (f". OUT OF DATE: {'; '.join(stale)}; fit again" if stale else "")

    def refresh(self) -> None:
        """Scatter, metrics and problems of the chosen assay against the scan shown (with the learned layers:
        against the fitted model's held-out predictions)."""
        assay = self.current_assay()
        scan = self.window.session.scan
        self.fit_state.setText(self.fit_status(self.window.session.state))
        self.show_exclusions()
        if assay is None:
            self.scatter.set_points([], [], [])
            self.summary.setText("")
            self.metrics.setText("No measurements: Import a DMS or assay table")
            self.problems.setPlainText("")
            self.window.scans.redraw_scan()
            return
        self.summary.setText(assay.summary())
        if self.layer.currentData() not in ("learned", "uncertainty") or not self._show_held_out(assay):
            self._show_scan(assay, scan)
        self.problems.setPlainText("\n".join(f"line {p.line}: {p.text}: {p.reason}" for p in assay.problems[:500]))
        self.window.scans.redraw_scan()

    def _show_scan(self, assay, scan) -> None:
        predicted = assay_predictions(assay, None if scan is None else scan.scores)
        self.scatter.set_points(predicted, assay.values, [[m.position - 1 for m in v.mutations] for v in assay.variants],
                                "predicted (scan)" if scan is not None else "predicted (no scan yet)",
                                f"measured: {assay.column}")
        if scan is None or not np.isfinite(predicted).any():
            self.metrics.setText(f"{assay.name}: {len(assay)} variants; run a scan to compare")
        else:
            report = evaluate_predictions(assay.values, predicted)
            self.metrics.setText(f"{scan.model} vs {assay.column}: Spearman {report.spearman:.3f}, NDCG@10% "
                                 f"{report.ndcg:.3f}, top-10% recall {report.top_recall:.3f} (n = {report.n}"
                                 + (f"; {report.n_total - report.n} without a prediction)" if report.n_total > report.n
                                    else ")"))

    def _show_held_out(self, assay) -> bool:
        """With the learned layers, the scatter plots the fitted model's out-of-fold predictions (with their
        standard deviations as bars) against the assay's measurements; False when there are none for it."""
        model = self.fitted_model(self.window.session.state)
        cv = model.cv if model is not None else None
        if cv is None or len(cv.predictions) != len(model.variants) or \
                model.provenance.get("measured") != assay.name:
            return False
        held_out = {v: (p, s) for v, p, s in zip(model.variants, cv.predictions, cv.prediction_std or
                                                  [float("nan")] * len(cv.predictions))}
        pairs = [held_out.get(v, (float("nan"), float("nan"))) for v in assay.variants]
        x = np.array([p for p, _ in pairs])
        self.scatter.set_points(x, assay.values, [[m.position - 1 for m in v.mutations] for v in assay.variants],
                                f"held-out prediction ({model.regressor}, {cv.scheme} CV)"
                                + (" \u00b1 std" if model.has_uncertainty else ""),
                                f"measured: {assay.column}", x_error=np.array([s for _, s in pairs]))
        report = evaluate_predictions(assay.values, x)
        self.metrics.setText(f"{model.regressor} held out ({cv.scheme} {cv.k}-fold) vs {assay.column}: Spearman "
                             f"{cv.pooled:.3f} pooled, NDCG@10% {report.ndcg:.3f}, top-10% recall "
                             f"{report.top_recall:.3f} (n = {report.n})")
        return True

    def heatmap_layer(self):
        """``(matrix, title, summary)`` for the heatmap when it shows measured data; None for the scan."""
        key = self.layer.currentData()
        doc = self.window.session.document
        if key == "prediction" or doc is None:
            return None
        if key in ("learned", "uncertainty"):
            model = self.fitted_model(self.window.session.state)
            if model is None or (key == "uncertainty" and not model.has_uncertainty):
                return None
            name = f"{model.regressor} ({'+'.join(model.features.names)})"
            if key == "uncertainty":
                return model.predict_singles_std(), f"{doc.name}: standard deviation of the learned {name}", None
            return model.predict_singles(), f"{doc.name}: learned {name}", None
        assay = self.current_assay()
        if assay is None:
            return None
        measured = assay.singles(len(doc))
        if key == "measured":
            return measured, f"{doc.name}: measured {assay.column}", assay.position_summary(len(doc))
        scan = self.window.session.scan
        if scan is None:
            return None
        both = np.isfinite(measured) & np.isfinite(scan.scores)
        difference = np.full(measured.shape, np.nan)
        if both.sum() > 1:
            z = lambda a: (a - a[both].mean()) / (a[both].std() or 1.0)  # noqa: E731
            difference[both] = z(measured)[both] - z(scan.scores)[both]
        return difference, f"{doc.name}: measured \u2212 predicted ({assay.column} vs {scan.model}, z-scores)", None

    # learning (window.learning does the work) ------------------------------------------------------
    def chosen_features(self) -> tuple:
        """The features ticked, among onehot, embeddings, zeroshot."""
        return tuple(n for n, box in (("onehot", self.use_onehot), ("embeddings", self.use_embeddings),
                                      ("zeroshot", self.use_zeroshot)) if box.isChecked())

    def fit(self) -> int | None:
        """The Fit button: Run > Fit Model on Measurements."""
        return self.window.learning.fit()

    def fitted_model(self, state):
        return self.window.learning.fitted_model(state)

    def propose(self) -> list:
        """The Propose button: Run > Propose to Variants."""
        return self.window.learning.propose()

    def show_exclusions(self) -> None:
        """Name the positions the document keeps out of proposals."""
        state = self.window.session.state
        learning = getattr(self.window, "learning", None)
        excluded = learning.exclusions(state) if learning is not None and state is not None else frozenset()
        start = state is not None and state.document.wild_type[:1] == "M"  # the start codon is never proposed
        if not excluded:
            self.exclusions.setText("Excluded from proposals: " + ("Met1 (the start codon)" if start else "none"))
        else:
            self.exclusions.setText(f"Excluded from proposals: {state.document.scheme.format_positions(sorted(excluded))}"
                                    + (" and Met1 (the start codon)" if start else ""))
