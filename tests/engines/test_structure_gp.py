"""The structure-aware Gaussian process: its kernel against a by-hand computation, its posterior against numpy's
linear algebra, its saved form, and that it reaches positions one-hot features cannot (real GB1 data on 2qmt
with ProteinMPNN's trained weights)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from protein_studio.core.errors import InputError
from protein_studio.core.molecules.mutations import parse_mutant
from protein_studio.core.molecules.sequences import AMINO_ACIDS
from protein_studio.engines.learning import FeatureSet, cross_validate, fit, load_model_file, propose
from protein_studio.engines.structure_gp import WILD_TYPE, SiteTable, StructureGP

DATA = Path(__file__).resolve().parents[1] / "data"
WT = "MKTAYIAKQR"


def _sites(seed: int = 0, missing: int | None = 0) -> SiteTable:
    """A site table of random distributions on a helix-like trace; position ``missing`` without structure."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (len(WT), 20))
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    t = np.arange(len(WT))
    ca = np.stack([2.3 * np.cos(t * 1.75), 2.3 * np.sin(t * 1.75), 1.5 * t], axis=1)
    if missing is not None:
        log_probs[missing] = np.nan
        ca[missing] = np.nan
    return SiteTable(log_probs, ca, {"model": "test"})


def _by_hand(sites: SiteTable, a, b, p) -> float:
    """The kernel of two variants written out from its definition, mutation pair by mutation pair."""
    probs = np.exp(np.nan_to_num(sites.log_probs, nan=-np.inf))
    probs = probs / np.where(probs.sum(1, keepdims=True) > 0, probs.sum(1, keepdims=True), 1)
    structure = 0.0
    for m in a.mutations:
        for n in b.mutations:
            i, j = m.position - 1, n.position - 1
            if not (np.isfinite(sites.ca[i]).all() and np.isfinite(sites.ca[j]).all()):
                continue
            hellinger = math.sqrt(max(0.0, 1 - float(np.sqrt(probs[i] * probs[j]).sum())))
            distance = float(np.linalg.norm(sites.ca[i] - sites.ca[j]))
            pa, pb = probs[i, AMINO_ACIDS.index(m.mt)], probs[j, AMINO_ACIDS.index(n.mt)]
            structure += math.exp(-p["gamma_site"] * hellinger - p["gamma_substitution"] * abs(pa - pb)
                                  - distance / p["rho"])
    seq_a, seq_b = list(WT), list(WT)
    for m in a.mutations:
        seq_a[m.position - 1] = m.mt
    for n in b.mutations:
        seq_b[n.position - 1] = n.mt
    hamming = sum(x != y for x, y in zip(seq_a, seq_b))
    return p["scale_structure"] * structure + p["scale_sequence"] * math.exp(-hamming / p["length"] ** 2)


VARIANTS = [parse_mutant(t) for t in ("K2A", "K2E", "T3G", "A4W", "Y5F", "I6L", "K2A:A4W", "T3G:Q9E:R10K",
                                      "M1L", "R10D", "Q9P", "A7G")]
VALUES = np.array([0.3, -0.2, 0.1, -1.0, 0.5, 0.2, -0.6, 0.0, -0.3, 0.4, -1.2, 0.05])


def test_the_kernel_is_its_definition_and_positive_definite():
    sites = _sites()
    model = StructureGP(WT, sites)
    model.hyperparameters = {"scale_structure": 0.7, "scale_sequence": 0.4, "gamma_site": 1.3,
                             "gamma_substitution": 2.1, "rho": 6.0, "length": 1.2, "noise": 0.1}
    import torch

    p = {k: torch.tensor(v, dtype=torch.float64) for k, v in model.hyperparameters.items()}
    probe = VARIANTS + [WILD_TYPE]
    kernel = model._cross(torch, model._encoded(probe), model._encoded(probe), p).numpy()
    expected = np.array([[_by_hand(sites, a, b, model.hyperparameters) for b in probe] for a in probe])
    np.testing.assert_allclose(kernel, expected, rtol=1e-7, atol=1e-9)  # sqrt(1 - 1e-16) of a site with itself
    assert np.linalg.eigvalsh(kernel).min() > -1e-10  # a valid covariance
    # M1L: position 1 has no structure here, so it shares no structure term with anything
    m1 = VARIANTS.index(parse_mutant("M1L"))
    assert kernel[m1, m1] == pytest.approx(model.hyperparameters["scale_sequence"])
    np.testing.assert_allclose(model._diagonal(torch, model._encoded(probe), p), np.diag(kernel), rtol=1e-12)
    # ProteinMPNN's additive zero-shot score: log p(mt) - log p(wt), 0 where there is no structure
    probs = sites.log_probs
    assert sites.zero_shot(WT, [parse_mutant("K2A:A4W")])[0] == pytest.approx(
        probs[1, AMINO_ACIDS.index("A")] - probs[1, AMINO_ACIDS.index("K")]
        + probs[3, AMINO_ACIDS.index("W")] - probs[3, AMINO_ACIDS.index("A")])
    assert sites.zero_shot(WT, [parse_mutant("M1L")])[0] == 0.0


