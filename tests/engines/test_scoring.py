"""The scoring engine against plain one-position-at-a-time references written here, on random-weight models.

The references use fair-esm's own batch converter and a single unbatched forward pass per question, so
they share no code with the engine.
"""

from __future__ import annotations

import argparse
import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")
esm = pytest.importorskip("esm")

from protein_studio.core.errors import InputError, JobCancelled, UserError  # noqa: E402
from protein_studio.core.molecules.sequences import AMINO_ACIDS  # noqa: E402
from protein_studio.engines.scoring import (  # noqa: E402
    ScanChunk, ensemble_mutant_scores, ensemble_scans, pseudo_log_likelihood, saturation_scan,
    score_mutants,
)
from protein_studio.core.job_context import JobContext  # noqa: E402
from protein_studio.models.spec import LoadedModel, ModelSpec  # noqa: E402

ATOL = 1e-4  # the fast paths (SDPA, last layer at the rows read, probed batches) round differently


def _spec(name, family):
    return ModelSpec(name, family, "scoring", 0, 0, "MIT", max_tokens=1024, source="random", is_random=True)


def _esm2(seed=0, name="test-esm2"):
    torch.manual_seed(seed)
    alphabet = esm.data.Alphabet.from_architecture("ESM-1b")
    model = esm.model.esm2.ESM2(num_layers=2, embed_dim=32, attention_heads=4, alphabet=alphabet).eval()
    return LoadedModel(_spec(name, "esm2"), model, torch.device("cpu"), torch.float32, alphabet)


def _esm1b(seed=1):
    torch.manual_seed(seed)
    alphabet = esm.data.Alphabet.from_architecture("ESM-1b")
    args = argparse.Namespace(arch="roberta_large", layers=2, embed_dim=32, ffn_embed_dim=64, attention_heads=4,
                              max_positions=1024, emb_layer_norm_before=True, token_dropout=True)
    model = esm.model.esm1.ProteinBertModel(args, alphabet).eval()
    return LoadedModel(_spec("test-esm1b", "esm1b"), model, torch.device("cpu"), torch.float32, alphabet)


@pytest.fixture(scope="module")
def esm2():
    return _esm2()


@pytest.fixture(scope="module")
def esm1b():
    return _esm1b()


@pytest.fixture(params=["esm2", "esm1b"])
def loaded(request, esm2, esm1b):
    return {"esm2": esm2, "esm1b": esm1b}[request.param]


def _random_sequence(length, seed):
    rng = np.random.default_rng(seed)
    return "".join(rng.choice(list(AMINO_ACIDS), size=length))


SEQ = _random_sequence(23, seed=5)


# --------------------------------------------------------------------------------- references
def _log_probs(loaded, sequence, masked=()):
    """log_softmax of one unbatched forward pass of ``sequence`` with ``masked`` (0-based) masked."""
    _, _, tokens = loaded.alphabet.get_batch_converter()([("protein", sequence)])
    for i in masked:
        tokens[0, i + 1] = loaded.alphabet.mask_idx
    with torch.no_grad():
        logits = loaded.model(tokens)["logits"][0]
    return torch.log_softmax(logits.double(), dim=-1).numpy()


def _row(loaded, logp_row, wt):
    idx = loaded.alphabet.get_idx
    return np.array([logp_row[idx(a)] - logp_row[idx(wt)] for a in AMINO_ACIDS])


