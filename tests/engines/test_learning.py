"""Measured data onto documents (every row accounted for) and supervised models on the real DMS tables of
tests/data: cross-validated Spearman equal to an independent scikit-learn computation with the same folds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

from protein_studio.core.errors import InputError
from protein_studio.core.assays.measurements import assay_predictions, read_assay
from protein_studio.core.molecules.mutations import parse_mutant
from protein_studio.core.molecules.numbering import NumberingScheme
from protein_studio.core.molecules.sequences import AMINO_ACIDS, read_fasta
from protein_studio.core.molecules.structures import load_structure
from protein_studio.engines.learning import (FeatureSet, cross_validate, fit, is_constant, load_model_file,
                                             propose)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
TEM1 = read_fasta(REPO / "resources" / "demo" / "tem1_P62593.fasta")[0].sequence


def _dlg4_wild_type() -> tuple[str, int]:
    """PSD95 PDZ3's sequence written back from the table's own wild-type letters (every position has one)."""
    letters = {}
    for line in (DATA / "DLG4_RAT_Ranganathan2012.csv").read_text().splitlines()[1:]:
        mutant = line.split(",")[0]
        letters[int(mutant[1:-1])] = mutant[0]
    first, last = min(letters), max(letters)
    assert sorted(letters) == list(range(first, last + 1))
    return "".join(letters[p] for p in range(first, last + 1)), first


def _tables():
    """(name, wild type, numbering, read keyword arguments) of the four DMS tables."""
    gb1 = load_structure(DATA / "2qmt.pdb").chains[0].sequence
    pabp = load_structure(DATA / "PABP_YEAST_126-200_predicted.pdb").chains[0].sequence
    dlg4, first = _dlg4_wild_type()
    return [
        ("BLAT_ECOLX_Ranganathan2015_2500.csv", TEM1, NumberingScheme.sequence(len(TEM1)), {"column": "2500"}),
        ("GB1_Olson2014_single_mutant_counts.csv", gb1, NumberingScheme.sequence(len(gb1)),
         {"enrichment": ("Selection Count", "Input Count")}),
        ("PABP_YEAST_Fields2013-singles.csv", pabp, NumberingScheme.with_offset(len(pabp), 125), {"column": "log"}),
        ("DLG4_RAT_Ranganathan2012.csv", dlg4, NumberingScheme.with_offset(len(dlg4), first - 1), {"column": "CRIPT"}),
    ]


@pytest.mark.parametrize("name, rows, variants, problems", [
    ("BLAT_ECOLX_Ranganathan2015_2500.csv", 4996, 4996, {}),
    ("GB1_Olson2014_single_mutant_counts.csv", 1045, 1045, {}),
    ("PABP_YEAST_Fields2013-singles.csv", 1188, 1188, {}),
    ("DLG4_RAT_Ranganathan2012.csv", 1660, 1660, {}),
])
def test_the_reader_accounts_for_every_row_of_the_real_tables(name, rows, variants, problems):
    table = next(t for t in _tables() if t[0] == name)
    assay = read_assay(DATA / name, table[1], table[2], **table[3])
    assert assay.rows == rows and len(assay) == variants and assay.problem_counts() == problems
    assert assay.rows_used + len(assay.problems) == assay.rows
    assert np.isfinite(assay.values).all()
    singles = assay.singles(len(table[1]))
    first = assay.variants[0].mutations[0]
    assert singles[first.position - 1, AMINO_ACIDS.index(first.mt)] == assay.values[0]


def test_mismatches_stops_missing_values_and_replicates_are_reported_not_dropped(tmp_path):
    path = tmp_path / "assay.csv"
    path.write_text("mutant,fitness\nH24C,0.5\nH24C,0.7\nA24C,1.0\nH24*,0.0\nH24D,\nK999A,2.0\nH24C:P25A,0.1\n")
    assay = read_assay(path, TEM1, column="fitness")
    assert [str(v) for v in assay.variants] == ["H24C", "H24C:P25A"]
    assert assay.values[0] == pytest.approx(0.6) and assay.replicates.tolist() == [2, 1]
    reasons = {p.line: p.reason for p in assay.problems}
    assert reasons[4] == "wild-type mismatch: position 24 is H, not A" and assay.problems[0].text == "A24C"
    assert reasons[5].startswith("stop codon") and reasons[6] == "no value"
    assert reasons[7].startswith("position not in the numbering")
    assert assay.rows == 7 and assay.rows_used + len(assay.problems) == 7
    with pytest.raises(InputError, match="no column 'nope'"):
        read_assay(path, TEM1, column="nope")


def _onehot(wild_type, variants):
    """The test's own one-hot of whole variant sequences (L x 20)."""
    out = np.zeros((len(variants), len(wild_type), 20))
    for row, variant in enumerate(variants):
        sequence = list(wild_type)
        for m in variant.mutations:
            sequence[m.position - 1] = m.mt
        for i, aa in enumerate(sequence):
            if aa in AMINO_ACIDS:
                out[row, i, AMINO_ACIDS.index(aa)] = 1
    return out.reshape(len(variants), -1)


