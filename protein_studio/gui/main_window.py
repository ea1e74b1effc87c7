"""The Protein Studio main window: sequence editor, scan heatmap, 3D view, variants, ranked table, jobs.

Data flows one way: a menu action builds a :class:`~protein_studio.gui.worker.Job`, the worker runs the
engine, its signals arrive on the GUI thread and update the :class:`~protein_studio.core.documents.session.Session`,
whose events make the views redraw. Selections go through the one
:class:`~protein_studio.core.documents.selection.SelectionMediator`; structure residues cross into sequence
positions only through the document's numbering map.
"""

from __future__ import annotations

import html
import math
import platform
import sys
from dataclasses import replace
from importlib import metadata, resources
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoGroup, QUndoStack
from PySide6.QtWidgets import (QApplication, QComboBox, QDockWidget, QHBoxLayout, QInputDialog, QLabel,
                               QMainWindow, QMessageBox, QVBoxLayout, QWidget)

from protein_studio import __version__
from protein_studio.core.errors import UserError
from protein_studio.core.storage.export import document_record, variant_rows, variants_csv, variants_fasta
from protein_studio.core.files import printable, write_text_atomically
from protein_studio.core.documents.selection import SelectionMediator
from protein_studio.core.molecules.mutations import MultiMutant, Mutation
from protein_studio.core.storage.project import PROJECT_SUFFIX
from protein_studio.core.molecules.sequences import AMINO_ACIDS, format_fasta
from protein_studio.core.documents.document import Document, load_document, load_sources, scheme_for
from protein_studio.core.documents.session import Session
from protein_studio.core.molecules.structures import ResidueId, viewer_text
from protein_studio.engines.scoring import check_model_for_document, model_for_document
from protein_studio.gui.activity_panel import ActivityPanel
from protein_studio.gui.background import Cancelled, run_with_progress
from protein_studio.gui.commands import (ReplaceDocumentCommand, ReplaceSequenceCommand, SetResidueCommand,
                                        history_steps, rebuild_history)
from protein_studio.gui.document_list import DocumentList
from protein_studio.gui.heatmap import HeatmapView, colour_scale_limit
from protein_studio.gui.measurements_panel import MeasurementsPanel
from protein_studio.gui.project_controller import ProjectController
from protein_studio.gui.ranked_table import RankedTable, ranked_rows_csv
from protein_studio.gui.sequence_editor import SequenceEditor
from protein_studio.gui.structure_viewer import StructureViewer
from protein_studio.gui.variant_list import VariantList
from protein_studio.gui.worker import Job, Worker
from protein_studio.gui.file_dialogs import open_file, open_files, save_file, window_settings

__all__ = ["MainWindow", "DEMO_FILES", "STRATEGIES", "LIBRARY_LICENCES"]

#: the demo and the viewer page: package data (a source checkout, an installed wheel and the bundle alike)
RESOURCES = Path(str(resources.files("protein_studio") / "resources"))
DEMO_FILES = (RESOURCES / "demo" / "tem1_P62593.fasta", RESOURCES / "demo" / "tem1_1btl.pdb")
STRATEGIES = ("masked-marginals", "wt-marginals")
OPEN_FILTER = ("Proteins and projects (*.fasta *.fa *.faa *.fas *.pdb *.ent *.cif *.mmcif *.bcif *.psproj);;"
               "FASTA (*.fasta *.fa *.faa *.fas);;Structures (*.pdb *.ent *.cif *.mmcif *.bcif);;All files (*)")
MAX_RECENT = 8
FASTA_FILTER = "FASTA (*.fasta *.fa *.faa)"
VARIANTS_FILTER = "CSV (*.csv);;FASTA (*.fasta *.fa *.faa)"
SCAN_FILTER = ("Long CSV: one row per substitution (*.csv);;"
               "Wide CSV: one row per position, 20 score columns (*.csv)")


