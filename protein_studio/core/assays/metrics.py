"""How well predicted variant effects rank measured ones: Spearman, NDCG and recall of the top fraction.

The definitions follow ProteinGym's DMS benchmark (Notin et al. 2023), where higher is better for both the
prediction and the measurement:

- **Spearman**: rank correlation (:func:`scipy.stats.spearmanr`, ties get average ranks).
- **NDCG@10%** (:func:`ndcg`): the measurements, min-max scaled to 0-1, are the gains; the k = floor(10 % of
  n) variants ranked highest by the prediction are discounted by ``log2(rank + 1)``; the sum is divided by
  the same sum for the k variants with the highest measurements. 1 is a perfect ranking of the top.
- **top-10% recall** (:func:`top_recall`): the share of the variants measured above the 90th percentile
  of the measurements that the prediction also places above the 90th percentile of the predictions.

Rows are used only when both values are finite; :class:`EvaluationReport` says how many were dropped and why.
Where ProteinGym would return 0 or divide by zero (fewer than 1/fraction rows, constant measurements) these
functions return NaN, which is shown as "n/a", rather than a number that looks like a result.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

__all__ = ["EvaluationReport", "evaluate_predictions", "spearman", "ndcg", "top_recall",
           "MISSING_PREDICTION", "MISSING_MEASUREMENT", "NON_FINITE"]

MISSING_PREDICTION = "missing prediction"
MISSING_MEASUREMENT = "missing measurement"
NON_FINITE = "non-finite"


def _pair(measured, predicted) -> tuple[np.ndarray, np.ndarray]:
    measured = np.asarray(measured, dtype=float).ravel()
    predicted = np.asarray(predicted, dtype=float).ravel()
    if measured.shape != predicted.shape:
        raise ValueError(f"measured ({measured.size}) and predicted ({predicted.size}) differ in length")
    return measured, predicted


def spearman(measured, predicted) -> tuple[float, float]:
    """Spearman's rank correlation and its two-sided p-value (NaN for fewer than 2 rows or constant input).

    Parameters
    ----------
    measured, predicted : array_like
        Finite values of the same length.
    """
    from scipy import stats  # only `evaluate` needs scipy; importing core.metrics stays light

    measured, predicted = _pair(measured, predicted)
    if measured.size < 2:
        return math.nan, math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        result = stats.spearmanr(measured, predicted)
    return float(result.statistic), float(result.pvalue)


def _top_k(n: int, fraction: float) -> int:
    if not 0 < fraction <= 1:
        raise ValueError(f"top fraction must be in (0, 1], not {fraction}")
    return int(math.floor(n * fraction + 1e-9))


def ndcg(measured, predicted, top_fraction: float = 0.1) -> float:
    """Normalised discounted cumulative gain of the predicted top fraction, measurements as gains.

    Parameters
    ----------
    measured, predicted : array_like
        Finite values of the same length; higher is better for both.
    top_fraction : float, default 0.1
        k = floor(top_fraction * n) variants are ranked.

    Returns
    -------
    float
        In [0, 1]; NaN when k is 0 or all measurements are equal. Ties in the prediction are broken by row
        order (a stable sort), so the result does not depend on chance.
    """
    measured, predicted = _pair(measured, predicted)
    k = _top_k(measured.size, top_fraction)
    span = np.ptp(measured) if measured.size else 0.0
    if k == 0 or span == 0:
        return math.nan
    gains = (measured - measured.min()) / span
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    by_prediction = np.argsort(-predicted, kind="stable")[:k]
    ideal = np.sort(gains)[::-1][:k]
    return float(np.dot(gains[by_prediction], discount) / np.dot(ideal, discount))


def top_recall(measured, predicted, top_fraction: float = 0.1) -> float:
    """Recall of the measured top fraction among the predicted top fraction.

    A variant is in a top fraction when its value is strictly above that array's
    ``100 * (1 - top_fraction)`` percentile (linear interpolation, as :func:`numpy.percentile`).

    Returns
    -------
    float
        In [0, 1]; NaN when no measurement is above the percentile (e.g. constant measurements).
    """
    measured, predicted = _pair(measured, predicted)
    _top_k(measured.size, top_fraction)  # validates the fraction
    if measured.size == 0:
        return math.nan
    q = 100.0 * (1.0 - top_fraction)
    top_measured = measured > np.percentile(measured, q)
    top_predicted = predicted > np.percentile(predicted, q)
    if not top_measured.any():
        return math.nan
    return float((top_measured & top_predicted).sum() / top_measured.sum())


@dataclass(frozen=True)
class EvaluationReport:
    """Predictions scored against measurements.

    Attributes
    ----------
    n : int
        Rows used (both values finite).
    n_total : int
        Rows considered, including those in :attr:`dropped`.
    spearman, spearman_pvalue : float
    ndcg : float
        NDCG over the predicted top :attr:`top_fraction`.
    top_recall : float
        Recall of the measured top :attr:`top_fraction`.
    top_fraction : float
    dropped : dict of str to int
        Rows not used, by reason: ``"missing prediction"``, ``"missing measurement"``, ``"non-finite"``
        (infinite values), plus any reasons counted before the arrays were built (such as unparseable
        mutants). A row is counted once, under the first reason that applies, in that order.
    """

    n: int
    n_total: int
    spearman: float
    spearman_pvalue: float
    ndcg: float
    top_recall: float
    top_fraction: float = 0.1
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def n_dropped(self) -> int:
        """Total rows not used."""
        return sum(self.dropped.values())

    def as_dict(self) -> dict:
        """Plain values (NaN kept as float NaN), e.g. for JSON or a results table."""
        return {"n": self.n, "n_total": self.n_total, "spearman": self.spearman,
                "spearman_pvalue": self.spearman_pvalue, "ndcg": self.ndcg, "top_recall": self.top_recall,
                "top_fraction": self.top_fraction, "dropped": dict(self.dropped)}

    def format(self) -> str:
        """A short aligned text block: n, Spearman, NDCG, recall and the dropped rows."""
        pct = f"{100 * self.top_fraction:g}%"

        def show(x: float) -> str:
            return "n/a" if math.isnan(x) else f"{x:.4f}"

        dropped = ", ".join(f"{count} {reason}" for reason, count in self.dropped.items())
        lines = [f"{'n':<16}{self.n} of {self.n_total} rows",
                 f"{'Spearman':<16}{show(self.spearman)}"
                 + ("" if math.isnan(self.spearman_pvalue) else " (p < 1e-300)" if self.spearman_pvalue == 0
                    else f" (p = {self.spearman_pvalue:.2g})"),
                 f"{'NDCG@' + pct:<16}{show(self.ndcg)}",
                 f"{'top-' + pct + ' recall':<16}{show(self.top_recall)}",
                 f"{'dropped':<16}{self.n_dropped}" + (f" ({dropped})" if dropped else "")]
        return "\n".join(lines)


def evaluate_predictions(measured, predicted, *, top_fraction: float = 0.1,
                         already_dropped: Mapping[str, int] | None = None) -> EvaluationReport:
    """Spearman, NDCG and top recall of ``predicted`` against ``measured``, on the rows where both are finite.

    Parameters
    ----------
    measured, predicted : array_like
        One value per variant, aligned; NaN marks a missing value (a variant without a prediction or
        without a measurement), ±inf is counted as non-finite.
    top_fraction : float, default 0.1
    already_dropped : mapping of str to int, optional
        Rows left out before these arrays were built, by reason; added to the report's counts.

    Returns
    -------
    EvaluationReport
    """
    measured, predicted = _pair(measured, predicted)
    no_prediction = np.isnan(predicted)
    no_measurement = np.isnan(measured) & ~no_prediction
    infinite = ~(no_prediction | no_measurement) & ~(np.isfinite(measured) & np.isfinite(predicted))
    keep = np.isfinite(measured) & np.isfinite(predicted)
    dropped = {MISSING_PREDICTION: int(no_prediction.sum()), MISSING_MEASUREMENT: int(no_measurement.sum()),
               NON_FINITE: int(infinite.sum())}
    for reason, count in (already_dropped or {}).items():
        dropped[reason] = dropped.get(reason, 0) + int(count)
    m, p = measured[keep], predicted[keep]
    rho, pvalue = spearman(m, p)
    return EvaluationReport(n=int(keep.sum()), n_total=int(keep.sum()) + sum(dropped.values()),
                            spearman=rho, spearman_pvalue=pvalue, ndcg=ndcg(m, p, top_fraction),
                            top_recall=top_recall(m, p, top_fraction), top_fraction=top_fraction,
                            dropped=dropped)
