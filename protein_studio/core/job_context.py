"""The context an engine function reports through (progress, partial results, warnings, cancellation).

Engines are plain functions ``f(inputs, model, ctx) -> result``. They call ``ctx.progress`` as work
completes, ``ctx.partial`` with results that are already final (a scan's finished positions), ``ctx.warn``
for things the user must see (fell back to CPU), and ``ctx.check_cancelled()`` between steps, which raises
:class:`~protein_studio.core.errors.JobCancelled`. The GUI worker and the command line each provide their
own callbacks; tests use :class:`JobContext` with plain lists.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

from protein_studio.core.errors import JobCancelled

__all__ = ["JobContext", "NullContext", "cancellable", "cancel_point"]


class JobContext:
    """Progress, partial results and cancellation for one job.

    Parameters
    ----------
    on_progress : callable(done, total, text), optional
    on_partial : callable(payload), optional
    on_warning : callable(text), optional
    cancel_event : threading.Event, optional
        Set it (from any thread) to cancel the job.
    """

    def __init__(self, on_progress: Callable[[float, float, str], None] | None = None,
                 on_partial: Callable[[Any], None] | None = None,
                 on_warning: Callable[[str], None] | None = None,
                 cancel_event: threading.Event | None = None):
        self._on_progress = on_progress
        self._on_partial = on_partial
        self._on_warning = on_warning
        self.cancel_event = cancel_event if cancel_event is not None else threading.Event()
        self.warnings: list[str] = []
        self.started = time.monotonic()

    # reporting -----------------------------------------------------------------------------
    def progress(self, done: float, total: float, text: str = "") -> None:
        """Report that ``done`` of ``total`` units are finished."""
        if self._on_progress is not None:
            self._on_progress(done, total, text)

    def partial(self, payload: Any) -> None:
        """Hand out a result that is already final (e.g. the scores of finished positions)."""
        if self._on_partial is not None:
            self._on_partial(payload)

    def warn(self, text: str) -> None:
        """Something the user must see, such as a fall-back from GPU to CPU."""
        self.warnings.append(text)
        if self._on_warning is not None:
            self._on_warning(text)

    # cancellation --------------------------------------------------------------------------
    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def is_cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if the job was cancelled."""
        if self.cancel_event.is_set():
            raise JobCancelled("cancelled")


class NullContext(JobContext):
    """A context that reports nowhere and is never cancelled (scripts, tests)."""


_current: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar("current_job", default=None)


@contextlib.contextmanager
def cancellable(ctx: JobContext, modules: bool = False) -> Iterator[None]:
    """Within the block (on this thread), :func:`cancel_point` raises when ``ctx`` is cancelled.

    With ``modules`` (it imports torch), so does the registration of every submodule of a torch model
    being built: loading a model, which takes seconds in code that knows nothing of jobs (fair-esm's and
    transformers' constructors), stops within a layer of the Cancel.
    """
    token = _current.set(ctx)
    hook = None
    if modules:
        import torch

        hook = torch.nn.modules.module.register_module_module_registration_hook(_on_submodule)
    try:
        yield
    finally:
        if hook is not None:
            hook.remove()
        _current.reset(token)


def cancel_point() -> None:
    """Raise :class:`JobCancelled` when the job this thread runs under :func:`cancellable` was cancelled;
    nothing otherwise (outside a job it costs a lookup)."""
    ctx = _current.get()
    if ctx is not None:
        ctx.check_cancelled()


def _on_submodule(module, name, submodule):  # torch's global hook: other threads see no context of theirs
    cancel_point()
