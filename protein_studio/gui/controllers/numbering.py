"""View > Numbering: the one numbering scheme per document that every label, mutation and export uses
(structure, sequence index, offset, a reference sequence, a table), and its name in the status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QInputDialog

from protein_studio.core.documents.document import Document, scheme_for
from protein_studio.core.errors import UserError
from protein_studio.core.molecules.mutations import MultiMutant, Mutation
from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.gui.file_dialogs import open_file
from protein_studio.gui.menus import add_action

__all__ = ["NumberingController", "FASTA_FILTER", "SHIPPED_TABLES"]

FASTA_FILTER = "FASTA (*.fasta *.fa *.faa)"
_SCHEMES = (
    ("structure", "&Structure (author numbering)", "The structure file's residue numbers"),
    ("sequence", "Se&quence Index", "1, 2, 3, ... along the sequence"),
    ("offset", "&Offset\u2026", "The sequence index plus a number you give"),
    ("reference", "&Reference Sequence\u2026", "The numbering of a FASTA sequence (e.g. UniProt) aligned to this one"),
    ("table", "&Table\u2026", "A CSV of sequence index,label (e.g. Ambler numbering; may skip numbers)"),
)


def _shipped_tables() -> dict[str, Path]:
    """The numbering tables shipped with the application (``resources/demo/*_numbering.csv``), by menu text."""
    from importlib import resources

    folder = Path(str(resources.files("protein_studio.resources") / "demo"))
    return {"TEM-1 &Ambler numbering (shipped table)": folder / "tem1_ambler_numbering.csv"}


#: Numbering tables offered in View > Numbering without a file dialog.
SHIPPED_TABLES = _shipped_tables()


def example_mutant(doc: Document) -> MultiMutant | None:
    """A real single mutant of ``doc`` for the variant box's placeholder (in the scheme shown)."""
    for i in range(len(doc) // 3, len(doc)):
        wt = doc.wild_type[i]
        if wt in AMINO_ACIDS and i not in doc.excluded and doc.scheme.label(i) is not None:
            return MultiMutant((Mutation(i + 1, wt, "A" if wt != "A" else "G"),))
    return None


class NumberingController(QObject):
    """The document's numbering (``window.numbering``)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.session.numbering_changed.connect(self._on_numbering_changed)

    def add_view_actions(self, menu) -> None:
        self.menu = menu.addMenu("&Numbering")
        self.menu.setToolTip("How positions are named everywhere: ruler, tables, mutation text, exports")
        self.group = QActionGroup(self)
        self.actions: dict[str, QAction] = {}
        for kind, text, tip in _SCHEMES:
            action = QAction(text, self.window, checkable=True)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _checked=False, k=kind: self.choose_numbering_dialog(k))
            self.group.addAction(action)
            self.menu.addAction(action)
            self.actions[kind] = action
        self.menu.addSeparator()
        self.shipped_actions = {}
        for text, path in SHIPPED_TABLES.items():
            self.shipped_actions[path.name] = add_action(
                self.window, self.menu, text, lambda p=path: self.set_numbering("table", p), None,
                f"Number the positions with the table shipped in {path.name} (a sequence it fits)")
        self.menu.aboutToShow.connect(self._enable_shipped)

    def _enable_shipped(self) -> None:
        """A shipped table is offered for a document it numbers completely (the protein it was written for)."""
        doc = self.session.document
        for name, action in self.shipped_actions.items():
            path = next(p for p in SHIPPED_TABLES.values() if p.name == name)
            fits = False
            if doc is not None:
                try:  # a table for this protein numbers each of its positions, no more
                    fits = all(label is not None for label in scheme_for(doc, "table", path).labels)
                except UserError:
                    pass
            action.setEnabled(fits)

    def choose_numbering_dialog(self, kind: str) -> bool:
        """View > Numbering: ask for what a scheme needs (an offset, a reference FASTA, a table) and use it."""
        doc = self.session.document
        if doc is None:
            return False
        value = None
        if kind == "offset":
            current = doc.scheme.offset if doc.scheme.kind == "offset" else 0
            value, ok = QInputDialog.getInt(self.window, "Offset numbering", "Number sequence index i as i + N; N =",
                                            current, -100000, 100000)
            if not ok:
                self.show_numbering()
                return False
        elif kind in ("reference", "table"):
            title = "Reference sequence (FASTA)" if kind == "reference" else "Numbering table (CSV: index,label)"
            filters = FASTA_FILTER if kind == "reference" else "CSV or TSV (*.csv *.tsv *.txt);;All files (*)"
            value = open_file(self.window, "numbering", title, filters)
            if not value:
                self.show_numbering()
                return False
        return self.set_numbering(kind, value)

    def set_numbering(self, kind: str, value=None) -> bool:
        """Show the document in numbering ``kind`` (see :func:`protein_studio.core.documents.document.scheme_for`)."""
        doc = self.session.document
        if doc is None:
            return False
        try:
            scheme = scheme_for(doc, kind, value)
        except UserError as exc:
            self.window.show_error("Cannot use this numbering", str(exc))
            self.show_numbering()
            return False
        self.session.set_scheme(scheme)
        self.window.activity.add_entry(f"Numbering: {scheme.description} ({scheme.span})")
        return True

    def show_numbering(self) -> None:
        """The scheme's name in the status bar, its menu entry checked, the variant box's example in it."""
        w = self.window
        doc = self.session.document
        if doc is None:
            w.numbering_label.setText("")
            return
        w.numbering_label.setText(f"Numbering: {doc.scheme.description}")
        self.actions[doc.scheme.kind].setChecked(True)
        self.actions["structure"].setEnabled(doc.structure is not None and doc.numbering.mapped > 0)
        example = example_mutant(doc)
        example = doc.scheme.name_mutant(example) if example is not None else "E104K:G238S"
        w.variant_list.entry.setPlaceholderText(f"add a mutant in {doc.scheme.kind} numbering, e.g. {example}")

    def _on_numbering_changed(self) -> None:
        w = self.window
        w.documents.refresh_document()
        w.scans.redraw_scan()
        w.scans.refresh_table()
        w.view.show_selection()
        w.view.update_residue_labels()
