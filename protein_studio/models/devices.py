"""Where models run: device choice, a one-line description for the UI, and out-of-memory fall-back.

torch is imported inside the functions, never at module import.
"""

from __future__ import annotations

import os
from typing import Any, Callable, TypeVar

from protein_studio.core.errors import UserError

__all__ = ["available_cores", "default_threads", "apply_threads", "select_device", "device_description",
           "is_out_of_memory", "free_device_memory", "run_with_oom_fallback", "move_loaded_model"]

T = TypeVar("T")


THREADS_ENV = "PROTEIN_STUDIO_THREADS"


def available_cores() -> int:
    """CPU cores this process may run on (its affinity, which containers and job schedulers set)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads(workers: int = 1) -> int:
    """CPU threads for torch in each of ``workers`` processes: one core is left free, the rest shared.

    torch's OpenMP threads wait for each other at every operation; when they outnumber the cores that are
    free they spin instead of working (measured on 2 cores: a scan ran 5x slower beside one busy process
    than on one thread). Leaving a core to the window, the operating system or another program costs
    little on many cores and avoids that. ``$PROTEIN_STUDIO_THREADS`` (or ``--threads``) chooses instead.
    """
    for variable in (THREADS_ENV, "OMP_NUM_THREADS"):  # the user's choice, then OpenMP's own setting
        chosen = os.environ.get(variable, "").strip()
        if chosen.isdigit() and int(chosen) > 0:
            return max(1, int(chosen) // max(1, workers)) if variable == "OMP_NUM_THREADS" else int(chosen)
    return max(1, (available_cores() - 1) // max(1, workers))


def apply_threads(threads: int | None = None, workers: int = 1) -> int:
    """Make torch use ``threads`` (default :func:`default_threads`) CPU threads, now if torch is loaded and
    for when it loads (``OMP_NUM_THREADS``); returns the number."""
    import sys

    count = int(threads) if threads else default_threads(workers)
    os.environ[THREADS_ENV] = str(count)
    os.environ["OMP_NUM_THREADS"] = str(count)
    os.environ["MKL_NUM_THREADS"] = str(count)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(count)
    return count


def select_device(preference: str = "auto"):
    """The torch device to run on.

    Parameters
    ----------
    preference : str
        ``"auto"`` (CUDA, then Apple MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
        A ``torch.device`` is accepted too.

    Returns
    -------
    torch.device

    Raises
    ------
    UserError
        The requested device is not available on this machine, or the name is unknown.
    """
    import torch

    if isinstance(preference, torch.device):
        preference = str(preference)
    pref = (preference or "auto").strip().lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if pref == "cpu":
        return torch.device("cpu")
    if pref == "cuda" or pref.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UserError(f"device {preference!r} requested but no CUDA GPU is available "
                            f"(this torch build: {torch.__version__}); use --device cpu or auto")
        device = torch.device(pref)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"device {preference!r} requested but only {torch.cuda.device_count()} "
                            f"CUDA device(s) exist")
        return device
    if pref == "mps":
        if not _mps_available():
            raise UserError("device 'mps' requested but Apple MPS is not available; use cpu or auto")
        return torch.device("mps")
    raise UserError(f"unknown device {preference!r}; choose auto, cpu, cuda, cuda:N or mps")


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def device_description(device) -> str:
    """One line for the status bar, e.g. ``"GPU 0: NVIDIA H100 (79.1 GB)"`` or ``"CPU (16 threads)"``."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return f"GPU {index}: {props.name} ({props.total_memory / 1e9:.1f} GB)"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a GPU (CUDA or MPS) out-of-memory error."""
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def free_device_memory(device) -> None:
    """Return cached blocks to the driver after an out-of-memory error."""
    import torch

    kind = torch.device(device).type
    if kind == "cuda":
        torch.cuda.empty_cache()
    elif kind == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()


def run_with_oom_fallback(fn: Callable[[int, Any], T], batch_size: int, device, ctx) -> T:
    """Run ``fn(batch_size, device)``, halving the batch and finally moving to the CPU on out of memory.

    Parameters
    ----------
    fn : callable(batch_size, device) -> result
        Does the work. It must put what it needs on ``device`` itself (see :func:`move_loaded_model`)
        and may be called again after it failed, so it should not leave half-done state behind
        (results already handed to ``ctx.partial`` stay valid).
    batch_size : int
        First batch size to try (at least 1).
    device : torch.device or str
        Device of the first attempt.
    ctx : JobContext
        ``ctx.warn`` is told about every fall-back.

    Returns
    -------
    Whatever ``fn`` returns.

    Notes
    -----
    Out of memory on a GPU halves the batch size down to 1; out of memory with batch size 1 runs the
    remaining work on the CPU with the original batch size. Errors other than out of memory, and
    out-of-memory errors on the CPU, propagate unchanged.
    """
    import torch

    device = torch.device(device)
    size = max(1, int(batch_size))
    while True:
        try:
            return fn(size, device)
        except Exception as exc:  # noqa: BLE001 - only out-of-memory errors are handled
            if device.type == "cpu" or not is_out_of_memory(exc):
                raise
            free_device_memory(device)
            if size > 1:
                new_size = max(1, size // 2)
                ctx.warn(f"out of memory on {device} with batch size {size}; "
                         f"retrying with batch size {new_size}")
                size = new_size
            else:
                ctx.warn(f"out of memory on {device} even with batch size 1; "
                         f"continuing on the CPU (slower)")
                device = torch.device("cpu")
                size = max(1, int(batch_size))


def move_loaded_model(loaded, device) -> None:
    """Move a :class:`~protein_studio.models.spec.LoadedModel` to ``device`` in place.

    On the CPU a half-precision model becomes float32 (float16 matrix products are slow or missing on
    CPUs); ``loaded.device`` and ``loaded.dtype`` are updated.
    """
    import torch

    device = torch.device(device)
    dtype = loaded.dtype
    if device.type == "cpu" and dtype in (torch.float16, torch.bfloat16):
        dtype = torch.float32
    loaded.model.to(device=device, dtype=dtype)
    loaded.device = device
    loaded.dtype = dtype


#: ``precision`` values accepted by :func:`load_esm`
PRECISIONS = ("auto", "float32", "float16", "bfloat16")


def choose_dtype(device, precision: str):
    """The parameter dtype for ``precision`` on ``device``: ``auto`` is float16 on a CUDA GPU, float32
    elsewhere; float16 is refused on the CPU."""
    import torch

    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        # float16 halves memory and is several times faster on CUDA GPUs; ESM inference is stable in it
        # (fair-esm's ESMFold runs its ESM-2 trunk in float16). CPU and MPS stay in float32.
        return torch.float16 if device.type == "cuda" else torch.float32
    dtype = getattr(torch, precision)
    if device.type == "cpu" and dtype == torch.float16:
        raise UserError("float16 is not supported on the CPU; use float32 or bfloat16")
    return dtype
