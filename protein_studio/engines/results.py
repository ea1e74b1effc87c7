"""What scoring returns: scan chunks and scans, mutant scores and pseudo-log-likelihoods (plain data, no torch).

Shared by :mod:`protein_studio.engines.scoring` (language models) and
:mod:`protein_studio.engines.inverse_folding` (ProteinMPNN), so every scan and score looks the same to the
window, the command line, exports and projects whatever model made it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from protein_studio.core.molecules.sequences import AMINO_ACIDS

__all__ = ["ScanChunk", "ScanResult", "MutantScores", "PseudoLikelihood"]


@dataclass(frozen=True)
class ScanChunk:
    """Rows of a saturation scan that are final, handed out through ``ctx.partial`` as positions finish.

    Attributes
    ----------
    strategy : str
        ``"wt-marginals"`` or ``"masked-marginals"``. A scan asked for a wild-type preview first sends
        ``"wt-marginals"`` chunks for every position, then ``"masked-marginals"`` chunks that replace them.
    positions : numpy.ndarray
        0-based indices of the finished positions, shape ``(n,)``.
    scores_rows : numpy.ndarray
        Their scores, shape ``(n, 20)``, columns in ``AMINO_ACIDS`` order, the wild-type cell 0.
    wt_logp : numpy.ndarray
        Log-probability of the wild-type residue at each of those positions, shape ``(n,)``.
    model : str
        Name of the model.
    """

    strategy: str
    positions: np.ndarray
    scores_rows: np.ndarray
    wt_logp: np.ndarray
    model: str = ""


def _substitution_mean(scores: np.ndarray, sequence: str) -> np.ndarray:
    values = np.array(scores, dtype=float, copy=True)
    for i, residue in enumerate(sequence):
        column = AMINO_ACIDS.find(residue)
        if column >= 0:
            values[i, column] = np.nan
    with np.errstate(all="ignore"):
        finite = np.isfinite(values)
        counts = finite.sum(axis=1)
        sums = np.where(finite, values, 0.0).sum(axis=1)
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


@dataclass
class ScanResult:
    """A saturation scan: every substitution at every scanned position.

    Attributes
    ----------
    sequence : str
        The wild-type sequence.
    scores : numpy.ndarray
        ``(L, 20)`` scores, columns in ``AMINO_ACIDS`` order; the wild-type cell is 0 and rows that were
        not scanned are NaN.
    log_probs : numpy.ndarray
        ``(L, 20)`` log-probabilities of each amino acid at each scanned position (NaN elsewhere). For an
        ensemble, the mean over the models.
    wt_logp : numpy.ndarray
        ``(L,)`` log-probability of the wild-type residue (NaN where not scanned).
    positions_done : numpy.ndarray
        Sorted 0-based indices of the scanned positions.
    model : str
        Model name (``"ensemble(a+b)"`` for an ensemble).
    strategy : str
        ``"masked-marginals"`` or ``"wt-marginals"``.
    per_model : dict of str to numpy.ndarray
        For an ensemble, each model's own ``(L, 20)`` scores (raw, not standardised); empty otherwise.
    standardised : bool
        Whether ``scores`` averages per-model standardised scores.
    """

    sequence: str
    scores: np.ndarray
    log_probs: np.ndarray
    wt_logp: np.ndarray
    positions_done: np.ndarray
    model: str
    strategy: str
    per_model: dict[str, np.ndarray] = field(default_factory=dict)
    standardised: bool = False
    #: where the numbers came from (:func:`result_provenance`)
    provenance: dict = field(default_factory=dict)

    @property
    def summary(self) -> np.ndarray:
        """Per-position summary: the mean score of the 19 substitutions (NaN where not scanned)."""
        return _substitution_mean(self.scores, self.sequence)

    def rows(self, labels: Sequence[str] | None = None, first_residue: int = 1
             ) -> Iterator[tuple[str, str, str, str, float]]:
        """One ``(mutant, position, wt, mt, score)`` tuple per substitution at each scanned position.

        Parameters
        ----------
        labels : sequence of str, optional
            Residue label of every position (e.g. structure numbers such as ``"42A"``); by default
            ``first_residue + index``.
        first_residue : int
            Number of the first residue when ``labels`` is not given.
        """
        for i in self.positions_done:
            wt = self.sequence[i]
            label = labels[i] if labels is not None else str(first_residue + int(i))
            for column, mt in enumerate(AMINO_ACIDS):
                if mt != wt:
                    yield f"{wt}{label}{mt}", label, wt, mt, float(self.scores[i, column])


@dataclass
class MutantScores:
    """Scores of a list of (single or multiple) mutants.

    Attributes
    ----------
    mutants : list of str
        Canonical mutant names (``"A42G:K45R"``), numbered from ``first_residue``.
    scores : numpy.ndarray
        One score per mutant (a sum over its mutations).
    model : str
        Model name (``"ensemble(a+b)"`` for an ensemble).
    multi : str
        ``"additive"``: the sum of single-site scores (ProteinGym), or ``"joint"``: all mutated positions
        masked in one pass and the differences summed (the ESM-1v paper's formula).
    strategy : str
        Where single-site scores come from (``"masked-marginals"`` or ``"wt-marginals"``); joint scores are
        always masked.
    per_model : dict of str to numpy.ndarray
        For an ensemble, each model's own raw scores.
    standardised : bool
        Whether ``scores`` averages per-model standardised scores.
    """

    mutants: list[str]
    scores: np.ndarray
    model: str
    multi: str
    strategy: str
    per_model: dict[str, np.ndarray] = field(default_factory=dict)
    standardised: bool = False
    #: where the numbers came from (:func:`result_provenance`)
    provenance: dict = field(default_factory=dict)

    @property
    def method(self) -> str:
        """How the numbers were computed, e.g. ``"additive masked-marginals"`` or ``"joint masked"``."""
        if self.multi == "sequence-likelihood":
            return f"sequence likelihood ratio, {self.strategy}"
        return "joint masked" if self.multi == "joint" else f"additive {self.strategy}"


@dataclass
class PseudoLikelihood:
    """Pseudo-log-likelihoods: for each sequence the sum over every residue of
    ``log p(residue | that residue masked)``.

    Attributes
    ----------
    pll : numpy.ndarray
        One value per sequence.
    per_residue : list of numpy.ndarray
        The terms of each sum.
    model : str
    """

    pll: np.ndarray
    per_residue: list[np.ndarray]
    model: str

    @property
    def mean(self) -> np.ndarray:
        """Pseudo-log-likelihood per residue (comparable across lengths)."""
        return np.array([values.mean() for values in self.per_residue])


