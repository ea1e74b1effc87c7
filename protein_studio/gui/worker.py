"""The one worker thread: owns the loaded models and runs queued jobs off the GUI thread.

A :class:`Job` is a description (title, the model it needs, and a plain function
``run(ctx, loaded) -> result`` that calls an engine). The :class:`Worker` thread takes jobs in order,
loads the model a job needs (keeping it for the next job and releasing it when another model is asked
for), and reports through Qt signals, which reach the GUI thread queued: progress with an estimate of
time left, partial results, warnings, the result, cancellation, or the error with its traceback.
"""

from __future__ import annotations

import itertools
import queue
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QThread, Signal

from protein_studio.core.errors import JobCancelled, UserError
from protein_studio.core.job_context import JobContext, cancellable

__all__ = ["Job", "Worker", "WorkerContext", "format_eta"]


def _leave_a_core_for_the_window() -> None:
    """Run torch's CPU work on the threads :func:`protein_studio.models.devices.default_threads` gives:
    one core fewer than there are (the GUI thread and the 3D viewer's software renderer need one; when
    torch's threads outnumber the free cores each forward pass takes several times longer, measured: 1.7 s
    -> 5-7 s for a 76-residue scan on 2 cores with one core busy), or what ``--threads`` chose."""
    torch = sys.modules.get("torch")
    if torch is None:
        return
    from protein_studio.models.devices import default_threads

    torch.set_num_threads(default_threads())


def _load_model_by_name(name: str, device: str) -> Any:
    """Any registry model (scoring, folding, generation); torch loads here, on the worker thread."""
    from protein_studio.models.loader import load_model

    return load_model(name, device)

_ids = itertools.count(1)
_orphans: set = set()  # workers whose thread outlived their window (see Worker.shutdown)


@dataclass
class Job:
    """What to run on the worker.

    Parameters
    ----------
    title : str
        Shown in the activity panel ("Scan with esm2_t33_650M_UR50D").
    run : callable(ctx, loaded) -> result
        Calls the engine; ``loaded`` is the :class:`~protein_studio.models.spec.LoadedModel` of ``model``
        (``None`` when no model is needed).
    model : str, optional
        Registry name of the model to load first.
    device : str
        ``auto``, ``cpu``, ``cuda`` or ``mps``.
    kind : str
        What the result is (``scan``, ``score``, ...), for whoever handles it.
    data : dict
        Anything the handler of the result needs back (e.g. the sequence that was scanned).
    """

    title: str
    run: Callable[[JobContext, Any], Any]
    model: str | None = None
    device: str = "auto"
    kind: str = "job"
    data: dict = field(default_factory=dict)
    id: int = field(default_factory=lambda: next(_ids))
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    ended: bool = field(default=False, repr=False)


def format_eta(seconds: float) -> str:
    """``"1 min 05 s left"``; empty when unknown."""
    if seconds is None or seconds < 0 or seconds != seconds:
        return ""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min left"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s left"
    return f"{seconds} s left"


class WorkerContext(JobContext):
    """A :class:`JobContext` whose reports become worker signals and whose reports also check for cancel.

    Checking in ``progress`` and ``partial`` makes a job stop at its next report even if its engine
    checks for cancellation rarely.
    """

    PROGRESS_INTERVAL = 0.05

    def __init__(self, worker: "Worker", job: Job):
        super().__init__(on_warning=lambda text: worker.warning.emit(job.id, text),
                         cancel_event=job.cancel_event)
        self._worker = worker
        self._job = job
        self._last_emit = 0.0

    def progress(self, done: float, total: float, text: str = "") -> None:
        self.check_cancelled()
        now = time.monotonic()
        if done < total and now - self._last_emit < self.PROGRESS_INTERVAL:
            return
        self._last_emit = now
        elapsed = now - self.started
        eta = elapsed * (total - done) / done if done > 0 and total > 0 else -1.0
        self._worker.progress.emit(self._job.id, float(done), float(total), text, float(eta))

    def partial(self, payload: Any) -> None:
        self.check_cancelled()
        self._worker.partial.emit(self._job.id, payload)