def _reference_folds(variants, scheme, k=5, seed=0):
    positions = np.array([v.mutations[0].position for v in variants])
    if scheme == "random":
        folds = np.zeros(len(variants), dtype=int)
        for f, (_tr, te) in enumerate(KFold(k, shuffle=True, random_state=seed).split(positions)):
            folds[te] = f
        return folds
    if scheme == "modulo":
        return positions % k
    distinct = np.unique(positions)
    edges = [chunk[-1] for chunk in np.array_split(distinct, k)]
    return np.searchsorted(edges, positions)


@pytest.mark.parametrize("scheme", ["random", "contiguous", "modulo"])
@pytest.mark.parametrize("table", ["BLAT", "GB1", "PABP", "DLG4"])
def test_cross_validated_spearman_of_onehot_ridge_equals_an_independent_computation(table, scheme):
    name, wild_type, numbering, kwargs = next(t for t in _tables() if t[0].startswith(table))
    assay = read_assay(DATA / name, wild_type, numbering, **kwargs)
    chosen = np.random.default_rng(7).choice(len(assay), size=min(300, len(assay)), replace=False)
    variants, values = [assay.variants[i] for i in chosen], assay.values[chosen]
    cv = cross_validate(wild_type, variants, values, features=FeatureSet(wild_type, ("onehot",)), scheme=scheme)
    X, folds = _onehot(wild_type, variants), _reference_folds(variants, scheme)
    expected, pooled = [], np.empty(len(values))
    for f in range(5):
        train, test = folds != f, folds == f
        predicted = Ridge(alpha=1.0).fit(X[train], values[train]).predict(X[test])
        constant = np.ptp(predicted) <= 1e-9 * max(1, np.abs(predicted).max())
        pooled[test] = predicted.mean() if constant else predicted  # rounding noise is no ranking: they tie
        expected.append(0.0 if constant else spearmanr(values[test], predicted).statistic)  # ranks nothing: 0
    np.testing.assert_allclose(cv.spearman, expected, atol=1e-9)
    # ProteinGym's number: the Spearman of every out-of-fold prediction pooled
    assert cv.pooled == pytest.approx(spearmanr(values, pooled).statistic, abs=1e-9)
    assert cv.line() == f"cv {scheme} spearman {cv.pooled:.4f}"
    if scheme == "random":
        assert np.isfinite(cv.spearman).all() and cv.mean > 0.2  # it learns something real on every table


def test_zero_shot_makes_unseen_positions_predictable_and_constant_predictions_rank_nothing():
    assert is_constant([1.0, 1.0 + 1e-12]) and not is_constant([1.0, 1.1])
    name, wild_type, numbering, kwargs = _tables()[0]
    assay = read_assay(DATA / name, wild_type, numbering, **kwargs)
    variants, values = assay.variants[:600], assay.values[:600]
    known = dict(zip(assay.variants, assay.values + np.random.default_rng(0).normal(0, 0.3, len(assay))))
    zeroshot = lambda vs: np.array([known.get(v, np.nan) for v in vs])  # noqa: E731 - a noisy oracle
    plain = cross_validate(wild_type, variants, values, features=FeatureSet(wild_type, ("onehot",)),
                           scheme="contiguous")
    augmented = cross_validate(wild_type, variants, values,
                               features=FeatureSet(wild_type, ("onehot", "zeroshot"), zeroshot=zeroshot),
                               scheme="contiguous")
    assert plain.spearman == (0.0,) * 5 and plain.constant == (0, 1, 2, 3, 4) and "did not vary" in plain.describe()
    assert np.isfinite(augmented.spearman).all() and augmented.mean > 0.5


def test_a_saved_model_predicts_the_same_and_proposals_follow_the_diversity_rules(tmp_path):
    name, wild_type, numbering, kwargs = _tables()[0]
    assay = read_assay(DATA / name, wild_type, numbering, **kwargs)
    variants, values = assay.variants[:200], assay.values[:200]
    for regressor in ("ridge", "gp"):
        model = fit(wild_type, variants, values, features=FeatureSet(wild_type, ("onehot",)), regressor=regressor,
                    cv_scheme=None)
        path = model.save(tmp_path / f"{regressor}.json")
        assert json.loads(path.read_text())["regressor"] == regressor  # plain JSON, nothing pickled
        again = load_model_file(path)
        probe = [parse_mutant("H24A"), parse_mutant("S130G"), parse_mutant("E104K:G238S")]
        np.testing.assert_allclose(again.predict(probe), model.predict(probe), atol=1e-9)
        singles = again.predict_singles()
        assert singles.shape == (286, 20) and np.isnan(singles[0, AMINO_ACIDS.index("M")])
        chosen = propose(again, 12, per_position=1, min_distance=4, explore=1.0)
        positions = [p.variant.mutations[0].position for p in chosen]
        assert len(chosen) == 12 and len(set(positions)) == 12
        assert all(abs(a - b) >= 4 for a in positions for b in positions if a != b)
        assert not set(p.variant for p in chosen) & set(variants)  # measured variants are never proposed
        if regressor == "gp":
            assert all(p.std > 0 and p.acquisition == pytest.approx(p.predicted + p.std) for p in chosen)
        else:
            assert [p.predicted for p in chosen] == sorted((p.predicted for p in chosen), reverse=True)
    with pytest.raises(InputError, match="not a model written by protein-studio fit"):
        (tmp_path / "bad.json").write_text('{"x": 1}')
        load_model_file(tmp_path / "bad.json")


