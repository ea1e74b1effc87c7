"""Run > Predict Structure and Run > Compare Structures: what to fold and with which model (with the
memory and time estimate before anything runs), and which two structures to superpose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel,
                               QPushButton, QVBoxLayout)

from protein_studio.core.molecules.structures import Structure
from protein_studio.gui.file_dialogs import open_file
from protein_studio.gui.model_choice import RANDOM_COLOR, fill_model_combo

__all__ = ["StructureEntry", "PredictDialog", "CompareDialog"]


@dataclass
class StructureEntry:
    """A structure the comparison can use.

    Attributes
    ----------
    label : str
        Unique, shown in the pickers.
    structure : Structure
    numbered_like_document : bool
        Its residues are the open document's numbering map's (the document's own structure, or a
        prediction renumbered with :func:`renumber_like`): per-residue values map to sequence positions.
    kind : str
        ``"document"``, ``"predicted"`` or ``"file"``.
    result : object
        The :class:`~protein_studio.engines.folding.FoldResult` of a prediction.
    """

    label: str
    structure: Structure
    numbered_like_document: bool
    kind: str
    result: Any = None


class PredictDialog(QDialog):
    """Pick what to fold (current sequence, wild type or a variant) and the folding model.

    The estimate of memory and time updates with every choice; the Predict button is disabled with the
    reason shown when the run cannot fit.
    """

    def __init__(self, tools: "DesignTools"):
        super().__init__(tools.window)
        self.tools = tools
        self.setWindowTitle("Predict structure")
        self.source = QComboBox()
        for label, name, sequence in tools.sequence_choices():
            self.source.addItem(label, (name, sequence))
        self.model = QComboBox()
        fill_model_combo(self.model, "folding")
        tools.window.modelsChanged.connect(lambda: fill_model_combo(self.model, "folding"))
        self.estimate = QLabel()
        self.estimate.setWordWrap(True)
        self.estimate.setMinimumWidth(460)
        form = QFormLayout()
        form.addRow("Sequence", self.source)
        form.addRow("Model", self.model)
        form.addRow("Estimate", self.estimate)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Predict")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.source.currentIndexChanged.connect(self.update_estimate)
        self.model.currentIndexChanged.connect(self.update_estimate)
        self.job_id: int | None = None
        self.update_estimate()

    def update_estimate(self) -> bool:
        """Show the estimate for the current choice; False (Predict disabled) when it cannot run."""
        choice = self.source.currentData()
        model = self.model.currentData()
        if choice is None or model is None:
            text, ok = ("Open a protein first." if choice is None else
                        "No folding model is available (see Models \u25b8 Manage Models)."), False
        else:
            text, ok = self.tools.fold_estimate(len(choice[1]), model)
        self.estimate.setText(text)
        self.estimate.setStyleSheet("" if ok else f"color: {RANDOM_COLOR}")
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(ok)
        return ok

    def accept(self) -> None:  # noqa: D102
        if not self.update_estimate():
            return
        name, sequence = self.source.currentData()
        self.job_id = self.tools.predict(self.model.currentData(), sequence, name)
        if self.job_id is not None:
            super().accept()


class CompareDialog(QDialog):
    """Pick a reference and a structure to superpose on it (open, predicted, or read from files)."""

    def __init__(self, tools: "DesignTools"):
        super().__init__(tools.window)
        self.tools = tools
        self.setWindowTitle("Compare structures")
        self.reference = QComboBox()
        self.mobile = QComboBox()
        add = QPushButton("Add File\u2026")
        add.setToolTip("Read a PDB or mmCIF file to compare")
        add.clicked.connect(self._add_file)
        self.note = QLabel("The second structure is superposed on the reference (CA atoms, paired by "
                           "residue number or by a sequence alignment).")
        self.note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Reference", self.reference)
        form.addRow("Superpose", self.mobile)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addStretch(1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.button(QDialogButtonBox.Ok).setText("Compare")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.job_id: int | None = None
        self.refresh()

    def refresh(self) -> None:
        """List the structures; default: the document's as reference and the latest prediction on it."""
        entries = self.tools.structure_entries()
        labels = [e.label for e in entries]
        for combo in (self.reference, self.mobile):
            combo.clear()
            combo.addItems(labels)
        if len(labels) >= 2:
            self.reference.setCurrentIndex(0)
            self.mobile.setCurrentIndex(len(labels) - 1)
        self.buttons.button(QDialogButtonBox.Ok).setEnabled(len(labels) >= 2)

    def _add_file(self) -> None:
        path = open_file(self, "protein", "Structure to compare",
                         "Structures (*.pdb *.ent *.cif *.mmcif *.bcif);;All files (*)")
        if path and self.tools.add_structure_file(path) is not None:
            self.refresh()
            self.mobile.setCurrentIndex(self.mobile.count() - 1)

    def accept(self) -> None:  # noqa: D102
        self.job_id = self.tools.compare(self.reference.currentText(), self.mobile.currentText())
        if self.job_id is not None:
            super().accept()
