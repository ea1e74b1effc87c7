"""The variant list: variants typed in the numbering shown, added from the heatmap and the ranked table,
applied to the sequence, annotated, shown with their scan and model scores; and Run > Design DNA, which
turns chosen substitutions into a library and primers."""

from __future__ import annotations

from PySide6.QtCore import QObject

from protein_studio.core.errors import UserError
from protein_studio.core.molecules.mutations import MultiMutant, Mutation, split_mutants
from protein_studio.core.storage.export import variant_rows
from protein_studio.gui.menus import add_action

__all__ = ["VariantController"]


class VariantController(QObject):
    """The variant list of the shown document (``window.variants``)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.dna_dialog = None
        self.session.variants_changed.connect(self.refresh_variants)
        panel = window.variant_list
        panel.addRequested.connect(self.add_variant)
        panel.removeRequested.connect(self.remove_variants)
        panel.applyRequested.connect(self.apply_variant)
        panel.noteEdited.connect(self.set_variant_note)
        window.heatmap.variantRequested.connect(self.add_variant_at)
        window.ranked.mutationActivated.connect(self.add_variant_at)

    def add_run_actions(self, menu) -> None:
        self.design_dna_action = add_action(
            self.window, menu, "Design &DNA\u2026", self.open_dna_dialog, "Ctrl+Shift+D",
            "Build a library from the selected positions' substitutions, then primers, variant genes and a plate map")

    # the list ----------------------------------------------------------------------------------
    def add_variant_at(self, index: int, residue: str) -> None:
        """Add the single substitution ``residue`` at 0-based ``index`` of the wild type."""
        doc = self.session.document
        if doc is None or doc.wild_type[index] == residue:
            return
        self.add_variant(MultiMutant((Mutation(index + 1, doc.wild_type[index], residue),)))

    def add_variant(self, text) -> bool:
        """Add variants: text typed in the numbering shown (``E104K:G238S``; a comma separates several
        variants, as everywhere), or a MultiMutant in sequence positions. True when any was added."""
        items = split_mutants(text) if isinstance(text, str) else [text]
        if not items:
            self.window.show_error("Cannot add the variant", "no mutation given")
            return False
        added, errors = False, []
        for item in items:
            try:
                added = self.session.add_variant(item) or added
            except UserError as exc:
                errors.append(str(exc))
        if errors:
            self.window.show_error("Cannot add the variant" + ("s" if len(errors) > 1 else ""), "\n".join(errors))
        elif added:
            self.window.variant_list.entry.clear()
        return added and not errors

    def _variant_named(self, name: str) -> MultiMutant | None:
        """The variant of the list the panel shows as ``name`` (in the numbering shown)."""
        doc = self.session.document
        if doc is None:
            return None
        return next((v for v in self.session.variants if doc.name_mutant(v) == name), None)

    def remove_variants(self, names) -> None:
        for name in names:
            variant = self._variant_named(name)
            if variant is not None:
                self.session.remove_variant(variant)

    def set_variant_note(self, name: str, note: str) -> bool:
        """Keep ``note`` with the variant the list shows as ``name`` (in the project)."""
        variant = self._variant_named(name)
        if variant is None:
            return False
        self.session.set_note(variant, note)
        return True

    def apply_variant(self, name: str) -> None:
        """Apply the variant the list shows as ``name`` (in the numbering shown) to the sequence."""
        variant = self._variant_named(name)
        if variant is not None:
            self.window.edits.apply_mutations(name, variant.mutations)

    @property
    def model_scores(self) -> dict:
        """Score, model and method of each variant from the last Score Variants job (the document shown)."""
        state = self.session.state
        return state.model_scores if state is not None else {}

    def variant_rows(self):
        """The variant list as shown: additive scores from the session's scan, model scores from the
        last Score Variants job (None where not computed), and each variant's full sequence."""
        doc = self.session.document
        if doc is None:
            return []
        return variant_rows(doc.wild_type, self.session.variants, self.session.scan, self.model_scores,
                            doc.scheme, self.session.state.notes)

    def refresh_variants(self) -> None:
        """The variant list with its scores, each column and score named by the model and method behind it."""
        rows = self.variant_rows()
        scan = self.session.scan
        latest = [row.latest for row in rows if row.latest is not None]
        kinds = {(s.model, s.method) for s in latest}
        scan_header = (f"Additive ({scan.model})" if scan is not None else "Scan (additive)",
                       f"Sum of single-site scores of the scan shown: {scan.label}" if scan is not None
                       else "Sum of single-site scores of the scan shown (none yet)")
        if len(kinds) == 1:
            model, method = next(iter(kinds))
            model_header = (f"{model} ({method.split(', ')[-1]})", f"Score Variants with {model}, {method}")
        else:
            model_header = ("Model score (latest)" if kinds else "Model score",
                            "The latest Score Variants result of each variant; its tooltip lists every model's")
        self.window.variant_list.set_headers(scan_header, model_header)
        self.window.variant_list.set_variants([
            (row.variant, list(row.positions), row.scan_additive_score,
             row.latest.score if row.latest is not None else None,
             "\n".join(f"{s.model}, {s.method}: {s.score:.3f}" for s in reversed(row.scores)),
             row.note) for row in rows])
        self.window.exports.export_variants_action.setEnabled(bool(rows))

    # DNA -----------------------------------------------------------------------------------------
    def open_dna_dialog(self):
        """Run > Design DNA: the library builder and primer designer (one per window)."""
        from protein_studio.gui.dialogs.dna_dialog import DesignDnaDialog

        if self.dna_dialog is None:
            self.dna_dialog = DesignDnaDialog(self.window)
        self.dna_dialog.show()
        self.dna_dialog.raise_()
        return self.dna_dialog