def test_predictions_of_an_assay_from_a_scan_are_single_scores_or_their_sum():
    scores = np.arange(286 * 20, dtype=float).reshape(286, 20)
    path = DATA / "BLAT_ECOLX_Ranganathan2015_2500.csv"
    assay = read_assay(path, TEM1, column="2500")
    predicted = assay_predictions(assay, scores)
    first = assay.variants[0].mutations[0]
    assert predicted[0] == scores[first.position - 1, AMINO_ACIDS.index(first.mt)]
    assert np.isnan(assay_predictions(assay, None)).all()


def _random_doubles(wild_type: str, n: int, seed: int = 0):
    """``n`` distinct double mutants of ``wild_type`` with an additive measured value plus noise."""
    from protein_studio.core.molecules.mutations import Mutation, MultiMutant

    rng = np.random.default_rng(seed)
    effects = rng.normal(size=(len(wild_type), 20))
    chosen = {}
    while len(chosen) < n:
        a, b = sorted(rng.choice(len(wild_type), 2, replace=False))
        x, y = rng.integers(20, size=2)
        if AMINO_ACIDS[x] == wild_type[a] or AMINO_ACIDS[y] == wild_type[b]:
            continue
        variant = MultiMutant((Mutation(int(a) + 1, wild_type[a], AMINO_ACIDS[x]),
                               Mutation(int(b) + 1, wild_type[b], AMINO_ACIDS[y])))
        if variant not in chosen:
            chosen[variant] = effects[a, x] + effects[b, y] + rng.normal(scale=0.3)
    return list(chosen), np.array(list(chosen.values()))


def test_an_exact_gp_fits_5000_variants_and_more_than_its_bound_are_refused_before_any_work():
    from protein_studio.core.errors import JobCancelled
    from protein_studio.core.job_context import JobContext
    from protein_studio.engines.learning import GP_MAX_VARIANTS

    wild_type = TEM1[:60]
    variants, values = _random_doubles(wild_type, 5000)
    said = []
    ctx = JobContext(on_progress=lambda done, total, text: said.append(text))
    model = fit(wild_type, variants, values, features=FeatureSet(wild_type, ("onehot",)), regressor="gp",
                cv_scheme=None, ctx=ctx)
    assert said == ["fitting on all 5000 variants"]
    fitted = model.predict(variants[:500])  # the posterior is exact on all 5000: it follows what it saw
    assert spearmanr(fitted, values[:500])[0] > 0.8
    every, every_value = _random_doubles(wild_type, 5400)  # the same draws, 400 more
    assert every[:5000] == variants
    held_out, truth = every[5000:], every_value[5000:]
    assert spearmanr(model.predict(held_out), truth)[0] > 0.5  # additive effects are learned, not memorised

    more, more_values = _random_doubles(wild_type, GP_MAX_VARIANTS + 1, seed=1)
    with pytest.raises(InputError, match=r"6,001 measured variants .* \(6,000: .*use --regressor ridge"):
        fit(wild_type, more, more_values, features=FeatureSet(wild_type, ("onehot",)), regressor="gp")

    cancelled = JobContext()
    cancelled.cancel()
    with pytest.raises(JobCancelled):
        cross_validate(wild_type, variants[:300], values[:300], features=FeatureSet(wild_type, ("onehot",)),
                       regressor="gp", ctx=cancelled)


def test_a_gaussian_process_is_as_unsure_of_an_unmeasured_position_as_the_model_it_fitted():
    """The GP keeps every one-hot column: a candidate at a position no training variant touches differs from
    them there too, so its standard deviation is the one of a GP on the whole encoding (not a smaller one)."""
    from sklearn.gaussian_process import GaussianProcessRegressor

    name, wild_type, numbering, kwargs = _tables()[0]
    assay = read_assay(DATA / name, wild_type, numbering, **kwargs)
    variants, values = assay.variants[:150], assay.values[:150]
    model = fit(wild_type, variants, values, features=FeatureSet(wild_type, ("onehot",)), regressor="gp",
                cv_scheme=None)
    measured = {m.position for v in variants for m in v.mutations}
    probe = [parse_mutant("S130G"), parse_mutant("E240K")]
    assert not {m.position for v in probe for m in v.mutations} & measured
    X = _onehot(wild_type, variants)
    reference = GaussianProcessRegressor(kernel=model.estimator.kernel_, optimizer=None, normalize_y=True).fit(X, values)
    expected_mean, expected_std = reference.predict(_onehot(wild_type, probe), return_std=True)
    mean, std = model.predict(probe, return_std=True)
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-6)
    np.testing.assert_allclose(std, expected_std, rtol=1e-6)
    gain, gain_std = model.gain(probe)
    assert np.all(np.isfinite(gain)) and np.all(gain_std > 0)
