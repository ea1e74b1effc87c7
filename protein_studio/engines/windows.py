"""Windows that keep every forward pass of a protein language model within its maximum length.

ESM-1b and ESM-1v have learned positional embeddings for at most 1024 tokens (``<cls>`` + 1022 residues +
``<eos>``), and ESM-2 was trained on crops of 1024 tokens. A longer protein is therefore scored in
windows of at most ``max_residues`` residues:

* a masked position is scored in a window centred on it (ProteinGym's convention), pushed inwards at the
  ends of the protein so that the window always has the full width;
* a wild-type (unmasked) pass uses overlapping tiles, and each position takes its log-probabilities from
  the tile in which it lies furthest from an edge (``assign_tiles``);
* several masked positions at once (a multi-mutant scored jointly) use a window centred on the middle of
  their span, which must fit in one window.

All indices are 0-based and windows are half-open ``(start, end)`` pairs. No torch here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from protein_studio.core.errors import InputError

__all__ = ["centred_window", "span_window", "tiles", "assign_tiles"]


def _check_width(max_residues: int | None) -> None:
    if max_residues is not None and max_residues < 1:
        raise ValueError(f"max_residues must be at least 1, not {max_residues}")


def centred_window(length: int, position: int, max_residues: int | None) -> tuple[int, int]:
    """The window of at most ``max_residues`` residues centred on ``position``.

    Parameters
    ----------
    length : int
        Length of the protein.
    position : int
        0-based index of the residue the window is centred on.
    max_residues : int or None
        Widest window the model accepts; ``None`` means no limit.

    Returns
    -------
    tuple of int
        ``(start, end)``, half-open, with ``start <= position < end``. The whole protein when it fits.
    """
    return span_window(length, position, position, max_residues)


def span_window(length: int, first: int, last: int, max_residues: int | None) -> tuple[int, int]:
    """The window of at most ``max_residues`` residues centred on the span ``first..last`` (inclusive).

    Raises
    ------
    InputError
        If the span is wider than ``max_residues`` (the positions cannot be seen in one pass).
    """
    _check_width(max_residues)
    if not 0 <= first <= last < length:
        raise ValueError(f"span {first}..{last} is outside a protein of {length} residues")
    if max_residues is None or length <= max_residues:
        return 0, length
    if last - first + 1 > max_residues:
        raise InputError(
            f"positions {first + 1} and {last + 1} are {last - first + 1} residues apart; the model sees at "
            f"most {max_residues} residues at once, so they cannot be masked together")
    centre = (first + last) // 2
    start = centre - max_residues // 2
    start = min(max(start, 0), length - max_residues)
    return start, start + max_residues


def tiles(length: int, max_residues: int | None) -> list[tuple[int, int]]:
    """Overlapping windows of ``max_residues`` residues covering a protein, each shifted by half a width.

    With a shift of half a window every residue more than a quarter of a window from either end of the
    protein lies at least a quarter of a window from the edge of some tile.

    Returns
    -------
    list of tuple of int
        Half-open ``(start, end)`` windows in order; one window when the protein fits.
    """
    _check_width(max_residues)
    if max_residues is None or length <= max_residues:
        return [(0, length)]
    stride = max(1, max_residues // 2)
    starts = list(range(0, length - max_residues, stride)) + [length - max_residues]
    return [(start, start + max_residues) for start in starts]


def assign_tiles(length: int, windows: Sequence[tuple[int, int]]) -> np.ndarray:
    """For every residue, the index of the window in which it is most central.

    "Most central" means the largest distance to the nearer edge of the window; ties go to the earlier
    window.

    Returns
    -------
    numpy.ndarray
        Integer array of shape ``(length,)``.

    Raises
    ------
    ValueError
        If some residue is in none of the windows.
    """
    best = np.full(length, -1, dtype=int)
    best_margin = np.full(length, -1, dtype=int)
    index = np.arange(length)
    for k, (start, end) in enumerate(windows):
        inside = (index >= start) & (index < end)
        margin = np.where(inside, np.minimum(index - start, end - 1 - index), -1)
        better = margin > best_margin
        best[better] = k
        best_margin[better] = margin[better]
    if (best < 0).any():
        missing = int(np.flatnonzero(best < 0)[0])
        raise ValueError(f"residue {missing + 1} is in none of the windows")
    return best
