"""A dialog that runs one job at a time on the window's worker: its progress bar, status line and Cancel.

The Generate Sequences and Redesign dialogs build on it; each makes its own settings, results and
``_on_finished``, and says which buttons are enabled in ``_update_buttons``.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QLabel, QProgressBar, QVBoxLayout

from protein_studio.gui.model_choice import RANDOM_COLOR

__all__ = ["WorkerJobDialog"]


class WorkerJobDialog(QDialog):
    """``job_id`` is the dialog's job in progress (None when idle); ``progress`` and ``status`` show it."""

    def __init__(self, window, idle_text: str):
        super().__init__(window)
        self.window = window
        self.job_id: int | None = None
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel(idle_text)
        self.status.setWordWrap(True)
        worker = window.worker
        worker.progress.connect(self._on_progress)
        worker.jobFinished.connect(self._finished)
        worker.jobFailed.connect(self._on_failed)
        worker.jobCancelled.connect(self._on_cancelled)

    def _arrange(self, form, run_row, table, actions, width: int, height: int) -> None:
        """Settings on top, then the run row and the status line, the results table, the actions below it."""
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(run_row)
        layout.addWidget(self.status)
        layout.addWidget(table, 1)
        layout.addLayout(actions)
        self.resize(width, height)

    def _update_buttons(self) -> None:  # overridden
        pass

    def _on_finished(self, result) -> None:  # overridden: the dialog's own job finished with ``result``
        pass

    def cancel(self) -> None:
        """Stop the job in progress."""
        if self.job_id is not None:
            self.window.worker.cancel(self.job_id)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {RANDOM_COLOR}" if error else "")

    def _started(self, job_id: int, text: str) -> int:
        self.job_id = job_id
        self.progress.setRange(0, 0)
        self._set_status(text)
        self._update_buttons()
        return job_id

    def _idle(self, value: int = 0) -> None:
        self.job_id = None
        self.progress.setRange(0, 1)
        self.progress.setValue(value)
        self._update_buttons()

    def _on_progress(self, job_id: int, done: float, total: float, text: str, _eta: float) -> None:
        if job_id != self.job_id:
            return
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * min(1.0, done / total)))
        if text:
            self._set_status(text)

    def _finished(self, job_id: int, result) -> None:
        if job_id == self.job_id:
            self._idle(1)
            self._on_finished(result)

    def _on_failed(self, job_id: int, message: str, _details: str) -> None:
        if job_id == self.job_id:
            self._idle()
            self._set_status(f"Failed: {message}", error=True)

    def _on_cancelled(self, job_id: int) -> None:
        if job_id == self.job_id:
            self._idle()
            self._set_status("Cancelled.")
