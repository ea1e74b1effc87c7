"""Models ▸ Manage Models: every model the application knows, its weights on disk, and what to do about them.

One row per model: family, what it does (scoring, structure-aware scoring, folding, generation), size
(on disk when it is there, else the download), licence (with the optional extra it needs), and whether it is
on disk. Actions: Download (on the worker, with progress and Cancel), Import Checkpoint (a fair-esm ``.pt``)
and Import Folder (a Hugging Face snapshot), both checked before anything is copied and run off the GUI
thread; Reveal Folder; Remove; Copy Download Command (for a machine that is online). Every change emits
:attr:`ModelManager.modelsChanged`, which the window passes on to every model chooser.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel,
                               QMessageBox, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout)

from protein_studio.core.errors import UserError
from protein_studio.core.units import format_bytes, format_parameters
from protein_studio.gui.background import Cancelled, run_with_progress
from protein_studio.gui.model_choice import RANDOM_COLOR
from protein_studio.gui.file_dialogs import choose_folder, open_file
from protein_studio.gui.worker import Job
from protein_studio.models import locations, weights

__all__ = ["ModelManager", "model_state", "COLUMNS"]

COLUMNS = ("Model", "Family", "Does", "Parameters", "Size", "Memory to run", "Licence", "On disk")

_DOES = {"scoring": "scoring", "folding": "folding", "generation": "generation"}


def _does(spec) -> str:
    from protein_studio.models.registry import STRUCTURE_AWARE_FAMILIES

    if spec.family in STRUCTURE_AWARE_FAMILIES:
        return "structure-aware scoring"
    return _DOES.get(spec.task, spec.task)


def model_state(spec) -> str:
    """``on disk``, ``not on disk``, ``built on the fly`` (random weights), or what optional extra is missing."""
    from protein_studio.models import weights
    from protein_studio.models.registry import EXTRAS

    extra = ""
    if spec.family in EXTRAS:
        from protein_studio.core.molecules.structure_tokens import structure_extra_problem

        if structure_extra_problem():
            extra = f"; needs pip install \"protein-studio[{EXTRAS[spec.family][0]}]\""
    if spec.is_random:
        return "built on the fly" + extra
    return ("on disk" if weights.is_on_disk(spec) else "not on disk") + extra


def download_command(spec) -> str:
    """The command that fetches ``spec`` on a machine with internet (then ``models import`` it here)."""
    if spec.source == "huggingface" and spec.hub_id:
        return (f"huggingface-cli download {spec.hub_id} --local-dir {spec.name}  "
                f"# then here: protein-studio models import {spec.name}/")
    return f"protein-studio models download {spec.name}"


class ModelManager(QDialog):
    """The model manager window (non-modal); see the module notes."""

    modelsChanged = Signal()

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.setWindowTitle("Manage Models")
        self.setObjectName("modelManager")
        self.download_job: int | None = None
        self.download_name: str | None = None
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.folders = QLabel()
        self.folders.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.folders.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        for key, text, slot, tip in (
                ("download", "Download", self.download, "Download the selected model's weights (on the worker; "
                                                       "Cancel stops it)"),
                ("cancel", "Cancel Download", self.cancel_download, "Stop the download in progress"),
                ("import_file", "Import Checkpoint\u2026", self.import_checkpoint,
                 "Copy a fair-esm checkpoint (.pt) into the weights folder after checking it"),
                ("import_folder", "Import Folder\u2026", self.import_folder,
                 "Copy a Hugging Face snapshot folder (config.json and weights) after checking every tensor"),
                ("reveal", "Reveal Folder", self.reveal, "Open the folder the selected model's weights are in"),
                ("remove", "Remove", self.remove, "Delete the selected model's weights from this machine"),
                ("copy", "Copy Download Command", self.copy_command,
                 "Copy the command that downloads the selected model on a machine with internet")):
            button = QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, slot=slot: slot())
            self.buttons[key] = button
            row.addWidget(button)
        row.addStretch(1)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        row.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.folders)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(row)
        worker = window.worker
        worker.progress.connect(self._on_progress)
        worker.jobFinished.connect(lambda job_id, _result: self._on_ended(job_id, "Downloaded"))
        worker.jobFailed.connect(lambda job_id, message, _details: self._on_ended(job_id, "Failed", message))
        worker.jobCancelled.connect(lambda job_id: self._on_ended(job_id, "Cancelled"))
        self.resize(1180, 560)
        self.refresh()

    # contents --------------------------------------------------------------------------------
    def specs(self):
        from protein_studio.models.catalog import all_models

        return all_models()

    def refresh(self) -> None:
        """Rebuild the rows (the selection is kept by model name)."""
        from protein_studio.models.locations import hf_cache_dir, imported_root
        from protein_studio.models.registry import EXTRAS
        selected = self.selected_name()
        specs = self.specs()
        self.table.setRowCount(len(specs))
        for r, spec in enumerate(specs):
            on_disk = weights.bytes_on_disk(spec)
            size = (format_bytes(on_disk) if on_disk else "-" if spec.is_random or not spec.download_bytes
                    else f"download {format_bytes(spec.download_bytes)}")
            licence = spec.license
            tip = spec.description
            if spec.family in EXTRAS:
                extra, what = EXTRAS[spec.family]
                licence += f" + [{extra}] extra"
                tip += (f"\nThe [{extra}] extra adds {what}: mini3di, BSD-3-Clause (its 3Di encoder weights come "
                        f"from foldseek, GPL-3.0). Install: pip install \"protein-studio[{extra}]\"")
            label = spec.name + (" (RANDOM WEIGHTS)" if spec.is_random else "")
            memory = f"about {format_bytes(spec.memory_bytes)}" if spec.memory_bytes else "-"
            values = (label, spec.family, _does(spec), format_parameters(spec.parameters), size, memory,
                      licence, model_state(spec))
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setData(Qt.UserRole, spec.name)
                item.setToolTip(tip if c != 0 or not spec.is_random else f"{spec.display_name}\n{tip}")
                if spec.is_random:
                    item.setForeground(QColor(RANDOM_COLOR))
                self.table.setItem(r, c, item)
            if spec.name == selected:
                self.table.selectRow(r)
        self.folders.setText(f"fair-esm weights: {locations.weights_dir()}\n"
                             f"Imported Hugging Face models: {imported_root()}\nHugging Face cache: {hf_cache_dir()}")
        self._update_buttons()

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        return self.table.item(rows[0].row(), 0).data(Qt.UserRole)

    def select(self, name: str) -> bool:
        """Select the row of model ``name``."""
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.UserRole) == name:
                self.table.selectRow(r)
                return True
        return False

    def row_of(self, name: str) -> dict[str, str]:
        """The texts of model ``name``'s row, by column."""
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).data(Qt.UserRole) == name:
                return {column: self.table.item(r, c).text() for c, column in enumerate(COLUMNS)}
        raise KeyError(name)

    def _selected_spec(self):
        from protein_studio.models.catalog import get_spec

        name = self.selected_name()
        return None if name is None else get_spec(name)

    def _update_buttons(self) -> None:
        spec = self._selected_spec()
        downloading = self.download_job is not None
        real = spec is not None and not spec.is_random
        self.buttons["download"].setEnabled(real and not downloading and not weights.is_on_disk(spec)
                                            and (spec.source == "fair-esm" or bool(spec.hub_id)))
        self.buttons["cancel"].setEnabled(downloading)
        self.buttons["reveal"].setEnabled(real)
        self.buttons["remove"].setEnabled(real and weights.is_on_disk(spec))
        self.buttons["copy"].setEnabled(real)

    # actions ---------------------------------------------------------------------------------
    def download(self) -> int | None:
        """Download the selected model on the worker (progress below the table, Cancel Download stops it)."""
        spec = self._selected_spec()
        if spec is None or self.download_job is not None:
            return None

        def run(ctx, _loaded):
            return [str(p) for p in weights.download(spec, ctx)]

        job = Job(f"Download {spec.name}", run, kind="download")
        self.download_name = spec.name
        self.download_job = self.window.jobs.submit(job)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.status.setText(f"Downloading {spec.name}\u2026")
        self._update_buttons()
        return self.download_job

    def cancel_download(self) -> None:
        if self.download_job is not None:
            self.window.worker.cancel(self.download_job)

    def _on_progress(self, job_id: int, done: float, total: float, text: str, _eta: str) -> None:
        if job_id != self.download_job:
            return
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(done, total) / total))
            self.status.setText(f"{text}: {format_bytes(int(done))} of {format_bytes(int(total))}")

    def _on_ended(self, job_id: int, outcome: str, message: str = "") -> None:
        if job_id != self.download_job:
            return
        name, self.download_job, self.download_name = self.download_name, None, None
        self.progress.setVisible(False)
        self.status.setText(f"{outcome}: {name}" + (f" \u2014 {message}" if message else ""))
        self.refresh()
        self.modelsChanged.emit()

    def import_checkpoint(self, path: str | Path | None = None) -> bool:
        """Import Checkpoint: a fair-esm ``.pt`` file, checked (safe loader, architecture) and copied."""
        if path is None:
            path = open_file(self, "model", "Import a fair-esm checkpoint", "PyTorch checkpoints (*.pt);;All files (*)")
            if not path:
                return False
        return self._import(Path(path))

    def import_folder(self, path: str | Path | None = None) -> bool:
        """Import Folder: a Hugging Face snapshot folder, checked (configuration, tensor shapes) and copied."""
        if path is None:
            path = choose_folder(self, "model", "Import a Hugging Face model folder")
            if not path:
                return False
        return self._import(Path(path))

    def _import(self, path: Path) -> bool:
        try:
            written = run_with_progress(self, f"Importing {path.name}", lambda: weights.import_weights(path))
        except Cancelled:
            self.status.setText(f"Import of {path.name} cancelled")
            return False
        except UserError as exc:
            self.status.setText(f"Not imported: {exc}")
            self.window.show_error(f"Cannot import {path.name}", str(exc))
            return False
        self.status.setText(f"Imported {path.name}: " + ", ".join(str(p) for p in written))
        self.window.activity.add_entry(f"Imported model weights from {path}")
        self.refresh()
        self.modelsChanged.emit()
        return True

    def reveal(self) -> bool:
        spec = self._selected_spec()
        if spec is None:
            return False
        folder = weights.model_folder(spec)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def remove(self, ask: bool = True) -> bool:
        """Delete the selected model's weights (asks first)."""
        spec = self._selected_spec()
        if spec is None:
            return False
        size = format_bytes(weights.bytes_on_disk(spec))
        if ask and QMessageBox.question(self, "Remove model weights", f"Delete the weights of {spec.name} ({size}) "
                                        f"from this machine?") != QMessageBox.Yes:
            return False
        try:
            removed = weights.remove(spec.name)
        except UserError as exc:
            self.window.show_error(f"Cannot remove {spec.name}", str(exc))
            return False
        self.status.setText(f"Removed {spec.name}: {len(removed)} files")
        self.refresh()
        self.modelsChanged.emit()
        return True

    def copy_command(self) -> str:
        spec = self._selected_spec()
        if spec is None:
            return ""
        text = download_command(spec)
        QGuiApplication.clipboard().setText(text)
        self.status.setText(f"Copied: {text}")
        return text
