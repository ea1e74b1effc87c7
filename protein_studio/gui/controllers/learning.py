"""Learning from the measurements in the window (``window.learning``): Run > Fit Model on Measurements (ridge,
a Gaussian process, or the structure-aware Gaussian process on the open structure), Run > Propose to Variants
(the next round, each with its predicted gain over the wild type and a 95 % interval, warnings when they are
extrapolations), and Edit > Exclude Selection from Proposals (a signal peptide, a catalytic residue: kept
with the document in the project).

The choices (features, regressor, folds, how many to propose) are the Measurements panel's; the fitted
model is a result of the document (kind ``"fit"``), so the project keeps it with its provenance.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from protein_studio.core.documents.scans import additive_scores
from protein_studio.core.errors import UserError
from protein_studio.gui.menus import add_action
from protein_studio.gui.worker import Job

__all__ = ["LearningController", "EXCLUSIONS_KEY"]

#: Where a document's positions excluded from proposals are kept (its view settings, saved in the project).
EXCLUSIONS_KEY = "proposal_exclusions"
#: The regressor of the structure-aware Gaussian process (it needs the document's structure).
STRUCTURE_GP = "structure-gp"


class LearningController(QObject):
    """Fits models on the measurements and proposes the next round (``window.learning``)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._fit_job: int | None = None
        self._fit_state = None
        #: warnings of the last proposal round (shown in the activity panel and the panel's metrics)
        self.last_warnings: list[str] = []
        window.worker.jobFinished.connect(self._job_finished)
        window.worker.jobFailed.connect(self._job_failed)
        window.worker.jobCancelled.connect(self._job_cancelled)

    # menus -------------------------------------------------------------------------------------
    def add_edit_actions(self, menu) -> None:
        w = self.window
        self.exclude_action = add_action(
            w, menu, "E&xclude Selection from Proposals", self.exclude_selection, None,
            "Never propose substitutions at the selected positions (a signal peptide, an active site)")
        self.include_action = add_action(
            w, menu, "Allow Selection in Pro&posals", self.include_selection, None,
            "Let proposals mutate the selected positions again")

    def add_run_actions(self, menu) -> None:
        w = self.window
        self.fit_action = add_action(
            w, menu, "&Fit Model on Measurements", self.fit, "Ctrl+Shift+L",
            "Fit the model chosen in the Measurements panel on the assay shown (cross-validated, on the worker)")
        self.propose_action = add_action(
            w, menu, "Propose to &Variants", self.propose, None,
            "Add the fitted model's best unmeasured variants, made diverse, to the variant list")

    # exclusions --------------------------------------------------------------------------------
    def exclusions(self, state=None) -> frozenset:
        """0-based positions of the document never proposed (read from its view settings, checked: a
        project file is untrusted)."""
        state = self.window.session.state if state is None else state
        if state is None:
            return frozenset()
        stored = state.view.get(EXCLUSIONS_KEY, [])
        length = len(state.document)
        if not isinstance(stored, list):
            return frozenset()
        return frozenset(i for i in stored if isinstance(i, int) and not isinstance(i, bool) and 0 <= i < length)

    def _set_exclusions(self, state, positions) -> None:
        state.view = {**state.view, EXCLUSIONS_KEY: sorted(positions)}
        self.window.session.modified.emit()
        self.window.measurements.show_exclusions()

    def exclude_selection(self) -> bool:
        """Edit > Exclude Selection from Proposals."""
        state = self.window.session.state
        selection = self.window.mediator.selection
        if state is None or not selection:
            self.window.show_error("Nothing to exclude", "Select the positions to leave out of proposals first "
                                                         "(in the sequence, the heatmap or the structure).")
            return False
        self._set_exclusions(state, self.exclusions(state) | set(selection))
        doc = state.document
        self.window.activity.add_entry(f"Excluded {doc.scheme.format_positions(sorted(selection))} from proposals")
        return True

    def include_selection(self) -> bool:
        """Edit > Allow Selection in Proposals."""
        state = self.window.session.state
        selection = self.window.mediator.selection
        if state is None or not selection:
            return False
        self._set_exclusions(state, self.exclusions(state) - set(selection))
        return True

    # fitting -----------------------------------------------------------------------------------
    def fit(self) -> int | None:
        """Fit on the chosen assay with the chosen features and regressor, on the worker; the job id or None."""
        from protein_studio.engines.learning import FeatureSet, fit
        from protein_studio.engines.methods import STRUCTURE_GP_MODEL

        panel = self.window.measurements
        state = self.window.session.state
        assay = panel.current_assay()
        if state is None or assay is None:
            self.window.show_error("Nothing to learn from", "Import measurements first.")
            return None
        doc = state.document
        names = panel.chosen_features()
        regressor, scheme = panel.regressor.currentData(), panel.cv.currentText()
        structure_gp = regressor == STRUCTURE_GP
        if structure_gp and doc.structure is None:
            self.window.show_error("Cannot fit", f"The structure-aware Gaussian process reads the structure: "
                                                 f"{doc.name} has none. Open its PDB or mmCIF file with it, or "
                                                 f"predict one (Run \u25b8 Predict Structure).")
            return None
        if structure_gp and "embeddings" in names:
            self.window.show_error("Cannot fit", "In the window the structure-aware Gaussian process uses the one-hot "
                                                 "sequence kernel; untick embeddings (the command line `fit "
                                                 "--regressor structure-gp --features onehot,embeddings --model NAME` "
                                                 "adds ESM embeddings).")
            return None
        scores = state.scan.scores.copy() if state.scan is not None else None
        if "zeroshot" in names and scores is None:
            self.window.show_error("Cannot fit", "The zero-shot feature uses the scan: run a scan first.")
            return None

        def zeroshot(variants):
            return additive_scores(scores, variants)

        wild_type, variants, values = doc.wild_type, list(assay.variants), assay.values.copy()
        model_name = STRUCTURE_GP_MODEL if structure_gp else (
            self.window.models.model_name if "embeddings" in names else None)
        source = {"measured": assay.name, "rows_used": assay.rows_used, "numbering": assay.numbering,
                  "features": "+".join(names)}
        if "zeroshot" in names:
            source["zeroshot"] = {"kind": "scan", "model": state.scan.model, "strategy": state.scan.strategy}
            source["scan"] = state.scan.label

        def run(ctx, loaded):
            embedder, sites = None, None
            if structure_gp:
                from protein_studio.engines.structure_gp import site_table

                sites = site_table(doc, loaded, ctx)
            elif loaded is not None:
                from protein_studio.engines.scoring import embed_sequence, model_for_document

                bound = model_for_document(loaded, doc)  # SaProt embeds with the structure tokens
                embedder = lambda sequence: embed_sequence(sequence, bound)  # noqa: E731
            ctx.progress(0, 1, f"fitting {regressor} on {len(variants)} measured variants")
            features = FeatureSet(wild_type, names, embedder, zeroshot if "zeroshot" in names else None)
            extra = {"embeddings": model_name} if model_name and not structure_gp else {}
            model = fit(wild_type, variants, values, features=features, regressor=regressor, cv_scheme=scheme,
                        provenance={**source, **extra}, sites=sites, ctx=ctx)
            ctx.progress(1, 1, "predicting every substitution for the heatmap")
            model.singles_matrices()  # here on the worker, not when the heatmap first shows the model
            return model

        try:
            FeatureSet(wild_type, names, (lambda s: None) if "embeddings" in names else None,
                       zeroshot if "zeroshot" in names else None)  # the choice is refused here, not on the worker
        except UserError as exc:
            self.window.show_error("Cannot fit", str(exc))
            return None
        job = Job(f"Fit {regressor} on {len(variants)} measured variants ({'+'.join(names)})", run, model=model_name,
                  device=self.window.models.device, kind="fit")
        self._fit_state = state
        self._fit_job = self.window.jobs.submit(job)
        return self._fit_job

    def fitted_model(self, state):
        """The document's last fitted model: the live one, or the one its project saved (rebuilt from the
        record; a model on ESM embeddings needs its model loaded and is fitted again instead)."""
        if state is None:
            return None
        if state.fitted is None:
            record = next((r for r in reversed(state.results) if r["kind"] == "fit"), None)
            names = record["data"]["features"]["names"] if record is not None else []
            if record is None or "embeddings" in names:
                return None
            scores = state.scan.scores.copy() if state.scan is not None else None
            if "zeroshot" in names and scores is None:
                return None
            from protein_studio.engines.learning import model_from_dict

            try:
                state.fitted = model_from_dict(record["data"], zeroshot=lambda variants: additive_scores(scores, variants),
                                               source=record["name"])
            except UserError as exc:
                self.window.activity.add_entry(f"The saved model {record['name']} cannot be used: {exc}")
                return None
        return state.fitted

    def _job_finished(self, job_id: int, result) -> None:
        if job_id != self._fit_job:
            return
        self._fit_job = None
        state, self._fit_state = self._fit_state, None
        if state is None or state not in self.window.session.states:
            return
        state.fitted = result
        state.results.append({"kind": "fit", "name": f"{result.regressor} on {'+'.join(result.features.names)}",
                              "data": result.to_dict(), "arrays": {}, "provenance": dict(result.provenance)})
        self.window.session.modified.emit()
        text = result.cv.describe() if result.cv is not None else "fitted without cross-validation"
        panel = self.window.measurements
        panel.metrics.setText(f"Fitted {result.regressor} on {len(result.variants)} variants: {text}")
        panel.fit_state.setText(panel.fit_status(state))
        self.window.activity.add_entry(f"Fitted {result.regressor} on {'+'.join(result.features.names)}: {text}")
        if panel.layer.currentData() in ("learned", "uncertainty"):
            panel.refresh()  # the held-out predictions in the scatter, the new model on the heatmap

    def _job_failed(self, job_id: int, message: str, _details: str) -> None:
        if job_id == self._fit_job:
            self._fit_job, self._fit_state = None, None

    def _job_cancelled(self, job_id: int) -> None:
        self._job_failed(job_id, "", "")

    # proposing ---------------------------------------------------------------------------------
    def propose(self) -> list:
        """Add the next round to the variant list: the best unmeasured candidates by the fitted model, with
        the diversity rule, never Met1 nor an excluded position, each with a note giving its prediction, its
        gain over the wild type with a 95 % interval, and whether it is an extrapolation."""
        from protein_studio.engines.learning import propose

        panel = self.window.measurements
        state = self.window.session.state
        model = self.fitted_model(state)
        if model is None:
            self.window.show_error("Nothing to propose from", "Fit a model on the measurements first.")
            return []
        doc = state.document
        measured = [v for assay in panel.assays() for v in assay.variants]
        listed = list(self.window.session.variants)  # a second round brings new variants
        chosen = propose(model, panel.n.value(), per_position=panel.per_position.value(),
                         min_distance=panel.min_distance.value(), explore=panel.explore.value(),
                         exclude=measured + listed, skip=frozenset(doc.excluded) | self.exclusions(state),
                         combinations=panel.combinations.value())
        self.last_warnings = list(chosen.warnings)
        if not chosen.proposals:
            self.window.show_error("No proposals", f"Nothing to propose: {chosen.reason}.")
            return []
        added = []
        method = f"{model.regressor} on {'+'.join(model.features.names)}"
        for proposal in chosen:
            if self.window.session.add_variant(proposal.variant):
                self.window.session.set_note(proposal.variant, proposal_note(proposal, method))
                added.append(proposal)
        self.window.activity.add_entry(f"Proposed {len(added)} variants for the next round ({method})")
        for warning in chosen.warnings:
            self.window.activity.add_entry(f"Proposals: {warning}")
        if chosen.warnings:
            panel.metrics.setText("Proposals: " + "; ".join(chosen.warnings))
        return added


def proposal_note(proposal, method: str) -> str:
    """The variant-list note of a proposal: prediction, gain over the wild type with its 95 % interval, and
    what the number rests on."""
    import math

    text = f"proposed: predicted {proposal.predicted:.3f}"
    if math.isfinite(proposal.std):
        text += f" \u00b1 {proposal.std:.3f}"
    if math.isfinite(proposal.gain):
        text += f", gain over wild type {proposal.gain:+.3f}"
        low, high = proposal.interval
        if math.isfinite(low):
            text += f" (95 % {low:+.3f} to {high:+.3f})"
    text += f" ({method})"
    if proposal.extrapolation:
        text += f"; extrapolation: {proposal.extrapolation}"
    if proposal.tied:
        text += f"; tied with {proposal.tied} others the model scores the same"
    return text
