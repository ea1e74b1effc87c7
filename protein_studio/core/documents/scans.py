"""A saturation scan held by a document: its L x 20 score matrix, filled chunk by chunk while it runs,
and the arithmetic on scan matrices every caller shares (additive multi-mutant scores, ranks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from protein_studio.core.molecules.mutations import MultiMutant
from protein_studio.core.molecules.sequences import AMINO_ACIDS

__all__ = ["ScanState", "ScanComparison", "compare_scans", "additive_scores", "substitution_mask", "substitution_ranks"]

_AA_INDEX = {aa: i for i, aa in enumerate(AMINO_ACIDS)}


def _now() -> str:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def substitution_mask(sequence: str) -> np.ndarray:
    """L x 20 booleans: True for every cell that is not ``sequence``'s own residue."""
    mask = np.ones((len(sequence), len(AMINO_ACIDS)), dtype=bool)
    for i, aa in enumerate(sequence):
        if aa in _AA_INDEX:
            mask[i, _AA_INDEX[aa]] = False
    return mask


def additive_scores(scores: np.ndarray | None, variants: Sequence[MultiMutant]) -> np.ndarray:
    """Each variant's additive score from a scan matrix (L x 20): the sum of its single-site scores, as
    ProteinGym scores multi-mutants; a synonymous mutation adds 0. NaN where a mutated position is not
    scanned or is off the matrix, and for every variant when there is no scan (``scores`` None)."""
    out = np.full(len(variants), np.nan)
    if scores is None:
        return out
    scores = np.asarray(scores, dtype=float)
    for k, variant in enumerate(variants):
        total = 0.0
        for m in variant.mutations:
            i = m.position - 1
            if not 0 <= i < len(scores) or m.mt not in _AA_INDEX:
                total = float("nan")
                break
            total += 0.0 if m.wt == m.mt else scores[i, _AA_INDEX[m.mt]]
        out[k] = total
    return out


def substitution_ranks(scores: np.ndarray, sequence: str) -> np.ndarray:
    """L x 20 ranks of the scored substitutions of ``sequence``, 1 = highest score (ties: sequence
    order, then AMINO_ACIDS order); 0 for the wild-type residue and unscored (NaN) cells."""
    values = np.where(substitution_mask(sequence), np.asarray(scores, dtype=float), np.nan).ravel()
    scored = np.flatnonzero(~np.isnan(values))
    ranks = np.zeros(values.size, dtype=int)
    ranks[scored[np.argsort(-values[scored], kind="stable")]] = np.arange(1, scored.size + 1)
    return ranks.reshape(len(sequence), len(AMINO_ACIDS))



