"""Run > Redesign with ProteinMPNN: new sequences for the open structure's backbone.

The selection (or the whole chain) is designed, every other residue keeps its letter, the structure's other
chains are context. Design runs on the window's worker
(:func:`~protein_studio.engines.inverse_folding.design`); the results table sorts by any column and its rows
go to the variant list (as variants of the wild type, named in the document's numbering), to a FASTA file,
or to ESMFold, whose prediction is then superposed on the open structure. Each run, with its settings and
seed, goes into the project (a ``designs`` result) and shows again when the dialog opens on that document.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout,
                               QHeaderView, QLineEdit, QPushButton, QRadioButton, QSpinBox, QTableWidget,
                               QTableWidgetItem)

from protein_studio.core.errors import UserError
from protein_studio.core.files import write_text_atomically
from protein_studio.gui.file_dialogs import save_file
from protein_studio.gui.dialogs.job_dialog import WorkerJobDialog
from protein_studio.gui.model_choice import fill_model_combo
from protein_studio.gui.worker import Job

__all__ = ["RedesignDialog", "COLUMNS"]

COLUMNS = ("Design", "NLL", "Recovery %", "Changes", "Mutations", "Sequence")


def _number(value: float, digits: int) -> QTableWidgetItem:
    item = QTableWidgetItem()
    item.setData(Qt.DisplayRole, round(float(value), digits) if digits else int(value))
    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    return item


def _variant_of(doc, design_letters: dict):
    """The MultiMutant (sequence positions) that turns ``doc``'s wild type into the design, or None."""
    from protein_studio.core.molecules.mutations import MultiMutant, Mutation

    changes = [Mutation(p + 1, doc.wild_type[p], letter) for p, letter in sorted(design_letters.items())
               if letter != doc.wild_type[p]]
    return MultiMutant(tuple(changes)) if changes else None