class Worker(QThread):
    """The single worker thread. Submit jobs with :meth:`submit`; stop it with :meth:`shutdown`.

    Signals
    -------
    jobStarted(job_id, title)
    progress(job_id, done, total, text, eta_seconds)  (eta is -1 when unknown)
    partial(job_id, payload)
    warning(job_id, text)
    jobFinished(job_id, result)
    jobFailed(job_id, message, details)
    jobCancelled(job_id)
    modelChanged(name)  (empty when released)
    """

    jobStarted = Signal(int, str)
    progress = Signal(int, float, float, str, float)
    partial = Signal(int, object)
    warning = Signal(int, str)
    jobFinished = Signal(int, object)
    jobFailed = Signal(int, str, str)
    jobCancelled = Signal(int)
    modelChanged = Signal(str)

    def __init__(self, loader: Callable[[str, str], Any] | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("protein-studio-worker")
        self._queue: queue.Queue = queue.Queue()
        self._jobs: dict[int, Job] = {}
        self._lock = threading.Lock()
        self._loader = loader or _load_model_by_name
        self._loaded: Any = None
        self._loaded_key: tuple[str, str] | None = None

    # called from the GUI thread -------------------------------------------------------------
    def submit(self, job: Job) -> int:
        """Queue ``job``; returns its id. Starts the thread on first use."""
        with self._lock:
            self._jobs[job.id] = job
        self._queue.put(job)
        if not self.isRunning():
            self.start()
        return job.id

    def cancel(self, job_id: int | None = None) -> None:
        """Cancel one job (running or queued), or every job when ``job_id`` is None.

        ``jobCancelled`` is emitted at once: the job's later results are dropped, while the engine stops
        at its next check (a running forward pass finishes in the background first).
        """
        with self._lock:
            jobs = list(self._jobs.values()) if job_id is None else [self._jobs.get(job_id)]
            ended = []
            for job in jobs:
                if job is not None and not job.ended:
                    job.cancel_event.set()
                    job.ended = True
                    ended.append(job.id)
        for ended_id in ended:
            self.jobCancelled.emit(ended_id)

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._jobs)

    @property
    def loaded_model(self) -> str | None:
        return self._loaded_key[0] if self._loaded_key else None

    def shutdown(self, wait_ms: int = 10000) -> bool:
        """Cancel everything, stop the thread and release the model; False if it is still busy.

        A thread still inside an engine step after ``wait_ms`` is left to finish on its own: the worker
        detaches from its parent and deletes itself when the thread ends (never destroyed while running).
        """
        self.cancel()
        self._queue.put(None)
        if self.isRunning() and not self.wait(wait_ms):
            _orphans.add(self)
            self.setParent(None)
            self.finished.connect(lambda: _orphans.discard(self))
            return False
        return True

    # the thread -----------------------------------------------------------------------------
    def run(self) -> None:  # noqa: D102 (QThread)
        while True:
            job = self._queue.get()
            if job is None:
                break
            try:
                self._run_job(job)
            finally:
                with self._lock:
                    self._jobs.pop(job.id, None)
        self._release()

    def _end(self, job: Job, signal, *args) -> None:
        """Emit the job's one terminal signal, unless :meth:`cancel` already ended it."""
        with self._lock:
            if job.ended:
                return
            job.ended = True
            signal.emit(job.id, *args)

    def _run_job(self, job: Job) -> None:
        with self._lock:
            if job.ended:  # cancelled while queued: already reported
                return
            self.jobStarted.emit(job.id, job.title)
        ctx = WorkerContext(self, job)
        try:
            loaded = None
            if job.model:
                loaded = self._model(job.model, job.device, ctx)
                ctx.check_cancelled()
                ctx.started = time.monotonic()  # the estimate covers the work, not the loading
            result = job.run(ctx, loaded)
        except JobCancelled:
            self._end(job, self.jobCancelled)
        except UserError as exc:
            self._end(job, self.jobFailed, str(exc), traceback.format_exc())
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the window
            # a job's SystemExit or KeyboardInterrupt ends that job, not the worker: it takes the next one
            self._end(job, self.jobFailed, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            if job.cancel_event.is_set():
                self._end(job, self.jobCancelled)
            else:
                self._end(job, self.jobFinished, result)

    def _model(self, name: str, device: str, ctx: WorkerContext) -> Any:
        key = (name, device)
        if self._loaded_key != key:
            self._release()
            ctx.progress(0, 1, f"Loading {name}")
            with cancellable(ctx, modules=True):  # Cancel stops the loading too, between its steps
                self._loaded = self._loader(name, device)
            self._loaded_key = key
            _leave_a_core_for_the_window()
            self.modelChanged.emit(name)
        return self._loaded

    def _release(self) -> None:
        if self._loaded_key is None:
            return
        # Dropping the last reference frees the weights. No gc.collect() here: a collection on this
        # thread could run the destructors of Qt objects that belong to the GUI thread.
        self._loaded = None
        self._loaded_key = None
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.modelChanged.emit("")

    def release_model(self) -> None:
        """Drop the loaded model before the next job (e.g. the user picked another device)."""
        self.submit(Job("Release the loaded model", lambda ctx, loaded: self._release(), kind="release"))
