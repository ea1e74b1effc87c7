"""The Generate Sequences dialog: sampling settings, a results table, send to the editor, FASTA export.

Sampling runs on the window's worker (:func:`~protein_studio.engines.generation.generate_sequences`);
progress and candidates show in the dialog while it runs, and Cancel stops it. The table lists the kept
sequences ranked by perplexity, then the dropped ones with the quality gate that dropped them. A row goes
to the sequence editor through the window's paste (undoable), or opens as a new document. FASTA export
writes the scores in the headers.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout,
                               QHeaderView, QLineEdit, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem)

from protein_studio.core.errors import UserError
from protein_studio.core.files import write_text_atomically
from protein_studio.gui.dialogs.job_dialog import WorkerJobDialog
from protein_studio.gui.model_choice import fill_model_combo
from protein_studio.gui.worker import Job
from protein_studio.gui.file_dialogs import save_file

__all__ = ["GenerationDialog", "COLUMNS"]

#: Columns of the results table.
COLUMNS = ("Name", "Perplexity", "Length", "Identity %", "pLDDT", "Status", "Sequence")
_DROPPED_COLOR = "#8a8a8a"


def _number_item(value, digits: int) -> QTableWidgetItem:
    item = QTableWidgetItem()
    if value is None:
        item.setText("\u2014")
    else:
        item.setData(Qt.DisplayRole, round(float(value), digits) if digits else int(value))
    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    return item


def _is_random(model: str) -> bool:
    from protein_studio.models.catalog import get_spec

    try:
        return get_spec(model).is_random
    except UserError:
        return False


class GenerationDialog(WorkerJobDialog):
    """Settings, a results table and the actions on its rows.

    Parameters
    ----------
    window : MainWindow
        Whose worker runs the sampling and whose document receives sequences.

    Attributes
    ----------
    result : GenerationResult or None
        The last finished run.
    job_id : int or None
        The run in progress.
    """

    def __init__(self, window):
        super().__init__(window, "Choose the settings and press Generate.")
        self.setWindowTitle("Generate sequences")
        self.result = None
        self._settings = None  # what the running or last generation used (kept with its result)
        self._model = ""
        self._sampled = 0

        self.model = QComboBox()
        fill_model_combo(self.model, "generation")
        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("optional: residues every sequence starts with, e.g. M")
        self.n = QSpinBox(minimum=1, maximum=10000, value=20)
        self.max_length = QSpinBox(minimum=2, maximum=5000, value=400, suffix=" residues")
        self.temperature = QDoubleSpinBox(minimum=0.05, maximum=10.0, value=1.0, singleStep=0.1, decimals=2)
        self.top_k = QSpinBox(minimum=0, maximum=100000, value=950, specialValueText="off")
        self.top_p = QDoubleSpinBox(minimum=0.01, maximum=1.0, value=1.0, singleStep=0.05, decimals=2)
        self.repetition_penalty = QDoubleSpinBox(minimum=0.1, maximum=10.0, value=1.2, singleStep=0.1, decimals=2)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.identity = QCheckBox("Identity to the open sequence")
        self.fold = QCheckBox("Fold each kept sequence (mean pLDDT)")
        self.fold_model = QComboBox()
        fill_model_combo(self.fold_model, "folding")
        window.modelsChanged.connect(self._refill_models)
        self.fold_model.setEnabled(False)
        self.fold.toggled.connect(self.fold_model.setEnabled)

        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Prompt", self.prompt)
        form.addRow("Number of sequences", self.n)
        form.addRow("Maximum length", self.max_length)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-k", self.top_k)
        form.addRow("Top-p", self.top_p)
        form.addRow("Repetition penalty", self.repetition_penalty)
        form.addRow("Seed", self.seed)
        form.addRow("", self.identity)
        form.addRow(self.fold, self.fold_model)

        self.generate_button = QPushButton("Generate")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.send_to_editor())

        self.send_button = QPushButton("Send to Editor")
        self.send_button.setToolTip("Paste the sequence into the sequence editor (Edit \u25b8 Undo takes it back)")
        self.send_button.clicked.connect(lambda: self.send_to_editor())
        self.open_button = QPushButton("Open as New Document")
        self.open_button.clicked.connect(lambda: self.open_as_document())
        self.export_button = QPushButton("Export FASTA\u2026")
        self.export_button.clicked.connect(lambda: self.export_fasta())
        self.include_dropped = QCheckBox("with dropped sequences")

        run_row = QHBoxLayout()
        run_row.addWidget(self.generate_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)
        actions = QHBoxLayout()
        actions.addWidget(self.send_button)
        actions.addWidget(self.open_button)
        actions.addStretch(1)
        actions.addWidget(self.export_button)
        actions.addWidget(self.include_dropped)

        self._arrange(form, run_row, self.table, actions, 900, 760)

        window.worker.partial.connect(self._on_partial)
        self._update_buttons()

    # settings and running --------------------------------------------------------------------
    def _refill_models(self) -> None:
        """The model manager changed what is on disk: mark the choosers anew (the choices are kept)."""
        fill_model_combo(self.model, "generation")
        fill_model_combo(self.fold_model, "folding")

    def settings(self):
        """The :class:`~protein_studio.engines.generation.GenerationSettings` of the controls, validated."""
        from protein_studio.engines.generation import GenerationSettings

        return GenerationSettings(
            n=self.n.value(), prompt=self.prompt.text(), max_length=self.max_length.value(),
            min_length=min(10, self.max_length.value()), temperature=self.temperature.value(),
            top_k=self.top_k.value(), top_p=self.top_p.value(),
            repetition_penalty=self.repetition_penalty.value(), seed=self.seed.value()).validated()

    def reference(self) -> str | None:
        doc = self.window.session.document
        return doc.sequence if self.identity.isChecked() and doc is not None else None

    def generate(self) -> int | None:
        """Start sampling on the worker with the dialog's settings; the job id, or None when refused."""
        from protein_studio.models.catalog import get_spec

        if self.job_id is not None:
            return None
        model = self.model.currentData()
        fold_model = self.fold_model.currentData() if self.fold.isChecked() else None
        try:
            if model is None:
                raise UserError("no generation model is available (see Models \u25b8 Manage Models)")
            settings = self.settings()
            spec = get_spec(model)
            if self.fold.isChecked() and fold_model is None:
                raise UserError("no folding model is available for the pLDDT column")
        except UserError as exc:
            self._set_status(str(exc), error=True)
            self.window.show_error("Cannot generate", str(exc))
            return None
        for name, what in ((model, "generate sequences"), (fold_model, "fold generated sequences")):
            if name is not None and not self.window.models.require_on_disk(name, what):
                self._set_status(f"{name} is not on disk: download or import it in Models \u25b8 Manage Models",
                                 error=True)
                return None
        reference = self.reference()
        device = self.window.models.device

        def run(ctx, loaded):
            from protein_studio.engines.generation import generate_sequences

            folder = None
            if fold_model is not None:
                from protein_studio.models.loader import load_model

                ctx.progress(0, 1, f"Loading {fold_model}")
                folder = load_model(fold_model, device)
            return generate_sequences(loaded, settings, ctx, reference=reference, fold_model=folder)

        job = Job(f"Generate {settings.n} sequences with {spec.display_name}", run, model=spec.name,
                  device=device, kind="generate")
        self._settings, self._model = settings, spec.name
        self._sampled = 0
        return self._started(self.window.jobs.submit(job),
                             f"Generating {settings.n} sequences with {spec.display_name}\u2026")

    def _update_buttons(self) -> None:
        running = self.job_id is not None
        self.generate_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        has_row = self.selected_candidate() is not None
        self.send_button.setEnabled(has_row and not running)
        self.open_button.setEnabled(has_row and not running)
        self.export_button.setEnabled(self.result is not None and not running)

    # worker signals --------------------------------------------------------------------------
    def _on_partial(self, job_id: int, payload) -> None:
        if job_id != self.job_id or not isinstance(payload, list):
            return
        self._sampled += len(payload)
        kept = sum(1 for c in payload if getattr(c, "kept", False))
        self._set_status(f"Sampled {self._sampled} sequences ({kept} of the last {len(payload)} kept); "
                         f"scoring follows")

    def _on_finished(self, result) -> None:
        self.show_result(result)
        state = self.window.session.state
        if state is not None and self._settings is not None:  # the set, its settings and seed go in the project
            from protein_studio.core.storage.records import generated_record

            state.results.append(generated_record(result, self._settings, result.to_fasta(include_dropped=True),
                                                  self._model))
            self.window.session.modified.emit()

    # results ---------------------------------------------------------------------------------
    def show_result(self, result) -> None:
        """Fill the table: kept sequences ranked by perplexity, then the dropped ones."""
        self.result = result
        rows = result.kept + result.dropped
        self.table.setRowCount(len(rows))
        for r, candidate in enumerate(rows):
            name = QTableWidgetItem(candidate.name)
            name.setData(Qt.UserRole, candidate.index)
            identity = None if candidate.identity is None else 100 * candidate.identity
            status = "kept" if candidate.kept else f"dropped: {candidate.reason}"
            items = [name, _number_item(candidate.perplexity, 2), _number_item(len(candidate.sequence), 0),
                     _number_item(identity, 1), _number_item(candidate.mean_plddt, 1),
                     QTableWidgetItem(status), QTableWidgetItem(candidate.sequence)]
            for c, item in enumerate(items):
                if not candidate.kept:
                    item.setForeground(QColor(_DROPPED_COLOR))
                self.table.setItem(r, c, item)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        counts = ", ".join(f"{n} {reason}" for reason, n in sorted(result.drop_counts().items()))
        warnings = f" Warnings: {'; '.join(result.warnings)}" if result.warnings else ""
        random_note = " RANDOM WEIGHTS: the sequences are meaningless." if _is_random(result.model) else ""
        self._set_status(f"{result.model}: kept {len(result.kept)} of {len(result.candidates)}"
                         + (f" (dropped: {counts})" if counts else "") + "." + random_note + warnings)
        if rows:
            self.table.selectRow(0)
        self._update_buttons()

    def rows(self) -> list[dict]:
        """The table as shown, one dict per row (column name -> text), for checks and scripts."""
        out = []
        for r in range(self.table.rowCount()):
            out.append({COLUMNS[c]: self.table.item(r, c).text() for c in range(len(COLUMNS))})
        return out

    def candidate_at(self, row: int):
        """The :class:`GeneratedSequence` shown in table row ``row``."""
        if self.result is None or not 0 <= row < self.table.rowCount():
            return None
        index = self.table.item(row, 0).data(Qt.UserRole)
        return next(c for c in self.result.candidates if c.index == index)

    def selected_candidate(self):
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.candidate_at(rows[0].row()) if rows else None

    def send_to_editor(self, row: int | None = None) -> bool:
        """Put the row's sequence into the sequence editor (undoable paste); False when nothing changed."""
        candidate = self.selected_candidate() if row is None else self.candidate_at(row)
        if candidate is None or self.window.session.document is None:
            return False
        if not self.window.edits.paste_sequence(candidate.sequence):
            return False
        self.window.activity.add_entry(f"Sent {candidate.name} ({len(candidate.sequence)} residues) to the "
                                       f"sequence editor (Edit \u25b8 Undo takes it back)")
        return True

    def open_as_document(self, row: int | None = None) -> bool:
        """Open the row's sequence as a new document (no structure)."""
        from protein_studio.core.molecules.numbering import NumberingMap
        from protein_studio.core.documents.document import Document

        candidate = self.selected_candidate() if row is None else self.candidate_at(row)
        if candidate is None:
            return False
        sequence = candidate.sequence
        name = f"{candidate.name} ({self.result.model})"
        self.window.documents.set_document(Document(name=name, wild_type=sequence, sequence=sequence,
                                          numbering=NumberingMap.plain(len(sequence), 1, sequence=sequence)))
        return True

    def export_fasta(self, path: str | Path | None = None) -> bool:
        """Write the results as FASTA with the scores in the headers (kept, ranked; dropped if ticked)."""
        if self.result is None:
            return False
        if path is None:
            path, _ = save_file(self, "export", "Export generated sequences", "generated.fasta", "FASTA (*.fasta *.fa)")
            if not path:
                return False
        try:
            write_text_atomically(path, self.result.to_fasta(include_dropped=self.include_dropped.isChecked()))
        except UserError as exc:
            self.window.show_error("Export failed", str(exc))
            return False
        self.window.activity.add_entry(f"Exported generated sequences to {path}")
        return True
