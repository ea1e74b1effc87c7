"""ESMFold engine and loader, on the tiny random-weight ESMFold architecture (no weights needed)."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

from protein_studio.core.errors import InputError, JobCancelled, ModelUnavailableError, UserError
from protein_studio.core.molecules.sequences import read_fasta
from protein_studio.core.molecules.structures import structure_from_text
from protein_studio.engines import folding
from protein_studio.engines.folding import (CHAIN_LINKER, MAX_UNCHUNKED_LENGTH, RESIDUE_INDEX_OFFSET,
                                            choose_chunk_size, estimate_fold_resources, fold_many,
                                            fold_sequence, split_chains)
from protein_studio.core.job_context import JobContext, NullContext
from protein_studio.models import hf_loading, locations, snapshots
from protein_studio.models.catalog import get_spec


@pytest.fixture(scope="module")
def esmfold():
    return hf_loading.load_hf_model("random-esmfold-tiny", "cpu")


@pytest.fixture(scope="module")
def proteins(data_dir):
    return {r.name: r.sequence for r in read_fasta(data_dir / "few_proteins.fasta")}


def _b_factors(pdb_text: str) -> np.ndarray:
    return np.array([float(line[60:66]) for line in pdb_text.splitlines() if line.startswith("ATOM")])


def _ca_b_factors(pdb_text: str) -> np.ndarray:
    return np.array([float(line[60:66]) for line in pdb_text.splitlines()
                     if line.startswith("ATOM") and line[12:16] == " CA "])


def test_monomer_pdb_has_one_chain_of_the_right_sequence_and_plddt_in_b_factors(esmfold, proteins):
    seq = proteins["UniRef50_A0A223SCH7"]
    result = fold_sequence(seq, esmfold, NullContext(), name="A0A223SCH7")
    structure = structure_from_text(result.pdb_text, "pdb", name="prediction")
    assert structure.chain_ids == ["A"]
    assert structure.chains[0].sequence == seq
    assert [r.number for r in structure.chains[0].residues] == list(range(1, len(seq) + 1))
    b = _b_factors(result.pdb_text)
    assert b.min() >= 0 and b.max() <= 100
    # transformers' 0-1 pLDDT is scaled to 0-100; the CA value of each residue is in its B-factor column
    assert result.plddt.shape == (len(seq),)
    assert result.plddt.min() > 1.0, "pLDDT left on the 0-1 scale"
    np.testing.assert_allclose(_ca_b_factors(result.pdb_text), result.plddt, atol=0.006)
    assert result.mean_plddt == pytest.approx(result.plddt.mean())
    assert result.pae.shape == (len(seq), len(seq)) and np.all(result.pae >= 0)
    assert 0.0 < result.ptm < 1.0
    assert result.chain_ids == ("A",) and result.model == "random-esmfold-tiny"


def test_multimer_comes_back_as_separate_chains_without_the_linker(esmfold, proteins):
    first, second = proteins["UniRef50_A0A223SCH7"][:40], proteins["UniRef50_UPI0003108055"][:30]
    result = fold_sequence(f"{first}:{second}", esmfold, NullContext(), name="complex")
    structure = structure_from_text(result.pdb_text, "pdb", name="complex")
    assert structure.chain_ids == ["A", "B"]
    assert structure.chain("A").sequence == first
    assert structure.chain("B").sequence == second
    assert structure.chain("B").first_residue == 1
    assert result.chain_sequences == (first, second)
    assert result.plddt.shape == (70,) and result.pae.shape == (70, 70)
    assert [len(v) for v in result.plddt_by_chain().values()] == [40, 30]
    assert result.pdb_text.count("TER") == 2
    assert 0.0 < result.ptm < 1.0


def test_multimer_encoding_uses_a_glycine_linker_and_a_residue_index_jump():
    aatype, residx, keep, chain_index = folding._encode(["MKV", "WY"])
    assert aatype.shape[0] == 3 + len(CHAIN_LINKER) + 2
    assert keep.tolist() == [True] * 3 + [False] * len(CHAIN_LINKER) + [True] * 2
    second = 3 + len(CHAIN_LINKER)
    assert residx[second].item() == second + RESIDUE_INDEX_OFFSET
    assert residx[second - 1].item() == second - 1  # the linker still belongs to the first chain's block
    assert chain_index[keep].tolist() == [0, 0, 0, 1, 1]


def test_chunked_trunk_gives_the_same_structure(esmfold, proteins):
    seq = proteins["UniRef50_UPI0003108055"][:48]
    whole = fold_sequence(seq, esmfold, NullContext(), chunk_size=None)
    chunked = fold_sequence(seq, esmfold, NullContext(), chunk_size=4)
    assert whole.chunk_size is None and chunked.chunk_size == 4
    a = structure_from_text(whole.pdb_text, "pdb").atoms
    b = structure_from_text(chunked.pdb_text, "pdb").atoms
    assert len(a) == len(b)
    np.testing.assert_allclose(a.coord, b.coord, atol=2e-3)
    np.testing.assert_allclose(whole.plddt, chunked.plddt, atol=1e-3)
    np.testing.assert_allclose(whole.pae, chunked.pae, atol=1e-3)


def test_split_chains_rejects_bad_input_with_a_position():
    assert split_chains("mkv : wy") == ["MKV", "WY"]
    with pytest.raises(InputError, match="position 4"):
        split_chains("MKV@A")
    with pytest.raises(InputError, match="chain 2 of 3 is empty"):
        split_chains("MKV::AAA")
    with pytest.raises(InputError, match="gap"):
        split_chains("MK-V")
    with pytest.raises(InputError) as info:
        split_chains("MKV:AA@")
    assert info.value.position == 7 and "chain 2" in str(info.value)


def test_estimate_grows_with_length_and_chunking_saves_memory():
    short = estimate_fold_resources(100, "cpu", available_bytes=64 * 2**30)
    long = estimate_fold_resources(800, "cpu", available_bytes=64 * 2**30)
    chunked = estimate_fold_resources(800, "cpu", chunk_size=32, available_bytes=64 * 2**30)
    assert long.memory_bytes > short.memory_bytes and long.seconds > short.seconds
    assert chunked.memory_bytes < long.memory_bytes
    # the real ESMFold's weights alone are over 10 GB in float32
    assert short.memory_bytes > 10e9
    assert "100 residues on cpu" in short.describe()


def test_chunk_size_follows_free_memory_and_length(esmfold):
    roomy = choose_chunk_size(200, "cpu", model=esmfold.model, available_bytes=64 * 2**30)
    assert roomy.chunk_size is None
    tight = choose_chunk_size(1500, "cpu", model=esmfold.model, available_bytes=3 * 2**30)
    assert tight.chunk_size is not None and tight.fits
    assert choose_chunk_size(MAX_UNCHUNKED_LENGTH + 1, "cpu", model=esmfold.model,
                             available_bytes=2**40).chunk_size is not None
    with pytest.raises(UserError, match="cannot fold 1500 residues"):
        choose_chunk_size(1500, "cpu", model=esmfold.model, available_bytes=2**20)


def test_a_run_that_cannot_fit_is_refused_not_crashed(esmfold, monkeypatch):
    monkeypatch.setattr(folding, "available_memory", lambda device="cpu": 1024)
    with pytest.raises(UserError, match="cannot fold"):
        fold_sequence("MKTAYIAKQR", esmfold, NullContext())
    with pytest.raises(UserError, match="does not fit"):
        fold_sequence("MKTAYIAKQR", esmfold, NullContext(), chunk_size=8)


def test_progress_is_reported_and_cancel_stops_the_trunk(esmfold):
    seen = []
    fold_sequence("MKTAYIAKQRQISFVKSHFSRQ", esmfold, JobContext(on_progress=lambda d, t, x: seen.append((d, t))))
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1]
    assert any(0 < d < t for d, t in seen)

    cancel = threading.Event()
    ctx = JobContext(on_progress=lambda d, t, x: cancel.set(), cancel_event=cancel)
    with pytest.raises(JobCancelled):
        fold_sequence("MKTAYIAKQRQISFVKSHFSRQ", esmfold, ctx)


def test_fold_many_runs_shortest_first_and_streams_results(esmfold):
    partial = []
    records = [("long", "MKTAYIAKQRQISFVKSHFSRQ"), ("short", "MKTAYIAKQR"), ("dimer", "MKTAY:IAKQ")]
    results = fold_many(records, esmfold, JobContext(on_partial=partial.append))
    assert [r.name for r in results] == ["dimer", "short", "long"]
    assert partial == results


def test_real_esmfold_offline_is_unavailable_with_instructions(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as info:
        hf_loading.load_hf_model("esmfold_v1", "cpu")
    text = str(info.value)
    assert "esmfold_v1" in text and "models--facebook--esmfold_v1" in text
    assert "protein-studio models import" in text


def test_download_is_refused_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE is set"):
        hf_loading.download_hf_model(get_spec("esmfold_v1"), NullContext())


def test_random_model_needs_the_environment_switch(monkeypatch):
    monkeypatch.setenv("PROTEIN_STUDIO_RANDOM_MODELS", "1")
    spec = get_spec("random-esmfold-tiny")
    monkeypatch.delenv("PROTEIN_STUDIO_RANDOM_MODELS")
    with pytest.raises(ModelUnavailableError, match="PROTEIN_STUDIO_RANDOM_MODELS=1"):
        hf_loading.load_esmfold(spec, "cpu")


def test_random_esmfold_is_identical_each_time():
    a, b = hf_loading.build_random_esmfold(), hf_loading.build_random_esmfold()
    for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
        assert np.array_equal(p.numpy(), q.numpy()), name


def test_imported_snapshot_folder_loads_and_folds_the_same(esmfold, tmp_path):
    folder = tmp_path / "esmfold-download"
    esmfold.model.save_pretrained(folder)
    spec = snapshots.import_hf_snapshot(folder)
    assert spec.name == "esmfold_v1" and spec.family == "esmfold"
    assert locations.find_local_snapshot(spec) == locations.imported_dir("esmfold_v1")
    try:
        loaded = hf_loading.load_hf_model("esmfold_v1", "cpu")
        a = fold_sequence("MKTAYIAKQRQISFV", esmfold, NullContext())
        b = fold_sequence("MKTAYIAKQRQISFV", loaded, NullContext())
        np.testing.assert_allclose(a.plddt, b.plddt, atol=1e-4)
    finally:
        shutil.rmtree(locations.imported_dir("esmfold_v1"))


def test_import_rejects_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(UserError, match="no config.json"):
        snapshots.import_hf_snapshot(tmp_path)
