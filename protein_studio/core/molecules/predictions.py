"""Predicted structures from AlphaFold DB and ColabFold: how they are recognised, and their predicted
aligned error (PAE).

A structure's B-factor column is read as pLDDT only with evidence: a predictor's header or ModelCIF quality
metrics (see :mod:`protein_studio.core.molecules.structures`), a predictor's file naming (AlphaFold DB's
``AF-<accession>-F1-model_v4``, ColabFold's ``<name>_unrelaxed_rank_001_<model>``, AlphaFold's
``ranked_0``), or the predictor's scores file beside it. The PAE comes from that scores file:

* AlphaFold DB, ``AF-<accession>-F1-predicted_aligned_error_v4.json``: a one-element list holding
  ``{"predicted_aligned_error": [[...]], "max_predicted_aligned_error": 31.75}`` (the format of the
  database's version 3 and later); version 1 and 2 files list ``residue1``, ``residue2`` and
  ``distance`` instead, which are read too.
* ColabFold, ``<name>_scores_rank_001_<model>.json`` beside ``<name>_unrelaxed_rank_001_<model>.pdb``:
  ``{"plddt": [...], "pae": [[...]], "max_pae": 31.75, "ptm": 0.8}``.

The matrix is N x N for the N residues of the model (all chains in file order); entry (i, j) is the expected
position error, in angstroms, at residue j when the prediction is aligned on residue i.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from protein_studio.core.errors import InputError

__all__ = ["PredictedAlignedError", "evidence_from_name", "pae_file_beside", "read_pae", "parse_pae", "MAX_PAE_RESIDUES"]

#: Largest PAE matrix read (residues per side): 5,000 residues are 25 million values, about 200 MB as floats.
MAX_PAE_RESIDUES = 5000

_NAME_PATTERNS = (
    (re.compile(r"^AF-[A-Z0-9]+-F\d+-model_v\d+$", re.I), "AlphaFold DB file name (AF-...-model_v*)"),
    (re.compile(r"_(un)?relaxed_rank_\d+", re.I), "ColabFold file name (*_unrelaxed_rank_*)"),
    (re.compile(r"^(ranked|(un)?relaxed_model)_\d+", re.I), "AlphaFold file name (ranked_*, *_model_*)"),
)


@dataclass(frozen=True)
class PredictedAlignedError:
    """A prediction's PAE: ``matrix`` (N x N, angstroms), its largest possible value, pTM when the file
    gives it, and the file it came from."""

    matrix: np.ndarray
    max_value: float
    source: str
    ptm: float | None = None


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz",):
        name = name.removesuffix(suffix)
    return Path(name).stem


def evidence_from_name(path: str | Path) -> str | None:
    """Why a file's name says it is a prediction (None when it says nothing): AlphaFold DB's, ColabFold's
    or AlphaFold's naming, or the predictor's scores file beside it."""
    path = Path(path)
    stem = _stem(path)
    for pattern, evidence in _NAME_PATTERNS:
        if pattern.search(stem):
            return evidence
    beside = pae_file_beside(path)
    if beside is not None:
        return f"the predictor's scores file beside it ({beside.name})"
    return None


def pae_file_beside(path: str | Path) -> Path | None:
    """The PAE (scores) file a predictor writes beside ``path``, when it is there."""
    path = Path(path)
    stem = _stem(path)
    candidates = []
    found = re.match(r"^(AF-[A-Za-z0-9]+-F\d+)-model_(v\d+)$", stem)
    if found:
        candidates.append(f"{found.group(1)}-predicted_aligned_error_{found.group(2)}.json")
    if re.search(r"_(un)?relaxed_rank_", stem):
        candidates.append(re.sub(r"_(un)?relaxed_rank_", "_scores_rank_", stem) + ".json")
    candidates.append(f"{stem}_pae.json")
    candidates.append(f"{stem}.pae.json")
    for name in candidates:
        candidate = path.with_name(name)
        if candidate.is_file():
            return candidate
    return None


def _matrix(values, source: str) -> np.ndarray:
    try:
        matrix = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError("the PAE is not a table of numbers", source=source) from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise InputError(f"the PAE must be a square table, not of shape {list(matrix.shape)}", source=source)
    if not np.isfinite(matrix).all() or matrix.min() < 0:
        raise InputError("the PAE holds values that are negative or not numbers", source=source)
    return matrix


def parse_pae(text: str, source: str = "PAE file") -> PredictedAlignedError:
    """Read the PAE of an AlphaFold DB or ColabFold scores file (see the module notes).

    Raises
    ------
    InputError
        Not JSON, none of the known layouts, a matrix that is not square, too large, or not of numbers.
    """
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"not a JSON file ({exc})", source=source) from None
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
        data = data[0]  # AlphaFold DB wraps its record in a list
    if not isinstance(data, dict):
        raise InputError("no PAE in this file (expected AlphaFold DB's or ColabFold's layout)", source=source)
    ptm = data.get("ptm")
    ptm = float(ptm) if isinstance(ptm, (int, float)) else None
    if "predicted_aligned_error" in data or "pae" in data:
        values = data.get("predicted_aligned_error", data.get("pae"))
        if isinstance(values, list) and len(values) > MAX_PAE_RESIDUES:
            raise InputError(f"the PAE covers {len(values):,} residues, more than {MAX_PAE_RESIDUES:,}", source=source)
        matrix = _matrix(values, source)
        largest = data.get("max_predicted_aligned_error", data.get("max_pae"))
    elif {"residue1", "residue2", "distance"} <= set(data):
        first, second, distance = (np.asarray(data[k]) for k in ("residue1", "residue2", "distance"))
        if not (first.shape == second.shape == distance.shape) or first.ndim != 1 or first.size == 0:
            raise InputError("residue1, residue2 and distance must be lists of one length", source=source)
        n = int(max(first.max(), second.max()))
        if n > MAX_PAE_RESIDUES or first.min() < 1 or second.min() < 1 or first.size != n * n:
            raise InputError(f"residue1/residue2 do not cover an N x N table of at most {MAX_PAE_RESIDUES:,} "
                             f"residues", source=source)
        matrix = np.full((n, n), np.nan)
        matrix[first.astype(int) - 1, second.astype(int) - 1] = distance.astype(float)
        matrix = _matrix(matrix, source)
        largest = data.get("max_predicted_aligned_error")
    else:
        raise InputError("no PAE in this file: expected 'predicted_aligned_error' (AlphaFold DB) or 'pae' "
                         "(ColabFold)", source=source)
    largest = float(largest) if isinstance(largest, (int, float)) and largest > 0 else float(matrix.max())
    return PredictedAlignedError(matrix, largest, source, ptm)


def read_pae(path: str | Path) -> PredictedAlignedError:
    """:func:`parse_pae` of a file (read with the input size limits of every reader)."""
    from protein_studio.core.files import read_input_text

    path = Path(path)
    return parse_pae(read_input_text(path, "a PAE file (JSON)"), source=path.name)
