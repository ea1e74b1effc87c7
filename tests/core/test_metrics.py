"""Ranking metrics: against scipy, against hand-computed values and against a plain loop reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from protein_studio.core.assays.metrics import (MISSING_MEASUREMENT, MISSING_PREDICTION, NON_FINITE, EvaluationReport,
                                         evaluate_predictions, ndcg, spearman, top_recall)


def _loop_ndcg(measured, predicted, fraction):
    """NDCG written out term by term from the definition (gains = min-max scaled measurements)."""
    n = len(measured)
    k = int(n * fraction)
    lo, hi = min(measured), max(measured)
    gain = [(m - lo) / (hi - lo) for m in measured]
    by_prediction = sorted(range(n), key=lambda i: (-predicted[i], i))
    by_gain = sorted(range(n), key=lambda i: -gain[i])
    dcg = sum(gain[i] / math.log2(rank + 1) for rank, i in enumerate(by_prediction[:k], start=1))
    idcg = sum(gain[i] / math.log2(rank + 1) for rank, i in enumerate(by_gain[:k], start=1))
    return dcg / idcg


def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    measured = rng.normal(size=200).round(1)  # many ties
    predicted = measured + rng.normal(scale=0.8, size=200)
    rho, p = spearman(measured, predicted)
    expected = stats.spearmanr(measured, predicted)
    assert rho == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


def test_spearman_undefined_cases_are_nan():
    assert all(math.isnan(x) for x in spearman([1.0], [2.0]))
    assert math.isnan(spearman([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])[0])


def test_perfect_ranking_scores_one():
    measured = np.linspace(-3, 1, 50)
    for predicted in (measured, 10 * measured + 4, np.exp(measured)):  # any increasing transform
        assert ndcg(measured, predicted) == pytest.approx(1.0)
        assert top_recall(measured, predicted) == 1.0


def test_ndcg_hand_computed():
    measured = np.arange(20.0)  # gains i / 19; k = 2
    predicted = np.arange(20.0)
    predicted[[18, 19]] = [100.0, 99.0]  # the best two, in the wrong order
    expected = (18 / 19 + (19 / 19) / math.log2(3)) / (1 + (18 / 19) / math.log2(3))
    assert ndcg(measured, predicted) == pytest.approx(expected)
    # k = 1 of 10: predicting the second best on top gives its gain, 8/9
    measured10 = np.arange(10.0)
    predicted10 = np.array([0, 1, 2, 3, 4, 5, 6, 7, 9, 8.0])
    assert ndcg(measured10, predicted10) == pytest.approx(8 / 9)
    # the worst variant on top: zero gain
    assert ndcg(measured10, -measured10) == 0.0


def test_ndcg_matches_loop_reference_on_random_data():
    rng = np.random.default_rng(1)
    for n, fraction in ((37, 0.1), (200, 0.1), (500, 0.25)):
        measured = rng.normal(size=n)
        predicted = 0.5 * measured + rng.normal(size=n)
        assert ndcg(measured, predicted, fraction) == pytest.approx(
            _loop_ndcg(measured.tolist(), predicted.tolist(), fraction), rel=1e-12)


def test_ndcg_is_nan_when_undefined():
    assert math.isnan(ndcg(np.arange(9.0), np.arange(9.0)))  # floor(0.9) = 0 variants ranked
    assert math.isnan(ndcg(np.ones(30), np.arange(30.0)))  # constant measurements: no gains


def test_top_recall_hand_computed():
    measured = np.arange(20.0)  # 90th percentile 17.1: the top are rows 18 and 19
    predicted = np.zeros(20)
    predicted[[19, 0]] = [5.0, 4.0]  # predicted top: rows 19 and 0
    assert top_recall(measured, predicted) == 0.5
    assert top_recall(measured, -measured) == 0.0
    assert math.isnan(top_recall(np.ones(20), np.arange(20.0)))


def test_mismatched_lengths_and_bad_fraction():
    with pytest.raises(ValueError, match="differ in length"):
        ndcg([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="top fraction"):
        top_recall([1.0, 2.0], [1.0, 2.0], top_fraction=0)


def test_evaluate_counts_dropped_rows_by_reason():
    rng = np.random.default_rng(2)
    measured = rng.normal(size=60)
    predicted = measured + rng.normal(scale=0.5, size=60)
    predicted[[0, 1, 2]] = np.nan  # no prediction
    measured[[2]] = np.nan  # ... and no measurement: counted once, as missing prediction
    measured[[3, 4]] = np.nan
    predicted[5] = np.inf
    measured[6] = -np.inf
    report = evaluate_predictions(measured, predicted, already_dropped={"unparseable mutant": 4})
    assert isinstance(report, EvaluationReport)
    assert report.dropped == {MISSING_PREDICTION: 3, MISSING_MEASUREMENT: 2, NON_FINITE: 2,
                              "unparseable mutant": 4}
    assert report.n == 53 and report.n_dropped == 11 and report.n_total == 64
    keep = slice(7, None)
    assert report.spearman == pytest.approx(stats.spearmanr(measured[keep], predicted[keep]).statistic)
    assert report.ndcg == pytest.approx(ndcg(measured[keep], predicted[keep]))
    assert report.top_recall == top_recall(measured[keep], predicted[keep])
    text = report.format()
    for label in ("n ", "53 of 64", "Spearman", "NDCG@10%", "top-10% recall", "3 missing prediction",
                  "2 missing measurement", "2 non-finite", "4 unparseable mutant"):
        assert label in text
    assert report.as_dict()["n"] == 53


def test_report_shows_undefined_values_as_not_available():
    report = evaluate_predictions([1.0, 2.0, 3.0], [3.0, 1.0, 2.0])
    assert report.n == 3 and math.isnan(report.ndcg)
    ndcg_line = next(line for line in report.format().splitlines() if line.startswith("NDCG"))
    assert ndcg_line.split() == ["NDCG@10%", "n/a"]
