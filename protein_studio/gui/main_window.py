"""The Protein Studio main window: the panels in their docks, the menus, and the controllers that connect
them to the session.

Data flows one way: a menu action builds a :class:`~protein_studio.gui.worker.Job`, the worker runs the
engine, its signals arrive on the GUI thread and update the
:class:`~protein_studio.core.documents.session.Session`, whose events make the views redraw. Selections go
through the one :class:`~protein_studio.core.documents.selection.SelectionMediator`; structure residues cross
into sequence positions only through the document's numbering map.

The window itself only composes: each concern is a controller of :mod:`protein_studio.gui.controllers`
(``window.documents``, ``edits``, ``numbering``, ``view``, ``variants``, ``scans``, ``jobs``, ``models``,
``exports``, ``projects``, ``design_tools``, ``help``) that owns its menu actions.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QComboBox, QDockWidget, QHBoxLayout, QLabel, QMainWindow, QMessageBox, QScrollArea,
                               QVBoxLayout, QWidget)

from protein_studio.core.documents.selection import SelectionMediator
from protein_studio.core.documents.session import Session
from protein_studio.gui.controllers.design import DesignTools
from protein_studio.gui.controllers.documents import DEMO_FILES, DocumentController
from protein_studio.gui.controllers.edits import EditController
from protein_studio.gui.controllers.exports import ExportController
from protein_studio.gui.controllers.help import HelpController
from protein_studio.gui.controllers.jobs import JobController
from protein_studio.gui.controllers.models import ModelController
from protein_studio.gui.controllers.numbering import NumberingController
from protein_studio.gui.controllers.projects import ProjectController
from protein_studio.gui.controllers.scans import ScanController
from protein_studio.gui.controllers.variants import VariantController
from protein_studio.gui.controllers.view import ViewController
from protein_studio.gui.controllers.learning import LearningController
from protein_studio.gui.file_dialogs import window_settings, window_settings_notice
from protein_studio.gui.menus import add_action
from protein_studio.gui.panels.activity_panel import ActivityPanel
from protein_studio.gui.panels.document_list import DocumentList
from protein_studio.gui.panels.heatmap import HeatmapView
from protein_studio.gui.panels.measurements_panel import MeasurementsPanel
from protein_studio.gui.panels.pae_view import PaeView
from protein_studio.gui.panels.ranked_table import RankedTable
from protein_studio.gui.panels.sequence_editor import SequenceEditor
from protein_studio.gui.panels.structure_viewer import StructureViewer
from protein_studio.gui.panels.variant_list import VariantList
from protein_studio.gui.worker import Worker

__all__ = ["MainWindow"]


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
    modelsChanged()
        Weights were downloaded, imported or removed (the model choosers refresh).
    """

    documentOpened = Signal()
    scanFinished = Signal(bool)
    jobFailed = Signal(str)
    modelsChanged = Signal()

    def __init__(self, files=None, open_demo: bool = True, worker: Worker | None = None):
        super().__init__()
        from protein_studio.core.storage.settings import load_settings_or_set_aside

        self.setWindowTitle("Protein Studio")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.session = Session()
        self.mediator = SelectionMediator()
        self.worker = worker or Worker()
        self.worker.setParent(self)
        self.settings = window_settings()
        # a settings file that cannot be used is moved aside with a message: the window always starts
        self.user_settings, self.settings_notice = load_settings_or_set_aside()
        layout_notice = window_settings_notice()
        if layout_notice:
            self.settings_notice = "; ".join(filter(None, [self.settings_notice, layout_notice]))
        self.last_error: tuple[str, str] | None = None
        self.message_box: QMessageBox | None = None
        #: ask "Save changes?" when the window closes with unsaved edits; only the interactive
        #: application turns it on (tests and --screenshot close windows without a prompt)
        self.confirm_close = False
        self._warmed_up = False
        self.auto_warm_up = True  # import torch on the worker shortly after the window first shows

        self._build_panels()
        self._build_docks()
        # the order matters where several listen to one event: the document is shown before its view
        self.jobs = JobController(self)
        self.documents = DocumentController(self)
        self.edits = EditController(self)
        self.numbering = NumberingController(self)
        self.view = ViewController(self)
        self.models = ModelController(self)
        self.exports = ExportController(self)
        self.variants = VariantController(self)
        self.scans = ScanController(self)
        self.help = HelpController(self)
        self.projects = ProjectController(self)
        self.measurements = MeasurementsPanel(self)
        # scrolled: its fit settings must not make the window taller than a laptop screen
        scroller = QScrollArea()
        scroller.setWidget(self.measurements)
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QScrollArea.NoFrame)
        self.measurements_dock = self._dock("Measurements", "measurements", scroller, Qt.RightDockWidgetArea)
        self.learning = LearningController(self)
        self.tabifyDockWidget(self.viewer_dock, self.measurements_dock)
        self.pae_dock = self._dock("Predicted Aligned Error", "pae", self.pae_view, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.viewer_dock, self.pae_dock)
        self.viewer_dock.raise_()
        self.design_tools = DesignTools(self)
        self._build_menus()
        self.models.choose_default_model()
        self.restore_layout()

        if self.settings_notice:
            self.activity.add_entry(f"Settings: {self.settings_notice}")
            self.statusBar().showMessage(f"Settings: {self.settings_notice}", 15000)
        self.documents.refresh_document()
        paths = [Path(p) for p in (files or [])]
        if paths:
            self.documents.open_files(paths)
        elif open_demo:
            self.documents.open_files(list(DEMO_FILES), remember=False)

    # construction ----------------------------------------------------------------------------
    def _build_panels(self) -> None:
        self.editor = SequenceEditor()
        self.heatmap = HeatmapView()
        self.viewer = StructureViewer()
        self.variant_list = VariantList()
        self.ranked = RankedTable()
        self.activity = ActivityPanel()
        self.document_list = DocumentList()
        self.pae_view = PaeView()
        self.scan_title = QLabel()
        self.scan_title.setWordWrap(True)
        # every scan of the document is kept: the one shown is chosen here (Run > Compare Scans compares two)
        self.scan_choice = QComboBox()
        self.scan_choice.setToolTip("Which of the document's scans the heatmap, the ranked table and the 3D colours "
                                    "show (each named by its model, strategy, precision and date)")
        self.scan_choice.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.scan_choice.setMinimumContentsLength(30)
        scan_row = QHBoxLayout()
        scan_row.addWidget(QLabel("Scan"))
        scan_row.addWidget(self.scan_choice, 1)
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(scan_row)
        layout.addWidget(self.scan_title)
        layout.addWidget(self.heatmap, 1)
        self.setCentralWidget(centre)
        self.doc_label = QLabel()
        self.selection_label = QLabel()
        self.model_label = QLabel()
        self.numbering_label = QLabel()
        self.numbering_label.setToolTip("The numbering every label, mutation and export uses (View \u25b8 Numbering)")
        for label in (self.doc_label, self.selection_label, self.model_label, self.numbering_label):
            label.setTextFormat(Qt.PlainText)  # names from files are shown as text, never as HTML
        self.scan_title.setTextFormat(Qt.RichText)  # built from escaped names (see ScanController.redraw_scan)
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
        self.variants_dock = self._dock("Variants", "variants", self.variant_list, Qt.LeftDockWidgetArea)
        self.ranked_dock = self._dock("Ranked substitutions", "ranked", self.ranked, Qt.LeftDockWidgetArea)
        self.activity_dock = self._dock("Jobs and activity", "activity", self.activity, Qt.BottomDockWidgetArea)
        self.documents_dock = self._dock("Documents", "documents", self.document_list, Qt.LeftDockWidgetArea)
        self.splitDockWidget(self.variants_dock, self.ranked_dock, Qt.Vertical)
        self.tabifyDockWidget(self.variants_dock, self.documents_dock)  # a tab beside Variants, above the table
        self.variants_dock.raise_()
        self.resize(1400, 900)
        self.resizeDocks([self.viewer_dock], [480], Qt.Horizontal)
        self.resizeDocks([self.variants_dock], [300], Qt.Horizontal)
        self.resizeDocks([self.editor_dock, self.activity_dock], [140, 130], Qt.Vertical)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.projects.add_file_actions(file_menu)
        file_menu.addSeparator()
        self.documents.add_file_actions(file_menu)
        file_menu.addSeparator()
        self.import_measurements_action = add_action(
            self, file_menu, "Import &Measurements\u2026", self.import_measurements, None,
            "Import a DMS or assay table onto this document: scatter, metrics, measured heatmap, learning")
        file_menu.addSeparator()
        self.exports.add_file_actions(file_menu)
        self.design_tools.add_file_actions(file_menu)
        file_menu.addSeparator()
        add_action(self, file_menu, "&Quit", self.close, QKeySequence.Quit,
                   "Close Protein Studio (asks first about unsaved work)")

        edit = bar.addMenu("&Edit")
        self.edits.add_edit_actions(edit)
        edit.addSeparator()
        self.learning.add_edit_actions(edit)

        run = bar.addMenu("&Run")
        self.scans.add_run_actions(run)
        self.variants.add_run_actions(run)
        run.addSeparator()
        self.learning.add_run_actions(run)
        run.addSeparator()
        self.design_tools.add_run_actions(run)
        run.addSeparator()
        self.scans.add_scan_actions(run)
        run.addSeparator()
        self.jobs.add_run_actions(run)
        self.scans.add_strategy_menu(run)

        self.models.install_menu(bar.addMenu("&Models"))

        view = bar.addMenu("&View")
        self.numbering.add_view_actions(view)
        self.documents.add_view_actions(view)
        self.view.add_view_actions(view)
        view.addSeparator()
        for dock in (self.editor_dock, self.viewer_dock, self.variants_dock, self.ranked_dock, self.activity_dock,
                     self.documents_dock, self.measurements_dock, self.pae_dock, self.design_tools.track_dock):
            toggle = dock.toggleViewAction()
            toggle.setStatusTip(f"Show or hide the {dock.windowTitle()} panel")
            view.addAction(toggle)

        self.help.add_help_actions(bar.addMenu("&Help"))

    def import_measurements(self) -> bool:
        """File > Import Measurements (the Measurements panel comes forward)."""
        self.measurements_dock.show()
        self.measurements_dock.raise_()
        return self.measurements.import_dialog()

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

    # drag and drop, layout, closing ----------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and all(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.documents.handle_drop(paths)

    def restore_layout(self) -> None:
        """Window size and dock layout as saved by the last session."""
        geometry = self.settings.value("geometry")
        state = self.settings.value("state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def save_layout(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("state", self.saveState())
        self.settings.sync()

    def ask_save_changes(self) -> QMessageBox.StandardButton:
        """The "Save the project?" question (Save / Discard / Cancel); tests replace it."""
        names = [s.document.name for s in self.session.states if s.has_work]
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
            QTimer.singleShot(1500, self.jobs.warm_up)
