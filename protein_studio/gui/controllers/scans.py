"""Scans: Run > Scan All Point Mutations (with Scan Strategy), Run > Score Variants (additive or joint),
and the heatmap, its title and the ranked table they fill.

A scan streams its finished positions into the document's :class:`~protein_studio.core.documents.scans.ScanState`
(a masked-marginal scan first shows the one-pass wt-marginal matrix, then refines it); a cancelled or
interrupted scan stays, and the same model and strategy resume it.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QActionGroup

from protein_studio.core.documents.session import VariantScore
from protein_studio.core.errors import UserError
from protein_studio.engines.methods import STRATEGIES
from protein_studio.models.registry import INVERSE_FOLDING_FAMILIES
from protein_studio.engines.scoring import check_model_for_document, model_for_document
from protein_studio.gui.menus import add_action
from protein_studio.gui.worker import Job

__all__ = ["ScanController"]


_STRATEGY_TIPS = {"masked-marginals": "One pass per position with it masked (most accurate)",
                  "wt-marginals": "One pass over the wild type for every position (fast)"}


class ScanController(QObject):
    """Scanning and scoring the shown document (``window.scans``)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.strategy = STRATEGIES[0]
        self._scan_job: int | None = None
        self._score_job: int | None = None
        self._scan_target = None  # the ScanState the running scan fills (its document may not be shown)
        self._score_target = None  # the DocumentState the running Score Variants job belongs to
        self._heatmap_timer = QTimer(self, singleShot=True, interval=80, timeout=self.redraw_scan)
        self._table_timer = QTimer(self, singleShot=True, interval=400, timeout=self.refresh_table)
        self.session.scan_changed.connect(self._on_scan_changed)
        self.session.documents_changed.connect(self.fill_scan_choice)
        window.worker.partial.connect(self._on_partial)
        window.scan_choice.activated.connect(self.choose_scan)
        self.difference = None  # a ScanComparison the heatmap shows instead of the chosen scan
        self.compare_dialog = None

    def add_run_actions(self, menu) -> None:
        w = self.window
        self.scan_action = add_action(w, menu, "&Scan All Point Mutations", self.start_scan, "Ctrl+R",
                                      "Score all 19 substitutions at every position with the chosen model")
        self.score_additive_action = add_action(
            w, menu, "Score &Variants (additive)", lambda: self.score_variants("additive"), "Ctrl+Shift+R",
            "Score the variant list with the chosen model: the sum of single-site masked marginals")
        self.score_joint_action = add_action(
            w, menu, "Score Variants (&joint masking)", lambda: self.score_variants("joint"), None,
            "Score the variant list masking all mutated positions of a variant at once (ESM-1v)")

    def add_scan_actions(self, menu) -> None:
        w = self.window
        self.compare_action = add_action(w, menu, "Compare S&cans\u2026", self.open_compare_dialog, None,
                                         "Two scans of the document side by side: scatter, rank correlation and the "
                                         "difference map")
        self.remove_scan_action = add_action(w, menu, "Remove Shown Scan", self.remove_shown_scan, None,
                                             "Drop the scan shown from the document (undoable); the others stay")

    def add_strategy_menu(self, menu) -> None:
        strategy_menu = menu.addMenu("Scan S&trategy")
        group = QActionGroup(self)
        for strategy in STRATEGIES:
            action = QAction(strategy, self.window, checkable=True, checked=strategy == self.strategy)
            action.setStatusTip(_STRATEGY_TIPS[strategy])
            action.triggered.connect(lambda _=False, s=strategy: setattr(self, "strategy", s))
            group.addAction(action)
            strategy_menu.addAction(action)

    # starting ----------------------------------------------------------------------------------
    def _checked_spec(self, model: str, title: str):
        """The spec of ``model`` when it can score the shown document and is on disk; None (said) if not."""
        from protein_studio.models.catalog import get_spec

        try:
            spec = get_spec(model)
            check_model_for_document(spec, self.session.document)
        except UserError as exc:
            self.window.show_error(title, str(exc))
            return None
        return spec if self.window.models.require_on_disk(spec.name, title.removeprefix("Cannot ")) else None

    def start_scan(self, model: str | None = None) -> int | None:
        """Scan every point mutation of the current sequence with ``model`` (default: the chosen one)."""
        w = self.window
        doc = self.session.document
        if doc is None:
            w.show_error("Nothing to scan", "Open a protein first.")
            return None
        spec = self._checked_spec(model or w.models.model_name, "Cannot scan")
        if spec is None:
            return None
        if self._scan_job is not None:
            w.jobs.cancel(self._scan_job)
        sequence, strategy = doc.sequence, self.strategy
        if spec.family in INVERSE_FOLDING_FAMILIES:  # ProteinMPNN: each position decoded last, no masks
            from protein_studio.engines.inverse_folding import SCAN_STRATEGY

            strategy = SCAN_STRATEGY
        remaining = self.session.resumable_positions(spec.name, strategy)
        positions = doc.scannable() if remaining is None else remaining  # a chromophore's residues are left out
        if doc.excluded:
            w.activity.add_entry(f"Note: {len(doc.excluded)} residues are left out of the scan: "
                                 + "; ".join(sorted(set(doc.excluded.values()))))
        if remaining is not None:
            w.activity.add_entry(f"Resuming the scan of {doc.name}: {len(remaining)} of "
                                 f"{self.session.scan.positions_to_scan} positions left")

        def run(ctx, loaded):
            from protein_studio.engines.scoring import saturation_scan

            loaded = model_for_document(loaded, doc)  # SaProt reads the document's structure tokens
            # a masked-marginal scan first shows the one-pass wt-marginal matrix, then refines it
            return saturation_scan(sequence, loaded, ctx, strategy=strategy, positions=positions,
                                   wt_first=strategy == "masked-marginals")

        resumed = "Resume scan" if remaining is not None else "Scan"
        job = Job(f"{resumed} {doc.name} with {spec.display_name} ({strategy})", run, model=spec.name,
                  device=w.models.device, kind="scan")
        if remaining is None:
            self.session.begin_scan(spec.name, strategy, spec.is_random)
        self._scan_target = self.session.scan
        self._scan_job = w.jobs.submit(job, finished=lambda result: self._scan_finished(job.id, result),
                                       failed=lambda message: self._scan_stopped(job.id),
                                       cancelled=lambda: self._scan_stopped(job.id))
        return job.id

    def score_variants(self, multi: str = "additive") -> int | None:
        """Score every variant of the list with the chosen model.

        ``multi``: ``"additive"`` (sum of single-site masked marginals, as ProteinGym) or ``"joint"`` (all
        mutated positions masked at once, as the ESM-1v paper); the score's tooltip says which.
        """
        w = self.window
        doc = self.session.document
        if doc is None or not self.session.variants:
            w.show_error("Nothing to score", "Add variants to the list first (e.g. E104K:G238S).")
            return None
        spec = self._checked_spec(w.models.model_name, "Cannot score variants")
        if spec is None:
            return None
        if multi not in ("additive", "joint"):
            raise ValueError(f"multi must be 'additive' or 'joint', not {multi!r}")
        wild_type, mutants = doc.wild_type, list(self.session.variants)

        def run(ctx, loaded):
            from protein_studio.engines.scoring import score_mutants

            return score_mutants(wild_type, mutants, model_for_document(loaded, doc), ctx, multi=multi)

        job = Job(f"Score {len(mutants)} variants ({multi}) with {spec.display_name}", run, model=spec.name,
                  device=w.models.device, kind="score")
        self._score_target = self.session.state
        self._score_job = w.jobs.submit(job, finished=lambda result: self._scores_finished(job.id, result),
                                        failed=lambda message: self._forget_score(job.id),
                                        cancelled=lambda: self._forget_score(job.id))
        return job.id

    # the document's scans -----------------------------------------------------------------------
    def fill_scan_choice(self) -> None:
        """The scan chooser lists the shown document's scans by name, the one shown chosen."""
        state = self.session.state
        combo = self.window.scan_choice
        combo.blockSignals(True)
        combo.clear()
        scans = state.scans if state is not None else []
        for scan in scans:
            combo.addItem(scan.label)
        if state is not None and scans:
            combo.setCurrentIndex(state.active_scan)
        combo.setEnabled(bool(scans))
        if not scans:
            combo.addItem("no scan yet: Run \u25b8 Scan")
        combo.blockSignals(False)
        for action in (getattr(self, "compare_action", None), getattr(self, "remove_scan_action", None)):
            if action is not None:
                action.setEnabled(len(scans) >= (2 if action is self.compare_action else 1))

    def choose_scan(self, index: int) -> None:
        """Show scan ``index`` of the document (the chooser above the heatmap)."""
        state = self.session.state
        if state is None or not 0 <= index < len(state.scans):
            return
        self._set_difference(None)
        self.session.choose_scan(index)
        self.window.activity.add_entry(f"Showing the scan {state.scans[index].label}")

    def remove_shown_scan(self) -> bool:
        """Run > Remove Shown Scan (undoable)."""
        from protein_studio.gui.commands import RemoveScanCommand

        state = self.session.state
        if state is None or state.scan is None:
            self.window.show_error("No scan to remove", "The document has no scan.")
            return False
        if state.scan is self._scan_target and self._scan_job is not None:
            self.window.jobs.cancel(self._scan_job)
        self._set_difference(None)
        self.window.edits.undo_stack.push(RemoveScanCommand(self.session, state.active_scan))
        return True

    def open_compare_dialog(self):
        """Run > Compare Scans (one dialog per window)."""
        from protein_studio.gui.dialogs.scan_compare import ScanCompareDialog

        if self.compare_dialog is None:
            self.compare_dialog = ScanCompareDialog(self.window)
        else:
            self.compare_dialog.fill()
        self.compare_dialog.show()
        self.compare_dialog.raise_()
        return self.compare_dialog

    def show_difference(self, first: int, second: int) -> bool:
        """The heatmap shows scan ``second`` minus scan ``first`` (kept with the document and in the project)."""
        from protein_studio.core.documents.scans import compare_scans
        from protein_studio.core.provenance import provenance_now

        state = self.session.state
        if state is None or not (0 <= first < len(state.scans) and 0 <= second < len(state.scans)) or first == second:
            return False
        comparison = compare_scans(state.scans[first], state.scans[second])
        record = {"kind": "scan comparison", "name": f"{comparison.second} minus {comparison.first}",
                  "data": {"first": comparison.first, "second": comparison.second, "n": comparison.n,
                           "spearman": comparison.spearman, "pearson": comparison.pearson},
                  "arrays": {}, "provenance": provenance_now(method="second scan minus first, substitutions both "
                                                                    "scored; Spearman and Pearson over them")}
        state.results = [r for r in state.results if not (r["kind"] == "scan comparison" and r["name"] == record["name"])]
        state.results.append(record)
        state.view = {**state.view, "difference": [first, second]}
        self._set_difference(comparison)
        self.session.modified.emit()
        self.window.activity.add_entry(comparison.describe())
        return True

    def _set_difference(self, comparison) -> None:
        state = self.session.state
        self.difference = comparison
        if comparison is None and state is not None and "difference" in state.view:
            state.view = {k: v for k, v in state.view.items() if k != "difference"}
        self.redraw_scan()

    def restore_difference(self) -> None:
        """A document comes back (switched to, or a project opened) with the difference map it showed."""
        from protein_studio.core.documents.scans import compare_scans

        state = self.session.state
        pair = state.view.get("difference") if state is not None else None
        self.difference = None
        if pair and all(isinstance(k, int) and 0 <= k < len(state.scans) for k in pair) and pair[0] != pair[1]:
            self.difference = compare_scans(state.scans[pair[0]], state.scans[pair[1]])

    # results -----------------------------------------------------------------------------------
    def _on_partial(self, job_id: int, payload) -> None:
        if job_id != self._scan_job or payload is None:
            return
        positions = getattr(payload, "positions", None)
        rows = getattr(payload, "scores_rows", None)
        scan = self._scan_target
        if positions is not None and rows is not None and scan is not None:
            final = getattr(payload, "strategy", scan.strategy) == scan.strategy
            self.session.add_scan_chunk(list(np.asarray(positions, dtype=int)), rows, final, scan=scan)

    def _scan_finished(self, job_id: int, result) -> str:
        if job_id != self._scan_job:
            return "Finished (for a document no longer open)"
        scan, self._scan_target, self._scan_job = self._scan_target, None, None
        if scan is not None:
            scan.provenance = dict(getattr(result, "provenance", {}) or {})
            if "masked_residues" in scan.provenance:  # a structure-aware model: what it could not read
                self.window.activity.add_entry(f"{scan.model} read the structure's 3Di tokens: "
                                               f"{scan.provenance['masked_residues']} residues masked "
                                               f"({scan.provenance['masked_why']})")
        self.session.finish_scan(getattr(result, "scores", None), scan=scan)
        self.window.scanFinished.emit(bool(scan and scan.complete))
        if self.window.view.color_mode == "score" and scan is self.session.scan:
            self.window.view.set_color_mode("score")
        return "Finished"

    def _scan_stopped(self, job_id: int) -> str | None:
        """A scan failed or was cancelled: the positions done stay."""
        if job_id != self._scan_job:
            return None
        scan, self._scan_target, self._scan_job = self._scan_target, None, None
        self.session.finish_scan(None, scan=scan)
        self.window.scanFinished.emit(False)
        done = scan.positions_done if scan is not None else 0
        return f"Cancelled after {done} positions (kept on the heatmap)"

    def _scores_finished(self, job_id: int, result) -> None:
        state, self._score_target = self._score_target, None
        self._forget_score(job_id)
        if state is not None and state in self.session.states:
            provenance = dict(getattr(result, "provenance", {}) or {})
            for name, score in zip(result.mutants, np.asarray(result.scores, dtype=float)):
                state.set_score(name, VariantScore(float(score), result.model, result.method, provenance))
            self.session.modified.emit()
            self.window.variants.refresh_variants()

    def _forget_score(self, job_id: int) -> None:
        if job_id == self._score_job:
            self._score_job, self._score_target = None, None

    def cancel_jobs_of(self, state) -> None:
        """Cancel the scan and scoring jobs that belong to ``state`` (its document is being closed)."""
        if self._scan_target is not None and self._scan_target is state.scan and self._scan_job is not None:
            self.window.jobs.cancel(self._scan_job)
        if self._score_target is state and self._score_job is not None:
            self.window.jobs.cancel(self._score_job)

    def forget_jobs(self) -> None:
        """Cancel the scan and scoring jobs of the documents now open (a project replaces them)."""
        for job in (self._scan_job, self._score_job):
            if job is not None:
                self.window.jobs.cancel(job)
        self._scan_job = self._score_job = None
        self._scan_target = self._score_target = None

    # drawing -----------------------------------------------------------------------------------
    def _on_scan_changed(self, positions) -> None:
        if positions is None:
            self.restore_difference()
            self.fill_scan_choice()
            self.redraw_scan()
            self.refresh_table()
            view = self.window.view
            if view.color_mode == "score" and self.session.document is not None:
                # the 3D colouring follows the scan chosen (chain colours when none is left)
                view.set_color_mode("score" if self.session.scan is not None else "chain")
        else:
            if not self._heatmap_timer.isActive():
                self._heatmap_timer.start()
            if not self._table_timer.isActive():
                self._table_timer.start()

    def redraw_scan(self) -> None:
        """The heatmap and its title: the scan, or the layer the Measurements panel chose."""
        w = self.window
        doc = self.session.document
        scan = self.session.scan
        if doc is None:
            return
        labels = doc.labels()
        marks = dict(breaks=doc.breaks, excluded=doc.excluded)
        name = html.escape(doc.name)
        layer = w.measurements.heatmap_layer()
        if layer is None and self.difference is not None:  # two scans compared
            d = self.difference
            layer = (d.difference, f"{doc.name}: {d.second} minus {d.first}", None)
        if layer is not None:  # measured data, their difference to the scan, a fitted model, or two scans' difference
            matrix, title, summary = layer
            w.heatmap.set_data(matrix, doc.sequence, labels, summary=summary, title=title,
                               describe=doc.residue_text, **marks)
            source = "Run \u25b8 Compare Scans" if layer[0] is getattr(self.difference, "difference", None) else \
                "Measurements panel: Heatmap shows"
            w.scan_title.setText(f"<b>{name}</b> \u2014 {html.escape(title.split(': ', 1)[-1])}. ({source})")
            return
        if scan is None:
            w.heatmap.set_data(None, doc.sequence, labels, describe=doc.residue_text,
                               title=f"{doc.name}: not scanned", **marks)
            w.scan_title.setText(f"<b>{name}</b> \u2014 no scan yet: choose a model in Models and "
                                 f"Run \u25b8 Scan (Ctrl+R)")
            return
        spec_label = scan.model + (" \u2014 RANDOM WEIGHTS, scores are meaningless" if scan.random_weights else "")
        state = "complete" if scan.complete else f"{scan.positions_done}/{scan.positions_to_scan} positions"
        if scan.excluded:
            state += f"; {len(scan.excluded)} left out (chromophore)"
        if scan.positions_in_preview:
            state += (f", the other {scan.positions_in_preview} still show the one-pass wt-marginal "
                      f"preview")
        title = f"{doc.name}: {spec_label}, {scan.strategy} ({state})"
        w.heatmap.set_data(scan.scores, scan.sequence, labels, summary=scan.summary(), ranks=scan.ranks(),
                           title=title, describe=doc.residue_text, **marks)
        provenance = scan.provenance or {}
        w.scan_title.setToolTip("Where these numbers come from:\n" + "\n".join(
            f"{key}: {value}" for key, value in provenance.items()) if provenance else
            "Provenance is recorded when the scan finishes (model, weights, strategy, version, date)")
        colour = "#b00020" if scan.random_weights else "palette(text)"
        w.scan_title.setText(f"<b>{name}</b> \u2014 <span style='color:{colour}'>{html.escape(spec_label)}</span>, "
                             f"{scan.strategy}: {state}. Log-ratio score: &gt;0 better than wild type "
                             f"(blue), &lt;0 worse (red). Double-click applies a mutation; "
                             f"Shift+double-click or the right-click menu adds it to the variants.")

    def refresh_table(self) -> None:
        """The ranked table from the scan, labelled in the numbering shown."""
        w = self.window
        doc = self.session.document
        scan = self.session.scan
        if doc is None:
            return
        residues = [str(doc.numbering.residue_at(i) or "") for i in range(len(doc))]
        w.ranked.set_data(None if scan is None else scan.scores, scan.sequence if scan else doc.sequence,
                          doc.scheme, residues, ranks=None if scan is None else scan.ranks,
                          final=None if scan is None else scan.final)
        w.variants.refresh_variants()
