"""Documents: File > Open, Open Recent, Open Demo, Choose Record, Close Document, View > Sequence Chain
(and the chain box beside the sequence), drag and drop, and what the window shows of the document (title,
sequence editor, status bar).

Files are read and parsed on a thread (:func:`~protein_studio.gui.background.run_with_progress`); a file
that cannot be read or drawn changes nothing. Choosing another chain or record replaces the shown document
undoably; opening a file adds a document and never replaces one.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QInputDialog, QMessageBox

from protein_studio.core.documents.document import Document, load_document, load_sources
from protein_studio.core.errors import UserError
from protein_studio.core.files import printable
from protein_studio.core.molecules.structures import viewer_text
from protein_studio.core.storage.project import PROJECT_SUFFIX
from protein_studio.gui.background import Cancelled, run_with_progress
from protein_studio.gui.commands import ReplaceDocumentCommand
from protein_studio.gui.file_dialogs import open_files
from protein_studio.gui.menus import add_action

__all__ = ["DocumentController", "DEMO_FILES", "OPEN_FILTER", "MAX_RECENT"]

#: the demo protein: package data (a source checkout, an installed wheel and the bundle alike)
_DEMO = resources.files("protein_studio.resources") / "demo"
DEMO_FILES = (Path(str(_DEMO / "tem1_P62593.fasta")), Path(str(_DEMO / "tem1_1btl.pdb")))
OPEN_FILTER = ("Proteins and projects (*.fasta *.fa *.faa *.fas *.pdb *.ent *.cif *.mmcif *.bcif *.psproj);;"
               "FASTA (*.fasta *.fa *.faa *.fas);;Structures (*.pdb *.ent *.cif *.mmcif *.bcif);;All files (*)")
MAX_RECENT = 8


class DocumentController(QObject):
    """Opening, closing and showing documents (``window.documents``)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.session.document_changed.connect(self.refresh_document)
        self.session.sequence_changed.connect(self.on_sequence_changed)
        self.session.documents_changed.connect(self.on_documents_changed)
        window.document_list.activateRequested.connect(self.session.activate)
        window.document_list.closeRequested.connect(self.close_document)
        window.chain_combo.activated.connect(lambda row: self.choose_chain(window.chain_combo.itemData(row)))
        self._heatmap_state = None

    # menus -------------------------------------------------------------------------------------
    def add_file_actions(self, menu) -> None:
        w = self.window
        self.open_action = add_action(w, menu, "&Open\u2026", self.open_dialog, QKeySequence.Open,
                                      "Open a FASTA, PDB, mmCIF or BinaryCIF file (or one sequence and one "
                                      "structure) as a new document of the project, or a .psproj project")
        self.recent_menu = menu.addMenu("Open &Recent")
        add_action(w, menu, "Open &Demo (TEM-1 beta-lactamase)", lambda: self.open_files(list(DEMO_FILES),
                                                                                        remember=False),
                   None, "TEM-1 beta-lactamase (UniProt P62593) with its crystal structure 1BTL")
        self.record_action = add_action(w, menu, "Choose &Record\u2026", self.choose_record_dialog, None,
                                        "Show another record of the FASTA file the sequence came from (undoable)")
        self.close_document_action = add_action(w, menu, "Close &Document", self.close_document,
                                                QKeySequence.Close,
                                                "Close the document shown (asks when it holds unsaved work)")
        self.fill_recent_menu()

    def add_view_actions(self, menu) -> None:
        self.chain_menu = menu.addMenu("Sequence &Chain")
        self.chain_menu.setToolTip("Which chain of the structure the sequence editor and heatmap show")

    # opening ---------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        paths = open_files(self.window, "protein", "Open protein", OPEN_FILTER)
        if paths:
            self.open_files([Path(p) for p in paths])

    def open_files(self, paths, remember: bool = True, chain: str | None = None,
                   record: str | int | None = None) -> bool:
        """Open a FASTA and/or a structure file; on failure say why and keep the current document.

        ``chain`` picks the structure chain (default: the first protein chain); ``record`` the FASTA
        record (name or 1-based number; default the first).
        """
        w = self.window
        paths = [Path(p) for p in paths]
        if len(paths) == 1 and paths[0].suffix.lower() == PROJECT_SUFFIX:
            return w.projects.open_project(paths[0])
        if len(paths) == 1 and paths[0].suffix.lower() == ".json":
            return self.attach_pae(paths[0])
        names = ", ".join(p.name for p in paths)

        def read() -> Document:  # on a thread: a large file must not freeze the window
            document = load_document(paths, chain=chain, record=record)
            if document.structure is not None:
                try:  # drawn before it is added: a file the 3D view cannot show changes nothing
                    viewer_text(document.structure)
                except UserError as exc:
                    raise UserError(f"{exc} (the 3D view cannot show it; nothing was opened)") from None
            return document

        try:
            document = run_with_progress(w, f"Opening {printable(names)}", read)
        except Cancelled:
            w.statusBar().showMessage(f"Opening {printable(names)} cancelled", 5000)
            w.activity.add_entry(f"Opening {printable(names)} cancelled; nothing was opened")
            return False
        except UserError as exc:
            w.show_error("Cannot open " + names, str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - a parser's own error: still one message, with details
            import traceback

            w.show_error("Cannot open " + names, f"{names}: not a readable protein file "
                         f"({type(exc).__name__}: {exc})", traceback.format_exc())
            return False
        self.set_document(document)
        if remember:
            self.remember(paths)
        return True

    def set_document(self, document: Document) -> None:
        """Add ``document`` to the project and show it (the documents already open stay, with their scans)."""
        w = self.window
        self.session.open(document)
        note = ""
        mismatches = getattr(document.numbering, "mismatches", ())
        if document.structure is not None and len(document.paths) > 1:
            mapped = getattr(document.numbering, "mapped", len(document))
            note = f" (sequence aligned to chain {document.chain}: {mapped} of {len(document)} positions in the structure"
            note += f", {len(mismatches)} mismatches)" if mismatches else ")"
        w.activity.add_entry(f"Opened {document.name}: {len(document)} residues{note}")
        for text in document.notes:
            w.activity.add_entry(f"Note: {text}")
        w.documentOpened.emit()

    def replace_document(self, document: Document, text: str) -> None:
        """Show ``document`` in place of the one shown (another chain or record), undoably."""
        self.window.edits.undo_stack.push(ReplaceDocumentCommand(self.session, document, text))
        self.window.documentOpened.emit()

    def attach_pae(self, path: Path) -> bool:
        """A prediction's PAE file (AlphaFold DB or ColabFold JSON) joins the shown document's structure: the
        PAE view shows it and the project keeps it. Refused, with why, when it does not fit."""
        from protein_studio.core.molecules.predictions import read_pae

        w = self.window
        doc = self.session.document
        if doc is None or doc.structure is None:
            w.show_error(f"Cannot use {path.name}", f"{path.name}: a PAE file belongs to a predicted structure; "
                                                    f"open the structure first (or both together)")
            return False
        try:
            structure = doc.structure.with_pae(read_pae(path))
            data = path.read_bytes()
        except (UserError, OSError) as exc:
            w.show_error(f"Cannot use {path.name}", str(exc))
            return False
        sources = tuple(s for s in doc.sources if not s[0].lower().endswith(".json")) + ((path.name, data),)
        self.session.update_document(replace(doc, structure=structure, sources=sources,
                                             paths=tuple(p for p in doc.paths if p.suffix.lower() != ".json") + (path,)))
        w.activity.add_entry(f"{doc.name}: predicted aligned error from {path.name}")
        return True

    def handle_drop(self, paths) -> None:
        """Files dropped on the window open as documents (a project replaces the documents)."""
        if paths:
            self.open_files(paths)

    # closing -----------------------------------------------------------------------------------
    def close_document(self, index: int | None = None) -> bool:
        """Close document ``index`` (default the one shown); asks first when its work is in no project file.
        A scan running for it is cancelled; the other documents stay."""
        w = self.window
        index = self.session.active if index is None or index < 0 else index
        if not 0 <= index < len(self.session.states):
            return False
        state = self.session.states[index]
        if w.confirm_close and w.projects.path is None and state.has_work:
            if self.ask_close_document(state.document.name) != QMessageBox.Discard:
                return False
        w.scans.cancel_jobs_of(state)
        self.session.close(index)
        w.activity.add_entry(f"Closed {state.document.name}")
        return True

    def ask_close_document(self, name: str) -> QMessageBox.StandardButton:
        """The question before closing a document with unsaved work (Discard / Cancel); tests replace it."""
        return QMessageBox.question(self.window, "Close document?",
                                    f"{name} holds edits, a scan, variants or results that are in no project "
                                    f"file. Close it and lose them? (File \u25b8 Save Project keeps them.)",
                                    QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Cancel)

    # chains and records ------------------------------------------------------------------------
    def fill_chain_menu(self) -> None:
        w = self.window
        doc = self.session.document
        self.chain_menu.clear()
        chains = doc.structure.chains if doc is not None and doc.structure is not None else []
        group = QActionGroup(self.chain_menu)
        for info in chains:
            action = QAction(f"Chain {info.chain_id} ({len(info)} residues)", self.chain_menu, checkable=True,
                             checked=info.chain_id == doc.chain)
            action.triggered.connect(lambda _=False, c=info.chain_id: self.choose_chain(c))
            group.addAction(action)
            self.chain_menu.addAction(action)
        self.chain_menu.setEnabled(len(chains) > 1)
        w.chain_combo.clear()
        for info in chains:
            w.chain_combo.addItem(f"{info.chain_id} ({len(info)} residues)", info.chain_id)
        if doc is not None and doc.chain is not None:
            w.chain_combo.setCurrentIndex(max(0, w.chain_combo.findData(doc.chain)))
        w.chain_row.setVisible(len(chains) > 1)
        w.viewer.set_active_chain(doc.chain if len(chains) > 1 else None)

    def choose_chain(self, chain: str) -> bool:
        """Show another chain of the open structure in the editor and heatmap (undoable)."""
        doc = self.session.document
        if doc is None or doc.structure is None or chain == doc.chain:
            return False
        return self._reload(doc, f"show chain {chain}", chain=chain, record=doc.record + 1 if doc.records else None)

    def _reload(self, doc: Document, text: str, **choice) -> bool:
        """The same files read again with another chain or record, in place of ``doc`` (undoable)."""
        try:
            if doc.sources:  # the files as they were opened, even if they changed or moved since
                document = replace(load_sources(doc.sources, chain=choice.get("chain"),
                                                record=(choice.get("record") or 1) - 1), paths=doc.paths)
            else:
                document = load_document(list(doc.paths), **choice)
        except UserError as exc:
            self.window.show_error("Cannot show it", str(exc))
            return False
        self.replace_document(document, text)
        return True

    def choose_record_dialog(self) -> bool:
        """File > Choose Record: pick another record of the open FASTA file (replaces the document)."""
        doc = self.session.document
        if doc is None or len(doc.records) < 2:
            self.window.statusBar().showMessage("The open sequence does not come from a FASTA file of several "
                                                "records", 5000)
            return False
        items = [f"{k + 1}: {name}" for k, name in enumerate(doc.records)]
        item, ok = QInputDialog.getItem(self.window, "Choose record",
                                        f"Records of {doc.paths[0].name if doc.paths else ''}:",
                                        items, doc.record, False)
        if not ok:
            return False
        return self.choose_record(items.index(item) + 1)

    def choose_record(self, record: int | str) -> bool:
        """Show record ``record`` (1-based number or name) of the open FASTA file, with its structure, in
        place of the one shown (undoable)."""
        doc = self.session.document
        if doc is None or not doc.records:
            return False
        if not isinstance(record, int):
            names = list(doc.records)
            if str(record) not in names:
                self.window.show_error("Cannot show the record", f"no record named '{record}'")
                return False
            record = names.index(str(record)) + 1
        return self._reload(doc, f"show record {record}", chain=doc.chain, record=record)

    # recent files ------------------------------------------------------------------------------
    def remember(self, paths) -> None:
        """Put ``paths`` (files opened together, or a project) first in File > Open Recent."""
        settings = self.window.settings
        key = "|".join(str(Path(p).resolve()) for p in paths)
        entries = settings.value("recent", []) or []
        if isinstance(entries, str):
            entries = [entries]
        entries = [e for e in entries if e != key]
        settings.setValue("recent", [key] + entries[:MAX_RECENT - 1])
        self.fill_recent_menu()

    def fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        entries = self.window.settings.value("recent", []) or []
        if isinstance(entries, str):
            entries = [entries]
        for entry in entries:
            paths = entry.split("|")
            action = self.recent_menu.addAction(" + ".join(Path(p).name for p in paths))
            action.setToolTip("\n".join(paths))
            action.triggered.connect(lambda _=False, ps=paths: self.open_files([Path(p) for p in ps]))
        self.recent_menu.setEnabled(bool(entries))

    # what the window shows of the document -----------------------------------------------------
    def show_title(self) -> None:
        """``"P62593 — design.psproj — Protein Studio"``."""
        doc = self.session.document
        parts = ([printable(doc.name)] if doc is not None else []) + [self.window.projects.title, "Protein Studio"]
        self.window.setWindowTitle(" \u2014 ".join(parts))

    def on_documents_changed(self) -> None:
        w = self.window
        states = self.session.states
        w.document_list.set_documents([state.document.name for state in states], self.session.active,
                                      [", ".join(str(p) for p in state.document.paths) or "typed or pasted"
                                       for state in states])
        doc = self.session.document
        structure = doc.structure if doc is not None else None
        if structure is not w.view.shown_structure:
            w.view.show_structure(structure)
        self.fill_chain_menu()
        self.record_action.setEnabled(doc is not None and len(doc.records) > 1)
        self.close_document_action.setEnabled(doc is not None)
        self.show_title()

    def refresh_document(self) -> None:
        w = self.window
        doc = self.session.document
        if doc is None:
            w.editor.set_sequence("", "", [])
            w.heatmap.set_data(None, "", [])
            w.doc_label.setText("No protein open")
            return
        self.show_title()
        if self.session.state is not self._heatmap_state:  # another protein: from its start
            self._heatmap_state = self.session.state
            w.heatmap.horizontalScrollBar().setValue(0)
        w.editor.set_sequence(doc.sequence, doc.wild_type, doc.labels(), describe=doc.residue_text,
                              breaks=doc.breaks, excluded=doc.excluded)
        w.numbering.show_numbering()
        if w.mediator.numbering is not doc.numbering:
            w.mediator.set_numbering(doc.numbering)
        self.on_sequence_changed([])
        # the heatmap, table and variants follow: Session emits scan_changed(None) after every new document

    def on_sequence_changed(self, indices) -> None:
        w = self.window
        doc = self.session.document
        if doc is None:
            return
        w.editor.set_sequence(doc.sequence, doc.wild_type)
        mutated = doc.mutated_indices()
        mutant = doc.mutations()
        summary = f"{len(doc)} residues, {len(mutated)} mutation{'' if len(mutated) == 1 else 's'}"
        named = doc.name_mutant(mutant) if mutant else ""
        w.doc_label.setText(f"{doc.name}: {summary}" + (f" ({named})" if mutant and len(mutated) <= 4 else ""))
        chain = f", chain {doc.chain}" if doc.chain and f"chain {doc.chain}" not in doc.name else ""
        w.editor_dock.setWindowTitle(f"Sequence \u2014 {doc.name}{chain}: {summary}")
        residues = [r for r in (doc.numbering.residue_at(i) for i in mutated) if r is not None]
        w.viewer.set_mutated(residues)

    @property
    def has_unsaved_edits(self) -> bool:
        """The current sequence differs from the one last saved (or opened)."""
        state = self.session.state
        return state is not None and state.document.sequence != state.saved_sequence