@dataclass
class ScanState:
    """A (possibly still running) saturation scan of ``sequence``: ``scores`` is L x 20, NaN = not yet."""

    model: str
    strategy: str
    sequence: str
    scores: np.ndarray
    random_weights: bool = False
    complete: bool = False
    #: 0-based indices a scan leaves out (chromophore residues): final from the start, never scored
    excluded: frozenset = frozenset()
    #: where the numbers came from: model, weights identity, strategy, precision, device, windowing,
    #: application version, date (see :func:`protein_studio.engines.scoring.scan_provenance`)
    provenance: dict = field(default_factory=dict)
    #: per position: True once its row comes from ``strategy`` itself, False while it is empty or still
    #: shows the one-pass wt-marginal preview that a masked-marginal scan sends first
    final: np.ndarray | None = None
    #: when the scan was started (UTC, ISO 8601): with the model and strategy it names the scan
    created: str = field(default_factory=_now)
    _ranks: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        self.excluded = frozenset(int(i) for i in self.excluded)
        if self.final is None:
            self.final = ~np.all(np.isnan(self.scores), axis=1)
        self._mark_excluded()

    def _mark_excluded(self) -> None:
        if self.excluded:
            index = np.fromiter(self.excluded, dtype=int)
            self.scores[index] = np.nan
            self.final[index] = True

    @property
    def label(self) -> str:
        """How the window and the exports name this scan: model, strategy, precision when known, and when it
        was made (``"esm2_t33_650M_UR50D, masked-marginals, float16, 2026-12-06 14:02"``)."""
        parts = [self.model, self.strategy]
        precision = self.provenance.get("precision") if self.provenance else None
        if precision:
            parts.append(str(precision))
        parts.append(self.created[:16].replace("T", " "))
        return ", ".join(parts) + (" (RANDOM WEIGHTS)" if self.random_weights else "")

    def copy(self) -> "ScanState":
        """A copy whose arrays later updates do not change."""
        return ScanState(self.model, self.strategy, self.sequence, self.scores.copy(),
                         random_weights=self.random_weights, complete=self.complete, excluded=self.excluded,
                         provenance=dict(self.provenance), final=self.final.copy(), created=self.created)

    @classmethod
    def empty(cls, model: str, strategy: str, sequence: str, random_weights: bool = False,
              excluded: Iterable[int] = ()) -> "ScanState":
        return cls(model, strategy, sequence, np.full((len(sequence), len(AMINO_ACIDS)), np.nan),
                   random_weights, excluded=frozenset(excluded))

    def update(self, positions: Sequence[int], rows: np.ndarray, final: bool = True) -> None:
        """Store the score rows of ``positions`` (0-based): final rows, or preview rows (``final=False``)
        that a later final row replaces."""
        index = np.asarray(positions, dtype=int)
        rows = np.asarray(rows, dtype=float).reshape(len(index), len(AMINO_ACIDS))
        if not final:  # a preview never overwrites a final row
            keep = ~self.final[index]
            index, rows = index[keep], rows[keep]
        self.scores[index] = rows
        self.final[index] = final
        self._ranks = None

    def replace_scores(self, scores: np.ndarray) -> None:
        """Replace every row with ``scores`` (L x 20); rows that are not all NaN become final."""
        self.scores = np.array(scores, dtype=float)
        self.final = ~np.all(np.isnan(self.scores), axis=1)
        self._mark_excluded()
        self._ranks = None

    def drop_preview(self) -> None:
        """Forget preview rows that were not refined (a cancelled or failed scan keeps only final rows,
        so no number on screen comes from a method other than the one named)."""
        self.scores[~self.final] = np.nan
        self._ranks = None

    @property
    def positions_done(self) -> int:
        """Positions with their final scores (positions left out are not counted)."""
        return int(np.count_nonzero(self.final)) - len(self.excluded)

    @property
    def positions_to_scan(self) -> int:
        """Positions the scan scores: all but the excluded ones."""
        return len(self.sequence) - len(self.excluded)

    @property
    def positions_in_preview(self) -> int:
        """Positions showing the wt-marginal preview, still to be refined."""
        return int(np.count_nonzero(~self.final & ~np.all(np.isnan(self.scores), axis=1)))

    def substitution_mask(self) -> np.ndarray:
        """L x 20 booleans: True for every cell that is not the scanned sequence's own residue."""
        return substitution_mask(self.sequence)

    def summary(self) -> np.ndarray:
        """Per-position mean score of the 19 substitutions (NaN where not scanned)."""
        values = np.where(self.substitution_mask(), self.scores, np.nan)
        out = np.full(len(self.sequence), np.nan)
        done = ~np.all(np.isnan(values), axis=1)
        out[done] = np.nanmean(values[done], axis=1)
        return out

    def ranks(self) -> np.ndarray:
        """L x 20 ranks among all scored substitutions, 1 = highest score; 0 for wild-type or unscored."""
        if self._ranks is None:
            self._ranks = substitution_ranks(self.scores, self.sequence)
        return self._ranks

    def score(self, index: int, aa: str) -> float:
        return float(self.scores[index, _AA_INDEX[aa]])

    def additive_score(self, mutant: MultiMutant) -> float:
        """Sum of single-site scores of ``mutant`` (1-based sequence positions; NaN when one is not
        scanned or off the sequence)."""
        return float(additive_scores(self.scores, [mutant])[0])


@dataclass(frozen=True)
class ScanComparison:
    """Two scans of one sequence side by side: ``difference`` is ``second - first`` (L x 20, NaN where either
    has no score or on the wild type's own cell); the correlations are over the substitutions both scored."""

    first: str
    second: str
    difference: np.ndarray
    n: int
    spearman: float
    pearson: float
    first_scores: np.ndarray
    second_scores: np.ndarray

    def describe(self) -> str:
        return (f"{self.second} vs {self.first}: Spearman {self.spearman:.3f}, Pearson {self.pearson:.3f} over "
                f"{self.n} substitutions")


def compare_scans(first: ScanState, second: ScanState) -> ScanComparison:
    """Compare two scans of the same sequence (ranks by Spearman, values by Pearson, and the difference map).

    Raises
    ------
    ValueError
        When the scans are of different sequences.
    """
    from scipy.stats import pearsonr, spearmanr

    if first.sequence != second.sequence:
        raise ValueError("the two scans are of different sequences")
    mask = substitution_mask(first.sequence)
    a, b = np.asarray(first.scores, dtype=float), np.asarray(second.scores, dtype=float)
    both = mask & np.isfinite(a) & np.isfinite(b)
    difference = np.where(both, b - a, np.nan)
    n = int(both.sum())
    if n >= 3 and np.ptp(a[both]) > 0 and np.ptp(b[both]) > 0:
        rho = float(spearmanr(a[both], b[both]).statistic)
        r = float(pearsonr(a[both], b[both]).statistic)
    else:
        rho = r = float("nan")
    return ScanComparison(first.label, second.label, difference, n, rho, r, a[both], b[both])