def test_the_posterior_and_the_gain_are_the_exact_gaussian_process():
    sites = _sites()
    model = StructureGP(WT, sites).fit(VARIANTS, VALUES)
    h = model.hyperparameters
    assert set(h) == {"scale_structure", "scale_sequence", "gamma_site", "gamma_substitution", "rho", "length",
                      "noise"}
    # the same posterior written with numpy from the by-hand kernel
    train, query = VARIANTS, [parse_mutant(t) for t in ("K2D", "Y5W:I6V", "R10A")]
    everything = train + query + [WILD_TYPE]
    K = np.array([[_by_hand(sites, a, b, h) for b in everything] for a in everything])
    n = len(train)
    z = (np.append(sites.zero_shot(WT, train + query), 0.0) - model.z_mean) / model.z_std
    c0, c1 = model.mean_coefficients
    mean = c0 + c1 * z
    y = (VALUES - model.y_mean) / model.y_std
    inverse = np.linalg.inv(K[:n, :n] + (h["noise"] + 1e-6) * np.eye(n))
    post_mean = mean[n:] + K[n:, :n] @ inverse @ (y - mean[:n])
    post_cov = K[n:, n:] - K[n:, :n] @ inverse @ K[:n, n:]
    predicted, std = model.predict(query, return_std=True)
    np.testing.assert_allclose(predicted, post_mean[:-1] * model.y_std + model.y_mean, rtol=1e-8)
    np.testing.assert_allclose(std, np.sqrt(np.diag(post_cov)[:-1]) * model.y_std, rtol=1e-7)
    gain, gain_std = model.gain(query)
    np.testing.assert_allclose(gain, (post_mean[:-1] - post_mean[-1]) * model.y_std, rtol=1e-8)
    variance = np.diag(post_cov)[:-1] + post_cov[-1, -1] - 2 * post_cov[:-1, -1]
    np.testing.assert_allclose(gain_std, np.sqrt(variance) * model.y_std, rtol=1e-7)


def test_a_saved_structure_model_predicts_the_same_and_a_damaged_one_is_refused(tmp_path):
    sites = _sites()
    model = fit(WT, VARIANTS, VALUES, features=FeatureSet(WT, ("onehot",)), regressor="structure-gp",
                cv_scheme="random", k=3, sites=sites, provenance={"measured": "test"})
    path = model.save(tmp_path / "model.json")
    data = json.loads(path.read_text())
    assert data["regressor"] == "structure-gp" and data["kernel"]["sites"]["log_probs"][0][0] is None
    # the held-out predictions are kept, one per training variant, with their standard deviations
    assert len(data["cv"]["predictions"]) == len(VARIANTS) and all(s > 0 for s in data["cv"]["prediction_std"])
    assert load_model_file(path).cv == model.cv
    again = load_model_file(path)  # no structure needed: the sites travel in the file
    probe = [parse_mutant("K2D"), parse_mutant("Y5W:I6V")]
    np.testing.assert_allclose(again.predict(probe, return_std=True), model.predict(probe, return_std=True),
                               rtol=1e-6)
    for damage in ({"hyperparameters": {"rho": 1.0}}, {"sites": {"log_probs": [[0.0]], "ca": []}},
                   {"y_std": -1.0}, "cv"):
        broken = json.loads(path.read_text())
        if damage == "cv":
            broken["cv"]["predictions"] = [0.0]  # not one per variant
        else:
            broken["kernel"].update(damage)
        path.write_text(json.dumps(broken))
        with pytest.raises(InputError, match="damaged model file"):
            load_model_file(path)
    with pytest.raises(Exception, match="needs the structure"):
        fit(WT, VARIANTS, VALUES, features=FeatureSet(WT, ("onehot",)), regressor="structure-gp", cv_scheme=None)