def reference_masked(loaded, sequence, width=None):
    rows = []
    for i in range(len(sequence)):
        start = 0
        if width is not None and len(sequence) > width:  # ProteinGym: centre the window on i, keep it inside
            start = min(max(i - width // 2, 0), len(sequence) - width)
        window = sequence[start:start + width] if width else sequence
        logp = _log_probs(loaded, window, masked=[i - start])
        rows.append(_row(loaded, logp[i - start + 1], sequence[i]))
    return np.array(rows)


def reference_wt(loaded, sequence):
    logp = _log_probs(loaded, sequence)
    return np.array([_row(loaded, logp[i + 1], sequence[i]) for i in range(len(sequence))])


def reference_pll(loaded, sequence):
    idx = loaded.alphabet.get_idx
    return sum(_log_probs(loaded, sequence, masked=[i])[i + 1][idx(sequence[i])] for i in range(len(sequence)))


# --------------------------------------------------------------------------------- strategies
def test_masked_marginals_equal_reference(loaded):
    result = saturation_scan(SEQ, loaded, JobContext())
    np.testing.assert_allclose(result.scores, reference_masked(loaded, SEQ), atol=ATOL)
    assert result.strategy == "masked-marginals" and result.model == loaded.spec.name
    for i, residue in enumerate(SEQ):
        assert result.scores[i, AMINO_ACIDS.index(residue)] == 0.0
    np.testing.assert_allclose(result.scores, result.log_probs - result.wt_logp[:, None], atol=1e-12)


def test_wt_marginals_equal_reference(loaded):
    result = saturation_scan(SEQ, loaded, JobContext(), strategy="wt-marginals")
    np.testing.assert_allclose(result.scores, reference_wt(loaded, SEQ), atol=ATOL)
    assert not np.allclose(result.scores, reference_masked(loaded, SEQ), atol=1e-3)


def test_batched_equals_unbatched(esm2):
    one = saturation_scan(SEQ, esm2, JobContext(), batch_size=1)
    seven = saturation_scan(SEQ, esm2, JobContext(), batch_size=7)
    np.testing.assert_allclose(seven.scores, one.scores, atol=ATOL)


def test_scan_is_deterministic(esm2):
    first = saturation_scan(SEQ, esm2, JobContext(), batch_size=4)
    second = saturation_scan(SEQ, esm2, JobContext(), batch_size=4)
    np.testing.assert_array_equal(first.scores, second.scores)


def test_pseudo_log_likelihood_equals_reference(loaded):
    other = _random_sequence(9, seed=7)
    result = pseudo_log_likelihood([SEQ, other], loaded, JobContext(), batch_size=5)
    assert [len(t) for t in result.per_residue] == [len(SEQ), len(other)]  # every residue, last one too
    np.testing.assert_allclose(result.pll, [reference_pll(loaded, SEQ), reference_pll(loaded, other)], atol=1e-4)
    np.testing.assert_allclose(result.mean, result.pll / [len(SEQ), len(other)])


def test_summary_is_mean_of_substitutions_and_subset_leaves_nan(esm2):
    result = saturation_scan(SEQ, esm2, JobContext(), positions=[4, 2, 4])
    assert result.positions_done.tolist() == [2, 4]
    assert np.isnan(result.scores[[0, 1, 3, 5]]).all() and np.isnan(result.summary[0])
    for i in (2, 4):
        substitutions = [result.scores[i, c] for c, a in enumerate(AMINO_ACIDS) if a != SEQ[i]]
        assert len(substitutions) == 19
        assert result.summary[i] == pytest.approx(np.mean(substitutions))
    rows = list(result.rows(first_residue=10))
    first_mt = next(a for a in AMINO_ACIDS if a != SEQ[2])
    assert len(rows) == 38 and rows[0][:4] == (f"{SEQ[2]}12{first_mt}", "12", SEQ[2], first_mt)


# --------------------------------------------------------------------------------- windows
def test_windowed_masked_marginals_equal_centred_window_reference(esm2):
    sequence = _random_sequence(40, seed=11)
    result = saturation_scan(sequence, esm2, JobContext(), max_residues=16, batch_size=3)
    np.testing.assert_allclose(result.scores, reference_masked(esm2, sequence, width=16), atol=ATOL)


def test_windowed_equals_unwindowed_when_one_window_covers(esm2):
    # a fixed batch size: the same passes in the same batches give the same bits (the automatic size is
    # probed on the machine, and batches of another size round differently in the last digits)
    for strategy in ("masked-marginals", "wt-marginals"):
        whole = saturation_scan(SEQ, esm2, JobContext(), strategy=strategy, batch_size=2)
        window = saturation_scan(SEQ, esm2, JobContext(), strategy=strategy, max_residues=len(SEQ), batch_size=2)
        np.testing.assert_array_equal(window.scores, whole.scores)


def test_windowed_wt_marginals_read_each_position_from_its_most_central_window(esm2):
    sequence, width = _random_sequence(40, seed=12), 16
    result = saturation_scan(sequence, esm2, JobContext(), strategy="wt-marginals", max_residues=width)
    # every window of the width: the position must be scored from one where it is as central as in any
    # of the windows the engine could have used, i.e. its row must equal that of some window around it
    window_logp = {start: _log_probs(esm2, sequence[start:start + width])
                   for start in range(0, len(sequence) - width + 1)}
    for i in range(len(sequence)):
        candidates = []
        for start, logp in window_logp.items():
            if start <= i < start + width:
                candidates.append((min(i - start, start + width - 1 - i),
                                   _row(esm2, logp[i - start + 1], sequence[i])))
        matches = [margin for margin, row in candidates if np.allclose(row, result.scores[i], atol=ATOL)]
        assert matches, f"position {i} matches no window"
        best_possible = max(margin for margin, _ in candidates)
        assert max(matches) >= min(best_possible, width // 4 - 1)


def test_1500_residue_protein_on_esm1b_never_exceeds_1024_tokens(esm1b):
    sequence = _random_sequence(1500, seed=3)
    widths = []

    def hook(_module, args):
        widths.append(args[0].shape[1])
        assert args[0].shape[1] <= 1024

    handle = esm1b.model.register_forward_pre_hook(hook)
    try:
        wt = saturation_scan(sequence, esm1b, JobContext(), strategy="wt-marginals")
        masked = saturation_scan(sequence, esm1b, JobContext(), positions=[0, 750, 1499])
    finally:
        handle.remove()
    assert max(widths) == 1024 and len(widths) >= 2 + 3
    assert np.isfinite(wt.scores).all()
    assert np.isfinite(masked.scores[[0, 750, 1499]]).all()
    # the last residue is scored in the last 1022 residues, as the reference does it
    end = sequence[-1022:]
    logp = _log_probs(esm1b, end, masked=[1021])
    np.testing.assert_allclose(masked.scores[1499], _row(esm1b, logp[1022], sequence[-1]), atol=ATOL)


# --------------------------------------------------------------------------------- mutants
def test_additive_multi_mutant_is_sum_of_singles(esm2):
    scan = saturation_scan(SEQ, esm2, JobContext())
    a, b = 3, 8
    mt_a = "A" if SEQ[a] != "A" else "G"
    mt_b = "W" if SEQ[b] != "W" else "Y"
    single_a, single_b = f"{SEQ[a]}{a + 1}{mt_a}", f"{SEQ[b]}{b + 1}{mt_b}"
    result = score_mutants(SEQ, [single_a, single_b, f"{single_b}:{single_a}"], esm2, JobContext())
    expected_a = scan.scores[a, AMINO_ACIDS.index(mt_a)]
    expected_b = scan.scores[b, AMINO_ACIDS.index(mt_b)]
    np.testing.assert_allclose(result.scores, [expected_a, expected_b, expected_a + expected_b], atol=ATOL)
    assert result.mutants[2] == f"{single_a}:{single_b}"
    assert result.multi == "additive" and result.method == "additive masked-marginals"


def test_joint_multi_mutant_follows_the_esm1v_formula(esm2):
    a, b = 3, 8
    mt_a = "A" if SEQ[a] != "A" else "G"
    mt_b = "W" if SEQ[b] != "W" else "Y"
    mutant = f"{SEQ[a]}{a + 101}{mt_a}:{SEQ[b]}{b + 101}{mt_b}"
    joint = score_mutants(SEQ, [mutant], esm2, JobContext(), multi="joint", first_residue=101)
    additive = score_mutants(SEQ, [mutant], esm2, JobContext(), multi="additive", first_residue=101)
    logp = _log_probs(esm2, SEQ, masked=[a, b])
    idx = esm2.alphabet.get_idx
    expected = (logp[a + 1][idx(mt_a)] - logp[a + 1][idx(SEQ[a])]) + (logp[b + 1][idx(mt_b)] - logp[b + 1][idx(SEQ[b])])
    assert joint.scores[0] == pytest.approx(expected, abs=ATOL)
    assert abs(joint.scores[0] - additive.scores[0]) > 1e-3
    assert joint.multi == "joint" and joint.method == "joint masked"


def test_wt_marginal_mutant_scores_match_wt_scan(esm2):
    scan = saturation_scan(SEQ, esm2, JobContext(), strategy="wt-marginals")
    mt = "A" if SEQ[0] != "A" else "C"
    result = score_mutants(SEQ, [f"{SEQ[0]}1{mt}"], esm2, JobContext(), strategy="wt-marginals")
    assert result.scores[0] == pytest.approx(scan.scores[0, AMINO_ACIDS.index(mt)], abs=ATOL)
    with pytest.raises(UserError, match="joint"):
        score_mutants(SEQ, [f"{SEQ[0]}1{mt}"], esm2, JobContext(), multi="joint", strategy="wt-marginals")


def test_mutant_that_does_not_match_the_wild_type_is_named(esm2):
    wrong = "A" if SEQ[4] != "A" else "C"
    with pytest.raises(InputError, match=f"position 5 is {SEQ[4]}, not {wrong}"):
        score_mutants(SEQ, [f"{wrong}5G"], esm2, JobContext())


def test_bad_character_and_strategy_are_user_errors(esm2):
    with pytest.raises(InputError, match="position 3"):
        saturation_scan("MK-TA", esm2, JobContext())
    with pytest.raises(UserError, match="unknown strategy"):
        saturation_scan(SEQ, esm2, JobContext(), strategy="bogus")


# --------------------------------------------------------------------------------- ensembles
def test_ensemble_averages_models_and_keeps_columns(esm2):
    other = _esm2(seed=9, name="test-esm2-b")
    first = saturation_scan(SEQ, esm2, JobContext(), strategy="wt-marginals")
    second = saturation_scan(SEQ, other, JobContext(), strategy="wt-marginals")
    mean = ensemble_scans([first, second])
    np.testing.assert_allclose(mean.scores, (first.scores + second.scores) / 2)
    assert set(mean.per_model) == {"test-esm2", "test-esm2-b"} and "ensemble" in mean.model
    z = ensemble_scans([first, second], standardise=True)
    off_wt = np.ones_like(z.scores, dtype=bool)
    for i, r in enumerate(SEQ):
        off_wt[i, AMINO_ACIDS.index(r)] = False
    assert abs(np.mean(z.scores[off_wt])) < 1e-9 and (z.scores[~off_wt] == 0).all()

    mutants = [f"{SEQ[0]}1{'A' if SEQ[0] != 'A' else 'C'}", f"{SEQ[5]}6{'W' if SEQ[5] != 'W' else 'Y'}"]
    s1 = score_mutants(SEQ, mutants, esm2, JobContext())
    s2 = score_mutants(SEQ, mutants, other, JobContext())
    both = ensemble_mutant_scores([s1, s2], standardise=True)
    np.testing.assert_allclose(both.per_model["test-esm2-b"], s2.scores)
    # two values standardise to -1 and +1 in each model
    np.testing.assert_allclose(np.abs(both.scores), [1, 1], atol=1e-9)


# --------------------------------------------------------------------------------- streaming, cancel
def test_partial_chunks_cover_the_scan_exactly_once_wt_preview_first(esm2):
    chunks: list[ScanChunk] = []
    progress = []
    ctx = JobContext(on_partial=chunks.append, on_progress=lambda d, t, s: progress.append((d, t)))
    result = saturation_scan(SEQ, esm2, ctx, wt_first=True, batch_size=4)
    kinds = [c.strategy for c in chunks]
    assert kinds == sorted(kinds, key=lambda k: k != "wt-marginals")  # preview first
    for strategy in ("wt-marginals", "masked-marginals"):
        mine = [c for c in chunks if c.strategy == strategy]
        covered = np.concatenate([c.positions for c in mine])
        assert sorted(covered.tolist()) == list(range(len(SEQ)))
    assert sum(c.strategy == "wt-marginals" for c in chunks) == 1  # the preview is one pass
    for c in chunks:
        if c.strategy == "masked-marginals":
            np.testing.assert_array_equal(c.scores_rows, result.scores[c.positions])
    assert progress[-1] == (1 + len(SEQ), 1 + len(SEQ))


def test_cancel_mid_scan_raises_after_partial_chunks(esm2):
    event = threading.Event()
    chunks = []

    def on_partial(chunk):
        chunks.append(chunk)
        if len(chunks) == 2:
            event.set()

    with pytest.raises(JobCancelled):
        saturation_scan(SEQ, esm2, JobContext(on_partial=on_partial, cancel_event=event), batch_size=2)
    assert len(chunks) == 2


class _OutOfMemoryAbove(torch.nn.Module):
    """Wraps a model and raises out-of-memory for batches larger than ``limit``."""

    def __init__(self, inner, limit):
        super().__init__()
        self.inner, self.limit, self.sizes = inner, limit, []

    def forward(self, tokens):
        self.sizes.append(tokens.shape[0])
        if tokens.shape[0] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.inner(tokens)


def test_out_of_memory_halves_the_batch(esm2):
    wrapped = _OutOfMemoryAbove(esm2.model, limit=3)
    loaded = LoadedModel(esm2.spec, wrapped, esm2.device, esm2.dtype, esm2.alphabet)
    result = saturation_scan(SEQ, loaded, JobContext(), batch_size=8)
    assert wrapped.sizes[:2] == [8, 4] and max(wrapped.sizes[2:]) <= 2
    np.testing.assert_allclose(result.scores, reference_masked(esm2, SEQ), atol=ATOL)


class _OutOfMemoryOffCpu(torch.nn.Module):
    """Wraps a CPU model and raises out-of-memory for tokens on any other device (a stand-in GPU)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, tokens):
        if tokens.device.type != "cpu":
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.inner(tokens)


def test_out_of_memory_at_batch_one_moves_to_cpu_with_a_warning(esm2):
    loaded = LoadedModel(esm2.spec, _OutOfMemoryOffCpu(esm2.model), torch.device("meta"), esm2.dtype,
                         esm2.alphabet)
    ctx = JobContext()
    result = saturation_scan(SEQ, loaded, ctx, batch_size=2)
    assert loaded.device.type == "cpu"
    assert len(ctx.warnings) == 1 and "CPU" in ctx.warnings[0] and "test-esm2" in ctx.warnings[0]
    np.testing.assert_allclose(result.scores, reference_masked(esm2, SEQ), atol=ATOL)


def test_a_cancel_during_a_forward_pass_stops_before_the_next_layer_and_leaves_no_hooks():
    """A cancel that arrives while a pass runs stops it at the next layer, not at the end of the pass."""
    from protein_studio.core.errors import JobCancelled
    from protein_studio.engines.scoring import saturation_scan
    from protein_studio.core.job_context import JobContext
    from protein_studio.models.esm_loading import load_esm

    loaded = load_esm("random-esm2-8M", device="cpu")
    ctx = JobContext()
    reached = []
    layers = loaded.model.layers

    def first_layer(_module, _args):  # the user presses Cancel while layer 0 runs
        reached.append(0)
        ctx.cancel_event.set()

    def later_layer(_module, _args):
        reached.append(1)

    handles = [layers[0].register_forward_pre_hook(first_layer), layers[1].register_forward_pre_hook(later_layer)]
    try:
        with pytest.raises(JobCancelled):
            saturation_scan("MKTAYIAKQRQISFVKSHFSRQ", loaded, ctx, strategy="masked-marginals")
    finally:
        for handle in handles:
            handle.remove()
    assert reached == [0]  # layer 1 never ran: the check before it stopped the pass
    assert all(not layer._forward_pre_hooks for layer in layers)  # the kept model carries no hooks
    result = saturation_scan("MKTAYIAKQRQISFVKSHFSRQ", loaded, JobContext(), strategy="wt-marginals")
    assert result.positions_done.size == 22
