"""Generation engine on the tiny random-weight ProtGPT2 (GPT-2 with a locally trained BPE tokenizer)."""

from __future__ import annotations

import math
import shutil
import threading

import numpy as np
import pytest
import torch

from protein_studio.core.errors import InputError, JobCancelled, ModelUnavailableError, UserError
from protein_studio.engines.generation import (MAX_HOMOPOLYMER, GenerationSettings, generate_sequences,
                                               longest_homopolymer, perplexity, quality_problem,
                                               repeat_fraction, sequence_identity, shannon_entropy)
from protein_studio.core.job_context import JobContext, NullContext
from protein_studio.models import hf_loading, locations, snapshots

UBIQUITIN = "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG"


@pytest.fixture(scope="module")
def gpt():
    return hf_loading.load_hf_model("random-protgpt2-tiny", "cpu")


@pytest.fixture(scope="module")
def sampled(gpt):
    return generate_sequences(gpt, GenerationSettings(n=8, max_length=50, seed=3), NullContext())


def test_same_seed_same_sequences_other_seed_others(gpt, sampled):
    again = generate_sequences(gpt, GenerationSettings(n=8, max_length=50, seed=3), NullContext())
    assert [c.sequence for c in again.candidates] == [c.sequence for c in sampled.candidates]
    assert [c.perplexity for c in again.kept] == [c.perplexity for c in sampled.kept]
    other = generate_sequences(gpt, GenerationSettings(n=8, max_length=50, seed=4), NullContext())
    assert [c.sequence for c in other.candidates] != [c.sequence for c in sampled.candidates]


def test_sampling_does_not_disturb_the_global_random_state(gpt):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    generate_sequences(gpt, GenerationSettings(n=2, max_length=20, seed=9), NullContext())
    assert torch.equal(torch.rand(3), expected)


def test_max_length_is_obeyed_and_truncated_sequences_are_dropped(sampled):
    assert len(sampled.candidates) == 8
    assert all(c.reason == "truncated" for c in sampled.candidates if not c.natural_end)
    assert any(c.reason == "truncated" for c in sampled.candidates), "seed 3 gives some unfinished ones"
    assert all(len(c.sequence) <= 50 for c in sampled.candidates if c.natural_end)
    assert sampled.kept, "seed 3 gives some that end naturally"
    assert all(c.natural_end and len(c.sequence) <= 50 for c in sampled.kept)
    assert set(sampled.drop_counts()) <= {"truncated", "too short", "low complexity", "repeat-dominated"}


def test_kept_are_ranked_by_perplexity_and_written_with_scores(sampled):
    values = [c.perplexity for c in sampled.kept]
    assert values == sorted(values)
    assert all(c.perplexity is None for c in sampled.dropped)
    fasta = sampled.to_fasta()
    headers = [line for line in fasta.splitlines() if line.startswith(">")]
    assert len(headers) == len(sampled.kept)
    assert headers[0].startswith(f">{sampled.kept[0].name} ppl={values[0]:.2f} len=")
    assert "dropped=" in sampled.to_fasta(include_dropped=True)


def test_perplexity_equals_an_independent_computation(gpt):
    # ProtGPT2 model card: '<|endoftext|>' + sequence with a newline every 60 residues + '<|endoftext|>',
    # exp of the model's mean token loss
    text = "<|endoftext|>" + UBIQUITIN[:60] + "\n" + UBIQUITIN[60:] + "<|endoftext|>"
    ids = torch.tensor([gpt.tokenizer(text)["input_ids"]])
    assert ids[0, 0].item() == ids[0, -1].item() == gpt.tokenizer.eos_token_id
    with torch.no_grad():
        loss = gpt.model(ids, labels=ids).loss
    assert perplexity(UBIQUITIN, gpt) == pytest.approx(math.exp(loss.item()), rel=1e-5)


def test_prompt_starts_every_sequence(gpt):
    result = generate_sequences(gpt, GenerationSettings(n=4, prompt="mkv", max_length=40, seed=1),
                                NullContext())
    assert all(c.sequence.startswith("MKV") for c in result.candidates)


def test_quality_gates():
    assert quality_problem(UBIQUITIN, natural_end=False) == "truncated"
    assert quality_problem(UBIQUITIN, natural_end=True) is None
    assert quality_problem("MKV", natural_end=True) == "too short"
    assert quality_problem("MKVXB" * 4, natural_end=True) == "invalid residues"
    assert quality_problem("AAAAGAAAAGAAAAGAAAAG", natural_end=True) == "low complexity"
    assert quality_problem("MKTAYIAKQR" * 5, natural_end=True) == "repeat-dominated"
    homopolymer = UBIQUITIN[:30] + "Q" * (MAX_HOMOPOLYMER + 1) + UBIQUITIN[30:]
    assert quality_problem(homopolymer, natural_end=True) == "repeat-dominated"