class RedesignDialog(WorkerJobDialog):
    """Settings, a sortable results table, and Add to Variants / Export FASTA / Fold and Compare."""

    def __init__(self, window):
        super().__init__(window, "Choose what to design and press Design.")
        self.setWindowTitle("Redesign with ProteinMPNN")
        self.designs: list[dict] = []
        self.settings: dict = {}

        self.model = QComboBox()
        fill_model_combo(self.model, "scoring", family="proteinmpnn")
        window.modelsChanged.connect(lambda: fill_model_combo(self.model, "scoring", family="proteinmpnn"))
        self.on_selection = QRadioButton("Selected residues")
        self.on_chain = QRadioButton("Whole chain")
        self.scope = QButtonGroup(self)
        for button in (self.on_selection, self.on_chain):
            self.scope.addButton(button)
        self.on_chain.setChecked(True)
        scope_row = QHBoxLayout()
        scope_row.addWidget(self.on_selection)
        scope_row.addWidget(self.on_chain)
        scope_row.addStretch(1)
        self.n = QSpinBox(minimum=1, maximum=1000, value=8)
        self.temperature = QDoubleSpinBox(minimum=0.01, maximum=2.0, value=0.1, singleStep=0.05, decimals=2)
        self.omit = QLineEdit()
        self.omit.setPlaceholderText("amino acids never placed, e.g. C")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.fold_model = QComboBox()
        fill_model_combo(self.fold_model, "folding")
        self.fold_model.currentIndexChanged.connect(lambda _index: self._update_buttons())

        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Design", scope_row)
        form.addRow("Number of designs", self.n)
        form.addRow("Temperature", self.temperature)
        form.addRow("Omit", self.omit)
        form.addRow("Seed", self.seed)
        form.addRow("Fold with", self.fold_model)

        self.design_button = QPushButton("Design")
        self.design_button.setDefault(True)
        self.design_button.clicked.connect(lambda: self.design())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setSortingEnabled(True)
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.add_button = QPushButton("Add to Variants")
        self.add_button.setToolTip("Add the selected designs to the variant list as variants of the wild type")
        self.add_button.clicked.connect(lambda: self.add_to_variants())
        self.export_button = QPushButton("Export FASTA\u2026")
        self.export_button.clicked.connect(lambda: self.export_fasta())
        self.fold_button = QPushButton("Fold and Compare")
        self.fold_button.setToolTip("Predict the selected design's structure and superpose it on the open structure")
        self.fold_button.clicked.connect(lambda: self.fold_and_compare())

        run_row = QHBoxLayout()
        run_row.addWidget(self.design_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.progress, 1)
        actions = QHBoxLayout()
        for button in (self.add_button, self.fold_button):
            actions.addWidget(button)
        actions.addStretch(1)
        actions.addWidget(self.export_button)
        self._arrange(form, run_row, self.table, actions, 960, 700)
        self._update_buttons()

    # running ---------------------------------------------------------------------------------
    def design(self) -> int | None:
        """Start designing on the worker; the job id, or None when refused (the reason is shown)."""
        from protein_studio.models.catalog import get_spec

        window, doc = self.window, self.window.session.document
        try:
            if self.job_id is not None:
                raise UserError("a redesign is already running")
            if doc is None or doc.structure is None:
                raise UserError("open a structure first: ProteinMPNN designs for a backbone")
            model = self.model.currentData()
            if model is None:
                raise UserError("no ProteinMPNN model is available (see Models \u25b8 Manage Models)")
            positions = sorted(window.mediator.selection) if self.on_selection.isChecked() else list(range(len(doc)))
            if not positions:
                raise UserError("select the residues to design first (or choose Whole chain)")
            omit = "".join(c for c in self.omit.text().upper() if not c.isspace() and c != ",")
            spec = get_spec(model)
        except UserError as exc:
            self._set_status(str(exc), error=True)
            return None
        if not window.models.require_on_disk(spec.name, "redesign sequences"):
            return None
        settings = {"model": spec.name, "positions": [doc.label(p) for p in positions],
                    "n": self.n.value(), "temperature": self.temperature.value(), "omit": omit,
                    "seed": self.seed.value(), "scope": "selection" if self.on_selection.isChecked() else "chain"}
        n, temperature, seed = settings["n"], settings["temperature"], settings["seed"]

        def run(ctx, loaded):
            import numpy as np

            from protein_studio.engines.inverse_folding import bind_document, design

            bound = bind_document(loaded, doc)
            node_of = bound.backbone.node_of
            designable = np.zeros(len(bound.backbone.letters), dtype=bool)
            designable[[int(node_of[p]) for p in positions if node_of[p] >= 0]] = True
            designs = design(bound, ctx, designable=designable, n=n, temperature=temperature, omit=omit, seed=seed)
            position_of = {int(node): p for p, node in enumerate(node_of) if node >= 0}
            out = []
            for k, item in enumerate(designs, start=1):
                letters = {position_of[i]: item.sequence[i] for i in np.flatnonzero(designable)}
                variant = _variant_of(doc, letters)
                chain = "".join(letters.get(p, doc.sequence[p]) for p in range(len(doc)))
                out.append({"name": f"design_{k}", "seed": item.seed, "nll": item.nll, "recovery": item.recovery,
                            "variant": doc.name_mutant(variant) if variant else "", "sequence": chain,
                            "changes": len(variant.mutations) if variant else 0})
            return out

        job = Job(f"Redesign {doc.name} with {spec.display_name}", run, model=spec.name, device=window.models.device,
                  kind="redesign")
        self.settings = settings
        return self._started(window.jobs.submit(job), f"Designing {n} sequences with {spec.display_name} on "
                                                      f"{len(positions)} positions\u2026")

    def _update_buttons(self) -> None:
        running = self.job_id is not None
        self.design_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        chosen = bool(self.selected_designs())
        self.add_button.setEnabled(chosen and not running)
        self.fold_button.setEnabled(chosen and not running and self.fold_model.currentData() is not None)
        self.export_button.setEnabled(bool(self.designs) and not running)

    def _on_finished(self, result) -> None:
        self.show_designs(result, self.settings)
        state = self.window.session.state
        if state is not None:  # the designs, their settings and seed go into the project
            from protein_studio.core.storage.records import designs_record

            state.results.append(designs_record(result, self.settings, self.settings["model"]))
            self.window.session.modified.emit()
        recovery = sum(d["recovery"] for d in result) / max(len(result), 1)
        self.window.activity.add_entry(f"Redesigned with {self.settings['model']}: {len(result)} designs, mean "
                                       f"recovery {100 * recovery:.1f}% (seed {self.settings['seed']})")

    # results ---------------------------------------------------------------------------------
    def show_latest(self) -> bool:
        """Show the latest redesign kept with the open document (a reopened project's included)."""
        state = self.window.session.state
        records = [r for r in (state.results if state is not None else []) if r.get("kind") == "designs"]
        if not records or self.job_id is not None:
            return False
        from protein_studio.core.storage.records import read_designs_record

        try:
            designs, settings = read_designs_record(records[-1])
        except ValueError as exc:  # a project is untrusted input: a damaged record is said and left out
            self._set_status(f"The redesign kept with this document could not be read: {exc}", error=True)
            return False
        self.show_designs(designs, settings)
        return True

    def show_designs(self, designs: list[dict], settings: dict) -> None:
        self.designs, self.settings = list(designs), dict(settings)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(designs))
        for r, item in enumerate(designs):
            name = QTableWidgetItem(item["name"])
            name.setData(Qt.UserRole, r)
            cells = [name, _number(item["nll"], 3), _number(100 * item["recovery"], 1), _number(item["changes"], 0),
                     QTableWidgetItem(item["variant"]), QTableWidgetItem(item["sequence"])]
            for c, cell in enumerate(cells):
                self.table.setItem(r, c, cell)
        self.table.setSortingEnabled(True)
        self.table.sortItems(1, Qt.AscendingOrder)  # the most confident (lowest NLL) first
        self._set_status(f"{len(designs)} designs with {settings.get('model')} at temperature "
                         f"{settings.get('temperature')}, seed {settings.get('seed')} ({settings.get('scope')}). "
                         f"NLL: mean negative log-likelihood per designed residue (lower is more confident).")
        self._update_buttons()

    def rows(self) -> list[dict]:
        """The table as shown (sorted as it is), one dict per row."""
        return [{COLUMNS[c]: self.table.item(r, c).text() for c in range(len(COLUMNS))}
                for r in range(self.table.rowCount())]

    def selected_designs(self) -> list[dict]:
        model = self.table.selectionModel()
        rows = sorted(index.row() for index in model.selectedRows()) if model else []
        return [self.designs[self.table.item(r, 0).data(Qt.UserRole)] for r in rows]

    def add_to_variants(self) -> int:
        """Add the selected designs to the variant list; how many were added."""
        added = 0
        for item in self.selected_designs():
            if item["variant"] and self.window.variants.add_variant(item["variant"]):
                added += 1
        if added:
            self.window.activity.add_entry(f"Added {added} ProteinMPNN designs to the variant list")
        return added

    def export_fasta(self, path: str | Path | None = None) -> bool:
        if not self.designs:
            return False
        if path is None:
            path, _ = save_file(self, "export", "Export designs", "designs.fasta", "FASTA (*.fasta *.fa)")
            if not path:
                return False
        from protein_studio.core.molecules.sequences import ProteinSequence, format_fasta

        text = format_fasta(ProteinSequence(d["name"], d["sequence"], description=(
            f"model={self.settings.get('model')} T={self.settings.get('temperature')} seed={d['seed']} "
            f"nll={d['nll']:.4f} recovery={d['recovery']:.3f} {d['variant']}").strip()) for d in self.designs)
        try:
            write_text_atomically(path, text)
        except UserError as exc:
            self.window.show_error("Export failed", str(exc))
            return False
        self.window.activity.add_entry(f"Exported {len(self.designs)} designs to {path}")
        return True

    def fold_and_compare(self) -> int | None:
        """Predict the first selected design's structure, then superpose it on the open structure."""
        chosen = self.selected_designs()
        model = self.fold_model.currentData()
        doc = self.window.session.document
        if not chosen or model is None or doc is None or doc.structure is None:
            return None
        tools = self.window.design_tools
        original = f"Open structure: {doc.structure.name}"
        return tools.predict(model, chosen[0]["sequence"], f"{doc.name} {chosen[0]['name']}",
                             then=lambda label: tools.compare(original, label))