def test_proposals_leave_out_met1_and_excluded_positions_and_carry_gains_and_intervals():
    sites = _sites(missing=None)
    model = fit(WT, VARIANTS[:8], VALUES[:8], features=FeatureSet(WT, ("onehot",)), regressor="structure-gp",
                cv_scheme=None, sites=sites)
    chosen = propose(model, 5, skip=frozenset({2, 3}), combinations=3)
    singles = [p for p in chosen if len(p.variant.mutations) == 1]
    doubles = [p for p in chosen if len(p.variant.mutations) == 2]
    assert len(singles) == 5 and len(doubles) == 3
    positions = {m.position for p in chosen for m in p.variant.mutations}
    assert 1 not in positions and not positions & {3, 4}  # Met1 and the excluded positions
    # doubles combine the model's best singles (measured ones too) and are scored as combinations by the same model
    predicted = model.predict_singles()
    predicted[[0, 2, 3]] = np.nan  # Met1 and the excluded positions
    best = np.sort(np.nanmax(predicted, axis=1)[np.isfinite(np.nanmax(predicted, axis=1))])[::-1][:12]
    for p in doubles:
        for m in p.variant.mutations:
            assert predicted[m.position - 1, AMINO_ACIDS.index(m.mt)] >= best[-1] - 1e-12
        assert p.predicted == pytest.approx(float(model.predict([p.variant])[0]))
        assert p.variant not in set(model.variants)
    for p in chosen:
        low, high = p.interval
        assert math.isfinite(p.gain) and low < p.gain < high and p.tied == 0
    with_start = propose(model, 200, allow_start=True)
    assert any(m.position == 1 for p in with_start for m in p.variant.mutations)
    nothing = propose(model, 5, skip=frozenset(range(len(WT))))
    assert not nothing.proposals and "excluded position" in nothing.reason


def test_ridge_ties_are_broken_by_the_model_or_said_and_extrapolations_warned():
    variants = [parse_mutant(t) for t in ("K2A", "K2E", "T3G", "T3D", "A4W", "A4G")]
    values = np.array([0.5, 0.4, 0.1, 0.0, -0.4, -0.5])
    model = fit(WT, variants, values, features=FeatureSet(WT, ("onehot",)), regressor="ridge", cv_scheme=None)
    chosen = propose(model, 6)
    # every unmeasured position is predicted at the model's baseline: said, with the count of equal ones
    unmeasured = [p for p in chosen if p.variant.mutations[0].position not in (2, 3, 4)]
    assert unmeasured and all(p.extrapolation.startswith("position never measured") for p in unmeasured)
    assert all(p.tied > 0 for p in unmeasured)
    assert any("extrapolations" in w for w in chosen.warnings) and any("tied" in w for w in chosen.warnings)


def test_structure_reaches_positions_one_hot_cannot_on_gb1(proteinmpnn_weights):
    from protein_studio.core.assays.measurements import read_assay
    from protein_studio.core.documents.document import load_document
    from protein_studio.core.job_context import JobContext
    from protein_studio.core.molecules.numbering import NumberingScheme
    from protein_studio.engines.methods import STRUCTURE_GP_MODEL
    from protein_studio.engines.structure_gp import site_table
    from protein_studio.models.loader import load_model

    document = load_document([DATA / "2qmt.pdb"])
    wild_type = document.wild_type
    assay = read_assay(DATA / "GB1_Olson2014_single_mutant_counts.csv", wild_type,
                       NumberingScheme.sequence(len(wild_type)), enrichment=("Selection Count", "Input Count"))
    sites = site_table(document, load_model(STRUCTURE_GP_MODEL, "cpu"), JobContext())
    assert sites.covered.all() and sites.provenance["weights"]
    chosen = np.random.default_rng(0).choice(len(assay), 400, replace=False)
    variants, values = [assay.variants[i] for i in chosen], assay.values[chosen]
    ridge = cross_validate(wild_type, variants, values, features=FeatureSet(wild_type, ("onehot",)),
                           scheme="contiguous")
    structure = cross_validate(wild_type, variants, values, features=FeatureSet(wild_type, ("onehot",)),
                               regressor="structure-gp", scheme="contiguous", sites=sites)
    assert structure.pooled > ridge.pooled + 0.3 and structure.pooled > 0.4
