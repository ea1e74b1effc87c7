"""Exports: the edited sequence as FASTA, the variant list (CSV or FASTA), the whole scan (long or wide
CSV), the ranked table's filtered rows, and images of the heatmap and the 3D view. Every file is replaced
atomically; a failure is shown and nothing already written is lost."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject

from protein_studio.core.errors import UserError
from protein_studio.core.files import write_text_atomically
from protein_studio.core.molecules.sequences import format_fasta
from protein_studio.core.provenance import table_provenance
from protein_studio.core.storage.export import (SCAN_COLUMNS, SCAN_WIDE_COLUMNS, document_record, scan_long_rows,
                                                scan_wide_rows, score_column, variant_table, variants_fasta)
from protein_studio.core.tables import write_table
from protein_studio.gui.file_dialogs import save_file
from protein_studio.gui.menus import add_action
from protein_studio.gui.panels.ranked_table import RANKED_COLUMNS, ranked_table_rows

__all__ = ["ExportController", "FASTA_FILTER", "VARIANTS_FILTER", "SCAN_FILTER"]

FASTA_FILTER = "FASTA (*.fasta *.fa *.faa)"
VARIANTS_FILTER = "CSV (*.csv);;FASTA (*.fasta *.fa *.faa)"
SCAN_FILTER = ("Long CSV: one row per substitution (*.csv);;"
               "Wide CSV: one row per position, 20 score columns (*.csv)")
_NO_SCAN = ("Nothing to export", "Run a scan first (Run \u25b8 Scan).")
_NO_VARIANTS = ("No variants to export", "Add variants to the list first (e.g. E104K:G238S).")


class ExportController(QObject):
    """Writing what the user made to files (``window.exports``)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        window.ranked.exportRequested.connect(self.export_ranked_dialog)

    def add_file_actions(self, menu) -> None:
        w = self.window
        self.save_fasta_action = add_action(
            w, menu, "Save Sequence as &FASTA\u2026", self.save_fasta_dialog, "Ctrl+Alt+S",
            "Write the current (edited) sequence as FASTA, its mutations in the header")
        self.export_variants_action = add_action(
            w, menu, "Export &Variants\u2026", self.export_variants_dialog, None,
            "Write the variant list (scores and mutated sequences) as CSV or FASTA")
        self.export_csv_action = add_action(
            w, menu, "Export Scan (All Substitutions)\u2026", self.export_scan_dialog, None,
            "Write every scored substitution as CSV: one row per substitution (long) or one row per position "
            "with 20 score columns (wide), labelled in the numbering shown and by sequence index")
        add_action(w, menu, "Export &Heatmap Image (PNG/SVG)\u2026", self.export_heatmap_dialog, None,
                   "Save the heatmap with its ruler and colour scale as PNG or SVG")
        add_action(w, menu, "Export &Structure Image\u2026", self.export_structure_dialog, None,
                   "Save the 3D view as a PNG image, with its colour legend")

    def _ask_save(self, title: str, name: str, filters: str) -> str:
        path, _ = save_file(self.window, "export", title, name, filters)
        return path

    def _write(self, path: str, text: str, failure: str) -> bool:
        try:
            write_text_atomically(path, text)
        except UserError as exc:
            self.window.show_error(failure, str(exc))
            return False
        return True

    def _write_table(self, path: str, rows, columns, provenance: dict, failure: str) -> bool:
        """A CSV table with its header first and its provenance beside it (``NAME.csv.json``)."""
        try:
            write_table(path, rows, columns, provenance)
        except UserError as exc:
            self.window.show_error(failure, str(exc))
            return False
        return True

    # scans -------------------------------------------------------------------------------------
    def export_scan_dialog(self) -> bool:
        """File > Export Scan: ask for a CSV file and its layout, then :meth:`export_scan`."""
        if self.session.scan is None:
            self.window.show_error(*_NO_SCAN)
            return False
        path, chosen = save_file(self.window, "export", "Export scan (all substitutions)", "scan.csv", SCAN_FILTER)
        if not path:
            return False
        return self.export_scan(path if Path(path).suffix else path + ".csv",
                                layout="wide" if chosen.startswith("Wide") else "long")

    def _scan_provenance(self, **fields) -> dict:
        doc, scan = self.session.document, self.session.scan
        method = f"strategy {scan.strategy}" + (", RANDOM WEIGHTS" if scan.random_weights else "")
        state = "complete" if scan.complete else f"{scan.positions_done} of {scan.positions_to_scan} positions done"
        return table_provenance(doc, scan.model, method, scan=state, run=dict(scan.provenance or {}), **fields)

    def export_scan(self, path: str, layout: str = "long") -> bool:
        """Write the whole scan, every scored substitution, whatever the ranked table's filters.

        ``layout``: ``"long"`` (one row per substitution, the columns of ``protein-studio scan``) or
        ``"wide"`` (one row per position, 20 score columns). Positions are labelled in the numbering shown
        and by sequence index; version, date, input, model and numbering go beside it (``NAME.csv.json``).
        """
        doc, scan = self.session.document, self.session.scan
        if scan is None or doc is None:
            self.window.show_error(*_NO_SCAN)
            return False
        if layout == "wide":
            rows, columns = scan_wide_rows(scan.scores, scan.sequence, doc.scheme, doc.numbering), SCAN_WIDE_COLUMNS
        else:
            rows = scan_long_rows(scan.scores, scan.sequence, doc.scheme, scan.model, scan.strategy, doc.numbering)
            columns = SCAN_COLUMNS
        if not self._write_table(path, rows, columns, self._scan_provenance(layout=layout), "Export failed"):
            return False
        self.window.activity.add_entry(f"Exported the scan ({layout}) to {path}")
        return True

    def export_ranked_dialog(self) -> bool:
        """The ranked table's Export button: ask for a CSV file, then :meth:`export_ranked`."""
        if self.session.scan is None:
            self.window.show_error(*_NO_SCAN)
            return False
        path = self._ask_save("Export the ranked table's rows", "ranked.csv", "CSV (*.csv)")
        return self.export_ranked(path) if path else False

    def export_ranked(self, path: str) -> bool:
        """The rows the ranked table's filters let through (no top-N cut), best first; the file says that
        it is filtered and by what (in its provenance, ``NAME.csv.json``)."""
        scan = self.session.scan
        ranked = self.window.ranked
        if scan is None:
            self.window.show_error(*_NO_SCAN)
            return False
        rows = ranked.filtered_rows(top_n=False)
        provenance = self._scan_provenance(filtered=(
            f"only the rows the ranked table shows (filters: {ranked.filter_description(False)}); "
            f"File > Export Scan writes every substitution"))
        if not self._write_table(path, ranked_table_rows(rows, scan.model, scan.strategy), RANKED_COLUMNS, provenance,
                                 "Export failed"):
            return False
        self.window.activity.add_entry(f"Exported {len(rows)} ranked rows (filtered) to {path}")
        return True

    # the sequence and the variants -------------------------------------------------------------
    def _default_name(self, suffix: str) -> str:
        doc = self.session.document
        mutant = doc.mutations() if doc is not None else None
        name = doc.name if doc is not None else "sequence"
        return f"{name}_{doc.name_mutant(mutant).replace(':', '_')}{suffix}" if mutant else f"{name}{suffix}"

    def save_fasta_dialog(self) -> bool:
        """File > Save Sequence as FASTA: ask for a file, then :meth:`save_fasta`."""
        if self.session.document is None:
            self.window.show_error("Nothing to save", "Open a protein first.")
            return False
        path = self._ask_save("Save sequence as FASTA", self._default_name(".fasta"), FASTA_FILTER)
        if not path:
            return False
        return self.save_fasta(path if Path(path).suffix else path + ".fasta")

    def save_fasta(self, path: str) -> bool:
        """Write the current sequence to ``path`` as FASTA, named with its mutations against the wild type.

        The header is ``>NAME_E104K:G238S NAME with E104K:G238S`` (in the numbering shown), or ``>NAME`` when
        nothing is mutated. On failure the error is shown and the edits stay unsaved.
        """
        doc = self.session.document
        if doc is None:
            self.window.show_error("Nothing to save", "Open a protein first.")
            return False
        try:
            text = format_fasta([document_record(doc.name, doc.sequence, doc.mutations(), doc.scheme)])
        except UserError as exc:
            self.window.show_error("Cannot save the sequence", str(exc))
            return False
        if not self._write(path, text, "Cannot save the sequence"):
            return False
        self.session.state.saved_sequence = doc.sequence
        self.window.activity.add_entry(f"Saved the sequence to {path}")
        return True

    def export_variants_dialog(self) -> bool:
        """File > Export Variants: ask for a CSV or FASTA file, then :meth:`export_variants`."""
        if not self.session.variants:
            self.window.show_error(*_NO_VARIANTS)
            return False
        doc = self.session.document
        name = f"{doc.name if doc is not None else 'protein'}_variants.csv"
        path, chosen = save_file(self.window, "export", "Export variants", name, VARIANTS_FILTER)
        if not path:
            return False
        if Path(path).suffix.lower() not in (".csv", ".fasta", ".fa", ".faa"):
            path += ".fasta" if chosen.startswith("FASTA") else ".csv"
        return self.export_variants(path)

    def export_variants(self, path: str) -> bool:
        """Write the variant list to ``path``: FASTA for ``.fasta``/``.fa``/``.faa``, else CSV.

        CSV columns: variant, sequence_variant, n_mutations, scan_additive_score, scan (the scan's name), a
        ``score_<model>_<method>`` column for each model and method that scored a variant, note, sequence;
        FASTA: one record per variant with its full sequence and its scores in the header. Empty where not
        computed.
        """
        doc = self.session.document
        if doc is None or not self.session.variants:
            self.window.show_error(*_NO_VARIANTS)
            return False
        rows = self.window.variants.variant_rows()
        if Path(path).suffix.lower() in (".fasta", ".fa", ".faa"):
            written = self._write(path, variants_fasta(rows, doc.name), "Cannot export the variants")
        else:
            columns, table = variant_table(rows)
            state = self.session.state
            scores = {score_column(*key): {"model": s.model, "method": s.method, "weights": s.provenance.get("weights")}
                      for key, s in {s.key: s for row in rows for s in row.scores}.items()}
            provenance = table_provenance(doc, scan=state.scan.label if state.scan is not None else None,
                                          scan_run=dict(state.scan.provenance) if state.scan is not None else None,
                                          score_columns=scores)
            written = self._write_table(path, table, columns, provenance, "Cannot export the variants")
        if not written:
            return False
        self.window.activity.add_entry(f"Exported {len(rows)} variants to {path}")
        return True

    # images ------------------------------------------------------------------------------------
    def export_heatmap_dialog(self) -> None:
        path = self._ask_save("Export heatmap", "heatmap.png", "PNG image (*.png);;SVG image (*.svg)")
        if path:
            self.export_heatmap(path)

    def export_heatmap(self, path: str) -> bool:
        heatmap = self.window.heatmap
        try:
            if str(path).lower().endswith(".svg"):
                heatmap.export_svg(path)
            else:
                heatmap.export_png(path)
        except (OSError, UserError) as exc:
            self.window.show_error("Export failed", str(exc))
            return False
        self.window.activity.add_entry(f"Exported heatmap to {path}")
        return True

    def export_structure_dialog(self) -> None:
        path = self._ask_save("Export structure image", "structure.png", "PNG image (*.png)")
        if path:
            try:
                self.window.viewer.grab_image(path)
                self.window.activity.add_entry(f"Exported structure image to {path}")
            except (OSError, UserError) as exc:
                self.window.show_error("Export failed", str(exc))
