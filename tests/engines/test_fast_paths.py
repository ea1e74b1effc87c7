"""The exact fast paths (SDPA attention, the last layer at the rows read, probed batch sizes) against
fair-esm's own forward pass, on every strategy, short and windowed long proteins, ESM-2 and ESM-1b (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("esm")

from protein_studio.core.molecules.sequences import AMINO_ACIDS  # noqa: E402
from protein_studio.engines.fast_paths import logits_at_rows, sdpa_attention  # noqa: E402
from protein_studio.engines.scoring import (_BatchProbe, pseudo_log_likelihood, saturation_scan,  # noqa: E402
                                            score_mutants)
from protein_studio.core.job_context import JobContext  # noqa: E402
from protein_studio.models.esm_loading import load_esm  # noqa: E402

TOLERANCE = 1e-4


def _sequence(length: int, seed: int) -> str:
    return "".join(np.random.default_rng(seed).choice(list(AMINO_ACIDS), size=length))


@pytest.fixture(scope="module", params=["random-esm2-8M", "random-esm1b-tiny"])
def model(request):
    return load_esm(request.param, device="cpu")


@pytest.mark.parametrize("length,width", [(60, None), (150, 40)])  # short, and windowed long
@pytest.mark.parametrize("strategy", ["masked-marginals", "wt-marginals"])
def test_scans_equal_the_reference_forward_pass(model, length, width, strategy):
    sequence = _sequence(length, seed=length)
    fast = saturation_scan(sequence, model, JobContext(), strategy=strategy, max_residues=width)
    reference = saturation_scan(sequence, model, JobContext(), strategy=strategy, max_residues=width,
                                batch_size=1, fast=False)
    assert np.abs(fast.scores - reference.scores).max() <= TOLERANCE
    assert np.abs(fast.wt_logp - reference.wt_logp).max() <= TOLERANCE
    assert fast.provenance["engine"] == "SDPA attention, last layer at the rows read"
    assert reference.provenance["engine"] == "plain forward pass" and reference.provenance["batch"] == "1"


@pytest.mark.parametrize("multi", ["additive", "joint"])
def test_mutant_scores_and_pseudo_likelihood_equal_the_reference(model, multi):
    sequence = _sequence(120, seed=3)
    mutants = [f"{sequence[4]}5A", f"{sequence[9]}10W:{sequence[40]}41C", f"{sequence[100]}101D"]
    fast = score_mutants(sequence, mutants, model, JobContext(), multi=multi, max_residues=50, batch_size=2)
    reference = score_mutants(sequence, mutants, model, JobContext(), multi=multi, max_residues=50, fast=False)
    assert np.abs(fast.scores - reference.scores).max() <= TOLERANCE
    pll = pseudo_log_likelihood([sequence[:40], sequence[40:100]], model, JobContext(), batch_size=4)
    pll_reference = pseudo_log_likelihood([sequence[:40], sequence[40:100]], model, JobContext(), fast=False)
    for ours, reference_terms in zip(pll.per_residue, pll_reference.per_residue):  # each term within 1e-4
        assert np.abs(ours - reference_terms).max() <= TOLERANCE


def test_the_fast_paths_compute_the_model_function_row_by_row(model):
    # seeded: the bound below is for float32 rounding on these tokens, not a property of every draw
    tokens = torch.randint(4, 24, (3, 80), generator=torch.Generator().manual_seed(0))
    tokens[:, 0], tokens[:, -1] = model.alphabet.cls_idx, model.alphabet.eos_idx
    tokens[0, 10] = tokens[1, 40] = tokens[2, 70] = model.alphabet.mask_idx
    rows = [torch.tensor([10]), torch.tensor([40, 41, 2]), torch.tensor([70])]
    with torch.inference_mode():
        reference = model.model(tokens)["logits"]
        with sdpa_attention(model.model) as applied:
            assert applied
            full = model.model(tokens)["logits"]
            picked = logits_at_rows(model.model, tokens, rows)
        assert model.model.layers[0].self_attn.forward.__func__.__qualname__ == "MultiheadAttention.forward"
    assert (full - reference).abs().max() <= 5e-5
    for b, r in enumerate(rows):
        assert picked[b].shape == (len(r), reference.shape[-1])
        assert (picked[b] - reference[b, r]).abs().max() <= 5e-5  # logits up to 40: float32 rounding


def test_padding_and_attention_weights_go_through_fair_esm():
    loaded = load_esm("random-esm2-tiny", device="cpu")
    tokens = torch.randint(4, 24, (2, 30))
    tokens[:, 0] = loaded.alphabet.cls_idx
    tokens[0, -1] = loaded.alphabet.eos_idx
    tokens[1, 20:] = loaded.alphabet.padding_idx  # a shorter sequence, padded
    tokens[1, 19] = loaded.alphabet.eos_idx
    with torch.inference_mode():
        reference = loaded.model(tokens, return_contacts=True)
        with sdpa_attention(loaded.model):
            fast = loaded.model(tokens, return_contacts=True)  # contacts need the weights: fair-esm attention
            picked = logits_at_rows(loaded.model, tokens, [torch.tensor([5]), torch.tensor([5, 18])])
    assert (fast["contacts"] - reference["contacts"]).abs().max() <= 1e-5
    assert (picked[1] - reference["logits"][1, [5, 18]]).abs().max() <= 5e-5  # logits near 20: float32 rounding


def test_the_batch_probe_keeps_the_fastest_size():
    probe = _BatchProbe(ceiling=32)
    assert probe.next_size() == 1
    probe.record(1, 5.0)  # the warm-up batch is not timed
    timings = {1: [1.0, 3.0], 4: [9.0, 2.4], 16: [11.2, 11.2]}  # best per pass: 1.0, 0.6, 0.7
    sizes = []
    while probe.chosen is None:
        size = probe.next_size()
        sizes.append(size)
        probe.record(size, timings[size][sizes.count(size) - 1])
    assert sizes == [1, 1, 4, 4, 16, 16] and probe.chosen == 4
    assert _BatchProbe(ceiling=1).chosen == 1
