"""Reading PyTorch weight files without running code: ``torch.load(..., weights_only=True)`` with an
allow-list of the one class fair-esm checkpoints need (``argparse.Namespace``).
"""

from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from pathlib import Path

from protein_studio.core.errors import ModelUnavailableError

__all__ = ["safe_torch_load"]


def _safe_globals() -> list:
    """The allow-list: the only non-tensor class real fair-esm checkpoints contain."""
    import argparse

    return [argparse.Namespace]


def safe_torch_load(path: str | Path) -> dict:
    """Load a checkpoint without unpickling arbitrary objects.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict
        The checkpoint's contents on the CPU (memory-mapped when the file is in torch's zip format).

    Raises
    ------
    ModelUnavailableError
        The file holds an object outside the allow-list (it is refused before anything of it runs), or it
        is not a readable PyTorch checkpoint (truncated, another format).
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelUnavailableError(f"{path}: no such checkpoint file")
    try:
        with torch.serialization.safe_globals(_safe_globals()), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True,
                              mmap=zipfile.is_zipfile(path))
    except pickle.UnpicklingError as exc:
        message = str(exc)
        found = re.search(r"GLOBAL ([\w.]+)", message)
        if found:
            raise ModelUnavailableError(
                f"{path}: refused to load: the file contains a Python object ({found.group(1)}) outside "
                f"the safe list (tensors, numbers, strings, argparse.Namespace); loading it could run "
                f"code, so it was not loaded") from None
        if "weights only load failed" in message.lower():
            raise ModelUnavailableError(
                f"{path}: refused to load: the file uses pickle instructions outside the safe subset "
                f"torch.load(weights_only=True) accepts; loading it could run code, so it was not "
                f"loaded") from None
        raise ModelUnavailableError(f"{path}: not a readable PyTorch checkpoint "
                                    f"({message.splitlines()[0] if message else 'unpickling failed'})") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file fails in many ways inside the unpickler
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelUnavailableError(f"{path}: not a readable PyTorch checkpoint ({first})") from None
