"""What the views show: the structure in the 3D view and its colouring (View > Colour Structure By, Reset
3D View, Show Surface), the one selection every view shares, and each document's view settings (colouring,
ranked-table filters, selection), which the project keeps.

Structure residues cross into sequence positions only through the document's numbering map, held by the
:class:`~protein_studio.core.documents.selection.SelectionMediator`.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup

from protein_studio.core.molecules.structures import ResidueId
from protein_studio.gui.menus import add_action
from protein_studio.gui.panels.heatmap import colour_scale_limit

__all__ = ["ViewController", "COLOUR_MODES"]

COLOUR_MODES = (
    ("chain", "Chain", "One colour per chain"),
    ("confidence", "Confidence (pLDDT) or B-factor", "A prediction's pLDDT, or an experimental structure's B-factors"),
    ("score", "Scan Score (mean substitution)", "The scan's mean substitution score at each residue"),
)


class ViewController(QObject):
    """The 3D view, the selection and per-document view settings (``window.view``)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.color_mode = "chain"
        self.shown_structure = None  # the Structure object the 3D view shows
        self._shown_state = None  # the DocumentState whose view settings are applied
        self._applying_view = False
        self.session.documents_changed.connect(self._on_documents_changed)
        window.ranked.filtersChanged.connect(self.store_view)

        m = window.mediator
        m.subscribe(self.session, lambda idx, src: self.store_view())
        m.subscribe(window.editor, lambda idx, src: window.editor.set_selection(idx))
        m.subscribe(window.heatmap, self._heatmap_selection)
        m.subscribe(window.ranked, lambda idx, src: window.ranked.set_selection(idx))
        m.subscribe(window.viewer, lambda idx, src: window.viewer.highlight(m.selected_residues()))
        m.subscribe(self, lambda idx, src: self.show_selection())
        for view in (window.editor, window.heatmap, window.ranked, window.variant_list):
            view.positionsSelected.connect(
                lambda indices, add, v=view: m.select(set(indices) | (set(m.selection) if add else set()), source=v))
        window.viewer.residueClicked.connect(self._viewer_clicked)
        window.viewer.ready.connect(lambda: window.viewer.highlight(m.selected_residues()))
        window.pae_view.positionsSelected.connect(lambda indices, add: m.select(indices, source=window.pae_view))

    def add_view_actions(self, menu) -> None:
        w = self.window
        colour = menu.addMenu("Colour Structure &By")
        self.colour_group = QActionGroup(self)
        self.colour_actions: dict[str, QAction] = {}
        for mode, text, tip in COLOUR_MODES:
            action = QAction(text, w, checkable=True, checked=mode == "chain")
            action.setStatusTip(tip)
            action.triggered.connect(lambda _=False, m=mode: self.set_color_mode(m))
            self.colour_group.addAction(action)
            colour.addAction(action)
            self.colour_actions[mode] = action
        self.reset_view_action = add_action(w, menu, "&Reset 3D View", w.viewer.reset_view, "Ctrl+0",
                                            "Fit the whole molecule in the 3D view again")
        surface = QAction("Show &Surface", w, checkable=True)
        surface.setStatusTip("Show the molecular surface over the cartoon")
        surface.toggled.connect(w.viewer.set_surface)
        menu.addAction(surface)
        column = menu.addMenu("&B-factor Column Holds")
        column.setToolTip("What the structure's B-factor column is: read from its header, ModelCIF metrics or a "
                          "predictor's file naming; say it here when nothing in the file does")
        self.bfactor_group = QActionGroup(self)
        self.bfactor_actions: dict[str, QAction] = {}
        for kind, text, tip in (("plddt", "&pLDDT (a prediction's confidence)",
                                 "A predicted model: colour by pLDDT, and structure-aware models mask residues "
                                 "below 70"),
                                ("bfactor", "&B-factors (an experimental structure, \u00c5\u00b2)",
                                 "An experimental structure: colour by B-factor, nothing masked")):
            action = QAction(text, w, checkable=True)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _=False, k=kind: self.set_bfactor_column(k))
            self.bfactor_group.addAction(action)
            column.addAction(action)
            self.bfactor_actions[kind] = action
        column.aboutToShow.connect(self._show_bfactor_column)

    # the 3D view -------------------------------------------------------------------------------
    def show_structure(self, structure, name: str | None = None, color_mode: str | None = None) -> None:
        """Show ``structure`` in the 3D view (None: nothing), named ``name`` (default its own), coloured by
        ``color_mode`` (default: the mode chosen, unless the structure cannot be coloured by it)."""
        viewer = self.window.viewer
        self.shown_structure = structure
        self.show_pae(structure, name)
        if structure is None:
            viewer.clear()
            return
        viewer.load_structure(structure, name or structure.name)
        self.update_residue_labels()
        self.update_colour_actions()
        if color_mode is not None:
            self.set_color_mode(color_mode)
        elif self.color_mode == "score" or (self.color_mode == "confidence" and viewer.confidence_kind is None):
            self.set_color_mode("chain")

    def update_residue_labels(self) -> None:
        """The 3D view names residues as the window does (the document's numbering)."""
        doc = self.session.document
        if doc is None:
            return
        labels = {}
        for i in range(len(doc)):
            residue = doc.numbering.residue_at(i)
            if residue is not None and residue not in labels:
                labels[residue] = doc.residue_text(i)
        self.window.viewer.set_residue_labels(labels)

    def show_pae(self, structure, name: str | None = None) -> None:
        """The PAE view shows the predicted aligned error of the structure in the 3D view, when it has one."""
        pae_view = self.window.pae_view
        pae = getattr(structure, "pae", None)
        if pae is None:
            pae_view.clear()
            return
        doc = self.session.document
        residues = [r for chain in structure.chains for r in dict.fromkeys(chain.residues)]
        indices = [doc.numbering.index_of(r) if doc is not None else None for r in residues]
        pae_view.set_pae(pae.matrix, pae.max_value, f"{name or structure.name} ({pae.source})", indices,
                         doc.residue_text if doc is not None else None)

    def set_color_mode(self, mode: str) -> None:
        """Colour the structure by chain, confidence (pLDDT of a prediction, B-factors of an experimental
        structure) or the scan's per-position mean score."""
        w = self.window
        doc = self.session.document
        scan = self.session.scan
        if mode == "confidence" and w.viewer.confidence_kind is None:
            w.statusBar().showMessage("This structure has no pLDDT or B-factor values (the column is empty "
                                      "or all zero)", 6000)
            self.colour_actions[self.color_mode].setChecked(True)
            return
        if mode == "score":
            if scan is None or doc is None:
                w.statusBar().showMessage("Colouring by score needs a scan: Run \u25b8 Scan", 5000)
                self.colour_actions[self.color_mode].setChecked(True)
                return
            summary = scan.summary()
            values = {}
            for i, value in enumerate(summary):
                residue = doc.numbering.residue_at(i)
                if residue is not None and not math.isnan(value):
                    values[residue] = float(value)
            w.viewer.set_color_mode("score", values, limit=colour_scale_limit(summary[None, :]))
        else:
            w.viewer.set_color_mode(mode)
        self.color_mode = mode
        self.colour_actions[mode].setChecked(True)
        self.update_colour_actions()
        self.store_view()

    def update_colour_actions(self) -> None:
        """Name the confidence colouring after what the shown structure holds; off when it holds nothing."""
        kind = self.window.viewer.confidence_kind
        action = self.colour_actions["confidence"]
        action.setText({"plddt": "Confidence (pLDDT)", "bfactor": "B-factor (\u00c5\u00b2)"}.get(
            kind, "Confidence / B-factor (none in this structure)"))
        action.setEnabled(kind is not None)

    def _show_bfactor_column(self) -> None:
        doc = self.session.document
        structure = doc.structure if doc is not None else None
        usable = structure is not None and structure.confidence_kind is not None
        for kind, action in self.bfactor_actions.items():
            action.setEnabled(usable)
            action.setChecked(usable and structure.confidence_kind == kind)

    def set_bfactor_column(self, kind: str) -> bool:
        """View > B-factor Column Holds: read the shown document's B-factor column as pLDDT or B-factors
        (kept in the project); the 3D colours, the PAE and structure-aware scores follow."""
        doc = self.session.document
        if doc is None or doc.structure is None or doc.structure.confidence_kind is None:
            self.window.statusBar().showMessage("The structure has no B-factor values", 5000)
            return False
        if doc.structure.confidence_kind == kind and not doc.structure.confidence_guessed:
            return False
        self.session.update_document(doc.with_confidence(kind))
        what = "pLDDT" if kind == "plddt" else "B-factors"
        self.window.activity.add_entry(f"{doc.name}: the B-factor column is read as {what} (chosen)")
        return True

    # selection ---------------------------------------------------------------------------------
    def _heatmap_selection(self, indices, source) -> None:
        heatmap = self.window.heatmap
        heatmap.set_selection(indices)
        if indices:
            heatmap.ensure_visible(min(indices))

    def _viewer_clicked(self, chain: str, number: int, insertion: str) -> None:
        w = self.window
        residue = ResidueId(chain, number, insertion)
        numbering = w.mediator.numbering
        if numbering is None or numbering.index_of(residue) is None:
            doc = self.session.document
            where = (f"chain {chain} is not the open sequence (View \u25b8 Sequence Chain)"
                     if doc is not None and chain != doc.chain else "it is not part of the open sequence")
            w.statusBar().showMessage(f"Residue {residue}: {where}", 6000)
            return
        w.mediator.select_residues([residue], source=w.viewer)

    def show_selection(self) -> None:
        """The selection in the status bar, named in the document's numbering."""
        w = self.window
        doc = self.session.document
        indices = sorted(w.mediator.selection)
        if doc is None or not indices:
            w.selection_label.setText("")
            return
        if len(indices) == 1:
            text = doc.residue_text(indices[0])
        else:
            text = f"{len(indices)} positions ({doc.residue_text(indices[0])} \u2026 {doc.residue_text(indices[-1])})"
        w.selection_label.setText("Selected: " + text)

    # each document's view settings -------------------------------------------------------------
    def store_view(self, *_args) -> None:
        """Keep the shown document's view settings in its state (hence in the project)."""
        state = self.session.state
        if state is None or self._applying_view:
            return
        # the keys of this view; other panels keep theirs beside them (the assay shown, a scan difference)
        view = {**state.view, "colour": self.color_mode, "ranked": self.window.ranked.filters(),
                "selection": sorted(int(i) for i in self.window.mediator.selection)}
        if view != state.view:
            state.view = view
            self.session.modified.emit()

    def _on_documents_changed(self) -> None:
        if self.session.state is not self._shown_state:
            self._shown_state = self.session.state
            self.apply_view()

    def apply_view(self) -> None:
        """Show the active document with the view settings it was left with."""
        state = self.session.state
        if state is None:
            return
        self._applying_view = True
        try:
            view = state.view or {}
            # filters belong to their document (a new one starts without any); the colouring stays in use
            self.window.ranked.set_filters(view.get("ranked", {}))
            colour = view.get("colour", self.color_mode)
            if colour != self.color_mode and (colour != "score" or state.scan is not None):
                self.set_color_mode(colour)
            selection = [i for i in view.get("selection", []) if 0 <= i < len(state.document)]
            if selection:
                self.window.mediator.select(selection, source=None)
        finally:
            self._applying_view = False