def test_complexity_measures():
    assert shannon_entropy("ACDEFGHIKLMNPQRSTVWY") == pytest.approx(math.log2(20))
    assert shannon_entropy("AAAA") == 0.0
    assert 3.8 < shannon_entropy(UBIQUITIN) < 4.2
    assert repeat_fraction("ABCDABCDABCD") == pytest.approx(5 / 9)  # 9 words, the first 4 new
    assert repeat_fraction(UBIQUITIN) < 0.05
    assert longest_homopolymer("MKKKVAA") == 3


def test_identity_to_a_reference():
    assert sequence_identity(UBIQUITIN, UBIQUITIN) == 1.0
    mutant = UBIQUITIN[:10] + "W" + UBIQUITIN[11:]
    assert sequence_identity(mutant, UBIQUITIN) == pytest.approx(75 / 76)


def test_reference_identity_and_folding_of_kept_sequences(gpt):
    fold_model = hf_loading.load_hf_model("random-esmfold-tiny", "cpu")
    result = generate_sequences(gpt, GenerationSettings(n=6, max_length=40, seed=3), NullContext(),
                                reference=UBIQUITIN, fold_model=fold_model)
    assert result.kept
    for c in result.kept:
        assert 0.0 <= c.identity <= 1.0
        assert c.identity == pytest.approx(sequence_identity(c.sequence, UBIQUITIN))
        assert 0.0 < c.mean_plddt < 100.0
    assert "identity=" in result.to_fasta() and "plddt=" in result.to_fasta()


def test_progress_partials_and_cancel(gpt):
    partial, progress = [], []
    generate_sequences(gpt, GenerationSettings(n=5, max_length=30, seed=2, batch_size=2),
                       JobContext(on_partial=partial.append, on_progress=lambda d, t, x: progress.append((d, t))))
    assert [len(batch) for batch in partial] == [2, 2, 1]
    assert progress[-1][0] == progress[-1][1]
    cancel = threading.Event()
    ctx = JobContext(on_partial=lambda _: cancel.set(), cancel_event=cancel)
    with pytest.raises(JobCancelled):
        generate_sequences(gpt, GenerationSettings(n=5, max_length=30, seed=2, batch_size=2), ctx)


def test_settings_are_checked():
    with pytest.raises(UserError, match="temperature"):
        GenerationSettings(temperature=0).validated()
    with pytest.raises(UserError, match="top-p"):
        GenerationSettings(top_p=1.5).validated()
    with pytest.raises(InputError, match="position 2"):
        GenerationSettings(prompt="M@K").validated()
    with pytest.raises(UserError, match="not fewer than the maximum length"):
        GenerationSettings(prompt="MKV", max_length=3, min_length=1).validated()


def test_tiny_tokenizer_is_built_the_same_each_time_and_knows_only_residues():
    a = hf_loading.build_protein_bpe_tokenizer()
    b = hf_loading.build_protein_bpe_tokenizer()
    assert a.get_vocab() == b.get_vocab()
    assert a.convert_tokens_to_ids("<|endoftext|>") == 0
    letters = {c for token in a.get_vocab() if token != "<|endoftext|>" for c in token}
    assert letters <= set("ACDEFGHIKLMNPQRSTVWY") | {"\u010a"}
    assert a.decode(a("MKTAYIAKQR\nQISFV")["input_ids"]) == "MKTAYIAKQR\nQISFV"


def test_imported_gpt2_folder_generates_the_same(gpt, tmp_path):
    folder = tmp_path / "my-protein-gpt"
    gpt.model.save_pretrained(folder)
    gpt.tokenizer.save_pretrained(folder)
    spec = snapshots.import_hf_snapshot(folder)
    try:
        assert spec.name == "my-protein-gpt" and spec.task == "generation"
        assert [s.name for s in snapshots.imported_hf_models()] == ["my-protein-gpt"]
        loaded = hf_loading.load_hf_model("my-protein-gpt", "cpu")
        assert hf_loading.load_hf_model(str(folder), "cpu").spec.task == "generation"  # a folder works too
        settings = GenerationSettings(n=3, max_length=40, seed=5)
        a = generate_sequences(gpt, settings, NullContext())
        b = generate_sequences(loaded, settings, NullContext())
        assert [c.sequence for c in a.candidates] == [c.sequence for c in b.candidates]
        np.testing.assert_allclose([c.perplexity for c in a.kept], [c.perplexity for c in b.kept], rtol=1e-5)
    finally:
        shutil.rmtree(locations.imported_dir("my-protein-gpt"))


def test_real_protgpt2_offline_is_unavailable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="models--nferruz--ProtGPT2"):
        hf_loading.load_hf_model("protgpt2", "cpu")
