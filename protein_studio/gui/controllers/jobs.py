"""Work on the worker thread: every job the window starts goes through :meth:`JobController.submit`; its
progress shows in the Jobs and activity panel, a failure in a message (the window carries on), Run > Cancel
stops what runs and what waits. Once the window is up and idle, torch is imported on the worker, so that
pause does not fall on the user's first scan.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QObject

from protein_studio.gui.menus import add_action
from protein_studio.gui.worker import Job

__all__ = ["JobController"]


@dataclass
class _Submitted:
    job: Job
    finished: Callable | None = None
    failed: Callable | None = None
    cancelled: Callable | None = None


class JobController(QObject):
    """The window's jobs (``window.jobs``).

    A job's owner may pass ``finished(result)``, ``failed(message)`` and ``cancelled()`` callbacks to
    :meth:`submit`; each may return the text the activity panel ends the job with (default "Finished",
    "Failed", "Cancelled").
    """

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self._jobs: dict[int, _Submitted] = {}
        w = window.worker
        w.jobStarted.connect(window.activity.job_started)
        w.progress.connect(window.activity.job_progress)
        w.warning.connect(lambda job_id, text: window.activity.add_entry(f"Warning: {text}"))
        w.jobFinished.connect(self._on_finished)
        w.jobFailed.connect(self._on_failed)
        w.jobCancelled.connect(self._on_cancelled)
        w.modelChanged.connect(self._on_model_changed)
        window.activity.cancelRequested.connect(self.cancel_jobs)

    def add_run_actions(self, menu) -> None:
        self.cancel_action = add_action(self.window, menu, "&Cancel", self.cancel_jobs, "Ctrl+.",
                                        "Stop the running and queued jobs (a scan keeps the positions done)")

    def submit(self, job: Job, *, finished: Callable | None = None, failed: Callable | None = None,
               cancelled: Callable | None = None) -> int:
        """Run ``job`` on the worker; its progress, result or error show in the window."""
        self._jobs[job.id] = _Submitted(job, finished, failed, cancelled)
        return self.window.worker.submit(job)

    def cancel(self, job_id: int) -> None:
        self.window.worker.cancel(job_id)

    def cancel_jobs(self) -> None:
        """Run > Cancel: stop the running job and the queued ones."""
        self.window.worker.cancel()

    def _on_finished(self, job_id: int, result) -> None:
        entry = self._jobs.pop(job_id, None)
        text = entry.finished(result) if entry is not None and entry.finished is not None else None
        self.window.activity.job_ended(job_id, text or "Finished")

    def _on_failed(self, job_id: int, message: str, details: str) -> None:
        w = self.window
        entry = self._jobs.pop(job_id, None)
        if entry is not None and entry.failed is not None:
            entry.failed(message)
        w.activity.job_ended(job_id, "Failed", details=f"{message}\n\n{details}", error=True)
        w.show_error(f"{entry.job.title if entry else 'A job'} failed", message, details)
        w.jobFailed.emit(message)

    def _on_cancelled(self, job_id: int) -> None:
        entry = self._jobs.pop(job_id, None)
        text = entry.cancelled() if entry is not None and entry.cancelled is not None else None
        self.window.activity.job_ended(job_id, text or "Cancelled")

    def _on_model_changed(self, name: str) -> None:
        self.window.activity.add_entry(f"Model loaded: {name}" if name else "Model released")
        self.window.models.show_model()

    def warm_up(self) -> int | None:
        """Import torch and fair-esm on the worker once the window is up and idle.

        Initialising torch's C extension holds Python's global lock for ~0.2 s; done here, that pause
        falls on an idle window instead of on the user's first scan.
        """
        if "torch" in sys.modules or self.window.worker.busy:
            return None

        def run(ctx, loaded):
            import esm  # noqa: F401
            import torch  # noqa: F401

        return self.submit(Job("Load the model runtime (torch, fair-esm)", run, kind="warmup"))
