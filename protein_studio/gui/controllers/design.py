"""Structure prediction, structure comparison and sequence generation in the main window.

The window's Run menu holds (``window.design_tools``):

- **Predict Structure...**: fold the current sequence, the wild type or a variant of the variant list
  with a folding model (ESMFold; random-weight ones say so). The memory and time estimate is shown before
  the run and a run that cannot fit is refused. The prediction opens in the 3D viewer coloured by pLDDT,
  and a pLDDT track appears under the sequence.
- **Compare Structures...**: superpose two structures (the open document's, predictions, or files) on
  the worker; both are shown in the viewer in two colours, RMSD / TM-score / pairs in a summary line, and
  a per-residue displacement track.
- **Generate Sequences...**: the :class:`~protein_studio.gui.dialogs.generation_dialog.GenerationDialog`.

Jobs go through the window's worker (``window.jobs.submit``); results come back on the GUI thread through
the worker's signals, filtered by job id. The window itself shows progress, errors and cancellations.

A predicted structure of a sequence of the open document is renumbered like the document (its numbering
map's residues, see :func:`~protein_studio.core.molecules.numbering.renumber_like`), so clicks in the viewer and selections elsewhere keep
pointing at the same positions, and a comparison with the document's own structure pairs by number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QDockWidget

from protein_studio.core.errors import InputError, UserError
from protein_studio.core.provenance import provenance_now
from protein_studio.core.storage.records import prediction_record
from protein_studio.core.molecules.numbering import renumber_like
from protein_studio.core.molecules.predictions import PredictedAlignedError
from protein_studio.core.molecules.structures import Structure, structure_from_text, to_pdb_text
from protein_studio.gui.dialogs.structure_dialogs import CompareDialog, PredictDialog, StructureEntry
from protein_studio.gui.panels.track_panel import TrackPanel, displacement_track, plddt_track
from protein_studio.gui.worker import Job
from protein_studio.gui.file_dialogs import save_file
from protein_studio.gui.menus import add_action

__all__ = ["DesignTools"]


class DesignTools(QObject):
    """Structure prediction, comparison and generation attached to a :class:`MainWindow`.

    The window builds it (``window.design_tools``). Everything runs on the window's worker thread.

    Attributes
    ----------
    window : MainWindow
    tracks : TrackPanel
        The per-residue tracks, in a dock under the sequence editor.
    track_dock : QDockWidget
    last_prediction : FoldResult or None
    last_comparison : StructureComparison or None

    Signals
    -------
    predictionShown(object)
        A :class:`~protein_studio.engines.folding.FoldResult` is now in the viewer and the tracks.
    comparisonShown(object)
        A :class:`~protein_studio.engines.comparison.StructureComparison` is now in the viewer and tracks.
    """

    predictionShown = Signal(object)
    comparisonShown = Signal(object)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._jobs: dict[int, Job] = {}
        self._entries: list[StructureEntry] = []
        self.last_prediction = None
        self.last_comparison = None
        self.generation_dialog = None
        self.redesign_dialog = None
        self.dialog: QDialog | None = None

        self.tracks = TrackPanel()
        self.track_dock = QDockWidget("Tracks", window)
        self.track_dock.setObjectName("dock-tracks")
        self.track_dock.setWidget(self.tracks)
        window.addDockWidget(Qt.TopDockWidgetArea, self.track_dock)
        window.splitDockWidget(window.editor_dock, self.track_dock, Qt.Vertical)
        self.track_dock.hide()  # shown with the first track; until then the heatmap keeps the room

        self.tracks.positionsSelected.connect(self._tracks_selected)
        window.mediator.subscribe(self.tracks, lambda indices, source: self._show_selection(indices))
        window.session.document_changed.connect(self._document_changed)
        window.documentOpened.connect(self._document_opened)
        window.session.documents_changed.connect(self._documents_changed)

        worker = window.worker
        worker.jobFinished.connect(self._on_finished)
        worker.jobFailed.connect(self._on_ended)
        worker.jobCancelled.connect(self._on_ended)
        self._prediction: tuple | None = None  # (DocumentState, StructureEntry) of the latest prediction
        self.actions: dict[str, QAction] = {}  # the menu entries, made by add_run_actions and add_file_actions

    # menus -----------------------------------------------------------------------------------
    def add_run_actions(self, menu) -> None:
        """Run > Predict Structure, Compare Structures, Generate Sequences and Show Prediction in 3D View."""
        w = self.window
        for key, text, slot, shortcut, tip in (
                ("predict", "&Predict Structure\u2026", self.open_predict_dialog, "Ctrl+Shift+F",
                 "Fold the current sequence or a variant with ESMFold and colour it by confidence"),
                ("compare", "C&ompare Structures\u2026", self.open_compare_dialog, None,
                 "Superpose two structures: RMSD, TM-score and per-residue displacement"),
                ("redesign", "&Redesign with ProteinMPNN\u2026", self.open_redesign_dialog, "Ctrl+Shift+E",
                 "Design new sequences for the open structure's backbone, on the selection or the whole chain"),
                ("generate", "&Generate Sequences\u2026", self.open_generation_dialog, "Ctrl+Shift+G",
                 "Sample new sequences with a ProtGPT2-style language model")):
            self.actions[key] = add_action(w, menu, text, slot, shortcut, tip)
        # a prediction does not take the document's own structure away: this switches between the two
        self.show_prediction_action = QAction("Show &Prediction in 3D View", w, checkable=True)
        tip = "Switch the 3D view between the latest prediction and the document's own structure"
        self.show_prediction_action.setToolTip(tip)
        self.show_prediction_action.setStatusTip(tip)
        self.show_prediction_action.setShortcut("Ctrl+Shift+T")
        self.show_prediction_action.setEnabled(False)
        self.show_prediction_action.toggled.connect(self.show_prediction)
        menu.addAction(self.show_prediction_action)
        self.actions["show_prediction"] = self.show_prediction_action

    def add_file_actions(self, menu) -> None:
        """File > Save Structure."""
        self.actions["save_structure"] = add_action(
            self.window, menu, "Save S&tructure\u2026", self.save_structure_dialog, None,
            "Save the document's structure, a prediction (pLDDT in the B-factor column) or a superposed model "
            "as PDB or mmCIF")

    # documents and selection -----------------------------------------------------------------
    def _document_opened(self) -> None:
        self.tracks.clear()
        self._documents_changed()

    def _forget_prediction_of_other_documents(self) -> None:
        if self._prediction is not None and self._prediction[0] is not self.window.session.state:
            self._prediction = None
        if self._prediction is None:
            self.show_prediction_action.blockSignals(True)
            self.show_prediction_action.setChecked(False)
            self.show_prediction_action.blockSignals(False)
            self.show_prediction_action.setEnabled(False)

    def _documents_changed(self) -> None:
        """Predictions are the shown document's (kept in its state, hence in the project); files added for
        comparison stay whatever is shown."""
        state = self.window.session.state
        self._entries = [e for e in self._entries if e.kind == "file"]
        if state is not None:
            self._entries[:0] = [entry for entry in (self._entry_from_result(r) for r in state.results
                                                     if r["kind"] == "prediction") if entry is not None]
        self._document_changed()
        if hasattr(self, "show_prediction_action"):  # the menus are made after the controllers
            self._forget_prediction_of_other_documents()

    def _entry_from_result(self, result: dict) -> StructureEntry | None:
        doc = self.window.session.document
        data = result["data"]
        try:
            structure = structure_from_text(data["pdb_text"], "pdb", name=result["name"], confidence="plddt")
            numbered = bool(data.get("numbered")) and doc is not None and data.get("wild_type") == doc.wild_type
            if numbered:
                structure = renumber_like(structure, doc.numbering, result["name"])
        except InputError as exc:
            self.window.activity.add_entry(f"A saved prediction cannot be shown ({result['name']}): {exc}")
            return None
        return StructureEntry(result["name"], structure, numbered, "predicted")

    def _document_changed(self) -> None:
        doc = self.window.session.document
        if doc is None:
            self.tracks.set_positions([])
            return
        self.tracks.set_positions(doc.labels(), doc.residue_text)

    def _tracks_selected(self, indices, add: bool) -> None:
        mediator = self.window.mediator
        chosen = set(indices) | (set(mediator.selection) if add else set())
        mediator.select(chosen, source=self.tracks)
        self.tracks.set_selection(chosen)

    def _show_selection(self, indices) -> None:
        self.tracks.set_selection(indices)
        if indices:
            self.tracks.ensure_visible(min(indices))

    # structures ------------------------------------------------------------------------------
    def structure_entries(self) -> list[StructureEntry]:
        """The open document's structure, then predictions (oldest first), then files added."""
        doc = self.window.session.document
        out = []
        if doc is not None and doc.structure is not None:
            out.append(StructureEntry(f"Open structure: {doc.structure.name}", doc.structure, True, "document"))
        out += [e for e in self._entries if e.kind == "predicted"]
        out += [e for e in self._entries if e.kind == "file"]
        return out

    def _entry(self, label: str) -> StructureEntry | None:
        return next((e for e in self.structure_entries() if e.label == label), None)

    def _unique(self, label: str) -> str:
        labels = {e.label for e in self.structure_entries()}
        if label not in labels:
            return label
        n = 2
        while f"{label} #{n}" in labels:
            n += 1
        return f"{label} #{n}"

    def add_structure_file(self, path) -> StructureEntry | None:
        """Read a structure file for comparisons; on failure say why (None)."""
        from protein_studio.core.molecules.structures import load_structure

        path = Path(path)
        try:
            structure = load_structure(path)
        except UserError as exc:
            self.window.show_error(f"Cannot open {path.name}", str(exc))
            return None
        entry = StructureEntry(self._unique(f"File: {path.name}"), structure, False, "file")
        self._entries.append(entry)
        return entry

    def savable_structures(self) -> list[tuple[str, Structure]]:
        """``(label, structure)`` of what File > Save Structure offers: the document's structure, its
        predictions and the superposed models of its comparisons."""
        out = [(entry.label, entry.structure) for entry in self.structure_entries()]
        state = self.window.session.state
        for result in (state.results if state is not None else []):
            if result["kind"] == "comparison" and result["data"].get("superimposed_pdb"):
                try:
                    structure = structure_from_text(result["data"]["superimposed_pdb"], "pdb",
                                                    name=f"superposed {result['data']['mobile']}")
                except InputError:
                    continue
                out.append((f"Superposed: {result['name']}", structure))
        return out

    def save_structure(self, label: str, path: str | Path) -> bool:
        """Write the structure labelled ``label`` (see :meth:`savable_structures`) to ``path``, PDB or mmCIF
        by its extension, atomically; a failure is a message."""
        from protein_studio.core.molecules.structures import save_structure

        chosen = dict(self.savable_structures()).get(label)
        if chosen is None:
            self.window.show_error("Cannot save the structure", f"no structure called {label!r}")
            return False
        try:
            save_structure(chosen, path)
        except UserError as exc:
            self.window.show_error("Cannot save the structure", str(exc))
            return False
        self.window.activity.add_entry(f"Saved {label} to {path}")
        return True

    def save_structure_dialog(self) -> bool:
        choices = [label for label, _ in self.savable_structures()]
        if not choices:
            self.window.show_error("No structure to save", "Open a structure or predict one first.")
            return False
        from PySide6.QtWidgets import QInputDialog

        label, ok = QInputDialog.getItem(self.window, "Save structure", "Structure:", choices, len(choices) - 1, False)
        if not ok:
            return False
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:60]
        path, chosen = save_file(self.window, "structure", "Save structure", f"{stem}.pdb", "PDB (*.pdb);;mmCIF (*.cif)")
        if not path:
            return False
        if Path(path).suffix.lower() not in (".pdb", ".cif", ".bcif"):
            path += ".cif" if chosen.startswith("mmCIF") else ".pdb"
        return self.save_structure(label, path)

    # prediction ------------------------------------------------------------------------------
    def sequence_choices(self) -> list[tuple[str, str, str]]:
        """``(label, name, sequence)`` of what can be folded: current sequence, wild type, variants."""
        from protein_studio.core.molecules.mutations import apply_mutant

        doc = self.window.session.document
        if doc is None:
            return []
        mutant = doc.mutations()
        current = f"{doc.name} {doc.name_mutant(mutant)}" if mutant else doc.name
        out = [(f"Current sequence: {current} ({len(doc)} residues)", current, doc.sequence)]
        if mutant:
            out.append((f"Wild type: {doc.name} ({len(doc)} residues)", doc.name, doc.wild_type))
        for variant in self.window.session.variants:
            try:
                sequence = apply_mutant(doc.wild_type, variant)
            except UserError:
                continue
            name = doc.name_mutant(variant)
            out.append((f"Variant {name}", f"{doc.name} {name}", sequence))
        return out

    def fold_estimate(self, length: int, model: str) -> tuple[str, bool]:
        """What a prediction of ``length`` residues with ``model`` needs, and whether it can run.

        Real ESMFold: the engine's estimate for the chunk size it would choose (weights included), or
        the reason it cannot fit. Random-weight models are tiny: they always run, and the estimate of
        the real architecture is shown for reference.
        """
        from protein_studio.models.devices import select_device
        from protein_studio.engines.folding import choose_chunk_size, estimate_fold_resources
        from protein_studio.models.catalog import get_spec

        try:
            spec = get_spec(model)
            device = select_device(self.window.models.device)
        except UserError as exc:
            return str(exc), False
        if spec.is_random:
            real = estimate_fold_resources(length, device, chunk_size=None if length <= 512 else 64)
            return (f"{spec.name} is a tiny RANDOM WEIGHTS model ({spec.parameters:,} parameters): it runs in "
                    f"seconds and its structures are meaningless. The real ESMFold would need: "
                    f"{real.describe()}."), True
        try:
            estimate = choose_chunk_size(length, device)
        except UserError as exc:
            return f"Cannot run: {exc}", False
        return f"{estimate.describe()} (weights included).", True

    def predict(self, model: str, sequence: str | None = None, name: str | None = None,
                then=None) -> int | None:
        """Fold ``sequence`` (default: the current one) with ``model`` on the worker; the job id or None.
        ``then(label)`` is called with the prediction's label once it is shown (e.g. to compare it)."""
        from protein_studio.models.catalog import get_spec

        doc = self.window.session.document
        if sequence is None:
            if doc is None:
                self.window.show_error("Nothing to fold", "Open a protein first.")
                return None
            sequence, name = doc.sequence, name or self.sequence_choices()[0][1]
        name = name or "sequence"
        try:
            spec = get_spec(model)
            if spec.task != "folding":
                raise UserError(f"{spec.name} is a {spec.task} model, not a folding model")
        except UserError as exc:
            self.window.show_error("Cannot predict the structure", str(exc))
            return None
        if not self.window.models.require_on_disk(spec.name, "predict structures"):
            return None

        def run(ctx, loaded):
            from protein_studio.engines.folding import fold_sequence

            return fold_sequence(sequence, loaded, ctx, name=name)

        job = Job(f"Predict structure of {name} with {spec.display_name}", run, model=spec.name,
                  device=self.window.models.device, kind="fold",
                  data={"wild_type": doc.wild_type if doc is not None else None, "name": name,
                        "sequence": sequence, "then": then})
        return self._submit(job)

    def _show_prediction(self, result, data: dict) -> None:
        doc = self.window.session.document
        label = self._unique(f"Predicted: {data['name']} ({result.model})")
        structure = structure_from_text(result.pdb_text, "pdb", name=label, confidence="plddt")
        pae = np.asarray(result.pae, dtype=float)
        if pae.ndim == 2 and pae.shape[0] == structure.n_residues:  # shown in the PAE view with the structure
            structure = structure.with_pae(PredictedAlignedError(pae, float(np.nanmax(pae)) if pae.size else 30.0,
                                                                 f"{result.model} prediction"))
        # the same residues as the document, position by position: its pLDDT is a track of the document
        same_positions = (doc is not None and data["wild_type"] == doc.wild_type and len(result.chain_ids) == 1
                          and result.length == len(doc))
        numbered = same_positions
        if numbered:
            try:
                structure = renumber_like(structure, doc.numbering, label)
            except InputError as exc:
                numbered = False
                self.window.activity.add_entry(f"Prediction kept its own numbering: {exc}")
        entry = StructureEntry(label, structure, numbered, "predicted", result)
        self._entries.append(entry)
        self.last_prediction = result
        state = self.window.session.state
        if state is not None:  # kept with the document, so the project keeps it
            state.results.append(prediction_record(result, name=label, source=data["name"],
                                                   wild_type=data["wild_type"], numbered=numbered))
            self.window.session.modified.emit()
        viewer = self.window.viewer
        self._prediction = (state, entry)
        self.show_prediction_action.setEnabled(True)
        self.show_prediction_action.blockSignals(True)
        self.show_prediction_action.setChecked(True)
        self.show_prediction_action.blockSignals(False)
        self._load_prediction()
        source = f"{result.model}, mean {result.mean_plddt:.1f}, pTM {result.ptm:.2f}"
        if numbered:
            mutated = [doc.numbering.residue_at(i) for i, (a, b) in enumerate(zip(doc.wild_type, data["sequence"]))
                       if a != b]
            viewer.set_mutated([r for r in mutated if r is not None])
        if same_positions:  # the track does not need the structure's numbers, only the same positions
            self.tracks.set_track(plddt_track(result.plddt, source=f"prediction of {data['name']}, {source}"))
            self.tracks.remove_track("displacement")
            self.tracks.set_summary(f"Predicted {data['name']} with {result.model}: mean pLDDT "
                                    f"{result.mean_plddt:.1f}, pTM {result.ptm:.2f}")
            self.track_dock.show()
        text = (f"Predicted {data['name']} ({result.length} residues) with {result.model}: mean pLDDT "
                f"{result.mean_plddt:.1f}, pTM {result.ptm:.2f}, {result.seconds:.1f} s "
                f"({result.estimate.describe()})")
        self.window.activity.add_entry(text)
        self.window.statusBar().showMessage(text, 8000)
        self.predictionShown.emit(result)
        if data.get("then") is not None:
            data["then"](label)

    def _load_prediction(self) -> None:
        _state, entry = self._prediction
        self.window.view.show_structure(entry.structure, entry.label, color_mode="confidence")

    def show_prediction(self, on: bool) -> bool:
        """View the latest prediction (``on``) or the document's own structure in the 3D view."""
        if self._prediction is None or self._prediction[0] is not self.window.session.state:
            return False
        if on:
            self._load_prediction()
            return True
        self.window.view.show_structure(self.window.session.document.structure)
        self.window.documents.fill_chain_menu()
        return True

    # comparison ------------------------------------------------------------------------------
    def compare(self, reference: str, mobile: str) -> int | None:
        """Superpose the structure labelled ``mobile`` on ``reference`` (labels of :meth:`structure_entries`)."""
        ref, mob = self._entry(reference), self._entry(mobile)
        if ref is None or mob is None:
            missing = reference if ref is None else mobile
            self.window.show_error("Cannot compare", f"no structure called {missing!r}")
            return None
        if ref.label == mob.label:
            self.window.show_error("Cannot compare", "choose two different structures")
            return None
        doc = self.window.session.document
        # the document's structure may hold other chains: compare its sequence's chain with a one-chain model
        ref_chain = doc.chain if ref.kind == "document" and len(mob.structure.chains) == 1 else None
        mob_chain = doc.chain if mob.kind == "document" and len(ref.structure.chains) == 1 else None

        def run(ctx, loaded):
            from protein_studio.engines.comparison import compare_structures

            ctx.progress(0, 1, f"superposing {mob.label} on {ref.label}")
            return compare_structures(ref.structure, mob.structure, reference_chain=ref_chain,
                                      mobile_chain=mob_chain)

        job = Job(f"Compare {mob.label} with {ref.label}", run, kind="compare",
                  data={"reference": ref, "mobile": mob})
        return self._submit(job)

    def _show_comparison(self, comparison, data: dict) -> None:
        ref, mob = data["reference"], data["mobile"]
        doc = self.window.session.document
        self.last_comparison = comparison
        viewer = self.window.viewer
        viewer.load_structure(ref.structure, ref.label)
        viewer.set_overlay(to_pdb_text(comparison.superimposed), mob.label)
        if doc is not None and ref.numbered_like_document:
            mutated = (doc.numbering.residue_at(i) for i in doc.mutated_indices())
            viewer.set_mutated([r for r in mutated if r is not None])
        summary = f"{mob.label} on {ref.label}: {comparison.summary()}"
        values = None
        if doc is not None and (ref.numbered_like_document or mob.numbered_like_document):
            residues = comparison.reference_residues if ref.numbered_like_document else comparison.mobile_residues
            values = np.full(len(doc), np.nan)
            for residue, distance in zip(residues, comparison.displacement):
                index = doc.numbering.index_of(residue)
                if index is not None:
                    values[index] = distance
            self.tracks.set_track(displacement_track(values, source=f"{mob.label} on {ref.label}"))
            if ref.kind != "predicted" and mob.kind != "predicted":
                self.tracks.remove_track("plddt")
        else:
            summary += " (no track: neither structure is numbered like the open sequence)"
        self.tracks.set_summary(summary)
        self.track_dock.show()
        state = self.window.session.state
        if state is not None:
            state.results.append({
                "kind": "comparison", "name": f"{mob.label} on {ref.label}",
                "data": {"reference": ref.label, "mobile": mob.label, "summary": comparison.summary(),
                         "rmsd": float(comparison.rmsd), "tm_score": float(comparison.tm_score),
                         "n_pairs": int(comparison.n_pairs), "superimposed_pdb": to_pdb_text(comparison.superimposed)},
                "arrays": {"displacement": np.asarray(comparison.displacement, dtype=float)}
                | ({"displacement_by_position": values} if values is not None else {}),
                "provenance": provenance_now(method="superposition (see engines.comparison)")})
            self.window.session.modified.emit()
        self.window.activity.add_entry(summary)
        self.window.statusBar().showMessage(summary, 8000)
        self.comparisonShown.emit(comparison)

    # generation ------------------------------------------------------------------------------
    def open_generation_dialog(self):
        """Show the generation dialog (one per window, kept with its results)."""
        from protein_studio.gui.dialogs.generation_dialog import GenerationDialog

        if self.generation_dialog is None:
            self.generation_dialog = GenerationDialog(self.window)
        self.generation_dialog.show()
        self.generation_dialog.raise_()
        return self.generation_dialog

    # dialogs ---------------------------------------------------------------------------------
    def open_redesign_dialog(self):
        """Run > Redesign with ProteinMPNN: the dialog (one per window, kept between uses)."""
        from protein_studio.gui.dialogs.redesign_dialog import RedesignDialog

        if self.redesign_dialog is None:
            self.redesign_dialog = RedesignDialog(self.window)
        self.redesign_dialog.show_latest()
        self.redesign_dialog.show()
        self.redesign_dialog.raise_()
        return self.redesign_dialog

    def open_predict_dialog(self) -> PredictDialog:
        self.dialog = PredictDialog(self)
        self.dialog.open()
        return self.dialog

    def open_compare_dialog(self) -> CompareDialog:
        self.dialog = CompareDialog(self)
        self.dialog.open()
        return self.dialog

    # jobs ------------------------------------------------------------------------------------
    def _submit(self, job: Job) -> int:
        self._jobs[job.id] = job
        return self.window.jobs.submit(job)

    def _on_finished(self, job_id: int, result) -> None:
        job = self._jobs.pop(job_id, None)
        if job is None:
            return
        try:
            if job.kind == "fold":
                self._show_prediction(result, job.data)
            elif job.kind == "compare":
                self._show_comparison(result, job.data)
        except UserError as exc:
            self.window.show_error(f"{job.title}: cannot show the result", str(exc))

    def _on_ended(self, job_id: int, *_args) -> None:
        self._jobs.pop(job_id, None)

    @property
    def busy(self) -> bool:
        """True while a prediction or comparison of these tools is queued or running."""
        return bool(self._jobs)