def _example_mutant(doc: Document) -> MultiMutant | None:
    """A real single mutant of ``doc`` for the variant box's placeholder (in the scheme shown)."""
    for i in range(len(doc) // 3, len(doc)):
        wt = doc.wild_type[i]
        if wt in AMINO_ACIDS and i not in doc.excluded and doc.scheme.label(i) is not None:
            return MultiMutant((Mutation(i + 1, wt, "A" if wt != "A" else "G"),))
    return None

#: Libraries shown in Help > About with the licence they are distributed under.
LIBRARY_LICENCES = (
    ("PySide6 (Qt for Python)", "PySide6", "LGPL-3.0"),
    ("PyTorch", "torch", "BSD-3-Clause"),
    ("fair-esm", "fair-esm", "MIT"),
    ("transformers", "transformers", "Apache-2.0"),
    ("biotite", "biotite", "BSD-3-Clause"),
    ("NumPy", "numpy", "BSD-3-Clause"),
    ("SciPy", "scipy", "BSD-3-Clause"),
    ("matplotlib", "matplotlib", "PSF-based (matplotlib licence)"),
    ("py3Dmol", "py3Dmol", "MIT"),
    ("3Dmol.js", None, "BSD-3-Clause"),
)


def _version(distribution: str | None) -> str:
    if distribution is None:
        return "bundled"
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"




class MainWindow(QMainWindow):
    """The whole application window.

    Parameters
    ----------
    files : list of path, optional
        Opened at start; the bundled demo when empty and ``open_demo`` is true.
    open_demo : bool
    worker : Worker, optional
        The job runner (tests may pass one with their own model loader).

    Signals
    -------
    documentOpened()
    scanFinished(bool)
        A scan ended; True when it covered every position.
    jobFailed(str)
        A job failed with this message (the error is shown in the window).
    """

    documentOpened = Signal()
    scanFinished = Signal(bool)
    jobFailed = Signal(str)
    modelsChanged = Signal()

    def __init__(self, files=None, open_demo: bool = True, worker: Worker | None = None):
        super().__init__()
        self.setWindowTitle("Protein Studio")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.session = Session()
        self.mediator = SelectionMediator()
        self.undo_group = QUndoGroup(self)  # one QUndoStack per document; the active document's is active
        self._stacks: dict[int, QUndoStack] = {}
        self.worker = worker or Worker()
        self.worker.setParent(self)
        self.settings = window_settings()
        from protein_studio.core.storage.settings import load_settings_or_set_aside

        # a settings file that cannot be used is moved aside with a message: the window always starts
        self.user_settings, self.settings_notice = load_settings_or_set_aside()
        self.strategy = STRATEGIES[0]
        self.last_error: tuple[str, str] | None = None
        self.message_box: QMessageBox | None = None
        self.model_manager = None  # Models > Manage Models, made when first opened
        self._scan_job: int | None = None
        self._score_job: int | None = None
        self._jobs: dict[int, Job] = {}
        self._scan_target = None  # the ScanState the running scan fills (its document may not be shown)
        self._score_target = None  # the DocumentState the running Score Variants job belongs to
        self._shown_structure = None  # the Structure object the 3D view shows
        self._shown_state = None  # the DocumentState whose view settings are applied
        self._applying_view = False
        #: ask "Save changes?" when the window closes with unsaved edits; only the interactive
        #: application turns it on (tests and --screenshot close windows without a prompt)
        self.confirm_close = False
        self._color_mode = "chain"
        self._warmed_up = False
        self.auto_warm_up = True  # import torch on the worker shortly after the window first shows

        self._build_views()
        self._build_docks()
        self.projects = ProjectController(self)
        self.measurements = MeasurementsPanel(self)
        self.measurements_dock = self._dock("Measurements", "measurements", self.measurements, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.viewer_dock, self.measurements_dock)
        self.viewer_dock.raise_()
        self._build_menus()
        self._connect()
        self._choose_default_model()
        self.restore_layout()

        if self.settings_notice:
            self.activity.add_entry(f"Settings: {self.settings_notice}")
            self.statusBar().showMessage(f"Settings: {self.settings_notice}", 15000)
        self._heatmap_timer = QTimer(self, singleShot=True, interval=80, timeout=self._redraw_scan)
        self._table_timer = QTimer(self, singleShot=True, interval=400, timeout=self._refresh_table)
        self._refresh_document()
        paths = [Path(p) for p in (files or [])]
        if paths:
            self.open_files(paths)
        elif open_demo:
            self.open_files(list(DEMO_FILES), remember=False)

    # construction ----------------------------------------------------------------------------
    def _build_views(self) -> None:
        self.editor = SequenceEditor()
        self.heatmap = HeatmapView()
        self.viewer = StructureViewer()
        self.variants = VariantList()
        self.ranked = RankedTable()
        self.activity = ActivityPanel()
        self.documents = DocumentList()
        self.scan_title = QLabel()
        self.scan_title.setWordWrap(True)
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.scan_title)
        layout.addWidget(self.heatmap, 1)
        self.setCentralWidget(centre)
        self.doc_label = QLabel()
        self.selection_label = QLabel()
        self.model_label = QLabel()
        self.numbering_label = QLabel()
        self.numbering_label.setToolTip("The numbering every label, mutation and export uses (View \u25b8 Numbering)")
        for label in (self.doc_label, self.selection_label, self.model_label, self.numbering_label,
                      self.scan_title):
            label.setTextFormat(Qt.PlainText)  # names from files are shown as text, never as HTML
        self.scan_title.setTextFormat(Qt.RichText)  # built here from escaped names (see _redraw_scan)
        self.statusBar().addWidget(self.doc_label)
        self.statusBar().addWidget(self.selection_label, 1)
        self.statusBar().addPermanentWidget(self.numbering_label)
        self.statusBar().addPermanentWidget(self.model_label)

    def _dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        # the chain shown is chosen right beside the sequence (View > Sequence Chain holds the same choice)
        self.chain_combo = QComboBox()
        self.chain_combo.setToolTip("Which chain of the structure the sequence, heatmap and tables show; the "
                                    "others are grey in the 3D view")
        self.chain_combo.activated.connect(lambda row: self.choose_chain(self.chain_combo.itemData(row)))
        self.chain_row = QWidget()
        chain_layout = QHBoxLayout(self.chain_row)
        chain_layout.setContentsMargins(4, 0, 4, 0)
        chain_layout.addWidget(QLabel("Chain"))
        chain_layout.addWidget(self.chain_combo)
        chain_layout.addStretch(1)
        sequence_panel = QWidget()
        sequence_layout = QVBoxLayout(sequence_panel)
        sequence_layout.setContentsMargins(0, 0, 0, 0)
        sequence_layout.setSpacing(0)
        sequence_layout.addWidget(self.chain_row)
        sequence_layout.addWidget(self.editor, 1)
        self.editor_dock = self._dock("Sequence", "sequence", sequence_panel, Qt.TopDockWidgetArea)
        self.viewer_dock = self._dock("Structure", "structure", self.viewer, Qt.RightDockWidgetArea)
        self.variants_dock = self._dock("Variants", "variants", self.variants, Qt.LeftDockWidgetArea)
        self.ranked_dock = self._dock("Ranked substitutions", "ranked", self.ranked, Qt.LeftDockWidgetArea)
        self.activity_dock = self._dock("Jobs and activity", "activity", self.activity, Qt.BottomDockWidgetArea)
        self.documents_dock = self._dock("Documents", "documents", self.documents, Qt.LeftDockWidgetArea)
        self.splitDockWidget(self.variants_dock, self.ranked_dock, Qt.Vertical)
        self.tabifyDockWidget(self.variants_dock, self.documents_dock)  # a tab beside Variants, above the table
        self.variants_dock.raise_()
        self.resize(1400, 900)
        self.resizeDocks([self.viewer_dock], [480], Qt.Horizontal)
        self.resizeDocks([self.variants_dock], [300], Qt.Horizontal)
        self.resizeDocks([self.editor_dock, self.activity_dock], [140, 130], Qt.Vertical)

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.projects.add_actions(file_menu)
        self._action(file_menu, "&Open\u2026", self.open_dialog, QKeySequence.Open,
                     "Open a FASTA, PDB, mmCIF or BinaryCIF file (or one sequence and one structure) as a new "
                     "document of the project, or a .psproj project")
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self._action(file_menu, "Open &Demo (TEM-1 beta-lactamase)", lambda: self.open_files(list(DEMO_FILES),
                                                                                              remember=False),
                     None, "TEM-1 beta-lactamase (UniProt P62593) with its crystal structure 1BTL")
        self.record_action = self._action(file_menu, "Choose &Record\u2026", self.choose_record_dialog, None,
                                          "Show another record of the FASTA file the sequence came from (undoable)")
        self.close_document_action = self._action(file_menu, "Close &Document",
                                                  lambda _checked=False: self.close_document(), QKeySequence.Close,
                                                  "Close the document shown (asks when it holds unsaved work)")
        file_menu.addSeparator()
        self.export_csv_action = self._action(
            file_menu, "Export Scan (All Substitutions)\u2026", self.export_scan_dialog, None,
            "Write every scored substitution as CSV: one row per substitution (long) or one row per position "
            "with 20 score columns (wide), labelled in the numbering shown and by sequence index")
        self.import_measurements_action = self._action(
            file_menu, "Import &Measurements\u2026", lambda _checked=False: self.measurements_dialog(), None,
            "Import a DMS or assay table onto this document: scatter, metrics, measured heatmap, learning")
        self._action(file_menu, "Export &Heatmap Image (PNG/SVG)\u2026", self.export_heatmap_dialog, None,
                     "Save the heatmap with its ruler and colour scale as PNG or SVG")
        self._action(file_menu, "Export &Structure Image\u2026", self.export_structure_dialog, None,
                     "Save the 3D view as a PNG image, with its colour legend")
        self.save_fasta_action = self._action(
            file_menu, "Save Sequence as &FASTA\u2026", self.save_fasta_dialog, QKeySequence.Save,
            "Write the current (edited) sequence as FASTA, its mutations in the header")
        self.export_variants_action = self._action(
            file_menu, "Export &Variants\u2026", self.export_variants_dialog, None,
            "Write the variant list (scores and mutated sequences) as CSV or FASTA")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.Quit, "Close Protein Studio (asks first about unsaved work)")

        edit = bar.addMenu("&Edit")
        undo = self.undo_group.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.Undo)
        undo.setStatusTip("Undo the last edit of the shown document (mutations, pastes, chain or record changes)")
        redo = self.undo_group.createRedoAction(self, "&Redo")
        redo.setShortcut(QKeySequence.Redo)
        redo.setStatusTip("Redo the edit undone last")
        edit.addAction(undo)
        edit.addAction(redo)
        edit.addSeparator()
        self._action(edit, "&Paste Sequence or FASTA", self._paste_clipboard, "Ctrl+Shift+V",
                     "Replace the sequence (same length: as mutations) with the clipboard's sequence or FASTA")
        edit.addSeparator()
        self._action(edit, "Select &All", self.select_all, QKeySequence.SelectAll, "Select every position")
        self._action(edit, "Select &None", lambda: self.mediator.clear(source=None), "Ctrl+Shift+A",
                     "Clear the selection in every view")
        self._action(edit, "Revert to &Wild Type", self.revert_all, None,
                     "Undo every mutation of the shown document (undoable)")
        edit.addSeparator()
        self._action(edit, "Zoom Heatmap &In", self.heatmap.zoom_in, QKeySequence.ZoomIn, "Wider heatmap cells")
        self._action(edit, "Zoom Heatmap &Out", self.heatmap.zoom_out, QKeySequence.ZoomOut, "Narrower heatmap cells")

        run = bar.addMenu("&Run")
        self.scan_action = self._action(run, "&Scan All Point Mutations", self.start_scan, "Ctrl+R",
                                        "Score all 19 substitutions at every position with the chosen model")
        # the lambdas drop the `checked` flag triggered() passes, which would otherwise arrive as `multi`
        self.score_additive_action = self._action(
            run, "Score &Variants (additive)", lambda _checked=False: self.score_variants("additive"),
            "Ctrl+Shift+R", "Score the variant list with the chosen model: the sum of single-site masked marginals")
        self.score_joint_action = self._action(
            run, "Score Variants (&joint masking)", lambda _checked=False: self.score_variants("joint"), None,
            "Score the variant list masking all mutated positions of a variant at once (ESM-1v)")
        self.design_dna_action = self._action(
            run, "Design &DNA\u2026", lambda _checked=False: self.open_dna_dialog(), "Ctrl+Shift+D",
            "Build a library from the selected positions' substitutions, then primers, variant genes and a plate map")
        self.cancel_action = self._action(run, "&Cancel", self.cancel_jobs, "Ctrl+.",
                                          "Stop the running and queued jobs (a scan keeps the positions done)")
        strategy_menu = run.addMenu("Scan S&trategy")
        group = QActionGroup(self)
        for strategy in STRATEGIES:
            action = QAction(strategy, self, checkable=True, checked=strategy == self.strategy)
            action.setStatusTip({"masked-marginals": "One pass per position with it masked (most accurate)",
                                 "wt-marginals": "One pass over the wild type for every position (fast)"}[strategy])
            action.triggered.connect(lambda _=False, s=strategy: setattr(self, "strategy", s))
            group.addAction(action)
            strategy_menu.addAction(action)

        self.models_menu = bar.addMenu("&Models")
        self.models_menu.aboutToShow.connect(self._fill_models_menu)

        view = bar.addMenu("&View")
        self.numbering_menu = view.addMenu("&Numbering")
        self.numbering_menu.setToolTip("How positions are named everywhere: ruler, tables, mutation text, exports")
        self.numbering_group = QActionGroup(self)
        self.numbering_actions = {}
        for kind, text, tip in (
                ("structure", "&Structure (author numbering)", "The structure file's residue numbers"),
                ("sequence", "Se&quence Index", "1, 2, 3, ... along the sequence"),
                ("offset", "&Offset\u2026", "The sequence index plus a number you give"),
                ("reference", "&Reference Sequence\u2026", "The numbering of a FASTA sequence (e.g. UniProt) aligned "
                                                          "to this one"),
                ("table", "&Table\u2026", "A CSV of sequence index,label (e.g. Ambler numbering; may skip numbers)")):
            action = QAction(text, self, checkable=True)
            action.setStatusTip(tip)
            action.triggered.connect(lambda _checked=False, k=kind: self.choose_numbering_dialog(k))
            self.numbering_group.addAction(action)
            self.numbering_menu.addAction(action)
            self.numbering_actions[kind] = action
        self.chain_menu = view.addMenu("Sequence &Chain")
        self.chain_menu.setToolTip("Which chain of the structure the sequence editor and heatmap show")
        colour = view.addMenu("Colour Structure &By")
        self.colour_group = QActionGroup(self)
        self.colour_actions = {}
        for mode, text in (("chain", "Chain"), ("confidence", "Confidence (pLDDT) or B-factor"),
                           ("score", "Scan Score (mean substitution)")):
            action = QAction(text, self, checkable=True, checked=mode == "chain")
            action.setStatusTip({"chain": "One colour per chain",
                                 "confidence": "A prediction's pLDDT, or an experimental structure's B-factors",
                                 "score": "The scan's mean substitution score at each residue"}[mode])
            action.triggered.connect(lambda _=False, m=mode: self.set_color_mode(m))
            self.colour_group.addAction(action)
            colour.addAction(action)
            self.colour_actions[mode] = action
        self.reset_view_action = self._action(view, "&Reset 3D View", lambda _checked=False: self.viewer.reset_view(),
                                              "Ctrl+0", "Fit the whole molecule in the 3D view again")
        surface = QAction("Show &Surface", self, checkable=True)
        surface.setStatusTip("Show the molecular surface over the cartoon")
        surface.toggled.connect(self.viewer.set_surface)
        view.addAction(surface)
        view.addSeparator()
        for dock in (self.editor_dock, self.viewer_dock, self.variants_dock, self.ranked_dock, self.activity_dock,
                     self.documents_dock, self.measurements_dock):
            toggle = dock.toggleViewAction()
            toggle.setStatusTip(f"Show or hide the {dock.windowTitle()} panel")
            view.addAction(toggle)

        help_menu = bar.addMenu("&Help")
        self.manual_action = self._action(help_menu, "&User Manual", lambda _checked=False: self.show_manual(), "F1",
                                          "The manual: opening proteins, numbering, what a score means, models ...")
        self._action(help_menu, "&Keyboard Shortcuts", lambda _checked=False: self.show_shortcuts(), None,
                     "Every keyboard shortcut of the menus")
        self._action(help_menu, "&About Protein Studio", self.show_about, None,
                     "Versions, licences and the folder the model weights are in")

    def _connect(self) -> None:
        s = self.session
        s.document_changed.connect(self._refresh_document)
        s.sequence_changed.connect(self._on_sequence_changed)
        s.scan_changed.connect(self._on_scan_changed)
        s.variants_changed.connect(self._refresh_variants)
        s.numbering_changed.connect(self._on_numbering_changed)
        s.documents_changed.connect(self._on_documents_changed)
        self.documents.activateRequested.connect(self.session.activate)
        self.ranked.filtersChanged.connect(self._store_view)
        self.mediator.subscribe(self.session, lambda idx, src: self._store_view())
        self.documents.closeRequested.connect(self.close_document)

        m = self.mediator
        m.subscribe(self.editor, lambda idx, src: self.editor.set_selection(idx))
        m.subscribe(self.heatmap, self._heatmap_selection)
        m.subscribe(self.ranked, lambda idx, src: self.ranked.set_selection(idx))
        m.subscribe(self.viewer, lambda idx, src: self.viewer.highlight(self.mediator.selected_residues()))
        m.subscribe(self, lambda idx, src: self._show_selection())

        for view in (self.editor, self.heatmap, self.ranked, self.variants):
            view.positionsSelected.connect(
                lambda indices, add, v=view: self.mediator.select(
                    set(indices) | (set(self.mediator.selection) if add else set()), source=v))
        self.viewer.residueClicked.connect(self._viewer_clicked)
        self.viewer.ready.connect(self._viewer_ready)

        self.editor.mutationRequested.connect(self.mutate)
        self.editor.pasteRequested.connect(self.paste_sequence)
        self.editor.message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.heatmap.mutationActivated.connect(self._heatmap_activated)
        self.heatmap.variantRequested.connect(self._add_variant_at)
        self.ranked.mutationActivated.connect(self._add_variant_at)
        self.ranked.exportRequested.connect(self.export_ranked_dialog)
        self.ranked.message.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.variants.addRequested.connect(self.add_variant)
        self.variants.removeRequested.connect(self._remove_variants)
        self.variants.applyRequested.connect(self.apply_variant)
        self.variants.noteEdited.connect(self.set_variant_note)

        w = self.worker
        w.jobStarted.connect(self.activity.job_started)
        w.progress.connect(self.activity.job_progress)
        w.partial.connect(self._on_partial)
        w.warning.connect(lambda job_id, text: self.activity.add_entry(f"Warning: {text}"))
        w.jobFinished.connect(self._on_finished)
        w.jobFailed.connect(self._on_failed)
        w.jobCancelled.connect(self._on_cancelled)
        w.modelChanged.connect(self._on_model_changed)
        self.activity.cancelRequested.connect(self.cancel_jobs)

    # documents -------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        paths = open_files(self, "protein", "Open protein", OPEN_FILTER)
        if paths:
            self.open_files([Path(p) for p in paths])

    def open_files(self, paths, remember: bool = True, chain: str | None = None,
                   record: str | int | None = None) -> bool:
        """Open a FASTA and/or a structure file; on failure say why and keep the current document.

        ``chain`` picks the structure chain (default: the first protein chain); ``record`` the FASTA
        record (name or 1-based number; default the first).
        """
        paths = [Path(p) for p in paths]
        if len(paths) == 1 and paths[0].suffix.lower() == PROJECT_SUFFIX:
            return self.projects.open_project(paths[0])
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
            document = run_with_progress(self, f"Opening {printable(names)}", read)
        except Cancelled:
            self.statusBar().showMessage(f"Opening {printable(names)} cancelled", 5000)
            self.activity.add_entry(f"Opening {printable(names)} cancelled; nothing was opened")
            return False
        except UserError as exc:
            self.show_error("Cannot open " + names, str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - a parser's own error: still one message, with details
            import traceback

            self.show_error("Cannot open " + names, f"{names}: not a readable protein file "
                            f"({type(exc).__name__}: {exc})", traceback.format_exc())
            return False
        self.set_document(document)
        if remember:
            self._remember(paths)
        return True

    def set_document(self, document: Document) -> None:
        """Add ``document`` to the project and show it (the documents already open stay, with their scans)."""
        self.session.open(document)  # _on_documents_changed shows its structure; _refresh_document the rest
        note = ""
        mismatches = getattr(document.numbering, "mismatches", ())
        if document.structure is not None and len(document.paths) > 1:
            mapped = getattr(document.numbering, "mapped", len(document))
            note = f" (sequence aligned to chain {document.chain}: {mapped} of {len(document)} positions in the structure"
            note += f", {len(mismatches)} mismatches)" if mismatches else ")"
        self.activity.add_entry(f"Opened {document.name}: {len(document)} residues{note}")
        for text in document.notes:
            self.activity.add_entry(f"Note: {text}")
        self.documentOpened.emit()

    def replace_document(self, document: Document, text: str) -> None:
        """Show ``document`` in place of the one shown (another chain or record), undoably."""
        self.undo_stack.push(ReplaceDocumentCommand(self.session, document, text))
        self.documentOpened.emit()

    def close_document(self, index: int | None = None) -> bool:
        """Close document ``index`` (default the one shown); asks first when its work is in no project file.
        A scan running for it is cancelled; the other documents stay."""
        index = self.session.active if index is None or index < 0 else index
        if not 0 <= index < len(self.session.states):
            return False
        state = self.session.states[index]
        has_work = (state.document.mutated_indices() or state.scan is not None or state.variants or state.results)
        if self.confirm_close and self.projects.path is None and has_work:
            answer = self.ask_close_document(state.document.name)
            if answer != QMessageBox.Discard:
                return False
        if self._scan_target is not None and self._scan_target is state.scan and self._scan_job is not None:
            self.worker.cancel(self._scan_job)
        if self._score_target is state and self._score_job is not None:
            self.worker.cancel(self._score_job)
        stack = self._stacks.pop(id(state), None)
        self.session.close(index)
        if stack is not None:
            self.undo_group.removeStack(stack)
            stack.deleteLater()
        self.activity.add_entry(f"Closed {state.document.name}")
        return True

    def ask_close_document(self, name: str) -> QMessageBox.StandardButton:
        """The question before closing a document with unsaved work (Discard / Cancel); tests replace it."""
        return QMessageBox.question(self, "Close document?",
                                    f"{name} holds edits, a scan, variants or results that are in no project "
                                    f"file. Close it and lose them? (File \u25b8 Save Project keeps them.)",
                                    QMessageBox.Discard | QMessageBox.Cancel, QMessageBox.Cancel)

    def forget_jobs(self) -> None:
        """Cancel the scan and scoring jobs of the documents now open (a project replaces them)."""
        for job in (self._scan_job, self._score_job):
            if job is not None:
                self.worker.cancel(job)
        self._scan_job = self._score_job = None
        self._scan_target = self._score_target = None

    @property
    def undo_stack(self) -> QUndoStack:
        """The undo history of the document shown (each document keeps its own)."""
        state = self.session.state
        key = id(state)
        stack = self._stacks.get(key)
        if stack is None:
            stack = QUndoStack(self)
            self.undo_group.addStack(stack)
            self._stacks[key] = stack
            if state is not None and state.undo:  # a history saved in the project
                try:
                    rebuild_history(stack, self.session, state.undo, state.undo_index)
                except (UserError, IndexError, ValueError) as exc:
                    stack.clear()
                    self.activity.add_entry(f"The saved undo history of {state.document.name} was not "
                                            f"restored: {exc}")
        if self.undo_group.activeStack() is not stack:
            self.undo_group.setActiveStack(stack)
        return stack

    def capture_history(self) -> None:
        """Copy each document's undo history into its state as plain data (before the project is written)."""
        for state in self.session.states:
            stack = self._stacks.get(id(state))
            if stack is not None:
                state.undo, state.undo_index = history_steps(stack)

    @property
    def _model_scores(self) -> dict:
        """Score, model and method of each variant from the last Score Variants job (the document shown)."""
        state = self.session.state
        return state.model_scores if state is not None else {}

    @property
    def _saved_sequence(self) -> str | None:
        state = self.session.state
        return state.saved_sequence if state is not None else None

    def _on_documents_changed(self) -> None:
        states = self.session.states
        live = {id(state) for state in states}
        for key in [k for k in self._stacks if k not in live]:
            stack = self._stacks.pop(key)
            self.undo_group.removeStack(stack)
            stack.deleteLater()
        self.documents.set_documents([state.document.name for state in states], self.session.active,
                                     [", ".join(str(p) for p in state.document.paths) or "typed or pasted"
                                      for state in states])
        doc = self.session.document
        if doc is not None:
            self.undo_stack  # noqa: B018 - makes the document's own history the active one
        structure = doc.structure if doc is not None else None
        if structure is not self._shown_structure:
            self.show_structure(structure)
        self._fill_chain_menu()
        self.record_action.setEnabled(doc is not None and len(doc.records) > 1)
        self.close_document_action.setEnabled(doc is not None)
        self.show_title()
        if self.session.state is not self._shown_state:
            self._shown_state = self.session.state
            self._apply_view()

    def show_structure(self, structure, name: str | None = None, color_mode: str | None = None) -> None:
        """Show ``structure`` in the 3D view (None: nothing), named ``name`` (default its own), coloured by
        ``color_mode`` (default: the mode chosen, unless the structure cannot be coloured by it)."""
        self._shown_structure = structure
        if structure is None:
            self.viewer.clear()
            return
        self.viewer.load_structure(structure, name or structure.name)
        self._update_colour_actions()
        if color_mode is not None:
            self.set_color_mode(color_mode)
        elif self._color_mode == "score" or (self._color_mode == "confidence" and self.viewer.confidence_kind is None):
            self.set_color_mode("chain")

    def _store_view(self, *_args) -> None:
        """Keep the shown document's view settings in its state (hence in the project)."""
        state = self.session.state
        if state is None or self._applying_view:
            return
        view = {"colour": self._color_mode, "ranked": self.ranked.filters(),
                "selection": sorted(int(i) for i in self.mediator.selection)}
        if view != state.view:
            state.view = view
            self.session.modified.emit()

    def _apply_view(self) -> None:
        """Show the active document with the view settings it was left with."""
        state = self.session.state
        if state is None:
            return
        self._applying_view = True
        try:
            view = state.view or {}
            if "ranked" in view:  # a new document keeps the filters and colouring in use
                self.ranked.set_filters(view["ranked"])
            colour = view.get("colour", self._color_mode)
            if colour != self._color_mode and (colour != "score" or state.scan is not None):
                self.set_color_mode(colour)
            selection = [i for i in view.get("selection", []) if 0 <= i < len(state.document)]
            if selection:
                self.mediator.select(selection, source=None)
        finally:
            self._applying_view = False

    def show_title(self) -> None:
        """``"P62593 — design.psproj — Protein Studio"``."""
        doc = self.session.document
        parts = ([printable(doc.name)] if doc is not None else []) + [self.projects.title, "Protein Studio"]
        self.setWindowTitle(" \u2014 ".join(parts))

    def _fill_chain_menu(self) -> None:
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
        self.chain_combo.clear()
        for info in chains:
            self.chain_combo.addItem(f"{info.chain_id} ({len(info)} residues)", info.chain_id)
        if doc is not None and doc.chain is not None:
            self.chain_combo.setCurrentIndex(max(0, self.chain_combo.findData(doc.chain)))
        self.chain_row.setVisible(len(chains) > 1)
        self.viewer.set_active_chain(doc.chain if len(chains) > 1 else None)

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
            self.show_error("Cannot show it", str(exc))
            return False
        self.replace_document(document, text)
        return True

    def choose_record_dialog(self) -> bool:
        """File > Choose Record: pick another record of the open FASTA file (replaces the document)."""
        doc = self.session.document
        if doc is None or len(doc.records) < 2:
            self.statusBar().showMessage("The open sequence does not come from a FASTA file of several records",
                                         5000)
            return False
        items = [f"{k + 1}: {name}" for k, name in enumerate(doc.records)]
        item, ok = QInputDialog.getItem(self, "Choose record", f"Records of {doc.paths[0].name if doc.paths else ''}:",
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
                self.show_error("Cannot show the record", f"no record named '{record}'")
                return False
            record = names.index(str(record)) + 1
        return self._reload(doc, f"show record {record}", chain=doc.chain, record=record)

    # numbering -------------------------------------------------------------------------------
    def choose_numbering_dialog(self, kind: str) -> bool:
        """View > Numbering: ask for what a scheme needs (an offset, a reference FASTA, a table) and use it."""
        doc = self.session.document
        if doc is None:
            return False
        value = None
        if kind == "offset":
            current = doc.scheme.offset if doc.scheme.kind == "offset" else 0
            value, ok = QInputDialog.getInt(self, "Offset numbering", "Number sequence index i as i + N; N =",
                                            current, -100000, 100000)
            if not ok:
                self._show_numbering()
                return False
        elif kind in ("reference", "table"):
            title = "Reference sequence (FASTA)" if kind == "reference" else "Numbering table (CSV: index,label)"
            filters = FASTA_FILTER if kind == "reference" else "CSV or TSV (*.csv *.tsv *.txt);;All files (*)"
            value = open_file(self, "numbering", title, filters)
            if not value:
                self._show_numbering()
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
            self.show_error("Cannot use this numbering", str(exc))
            self._show_numbering()
            return False
        self.session.set_scheme(scheme)
        self.activity.add_entry(f"Numbering: {scheme.description} ({scheme.span})")
        return True

    def _show_numbering(self) -> None:
        doc = self.session.document
        if doc is None:
            self.numbering_label.setText("")
            return
        self.numbering_label.setText(f"Numbering: {doc.scheme.description}")
        self.numbering_actions[doc.scheme.kind].setChecked(True)
        self.numbering_actions["structure"].setEnabled(doc.structure is not None and doc.numbering.mapped > 0)
        example = _example_mutant(doc)
        example = doc.scheme.name_mutant(example) if example is not None else "E104K:G238S"
        self.variants.entry.setPlaceholderText(f"add a mutant in {doc.scheme.kind} numbering, e.g. {example}")

    def _on_numbering_changed(self) -> None:
        self._refresh_document()
        self._redraw_scan()
        self._refresh_table()
        self._show_selection()

    def _remember(self, paths) -> None:
        recent = [str(p.resolve()) for p in paths]
        key = "|".join(recent)
        entries = [e for e in (self.settings.value("recent", []) or []) if e != key]
        if isinstance(entries, str):
            entries = [entries]
        self.settings.setValue("recent", [key] + entries[:MAX_RECENT - 1])
        self._fill_recent_menu()

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        entries = self.settings.value("recent", []) or []
        if isinstance(entries, str):
            entries = [entries]
        for entry in entries:
            paths = entry.split("|")
            action = self.recent_menu.addAction(" + ".join(Path(p).name for p in paths))
            action.setToolTip("\n".join(paths))
            action.triggered.connect(lambda _=False, ps=paths: self.open_files([Path(p) for p in ps]))
        self.recent_menu.setEnabled(bool(entries))

    def _refresh_document(self) -> None:
        doc = self.session.document
        if doc is None:
            self.editor.set_sequence("", "", [])
            self.heatmap.set_data(None, "", [])
            self.doc_label.setText("No protein open")
            return
        self.show_title()
        if self.session.state is not getattr(self, "_heatmap_state", None):  # another protein: from its start
            self._heatmap_state = self.session.state
            self.heatmap.horizontalScrollBar().setValue(0)
        self.editor.set_sequence(doc.sequence, doc.wild_type, doc.labels(), describe=doc.residue_text,
                                 breaks=doc.breaks, excluded=doc.excluded)
        self._show_numbering()
        if self.mediator.numbering is not doc.numbering:
            self.mediator.set_numbering(doc.numbering)
        self._on_sequence_changed([])
        # the heatmap, table and variants follow: Session emits scan_changed(None) after every new document

    def _on_sequence_changed(self, indices) -> None:
        doc = self.session.document
        if doc is None:
            return
        self.editor.set_sequence(doc.sequence, doc.wild_type)
        mutated = doc.mutated_indices()
        mutant = doc.mutations()
        summary = f"{len(doc)} residues, {len(mutated)} mutation{'' if len(mutated) == 1 else 's'}"
        named = doc.name_mutant(mutant) if mutant else ""
        self.doc_label.setText(f"{doc.name}: {summary}" + (f" ({named})" if mutant and len(mutated) <= 4 else ""))
        chain = f", chain {doc.chain}" if doc.chain and f"chain {doc.chain}" not in doc.name else ""
        self.editor_dock.setWindowTitle(f"Sequence \u2014 {doc.name}{chain}: {summary}")
        residues = [r for r in (doc.numbering.residue_at(i) for i in mutated) if r is not None]
        self.viewer.set_mutated(residues)

    # selection -------------------------------------------------------------------------------
    def _heatmap_selection(self, indices, source) -> None:
        self.heatmap.set_selection(indices)
        if indices:
            self.heatmap.ensure_visible(min(indices))

    def _viewer_clicked(self, chain: str, number: int, insertion: str) -> None:
        residue = ResidueId(chain, number, insertion)
        numbering = self.mediator.numbering
        if numbering is None or numbering.index_of(residue) is None:
            doc = self.session.document
            where = (f"chain {chain} is not the open sequence (View \u25b8 Sequence Chain)"
                     if doc is not None and chain != doc.chain else "it is not part of the open sequence")
            self.statusBar().showMessage(f"Residue {residue}: {where}", 6000)
            return
        self.mediator.select_residues([residue], source=self.viewer)

    def _viewer_ready(self) -> None:
        self.viewer.highlight(self.mediator.selected_residues())

    def _show_selection(self) -> None:
        doc = self.session.document
        indices = sorted(self.mediator.selection)
        if doc is None or not indices:
            self.selection_label.setText("")
            return
        if len(indices) == 1:
            text = doc.residue_text(indices[0])
        else:
            text = f"{len(indices)} positions ({doc.residue_text(indices[0])} \u2026 {doc.residue_text(indices[-1])})"
        self.selection_label.setText("Selected: " + text)

    def select_all(self) -> None:
        if self.session.document is not None:
            self.mediator.select(range(len(self.session.document)), source=None)

    # edits -----------------------------------------------------------------------------------
    def mutate(self, index: int, residue: str) -> bool:
        """Make a point mutation (undoable); False with a message when refused."""
        doc = self.session.document
        if doc is None:
            return False
        if len(residue) != 1 or residue.upper() not in AMINO_ACIDS:
            self.statusBar().showMessage(f"'{residue}' is not one of the 20 amino acids", 5000)
            return False
        if doc.sequence[index] == residue.upper():
            return False
        self.undo_stack.push(SetResidueCommand(self.session, index, residue.upper()))
        return True

    def paste_sequence(self, text: str) -> bool:
        try:
            command = ReplaceSequenceCommand(self.session, text)
            command.redo()
        except UserError as exc:
            self.show_error("Cannot paste", str(exc))
            return False
        self.undo_stack.push(command)  # push calls redo again: it restores the state it made
        return True

    def _paste_clipboard(self) -> None:
        text = QApplication.clipboard().text()
        if text.strip():
            self.paste_sequence(text)
        else:
            self.statusBar().showMessage("The clipboard holds no text", 5000)

    def revert_all(self) -> None:
        doc = self.session.document
        if doc is None:
            return
        self.undo_stack.beginMacro("revert to wild type")
        for i in doc.mutated_indices():
            self.undo_stack.push(SetResidueCommand(self.session, i, doc.wild_type[i]))
        self.undo_stack.endMacro()

    def _heatmap_activated(self, index: int, residue: str) -> None:
        modifiers = QApplication.keyboardModifiers()
        if modifiers & Qt.ShiftModifier:
            self._add_variant_at(index, residue)
        else:
            self.mutate(index, residue)

    # variants --------------------------------------------------------------------------------
    def _add_variant_at(self, index: int, residue: str) -> None:
        doc = self.session.document
        if doc is None or doc.wild_type[index] == residue:
            return
        self.add_variant(MultiMutant((Mutation(index + 1, doc.wild_type[index], residue),)))

    def add_variant(self, text) -> bool:
        """Add variants: text typed in the numbering shown (``E104K:G238S``; a comma separates several
        variants, as everywhere), or a MultiMutant in sequence positions. True when any was added."""
        from protein_studio.core.molecules.mutations import split_mutants

        items = split_mutants(text) if isinstance(text, str) else [text]
        if not items:
            self.show_error("Cannot add the variant", "no mutation given")
            return False
        added, errors = False, []
        for item in items:
            try:
                added = self.session.add_variant(item) or added
            except UserError as exc:
                errors.append(str(exc))
        if errors:
            self.show_error("Cannot add the variant" + ("s" if len(errors) > 1 else ""), "\n".join(errors))
        elif added:
            self.variants.entry.clear()
        return added and not errors

    def _remove_variants(self, names) -> None:
        doc = self.session.document
        for variant in list(self.session.variants):
            if doc is not None and doc.name_mutant(variant) in names:
                self.session.remove_variant(variant)

    def set_variant_note(self, name: str, note: str) -> bool:
        """Keep ``note`` with the variant the list shows as ``name`` (in the project)."""
        doc = self.session.document
        variant = next((v for v in self.session.variants if doc is not None and doc.name_mutant(v) == name), None)
        if variant is None:
            return False
        self.session.set_note(variant, note)
        return True

    def apply_variant(self, name: str) -> None:
        """Apply the variant the list shows as ``name`` (in the numbering shown) to the sequence."""
        doc = self.session.document
        if doc is None:
            return
        variant = next((v for v in self.session.variants if doc.name_mutant(v) == name), None)
        if variant is None:
            return
        self.undo_stack.beginMacro(f"apply {name}")
        for m in variant.mutations:
            self.undo_stack.push(SetResidueCommand(self.session, m.position - 1, m.mt))
        self.undo_stack.endMacro()

    def variant_rows(self):
        """The variant list as shown: additive scores from the session's scan, model scores from the
        last Score Variants job (None where not computed), and each variant's full sequence."""
        doc = self.session.document
        if doc is None:
            return []
        return variant_rows(doc.wild_type, self.session.variants, self.session.scan, self._model_scores,
                            doc.scheme, self.session.state.notes)

    def _refresh_variants(self) -> None:
        rows = [(row.variant, list(row.positions), row.scan_additive_score, row.model_score,
                 f"{row.model}, {row.method}" if row.model_score is not None else "",
                 row.note)
                for row in self.variant_rows()]
        self.variants.set_variants(rows)
        self.export_variants_action.setEnabled(bool(rows))

    # scans -----------------------------------------------------------------------------------
    def _spec(self, name: str):
        from protein_studio.models.catalog import get_spec

        return get_spec(name)

    def start_scan(self, model: str | None = None) -> int | None:
        """Scan every point mutation of the current sequence with ``model`` (default: the chosen one)."""
        doc = self.session.document
        if doc is None:
            self.show_error("Nothing to scan", "Open a protein first.")
            return None
        model = model or self.model_name
        try:
            spec = self._spec(model)
            check_model_for_document(spec, doc)
        except UserError as exc:
            self.show_error("Cannot scan", str(exc))
            return None
        if not self.require_on_disk(model, "scan"):
            return None
        if self._scan_job is not None:
            self.worker.cancel(self._scan_job)
        sequence = doc.sequence
        strategy = self.strategy
        remaining = self.session.resumable_positions(model, strategy)
        positions = doc.scannable() if remaining is None else remaining  # a chromophore's residues are left out
        if doc.excluded:
            self.activity.add_entry(f"Note: {len(doc.excluded)} residues are left out of the scan: "
                                    + "; ".join(sorted(set(doc.excluded.values()))))
        if remaining is not None:
            self.activity.add_entry(f"Resuming the scan of {doc.name}: {len(remaining)} of "
                                    f"{self.session.scan.positions_to_scan} positions left")

        def run(ctx, loaded):
            from protein_studio.engines.scoring import saturation_scan

            loaded = model_for_document(loaded, doc)  # SaProt reads the document's structure tokens
            # a masked-marginal scan first shows the one-pass wt-marginal matrix, then refines it
            return saturation_scan(sequence, loaded, ctx, strategy=strategy, positions=positions,
                                   wt_first=strategy == "masked-marginals")

        resumed = "Resume scan" if remaining is not None else "Scan"
        job = Job(f"{resumed} {doc.name} with {spec.display_name} ({strategy})", run, model=model,
                  device=self.device, kind="scan")
        if remaining is None:
            self.session.begin_scan(model, strategy, spec.is_random)
        self._scan_target = self.session.scan
        self._scan_job = self.submit_job(job)
        return job.id

    def score_variants(self, multi: str = "additive") -> int | None:
        """Score every variant of the list with the chosen model.

        ``multi``: ``"additive"`` (sum of single-site masked marginals, as ProteinGym) or ``"joint"`` (all
        mutated positions masked at once, as the ESM-1v paper); the score's tooltip says which.
        """
        doc = self.session.document
        if doc is None or not self.session.variants:
            self.show_error("Nothing to score", "Add variants to the list first (e.g. E104K:G238S).")
            return None
        try:
            spec = self._spec(self.model_name)
            check_model_for_document(spec, doc)
        except UserError as exc:
            self.show_error("Cannot score", str(exc))
            return None
        if not self.require_on_disk(spec.name, "score variants"):
            return None
        if multi not in ("additive", "joint"):
            raise ValueError(f"multi must be 'additive' or 'joint', not {multi!r}")
        wild_type = doc.wild_type
        mutants = list(self.session.variants)

        def run(ctx, loaded):
            from protein_studio.engines.scoring import score_mutants

            return score_mutants(wild_type, mutants, model_for_document(loaded, doc), ctx, multi=multi)

        job = Job(f"Score {len(mutants)} variants ({multi}) with {spec.display_name}", run, model=spec.name,
                  device=self.device, kind="score")
        self._score_target = self.session.state
        self._score_job = self.submit_job(job)
        return job.id

    def submit_job(self, job: Job) -> int:
        """Run ``job`` on the worker; its progress, result or error show in the window."""
        self._jobs[job.id] = job
        return self.worker.submit(job)

    def cancel_jobs(self) -> None:
        self.worker.cancel()

    def _on_partial(self, job_id: int, payload) -> None:
        if job_id != self._scan_job or payload is None:
            return
        positions = getattr(payload, "positions", None)
        rows = getattr(payload, "scores_rows", None)
        scan = self._scan_target
        if positions is not None and rows is not None and scan is not None:
            final = getattr(payload, "strategy", scan.strategy) == scan.strategy
            self.session.add_scan_chunk(list(np.asarray(positions, dtype=int)), rows, final, scan=scan)

    def _on_finished(self, job_id: int, result) -> None:
        job = self._jobs.pop(job_id, None)
        if job is None:  # the worker's own housekeeping (e.g. releasing a model)
            self.activity.job_ended(job_id, "Finished")
            return
        if job.kind == "scan":
            if job_id == self._scan_job:
                scan, self._scan_target, self._scan_job = self._scan_target, None, None
                if scan is not None:
                    scan.provenance = dict(getattr(result, "provenance", {}) or {})
                self.session.finish_scan(getattr(result, "scores", None), scan=scan)
                self.activity.job_ended(job_id, "Finished")
                self.scanFinished.emit(bool(scan and scan.complete))
                if self._color_mode == "score" and scan is self.session.scan:
                    self.set_color_mode("score")
            else:
                self.activity.job_ended(job_id, "Finished (for a document no longer open)")
        elif job.kind == "score":
            state, self._score_target = self._score_target, None
            if job_id == self._score_job:
                self._score_job = None
            if state is not None and state in self.session.states:
                provenance = dict(getattr(result, "provenance", {}) or {})
                for name, score in zip(result.mutants, np.asarray(result.scores, dtype=float)):
                    state.model_scores[name] = (float(score), result.model, result.method)
                    state.score_provenance[name] = provenance
                self.session.modified.emit()
                self._refresh_variants()
            self.activity.job_ended(job_id, "Finished")
        else:
            self.activity.job_ended(job_id, "Finished")

    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        job = self._jobs.pop(job_id, None)
        if job_id == self._scan_job:
            scan, self._scan_target, self._scan_job = self._scan_target, None, None
            self.session.finish_scan(None, scan=scan)
            self.scanFinished.emit(False)
        if job_id == self._score_job:
            self._score_job, self._score_target = None, None
        self.activity.job_ended(job_id, "Failed", details=f"{message}\n\n{details}", error=True)
        self.show_error(f"{job.title if job else 'A job'} failed", message, details)
        self.jobFailed.emit(message)

    def _on_cancelled(self, job_id: int) -> None:
        self._jobs.pop(job_id, None)
        if job_id == self._score_job:
            self._score_job, self._score_target = None, None
        if job_id == self._scan_job:
            scan, self._scan_target, self._scan_job = self._scan_target, None, None
            self.session.finish_scan(None, scan=scan)
            done = scan.positions_done if scan is not None else 0
            self.activity.job_ended(job_id, f"Cancelled after {done} positions (kept on the heatmap)")
            self.scanFinished.emit(False)
        else:
            self.activity.job_ended(job_id, "Cancelled")

    def _on_model_changed(self, name: str) -> None:
        self.activity.add_entry(f"Model loaded: {name}" if name else "Model released")
        self._show_model()

    def _on_scan_changed(self, positions) -> None:
        if positions is None:
            self._redraw_scan()
            self._refresh_table()
        else:
            if not self._heatmap_timer.isActive():
                self._heatmap_timer.start()
            if not self._table_timer.isActive():
                self._table_timer.start()

    def measurements_dialog(self) -> bool:
        """File > Import Measurements (the Measurements panel comes forward)."""
        self.measurements_dock.show()
        self.measurements_dock.raise_()
        return self.measurements.import_dialog()

    def _redraw_scan(self) -> None:
        doc = self.session.document
        scan = self.session.scan
        if doc is None:
            return
        labels = doc.labels()
        marks = dict(breaks=doc.breaks, excluded=doc.excluded)
        name = html.escape(doc.name)
        layer = self.measurements.heatmap_layer() if hasattr(self, "measurements") else None
        if layer is not None:  # measured data, their difference to the scan, or a fitted model
            matrix, title, summary = layer
            self.heatmap.set_data(matrix, doc.sequence, labels, summary=summary, title=title,
                                  describe=doc.residue_text, **marks)
            self.scan_title.setText(f"<b>{name}</b> \u2014 {html.escape(title.split(': ', 1)[-1])}. "
                                    f"(Measurements panel: Heatmap shows)")
            return
        if scan is None:
            self.heatmap.set_data(None, doc.sequence, labels, describe=doc.residue_text,
                                  title=f"{doc.name}: not scanned", **marks)
            self.scan_title.setText(f"<b>{name}</b> \u2014 no scan yet: choose a model in Models and "
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
        self.heatmap.set_data(scan.scores, scan.sequence, labels, summary=scan.summary(), ranks=scan.ranks(),
                              title=title, describe=doc.residue_text, **marks)
        provenance = scan.provenance or {}
        self.scan_title.setToolTip("Where these numbers come from:\n" + "\n".join(
            f"{key}: {value}" for key, value in provenance.items()) if provenance else
            "Provenance is recorded when the scan finishes (model, weights, strategy, version, date)")
        colour = "#b00020" if scan.random_weights else "palette(text)"
        self.scan_title.setText(f"<b>{name}</b> \u2014 <span style='color:{colour}'>{html.escape(spec_label)}</span>, "
                                f"{scan.strategy}: {state}. Log-ratio score: &gt;0 better than wild type "
                                f"(blue), &lt;0 worse (red). Double-click applies a mutation; "
                                f"Shift+double-click or the right-click menu adds it to the variants.")

    def _refresh_table(self) -> None:
        doc = self.session.document
        scan = self.session.scan
        if doc is None:
            return
        residues = [str(doc.numbering.residue_at(i) or "") for i in range(len(doc))]
        self.ranked.set_data(None if scan is None else scan.scores, scan.sequence if scan else doc.sequence,
                             doc.scheme, residues, ranks=None if scan is None else scan.ranks,
                             final=None if scan is None else scan.final)
        self._refresh_variants()

    def set_color_mode(self, mode: str) -> None:
        """Colour the structure by chain, confidence (pLDDT of a prediction, B-factors of an experimental
        structure) or the scan's per-position mean score."""
        doc = self.session.document
        scan = self.session.scan
        if mode == "confidence" and self.viewer.confidence_kind is None:
            self.statusBar().showMessage("This structure has no pLDDT or B-factor values (the column is empty "
                                         "or all zero)", 6000)
            self.colour_actions[self._color_mode].setChecked(True)
            return
        if mode == "score":
            if scan is None or doc is None:
                self.statusBar().showMessage("Colouring by score needs a scan: Run \u25b8 Scan", 5000)
                self.colour_actions[self._color_mode].setChecked(True)
                return
            summary = scan.summary()
            values = {}
            for i, value in enumerate(summary):
                residue = doc.numbering.residue_at(i)
                if residue is not None and not math.isnan(value):
                    values[residue] = float(value)
            self.viewer.set_color_mode("score", values, limit=colour_scale_limit(summary[None, :]))
        else:
            self.viewer.set_color_mode(mode)
        self._color_mode = mode
        self.colour_actions[mode].setChecked(True)
        self._update_colour_actions()
        self._store_view()

    def _update_colour_actions(self) -> None:
        """Name the confidence colouring after what the shown structure holds; off when it holds nothing."""
        kind = self.viewer.confidence_kind
        action = self.colour_actions["confidence"]
        action.setText({"plddt": "Confidence (pLDDT)", "bfactor": "B-factor (\u00c5\u00b2)"}.get(
            kind, "Confidence / B-factor (none in this structure)"))
        action.setEnabled(kind is not None)

    # models ----------------------------------------------------------------------------------
    def _scoring_specs(self):
        from protein_studio.models.catalog import all_models

        return all_models(task="scoring")

    def _choose_default_model(self) -> None:
        """The saved model when its weights are on disk, else the first scoring model that is."""
        from protein_studio.models.weights import is_on_disk

        specs = self._scoring_specs()
        by_name = {spec.name: spec for spec in specs}
        chosen = by_name.get(self.model_name)
        if chosen is None or not is_on_disk(chosen):
            on_disk = [spec for spec in specs if is_on_disk(spec)]
            if on_disk:
                self.model_name = on_disk[0].name
            elif chosen is None and specs:
                self.model_name = specs[0].name
        self._show_model()

    def _show_model(self) -> None:
        try:
            spec = self._spec(self.model_name)
            text = spec.display_name
        except UserError:
            text = self.model_name
        loaded = self.worker.loaded_model
        self.model_label.setText(f"Model: {text} on {self.device}" + (" (loaded)" if loaded == self.model_name else ""))
        if "RANDOM" in text:
            self.model_label.setStyleSheet("color: #b00020; font-weight: bold")
        else:
            self.model_label.setStyleSheet("")

    def _fill_models_menu(self) -> None:
        from protein_studio.models.weights import is_on_disk

        menu = self.models_menu
        menu.clear()
        group = QActionGroup(menu)
        for spec in self._scoring_specs():
            on_disk = is_on_disk(spec)
            text = spec.display_name + ("" if on_disk else "  (not on disk)")
            action = QAction(text, menu, checkable=True, checked=spec.name == self.model_name)
            action.setToolTip(f"{spec.description} \u2014 licence {spec.license}")
            action.triggered.connect(lambda _=False, n=spec.name: self.set_model(n))
            group.addAction(action)
            menu.addAction(action)
        menu.addSeparator()
        devices = menu.addMenu("&Device")
        device_group = QActionGroup(devices)
        for device in ("auto", "cpu", "cuda", "mps"):
            action = QAction(device, devices, checkable=True, checked=device == self.device)
            action.setStatusTip({"auto": "A CUDA GPU, else Apple's MPS, else the CPU", "cpu": "The processor",
                                 "cuda": "An NVIDIA GPU", "mps": "An Apple GPU"}[device])
            action.triggered.connect(lambda _=False, d=device: self.set_device(d))
            device_group.addAction(action)
            devices.addAction(action)
        menu.addSeparator()
        manage = menu.addAction("&Manage Models\u2026", self.open_model_manager)
        manage.setStatusTip("Download, import or remove model weights; see sizes, licences and what each model does")

    @property
    def model_name(self) -> str:
        """The chosen scoring model: the user's settings hold it (written to disk by :meth:`set_model`).

        Setting it shows it in the status bar.
        """
        return self.user_settings.scoring_model

    @model_name.setter
    def model_name(self, name: str) -> None:
        self.user_settings.scoring_model = name
        self._show_model()

    @property
    def device(self) -> str:
        """The chosen device (``auto``, ``cpu``, ``cuda``, ``mps``), held by the user's settings too;
        setting it shows it in the status bar."""
        return self.user_settings.device

    @device.setter
    def device(self, device: str) -> None:
        self.user_settings.device = device
        self._show_model()

    def set_model(self, name: str) -> None:
        """Choose the scoring model (remembered); the worker releases the old one on its next job."""
        self.model_name = name
        self._save_model_choice()

    def set_device(self, device: str) -> None:
        self.device = device
        self._save_model_choice()
        self.worker.release_model()

    def _save_model_choice(self) -> None:
        from protein_studio.core.storage.settings import save_settings

        try:
            save_settings(self.user_settings)
        except (UserError, OSError) as exc:
            self.activity.add_entry(f"Could not save settings: {exc}", error=True)

    def open_model_manager(self, select: str | None = None):
        """Models > Manage Models: the model manager window (one per window), ``select`` chosen."""
        from protein_studio.gui.model_manager import ModelManager

        if self.model_manager is None:
            self.model_manager = ModelManager(self)
            self.model_manager.modelsChanged.connect(self.modelsChanged)
            self.modelsChanged.connect(self._choose_default_model)
        self.model_manager.refresh()
        if select:
            self.model_manager.select(select)
        self.model_manager.show()
        self.model_manager.raise_()
        return self.model_manager

    def open_dna_dialog(self):
        """Run > Design DNA: the library builder and primer designer (one per window)."""
        from protein_studio.gui.dna_dialog import DesignDnaDialog

        if getattr(self, "dna_dialog", None) is None:
            self.dna_dialog = DesignDnaDialog(self)
        self.dna_dialog.show()
        self.dna_dialog.raise_()
        return self.dna_dialog

    def require_on_disk(self, name: str, what: str) -> bool:
        """True when model ``name`` can be loaded; else say so and offer the model manager (nothing runs)."""
        from protein_studio.models.catalog import get_spec
        from protein_studio.models.weights import is_on_disk

        try:
            spec = get_spec(name)
        except UserError as exc:
            self.show_error(f"Cannot {what}", str(exc))
            return False
        if is_on_disk(spec):
            return True
        box = QMessageBox(QMessageBox.Information, f"{spec.name} is not on disk",
                          f"The weights of {spec.name} are not on this machine, so it cannot {what}. Download "
                          f"or import them in the model manager.", QMessageBox.Cancel, self)
        manage = box.addButton("Open Model Manager", QMessageBox.AcceptRole)
        box.setDefaultButton(manage)
        box.setAttribute(Qt.WA_DeleteOnClose)
        manage.clicked.connect(lambda: self.open_model_manager(spec.name))
        box.finished.connect(lambda _=0: setattr(self, "message_box", None))
        self.message_box = box
        self.last_error = (f"{spec.name} is not on disk", box.text())
        box.open()
        return False

    # export ----------------------------------------------------------------------------------
    def _ask_save(self, title: str, name: str, filters: str) -> str:
        path, _ = save_file(self, "export", title, name, filters)
        return path

    def export_scan_dialog(self) -> bool:
        """File > Export Scan: ask for a CSV file and its layout, then :meth:`export_scan`."""
        if self.session.scan is None:
            self.show_error("Nothing to export", "Run a scan first (Run \u25b8 Scan).")
            return False
        path, chosen = save_file(self, "export", "Export scan (all substitutions)", "scan.csv", SCAN_FILTER)
        if not path:
            return False
        return self.export_scan(path if Path(path).suffix else path + ".csv",
                                layout="wide" if chosen.startswith("Wide") else "long")

    def _scan_header(self) -> list[str]:
        doc, scan = self.session.document, self.session.scan
        from protein_studio.core.provenance import provenance_lines

        method = f"strategy {scan.strategy}" + (", RANDOM WEIGHTS" if scan.random_weights else "")
        state = "complete" if scan.complete else f"{scan.positions_done} of {scan.positions_to_scan} positions done"
        return provenance_lines(doc, scan.model, method, state)

    def export_scan(self, path: str, layout: str = "long") -> bool:
        """Write the whole scan, every scored substitution, whatever the ranked table's filters.

        ``layout``: ``"long"`` (one row per substitution, the columns of ``protein-studio scan``) or
        ``"wide"`` (one row per position, 20 score columns). Positions are labelled in the numbering shown
        and by sequence index; ``#`` lines at the top give version, date, input, model and numbering.
        """
        from protein_studio.core.storage.export import scan_csv, scan_long_rows, scan_wide_csv

        doc, scan = self.session.document, self.session.scan
        if scan is None or doc is None:
            self.show_error("Nothing to export", "Run a scan first (Run \u25b8 Scan).")
            return False
        header = self._scan_header()
        if layout == "wide":
            text = scan_wide_csv(scan.scores, scan.sequence, doc.scheme, doc.numbering, header)
        else:
            text = scan_csv(scan_long_rows(scan.scores, scan.sequence, doc.scheme, scan.model, scan.strategy,
                                           doc.numbering), header)
        try:
            write_text_atomically(path, text)
        except UserError as exc:
            self.show_error("Export failed", str(exc))
            return False
        self.activity.add_entry(f"Exported the scan ({layout}) to {path}")
        return True

    def export_ranked_dialog(self) -> bool:
        """The ranked table's Export button: ask for a CSV file, then :meth:`export_ranked`."""
        if self.session.scan is None:
            self.show_error("Nothing to export", "Run a scan first (Run \u25b8 Scan).")
            return False
        path = self._ask_save("Export the ranked table's rows", "ranked.csv", "CSV (*.csv)")
        return self.export_ranked(path) if path else False

    def export_ranked(self, path: str) -> bool:
        """The rows the ranked table's filters let through (no top-N cut), best first; the file's header
        says that it is filtered and by what."""
        scan = self.session.scan
        if scan is None:
            self.show_error("Nothing to export", "Run a scan first (Run \u25b8 Scan).")
            return False
        try:
            rows = self.ranked.filtered_rows(top_n=False)
            header = self._scan_header() + [
                f"FILTERED: only the rows the ranked table shows (filters: {self.ranked.filter_description(False)}); "
                f"File > Export Scan writes every substitution"]
            write_text_atomically(path, ranked_rows_csv(rows, scan.model, scan.strategy, header))
        except UserError as exc:
            self.show_error("Export failed", str(exc))
            return False
        self.activity.add_entry(f"Exported {len(rows)} ranked rows (filtered) to {path}")
        return True

    @property
    def has_unsaved_edits(self) -> bool:
        """The current sequence differs from the one last saved (or opened)."""
        doc = self.session.document
        return doc is not None and doc.sequence != self._saved_sequence

    def _default_name(self, suffix: str) -> str:
        doc = self.session.document
        mutant = doc.mutations() if doc is not None else None
        name = doc.name if doc is not None else "sequence"
        return f"{name}_{doc.name_mutant(mutant).replace(':', '_')}{suffix}" if mutant else f"{name}{suffix}"

    def save_fasta_dialog(self) -> bool:
        """File > Save Sequence as FASTA: ask for a file, then :meth:`save_fasta`."""
        if self.session.document is None:
            self.show_error("Nothing to save", "Open a protein first.")
            return False
        path = self._ask_save("Save sequence as FASTA", self._default_name(".fasta"), FASTA_FILTER)
        if not path:
            return False
        return self.save_fasta(path if Path(path).suffix else path + ".fasta")

    def save_fasta(self, path: str) -> bool:
        """Write the current sequence to ``path`` as FASTA, named with its mutations against the wild type.

        The header is ``>NAME_E104K:G238S NAME with E104K:G238S`` (sequence numbering, as in the mutation
        names everywhere in the window), or ``>NAME`` when nothing is mutated. The file is replaced
        atomically; on failure the error is shown and the edits stay unsaved.
        """
        doc = self.session.document
        if doc is None:
            self.show_error("Nothing to save", "Open a protein first.")
            return False
        try:
            record = document_record(doc.name, doc.sequence, doc.mutations(), doc.scheme)
            write_text_atomically(path, format_fasta([record]))
        except UserError as exc:
            self.show_error("Cannot save the sequence", str(exc))
            return False
        self.session.state.saved_sequence = doc.sequence
        self.activity.add_entry(f"Saved the sequence to {path}")
        return True

    def export_variants_dialog(self) -> bool:
        """File > Export Variants: ask for a CSV or FASTA file, then :meth:`export_variants`."""
        if not self.session.variants:
            self.show_error("No variants to export", "Add variants to the list first (e.g. E104K:G238S).")
            return False
        path, chosen = save_file(self, "export", "Export variants", self._variants_name(), VARIANTS_FILTER)
        if not path:
            return False
        if Path(path).suffix.lower() not in (".csv", ".fasta", ".fa", ".faa"):
            path += ".fasta" if chosen.startswith("FASTA") else ".csv"
        return self.export_variants(path)

    def _variants_name(self) -> str:
        doc = self.session.document
        return f"{doc.name if doc is not None else 'protein'}_variants.csv"

    def export_variants(self, path: str) -> bool:
        """Write the variant list to ``path``: FASTA for ``.fasta``/``.fa``/``.faa``, else CSV.

        CSV columns: variant, n_mutations, scan_additive_score, model_score, model, method, sequence;
        FASTA: one record per variant with its full sequence and its scores in the header. The numbers
        are those the variant list shows (empty where not computed).
        """
        doc = self.session.document
        if doc is None or not self.session.variants:
            self.show_error("No variants to export", "Add variants to the list first (e.g. E104K:G238S).")
            return False
        try:
            rows = self.variant_rows()
            fasta = Path(path).suffix.lower() in (".fasta", ".fa", ".faa")
            from protein_studio.core.provenance import numbering_header

            write_text_atomically(path, variants_fasta(rows, doc.name) if fasta
                                  else variants_csv(rows, [numbering_header(doc.scheme)]))
        except UserError as exc:
            self.show_error("Cannot export the variants", str(exc))
            return False
        self.activity.add_entry(f"Exported {len(rows)} variants to {path}")
        return True

    def export_heatmap_dialog(self) -> None:
        path = self._ask_save("Export heatmap", "heatmap.png", "PNG image (*.png);;SVG image (*.svg)")
        if path:
            self.export_heatmap(path)

    def export_heatmap(self, path: str) -> bool:
        try:
            if str(path).lower().endswith(".svg"):
                self.heatmap.export_svg(path)
            else:
                self.heatmap.export_png(path)
        except (OSError, UserError) as exc:
            self.show_error("Export failed", str(exc))
            return False
        self.activity.add_entry(f"Exported heatmap to {path}")
        return True

    def export_structure_dialog(self) -> None:
        path = self._ask_save("Export structure image", "structure.png", "PNG image (*.png)")
        if path:
            try:
                self.viewer.grab_image(path)
                self.activity.add_entry(f"Exported structure image to {path}")
            except (OSError, UserError) as exc:
                self.show_error("Export failed", str(exc))

    # messages --------------------------------------------------------------------------------
    def show_error(self, title: str, message: str, details: str = "") -> QMessageBox:
        """A non-blocking message box (details expandable); also logged in the activity panel."""
        self.last_error = (title, message)
        box = QMessageBox(QMessageBox.Warning, title, message, QMessageBox.Ok, self)
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        self.message_box = box
        box.finished.connect(lambda _=0: setattr(self, "message_box", None))
        if not title.endswith("failed"):
            self.activity.add_entry(f"{title}: {message}", details=details, error=True)
        return box

    def show_manual(self, search: str = ""):
        """Help > User Manual (F1), searched for ``search`` when given."""
        from protein_studio.gui.help_window import HelpWindow

        if getattr(self, "help_window", None) is None:
            self.help_window = HelpWindow(self)
        if search:
            self.help_window.search.setText(search)
        self.help_window.show()
        self.help_window.raise_()
        return self.help_window

    def show_shortcuts(self):
        """Help > Keyboard Shortcuts."""
        from protein_studio.gui.help_window import ShortcutsDialog

        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_about(self) -> QMessageBox:
        rows = "".join(f"<tr><td>{name}</td><td>{_version(dist)}</td><td>{licence}</td></tr>"
                       for name, dist, licence in LIBRARY_LICENCES)
        try:
            specs = self._scoring_specs()
        except Exception:  # noqa: BLE001
            specs = []
        models = "".join(f"<tr><td>{s.display_name}</td><td>{s.license}</td></tr>" for s in specs)
        text = (f"<h3>Protein Studio {__version__}</h3>"
                f"<p>Python {platform.python_version()} on {platform.system()} {platform.machine()}</p>"
                f"<p><b>Libraries</b></p><table>{rows}</table>"
                f"<p><b>Models</b> (weights are downloaded separately under these licences)</p>"
                f"<table>{models}</table>"
                f"<p>Model weights: {html.escape(str(_weights_folder()))}</p>")
        box = QMessageBox(QMessageBox.Information, "About Protein Studio", text, QMessageBox.Ok, self)
        box.setTextFormat(Qt.RichText)
        box.setAttribute(Qt.WA_DeleteOnClose)
        box.open()
        return box

    # drag and drop, layout, closing ----------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and all(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_files(paths)

    def restore_layout(self) -> None:
        """Window size, dock layout and recent files as saved by the last session."""
        geometry = self.settings.value("geometry")
        state = self.settings.value("state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self._fill_recent_menu()

    def save_layout(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())
        self.settings.sync()

    def ask_save_changes(self) -> QMessageBox.StandardButton:
        """The "Save the project?" question (Save / Discard / Cancel); tests replace it."""
        names = [s.document.name for s in self.session.states
                 if s.document.mutated_indices() or s.scan is not None or s.variants or s.results]
        text = (f"This project is not saved: {', '.join(names[:4])}{', ...' if len(names) > 4 else ''} "
                f"{'hold' if len(names) > 1 else 'holds'} edits, scans, variants or results.")
        return QMessageBox.question(self, "Save the project?", text + "\n\nSave it as a project file?",
                                    QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
                                    QMessageBox.Save)

    def maybe_save(self) -> bool:
        """Before closing: True when the window may close (everything is in a project file, saved now, or
        discarded). Tests and --screenshot close without a question (``confirm_close`` off)."""
        if not self.confirm_close:
            return True
        return self.projects.may_discard()

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.maybe_save():
            event.ignore()
            return
        self.projects.close()
        self.save_layout()
        self.worker.shutdown()
        self.viewer.close()
        super().closeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(1400, 900)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self.auto_warm_up and not self._warmed_up:
            self._warmed_up = True
            QTimer.singleShot(1500, self.warm_up)

    def warm_up(self) -> int | None:
        """Import torch and fair-esm on the worker once the window is up and idle.

        Initialising torch's C extension holds Python's global lock for ~0.2 s; done here, that pause
        falls on an idle window instead of on the user's first scan.
        """
        if "torch" in sys.modules or self.worker.busy:
            return None

        def run(ctx, loaded):
            import esm  # noqa: F401
            import torch  # noqa: F401

        return self.submit_job(Job("Load the model runtime (torch, fair-esm)", run, kind="warmup"))


def _weights_folder():
    from protein_studio.models.locations import weights_dir

    return weights_dir()
