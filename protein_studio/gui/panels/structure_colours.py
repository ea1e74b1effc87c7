"""Colours of the 3D view: AlphaFold's pLDDT bins, B-factors (blue-white-red between their 5th and 95th
percentiles), scan scores on the heatmap's diverging map, and the residue keys the viewer page uses."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.structures import Structure, structure_from_text
from protein_studio.gui.panels.heatmap import diverging_colors

__all__ = ["CONFIDENCE_BINS", "MISSING_COLOR", "REFERENCE_COLOR", "OVERLAY_COLOR", "residue_key", "residue_triple", "score_color", "confidence_color",
           "score_colors", "chain_confidence", "confidence_from_pdb", "bfactor_colors"]


#: AlphaFold's pLDDT colours: (lower bound, colour, legend label), highest first.
CONFIDENCE_BINS = (
    (90.0, "#0053D6", "Very high (> 90)"),
    (70.0, "#65CBF3", "Confident (70-90)"),
    (50.0, "#FFDB13", "Low (50-70)"),
    (-math.inf, "#FF7D45", "Very low (< 50)"),
)


#: Colour of residues without a value (no confidence, not scanned, NaN).
MISSING_COLOR = "#C8C8C8"


#: Colours of a comparison: the first (reference) structure and the one superposed on it.
REFERENCE_COLOR = "#3A78C2"


OVERLAY_COLOR = "#E8702A"


#: Part of the colour map used on each side of 0: its darkest ends read as black on a shaded cartoon.
SCORE_COLORMAP_SPAN = 0.4


#: The heatmap's diverging table (negative red, zero white, positive blue): scores look alike in both views.
_SCORE_TABLE = diverging_colors()


def score_color(relative: float) -> str:
    """``"#RRGGBB"`` of a score divided by the limit (clipped to -1..1)."""
    fraction = 0.5 + SCORE_COLORMAP_SPAN * max(-1.0, min(1.0, relative))
    red, green, blue = _SCORE_TABLE[round(fraction * (len(_SCORE_TABLE) - 1))]
    return f"#{red:02X}{green:02X}{blue:02X}"


def residue_triple(residue: Any) -> tuple[str, int, str]:
    """``(chain, number, insertion)`` of a ResidueId-like object or a tuple."""
    if isinstance(residue, tuple):
        chain, number, *rest = residue
        insertion = rest[0] if rest else ""
    else:
        chain, number, insertion = residue.chain, residue.number, residue.insertion
    return str(chain), int(number), str(insertion or "").strip()


def residue_key(residue: Any) -> str:
    """Key the page uses for a residue: ``"A:42"`` or ``"A:42A"`` (as ``str(ResidueId)``).

    Parameters
    ----------
    residue : ResidueId or tuple
        Object with ``chain``, ``number``, ``insertion`` or a ``(chain, number[, insertion])`` tuple.

    Returns
    -------
    str
    """
    chain, number, insertion = residue_triple(residue)
    return f"{chain}:{number}{insertion}"


def confidence_color(value: float) -> str:
    """AlphaFold colour of a confidence value on the 0-100 pLDDT scale (grey for NaN).

    Parameters
    ----------
    value : float

    Returns
    -------
    str
        ``"#RRGGBB"``.
    """
    if value is None or math.isnan(value):
        return MISSING_COLOR
    for lower, color, _ in CONFIDENCE_BINS:
        if value > lower:
            return color
    return CONFIDENCE_BINS[-1][1]


def score_colors(values: Mapping[Any, float], limit: float | None = None) -> tuple[dict[str, str], float]:
    """Colours of per-residue scores on a diverging map centred on 0.

    Parameters
    ----------
    values : mapping of ResidueId (or tuple) to float
        Scores; NaN values get :data:`MISSING_COLOR`.
    limit : float, optional
        Score shown at full colour on both sides (default: the largest absolute finite score).

    Returns
    -------
    colors : dict of str to str
        :func:`residue_key` -> ``"#RRGGBB"``.
    limit : float
        The limit used.
    """
    finite = [float(v) for v in values.values() if v is not None and math.isfinite(float(v))]
    if limit is None:
        limit = max((abs(v) for v in finite), default=0.0)
    limit = float(limit) if limit and math.isfinite(limit) and limit > 0 else 1.0
    colors = {}
    for residue, value in values.items():
        if value is None or not math.isfinite(float(value)):
            colors[residue_key(residue)] = MISSING_COLOR
        else:
            colors[residue_key(residue)] = score_color(float(value) / limit)
    return colors, limit


def chain_confidence(structure: Structure) -> dict[Any, float]:
    """Finite per-residue confidence or B-factor values of a structure's chains, by ResidueId."""
    return {residue: float(value) for chain in structure.chains
            for residue, value in zip(chain.residues, chain.confidence) if math.isfinite(float(value))}


def confidence_from_pdb(pdb_text: str) -> tuple[dict[Any, float], str | None]:
    """Per-residue values of a structure's B-factor column and what they are, as the core reader sees it.

    Parameters
    ----------
    pdb_text : str
        PDB file contents.

    Returns
    -------
    values : dict of ResidueId to float
        pLDDT on a 0-100 scale (0-1 files scaled up) or B-factors in square angstroms; empty when the
        file has none (all B-factors 0) or cannot be read.
    kind : {"plddt", "bfactor"} or None
        :attr:`~protein_studio.core.molecules.structures.Structure.confidence_kind`.
    """
    try:
        structure = structure_from_text(pdb_text, "pdb", name="viewer structure")
    except InputError:
        return {}, None
    return chain_confidence(structure), structure.confidence_kind


def bfactor_colors(values: Mapping[Any, float]) -> tuple[dict[str, str], tuple[float, float]]:
    """Blue (low, ordered) - white - red (high, mobile) colours of B-factors between their 5th and 95th
    percentiles (PyMOL's ``spectrum b, blue_white_red``).

    Returns
    -------
    colors : dict of str to str
        :func:`residue_key` -> ``"#RRGGBB"``.
    low, high : float
        The values drawn at full blue and full red.
    """
    finite = np.array([float(v) for v in values.values() if v is not None and math.isfinite(float(v))])
    if finite.size == 0:
        return {}, (0.0, 0.0)
    low, high = (float(x) for x in np.percentile(finite, [5, 95]))
    span = high - low if high > low else 1.0
    colors = {}
    for residue, value in values.items():
        if value is None or not math.isfinite(float(value)):
            colors[residue_key(residue)] = MISSING_COLOR
        else:
            t = min(max((float(value) - low) / span, 0.0), 1.0)
            colors[residue_key(residue)] = score_color(1.0 - 2.0 * t)  # the diverging map: +1 blue, -1 red
    return colors, (low, high)
